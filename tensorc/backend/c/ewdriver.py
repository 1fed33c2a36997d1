"""The shared elementwise driver (``csrc/tensorc_ew.c``): compiled into the extension
``tensorc._ext`` when it is loaded and of the same layout version, else pasted into every
kernel library.

Every elementwise kernel calls ``tc_ew_run`` (checks, collapsing, pieces, threads, strided
operands); only its loop body is its own. Compiling the driver into each library cost gcc
~0.2-0.3 s per translation unit at -O3, most of a cold small function's build; with the
extension's copy a library only declares the hook ``tc_ew_run_hook``, which
``tc_install_ew`` sets when the library is loaded (``loader.py``).

Kept apart from ``render`` so that a warm start (stored sources) can check which form
its sources use without importing the renderers.

>>> 'tc_ew_call' in driver_source(True) and 'tc_ew_run_impl' in driver_source(False)
True
"""
from __future__ import annotations

import functools
from typing import Sequence

from tensorc.backend.c.paths import csrc_text, ext_driver_matches, units_use_form

#: the hook's declaration in a library that uses the extension's driver
HOOK = "tc_ew_run_fn tc_ew_run_hook"


SOURCE = "tensorc_ew.c"  #: the driver's C file (``csrc/``)


@functools.lru_cache(maxsize=1)
def driver_shared() -> bool:
    """True when kernel libraries call the elementwise driver compiled into ``tensorc._ext``
    (the extension is loaded and was built from the same ``tensorc_ew.c``)."""
    return ext_driver_matches("tc_ew_driver_abi", SOURCE, "TC_EW_ABI")


def driver_source(shared: bool | None = None) -> str:
    """The elementwise driver's part of a kernel library: with the shared driver, the
    call's layout and the hook ``tc_ew_run_hook`` (set by ``tc_install_ew`` at load; a
    library loaded without it fails its calls cleanly and the node runs through numpy);
    otherwise the whole driver, compiled into the library."""
    text = csrc_text(SOURCE)
    if shared is None:
        shared = driver_shared()
    if not shared:
        return text + "#define tc_ew_run tc_ew_run_impl\n"
    decl = text[:text.index("/* TC_EW_DRIVER_CODE */")]
    return decl + r"""typedef int (*tc_ew_run_fn)(tc_ew_call *c, tc_intp cost, tc_intp threshold);
__attribute__((visibility("default"))) tc_ew_run_fn tc_ew_run_hook = 0;
__attribute__((visibility("default"))) const int tc_ew_abi = TC_EW_ABI;
static inline int tc_ew_run(tc_ew_call *c, tc_intp cost, tc_intp threshold) {
    return tc_ew_run_hook ? tc_ew_run_hook(c, cost, threshold) : TC_ERROR(TC_ERR_INTERNAL, 0);
}
"""


def sources_match(sources: Sequence[str]) -> bool:
    """True when stored translation units use this process's form of the driver (the
    hook exactly when the extension provides the driver); a unit without elementwise
    kernels matches either way."""
    return units_use_form(sources, "tc_ew_run(", HOOK, driver_shared())
