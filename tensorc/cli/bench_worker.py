"""Per-framework worker processes, and the interleaved rounds that time a row through them.

Every framework runs in its own process (started on first use and kept for the whole run),
so that no framework's import (jax, torch and PyTensor each bring thread pools) shares a
process with another's, and so that a crash (a segfault in a kernel, a fatal XLA error)
costs one cell, not the run. For each case (workload, size, dtype) the coordinator asks every
framework's worker to build, check and calibrate the cell, then takes the samples in
*rounds*: one block of samples from framework 1, then 2, ..., then 1 again, ..., in an order
rotated each round. The samples of a cell are spread over the whole row's time, so this
VM's drift in speed (up to 2x over minutes) hits every framework of the row alike.

A worker that dies or does not answer within its deadline is killed (with any process it
started), its cell becomes ``error``, and a fresh worker takes its next case.

Protocol: a JSON line per message. The worker reads a ``hello`` then commands on stdin
(``build``, ``sample``, ``drop``) and answers each with one line starting with
``{"event"`` on stdout (other output, e.g. library chatter, goes to stderr).

``python -m tensorc.cli.bench_worker`` (driven by :class:`Worker`)
"""
from __future__ import annotations

import dataclasses
import gc
import importlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from benchmarks.spec import PEER_MODULES
from tensorc.cli.bench_runner import (Case, Cell, Prepared, case_data, cell_label, first_line,
                                      floor_seconds, prepare_cell)
from tensorc.cli.bench_timing import (Timing, TimingPlan, sample_block, spread_over_rounds,
                                      timing_of)

TIMING_FIELDS = ("median_s", "min_s", "max_s", "q1_s", "q3_s", "samples", "number")
DEFAULT_CATALOG = "benchmarks:get_workload"


@dataclass(frozen=True)
class Schedule:
    """How a row is timed: ``rounds`` blocks per framework; before a block of a different
    framework, a wait of up to ``settle_s`` until the last one's idle threads stop spinning
    (OpenBLAS spins for up to ~0.1 s after a call, OpenMP for ~10 ms);
    ``rewarm_s`` of untimed calls before each block (caches); deadlines for a worker's
    start-up (its framework's import), its answer to ``build`` and to ``sample``
    (``sample_s`` plus ``slack`` times the block's expected duration)."""
    rounds: int = 5
    settle_s: float = 0.2
    rewarm_s: float = 0.002
    start_s: float = 300.0
    build_s: float = 600.0
    sample_s: float = 60.0
    slack: float = 20.0


class WorkerFailed(Exception):
    """The worker died or missed a deadline (it has been killed)."""


def cell_from_dict(d: Mapping[str, Any]) -> Cell:
    """Rebuild a :class:`Cell` from :meth:`Cell.as_dict`.

    >>> c = Cell("add", "a+b", 10, "float64", "numpy", "n/a")
    >>> cell_from_dict(c.as_dict()) == c
    True
    """
    timing = Timing(**{k: d[k] for k in TIMING_FIELDS}) if d.get("median_s") is not None else None
    return Cell(workload=d["workload"], title=d["title"], size=d["size"], dtype=d["dtype"],
                framework=d["framework"], status=d["status"], timing=timing,
                detail=d.get("detail", ""), floor_s=d.get("floor_s"),
                round_medians_s=tuple(d.get("round_medians_s") or ()))


def failed_cell(case: Case, framework: str, detail: str, floor_s: float | None = None) -> Cell:
    """The ``error`` cell of a framework whose worker failed on ``case``."""
    w = case.workload
    return Cell(workload=w.name, title=w.title, size=case.size, dtype=case.dtype,
                framework=framework, status="error", detail=detail[:160], floor_s=floor_s)


class Worker:
    """One framework's worker process; :meth:`ask` sends a command and waits for the answer."""

    def __init__(self, framework: str, threads: int, env: Mapping[str, str],
                 catalog: str = DEFAULT_CATALOG, command: Sequence[str] | None = None) -> None:
        self.framework = framework
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            list(command or [sys.executable, "-m", "tensorc.cli.bench_worker"]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True,
            env=dict(env), start_new_session=True)  # its own group: kill() reaches its children
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._send({"framework": framework, "threads": threads, "catalog": catalog})

    def cpu_ns(self) -> int | None:
        """CPU time used so far by all threads of the worker (Linux), ``None`` if unknown."""
        total = 0
        try:
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/schedstat", "rb") as fh:
                    total += int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return total

    def settle(self, limit_s: float, quiet_s: float = 0.02) -> float:
        """Wait until the worker's threads have used under 2% of a core for ``quiet_s``
        (at most ``limit_s``, or ``quiet_s`` where CPU times cannot be read); the seconds
        waited."""
        start = time.perf_counter()
        last = self.cpu_ns()
        while True:
            time.sleep(quiet_s)
            now = self.cpu_ns()
            waited = time.perf_counter() - start
            if now is None or last is None or now - last < 0.02 * quiet_s * 1e9 \
                    or waited >= limit_s:
                return waited
            last = now

    def ready(self, timeout: float) -> None:
        """Wait until the worker has imported its framework (:class:`WorkerFailed` if not)."""
        event = self.ask({}, timeout)
        if event.get("event") != "ready":
            self.kill()
            raise WorkerFailed(f"worker said {event.get('event')!r} instead of 'ready'")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith('{"event"'):
                self.events.put(json.loads(line))
        self.events.put(None)

    def _send(self, message: Mapping[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the reader sees the end of the stream and reports the exit

    def ask(self, message: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``message`` (nothing when empty); the answer, or :class:`WorkerFailed` after
        killing the worker."""
        if message:
            self._send(message)
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise WorkerFailed(f"worker gave no answer within {timeout:.0f}s (killed)") from None
        if event is None:
            code = self.proc.wait()
            why = f"worker exited with status {code}" + self._stderr_tail()
            self.kill()
            raise WorkerFailed(why)
        return event

    def _stderr_tail(self) -> str:
        if self.err.closed:
            return ""
        self.err.seek(0)
        tail = [line for line in self.err.read().splitlines() if line.strip()][-1:]
        return f": {tail[0][:120]}" if tail else ""

    def kill(self) -> None:
        """Kill the worker and every process of its group (started by it)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.err):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """End the worker: end of input, then a kill if it has not exited within 10 s."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


@dataclass
class Timed:
    """A framework's cell being timed: the ``ok`` cell from its build, its loop count,
    the samples it takes per round, and those taken so far (one list per block)."""
    cell: Cell
    number: int
    per_call_s: float
    counts: list[int]
    blocks: list[list[float]] = dataclasses.field(default_factory=list)

    def result(self) -> Cell:
        """The cell with statistics over every sample of every round."""
        times = [t for block in self.blocks for t in block]
        medians = tuple(timing_of(b, self.number).median_s for b in self.blocks if b)
        return dataclasses.replace(self.cell, timing=timing_of(times, self.number),
                                   round_medians_s=medians)


def run_interleaved(cases: Sequence[Case], frameworks: Sequence[str], plan: TimingPlan,
                    schedule: Schedule, step: Callable[[str], None],
                    start: Callable[[str], Worker], bandwidth_gbps: float | None = None,
                    seed: int = 0) -> list[Cell]:
    """Every case on every framework, each case's samples taken in interleaved rounds;
    ``start(framework)`` makes a worker (again after one failed). ``step`` is called before
    each framework's build and before each round."""
    workers: dict[str, Worker | None] = dict.fromkeys(frameworks)
    cells: list[Cell] = []
    try:
        for case in cases:
            cells.extend(run_case(case, frameworks, plan, schedule, step, start, workers,
                                  bandwidth_gbps, seed))
    finally:
        for w in workers.values():
            if w is not None:
                w.close()
    return cells


def run_case(case: Case, frameworks: Sequence[str], plan: TimingPlan, schedule: Schedule,
             step: Callable[[str], None], start: Callable[[str], Worker],
             workers: dict[str, Worker | None], bandwidth_gbps: float | None,
             seed: int) -> list[Cell]:
    """One row: build everywhere, then the rounds, then free every worker's inputs."""
    floor_s = floor_seconds(case, bandwidth_gbps)
    done: dict[str, Cell] = {}
    timed: dict[str, Timed] = {}

    def failed(fw: str, exc: WorkerFailed, when: str) -> None:
        workers[fw] = None
        timed.pop(fw, None)
        done[fw] = failed_cell(case, fw, f"{when}: {exc}", floor_s)

    fresh = [fw for fw in frameworks if workers[fw] is None]
    for fw in fresh:  # started together: their imports overlap
        workers[fw] = start(fw)
    for fw in fresh:
        try:
            workers[fw].ready(schedule.start_s)  # type: ignore[union-attr]
        except WorkerFailed as exc:
            failed(fw, exc, "while starting")
    for fw in frameworks:
        step(cell_label(case, fw) + " (build, check)")
        worker = workers[fw]
        if worker is None:
            continue
        try:
            event = worker.ask({"cmd": "build", "case": [case.workload.name, case.size,
                                case.dtype], "plan": plan.__dict__, "seed": seed},
                               schedule.build_s)
        except WorkerFailed as exc:
            failed(fw, exc, "while building")
            continue
        cell = dataclasses.replace(cell_from_dict(event["cell"]), floor_s=floor_s)
        if cell.status != "ok":
            done[fw] = cell
            continue
        timed[fw] = Timed(cell, event["number"], event["per_call_s"],
                          spread_over_rounds(event["samples"], schedule.rounds))
    last: Worker | None = None
    for r in range(schedule.rounds):
        step(f"{cell_label(case)} · round {r + 1}/{schedule.rounds}")
        order = [*frameworks[r % len(frameworks):], *frameworks[:r % len(frameworks)]]
        for fw in order:
            t = timed.get(fw)
            worker = workers[fw]
            if t is None or worker is None or t.counts[r] == 0:
                continue
            if last is not None and last is not worker and last.proc.poll() is None:
                last.settle(schedule.settle_s)
            last = worker
            expected = t.number * t.per_call_s * t.counts[r]
            try:
                event = worker.ask({"cmd": "sample", "count": t.counts[r],
                                    "rewarm_s": schedule.rewarm_s},
                                   schedule.sample_s + schedule.slack * expected)
            except WorkerFailed as exc:
                failed(fw, exc, "while timing")
                continue
            if event["event"] != "samples":
                done[fw] = dataclasses.replace(t.cell, status="error", detail=event["detail"])
                timed.pop(fw)
                continue
            t.blocks.append(event["times"])
    for fw, t in timed.items():
        done[fw] = t.result()
    for fw in frameworks:
        worker = workers[fw]
        if worker is not None:
            try:
                worker.ask({"cmd": "drop"}, schedule.sample_s)
            except WorkerFailed:
                workers[fw] = None
    return [done[fw] for fw in frameworks]


def load_catalog(spec: str) -> Callable[[str], Any]:
    """``'module:function'`` → the function that returns a workload by name.

    >>> load_catalog(DEFAULT_CATALOG)("add").name
    'add'
    """
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def serve(framework: str, catalog: Callable[[str], Any], message: Mapping[str, Any],
          state: dict[str, Any]) -> dict[str, Any]:
    """The answer to one command; ``state`` holds the case being timed between commands."""
    cmd = message["cmd"]
    if cmd == "build":
        state.clear()
        gc.collect()
        name, size, dtype = message["case"]
        title = name
        try:
            workload = catalog(name)
            title = workload.title
            case = Case(workload, size, dtype)
            inputs, expected = case_data(case, message["seed"])
            prep = prepare_cell(case, framework, inputs, expected, TimingPlan(**message["plan"]),
                                None)
        except Exception as exc:  # unknown workload, inputs or reference failed (memory)
            return {"event": "built", "cell": Cell(name, title, size, dtype, framework, "error",
                                                   detail=first_line(exc)).as_dict()}
        del expected
        state["prep"], state["inputs"] = prep, inputs
        cal = prep.calibration
        return {"event": "built", "cell": prep.cell.as_dict(), "number": cal and cal.number,
                "samples": cal and cal.samples, "per_call_s": cal and cal.per_call_s}
    if cmd == "sample":
        ready: Prepared = state["prep"]
        assert ready.run is not None and ready.calibration is not None
        try:
            times = sample_block(ready.run, ready.calibration.number, message["count"],
                                 message.get("rewarm_s", 0.0))
        except Exception as exc:
            return {"event": "failed", "detail": first_line(exc)}
        return {"event": "samples", "times": times}
    state.clear()
    gc.collect()
    return {"event": "dropped"}


def worker_main() -> int:
    """Serve commands from stdin until it closes, answering on stdout."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # frameworks that print must not corrupt the event stream
    hello = json.loads(sys.stdin.readline())
    framework = hello["framework"]
    try:  # the framework's import now, while the coordinator waits for every worker
        if framework in PEER_MODULES:
            importlib.import_module(PEER_MODULES[framework])
        if framework.startswith("torch"):
            import torch
            torch.set_num_threads(hello["threads"])
    except ImportError:
        pass  # its builders report the error
    catalog = load_catalog(hello["catalog"])
    out.write(json.dumps({"event": "ready"}) + "\n")
    state: dict[str, Any] = {}
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(serve(framework, catalog, json.loads(line), state)) + "\n")
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
