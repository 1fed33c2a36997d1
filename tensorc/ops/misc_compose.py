"""Theano ``tensor`` functions built from existing ops (no new op, gradients for free):
``roll``, ``mgrid``/``ogrid``, ``where``, ``isclose``/``allclose``, ``largest``/``smallest``,
``ptp``, ``swapaxes``, ``tri``/``tril``/``triu``, ``horizontal_stack``/``vertical_stack``,
``stacklists``, ``to_one_hot``, ``compress``, ``bartlett``, ``fill_diagonal_offset``,
``floor_div``/``divmod``/``ceil_intdiv``/``iround``, ``default``, ``inverse_permutation``.

>>> import numpy as np
>>> import tensorc.tensor as T
>>> x = T.dvector('x')
>>> roll(x, 1).eval({x: np.array([1.0, 2.0, 3.0])}).tolist()
[3.0, 1.0, 2.0]
>>> T.mgrid[0:2, 0:3][1].eval().tolist()
[[0, 1, 2], [0, 1, 2]]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tensorc.tensor.var import as_tensor_variable, constant


def _T() -> Any:
    import tensorc.tensor as T
    return T


# --------------------------------------------------------------------------------------
# arithmetic helpers
# --------------------------------------------------------------------------------------

def floor_div(a: Any, b: Any) -> Any:
    """``a // b`` (Theano's ``floor_div``, the same as ``int_div``)."""
    return _T().int_div(a, b)


def divmod(a: Any, b: Any) -> tuple[Any, Any]:  # noqa: A001 - Theano's name
    """``(a // b, a % b)`` with Python's sign rules.

    >>> import tensorc.tensor as T
    >>> [v.eval().tolist() for v in divmod(T.constant([7, -7]), 2)]
    [[3, -4], [1, 1]]
    """
    return floor_div(a, b), _T().mod(a, b)


def ceil_intdiv(a: Any, b: Any) -> Any:
    """Integer division rounded up: ``a // b + (a % b != 0)``."""
    T = _T()
    q = T.int_div(a, b)
    return q + T.cast(T.neq(T.mod(a, b), 0), q.dtype)


def iround(a: Any, mode: str = "half_to_even") -> Any:
    """``cast(round(a, mode), 'int64')``."""
    T = _T()
    return T.cast(T.round(a, mode), "int64")


def where(cond: Any, ift: Any, iff: Any) -> Any:
    """Theano's ``where``: the same as ``switch(cond, ift, iff)`` (all three required)."""
    return _T().switch(cond, ift, iff)


def _fold(name: str, op: str, args: tuple) -> Any:
    if not args:
        raise TypeError(f"{name}: needs at least one argument")
    out = as_tensor_variable(args[0])
    for a in args[1:]:
        out = getattr(_T(), op)(out, a)
    return out


def largest(*args: Any) -> Any:
    """Elementwise maximum of all arguments (broadcast together)."""
    return _fold("largest", "maximum", args)


def smallest(*args: Any) -> Any:
    """Elementwise minimum of all arguments (broadcast together)."""
    return _fold("smallest", "minimum", args)


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Any:
    """``|a - b| <= atol + rtol * |b|`` elementwise, infinities equal only to themselves,
    NaN close to NaN only with ``equal_nan`` (``numpy.isclose``); a bool tensor."""
    T = _T()
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    a = a if a.dtype[:1] in "fc" else T.cast(a, "float64")
    b = b if b.dtype[:1] in "fc" else T.cast(b, "float64")
    finite = T.and_(T.invert(T.or_(T.isinf(a), T.isnan(a))), T.invert(T.or_(T.isinf(b), T.isnan(b))))
    close = T.and_(finite, T.le(T.abs_(a - b), atol + rtol * T.abs_(b)))
    close = T.or_(close, T.and_(T.invert(finite), T.eq(a, b)))
    if equal_nan:
        close = T.or_(close, T.and_(T.isnan(a), T.isnan(b)))
    return close


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Any:
    """True when every element of ``a`` is close to ``b`` (see :func:`isclose`)."""
    return _T().all(isclose(a, b, rtol, atol, equal_nan))


# --------------------------------------------------------------------------------------
# shape-level helpers
# --------------------------------------------------------------------------------------

def roll(x: Any, shift: Any, axis: int | None = None) -> Any:
    """Elements of ``x`` shifted by ``shift`` (int or symbolic scalar) along ``axis``,
    wrapping around (``numpy.roll``); axis None rolls the flattened tensor."""
    T = _T()
    x = as_tensor_variable(x)
    if axis is None:
        if x.ndim == 0:
            return x
        return roll(x.flatten(), shift, 0).reshape(x.shape, ndim=x.ndim)
    from tensorc.ops.shape import normalize_axes
    ax = normalize_axes(axis, x.ndim, "roll: axis")[0]
    n = x.shape[ax]
    s = T.switch(T.eq(n, 0), 0, T.mod(as_tensor_variable(shift), T.maximum(n, 1)))
    cut = n - s
    head = (slice(None),) * ax
    return T.concatenate([x[head + (slice(cut, None),)], x[head + (slice(None, cut),)]], axis=ax)


def swapaxes(y: Any, axis1: int, axis2: int) -> Any:
    """``y`` with axes ``axis1`` and ``axis2`` exchanged."""
    y = as_tensor_variable(y)
    from tensorc.ops.shape import normalize_axes
    a1, a2 = normalize_axes([axis1, axis2], y.ndim, "swapaxes: axis") if axis1 != axis2 else \
        (normalize_axes(axis1, y.ndim, "swapaxes: axis")[0],) * 2
    perm = list(range(y.ndim))
    perm[a1], perm[a2] = perm[a2], perm[a1]
    return y.dimshuffle(perm)


def ptp(a: Any, axis: Any = None) -> Any:
    """Range (max - min) along ``axis`` (None: all axes)."""
    T = _T()
    return T.max(a, axis=axis) - T.min(a, axis=axis)


def horizontal_stack(*args: Any) -> Any:
    """Matrices joined side by side (``numpy.hstack`` for 2-d inputs)."""
    xs = [as_tensor_variable(a) for a in args]
    for k, x in enumerate(xs):
        if x.ndim != 2:
            raise TypeError(f"horizontal_stack: argument {k} must be a matrix, got ndim={x.ndim}")
    return _T().concatenate(xs, axis=1)


def vertical_stack(*args: Any) -> Any:
    """Matrices stacked on top of each other (``numpy.vstack`` for 2-d inputs)."""
    xs = [as_tensor_variable(a) for a in args]
    for k, x in enumerate(xs):
        if x.ndim != 2:
            raise TypeError(f"vertical_stack: argument {k} must be a matrix, got ndim={x.ndim}")
    return _T().concatenate(xs, axis=0)


def stacklists(arg: Any) -> Any:
    """Nested lists of tensors stacked recursively into one tensor.

    >>> import tensorc.tensor as T
    >>> a, b, c, d = T.scalars('abcd')
    >>> stacklists([[a, b], [c, d]]).ndim
    2
    """
    if isinstance(arg, (list, tuple)):
        return _T().stack([stacklists(a) for a in arg])
    return as_tensor_variable(arg)


def default(x: Any, default: Any) -> Any:
    """``x`` unless it is None, then ``default``; both must have the same type."""
    if x is None:
        return as_tensor_variable(default)
    x, d = as_tensor_variable(x), as_tensor_variable(default)
    if x.type != d.type:
        raise TypeError(f"default: x and default must have the same type, got {x.type} and {d.type}")
    return x


def compress(condition: Any, x: Any, axis: int | None = None) -> Any:
    """Slices of ``x`` along ``axis`` where ``condition`` is non-zero (``numpy.compress``)."""
    return _T().take(x, flatnonzero_of(condition), axis=axis)


def flatnonzero_of(condition: Any) -> Any:
    from tensorc.ops.misc import flatnonzero
    return flatnonzero(condition)


def to_one_hot(y: Any, nb_class: int, dtype: Any = None) -> Any:
    """One-hot rows for the integer vector ``y`` (dtype defaults to floatX).

    >>> import tensorc.tensor as T
    >>> to_one_hot(T.constant([1, 0]), 3).eval().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    T = _T()
    y = as_tensor_variable(y)
    if y.ndim != 1 or y.dtype[:1] not in "iub":
        raise TypeError(f"to_one_hot: y must be an integer vector, got {y.dtype} ndim={y.ndim}")
    hot = T.eq(y.dimshuffle(0, "x"), T.arange(nb_class).dimshuffle("x", 0))
    return T.cast(hot, dtype or "floatX")


def inverse_permutation(perm: Any) -> Any:
    """The inverse of the permutation(s) in the last axis of the int tensor ``perm``."""
    perm = as_tensor_variable(perm)
    if perm.dtype[:1] not in "iu":
        raise TypeError(f"inverse_permutation: perm must hold integers, got {perm.dtype}")
    return _T().argsort(perm, axis=-1)


# --------------------------------------------------------------------------------------
# grids and triangles
# --------------------------------------------------------------------------------------

class _Grid:
    """``mgrid[...]`` / ``ogrid[...]``: index with slices to get (dense/open) mesh grids."""

    def __init__(self, sparse: bool) -> None:
        self.sparse = sparse

    def __getitem__(self, key: Any) -> list[Any]:
        T = _T()
        key = key if isinstance(key, tuple) else (key,)
        ranges = []
        for k, sl in enumerate(key):
            if not isinstance(sl, slice) or sl.stop is None:
                raise ValueError(f"{'ogrid' if self.sparse else 'mgrid'}: entry {k} must be a "
                                 f"slice with a stop, got {sl!r}")
            if isinstance(sl.step, complex):
                raise ValueError("mgrid/ogrid: complex steps (point counts) are not supported")
            ranges.append(T.arange(0 if sl.start is None else sl.start, sl.stop,
                                   1 if sl.step is None else sl.step))
        nd = len(ranges)
        opened = [r.dimshuffle(*["x" if d != k else 0 for d in range(nd)]) for k, r in enumerate(ranges)]
        if self.sparse:
            return opened
        dims = [r.shape[0] for r in ranges]
        return [T.alloc(o, *dims) for o in opened]


mgrid = _Grid(sparse=False)
ogrid = _Grid(sparse=True)


def tri(N: Any, M: Any = None, k: Any = 0, dtype: Any = None) -> Any:
    """``N x M`` matrix with ones at and below the ``k``-th diagonal (``numpy.tri``)."""
    T = _T()
    M = N if M is None else M
    rows = T.arange(N).dimshuffle(0, "x")
    cols = T.arange(M).dimshuffle("x", 0)
    return T.cast(T.ge(rows + k, cols), dtype or "floatX")


def tril(m: Any, k: Any = 0) -> Any:
    """Lower triangle of the matrix ``m`` (zeros above the ``k``-th diagonal)."""
    m = as_tensor_variable(m)
    if m.ndim < 2:
        raise ValueError(f"tril: m must have at least 2 dimensions, got ndim={m.ndim}")
    return m * tri(m.shape[-2], m.shape[-1], k=k, dtype=m.dtype)


def triu(m: Any, k: Any = 0) -> Any:
    """Upper triangle of the matrix ``m`` (zeros below the ``k``-th diagonal)."""
    m = as_tensor_variable(m)
    if m.ndim < 2:
        raise ValueError(f"triu: m must have at least 2 dimensions, got ndim={m.ndim}")
    return m * (1 - tri(m.shape[-2], m.shape[-1], k=k - 1, dtype=m.dtype))


def bartlett(M: Any) -> Any:
    """The Bartlett (triangular) window of ``M`` points (``numpy.bartlett``), floatX."""
    T = _T()
    M = as_tensor_variable(M)
    if M.ndim != 0 or M.dtype[:1] not in "iu":
        raise TypeError(f"bartlett: M must be an integer scalar, got {M.dtype} ndim={M.ndim}")
    n = T.cast(T.arange(T.maximum(M, 0)), "floatX")
    half = T.cast(T.maximum(M - 1, 1), "floatX") / 2.0
    return T.switch(T.eq(M, 1), T.ones_like(n), 1 - T.abs_(n - half) / half)


def fill_diagonal_offset(a: Any, val: Any, offset: Any) -> Any:
    """``a`` with its ``offset``-th diagonal set to the scalar ``val`` (gradient to both)."""
    T = _T()
    a, val = as_tensor_variable(a), as_tensor_variable(val)
    if a.ndim != 2 or val.ndim != 0:
        raise TypeError(f"fill_diagonal_offset: a must be a matrix and val a scalar, got "
                        f"ndim {a.ndim} and {val.ndim}")
    mask = T.eq(T.arange(a.shape[0]).dimshuffle(0, "x") + offset, T.arange(a.shape[1]).dimshuffle("x", 0))
    return T.switch(mask, T.cast(val, a.dtype), a)


# --------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------

class NotScalarConstantError(Exception):
    """Raised by :func:`get_scalar_constant_value` when the value is not a known constant."""


def get_scalar_constant_value(v: Any, elemwise: bool = True, only_process_constants: bool = False) -> np.ndarray:
    """The constant scalar value of ``v`` (a number, a constant whose elements are all
    equal, or simple ops of constants), else :class:`NotScalarConstantError`.

    >>> import tensorc.tensor as T
    >>> int(get_scalar_constant_value(T.constant(3) * 2))
    6
    """
    from tensorc.graph.basic import Constant
    if isinstance(v, (int, float, complex, np.number, np.bool_)):
        return np.asarray(v)
    if isinstance(v, np.ndarray):
        return _unique_value(v, v)
    if isinstance(v, Constant):
        return _unique_value(np.asarray(v.data), v)
    owner = getattr(v, "owner", None)
    if owner is None or only_process_constants:
        raise NotScalarConstantError(f"{v} is not a constant")
    op = owner.op
    name = type(op).__name__
    if name in ("DimShuffle", "Rebroadcast", "SpecifyShape", "ZeroGrad", "DisconnectedGrad",
                "ConsiderConstant") or (name == "Elemwise" and op.row.name in ("identity", "second")):
        src = owner.inputs[-1] if name == "Elemwise" and op.row.name == "second" else owner.inputs[0]
        return get_scalar_constant_value(src, elemwise, only_process_constants)
    if name == "Shape_i" and owner.inputs[0].broadcastable[op.i]:
        return np.asarray(1, dtype="int64")
    if name == "Subtensor" and len(owner.inputs) == 1 and len(op.idx_list) == 1 \
            and isinstance(op.idx_list[0], (int, np.integer)):
        src = owner.inputs[0]  # x.shape[k] of a broadcastable dimension k, or of a constant
        if src.owner is not None and type(src.owner.op).__name__ == "Shape" \
                and src.owner.inputs[0].broadcastable[op.idx_list[0]]:
            return np.asarray(1, dtype="int64")
        if isinstance(src, Constant):
            return np.asarray(np.asarray(src.data)[op.idx_list[0]])
    if name == "Elemwise" and elemwise:
        vals = [get_scalar_constant_value(i, elemwise) for i in owner.inputs]
        return np.asarray(op.perform(owner, vals)[0])
    raise NotScalarConstantError(f"{v} is not a constant (computed by {op})")


def _unique_value(data: np.ndarray, v: Any) -> np.ndarray:
    flat = data.ravel()
    if flat.size == 0 or not (flat == flat[0]).all():
        raise NotScalarConstantError(f"{v} is not a scalar constant (shape {data.shape})")
    return np.asarray(flat[0])


def extract_constant(x: Any, elemwise: bool = True, only_process_constants: bool = False) -> Any:
    """``x`` as a scalar constant when :func:`get_scalar_constant_value` finds one, else ``x``."""
    try:
        value = get_scalar_constant_value(x, elemwise, only_process_constants)
    except NotScalarConstantError:
        return x
    return constant(value, dtype=value.dtype)


def _make_convert(dtype: str) -> Any:
    def convert(x: Any) -> Any:
        return _T().cast(x, dtype)
    convert.__name__ = f"convert_to_{dtype}"
    convert.__doc__ = f"``cast(x, '{dtype}')``."
    return convert


CONVERTERS: dict[str, Any] = {f"convert_to_{d}": _make_convert(d) for d in (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "complex64", "complex128")}
globals().update(CONVERTERS)  # ``T.convert_to_int8`` ... are imported from here by name

float_dtypes = ("float16", "float32", "float64")
complex_dtypes = ("complex64", "complex128")
int_dtypes = ("int8", "int16", "int32", "int64")
uint_dtypes = ("uint8", "uint16", "uint32", "uint64")
discrete_dtypes = int_dtypes + uint_dtypes
continuous_dtypes = float_dtypes + complex_dtypes
all_dtypes = discrete_dtypes + continuous_dtypes
