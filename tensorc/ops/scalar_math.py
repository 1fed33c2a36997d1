"""numpy implementations of special functions numpy lacks (erf, erfc, gammaln, psi,
trigamma, the inverse error functions, erfcx, gamma) and of the table's other helpers.

scipy's versions are used when scipy is importable; otherwise these vectorised
fallbacks (accurate to a few ulps in float64) keep tensorc dependent on numpy only.

>>> float(erf(np.array(0.5)))  # doctest: +ELLIPSIS
0.5204998778...
>>> round(float(erfinv(np.array(0.5))), 10)
0.4769362762
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from functools import lru_cache


@lru_cache(maxsize=1)
def _scipy_special():
    """scipy.special when importable (imported on first use: it costs ~0.3 s), else None."""
    try:
        from scipy import special
    except Exception:  # pragma: no cover - depends on the environment
        return None
    return special


def _float_dtype(x: np.ndarray) -> np.dtype:
    """The float dtype numpy's own math gives for ``x`` (float16 widened to float32)."""
    dt = np.result_type(x.dtype, np.float16)
    return np.dtype("float32") if dt == np.float16 else dt


def _as_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else x.astype(_float_dtype(x))


def _vectorize(fn, x: np.ndarray) -> np.ndarray:
    dt = _float_dtype(x)
    flat = np.asarray(x, dtype="float64").ravel()
    out = np.fromiter((fn(float(v)) for v in flat), dtype="float64", count=flat.size)
    return out.reshape(np.shape(x)).astype(dt, copy=False)


def _lgamma(v: float) -> float:
    if math.isnan(v):
        return v
    if v <= 0 and v == math.floor(v):
        return math.inf
    try:
        return math.lgamma(v)
    except OverflowError:
        return math.inf


def _digamma(v: float) -> float:
    """Digamma by reflection, recurrence up to 10 and the asymptotic series."""
    if math.isnan(v) or v == -math.inf:
        return math.nan
    if v == math.inf:
        return math.inf
    if v <= 0 and v == math.floor(v):
        return math.nan
    if v < 0:
        return _digamma(1.0 - v) - math.pi / math.tan(math.pi * v)
    acc = 0.0
    while v < 10.0:
        acc -= 1.0 / v
        v += 1.0
    inv = 1.0 / v
    inv2 = inv * inv
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
        1 / 240 - inv2 * (1 / 132 - inv2 * 691 / 32760)))))
    return acc + math.log(v) - 0.5 * inv - series


def _special(name: str, fallback: Callable[[Any], Any], *, vectorized: bool = False,
             scipy_fn: Callable[[Any], Callable[[np.ndarray], np.ndarray]] | None = None,
             ) -> Callable[[np.ndarray], np.ndarray]:
    """A numpy-semantics special function: scipy's (``scipy_fn(scipy.special)``, default
    ``scipy.special.<name>``) when scipy is importable, else ``fallback`` — applied to each
    element, or with ``vectorized=True`` to the whole float64 array."""
    def fn(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        x = x.astype(_float_dtype(x), copy=False)
        sp = _scipy_special()
        if sp is not None:
            return (scipy_fn(sp) if scipy_fn is not None else getattr(sp, name))(x)
        if vectorized:
            with np.errstate(all="ignore"):
                return np.asarray(fallback(x.astype("float64"))).astype(x.dtype, copy=False)
        return _vectorize(fallback, x)
    fn.__name__ = name
    fn.__doc__ = f"numpy-semantics ``{name}`` (scipy when importable, else a numpy fallback)."
    return fn


def _trigamma(v: float) -> float:
    """Trigamma by reflection, recurrence up to 10 and the asymptotic series."""
    if math.isnan(v) or v == -math.inf:
        return math.nan
    if v == math.inf:
        return 0.0
    if v <= 0 and v == math.floor(v):
        return math.inf
    if v < 0:
        return -_trigamma(1.0 - v) + (math.pi / math.sin(math.pi * v)) ** 2
    acc = 0.0
    while v < 10.0:
        acc += 1.0 / (v * v)
        v += 1.0
    inv = 1.0 / v
    inv2 = inv * inv
    series = inv * (1 + inv / 2 + inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 * (
        1 / 30 - inv2 * 5 / 66)))))
    return acc + series


erf = _special("erf", math.erf)
erfc = _special("erfc", math.erfc)
gammaln = _special("gammaln", _lgamma)
psi = _special("psi", _digamma)
tri_gamma = _special("tri_gamma", _trigamma, scipy_fn=lambda sp: lambda x: sp.polygamma(1, x))


# -- the inverse error functions, erfcx and gamma -------------------------------------------
SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2


def _erfinv_fallback(y: np.ndarray) -> np.ndarray:
    """Newton iterations on erf from a Giles-style initial guess (float64)."""
    y64 = np.asarray(y, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - y64) * (1.0 + y64))
        x = np.sqrt(np.pi) / 2 * y64 * (1 + w / 8)  # rough start, refined below
        x = np.where(np.abs(y64) > 0.9, np.sign(y64) * np.sqrt(np.maximum(w - np.log(np.maximum(w, 1e-300)), 0)), x)
        for _ in range(60):
            step = (erf(x) - y64) / (2 / np.sqrt(np.pi) * np.exp(-x * x))
            x = np.where(np.isfinite(step), x - step, x)
    x = np.where(y64 == 1, np.inf, np.where(y64 == -1, -np.inf, x))
    return np.where((np.abs(y64) > 1) | np.isnan(y64), np.nan, x)


def _erfcx_fallback(x: np.ndarray) -> np.ndarray:
    return np.exp(np.square(x)) * erfc(x)


def _gamma1(v: float) -> float:
    if math.isnan(v) or (v <= 0 and v == math.floor(v)):
        return math.nan if v != 0 else math.copysign(math.inf, v)
    try:
        return math.gamma(v)
    except OverflowError:
        return math.inf


erfinv = _special("erfinv", _erfinv_fallback, vectorized=True)
erfcinv = _special("erfcinv", lambda y: _erfinv_fallback(1.0 - y), vectorized=True)
erfcx = _special("erfcx", _erfcx_fallback, vectorized=True)
gamma = _special("gamma", _gamma1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1/(1+exp(-x)) without overflow for large |x|."""
    x = _as_float(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(e.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1+exp(x)) without overflow: max(x,0) + log1p(exp(-|x|))."""
    x = _as_float(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def ultra_fast_sigmoid(x: np.ndarray) -> np.ndarray:
    """Theano's piecewise-linear/rational approximation of the sigmoid."""
    x = _as_float(x)
    h = 0.5 * np.abs(x)
    z = np.where(h < 1.7, 1.5 * h / (1 + h),
                 np.where(h < 3, 0.935409070603099 + 0.0458812946797165 * (h - 1.7),
                          0.99505475368673))
    z = np.where(np.isnan(x), x, z)
    return (0.5 * np.copysign(z, x) + 0.5).astype(h.dtype, copy=False)


def round_half_away(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (C's ``round``), exactly, in ``x``'s own dtype.

    ``x - trunc(x)`` is exact in floating point, so comparing its magnitude with 0.5
    decides without rounding; ``floor(|x| + 0.5)`` did round: 0.49999999999999994 gave 1
    and 2**52 + 1 gave 2**52 + 2.  Signs stay (-0.3 -> -0.0), inf and nan too; integers
    and bools are returned unchanged (a copy).

    >>> round_half_away(np.array([0.5, -2.5, 0.49999999999999994, -0.3])).tolist()
    [1.0, -3.0, 0.0, -0.0]
    >>> int(round_half_away(np.array(2.0 ** 52 + 1))) - 2 ** 52
    1
    """
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        return x.copy()
    whole = np.trunc(x)
    with np.errstate(invalid="ignore"):  # inf - inf: nan, which compares False below
        up = np.abs(x - whole) >= np.asarray(0.5, x.dtype)
    return whole + np.copysign(up.astype(x.dtype), x)


def second(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b`` broadcast to the joint shape of ``a`` and ``b`` (Theano's ``fill``)."""
    return np.array(np.broadcast_to(b, np.broadcast_shapes(np.shape(a), np.shape(b))))


def make_complex(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    kind = np.result_type(re, im, np.float32)
    out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)),
                   dtype="complex64" if kind == np.float32 else "complex128")
    out.real, out.imag = re, im
    return out
