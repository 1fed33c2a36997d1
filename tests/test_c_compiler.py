"""Compiler driver: discovery, flags, probes, compile errors."""
from __future__ import annotations

import os

import pytest

from tensorc.backend.c import cache, compiler, cpu, paths
from tensorc.backend.c.errors import CompileError
from tensorc.config import config

needs_cc = pytest.mark.skipif(not compiler.compiler_available(), reason="no C compiler")


@pytest.fixture
def tmp_cache(tmp_path):
    """A private cache dir for one test; config and in-memory probes restored after."""
    saved = (config.cache_dir, config.cxx, config.cflags)
    config.cache_dir = str(tmp_path / "cache")
    compiler.clear_caches()
    cache.clear_memo()
    yield config.cache_dir
    config.cache_dir, config.cxx, config.cflags = saved
    compiler.clear_caches()
    cache.clear_memo()


def test_missing_compiler_is_a_clear_error(tmp_cache) -> None:
    config.cxx = "/nonexistent/cc"
    assert compiler.find_compiler() is None
    assert compiler.compiler_available() is False
    with pytest.raises(CompileError, match="no C compiler found"):
        cache.get_library("int f(void) { return 0; }", name_hint="f")


@needs_cc
def test_compile_error_carries_stderr_command_and_source(tmp_cache) -> None:
    with pytest.raises(CompileError) as info:
        cache.get_library("int f(void) { return undefined_name; }", name_hint="broken")
    err = info.value
    assert "undefined_name" in err.stderr
    assert err.command and err.command[0] == compiler.find_compiler()
    assert err.source_path and os.path.isfile(err.source_path)
    assert "undefined_name" in str(err)
    assert not any(e["name_hint"] == "broken" for e in cache.cache_list())


@needs_cc
def test_flags(tmp_cache) -> None:
    info = compiler.require_compiler()
    config.cflags = "-DTC_TEST_FLAG=1"
    flags = compiler.compiler_flags(info)
    for f in ("-O3", "-march=native", "-fopenmp-simd", "-fPIC", "-shared", "-fno-math-errno"):
        assert f in flags
    assert "-ffast-math" not in flags
    assert ("-mprefer-vector-width=512" in flags) == cpu.has_avx512f()
    assert "-I" + paths.csrc_dir() in flags
    assert flags[-1] == "-DTC_TEST_FLAG=1"
    # threads come from tensorc._ext's pool, not OpenMP: kernels need no libgomp
    assert "-fopenmp" not in flags


@needs_cc
def test_probe_is_remembered_on_disk(tmp_cache) -> None:
    assert compiler.compiler_available()
    files = os.listdir(os.path.join(tmp_cache, "toolchains"))
    assert len(files) == 1
    compiler.clear_caches()
    info = compiler.compiler_info()  # read back, no subprocess needed
    assert info is not None and info.works and info.version


@needs_cc
def test_background_probe_runs_once_and_is_waited_for(tmp_cache, monkeypatch) -> None:
    import threading
    calls: list[str] = []
    release = threading.Event()
    real = compiler._probe

    def slow_probe(cc: str):
        calls.append(cc)
        release.wait(5)
        return real(cc)
    monkeypatch.setattr(compiler, "_probe", slow_probe)
    compiler.probe_in_background()  # empty cache dir: the probe starts in a thread
    for _ in range(200):
        if calls:
            break
        threading.Event().wait(0.01)
    assert len(calls) == 1
    threading.Timer(0.05, release.set).start()
    info = compiler.compiler_info()  # waits for the running probe instead of starting one
    assert info is not None and info.works and len(calls) == 1
    compiler.probe_in_background()  # the record exists now: nothing starts
    assert len(calls) == 1 and os.listdir(os.path.join(tmp_cache, "toolchains"))


def test_cpu_fingerprint_is_cheap_and_stable() -> None:
    import time
    cpu.cpu_fingerprint.cache_clear()
    t0 = time.perf_counter()
    fp = cpu.cpu_fingerprint()
    assert time.perf_counter() - t0 < 0.05
    assert fp == cpu.cpu_fingerprint() and "native" not in fp


def test_runtime_header_is_found() -> None:
    assert os.path.isfile(paths.runtime_header_path())
    assert "TC_DEF_SIGNED_DIVMOD(int64, tc_int64)" in paths.runtime_header_text()
