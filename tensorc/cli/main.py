"""The ``tensorc`` command line: ``--version``, ``config``, ``bench``, ``cache``.

``tensorc cache ...`` comes from :mod:`tensorc.cli.cache_cmd` when that module is present;
without it the subcommand explains that the kernel cache commands are not available.

>>> main(["--version"])  # doctest: +ELLIPSIS
tensorc ...
0
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Sequence


def version_line() -> str:
    """``tensorc X (python Y, numpy Z, cffi W)``."""
    import platform

    from tensorc.cli.bench import tensorc_version
    parts = [f"python {platform.python_version()}"]
    for mod in ("numpy", "cffi"):
        try:
            parts.append(f"{mod} {importlib.import_module(mod).__version__}")
        except ImportError:
            parts.append(f"{mod} missing")
    return f"tensorc {tensorc_version()} ({', '.join(parts)})"


def run_config(args: argparse.Namespace) -> int:
    """Print every configuration flag with its value and where the value came from."""
    from tensorc.config import FLAGS, config
    docs = {f.name: f.doc for f in FLAGS}
    items = config.items()
    if args.json:
        print(json.dumps([{"name": n, "value": v, "source": s, "doc": docs[n]}
                          for n, v, s in items], indent=1))
        return 0
    name_w = max(len(n) for n, _, _ in items)
    value_w = max(len(repr(v)) for _, v, _ in items)
    print("tensorc configuration (defaults < ~/.tensorcrc [global] < TENSORC_FLAGS)")
    for name, value, source in items:
        print(f"  {name.ljust(name_w)}  {repr(value).ljust(value_w)}  [{source}]")
        if args.verbose:
            print(f"  {' ' * name_w}  {docs[name]}")
    return 0


def add_config_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``config``."""
    p = subparsers.add_parser("config", help="show effective settings and where each came from")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="also print each flag's help")
    p.set_defaults(func=run_config)


def add_cache_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cache`` from ``tensorc.cli.cache_cmd``, or a stub saying it is unavailable."""
    try:
        cache_cmd = importlib.import_module("tensorc.cli.cache_cmd")
        add = cache_cmd.add_cache_parser
    except (ImportError, AttributeError):
        add = None
    if add is not None:
        add(subparsers)
        return
    p = subparsers.add_parser("cache", help="manage the kernel cache (info|list|clear|prune)")
    p.add_argument("action", nargs="?", choices=("info", "list", "clear", "prune"))
    p.set_defaults(func=lambda args: _no_cache())


def _no_cache() -> int:
    """The stub ``cache`` command used until ``tensorc.cli.cache_cmd`` exists."""
    print("tensorc cache: the kernel-cache commands are not available in this build "
          "(tensorc.cli.cache_cmd is missing)", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    """The whole CLI parser."""
    from tensorc.cli.bench_args import add_bench_parser
    parser = argparse.ArgumentParser(
        prog="tensorc", description="tensorc: a Theano-style compiler for numerical Python.")
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    sub = parser.add_subparsers(dest="command", metavar="{bench,config,cache}")
    bench = add_bench_parser(sub)
    bench.set_defaults(func=_bench)
    add_config_parser(sub)
    add_cache_commands(sub)
    return parser


def _bench(args: argparse.Namespace) -> int:
    from tensorc.cli.bench import run_bench
    return run_bench(args, args.argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(version_line())
        return 0
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    args.argv = argv  # bench re-runs itself with the same command line
    try:
        return int(func(args) or 0)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
