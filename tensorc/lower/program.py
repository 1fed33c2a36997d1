"""Lowering: a rewritten ``FunctionGraph`` → a ``Program`` (ordered steps + buffer plan).

Every variable of the graph gets a *slot*.  Slots ``0 .. n_inputs-1`` hold the call's
inputs, constant slots hold their value, the others are written by steps:

- a ``KernelStep`` runs one generated C kernel (``name`` in ``source``) over the slots
  ``inputs + outputs``; the output arrays are allocated by the runner from
  ``shape_fn(input shapes)`` (or, for ``inplace``, are the given input's buffer);
- a ``NumpyStep`` calls the op's ``perform`` (views such as ``DimShuffle``, basic
  slicing and ``reshape`` of contiguous data cost no copy there; BLAS ``dot`` too).

Buffer plan: an array a kernel writes is recycled on a later call when nothing but
the runner still references it (refcount), so returned arrays are never overwritten
while the caller holds them and intermediates are reused across calls.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x, y = T.dvector('x'), T.dvector('y')
>>> prog = lower(FunctionGraph([x, y], [T.exp(x) + y]))
>>> [type(s).__name__ for s in prog.steps]
['KernelStep', 'KernelStep']
>>> print(prog).__class__.__name__  # doctest: +ELLIPSIS
Program...
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Constant, Variable
from tensorc.graph.fgraph import FunctionGraph

ShapeFn = Callable[[Sequence[tuple]], list[tuple]]
_PLACEHOLDER = "TCKERNELNAME"  #: kernels are rendered under this name, then named


class KernelStep:
    """One C kernel call; args are ``inputs`` then ``outputs`` (slot numbers).

    Plain class (not a dataclass): building dataclasses costs ~1 ms each at import, and
    this module is imported by every new process that builds a C function.
    """
    __slots__ = ("node", "index", "name", "source", "inputs", "outputs", "shape_fn", "inplace",
                 "node_slots", "kernel_vars")

    def __init__(self, node: Apply, index: int, name: str, source: str, inputs: tuple[int, ...],
                 outputs: tuple[int, ...], shape_fn: ShapeFn, inplace: dict[int, int] | None = None,
                 node_slots: tuple[int, ...] = (), kernel_vars: tuple[Variable, ...] = ()) -> None:
        self.node = node
        self.index = index                  #: the node's position in ``fgraph.toposort()``
        self.name = name                    #: C function name
        self.source = source                #: C function text
        self.inputs = inputs
        self.outputs = outputs
        self.shape_fn = shape_fn            #: input shapes -> output shapes
        self.inplace = {} if inplace is None else inplace  #: output k -> kernel input j
        self.node_slots = node_slots        #: slots of all of ``node.inputs`` (error reports)
        self.kernel_vars = kernel_vars      #: the variables of ``inputs``

    def __str__(self) -> str:
        ins = ", ".join(f"%{s}" for s in self.inputs)
        outs = ", ".join(f"%{s}" for s in self.outputs)
        extra = f"  inplace={self.inplace}" if self.inplace else ""
        return f"{outs} = C {self.name}({ins})  # {self.node.op}{extra}"

    __repr__ = __str__


class NumpyStep:
    """One numpy call: ``node.op.perform``."""
    __slots__ = ("node", "index", "inputs", "outputs")

    def __init__(self, node: Apply, index: int, inputs: tuple[int, ...],
                 outputs: tuple[int, ...]) -> None:
        self.node = node
        self.index = index
        self.inputs = inputs
        self.outputs = outputs

    def __str__(self) -> str:
        ins = ", ".join(f"%{s}" for s in self.inputs)
        outs = ", ".join(f"%{s}" for s in self.outputs)
        return f"{outs} = numpy {self.node.op}({ins})"

    __repr__ = __str__


Step = KernelStep | NumpyStep


class Program:
    """A lowered function: slots, steps in order, and where the outputs are."""
    __slots__ = ("n_inputs", "slot_vars", "constants", "steps", "outputs", "nodes")

    def __init__(self, n_inputs: int, slot_vars: list[Variable], constants: dict[int, np.ndarray],
                 steps: list[Step], outputs: list[int], nodes: list[Apply]) -> None:
        self.n_inputs = n_inputs
        self.slot_vars = slot_vars            #: the variable each slot holds
        self.constants = constants            #: constant slots and their values
        self.steps = steps
        self.outputs = outputs                #: slot of each fgraph output
        self.nodes = nodes                    #: fgraph.toposort()

    @property
    def kernel_steps(self) -> list[KernelStep]:
        return [s for s in self.steps if isinstance(s, KernelStep)]

    def unique_kernels(self) -> list[tuple[str, str]]:
        """(name, source) of each distinct kernel, in program order (steps of identical
        nodes share one kernel)."""
        seen: dict[str, str] = {}
        for s in self.kernel_steps:
            seen.setdefault(s.name, s.source)
        return list(seen.items())

    def c_source(self) -> str:
        """All kernels of the program in one C translation unit."""
        from tensorc.backend.c.render import library_source
        return library_source(self.unique_kernels())

    def __str__(self) -> str:
        lines = [f"Program: {self.n_inputs} inputs, {len(self.steps)} steps "
                 f"({len(self.kernel_steps)} C kernels)"]
        for k, v in enumerate(self.slot_vars):
            what = "input" if k < self.n_inputs else "const" if k in self.constants else "buffer"
            lines.append(f"  %{k}: {what} {v.type}" + (f" {v.name}" if v.name else ""))
        lines += [f"  {s}" for s in self.steps]
        lines.append("  return " + ", ".join(f"%{s}" for s in self.outputs))
        return "\n".join(lines)


def lower(fgraph: FunctionGraph, *, threshold: int | None = None) -> Program:
    """Lower ``fgraph`` to a ``Program``; nodes with a C rendering become kernel steps.

    ``threshold``: element count above which kernels use OpenMP threads
    (default ``config.omp_threshold``).
    """
    from tensorc.backend.c.render import render_node
    from tensorc.config import config
    thr = config.omp_threshold if threshold is None else threshold
    nodes = fgraph.toposort()
    slot: dict[int, int] = {}
    slot_vars: list[Variable] = []
    constants: dict[int, np.ndarray] = {}

    def add(v: Variable) -> int:
        if id(v) not in slot:
            slot[id(v)] = len(slot_vars)
            slot_vars.append(v)
            if isinstance(v, Constant):
                constants[slot[id(v)]] = np.asarray(v.data)
        return slot[id(v)]

    for v in fgraph.inputs:
        add(v)
    steps: list[Step] = []
    names: dict[str, str] = {}  # source under the placeholder name -> kernel name
    for k, node in enumerate(nodes):
        outs = tuple(add(v) for v in node.outputs)
        rendered = render_node(node, _PLACEHOLDER, thr)
        if rendered is None:
            steps.append(NumpyStep(node, k, tuple(add(v) for v in node.inputs), outs))
            continue
        generic, kernel_inputs, shape_fn, inplace = rendered
        name = names.setdefault(generic, f"k{k}")
        src = generic.replace(_PLACEHOLDER, name)
        ins = tuple(add(v) for v in kernel_inputs)
        steps.append(KernelStep(node, k, name, src, ins, outs, shape_fn, inplace,
                                tuple(add(v) for v in node.inputs), tuple(kernel_inputs)))
    outputs = [add(v) for v in fgraph.outputs]
    return Program(len(fgraph.inputs), slot_vars, constants, steps, outputs, nodes)
