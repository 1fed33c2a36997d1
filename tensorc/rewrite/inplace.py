"""The ``inplace`` pass: an elementwise node writes its output into a dead input's buffer.

A node may overwrite input ``i`` when that input (a) is computed inside the
function by an op that owns its buffer (not a view, not an fgraph input, not a
constant, not a function output), (b) has exactly the output's type (so the same
shape and dtype), and (c) this node is its only reader.  The node becomes a
``FusedElemwise`` with ``inplace_pattern`` (declared in ``destroy_map``); function
inputs and shared values are never overwritten.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> fg = FunctionGraph([x], [T.exp(x) + T.log(x)])
>>> inplace(fg); fg.outputs[0].owner.op.destroy_map
{0: [0]}
"""
from __future__ import annotations

from tensorc.graph.basic import Apply, Constant, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.elemwise import Elemwise
from tensorc.ops.fused import FusedElemwise


def inplace(fgraph: FunctionGraph) -> None:
    """Turn elementwise nodes whose input dies there into in-place nodes."""
    inputs = set(fgraph.inputs)
    for node in fgraph.toposort():
        if node not in fgraph.apply_nodes:
            continue
        if type(node.op) is Elemwise:
            from tensorc.rewrite.fuse import build_fused
            fused = build_fused([node], list(node.outputs))
        elif type(node.op) is FusedElemwise and not node.op.inplace_pattern:
            fused = node
        else:
            continue
        pattern = _choose(fgraph, fused, inputs)
        if not pattern:
            continue
        new = FusedElemwise(fused.op.body, pattern).make_node(*fused.inputs)
        fgraph.replace_node(node, new.outputs, "inplace")


def _choose(fgraph: FunctionGraph, node: Apply, inputs: set[Variable]) -> list[tuple[int, int]]:
    """``(output, input)`` pairs where the input buffer may be reused."""
    pattern: list[tuple[int, int]] = []
    used: set[int] = set()
    for o, out in enumerate(node.outputs):
        for i, v in enumerate(node.inputs):
            if i in used or v.type != out.type or not _dead_after(fgraph, v, inputs):
                continue
            if node.inputs.count(v) != 1:
                continue
            pattern.append((o, i))
            used.add(i)
            break
    return pattern


def _dead_after(fgraph: FunctionGraph, v: Variable, inputs: set[Variable]) -> bool:
    """True when ``v`` owns a fresh buffer that its single reader may overwrite."""
    if v in inputs or isinstance(v, Constant) or v.owner is None:
        return False
    op = v.owner.op
    if op.view_map.get(v.index) or op.destroy_map.get(v.index):
        return False
    clients = fgraph.clients(v)
    return len(clients) == 1 and clients[0][0] != "output"
