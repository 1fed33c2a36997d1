"""Dot products through numpy's BLAS: ``Dot`` (vector/matrix products), ``TensorDot``
(``numpy.tensordot``) and ``BatchedDot`` (a batch of matrix products), and Theano's
functions ``dot``, ``tensordot``, ``batched_dot``, ``batched_tensordot``.

``dot`` follows ``numpy.dot``: a 0-d operand multiplies elementwise, 1-d/2-d operands
use ``Dot``, and higher ranks contract the last axis of ``a`` with the second-to-last
of ``b``.  The result dtype is numpy's promotion of the two dtypes.

>>> import numpy as np, tensorc.tensor as T
>>> a, b = T.dmatrix('a'), T.dvector('b')
>>> dot(a, b).eval({a: np.eye(2), b: np.array([1.0, 2.0])}).tolist()
[1.0, 2.0]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType
from tensorc.tensor.var import TensorVariable, as_tensor_variable


def _T() -> Any:
    import tensorc.tensor as T
    return T


def _out_dtype(a: Any, b: Any) -> str:
    name = np.result_type(a.dtype, b.dtype).name
    return "float32" if name == "float16" else name


def _shape_error(op: str, a: np.ndarray, b: np.ndarray, ax_a: Sequence[int], ax_b: Sequence[int]) -> ValueError:
    return ValueError(f"{op}: shapes {a.shape} and {b.shape} are not aligned: axes {tuple(ax_a)} of "
                      f"the first ({tuple(a.shape[i] for i in ax_a)}) must match axes {tuple(ax_b)} of "
                      f"the second ({tuple(b.shape[i] for i in ax_b)})")


class Dot(Op):
    """``numpy.dot`` of two tensors of 1 or 2 dimensions (inner, gemv and gemm products)."""

    __props__ = ()

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        if a.ndim not in (1, 2) or b.ndim not in (1, 2):
            raise TypeError(f"Dot takes 1-d or 2-d inputs, got {a} ({a.type}) and {b} ({b.type}); "
                            f"use T.dot or T.tensordot for other ranks")
        bcast = a.broadcastable[:-1] + b.broadcastable[1:] if b.ndim == 2 else a.broadcastable[:-1]
        return Apply(self, [a, b], [TensorVariable(TensorType(_out_dtype(a, b), bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = inputs
        if a.shape[-1] != b.shape[0]:
            raise _shape_error("dot", a, b, [a.ndim - 1], [0])
        out = np.dot(a, b)
        dtype = node.outputs[0].dtype
        if type(out) is not np.ndarray or out.dtype.name != dtype:
            out = np.asarray(out, dtype=dtype)
        return [out]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        T = _T()
        a, b = inputs
        gz = output_grads[0]
        if a.ndim == 1 and b.ndim == 1:
            ga, gb = gz * b, gz * a
        elif a.ndim == 2 and b.ndim == 1:
            ga, gb = _outer(gz, b), dot(a.T, gz)
        elif a.ndim == 1 and b.ndim == 2:
            ga, gb = dot(b, gz), _outer(a, gz)
        else:
            ga, gb = dot(gz, b.T), dot(a.T, gz)
        return [_like(ga, a, T), _like(gb, b, T)]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        a, b = inputs
        ea, eb = eval_points
        terms = ([] if ea is None else [dot(ea, b)]) + ([] if eb is None else [dot(a, eb)])
        if not terms:
            return [None]
        return [terms[0] if len(terms) == 1 else terms[0] + terms[1]]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        sa, sb = input_shapes
        return [tuple(sa[:-1]) + tuple(sb[1:])]


def _outer(x: Any, y: Any) -> Any:
    return x.dimshuffle(0, "x") * y.dimshuffle("x", 0)


def _like(g: Any, x: Any, T: Any) -> Any:
    """``g`` with ``x``'s broadcast pattern and a float dtype."""
    if g.broadcastable != x.broadcastable and len(g.broadcastable) == x.ndim:
        g = T.patternbroadcast(g, x.broadcastable)
    return g


def _normalize_axes(a: Any, b: Any, axes: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(f"tensordot: axes={n} is out of range for inputs of {a.ndim} and {b.ndim} "
                             f"dimensions")
        return tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    try:
        ax_a, ax_b = axes
    except (TypeError, ValueError):
        raise ValueError(f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}") from None
    ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot: axes {tuple(ax_a)} and {tuple(ax_b)} have different lengths")
    for ax, x, name in ((ax_a, a, "a"), (ax_b, b, "b")):
        for d in ax:
            if not -x.ndim <= d < x.ndim:
                raise ValueError(f"tensordot: axis {d} is out of range for {name} with {x.ndim} dimensions")
    out_a = tuple(int(d) % a.ndim for d in ax_a)
    out_b = tuple(int(d) % b.ndim for d in ax_b)
    if len(set(out_a)) != len(out_a) or len(set(out_b)) != len(out_b):
        raise ValueError(f"tensordot: repeated axis in {axes!r}")
    return out_a, out_b


class TensorDot(Op):
    """``numpy.tensordot(a, b, (axes_a, axes_b))`` for any ranks."""

    __props__ = ("axes_a", "axes_b")

    def __init__(self, axes_a: Sequence[int], axes_b: Sequence[int]) -> None:
        self.axes_a = tuple(int(d) for d in axes_a)
        self.axes_b = tuple(int(d) for d in axes_b)

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        if any(d >= a.ndim for d in self.axes_a) or any(d >= b.ndim for d in self.axes_b):
            raise ValueError(f"{self}: axes out of range for inputs {a} ({a.type}) and {b} ({b.type})")
        bcast = tuple(bb for d, bb in enumerate(a.broadcastable) if d not in self.axes_a) + \
            tuple(bb for d, bb in enumerate(b.broadcastable) if d not in self.axes_b)
        return Apply(self, [a, b], [TensorVariable(TensorType(_out_dtype(a, b), bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = inputs
        if any(a.shape[i] != b.shape[j] for i, j in zip(self.axes_a, self.axes_b)):
            raise _shape_error("tensordot", a, b, self.axes_a, self.axes_b)
        out = np.tensordot(a, b, (self.axes_a, self.axes_b))
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        T = _T()
        a, b = inputs
        gz = output_grads[0]
        free_a = [d for d in range(a.ndim) if d not in self.axes_a]
        free_b = [d for d in range(b.ndim) if d not in self.axes_b]
        na = len(free_a)
        # ga: contract gz's b-part with b's free axes -> dims [free_a..., b's summed axes (sorted)]
        ga = TensorDot(range(na, gz.ndim), free_b)(gz, b)
        summed_b = sorted(self.axes_b)
        ga_dims = free_a + [self.axes_a[self.axes_b.index(j)] for j in summed_b]
        ga = ga.dimshuffle(*[ga_dims.index(d) for d in range(a.ndim)])
        # gb: contract a's free axes with gz's a-part -> dims [a's summed axes (sorted), free_b...]
        gb = TensorDot(free_a, range(na))(a, gz)
        summed_a = sorted(self.axes_a)
        gb_dims = [self.axes_b[self.axes_a.index(i)] for i in summed_a] + free_b
        gb = gb.dimshuffle(*[gb_dims.index(d) for d in range(b.ndim)])
        return [_like(ga, a, T), _like(gb, b, T)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        sa, sb = input_shapes
        return [tuple(s for d, s in enumerate(sa) if d not in self.axes_a)
                + tuple(s for d, s in enumerate(sb) if d not in self.axes_b)]


class BatchedDot(Op):
    """``z[i] = dot(a[i], b[i])`` for 3-d ``a`` and ``b`` (a batch of matrix products)."""

    __props__ = ()

    def make_node(self, a: Any, b: Any) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        if a.ndim != 3 or b.ndim != 3:
            raise TypeError(f"BatchedDot takes two 3-d inputs, got {a.type} and {b.type}")
        bcast = (a.broadcastable[0] and b.broadcastable[0], a.broadcastable[1], b.broadcastable[2])
        return Apply(self, [a, b], [TensorVariable(TensorType(_out_dtype(a, b), bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, b = inputs
        if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
            raise ValueError(f"batched_dot: shapes {a.shape} and {b.shape} do not match (batch sizes "
                             f"{a.shape[0]} vs {b.shape[0]}, inner sizes {a.shape[2]} vs {b.shape[1]})")
        return [np.asarray(np.matmul(a, b), dtype=node.outputs[0].dtype)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        T = _T()
        a, b = inputs
        gz = output_grads[0]
        ga = BatchedDot()(gz, b.dimshuffle(0, 2, 1))
        gb = BatchedDot()(a.dimshuffle(0, 2, 1), gz)
        return [_like(ga, a, T), _like(gb, b, T)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        sa, sb = input_shapes
        return [(sa[0], sa[1], sb[2])]


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Sum products over ``axes`` (an int n: last n of ``a`` with first n of ``b``; or a pair
    of axis lists), like ``numpy.tensordot``.

    >>> import tensorc.tensor as T
    >>> tensordot(T.tensor3(), T.tensor3(), [[1, 2], [0, 1]]).ndim
    2
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    ax_a, ax_b = _normalize_axes(a, b, axes)
    return TensorDot(ax_a, ax_b)(a, b)


def dot(a: Any, b: Any) -> Any:
    """Matrix/vector product with ``numpy.dot`` semantics for every rank.

    >>> import tensorc.tensor as T
    >>> dot(T.matrix(), T.tensor3()).ndim
    3
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim <= 2 and b.ndim <= 2:
        return Dot()(a, b)
    return TensorDot([a.ndim - 1], [max(0, b.ndim - 2)])(a, b)


def batched_dot(a: Any, b: Any) -> Any:
    """``dot(a[i], b[i])`` for every ``i`` of the first (batch) axis.

    2-d inputs are batches of vectors; 3-d of matrices; higher ranks contract the last
    axis of ``a`` with the second-to-last of ``b`` (Theano's ``batched_tensordot``).

    >>> import tensorc.tensor as T
    >>> batched_dot(T.tensor3(), T.matrix()).ndim
    2
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise TypeError(f"batched_dot: inputs must have at least one dimension, got {a.type} and {b.type}")
    if a.ndim == 1 or b.ndim == 1:  # Theano: a batch of scalars scales the other operand
        x, y = (a, b) if a.ndim == 1 else (b, a)
        if x.ndim == 1 and y.ndim == 1:
            return a * b
        return x.dimshuffle(0, *["x"] * (y.ndim - 1)) * y
    if a.ndim > 3 or b.ndim > 3:
        return batched_tensordot(a, b, [[a.ndim - 1], [max(1, b.ndim - 2)]])
    a3 = a if a.ndim == 3 else a.dimshuffle(0, "x", 1)
    b3 = b if b.ndim == 3 else b.dimshuffle(0, 1, "x")
    z = BatchedDot()(a3, b3)
    keep = [0] + ([1] if a.ndim == 3 else []) + ([2] if b.ndim == 3 else [])
    return z.dimshuffle(*keep) if len(keep) < 3 else z


def batched_tensordot(x: Any, y: Any, axes: Any = 2) -> Any:
    """``tensordot(x[i], y[i], axes)`` for every ``i`` of the first axis (axes exclude it).

    >>> import tensorc.tensor as T
    >>> batched_tensordot(T.tensor3(), T.tensor3(), [[2], [1]]).ndim
    3
    """
    import tensorc.tensor as T
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if isinstance(axes, (int, np.integer)):
        ax_x = list(range(x.ndim - int(axes), x.ndim))
        ax_y = list(range(1, 1 + int(axes)))
    else:
        ax_x, ax_y = ([a] if isinstance(a, (int, np.integer)) else list(a) for a in axes)
    ax_x = [d % x.ndim for d in ax_x]
    ax_y = [d % y.ndim for d in ax_y]
    if 0 in ax_x or 0 in ax_y:
        raise ValueError(f"batched_tensordot: the batch axis 0 cannot be contracted (axes {axes!r})")
    # Move contracted axes last in x and first (after batch) in y, flatten, batched matmul.
    free_x = [d for d in range(1, x.ndim) if d not in ax_x]
    free_y = [d for d in range(1, y.ndim) if d not in ax_y]
    xs = x.dimshuffle(0, *free_x, *ax_x)
    ys = y.dimshuffle(0, *ax_y, *free_y)
    nb = x.shape[0]
    fx = [xs.shape[k] for k in range(1, 1 + len(free_x))]
    fy = [ys.shape[k] for k in range(1 + len(ax_y), y.ndim)]
    k = T.prod(xs.shape[1 + len(free_x):]) if ax_x else 1
    x3 = T.reshape(xs, T.stack([nb, T.prod(xs.shape[1:1 + len(free_x)]) if free_x else 1, k]), ndim=3)
    y3 = T.reshape(ys, T.stack([nb, k, T.prod(ys.shape[1 + len(ax_y):]) if free_y else 1]), ndim=3)
    z = BatchedDot()(x3, y3)
    return T.reshape(z, T.stack([nb, *fx, *fy]), ndim=1 + len(free_x) + len(free_y))
