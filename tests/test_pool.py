"""The thread pool of ``tensorc._ext`` (csrc/tensorc_pool.c) driven directly: a small C
library with a ``tc_parallel_hook`` (set by the loader, like every kernel library's)
marks the indices of each chunk it is given, so every index of every job can be checked
to be covered exactly once, for many job sizes and chunk counts, under concurrent callers,
and while a worker is held up in the middle of a chunk."""
from __future__ import annotations

import ctypes
from typing import Any, Iterator

import numpy as np
import pytest

from clib import library_in_temp_cache
from tensorc.backend.c import compiler, loader
from conftest import run_threads

pytestmark = pytest.mark.skipif(not (compiler.compiler_available() and loader.using_ext()),
                                reason="needs a C compiler and tensorc._ext (the pool)")

SOURCE = r"""
#define _GNU_SOURCE 1 /* clock_gettime, nanosleep under -std=c11 */
#include "tensorc_runtime.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

__attribute__((visibility("default"))) tc_parallel_fn tc_parallel_hook = 0;

typedef struct job {
    int32_t *marks;
    tc_intp n;
    _Atomic int64_t calls, bad, by_others;
    pthread_t caller;
    int64_t delay_ns;      /* the first chunk another thread runs sleeps this long */
    _Atomic int started;   /* chunks other threads have started */
    int caller_waited;     /* the caller's first chunk has waited for them */
} job;

static void sleep_ns(int64_t ns) {
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    nanosleep(&ts, NULL);
}

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void mark(void *ctx, tc_intp lo, tc_intp hi) {
    job *j = (job *)ctx;
    atomic_fetch_add(&j->calls, 1);
    if (lo < 0 || hi > j->n || lo >= hi) { atomic_fetch_add(&j->bad, 1); return; }
    if (!pthread_equal(pthread_self(), j->caller)) atomic_fetch_add(&j->by_others, hi - lo);
    for (tc_intp i = lo; i < hi; i++) __atomic_fetch_add(&j->marks[i], 1, __ATOMIC_RELAXED);
}

/* Mark [0, n) through the pool in chunks; 0: the pool ran it, 1: it ran serially here,
 * -1: a chunk was out of range or empty.  *calls: chunks run; *by_others: indices run
 * by other threads. */
int cover(int32_t *marks, int64_t n, int64_t work, int64_t *calls, int64_t *by_others) {
    job j = {.marks = marks, .n = n, .caller = pthread_self()};
    int serial = !tc_parallel_hook || tc_parallel_hook(mark, &j, n, work) != 0;
    if (serial) mark(&j, 0, n);
    *calls = atomic_load(&j.calls);
    *by_others = atomic_load(&j.by_others);
    return atomic_load(&j.bad) ? -1 : serial;
}

/* The caller's first chunk waits (sleeping, at most 2 s) until another thread has
 * started a chunk; that thread's first chunk sleeps delay_ns: the caller then runs out
 * of chunks while a worker still holds one, and has to wait for it. */
static void held_up(void *ctx, tc_intp lo, tc_intp hi) {
    job *j = (job *)ctx;
    if (pthread_equal(pthread_self(), j->caller)) {
        for (int t = 0; t < 2000 && !j->caller_waited && !atomic_load(&j->started); t++)
            sleep_ns(1000000);
        j->caller_waited = 1;
    } else if (atomic_fetch_add(&j->started, 1) == 0) {
        sleep_ns(j->delay_ns);
    }
    mark(ctx, lo, hi);
}

/* As cover, with held_up chunks; *wall_ns and *cpu_ns: the call's wall time and the
 * CPU time the calling thread used during it. */
int delayed(int32_t *marks, int64_t n, int64_t delay_ns, int64_t *by_others,
            int64_t *wall_ns, int64_t *cpu_ns) {
    job j = {.marks = marks, .n = n, .caller = pthread_self(), .delay_ns = delay_ns};
    const int64_t w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int serial = !tc_parallel_hook || tc_parallel_hook(held_up, &j, n, n) != 0;
    *cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    *wall_ns = clock_ns(CLOCK_MONOTONIC) - w0;
    if (serial) mark(&j, 0, n);
    *by_others = atomic_load(&j.by_others);
    return atomic_load(&j.bad) ? -1 : serial;
}
"""

I64P = ctypes.POINTER(ctypes.c_int64)


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ctypes.CDLL]:
    """SOURCE built through the kernel cache (so the loader installs the pool in its hook),
    opened with ctypes, whose calls release the GIL."""
    for loaded in library_in_temp_cache(tmp_path_factory, SOURCE, "pool_test"):  # one item
        cdll = ctypes.CDLL(loaded.path)  # the same mapping: its hook points at the pool
        for name, extra in (("cover", [ctypes.c_int64, I64P, I64P]),
                            ("delayed", [ctypes.c_int64, I64P, I64P, I64P])):
            fn = getattr(cdll, name)
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.c_void_p, ctypes.c_int64] + extra
        yield cdll


@pytest.fixture
def pool() -> Iterator[Any]:
    """The extension's library, with every loop of 2+ work units cut into chunks."""
    ext = loader.ext_module().lib
    old = ext.tc_pool_set_grain(1)
    yield ext
    ext.tc_pool_set_grain(old)


def _cover(lib: ctypes.CDLL, n: int, work: int) -> tuple[int, np.ndarray, int, int]:
    """(return code, marks, chunks run, indices run by other threads) of one job."""
    marks = np.zeros(n, dtype=np.int32)
    calls, others = ctypes.c_int64(), ctypes.c_int64()
    rc = lib.cover(marks.ctypes.data, n, work, ctypes.byref(calls), ctypes.byref(others))
    return rc, marks, calls.value, others.value


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 31, 64, 65, 127, 1000, 4097, 100_003])
@pytest.mark.parametrize("work", [2, 3, 8, 63, 64, 65, 1000, 10**7])
def test_every_index_exactly_once(lib, pool, n, work):
    threads = pool.tc_pool_threads()
    jobs = pool.tc_pool_jobs()
    rc, marks, calls, _ = _cover(lib, n, work)
    assert rc != -1, "a chunk was empty or out of [0, n)"
    np.testing.assert_array_equal(marks, np.ones(n, dtype=np.int32))
    if threads > 1:
        assert rc == 0 and pool.tc_pool_jobs() == jobs + 1, "the loop did not run on the pool"
        assert calls == min(max(min(work, 32 * threads), threads), n), "empty or missing chunks"
    else:
        assert rc == 1 and calls == 1


def test_grain_decides_pool_or_serial(lib, pool):
    """Less than two chunks of work: serial, one call on the calling thread."""
    pool.tc_pool_set_grain(1000)
    rc, marks, calls, others = _cover(lib, 10_000, 1999)
    assert (rc, calls, others) == (1, 1, 0) and marks.min() == marks.max() == 1
    rc, marks, calls, _ = _cover(lib, 10_000, 2000)
    assert rc == (0 if pool.tc_pool_threads() > 1 else 1) and marks.min() == marks.max() == 1


def test_serial_flag_keeps_this_threads_loops_off_the_pool(lib, pool):
    prev = pool.tc_pool_serial(1)
    try:
        rc, marks, calls, others = _cover(lib, 5000, 5000)
    finally:
        pool.tc_pool_serial(prev)
    assert (rc, calls, others) == (1, 1, 0) and marks.min() == marks.max() == 1


def test_concurrent_callers_each_cover_their_job(lib, pool):
    """Four Python threads (ctypes releases the GIL) share the pool: one job at a time,
    the others run serially; every job covers its indices exactly once."""
    errors: list[str] = []
    ran_on_pool = []

    def work(k: int) -> None:
        for r in range(40):
            n = 1000 + 97 * k + r
            rc, marks, _, _ = _cover(lib, n, n)
            if rc == -1 or marks.min() != 1 or marks.max() != 1:
                errors.append(f"thread {k} job {r}: rc {rc}, marks {marks.min()}..{marks.max()}")
            ran_on_pool.append(rc == 0)

    run_threads(work)
    assert errors == []
    assert any(ran_on_pool) == (pool.tc_pool_threads() > 1)


def test_caller_sleeps_while_a_held_up_worker_finishes_its_chunk(lib, pool):
    """A worker holds a chunk for 0.2 s after the caller has run out of chunks: the job
    still returns only once that chunk is done (every index marked once), and the caller
    sleeps through most of the wait instead of spinning on its CPU."""
    if pool.tc_pool_threads() < 2:
        pytest.skip("the pool has no worker thread (one CPU or num_threads=1)")
    for _ in range(200):  # a worker started during a job joins from the next one on
        if _cover(lib, 100_000, 100_000)[3] > 0:
            break
    delay = 200_000_000
    marks = np.zeros(20_000, dtype=np.int32)
    others, wall, cpu = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    rc = lib.delayed(marks.ctypes.data, marks.size, delay, ctypes.byref(others),
                     ctypes.byref(wall), ctypes.byref(cpu))
    assert rc == 0
    np.testing.assert_array_equal(marks, np.ones(marks.size, dtype=np.int32))
    assert others.value > 0, "no worker ran a chunk"
    assert wall.value >= delay, "the job returned before the held-up chunk was done"
    assert cpu.value < delay / 4, f"the caller spun: {cpu.value / 1e6:.1f} ms of CPU"
