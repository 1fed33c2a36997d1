/*
 * tensorc_ew.c -- the shared driver of elementwise kernels.
 *
 * Every elementwise kernel tensorc generates specialises only its loop body; the
 * checks, dimension collapsing, pieces, threads and strided operands are this driver.
 * With the extension tensorc._ext (the normal install) it is compiled once, into the
 * extension, and each kernel library reaches it through a hook pointer, set by
 * tc_install_ew when the library is loaded: gcc then spends no time on it per function
 * (~0.2-0.3 s per translation unit at -O3).  Without the extension the renderer pastes
 * this file into every kernel library.
 *
 * The part before TC_EW_DRIVER_CODE is what kernels see (the call's layout); change it
 * only together with TC_EW_ABI.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wunknown-pragmas" /* omp simd: ignored in the extension's build */
#endif
#ifndef TC_MIN
#define TC_MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#define TC_EW_ABI 2
/* ---- what a kernel hands the driver ----
 * A kernel gives its static facts and its loop body: body(n, p) computes n elements
 * where each operand p[k] is unit-stride, except inputs broadcast along the last
 * dimension, which the body reads once, and returns 0 or a TC_ERROR code (a value
 * numpy rejects, e.g. a negative integer power).  The driver checks the shapes,
 * collapses dimensions, cuts rows into pieces of at most TC_EW_PIECE elements, spreads
 * them over the thread pool, and copies operands with any other inner stride through
 * a small buffer (so only the body is specialised per kernel: compile time).  A body's
 * error stops the piece loop of its thread; the call returns it once every chunk has
 * finished (the outputs then hold partial results, and the caller raises). */
typedef int (*tc_ew_body)(tc_intp n, char *const *p);
typedef struct tc_ew_call {
    const tc_arg *args;
    const uint64_t *bcmask;  /* per operand: bit d set = dimension d broadcast */
    const tc_intp *isz;      /* per operand: item size in bytes */
    tc_ew_body body;
    int nin, nout, nd, nc;
    tc_intp *dims, *st;      /* the kernel's arrays: nd collapsed dims, (nin+nout) x nd strides */
    tc_intp inner, npc;      /* collapsed inner length, pieces per row */
    tc_parallel_fn par;      /* the kernel library's thread pool hook (NULL: serial) */
    int err;                 /* a body error a pool chunk met (set atomically), else 0 */
} tc_ew_call;
/* TC_EW_DRIVER_CODE */
/* Collapse the loop over shape shp (nd dims) for na operands into nc <= nd dims,
 * innermost first: dims[j], st[k*nd + j] (bytes; 0 where bcmask[k] marks a
 * broadcast dimension).  Size-1 outer dimensions are dropped; a dimension merges
 * into the one inside it when every operand is contiguous across the pair. */
static __attribute__((noinline)) int tc_collapse(int nd, int na, const tc_arg *args, const tc_intp *shp,
                              const uint64_t *bcmask, tc_intp *dims, tc_intp *st) {
    int nc = 1;
    dims[0] = shp[nd - 1];
    for (int k = 0; k < na; k++)
        st[k * nd] = (bcmask[k] >> (nd - 1)) & 1 ? 0 : args[k].strides[nd - 1];
    for (int d = nd - 2; d >= 0; d--) {
        if (shp[d] == 1) continue;
        int merge = 1;
        for (int k = 0; k < na && merge; k++) {
            tc_intp s = (bcmask[k] >> d) & 1 ? 0 : args[k].strides[d];
            if (s != st[k * nd + nc - 1] * dims[nc - 1]) merge = 0;
        }
        if (merge) {
            dims[nc - 1] *= shp[d];
            continue;
        }
        dims[nc] = shp[d];
        for (int k = 0; k < na; k++)
            st[k * nd + nc] = (bcmask[k] >> d) & 1 ? 0 : args[k].strides[d];
        nc++;
    }
    return nc;
}
#define TC_EW_PIECE 8192
#define TC_EW_BUF 16384
static void tc_ew_copy(char *dst, tc_intp ds, const char *src, tc_intp ss, tc_intp n, tc_intp isz) {
#define TC_EW_COPY(W) for (tc_intp i = 0; i < n; i++) memcpy(dst + i * ds, src + i * ss, W); break;
    switch (isz) {  /* vector gathers for the common 4- and 8-byte types only: compile time */
    case 1: TC_EW_COPY(1)
    case 2: TC_EW_COPY(2)
    case 4: _Pragma("omp simd") TC_EW_COPY(4)
    case 8: _Pragma("omp simd") TC_EW_COPY(8)
    case 16: TC_EW_COPY(16)
    default: TC_EW_COPY((size_t)isz)
    }
#undef TC_EW_COPY
}
static int tc_ew_piece(const tc_ew_call *c, char **b, tc_intp len) {
    const int nin = c->nin, na = nin + c->nout, nd = c->nd;
    tc_intp per = 0, ncopy = 0;  /* bytes per element of the operands copied, how many */
    for (int k = 0; k < na; k++) {
        const tc_intp s = c->st[k * nd];
        if (s != c->isz[k] && !(k < nin && (c->bcmask[k] >> (nd - 1)) & 1)) {
            per += c->isz[k];
            ncopy++;
        }
    }
    if (per == 0 || len == 1) return c->body(len, b);
    _Alignas(64) char buf[TC_EW_BUF];
    char *q[na];
    tc_intp chunk = (TC_EW_BUF - 16 * ncopy) / per;  /* >= 1: tc_ew_run checked */
    if (chunk >= 16) chunk &= ~(tc_intp)15;  /* slots stay 16-byte aligned */
    chunk = TC_MIN(len, chunk);
    for (tc_intp i = 0; i < len; i += chunk) {
        const tc_intp m = TC_MIN(chunk, len - i);
        char *slot = buf;
        for (int k = 0; k < na; k++) {
            const tc_intp s = c->st[k * nd];
            q[k] = b[k] + i * s;
            if (s == c->isz[k] || (k < nin && (c->bcmask[k] >> (nd - 1)) & 1)) continue;
            if (k < nin) tc_ew_copy(slot, c->isz[k], q[k], s, m, c->isz[k]);
            q[k] = slot;
            slot += (chunk * c->isz[k] + 15) & ~(tc_intp)15;
        }
        const int err = c->body(m, q);
        if (err) return err;
        for (int k = nin; k < na; k++) {
            const tc_intp s = c->st[k * nd];
            if (s != c->isz[k]) tc_ew_copy(b[k] + i * s, s, q[k], c->isz[k], m, c->isz[k]);
        }
    }
    return 0;
}
/* Pieces [lo, hi); stops at the first body error and returns it (else 0). */
static int tc_ew_pieces(const tc_ew_call *c, tc_intp lo, tc_intp hi) {
    const int na = c->nin + c->nout, nd = c->nd;
    char *b[na];
    for (tc_intp u = lo; u < hi; u++) {
        tc_intp r = u / c->npc;
        const tc_intp part = u % c->npc;
        const tc_intp i0 = c->inner * part / c->npc, i1 = c->inner * (part + 1) / c->npc;
        for (int k = 0; k < na; k++) b[k] = c->args[k].data + i0 * c->st[k * nd];
        for (int j = 1; j < c->nc; j++) {
            const tc_intp ij = r % c->dims[j];
            r /= c->dims[j];
            for (int k = 0; k < na; k++) b[k] += ij * c->st[k * nd + j];
        }
        const int err = tc_ew_piece(c, b, i1 - i0);
        if (err) return err;
    }
    return 0;
}
/* A pool chunk: its error goes to c->err (any chunk's: each is a TC_ERROR code the
 * caller reports); chunks started after an error skip their work. */
static void tc_ew_chunk(void *ctx, tc_intp lo, tc_intp hi) {
    tc_ew_call *c = (tc_ew_call *)ctx;
    if (__atomic_load_n(&c->err, __ATOMIC_RELAXED)) return;
    const int err = tc_ew_pieces(c, lo, hi);
    if (err) __atomic_store_n(&c->err, err, __ATOMIC_RELAXED);
}
/* Check ndims and shapes against the static broadcast masks (the first output's
 * shape is the loop's), then run the pieces; spread over the pool above threshold
 * units of work (elements x cost). */
static __attribute__((noinline)) int tc_ew_run_impl(tc_ew_call *c, tc_intp cost, tc_intp threshold) {
    const tc_arg *args = c->args;
    const int nin = c->nin, na = nin + c->nout, nd = c->nd;
    for (int k = 0; k < na; k++)
        if (args[k].ndim != nd) return TC_ERROR(TC_ERR_NDIM, k);
    const tc_intp *shp = args[nin].shape;
    uint64_t allb = nin ? ~(uint64_t)0 : 0;  /* dims every input broadcasts: size 1 */
    for (int k = 0; k < nin; k++) allb &= c->bcmask[k];
    for (int d = 0; d < nd; d++)
        if ((allb >> d) & 1 && shp[d] != 1) return TC_ERROR(TC_ERR_SHAPE, nin);
    for (int k = nin + 1; k < na; k++)
        for (int d = 0; d < nd; d++)
            if (args[k].shape[d] != shp[d]) return TC_ERROR(TC_ERR_SHAPE, k);
    tc_intp per = 0, n = 1;
    for (int k = 0; k < nin; k++)
        for (int d = 0; d < nd; d++)
            if (args[k].shape[d] != ((c->bcmask[k] >> d) & 1 ? 1 : shp[d]))
                return TC_ERROR(TC_ERR_SHAPE, k);
    for (int k = 0; k < na; k++) per += c->isz[k] + 16;
    if (per > TC_EW_BUF) return TC_ERROR(TC_ERR_INTERNAL, 0);  /* one element of each must fit */
    for (int d = 0; d < nd; d++) n *= shp[d];
    if (n == 0) return 0;
    c->nc = tc_collapse(nd, na, args, shp, c->bcmask, c->dims, c->st);
    tc_intp outer = 1;
    for (int j = 1; j < c->nc; j++) outer *= c->dims[j];
    c->inner = c->dims[0];
    c->npc = (c->inner + TC_EW_PIECE - 1) / TC_EW_PIECE;
    const tc_intp total = outer * c->npc;
    c->err = 0;
    if (total > 1 && n * cost >= threshold && c->par
            && c->par(tc_ew_chunk, c, total, n * cost) == 0)
        return __atomic_load_n(&c->err, __ATOMIC_ACQUIRE);  /* the pool waited for every chunk */
    return tc_ew_pieces(c, 0, total);
}
