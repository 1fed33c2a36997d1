"""The Theano tutorial's logistic-regression training step (400 examples, 784 features).

``train`` returns ``[prediction, xent]`` and updates the shared ``w`` and ``b`` exactly as in
the tutorial; the check compares ``w`` and ``b`` after one step with a numpy step.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.frameworks import TheanoAPI, jax_module, jax_ready, pytensor_api, tensorc_api
from benchmarks.spec import Built, Inputs, Workload

FEATS = 784
LR, L2 = 0.1, 0.01


def logreg_inputs(n: int, dtype: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The tutorial's ``D = (randn(N, feats), randint(0, 2, N))`` plus ``w`` and ``b = 0``."""
    return {"x": rng.standard_normal((n, FEATS)).astype(dtype),
            "y": rng.integers(0, 2, n).astype(dtype),
            "w": rng.standard_normal(FEATS).astype(dtype),
            "b": np.zeros((), dtype)}


def logreg_step(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``prediction, xent, gw, gb`` of the tutorial's cost, written out by hand (and stably:
    with these inputs ``p_1`` saturates to exactly 0 or 1)."""
    z = x @ w + b
    xent = y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)
    gz = (1 / (1 + np.exp(-z)) - y) / x.shape[0]
    return z > 0, xent, x.T @ gz + 2 * L2 * w, np.asarray(gz.sum())


def logreg_reference(inputs: Inputs) -> list[np.ndarray]:
    """``w`` and ``b`` after one step."""
    _, _, gw, gb = logreg_step(inputs["x"], inputs["y"], inputs["w"], inputs["b"])
    return [inputs["w"] - LR * gw, inputs["b"] - LR * gb]


def logreg_theano(api: TheanoAPI, inputs: Inputs) -> Built:
    """The tutorial program, nearly verbatim."""
    T = api.T
    dtype = str(inputs["x"].dtype)
    x, y = T.matrix("x", dtype=dtype), T.vector("y", dtype=dtype)
    w = api.shared(inputs["w"], name="w")
    b = api.shared(inputs["b"], name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + L2 * (w ** 2).sum()
    gw, gb = api.grad(cost, [w, b])
    train = api.function([x, y], [prediction, xent],
                         updates=((w, w - LR * gw), (b, b - LR * gb)))
    xv, yv = inputs["x"], inputs["y"]
    return Built(run=lambda: train(xv, yv),
                 result=lambda _: [w.get_value(), np.asarray(b.get_value())])


def logreg_numpy(inputs: Inputs) -> Built:
    """The same step in numpy, updating ``w`` and ``b`` in place."""
    x, y = inputs["x"], inputs["y"]
    w, b = inputs["w"].copy(), inputs["b"].copy()

    def run() -> tuple[np.ndarray, np.ndarray]:
        pred, xent, gw, gb = logreg_step(x, y, w, b)
        w[...] -= LR * gw
        b[...] -= LR * gb
        return pred, xent
    return Built(run=run, result=lambda _: [w.copy(), b.copy()])


def logreg_jax(inputs: Inputs) -> Built:
    """``jax.jit`` of a functional step returning the new ``w, b`` and the outputs (the
    cross-entropy written with ``log_sigmoid``, as JAX users would: the literal tutorial
    formula gives NaN gradients once ``p_1`` saturates)."""
    jax = jax_module()
    import jax.numpy as jnp

    def cost(wb: tuple[Any, Any], x: Any, y: Any) -> Any:
        w, b = wb
        z = x @ w + b
        xent = -y * jax.nn.log_sigmoid(z) - (1 - y) * jax.nn.log_sigmoid(-z)
        return xent.mean() + L2 * jnp.sum(w ** 2), (z > 0, xent)

    def step(wb: tuple[Any, Any], x: Any, y: Any) -> Any:
        (g, aux) = jax.grad(cost, has_aux=True)(wb, x, y)
        return (wb[0] - LR * g[0], wb[1] - LR * g[1]), aux

    f = jax.jit(step)
    state = [(jax.device_put(inputs["w"]), jax.device_put(inputs["b"]))]
    x, y = jax.device_put(inputs["x"]), jax.device_put(inputs["y"])

    def run() -> Any:
        state[0], aux = jax_ready(f(state[0], x, y))
        return aux
    return Built(run=run, result=lambda _: [np.asarray(v) for v in state[0]])


def logreg_torch(inputs: Inputs) -> Built:
    """Autograd step in torch eager (cross-entropy with ``logsigmoid``, see :func:`logreg_jax`)."""
    import torch
    from torch.nn.functional import logsigmoid
    x, y = torch.from_numpy(inputs["x"]), torch.from_numpy(inputs["y"])
    w = torch.tensor(inputs["w"]).requires_grad_(True)
    b = torch.tensor(inputs["b"]).requires_grad_(True)

    def run() -> Any:
        z = x @ w + b
        xent = -y * logsigmoid(z) - (1 - y) * logsigmoid(-z)
        (xent.mean() + L2 * (w ** 2).sum()).backward()
        with torch.no_grad():
            for v in (w, b):
                v -= LR * v.grad
                v.grad = None
        return z > 0, xent
    return Built(run=run, result=lambda _: [w.detach().numpy().copy(), b.detach().numpy().copy()])


LOGREG = Workload(
    name="logreg_step", title="Theano tutorial logreg step", sizes=(400,), quick_sizes=(400,),
    dtypes=("float64",), quick_dtypes=("float64",), size_kind="batch",
    make_inputs=logreg_inputs, reference=logreg_reference,
    build_tensorc=lambda inputs, backend: logreg_theano(tensorc_api(backend), inputs),
    build_numpy=logreg_numpy,
    build_pytensor=lambda inputs: logreg_theano(pytensor_api(), inputs),
    build_jax=logreg_jax,
    build_torch=logreg_torch,
)

WORKLOADS = (LOGREG,)
