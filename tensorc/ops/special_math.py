"""numpy implementations of the inverse error functions, ``erfcx`` and ``gamma`` for the
elementwise table (scipy's versions when importable, numpy fallbacks otherwise).

>>> import numpy as np
>>> round(float(erfinv(np.array(0.5))), 10)
0.4769362762
"""
from __future__ import annotations

import math

import numpy as np

from tensorc.ops.scalar_math import _float_dtype, _scipy_special, _vectorize, erf, erfc

_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2


def _as_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(_float_dtype(x), copy=False)


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


def erfinv(x: np.ndarray) -> np.ndarray:
    """Inverse error function: ``erf(erfinv(y)) == y`` on [-1, 1]."""
    x = _as_float(x)
    sp = _scipy_special()
    if sp is not None:
        return sp.erfinv(x)
    return _erfinv_fallback(x).astype(x.dtype)


def erfcinv(x: np.ndarray) -> np.ndarray:
    """Inverse complementary error function on [0, 2]."""
    x = _as_float(x)
    sp = _scipy_special()
    if sp is not None:
        return sp.erfcinv(x)
    return _erfinv_fallback(1.0 - np.asarray(x, dtype="float64")).astype(x.dtype)


def erfcx(x: np.ndarray) -> np.ndarray:
    """Scaled complementary error function ``exp(x**2) * erfc(x)``."""
    x = _as_float(x)
    sp = _scipy_special()
    if sp is not None:
        return sp.erfcx(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return (np.exp(np.square(x.astype("float64"))) * erfc(x.astype("float64"))).astype(x.dtype)


def _gamma1(v: float) -> float:
    if math.isnan(v) or (v <= 0 and v == math.floor(v)):
        return math.nan if v != 0 else math.copysign(math.inf, v)
    try:
        return math.gamma(v)
    except OverflowError:
        return math.inf


def gamma(x: np.ndarray) -> np.ndarray:
    """The gamma function."""
    x = _as_float(x)
    sp = _scipy_special()
    if sp is not None:
        return sp.gamma(x)
    return _vectorize(_gamma1, x)


SQRT_PI_OVER_2 = _SQRT_PI_OVER_2
