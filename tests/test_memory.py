"""A compiled training step reuses its buffers: after the first calls it allocates almost
nothing (DESIGN §4: fresh memory costs page faults; intermediates and dropped outputs are
recycled, and shared-variable updates alternate between two buffers)."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c.driver import c_backend_available


@pytest.mark.skipif(not c_backend_available(), reason="buffer recycling is a C-backend feature")
def test_mlp_training_step_allocates_almost_nothing_after_warmup():
    rng = np.random.default_rng(0)
    X, y = T.dmatrix("X"), T.lvector("y")
    W1 = tensorc.shared(rng.standard_normal((256, 128)) * 0.05, name="W1")
    b1 = tensorc.shared(np.zeros(128), name="b1")
    W2 = tensorc.shared(rng.standard_normal((128, 10)) * 0.1, name="W2")
    b2 = tensorc.shared(np.zeros(10), name="b2")
    params = [W1, b1, W2, b2]
    p = T.nnet.softmax(T.dot(T.tanh(T.dot(X, W1) + b1), W2) + b2)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y]) + 1e-4 * (W1 ** 2).sum()
    step = tensorc.function([X, y], cost, mode=tensorc.Mode(backend="c"),
                            updates=[(q, q - 0.1 * g) for q, g in zip(params, T.grad(cost, params))])
    xv, yv = rng.standard_normal((128, 256)), rng.integers(0, 10, 128)
    for _ in range(3):
        step(xv, yv)
    param_bytes = sum(q.get_value(borrow=True).nbytes for q in params)
    activation_bytes = 128 * (128 + 10) * 8
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        step(xv, yv)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.02 * (param_bytes + activation_bytes), (
        f"one warm training step allocated {peak} bytes at peak "
        f"(parameters {param_bytes} B, activations {activation_bytes} B)")
