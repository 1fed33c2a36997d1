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
