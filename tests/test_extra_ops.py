"""T.extra_ops (cumsum, cumprod, diff, bincount, repeat, fill_diagonal, squeeze),
diagonal/trace and sort/argsort against numpy, with gradients."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad

E = T.extra_ops


@pytest.mark.parametrize("fn,npfn", [(E.cumsum, np.cumsum), (E.cumprod, np.cumprod)])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("dtype", ["int32", "float32", "float64"])
def test_cum_ops(mode, fn, npfn, axis, dtype):
    x = T.tensor(dtype, (False, False), "x")
    a = (np.arange(1, 7).reshape(2, 3) % 4).astype(dtype)
    out = fn(x, axis)
    got = tensorc.function([x], [out, x.cumsum(axis) if fn is E.cumsum else x.cumprod(axis)], mode=mode)(a)
    want = npfn(a, axis=axis, dtype="int64" if dtype == "int32" else dtype)
    assert out.dtype == want.dtype.name
    for g in got:
        np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("n,axis", [(1, -1), (2, -1), (1, 0), (0, 1), (3, 1)])
def test_diff(mode, n, axis):
    x = T.dmatrix("x")
    a = np.array([[1.0, 4.0, 9.0, 16.0], [2.0, 3.0, 5.0, 7.0]])
    np.testing.assert_array_equal(tensorc.function([x], E.diff(x, n, axis), mode=mode)(a),
                                  np.diff(a, n, axis))


def test_bincount(mode):
    x = T.ivector("x")
    w = T.dvector("w")
    a = np.array([0, 2, 2, 5], dtype="int32")
    wv = np.array([0.5, 1.0, 2.0, 3.0])
    f = tensorc.function([x, w], [E.bincount(x), E.bincount(x, wv), E.bincount(x, minlength=8),
                                  E.bincount(x, w)], mode=mode)
    got = f(a, wv)
    want = [np.bincount(a), np.bincount(a, wv), np.bincount(a, minlength=8), np.bincount(a, wv)]
    for g, v in zip(got, want):
        np.testing.assert_array_equal(g, v)
    with pytest.raises(ValueError, match="non-negative, got minimum -1"):
        f(np.array([-1, 2], dtype="int32"), wv[:2])
    with pytest.raises(TypeError, match="integer vector.*float64"):
        E.bincount(T.dvector())


@pytest.mark.parametrize("repeats,axis", [(2, None), (3, 0), (2, 1), ([1, 0, 2], 1), ([2, 1], 0)])
def test_repeat(mode, repeats, axis):
    x = T.dmatrix("x")
    a = np.arange(6.0).reshape(2, 3)
    got = tensorc.function([x], [E.repeat(x, repeats, axis), x.repeat(repeats, axis)], mode=mode)(a)
    for g in got:
        np.testing.assert_array_equal(g, np.repeat(a, repeats, axis))


def test_repeat_errors(mode):
    x = T.dvector("x")
    r = T.lvector("r")
    f = tensorc.function([x, r], E.repeat(x, r, 0), mode=mode)
    with pytest.raises(ValueError, match="3 repeat counts for axis 0 of length 2"):
        f(np.zeros(2), np.array([1, 1, 1]))
    with pytest.raises(TypeError, match="integer scalar or vector.*float64"):
        E.repeat(x, T.dscalar())
    with pytest.raises(ValueError, match="axis 1 is out of range for a tensor with ndim=1"):
        E.repeat(x, 2, axis=1)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (3, 3, 3)])
def test_fill_diagonal(mode, shape):
    x = T.tensor("float64", (False,) * len(shape), "x")
    a = np.arange(np.prod(shape), dtype="float64").reshape(shape)
    got = tensorc.function([x], E.fill_diagonal(x, 7), mode=mode)(a)
    want = a.copy()
    np.fill_diagonal(want, 7)
    np.testing.assert_array_equal(got, want)
    assert a.ravel()[0] == 0.0  # input not modified


@pytest.mark.parametrize("offset,axis1,axis2", [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (0, 1, 2), (2, 2, 0)])
def test_diagonal_trace(mode, offset, axis1, axis2):
    x = T.dtensor3("x")
    a = np.arange(24.0).reshape(2, 3, 4)
    d, t = tensorc.function([x], [T.diagonal(x, offset, axis1, axis2), T.trace(x, offset, axis1, axis2)],
                            mode=mode)(a)
    np.testing.assert_array_equal(d, np.diagonal(a, offset, axis1, axis2))
    np.testing.assert_array_equal(t, np.trace(a, offset, axis1, axis2))


@pytest.mark.parametrize("axis", [-1, 0, 1, None])
@pytest.mark.parametrize("dtype", ["int8", "float32", "float64"])
def test_sort_argsort(mode, rng, axis, dtype):
    x = T.tensor(dtype, (False, False), "x")
    a = rng.permutation(12).reshape(3, 4).astype(dtype)
    s, i, sm, im = tensorc.function([x], [T.sort(x, axis), T.argsort(x, axis), x.sort(axis if axis is not None else -1),
                                          x.argsort(kind="stable")], mode=mode)(a)
    np.testing.assert_array_equal(s, np.sort(a, axis))
    np.testing.assert_array_equal(i, np.argsort(a, axis))
    assert i.dtype == np.int64 and s.dtype == a.dtype
    np.testing.assert_array_equal(im, np.argsort(a, kind="stable"))


def test_sort_errors():
    with pytest.raises(ValueError, match="axis 2 is out of range for a tensor with ndim=2"):
        T.sort(T.dmatrix(), 2)
    with pytest.raises(ValueError, match="kind must be one of"):
        T.sort(T.dvector(), kind="bogo")


# -- gradients -----------------------------------------------------------------------------
GRAD_CASES = [
    ("cumsum0", lambda x: E.cumsum(x, 0) ** 2),
    ("cumsum_none", lambda x: E.cumsum(x) ** 2),
    ("cumprod1", lambda x: E.cumprod(x, 1)),
    ("cumprod_none", lambda x: E.cumprod(x)),
    ("diff1", lambda x: E.diff(x) ** 2),
    ("diff2_axis0", lambda x: E.diff(x, 2, axis=0) ** 2),
    ("repeat_scalar", lambda x: E.repeat(x, 3, axis=1) ** 2),
    ("repeat_vector", lambda x: E.repeat(x, [2, 0, 1], axis=0) ** 2),
    ("fill_diagonal", lambda x: E.fill_diagonal(x, 0.5) ** 2),
    ("diagonal", lambda x: T.diagonal(x, 1) ** 2),
    ("sort", lambda x: T.sort(x) * np.arange(4.0)),
    ("sort_axis0", lambda x: T.sort(x, 0) * np.arange(12.0).reshape(3, 4)),
]


@pytest.mark.parametrize("name,fn", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_verify_grad(name, fn, rng):
    verify_grad(fn, [rng.uniform(0.5, 2.0, size=(3, 4))], rng=rng, mode="FAST_COMPILE")


def test_fill_diagonal_val_grad(rng):
    verify_grad(lambda v: E.fill_diagonal(T.constant(np.ones((3, 4))), v) * np.arange(12.0).reshape(3, 4),
                [np.asarray(0.7)], rng=rng, mode="FAST_COMPILE")


def test_sort_grad_routes_to_positions(mode):
    x = T.dvector("x")
    g = tensorc.function([x], T.grad((T.sort(x) * np.array([1.0, 10.0, 100.0])).sum(), x), mode=mode)(
        np.array([5.0, 1.0, 3.0]))
    np.testing.assert_array_equal(g, [100.0, 1.0, 10.0])
