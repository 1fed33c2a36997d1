"""A lowered ``Program`` as plain data, so the function cache can keep it beside the
rewritten graph and a warm new process skips lowering and kernel rendering.

``program_state(prog, sources)`` gives a tuple of ints, strings, plans and references
to the program's own graph objects (nodes, variables); pickled together with that
graph, ``program_from_state(state, nodes)`` gives the same program back.  The shape
function of a kernel step is stored as its *plan* (per output dimension: which kernel
input's dimension, or size 1) and comes back as a :class:`PlanShape`; a kernel without a
plan (indexing kernels compute shapes in Python) is rendered again on load, for its
shape function only.  ``sources`` are the C translation units the kernels were compiled
in, and which kernels each holds, so the kernel library is found without rendering or
searching anything.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> from tensorc.lower import lower
>>> x = T.dvector('x')
>>> fg = FunctionGraph([x], [T.exp(x) + 1])
>>> prog = lower(fg)
>>> names = [[s.name for s in prog.kernel_steps]]
>>> again, srcs, groups = program_from_state(program_state(prog, ['/* unit */'], names),
...                                          fg.toposort())
>>> [s.name for s in again.kernel_steps] == names[0], srcs, groups == names
(True, ['/* unit */'], True)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Constant
from tensorc.lower.program import KernelStep, NumpyStep, Program, Step

_STATE_VERSION = 2  #: bump when the tuple layout below changes
Plan = tuple[tuple[int, int], ...]


class PlanShape:
    """A kernel's shape function rebuilt from its plan: output ``o``'s dimension ``j`` is
    ``shapes[k][d]`` for the plan entry ``(k, d)``, or 1 for ``(-1, -1)``.

    >>> fn = PlanShape([((0, 0), (-1, -1)), ((1, 1),)])
    >>> fn([(4, 1), (2, 7)])
    [(4, 1), (7,)]
    """
    __slots__ = ("plan",)

    def __init__(self, plan: Sequence[Plan]) -> None:
        self.plan = [tuple((int(k), int(d)) for k, d in p) for p in plan]

    def __call__(self, shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(shapes[k][d] if k >= 0 else 1 for k, d in p) for p in self.plan]

    def __getstate__(self) -> list[Plan]:
        return self.plan

    def __setstate__(self, plan: list[Plan]) -> None:
        self.plan = plan


def step_plan(step: KernelStep) -> list[Plan] | None:
    """The plan of ``step``'s shape function (None when only Python code knows the shapes).

    >>> step_plan(KernelStep(None, 0, 'k', '', (0,), (1,), PlanShape([((0, 0),)])))
    [((0, 0),)]
    """
    plan = getattr(step.shape_fn, "plan", None)
    if plan is None or len(plan) != len(step.outputs):
        return None
    return [tuple((int(k), int(d)) for k, d in p) for p in plan]


def program_state(prog: Program, sources: Sequence[str],
                  groups: Sequence[Sequence[str]] | None = None) -> tuple:
    """``prog`` (and the C ``sources`` its kernels were compiled from, ``groups[u]`` naming
    the kernels of unit ``u``) as a picklable tuple; graph objects are referenced, so
    pickle it in one go with the graph it was lowered from.

    >>> program_state(Program(0, [], {}, [], [], []), [])
    (2, 0, [], [], [], {}, [], None)
    """
    kernels: dict[str, str] = {}
    steps: list[tuple] = []
    for s in prog.steps:
        if isinstance(s, KernelStep):
            kernels.setdefault(s.name, s.source)
            steps.append(("k", s.index, s.name, s.inputs, s.outputs, step_plan(s),
                          tuple(sorted(s.inplace.items())), s.node_slots, s.kernel_vars))
        else:
            steps.append(("n", s.index, s.inputs, s.outputs))
    return (_STATE_VERSION, prog.n_inputs, list(prog.slot_vars), steps, list(prog.outputs),
            kernels, list(sources), None if groups is None else [list(g) for g in groups])


def program_from_state(state: tuple, nodes: Sequence[Apply]
                       ) -> tuple[Program, list[str], list[list[str]] | None]:
    """The ``(program, sources, groups)`` of :func:`program_state`, around ``nodes`` (the
    graph's toposort, which the state's step indices refer to).  Raises ``ValueError``
    when the state does not fit them (a stale or damaged entry)."""
    if state[0] != _STATE_VERSION:
        raise ValueError(f"program state version {state[0]}, expected {_STATE_VERSION}")
    _, n_inputs, slot_vars, raw_steps, outputs, kernels, sources, groups = state
    nodes = list(nodes)
    steps: list[Step] = []
    for raw in raw_steps:
        node = nodes[raw[1]]
        if raw[0] == "n":
            steps.append(NumpyStep(node, raw[1], tuple(raw[2]), tuple(raw[3])))
            continue
        _, index, name, ins, outs, plan, inplace, node_slots, kernel_vars = raw
        shape_fn = PlanShape(plan) if plan is not None else _rendered_shape_fn(node, name)
        steps.append(KernelStep(node, index, name, kernels[name], tuple(ins), tuple(outs),
                                shape_fn, dict(inplace), tuple(node_slots), tuple(kernel_vars)))
        if any(node.outputs[j] is not slot_vars[o] for j, o in enumerate(outs)):
            raise ValueError(f"program state: step {index} does not write its node's outputs")
    constants = {k: np.asarray(v.data) for k, v in enumerate(slot_vars) if isinstance(v, Constant)}
    prog = Program(n_inputs, list(slot_vars), constants, steps, list(outputs), nodes)
    return prog, list(sources), groups


def _rendered_shape_fn(node: Apply, name: str) -> Any:
    """The shape function of a kernel without a plan: render its node again."""
    from tensorc.backend.c.render import render_node
    from tensorc.config import config
    rendered = render_node(node, name, config.omp_threshold)
    if rendered is None:
        raise ValueError(f"program state: {node.op} no longer has a C kernel")
    return rendered[2]
