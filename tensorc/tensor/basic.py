"""Theano-facing constructors and the elementwise functions generated from the table.

>>> import tensorc.tensor as T
>>> x, y = T.fvector('x'), T.ivector('y')
>>> (x + y).dtype, T.lt(x, 1).dtype, T.true_div(y, y).dtype
('float64', 'bool', 'float64')
"""
from __future__ import annotations

from typing import Any, Sequence


from tensorc.graph.type import PREFIX_DTYPES, TensorType, as_dtype_name
from tensorc.ops.elemwise import DimShuffle, Elemwise
from tensorc.ops.elemwise_table import ROWS, BY_NAME
from tensorc.tensor.var import (TensorConstant, TensorVariable, as_tensor_variable,  # noqa: F401
                                constant)


# --------------------------------------------------------------------------------------
# Variable constructors: T.matrix, T.fvector, T.tensor(dtype, broadcastable) ...
# --------------------------------------------------------------------------------------

def tensor(dtype: Any = "floatX", broadcastable: Sequence[bool] = (), name: str | None = None,
           shape: Sequence[int | None] | None = None) -> TensorVariable:
    """A symbolic tensor of any dtype and broadcast pattern.

    >>> tensor('uint8', (False, True), name='m').type
    TensorType(uint8, col)
    """
    if isinstance(dtype, (tuple, list)) and not broadcastable:  # T.tensor((False,)*3, dtype=..)
        dtype, broadcastable = "floatX", dtype
    return TensorType(dtype, broadcastable, shape=shape)(name)


_PATTERNS: dict[str, tuple[bool, ...]] = {
    "scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
    "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
    "tensor5": (False,) * 5, "tensor6": (False,) * 6, "tensor7": (False,) * 7,
}


def _make_constructor(pattern: tuple[bool, ...], dtype: str | None, kind: str) -> Any:
    def ctor(name: str | None = None, dtype: Any = dtype) -> TensorVariable:
        return TensorType(dtype or "floatX", pattern)(name)
    ctor.__name__ = kind
    ctor.__doc__ = f"A symbolic {kind} ({'floatX' if dtype is None else dtype}, pattern {pattern})."
    return ctor


CONSTRUCTORS: dict[str, Any] = {}
for _kind, _pattern in _PATTERNS.items():
    CONSTRUCTORS[_kind] = _make_constructor(_pattern, None, _kind)
    for _prefix, _dtype in PREFIX_DTYPES.items():
        CONSTRUCTORS[_prefix + _kind] = _make_constructor(_pattern, _dtype, _prefix + _kind)


def _make_plural(single: Any) -> Any:
    def ctor(*names: Any, dtype: Any = None) -> Any:
        if len(names) == 1 and isinstance(names[0], int):  # T.dscalars(3)
            names = (None,) * names[0]
        elif len(names) == 1:  # Theano: one string is a sequence of one-letter names
            names = tuple(names[0])
            if len(names) == 1:
                return single(names[0]) if dtype is None else single(names[0], dtype=dtype)
        return [single(n) if dtype is None else single(n, dtype=dtype) for n in names]
    ctor.__name__ = single.__name__ + "(s)"
    ctor.__doc__ = f"Several {single.__name__} variables at once: ``{single.__name__}s('a', 'b')``."
    return ctor


CONSTRUCTORS.update({(name[:-1] + "ces" if name.endswith("matrix") else name + "s"): _make_plural(fn)
                     for name, fn in list(CONSTRUCTORS.items())})


def _type_for(dtype: str, pattern: tuple[bool, ...]) -> TensorType:
    return TensorType(dtype, pattern)


# Theano's type instances: T.dmatrix is a constructor, T.TensorType(...) a type; these are types.
TYPES: dict[str, TensorType] = {}
for _kind, _pattern in _PATTERNS.items():
    for _prefix, _dtype in PREFIX_DTYPES.items():
        TYPES[f"{_prefix}{_kind}_type"] = _type_for(_dtype, _pattern)


# --------------------------------------------------------------------------------------
# Elementwise functions, one per table row
# --------------------------------------------------------------------------------------

def _make_elemwise(row: Any) -> Any:
    op = Elemwise(row)

    def fn(*inputs: Any) -> Any:
        return op(*inputs)
    fn.__name__ = row.name
    fn.__doc__ = row.doc or f"Elementwise ``{row.name}`` with numpy semantics (see numpy.{getattr(row.numpy, '__name__', row.name)})."
    fn.op = op  # type: ignore[attr-defined]
    return fn


ELEMWISE: dict[str, Any] = {}
for _row in ROWS:
    if _row.name == "cast":
        continue
    ELEMWISE[_row.name] = _make_elemwise(_row)
    for _alias in _row.aliases:
        ELEMWISE[_alias] = ELEMWISE[_row.name]


def _nary(name: str) -> Any:
    """Theano's n-ary ``add``/``mul``: the binary table row folded over two or more terms."""
    op = Elemwise(BY_NAME[name])

    def fn(*terms: Any) -> Any:
        if len(terms) < 2:
            raise TypeError(f"{name} needs at least two inputs")
        out = op(terms[0], terms[1])
        for t in terms[2:]:
            out = op(out, t)
        return out
    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` of two or more tensors, with numpy semantics."
    return fn


add, mul = _nary("add"), _nary("mul")
ELEMWISE["add"], ELEMWISE["mul"] = add, mul


def cast(x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype`` (``'floatX'`` allowed); a no-op when it already is.

    >>> import tensorc.tensor as T
    >>> T.cast(T.ivector(), 'float32').dtype
    'float32'
    """
    x = as_tensor_variable(x)
    dtype = as_dtype_name(dtype)
    if x.dtype == dtype:
        return x
    if x.dtype.startswith("complex") and not dtype.startswith("complex"):
        raise TypeError(f"cast of {x} from {x.dtype} to {dtype} would drop the imaginary part; "
                        f"use T.real / T.imag / T.abs_")
    return Elemwise(BY_NAME["cast"], out_dtype=dtype)(x)


def round(x: Any, mode: str = "half_to_even") -> Any:  # noqa: A001 - Theano's name
    """Round to the nearest integer: ``mode='half_to_even'`` (numpy) or ``'half_away_from_zero'``."""
    if mode not in ("half_to_even", "half_away_from_zero"):
        raise ValueError(f"round: mode must be 'half_to_even' or 'half_away_from_zero', got {mode!r}")
    return ELEMWISE[f"round_{mode}"](x)


def fill(model: Any, value: Any) -> Any:
    """``value`` broadcast to the shape of ``model`` (Theano's ``fill``/``second``)."""
    return ELEMWISE["second"](model, value)


def zeros_like(x: Any, dtype: Any = None) -> Any:
    """Zeros with the shape (and by default the dtype) of ``x``."""
    x = as_tensor_variable(x)
    return fill(x, constant(0, dtype=as_dtype_name(dtype) if dtype is not None else x.dtype))


def ones_like(x: Any, dtype: Any = None) -> Any:
    """Ones with the shape (and by default the dtype) of ``x``."""
    x = as_tensor_variable(x)
    return fill(x, constant(1, dtype=as_dtype_name(dtype) if dtype is not None else x.dtype))


def relu(x: Any, alpha: Any = 0) -> Any:
    """Rectified linear unit; ``alpha`` is the slope for negative inputs (leaky ReLU)."""
    x = as_tensor_variable(x)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return ELEMWISE["maximum"](x, 0)
    if isinstance(alpha, (int, float)):
        return ELEMWISE["switch"](ELEMWISE["gt"](x, 0), x, alpha * x)
    a = as_tensor_variable(alpha)
    return 0.5 * (1 + a) * x + 0.5 * (1 - a) * ELEMWISE["abs_"](x)


def hard_sigmoid(x: Any) -> Any:
    """Theano's piecewise-linear sigmoid: ``clip(0.2*x + 0.5, 0, 1)``."""
    x = as_tensor_variable(x)
    return ELEMWISE["clip"](x * 0.2 + 0.5, 0, 1)


def complex_from_polar(r: Any, theta: Any) -> Any:
    """``r * exp(i*theta)`` as a complex tensor."""
    return ELEMWISE["complex"](r * ELEMWISE["cos"](theta), r * ELEMWISE["sin"](theta))


def dimshuffle(x: Any, *pattern: Any) -> Any:
    x = as_tensor_variable(x)
    return DimShuffle(x.broadcastable, pattern)(x)
