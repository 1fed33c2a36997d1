"""Reduction workloads: ``sum((a-b)**2)``, row-wise softmax and row-wise logsumexp.

Row-wise workloads take ``size`` elements as a ``(size // cols, cols)`` matrix with
``cols = min(size, 1000)``: one row of 1000 classes at 1e3, 10 000 rows at 1e7.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.elementwise import QUICK_SIZES, SIZES, flat
from benchmarks.frameworks import (TheanoAPI, jax_module, jax_ready, pytensor_api,
                                   tensorc_api, torch_compiled, torch_inputs)
from benchmarks.spec import Built, Inputs, Workload, normal_inputs, streaming_bytes

BOTH = ("float32", "float64")


def rows(size: int) -> tuple[int, int]:
    """The matrix shape used for ``size`` elements in the row-wise workloads."""
    cols = min(size, 1000)
    return (max(1, size // cols), cols)


def softmax_numpy(x: np.ndarray) -> np.ndarray:
    """Numerically stable row-wise softmax."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logsumexp_numpy(x: np.ndarray) -> np.ndarray:
    """Numerically stable row-wise logsumexp."""
    m = x.max(axis=1, keepdims=True)
    return m[:, 0] + np.log(np.exp(x - m).sum(axis=1))


def sumsq_numpy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum((a-b)**2)``."""
    d = a - b
    return np.asarray(np.dot(d, d)) if d.ndim == 1 else np.sum(d * d)


# --- Theano-style (tensorc, PyTensor) ----------------------------------------------------------


def theano_build(api: TheanoAPI, inputs: Inputs, kind: str) -> Built:
    """Compile one of the three reductions with a Theano-style API."""
    T = api.T
    dtype = str(next(iter(inputs.values())).dtype)
    if kind == "sumsq":
        a, b = T.vector("a", dtype=dtype), T.vector("b", dtype=dtype)
        syms, out = [a, b], T.sum((a - b) ** 2)
    else:
        x = T.matrix("x", dtype=dtype)
        if kind == "softmax":
            out = api.softmax(x)
        else:
            m = T.max(x, axis=1, keepdims=True)
            out = m.flatten() + T.log(T.sum(T.exp(x - m), axis=1))
        syms = [x]
    f = api.function(syms, out)
    args = list(inputs.values())
    return Built(run=lambda: f(*args))


def numpy_build(inputs: Inputs, kind: str) -> Built:
    """The reductions with numpy (the sum uses ``np.sum`` on a temporary, like users write)."""
    args = list(inputs.values())
    fn = {"sumsq": lambda a, b: np.sum((a - b) ** 2), "softmax": softmax_numpy,
          "logsumexp": logsumexp_numpy}[kind]
    return Built(run=lambda: fn(*args))


def jax_build(inputs: Inputs, kind: str) -> Built:
    """``jax.jit`` of the reductions."""
    jax = jax_module()
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp
    fn = {"sumsq": lambda a, b: jnp.sum((a - b) ** 2),
          "softmax": lambda x: jax.nn.softmax(x, axis=1),
          "logsumexp": lambda x: logsumexp(x, axis=1)}[kind]
    f = jax.jit(fn)
    args = [jax.device_put(v) for v in inputs.values()]
    return Built(run=lambda: jax_ready(f(*args)))


def torch_build(inputs: Inputs, kind: str, compiled: bool) -> Built:
    """The reductions with torch eager or ``torch.compile``."""
    import torch
    fn: Any = {"sumsq": lambda a, b: torch.sum((a - b) ** 2),
               "softmax": lambda x: torch.softmax(x, dim=1),
               "logsumexp": lambda x: torch.logsumexp(x, dim=1)}[kind]
    f = torch_compiled(fn) if compiled else fn
    args = torch_inputs(inputs)

    def run() -> Any:
        with torch.no_grad():
            return f(*args)
    return Built(run=run)


def numexpr_sumsq(inputs: Inputs) -> Built:
    """``sum((a-b)**2)`` with numexpr (its reductions take the whole array)."""
    import numexpr as ne
    local = dict(inputs)
    ne.evaluate("sum((a-b)**2)", local_dict=local)
    return Built(run=lambda: ne.re_evaluate(local_dict=local))


def builders(kind: str) -> dict[str, Any]:
    """The builders of one reduction, as ``Workload`` keyword arguments."""
    return dict(
        build_tensorc=lambda inputs, backend: theano_build(tensorc_api(backend), inputs, kind),
        build_numpy=lambda inputs: numpy_build(inputs, kind),
        build_numexpr=numexpr_sumsq if kind == "sumsq" else None,
        build_pytensor=lambda inputs: theano_build(pytensor_api(), inputs, kind),
        build_jax=lambda inputs: jax_build(inputs, kind),
        build_torch=lambda inputs: torch_build(inputs, kind, compiled=False),
        build_torch_compile=lambda inputs: torch_build(inputs, kind, compiled=True),
    )


def logsumexp_bytes(size: int, dtype: str) -> int:
    """Read the matrix once, write one value per row."""
    r, c = rows(size)
    return (r * c + r) * np.dtype(dtype).itemsize


SUMSQ = Workload(
    name="sumsq", title="sum((a-b)**2)", sizes=SIZES, quick_sizes=QUICK_SIZES,
    dtypes=BOTH, quick_dtypes=("float64",), make_inputs=normal_inputs("ab", flat),
    reference=lambda x: sumsq_numpy(x["a"], x["b"]), bytes_moved=streaming_bytes(2),
    **builders("sumsq"),
)

SOFTMAX = Workload(
    name="softmax", title="softmax(x, axis=1)", sizes=SIZES, quick_sizes=QUICK_SIZES,
    dtypes=BOTH, quick_dtypes=("float64",), make_inputs=normal_inputs("x", rows),
    reference=lambda x: softmax_numpy(x["x"]), bytes_moved=streaming_bytes(2),
    **builders("softmax"),
)

LOGSUMEXP = Workload(
    name="logsumexp", title="logsumexp(x, axis=1)", sizes=SIZES, quick_sizes=QUICK_SIZES,
    dtypes=BOTH, quick_dtypes=("float64",), make_inputs=normal_inputs("x", rows),
    reference=lambda x: logsumexp_numpy(x["x"]), bytes_moved=logsumexp_bytes,
    **builders("logsumexp"),
)

WORKLOADS = (SUMSQ, SOFTMAX, LOGSUMEXP)
