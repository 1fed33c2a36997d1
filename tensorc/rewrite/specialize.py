"""The ``specialize`` pass: cheaper forms of the same computation.

Rules: ``x**2 -> sqr(x)``, ``x**0.5 -> sqrt(x)``, ``x**1 -> x``, ``x**-1 -> 1/x``,
small integer powers (``|n| <= 8``) -> multiplications by repeated squaring,
``sum(c * x) -> c * sum(x)`` for a scalar constant ``c``.  ``dot`` followed by a
bias add and an activation becomes, after ``fuse``, a BLAS ``Dot`` step followed by
one fused elementwise epilogue node (the gemm-style pair the C backend lowers).

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> fg = FunctionGraph([x], [x ** 2])
>>> specialize(fg); str(fg.outputs[0].owner.op)
'Elemwise{sqr}'
"""
from __future__ import annotations

import numpy as np

from tensorc.graph.basic import Apply, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.reduce import Reduce
from tensorc.rewrite.utils import (broadcast_only, const_data, elemwise, fit, node_row, run_rules,
                                   scalar_value)
from tensorc.tensor.var import TensorConstant


def _int_power(x: Variable, n: int) -> Variable:
    """``x**n`` for ``n >= 1`` by repeated squaring."""
    result = None
    base = x
    while n:
        if n & 1:
            result = base if result is None else elemwise("mul", result, base)
        n >>= 1
        if n:
            base = elemwise("sqr", base)
    assert result is not None
    return result


def pow_specialize(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """Constant exponents: sqr, sqrt, identity, reciprocal, integer powers."""
    if node_row(node) != "pow":
        return None
    x, e = node.inputs
    out = node.outputs[0]
    p = scalar_value(e)
    if p is None or isinstance(p, complex) or x.dtype != out.dtype or out.dtype[:5] != "float":
        return None
    if p == 0.5:
        new = elemwise("sqrt", x)
    elif p == -0.5:
        new = elemwise("true_div", elemwise("second", x, _one(out)), elemwise("sqrt", x))
    elif float(p).is_integer() and 1 <= abs(p) <= 8:
        new = _int_power(x, int(abs(p)))
        if p < 0:
            new = elemwise("true_div", _one(out), new)
    else:
        return None
    fitted = fit(new, out, shape_from=[e])
    return None if fitted is None else [fitted]


def _one(out: Variable) -> Variable:
    return TensorConstant(out.type.clone(broadcastable=()), np.ones((), out.dtype))


def sum_of_scaled(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``sum(c * x) -> c * sum(x)`` for a scalar constant ``c`` (one multiply per result)."""
    if type(node.op) is not Reduce or node.op.scalar_op != "add":
        return None
    prod = node.inputs[0]
    if prod.owner is None or node_row(prod.owner) != "mul" or len(fgraph.clients(prod)) != 1:
        return None
    a, b = prod.owner.inputs
    c, x = (a, b) if const_data(a) is not None and broadcast_only(a) else (b, a)
    if const_data(c) is None or not broadcast_only(c) or x.dtype != node.op.dtype \
            or x.dtype != prod.dtype or x.dtype[:5] != "float":
        return None
    red = node.op(x)
    scale = scalar_value(c)
    if scale is None:
        return None
    cst = TensorConstant(red.type.clone(broadcastable=(True,) * red.ndim),
                         np.full((1,) * red.ndim, scale, dtype=red.dtype))
    fitted = fit(elemwise("mul", cst, red), node.outputs[0])
    return None if fitted is None else [fitted]


RULES = (pow_specialize, sum_of_scaled)


def specialize(fgraph: FunctionGraph) -> None:
    """Apply the specialization rules until none applies."""
    run_rules(fgraph, RULES)
