"""Compile cost, measured in fresh processes: cold cache, warm cache, and import time.

For each compiling framework, a child process builds one workload and calls it once
(``build + first call``) with the framework's cache pointed at an empty temporary
directory (cold; :data:`COLD_RUNS` children, each with its own empty directory); then
:data:`WARM_RUNS` children do the same on the last, now-filled directory (warm).  Both
report the fastest child and keep every sample: the VM's speed drifts by ±30% over
minutes, and one sample of a ~1 s compile says more about the drift than the code. Import time is ``import
MODULE`` timed inside a fresh interpreter, fastest of :data:`IMPORT_RUNS`, the frameworks
taken in interleaved rounds so that all see the same phases of the drift.

What a user sees: ``pip install`` byte-compiles every module (also under
``PYTHONDONTWRITEBYTECODE=1``), so an installed tensorc never compiles Python source at
import.  A source checkout run with ``PYTHONDONTWRITEBYTECODE=1`` would recompile every
module whose ``.pyc`` is missing or stale in every child, so :func:`measure_compile`
first byte-compiles tensorc and the workloads (:func:`ensure_bytecode`, what pip does).

Run as a module, this file is that child: ``python -m tensorc.cli.bench_compile WORKLOAD
FRAMEWORK SIZE DTYPE`` prints one JSON line ``{"build_s": .., "first_s": .., "total_s": ..}``.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Mapping, Sequence

#: Frameworks that compile, and the environment that points their cache at ``tmp``.
CACHE_ENV: Mapping[str, Callable[[str, Mapping[str, str]], dict[str, str]]] = {
    "tensorc-c": lambda tmp, env: {"TENSORC_FLAGS": _join(env.get("TENSORC_FLAGS"),
                                                          f"cache_dir={tmp}")},
    "tensorc-numpy": lambda tmp, env: {"TENSORC_FLAGS": _join(env.get("TENSORC_FLAGS"),
                                                              f"cache_dir={tmp}")},
    "pytensor": lambda tmp, env: {"PYTENSOR_FLAGS": _join(env.get("PYTENSOR_FLAGS"),
                                                          f"base_compiledir={tmp}")},
    "jax": lambda tmp, env: {"JAX_COMPILATION_CACHE_DIR": tmp,
                             "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                             "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"},
    "torch-compile": lambda tmp, env: {"TORCHINDUCTOR_CACHE_DIR": tmp,
                                       "TRITON_CACHE_DIR": tmp + "/triton"},
}
IMPORT_MODULES: Mapping[str, str] = {
    "tensorc-c": "tensorc, tensorc.tensor", "tensorc-numpy": "tensorc, tensorc.tensor",
    "numpy": "numpy", "numexpr": "numexpr", "pytensor": "pytensor, pytensor.tensor",
    "jax": "jax, jax.numpy", "torch": "torch", "torch-compile": "torch",
}
CHILD_TIMEOUT_S = 900
COLD_RUNS = 3    #: cold-cache children per row, each with an empty cache (keep the fastest)
WARM_RUNS = 5    #: warm-cache children per row (the machine is shared: keep the fastest)
IMPORT_RUNS = 5  #: fresh interpreters per import time (likewise)


def _join(flags: str | None, entry: str) -> str:
    """Append ``entry`` to a comma-separated flags string (later entries win)."""
    return f"{flags},{entry}" if flags else entry


def compile_workloads(selected: Sequence[str], quick: bool) -> list[str]:
    """Which workloads get compile rows: ``add`` and ``mlp_step`` when selected (only the
    first in a quick run), else the first selected workload."""
    chosen = [w for w in ("add", "mlp_step") if w in selected] or list(selected[:1])
    return chosen[:1] if quick else chosen


def ensure_bytecode() -> bool:
    """Byte-compile the modules of tensorc and of the workloads where their ``.pyc`` is
    missing or stale, as ``pip install`` does; False when some could not be written.

    Not run as a doctest: it writes ``.pyc`` files next to the sources.

    >>> ensure_bytecode()  # doctest: +SKIP
    True
    """
    import compileall
    import os
    import tensorc
    dirs = [os.path.dirname(os.path.abspath(tensorc.__file__))]
    bench = sys.modules.get("benchmarks") or _find_benchmarks()
    if bench is not None and getattr(bench, "__file__", None):
        dirs.append(os.path.dirname(os.path.abspath(bench.__file__)))
    ok = True
    for d in dirs:
        try:
            ok = bool(compileall.compile_dir(d, quiet=2, workers=1)) and ok
        except OSError:
            ok = False
    return ok


def _find_benchmarks() -> Any:
    try:
        return importlib.import_module("benchmarks")
    except ImportError:
        return None


def time_import(modules: str, env: Mapping[str, str]) -> float | None:
    """Seconds to ``import modules`` in one fresh interpreter (``None`` if it fails)."""
    code = ("import time; t = time.perf_counter(); import " + modules +
            "; print(time.perf_counter() - t)")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=dict(env), timeout=CHILD_TIMEOUT_S)
        return float(out.stdout.split()[-1]) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def time_imports(modules: Sequence[str], env: Mapping[str, str],
                 runs: int = IMPORT_RUNS) -> dict[str, list[float] | None]:
    """Import times of each entry of ``modules``, ``runs`` fresh interpreters each, taken in
    interleaved rounds (numpy, tensorc, numpy, tensorc, ...) so that every module sees the
    same phases of the VM's drift; ``None`` for a module whose import failed.

    >>> fake = {"numpy": iter([0.3, 0.1]), "tensorc": iter([0.2, 0.4])}
    >>> import unittest.mock as m
    >>> with m.patch(__name__ + ".time_import", lambda mod, env: next(fake[mod])):
    ...     time_imports(["numpy", "tensorc", "numpy"], {}, runs=2)
    {'numpy': [0.3, 0.1], 'tensorc': [0.2, 0.4]}
    """
    samples: dict[str, list[float] | None] = {m: [] for m in modules}
    for _ in range(runs):
        for mod, got in samples.items():
            if got is None:
                continue
            seconds = time_import(mod, env)
            if seconds is None:
                samples[mod] = None
            else:
                got.append(seconds)
    return samples


def run_child(workload: str, framework: str, size: int, dtype: str,
              env: Mapping[str, str]) -> dict[str, Any]:
    """One fresh process building and calling ``workload`` once; its JSON, or an error."""
    cmd = [sys.executable, "-m", "tensorc.cli.bench_compile", workload, framework,
           str(size), dtype]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=dict(env),
                             timeout=CHILD_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": tail[:160]}
    return json.loads(lines[-1])


def measure_compile(frameworks: Sequence[str], workloads: Sequence[tuple[str, int, str]],
                    env: Mapping[str, str], step: Callable[[str], None]) -> dict[str, Any]:
    """The compile document: ``imports`` and cold/warm ``rows`` for compiling frameworks
    (``bytecode``: whether tensorc's modules were byte-compiled first, see the module doc)."""
    bytecode = ensure_bytecode()
    step(f"import time · {', '.join(frameworks)} (interleaved)")
    modules = {fw: IMPORT_MODULES.get(fw, fw) for fw in frameworks}
    samples = time_imports(list(modules.values()), env)
    imports = [{"framework": fw, "module": mod, "seconds": min(samples[mod] or [None]),
                "samples_s": samples[mod]} for fw, mod in modules.items()]
    rows = []
    for fw in (f for f in frameworks if f in CACHE_ENV):
        for name, size, dtype in workloads:
            colds: list[dict[str, Any]] = []
            with contextlib.ExitStack() as dirs:
                for _ in range(COLD_RUNS):
                    tmp = dirs.enter_context(tempfile.TemporaryDirectory(prefix="tensorc-bench-cache-"))
                    child_env = dict(env, **CACHE_ENV[fw](tmp, env))
                    step(f"compile {name} · {fw} (cold cache)")
                    colds.append(run_child(name, fw, size, dtype, child_env))
                    if "error" in colds[-1]:
                        break
                cold = _fastest(colds)
                step(f"compile {name} · {fw} (warm cache)")
                warms = [run_child(name, fw, size, dtype, child_env) if "error" not in cold
                         else cold for _ in range(WARM_RUNS)]
            warm = _fastest(warms)
            error = cold.get("error") or warm.get("error")
            rows.append({"framework": fw, "workload": name, "size": size, "dtype": dtype,
                         "status": "error" if error else "ok", "detail": error or "",
                         "cold_s": cold.get("total_s"), "warm_s": warm.get("total_s"),
                         "cold": cold, "warm": warm,
                         "cold_samples_s": [c.get("total_s") for c in colds],
                         "warm_samples_s": [w.get("total_s") for w in warms]})
    return {"imports": imports, "rows": rows, "bytecode": bytecode}


def _fastest(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The first failed sample if any failed, else the one with the least ``total_s``.

    >>> _fastest([{"total_s": 2.0}, {"total_s": 1.5}])
    {'total_s': 1.5}
    """
    failed = [s for s in samples if "error" in s]
    return failed[0] if failed else min(samples, key=lambda s: s["total_s"])


def count_steps(frameworks: Sequence[str], workloads: Sequence[Any]) -> int:
    """How many progress steps :func:`measure_compile` will take."""
    per_row = COLD_RUNS + 1  # the cold children, then one step for the warm ones
    return len(frameworks) + per_row * len(workloads) * sum(f in CACHE_ENV for f in frameworks)


def child_main(argv: Sequence[str]) -> int:
    """Build ``argv = [workload, framework, size, dtype]`` once and print its timings."""
    import numpy as np

    from benchmarks import get_workload
    workload, framework, size, dtype = argv[0], argv[1], int(argv[2]), argv[3]
    w = get_workload(workload)
    builder = w.builder(framework)
    if builder is None:
        print(f"{framework} has no builder for {workload}", file=sys.stderr)
        return 2
    for name in IMPORT_MODULES.get(framework, framework).split(","):
        importlib.import_module(name.strip())  # before the clock: import is its own column
    inputs = w.make_inputs(size, dtype, np.random.default_rng(0))
    t0 = time.perf_counter()
    built = builder(inputs)
    t1 = time.perf_counter()
    built.run()
    t2 = time.perf_counter()
    print(json.dumps({"build_s": t1 - t0, "first_s": t2 - t1, "total_s": t2 - t0}))
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
