"""The numpy backend: run a graph by calling each op's numpy ``perform`` in order.

It is the fallback when no C compiler works, ``mode='FAST_COMPILE'``, and the
semantic oracle the C backend is tested against.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> run = build_numpy_runner(FunctionGraph([x], [x * 2]))
>>> run([np.array([1.0, 2.0])])
[array([2., 4.])]
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Constant
from tensorc.graph.fgraph import FunctionGraph

Runner = Callable[[Sequence[Any]], list]


def plan_slots(fgraph: FunctionGraph) -> tuple[list[Apply], dict[int, int], list[Any]]:
    """Give every variable a storage slot; returns (nodes, slot by id, initial storage)."""
    nodes = fgraph.toposort()
    slot: dict[int, int] = {}
    storage: list[Any] = []
    for v in fgraph.inputs:
        slot[id(v)] = len(storage)
        storage.append(None)
    for node in nodes:
        for v in node.inputs:
            if id(v) not in slot:  # constants
                slot[id(v)] = len(storage)
                storage.append(np.asarray(v.data) if isinstance(v, Constant) else None)
        for v in node.outputs:
            slot[id(v)] = len(storage)
            storage.append(None)
    for v in fgraph.outputs:
        if id(v) not in slot:
            slot[id(v)] = len(storage)
            storage.append(np.asarray(v.data) if isinstance(v, Constant) else None)
    return nodes, slot, storage


def build_numpy_runner(fgraph: FunctionGraph, profile: dict | None = None) -> Runner:
    """A function ``run(input_values) -> output_values`` interpreting ``fgraph``.

    Intermediate arrays are dropped right after their last use.  With ``profile``
    (a dict), the seconds spent in each node accumulate under the node's index.
    """
    nodes, slot, template = plan_slots(fgraph)
    n_in = len(fgraph.inputs)
    out_slots = [slot[id(v)] for v in fgraph.outputs]
    keep = set(out_slots) | set(range(n_in))
    last_use: dict[int, int] = {}
    for k, node in enumerate(nodes):
        for v in node.inputs:
            last_use[slot[id(v)]] = k
    steps = []
    for k, node in enumerate(nodes):
        ins = tuple(slot[id(v)] for v in node.inputs)
        outs = tuple(slot[id(v)] for v in node.outputs)
        free = tuple(s for s in set(ins) if last_use.get(s) == k and s not in keep
                     and template[s] is None)
        steps.append((node.op.perform, node, ins, outs, free))

    def run(values: Sequence[Any]) -> list:
        storage = template.copy()
        storage[:n_in] = values
        with np.errstate(all="ignore"):
            for k, (perform, node, ins, outs, free) in enumerate(steps):
                if profile is not None:
                    t0 = time.perf_counter()
                results = perform(node, [storage[i] for i in ins])
                for o, r in zip(outs, results):
                    storage[o] = r
                for s in free:
                    storage[s] = None
                if profile is not None:
                    profile[k] = profile.get(k, 0.0) + time.perf_counter() - t0
        return [storage[s] for s in out_slots]

    run.nodes = nodes  # type: ignore[attr-defined]
    return run
