"""Neural-network workloads: a dense layer with relu, and one MLP SGD training step.

The MLP is 784-500-10 (tanh hidden layer, softmax output, mean cross-entropy on one-hot
labels), batch 128, learning rate 0.01. Parameters live in shared variables (or their
framework's equivalent) and are updated in place; the check compares the parameters after
one step with a numpy SGD step.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.frameworks import (TheanoAPI, jax_module, jax_ready, pytensor_api,
                                   tensorc_api, torch_compiled)
from benchmarks.spec import Built, Inputs, Workload

N_IN, N_HID, N_OUT = 784, 500, 10
LR = 0.01
PARAMS = ("W1", "b1", "W2", "b2")
BOTH = ("float32", "float64")


def glorot(rng: np.random.Generator, n_in: int, n_out: int, dtype: str) -> np.ndarray:
    """Uniform Glorot initialisation, as in the Theano MLP tutorial."""
    bound = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)


def dense_inputs(batch: int, dtype: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``x`` (batch, 784), ``W`` (784, 500), ``b`` (500,)."""
    return {"x": rng.standard_normal((batch, N_IN)).astype(dtype),
            "W": glorot(rng, N_IN, N_HID, dtype),
            "b": rng.standard_normal(N_HID).astype(dtype) * 0.1}


def mlp_inputs(batch: int, dtype: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A batch (``x``, one-hot ``y``) and the initial parameters."""
    labels = rng.integers(0, N_OUT, batch)
    return {"x": rng.standard_normal((batch, N_IN)).astype(dtype),
            "y": np.eye(N_OUT, dtype=dtype)[labels],
            "W1": glorot(rng, N_IN, N_HID, dtype), "b1": np.zeros(N_HID, dtype),
            "W2": glorot(rng, N_HID, N_OUT, dtype), "b2": np.zeros(N_OUT, dtype)}


def mlp_grads(x: np.ndarray, y: np.ndarray, W1: np.ndarray, b1: np.ndarray,
              W2: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, ...]:
    """Hand-written backprop of the MLP's mean cross-entropy."""
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    dz = (p - y) / x.shape[0]
    dh = (dz @ W2.T) * (1 - h * h)
    return x.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)


def mlp_reference(inputs: Inputs) -> list[np.ndarray]:
    """The parameters after one SGD step."""
    params = [inputs[k] for k in PARAMS]
    grads = mlp_grads(inputs["x"], inputs["y"], *params)
    return [p - LR * g for p, g in zip(params, grads)]


# --- dense layer + relu ------------------------------------------------------------------------


def dense_theano(api: TheanoAPI, inputs: Inputs) -> Built:
    """``maximum(dot(x, W) + b, 0)`` with shared ``W`` and ``b``."""
    T = api.T
    x = T.matrix("x", dtype=str(inputs["x"].dtype))
    W, b = api.shared(inputs["W"], name="W"), api.shared(inputs["b"], name="b")
    f = api.function([x], T.maximum(T.dot(x, W) + b, 0))
    xv = inputs["x"]
    return Built(run=lambda: f(xv))


def dense_numpy(inputs: Inputs) -> Built:
    """Dense layer + relu in numpy (``np.maximum`` in place on the product)."""
    x, W, b = inputs["x"], inputs["W"], inputs["b"]

    def run() -> np.ndarray:
        z = x @ W
        z += b
        return np.maximum(z, 0, out=z)
    return Built(run=run)


def dense_jax(inputs: Inputs) -> Built:
    """Dense layer + relu with ``jax.jit``."""
    jax = jax_module()
    import jax.numpy as jnp
    f = jax.jit(lambda x, W, b: jnp.maximum(x @ W + b, 0))
    args = [jax.device_put(v) for v in inputs.values()]
    return Built(run=lambda: jax_ready(f(*args)))


def dense_torch(inputs: Inputs, compiled: bool) -> Built:
    """Dense layer + relu with torch eager or compiled."""
    import torch
    args = [torch.from_numpy(v) for v in inputs.values()]
    fn: Any = lambda x, W, b: torch.relu(torch.addmm(b, x, W))
    f = torch_compiled(fn) if compiled else fn

    def run() -> Any:
        with torch.no_grad():
            return f(*args)
    return Built(run=run)


# --- MLP training step ------------------------------------------------------------------------


def mlp_theano(api: TheanoAPI, inputs: Inputs) -> Built:
    """The Theano-tutorial style MLP step: shared params, ``T.grad``, ``updates``."""
    T = api.T
    dtype = str(inputs["x"].dtype)
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    params = [api.shared(inputs[k], name=k) for k in PARAMS]
    W1, b1, W2, b2 = params
    h = T.tanh(T.dot(x, W1) + b1)
    p = api.softmax(T.dot(h, W2) + b2)
    loss = -T.mean(T.sum(y * T.log(p), axis=1))
    grads = api.grad(loss, params)
    lr = np.asarray(LR, dtype=dtype)  # a Python float would upcast float32 params (Theano)
    f = api.function([x, y], loss, updates=[(w, w - lr * g) for w, g in zip(params, grads)])
    xv, yv = inputs["x"], inputs["y"]
    return Built(run=lambda: f(xv, yv), result=lambda _: [w.get_value() for w in params])


def mlp_numpy(inputs: Inputs) -> Built:
    """The same step in numpy with in-place parameter updates."""
    params = [inputs[k].copy() for k in PARAMS]
    x, y = inputs["x"], inputs["y"]

    def run() -> None:
        for w, g in zip(params, mlp_grads(x, y, *params)):
            w -= LR * g
    return Built(run=run, result=lambda _: [w.copy() for w in params])


def mlp_jax(inputs: Inputs) -> Built:
    """``jax.jit`` of a functional step; the new parameters replace the old (donated)."""
    jax = jax_module()
    import jax.numpy as jnp

    def loss(params: list[Any], x: Any, y: Any) -> Any:
        W1, b1, W2, b2 = params
        z = jnp.tanh(x @ W1 + b1) @ W2 + b2
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z, axis=1), axis=1))

    step = jax.jit(lambda ps, x, y: [w - LR * g for w, g in zip(ps, jax.grad(loss)(ps, x, y))],
                   donate_argnums=0)
    state = [[jax.device_put(inputs[k].copy()) for k in PARAMS]]
    x, y = jax.device_put(inputs["x"]), jax.device_put(inputs["y"])

    def run() -> None:
        state[0] = jax_ready(step(state[0], x, y))
    return Built(run=run, result=lambda _: [np.asarray(w) for w in state[0]])


def mlp_torch(inputs: Inputs, compiled: bool) -> Built:
    """Autograd step; ``torch.compile`` compiles the forward (and, via AOTAutograd, backward)."""
    import torch
    params = [torch.tensor(inputs[k]).requires_grad_(True) for k in PARAMS]
    x, y = torch.from_numpy(inputs["x"]), torch.from_numpy(inputs["y"])

    def loss(x: Any, y: Any, W1: Any, b1: Any, W2: Any, b2: Any) -> Any:
        z = torch.tanh(x @ W1 + b1) @ W2 + b2
        return -torch.mean(torch.sum(y * torch.log_softmax(z, dim=1), dim=1))
    f = torch_compiled(loss) if compiled else loss

    def run() -> None:
        f(x, y, *params).backward()
        with torch.no_grad():
            for w in params:
                w -= LR * w.grad
                w.grad = None
    return Built(run=run, result=lambda _: [w.detach().numpy().copy() for w in params])


DENSE = Workload(
    name="dense_relu", title="relu(x@W+b) 784->500", sizes=(16, 128, 1024), quick_sizes=(128,),
    dtypes=BOTH, quick_dtypes=("float32",), size_kind="batch", make_inputs=dense_inputs,
    reference=lambda x: np.maximum(x["x"] @ x["W"] + x["b"], 0),
    build_tensorc=lambda inputs, backend: dense_theano(tensorc_api(backend), inputs),
    build_numpy=dense_numpy,
    build_pytensor=lambda inputs: dense_theano(pytensor_api(), inputs),
    build_jax=dense_jax,
    build_torch=lambda inputs: dense_torch(inputs, compiled=False),
    build_torch_compile=lambda inputs: dense_torch(inputs, compiled=True),
)

MLP = Workload(
    name="mlp_step", title="MLP 784-500-10 SGD step", sizes=(128,), quick_sizes=(128,),
    dtypes=BOTH, quick_dtypes=("float32",), size_kind="batch", make_inputs=mlp_inputs,
    reference=mlp_reference,
    build_tensorc=lambda inputs, backend: mlp_theano(tensorc_api(backend), inputs),
    build_numpy=mlp_numpy,
    build_pytensor=lambda inputs: mlp_theano(pytensor_api(), inputs),
    build_jax=mlp_jax,
    build_torch=lambda inputs: mlp_torch(inputs, compiled=False),
    build_torch_compile=lambda inputs: mlp_torch(inputs, compiled=True),
)

WORKLOADS = (DENSE, MLP)
