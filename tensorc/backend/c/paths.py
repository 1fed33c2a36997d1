"""Locate the hand-written C sources (``tensorc_runtime.h``, the extension sources).

After ``pip install .`` they are package data in ``tensorc/csrc/``; in a source
checkout they are in the top-level ``csrc/``.
"""
from __future__ import annotations

import functools
import os

RUNTIME_HEADER = "tensorc_runtime.h"


@functools.lru_cache(maxsize=None)
def csrc_dir() -> str:
    """The directory holding ``tensorc_runtime.h`` (installed package first, then checkout).

    >>> os.path.isfile(os.path.join(csrc_dir(), RUNTIME_HEADER))
    True
    """
    here = os.path.dirname(os.path.abspath(__file__))  # tensorc/backend/c
    package = os.path.dirname(os.path.dirname(here))    # tensorc
    candidates = (os.path.join(package, "csrc"), os.path.join(os.path.dirname(package), "csrc"))
    for cand in candidates:
        if os.path.isfile(os.path.join(cand, RUNTIME_HEADER)):
            return cand
    raise FileNotFoundError(f"{RUNTIME_HEADER} not found in any of {candidates}; "
                            "is tensorc installed with its package data?")


def runtime_header_path() -> str:
    """Absolute path of ``tensorc_runtime.h``."""
    return os.path.join(csrc_dir(), RUNTIME_HEADER)


@functools.lru_cache(maxsize=None)
def runtime_header_text() -> str:
    """Content of the runtime header (part of every cache key)."""
    with open(runtime_header_path(), encoding="utf-8") as fh:
        return fh.read()
