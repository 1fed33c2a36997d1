"""C source of fused elementwise loops.

``render_loop(name, body, in_bcast)`` turns a scalar SSA ``Body`` (see
``tensorc.ops.fused``) and the static broadcast patterns of its inputs into one
kernel ``int name(const tc_arg *args)`` whose args are the inputs then the outputs.
The kernel

- checks every operand's ndim and shape against the static patterns (a
  non-broadcastable dimension must equal the output's, a broadcastable one must be 1);
- collapses dimensions that are contiguous for every operand (C-contiguous operands
  make one flat row) and runs rows cut into pieces: a contiguous SIMD loop
  (``#pragma omp simd``) when the inner strides allow, a strided one otherwise;
  inputs broadcast along the last dimension are loaded once per row;
- spreads the pieces over the thread pool above ``threshold`` elements.

``elemwise_body(node)`` makes the one-step body of a plain ``Elemwise`` node.

>>> import tensorc.tensor as T
>>> x = T.dvector('x')
>>> body, ins = elemwise_body((x * 2).owner)
>>> src = render_loop('k0', body, [v.broadcastable for v in ins])
>>> 'int k0(const tc_arg *args)' in src
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.c.render.common import (C_DTYPES, body_cost, convert, ctype, libm_suffix,
                                             literal, par_for, parallel_kernel)
from tensorc.graph.basic import Apply, Constant
from tensorc.ops.elemwise_table import BY_NAME
from tensorc.ops.fused import Body, Ref, Step


def inlinable_constant(v: Any) -> bool:
    """True for a constant that can be written into the C source as a literal."""
    return (isinstance(v, Constant) and v.type.dtype in C_DTYPES
            and all(v.type.broadcastable) and np.asarray(v.data).size == 1)


def elemwise_body(node: Apply) -> tuple[Body, list[Any]]:
    """The one-step ``Body`` of an ``Elemwise`` node, scalar constants inlined.

    Returns the body and the node inputs that remain kernel arguments.
    """
    op = node.op
    row = op.row
    compute = op.compute_dtype(node)
    kept: list[Any] = []
    consts: list[tuple[str, Any]] = []
    refs: list[Ref] = []
    for v in node.inputs:
        if inlinable_constant(v):
            refs.append(("const", len(consts)))
            consts.append((v.type.dtype, np.asarray(v.data).reshape(()).item()))
        else:
            refs.append(("in", len(kept)))
            kept.append(v)
    arg_dtypes = tuple(v.type.dtype if k < row.promote_from else compute
                       for k, v in enumerate(node.inputs))
    step = Step(row.name, tuple(refs), arg_dtypes, node.outputs[0].type.dtype, compute)
    body = Body(len(kept), tuple(v.type.dtype for v in kept), tuple(consts), (step,), (("step", 0),))
    return body, kept


def body_supported(body: Body) -> bool:
    """True when every dtype has a C type and every step's row has a C template."""
    dtypes = set(body.in_dtypes) | {d for d, _ in body.constants}
    for s in body.steps:
        dtypes |= set(s.arg_dtypes) | {s.out_dtype, s.compute}
        if BY_NAME[s.row].c_template(np.dtype(s.compute).kind) is None:
            return False
    return dtypes <= C_DTYPES


def body_statements(body: Body, load: Sequence[str], indent: str) -> list[str]:
    """C statements computing every step of ``body``; input k is the C expression ``load[k]``."""
    def ref(r: Ref) -> str:
        kind, k = r
        if kind == "in":
            return load[k]
        if kind == "const":
            return literal(*body.constants[k])
        return f"s{k}"

    lines = []
    for k, s in enumerate(body.steps):
        args = [convert(ref(r), body.out_dtype(r), dt) for r, dt in zip(s.args, s.arg_dtypes)]
        template = BY_NAME[s.row].c_template(np.dtype(s.compute).kind)
        assert template is not None
        expr = template.format(*args, t=s.compute, f=libm_suffix(s.compute))
        lines.append(f"{indent}const {ctype(s.out_dtype)} s{k} = {convert(expr, s.compute, s.out_dtype)};")
    return lines


def output_exprs(body: Body, load: Sequence[str]) -> list[str]:
    """The C expression of each body output (after ``body_statements``)."""
    out = []
    for kind, k in body.outputs:
        out.append(load[k] if kind == "in" else literal(*body.constants[k]) if kind == "const" else f"s{k}")
    return out


def _validate(nin: int, nout: int, in_bcast: Sequence[Sequence[bool]], nd: int) -> list[str]:
    lines = [f"    for (int k = 0; k < {nin + nout}; k++)",
             f"        if (args[k].ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, k);"]
    if nd == 0:
        return lines
    lines.append(f"    const tc_intp *shp = args[{nin}].shape;")
    out_b = [all(b[d] for b in in_bcast) if in_bcast else False for d in range(nd)]
    for d in range(nd):
        if out_b[d]:
            lines.append(f"    if (shp[{d}] != 1) return TC_ERROR(TC_ERR_SHAPE, {nin});")
    for k in range(nin + 1, nin + nout):
        lines.append(f"    for (int d = 0; d < {nd}; d++) if (args[{k}].shape[d] != shp[d]) "
                     f"return TC_ERROR(TC_ERR_SHAPE, {k});")
    for k, b in enumerate(in_bcast):
        for d in range(nd):
            want = "1" if b[d] else f"shp[{d}]"
            lines.append(f"    if (args[{k}].shape[{d}] != {want}) return TC_ERROR(TC_ERR_SHAPE, {k});")
    return lines


def render_loop(name: str, body: Body, in_bcast: Sequence[Sequence[bool]], *,
                threshold: int = 32768, out_types: Sequence[str] | None = None) -> str:
    """C source of the elementwise kernel ``name`` (see the module docstring)."""
    nin, nout = body.n_in, len(body.outputs)
    nd = len(in_bcast[0]) if in_bcast else 0
    in_t = [ctype(d) for d in body.in_dtypes]
    out_d = list(out_types) if out_types is not None else [body.out_dtype(r) for r in body.outputs]
    out_t = [ctype(d) for d in out_d]
    scalar = [all(b) for b in in_bcast]
    lines = [f"int {name}(const tc_arg *args) {{"]
    lines += _validate(nin, nout, in_bcast, nd)
    n_expr = " * ".join(f"shp[{d}]" for d in range(nd)) or "1"
    lines.append(f"    const tc_intp n = {n_expr};")
    lines.append("    if (n == 0) return 0;")
    for k in range(nin):
        if scalar[k]:
            lines.append(f"    const {in_t[k]} c{k} = *(const {in_t[k]} *)args[{k}].data;")

    def store(load: list[str], dest: list[str], indent: str) -> list[str]:
        st = body_statements(body, load, indent)
        vals = output_exprs(body, load)
        srcd = [body.out_dtype(r) for r in body.outputs]
        return st + [f"{indent}{dest[j]} = {convert(vals[j], srcd[j], out_d[j])};" for j in range(nout)]

    if nd == 0:
        load = [f"c{k}" for k in range(nin)]
        dest = [f"*({out_t[j]} *)args[{nin + j}].data" for j in range(nout)]
        lines += ["    {"] + store(load, dest, "        ") + ["    }", "    return 0;", "}"]
        return "\n".join(lines) + "\n"
    lines += _strided(name, nin, nout, in_bcast, scalar, in_t, out_t, store, threshold,
                      body_cost([s.row for s in body.steps]))
    lines += ["    return 0;", "}"]
    return parallel_kernel(name, "\n".join(lines) + "\n")


def _strided(name: str, nin: int, nout: int, in_bcast: Sequence[Sequence[bool]],
             scalar: list[bool], in_t: list[str], out_t: list[str], store: Any,
             threshold: int, cost: int) -> list[str]:
    """The loop of an elementwise kernel: dimensions collapsed where every operand is
    contiguous (a C-contiguous call is one row), rows cut into pieces of at least
    ``_PIECE`` elements, pieces spread over the thread pool; each piece is a unit-stride
    SIMD loop when the inner strides allow, else a strided loop."""
    nd = len(in_bcast[0]) if in_bcast else 0
    na = nin + nout
    types = in_t + out_t
    masks = [str(sum(1 << d for d in range(nd) if (in_bcast[k] if k < nin else [False] * nd)[d]))
             for k in range(na)]
    lines = [f"    static const uint64_t bcmask[{na}] = {{{', '.join(masks)}}};",
             f"    tc_intp dims[{nd}], st[{na}][{nd}];",
             f"    int nc = tc_collapse({nd}, {na}, args, shp, bcmask, &dims[0], &st[0][0]);",
             "    tc_intp outer = 1;",
             "    for (int j = 1; j < nc; j++) outer *= dims[j];",
             "    const tc_intp inner = dims[0];",
             f"    const tc_intp npc = (inner + {_PIECE - 1}) / {_PIECE};  /* pieces per row */"]
    hoist = [k < nin and in_bcast[k][nd - 1] for k in range(na)]
    body: list[str] = [f"char *b[{na}];",
                       "tc_intp r = u / npc;",
                       "const tc_intp i0 = inner * (u % npc) / npc, i1 = inner * (u % npc + 1) / npc;"]
    body += [f"b[{k}] = args[{k}].data;" for k in range(na)]
    body += ["for (int j = 1; j < nc; j++) {",
             "    const tc_intp ij = r % dims[j];", "    r /= dims[j];"]
    body += [f"    b[{k}] += ij * st[{k}][j];" for k in range(na) if not (k < nin and scalar[k])]
    body.append("}")
    for k in range(nin):
        if hoist[k] and not scalar[k]:
            body.append(f"const {in_t[k]} h{k} = *(const {in_t[k]} *)b[{k}];")
    unit = [k for k in range(na) if not hoist[k] and not (k < nin and scalar[k])]
    cond = " && ".join(f"st[{k}][0] == sizeof({types[k]})" for k in unit) or "1"
    load_c = [f"c{k}" if scalar[k] else f"h{k}" if hoist[k] else f"p{k}[i]" for k in range(nin)]
    dest_c = [f"p{nin + j}[i]" for j in range(nout)]
    load_s = [f"c{k}" if scalar[k] else f"h{k}" if hoist[k] else
              f"*(const {in_t[k]} *)(b[{k}] + i * st[{k}][0])" for k in range(nin)]
    dest_s = [f"*({out_t[j]} *)(b[{nin + j}] + i * st[{nin + j}][0])" for j in range(nout)]
    body.append(f"if ({cond}) {{")
    body += [f"    {'const ' if k < nin else ''}{types[k]} *restrict p{k} = "
             f"({'const ' if k < nin else ''}{types[k]} *)b[{k}];" for k in unit]
    body += ["    _Pragma(\"omp simd\")", "    for (tc_intp i = i0; i < i1; i++) {"]
    body += store(load_c, dest_c, "        ")
    body += ["    }", "} else {", "    for (tc_intp i = i0; i < i1; i++) {"]
    body += store(load_s, dest_s, "        ")
    body += ["    }", "}"]
    head, tail = par_for(name, "u", "outer * npc", f"n * {cost}", threshold)
    lines += ["    " + x for x in head] + ["        " + x for x in body] + ["    " + x for x in tail]
    return lines


#: Elements per piece of a row: rows longer than this are cut so that one long
#: contiguous loop still spreads over the threads.
_PIECE = 8192


#: Helpers every elementwise kernel uses (emitted once per library, after PREAMBLE).
LOOP_HELPERS = r"""
/* 1 when a is C-contiguous (size-1 dimensions may have any stride) */
static inline int tc_contig(const tc_arg *a, tc_intp itemsize) {
    tc_intp want = itemsize;
    for (int d = a->ndim - 1; d >= 0; d--) {
        if (a->shape[d] != 1 && a->strides[d] != want) return 0;
        want *= a->shape[d];
    }
    return 1;
}
/* Collapse the loop over shape shp (nd dims) for na operands into nc <= nd dims,
 * innermost first: dims[j], st[k*nd + j] (bytes; 0 where bcmask[k] marks a
 * broadcast dimension).  Size-1 outer dimensions are dropped; a dimension merges
 * into the one inside it when every operand is contiguous across the pair. */
static inline int tc_collapse(int nd, int na, const tc_arg *args, const tc_intp *shp,
                              const uint64_t *bcmask, tc_intp *dims, tc_intp *st) {
    int nc = 1;
    dims[0] = shp[nd - 1];
    for (int k = 0; k < na; k++)
        st[k * nd] = (bcmask[k] >> (nd - 1)) & 1 ? 0 : args[k].strides[nd - 1];
    for (int d = nd - 2; d >= 0; d--) {
        if (shp[d] == 1) continue;
        int merge = 1;
        for (int k = 0; k < na && merge; k++) {
            tc_intp s = (bcmask[k] >> d) & 1 ? 0 : args[k].strides[d];
            if (s != st[k * nd + nc - 1] * dims[nc - 1]) merge = 0;
        }
        if (merge) {
            dims[nc - 1] *= shp[d];
            continue;
        }
        dims[nc] = shp[d];
        for (int k = 0; k < na; k++)
            st[k * nd + nc] = (bcmask[k] >> d) & 1 ? 0 : args[k].strides[d];
        nc++;
    }
    return nc;
}
"""
