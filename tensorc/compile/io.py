"""``In`` and ``Out``: per-input and per-output options of ``function``.

>>> import tensorc, tensorc.tensor as T
>>> x, y = T.dscalar('x'), T.dscalar('y')
>>> f = tensorc.function([x, tensorc.In(y, value=1.0)], x + y)
>>> float(f(2.0)), float(f(2.0, y=5.0))
(3.0, 7.0)
"""
from __future__ import annotations

from typing import Any

from tensorc.graph.basic import Variable

_NO_VALUE = object()


class In:
    """An input of a compiled function: a ``variable`` plus options.

    ``value``: default used when the caller omits the argument; ``name``: keyword name
    (defaults to the variable's name); ``mutable``: the function may overwrite the
    array passed in (never otherwise); ``strict``: the value must already have the
    exact dtype; ``allow_downcast``: lossy casts allowed (None: Theano's default);
    ``borrow``: accepted for compatibility (inputs are never kept between calls).
    """

    def __init__(self, variable: Variable, name: str | None = None, value: Any = _NO_VALUE,
                 update: Variable | None = None, mutable: bool = False, strict: bool = False,
                 allow_downcast: bool | None = None, autoname: bool = True,
                 implicit: bool = False, borrow: bool = False, shared: bool = False) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"In() expects a symbolic variable, got {type(variable).__name__}")
        self.variable = variable
        self.name = name if name is not None else (variable.name if autoname else None)
        self.value = value
        self.update = update
        self.mutable = mutable
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.implicit = implicit
        self.borrow = borrow

    @property
    def has_default(self) -> bool:
        return self.value is not _NO_VALUE

    def __repr__(self) -> str:
        return f"In({self.variable}{', name=' + repr(self.name) if self.name else ''})"


class Out:
    """An output of a compiled function; ``borrow=True`` allows returning internal memory."""

    def __init__(self, variable: Variable, borrow: bool = False) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"Out() expects a symbolic variable, got {type(variable).__name__}")
        self.variable = variable
        self.borrow = borrow

    def __repr__(self) -> str:
        return f"Out({self.variable}, borrow={self.borrow})"
