"""Theano's ``extra_ops``: cumulative sums/products, ``diff``, ``bincount``,
``repeat``, ``fill_diagonal``, plus ``diagonal``/``trace``.

>>> import numpy as np
>>> import tensorc, tensorc.tensor as T
>>> x = T.dvector('x')
>>> f = tensorc.function([x], [cumsum(x), diff(x), repeat(x, 2)])
>>> [r.tolist() for r in f(np.array([1.0, 2.0, 4.0]))]
[[1.0, 3.0, 7.0], [1.0, 2.0], [1.0, 1.0, 2.0, 2.0, 4.0, 4.0]]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType
from tensorc.ops.reduce import _out_default
from tensorc.ops.shape import normalize_axes, shape, shape_i, squeeze  # noqa: F401
from tensorc.tensor.var import TensorConstant, TensorVariable, as_tensor_variable, constant


def _float_grad(x: Any, g: Any) -> Any:
    import tensorc.tensor as T
    from tensorc.config import config
    if x.dtype[:1] in "fc":
        return T.cast(g, x.dtype)
    return T.zeros_like(x, dtype=config.floatX)


class CumOp(Op):
    """Cumulative ``add`` or ``mul`` along ``axis`` (None: the flattened input); with
    ``reverse`` it accumulates from the end (used by the gradient)."""

    __props__ = ("axis", "mode", "reverse")

    def __init__(self, axis: int | None = None, mode: str = "add", reverse: bool = False) -> None:
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp: mode must be 'add' or 'mul', got {mode!r}")
        self.axis, self.mode, self.reverse = axis, mode, bool(reverse)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if self.axis is None:
            out_type = TensorType(_out_default(x.dtype), (False,))
        else:
            if not 0 <= self.axis < x.ndim:
                raise ValueError(f"cum{'sum' if self.mode == 'add' else 'prod'}: axis {self.axis} "
                                 f"is out of range for ndim={x.ndim}")
            out_type = TensorType(_out_default(x.dtype), x.broadcastable)
        return Apply(self, [x], [TensorVariable(out_type)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        ax = self.axis
        if ax is None:
            x, ax = x.ravel(), 0
        fn = np.cumsum if self.mode == "add" else np.cumprod
        dtype = node.outputs[0].dtype
        if self.reverse:
            return [np.flip(fn(np.flip(x, ax), axis=ax, dtype=dtype), ax).copy()]
        return [fn(x, axis=ax, dtype=dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        if self.axis is None:
            n: Any = constant(1, dtype="int64")
            for s in input_shapes[0]:
                n = n * s
            return [(n,)]
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        x, out, gz = inputs[0], outputs[0], output_grads[0]
        if x.dtype[:1] not in "fc":
            return [_float_grad(x, gz)]
        ax = 0 if self.axis is None else self.axis
        if self.mode == "add":
            g = CumOp(ax, "add", not self.reverse)(gz)
        else:  # Theano's rule: reversed cumsum of (gz * out), divided by x
            g = CumOp(ax, "add", not self.reverse)(gz * out) / (x.flatten() if self.axis is None else x)
        if self.axis is None:
            g = g.reshape(shape(x), ndim=x.ndim)
        return [_float_grad(x, g)]


def cumsum(x: Any, axis: int | None = None) -> Any:
    """Cumulative sum along ``axis`` (None: of the flattened tensor)."""
    x = as_tensor_variable(x)
    ax = None if axis is None else normalize_axes(axis, x.ndim, "cumsum: axis")[0]
    return CumOp(ax, "add")(x)


def cumprod(x: Any, axis: int | None = None) -> Any:
    """Cumulative product along ``axis`` (None: of the flattened tensor)."""
    x = as_tensor_variable(x)
    ax = None if axis is None else normalize_axes(axis, x.ndim, "cumprod: axis")[0]
    return CumOp(ax, "mul")(x)


class DiffOp(Op):
    """``numpy.diff(x, n, axis)``."""

    __props__ = ("n", "axis")

    def __init__(self, n: int = 1, axis: int = -1) -> None:
        self.n, self.axis = int(n), int(axis)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if self.n < 0:
            raise ValueError(f"diff: order n={self.n} must be non-negative")
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"diff: axis {self.axis} is out of range for ndim={x.ndim}")
        bcast = list(x.broadcastable)
        bcast[self.axis] = False
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = np.diff(inputs[0], n=self.n, axis=self.axis)
        return [out.copy() if self.n == 0 else out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        import tensorc.tensor as T
        shp = list(input_shapes[0])
        shp[self.axis] = T.maximum(shp[self.axis] - self.n, 0)
        return [tuple(shp)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.ops.alloc import Alloc
        from tensorc.ops.join import Join
        x, g = inputs[0], output_grads[0]
        if x.dtype[:1] not in "fc":
            return [_float_grad(x, g)]
        for _ in range(self.n):  # the adjoint of a first difference: -diff of g padded by zeros
            dims = [shape_i(g, d) if d != self.axis else constant(1, dtype="int64")
                    for d in range(g.ndim)]
            pad = Alloc()(constant(0, dtype=g.dtype), *dims)
            g = -DiffOp(1, self.axis)(Join(self.axis)(pad, g, pad))
        return [_float_grad(x, g)]


def diff(x: Any, n: int = 1, axis: int = -1) -> Any:
    """The ``n``-th discrete difference along ``axis`` (``numpy.diff``)."""
    x = as_tensor_variable(x)
    return DiffOp(n, normalize_axes(axis, x.ndim, "diff: axis")[0])(x)


class BinCount(Op):
    """``numpy.bincount(x, weights, minlength)`` of a non-negative integer vector."""

    __props__ = ("minlength",)

    def __init__(self, minlength: int | None = None) -> None:
        self.minlength = minlength

    def make_node(self, x: Any, weights: Any = None) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != 1 or x.dtype[:3] not in ("int", "uin"):
            raise TypeError(f"bincount: x must be an integer vector, got {x} of dtype {x.dtype}, "
                            f"ndim {x.ndim}")
        ins = [x]
        dtype = "int64"
        if weights is not None:
            w = as_tensor_variable(weights)
            if w.ndim != 1:
                raise TypeError(f"bincount: weights must be a vector, got ndim={w.ndim}")
            ins.append(w)
            dtype = "float64"
        return Apply(self, ins, [TensorVariable(TensorType(dtype, (False,)))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        w = inputs[1] if len(inputs) > 1 else None
        if x.size and x.min() < 0:
            raise ValueError(f"bincount: x must be non-negative, got minimum {x.min()}")
        if w is not None and w.shape != x.shape:
            raise ValueError(f"bincount: weights shape {w.shape} differs from x shape {x.shape}")
        out = np.bincount(x.astype("int64"), weights=w, minlength=self.minlength or 0)
        return [out.astype(node.outputs[0].dtype, copy=False)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        import tensorc.tensor as T
        x = node.inputs[0]
        n = T.switch(T.eq(shape_i(x, 0), 0), 0, T.cast(T.max(x), "int64") + 1)
        if self.minlength:
            n = T.maximum(n, self.minlength)
        return [(n,)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import grad_not_implemented, grad_undefined
        out = [grad_undefined(self, 0, inputs[0], "x holds integer bin indices")]
        if len(inputs) > 1:
            out.append(grad_not_implemented(self, 1, inputs[1]))
        return out


def bincount(x: Any, weights: Any = None, minlength: int | None = None,
             assert_nonneg: bool = False) -> Any:
    """Count occurrences of each value in the non-negative int vector ``x``."""
    return BinCount(minlength)(x) if weights is None else BinCount(minlength)(x, weights)


class Repeat(Op):
    """Repeat the elements of ``x`` along ``axis`` (``numpy.repeat``); ``repeats`` is an
    int scalar or an int vector with one count per element along ``axis``."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = int(axis)

    def make_node(self, x: Any, repeats: Any) -> Apply:
        x, r = as_tensor_variable(x), as_tensor_variable(repeats)
        if r.dtype[:3] not in ("int", "uin") or r.ndim > 1:
            raise TypeError(f"repeat: repeats must be an integer scalar or vector, got {r} of "
                            f"dtype {r.dtype}, ndim {r.ndim}")
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"repeat: axis {self.axis} is out of range for ndim={x.ndim}")
        bcast = list(x.broadcastable)
        one = isinstance(r, TensorConstant) and r.data.size == 1 and r.data.ravel()[0] == 1
        bcast[self.axis] = bcast[self.axis] and one
        return Apply(self, [x, r], [TensorVariable(TensorType(x.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, r = inputs
        if r.ndim == 1 and r.shape[0] not in (1, x.shape[self.axis]):
            raise ValueError(f"repeat: {r.shape[0]} repeat counts for axis {self.axis} of length "
                             f"{x.shape[self.axis]} (shape {x.shape})")
        if (r < 0).any():
            raise ValueError(f"repeat: negative repeat count in {r.tolist()}")
        return [np.repeat(x, r, axis=self.axis)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        import tensorc.tensor as T
        shp = list(input_shapes[0])
        r = node.inputs[1]
        shp[self.axis] = shp[self.axis] * r if r.ndim == 0 else T.cast(T.sum(r), "int64")
        return [tuple(shp)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.gradient.markers import disconnected_type
        x, r = inputs
        gz = output_grads[0]
        if r.ndim == 0:
            dims: list[Any] = [shape_i(x, d) for d in range(x.ndim)]
            dims.insert(self.axis + 1, r)
            g = T.sum(T.reshape(gz, tuple(dims)), axis=self.axis + 1)
        else:
            g = RepeatGrad(self.axis)(gz, r)
        from tensorc.ops.rebroadcast import patternbroadcast
        return [patternbroadcast(_float_grad(x, g), x.broadcastable), disconnected_type()]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True], [False]]


class RepeatGrad(Op):
    """Sum ``g`` over the groups of consecutive entries a vector ``Repeat`` made."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = int(axis)

    def make_node(self, g: Any, r: Any) -> Apply:
        g, r = as_tensor_variable(g), as_tensor_variable(r)
        bcast = list(g.broadcastable)
        bcast[self.axis] = False
        return Apply(self, [g, r], [TensorVariable(TensorType(g.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        g, r = inputs
        starts = np.concatenate([[0], np.cumsum(r)[:-1]]).astype("int64")
        out = np.zeros(g.shape[:self.axis] + (len(r),) + g.shape[self.axis + 1:], dtype=g.dtype)
        nz = r > 0
        if nz.any():
            sel = [slice(None)] * g.ndim
            sel[self.axis] = np.nonzero(nz)[0]
            out[tuple(sel)] = np.add.reduceat(g, starts[nz], axis=self.axis)
        return [out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        shp = list(input_shapes[0])
        shp[self.axis] = input_shapes[1][0]
        return [tuple(shp)]


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    """Repeat each element ``repeats`` times along ``axis`` (None: flattened input).

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.imatrix('x')
    >>> repeat(x, [1, 2], axis=0).eval({x: np.array([[1], [2]], dtype='int32')}).tolist()
    [[1], [2], [2]]
    """
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    return Repeat(normalize_axes(axis, x.ndim, "repeat: axis")[0])(x, repeats)
