"""The benchmark's environment: thread settings, BLAS, the machine, and which frameworks exist.

Thread counts must be fixed before any framework starts its thread pools, so ``tensorc
bench`` runs the suite in a child process whose environment :func:`thread_env` prepared;
torch's intra-op threads are set again after import. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
when the machine sets them, are reported and left alone.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from typing import Any, Mapping, Sequence

from benchmarks.spec import FRAMEWORKS, PEER_MODULES

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "NUMEXPR_MAX_THREADS", "VECLIB_MAXIMUM_THREADS")
NOTED_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "XLA_FLAGS")
INSTALL_HINT = {"numexpr": "numexpr", "pytensor": "pytensor", "jax": "jax",
                "torch": "torch", "torch-compile": "torch"}
NOT_INSTALLED = "not installed"


def thread_env(threads: int, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with every framework's thread count set to ``threads``."""
    env = dict(base)
    for var in THREAD_VARS:
        env[var] = str(threads)
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in env.get("XLA_FLAGS", ""):
        # XLA has no thread-count flag; one thread is the only count it can be held to
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    return env


def threads_already_set(threads: int) -> bool:
    """Whether this process was started with every thread variable at ``threads``."""
    return all(os.environ.get(var) == str(threads) for var in THREAD_VARS)


def noted_env() -> dict[str, str]:
    """The environment variables that change BLAS/thread behaviour, as set now."""
    return {k: os.environ[k] for k in THREAD_VARS + NOTED_VARS if k in os.environ}


def blas_info() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries loaded by numpy: threadpoolctl's view if importable,
    else the BLAS numpy was built with (``np.show_config``)."""
    import numpy as np
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        np.ones((2, 2)) @ np.ones((2, 2))  # make sure BLAS is loaded
        keep = ("user_api", "internal_api", "version", "num_threads", "architecture")
        return [{k: d.get(k) for k in keep} for d in threadpool_info()]
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # very old numpy or unusual build
        return [{"internal_api": "unknown"}]
    return [{"user_api": "blas", "internal_api": blas.get("name"), "version": blas.get("version"),
             "num_threads": None, "architecture": None}]


def describe_blas(info: Sequence[Mapping[str, Any]]) -> str:
    """One line: ``openblas 0.3.31 (Haswell, 2 threads); openmp (2 threads)``."""
    parts = []
    for d in info:
        extra = ", ".join(str(x) for x in (d.get("architecture"),
                                           f"{d['num_threads']} threads" if d.get("num_threads")
                                           else None) if x)
        name = f"{d.get('internal_api')} {d.get('version') or ''}".strip()
        parts.append(f"{name} ({extra})" if extra else name)
    return "; ".join(parts) or "unknown"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The SIMD features that matter for the kernels (from ``/proc/cpuinfo``)."""
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "neon", "asimd")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    have = set(line.split(":", 1)[1].split())
                    return [f for f in wanted if f in have]
    except OSError:
        pass
    return []


def memory_gib() -> float | None:
    """Physical memory in GiB, when the OS says."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def c_compiler() -> str | None:
    """Path of the C compiler tensorc would use (``config.cxx``, else ``cc``), if present."""
    from tensorc.config import config
    return shutil.which(config.cxx or "cc")


def compiler_version(path: str | None) -> str | None:
    """First line of ``cc --version``."""
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20)
        return out.stdout.splitlines()[0] if out.stdout else None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict[str, Any]:
    """The machine, for the JSON report and the header."""
    import numpy as np
    cc = c_compiler()
    try:
        load = round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        load = None
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "load_average_1min": load, "cpu_flags": cpu_flags(),
            "memory_gib": memory_gib(), "platform": platform.platform(),
            "python": sys.version.split()[0], "numpy": np.__version__,
            "compiler": compiler_version(cc), "compiler_path": cc}


def tensorc_missing_reason() -> str:
    """Why tensorc's columns cannot run (empty when ``tensorc.function`` exists)."""
    try:
        tensorc = importlib.import_module("tensorc")
        importlib.import_module("tensorc.tensor")
    except Exception as exc:
        return f"tensorc.tensor does not import ({type(exc).__name__}: {exc})"
    return "" if hasattr(tensorc, "function") else "tensorc.function is not available"


def peer_missing_reason(framework: str) -> str:
    """Why a peer cannot run (empty when its package is installed). The package is only
    located, not imported: each column is imported and run in its own worker process."""
    try:
        found = importlib.util.find_spec(PEER_MODULES[framework]) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return NOT_INSTALLED
    if framework == "torch-compile" and not shutil.which("c++") and not shutil.which("g++"):
        return "torch.compile needs a C++ compiler (c++/g++)"
    return ""


def detect_frameworks(requested: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Split ``requested`` into ``(available, {missing: reason})``, in table order.

    ``tensorc-c`` needs a C compiler; the peers need their packages.
    """
    available: list[str] = []
    missing: dict[str, str] = {}
    tc_reason = tensorc_missing_reason() if any(f.startswith("tensorc") for f in requested) else ""
    for fw in FRAMEWORKS:
        if fw not in requested:
            continue
        if fw.startswith("tensorc"):
            reason = tc_reason
            if not reason and fw == "tensorc-c" and c_compiler() is None:
                reason = "no C compiler found (set config cxx, or install gcc/clang)"
        elif fw == "numpy":
            reason = ""
        else:
            reason = peer_missing_reason(fw)
        if reason:
            missing[fw] = reason
        else:
            available.append(fw)
    return available, missing


def framework_versions(frameworks: Sequence[str]) -> dict[str, str]:
    """``{framework: installed version}`` (from package metadata: nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version
    dists = {"pytensor": "pytensor", "jax": "jax", "numexpr": "numexpr", "numpy": "numpy",
             "torch": "torch", "torch-compile": "torch"}
    out: dict[str, str] = {}
    for fw in frameworks:
        try:
            out[fw] = version(dists.get(fw, fw))
        except PackageNotFoundError:
            out[fw] = "?"
    return out


def describe_missing(missing: Mapping[str, str]) -> str:
    """One line naming the frameworks not found, grouped by reason, with an install hint."""
    absent = [fw for fw, why in missing.items() if why == NOT_INSTALLED]
    parts = []
    if absent:
        hint = " ".join(dict.fromkeys(INSTALL_HINT.get(fw, fw) for fw in absent))
        parts.append(f"{', '.join(absent)} (not installed; pip install {hint})")
    parts += [f"{fw} ({why})" for fw, why in missing.items() if why != NOT_INSTALLED]
    return "; ".join(parts)
