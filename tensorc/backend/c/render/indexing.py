"""C source of indexing kernels: gathers (``AdvancedSubtensor``), scatters
(``AdvancedIncSubtensor``, set and accumulate) and basic-slice updates (``IncSubtensor``).

Advanced forms with a kernel: ``x[i0, ..., ik-1]`` (optionally followed by full slices)
where the ``i`` are integer arrays indexing the *leading* ``k`` dimensions of ``x``
and broadcasting together as in numpy: ``x[ivec]``, ``x[iarray]``, ``p[arange(n), y]``.
Other patterns (masks, slices before an index array, integer constants) return None
and run as numpy steps.  Kernels are specialised on dtypes, ranks and the
inplace/set flags, never on sizes:

- a gather distributes index positions over the thread pool; each copies one row
  ``x[i, ...]`` (a flat copy when rows are contiguous, nested strided loops otherwise);
- a scatter validates every index first (so nothing is written on an error), copies
  ``x`` into the output unless inplace, then walks the index positions *in order* so
  repeated indices accumulate (``np.add.at``) or the last write wins (``x[i] = y``).
  Threads never split the positions: each owns either a block of columns of
  contiguous rows, or a range of destination rows (it scans every position and keeps
  those landing in its range), so each element sees its updates in numpy's order;
- an ``IncSubtensor`` computes each slice with CPython's rules, copies ``x`` and updates
  the region (distinct elements, so its outer dimension may run in parallel).

Negative indices wrap; an out-of-range index makes the kernel return an error, and
the driver then re-runs the op's numpy ``perform`` so the user sees numpy's IndexError.

>>> import tensorc.tensor as T
>>> x, iv = T.dmatrix('x'), T.lvector('iv')
>>> src, ins, shape_fn, inplace = render_indexing_node(x[iv].owner, 'k0', 32768)
>>> shape_fn([(5, 3), (7,)]), inplace
([(7, 3)], {})
>>> render_indexing_node(x[:, iv].owner, 'k0', 32768) is None
True
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from tensorc.backend.c.render.common import C_DTYPES, ctype, par_for, parallel_kernel
from tensorc.graph.basic import Apply

ShapeFn = Callable[[Sequence[tuple]], list[tuple]]
_FULL = ("slice", None, None, None)

HELPERS = r"""
#ifndef TC_INDEXING_HELPERS
#define TC_INDEXING_HELPERS
#include <string.h>
/* 1 when dims d0.. of a are C-contiguous for elements of sz bytes */
static inline int tc_ix_contig(const tc_arg *a, int d0, tc_intp sz) {
    tc_intp want = sz;
    for (int d = a->ndim - 1; d >= d0; d--) {
        if (a->shape[d] != 1 && a->strides[d] != want) return 0;
        want *= a->shape[d];
    }
    return 1;
}
/* dst = src, both of shape `shape` (nd dims), any strides */
static void tc_ix_copy_nd(char *dst, const tc_intp *ds, const char *src, const tc_intp *ss,
                          const tc_intp *shape, int nd, tc_intp sz) {
    if (nd == 0) { memcpy(dst, src, (size_t)sz); return; }
    if (nd > 1) {
        for (tc_intp i = 0; i < shape[0]; i++)
            tc_ix_copy_nd(dst + i * ds[0], ds + 1, src + i * ss[0], ss + 1, shape + 1, nd - 1, sz);
        return;
    }
    const tc_intp n = shape[0], a = ds[0], b = ss[0];
    if (sz == 8) for (tc_intp i = 0; i < n; i++) *(uint64_t *)(dst + i * a) = *(const uint64_t *)(src + i * b);
    else if (sz == 4) for (tc_intp i = 0; i < n; i++) *(uint32_t *)(dst + i * a) = *(const uint32_t *)(src + i * b);
    else if (sz == 1) for (tc_intp i = 0; i < n; i++) dst[i * a] = src[i * b];
    else for (tc_intp i = 0; i < n; i++) memcpy(dst + i * a, src + i * b, (size_t)sz);
}
/* the whole of src (same shape as dst) copied into dst */
static void tc_ix_copy_all(const tc_arg *dst, const tc_arg *src, tc_intp sz) {
    if (dst->data == src->data) return;
    if (tc_ix_contig(dst, 0, sz) && tc_ix_contig(src, 0, sz)) {
        tc_intp n = 1;
        for (int d = 0; d < dst->ndim; d++) n *= dst->shape[d];
        if (n) memcpy(dst->data, src->data, (size_t)(n * sz));
        return;
    }
    tc_ix_copy_nd(dst->data, dst->strides, src->data, src->strides, dst->shape, dst->ndim, sz);
}
/* rows [lo, hi) of src (dim 0) copied into dst */
static void tc_ix_copy_rows(const tc_arg *dst, const tc_arg *src, tc_intp lo, tc_intp hi, tc_intp sz) {
    if (dst->data == src->data || hi <= lo) return;
    tc_intp shape[64], row = sz;
    for (int d = 0; d < dst->ndim && d < 64; d++) { shape[d] = dst->shape[d]; if (d) row *= shape[d]; }
    shape[0] = hi - lo;
    char *d0 = dst->data + lo * dst->strides[0];
    const char *s0 = src->data + lo * src->strides[0];
    if (tc_ix_contig(dst, 0, sz) && tc_ix_contig(src, 0, sz)) { if (row) memcpy(d0, s0, (size_t)(row * (hi - lo))); }
    else tc_ix_copy_nd(d0, dst->strides, s0, src->strides, shape, dst->ndim, sz);
}
/* CPython's slice adjustment (PySlice_AdjustIndices): the length, *first = start */
static inline tc_intp tc_ix_slice(tc_intp n, int has_start, tc_intp start, int has_stop,
                                  tc_intp stop, tc_intp step, tc_intp *first) {
    if (!has_start) start = step < 0 ? n - 1 : 0;
    else if (start < 0) { start += n; if (start < 0) start = step < 0 ? -1 : 0; }
    else if (start >= n) start = step < 0 ? n - 1 : n;
    if (!has_stop) stop = step < 0 ? -1 : n;
    else if (stop < 0) { stop += n; if (stop < 0) stop = step < 0 ? -1 : 0; }
    else if (stop >= n) stop = step < 0 ? n - 1 : n;
    *first = start;
    if (step < 0) return stop < start ? (start - stop - 1) / (-step) + 1 : 0;
    return start < stop ? (stop - start - 1) / step + 1 : 0;
}
#endif
"""


def render_indexing_node(node: Apply, name: str, threshold: int) -> Any:
    """(source, kernel inputs, shape function, inplace map) of an indexing node, or None."""
    from tensorc.ops.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
    from tensorc.ops.subtensor import IncSubtensor
    op = node.op
    if type(op) is AdvancedSubtensor:
        return _gather_node(node, name, threshold)
    if type(op) is AdvancedIncSubtensor:
        return _scatter_node(node, name, threshold)
    if type(op) is IncSubtensor:
        return _inc_basic_node(node, name, threshold)
    return None


def leading_index_count(idx_list: Sequence[Any], index: Sequence[Any]) -> int | None:
    """k when ``idx_list`` is k index arrays then only full slices, all integer-typed."""
    k = 0
    while k < len(idx_list) and idx_list[k] == "t":
        k += 1
    if k == 0 or any(e != _FULL for e in idx_list[k:]) or len(index) != k:
        return None
    if any(v.type.numpy_dtype.kind not in "iu" or v.type.dtype not in C_DTYPES for v in index):
        return None
    return k


def index_shape(shapes: Sequence[tuple]) -> tuple:
    """The broadcast shape of index arrays (lenient: the kernel reports a mismatch).

    >>> index_shape([(3, 1), (4,)])
    (3, 4)
    """
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for d in range(nd):
        sizes = [s[d - nd + len(s)] for s in shapes if d - nd + len(s) >= 0]
        out.append(next((n for n in sizes if n != 1), 1))
    return tuple(out)


def _gather_node(node: Apply, name: str, threshold: int) -> Any:
    x, index = node.inputs[0], node.inputs[1:]
    k = leading_index_count(node.op.idx_list, index)
    if k is None or x.type.dtype not in C_DTYPES or node.outputs[0].type.dtype != x.type.dtype:
        return None
    spec = [(v.type.dtype, v.ndim) for v in index]
    src = render_gather(name, x.type.dtype, x.ndim, spec, threshold)

    def shape_fn(shapes: Sequence[tuple]) -> list[tuple]:
        return [index_shape(shapes[1:]) + tuple(shapes[0][k:])]
    return src, list(node.inputs), shape_fn, {}


def _scatter_node(node: Apply, name: str, threshold: int) -> Any:
    op = node.op
    x, y, index = node.inputs[0], node.inputs[1], node.inputs[2:]
    k = leading_index_count(op.idx_list, index)
    if k is None or x.type.dtype not in C_DTYPES or y.type.dtype != x.type.dtype:
        return None
    spec = [(v.type.dtype, v.ndim) for v in index]
    src = render_scatter(name, x.type.dtype, x.ndim, spec, y.ndim, op.set_instead_of_inc,
                         op.inplace, threshold)
    return src, list(node.inputs), lambda shapes: [tuple(shapes[0])], ({0: 0} if op.inplace else {})


def update_stmt(dtype: str, set_instead_of_inc: bool, dst: str, val: str) -> str:
    """``dst = val`` or ``dst += val`` with numpy's ``add`` (logical or for bool).

    >>> update_stmt('bool', False, 'a', 'b')
    'a = (tc_bool)(a | b);'
    """
    if set_instead_of_inc:
        return f"{dst} = {val};"
    if dtype == "bool":
        return f"{dst} = (tc_bool)({dst} | {val});"
    return f"{dst} = ({ctype(dtype)})({dst} + {val});"


def broadcast_index_lines(first: int, spec: Sequence[tuple[str, int]], err_op: int) -> list[str]:
    """C lines: ``S[d]`` (the broadcast index shape) and ``IS[t][d]`` (index strides, 0
    on broadcast dims) for the index operands ``args[first + t]``."""
    p = max(nd for _, nd in spec)
    lines = [f"tc_intp S[{max(p, 1)}], IS[{len(spec)}][{max(p, 1)}];",
             f"for (int d = 0; d < {p}; d++) S[d] = 1;"]
    for t, (_, nd) in enumerate(spec):
        a = f"args[{first + t}]"
        lines.append(f"if ({a}.ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, {first + t});")
        for d in range(p):
            e = d - (p - nd)
            if e < 0:
                lines.append(f"IS[{t}][{d}] = 0;")
                continue
            lines += [f"{{ const tc_intp sh = {a}.shape[{e}];",
                      f"  if (sh != 1) {{ if (S[{d}] == 1) S[{d}] = sh; "
                      f"else if (S[{d}] != sh) return TC_ERROR(TC_ERR_SHAPE, {err_op}); }}",
                      f"  IS[{t}][{d}] = sh == 1 ? 0 : {a}.strides[{e}]; }}"]
    lines.append("tc_intp n = 1;")
    lines.append(f"for (int d = 0; d < {p}; d++) n *= S[d];")
    return lines


def position_lines(p: int, ntab: int, extra: Sequence[tuple[str, str]] = ()) -> list[str]:
    """C lines turning the flat position ``j`` into index offsets ``io0..`` (and each
    ``(var, stride array)`` of ``extra``) over the broadcast index shape ``S``."""
    names = [(f"io{t}", f"IS[{t}]") for t in range(ntab)] + list(extra)
    lines = [f"tc_intp {v} = 0;" for v, _ in names]
    if p == 1:
        lines += [f"{v} = j * {s}[0];" for v, s in names]
    elif p > 1:
        lines += ["tc_intp r_ = j;", f"for (int d = {p - 1}; d >= 0; d--) {{",
                  "    const tc_intp c_ = r_ % S[d]; r_ /= S[d];"]
        lines += [f"    {v} += c_ * {s}[d];" for v, s in names]
        lines.append("}")
    return lines


def read_index_lines(spec: Sequence[tuple[str, int]], first: int, arr: str, ptr: str,
                     on_bad: str, row_range: tuple[str, str] | None = None) -> list[str]:
    """C lines reading index t of position j (offsets ``io<t>``), wrapping negatives and
    checking the range against ``X``'s dim t; ``ptr`` advances by ``arr``'s strides.
    ``row_range`` (lo, hi): skip positions whose first index is outside [lo, hi).
    Uses the loop-invariant locals of ``index_locals``."""
    lines: list[str] = []
    for t, (dt, _) in enumerate(spec):
        lines.append(f"{{ tc_int64 i_ = (tc_int64)*(const {ctype(dt)} *)(ib{t} + io{t});")
        if np.dtype(dt).kind == "i":
            lines.append(f"  if (i_ < 0) i_ += xn{t};")
        if t == 0 and row_range is not None:
            lines.append(f"  if (i_ < {row_range[0]} || i_ >= {row_range[1]}) continue;")
        lines += [f"  if ((uint64_t)i_ >= (uint64_t)xn{t}) {{ {on_bad} }}",
                  f"  {ptr} += i_ * xs{t}; }}"]
    return lines


def index_locals(spec: Sequence[tuple[str, int]], first: int, arr: str) -> list[str]:
    """Loop invariants of ``read_index_lines`` in locals (stores through the output
    pointer could otherwise alias the operand table and force reloads)."""
    return [f"const char *const ib{t} = args[{first + t}].data; "
            f"const tc_intp xn{t} = X->shape[{t}], xs{t} = {arr}->strides[{t}];"
            for t in range(len(spec))]


def nested(dims: Sequence[tuple[str, str]], ptrs: Sequence[tuple[str, str, Sequence[str]]],
           stmt: str) -> list[str]:
    """Nested loops over ``dims`` ((counter, bound) pairs); each ``ptrs`` entry
    (new pointer, base pointer, strides per dim) is advanced; ``stmt`` is the body."""
    lines: list[str] = []
    for level, (var, bound) in enumerate(dims):
        lines.append("    " * level + f"for (tc_intp {var} = 0; {var} < {bound}; {var}++) {{")
    pad = "    " * len(dims)
    for new, base, strides in ptrs:
        off = " + ".join(f"{var} * {s}" for (var, _), s in zip(dims, strides)) or "0"
        lines.append(pad + f"char *{new} = (char *){base} + {off};")
    lines.append(pad + stmt)
    lines += ["    " * level + "}" for level in range(len(dims) - 1, -1, -1)]
    return lines


def _header(name: str) -> list[str]:
    return [f"int {name}(const tc_arg *args) {{",
            "    double tc_err0_ = 0.0;",
            "    double *tc_err_ = tc_lo_ >= 0 ? tc_scratch_ : &tc_err0_;"]


def render_gather(name: str, dtype: str, nd: int, spec: Sequence[tuple[str, int]],
                  threshold: int) -> str:
    """C source of ``out = x[i0, ..., ik-1]`` (args: x, the index arrays, out)."""
    t, k = ctype(dtype), len(spec)
    p, q = max(n for _, n in spec), nd - len(spec)
    out = k + 1
    body = [f"const tc_arg *X = &args[0], *O = &args[{out}];",
            f"if (X->ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, 0);",
            f"if (O->ndim != {p + q}) return TC_ERROR(TC_ERR_NDIM, {out});"]
    body += broadcast_index_lines(1, spec, 1)
    body += [f"for (int d = 0; d < {p}; d++) if (O->shape[d] != S[d]) return TC_ERROR(TC_ERR_SHAPE, 1);",
             f"tc_intp M = 1;",
             f"for (int d = 0; d < {q}; d++) {{",
             f"    if (O->shape[{p} + d] != X->shape[{k} + d]) return TC_ERROR(TC_ERR_SHAPE, {out});",
             f"    M *= X->shape[{k} + d]; }}",
             "if (n == 0) return 0;",
             f"const int unit = tc_ix_contig(X, {k}, sizeof({t})) && tc_ix_contig(O, {p}, sizeof({t}));",
             "(void)unit;"]
    body += index_locals(spec, 1, "X")
    body += [f"tc_intp OS[{max(p, 1)}];", f"for (int d = 0; d < {p}; d++) OS[d] = O->strides[d];",
             "const char *const xd = X->data; char *const od = O->data;", "int bad_ = 0;"]
    head, tail = par_for(name, "j", "n", "n * (M > 0 ? M : 1)", threshold, scratch="tc_err_")
    # an out-of-range position is skipped and flagged; the flag is published after the loop
    tail = tail[:1] + ["    if (bad_) { const double one_ = 1.0; "
                       "__atomic_store(tc_err_, &one_, __ATOMIC_RELAXED); }"] + tail[1:]
    loop = ["const char *src = xd;"]
    loop += position_lines(p, k, [("oo", "OS")])
    loop += read_index_lines(spec, 1, "X", "src", "bad_ = 1; continue;")
    loop.append("char *dst = od + oo;")
    if q == 0:
        loop.append(f"*({t} *)dst = *(const {t} *)src;")
    else:
        loop += [f"if (unit) {{ {t} *d_ = ({t} *)dst; const {t} *s_ = (const {t} *)src;",
                 "    for (tc_intp r = 0; r < M; r++) d_[r] = s_[r]; }",
                 "else {"]
        dims = [(f"r{e}", f"X->shape[{k + e}]") for e in range(q)]
        loop += ["    " + s for s in nested(
            dims, [("d_", "dst", [f"O->strides[{p + e}]" for e in range(q)]),
                   ("s_", "src", [f"X->strides[{k + e}]" for e in range(q)])],
            f"*({t} *)d_ = *(const {t} *)s_;")]
        loop.append("}")
    lines = _header(name) + ["    " + s for s in body]
    lines += ["    " + s for s in head] + ["        " + s for s in loop] + ["    " + s for s in tail]
    lines += ["    if (*tc_err_ != 0.0) return TC_ERROR(TC_ERR_SHAPE, 1);", "    return 0;", "}"]
    return HELPERS + parallel_kernel(name, "\n".join(lines) + "\n")


def render_scatter(name: str, dtype: str, nd: int, spec: Sequence[tuple[str, int]], y_nd: int,
                   set_instead_of_inc: bool, inplace: bool, threshold: int) -> str:
    """C source of ``out = x; out[i0, ..., ik-1] (+)= y`` (args: x, y, the index arrays, out)."""
    t, k = ctype(dtype), len(spec)
    p, q = max(n for _, n in spec), nd - len(spec)
    out, sub = k + 2, max(n for _, n in spec) + nd - len(spec)
    if y_nd > sub:
        raise ValueError(f"y has {y_nd} dimensions, more than the {sub} of the indexed region")
    body = [f"const tc_arg *X = &args[0], *Y = &args[1], *O = &args[{out}];",
            f"if (X->ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, 0);",
            f"if (Y->ndim != {y_nd}) return TC_ERROR(TC_ERR_NDIM, 1);",
            f"if (O->ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, {out});",
            f"for (int d = 0; d < {nd}; d++) if (O->shape[d] != X->shape[d]) return TC_ERROR(TC_ERR_SHAPE, {out});"]
    body += broadcast_index_lines(2, spec, 2)
    body += [f"tc_intp SUB[{max(sub, 1)}], YS[{max(sub, 1)}];",
             f"for (int d = 0; d < {p}; d++) SUB[d] = S[d];",
             f"for (int d = 0; d < {q}; d++) SUB[{p} + d] = X->shape[{k} + d];",
             f"for (int d = 0; d < {sub}; d++) {{",
             f"    const int e = d - {sub - y_nd};",
             "    if (e < 0 || Y->shape[e] == 1) { YS[d] = 0; continue; }",
             "    if (Y->shape[e] != SUB[d]) return TC_ERROR(TC_ERR_SHAPE, 1);",
             "    YS[d] = Y->strides[e]; }",
             "tc_intp M = 1, R = 1;",
             f"for (int d = 0; d < {q}; d++) M *= X->shape[{k} + d];",
             f"for (int d = 0; d < {k}; d++) R *= X->shape[d];",
             "if (tc_mode_ == 0) for (tc_intp j = 0; j < n; j++) {  /* validate before writing */"]
    body[-1:-1] = index_locals(spec, 2, "X")
    body += ["    " + s for s in position_lines(p, k)]
    body += ["    tc_intp chk_ = 0; (void)chk_;"]
    body += ["    " + s for s in read_index_lines(spec, 2, "X", "chk_", "return TC_ERROR(TC_ERR_SHAPE, 2);")]
    body += ["}"]
    # y's row: 0 = broadcast scalar, 1 = contiguous, -1 = strided
    body += ["int yrow = 1; tc_intp want = sizeof(" + t + ");",
             f"for (int d = {sub - 1}; d >= {p}; d--) {{",
             "    if (SUB[d] != 1 && YS[d] != want) yrow = -1;",
             "    want *= SUB[d]; }",
             "{ int zero = 1;",
             f"  for (int d = {p}; d < {sub}; d++) if (SUB[d] != 1 && YS[d] != 0) zero = 0;",
             "  if (zero) yrow = 0; }",
             f"const int unit = {int(q > 0)} && yrow >= 0 && tc_ix_contig(X, {k}, sizeof({t})) "
             f"&& tc_ix_contig(O, {k}, sizeof({t}));",
             "tc_intp nb = unit ? M / 512 : 1;",
             "if (nb > 256) nb = 256;",
             "if (nb < 1) nb = 1;",
             "const tc_intp B = (M + nb - 1) / nb;",
             "(void)B; (void)R;"]
    # threads: disjoint column blocks of contiguous rows (nb > 1), else one range of
    # destination rows per thread (each scans all positions, keeps those in its range)
    body += ["const tc_intp N0 = X->shape[0], work = (n + R) * M;",
             "const int cols = nb > 1;",
             f"if (tc_mode_ == 0 && work >= {threshold} && tc_parallel_hook) {{",
             "    tc_chunk_ctx ctx_ = {args, 0};",
             f"    if (cols && !tc_parallel_hook({name}_cols, &ctx_, nb, work)) return 0;",
             f"    if (!cols && N0 > 1 && !tc_parallel_hook({name}_rows, &ctx_, N0, 1)) return 0;",
             "}",
             "tc_intp blo = 0, bhi = cols ? nb : 1, rlo = 0, rhi = N0;",
             "if (tc_mode_ == 1) { blo = tc_lo_; bhi = tc_hi_; }",
             "if (tc_mode_ == 2) { rlo = tc_lo_; rhi = tc_hi_; }"]
    loop = ["const tc_intp lo = cols ? b * B : 0, hi = cols ? TC_MIN(M, lo + B) : M; (void)lo; (void)hi;"]
    if not inplace:
        loop += [f"if (!cols) tc_ix_copy_rows(O, X, rlo, rhi, sizeof({t}));",
                 "else for (tc_intp rr = 0; rr < R; rr++) {",
                 "    tc_intp xo = 0, oo = 0, r_ = rr;",
                 f"    for (int d = {k - 1}; d >= 0; d--) {{",
                 "        const tc_intp c_ = r_ % X->shape[d]; r_ /= X->shape[d];",
                 "        xo += c_ * X->strides[d]; oo += c_ * O->strides[d]; }",
                 f"    memcpy(O->data + oo + lo * sizeof({t}), X->data + xo + lo * sizeof({t}), "
                 f"(size_t)(hi - lo) * sizeof({t}));",
                 "}"]
    upd = lambda d, v: update_stmt(dtype, set_instead_of_inc, d, v)  # noqa: E731
    loop += index_locals(spec, 2, "O")
    loop += ["char *const od = O->data; const char *const yd = Y->data;",
             "for (tc_intp j = 0; j < n; j++) {"]
    inner = position_lines(p, k, [("yo", "YS")])
    inner += ["char *dst = od;"]
    inner += read_index_lines(spec, 2, "O", "dst", "continue;", row_range=("rlo", "rhi"))
    inner += ["const char *ys = yd + yo;"]
    if q == 0:
        inner.append(upd(f"*({t} *)dst", f"*(const {t} *)ys"))
    else:
        inner += [f"if (unit) {{ {t} *d_ = ({t} *)dst; const {t} *s_ = (const {t} *)ys;",
                  f"    if (yrow == 0) {{ const {t} v_ = *s_;",
                  "        for (tc_intp r = lo; r < hi; r++) " + upd("d_[r]", "v_") + " }",
                  "    else for (tc_intp r = lo; r < hi; r++) " + upd("d_[r]", "s_[r]"),
                  "} else {"]
        dims = [(f"r{e}", f"X->shape[{k + e}]") for e in range(q)]
        inner += ["    " + s for s in nested(
            dims, [("d_", "dst", [f"O->strides[{k + e}]" for e in range(q)]),
                   ("s_", "ys", [f"YS[{p + e}]" for e in range(q)])],
            upd(f"*({t} *)d_", f"*(const {t} *)s_"))]
        inner.append("}")
    loop += ["    " + s for s in inner] + ["}"]
    lines = [f"static int {name}_impl(const tc_arg *args, tc_intp tc_lo_, tc_intp tc_hi_, int tc_mode_);"]
    lines += [f"static void {name}_{kind}(void *c, tc_intp lo, tc_intp hi) {{ "
              f"{name}_impl(((const tc_chunk_ctx *)c)->args, lo, hi, {mode}); }}"
              for kind, mode in (("cols", 1), ("rows", 2))]
    lines += [f"static int {name}_impl(const tc_arg *args, tc_intp tc_lo_, tc_intp tc_hi_, int tc_mode_) {{"]
    lines += ["    " + s for s in body] + ["    for (tc_intp b = blo; b < bhi; b++) {"]
    lines += ["        " + s for s in loop] + ["    }", "    return 0;", "}",
                                               f"int {name}(const tc_arg *args) {{ return {name}_impl(args, 0, 0, 0); }}"]
    return HELPERS + "\n".join(lines) + "\n"


def _inc_basic_node(node: Apply, name: str, threshold: int) -> Any:
    op = node.op
    x, y, syms = node.inputs[0], node.inputs[1], node.inputs[2:]
    if x.type.dtype not in C_DTYPES or y.type.dtype != x.type.dtype:
        return None
    if any(v.type.dtype not in C_DTYPES for v in syms):
        return None
    consts = [p for e in op.idx_list for p in (e[1:] if isinstance(e, tuple) else (e,))
              if isinstance(p, int)]
    if any(not -2 ** 63 <= c < 2 ** 63 for c in consts):
        return None
    src = render_inc_subtensor(name, x.type.dtype, x.ndim, op.idx_list,
                               [v.type.dtype for v in syms], y.ndim, op.set_instead_of_inc,
                               op.inplace, threshold)
    return src, list(node.inputs), lambda shapes: [tuple(shapes[0])], ({0: 0} if op.inplace else {})


def render_inc_subtensor(name: str, dtype: str, nd: int, idx_list: Sequence[Any],
                         sym_dtypes: Sequence[str], y_nd: int, set_instead_of_inc: bool,
                         inplace: bool, threshold: int) -> str:
    """C source of ``out = x; out[idx] (+)= y`` for a basic index (args: x, y, the
    symbolic index scalars, out); slices follow CPython's rules."""
    t, ns = ctype(dtype), len(sym_dtypes)
    out = 2 + ns
    body = [f"const tc_arg *X = &args[0], *Y = &args[1], *O = &args[{out}];",
            f"if (X->ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, 0);",
            f"if (Y->ndim != {y_nd}) return TC_ERROR(TC_ERR_NDIM, 1);",
            f"if (O->ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, {out});",
            f"for (int d = 0; d < {nd}; d++) if (O->shape[d] != X->shape[d]) return TC_ERROR(TC_ERR_SHAPE, {out});"]
    body += [f"if (args[{2 + a}].ndim != 0) return TC_ERROR(TC_ERR_NDIM, {2 + a});" for a in range(ns)]
    sym = iter(range(ns))

    def val(part: Any) -> tuple[str, str]:
        if part is None:
            return "0", "0"
        if isinstance(part, str):
            a = next(sym)
            return "1", f"(tc_int64)*(const {ctype(sym_dtypes[a])} *)args[{2 + a}].data"
        return "1", f"((tc_int64){int(part)}LL)"
    base, region = [], []
    for d, e in enumerate(idx_list):
        if isinstance(e, tuple):
            (hs, s), (he, st), (_, sp) = val(e[1]), val(e[2]), val(e[3] if e[3] is not None else 1)
            body += [f"tc_intp f{d}; const tc_intp st{d} = {sp};",
                     f"if (st{d} == 0) return TC_ERROR(TC_ERR_SHAPE, 0);",
                     f"const tc_intp L{d} = tc_ix_slice(X->shape[{d}], {hs}, {s}, {he}, {st}, st{d}, &f{d});"]
            region.append((f"L{d}", f"O->strides[{d}] * st{d}"))
        else:
            body += [f"tc_intp f{d} = {val(e)[1]};",
                     f"if (f{d} < 0) f{d} += X->shape[{d}];",
                     f"if (f{d} < 0 || f{d} >= X->shape[{d}]) return TC_ERROR(TC_ERR_SHAPE, 0);"]
        base.append(f"f{d} * O->strides[{d}]")
    region += [(f"X->shape[{d}]", f"O->strides[{d}]") for d in range(len(idx_list), nd)]
    r = len(region)
    if y_nd > r:
        raise ValueError(f"y has {y_nd} dimensions, more than the {r} of the indexed region")
    upd = lambda d, v: update_stmt(dtype, set_instead_of_inc, d, v)  # noqa: E731
    body.append("char *base = O->data + " + (" + ".join(base) or "0") + ";")
    copy = [] if inplace else [f"tc_ix_copy_all(O, X, sizeof({t}));"]
    if r == 0:
        lines = [f"int {name}(const tc_arg *args) {{"] + ["    " + s for s in body + copy]
        lines += ["    " + upd(f"*({t} *)base", f"*(const {t} *)Y->data"), "    return 0;", "}"]
        return HELPERS + "\n".join(lines) + "\n"
    body += [f"tc_intp RL[{r}], RS[{r}], YS[{r}], total = 1;"]
    for k, (length, stride) in enumerate(region):
        body += [f"RL[{k}] = {length}; RS[{k}] = {stride}; total *= RL[{k}];"]
    body += [f"for (int d = 0; d < {r}; d++) {{",
             f"    const int e = d - {r - y_nd};",
             "    if (e < 0 || Y->shape[e] == 1) { YS[d] = 0; continue; }",
             "    if (Y->shape[e] != RL[d]) return TC_ERROR(TC_ERR_SHAPE, 1);",
             "    YS[d] = Y->strides[e]; }"]
    body += ["if (tc_lo_ < 0) {"] + ["    " + s for s in copy] + ["}",
             "if (total == 0) return 0;",
             f"const tc_intp m = RL[{r - 1}], os = RS[{r - 1}], ys = YS[{r - 1}];",
             "const tc_intp rows = total / m;"]
    head, tail = par_for(name, "row", "rows", "total", threshold)
    sz = f"(tc_intp)sizeof({t})"
    loop = ["char *o = base; const char *yp = Y->data; tc_intp r_ = row;",
            f"for (int d = {r - 2}; d >= 0; d--) {{",
            "    const tc_intp c_ = r_ % RL[d]; r_ /= RL[d];",
            "    o += c_ * RS[d]; yp += c_ * YS[d]; }",
            f"{t} *d_ = ({t} *)o; const {t} *s_ = (const {t} *)yp;",
            f"if (os == {sz} && ys == {sz}) for (tc_intp i = 0; i < m; i++) " + upd("d_[i]", "s_[i]"),
            f"else if (os == {sz} && ys == 0) {{ const {t} v_ = *s_;",
            "    for (tc_intp i = 0; i < m; i++) " + upd("d_[i]", "v_") + " }",
            "else for (tc_intp i = 0; i < m; i++) "
            + upd(f"*({t} *)(o + i * os)", f"*(const {t} *)(yp + i * ys)")]
    lines = [f"int {name}(const tc_arg *args) {{"] + ["    " + s for s in body]
    lines += ["    " + s for s in head] + ["        " + s for s in loop] + ["    " + s for s in tail]
    lines += ["    return 0;", "}"]
    return HELPERS + parallel_kernel(name, "\n".join(lines) + "\n")
