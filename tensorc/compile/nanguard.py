"""``NanGuardMode``'s runtime: stop at the first node that produces NaN / inf / huge values.

The graph runs node by node on the numpy implementation; the inputs are checked
first, then every node's outputs.  The error names the node (its position in
``fgraph.toposort()``, op and inputs), the output and the input shapes/dtypes.

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x = T.dvector('x')
>>> f = tensorc.function([x], T.log(x) * 2, mode=tensorc.NanGuardMode(optimizer='fast_compile'))
>>> try:
...     f(np.array([-1.0]))
... except AssertionError as e:  # NanGuardError
...     print(str(e).splitlines()[0])
NanGuardMode: NaN produced by node 0, Elemwise{log}(x)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.numpy_backend import Runner
from tensorc.compile.debugmode import nodewise_runner
from tensorc.graph.basic import Apply
from tensorc.graph.fgraph import FunctionGraph

#: Absolute values above this count as "big" when ``big_is_error`` is set (Theano's 1e10).
BIG_THRESHOLD = 1e10


class NanGuardError(AssertionError):
    """A NaN, inf or huge value appeared (an AssertionError, as in Theano)."""


def bad_kind(value: Any, nan: bool, inf: bool, big: bool) -> str | None:
    """'NaN', 'inf' or 'big value' if ``value`` holds one that is an error, else None."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "fc" or arr.size == 0:
        return None
    if nan and np.isnan(arr).any():
        return "NaN"
    if inf and np.isinf(arr).any():
        return "inf"
    if big:
        with np.errstate(invalid="ignore"):
            finite = np.abs(arr[np.isfinite(arr)])
        if finite.size and finite.max() > BIG_THRESHOLD:
            return "big value"
    return None


def _describe(arrays: Sequence[Any]) -> str:
    return ", ".join(f"{np.shape(a)} {getattr(a, 'dtype', type(a).__name__)}" for a in arrays)


def build_nanguard_runner(fgraph: FunctionGraph, nan_is_error: bool = True, inf_is_error: bool = True,
                          big_is_error: bool = False, profile: dict | None = None) -> Runner:
    """A runner that raises ``NanGuardError`` at the first input or node holding a bad value."""
    flags = (nan_is_error, inf_is_error, big_is_error)
    inputs = list(fgraph.inputs)

    def check(k: int, node: Apply, ins: list, outs: list) -> None:
        for o, val in enumerate(outs):
            kind = bad_kind(val, *flags)
            if kind is not None:
                name = node.outputs[o].name
                raise NanGuardError(
                    f"NanGuardMode: {kind} produced by node {k}, {node}\n"
                    f"  output {o}{f' ({name})' if name else ''}: shape {np.shape(val)} dtype "
                    f"{np.asarray(val).dtype}\n  node inputs (shape dtype): {_describe(ins)}\n"
                    f"  (inputs and earlier nodes were clean: the {kind} first appears here)")

    run_nodes = nodewise_runner(fgraph, check, profile=profile)

    def run(values: Sequence[Any]) -> list:
        for k, (var, val) in enumerate(zip(inputs, values)):
            kind = bad_kind(val, *flags)
            if kind is not None:
                raise NanGuardError(f"NanGuardMode: {kind} in input {k} ({var}) of shape "
                                    f"{np.shape(val)} before any node ran")
        return run_nodes(values)

    run.nodes = run_nodes.nodes  # type: ignore[attr-defined]
    return run
