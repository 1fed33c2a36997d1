"""Reductions (sum/prod/max/min/all/any, argmax/argmin, mean/var/std) against numpy."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad

AXES = [None, 0, 1, -1, (0, 1), (0, 2), (2, 0, 1), ()]

REDUCTIONS = [  # name, tensorc function, numpy reference
    ("sum", T.sum, np.sum),
    ("prod", T.prod, np.prod),
    ("max", T.max, np.max),
    ("min", T.min, np.min),
    ("all", T.all, np.all),
    ("any", T.any, np.any),
    ("mean", T.mean, np.mean),
    ("argmax", T.argmax, None),
    ("argmin", T.argmin, None),
]


def _np_arg(x: np.ndarray, axis, keepdims: bool, fn) -> np.ndarray:
    """numpy reference for Theano's argmax over several axes (flattened in C order)."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(sorted(a % x.ndim for a in np.atleast_1d(axis)))
    keep = [d for d in range(x.ndim) if d not in axes]
    moved = np.transpose(x, keep + list(axes))
    out = fn(moved.reshape(moved.shape[:len(keep)] + (-1,)), axis=-1)
    if keepdims:
        out = np.expand_dims(out, axes)
    return out


# argmax over no axis has no numpy counterpart: those combinations are left out
VALUE_CASES = [pytest.param(name, fn, ref, axis, id=f"{name}-{axis}")
               for name, fn, ref in REDUCTIONS for axis in AXES
               if not (name.startswith("arg") and axis == ())]


@pytest.mark.parametrize("name,fn,ref,axis", VALUE_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_values(mode, rng, name, fn, ref, axis, keepdims):
    x = T.dtensor3("x")
    a = rng.integers(-3, 4, size=(2, 3, 4)).astype("float64")
    out = tensorc.function([x], fn(x, axis=axis, keepdims=keepdims), mode=mode)(a)
    if ref is None:
        expect = _np_arg(a, axis, keepdims, np.argmax if name == "argmax" else np.argmin)
    else:
        expect = ref(a, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expect)
    np.testing.assert_allclose(out, expect)


DTYPE_RULES = [  # input dtype, sum/prod dtype, mean dtype, max dtype
    ("bool", "int64", "float64", "bool"),
    ("int8", "int64", "float64", "int8"),
    ("int32", "int64", "float64", "int32"),
    ("int64", "int64", "float64", "int64"),
    ("uint8", "uint64", "float64", "uint8"),
    ("uint32", "uint64", "float64", "uint32"),
    ("float32", "float32", "float32", "float32"),
    ("float64", "float64", "float64", "float64"),
]


@pytest.mark.parametrize("idt,sdt,mdt,xdt", DTYPE_RULES)
def test_dtype_rules(mode, idt, sdt, mdt, xdt):
    x = T.tensor(idt, (False,), "x")
    outs = [T.sum(x), T.prod(x), T.mean(x), T.max(x), T.all(x), T.argmax(x)]
    assert [o.dtype for o in outs] == [sdt, sdt, mdt, xdt, "bool", "int64"]
    a = np.array([1, 0, 1], dtype=idt)
    vals = tensorc.function([x], outs, mode=mode)(a)
    assert [v.dtype.name for v in vals] == [sdt, sdt, mdt, xdt, "bool", "int64"]
    assert all(type(v) is np.ndarray for v in vals)
    np.testing.assert_allclose(vals[0], a.sum())
    np.testing.assert_allclose(vals[2], a.mean())


def test_sum_explicit_dtypes(mode):
    x = T.bvector("x")
    s = T.sum(x, dtype="int8")
    assert s.dtype == "int8"
    a = np.full(100, 3, dtype="int8")
    assert tensorc.function([x], s, mode=mode)(a) == np.sum(a, dtype="int8")
    assert T.sum(T.fvector(), acc_dtype="float64").owner.op.acc_dtype == "float64"
    with pytest.raises(TypeError, match="acc_dtype=int8 would lose precision.*float32"):
        T.sum(T.fvector(), acc_dtype="int8")


def test_float32_sum_accumulates_wide(mode):
    x = T.fvector("x")
    a = np.full(10**6, 0.1, dtype="float32")
    out = tensorc.function([x], T.sum(x), mode=mode)(a)
    assert out.dtype == np.float32
    assert abs(float(out) - float(a.astype("float64").sum())) <= 1e-6 * 1e5


MEAN_CASES = [("float32", None, False, (30, 40)), ("float32", 0, False, (600, 5)),
              ("float32", 1, True, (5, 600)), ("float32", (0, 1), True, (40, 30)),
              ("float16", None, False, (150, 150))]


@pytest.mark.parametrize("dtype,axis,keepdims,shape", MEAN_CASES)
def test_float32_mean_rounds_once(mode, rng, dtype, axis, keepdims, shape):
    """float32 ``mean`` divides the float64 sum, then rounds once: rounding the sum to
    float32 and dividing in float32 was 1 ulp off in about 1 case of 4.  Integers below
    2**17 (float16: 2**11) keep every float32 partial sum of <= 128 values exact, and
    the sums exceed 2**24, so rounding them to float32 loses bits."""
    high = 2 ** 17 if dtype == "float32" else 2 ** 11
    x = T.matrix("x", dtype=dtype)
    f = tensorc.function([x], T.mean(x, axis=axis, keepdims=keepdims), mode=mode)
    for _ in range(20):
        a = rng.integers(high // 2, high, shape).astype(dtype)
        got = f(a)
        want = np.float32(np.mean(a.astype(np.float64), axis=axis, keepdims=keepdims))
        assert got.dtype == np.float32 and got.shape == np.shape(want)
        np.testing.assert_array_equal(got, want)


def test_var_std_ddof_corrected(mode, rng):
    x = T.dmatrix("x")
    a = rng.normal(size=(4, 5)) + 1e3
    outs = [T.var(x), T.var(x, axis=0, ddof=1), T.std(x, axis=1, keepdims=True),
            T.var(x, axis=1, corrected=True), T.std(x, ddof=2, corrected=True), x.var(axis=-1)]
    got = tensorc.function([x], outs, mode=mode)(a)
    want = [np.var(a), np.var(a, axis=0, ddof=1), np.std(a, axis=1, keepdims=True),
            np.var(a, axis=1), np.std(a, ddof=2), np.var(a, axis=-1)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9)
    with pytest.raises(ValueError, match="keepdims is the fourth argument"):
        T.var(x, 0, True)


def test_methods_match_functions(mode, rng):
    x = T.dmatrix("x")
    a = rng.normal(size=(3, 4))
    outs = [x.sum(axis=0, keepdims=True), x.prod(1), x.max(), x.min(axis=0), x.argmax(axis=1),
            x.argmin(), x.mean(axis=-1), x.std()]
    want = [a.sum(0, keepdims=True), a.prod(1), a.max(), a.min(0), a.argmax(1), a.argmin(),
            a.mean(-1), a.std()]
    for g, w in zip(tensorc.function([x], outs, mode=mode)(a), want):
        np.testing.assert_allclose(g, w)


@pytest.mark.parametrize("fn", [T.sum, T.max, T.argmax, T.mean, T.var])
@pytest.mark.parametrize("axis", [2, -3, (0, 0)])
def test_bad_axis(fn, axis):
    with pytest.raises(ValueError, match=r"axis .*(out of range for a tensor with ndim=2|repeats an axis)"):
        fn(T.dmatrix(), axis=axis)


def test_symbolic_axis_rejected():
    with pytest.raises(TypeError, match="axis must be a constant"):
        T.sum(T.dmatrix(), axis=T.lscalar())


@pytest.mark.parametrize("fn", [T.max, T.min, T.argmax])
def test_empty_max_raises(mode, fn):
    x = T.dmatrix("x")
    f = tensorc.function([x], fn(x, axis=1), mode=mode)
    assert f(np.zeros((0, 3))).shape == (0,)
    with pytest.raises(ValueError, match=r"empty.*shape \(2, 0\)"):
        f(np.zeros((2, 0)))


def test_broadcastable_patterns():
    x = T.tensor("float64", (True, False, True))
    assert T.sum(x, axis=1).broadcastable == (True, True)
    assert T.max(x, axis=(0, 2)).broadcastable == (False,)
    assert T.argmax(x, axis=1, keepdims=True).broadcastable == (True, True, True)
    assert T.sum(x, keepdims=True).broadcastable == (True, True, True)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_sum_max_any_shape(shape, data):
    nd = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                               st.lists(st.integers(0, nd - 1), unique=True).map(tuple)))
    keepdims = data.draw(st.booleans())
    a = np.arange(np.prod(shape), dtype="float64").reshape(shape) % 5 - 2
    x = T.tensor("float64", (False,) * nd, "x")
    f = tensorc.function([x], [T.sum(x, axis, keepdims=keepdims), T.max(x, axis, keepdims=keepdims),
                               T.any(x, axis, keepdims=keepdims)], mode="FAST_COMPILE")
    s, m, an = f(a)
    np.testing.assert_allclose(s, np.sum(a, axis, keepdims=keepdims))
    np.testing.assert_allclose(m, np.max(a, axis, keepdims=keepdims))
    np.testing.assert_array_equal(an, np.any(a, axis, keepdims=keepdims))


# -- gradients -----------------------------------------------------------------------------
GRAD_CASES = [
    ("sum0", lambda x: T.sum(x, axis=0)),
    ("sum_keep", lambda x: T.sum(x * x, axis=1, keepdims=True)),
    ("sum_all", lambda x: T.sum(x)),
    ("prod", lambda x: T.prod(x, axis=1)),
    ("prod_all", lambda x: T.prod(x)),
    ("max", lambda x: T.max(x, axis=0)),
    ("min_all", lambda x: T.min(x)),
    ("mean", lambda x: T.mean(x, axis=(0, 1))),
    ("var", lambda x: T.var(x, axis=1, ddof=1)),
    ("std", lambda x: T.std(x)),
]


@pytest.mark.parametrize("name,fn", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_verify_grad(name, fn, rng):
    verify_grad(fn, [rng.uniform(0.5, 2.0, size=(3, 4))], rng=rng, mode="FAST_COMPILE")


@pytest.mark.parametrize("a,expect", [
    ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),
    ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),     # one zero: product of the others at the zero
    ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),     # two zeros: all zero
])
def test_prod_grad_with_zeros(mode, a, expect):
    x = T.dvector("x")
    g = tensorc.function([x], T.grad(T.prod(x), x), mode=mode)(np.array(a))
    np.testing.assert_allclose(g, expect)


def test_max_grad_goes_to_all_ties(mode):
    x = T.dmatrix("x")
    g = tensorc.function([x], T.grad(T.max(x, axis=1).sum(), x), mode=mode)(
        np.array([[1.0, 3.0, 3.0], [5.0, 2.0, 1.0]]))
    np.testing.assert_array_equal(g, [[0, 1, 1], [1, 0, 0]])


def test_argmax_all_any_grads_are_zero(mode):
    x = T.dvector("x")
    cost = T.argmax(x) + T.all(x) + T.any(x) + T.sum(x)
    g = tensorc.function([x], T.grad(cost, x), mode=mode)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0])


# name, graph of x, x's dtype and shape (the reduced axes have length 0, and so does a
# kept one: the output is empty too), the message numpy's backend raises.
_NO_ID = r"zero-size array to reduction operation (maximum|minimum) which has no identity"
EMPTY_AXIS_EMPTY_OUTPUT = [
    ("min_axes_1_3", lambda x: T.min(x, axis=(1, 3)), "float64", (3, 0, 0, 0),
     r"Min\{axis=\[1, 3\].*empty axis.*shape \(3, 0, 0, 0\)"),
    ("max_rows", lambda x: T.max(x, axis=1), "float64", (0, 0), r"Max\{axis=\[1\].*shape \(0, 0\)"),
    ("max_columns", lambda x: T.max(x, axis=0), "float64", (0, 0), r"Max\{axis=\[0\].*shape \(0, 0\)"),
    ("max_middle", lambda x: T.max(x, axis=1), "float64", (0, 0, 3), r"Max\{axis=\[1\].*shape \(0, 0, 3\)"),
    ("max_middle_wide_rows", lambda x: T.max(x, axis=1), "float32", (0, 0, 64),
     r"Max\{axis=\[1\].*shape \(0, 0, 64\)"),
    ("max_last_of_3d", lambda x: T.max(x, axis=1), "float64", (3, 0, 0), r"Max\{axis=\[1\].*shape \(3, 0, 0\)"),
    ("max_keepdims", lambda x: T.max(x, axis=1, keepdims=True), "float64", (0, 0),
     r"Max\{axis=\[1\].*shape \(0, 0\)"),
    ("max_int32", lambda x: T.max(x, axis=1), "int32", (0, 0), r"Max\{axis=\[1\], int32\}.*shape \(0, 0\)"),
    ("min_float32", lambda x: T.min(x, axis=0), "float32", (0, 0), r"Min\{axis=\[0\], float32\}"),
    ("max_strided", lambda x: T.max(x[:, ::2], axis=1), "float64", (0, 0), r"Max\{axis=\[1\].*shape \(0, 0\)"),
    ("max_transposed", lambda x: T.max(x.T, axis=1), "float64", (0, 0), r"Max\{axis=\[1\].*shape \(0, 0\)"),
    ("argmax_rows", lambda x: T.argmax(x, axis=1), "float64", (0, 0), r"argmax: .*empty axis.*shape \(0, 0\)"),
    ("argmin_columns", lambda x: T.argmin(x, axis=0), "float64", (0, 0), r"argmin: .*empty axis.*shape \(0, 0\)"),
    ("argmax_two_axes", lambda x: T.argmax(x, axis=(1, 2)), "float64", (0, 0, 3),
     r"argmax: .*empty axis.*shape \(0, 0, 3\)"),
    ("argmax_keepdims", lambda x: T.argmax(x, axis=1, keepdims=True), "int64", (0, 0),
     r"argmax: .*empty axis.*shape \(0, 0\)"),
    ("max_and_argmax", lambda x: T.max_and_argmax(x, axis=1), "float64", (0, 0), r"empty axis.*shape \(0, 0\)"),
    ("max_of_fused_body", lambda x: T.max(T.exp(x) * 2, axis=1), "float64", (0, 0), _NO_ID),
    ("min_of_two_operands", lambda x: T.min(x + x.T, axis=0), "float64", (0, 0), _NO_ID),
    ("max_beside_a_sum", lambda x: [T.max(x, axis=1), T.sum(x, axis=1)], "float64", (0, 0),
     r"Max\{axis=\[1\].*shape \(0, 0\)"),
    ("ptp", lambda x: T.ptp(x, axis=1), "float64", (0, 0), r"empty axis.*shape \(0, 0\)"),
]


@pytest.mark.parametrize("name,build,dtype,shape,msg", EMPTY_AXIS_EMPTY_OUTPUT,
                         ids=[c[0] for c in EMPTY_AXIS_EMPTY_OUTPUT])
def test_empty_axis_raises_even_when_the_output_is_empty(mode, name, build, dtype, shape, msg):
    """max/min/argmax/argmin over a zero-length axis raise like numpy (no identity) on
    every backend and kernel path, also when the kept dimensions make the output empty."""
    from tensorc.lower import lower
    x = T.tensor(dtype, (False,) * len(shape), name="x")
    f = tensorc.function([x], build(x), mode=mode)
    if mode.backend == "c":  # the reductions really run as C kernels
        kinds = {type(s.node.op).__name__ for s in lower(f.maker.fgraph).kernel_steps}
        assert kinds & {"Reduce", "Argmax", "FusedReduce"}, kinds
    with pytest.raises(ValueError, match=msg):
        f(np.zeros(shape, dtype))


@pytest.mark.parametrize("build,shape,want", [
    (lambda x: T.max(x, axis=(0, 2)), (3, 0, 2), (0,)),
    (lambda x: T.argmin(x, axis=1), (0, 3, 2), (0, 2)),
    (lambda x: T.max(T.exp(x), axis=0, keepdims=True), (2, 0, 5), (1, 0, 5)),
    (lambda x: T.min(x.dimshuffle(2, 1, 0), axis=2), (4, 0, 3), (3, 0)),
], ids=["max", "argmin", "fused_keepdims", "transposed"])
def test_empty_output_over_nonempty_axes(mode, build, shape, want):
    """An empty output is no error when every reduced axis is non-empty (as in numpy)."""
    x = T.dtensor3("x")
    out = tensorc.function([x], build(x), mode=mode)(np.zeros(shape))
    assert out.shape == want
