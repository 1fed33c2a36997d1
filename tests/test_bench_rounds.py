"""The interleaved rounds of ``tensorc bench``: per-framework worker processes, samples taken
in turn, and workers that crash or hang. Fake workloads (a catalog module written into a
temporary folder) stand in for the real frameworks; nothing here asserts on timings."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Mapping

import pytest

from tensorc.cli.bench_runner import Case, Cell
from tensorc.cli.bench_timing import TimingPlan
from tensorc.cli.bench_worker import Schedule, Timed, Worker, cell_from_dict, run_interleaved

TINY_PLAN = TimingPlan(repeat=3, min_sample_s=1e-4, warmup_s=1e-4, budget_s=0.2)
ROOT = Path(__file__).resolve().parents[1]

# Each fake builder misbehaves in one way. ``gc.isenabled()`` is False only while samples
# are taken (sample_block), so "crash/hang while timing" happens after the check passed.
FAKE_CATALOG = '''
import gc, os, time
from benchmarks import get_workload as real
from benchmarks.spec import Built, Workload

def good(inputs):
    a, b = inputs["a"], inputs["b"]
    return Built(run=lambda: 2 * a + 3 * b)

def wrong(inputs):
    a, b = inputs["a"], inputs["b"]
    return Built(run=lambda: 2 * a + 2 * b)

def dies_while_timing(inputs):
    a, b = inputs["a"], inputs["b"]
    def run():
        if not gc.isenabled():
            os._exit(7)
        return 2 * a + 3 * b
    return Built(run=run)

def hangs_while_timing(inputs):
    a, b = inputs["a"], inputs["b"]
    def run():
        if not gc.isenabled():
            time.sleep(3600)
        return 2 * a + 3 * b
    return Built(run=run)

def hangs_in_build(inputs):
    time.sleep(3600)

def spins_after_build(inputs):
    import threading
    def spin():
        while True:
            pass
    threading.Thread(target=spin, daemon=True).start()
    return good(inputs)

def get_workload(name):
    add = real("add")
    return Workload(name=name, title="fake " + name, sizes=(100,), quick_sizes=(100,),
                    dtypes=("float64",), quick_dtypes=("float64",),
                    make_inputs=add.make_inputs, reference=add.reference,
                    build_numpy=good, build_numexpr=wrong, build_pytensor=dies_while_timing,
                    build_tensorc=lambda inputs, backend: good(inputs),
                    build_jax={"hang": hangs_in_build, "slow": hangs_while_timing,
                               "spin": spins_after_build}.get(name))
'''


class RecordingWorker(Worker):
    """A worker that logs every command it is sent, as ``(framework, cmd)``."""

    def __init__(self, log: list[tuple[str, str]], *args: Any, **kwargs: Any) -> None:
        self.log = log
        super().__init__(*args, **kwargs)

    def ask(self, message: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        self.log.append((self.framework, message.get("cmd", "ready")))
        return super().ask(message, timeout)


@pytest.fixture()
def catalog_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose workers import the fake catalog ``fakebench``."""
    (tmp_path / "fakebench.py").write_text(FAKE_CATALOG)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def run_fake(cases: list[str], frameworks: list[str], env: dict[str, str], schedule: Schedule,
             log: list[tuple[str, str]], started: list[Worker]) -> dict[tuple[str, str], Any]:
    """Run the fake workloads ``cases`` (one row each) through recording workers."""
    def start(fw: str) -> Worker:
        started.append(RecordingWorker(log, fw, 1, env, catalog="fakebench:get_workload"))
        return started[-1]
    path = Path(env["PYTHONPATH"].split(os.pathsep)[0]) / "fakebench.py"
    spec = importlib.util.spec_from_file_location("fakebench", path)
    assert spec is not None and spec.loader is not None
    fake = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fake)
    rows = [Case(fake.get_workload(name), 100, "float64") for name in cases]
    labels: list[str] = []
    cells = run_interleaved(rows, frameworks, TINY_PLAN, schedule, labels.append, start)
    assert len(labels) == len(cases) * (len(frameworks) + schedule.rounds)
    return {(c.workload, c.framework): c for c in cells}


def test_rounds_interleave_frameworks_and_survive_a_crash(catalog_env: dict[str, str]) -> None:
    log: list[tuple[str, str]] = []
    started: list[Worker] = []
    frameworks = ["numpy", "tensorc-numpy", "numexpr", "pytensor", "jax"]
    cells = run_fake(["one", "two"], frameworks, catalog_env,
                     Schedule(rounds=3, settle_s=0.0, build_s=60.0, sample_s=30.0), log, started)
    for row in ("one", "two"):
        for fw in ("numpy", "tensorc-numpy"):
            ok = cells[(row, fw)]
            assert ok.status == "ok" and ok.timing is not None
            assert ok.timing.samples == 3 and len(ok.round_medians_s) == 3  # one per round
            assert ok.timing.min_s <= ok.timing.median_s <= ok.timing.max_s
        assert cells[(row, "numexpr")].status == "WRONG" and cells[(row, "numexpr")].timing is None
        died = cells[(row, "pytensor")]
        assert died.status == "error" and died.timing is None
        assert "while timing" in died.detail and "status 7" in died.detail
        assert cells[(row, "jax")].status == "n/a"
    # the WRONG cell is never timed; the crashed worker was replaced for the second row
    assert ("numexpr", "sample") not in log
    assert log.count(("pytensor", "build")) == log.count(("pytensor", "sample")) == 2
    assert sum(w.framework == "pytensor" for w in started) == 2
    assert sum(w.framework == "numpy" for w in started) == 1  # kept across rows
    # one block per framework and round, the order rotated each round
    samples = [fw for fw, cmd in log if cmd == "sample"]
    assert samples == ["numpy", "tensorc-numpy", "pytensor", "tensorc-numpy", "numpy",
                       "numpy", "tensorc-numpy"] * 2
    assert all(w.proc.poll() is not None for w in started)  # every worker ended


def test_hanging_workers_are_killed_and_the_run_goes_on(catalog_env: dict[str, str]) -> None:
    log: list[tuple[str, str]] = []
    started: list[Worker] = []
    cells = run_fake(["hang", "slow"], ["jax", "numpy"], catalog_env,
                     Schedule(rounds=2, settle_s=0.0, build_s=2.0, sample_s=1.0, slack=1.0),
                     log, started)
    assert cells[("hang", "jax")].status == "error"
    assert "while building" in cells[("hang", "jax")].detail
    assert "no answer within 2s" in cells[("hang", "jax")].detail
    assert cells[("slow", "jax")].status == "error"
    assert "while timing" in cells[("slow", "jax")].detail
    assert cells[("hang", "numpy")].status == "ok" and cells[("slow", "numpy")].status == "ok"
    assert all(w.proc.poll() is not None for w in started)


def test_cells_round_trip_through_json() -> None:
    base = Cell("add", "2*a+3*b", 10, "float64", "numpy", "ok")
    t = Timed(base, number=10, per_call_s=1e-6, counts=[2, 1], blocks=[[3.0, 1.0], [2.0]])
    cell = t.result()
    assert cell.timing is not None and cell.timing.median_s == 2.0 and cell.timing.samples == 3
    assert cell.round_medians_s == (2.0, 2.0)
    d = cell.as_dict()
    assert d["rounds"] == 2 and d["round_medians_s"] == [2.0, 2.0]
    assert cell_from_dict(d) == cell


def test_settle_waits_while_a_worker_burns_cpu(catalog_env: dict[str, str]) -> None:
    """``settle`` returns at once for an idle worker and waits its limit for a busy one."""
    workers = [Worker("jax", 1, catalog_env, catalog="fakebench:get_workload") for _ in "ab"]
    try:
        for w in workers:
            w.ready(60)
        idle, busy = workers
        event = busy.ask({"cmd": "build", "case": ["spin", 100, "float64"],
                          "plan": TINY_PLAN.__dict__, "seed": 0}, 60)
        assert event["cell"]["status"] == "ok"
        assert busy.cpu_ns() is not None
        assert idle.settle(0.5, quiet_s=0.05) < 0.4
        assert busy.settle(0.3, quiet_s=0.05) >= 0.3
    finally:
        for w in workers:
            w.close()
