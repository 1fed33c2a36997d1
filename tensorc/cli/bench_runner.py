"""Running the suite: for each case (workload, size, dtype) and framework, build, check, time.

A result is checked against the numpy reference (computed in float64) before any timing;
a wrong result is recorded as ``WRONG`` and never timed. A builder or call that raises is
recorded as ``error`` with its message; a framework without a builder for a workload is
``n/a``.
"""
from __future__ import annotations

import dataclasses

import gc
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from benchmarks.spec import Workload, tolerance
from tensorc.cli.bench_timing import Timing, TimingPlan, time_callable

#: Below this many bytes a workload runs from cache, and a DRAM floor means nothing.
FLOOR_MIN_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Case:
    """One row of the table: a workload at one size and dtype."""
    workload: Workload
    size: int
    dtype: str


@dataclass(frozen=True)
class Cell:
    """One measurement: ``status`` is ``ok``, ``WRONG``, ``error`` or ``n/a``."""
    workload: str
    title: str
    size: int
    dtype: str
    framework: str
    status: str
    timing: Timing | None = None
    detail: str = ""
    floor_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A flat dict for JSON (timing fields inlined, ``None`` when not timed)."""
        timing = self.timing.as_dict() if self.timing else dict.fromkeys(
            ("median_s", "min_s", "max_s", "q1_s", "q3_s", "samples", "number"))
        return {"workload": self.workload, "title": self.title, "size": self.size,
                "dtype": self.dtype, "framework": self.framework, "status": self.status,
                "detail": self.detail, "floor_s": self.floor_s, **timing}


def plan_cases(workloads: Sequence[Workload], quick: bool, sizes: Sequence[int] | None,
               dtypes: Sequence[str] | None) -> list[Case]:
    """The rows to run. ``sizes`` overrides the sizes of ``elements`` workloads only;
    ``dtypes`` filters each workload's own dtypes (a workload left with none keeps its first)."""
    cases: list[Case] = []
    for w in workloads:
        own_sizes = w.quick_sizes if quick else w.sizes
        use_sizes = tuple(sizes) if sizes and w.size_kind == "elements" else own_sizes
        own_dtypes = w.quick_dtypes if quick else w.dtypes
        use_dtypes = own_dtypes
        if dtypes:
            use_dtypes = tuple(d for d in w.dtypes if d in dtypes) or (w.dtypes[0],)
        cases.extend(Case(w, s, d) for s in use_sizes for d in use_dtypes)
    return cases


def upcast(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Float inputs as float64, for the reference."""
    return {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in inputs.items()}


def check_result(got: Any, expected: Any, dtype: str) -> str:
    """Empty when ``got`` matches ``expected`` within the dtype's tolerance, else why not."""
    gots = got if isinstance(got, (list, tuple)) else [got]
    exps = expected if isinstance(expected, (list, tuple)) else [expected]
    if len(gots) != len(exps):
        return f"{len(gots)} outputs, expected {len(exps)}"
    rtol, atol = tolerance(dtype)
    for i, (g, e) in enumerate(zip(gots, exps)):
        g, e = np.asarray(g), np.asarray(e)
        if g.shape != e.shape:
            return f"output {i}: shape {g.shape}, expected {e.shape}"
        g64, e64 = g.astype(np.float64), e.astype(np.float64)
        scale = max(1.0, float(np.nanmax(np.abs(e64)))) if e64.size else 1.0
        if not np.allclose(g64, e64, rtol=rtol, atol=atol * scale, equal_nan=True):
            err = float(np.nanmax(np.abs(g64 - e64))) if g64.size else float("nan")
            return f"output {i}: max abs error {err:.3g} (rtol {rtol:g}, atol {atol * scale:.3g})"
    return ""


def floor_seconds(case: Case, bandwidth_gbps: float | None) -> float | None:
    """Bytes moved / bandwidth, for memory-bound workloads big enough to leave the cache."""
    if bandwidth_gbps is None or case.workload.bytes_moved is None:
        return None
    nbytes = case.workload.bytes_moved(case.size, case.dtype)
    return nbytes / (bandwidth_gbps * 1e9) if nbytes >= FLOOR_MIN_BYTES else None


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 160 characters."""
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return text[:160]


def run_cell(case: Case, framework: str, inputs: dict[str, np.ndarray], expected: Any,
             plan: TimingPlan, floor_s: float | None) -> Cell:
    """Build, check and time one framework on one case."""
    w = case.workload
    base = dict(workload=w.name, title=w.title, size=case.size, dtype=case.dtype,
                framework=framework, floor_s=floor_s)
    builder = w.builder(framework)
    if builder is None:
        return Cell(status="n/a", **base)
    try:
        built = builder(inputs)
        got = built.result(built.run())
    except Exception as exc:  # a framework failing is a result, not a crash
        return Cell(status="error", detail=first_line(exc), **base)
    mismatch = check_result(got, expected, case.dtype)
    if mismatch:
        return Cell(status="WRONG", detail=mismatch, **base)
    try:
        timing = time_callable(built.run, plan)
    except Exception as exc:
        return Cell(status="error", detail=first_line(exc), **base)
    return Cell(status="ok", timing=timing, **base)


def run_suite(cases: Iterable[Case], frameworks: Sequence[str], plan: TimingPlan,
              step: Callable[[str], None], bandwidth_gbps: float | None = None,
              seed: int = 0, report: Callable[[Cell], None] | None = None) -> list[Cell]:
    """Run every case on every framework; ``step(label)`` is called before each cell and
    ``report(cell)`` after it."""
    cells: list[Cell] = []
    for case in cases:
        rng = np.random.default_rng(seed)
        inputs = case.workload.make_inputs(case.size, case.dtype, rng)
        expected = case.workload.reference(upcast(inputs))
        floor_s = floor_seconds(case, bandwidth_gbps)
        for fw in frameworks:
            step(f"{case.workload.name} {fmt_size(case.size)} {short_dtype(case.dtype)} · {fw}")
            cells.append(run_cell(case, fw, inputs, expected, plan, floor_s))
            if report is not None:
                report(cells[-1])
            gc.collect()
    return cells


def fmt_size(size: int) -> str:
    """``1000 → '1e3'``, ``128 → '128'``: powers of ten in short form."""
    if size >= 1000 and size == 10 ** (len(str(size)) - 1):
        return f"1e{len(str(size)) - 1}"
    return str(size)


def short_dtype(dtype: str) -> str:
    """``float64 → 'f64'``."""
    return dtype.replace("float", "f").replace("int", "i")


def by_workload(cases: Sequence[Case]) -> list[list[Case]]:
    """``cases`` cut into runs of the same workload, in order.

    >>> from benchmarks import get_workload
    >>> add, sq = get_workload("add"), get_workload("sumsq")
    >>> [[c.size for c in g] for g in by_workload(
    ...     [Case(add, 1, "float64"), Case(add, 2, "float64"), Case(sq, 3, "float64")])]
    [[1, 2], [3]]
    """
    groups: list[list[Case]] = []
    for c in cases:
        if groups and groups[-1][0].workload.name == c.workload.name:
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def best_of_passes(passes: Sequence[Sequence[Cell]]) -> list[Cell]:
    """One cell per (workload, size, dtype, framework) from several passes: a failed or
    WRONG pass wins (it must be seen), else the pass with the lowest median (noise from
    other processes only ever adds time), with the samples of all passes counted.

    >>> from tensorc.cli.bench_timing import Timing
    >>> t = lambda m: Timing(m, m, m, m, m, 5, 1)
    >>> mk = lambda m: Cell("w", "w", 10, "float64", "numpy", "ok", t(m))
    >>> [c.timing.median_s for c in best_of_passes([[mk(2.0)], [mk(1.5)]])]
    [1.5]
    """
    merged: dict[tuple, Cell] = {}
    for cells in passes:
        for c in cells:
            key = (c.workload, c.size, c.dtype, c.framework)
            old = merged.get(key)
            if old is None or old.status not in ("ok",):
                merged.setdefault(key, c)
                continue
            if c.status != "ok":
                merged[key] = c
            elif c.timing is not None and old.timing is not None:
                best = c if c.timing.median_s < old.timing.median_s else old
                samples = old.timing.samples + c.timing.samples
                merged[key] = dataclasses.replace(
                    best, timing=dataclasses.replace(best.timing, samples=samples))
    return list(merged.values())
