"""Gradients of every elementwise table row, generated from ``ROWS``.

Each row with a gradient rule is checked with ``verify_grad`` (finite differences)
in float64 and float32 over several broadcast patterns.  Input domains live in
``DOMAINS``: a row without an entry is sampled in (-2, 2), so a new row is covered
by adding it to the table (and, when its domain is restricted, a line here).
Rows whose rule is the zero gradient are checked to give exact, connected zeros.
"""
from __future__ import annotations

import zlib
from typing import Any, Callable

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.gradient import NullTypeGradError, grad, verify_grad
from tensorc.ops.elemwise import Elemwise
from tensorc.ops.elemwise_table import ROWS

Sampler = Callable[[np.random.Generator, list], list]


@pytest.fixture
def numpy_mode() -> tensorc.Mode:
    """Gradient graphs are ordinary graphs: this file checks them on the numpy backend
    (the C backend's agreement with numpy on every row is the C backend's own suite;
    tests/test_grad_core.py and test_training.py run gradients on every backend)."""
    return tensorc.Mode(optimizer="fast_run", backend="numpy", name="FAST_RUN(numpy)")


def _u(lo: float, hi: float) -> Sampler:
    return lambda rng, shapes: [rng.uniform(lo, hi, s) for s in shapes]


def _away_from_zero(lo: float, hi: float) -> Sampler:
    return lambda rng, shapes: [rng.uniform(lo, hi, s) * rng.choice([-1, 1], s) for s in shapes]


def _no_ties(rng: np.random.Generator, shapes: list) -> list:
    """Values from interleaved, disjoint bands: |a - b| >= 0.2 everywhere."""
    a = rng.uniform(0, 0.8, shapes[0]) + rng.choice([-2.0, 0.0], shapes[0])
    b = rng.uniform(0, 0.8, shapes[1]) + rng.choice([-1.0, 1.0], shapes[1])
    return [a, b]


def _mod(rng: np.random.Generator, shapes: list) -> list:
    """|x / y| in (0.05, 0.85): x mod y is smooth around every point."""
    x = rng.integers(-3, 3, shapes[0]) + rng.uniform(0.2, 0.8, shapes[0])
    return [x, rng.uniform(3.3, 3.7, shapes[1])]


def _clip(rng: np.random.Generator, shapes: list) -> list:
    x = rng.uniform(-2, 2, shapes[0])
    x = np.where(np.abs(np.abs(x) - 1) < 0.15, x * 0.5, x)
    return [x, np.full(shapes[1], -1.0), np.full(shapes[2], 1.0)]


def _arctan2(rng: np.random.Generator, shapes: list) -> list:
    return [rng.uniform(0.5, 2, s) * rng.choice([-1, 1], s) for s in shapes]


#: row name -> sampler of the inputs (all inputs at once: some domains couple them)
DOMAINS: dict[str, Sampler] = {
    "true_div": _away_from_zero(0.5, 2.0), "inv": _away_from_zero(0.5, 2.0),
    "abs_": _away_from_zero(0.2, 2.0), "angle": _away_from_zero(0.2, 2.0),
    "mod": _mod, "maximum": _no_ties, "minimum": _no_ties, "clip": _clip, "arctan2": _arctan2,
    "pow": lambda rng, shapes: [rng.uniform(0.5, 2, shapes[0]), rng.uniform(-2, 2, shapes[1])],
    "sqrt": _u(0.5, 2), "log": _u(0.5, 2), "log2": _u(0.5, 2), "log10": _u(0.5, 2),
    "log1p": _u(-0.5, 2), "gammaln": _u(0.5, 3), "tan": _u(-1.2, 1.2),
    "arcsin": _u(-0.8, 0.8), "arccos": _u(-0.8, 0.8), "arctanh": _u(-0.8, 0.8),
    "arccosh": _u(1.2, 3.0),
    "gamma": _u(0.5, 3.0), "erfinv": _u(-0.8, 0.8), "erfcinv": _u(0.2, 1.8),
    "psi": _u(0.5, 3.0), "tri_gamma": _u(0.5, 3.0),  # poles at 0, -1, -2
}
#: rows whose gradient is not the derivative of their (approximate) forward: (abs, rel) tolerance
APPROXIMATE = {"ultra_fast_sigmoid": 0.2}
#: how to apply a row when ``T.<name>`` is not a plain call on float inputs
BUILDERS: dict[str, Callable[..., Any]] = {
    "cast": lambda x: T.cast(x, "float32" if x.dtype == "float64" else "float64"),
    "switch": lambda a, b: T.switch(T.constant(np.array([[True, False, True]])), a, b),
    "complex": lambda a, b: T.abs_(T.complex(a, b)),
}

SHAPES = {
    1: [[(3,)], [(2, 3)], [(1, 3)], [()]],
    2: [[(2, 3), (2, 3)], [(2, 3), (1, 3)], [(2, 1), (1, 3)], [(), (2, 3)], [(3,), (2, 3)]],
    3: [[(2, 3), (2, 3), (2, 3)], [(2, 3), (1, 3), (2, 1)]],
}


def _is_zero_rule(row: Any) -> bool:
    return getattr(row.grad, "__name__", "") == "_zeros"


DIFF_ROWS = [r for r in ROWS if r.grad is not None and not _is_zero_rule(r) and "f" in r.kinds]
ZERO_ROWS = [r for r in ROWS if r.grad is not None and _is_zero_rule(r)]


def _apply(row: Any) -> Callable[..., Any]:
    if row.name in BUILDERS:
        return BUILDERS[row.name]
    op = Elemwise(row)
    return lambda *xs: op(*xs)


def _cases() -> list:
    out = []
    for row in DIFF_ROWS:
        nin = 2 if row.name == "switch" else row.nin
        for shapes in SHAPES[nin]:
            if row.name == "switch" and shapes[0] not in ((2, 3), (1, 3)):
                continue
            for dtype in ("float64", "float32"):
                out.append(pytest.param(row, shapes, dtype, id=f"{row.name}-{shapes}-{dtype}"))
    return out


@pytest.mark.parametrize("row,shapes,dtype", _cases())
def test_row_gradient_matches_finite_differences(row, shapes, dtype, numpy_mode) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{row.name}{shapes}".encode()))  # stable across runs
    sampler = DOMAINS.get(row.name, _u(-2.0, 2.0))
    pt = [np.asarray(p, dtype=dtype) for p in sampler(rng, [tuple(s) for s in shapes])]
    tol = APPROXIMATE.get(row.name)
    verify_grad(_apply(row), pt, rng=rng, mode=numpy_mode, abs_tol=tol, rel_tol=tol)


@pytest.mark.parametrize("row", ZERO_ROWS, ids=lambda r: r.name)
def test_zero_gradient_rows_are_connected_zeros(row, numpy_mode) -> None:
    kind_dtype = "float64" if "f" in row.kinds else "int32"
    xs = [T.TensorType(kind_dtype, (False, False))(f"x{k}") for k in range(row.nin)]
    out = Elemwise(row)(*xs)
    cost = T.sum(T.cast(out, "float64") * 3.0)
    gs = grad(cost, xs)  # connected: no DisconnectedInputError
    f = tensorc.function(xs, gs, mode=numpy_mode)
    vals = [np.arange(1, 7).reshape(2, 3).astype(kind_dtype) + k for k in range(row.nin)]
    for x, g, v in zip(xs, f(*vals), vals):
        assert g.shape == v.shape
        assert g.dtype == (kind_dtype if kind_dtype.startswith("float") else tensorc.config.floatX)
        assert np.all(g == 0)


def test_row_without_gradient_raises_null_type_error() -> None:
    no_grad = [r for r in ROWS if r.grad is None]
    assert no_grad, "the table has no row without a gradient rule; drop this test"
    x = T.dvector("x")
    with pytest.raises(NullTypeGradError, match=f"{no_grad[0].name}.*not implemented"):
        grad(T.sum(Elemwise(no_grad[0])(x)), x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -x))


#: exact derivatives, computed stably in float64
DERIVATIVES = {
    "sigmoid": lambda x: _sigmoid(x) * _sigmoid(-x),
    "ultra_fast_sigmoid": lambda x: _sigmoid(x) * _sigmoid(-x),
    "softplus": _sigmoid,
    "tanh": lambda x: 1 - np.tanh(x) ** 2,
    "erf": lambda x: 2 / np.sqrt(np.pi) * np.exp(-x ** 2),
}


@pytest.mark.parametrize("dtype,big", [("float64", 700.0), ("float32", 80.0)])
@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_saturating_rows_have_finite_gradients(name, dtype, big, numpy_mode) -> None:
    x = T.TensorType(dtype, (False,))("x")
    g = grad(T.sum(getattr(T, name)(x)), x)
    vals = np.array([-big, -big / 2, -3.0, 0.0, 3.0, big / 2, big], dtype=dtype)
    out = tensorc.function([x], g, mode=numpy_mode)(vals)
    assert out.dtype == dtype and np.all(np.isfinite(out)), out
    np.testing.assert_allclose(out, DERIVATIVES[name](vals.astype("float64")), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("build", [
    lambda a, b, c, d: T.abs_(T.complex(a, b) * T.complex(c, d)),
    lambda a, b, c, d: T.real(T.complex(a, b) * T.complex(c, d)) + T.imag(T.complex(a, b) / T.complex(c, d)),
    lambda a, b, c, d: T.angle(T.complex(a, b)) + T.real(T.conj(T.complex(c, d)) * T.complex(a, d)),
    lambda a, b, c, d: T.real(T.exp(T.complex(a, b))) + T.imag(T.complex(c, d) ** 2),
], ids=["abs-mul", "real-imag-div", "angle-conj", "exp-sqr"])
def test_complex_intermediates(build, dtype, numpy_mode) -> None:
    rng = np.random.default_rng(5)
    pt = [np.asarray(rng.uniform(0.5, 2, 4), dtype=dtype) for _ in range(4)]
    verify_grad(build, pt, rng=rng, mode=numpy_mode)
