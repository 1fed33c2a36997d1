"""``tensorc cache info|list|clear|prune [--max-mb N]``: inspect and manage the kernel cache.

>>> import argparse
>>> parser = argparse.ArgumentParser(); sub = parser.add_subparsers()
>>> add_cache_parser(sub)
>>> parser.parse_args(["cache", "prune", "--max-mb", "10"]).max_mb
10.0
"""
from __future__ import annotations

import argparse
import time


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def run_cache(args: argparse.Namespace) -> int:
    """Handler of ``tensorc cache``; returns the exit status."""
    from tensorc.backend.c import cache
    from tensorc.backend.c.errors import CacheError
    try:
        if args.action == "info":
            info = cache.cache_info()
            print(f"cache dir : {info['cache_dir']}\nentries   : {info['entries']}\n"
                  f"size      : {_human(info['bytes'])} (cap {info['max_mb']} MB)")
        elif args.action == "list":
            now = time.time()
            for e in cache.cache_list():
                age = now - e["last_used"]
                print(f"{e['key'][:16]}  {_human(e['bytes']):>9}  used {age / 60:8.1f} min ago  "
                      f"{e['name_hint']}")
        elif args.action == "clear":
            print(f"removed {cache.cache_clear()} entries")
        elif args.action == "prune":
            print(f"removed {cache.cache_prune(args.max_mb)} entries")
    except CacheError as exc:
        print(f"tensorc cache: {exc}")
        return 1
    return 0


def add_cache_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``cache`` subcommand to an argparse sub-parser set."""
    p = subparsers.add_parser("cache", help="manage the kernel cache (info|list|clear|prune)")
    p.add_argument("action", nargs="?", default="info", choices=("info", "list", "clear", "prune"))
    p.add_argument("--max-mb", type=float, default=None,
                   help="prune: size to shrink to (default: config.cache_max_mb)")
    p.set_defaults(func=run_cache)
