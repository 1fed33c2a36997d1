"""Gradients of the structural ops (reductions, shape ops, indexing, dot, join,
softmax and cross-entropies) by finite differences, plus Theano's edge cases."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.gradient import grad, verify_grad

R = np.random.default_rng(42)
M23, M34, V3, V4 = R.normal(size=(2, 3)), R.normal(size=(3, 4)), R.normal(size=3), R.normal(size=4)
T234 = R.normal(size=(2, 3, 4))
POS23 = R.uniform(0.5, 2.0, size=(2, 3))
IDX = np.array([0, 2, 2, 1, 0])
LABELS = np.array([2, 0])

#: name -> (function of symbolic inputs, points)
CASES: dict[str, tuple[Callable[..., Any], list[np.ndarray]]] = {
    "sum": (lambda x: T.sum(x), [M23]),
    "sum-axis0": (lambda x: T.sum(x, axis=0), [M23]),
    "sum-keepdims": (lambda x: T.sum(x, axis=(0, 2), keepdims=True), [T234]),
    "prod": (lambda x: T.prod(x, axis=1), [M23]),
    "prod-one-zero": (lambda x: T.prod(x), [np.array([1.5, 0.0, -2.0, 0.7])]),
    "mean": (lambda x: T.mean(x, axis=1), [M23]),
    "var": (lambda x: T.var(x, axis=0), [M23]),
    "std": (lambda x: T.std(x), [M23]),
    "max": (lambda x: T.max(x, axis=1), [M23]),
    "min": (lambda x: T.min(x), [M23]),
    "reshape": (lambda x: T.reshape(x, (3, 2)) * T.constant(np.arange(6.0).reshape(3, 2)), [M23]),
    "flatten": (lambda x: T.flatten(x) ** 2, [T234]),
    "transpose": (lambda x: T.transpose(x, (2, 0, 1)) * T.constant(np.arange(24.0).reshape(4, 2, 3)), [T234]),
    "dimshuffle": (lambda x: x.dimshuffle(1, "x", 0) * T.constant(np.ones((3, 2, 2))), [M23]),
    "subtensor": (lambda x: x[1:, ::2] ** 2, [M34]),
    "subtensor-scalar": (lambda x: x[1, 2] * x[0, 0], [M34]),
    "advanced-repeated": (lambda x: x[T.constant(IDX)] ** 2, [V3]),
    "advanced-rows": (lambda x: x[T.constant(IDX)] * T.constant(np.arange(20.0).reshape(5, 4)), [M34]),
    "set_subtensor": (lambda x, y: T.set_subtensor(x[1:, 1:3], y) ** 2, [M34, M23[:, :2]]),
    "inc_subtensor": (lambda x, y: T.inc_subtensor(x[0], y) ** 2, [M34, V4]),
    "inc-advanced-repeated": (lambda x, y: T.inc_subtensor(x[T.constant(IDX)], y) ** 2,
                              [V3, R.normal(size=5)]),
    "dot-mm": (lambda a, b: T.dot(a, b), [M23, M34]),
    "dot-mv": (lambda a, b: T.dot(a, b), [M34, V4]),
    "dot-vv": (lambda a, b: T.dot(a, b), [V3, V3 + 1]),
    "tensordot": (lambda a, b: T.tensordot(a, b, axes=[[1, 2], [0, 1]]), [T234, R.normal(size=(3, 4, 2))]),
    "batched_dot": (lambda a, b: T.batched_dot(a, b), [T234, R.normal(size=(2, 4, 3))]),
    "concatenate": (lambda a, b: T.concatenate([a, b, a], axis=0) ** 2, [M23, R.normal(size=(1, 3))]),
    "stack": (lambda a, b: T.stack([a, b], axis=1) ** 2, [V3, V3 - 1]),
    "switch": (lambda a, b: T.switch(T.gt(a, 0), a * b, b ** 2), [M23, POS23]),
    "clip": (lambda a: T.clip(a, -0.5, 0.5) * a, [np.array([-1.0, -0.2, 0.3, 0.9])]),
    "maximum-relu": (lambda a: T.maximum(a, 0) * a, [np.array([-1.0, -0.2, 0.3, 0.9])]),
    "softmax": (lambda x: T.nnet.softmax(x), [M23]),
    "log_softmax": (lambda x: T.nnet.logsoftmax(x), [M23]),
    "categorical_crossentropy-1hot": (
        lambda x: T.nnet.categorical_crossentropy(T.nnet.softmax(x), T.constant(LABELS)), [M23]),
    "categorical_crossentropy-dense": (
        lambda x, t: T.nnet.categorical_crossentropy(T.nnet.softmax(x), t),
        [M23, R.uniform(0.1, 1, (2, 3))]),
    "binary_crossentropy": (lambda x, t: T.nnet.binary_crossentropy(T.nnet.sigmoid(x), t),
                            [M23, R.uniform(0.1, 0.9, (2, 3))]),
    "sigmoid_binary_crossentropy": (lambda x, t: T.nnet.sigmoid_binary_crossentropy(x, t),
                                    [M23, R.uniform(0.1, 0.9, (2, 3))]),
}


@pytest.fixture
def numpy_mode() -> tensorc.Mode:
    """The finite-difference sweeps check gradient *graphs*; they run on the numpy
    backend (C == numpy is the C backend's own test suite); the edge cases below use
    every backend through ``mode``."""
    return tensorc.Mode(optimizer="fast_run", backend="numpy", name="FAST_RUN(numpy)")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_structural_gradient(name, dtype, numpy_mode) -> None:
    fn, pts = CASES[name]
    pts = [np.asarray(p, dtype=dtype) for p in pts]
    verify_grad(fn, pts, rng=np.random.default_rng(7), mode=numpy_mode)


def _g(cost_fn, x, value, mode):
    return tensorc.function([x], grad(cost_fn(x), x), mode=mode)(value)


def test_max_gradient_goes_to_the_argmax_entries(mode) -> None:
    x = T.dmatrix("x")
    v = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    np.testing.assert_array_equal(_g(lambda x: T.sum(T.max(x, axis=1)), x, v, mode),
                                  [[0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("value,expected", [
    ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),   # one zero: only that entry has a gradient
    ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0]),   # two zeros: all zero, no NaN
    ([2.0, 4.0, 0.5], [2.0, 1.0, 8.0]),
])
def test_prod_gradient_with_zeros(value, expected, mode) -> None:
    x = T.dvector("x")
    out = _g(lambda x: T.prod(x), x, np.array(value), mode)
    np.testing.assert_array_equal(out, expected)


def test_advanced_indexing_accumulates_repeated_indices(mode) -> None:
    x = T.dvector("x")
    out = _g(lambda x: T.sum(x[T.constant(np.array([0, 2, 2, 2]))]), x, np.zeros(4), mode)
    np.testing.assert_array_equal(out, [1.0, 0.0, 3.0, 0.0])


def test_set_subtensor_blocks_gradient_of_overwritten_part(mode) -> None:
    x = T.dvector("x")
    out = _g(lambda x: T.sum(T.set_subtensor(x[1:3], 0.0) * 2.0), x, np.ones(4), mode)
    np.testing.assert_array_equal(out, [2.0, 0.0, 0.0, 2.0])


@pytest.mark.parametrize("dtype,big", [("float64", 700.0), ("float32", 80.0)])
def test_softmax_crossentropy_gradients_are_stable(dtype, big, mode) -> None:
    """Fused and log-domain forms are stable at saturation; the composed
    ``categorical_crossentropy(softmax(x), y)`` is inf forward there (p underflows),
    so it is checked where its forward is finite (large |x| needs the rewrite that
    fuses it into ``crossentropy_softmax_1hot``)."""
    x = T.TensorType(dtype, (False, False))("x")
    y = T.ivector("y")
    yv = np.array([1, 2], dtype="int32")
    costs = {
        "crossentropy_softmax_1hot": (T.mean(T.nnet.crossentropy_softmax_1hot(x, y)[0]), big),
        "log_softmax": (-T.mean(T.nnet.logsoftmax(x)[T.arange(2), y]), big),
        "softmax+cce": (T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(x), y)), 30.0),
    }
    for name, (cost, scale) in costs.items():
        xv = np.array([[scale, -scale, 0.0], [-scale, -scale, scale]], dtype=dtype)
        g = tensorc.function([x, y], grad(cost, x), mode=mode)(xv, yv)
        assert g.dtype == dtype and np.all(np.isfinite(g)), (name, g)
        p = np.exp(xv.astype("float64") - xv.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        ref = (p - np.eye(3)[yv]) / 2
        np.testing.assert_allclose(g, ref, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("dtype,big", [("float64", 700.0), ("float32", 80.0)])
def test_binary_crossentropy_gradients_are_stable(dtype, big, mode) -> None:
    """From logits the loss is stable at saturation; ``binary_crossentropy(sigmoid(x), t)``
    written by hand is inf forward there, so it is checked at moderate |x| (the rewrite
    issue must turn it into the logit form)."""
    x = T.TensorType(dtype, (False,))("x")
    t = T.TensorType(dtype, (False,))("t")
    tv = np.array([0.0, 1.0, 1.0, 0.3], dtype=dtype)
    costs = [(T.sum(T.nnet.sigmoid_binary_crossentropy(x, t)), big),
             (T.sum(T.nnet.binary_crossentropy(T.nnet.sigmoid(x), t)), 8.0)]
    for cost, scale in costs:
        xv = np.array([scale, -scale, scale / 2, 0.5], dtype=dtype)
        ref = 1 / (1 + np.exp(-xv.astype("float64"))) - tv  # d/dx of the logistic loss
        g = tensorc.function([x, t], grad(cost, x), mode=mode)(xv, tv)
        assert np.all(np.isfinite(g)), g
        np.testing.assert_allclose(g, ref, atol=1e-5)
