"""C source of reductions: ``Reduce`` (sum/prod/max/min/all/any), ``Argmax`` and
``FusedReduce`` (an elementwise body feeding a reduction).

One kernel ``int name(const tc_arg *args)``: inputs (the body's), then the output.
The loop runs over the broadcast shape ``F`` of the inputs; the kept dimensions
index the output, the reduced ones are accumulated in the accumulation dtype.

- Float sums accumulate blocks of 1024 elements in ``_LANES`` independent lanes (one
  vector add chain would bound the loop by the add latency: 4 elements per 3 cycles)
  and combine the block sums pairwise (a binary-counter cascade), as accurate as
  numpy's pairwise summation; float32 sums accumulate in the op's ``acc_dtype``
  (float64).
- A full reduction over contiguous inputs is cut into at most 256 parts of whole
  blocks (sum/prod/all/any/max/min), run on the thread pool; the parts' results are
  combined in order.  Otherwise the output elements are distributed across threads.
- max/min/argmax of an empty axis return an error (numpy raises too).

>>> import tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> src, ins, shape_fn, _ = render_reduce_node(T.sum(x, axis=1).owner, 'k0', 32768)
>>> shape_fn([(3, 4)])
[(3,)]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.c.render.common import (C_DTYPES, body_cost, convert, ctype, par_for,
                                             parallel_kernel)
from tensorc.backend.c.render.elemwise import body_statements, body_supported, output_exprs
from tensorc.graph.basic import Apply
from tensorc.ops.fused import Body

#: Independent accumulators per block sum: 4 AVX2 vectors of doubles.
_LANES = 16
#: float32 additions per lane before a narrow lane sum flushes into its double lane.
_FLUSH = 8
#: Parts of a flat full reduction at most (the thread pool's chunks take whole parts).
_MAX_PARTS = 256

_KIND = {"sum": "add", "prod": "mul", "max": "maximum", "min": "minimum", "all": "and", "any": "or"}

CASCADE_HELPERS = r"""
#include <stdatomic.h>
/* compiler-only barrier at the top of a row loop: without it gcc unrolls-and-jams two
   rows into one scalar loop instead of running the SIMD row loop */
#define TC_ROW_FENCE() atomic_signal_fence(memory_order_seq_cst)
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
"""


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


def _acc_ops(kind: str, acc: str, v: str) -> tuple[str, str]:
    """(identity, update statement) of accumulator ``a`` with value ``v``."""
    t = ctype(acc)
    if kind == "add":
        return f"(({t})0)", f"a += {v};"
    if kind == "mul":
        return f"(({t})1)", f"a *= {v};"
    if kind == "and":
        return "1", f"a = a && ({v});"
    if kind == "or":
        return "0", f"a = a || ({v});"
    cmp = ">" if kind in ("maximum", "argmax") else "<"
    if kind in ("maximum", "minimum"):
        return "", f"{{ const {t} w_ = {v}; if (first_) {{ a = w_; first_ = 0; }} " \
                   f"else if (w_ {cmp} a || (w_ != w_ && a == a)) a = w_; }}"
    return "", (f"{{ const {t} w_ = {v}; if (first_ || (a == a && (w_ {cmp} a || w_ != w_))) "
                f"{{ a = w_; ai = idx_; first_ = 0; }} }}")


def render_reduce(name: str, body: Body, bc: Sequence[Sequence[bool]], kind: str,
                  axis: Sequence[int], keepdims: bool, acc: str, out: str, threshold: int) -> str:
    """C source of the reduction kernel ``name`` (see the module docstring)."""
    nin, nd = body.n_in, len(bc[0])
    red = [d for d in range(nd) if d in set(axis)]
    kept = [d for d in range(nd) if d not in set(axis)]
    in_t = [ctype(d) for d in body.in_dtypes]
    elem = body.out_dtype(body.outputs[0])
    acc_t, out_t = ctype(acc), ctype(out)
    is_arg = kind.startswith("arg")
    pairwise = kind == "add" and acc in ("float32", "float64")
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
    L.append("    if (nkeep == 0) return 0;")
    if kind in ("maximum", "minimum") or is_arg:
        L.append(f"    if (nred == 0) return TC_ERROR(TC_ERR_SHAPE, 0);")
    L.append(f"    tc_intp S[{nin}][{max(nd, 1)}];")
    for k in range(nin):
        for d in range(nd):
            L.append(f"    S[{k}][{d}] = {'0' if bc[k][d] else f'args[{k}].strides[{d}]'};")
    ident, update = _acc_ops(kind, acc, convert("v_", elem, acc))
    cv = convert("v_", elem, acc)
    stmts = body_statements(body, [f"x{k}" for k in range(nin)], "")
    vexpr = output_exprs(body, [f"x{k}" for k in range(nin)])[0]

    def value(loads: list[str], indent: str, i: str = "i") -> list[str]:
        """Lines defining ``v_`` from ``loads`` (C templates of the element index ``{i}``)."""
        lines = [f"{indent}const {in_t[k]} x{k} = {loads[k].format(i=i)};" for k in range(nin)]
        lines += [indent + s for s in stmts]
        lines.append(f"{indent}const {ctype(elem)} v_ = {vexpr};")
        return lines

    finish = convert("ai" if is_arg else "a", "int64" if is_arg else acc, out)
    cost = body_cost([s.row for s in body.steps])
    # -- flat path: everything reduced, contiguous inputs --------------------------------
    partial = any(any(b) and not all(b) for b in bc)  # such an input is not one flat array
    if not kept and not partial:
        cond = " && ".join(f"tc_contig(&args[{k}], sizeof({in_t[k]}))" for k in range(nin)
                           if not all(bc[k])) or "1"
        L.append(f"    if ({cond}) {{")
        # base pointers in locals: loads through args[k].data inside the loop make gcc
        # vectorise with gathers (slow), the float32 -> float64 sum ran 2x slower than numpy
        L += [f"        const {in_t[k]} *restrict pb{k} = (const {in_t[k]} *)args[{k}].data;"
              for k in range(nin)]
        loads = [f"*pb{k}" if all(bc[k]) else f"pb{k}[{{i}}]" for k in range(nin)]
        L += _flat(name, kind, acc, elem, ident, update, cv, value, loads, threshold, cost)
        L.append(f"        *({out_t} *)args[{nin}].data = {finish};")
        L += ["        return 0;", "    }"]
    # -- column path: the last (contiguous) dimension kept: whole rows at a time ----------
    if red and nd - 1 not in red:
        L += _columns(name, kind, acc, cv, value, (nin, nd, red, kept, bc, in_t), ostride,
                      out_t, convert("a", acc, out) if not is_arg else finish, cost, threshold)
    # -- generic path: one output element at a time ------------------------------------
    inner = red[-1] if red else None
    outer_red = red[:-1]
    per_out: list[str] = [f"const char *b[{nin}];", f"char *ob = args[{nin}].data;", "tc_intp r_ = o;"]
    per_out += [f"b[{k}] = args[{k}].data;" for k in range(nin)]
    for d in reversed(kept):
        per_out += ["{", f"    const tc_intp i_ = r_ % F[{d}]; r_ /= F[{d}];"]
        per_out += [f"    b[{k}] += i_ * S[{k}][{d}];" for k in range(nin)]
        per_out += [f"    ob += i_ * {ostride[d]};", "}"]
    per_out.append(f"{acc_t} a = {ident or '0'};")
    if kind in ("maximum", "minimum") or is_arg:
        per_out.append("int first_ = 1; tc_intp ai = 0; (void)ai;")
    if pairwise:
        per_out.append("tc_casc cs_; cs_.n = 0;")
    n_outer = "1" + "".join(f" * F[{d}]" for d in outer_red)
    per_out.append(f"for (tc_intp q_ = 0; q_ < {n_outer}; q_++) {{")
    per_out += [f"    const char *c{k} = b[{k}];" for k in range(nin)]
    per_out.append("    tc_intp t_ = q_;")
    for d in reversed(outer_red):
        per_out += ["    {", f"        const tc_intp i_ = t_ % F[{d}]; t_ /= F[{d}];"]
        per_out += [f"        c{k} += i_ * S[{k}][{d}];" for k in range(nin)]
        per_out.append("    }")
    ilen = f"F[{inner}]" if inner is not None else "1"
    istr = [f"S[{k}][{inner}]" if inner is not None else "0" for k in range(nin)]
    loads = [f"*(const {in_t[k]} *)(c{k} + ({{i}}) * {istr[k]})" for k in range(nin)]
    if pairwise:
        narrow = elem == "float32" and acc == "float64"

        def blocks(lds: list[str], ind: str) -> list[str]:
            return ([f"{ind}for (tc_intp i0 = 0; i0 < {ilen}; i0 += 1024) {{",
                     f"{ind}    const tc_intp i1 = TC_MIN(i0 + 1024, {ilen});"]
                    + _lane_sum(acc_t, cv, value, lds, "i0", "i1", ind + "    ", narrow)
                    + [f"{ind}    tc_casc_push(&cs_, a);", f"{ind}}}"])
        if inner is not None:  # unit inner strides: plain loads (strided ones vectorise as gathers)
            unit = " && ".join(f"S[{k}][{inner}] == sizeof({in_t[k]})" for k in range(nin)
                               if not bc[k][inner]) or "1"
            per_out.append(f"    if ({unit}) {{")
            per_out += [f"        const {in_t[k]} *restrict u{k} = (const {in_t[k]} *)c{k};"
                        for k in range(nin)]
            per_out += blocks([f"*u{k}" if bc[k][inner] else f"u{k}[{{i}}]" for k in range(nin)],
                              "        ")
            per_out.append("    } else {")
            per_out += blocks(loads, "        ")
            per_out.append("    }")
        else:
            per_out += blocks(loads, "    ")
    elif kind in ("maximum", "minimum") and inner is not None and acc == elem \
            and acc in ("float32", "float64"):
        per_out += _vector_extremum(kind, acc, nin, inner, bc, in_t, ilen, value, loads, update)
    else:
        per_out.append(f"    for (tc_intp i = 0; i < {ilen}; i++) {{")
        if is_arg:
            per_out.append(f"        const tc_intp idx_ = q_ * {ilen} + i;")
        per_out += value(loads, "        ")
        per_out += ["        " + update, "    }"]
    per_out.append("}")
    if pairwise:
        per_out.append("a = tc_casc_total(&cs_);")
    per_out.append(f"*({out_t} *)ob = {finish};")
    head, tail = par_for(name, "o", "nkeep", f"nkeep * nred * {cost}", threshold)
    L += ["    " + x for x in head] + ["            " + x for x in per_out] + ["    " + x for x in tail]
    L += ["    return 0;", "}"]
    return parallel_kernel(name, "\n".join(L) + "\n")


_COL_TILE = 512  # output elements per column-path tile at most (accumulators stay in L1)
_COL_BLOCK = 128  # rows summed into a tile's block sums before they join its totals


def _columns(name: str, kind: str, acc: str, cv: str, value: Any, shape: tuple, ostride: dict,
             out_t: str, finish: str, cost: int, threshold: int) -> list[str]:
    """Reductions that keep the last dimension, over inputs with a unit (or broadcast)
    last stride: a tile of ``_COL_TILE`` outputs accumulates one input row segment at a
    time (SIMD over the row, as numpy does for ``sum(x, axis=0)``) instead of walking
    each output's column with a row-sized stride.  Float sums add ``_COL_BLOCK`` rows
    into block sums before the totals (error ~(128 + rows/128) ulp; numpy's row-by-row
    sum has rows ulp); max/min keep NaN sticky; arg* keep the first index."""
    nin, nd, red, kept, bc, in_t = shape
    last, t = nd - 1, ctype(acc)
    unit = " && ".join(f"S[{k}][{last}] == sizeof({in_t[k]})" for k in range(nin) if not bc[k][last]) or "1"
    loads = [f"*u{k}" if bc[k][last] else f"u{k}[{{i}}]" for k in range(nin)]
    pairwise = kind == "add" and acc in ("float32", "float64")
    arg, ext = kind.startswith("arg"), kind in ("maximum", "minimum", "argmax", "argmin")
    cmp = ">" if kind in ("maximum", "argmax") else "<"
    ident = {"add": "0", "mul": "1", "and": "1", "or": "0"}.get(kind, "0")

    def row(q: str, ind: str, stmt: list[str]) -> list[str]:
        lines = [f"{ind}{{", f"{ind}    tc_intp t_ = {q};"]
        lines += [f"{ind}    const char *c{k} = b[{k}];" for k in range(nin)]
        for d in reversed(red):
            lines.append(f"{ind}    {{ const tc_intp i_ = t_ % F[{d}]; t_ /= F[{d}];"
                         + "".join(f" c{k} += i_ * S[{k}][{d}];" for k in range(nin)) + " }")
        lines += [f"{ind}    const {in_t[k]} *restrict u{k} = (const {in_t[k]} *)c{k};" for k in range(nin)]
        lines += [f"{ind}    _Pragma(\"omp simd\")",  # the tile arrays never alias the rows
                  f"{ind}    for (tc_intp j = j0; j < j1; j++) {{"] + value(loads, ind + "        ", "j")
        lines += [f"{ind}        const {t} w_ = {cv};"] + [f"{ind}        {x}" for x in stmt]
        return lines + [f"{ind}    }}", f"{ind}}}"]

    m = "m_[j - j0]"
    nan_out = f"ix_[j - j0] ? ({t})NAN : {m}" if ext and not arg and acc.startswith("float") else m
    if pairwise:
        step = ["s_[j - j0] += w_;"]
    elif arg:
        step = [f"const int take_ = ({m} == {m}) & ((w_ {cmp} {m}) | (w_ != w_));",
                f"{m} = take_ ? w_ : {m};", "ix_[j - j0] = take_ ? q_ : ix_[j - j0];"]
    elif ext:  # a plain select (SIMD max/min) and a NaN flag per output
        step = [f"{m} = w_ {cmp} {m} ? w_ : {m};", "ix_[j - j0] |= w_ != w_;"]
    else:
        step = [{"add": f"{m} += w_;", "mul": f"{m} *= w_;", "and": f"{m} = {m} && w_;",
                 "or": f"{m} = {m} || w_;"}[kind]]
    body = [f"const tc_intp o_ = t0_ / ntile_, j0 = (t0_ % ntile_) * tw_, "
            f"j1 = TC_MIN(j0 + tw_, F[{last}]);",
            f"const char *b[{nin}]; char *ob = args[{nin}].data; tc_intp r_ = o_;"]
    body += [f"b[{k}] = args[{k}].data;" for k in range(nin)]
    for d in reversed(kept[:-1]):
        body.append(f"{{ const tc_intp i_ = r_ % F[{d}]; r_ /= F[{d}];"
                    + "".join(f" b[{k}] += i_ * S[{k}][{d}];" for k in range(nin))
                    + f" ob += i_ * {ostride[d]}; }}")
    body.append(f"{t} m_[{_COL_TILE}]; {t} s_[{_COL_TILE}]; tc_intp ix_[{_COL_TILE}]; (void)s_; (void)ix_;")
    if ext:  # start from the first row
        body += row("0", "", [f"{m} = w_;", f"ix_[j - j0] = {'0' if arg else 'w_ != w_'};"])
        body.append("tc_intp q_ = 1;")
    else:
        body += [f"for (tc_intp j = j0; j < j1; j++) {{ {m} = {ident}; s_[j - j0] = 0; }}", "tc_intp q_ = 0;"]
    body += ["for (; q_ < nred; q_++) {", "    TC_ROW_FENCE();"] + row("q_", "    ", step)
    if pairwise:
        body += [f"    if (q_ % {_COL_BLOCK} == {_COL_BLOCK - 1} || q_ == nred - 1)",
                 f"        for (tc_intp j = j0; j < j1; j++) {{ {m} += s_[j - j0]; s_[j - j0] = 0; }}"]
    body += ["}", "for (tc_intp j = j0; j < j1; j++) {",
             f"    const {t} a = {nan_out}; const tc_intp ai = ix_[j - j0]; (void)ai;",
             f"    *({out_t} *)(ob + j * {ostride[last]}) = {finish};", "}"]
    head, tail = par_for(name, "t0_", "nouter_ * ntile_", f"nkeep * nred * {cost}", threshold)
    return ([f"    if ({unit}) {{",
             # tiles of at most _COL_TILE outputs, at least two (multiples of 8) from 16 on
             f"        const tc_intp tw_ = F[{last}] < 16 ? F[{last}] : "
             f"TC_MIN({_COL_TILE}, ((F[{last}] + 1) / 2 + 7) / 8 * 8);",
             f"        const tc_intp ntile_ = (F[{last}] + tw_ - 1) / tw_, "
             f"nouter_ = nkeep / F[{last}];"]
            + ["        " + x for x in head] + ["                " + x for x in body]
            + ["        " + x for x in tail] + ["        return 0;", "    }"])


def _lane_sum(acc_t: str, cv: str, value: Any, loads: list[str], start: str, stop: str,
              ind: str, narrow: bool = False) -> list[str]:
    """Lines declaring ``a``, the sum of ``cv`` over ``[start, stop)``: ``_LANES``
    independent accumulators (the compiler keeps them in vector registers), the tail
    in ``a``, then the lanes added pairwise.  ``narrow`` (float32 values, float64
    accumulators): each lane first adds ``_FLUSH`` values in float32, then flushes into
    its double lane (at most 7 float roundings per value: numpy's pairwise float32
    sum has 15 + 3 + log2(n/128)), half the vector work of converting every value."""
    w = _LANES
    if narrow:  # float lanes, flushed into the double lanes every _FLUSH additions
        main = [f"{ind}while (i + {w} <= {stop}) {{",
                f"{ind}    tc_float32 f_[{w}] = {{0}};",
                f"{ind}    const tc_intp e_ = i + {w} * TC_MIN({_FLUSH}, ({stop} - i) / {w});",
                f"{ind}    for (; i < e_; i += {w}) {{",
                f"{ind}        _Pragma(\"omp simd\")",
                f"{ind}        for (int j_ = 0; j_ < {w}; j_++) {{"]
        main += value(loads, ind + "            ", "i + j_")
        main += [f"{ind}            f_[j_] += v_;", f"{ind}        }}", f"{ind}    }}",
                 f"{ind}    _Pragma(\"omp simd\")",
                 f"{ind}    for (int j_ = 0; j_ < {w}; j_++) l_[j_] += f_[j_];", f"{ind}}}"]
    else:
        main = ([f"{ind}for (; i + {w} <= {stop}; i += {w}) {{",
                 f"{ind}    _Pragma(\"omp simd\")",
                 f"{ind}    for (int j_ = 0; j_ < {w}; j_++) {{"]
                + value(loads, ind + "        ", "i + j_")
                + [f"{ind}        l_[j_] += {cv};", f"{ind}    }}", f"{ind}}}"])
    return ([f"{ind}{acc_t} a = 0, l_[{w}] = {{0}};", f"{ind}tc_intp i = {start};"] + main
            + [f"{ind}for (; i < {stop}; i++) {{"]
            + value(loads, ind + "    ")
            + [f"{ind}    a += {cv};", f"{ind}}}",
               f"{ind}for (int w_ = {w // 2}; w_ > 0; w_ /= 2)",
               f"{ind}    for (int j_ = 0; j_ < w_; j_++) l_[j_] += l_[j_ + w_];",
               f"{ind}a += l_[0];"])


def _part_body(kind: str, acc: str, elem: str, ident: str, update: str, cv: str, value: Any,
               loads: list[str]) -> list[str]:
    """Lines declaring ``a``, the reduction of the elements ``[lo, hi)`` of one part."""
    t = ctype(acc)
    ind = "            "
    if kind == "add" and acc in ("float32", "float64"):  # pairwise: blocks, then a cascade
        return ([f"{ind}tc_casc cs_; cs_.n = 0;",
                 f"{ind}for (tc_intp i0 = lo; i0 < hi; i0 += 1024) {{",
                 f"{ind}    const tc_intp i1 = TC_MIN(i0 + 1024, hi);"]
                + _lane_sum(t, cv, value, loads, "i0", "i1", ind + "    ",
                            elem == "float32" and acc == "float64")
                + [f"{ind}    tc_casc_push(&cs_, a);", f"{ind}}}",
                   f"{ind}const {t} a = ({t})tc_casc_total(&cs_);"])
    if kind in ("add", "mul", "and", "or"):
        red_op = {"add": "+", "mul": "*", "and": "&&", "or": "||"}[kind]
        return ([f"{ind}{t} a = {ident};",
                 f"{ind}_Pragma(\"omp simd reduction({red_op}:a)\")",
                 f"{ind}for (tc_intp i = lo; i < hi; i++) {{"]
                + value(loads, ind + "    ") + [f"{ind}    {update}", f"{ind}}}"])
    if acc == elem:  # SIMD extremum (from the first value), plus a NaN flag for floats
        op, cmp = ("max", ">") if kind == "maximum" else ("min", "<")
        nan = f"nan_ ? ({t})NAN : m_" if acc.startswith("float") else "m_"
        return ([f"{ind}{t} m_; int nan_ = 0;", f"{ind}{{"]
                + value(loads, ind + "    ", "lo")
                + [f"{ind}    m_ = v_;", f"{ind}}}",
                   f"{ind}_Pragma(\"omp simd reduction({op}:m_) reduction(|:nan_)\")",
                   f"{ind}for (tc_intp i = lo; i < hi; i++) {{"]
                + value(loads, ind + "    ")
                + [f"{ind}    m_ = v_ {cmp} m_ ? v_ : m_;", f"{ind}    nan_ |= v_ != v_;", f"{ind}}}",
                   f"{ind}const {t} a = {nan};"])
    return ([f"{ind}{t} a = 0; int first_ = 1;", f"{ind}for (tc_intp i = lo; i < hi; i++) {{"]
            + value(loads, ind + "    ") + [f"{ind}    {update}", f"{ind}}}"])


def _flat(name: str, kind: str, acc: str, elem: str, ident: str, update: str, cv: str,
          value: Any, loads: list[str], threshold: int, cost: int) -> list[str]:
    """Full reduction over ``nred`` contiguous elements; result in ``a``.

    The elements are cut into ``nparts`` parts of whole 1024-element blocks (one part
    below ``threshold``), each reduced on its own (``_part_body``), possibly on the
    thread pool; the parts' results are combined in order: pairwise for float sums, a
    NaN-propagating extremum for max/min."""
    t = ctype(acc)
    arg = kind.startswith("arg")
    if arg:  # parts hold the extremum; the index is searched afterwards, in one part
        kind = "maximum" if kind == "argmax" else "minimum"
        ident, update = _acc_ops(kind, acc, cv)
    head, tail = par_for(name, "p", "nparts", f"nred * {cost}", threshold,
                         scratch="(double *)(void *)parts")
    if kind == "add" and acc in ("float32", "float64"):
        combine = ["        tc_casc cp_; cp_.n = 0;",
                   "        for (tc_intp p = 0; p < nparts; p++) tc_casc_push(&cp_, parts[p]);",
                   f"        const {t} a = ({t})tc_casc_total(&cp_);"]
    else:
        op = {"add": "a += w_;", "mul": "a *= w_;", "and": "a = a && w_;", "or": "a = a || w_;",
              "maximum": "if (w_ > a || w_ != w_) a = w_;",
              "minimum": "if (w_ < a || w_ != w_) a = w_;"}[kind]
        combine = [f"        {t} a = parts[0];",
                   "        for (tc_intp p = 1; p < nparts; p++) {",
                   f"            const {t} w_ = parts[p];", f"            {op}", "        }"]
    return ([f"        const tc_intp nblk = (nred + 1023) / 1024;",
             f"        {t} parts_l_[{_MAX_PARTS}];",
             f"        {t} *parts = tc_scratch_ ? ({t} *)(void *)tc_scratch_ : parts_l_;",
             "        tc_intp nparts = 1;",
             f"        if (nred >= {threshold}) nparts = nblk < {_MAX_PARTS} ? nblk : {_MAX_PARTS};"]
            + ["        " + x for x in head]
            + ["            const tc_intp lo = nblk * p / nparts * 1024,",
               "                          hi = TC_MIN(nblk * (p + 1) / nparts * 1024, nred);"]
            + _part_body(kind, acc, elem, ident, update, cv, value, loads)
            + ["            parts[p] = a;"]
            + ["        " + x for x in tail] + combine
            + (_arg_find(value, loads) if arg else []))


def _arg_find(value: Any, loads: list[str]) -> list[str]:
    """Lines setting ``ai``: the first index whose value is ``a`` (the extremum found by
    the parts), or the first NaN when ``a`` is NaN (numpy's rule).  Only the first part
    holding it is searched: blocks with a SIMD test, then one block element-wise."""
    ind = "        "
    lines = [f"{ind}tc_intp ai = 0, p_ = 0;",
             f"{ind}while (p_ + 1 < nparts && !(parts[p_] == a || (a != a && parts[p_] != parts[p_]))) p_++;",
             f"{ind}const tc_intp lo = nblk * p_ / nparts * 1024, hi = TC_MIN(nblk * (p_ + 1) / nparts * 1024, nred);",
             f"{ind}for (tc_intp i0 = lo; i0 < hi; i0 += 1024) {{",
             f"{ind}    const tc_intp i1 = TC_MIN(i0 + 1024, hi);",
             f"{ind}    int hit_ = 0;",
             f"{ind}    if (a != a) {{"]
    for test, ind2 in (("v_ != v_", ind + "        "), ("v_ == a", ind + "        ")):
        lines += [f"{ind2}_Pragma(\"omp simd reduction(|:hit_)\")",
                  f"{ind2}for (tc_intp i = i0; i < i1; i++) {{"]
        lines += value(loads, ind2 + "    ") + [f"{ind2}    hit_ |= {test};", f"{ind2}}}"]
        if test == "v_ != v_":
            lines.append(f"{ind}    }} else {{")
    lines += [f"{ind}    }}", f"{ind}    if (!hit_) continue;",
              f"{ind}    for (tc_intp i = i0; i < i1; i++) {{"]
    lines += value(loads, ind + "        ")
    lines += [f"{ind}        if (v_ == a || (a != a && v_ != v_)) {{ ai = i; break; }}",
              f"{ind}    }}", f"{ind}    break;", f"{ind}}}"]
    return lines


def _vector_extremum(kind: str, acc: str, nin: int, inner: int, bc: Sequence[Sequence[bool]],
                     in_t: list[str], ilen: str, value: Any, loads: list[str],
                     update: str) -> list[str]:
    """Float max/min of one inner run: with unit strides a SIMD max plus a NaN flag (numpy
    propagates NaN), else the scalar NaN-aware loop."""
    t = ctype(acc)
    op, start = ("max", "-INFINITY") if kind == "maximum" else ("min", "INFINITY")
    cmp = ">" if kind == "maximum" else "<"
    unit = " && ".join(f"S[{k}][{inner}] == sizeof({in_t[k]})" for k in range(nin)
                       if not bc[k][inner]) or "1"
    lines = [f"    if ({unit} && {ilen} > 0) {{"]
    lines += [f"        const {in_t[k]} *restrict u{k} = (const {in_t[k]} *)c{k};" for k in range(nin)]
    lines += [f"        {t} m_ = {start}; int nan_ = 0;",
              f"        _Pragma(\"omp simd reduction({op}:m_) reduction(|:nan_)\")",
              f"        for (tc_intp i = 0; i < {ilen}; i++) {{"]
    lines += value([f"*u{k}" if bc[k][inner] else f"u{k}[{{i}}]" for k in range(nin)], "            ")
    lines += [f"            m_ = v_ {cmp} m_ ? v_ : m_;", "            nan_ |= v_ != v_;", "        }",
              f"        if (nan_ || (!first_ && a != a)) a = ({t})NAN;",
              f"        else if (first_ || m_ {cmp} a) a = m_;",
              "        first_ = 0;",
              "    } else {",
              f"        for (tc_intp i = 0; i < {ilen}; i++) {{"]
    lines += value(loads, "            ")
    lines += ["            " + update, "        }", "    }"]
    return lines
