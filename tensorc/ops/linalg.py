"""Linear-algebra ops on matrices through ``numpy.linalg`` (Theano's ``nlinalg`` and
``slinalg``): inverse, determinant, eig/eigh, SVD, QR, pseudo-inverse, Cholesky and
solve.  Gradients where Theano 1.0 had them: ``MatrixInverse``, ``Det``, ``Eigh``,
``Cholesky`` and ``Solve``.

Output dtypes: float and complex inputs keep their dtype; integer inputs give float64.

>>> import numpy as np
>>> import tensorc, tensorc.tensor as T
>>> A = T.dmatrix('A')
>>> f = tensorc.function([A], [MatrixInverse()(A), Det()(A)])
>>> [np.round(r, 6).tolist() for r in f(np.array([[2.0, 0.0], [0.0, 4.0]]))]
[[[0.5, 0.0], [0.0, 0.25]], 8.0]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType
from tensorc.gradient.markers import grad_not_implemented, is_disconnected
from tensorc.tensor.var import TensorVariable, as_tensor_variable


def _T() -> Any:
    import tensorc.tensor as T
    return T


def _out_dtype(dtype: str) -> str:
    return dtype if dtype[:1] in "fc" and dtype != "float16" else "float64"


def as_matrix(x: Any, what: str, square: bool = False) -> Any:
    """``x`` as a tensor variable that must be a matrix (``what`` names it in errors)."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"{what}: expected a matrix, got {x} with ndim={x.ndim}")
    if x.dtype == "bool":
        raise TypeError(f"{what}: expected a numeric matrix, got dtype bool")
    return x


def _check_square(a: np.ndarray, what: str) -> None:
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{what}: expected a square matrix, got shape {a.shape}")


def _mat(dtype: str) -> TensorVariable:
    return TensorVariable(TensorType(dtype, (False, False)))


def _vec(dtype: str) -> TensorVariable:
    return TensorVariable(TensorType(dtype, (False,)))


def _zero_if_disconnected(g: Any, like: Any) -> Any:
    return _T().zeros_like(like) if is_disconnected(g) else g


class _UnaryMatrixOp(Op):
    """Base: one matrix in, one matrix of the same shape out."""

    name = "matrix op"
    square = True

    def make_node(self, x: Any) -> Apply:
        x = as_matrix(x, self.name)
        return Apply(self, [x], [_mat(_out_dtype(x.dtype))])

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]


class MatrixInverse(_UnaryMatrixOp):
    """``numpy.linalg.inv`` of a square matrix."""

    name = "matrix_inverse"

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        _check_square(inputs[0], self.name)
        return [np.asarray(np.linalg.inv(inputs[0]), dtype=node.outputs[0].dtype)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        xi = outputs[0]
        return [-xi.T.dot(output_grads[0]).dot(xi.T)]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if eval_points[0] is None:
            return [None]
        xi = self(inputs[0])
        return [-xi.dot(eval_points[0]).dot(xi)]


class MatrixPinv(_UnaryMatrixOp):
    """``numpy.linalg.pinv`` (Moore-Penrose pseudo-inverse; shape transposed)."""

    name = "pinv"

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(np.linalg.pinv(inputs[0]), dtype=node.outputs[0].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])[::-1]]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [grad_not_implemented(self, 0, inputs[0])]


class Det(Op):
    """``numpy.linalg.det`` of a square matrix (a scalar)."""

    def make_node(self, x: Any) -> Apply:
        x = as_matrix(x, "det")
        return Apply(self, [x], [TensorVariable(TensorType(_out_dtype(x.dtype), ()))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        _check_square(inputs[0], "det")
        return [np.asarray(np.linalg.det(inputs[0]), dtype=node.outputs[0].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [()]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [output_grads[0] * outputs[0] * MatrixInverse()(inputs[0]).T]


class Eig(Op):
    """``numpy.linalg.eig``: eigenvalues and right eigenvectors (complex128 outputs)."""

    def make_node(self, x: Any) -> Apply:
        x = as_matrix(x, "eig")
        dt = "complex64" if x.dtype in ("float32", "complex64") else "complex128"
        return Apply(self, [x], [_vec(dt), _mat(dt)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        _check_square(inputs[0], "eig")
        w, v = np.linalg.eig(inputs[0])
        return [np.asarray(w, dtype=node.outputs[0].dtype), np.asarray(v, dtype=node.outputs[1].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        n = input_shapes[0][0]
        return [(n,), (n, n)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [grad_not_implemented(self, 0, inputs[0])]


class Eigh(Op):
    """``numpy.linalg.eigh(x, UPLO)``: ascending eigenvalues and eigenvectors of a
    symmetric/Hermitian matrix, reading only its ``UPLO`` triangle."""

    __props__ = ("UPLO",)

    def __init__(self, UPLO: str = "L") -> None:  # noqa: N803 - numpy's name
        if UPLO not in ("L", "U"):
            raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
        self.UPLO = UPLO

    def make_node(self, x: Any) -> Apply:
        x = as_matrix(x, "eigh")
        dt = _out_dtype(x.dtype)
        real = {"complex64": "float32", "complex128": "float64"}.get(dt, dt)
        return Apply(self, [x], [_vec(real), _mat(dt)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        _check_square(inputs[0], "eigh")
        w, v = np.linalg.eigh(inputs[0], self.UPLO)
        return [np.asarray(w, dtype=node.outputs[0].dtype), np.asarray(v, dtype=node.outputs[1].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        n = input_shapes[0][0]
        return [(n,), (n, n)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        x = inputs[0]
        if x.dtype[:1] == "c":
            return [grad_not_implemented(self, 0, x, "complex eigh")]
        w, v = outputs
        gw = _zero_if_disconnected(output_grads[0], w)
        gv = _zero_if_disconnected(output_grads[1], v)
        return [EighGrad(self.UPLO)(x, w, v, gw, gv)]


class EighGrad(Op):
    """Gradient of ``Eigh`` wrt its input, folded onto the triangle ``eigh`` reads."""

    __props__ = ("UPLO",)

    def __init__(self, UPLO: str = "L") -> None:  # noqa: N803
        self.UPLO = UPLO

    def make_node(self, x: Any, w: Any, v: Any, gw: Any, gv: Any) -> Apply:
        ins = [as_tensor_variable(t) for t in (x, w, v, gw, gv)]
        return Apply(self, ins, [_mat(_out_dtype(ins[0].dtype))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        _, w, v, gw, gv = inputs
        diff = w[np.newaxis, :] - w[:, np.newaxis]  # diff[m, n] = w[n] - w[m]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(np.eye(len(w), dtype=bool), 0.0, 1.0 / np.where(diff == 0, np.inf, diff))
        inner = np.diag(gw) + (f * (v.T @ gv)).T
        g = v @ inner @ v.T
        if self.UPLO == "L":
            out = np.tril(g) + np.triu(g, 1).T
        else:
            out = np.triu(g) + np.tril(g, -1).T
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]


class SVD(Op):
    """``numpy.linalg.svd``: ``(U, s, V^H)`` or, without ``compute_uv``, only ``s``."""

    __props__ = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices: bool = True, compute_uv: bool = True) -> None:
        self.full_matrices, self.compute_uv = bool(full_matrices), bool(compute_uv)

    def make_node(self, x: Any) -> Apply:
        x = as_matrix(x, "svd")
        dt = _out_dtype(x.dtype)
        real = {"complex64": "float32", "complex128": "float64"}.get(dt, dt)
        outs = [_mat(dt), _vec(real), _mat(dt)] if self.compute_uv else [_vec(real)]
        return Apply(self, [x], outs)

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        res = np.linalg.svd(inputs[0], full_matrices=self.full_matrices, compute_uv=self.compute_uv)
        res = res if self.compute_uv else (res,)
        return [np.asarray(r, dtype=o.dtype) for r, o in zip(res, node.outputs)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        T = _T()
        m, n = input_shapes[0]
        k = T.minimum(m, n)
        if not self.compute_uv:
            return [(k,)]
        if self.full_matrices:
            return [(m, m), (k,), (n, n)]
        return [(m, k), (k,), (k, n)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [grad_not_implemented(self, 0, inputs[0])]


class QRFull(Op):
    """``numpy.linalg.qr(x, mode)`` for mode 'reduced', 'complete', 'r' or 'raw'."""

    __props__ = ("mode",)

    def __init__(self, mode: str = "reduced") -> None:
        if mode not in ("reduced", "complete", "r", "raw"):
            raise ValueError(f"qr: mode must be 'reduced', 'complete', 'r' or 'raw', got {mode!r}")
        self.mode = mode

    def make_node(self, x: Any) -> Apply:
        x = as_matrix(x, "qr")
        dt = _out_dtype(x.dtype)
        n_out = 1 if self.mode == "r" else 2
        outs = [_mat(dt) for _ in range(n_out)]
        if self.mode == "raw":
            outs[1] = _vec(dt)
        return Apply(self, [x], outs)

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        res = np.linalg.qr(inputs[0], mode=self.mode)
        res = (res,) if self.mode == "r" else tuple(res)
        return [np.asarray(r, dtype=o.dtype) for r, o in zip(res, node.outputs)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        T = _T()
        m, n = input_shapes[0]
        k = T.minimum(m, n)
        return {"reduced": [(m, k), (k, n)], "complete": [(m, m), (m, n)], "r": [(k, n)],
                "raw": [(n, m), (k,)]}[self.mode]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [grad_not_implemented(self, 0, inputs[0])]


def _tri_solve(a: np.ndarray, b: np.ndarray, lower: bool) -> np.ndarray:
    """Solve with the ``lower`` (else upper) triangle of ``a`` (scipy when available)."""
    from tensorc.ops.scalar_math import _scipy_special
    if _scipy_special() is not None:
        from scipy.linalg import solve_triangular
        return solve_triangular(a, b, lower=lower)
    return np.linalg.solve(np.tril(a) if lower else np.triu(a), b)


class Cholesky(Op):
    """Cholesky factor of a symmetric positive-definite matrix: ``lower`` gives L with
    ``x = L L^T`` (reads the lower triangle), otherwise the upper factor."""

    __props__ = ("lower",)

    def __init__(self, lower: bool = True) -> None:
        self.lower = bool(lower)

    def make_node(self, x: Any) -> Apply:
        x = as_matrix(x, "cholesky")
        return Apply(self, [x], [_mat(_out_dtype(x.dtype))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        _check_square(x, "cholesky")
        try:
            low = np.linalg.cholesky(x if self.lower else x.T)
        except np.linalg.LinAlgError as exc:
            raise ValueError(f"cholesky: the matrix of shape {x.shape} is not positive definite "
                             f"({exc})") from None
        return [np.asarray(low if self.lower else low.T, dtype=node.outputs[0].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [CholeskyGrad(self.lower)(inputs[0], outputs[0], output_grads[0])]


class CholeskyGrad(Op):
    """Gradient of ``Cholesky`` (Murray 2016), on the triangle the factorisation reads."""

    __props__ = ("lower",)

    def __init__(self, lower: bool = True) -> None:
        self.lower = bool(lower)

    def make_node(self, x: Any, chol: Any, gz: Any) -> Apply:
        ins = [as_tensor_variable(t) for t in (x, chol, gz)]
        return Apply(self, ins, [_mat(ins[0].type.dtype if ins[0].dtype[:1] in "fc" else "float64")])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        _, c, gz = inputs
        low, gl = (c, gz) if self.lower else (c.T, gz.T)
        phi = low.T @ gl
        phi = np.tril(phi) - np.diag(np.diag(phi)) / 2
        s = _tri_solve(low.T, _tri_solve(low.T, phi.T, lower=False).T, lower=False)
        g = np.tril(s + s.T) - np.diag(np.diag(s))
        return [np.asarray(g if self.lower else g.T, dtype=node.outputs[0].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[0])]


_STRUCTURES = ("general", "symmetric", "lower_triangular", "upper_triangular")


class Solve(Op):
    """``x`` with ``A x = b`` (``b`` a vector or a matrix).  ``A_structure`` is 'general',
    'symmetric', 'lower_triangular' or 'upper_triangular' (only that triangle is read)."""

    __props__ = ("A_structure", "lower")

    def __init__(self, A_structure: str = "general", lower: bool = False) -> None:  # noqa: N803
        if A_structure not in _STRUCTURES:
            raise ValueError(f"solve: A_structure must be one of {_STRUCTURES}, got {A_structure!r}")
        self.A_structure, self.lower = A_structure, bool(lower)

    def make_node(self, A: Any, b: Any) -> Apply:  # noqa: N803
        A = as_matrix(A, "solve: A")
        b = as_tensor_variable(b)
        if b.ndim not in (1, 2):
            raise TypeError(f"solve: b must be a vector or a matrix, got ndim={b.ndim}")
        from tensorc.graph.type import upcast
        dt = _out_dtype(upcast(A.dtype, b.dtype))
        return Apply(self, [A, b], [TensorVariable(TensorType(dt, b.broadcastable))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        A, b = inputs
        _check_square(A, "solve: A")
        if b.shape[0] != A.shape[0]:
            raise ValueError(f"solve: A of shape {A.shape} and b of shape {b.shape} do not match")
        try:
            if self.A_structure.endswith("triangular"):
                x = _tri_solve(A, b, lower=self.A_structure == "lower_triangular")
            else:
                x = np.linalg.solve(A, b)
        except np.linalg.LinAlgError as exc:
            raise ValueError(f"solve: A of shape {A.shape} is singular ({exc})") from None
        return [np.asarray(x, dtype=node.outputs[0].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[1])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        T = _T()
        A, _ = inputs
        c, c_bar = outputs[0], output_grads[0]
        flip = {"lower_triangular": "upper_triangular", "upper_triangular": "lower_triangular"}
        b_bar = Solve(flip.get(self.A_structure, self.A_structure), not self.lower)(A.T, c_bar)
        A_bar = -T.outer(b_bar, c) if c.ndim == 1 else -b_bar.dot(c.T)  # noqa: N806
        if self.A_structure == "lower_triangular":
            A_bar = T.tril(A_bar)  # noqa: N806
        elif self.A_structure == "upper_triangular":
            A_bar = T.triu(A_bar)  # noqa: N806
        return [A_bar, b_bar]


class Lstsq(Op):
    """``numpy.linalg.lstsq(a, b, rcond)``: solution, residuals, rank, singular values."""

    def make_node(self, a: Any, b: Any, rcond: Any) -> Apply:
        a = as_matrix(a, "lstsq: a")
        b, rcond = as_tensor_variable(b), as_tensor_variable(rcond)
        dt = _out_dtype(a.dtype)
        return Apply(self, [a, b, rcond], [TensorVariable(TensorType(dt, b.broadcastable)), _vec(dt),
                                           TensorVariable(TensorType("int64", ())), _vec(dt)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        res = np.linalg.lstsq(inputs[0], inputs[1], rcond=float(inputs[2]))
        return [np.asarray(r, dtype=o.dtype) for r, o in zip(res, node.outputs)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        raise NotImplementedError("lstsq: the residuals' length depends on the rank found")

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [grad_not_implemented(self, k, x) for k, x in enumerate(inputs)]
