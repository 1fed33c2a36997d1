"""The ``fuse`` pass: regions of elementwise ops become one ``FusedElemwise`` node.

1. *Regions.*  From each elementwise node (last first), the region grows towards
   the inputs through elementwise producers that have the same broadcast pattern
   and whose every client is already in the region (so fusing can never create a
   cycle, and nothing is computed twice).  Any dtypes mix; there is no limit on
   the number of inputs.  A region of two or more nodes becomes one node whose
   scalar body is the composed expression (``tensorc.ops.fused.Body``).
3. *Siblings.*  Fused/elementwise nodes with the same loop pattern that read a
   common input with that same (non-broadcasting) pattern, so the same loop shape, and
   do not depend on each other become one multi-output node.
2. *Reductions.*  A reduction whose input is produced by an elementwise region
   used nowhere else becomes one ``FusedReduce`` (see ``fuse_reductions``).

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x, y = T.dvector('x'), T.dvector('y')
>>> fg = FunctionGraph([x, y], [T.tanh(x) * T.exp(-y) + 1])
>>> fuse(fg); [str(n.op) for n in fg.toposort()]
['FusedElemwise{tanh|neg|exp|mul|add}']
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tensorc.graph.basic import Apply, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.graph.type import TensorType
from tensorc.ops.elemwise import Elemwise
from tensorc.ops.fused import Body, FusedElemwise, Ref, Step
from tensorc.rewrite.fuse_reduce import fuse_reductions
from tensorc.rewrite.utils import const_data
from tensorc.tensor.var import TensorConstant


def fuse(fgraph: FunctionGraph) -> None:
    """Fuse elementwise regions, then reductions, then sibling nodes, in place."""
    fuse_regions(fgraph)
    fuse_reductions(fgraph)
    fuse_siblings(fgraph)


def _pattern(node: Apply) -> tuple[bool, ...]:
    return node.outputs[0].broadcastable


def fuse_regions(fgraph: FunctionGraph) -> None:
    """Replace every maximal elementwise region of two or more nodes by one node."""
    done: set[Apply] = set()
    order = fgraph.toposort()
    position = {n: k for k, n in enumerate(order)}  # regions only hold nodes of this order
    for root in reversed(order):
        if root in done or type(root.op) is not Elemwise or root not in fgraph.apply_nodes:
            continue
        region = grow_region(fgraph, root, done)
        done.update(region)
        if len(region) < 2:
            continue
        ordered = sorted(region, key=position.__getitem__)
        node = build_fused(ordered, [root.outputs[0]])
        if node.outputs[0].type == root.outputs[0].type:  # not when every input was a constant
            fgraph.replace(root.outputs[0], node.outputs[0], "fuse")


def grow_region(fgraph: FunctionGraph, root: Apply, taken: set[Apply]) -> set[Apply]:
    """The elementwise nodes fusable into ``root`` (see the module docstring)."""
    region = {root}
    pattern = _pattern(root)
    rejected: set[Apply] = set()
    changed = True
    while changed:  # a producer refused early may qualify once its other clients joined
        changed = False
        for node in list(region):
            for inp in node.inputs:
                prod = inp.owner
                if prod is None or prod in region or prod in taken or type(prod.op) is not Elemwise:
                    continue
                if _pattern(prod) != pattern:
                    continue
                if all(c != "output" and c in region for c, _ in fgraph.clients(inp)):
                    region.add(prod)
                    changed = True
                else:
                    rejected.add(prod)
    return region


def _inline_constant(v: Variable) -> Any:
    """The Python scalar of a one-element constant (seen through broadcast DimShuffles)."""
    data = const_data(v)
    if data is not None and data.size == 1:
        return data.reshape(()).item()
    return None


def build_fused(nodes: list[Apply], outputs: list[Variable]) -> Apply:
    """One ``FusedElemwise`` node computing ``outputs`` from the Elemwise/fused ``nodes``
    (in topological order)."""
    inputs: list[Variable] = []
    in_index: dict[Variable, int] = {}
    constants: list[tuple[str, Any]] = []
    const_index: dict[tuple[str, Any], int] = {}
    steps: list[Step] = []
    ref_of: dict[Variable, Ref] = {}

    def ref(v: Variable) -> Ref:
        if v in ref_of:
            return ref_of[v]
        value = _inline_constant(v)
        if value is not None:
            key = (v.dtype, value)
            if key not in const_index:
                const_index[key] = len(constants)
                constants.append(key)
            return ("const", const_index[key])
        if v not in in_index:
            in_index[v] = len(inputs)
            inputs.append(v)
        return ("in", in_index[v])

    for node in nodes:
        if isinstance(node.op, FusedElemwise):
            _inline_body(node, ref, steps, ref_of)
            continue
        op = node.op
        compute = op.compute_dtype(node)
        pf = op.row.promote_from
        arg_dtypes = tuple(v.dtype if k < pf else compute for k, v in enumerate(node.inputs))
        args = tuple(ref(v) for v in node.inputs)
        steps.append(Step(op.row.name, args, arg_dtypes, node.outputs[0].dtype, compute))
        ref_of[node.outputs[0]] = ("step", len(steps) - 1)
    body = Body(len(inputs), tuple(v.dtype for v in inputs), tuple(constants), tuple(steps),
                tuple(ref(o) for o in outputs))
    return FusedElemwise(body).make_node(*inputs)


def _inline_body(node: Apply, ref: Any, steps: list[Step], ref_of: dict[Variable, Ref]) -> None:
    """Copy the steps of a fused ``node`` into ``steps``, renumbering its refs."""
    body = node.op.body
    local: list[Ref] = []

    def outer(r: Ref) -> Ref:
        kind, k = r
        if kind == "in":
            return ref(node.inputs[k])
        if kind == "const":
            return ref(_const_var(*body.constants[k]))
        return local[k]

    for s in body.steps:
        steps.append(Step(s.row, tuple(outer(a) for a in s.args), s.arg_dtypes, s.out_dtype, s.compute))
        local.append(("step", len(steps) - 1))
    for o, r in zip(node.outputs, body.outputs):
        ref_of[o] = outer(r)


def _const_var(dtype: str, value: Any) -> Variable:
    return TensorConstant(TensorType(dtype, ()), np.asarray(value, dtype=dtype))


def _fusable(node: Apply) -> bool:
    return type(node.op) is Elemwise or (type(node.op) is FusedElemwise and not node.op.inplace_pattern)


def fuse_siblings(fgraph: FunctionGraph) -> None:
    """Merge independent elementwise/fused nodes that share an input into multi-output nodes."""
    changed = True
    while changed:
        changed = False
        order = fgraph.toposort()
        index = {n: k for k, n in enumerate(order)}
        for v in list(fgraph.client_map):
            group = []
            for c, _ in fgraph.clients(v):
                # ``v`` fixes the loop shape only where it does not broadcast: readers of a
                # scalar (or a row) may loop over different shapes with equal patterns
                if c != "output" and c not in group and _fusable(c) and c.inputs[0].ndim > 0 \
                        and v.broadcastable == _pattern(c):
                    group.append(c)
            if len(group) < 2:
                continue
            a = group[0]
            for b in group[1:]:
                if _pattern(a) == _pattern(b) and a.inputs[0].ndim == b.inputs[0].ndim \
                        and _independent(a, b, index) and _merge_pair(fgraph, a, b, index):
                    changed = True
                    break
            if changed:
                break


def _independent(a: Apply, b: Apply, index: dict[Apply, int]) -> bool:
    """True when neither node depends on the other's outputs."""
    first, last = (a, b) if index[a] < index[b] else (b, a)
    stack = [i.owner for i in last.inputs if i.owner is not None]
    seen: set[Apply] = set()
    while stack:
        n = stack.pop()
        if n is first:
            return False
        if n in seen or index.get(n, -1) <= index[first]:
            continue
        seen.add(n)
        stack.extend(i.owner for i in n.inputs if i.owner is not None)
    return True


def _merge_pair(fgraph: FunctionGraph, a: Apply, b: Apply, index: dict[Apply, int]) -> bool:
    """Replace ``a`` and ``b`` by one multi-output node; False when that is not possible."""
    nodes = sorted([a, b], key=index.__getitem__)
    outs = list(nodes[0].outputs) + list(nodes[1].outputs)
    merged = build_fused(nodes, outs)
    if any(o.type != n.type for o, n in zip(outs, merged.outputs)):
        return False  # every input was a constant: the fused node would lose the pattern
    for old, new in zip(outs, merged.outputs):
        if fgraph.clients(old):
            fgraph.replace(old, new, "fuse_siblings")
    return True
