"""The ``canonicalize`` pass: algebraic identities that make a graph smaller and regular.

Rules (each a named function, applied by ``run_rules`` until nothing changes):
the gradient-only identities (``zero_grad``, ``disconnected_grad``, ``grad_clip``,
``grad_scale``, ``consider_constant``: gradients are already built, so they go and
fusion sees through them; ``Print`` stays, it has a side effect), ``x*1``, ``x+0``,
``x-0``, ``x-x``, ``neg(neg(x))``, ``x/x`` (only for ``x`` that is
nonzero and finite by construction: exp, sigmoid, softplus, cosh, nonzero
constants), ``exp(log(x))``, ``log(exp(x))``, constant collection in chains of
``add``/``mul`` (``(x+2)+3 -> x+5``), ``fill`` whose value already has the shape or
whose model is an elementwise result (``fill_cut``), ``dimshuffle`` of ``dimshuffle``, plus the
structural rules of ``tensorc.rewrite.shape_infer`` (``reshape`` of ``reshape``,
shape of a known expression).

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> fg = FunctionGraph([x], [-(-(x * 1)) + 0])
>>> canonicalize(fg); fg.outputs[0] is x
True
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tensorc.gradient.ops import ConsiderConstant, DisconnectedGrad, GradClip, GradScale, ZeroGrad
from tensorc.graph.basic import Apply, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.elemwise import DimShuffle, Elemwise
from tensorc.rewrite.shape_infer import SHAPE_RULES
from tensorc.rewrite.utils import (const_data, elemwise, fit, is_constant_value, match, node_row,
                                   row_of, run_rules, scalar_value)
from tensorc.tensor.var import TensorConstant

#: Ops that are the identity forward and only change gradients (removed after grad).
GRAD_IDENTITIES = (ZeroGrad, DisconnectedGrad, GradClip, GradScale, ConsiderConstant)

#: Elementwise results that are nonzero and finite for every finite input (mathematically).
NONZERO_ROWS = frozenset({"exp", "exp2", "sigmoid", "softplus", "cosh"})


def remove_grad_identity(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``zero_grad(x)``, ``disconnected_grad(x)``, ``grad_clip(x, ...)``, ``grad_scale(x, ...)``,
    ``consider_constant(x)`` -> ``x`` (they only act on gradients, which exist by now)."""
    if not isinstance(node.op, GRAD_IDENTITIES):
        return None
    x = node.inputs[0]
    return [x] if x.type == node.outputs[0].type else None


def remove_identity_operand(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``x*1``, ``1*x``, ``x+0``, ``0+x``, ``x-0`` -> ``x`` (broadcast to the output)."""
    name = node_row(node)
    neutral = {"mul": 1, "add": 0, "sub": 0}.get(name or "")
    if neutral is None:
        return None
    a, b = node.inputs
    out = node.outputs[0]
    candidates = [(a, b)] if name == "sub" else [(a, b), (b, a)]
    for keep, drop in candidates:
        if is_constant_value(drop, neutral):
            new = fit(keep, out, shape_from=[drop])
            if new is not None:
                return [new]
    return None


def sub_self(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``x - x`` -> zeros shaped like ``x``."""
    if node_row(node) != "sub" or node.inputs[0] is not node.inputs[1]:
        return None
    out = node.outputs[0]
    zero = TensorConstant(out.type.clone(broadcastable=()), np.zeros((), out.dtype))
    return [fit(elemwise("second", node.inputs[0], zero), out)]


def neg_neg(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``neg(neg(x))`` -> ``x``."""
    if node_row(node) != "neg":
        return None
    inner = match(node.inputs[0], "neg")
    if inner is None:
        return None
    return [fit(inner[0], node.outputs[0])]


def div_self(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``x / x`` -> 1 when ``x`` cannot be 0, inf or NaN for finite inputs."""
    if node_row(node) != "true_div" or node.inputs[0] is not node.inputs[1]:
        return None
    x = node.inputs[0]
    value = scalar_value(x)
    safe = row_of(x) in NONZERO_ROWS or (value is not None and value != 0 and np.isfinite(value))
    if not safe:
        return None
    out = node.outputs[0]
    one = TensorConstant(out.type.clone(broadcastable=()), np.ones((), out.dtype))
    return [fit(elemwise("second", x, one), out)]


def exp_log(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``exp(log(x))`` -> ``x`` where ``x >= 0`` (NaN elsewhere, as before)."""
    if node_row(node) != "exp":
        return None
    inner = match(node.inputs[0], "log")
    out = node.outputs[0]
    if inner is None or inner[0].type != out.type:
        return None
    x = inner[0]
    nan = TensorConstant(out.type.clone(broadcastable=()), np.array(np.nan, out.dtype))
    zero = TensorConstant(out.type.clone(broadcastable=()), np.zeros((), out.dtype))
    return [fit(elemwise("switch", elemwise("ge", x, zero), x, nan), out)]


def log_exp(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``log(exp(x))`` -> ``x`` (real floating ``x``)."""
    if node_row(node) != "log":
        return None
    inner = match(node.inputs[0], "exp")
    if inner is None or inner[0].type != node.outputs[0].type or inner[0].dtype.startswith("complex"):
        return None
    return [inner[0]]


def collect_constants(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """In a chain of ``add`` (or ``mul``) of one dtype, combine the constant terms into one."""
    name = node_row(node)
    if name not in ("add", "mul"):
        return None
    out = node.outputs[0]
    leaves = _chain_leaves(fgraph, node, name, out.dtype)
    consts = [v for v in leaves if const_data(v) is not None]
    if len(consts) < 2:
        return None
    fn = np.add if name == "add" else np.multiply
    with np.errstate(all="ignore"):
        total = np.asarray(const_data(consts[0])).astype(out.dtype)
        for c in consts[1:]:
            total = fn(total, np.asarray(const_data(c)).astype(out.dtype)).astype(out.dtype)
    rest = [v for v in leaves if const_data(v) is None]
    if total.ndim > out.ndim:
        return None
    total = total.reshape((1,) * (out.ndim - total.ndim) + total.shape)
    const = TensorConstant(out.type.clone(broadcastable=tuple(n == 1 for n in total.shape)), total)
    acc: Variable = const
    if rest:
        acc = rest[0]
        for v in rest[1:]:
            acc = elemwise(name, acc, v)
        acc = elemwise(name, acc, const)
    new = fit(acc, out, shape_from=leaves)
    return None if new is None else [new]


def _chain_leaves(fgraph: FunctionGraph, node: Apply, name: str, dtype: str) -> list[Variable]:
    """The operands of a tree of ``name`` nodes of ``dtype`` whose inner nodes have one client."""
    leaves: list[Variable] = []
    stack = list(reversed(node.inputs))
    while stack:
        v = stack.pop()
        if row_of(v) == name and v.dtype == dtype and len(fgraph.clients(v)) == 1:
            stack.extend(reversed(v.owner.inputs))
        else:
            leaves.append(v)
    return leaves


def fill_cut(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``second(model, v)`` (``fill``) -> ``v`` when ``v`` already has the output's pattern;
    else the model ``f(m)`` of an elementwise ``f`` -> ``m`` when ``m`` has ``f(m)``'s
    pattern (same shape), so the gradient of ``sum(f(m))`` does not keep ``f(m)`` alive."""
    if node_row(node) != "second":
        return None
    model, value = node.inputs
    out = node.outputs[0]
    if value.type == out.type:
        return [value]
    owner = model.owner
    if owner is None or type(owner.op) is not Elemwise:
        return None
    for m in owner.inputs:
        if m.broadcastable == model.broadcastable:
            new = fit(elemwise("second", m, value), out)
            return None if new is None else [new]
    return None


def dimshuffle_dimshuffle(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``dimshuffle`` of ``dimshuffle`` -> one ``dimshuffle``; an identity one -> its input."""
    op = node.op
    if type(op) is not DimShuffle:
        return None
    x = node.inputs[0]
    if op.new_order == tuple(range(x.ndim)):
        return [x]
    inner = x.owner
    if inner is None or type(inner.op) is not DimShuffle:
        return None
    base = inner.inputs[0]
    order = tuple("x" if e == "x" else inner.op.new_order[e] for e in op.new_order)
    if order == tuple(range(base.ndim)):
        return [fit(base, node.outputs[0])]
    return [fit(DimShuffle(base.broadcastable, order)(base), node.outputs[0])]


ELEMWISE_RULES = (remove_grad_identity, remove_identity_operand, sub_self, neg_neg, div_self, exp_log,
                  log_exp, collect_constants, fill_cut, dimshuffle_dimshuffle)


def canonical_rules() -> Sequence:
    """The rules of the pass: the elementwise ones and the structural (shape) ones."""
    return ELEMWISE_RULES + SHAPE_RULES


def canonicalize(fgraph: FunctionGraph) -> None:
    """Apply the canonical rules to ``fgraph`` until none applies."""
    run_rules(fgraph, canonical_rules())
