"""Full training loops compiled with ``tensorc.function`` and ``T.grad`` match a
hand-written numpy SGD to 1e-6 after k steps."""
from __future__ import annotations

import numpy as np

import tensorc
import tensorc.tensor as T


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def test_logistic_regression_with_l2(mode) -> None:
    """The Theano tutorial's logistic regression (smaller feature count)."""
    rng = np.random.default_rng(0)
    N, feats, steps, lr, l2 = 400, 20, 10, 0.1, 0.01
    D = (rng.normal(size=(N, feats)), rng.integers(0, 2, N).astype("float64"))
    x, y = T.dmatrix("x"), T.dvector("y")
    w = tensorc.shared(rng.normal(size=feats), name="w")
    b = tensorc.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + l2 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = tensorc.function([x, y], [p_1 > 0.5, xent], updates=[(w, w - lr * gw), (b, b - lr * gb)],
                             mode=mode)
    wn, bn = w.get_value(), float(b.get_value())
    for _ in range(steps):
        train(*D)
        p = _sigmoid(D[0] @ wn + bn)
        gwn = D[0].T @ (p - D[1]) / N + 2 * l2 * wn
        gbn = np.mean(p - D[1])
        wn, bn = wn - lr * gwn, bn - lr * gbn
    np.testing.assert_allclose(w.get_value(), wn, atol=1e-6, rtol=0)
    assert abs(float(b.get_value()) - bn) < 1e-6


def test_mlp_with_givens_minibatches(mode) -> None:
    """A tanh MLP with softmax output, minibatches taken from shared data by ``givens``."""
    rng = np.random.default_rng(1)
    n, n_in, n_hid, n_out, batch, lr = 60, 8, 6, 3, 20, 0.2
    data_x = rng.normal(size=(n, n_in))
    data_y = rng.integers(0, n_out, n).astype("int32")
    sx, sy = tensorc.shared(data_x, name="sx"), tensorc.shared(data_y, name="sy")
    W1 = tensorc.shared(rng.normal(scale=0.5, size=(n_in, n_hid)), name="W1")
    b1 = tensorc.shared(np.zeros(n_hid), name="b1")
    W2 = tensorc.shared(rng.normal(scale=0.5, size=(n_hid, n_out)), name="W2")
    b2 = tensorc.shared(np.zeros(n_out), name="b2")
    params = [W1, b1, W2, b2]
    index = T.lscalar("index")
    x, y = T.dmatrix("x"), T.ivector("y")
    h = T.tanh(T.dot(x, W1) + b1)
    p = T.nnet.softmax(T.dot(h, W2) + b2)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y]) + 1e-3 * T.sum(W1 ** 2)
    grads = T.grad(cost, params)
    train = tensorc.function(
        [index], cost, updates=[(q, q - lr * g) for q, g in zip(params, grads)],
        givens={x: sx[index * batch:(index + 1) * batch], y: sy[index * batch:(index + 1) * batch]},
        mode=mode)
    P = [q.get_value() for q in params]
    for step in range(6):
        i = step % (n // batch)
        out = float(train(i))
        xb, yb = data_x[i * batch:(i + 1) * batch], data_y[i * batch:(i + 1) * batch]
        w1, c1, w2, c2 = P
        hb = np.tanh(xb @ w1 + c1)
        z = hb @ w2 + c2
        pb = np.exp(z - z.max(axis=1, keepdims=True))
        pb /= pb.sum(axis=1, keepdims=True)
        ref_cost = -np.mean(np.log(pb[np.arange(batch), yb])) + 1e-3 * np.sum(w1 ** 2)
        assert abs(out - ref_cost) < 1e-9
        dz = (pb - np.eye(n_out)[yb]) / batch
        gw2, gc2 = hb.T @ dz, dz.sum(axis=0)
        dh = (dz @ w2.T) * (1 - hb ** 2)
        gw1, gc1 = xb.T @ dh + 2e-3 * w1, dh.sum(axis=0)
        P = [q - lr * g for q, g in zip(P, [gw1, gc1, gw2, gc2])]
    for q, ref in zip(params, P):
        np.testing.assert_allclose(q.get_value(), ref, atol=1e-6, rtol=0)
