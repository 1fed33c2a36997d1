"""``tensorc.tensor.nlinalg`` — Theano's ``theano.tensor.nlinalg`` (linear algebra with
numpy): ``matrix_inverse``, ``det``, ``eig``, ``eigh``, ``svd``, ``qr``, ``pinv``, ``lstsq``,
``trace``, ``diag``, ``extract_diag``, ``alloc_diag``, ``matrix_dot``, ``matrix_power``,
``norm``, ``tensorinv``, ``tensorsolve``.

>>> import numpy as np
>>> import tensorc.tensor as T
>>> A = T.dmatrix('A')
>>> float(det(A).eval({A: np.array([[1.0, 2.0], [3.0, 4.0]])}))
-2.0000000000000004
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tensorc.ops.linalg import (SVD, Det, Eig, Eigh, EighGrad, Lstsq, MatrixInverse,  # noqa: F401
                                MatrixPinv, QRFull, as_matrix)
from tensorc.tensor.var import as_tensor_variable


def _T() -> Any:
    import tensorc.tensor as T
    return T


matrix_inverse = MatrixInverse()
pinv = MatrixPinv()
det = Det()
eig = Eig()


def eigh(a: Any, UPLO: str = "L") -> list[Any]:  # noqa: N803 - numpy's name
    """``[w, v]``: ascending eigenvalues and eigenvectors of a symmetric matrix."""
    return Eigh(UPLO)(a)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """``[U, s, V^H]`` (or only ``s`` without ``compute_uv``), as ``numpy.linalg.svd``."""
    return SVD(full_matrices, compute_uv)(a)


def qr(a: Any, mode: str = "reduced") -> Any:
    """QR decomposition, as ``numpy.linalg.qr``: ``[q, r]`` (only ``r`` for mode 'r')."""
    return QRFull(mode)(a)


def lstsq(a: Any, b: Any, rcond: Any = -1) -> list[Any]:
    """Least-squares solution of ``a x = b``: ``[x, residuals, rank, s]`` (``rcond`` < 0:
    machine precision)."""
    return Lstsq()(a, b, rcond)


def extract_diag(x: Any) -> Any:
    """The main diagonal of the matrix ``x`` as a vector."""
    return _T().diagonal(as_matrix(x, "extract_diag"))


def alloc_diag(v: Any) -> Any:
    """A square matrix with the vector ``v`` on its diagonal and zeros elsewhere."""
    T = _T()
    v = as_tensor_variable(v)
    if v.ndim != 1:
        raise TypeError(f"alloc_diag: expected a vector, got ndim={v.ndim}")
    n = v.shape[0]
    return T.eye(n, n, dtype=v.dtype if v.dtype != "bool" else "int8") * v.dimshuffle("x", 0)


def diag(x: Any) -> Any:
    """``numpy.diag``: the diagonal of a matrix, or a diagonal matrix from a vector."""
    x = as_tensor_variable(x)
    if x.ndim == 1:
        return alloc_diag(x)
    if x.ndim == 2:
        return extract_diag(x)
    raise TypeError(f"diag: expected a vector or a matrix, got ndim={x.ndim}")


def trace(X: Any) -> Any:  # noqa: N803
    """Sum of the main diagonal of the matrix ``X``."""
    return _T().sum(extract_diag(X))


def matrix_dot(*args: Any) -> Any:
    """``args[0].dot(args[1]).dot(...)``."""
    if not args:
        raise TypeError("matrix_dot: needs at least one argument")
    out = as_tensor_variable(args[0])
    for a in args[1:]:
        out = _T().dot(out, a)
    return out


def matrix_power(M: Any, n: int) -> Any:  # noqa: N803
    """``M`` multiplied by itself ``n`` times (``n`` a non-negative Python int)."""
    T = _T()
    M = as_matrix(M, "matrix_power")  # noqa: N806
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"matrix_power: n must be a non-negative int, got {n!r}")
    if n == 0:
        return T.identity_like(M)
    result, base = None, M
    while n:
        if n & 1:
            result = base if result is None else T.dot(result, base)
        n >>= 1
        if n:
            base = T.dot(base, base)
    return result


def norm(x: Any, ord: Any) -> Any:  # noqa: A002 - numpy's name
    """Vector norms (``ord`` None/2, inf, -inf, 0, other numbers) and matrix norms
    (``ord`` None/'fro', 'inf', '-inf', 1, -1), as ``numpy.linalg.norm``."""
    T = _T()
    x = as_tensor_variable(x)
    if x.ndim == 1:
        if ord is None:
            return T.sqrt(T.sum(T.sqr(T.abs_(x))))
        if ord == "inf" or ord == np.inf:
            return T.max(T.abs_(x))
        if ord == "-inf" or ord == -np.inf:
            return T.min(T.abs_(x))
        if ord == 0:
            return T.cast(T.sum(T.neq(x, 0)), "floatX" if x.dtype[:1] not in "fc" else x.dtype)
        return T.sum(T.abs_(x) ** ord) ** (1.0 / ord)
    if x.ndim == 2:
        if ord is None or ord == "fro":
            return T.sqrt(T.sum(T.sqr(T.abs_(x))))
        if ord == "inf" or ord == np.inf:
            return T.max(T.sum(T.abs_(x), axis=1))
        if ord == "-inf" or ord == -np.inf:
            return T.min(T.sum(T.abs_(x), axis=1))
        if ord == 1:
            return T.max(T.sum(T.abs_(x), axis=0))
        if ord == -1:
            return T.min(T.sum(T.abs_(x), axis=0))
        raise ValueError(f"norm: matrix order {ord!r} is not supported (use None, 'fro', 'inf', "
                         f"'-inf', 1 or -1)")
    raise ValueError(f"norm: x must be a vector or a matrix, got ndim={x.ndim}")


def _prod(dims: Any) -> Any:
    out: Any = 1
    for d in dims:
        out = out * d
    return out


def tensorinv(a: Any, ind: int = 2) -> Any:
    """The inverse of ``a`` for ``tensordot`` over its first ``ind`` axes
    (``numpy.linalg.tensorinv``)."""
    a = as_tensor_variable(a)
    if not 0 < ind < a.ndim:
        raise ValueError(f"tensorinv: ind={ind} must be in 1..{a.ndim - 1} for ndim={a.ndim}")
    shp = [a.shape[i] for i in range(a.ndim)]
    inv = matrix_inverse(a.reshape((_prod(shp[:ind]), _prod(shp[ind:])), ndim=2))
    return inv.reshape(tuple(shp[ind:] + shp[:ind]), ndim=a.ndim)


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """``x`` with ``tensordot(a, x, x.ndim) == b`` (``numpy.linalg.tensorsolve``)."""
    T = _T()
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if axes is not None:
        axes = [ax % a.ndim for ax in axes]
        rest = [d for d in range(a.ndim) if d not in axes]
        a = a.dimshuffle(*(rest + axes))
    if not 0 < b.ndim < a.ndim:
        raise ValueError(f"tensorsolve: b.ndim={b.ndim} must be smaller than a.ndim={a.ndim}")
    shp = [a.shape[i] for i in range(a.ndim)]
    from tensorc.ops.linalg import Solve
    x = Solve()(a.reshape((_prod(shp[:b.ndim]), _prod(shp[b.ndim:])), ndim=2), b.flatten())
    return T.reshape(x, tuple(shp[b.ndim:]), ndim=a.ndim - b.ndim)


__all__ = ["matrix_inverse", "pinv", "det", "eig", "eigh", "svd", "qr", "lstsq", "extract_diag",
           "alloc_diag", "diag", "trace", "matrix_dot", "matrix_power", "norm", "tensorinv",
           "tensorsolve", "MatrixInverse", "MatrixPinv", "Det", "Eig", "Eigh", "EighGrad", "SVD",
           "QRFull", "Lstsq"]
