"""Reduction fusion (part of the ``fuse`` pass): an elementwise producer used only by a
reduction becomes, with it, one ``FusedReduce`` node (one pass over memory).

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> from tensorc.rewrite.fuse import fuse
>>> a, b = T.dvector('a'), T.dvector('b')
>>> fg = FunctionGraph([a, b], [T.sum((a - b) ** 2)])
>>> fuse(fg); [str(n.op) for n in fg.toposort()]
['FusedReduce{sum[0], sub|pow}']
"""
from __future__ import annotations

from tensorc.graph.basic import Apply
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.elemwise import Elemwise
from tensorc.ops.fused import FusedElemwise, FusedReduce
from tensorc.ops.reduce import Reduce

#: ``Reduce.scalar_op`` -> ``FusedReduce.kind``
KINDS = {"add": "sum", "mul": "prod", "maximum": "max", "minimum": "min", "and": "all", "or": "any"}


def fuse_reductions(fgraph: FunctionGraph) -> None:
    """Fold the single-client elementwise producer of each reduction into it."""
    from tensorc.rewrite.fuse import build_fused  # (fuse imports this module)
    for node in fgraph.toposort():
        if type(node.op) is not Reduce or node not in fgraph.apply_nodes:
            continue
        x = node.inputs[0]
        prod = x.owner
        if prod is None or x.ndim == 0 or len(fgraph.clients(x)) != 1:
            continue
        if fgraph.clients(x)[0][0] == "output":
            continue
        body = _body_of(prod, build_fused)
        if body is None:
            continue
        op = node.op
        fused = FusedReduce(body, KINDS[op.scalar_op], op.axis, False, op.acc_dtype, op.dtype)
        new = fused(*_inputs_of(prod, build_fused))
        if new.type == node.outputs[0].type:
            fgraph.replace(node.outputs[0], new, "fuse_reductions")


def _body_of(prod: Apply, build_fused):  # type: ignore[no-untyped-def]
    if type(prod.op) is FusedElemwise and len(prod.outputs) == 1 and not prod.op.inplace_pattern:
        return prod.op.body
    if type(prod.op) is Elemwise:
        return build_fused([prod], [prod.outputs[0]]).op.body
    return None


def _inputs_of(prod: Apply, build_fused):  # type: ignore[no-untyped-def]
    if type(prod.op) is FusedElemwise:
        return prod.inputs
    return build_fused([prod], [prod.outputs[0]]).inputs
