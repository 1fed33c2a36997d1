"""Shared pieces of the C renderers: C type names, literals, conversions, the preamble.

>>> ctype('float32'), ctype('bool')
('tc_float32', 'tc_bool')
>>> literal('float64', float('inf'))
'((tc_float64)INFINITY)'
>>> convert('x', 'float64', 'bool')
'((tc_bool)((x) != 0))'
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

#: dtypes the C renderers handle (float16 has no portable C type: numpy steps).
C_DTYPES: frozenset[str] = frozenset({
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "complex64", "complex128"})

#: Aliases and helpers the elementwise table's C templates use, expressed with the
#: runtime header's own names (``tensorc_runtime.h``).  Template arguments are
#: plain C variables, so the macros may evaluate them more than once.
PREAMBLE = r"""
#include "tensorc_runtime.h"
#define tc_floordiv_float64 tc_floordiv_f64
#define tc_floordiv_float32 tc_floordiv_f32
#define tc_mod_float64 tc_mod_f64
#define tc_mod_float32 tc_mod_f32
#define tc_sgn tc_sgn_f64
#define tc_sgnf tc_sgn_f32
#define tc_sigmoid tc_sigmoid_f64
#define tc_sigmoidf tc_sigmoid_f32
#define tc_softplus tc_softplus_f64
#define tc_softplusf tc_softplus_f32
#define tc_ultra_fast_sigmoid tc_ultra_fast_sigmoid_f64
#define tc_ultra_fast_sigmoidf tc_ultra_fast_sigmoid_f32
/* numpy maximum/minimum: a NaN operand wins */
#define tc_fmax_nan(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))
#define tc_fmin_nan(a, b) (((a) < (b) || (a) != (a)) ? (a) : (b))
/* np.clip(x, lo, hi) == minimum(maximum(x, lo), hi) */
#define tc_clip(x, lo, hi) tc_fmin_nan(tc_fmax_nan((x), (lo)), (hi))
/* integer power by squaring, wrapping like numpy.  A negative exponent is an error
 * the kernel reports (TC_ERR_NEG_POWER: numpy's ValueError); the 0 returned for it is
 * never seen. */
#define TC_DEF_IPOW(SUF, T)                                                  \
    static inline T tc_ipow_##SUF(T a, T b) {                                \
        if (b < 0) return 0;                                                 \
        uint64_t r = 1, x = (uint64_t)a, e = (uint64_t)b;                    \
        while (e) { if (e & 1) r *= x; x *= x; e >>= 1; }                    \
        return (T)r;                                                         \
    }
TC_DEF_IPOW(int8, tc_int8)
TC_DEF_IPOW(int16, tc_int16)
TC_DEF_IPOW(int32, tc_int32)
TC_DEF_IPOW(int64, tc_int64)
TC_DEF_IPOW(uint8, tc_uint8)
TC_DEF_IPOW(uint16, tc_uint16)
TC_DEF_IPOW(uint32, tc_uint32)
TC_DEF_IPOW(uint64, tc_uint64)
#undef TC_DEF_IPOW
/* float -> uint64 as numpy gives it on x86: a negative value wraps through int64 */
static inline tc_uint64 tc_float_to_uint64(double x) {
    return x >= 9223372036854775808.0 ? (tc_uint64)x : (tc_uint64)(tc_int64)x;
}
#define TC_MIN(a, b) ((a) < (b) ? (a) : (b))
/* set after dlopen to tensorc._ext's thread pool; NULL = run loops serially */
__attribute__((visibility("default"))) tc_parallel_fn tc_parallel_hook = 0;
"""


def ctype(dtype: str) -> str:
    """The runtime header's C type for a numpy dtype name."""
    if dtype not in C_DTYPES:
        raise TypeError(f"dtype {dtype!r} has no C type in tensorc")
    return "tc_" + dtype


def libm_suffix(dtype: str) -> str:
    """``'f'`` for single-precision (float32/complex64) math, else ``''``."""
    return "f" if dtype in ("float32", "complex64") else ""


def literal(dtype: str, value: Any) -> str:
    """A C expression of type ``dtype`` equal to the scalar ``value``."""
    v = np.asarray(value, dtype=dtype).item()
    t = ctype(dtype)
    kind = np.dtype(dtype).kind
    if kind == "b":
        return f"(({t}){int(bool(v))})"
    if kind in "iu":
        iv = int(v)
        if kind == "i" and iv == -(2 ** 63):
            return "((tc_int64)INT64_MIN)"
        return f"(({t}){iv}{'ULL' if kind == 'u' else 'LL'})"
    if kind == "f":
        return f"(({t}){_float(float(v))})"
    re, im = _float(float(v.real)), _float(float(v.imag))
    return f"(({t})({re} + {im} * I))"


def _float(v: float) -> str:
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    return repr(v)


def convert(expr: str, src: str, dst: str) -> str:
    """``expr`` (of dtype ``src``) converted to ``dst`` with numpy's casting results."""
    if src == dst:
        return expr
    if dst == "bool":
        return f"(({ctype(dst)})(({expr}) != 0))"
    if np.dtype(src).kind == "c" and np.dtype(dst).kind != "c":
        expr, src = f"creal{libm_suffix(src)}({expr})", "float32" if src == "complex64" else "float64"
    if np.dtype(src).kind == "f" and np.dtype(dst).kind in "iu":
        return _float_to_int(expr, dst)
    return f"(({ctype(dst)})({expr}))"


#: Float -> narrow integer conversions go through a wider integer, so the value is
#: truncated and then wrapped (numpy's result on x86 for values inside the wider type).
#: A direct conversion of an out-of-range value is undefined in C, and gcc (under
#: -fno-trapping-math) folds ``(double)(uint8)x`` into ``trunc(x)``: a fused
#: ``cast(x, 'uint8') / 255`` skipped the wrap.  int32/int64 convert directly (numpy
#: gives INT_MIN out of range; folded, an in-range round trip may keep -0.0).
_FLOAT_TO_INT_VIA = {"int8": "tc_int32", "int16": "tc_int32", "uint8": "tc_int32",
                     "uint16": "tc_int32", "uint32": "tc_int64"}


def _float_to_int(expr: str, dst: str) -> str:
    """``expr`` (a float) converted to the integer dtype ``dst``.

    >>> _float_to_int('x', 'uint8'), _float_to_int('x', 'int64')
    ('((tc_uint8)(tc_int32)(x))', '((tc_int64)(x))')
    """
    if dst == "uint64":
        return f"tc_float_to_uint64({expr})"
    via = _FLOAT_TO_INT_VIA.get(dst)
    return f"(({ctype(dst)})({via})({expr}))" if via else f"(({ctype(dst)})({expr}))"


def c_ident(text: str) -> str:
    """``text`` made into a C identifier fragment."""
    out = "".join(ch if ch.isalnum() else "_" for ch in text)
    return out[:40] or "k"


def par_for(name: str, var: str, n: str, work: str, threshold: int, *, pragma: str = "",
            scratch: str = "0") -> tuple[list[str], list[str]]:
    """Head and tail lines of a loop ``for (var = 0; var < n; var++)`` run on the thread pool.

    The loop body goes between head and tail.  Above ``threshold`` elements of ``work``
    the kernel hands its chunks to ``tc_parallel_hook``; each chunk re-enters the
    kernel (``parallel_kernel``), recomputes its setup and runs ``[lo, hi)`` of this
    loop only, so the body is compiled once.  ``scratch`` (a ``double *``) is shared
    with the chunks.  At most one such loop may run per kernel call.

    >>> head, tail = par_for("k0", "i", "n", "n", 1000)
    >>> head[-1].strip(), tail[0].strip()
    ('for (tc_intp i = tc_b0_; i < tc_b1_; i++) {', '}')
    """
    head = ["{",
            f"    tc_intp tc_b0_ = 0, tc_b1_ = {n}; int tc_run_ = 1;",
            "    if (tc_lo_ >= 0) { tc_b0_ = tc_lo_; tc_b1_ = tc_hi_; }",
            f"    else if (tc_b1_ > 1 && ({work}) >= {threshold} && tc_parallel_hook) {{",
            f"        tc_chunk_ctx tc_ctx_ = {{args, {scratch}}};",
            f"        tc_run_ = tc_parallel_hook({name}_chunk, &tc_ctx_, tc_b1_, {work});",
            "    }",
            "    if (tc_run_) {"]
    if pragma:
        head.append(f"    _Pragma(\"{pragma}\")")
    head.append(f"    for (tc_intp {var} = tc_b0_; {var} < tc_b1_; {var}++) {{")
    tail = ["    }", "    if (tc_lo_ >= 0) return 0;", "    }", "}"]
    return head, tail


def parallel_kernel(name: str, src: str) -> str:
    """Wrap a kernel whose source uses ``par_for``: ``name_impl`` (the kernel body with
    the chunk range), ``name_chunk`` (a ``tc_chunk_fn``) and the public ``name``.

    >>> src = "int k(const tc_arg *args) { return 0; }"
    >>> parallel_kernel("k", src) == src  # no parallel loop: unchanged
    True
    """
    if "tc_lo_" not in src:
        return src
    head = f"int {name}(const tc_arg *args) {{"
    assert src.startswith(head), "a kernel source starts with its signature"
    impl = (f"static void {name}_chunk(void *ctx, tc_intp lo, tc_intp hi);\n"
            f"static int {name}_impl(const tc_arg *args, double *tc_scratch_, tc_intp tc_lo_, "
            f"tc_intp tc_hi_) {{\n    (void)tc_scratch_;")
    return (impl + src[len(head):]
            + f"static void {name}_chunk(void *ctx, tc_intp lo, tc_intp hi) {{\n"
            f"    const tc_chunk_ctx *c = (const tc_chunk_ctx *)ctx;\n"
            f"    {name}_impl(c->args, c->scratch, lo, hi);\n}}\n"
            f"int {name}(const tc_arg *args) {{ return {name}_impl(args, 0, -1, -1); }}\n")


#: Elementwise rows whose C code costs about ``_MATH_COST`` simple operations (libm calls,
#: division); everything else counts 1.  Kernels pass ``elements * cost`` to the thread
#: pool, which runs a loop on several threads only when that is worth it.
_MATH_ROWS: frozenset[str] = frozenset({
    "exp", "exp2", "expm1", "log", "log10", "log1p", "log2", "tanh", "sinh", "cosh", "sin", "cos",
    "tan", "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "pow",
    "sigmoid", "softplus", "erf", "erfc", "erfinv", "erfcinv", "erfcx", "gamma", "gammaln", "psi",
    "tri_gamma", "true_div", "int_div", "mod", "sqrt", "inv"})
_MATH_COST = 8


def body_cost(rows: Sequence[str]) -> int:
    """Work units per element of a loop computing ``rows`` (one unit for the memory traffic).

    >>> body_cost(["mul", "add"]), body_cost(["tanh", "mul"])
    (3, 10)
    """
    return 1 + sum(_MATH_COST if r in _MATH_ROWS else 1 for r in rows)
