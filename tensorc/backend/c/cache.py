"""On-disk cache of compiled kernel libraries (DESIGN §5).

Layout under ``config.cache_dir`` (0700, owned by the user, else refused)::

    kernels/<k[:2]>/<k>.c      the source
    kernels/<k[:2]>/<k>.so     the library
    kernels/<k[:2]>/<k>.meta   the key parts + checksum of the .so; written last,
                               so it is the commit record: no record, no entry.
                               Its mtime is the last-used stamp (LRU pruning).
                               Text, one field per line (``records.py``).
    kernels/<k[:2]>/<k>.lock   per-key flock: one process compiles a key
    functions/<k[:2]>/<k>.pkl  a rewritten graph (``tensorc.compile.fncache``), with
    functions/<k[:2]>/<k>.meta its commit record and .lock, as for kernels
    toolchains/<id>.meta       compiler probes (see compiler.py)

Records of earlier versions (``<k>.json``) are never trusted; pruning and clearing
remove them with their entries.

Correctness never depends on the locks: every file appears by atomic rename and
an entry is trusted only when its record matches the key and the checksum of its
payload (library or pickle). Locks only stop two processes from building the same
key twice. Both kinds of entries share the LRU pruning and the size cap.

>>> from tensorc.backend.c.cache import get_library             # doctest: +SKIP
>>> lib = get_library("int f(const tc_arg *a) { return 0; }", name_hint="f")  # doctest: +SKIP
>>> lib.kernel("f")                                              # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import functools
import fcntl
import os
import sys
import time
from typing import Any, Iterator

from tensorc.backend.c import compiler, cpu, loader, paths, records
from tensorc.backend.c.fsutil import atomic_write, ensure_private_dir, sha256_hex
from tensorc.config import config

KEY_PARTS: tuple[str, ...] = ("source", "runtime_header", "compiler", "flags", "cpu",
                              "tensorc", "cffi", "platform", "python")
_PRUNE_INTERVAL_S = 60.0
_STALE_TEMP_S = 3600.0
#: entry kinds: sub-directory of the cache and the suffix of the payload file
KINDS: tuple[tuple[str, str], ...] = (("kernels", ".so"), ("functions", ".pkl"))
RECORD = ".meta"  #: suffix of commit records
_LEGACY_RECORD = ".json"  # records of earlier versions: never trusted, removed with their entry
_FILE_SUFFIXES = (RECORD, _LEGACY_RECORD, ".so", ".pkl", ".c")  # record first: untrust, then delete
_MEMO: dict[tuple[Any, ...], "LoadedLib"] = {}  # clearable in-process memo
_BLOB_MEMO: dict[tuple[str, str, str], bytes] = {}  # clearable: (cache_dir, kind, key) -> payload


class LoadedLib:
    """A compiled, dlopen'ed kernel library."""

    def __init__(self, path: str, key: str, name_hint: str, handle: Any, compiled: bool,
                 source_path: str) -> None:
        self.path = path              #: the .so
        self.key = key                #: sha256 cache key
        self.name_hint = name_hint
        self.handle = handle          #: dlopen handle (cffi ``void *``)
        self.compiled = compiled      #: True when this call compiled it (a cache miss)
        self.source_path = source_path
        self._kernels: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"LoadedLib({self.path!r}, compiled={self.compiled})"

    def kernel(self, name: str) -> Any:
        """The function pointer (``tc_kernel_fn``) of kernel ``name``."""
        fn = self._kernels.get(name)
        if fn is None:
            fn = self._kernels[name] = loader.dlsym(self.handle, name)
        return fn


@functools.lru_cache(maxsize=1)
def _runtime_header_sha() -> str:
    return sha256_hex(paths.runtime_header_text())  # the text is read once per process too


def _tensorc_version() -> str:
    version = getattr(sys.modules.get("tensorc"), "__version__", None)
    if isinstance(version, str):
        return version
    try:
        from importlib.metadata import version as dist_version
        return dist_version("tensorc")
    except Exception:  # not installed: a source checkout
        return "0.1.0"


def key_parts(source: str, info: compiler.CompilerInfo, flags: list[str]) -> dict[str, str]:
    """Everything that affects the binary, by name (stored beside the entry)."""
    import _cffi_backend
    return {
        "source": sha256_hex(source),
        "runtime_header": _runtime_header_sha(),
        "compiler": f"{info.path} | {info.version}",
        "flags": " ".join(flags),
        "cpu": cpu.cpu_fingerprint(),
        "tensorc": _tensorc_version(),
        "cffi": str(_cffi_backend.__version__),
        "platform": f"{sys.platform}-{os.uname().machine}",
        "python": sys.implementation.cache_tag or sys.version.split()[0],
    }


def cache_key(parts: dict[str, str]) -> str:
    """sha256 over the named parts, in the fixed order of ``KEY_PARTS``."""
    return sha256_hex("\n".join(f"{name}={parts[name]}" for name in KEY_PARTS))


def _kind_dir(kind: str = "kernels", create: bool = True) -> str:
    root = config.cache_dir
    if create:
        ensure_private_dir(root)
        return ensure_private_dir(os.path.join(root, kind))
    return os.path.join(root, kind)


@contextlib.contextmanager
def _key_lock(lock_path: str, blocking: bool = True) -> Iterator[bool]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def _read_meta(base: str) -> dict[str, Any] | None:
    try:
        with open(base + RECORD, encoding="utf-8") as fh:
            return records.loads(fh.read())
    except (OSError, ValueError):
        return None


def _read_checked(base: str, key: str, suffix: str, field: str) -> bytes | None:
    """The payload ``base + suffix`` if its commit record names ``key`` and its size and
    sha256 match the record's ``<field>_size`` / ``<field>_sha256``, else None."""
    meta = _read_meta(base)
    if not meta or meta.get("key") != key:
        return None
    try:
        with open(base + suffix, "rb") as fh:
            blob = fh.read()
    except OSError:
        return None
    if len(blob) != meta.get(field + "_size") or sha256_hex(blob) != meta.get(field + "_sha256"):
        return None
    return blob


def _touch(base: str) -> None:
    with contextlib.suppress(OSError):
        os.utime(base + RECORD)  # last-used stamp for LRU pruning


def _try_load(base: str, key: str) -> Any | None:
    """dlopen the entry if it is complete and intact, else None (a miss)."""
    if _read_checked(base, key, ".so", "so") is None:
        return None
    try:
        handle = loader.dlopen(base + ".so")
    except OSError:
        return None
    _touch(base)
    return handle


def _remove_temps(shard: str, key: str, min_age_s: float = 0.0) -> None:
    now = time.time()
    with contextlib.suppress(OSError):
        for name in os.listdir(shard):
            if name.startswith(key) and ".tmp." in name:
                path = os.path.join(shard, name)
                with contextlib.suppress(OSError):
                    if now - os.stat(path).st_mtime >= min_age_s:
                        os.unlink(path)


def _build(base: str, key: str, source: str, name_hint: str, parts: dict[str, str],
           info: compiler.CompilerInfo, flags: list[str]) -> None:
    shard = os.path.dirname(base)
    for suffix in (RECORD, _LEGACY_RECORD, ".so"):  # an untrusted leftover
        with contextlib.suppress(FileNotFoundError):
            os.unlink(base + suffix)
    _remove_temps(shard, key)  # we hold the key lock: nobody else is writing them
    atomic_write(base + ".c", source)
    compiler.compile_library(base + ".c", base + ".so", info=info, flags=flags)
    with open(base + ".so", "rb") as fh:
        blob = fh.read()
    meta = {"key": key, "name_hint": name_hint, "parts": parts, "created": time.time(),
            "so_size": len(blob), "so_sha256": sha256_hex(blob)}
    atomic_write(base + RECORD, records.dumps(meta))


def get_library(source: str, *, name_hint: str = "kernel") -> LoadedLib:
    """Compile ``source`` (C including ``tensorc_runtime.h``) or reuse the cached build.

    Raises :class:`~tensorc.backend.c.errors.CompileError` when there is no
    working compiler or the source does not compile, and
    :class:`~tensorc.backend.c.errors.CacheError` when the cache directory
    cannot be trusted.
    """
    return _get(source, name_hint, compile_missing=True)  # type: ignore[return-value]


def lookup_library(source: str, *, name_hint: str = "kernel") -> LoadedLib | None:
    """Like :func:`get_library`, but None instead of compiling on a miss."""
    return _get(source, name_hint, compile_missing=False)


def _get(source: str, name_hint: str, compile_missing: bool) -> LoadedLib | None:
    memo_key = (config.cache_dir, config.cxx, config.cflags, config.openmp, source)
    lib = _MEMO.get(memo_key)
    if lib is not None:
        return lib
    info = compiler.require_compiler()
    flags = compiler.compiler_flags(info)
    parts = key_parts(source, info, flags)
    key = cache_key(parts)
    shard = ensure_private_dir(os.path.join(_kind_dir(), key[:2]))
    base = os.path.join(shard, key)
    compiled = False
    handle = _try_load(base, key)
    if handle is None and not compile_missing:
        return None
    if handle is None:
        with _key_lock(base + ".lock"):
            handle = _try_load(base, key)  # another process may have built it meanwhile
            if handle is None:
                _build(base, key, source, name_hint, parts, info, flags)
                compiled = True
                handle = loader.dlopen(base + ".so")
        if compiled:
            _maybe_prune()
    lib = LoadedLib(base + ".so", key, name_hint, handle, compiled, base + ".c")
    _MEMO[memo_key] = lib
    return lib


def explain_miss(source: str, *, name_hint: str) -> list[str]:
    """Which key parts differ from the cached entries built under the same ``name_hint``."""
    info = compiler.require_compiler()
    parts = key_parts(source, info, compiler.compiler_flags(info))
    diffs: list[str] = []
    for entry in cache_list():
        if entry["kind"] == "kernels" and entry["name_hint"] == name_hint:
            old = entry.get("parts", {})
            changed = [p for p in KEY_PARTS if old.get(p) != parts[p]]
            diffs.append(f"{entry['key'][:12]}: differs in {', '.join(changed) or 'nothing'}")
    return diffs or [f"no cached entry named {name_hint!r}"]


def load_blob(kind: str, key: str) -> bytes | None:
    """The payload of the committed ``kind`` entry ``key`` (``kind`` is a name of
    :data:`KINDS` other than ``kernels``), or None on a miss: absent, incomplete or
    corrupt entries are misses. Memoised in the process; a disk hit marks the entry used.

    >>> load_blob("functions", "0" * 64) is None               # doctest: +SKIP
    True
    """
    memo_key = (config.cache_dir, kind, key)
    blob = _BLOB_MEMO.get(memo_key)
    if blob is not None:
        return blob
    base = os.path.join(ensure_private_dir(os.path.join(_kind_dir(kind), key[:2])), key)
    blob = _read_checked(base, key, _suffix(kind), "payload")
    if blob is not None:
        _touch(base)
        _BLOB_MEMO[memo_key] = blob
    return blob


def store_blob(kind: str, key: str, payload: bytes, *, name_hint: str,
               parts: dict[str, str]) -> bool:
    """Install ``payload`` as the ``kind`` entry ``key`` (atomic renames, commit record
    last, ``parts`` stored beside it). Skipped (False) while another process holds the
    key's lock: it is writing the same entry."""
    shard = ensure_private_dir(os.path.join(_kind_dir(kind), key[:2]))
    base = os.path.join(shard, key)
    with _key_lock(base + ".lock", blocking=False) as got:
        if not got:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(base + RECORD)  # untrust the old payload before replacing it
        _remove_temps(shard, key)
        atomic_write(base + _suffix(kind), payload)
        meta = {"key": key, "name_hint": name_hint, "parts": parts, "created": time.time(),
                "payload_size": len(payload), "payload_sha256": sha256_hex(payload)}
        atomic_write(base + RECORD, records.dumps(meta))
    _BLOB_MEMO[(config.cache_dir, kind, key)] = payload
    _maybe_prune()
    return True


def _suffix(kind: str) -> str:
    for name, suffix in KINDS:
        if name == kind:
            return suffix
    raise ValueError(f"unknown cache entry kind {kind!r}; expected one of {[k for k, _ in KINDS]}")


def clear_memo() -> None:
    """Forget the in-process memos (the disk cache is untouched)."""
    _MEMO.clear()
    _BLOB_MEMO.clear()


def _entries() -> Iterator[tuple[str, str, str]]:
    """(kind, shard dir, key) of every committed entry; never holds a lock."""
    for kind, _ in KINDS:
        kdir = _kind_dir(kind, create=False)
        with contextlib.suppress(OSError):
            for shard_name in os.listdir(kdir):
                shard = os.path.join(kdir, shard_name)
                with contextlib.suppress(OSError):
                    names = set(os.listdir(shard))
                    for name in sorted(names):
                        if ".tmp." in name:
                            continue
                        if name.endswith(RECORD):
                            yield kind, shard, name[:-len(RECORD)]
                        elif name.endswith(_LEGACY_RECORD) and \
                                name[:-len(_LEGACY_RECORD)] + RECORD not in names:
                            yield kind, shard, name[:-len(_LEGACY_RECORD)]


def _record_mtime(base: str) -> float:
    """When the entry was last used: its record's mtime (a legacy record's if that is all)."""
    try:
        return os.stat(base + RECORD).st_mtime
    except FileNotFoundError:
        return os.stat(base + _LEGACY_RECORD).st_mtime


def _entry_size(base: str) -> int:
    total = 0
    for suffix in _FILE_SUFFIXES:
        with contextlib.suppress(OSError):
            total += os.stat(base + suffix).st_size
    return total


def cache_list() -> list[dict[str, Any]]:
    """One dict per cached entry (kernel libraries and rewritten functions): kind, key,
    name_hint, bytes, last_used, created, parts, path (of the payload), base."""
    out = []
    for kind, shard, key in _entries():
        base = os.path.join(shard, key)
        meta = _read_meta(base) or {}
        with contextlib.suppress(OSError):
            out.append({"kind": kind, "key": key, "name_hint": meta.get("name_hint", "?"),
                        "bytes": _entry_size(base),
                        "last_used": _record_mtime(base),
                        "created": meta.get("created", 0.0), "parts": meta.get("parts", {}),
                        "path": base + _suffix(kind), "base": base})
    return sorted(out, key=lambda e: e["last_used"], reverse=True)


def cache_info() -> dict[str, Any]:
    """Summary: directory, number of entries, total bytes, size cap."""
    entries = cache_list()
    return {"cache_dir": config.cache_dir, "entries": len(entries),
            "bytes": sum(e["bytes"] for e in entries), "max_mb": config.cache_max_mb}


def _remove_entry(base: str) -> bool:
    """Delete one entry unless a process holds its lock (is compiling it)."""
    lock = base + ".lock"
    try:
        with _key_lock(lock, blocking=False) as got:
            if not got:
                return False
            for suffix in _FILE_SUFFIXES:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(base + suffix)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
    except OSError:
        return False
    return True


def cache_prune(max_mb: float | None = None) -> int:
    """Drop least-recently-used entries until the cache fits ``max_mb``
    (default ``config.cache_max_mb``), and stale temporary files. Returns the
    number of entries removed."""
    limit = float(config.cache_max_mb if max_mb is None else max_mb) * 1024 * 1024
    _remove_stale_temps()
    entries = cache_list()
    total = sum(e["bytes"] for e in entries)
    removed = 0
    for entry in reversed(entries):  # oldest use first
        if total <= limit:
            break
        if _remove_entry(entry["base"]):
            total -= entry["bytes"]
            removed += 1
    return removed


def cache_clear() -> int:
    """Remove every entry not being compiled right now; returns how many."""
    clear_memo()
    removed = sum(_remove_entry(os.path.join(shard, key)) for _, shard, key in list(_entries()))
    _remove_stale_temps()
    return removed


def _remove_stale_temps() -> None:
    """Delete temporary files older than an hour (left by killed processes)."""
    for kind, _ in KINDS:
        kdir = _kind_dir(kind, create=False)
        with contextlib.suppress(OSError):
            for shard_name in os.listdir(kdir):
                shard = os.path.join(kdir, shard_name)
                if os.path.isdir(shard):
                    _remove_temps(shard, "", min_age_s=_STALE_TEMP_S)


def _maybe_prune() -> None:
    """Prune at most once a minute (the stamp file's mtime says when we last did)."""
    stamp = os.path.join(config.cache_dir, "last_prune")
    with contextlib.suppress(OSError):
        if time.time() - os.stat(stamp).st_mtime < _PRUNE_INTERVAL_S:
            return
    with contextlib.suppress(OSError):
        with open(stamp, "w", encoding="utf-8"):
            pass
        cache_prune()
