"""Shared variables: symbolic variables with a persistent value shared across functions.

>>> import numpy as np, tensorc
>>> w = tensorc.shared(np.zeros(3), name='w')
>>> w.get_value().shape, w.type
((3,), TensorType(float64, vector))
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Variable
from tensorc.graph.type import TensorType
from tensorc.tensor.var import _TensorOps


class Container:
    """A mutable box holding a shared variable's value (functions read and update it)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getstate__(self) -> Any:
        return self.value

    def __setstate__(self, state: Any) -> None:
        self.value = state


class SharedVariable(Variable):
    """A variable whose value lives in ``container`` and persists between calls."""

    def __init__(self, type: Any, value: Any, name: str | None = None, strict: bool = False,
                 allow_downcast: bool | None = None, borrow: bool = False) -> None:
        super().__init__(type, None, None, name)
        value = type.filter(value, strict=strict, allow_downcast=allow_downcast,
                            what=f"shared variable {name or ''}".strip())
        if not borrow and value is not None:
            value = value.copy()
        self.container = Container(value)
        self.default_update: Variable | None = None

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
        """The current value; a copy unless ``borrow=True``."""
        v = self.container.value
        return v if borrow else v.copy()

    def set_value(self, new_value: Any, borrow: bool = False) -> None:
        """Replace the value (checked against the type; copied unless ``borrow=True``)."""
        v = self.type.filter(new_value, what=f"set_value of {self.name or 'shared variable'}")
        if not borrow and v is new_value:
            v = v.copy()
        self.container.value = v

    def zero(self, borrow: bool = False) -> None:
        """Set the value to zeros (in place when ``borrow``; NaN/inf become 0 too)."""
        if borrow:
            self.container.value[...] = 0
        else:
            self.container.value = np.zeros_like(self.container.value)

    @property
    def value(self) -> Any:
        return self.get_value()

    def clone(self) -> "SharedVariable":
        import copy  # not at import: ~1M instructions, used by clone() only
        cp = copy.copy(self)
        cp.tag = dict(self.tag)
        return cp

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["tag"] = {k: v for k, v in self.tag.items() if not k.startswith("_")}
        return state


class TensorSharedVariable(_TensorOps, SharedVariable):
    """A shared tensor: usable in expressions like any tensor variable."""

    __eq__ = object.__eq__
    __hash__ = object.__hash__


def shared(value: Any, name: str | None = None, strict: bool = False,
           allow_downcast: bool | None = None, borrow: bool = False,
           broadcastable: Sequence[bool] | None = None, target: str = "cpu") -> TensorSharedVariable:
    """A shared variable holding ``value`` (copied unless ``borrow=True``).

    Python floats become ``floatX``; the broadcast pattern is all-False unless given
    (as in Theano, so a parameter of length 1 does not silently broadcast).

    >>> s = shared(1.5)
    >>> s.get_value()
    array(1.5)
    """
    if isinstance(value, Variable):
        raise TypeError("shared() takes a value (ndarray, number), not a symbolic variable")
    if isinstance(value, (bool, int, float, complex)) and not isinstance(value, np.generic):
        from tensorc.config import config
        dtype = {bool: "bool", int: "int64", float: config.floatX, complex: "complex128"}[type(value)]
        arr = np.asarray(value, dtype=dtype)
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:
            raise TypeError(f"shared(): cannot convert {type(value).__name__} to an array: {exc}") from None
        if arr.dtype == object or arr.dtype.kind in "SUV":
            raise TypeError(f"shared(): unsupported value of dtype {arr.dtype}")
    if broadcastable is None:
        broadcastable = (False,) * arr.ndim
    ttype = TensorType(arr.dtype.name, broadcastable)
    return TensorSharedVariable(ttype, arr, name=name, strict=strict, allow_downcast=allow_downcast,
                                borrow=borrow or arr is not value)

