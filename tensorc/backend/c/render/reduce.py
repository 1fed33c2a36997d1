"""C source of reductions: ``Reduce`` (sum/prod/max/min/all/any), ``Argmax`` and
``FusedReduce`` (an elementwise body feeding a reduction).

One kernel ``int name(const tc_arg *args)``: inputs (the body's), then the output.
The loop runs over the broadcast shape ``F`` of the inputs; the kept dimensions
index the output, the reduced ones are accumulated in the accumulation dtype.

Only one loop is specialised per kernel (compile time: gcc spent most of a kernel's
time optimising the same SIMD block loop once per path and layout):

- ``name_blk`` (``render/reduce_block.py``) reduces one block of unit-stride operands.
  Float sums add ``BLOCK`` elements in ``LANES`` independent lanes (float32 values in
  float32 lanes flushed into float64), block sums are combined pairwise (``tc_casc``),
  as accurate as numpy's pairwise summation.
- A full reduction over contiguous inputs (C order; Fortran order too but for arg*,
  whose index is C order) is cut into at most 256 parts of whole
  blocks, run on the thread pool; the parts' results are combined in order (arg*
  search the first part holding the extremum afterwards).
- Otherwise each output element reduces its runs of the innermost reduced dimension
  block by block; operands with another stride along it are first copied into a small
  buffer (``tc_red_ptrs``), so they run the same SIMD block.
- Reductions with kept and reduced dimensions run the column path instead when the
  strides say so at run time (``render/reduce_cols.py``: the last kept dimension has the
  smaller strides, as for ``sum(x, axis=0)`` or ``sum(x.T, axis=1)``; a second
  specialised function ``name_col`` over a row segment).  Kernels reducing the last
  dimension have it only for bodies without math functions (``COL_COST_MAX``): compile
  time, and a math body costs more than the copies of its strided runs.
- max/min/argmax of an empty axis return an error (numpy raises too), checked once per
  call before the empty-output return: an empty output does not excuse it.

>>> import tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> src, ins, shape_fn, _ = render_reduce_node(T.sum(x, axis=1).owner, 'k0', 32768)
>>> shape_fn([(3, 4)])
[(3,)]
>>> src.count('omp simd') <= 3  # one block function
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.c.render.common import C_DTYPES, body_cost, convert, ctype, par_for, parallel_kernel
from tensorc.backend.c.render.elemwise import body_supported
from tensorc.backend.c.render.reduce_block import BLOCK, block_functions, combine, identity, is_pairwise
from tensorc.backend.c.render.reduce_cols import render_columns
from tensorc.graph.basic import Apply
from tensorc.ops.fused import Body

#: Parts of a flat full reduction at most (the thread pool's chunks take whole parts).
_MAX_PARTS = 256
#: Bytes of the stack buffer that strided operands are copied into, per block.
BUF_BYTES = 32768
#: Body cost (``body_cost``) below which a kernel reducing its last dimension also gets
#: the column path for transposed operands (no math function in the body).
COL_COST_MAX = 8

_KIND = {"sum": "add", "prod": "mul", "max": "maximum", "min": "minimum", "all": "and", "any": "or"}

CASCADE_HELPERS = r"""
/* the specialised loop of a reduction kernel: one out-of-line copy per kernel */
#define TC_RED_NOINLINE __attribute__((noinline))
/* pairwise combination of block sums: s[l] holds a sum of 2**l blocks */
typedef struct { double s[64]; uint64_t n; } tc_casc;
static inline void tc_casc_push(tc_casc *c, double v) {
    uint64_t n = c->n++;
    int l = 0;
    while (n & 1) { v += c->s[l]; n >>= 1; l++; }
    c->s[l] = v;
}
static inline double tc_casc_total(const tc_casc *c) {
    double t = 0.0;
    uint64_t n = c->n;
    for (int l = 0; n; l++, n >>= 1) if (n & 1) t += c->s[l];
    return t;
}
/* 1 when a is Fortran-contiguous (size-1 dimensions may have any stride) */
static inline int tc_fcontig(const tc_arg *a, tc_intp itemsize) {
    tc_intp want = itemsize;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] != 1 && a->strides[d] != want) return 0;
        want *= a->shape[d];
    }
    return 1;
}
"""


def reduce_helpers() -> str:
    """What every kernel library holds for its reduction kernels: the column driver's
    part (``backend/c/reddriver.py``: its call layout, the copy helper ``tc_red_ptrs``
    and the hook, or the whole driver without the extension) and the block-sum helpers."""
    from tensorc.backend.c.reddriver import driver_source
    return driver_source() + CASCADE_HELPERS


def render_reduce_node(node: Apply, name: str, threshold: int) -> Any:
    """(source, kernel inputs, shape function, {}) for a reduction node, or None."""
    from tensorc.ops.fused import FusedReduce
    from tensorc.ops.reduce import Argmax, Reduce
    op = node.op
    x_out = node.outputs[0]
    if isinstance(op, Reduce):
        x = node.inputs[0]
        body = Body(1, (x.type.dtype,), (), (), (("in", 0),))
        spec = (op.scalar_op, tuple(op.axis), False, op.acc_dtype, op.dtype)
        inputs = [x]
    elif isinstance(op, Argmax):
        x = node.inputs[0]
        body = Body(1, (x.type.dtype,), (), (), (("in", 0),))
        spec = ("arg" + op.kind, tuple(op.axis), False, x.type.dtype, "int64")
        inputs = [x]
    elif isinstance(op, FusedReduce):
        body = op.body
        spec = (_KIND[op.kind], op.axis, op.keepdims, op.acc_dtype, op.out_dtype)
        inputs = list(node.inputs)
    else:
        return None
    kind, axis, keepdims, acc, out = spec
    elem = body.out_dtype(body.outputs[0])
    if not body_supported(body) or not {elem, acc, out} <= C_DTYPES or x_out.type.dtype != out:
        return None
    if np.dtype(elem).kind == "c" and kind not in ("add", "mul"):
        return None
    if not inputs:
        return None
    bc = [v.type.broadcastable for v in inputs]
    nd = len(bc[0])
    if len(set(axis)) != len(axis) or any(not 0 <= a < nd for a in axis):
        return None
    src = render_reduce(name, body, bc, kind, axis, keepdims, acc, out, threshold)
    return src, inputs, _shape_fn(bc, axis, keepdims), {}


def _shape_fn(bc: Sequence[Sequence[bool]], axis: Sequence[int], keepdims: bool) -> Any:
    nd = len(bc[0])
    src = [next((k for k, b in enumerate(bc) if not b[d]), -1) for d in range(nd)]
    red = set(axis)
    plan = tuple((d, src[d], d in red) for d in range(nd) if keepdims or d not in red)

    def shape_fn(shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(1 if r else (shapes[k][d] if k >= 0 else 1) for d, k, r in plan)]
    shape_fn.plan = [tuple((-1, -1) if r or k < 0 else (k, d) for d, k, r in plan)]  # type: ignore[attr-defined]
    return shape_fn


def block_len(in_dtypes: Sequence[str], scalar: Sequence[bool], budget: int) -> int:
    """Elements per block: ``BLOCK``, fewer when the copies of the strided operands of
    one block would not fit ``budget`` bytes (a power of two, at least 1).

    >>> block_len(["float64", "float64"], [False, True], 32768), block_len(["complex128"] * 8, [False] * 8, 32768)
    (1024, 256)
    """
    per = max(np.dtype(d).itemsize for d in in_dtypes) if not all(scalar) else 1
    n = BLOCK
    while n > 1 and n * per > budget // max(1, len(in_dtypes)):
        n //= 2
    return n


def render_reduce(name: str, body: Body, bc: Sequence[Sequence[bool]], kind: str,
                  axis: Sequence[int], keepdims: bool, acc: str, out: str, threshold: int) -> str:
    """C source of the reduction kernel ``name`` (see the module docstring)."""
    nin, nd = body.n_in, len(bc[0])
    red = [d for d in range(nd) if d in set(axis)]
    kept = [d for d in range(nd) if d not in set(axis)]
    in_t = [ctype(d) for d in body.in_dtypes]
    is_arg = kind.startswith("arg")
    ond = nd if keepdims else len(kept)
    L = [f"int {name}(const tc_arg *args) {{"]
    L += [f"    for (int k = 0; k < {nin}; k++) if (args[k].ndim != {nd}) return TC_ERROR(TC_ERR_NDIM, k);",
          f"    if (args[{nin}].ndim != {ond}) return TC_ERROR(TC_ERR_NDIM, {nin});"]
    L.append(f"    tc_intp F[{max(nd, 1)}];")
    for d in range(nd):
        src = next((k for k in range(nin) if not bc[k][d]), -1)
        L.append(f"    F[{d}] = {f'args[{src}].shape[{d}]' if src >= 0 else '1'};")
        for k in range(nin):
            want = "1" if bc[k][d] else f"F[{d}]"
            L.append(f"    if (args[{k}].shape[{d}] != {want}) return TC_ERROR(TC_ERR_SHAPE, {k});")
    odims = list(range(nd)) if keepdims else kept
    for j, d in enumerate(odims):
        want = "1" if d in red else f"F[{d}]"
        L.append(f"    if (args[{nin}].shape[{j}] != {want}) return TC_ERROR(TC_ERR_SHAPE, {nin});")
    ostride = {d: f"args[{nin}].strides[{j}]" for j, d in enumerate(odims)}
    L.append("    const tc_intp nred = 1" + "".join(f" * F[{d}]" for d in red) + ";")
    L.append("    const tc_intp nkeep = 1" + "".join(f" * F[{d}]" for d in kept) + ";")
    if kind in ("maximum", "minimum") or is_arg:  # before the empty-output return: numpy
        # raises for an empty reduced axis even when the output is empty too
        L.append("    if (nred == 0) return TC_ERROR(TC_ERR_SHAPE, 0);")
    L.append("    if (nkeep == 0) return 0;")
    L.append(f"    tc_intp S[{nin}][{max(nd, 1)}];")
    for k in range(nin):
        for d in range(nd):
            L.append(f"    S[{k}][{d}] = {'0' if bc[k][d] else f'args[{k}].strides[{d}]'};")
    L.append(f"    static const tc_intp isz_[{nin}] = {{{', '.join(f'sizeof({t})' for t in in_t)}}};")
    cost = body_cost([s.row for s in body.steps])
    shape = (nin, nd, red, kept, bc, in_t)
    inner = red[-1] if red else None
    scalar = [bool(bc[k][inner]) if inner is not None else True for k in range(nin)]
    L.append(f"    static const int sc_[{nin}] = {{{', '.join(str(int(s)) for s in scalar)}}};")
    fns, cold = block_functions(name, body, kind, acc, scalar), ""
    # whole row segments along the last kept dimension, when the strides say so; kernels
    # reducing the last dimension get that second specialised loop only for bodies without
    # math (memory-bound: their strided runs' copies are the cost; gcc ~+20% per kernel)
    if red and kept and (nd - 1 not in red or cost < COL_COST_MAX):
        col, cold, lines = render_columns(name, body, kind, acc, out, shape, keepdims, cost, threshold)
        fns += col
        L += lines
    finish = convert("ai" if is_arg else "a", "int64" if is_arg else acc, out)
    if not kept and not any(any(b) and not all(b) for b in bc):  # flat: one run per input
        L += _flat(name, kind, acc, in_t, bc, ctype(out), finish, cost, threshold)
    L += _per_output(name, kind, acc, shape, ostride, ctype(out), finish, body, scalar, cost, threshold)
    L += ["    return 0;", "}"]
    return fns + _cold(cold + parallel_kernel(name, "\n".join(L) + "\n"))


def _cold(src: str) -> str:
    """``src`` compiled at -O1: the kernel's checks, loops over outputs, parts and blocks
    (their work is in the block function; -O3 on them cost ~40% of a kernel's gcc time).

    >>> _cold("int k;").splitlines()[1]
    '#pragma GCC optimize("O1")'
    """
    return f'#pragma GCC push_options\n#pragma GCC optimize("O1")\n{src}#pragma GCC pop_options\n'


def _flat(name: str, kind: str, acc: str, in_t: list[str], bc: Sequence[Sequence[bool]],
          out_t: str, finish: str, cost: int, threshold: int) -> list[str]:
    """Full reduction over ``nred`` contiguous elements: ``nparts`` parts of whole blocks
    (one part below ``threshold``), possibly on the thread pool, each a loop of
    ``name_blk`` calls; the parts' results combined in order (pairwise for float sums,
    NaN first for max/min).  arg* then search the first part holding the extremum."""
    nin, t = len(in_t), ctype(acc)
    arg = kind.startswith("arg")
    runs = [k for k in range(nin) if not all(bc[k])]
    cond = " && ".join(f"tc_contig(&args[{k}], sizeof({in_t[k]}))" for k in runs) or "1"
    if runs and not arg:  # the order of the elements does not matter: Fortran order too
        cond = f"(({cond}) || (" + " && ".join(f"tc_fcontig(&args[{k}], sizeof({in_t[k]}))"
                                                for k in runs) + "))"
    ptrs = [f"p_[{k}] = args[{k}].data{'' if all(bc[k]) else ' + i0 * isz_[' + str(k) + ']'};"
            for k in range(nin)]

    def blocks(step: str) -> list[str]:
        return ([f"for (tc_intp i0 = lo; i0 < hi; i0 += {step}) {{",
                 f"    const tc_intp n_ = TC_MIN({step}, hi - i0); const char *p_[{nin}];"]
                + ["    " + p for p in ptrs] + [f"    const {t} r_ = {name}_blk(n_, p_);"])
    fold = ["    tc_casc_push(&cs_, r_);"] if is_pairwise(kind, acc) else ["    " + combine(kind, acc)]
    head, tail = par_for(name, "p", "nparts", f"nred * {cost}", threshold,
                         scratch="(double *)(void *)parts")
    part = [f"const tc_intp lo = nblk * p / nparts * {BLOCK}, "
            f"hi = TC_MIN(nblk * (p + 1) / nparts * {BLOCK}, nred);",
            f"{t} a = {identity(kind, acc)}; int first_ = 1; (void)first_;",
            "tc_casc cs_; cs_.n = 0; (void)cs_;"]
    # blocks only where they matter: float sums (pairwise) and the arg* search
    part += blocks(str(BLOCK) if is_pairwise(kind, acc) else "(hi - lo)") + fold + ["}"]
    if is_pairwise(kind, acc):
        part.append(f"a = ({t})tc_casc_total(&cs_);")
        combine_parts = ["tc_casc cs_; cs_.n = 0;",
                         "for (tc_intp p = 0; p < nparts; p++) tc_casc_push(&cs_, parts[p]);",
                         f"{t} a = ({t})tc_casc_total(&cs_);"]
    else:
        combine_parts = [f"{t} a = parts[0]; int first_ = 0;",
                         f"for (tc_intp p = 1; p < nparts; p++) {{ const {t} r_ = parts[p]; {combine(kind, acc)} }}"]
    lines = [f"if ({cond}) {{", f"    const tc_intp nblk = (nred + {BLOCK - 1}) / {BLOCK};",
             f"    {t} parts_l_[{_MAX_PARTS}];",
             f"    {t} *parts = tc_scratch_ ? ({t} *)(void *)tc_scratch_ : parts_l_;",
             "    tc_intp nparts = 1;",
             f"    if (nred >= {threshold}) nparts = nblk < {_MAX_PARTS} ? nblk : {_MAX_PARTS};"]
    lines += ["    " + x for x in head] + ["        " + x for x in part + ["parts[p] = a;"]]
    lines += ["    " + x for x in tail] + ["    " + x for x in combine_parts]
    if arg:  # the first part holding the extremum, its first block holding it, the index
        lines += ["    tc_intp ai = 0, q_ = 0;",
                  "    while (q_ + 1 < nparts && !(parts[q_] == a || (a != a && parts[q_] != parts[q_]))) q_++;",
                  f"    const tc_intp lo = nblk * q_ / nparts * {BLOCK}, "
                  f"hi = TC_MIN(nblk * (q_ + 1) / nparts * {BLOCK}, nred);"]
        lines += ["    " + x for x in blocks(str(BLOCK))]
        lines += ["        if (r_ == a || (a != a && r_ != r_)) { ai = i0 + " + name + "_find(n_, p_, a); break; }",
                  "    }"]
    lines += [f"    *({out_t} *)args[{nin}].data = {finish};", "    return 0;", "}"]
    return ["    " + x for x in lines]


def _outer_offsets(q: str, nin: int, red: Sequence[int], ind: str) -> list[str]:
    """Lines setting ``c[k]``: operand k's run of the reduced index ``q`` (all reduced
    dimensions but the innermost)."""
    lines = [f"{ind}tc_intp t_ = {q};"] + [f"{ind}c[{k}] = b[{k}];" for k in range(nin)]
    for d in reversed(red):
        lines.append(f"{ind}{{ const tc_intp i_ = t_ % F[{d}]; t_ /= F[{d}];"
                     + "".join(f" c[{k}] += i_ * S[{k}][{d}];" for k in range(nin)) + " }")
    return lines


def _per_output(name: str, kind: str, acc: str, shape: tuple, ostride: dict, out_t: str, finish: str,
                body: Body, scalar: Sequence[bool], cost: int, threshold: int) -> list[str]:
    """One output element at a time (on the pool above ``threshold``): its runs of the
    innermost reduced dimension, block by block through ``name_blk`` (strided operands
    copied into a stack buffer first)."""
    nin, nd, red, kept, bc, in_t = shape
    t, arg = ctype(acc), kind.startswith("arg")
    inner = red[-1] if red else None
    blen = block_len(body.in_dtypes, scalar, BUF_BYTES)
    slot = blen * max(np.dtype(d).itemsize for d in body.in_dtypes)
    ilen = f"F[{inner}]" if inner is not None else "1"
    st = ", ".join(f"S[{k}][{inner}]" if inner is not None else "0" for k in range(nin))
    n_outer = "1" + "".join(f" * F[{d}]" for d in red[:-1])
    pairwise = is_pairwise(kind, acc)

    def ptrs(i0: str, ind: str) -> list[str]:
        """``n_`` and ``p_``: the block of the run ``c`` from ``i0`` (in place or copied)."""
        return [f"{ind}const tc_intp n_ = TC_MIN(blen_, {ilen} - {i0}); const char *p_[{nin}];",
                f"{ind}if (unit_) {{" + "".join(f" p_[{k}] = c[{k}] + {i0} * st_[{k}];" for k in range(nin)) + " }",
                f"{ind}else tc_red_ptrs({nin}, c, st_, isz_, sc_, {i0}, n_, buf_, {slot}, p_);"]
    run = [f"    for (tc_intp i0 = 0; i0 < {ilen}; i0 += blen_) {{"] + ptrs("i0", "        ")
    run += [f"        const {t} r_ = {name}_blk(n_, p_);"]
    if pairwise:
        run.append("        tc_casc_push(&cs_, r_);")
    elif arg:
        cmp = ">" if kind == "argmax" else "<"
        run.append(f"        if (first_ || (a == a && (r_ {cmp} a || r_ != r_))) {{ a = r_; bq_ = q_; bi_ = i0; }} first_ = 0;")
    else:
        run.append("        " + combine(kind, acc))
    per = [f"const char *b[{nin}], *c[{nin}]; char *ob = args[{nin}].data; tc_intp rk_ = o;"]
    per += [f"b[{k}] = args[{k}].data;" for k in range(nin)]
    for d in reversed(kept):
        per.append(f"{{ const tc_intp i_ = rk_ % F[{d}]; rk_ /= F[{d}];"
                   + "".join(f" b[{k}] += i_ * S[{k}][{d}];" for k in range(nin))
                   + f" ob += i_ * {ostride[d]}; }}")
    per += [f"{t} a = {identity(kind, acc)}; int first_ = 1; (void)first_;",
            "tc_casc cs_; cs_.n = 0; (void)cs_;", "tc_intp bq_ = 0, bi_ = 0, ai = 0; (void)bq_; (void)bi_; (void)ai;",
            f"for (tc_intp q_ = 0; q_ < {n_outer}; q_++) {{"]
    per += _outer_offsets("q_", nin, red[:-1], "    ") + run + ["    }", "}"]
    if pairwise:
        per.append("a = tc_casc_total(&cs_);")
    if arg:
        per += ["{"] + _outer_offsets("bq_", nin, red[:-1], "    ")
        per += ptrs("bi_", "    ") + [f"    ai = bq_ * {ilen} + bi_ + {name}_find(n_, p_, a);", "}"]
    per.append(f"*({out_t} *)ob = {finish};")
    head, tail = par_for(name, "o", "nkeep", f"nkeep * nred * {cost}", threshold)
    # unit strides (or broadcast) along the run: in place, one block function call per
    # run except for float sums (pairwise blocks); else copies of blen elements
    setup = [f"_Alignas(64) char buf_[{slot * nin}];", f"const tc_intp st_[{nin}] = {{{st}}};",
             "int unit_ = 1;", f"for (int k = 0; k < {nin}; k++) if (!sc_[k] && st_[k] != isz_[k]) unit_ = 0;",
             f"const tc_intp blen_ = !unit_ ? {blen} : "
             + (str(BLOCK) if pairwise else f"({ilen} > 0 ? {ilen} : 1)") + ";"]
    return (["    " + x for x in setup] + ["    " + x for x in head]
            + ["            " + x for x in per] + ["    " + x for x in tail])
