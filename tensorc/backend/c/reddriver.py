"""The shared column driver of reduction kernels (``csrc/tensorc_reduce.c``): compiled
into the extension ``tensorc._ext`` when it is loaded and of the same layout version,
else pasted into every kernel library.

A reduction kernel with kept and reduced dimensions specialises only its row step
(``name_col``) and its tile writer (``name_cout``); numpy's loop-order rule, the tiles,
the row parts of float sums, the copies of strided row segments and the pool split are
``tc_red_cols_impl``.  With the extension's copy a library declares the hook
``tc_red_cols_hook``, which ``tc_install_red`` sets when the library is loaded
(``loader.py``); a library whose hook was never set runs its per-output path (right
values, the other loop order).

Kept apart from ``render`` so that a warm start (stored sources) can check which form
its sources use without importing the renderers.

>>> 'tc_red_cols_hook' in driver_source(True) and 'tc_red_cols_impl(const' in driver_source(False)
True
"""
from __future__ import annotations

import functools
from typing import Sequence

from tensorc.backend.c.paths import csrc_text, ext_driver_matches, units_use_form

#: the hook's declaration in a library that uses the extension's driver
HOOK = "tc_red_cols_fn tc_red_cols_hook"
_KERNEL_PART = "/* TC_RED_DRIVER_CODE */"
_EXT_PART = "/* TC_RED_EXT_CODE"


SOURCE = "tensorc_reduce.c"  #: the driver's C file (``csrc/``)


@functools.lru_cache(maxsize=1)
def driver_shared() -> bool:
    """True when kernel libraries call the column driver compiled into ``tensorc._ext``
    (the extension is loaded and was built from the same ``tensorc_reduce.c``)."""
    return ext_driver_matches("tc_red_driver_abi", SOURCE, "TC_RED_ABI")


def driver_source(shared: bool | None = None) -> str:
    """The column driver's part of a kernel library: with the shared driver, the call's
    layout, the copy helper and the hook ``tc_red_cols_hook`` (set by ``tc_install_red``
    at load); otherwise the whole driver but its extension-only install functions."""
    text = csrc_text(SOURCE)
    if shared is None:
        shared = driver_shared()
    if not shared:
        return text[:text.index(_EXT_PART)] + "#define tc_red_cols_run tc_red_cols_impl\n"
    decl = text[:text.index(_KERNEL_PART)]
    return decl + r"""typedef int (*tc_red_cols_fn)(const tc_red_cols *c);
__attribute__((visibility("default"))) tc_red_cols_fn tc_red_cols_hook = 0;
__attribute__((visibility("default"))) const int tc_red_abi = TC_RED_ABI;
/* -1 without the driver: the kernel runs its per-output path */
static inline int tc_red_cols_run(const tc_red_cols *c) { return tc_red_cols_hook ? tc_red_cols_hook(c) : -1; }
"""


def sources_match(sources: Sequence[str]) -> bool:
    """True when stored translation units use this process's form of the column driver
    (the hook exactly when the extension provides the driver); a unit without column
    paths matches either way."""
    return units_use_form(sources, "tc_red_cols_run(", HOOK, driver_shared())
