"""C source of update kernels: advanced scatters (``AdvancedIncSubtensor``: set, or
accumulate like ``np.add.at``) and basic-slice updates (``IncSubtensor``).

A scatter validates every index first (nothing is written on an error; integer
scalars among the indices even when there are no positions, as numpy does), copies
``x`` into the output unless inplace, then walks the index positions in order; threads
own disjoint column blocks or destination-row ranges, never split positions.  A basic
update computes each slice with CPython's rules and updates the region (distinct
elements, so its outer dimension may run in parallel).

>>> src = render_scatter('k0', 'float32', 2, [('int64', 1)], 2, False, False, 32768)
>>> 'int k0(const tc_arg *args)' in src
True
>>> update_stmt('float64', True, 'a', 'b')
'a = b;'
"""
from __future__ import annotations

from typing import Any, Sequence

from tensorc.backend.c.render.common import ctype, par_for, parallel_kernel
from tensorc.backend.c.render.indexing_loops import (
    HELPERS, broadcast_index_lines, index_locals, nested, position_lines, read_index_lines,
    scalar_index_lines)


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
    body += scalar_index_lines(spec, 2, 2)  # checked even when there are no positions
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
