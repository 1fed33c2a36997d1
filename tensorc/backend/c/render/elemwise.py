"""C source of fused elementwise loops.

``render_loop(name, body, in_bcast)`` turns a scalar SSA ``Body`` (see
``tensorc.ops.fused``) and the static broadcast patterns of its inputs into one
kernel ``int name(const tc_arg *args)`` whose args are the inputs then the outputs.
The kernel

- checks every operand's ndim and shape against the static patterns (a
  non-broadcastable dimension must equal the output's, a broadcastable one must be 1);
- collapses dimensions that are contiguous for every operand (C-contiguous operands
  make one flat row) and runs rows cut into pieces, spread over the thread pool above
  ``threshold`` elements; inputs broadcast along the last dimension are read once per
  piece.

Only the loop body is specialised per kernel (``name_body``: one ``omp simd`` loop over
unit-stride operands); the checks, the collapsing, the pieces and the threads are the
shared driver ``tc_ew_run`` of ``LOOP_HELPERS``, compiled once per library. Operands with
another inner stride (transposed, sliced) go through a small buffer in chunks, so strided
calls run the same vectorised body. gcc's time per kernel is a fifth of a kernel carrying
its own strided loop and shape code.

``elemwise_body(node)`` makes the one-step body of a plain ``Elemwise`` node.

>>> import tensorc.tensor as T
>>> x = T.dvector('x')
>>> body, ins = elemwise_body((x * 2).owner)
>>> src = render_loop('k0', body, [v.broadcastable for v in ins])
>>> 'int k0(const tc_arg *args)' in src
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.c.render.common import (C_DTYPES, body_cost, convert, ctype, libm_suffix,
                                             literal)
from tensorc.graph.basic import Apply, Constant
from tensorc.ops.elemwise_table import BY_NAME
from tensorc.ops.fused import Body, Ref, Step


def inlinable_constant(v: Any) -> bool:
    """True for a constant that can be written into the C source as a literal."""
    return (isinstance(v, Constant) and v.type.dtype in C_DTYPES
            and all(v.type.broadcastable) and np.asarray(v.data).size == 1)


def elemwise_body(node: Apply) -> tuple[Body, list[Any]]:
    """The one-step ``Body`` of an ``Elemwise`` node, scalar constants inlined.

    Returns the body and the node inputs that remain kernel arguments.
    """
    op = node.op
    row = op.row
    compute = op.compute_dtype(node)
    kept: list[Any] = []
    consts: list[tuple[str, Any]] = []
    refs: list[Ref] = []
    for v in node.inputs:
        if inlinable_constant(v):
            refs.append(("const", len(consts)))
            consts.append((v.type.dtype, np.asarray(v.data).reshape(()).item()))
        else:
            refs.append(("in", len(kept)))
            kept.append(v)
    arg_dtypes = tuple(v.type.dtype if k < row.promote_from else compute
                       for k, v in enumerate(node.inputs))
    step = Step(row.name, tuple(refs), arg_dtypes, node.outputs[0].type.dtype, compute)
    body = Body(len(kept), tuple(v.type.dtype for v in kept), tuple(consts), (step,), (("step", 0),))
    return body, kept


def body_supported(body: Body) -> bool:
    """True when every dtype has a C type and every step's row has a C template."""
    dtypes = set(body.in_dtypes) | {d for d, _ in body.constants}
    for s in body.steps:
        dtypes |= set(s.arg_dtypes) | {s.out_dtype, s.compute}
        if BY_NAME[s.row].c_template(np.dtype(s.compute).kind) is None:
            return False
    return dtypes <= C_DTYPES


def body_statements(body: Body, load: Sequence[str], indent: str) -> list[str]:
    """C statements computing every step of ``body``; input k is the C expression ``load[k]``."""
    def ref(r: Ref) -> str:
        kind, k = r
        if kind == "in":
            return load[k]
        if kind == "const":
            return literal(*body.constants[k])
        return f"s{k}"

    lines = []
    for k, s in enumerate(body.steps):
        args = [convert(ref(r), body.out_dtype(r), dt) for r, dt in zip(s.args, s.arg_dtypes)]
        template = BY_NAME[s.row].c_template(np.dtype(s.compute).kind)
        assert template is not None
        expr = template.format(*args, t=s.compute, f=libm_suffix(s.compute))
        lines.append(f"{indent}const {ctype(s.out_dtype)} s{k} = {convert(expr, s.compute, s.out_dtype)};")
    return lines


def output_exprs(body: Body, load: Sequence[str]) -> list[str]:
    """The C expression of each body output (after ``body_statements``)."""
    out = []
    for kind, k in body.outputs:
        out.append(load[k] if kind == "in" else literal(*body.constants[k]) if kind == "const" else f"s{k}")
    return out


def _validate(nin: int, nout: int, in_bcast: Sequence[Sequence[bool]], nd: int) -> list[str]:
    lines = [f"    for (int k = 0; k < {nin + nout}; k++)",
             f"        if (args[k].ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, k);"]
    if nd == 0:
        return lines
    lines.append(f"    const tc_intp *shp = args[{nin}].shape;")
    out_b = [all(b[d] for b in in_bcast) if in_bcast else False for d in range(nd)]
    for d in range(nd):
        if out_b[d]:
            lines.append(f"    if (shp[{d}] != 1) return TC_ERROR(TC_ERR_SHAPE, {nin});")
    for k in range(nin + 1, nin + nout):
        lines.append(f"    for (int d = 0; d < {nd}; d++) if (args[{k}].shape[d] != shp[d]) "
                     f"return TC_ERROR(TC_ERR_SHAPE, {k});")
    for k, b in enumerate(in_bcast):
        for d in range(nd):
            want = "1" if b[d] else f"shp[{d}]"
            lines.append(f"    if (args[{k}].shape[{d}] != {want}) return TC_ERROR(TC_ERR_SHAPE, {k});")
    return lines


def render_loop(name: str, body: Body, in_bcast: Sequence[Sequence[bool]], *,
                threshold: int = 32768, out_types: Sequence[str] | None = None) -> str:
    """C source of the elementwise kernel ``name`` (see the module docstring)."""
    nin, nout = body.n_in, len(body.outputs)
    nd = len(in_bcast[0]) if in_bcast else 0
    in_t = [ctype(d) for d in body.in_dtypes]
    out_d = list(out_types) if out_types is not None else [body.out_dtype(r) for r in body.outputs]
    out_t = [ctype(d) for d in out_d]

    def store(load: list[str], dest: list[str], indent: str) -> list[str]:
        st = body_statements(body, load, indent)
        vals = output_exprs(body, load)
        srcd = [body.out_dtype(r) for r in body.outputs]
        return st + [f"{indent}{dest[j]} = {convert(vals[j], srcd[j], out_d[j])};" for j in range(nout)]

    if nd == 0:
        lines = [f"int {name}(const tc_arg *args) {{"] + _validate(nin, nout, in_bcast, nd)
        lines += [f"    const {in_t[k]} c{k} = *(const {in_t[k]} *)args[{k}].data;" for k in range(nin)]
        dest = [f"*({out_t[j]} *)args[{nin + j}].data" for j in range(nout)]
        lines += ["    {"] + store([f"c{k}" for k in range(nin)], dest, "        ")
        return "\n".join(lines + ["    }", "    return 0;", "}"]) + "\n"
    hoist = [b[nd - 1] for b in in_bcast]
    types = in_t + out_t
    lines = [f"static void {name}_body(tc_intp n, char *const *b) {{"]
    for k in range(nin + nout):
        if k < nin and hoist[k]:
            lines.append(f"    const {types[k]} h{k} = *(const {types[k]} *)b[{k}];")
        else:
            const = "const " if k < nin else ""
            lines.append(f"    {const}{types[k]} *restrict p{k} = ({const}{types[k]} *)b[{k}];")
    lines += ["    _Pragma(\"omp simd\")", "    for (tc_intp i = 0; i < n; i++) {"]
    lines += store([f"h{k}" if hoist[k] else f"p{k}[i]" for k in range(nin)],
                   [f"p{nin + j}[i]" for j in range(nout)], "        ")
    masks = [sum(1 << d for d in range(nd) if in_bcast[k][d]) for k in range(nin)] + [0] * nout
    cost = body_cost([s.row for s in body.steps])
    lines += ["    }", "}",
              f"int {name}(const tc_arg *args) {{",
              f"    static const uint64_t bcmask[{nin + nout}] = {{{', '.join(map(str, masks))}}};",
              f"    static const tc_intp isz[{nin + nout}] = "
              f"{{{', '.join(f'sizeof({t})' for t in types)}}};",
              f"    tc_intp dims[{nd}], st[{(nin + nout) * nd}];",
              f"    tc_ew_call c = {{args, bcmask, isz, {name}_body, {nin}, {nout}, {nd}, 0, dims, st, 0, 0}};",
              f"    return tc_ew_run(&c, {cost}, {threshold});", "}"]
    return "\n".join(lines) + "\n"


#: Helpers every elementwise kernel uses (emitted once per library, after PREAMBLE).
LOOP_HELPERS = r"""
/* 1 when a is C-contiguous (size-1 dimensions may have any stride) */
static inline int tc_contig(const tc_arg *a, tc_intp itemsize) {
    tc_intp want = itemsize;
    for (int d = a->ndim - 1; d >= 0; d--) {
        if (a->shape[d] != 1 && a->strides[d] != want) return 0;
        want *= a->shape[d];
    }
    return 1;
}
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
/* ---- the shared driver of elementwise kernels (one copy per library) ----
 * A kernel gives its static facts and its loop body: body(n, p) computes n elements
 * where each operand p[k] is unit-stride, except inputs broadcast along the last
 * dimension, which the body reads once.  The driver checks the shapes, collapses
 * dimensions, cuts rows into pieces of at most TC_EW_PIECE elements, spreads them over
 * the thread pool, and copies operands with any other inner stride through a small
 * buffer (so only the body is specialised per kernel: compile time). */
typedef void (*tc_ew_body)(tc_intp n, char *const *p);
typedef struct tc_ew_call {
    const tc_arg *args;
    const uint64_t *bcmask;  /* per operand: bit d set = dimension d broadcast */
    const tc_intp *isz;      /* per operand: item size in bytes */
    tc_ew_body body;
    int nin, nout, nd, nc;
    tc_intp *dims, *st;      /* the kernel's arrays: nd collapsed dims, (nin+nout) x nd strides */
    tc_intp inner, npc;      /* collapsed inner length, pieces per row */
} tc_ew_call;
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
static void tc_ew_piece(const tc_ew_call *c, char **b, tc_intp len) {
    const int nin = c->nin, na = nin + c->nout, nd = c->nd;
    tc_intp per = 0, ncopy = 0;  /* bytes per element of the operands copied, how many */
    for (int k = 0; k < na; k++) {
        const tc_intp s = c->st[k * nd];
        if (s != c->isz[k] && !(k < nin && (c->bcmask[k] >> (nd - 1)) & 1)) {
            per += c->isz[k];
            ncopy++;
        }
    }
    if (per == 0 || len == 1) {
        c->body(len, b);
        return;
    }
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
        c->body(m, q);
        for (int k = nin; k < na; k++) {
            const tc_intp s = c->st[k * nd];
            if (s != c->isz[k]) tc_ew_copy(b[k] + i * s, s, q[k], c->isz[k], m, c->isz[k]);
        }
    }
}
static void tc_ew_pieces(const tc_ew_call *c, tc_intp lo, tc_intp hi) {
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
        tc_ew_piece(c, b, i1 - i0);
    }
}
static void tc_ew_chunk(void *ctx, tc_intp lo, tc_intp hi) {
    tc_ew_pieces((const tc_ew_call *)ctx, lo, hi);
}
/* Check ndims and shapes against the static broadcast masks (the first output's
 * shape is the loop's), then run the pieces; spread over the pool above threshold
 * units of work (elements x cost). */
static __attribute__((noinline)) int tc_ew_run(tc_ew_call *c, tc_intp cost, tc_intp threshold) {
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
    if (total > 1 && n * cost >= threshold && tc_parallel_hook
            && tc_parallel_hook(tc_ew_chunk, c, total, n * cost) == 0)
        return 0;
    tc_ew_pieces(c, 0, total);
    return 0;
}
"""
