"""Where child Python processes of the tests must start so that they import the same
tensorc as the test process (the installed package in CI, the checkout in development).

``python -c`` puts its working directory first on ``sys.path``: a child started in the
repository root would import the source tree (without the compiled extension) even when
the tests run against the installed package.
"""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import tensorc

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(tensorc.__file__)))


def run_python(code: str, cwd: Any, timeout: float = 300) -> "subprocess.CompletedProcess[str]":
    """Run ``python -c code`` in ``cwd`` (a directory that does not shadow tensorc) with this
    process's tensorc first on the path; the session's cache dir comes through TENSORC_FLAGS."""
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)
