"""Semantics of ``tensorc.function`` on every backend (through the ``mode`` fixture):
outputs, updates, givens, shared values and borrow, In/Out, copy, pickling, and the
errors a caller can act on."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tensorc
import tensorc.tensor as T
from tensorc import In, Out
from subproc import PACKAGE_PARENT


# -- outputs ------------------------------------------------------------------------------
def test_single_output_returns_array_list_returns_list(mode):
    x, y = T.dvector("x"), T.dvector("y")
    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    single = tensorc.function([x, y], x * y, mode=mode)
    pair = tensorc.function([x, y], [x + y, x - y], mode=mode)
    np.testing.assert_array_equal(single(a, b), a * b)
    res = pair(a, b)
    assert isinstance(res, list) and len(res) == 2
    np.testing.assert_array_equal(res[0], a + b)
    np.testing.assert_array_equal(res[1], a - b)


def test_identity_output_is_a_copy_of_the_input(mode):
    x = T.dvector("x")
    f = tensorc.function([x], x, mode=mode)
    a = np.arange(3.0)
    r = f(a)
    np.testing.assert_array_equal(r, a)
    assert not np.shares_memory(r, a)


def test_output_listed_twice_gives_independent_arrays(mode):
    x = T.dvector("x")
    y = x * 2
    r1, r2 = tensorc.function([x], [y, y], mode=mode)(np.ones(3))
    r1[0] = 100.0
    np.testing.assert_array_equal(r2, [2.0, 2.0, 2.0])


def test_returned_arrays_are_not_overwritten_by_later_calls(mode):
    x = T.dvector("x")
    f = tensorc.function([x], T.exp(x) + 1, mode=mode)
    first = f(np.zeros(4))
    f(np.ones(4))
    np.testing.assert_array_equal(first, np.full(4, 2.0))


def test_inputs_are_never_modified(mode):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = tensorc.function([x, y], [x * 2 + y, T.exp(x) - y, x.T], mode=mode)
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    a0, b0 = a.copy(), b.copy()
    f(a, b)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.data())
def test_broadcasting_matches_numpy(backend, shape, data):
    bcast = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    shape_b = [1 if b else n for b, n in zip(bcast, shape)]
    x = T.TensorType("float64", (False,) * len(shape))("x")
    y = T.TensorType("float64", bcast)("y")
    f = tensorc.function([x, y], x * y + x, mode=tensorc.Mode(backend=backend))
    a = np.arange(float(np.prod(shape))).reshape(shape) + 1
    b = np.full(shape_b, 3.0)
    np.testing.assert_allclose(f(a, b), a * b + a)


# -- updates ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["list", "tuple", "dict", "OrderedDict"])
def test_updates_are_applied_after_all_outputs_swap(mode, kind):
    a = tensorc.shared(np.array([1.0, 2.0]), name="a")
    b = tensorc.shared(np.array([10.0, 20.0]), name="b")
    pairs = [(a, b), (b, a)]
    updates = {"list": pairs, "tuple": tuple(pairs), "dict": dict(pairs),
               "OrderedDict": OrderedDict(pairs)}[kind]
    f = tensorc.function([], [a + b], updates=updates, mode=mode)
    out = f()
    np.testing.assert_array_equal(out[0], [11.0, 22.0])
    np.testing.assert_array_equal(a.get_value(), [10.0, 20.0])
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0])


def test_output_of_an_updated_shared_variable_is_its_old_value(mode):
    s = tensorc.shared(np.zeros(2), name="s")
    x = T.dvector("x")
    f = tensorc.function([x], s, updates=[(s, s + x)], mode=mode)
    first = f(np.ones(2))
    second = f(np.ones(2))
    np.testing.assert_array_equal(first, [0.0, 0.0])
    np.testing.assert_array_equal(second, [1.0, 1.0])
    np.testing.assert_array_equal(s.get_value(), [2.0, 2.0])


def test_output_equal_to_an_update_is_not_the_new_shared_value(mode):
    s = tensorc.shared(np.ones(2), name="s")
    new = s * 3
    f = tensorc.function([], new, updates=[(s, new)], mode=mode)
    r = f()
    r[0] = -1.0
    np.testing.assert_array_equal(s.get_value(), [3.0, 3.0])


def test_positional_order_is_inputs_outputs_mode_updates_givens(mode):
    s = tensorc.shared(1.0, name="s")
    x, y = T.dscalar("x"), T.dscalar("y")
    f = tensorc.function([x], x + y + s, mode, [(s, s + 1)], {y: x * 10})
    assert float(f(2.0)) == 23.0
    assert float(s.get_value()) == 2.0


def test_update_with_a_lossy_dtype_is_rejected():
    s = tensorc.shared(np.zeros(2, dtype="float32"), name="s32")
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"s32.*float64.*float32"):
        tensorc.function([x], [], updates=[(s, x)])


def test_update_with_a_wrong_ndim_is_rejected():
    s = tensorc.shared(np.zeros(2), name="sv")
    with pytest.raises(TypeError, match=r"sv.*0 dimensions, expected 1"):
        tensorc.function([], [], updates=[(s, T.dscalar("z"))])


# -- givens -------------------------------------------------------------------------------
def test_givens_replace_a_variable(mode):
    x, y = T.dscalar("x"), T.dscalar("y")
    f = tensorc.function([x], x * y, givens={y: x + 1}, mode=mode)
    assert float(f(3.0)) == 12.0


def test_givens_slice_a_shared_dataset_by_index(mode):
    data = np.arange(20.0).reshape(10, 2)
    dataset = tensorc.shared(data, name="data")
    index = T.lscalar("index")
    xb = T.dmatrix("xb")
    bs = 4
    f = tensorc.function([index], xb.sum(axis=0), mode=mode,
                         givens={xb: dataset[index * bs:(index + 1) * bs]})
    for i in range(3):
        np.testing.assert_allclose(f(i), data[i * bs:(i + 1) * bs].sum(axis=0))


def test_givens_with_a_different_dtype_need_rebuild_strict_false():
    x = T.dvector("x")
    y = T.fvector("y")
    with pytest.raises(TypeError, match=r"givens.*x.*float64.*y.*float32"):
        tensorc.function([y], T.exp(x), givens={x: y})
    f = tensorc.function([y], T.exp(x), givens={x: y}, rebuild_strict=False)
    r = f(np.ones(2, dtype="float32"))
    assert r.dtype == np.float32


# -- shared variables ---------------------------------------------------------------------
def test_shared_get_set_value_borrow_semantics():
    v = np.arange(3.0)
    s = tensorc.shared(v)
    v[0] = 99.0
    assert s.get_value()[0] == 0.0  # copied at creation
    s.get_value()[1] = 99.0
    assert s.get_value()[1] == 1.0  # get_value returns a copy
    s.get_value(borrow=True)[2] = 7.0
    assert s.get_value()[2] == 7.0  # borrow gives the internal array
    w = np.zeros(3)
    s.set_value(w)
    w[0] = 5.0
    assert s.get_value()[0] == 0.0
    s.set_value(w, borrow=True)
    w[1] = 6.0
    assert s.get_value()[1] == 6.0
    b = tensorc.shared(w, borrow=True)
    assert b.get_value(borrow=True) is w


@pytest.mark.parametrize("borrow", [False, True])
def test_shared_zero(borrow):
    arr = np.array([np.nan, np.inf, 2.0])
    s = tensorc.shared(arr, borrow=True)
    s.zero(borrow=borrow)
    np.testing.assert_array_equal(s.get_value(), [0.0, 0.0, 0.0])
    assert (s.get_value(borrow=True) is arr) == borrow


def test_shared_set_value_checks_the_type():
    s = tensorc.shared(np.zeros((2, 2)), name="W")
    with pytest.raises(TypeError, match=r"W.*expected 2.*got 1 with shape \(3,\)"):
        s.set_value(np.zeros(3))


def test_functions_see_set_value(mode):
    s = tensorc.shared(np.ones(2), name="s")
    f = tensorc.function([], s * 2, mode=mode)
    s.set_value(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(f(), [6.0, 8.0])


# -- In / Out -----------------------------------------------------------------------------
def test_in_defaults_names_and_keywords(mode):
    x, y, z = T.dscalar("x"), T.dscalar("y"), T.dscalar("z")
    f = tensorc.function([x, In(y, value=1.0), In(z, value=2.0, name="zed")], x + y * z, mode=mode)
    assert float(f(1.0)) == 3.0
    assert float(f(1.0, 3.0)) == 7.0
    assert float(f(1.0, zed=10.0)) == 11.0
    assert float(f(x=1.0, y=0.0)) == 1.0
    f["zed"] = 5.0
    assert float(f(1.0)) == 6.0


def test_old_style_default_tuple(mode):
    x, y = T.dscalar("x"), T.dscalar("y")
    f = tensorc.function([x, (y, 4.0)], x * y, mode=mode)
    assert float(f(2.0)) == 8.0


def test_in_mutable_allows_but_never_requires_overwriting(mode):
    x = T.dvector("x")
    f = tensorc.function([In(x, mutable=True)], x * 2 + 1, mode=mode)
    a = np.arange(3.0)
    np.testing.assert_array_equal(f(a.copy()), np.arange(3.0) * 2 + 1)
    g = tensorc.function([In(x, mutable=False)], x * 2 + 1, mode=mode)
    g(a)
    np.testing.assert_array_equal(a, np.arange(3.0))


def test_out_borrow_returns_correct_values(mode):
    x = T.dvector("x")
    f = tensorc.function([x], Out(x * 2, borrow=True), mode=mode)
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])


# -- eval, copy, trust_input, fgraph -------------------------------------------------------
def test_var_eval():
    x, y = T.dscalar("x"), T.dscalar("y")
    assert float((x * y).eval({x: 2.0, y: 4.0})) == 8.0
    assert float((x * 2).eval({x: 5.0})) == 10.0


def test_copy_share_memory_and_swap(mode):
    s = tensorc.shared(0.0, name="count")
    x = T.dscalar("x")
    f = tensorc.function([x], s, updates=[(s, s + x)], mode=mode)
    f(1.0)
    g = f.copy()  # own copy of the state
    g(10.0)
    assert float(s.get_value()) == 1.0
    h = f.copy(share_memory=True)
    h(5.0)
    assert float(s.get_value()) == 6.0
    other = tensorc.shared(100.0, name="other")
    k = f.copy(swap={s: other})
    assert float(k(1.0)) == 100.0
    assert float(other.get_value()) == 101.0 and float(s.get_value()) == 6.0
    d = f.copy(share_memory=True, delete_updates=True)
    assert float(d(1.0)) == 6.0 and float(s.get_value()) == 6.0


def test_copy_keeps_changed_defaults(mode):
    x, y = T.dscalar("x"), T.dscalar("y")
    f = tensorc.function([x, In(y, value=1.0)], x * y, mode=mode)
    f["y"] = 3.0
    g = f.copy()
    assert float(g(2.0)) == 6.0
    g["y"] = 4.0
    assert float(f(2.0)) == 6.0 and float(g(2.0)) == 8.0


def test_get_shared_lists_read_and_updated_shared_variables():
    a, b = tensorc.shared(1.0, name="a"), tensorc.shared(2.0, name="b")
    f = tensorc.function([], a * 2, updates=[(b, b + 1)])
    assert f.get_shared() == [a, b]
    f.sync_shared()


def test_copy_swap_rejects_a_different_type():
    s = tensorc.shared(np.zeros(2), name="s")
    f = tensorc.function([], s * 1)
    with pytest.raises(TypeError, match=r"swap.*differ in type"):
        f.copy(swap={s: tensorc.shared(np.zeros((2, 2)), name="m")})


def test_trust_input_skips_conversion(mode):
    x = T.dvector("x")
    f = tensorc.function([x], x + 1, mode=mode, trust_input=True)
    np.testing.assert_array_equal(f(np.zeros(2)), [1.0, 1.0])
    g = tensorc.function([x], x + 1, mode=mode)
    np.testing.assert_array_equal(g([0, 1]), [1.0, 2.0])  # converted when not trusted


def test_maker_fgraph_exposes_inputs_outputs_and_toposort(mode):
    x = T.dvector("x")
    s = tensorc.shared(np.ones(2), name="s")
    f = tensorc.function([x], T.exp(x) * s, mode=mode)
    fg = f.maker.fgraph
    assert fg.inputs[0] is x and fg.inputs[1] is s
    assert len(fg.outputs) == 1
    nodes = fg.toposort()
    assert fg.outputs[0].owner is nodes[-1]
    computed = {id(v) for v in fg.inputs}
    for node in nodes:  # every node's inputs are computed before it
        assert all(id(v) in computed or v.owner is None for v in node.inputs)
        computed.update(id(v) for v in node.outputs)


# -- pickling -----------------------------------------------------------------------------
def test_pickle_shared_variable_round_trip():
    s = tensorc.shared(np.arange(3.0), name="w")
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.name == "w" and s2.type == s.type
    np.testing.assert_array_equal(s2.get_value(), [0.0, 1.0, 2.0])


def test_pickle_function_round_trip_keeps_state_and_updates(mode):
    s = tensorc.shared(np.zeros(2), name="acc")
    x = T.dvector("x")
    k = T.dscalar("k")
    f = tensorc.function([x, In(k, value=2.0)], s * k, updates=[(s, s + x)], mode=mode)
    f(np.ones(2))
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(g(np.ones(2)), [2.0, 2.0])  # default k=2 kept
    np.testing.assert_array_equal(g(np.ones(2), k=1.0), [2.0, 2.0])
    gs = [v for v in g.maker.fgraph.inputs if getattr(v, "name", None) == "acc"][0]
    np.testing.assert_array_equal(gs.get_value(), [3.0, 3.0])
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0])  # the original is independent


def test_pickle_function_in_a_subprocess(tmp_path):
    x = T.dvector("x")
    s = tensorc.shared(np.array([1.0, 2.0]), name="s")
    f = tensorc.function([x], T.exp(x) * s, updates=[(s, s * 2)], mode="FAST_COMPILE")
    path = tmp_path / "f.pkl"
    path.write_bytes(pickle.dumps(f))
    code = ("import pickle, sys, numpy as np\n"
            f"f = pickle.loads(open({str(path)!r}, 'rb').read())\n"
            "print(f(np.zeros(2)).tolist(), f(np.zeros(2)).tolist())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=PACKAGE_PARENT,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[1.0, 2.0] [2.0, 4.0]"


# -- errors -------------------------------------------------------------------------------
def _f2() -> tensorc.Function:
    x, y = T.dvector("x"), T.dvector("y")
    return tensorc.function([x, y], x + y, mode="FAST_COMPILE")


@pytest.mark.parametrize("args, kwargs, exc, pattern", [
    ((np.zeros((2, 2)), np.zeros(2)), {}, TypeError, r"input 0 \(x\).*expected 1.*got 2 .*\(2, 2\)"),
    ((np.zeros(2, dtype=np.complex128), np.zeros(2)), {}, TypeError,
     r"input 0 \(x\).*complex128.*float64"),
    ((np.zeros(2), np.zeros(3)), {}, ValueError,
     r"\(2,\).*\(3,\)[\s\S]*inputs x: shape \(2,\) float64; y: shape \(3,\) float64"),
    ((np.zeros(2),), {"w": 1}, TypeError, r"unexpected keyword argument 'w'"),
    ((np.zeros(2),), {}, TypeError, r"missing input 1 \(y"),
    ((np.zeros(2), np.zeros(2), np.zeros(2)), {}, TypeError, r"takes 2 arguments, got 3"),
    ((np.zeros(2),), {"x": np.zeros(2)}, TypeError, r"multiple values for input 'x'"),
])
def test_call_errors_name_the_input_and_shapes(args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        _f2()(*args, **kwargs)


def test_unsafe_downcast_needs_allow_input_downcast(mode):
    x = T.fvector("x")
    f = tensorc.function([x], x * 2, mode=mode)
    with pytest.raises(TypeError, match=r"input 0 \(x\).*float64.*float32.*allow_input_downcast"):
        f(np.ones(2))
    g = tensorc.function([x], x * 2, mode=mode, allow_input_downcast=True)
    assert g(np.ones(2)).dtype == np.float32


def test_unused_input_raise_warn_ignore():
    x, y = T.dscalar("x"), T.dscalar("unused_y")
    with pytest.raises(ValueError, match=r"input 1 \(unused_y\) is not used"):
        tensorc.function([x, y], x * 2)
    with pytest.warns(UserWarning, match=r"unused_y"):
        tensorc.function([x, y], x * 2, on_unused_input="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = tensorc.function([x, y], x * 2, on_unused_input="ignore")
    assert float(f(1.0, 5.0)) == 2.0


def test_bad_function_arguments():
    x = T.dscalar("x")
    s = tensorc.shared(1.0, name="sh")
    with pytest.raises(TypeError, match=r"inputs must be a list"):
        tensorc.function(x, x)
    with pytest.raises(TypeError, match=r"sh is a shared variable"):
        tensorc.function([s], s * 2)
    with pytest.raises(ValueError, match=r"x appears twice"):
        tensorc.function([x, x], x * 2)
    with pytest.raises(ValueError, match=r"missing input.*free"):
        tensorc.function([x], x * T.dscalar("free"))
