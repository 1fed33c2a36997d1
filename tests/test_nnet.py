"""T.nnet: softmax family, cross-entropies and activations against numpy references,
numerical stability for large inputs, errors and gradients."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad

GRAD_MODE = "FAST_COMPILE"  # gradients are graph-level: check them once, on the numpy backend


def np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_log_softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def np_sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


X = np.array([[1.0, 2.0, 3.0, -1.0], [0.5, -0.5, 0.0, 4.0], [-3.0, 0.1, 0.2, 0.3]])
HUGE = np.array([[1000.0, 999.0, -1000.0], [-800.0, -800.0, -801.0]])

ELEMENTWISE = [
    ("sigmoid", T.nnet.sigmoid, np_sigmoid),
    ("softplus", T.nnet.softplus, lambda x: np.logaddexp(0, x)),
    ("relu", T.nnet.relu, lambda x: np.maximum(x, 0)),
    ("leaky_relu", lambda x: T.nnet.relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    ("hard_sigmoid", T.nnet.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    ("elu", T.nnet.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    ("softsign", T.nnet.softsign, lambda x: x / (1 + np.abs(x))),
    ("softmax_graph", T.nnet.softmax_graph, np_softmax),
]


@pytest.mark.parametrize("name,fn,ref", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_activations(mode, name, fn, ref):
    x = T.dmatrix("x")
    out = tensorc.function([x], fn(x), mode=mode)(X)
    np.testing.assert_allclose(out, ref(X), rtol=1e-12, atol=1e-15)


def test_ultra_fast_sigmoid_is_close(mode):
    x = T.dmatrix("x")
    out = tensorc.function([x], T.nnet.ultra_fast_sigmoid(x), mode=mode)(X)
    np.testing.assert_allclose(out, np_sigmoid(X), atol=0.03)  # Theano's piecewise approximation


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("value", [X, HUGE, np.zeros((2, 1)), np.zeros((0, 3))], ids=["x", "huge", "one_col", "empty"])
def test_softmax_and_log_softmax(mode, value, dtype):
    x = T.matrix("x", dtype=dtype)
    v = value.astype(dtype)
    sm, lsm = tensorc.function([x], [T.nnet.softmax(x), T.nnet.logsoftmax(x)], mode=mode)(v)
    assert sm.dtype == lsm.dtype == np.dtype(dtype)
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(sm, np_softmax(value).astype(dtype), rtol=tol, atol=tol)
    np.testing.assert_allclose(lsm, np_log_softmax(value).astype(dtype), rtol=tol, atol=tol)
    assert np.isfinite(lsm).all()


def test_log_softmax_aliases_and_vector_input(mode):
    assert T.nnet.log_softmax is T.nnet.logsoftmax
    v = T.dvector("v")
    with pytest.warns(UserWarning, match="one-row matrix"):
        y = T.nnet.softmax(v)
    assert y.broadcastable == (True, False)
    out = tensorc.function([v], y, mode=mode)(np.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(out, [[0.25, 0.75]])


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)),
              elements=st.floats(-500, 500)))
def test_softmax_rows_sum_to_one(value):
    x = T.dmatrix("x")
    sm, lsm = tensorc.function([x], [T.nnet.softmax(x), T.nnet.logsoftmax(x)])(value)
    np.testing.assert_allclose(sm.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(lsm, np_log_softmax(value), atol=1e-9)


@pytest.mark.parametrize("bad,msg", [(T.ivector(), "tensor of floats"), (T.dscalar(), "at least 1 dimension")])
def test_softmax_rejects_bad_inputs(bad, msg):
    with pytest.raises(ValueError, match=msg):
        T.nnet.softmax(bad)


def test_binary_crossentropy(mode):
    o, t = T.dvector("o"), T.dvector("t")
    ov, tv = np.array([0.1, 0.5, 0.9, 0.99]), np.array([0.0, 1.0, 1.0, 0.3])
    out, sig = tensorc.function([o, t], [T.nnet.binary_crossentropy(o, t),
                                         T.nnet.sigmoid_binary_crossentropy(o, t)], mode=mode)(ov, tv)
    np.testing.assert_allclose(out, -(tv * np.log(ov) + (1 - tv) * np.log(1 - ov)))
    p = np_sigmoid(ov)
    np.testing.assert_allclose(sig, -(tv * np.log(p) + (1 - tv) * np.log(1 - p)))


def test_sigmoid_binary_crossentropy_is_stable(mode):
    o, t = T.dvector("o"), T.dvector("t")
    out = tensorc.function([o, t], T.nnet.sigmoid_binary_crossentropy(o, t), mode=mode)(
        np.array([800.0, -800.0, 800.0]), np.array([0.0, 1.0, 1.0]))
    np.testing.assert_allclose(out, [800.0, 800.0, 0.0])


def test_categorical_crossentropy(mode):
    p, y, t = T.dmatrix("p"), T.lvector("y"), T.dmatrix("t")
    probs = np_softmax(X)
    labels = np.array([2, 3, 0])
    onehot = np.eye(4)[labels]
    soft = np.full((3, 4), 0.25)
    f = tensorc.function([p, y, t], [T.nnet.categorical_crossentropy(p, y),
                                     T.nnet.categorical_crossentropy(p, t)], mode=mode)
    a, b = f(probs, labels, onehot)
    ref = -np.log(probs[np.arange(3), labels])
    np.testing.assert_allclose(a, ref)
    np.testing.assert_allclose(b, ref)
    _, c = f(probs, labels, soft)
    np.testing.assert_allclose(c, -(soft * np.log(probs)).sum(axis=1))


def test_categorical_crossentropy_errors(mode):
    p, y = T.dmatrix("p"), T.lvector("y")
    f = tensorc.function([p, y], T.nnet.categorical_crossentropy(p, y), mode=mode)
    with pytest.raises(IndexError, match=r"label 4 is out of range for 4 classes \(coding_dist shape \(3, 4\)\)"):
        f(np.full((3, 4), 0.25), np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"3 rows of coding_dist \(shape \(3, 4\)\) but 2 labels"):
        f(np.full((3, 4), 0.25), np.array([0, 1]))
    with pytest.raises(TypeError, match="rank mismatch"):
        T.nnet.categorical_crossentropy(p, T.dscalar())
    with pytest.raises(TypeError, match="integer vector"):
        T.nnet.categorical_crossentropy(p, T.dvector())


def test_crossentropy_softmax_1hot_is_stable(mode):
    x, y = T.dmatrix("x"), T.lvector("y")
    nll, sm = T.nnet.crossentropy_softmax_1hot(x, y)
    b = T.dvector("b")
    nll_b, _ = T.nnet.crossentropy_softmax_1hot_with_bias(x, b, y)
    out, smv, outb = tensorc.function([x, y, b], [nll, sm, nll_b], mode=mode)(
        HUGE, np.array([2, 0]), np.zeros(3))
    ref = -np_log_softmax(HUGE)[np.arange(2), [2, 0]]
    np.testing.assert_allclose(out, ref)
    np.testing.assert_allclose(outb, ref)
    np.testing.assert_allclose(smv, np_softmax(HUGE))


def test_softmax_gradient_stays_finite_for_huge_inputs(mode):
    x, y = T.dmatrix("x"), T.lvector("y")
    for loss in (T.nnet.crossentropy_softmax_1hot(x, y)[0].sum(), (T.nnet.softmax(x) ** 2).sum(),
                 T.nnet.logsoftmax(x)[:, 0].sum()):
        g = tensorc.function([x, y], T.grad(loss, x), mode=mode, on_unused_input="ignore")(HUGE, np.array([2, 0]))
        assert np.isfinite(g).all()


GRADS = [
    ("softmax", lambda x: T.nnet.softmax(x)),
    ("logsoftmax", lambda x: T.nnet.logsoftmax(x)),
    ("softmax_with_bias", lambda x: T.nnet.softmax_with_bias(x, np.array([0.1, -0.2, 0.3, 0.0]))),
    ("cce_int", lambda x: T.nnet.categorical_crossentropy(T.nnet.softmax(x), np.array([1, 0, 3]))),
    ("cce_dense", lambda x: T.nnet.categorical_crossentropy(T.nnet.softmax(x), np.eye(4)[[1, 0, 3]])),
    ("xent_1hot", lambda x: T.nnet.crossentropy_softmax_1hot(x, np.array([1, 0, 3]))[0]),
    ("sigmoid_bce", lambda x: T.nnet.sigmoid_binary_crossentropy(x, np.full((3, 4), 0.3))),
    ("bce", lambda x: T.nnet.binary_crossentropy(T.nnet.sigmoid(x), np.full((3, 4), 0.3))),
    ("softmax_grad_2nd", lambda x: T.grad((T.nnet.softmax(x) * np.arange(4.0)).sum() ** 2, x)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn", GRADS, ids=[g[0] for g in GRADS])
def test_gradients(name, fn, dtype, rng):
    verify_grad(fn, [rng.normal(size=(3, 4)).astype(dtype)], rng=rng, mode=GRAD_MODE)
