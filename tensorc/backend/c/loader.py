"""dlopen/dlsym of compiled kernel libraries, through ``tensorc._ext`` when it is installed.

Without the extension a plain cffi FFI is built at first use (parsing the
declarations costs ~50 ms once per process: pycparser) and libc's ``dlopen`` is
called in ABI mode. Either way a kernel is a cffi function pointer of type
``tc_kernel_fn`` that can be called directly (ABI) or stored in a program.
"""
from __future__ import annotations

import functools
import os
from types import ModuleType
from typing import Any

from tensorc.backend.c import cdefs

RTLD_NOW = getattr(os, "RTLD_NOW", 2)
RTLD_LOCAL = getattr(os, "RTLD_LOCAL", 0)


@functools.lru_cache(maxsize=None)
def ext_module() -> ModuleType | None:
    """The compiled extension ``tensorc._ext``, or None when it was not built."""
    try:
        import tensorc._ext as ext  # type: ignore[import-not-found]
    except ImportError:
        return None
    return ext


@functools.lru_cache(maxsize=None)
def _abi() -> tuple[Any, Any]:
    import cffi
    ffi = cffi.FFI()
    ffi.cdef(cdefs.TYPES_CDEF + cdefs.LIBDL_CDEF)
    return ffi, ffi.dlopen(None)


def ffi() -> Any:
    """The FFI object whose types (``tc_arg``, ``tc_program``...) kernels are called with."""
    ext = ext_module()
    return ext.ffi if ext is not None else _abi()[0]


def using_ext() -> bool:
    """True when the fast path (``tensorc._ext``) is available."""
    return ext_module() is not None


def dlopen(path: str) -> Any:
    """``dlopen(path, RTLD_NOW | RTLD_LOCAL)``; raises OSError with dlerror() on failure."""
    ext = ext_module()
    bpath = os.fsencode(path)
    if ext is not None:
        handle = ext.lib.tc_dlopen(bpath)
        err = ext.lib.tc_dlerror
        f = ext.ffi
    else:
        f, libc = _abi()
        handle = libc.dlopen(bpath, RTLD_NOW | RTLD_LOCAL)
        err = libc.dlerror
    if handle == f.NULL:
        msg = err()
        raise OSError(f"cannot load {path}: " + (f.string(msg).decode(errors="replace")
                                                 if msg != f.NULL else "unknown error"))
    if ext is not None and hasattr(ext.lib, "tc_install_pool"):
        _request_pool_threads(ext)
        ext.lib.tc_install_pool(handle, threads_enabled())
    if ext is not None and hasattr(ext.lib, "tc_install_ew"):
        ext.lib.tc_install_ew(handle)  # a library without the hook carries its own driver
    if ext is not None and hasattr(ext.lib, "tc_install_red"):
        ext.lib.tc_install_red(handle)  # the reductions' column driver, likewise
    return handle


@functools.lru_cache(maxsize=1)
def _request_pool_threads(ext: ModuleType) -> None:
    """Pass ``config.num_threads`` to the pool once, before its first parallel loop."""
    from tensorc.config import config
    if hasattr(ext.lib, "tc_pool_request_threads"):
        ext.lib.tc_pool_request_threads(int(config.num_threads))


def threads_enabled() -> bool:
    """True when kernels may run their big loops on the thread pool of ``tensorc._ext``
    (``config.openmp``; without the extension kernels run single-threaded)."""
    from tensorc.config import config
    return bool(config.openmp) and hasattr(ext_module().lib, "tc_install_pool")  # type: ignore[union-attr]


def dlsym(handle: Any, name: str) -> Any:
    """The kernel ``name`` of a loaded library as a ``tc_kernel_fn`` cdata; KeyError if absent."""
    ext = ext_module()
    if ext is not None:
        ptr, f = ext.lib.tc_dlsym(handle, name.encode()), ext.ffi
    else:
        f, libc = _abi()
        ptr = libc.dlsym(handle, name.encode())
    if ptr == f.NULL:
        raise KeyError(f"symbol {name!r} not found in the compiled library")
    return f.cast("tc_kernel_fn", ptr)
