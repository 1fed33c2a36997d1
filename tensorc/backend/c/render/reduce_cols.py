"""The column path of reduction kernels: the kept dimension is the one to walk with
unit stride (``sum(x, axis=0)``, the bias gradient of a dense layer, or a row sum of a
transposed matrix ``sum(x.T, axis=1)``).

A tile of at most ``COL_TILE`` outputs along the last kept dimension accumulates one
input row segment at a time (SIMD over the segment, as numpy does) instead of walking
each output's run with a row-sized stride.  The one specialised function of such a
kernel is ``name_col(n, p, m, s, ix, q)``: row ``q``'s segment of ``n`` unit-stride
values folded into the tile's accumulators.  Every kernel with kept and reduced
dimensions has it; the kernel chooses it at run time when the strides say so
(``column_condition``: numpy's rule, smaller strides innermost), else its per-output
path.  Segments of another stride are copied into a buffer first (``tc_red_ptrs``).
Float sums add ``COL_BLOCK`` rows into block sums before the totals (error ~(128 +
rows/128) ulp; numpy's row-by-row sum has rows ulp; float32 accumulates in float64);
max/min keep a NaN flag per output; arg* keep the first index.

>>> from tensorc.ops.fused import Body
>>> body = Body(1, ("float64",), (), (), (("in", 0),))
>>> src = col_function("k0", body, "add", "float64", [False])
>>> "static TC_RED_NOINLINE void k0_col(" in src
True
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tensorc.backend.c.render.common import convert, ctype, par_for
from tensorc.backend.c.render.reduce_block import extremum_start, identity, is_pairwise, value_lines
from tensorc.ops.fused import Body

#: Output elements per tile at most (the tile's accumulators stay in L1).
COL_TILE = 512
#: Rows summed into a tile's block sums before they join its totals.
COL_BLOCK = 128
#: Parts the rows of a float sum are cut into at most when it has few tiles (threads).
ROW_PARTS = 16
#: Bytes of one row segment (outputs x widest item) at least for the column path.
MIN_ROW_BYTES = 64


def col_function(name: str, body: Body, kind: str, acc: str, scalar: Sequence[bool]) -> str:
    """C source of ``name_col``; ``scalar[k]``: operand k is broadcast along the row."""
    t = ctype(acc)
    elem = body.out_dtype(body.outputs[0])
    cv = convert("v_", elem, acc)
    arg = kind.startswith("arg")
    ext = kind in ("maximum", "minimum", "argmax", "argmin")
    cmp = ">" if kind in ("maximum", "argmax") else "<"
    if is_pairwise(kind, acc):
        step = ["s[j] += w_;"]
    elif arg:
        step = [f"const int take_ = (m[j] == m[j]) & ((w_ {cmp} m[j]) | (w_ != w_));",
                "m[j] = take_ ? w_ : m[j];", "ix[j] = take_ ? q : ix[j];"]
    elif ext:  # a plain select (SIMD max/min) and a NaN flag per output
        step = [f"m[j] = w_ {cmp} m[j] ? w_ : m[j];", "ix[j] |= w_ != w_;"]
    else:
        step = [{"add": "m[j] += w_;", "mul": "m[j] *= w_;", "and": "m[j] = m[j] && w_;",
                 "or": "m[j] = m[j] || w_;"}[kind]]
    lines = [f"static TC_RED_NOINLINE void {name}_col(tc_intp n, const char *const *p, {t} *restrict m, "
             f"{t} *restrict s, tc_intp *restrict ix, tc_intp q) {{",
             "    (void)s; (void)ix; (void)q;"]
    lines += [f"    const {ctype(d)} {'h' if scalar[k] else '*restrict u'}{k} = "
              f"{'*' if scalar[k] else ''}(const {ctype(d)} *)p[{k}];"
              for k, d in enumerate(body.in_dtypes)]
    loads = [f"h{k}" if scalar[k] else f"u{k}[{{i}}]" for k in range(body.n_in)]
    lines += ["    _Pragma(\"omp simd\")", "    for (tc_intp j = 0; j < n; j++) {"]
    lines += value_lines(body, loads, "        ", "j") + [f"        const {t} w_ = {cv};"]
    lines += ["        " + x for x in step] + ["    }", "}"]
    return "\n".join(lines) + "\n"


def col_tile(in_dtypes: Sequence[str], budget: int) -> int:
    """Outputs per tile at most: ``COL_TILE``, fewer when one row segment of every
    operand would not fit ``budget`` bytes of copy buffer (a power of two, at least 8).

    >>> col_tile(["float64"], 32768), col_tile(["complex128"] * 8, 32768)
    (512, 256)
    """
    per = max(np.dtype(d).itemsize for d in in_dtypes) * len(in_dtypes)
    n = COL_TILE
    while n > 8 and n * per > budget:
        n //= 2
    return n


def column_condition(shape: tuple) -> str:
    """C condition choosing the column path at run time (numpy's rule: the axis of the
    smallest strides innermost): row segments of at least ``MIN_ROW_BYTES`` along the
    column dimension ``cd`` (the last kept one; narrower ones cost a call per row, the
    per-output path is faster there) and, for every operand read along both ``cd`` and the innermost
    reduced dimension, a smaller stride along ``cd`` (or a run of one element).  With no
    such operand, the kernels keeping the last dimension take it.

    >>> column_condition((1, 2, [1], [0], [(False, False)], ["tc_float64"]))
    'F[0] * 8 >= 64 && (F[1] == 1 || (TC_RED_ABS(S[0][0]) < TC_RED_ABS(S[0][1])))'
    """
    nin, nd, red, kept, bc, in_t = shape
    cd, inner = kept[-1], red[-1]
    both = [k for k in range(nin) if not bc[k][cd] and not bc[k][inner]]
    wide = f"F[{cd}] * {max_itemsize(in_t)} >= {MIN_ROW_BYTES}"
    if not both:
        return wide if cd == nd - 1 else "0"
    less = " && ".join(f"TC_RED_ABS(S[{k}][{cd}]) < TC_RED_ABS(S[{k}][{inner}])" for k in both)
    return f"{wide} && (F[{inner}] == 1 || ({less}))"


def max_itemsize(ctypes: Sequence[str]) -> int:
    """The widest item of the operands' C types (``tc_float64`` ...).

    >>> max_itemsize(["tc_float32", "tc_complex128", "tc_bool"])
    16
    """
    return max(np.dtype(t[3:] if t != "tc_bool" else "bool").itemsize for t in ctypes)


def render_columns(name: str, body: Body, kind: str, acc: str, out: str, shape: tuple,
                   ostride: dict, cost: int, threshold: int, budget: int) -> tuple[str, list[str]]:
    """(``name_col``'s source, the kernel lines of the column path: when
    ``column_condition`` holds, tiles of outputs along the last kept dimension on the
    pool above ``threshold``, rows of each tile through ``name_col``; operands of another
    stride along it are copied through a ``budget``-byte buffer (``tc_red_ptrs``)).

    >>> import tensorc.tensor as T
    >>> from tensorc.backend.c.render.reduce import render_reduce_node
    >>> src = render_reduce_node(T.sum(T.dmatrix('x'), axis=0).owner, 'k0', 32768)[0]
    >>> 'k0_col(n_, p_, m_, s_, ix_, q_)' in src and 'k0_blk(n_, p_)' in src
    True
    """
    nin, nd, red, kept, bc, in_t = shape
    cd, t = kept[-1], ctype(acc)
    scalar = [bool(bc[k][cd]) for k in range(nin)]
    tw = col_tile(body.in_dtypes, budget)
    slot = tw * max(np.dtype(d).itemsize for d in body.in_dtypes)
    arg, ext = kind.startswith("arg"), kind in ("maximum", "minimum", "argmax", "argmin")
    pairwise = is_pairwise(kind, acc)
    start = extremum_start(kind, acc) if ext else identity(kind, acc)
    finish = convert("ai" if arg else "a", "int64" if arg else acc, out)
    nan_out = "ix_[j] ? NAN : m_[j]" if ext and not arg and acc.startswith("float") else "m_[j]"
    body_l = [f"const tc_intp rp = t0_ / (nouter_ * ntile_), u_ = t0_ % (nouter_ * ntile_);",
              f"const tc_intp o_ = u_ / ntile_, j0 = (u_ % ntile_) * tw_, n_ = TC_MIN(j0 + tw_, F[{cd}]) - j0;",
              f"const tc_intp nb_ = (nred + {COL_BLOCK - 1}) / {COL_BLOCK}, q0_ = nb_ * rp / nrp_ * {COL_BLOCK}, "
              f"q1_ = TC_MIN(nb_ * (rp + 1) / nrp_ * {COL_BLOCK}, nred);",
              f"const char *b[{nin}], *c[{nin}], *p_[{nin}]; char *ob = args[{nin}].data; tc_intp r_ = o_;"]
    body_l += [f"b[{k}] = args[{k}].data;" for k in range(nin)]
    for d in reversed(kept[:-1]):
        body_l.append(f"{{ const tc_intp i_ = r_ % F[{d}]; r_ /= F[{d}];"
                      + "".join(f" b[{k}] += i_ * S[{k}][{d}];" for k in range(nin))
                      + f" ob += i_ * {ostride[d]}; }}")
    body_l += [f"{t} m_[{tw}], s_[{tw}]; tc_intp ix_[{tw}];",
               f"for (tc_intp j = 0; j < n_; j++) {{ m_[j] = {start}; s_[j] = 0; ix_[j] = 0; }}",
               "for (tc_intp q_ = q0_; q_ < q1_; q_++) {"]
    if len(red) == 1:  # no division per row (a row segment can be shorter than one)
        body_l += [f"    c[{k}] = b[{k}] + q_ * S[{k}][{red[0]}];" for k in range(nin)]
    else:
        body_l += ["    tc_intp t_ = q_;"] + [f"    c[{k}] = b[{k}];" for k in range(nin)]
        for d in reversed(red):
            body_l.append(f"    {{ const tc_intp i_ = t_ % F[{d}]; t_ /= F[{d}];"
                          + "".join(f" c[{k}] += i_ * S[{k}][{d}];" for k in range(nin)) + " }")
    body_l += ["    if (cunit_) {" + "".join(f" p_[{k}] = c[{k}]{'' if scalar[k] else f' + j0 * isz_[{k}]'};"
                                         for k in range(nin)) + " }",
               f"    else tc_red_ptrs({nin}, c, cst_, isz_, csc_, j0, n_, cbuf_, {slot}, p_);",
               f"    {name}_col(n_, p_, m_, s_, ix_, q_);"]
    if pairwise:
        body_l += [f"    if (q_ % {COL_BLOCK} == {COL_BLOCK - 1} || q_ == q1_ - 1)",
                   "        for (tc_intp j = 0; j < n_; j++) { m_[j] += s_[j]; s_[j] = 0; }"]
    body_l += ["}", "if (nrp_ > 1) {  /* a part of the rows: its sums wait in rp_ */",
               f"    for (tc_intp j = 0; j < n_; j++) rp_[rp * nkeep + o_ * F[{cd}] + j0 + j] = (double)m_[j];",
               "    continue;", "}", "for (tc_intp j = 0; j < n_; j++) {",
               f"    const {t} a = {nan_out}; const tc_intp ai = ix_[j]; (void)ai;",
               f"    *({ctype(out)} *)(ob + (j0 + j) * {ostride[cd]}) = {finish};", "}"]
    head, tail = par_for(name, "t0_", "nrp_ * nouter_ * ntile_", f"nkeep * nred * {cost}", threshold,
                         scratch="rp_")
    lines = [f"if ({column_condition(shape)}) {{",
             f"    static const int csc_[{nin}] = {{{', '.join(str(int(s)) for s in scalar)}}};",
             f"    const tc_intp cst_[{nin}] = {{{', '.join(f'S[{k}][{cd}]' for k in range(nin))}}};",
             "    int cunit_ = 1;",
             f"    for (int k = 0; k < {nin}; k++) if (!csc_[k] && cst_[k] != isz_[k]) cunit_ = 0;",
             f"    _Alignas(64) char cbuf_[{slot * nin}]; (void)cbuf_;",
             # tiles of at most tw outputs, at least two (multiples of 8) from 16 on
             f"    tc_intp tw_ = TC_MIN({tw}, F[{cd}] < 16 ? F[{cd}] : "
             f"((F[{cd}] + 1) / 2 + 7) / 8 * 8);",
             f"    tc_intp ntile_ = (F[{cd}] + tw_ - 1) / tw_; const tc_intp nouter_ = nkeep / F[{cd}];"]
    lines += ["    " + x for x in _row_parts(pairwise, cost, threshold)]
    if pairwise:  # row parts keep the threads busy: whole rows (up to tw) per tile
        lines += [f"    if (nrp_ > 1) {{ tw_ = TC_MIN({tw}, F[{cd}]); ntile_ = (F[{cd}] + tw_ - 1) / tw_; }}"]
    lines += ["    " + x for x in head] + ["            " + x for x in body_l]
    lines += ["    " + x for x in tail] + ["    " + x for x in _join_parts(shape, ostride, acc, out)]
    lines += ["    return 0;", "}"]
    lines = ["    " + x for x in lines]
    return col_function(name, body, kind, acc, scalar), lines


def _row_parts(pairwise: bool, cost: int, threshold: int) -> list[str]:
    """Lines setting ``nrp_``, the parts the rows of a float sum are cut into when its
    tiles are too few to keep the threads busy (whole ``COL_BLOCK`` row blocks, at most
    ``ROW_PARTS``), and ``rp_``, the parts' sums (heap, allocated by the caller;
    ``TC_ERR_ALLOC`` on failure).  Other kinds keep one part."""
    if not pairwise:
        return ["const tc_intp nrp_ = 1; double *rp_ = 0;"]
    return [f"tc_intp nrp_ = 1; double *rp_ = tc_scratch_;",
            f"if (nouter_ * ntile_ < {ROW_PARTS} && nred >= {2 * COL_BLOCK} && nkeep * nred * {cost} >= {threshold})",
            f"    nrp_ = TC_MIN({ROW_PARTS}, nred / {COL_BLOCK});",
            "if (nrp_ > 1 && tc_lo_ < 0) {",
            "    rp_ = (double *)malloc(sizeof(double) * (size_t)nrp_ * (size_t)nkeep);",
            "    if (!rp_) return TC_ERROR(TC_ERR_ALLOC, 0);",
            "}"]


def _join_parts(shape: tuple, ostride: dict, acc: str, out: str) -> list[str]:
    """Lines adding the row parts' sums of every output in order (after the pool ran
    them) and writing the outputs; nothing to do for one part."""
    kept = shape[3]
    lines = ["if (nrp_ > 1) {", "    for (tc_intp o = 0; o < nkeep; o++) {",
             "        double a_ = rp_[o];",
             "        for (tc_intp r = 1; r < nrp_; r++) a_ += rp_[r * nkeep + o];",
             f"        const {ctype(acc)} a = ({ctype(acc)})a_;",
             f"        char *ob = args[{shape[0]}].data; tc_intp r_ = o;"]
    for d in reversed(kept):
        lines.append(f"        {{ const tc_intp i_ = r_ % F[{d}]; r_ /= F[{d}]; ob += i_ * {ostride[d]}; }}")
    lines += [f"        *({ctype(out)} *)ob = {convert('a', acc, out)};", "    }", "    free(rp_);", "}"]
    return lines
