"""``tensorc bench`` arguments: the parser and the checks that turn bad input into clear errors.

>>> parse_sizes("1e3,100000")
[1000, 100000]
>>> parse_choices("numpy, torch", ("numpy", "torch", "jax"), "framework")
['numpy', 'torch']
"""
from __future__ import annotations

import argparse
import os
from typing import Sequence

from benchmarks.spec import FRAMEWORKS

DTYPES = ("float32", "float64")


def parse_sizes(text: str) -> list[int]:
    """``"1e3,1e5"`` → ``[1000, 100000]``; each size a positive whole number."""
    sizes = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"size {part!r} is not a number (try 1000 or 1e5)")
        if value < 1 or value != int(value):
            raise argparse.ArgumentTypeError(f"size {part!r} must be a positive whole number")
        sizes.append(int(value))
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes given")
    return sizes


def parse_choices(text: str, known: Sequence[str], what: str) -> list[str]:
    """A comma-separated subset of ``known`` (order kept); unknown names are an error."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what}{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"choose from: {', '.join(known)}")
    if not names:
        raise argparse.ArgumentTypeError(f"no {what} given")
    return names


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def workload_list(text: str) -> list[str]:
    """``--workloads`` value, checked against the suite."""
    from benchmarks import workload_names
    return parse_choices(text, workload_names(), "workload")


def add_bench_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``bench`` to the CLI's subcommands."""
    from benchmarks import workload_names
    p = subparsers.add_parser(
        "bench", help="run the benchmark suite against numpy and installed peers",
        description="Run the built-in workloads on tensorc (C and numpy backends), numpy and "
                    "every importable peer; print median times and speed-ups over numpy.",
        epilog=f"workloads: {', '.join(workload_names())}. frameworks: {', '.join(FRAMEWORKS)}.")
    p.add_argument("--quick", action="store_true",
                   help="small sizes, fewer repeats, tensorc-only compile table (< 2 minutes)")
    p.add_argument("--workloads", type=workload_list, metavar="A,B",
                   help="comma-separated workloads to run (default: all)")
    p.add_argument("--frameworks", type=lambda t: parse_choices(t, FRAMEWORKS, "framework"),
                   metavar="A,B", help="comma-separated framework columns (default: all found)")
    p.add_argument("--sizes", type=parse_sizes, metavar="N,M",
                   help="element counts for the elementwise/reduction workloads, e.g. 1e3,1e6")
    p.add_argument("--dtypes", type=lambda t: parse_choices(t, DTYPES, "dtype"),
                   metavar="D", help="float32 and/or float64 (default: each workload's own)")
    p.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1,
                   help="threads for every framework (default: number of cores, %(default)s)")
    p.add_argument("--repeat", type=positive_int,
                   help="timed samples per cell (default 15, quick 5)")
    p.add_argument("--passes", type=positive_int, metavar="ROUNDS",
                   help="timing rounds per row: each framework's samples are split into this "
                        "many blocks, taken in turn with the other frameworks' blocks so that "
                        "the machine's drift hits a row's frameworks alike (default 5, quick 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--json", metavar="FILE", help="write the full results as JSON")
    p.add_argument("--markdown", metavar="FILE", help="write the tables as markdown")
    p.add_argument("--plot", metavar="FILE.png", help="bar chart of speed-ups (needs matplotlib)")
    p.add_argument("--compare", metavar="OLD.json", help="flag regressions against an earlier run")
    p.add_argument("--threshold", type=float, default=0.10,
                   help="slowdown flagged as a regression by --compare (default 0.10 = 10%%)")
    p.add_argument("--no-compile", action="store_true", help="skip the compile-cost table")
    p.add_argument("--no-stream", action="store_true", help="skip the STREAM triad (no floor)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p


def check_bench_args(args: argparse.Namespace) -> str:
    """Problems argparse cannot see (files, optional packages); empty when all is well."""
    if args.compare and not os.path.isfile(args.compare):
        return f"--compare: no such file: {args.compare}"
    if args.plot:
        if not args.plot.lower().endswith((".png", ".svg", ".pdf")):
            return f"--plot: {args.plot!r} should end in .png (or .svg/.pdf)"
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return ("--plot needs matplotlib, which is not installed; install it with "
                    "`pip install 'tensorc[plot]'` (or `pip install matplotlib`)")
    for option in ("json", "markdown", "plot"):
        path = getattr(args, option)
        folder = os.path.dirname(os.path.abspath(path)) if path else ""
        if path and not os.path.isdir(folder):
            return f"--{option}: folder {folder} does not exist"
    if args.threshold <= 0:
        return "--threshold must be positive"
    return ""
