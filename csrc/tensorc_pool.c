/*
 * tensorc_pool.c -- the thread pool behind tc_parallel_fn (tensorc_runtime.h),
 * included by tensorc_ext.c.
 *
 * One pool per process, started at the first parallel loop with the thread count
 * requested through tc_pool_request_threads (tensorc's config.num_threads, which
 * is where TENSORC_NUM_THREADS / OMP_NUM_THREADS are read), else the CPUs usable.
 * A job is n iterations cut into nchunks chunks.  Chunks are claimed with a
 * compare-and-swap on one 64-bit word (job generation << 32 | nchunks << 16 | next
 * chunk), and only while next < nchunks: a worker that wakes up late can never run a
 * chunk of a newer job, nor claim a chunk past the end of its own (whose parameters
 * the next job's caller may be overwriting already).  The caller claims chunks
 * too and afterwards waits only for chunks that workers have claimed: on a loaded
 * machine a worker that is not scheduled simply gets no work (no barrier, unlike an
 * OpenMP team).  One job at a time: a second concurrent caller (another Python
 * thread) gets 1 back and runs its loop serially.
 *
 * Behaviour on a busy machine (another process wants the CPUs too):
 *   - the caller spins for a worker's unfinished chunk at most twice as long as
 *     its own slowest chunk of the job took (20-500 us), then sleeps until the
 *     worker signals: a worker descheduled in the middle of a chunk gets the CPU
 *     the caller would have burnt (both threads may share one CPU);
 *   - workers spin for the next job 100 us, then sleep;
 *   - chunk sizes shrink towards the end of a job (big chunks first), so the
 *     chunk a worker still holds when the caller runs out of work is short.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TC_POOL_MAX 256
#define TC_POOL_CHUNKS_PER_THREAD 32
_Static_assert(TC_POOL_CHUNKS_PER_THREAD * TC_POOL_MAX < 0xffff, "chunk counts fit in 16 bits");
/* Spinning before sleeping, in ns: a worker waits this long for the next job, and the
 * caller for the workers' last chunks twice as long as its own slowest chunk of the job,
 * bounded below and above. */
#define TC_POOL_SPIN_NS 100000
#define TC_POOL_WAIT_MIN_NS 20000
#define TC_POOL_WAIT_MAX_NS 500000
/* Work units (elements x per-element cost, see body_cost in render/common.py) per chunk,
 * at least: ~0.1-0.2 ms of one core.  A loop of less than two chunks runs serially: waking
 * a thread and sharing cache lines costs more than it saves. */
static _Atomic int64_t tc_pool_grain = 262144;

typedef struct tc_pool {
    _Atomic uint64_t claim;     /* generation << 32 | nchunks << 16 | next chunk index */
    _Atomic int64_t done;       /* chunks of the current job finished by workers */
    _Atomic uint32_t gen;       /* bumped for each job */
    _Atomic int sleepers;
    _Atomic int caller_asleep;  /* the caller waits on done_cv for the workers' chunks */
    tc_chunk_fn fn;
    void *ctx;
    tc_intp n, nchunks;
    int nthreads;               /* including the caller; 1 = no pool */
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* workers sleep here between jobs */
    pthread_cond_t done_cv;     /* the caller sleeps here (with mu) for the workers */
    pthread_mutex_t submit;
} tc_pool;

static tc_pool tc_the_pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
                              .done_cv = PTHREAD_COND_INITIALIZER,
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

static inline int64_t tc_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Start of chunk k of n iterations in nchunks chunks (k = nchunks gives n).  With at
 * least 4 iterations per chunk, the first half of the chunks cover 3/4 of the iterations
 * and the second half the last quarter (no chunk is empty): the chunks still running
 * when the caller runs out of work are short.  Otherwise equal chunks. */
static inline tc_intp tc_chunk_start(tc_intp n, tc_intp nchunks, tc_intp k) {
    const tc_intp big = nchunks / 2, head = n - n / 4;
    if (n < 4 * nchunks || big == 0) return n * k / nchunks;
    if (k <= big) return head * k / big;
    return head + (n - head) * (k - big) / (nchunks - big);
}

/* Run chunks of job g until none is left; returns how many this thread ran and, in
 * *slowest, the longest one (ns) when slowest is not NULL. */
static int64_t tc_pool_work(tc_pool *p, uint32_t g, int64_t *slowest) {
    int64_t ran = 0;
    for (;;) {
        uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);
        const tc_intp k = (tc_intp)(c & 0xffff), total = (tc_intp)((c >> 16) & 0xffff);
        if ((uint32_t)(c >> 32) != g || k >= total) break;
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &c, c + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        /* chunk k of job g is ours; the job (its fn, ctx, n) cannot end before we finish it */
        const tc_intp lo = tc_chunk_start(p->n, total, k);
        const tc_intp hi = tc_chunk_start(p->n, total, k + 1);
        if (lo < hi && slowest) {  /* (chunks are never empty: a guard) */
            const int64_t t0 = tc_now_ns();
            p->fn(p->ctx, lo, hi);
            const int64_t dt = tc_now_ns() - t0;
            if (dt > *slowest) *slowest = dt;
        } else if (lo < hi) {
            p->fn(p->ctx, lo, hi);
        }
        ran++;
    }
    return ran;
}

/* Wait (spin a while, then sleep) until gen differs from seen; returns the new gen. */
static uint32_t tc_pool_next_job(tc_pool *p, uint32_t seen) {
    uint32_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
    int64_t until = 0;
    for (unsigned spin = 0; g == seen; spin++) {
        if ((spin & 63) == 0) {
            int64_t now = tc_now_ns();
            if (!until) until = now + TC_POOL_SPIN_NS;
            else if (now > until) break;
        }
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
    return g;
}

static void *tc_pool_worker(void *arg) {
    tc_pool *p = (tc_pool *)arg;
    uint32_t seen = atomic_load(&p->gen);
    for (;;) {
        uint32_t g = tc_pool_next_job(p, seen);
        seen = g;
        int64_t ran = tc_pool_work(p, g, NULL);
        if (!ran) continue;
        atomic_fetch_add(&p->done, ran); /* seq_cst: ordered before reading caller_asleep */
        if (atomic_load(&p->caller_asleep)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* The caller's wait for the chunks workers claimed: spin about as long as a chunk takes
 * (a running worker finishes within that), then sleep until a worker signals. */
static void tc_pool_wait(tc_pool *p, int64_t mine, int64_t slowest) {
    int64_t budget = 2 * slowest;
    if (budget < TC_POOL_WAIT_MIN_NS) budget = TC_POOL_WAIT_MIN_NS;
    if (budget > TC_POOL_WAIT_MAX_NS) budget = TC_POOL_WAIT_MAX_NS;
    int64_t until = 0;
    for (unsigned spin = 0; atomic_load_explicit(&p->done, memory_order_acquire) + mine < p->nchunks;
         spin++) {
        if ((spin & 63) == 0) {
            int64_t now = tc_now_ns();
            if (!until) until = now + budget;
            else if (now > until) break;
        }
        tc_cpu_relax();
    }
    if (atomic_load_explicit(&p->done, memory_order_acquire) + mine >= p->nchunks) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_asleep, 1); /* seq_cst: ordered before reading done */
    while (atomic_load(&p->done) + mine < p->nchunks) pthread_cond_wait(&p->done_cv, &p->mu);
    atomic_store(&p->caller_asleep, 0);
    pthread_mutex_unlock(&p->mu);
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
    pthread_cond_init(&tc_the_pool.done_cv, NULL);
    atomic_store(&tc_the_pool.sleepers, 0);
    atomic_store(&tc_the_pool.caller_asleep, 0);
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
    if (nchunks > TC_POOL_CHUNKS_PER_THREAD * (tc_intp)nt) nchunks = TC_POOL_CHUNKS_PER_THREAD * (tc_intp)nt;
    if (nchunks < nt) nchunks = nt;
    if (nchunks > n) nchunks = n;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->nchunks = nchunks;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    uint32_t g = atomic_load(&p->gen) + 1;
    atomic_store_explicit(&p->claim, (uint64_t)g << 32 | (uint64_t)nchunks << 16,
                          memory_order_release);
    atomic_store(&p->gen, g); /* seq_cst: ordered before reading sleepers (see next_job) */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    int64_t slowest = 0;
    int64_t mine = tc_pool_work(p, g, &slowest);
    tc_pool_wait(p, mine, slowest);
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
