"""Identity ops that only change the gradient: ``zero_grad``, ``disconnected_grad``,
``grad_clip``, ``grad_scale`` and (deprecated in Theano) ``consider_constant``.

Forward they return their input unchanged (a view); the rewrite pipeline may
remove them once gradients are built.

>>> import tensorc, tensorc.tensor as T
>>> from tensorc.gradient.core import grad
>>> x = T.dscalar('x')
>>> g = grad(x * zero_grad(x), x)        # d/dx (x * c) with c = x held constant
>>> float(tensorc.function([x], g)(3.0))
3.0
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.gradient.markers import disconnected_type


def _T() -> Any:
    import tensorc.tensor as T
    return T


class _GradIdentity(Op):
    """Forward identity (a view of its input) with a custom gradient."""

    view_map = {0: [0]}

    def make_node(self, x: Any) -> Apply:
        x = _T().as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [inputs[0]]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        return [None if eval_points[0] is None else self(eval_points[0])]


class ZeroGrad(_GradIdentity):
    """Gradient is zero but stays connected."""

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [_T().zeros_like(output_grads[0])]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        return [None if eval_points[0] is None else _T().zeros_like(eval_points[0])]


class DisconnectedGrad(_GradIdentity):
    """Gradient is disconnected: the input is treated as not part of the cost's graph."""

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [disconnected_type()]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[False]]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        return [None if eval_points[0] is None else _T().zeros_like(eval_points[0])]


class ConsiderConstant(ZeroGrad):
    """Theano's deprecated ``consider_constant`` op: zero, connected gradient."""


class GradClip(_GradIdentity):
    """Gradient clipped elementwise to ``[clip_lower_bound, clip_upper_bound]``."""

    __props__ = ("clip_lower_bound", "clip_upper_bound")

    def __init__(self, clip_lower_bound: float, clip_upper_bound: float) -> None:
        self.clip_lower_bound = float(clip_lower_bound)
        self.clip_upper_bound = float(clip_upper_bound)
        if not self.clip_upper_bound >= self.clip_lower_bound:
            raise ValueError(f"grad_clip: upper bound {clip_upper_bound} is below lower bound "
                             f"{clip_lower_bound}")

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [_T().clip(output_grads[0], self.clip_lower_bound, self.clip_upper_bound)]


class GradScale(_GradIdentity):
    """Gradient multiplied by ``multiplier``."""

    __props__ = ("multiplier",)

    def __init__(self, multiplier: float) -> None:
        self.multiplier = float(multiplier)

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [output_grads[0] * self.multiplier]


def zero_grad(x: Any) -> Any:
    """``x`` unchanged, but its gradient is zero (still connected: no ``DisconnectedInputError``).

    >>> import tensorc, tensorc.tensor as T
    >>> from tensorc.gradient.core import grad
    >>> x = T.dscalar('x')
    >>> float(tensorc.function([x], grad(zero_grad(x) ** 2, x))(3.0))
    0.0
    """
    return ZeroGrad()(x)


def disconnected_grad(x: Any) -> Any:
    """``x`` unchanged, but gradients do not flow through it (disconnected).

    >>> import tensorc.tensor as T
    >>> from tensorc.gradient.core import grad, DisconnectedInputError
    >>> x = T.dscalar('x')
    >>> try:
    ...     grad(disconnected_grad(x) ** 2, x)
    ... except DisconnectedInputError:
    ...     print('disconnected')
    disconnected
    """
    return DisconnectedGrad()(x)


def consider_constant(x: Any) -> Any:
    """Theano's deprecated spelling of :func:`zero_grad`."""
    return ConsiderConstant()(x)


def grad_clip(x: Any, lower_bound: float, upper_bound: float) -> Any:
    """``x`` unchanged; its gradient is clipped to ``[lower_bound, upper_bound]``.

    >>> import tensorc, tensorc.tensor as T
    >>> from tensorc.gradient.core import grad
    >>> x = T.dscalar('x')
    >>> float(tensorc.function([x], grad(grad_clip(x, -1, 1) ** 2, x))(3.0))
    1.0
    """
    return GradClip(lower_bound, upper_bound)(x)


def grad_scale(x: Any, multiplier: float) -> Any:
    """``x`` unchanged; its gradient is multiplied by ``multiplier``.

    >>> import tensorc, tensorc.tensor as T
    >>> from tensorc.gradient.core import grad
    >>> x = T.dscalar('x')
    >>> float(tensorc.function([x], grad(grad_scale(x, 0.5) ** 2, x))(3.0))
    3.0
    """
    return GradScale(multiplier)(x)
