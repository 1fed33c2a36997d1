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

from tensorc.backend.c.render.common import ctype, libm_suffix, par_for, parallel_kernel
from tensorc.graph.basic import Apply

At = Callable[..., str]


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


def _row_pointers(nin: int, nd: int) -> list[str]:
    lines = ["tc_intp r_ = row;"] + [f"char *b{k} = args[{k}].data;" for k in range(nin + 1)]
    for d in range(nd - 2, -1, -1):
        lines.append(f"{{ const tc_intp i_ = r_ % args[0].shape[{d}]; r_ /= args[0].shape[{d}];")
        lines += [f"  b{k} += i_ * args[{k}].strides[{d}];" for k in range(nin + 1)]
        lines.append("}")
    return lines


def _kernel(name: str, checks: list[str], per_row: list[str], work: str, threshold: int) -> str:
    """A kernel running ``per_row`` for each row (``row``, ``m``, ``unit`` set) on the pool."""
    head, tail = par_for(name, "row", "rows", work, threshold)
    L = [f"int {name}(const tc_arg *args) {{"] + checks
    L += ["    " + x for x in head] + ["        " + x for x in per_row] + ["    " + x for x in tail]
    L += ["    return 0;", "}"]
    return parallel_kernel(name, "\n".join(L) + "\n")


def _unit_or_strided(t: str, ks: range, body: Callable[[At], list[str]]) -> list[str]:
    """``body`` for contiguous rows (typed pointers ``w{k}``) and for strided rows."""
    strided = lambda k, i="i": f"(*({t} *)(b{k} + {i} * s{k}))"  # noqa: E731
    unit = lambda k, i="i": f"w{k}[{i}]"  # noqa: E731
    # typed pointers in locals: element loads through a cast of b{k} vectorised as gathers
    lines = ["if (unit) {"] + [f"    {t} *w{k} = ({t} *)b{k};" for k in ks]
    lines += ["    " + x for x in body(unit)]
    return lines + ["} else {"] + ["    " + x for x in body(strided)] + ["}"]


def render_rows(name: str, kind: str, dtype: str, nd: int, nin: int, threshold: int) -> str:
    """C source of the row kernel ``name`` (args: inputs then the output, same shape)."""
    t, f = ctype(dtype), libm_suffix(dtype)
    checks = [f"    for (int k = 0; k < {nin + 1}; k++) {{",
              f"        if (args[k].ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, k);",
              f"        for (int d = 0; d < {nd}; d++)",
              "            if (args[k].shape[d] != args[0].shape[d]) return TC_ERROR(TC_ERR_SHAPE, k);",
              "    }",
              f"    const tc_intp m = args[0].shape[{nd - 1}];",
              "    tc_intp rows = 1;",
              f"    for (int d = 0; d < {nd - 1}; d++) rows *= args[0].shape[d];",
              "    if (rows == 0 || m == 0) return 0;",
              "    int unit = 1;",
              f"    for (int k = 0; k < {nin + 1}; k++) if (args[k].strides[{nd - 1}] != sizeof({t})) unit = 0;"]
    per_row = _row_pointers(nin, nd)
    per_row += [f"const tc_intp s{k} = args[{k}].strides[{nd - 1}];" for k in range(nin + 1)]
    per_row += _unit_or_strided(t, range(nin + 1), lambda at: _row_body(kind, t, f, nin, at))
    cost = 3 if kind == "softmax_grad" else 12  # exp per element, then a second pass
    return _kernel(name, checks, per_row, f"rows * m * {cost}", threshold)


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
              "        if (args[1].shape[d] != args[0].shape[d]) return TC_ERROR(TC_ERR_SHAPE, 1);",
              f"    const tc_intp m = args[0].shape[{nd - 1}];",
              "    tc_intp rows = 1;",
              f"    for (int d = 0; d < {nd - 1}; d++) rows *= args[0].shape[d];",
              "    if (rows == 0) return 0;",
              f"    const int unit = args[0].strides[{nd - 1}] == sizeof({t});"]
    per_row = _row_pointers(1, nd) + [f"const tc_intp s0 = args[0].strides[{nd - 1}];", f"{t} res;"]

    def body(at: At) -> list[str]:
        return _row_max(t, at) + [
            "if (nan_ || mx == INFINITY || mx == -INFINITY) {",
            "    res = mx;  /* NaN; +inf; all -inf or empty: -inf */",
            "} else {"] + ["    " + x for x in _sum_exp(t, f, at, None)] + [
            "    double r_ = (double)mx + log(acc);",
            "    if (fabs(r_) < 1.0) {  /* rounding 1 + tiny terms would cost relative digits */"] + [
            "        " + x for x in _sum_exp_off_max(t, f, at)] + [
            "        r_ = (double)mx + log1p(rest + (ones - 1.0));",
            "    }",
            f"    res = ({t})r_;",
            "}"]
    per_row += _unit_or_strided(t, range(1), body) + [f"*({t} *)b1 = res;"]
    return _kernel(name, checks, per_row, "rows * (m + 1) * 10", threshold)


def _row_max(t: str, at: At) -> list[str]:
    """SIMD max of the row into ``mx``; a NaN anywhere makes ``mx`` NaN (numpy's max)."""
    return [f"{t} mx = -INFINITY; int nan_ = 0;",
            "_Pragma(\"omp simd reduction(max:mx) reduction(|:nan_)\")",
            "for (tc_intp i = 0; i < m; i++) {",
            f"    const {t} v = {at(0)};",
            "    mx = v > mx ? v : mx;",
            "    nan_ |= v != v;",
            "}",
            f"if (nan_) mx = ({t})NAN;"]


def _sum_exp(t: str, f: str, at: At, store: str | None) -> list[str]:
    """``double acc = sum(exp(x - mx))`` over the row, storing each exponential in
    ``store`` when given.  Each float32 exponential is widened to double (two
    ``vcvtps2pd`` per 8-wide ``expf`` call: free next to the call, measured)."""
    cast = "(double)" if f else ""
    return ["double acc = 0.0;",
            "_Pragma(\"omp simd reduction(+:acc)\")",
            "for (tc_intp i = 0; i < m; i++) {",
            f"    const {t} e = exp{f}({at(0)} - mx);"] + ([f"    {store} = e;"] if store else []) + [
            f"    acc += {cast}e;",
            "}"]


def _sum_exp_off_max(t: str, f: str, at: At) -> list[str]:
    """``rest``: the sum of ``exp(x - mx)`` over the elements below the (finite) max, and
    ``ones``: how many equal it; ``log1p(rest + ones - 1)`` keeps the digits that
    ``log(1 + rest)`` loses when the other elements are tiny (``[0, -25]``).  The select
    and the count cost ~30% in the loop: only rows whose result is below 1 take it."""
    cast = "(double)" if f else ""
    return ["double rest = 0.0, ones = 0.0;",
            "_Pragma(\"omp simd reduction(+:rest, ones)\")",
            "for (tc_intp i = 0; i < m; i++) {",
            f"    const {t} d = {at(0)} - mx;",
            f"    const {t} e = exp{f}(d);",
            f"    rest += d == 0 ? 0.0 : {cast}e;",
            "    ones += d == 0 ? 1.0 : 0.0;",
            "}"]


def _row_body(kind: str, t: str, f: str, nin: int, at: At) -> list[str]:
    """Statements for one row; ``at(k)`` is element i of operand k in this row."""
    y = nin
    if kind == "softmax_grad":  # inputs dy, sm: out = (dy - sum(dy * sm)) * sm
        return ["double acc = 0.0;",
                "_Pragma(\"omp simd reduction(+:acc)\")",
                f"for (tc_intp i = 0; i < m; i++) acc += (double){at(0)} * (double){at(1)};",
                f"const {t} tot = ({t})acc;",
                "_Pragma(\"omp simd\")",
                f"for (tc_intp i = 0; i < m; i++) {at(y)} = ({at(0)} - tot) * {at(1)};"]
    lines = _row_max(t, at)
    if kind == "softmax":
        return lines + _sum_exp(t, f, at, at(y)) + [
            f"const {t} inv = ({t})(1.0 / acc);",
            "_Pragma(\"omp simd\")",
            f"for (tc_intp i = 0; i < m; i++) {at(y)} *= inv;"]
    return lines + _sum_exp(t, f, at, None) + [
        f"const {t} lg = ({t})log(acc);",
        "_Pragma(\"omp simd\")",
        f"for (tc_intp i = 0; i < m; i++) {at(y)} = ({at(0)} - mx) - lg;"]
