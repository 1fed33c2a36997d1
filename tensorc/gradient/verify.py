"""``verify_grad``: check a symbolic gradient against central finite differences.

The output of ``fun`` is projected on a random tensor (so every output element
matters), the symbolic gradient of that scalar is compiled, and each input element
is perturbed by ``±eps``.  A mismatch raises ``GradientError`` naming the worst
element: input, position, analytic and numeric values, errors and tolerances.

>>> import numpy as np, tensorc.tensor as T
>>> verify_grad(lambda x: T.tanh(x) * x, [np.array([0.1, -0.4, 2.0])],
...             rng=np.random.default_rng(0))
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

#: default finite-difference step per dtype (central differences)
DEFAULT_EPS = {"float64": 1e-6, "float32": 2e-3, "float16": 2e-2}
#: default absolute and relative tolerance per dtype
DEFAULT_TOL = {"float64": 1e-4, "float32": 1e-2, "float16": 5e-2}


class GradientError(Exception):
    """The symbolic gradient of input ``arg`` differs from the numeric one."""

    def __init__(self, arg: int, err_pos: tuple, abs_err: float, rel_err: float,
                 abs_tol: float, rel_tol: float, analytic: float = float("nan"),
                 numeric: float = float("nan"), shape: tuple = ()) -> None:
        super().__init__()
        self.arg, self.err_pos = arg, err_pos
        self.abs_err, self.rel_err = abs_err, rel_err
        self.abs_tol, self.rel_tol = abs_tol, rel_tol
        self.analytic, self.numeric, self.shape = analytic, numeric, shape

    def __str__(self) -> str:
        return (f"gradient mismatch for input {self.arg} (shape {self.shape}) at position "
                f"{self.err_pos}: analytic {self.analytic!r}, numeric {self.numeric!r}; "
                f"abs error {self.abs_err:.3g} (tolerance {self.abs_tol:.3g}), "
                f"rel error {self.rel_err:.3g} (tolerance {self.rel_tol:.3g})")


def _as_rng(rng: Any) -> Any:
    if rng is None:
        return np.random.default_rng(12345)
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    raise TypeError(f"verify_grad: rng must be a numpy Generator or RandomState, got {type(rng).__name__}")


def _uniform(rng: Any, shape: tuple, dtype: str) -> np.ndarray:
    return np.asarray(rng.uniform(0.5, 1.5, size=shape) * np.where(rng.uniform(size=shape) < 0.5, -1, 1),
                      dtype=dtype)


def _coarser(a: str, b: str) -> str:
    order = ["float16", "float32", "complex64", "float64", "complex128"]
    rank = {d: i for i, d in enumerate(order)}
    a, b = (d if d in rank else "float64" for d in (a, b))
    low = min(rank[a], rank[b])
    return {"complex64": "float32", "complex128": "float64"}.get(order[low], order[low])


def numeric_grad(f: Callable[..., float], pt: Sequence[np.ndarray], eps: Sequence[float]) -> list[np.ndarray]:
    """Central differences of the scalar function ``f`` at ``pt`` (one step per input)."""
    grads = []
    work = [np.array(p, copy=True) for p in pt]
    for k, p in enumerate(work):
        g = np.zeros(p.shape, dtype="float64")
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps[k]
            hi = float(f(*work))
            flat[j] = orig - eps[k]
            lo = float(f(*work))
            flat[j] = orig
            gflat[j] = (hi - lo) / (2 * eps[k])
        grads.append(g)
    return grads


def _worst(analytic: np.ndarray, numeric: np.ndarray, abs_tol: float, rel_tol: float
           ) -> tuple[float, tuple, float, float]:
    """(score, position, abs err, rel err) of the worst element; score > 1 is a failure."""
    a = np.asarray(analytic, dtype="float64")
    abs_err = np.abs(a - numeric)
    rel_err = abs_err / np.maximum(np.abs(a) + np.abs(numeric), 1e-8)
    score = np.minimum(abs_err / abs_tol, rel_err / rel_tol)
    score = np.where(np.isnan(a) != np.isnan(numeric), np.inf, np.nan_to_num(score, nan=0.0))
    if score.size == 0:
        return 0.0, (), 0.0, 0.0
    pos = np.unravel_index(int(np.argmax(score)), score.shape)
    return float(score[pos]), tuple(int(i) for i in pos), float(abs_err[pos]), float(rel_err[pos])


def verify_grad(fun: Callable[..., Any], pt: Sequence[Any], n_tests: int = 2, rng: Any = None,
                eps: float | None = None, out_type: Any = None, abs_tol: float | None = None,
                rel_tol: float | None = None, mode: Any = None, cast_to_output_type: bool = False,
                no_debug_ref: bool = True) -> None:
    """Raise ``GradientError`` unless ``fun``'s symbolic gradient matches finite differences.

    ``fun`` takes one symbolic tensor per array of ``pt`` and returns one tensor.
    ``eps``, ``abs_tol`` and ``rel_tol`` default per dtype (looser for float32);
    an element passes if its absolute *or* relative error is within tolerance.

    >>> import numpy as np
    >>> from tensorc.gradient.ops import zero_grad
    >>> verify_grad(lambda a, b: a * b, [np.ones(3), np.arange(3.0)], rng=np.random.default_rng(1))
    >>> try:
    ...     verify_grad(lambda a: zero_grad(a) ** 2, [np.ones(2)])
    ... except GradientError as e:
    ...     print('mismatch for input', e.arg)
    mismatch for input 0
    """
    import tensorc
    import tensorc.tensor as T
    from tensorc.gradient.core import grad

    rng = _as_rng(rng)
    if not isinstance(pt, (list, tuple)):
        raise TypeError(f"verify_grad: pt must be a list of arrays (one per input of fun), "
                        f"got {type(pt).__name__}")
    pt = [np.array(p) for p in pt]
    for k, p in enumerate(pt):
        if p.dtype.kind != "f":
            raise TypeError(f"verify_grad: pt[{k}] has dtype {p.dtype}; finite differences "
                            f"need floating-point points (shape {p.shape})")
    inputs = [T.TensorType(p.dtype.name, tuple(n == 1 for n in p.shape))(f"input {k}")
              for k, p in enumerate(pt)]
    out = fun(*inputs)
    if isinstance(out, (list, tuple)):
        raise TypeError("verify_grad: fun must return a single tensor, got a list "
                        f"of {len(out)}; check each output separately")
    out = T.as_tensor_variable(out)
    f_out = tensorc.function(inputs, out, mode=mode, on_unused_input="ignore")
    out_shape = np.shape(f_out(*pt))
    out_dtype = out.dtype
    proj_var = T.TensorType(out_dtype, out.broadcastable)("projection")
    cost = T.sum(proj_var * out) if out.ndim else proj_var * out
    f_cost = tensorc.function(inputs + [proj_var], cost, mode=mode, on_unused_input="ignore")
    grads = grad(cost, inputs, disconnected_inputs="ignore")
    f_grad = tensorc.function(inputs + [proj_var], grads, mode=mode, on_unused_input="ignore")
    # the less precise of an input's dtype and the output's sets its step and tolerance
    prec = [_coarser(p.dtype.name, out_dtype) for p in pt]
    steps = [eps if eps is not None else DEFAULT_EPS.get(d, 1e-6) for d in prec]
    for _ in range(n_tests):
        proj = _uniform(rng, out_shape, out_dtype)
        analytic = f_grad(*pt, proj)
        numeric = numeric_grad(lambda *xs: f_cost(*xs, proj), pt, steps)
        for k, (a, n) in enumerate(zip(analytic, numeric)):
            dt = pt[k].dtype.name
            at = abs_tol if abs_tol is not None else DEFAULT_TOL.get(dt, 1e-4)
            rt = rel_tol if rel_tol is not None else DEFAULT_TOL.get(dt, 1e-4)
            if np.shape(a) != n.shape:
                raise GradientError(k, (), float("inf"), float("inf"), at, rt,
                                    shape=pt[k].shape) from ValueError(
                    f"analytic gradient shape {np.shape(a)} != input shape {n.shape}")
            score, pos, ae, re = _worst(a, n, at, rt)
            if score > 1:
                raise GradientError(k, pos, ae, re, at, rt, analytic=float(np.asarray(a)[pos]),
                                    numeric=float(n[pos]), shape=pt[k].shape)
