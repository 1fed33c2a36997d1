"""dot / tensordot / batched_dot: values and dtypes against numpy, static types, shape
inference, shape errors and gradients."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad

GRAD_MODE = "FAST_COMPILE"  # gradients are graph-level: check them once, on the numpy backend
from tensorc.ops.blas import BatchedDot, Dot, TensorDot


def _var(shape, dtype, name=None):
    return T.tensor(dtype, (False,) * len(shape), name=name)


def _data(rng, shape, dtype):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-4, 5, size=shape).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.normal(size=shape).astype(dtype)


DOT_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
    ((2, 3, 4), (4,)), ((2, 3, 4), (4, 5)), ((3,), (2, 3, 4)), ((2, 3), (5, 3, 4)),
    ((2, 3, 4), (6, 4, 2)), ((), (3,)), ((2, 3), ()),
]
DTYPES = [("float64", "float64"), ("float32", "float32"), ("float32", "float64"),
          ("int32", "int32"), ("int8", "float32"), ("int64", "int16")]


@pytest.mark.parametrize("da,db", DTYPES, ids=["-".join(d) for d in DTYPES])
@pytest.mark.parametrize("sa,sb", DOT_SHAPES, ids=[f"{a}x{b}" for a, b in DOT_SHAPES])
def test_dot_matches_numpy(mode, rng, sa, sb, da, db):
    a, b = _var(sa, da, "a"), _var(sb, db, "b")
    av, bv = _data(rng, sa, da), _data(rng, sb, db)
    z = T.dot(a, b)
    out = tensorc.function([a, b], z, mode=mode)(av, bv)
    ref = np.dot(av, bv)
    assert z.dtype == ref.dtype.name == out.dtype
    assert z.ndim == ref.ndim
    tol = 1e-5 if "float32" in (da, db) else 1e-12
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)


def test_matmul_operator_and_method(mode, rng):
    a, b = T.dmatrix("a"), T.dmatrix("b")
    av, bv = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    f = tensorc.function([a, b], [a @ b, a.dot(b), T.dot(a, b)], mode=mode)
    for out in f(av, bv):
        np.testing.assert_allclose(out, av @ bv)


def test_dot_ops_and_broadcast_patterns():
    assert isinstance(T.dot(T.matrix(), T.vector()).owner.op, Dot)
    assert isinstance(T.dot(T.tensor3(), T.matrix()).owner.op, TensorDot)
    assert T.dot(T.row(), T.matrix()).broadcastable == (True, False)
    assert T.dot(T.matrix(), T.col()).broadcastable == (False, True)
    assert T.dot(T.vector(), T.vector()).broadcastable == ()


@pytest.mark.parametrize("sa,sb,msg", [
    ((2, 3), (4,), r"shapes \(2, 3\) and \(4,\) are not aligned"),
    ((3,), (2, 4), r"shapes \(3,\) and \(2, 4\) are not aligned"),
    ((2, 3), (2, 3), r"shapes \(2, 3\) and \(2, 3\) are not aligned"),
    ((2, 2, 3), (2, 4, 5), r"shapes \(2, 2, 3\) and \(2, 4, 5\) are not aligned"),
])
def test_dot_shape_mismatch(mode, sa, sb, msg):
    a, b = _var(sa, "float64"), _var(sb, "float64")
    f = tensorc.function([a, b], T.dot(a, b), mode=mode)
    with pytest.raises(ValueError, match=msg):
        f(np.ones(sa), np.ones(sb))


TENSORDOT = [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0),
    ((2, 3, 4), (4, 3, 5), [[1, 2], [1, 0]]), ((2, 3, 4), (5, 2), [[0], [1]]),
    ((3, 4), (4, 3), [[-1, 0], [0, -1]]),
]


@pytest.mark.parametrize("sa,sb,axes", TENSORDOT, ids=[str(t[2]) + str(t[0]) for t in TENSORDOT])
def test_tensordot(mode, rng, sa, sb, axes):
    a, b = _var(sa, "float64"), _var(sb, "float64")
    av, bv = rng.normal(size=sa), rng.normal(size=sb)
    z = T.tensordot(a, b, axes)
    out = tensorc.function([a, b], z, mode=mode)(av, bv)
    np.testing.assert_allclose(out, np.tensordot(av, bv, axes))
    shp = z.owner.op.infer_shape(z.owner, [sa, sb])[0]
    assert tuple(shp) == out.shape


@pytest.mark.parametrize("axes,msg", [
    (3, "axes=3 is out of range"), ([[0], [0, 1]], "different lengths"),
    ([[5], [0]], "axis 5 is out of range for a"), ([[0, 0], [0, 1]], "repeated axis"), ("x", "pair of axis"),
])
def test_tensordot_bad_axes(axes, msg):
    with pytest.raises(ValueError, match=msg):
        T.tensordot(T.matrix(), T.tensor3(), axes)


BATCHED = [((4, 2, 3), (4, 3, 5)), ((4, 2, 3), (4, 3)), ((4, 3), (4, 3, 5)), ((4, 3), (4, 3)),
           ((4,), (4, 3)), ((2, 3, 4, 5), (2, 5, 6)), ((2, 3, 4), (2, 5, 4, 6))]


def _batched_ref(av, bv):
    if av.ndim == 1 or bv.ndim == 1:
        x, y = (av, bv) if av.ndim == 1 else (bv, av)
        return x.reshape((-1,) + (1,) * (y.ndim - 1)) * y
    return np.stack([np.dot(p, q) for p, q in zip(av, bv)])


@pytest.mark.parametrize("sa,sb", BATCHED, ids=[f"{a}x{b}" for a, b in BATCHED])
def test_batched_dot(mode, rng, sa, sb):
    a, b = _var(sa, "float64"), _var(sb, "float64")
    av, bv = rng.normal(size=sa), rng.normal(size=sb)
    z = T.batched_dot(a, b)
    out = tensorc.function([a, b], z, mode=mode)(av, bv)
    ref = _batched_ref(av, bv)
    assert z.ndim == ref.ndim
    np.testing.assert_allclose(out, ref)


def test_batched_dot_errors(mode):
    a, b = T.dtensor3("a"), T.dtensor3("b")
    f = tensorc.function([a, b], T.batched_dot(a, b), mode=mode)
    with pytest.raises(ValueError, match=r"shapes \(2, 3, 4\) and \(3, 4, 5\) do not match"):
        f(np.ones((2, 3, 4)), np.ones((3, 4, 5)))
    with pytest.raises(TypeError, match="at least one dimension"):
        T.batched_dot(T.dscalar(), a)
    with pytest.raises(TypeError, match="two 3-d inputs"):
        BatchedDot()(T.dmatrix(), a)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4),
       kinds=st.sampled_from(["mm", "mv", "vm", "vv"]))
def test_dot_random_sizes_and_infer_shape(m, k, n, kinds):
    sa = (m, k) if kinds[0] == "m" else (k,)
    sb = (k, n) if kinds[1] == "m" else (k,)
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a, b = _var(sa, "float64"), _var(sb, "float64")
    av, bv = rng.normal(size=sa), rng.normal(size=sb)
    z = T.dot(a, b)
    out = tensorc.function([a, b], z)(av, bv)
    np.testing.assert_allclose(out, np.dot(av, bv), atol=1e-12)
    assert tuple(z.owner.op.infer_shape(z.owner, [sa, sb])[0]) == out.shape


GRAD_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
               ((2, 3, 4), (4, 2)), ((3,), (2, 3, 4)), ((2, 3, 4), (5, 4, 2))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sa,sb", GRAD_SHAPES, ids=[f"{a}x{b}" for a, b in GRAD_SHAPES])
def test_dot_gradients(rng, sa, sb, dtype):
    verify_grad(T.dot, [rng.normal(size=sa).astype(dtype), rng.normal(size=sb).astype(dtype)], rng=rng, mode=GRAD_MODE)


@pytest.mark.parametrize("sa,sb,axes", TENSORDOT, ids=[str(t[2]) + str(t[0]) for t in TENSORDOT])
def test_tensordot_gradients(rng, sa, sb, axes):
    verify_grad(lambda a, b: T.tensordot(a, b, axes), [rng.normal(size=sa), rng.normal(size=sb)], rng=rng, mode=GRAD_MODE)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sa,sb", BATCHED, ids=[f"{a}x{b}" for a, b in BATCHED])
def test_batched_dot_gradients(rng, sa, sb, dtype):
    verify_grad(T.batched_dot, [rng.normal(size=sa).astype(dtype), rng.normal(size=sb).astype(dtype)],
                rng=rng, mode=GRAD_MODE)
