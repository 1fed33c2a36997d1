"""Basic indexing ops: ``Subtensor`` (``x[2, 1:n:2]``, a view) and ``IncSubtensor``
(``set_subtensor`` / ``inc_subtensor`` on a basic index).

An index is described by a hashable ``idx_list`` (part of the op's identity) with one
entry per indexed dimension:

- a Python ``int``: a constant integer index (the dimension is dropped);
- ``"i"``: an integer index taken from the next symbolic input (an integer scalar);
- ``("slice", start, stop, step)``: each part ``None``, a Python ``int`` or ``"i"``.

Symbolic index values follow ``x`` (and ``y`` for ``IncSubtensor``) in the node's inputs.

>>> import tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> y = x[1, ::2]
>>> y.owner.op.idx_list, y.ndim
((1, ('slice', None, None, 2)), 1)
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType
from tensorc.tensor.var import TensorConstant, TensorVariable, as_tensor_variable

SYM = "i"  # marker of a symbolic scalar index in an idx_list


def _T() -> Any:
    import tensorc.tensor as T
    return T


def is_slice_entry(entry: Any) -> bool:
    """True for a ``("slice", start, stop, step)`` idx_list entry."""
    return isinstance(entry, tuple) and len(entry) == 4 and entry[0] == "slice"


def n_symbolic(idx_list: Sequence[Any]) -> int:
    """How many symbolic inputs an idx_list consumes."""
    count = 0
    for e in idx_list:
        parts = e[1:] if is_slice_entry(e) else (e,)
        count += sum(1 for p in parts if isinstance(p, str))
    return count


def numpy_index(idx_list: Sequence[Any], values: Iterator[Any]) -> tuple:
    """The numpy index tuple of ``idx_list``, pulling symbolic parts from ``values``."""
    def part(p: Any) -> Any:
        if p == SYM:
            return int(next(values))
        return p
    out: list[Any] = []
    for e in idx_list:
        if is_slice_entry(e):
            out.append(slice(part(e[1]), part(e[2]), part(e[3])))
        elif isinstance(e, str):
            v = next(values)
            out.append(int(v) if np.ndim(v) == 0 and np.asarray(v).dtype.kind in "iu" else v)
        else:
            out.append(e)
    return tuple(out)


def check_index_scalar(v: Any, what: str) -> TensorVariable:
    """``v`` as an integer scalar variable, or a TypeError naming it."""
    v = as_tensor_variable(v)
    if v.ndim != 0 or v.type.numpy_dtype.kind not in "iu":
        raise TypeError(f"{what}: index must be an integer scalar, got {v} of type {v.type}")
    return v


def index_error(exc: Exception, x: np.ndarray, index: tuple) -> IndexError:
    """An IndexError naming the index, the array's shape and numpy's reason."""
    shown = ", ".join(_show(i) for i in index)
    return IndexError(f"index [{shown}] is out of range for an array of shape {x.shape}: {exc}")


def _show(i: Any) -> str:
    if isinstance(i, slice):
        return ":".join("" if p is None else str(p) for p in (i.start, i.stop, i.step))
    if isinstance(i, np.ndarray):
        return f"array(shape={i.shape}, dtype={i.dtype})" if i.size > 6 else np.array2string(i, separator=",")
    return str(i)


def _slice_keeps_broadcast(entry: tuple) -> bool:
    _, start, stop, step = entry
    return start in (None, 0) and step in (None, 1) and (stop is None or (isinstance(stop, int) and stop >= 1))


class Subtensor(Op):
    """``x[idx]`` for a basic index (ints and slices): a view of ``x``."""

    __props__ = ("idx_list",)
    view_map = {0: [0]}

    def __init__(self, idx_list: Sequence[Any]) -> None:
        self.idx_list = tuple(idx_list)

    def __str__(self) -> str:
        return f"Subtensor{{{', '.join(_show_entry(e) for e in self.idx_list)}}}"

    def make_node(self, x: Any, *index: Any) -> Apply:
        x = as_tensor_variable(x)
        if len(self.idx_list) > x.ndim:
            raise IndexError(f"too many indices for {x} ({x.type}): {len(self.idx_list)} "
                             f"indices for {x.ndim} dimensions")
        if len(index) != n_symbolic(self.idx_list):
            raise TypeError(f"{self} expects {n_symbolic(self.idx_list)} index inputs, got {len(index)}")
        index = tuple(check_index_scalar(v, str(self)) for v in index)
        bcast: list[bool] = []
        for e, b in zip(self.idx_list, x.broadcastable):
            if is_slice_entry(e):
                bcast.append(b and _slice_keeps_broadcast(e))
        bcast.extend(x.broadcastable[len(self.idx_list):])
        return Apply(self, [x, *index], [TensorVariable(TensorType(x.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        index = numpy_index(self.idx_list, iter(inputs[1:]))
        try:
            return [x[index + (Ellipsis,)]]  # the trailing Ellipsis keeps 0-d results ndarrays
        except IndexError as exc:
            raise index_error(exc, x, index) from None

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True]] + [[False]] * (len(node.inputs) - 1)

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import disconnected_type
        x, rest = inputs[0], inputs[1:]
        zeros = _T().zeros_like(x, dtype=_grad_dtype(x))
        gx = IncSubtensor(self.idx_list)(zeros, output_grads[0], *rest)
        return [gx] + [disconnected_type() for _ in rest]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], *inputs[1:])]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        shape = input_shapes[0]
        values = iter(node.inputs[1:])
        out: list[Any] = []
        for dim, e in enumerate(self.idx_list):
            if is_slice_entry(e):
                parts = [next(values) if p == SYM else p for p in e[1:]]
                out.append(slice_length(shape[dim], *parts))
            elif e == SYM:
                next(values)
        out.extend(shape[len(self.idx_list):])
        return [tuple(out)]


def _show_entry(e: Any) -> str:
    if is_slice_entry(e):
        return ":".join("" if p is None else str(p) for p in e[1:])
    return str(e)


def _grad_dtype(x: Any) -> str:
    from tensorc.config import config
    return x.dtype if x.type.numpy_dtype.kind in "fc" else config.floatX


def slice_length(n: Any, start: Any, stop: Any, step: Any) -> Any:
    """Symbolic length of ``range(n)[start:stop:step]`` (parts: None, int or int scalar variable).

    >>> int(slice_length(10, 1, None, 3).eval())
    3
    """
    T = _T()
    if start is None and stop is None and step in (None, 1):
        return n
    n = T.cast(n, "int64")
    if step is None or isinstance(step, (int, np.integer)):
        return _length_for_sign(n, start, stop, 1 if step is None else int(step), step)
    pos = _length_for_sign(n, start, stop, 1, step)
    neg = _length_for_sign(n, start, stop, -1, step)
    return T.switch(T.gt(step, 0), pos, neg)


def _length_for_sign(n: Any, start: Any, stop: Any, sign: int, step: Any) -> Any:
    T = _T()
    if sign == 0:
        raise ValueError("slice step cannot be zero")
    lo, hi = (0, n) if sign > 0 else (-1, n - 1)

    def clamp(v: Any, default: Any) -> Any:
        if v is None:
            return default
        return T.switch(T.lt(v, 0), T.maximum(v + n, lo), T.minimum(v, hi))

    s = clamp(start, 0 if sign > 0 else n - 1)
    e = clamp(stop, n if sign > 0 else -1)
    mag = abs(int(step)) if isinstance(step, (int, np.integer)) else (
        1 if step is None else T.abs_(step))
    span = e - s if sign > 0 else s - e
    return T.cast(T.maximum(T.int_div(span + mag - 1, mag), 0), "int64")


def cast_value_for(x: Any, y: Any, what: str) -> Any:
    """``y`` cast to ``x``'s dtype when numpy's same-kind rule allows it, else TypeError."""
    y = as_tensor_variable(y)
    if y.dtype == x.dtype:
        return y
    weak = isinstance(y, TensorConstant) and y.weak
    if weak or np.can_cast(y.dtype, x.dtype, casting="same_kind"):
        return _T().cast(y, x.dtype)
    raise TypeError(f"{what}: cannot write values of dtype {y.dtype} into {x} of dtype {x.dtype}; "
                    f"cast them first")


def sum_to_like(g: Any, y: Any) -> Any:
    """Sum ``g`` (shaped like ``x[idx]``) down to the ndim and broadcast pattern of ``y``."""
    T = _T()
    lead = g.ndim - y.ndim
    if lead > 0:
        g = T.sum(g, axis=list(range(lead)))
    axes = [d for d in range(y.ndim) if y.broadcastable[d] and not g.broadcastable[d]]
    if axes:
        g = T.sum(g, axis=axes, keepdims=True)
    return T.patternbroadcast(g, y.broadcastable)


class IncSubtensorBase(Op):
    """What basic and advanced set/inc_subtensor share: connectivity, gradient, shape.

    Subclasses name the reading op of the same index kind in ``getter``.
    """

    getter: type[Op]
    name_prefix: str
    __props__ = ("idx_list", "inplace", "set_instead_of_inc")

    def __init__(self, idx_list: Sequence[Any], inplace: bool = False,
                 set_instead_of_inc: bool = False) -> None:
        self.idx_list = tuple(idx_list)
        self.inplace = bool(inplace)
        self.set_instead_of_inc = bool(set_instead_of_inc)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def __str__(self) -> str:
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return (f"{self.name_prefix}{kind}Subtensor{'{inplace}' if self.inplace else ''}"
                f"{{{', '.join(_show_entry(e) for e in self.idx_list)}}}")

    def make_node(self, x: Any, y: Any, *index: Any) -> Apply:
        x = as_tensor_variable(x)
        sub = self.getter(self.idx_list).make_node(x, *index).outputs[0]
        y = cast_value_for(x, y, str(self))
        if y.ndim > sub.ndim:
            raise ValueError(f"{self}: trying to increment a {sub.ndim}-dimensional subtensor of {x} "
                             f"with a {y.ndim}-dimensional value {y}")
        return Apply(self, [x, y, *sub.owner.inputs[1:]], [TensorVariable(x.type)])

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True], [True]] + [[False]] * (len(node.inputs) - 2)

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import disconnected_type
        y, rest = inputs[1], inputs[2:]
        gz = output_grads[0]
        if self.set_instead_of_inc:  # the overwritten entries do not reach the output
            gx = type(self)(self.idx_list, set_instead_of_inc=True)(gz, 0, *rest)
        else:
            gx = gz
        gy = sum_to_like(self.getter(self.idx_list)(gz, *rest), y)
        return [gx, gy] + [disconnected_type() for _ in rest]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]


class IncSubtensor(IncSubtensorBase):
    """``x`` with ``x[idx]`` incremented by ``y`` (or set to ``y``); basic index."""

    getter = Subtensor
    name_prefix = ""

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, y = inputs[0], inputs[1]
        out = x if self.inplace else x.copy()
        index = numpy_index(self.idx_list, iter(inputs[2:])) + (Ellipsis,)
        try:
            view = out[index]
        except IndexError as exc:
            raise index_error(exc, x, index[:-1]) from None
        try:
            if self.set_instead_of_inc:
                view[...] = y
            else:
                view += y
        except ValueError as exc:
            raise ValueError(f"{self}: value of shape {y.shape} does not broadcast to the indexed "
                             f"region of shape {view.shape} (x shape {x.shape}): {exc}") from None
        return [out]
