"""The column path of reduction kernels: the kept dimension is the one to walk with
unit stride (``sum(x, axis=0)``, the bias gradient of a dense layer, or a row sum of a
transposed matrix ``sum(x.T, axis=1)``).

A tile of outputs along the last kept dimension accumulates one input row segment at
a time (SIMD over the segment, as numpy does) instead of walking each output's run
with a row-sized stride.  Everything that does not depend on the kernel's body and
dtypes is the shared column driver ``tc_red_cols_run`` (``csrc/tensorc_reduce.c``,
compiled once into the extension, see ``backend/c/reddriver.py``): numpy's rule
choosing the path at run time (smaller strides innermost, row segments of at least
64 bytes), tiles of at most 512 outputs, the copies of strided row segments, the row
parts of float sums with few tiles, the pool split.  A kernel specialises two
functions: ``name_col(n, p, m, s, ix, q)``, row ``q``'s segment of ``n`` unit-stride
values folded into the tile's accumulators, and ``name_cout``, a tile's outputs
converted and written.  Float sums add 128-row blocks into block sums before the
totals (error ~(128 + rows/128) ulp; numpy's row-by-row sum has rows ulp; float32
accumulates in float64); max/min keep a NaN flag per output; arg* keep the first index.

>>> from tensorc.ops.fused import Body
>>> body = Body(1, ("float64",), (), (), (("in", 0),))
>>> src = col_function("k0", body, "add", "float64", [False])
>>> "static void k0_col(" in src
True
"""
from __future__ import annotations

from typing import Sequence

from tensorc.backend.c.render.common import convert, ctype
from tensorc.backend.c.render.reduce_block import extremum_start, identity, is_pairwise, value_lines
from tensorc.ops.fused import Body

#: ``tc_red_cols`` flags (``csrc/tensorc_reduce.c``).
PAIRWISE, KEEPDIMS = 1, 2


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
    lines = [f"static void {name}_col(tc_intp n, const char *const *p, void *m_, void *s_, "
             "tc_intp *restrict ix, tc_intp q) {",
             f"    {t} *restrict m = ({t} *)m_, *restrict s = ({t} *)s_;",
             "    (void)s; (void)ix; (void)q;"]
    lines += [f"    const {ctype(d)} {'h' if scalar[k] else '*restrict u'}{k} = "
              f"{'*' if scalar[k] else ''}(const {ctype(d)} *)p[{k}];"
              for k, d in enumerate(body.in_dtypes)]
    loads = [f"h{k}" if scalar[k] else f"u{k}[{{i}}]" for k in range(body.n_in)]
    lines += ["    _Pragma(\"omp simd\")", "    for (tc_intp j = 0; j < n; j++) {"]
    lines += value_lines(body, loads, "        ", "j") + [f"        const {t} w_ = {cv};"]
    lines += ["        " + x for x in step] + ["    }", "}"]
    return "\n".join(lines) + "\n"




def out_function(name: str, kind: str, acc: str, out: str) -> str:
    """C source of ``name_cout(n, m, ix, ob, os)``: a tile's ``n`` accumulators ``m``
    (NaN flags or indices ``ix``) converted to the output dtype, written from ``ob``
    with byte stride ``os``.

    >>> out_function("k0", "maximum", "float64", "float64").count("ix[j] ? NAN : m[j]")
    1
    """
    t, arg = ctype(acc), kind.startswith("arg")
    ext = kind in ("maximum", "minimum", "argmax", "argmin")
    value = "ix[j] ? NAN : m[j]" if ext and not arg and acc.startswith("float") else "m[j]"
    finish = convert("ai" if arg else "a", "int64" if arg else acc, out)
    return "\n".join([
        f"static void {name}_cout(tc_intp n, const void *m_, const tc_intp *ix, char *ob, tc_intp os) {{",
        f"    const {t} *m = (const {t} *)m_;",
        "    for (tc_intp j = 0; j < n; j++) {",
        f"        const {t} a = {value}; const tc_intp ai = ix[j]; (void)ai;",
        f"        *({ctype(out)} *)(ob + j * os) = {finish};", "    }", "}"]) + "\n"


def render_columns(name: str, body: Body, kind: str, acc: str, out: str, shape: tuple,
                   keepdims: bool, cost: int, threshold: int) -> tuple[str, str, list[str]]:
    """(``name_col``'s source, ``name_cout``'s source, the kernel lines handing the
    column path to the shared driver: it runs it when numpy's rule says so, else
    returns -1 and the kernel goes on with its per-output path).  ``shape`` is
    (inputs, ndim, reduced dims, kept dims, broadcast patterns, C types).

    >>> import tensorc.tensor as T
    >>> from tensorc.backend.c.render.reduce import render_reduce_node
    >>> src = render_reduce_node(T.sum(T.dmatrix('x'), axis=0).owner, 'k0', 32768)[0]
    >>> 'tc_red_cols_run(&rc_)' in src and 'k0_blk(n_, p_)' in src
    True
    """
    nin, nd, red, kept, bc, _ = shape
    t = ctype(acc)
    cd = kept[-1]
    scalar = [bool(bc[k][cd]) for k in range(nin)]
    ext = kind in ("maximum", "minimum", "argmax", "argmin")
    start = extremum_start(kind, acc) if ext else identity(kind, acc)
    masks = [sum(1 << d for d in range(nd) if bc[k][d]) for k in range(nin)]
    flags = (PAIRWISE if is_pairwise(kind, acc) else 0) | (KEEPDIMS if keepdims else 0)
    lines = ["{  /* rows into tiles of outputs, when the strides say so (shared driver) */",
             f"    static const uint64_t rbc_[{nin}] = {{{', '.join(f'{m}ULL' for m in masks)}}};",
             f"    static const signed char rdims_[{nd}] = {{{', '.join(str(d) for d in kept + red)}}};",
             f"    static const {t} rstart_ = {start};",
             f"    const tc_red_cols rc_ = {{args, F, &S[0][0], isz_, rbc_, rdims_, &rstart_, {name}_col, "
             f"{name}_cout, tc_parallel_hook, {nin}, {nd}, {len(kept)}, {len(red)}, sizeof({t}), {flags}, "
             f"{cost}, {threshold}}};",
             "    const int rr_ = tc_red_cols_run(&rc_);",
             "    if (rr_ >= 0) return rr_;", "}"]
    return col_function(name, body, kind, acc, scalar), out_function(name, kind, acc, out), ["    " + x for x in lines]
