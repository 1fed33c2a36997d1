"""Graph consistency checks run after each pass in DebugMode (and by the tests).

``check_fgraph(fgraph, after=name)`` raises ``GraphCheckError`` naming the pass when:
the graph has a cycle; a leaf is neither an input nor a constant; the clients map
disagrees with the graph; a node's output types differ from what its op infers
now; or a node destroys an input that is a function input, a constant, a view, or
that is read by anyone else.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> check_fgraph(FunctionGraph([x], [T.exp(x)]), after='merge')
"""
from __future__ import annotations

from collections import Counter

from tensorc.graph.basic import Apply, Constant
from tensorc.graph.fgraph import FunctionGraph


class GraphCheckError(AssertionError):
    """A rewrite pass left the graph inconsistent."""


def check_fgraph(fgraph: FunctionGraph, after: str = "?") -> None:
    """Raise ``GraphCheckError`` if ``fgraph`` is inconsistent (see the module docstring)."""
    where = f"after pass {after!r}"
    try:
        nodes = fgraph.toposort()
    except ValueError as exc:
        raise GraphCheckError(f"{where}: {exc}") from None
    if set(nodes) != fgraph.apply_nodes:
        extra = fgraph.apply_nodes.symmetric_difference(nodes)
        raise GraphCheckError(f"{where}: apply_nodes out of date ({len(extra)} stray nodes, "
                              f"e.g. {next(iter(extra))})")
    inputs = set(fgraph.inputs)
    expected: Counter = Counter()
    for node in nodes:
        for i, v in enumerate(node.inputs):
            if v.owner is None and v not in inputs and not isinstance(v, Constant):
                raise GraphCheckError(f"{where}: {node} reads {v}, which is not a function input")
            expected[(id(v), id(node), i)] += 1
        _check_types(node, where)
    got: Counter = Counter()
    for v, clients in fgraph.client_map.items():
        for c, i in clients:
            if c != "output":
                got[(id(v), id(c), i)] += 1
    if got != expected:
        raise GraphCheckError(f"{where}: the clients map disagrees with the graph "
                              f"({len(got - expected)} stale, {len(expected - got)} missing entries)")
    _check_destroy(fgraph, nodes, inputs, where)


def _check_types(node: Apply, where: str) -> None:
    try:
        fresh = node.op.make_node(*node.inputs)
    except Exception as exc:
        raise GraphCheckError(f"{where}: {node.op} no longer accepts its inputs "
                              f"{[str(v.type) for v in node.inputs]}: {exc}") from None
    for old, new in zip(node.outputs, fresh.outputs):
        if old.type != new.type:
            raise GraphCheckError(f"{where}: {node.op} output {old.index} has type {old.type} "
                                  f"but its op now infers {new.type}")


def _check_destroy(fgraph: FunctionGraph, nodes: list[Apply], inputs: set, where: str) -> None:
    for node in nodes:
        for o, ins in node.op.destroy_map.items():
            for i in ins:
                v = node.inputs[i]
                if v in inputs or isinstance(v, Constant):
                    raise GraphCheckError(f"{where}: {node.op} overwrites {v}, a function input "
                                          f"or constant")
                if len(fgraph.clients(v)) != 1:
                    raise GraphCheckError(f"{where}: {node.op} overwrites {v}, which has other "
                                          f"readers {fgraph.clients(v)}")
                owner = v.owner
                if owner is not None and owner.op.view_map.get(v.index):
                    raise GraphCheckError(f"{where}: {node.op} overwrites {v}, a view of another "
                                          f"variable")
