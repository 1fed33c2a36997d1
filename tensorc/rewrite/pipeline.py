"""The rewrite pipeline: a literal, ordered tuple of passes per mode.

Each pass is a plain function ``pass(fgraph) -> None`` that rewrites in place.
``Mode.including(name)``/``excluding(name)`` add/remove passes by function name;
Theano's tag names (``'fusion'``, ``'local_elemwise_fusion'``, ``'inplace'``,
``'constant_folding'``, ``'merge'`` ...) are understood, other unknown names are
ignored as Theano ignores unknown tags.

>>> [p.__name__ for p in passes_for('fast_compile')]
['merge']
>>> 'fuse' in [p.__name__ for p in passes_for('fast_run', excluding=['fusion'])]
False
"""
from __future__ import annotations

from typing import Callable, Sequence

from tensorc.graph.fgraph import FunctionGraph
from tensorc.rewrite.canonicalize import canonicalize
from tensorc.rewrite.fold import constant_fold
from tensorc.rewrite.fuse import fuse
from tensorc.rewrite.inplace import inplace
from tensorc.rewrite.merge import merge
from tensorc.rewrite.specialize import specialize
from tensorc.rewrite.stabilize import stabilize

Pass = Callable[[FunctionGraph], None]

PIPELINES: dict[str, tuple[Pass, ...]] = {
    "fast_run": (
        merge,          # common sub-expressions (and equal constants) become one node
        constant_fold,  # nodes of constants become constants (bounded size)
        canonicalize,   # algebraic identities, constant collection, shape inference
        stabilize,      # numerically stable forms: log1p, softplus, sigmoid, logsumexp, xent
        specialize,     # cheaper forms: sqr, sqrt, integer powers, gemm-style dot+bias
        constant_fold,  # what the rules above made constant (x - x, fills of constants...)
        merge,          # the rules above may have built the same expression twice
        fuse,           # elementwise regions, siblings and reductions become fused nodes
        inplace,        # fused nodes write into the buffer of an input that dies there
    ),
    "fast_compile": (
        merge,          # common sub-expressions become one node
    ),
    "None": (),
}

#: Theano tag names -> our pass names.
ALIASES: dict[str, str] = {
    "fusion": "fuse", "local_elemwise_fusion": "fuse", "elemwise_fusion": "fuse",
    "constant_folding": "constant_fold", "topo_constant_folding": "constant_fold",
    "canonicalize": "canonicalize", "stabilize": "stabilize", "specialize": "specialize",
    "merge": "merge", "inplace": "inplace", "fast_run_inplace": "inplace",
}


def _canonical(name: str) -> str:
    return ALIASES.get(name, name)


def passes_for(optimizer: str, including: Sequence[str] = (), excluding: Sequence[str] = ()) -> tuple[Pass, ...]:
    """The passes of ``optimizer`` plus ``including`` minus ``excluding``, in pipeline order."""
    if optimizer is None:
        optimizer = "None"
    key = optimizer.lower() if optimizer.lower() in PIPELINES else optimizer
    try:
        passes = PIPELINES[key]
    except KeyError:
        raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(PIPELINES)}") from None
    wanted = {_canonical(n) for n in including}
    dropped = {_canonical(n) for n in excluding}
    present = {p.__name__ for p in passes}
    if wanted - present:
        passes = tuple(p for p in PIPELINES["fast_run"]
                       if p.__name__ in present or p.__name__ in wanted)
    return tuple(p for p in passes if p.__name__ not in dropped)
