"""Where child Python processes of the tests must start so that they import the same
tensorc as the test process (the installed package in CI, the checkout in development).

``python -c`` puts its working directory first on ``sys.path``: a child started in the
repository root would import the source tree (without the compiled extension) even when
the tests run against the installed package.
"""
from __future__ import annotations

import os

import tensorc

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(tensorc.__file__)))
