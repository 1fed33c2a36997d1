"""Kernels on the thread pool of ``tensorc._ext``: every parallel loop kind (flat and
strided elementwise, flat and per-row reductions, row kernels) against numpy, with the
threshold lowered so that small arrays are cut into chunks; thread-safety of the pool
under concurrent Python threads; and single-threaded kernels when threads are off."""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import loader
from tensorc.backend.c.driver import c_backend_available
from tensorc.config import config
from conftest import run_threads

pytestmark = pytest.mark.skipif(not (c_backend_available() and loader.using_ext()),
                                reason="needs a C compiler and tensorc._ext (the pool)")
C = tensorc.Mode(optimizer="fast_run", backend="c", name="C")


@pytest.fixture
def low_threshold(monkeypatch: pytest.MonkeyPatch):
    """Every loop of more than 2 iterations goes to the pool, in chunks of any size."""
    monkeypatch.setattr(config, "omp_threshold", 2)
    lib = loader.ext_module().lib
    old = lib.tc_pool_set_grain(1)
    yield
    lib.tc_pool_set_grain(old)


def _functions():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    r = T.drow("r")
    return {
        "flat": ([x, y], 2 * x + 3 * y, lambda a, b: 2 * a + 3 * b),
        "strided": ([x, y], T.tanh(x.T) * y, lambda a, b: np.tanh(a.T) * b),
        "broadcast_row": ([x, r], x * T.exp(r), lambda a, b: a * np.exp(b)),
        "sum_all": ([x, y], T.sum((x - y) ** 2), lambda a, b: np.sum((a - b) ** 2)),
        "sum_rows": ([x, y], T.sum(x * y, axis=1), lambda a, b: np.sum(a * b, axis=1)),
        "max_cols": ([x, y], T.max(x + y, axis=0), lambda a, b: np.max(a + b, axis=0)),
        "softmax": ([x, y], T.nnet.softmax(x + y),
                    lambda a, b: np.exp(a + b - (a + b).max(1, keepdims=True))
                    / np.exp(a + b - (a + b).max(1, keepdims=True)).sum(1, keepdims=True)),
    }


FUNCS = sorted(_functions())


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (64, 33), (257, 300)])
def test_pool_matches_numpy(name, shape, low_threshold, rng):
    ins, out, ref = _functions()[name]
    f = tensorc.function(ins, out, mode=C)
    args = [rng.standard_normal(shape if v.type.broadcastable == (False, False) else (1, shape[1]))
            for v in ins]
    if name == "strided":
        args[0] = rng.standard_normal(shape[::-1])
    jobs = loader.ext_module().lib.tc_pool_jobs()
    for _ in range(3):  # repeated calls reuse the pool and recycled buffers
        np.testing.assert_allclose(f(*args), ref(*args), rtol=1e-12, atol=1e-12)
    if shape == (257, 300) and loader.ext_module().lib.tc_pool_threads() > 1:
        assert loader.ext_module().lib.tc_pool_jobs() > jobs, "the kernel never used the pool"


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(1, 300))
def test_pool_sum_and_add_any_shape(rows, cols):
    config_threshold = config.omp_threshold
    config.omp_threshold = 2
    lib = loader.ext_module().lib
    grain = lib.tc_pool_set_grain(1)
    try:
        x, y = T.dmatrix("x"), T.dmatrix("y")
        f = tensorc.function([x, y], [x + y, T.sum(x * y), T.sum(x, axis=1)], mode=C)
        a = np.arange(rows * cols, dtype=float).reshape(rows, cols) / 7
        b = np.cos(a)
        s, total, per_row = f(a, b)
    finally:
        config.omp_threshold = config_threshold
        lib.tc_pool_set_grain(grain)
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_allclose(total, np.sum(a * b), rtol=1e-12)
    np.testing.assert_allclose(per_row, a.sum(axis=1), rtol=1e-12)


def test_pool_is_safe_under_concurrent_python_threads(low_threshold, rng):
    x, y = T.dvector("x"), T.dvector("y")
    f = tensorc.function([x, y], T.sum(T.exp(x) * y), mode=C)
    data = [(rng.standard_normal(50_000), rng.standard_normal(50_000)) for _ in range(4)]
    want = [np.sum(np.exp(a) * b) for a, b in data]
    errors: list[str] = []

    def work(k: int) -> None:
        for _ in range(30):
            got = f(*data[k])
            if not np.isclose(got, want[k], rtol=1e-12):
                errors.append(f"thread {k}: {got} != {want[k]}")

    run_threads(work)
    assert errors == []


def test_pool_has_threads_and_kernels_get_it():
    ext = loader.ext_module()
    assert ext.lib.tc_pool_threads() >= 1
    assert loader.threads_enabled() == bool(config.openmp)


def test_threads_off_still_correct(monkeypatch, rng):
    monkeypatch.setattr(config, "openmp", False)
    monkeypatch.setattr(config, "omp_threshold", 2)
    x = T.dvector("x")
    f = tensorc.function([x], T.sum(x ** 2), mode=C)
    a = rng.standard_normal(100_000)
    jobs = loader.ext_module().lib.tc_pool_jobs()
    np.testing.assert_allclose(f(a), np.sum(a ** 2), rtol=1e-12)
    assert loader.ext_module().lib.tc_pool_jobs() == jobs


@pytest.mark.parametrize("n,expect_pool", [(1000, False), (2_000_000, True)])
def test_small_cheap_loops_stay_serial(n, expect_pool, rng):
    """Below two chunks of work (elements x per-element cost) a loop runs on the caller."""
    x, y = T.dvector("x"), T.dvector("y")
    f = tensorc.function([x, y], x * y + 1, mode=C)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    lib = loader.ext_module().lib
    jobs = lib.tc_pool_jobs()
    np.testing.assert_allclose(f(a, b), a * b + 1)
    used = lib.tc_pool_jobs() > jobs
    assert used == (expect_pool and lib.tc_pool_threads() > 1 and bool(config.openmp))


def test_programs_calling_blas_keep_kernels_off_the_pool(low_threshold, rng):
    """A function with a ``dot`` runs its kernels serially (OpenBLAS's spinning threads
    would stall a pool worker), and the next function without BLAS uses the pool again."""
    x, W = T.dmatrix("x"), T.dmatrix("W")
    with_dot = tensorc.function([x, W], T.tanh(T.dot(x, W)) + 1, mode=C)
    plain = tensorc.function([x, W], T.tanh(x * W) + 1, mode=C)
    a, b = rng.standard_normal((300, 300)), rng.standard_normal((300, 300))
    lib = loader.ext_module().lib
    jobs = lib.tc_pool_jobs()
    np.testing.assert_allclose(with_dot(a, b), np.tanh(a @ b) + 1, atol=1e-12)
    assert lib.tc_pool_jobs() == jobs, "a kernel of a BLAS program went to the pool"
    np.testing.assert_allclose(plain(a, b), np.tanh(a * b) + 1, atol=1e-12)
    assert (lib.tc_pool_jobs() > jobs) == (lib.tc_pool_threads() > 1 and bool(config.openmp))
