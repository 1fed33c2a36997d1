"""The ``tensorc`` command line (``tensorc.cli.main:main``)."""
