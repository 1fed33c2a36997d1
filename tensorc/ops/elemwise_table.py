"""THE table of elementwise operations: one row per op.

A row gives everything every stage needs: ``T.<name>`` export, the numpy
implementation (numpy backend, constant folding, test reference), the C expression
(C renderer), the gradient rule and the dtype rule.  Adding an elementwise op is
adding one row here.

C templates: ``{0}``, ``{1}``, ... are the inputs already converted to the compute
dtype (they are plain C variables, so a template may use one several times);
``{f}`` is the libm suffix (``f`` for float32, empty for float64); ``{t}`` is the
compute dtype's name (``int32``, ``float64`` ...).  A dict maps dtype kinds
(``b`` bool, ``i`` signed, ``u`` unsigned, ``f`` float, ``c`` complex) to templates;
a kind that is missing has no C lowering and runs through numpy.
``nonneg_int_arg`` names the input numpy refuses to see negative when the compute
dtype is a signed integer (``pow``'s exponent: numpy raises ``ValueError: Integers to
negative integer powers are not allowed.``); C kernels check it and fail the call with
``TC_ERR_NEG_POWER``, which the C backend raises as the same ``ValueError``.

Gradient rules are ``grad(inputs, output, gz) -> [gradient per input]`` built from
``T`` expressions, each in the output's shape (summing back to an input's
broadcast pattern happens in one place, in ``tensorc.gradient``).

Dtype rule: the compute dtype is numpy's promotion of the inputs (from
``promote_from`` on; Python-scalar constants are weak, as in numpy); the output
dtype is what numpy's function gives for that compute dtype (float16 is widened to
float32).  When the output is floating and the compute dtype is not, the inputs are
converted to the output dtype first (``sqrt(int8)`` computes in float32); float16
inputs of a float32 result are converted too, so the math runs in float32, not in
float16 widened afterwards (``exp`` of a float16 ``40.0`` is finite).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

import tensorc.tensor as T
from tensorc.ops import scalar_math as sm

GradRule = Callable[[list, Any, Any], list]


class Row:
    """One elementwise op; see the module docstring for the fields' meaning.  Immutable,
    compared by identity (a plain class: a dataclass costs ``import tensorc`` ~1 ms)."""

    __slots__ = ("name", "nin", "numpy", "c", "grad", "kinds", "promote_from", "doc", "aliases",
                 "nonneg_int_arg")
    name: str
    nin: int
    numpy: Callable[..., Any]
    c: str | dict[str, str] | None
    grad: GradRule | None
    kinds: str                     # dtype kinds the inputs may have
    promote_from: int              # inputs before this index do not take part in promotion
    doc: str
    aliases: tuple[str, ...]
    nonneg_int_arg: int | None     # input numpy rejects when negative in a signed integer compute

    def __init__(self, name: str, nin: int, numpy: Callable[..., Any], c: str | dict[str, str] | None,
                 grad: GradRule | None, kinds: str = "biufc", promote_from: int = 0, doc: str = "",
                 aliases: tuple[str, ...] = (), nonneg_int_arg: int | None = None) -> None:
        init = object.__setattr__  # one call per slot: a loop over them costs import ~0.1 ms
        init(self, "name", name)
        init(self, "nin", nin)
        init(self, "numpy", numpy)
        init(self, "c", c)
        init(self, "grad", grad)
        init(self, "kinds", kinds)
        init(self, "promote_from", promote_from)
        init(self, "doc", doc)
        init(self, "aliases", tuple(aliases))
        init(self, "nonneg_int_arg", nonneg_int_arg)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Row {self.name!r} is immutable")

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple:  # rows pickle by name (their functions are lambdas)
        return (row_by_name, (self.name,))

    def c_template(self, kind: str) -> str | None:
        """The C template for a compute dtype kind, or None if this row has no C for it."""
        if isinstance(self.c, dict):
            return self.c.get(kind)
        if self.c is not None and kind == "c":
            return None  # plain templates are real-valued; complex needs an explicit entry
        return self.c


# -- gradient helpers ---------------------------------------------------------------------
def _zeros(inputs: list, out: Any, gz: Any) -> list:
    """Zero gradient that stays connected (comparisons, floor, sgn ...)."""
    return [T.zeros_like(x, dtype=_grad_dtype(x)) for x in inputs]


def _grad_dtype(x: Any) -> str:
    from tensorc.config import config
    return x.dtype if x.dtype.startswith(("float", "complex")) else config.floatX


def _sq(x: Any) -> Any:
    return T.sqr(x)


def _cj(x: Any) -> Any:
    """``conj(x)`` for complex ``x``, ``x`` itself otherwise: with the convention
    grad = dC/dRe + i dC/dIm, a holomorphic f passes ``gz * conj(f'(z))`` back."""
    return T.conj(x) if x.dtype.startswith("complex") else x


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

_CMP = "biuf"
_INT = "biu"
_REAL = "biuf"

ROWS: tuple[Row, ...] = (
    # ---- arithmetic ---------------------------------------------------------------------
    Row("add", 2, np.add, {"b": "({0} | {1})", "i": "({0} + {1})", "u": "({0} + {1})",
                           "f": "({0} + {1})", "c": "({0} + {1})"},
        lambda i, o, gz: [gz, gz]),
    Row("sub", 2, np.subtract, {"i": "({0} - {1})", "u": "({0} - {1})", "f": "({0} - {1})",
                                "c": "({0} - {1})"},
        lambda i, o, gz: [gz, -gz], kinds="iufc"),
    Row("mul", 2, np.multiply, {"b": "({0} & {1})", "i": "({0} * {1})", "u": "({0} * {1})",
                                "f": "({0} * {1})", "c": "({0} * {1})"},
        lambda i, o, gz: [gz * _cj(i[1]), gz * _cj(i[0])]),
    Row("true_div", 2, np.true_divide, {"f": "({0} / {1})", "c": "({0} / {1})"},
        lambda i, o, gz: [gz / _cj(i[1]), -gz * _cj(i[0] / _sq(i[1]))]),
    Row("int_div", 2, np.floor_divide, {"i": "tc_floordiv_{t}({0}, {1})", "u": "tc_floordiv_{t}({0}, {1})",
                                        "f": "tc_floordiv_{t}({0}, {1})"},
        _zeros, kinds="iuf", doc="floor division, Python's sign rules (``//``)"),
    Row("mod", 2, np.remainder, {"i": "tc_mod_{t}({0}, {1})", "u": "tc_mod_{t}({0}, {1})",
                                 "f": "tc_mod_{t}({0}, {1})"},
        lambda i, o, gz: [gz, -gz * T.int_div(i[0], i[1])], kinds="iuf",
        doc="remainder with the divisor's sign, Python's rules (``%``)"),
    Row("pow", 2, np.power, {"i": "tc_ipow_{t}({0}, {1})", "u": "tc_ipow_{t}({0}, {1})",
                             "f": "pow{f}({0}, {1})", "c": "cpow{f}({0}, {1})"},
        lambda i, o, gz: [gz * _cj(i[1] * i[0] ** (i[1] - 1)), gz * _cj(T.log(i[0]) * o)], kinds="iufc",
        nonneg_int_arg=1),
    Row("maximum", 2, np.maximum, {"b": "({0} | {1})", "i": "({0} > {1} ? {0} : {1})",
                                   "u": "({0} > {1} ? {0} : {1})", "f": "tc_fmax_nan({0}, {1})"},
        lambda i, o, gz: [gz * T.eq(o, i[0]), gz * T.eq(o, i[1])], kinds=_REAL,
        doc="elementwise maximum; NaN propagates; ties send the gradient to both"),
    Row("minimum", 2, np.minimum, {"b": "({0} & {1})", "i": "({0} < {1} ? {0} : {1})",
                                   "u": "({0} < {1} ? {0} : {1})", "f": "tc_fmin_nan({0}, {1})"},
        lambda i, o, gz: [gz * T.eq(o, i[0]), gz * T.eq(o, i[1])], kinds=_REAL),
    Row("arctan2", 2, np.arctan2, {"f": "atan2{f}({0}, {1})"},
        lambda i, o, gz: [gz * i[1] / (_sq(i[0]) + _sq(i[1])), -gz * i[0] / (_sq(i[0]) + _sq(i[1]))],
        kinds=_REAL),
    Row("neg", 1, np.negative, {"i": "(-{0})", "u": "(-{0})", "f": "(-{0})", "c": "(-{0})"},
        lambda i, o, gz: [-gz], kinds="iufc"),
    Row("abs_", 1, np.abs, {"b": "{0}", "i": "({0} < 0 ? -{0} : {0})", "u": "{0}", "f": "fabs{f}({0})",
                            "c": "cabs{f}({0})"},
        lambda i, o, gz: [gz * T.sgn(i[0])] if not i[0].dtype.startswith("complex")
        else [gz * i[0] / T.maximum(o, np.finfo("float64").tiny)], aliases=("abs",)),
    Row("sgn", 1, np.sign, {"i": "(({0} > 0) - ({0} < 0))", "u": "({0} > 0)", "f": "tc_sgn{f}({0})"},
        _zeros, kinds="iuf"),
    Row("sqr", 1, np.square, {"i": "({0} * {0})", "u": "({0} * {0})", "f": "({0} * {0})", "c": "({0} * {0})"},
        lambda i, o, gz: [gz * 2 * _cj(i[0])], kinds="iufc"),
    Row("inv", 1, lambda x: np.true_divide(1, x), {"f": "(1 / {0})", "c": "(1 / {0})"},
        lambda i, o, gz: [-gz * _cj(_sq(o))], kinds="iufc", aliases=("reciprocal",)),
    Row("identity", 1, lambda x: np.array(x, copy=True), "{0}", lambda i, o, gz: [gz],
        aliases=("tensor_copy",)),
    Row("cast", 1, lambda x: np.array(x, copy=True), {"b": "{0}", "i": "{0}", "u": "{0}", "f": "{0}"},
        lambda i, o, gz: [T.cast(gz, i[0].dtype)] if i[0].dtype.startswith(("float", "complex"))
        else _zeros(i, o, gz), doc="conversion to the op's ``out_dtype``"),
    # ---- powers, exponentials and logarithms ---------------------------------------------
    Row("sqrt", 1, np.sqrt, {"f": "sqrt{f}({0})", "c": "csqrt{f}({0})"},
        lambda i, o, gz: [gz * 0.5 / _cj(o)], kinds="iufc"),
    # tc_exp_*: the runtime header's branch-free exp (<= 1 ulp), inlined into fused loops
    Row("exp", 1, np.exp, {"f": "tc_exp_{t}({0})", "c": "cexp{f}({0})"}, lambda i, o, gz: [gz * _cj(o)],
        kinds="iufc"),
    Row("exp2", 1, np.exp2, {"f": "exp2{f}({0})"}, lambda i, o, gz: [gz * o * _LN2], kinds=_REAL),
    Row("expm1", 1, np.expm1, {"f": "expm1{f}({0})"}, lambda i, o, gz: [gz * (o + 1)], kinds=_REAL),
    Row("log", 1, np.log, {"f": "log{f}({0})", "c": "clog{f}({0})"}, lambda i, o, gz: [gz / _cj(i[0])], kinds="iufc"),
    Row("log2", 1, np.log2, {"f": "log2{f}({0})"}, lambda i, o, gz: [gz / (i[0] * _LN2)], kinds=_REAL),
    Row("log10", 1, np.log10, {"f": "log10{f}({0})"}, lambda i, o, gz: [gz / (i[0] * _LN10)], kinds=_REAL),
    Row("log1p", 1, np.log1p, {"f": "log1p{f}({0})"}, lambda i, o, gz: [gz / (1 + i[0])], kinds=_REAL),
    # ---- trigonometry and hyperbolic functions --------------------------------------------
    Row("sin", 1, np.sin, {"f": "sin{f}({0})"}, lambda i, o, gz: [gz * T.cos(i[0])], kinds=_REAL),
    Row("cos", 1, np.cos, {"f": "cos{f}({0})"}, lambda i, o, gz: [-gz * T.sin(i[0])], kinds=_REAL),
    Row("tan", 1, np.tan, {"f": "tan{f}({0})"}, lambda i, o, gz: [gz * (1 + _sq(o))], kinds=_REAL),
    Row("arcsin", 1, np.arcsin, {"f": "asin{f}({0})"},
        lambda i, o, gz: [gz / T.sqrt(1 - _sq(i[0]))], kinds=_REAL),
    Row("arccos", 1, np.arccos, {"f": "acos{f}({0})"},
        lambda i, o, gz: [-gz / T.sqrt(1 - _sq(i[0]))], kinds=_REAL),
    Row("arctan", 1, np.arctan, {"f": "atan{f}({0})"}, lambda i, o, gz: [gz / (1 + _sq(i[0]))], kinds=_REAL),
    Row("sinh", 1, np.sinh, {"f": "sinh{f}({0})"}, lambda i, o, gz: [gz * T.cosh(i[0])], kinds=_REAL),
    Row("cosh", 1, np.cosh, {"f": "cosh{f}({0})"}, lambda i, o, gz: [gz * T.sinh(i[0])], kinds=_REAL),
    # tc_tanh_*: the runtime header's branch-free tanh (<= 2 ulp; vs libmvec: f64 ~1.7-2x, f32 ~1.1-1.3x faster)
    Row("tanh", 1, np.tanh, {"f": "tc_tanh_{t}({0})"}, lambda i, o, gz: [gz * (1 - _sq(o))], kinds=_REAL),
    Row("arcsinh", 1, np.arcsinh, {"f": "asinh{f}({0})"},
        lambda i, o, gz: [gz / T.sqrt(_sq(i[0]) + 1)], kinds=_REAL),
    Row("arccosh", 1, np.arccosh, {"f": "acosh{f}({0})"},
        lambda i, o, gz: [gz / T.sqrt(_sq(i[0]) - 1)], kinds=_REAL),
    Row("arctanh", 1, np.arctanh, {"f": "atanh{f}({0})"}, lambda i, o, gz: [gz / (1 - _sq(i[0]))], kinds=_REAL),
    Row("deg2rad", 1, np.deg2rad, {"f": "({0} * 0.017453292519943295{f})"},
        lambda i, o, gz: [gz * float(np.pi / 180)], kinds=_REAL),
    Row("rad2deg", 1, np.rad2deg, {"f": "({0} * 57.29577951308232{f})"},
        lambda i, o, gz: [gz * float(180 / np.pi)], kinds=_REAL),
    # ---- rounding ----------------------------------------------------------------------
    Row("floor", 1, np.floor, {"f": "floor{f}({0})"}, _zeros, kinds=_REAL),
    Row("ceil", 1, np.ceil, {"f": "ceil{f}({0})"}, _zeros, kinds=_REAL),
    Row("trunc", 1, np.trunc, {"f": "trunc{f}({0})"}, _zeros, kinds=_REAL),
    Row("round_half_to_even", 1, np.round, {"b": "{0}", "i": "{0}", "u": "{0}", "f": "nearbyint{f}({0})"},
        _zeros, kinds=_REAL, aliases=("rint",)),
    Row("round_half_away_from_zero", 1, sm.round_half_away,
        {"b": "{0}", "i": "{0}", "u": "{0}", "f": "round{f}({0})"}, _zeros, kinds=_REAL),
    # ---- comparisons and logic ----------------------------------------------------------
    Row("lt", 2, np.less, "({0} < {1})", _zeros, kinds=_CMP, aliases=("less",)),
    Row("gt", 2, np.greater, "({0} > {1})", _zeros, kinds=_CMP, aliases=("greater",)),
    Row("le", 2, np.less_equal, "({0} <= {1})", _zeros, kinds=_CMP, aliases=("less_equal",)),
    Row("ge", 2, np.greater_equal, "({0} >= {1})", _zeros, kinds=_CMP, aliases=("greater_equal",)),
    Row("eq", 2, np.equal, {"b": "({0} == {1})", "i": "({0} == {1})", "u": "({0} == {1})",
                            "f": "({0} == {1})", "c": "({0} == {1})"}, _zeros, aliases=("equal",)),
    Row("neq", 2, np.not_equal, {"b": "({0} != {1})", "i": "({0} != {1})", "u": "({0} != {1})",
                                 "f": "({0} != {1})", "c": "({0} != {1})"}, _zeros, aliases=("not_equal",)),
    Row("and_", 2, np.bitwise_and, "({0} & {1})", _zeros, kinds=_INT, aliases=("bitwise_and",)),
    Row("or_", 2, np.bitwise_or, "({0} | {1})", _zeros, kinds=_INT, aliases=("bitwise_or",)),
    Row("xor", 2, np.bitwise_xor, "({0} ^ {1})", _zeros, kinds=_INT, aliases=("bitwise_xor",)),
    Row("invert", 1, np.invert, {"b": "(!{0})", "i": "(~{0})", "u": "(~{0})"}, _zeros, kinds=_INT,
        aliases=("bitwise_not",)),
    Row("isnan", 1, np.isnan, {"b": "0", "i": "0", "u": "0", "f": "isnan({0})"}, _zeros, kinds=_REAL),
    Row("isinf", 1, np.isinf, {"b": "0", "i": "0", "u": "0", "f": "isinf({0})"}, _zeros, kinds=_REAL),
    # ---- selection ----------------------------------------------------------------------
    Row("switch", 3, np.where, "({0} ? {1} : {2})",
        lambda i, o, gz: [T.zeros_like(i[0], dtype=_grad_dtype(o)),
                          T.switch(i[0], gz, T.zeros_like(gz)), T.switch(i[0], T.zeros_like(gz), gz)],
        promote_from=1, doc="``switch(cond, a, b)``: a where cond is nonzero, else b"),
    Row("clip", 3, np.clip, {"b": "tc_clip({0}, {1}, {2})", "i": "tc_clip({0}, {1}, {2})",
                             "u": "tc_clip({0}, {1}, {2})", "f": "tc_clip({0}, {1}, {2})"},
        lambda i, o, gz: [gz * T.and_(T.ge(i[0], i[1]), T.le(i[0], i[2])),
                          gz * T.lt(i[0], i[1]), gz * T.gt(i[0], i[2])], kinds=_REAL),
    Row("second", 2, sm.second, "{1}",
        lambda i, o, gz: [T.zeros_like(i[0], dtype=_grad_dtype(o)), gz], promote_from=1,
        doc="``second(a, b)``: b broadcast to a's shape (``T.fill``)"),
    # ---- special functions --------------------------------------------------------------
    Row("erf", 1, sm.erf, {"f": "erf{f}({0})"},
        lambda i, o, gz: [gz * _TWO_OVER_SQRT_PI * T.exp(-_sq(i[0]))], kinds=_REAL),
    Row("erfc", 1, sm.erfc, {"f": "erfc{f}({0})"},
        lambda i, o, gz: [-gz * _TWO_OVER_SQRT_PI * T.exp(-_sq(i[0]))], kinds=_REAL),
    Row("gammaln", 1, sm.gammaln, {"f": "lgamma{f}({0})"}, lambda i, o, gz: [gz * T.psi(i[0])],
        kinds=_REAL, aliases=("lgamma",)),
    Row("psi", 1, sm.psi, None, lambda i, o, gz: [gz * T.tri_gamma(i[0])], kinds=_REAL, aliases=("digamma",)),
    Row("tri_gamma", 1, sm.tri_gamma, None, None, kinds=_REAL, aliases=("trigamma",)),
    Row("sigmoid", 1, sm.sigmoid, {"f": "tc_sigmoid{f}({0})"}, lambda i, o, gz: [gz * o * (1 - o)],
        kinds=_REAL),
    Row("softplus", 1, sm.softplus, {"f": "tc_softplus{f}({0})"}, lambda i, o, gz: [gz * T.sigmoid(i[0])],
        kinds=_REAL),
    Row("ultra_fast_sigmoid", 1, sm.ultra_fast_sigmoid, {"f": "tc_ultra_fast_sigmoid{f}({0})"},
        lambda i, o, gz: [gz * T.sigmoid(i[0]) * (1 - T.sigmoid(i[0]))], kinds=_REAL,
        doc="piecewise approximation of sigmoid; its gradient is the exact sigmoid's, as in Theano"),
    Row("gamma", 1, sm.gamma, {"f": "tgamma{f}({0})"}, lambda i, o, gz: [gz * o * T.psi(i[0])],
        kinds=_REAL),
    Row("erfinv", 1, sm.erfinv, None, lambda i, o, gz: [gz * sm.SQRT_PI_OVER_2 * T.exp(_sq(o))],
        kinds=_REAL, doc="inverse error function (``erf(erfinv(y)) == y`` on [-1, 1])"),
    Row("erfcinv", 1, sm.erfcinv, None, lambda i, o, gz: [-gz * sm.SQRT_PI_OVER_2 * T.exp(_sq(o))],
        kinds=_REAL, doc="inverse complementary error function on [0, 2]"),
    Row("erfcx", 1, sm.erfcx, None, lambda i, o, gz: [gz * (2 * i[0] * o - _TWO_OVER_SQRT_PI)],
        kinds=_REAL, doc="scaled complementary error function ``exp(x**2) * erfc(x)``"),
    # ---- complex numbers -----------------------------------------------------------------
    Row("real", 1, np.real, {"b": "{0}", "i": "{0}", "u": "{0}", "f": "{0}", "c": "creal{f}({0})"},
        lambda i, o, gz: [T.complex(gz, T.zeros_like(gz))] if i[0].dtype.startswith("complex")
        else [gz]),
    Row("imag", 1, np.imag, {"c": "cimag{f}({0})"},
        lambda i, o, gz: [T.complex(T.zeros_like(gz), gz)] if i[0].dtype.startswith("complex")
        else _zeros(i, o, gz)),
    Row("conj", 1, np.conj, {"b": "{0}", "i": "{0}", "u": "{0}", "f": "{0}", "c": "conj{f}({0})"},
        lambda i, o, gz: [T.conj(gz)]),
    Row("angle", 1, np.angle, {"c": "carg{f}({0})"},
        lambda i, o, gz: [gz * T.complex(-T.imag(i[0]), T.real(i[0])) / T.maximum(_sq(T.abs_(i[0])), 1e-300)],
        kinds="fc"),
    Row("complex", 2, sm.make_complex, None,
        lambda i, o, gz: [T.real(gz), T.imag(gz)], kinds=_REAL,
        doc="``complex(real, imag)``"),
)

BY_NAME: dict[str, Row] = {r.name: r for r in ROWS}


def row_by_name(name: str) -> Row:
    """The table row called ``name`` (used to unpickle ops)."""
    return BY_NAME[name]
