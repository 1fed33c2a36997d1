"""Row-wise logsumexp: the ``LogSumExp`` op (numpy and C backends) against
``scipy.special.logsumexp``, the ``stabilize`` rules that build it from the forms users
write, ``T.logsumexp`` and the gradient."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from scipy.special import logsumexp as sp_logsumexp

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad
from tensorc.lower import lower
from tensorc.ops.nnet import LogSumExp
from tensorc.ops.reduce import Reduce

RTOL = {"float32": 2e-6, "float64": 1e-13}
inf, nan = np.inf, np.nan


def reference(v: np.ndarray, axis: object = -1, keepdims: bool = False) -> np.ndarray:
    """scipy's logsumexp in float64 (empty rows: -inf, as log(sum(exp([]))))."""
    v64 = v.astype("float64")
    if v64.size == 0:
        with np.errstate(divide="ignore"):
            return np.log(np.exp(v64).sum(axis=axis, keepdims=keepdims))
    with np.errstate(invalid="ignore"):
        return sp_logsumexp(v64, axis=axis, keepdims=keepdims)


def check(got: np.ndarray, v: np.ndarray, dtype: str, **kw: object) -> None:
    want = reference(v, **kw)
    assert got.dtype == np.dtype(dtype)
    assert got.shape == want.shape
    # The result is max + log(sum(exp(v - max))): when the two terms cancel (3 equal values
    # near -log(3)) each carries a rounding error relative to the inputs' size, not the
    # result's; subnormal results carry absolute errors too.
    finite = np.abs(v[np.isfinite(v)].astype("float64"))
    scale = float(finite.max()) if finite.size else 0.0
    atol = max(np.finfo(dtype).tiny * RTOL[dtype], 4 * np.finfo(dtype).eps * scale)
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=atol, equal_nan=True)


def special_rows(dtype: str, m: int = 37) -> np.ndarray:
    """Rows: random, all -inf, one +inf, one NaN, +inf and -inf, huge, tiny, one -inf."""
    rng = np.random.default_rng(7)
    v = rng.standard_normal((8, m)) * 5
    v[1] = -inf
    v[2, 3] = inf
    v[3, 5] = nan
    v[4, 0], v[4, 1] = inf, -inf
    v[5] += 1000.0
    v[6] -= 1000.0
    v[7, 2] = -inf
    return v.astype(dtype)


def ops_of(f: tensorc.function) -> list[type]:
    return [type(n.op) for n in f.maker.fgraph.toposort()]


def tensor(dtype: str, ndim: int) -> T.TensorVariable:
    return T.TensorType(dtype, (False,) * ndim)("x")


# -- the op, both backends ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_forward_special_rows(mode, dtype, ndim):
    x = tensor(dtype, ndim)
    f = tensorc.function([x], T.logsumexp(x, axis=-1), mode=mode)
    assert LogSumExp in ops_of(f)
    rows = special_rows(dtype)
    v = {1: rows[5], 2: rows, 3: np.stack([rows, rows[::-1]])}[ndim]
    check(f(v), v, dtype)
    for r in (rows[1], rows[2], rows[3], rows[4]):  # each special row alone, as a vector
        if ndim == 1:
            check(f(r), r, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_strided_and_transposed_input(mode, dtype, rng):
    x = tensor(dtype, 2)
    f = tensorc.function([x], T.logsumexp(x, axis=1), mode=mode)
    big = (rng.standard_normal((9, 300)) * 20).astype(dtype)
    for v in (big.T, big[:, ::3], big[::2, 1::2], big.T[::-1]):
        check(f(v), v, dtype)
    x3 = tensor(dtype, 3)
    g = tensorc.function([x3], T.logsumexp(x3, axis=-1), mode=mode)
    v3 = (rng.standard_normal((4, 5, 6)) * 20).astype(dtype)
    for v in (v3.transpose(2, 0, 1), v3[:, ::2, ::-1], v3.transpose(1, 2, 0)[::2]):
        check(g(v), v, dtype)


@pytest.mark.parametrize("shape", [(3, 0), (0, 4), (0, 0), (0,), (2, 0, 3), (2, 3, 0)])
def test_empty(mode, shape):
    x = tensor("float64", len(shape))
    f = tensorc.function([x], T.logsumexp(x, axis=-1), mode=mode)
    v = np.zeros(shape)
    check(f(v), v, "float64")


def test_many_rows_run_on_the_pool(mode, rng):
    """Enough work for the thread pool: every row still lands in its own slot."""
    x = tensor("float32", 2)
    f = tensorc.function([x], T.logsumexp(x, axis=1), mode=mode)
    v = (rng.standard_normal((2000, 257)) * 30).astype("float32")
    v[::7] = -inf
    v[3::11, 5] = inf
    check(f(v), v, "float32")


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=40),
              elements=st.one_of(st.floats(-1e3, 1e3), st.sampled_from([-inf, inf, nan]))),
       st.sampled_from(["float32", "float64"]))
def test_hypothesis_shapes_c_backend(v, dtype):
    """The default mode (C when available) against scipy for any shape and values."""
    v = v.astype(dtype)
    x = tensor(dtype, v.ndim)
    f = tensorc.function([x], T.logsumexp(x, axis=-1))
    check(f(v), v, dtype)


# -- T.logsumexp -------------------------------------------------------------------------
@pytest.mark.parametrize("axis, keepdims", [(None, False), (None, True), (1, False), (-1, True),
                                            (0, False), (0, True), ((0, 1), False)])
def test_logsumexp_axes(mode, axis, keepdims, rng):
    x = tensor("float64", 2)
    out = T.logsumexp(x, axis=axis, keepdims=keepdims)
    f = tensorc.function([x], out, mode=mode)
    v = rng.standard_normal((4, 6)) * 400  # overflows exp without the max shift
    check(f(v), v, "float64", axis=axis, keepdims=keepdims)
    assert (LogSumExp in ops_of(f)) == (axis != 0)


def test_logsumexp_int_input(mode):
    x = T.lvector("x")
    f = tensorc.function([x], T.logsumexp(x), mode=mode)
    np.testing.assert_allclose(f(np.array([1, 2, 3])), sp_logsumexp([1.0, 2.0, 3.0]))


# -- the rewrites ---------------------------------------------------------------------------
def user_forms(x: T.TensorVariable):
    """(name, output, keepdims) for each way users write a row-wise logsumexp."""
    m = T.max(x, axis=1, keepdims=True)
    yield "benchmark", m.flatten() + T.log(T.sum(T.exp(x - m), axis=1)), False
    yield "swapped", T.log(T.sum(T.exp(x - m), axis=1)) + m.flatten(), False
    yield "reshape", m.reshape((-1,)) + T.log(T.exp(x - m).sum(axis=-1)), False
    yield "dimshuffle", m.dimshuffle(0) + T.log(T.exp(x - m).sum(axis=1)), False
    yield "keepdims", m + T.log(T.sum(T.exp(x - m), axis=1, keepdims=True)), True
    m1 = T.max(x, axis=1)
    yield "not-keepdims", m1 + T.log(T.sum(T.exp(x - m1.dimshuffle(0, "x")), axis=1)), False
    yield "plain", T.log(T.sum(T.exp(x), axis=1)), False
    yield "plain-keepdims", T.log(T.sum(T.exp(x), axis=-1, keepdims=True)), True


@pytest.mark.parametrize("form", [name for name, _, _ in user_forms(T.dmatrix())])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rewrite_fires_on_user_forms(mode, form, dtype):
    x = tensor(dtype, 2)
    out, keepdims = next((o, k) for n, o, k in user_forms(x) if n == form)
    f = tensorc.function([x], out, mode=mode)
    ops = ops_of(f)
    assert LogSumExp in ops
    assert not any(op is Reduce for op in ops), ops  # the max and the sum are gone
    v = special_rows(dtype)
    check(f(v), v, dtype, axis=1, keepdims=keepdims)


def test_benchmark_graph_is_one_kernel():
    x = tensor("float32", 2)
    m = T.max(x, axis=1, keepdims=True)
    f = tensorc.function([x], m.flatten() + T.log(T.sum(T.exp(x - m), axis=1)))
    if f.backend != "c":
        pytest.skip("the C backend is not available")
    prog = lower(f.maker.fgraph)
    assert len(prog.steps) == 1 and type(prog.steps[0].node.op) is LogSumExp


def test_vector_and_nary_forms(mode, rng):
    v = rng.standard_normal(9) * 300
    x = T.dvector("x")
    m = T.max(x)
    f = tensorc.function([x], m + T.log(T.sum(T.exp(x - m))), mode=mode)
    assert LogSumExp in ops_of(f)
    np.testing.assert_allclose(f(v), sp_logsumexp(v), rtol=1e-13)
    y = T.dmatrix("y")
    m1 = T.max(y, axis=1)
    g = tensorc.function([y], 2.0 + m1 + T.log(T.sum(T.exp(y - m1.dimshuffle(0, "x")), axis=1)), mode=mode)
    assert LogSumExp in ops_of(g)
    w = rng.standard_normal((3, 5)) * 300
    np.testing.assert_allclose(g(w), 2.0 + sp_logsumexp(w, axis=1), rtol=1e-13)


def test_other_axes_stay_generic_and_stable(mode, rng):
    """``log(sum(exp(x), axis=0))`` (keepdims too): no LogSumExp, still no overflow."""
    x = T.dmatrix("x")
    v = rng.standard_normal((4, 5)) * 400
    for keepdims in (False, True):
        f = tensorc.function([x], T.log(T.sum(T.exp(x), axis=0, keepdims=keepdims)), mode=mode)
        assert LogSumExp not in ops_of(f)
        check(f(v), v, "float64", axis=0, keepdims=keepdims)


def test_max_of_another_tensor_is_kept(mode, rng):
    """``max(y) + log(sum(exp(x - max(y))))`` is not a logsumexp of x: values unchanged."""
    x, y = T.dmatrix("x"), T.dmatrix("y")
    my = T.max(y, axis=1, keepdims=True)
    f = tensorc.function([x, y], my.flatten() + T.log(T.sum(T.exp(x - my), axis=1)), mode=mode)
    v, w = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    want = w.max(1) + np.log(np.exp(v - w.max(1, keepdims=True)).sum(1))
    np.testing.assert_allclose(f(v, w), want, rtol=1e-12)


# -- gradient -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_verify_grad(shape, rng):
    verify_grad(lambda a: LogSumExp()(a), [rng.standard_normal(shape) * 3], rng=rng)


def test_grad_of_rewritten_user_form(mode, rng):
    x = T.dmatrix("x")
    m = T.max(x, axis=1, keepdims=True)
    lse = m.flatten() + T.log(T.sum(T.exp(x - m), axis=1))
    w = T.dvector("w")
    f = tensorc.function([x, w], [lse, T.grad(T.sum(lse * w), x)], mode=mode)
    v, wv = rng.standard_normal((3, 6)) * 300, rng.standard_normal(3)
    e = np.exp(v - v.max(1, keepdims=True))
    got, grad = f(v, wv)
    np.testing.assert_allclose(got, sp_logsumexp(v, axis=1), rtol=1e-13)
    np.testing.assert_allclose(grad, wv[:, None] * e / e.sum(1, keepdims=True), rtol=1e-12)


def test_rop(mode, rng):
    x, ev = T.dmatrix("x"), T.dmatrix("ev")
    f = tensorc.function([x, ev], T.Rop(LogSumExp()(x), x, ev), mode=mode)
    v, d = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    e = np.exp(v - v.max(1, keepdims=True))
    np.testing.assert_allclose(f(v, d), (d * e / e.sum(1, keepdims=True)).sum(1), rtol=1e-12)


# -- the softmax kernels that share the row passes ----------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_rows_share_the_passes(mode, dtype, rng):
    x = tensor(dtype, 2)
    f = tensorc.function([x], [T.nnet.softmax(x), T.nnet.logsoftmax(x)], mode=mode)
    v = (rng.standard_normal((50, 1000)) * 10).astype(dtype)
    sm, lsm = f(v)
    v64 = v.astype("float64")
    want = v64 - sp_logsumexp(v64, axis=1, keepdims=True)
    np.testing.assert_allclose(lsm, want, rtol=RTOL[dtype] * 10, atol=RTOL[dtype] * 10)
    np.testing.assert_allclose(sm, np.exp(want), rtol=RTOL[dtype] * 10, atol=1e-30)
