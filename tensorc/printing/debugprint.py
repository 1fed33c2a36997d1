"""``debugprint``: a graph as an indented tree, one line per variable, in Theano's format.

Each line shows the op (or the input's name), an id (``[id A]``), optionally the
type, the variable's name in quotes and — for a compiled function — the node's
position in the execution order.  A node reached a second time is printed with
its id but not expanded again.

>>> import tensorc.tensor as T
>>> x = T.dscalar('x')
>>> print(debugprint(x * 2 + x, file='str'), end='')
Elemwise{add} [id A] ''
 |Elemwise{mul} [id B] ''
 | |x [id C]
 | |TensorConstant{2.0} [id D]
 |x [id C]
"""
from __future__ import annotations

import sys
from typing import Any, TextIO

from tensorc.graph.basic import Apply, Variable


def char_id(number: int) -> str:
    """0 → 'A', 25 → 'Z', 26 → 'AA', ... (spreadsheet column names).

    >>> [char_id(n) for n in (0, 25, 26, 27)]
    ['A', 'Z', 'AA', 'AB']
    """
    text = ""
    number += 1
    while number:
        number, rem = divmod(number - 1, 26)
        text = chr(ord("A") + rem) + text
    return text


class _Labels:
    """Ids of nodes and leaves in order of first appearance (``ids`` = CHAR/int/id/'')."""

    def __init__(self, style: str) -> None:
        if style not in ("CHAR", "int", "id", ""):
            raise ValueError(f"debugprint: ids must be 'CHAR', 'int', 'id' or '', got {style!r}")
        self.style = style
        self.seen: dict[int, str] = {}

    def __call__(self, obj: Any) -> str:
        if not self.style:
            return ""
        key = id(obj)
        if key not in self.seen:
            n = len(self.seen)
            self.seen[key] = {"CHAR": char_id(n), "int": str(n), "id": str(key)}[self.style]
        return f" [id {self.seen[key]}]"


def roots_of(obj: Any) -> tuple[list[Variable], dict[int, int]]:
    """The variables to print and, for a compiled graph, each node's toposort index."""
    order: dict[int, int] = {}
    maker = getattr(obj, "maker", None)
    if maker is not None:
        obj = maker.fgraph
    if hasattr(obj, "toposort") and hasattr(obj, "outputs"):
        order = {id(node): k for k, node in enumerate(obj.toposort())}
        return list(obj.outputs), order
    if isinstance(obj, Variable):
        return [obj], order
    if isinstance(obj, Apply):
        return list(obj.outputs), order
    if isinstance(obj, (list, tuple)):
        roots: list[Variable] = []
        for item in obj:
            roots.extend(roots_of(item)[0])
        return roots, order
    raise TypeError(f"debugprint: expected a variable, an Apply node, a list of them, a "
                    f"FunctionGraph or a compiled function, got {type(obj).__name__}")


def debugprint(obj: Any, depth: int = -1, print_type: bool = False, file: TextIO | str | None = None,
               ids: str = "CHAR", stop_on_name: bool = False, done: dict | None = None,
               print_storage: bool = False) -> Any:
    """Print the graph of ``obj`` as a tree (Theano's ``theano.printing.debugprint``).

    ``obj``: a variable, an Apply node, a list of those, a FunctionGraph or a compiled
    function (its optimised ``maker.fgraph``; lines then end with the node's execution
    index).  ``depth``: levels to expand (-1: all).  ``print_type``: show each type.
    ``file``: a stream (default stdout, which is returned) or ``'str'`` to return the
    text.  ``ids``: ``'CHAR'``, ``'int'``, ``'id'`` (Python ids) or ``''`` (none).
    ``stop_on_name``: do not expand below named variables.  ``done``: a dict shared
    between calls so ids stay consistent.  ``print_storage`` is accepted for Theano
    compatibility (values are never kept in the graph).

    >>> import tensorc.tensor as T
    >>> v = T.dvector('v')
    >>> print(debugprint(T.exp(v), file='str', print_type=True, ids='int'), end='')
    Elemwise{exp} [id 0] <TensorType(float64, vector)> ''
     |v [id 1] <TensorType(float64, vector)>
    """
    roots, order = roots_of(obj)
    labels = _Labels(ids)
    if done is not None:
        labels.seen = done.setdefault("_labels", labels.seen)
    expanded: set[int] = set()
    lines: list[str] = []
    for root in roots:
        _walk(root, "", depth, lines, labels, expanded, order, print_type, stop_on_name, top=True)
    text = "".join(line + "\n" for line in lines)
    if file == "str":
        return text
    stream = file if file is not None else sys.stdout
    stream.write(text)
    return stream


def _walk(v: Variable, prefix: str, depth: int, lines: list[str], labels: _Labels,
          expanded: set[int], order: dict[int, int], print_type: bool, stop_on_name: bool,
          top: bool = False) -> None:
    if depth == 0:
        return
    type_text = f" <{v.type}>" if print_type else ""
    node = v.owner
    if node is None:
        lines.append(f"{prefix}{v}{labels(v)}{type_text}")
        return
    op_text = str(node.op) if len(node.outputs) == 1 else f"{node.op}.{v.index}"
    position = f"   {order[id(node)]}" if id(node) in order else ""
    lines.append(f"{prefix}{op_text}{labels(node)}{type_text} '{v.name or ''}'{position}")
    if id(node) in expanded or (stop_on_name and v.name is not None and not top):
        return
    expanded.add(id(node))
    child_prefix = prefix + " |"
    for inp in node.inputs:
        _walk(inp, child_prefix, depth - 1, lines, labels, expanded, order, print_type, stop_on_name)
