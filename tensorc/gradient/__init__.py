"""``tensorc.gradient`` — Theano's ``theano.gradient``: symbolic differentiation.

>>> import tensorc, tensorc.tensor as T
>>> from tensorc.gradient import grad, zero_grad
>>> x = T.dscalar('x')
>>> f = tensorc.function([x], grad(x ** 2 + zero_grad(x) * x, x))
>>> float(f(3.0))
9.0
"""
from __future__ import annotations

from tensorc.gradient.core import (DisconnectedInputError, NullTypeGradError,  # noqa: F401
                                   fit_to_input, grad)
from tensorc.gradient.markers import (DisconnectedType, NullType, disconnected_type,  # noqa: F401
                                      grad_not_implemented, grad_undefined)
from tensorc.gradient.ops import (ConsiderConstant, DisconnectedGrad, GradClip,  # noqa: F401
                                  GradScale, ZeroGrad, consider_constant, disconnected_grad,
                                  grad_clip, grad_scale, zero_grad)
from tensorc.gradient.rop import Lop, Rop, RowLoop, hessian, jacobian  # noqa: F401
from tensorc.gradient.verify import GradientError, numeric_grad, verify_grad  # noqa: F401

__all__ = [
    "grad", "jacobian", "hessian", "Rop", "Lop", "verify_grad", "zero_grad", "disconnected_grad",
    "grad_clip", "grad_scale", "consider_constant", "DisconnectedInputError", "GradientError",
    "NullTypeGradError", "DisconnectedType", "NullType", "disconnected_type", "grad_undefined",
    "grad_not_implemented", "numeric_grad", "fit_to_input",
]
