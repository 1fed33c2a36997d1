"""``tensorc.tensor`` — Theano's ``theano.tensor`` (``import tensorc.tensor as T``).

>>> import tensorc
>>> import tensorc.tensor as T
>>> x = T.dvector('x')
>>> f = tensorc.function([x], T.exp(x).sum())
>>> float(f([0.0, 0.0]))
2.0
"""
from __future__ import annotations

from tensorc.graph.type import TensorType  # noqa: F401
from tensorc.tensor.var import (TensorConstant, TensorVariable, as_tensor_variable,  # noqa: F401
                                constant)
from tensorc.tensor import basic as _basic
from tensorc.tensor.basic import (cast, round, fill, zeros_like, ones_like, tensor,  # noqa: F401
                                  complex_from_polar, dimshuffle)
from tensorc.ops.elemwise import DimShuffle, Elemwise  # noqa: F401
from tensorc.ops.rebroadcast import (Rebroadcast, addbroadcast, patternbroadcast,  # noqa: F401
                                     unbroadcast)

globals().update(_basic.CONSTRUCTORS)
globals().update(_basic.TYPES)
globals().update(_basic.ELEMWISE)
abs = _basic.ELEMWISE["abs_"]  # noqa: A001
as_tensor = as_tensor_variable
_tensor_py_operators = TensorVariable.__mro__[1]

# Structural ops (each module defines its ops and the Theano-facing functions).
# --- one import line per module below ---
import tensorc.tensor.subtensor as subtensor  # noqa: E402
from tensorc.tensor.subtensor import set_subtensor, inc_subtensor, take  # noqa: E402,F401
from tensorc.ops.shape import (shape, reshape, flatten, transpose, squeeze, Shape, Shape_i,  # noqa: E402,F401
                               MakeVector, Reshape, shape_i, get_vector_length, shape_padleft,
                               shape_padright, shape_padaxis)
from tensorc.ops.reduce import (sum, prod, max, min, all, any, argmax, argmin, max_and_argmax,  # noqa: E402,F401,A004
                                mean, var, std, Reduce, Argmax)
from tensorc.ops.blas import dot, tensordot, batched_dot, batched_tensordot  # noqa: E402,F401
from tensorc.gradient import grad  # noqa: E402,F401 - jacobian, hessian, Rop, Lop, verify_grad: _LAZY
from tensorc.ops.join import join, concatenate, stack, split, Join, Split  # noqa: E402,F401
from tensorc.ops.alloc import (alloc, zeros, ones, arange, eye, identity_like, tile, outer,  # noqa: E402,F401
                               Alloc, ARange, Eye)
import tensorc.tensor.nnet as nnet  # noqa: E402
from tensorc.ops.nnet import logsumexp  # noqa: E402,F401 - pytensor.tensor.logsumexp
from tensorc.ops.alloc import diagonal, trace, fill_diagonal, Diagonal, FillDiagonal  # noqa: E402,F401
# --- Theano API gap audit: misc functions, linear algebra, constants (one block) ---
from tensorc.ops.misc import (nonzero, flatnonzero, nonzero_values, choose, Choose, Nonzero,  # noqa: E402,F401
                              searchsorted, unique, specify_shape, SpecifyShape)
from tensorc.ops.misc_compose import (roll, mgrid, ogrid, where, isclose, allclose, largest,  # noqa: E402,F401,A004
                                      smallest, ptp, swapaxes, horizontal_stack, vertical_stack,
                                      stacklists, default, floor_div, divmod, ceil_intdiv, iround,
                                      tri, tril, triu, inverse_permutation, bartlett,
                                      fill_diagonal_offset, NotScalarConstantError,
                                      get_scalar_constant_value, extract_constant, float_dtypes,
                                      complex_dtypes, int_dtypes, uint_dtypes, discrete_dtypes,
                                      continuous_dtypes, all_dtypes)
from tensorc.ops.misc_compose import CONVERTERS as _CONVERTERS  # noqa: E402
globals().update(_CONVERTERS)
power, square = pow, sqr  # noqa: F821 - Theano's numpy-named aliases (rows 'pow', 'sqr')
from tensorc.gradient.ops import consider_constant  # noqa: E402,F401
from tensorc.ops.subtensor import Subtensor, IncSubtensor  # noqa: E402,F401
from tensorc.ops.advanced_subtensor import AdvancedSubtensor, AdvancedIncSubtensor  # noqa: E402,F401
basic = __import__('sys').modules[__name__]  # ``T.basic.<name>`` (Theano's module path) sees every name

#: Names imported on first use (PEP 562), so ``import tensorc.tensor`` does not load
#: linear algebra, sorting, the extra ops or the finite-difference checker.
_LAZY_NAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tensorc.ops.extra", ("cumsum", "cumprod", "diff", "bincount", "repeat")),
    ("tensorc.ops.sort", ("sort", "argsort", "SortOp", "ArgSortOp")),
    ("tensorc.gradient.rop", ("jacobian", "hessian", "Rop", "Lop")),
    ("tensorc.gradient.verify", ("verify_grad",)),
)
#: Submodules of Theano's ``theano.tensor`` namespace, imported on first use too.
_LAZY_MODULES: tuple[tuple[str, str], ...] = (
    ("extra_ops", "tensorc.tensor.extra_ops"), ("nlinalg", "tensorc.tensor.nlinalg"),
    ("slinalg", "tensorc.tensor.slinalg"),
)


def __getattr__(name: str) -> object:
    """Import the lazily exported names (:data:`_LAZY_NAMES`, :data:`_LAZY_MODULES`).

    >>> import tensorc.tensor as T
    >>> T.cumsum.__name__, T.sort.__name__, T.nlinalg.__name__
    ('cumsum', 'sort', 'tensorc.tensor.nlinalg')
    """
    import importlib
    for attr, module in _LAZY_MODULES:
        if attr == name:
            value: object = importlib.import_module(module)
            globals()[name] = value
            return value
    for module, names in _LAZY_NAMES:
        if name in names:
            value = getattr(importlib.import_module(module), name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'tensorc.tensor' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {n for _, names in _LAZY_NAMES for n in names}
                  | {n for n, _ in _LAZY_MODULES})
