"""Pattern helpers shared by the rewrite passes, and the local-rule driver.

A *rule* is a plain function ``rule(fgraph, node) -> list[Variable] | None``: it
returns replacements for ``node.outputs`` (None entries keep an output) or None
when it does not apply.  ``run_rules`` walks the graph, tries the rules of a pass
on each node in order and revisits what a replacement created, until nothing
changes.

>>> import tensorc.tensor as T
>>> x = T.dvector('x')
>>> row_of(T.exp(x)), row_of(x)
('exp', None)
>>> scalar_value(T.constant(2.0)), scalar_value(x)
(2.0, None)
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Constant, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.elemwise import DimShuffle, Elemwise
from tensorc.ops.elemwise_table import BY_NAME

Rule = Callable[[FunctionGraph, Apply], "Sequence[Variable | None] | None"]


# -- matching ---------------------------------------------------------------------------
def row_of(var: Any) -> str | None:
    """The table row name of ``var``'s owner when it is an ``Elemwise``, else None."""
    owner = getattr(var, "owner", None)
    if owner is not None and type(owner.op) is Elemwise:
        return owner.op.row.name
    return None


def node_row(node: Apply) -> str | None:
    """The table row name of ``node`` when it is an ``Elemwise``, else None."""
    return node.op.row.name if type(node.op) is Elemwise else None


def match(var: Any, *names: str) -> list[Variable] | None:
    """The inputs of ``var``'s owner when it is an Elemwise of one of ``names``."""
    name = row_of(var)
    if name is not None and name in names:
        return var.owner.inputs
    return None


def strip_dimshuffle(var: Variable) -> Variable:
    """``var`` without the broadcast-only DimShuffles (that only add 'x' dims) on top."""
    while var.owner is not None and type(var.owner.op) is DimShuffle:
        op = var.owner.op
        if op.drop or [e for e in op.new_order if e != "x"] != list(range(len(op.input_broadcastable))):
            break
        var = var.owner.inputs[0]
    return var


def const_data(var: Any) -> np.ndarray | None:
    """The value of a constant (seen through broadcast-only DimShuffles), else None."""
    base = strip_dimshuffle(var)
    if isinstance(base, Constant):
        return np.asarray(base.data)
    return None


def scalar_value(var: Any) -> Any:
    """The Python scalar when ``var`` is a constant whose elements all equal it."""
    data = const_data(var)
    if data is None or data.size == 0:
        return None
    flat = data.reshape(-1)
    first = flat[0]
    if data.size > 1 and not np.all(flat == first):
        return None
    return first.item()


def is_constant_value(var: Any, value: float) -> bool:
    """True when ``var`` is a constant all of whose elements equal ``value``."""
    v = scalar_value(var)
    return v is not None and not isinstance(v, complex) and v == value


def broadcast_only(var: Variable) -> bool:
    """True when every dimension of ``var`` is broadcastable (a scalar in disguise)."""
    return all(var.broadcastable)


# -- building ------------------------------------------------------------------------------
def elemwise(name: str, *inputs: Any, out_dtype: str | None = None) -> Variable:
    """Apply the table row ``name`` (``elemwise('add', x, y)``)."""
    return Elemwise(BY_NAME[name], out_dtype)(*inputs)


def fit(new: Variable, old: Variable, *, allow_cast: bool = False,
        shape_from: Sequence[Variable] = ()) -> Variable | None:
    """``new`` adjusted to ``old``'s type, or None when that is not possible.

    A differing dtype is cast only with ``allow_cast``; missing (non-broadcastable)
    dimensions are taken from ``shape_from`` with ``second`` (Theano's ``fill``).
    """
    if new.type == old.type:
        return new
    if getattr(new, "ndim", None) != getattr(old, "ndim", None):
        if new.ndim > old.ndim:
            return None
        new = new.dimshuffle(*(["x"] * (old.ndim - new.ndim) + list(range(new.ndim))))
    if new.dtype != old.dtype:
        if not allow_cast:
            return None
        new = elemwise("cast", new, out_dtype=old.dtype)
    if new.broadcastable != old.broadcastable:
        for src in shape_from:
            if src.ndim == old.ndim and all(n or not s for n, s in zip(new.broadcastable, src.broadcastable)) \
                    and not all(src.broadcastable):
                new = elemwise("second", src, new)
                if new.broadcastable == old.broadcastable:
                    break
        if new.broadcastable != old.broadcastable:
            from tensorc.ops.rebroadcast import patternbroadcast
            if any(n and not o for n, o in zip(new.broadcastable, old.broadcastable)):
                return None  # would need a real broadcast (alloc) we do not know the shape of
            new = patternbroadcast(new, old.broadcastable)
    return new if new.type == old.type else None


# -- the driver ----------------------------------------------------------------------------
def run_rules(fgraph: FunctionGraph, rules: Sequence[Rule], max_steps: int | None = None) -> int:
    """Apply ``rules`` to every node until none applies; returns the number of rewrites.

    Nodes are visited in topological order; the nodes a replacement creates are
    visited next (inputs first), then the clients of the replaced outputs.
    """
    queue: deque[Apply] = deque(fgraph.toposort())
    known: set[Apply] = set(queue)
    limit = max_steps if max_steps is not None else 20 * len(queue) + 100
    count = 0
    while queue and count < limit:
        node = queue.popleft()
        if node not in fgraph.apply_nodes:
            continue
        for rule in rules:
            new = rule(fgraph, node)
            if new is None:
                continue
            pairs = [(o, n) for o, n in zip(node.outputs, new) if n is not None and n is not o]
            if not pairs:
                continue
            for old, repl in pairs:
                if repl.type != old.type:
                    raise TypeError(f"rewrite rule {rule.__name__} replaced {old} ({old.type}) "
                                    f"by {repl} ({repl.type}) in {node}")
            fresh = fresh_nodes(fgraph, [n for _, n in pairs])
            for old, repl in pairs:
                fgraph.replace(old, repl, rule.__name__)
            count += 1
            known.update(fresh)
            later: list[Apply] = []
            for _, repl in pairs:
                later.extend(c for c, _ in fgraph.clients(repl) if c != "output")
            queue.extendleft(reversed([f for f in fresh if f in fgraph.apply_nodes] + later))
            break
    return count


def fresh_nodes(fgraph: FunctionGraph, outputs: Sequence[Variable]) -> list[Apply]:
    """The nodes computing ``outputs`` that ``fgraph`` does not hold yet, inputs first."""
    order: list[Apply] = []
    seen: set[Apply] = set()
    stack: list[tuple[Apply, bool]] = [(v.owner, False) for v in reversed(outputs)
                                       if v.owner is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen or node in fgraph.apply_nodes:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((i.owner, False) for i in reversed(node.inputs) if i.owner is not None)
    return order


def walk_nodes(fgraph: FunctionGraph, visit: Callable[[Apply], None]) -> None:
    """Call ``visit`` on each node of a snapshot of the topological order still in the graph."""
    for node in fgraph.toposort():
        if node in fgraph.apply_nodes:
            visit(node)
