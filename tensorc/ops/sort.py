"""Sorting: ``SortOp``/``ArgSortOp`` and ``sort``/``argsort``; the gradient of ``sort``
moves the output gradient back through the inverse permutation (``Permute``).

>>> import numpy as np
>>> import tensorc, tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> f = tensorc.function([x], [sort(x), argsort(x, axis=0), sort(x, axis=None)])
>>> [r.tolist() for r in f(np.array([[3.0, 1.0], [0.0, 2.0]]))]
[[[1.0, 3.0], [0.0, 2.0]], [[1, 0], [0, 1]], [0.0, 1.0, 2.0, 3.0]]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType
from tensorc.ops.shape import normalize_axes
from tensorc.tensor.var import TensorVariable, as_tensor_variable

_KINDS = ("quicksort", "mergesort", "heapsort", "stable")


def _check(x: Any, axis: int, kind: str, what: str) -> Any:
    x = as_tensor_variable(x)
    if kind not in _KINDS:
        raise ValueError(f"{what}: kind must be one of {_KINDS}, got {kind!r}")
    if not 0 <= axis < x.ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for ndim={x.ndim}")
    return x


class SortOp(Op):
    """``numpy.sort(x, axis, kind)`` along a static axis."""

    __props__ = ("axis", "kind")

    def __init__(self, axis: int, kind: str = "quicksort") -> None:
        self.axis, self.kind = int(axis), kind

    def make_node(self, x: Any) -> Apply:
        x = _check(x, self.axis, self.kind, "sort")
        return Apply(self, [x], [TensorVariable(x.type)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.sort(inputs[0], axis=self.axis, kind=self.kind)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.config import config
        x = inputs[0]
        if x.dtype[:1] not in "fc":
            return [T.zeros_like(x, dtype=config.floatX)]
        perm = ArgSortOp(self.axis, self.kind)(x)
        return [Permute(self.axis, inverse=True)(output_grads[0], perm)]


class ArgSortOp(Op):
    """``numpy.argsort(x, axis, kind)`` as int64."""

    __props__ = ("axis", "kind")

    def __init__(self, axis: int, kind: str = "quicksort") -> None:
        self.axis, self.kind = int(axis), kind

    def make_node(self, x: Any) -> Apply:
        x = _check(x, self.axis, self.kind, "argsort")
        return Apply(self, [x], [TensorVariable(TensorType("int64", x.broadcastable))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.argsort(inputs[0], axis=self.axis, kind=self.kind).astype("int64", copy=False)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.config import config
        x = inputs[0]
        return [T.zeros_like(x, dtype=x.dtype if x.dtype[:1] in "fc" else config.floatX)]


class Permute(Op):
    """Reorder ``x`` along ``axis`` by a permutation ``perm`` of the same shape:
    ``take_along_axis(x, perm)``, or with ``inverse`` its inverse (scatter)."""

    __props__ = ("axis", "inverse")

    def __init__(self, axis: int, inverse: bool = False) -> None:
        self.axis, self.inverse = int(axis), bool(inverse)

    def make_node(self, x: Any, perm: Any) -> Apply:
        x, perm = as_tensor_variable(x), as_tensor_variable(perm)
        if perm.ndim != x.ndim or perm.dtype[:3] not in ("int", "uin"):
            raise TypeError(f"Permute: perm must be an int tensor with x's ndim {x.ndim}, got "
                            f"{perm.dtype} ndim {perm.ndim}")
        return Apply(self, [x, perm], [TensorVariable(x.type)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, perm = inputs
        if x.shape != perm.shape:
            raise ValueError(f"Permute: x shape {x.shape} differs from perm shape {perm.shape}")
        if not self.inverse:
            return [np.take_along_axis(x, perm, axis=self.axis)]
        out = np.empty_like(x)
        np.put_along_axis(out, perm, x, axis=self.axis)
        return [out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import disconnected_type
        return [Permute(self.axis, not self.inverse)(output_grads[0], inputs[1]), disconnected_type()]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True], [False]]


def _axis(x: Any, axis: int | None, what: str) -> tuple[Any, int]:
    x = as_tensor_variable(x)
    if axis is None:
        return x.flatten(), 0
    return x, normalize_axes(axis, x.ndim, f"{what}: axis")[0]


def sort(a: Any, axis: int | None = -1, kind: str = "quicksort", order: Any = None) -> Any:
    """Sorted copy of ``a`` along ``axis`` (None: the flattened tensor)."""
    if order is not None:
        raise ValueError("sort: order= (structured arrays) is not supported")
    x, ax = _axis(a, axis, "sort")
    return SortOp(ax, kind)(x)


def argsort(a: Any, axis: int | None = -1, kind: str = "quicksort", order: Any = None) -> Any:
    """Indices (int64) that sort ``a`` along ``axis`` (None: the flattened tensor)."""
    if order is not None:
        raise ValueError("argsort: order= (structured arrays) is not supported")
    x, ax = _axis(a, axis, "argsort")
    return ArgSortOp(ax, kind)(x)
