"""One framework's cells of one workload, run in their own process.

Each framework gets a fresh process for each workload (its column is cut by workload so
that all frameworks of a workload are timed close together in time), so that no other framework's thread pool is alive or
spinning while it is timed (OpenBLAS, OpenMP and XLA workers busy-wait after each call),
and so that a crash (a segfault in a kernel, a fatal XLA error) costs one column, not the
run. The worker reads a JSON job on stdin and writes JSON lines on stdout: a ``start``
event before each cell (for the progress bar) and a ``cell`` event with its result.

``python -m tensorc.cli.bench_worker < job.json``
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any, Callable, Iterator, Mapping, Sequence

from tensorc.cli.bench_runner import Case, Cell, run_suite
from tensorc.cli.bench_timing import Timing, TimingPlan

TIMING_FIELDS = ("median_s", "min_s", "max_s", "q1_s", "q3_s", "samples", "number")


def cell_from_dict(d: Mapping[str, Any]) -> Cell:
    """Rebuild a :class:`Cell` from :meth:`Cell.as_dict`."""
    timing = Timing(**{k: d[k] for k in TIMING_FIELDS}) if d.get("median_s") is not None else None
    return Cell(workload=d["workload"], title=d["title"], size=d["size"], dtype=d["dtype"],
                framework=d["framework"], status=d["status"], timing=timing,
                detail=d.get("detail", ""), floor_s=d.get("floor_s"))


def job_for(framework: str, cases: Sequence[Case], plan: TimingPlan, threads: int,
            bandwidth_gbps: float | None, seed: int) -> dict[str, Any]:
    """The JSON job describing one framework's column."""
    return {"framework": framework, "threads": threads, "seed": seed,
            "bandwidth_gbps": bandwidth_gbps, "plan": plan.__dict__,
            "cases": [[c.workload.name, c.size, c.dtype] for c in cases]}


def failed_cell(case: Case, framework: str, detail: str) -> Cell:
    """The result of a cell the worker never reported (it crashed before)."""
    w = case.workload
    return Cell(workload=w.name, title=w.title, size=case.size, dtype=case.dtype,
                framework=framework, status="error", detail=detail)


def run_column(framework: str, cases: Sequence[Case], plan: TimingPlan, threads: int,
               bandwidth_gbps: float | None, seed: int, env: Mapping[str, str],
               step: Callable[[str], None]) -> list[Cell]:
    """Run one framework's cells in a worker process; a crash marks the rest as errors."""
    job = job_for(framework, cases, plan, threads, bandwidth_gbps, seed)
    cells: list[Cell] = []
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tensorc.cli.bench_worker"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                text=True, env=dict(env))
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
        for event in _events(proc.stdout):
            if event["event"] == "start":
                step(event["label"])
            elif event["event"] == "cell":
                cells.append(cell_from_dict(event["cell"]))
        code = proc.wait()
        err.seek(0)
        tail = [line for line in err.read().splitlines() if line.strip()][-1:]
    if len(cells) < len(cases):
        why = f"worker exited with status {code}" + (f": {tail[0][:120]}" if tail else "")
        for case in cases[len(cells):]:
            step(f"{case.workload.name} · {framework} (skipped: worker died)")
            cells.append(failed_cell(case, framework, why))
    return cells


def _events(stream: Any) -> Iterator[dict[str, Any]]:
    """JSON events from the worker's stdout (other lines, e.g. library chatter, skipped)."""
    for line in stream:
        if line.startswith('{"event"'):
            yield json.loads(line)


def worker_main(job: Mapping[str, Any]) -> int:
    """Run a job in this process, writing events to stdout."""
    from benchmarks import get_workload
    framework = job["framework"]
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # frameworks that print must not corrupt the event stream
    if framework.startswith("torch"):
        try:
            import torch
            torch.set_num_threads(job["threads"])
        except ImportError:
            pass
    cases = [Case(get_workload(name), size, dtype) for name, size, dtype in job["cases"]]
    plan = TimingPlan(**job["plan"])

    def step(label: str) -> None:
        out.write(json.dumps({"event": "start", "label": label}) + "\n")

    def report(cell: Cell) -> None:
        out.write(json.dumps({"event": "cell", "cell": cell.as_dict()}) + "\n")

    run_suite(cases, [framework], plan, step, job["bandwidth_gbps"], job["seed"], report)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(json.loads(sys.stdin.read())))
