"""The rewrite pipeline: a literal, ordered tuple of passes per mode.

Each pass is a plain function ``pass(fgraph) -> None`` that rewrites in place.
"""
from __future__ import annotations

from typing import Callable, Sequence

from tensorc.graph.fgraph import FunctionGraph

Pass = Callable[[FunctionGraph], None]

PIPELINES: dict[str, tuple[Pass, ...]] = {
    "fast_run": (),
    "fast_compile": (),
    "None": (),
}


def passes_for(optimizer: str, including: Sequence[str] = (), excluding: Sequence[str] = ()) -> tuple[Pass, ...]:
    """The passes of ``optimizer`` minus ``excluding`` (by function name)."""
    try:
        passes = PIPELINES[optimizer]
    except KeyError:
        raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(PIPELINES)}") from None
    return tuple(p for p in passes if p.__name__ not in excluding)
