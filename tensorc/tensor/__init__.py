"""``tensorc.tensor`` — Theano's ``theano.tensor`` (``import tensorc.tensor as T``).

>>> import tensorc
>>> import tensorc.tensor as T
>>> x = T.dvector('x')
>>> f = tensorc.function([x], T.exp(x).sum())
>>> float(f([0.0, 0.0]))
2.0

Names a typical model does not need are imported on first use (PEP 562, see
:data:`_LAZY`), as are the dtype-prefixed constructors and Theano's type instances
(``T.fmatrix``, ``T.dmatrices``, ``T.fmatrix_type``: :func:`tensorc.tensor.basic.generated`);
``dir(T)``, ``hasattr`` and ``from tensorc.tensor import *`` see them all.
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
globals().update(_basic.ELEMWISE)
abs = _basic.ELEMWISE["abs_"]  # noqa: A001
power, square = _basic.ELEMWISE["pow"], _basic.ELEMWISE["sqr"]  # Theano's numpy-named aliases
as_tensor = as_tensor_variable
_tensor_py_operators = TensorVariable.__mro__[1]

# Structural ops (each module defines its ops and the Theano-facing functions): the ones
# the compiler's own passes import anyway are imported here; the others are in _LAZY.
from tensorc.ops.shape import (shape, reshape, flatten, transpose, squeeze, Shape, Shape_i,  # noqa: E402,F401
                               MakeVector, Reshape, shape_i, get_vector_length, shape_padleft,
                               shape_padright, shape_padaxis)
from tensorc.ops.reduce import (sum, prod, max, min, all, any, argmax, argmin, max_and_argmax,  # noqa: E402,F401,A004
                                mean, var, std, Reduce, Argmax)
from tensorc.ops.blas import dot, tensordot, batched_dot, batched_tensordot  # noqa: E402,F401
from tensorc.gradient import grad  # noqa: E402,F401 - jacobian, hessian, Rop, Lop, verify_grad: _LAZY
import tensorc.tensor.nnet as nnet  # noqa: E402
from tensorc.ops.nnet import logsumexp  # noqa: E402,F401 - pytensor.tensor.logsumexp
from tensorc.gradient.ops import consider_constant  # noqa: E402,F401
from tensorc.ops.subtensor import Subtensor, IncSubtensor  # noqa: E402,F401
from tensorc.ops.advanced_subtensor import AdvancedSubtensor, AdvancedIncSubtensor  # noqa: E402,F401
basic = __import__('sys').modules[__name__]  # ``T.basic.<name>`` (Theano's module path) sees every name

#: Names imported on first use (PEP 562): ``module -> names`` ("" names the module itself,
#: under the name after its last dot).  ``import tensorc.tensor`` does not load these modules.
_LAZY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tensorc.tensor.subtensor", ("", "set_subtensor", "inc_subtensor", "take")),
    ("tensorc.ops.join", ("join", "concatenate", "stack", "split", "Join", "Split")),
    ("tensorc.ops.alloc", ("alloc", "zeros", "ones", "arange", "eye", "identity_like", "tile",
                           "outer", "Alloc", "ARange", "Eye", "diagonal", "trace", "fill_diagonal",
                           "Diagonal", "FillDiagonal")),
    ("tensorc.ops.misc", ("nonzero", "flatnonzero", "nonzero_values", "choose", "Choose", "Nonzero",
                          "searchsorted", "unique", "specify_shape", "SpecifyShape")),
    ("tensorc.ops.misc_compose", (
        "roll", "mgrid", "ogrid", "where", "isclose", "allclose", "largest", "smallest", "ptp",
        "swapaxes", "horizontal_stack", "vertical_stack", "stacklists", "default", "floor_div",
        "divmod", "ceil_intdiv", "iround", "tri", "tril", "triu", "inverse_permutation",
        "bartlett", "fill_diagonal_offset", "NotScalarConstantError", "get_scalar_constant_value",
        "extract_constant", "float_dtypes", "complex_dtypes", "int_dtypes", "uint_dtypes",
        "discrete_dtypes", "continuous_dtypes", "all_dtypes",
        "convert_to_int8", "convert_to_int16", "convert_to_int32", "convert_to_int64",
        "convert_to_uint8", "convert_to_uint16", "convert_to_uint32", "convert_to_uint64",
        "convert_to_float32", "convert_to_float64", "convert_to_complex64",
        "convert_to_complex128")),
    ("tensorc.ops.extra", ("cumsum", "cumprod", "diff", "bincount", "repeat")),
    ("tensorc.ops.sort", ("sort", "argsort", "SortOp", "ArgSortOp")),
    ("tensorc.gradient.rop", ("jacobian", "hessian", "Rop", "Lop")),
    ("tensorc.gradient.verify", ("verify_grad",)),
    ("tensorc.tensor.extra_ops", ("",)),
    ("tensorc.tensor.nlinalg", ("",)),
    ("tensorc.tensor.slinalg", ("",)),
)


def _lazy_names() -> set[str]:
    return {n or module.rpartition(".")[2] for module, names in _LAZY for n in names}


def __getattr__(name: str) -> object:
    """Import a lazily exported name (:data:`_LAZY`) or make a generated constructor or
    type (:func:`tensorc.tensor.basic.generated`) on first access, and keep it.

    >>> import tensorc.tensor as T
    >>> T.cumsum.__name__, T.sort.__name__, T.nlinalg.__name__, T.fmatrix.__name__
    ('cumsum', 'sort', 'tensorc.tensor.nlinalg', 'fmatrix')
    """
    for module, names in _LAZY:
        if name in names or ("" in names and module.endswith("." + name)):
            import importlib
            mod = importlib.import_module(module)
            value = mod if name not in names else getattr(mod, name)
            globals()[name] = value
            return value
    value = _basic.generated(name)
    if value is not None:
        globals()[name] = value
        return value
    if name == "__all__":  # ``from tensorc.tensor import *``: every public name, made on the spot
        return [n for n in __dir__() if not n.startswith("_") and n != "annotations"]
    raise AttributeError(f"module 'tensorc.tensor' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _lazy_names() | set(_basic.generated_names()))
