"""Types of graph variables: ``TensorType(dtype, broadcastable)`` and dtype helpers.

>>> t = TensorType('float32', (False, True))
>>> t.ndim, t.dtype
(2, 'float32')
>>> t.filter([[1.0], [2.0]]).dtype
dtype('float32')
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

#: Theano's one-letter dtype prefixes for the constructors (``T.fmatrix`` ...).
PREFIX_DTYPES: dict[str, str] = {
    "b": "int8", "w": "int16", "i": "int32", "l": "int64",
    "f": "float32", "d": "float64", "c": "complex64", "z": "complex128",
}

ALL_DTYPES: tuple[str, ...] = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)
INT_DTYPES = tuple(d for d in ALL_DTYPES if d.startswith(("int", "uint")))
FLOAT_DTYPES = ("float16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")
DISCRETE_DTYPES = ("bool",) + INT_DTYPES
CONTINUOUS_DTYPES = FLOAT_DTYPES + COMPLEX_DTYPES


def as_dtype_name(dtype: Any) -> str:
    """Normalise ``'floatX'``, numpy dtypes and python types to a dtype name.

    >>> as_dtype_name('float32'), as_dtype_name(np.int64), as_dtype_name(np.dtype('bool'))
    ('float32', 'int64', 'bool')
    """
    if type(dtype) is str and dtype in ALL_DTYPES:  # the common case: no numpy call (~3 us)
        return dtype
    if dtype == "floatX":
        from tensorc.config import config
        return config.floatX
    name = np.dtype(dtype).name
    if name not in ALL_DTYPES:
        raise TypeError(f"unsupported dtype {name!r}; supported: {', '.join(ALL_DTYPES)}")
    return name


def upcast(*dtypes: str) -> str:
    """numpy's promotion of several dtype names (``upcast('int8', 'float32') == 'float32'``)."""
    return np.result_type(*dtypes).name


def is_safe_cast(src: str, dst: str) -> bool:
    """True when every value of ``src`` is exactly representable in ``dst``."""
    return bool(np.can_cast(src, dst, casting="safe"))


#: (dtype, broadcastable) -> (broadcastable, hash, numpy dtype, broadcastable dims, python
#: scalar types converted without checks); one entry per kind of type a process has seen
_FACTS: dict[tuple[str, Any], tuple] = {}
_FACTS_MAX = 4096


#: python scalar types a type's ``filter`` converts without checks (always exact or
#: allowed, as in Theano)
_PY_FAST: dict[str, tuple[type, ...]] = {"float64": (float, int), "float32": (float,), "int64": (int,),
                                         "complex128": (complex, float, int)}


def _type_facts(dtype: str, bcast: tuple[bool, ...]) -> tuple:
    facts = (bcast, hash((TensorType, dtype, bcast)), np.dtype(dtype),
             tuple(d for d, b in enumerate(bcast) if b), _PY_FAST.get(dtype, ()))
    if len(_FACTS) >= _FACTS_MAX:
        _FACTS.clear()
    _FACTS[(dtype, bcast)] = facts
    return facts


class TensorType:
    """The type of a tensor variable: a dtype and a static broadcast pattern.

    A dimension whose ``broadcastable`` entry is True always has length 1 and
    broadcasts against any length; the others must match exactly at run time.
    """

    __slots__ = ("dtype", "broadcastable", "name", "_hash", "_dt", "_py_fast", "_bdims")

    def __init__(self, dtype: Any, broadcastable: Sequence[bool] = (), name: str | None = None,
                 shape: Sequence[int | None] | None = None) -> None:
        if shape is not None:  # PyTensor-style spelling: 1 means broadcastable
            broadcastable = tuple(s == 1 for s in shape)
        self.dtype: str = as_dtype_name(dtype)
        self.name = name
        try:  # graphs make many types of the same few kinds: their derived facts are shared
            facts = _FACTS[(self.dtype, broadcastable)]
        except (KeyError, TypeError):  # new, or an unhashable (list) pattern
            facts = _type_facts(self.dtype, tuple(bool(b) for b in broadcastable))
        self.broadcastable: tuple[bool, ...] = facts[0]
        self._hash, self._dt, self._bdims, self._py_fast = facts[1:]

    def __reduce__(self) -> tuple:
        # rebuilt by the constructor: the cached hash (of the class object and strings) is
        # per process and must not travel in a pickle (the function cache stores graphs)
        return (TensorType, (self.dtype, self.broadcastable, self.name))

    # -- identity ---------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.dtype == self.dtype  # type: ignore[attr-defined]
                and other.broadcastable == self.broadcastable)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"TensorType({self.dtype}, {self.pattern_str()})"

    __str__ = __repr__

    def pattern_str(self) -> str:
        named = {(): "scalar", (False,): "vector", (False, False): "matrix",
                 (True, False): "row", (False, True): "col"}
        return named.get(self.broadcastable, str(self.broadcastable))

    @property
    def ndim(self) -> int:
        return len(self.broadcastable)

    @property
    def numpy_dtype(self) -> np.dtype:
        return self._dt

    def clone(self, dtype: Any = None, broadcastable: Sequence[bool] | None = None) -> "TensorType":
        return TensorType(self.dtype if dtype is None else dtype,
                          self.broadcastable if broadcastable is None else broadcastable)

    # -- making variables -------------------------------------------------------------
    def __call__(self, name: str | None = None) -> Any:
        """A new symbolic variable of this type (``TensorType('float64', (False,))('x')``)."""
        from tensorc.tensor.var import TensorVariable
        return TensorVariable(self, name=name)

    def make_variable(self, name: str | None = None) -> Any:
        return self(name)

    # -- values -----------------------------------------------------------------------
    def filter(self, value: Any, strict: bool = False, allow_downcast: bool | None = None,
               what: str = "input") -> np.ndarray:
        """Convert ``value`` to an ndarray of this type, or raise a clear error.

        ``strict``: the value must already be an ndarray of exactly this dtype.
        ``allow_downcast``: True allows lossy casts; None (Theano's default) allows
        only lossless ones and python floats into float32; False only safe casts.
        """
        if type(value) is np.ndarray and value.dtype is self._dt:
            arr = value
        elif type(value) in self._py_fast and not strict and (type(value) is not int or
                                                               -2**53 <= value <= 2**53):
            arr = np.asarray(value, dtype=self._dt)
        elif strict:
            raise TypeError(f"{what}: expected an ndarray of dtype {self.dtype}, got "
                            f"{type(value).__name__}"
                            + (f" of dtype {value.dtype}" if hasattr(value, "dtype") else ""))
        else:
            arr = self._convert(value, allow_downcast, what)
        if arr.ndim != self.ndim:
            raise TypeError(f"{what}: wrong number of dimensions: expected {self.ndim} "
                            f"({self}), got {arr.ndim} with shape {arr.shape}")
        for dim in self._bdims:
            if arr.shape[dim] != 1:
                raise ValueError(f"{what}: dimension {dim} is broadcastable in {self} and must "
                                 f"have length 1, got shape {arr.shape}")
        return arr

    def _convert(self, value: Any, allow_downcast: bool | None, what: str) -> np.ndarray:
        from_python = not isinstance(value, (np.ndarray, np.generic))
        try:
            raw = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{what}: cannot convert {type(value).__name__} to an array: {exc}") from None
        if raw.dtype == object or raw.dtype.kind in "SUV":
            raise TypeError(f"{what}: expected numeric data of dtype {self.dtype}, "
                            f"got dtype {raw.dtype}")
        src = raw.dtype.name
        if src == self.dtype:
            return raw if raw.dtype.isnative else raw.astype(self._dt)  # e.g. big-endian data
        if allow_downcast or is_safe_cast(src, self.dtype):
            return raw.astype(self.dtype)
        if allow_downcast is None and from_python:
            cast = raw.astype(self.dtype)
            lossless = cast.astype(src) if raw.dtype.kind != "c" or cast.dtype.kind == "c" else None
            with np.errstate(invalid="ignore"):
                if lossless is not None and np.array_equal(lossless, raw, equal_nan=raw.dtype.kind in "fc"):
                    return cast
            if raw.dtype.kind == "f" and self.dtype in ("float32", "float16"):
                return cast  # python floats into floatX, as Theano allows
        raise TypeError(
            f"{what}: cannot safely cast data of dtype {src} to the input's dtype {self.dtype} "
            f"({self}); cast it yourself or pass allow_input_downcast=True")

    def value_zeros(self, shape: Sequence[int]) -> np.ndarray:
        return np.zeros(shape, dtype=self.dtype)

    def is_valid_value(self, value: Any) -> bool:
        try:
            self.filter(value, strict=True)
            return True
        except (TypeError, ValueError):
            return False


# The kinds of types nearly every graph makes (float scalars, vectors, rows, columns and
# matrices; int64 scalars for shapes and indices) have their facts made with the module
# (~30k instructions each), not at the cost of the first graph built.
for _dtype in ("float64", "float32"):
    for _bcast in ((), (False,), (True, False), (False, True), (False, False)):
        _type_facts(_dtype, _bcast)
_type_facts("int64", ())
del _dtype, _bcast
