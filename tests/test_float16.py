"""float16 elementwise math runs in float32 (the dtype its result is widened to).

The table widens float16 results to float32; these tests check that the math itself
is float32 too, on both backends, fused and unfused: each expression is compared with
numpy applied to the inputs converted to float32 (float16 inputs only; integer inputs
keep their dtype), so a float16 intermediate (``exp(40) == inf``, ``65504 * 2 == inf``,
float16 rounding of ``tanh``) makes them fail.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad

HALF = np.array([40.0, 65504.0, -3.5, 0.0, 1e-4, 11.5, -65504.0, 0.333], dtype=np.float16)
OTHER = np.array([2.0, 65504.0, 0.0, -1.5, 3e-5, 0.5, 2.0, 0.1], dtype=np.float16)
INT8 = np.array([1, -128, 127, 3, 0, -7, 100, 5], dtype=np.int8)
INT16 = np.array([1000, -32768, 32767, 3, 0, -7, 2049, 5], dtype=np.int16)

Builder = Callable[..., Any]
#: name -> (expression over (x, y, i8, i16), its numpy version, expected output dtype)
CASES: dict[str, tuple[Builder, Builder, str]] = {
    "exp": (lambda x, y, b, w: T.exp(x), lambda x, y, b, w: np.exp(x), "float32"),
    "sqrt": (lambda x, y, b, w: T.sqrt(x), lambda x, y, b, w: np.sqrt(x), "float32"),
    "tanh": (lambda x, y, b, w: T.tanh(x), lambda x, y, b, w: np.tanh(x), "float32"),
    "log": (lambda x, y, b, w: T.log(x), lambda x, y, b, w: np.log(x), "float32"),
    "mul_overflow": (lambda x, y, b, w: x * y, lambda x, y, b, w: x * y, "float32"),
    "mul_weak_int": (lambda x, y, b, w: x * 2, lambda x, y, b, w: x * 2, "float32"),
    "mul_weak_float": (lambda x, y, b, w: x * 0.1, lambda x, y, b, w: x * np.float32(0.1), "float32"),
    "add_weak_big_int": (lambda x, y, b, w: x + 100000, lambda x, y, b, w: x + 100000, "float32"),
    "true_div": (lambda x, y, b, w: x / y, lambda x, y, b, w: x / y, "float32"),
    "int_div": (lambda x, y, b, w: x // y, lambda x, y, b, w: x // y, "float32"),
    "lt_stays_bool": (lambda x, y, b, w: T.lt(x, y), lambda x, y, b, w: x < y, "bool"),
    "eq_stays_bool": (lambda x, y, b, w: T.eq(x, y), lambda x, y, b, w: x == y, "bool"),
    "int8_plus_half": (lambda x, y, b, w: b + x * x, lambda x, y, b, w: b + x * x, "float32"),
    "int16_times_half": (lambda x, y, b, w: w * x, lambda x, y, b, w: w * x, "float32"),
    "int8_div_half": (lambda x, y, b, w: b / y, lambda x, y, b, w: b / y, "float32"),
    "switch": (lambda x, y, b, w: T.switch(T.gt(x, 0), x * y, y),
               lambda x, y, b, w: np.where(x > 0, x * y, y), "float32"),
    "sum_exp": (lambda x, y, b, w: T.sum(T.exp(x[::5]) * y[::5]),  # a fused reduction
                lambda x, y, b, w: np.sum(np.exp(x[::5]) * y[::5]), "float32"),
    "chain": (lambda x, y, b, w: T.exp(x) * y + T.tanh(y * 3) - 1,
              lambda x, y, b, w: np.exp(x) * y + np.tanh(y * np.float32(3)) - 1, "float32"),
}


def _reference(name: str) -> np.ndarray:
    ref = CASES[name][1]
    with np.errstate(all="ignore"):
        return np.asarray(ref(HALF.astype(np.float32), OTHER.astype(np.float32), INT8, INT16))


def _run(name: str, mode: tensorc.Mode) -> tuple[Any, np.ndarray]:
    x, y = T.vector("x", dtype="float16"), T.vector("y", dtype="float16")
    b, w = T.bvector("b"), T.wvector("w")
    out = CASES[name][0](x, y, b, w)
    f = tensorc.function([x, y, b, w], out, mode=mode, on_unused_input="ignore")
    with np.errstate(all="ignore"):
        return out, f(HALF, OTHER, INT8, INT16)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "unfused"])
@pytest.mark.parametrize("name", list(CASES))
def test_half_math_runs_in_float32(name: str, fused: bool, mode: tensorc.Mode) -> None:
    out, got = _run(name, mode if fused else mode.excluding("fusion"))
    expected = CASES[name][2]
    assert out.dtype == expected and got.dtype == expected
    ref = _reference(name)
    if expected == "bool":
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=2e-6, atol=0, equal_nan=True)


def test_overflow_cases_really_overflow_in_float16() -> None:
    """The inputs are chosen so that float16 math gives other values (the tests above can fail)."""
    with np.errstate(all="ignore"):
        assert np.isinf(np.exp(HALF[0])) and not np.isinf(_reference("exp")[0])
        assert np.isinf(HALF[1] * OTHER[1]) and not np.isinf(_reference("mul_overflow")[1])
        assert np.isinf(HALF + np.float16(100000))[0] and np.isfinite(_reference("add_weak_big_int")).all()
        assert np.tanh(HALF[7]).astype(np.float32) != _reference("tanh")[7]


def test_compute_dtypes_of_half_nodes() -> None:
    """Type inference: float16 math computes in float32; comparisons of float16 stay float16
    (exact either way); weak constants take the dtype the node computes in."""
    x = T.vector("x", dtype="float16")
    assert (T.exp(x).owner.op.compute_dtype(T.exp(x).owner)) == "float32"
    lt = T.lt(x, x).owner
    assert lt.op.compute_dtype(lt) == "float16" and lt.outputs[0].dtype == "bool"
    scaled = (x * 0.1).owner
    assert [v.dtype for v in scaled.inputs] == ["float16", "float32"]
    assert T.cast(x, "float16").dtype == "float16"


def test_half_gradients(mode: tensorc.Mode) -> None:
    """Gradients with respect to float16 inputs match finite differences."""
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 2.0, 6).astype(np.float16)
    b = rng.uniform(-2.0, 2.0, 6).astype(np.float16)
    verify_grad(lambda u, v: T.exp(u * 3) * T.tanh(v) + T.log(u) / (v * v + 1) + T.sqrt(u) * 7,
                [a, b], rng=rng, mode=mode)


def test_half_gradient_of_large_exp(mode: tensorc.Mode) -> None:
    """``d/dx sum(exp(x) / 1e4)`` at ``x = 11.5``: ``exp(11.5)`` overflows float16 but the
    gradient (9.9) does not."""
    x = T.vector("x", dtype="float16")
    g = tensorc.grad(T.sum(T.exp(x) / 1e4), x)
    got = tensorc.function([x], g, mode=mode)(np.array([11.5, -3.0], dtype=np.float16))
    assert g.dtype == got.dtype == "float16"
    want = np.exp(np.array([11.5, -3.0], dtype=np.float32)) / np.float32(1e4)
    np.testing.assert_allclose(got, want.astype(np.float16), rtol=1e-3)
