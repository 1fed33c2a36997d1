"""Locate the hand-written C sources (``tensorc_runtime.h``, the extension sources).

After ``pip install .`` they are package data in ``tensorc/csrc/``; in a source
checkout they are in the top-level ``csrc/``.
"""
from __future__ import annotations

import functools
import os
from typing import Sequence

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


@functools.lru_cache(maxsize=None)
def csrc_text(name: str) -> str:
    """The text of the hand-written C file ``name`` (read once per process)."""
    with open(os.path.join(csrc_dir(), name), encoding="utf-8") as fh:
        return fh.read()


def define_number(text: str, macro: str) -> int:
    """The number ``#define macro N`` gives in ``text`` (-1 when absent); plain string
    search, as the warm path compiles no regular expression.

    >>> define_number("#define TC_EW_ABI 7 /* x */", "TC_EW_ABI"), define_number("", "X")
    (7, -1)
    """
    _, found, rest = text.partition(f"#define {macro} ")
    number = rest.split(maxsplit=1)[:1] if found else []
    return int(number[0]) if number and number[0].isdigit() else -1


def ext_driver_matches(abi_function: str, source: str, macro: str) -> bool:
    """True when ``tensorc._ext`` is loaded and holds the shared driver of ``source`` in
    the layout version the file defines (``abi_function()`` == its ``macro``)."""
    from tensorc.backend.c.loader import ext_module
    ext = ext_module()
    return ext is not None and hasattr(ext.lib, abi_function) and \
        getattr(ext.lib, abi_function)() == define_number(csrc_text(source), macro)


def units_use_form(units: Sequence[str], call: str, hook: str, shared: bool) -> bool:
    """True when every C unit that calls a shared driver (``call``) reaches it the way this
    process does: through ``hook`` exactly when ``shared`` (the extension holds it); units
    that never call it match either way.

    >>> units_use_form(["f(); HOOK", "plain"], "f(", "HOOK", True)
    True
    >>> units_use_form(["f(); own copy"], "f(", "HOOK", True)
    False
    """
    return all((call not in u) or ((hook in u) == shared) for u in units)
