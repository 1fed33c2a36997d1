"""C source of row-wise kernels along the last axis: ``Softmax``, ``LogSoftmax`` and
``SoftmaxGrad``.

Each row is processed in two or three passes (max, sum of exponentials, scale) with
SIMD loops; rows are distributed over OpenMP threads above the size threshold.  The
float32 kernels call the float32 libm functions (``expf``, ``logf``) and accumulate the
row sum in double.

>>> import tensorc.tensor as T
>>> from tensorc.ops.nnet import Softmax
>>> x = T.dmatrix('x')
>>> src, ins, shape_fn, _ = render_rows_node(Softmax()(x).owner, 'k0', 32768)
>>> shape_fn([(2, 5)])
[(2, 5)]
"""
from __future__ import annotations

from typing import Any

from tensorc.backend.c.render.common import ctype, libm_suffix, par_for, parallel_kernel
from tensorc.graph.basic import Apply


def render_rows_node(node: Apply, name: str, threshold: int) -> Any:
    """(source, kernel inputs, shape function, {}) for a row-wise node, or None."""
    from tensorc.ops import nnet
    op = node.op
    kinds = {nnet.Softmax: "softmax", nnet.LogSoftmax: "log_softmax", nnet.SoftmaxGrad: "softmax_grad"}
    kind = kinds.get(type(op))
    if kind is None:
        return None
    ins = list(node.inputs)
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or any(v.type.dtype != dtype for v in ins):
        return None
    nd = node.outputs[0].ndim
    if nd == 0 or any(v.ndim != nd for v in ins) or any(any(v.broadcastable) for v in ins):
        return None
    src = render_rows(name, kind, dtype, nd, len(ins), threshold)
    return src, ins, lambda shapes: [tuple(shapes[0])], {}


def _row_pointers(nin: int, nd: int) -> list[str]:
    lines = ["tc_intp r_ = row;"] + [f"char *b{k} = args[{k}].data;" for k in range(nin + 1)]
    for d in range(nd - 2, -1, -1):
        lines.append(f"{{ const tc_intp i_ = r_ % args[0].shape[{d}]; r_ /= args[0].shape[{d}];")
        lines += [f"  b{k} += i_ * args[{k}].strides[{d}];" for k in range(nin + 1)]
        lines.append("}")
    return lines


def render_rows(name: str, kind: str, dtype: str, nd: int, nin: int, threshold: int) -> str:
    """C source of the row kernel ``name`` (args: inputs then the output, same shape)."""
    t, f = ctype(dtype), libm_suffix(dtype)
    L = [f"int {name}(const tc_arg *args) {{",
         f"    for (int k = 0; k < {nin + 1}; k++) {{",
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
    strided = lambda k, i="i": f"(*({t} *)(b{k} + {i} * s{k}))"  # noqa: E731
    unit = lambda k, i="i": f"w{k}[{i}]"  # noqa: E731
    # typed pointers in locals: element loads through a cast of b{k} vectorised as gathers
    per_row += ["if (unit) {"] + [f"    {t} *w{k} = ({t} *)b{k};" for k in range(nin + 1)]
    per_row += ["    " + x for x in _row_body(kind, t, f, nin, unit)]
    per_row += ["} else {"] + ["    " + x for x in _row_body(kind, t, f, nin, strided)] + ["}"]
    body = ["    " + x for x in per_row]
    cost = 3 if kind == "softmax_grad" else 12  # exp per element, then a second pass
    head, tail = par_for(name, "row", "rows", f"rows * m * {cost}", threshold)
    L += ["    " + x for x in head] + ["        " + x for x in body] + ["    " + x for x in tail]
    L += ["    return 0;", "}"]
    return parallel_kernel(name, "\n".join(L) + "\n")


def _row_body(kind: str, t: str, f: str, nin: int, at: Any) -> list[str]:
    """Statements for one row; ``at(k)`` is element i of operand k in this row."""
    y = nin
    if kind == "softmax_grad":  # inputs dy, sm: out = (dy - sum(dy * sm)) * sm
        return ["double acc = 0.0;",
                "_Pragma(\"omp simd reduction(+:acc)\")",
                f"for (tc_intp i = 0; i < m; i++) acc += (double){at(0)} * (double){at(1)};",
                f"const {t} tot = ({t})acc;",
                "_Pragma(\"omp simd\")",
                f"for (tc_intp i = 0; i < m; i++) {at(y)} = ({at(0)} - tot) * {at(1)};"]
    # SIMD max plus a NaN flag: a NaN anywhere in the row makes the row NaN, as in numpy
    lines = [f"{t} mx = -INFINITY; int nan_ = 0;",
             "_Pragma(\"omp simd reduction(max:mx) reduction(|:nan_)\")",
             "for (tc_intp i = 0; i < m; i++) {",
             f"    const {t} v = {at(0)};",
             "    mx = v > mx ? v : mx;",
             "    nan_ |= v != v;",
             "}",
             f"if (nan_) mx = ({t})NAN;",
             "double acc = 0.0;"]
    if kind == "softmax":
        lines += ["_Pragma(\"omp simd reduction(+:acc)\")",
                  "for (tc_intp i = 0; i < m; i++) {",
                  f"    const {t} e = exp{f}({at(0)} - mx);",
                  f"    {at(y)} = e;",
                  "    acc += (double)e;",
                  "}",
                  f"const {t} inv = ({t})(1.0 / acc);",
                  "_Pragma(\"omp simd\")",
                  f"for (tc_intp i = 0; i < m; i++) {at(y)} *= inv;"]
    else:
        lines += ["_Pragma(\"omp simd reduction(+:acc)\")",
                  f"for (tc_intp i = 0; i < m; i++) acc += (double)exp{f}({at(0)} - mx);",
                  f"const {t} lg = ({t})log(acc);",
                  "_Pragma(\"omp simd\")",
                  f"for (tc_intp i = 0; i < m; i++) {at(y)} = ({at(0)} - mx) - lg;"]
    return lines
