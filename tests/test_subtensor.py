"""Indexing: basic (Subtensor), advanced (int arrays, boolean masks), set/inc_subtensor,
take — values against numpy, static types, shape inference, errors and gradients."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad

GRAD_MODE = "FAST_COMPILE"  # gradients are graph-level: check them once, on the numpy backend
from tensorc.ops.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from tensorc.ops.subtensor import IncSubtensor, Subtensor

A34 = np.arange(12.0).reshape(3, 4)
A234 = np.arange(24.0).reshape(2, 3, 4)

# (name, input array, index) — each index is applied to the symbolic and numeric arrays.
BASIC = [
    ("int", A34, 1),
    ("neg_int", A34, -1),
    ("two_ints", A34, (2, -3)),
    ("slice", A34, slice(1, None)),
    ("step", A34, (slice(None), slice(None, None, 2))),
    ("neg_step", A34, (slice(None, None, -1), slice(3, 0, -2))),
    ("out_of_range_slice", A34, slice(-10, 10)),
    ("empty_slice", A34, slice(3, 1)),
    ("newaxis", A34, (None, 1)),
    ("newaxis_mid", A234, (0, None, slice(1, 3))),
    ("ellipsis", A234, (Ellipsis, 1)),
    ("ellipsis_mid", A234, (1, Ellipsis, slice(0, 2))),
    ("scalar_result", A234, (1, 2, 3)),
]

ADVANCED = [
    ("int_list", A34, [2, 0, 2]),
    ("int_array_2d", A34, np.array([[0, 1], [2, 2]])),
    ("pairs", A34, (np.array([0, 2]), np.array([1, 3]))),
    ("slice_then_array", A34, (slice(1, None), [0, 3])),
    ("array_then_slice", A234, ([1, 0], slice(None), 2)),
    ("split_arrays_go_first", A234, (0, slice(None), [1, 2])),
    ("adjacent_arrays", A234, (slice(None), [0, 2], [1, 3])),
    ("negative", A34, [-1, -3]),
    ("bool_rows", A34, np.array([True, False, True])),
    ("bool_full", A34, A34 > 4),
    ("bool_and_slice", A234, (slice(None), np.array([True, False, True]))),
    ("newaxis_adv", A34, (None, [0, 2])),
]


@pytest.mark.parametrize("name,value,index", BASIC + ADVANCED, ids=[c[0] for c in BASIC + ADVANCED])
def test_getitem_matches_numpy(mode, name, value, index):
    x = T.tensor("float64", (False,) * value.ndim, name="x")
    y = x[index]
    out = tensorc.function([x], y, mode=mode)(value)
    ref = value[index]
    assert y.ndim == ref.ndim
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("name,value,index", BASIC[:8], ids=[c[0] for c in BASIC[:8]])
def test_basic_index_builds_subtensor_view(name, value, index):
    x = T.dmatrix("x")
    y = x[index]
    assert isinstance(y.owner.op, Subtensor) and y.owner.op.view_map == {0: [0]}
    (res,) = y.owner.op.perform(y.owner, [value] + [np.asarray(v.data) for v in y.owner.inputs[1:]])
    assert isinstance(res, np.ndarray)
    assert np.shares_memory(res, value) or res.size == 0


def test_symbolic_bounds_and_steps(mode):
    x = T.dmatrix("x")
    i, j, k = T.lscalar("i"), T.iscalar("j"), T.lscalar("k")
    f = tensorc.function([x, i, j, k], [x[i], x[i:j], x[::k], x[j, i:j:k], x[-i]], mode=mode)
    for iv, jv, kv in [(0, 2, 1), (1, 2, 2), (2, 0, -1), (-2, -1, 1), (1, 1, -2)]:
        outs = f(A34, iv, jv, kv)
        refs = [A34[iv], A34[iv:jv], A34[::kv], A34[jv, iv:jv:kv], A34[-iv]]
        for o, r in zip(outs, refs):
            np.testing.assert_array_equal(o, r)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=3),
       parts=st.lists(st.tuples(st.none() | st.integers(-7, 7), st.none() | st.integers(-7, 7),
                                st.none() | st.integers(-3, 3).filter(lambda s: s != 0)),
                      min_size=1, max_size=3))
def test_random_slices_and_shape_inference(shape, parts):
    value = np.arange(int(np.prod(shape)), dtype="float64").reshape(shape)
    index = tuple(slice(*p) for p in parts[:len(shape)])
    x = T.tensor("float64", (False,) * len(shape))
    bounds = [T.lscalar() for _ in range(3 * len(index))]
    args = [v if v is not None else 0 for p in parts[:len(shape)] for v in p]
    sym = tuple(slice(*(b if v is not None else None for b, v in zip(bounds[3 * n:3 * n + 3], p)))
                for n, p in enumerate(parts[:len(shape)]))
    y = x[sym]
    shp = y.owner.op.infer_shape(y.owner, [tuple(x.shape[d] for d in range(x.ndim))]
                                 + [()] * (len(y.owner.inputs) - 1))[0]
    f = tensorc.function([x] + bounds, [y, T.stack([T.cast(s, "int64") for s in shp])
                                        if shp else T.constant(np.zeros(0, "int64"))],
                         on_unused_input="ignore")
    out, inferred = f(value, *args)
    np.testing.assert_array_equal(out, value[index])
    assert tuple(inferred) == value[index].shape


@pytest.mark.parametrize("name,value,index", ADVANCED, ids=[c[0] for c in ADVANCED])
def test_advanced_shape_inference(name, value, index):
    x = T.tensor("float64", (False,) * value.ndim, name="x")
    y = x[index]
    assert isinstance(y.owner.op, AdvancedSubtensor)
    base = y.owner.inputs[0]  # x, or x with the new axes inserted
    shp = y.owner.op.infer_shape(y.owner, [tuple(base.shape[d] for d in range(base.ndim))]
                                 + [tuple(v.shape[d] for d in range(v.ndim)) for v in y.owner.inputs[1:]])[0]
    got = tensorc.function([x], T.stack([T.cast(s, "int64") for s in shp]), on_unused_input="ignore")(value)
    assert tuple(got) == value[index].shape


def test_symbolic_masks_and_arange_idiom(mode):
    p, y = T.dmatrix("p"), T.lvector("y")
    m = T.matrix("m", dtype="bool")
    f = tensorc.function([p, y, m], [p[T.arange(y.shape[0]), y], p[p > 5], p[m], p[m[:, 0]]], mode=mode)
    mask = A34 % 3 == 0
    outs = f(A34, np.array([3, 0, 1]), mask)
    refs = [A34[np.arange(3), [3, 0, 1]], A34[A34 > 5], A34[mask], A34[mask[:, 0]]]
    for o, r in zip(outs, refs):
        np.testing.assert_array_equal(o, r)
    assert outs[1].ndim == 1


def test_static_broadcast_patterns():
    r = T.row("r")
    assert r[0].broadcastable == (False,)
    assert r[:, 1:].broadcastable == (True, False)
    assert r[0:1].broadcastable == (True, False)
    assert r[None].broadcastable == (True, True, False)
    assert T.matrix()[0:1].broadcastable == (False, False)
    assert T.matrix()[T.lvector(), None].broadcastable == (False, True, False)
    assert T.matrix()[T.lrow()].broadcastable == (True, False, False)


INC_CASES = [
    ("basic_row", lambda x: x[1], np.ones(4)),
    ("basic_slice_bcast", lambda x: x[1:, ::2], 7.0),
    ("basic_scalar", lambda x: x[2, 3], 5.0),
    ("adv_repeated", lambda x: x[[0, 0, 2, 0]], np.arange(4.0)),
    ("adv_pairs_repeated", lambda x: x[[0, 0, 1], [1, 1, 2]], np.array([1.0, 2.0, 3.0])),
    ("adv_mask", lambda x: x[np.array([[True, False, True, False]] * 3)], np.arange(6.0)),
    ("adv_slice_mix", lambda x: x[1:, [3, 3]], np.ones((2, 2))),
]


def _numpy_inc(value, index, y, set_):
    out = value.copy()
    if set_:
        out[index] = y
    else:
        idx = index if not isinstance(index, np.ndarray) or index.dtype != bool else np.nonzero(index)
        np.add.at(out, idx, y)
    return out


@pytest.mark.parametrize("set_", [False, True], ids=["inc", "set"])
@pytest.mark.parametrize("name,pick,y", INC_CASES, ids=[c[0] for c in INC_CASES])
def test_set_and_inc_subtensor(mode, name, pick, y, set_):
    x = T.dmatrix("x")
    fn = T.set_subtensor if set_ else T.inc_subtensor
    value = A34.copy()
    out = tensorc.function([x], fn(pick(x), y), mode=mode)(value)
    np.testing.assert_array_equal(value, A34)  # the input is not modified
    index = {
        "basic_row": 1, "basic_slice_bcast": (slice(1, None), slice(None, None, 2)), "basic_scalar": (2, 3),
        "adv_repeated": [0, 0, 2, 0], "adv_pairs_repeated": ([0, 0, 1], [1, 1, 2]),
        "adv_mask": np.array([[True, False, True, False]] * 3), "adv_slice_mix": (slice(1, None), [3, 3]),
    }[name]
    np.testing.assert_array_equal(out, _numpy_inc(A34, index, y, set_))


def test_inc_subtensor_ops_and_dtypes():
    x, v = T.imatrix("x"), T.dvector("v")
    assert isinstance(T.inc_subtensor(x[0], 1).owner.op, IncSubtensor)
    assert isinstance(T.set_subtensor(x[[0, 1]], 1).owner.op, AdvancedIncSubtensor)
    assert T.set_subtensor(x[0], 3).dtype == "int32"
    with pytest.raises(TypeError, match="dtype float64 into x of dtype int32"):
        T.set_subtensor(x[0], v)
    with pytest.raises(ValueError, match="1-dimensional subtensor of x with a 2-dimensional"):
        T.inc_subtensor(x[0], T.dmatrix().astype("int32"))
    with pytest.raises(TypeError, match="must be the result of indexing"):
        T.set_subtensor(x, 1)


def test_take(mode):
    a, i = T.dmatrix("a"), T.lvector("i")
    f = tensorc.function([a, i], [T.take(a, i, axis=1), T.take(a, i), a.take(i, axis=0)], mode=mode)
    outs = f(A34, np.array([2, 0]))
    refs = [np.take(A34, [2, 0], axis=1), np.take(A34, [2, 0]), np.take(A34, [2, 0], axis=0)]
    for o, r in zip(outs, refs):
        np.testing.assert_array_equal(o, r)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        T.take(a, i, axis=2)


_NO_POS = np.zeros(0, "int64")  #: an index array with no positions
ERRORS = [
    ("int_out_of_range", lambda x, i: x[i], {"i": 3}, IndexError, r"index \[3\].*shape \(3, 4\)"),
    ("neg_out_of_range", lambda x, i: x[0, i], {"i": -5}, IndexError, r"index \[0, -5\].*shape \(3, 4\)"),
    ("adv_out_of_range", lambda x, v: x[v], {"v": [0, 7]}, IndexError, r"shape \(3, 4\)"),
    ("adv_inc_out_of_range", lambda x, v: T.inc_subtensor(x[v], 1.0), {"v": [9]}, IndexError, r"shape \(3, 4\)"),
    ("inc_bad_shape", lambda x, v: T.inc_subtensor(x[0], T.cast(v, "float64")), {"v": [1, 2]},
     ValueError, r"shape \(2,\) does not broadcast"),
    ("bad_mask", lambda x, v: x[T.cast(v, "bool")], {"v": [1, 0]}, IndexError, r"shape \(3, 4\)"),
    # an integer index is checked even when the index arrays beside it are empty (numpy)
    ("scalar_beside_empty", lambda x, i, v: x[i, v], {"i": -4, "v": _NO_POS}, IndexError,
     r"index \[-4, \[\]\].*shape \(3, 4\).*index -4 is out of bounds for axis 0 with size 3"),
    ("empty_beside_scalar", lambda x, v, i: x[v, i], {"v": _NO_POS, "i": 5}, IndexError,
     r"index 5 is out of bounds for axis 1 with size 4"),
    ("inc_scalar_beside_empty", lambda x, i, v: T.inc_subtensor(x[i, v], 1.0), {"i": 3, "v": _NO_POS},
     IndexError, r"index 3 is out of bounds for axis 0 with size 3"),
    ("set_empty_beside_scalar", lambda x, v, i: T.set_subtensor(x[v, i], 1.0), {"v": _NO_POS, "i": -5},
     IndexError, r"index -5 is out of bounds for axis 1 with size 4"),
]


@pytest.mark.parametrize("name,build,args,exc,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_runtime_index_errors(mode, name, build, args, exc, msg):
    x, i, v = T.dmatrix("x"), T.lscalar("i"), T.lvector("v")
    f = tensorc.function([x, i, v], build(x, *[{"i": i, "v": v}[k] for k in args]),
                         mode=mode, on_unused_input="ignore")
    vals = {"i": 0, "v": [0]} | args
    with pytest.raises(exc, match=msg):
        f(A34, vals["i"], vals["v"])


@pytest.mark.parametrize("set_", [False, True], ids=["inc", "set"])
def test_empty_index_arrays_check_only_integer_indices(mode, set_):
    """Beside an empty index array, an in-range integer index gives an empty result, and
    so does a size-1 array holding an out-of-range index: numpy checks array entries at
    their positions only (there are none), integer indices always."""
    x, i, v, w = T.dmatrix("x"), T.lscalar("i"), T.lvector("v"), T.lvector("w")
    fn = T.set_subtensor if set_ else T.inc_subtensor
    f = tensorc.function([x, i, v, w], [x[i, v], x[v, i], x[v, w], fn(x[v, i], 1.0), fn(x[w, v], 1.0)],
                         mode=mode)
    outs = f(A34, -3, _NO_POS, np.array([9]))
    assert [o.shape for o in outs] == [(0,), (0,), (0,), (3, 4), (3, 4)]
    np.testing.assert_array_equal(outs[3], A34)
    np.testing.assert_array_equal(outs[4], A34)


@pytest.mark.parametrize("index,exc,msg", [
    ((0, 0, 0), IndexError, "too many indices"),
    (1.5, TypeError, "cannot index"),
    ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
    ([0.5], TypeError, "integers or booleans"),
], ids=["too_many", "float", "two_ellipses", "float_array"])
def test_build_time_index_errors(index, exc, msg):
    with pytest.raises(exc, match=msg):
        T.dmatrix("x")[index]
    with pytest.raises(TypeError, match="integer scalar"):
        T.dmatrix("x")[T.dscalar("d")]


GRADS = [
    ("basic", lambda x: x[1:, ::-1][0]),
    ("symbolic_scalar", lambda x: x[T.constant(-1, dtype="int64") + 0, 1:3]),
    ("adv_repeated", lambda x: x[[0, 0, 2], 1:]),
    ("adv_pairs", lambda x: x[[0, 2, 2], [1, 3, 3]]),
    ("mask", lambda x: x[np.array([True, False, True])] * 2),
    ("newaxis", lambda x: x[None, :, 1] ** 2),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn", GRADS, ids=[g[0] for g in GRADS])
def test_getitem_gradients(name, fn, dtype, rng):
    verify_grad(fn, [rng.normal(size=(3, 4)).astype(dtype)], rng=rng, mode=GRAD_MODE)


INC_GRADS = [
    ("inc_basic", lambda x, y: T.inc_subtensor(x[1:, 2], y), (2,)),
    ("set_basic", lambda x, y: T.set_subtensor(x[1:, 2], y), (2,)),
    ("inc_bcast_y", lambda x, y: T.inc_subtensor(x[:, 1:], y), (3,)),
    ("inc_adv_repeated", lambda x, y: T.inc_subtensor(x[[0, 0, 2]], y), (4,)),
    ("set_adv", lambda x, y: T.set_subtensor(x[[2, 0], [1, 3]], y), (2,)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,yshape", INC_GRADS, ids=[g[0] for g in INC_GRADS])
def test_inc_subtensor_gradients(name, fn, yshape, dtype, rng):
    verify_grad(fn, [rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=yshape).astype(dtype)], rng=rng, mode=GRAD_MODE)
