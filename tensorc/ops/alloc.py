"""Allocation: ``Alloc`` (a value broadcast to a shape), ``ARange``, ``Eye``, and the
Theano functions ``alloc``, ``zeros``, ``ones``, ``arange``, ``eye``, ``identity_like``,
``tile``, ``outer``.

>>> import numpy as np
>>> import tensorc, tensorc.tensor as T
>>> n = T.lscalar('n')
>>> f = tensorc.function([n], [T.zeros((n, 2), dtype='int32'), T.arange(n), T.eye(n, dtype='int8')])
>>> [r.tolist() for r in f(2)]
[[[0, 0], [0, 0]], [0, 1], [[1, 0], [0, 1]]]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType, as_dtype_name, upcast
from tensorc.ops.elemwise import DimShuffle
from tensorc.ops.shape import get_vector_length, reshape, shape_i, vector_elements
from tensorc.tensor.var import TensorConstant, TensorVariable, as_tensor_variable, constant


def _int_scalar(v: Any, what: str) -> Any:
    v = as_tensor_variable(v)
    if v.ndim != 0 or v.dtype[:3] not in ("int", "uin"):
        raise TypeError(f"{what} must be an integer scalar, got {v} of dtype {v.dtype}, ndim {v.ndim}")
    if v.dtype != "int64":
        import tensorc.tensor as T
        v = constant(v.data.item(), dtype="int64") if isinstance(v, TensorConstant) else T.cast(v, "int64")
    return v


class Alloc(Op):
    """``value`` broadcast (numpy rules) to the shape given by scalar inputs, as a new array."""

    def make_node(self, value: Any, *shape: Any) -> Apply:
        v = as_tensor_variable(value)
        dims = [_int_scalar(s, f"alloc: shape[{k}]") for k, s in enumerate(shape)]
        if v.ndim > len(dims):
            raise ValueError(f"alloc: the value has {v.ndim} dimensions, more than the "
                             f"{len(dims)} of the requested shape")
        bcast = tuple(isinstance(d, TensorConstant) and d.data.item() == 1 for d in dims)
        return Apply(self, [v] + dims, [TensorVariable(TensorType(v.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        v = inputs[0]
        shp = tuple(int(s) for s in inputs[1:])
        if any(s < 0 for s in shp):
            raise ValueError(f"alloc: negative dimension in shape {shp}")
        try:
            out = np.empty(shp, dtype=node.outputs[0].dtype)
            out[...] = v
        except ValueError:
            raise ValueError(f"alloc: a value of shape {v.shape} cannot be broadcast to "
                             f"shape {shp}") from None
        return [out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(node.inputs[1:])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.config import config
        from tensorc.gradient.markers import disconnected_type
        v, gz = inputs[0], output_grads[0]
        n_new = gz.ndim - v.ndim
        if v.dtype[:1] not in "fc":
            gv = T.zeros_like(v, dtype=config.floatX)
        else:
            axes = list(range(n_new)) + [n_new + d for d, b in enumerate(v.broadcastable) if b]
            gv = T.sum(gz, axis=axes, keepdims=True) if axes else gz
            if n_new:
                gv = DimShuffle(gv.broadcastable, list(range(n_new, gz.ndim)))(gv)
            gv = T.cast(gv, v.dtype)
        return [gv] + [disconnected_type() for _ in inputs[1:]]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True]] + [[False] for _ in node.inputs[1:]]


def _shape_list(shape: Any) -> list[Any]:
    if isinstance(shape, (list, tuple)):
        return list(shape)
    v = as_tensor_variable(shape)
    if v.ndim == 0:
        return [v]
    return vector_elements(v, get_vector_length(v))


def alloc(value: Any, *shape: Any) -> Any:
    """``value`` broadcast to ``shape``; dims given as constant 1 are broadcastable.

    >>> import tensorc.tensor as T
    >>> alloc(0.0, T.lscalar(), 1).broadcastable
    (False, True)
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(_shape_list(shape[0]))
    return Alloc()(value, *shape)


def zeros(shape: Any, dtype: Any = None) -> Any:
    """A tensor of zeros (``dtype`` defaults to floatX); ``shape`` an int, tuple or vector."""
    dtype = as_dtype_name(dtype or "floatX")
    return Alloc()(constant(0, dtype=dtype), *_shape_list(shape))


def ones(shape: Any, dtype: Any = None) -> Any:
    """A tensor of ones (``dtype`` defaults to floatX); ``shape`` an int, tuple or vector."""
    dtype = as_dtype_name(dtype or "floatX")
    return Alloc()(constant(1, dtype=dtype), *_shape_list(shape))


class ARange(Op):
    """``numpy.arange(start, stop, step)`` of a static dtype."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def make_node(self, start: Any, stop: Any, step: Any) -> Apply:
        ins = [as_tensor_variable(v) for v in (start, stop, step)]
        for name, v in zip(("start", "stop", "step"), ins):
            if v.ndim != 0:
                raise TypeError(f"arange: {name} must be a scalar, got {v} with ndim={v.ndim}")
        return Apply(self, ins, [TensorVariable(TensorType(self.dtype, (False,)))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        start, stop, step = (np.asarray(v).item() for v in inputs)
        if step == 0:
            raise ValueError("arange: step must not be zero")
        return [np.arange(start, stop, step, dtype=self.dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        import tensorc.tensor as T
        start, stop, step = node.inputs
        n = T.ceil(T.cast(stop - start, "float64") / T.cast(step, "float64"))
        return [(T.cast(T.maximum(n, 0), "int64"),)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.gradient.markers import grad_undefined
        start, stop, step = inputs
        gz = output_grads[0]
        if self.dtype[:1] not in "fc":
            return [grad_undefined(self, k, v) for k, v in enumerate(inputs)]
        n = shape_i(outputs[0], 0)
        steps = ARange(self.dtype)(constant(0, dtype="int64"), n, constant(1, dtype="int64"))
        return [T.cast(gz.sum(), start.dtype) if start.dtype[:1] in "fc" else T.zeros_like(start, self.dtype),
                T.zeros_like(stop, dtype=self.dtype),
                T.cast((gz * steps).sum(), step.dtype) if step.dtype[:1] in "fc"
                else T.zeros_like(step, self.dtype)]


def _arange_dtype(parts: Sequence[Any]) -> str:
    from tensorc.config import config
    py_float = any(isinstance(p, float) for p in parts)
    tensors = [as_tensor_variable(p) for p in parts]
    sym = [t for t in tensors if not (isinstance(t, TensorConstant) and t.weak)]
    if sym:
        dtype = upcast(*[t.dtype for t in sym])
        if py_float and dtype[:1] not in "fc":
            dtype = upcast(dtype, config.floatX)
    else:
        dtype = config.floatX if py_float else "int64"
    if dtype.startswith("int") or dtype == "bool":
        return "int64"
    if dtype.startswith("uint"):
        return "uint64"
    return dtype


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Any:
    """``numpy.arange`` as a symbolic vector; integer inputs give int64 (Theano's rule).

    >>> import tensorc.tensor as T
    >>> arange(T.iscalar()).dtype, arange(T.fscalar(), 3).dtype
    ('int64', 'float32')
    """
    if stop is None:
        start, stop = 0, start
    dtype = _arange_dtype([start, stop, step]) if dtype is None else as_dtype_name(dtype)
    return ARange(dtype)(start, stop, step)


class Eye(Op):
    """``numpy.eye(n, m, k)`` of a static dtype."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def make_node(self, n: Any, m: Any, k: Any) -> Apply:
        ins = [_int_scalar(v, f"eye: {name}") for name, v in zip("nmk", (n, m, k))]
        return Apply(self, ins, [TensorVariable(TensorType(self.dtype, (False, False)))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        n, m, k = (int(v) for v in inputs)
        return [np.eye(n, m, k, dtype=self.dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [(node.inputs[0], node.inputs[1])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import grad_undefined
        return [grad_undefined(self, k, v) for k, v in enumerate(inputs)]


def eye(n: Any, m: Any = None, k: Any = 0, dtype: Any = None) -> Any:
    """An ``n x m`` matrix with ones on diagonal ``k`` (``dtype`` defaults to floatX)."""
    return Eye(as_dtype_name(dtype or "floatX"))(n, n if m is None else m, k)


def identity_like(x: Any) -> Any:
    """The identity matrix with the shape and dtype of the matrix ``x``."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise ValueError(f"identity_like: expected a matrix, got {x} with ndim={x.ndim}")
    return Eye(x.dtype)(shape_i(x, 0), shape_i(x, 1), 0)


def tile(x: Any, reps: Any, ndim: int | None = None) -> Any:
    """``x`` repeated ``reps[d]`` times along each dimension (``numpy.tile``), built from
    ``alloc`` + ``reshape`` so its gradient sums the copies back.

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> tile(x, (2, 2)).eval({x: np.array([1.0, 2.0])}).tolist()
    [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
    """
    x = as_tensor_variable(x)
    reps_l = _shape_list(reps) if not isinstance(reps, (int, np.integer)) else [reps]
    nd = max(len(reps_l), x.ndim) if ndim is None else ndim
    if nd < x.ndim or nd < len(reps_l):
        raise ValueError(f"tile: ndim={nd} is smaller than x.ndim={x.ndim} or len(reps)={len(reps_l)}")
    reps_l = [1] * (nd - len(reps_l)) + list(reps_l)
    x = DimShuffle(x.broadcastable, ["x"] * (nd - x.ndim) + list(range(x.ndim)))(x)
    order: list[Any] = []
    shape: list[Any] = []
    for d in range(nd):
        order += ["x", d]
        shape += [reps_l[d], shape_i(x, d)]
    expanded = Alloc()(DimShuffle(x.broadcastable, order)(x), *shape)
    return reshape(expanded, tuple(_mul(reps_l[d], shape_i(x, d)) for d in range(nd)))


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, (int, np.integer)) and isinstance(b, TensorConstant):
        return constant(int(a) * int(b.data.item()), dtype="int64")
    return as_tensor_variable(a) * b


def outer(x: Any, y: Any) -> Any:
    """Outer product of two vectors, as ``x[:, None] * y[None, :]``."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim != 1:
        x = x.flatten()
    if y.ndim != 1:
        y = y.flatten()
    return x.dimshuffle(0, "x") * y.dimshuffle("x", 0)


def _diag_index(shape2: tuple[int, int], offset: int) -> tuple[np.ndarray, np.ndarray]:
    n, m = shape2
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    i = np.arange(length) + max(-offset, 0)
    return i, i + offset


class Diagonal(Op):
    """``numpy.diagonal(x, offset, axis1, axis2)`` (a copy; the diagonal is the last axis)."""

    __props__ = ("offset", "axis1", "axis2")

    def __init__(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> None:
        self.offset, self.axis1, self.axis2 = int(offset), int(axis1), int(axis2)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim < 2 or len({self.axis1 % max(x.ndim, 1), self.axis2 % max(x.ndim, 1)}) != 2 \
                or not (-x.ndim <= self.axis1 < x.ndim and -x.ndim <= self.axis2 < x.ndim):
            raise ValueError(f"diagonal: axes ({self.axis1}, {self.axis2}) are not two different "
                             f"axes of {x} with ndim={x.ndim}")
        bcast = [b for d, b in enumerate(x.broadcastable)
                 if d not in (self.axis1 % x.ndim, self.axis2 % x.ndim)] + [False]
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.diagonal(inputs[0], self.offset, self.axis1, self.axis2).copy()]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        import tensorc.tensor as T
        s = input_shapes[0]
        a1, a2 = self.axis1 % len(s), self.axis2 % len(s)
        n, m = s[a1], s[a2]
        length = T.maximum(T.minimum(n + min(self.offset, 0), m - max(self.offset, 0)), 0)
        return [tuple(d for k, d in enumerate(s) if k not in (a1, a2)) + (length,)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [DiagonalGrad(self.offset, self.axis1, self.axis2)(inputs[0], output_grads[0])]


class DiagonalGrad(Op):
    """Zeros shaped like ``x`` with ``g`` written on the diagonal ``Diagonal`` reads."""

    __props__ = ("offset", "axis1", "axis2")

    def __init__(self, offset: int, axis1: int, axis2: int) -> None:
        self.offset, self.axis1, self.axis2 = offset, axis1, axis2

    def make_node(self, x: Any, g: Any) -> Apply:
        x, g = as_tensor_variable(x), as_tensor_variable(g)
        return Apply(self, [x, g], [TensorVariable(x.type.clone(dtype=g.dtype))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, g = inputs
        out = np.zeros(x.shape, dtype=node.outputs[0].dtype)
        moved = np.moveaxis(out, (self.axis1, self.axis2), (-2, -1))
        i, j = _diag_index(moved.shape[-2:], self.offset)
        moved[..., i, j] = g
        return [out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        return [T.zeros_like(inputs[0]),
                Diagonal(self.offset, self.axis1, self.axis2)(output_grads[0])]


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal of ``a`` (``numpy.diagonal``).

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dmatrix('x')
    >>> diagonal(x, 1).eval({x: np.arange(9.0).reshape(3, 3)}).tolist()
    [1.0, 5.0]
    """
    return Diagonal(offset, axis1, axis2)(a)


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """Sum of the diagonal of ``a``."""
    import tensorc.tensor as T
    return T.sum(Diagonal(offset, axis1, axis2)(a), axis=-1)


class FillDiagonal(Op):
    """``a`` with its main diagonal set to the scalar ``val`` (``numpy.fill_diagonal``)."""

    def make_node(self, a: Any, val: Any) -> Apply:
        a, val = as_tensor_variable(a), as_tensor_variable(val)
        if a.ndim < 2:
            raise TypeError(f"fill_diagonal: a must have at least 2 dimensions, got ndim={a.ndim}")
        if val.ndim != 0:
            raise TypeError(f"fill_diagonal: val must be a scalar, got ndim={val.ndim}")
        from tensorc.ops.elemwise import _settle_weak
        val = _settle_weak(val, a.dtype)
        if upcast(a.dtype, val.dtype) != a.dtype:
            raise TypeError(f"fill_diagonal: val of dtype {val.dtype} does not fit a of dtype {a.dtype}")
        return Apply(self, [a, val], [TensorVariable(a.type)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, val = inputs
        if a.ndim > 2 and len(set(a.shape)) != 1:
            raise ValueError(f"fill_diagonal: all dimensions of a {a.ndim}-d input must be equal, "
                             f"got shape {a.shape}")
        out = a.copy()
        np.fill_diagonal(out, val)
        return [out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import grad_not_implemented
        a, val = inputs
        gz = output_grads[0]
        if a.ndim != 2:
            return [grad_not_implemented(self, k, v, "only for matrices") for k, v in enumerate(inputs)]
        import tensorc.tensor as T
        return [self(gz, constant(0, dtype=gz.dtype)),
                T.cast(trace(gz), val.dtype) if val.dtype[:1] in "fc" else T.zeros_like(val, "float64")]


def fill_diagonal(a: Any, val: Any) -> Any:
    """A copy of ``a`` whose main diagonal is ``val``."""
    return FillDiagonal()(a, val)
