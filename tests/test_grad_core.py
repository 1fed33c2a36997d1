"""The reverse-mode walk and the gradient toolbox: Theano's documented behaviours."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorc
import tensorc.tensor as T
from tensorc.graph.basic import Apply, Op
from tensorc.gradient import (DisconnectedInputError, DisconnectedType, GradientError, Lop,
                              NullTypeGradError, Rop, disconnected_grad, grad, grad_clip, grad_scale,
                              grad_undefined, hessian, jacobian, verify_grad, zero_grad)


def _run(inputs, outputs, mode, *values):
    return tensorc.function(inputs, outputs, mode=mode, on_unused_input="ignore")(*values)


# -- arguments --------------------------------------------------------------------------
@pytest.mark.parametrize("make", [T.dvector, T.dmatrix])
def test_non_scalar_cost_is_a_type_error(make) -> None:
    x = make("x")
    with pytest.raises(TypeError, match=r"cost must be a scalar.*dimensions"):
        grad(x * 2, x)


@pytest.mark.parametrize("kwargs,match", [
    ({"disconnected_inputs": "maybe"}, "disconnected_inputs"),
    ({"return_disconnected": "nan"}, "return_disconnected"),
    ({"null_gradients": "warn"}, "null_gradients"),
])
def test_bad_options_are_value_errors(kwargs, match) -> None:
    x = T.dscalar("x")
    with pytest.raises(ValueError, match=match):
        grad(x * 2, x, **kwargs)


def test_wrt_must_be_variables() -> None:
    x = T.dscalar("x")
    with pytest.raises(TypeError, match=r"wrt\[1\] must be a symbolic variable"):
        grad(x * 2, [x, 3.0])


def test_single_and_list_wrt(mode) -> None:
    x, y = T.dscalar("x"), T.dscalar("y")
    gx = grad(x * y, x)
    gs = grad(x * y, [x, y])
    assert not isinstance(gx, list) and isinstance(gs, list)
    assert [float(v) for v in _run([x, y], gs, mode, 2.0, 5.0)] == [5.0, 2.0]


# -- disconnected inputs ------------------------------------------------------------------
def test_disconnected_raise_warn_ignore(mode) -> None:
    x, y = T.dvector("x"), T.dvector("y")
    cost = T.sum(x ** 2)
    with pytest.raises(DisconnectedInputError, match=r"y .*not part of the computational graph"):
        grad(cost, [x, y])
    with pytest.warns(UserWarning, match="not part of the computational graph"):
        grad(cost, [x, y], disconnected_inputs="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gx, gy = grad(cost, [x, y], disconnected_inputs="ignore")
    out = _run([x, y], gy, mode, [1.0, 2.0], [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(out, np.zeros(3))


def test_return_disconnected_variants() -> None:
    x, y = T.dscalar("x"), T.dscalar("y")
    assert grad(x * 2, y, disconnected_inputs="ignore", return_disconnected="None") is None
    d = grad(x * 2, y, disconnected_inputs="ignore", return_disconnected="Disconnected")
    assert isinstance(d.type, DisconnectedType)


def test_integer_only_path_is_disconnected_for_disconnected_grad() -> None:
    x = T.dvector("x")
    with pytest.raises(DisconnectedInputError):
        grad(T.sum(disconnected_grad(x) * 3), x)


# -- discrete variables and dtypes ----------------------------------------------------------
def test_discrete_wrt_gets_float_zeros(mode) -> None:
    i, w = T.ivector("i"), T.dvector("w")
    gi, gw = grad(T.sum(i * w), [i, w])
    assert gi.dtype == tensorc.config.floatX
    a, b = _run([i, w], [gi, gw], mode, np.array([1, 2], "int32"), [3.0, 4.0])
    np.testing.assert_array_equal(a, 0)
    np.testing.assert_array_equal(b, [1.0, 2.0])


@pytest.mark.parametrize("build", [
    lambda x: T.sum(T.argmax(x, axis=0) * 1.0) + T.sum(x * 0),
    lambda x: T.sum(T.cast(x, "int32") * 2.0),
    lambda x: T.sum(T.floor(x) + T.round(x) + T.sgn(x) + T.gt(x, 0)),
], ids=["argmax", "cast-to-int", "rounding"])
def test_piecewise_constant_paths_give_connected_zeros(build, mode) -> None:
    x = T.dvector("x")
    g = grad(build(x), x)  # connected: no DisconnectedInputError
    np.testing.assert_array_equal(_run([x], g, mode, [0.3, -1.7, 2.5]), np.zeros(3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_has_the_parameter_dtype(dtype, mode) -> None:
    w = tensorc.shared(np.ones(3, dtype=dtype), name="w")
    x = T.dvector("x")
    g = grad(T.sum(w * x), w)
    assert g.dtype == dtype and g.broadcastable == w.broadcastable
    np.testing.assert_allclose(_run([x], g, mode, [1.0, 2.0, 3.0]), [1, 2, 3])


@pytest.mark.parametrize("pattern,shape", [((True, False), (1, 3)), ((False, True), (2, 1)),
                                           ((True, True), (1, 1)), ((), ())])
def test_gradients_sum_back_to_broadcast_pattern(pattern, shape, mode) -> None:
    b = T.TensorType("float64", pattern)("b")
    m = T.dmatrix("m")
    g = grad(T.sum((m + b) ** 2), b)
    assert g.broadcastable == b.broadcastable
    mv, bv = np.arange(6.0).reshape(2, 3), np.full(shape, 0.5)
    full = 2 * (mv + bv)
    ref = full.sum() if not pattern else \
        full.sum(axis=tuple(d for d, p in enumerate(pattern) if p), keepdims=True)
    np.testing.assert_allclose(_run([m, b], g, mode, mv, bv), ref)


# -- consider_constant, known_grads, toolbox ops ---------------------------------------------
def test_consider_constant_blocks_backprop(mode) -> None:
    x = T.dscalar("x")
    y = x ** 2
    g = grad(y * x, x, consider_constant=[y])
    assert float(_run([x], g, mode, 3.0)) == 9.0  # d/dx (c * x) with c = x**2 held


def test_known_grads_seed_intermediate(mode) -> None:
    x = T.dvector("x")
    h = T.exp(x)
    g = grad(None, x, known_grads={h: T.ones_like(h) * 2.0})
    np.testing.assert_allclose(_run([x], g, mode, [0.0, 1.0]), 2 * np.exp([0.0, 1.0]))
    g2 = grad(T.sum(h), x, known_grads={h: T.ones_like(h)})  # both seeds add up
    np.testing.assert_allclose(_run([x], g2, mode, [0.0, 1.0]), 2 * np.exp([0.0, 1.0]))


def test_wrt_intermediate_and_its_input(mode) -> None:
    x = T.dscalar("x")
    y = x * 3
    gx, gy = grad(y ** 2, [x, y])
    assert [float(v) for v in _run([x], [gx, gy], mode, 2.0)] == [36.0, 12.0]


@pytest.mark.parametrize("wrap,expected", [
    (zero_grad, 3.0),                          # d/dx x*c = c = 3
    (lambda v: grad_clip(v, -1.0, 0.5), 3.5),  # 3 + clip(3, -1, .5)
    (lambda v: grad_scale(v, -2.0), -3.0),     # 3 - 2*3
], ids=["zero_grad", "grad_clip", "grad_scale"])
def test_gradient_modifying_ops(wrap, expected, mode) -> None:
    x = T.dscalar("x")
    y = x * wrap(x)
    f = tensorc.function([x], [y, grad(y, x)], mode=mode)
    val, g = f(3.0)
    assert float(val) == 9.0 and float(g) == expected


def test_zero_grad_stays_connected_and_disconnected_grad_does_not(mode) -> None:
    x = T.dvector("x")
    g = grad(T.sum(zero_grad(x) ** 2), x)
    np.testing.assert_array_equal(_run([x], g, mode, [1.0, 2.0]), [0.0, 0.0])
    with pytest.raises(DisconnectedInputError):
        grad(T.sum(disconnected_grad(x) ** 2), x)


def test_grad_clip_bounds_checked() -> None:
    with pytest.raises(ValueError, match="upper bound"):
        grad_clip(T.dscalar(), 1.0, -1.0)


def test_autoencoder_with_sign_code_has_zero_encoder_gradient(mode) -> None:
    """The seed's example: L = ||f(sgn(g(X))) - X||; sgn has zero gradient."""
    rng = np.random.default_rng(0)
    X = T.dmatrix("X")
    W_enc = tensorc.shared(rng.normal(size=(5, 3)), name="W_enc")
    W_dec = tensorc.shared(rng.normal(size=(3, 5)), name="W_dec")
    code = T.sgn(T.tanh(T.dot(X, W_enc)))
    recon = T.dot(code, W_dec)
    L = T.sqrt(T.sum((recon - X) ** 2))
    g_enc, g_dec = grad(L, [W_enc, W_dec])
    ge, gd = _run([X], [g_enc, g_dec], mode, rng.normal(size=(4, 5)))
    assert np.all(ge == 0.0) and ge.shape == (5, 3)
    assert np.any(gd != 0.0)


# -- undefined gradients and broken ops --------------------------------------------------------
class _NoGrad(Op):
    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs):
        return [inputs[0] * 2]

    def L_op(self, inputs, outputs, output_grads):
        return [grad_undefined(self, 0, inputs[0], "on purpose")]


class _WrongGrad(_NoGrad):
    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0] * 3]  # forward is 2*x


class _NoneGrad(_NoGrad):
    def L_op(self, inputs, outputs, output_grads):
        return [None]


def test_null_gradients_raise_or_return() -> None:
    x = T.dvector("x")
    cost = T.sum(_NoGrad()(x))
    with pytest.raises(NullTypeGradError, match="undefined.*on purpose"):
        grad(cost, x)
    assert "on purpose" in grad(cost, x, null_gradients="return").type.why


def test_l_op_returning_none_is_a_clear_error() -> None:
    x = T.dvector("x")
    with pytest.raises(TypeError, match="returned None for input 0"):
        grad(T.sum(_NoneGrad()(x)), x)


def test_verify_grad_reports_the_worst_mismatch() -> None:
    with pytest.raises(GradientError, match=r"input 0 \(shape \(3,\)\) at position \(\d,\).*"
                                            r"analytic .*numeric .*abs error"):
        verify_grad(lambda a: _WrongGrad()(a), [np.array([1.0, 2.0, 3.0])],
                    rng=np.random.default_rng(0))


def test_verify_grad_argument_errors() -> None:
    with pytest.raises(TypeError, match=r"pt\[0\] has dtype int64"):
        verify_grad(lambda a: a * 2, [np.array([1, 2])])
    with pytest.raises(TypeError, match="single tensor"):
        verify_grad(lambda a: [a, a], [np.array([1.0])])


def test_add_names() -> None:
    x = T.dscalar("x")
    cost = x ** 2
    cost.name = "c"
    assert grad(cost, x).name == "(dc/dx)"


# -- higher order, jacobian, hessian, Rop / Lop ---------------------------------------------
def test_second_and_third_derivatives(mode) -> None:
    x = T.dscalar("x")
    g1 = grad(x ** 4, x)
    g2 = grad(g1, x)
    g3 = grad(g2, x)
    assert [float(v) for v in _run([x], [g1, g2, g3], mode, 2.0)] == [32.0, 48.0, 48.0]


def test_jacobian_and_hessian(mode) -> None:
    x = T.dvector("x")
    A = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]])
    J = jacobian(T.tanh(T.dot(T.constant(A), x)), x)
    xv = np.array([0.3, -0.2])
    t = np.tanh(A @ xv)
    np.testing.assert_allclose(_run([x], J, mode, xv), (1 - t ** 2)[:, None] * A)
    H = hessian(T.sum(x ** 3) + x[0] * x[1], x)
    np.testing.assert_allclose(_run([x], H, mode, xv), [[6 * 0.3, 1.0], [1.0, 6 * -0.2]])
    assert jacobian(T.sum(x ** 2), x).ndim == 1  # scalar expression: the gradient
    with pytest.raises(TypeError, match="expression must be a vector"):
        jacobian(T.outer(x, x), x)


def test_jacobian_of_matrix_wrt_and_shared(mode) -> None:
    W = tensorc.shared(np.array([[1.0, 2.0], [3.0, 4.0]]), name="W")
    x = T.dvector("x")
    J = jacobian(T.dot(W, x), W)
    out = _run([x], J, mode, [5.0, 7.0])
    ref = np.zeros((2, 2, 2))
    ref[0, 0], ref[1, 1] = [5.0, 7.0], [5.0, 7.0]
    np.testing.assert_allclose(out, ref)


def test_hessian_vector_product_three_ways(mode) -> None:
    rng = np.random.default_rng(3)
    x, v = T.dvector("x"), T.dvector("v")
    A = rng.normal(size=(4, 4))
    cost = T.sum(T.tanh(T.dot(T.constant(A), x)) ** 2) + T.sum(T.exp(x))
    g = grad(cost, x)
    hv_rop = Rop(g, x, v)
    hv_gg = grad(T.sum(g * v), x)
    hv_lop = Lop(g, x, v)  # the Hessian is symmetric
    H = hessian(cost, x)
    xv, vv = rng.normal(size=4), rng.normal(size=4)
    a, b, c, h = _run([x, v], [hv_rop, hv_gg, hv_lop, H], mode, xv, vv)
    np.testing.assert_allclose(a, h @ vv, rtol=1e-10)
    np.testing.assert_allclose(b, h @ vv, rtol=1e-10)
    np.testing.assert_allclose(c, h @ vv, rtol=1e-10)


def test_rop_matches_jacobian_times_vector(mode) -> None:
    rng = np.random.default_rng(4)
    W, x, v_W, v_x = T.dmatrix("W"), T.dvector("x"), T.dmatrix("vW"), T.dvector("vx")
    y = T.sigmoid(T.dot(W, x))
    r = Rop(y, [W, x], [v_W, v_x])
    Wv, xv, vWv, vxv = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(3, 2)), rng.normal(size=2)
    s = 1 / (1 + np.exp(-(Wv @ xv)))
    ref = s * (1 - s) * (vWv @ xv + Wv @ vxv)
    np.testing.assert_allclose(_run([W, x, v_W, v_x], r, mode, Wv, xv, vWv, vxv), ref, rtol=1e-10)
    with pytest.raises(DisconnectedInputError, match="does not depend"):
        Rop(T.exp(v_x), x, v_x)
    with pytest.raises(ValueError, match="eval_points"):
        Rop(y, [W, x], [v_W])


# -- hypothesis: summing back to any broadcast pattern ------------------------------------------
@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       mask=st.lists(st.booleans(), min_size=3, max_size=3), seed=st.integers(0, 1000))
def test_sum_back_to_random_broadcast_patterns(shape, mask, seed) -> None:
    rng = np.random.default_rng(seed)
    pattern = tuple(mask[:len(shape)])
    b_shape = tuple(1 if p else n for p, n in zip(pattern, shape))
    b = T.TensorType("float64", pattern)("b")
    m = T.TensorType("float64", (False,) * len(shape))("m")
    g = grad(T.sum(T.sin(m * b) * m), b)
    assert g.broadcastable == pattern
    mv, bv = rng.normal(size=shape), rng.normal(size=b_shape)
    f = tensorc.function([m, b], g, mode=tensorc.Mode(optimizer="fast_run", backend="numpy"))
    ref = (np.cos(mv * bv) * mv * mv).sum(axis=tuple(d for d, p in enumerate(pattern) if p),
                                          keepdims=True)
    np.testing.assert_allclose(f(mv, bv), ref, rtol=1e-12)
