"""``tensorc bench``: run the suite, print the report, write JSON/markdown/plot, compare.

The command re-runs itself in a child process whose environment fixes every framework's
thread count (thread pools read it once, at start-up); the child does the work. Progress
goes to stderr, the report to stdout.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from typing import Any, Sequence

from benchmarks import FRAMEWORKS, get_workload, workload_names
from tensorc.cli.bench_args import check_bench_args
from tensorc.cli.bench_compare import compare_text, load_doc, plot_speedups
from tensorc.cli.bench_compile import CACHE_ENV, compile_workloads, count_steps, measure_compile
from tensorc.cli.bench_env import (blas_info, describe_blas, describe_missing, detect_frameworks,
                                   framework_versions, machine_info, noted_env, thread_env,
                                   threads_already_set)
from tensorc.cli.bench_progress import Progress
from tensorc.cli.bench_report import render
from tensorc.cli.bench_runner import Cell, plan_cases
from tensorc.cli.bench_stream import TriadResult, measure_triad
from tensorc.cli.bench_timing import TimingPlan, full_plan, quick_plan
from tensorc.cli.bench_worker import Schedule, Worker, run_interleaved

SCHEMA = "tensorc-bench/1"


def tensorc_version() -> str:
    """The installed tensorc's version."""
    try:
        from importlib.metadata import version
        return version("tensorc")
    except Exception:
        import tensorc
        return str(getattr(tensorc, "__version__", "unknown"))


def reexec(argv: Sequence[str], threads: int) -> int:
    """Run ``tensorc <argv> --child`` with the thread environment; its exit status."""
    cmd = [sys.executable, "-m", "tensorc.cli.main", *argv, "--child"]
    try:
        return subprocess.run(cmd, env=thread_env(threads, os.environ)).returncode
    except KeyboardInterrupt:
        return 130


def compile_plan(args: argparse.Namespace, names: Sequence[str],
                 available: Sequence[str]) -> tuple[list[str], list[tuple[str, int, str]]]:
    """Frameworks and ``(workload, size, dtype)`` of the compile table (empty to skip)."""
    if args.no_compile:
        return [], []
    frameworks = list(available)
    if args.quick and not args.frameworks:  # peers' cold compiles take minutes
        frameworks = [f for f in available if f.startswith("tensorc") or f not in CACHE_ENV]
    workloads = []
    for name in compile_workloads(names, args.quick):
        w = get_workload(name)
        sizes = w.quick_sizes if args.quick else w.sizes
        workloads.append((name, sizes[0], w.quick_dtypes[0]))
    return frameworks, workloads


def build_document(args: argparse.Namespace, argv: Sequence[str], plan: TimingPlan,
                   machine: dict[str, Any], available: Sequence[str], missing: dict[str, str], triad: TriadResult,
                   cells: Sequence[Cell], compile_doc: dict[str, Any]) -> dict[str, Any]:
    """The JSON document every output is rendered from."""
    blas = blas_info()
    versions = {"tensorc": tensorc_version(), **framework_versions(
        [f for f in available if not f.startswith("tensorc")])}
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "tensorc " + " ".join(a for a in argv if a != "--child"),
        "settings": {"quick": args.quick, "threads": args.threads, "repeat": plan.repeat,
                     "passes": getattr(args, "passes", None) or 1,
                     "rounds": getattr(args, "passes", None) or 1, "schedule": "interleaved",
                     "min_sample_s": plan.min_sample_s, "budget_s": plan.budget_s,
                     "seed": args.seed, "workloads": args.workloads or list(workload_names()),
                     "sizes": args.sizes, "dtypes": args.dtypes},
        "machine": machine,
        "blas": blas, "blas_summary": describe_blas(blas), "env": noted_env(),
        "versions": versions,
        "frameworks": {"requested": args.frameworks or list(FRAMEWORKS),
                       "available": list(available), "missing": missing},
        "stream": triad.as_dict(),
        "results": [c.as_dict() for c in cells],
        "compile": compile_doc,
    }


def write_outputs(args: argparse.Namespace, doc: dict[str, Any]) -> int:
    """``--json``, ``--markdown``, ``--plot`` and ``--compare``; returns an exit status."""
    status = 0
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
        print(f"wrote {args.json}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(render(doc, as_markdown=True))
        print(f"wrote {args.markdown}")
    if args.plot:
        plot_speedups(doc, args.plot)
        print(f"wrote {args.plot}")
    if args.compare:
        try:
            text, _ = compare_text(doc, load_doc(args.compare), args.compare, args.threshold)
            print("\n" + text, end="")
        except (OSError, ValueError, KeyError) as exc:
            print(f"tensorc bench: --compare: {exc}", file=sys.stderr)
            status = 2
    return status


def run_child(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Do the whole run in this process (already started with the thread environment)."""
    machine = machine_info()  # before the run: its load average is other processes'
    names = args.workloads or list(workload_names())
    requested = args.frameworks or list(FRAMEWORKS)
    available, missing = detect_frameworks(requested)
    if missing:
        print("not found: " + describe_missing(missing), file=sys.stderr)
    plan = quick_plan(args.repeat) if args.quick else full_plan(args.repeat)
    rounds = args.passes = getattr(args, "passes", None) or (3 if args.quick else 5)
    cases = plan_cases([get_workload(n) for n in names], args.quick, args.sizes, args.dtypes)
    comp_fw, comp_wl = compile_plan(args, names, available)
    total = (len(cases) * (len(available) + rounds) + count_steps(comp_fw, comp_wl)
             + (not args.no_stream))
    progress = Progress(total)
    triad = TriadResult(None, None, "not measured (--no-stream)")
    if not args.no_stream:
        progress.step("STREAM triad (memory bandwidth)")
        triad = measure_triad(args.threads, os.environ)
    # one worker process per framework for the whole run; each row's samples are taken in
    # rounds that visit every framework in turn, so the drift of this VM's speed (up to 2x
    # over minutes) lands on all frameworks of a row alike
    cells = run_interleaved(cases, available, plan, Schedule(rounds=rounds), progress.step,
                            lambda fw: Worker(fw, args.threads, os.environ), triad.gbps,
                            args.seed)
    compile_doc = measure_compile(comp_fw, comp_wl, os.environ, progress.step) \
        if comp_wl else {"imports": [], "rows": []}
    progress.done()
    doc = build_document(args, argv, plan, machine, available, missing, triad, cells, compile_doc)
    print(render(doc), end="")
    return write_outputs(args, doc)


def run_bench(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Entry point of ``tensorc bench`` (``argv`` is the full command line after ``tensorc``)."""
    problem = check_bench_args(args)
    if problem:
        print(f"tensorc bench: error: {problem}", file=sys.stderr)
        return 2
    if not args.child and not threads_already_set(args.threads):
        return reexec(argv, args.threads)
    try:
        return run_child(args, argv)
    except KeyboardInterrupt:
        print("\ntensorc bench: interrupted", file=sys.stderr)
        return 130
