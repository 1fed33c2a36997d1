"""``tensorc.tensor.nlinalg`` / ``slinalg``: values against numpy.linalg on every backend,
gradients by finite differences, and clear errors for bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad
from tensorc.tensor import nlinalg, slinalg

RNG = np.random.default_rng(7)
A = RNG.normal(size=(3, 3)) + 3 * np.eye(3)       # well-conditioned square matrix
SPD = A @ A.T + np.eye(3)                          # symmetric positive definite
R = RNG.normal(size=(4, 3))                        # rectangular
B = RNG.normal(size=(3, 2))
BV = RNG.normal(size=3)
LOW = np.tril(A)

a, r, b, bv = T.dmatrix("a"), T.dmatrix("r"), T.dmatrix("b"), T.dvector("bv")
VALUES = {"a": A, "r": R, "b": B, "bv": BV}


def _abs_cols(m: np.ndarray) -> np.ndarray:
    """Singular/eigen vectors are defined up to sign: compare absolute values."""
    return np.abs(m)


# (id, inputs, symbolic output, numpy reference, postprocess applied to both)
CASES = [
    ("matrix_inverse", [a], lambda: nlinalg.matrix_inverse(a), lambda: np.linalg.inv(A), None),
    ("det", [a], lambda: nlinalg.det(a), lambda: np.linalg.det(A), None),
    ("pinv", [r], lambda: nlinalg.pinv(r), lambda: np.linalg.pinv(R), None),
    ("eig_values", [a], lambda: T.sort(T.real(nlinalg.eig(a)[0])),
     lambda: np.sort(np.linalg.eig(A)[0].real), None),
    ("eigh_values", [a], lambda: nlinalg.eigh(a)[0], lambda: np.linalg.eigh(A)[0], None),
    ("eigh_vectors", [a], lambda: nlinalg.eigh(a, "U")[1], lambda: np.linalg.eigh(A, "U")[1], _abs_cols),
    ("svd_s", [r], lambda: nlinalg.svd(r, compute_uv=False), lambda: np.linalg.svd(R, compute_uv=False), None),
    ("svd_u", [r], lambda: nlinalg.svd(r, full_matrices=False)[0],
     lambda: np.linalg.svd(R, full_matrices=False)[0], _abs_cols),
    ("qr_r", [r], lambda: nlinalg.qr(r, mode="r"), lambda: np.linalg.qr(R, mode="r"), _abs_cols),
    ("qr_q", [r], lambda: nlinalg.qr(r)[0], lambda: np.linalg.qr(R)[0], _abs_cols),
    ("lstsq", [r, bv], lambda: nlinalg.lstsq(r, T.concatenate([bv, bv[:1]]))[0],
     lambda: np.linalg.lstsq(R, np.concatenate([BV, BV[:1]]), rcond=None)[0], None),
    ("trace", [a], lambda: nlinalg.trace(a), lambda: np.trace(A), None),
    ("diag_matrix", [a], lambda: nlinalg.diag(a), lambda: np.diag(A), None),
    ("diag_vector", [bv], lambda: nlinalg.diag(bv), lambda: np.diag(BV), None),
    ("extract_diag", [a], lambda: nlinalg.extract_diag(a), lambda: np.diag(A), None),
    ("alloc_diag", [bv], lambda: nlinalg.alloc_diag(bv), lambda: np.diag(BV), None),
    ("matrix_dot", [a, b], lambda: nlinalg.matrix_dot(a, a, b), lambda: A @ A @ B, None),
    ("matrix_power", [a], lambda: nlinalg.matrix_power(a, 5), lambda: np.linalg.matrix_power(A, 5), None),
    ("matrix_power_0", [a], lambda: nlinalg.matrix_power(a, 0), lambda: np.eye(3), None),
    ("norm_vec_2", [bv], lambda: nlinalg.norm(bv, None), lambda: np.linalg.norm(BV), None),
    ("norm_vec_inf", [bv], lambda: nlinalg.norm(bv, "inf"), lambda: np.linalg.norm(BV, np.inf), None),
    ("norm_vec_3", [bv], lambda: nlinalg.norm(bv, 3), lambda: np.linalg.norm(BV, 3), None),
    ("norm_vec_0", [bv], lambda: nlinalg.norm(bv, 0), lambda: np.linalg.norm(BV, 0), None),
    ("norm_fro", [r], lambda: nlinalg.norm(r, "fro"), lambda: np.linalg.norm(R, "fro"), None),
    ("norm_mat_1", [r], lambda: nlinalg.norm(r, 1), lambda: np.linalg.norm(R, 1), None),
    ("norm_mat_inf", [r], lambda: nlinalg.norm(r, "inf"), lambda: np.linalg.norm(R, np.inf), None),
    ("tensorinv", [a], lambda: nlinalg.tensorinv(T.reshape(slinalg.kron(a, a + 1), (3, 3, 3, 3)), ind=2),
     lambda: np.linalg.tensorinv(np.kron(A, A + 1).reshape(3, 3, 3, 3), ind=2), None),
    ("tensorsolve", [a, bv], lambda: nlinalg.tensorsolve(a, bv), lambda: np.linalg.tensorsolve(A, BV), None),
    ("cholesky", [a], lambda: slinalg.cholesky(a.dot(a.T) + T.eye(3)), lambda: np.linalg.cholesky(SPD), None),
    ("cholesky_upper", [a], lambda: slinalg.Cholesky(lower=False)(a.dot(a.T) + T.eye(3)),
     lambda: np.linalg.cholesky(SPD).T, None),
    ("solve_vector", [a, bv], lambda: slinalg.solve(a, bv), lambda: np.linalg.solve(A, BV), None),
    ("solve_matrix", [a, b], lambda: slinalg.solve(a, b), lambda: np.linalg.solve(A, B), None),
    ("solve_lower", [a, b], lambda: slinalg.solve_lower_triangular(a, b),
     lambda: np.linalg.solve(LOW, B), None),
    ("solve_upper", [a, b], lambda: slinalg.solve_upper_triangular(a, b),
     lambda: np.linalg.solve(np.triu(A), B), None),
    ("eigvalsh", [a], lambda: slinalg.eigvalsh(a), lambda: np.linalg.eigvalsh(A), None),
    ("kron", [a, r], lambda: slinalg.kron(a, r), lambda: np.kron(A, R), None),
    ("kron_vec_mat", [bv, a], lambda: slinalg.kron(bv, a), lambda: np.kron(BV, A), None),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_linalg_values(case, mode) -> None:
    _, ins, build, ref, post = case
    f = tensorc.function(ins, build(), mode=mode)
    got = f(*[VALUES[v.name] for v in ins])
    want = ref()
    post = post or (lambda m: m)
    np.testing.assert_allclose(post(np.asarray(got)), post(np.asarray(want)), rtol=1e-7, atol=1e-9)


def test_dtypes_follow_numpy() -> None:
    f32 = T.fmatrix()
    assert nlinalg.matrix_inverse(f32).dtype == "float32"
    assert nlinalg.matrix_inverse(T.imatrix()).dtype == "float64"
    assert nlinalg.eig(f32)[0].dtype == "complex64"
    assert nlinalg.eigh(T.zmatrix())[0].dtype == "float64"
    assert slinalg.solve(f32, T.fvector()).broadcastable == (False,)


# Gradients (Theano 1.0 had them for these ops); FAST_COMPILE keeps them quick.
def _sym(m):
    return 0.5 * (m + m.T)


GRAD_CASES = [
    ("matrix_inverse", lambda m: nlinalg.matrix_inverse(m), [A]),
    ("det", lambda m: nlinalg.det(m), [A]),
    ("eigh_values", lambda m: nlinalg.eigh(_sym(m))[0], [A]),
    ("eigh_vectors_sign_free", lambda m: T.sqr(nlinalg.eigh(_sym(m))[1]), [A]),
    ("eigh_lower_only", lambda m: nlinalg.eigh(m)[0] + T.sqr(nlinalg.eigh(m)[1]).sum(axis=0), [SPD]),
    ("cholesky", lambda m: slinalg.cholesky(m.dot(m.T) + T.eye(3)), [A]),
    ("cholesky_raw_lower", lambda m: slinalg.cholesky(m), [SPD]),
    ("cholesky_upper", lambda m: slinalg.Cholesky(lower=False)(m.dot(m.T) + T.eye(3)), [A]),
    ("solve_vector", lambda m, v: slinalg.solve(m, v), [A, BV]),
    ("solve_matrix", lambda m, v: slinalg.solve(m, v), [A, B]),
    ("solve_lower", lambda m, v: slinalg.solve_lower_triangular(m, v), [A, B]),
    ("solve_upper", lambda m, v: slinalg.solve_upper_triangular(m, v), [A, BV]),
    ("tensorinv", lambda m: nlinalg.tensorinv(m, ind=1), [A]),
    ("trace_alloc_diag", lambda m, v: nlinalg.trace(m) * nlinalg.alloc_diag(v), [A, BV]),
    ("kron", lambda m, n: slinalg.kron(m, n), [A, B]),
    ("norm", lambda m: nlinalg.norm(m, None) + nlinalg.norm(m[0], 3), [A]),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_linalg_gradients(case) -> None:
    _, fun, pt = case
    verify_grad(fun, pt, rng=np.random.default_rng(3), mode="FAST_COMPILE")


def test_eigh_gradient_matches_symmetric_formula() -> None:
    """d(sum of eigenvalues)/dA is the identity, folded onto the lower triangle."""
    m = T.dmatrix()
    g = tensorc.function([m], T.grad(nlinalg.eigh(m)[0].sum(), m))(SPD)
    np.testing.assert_allclose(g, np.eye(3), atol=1e-10)


def test_matrix_inverse_rop() -> None:
    m, e = T.dmatrix(), T.dmatrix()
    f = tensorc.function([m, e], T.Rop(nlinalg.matrix_inverse(m), m, e), mode="FAST_COMPILE")
    inv = np.linalg.inv(A)
    np.testing.assert_allclose(f(A, SPD), -inv @ SPD @ inv)


@pytest.mark.parametrize("build, value, exc, match", [
    (lambda: nlinalg.matrix_inverse(T.dvector()), None, TypeError, "matrix_inverse: expected a matrix"),
    (lambda: nlinalg.det(T.tensor3()), None, TypeError, "det: expected a matrix"),
    (lambda: slinalg.solve(T.dmatrix(), T.tensor3()), None, TypeError, "solve: b must be a vector"),
    (lambda: nlinalg.norm(T.tensor3(), None), None, ValueError, "norm: x must be a vector or a matrix"),
    (lambda: nlinalg.norm(T.dmatrix(), 3), None, ValueError, "matrix order 3"),
    (lambda: nlinalg.matrix_power(T.dmatrix(), -1), None, ValueError, "non-negative"),
    (lambda: nlinalg.qr(T.dmatrix(), mode="bad"), None, ValueError, "qr: mode"),
    (lambda: slinalg.kron(T.dvector(), T.dvector()), None, TypeError, "at least 3"),
    (lambda: nlinalg.eigh(T.dmatrix(), "X"), None, ValueError, "UPLO"),
])
def test_build_errors(build, value, exc, match) -> None:
    with pytest.raises(exc, match=match):
        build()


@pytest.mark.parametrize("build, args, match", [
    (lambda m: nlinalg.matrix_inverse(m), [R], r"matrix_inverse: expected a square matrix, got shape \(4, 3\)"),
    (lambda m: nlinalg.det(m), [R], r"det: expected a square matrix"),
    (lambda m: slinalg.cholesky(m), [-np.eye(2)], r"not positive definite"),
    (lambda m: slinalg.solve(m, T.constant(np.ones(4))), [A], r"A of shape \(3, 3\) and b of shape \(4,\)"),
    (lambda m: slinalg.solve(m, T.constant(np.ones(2))), [np.zeros((2, 2))], r"singular"),
])
def test_runtime_errors(build, args, match, mode) -> None:
    m = T.dmatrix()
    f = tensorc.function([m], build(m), mode=mode)
    with pytest.raises(ValueError, match=match):
        f(*args)
