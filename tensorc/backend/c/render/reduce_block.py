"""The one specialised loop of a reduction kernel: its block function.

A reduction kernel (``render/reduce.py``) specialises exactly one function on its body,
kind and dtypes, ``name_blk(n, p)``: the reduction of ``n`` elements whose operands
``p[k]`` are unit-stride runs (or, for operands broadcast along the run, one value read
once).  Every path of the kernel calls it: the parts of a flat full reduction, the
per-output loop, strided operands after a copy into a small buffer.  gcc therefore
optimises the SIMD loop (16 lanes, float32 values flushed into float64 lanes) once
per kernel instead of once per path and layout.  arg* kernels add ``name_find``, the
first index of a known extremum in one block.

>>> from tensorc.ops.fused import Body
>>> body = Body(1, ("float64",), (), (), (("in", 0),))
>>> src = block_functions("k0", body, "add", "float64", [False])
>>> src.count("static") == 1 and "k0_blk(tc_intp n" in src
True
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tensorc.backend.c.render.common import convert, ctype, literal
from tensorc.backend.c.render.elemwise import body_statements, output_exprs
from tensorc.ops.fused import Body

#: Independent accumulators per block sum: 4 AVX2 vectors of doubles.
LANES = 16
#: float32 additions per lane before a narrow lane sum flushes into its double lane.
FLUSH = 8
#: Elements per block: block sums are combined pairwise (``tc_casc``).
BLOCK = 1024


def value_lines(body: Body, loads: Sequence[str], indent: str, i: str = "i") -> list[str]:
    """Lines defining ``v_`` (the body's value) from ``loads``, C templates of the
    element index ``{i}``.

    >>> value_lines(Body(1, ("float64",), (), (), (("in", 0),)), ["u0[{i}]"], "")
    ['const tc_float64 x0 = u0[i];', 'const tc_float64 v_ = x0;']
    """
    xs = [f"x{k}" for k in range(body.n_in)]
    lines = [f"{indent}const {ctype(d)} x{k} = {loads[k].format(i=i)};"
             for k, d in enumerate(body.in_dtypes)]
    lines += body_statements(body, xs, indent)
    elem = body.out_dtype(body.outputs[0])
    return lines + [f"{indent}const {ctype(elem)} v_ = {output_exprs(body, xs)[0]};"]


def is_pairwise(kind: str, acc: str) -> bool:
    """True for float sums: block sums in lanes, combined pairwise.

    >>> is_pairwise("add", "float64"), is_pairwise("add", "int64")
    (True, False)
    """
    return kind == "add" and acc in ("float32", "float64")


def simd_extremum(kind: str, acc: str, elem: str) -> bool:
    """True when max/min (and arg*) run as a SIMD select: float and integer values
    accumulated in their own dtype.

    >>> simd_extremum("maximum", "float32", "float32"), simd_extremum("maximum", "bool", "bool")
    (True, False)
    """
    return acc == elem and np.dtype(acc).kind in "fiu"


def extremum_start(kind: str, acc: str) -> str:
    """The value every element beats or ties for max/min/arg* (-inf, the type's minimum...).

    >>> extremum_start("argmax", "float64"), extremum_start("minimum", "uint8")
    ('((tc_float64)(-INFINITY))', '((tc_uint8)255ULL)')
    """
    big = kind in ("maximum", "argmax")
    dt = np.dtype(acc)
    if dt.kind == "f":
        return literal(acc, -np.inf if big else np.inf)
    if dt.kind == "b":
        return literal(acc, not big)
    info = np.iinfo(dt)
    return literal(acc, info.min if big else info.max)


def identity(kind: str, acc: str) -> str:
    """The start value of ``a`` (max/min/arg* start from their first block instead).

    >>> identity("mul", "float64"), identity("or", "bool")
    ('((tc_float64)1)', '0')
    """
    t = ctype(acc)
    return {"add": f"(({t})0)", "mul": f"(({t})1)", "and": "1", "or": "0"}.get(kind, f"(({t})0)")


def combine(kind: str, acc: str) -> str:
    """C statement folding a block result ``r_`` into ``a`` (``first_`` set before the
    first block of max/min): NaN wins for max/min, as in numpy.

    >>> combine("mul", "float64")
    'a *= r_;'
    """
    if kind in ("add", "mul", "and", "or"):
        return {"add": "a += r_;", "mul": "a *= r_;", "and": "a = a && r_;", "or": "a = a || r_;"}[kind]
    cmp = ">" if kind in ("maximum", "argmax") else "<"
    return f"if (first_ || r_ {cmp} a || (r_ != r_ && a == a)) a = r_; first_ = 0;"


def block_functions(name: str, body: Body, kind: str, acc: str, scalar: Sequence[bool]) -> str:
    """C source of ``name_blk`` (and ``name_find`` for arg*); ``scalar[k]``: operand k
    is read once (broadcast along the run)."""
    nin, elem = body.n_in, body.out_dtype(body.outputs[0])
    t = ctype(acc)
    cv = convert("v_", elem, acc)
    head = [f"const {ctype(d)} {'h' if scalar[k] else '*restrict u'}{k} = "
            f"{'*' if scalar[k] else ''}(const {ctype(d)} *)p[{k}];"
            for k, d in enumerate(body.in_dtypes)]
    loads = [f"h{k}" if scalar[k] else f"u{k}[{{i}}]" for k in range(nin)]
    ind = "    "
    lines = [f"static TC_RED_NOINLINE {t} {name}_blk(tc_intp n, const char *const *p) {{"]
    lines += [ind + h for h in head]
    kind0 = {"argmax": "maximum", "argmin": "minimum"}.get(kind, kind)
    if is_pairwise(kind, acc):
        lines += lane_sum(t, cv, body, loads, ind, elem == "float32" and acc == "float64")
    elif kind0 in ("add", "mul", "and", "or"):
        op, upd = {"add": ("+", "a += {v};"), "mul": ("*", "a *= {v};"),
                   "and": ("&&", "a = a && ({v});"), "or": ("||", "a = a || ({v});")}[kind0]
        lines += [f"{ind}{t} a = {identity(kind0, acc)};", f"{ind}_Pragma(\"omp simd reduction({op}:a)\")",
                  f"{ind}for (tc_intp i = 0; i < n; i++) {{"]
        lines += value_lines(body, loads, ind * 2) + [f"{ind * 2}{upd.format(v=cv)}", f"{ind}}}"]
    elif simd_extremum(kind0, acc, elem):  # a plain select from the first value (the NaN flag
        # reads it again: the SIMD reduction's combiner drops NaN)
        op, cmp = ("max", ">") if kind0 == "maximum" else ("min", "<")
        fl = np.dtype(acc).kind == "f"
        lines += [f"{ind}{t} m_; int nan_ = 0;", f"{ind}{{"] + value_lines(body, loads, ind * 2, "0")
        lines += [f"{ind * 2}m_ = v_;", f"{ind}}}",
                  f"{ind}_Pragma(\"omp simd reduction({op}:m_) reduction(|:nan_)\")",
                  f"{ind}for (tc_intp i = 0; i < n; i++) {{"] + value_lines(body, loads, ind * 2)
        lines += [f"{ind * 2}m_ = v_ {cmp} m_ ? v_ : m_;", f"{ind * 2}nan_ |= v_ != v_;", f"{ind}}}",
                  f"{ind}const {t} a = {f'nan_ ? ({t})NAN : m_' if fl else 'm_'};"]
    else:  # other extremum dtypes: the scalar NaN-aware loop
        cmp = ">" if kind0 == "maximum" else "<"
        lines += [f"{ind}{t} a = 0;", f"{ind}for (tc_intp i = 0; i < n; i++) {{"]
        lines += value_lines(body, loads, ind * 2)
        lines += [f"{ind * 2}const {t} w_ = {cv};",
                  f"{ind * 2}if (i == 0 || w_ {cmp} a || (w_ != w_ && a == a)) a = w_;", f"{ind}}}"]
    lines += [f"{ind}return a;", "}"]
    if kind in ("argmax", "argmin"):
        lines += [f"static TC_RED_NOINLINE tc_intp {name}_find(tc_intp n, const char *const *p, {t} a) {{"]
        lines += [ind + h for h in head] + [f"{ind}for (tc_intp i = 0; i < n; i++) {{"]
        lines += value_lines(body, loads, ind * 2)
        lines += [f"{ind * 2}const {t} w_ = {cv};",
                  f"{ind * 2}if (w_ == a || (a != a && w_ != w_)) return i;", f"{ind}}}",
                  f"{ind}return -1;", "}"]
    return "\n".join(lines) + "\n"


def lane_sum(acc_t: str, cv: str, body: Body, loads: Sequence[str], ind: str,
             narrow: bool = False) -> list[str]:
    """Lines declaring ``a``, the sum of ``cv`` over ``[0, n)``: ``LANES`` independent
    accumulators (the compiler keeps them in vector registers), the tail in ``a``, then
    the lanes added pairwise.  ``narrow`` (float32 values, float64 accumulators): each
    lane first adds ``FLUSH`` values in float32, then flushes into its double lane (at
    most 7 float roundings per value: numpy's pairwise float32 sum has 15 + 3 +
    log2(n/128)), half the vector work of converting every value."""
    w = LANES
    if narrow:  # float lanes, flushed into the double lanes every FLUSH additions
        main = [f"{ind}while (i + {w} <= n) {{",
                f"{ind}    tc_float32 f_[{w}] = {{0}};",
                f"{ind}    const tc_intp e_ = i + {w} * TC_MIN({FLUSH}, (n - i) / {w});",
                f"{ind}    for (; i < e_; i += {w}) {{",
                f"{ind}        _Pragma(\"omp simd\")",
                f"{ind}        for (int j_ = 0; j_ < {w}; j_++) {{"]
        main += value_lines(body, loads, ind + "            ", "i + j_")
        main += [f"{ind}            f_[j_] += v_;", f"{ind}        }}", f"{ind}    }}",
                 f"{ind}    _Pragma(\"omp simd\")",
                 f"{ind}    for (int j_ = 0; j_ < {w}; j_++) l_[j_] += f_[j_];", f"{ind}}}"]
    else:
        main = ([f"{ind}for (; i + {w} <= n; i += {w}) {{",
                 f"{ind}    _Pragma(\"omp simd\")",
                 f"{ind}    for (int j_ = 0; j_ < {w}; j_++) {{"]
                + value_lines(body, loads, ind + "        ", "i + j_")
                + [f"{ind}        l_[j_] += {cv};", f"{ind}    }}", f"{ind}}}"])
    return ([f"{ind}{acc_t} a = 0, l_[{w}] = {{0}};", f"{ind}tc_intp i = 0;"] + main
            + [f"{ind}for (; i < n; i++) {{"]
            + value_lines(body, loads, ind + "    ")
            + [f"{ind}    a += {cv};", f"{ind}}}",
               f"{ind}for (int w_ = {w // 2}; w_ > 0; w_ /= 2)",
               f"{ind}    for (int j_ = 0; j_ < w_; j_++) l_[j_] += l_[j_ + w_];",
               f"{ind}a += l_[0];"])
