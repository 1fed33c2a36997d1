"""The on-disk kernel cache: keys, concurrency, crashes, corruption, trust, pruning."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tensorc.backend.c import cache, compiler
from tensorc.backend.c.errors import CacheError
from tensorc.config import config
from subproc import PACKAGE_PARENT

pytestmark = pytest.mark.skipif(not compiler.compiler_available(), reason="no C compiler")

SRC = '#include "tensorc_runtime.h"\nint k(const tc_arg *a) { (void)a; return 0; }\n'


@pytest.fixture
def tmp_cache(tmp_path):
    saved = (config.cache_dir, config.cxx, config.cflags, config.cache_max_mb)
    config.cache_dir = str(tmp_path / "cache")
    compiler.clear_caches()
    cache.clear_memo()
    yield config.cache_dir
    config.cache_dir, config.cxx, config.cflags, config.cache_max_mb = saved
    compiler.clear_caches()
    cache.clear_memo()


def _fake_cc(tmp_path, body: str) -> str:
    """A compiler wrapper script: runs ``body`` then the real compiler."""
    real = compiler.find_compiler()
    path = tmp_path / "fake-cc.sh"
    path.write_text(f"#!/bin/sh\n{body}\nexec {real} \"$@\"\n")
    path.chmod(0o755)
    return str(path)


def _child(script: str, cache_dir: str, cxx: str = "") -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys
        from tensorc.config import config
        config.cache_dir = {cache_dir!r}
        config.cxx = {cxx!r}
        from tensorc.backend.c import cache
        SRC = {SRC!r}
    """) + textwrap.dedent(script)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=PACKAGE_PARENT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_build_then_hit_then_memo(tmp_cache) -> None:
    lib = cache.get_library(SRC, name_hint="k")
    assert lib.compiled and os.path.isfile(lib.path) and lib.kernel("k")
    assert cache.get_library(SRC, name_hint="k") is lib  # in-process memo
    cache.clear_memo()
    again = cache.get_library(SRC, name_hint="k")
    assert not again.compiled and again.key == lib.key
    assert oct(os.stat(tmp_cache).st_mode & 0o777) == oct(0o700)
    (entry,) = cache.cache_list()
    assert entry["name_hint"] == "k" and set(entry["parts"]) == set(cache.KEY_PARTS)


def test_memo_hit_touches_no_disk(tmp_cache, monkeypatch) -> None:
    cache.get_library(SRC, name_hint="k")

    def no_disk(*a, **k):
        raise AssertionError("disk access on a memo hit")
    for name in ("open", "stat", "listdir"):
        monkeypatch.setattr(os, name, no_disk)
    cache.get_library(SRC, name_hint="k")


def test_every_key_part_changes_the_key(tmp_cache) -> None:
    info = compiler.require_compiler()
    flags = compiler.compiler_flags(info)
    base = cache.key_parts(SRC, info, flags)
    key = cache.cache_key(base)
    for part in cache.KEY_PARTS:
        assert cache.cache_key(dict(base, **{part: base[part] + "x"})) != key, part
    assert cache.key_parts(SRC + " ", info, flags)["source"] != base["source"]
    assert cache.key_parts(SRC, info, flags + ["-DX"])["flags"] != base["flags"]


def test_cflags_change_gives_a_new_entry(tmp_cache) -> None:
    a = cache.get_library(SRC, name_hint="k")
    config.cflags = "-DSOMETHING=1"
    b = cache.get_library(SRC, name_hint="k")
    assert a.key != b.key and b.compiled
    assert any("flags" in line for line in cache.explain_miss(SRC + "//", name_hint="k"))


def test_two_processes_compile_once(tmp_cache, tmp_path) -> None:
    marker = tmp_path / "compiles.log"
    cc = _fake_cc(tmp_path, f'case "$*" in *-o*.so.tmp.*) echo x >> {marker}; sleep 1;; esac')
    config.cxx = cc
    compiler.compiler_available()  # probe once here, so children only compile the kernel
    script = "lib = cache.get_library(SRC, name_hint='k'); lib.kernel('k'); print(lib.compiled)"
    procs = [_child(script, tmp_cache, cc) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sorted(o.strip() for o, _ in outs) == ["False", "True"]
    assert marker.read_text().count("x") == 1


def test_killed_compile_leaves_nothing_trusted(tmp_cache, tmp_path) -> None:
    started = tmp_path / "started"
    # the fake compiler writes a garbage library where it was told, then hangs
    cc = _fake_cc(tmp_path, textwrap.dedent(f"""
        case "$*" in *-o*.so.tmp.*)
          out=$(echo "$*" | sed 's/.*-o \\([^ ]*\\).*/\\1/'); echo garbage > "$out"
          touch {started}; sleep 60;;
        esac"""))
    config.cxx = cc
    compiler.compiler_available()
    proc = _child("cache.get_library(SRC, name_hint='k')", tmp_cache, cc)
    deadline = time.time() + 30
    while not started.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert started.exists(), proc.stderr.read() if proc.poll() is not None else "no start"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert cache.cache_list() == []
    config.cxx = ""
    compiler.clear_caches()
    lib = cache.get_library(SRC, name_hint="k")
    assert lib.compiled and lib.kernel("k")
    shard = os.path.dirname(lib.path)
    assert not [n for n in os.listdir(shard) if ".tmp." in n]  # leftovers were cleaned


def test_corrupted_library_is_rebuilt(tmp_cache) -> None:
    proc = _child("print(cache.get_library(SRC, name_hint='k').path)", tmp_cache)
    out, err = proc.communicate(timeout=60)
    path = out.strip()
    assert proc.returncode == 0 and os.path.isfile(path), err
    with open(path, "r+b") as fh:
        fh.truncate(100)
    lib = cache.get_library(SRC, name_hint="k")
    assert lib.compiled and lib.kernel("k")
    assert os.path.getsize(path) > 100


def test_unloadable_library_is_rebuilt(tmp_cache) -> None:
    lib = _child("print(cache.get_library(SRC, name_hint='k').path)", tmp_cache)
    path = lib.communicate(timeout=60)[0].strip()
    meta = path[:-3] + cache.RECORD
    os.unlink(meta)  # no commit record: not trusted
    assert cache.get_library(SRC, name_hint="k").compiled


def test_foreign_writable_dir_is_refused(tmp_cache) -> None:
    os.makedirs(tmp_cache)
    os.chmod(tmp_cache, 0o777)
    with pytest.raises(CacheError, match="writable by group or others"):
        cache.get_library(SRC, name_hint="k")
    os.chmod(tmp_cache, 0o700)
    assert cache.get_library(SRC, name_hint="k")


def test_foreign_writable_dir_under_auto_warns_once_and_runs_on_numpy(tmp_cache) -> None:
    """backend='auto' with a cache directory writable by others: one warning naming the
    directory, the numpy backend, and no traceback from the background compiler probe."""
    os.makedirs(tmp_cache)
    os.chmod(tmp_cache, 0o777)
    try:
        child = _child("""
            import warnings
            warnings.simplefilter("always")
            config.backend = "auto"
            import numpy as np
            import tensorc, tensorc.tensor as T
            x = T.dvector("x")
            f = tensorc.function([x], T.exp(x) + 1)
            print(f.backend, float(f(np.zeros(2))[0]))
        """, tmp_cache)
        out, err = child.communicate(timeout=120)
    finally:
        os.chmod(tmp_cache, 0o700)
    assert child.returncode == 0, err
    assert out.split() == ["numpy", "2.0"]
    assert err.count("writable by group or others") == 1, err
    assert "RuntimeWarning" in err and "Traceback" not in err and "Exception in thread" not in err


def test_prune_keeps_recent_and_respects_size(tmp_cache) -> None:
    libs = [cache.get_library(SRC + f"// {i}\n", name_hint=f"k{i}") for i in range(4)]
    for i, lib in enumerate(libs):  # k0 used longest ago ... k3 most recently
        stamp = lib.path[:-3] + cache.RECORD
        os.utime(stamp, (time.time() - 1000 + i, time.time() - 1000 + i))
    sizes = {e["name_hint"]: e["bytes"] for e in cache.cache_list()}
    keep_mb = (sizes["k3"] + sizes["k2"] + 10) / (1024 * 1024)
    assert cache.cache_prune(max_mb=keep_mb) == 2
    assert sorted(e["name_hint"] for e in cache.cache_list()) == ["k2", "k3"]
    assert cache.cache_info()["entries"] == 2
    assert cache.cache_clear() == 2 and cache.cache_list() == []
