"""Call overhead: ``x + y`` on 0-d inputs, where the per-call cost is all that is measured."""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.frameworks import (TheanoAPI, jax_module, jax_ready, pytensor_api, tensorc_api,
                                   torch_compiled)
from benchmarks.spec import Built, Inputs, Workload


def scalar_inputs(size: int, dtype: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Two 0-d arrays (``size`` is ignored: it is always one element)."""
    return {"x": np.asarray(rng.standard_normal(), dtype), "y": np.asarray(rng.standard_normal(), dtype)}


def theano_add(api: TheanoAPI, inputs: Inputs) -> Built:
    """``function([x, y], x + y)`` on scalars, called with 0-d arrays."""
    dtype = str(inputs["x"].dtype)
    x, y = api.T.scalar("x", dtype=dtype), api.T.scalar("y", dtype=dtype)
    f = api.function([x, y], x + y)
    xv, yv = inputs["x"], inputs["y"]
    return Built(run=lambda: f(xv, yv))


def numpy_add(inputs: Inputs) -> Built:
    """``np.add`` on two 0-d arrays."""
    xv, yv = inputs["x"], inputs["y"]
    return Built(run=lambda: np.add(xv, yv))


def numexpr_add(inputs: Inputs) -> Built:
    """numexpr's re-evaluation of ``x+y``."""
    import numexpr as ne
    local = dict(inputs)
    ne.evaluate("x+y", local_dict=local)
    return Built(run=lambda: ne.re_evaluate(local_dict=local))


def jax_add(inputs: Inputs) -> Built:
    """A jitted ``x + y`` on device scalars."""
    jax = jax_module()
    f = jax.jit(lambda a, b: a + b)
    xv, yv = jax.device_put(inputs["x"]), jax.device_put(inputs["y"])
    return Built(run=lambda: jax_ready(f(xv, yv)))


def torch_add(inputs: Inputs, compiled: bool) -> Built:
    """``torch.add`` on 0-d tensors (eager, or a compiled function)."""
    import torch
    xv, yv = torch.from_numpy(inputs["x"]), torch.from_numpy(inputs["y"])
    f: Any = torch_compiled(lambda a, b: a + b) if compiled else torch.add
    return Built(run=lambda: f(xv, yv))


OVERHEAD = Workload(
    name="overhead", title="call overhead x+y (0-d)", sizes=(1,), quick_sizes=(1,),
    dtypes=("float64",), quick_dtypes=("float64",), size_kind="fixed",
    make_inputs=scalar_inputs, reference=lambda x: np.add(x["x"], x["y"]),
    build_tensorc=lambda inputs, backend: theano_add(tensorc_api(backend), inputs),
    build_numpy=numpy_add, build_numexpr=numexpr_add,
    build_pytensor=lambda inputs: theano_add(pytensor_api(), inputs),
    build_jax=jax_add,
    build_torch=lambda inputs: torch_add(inputs, compiled=False),
    build_torch_compile=lambda inputs: torch_add(inputs, compiled=True),
)

WORKLOADS = (OVERHEAD,)
