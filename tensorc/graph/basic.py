"""The graph: ``Variable``, ``Constant``, ``Apply`` and ``Op``, plus walking helpers.

A graph is a DAG of ``Apply`` nodes (an ``Op`` applied to input variables, producing
output variables).  Variables without an owner are the graph's inputs.

>>> import tensorc.tensor as T
>>> x = T.vector('x')
>>> y = T.exp(x) + 1
>>> y.owner.op.name, [str(v) for v in graph_inputs([y])]
('add', ['x', 'TensorConstant{1.0}'])
"""
from __future__ import annotations

import itertools
from collections import deque
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

_ids = itertools.count()


class Variable:
    """A symbolic value: ``type``, the ``owner`` Apply (None for inputs), ``index`` and ``name``."""

    def __init__(self, type: Any, owner: "Apply | None" = None, index: int | None = None,
                 name: str | None = None) -> None:
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag: dict[str, Any] = {}
        self.auto_name = f"v{next(_ids)}"

    def clone(self) -> "Variable":
        """A new owner-less variable of the same type and name."""
        return type(self)(self.type, name=self.name)

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = str(self.owner.op)
            if len(self.owner.outputs) == 1:
                return f"{op}.0"
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def get_parents(self) -> list["Apply"]:
        return [self.owner] if self.owner is not None else []

    def eval(self, inputs_to_values: dict | None = None) -> Any:
        """Compile (memoised per variable) and evaluate this variable.

        >>> import tensorc.tensor as T
        >>> x = T.dscalar('x')
        >>> float((x * 2).eval({x: 3.0}))
        6.0
        """
        from tensorc.compile.function import function
        inputs_to_values = inputs_to_values or {}
        keys = tuple(inputs_to_values)
        cache = self.tag.setdefault("_eval_cache", {})
        if keys not in cache:
            cache[keys] = function(list(keys), self, on_unused_input="ignore")
        return cache[keys](*[inputs_to_values[k] for k in keys])


class Constant(Variable):
    """A variable with a fixed ``data`` value."""

    def __init__(self, type: Any, data: Any, name: str | None = None) -> None:
        super().__init__(type, None, None, name)
        self.data = data

    def clone(self) -> "Constant":
        c = type(self)(self.type, self.data, self.name)
        c.tag.update({k: v for k, v in self.tag.items() if not k.startswith("_")})
        return c

    def signature(self) -> tuple:
        """Hashable identity used to merge equal constants."""
        data = self.data
        if isinstance(data, np.ndarray):
            return (self.type, data.shape, data.tobytes())
        return (self.type, data)

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        data = self.data
        if isinstance(data, np.ndarray) and data.size > 8:
            return f"TensorConstant{{{data.shape} {data.dtype}}}"
        return f"TensorConstant{{{np.array2string(np.asarray(data), separator=',')}}}" \
            if isinstance(data, np.ndarray) and data.ndim else f"TensorConstant{{{data}}}"


class Apply:
    """One application of ``op`` to ``inputs``, producing ``outputs``."""

    def __init__(self, op: "Op", inputs: Sequence[Variable], outputs: Sequence[Variable]) -> None:
        self.op = op
        self.inputs: list[Variable] = list(inputs)
        self.outputs: list[Variable] = list(outputs)
        self.tag: dict[str, Any] = {}
        for i, out in enumerate(self.outputs):
            if out.owner is not None and out.owner is not self:
                raise ValueError(f"output {out} of {op} already belongs to another node")
            out.owner, out.index = self, i

    @property
    def out(self) -> Variable:
        if len(self.outputs) != 1:
            raise AttributeError(f"{self.op} has {len(self.outputs)} outputs")
        return self.outputs[0]

    @property
    def nin(self) -> int:
        return len(self.inputs)

    @property
    def nout(self) -> int:
        return len(self.outputs)

    def clone_with_new_inputs(self, inputs: Sequence[Variable], strict: bool = True) -> "Apply":
        """The same op applied to ``inputs`` (types re-inferred through ``make_node``)."""
        node = self.op.make_node(*inputs)
        if strict:
            for old, new in zip(self.outputs, node.outputs):
                if old.type != new.type:
                    raise TypeError(f"cloning {self.op}: output type changed {old.type} -> {new.type}")
        for old, new in zip(self.outputs, node.outputs):
            new.name = old.name
        return node

    def __str__(self) -> str:
        return f"{self.op}({', '.join(map(str, self.inputs))})"

    __repr__ = __str__


class Op:
    """Base class of operations.

    Subclasses define ``make_node(*inputs) -> Apply`` (type inference),
    ``perform(node, inputs) -> list[np.ndarray]`` (the numpy implementation),
    and when they can: ``L_op``/``grad`` (gradient as graph), ``R_op``,
    ``infer_shape(node, input_shapes)``.  ``__props__`` names the attributes that
    make two ops equal.  ``view_map``/``destroy_map`` map an output index to the
    input indices it may alias / overwrite.
    """

    __props__: tuple[str, ...] = ()
    view_map: dict[int, list[int]] = {}
    destroy_map: dict[int, list[int]] = {}

    def _props(self) -> tuple:
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._props() == other._props()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._props()))

    def __str__(self) -> str:
        props = self._props()
        name = type(self).__name__
        if props:
            return f"{name}{{{', '.join(map(_short, props))}}}"
        return name

    __repr__ = __str__

    def make_node(self, *inputs: Any) -> Apply:
        raise NotImplementedError

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        node = self.make_node(*inputs, **kwargs)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    def perform(self, node: Apply, inputs: Sequence[Any]) -> list[Any]:
        raise NotImplementedError(f"{self} has no numpy implementation")

    def L_op(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
             output_grads: Sequence[Variable]) -> list[Variable]:
        """Gradient wrt each input; default defers to ``grad(inputs, output_grads)``."""
        return self.grad(inputs, output_grads)

    def grad(self, inputs: Sequence[Variable], output_grads: Sequence[Variable]) -> list[Variable]:
        from tensorc.gradient.markers import grad_not_implemented
        return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]

    def R_op(self, inputs: Sequence[Variable], eval_points: Sequence[Variable | None]) -> list[Variable]:
        raise NotImplementedError(f"{self} has no R_op")

    def connection_pattern(self, node: Apply) -> list[list[bool]] | None:
        """``[input][output]`` connectivity; None means all connected."""
        return None

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        raise NotImplementedError(f"{self} has no shape inference")


def _short(value: Any) -> str:
    return getattr(value, "name", None) or str(value)


# --------------------------------------------------------------------------------------
# Walking graphs
# --------------------------------------------------------------------------------------

def ancestors(outputs: Iterable[Variable], blockers: Iterable[Variable] = ()) -> list[Variable]:
    """All variables the ``outputs`` depend on (inclusive), stopping at ``blockers``."""
    blocked = set(map(id, blockers))
    seen: set[int] = set()
    order: list[Variable] = []
    stack = list(outputs)[::-1]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        order.append(v)
        if v.owner is not None and id(v) not in blocked:
            stack.extend(reversed(v.owner.inputs))
    return order


def graph_inputs(outputs: Iterable[Variable], blockers: Iterable[Variable] = ()) -> list[Variable]:
    """The owner-less variables (and blockers) the ``outputs`` depend on."""
    blocked = set(map(id, blockers))
    return [v for v in ancestors(outputs, blockers) if v.owner is None or id(v) in blocked]


def io_toposort(inputs: Iterable[Variable], outputs: Iterable[Variable]) -> list[Apply]:
    """Apply nodes between ``inputs`` and ``outputs`` in an order where inputs come first."""
    stop = set(map(id, inputs))
    order: list[Apply] = []
    done: set[int] = set()
    visiting: set[int] = set()
    for out in outputs:
        stack: list[tuple[Apply, bool]] = []
        if out.owner is not None and id(out) not in stop:
            stack.append((out.owner, False))
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if expanded:
                visiting.discard(id(node))
                done.add(id(node))
                order.append(node)
                continue
            if id(node) in visiting:
                raise ValueError("the graph has a cycle")
            visiting.add(id(node))
            stack.append((node, True))
            for inp in reversed(node.inputs):
                if inp.owner is not None and id(inp) not in stop and id(inp.owner) not in done:
                    stack.append((inp.owner, False))
    return order


def clone_replace(outputs: Sequence[Variable], replace: dict[Variable, Variable] | None = None,
                  ) -> list[Variable]:
    """Copy the graph of ``outputs`` with ``replace`` substituted (Theano's ``clone``).

    Owner-less variables that are not replaced are kept (shared, not copied).
    """
    memo: dict[int, Variable] = {id(k): v for k, v in (replace or {}).items()}
    for node in io_toposort(list((replace or {}).keys()), outputs):
        if all(id(o) in memo for o in node.outputs):
            continue
        new_inputs = [memo.get(id(i), i) for i in node.inputs]
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            new_node = node
        else:
            new_node = node.clone_with_new_inputs(new_inputs, strict=False)
        for old, new in zip(node.outputs, new_node.outputs):
            memo[id(old)] = new
    return [memo.get(id(o), o) for o in outputs]


def iter_nodes(outputs: Iterable[Variable]) -> Iterator[Apply]:
    """Every Apply node the outputs depend on, in topological order."""
    return iter(io_toposort([], list(outputs)))


def is_same_graph(a: Variable, b: Variable) -> bool:
    """Structural equality of two expressions (same ops, same leaves)."""
    if a is b:
        return True
    if isinstance(a, Constant) and isinstance(b, Constant):
        return a.signature() == b.signature()
    if a.owner is None or b.owner is None:
        return False
    return (a.index == b.index and a.owner.op == b.owner.op
            and len(a.owner.inputs) == len(b.owner.inputs)
            and all(is_same_graph(x, y) for x, y in zip(a.owner.inputs, b.owner.inputs)))


def walk_breadth(start: Iterable[Variable]) -> Iterator[Variable]:
    seen: set[int] = set()
    queue = deque(start)
    while queue:
        v = queue.popleft()
        if id(v) in seen:
            continue
        seen.add(id(v))
        yield v
        if v.owner is not None:
            queue.extend(v.owner.inputs)
