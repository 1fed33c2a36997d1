"""``Print``: an identity op that prints its input's value when the graph runs (Theano's
``theano.printing.Print``).

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x = T.dvector('x')
>>> f = tensorc.function([x], Print('hello world')(x) * 2, mode='FAST_COMPILE')
>>> f(np.array([1.0, 2.0]))
hello world __str__ = [1. 2.]
array([2., 4.])
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op


def print_value(op: "Print", value: np.ndarray) -> None:
    """The default ``global_fn``: one line per attribute, ``<message> <attr> = <value>``."""
    for attr in op.attrs:
        shown = getattr(value, attr)
        if callable(shown):
            shown = shown()
        print(op.message, attr, "=", shown)


class Print(Op):
    """Pass the input through unchanged, printing ``message`` and each of ``attrs``
    (attribute or method names of the ndarray, e.g. ``'shape'``, ``'__str__'``).

    ``global_fn(op, value)`` replaces the printing.  The output is a view of the input;
    the gradient passes straight through.
    """

    __props__ = ("message", "attrs", "global_fn")
    view_map = {0: [0]}

    def __init__(self, message: str = "", attrs: Sequence[str] = ("__str__",),
                 global_fn: Callable[["Print", np.ndarray], None] = print_value) -> None:
        self.message = message
        self.attrs = tuple(attrs)
        self.global_fn = global_fn

    def __str__(self) -> str:
        return f"Print{{message={self.message!r}, attrs={self.attrs}}}"

    def make_node(self, x: Any) -> Apply:
        from tensorc.tensor.var import as_tensor_variable
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.global_fn(self, inputs[0])
        return [inputs[0]]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return list(output_grads)

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        return list(eval_points)

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [input_shapes[0]]
