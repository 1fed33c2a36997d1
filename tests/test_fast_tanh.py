"""tanh on both backends: error in ulps against a high-precision reference over dense
sweeps, numpy's exact results for special values, strided inputs, and the gradient.

On the C backend ``T.tanh`` is the runtime header's branch-free ``tc_tanh_f32/f64``
(``csrc/tensorc_runtime.h``), not libm; the numpy backend is ``np.tanh``.  Both must be
within 2 ulp (float64) / 2.5 ulp (float32: the header trades the division correction
for speed, measured max 2.4 ulp over every float) of the exact value.  References: float64 results against ``np.longdouble``
(x87 80-bit, 11 more bits), float32 results against float64.
"""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.graph.type import TensorType
from tensorc.gradient import verify_grad

from conftest import BACKENDS

DTYPES = ("float32", "float64")
MAX_ULP = {"float32": 2.5, "float64": 2.0}


def _reference(x: np.ndarray) -> np.ndarray:
    """tanh(x) in a wider float type than x (returned in that wider type)."""
    if x.dtype == np.float32:
        return np.tanh(x.astype(np.float64))
    if np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant:
        pytest.skip("np.longdouble is no wider than float64 here: no float64 reference")
    return np.tanh(x.astype(np.longdouble))


def _ulp_error(got: np.ndarray, x: np.ndarray) -> np.ndarray:
    """|got - tanh(x)| in units of the last place of the exact result, in x's dtype."""
    ref = _reference(x)
    ulp = np.spacing(np.abs(ref).astype(x.dtype)).astype(ref.dtype)
    return np.abs(got.astype(ref.dtype) - ref) / ulp


def _sweep(dtype: str) -> np.ndarray:
    """Dense sweep: a uniform grid over the whole useful range, random points where the
    rounding of em + 2 matters most (|x| < 0.55), every binade down to the smallest subnormal, the neighbourhood of each expm1 range-reduction boundary
    (2|x| = k ln2) and of the em < 2 switch (|x| = ln(2)), and values beyond saturation."""
    fin = np.finfo(dtype)
    rng = np.random.default_rng(20)
    pos = [np.linspace(0.0, 25.0, 400_001), np.geomspace(float(fin.smallest_subnormal), 30.0, 200_000),
           rng.uniform(0.0, 0.6, 300_000), rng.uniform(0.0, 4.0, 300_000),
           np.linspace(0.5, 0.6, 50_001), np.geomspace(20.0, float(fin.max) / 4, 2_000)]
    edges = np.concatenate([np.arange(1, 60) * np.log(2.0) / 2, [np.log(2.0)]]).astype(dtype)
    steps = np.arange(-40, 41)
    near = [np.nextafter(e, np.inf if s > 0 else 0, dtype=dtype) for e in edges for s in (1, -1)]
    around = (edges[:, None].astype(np.float64) * (1 + steps[None, :] * float(fin.eps))).ravel()
    x = np.concatenate([*pos, near, around]).astype(dtype)
    return np.concatenate([x, -x])


def _float32_bit_sweep(stride: int = 997) -> np.ndarray:
    """Every ``stride``-th float32 bit pattern from +0 to the largest finite, both signs."""
    bits = np.arange(0, 0x7F800000, stride, dtype=np.uint32)
    x = bits.view(np.float32)
    return np.concatenate([x, -x])


def _tanh_fn(dtype: str, mode: tensorc.Mode, ndim: int = 1) -> tensorc.Function:
    x = TensorType(dtype, (False,) * ndim)("x")
    return tensorc.function([x], T.tanh(x), mode=mode)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_within_2_ulp_dense_sweep(dtype, mode):
    x = _sweep(dtype)
    got = _tanh_fn(dtype, mode)(x)
    assert got.dtype == dtype
    err = _ulp_error(got, x)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP[dtype], f"{err[worst]:.3f} ulp at x = {x[worst]!r}: got {got[worst]!r}"


def test_tanh_float32_within_2_ulp_over_bit_patterns(mode):
    """A sweep over the float32 encodings (1 in 997), so every binade is dense."""
    x = _float32_bit_sweep()
    got = _tanh_fn("float32", mode)(x)
    err = _ulp_error(got, x)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP["float32"], f"{err[worst]:.3f} ulp at x = {x[worst]!r}"
    assert np.all(np.abs(got) <= 1)
    half = len(x) // 2
    np.testing.assert_array_equal(got[half:], -got[:half])  # odd, -0.0 included


@pytest.mark.parametrize("start", [0.0, 1e-3, 0.3, 0.34, 1.0, 4.0, 8.9])
def test_tanh_float32_nearly_monotone_over_consecutive_floats(mode, start):
    """2**18 consecutive float32 values from ``start``: a step never lowers the result by
    more than 2 ulp.  (The header's tanh is not strictly monotone: rounding in its expm1
    lets ~0.04% of the steps go down.)"""
    first = np.array(start, dtype=np.float32).view(np.uint32)
    x = (first + np.arange(2 ** 18, dtype=np.uint32)).view(np.float32)
    got = _tanh_fn("float32", mode)(x)
    steps = np.diff(got.view(np.int32).astype(np.int64))  # results >= 0: ulps in the bits
    assert steps.min() >= -2, f"drops {-steps.min()} ulp after x = {x[int(np.argmin(steps))]!r}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_special_values_are_numpys(dtype, mode):
    fin = np.finfo(dtype)
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, float(fin.tiny), -float(fin.tiny),
                  float(fin.smallest_subnormal), -float(fin.smallest_subnormal), float(fin.max),
                  -float(fin.max), 1e-30, -1e-30, 19.0, 20.0, 40.0, -1e5], dtype=dtype)
    got = _tanh_fn(dtype, mode)(x)
    want = np.tanh(x)
    np.testing.assert_array_equal(got, want)  # NaN positions must agree too
    np.testing.assert_array_equal(np.signbit(got[~np.isnan(got)]), np.signbit(want[~np.isnan(want)]))
    assert np.isnan(got[4]) and np.isnan(got[5])


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_strided_and_transposed_inputs(dtype, mode, rng):
    base = (rng.standard_normal((40, 60)) * 3).astype(dtype)
    base[::7, ::5] = 0.3 * base[::7, ::5]  # some values in the small range
    f2 = _tanh_fn(dtype, mode, ndim=2)
    f1 = _tanh_fn(dtype, mode, ndim=1)
    for view, fn in ((base.T, f2), (base[::3, 1::2], f2), (base[:, ::-4], f2), (base.ravel()[::7], f1)):
        got = fn(view)
        assert got.shape == view.shape
        assert np.all(_ulp_error(got, view) <= MAX_ULP[dtype])
        np.testing.assert_array_equal(got, fn(np.ascontiguousarray(view)))


@pytest.mark.skipif("c" not in BACKENDS, reason="needs the C backend (a working compiler)")
@pytest.mark.parametrize("dtype,helper", [("float32", "tc_tanh_float32("), ("float64", "tc_tanh_float64(")])
def test_c_kernel_uses_the_runtime_tanh_and_agrees_with_numpy(dtype, helper, rng):
    """The C backend's tanh is the header's helper (not libm) and stays within 2 ulp of
    the numpy backend's result wherever numpy's own tanh is within 1 ulp."""
    c_mode = tensorc.Mode(optimizer="fast_run", backend="c", name="C")
    f = _tanh_fn(dtype, c_mode)
    assert helper in f._runner.program.c_source()
    x = _sweep(dtype)
    got = f(x)
    ref = _tanh_fn(dtype, tensorc.Mode(optimizer="fast_run", backend="numpy", name="N"))(x)
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    assert np.all(diff <= 3 * np.spacing(np.abs(ref)).astype(np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_inside_a_fused_expression_and_its_gradient(dtype, mode, rng):
    x = TensorType(dtype, (False,))("x")
    a = rng.uniform(-4, 4, 1000).astype(dtype)
    bump = T.tanh(x) * T.exp(-x ** 2)
    f = tensorc.function([x], [bump, tensorc.grad(T.sum(bump), x)], mode=mode)
    got, g = f(a)
    a64 = a.astype(np.float64)
    t, e = np.tanh(a64), np.exp(-a64 ** 2)
    rtol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, t * e, rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(g, e * ((1 - t ** 2) - 2 * a64 * t), rtol=rtol * 10, atol=rtol * 1e-2)
    verify_grad(lambda v: T.tanh(v) * T.exp(-v ** 2), [rng.uniform(-2, 2, 7).astype(dtype)],
                mode=mode, rng=rng)
