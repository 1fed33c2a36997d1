"""numpy implementations of the inverse error functions, ``erfcx`` and ``gamma`` for the
elementwise table (scipy's versions when importable, numpy fallbacks otherwise).

>>> import numpy as np
>>> round(float(erfinv(np.array(0.5))), 10)
0.4769362762
"""
from __future__ import annotations

import math

import numpy as np

from tensorc.ops.scalar_math import _special, erf, erfc

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
