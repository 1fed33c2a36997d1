"""Rewrite pipeline follow-ups: gradient-only identity ops removed after ``grad``, and the
cross-entropies stabilised in the composed forms users write (forward and gradient finite
at saturation, where the unrewritten graph is not)."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.gradient import (consider_constant, disconnected_grad, grad_clip, grad_scale,
                              zero_grad)
from tensorc.printing import Print

FULL = tensorc.Mode(optimizer="fast_run", backend="numpy")
NONE = tensorc.Mode(optimizer="None", backend="numpy")

GRAD_IDENTITIES = [
    ("zero_grad", zero_grad),
    ("disconnected_grad", disconnected_grad),
    ("consider_constant", consider_constant),
    ("grad_clip", lambda v: grad_clip(v, -1.0, 1.0)),
    ("grad_scale", lambda v: grad_scale(v, 3.0)),
]


def _op_names(f) -> list[str]:
    return [type(n.op).__name__ for n in f.maker.fgraph.toposort()]


@pytest.mark.parametrize("name, wrap", GRAD_IDENTITIES, ids=[g[0] for g in GRAD_IDENTITIES])
def test_grad_identity_removed_and_fused_through(name, wrap):
    x = T.dvector("x")
    y = T.exp(wrap(T.tanh(x))) * 2 + 1
    f = tensorc.function([x], y, mode=FULL)
    assert _op_names(f) == ["FusedElemwise"]
    v = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(f(v), np.exp(np.tanh(v)) * 2 + 1, rtol=1e-15)


@pytest.mark.parametrize("name, wrap", GRAD_IDENTITIES, ids=[g[0] for g in GRAD_IDENTITIES])
def test_grad_identity_output_is_not_the_input_buffer(name, wrap):
    x = T.dvector("x")
    f = tensorc.function([x], wrap(x), mode=FULL)
    v = np.arange(3.0)
    out = f(v)
    out[0] = 42.0
    assert v[0] == 0.0


def test_grad_identity_gradient_built_before_removal():
    x = T.dscalar("x")
    cost = grad_scale(x, 0.5) ** 2 + x * zero_grad(x) + grad_clip(x, -1, 1) ** 2
    f = tensorc.function([x], T.grad(cost, x), mode=FULL)
    assert "GradScale" not in _op_names(f) and "ZeroGrad" not in _op_names(f)
    assert float(f(3.0)) == pytest.approx(0.5 * 6.0 + 3.0 + 1.0)


def test_print_is_kept(capsys):
    x = T.dvector("x")
    f = tensorc.function([x], T.exp(Print("seen")(x)) * 2, mode=FULL)
    assert "Print" in _op_names(f)
    f(np.zeros(2))
    assert "seen" in capsys.readouterr().out


# -- cross-entropies ------------------------------------------------------------------------
def _softmax(a):
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _log_softmax(a):
    z = a - a.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def _bce_user(x, t):
    return T.nnet.binary_crossentropy(T.nnet.sigmoid(x), t).mean()


def _bce_expanded(x, t):
    p = T.nnet.sigmoid(x)
    return (-(t * T.log(p) + (1 - t) * T.log(1 - p))).mean()


def _bce_ref(a, t):
    cost = np.mean(t * np.logaddexp(0, -a) + (1 - t) * np.logaddexp(0, a))
    sig = np.exp(-np.logaddexp(0, -a))
    return cost, (sig - t) / a.size


def _cce_int(x, y):
    return T.nnet.categorical_crossentropy(T.nnet.softmax(x), y).mean()


def _cce_onehot(x, t):
    return T.nnet.categorical_crossentropy(T.nnet.softmax(x), t).mean()


def _nll_tutorial(x, y):
    return -T.mean(T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y])


def _nll_log_of_indexed(x, y):
    return -T.mean(T.log(T.nnet.softmax(x)[T.arange(y.shape[0]), y]))


def _cce_ref(a, onehot):
    n = a.shape[0]
    return -np.sum(onehot * _log_softmax(a)) / n, (_softmax(a) - onehot) / n


XENT_CASES = [  # (name, user's cost, "binary" | "int" | "onehot")
    ("bce(sigmoid)", _bce_user, "binary"),
    ("bce expanded", _bce_expanded, "binary"),
    ("cce(softmax, int)", _cce_int, "int"),
    ("cce(softmax, onehot)", _cce_onehot, "onehot"),
    ("tutorial log(p)[arange, y]", _nll_tutorial, "int"),
    ("log(p[arange, y])", _nll_log_of_indexed, "int"),
]


def _xent_problem(kind, dtype, big):
    """Symbolic inputs, saturated values and the numpy reference (cost, d cost / d x)."""
    if kind == "binary":
        x, t = T.vector("x", dtype=dtype), T.vector("t", dtype=dtype)
        a = np.array([-big, -1.5, 0.0, 2.0, big, big, -big], dtype=dtype)
        tv = np.array([1, 0, 1, 1, 0, 1, 0], dtype=dtype)
        ref = _bce_ref(a.astype("float64"), tv.astype("float64"))
        return x, t, a, tv, ref
    x = T.matrix("x", dtype=dtype)
    a = np.array([[0.0, big, -big], [big, 0.0, 1.0], [-1.0, 0.5, 2.0]], dtype=dtype)
    labels = np.array([2, 1, 0])
    onehot = np.eye(3)[labels]
    ref = _cce_ref(a.astype("float64"), onehot)
    if kind == "int":
        return x, T.lvector("y"), a, labels, ref
    return x, T.matrix("t", dtype=dtype), a, onehot.astype(dtype), ref


@pytest.mark.parametrize("dtype, big", [("float64", 700.0), ("float32", 80.0)])
@pytest.mark.parametrize("name, cost_of, kind", XENT_CASES, ids=[c[0] for c in XENT_CASES])
def test_crossentropy_forward_and_gradient_finite_at_saturation(name, cost_of, kind, dtype, big):
    x, t, a, tv, (want_cost, want_grad) = _xent_problem(kind, dtype, big)
    cost = cost_of(x, t)
    outs = [cost, T.grad(cost, x)]
    raw = tensorc.function([x, t], outs, mode=NONE)(a, tv)
    assert not all(np.all(np.isfinite(v)) for v in raw)  # the user's graph overflows as written
    got_cost, got_grad = tensorc.function([x, t], outs, mode=FULL)(a, tv)
    assert got_cost.dtype == dtype and got_grad.dtype == dtype
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(got_cost, want_cost, rtol=rtol)
    np.testing.assert_allclose(got_grad, want_grad, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("name, cost_of, kind", XENT_CASES, ids=[c[0] for c in XENT_CASES])
def test_crossentropy_rewrite_matches_unrewritten_graph_when_moderate(name, cost_of, kind, rng):
    x, t, a, tv, _ = _xent_problem(kind, "float64", 3.0)
    a = a + rng.uniform(-1, 1, a.shape)
    cost = cost_of(x, t)
    outs = [cost, T.grad(cost, x)]
    want = tensorc.function([x, t], outs, mode=NONE)(a, tv)
    got = tensorc.function([x, t], outs, mode=FULL)(a, tv)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


def test_crossentropy_stable_in_default_fast_run():
    """What users run: ``mode='FAST_RUN'`` on the default backend (C when available)."""
    x, y, a, labels, (want_cost, want_grad) = _xent_problem("int", "float64", 700.0)
    cost = _nll_tutorial(x, y)
    f = tensorc.function([x, y], [cost, T.grad(cost, x)], mode="FAST_RUN")
    got_cost, got_grad = f(a, labels)
    np.testing.assert_allclose(got_cost, want_cost, rtol=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-15)
    xb, tb, ab, tvb, (cb, gb) = _xent_problem("binary", "float32", 80.0)
    cost = _bce_user(xb, tb)
    got = tensorc.function([xb, tb], [cost, T.grad(cost, xb)], mode="FAST_RUN")(ab, tvb)
    np.testing.assert_allclose(got[0], cb, rtol=1e-5)
    np.testing.assert_allclose(got[1], gb, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("labels, error, message", [
    (np.array([0, 3, 1]), IndexError, "out of bounds|out of range"),
    (np.array([0, 1]), IndexError, r"shape mismatch.*\(3,\).*\(2,\)"),
])
def test_rewritten_crossentropy_still_checks_labels(labels, error, message):
    x, y = T.dmatrix("x"), T.lvector("y")
    cost = _cce_int(x, y)
    f = tensorc.function([x, y], [cost, T.grad(cost, x)], mode=FULL)
    with pytest.raises(error, match=message):
        f(np.zeros((3, 3)), labels)
