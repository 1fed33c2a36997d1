"""Shared pieces of the indexing kernels (``indexing_gather``, ``indexing_scatter``):
the C helpers every indexing kernel carries, the index-pattern checks, and the builders
of the C lines that broadcast index arrays, walk positions and read (wrapped, checked)
indices.

>>> position_lines(1, 1)
['tc_intp io0 = 0;', 'io0 = j * IS[0][0];']
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.c.render.common import C_DTYPES, ctype

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


def scalar_index_lines(spec: Sequence[tuple[str, int]], first: int, err_op: int) -> list[str]:
    """C lines checking every 0-d index (an integer scalar among index arrays) against
    ``X``'s dimension once per call, before the positions are walked: numpy checks an
    integer index even when the other index arrays are empty (``x[-4, []]`` raises),
    where the position loop alone would never read it.  Arrays of one or more
    dimensions are checked at their positions only, as numpy does (``x[[], [9]]`` is an
    empty result).  An out-of-range scalar returns ``TC_ERR_SHAPE`` on ``err_op``.

    >>> scalar_index_lines([('int64', 1), ('int32', 0)], 1, 1)[0]
    '{ tc_int64 i_ = (tc_int64)*(const tc_int32 *)args[2].data;'
    """
    lines: list[str] = []
    for t, (dt, nd) in enumerate(spec):
        if nd:
            continue
        lines.append(f"{{ tc_int64 i_ = (tc_int64)*(const {ctype(dt)} *)args[{first + t}].data;")
        if np.dtype(dt).kind == "i":
            lines.append(f"  if (i_ < 0) i_ += X->shape[{t}];")
        lines.append(f"  if ((uint64_t)i_ >= (uint64_t)X->shape[{t}]) "
                     f"return TC_ERROR(TC_ERR_SHAPE, {err_op}); }}")
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
