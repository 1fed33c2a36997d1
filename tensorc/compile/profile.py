"""Per-node profiling of compiled functions (Theano's ``function(..., profile=True)``).

The runner adds the seconds spent in each node to ``ProfileStats.apply_time`` (a dict
keyed by the node's position in ``fgraph.toposort()``); ``Function`` counts the calls
and their total wall time.  ``summary()`` prints a report, slowest nodes first.

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x = T.dvector('x')
>>> f = tensorc.function([x], T.exp(x) * 2, profile=True, mode='FAST_COMPILE')
>>> _ = f(np.ones(3)); _ = f(np.ones(3))
>>> f.profile.fct_callcount
2
>>> 'Elemwise{exp}' in f.profile.summary(file='str')
True
"""
from __future__ import annotations

import atexit
import sys
import time
from typing import Any, Callable, Sequence, TextIO

from tensorc.graph.basic import Apply
from tensorc.graph.fgraph import FunctionGraph


class ProfileStats:
    """Timing of compiled functions: calls, wall time, seconds per node.

    One ``ProfileStats`` may be shared by several functions (``function(...,
    profile=stats)``), as in Theano; the report then covers all of them.
    ``apply_time`` maps each Apply node to its total seconds; ``fct_callcount`` and
    ``fct_call_time`` count whole calls; ``compile_time`` is the time spent building
    the functions (rewrites + backend).
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.fct_callcount = 0
        self.fct_call_time = 0.0
        self.compile_time = 0.0
        self.rewrite_time = 0.0
        self.backends: list[str] = []
        self._graphs: list[tuple[list[Apply], dict[int, float]]] = []

    def new_graph(self, fgraph: FunctionGraph) -> dict[int, float]:
        """Register a function's graph; returns the dict its runner fills (key: toposort index)."""
        times: dict[int, float] = {}
        self._graphs.append((fgraph.toposort(), times))
        return times

    def record_build(self, backend: str, rewrite_time: float, compile_time: float) -> None:
        """Add one function's build times and backend name."""
        self.backends.append(backend)
        self.rewrite_time += rewrite_time
        self.compile_time += compile_time

    @property
    def apply_time(self) -> dict[Apply, float]:
        """Seconds per Apply node, over every registered graph."""
        return {nodes[k]: t for nodes, times in self._graphs for k, t in times.items()
                if k < len(nodes)}

    def wrap(self, runner: Callable[[Sequence[Any]], list]) -> Callable[[Sequence[Any]], list]:
        """``runner`` plus call counting (so an unprofiled call pays nothing)."""
        def timed(values: Sequence[Any]) -> list:
            t0 = time.perf_counter()
            try:
                return runner(values)
            finally:
                self.fct_callcount += 1
                self.fct_call_time += time.perf_counter() - t0
        return timed

    def reset(self) -> None:
        """Forget the timings gathered so far (keep the graphs)."""
        for _, times in self._graphs:
            times.clear()  # in place: the runners hold these dicts
        self.fct_callcount = 0
        self.fct_call_time = 0.0

    # -- reports ---------------------------------------------------------------------
    def node_rows(self) -> list[tuple[float, int, str]]:
        """``(seconds, toposort index, node text)``, slowest first."""
        rows = [(t, k, _node_text(nodes[k])) for nodes, times in self._graphs
                for k, t in times.items() if k < len(nodes)]
        return sorted(rows, key=lambda r: (-r[0], r[1]))

    def op_rows(self) -> list[tuple[float, int, str]]:
        """``(seconds, number of nodes, op)`` summed per op, slowest first."""
        per_op: dict[str, list] = {}
        for node, t in self.apply_time.items():
            acc = per_op.setdefault(str(node.op), [0.0, 0])
            acc[0] += t
            acc[1] += 1
        return sorted(((t, n, op) for op, (t, n) in per_op.items()), key=lambda r: -r[0])

    def summary(self, file: TextIO | str | None = sys.stderr, n_ops_to_print: int = 20,
                n_apply_to_print: int = 20) -> str | None:
        """Write the report to ``file`` (stderr by default); ``file='str'`` returns it."""
        text = self._report(n_ops_to_print, n_apply_to_print)
        if file == "str":
            return text
        (file or sys.stdout).write(text)
        return None

    def _report(self, n_ops: int, n_apply: int) -> str:
        calls = self.fct_callcount
        in_nodes = sum(self.apply_time.values())
        backends = ", ".join(sorted(set(self.backends))) or "no"
        lines = [f"Function profiling: {self.name or '<unnamed>'} ({backends} backend)",
                 f"  calls: {calls}",
                 f"  total time in calls: {self.fct_call_time:.6f}s"
                 + (f" ({self.fct_call_time / calls * 1e6:.1f} us per call)" if calls else ""),
                 f"  time in nodes: {in_nodes:.6f}s", f"  rewrite time: {self.rewrite_time:.6f}s",
                 f"  compile time (rewrites + backend): {self.compile_time:.6f}s", ""]
        if not self.apply_time and calls:
            lines.append("  (this backend does not report per-node times)")
        lines.append("Ops: <% time> <sec> <#nodes> <op>")
        for t, n, op in self.op_rows()[:n_ops]:
            lines.append(f"  {_pct(t, in_nodes):6.1f}%  {t:.6f}s  {n:3d}  {op}")
        lines += ["", "Apply nodes: <% time> <sec> <sec/call> <index> <node>"]
        for t, k, text in self.node_rows()[:n_apply]:
            per_call = t / calls if calls else 0.0
            lines.append(f"  {_pct(t, in_nodes):6.1f}%  {t:.6f}s  {per_call:.2e}s  {k:3d}  {text}")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return f"<ProfileStats {self.name or ''} calls={self.fct_callcount}>"


def _pct(t: float, total: float) -> float:
    return 100.0 * t / total if total > 0 else 0.0


def _node_text(node: Any) -> str:
    ins = ", ".join(str(v) for v in node.inputs)
    return f"{node.op}({ins})"


def make_profile(profile: Any, name: str | None) -> ProfileStats | None:
    """``function``'s ``profile`` argument as a ``ProfileStats`` (or None).

    ``None`` follows ``config.profile`` (whose reports are printed to stderr when the
    process exits, as in Theano); ``True`` makes a new one; a ``ProfileStats``
    is used as given (several functions may share it only if they share the graph).
    """
    if isinstance(profile, ProfileStats):
        return profile
    if profile is None:
        from tensorc.config import config
        if not config.profile:
            return None
        stats = ProfileStats(name)
        atexit.register(_print_at_exit, stats)  # as in Theano: the flag reports at exit
        return stats
    return ProfileStats(name) if profile else None


def _print_at_exit(stats: ProfileStats) -> None:
    if stats.fct_callcount:
        stats.summary(file=sys.stderr)
