"""Every row of the elementwise table against its numpy function, over dtypes and
broadcast patterns, on every backend (table-driven: a new row is tested by existing)."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.graph.type import TensorType
from tensorc.ops.elemwise_table import ROWS

DTYPES = ("bool", "int8", "int32", "int64", "uint8", "float32", "float64", "complex128")
PATTERNS = {
    1: [((False, False),), ((),), ((True, False),)],
    2: [((False, False), (False, False)), ((False, False), (True, False)),
        ((False, True), (True, False)), ((), (False,))],
    3: [((False, False), (False, False), (False, False)), ((False, False), (), (True, False))],
}
SKIP_ROWS = {"cast"}  # tested in test_cast below (it takes a dtype parameter)


def _values(dtype: str, shape: tuple, rng: np.random.Generator, row: str, position: int) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith("uint"):
        return rng.integers(0 if row not in ("pow", "int_div", "mod") else 1, 9, shape).astype(dtype)
    if dtype.startswith("int"):
        if row == "pow":
            return rng.integers(0 if position else -3, 4, shape).astype(dtype)
        return rng.integers(-5, 6, shape).astype(dtype)
    vals = rng.uniform(-3, 3, shape)
    if dtype.startswith("complex"):
        vals = vals + 1j * rng.uniform(-3, 3, shape)
    return vals.astype(dtype)


def _shape(pattern: tuple) -> tuple:
    return tuple(1 if b else (3 + k) for k, b in enumerate(pattern))


def _rows_for(dtype: str, nin: int) -> list:
    return [row for row in ROWS if row.name not in SKIP_ROWS and row.nin == nin
            and np.dtype(dtype).kind in row.kinds
            and not (row.promote_from and dtype not in ("int32", "float64", "float32"))]


def _cases():
    for nin, patterns in PATTERNS.items():
        for dtype in DTYPES:
            if not _rows_for(dtype, nin):
                continue
            for pattern in patterns:
                name = "-".join("".join("b" if b else "n" for b in p) or "0d" for p in pattern)
                yield pytest.param(dtype, pattern, id=f"{dtype}-{nin}in-{name}")


def _check(row, got: np.ndarray, out_dtype: str, values: list) -> None:
    with np.errstate(all="ignore"):
        ref = np.asarray(row.numpy(*values))
    expected = "float32" if ref.dtype == np.float16 else ref.dtype.name
    assert out_dtype == expected, f"{row.name}: type inference {out_dtype} != numpy's {expected}"
    assert got.dtype == expected, f"{row.name}: result dtype {got.dtype} != {expected}"
    assert got.shape == ref.shape, f"{row.name}: shape {got.shape} != {ref.shape}"
    if ref.dtype.kind in "fc":
        single = ref.dtype in (np.float32, np.complex64)
        rtol = 1e-3 if ref.dtype == np.float16 else (2e-6 if single else 1e-12)
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * 1e-3, equal_nan=True,
                                   err_msg=f"row {row.name}")
    else:
        np.testing.assert_array_equal(got, ref, err_msg=f"row {row.name}")


@pytest.mark.parametrize("dtype,pattern", list(_cases()))
def test_rows_match_numpy(dtype, pattern, mode, rng):
    """Every row of one arity, for one input dtype and broadcast pattern, in one function
    (one compile on the C backend; the many outputs also exercise multi-output fusion)."""
    rows = _rows_for(dtype, len(pattern))
    variables = [TensorType(dtype, p)(f"x{k}") for k, p in enumerate(pattern)]
    values = [_values(dtype, _shape(p), rng, "any", k) for k, p in enumerate(pattern)]
    inputs, feeds, outs, used = list(variables), list(values), [], []
    for row in rows:
        ins, vals = variables, values
        if row.name == "switch":  # a bool condition
            cond = TensorType("bool", pattern[0])("cond")
            ins, vals = [cond] + variables[1:], [_values("bool", _shape(pattern[0]), rng, "", 0)] + values[1:]
        elif row.name in ("pow", "int_div", "mod") and np.dtype(dtype).kind in "iu":
            ins = [TensorType(dtype, p)(f"{row.name}{k}") for k, p in enumerate(pattern)]
            vals = [_values(dtype, _shape(p), rng, row.name, k) for k, p in enumerate(pattern)]
        for v, a in zip(ins, vals):
            if not any(v is w for w in inputs):
                inputs.append(v)
                feeds.append(a)
        outs.append(getattr(T, row.name)(*ins))
        used.append(vals)
    f = tensorc.function(inputs, outs, mode=mode, on_unused_input="ignore")
    for row, out, got, vals in zip(rows, outs, f(*feeds), used):
        _check(row, got, out.dtype, vals)


@pytest.mark.parametrize("src", ["bool", "int8", "int64", "uint8", "float32", "float64"])
@pytest.mark.parametrize("dst", ["bool", "int16", "int64", "uint16", "float32", "float64", "complex128"])
def test_cast(src, dst, mode, rng):
    x = TensorType(src, (False,))("x")
    values = _values(src, (7,), rng, "cast", 0)
    f = tensorc.function([x], T.cast(x, dst), mode=mode)
    got = f(values)
    assert got.dtype == dst
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got, values.astype(dst))


@pytest.mark.parametrize("dst", ["int8", "int16", "uint8", "uint16", "uint32", "uint64"])
def test_cast_to_integer_wraps_inside_a_fused_loop(dst, mode):
    """``cast(x, 'uint8') / 255``: the wrapped integer (numpy's result for values inside
    int64's range) feeds the division, not the truncated float (gcc folds
    ``(double)(uint8)x`` into ``trunc(x)``, as C leaves an out-of-range conversion undefined)."""
    x = T.dvector("x")
    values = np.array([-1.0, -4.6, -0.5, 255.9, 256.0, 300.0, -200.3, 70000.5, -70000.5, 3.0])
    with np.errstate(all="ignore"):
        want = values.astype(dst).astype("float64")
    got_div = tensorc.function([x], T.cast(x, dst) / 255.0, mode=mode)(values)
    got_mul = tensorc.function([x], T.cast(x, dst) * 1.0, mode=mode)(values)
    np.testing.assert_allclose(got_div, want / 255.0, rtol=1e-15)
    np.testing.assert_array_equal(got_mul, want)
    np.testing.assert_array_equal(np.signbit(got_mul), np.signbit(want))  # -0.5 -> +0.0


def test_cast_complex_to_real_is_an_error():
    with pytest.raises(TypeError, match="imaginary"):
        T.cast(T.zvector(), "float64")


def test_elemwise_rejects_mismatched_runtime_shapes(mode):
    x, y = T.matrix("x"), T.matrix("y")
    f = tensorc.function([x, y], x + y, mode=mode)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 1\)|do not match"):
        f(np.ones((2, 3)), np.ones((2, 1)))


def test_declared_broadcast_dims_broadcast(mode):
    x, r = T.matrix("x"), T.row("r")
    f = tensorc.function([x, r], x * r, mode=mode)
    np.testing.assert_allclose(f(np.ones((2, 3)) * 2, np.array([[1.0, 2, 3]])), [[2, 4, 6], [2, 4, 6]])


def test_wrong_dtype_kind_is_a_type_error():
    with pytest.raises(TypeError, match="bitwise|and_.*float64"):
        T.and_(T.dvector(), T.dvector())


def test_integer_floor_division_and_modulo_follow_python(mode):
    a, b = T.lvector("a"), T.lvector("b")
    f = tensorc.function([a, b], [a // b, a % b], mode=mode)
    av = np.array([7, -7, 7, -7, 0, 5])
    bv = np.array([2, 2, -2, -2, 3, 0])
    q, r = f(av, bv)
    np.testing.assert_array_equal(q, [3, -4, -4, 3, 0, 0])
    np.testing.assert_array_equal(r, [1, 1, -1, -1, 0, 0])


def test_round_is_half_to_even_by_default(mode):
    x = T.dvector("x")
    f = tensorc.function([x], [T.round(x), T.round(x, "half_away_from_zero")], mode=mode)
    even, away = f([0.5, 1.5, 2.5, -0.5, -2.5])
    np.testing.assert_array_equal(even, [0, 2, 2, -0, -2])
    np.testing.assert_array_equal(away, [1, 2, 3, -1, -3])


NEG_POWER = "Integers to negative integer powers are not allowed"
SIGNED = ("int8", "int16", "int32", "int64")
INTEGERS = SIGNED + ("uint8", "uint16", "uint32", "uint64")


def _negative_power_case(case: str, dtype: str) -> tuple[list, object, list]:
    """(inputs, output, values) of ``x ** y`` with one negative exponent, in the form ``case``."""
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    base = np.array([2, -3, 1, 0, -1, 5, 2], dtype)
    exp = np.array([0, 1, 2, 3, 4, 5, -1], dtype)
    if case == "array":
        return [x, y], x ** y, [base, exp]
    if case == "first":  # the negative exponent comes first
        return [x, y], x ** y, [base, exp[::-1].copy()]
    if case == "constant":
        return [x], x ** np.array(-2, dtype), [base]
    if case == "weak-constant":  # a Python int: x's dtype is kept
        return [x], x ** -1, [base]
    if case == "scalar":
        a, b = T.scalar("a", dtype=dtype), T.scalar("b", dtype=dtype)
        return [a, b], a ** b, [np.array(3, dtype), np.array(-1, dtype)]
    if case == "broadcast-exponent":
        m, r = T.matrix("m", dtype=dtype), T.row("r", dtype=dtype)
        return [m, r], m ** r, [np.tile(base, (3, 1)), exp[None, :]]
    if case == "broadcast-base":
        r, m = T.row("r", dtype=dtype), T.matrix("m", dtype=dtype)
        return [r, m], r ** m, [base[None, :], np.tile(exp, (3, 1))]
    if case == "fused":
        return [x, y], (x ** y) * 2 + x, [base, exp]
    if case == "unsigned-base":  # uint8 ** signed: a signed compute dtype (numpy's promotion)
        u = T.vector("u", dtype="uint8")
        return [u, y], u ** y, [np.abs(base).astype("uint8"), exp]
    raise AssertionError(case)


NEGATIVE_POWER_CASES = ["array", "first", "constant", "weak-constant", "scalar", "broadcast-exponent",
                        "broadcast-base", "fused", "unsigned-base"]


@pytest.mark.parametrize("case", NEGATIVE_POWER_CASES)
@pytest.mark.parametrize("dtype", SIGNED)
def test_integer_power_with_a_negative_exponent_raises_like_numpy(case, dtype, mode):
    """numpy raises for an integer to a negative integer power; the C kernels did return a
    truncated ``1 // x**-y`` (0, or +-1 for a base of +-1)."""
    inputs, out, values = _negative_power_case(case, dtype)
    f = tensorc.function(inputs, out, mode=mode)
    with pytest.raises(ValueError, match=NEG_POWER):
        f(*values)


@pytest.mark.parametrize("dtype", INTEGERS)
def test_integer_power_with_non_negative_exponents_matches_numpy(dtype, mode, rng):
    """Every integer dtype, exponents up to 70 (results wrap like numpy's), negative bases,
    an array, a constant and a 0-d exponent, alone and fused."""
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    s = T.scalar("s", dtype=dtype)
    lo = -9 if dtype in SIGNED else 0
    small = np.arange(lo, 10)
    base = np.concatenate([small, rng.integers(lo, 100, 80 - small.size)]).astype(dtype)
    exp = np.concatenate([np.arange(0, 71), rng.integers(0, 71, 9)]).astype(dtype)
    f = tensorc.function([x, y, s], [x ** y, x ** 3, x ** s, (x ** y) * 2 + x, x ** np.array(0, dtype)],
                         mode=mode)
    got = f(base, exp, np.array(5, dtype))
    with np.errstate(all="ignore"):
        want = [base ** exp, base ** np.array(3, dtype), base ** np.array(5, dtype),
                (base ** exp) * np.array(2, dtype) + base, base ** np.array(0, dtype)]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def _round_away_reference(values: np.ndarray) -> np.ndarray:
    """Half away from zero, exactly (decimal arithmetic on each value's exact binary value);
    the result keeps the input's sign (-0.3 -> -0.0), inf and nan stay."""
    out = []
    for v in values.astype("float64").tolist():
        r = v if not math.isfinite(v) else float(Decimal(v).to_integral_value(ROUND_HALF_UP))
        out.append(math.copysign(r, v) if not math.isnan(r) else r)
    return np.array(out, dtype=values.dtype)


def _round_tricky(dtype: str) -> np.ndarray:
    """Ties, the float just below 0.5, odd integers at the precision limit (where
    ``|x| + 0.5`` rounds up to the next even integer), signed zeros, inf and nan."""
    big = 2.0 ** (np.finfo(dtype).nmant)  # above it every float is an integer
    values = [0.5, 1.5, 2.5, 3.5, 0.3, 0.7, 1.0, 0.0, big + 1, big + 3, big - 0.5, big - 1.5,
              2 * big - 1, 2 * big, np.finfo(dtype).max, np.finfo(dtype).tiny, np.inf]
    values += [float(np.nextafter(np.array(0.5, dtype), np.array(0, dtype))),
               float(np.nextafter(np.array(1.5, dtype), np.array(0, dtype))),
               float(np.nextafter(np.array(2.5, dtype), np.array(9, dtype)))]
    arr = np.array(values, dtype=dtype)
    return np.concatenate([arr, -arr, np.array([np.nan], dtype)])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_round_half_away_from_zero_is_exact(dtype, mode):
    """``floor(|x| + 0.5)`` rounded 0.49999999999999994 up to 1 and 2**52 + 1 to 2**52 + 2
    (the addition rounds); C's ``round`` was right. Both backends against decimal rounding,
    signs of zeros included (float16 computes in float32: its values are exact there)."""
    values = _round_tricky(dtype)
    x = T.vector("x", dtype=dtype)
    got = tensorc.function([x], T.round(x, "half_away_from_zero"), mode=mode)(values)
    want = _round_away_reference(values).astype(got.dtype)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "uint16", "int64", "bool"])
def test_round_half_away_numpy_implementation_keeps_dtype(dtype):
    """The numpy implementation itself, float16 included; integers and bools unchanged."""
    from tensorc.ops.scalar_math import round_half_away
    if np.dtype(dtype).kind == "f":
        values = _round_tricky(dtype)
        want = _round_away_reference(values)
    else:
        values = np.array([0, 1, 5, 100], dtype) if dtype != "bool" else np.array([True, False])
        want = values
    got = round_half_away(values)
    assert got.dtype == values.dtype and got is not values
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("name", ["erf", "erfc", "gammaln", "psi", "tri_gamma"])
def test_special_functions_without_scipy_match_scipy(name, monkeypatch):
    """tensorc depends on numpy only: the pure-Python fallbacks must match scipy."""
    special = pytest.importorskip("scipy.special")
    from tensorc.ops import scalar_math
    x = np.concatenate([np.linspace(-7.5, 9.5, 301), [0.0, -0.0, 1e-8, 50.0, np.inf, -np.inf, np.nan]])
    if name in ("gammaln", "psi", "tri_gamma"):
        x = x[(x > 0) | ~np.isclose(x, np.round(x))]  # poles at non-positive integers
    monkeypatch.setattr(scalar_math, "_scipy_special", lambda: None)
    got = getattr(scalar_math, name)(x)
    with np.errstate(all="ignore"):
        ref = special.polygamma(1, x) if name == "tri_gamma" else getattr(special, name)(x)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14, equal_nan=True)
