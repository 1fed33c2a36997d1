"""The C backend: lowering, generated kernels against numpy, buffers, errors, fallbacks."""
from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import cache, compiler
from tensorc.backend.c.driver import build_c_runner, c_backend_available, evaluate_node
from tensorc.backend.c.errors import CompileError
from tensorc.config import config
from tensorc.graph.fgraph import FunctionGraph
from tensorc.lower import KernelStep, NumpyStep, lower
from subproc import run_python

pytestmark = pytest.mark.skipif(not c_backend_available(), reason="no working C compiler")
C = tensorc.Mode(optimizer="fast_run", backend="c", name="C")
PY = tensorc.Mode(optimizer="fast_run", backend="numpy", name="PY")


def both(inputs, outputs, *args):
    f_c = tensorc.function(inputs, outputs, mode=C)
    f_p = tensorc.function(inputs, outputs, mode=PY)
    assert f_c.backend == "c"
    return f_c(*args), f_p(*args), f_c


def assert_same(a, b, rtol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
    if a.dtype.kind in "fc":
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b)


# -- lowering ---------------------------------------------------------------------------
def test_lower_program_is_printable_and_typed():
    x, y = T.dmatrix("x"), T.dvector("y")
    prog = lower(FunctionGraph([x, y], [T.exp(x).sum(axis=1) + y, x.T]))
    kinds = {type(s) for s in prog.steps}
    assert kinds == {KernelStep, NumpyStep}
    text = str(prog)
    assert "C k" in text and "numpy DimShuffle" in text and "return" in text
    assert "int k0(const tc_arg *args)" in prog.c_source()


# -- integer semantics and dtypes ---------------------------------------------------------
INT_CASES = [
    ("floordiv", lambda a, b: a // b, np.floor_divide),
    ("mod", lambda a, b: a % b, np.remainder),
    ("pow", lambda a, b: a ** abs(b), lambda a, b: np.power(a, np.abs(b))),
    ("maximum", T.maximum, np.maximum),
    ("bitand", T.and_, np.bitwise_and),
]


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint16"])
@pytest.mark.parametrize("name,sym,ref", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_integer_ops_follow_python_rules(dtype, name, sym, ref, rng):
    a = T.vector("a", dtype=dtype)
    b = T.vector("b", dtype=dtype)
    lo = np.iinfo(dtype).min if np.iinfo(dtype).min < 0 else 0
    av = rng.integers(max(lo, -100), 100, size=64).astype(dtype)
    bv = rng.integers(max(lo, -7), 8, size=64).astype(dtype)
    bv[:4] = 0
    got, want, _ = both([a, b], sym(a, b), av, bv)
    with np.errstate(all="ignore"):
        assert_same(got, want)
        if name != "pow":
            assert_same(got, ref(av, bv).astype(got.dtype))


@pytest.mark.parametrize("src,dst", [("float64", "bool"), ("float64", "int32"), ("int64", "float32"),
                                     ("bool", "float64"), ("int8", "complex128"),
                                     ("float32", "uint8")])
def test_casts(src, dst):
    x = T.vector("x", dtype=src)
    vals = np.array([0, 0.5, -0.0, 1, 2.75, 3, 100], dtype="float64")
    got, want, _ = both([x], T.cast(x, dst), vals.astype(src))
    assert_same(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
def test_float_and_complex_math(dtype, rng):
    x = T.vector("x", dtype=dtype)
    v = (rng.standard_normal(33) + (1j * rng.standard_normal(33) if "complex" in dtype else 0)).astype(dtype)
    got, want, _ = both([x], T.exp(x) * 2 + x * x - 1, v)
    assert_same(got, want, rtol=1e-5 if dtype in ("float32", "complex64") else 1e-12)


def test_bool_logic():
    a, b = T.bvector("a") > 0, T.bvector("b") > 0
    x = T.bvector("x")
    y = T.bvector("y")
    av = np.array([0, 1, -1, 5], "int8")
    bv = np.array([1, 1, 0, -3], "int8")
    got, want, _ = both([x, y], [T.and_(x > 0, y > 0), T.or_(x > 0, y < 0), T.invert(x > 0)], av, bv)
    for g, w in zip(got, want):
        assert_same(g, w)
    del a, b


# -- layouts ---------------------------------------------------------------------------------
LAYOUTS = {
    "contiguous": lambda a: a,
    "transposed": lambda a: a.T.copy().T,
    "reversed": lambda a: a[::-1, ::-1],
    "strided": lambda a: np.repeat(np.repeat(a, 2, 0), 3, 1)[::2, ::3],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("threshold", [1, 32768])
def test_strided_and_broadcast_layouts(layout, threshold, rng, monkeypatch):
    monkeypatch.setattr(config, "omp_threshold", threshold)
    x, r, c = T.dmatrix("x"), T.drow("r"), T.dcol("c")
    xv = LAYOUTS[layout](rng.standard_normal((7, 5)))
    rv, cv = rng.standard_normal((1, 5)), rng.standard_normal((7, 1))
    got, want, _ = both([x, r, c], T.tanh(x) * r + c, xv, rv, cv)
    assert_same(got, want, rtol=1e-14)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (1, 1)])
def test_zero_size_and_unit(shape):
    x = T.dmatrix("x") if len(shape) == 2 else T.dvector("x")
    v = np.ones(shape)
    got, want, _ = both([x], [x * 2 + 1, x.sum(axis=0)], v)
    for g, w in zip(got, want):
        assert_same(g, w)


# -- reductions and rows ---------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, 1, 2, (0, 2), (1, 2)])
def test_reductions(axis, rng):
    x = T.dtensor3("x")
    v = rng.standard_normal((4, 5, 6))
    one = axis[0] if isinstance(axis, tuple) else axis
    outs = [T.sum(x, axis=axis), T.prod(x, axis=axis), T.max(x, axis=axis), T.min(x, axis=axis),
            T.mean(x, axis=axis), T.argmax(x, axis=one), T.any(x > 1, axis=axis),
            T.sum(x, axis=axis, keepdims=True)]
    got, want, _ = both([x], outs, v.transpose(2, 0, 1).copy().transpose(1, 2, 0))
    for g, w in zip(got, want):
        assert_same(g, w)


def test_float32_sum_is_accurate(rng):
    x = T.fvector("x")
    v = (rng.random(1_000_003) + 1e4).astype("float32")
    f = tensorc.function([x], T.sum(x), mode=C)
    exact = np.sum(v.astype("float64"))
    assert abs(float(f(v)) - exact) <= abs(float(np.sum(v)) - exact) + 1e-3 * abs(exact) * 1e-7


def test_float64_sum_pairwise(rng):
    x = T.dvector("x")
    v = rng.random(3_000_001)
    f = tensorc.function([x], T.sum(x), mode=C)
    import math
    exact = math.fsum(v)
    assert abs(float(f(v)) - exact) <= max(abs(float(np.sum(v)) - exact), 1e-16 * exact) * 4


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_rows(dtype, which, rng):
    x = T.matrix("x", dtype=dtype)
    v = (rng.standard_normal((9, 13)) * 5).astype(dtype)
    fn = T.nnet.softmax if which == "softmax" else T.nnet.logsoftmax
    got, want, f = both([x], fn(x), v)
    assert any(isinstance(s, KernelStep) for s in f._runner.program.steps)
    assert_same(got, want, rtol=1e-5 if dtype == "float32" else 1e-12)


# -- buffers ---------------------------------------------------------------------------------
def test_returned_arrays_are_never_overwritten():
    x = T.dvector("x")
    f = tensorc.function([x], T.exp(x) + 1, mode=C)
    a = f(np.zeros(4))
    b = f(np.ones(4))
    np.testing.assert_array_equal(a, np.full(4, 2.0))
    assert not np.shares_memory(a, b)


def test_dropped_output_buffer_is_recycled():
    x = T.dvector("x")
    f = tensorc.function([x], T.exp(x) + 1, mode=C)
    addr = f(np.zeros(1000)).ctypes.data
    assert f(np.zeros(1000)).ctypes.data == addr  # previous result dropped: its buffer comes back
    kept = f(np.zeros(1000))
    assert f(np.ones(1000)).ctypes.data != kept.ctypes.data


def test_views_of_outputs_keep_buffers_alive():
    x = T.dmatrix("x")
    f = tensorc.function([x], (x * 2).T, mode=C)
    view = f(np.ones((2, 3)))
    f(np.zeros((2, 3)))
    np.testing.assert_array_equal(view, np.full((3, 2), 2.0))


def test_inputs_are_not_modified(rng):
    x = T.dvector("x")
    v = rng.standard_normal(10)
    keep = v.copy()
    f = tensorc.function([x], [x * 2, T.exp(x) - x], mode=C)
    f(v)
    np.testing.assert_array_equal(v, keep)


# -- errors ------------------------------------------------------------------------------------
def test_shape_mismatch_names_shapes():
    x, y = T.dvector("x"), T.dvector("y")
    f = tensorc.function([x, y], x + y, mode=C)
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        f(np.ones(3), np.ones(4))


def test_trust_input_wrong_dtype_raises_not_crashes():
    x = T.dvector("x")
    f = tensorc.function([x], x * 2, mode=C, trust_input=True)
    with pytest.raises(ValueError, match="dtype"):
        f(np.ones(3, dtype="float32"))
    with pytest.raises(ValueError, match="dimensions"):
        f(np.ones((3, 1)))


def test_trust_input_wrong_dtype_names_the_function_input():
    """The error names the function's input (not the kernel segment's operand number)
    with both dtypes and the shape."""
    y, x = T.dvector("y"), T.dmatrix("x")
    f = tensorc.function([y, x], [T.exp(x) * 2, y.sum()], mode=C, trust_input=True)
    with pytest.raises(ValueError, match=r"input 1 \(x\).*float32.*float64|input 1 \(x\).*float64.*float32") as e:
        f(np.ones(3), np.ones((3, 4), dtype="float32"))
    assert "(3, 4)" in str(e.value)
    with pytest.raises(ValueError, match=r"input 0 \(y\).*int64"):
        f(np.ones(3, dtype="int64"), np.ones((3, 4)))


def test_empty_max_raises_like_numpy():
    x = T.dmatrix("x")
    f = tensorc.function([x], T.max(x, axis=0), mode=C)
    with pytest.raises(ValueError, match=r"empty.*\(0, 3\)"):
        f(np.zeros((0, 3)))


# -- debug, DebugMode, compile failures ----------------------------------------------------------
def test_debug2_prints_source_and_cache_path(capsys, monkeypatch):
    monkeypatch.setattr(config, "debug", 2)
    x = T.dvector("x")
    tensorc.function([x], T.sin(x) * 3, mode=C)
    err = capsys.readouterr().err
    assert "int k" in err and ".so" in err and config.cache_dir in err


def test_evaluate_node_matches_perform(rng):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    node = (T.exp(x) + y).owner
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    (got,) = evaluate_node(node, [a, b])  # the node is the add: its inputs are exp(x), y
    assert_same(got, a + b)
    f = tensorc.function([x, y], T.exp(x) + y, mode="DebugMode")
    assert_same(f(a, b), np.exp(a) + b)


def test_second_function_of_same_graph_compiles_nothing():
    x = T.dvector("x")
    tensorc.function([x], T.cos(x) * 7 - 1, mode=C)
    f2 = tensorc.function([x], T.cos(x) * 7 - 1, mode=C)
    src = f2._runner.program.c_source()
    assert any(k[-1] == src for k in cache._MEMO)


@pytest.fixture
def broken_compiler(monkeypatch):
    monkeypatch.setattr(config, "cflags", "-fno-such-flag-tensorc")
    compiler.clear_caches()
    cache.clear_memo()
    yield
    compiler.clear_caches()


def test_compile_failure_forced_c_raises(broken_compiler, monkeypatch):
    monkeypatch.setattr(config, "backend", "c")
    x = T.dvector("x")
    with pytest.raises(CompileError, match="no-such-flag") as info:
        build_c_runner(FunctionGraph([x], [x + 41]))
    assert info.value.source_path and info.value.source_path.endswith(".c")


def test_compile_failure_auto_falls_back_to_numpy(broken_compiler, monkeypatch):
    monkeypatch.setattr(config, "backend", "auto")
    x = T.dvector("x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = build_c_runner(FunctionGraph([x], [x + 42]))
    assert len([w for w in caught if "numpy backend" in str(w.message)]) == 1
    np.testing.assert_array_equal(run([np.ones(2)])[0], np.full(2, 43.0))


def test_missing_compiler_auto_warns_once_and_runs_on_numpy(monkeypatch, tmp_path):
    """No compiler with ``backend='auto'``: one warning naming what is missing, then every
    function runs on the numpy backend with the same results."""
    from tensorc.backend.c import driver
    monkeypatch.setattr(config, "cxx", "/nonexistent/tensorc-cc")
    monkeypatch.setattr(config, "backend", "auto")
    monkeypatch.setattr(config, "cache_dir", str(tmp_path / "cache"))
    compiler.clear_caches()
    driver._available.cache_clear()
    x = T.dvector("x")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            f = tensorc.function([x], T.exp(x) + 1)
            g = tensorc.function([x], T.cos(x) * 2)
    finally:
        compiler.clear_caches()
        driver._available.cache_clear()
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1, msgs
    assert "no C compiler found" in msgs[0] and "/nonexistent/tensorc-cc" in msgs[0]
    assert "numpy backend" in msgs[0]
    assert (f.backend, g.backend) == ("numpy", "numpy")
    v = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(f(v), np.exp(v) + 1)
    np.testing.assert_allclose(g(v), np.cos(v) * 2)


# -- compile units -------------------------------------------------------------------------
def test_identical_nodes_share_one_kernel(rng):
    x, y = T.dvector("x"), T.dvector("y")
    prog = lower(FunctionGraph([x, y], [T.tanh(x), T.tanh(y)]))
    assert [s.name for s in prog.kernel_steps] == ["k0", "k0"]
    assert len(prog.unique_kernels()) == 1 and prog.c_source().count("int k0(") == 1
    f = tensorc.function([x, y], [T.tanh(x), T.tanh(y)], mode=C)
    a, b = rng.standard_normal(5), rng.standard_normal(7)
    got = f(a, b)
    np.testing.assert_allclose(got[0], np.tanh(a)) and np.testing.assert_allclose(got[1], np.tanh(b))


def test_many_kernels_compile_in_several_libraries(rng):
    from tensorc.backend.c.driver import _cores
    ops = [(T.exp, np.exp), (T.tanh, np.tanh), (T.log1p, np.log1p), (T.sin, np.sin),
           (T.cos, np.cos), (T.expm1, np.expm1), (T.arctan, np.arctan), (T.sinh, np.sinh),
           (T.cosh, np.cosh)]  # distinct kernels: identical ones are compiled once
    xs = [T.TensorType("float64", (False,) * (k % 3 + 1))(f"x{k}") for k in range(9)]
    outs = [op(x) * (k + 1) - T.exp(-x) * T.sqrt(x) for k, ((op, _), x) in enumerate(zip(ops, xs))]
    f = tensorc.function(xs, outs, mode=C)
    assert len(f._runner.libs.libs) == min(2, _cores())
    vals = [np.abs(rng.standard_normal((2,) * (k % 3 + 1))) for k in range(9)]
    for k, (got, v) in enumerate(zip(f(*vals), vals)):
        np.testing.assert_allclose(got, ops[k][1](v) * (k + 1) - np.exp(-v) * np.sqrt(v), rtol=1e-13)


# -- buffer recycling across calls -----------------------------------------------------------
def test_shared_updates_alternate_buffers_without_overwriting_held_values(rng):
    x = T.dmatrix("x")
    W = tensorc.shared(rng.standard_normal((6, 4)), name="W")
    h = T.tanh(T.dot(x, W))
    f = tensorc.function([x], T.dot(h, W.T), updates=[(W, W - 0.1 * T.dot(x.T, h))], mode=C)
    xv = rng.standard_normal((5, 6))
    w_ref = W.get_value()
    held, held_copies, outs = [], [], []
    for _ in range(5):
        w_before = W.get_value(borrow=True)
        held.append(w_before)
        held_copies.append(w_before.copy())
        out = f(xv)
        hv = np.tanh(xv @ w_ref)
        np.testing.assert_allclose(out, hv @ w_ref.T, rtol=1e-12)
        w_ref = w_ref - 0.1 * xv.T @ hv
        np.testing.assert_allclose(W.get_value(), w_ref, rtol=1e-12)
        outs.append((out, out.copy()))
    for a, copy in zip(held, held_copies):  # values the caller still holds were never reused
        np.testing.assert_array_equal(a, copy)
    for a, copy in outs:
        np.testing.assert_array_equal(a, copy)


@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("float64", "float32"), ("int64", "float64")])
def test_dot_steps_match_numpy_for_mixed_dtypes(dtypes, rng):
    a, b = T.matrix("a", dtype=dtypes[0]), T.matrix("b", dtype=dtypes[1])
    f = tensorc.function([a, b], T.dot(a, b) + 1, mode=C)
    av = (rng.standard_normal((3, 4)) * 3).astype(dtypes[0])
    bv = rng.standard_normal((4, 2)).astype(dtypes[1])
    for _ in range(3):
        got = f(av, bv)
        want = np.dot(av, bv) + 1
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 2\)|shape"):
        f(av, bv[:3])


DIMSHUFFLES = [((False, False), (1, 0)), ((False, True), (0,)), ((True, False), ("x", 1, "x")),
               ((False,), ("x", 0)), ((True, True, False), (2, "x")), ((True,), ()),
               ((False, False, False), (2, 0, "x", 1))]


@pytest.mark.parametrize("bcast,order", DIMSHUFFLES, ids=[str(o) for _, o in DIMSHUFFLES])
def test_dimshuffle_views_match_perform(bcast, order, rng):
    x = T.TensorType("float64", bcast)("x")
    d = x.dimshuffle(*order)
    f = tensorc.function([x], [d, T.exp(d)], mode=C)
    shape = tuple(1 if b else n for b, n in zip(bcast, (3, 4, 5)))
    v = rng.standard_normal(shape)
    want = d.owner.op.perform(d.owner, [v])[0]
    got, e = f(v)
    assert type(got) is np.ndarray and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(e, np.exp(want))


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_scalar_runner_recycles_and_never_overwrites(dtype):
    x, y = T.scalar("x", dtype=dtype), T.scalar("y", dtype=dtype)
    f = tensorc.function([x, y], T.maximum(x, y), mode=C)
    a, b = np.asarray(1, dtype), np.asarray(0, dtype)
    first = f(a, b)
    second = f(b, b)
    assert type(first) is np.ndarray and first.dtype == dtype and first.shape == ()
    assert first == np.maximum(a, b) and second == b  # the held result was not reused
    with pytest.raises(ValueError, match=r"wrong number of dimensions.*\(3,\)"):
        f._runner([np.ones(3, dtype), b])


REDUCE_LAYOUTS = [("contiguous", lambda v: v), ("transposed", lambda v: np.asfortranarray(v)),
                  ("strided", lambda v: np.repeat(v, 2, axis=1)[:, ::2])]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout,make", REDUCE_LAYOUTS, ids=[n for n, _ in REDUCE_LAYOUTS])
def test_fused_row_sums_any_inner_stride(dtype, layout, make, rng):
    x, r = T.matrix("x", dtype=dtype), T.row("r", dtype=dtype)
    f = tensorc.function([x, r], [T.sum(T.exp(x - r), axis=1), T.sum(x * x, axis=0)], mode=C)
    xv = make(rng.standard_normal((37, 2100)).astype(dtype))
    rv = rng.standard_normal((1, 2100)).astype(dtype)
    x64, r64 = xv.astype(float), rv.astype(float)
    tol = 1e-5 if dtype == "float32" else 1e-12
    got_rows, got_cols = f(xv, rv)
    np.testing.assert_allclose(got_rows, np.exp(x64 - r64).sum(1), rtol=tol)
    np.testing.assert_allclose(got_cols, (x64 * x64).sum(0), rtol=tol)


def test_full_sum_with_partially_broadcast_input():
    """A (1, 2, 1) input plus a (1, 1, 1) one broadcast only along dims 1 and 2 is not one
    flat array: the full reduction must not read it as one (it used to)."""
    x0 = T.TensorType("float64", (False, False, True))("x0")
    x1 = T.TensorType("float64", (False, True, True))("x1")
    f = tensorc.function([x0, x1], T.sum(x0 + x1 * 2), mode=C)
    a = np.array([1.0, 2.0]).reshape(1, 2, 1)
    assert f(a, np.ones((1, 1, 1))) == 7.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_row_max_min_propagate_nan_and_infinities(dtype, rng):
    x = T.matrix("x", dtype=dtype)
    f = tensorc.function([x], [T.max(x, axis=1), T.min(x, axis=1), T.max(x, axis=0)], mode=C)
    v = rng.standard_normal((9, 70)).astype(dtype)
    v[3, 7], v[5, :], v[6, 4], v[7, 69] = np.nan, -np.inf, np.inf, np.nan
    for got, want in zip(f(v), [v.max(1), v.min(1), v.max(0)]):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(f(np.asfortranarray(v)), [v.max(1), v.min(1), v.max(0)]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_rows_with_nan_and_infinities(dtype, rng):
    x = T.matrix("x", dtype=dtype)
    f = tensorc.function([x], T.nnet.softmax(x), mode=C)
    v = rng.standard_normal((6, 40)).astype(dtype)
    v[1, 5], v[2, :], v[3, 7] = np.nan, -np.inf, np.inf
    with np.errstate(all="ignore"):
        e = np.exp(v - v.max(1, keepdims=True))
        want = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(f(v), want, rtol=1e-5, equal_nan=True)


# -- kernel errors from the loop body ----------------------------------------------------------
#: Run in a child process (a crash there fails the test, not the session): ``x ** y`` on
#: int64 operands, with one negative exponent at the start, middle or end, contiguous,
#: transposed and reversed (through the driver's copy buffer), alone and fused; every loop
#: goes to the pool in chunks of any size.  Each failing call must raise numpy's ValueError,
#: leave an earlier result untouched, and the next valid call must give numpy's result.
NEGATIVE_POWER_CHILD = """
import sys
{prelude}
import numpy as np, tensorc, tensorc.tensor as T
from tensorc.backend.c import loader
from tensorc.config import config
config.omp_threshold = 2
ext = loader.ext_module()
if ext is not None:
    ext.lib.tc_pool_set_grain(1)
jobs = ext.lib.tc_pool_jobs() if ext is not None else 0
C = tensorc.Mode(optimizer="fast_run", backend="c")
x, y = T.lmatrix("x"), T.lmatrix("y")
fns = [(tensorc.function([x, y], x ** y, mode=C), lambda a, b: a ** b),
       (tensorc.function([x, y], (x ** y) * 3 + x, mode=C), lambda a, b: (a ** b) * 3 + a)]
base = np.arange(600 * 400).reshape(600, 400) % 7 - 3
exp = np.arange(600 * 400).reshape(600, 400) % 5
layouts = [lambda a: a, lambda a: a.T.copy().T, lambda a: a[::-1]]
raised = 0
for f, ref in fns:
    for lay in layouts:
        kept = f(lay(base), lay(exp))
        want = ref(lay(base), lay(exp))
        assert (kept == want).all()
        for pos in [(0, 0), (300, 200), (599, 399)]:
            bad = exp.copy()
            bad[pos] = -1
            try:
                f(lay(base), lay(bad))
            except ValueError as err:
                assert "Integers to negative integer powers are not allowed" in str(err), err
                raised += 1
            assert (kept == want).all(), "an earlier result was overwritten"
            assert (f(lay(base), lay(exp)) == want).all()
pooled = ext is not None and ext.lib.tc_pool_threads() > 1
print(raised, int(not pooled or ext.lib.tc_pool_jobs() > jobs))
"""
NEGATIVE_POWER_PRELUDES = {
    "extension-driver": "",
    "library-driver": "from tensorc.backend.c import ewdriver\newdriver.driver_shared = lambda: False",
    "no-extension": 'sys.modules["tensorc._ext"] = None',
}


@pytest.mark.parametrize("form", NEGATIVE_POWER_PRELUDES)
def test_negative_integer_power_raises_from_any_chunk(form, tmp_path):
    """The elementwise body's error reaches the caller from the pool's chunks, the copy
    buffer of strided operands, the driver compiled into the library and cffi's ABI mode."""
    code = textwrap.dedent(NEGATIVE_POWER_CHILD).format(prelude=NEGATIVE_POWER_PRELUDES[form])
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["18", "1"], done.stdout
