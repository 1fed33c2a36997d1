"""``FunctionGraph``: the inputs and outputs of one compiled function, rewritable in place.

>>> import tensorc.tensor as T
>>> x = T.vector('x')
>>> fg = FunctionGraph([x], [T.exp(x) * 2])
>>> [str(n.op) for n in fg.toposort()]
['Elemwise{exp}', 'Elemwise{mul}']
"""
from __future__ import annotations

from typing import Iterable, Sequence

from tensorc.graph.basic import Apply, Constant, Variable, clone_replace, io_toposort


class FunctionGraph:
    """A graph with fixed ``inputs`` and replaceable ``outputs``.

    ``clone=True`` (default) copies the graph between inputs and outputs, so
    rewriting it never touches the user's variables.  The inputs are kept as
    given (they are the function's parameters and shared variables).
    """

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 clone: bool = True) -> None:
        self.inputs: list[Variable] = list(inputs)
        if clone:
            outputs = _copy_graph(self.inputs, outputs)
        self.outputs: list[Variable] = list(outputs)
        self._check_inputs()

    def _check_inputs(self) -> None:
        allowed = set(map(id, self.inputs))
        for node in io_toposort(self.inputs, self.outputs):
            for v in node.inputs:
                if v.owner is None and id(v) not in allowed and not isinstance(v, Constant):
                    raise ValueError(f"missing input: the graph depends on {v} ({v.type}), "
                                     f"which is not among the function's inputs")
        for v in self.outputs:
            if v.owner is None and id(v) not in allowed and not isinstance(v, Constant):
                raise ValueError(f"missing input: output {v} is not computed from the inputs")

    # -- reading ---------------------------------------------------------------------
    def toposort(self) -> list[Apply]:
        """Apply nodes in execution order."""
        return io_toposort(self.inputs, self.outputs)

    @property
    def apply_nodes(self) -> set[Apply]:
        return set(self.toposort())

    @property
    def variables(self) -> list[Variable]:
        seen: dict[int, Variable] = {id(v): v for v in self.inputs}
        for node in self.toposort():
            for v in node.inputs + node.outputs:
                seen.setdefault(id(v), v)
        return list(seen.values())

    def clients(self) -> dict[Variable, list[tuple[Apply | str, int]]]:
        """For each variable, the (node, input index) pairs using it; outputs use ``'output'``."""
        out: dict[Variable, list[tuple[Apply | str, int]]] = {v: [] for v in self.inputs}
        for node in self.toposort():
            for i, v in enumerate(node.inputs):
                out.setdefault(v, []).append((node, i))
            for v in node.outputs:
                out.setdefault(v, [])
        for i, v in enumerate(self.outputs):
            out.setdefault(v, []).append(("output", i))
        return out

    # -- rewriting -------------------------------------------------------------------
    def replace_all(self, pairs: Iterable[tuple[Variable, Variable]]) -> None:
        """Replace each ``old`` by ``new`` everywhere (types must agree)."""
        mapping: dict[Variable, Variable] = {}
        for old, new in pairs:
            if old.type != new.type:
                raise TypeError(f"replacing {old} ({old.type}) by {new} ({new.type}): types differ")
            mapping[old] = new
        if mapping:
            self.outputs = clone_replace(self.outputs, mapping)

    def replace(self, old: Variable, new: Variable) -> None:
        self.replace_all([(old, new)])

    def __str__(self) -> str:
        return f"FunctionGraph({', '.join(map(str, self.outputs))})"


def _copy_graph(inputs: Sequence[Variable], outputs: Sequence[Variable]) -> list[Variable]:
    """Fresh Apply nodes for everything between inputs and outputs."""
    memo: dict[int, Variable] = {}
    for node in io_toposort(inputs, outputs):
        new_inputs = [memo.get(id(i), i) for i in node.inputs]
        new_outputs = [o.clone() for o in node.outputs]
        for o, old in zip(new_outputs, node.outputs):
            o.tag.update({k: v for k, v in old.tag.items() if not k.startswith("_")})
        Apply(node.op, new_inputs, new_outputs)
        for old, new in zip(node.outputs, new_outputs):
            memo[id(old)] = new
    return [memo.get(id(o), o) for o in outputs]
