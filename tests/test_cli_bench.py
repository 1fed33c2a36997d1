"""The ``tensorc`` CLI and the bench runner: argument errors, JSON schema, a tiny end-to-end run,
WRONG detection. Correctness only: nothing here asserts on timings."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import all_workloads, get_workload, workload_names
from benchmarks.spec import Built, Workload
from tensorc.cli.bench_env import thread_env
from tensorc.cli.bench_report import render
from tensorc.cli.bench_runner import Case, check_result, plan_cases, run_suite
from tensorc.cli.bench_timing import TimingPlan
from tensorc.cli.main import main

TINY_PLAN = TimingPlan(repeat=3, min_sample_s=1e-4, warmup_s=1e-4, budget_s=0.2)


def run_cli(args: list[str], tmp_path: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``python -m tensorc ARGS`` in a subprocess with a temporary kernel cache."""
    env = dict(os.environ, TENSORC_FLAGS=f"cache_dir={tmp_path / 'cache'}")
    env.update(thread_env(1, {}))  # already set: the bench runs without re-executing itself
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "tensorc.cli.main", *args], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=timeout)


# --- argument errors: exit non-zero with a message naming the problem ------------------------


@pytest.mark.parametrize("args, message", [
    (["bench", "--workloads", "nope"], "unknown workload nope"),
    (["bench", "--frameworks", "numpy,tensorflow"], "unknown framework tensorflow"),
    (["bench", "--sizes", "ten"], "is not a number"),
    (["bench", "--sizes", "-5"], "positive whole number"),
    (["bench", "--repeat", "0"], "must be at least 1"),
    (["bench", "--threads", "x"], "is not a whole number"),
    (["bench", "--dtypes", "int8"], "unknown dtype int8"),
    (["bench", "--bogus"], "unrecognized arguments"),
    (["nosuchcommand"], "invalid choice"),
])
def test_argument_errors(args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code != 0
    assert message in capsys.readouterr().err


def test_compare_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--compare", str(tmp_path / "old.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_json_into_missing_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--json", str(tmp_path / "no" / "out.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_version_and_config(capsys: pytest.CaptureFixture) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tensorc ")
    assert main(["config", "--json"]) == 0
    flags = {f["name"]: f for f in json.loads(capsys.readouterr().out)}
    assert {"floatX", "cache_dir", "backend"} <= set(flags)
    assert all(f["source"] for f in flags.values())


# --- the suite itself ------------------------------------------------------------------------


def test_every_workload_is_declared_completely() -> None:
    names = workload_names()
    assert len(set(names)) == len(names)
    required = {"add", "chain", "sumsq", "softmax", "logsumexp", "dense_relu", "mlp_step",
                "logreg_step", "overhead", "grad"}
    assert required <= set(names)
    for w in all_workloads():
        assert w.builder("numpy") is not None and w.builder("tensorc-c") is not None
        assert w.quick_sizes and w.quick_dtypes and set(w.quick_dtypes) <= set(w.dtypes)


@pytest.mark.parametrize("name", workload_names())
def test_numpy_builder_matches_reference(name: str) -> None:
    """Every workload's numpy column passes its own check at the smallest quick size."""
    w = get_workload(name)
    case = Case(w, w.quick_sizes[0], w.quick_dtypes[0])
    cells = run_suite([case], ["numpy"], TINY_PLAN, lambda label: None)
    assert cells[0].status == "ok", cells[0].detail


def test_sizes_override_only_element_workloads() -> None:
    cases = plan_cases([get_workload("add"), get_workload("mlp_step")], quick=True,
                       sizes=[10], dtypes=["float64"])
    assert [(c.workload.name, c.size, c.dtype) for c in cases] == [
        ("add", 10, "float64"), ("mlp_step", 128, "float64")]


def broken_workload() -> Workload:
    """``add`` whose numpy builder computes ``2*a+2*b`` and whose torch builder raises."""
    add = get_workload("add")

    def wrong(inputs: dict) -> Built:
        a, b = inputs["a"], inputs["b"]
        return Built(run=lambda: 2 * a + 2 * b)

    def raises(inputs: dict) -> Built:
        raise RuntimeError("no such kernel")
    return Workload(name="broken", title="broken add", sizes=(100,), quick_sizes=(100,),
                    dtypes=("float64",), quick_dtypes=("float64",),
                    make_inputs=add.make_inputs, reference=add.reference,
                    build_numpy=wrong, build_torch=raises)


def test_wrong_result_is_flagged_and_never_timed() -> None:
    case = Case(broken_workload(), 100, "float64")
    cells = run_suite([case], ["numpy", "torch", "jax"], TINY_PLAN, lambda label: None)
    by_fw = {c.framework: c for c in cells}
    assert by_fw["numpy"].status == "WRONG" and by_fw["numpy"].timing is None
    assert "max abs error" in by_fw["numpy"].detail
    assert by_fw["torch"].status == "error" and "no such kernel" in by_fw["torch"].detail
    assert by_fw["jax"].status == "n/a"
    doc = {"frameworks": {"available": ["numpy", "torch"], "missing": {}},
           "results": [c.as_dict() for c in cells],
           "machine": {"python": "3", "numpy": np.__version__, "cpu": "cpu", "cores": 1,
                       "cpu_flags": [], "memory_gib": 1, "compiler": None},
           "settings": {"quick": True, "threads": 1}, "versions": {"tensorc": "0"},
           "blas_summary": "blas", "stream": {"note": "not measured"}}
    text = render(doc)
    assert "WRONG[1]" in text and "error[2]" in text and "2*a" not in text.split("\n")[-2]


def test_check_result_tolerances() -> None:
    ref = np.linspace(-1, 1, 50)
    assert check_result(ref.astype(np.float32), ref, "float32") == ""
    assert check_result(ref + 1e-3, ref, "float64") != ""
    assert "shape" in check_result(ref[:10], ref, "float64")
    assert check_result([ref, ref], [ref], "float64").startswith("2 outputs")


# --- end to end ------------------------------------------------------------------------------

SCHEMA_KEYS = {"schema", "created", "command", "settings", "machine", "blas", "blas_summary",
               "env", "versions", "frameworks", "stream", "results", "compile"}
RESULT_KEYS = {"workload", "title", "size", "dtype", "framework", "status", "detail",
               "floor_s", "median_s", "min_s", "max_s", "q1_s", "q3_s", "samples", "number"}


def test_tiny_run_end_to_end(tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "run.json", tmp_path / "run.md"
    proc = run_cli(["bench", "--quick", "--workloads", "add", "--sizes", "1000", "--repeat", "3",
                    "--threads", "1", "--frameworks", "tensorc-numpy,numpy", "--no-stream",
                    "--json", str(out_json), "--markdown", str(out_md)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2*a+3*b" in proc.stdout and "Compile cost" in proc.stdout
    assert "[1/" in proc.stderr  # plain progress lines when not a terminal
    doc = json.loads(out_json.read_text())
    assert SCHEMA_KEYS <= set(doc)
    assert doc["schema"] == "tensorc-bench/1"
    assert {"cpu", "cores", "python", "numpy"} <= set(doc["machine"])
    numpy_cells = [r for r in doc["results"] if r["framework"] == "numpy"]
    assert [(r["size"], r["dtype"]) for r in numpy_cells] == [(1000, "float32"), (1000, "float64")]
    for r in doc["results"]:
        assert RESULT_KEYS <= set(r)
        assert r["status"] in ("ok", "WRONG", "error", "n/a")
    assert all(r["status"] == "ok" and r["min_s"] <= r["median_s"] <= r["max_s"]
               for r in numpy_cells)
    # quick runs take 3 interleaved rounds; 3 samples are spread one per round
    assert doc["settings"]["schedule"] == "interleaved" and doc["settings"]["rounds"] == 3
    assert all(r["rounds"] == 3 and len(r["round_medians_s"]) == 3 for r in numpy_cells)
    assert "3 interleaved rounds" in proc.stdout
    assert "| workload |" in out_md.read_text()

    again = run_cli(["bench", "--quick", "--workloads", "add", "--sizes", "1000", "--repeat", "3",
                     "--threads", "1", "--frameworks", "numpy", "--no-stream", "--no-compile",
                     "--compare", str(out_json)], tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"Compared with {out_json}" in again.stdout


def test_compile_rows_keep_the_fastest_cold_and_warm_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each cold child gets its own empty cache dir; warm children reuse the last one;
    the row reports the fastest of each and keeps every sample."""
    from tensorc.cli import bench_compile as bc
    seen: list[tuple[str, bool]] = []
    cold_times = iter([1.4, 0.9, 1.1])

    def fake_child(workload: str, fw: str, size: int, dtype: str, env: dict) -> dict:
        cache = env["TENSORC_FLAGS"].split("cache_dir=")[-1]
        empty = not os.listdir(cache)
        seen.append((cache, empty))
        Path(cache, "entry").write_text("x")
        return {"total_s": next(cold_times) if empty else 0.02 + 0.01 * len(seen)}

    monkeypatch.setattr(bc, "run_child", fake_child)
    monkeypatch.setattr(bc, "ensure_bytecode", lambda: True)
    monkeypatch.setattr(bc, "time_import", lambda *args, **kwargs: 0.1)
    doc = bc.measure_compile(["tensorc-c"], [("add", 10, "float64")], {}, lambda _msg: None)
    row = doc["rows"][0]
    colds, warms = seen[:bc.COLD_RUNS], seen[bc.COLD_RUNS:]
    assert all(empty for _, empty in colds) and len({c for c, _ in colds}) == bc.COLD_RUNS
    assert len(warms) == bc.WARM_RUNS and {c for c, _ in warms} == {colds[-1][0]}
    assert not any(empty for _, empty in warms)
    assert row["cold_s"] == 0.9 and row["cold_samples_s"] == [1.4, 0.9, 1.1]
    assert row["warm_s"] == pytest.approx(0.02 + 0.01 * (bc.COLD_RUNS + 1))
    assert row["status"] == "ok"
