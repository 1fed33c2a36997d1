"""``pp``: a graph as one readable infix expression, in Theano's style.

Binary operators are always parenthesised, constants print as
``TensorConstant{...}``, inputs by name (an unnamed one by its type), other ops
as ``name(args)``.  Dimshuffles that only add broadcastable dimensions are
invisible; a full transpose prints as ``x.T``.

>>> import tensorc.tensor as T
>>> x, y = T.dscalar('x'), T.dscalar('y')
>>> pp((x + y) * 2)
'((x + y) * TensorConstant{2.0})'
>>> pp(-T.exp(x) ** 2)
'-(exp(x) ** TensorConstant{2.0})'
"""
from __future__ import annotations

from typing import Any

from tensorc.graph.basic import Constant, Variable

#: Elementwise table rows printed as infix operators.
BINARY_OPERATORS: dict[str, str] = {
    "add": "+", "sub": "-", "mul": "*", "true_div": "/", "int_div": "//", "mod": "%",
    "pow": "**", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "eq": "==", "neq": "!=",
    "and_": "&", "or_": "|", "xor": "^",
}
#: Rows printed as prefix operators.
UNARY_OPERATORS: dict[str, str] = {"neg": "-", "invert": "~"}
#: Rows whose Theano name differs from the table's.
RENAMED: dict[str, str] = {"second": "fill", "abs_": "abs"}


def pp(obj: Any) -> str:
    """Print a variable (or each output of a list, ``FunctionGraph`` or ``Function``).

    >>> import tensorc.tensor as T
    >>> v = T.dvector('v')
    >>> print(pp([v.T + 1, T.fill(v, 0.5)]))
    (v + TensorConstant{1.0})
    fill(v, TensorConstant{0.5})
    """
    outputs = _outputs_of(obj)
    return "\n".join(_expr(v, {}) for v in outputs)


pprint = pp  # Theano's other name (``theano.printing.pprint``)


def _outputs_of(obj: Any) -> list[Variable]:
    if isinstance(obj, Variable):
        return [obj]
    maker = getattr(obj, "maker", None)
    if maker is not None:
        obj = maker.fgraph
    if hasattr(obj, "outputs") and hasattr(obj, "inputs"):
        return list(obj.outputs)
    if isinstance(obj, (list, tuple)) and all(isinstance(v, Variable) for v in obj):
        return list(obj)
    raise TypeError(f"pp: expected a variable, a list of variables, a FunctionGraph or a "
                    f"compiled function, got {type(obj).__name__}")


def _leaf(v: Variable) -> str:
    if isinstance(v, Constant):
        return str(v)
    return v.name if v.name is not None else f"<{v.type}>"


def _expr(v: Variable, memo: dict[int, str]) -> str:
    """The text of ``v``; ``memo`` avoids reprinting shared subgraphs' work."""
    key = id(v)
    if key in memo:
        return memo[key]
    if v.owner is None:
        text = _leaf(v)
    else:
        text = _apply_text(v, memo)
    memo[key] = text
    return text


def _apply_text(v: Variable, memo: dict[int, str]) -> str:
    node = v.owner
    op = node.op
    args = [_expr(i, memo) for i in node.inputs]
    row = getattr(op, "row", None)
    if row is not None and getattr(op, "out_dtype", None) is None:
        if row.name in BINARY_OPERATORS and len(args) == 2:
            return f"({args[0]} {BINARY_OPERATORS[row.name]} {args[1]})"
        if row.name in UNARY_OPERATORS and len(args) == 1:
            return f"{UNARY_OPERATORS[row.name]}{args[0]}"
        return f"{RENAMED.get(row.name, row.name)}({', '.join(args)})"
    if row is not None:  # a cast-like Elemwise with a fixed output dtype
        return f"{row.name}{{{op.out_dtype}}}({', '.join(args)})"
    if type(op).__name__ == "DimShuffle":
        return _dimshuffle_text(op, node.inputs[0], args[0])
    if type(op).__name__ == "Subtensor" and isinstance(getattr(op, "idx_list", None), tuple):
        text = _subtensor_text(op.idx_list, args)
        if text is not None:
            return text
    name = str(op)
    if len(node.outputs) > 1:
        name = f"{name}.{v.index}"
    return f"{name}({', '.join(args)})"


def _dimshuffle_text(op: Any, x: Variable, arg: str) -> str:
    order = list(op.new_order)
    kept = [e for e in order if e != "x"]
    if kept == list(range(x.ndim)):
        return arg  # only adds broadcastable dimensions
    if kept == list(reversed(range(x.ndim))) and "x" not in order:
        return f"{arg}.T"
    return f"DimShuffle{{{','.join(map(str, order))}}}({arg})"


def _subtensor_text(idx_list: tuple, args: list[str]) -> str | None:
    """``x[a, b:c]`` from a Subtensor's ``idx_list`` ('i' marks a symbolic index);
    None when the list has a shape this printer does not know."""
    rest = iter(args[1:])

    def part(e: Any) -> str:
        if e is None:
            return ""
        return next(rest) if e == "i" else str(e)

    try:
        pieces = []
        for e in idx_list:
            if isinstance(e, tuple) and len(e) == 4 and e[0] == "slice":
                start, stop, step = [part(b) for b in e[1:]]
                pieces.append(f"{start}:{stop}" + (f":{step}" if step else ""))
            else:
                pieces.append(part(e))
    except StopIteration:
        return None
    return f"{args[0]}[{', '.join(pieces)}]"
