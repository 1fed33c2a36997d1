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

__all__ = [
    "grad", "jacobian", "hessian", "Rop", "Lop", "verify_grad", "zero_grad", "disconnected_grad",
    "grad_clip", "grad_scale", "consider_constant", "DisconnectedInputError", "GradientError",
    "NullTypeGradError", "DisconnectedType", "NullType", "disconnected_type", "grad_undefined",
    "grad_not_implemented", "numeric_grad", "fit_to_input",
]

#: Names imported on first use (PEP 562): ``import tensorc`` does not load the
#: R-operator/jacobian code or the finite-difference checker.
_LAZY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tensorc.gradient.rop", ("Lop", "Rop", "RowLoop", "hessian", "jacobian")),
    ("tensorc.gradient.verify", ("GradientError", "numeric_grad", "verify_grad")),
)


def __getattr__(name: str) -> object:
    """Import the lazily exported names of :data:`_LAZY` on first access.

    >>> import tensorc.gradient
    >>> tensorc.gradient.verify_grad.__name__
    'verify_grad'
    """
    for module, names in _LAZY:
        if name in names:
            import importlib
            value = getattr(importlib.import_module(module), name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'tensorc.gradient' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {n for _, names in _LAZY for n in names})
