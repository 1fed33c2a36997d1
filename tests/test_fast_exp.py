"""exp on both backends: error in ulps against a high-precision reference over dense
sweeps (including results in the subnormal range and next to the overflow threshold),
numpy's exact results for special values, integer inputs, strided inputs,
the row kernels (softmax, log_softmax, logsumexp) and gradients.

On the C backend ``T.exp`` in elementwise kernels is the runtime header's branch-free
``tc_exp_f32/f64`` (``csrc/tensorc_runtime.h``), not libm; it must be within 1 ulp of the
exact value.  (The row kernels keep libmvec's exp, measured faster there; their test
here checks accuracy only.)  The numpy backend is ``np.exp``: within 1 ulp in float64, but numpy's own
SIMD float32 exp is only within ~2.3 ulp (measured), so float32 on that backend is held
to 2.5 ulp.  References: float64 results against ``np.longdouble`` (x87 80-bit, 11 more
bits, and a wider exponent range, so subnormal results are compared exactly), float32
results against float64.
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


def _max_ulp(backend: str, dtype: str) -> float:
    return 2.5 if (backend == "numpy" and dtype == "float32") else 1.0


def _reference(x: np.ndarray) -> np.ndarray:
    """exp(x) in a wider float type than x (returned in that wider type)."""
    if x.dtype == np.float32:
        return np.exp(x.astype(np.float64))
    if np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant:
        pytest.skip("np.longdouble is no wider than float64 here: no float64 reference")
    return np.exp(x.astype(np.longdouble))


def _ulp_error(got: np.ndarray, x: np.ndarray) -> np.ndarray:
    """|got - exp(x)| in units of the last place of the exact result in x's dtype (the
    subnormal spacing below the normal range); results beyond the largest finite value
    must be inf (error 0) or count as 1e9 ulp."""
    ref = _reference(x)
    big = ref > np.finfo(x.dtype).max
    with np.errstate(over="ignore"):
        ulp = np.spacing(ref.astype(x.dtype)).astype(ref.dtype)
    err = np.abs(got.astype(ref.dtype) - ref) / np.where(big, 1, ulp)
    return np.where(big, np.where(np.isposinf(got), 0.0, 1e9), err)


def _sweep(dtype: str) -> np.ndarray:
    """The whole finite-result range uniformly, random points in [-1, 1] and the
    subnormal-result range, the neighbourhood of every range-reduction boundary
    (x = (k + 1/2) ln2, where k changes) and of the overflow threshold, and tiny |x|."""
    fin = np.finfo(dtype)
    lo, hi = (-746.0, 709.8) if dtype == "float64" else (-104.0, 88.8)
    sub = np.log(float(fin.tiny))  # below this the result is subnormal
    rng = np.random.default_rng(5)
    parts = [np.linspace(lo, hi, 600_001), rng.uniform(-1.0, 1.0, 300_000),
             rng.uniform(lo, sub, 300_000), rng.uniform(np.log(float(fin.max)) - 1, hi, 50_000),
             np.geomspace(float(fin.smallest_subnormal), 1.0, 20_000)]
    edges = (np.arange(np.ceil(lo / np.log(2)), np.floor(hi / np.log(2))) + 0.5) * np.log(2.0)
    steps = np.arange(-20, 21)
    around = (edges[:, None] * (1 + steps[None, :] * float(fin.eps))).ravel()
    x = np.concatenate([*parts, around]).astype(dtype)
    return np.concatenate([x, -np.geomspace(float(fin.smallest_subnormal), 1.0, 20_000).astype(dtype)])


def _exp_fn(dtype: str, mode: tensorc.Mode, ndim: int = 1) -> tensorc.Function:
    x = TensorType(dtype, (False,) * ndim)("x")
    return tensorc.function([x], T.exp(x), mode=mode)


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_within_1_ulp_dense_sweep(dtype, mode, backend):
    x = _sweep(dtype)
    with np.errstate(over="ignore"):
        got = _exp_fn(dtype, mode)(x)
    assert got.dtype == dtype
    err = _ulp_error(got, x)
    worst = int(np.argmax(err))
    assert err[worst] <= _max_ulp(backend, dtype), \
        f"{err[worst]:.3f} ulp at x = {x[worst]!r}: got {got[worst]!r}"


def test_exp_float32_over_bit_patterns_and_every_extreme_float(mode, backend):
    """1 in 499 float32 encodings with a finite, nonzero result, plus every float32 whose
    result is subnormal or within a factor e of overflow (the exhaustive check of all
    2.2e9 floats was done once outside the suite: max 0.87 ulp)."""
    bits = np.arange(0, 0x7F800000, 499, dtype=np.uint32).view(np.float32)
    x = np.concatenate([bits, -bits])
    x = x[(x > -104.0) & (x < 89.0)]
    sub_lo, sub_hi = np.float32(-104.0).view(np.uint32), np.float32(-87.33).view(np.uint32)
    top_lo, top_hi = np.float32(87.7).view(np.uint32), np.float32(88.73).view(np.uint32)
    tails = [np.arange(sub_hi, sub_lo, dtype=np.uint32), np.arange(top_lo, top_hi, dtype=np.uint32)]
    x = np.concatenate([x, *(t.view(np.float32) for t in tails)])
    with np.errstate(over="ignore"):
        got = _exp_fn("float32", mode)(x)
    err = _ulp_error(got, x)
    worst = int(np.argmax(err))
    assert err[worst] <= _max_ulp(backend, "float32"), f"{err[worst]:.3f} ulp at x = {x[worst]!r}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_special_values_are_numpys(dtype, mode):
    fin = np.finfo(dtype)
    big = 709.79 if dtype == "float64" else 88.73  # just above the overflow threshold
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, big, 710.0, 1000.0, float(fin.max),
                  -746.0, -1000.0, -float(fin.max), float(fin.smallest_subnormal),
                  -float(fin.smallest_subnormal), float(fin.tiny), 1e-30, -1e-30, 1.0, 2.0, -1.0],
                 dtype=dtype)
    with np.errstate(over="ignore"):
        got = _exp_fn(dtype, mode)(x)
        want = np.exp(x)
    np.testing.assert_array_equal(got[:-3], want[:-3])  # NaN positions must agree too
    assert np.all(np.abs(got[-3:] - want[-3:]) <= np.spacing(want[-3:]))
    assert np.isnan(got[4]) and np.isnan(got[5]) and got[0] == 1 and got[1] == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_underflow_is_gradual_down_to_zero(dtype, mode, backend):
    """Results pass through every subnormal binade and reach +0 exactly where the
    correctly rounded exp does (the last subnormal is 2**-1074 / 2**-149)."""
    fin = np.finfo(dtype)
    tiny = float(fin.smallest_subnormal)
    x = np.log(np.geomspace(tiny, float(fin.tiny), 400).astype(np.float64)).astype(dtype)
    half = np.asarray(np.log(np.longdouble(tiny) / 2)).astype(dtype)  # exp below this rounds to 0
    x = np.concatenate([x, [np.nextafter(half, np.inf), np.nextafter(half, -np.inf)]]).astype(dtype)
    got = _exp_fn(dtype, mode)(x)
    assert np.all(np.diff(got[:-2]) >= 0) and got[-1] == 0 and got[-2] == tiny
    assert np.all(_ulp_error(got, x) <= _max_ulp(backend, dtype))
    assert np.all(got[:200] < float(fin.tiny))


@pytest.mark.parametrize("dtype,out", [("int8", "float32"), ("int64", "float64"), ("uint8", "float32")])
def test_exp_of_integer_inputs(dtype, out, mode):
    x = TensorType(dtype, (False,))("x")
    f = tensorc.function([x], T.exp(x), mode=mode)
    a = np.array([0, 1, 2, 5, 40, 80, 100, 127], dtype=dtype)
    got = f(a)
    assert got.dtype == out  # numpy's float16 for small ints is widened to float32
    with np.errstate(over="ignore"):
        ref = np.exp(a.astype(np.float64)).astype(out)
    np.testing.assert_array_max_ulp(got, ref, maxulp=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_strided_and_transposed_inputs(dtype, mode, backend):
    base = np.random.default_rng(3).uniform(-30, 30, (40, 60)).astype(dtype)
    f2, f1 = _exp_fn(dtype, mode, ndim=2), _exp_fn(dtype, mode, ndim=1)
    for view, fn in ((base.T, f2), (base[::3, 1::2], f2), (base[:, ::-4], f2), (base.ravel()[::7], f1)):
        got = fn(view)
        assert got.shape == view.shape
        assert np.all(_ulp_error(got, view) <= _max_ulp(backend, dtype))
        np.testing.assert_array_equal(got, fn(np.ascontiguousarray(view)))


@pytest.mark.skipif("c" not in BACKENDS, reason="needs the C backend (a working compiler)")
@pytest.mark.parametrize("dtype,helper", [("float32", "tc_exp_float32("), ("float64", "tc_exp_float64(")])
def test_c_kernel_uses_the_runtime_exp_and_agrees_with_numpy(dtype, helper):
    """The C backend's elementwise exp is the header's helper (not libm), also fused with
    other ops, and stays within 1 ulp of the numpy backend's result wherever numpy's own
    exp is within 1 ulp of the exact value."""
    c_mode = tensorc.Mode(optimizer="fast_run", backend="c", name="C")
    f = _exp_fn(dtype, c_mode)
    assert helper in f._runner.program.c_source()
    x = TensorType(dtype, (False,))("x")
    fused = tensorc.function([x], T.tanh(x) * T.exp(-x ** 2), mode=c_mode)
    assert helper in fused._runner.program.c_source()
    a = _sweep(dtype)
    n_mode = tensorc.Mode(optimizer="fast_run", backend="numpy", name="N")
    with np.errstate(over="ignore"):
        got, ref = f(a), _exp_fn(dtype, n_mode)(a)
    good = _ulp_error(ref, a) <= 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        ok = (diff <= 2 * np.spacing(ref).astype(np.float64)) | (got == ref)
    assert np.all(ok[good])


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_kernels_within_a_few_ulp(dtype, mode):
    """softmax, log_softmax and logsumexp over rows with ordinary values, one dominant
    element (the others' exponentials are subnormal) and -inf entries."""
    rng = np.random.default_rng(7)
    a = rng.normal(0, 4, (30, 257)).astype(dtype)
    a[3, :] = -720.0 if dtype == "float64" else -95.0  # exp(a[3]) is subnormal
    a[3, 5] = 0.0
    a[4, ::3] = -np.inf
    x = TensorType(dtype, (False, False))("x")
    f = tensorc.function([x], [T.nnet.softmax(x), T.nnet.logsoftmax(x),
                               T.log(T.sum(T.exp(x), axis=1))], mode=mode)
    sm, lsm, lse = f(a)
    # reference from the differences x - max rounded to dtype, as both backends compute
    # them: that rounding is amplified by |x - max| and is not exp's error
    w = a.astype(np.longdouble)
    d = (a - a.max(axis=1, keepdims=True)).astype(np.longdouble)
    e = np.exp(d)
    rest = np.where(d == 0, 0, e).sum(axis=1)  # log1p keeps a tiny rest (row 3)
    ref_lse = np.log1p(rest + ((d == 0).sum(axis=1) - 1)) + w.max(axis=1)
    eps, sub = float(np.finfo(dtype).eps), float(np.finfo(dtype).smallest_subnormal)
    np.testing.assert_allclose(sm, e / e.sum(axis=1, keepdims=True), rtol=8 * eps, atol=4 * sub)
    # row 3's result is a sum of 256 subnormal exponentials, each rounded once
    np.testing.assert_allclose(lse, ref_lse, rtol=4 * eps, atol=a.shape[1] * sub)
    finite = np.isfinite(a)
    np.testing.assert_allclose(lsm[finite], (w - ref_lse[:, None])[finite], rtol=8 * eps, atol=4 * eps)
    assert np.all(lsm[~finite] == -np.inf) and np.all(sm[~finite] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_in_fused_expressions_and_gradients(dtype, mode, rng):
    x = TensorType(dtype, (False,))("x")
    a = rng.uniform(-6, 6, 1000).astype(dtype)
    g = tensorc.function([x], tensorc.grad(T.sum(T.exp(-x ** 2) * x), x), mode=mode)(a)
    a64 = a.astype(np.float64)
    rtol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(g, np.exp(-a64 ** 2) * (1 - 2 * a64 ** 2), rtol=rtol * 10, atol=rtol * 1e-3)
    verify_grad(lambda v: T.exp(v) * T.sin(v), [rng.uniform(-3, 3, 7).astype(dtype)], mode=mode, rng=rng)
