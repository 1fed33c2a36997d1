/*
 * tensorc_runtime.h -- included by every kernel tensorc generates.
 *
 * Contents
 *   1. dtype names (tc_int8 ... tc_complex128, tc_bool) and tc_intp
 *   2. the kernel calling convention (tc_arg, error codes)
 *   3. libm SIMD declarations (glibc libmvec, IEEE semantics kept)
 *   4. numpy-semantics scalar helpers (floor division, modulo, sign,
 *      rounding)
 *   5. exp without libm (branch-free, vectorises as plain arithmetic)
 *   6. sigmoid family, softplus
 *   7. tanh without libm (branch-free, vectorises as plain arithmetic)
 *
 * Everything is plain C11 (no Python.h).  Helpers are `static inline` so each
 * kernel gets its own copy and the vectoriser can see through them.
 *
 * ---------------------------------------------------------------------------
 * Kernel calling convention
 * ---------------------------------------------------------------------------
 *   int NAME(const tc_arg *args);
 *
 * `args` holds one tc_arg per operand, inputs first then outputs, in the order
 * the generator chose.  A tc_arg describes a strided array exactly like a
 * numpy array does: data pointer, ndim, shape, strides *in bytes*.  A
 * broadcast dimension may be passed with stride 0.  Scalars are 0-d arrays
 * (ndim 0, shape/strides may be NULL).
 *
 * The kernel validates every shape it relies on before touching memory and
 * returns 0 on success or TC_ERROR(code, operand_index) on failure; the
 * caller turns a nonzero result into a Python ValueError naming the operand
 * and the shapes (see tensorc/backend/c/runner.py).
 * ---------------------------------------------------------------------------
 */
#ifndef TENSORC_RUNTIME_H
#define TENSORC_RUNTIME_H

#include <stdint.h>
#include <stddef.h>
#include <math.h>
#include <complex.h>
#include <limits.h>
#include <string.h> /* memcpy: bit casts that vectorise (tanh) */

#define TENSORC_RUNTIME_VERSION 1

/* ---------------------------------------------------------------- dtypes */
typedef int8_t tc_int8;
typedef int16_t tc_int16;
typedef int32_t tc_int32;
typedef int64_t tc_int64;
typedef uint8_t tc_uint8;
typedef uint16_t tc_uint16;
typedef uint32_t tc_uint32;
typedef uint64_t tc_uint64;
typedef float tc_float32;
typedef double tc_float64;
typedef float _Complex tc_complex64;
typedef double _Complex tc_complex128;
typedef uint8_t tc_bool; /* numpy bool: one byte, 0 or 1 */
typedef int64_t tc_intp; /* shapes and byte strides */

/* ---------------------------------------------------- calling convention */
typedef struct tc_arg {
    char *data;             /* address of element [0, 0, ...]            */
    const tc_intp *shape;   /* ndim entries                               */
    const tc_intp *strides; /* ndim entries, in bytes; 0 = broadcast      */
    int32_t ndim;
    int32_t flags;          /* reserved, 0                                */
} tc_arg;

typedef int (*tc_kernel_fn)(const tc_arg *args);

/* ------------------------------------------------------------ threading
 * A kernel's parallel loop runs as chunks [lo, hi) of its n iterations through
 * a tc_parallel_fn (the thread pool of tensorc._ext, installed into each kernel
 * library after dlopen).  The caller runs chunks itself and waits only for the
 * chunks another thread has already started, so a busy machine costs no
 * wake-up latency.  A nonzero return means "not run": run the loop serially. */
typedef void (*tc_chunk_fn)(void *ctx, tc_intp lo, tc_intp hi);
typedef int (*tc_parallel_fn)(tc_chunk_fn fn, void *ctx, tc_intp n, tc_intp work);
/* what a kernel hands to its chunks: its operands and a shared scratch area */
typedef struct tc_chunk_ctx {
    const tc_arg *args;
    double *scratch;
} tc_chunk_ctx;

/* error codes (low byte) returned by kernels and by tc_run_program */
#define TC_OK 0
#define TC_ERR_NDIM 1      /* an operand has the wrong number of dims   */
#define TC_ERR_SHAPE 2     /* shapes do not match / do not broadcast    */
#define TC_ERR_DTYPE 3     /* element size/kind is not what was compiled */
#define TC_ERR_READONLY 4  /* an output operand is not writable          */
#define TC_ERR_NOTARRAY 5  /* an operand does not export a buffer        */
#define TC_ERR_ALLOC 6     /* out of memory inside a kernel              */
#define TC_ERR_INTERNAL 7
#define TC_ERR_NEG_POWER 8 /* an integer to a negative integer power (numpy raises) */
/* code | operand index << 8: which operand of the step was wrong */
#define TC_ERROR(code, operand) ((int)(code) | ((int)(operand) << 8))
#define TC_ERROR_CODE(err) ((err) & 0xff)
#define TC_ERROR_OPERAND(err) (((err) >> 8) & 0xffff)

/* ------------------------------------------------- libm SIMD declarations
 * gcc only calls glibc's vector math library (libmvec) when the libm
 * functions carry `declare simd`, which glibc's <math.h> adds only under
 * -ffast-math.  Redeclaring them here, and compiling with -fopenmp-simd,
 * gets vector calls (_ZGV*) while keeping IEEE NaN/inf semantics.  Only
 * functions that libmvec actually exports may be listed (an undeclared
 * vector variant is an undefined symbol at load time).
 */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GLIBC_PREREQ) \
    && !defined(TC_NO_LIBMVEC)
#if __GLIBC_PREREQ(2, 22)
/* One declaration per macro call: gcc 12 drops the second of two _Pragma
 * operators produced by a single macro expansion. */
#define TC_SIMD1(T, f) _Pragma("omp declare simd notinbranch") extern T f(T);
#define TC_SIMD2(T, f) _Pragma("omp declare simd notinbranch") extern T f(T, T);
TC_SIMD1(double, exp)
TC_SIMD1(float, expf)
TC_SIMD1(double, log)
TC_SIMD1(float, logf)
TC_SIMD1(double, sin)
TC_SIMD1(float, sinf)
TC_SIMD1(double, cos)
TC_SIMD1(float, cosf)
TC_SIMD2(double, pow)
TC_SIMD2(float, powf)
#if __GLIBC_PREREQ(2, 35)
TC_SIMD1(double, acos)
TC_SIMD1(float, acosf)
TC_SIMD1(double, acosh)
TC_SIMD1(float, acoshf)
TC_SIMD1(double, asin)
TC_SIMD1(float, asinf)
TC_SIMD1(double, asinh)
TC_SIMD1(float, asinhf)
TC_SIMD1(double, atan)
TC_SIMD1(float, atanf)
TC_SIMD1(double, atanh)
TC_SIMD1(float, atanhf)
TC_SIMD1(double, cbrt)
TC_SIMD1(float, cbrtf)
TC_SIMD1(double, cosh)
TC_SIMD1(float, coshf)
TC_SIMD1(double, erf)
TC_SIMD1(float, erff)
TC_SIMD1(double, erfc)
TC_SIMD1(float, erfcf)
TC_SIMD1(double, exp10)
TC_SIMD1(float, exp10f)
TC_SIMD1(double, exp2)
TC_SIMD1(float, exp2f)
TC_SIMD1(double, expm1)
TC_SIMD1(float, expm1f)
TC_SIMD1(double, log10)
TC_SIMD1(float, log10f)
TC_SIMD1(double, log1p)
TC_SIMD1(float, log1pf)
TC_SIMD1(double, log2)
TC_SIMD1(float, log2f)
TC_SIMD1(double, sinh)
TC_SIMD1(float, sinhf)
TC_SIMD1(double, tan)
TC_SIMD1(float, tanf)
TC_SIMD1(double, tanh)
TC_SIMD1(float, tanhf)
TC_SIMD2(double, atan2)
TC_SIMD2(float, atan2f)
TC_SIMD2(double, hypot)
TC_SIMD2(float, hypotf)
#endif
#undef TC_SIMD1
#undef TC_SIMD2
#define TC_HAVE_LIBMVEC 1
#endif
#endif

/* Not vectorised but always available: lgamma, tgamma (and erf/erfc on
 * old glibc).  They come from <math.h>. */

/* ------------------------------------------- integer floor division / mod
 * Python/numpy semantics: the quotient rounds toward -inf and the remainder
 * has the sign of the divisor.  Division or modulo by zero gives 0 (numpy's
 * result, without its warning).  MIN // -1 wraps to MIN (numpy's result) and
 * MIN % -1 is 0, computed without signed-overflow UB.
 */
#define TC_DEF_SIGNED_DIVMOD(SUF, T)                                      \
    static inline T tc_floordiv_##SUF(T a, T b) {                           \
        if (b == 0) return 0;                                             \
        if (b == -1) return (T)(0 - (uint64_t)a); /* MIN wraps, no UB */  \
        T q = (T)(a / b);                                                 \
        T r = (T)(a % b);                                                 \
        return (T)(q - ((r != 0) & ((r < 0) != (b < 0))));                \
    }                                                                     \
    static inline T tc_mod_##SUF(T a, T b) {                              \
        if (b == 0 || b == -1) return 0;                                  \
        T r = (T)(a % b);                                                 \
        return (T)(r + (((r != 0) & ((r < 0) != (b < 0))) ? b : 0));      \
    }
#define TC_DEF_UNSIGNED_DIVMOD(SUF, T)                                    \
    static inline T tc_floordiv_##SUF(T a, T b) { return b ? (T)(a / b) : 0; } \
    static inline T tc_mod_##SUF(T a, T b) { return b ? (T)(a % b) : 0; }

TC_DEF_SIGNED_DIVMOD(int8, tc_int8)
TC_DEF_SIGNED_DIVMOD(int16, tc_int16)
TC_DEF_SIGNED_DIVMOD(int32, tc_int32)
TC_DEF_SIGNED_DIVMOD(int64, tc_int64)
TC_DEF_UNSIGNED_DIVMOD(uint8, tc_uint8)
TC_DEF_UNSIGNED_DIVMOD(uint16, tc_uint16)
TC_DEF_UNSIGNED_DIVMOD(uint32, tc_uint32)
TC_DEF_UNSIGNED_DIVMOD(uint64, tc_uint64)
#undef TC_DEF_SIGNED_DIVMOD
#undef TC_DEF_UNSIGNED_DIVMOD

/* --------------------------------------------- float floor division / mod
 * np.floor_divide / np.remainder for floats: the remainder is fmod(a, b)
 * moved into the divisor's sign; the quotient is (a - mod) / b rounded to
 * the nearest integer from below.  b == 0 gives a / b and NaN like numpy.
 * Suffix: _f32 / _f64.
 */
#define TC_DEF_FLOAT_DIVMOD(SUF, T, FMOD, FLOOR, COPYSIGN)                \
    static inline T tc_mod_##SUF(T a, T b) {                              \
        T m = FMOD(a, b);                                                 \
        if (b == 0) return m;                                             \
        if (m != 0) {                                                     \
            if ((b < 0) != (m < 0)) m += b;                               \
        } else {                                                          \
            m = COPYSIGN((T)0, b);                                        \
        }                                                                 \
        return m;                                                         \
    }                                                                     \
    static inline T tc_floordiv_##SUF(T a, T b) {                         \
        if (b == 0) return a / b;                                         \
        T m = FMOD(a, b);                                                 \
        T d = (a - m) / b;                                                \
        if (m != 0 && ((b < 0) != (m < 0))) d -= (T)1;                    \
        if (d == 0) return COPYSIGN((T)0, a / b);                         \
        T f = FLOOR(d);                                                   \
        if (d - f > (T)0.5) f += (T)1;                                    \
        return f;                                                         \
    }
TC_DEF_FLOAT_DIVMOD(f64, double, fmod, floor, copysign)
TC_DEF_FLOAT_DIVMOD(f32, float, fmodf, floorf, copysignf)
#undef TC_DEF_FLOAT_DIVMOD

/* ------------------------------------------------------------------ sign
 * np.sign: -1, 0 or 1; NaN stays NaN; -0.0 gives +0.0. */
#define TC_DEF_SGN_SIGNED(SUF, T) \
    static inline T tc_sgn_##SUF(T x) { return (T)((x > 0) - (x < 0)); }
#define TC_DEF_SGN_UNSIGNED(SUF, T) \
    static inline T tc_sgn_##SUF(T x) { return (T)(x != 0); }
TC_DEF_SGN_SIGNED(int8, tc_int8)
TC_DEF_SGN_SIGNED(int16, tc_int16)
TC_DEF_SGN_SIGNED(int32, tc_int32)
TC_DEF_SGN_SIGNED(int64, tc_int64)
TC_DEF_SGN_UNSIGNED(uint8, tc_uint8)
TC_DEF_SGN_UNSIGNED(uint16, tc_uint16)
TC_DEF_SGN_UNSIGNED(uint32, tc_uint32)
TC_DEF_SGN_UNSIGNED(uint64, tc_uint64)
#undef TC_DEF_SGN_SIGNED
#undef TC_DEF_SGN_UNSIGNED
static inline double tc_sgn_f64(double x) {
    return x > 0 ? 1.0 : (x < 0 ? -1.0 : (x == 0 ? 0.0 : x));
}
static inline float tc_sgn_f32(float x) {
    return x > 0 ? 1.0f : (x < 0 ? -1.0f : (x == 0 ? 0.0f : x));
}

/* ------------------------------------------------------------- rounding
 * np.round / np.rint: half to even.  nearbyint honours the current rounding
 * mode, which is round-to-nearest-even unless someone changed it. */
static inline double tc_round_f64(double x) { return nearbyint(x); }
static inline float tc_round_f32(float x) { return nearbyintf(x); }

/* ------------------------------------------------------------------- exp
 * tc_exp_f64 / tc_exp_f32: exp(x) to within 1 ulp (measured max 0.89 ulp for
 * f64 over 270M points incl. the subnormal-result and overflow ranges, 0.87 ulp
 * for f32 over every float), branch-free and free of libm calls, so `omp simd`
 * loops vectorise them as plain arithmetic inlined into the fused loop.  Cost
 * (AVX2, one thread, L1-resident, min of 40k runs): alone about libmvec's
 * (f64 0.92x, f32 1.03x its speed); inside fused kernels, where libmvec's
 * out-of-line call spills the loop's registers, 1.03-1.08x (grad of
 * tanh(a)*exp(-a^2): f64 1.08x, f32 1.04x).  libmvec stays faster in the row
 * kernels' exp-and-sum loops and in sigmoid/softplus, which keep it.
 *
 *   x = k ln2 + r, k = round(x / ln2) (the 1.5*2^52 shifter trick), |r| <=
 *     ln2/2 (+ a hair); ln2 = hi + lo with hi's trailing bits zero, so
 *     r1 = x - k hi is exact and c = -k lo carries the rest.
 *   expm1(r) = r + r^2 Q(r), Q of degree 10 (f32: 5) fitted by Chebyshev
 *     interpolation (mpmath.chebyfit, 200-bit arithmetic) to (e^r - 1 - r) / r^2
 *     on +-0.347, coefficients rounded to double (f32: float); its error is
 *     below 2^-61 (f32: 2^-30) of the result.  Q is evaluated as even and odd
 *     parts in r^2 (two short dependency chains).  q = r1 + (c + r^2 Q(r))
 *     rounds once (the exact r1 is not rounded twice).
 *   2^k (1 + q) = fma(s1, q, s1) * s2 with s1 = 2^(floor(k/2) + 1) and s2 =
 *     2^(k - floor(k/2) - 1), both normal numbers built in the exponent bits:
 *     the product overflows to inf for k >= 1024 and goes gradually through the
 *     subnormals (one rounding there, like glibc) down to +0.  This holds for
 *     |x| < 1400 (f32: 170); beyond -746 (f32: -104) the result is set to 0,
 *     beyond 710 (f32: 89) to inf, which covers +-inf and huge |x|.  NaN
 *     fails both tests and propagates through the arithmetic.
 *   exp(+-0) = 1 exactly (q = 0).
 * Without hardware FMA (no __FMA__) the fma steps become a multiply and an add
 * (r1 stays exact: k hi has few bits).
 */
#ifdef __FMA__
#define TC_EXP_FMA(a, b, c) fma((a), (b), (c))
#define TC_EXP_FMAF(a, b, c) fmaf((a), (b), (c))
#else
#define TC_EXP_FMA(a, b, c) ((a) * (b) + (c))
#define TC_EXP_FMAF(a, b, c) ((a) * (b) + (c))
#endif
static inline double tc_exp_f64(double x) {
    double kd = TC_EXP_FMA(x, 0x1.71547652b82fep0, 0x1.8p52);  /* k + 1.5*2^52 */
    double k = kd - 0x1.8p52;
    double r1 = TC_EXP_FMA(-k, 0x1.62e42fefa2000p-1, x);        /* exact */
    double c = -k * 0x1.9ef35793c7673p-41;
    double r = r1 + c, r2 = r * r;
    double pe = TC_EXP_FMA(2.09147553258932e-09, r2, 2.755727347871858e-07);
    pe = TC_EXP_FMA(pe, r2, 2.480158732567746e-05);
    pe = TC_EXP_FMA(pe, r2, 0.0013888888888883711);
    pe = TC_EXP_FMA(pe, r2, 0.04166666666666667);
    pe = TC_EXP_FMA(pe, r2, 0.5);
    double po = TC_EXP_FMA(2.5105312729622103e-08, r2, 2.755725517000089e-06);
    po = TC_EXP_FMA(po, r2, 0.0001984126987500228);
    po = TC_EXP_FMA(po, r2, 0.008333333333326084);
    po = TC_EXP_FMA(po, r2, 0.1666666666666667);
    double q = r1 + TC_EXP_FMA(r2, TC_EXP_FMA(po, r, pe), c);
    uint64_t a;
    memcpy(&a, &kd, sizeof a);
    a -= 0x4338000000000000ULL - 2048;              /* k + 2048 */
    uint64_t h = a >> 1;                            /* floor(k/2) + 1024 */
    uint64_t e1 = h << 52, e2 = (a - h - 2) << 52;
    double s1, s2;
    memcpy(&s1, &e1, sizeof s1);
    memcpy(&s2, &e2, sizeof s2);
    double res = TC_EXP_FMA(s1, q, s1) * s2;
    res = x < -746.0 ? 0.0 : res;
    return x > 710.0 ? (double)INFINITY : res;
}
static inline float tc_exp_f32(float x) {
    float kd = TC_EXP_FMAF(x, 1.44269504f, 0x1.8p23f);              /* k + 1.5*2^23 */
    float k = kd - 0x1.8p23f;
    float r1 = TC_EXP_FMAF(-k, 0x1.62e4p-1f, x);                      /* exact */
    float c = -k * 1.42860677e-06f;
    float r = r1 + c, r2 = r * r;
    float a0 = TC_EXP_FMAF(0.166666672f, r, 0.5f);
    float a1 = TC_EXP_FMAF(0.00833331048f, r, 0.0416664630f);
    float a2 = TC_EXP_FMAF(0.000198910799f, r, 0.00139337312f);
    float p = TC_EXP_FMAF(TC_EXP_FMAF(a2, r2, a1), r2, a0);
    float q = r1 + TC_EXP_FMAF(r2, p, c);
    uint32_t a;
    memcpy(&a, &kd, sizeof a);
    a -= 0x4b400000U - 256U;                        /* k + 256 */
    uint32_t h = a >> 1;                            /* floor(k/2) + 128 */
    uint32_t e1 = h << 23, e2 = (a - h - 2U) << 23;
    float s1, s2;
    memcpy(&s1, &e1, sizeof s1);
    memcpy(&s2, &e2, sizeof s2);
    float res = TC_EXP_FMAF(s1, q, s1) * s2;
    res = x < -104.0f ? 0.0f : res;
    return x > 89.0f ? INFINITY : res;
}
#undef TC_EXP_FMA
#undef TC_EXP_FMAF
/* the elementwise table's templates name helpers by dtype (tc_<op>_{t}) */
#define tc_exp_float64 tc_exp_f64
#define tc_exp_float32 tc_exp_f32

/* ---------------------------------------------------------- sigmoid family
 * Branch-free so that loops using them still vectorise.
 *   sigmoid(x)  = 1 / (1 + exp(-x)), computed from exp(-|x|) so it neither
 *                 overflows nor loses the tail for large negative x.
 *   softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)).
 *   hard_sigmoid(x) = clip(0.2 x + 0.5, 0, 1)         (Theano's definition)
 *   ultra_fast_sigmoid: Theano's piecewise approximation of
 *     0.5 (tanh(x/2) + 1) where tanh(u), u = |x|/2, is replaced by
 *     1.5 u / (1 + u)                 for u < 1.7,
 *     0.935409070603099 + 0.0458812946797165 (u - 1.7)  for u < 3,
 *     0.99505475368673                otherwise, with the sign of x.
 *   NaN in gives NaN out for all of them.
 */
static inline double tc_sigmoid_f64(double x) {
    double e = exp(-fabs(x));
    double r = 1.0 / (1.0 + e);
    return x >= 0 ? r : e * r;
}
static inline float tc_sigmoid_f32(float x) {
    float e = expf(-fabsf(x));
    float r = 1.0f / (1.0f + e);
    return x >= 0 ? r : e * r;
}
static inline double tc_softplus_f64(double x) {
    return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x)));
}
static inline float tc_softplus_f32(float x) {
    return (x > 0 ? x : 0.0f) + log1pf(expf(-fabsf(x)));
}
static inline double tc_hard_sigmoid_f64(double x) {
    double v = 0.2 * x + 0.5;
    return v < 0 ? 0.0 : (v > 1 ? 1.0 : v);
}
static inline float tc_hard_sigmoid_f32(float x) {
    float v = 0.2f * x + 0.5f;
    return v < 0 ? 0.0f : (v > 1 ? 1.0f : v);
}
static inline double tc_ultra_fast_sigmoid_f64(double x) {
    double u = 0.5 * fabs(x);
    double t = u < 1.7 ? 1.5 * u / (1.0 + u)
             : (u < 3.0 ? 0.935409070603099 + 0.0458812946797165 * (u - 1.7)
                        : 0.99505475368673);
    t = u == u ? t : u; /* NaN in, NaN out */
    return 0.5 * (copysign(t, x) + 1.0);
}
static inline float tc_ultra_fast_sigmoid_f32(float x) {
    float u = 0.5f * fabsf(x);
    float t = u < 1.7f ? 1.5f * u / (1.0f + u)
            : (u < 3.0f ? 0.935409070603099f + 0.0458812946797165f * (u - 1.7f)
                        : 0.99505475368673f);
    t = u == u ? t : u;
    return 0.5f * (copysignf(t, x) + 1.0f);
}

/* ------------------------------------------------------------------ tanh
 * tc_tanh_f64 / tc_tanh_f32: np.tanh to within 1.5 ulp (f64, measured max 1.49
 * ulp over dense sweeps) and 2.5 ulp (f32, measured max 2.42 ulp over every
 * float, with or without FMA), branch-free and free of libm calls, so `omp simd` loops vectorise
 * them as plain arithmetic.  libmvec's tanh costs ~3x its exp; tc_tanh_f64
 * ~1.7x.  tc_tanh_f32 skips the f64 version's division correction (below):
 * ~6 fewer operations, 16% less time in the float32 gradient kernel of
 * tanh(a)*exp(-a^2) (AVX2, 1e5 elements, L2-resident, min of 200), for 2.4
 * instead of 1.5 ulp, at small |x| where em + 2 rounds.
 *
 * With t = |x|, y = 2t and em = expm1(y):  tanh(t) = em / (em + 2).
 *   expm1: y = k ln2 + r with k = floor(y / ln2) (rounding y / ln2 - 0.5 to an
 *     integer with the 1.5*2^52 trick), so r in [0, ln2) (a tie may put r a
 *     hair outside); ln2 is split hi + lo, hi with trailing zero bits so
 *     k * hi is exact.  expm1(r) = r + r^2 Q(r), Q a degree-10 (f32: 5)
 *     polynomial fitted by Chebyshev interpolation (mpmath.chebyfit, 200-bit
 *     arithmetic) to (e^r - 1 - r) / r^2 on [-0.01, 0.7], coefficients rounded
 *     to double (f32: float); its error is below 3e-18 (f32: 3e-9).  em = 2^k (1 + p) - 1 = fma(2^k, p, 2^k - 1)
 *     with one rounding; flooring k keeps 2^k (1 + p) >= 2^k, so em loses
 *     nothing to cancellation, and for k = 0 em is p itself (tiny x give x).
 *   division (f64): em + 2 is rounded to d; when em < 2 that rounding
 *     (relative up to 2^-53) would add a whole ulp, so the result is corrected
 *     with the exact remainder  em - q d  (an fma) and the exact error de of d
 *     (Fast2Sum, exact for em <= 2, the only range where the correction is
 *     applied):  tanh = q + (em - q d - q de) / d, with 1/d ~= (1 - q) / 2.
 *     f32: the plain quotient em / (em + 2).
 *   y is clamped to 40 (f32: 20), where tanh already rounds to 1, so 2^k never
 *     overflows and +-inf give +-1; the quotient never exceeds 1 (em < em + 2,
 *     and it rounds to 1 at most).  copysign restores the sign (-0.0 stays
 *     -0.0); a NaN input propagates through every step (NaN out).  Both are
 *     odd; they are not strictly monotone: rounding in expm1 lets a step to
 *     the next float lower the result by up to 2 ulp (f32: 0.035% of all
 *     steps, 0.015% before the correction was dropped; checked over every
 *     float).
 * Without hardware FMA (no __FMA__) the fma steps become a multiply and an
 * add: still vectorised, max error 1.94 ulp (f64) measured.
 */
#ifdef __FMA__
#define TC_TANH_FMA(a, b, c) fma((a), (b), (c))
#define TC_TANH_FMAF(a, b, c) fmaf((a), (b), (c))
#else
#define TC_TANH_FMA(a, b, c) ((a) * (b) + (c))
#define TC_TANH_FMAF(a, b, c) ((a) * (b) + (c))
#endif
static inline double tc_tanh_f64(double x) {
    double t = fabs(x);
    double y = t >= 20.0 ? 40.0 : 2.0 * t;  /* NaN stays NaN */
    double kd = TC_TANH_FMA(y, 1.4426950408889634, -0.5) + 0x1.8p52; /* k + 1.5*2^52 */
    double k = kd - 0x1.8p52;
    double r = TC_TANH_FMA(-k, 0x1.62e42fefa2000p-1, y);              /* ln2 hi */
    r = TC_TANH_FMA(-k, 7.371002565167799e-13, r);                    /* ln2 lo */
    double v = r * r, v2 = v * v;
    double a0 = TC_TANH_FMA(0.16666666666666652, r, 0.5);
    double a1 = TC_TANH_FMA(0.008333333332728681, r, 0.041666666666687835);
    double a2 = TC_TANH_FMA(0.00019841264256723051, r, 0.0013888888966914286);
    double a3 = TC_TANH_FMA(2.755066364512941e-06, r, 2.480182995236768e-05);
    double a4 = TC_TANH_FMA(2.3824736741614534e-08, r, 2.76729487626071e-07);
    double b0 = TC_TANH_FMA(a1, v, a0);
    double b1 = TC_TANH_FMA(a3, v, a2);
    double b2 = TC_TANH_FMA(2.802296916186016e-09, v, a4);
    double p = TC_TANH_FMA(v, TC_TANH_FMA(TC_TANH_FMA(b2, v2, b1), v2, b0), r);
    uint64_t bits;
    memcpy(&bits, &kd, sizeof bits);
    bits = (bits << 52) + 0x3ff0000000000000ULL;                      /* 2^k */
    double s;
    memcpy(&s, &bits, sizeof s);
    double em = TC_TANH_FMA(s, p, s - 1.0);
    double d = em + 2.0;
    double de = (2.0 - d) + em;              /* exact when em <= 2 */
    double q = em / d;
    double rem = TC_TANH_FMA(-q, d, em) - q * de;
    double res = TC_TANH_FMA(rem, em < 2.0 ? (1.0 - q) * 0.5 : 0.0, q);
    return copysign(res, x);
}
static inline float tc_tanh_f32(float x) {
    float t = fabsf(x);
    float y = t >= 10.0f ? 20.0f : 2.0f * t;
    float kd = TC_TANH_FMAF(y, 1.44269504f, -0.5f) + 0x1.8p23f;       /* k + 1.5*2^23 */
    float k = kd - 0x1.8p23f;
    float r = TC_TANH_FMAF(-k, 0x1.62e4p-1f, y);                      /* ln2 hi */
    r = TC_TANH_FMAF(-k, 1.42860677e-06f, r);                         /* ln2 lo */
    float v = r * r;
    float a0 = TC_TANH_FMAF(0.166666806f, r, 0.5f);
    float a1 = TC_TANH_FMAF(0.00835059490f, r, 0.0416639745f);
    float a2 = TC_TANH_FMAF(0.000258009124f, r, 0.00134076283f);
    float p = TC_TANH_FMAF(v, TC_TANH_FMAF(TC_TANH_FMAF(a2, v, a1), v, a0), r);
    uint32_t bits;
    memcpy(&bits, &kd, sizeof bits);
    bits = (bits << 23) + 0x3f800000U;                                /* 2^k */
    float s;
    memcpy(&s, &bits, sizeof s);
    float em = TC_TANH_FMAF(s, p, s - 1.0f);
    return copysignf(em / (em + 2.0f), x);
}
#undef TC_TANH_FMA
#undef TC_TANH_FMAF
/* the elementwise table's templates name helpers by dtype (tc_<op>_{t}) */
#define tc_tanh_float64 tc_tanh_f64
#define tc_tanh_float32 tc_tanh_f32

#endif /* TENSORC_RUNTIME_H */
