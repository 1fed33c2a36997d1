"""Shape/structure ops and allocation: shape, reshape, flatten, transpose, squeeze,
join/concatenate/stack/split, alloc/zeros/ones, arange, eye, tile, outer — against numpy."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad


def test_shape_and_shape_i(mode):
    x = T.dtensor3("x")
    a = np.zeros((2, 3, 4))
    f = tensorc.function([x], [T.shape(x), x.shape, T.shape_i(x, 2)], mode=mode)
    s, s2, s_i = f(a)
    assert s.dtype == np.int64 and s.tolist() == [2, 3, 4] and s2.tolist() == [2, 3, 4]
    assert s_i.dtype == np.int64 and s_i.ndim == 0 and int(s_i) == 4
    assert T.shape(x).type == T.lvector().type


RESHAPES = [  # input shape, target, numpy target
    ((2, 3), (3, 2), (3, 2)),
    ((2, 3), (-1,), (-1,)),
    ((2, 3, 4), (4, -1), (4, -1)),
    ((6,), (1, 6, 1), (1, 6, 1)),
    ((1,), (), ()),
]


@pytest.mark.parametrize("ishape,target,npt", RESHAPES, ids=str)
def test_reshape_constant(mode, ishape, target, npt):
    x = T.tensor("float64", (False,) * len(ishape), "x")
    a = np.arange(int(np.prod(ishape)), dtype="float64").reshape(ishape)
    y = T.reshape(x, target)
    assert y.broadcastable == tuple(t == 1 for t in target)
    np.testing.assert_array_equal(tensorc.function([x], [y, x.reshape(target)], mode=mode)(a)[0],
                                  a.reshape(npt))


def test_reshape_symbolic(mode):
    x = T.dmatrix("x")
    n = T.lscalar("n")
    v = T.lvector("v")
    a = np.arange(12.0).reshape(3, 4)
    f = tensorc.function([x, n, v], [T.reshape(x, (n, -1)), T.reshape(x, v, ndim=3),
                                     T.reshape(x, (x.shape[1], x.shape[0]))],
                         mode=mode)
    r1, r2, r3 = f(a, 2, np.array([2, 3, 2]))
    np.testing.assert_array_equal(r1, a.reshape(2, -1))
    np.testing.assert_array_equal(r2, a.reshape(2, 3, 2))
    np.testing.assert_array_equal(r3, a.reshape(4, 3))


def test_reshape_errors(mode):
    x = T.dmatrix("x")
    f = tensorc.function([x], T.reshape(x, (5, -1)), mode=mode)
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*into shape \(5, -1\)"):
        f(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="not known statically; pass ndim="):
        T.reshape(x, T.lvector())
    with pytest.raises(ValueError, match="only one -1"):
        T.reshape(x, (-1, -1))
    with pytest.raises(TypeError, match="element 0 .* integer scalar.*float64"):
        T.reshape(x, (T.dscalar(), 2))
    n = T.lscalar("n")
    g = tensorc.function([x, n], T.reshape(x, (n, -1)), mode=mode)
    with pytest.raises(ValueError, match=r"shape \(1, 5\) \(size 5\) into shape \(2, -1\)"):
        g(np.zeros((1, 5)), 2)
    assert g(np.zeros((2, 3)), 1).shape == (1, 6)


@pytest.mark.parametrize("ishape,ndim", [((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), 3), ((5,), 1)])
def test_flatten(mode, ishape, ndim):
    x = T.tensor("float64", (False,) * len(ishape), "x")
    a = np.arange(int(np.prod(ishape)), dtype="float64").reshape(ishape)
    out = tensorc.function([x], [T.flatten(x, ndim), x.flatten(ndim)], mode=mode)(a)
    np.testing.assert_array_equal(out[0], a.reshape(ishape[:ndim - 1] + (-1,)))
    np.testing.assert_array_equal(out[1], out[0])


def test_flatten_broadcastable_and_errors():
    assert T.flatten(T.tensor("float64", (False, True, True)), 2).broadcastable == (False, True)
    assert T.flatten(T.tensor("float64", (True, False)), 2).broadcastable == (True, False)
    with pytest.raises(ValueError, match="ndim=3 must be between 1 and x.ndim=2"):
        T.flatten(T.dmatrix(), 3)


@pytest.mark.parametrize("axes", [None, (0, 1, 2), (2, 0, 1), (1, 0, 2), (-1, 0, 1)], ids=str)
def test_transpose(mode, axes):
    x = T.dtensor3("x")
    a = np.arange(24.0).reshape(2, 3, 4)
    out = tensorc.function([x], [T.transpose(x, axes)], mode=mode)(a)[0]
    np.testing.assert_array_equal(out, np.transpose(a, axes))


def test_transpose_property_and_errors(mode):
    x = T.dmatrix("x")
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tensorc.function([x], x.T, mode=mode)(a), a.T)
    with pytest.raises(ValueError, match=r"axes \(0, 0\) are not a permutation"):
        T.transpose(x, (0, 0))


def test_squeeze(mode):
    x = T.tensor("float64", (True, False, True), "x")
    a = np.zeros((1, 3, 1))
    f = tensorc.function([x], [T.squeeze(x), T.squeeze(x, axis=0), T.extra_ops.squeeze(x)], mode=mode)
    assert [r.shape for r in f(a)] == [(3,), (3, 1), (3,)]
    y = T.dmatrix("y")
    g = tensorc.function([y], T.squeeze(y, axis=1), mode=mode)
    assert g(np.zeros((4, 1))).shape == (4,)
    with pytest.raises(ValueError, match=r"dimension 1 .*length 2"):
        g(np.zeros((4, 2)))


def test_shape_pad():
    x = T.dmatrix()
    assert T.shape_padleft(x).broadcastable == (True, False, False)
    assert T.shape_padright(x, 2).broadcastable == (False, False, True, True)
    assert T.shape_padaxis(x, 1).broadcastable == (False, True, False)
    with pytest.raises(ValueError, match="axis 4 is out of range for ndim=2"):
        T.shape_padaxis(x, 4)


# -- join / stack / split -------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_join(mode, rng, axis):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    f = tensorc.function([x, y], [T.concatenate([x, y, x], axis=axis), T.join(axis, x, y)], mode=mode)
    c, j = f(a, b)
    np.testing.assert_array_equal(c, np.concatenate([a, b, a], axis=axis))
    np.testing.assert_array_equal(j, np.concatenate([a, b], axis=axis))


@pytest.mark.parametrize("dt1,dt2,expect", [("int8", "float32", "float32"), ("int32", "int64", "int64"),
                                           ("float32", "float64", "float64"), ("uint8", "int8", "int16")])
def test_concatenate_promotes(mode, dt1, dt2, expect):
    x, y = T.tensor(dt1, (False,), "x"), T.tensor(dt2, (False,), "y")
    out = T.concatenate([x, y])
    assert out.dtype == expect
    r = tensorc.function([x, y], out, mode=mode)(np.array([1], dt1), np.array([2], dt2))
    assert r.dtype.name == expect and r.tolist() == [1, 2]


def test_join_errors(mode):
    with pytest.raises(TypeError, match=r"same ndim, got ndims \[1, 2\]"):
        T.concatenate([T.dvector(), T.dmatrix()])
    with pytest.raises(ValueError, match="axis 2 is out of range for a tensor with ndim=2"):
        T.concatenate([T.dmatrix(), T.dmatrix()], axis=2)
    with pytest.raises(TypeError, match="expected a list or tuple"):
        T.concatenate(T.dmatrix())
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = tensorc.function([x, y], T.concatenate([x, y], axis=0), mode=mode)
    with pytest.raises(ValueError, match=r"\(2, 3\), \(2, 4\).* outside the join axis 0"):
        f(np.zeros((2, 3)), np.zeros((2, 4)))


def test_stack_forms(mode):
    a, b = T.dscalar("a"), T.dscalar("b")
    x, y = T.dvector("x"), T.dvector("y")
    outs = [T.stack([a, b]), T.stack(a, b), T.stack([x, y]), T.stack([x, y], axis=1),
            T.stack(x, y, axis=-1), T.stack([a, 2.0])]
    f = tensorc.function([a, b, x, y], outs, mode=mode)
    va, vb, vx, vy = 1.0, 2.0, np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    got = f(va, vb, vx, vy)
    want = [np.stack([va, vb]), np.stack([va, vb]), np.stack([vx, vy]), np.stack([vx, vy], 1),
            np.stack([vx, vy], -1), np.array([1.0, 2.0])]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert T.stack([T.fscalar(), 2.0]).dtype == "float32"


def test_split(mode):
    x = T.dmatrix("x")
    n = T.lvector("n")
    a = np.arange(12.0).reshape(6, 2)
    parts = T.split(x, n, 3, axis=0)
    f = tensorc.function([x, n], parts, mode=mode)
    got = f(a, np.array([1, 3, 2]))
    for g, w in zip(got, np.split(a, [1, 4])):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(ValueError, match=r"sizes \[1, 1, 1\] do not add up to the length 6"):
        f(a, np.array([1, 1, 1]))


# -- allocation ----------------------------------------------------------------------------
@pytest.mark.parametrize("fn,npfn", [(T.zeros, np.zeros), (T.ones, np.ones)])
@pytest.mark.parametrize("dtype", ["int8", "float32", "float64", "bool"])
def test_zeros_ones(mode, fn, npfn, dtype):
    n = T.lscalar("n")
    x = T.dmatrix("x")
    f = tensorc.function([n, x], [fn((n, 3), dtype=dtype), fn(x.shape, dtype), fn(4, dtype)], mode=mode)
    got = f(2, np.zeros((2, 5)))
    for g, w in zip(got, [npfn((2, 3), dtype), npfn((2, 5), dtype), npfn(4, dtype)]):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    assert fn((2, 1)).dtype == tensorc.config.floatX


def test_alloc(mode):
    v = T.dvector("v")
    n = T.lscalar("n")
    out = T.alloc(v, n, 1, 3)
    assert out.broadcastable == (False, True, False)
    f = tensorc.function([v, n], out, mode=mode)
    np.testing.assert_array_equal(f(np.array([1.0, 2.0, 3.0]), 2), np.broadcast_to([1.0, 2.0, 3.0], (2, 1, 3)))
    with pytest.raises(ValueError, match=r"shape \(2,\) cannot be broadcast to shape \(2, 1, 3\)"):
        f(np.array([1.0, 2.0]), 2)
    with pytest.raises(ValueError, match="more than the 1 of the requested shape"):
        T.alloc(T.dmatrix(), 3)


@pytest.mark.parametrize("args,kw,dtype", [
    ((5,), {}, "int64"), ((1, 7, 2), {}, "int64"), ((5, 1, -2), {}, "int64"),
    ((0.5, 3.0, 0.5), {}, None), ((3,), {"dtype": "float32"}, "float32"),
])
def test_arange_constant(mode, args, kw, dtype):
    out = T.arange(*args, **kw)
    expect_dtype = dtype or tensorc.config.floatX
    assert out.dtype == expect_dtype
    got = tensorc.function([], out, mode=mode)()
    np.testing.assert_allclose(got, np.arange(*args, dtype=expect_dtype))


@pytest.mark.parametrize("ctor,dtype", [(T.iscalar, "int64"), (T.bscalar, "int64"),
                                        (T.fscalar, "float32"), (T.dscalar, "float64")])
def test_arange_dtype_rule(mode, ctor, dtype):
    s = ctor("s")
    out = T.arange(s, 10)
    assert out.dtype == dtype
    np.testing.assert_array_equal(tensorc.function([s], out, mode=mode)(np.asarray(3, s.dtype)),
                                  np.arange(3, 10))


@pytest.mark.parametrize("n,m,k", [(3, None, 0), (2, 4, 1), (4, 2, -1), (3, 3, 5)])
def test_eye_identity_like(mode, n, m, k):
    got = tensorc.function([], T.eye(n, m, k, dtype="int32"), mode=mode)()
    np.testing.assert_array_equal(got, np.eye(n, m, k, dtype="int32"))
    x = T.fmatrix("x")
    il = tensorc.function([x], T.identity_like(x), mode=mode)(np.zeros((2, 3), "float32"))
    np.testing.assert_array_equal(il, np.eye(2, 3, dtype="float32"))


@pytest.mark.parametrize("shape,reps", [((3,), (2,)), ((2, 3), (2, 1)), ((2,), (2, 3)),
                                        ((2, 3), (3,)), ((1, 2), (1, 1))])
def test_tile(mode, shape, reps):
    x = T.tensor("float64", (False,) * len(shape), "x")
    a = np.arange(np.prod(shape), dtype="float64").reshape(shape)
    np.testing.assert_array_equal(tensorc.function([x], T.tile(x, reps), mode=mode)(a), np.tile(a, reps))


def test_outer(mode):
    x, y = T.dvector("x"), T.dvector("y")
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    np.testing.assert_array_equal(tensorc.function([x, y], T.outer(x, y), mode=mode)(a, b), np.outer(a, b))


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_reshape_flatten_hypothesis(shape, data):
    a = np.arange(int(np.prod(shape)), dtype="float64").reshape(shape)
    x = T.tensor("float64", (False,) * len(shape), "x")
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    nd = data.draw(st.integers(1, len(shape)))
    f = tensorc.function([x], [T.reshape(x.transpose(perm), (-1,) + tuple(shape[1:])),
                               T.flatten(x, nd)], mode="FAST_COMPILE")
    r, fl = f(a)
    np.testing.assert_array_equal(r, np.transpose(a, perm).reshape((-1,) + tuple(shape[1:])))
    np.testing.assert_array_equal(fl, a.reshape(a.shape[:nd - 1] + (-1,)))


# -- gradients -----------------------------------------------------------------------------
GRAD_CASES = [
    ("reshape", lambda x: T.reshape(x, (4, 3)) * np.arange(12.0).reshape(4, 3)),
    ("flatten", lambda x: T.flatten(x) ** 2),
    ("transpose", lambda x: x.T * np.arange(12.0).reshape(4, 3)),
    ("concat", lambda x: T.concatenate([x, 2 * x, x ** 2], axis=1)),
    ("stack", lambda x: T.stack([x, x ** 2], axis=1)),
    ("split", lambda x: T.split(x, [1, 2], 2, axis=0)[1] ** 2),
    ("alloc", lambda x: T.alloc(x, 2, 3, 4) * np.arange(24.0).reshape(2, 3, 4)),
    ("tile", lambda x: T.tile(x, (2, 3)) * np.arange(72.0).reshape(6, 12)),
]


@pytest.mark.parametrize("name,fn", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_verify_grad(name, fn, rng):
    verify_grad(fn, [rng.uniform(0.5, 2.0, size=(3, 4))], rng=rng, mode="FAST_COMPILE")


def test_arange_grad(rng):
    verify_grad(lambda s: T.arange(s, s + 3.0, 0.5) ** 2, [np.asarray(0.3)], rng=rng, mode="FAST_COMPILE")


def test_infer_shape_matches_perform(rng):
    x = T.dmatrix("x")
    a = rng.normal(size=(3, 4))
    outs = [T.reshape(x, (2, -1)), T.flatten(x), T.concatenate([x, x], axis=1), T.tile(x, (2, 1)),
            T.alloc(x, 2, 3, 4), T.arange(1, 10, 3), T.eye(3, 5)]
    for out in outs:
        shp = out.owner.op.infer_shape(out.owner, [tuple(T.shape_i(i, d) for d in range(i.ndim))
                                                   for i in out.owner.inputs])[out.index]
        got = tensorc.function([x], list(shp) + [out], mode="FAST_COMPILE",
                               on_unused_input="ignore")(a)
        assert tuple(int(s) for s in got[:-1]) == got[-1].shape
