"""Running the suite: for each case (workload, size, dtype) and framework, build, check, time.

A result is checked against the numpy reference (computed in float64) before any timing;
a wrong result is recorded as ``WRONG`` and never timed. A builder or call that raises is
recorded as ``error`` with its message; a framework without a builder for a workload is
``n/a``. :func:`prepare_cell` does the building and checking (and calibrates the timing
loop); the ``tensorc bench`` command does that in one worker process per framework and
takes the samples in interleaved rounds (:mod:`tensorc.cli.bench_worker`); :func:`run_suite`
does everything in this process, one cell after the other (tests, quick checks).
"""
from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from benchmarks.spec import Workload, tolerance
from tensorc.cli.bench_timing import (Calibration, Timing, TimingPlan, calibrate, sample_block,
                                      timing_of)

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
    """One measurement: ``status`` is ``ok``, ``WRONG``, ``error`` or ``n/a``.

    ``round_medians_s`` holds the median of each round's block of samples when the samples
    were taken in interleaved rounds (empty otherwise): their spread is the drift of the
    machine during the row, which the cell's median is robust to."""
    workload: str
    title: str
    size: int
    dtype: str
    framework: str
    status: str
    timing: Timing | None = None
    detail: str = ""
    floor_s: float | None = None
    round_medians_s: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A flat dict for JSON (timing fields inlined, ``None`` when not timed)."""
        timing = self.timing.as_dict() if self.timing else dict.fromkeys(
            ("median_s", "min_s", "max_s", "q1_s", "q3_s", "samples", "number"))
        return {"workload": self.workload, "title": self.title, "size": self.size,
                "dtype": self.dtype, "framework": self.framework, "status": self.status,
                "detail": self.detail, "floor_s": self.floor_s, **timing,
                "rounds": len(self.round_medians_s) or None,
                "round_medians_s": list(self.round_medians_s)}


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


@dataclass(frozen=True)
class Prepared:
    """A cell built and checked: ``cell`` is final when it is not ``ok`` (``n/a``, ``error``,
    ``WRONG``); otherwise ``run`` is the callable to time, calibrated as ``calibration``."""
    cell: Cell
    run: Callable[[], Any] | None = None
    calibration: Calibration | None = None


def case_data(case: Case, seed: int) -> tuple[dict[str, np.ndarray], Any]:
    """The case's inputs (from ``seed``: every process makes the same) and the float64
    reference result."""
    inputs = case.workload.make_inputs(case.size, case.dtype, np.random.default_rng(seed))
    return inputs, case.workload.reference(upcast(inputs))


def prepare_cell(case: Case, framework: str, inputs: dict[str, np.ndarray], expected: Any,
                 plan: TimingPlan, floor_s: float | None) -> Prepared:
    """Build one framework on one case, check its result, and calibrate its timing loop."""
    w = case.workload
    base = dict(workload=w.name, title=w.title, size=case.size, dtype=case.dtype,
                framework=framework, floor_s=floor_s)
    builder = w.builder(framework)
    if builder is None:
        return Prepared(Cell(status="n/a", **base))
    try:
        built = builder(inputs)
        got = built.result(built.run())
    except Exception as exc:  # a framework failing is a result, not a crash
        return Prepared(Cell(status="error", detail=first_line(exc), **base))
    mismatch = check_result(got, expected, case.dtype)
    if mismatch:
        return Prepared(Cell(status="WRONG", detail=mismatch, **base))
    try:
        calibration = calibrate(built.run, plan)
    except Exception as exc:
        return Prepared(Cell(status="error", detail=first_line(exc), **base))
    return Prepared(Cell(status="ok", **base), built.run, calibration)


def run_cell(case: Case, framework: str, inputs: dict[str, np.ndarray], expected: Any,
             plan: TimingPlan, floor_s: float | None) -> Cell:
    """Build, check and time one framework on one case (all samples in one block)."""
    prep = prepare_cell(case, framework, inputs, expected, plan, floor_s)
    if prep.run is None or prep.calibration is None:
        return prep.cell
    try:
        times = sample_block(prep.run, prep.calibration.number, prep.calibration.samples)
    except Exception as exc:
        return dataclasses.replace(prep.cell, status="error", detail=first_line(exc))
    return dataclasses.replace(prep.cell, timing=timing_of(times, prep.calibration.number))


def run_suite(cases: Iterable[Case], frameworks: Sequence[str], plan: TimingPlan,
              step: Callable[[str], None], bandwidth_gbps: float | None = None,
              seed: int = 0, report: Callable[[Cell], None] | None = None) -> list[Cell]:
    """Run every case on every framework in this process, one cell after the other;
    ``step(label)`` is called before each cell and ``report(cell)`` after it."""
    cells: list[Cell] = []
    for case in cases:
        inputs, expected = case_data(case, seed)
        floor_s = floor_seconds(case, bandwidth_gbps)
        for fw in frameworks:
            step(cell_label(case, fw))
            cells.append(run_cell(case, fw, inputs, expected, plan, floor_s))
            if report is not None:
                report(cells[-1])
            gc.collect()
    return cells


def cell_label(case: Case, framework: str = "") -> str:
    """``'add 1e3 f64 · numpy'``: a case (and framework) for progress lines."""
    label = f"{case.workload.name} {fmt_size(case.size)} {short_dtype(case.dtype)}"
    return f"{label} · {framework}" if framework else label


def fmt_size(size: int) -> str:
    """``1000 → '1e3'``, ``128 → '128'``: powers of ten in short form."""
    if size >= 1000 and size == 10 ** (len(str(size)) - 1):
        return f"1e{len(str(size)) - 1}"
    return str(size)


def short_dtype(dtype: str) -> str:
    """``float64 → 'f64'``."""
    return dtype.replace("float", "f").replace("int", "i")
