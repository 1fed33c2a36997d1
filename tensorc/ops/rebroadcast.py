"""``Rebroadcast``: change a variable's static broadcast pattern (checked at run time).

>>> import tensorc.tensor as T
>>> x = T.matrix('x')
>>> T.addbroadcast(x, 0).broadcastable
(True, False)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.tensor.var import TensorVariable, as_tensor_variable


class Rebroadcast(Op):
    """Set ``broadcastable[axis] = flag`` for each ``(axis, flag)`` pair."""

    __props__ = ("axis_flags",)
    view_map = {0: [0]}

    def __init__(self, *axis_flags: tuple[int, bool]) -> None:
        self.axis_flags = tuple(sorted((int(a), bool(f)) for a, f in axis_flags))

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        bcast = list(x.broadcastable)
        for axis, flag in self.axis_flags:
            if not -x.ndim <= axis < x.ndim:
                raise ValueError(f"rebroadcast: axis {axis} out of range for a {x.ndim}-d input {x}")
            bcast[axis] = flag
        return Apply(self, [x], [TensorVariable(x.type.clone(broadcastable=bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        for axis, flag in self.axis_flags:
            if flag and x.shape[axis] != 1:
                raise ValueError(f"{node.inputs[0]}: dimension {axis} was declared broadcastable "
                                 f"but has length {x.shape[axis]} (shape {x.shape})")
        return [x]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        x, gz = inputs[0], output_grads[0]
        return [patternbroadcast(gz, x.broadcastable)]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        return [None if eval_points[0] is None else self(eval_points[0])]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        shape = list(input_shapes[0])
        for axis, flag in self.axis_flags:
            if flag:
                shape[axis] = 1
        return [tuple(shape)]


def patternbroadcast(x: Any, broadcastable: Sequence[bool]) -> Any:
    """``x`` with its broadcast pattern set to ``broadcastable`` (same ndim)."""
    x = as_tensor_variable(x)
    if len(broadcastable) != x.ndim:
        raise ValueError(f"patternbroadcast: pattern {tuple(broadcastable)} has {len(broadcastable)} "
                         f"entries, {x} has {x.ndim} dimensions")
    pairs = [(k, bool(b)) for k, b in enumerate(broadcastable) if bool(b) != x.broadcastable[k]]
    return Rebroadcast(*pairs)(x) if pairs else x


def addbroadcast(x: Any, *axes: int) -> Any:
    """Mark ``axes`` of ``x`` broadcastable (they must have length 1 at run time)."""
    x = as_tensor_variable(x)
    pairs = [(a % x.ndim if x.ndim else a, True) for a in axes]
    pairs = [(a, f) for a, f in pairs if not x.broadcastable[a]]
    return Rebroadcast(*pairs)(x) if pairs else x


def unbroadcast(x: Any, *axes: int) -> Any:
    """Mark ``axes`` of ``x`` not broadcastable."""
    x = as_tensor_variable(x)
    pairs = [(a % x.ndim if x.ndim else a, False) for a in axes]
    pairs = [(a, f) for a, f in pairs if x.broadcastable[a]]
    return Rebroadcast(*pairs)(x) if pairs else x
