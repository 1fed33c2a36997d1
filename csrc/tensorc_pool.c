/*
 * tensorc_pool.c -- the thread pool behind tc_parallel_fn (tensorc_runtime.h),
 * included by tensorc_ext.c.
 *
 * One pool per process, started at the first parallel loop with the thread count
 * requested through tc_pool_request_threads (tensorc's config.num_threads, which
 * is where TENSORC_NUM_THREADS / OMP_NUM_THREADS are read), else the CPUs usable.
 * A job is n iterations cut into nchunks chunks.  Chunks are claimed with a
 * compare-and-swap on one 64-bit word (job generation << 32 | next chunk), so a
 * worker that wakes up late can never run a chunk of a newer job.  The caller
 * claims chunks too and afterwards waits only for chunks that workers have
 * claimed: on a loaded machine a worker that is not scheduled simply gets no
 * work (no barrier, unlike an OpenMP team).  Workers spin briefly, then sleep
 * on a condition variable.  One job at a time: a second concurrent caller (an
 * other Python thread) gets 1 back and runs its loop serially.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define TC_POOL_MAX 256
#define TC_POOL_SPIN 20000
/* Work units (elements x per-element cost, see body_cost in render/common.py) per chunk,
 * at least: ~0.1-0.2 ms of one core.  A loop of less than two chunks runs serially: waking
 * a thread and sharing cache lines costs more than it saves, and on a loaded machine a
 * worker that gets descheduled in the middle of a chunk makes the caller wait. */
static _Atomic int64_t tc_pool_grain = 262144;

typedef struct tc_pool {
    _Atomic uint64_t claim;     /* generation << 32 | next chunk index */
    _Atomic int64_t done;       /* chunks of the current job finished by workers */
    _Atomic uint32_t gen;       /* bumped for each job */
    _Atomic int sleepers;
    tc_chunk_fn fn;
    void *ctx;
    tc_intp n, nchunks;
    int nthreads;               /* including the caller; 1 = no pool */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_t submit;
} tc_pool;

static tc_pool tc_the_pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
                              .submit = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t tc_pool_once = PTHREAD_ONCE_INIT;
static _Atomic int64_t tc_pool_njobs = 0; /* loops run on the pool (tests, profiling) */
/* Set by tc_pool_serial on this thread: its loops run serially (see there). */
static __thread int tc_pool_serial_here = 0;

static inline void tc_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Run chunks of job g until none is left; returns how many this thread ran. */
static int64_t tc_pool_work(tc_pool *p, uint32_t g) {
    int64_t ran = 0;
    for (;;) {
        uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);
        if ((uint32_t)(c >> 32) != g) break;
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &c, c + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        /* chunk (c & 0xffffffff) of job g is ours; the job cannot end before we finish it */
        tc_intp k = (tc_intp)(c & 0xffffffffu);
        if (k >= p->nchunks) break;
        tc_intp lo = p->n * k / p->nchunks, hi = p->n * (k + 1) / p->nchunks;
        p->fn(p->ctx, lo, hi);
        ran++;
    }
    return ran;
}

static void *tc_pool_worker(void *arg) {
    tc_pool *p = (tc_pool *)arg;
    uint32_t seen = atomic_load(&p->gen);
    for (;;) {
        uint32_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int spin = 0; g == seen && spin < TC_POOL_SPIN; spin++) {
            tc_cpu_relax();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        int64_t ran = tc_pool_work(p, g);
        if (ran) atomic_fetch_add_explicit(&p->done, ran, memory_order_acq_rel);
    }
    return NULL;
}

static int tc_pool_requested = 0; /* 0: one thread per usable CPU */

/* Ask for n threads (caller included); only effective before the pool starts. */
int tc_pool_request_threads(int n) {
    tc_pool_requested = n > 0 ? n : 0;
    return tc_the_pool.nthreads == 0;
}

static int tc_pool_env_threads(void) {
    if (tc_pool_requested > 0) return tc_pool_requested;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) n = CPU_COUNT(&set);
#endif
    return n > 0 ? (int)n : 1;
}

static void tc_pool_after_fork(void) {
    /* the child has no workers: start over at its first parallel loop */
    tc_pool_once = (pthread_once_t)PTHREAD_ONCE_INIT;
    pthread_mutex_init(&tc_the_pool.mu, NULL);
    pthread_mutex_init(&tc_the_pool.submit, NULL);
    pthread_cond_init(&tc_the_pool.cv, NULL);
    atomic_store(&tc_the_pool.sleepers, 0);
    tc_the_pool.nthreads = 0;
}

static void tc_pool_start(void) {
    static int atfork_done = 0;
    tc_pool *p = &tc_the_pool;
    int want = tc_pool_env_threads();
    if (want > TC_POOL_MAX) want = TC_POOL_MAX;
    p->nthreads = 1;
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, tc_pool_after_fork);
        atfork_done = 1;
    }
    for (int i = 1; i < want; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, tc_pool_worker, p) == 0) p->nthreads++;
        pthread_attr_destroy(&attr);
    }
}

/* Threads of the pool, the caller included (starts the pool). */
int tc_pool_threads(void) {
    pthread_once(&tc_pool_once, tc_pool_start);
    return tc_the_pool.nthreads;
}

/* tc_parallel_fn: run fn over [0, n) in chunks; work = elements touched (chunk sizing). */
int tc_parallel(tc_chunk_fn fn, void *ctx, tc_intp n, tc_intp work) {
    tc_pool *p = &tc_the_pool;
    int nt = tc_pool_threads();
    tc_intp nchunks = work / atomic_load_explicit(&tc_pool_grain, memory_order_relaxed);
    if (nt <= 1 || n < 2 || nchunks < 2 || tc_pool_serial_here) return 1;
    if (pthread_mutex_trylock(&p->submit) != 0) return 1;
    if (nchunks > 32 * (tc_intp)nt) nchunks = 32 * (tc_intp)nt;
    if (nchunks < nt) nchunks = nt;
    if (nchunks > n) nchunks = n;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->nchunks = nchunks;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    uint32_t g = atomic_load(&p->gen) + 1;
    atomic_store_explicit(&p->claim, (uint64_t)g << 32, memory_order_release);
    atomic_store_explicit(&p->gen, g, memory_order_release);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    int64_t mine = tc_pool_work(p, g);
    while (atomic_load_explicit(&p->done, memory_order_acquire) + mine < nchunks) tc_cpu_relax();
    pthread_mutex_unlock(&p->submit);
    atomic_fetch_add_explicit(&tc_pool_njobs, 1, memory_order_relaxed);
    return 0;
}

/* Set the work units per chunk (tests use 1 to send every loop to the pool); returns
 * the previous value. */
int64_t tc_pool_set_grain(int64_t grain) {
    return atomic_exchange(&tc_pool_grain, grain > 0 ? grain : 1);
}

/* Make the loops started by the calling thread run serially (on != 0) or on the pool
 * again; returns the previous setting.  Programs that call BLAS use it: after a BLAS
 * call OpenBLAS's threads keep spinning for a while, and a pool worker competing with
 * them for the 2nd core makes a 0.1 ms loop take 0.7 ms (the caller waits for the
 * chunk that worker claimed). */
int tc_pool_serial(int on) {
    int prev = tc_pool_serial_here;
    tc_pool_serial_here = on != 0;
    return prev;
}

/* How many loops ran on the pool in this process. */
int64_t tc_pool_jobs(void) { return atomic_load(&tc_pool_njobs); }

/* Point the kernel library `handle` at the pool (enable) or at nothing (its loops run
 * serially): sets its tc_parallel_hook; returns 1 if it has one. */
int tc_install_pool(void *handle, int enable) {
    tc_parallel_fn *hook = (tc_parallel_fn *)dlsym(handle, "tc_parallel_hook");
    if (!hook) return 0;
    *hook = enable ? tc_parallel : NULL;
    return 1;
}
