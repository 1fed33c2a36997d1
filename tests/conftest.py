"""Shared fixtures: a temporary kernel cache, and the ``mode`` fixture that runs a test
on every backend (numpy always; C when the C backend is built and a compiler works).

Write backend-independent tests as ``def test_x(mode): f = tensorc.function(..., mode=mode)``.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Iterator

import numpy as np
import pytest

import tensorc
from tensorc.config import config


def _available_backends() -> list[str]:
    backends = ["numpy"]
    try:
        from tensorc.backend.c.driver import c_backend_available
    except ImportError:
        return backends
    if c_backend_available():
        backends.append("c")
    return backends


BACKENDS = _available_backends()


@pytest.fixture(autouse=True, scope="session")
def _temporary_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """Every test session compiles into its own private cache directory, shared by the
    xdist workers of the session (the cache is multi-process safe), so a kernel is
    compiled once per session, not once per worker."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.mktemp("tensorc-cache")
    else:  # the workers' base temp dirs share a parent that is unique to the session
        path = tmp_path_factory.getbasetemp().parent / "tensorc-cache"
        path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    old = config.cache_dir
    config.cache_dir = str(path)
    os.environ["TENSORC_FLAGS"] = ",".join(
        p for p in [os.environ.get("TENSORC_FLAGS", ""), f"cache_dir={path}"] if p)
    yield str(path)
    config.cache_dir = old


@pytest.fixture(autouse=True)
def _restore_config():
    """Whatever a test changes in ``config`` is put back afterwards."""
    saved = [(name, value, source) for name, value, source in config.items()]
    yield
    for name, value, source in saved:
        config._set(name, value, source)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of a backend: 'numpy', and 'c' when available."""
    return request.param


@pytest.fixture
def mode(backend: str) -> tensorc.Mode:
    """A FAST_RUN mode (all rewrites) executing on ``backend``."""
    return tensorc.Mode(optimizer="fast_run", backend=backend, name=f"FAST_RUN({backend})")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


#: marks a test that needs the C backend (skipped without a working C compiler)
needs_c = pytest.mark.skipif("c" not in BACKENDS, reason="needs the C backend (no working C compiler)")
#: FAST_RUN on the C backend, for tests that must compile (the function cache serves only C)
C_MODE = tensorc.Mode(optimizer="fast_run", backend="c", name="FAST_RUN(c)")


@pytest.fixture(scope="module")
def module_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A cache directory (0700) of the requesting test module: its kernels are compiled
    once and shared by the module's tests."""
    path = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    os.chmod(path, 0o700)
    return str(path)


@pytest.fixture
def kernels_only_cache(module_cache: str) -> Iterator[str]:
    """``module_cache`` as ``config.cache_dir``, emptied of function-cache entries and
    with no in-process memo: each test rewrites and lowers its functions again but
    finds the module's compiled kernels."""
    from tensorc.backend.c import cache
    saved = config.cache_dir
    config.cache_dir = module_cache
    for e in cache.cache_list():
        if e["kind"] == "functions":
            cache._remove_entry(e["base"])
    cache.clear_memo()
    yield module_cache
    config.cache_dir = saved
    cache.clear_memo()


def run_threads(work: Callable[[int], None], n: int = 4) -> None:
    """Run ``work(0) .. work(n-1)`` on ``n`` threads started together; return when all end."""
    threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
