/*
 * tensorc_gemm.c -- tensorc's own matrix product for small and mid-size row counts,
 * included by tensorc_ext.c after tensorc_pool.c (it runs on tc_parallel).
 *
 * Why: numpy's OpenBLAS runs a 16x784 @ 784x500 product on two threads that wait for
 * each other at barriers; on this 2-core machine that was slower than one thread (467 vs
 * 390 us, float64), and while the other core is busy (other processes) a 2-thread call
 * takes 5-80 ms instead of 0.5 ms.  This gemm splits the columns of the output into
 * panels that the pool's threads claim (tc_parallel), so a thread that is not scheduled
 * simply gets less work; it never calls the BLAS nor changes its thread settings.
 * Measured here, one thread each (thread CPU time, min of 31 interleaved): 16x784x500
 * f64 410-450 us vs OpenBLAS 440-460, f32 200-300 vs 215-245; 128 rows 1.05-1.1x
 * OpenBLAS's time; 1024 rows 1.05-1.5x.  Through a whole dense layer on a quiet machine
 * (both threads, min of 15 interleaved, us, own/OpenBLAS) f64: 4 rows 199/341, 8 263/356,
 * 12 331/500, 16 400/537, but 20 793/615, 32 1175/627, 128 2644/1662 (A's rows no longer
 * fit L1 beside the panel: no cache blocking of A), hence TC_GEMM_MAX_M = 16.
 *
 * Layout: C[m,n] = A[m,k] @ B[k,n].  A block of MR rows times NR columns of C is kept in
 * 12 AVX2 registers (4 rows x 3 vectors) over a block of KC values of k; B's panel
 * (KC x NR) is packed contiguously (any strides, transposed or not, zero-padded at the
 * right edge), A is read in place when its rows are contiguous and packed once
 * otherwise.  Sums use FMA (as BLAS does); no fast-math.
 *
 * tc_gemm returns 1 (nothing written) for what it does not take: no AVX2/FMA, shapes
 * outside its range, strides that are not whole items, an output whose rows are not
 * contiguous, allocation failure.  The caller then uses numpy's matmul.
 */
#include <stdlib.h>
#include <string.h>

#define TC_GEMM_MR 4       /* rows of C per register block */
#define TC_GEMM_KC 256     /* values of k per packed panel */
#define TC_GEMM_MIN_M 2    /* m == 1 is a matrix-vector product: BLAS's gemv */
#define TC_GEMM_MAX_M 16   /* above it OpenBLAS wins (see above) */

typedef struct tc_gemm_job {
    const char *a, *b;
    char *c;
    tc_intp m, n, k;
    tc_intp lda;           /* A's row stride in items (its k stride is 1) */
    tc_intp bs0, bs1;      /* B's strides in items */
    tc_intp ldc;           /* C's row stride in items (its column stride is 1) */
} tc_gemm_job;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TC_GEMM_SIMD 1

/* Pack B[k0:k0+kc, j0:j0+nr] (item strides s0, s1) as kc rows of NR, zero-padded. */
#define TC_GEMM_PACK(NAME, T, NR)                                                        \
    __attribute__((target("avx2,fma"))) static void NAME(T *bp, const T *b, tc_intp s0, \
                                                          tc_intp s1, tc_intp kc, int nr) { \
        if (nr == NR && s1 == 1) { /* the common case: whole rows, a fixed-size copy */  \
            for (tc_intp p = 0; p < kc; p++)                                            \
                for (int j = 0; j < NR; j++) bp[p * NR + j] = b[p * s0 + j];            \
            return;                                                                     \
        }                                                                               \
        if (nr < NR) memset(bp, 0, sizeof(T) * (size_t)(kc * NR));                      \
        if ((s0 < 0 ? -s0 : s0) >= (s1 < 0 ? -s1 : s1)) { /* j inner: the shorter stride */\
            for (tc_intp p = 0; p < kc; p++)                                            \
                for (int j = 0; j < nr; j++) bp[p * NR + j] = b[p * s0 + j * s1];       \
        } else {                                                                        \
            for (int j = 0; j < nr; j++)                                                \
                for (tc_intp p = 0; p < kc; p++) bp[p * NR + j] = b[p * s0 + j * s1];   \
        }                                                                               \
    }

/* Copy A (m x k, item strides s0, s1) into the rows of ap (m x k, contiguous); the loop
 * that reads memory in order is the outer one. */
#define TC_GEMM_PACK_A(NAME, T)                                                          \
    static void NAME(T *ap, const T *a, tc_intp s0, tc_intp s1, tc_intp m, tc_intp k) {  \
        if ((s0 < 0 ? -s0 : s0) <= (s1 < 0 ? -s1 : s1)) { /* a transposed view */       \
            for (tc_intp p = 0; p < k; p++)                                             \
                for (tc_intp i = 0; i < m; i++) ap[i * k + p] = a[i * s0 + p * s1];     \
        } else {                                                                        \
            for (tc_intp i = 0; i < m; i++)                                             \
                for (tc_intp p = 0; p < k; p++) ap[i * k + p] = a[i * s0 + p * s1];     \
        }                                                                               \
    }

/* One MR x NR block of C (mr x nr of it real) over kc values of k: a holds the block's
 * rows (stride lda, k contiguous), bp the packed panel; acc: add to C instead of set. */
#define TC_GEMM_KERNEL(NAME, T, V, NR, L, LOADU, STOREU, BCAST, FMA, ADD, ZERO)           \
    __attribute__((target("avx2,fma"))) static void NAME(                                \
        tc_intp kc, const T *a, tc_intp lda, int mr, const T *bp, T *c, tc_intp ldc,      \
        int nr, int acc) {                                                                \
        const T *a0 = a, *a1 = a + (mr > 1 ? lda : 0), *a2 = a + (mr > 2 ? 2 * lda : 0), \
                *a3 = a + (mr > 3 ? 3 * lda : 0);                                         \
        V c00 = ZERO(), c01 = ZERO(), c02 = ZERO(), c10 = ZERO(), c11 = ZERO(),           \
          c12 = ZERO(), c20 = ZERO(), c21 = ZERO(), c22 = ZERO(), c30 = ZERO(),           \
          c31 = ZERO(), c32 = ZERO();                                                     \
        for (tc_intp p = 0; p < kc; p++) {                                                \
            const T *bk = bp + p * NR;                                                    \
            V b0 = LOADU(bk), b1 = LOADU(bk + L), b2 = LOADU(bk + 2 * L), x;              \
            x = BCAST(a0 + p);                                                            \
            c00 = FMA(x, b0, c00), c01 = FMA(x, b1, c01), c02 = FMA(x, b2, c02);          \
            x = BCAST(a1 + p);                                                            \
            c10 = FMA(x, b0, c10), c11 = FMA(x, b1, c11), c12 = FMA(x, b2, c12);          \
            x = BCAST(a2 + p);                                                            \
            c20 = FMA(x, b0, c20), c21 = FMA(x, b1, c21), c22 = FMA(x, b2, c22);          \
            x = BCAST(a3 + p);                                                            \
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

/* Columns [lo, hi) panels of C: pack each panel's blocks of B, run the row blocks. */
#define TC_GEMM_CHUNK(NAME, T, NR, PACK, KERNEL)                                          \
    static void NAME(void *ctx, tc_intp lo, tc_intp hi) {                                 \
        const tc_gemm_job *g = (const tc_gemm_job *)ctx;                                  \
        T bp[TC_GEMM_KC * NR] __attribute__((aligned(32)));                               \
        const T *a = (const T *)g->a, *b = (const T *)g->b;                               \
        T *c = (T *)g->c;                                                                 \
        for (tc_intp pj = lo; pj < hi; pj++) {                                            \
            tc_intp j0 = pj * NR;                                                         \
            int nr = (int)(g->n - j0 < NR ? g->n - j0 : NR);                              \
            for (tc_intp k0 = 0; k0 < g->k; k0 += TC_GEMM_KC) {                           \
                tc_intp kc = g->k - k0 < TC_GEMM_KC ? g->k - k0 : TC_GEMM_KC;             \
                PACK(bp, b + k0 * g->bs0 + j0 * g->bs1, g->bs0, g->bs1, kc, nr);          \
                for (tc_intp i0 = 0; i0 < g->m; i0 += TC_GEMM_MR) {                       \
                    int mr = (int)(g->m - i0 < TC_GEMM_MR ? g->m - i0 : TC_GEMM_MR);      \
                    KERNEL(kc, a + i0 * g->lda + k0, g->lda, mr, bp, c + i0 * g->ldc + j0, \
                           g->ldc, nr, k0 > 0);                                           \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
    }

TC_GEMM_PACK(tc_gemm_pack_f64, double, 12)
TC_GEMM_PACK(tc_gemm_pack_f32, float, 24)
TC_GEMM_PACK_A(tc_gemm_pack_a_f64, double)
TC_GEMM_PACK_A(tc_gemm_pack_a_f32, float)
TC_GEMM_KERNEL(tc_gemm_kernel_f64, double, __m256d, 12, 4, _mm256_loadu_pd, _mm256_storeu_pd,
               _mm256_broadcast_sd, _mm256_fmadd_pd, _mm256_add_pd, _mm256_setzero_pd)
TC_GEMM_KERNEL(tc_gemm_kernel_f32, float, __m256, 24, 8, _mm256_loadu_ps, _mm256_storeu_ps,
               _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_add_ps, _mm256_setzero_ps)
TC_GEMM_CHUNK(tc_gemm_chunk_f64, double, 12, tc_gemm_pack_f64, tc_gemm_kernel_f64)
TC_GEMM_CHUNK(tc_gemm_chunk_f32, float, 24, tc_gemm_pack_f32, tc_gemm_kernel_f32)

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
static inline int tc_gemm_fits(int f32, tc_intp m, tc_intp n, tc_intp k) {
    return TC_GEMM_SIMD && m >= TC_GEMM_MIN_M && m <= TC_GEMM_MAX_M && n >= (f32 ? 48 : 24) &&
           k >= 1;
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
    tc_gemm_job g = {a, b, c, m, n, k, st[0], st[2], st[3], st[4]};
    char *packed = NULL;
    if (st[1] != 1) { /* A's k is strided (a transposed view): pack its rows once */
        packed = (char *)malloc((size_t)(m * k * size));
        if (packed == NULL) return 1;
        if (f32)
            tc_gemm_pack_a_f32((float *)packed, (const float *)a, st[0], st[1], m, k);
        else
            tc_gemm_pack_a_f64((double *)packed, (const double *)a, st[0], st[1], m, k);
        g.a = packed, g.lda = k;
    }
    const tc_intp nr = f32 ? 24 : 12, panels = (n + nr - 1) / nr;
    tc_chunk_fn fn = f32 ? tc_gemm_chunk_f32 : tc_gemm_chunk_f64;
    int prev = tc_pool_serial(0); /* no BLAS threads spin on this product's cores */
    if (tc_parallel(fn, &g, panels, m * n * k)) fn(&g, 0, panels);
    tc_pool_serial(prev);
    free(packed);
    return 0;
#else
    (void)f32, (void)m, (void)n, (void)k, (void)a, (void)as0, (void)as1, (void)b;
    (void)bs0, (void)bs1, (void)c, (void)cs0, (void)cs1;
    return 1;
#endif
}
