"""C source of fused elementwise loops.

``render_loop(name, body, in_bcast)`` turns a scalar SSA ``Body`` (see
``tensorc.ops.fused``) and the static broadcast patterns of its inputs into one
kernel ``int name(const tc_arg *args)`` whose args are the inputs then the outputs.
The kernel

- checks every operand's ndim and shape against the static patterns (a
  non-broadcastable dimension must equal the output's, a broadcastable one must be 1);
- collapses dimensions that are contiguous for every operand (C-contiguous operands
  make one flat row) and runs rows cut into pieces, spread over the thread pool above
  ``threshold`` elements; inputs broadcast along the last dimension are read once per
  piece.

Only the loop body is specialised per kernel (``name_body``: one ``omp simd`` loop over
unit-stride operands, returning 0 or an error code: a step numpy may reject, an integer
power with a negative exponent, ORs its check into a flag and the body returns
``TC_ERR_NEG_POWER``, which the runner raises as numpy's ``ValueError``); the checks, the
collapsing, the pieces and the threads are the shared driver ``tc_ew_run``
(``csrc/tensorc_ew.c``), compiled once into the extension ``tensorc._ext`` and reached
through a hook (``tensorc.backend.c.ewdriver``). Operands with another inner stride
(transposed, sliced) go through a small buffer in chunks, so strided calls run the same
vectorised body. gcc's time per kernel is a fifth of a kernel carrying
its own strided loop and shape code.

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
                                             literal)
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


def body_supported(body: Body, *, checks: bool = False) -> bool:
    """True when every dtype has a C type and every step's row has a C template.

    A body with a step that can fail (``failing_steps``: an integer power whose exponent
    may be negative) is supported only by a renderer that reports the failure
    (``checks=True``: ``render_loop``); other renderers (reductions over a fused body)
    leave it to numpy, which raises.
    """
    dtypes = set(body.in_dtypes) | {d for d, _ in body.constants}
    for s in body.steps:
        dtypes |= set(s.arg_dtypes) | {s.out_dtype, s.compute}
        if BY_NAME[s.row].c_template(np.dtype(s.compute).kind) is None:
            return False
    return dtypes <= C_DTYPES and (checks or not failing_steps(body))


#: The kernel-local flag a body sets when a checked step fails, and the code it returns.
FAIL_FLAG = "tc_bad_"
FAIL_ERROR = "TC_ERROR(TC_ERR_NEG_POWER, 0)"


def failing_steps(body: Body) -> dict[int, int]:
    """Step index -> the argument the step needs non-negative, for the steps of ``body``
    that numpy may reject (see ``Row.nonneg_int_arg``): a signed integer compute dtype and
    an argument that is not a non-negative constant.

    >>> import tensorc.tensor as T
    >>> x, y = T.iscalar('x'), T.iscalar('y')
    >>> [failing_steps(elemwise_body(e.owner)[0]) for e in (x ** y, x ** -3, x ** 3)]
    [{0: 1}, {0: 1}, {}]
    """
    out = {}
    for k, s in enumerate(body.steps):
        arg = BY_NAME[s.row].nonneg_int_arg
        if arg is None or np.dtype(s.compute).kind != "i":
            continue
        kind, j = s.args[arg]
        if kind == "const" and np.asarray(body.constants[j][1], body.constants[j][0]).astype(
                s.arg_dtypes[arg]) >= 0:
            continue
        out[k] = arg
    return out


def body_statements(body: Body, load: Sequence[str], indent: str, *, checks: bool = False) -> list[str]:
    """C statements computing every step of ``body``; input k is the C expression ``load[k]``.

    With ``checks`` a step that can fail (``failing_steps``) also ORs its failure into the
    int ``FAIL_FLAG``, which the caller declares and reports; without, the body must have
    none (``body_supported``).
    """
    def ref(r: Ref) -> str:
        kind, k = r
        if kind == "in":
            return load[k]
        if kind == "const":
            return literal(*body.constants[k])
        return f"s{k}"

    failing = failing_steps(body)
    assert checks or not failing, "a body whose steps can fail needs checks=True"
    lines = []
    for k, s in enumerate(body.steps):
        args = [convert(ref(r), body.out_dtype(r), dt) for r, dt in zip(s.args, s.arg_dtypes)]
        template = BY_NAME[s.row].c_template(np.dtype(s.compute).kind)
        assert template is not None
        expr = template.format(*args, t=s.compute, f=libm_suffix(s.compute))
        lines.append(f"{indent}const {ctype(s.out_dtype)} s{k} = {convert(expr, s.compute, s.out_dtype)};")
        if k in failing:
            lines.append(f"{indent}{FAIL_FLAG} |= ({args[failing[k]]}) < 0;")
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

    checks = bool(failing_steps(body))
    flag = [f"    int {FAIL_FLAG} = 0;"] if checks else []

    def store(load: list[str], dest: list[str], indent: str, *, fail_before_store: bool) -> list[str]:
        st = body_statements(body, load, indent, checks=checks)
        if checks and fail_before_store:
            st.append(f"{indent}if ({FAIL_FLAG}) return {FAIL_ERROR};")
        vals = output_exprs(body, load)
        srcd = [body.out_dtype(r) for r in body.outputs]
        return st + [f"{indent}{dest[j]} = {convert(vals[j], srcd[j], out_d[j])};" for j in range(nout)]

    if nd == 0:
        lines = [f"int {name}(const tc_arg *args) {{"] + _validate(nin, nout, in_bcast, nd)
        lines += [f"    const {in_t[k]} c{k} = *(const {in_t[k]} *)args[{k}].data;" for k in range(nin)]
        dest = [f"*({out_t[j]} *)args[{nin + j}].data" for j in range(nout)]
        lines += flag + ["    {"] + store([f"c{k}" for k in range(nin)], dest, "        ", fail_before_store=True)
        return "\n".join(lines + ["    }", "    return 0;", "}"]) + "\n"
    hoist = [b[nd - 1] for b in in_bcast]
    types = in_t + out_t
    lines = [f"static int {name}_body(tc_intp n, char *const *b) {{"]
    for k in range(nin + nout):
        if k < nin and hoist[k]:
            lines.append(f"    const {types[k]} h{k} = *(const {types[k]} *)b[{k}];")
        else:
            const = "const " if k < nin else ""
            lines.append(f"    {const}{types[k]} *restrict p{k} = ({const}{types[k]} *)b[{k}];")
    reduction = f" reduction(|:{FAIL_FLAG})" if checks else ""
    lines += flag + [f"    _Pragma(\"omp simd{reduction}\")", "    for (tc_intp i = 0; i < n; i++) {"]
    lines += store([f"h{k}" if hoist[k] else f"p{k}[i]" for k in range(nin)],
                   [f"p{nin + j}[i]" for j in range(nout)], "        ", fail_before_store=False)
    masks = [sum(1 << d for d in range(nd) if in_bcast[k][d]) for k in range(nin)] + [0] * nout
    cost = body_cost([s.row for s in body.steps])
    result = f"{FAIL_FLAG} ? {FAIL_ERROR} : 0" if checks else "0"
    lines += ["    }", f"    return {result};", "}",
              f"int {name}(const tc_arg *args) {{",
              f"    static const uint64_t bcmask[{nin + nout}] = {{{', '.join(map(str, masks))}}};",
              f"    static const tc_intp isz[{nin + nout}] = "
              f"{{{', '.join(f'sizeof({t})' for t in types)}}};",
              f"    tc_intp dims[{nd}], st[{(nin + nout) * nd}];",
              f"    tc_ew_call c = {{args, bcmask, isz, {name}_body, {nin}, {nout}, {nd}, 0, dims, st, 0, 0, "
              f"tc_parallel_hook, 0}};",
              f"    return tc_ew_run(&c, {cost}, {threshold});", "}"]
    return "\n".join(lines) + "\n"


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
"""
