"""Tensor variables: ``TensorVariable`` (operators and methods), ``TensorConstant``,
``as_tensor_variable`` and ``constant``.

>>> import tensorc.tensor as T
>>> x = T.matrix('x')
>>> (x.T + 1).sum(axis=0).ndim
1
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Constant, Variable
from tensorc.graph.type import TensorType, as_dtype_name


def _T() -> Any:
    import tensorc.tensor as T
    return T


class _TensorOps:
    """Operators and methods shared by every tensor variable (Theano's ``_tensor_py_operators``)."""

    type: TensorType
    __array_priority__ = 1000  # numpy defers to us in ``ndarray + variable``

    # -- type facts ---------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self.type.broadcastable

    @property
    def shape(self) -> Any:
        return _T().shape(self)

    @property
    def size(self) -> Any:
        return _T().prod(self.shape) if self.ndim else _T().constant(1, dtype="int64")

    @property
    def T(self) -> Any:
        return _T().transpose(self)

    def __bool__(self) -> bool:
        raise TypeError("a symbolic variable has no truth value; use T.switch, T.and_ or ifelse")

    def __len__(self) -> int:
        raise TypeError("len() of a symbolic variable is unknown; use x.shape[0]")

    def __iter__(self) -> Any:
        """Iterate over a vector whose length is known statically (``n, m = x.shape``)."""
        if self.ndim == 0:
            raise TypeError("cannot iterate over a 0-d tensor")
        try:
            n = _T().get_vector_length(self)
        except ValueError:
            raise TypeError("cannot iterate over a symbolic tensor of unknown length; "
                            "index it with x[i] or use scan (maybe you used the builtin "
                            "sum/max instead of T.sum/T.max?)") from None
        return iter([self[i] for i in range(n)])

    # -- arithmetic -------------------------------------------------------------------
    def __add__(self, o): return _T().add(self, o)
    def __radd__(self, o): return _T().add(o, self)
    def __sub__(self, o): return _T().sub(self, o)
    def __rsub__(self, o): return _T().sub(o, self)
    def __mul__(self, o): return _T().mul(self, o)
    def __rmul__(self, o): return _T().mul(o, self)
    def __truediv__(self, o): return _T().true_div(self, o)
    def __rtruediv__(self, o): return _T().true_div(o, self)
    def __floordiv__(self, o): return _T().int_div(self, o)
    def __rfloordiv__(self, o): return _T().int_div(o, self)
    def __mod__(self, o): return _T().mod(self, o)
    def __rmod__(self, o): return _T().mod(o, self)
    def __pow__(self, o): return _T().pow(self, o)
    def __rpow__(self, o): return _T().pow(o, self)
    def __neg__(self): return _T().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _T().abs_(self)
    def __lt__(self, o): return _T().lt(self, o)
    def __le__(self, o): return _T().le(self, o)
    def __gt__(self, o): return _T().gt(self, o)
    def __ge__(self, o): return _T().ge(self, o)
    def __and__(self, o): return _T().and_(self, o)
    def __rand__(self, o): return _T().and_(o, self)
    def __or__(self, o): return _T().or_(self, o)
    def __ror__(self, o): return _T().or_(o, self)
    def __xor__(self, o): return _T().xor(self, o)
    def __rxor__(self, o): return _T().xor(o, self)
    def __invert__(self): return _T().invert(self)
    def __matmul__(self, o): return _T().dot(self, o)
    def __divmod__(self, o): return _T().divmod(self, o)
    def __rdivmod__(self, o): return _T().divmod(o, self)
    def __dot__(self, o): return _T().dot(self, o)
    def __rdot__(self, o): return _T().dot(o, self)
    def __rmatmul__(self, o): return _T().dot(o, self)
    # ``==`` keeps identity semantics, as in Theano (variables are dict keys); use T.eq.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __getitem__(self, index: Any) -> Any:
        return _T().subtensor.getitem(self, index)

    # -- methods ----------------------------------------------------------------------
    def astype(self, dtype: Any) -> Any: return _T().cast(self, dtype)
    def dimshuffle(self, *pattern: Any) -> Any:
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return _T().DimShuffle(self.broadcastable, pattern)(self)
    def reshape(self, shape: Any, ndim: int | None = None) -> Any:
        return _T().reshape(self, shape, ndim=ndim)
    def flatten(self, ndim: int = 1) -> Any: return _T().flatten(self, ndim)
    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return _T().transpose(self, axes or None)
    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None) -> Any:
        return _T().sum(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)
    def prod(self, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None) -> Any:
        return _T().prod(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)
    def mean(self, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None) -> Any:
        return _T().mean(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)
    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, corrected: bool = False) -> Any:
        return _T().var(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)
    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, corrected: bool = False) -> Any:
        return _T().std(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)
    def max(self, axis: Any = None, keepdims: bool = False) -> Any: return _T().max(self, axis=axis, keepdims=keepdims)
    def min(self, axis: Any = None, keepdims: bool = False) -> Any: return _T().min(self, axis=axis, keepdims=keepdims)
    def argmax(self, axis: Any = None, keepdims: bool = False) -> Any: return _T().argmax(self, axis=axis, keepdims=keepdims)
    def argmin(self, axis: Any = None, keepdims: bool = False) -> Any: return _T().argmin(self, axis=axis, keepdims=keepdims)
    def all(self, axis: Any = None, keepdims: bool = False) -> Any: return _T().all(self, axis=axis, keepdims=keepdims)
    def any(self, axis: Any = None, keepdims: bool = False) -> Any: return _T().any(self, axis=axis, keepdims=keepdims)
    def clip(self, a_min: Any, a_max: Any) -> Any: return _T().clip(self, a_min, a_max)
    def dot(self, other: Any) -> Any: return _T().dot(self, other)
    def round(self, mode: str = "half_to_even") -> Any: return _T().round(self, mode)
    def sort(self, axis: int = -1, kind: str = "quicksort", order: Any = None) -> Any:
        return _T().sort(self, axis, kind, order)
    def argsort(self, axis: int = -1, kind: str = "quicksort", order: Any = None) -> Any:
        return _T().argsort(self, axis, kind, order)
    def squeeze(self) -> Any: return _T().squeeze(self)
    def repeat(self, repeats: Any, axis: int | None = None) -> Any: return _T().repeat(self, repeats, axis)
    def cumsum(self, axis: int | None = None) -> Any: return _T().extra_ops.cumsum(self, axis)
    def cumprod(self, axis: int | None = None) -> Any: return _T().extra_ops.cumprod(self, axis)
    def norm(self, L: int, axis: Any = None, keepdims: bool = False) -> Any:
        T = _T()
        if L == 1:
            return T.sum(T.abs_(self), axis=axis, keepdims=keepdims)
        if L == 2:
            return T.sqrt(T.sum(T.sqr(self), axis=axis, keepdims=keepdims))
        return T.sum(T.abs_(self) ** L, axis=axis, keepdims=keepdims) ** (1.0 / L)
    def nonzero(self, return_matrix: bool = False) -> Any: return _T().nonzero(self, return_matrix)
    def copy(self, name: str | None = None) -> Any:
        out = _T().tensor_copy(self)
        out.name = name
        return out
    def conj(self) -> Any: return _T().conj(self)
    @property
    def real(self) -> Any: return _T().real(self)
    @property
    def imag(self) -> Any: return _T().imag(self)
    def zeros_like(self, dtype: Any = None) -> Any: return _T().zeros_like(self, dtype)
    def ones_like(self, dtype: Any = None) -> Any: return _T().ones_like(self, dtype)
    def fill(self, value: Any) -> Any: return _T().fill(self, value)
    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return _T().diagonal(self, offset, axis1, axis2)
    def trace(self) -> Any: return _T().trace(self)
    def take(self, indices: Any, axis: int | None = None, mode: str = "raise") -> Any:
        return _T().take(self, indices, axis, mode)
    # -- Theano 1.0 methods added by the API audit ---------------------------------------
    def ravel(self) -> Any: return _T().flatten(self)
    def nonzero_values(self) -> Any: return _T().nonzero_values(self)
    conjugate = conj
    def get_scalar_constant_value(self) -> Any: return _T().get_scalar_constant_value(self)
    def ptp(self, axis: Any = None) -> Any: return _T().ptp(self, axis)
    def swapaxes(self, axis1: int, axis2: int) -> Any: return _T().swapaxes(self, axis1, axis2)
    def choose(self, choices: Any, out: Any = None, mode: str = "raise") -> Any:
        """numpy's ``a.choose(choices)``: ``self`` holds the indices."""
        return _T().choose(self, choices, out=out, mode=mode)
    def compress(self, a: Any, axis: int | None = None) -> Any:
        """Theano's ``x.compress(a, axis)`` = ``extra_ops.compress(x, a, axis)``: ``self``
        is the *condition* and ``a`` the tensor whose slices are kept (Theano's order)."""
        return _T().extra_ops.compress(self, a, axis=axis)
    def searchsorted(self, v: Any, side: str = "left", sorter: Any = None) -> Any:
        return _T().extra_ops.searchsorted(self, v, side, sorter)
    def transfer(self, target: str) -> Any:
        if target != "cpu":
            raise ValueError(f"transfer: only target 'cpu' exists in tensorc, got {target!r}")
        return self
    # elementwise methods (Theano's _tensor_py_operators has these)
    def arccos(self) -> Any: return _T().arccos(self)
    def arccosh(self) -> Any: return _T().arccosh(self)
    def arcsin(self) -> Any: return _T().arcsin(self)
    def arcsinh(self) -> Any: return _T().arcsinh(self)
    def arctan(self) -> Any: return _T().arctan(self)
    def arctanh(self) -> Any: return _T().arctanh(self)
    def ceil(self) -> Any: return _T().ceil(self)
    def cos(self) -> Any: return _T().cos(self)
    def cosh(self) -> Any: return _T().cosh(self)
    def deg2rad(self) -> Any: return _T().deg2rad(self)
    def exp(self) -> Any: return _T().exp(self)
    def exp2(self) -> Any: return _T().exp2(self)
    def expm1(self) -> Any: return _T().expm1(self)
    def floor(self) -> Any: return _T().floor(self)
    def log(self) -> Any: return _T().log(self)
    def log10(self) -> Any: return _T().log10(self)
    def log1p(self) -> Any: return _T().log1p(self)
    def log2(self) -> Any: return _T().log2(self)
    def rad2deg(self) -> Any: return _T().rad2deg(self)
    def sin(self) -> Any: return _T().sin(self)
    def sinh(self) -> Any: return _T().sinh(self)
    def sqrt(self) -> Any: return _T().sqrt(self)
    def tan(self) -> Any: return _T().tan(self)
    def tanh(self) -> Any: return _T().tanh(self)
    def trunc(self) -> Any: return _T().trunc(self)


class TensorVariable(_TensorOps, Variable):
    """A symbolic tensor (the result of ``T.matrix()``, or of any op)."""


class TensorConstant(_TensorOps, Constant):
    """A tensor with a fixed value in ``.data`` (an ndarray).

    ``weak`` marks constants made from Python scalars: in elementwise promotion they
    act like numpy's Python scalars (``float32_vector * 2.0`` stays float32).
    """

    def __init__(self, type: TensorType, data: Any, name: str | None = None, weak: bool = False) -> None:
        Constant.__init__(self, type, np.asarray(data, dtype=type.dtype), name)
        self.data.setflags(write=False)
        self.weak = weak

    def clone(self) -> "TensorConstant":
        return TensorConstant(self.type, self.data, self.name, self.weak)

    def signature(self) -> tuple:
        return (self.type, self.data.shape, self.data.tobytes())

    def value(self) -> np.ndarray:
        return self.data

    __str__ = Constant.__str__  # type: ignore[assignment]
    __eq__ = object.__eq__
    __hash__ = object.__hash__


def constant(value: Any, name: str | None = None, ndim: int | None = None, dtype: Any = None) -> TensorConstant:
    """A constant tensor.  Python scalars without ``dtype`` are *weak* (numpy rules).

    >>> constant(2.0).dtype, constant([1, 2], dtype='int32').broadcastable
    ('float64', (False,))
    """
    if isinstance(value, TensorConstant) and dtype is None and ndim is None:
        return value
    weak = dtype is None and isinstance(value, (bool, int, float, complex)) and not isinstance(value, np.generic)
    if dtype is None:
        arr = np.asarray(value)
        if arr.dtype.kind in "SUO":
            raise TypeError(f"cannot make a tensor constant from {type(value).__name__} {value!r}")
        if arr.dtype == np.float16:
            arr = arr.astype("float32")
    else:
        try:
            arr = np.asarray(value, dtype=as_dtype_name(dtype))
        except OverflowError:
            raise TypeError(f"constant {value!r} does not fit in dtype {as_dtype_name(dtype)}") from None
        if np.isscalar(value) and not np.array_equal(arr, np.asarray(value), equal_nan=True) \
                and arr.dtype.kind not in "fc":
            raise TypeError(f"constant {value!r} does not fit in dtype {arr.dtype}")
    if ndim is not None:
        if arr.ndim > ndim:
            raise ValueError(f"constant has {arr.ndim} dimensions, more than ndim={ndim}")
        arr = arr.reshape((1,) * (ndim - arr.ndim) + arr.shape)
    bcast = tuple(n == 1 for n in arr.shape)
    return TensorConstant(TensorType(arr.dtype.name, bcast), arr, name=name, weak=weak)


def as_tensor_variable(x: Any, name: str | None = None, ndim: int | None = None,
                       dtype: Any = None) -> Any:
    """Wrap ``x`` (variable, shared variable, number, list, ndarray) as a tensor variable."""
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"expected a tensor variable, got {x} of type {x.type}")
        if ndim is not None and x.ndim != ndim:
            if x.ndim > ndim:
                raise ValueError(f"{x} has {x.ndim} dimensions, expected {ndim}")
            return x.dimshuffle(*(["x"] * (ndim - x.ndim) + list(range(x.ndim))))
        return x
    if hasattr(x, "owner") and hasattr(x, "type"):
        raise TypeError(f"cannot convert {x!r} to a tensor variable")
    if isinstance(x, (list, tuple)) and any(isinstance(e, Variable) for e in _flatten(x)):
        return _T().stack([as_tensor_variable(e) for e in x])
    return constant(x, name=name, ndim=ndim, dtype=dtype)


def _flatten(seq: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for e in seq:
        out.extend(_flatten(e) if isinstance(e, (list, tuple)) else [e])
    return out
