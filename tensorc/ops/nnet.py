"""Neural-network ops: ``Softmax``, ``SoftmaxGrad``, ``LogSoftmax``, ``LogSumExp`` (all
along the last axis, numerically stable) and ``CrossentropyCategorical1Hot``
(``-log(p[i, y[i]])``) with its gradient op.

>>> import numpy as np, tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> Softmax()(x).eval({x: np.array([[1000.0, 1000.0]])}).tolist()
[[0.5, 0.5]]
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


def _float_input(x: Any, what: str) -> TensorVariable:
    x = as_tensor_variable(x)
    if x.type.numpy_dtype.kind != "f" or x.ndim < 1:
        raise ValueError(f"{what}: x must be a tensor of floats with at least 1 dimension, "
                         f"got {x} ({x.type})")
    return x


def softmax_numpy(x: np.ndarray) -> np.ndarray:
    """Stable softmax along the last axis (max subtracted first)."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax_numpy(x: np.ndarray) -> np.ndarray:
    """Stable log-softmax along the last axis."""
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class _LastAxisOp(Op):
    """A float op normalising along the last axis: same type and shape as its input."""

    __props__ = ()
    label: str

    @staticmethod
    def numpy_fn(x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def make_node(self, x: Any) -> Apply:
        x = _float_input(x, self.label)
        return Apply(self, [x], [TensorVariable(x.type)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        if x.shape[-1] == 0:
            return [x.copy()]
        return [self.numpy_fn(x).astype(x.dtype, copy=False)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]


class Softmax(_LastAxisOp):
    """``exp(x) / sum(exp(x))`` along the last axis."""

    label = "softmax"
    numpy_fn = staticmethod(softmax_numpy)

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [SoftmaxGrad()(output_grads[0], outputs[0])]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if eval_points[0] is None:
            return [None]
        return [SoftmaxGrad()(eval_points[0], self(inputs[0]))]


class SoftmaxGrad(Op):
    """Gradient of softmax: ``(dy - sum(dy * sm, axis=-1, keepdims=True)) * sm``."""

    __props__ = ()

    def make_node(self, dy: Any, sm: Any) -> Apply:
        dy, sm = as_tensor_variable(dy), as_tensor_variable(sm)
        if dy.ndim != sm.ndim:
            raise ValueError(f"SoftmaxGrad: dy {dy.type} and sm {sm.type} must have the same ndim")
        dtype = np.result_type(dy.dtype, sm.dtype).name
        bcast = tuple(a and b for a, b in zip(dy.broadcastable, sm.broadcastable))
        return Apply(self, [dy, sm], [TensorVariable(TensorType(dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        dy, sm = inputs
        if dy.shape != sm.shape and np.broadcast_shapes(dy.shape, sm.shape) != sm.shape:
            raise ValueError(f"SoftmaxGrad: dy shape {dy.shape} does not match softmax shape {sm.shape}")
        dx = dy * sm
        dx -= sm * dx.sum(axis=-1, keepdims=True)
        return [np.asarray(dx, dtype=node.outputs[0].dtype)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        T = _T()
        dy, sm = inputs
        g = output_grads[0]
        g_dy = SoftmaxGrad()(g, sm)
        s = T.sum(dy * sm, axis=-1, keepdims=True)
        g_sm = g * (dy - s) - dy * T.sum(g * sm, axis=-1, keepdims=True)
        return [g_dy, g_sm]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[1])]


class LogSoftmax(_LastAxisOp):
    """``x - log(sum(exp(x)))`` along the last axis, computed without overflow."""

    label = "log_softmax"
    numpy_fn = staticmethod(log_softmax_numpy)

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        T = _T()
        gz = output_grads[0]
        return [gz - T.exp(outputs[0]) * T.sum(gz, axis=-1, keepdims=True)]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if eval_points[0] is None:
            return [None]
        T = _T()
        ev = eval_points[0]
        return [ev - T.sum(ev * Softmax()(inputs[0]), axis=-1, keepdims=True)]


def logsumexp_numpy(x: np.ndarray) -> np.ndarray:
    """Stable ``log(sum(exp(x), axis=-1))``: rows of all ``-inf`` (and empty rows) give
    ``-inf``, a row holding ``+inf`` gives ``inf``, a row holding NaN gives NaN.

    >>> logsumexp_numpy(np.array([[1000.0, 1000.0], [-np.inf, -np.inf]])).round(6).tolist()
    [1000.693147, -inf]
    """
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], -np.inf, dtype=x.dtype)
    w = x.astype(np.float64) if x.dtype == np.float32 else x
    m = w.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros_like(m))  # inf/nan rows: exp gives the answer
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = w - m
        at_max = d == 0  # exp(0) == 1 each: log1p of the rest keeps tiny terms' digits
        s = np.where(at_max, 0, np.exp(d)).sum(axis=-1) + (at_max.sum(axis=-1) - 1)
        return np.asarray(np.log1p(s) + m[..., 0], dtype=x.dtype)


class LogSumExp(Op):
    """``log(sum(exp(x), axis=-1))`` without overflow; the last axis is dropped.

    >>> x = _T().dmatrix('x')
    >>> LogSumExp()(x).eval({x: np.array([[1000.0, 1000.0]])}).round(6).tolist()
    [1000.693147]
    """

    __props__ = ()

    def make_node(self, x: Any) -> Apply:
        x = _float_input(x, "logsumexp")
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, x.broadcastable[:-1]))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [logsumexp_numpy(inputs[0])]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0][:-1])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        x = inputs[0]
        g = output_grads[0].dimshuffle(*range(x.ndim - 1), "x")
        return [g * Softmax()(x)]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if eval_points[0] is None:
            return [None]
        return [_T().sum(eval_points[0] * Softmax()(inputs[0]), axis=-1)]


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> TensorVariable:
    """``log(sum(exp(x), axis=axis, keepdims=keepdims))`` computed stably (PyTensor's
    ``pytensor.tensor.logsumexp``; ``scipy.special.logsumexp`` semantics).

    The last axis (and ``axis=None``) is one ``LogSumExp`` op; other axes build
    ``log(sum(exp(x)))``, which the ``stabilize`` pass makes stable.

    >>> T = _T()
    >>> x = T.dmatrix('x')
    >>> logsumexp(x, axis=1).eval({x: np.array([[0.0, np.log(3.0)]])}).round(6).tolist()
    [1.386294]
    """
    T = _T()
    x = as_tensor_variable(x)
    nd = x.ndim
    axes = list(range(nd)) if axis is None else [axis] if isinstance(axis, int) else list(axis)
    axes = sorted({a + nd if a < 0 else a for a in axes})
    if x.type.numpy_dtype.kind != "f" or nd == 0 or not axes:
        return T.log(T.sum(T.exp(x), axis=axis, keepdims=keepdims))
    if axes == [nd - 1]:
        out = LogSumExp()(x)
    elif axes == list(range(nd)):
        out = LogSumExp()(x.flatten())
    else:
        return T.log(T.sum(T.exp(x), axis=axes, keepdims=keepdims))
    if keepdims:
        kept = iter(range(out.ndim))
        out = out.dimshuffle(*["x" if d in axes else next(kept) for d in range(nd)])
    return out


def _check_labels(p: np.ndarray, y: np.ndarray, what: str) -> None:
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"{what}: {p.shape[0]} rows of coding_dist (shape {p.shape}) but "
                         f"{y.shape[0]} labels (shape {y.shape})")
    if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
        bad = int(y[(y < 0) | (y >= p.shape[1])][0])
        raise IndexError(f"{what}: label {bad} is out of range for {p.shape[1]} classes "
                         f"(coding_dist shape {p.shape})")


class CrossentropyCategorical1Hot(Op):
    """``-log(coding_dist[i, true_one_of_n[i]])`` for each row ``i``."""

    __props__ = ()

    def make_node(self, coding_dist: Any, true_one_of_n: Any) -> Apply:
        p, y = as_tensor_variable(coding_dist), as_tensor_variable(true_one_of_n)
        if p.ndim != 2 or p.type.numpy_dtype.kind != "f":
            raise TypeError(f"categorical_crossentropy: coding_dist must be a float matrix, got {p.type}")
        if y.ndim != 1 or y.type.numpy_dtype.kind not in "iu":
            raise TypeError(f"categorical_crossentropy: integer labels must be an integer vector, "
                            f"got {y.type}")
        return Apply(self, [p, y], [TensorVariable(TensorType(p.dtype, p.broadcastable[:1]))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        p, y = inputs
        _check_labels(p, y, "categorical_crossentropy")
        return [np.asarray(-np.log(p[np.arange(p.shape[0]), y]), dtype=p.dtype)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import grad_undefined
        p, y = inputs
        return [CrossentropyCategorical1HotGrad()(output_grads[0], p, y),
                grad_undefined(self, 1, y, "labels are integers")]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0][:1])]


class CrossentropyCategorical1HotGrad(Op):
    """Gradient wrt ``coding_dist``: zeros except ``-g[i] / p[i, y[i]]`` at ``(i, y[i])``."""

    __props__ = ()

    def make_node(self, g: Any, coding_dist: Any, true_one_of_n: Any) -> Apply:
        g, p, y = (as_tensor_variable(v) for v in (g, coding_dist, true_one_of_n))
        return Apply(self, [g, p, y], [TensorVariable(p.type)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        g, p, y = inputs
        _check_labels(p, y, "categorical_crossentropy gradient")
        out = np.zeros_like(p)
        rows = np.arange(p.shape[0])
        out[rows, y] = -np.broadcast_to(g, y.shape) / p[rows, y]
        return [out]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import grad_not_implemented, grad_undefined
        g, p, y = inputs
        return [grad_not_implemented(self, 0, g), grad_not_implemented(self, 1, p),
                grad_undefined(self, 2, y, "labels are integers")]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[1])]
