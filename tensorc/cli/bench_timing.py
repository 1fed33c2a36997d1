"""Timing one callable: warm-up, calibration of the inner loop, samples, robust statistics.

Like ``timeit``: garbage collection is off while sampling, each sample loops the callable
``number`` times so that a sample lasts long enough for the clock, and the statistics are
per call. The median is the headline; min/max and the quartiles show the spread.

>>> t = time_callable(lambda: None, TimingPlan(repeat=3, min_sample_s=1e-4,
...                                            warmup_s=1e-4, budget_s=0.5))
>>> t.samples == 3 and t.min_s <= t.median_s <= t.max_s
True
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class TimingPlan:
    """How hard to time: ``repeat`` samples of at least ``min_sample_s`` each, after
    ``warmup_s`` of warm-up, with fewer samples (never under 3) if ``budget_s`` would be
    exceeded by a slow callable."""
    repeat: int
    min_sample_s: float
    warmup_s: float
    budget_s: float


@dataclass(frozen=True)
class Timing:
    """Per-call statistics of one timed callable, in seconds."""
    median_s: float
    min_s: float
    max_s: float
    q1_s: float
    q3_s: float
    samples: int
    number: int

    @property
    def spread(self) -> float:
        """Half the interquartile range relative to the median (0.02 means ±2%)."""
        return (self.q3_s - self.q1_s) / 2 / self.median_s if self.median_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The fields, for JSON."""
        return asdict(self)


def quick_plan(repeat: int | None) -> TimingPlan:
    """The ``--quick`` plan: 5 short samples, about 0.6 s per cell at most."""
    return TimingPlan(repeat=repeat or 5, min_sample_s=0.002, warmup_s=0.01, budget_s=0.6)


def full_plan(repeat: int | None) -> TimingPlan:
    """The default plan: 15 samples of at least 10 ms, about 3 s per cell at most."""
    return TimingPlan(repeat=repeat or 15, min_sample_s=0.01, warmup_s=0.1, budget_s=3.0)


def _loop(fn: Callable[[], Any], number: int) -> float:
    """Seconds taken by ``number`` calls of ``fn``."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


def _calibrate(fn: Callable[[], Any], plan: TimingPlan) -> tuple[int, float]:
    """Warm up, then find a loop count whose sample lasts ``min_sample_s``; returns
    ``(number, seconds per call)``."""
    spent, calls = 0.0, 0
    while calls < 2 or spent < plan.warmup_s:
        spent += _loop(fn, 1)
        calls += 1
        if spent > plan.budget_s / 4:
            break
    per_call = spent / calls
    number = 1
    while number * per_call < plan.min_sample_s and number < 1_000_000:
        number *= 2 if number * per_call * 10 > plan.min_sample_s else 10
    if number > 1:
        per_call = _loop(fn, number) / number
    return number, per_call


def quartiles(values: list[float]) -> tuple[float, float]:
    """First and third quartiles (inclusive method; equal to the values for n < 2)."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def time_callable(fn: Callable[[], Any], plan: TimingPlan) -> Timing:
    """Time ``fn`` according to ``plan`` and return per-call statistics."""
    number, per_call = _calibrate(fn, plan)
    affordable = int(plan.budget_s / max(per_call * number, 1e-9))
    samples = max(3, min(plan.repeat, affordable))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        times = [_loop(fn, number) / number for _ in range(samples)]
    finally:
        if gc_was_enabled:
            gc.enable()
    q1, q3 = quartiles(sorted(times))
    return Timing(median_s=statistics.median(times), min_s=min(times), max_s=max(times),
                  q1_s=q1, q3_s=q3, samples=samples, number=number)
