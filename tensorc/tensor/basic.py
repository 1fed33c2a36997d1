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


#: The variable constructors made so far: the floatX ones (``T.matrix`` ...) at import, the
#: dtype-prefixed ones (``T.fmatrix``) and the plurals (``T.dmatrices``) on first use
#: (:func:`generated`), so ``import tensorc.tensor`` does not build ~200 closures.
CONSTRUCTORS: dict[str, Any] = {kind: _make_constructor(p, None, kind) for kind, p in _PATTERNS.items()}
#: Theano's type instances (``T.fmatrix_type``: T.dmatrix is a constructor, these are types),
#: made on first use too (each new kind of type costs a numpy dtype lookup).
TYPES: dict[str, TensorType] = {}


def _single(name: str) -> tuple[tuple[bool, ...], str | None] | None:
    """``(pattern, dtype)`` of a single-variable constructor name (``'fmatrix'``), else None."""
    pattern = _PATTERNS.get(name)
    if pattern is not None:
        return pattern, None
    dtype, pattern = PREFIX_DTYPES.get(name[:1]), _PATTERNS.get(name[1:])
    return (pattern, dtype) if dtype is not None and pattern is not None else None


def generated(name: str) -> Any:
    """The constructor or type instance ``name`` names (made and remembered on first use),
    or None when ``name`` is none of them.

    >>> generated('dmatrix').__name__, generated('fvectors').__name__, generated('lrow_type')
    ('dmatrix', 'fvector(s)', TensorType(int64, row))
    >>> generated('dmatrices') is generated('dmatrices'), generated('qmatrix')
    (True, None)
    """
    made = CONSTRUCTORS.get(name) or TYPES.get(name)
    if made is not None:
        return made
    if name.endswith("_type"):
        single = _single(name[:-5])
        if single is None or single[1] is None:
            return None
        made = TYPES[name] = TensorType(single[1], single[0])
        return made
    if name.endswith("s"):
        one = name[:-3] + "x" if name.endswith("ces") else name[:-1]
        if _single(one) is None or one + "s" == name and one.endswith("matrix"):
            return None
        made = CONSTRUCTORS[name] = _make_plural(generated(one))
        return made
    single = _single(name)
    if single is None:
        return None
    made = CONSTRUCTORS[name] = _make_constructor(single[0], single[1], name)
    return made


def generated_names() -> list[str]:
    """Every name :func:`generated` answers (for ``dir(T)``)."""
    singles = [prefix + kind for kind in _PATTERNS for prefix in ("", *PREFIX_DTYPES)]
    return (singles + [n[:-1] + "ces" if n.endswith("matrix") else n + "s" for n in singles]
            + [n + "_type" for n in singles if n not in _PATTERNS])


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
