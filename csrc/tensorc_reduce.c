/*
 * tensorc_reduce.c -- the shared column driver of reduction kernels.
 *
 * A reduction kernel with kept and reduced dimensions may walk its rows instead of
 * its outputs (numpy's loop order, chosen at run time from the strides): tiles of
 * outputs along the last kept dimension `cd` accumulate one row segment at a time.
 * Only the row step (`col`: one segment folded into the tile's accumulators) and the
 * tile's output writer (`out`: accumulator -> output dtype) depend on the kernel's
 * body and dtypes.  The rule, the tiling, the row parts, the copies of strided
 * segments and the pool split are this driver: compiled once into tensorc._ext and
 * reached from each kernel library through the hook tc_red_cols_hook (set by
 * tc_install_red at load), or pasted into every library without the extension.
 *
 * The part before TC_RED_DRIVER_CODE is what kernels see (the call's layout and the
 * copy helper their per-output path shares); change the layout only together with
 * TC_RED_ABI.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wunknown-pragmas" /* omp simd: ignored in the extension's build */
#endif
#ifndef TC_MIN
#define TC_MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#define TC_RED_ABI 1
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
/* ---- what a kernel hands the column driver ----
 * col(n, p, m, s, ix, q): fold row q's segment of n outputs (operand p[k] unit-stride,
 * or one value when broadcast along cd) into the tile: m the accumulators (acc dtype),
 * s the float sums' current 128-row block, ix NaN flags (max/min) or indices (arg*).
 * out(n, m, ix, ob, os): write n outputs of a tile at ob, byte stride os. */
typedef void (*tc_red_col_fn)(tc_intp n, const char *const *p, void *m, void *s, tc_intp *ix, tc_intp q);
typedef void (*tc_red_out_fn)(tc_intp n, const void *m, const tc_intp *ix, char *ob, tc_intp os);
#define TC_RED_PAIRWISE 1 /* float sums: 128-row block sums, rows cut into parts */
#define TC_RED_KEEPDIMS 2 /* the output keeps the reduced dimensions (size 1) */
typedef struct tc_red_cols {
    const tc_arg *args;       /* the kernel's: nin inputs, then the output */
    const tc_intp *F;         /* nd: the loop's shape */
    const tc_intp *S;         /* nin x nd byte strides, 0 along broadcast dimensions */
    const tc_intp *isz;       /* nin: item sizes */
    const uint64_t *bcmask;   /* nin: bit d set = dimension d broadcast */
    const signed char *kept;  /* nkept kept dimensions, then nred reduced ones, ascending */
    const void *start;        /* the accumulator every tile starts from */
    tc_red_col_fn col;
    tc_red_out_fn out;
    tc_parallel_fn par;       /* the kernel library's pool hook (NULL: serial) */
    int nin, nd, nkept, nred, accsize, flags;
    tc_intp cost, threshold;  /* work per element, pool threshold (elements x cost) */
} tc_red_cols;
/* TC_RED_DRIVER_CODE */
#define TC_RED_TILE 512      /* outputs per tile at most (accumulators stay in L1) */
#define TC_RED_CBLOCK 128    /* rows summed into block sums before the totals */
#define TC_RED_PARTS 16      /* row parts of float sums with few tiles, at most */
#define TC_RED_ROWBYTES 64   /* row segments at least this wide take the column path */
#define TC_RED_BUF 32768     /* bytes of copied row segments (all operands) */
#define TC_RED_MAXIN 256     /* operands at most (one element of each fits the buffer) */
#define TC_RED_ABS(s) ((s) < 0 ? -(s) : (s))
extern void *malloc(size_t); extern void free(void *); /* row parts: no <stdlib.h> to parse */

/* A call's run-time layout, shared with the pool's chunks. */
typedef struct tc_red_plan {
    const tc_red_cols *c;
    int cd, inner, unit;
    int sc[TC_RED_MAXIN];
    tc_intp cst[TC_RED_MAXIN];
    tc_intp tw, ntile, nouter, nrp, nkeep, nredn, slot;
    double *rp;               /* row parts' sums: nrp x nkeep (nrp > 1) */
} tc_red_plan;

/* 1 when numpy's rule walks rows: segments of TC_RED_ROWBYTES at least along cd and,
 * for every operand read along both cd and the innermost reduced dimension, smaller
 * strides along cd (or a run of one element); with no such operand, only kernels
 * keeping their last dimension. */
static int tc_red_take(const tc_red_cols *c, int cd, int inner) {
    tc_intp wide = 0;
    for (int k = 0; k < c->nin; k++) wide = c->isz[k] > wide ? c->isz[k] : wide;
    if (c->F[cd] * wide < TC_RED_ROWBYTES) return 0;
    int both = 0, less = 1;
    for (int k = 0; k < c->nin; k++) {
        if ((c->bcmask[k] >> cd) & 1 || (c->bcmask[k] >> inner) & 1) continue;
        both = 1;
        const tc_intp *s = c->S + k * c->nd;
        if (!(TC_RED_ABS(s[cd]) < TC_RED_ABS(s[inner]))) less = 0;
    }
    if (!both) return cd == c->nd - 1;
    return c->F[inner] == 1 || less;
}

/* byte offset of the output element with kept index o (cd included or not) */
static char *tc_red_obase(const tc_red_cols *c, tc_intp o, int upto) {
    const tc_arg *y = &c->args[c->nin];
    char *ob = y->data;
    for (int i = upto - 1; i >= 0; i--) {
        const int d = c->kept[i];
        const tc_intp j = o % c->F[d];
        o /= c->F[d];
        ob += j * y->strides[c->flags & TC_RED_KEEPDIMS ? d : i];
    }
    return ob;
}

/* m[j] += s[j], s[j] = 0 (float or double accumulators) */
static void tc_red_flush(void *m, void *s, tc_intp n, int accsize) {
    if (accsize == 4) {
        float *a = (float *)m, *b = (float *)s;
        for (tc_intp j = 0; j < n; j++) { a[j] += b[j]; b[j] = 0; }
    } else {
        double *a = (double *)m, *b = (double *)s;
        for (tc_intp j = 0; j < n; j++) { a[j] += b[j]; b[j] = 0; }
    }
}

/* Tile t of the plan: rows [q0, q1) of row part rp into tw outputs along cd. */
static void tc_red_tile(const tc_red_plan *pl, tc_intp t) {
    const tc_red_cols *c = pl->c;
    const int nin = c->nin, nd = c->nd, cd = pl->cd, pair = c->flags & TC_RED_PAIRWISE;
    const tc_intp per = pl->nouter * pl->ntile, rp = t / per, u = t % per;
    const tc_intp o = u / pl->ntile, j0 = (u % pl->ntile) * pl->tw, n = TC_MIN(j0 + pl->tw, c->F[cd]) - j0;
    const tc_intp nb = (pl->nredn + TC_RED_CBLOCK - 1) / TC_RED_CBLOCK;
    const tc_intp q0 = nb * rp / pl->nrp * TC_RED_CBLOCK;
    const tc_intp q1 = TC_MIN(nb * (rp + 1) / pl->nrp * TC_RED_CBLOCK, pl->nredn);
    const signed char *red = c->kept + c->nkept;
    const char *b[nin], *cc[nin], *p[nin];
    tc_intp off[nin], rs[nin];
    for (int k = 0; k < nin; k++) {
        b[k] = c->args[k].data;
        off[k] = pl->sc[k] ? 0 : j0 * c->isz[k];
        rs[k] = c->S[k * nd + red[c->nred - 1]];
    }
    tc_intp r = o;  /* the outer kept index: every kept dimension but cd */
    for (int i = c->nkept - 2; i >= 0; i--) {
        const int d = c->kept[i];
        const tc_intp j = r % c->F[d];
        r /= c->F[d];
        for (int k = 0; k < nin; k++) b[k] += j * c->S[k * nd + d];
    }
    _Alignas(64) char m[TC_RED_TILE * 16], s[TC_RED_TILE * 16], buf[TC_RED_BUF];
    tc_intp ix[TC_RED_TILE];
    for (tc_intp j = 0; j < n; j++) memcpy(m + j * c->accsize, c->start, (size_t)c->accsize);
    memset(s, 0, (size_t)(n * c->accsize));
    memset(ix, 0, sizeof(tc_intp) * (size_t)n);
    for (tc_intp qb = q0; qb < q1; qb += TC_RED_CBLOCK) {  /* q0 is a whole block */
        const tc_intp qe = TC_MIN(qb + TC_RED_CBLOCK, q1);
        for (tc_intp q = qb; q < qe; q++) {
            if (c->nred == 1) {
                for (int k = 0; k < nin; k++) cc[k] = b[k] + q * rs[k];
            } else {  /* the reduced index q over every reduced dimension */
                tc_intp v = q;
                for (int k = 0; k < nin; k++) cc[k] = b[k];
                for (int i = c->nred - 1; i >= 0; i--) {
                    const tc_intp j = v % c->F[red[i]];
                    v /= c->F[red[i]];
                    for (int k = 0; k < nin; k++) cc[k] += j * c->S[k * nd + red[i]];
                }
            }
            if (pl->unit) {
                for (int k = 0; k < nin; k++) p[k] = cc[k] + off[k];
            } else {
                tc_red_ptrs(nin, cc, pl->cst, c->isz, pl->sc, j0, n, buf, pl->slot, p);
            }
            c->col(n, p, m, s, ix, q);
        }
        if (pair) tc_red_flush(m, s, n, c->accsize);
    }
    if (pl->nrp > 1) {  /* a part of the rows: its sums wait in rp */
        double *dst = pl->rp + rp * pl->nkeep + o * c->F[cd] + j0;
        for (tc_intp j = 0; j < n; j++)
            dst[j] = c->accsize == 4 ? (double)((const float *)(const void *)m)[j] : ((const double *)(const void *)m)[j];
        return;
    }
    const tc_arg *y = &c->args[nin];
    const tc_intp os = y->strides[c->flags & TC_RED_KEEPDIMS ? cd : c->nkept - 1];
    c->out(n, m, ix, tc_red_obase(c, o, c->nkept - 1) + j0 * os, os);
}

static void tc_red_chunk(void *ctx, tc_intp lo, tc_intp hi) {
    for (tc_intp t = lo; t < hi; t++) tc_red_tile((const tc_red_plan *)ctx, t);
}

/* The row parts' sums of every output added in order, then written. */
static void tc_red_join(const tc_red_plan *pl) {
    const tc_red_cols *c = pl->c;
    for (tc_intp o = 0; o < pl->nkeep; o++) {
        double a = pl->rp[o];
        for (tc_intp r = 1; r < pl->nrp; r++) a += pl->rp[r * pl->nkeep + o];
        const float af = (float)a;
        const tc_intp ix = 0;
        c->out(1, c->accsize == 4 ? (const void *)&af : (const void *)&a, &ix, tc_red_obase(c, o, c->nkept), 0);
    }
}

/* Run the column path of a reduction kernel: -1 when the strides say the kernel's
 * per-output path is the better order (it runs it), else 0 or a TC_ERROR.  The
 * kernel has checked the shapes; nkeep > 0.  Tiles of at most TC_RED_TILE outputs
 * (fewer when a row segment of every operand would not fit the copy buffer; at least
 * two from 16 outputs on, for the threads) run on the pool above the threshold;
 * float sums with fewer tiles than TC_RED_PARTS cut their rows into parts of whole
 * TC_RED_CBLOCK blocks (heap buffer), joined per output in order. */
static __attribute__((noinline)) int tc_red_cols_impl(const tc_red_cols *c) {
    tc_red_plan pl;
    const int nin = c->nin;
    if (nin < 1 || nin > TC_RED_MAXIN || c->nkept < 1 || c->nred < 1 || c->accsize > 16) return -1;
    pl.c = c;
    pl.cd = c->kept[c->nkept - 1];
    pl.inner = c->kept[c->nkept + c->nred - 1];
    if (!tc_red_take(c, pl.cd, pl.inner)) return -1;
    const tc_intp fc = c->F[pl.cd];
    pl.nkeep = 1;
    pl.nredn = 1;
    for (int i = 0; i < c->nkept; i++) pl.nkeep *= c->F[c->kept[i]];
    for (int i = 0; i < c->nred; i++) pl.nredn *= c->F[c->kept[c->nkept + i]];
    tc_intp wide = 0;
    pl.unit = 1;
    for (int k = 0; k < nin; k++) {
        pl.sc[k] = (int)((c->bcmask[k] >> pl.cd) & 1);
        pl.cst[k] = c->S[k * c->nd + pl.cd];
        if (!pl.sc[k] && pl.cst[k] != c->isz[k]) pl.unit = 0;
        wide = c->isz[k] > wide ? c->isz[k] : wide;
    }
    tc_intp tile = TC_RED_TILE;
    while (tile > 8 && tile * wide * nin > TC_RED_BUF) tile /= 2;
    if (tile * wide * nin > TC_RED_BUF) return -1;
    pl.slot = tile * wide;
    pl.tw = TC_MIN(tile, fc < 16 ? fc : ((fc + 1) / 2 + 7) / 8 * 8);
    pl.ntile = (fc + pl.tw - 1) / pl.tw;
    pl.nouter = pl.nkeep / fc;
    pl.nrp = 1;
    pl.rp = 0;
    const tc_intp work = pl.nkeep * pl.nredn * c->cost;
    if (c->flags & TC_RED_PAIRWISE && pl.nouter * pl.ntile < TC_RED_PARTS && pl.nredn >= 2 * TC_RED_CBLOCK
            && work >= c->threshold) {
        pl.nrp = TC_MIN(TC_RED_PARTS, pl.nredn / TC_RED_CBLOCK);
        pl.rp = (double *)malloc(sizeof(double) * (size_t)pl.nrp * (size_t)pl.nkeep);
        if (!pl.rp) return TC_ERROR(TC_ERR_ALLOC, 0);
        pl.tw = TC_MIN(tile, fc);  /* the row parts keep the threads busy: whole rows */
        pl.ntile = (fc + pl.tw - 1) / pl.tw;
    }
    const tc_intp total = pl.nrp * pl.nouter * pl.ntile;
    if (!(total > 1 && work >= c->threshold && c->par && c->par(tc_red_chunk, &pl, total, work) == 0))
        tc_red_chunk(&pl, 0, total);
    if (pl.nrp > 1) {
        tc_red_join(&pl);
        free(pl.rp);
    }
    return 0;
}
/* TC_RED_EXT_CODE: the extension only (tensorc_ext.c includes the whole file) */
#ifdef TC_RED_IN_EXT
/* The column driver's layout version (kernels are rendered for it only when equal). */
int tc_red_driver_abi(void) { return TC_RED_ABI; }

/* Point a freshly loaded kernel library's tc_red_cols_hook at this driver: 1 done,
 * 0 the library has no hook (it carries its own driver), -1 other layout. */
int tc_install_red(void *handle) {
    typedef int (*run_fn)(const tc_red_cols *);
    run_fn *hook = (run_fn *)dlsym(handle, "tc_red_cols_hook");
    const int *abi = (const int *)dlsym(handle, "tc_red_abi");
    if (!hook) return 0;
    if (!abi || *abi != TC_RED_ABI) return -1;
    *hook = tc_red_cols_impl;
    return 1;
}
#endif
