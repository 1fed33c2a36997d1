"""Joining and splitting along an axis: ``Join``, ``Split`` and Theano's ``join``,
``concatenate``, ``stack`` and ``split``.

>>> import numpy as np
>>> import tensorc, tensorc.tensor as T
>>> x, y = T.dmatrix('x'), T.dmatrix('y')
>>> f = tensorc.function([x, y], T.concatenate([x, y], axis=1))
>>> f(np.ones((2, 1)), np.zeros((2, 2))).tolist()
[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op, Variable
from tensorc.graph.type import TensorType
from tensorc.ops.elemwise import DimShuffle, _settle_weak, promote
from tensorc.ops.shape import (MakeVector, as_shape_vector, normalize_axes, shape_i,
                               vector_elements)
from tensorc.tensor.var import TensorConstant, TensorVariable, as_tensor_variable


def _const_axis(axis: Any, what: str) -> int:
    if isinstance(axis, TensorConstant):
        axis = axis.data.item()
    if isinstance(axis, Variable):
        raise TypeError(f"{what}: axis must be a constant int, got the symbolic {axis}")
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{what}: axis must be an int, got {axis!r}")
    return int(axis)


class Join(Op):
    """Concatenate same-ndim tensors along the static ``axis`` (dtype: numpy promotion)."""

    __props__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = int(axis)

    def make_node(self, *tensors: Any) -> Apply:
        if not tensors:
            raise ValueError("join: needs at least one tensor")
        ins = [as_tensor_variable(t) for t in tensors]
        ndims = {t.ndim for t in ins}
        if len(ndims) != 1:
            raise TypeError(f"join: all tensors must have the same ndim, got ndims "
                            f"{[t.ndim for t in ins]} for {ins}")
        ndim = ndims.pop()
        if ndim == 0:
            raise TypeError("join: cannot join 0-d tensors; use stack")
        if not 0 <= self.axis < ndim:
            raise ValueError(f"join: axis {self.axis} is out of range for ndim={ndim}")
        dtype = promote(ins)
        ins = [_settle_weak(t, dtype) for t in ins]
        bcast = [False] * ndim
        for t in ins:
            for d, b in enumerate(t.broadcastable):
                if d != self.axis and b:
                    bcast[d] = True
        if len(ins) == 1:
            bcast[self.axis] = ins[0].broadcastable[self.axis]
        return Apply(self, ins, [TensorVariable(TensorType(dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        dtype = node.outputs[0].dtype
        ref = inputs[0].shape
        for k, a in enumerate(inputs):
            if any(a.shape[d] != ref[d] for d in range(a.ndim) if d != self.axis):
                raise ValueError(f"join: input shapes {[x.shape for x in inputs]} differ outside "
                                 f"the join axis {self.axis}")
        out = np.concatenate(inputs, axis=self.axis).astype(dtype, copy=False)
        for d, b in enumerate(node.outputs[0].broadcastable):
            if b and out.shape[d] != 1:
                raise ValueError(f"join: dimension {d} is broadcastable but has length "
                                 f"{out.shape[d]} (input shapes {[x.shape for x in inputs]})")
        return [out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        out = list(input_shapes[0])
        total = input_shapes[0][self.axis]
        for s in input_shapes[1:]:
            total = total + s[self.axis]
        out[self.axis] = total
        for d in range(len(out)):
            if d != self.axis and node.outputs[0].broadcastable[d]:
                out[d] = 1
        return [tuple(out)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.config import config
        gz = output_grads[0]
        if len(inputs) == 1:
            parts = [gz]
        else:
            sizes = MakeVector("int64")(*[shape_i(x, self.axis) for x in inputs])
            parts = Split(len(inputs), self.axis)(gz, sizes)
        out = []
        for x, g in zip(inputs, parts):
            if x.dtype[:1] in "fc":
                from tensorc.ops.rebroadcast import patternbroadcast
                out.append(patternbroadcast(T.cast(g, x.dtype), x.broadcastable))
            else:
                out.append(T.zeros_like(x, dtype=config.floatX))
        return out

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if any(e is None for e in eval_points):
            return [None]
        return [self(*eval_points)]


class Split(Op):
    """Split ``x`` along ``axis`` into ``len_splits`` pieces of the sizes in ``splits``."""

    __props__ = ("len_splits", "axis")

    def __init__(self, len_splits: int, axis: int) -> None:
        self.len_splits = int(len_splits)
        self.axis = int(axis)

    @property
    def view_map(self) -> dict[int, list[int]]:  # type: ignore[override]
        return {k: [0] for k in range(self.len_splits)}

    def make_node(self, x: Any, splits: Any) -> Apply:
        x = as_tensor_variable(x)
        splits = as_shape_vector(splits, "split: splits_size")
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"split: axis {self.axis} is out of range for ndim={x.ndim}")
        bcast = list(x.broadcastable)
        bcast[self.axis] = False
        outs = [TensorVariable(TensorType(x.dtype, bcast)) for _ in range(self.len_splits)]
        return Apply(self, [x, splits], outs)

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, splits = inputs
        if len(splits) != self.len_splits:
            raise ValueError(f"split: got {len(splits)} split sizes, expected {self.len_splits}")
        if (splits < 0).any() or int(splits.sum()) != x.shape[self.axis]:
            raise ValueError(f"split: sizes {splits.tolist()} do not add up to the length "
                             f"{x.shape[self.axis]} of axis {self.axis} (shape {x.shape})")
        return list(np.split(x, np.cumsum(splits)[:-1], axis=self.axis))

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        sizes = vector_elements(node.inputs[1], self.len_splits)
        out = []
        for s in sizes:
            shp = list(input_shapes[0])
            shp[self.axis] = s
            out.append(tuple(shp))
        return out

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.gradient.markers import disconnected_type, is_disconnected
        grads = [T.zeros_like(o) if is_disconnected(g) else g for o, g in zip(outputs, output_grads)]
        return [Join(self.axis)(*grads), disconnected_type()]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True] * self.len_splits, [False] * self.len_splits]


def join(axis: Any, *tensors_list: Any) -> Any:
    """Concatenate ``tensors_list`` along ``axis`` (Theano argument order).

    >>> import tensorc.tensor as T
    >>> join(0, T.dvector(), T.dvector()).type
    TensorType(float64, vector)
    """
    if len(tensors_list) == 1 and isinstance(tensors_list[0], (list, tuple)):
        tensors_list = tuple(tensors_list[0])
    ins = [as_tensor_variable(t) for t in tensors_list]
    if len(ins) == 1:
        return ins[0]
    ndim = ins[0].ndim if ins else 0
    ax = normalize_axes(_const_axis(axis, "join"), ndim, "join: axis")[0] if ndim else 0
    return Join(ax)(*ins)


def concatenate(tensor_list: Sequence[Any], axis: int = 0) -> Any:
    """Concatenate a list of tensors along ``axis`` (numpy argument order).

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.ivector('x')
    >>> concatenate([x, x]).eval({x: np.array([1, 2], dtype='int32')}).tolist()
    [1, 2, 1, 2]
    """
    if not isinstance(tensor_list, (list, tuple)):
        raise TypeError(f"concatenate: expected a list or tuple of tensors, got "
                        f"{type(tensor_list).__name__}; use concatenate([a, b], axis)")
    return join(axis, *tensor_list)


def stack(*tensors: Any, **kwargs: Any) -> Any:
    """Stack same-shape tensors along a new ``axis`` (default 0).

    Accepts ``stack([a, b], axis=1)`` and Theano's older ``stack(a, b)``.

    >>> import tensorc.tensor as T
    >>> stack([T.dscalar(), T.dscalar()]).type, stack(T.dvector(), T.dvector(), axis=1).ndim
    (TensorType(float64, vector), 2)
    """
    axis = kwargs.pop("axis", 0)
    if kwargs:
        raise TypeError(f"stack: unexpected keyword arguments {sorted(kwargs)}")
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    elif len(tensors) == 2 and isinstance(tensors[0], (list, tuple)) and not isinstance(
            tensors[1], (list, tuple, Variable)):
        tensors, axis = tuple(tensors[0]), tensors[1]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    ins = [as_tensor_variable(t) for t in tensors]
    if all(t.ndim == 0 for t in ins) and axis in (0, -1):
        dtype = promote(ins)
        return MakeVector(dtype)(*[_settle_weak(t, dtype) for t in ins])
    ndims = {t.ndim for t in ins}
    if len(ndims) != 1:
        raise TypeError(f"stack: all tensors must have the same ndim, got {[t.ndim for t in ins]}")
    ndim = ndims.pop()
    axis = _const_axis(axis, "stack")
    if not -ndim - 1 <= axis <= ndim:
        raise ValueError(f"stack: axis {axis} is out of range for stacking {ndim}-d tensors")
    axis = axis % (ndim + 1)
    padded = []
    for t in ins:
        order: list[Any] = list(range(ndim))
        order.insert(axis, "x")
        padded.append(DimShuffle(t.broadcastable, order)(t))
    return Join(axis)(*padded) if len(padded) > 1 else padded[0]


def split(x: Any, splits_size: Any, n_splits: int, axis: int = 0) -> list[Any]:
    """Split ``x`` along ``axis`` into ``n_splits`` pieces of sizes ``splits_size``.

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> a, b = split(x, [1, 2], 2)
    >>> b.eval({x: np.array([1.0, 2.0, 3.0])}).tolist()
    [2.0, 3.0]
    """
    x = as_tensor_variable(x)
    ax = normalize_axes(_const_axis(axis, "split"), x.ndim, "split: axis")[0]
    outs = Split(int(n_splits), ax)(x, splits_size)
    return outs if isinstance(outs, list) else [outs]
