"""Per-framework helpers the workload builders share.

tensorc and PyTensor both speak Theano's API, so one builder function serves both: it takes a
:class:`TheanoAPI` (the module pieces it needs) instead of importing a module by name.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Iterator, Sequence

import numpy as np


@dataclass(frozen=True)
class TheanoAPI:
    """The Theano-style entry points a builder uses: ``T``, ``shared``, ``grad``, ``softmax``,
    and ``function(inputs, outputs, updates=None)`` compiled in the column's mode."""
    T: ModuleType
    shared: Callable[..., Any]
    grad: Callable[..., Any]
    softmax: Callable[[Any], Any]
    function: Callable[..., Any]


def tensorc_api(backend: str) -> TheanoAPI:
    """tensorc's API: every rewrite (FAST_RUN), executed on ``backend`` ('c' or 'numpy')."""
    import tensorc
    import tensorc.tensor as T
    from tensorc.config import config

    mode = tensorc.Mode(optimizer="fast_run", backend=backend, name=f"FAST_RUN({backend})")

    def function(inputs: Sequence[Any], outputs: Any, updates: Any = None) -> Any:
        with config.change_flags(backend=backend):
            return tensorc.function(inputs, outputs, updates=updates, mode=mode)

    return TheanoAPI(T=T, shared=tensorc.shared,
                     grad=lambda *args, **kwargs: T.grad(*args, **kwargs),
                     softmax=lambda x: T.nnet.softmax(x), function=function)


def pytensor_api() -> TheanoAPI:
    """PyTensor's API compiling in its default FAST_RUN mode."""
    import pytensor
    import pytensor.tensor as T
    from pytensor.tensor.special import softmax

    def function(inputs: Sequence[Any], outputs: Any, updates: Any = None) -> Any:
        return pytensor.function(inputs, outputs, updates=updates, mode="FAST_RUN")

    return TheanoAPI(T=T, shared=pytensor.shared, grad=pytensor.grad,
                     softmax=lambda x: softmax(x, axis=-1), function=function)


def jax_module() -> ModuleType:
    """``jax`` with 64-bit floats enabled (float64 workloads must stay float64)."""
    import jax
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_ready(value: Any) -> Any:
    """Block until a jax result (or a tuple of them) is computed, and return it."""
    import jax
    return jax.block_until_ready(value)


def torch_inputs(inputs: dict[str, np.ndarray] | Any) -> list[Any]:
    """The inputs as torch tensors, sharing memory with the numpy arrays."""
    import torch
    return [torch.from_numpy(np.ascontiguousarray(v)) for v in inputs.values()]


def torch_compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``torch.compile(fn)`` with static shapes, compiled afresh on its first call (dynamo's
    caches are reset so that earlier sizes neither hit the recompile limit nor are reused)."""
    import torch
    torch._dynamo.reset()
    return torch.compile(fn, dynamic=False)


@contextlib.contextmanager
def torch_no_grad() -> Iterator[None]:
    """``torch.no_grad()`` as a context manager, importing torch lazily."""
    import torch
    with torch.no_grad():
        yield
