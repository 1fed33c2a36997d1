"""The C call path of programs beyond one segment (``csrc/tensorc_caller.c``): shared
variables read, updates written, matrix products and dimshuffle views run in C, with the
same results as the numpy backend, every failure reported by the Python path, and calls
from several threads made one at a time (read, run and update as one unit)."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import loader
from tensorc.backend.c.driver import c_backend_available

from subproc import run_python
from conftest import run_threads

HAS_CALLER = c_backend_available() and loader.using_ext() \
    and hasattr(loader.ext_module().lib, "tc_make_caller")
pytestmark = pytest.mark.skipif(not HAS_CALLER, reason="needs a C compiler and tensorc._ext")
C = tensorc.Mode(optimizer="fast_run", backend="c", name="C")
NP = tensorc.Mode(optimizer="fast_run", backend="numpy", name="NP")


def _train_step(mode, rng, dtype="float64", batch=16):
    """A logistic-regression SGD step with shared weights: matmuls, views, segments."""
    W = tensorc.shared(rng.standard_normal((8, 3)).astype(dtype), name="W")
    b = tensorc.shared(np.zeros(3, dtype), name="b")
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    p = T.nnet.softmax(T.dot(x, W) + b)
    cost = T.nnet.categorical_crossentropy(p, y).mean()
    gW, gb = T.grad(cost, [W, b])
    f = tensorc.function([x, y], [cost, p], updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)],
                         mode=mode)
    return f, W, b


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_training_steps_run_in_c_and_match_numpy(rng, dtype):
    seed = int(rng.integers(1 << 30))
    fc, Wc, bc = _train_step(C, np.random.default_rng(seed), dtype)
    fn, Wn, bn = _train_step(NP, np.random.default_rng(seed), dtype)
    assert fc._c_call is not None and fn._c_call is None
    tol = 1e-5 if dtype == "float32" else 1e-12
    for _ in range(5):
        xv = rng.standard_normal((16, 8)).astype(dtype)
        yv = np.eye(3, dtype=dtype)[rng.integers(0, 3, 16)]
        (cc, pc), (cn, pn) = fc(xv, yv), fn(xv, yv)
        np.testing.assert_allclose(cc, cn, rtol=tol)
        np.testing.assert_allclose(pc, pn, rtol=tol, atol=tol)
        np.testing.assert_allclose(Wc.get_value(), Wn.get_value(), rtol=tol, atol=tol)
        np.testing.assert_allclose(bc.get_value(), bn.get_value(), rtol=tol, atol=tol)


def test_set_value_between_calls_is_seen_in_any_layout(rng):
    W = tensorc.shared(rng.standard_normal((5, 4)), name="W")
    x = T.dmatrix("x")
    f = tensorc.function([x], T.maximum(T.dot(x, W) + 1.0, 0), mode=C)
    assert f._c_call is not None
    xv = rng.standard_normal((3, 5))
    np.testing.assert_allclose(f(xv), np.maximum(xv @ W.get_value() + 1.0, 0))
    W.set_value(np.asfortranarray(rng.standard_normal((5, 4))))  # another layout
    np.testing.assert_allclose(f(xv), np.maximum(xv @ W.get_value() + 1.0, 0))
    W.set_value(rng.standard_normal((5, 7)))  # another shape: the output follows
    assert f(xv).shape == (3, 7)
    np.testing.assert_allclose(f(xv), np.maximum(xv @ W.get_value() + 1.0, 0))


def test_returned_arrays_and_updated_values_are_never_overwritten(rng):
    W = tensorc.shared(rng.standard_normal((6, 6)), name="W")
    x = T.dmatrix("x")
    f = tensorc.function([x], T.dot(x, W), updates=[(W, W * 0.5)], mode=C)
    assert f._c_call is not None
    xv = rng.standard_normal((2, 6))
    w0 = W.get_value()
    r1 = f(xv)
    w1 = W.get_value(borrow=True)
    keep_r1, keep_w1 = r1.copy(), w1.copy()
    r2 = f(xv)
    np.testing.assert_array_equal(r1, keep_r1)
    np.testing.assert_array_equal(w1, keep_w1)
    np.testing.assert_allclose(r1, xv @ w0)
    np.testing.assert_allclose(r2, xv @ (0.5 * w0))
    np.testing.assert_allclose(W.get_value(), 0.25 * w0)


def test_update_only_function_returns_an_empty_list():
    c = tensorc.shared(np.zeros(2), name="c")
    x = T.dvector("x")
    f = tensorc.function([x], [], updates=[(c, c + x)], mode=C)
    assert f._c_call is not None
    assert f(np.ones(2)) == []
    f(np.ones(2))
    np.testing.assert_array_equal(c.get_value(), [2.0, 2.0])


def test_failures_inside_the_program_raise_from_the_python_path(rng):
    W = tensorc.shared(rng.standard_normal((5, 4)), name="W")
    x = T.dmatrix("x")
    f = tensorc.function([x], T.tanh(T.dot(x, W)), updates=[(W, W + 1.0)], mode=C)
    w0 = W.get_value()
    with pytest.raises(ValueError, match=r"dot|shape|align"):
        f(rng.standard_normal((3, 6)))  # inner sizes 6 vs 5
    np.testing.assert_array_equal(W.get_value(), w0)  # no update after a failed call
    w1 = rng.standard_normal((5, 4))
    W.set_value(w1)
    with pytest.raises(TypeError):
        f(np.zeros((2, 2, 2)))
    np.testing.assert_allclose(f(np.ones((1, 5))), np.tanh(np.ones((1, 5)) @ w1))
    np.testing.assert_allclose(W.get_value(), w1 + 1.0)


def test_threads_read_run_and_update_as_one_unit():
    n = 20000  # large enough for the kernels to run without the GIL
    counter = tensorc.shared(np.zeros(n), name="counter")
    x = T.dvector("x")
    f = tensorc.function([x], counter.sum(), updates=[(counter, counter + x)], mode=C)
    assert f._c_call is not None
    one = np.ones(n)

    def work() -> None:
        for _ in range(100):
            f(one)
    run_threads(lambda _k: work())
    np.testing.assert_array_equal(counter.get_value(), np.full(n, 400.0))


def test_garbage_arguments_and_shared_values_never_crash_the_process(tmp_path):
    code = textwrap.dedent("""
        import numpy as np, tensorc, tensorc.tensor as T
        W = tensorc.shared(np.ones((4, 3)), name="W")
        x = T.dmatrix("x")
        f = tensorc.function([x], T.tanh(T.dot(x, W)).sum(), updates=[(W, W * 0.5)],
                             mode=tensorc.Mode(backend="c"))
        assert f._c_call is not None
        bad_args = [None, object(), "abc", np.zeros(4), np.zeros((2, 5)), np.zeros((2, 4), dtype=object)]
        bad_values = [None, "abc", np.zeros(3), np.zeros((4, 3), dtype=object), np.zeros((4, 3, 1)),
                      np.zeros((5, 3)), np.ones((4, 3), dtype=np.float32)]
        raised = 0
        for b in bad_args:
            try:
                f(b)
            except (TypeError, ValueError):
                raised += 1
        for v in bad_values:
            W.container.value = v  # bypassing set_value's checks
            try:
                f(np.ones((2, 4)))
            except (TypeError, ValueError, AttributeError):
                raised += 1
        W.set_value(np.ones((4, 3)))
        print("raised", raised)
        print(round(float(f(np.ones((2, 4)))), 6), float(W.get_value()[0, 0]))
    """)
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert int(lines[0].split()[1]) >= 10, done.stdout
    assert lines[1] == f"{round(float(6 * np.tanh(4.0)), 6)} 0.5"


def test_programs_without_the_extension_run_in_cffi_abi_mode(tmp_path):
    code = textwrap.dedent("""
        import sys
        sys.modules["tensorc._ext"] = None  # the extension cannot be imported
        import numpy as np, tensorc, tensorc.tensor as T
        from tensorc.backend.c import loader
        assert loader.ext_module() is None
        W = tensorc.shared(np.ones((3, 2)), name="W")
        x = T.dmatrix("x")
        f = tensorc.function([x], T.tanh(T.dot(x, W)) + 1, updates=[(W, W * 2)],
                             mode=tensorc.Mode(backend="c"))
        g = tensorc.function([x], T.dot(x, W), mode=tensorc.Mode(backend="c"))
        assert f._c_call is None and g._c_call is None
        print(round(float(f(np.ones((2, 3)))[0, 0]), 6), g(np.ones((1, 3))).tolist())
    """)
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(round(float(np.tanh(3.0) + 1), 6)), "[[6.0,", "6.0]]"]
