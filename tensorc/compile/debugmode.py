"""``DebugMode``'s runtime: run the graph node by node and check every node.

For each node, the numpy implementation (``op.perform``) runs and is checked:
it returns one ndarray per output of exactly the output's dtype, rank and static
broadcast pattern; it leaves its inputs untouched unless ``destroy_map`` says
otherwise; an output that aliases an input is declared in ``view_map`` or
``destroy_map``.  When another backend can evaluate a single node, its result is
compared to numpy's (``node_evaluator``; the C backend plugs in by defining
``tensorc.backend.c.driver.evaluate_node(node, inputs) -> list[ndarray]``).
Finally the backend's own runner executes the whole graph and its outputs are
compared to the node-by-node ones.

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x = T.dvector('x')
>>> f = tensorc.function([x], T.exp(x) + 1, mode='DebugMode')
>>> f(np.zeros(2))
array([2., 2.])
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from tensorc.backend.numpy_backend import Runner, plan_slots
from tensorc.graph.basic import Apply
from tensorc.graph.fgraph import FunctionGraph

#: ``(node, input arrays) -> output arrays`` for one node on some backend (None: not supported).
NodeEvaluator = Callable[[Apply, list], list]
#: ``(index, node, inputs, outputs) -> None``; raises to stop the run.
NodeCheck = Callable[[int, Apply, list, list], None]


class DebugModeError(RuntimeError):
    """Base of the errors DebugMode raises."""


class BadThunkOutput(DebugModeError):
    """Two backends disagree on a node, or a node returned a value of the wrong type."""


class BadDestroyMap(DebugModeError):
    """A node modified an input it did not declare in ``destroy_map``."""


class BadViewMap(DebugModeError):
    """A node returned a view of an input it did not declare in ``view_map``."""


def nodewise_runner(fgraph: FunctionGraph, check: NodeCheck | None = None,
                    profile: dict | None = None) -> Runner:
    """A runner calling each node's ``perform`` in turn and ``check`` after each node.

    Inputs of a node that destroys them are copied first, so the caller's arrays and
    the values other checks read stay intact.
    """
    nodes, slot, template = plan_slots(fgraph)
    n_in = len(fgraph.inputs)
    out_slots = [slot[id(v)] for v in fgraph.outputs]
    steps = [(node, [slot[id(v)] for v in node.inputs], [slot[id(v)] for v in node.outputs],
              {i for ins in node.op.destroy_map.values() for i in ins}) for node in nodes]

    def run(values: Sequence[Any]) -> list:
        storage = template.copy()
        storage[:n_in] = values
        with np.errstate(all="ignore"):
            for k, (node, ins, outs, destroyed) in enumerate(steps):
                t0 = time.perf_counter()
                args = [storage[s].copy() if i in destroyed else storage[s] for i, s in enumerate(ins)]
                results = node.op.perform(node, args)
                if profile is not None:
                    profile[k] = profile.get(k, 0.0) + time.perf_counter() - t0
                if check is not None:
                    check(k, node, args, results)
                for o, r in zip(outs, results):
                    storage[o] = r
        return [storage[s] for s in out_slots]

    run.nodes = nodes  # type: ignore[attr-defined]
    return run


def node_evaluator(kind: str) -> NodeEvaluator | None:
    """The single-node evaluator of backend ``kind``, or None when it has none."""
    if kind == "c":
        try:
            from tensorc.backend.c.driver import evaluate_node  # type: ignore[attr-defined]
        except ImportError:
            return None
        return evaluate_node
    return None


def check_node_outputs(k: int, node: Apply, inputs: list, outputs: list) -> None:
    """Raise ``BadThunkOutput`` unless ``outputs`` match the node's output types."""
    if len(outputs) != len(node.outputs):
        raise BadThunkOutput(f"node {k} {node}: perform returned {len(outputs)} values for "
                             f"{len(node.outputs)} outputs")
    for o, (var, val) in enumerate(zip(node.outputs, outputs)):
        if type(val) is not np.ndarray:
            raise BadThunkOutput(f"node {k} {node}: output {o} is a {type(val).__name__}, "
                                 f"not an ndarray")
        t = var.type
        if val.dtype.name != t.dtype or val.ndim != t.ndim:
            raise BadThunkOutput(f"node {k} {node}: output {o} has dtype {val.dtype} and shape "
                                 f"{val.shape}; its type is {t}")
        if any(b and n != 1 for b, n in zip(t.broadcastable, val.shape)):
            raise BadThunkOutput(f"node {k} {node}: output {o} has shape {val.shape}, which "
                                 f"contradicts the broadcast pattern {t.broadcastable}")


def check_aliasing(k: int, node: Apply, before: list, inputs: list, outputs: list) -> None:
    """Raise ``BadDestroyMap``/``BadViewMap`` for undeclared writes or views."""
    op = node.op
    destroyed = {i for ins in op.destroy_map.values() for i in ins}
    for i, (old, new) in enumerate(zip(before, inputs)):
        if i not in destroyed and not _same(old, new):
            raise BadDestroyMap(f"node {k} {node}: perform modified input {i} ({node.inputs[i]}) "
                                f"without declaring it in destroy_map")
    for o, val in enumerate(outputs):
        allowed = set(op.view_map.get(o, [])) | set(op.destroy_map.get(o, []))
        for i, arr in enumerate(inputs):
            if i not in allowed and isinstance(arr, np.ndarray) and arr.size and \
                    isinstance(val, np.ndarray) and np.may_share_memory(val, arr):
                raise BadViewMap(f"node {k} {node}: output {o} shares memory with input {i} "
                                 f"({node.inputs[i]}) but view_map/destroy_map do not say so")


def compare_values(what: str, expected: Any, got: Any) -> None:
    """Raise ``BadThunkOutput`` unless ``got`` equals ``expected`` (with a float tolerance)."""
    exp, res = np.asarray(expected), np.asarray(got)
    if exp.shape != res.shape or exp.dtype != res.dtype:
        raise BadThunkOutput(f"{what}: numpy gives shape {exp.shape} dtype {exp.dtype}, the other "
                             f"backend shape {res.shape} dtype {res.dtype}")
    if exp.dtype.kind in "fc":
        tol = 1e-4 if exp.dtype in (np.float32, np.complex64, np.float16) else 1e-8
        ok = np.allclose(res, exp, rtol=tol, atol=tol, equal_nan=True)
    else:
        ok = np.array_equal(res, exp)
    if not ok:
        diff = np.abs(res.astype(complex) - exp.astype(complex)) if exp.size else np.zeros(0)
        raise BadThunkOutput(f"{what}: backends disagree (max abs difference "
                             f"{float(diff.max()) if diff.size else 0.0:g}); numpy: {exp!r}, other: {res!r}")


def _same(a: Any, b: Any) -> bool:
    if not isinstance(a, np.ndarray):
        return True
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def build_debug_runner(fgraph: FunctionGraph, backend_runner: Runner, backend: str,
                       evaluator: NodeEvaluator | None = None) -> Runner:
    """Wrap ``backend_runner``: check every node with numpy, compare with ``backend``.

    ``evaluator`` defaults to ``node_evaluator(backend)``.
    """
    other = evaluator if evaluator is not None else node_evaluator(backend)

    def check(k: int, node: Apply, inputs: list, outputs: list) -> None:
        check_node_outputs(k, node, inputs, outputs)
        if other is not None:
            theirs = other(node, [np.array(a, copy=True) for a in inputs])
            for o, (mine, their) in enumerate(zip(outputs, theirs or ())):
                compare_values(f"node {k} {node} output {o} ({backend})", mine, their)

    reference = _aliasing_runner(fgraph, check)

    def run(values: Sequence[Any]) -> list:
        expected = reference(values)
        results = backend_runner(values)
        for o, (exp, got) in enumerate(zip(expected, results)):
            compare_values(f"output {o} of the whole graph ({backend} backend)", exp, got)
        return results

    run.nodes = getattr(reference, "nodes", [])  # type: ignore[attr-defined]
    return run


def _aliasing_runner(fgraph: FunctionGraph, check: NodeCheck) -> Runner:
    """``nodewise_runner`` that also snapshots inputs to catch undeclared writes/views."""
    nodes, slot, template = plan_slots(fgraph)
    n_in = len(fgraph.inputs)
    out_slots = [slot[id(v)] for v in fgraph.outputs]

    def run(values: Sequence[Any]) -> list:
        storage = template.copy()
        storage[:n_in] = [np.array(v, copy=True) for v in values]
        with np.errstate(all="ignore"):
            for k, node in enumerate(nodes):
                args = [np.array(storage[slot[id(v)]], copy=True) for v in node.inputs]
                before = [a.copy() for a in args]
                results = node.op.perform(node, args)
                check_aliasing(k, node, before, args, results)
                check(k, node, args if not node.op.destroy_map else before, results)
                for v, r in zip(node.outputs, results):
                    storage[slot[id(v)]] = r
        return [storage[s] for s in out_slots]

    run.nodes = nodes  # type: ignore[attr-defined]
    return run
