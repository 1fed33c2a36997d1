/*
 * tensorc_reduce.c -- the shared driver of reduction kernels.
 *
 * A reduction kernel specialises only what depends on its body and dtypes: the block
 * function (reduce n unit-stride elements), the arg* search in a block, the row step
 * of the column path, the fold of one result into another and the output writer.
 * Everything else is this driver: the shape checks, the flat parts of full
 * reductions, the per-output loop with copies of strided runs, numpy's loop-order
 * rule and the column path (tiles of outputs fed row by row, row parts of float
 * sums), and the pool split.  Compiled once into tensorc._ext and reached from each
 * kernel library through the hook tc_red_run_hook (set by tc_install_red at load), or
 * pasted into every library without the extension.
 *
 * The part before TC_RED_DRIVER_CODE is what kernels see (the call's layout and the
 * copy helper); change the layout only together with TC_RED_ABI.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wunknown-pragmas" /* omp simd: ignored in the extension's build */
#endif
#ifndef TC_MIN
#define TC_MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#define TC_RED_ABI 2
/* p[k] = operand k's elements [i0, i0 + n) of a run starting at c[k] with byte stride
   st[k], as a block or row function reads them: the run's first element when sc[k]
   (read once), in place when the stride is the item size, else copied into
   buf + k * slot.  Compiled at -O2 with SIMD gathers for 4- and 8-byte items only
   (-O3 unrolls and versions every copy loop: ~30 ms more gcc time per unit, no faster) */
__attribute__((optimize("O2"))) static void tc_red_ptrs(int nin, const char *const *c, const tc_intp *st,
                                                        const tc_intp *isz, const int *sc, tc_intp i0,
                                                        tc_intp n, char *buf, tc_intp slot, const char **p) {
    for (int k = 0; k < nin; k++) {
        const char *s = c[k] + i0 * st[k];
        char *d = buf + k * slot;
        const tc_intp w = isz[k], ss = st[k];
        if (sc[k]) { p[k] = c[k]; continue; }
        if (ss == w) { p[k] = s; continue; }
        p[k] = d;
        switch (w) {
        case 4: _Pragma("omp simd") for (tc_intp i = 0; i < n; i++) memcpy(d + 4 * i, s + i * ss, 4); break;
        case 8: _Pragma("omp simd") for (tc_intp i = 0; i < n; i++) memcpy(d + 8 * i, s + i * ss, 8); break;
        default: for (tc_intp i = 0; i < n; i++) memcpy(d + w * i, s + i * ss, (size_t)w);
        }
    }
}
/* ---- what a kernel hands the driver ----
 * blk(n, p, r): *r = the reduction of n elements (operand p[k] unit-stride, or one
 * value read once when broadcast along the run), in the accumulation dtype.
 * find(n, p, a): the first index in such a block whose value is the extremum *a.
 * col(n, p, m, s, ix, q): fold row q's segment of n outputs into a tile: m the
 * accumulators, s the float sums' current 128-row block, ix NaN flags (max/min) or
 * indices (arg*).  comb(a, r): fold the result *r into *a; 1 when *r replaced *a
 * (max/min/arg*: larger/smaller or the first NaN).  out(n, m, ix, ob, os): write n
 * outputs from accumulators m (ix: NaN flags or indices) at ob, byte stride os. */
typedef void (*tc_red_blk_fn)(tc_intp n, const char *const *p, void *r);
typedef tc_intp (*tc_red_find_fn)(tc_intp n, const char *const *p, const void *a);
typedef void (*tc_red_col_fn)(tc_intp n, const char *const *p, void *m, void *s, tc_intp *ix, tc_intp q);
typedef int (*tc_red_comb_fn)(void *a, const void *r);
typedef void (*tc_red_out_fn)(tc_intp n, const void *m, const tc_intp *ix, char *ob, tc_intp os);
#define TC_RED_PAIRWISE 1 /* float sums: blocks combined pairwise, 128-row column blocks, row parts */
#define TC_RED_KEEPDIMS 2 /* the output keeps the reduced dimensions (size 1) */
#define TC_RED_ARG 4      /* argmax/argmin: the output is the index */
#define TC_RED_NONEMPTY 8 /* max/min/arg*: an empty reduction is an error */
#define TC_RED_FLAT 16    /* no kept dimension, no partly broadcast input: flat parts */
typedef struct tc_red_call {
    const uint64_t *bcmask;   /* nin: bit d set = dimension d broadcast */
    const signed char *dims;  /* nkept kept dimensions, then nred reduced ones, ascending */
    const tc_intp *isz;       /* nin: item sizes */
    const void *start;        /* the accumulator every output starts from */
    tc_red_blk_fn blk;
    tc_red_find_fn find;      /* arg* only */
    tc_red_col_fn col;        /* NULL: no column path */
    tc_red_comb_fn comb;
    tc_red_out_fn out;
    int nin, nd, nkept, nred, accsize, flags;
    tc_intp cost, threshold;  /* work per element, pool threshold (elements x cost) */
} tc_red_call;
/* TC_RED_DRIVER_CODE */
#define TC_RED_BLOCK 1024    /* elements per block of the per-output and flat paths */
#define TC_RED_MAXPARTS 256  /* parts of a flat reduction at most */
#define TC_RED_TILE 512      /* outputs per column tile at most (accumulators stay in L1) */
#define TC_RED_CBLOCK 128    /* rows summed into block sums before the totals */
#define TC_RED_PARTS 16      /* row parts of float column sums with few tiles, at most */
#define TC_RED_ROWBYTES 64   /* row segments at least this wide take the column path */
#define TC_RED_BUF 32768     /* bytes of copied runs or row segments (all operands) */
#define TC_RED_MAXIN 256     /* operands at most */
#define TC_RED_ABS(s) ((s) < 0 ? -(s) : (s))
extern void *malloc(size_t); extern void free(void *); /* row parts: no <stdlib.h> to parse */

/* pairwise combination of block sums: s[l] holds a sum of 2**l blocks */
typedef struct { double s[64]; uint64_t n; } tc_casc;
static inline void tc_casc_push(tc_casc *c, double v) {
    uint64_t n = c->n++;
    int l = 0;
    while (n & 1) { v += c->s[l]; n >>= 1; l++; }
    c->s[l] = v;
}
static inline double tc_casc_total(const tc_casc *c) {
    double t = 0.0;
    uint64_t n = c->n;
    for (int l = 0; n; l++, n >>= 1) if (n & 1) t += c->s[l];
    return t;
}
/* a float sum's accumulator (float or double) as a double, and back */
static inline double tc_red_getd(const void *a, int accsize) {
    return accsize == 4 ? (double)*(const float *)a : *(const double *)a;
}
static inline void tc_red_setd(void *a, int accsize, double v) {
    if (accsize == 4) *(float *)a = (float)v; else *(double *)a = v;
}

/* *dst = *src for an accumulator of accsize bytes (no libc call for the usual sizes) */
static inline void tc_red_copy(void *dst, const void *src, int accsize) {
    switch (accsize) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    case 16: memcpy(dst, src, 16); break;
    default: memcpy(dst, src, (size_t)accsize);
    }
}

/* A call's run-time layout, shared with the pool's chunks. */
typedef struct tc_red_job {
    const tc_red_call *c;
    const tc_arg *args;
    const tc_intp *F, *S;      /* the loop's shape; nin x nd strides (0: broadcast) */
    int sc[TC_RED_MAXIN];      /* operand read once along the run (or the row) */
    tc_intp st[TC_RED_MAXIN];  /* operand stride along the run (or the row) */
    int unit, cd;
    tc_intp nkeep, nredn, ilen, nouter, blen, slot;
    tc_intp tw, ntile, nrp;    /* column path: tile width, tiles per row, row parts */
    double *rp;                /* row parts' sums: nrp x nkeep */
    char *parts;               /* flat path: each part's result (16-byte slots) */
    tc_intp nblk, nparts;
} tc_red_job;

/* 1 when a is C- (Fortran-) contiguous; size-1 dimensions may have any stride */
static int tc_red_contig(const tc_arg *a, tc_intp isz, int fortran) {
    tc_intp want = isz;
    for (int i = 0; i < a->ndim; i++) {
        const int d = fortran ? i : a->ndim - 1 - i;
        if (a->shape[d] != 1 && a->strides[d] != want) return 0;
        want *= a->shape[d];
    }
    return 1;
}

/* ndims and shapes against the static broadcast patterns; F and S filled */
static int tc_red_check(const tc_red_call *c, const tc_arg *args, tc_intp *F, tc_intp *S) {
    const int nin = c->nin, nd = c->nd;
    uint64_t redm = 0;
    for (int i = 0; i < c->nred; i++) redm |= (uint64_t)1 << c->dims[c->nkept + i];
    for (int k = 0; k < nin; k++) if (args[k].ndim != nd) return TC_ERROR(TC_ERR_NDIM, k);
    const tc_arg *y = &args[nin];
    if (y->ndim != (c->flags & TC_RED_KEEPDIMS ? nd : c->nkept)) return TC_ERROR(TC_ERR_NDIM, nin);
    for (int d = 0; d < nd; d++) {
        F[d] = 1;
        for (int k = 0; k < nin; k++)
            if (!((c->bcmask[k] >> d) & 1)) { F[d] = args[k].shape[d]; break; }
        for (int k = 0; k < nin; k++) {
            const int b = (int)((c->bcmask[k] >> d) & 1);
            if (args[k].shape[d] != (b ? 1 : F[d])) return TC_ERROR(TC_ERR_SHAPE, k);
            S[k * nd + d] = b ? 0 : args[k].strides[d];
        }
    }
    for (int d = 0, j = 0; d < nd; d++) {
        const int r = (int)((redm >> d) & 1);
        if (r && !(c->flags & TC_RED_KEEPDIMS)) continue;
        if (y->shape[j++] != (r ? 1 : F[d])) return TC_ERROR(TC_ERR_SHAPE, nin);
    }
    return 0;
}

/* b[k] += operand k's offset of index v over dimensions dims[0..n) (last fastest);
 * with ob, *ob += the output's offset too (dims are then the first n kept ones) */
static inline void tc_red_offsets(const tc_red_job *j, const signed char *dims, int n, tc_intp v,
                                  const char **b, char **ob) {
    const tc_red_call *c = j->c;
    const int nin = c->nin, nd = c->nd;
    const tc_intp *ys = j->args[nin].strides;
    for (int i = n - 1; i >= 0; i--) {
        const int d = dims[i];
        tc_intp x = v;  /* the outermost index is below its size: no division */
        if (i) {
            x = v % j->F[d];
            v /= j->F[d];
        }
        for (int k = 0; k < nin; k++) b[k] += x * j->S[k * nd + d];
        if (ob) *ob += x * ys[c->flags & TC_RED_KEEPDIMS ? d : i];
    }
}

/* p: the block [i0, i0 + n) of the runs starting at r (in place or copied) */
static inline void tc_red_block(const tc_red_job *j, const char *const *r, tc_intp i0, tc_intp n, char *buf,
                         const char **p) {
    const tc_red_call *c = j->c;
    if (j->unit) {
        for (int k = 0; k < c->nin; k++) p[k] = j->sc[k] ? r[k] : r[k] + i0 * j->st[k];
    } else {
        tc_red_ptrs(c->nin, r, j->st, c->isz, j->sc, i0, n, buf, j->slot, p);
    }
}

/* The reduction of output o's runs into a, block by block (innermost reduced
 * dimension); *ai the index of the extremum for arg*.  b, r, p: nin pointers each. */
static void tc_red_one(const tc_red_job *j, tc_intp o, char *a, tc_intp *ai, char *buf,
                       const char **b, const char **r, const char **p, char **ob) {
    const tc_red_call *c = j->c;
    const int nin = c->nin, pair = c->flags & TC_RED_PAIRWISE;
    _Alignas(16) char v[16];
    tc_casc cs;
    cs.n = 0;
    tc_intp bq = 0, bi = 0;
    for (int k = 0; k < nin; k++) b[k] = j->args[k].data;
    *ob = j->args[nin].data;
    tc_red_offsets(j, c->dims, c->nkept, o, b, ob);
    const int one = j->nouter == 1 && j->ilen <= j->blen;  /* one block: no pairwise tree */
    int first = 1;  /* the first result is a's value (max/min/arg*: numpy's start) */
    for (tc_intp q = 0; q < j->nouter; q++) {
        const char **rq = b;
        if (c->nred > 1) {
            for (int k = 0; k < nin; k++) r[k] = b[k];
            tc_red_offsets(j, c->dims + c->nkept, c->nred - 1, q, r, 0);
            rq = r;
        }
        for (tc_intp i0 = 0; i0 < j->ilen; i0 += j->blen) {
            const tc_intp n = TC_MIN(j->blen, j->ilen - i0);
            tc_red_block(j, rq, i0, n, buf, p);
            if (first && (!pair || one)) {
                c->blk(n, p, a);
                first = 0;
                continue;
            }
            c->blk(n, p, v);
            if (pair) tc_casc_push(&cs, tc_red_getd(v, c->accsize));
            else if (c->comb(a, v)) { bq = q; bi = i0; }
        }
    }
    if (first) tc_red_copy(a, c->start, c->accsize);  /* no element */
    if (pair && one) return;
    if (pair) tc_red_setd(a, c->accsize, tc_casc_total(&cs));
    if (c->flags & TC_RED_ARG && !first) {  /* the block holding the extremum, searched */
        for (int k = 0; k < nin; k++) r[k] = b[k];
        tc_red_offsets(j, c->dims + c->nkept, c->nred - 1, bq, r, 0);
        const tc_intp n = TC_MIN(j->blen, j->ilen - bi);
        tc_red_block(j, r, bi, n, buf, p);
        *ai = bq * j->ilen + bi + c->find(n, p, a);
    }
}

static void tc_red_out_chunk(void *ctx, tc_intp lo, tc_intp hi) {
    const tc_red_job *j = (const tc_red_job *)ctx;
    const tc_red_call *c = j->c;
    const int nin = c->nin;
    _Alignas(64) char buf[TC_RED_BUF];
    _Alignas(16) char a[16];
    const char *b[nin], *r[nin], *p[nin];
    if (c->nred == 1 && j->unit && j->ilen > 0 && j->ilen <= j->blen) {
        /* each output one block read in place (row sums, max, arg* of contiguous rows) */
        for (tc_intp o = lo; o < hi; o++) {
            tc_intp ai = 0;
            char *ob = j->args[nin].data;
            for (int k = 0; k < nin; k++) b[k] = j->args[k].data;
            tc_red_offsets(j, c->dims, c->nkept, o, b, &ob);
            c->blk(j->ilen, b, a);
            if (c->flags & TC_RED_ARG) ai = c->find(j->ilen, b, a);
            c->out(1, a, &ai, ob, 0);
        }
        return;
    }
    for (tc_intp o = lo; o < hi; o++) {
        tc_intp ai = 0;
        char *ob;
        tc_red_one(j, o, a, &ai, buf, b, r, p, &ob);
        c->out(1, a, &ai, ob, 0);
    }
}

/* One output at a time (on the pool above the threshold): its runs of the innermost
 * reduced dimension, block by block (strided operands copied into a buffer). */
static int tc_red_per_output(tc_red_job *j, tc_parallel_fn par) {
    const tc_red_call *c = j->c;
    const int inner = c->nred ? c->dims[c->nkept + c->nred - 1] : -1;
    tc_intp wide = 0, per = 1;
    int all = 1;
    j->unit = 1;
    for (int k = 0; k < c->nin; k++) {
        j->sc[k] = inner < 0 || (int)((c->bcmask[k] >> inner) & 1);
        j->st[k] = inner < 0 ? 0 : j->S[k * c->nd + inner];
        if (!j->sc[k] && j->st[k] != c->isz[k]) j->unit = 0;
        if (!j->sc[k]) all = 0;
        wide = c->isz[k] > wide ? c->isz[k] : wide;
    }
    if (!all) per = wide;
    j->ilen = inner < 0 ? 1 : j->F[inner];
    j->nouter = 1;
    for (int i = 0; i + 1 < c->nred; i++) j->nouter *= j->F[c->dims[c->nkept + i]];
    tc_intp blen = TC_RED_BLOCK;
    while (blen > 1 && blen * per > TC_RED_BUF / c->nin) blen /= 2;
    j->slot = all ? 0 : blen * wide;
    j->blen = !j->unit ? blen : (c->flags & TC_RED_PAIRWISE ? TC_RED_BLOCK : (j->ilen > 0 ? j->ilen : 1));
    const tc_intp work = j->nkeep * j->nredn * c->cost;
    if (!(j->nkeep > 1 && work >= c->threshold && par && par(tc_red_out_chunk, j, j->nkeep, work) == 0))
        tc_red_out_chunk(j, 0, j->nkeep);
    return 0;
}

/* Flat part p: blocks of [lo, hi) of contiguous runs (pairwise for float sums). */
static void tc_red_flat_chunk(void *ctx, tc_intp lo_p, tc_intp hi_p) {
    const tc_red_job *j = (const tc_red_job *)ctx;
    const tc_red_call *c = j->c;
    const int nin = c->nin;
    const char *p[nin];
    _Alignas(16) char v[16];
    for (tc_intp part = lo_p; part < hi_p; part++) {
        const tc_intp lo = j->nblk * part / j->nparts * TC_RED_BLOCK;
        const tc_intp hi = TC_MIN(j->nblk * (part + 1) / j->nparts * TC_RED_BLOCK, j->nredn);
        char *a = j->parts + 16 * part;
        tc_red_copy(a, c->start, c->accsize);
        if (c->flags & TC_RED_PAIRWISE) {
            tc_casc cs;
            cs.n = 0;
            for (tc_intp i0 = lo; i0 < hi; i0 += TC_RED_BLOCK) {
                for (int k = 0; k < nin; k++) p[k] = j->args[k].data + (j->sc[k] ? 0 : i0 * c->isz[k]);
                c->blk(TC_MIN(TC_RED_BLOCK, hi - i0), p, v);
                tc_casc_push(&cs, tc_red_getd(v, c->accsize));
            }
            tc_red_setd(a, c->accsize, tc_casc_total(&cs));
        } else if (hi > lo) {  /* one call: only float sums need blocks */
            for (int k = 0; k < nin; k++) p[k] = j->args[k].data + (j->sc[k] ? 0 : lo * c->isz[k]);
            c->blk(hi - lo, p, v);
            c->comb(a, v);
        }
    }
}

/* 1 when the result r equals the extremum a (or both are NaN): a does not replace r */
static int tc_red_holds(const tc_red_call *c, const void *r, const void *a) {
    _Alignas(16) char t[16];
    tc_red_copy(t, r, c->accsize);
    return !c->comb(t, a);
}

/* A full reduction over contiguous inputs (C order; Fortran order too but for arg*,
 * whose index is C order): at most TC_RED_MAXPARTS parts of whole blocks on the pool,
 * their results combined in order; arg* then search the first part holding the
 * extremum. */
static int tc_red_flat(tc_red_job *j, tc_parallel_fn par) {
    const tc_red_call *c = j->c;
    const int nin = c->nin;
    _Alignas(16) char parts[16 * TC_RED_MAXPARTS], a[16];
    j->parts = parts;
    j->nblk = (j->nredn + TC_RED_BLOCK - 1) / TC_RED_BLOCK;
    j->nparts = 1;
    if (j->nredn >= c->threshold) j->nparts = TC_MIN(j->nblk, TC_RED_MAXPARTS);
    const tc_intp work = j->nredn * c->cost;
    if (!(j->nparts > 1 && work >= c->threshold && par && par(tc_red_flat_chunk, j, j->nparts, work) == 0))
        tc_red_flat_chunk(j, 0, j->nparts);
    if (c->flags & TC_RED_PAIRWISE) {
        tc_casc cs;
        cs.n = 0;
        for (tc_intp q = 0; q < j->nparts; q++) tc_casc_push(&cs, tc_red_getd(parts + 16 * q, c->accsize));
        tc_red_setd(a, c->accsize, tc_casc_total(&cs));
    } else {
        tc_red_copy(a, parts, c->accsize);
        for (tc_intp q = 1; q < j->nparts; q++) c->comb(a, parts + 16 * q);
    }
    tc_intp ai = 0;
    if (c->flags & TC_RED_ARG) {
        tc_intp q = 0;
        while (q + 1 < j->nparts && !tc_red_holds(c, parts + 16 * q, a)) q++;
        const tc_intp lo = j->nblk * q / j->nparts * TC_RED_BLOCK;
        const tc_intp hi = TC_MIN(j->nblk * (q + 1) / j->nparts * TC_RED_BLOCK, j->nredn);
        const char *p[nin];
        _Alignas(16) char v[16];
        for (tc_intp i0 = lo; i0 < hi; i0 += TC_RED_BLOCK) {
            const tc_intp n = TC_MIN(TC_RED_BLOCK, hi - i0);
            for (int k = 0; k < nin; k++) p[k] = j->args[k].data + (j->sc[k] ? 0 : i0 * c->isz[k]);
            c->blk(n, p, v);
            if (tc_red_holds(c, v, a)) { ai = i0 + c->find(n, p, a); break; }
        }
    }
    c->out(1, a, &ai, j->args[nin].data, 0);
    return 0;
}

/* 1 when numpy's rule walks rows: segments of TC_RED_ROWBYTES at least along cd and,
 * for every operand read along both cd and the innermost reduced dimension, smaller
 * strides along cd (or a run of one element); with no such operand, only kernels
 * keeping their last dimension. */
static int tc_red_take(const tc_red_job *j, int cd, int inner) {
    const tc_red_call *c = j->c;
    tc_intp wide = 0;
    for (int k = 0; k < c->nin; k++) wide = c->isz[k] > wide ? c->isz[k] : wide;
    if (j->F[cd] * wide < TC_RED_ROWBYTES) return 0;
    int both = 0, less = 1;
    for (int k = 0; k < c->nin; k++) {
        if ((c->bcmask[k] >> cd) & 1 || (c->bcmask[k] >> inner) & 1) continue;
        both = 1;
        const tc_intp *s = j->S + k * c->nd;
        if (!(TC_RED_ABS(s[cd]) < TC_RED_ABS(s[inner]))) less = 0;
    }
    if (!both) return cd == c->nd - 1;
    return j->F[inner] == 1 || less;
}

/* m[j] += s[j], s[j] = 0 (float or double accumulators) */
static void tc_red_flush(void *m, void *s, tc_intp n, int accsize) {
    if (accsize == 4) {
        float *a = (float *)m, *b = (float *)s;
        for (tc_intp i = 0; i < n; i++) { a[i] += b[i]; b[i] = 0; }
    } else {
        double *a = (double *)m, *b = (double *)s;
        for (tc_intp i = 0; i < n; i++) { a[i] += b[i]; b[i] = 0; }
    }
}

/* Column tile t: rows [q0, q1) of row part rp into tw outputs along cd. */
static void tc_red_tile(const tc_red_job *j, tc_intp t, char *buf) {
    const tc_red_call *c = j->c;
    const int nin = c->nin, nd = c->nd, cd = j->cd, pair = c->flags & TC_RED_PAIRWISE;
    const tc_intp nouter = j->nkeep / j->F[cd], per = nouter * j->ntile, rp = t / per, u = t % per;
    const tc_intp o = u / j->ntile, j0 = (u % j->ntile) * j->tw, n = TC_MIN(j0 + j->tw, j->F[cd]) - j0;
    const tc_intp nb = (j->nredn + TC_RED_CBLOCK - 1) / TC_RED_CBLOCK;
    const tc_intp q0 = nb * rp / j->nrp * TC_RED_CBLOCK;
    const tc_intp q1 = TC_MIN(nb * (rp + 1) / j->nrp * TC_RED_CBLOCK, j->nredn);
    const signed char *red = c->dims + c->nkept;
    const char *b[nin], *r[nin], *p[nin];
    tc_intp rs[nin];
    for (int k = 0; k < nin; k++) {
        b[k] = j->args[k].data;
        rs[k] = j->S[k * nd + red[c->nred - 1]];
    }
    char *ob = j->args[nin].data;
    tc_red_offsets(j, c->dims, c->nkept - 1, o, b, &ob);  /* every kept dimension but cd */
    _Alignas(64) char m[TC_RED_TILE * 16], s[TC_RED_TILE * 16];
    tc_intp ix[TC_RED_TILE];
    for (tc_intp i = 0; i < n; i++) tc_red_copy(m + i * c->accsize, c->start, c->accsize);
    memset(s, 0, (size_t)(n * c->accsize));
    memset(ix, 0, sizeof(tc_intp) * (size_t)n);
    const int step = c->nred == 1 && j->unit;  /* rows one stride apart, read in place */
    if (step)
        for (int k = 0; k < nin; k++) p[k] = b[k] + q0 * rs[k] + (j->sc[k] ? 0 : j0 * c->isz[k]);
    for (tc_intp qb = q0; qb < q1; qb += TC_RED_CBLOCK) {  /* q0 is a whole block */
        const tc_intp qe = TC_MIN(qb + TC_RED_CBLOCK, q1);
        for (tc_intp q = qb; q < qe; q++) {
            if (step) {
                c->col(n, p, m, s, ix, q);
                for (int k = 0; k < nin; k++) p[k] += rs[k];
                continue;
            }
            for (int k = 0; k < nin; k++) r[k] = b[k];
            tc_red_offsets(j, red, c->nred, q, r, 0);
            tc_red_block(j, r, j0, n, buf, p);
            c->col(n, p, m, s, ix, q);
        }
        if (pair) tc_red_flush(m, s, n, c->accsize);
    }
    if (j->nrp > 1) {  /* a part of the rows: its sums wait in rp */
        double *dst = j->rp + rp * j->nkeep + o * j->F[cd] + j0;
        for (tc_intp i = 0; i < n; i++) dst[i] = tc_red_getd(m + i * c->accsize, c->accsize);
        return;
    }
    const tc_arg *y = &j->args[nin];
    const tc_intp os = y->strides[c->flags & TC_RED_KEEPDIMS ? cd : c->nkept - 1];
    c->out(n, m, ix, ob + j0 * os, os);
}

static void tc_red_col_chunk(void *ctx, tc_intp lo, tc_intp hi) {
    _Alignas(64) char buf[TC_RED_BUF];
    for (tc_intp t = lo; t < hi; t++) tc_red_tile((const tc_red_job *)ctx, t, buf);
}

/* The column path: tiles of at most TC_RED_TILE outputs along cd (fewer when a row
 * segment of every operand would not fit the copy buffer; at least two from 16
 * outputs on, for the threads) on the pool above the threshold; float sums with
 * fewer tiles than TC_RED_PARTS cut their rows into parts of whole TC_RED_CBLOCK
 * blocks (heap buffer), joined per output in order.  -1: not this path. */
static int tc_red_columns(tc_red_job *j, tc_parallel_fn par) {
    const tc_red_call *c = j->c;
    const int nin = c->nin;
    j->cd = c->dims[c->nkept - 1];
    if (!tc_red_take(j, j->cd, c->dims[c->nkept + c->nred - 1])) return -1;
    const tc_intp fc = j->F[j->cd], nouter = j->nkeep / fc;
    tc_intp wide = 0;
    j->unit = 1;
    for (int k = 0; k < nin; k++) {
        j->sc[k] = (int)((c->bcmask[k] >> j->cd) & 1);
        j->st[k] = j->S[k * c->nd + j->cd];
        if (!j->sc[k] && j->st[k] != c->isz[k]) j->unit = 0;
        wide = c->isz[k] > wide ? c->isz[k] : wide;
    }
    tc_intp tile = TC_RED_TILE;
    while (tile > 8 && tile * wide * nin > TC_RED_BUF) tile /= 2;
    if (tile * wide * nin > TC_RED_BUF) return -1;
    j->slot = tile * wide;
    j->tw = TC_MIN(tile, fc < 16 ? fc : ((fc + 1) / 2 + 7) / 8 * 8);
    j->ntile = (fc + j->tw - 1) / j->tw;
    j->nrp = 1;
    j->rp = 0;
    const tc_intp work = j->nkeep * j->nredn * c->cost;
    if (c->flags & TC_RED_PAIRWISE && nouter * j->ntile < TC_RED_PARTS && j->nredn >= 2 * TC_RED_CBLOCK
            && work >= c->threshold) {
        j->nrp = TC_MIN(TC_RED_PARTS, j->nredn / TC_RED_CBLOCK);
        j->rp = (double *)malloc(sizeof(double) * (size_t)j->nrp * (size_t)j->nkeep);
        if (!j->rp) return TC_ERROR(TC_ERR_ALLOC, 0);
        j->tw = TC_MIN(tile, fc);  /* the row parts keep the threads busy: whole rows */
        j->ntile = (fc + j->tw - 1) / j->tw;
    }
    const tc_intp total = j->nrp * nouter * j->ntile;
    if (!(total > 1 && work >= c->threshold && par && par(tc_red_col_chunk, j, total, work) == 0))
        tc_red_col_chunk(j, 0, total);
    if (j->nrp > 1) {  /* the row parts' sums of every output added in order */
        const char *bb[nin];
        for (tc_intp o = 0; o < j->nkeep; o++) {
            double sum = j->rp[o];
            for (tc_intp q = 1; q < j->nrp; q++) sum += j->rp[q * j->nkeep + o];
            _Alignas(16) char a[16];
            const tc_intp ix = 0;
            char *ob = j->args[nin].data;
            for (int k = 0; k < nin; k++) bb[k] = 0;
            tc_red_offsets(j, c->dims, c->nkept, o, bb, &ob);
            tc_red_setd(a, c->accsize, sum);
            c->out(1, a, &ix, ob, 0);
        }
        free(j->rp);
    }
    return 0;
}

/* Run a reduction kernel: the checks, then the flat path (full reductions over
 * contiguous inputs), the column path (when numpy's rule says so) or the per-output
 * path; 0 or a TC_ERROR. */
static __attribute__((noinline)) int tc_red_run_impl(const tc_red_call *c, const tc_arg *args,
                                                     tc_parallel_fn par) {
    const int nin = c->nin, nd = c->nd;
    if (nin < 1 || nin > TC_RED_MAXIN || nd > 64 || c->accsize > 16) return TC_ERROR(TC_ERR_INTERNAL, 0);
    tc_intp F[nd > 0 ? nd : 1], S[nin * (nd > 0 ? nd : 1)];
    const int err = tc_red_check(c, args, F, S);
    if (err) return err;
    tc_red_job j;
    j.c = c;
    j.args = args;
    j.F = F;
    j.S = S;
    j.nkeep = 1;
    j.nredn = 1;
    for (int i = 0; i < c->nkept; i++) j.nkeep *= F[c->dims[i]];
    for (int i = 0; i < c->nred; i++) j.nredn *= F[c->dims[c->nkept + i]];
    if (j.nkeep == 0) return 0;
    if (c->flags & TC_RED_NONEMPTY && j.nredn == 0) return TC_ERROR(TC_ERR_SHAPE, 0);
    if (c->flags & TC_RED_FLAT) {
        int cc = 1, ff = !(c->flags & TC_RED_ARG);
        for (int k = 0; k < nin; k++) {
            j.sc[k] = c->bcmask[k] == (nd ? ~(uint64_t)0 >> (64 - nd) : 0);
            if (j.sc[k]) continue;
            cc = cc && tc_red_contig(&args[k], c->isz[k], 0);
            ff = ff && tc_red_contig(&args[k], c->isz[k], 1);
        }
        if (cc || ff) return tc_red_flat(&j, par);
    }
    if (c->col && c->nkept > 0 && c->nred > 0) {
        const int r = tc_red_columns(&j, par);
        if (r >= 0) return r;
    }
    return tc_red_per_output(&j, par);
}
/* TC_RED_EXT_CODE: the extension only (tensorc_ext.c includes the whole file) */
#ifdef TC_RED_IN_EXT
/* The reduction driver's layout version (kernels are rendered for it only when equal). */
int tc_red_driver_abi(void) { return TC_RED_ABI; }

/* Point a freshly loaded kernel library's tc_red_run_hook at this driver: 1 done,
 * 0 the library has no hook (it carries its own driver), -1 other layout. */
int tc_install_red(void *handle) {
    typedef int (*run_fn)(const tc_red_call *, const tc_arg *, tc_parallel_fn);
    run_fn *hook = (run_fn *)dlsym(handle, "tc_red_run_hook");
    const int *abi = (const int *)dlsym(handle, "tc_red_abi");
    if (!hook) return 0;
    if (!abi || *abi != TC_RED_ABI) return -1;
    *hook = tc_red_run_impl;
    return 1;
}
#endif
