"""Shape inference rules of the ``canonicalize`` pass.

``shape_of(var)`` computes a variable's shape symbolically from its graph's input
shapes through each op's ``infer_shape``, so ``x.shape`` of an intermediate result
no longer needs that result computed; ``x.shape[i]`` becomes ``Shape_i(i)(x)``.
``reshape`` of ``reshape`` keeps the outer one.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x, y = T.dmatrix('x'), T.dmatrix('y')
>>> fg = FunctionGraph([x, y], [T.shape(T.exp(x) + y)])
>>> from tensorc.rewrite.canonicalize import canonicalize
>>> canonicalize(fg); 'exp' in str(fg.toposort())
False
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tensorc.graph.basic import Apply, Constant, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.shape import MakeVector, Reshape, Shape, Shape_i
from tensorc.ops.subtensor import Subtensor
from tensorc.tensor.var import TensorConstant, as_tensor_variable, constant


def _as_dim(d: Any) -> Variable:
    """A shape entry (int or scalar variable) as an int64 scalar variable."""
    if isinstance(d, (int, np.integer)):
        return constant(int(d), dtype="int64")
    d = as_tensor_variable(d)
    if d.dtype != "int64":
        import tensorc.tensor as T
        d = T.cast(d, "int64")
    return d


def shape_of(var: Variable, memo: dict[Variable, tuple] | None = None) -> tuple[Variable, ...]:
    """``var``'s shape as int64 scalars built from the graph inputs' shapes.

    Nodes whose op cannot infer shapes fall back to ``Shape_i`` of their output.
    """
    memo = {} if memo is None else memo
    stack = [var]
    while stack:
        v = stack[-1]
        if v in memo:
            stack.pop()
            continue
        node = v.owner
        pending = [] if node is None else [i for i in node.inputs if i not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[v] = _direct_shape(v, memo)
    return memo[var]


def _leaf_shape(v: Variable) -> tuple[Variable, ...]:
    if isinstance(v, Constant):
        return tuple(constant(n, dtype="int64") for n in np.shape(v.data))
    return tuple(constant(1, dtype="int64") if b else Shape_i(k)(v)
                 for k, b in enumerate(v.broadcastable))


def _direct_shape(v: Variable, memo: dict[Variable, tuple]) -> tuple[Variable, ...]:
    node = v.owner
    if node is None or not hasattr(v.type, "ndim"):
        return _leaf_shape(v) if hasattr(v.type, "ndim") else ()
    try:
        shapes = node.op.infer_shape(node, [memo[i] for i in node.inputs])
        dims = tuple(_as_dim(d) for d in shapes[v.index])
    except Exception:  # no infer_shape, or it cannot handle these inputs
        return _leaf_shape(v)
    if len(dims) != v.ndim:
        return _leaf_shape(v)
    return tuple(constant(1, dtype="int64") if b else d for d, b in zip(dims, v.broadcastable))


def shape_i_of_known(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``Shape_i(i)(f(x))`` -> the inferred length, when it does not need ``f(x)`` itself."""
    if type(node.op) is not Shape_i or node.inputs[0].owner is None:
        return None
    d = shape_of(node.inputs[0])[node.op.i]
    if d.owner is not None and type(d.owner.op) is Shape_i and d.owner.inputs[0] is node.inputs[0]:
        return None
    return [d] if d.type == node.outputs[0].type else None


def shape_of_known(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``Shape(x)`` -> a vector of its dimensions (each then rewritten by ``shape_i_of_known``)."""
    if type(node.op) is not Shape:
        return None
    x = node.inputs[0]
    dims = shape_of(x)
    if not dims:
        return [TensorConstant(node.outputs[0].type, np.zeros(0, dtype="int64"))]
    if all(isinstance(d, Constant) for d in dims):
        data = np.array([int(d.data) for d in dims], dtype="int64")
        if (len(data) == 1) != node.outputs[0].broadcastable[0]:
            return None
        return [TensorConstant(node.outputs[0].type, data)]
    new = MakeVector("int64")(*dims)
    return [new] if new.type == node.outputs[0].type else None


def subtensor_of_shape(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``x.shape[i]`` (a constant ``i``) -> ``Shape_i(i)(x)`` or the inferred length;
    ``make_vector(a, b, ...)[i]`` -> the ``i``-th element."""
    if type(node.op) is not Subtensor or len(node.op.idx_list) != 1:
        return None
    i = node.op.idx_list[0]
    src = node.inputs[0].owner
    if not isinstance(i, (int, np.integer)) or isinstance(i, bool) or src is None:
        return None
    out = node.outputs[0]
    if type(src.op) is Shape:
        x = src.inputs[0]
        if not -x.ndim <= i < x.ndim:
            return None
        d = shape_of(x)[i % x.ndim]
    elif type(src.op) is MakeVector:
        if not -len(src.inputs) <= i < len(src.inputs):
            return None
        d = src.inputs[i]
    else:
        return None
    return [d] if d.type == out.type else None


def reshape_reshape(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``reshape(reshape(x, s1), s2)`` -> ``reshape(x, s2)``."""
    if type(node.op) is not Reshape:
        return None
    inner = node.inputs[0].owner
    if inner is None or type(inner.op) is not Reshape:
        return None
    new = node.op(inner.inputs[0], node.inputs[1])
    return [new] if new.type == node.outputs[0].type else None


SHAPE_RULES = (subtensor_of_shape, shape_of_known, shape_i_of_known, reshape_reshape)
