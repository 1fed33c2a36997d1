"""The built-in workload suite of ``tensorc bench``, shipped with the package.

>>> from benchmarks import workload_names
>>> 'add' in workload_names()
True
"""
from __future__ import annotations

from benchmarks.spec import FRAMEWORKS, PEER_MODULES, Built, Workload


def all_workloads() -> tuple[Workload, ...]:
    """Every workload, in table order."""
    from benchmarks import elementwise, logreg, nn, overhead, reductions
    return (elementwise.WORKLOADS + reductions.WORKLOADS + nn.WORKLOADS
            + logreg.WORKLOADS + overhead.WORKLOADS)


def workload_names() -> tuple[str, ...]:
    """The names ``--workloads`` accepts."""
    return tuple(w.name for w in all_workloads())


def get_workload(name: str) -> Workload:
    """The workload called ``name`` (``KeyError`` naming the known ones otherwise)."""
    for w in all_workloads():
        if w.name == name:
            return w
    raise KeyError(f"unknown workload {name!r}; known: {', '.join(workload_names())}")


__all__ = ["FRAMEWORKS", "PEER_MODULES", "Built", "Workload", "all_workloads",
           "workload_names", "get_workload"]
