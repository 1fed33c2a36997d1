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


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found: ``number`` calls per sample, ``samples`` to take in all
    (the plan's ``repeat``, fewer for a slow callable), and the seconds per call."""
    number: int
    samples: int
    per_call_s: float


def calibrate(fn: Callable[[], Any], plan: TimingPlan) -> Calibration:
    """Warm up, then find a loop count whose sample lasts ``min_sample_s`` and how many
    samples the budget affords (never fewer than 3).

    >>> c = calibrate(lambda: None, TimingPlan(repeat=4, min_sample_s=1e-4, warmup_s=1e-4,
    ...                                        budget_s=0.5))
    >>> c.samples, c.number > 1
    (4, True)
    """
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
    affordable = int(plan.budget_s / max(per_call * number, 1e-9))
    return Calibration(number=number, samples=max(3, min(plan.repeat, affordable)),
                       per_call_s=per_call)


def sample_block(fn: Callable[[], Any], number: int, count: int,
                 rewarm_s: float = 0.0) -> list[float]:
    """``count`` samples (seconds per call, each the mean of ``number`` calls) with garbage
    collection off; first, untimed calls for up to ``rewarm_s`` (skipped when one call takes
    longer) bring back the caches another process may have evicted.

    >>> len(sample_block(lambda: None, number=10, count=3, rewarm_s=1e-4))
    3
    """
    if count <= 0:
        return []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if rewarm_s > 0:
            first = _loop(fn, 1)
            if first < rewarm_s:
                _loop(fn, min(number, int(rewarm_s / max(first, 1e-9))))
        return [_loop(fn, number) / number for _ in range(count)]
    finally:
        if gc_was_enabled:
            gc.enable()


def quartiles(values: list[float]) -> tuple[float, float]:
    """First and third quartiles (inclusive method; equal to the values for n < 2)."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def timing_of(times: list[float], number: int) -> Timing:
    """Statistics of per-call sample times (at least one).

    >>> timing_of([3.0, 1.0, 2.0], 1).median_s
    2.0
    """
    q1, q3 = quartiles(sorted(times))
    return Timing(median_s=statistics.median(times), min_s=min(times), max_s=max(times),
                  q1_s=q1, q3_s=q3, samples=len(times), number=number)


def spread_over_rounds(samples: int, rounds: int) -> list[int]:
    """How many of ``samples`` each of ``rounds`` takes, spread evenly over the rounds (a
    framework with fewer samples than rounds skips some rounds, not the last ones).

    >>> spread_over_rounds(15, 5), spread_over_rounds(3, 5), spread_over_rounds(7, 3)
    ([3, 3, 3, 3, 3], [1, 0, 1, 0, 1], [3, 2, 2])
    """
    counts = [0] * rounds
    if samples <= 0 or rounds <= 0:
        return counts
    if samples >= rounds:
        for r in range(rounds):
            counts[r] = samples // rounds + (r < samples % rounds)
        return counts
    for i in range(samples):
        counts[round(i * (rounds - 1) / max(samples - 1, 1))] += 1
    return counts


def time_callable(fn: Callable[[], Any], plan: TimingPlan) -> Timing:
    """Time ``fn`` according to ``plan`` (all samples in one block) and return per-call
    statistics."""
    cal = calibrate(fn, plan)
    return timing_of(sample_block(fn, cal.number, cal.samples), cal.number)
