"""Backends turn a rewritten ``FunctionGraph`` into a runner ``run(inputs) -> outputs``.

``build_runner(fgraph, kind)``: ``kind`` is ``'numpy'`` or ``'c'`` (the C backend
lowers to a Program of C kernels and numpy steps; see ``tensorc.lower``).
``'auto'`` picks C when a compiler works and numpy otherwise.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tensorc.backend.numpy_backend import Runner
    from tensorc.graph.fgraph import FunctionGraph


def __getattr__(name: str) -> Any:
    """``Runner`` and ``build_numpy_runner`` are imported on first use: a process that
    only runs C functions never loads the numpy interpreter."""
    if name in ("Runner", "build_numpy_runner"):
        from tensorc.backend import numpy_backend
        return getattr(numpy_backend, name)
    raise AttributeError(f"module 'tensorc.backend' has no attribute {name!r}")


#: What building a C function from a warm cache imports: 24 modules, ~290 KB of bytecode,
#: 6-9 ms on the 2-core build machine (most of a warm ``function()`` of a small graph).
WARM_PATH: tuple[str, ...] = (
    "tensorc.backend.c.driver", "tensorc.backend.c.cache", "tensorc.backend.c.runner",
    "tensorc.backend.c.ewdriver", "tensorc.backend.c.reddriver", "tensorc.compile.fncache",
    "tensorc.lower.store", "tensorc.ops.fused",
)


def import_c_backend() -> None:
    """Import the C backend's warm path (:data:`WARM_PATH`) and its compiled extension now.

    ``import tensorc`` calls it (unless ``config.backend`` is ``'numpy'``): every program
    that compiles a function needs these modules, and loading them with the rest of the
    package costs the same as loading them in the first ``function()`` -- which is the
    call a warm cache is meant to make fast.  Never raises: a missing piece is reported
    when a function is built, as before.

    >>> import sys; import_c_backend(); "tensorc.backend.c.driver" in sys.modules
    True
    """
    try:
        for name in WARM_PATH:
            importlib.import_module(name)
        from tensorc.backend.c.loader import ext_module
        ext_module()
    except Exception:  # noqa: BLE001 - the first function() reports it with context
        pass


def resolve_backend(kind: str) -> str:
    """``'auto'`` → ``'c'`` when the C backend is usable here, else ``'numpy'``."""
    if kind != "auto":
        return kind
    try:
        from tensorc.backend.c.driver import c_backend_available
    except ImportError:
        return "numpy"
    return "c" if c_backend_available() else "numpy"


def build_runner(fgraph: FunctionGraph, kind: str = "numpy", *, destroyable: frozenset[int] = frozenset(),
                 profile: dict | None = None, mode: Any = None) -> tuple[Runner, str]:
    """Build a runner for ``fgraph``; returns it and the backend actually used.

    ``destroyable``: indices of fgraph inputs whose arrays the runner may overwrite.
    ``profile``: a dict the runner adds each node's seconds to (key: toposort index).
    ``mode``: a ``NanGuardMode`` runs node by node with NaN/inf checks; a ``DebugMode``
    wraps the backend's runner in per-node checks and a cross-backend comparison.
    """
    from tensorc.compile.mode import DebugMode, NanGuardMode
    if isinstance(mode, NanGuardMode):
        from tensorc.compile.nanguard import build_nanguard_runner
        return build_nanguard_runner(fgraph, mode.nan_is_error, mode.inf_is_error, mode.big_is_error,
                                     profile=profile), "numpy"
    if isinstance(mode, DebugMode):
        from tensorc.compile.debugmode import build_debug_runner
        base, used = build_runner(fgraph, kind, destroyable=frozenset(), profile=profile)
        return build_debug_runner(fgraph, base, used), used
    kind = resolve_backend(kind)
    if kind == "c":
        from tensorc.backend.c.driver import build_c_runner
        return build_c_runner(fgraph, destroyable=destroyable, profile=profile), "c"
    if kind != "numpy":
        raise ValueError(f"unknown backend {kind!r}; expected 'auto', 'c' or 'numpy'")
    from tensorc.backend.numpy_backend import build_numpy_runner
    return build_numpy_runner(fgraph, profile=profile), "numpy"


__all__ = ["Runner", "build_runner", "resolve_backend", "build_numpy_runner", "Any"]
