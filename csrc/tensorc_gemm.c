/*
 * tensorc_gemm.c -- tensorc's own blocked matrix product, included by tensorc_ext.c after
 * tensorc_pool.c (it runs on tc_parallel).
 *
 * Why: numpy's OpenBLAS runs a 16x784 @ 784x500 product on two threads that wait for
 * each other at barriers; on this 2-core machine that was slower than one thread, and
 * while the other core is busy (other processes) a 2-thread call takes 5-80 ms instead of
 * 0.5 ms.  This gemm splits the columns of the output into groups that the pool's threads
 * claim (tc_parallel), so a thread that is not scheduled simply gets less work; it never
 * calls the BLAS nor changes its thread settings.
 *
 * Layout (Goto/BLIS blocking): C[m,n] = A[m,k] @ B[k,n].
 *   - k is cut into blocks of at most KC (equal sizes), the rows into blocks of at most
 *     MC (multiples of MR), the columns into groups of NC (parallel units of NC/NR panels);
 *   - A is packed once, before the column groups run (on the pool when it is large), into
 *     micro-panels: for each k block and each MR rows, kc x MR values in k order, rows
 *     zero-padded -- any strides, a transposed view is packed, never copied whole first;
 *   - each column group packs its B block (kc x NC, NR-wide panels zero-padded at the
 *     right edge) once per k block; then for each MC block of A (kept in L2) and each
 *     panel of B (kept in L1) an MR x NR block of C is summed in 12 AVX2 registers
 *     (4 rows x 3 vectors: 4x12 float64, 4x24 float32) over the k block and added to C.
 * Sums use FMA (as BLAS does), in k order within a block, blocks added in order; no
 * fast-math, so inf/nan propagate as in numpy.
 *
 * tc_gemm returns 1 for what it does not take: no AVX2/FMA, shapes outside its range
 * (tc_gemm_fits), strides that are not whole items, an output whose rows are not
 * contiguous (all: nothing written), allocation failure (C may be partly written).  The
 * caller then runs numpy's matmul into the same output.
 */
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#define TC_GEMM_MR 4       /* rows of C per register block */
#define TC_GEMM_MIN_M 2    /* m == 1 is a matrix-vector product: BLAS's gemv */
#ifndef TC_GEMM_MAX_M
#define TC_GEMM_MAX_M 16   /* above it OpenBLAS keeps the product: at 24-128 rows its two
                              * threads beat this one on a quiet machine (README) */
#endif
#ifndef TC_GEMM_KC
#define TC_GEMM_KC 256     /* values of k per block (B's micro-panel: KC x NR in L1) */
#endif
#ifndef TC_GEMM_MC_BYTES
#define TC_GEMM_MC_BYTES (192 * 1024) /* A's block (MC x KC) in L2 */
#endif
#ifndef TC_GEMM_NC_PANELS
#define TC_GEMM_NC_PANELS 4 /* panels of NR columns per column group, at most */
#endif
#define TC_GEMM_MIN_UNITS 4 /* parallel units wanted: column groups, else row groups too */

typedef struct tc_gemm_job {
    const char *a;         /* A as given (packing), then packed (mpad x k) */
    const char *b;
    char *c;
    char *ap;              /* packed A */
    tc_intp m, n, k, mpad;
    tc_intp as0, as1;      /* A's strides in items */
    tc_intp bs0, bs1;      /* B's strides in items */
    tc_intp ldc;           /* C's row stride in items (its column stride is 1) */
    tc_intp kcb, mcb;      /* k block, row block (a multiple of MR) */
    tc_intp cgroups, wmax; /* column groups (units), most panels in one */
    tc_intp rrows;         /* rows of a row group (units: cgroups x row groups) */
    _Atomic int failed;    /* a chunk could not allocate its B block */
} tc_gemm_job;

/* 64-byte aligned memory (free with free); NULL on failure. */
static inline void *tc_gemm_alloc(size_t bytes) {
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

/* Even blocks: n cut into ceil(n / most) blocks, their size rounded up to a multiple of q. */
static inline tc_intp tc_gemm_block(tc_intp n, tc_intp most, tc_intp q) {
    tc_intp nb = (n + most - 1) / most, s = (n + nb - 1) / nb;
    return (s + q - 1) / q * q;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TC_GEMM_SIMD 1
#define TC_GEMM_TARGET __attribute__((target("avx2,fma")))

/* Pack B[0:kc, 0:ncols] (item strides s0, s1) as panels of kc rows of NR (panel jp at
 * bp + jp * kc * NR), the last one zero-padded; the loop that reads memory in order is
 * the outer one (rows of many panels at once: the prefetchers see long runs). */
#define TC_GEMM_PACK_B(NAME, T, NR)                                                      \
    TC_GEMM_TARGET static void NAME(T *bp, const T *b, tc_intp s0, tc_intp s1, tc_intp kc,\
                                    tc_intp ncols) {                                    \
        const tc_intp full = ncols / NR, tail = ncols - full * NR;                      \
        T *bt = bp + full * kc * NR;                                                    \
        if (tail) memset(bt, 0, sizeof(T) * (size_t)(kc * NR));                         \
        if (s1 == 1) { /* rows of B contiguous: whole panel rows, fixed-size copies */  \
            for (tc_intp p = 0; p < kc; p++) {                                          \
                const T *bk = b + p * s0;                                               \
                for (tc_intp jp = 0; jp < full; jp++)                                   \
                    memcpy(bp + (jp * kc + p) * NR, bk + jp * NR, sizeof(T) * NR);      \
                for (tc_intp j = 0; j < tail; j++) bt[p * NR + j] = bk[full * NR + j];  \
            }                                                                           \
        } else if ((s0 < 0 ? -s0 : s0) >= (s1 < 0 ? -s1 : s1)) { /* j inner */           \
            for (tc_intp p = 0; p < kc; p++)                                            \
                for (tc_intp j = 0; j < ncols; j++)                                     \
                    bp[(j / NR * kc + p) * NR + j % NR] = b[p * s0 + j * s1];           \
        } else { /* a transposed view: k inner */                                       \
            for (tc_intp j = 0; j < ncols; j++) {                                       \
                T *d = bp + j / NR * kc * NR + j % NR;                                  \
                for (tc_intp p = 0; p < kc; p++) d[p * NR] = b[p * s0 + j * s1];        \
            }                                                                           \
        }                                                                               \
    }

/* Four rows of A (row stride s0, k contiguous) -> ap[p * 4 + i], 4 values of k at a time
 * through register transposes. */
TC_GEMM_TARGET static void tc_gemm_rows4_f64(double *ap, const double *a, tc_intp s0,
                                             tc_intp kc) {
    tc_intp p = 0;
    for (; p + 4 <= kc; p += 4) {
        __m256d r0 = _mm256_loadu_pd(a + p), r1 = _mm256_loadu_pd(a + s0 + p),
                r2 = _mm256_loadu_pd(a + 2 * s0 + p), r3 = _mm256_loadu_pd(a + 3 * s0 + p);
        __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1),
                t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
        _mm256_storeu_pd(ap + 4 * p, _mm256_permute2f128_pd(t0, t2, 0x20));
        _mm256_storeu_pd(ap + 4 * p + 4, _mm256_permute2f128_pd(t1, t3, 0x20));
        _mm256_storeu_pd(ap + 4 * p + 8, _mm256_permute2f128_pd(t0, t2, 0x31));
        _mm256_storeu_pd(ap + 4 * p + 12, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
    for (; p < kc; p++)
        for (int i = 0; i < 4; i++) ap[4 * p + i] = a[i * s0 + p];
}

TC_GEMM_TARGET static void tc_gemm_rows4_f32(float *ap, const float *a, tc_intp s0,
                                             tc_intp kc) {
    tc_intp p = 0;
    for (; p + 4 <= kc; p += 4) {
        __m128 r0 = _mm_loadu_ps(a + p), r1 = _mm_loadu_ps(a + s0 + p),
               r2 = _mm_loadu_ps(a + 2 * s0 + p), r3 = _mm_loadu_ps(a + 3 * s0 + p);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(ap + 4 * p, r0), _mm_storeu_ps(ap + 4 * p + 4, r1);
        _mm_storeu_ps(ap + 4 * p + 8, r2), _mm_storeu_ps(ap + 4 * p + 12, r3);
    }
    for (; p < kc; p++)
        for (int i = 0; i < 4; i++) ap[4 * p + i] = a[i * s0 + p];
}

/* Pack the row blocks [lo, hi) of A (all k blocks) into micro-panels (see the top). */
#define TC_GEMM_PACK_A(NAME, T, ROWS4)                                                        \
    TC_GEMM_TARGET static void NAME(void *ctx, tc_intp lo, tc_intp hi) {                 \
        const tc_gemm_job *g = (const tc_gemm_job *)ctx;                                 \
        const T *a = (const T *)g->a;                                                    \
        const tc_intp s0 = g->as0, s1 = g->as1;                                          \
        for (tc_intp k0 = 0; k0 < g->k; k0 += g->kcb) {                                  \
            const tc_intp kc = g->k - k0 < g->kcb ? g->k - k0 : g->kcb;                  \
            for (tc_intp ib = lo; ib < hi; ib++) {                                       \
                const tc_intp i0 = ib * TC_GEMM_MR;                                      \
                const int mr = (int)(g->m - i0 < TC_GEMM_MR ? g->m - i0 : TC_GEMM_MR);   \
                T *ap = (T *)g->ap + k0 * g->mpad + i0 * kc;                             \
                const T *src = a + i0 * s0 + k0 * s1;                                    \
                if (mr == TC_GEMM_MR && s1 == 1) { /* rows of A: 4 x 4 transposes */      \
                    ROWS4(ap, src, s0, kc);                                              \
                    continue;                                                            \
                }                                                                        \
                if (mr == TC_GEMM_MR && s0 == 1) { /* a transposed view: runs of 4 */     \
                    for (tc_intp p = 0; p < kc; p++)                                     \
                        memcpy(ap + p * TC_GEMM_MR, src + p * s1, sizeof(T) * TC_GEMM_MR);\
                    continue;                                                            \
                }                                                                        \
                if (mr < TC_GEMM_MR) memset(ap, 0, sizeof(T) * (size_t)(kc * TC_GEMM_MR));\
                for (tc_intp p = 0; p < kc; p++)                                         \
                    for (int i = 0; i < mr; i++)                                         \
                        ap[p * TC_GEMM_MR + i] = src[i * s0 + p * s1];                   \
            }                                                                            \
        }                                                                                \
    }

/* One MR x NR block of C (mr x nr of it real) over kc values of k: ap is A's packed
 * micro-panel, bp B's; acc: add to C instead of set. */
#define TC_GEMM_KERNEL(NAME, T, V, NR, L, LOAD, LOADU, STOREU, BCAST, FMA, ADD, ZERO)       \
    TC_GEMM_TARGET static inline void NAME(tc_intp kc, const T *ap, const T *bp, T *c,      \
                                           tc_intp ldc, int mr, int nr, int acc) {          \
        V c00 = ZERO(), c01 = ZERO(), c02 = ZERO(), c10 = ZERO(), c11 = ZERO(),           \
          c12 = ZERO(), c20 = ZERO(), c21 = ZERO(), c22 = ZERO(), c30 = ZERO(),           \
          c31 = ZERO(), c32 = ZERO();                                                     \
        _Pragma("GCC unroll 4")                                                           \
        for (tc_intp p = 0; p < kc; p++) {                                                \
            const T *bk = bp + p * NR, *ak = ap + p * TC_GEMM_MR;                         \
            V b0 = LOAD(bk), b1 = LOAD(bk + L), b2 = LOAD(bk + 2 * L), x;                 \
            x = BCAST(ak);                                                                \
            c00 = FMA(x, b0, c00), c01 = FMA(x, b1, c01), c02 = FMA(x, b2, c02);          \
            x = BCAST(ak + 1);                                                            \
            c10 = FMA(x, b0, c10), c11 = FMA(x, b1, c11), c12 = FMA(x, b2, c12);          \
            x = BCAST(ak + 2);                                                            \
            c20 = FMA(x, b0, c20), c21 = FMA(x, b1, c21), c22 = FMA(x, b2, c22);          \
            x = BCAST(ak + 3);                                                            \
            c30 = FMA(x, b0, c30), c31 = FMA(x, b1, c31), c32 = FMA(x, b2, c32);          \
        }                                                                                 \
        V r[TC_GEMM_MR][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22},          \
                              {c30, c31, c32}};                                           \
        if (nr == NR) {                                                                   \
            for (int i = 0; i < mr; i++) {                                                \
                T *ci = c + i * ldc;                                                      \
                for (int v = 0; v < 3; v++)                                               \
                    STOREU(ci + v * L, acc ? ADD(LOADU(ci + v * L), r[i][v]) : r[i][v]);  \
            }                                                                             \
            return;                                                                       \
        }                                                                                 \
        T tmp[TC_GEMM_MR * NR];                                                           \
        for (int i = 0; i < TC_GEMM_MR; i++)                                              \
            for (int v = 0; v < 3; v++) STOREU(tmp + i * NR + v * L, r[i][v]);            \
        for (int i = 0; i < mr; i++)                                                      \
            for (int j = 0; j < nr; j++)                                                  \
                c[i * ldc + j] = acc ? c[i * ldc + j] + tmp[i * NR + j] : tmp[i * NR + j];\
    }

/* Units [lo, hi) (unit u: column group u % cgroups, row group u / cgroups): for each k
 * block, pack the group's B, then run its row blocks (MC) x panels (NR) x register
 * blocks (MR). */
#define TC_GEMM_CHUNK(NAME, T, NR, PACK, KERNEL)                                          \
    TC_GEMM_TARGET static void NAME(void *ctx, tc_intp lo, tc_intp hi) {                  \
        tc_gemm_job *g = (tc_gemm_job *)ctx;                                              \
        const tc_intp panels = (g->n + NR - 1) / NR;                                      \
        T *bp = (T *)tc_gemm_alloc(sizeof(T) * (size_t)(g->kcb * g->wmax * NR));          \
        if (bp == NULL) { /* tc_gemm returns 1: numpy's matmul overwrites all of C */     \
            atomic_store(&g->failed, 1);                                                  \
            return;                                                                       \
        }                                                                                 \
        const T *b = (const T *)g->b, *ap0 = (const T *)g->ap;                            \
        T *c = (T *)g->c;                                                                 \
        for (tc_intp u = lo; u < hi; u++) {                                               \
            const tc_intp cg = u % g->cgroups, rg = u / g->cgroups;                       \
            const tc_intp p0 = panels * cg / g->cgroups, p1 = panels * (cg + 1) / g->cgroups;\
            const tc_intp j0 = p0 * NR, ncols = (p1 * NR < g->n ? p1 * NR : g->n) - j0;   \
            const tc_intp npan = p1 - p0;                                                 \
            const tc_intp r0 = rg * g->rrows, r1 = r0 + g->rrows < g->m ? r0 + g->rrows : g->m;\
            for (tc_intp k0 = 0; k0 < g->k; k0 += g->kcb) {                               \
                const tc_intp kc = g->k - k0 < g->kcb ? g->k - k0 : g->kcb;               \
                PACK(bp, b + k0 * g->bs0 + j0 * g->bs1, g->bs0, g->bs1, kc, ncols);       \
                const T *apk = ap0 + k0 * g->mpad;                                        \
                for (tc_intp ic = r0; ic < r1; ic += g->mcb) {                            \
                    const tc_intp ie = r1 - ic < g->mcb ? r1 : ic + g->mcb;               \
                    for (tc_intp jp = 0; jp < npan; jp++) {                               \
                        const int nr = (int)(ncols - jp * NR < NR ? ncols - jp * NR : NR);\
                        for (tc_intp i0 = ic; i0 < ie; i0 += TC_GEMM_MR) {                \
                            const int mr = (int)(g->m - i0 < TC_GEMM_MR ? g->m - i0       \
                                                                       : TC_GEMM_MR);     \
                            KERNEL(kc, apk + i0 * kc, bp + jp * kc * NR,                  \
                                   c + i0 * g->ldc + j0 + jp * NR, g->ldc, mr, nr, k0 > 0);\
                        }                                                                 \
                    }                                                                     \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
        free(bp);                                                                         \
    }

TC_GEMM_PACK_B(tc_gemm_pack_b_f64, double, 12)
TC_GEMM_PACK_B(tc_gemm_pack_b_f32, float, 24)
TC_GEMM_PACK_A(tc_gemm_pack_a_f64, double, tc_gemm_rows4_f64)
TC_GEMM_PACK_A(tc_gemm_pack_a_f32, float, tc_gemm_rows4_f32)
TC_GEMM_KERNEL(tc_gemm_kernel_f64, double, __m256d, 12, 4, _mm256_load_pd, _mm256_loadu_pd,
               _mm256_storeu_pd, _mm256_broadcast_sd, _mm256_fmadd_pd, _mm256_add_pd,
               _mm256_setzero_pd)
TC_GEMM_KERNEL(tc_gemm_kernel_f32, float, __m256, 24, 8, _mm256_load_ps, _mm256_loadu_ps,
               _mm256_storeu_ps, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_add_ps,
               _mm256_setzero_ps)
TC_GEMM_CHUNK(tc_gemm_chunk_f64, double, 12, tc_gemm_pack_b_f64, tc_gemm_kernel_f64)
TC_GEMM_CHUNK(tc_gemm_chunk_f32, float, 24, tc_gemm_pack_b_f32, tc_gemm_kernel_f32)

/* libgcc reads the CPU's features once at load time; this only looks them up. */
static inline int tc_gemm_cpu_ok(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define TC_GEMM_SIMD 0
#endif

/* 1 when tc_gemm may take an m x k @ k x n product (the sizes only; it still checks the
 * CPU and the strides).  Fewer than two panels of columns leave nothing to split, and a
 * panel mostly of padding wastes the registers: BLAS does those (128 x 500 @ 500 x 10
 * was 1.3x slower here on one thread). */
static tc_intp tc_gemm_max_m = TC_GEMM_MAX_M;

static inline int tc_gemm_fits(int f32, tc_intp m, tc_intp n, tc_intp k) {
    return TC_GEMM_SIMD && m >= TC_GEMM_MIN_M && m <= tc_gemm_max_m && n >= (f32 ? 48 : 24) &&
           k >= 1;
}

/* The most rows of a product tc_gemm takes (TC_GEMM_MAX_M); rows > 0 sets it (the tests
 * run every blocking edge through the MATMUL step; a retune can measure other limits). */
int tc_gemm_rows_limit(int rows) {
    int before = (int)tc_gemm_max_m;
    if (rows > 0) tc_gemm_max_m = rows;
    return before;
}

/* Strides in bytes -> items; 0 when some stride is not a whole number of items. */
static inline int tc_gemm_items(tc_intp *s, int n, tc_intp size) {
    for (int i = 0; i < n; i++) {
        if (s[i] % size) return 0;
        s[i] /= size;
    }
    return 1;
}

/* C = A @ B for float64 (f32 == 0) or float32 (f32 != 0) with byte strides; C's rows must
 * be contiguous.  Returns 0 when done, 1 when not taken (nothing written, see the top). */
static inline int tc_gemm(int f32, tc_intp m, tc_intp n, tc_intp k, const char *a, tc_intp as0,
                   tc_intp as1, const char *b, tc_intp bs0, tc_intp bs1, char *c,
                   tc_intp cs0, tc_intp cs1) {
#if TC_GEMM_SIMD
    const tc_intp size = f32 ? 4 : 8;
    tc_intp st[6] = {as0, as1, bs0, bs1, cs0, cs1};
    if (!tc_gemm_cpu_ok() || !tc_gemm_fits(f32, m, n, k) ||
        !tc_gemm_items(st, 6, size) || st[5] != 1 || ((uintptr_t)a | (uintptr_t)b |
        (uintptr_t)c) % (uintptr_t)size)
        return 1;
    const tc_intp nr = f32 ? 24 : 12, panels = (n + nr - 1) / nr;
    const tc_intp kcb = tc_gemm_block(k, TC_GEMM_KC, 1);
    const tc_intp mc_most = TC_GEMM_MC_BYTES / (kcb * size) / TC_GEMM_MR * TC_GEMM_MR;
    const tc_intp mcb = tc_gemm_block(m, mc_most > TC_GEMM_MR ? mc_most : TC_GEMM_MR,
                                      TC_GEMM_MR);
    /* groups of up to NC_PANELS panels, but at least MIN_UNITS groups when there are
     * that many panels (a small product still uses both threads) */
    tc_intp cgroups = (panels + TC_GEMM_NC_PANELS - 1) / TC_GEMM_NC_PANELS;
    if (cgroups < TC_GEMM_MIN_UNITS) cgroups = panels < TC_GEMM_MIN_UNITS ? panels : TC_GEMM_MIN_UNITS;
    tc_gemm_job g = {.a = a, .b = b, .c = c, .m = m, .n = n, .k = k,
                     .mpad = (m + TC_GEMM_MR - 1) / TC_GEMM_MR * TC_GEMM_MR,
                     .as0 = st[0], .as1 = st[1], .bs0 = st[2], .bs1 = st[3], .ldc = st[4],
                     .kcb = kcb, .mcb = mcb, .cgroups = cgroups,
                     .wmax = (panels + cgroups - 1) / cgroups,
                     /* few column groups: row groups of MC rows too */
                     .rrows = cgroups < TC_GEMM_MIN_UNITS ? mcb : m};
    g.ap = (char *)tc_gemm_alloc((size_t)(g.mpad * k * size));
    if (g.ap == NULL) return 1;
    int prev = tc_pool_serial(0); /* no BLAS threads spin on this product's cores */
    const tc_intp rblocks = g.mpad / TC_GEMM_MR;
    tc_chunk_fn pack = f32 ? tc_gemm_pack_a_f32 : tc_gemm_pack_a_f64;
    if (tc_parallel(pack, &g, rblocks, m * k)) pack(&g, 0, rblocks);
    const tc_intp units = cgroups * ((m + g.rrows - 1) / g.rrows);
    tc_chunk_fn fn = f32 ? tc_gemm_chunk_f32 : tc_gemm_chunk_f64;
    if (tc_parallel(fn, &g, units, m * n * k)) fn(&g, 0, units);
    tc_pool_serial(prev);
    free(g.ap);
    return atomic_load(&g.failed) ? 1 : 0;
#else
    (void)f32, (void)m, (void)n, (void)k, (void)a, (void)as0, (void)as1, (void)b;
    (void)bs0, (void)bs1, (void)c, (void)cs0, (void)cs1;
    return 1;
#endif
}
