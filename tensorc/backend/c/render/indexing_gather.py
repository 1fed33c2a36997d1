"""C source of gather kernels: ``out = x[i0, ..., ik-1]`` (``AdvancedSubtensor``).

Index positions are spread over the thread pool; each copies one row ``x[i, ...]``
(a flat copy when rows are contiguous, nested strided loops otherwise).  An
out-of-range index is skipped and flagged, and the kernel then returns an error;
integer scalars among the indices are checked once first, so ``x[-4, []]`` fails
like numpy although it has no positions.

>>> src = render_gather('k0', 'float64', 2, [('int64', 1)], 32768)
>>> 'int k0(const tc_arg *args)' in src
True
"""
from __future__ import annotations

from typing import Sequence

from tensorc.backend.c.render.common import ctype, par_for, parallel_kernel
from tensorc.backend.c.render.indexing_loops import (
    HELPERS, broadcast_index_lines, index_locals, nested, position_lines, read_index_lines,
    scalar_index_lines)


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
    body += scalar_index_lines(spec, 1, 1)  # checked even when there are no positions
    body += [f"for (int d = 0; d < {p}; d++) if (O->shape[d] != S[d]) return TC_ERROR(TC_ERR_SHAPE, 1);",
             "tc_intp M = 1;",
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
