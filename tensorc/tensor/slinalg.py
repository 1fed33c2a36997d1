"""``tensorc.tensor.slinalg`` — Theano's ``theano.tensor.slinalg``: ``cholesky``,
``solve`` (general, symmetric or triangular ``A``), ``solve_lower_triangular``,
``solve_upper_triangular``, ``eigvalsh`` and ``kron``, all with gradients except ``kron``'s
(which is built from differentiable ops anyway).

>>> import numpy as np
>>> import tensorc.tensor as T
>>> A, b = T.dmatrix('A'), T.dvector('b')
>>> solve(A, b).eval({A: np.array([[2.0, 0.0], [0.0, 4.0]]), b: np.array([1.0, 1.0])}).tolist()
[0.5, 0.25]
"""
from __future__ import annotations

from typing import Any

from tensorc.ops.linalg import Cholesky, CholeskyGrad, Eigh, Solve  # noqa: F401
from tensorc.tensor.var import as_tensor_variable

cholesky = Cholesky()
solve = Solve()
solve_lower_triangular = Solve(A_structure="lower_triangular", lower=True)
solve_upper_triangular = Solve(A_structure="upper_triangular", lower=False)
solve_symmetric = Solve(A_structure="symmetric")


def eigvalsh(a: Any, b: Any = None, lower: bool = True) -> Any:
    """Ascending eigenvalues of the symmetric matrix ``a`` (reading its ``lower`` or upper
    triangle).  The generalized problem (``b`` given) is not supported."""
    if b is not None:
        raise NotImplementedError("eigvalsh: the generalized eigenproblem (b=...) is not supported")
    return Eigh("L" if lower else "U")(a)[0]


def kron(a: Any, b: Any) -> Any:
    """Kronecker product (``numpy.kron``); the one with fewer dimensions is padded on
    the left.  As in Theano, ``a.ndim + b.ndim`` must be at least 3.

    >>> import tensorc.tensor as T
    >>> kron(T.constant([[1, 2]]), T.constant([[1], [10]])).eval().tolist()
    [[1, 2], [10, 20]]
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim + b.ndim <= 2:
        raise TypeError(f"kron: a.ndim + b.ndim must be at least 3, got {a.ndim} and {b.ndim}")
    nd = max(a.ndim, b.ndim)
    a = a.dimshuffle(*["x"] * (nd - a.ndim), *range(a.ndim))
    b = b.dimshuffle(*["x"] * (nd - b.ndim), *range(b.ndim))
    o = a.dimshuffle(*[k for d in range(nd) for k in (d, "x")]) * \
        b.dimshuffle(*[k for d in range(nd) for k in ("x", d)])
    return o.reshape(tuple(a.shape[d] * b.shape[d] for d in range(nd)), ndim=nd)


__all__ = ["cholesky", "solve", "solve_lower_triangular", "solve_upper_triangular",
           "solve_symmetric", "eigvalsh", "kron", "Cholesky", "CholeskyGrad", "Solve"]
