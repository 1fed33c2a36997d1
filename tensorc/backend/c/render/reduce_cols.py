"""The column path of reduction kernels: the kept dimension is the one to walk with
unit stride (``sum(x, axis=0)``, the bias gradient of a dense layer, or a row sum of a
transposed matrix ``sum(x.T, axis=1)``).

A tile of outputs along the last kept dimension accumulates one input row segment at
a time (SIMD over the segment, as numpy does) instead of walking each output's run
with a row-sized stride.  Everything that does not depend on the kernel's body and
dtypes is the shared driver (``csrc/tensorc_reduce.c``, compiled once into the
extension, see ``backend/c/reddriver.py``): numpy's rule choosing the path at run
time (smaller strides innermost, row segments of at least 64 bytes), tiles of at most
512 outputs, the copies of strided row segments, the row parts of float sums with few
tiles, the pool split.  A kernel specialises ``name_col(n, p, m, s, ix, q)``, row
``q``'s segment of ``n`` unit-stride values folded into the tile's accumulators, and
``name_cout``, outputs converted from their accumulators and written (shared with the
driver's other paths).  Float sums add 128-row blocks into block sums before the
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
from tensorc.backend.c.render.reduce_block import is_pairwise, value_lines
from tensorc.ops.fused import Body

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
