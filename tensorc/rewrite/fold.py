"""The ``constant_fold`` pass: nodes whose inputs are all constants become constants.

Values come from each op's numpy implementation (``perform``).  Folding is bounded:
an output larger than ``FOLD_LIMIT`` elements (and larger than the node's largest
input) stays symbolic, so ``alloc(0., 10**4, 10**4)`` is not materialised at
compile time.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> fg = FunctionGraph([x], [x + T.exp(T.constant(0.0))])
>>> constant_fold(fg); [str(n.op) for n in fg.toposort()]
['Elemwise{add}']
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Constant
from tensorc.graph.fgraph import FunctionGraph
from tensorc.graph.type import TensorType
from tensorc.ops.elemwise import DimShuffle, Elemwise
from tensorc.ops.rebroadcast import Rebroadcast
from tensorc.tensor.var import TensorConstant

#: Largest number of elements a folded constant may have (unless an input is as big).
FOLD_LIMIT = 1 << 16

_SIZE_PRESERVING = (Elemwise, DimShuffle, Rebroadcast)


def constant_fold(fgraph: FunctionGraph) -> None:
    """Replace every node whose inputs are all constants by its value, in place."""
    for node in fgraph.toposort():
        if node not in fgraph.apply_nodes or not node.inputs:
            continue
        if not all(isinstance(i, Constant) for i in node.inputs):
            continue
        values = fold_node(node)
        if values is not None:
            fgraph.replace_node(node, values, "constant_fold")


def fold_node(node: Apply) -> list[TensorConstant] | None:
    """The outputs of ``node`` (all inputs constant) as constants, or None."""
    if not all(isinstance(o.type, TensorType) for o in node.outputs):
        return None
    if getattr(node.op, "no_constant_fold", False):
        return None
    biggest = max(int(np.asarray(i.data).size) for i in node.inputs)
    limit = max(FOLD_LIMIT, biggest)
    if not isinstance(node.op, _SIZE_PRESERVING) and not _small_enough(node, limit):
        return None
    try:
        with np.errstate(all="ignore"):
            results = node.op.perform(node, [np.asarray(i.data) for i in node.inputs])
    except Exception:  # no numpy implementation, or it fails: leave it to run time
        return None
    out = []
    for var, value in zip(node.outputs, results):
        arr = np.asarray(value)
        if arr.size > limit or arr.dtype.name != var.dtype or arr.ndim != var.ndim:
            return None
        out.append(TensorConstant(var.type, np.array(arr, copy=True)))
    return out


def _small_enough(node: Apply, limit: int) -> bool:
    """Use ``infer_shape`` to refuse outputs over ``limit`` elements before computing them."""
    try:
        shapes = node.op.infer_shape(node, [np.asarray(i.data).shape for i in node.inputs])
    except Exception:
        return True  # unknown: compute, then check the result's size
    for shape in shapes:
        dims = [_int_or_none(d) for d in shape]
        if all(d is not None for d in dims) and math.prod(dims) > limit:  # type: ignore[arg-type]
            return False
    return True


def _int_or_none(d: Any) -> int | None:
    if isinstance(d, (int, np.integer)):
        return int(d)
    if isinstance(d, Constant):
        return int(np.asarray(d.data))
    return None


__all__: Sequence[str] = ("constant_fold", "fold_node", "FOLD_LIMIT")
