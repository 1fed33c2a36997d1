"""Theano 1.0 ``tensor`` API audit: every public name a Theano program commonly uses
exists in ``tensorc.tensor`` and computes what numpy (Theano's reference) computes, on
every backend; every ``_TensorOps`` method works; gradients of the new functions match
finite differences; bad input raises a clear error."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad
from tensorc.graph.basic import graph_inputs

X = np.array([[0.0, 2.0, -3.0], [4.0, 0.0, 6.5]])
V = np.array([0.25, -0.5, 0.75])
I = np.array([2, 0, 1], dtype="int32")
S = np.array([1.0, 2.0, 2.0, 5.0])

x, v, i, s = T.dmatrix("x"), T.dvector("v"), T.ivector("i"), T.dvector("s")
VALUES = {"x": X, "v": V, "i": I, "s": S}

# Names a Theano 1.0 program finds in theano.tensor (basic.rst, tensor/__init__.py).
THEANO_NAMES = """
as_tensor_variable as_tensor constant TensorType TensorVariable TensorConstant _tensor_py_operators
scalar vector row col matrix tensor3 tensor4 tensor5 dscalar fmatrix iscalars dmatrices
cast convert_to_int8 convert_to_int32 convert_to_int64 convert_to_float32 convert_to_float64
float_dtypes int_dtypes uint_dtypes discrete_dtypes continuous_dtypes complex_dtypes all_dtypes
get_scalar_constant_value NotScalarConstantError extract_constant
max_and_argmax argmax argmin max min smallest largest lt gt le ge eq neq isnan isinf isclose
allclose switch where clip and_ or_ xor invert bitwise_and bitwise_or bitwise_xor bitwise_not
abs_ exp exp2 expm1 neg inv log log2 log10 log1p sgn ceil floor trunc iround round sqr square
sqrt deg2rad rad2deg cos arccos sin arcsin tan arctan arctan2 cosh arccosh sinh arcsinh tanh
arctanh erf erfc erfcx erfinv erfcinv gamma gammaln psi real imag angle complex conj
complex_from_polar sum prod mean var std maximum minimum divmod add sub mul true_div int_div
floor_div ceil_intdiv mod pow power second fill ones_like zeros_like zeros ones nonzero
flatnonzero nonzero_values tri tril triu eye identity_like alloc split join roll stack
concatenate get_vector_length horizontal_stack vertical_stack reshape flatten tile arange
inverse_permutation dot tensordot outer any all ptp swapaxes choose mgrid ogrid stacklists
transpose batched_dot batched_tensordot default tensor_copy shape_padleft shape_padright
shape_padaxis addbroadcast unbroadcast patternbroadcast diagonal shape squeeze sort argsort
cumsum cumprod diff bincount repeat bartlett fill_diagonal fill_diagonal_offset specify_shape
grad Rop Lop jacobian hessian verify_grad consider_constant set_subtensor inc_subtensor take
DimShuffle Elemwise Subtensor IncSubtensor AdvancedSubtensor AdvancedIncSubtensor nnet
nlinalg slinalg extra_ops basic
""".split()

NLINALG_NAMES = ("matrix_inverse det eig eigh svd qr pinv lstsq trace diag extract_diag alloc_diag "
                 "matrix_dot matrix_power norm tensorinv tensorsolve").split()
SLINALG_NAMES = "cholesky solve solve_lower_triangular solve_upper_triangular eigvalsh kron".split()
EXTRA_OPS_NAMES = ("cumsum cumprod diff bincount squeeze repeat fill_diagonal fill_diagonal_offset "
                   "bartlett unique searchsorted compress to_one_hot").split()


@pytest.mark.parametrize("module, names", [
    (T, THEANO_NAMES), (T.nlinalg, NLINALG_NAMES), (T.slinalg, SLINALG_NAMES),
    (T.extra_ops, EXTRA_OPS_NAMES), (T.basic, ["nonzero", "switch", "as_tensor_variable", "roll"]),
], ids=["tensor", "nlinalg", "slinalg", "extra_ops", "basic"])
def test_theano_names_exist(module, names) -> None:
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"missing from {module.__name__}: {missing}"


# (id, symbolic expression, numpy reference) — inputs are found in the expression's graph.
CASES = [
    ("nonzero", lambda: T.nonzero(x)[1], lambda: np.nonzero(X)[1]),
    ("nonzero_matrix", lambda: T.nonzero(x, return_matrix=True), lambda: np.array(np.nonzero(X))),
    ("flatnonzero", lambda: T.flatnonzero(x), lambda: np.flatnonzero(X)),
    ("nonzero_values", lambda: T.nonzero_values(x), lambda: X[X != 0]),
    ("mask_index", lambda: x[(x > 1).nonzero()], lambda: X[X > 1]),
    ("where", lambda: T.where(x > 0, x, -1.0), lambda: np.where(X > 0, X, -1.0)),
    ("largest", lambda: T.largest(x, v, 1.0), lambda: np.maximum(np.maximum(X, V), 1.0)),
    ("smallest", lambda: T.smallest(x, v), lambda: np.minimum(X, V)),
    ("roll", lambda: T.roll(v, 2), lambda: np.roll(V, 2)),
    ("roll_axis", lambda: T.roll(x, -1, axis=1), lambda: np.roll(X, -1, axis=1)),
    ("roll_flat", lambda: T.roll(x, 4), lambda: np.roll(X, 4)),
    ("roll_symbolic", lambda: T.roll(x, i[0], axis=0), lambda: np.roll(X, I[0], axis=0)),
    ("mgrid", lambda: T.mgrid[0:2, 1:7:2][1] + v.sum() * 0, lambda: np.mgrid[0:2, 1:7:2][1]),
    ("ogrid", lambda: T.ogrid[0:3, 0:2][0] + v.sum() * 0, lambda: np.ogrid[0:3, 0:2][0]),
    ("floor_div", lambda: T.floor_div(x, 4.0), lambda: X // 4.0),
    ("divmod", lambda: T.divmod(i, 2)[1], lambda: np.divmod(I, 2)[1]),
    ("ceil_intdiv", lambda: T.ceil_intdiv(i, 2), lambda: -(-I // 2)),
    ("iround", lambda: T.iround(v * 3), lambda: np.round(V * 3).astype("int64")),
    ("isclose", lambda: T.isclose(x, x + 1e-9), lambda: np.isclose(X, X + 1e-9)),
    ("isclose_int", lambda: T.isclose(i, 1), lambda: np.isclose(I, 1)),
    ("allclose", lambda: T.allclose(v, v * 1.1), lambda: np.allclose(V, V * 1.1)),
    ("erfinv", lambda: T.erfinv(v), lambda: _sp("erfinv", V)),
    ("erfcinv", lambda: T.erfcinv(v + 1), lambda: _sp("erfcinv", V + 1)),
    ("erfcx", lambda: T.erfcx(v), lambda: _sp("erfcx", V)),
    ("gamma", lambda: T.gamma(v + 1), lambda: _sp("gamma", V + 1)),
    ("deg2rad", lambda: T.deg2rad(x), lambda: np.deg2rad(X)),
    ("rad2deg", lambda: T.rad2deg(x), lambda: np.rad2deg(X)),
    ("inv", lambda: T.inv(v), lambda: 1 / V),
    ("sgn", lambda: T.sgn(x), lambda: np.sign(X)),
    ("power", lambda: T.power(v, 2), lambda: V ** 2),
    ("square", lambda: T.square(v), lambda: V ** 2),
    ("default", lambda: T.default(v, v * 2), lambda: V),
    ("horizontal_stack", lambda: T.horizontal_stack(x, x * 2), lambda: np.hstack([X, X * 2])),
    ("vertical_stack", lambda: T.vertical_stack(x, x[:1]), lambda: np.vstack([X, X[:1]])),
    ("stacklists", lambda: T.stacklists([[v[0], v[1]], [v[2], v[0]]]), lambda: V[[[0, 1], [2, 0]]]),
    ("choose_list", lambda: T.choose(i, [v, v * 10, v * 100]), lambda: np.choose(I, [V, V * 10, V * 100])),
    ("choose_tensor", lambda: T.choose(i % 2, x), lambda: np.choose(I % 2, X)),
    ("choose_wrap", lambda: T.choose(i + 3, [v, -v], mode="wrap"), lambda: np.choose(I + 3, [V, -V], mode="wrap")),
    ("ptp", lambda: T.ptp(x, axis=1), lambda: np.ptp(X, axis=1)),
    ("ptp_all", lambda: T.ptp(x), lambda: np.ptp(X)),
    ("swapaxes", lambda: T.swapaxes(x, 0, 1), lambda: np.swapaxes(X, 0, 1)),
    ("tri", lambda: T.tri(3, 4, k=1) + v.sum() * 0, lambda: np.tri(3, 4, k=1)),
    ("tril", lambda: T.tril(x, -1), lambda: np.tril(X, -1)),
    ("triu", lambda: T.triu(x, 1), lambda: np.triu(X, 1)),
    ("inverse_permutation", lambda: T.inverse_permutation(i), lambda: np.argsort(I)),
    ("bartlett", lambda: T.bartlett(i[0] + 4), lambda: np.bartlett(I[0] + 4)),
    ("fill_diagonal_offset", lambda: T.fill_diagonal_offset(x, v[0], 1),
     lambda: np.where(np.eye(2, 3, 1, dtype=bool), V[0], X)),
    ("specify_shape", lambda: T.specify_shape(x, (2, 3)) * 2, lambda: X * 2),
    ("extract_constant", lambda: T.extract_constant(T.constant(2) * 3) * v, lambda: 6 * V),
    ("convert_to_int32", lambda: T.convert_to_int32(v * 4), lambda: (V * 4).astype("int32")),
    ("searchsorted", lambda: T.extra_ops.searchsorted(s, v * 8, side="right"),
     lambda: np.searchsorted(S, V * 8, side="right")),
    ("unique", lambda: T.extra_ops.unique(s), lambda: np.unique(S)),
    ("unique_counts", lambda: T.extra_ops.unique(s, return_counts=True)[1], lambda: np.unique(S, return_counts=True)[1]),
    ("unique_inverse", lambda: T.extra_ops.unique(x, return_inverse=True)[1],
     lambda: np.unique(X, return_inverse=True)[1].ravel()),
    ("compress", lambda: T.extra_ops.compress(i > 0, x, axis=1), lambda: np.compress(I > 0, X, axis=1)),
    ("to_one_hot", lambda: T.extra_ops.to_one_hot(i, 3), lambda: np.eye(3)[I]),
    ("basic_alias", lambda: T.basic.switch(v > 0, 1, 2), lambda: np.where(V > 0, 1, 2)),
]


def _sp(name: str, a: np.ndarray) -> np.ndarray:
    special = pytest.importorskip("scipy.special")
    return getattr(special, name)(a)


def _run(expr, mode):
    ins = [n for n in graph_inputs([expr]) if n.name in VALUES and n.owner is None]
    ins = list({id(n): n for n in ins}.values())
    f = tensorc.function(ins, expr, mode=mode)
    return f(*[VALUES[n.name] for n in ins])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_function_matches_numpy(case, mode) -> None:
    _, build, ref = case
    expr = build()
    got, want = _run(expr, mode), np.asarray(ref())
    assert np.asarray(got).shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# Every _TensorOps method (and the Theano 1.0 ones added by the audit).
ELEMWISE_METHODS = ("arccos arccosh arcsin arcsinh arctan arctanh ceil cos cosh deg2rad exp exp2 "
                    "expm1 floor log log10 log1p log2 rad2deg sin sinh sqrt tan tanh trunc").split()
P = np.array([[1.5, 2.0, 3.25], [4.0, 1.25, 6.5]])  # valid domain for every elementwise method
p = T.dmatrix("p")

METHODS = [(m, (lambda m=m: getattr(p / 7 if m in ("arccos", "arcsin", "arctanh") else p, m)()),
            (lambda m=m: getattr(np, m)(P / 7 if m in ("arccos", "arcsin", "arctanh") else P)))
           for m in ELEMWISE_METHODS] + [
    ("T", lambda: p.T, lambda: P.T),
    ("shape", lambda: p.shape, lambda: np.array(P.shape)),
    ("size", lambda: p.size, lambda: P.size),
    ("add_ops", lambda: (p + 1) * 2 - p / 3 + p ** 2 - (-p) + abs(-p), lambda: (P + 1) * 2 - P / 3 + P ** 2 + P + P),
    ("floordiv_mod", lambda: p // 2 + p % 2 + 1 // p, lambda: P // 2 + P % 2 + 1 // P),
    ("divmod", lambda: divmod(p, 2)[0] + divmod(7.0, p)[1], lambda: np.divmod(P, 2)[0] + np.divmod(7.0, P)[1]),
    ("compare", lambda: (p < 2) & (p >= 1.25) | ~(p > 5) ^ (p <= 3), lambda: (P < 2) & (P >= 1.25) | ~(P > 5) ^ (P <= 3)),
    ("matmul", lambda: p @ p.T + p.dot(p.T) + p.__dot__(p.T) + p.T.__rdot__(p),
     lambda: 4 * P @ P.T),
    ("getitem", lambda: p[1, ::-1], lambda: P[1, ::-1]),
    ("astype", lambda: p.astype("int32"), lambda: P.astype("int32")),
    ("dimshuffle", lambda: p.dimshuffle(1, "x", 0), lambda: P.T[:, None, :]),
    ("reshape", lambda: p.reshape((3, 2)), lambda: P.reshape(3, 2)),
    ("flatten", lambda: p.flatten(), lambda: P.ravel()),
    ("ravel", lambda: p.ravel(), lambda: P.ravel()),
    ("transpose", lambda: p.transpose(1, 0), lambda: P.T),
    ("sum", lambda: p.sum(axis=0), lambda: P.sum(axis=0)),
    ("prod", lambda: p.prod(axis=1, keepdims=True), lambda: P.prod(axis=1, keepdims=True)),
    ("mean", lambda: p.mean(), lambda: P.mean()),
    ("var", lambda: p.var(axis=0), lambda: P.var(axis=0)),
    ("std", lambda: p.std(axis=1), lambda: P.std(axis=1)),
    ("max", lambda: p.max(axis=0), lambda: P.max(axis=0)),
    ("min", lambda: p.min(), lambda: P.min()),
    ("argmax", lambda: p.argmax(axis=1), lambda: P.argmax(axis=1)),
    ("argmin", lambda: p.argmin(axis=0), lambda: P.argmin(axis=0)),
    ("all", lambda: (p > 1).all(axis=1), lambda: (P > 1).all(axis=1)),
    ("any", lambda: (p > 5).any(axis=0), lambda: (P > 5).any(axis=0)),
    ("clip", lambda: p.clip(2, 4), lambda: P.clip(2, 4)),
    ("round", lambda: p.round(), lambda: np.round(P)),
    ("sort", lambda: p.sort(axis=0), lambda: np.sort(P, axis=0)),
    ("argsort", lambda: p.argsort(), lambda: np.argsort(P)),
    ("squeeze", lambda: T.addbroadcast(p[:1], 0).squeeze(), lambda: P[0]),
    ("repeat", lambda: p.repeat(2, axis=0), lambda: P.repeat(2, axis=0)),
    ("cumsum", lambda: p.cumsum(axis=1), lambda: P.cumsum(axis=1)),
    ("cumprod", lambda: p.cumprod(), lambda: P.cumprod()),
    ("norm", lambda: p.norm(2, axis=0), lambda: np.linalg.norm(P, axis=0)),
    ("norm_L3", lambda: p.norm(3), lambda: np.sum(np.abs(P) ** 3) ** (1 / 3)),
    ("nonzero", lambda: (p - 2).nonzero()[1], lambda: np.nonzero(P - 2)[1]),
    ("nonzero_values", lambda: (p - 2).nonzero_values(), lambda: (P - 2)[P != 2]),
    ("copy", lambda: p.copy(name="c"), lambda: P),
    ("conj", lambda: p.conj() + p.conjugate(), lambda: 2 * P),
    ("real_imag", lambda: p.real + p.imag, lambda: P),
    ("zeros_like", lambda: p.zeros_like() + p.ones_like(), lambda: np.ones_like(P)),
    ("fill", lambda: p.fill(3.0), lambda: np.full_like(P, 3.0)),
    ("diagonal", lambda: p.diagonal(1), lambda: P.diagonal(1)),
    ("trace", lambda: p[:, :2].trace(), lambda: np.trace(P[:, :2])),
    ("take", lambda: p.take([2, 0], axis=1), lambda: P.take([2, 0], axis=1)),
    ("ptp", lambda: p.ptp(axis=0), lambda: np.ptp(P, axis=0)),
    ("swapaxes", lambda: p.swapaxes(0, 1), lambda: P.swapaxes(0, 1)),
    ("choose", lambda: T.constant([1, 0, 1]).choose(p), lambda: np.choose([1, 0, 1], P)),
    ("compress", lambda: T.constant([1, 0, 1]).compress(p, axis=1), lambda: np.compress([1, 0, 1], P, axis=1)),
    ("searchsorted", lambda: p[0].searchsorted(p[1]), lambda: np.searchsorted(P[0], P[1])),
    ("transfer", lambda: p.transfer("cpu"), lambda: P),
    ("iter_shape", lambda: T.stack(list(p.shape)), lambda: np.array(P.shape)),
]


@pytest.mark.parametrize("case", METHODS, ids=[c[0] for c in METHODS])
def test_method_matches_numpy(case, mode) -> None:
    _, build, ref = case
    f = tensorc.function([p], build(), mode=mode, on_unused_input="ignore")
    got, want = np.asarray(f(P)), np.asarray(ref())
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_every_public_method_is_covered() -> None:
    """Every public method of _TensorOps appears in the METHODS table (or is a property)."""
    covered = {c[0] for c in METHODS} | {"dot", "get_scalar_constant_value", "conjugate",
                                         "ones_like", "real", "imag", "ndim", "dtype",
                                         "broadcastable", "type"}
    public = {n for n in vars(T._tensor_py_operators) if not n.startswith("_")}
    assert public - covered == set()


def test_get_scalar_constant_value() -> None:
    assert int(T.get_scalar_constant_value((T.constant(3) + 1).dimshuffle("x"))) == 4
    assert int((T.constant(5) * 2).get_scalar_constant_value()) == 10
    assert int(T.get_scalar_constant_value(T.shape(T.row())[0])) == 1
    with pytest.raises(T.NotScalarConstantError, match="is not a constant"):
        T.get_scalar_constant_value(T.dscalar("y") + 1)
    with pytest.raises(T.NotScalarConstantError, match=r"not a scalar constant \(shape \(2,\)\)"):
        T.get_scalar_constant_value(T.constant([1, 2]))
    y = T.dscalar("y")
    assert T.extract_constant(y) is y


GRADS = [
    ("roll", lambda a: T.roll(a, 1, axis=1), [X]),
    ("roll_flat", lambda a: T.roll(a, -2), [X]),
    ("largest", lambda a, b: T.largest(a, b), [X, X[::-1] + 0.5]),
    ("ptp", lambda a: T.ptp(a, axis=0), [X]),
    ("swapaxes", lambda a: T.swapaxes(a, 0, 1) * 2, [X]),
    ("tril_triu", lambda a: T.tril(a) * 2 + T.triu(a, 1), [X]),
    ("fill_diagonal_offset", lambda a, b: T.fill_diagonal_offset(a, b, 1), [X, np.array(2.0)]),
    ("nonzero_values", lambda a: T.nonzero_values(a * T.constant(X != 0)) ** 2, [X]),
    ("stacks", lambda a: T.horizontal_stack(a, a * 2) + T.vertical_stack(a, a)[:2].repeat(2, axis=1), [X]),
    ("specify_shape", lambda a: T.specify_shape(a, (2, 3)) ** 2, [X]),
    ("erfinv", lambda a: T.erfinv(a), [V]),
    ("erfcinv", lambda a: T.erfcinv(a + 1), [V]),
    ("erfcx", lambda a: T.erfcx(a), [V]),
    ("gamma", lambda a: T.gamma(a), [V + 2]),
    ("deg2rad_rad2deg", lambda a: T.deg2rad(a) + T.rad2deg(a), [V]),
    ("stacklists", lambda a: T.stacklists([[a[0], a[1]], [a[2], a[0]]]), [V]),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients(case) -> None:
    _, fun, pt = case
    verify_grad(fun, pt, rng=np.random.default_rng(5), mode="FAST_COMPILE")


@pytest.mark.parametrize("build, exc, match", [
    (lambda: T.nonzero(T.dscalar()), ValueError, "nonzero: a must have at least one dimension"),
    (lambda: T.flatnonzero(T.dscalar()), ValueError, "flatnonzero: a must have at least one dimension"),
    (lambda: T.choose(T.dvector(), [v]), TypeError, "choose: a must hold integer indices, got dtype float64"),
    (lambda: T.choose(i, [v], mode="bad"), ValueError, "choose: mode must be"),
    (lambda: T.extra_ops.searchsorted(T.dmatrix(), v), TypeError, "searchsorted: x must be a vector, got ndim=2"),
    (lambda: T.extra_ops.searchsorted(v, v, side="middle"), ValueError, "side must be 'left' or 'right'"),
    (lambda: T.specify_shape(x, (2,)), ValueError, "specify_shape: shape has 1 entries, x has 2"),
    (lambda: T.horizontal_stack(x, v), TypeError, "horizontal_stack: argument 1 must be a matrix, got ndim=1"),
    (lambda: T.vertical_stack(v, x), TypeError, "vertical_stack: argument 0 must be a matrix"),
    (lambda: T.roll(x, 1, axis=2), ValueError, "roll: axis"),
    (lambda: T.mgrid[0:2, 3], ValueError, "mgrid: entry 1 must be a slice"),
    (lambda: T.ogrid[0:2:3j], ValueError, "complex steps"),
    (lambda: T.tril(v), ValueError, "tril: m must have at least 2 dimensions, got ndim=1"),
    (lambda: T.extra_ops.to_one_hot(v, 3), TypeError, "to_one_hot: y must be an integer vector, got float64"),
    (lambda: T.default(v, x), TypeError, "default: x and default must have the same type"),
    (lambda: T.largest(), TypeError, "largest: needs at least one argument"),
    (lambda: T.inverse_permutation(v), TypeError, "inverse_permutation: perm must hold integers"),
    (lambda: T.bartlett(T.dscalar()), TypeError, "bartlett: M must be an integer scalar"),
    (lambda: T.extra_ops.unique(v, axis=3), ValueError, "unique: axis 3 is out of range"),
    (lambda: T.choose(i, [v], out=v), ValueError, "out= is not supported"),
    (lambda: iter(v), TypeError, "unknown length"),
    (lambda: v.transfer("gpu"), ValueError, "only target 'cpu'"),
])
def test_build_errors(build, exc, match) -> None:
    with pytest.raises(exc, match=match):
        build()


@pytest.mark.parametrize("build, args, match", [
    (lambda: T.specify_shape(x, (3, 3)), [X], r"specify_shape: x has shape \(2, 3\), expected \(3, 3\)"),
    (lambda: T.choose(i, [v, v]), [I], r"choose: .*a shape \(3,\)"),
    (lambda: T.extra_ops.searchsorted(v, v, sorter=i[:2]), [V, I], r"sorter shape \(2,\) differs from x shape \(3,\)"),
])
def test_runtime_errors(build, args, match, mode) -> None:
    expr = build()
    ins = [n for n in (x, v, i) if n in graph_inputs([expr])]
    f = tensorc.function(ins, expr, mode=mode)
    with pytest.raises(ValueError, match=match):
        f(*[VALUES[n.name] for n in ins])


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=3), shift=st.integers(-7, 7),
       data=st.data())
def test_roll_hypothesis(shape, shift, data) -> None:
    """roll matches numpy for any shape (empty axes included), shift and axis."""
    axis = data.draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    arr = np.arange(int(np.prod(shape)), dtype="float64").reshape(shape)
    t = T.TensorType("float64", (False,) * len(shape))("t")
    k = T.lscalar("k")
    f = tensorc.function([t, k], T.roll(t, k, axis=axis), mode="FAST_COMPILE")
    np.testing.assert_array_equal(f(arr, shift), np.roll(arr, shift, axis=axis))


@settings(max_examples=25, deadline=None)
@given(sa=st.lists(st.sampled_from([1, 3]), min_size=0, max_size=2),
       sb=st.lists(st.sampled_from([1, 3]), min_size=0, max_size=2), seed=st.integers(0, 99))
def test_isclose_broadcasting_hypothesis(sa, sb, seed) -> None:
    """isclose broadcasts like numpy (static patterns from the drawn shapes) incl. nan/inf."""
    rng = np.random.default_rng(seed)
    pool = np.array([0.0, 1.0, 1.0 + 1e-9, np.nan, np.inf, -np.inf, 2.0])
    a, b = rng.choice(pool, size=sa), rng.choice(pool, size=sb)
    ta = T.TensorType("float64", [d == 1 for d in sa])("a")
    tb = T.TensorType("float64", [d == 1 for d in sb])("b")
    f = tensorc.function([ta, tb], [T.isclose(ta, tb), T.isclose(ta, tb, equal_nan=True)], mode="FAST_COMPILE")
    got, got_nan = f(a, b)
    np.testing.assert_array_equal(got, np.isclose(a, b))
    np.testing.assert_array_equal(got_nan, np.isclose(a, b, equal_nan=True))
