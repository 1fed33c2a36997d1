"""The ``merge`` pass: common sub-expressions become one node.

Equal constants (same type, same bytes) become one constant, then nodes with an
equal op applied to the same inputs become one node — across all the outputs and
updates of a function, since they share one graph.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> fg = FunctionGraph([x], [T.exp(x) + 1, T.exp(x) * 2])
>>> merge(fg); len([n for n in fg.toposort() if str(n.op) == 'Elemwise{exp}'])
1
"""
from __future__ import annotations

from typing import Any

from tensorc.graph.basic import Apply, Constant, Variable
from tensorc.graph.fgraph import FunctionGraph


def merge(fgraph: FunctionGraph) -> None:
    """Merge equal constants and equal nodes of ``fgraph`` in place."""
    merge_constants(fgraph)
    seen: dict[Any, Apply] = {}
    for node in fgraph.toposort():
        if node not in fgraph.apply_nodes or node.op.destroy_map:
            continue
        try:
            key = (node.op, tuple(node.inputs))
            other = seen.setdefault(key, node)
        except TypeError:  # an op with unhashable props never merges
            continue
        if other is not node and all(a.type == b.type for a, b in zip(node.outputs, other.outputs)):
            fgraph.replace_node(node, other.outputs, "merge")


def merge_constants(fgraph: FunctionGraph) -> None:
    """Make equal constants (same type and bytes) one variable."""
    first: dict[Any, Variable] = {}
    for v in list(fgraph.client_map):
        if not isinstance(v, Constant) or not fgraph.client_map.get(v):
            continue
        try:
            key = v.signature()
            keep = first.setdefault(key, v)
        except TypeError:
            continue
        if keep is not v:
            fgraph.replace(v, keep, "merge")
