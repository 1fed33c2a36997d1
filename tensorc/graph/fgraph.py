"""``FunctionGraph``: the inputs and outputs of one compiled function, rewritable in place.

The graph keeps a *clients map* (for every variable, the ``(node, input index)``
pairs that read it; the function's outputs appear as ``('output', k)``) up to date
under ``replace``, so rewrite rules can ask "who uses this?" in O(1), and nodes
that lose their last client are pruned at once.

>>> import tensorc.tensor as T
>>> x, y = T.vector('x'), T.vector('y')
>>> fg = FunctionGraph([x, y], [T.exp(x) * y])
>>> [str(n.op) for n in fg.toposort()]
['Elemwise{exp}', 'Elemwise{mul}']
>>> e = fg.outputs[0].owner.inputs[0]
>>> fg.replace(e, T.log(x)); [str(n.op) for n in fg.toposort()]
['Elemwise{log}', 'Elemwise{mul}']
>>> len(fg.clients(x))
1
"""
from __future__ import annotations

from typing import Iterable, Sequence, Union

from tensorc.graph.basic import Apply, Constant, Variable, io_toposort

Client = tuple[Union[Apply, str], int]


class FunctionGraph:
    """A graph with fixed ``inputs`` and replaceable ``outputs``.

    ``clone=True`` (default) copies the graph between inputs and outputs, so
    rewriting it never touches the user's variables.  The inputs are kept as
    given (they are the function's parameters and shared variables).

    Attributes kept current by every edit: ``apply_nodes`` (set of nodes),
    ``client_map`` (variable -> list of clients; see ``clients``).
    """

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 clone: bool = True) -> None:
        self.inputs: list[Variable] = list(inputs)
        if clone:
            outputs = _copy_graph(self.inputs, outputs)
        self.outputs: list[Variable] = list(outputs)
        self._input_set = set(self.inputs)
        self.client_map: dict[Variable, list[Client]] = {v: [] for v in self.inputs}
        self.apply_nodes: set[Apply] = set()
        order = _toposort(self._input_set, self.outputs)
        self._check_inputs(order)
        for node in order:
            self._attach(node)
        self._order: list[Apply] | None = order
        for i, v in enumerate(self.outputs):
            self.client_map.setdefault(v, []).append(("output", i))

    def _check_inputs(self, order: list[Apply]) -> None:
        for node in order:
            for v in node.inputs:
                self._check_leaf(v)
        for v in self.outputs:
            if v.owner is None and v not in self._input_set and not isinstance(v, Constant):
                raise ValueError(f"missing input: output {v} is not computed from the inputs")

    def _check_leaf(self, v: Variable) -> None:
        if v.owner is None and v not in self._input_set and not isinstance(v, Constant):
            raise ValueError(f"missing input: the graph depends on {v} ({v.type}), "
                             f"which is not among the function's inputs")

    # -- reading ---------------------------------------------------------------------
    def toposort(self) -> list[Apply]:
        """Apply nodes in execution order (cached until the next edit)."""
        if self._order is None:
            self._order = _toposort(self._input_set, self.outputs)
        return list(self._order)

    @property
    def variables(self) -> list[Variable]:
        """Every variable of the graph: inputs, constants, node outputs."""
        return list(self.client_map)

    def clients(self, var: Variable | None = None) -> dict[Variable, list[Client]] | list[Client]:
        """The clients of ``var`` (``(node, input index)`` or ``('output', k)`` pairs);
        without an argument, the whole (live, do not mutate) clients map."""
        if var is None:
            return self.client_map
        return self.client_map.get(var, [])

    def __contains__(self, item: object) -> bool:
        return item in self.client_map or item in self.apply_nodes

    # -- editing ---------------------------------------------------------------------
    def _attach(self, node: Apply) -> None:
        self.apply_nodes.add(node)
        cmap = self.client_map
        for i, v in enumerate(node.inputs):
            lst = cmap.get(v)
            if lst is None:
                cmap[v] = lst = []
            lst.append((node, i))
        for v in node.outputs:
            cmap.setdefault(v, [])

    def import_var(self, var: Variable) -> None:
        """Add the nodes computing ``var`` that the graph does not have yet."""
        cmap = self.client_map
        if var in cmap:
            return
        stack: list[tuple[Variable, bool]] = [(var, False)]
        while stack:
            v, expanded = stack.pop()
            if v in cmap:
                continue
            node = v.owner
            if node is None:
                self._check_leaf(v)
                cmap[v] = []
                continue
            if expanded:
                self._attach(node)
                continue
            stack.append((v, True))
            stack.extend((i, False) for i in node.inputs if i not in cmap)
        self._order = None

    def replace(self, old: Variable, new: Variable, reason: str | None = None) -> None:
        """Make every client of ``old`` read ``new`` instead (types must be equal).

        Nodes of ``new``'s graph that themselves read ``old`` keep reading it, so
        ``replace(x, f(x))`` works.  Nodes left without clients are pruned.
        """
        if old is new:
            return
        if old.type != new.type:
            raise TypeError(f"replacing {old} ({old.type}) by {new} ({new.type})"
                            f"{' in ' + reason if reason else ''}: types differ")
        cmap = self.client_map
        old_clients = cmap.get(old)
        if old_clients is None:
            return  # already pruned
        old_clients = list(old_clients)
        self.import_var(new)
        new_clients = cmap[new]
        keep = [c for c in cmap[old] if c not in old_clients]  # clients added by new's graph
        for client, i in old_clients:
            if client == "output":
                self.outputs[i] = new  # type: ignore[index]
            else:
                client.inputs[i] = new  # type: ignore[union-attr]
            new_clients.append((client, i))
        cmap[old] = keep
        self._order = None
        if not keep:
            self._prune(old)

    def replace_all(self, pairs: Iterable[tuple[Variable, Variable]], reason: str | None = None) -> None:
        """``replace`` each ``(old, new)`` pair in turn."""
        for old, new in pairs:
            self.replace(old, new, reason)

    def replace_node(self, node: Apply, new_outputs: Sequence[Variable | None],
                     reason: str | None = None) -> None:
        """Replace each output of ``node`` by the matching ``new_outputs`` entry (None: keep)."""
        if len(new_outputs) != len(node.outputs):
            raise ValueError(f"replace_node: {node.op} has {len(node.outputs)} outputs, "
                             f"got {len(new_outputs)} replacements")
        for old, new in zip(list(node.outputs), new_outputs):
            if new is not None:
                self.replace(old, new, reason)

    def _prune(self, var: Variable) -> None:
        """Remove the owner of ``var`` (recursively) once none of its outputs has clients."""
        cmap = self.client_map
        stack = [var]
        while stack:
            v = stack.pop()
            node = v.owner
            if node is None:
                if v not in self._input_set and not cmap.get(v):
                    cmap.pop(v, None)
                continue
            if node not in self.apply_nodes or any(cmap.get(o) for o in node.outputs):
                continue
            self.apply_nodes.discard(node)
            for o in node.outputs:
                cmap.pop(o, None)
            for i, inp in enumerate(node.inputs):
                lst = cmap.get(inp)
                if lst is None:
                    continue
                lst[:] = [c for c in lst if not (c[0] is node and c[1] == i)]
                if not lst:
                    stack.append(inp)
        self._order = None

    def __str__(self) -> str:
        return f"FunctionGraph({', '.join(map(str, self.outputs))})"


def _toposort(inputs: set[Variable], outputs: Sequence[Variable]) -> list[Apply]:
    """``io_toposort``'s order (depth first, inputs in order), on the objects themselves
    rather than their ids: the graph calls this after every batch of edits."""
    order: list[Apply] = []
    done: set[Apply] = set()
    visiting: set[Apply] = set()
    for out in outputs:
        if out.owner is None or out in inputs:
            continue
        stack: list[tuple[Apply, bool]] = [(out.owner, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                visiting.discard(node)
                done.add(node)
                order.append(node)
                continue
            if node in done:
                continue
            if node in visiting:
                raise ValueError("the graph has a cycle")
            visiting.add(node)
            stack.append((node, True))
            for inp in reversed(node.inputs):
                owner = inp.owner
                if owner is not None and owner not in done and inp not in inputs:
                    stack.append((owner, False))
    return order


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
