"""Theano 1.0 tutorial programs, unchanged except for ``import tensorc as theano``."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc as theano
import tensorc.tensor as T
from tensorc import function, In, shared, pp


def test_adding_two_scalars(mode):
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = x + y
    f = function([x, y], z, mode=mode)
    assert f(2, 3) == 5.0
    assert np.allclose(f(16.3, 12.1), 28.4)
    assert pp(z) == "(x + y)"
    assert np.allclose(z.eval({x: 16.3, y: 12.1}), 28.4)


def test_adding_two_matrices(mode):
    x, y = T.dmatrices("x", "y")
    f = function([x, y], x + y, mode=mode)
    np.testing.assert_array_equal(f([[1, 2], [3, 4]], [[10, 20], [30, 40]]), [[11, 22], [33, 44]])


def test_logistic_function_and_multiple_outputs(mode):
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    logistic = function([x], s, mode=mode)
    np.testing.assert_allclose(logistic([[0, 1], [-1, -2]]),
                               [[0.5, 0.73105858], [0.26894142, 0.11920292]], rtol=1e-7)
    s2 = (1 + T.tanh(x / 2)) / 2
    np.testing.assert_allclose(function([x], s2, mode=mode)([[0, 1], [-1, -2]]),
                               logistic([[0, 1], [-1, -2]]))
    a, b = T.dmatrix("a"), T.dmatrix("b")
    diff = a - b
    abs_diff = abs(diff)
    diff_squared = diff ** 2
    f = function([a, b], [diff, abs_diff, diff_squared], mode=mode)
    d, ad, d2 = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(d, [[1, 0], [-1, -2]])
    np.testing.assert_array_equal(ad, [[1, 0], [1, 2]])
    np.testing.assert_array_equal(d2, [[1, 0], [1, 4]])


def test_default_values_and_names(mode):
    x, y, w = T.dscalar("x"), T.dscalar("y"), T.dscalar("w")
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name="w_by_name")], z, mode=mode)
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, w_by_name=1) == 34.0
    assert f(33, w_by_name=1, y=0) == 33.0


def test_shared_accumulator_with_updates_and_givens(mode):
    state = shared(0)
    inc = T.iscalar("inc")
    accumulator = function([inc], state, updates=[(state, state + inc)], mode=mode)
    assert accumulator(1) == 0
    assert state.get_value() == 1
    accumulator(300)
    assert state.get_value() == 301
    state.set_value(-1)
    accumulator(3)
    assert state.get_value() == 2
    decrementor = function([inc], state, updates=[(state, state - inc)], mode=mode)
    decrementor(2)
    assert state.get_value() == 0
    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)], mode=mode)
    assert skip_shared(1, 3) == 7
    assert state.get_value() == 0


def test_copying_functions(mode):
    state = shared(0)
    inc = T.iscalar("inc")
    accumulator = function([inc], state, updates=[(state, state + inc)], mode=mode)
    accumulator(10)
    new_state = shared(0)
    new_accumulator = accumulator.copy(swap={state: new_state})
    new_accumulator(100)
    assert new_state.get_value() == 100 and state.get_value() == 10
    null_accumulator = accumulator.copy(delete_updates=True)
    null_accumulator(9000)
    assert state.get_value() == 10


def test_derivatives(mode):
    x = T.dscalar("x")
    gy = T.grad(x ** 2, x)
    f = function([x], gy, mode=mode)
    assert f(4) == 8.0 and f(94.2) == pytest.approx(188.4)
    xm = T.dmatrix("x")
    s = T.sum(1 / (1 + T.exp(-xm)))
    dlogistic = function([xm], T.grad(s, xm), mode=mode)
    np.testing.assert_allclose(dlogistic([[0, 1], [-1, -2]]),
                               [[0.25, 0.19661193], [0.19661193, 0.10499359]], rtol=1e-7)
    xv = T.dvector("x")
    J = theano.gradient.jacobian(xv ** 2, xv)
    np.testing.assert_allclose(function([xv], J, mode=mode)([4, 4]), [[8, 0], [0, 8]])
    H = T.hessian(T.sum(xv ** 2), xv)
    np.testing.assert_allclose(function([xv], H, mode=mode)([4, 4]), [[2, 0], [0, 2]])


def test_conditions_with_switch(mode):
    a, b = T.dscalars("a", "b")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    z_switch = T.switch(T.lt(a, b), T.mean(x), T.mean(y))
    f = function([a, b, x, y], z_switch, mode=mode)
    assert f(1, 2, np.ones((2, 2)), np.zeros((2, 2))) == 1.0
    assert f(2, 1, np.ones((2, 2)), np.zeros((2, 2))) == 0.0


def test_logistic_regression_tutorial(mode):
    rng = np.random.default_rng(0)
    N, feats = 100, 30
    D = (rng.standard_normal((N, feats)), rng.integers(0, 2, N).astype("float64"))
    x, y = T.dmatrix("x"), T.dvector("y")
    w = theano.shared(rng.standard_normal(feats), name="w")
    b = theano.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function(inputs=[x, y], outputs=[prediction, xent],
                            updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)), mode=mode)
    predict = theano.function(inputs=[x], outputs=prediction, mode=mode)
    w_np, b_np = w.get_value(), 0.0
    for _ in range(20):
        train(D[0], D[1])
        p = 1 / (1 + np.exp(-(D[0] @ w_np) - b_np))
        gw_np = D[0].T @ (p - D[1]) / N + 0.02 * w_np
        gb_np = np.mean(p - D[1])
        w_np, b_np = w_np - 0.1 * gw_np, b_np - 0.1 * gb_np
    np.testing.assert_allclose(w.get_value(), w_np, rtol=1e-9, atol=1e-12)
    assert predict(D[0]).dtype == bool


class LogisticRegression:
    """The deeplearning.net tutorial's class, as written there."""

    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(value=np.zeros((n_in, n_out), dtype=theano.config.floatX),
                               name="W", borrow=True)
        self.b = theano.shared(value=np.zeros((n_out,), dtype=theano.config.floatX),
                               name="b", borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        if y.ndim != self.y_pred.ndim:
            raise TypeError("y should have the same shape as self.y_pred")
        if y.dtype.startswith("int"):
            return T.mean(T.neq(self.y_pred, y))
        raise NotImplementedError()


class HiddenLayer:
    def __init__(self, rng, input, n_in, n_out, W=None, b=None, activation=T.tanh):
        self.input = input
        if W is None:
            W_values = np.asarray(rng.uniform(low=-np.sqrt(6. / (n_in + n_out)),
                                              high=np.sqrt(6. / (n_in + n_out)),
                                              size=(n_in, n_out)), dtype=theano.config.floatX)
            W = theano.shared(value=W_values, name="W", borrow=True)
        if b is None:
            b = theano.shared(value=np.zeros((n_out,), dtype=theano.config.floatX), name="b", borrow=True)
        self.W, self.b = W, b
        lin_output = T.dot(input, self.W) + self.b
        self.output = lin_output if activation is None else activation(lin_output)
        self.params = [self.W, self.b]


def test_deeplearning_tutorial_mlp_with_givens_minibatches(mode):
    """The MLP tutorial (shared datasets, T.cast labels, givens slicing, L1/L2) trains, and its
    first SGD steps match the same computation written in numpy."""
    rng = np.random.RandomState(1234)
    n_in, n_hidden, n_out, batch_size, n = 20, 16, 4, 10, 50
    data_x = rng.standard_normal((n, n_in))
    data_y = rng.randint(0, n_out, n)
    train_set_x = theano.shared(np.asarray(data_x, dtype=theano.config.floatX), borrow=True)
    train_set_y = T.cast(theano.shared(np.asarray(data_y, dtype=theano.config.floatX), borrow=True), "int32")
    index = T.lscalar()
    x = T.matrix("x")
    y = T.ivector("y")
    hidden = HiddenLayer(rng, x, n_in, n_hidden)
    logreg = LogisticRegression(hidden.output, n_hidden, n_out)
    L1 = abs(hidden.W).sum() + abs(logreg.W).sum()
    L2_sqr = (hidden.W ** 2).sum() + (logreg.W ** 2).sum()
    cost = logreg.negative_log_likelihood(y) + 0.0 * L1 + 0.0001 * L2_sqr
    params = hidden.params + logreg.params
    gparams = [T.grad(cost, param) for param in params]
    updates = [(param, param - 0.01 * gparam) for param, gparam in zip(params, gparams)]
    train_model = theano.function(
        inputs=[index], outputs=cost, updates=updates, mode=mode,
        givens={x: train_set_x[index * batch_size: (index + 1) * batch_size],
                y: train_set_y[index * batch_size: (index + 1) * batch_size]})
    test_model = theano.function([index], logreg.errors(y), mode=mode,
                                 givens={x: train_set_x[index * batch_size:(index + 1) * batch_size],
                                         y: train_set_y[index * batch_size:(index + 1) * batch_size]})
    W1, b1, W2, b2 = (p.get_value() for p in params)
    for minibatch_index in range(n // batch_size):
        cost_value = train_model(minibatch_index)
        xb = data_x[minibatch_index * batch_size:(minibatch_index + 1) * batch_size]
        yb = data_y[minibatch_index * batch_size:(minibatch_index + 1) * batch_size]
        h = np.tanh(xb @ W1 + b1)
        z = h @ W2 + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        expected = -np.mean(np.log(p[np.arange(batch_size), yb])) + 0.0001 * ((W1 ** 2).sum() + (W2 ** 2).sum())
        assert cost_value == pytest.approx(expected, rel=1e-10)
        dz = p.copy()
        dz[np.arange(batch_size), yb] -= 1
        dz /= batch_size
        gW2, gb2 = h.T @ dz + 0.0002 * W2, dz.sum(0)
        dh = dz @ W2.T * (1 - h ** 2)
        gW1, gb1 = xb.T @ dh + 0.0002 * W1, dh.sum(0)
        W1, b1, W2, b2 = W1 - 0.01 * gW1, b1 - 0.01 * gb1, W2 - 0.01 * gW2, b2 - 0.01 * gb2
    for param, ref in zip(params, (W1, b1, W2, b2)):
        np.testing.assert_allclose(param.get_value(), ref, rtol=1e-9, atol=1e-12)
    assert 0.0 <= float(test_model(0)) <= 1.0
