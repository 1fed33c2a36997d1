"""Placeholder gradient values an op's gradient rule may return.

- ``disconnected_type()``: the output does not depend on this input at all.
- ``grad_undefined(op, i, x)``: the gradient exists nowhere (e.g. an integer index).
- ``grad_not_implemented(op, i, x)``: tensorc does not know it (yet).

Using an undefined or unimplemented gradient in a compiled function raises with the
reason; a disconnected one is zero (or ``DisconnectedInputError`` in ``grad``).
"""
from __future__ import annotations

from typing import Any

from tensorc.graph.basic import Variable


class DisconnectedType:
    """Type of a gradient that is structurally absent."""

    def __eq__(self, other: object) -> bool:
        return type(other) is DisconnectedType

    def __hash__(self) -> int:
        return hash(DisconnectedType)

    def __str__(self) -> str:
        return "DisconnectedType"

    __repr__ = __str__

    def __call__(self, name: str | None = None) -> Variable:
        return Variable(self, name=name)


class NullType:
    """Type of a gradient that is undefined or not implemented; ``why`` says which."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __eq__(self, other: object) -> bool:
        return type(other) is NullType and other.why == self.why  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((NullType, self.why))

    def __str__(self) -> str:
        return f"NullType({self.why})"

    __repr__ = __str__

    def __call__(self, name: str | None = None) -> Variable:
        return Variable(self, name=name)


def disconnected_type() -> Variable:
    """A fresh disconnected-gradient marker variable."""
    return DisconnectedType()()


def grad_undefined(op: Any, index: int, x: Variable, comment: str = "") -> Variable:
    """The gradient of ``op`` wrt its input ``index`` is mathematically undefined."""
    return NullType(f"gradient of {op} wrt input {index} ({x}) is undefined. {comment}".strip())()


def grad_not_implemented(op: Any, index: int, x: Variable, comment: str = "") -> Variable:
    """The gradient of ``op`` wrt its input ``index`` is not implemented."""
    return NullType(f"gradient of {op} wrt input {index} ({x}) is not implemented. {comment}".strip())()


def is_disconnected(v: Any) -> bool:
    return isinstance(getattr(v, "type", None), DisconnectedType)


def is_null(v: Any) -> bool:
    return isinstance(getattr(v, "type", None), NullType)
