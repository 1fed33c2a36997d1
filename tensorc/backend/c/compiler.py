"""C compiler driver: find the compiler, choose flags, compile a shared library.

Kernels are plain C (no ``Python.h``) compiled straight with ``subprocess`` into a
temporary file beside the target, then renamed over it, so a reader never sees a
half-written library. Facts about a compiler that cost a subprocess (its version
line, whether ``-fopenmp`` works, whether it can build a library at all) are
probed once per machine and kept in a small JSON file in the cache directory,
keyed by the compiler binary's path, size and mtime; a fresh process reads that
file instead of spawning the compiler.

>>> from tensorc.backend.c import compiler
>>> isinstance(compiler.compiler_available(), bool)
True
"""
from __future__ import annotations

import functools
import os
import _thread
from typing import TYPE_CHECKING, Sequence

from tensorc.backend.c import cpu, paths, records
from tensorc.backend.c.errors import CompileError
from tensorc.backend.c.fsutil import atomic_write, ensure_private_dir, sha256_hex
from tensorc.config import config

#: Base flags. -fno-math-errno / -fno-trapping-math only drop errno updates and
#: FP-exception-flag preservation (neither is observable from numpy's results);
#: results stay IEEE: NaN, inf and -0.0 behave as without them. No -ffast-math.
#: -fwrapv makes signed integer overflow wrap, as numpy's integer arithmetic does
#: (without it overflow is undefined behaviour the optimiser may exploit).
BASE_FLAGS: tuple[str, ...] = (
    "-O3", "-march=native", "-fopenmp-simd", "-fPIC", "-shared", "-std=c11",
    "-fno-math-errno", "-fno-trapping-math", "-fwrapv",
)

#: Searched in order when ``config.cxx`` is empty.
DEFAULT_COMPILERS: tuple[str, ...] = ("cc", "gcc", "clang")
LINK_LIBS: tuple[str, ...] = ("-lm",)
_PROBE_SOURCE = "int tc_probe(int x) { return x + 1; }\n"


class CompilerInfo:
    """What tensorc knows about one compiler binary (a plain class: no dataclass
    machinery to import on the warm path)."""
    __slots__ = ("path", "version", "works", "error")

    def __init__(self, path: str, version: str, works: bool, error: str = "") -> None:
        self.path = path          #: absolute path of the driver
        self.version = version    #: first line of ``--version``
        self.works = works        #: it built a tiny shared library
        self.error = error        #: why ``works`` is False

    def as_dict(self) -> dict[str, object]:
        """The fields by name (what the probe file stores)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return type(other) is CompilerInfo and self.as_dict() == other.as_dict()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        return "CompilerInfo(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"


@functools.lru_cache(maxsize=16)
def _resolve(name: str) -> str | None:
    """``name`` as an executable path: a path is checked, a bare name is looked up on
    ``$PATH`` with ``shutil.which``'s rule (without importing ``shutil``: ~5 ms here)."""
    if os.sep in name:
        return os.path.abspath(name) if os.access(name, os.X_OK) and os.path.isfile(name) else None
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or os.curdir, name)
        if os.access(candidate, os.X_OK) and os.path.isfile(candidate):
            return candidate
    return None


def find_compiler() -> str | None:
    """Absolute path of the C compiler to use, or None.

    ``config.cxx`` when set (a name looked up on PATH, or a path); otherwise the
    first of ``cc``, ``gcc``, ``clang`` found on PATH.
    """
    if config.cxx:
        return _resolve(config.cxx)
    for name in DEFAULT_COMPILERS:
        found = _resolve(name)
        if found:
            return found
    return None


@functools.lru_cache(maxsize=16)
def _identity(path: str) -> str:
    """The compiler binary's identity, hashed: its path and the device, inode, size and
    mtime of the file it names (``os.stat`` follows symlinks, so a re-pointed ``cc`` link
    or a reinstalled compiler is another identity; no ``realpath``, whose pure-Python
    walk cost ~0.5 ms of a warm build).  Once per process (a compiler replaced while a
    process runs is seen by the next process)."""
    st = os.stat(path)
    ident = f"{path}|{st.st_dev}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}"
    return sha256_hex(ident)[:20]


if TYPE_CHECKING:
    import subprocess


def _run(cmd: Sequence[str], cwd: str | None = None) -> "subprocess.CompletedProcess[str]":
    import subprocess  # not imported on the warm path (cached kernels): ~5 ms
    return subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)


def _probe_compile(cc: str, source: str, extra: Sequence[str]) -> tuple[bool, str]:
    import tempfile
    with tempfile.TemporaryDirectory(prefix="tensorc-probe-") as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w", encoding="utf-8") as fh:
            fh.write(source)
        try:
            proc = _run([cc, "-shared", "-fPIC", *extra, "-o", os.path.join(tmp, "probe.so"), src], tmp)
        except OSError as exc:
            return False, str(exc)
        return proc.returncode == 0, proc.stderr


def _probe(cc: str) -> CompilerInfo:
    """Version line and a test build of a tiny shared library (kernels need nothing
    more: threads come from ``tensorc._ext``'s pool, not from ``-fopenmp``)."""
    try:
        proc = _run([cc, "--version"])
        version = (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else ""
    except (OSError, IndexError):
        version = ""
    works, err = _probe_compile(cc, _PROBE_SOURCE, ())
    return CompilerInfo(cc, version, works, "" if works else err)


def _info_file(cc: str) -> str:
    return os.path.join(config.cache_dir, "toolchains", f"{_identity(cc)}.meta")


@functools.lru_cache(maxsize=16)
def _compiler_info_cached(cc: str, info_file: str) -> CompilerInfo:
    try:
        with open(info_file, encoding="utf-8") as fh:
            data = records.loads(fh.read())
        info = CompilerInfo(**data)
        if info.path == cc:
            return info
    except (OSError, ValueError, TypeError):
        pass
    info = _probe(cc)
    if info.works:  # a failure is not remembered: the user may fix the toolchain
        try:
            ensure_private_dir(config.cache_dir)
            ensure_private_dir(os.path.dirname(info_file))
            atomic_write(info_file, records.dumps(info.as_dict()))
        except OSError:
            pass
    return info


# ``_thread``'s lock is ``threading.Lock``; ``threading`` itself (70 KB of bytecode, ~1 ms of
# import) is loaded only when a probe thread is started.
_PROBING = _thread.allocate_lock()  # one probe at a time (the background one may be running)


def compiler_info(cc: str | None = None) -> CompilerInfo | None:
    """Probed facts about ``cc`` (default: :func:`find_compiler`); None if there is none."""
    cc = cc or find_compiler()
    if cc is None:
        return None
    try:
        info_file = _info_file(cc)
    except OSError:
        return None
    with _PROBING:
        return _compiler_info_cached(cc, info_file)


def probe_in_background() -> None:
    """Probe the compiler in a thread when the cache directory has no record of it yet.

    The probe (a version query and a test build, ~70 ms) then overlaps the rewrite passes
    of the first function built on an empty cache instead of preceding its kernel build;
    :func:`compiler_info` waits for it. Nothing happens when the record exists.
    """
    cc = find_compiler()
    if cc is None:
        return
    try:
        if os.path.exists(_info_file(cc)):
            return
    except OSError:
        return
    import threading
    threading.Thread(target=_probe_quietly, args=(cc,), name="tensorc-probe", daemon=True).start()


def _probe_quietly(cc: str) -> None:
    """The background probe: a failure (e.g. a cache directory refused as writable by
    others) is not printed from the thread; the foreground :func:`compiler_info` repeats
    the probe (failures are not cached) and reports it where the user can see it."""
    try:
        compiler_info(cc)
    except Exception:  # noqa: BLE001 - reported by the foreground call
        pass


def compiler_available() -> bool:
    """True when a C compiler is configured and builds a tiny shared library.

    Probed once per compiler binary (remembered on disk and in memory).
    """
    info = compiler_info()
    return bool(info and info.works)


def compiler_flags(info: CompilerInfo | None = None) -> list[str]:
    """The full flag list, in order, used for every kernel (part of the cache key)."""
    flags = list(BASE_FLAGS)
    if cpu.has_avx512f():
        flags.append("-mprefer-vector-width=512")
    flags.append("-I" + paths.csrc_dir())
    if config.cflags:
        import shlex
        flags.extend(shlex.split(config.cflags))
    return flags


def clear_caches() -> None:
    """Forget in-memory probes (tests change ``config.cxx`` and the cache dir)."""
    _resolve.cache_clear()
    _identity.cache_clear()
    _compiler_info_cached.cache_clear()


def require_compiler() -> CompilerInfo:
    """The working compiler's info, or raise :class:`CompileError` saying what is wrong."""
    cc = find_compiler()
    if cc is None:
        wanted = repr(config.cxx) if config.cxx else " or ".join(DEFAULT_COMPILERS)
        raise CompileError(f"no C compiler found (looked for {wanted}); install one, set "
                           "config.cxx, or use the numpy backend (config.backend='numpy')")
    info = compiler_info(cc)
    assert info is not None
    if not info.works:
        raise CompileError(f"the C compiler {cc} cannot build a shared library",
                           stderr=info.error, command=[cc, "-shared", "-fPIC"])
    return info


def compile_library(source_path: str, output_path: str, *,
                    info: CompilerInfo | None = None,
                    flags: Sequence[str] | None = None) -> list[str]:
    """Compile ``source_path`` into the shared library ``output_path``.

    The compiler writes to a temporary file beside ``output_path`` which is then
    renamed over it (atomic). Returns the command run; raises
    :class:`CompileError` (with stderr, command and source path) on failure.
    """
    info = info or require_compiler()
    flags = list(flags) if flags is not None else compiler_flags(info)
    import tempfile
    directory = os.path.dirname(os.path.abspath(output_path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(output_path) + ".tmp.")
    os.close(fd)
    cmd = [info.path, *flags, "-o", tmp, source_path, *LINK_LIBS]
    try:
        try:
            proc = _run(cmd, directory)
        except OSError as exc:
            raise CompileError(f"could not run the C compiler: {exc}", command=cmd,
                               source_path=source_path) from None
        if proc.returncode != 0:
            raise CompileError(f"C compilation failed (exit status {proc.returncode})",
                               stderr=proc.stderr, command=cmd, source_path=source_path)
        os.chmod(tmp, 0o700)
        os.replace(tmp, output_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return cmd
