"""Backends turn a rewritten ``FunctionGraph`` into a runner ``run(inputs) -> outputs``.

``build_runner(fgraph, kind)``: ``kind`` is ``'numpy'`` or ``'c'`` (the C backend
lowers to a Program of C kernels and numpy steps; see ``tensorc.lower``).
``'auto'`` picks C when a compiler works and numpy otherwise.
"""
from __future__ import annotations

from typing import Any

from tensorc.backend.numpy_backend import Runner, build_numpy_runner
from tensorc.graph.fgraph import FunctionGraph


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
                 profile: dict | None = None) -> tuple[Runner, str]:
    """Build a runner for ``fgraph``; returns it and the backend actually used.

    ``destroyable``: indices of fgraph inputs whose arrays the runner may overwrite.
    """
    kind = resolve_backend(kind)
    if kind == "c":
        from tensorc.backend.c.driver import build_c_runner
        return build_c_runner(fgraph, destroyable=destroyable, profile=profile), "c"
    if kind != "numpy":
        raise ValueError(f"unknown backend {kind!r}; expected 'auto', 'c' or 'numpy'")
    return build_numpy_runner(fgraph, profile=profile), "numpy"


__all__ = ["Runner", "build_runner", "resolve_backend", "build_numpy_runner", "Any"]
