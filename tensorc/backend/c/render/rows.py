"""C source of row-wise kernels along the last axis: ``Softmax``, ``LogSoftmax``,
``SoftmaxGrad`` and ``LogSumExp`` (which drops the last axis).

Each row is processed in two or three passes (max, sum of exponentials, scale) with
SIMD loops; a row of a few thousand elements stays in L1 between the passes, so the
kernel reads memory once.  Rows are distributed over the thread pool above the size
threshold.  The float32 kernels call the float32 libm functions (``expf``: libmvec's
8-wide SIMD variant) and sum the exponentials in double.  Summing in float lanes per
block (block sums in double) was measured slower here: the ``expf`` call dominates,
the widening costs nothing next to it (1000-element row, one thread, min of 200:
max + double sum 0.67 us, max + float blocks of 128 0.85 us, of 256 0.89 us).

The passes are compiled once, in a function over rows of unit stride (``NAME_row``,
kept out of line; the rows of a 2-d kernel go to it in one call).  A row with any other stride is gathered into a heap buffer, run through
the same function and scattered back: the vectorised passes with their ``expf``
calls are most of gcc's time, and a second (strided, gather) copy of them doubled
it (cc1 instructions for the prelude plus one kernel, less the prelude alone, under
valgrind: softmax f32 758M -> 364M, log_softmax f32 736M -> 363M, log_softmax f64
594M -> 323M, logsumexp f64 769M -> 371M, softmax_grad f32 534M -> 316M).  The buffer is allocated once per range of rows; when that fails the kernel
returns ``TC_ERR_ALLOC`` (also from a chunk on the pool, through a shared flag).

>>> import tensorc.tensor as T
>>> from tensorc.ops.nnet import LogSumExp, Softmax
>>> x = T.dmatrix('x')
>>> src, ins, shape_fn, _ = render_rows_node(Softmax()(x).owner, 'k0', 32768)
>>> shape_fn([(2, 5)])
[(2, 5)]
>>> render_rows_node(LogSumExp()(x).owner, 'k1', 32768)[2]([(2, 5)])
[(2,)]
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from tensorc.backend.c.render.common import ctype, libm_suffix
from tensorc.graph.basic import Apply


def render_rows_node(node: Apply, name: str, threshold: int) -> Any:
    """(source, kernel inputs, shape function, {}) for a row-wise node, or None."""
    from tensorc.ops import nnet
    op = node.op
    kinds = {nnet.Softmax: "softmax", nnet.LogSoftmax: "log_softmax", nnet.SoftmaxGrad: "softmax_grad",
             nnet.LogSumExp: "logsumexp"}
    kind = kinds.get(type(op))
    if kind is None:
        return None
    ins = list(node.inputs)
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or any(v.type.dtype != dtype for v in ins):
        return None
    nd = ins[0].ndim
    if kind == "logsumexp":  # size-1 (broadcastable) dims are plain dims of size 1 here
        if nd == 0:
            return None
        return render_logsumexp(name, dtype, nd, threshold), ins, _leading_dims(nd - 1), {}
    if nd == 0 or any(v.ndim != nd for v in ins) or any(any(v.broadcastable) for v in ins):
        return None
    src = render_rows(name, kind, dtype, nd, len(ins), threshold)
    return src, ins, _leading_dims(nd), {}


def _leading_dims(nd: int) -> Callable[[Sequence[tuple]], list[tuple]]:
    """Shape function of one output made of the first ``nd`` dimensions of input 0;
    its ``plan`` says so as data (for the C segment runner).

    >>> fn = _leading_dims(1)
    >>> fn([(4, 5)]), fn.plan
    ([(4,)], [((0, 0),)])
    """
    def shape_fn(shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(shapes[0][:nd])]
    shape_fn.plan = [tuple((0, d) for d in range(nd))]  # type: ignore[attr-defined]
    return shape_fn


def render_rows(name: str, kind: str, dtype: str, nd: int, nin: int, threshold: int) -> str:
    """C source of the row kernel ``name`` (args: inputs then the output, same shape).

    >>> src = render_rows('k0', 'softmax', 'float32', 2, 1, 32768)
    >>> src.count('expf('), 'static void k0_row(' in src, src.count('k0_one(')
    (1, True, 2)
    """
    t, f = ctype(dtype), libm_suffix(dtype)
    checks = [f"    for (int k = 0; k < {nin + 1}; k++) {{",
              f"        if (args[k].ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, k);",
              f"        for (int d = 0; d < {nd}; d++)",
              "            if (args[k].shape[d] != args[0].shape[d]) return TC_ERROR(TC_ERR_SHAPE, k);",
              "    }"]
    params = ", ".join([f"const {t} *x{k}" for k in range(nin)] + [f"{t} *y", "tc_intp m"])
    each = (f"{name}_one(" + "".join(f"(const {t} *)(b{k} + r * d{k}), " for k in range(nin))
            + f"({t} *)(b{nin} + r * d{nin}), m);")
    row_fn = _row_function(name, f"static inline void {name}_one({params})", _row_body(kind, t, f),
                           nin + 1, each)
    rows_fn = _rows_function(name, t, nd, nin, True)
    cost = 3 if kind == "softmax_grad" else 12  # exp per element, then a second pass
    return row_fn + rows_fn + _entry(name, checks, nd, f"rows * m * {cost}", threshold, "rows == 0 || m == 0")


def render_logsumexp(name: str, dtype: str, nd: int, threshold: int) -> str:
    """C source of the ``LogSumExp`` kernel: args ``x`` (``nd`` dims) and the output
    (the first ``nd - 1`` dims of ``x``).  Empty and all ``-inf`` rows give ``-inf``,
    a row holding ``+inf`` gives ``inf``, one holding NaN gives NaN.

    >>> 'expf' in render_logsumexp('k0', 'float32', 2, 32768)
    True
    """
    t, f = ctype(dtype), libm_suffix(dtype)
    checks = [f"    if (args[0].ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, 0);",
              f"    if (args[1].ndim != {nd - 1}) return TC_ERROR(TC_ERR_NDIM, 1);",
              f"    for (int d = 0; d < {nd - 1}; d++)",
              "        if (args[1].shape[d] != args[0].shape[d]) return TC_ERROR(TC_ERR_SHAPE, 1);"]
    body = _row_max(t) + [
        "if (nan_ || mx == INFINITY || mx == -INFINITY) return mx;  /* NaN; +inf; all -inf or empty */"
    ] + _sum_exp(t, f, None) + [
        "double r_ = (double)mx + log(acc);",
        "if (fabs(r_) < 1.0) {  /* rounding 1 + tiny terms would cost relative digits */"] + [
        "    " + x for x in _sum_exp_off_max(t, f)] + [
        "    r_ = (double)mx + log1p(rest + (ones - 1.0));",
        "}",
        f"return ({t})r_;"]
    each = f"*({t} *)(b1 + r * d1) = {name}_one((const {t} *)(b0 + r * d0), m);"
    row_fn = _row_function(name, f"static inline {t} {name}_one(const {t} *x0, tc_intp m)", body, 2, each)
    rows_fn = _rows_function(name, t, nd, 1, False)
    return row_fn + rows_fn + _entry(name, checks, nd, "rows * (m + 1) * 10", threshold, "rows == 0")


#: Out of line, and (gcc) not cloned for constant arguments either: every copy of a
#: function is compiled (and its loops vectorised) again.
_NOIPA = """#ifndef TC_ROW_NOIPA
#if defined(__clang__)
#define TC_ROW_NOIPA __attribute__((noinline))
#else
#define TC_ROW_NOIPA __attribute__((noipa))
#endif
#endif
#include <stdlib.h> /* malloc: buffers of strided rows */
"""


def _row_function(name: str, one: str, body: list[str], nargs: int, each: str) -> str:
    """``one`` (the passes over one unit-stride row, from ``body``) inlined into
    ``NAME_row(b0.., d0.., m, n)``: ``n`` rows whose operands start at ``b{k}`` and
    step by ``d{k}`` bytes, ``each`` running row ``r`` (one compiled copy: ``_NOIPA``)."""
    ptrs = ", ".join([f"char *b{k}" for k in range(nargs)] + [f"tc_intp d{k}" for k in range(nargs)])
    return "\n".join([_NOIPA + one + " {"] + ["    " + x for x in body] + [
        "}",
        f"TC_ROW_NOIPA static void {name}_row({ptrs}, tc_intp m, tc_intp n) {{",
        f"    for (tc_intp r = 0; r < n; r++) {each}",
        "}", ""])


def _rows_function(name: str, t: str, nd: int, nin: int, out_row: bool) -> str:
    """``NAME_copy`` (``m`` elements between strided rows) and ``NAME_rows``, a
    ``tc_chunk_fn`` running rows ``[lo, hi)``: ``nin`` inputs then the output (pointers
    ``b{k}``), which has a last axis when ``out_row`` (not ``LogSumExp``'s).  When all
    those rows have unit stride (``unit``), 2-d operands go to ``NAME_row`` in one call,
    others row by row; otherwise ``buf`` takes a copy of each input row (allocated
    once; the output row overwrites the first).  An allocation failure stores 1.0 in
    the context's scratch (several chunks may fail: an atomic store)."""
    nargs, rowed = nin + 1, nin + int(out_row)
    strides = ", ".join([f"args[{k}].strides[0]" for k in range(nargs)])
    zeros = ", ".join(["0"] * nargs)
    bufs = [f"(char *)(buf + {k} * m)" for k in range(nin)] + ["(char *)buf" if out_row else f"b{nin}"]
    L = [f"TC_ROW_NOIPA static void {name}_copy(char *d, tc_intp ds, const char *s, tc_intp ss, "
         "tc_intp m) {",
         f"    for (tc_intp i = 0; i < m; i++) *({t} *)(d + i * ds) = *(const {t} *)(s + i * ss);",
         "}",
         f"TC_ROW_NOIPA static void {name}_rows(void *ctx, tc_intp lo, tc_intp hi) {{",
         "    const tc_chunk_ctx *c = (const tc_chunk_ctx *)ctx;",
         "    const tc_arg *args = c->args;",
         f"    const tc_intp m = args[0].shape[{nd - 1}];",
         "    int unit = 1;"]
    L += [f"    const tc_intp s{k} = args[{k}].strides[{nd - 1}];" for k in range(rowed)]
    L += [f"    if (s{k} != sizeof({t})) unit = 0;" for k in range(rowed)]
    if nd == 2:
        L += ["    if (unit) {",
              f"        {name}_row(" + "".join(f"args[{k}].data + lo * args[{k}].strides[0], "
                                           for k in range(nargs)) + f"{strides}, m, hi - lo);",
              "        return;",
              "    }"]
    L += [f"    {t} *buf = 0;",
          "    if (!unit && m > 0) {",
          f"        if (m <= PTRDIFF_MAX / (tc_intp)(sizeof({t}) * {nin}))",
          f"            buf = ({t} *)malloc(sizeof({t}) * {nin} * (size_t)m);",
          "        if (!buf) {",
          "            const double one = 1.0;",
          "            __atomic_store(c->scratch, &one, __ATOMIC_RELAXED);",
          "            return;",
          "        }",
          "    }",
          "    for (tc_intp row = lo; row < hi; row++) {",
          "        tc_intp r_ = row;"]
    L += [f"        char *b{k} = args[{k}].data;" for k in range(nargs)]
    for d in range(nd - 2, -1, -1):
        L.append(f"        {{ const tc_intp i_ = r_ % args[0].shape[{d}]; r_ /= args[0].shape[{d}];")
        L += [f"          b{k} += i_ * args[{k}].strides[{d}];" for k in range(nargs)]
        L.append("        }")
    L += ["        if (unit) {",
          f"            {name}_row(" + "".join(f"b{k}, " for k in range(nargs)) + f"{zeros}, m, 1);",
          "            continue;",
          "        }"]
    L += [f"        {name}_copy((char *)(buf + {k} * m), sizeof({t}), b{k}, s{k}, m);" for k in range(nin)]
    L.append(f"        {name}_row({', '.join(bufs)}, {zeros}, m, 1);")
    if out_row:
        L.append(f"        {name}_copy(b{nin}, s{nin}, (const char *)buf, sizeof({t}), m);")
    L += ["    }", "    free(buf);", "}", ""]
    return "\n".join(L)


def _entry(name: str, checks: list[str], nd: int, work: str, threshold: int, nothing: str) -> str:
    """The public kernel: validate shapes, return at once when ``nothing`` holds, else
    run ``NAME_rows`` over all rows, on the pool above ``threshold`` units of ``work``."""
    return "\n".join([f"int {name}(const tc_arg *args) {{"] + checks + [
        f"    const tc_intp m = args[0].shape[{nd - 1}];",
        "    tc_intp rows = 1;",
        f"    for (int d = 0; d < {nd - 1}; d++) rows *= args[0].shape[d];",
        f"    if ({nothing}) return 0;",
        "    double failed = 0.0, seen;",
        "    tc_chunk_ctx ctx = {args, &failed};",
        f"    if (rows < 2 || ({work}) < {threshold} || !tc_parallel_hook",
        f"        || tc_parallel_hook({name}_rows, &ctx, rows, {work}) != 0)",
        f"        {name}_rows(&ctx, 0, rows);",
        "    __atomic_load(&failed, &seen, __ATOMIC_RELAXED);",
        "    return seen != 0.0 ? TC_ERROR(TC_ERR_ALLOC, 0) : 0;",
        "}", ""])


def _row_max(t: str) -> list[str]:
    """SIMD max of the row into ``mx``; a NaN anywhere makes ``mx`` NaN (numpy's max)."""
    return [f"{t} mx = -INFINITY; int nan_ = 0;",
            "_Pragma(\"omp simd reduction(max:mx) reduction(|:nan_)\")",
            "for (tc_intp i = 0; i < m; i++) {",
            f"    const {t} v = x0[i];",
            "    mx = v > mx ? v : mx;",
            "    nan_ |= v != v;",
            "}",
            f"if (nan_) mx = ({t})NAN;"]


def _sum_exp(t: str, f: str, store: str | None) -> list[str]:
    """``double acc = sum(exp(x0 - mx))`` over the row, storing each exponential in
    ``store[i]`` when given.  Each float32 exponential is widened to double (two
    ``vcvtps2pd`` per 8-wide ``expf`` call: free next to the call, measured)."""
    cast = "(double)" if f else ""
    return ["double acc = 0.0;",
            "_Pragma(\"omp simd reduction(+:acc)\")",
            "for (tc_intp i = 0; i < m; i++) {",
            f"    const {t} e = exp{f}(x0[i] - mx);"] + ([f"    {store}[i] = e;"] if store else []) + [
            f"    acc += {cast}e;",
            "}"]


def _sum_exp_off_max(t: str, f: str) -> list[str]:
    """``rest``: the sum of ``exp(x - mx)`` over the elements below the (finite) max, and
    ``ones``: how many equal it; ``log1p(rest + ones - 1)`` keeps the digits that
    ``log(1 + rest)`` loses when the other elements are tiny (``[0, -25]``).  The select
    and the count cost ~30% in the loop: only rows whose result is below 1 take it."""
    cast = "(double)" if f else ""
    return ["double rest = 0.0, ones = 0.0;",
            "_Pragma(\"omp simd reduction(+:rest, ones)\")",
            "for (tc_intp i = 0; i < m; i++) {",
            f"    const {t} d = x0[i] - mx;",
            f"    const {t} e = exp{f}(d);",
            f"    rest += d == 0 ? 0.0 : {cast}e;",
            "    ones += d == 0 ? 1.0 : 0.0;",
            "}"]


def _row_body(kind: str, t: str, f: str) -> list[str]:
    """Statements of the unit-stride row function: inputs ``x0`` (``x1``), output ``y``
    (which may be ``x0`` itself: every pass reads element i before writing it)."""
    if kind == "softmax_grad":  # inputs dy, sm: out = (dy - sum(dy * sm)) * sm
        return ["double acc = 0.0;",
                "_Pragma(\"omp simd reduction(+:acc)\")",
                "for (tc_intp i = 0; i < m; i++) acc += (double)x0[i] * (double)x1[i];",
                f"const {t} tot = ({t})acc;",
                "_Pragma(\"omp simd\")",
                "for (tc_intp i = 0; i < m; i++) y[i] = (x0[i] - tot) * x1[i];"]
    lines = _row_max(t)
    if kind == "softmax":
        return lines + _sum_exp(t, f, "y") + [
            f"const {t} inv = ({t})(1.0 / acc);",
            "_Pragma(\"omp simd\")",
            "for (tc_intp i = 0; i < m; i++) y[i] *= inv;"]
    return lines + _sum_exp(t, f, None) + [
        f"const {t} lg = ({t})log(acc);",
        "_Pragma(\"omp simd\")",
        "for (tc_intp i = 0; i < m; i++) y[i] = (x0[i] - mx) - lg;"]
