"""The declarative shape of a benchmark workload, shared by every workload family.

A :class:`Workload` names one computation, the sizes and dtypes it is run at, how to make
its inputs, a numpy reference for checking, and one builder per framework. A builder takes
the inputs and returns a :class:`Built`: a zero-argument callable to time plus a way to
fetch the result of the first call, for checking against the reference.

>>> import numpy as np
>>> b = Built(run=lambda: np.ones(2))
>>> b.result(b.run()).tolist()
[1.0, 1.0]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

Inputs = Mapping[str, np.ndarray]

#: Every framework column the runner knows, in table order.
FRAMEWORKS: tuple[str, ...] = (
    "tensorc-c", "tensorc-numpy", "numpy", "numexpr", "pytensor", "jax", "torch", "torch-compile",
)
#: The peers (not tensorc, not numpy) and the module each needs.
PEER_MODULES: Mapping[str, str] = {
    "numexpr": "numexpr", "pytensor": "pytensor", "jax": "jax",
    "torch": "torch", "torch-compile": "torch",
}


def to_numpy(value: Any) -> Any:
    """Convert a framework's result (array, tensor, tuple of them) to numpy, recursively."""
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    if hasattr(value, "detach"):  # torch
        return value.detach().cpu().numpy()
    return np.asarray(value)


@dataclass(frozen=True)
class Built:
    """A ready-to-time computation: ``run()`` is timed; ``result(first_output)`` is checked.

    ``result`` defaults to converting the output of ``run()`` to numpy. Training steps pass a
    ``result`` that ignores the output and reads the parameters after the step instead.
    """
    run: Callable[[], Any]
    result: Callable[[Any], Any] = to_numpy


Builder = Callable[[Inputs], Built]
TensorcBuilder = Callable[[Inputs, str], Built]


@dataclass(frozen=True)
class Workload:
    """One benchmark computation and how each framework builds it.

    ``size_kind`` says what a size means: ``"elements"`` workloads follow ``--sizes``;
    other kinds (``"batch"``, ``"fixed"``) keep their own sizes. ``bytes_moved(size, dtype)``
    is the least traffic to and from memory, for the bandwidth floor of memory-bound
    workloads (``None`` when the workload is compute- or overhead-bound).
    """
    name: str
    title: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    dtypes: tuple[str, ...]
    quick_dtypes: tuple[str, ...]
    make_inputs: Callable[[int, str, np.random.Generator], dict[str, np.ndarray]]
    reference: Callable[[Inputs], Any]
    size_kind: str = "elements"
    bytes_moved: Callable[[int, str], int] | None = None
    build_tensorc: TensorcBuilder | None = None
    build_numpy: Builder | None = None
    build_numexpr: Builder | None = None
    build_pytensor: Builder | None = None
    build_jax: Builder | None = None
    build_torch: Builder | None = None
    build_torch_compile: Builder | None = None

    def builder(self, framework: str) -> Builder | None:
        """The builder for a framework column, or ``None`` when it has none."""
        if framework == "tensorc-c" and self.build_tensorc is not None:
            tc = self.build_tensorc
            return lambda inputs: tc(inputs, "c")
        if framework == "tensorc-numpy" and self.build_tensorc is not None:
            tc = self.build_tensorc
            return lambda inputs: tc(inputs, "numpy")
        return {
            "numpy": self.build_numpy, "numexpr": self.build_numexpr,
            "pytensor": self.build_pytensor, "jax": self.build_jax, "torch": self.build_torch,
            "torch-compile": self.build_torch_compile,
        }.get(framework)


def streaming_bytes(arrays: int) -> Callable[[int, str], int]:
    """``bytes_moved`` for a kernel that streams ``arrays`` arrays of ``size`` elements."""
    return lambda size, dtype: arrays * size * np.dtype(dtype).itemsize


def normal_inputs(names: str, shape_of: Callable[[int], tuple[int, ...]]
                  ) -> Callable[[int, str, np.random.Generator], dict[str, np.ndarray]]:
    """``make_inputs`` giving standard-normal arrays named by the letters of ``names``."""
    def make(size: int, dtype: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {n: rng.standard_normal(shape_of(size)).astype(dtype) for n in names}
    return make


def tolerance(dtype: str) -> tuple[float, float]:
    """``(rtol, atol)`` used to compare a result of ``dtype`` with the float64 reference."""
    return (2e-4, 2e-5) if np.dtype(dtype).itemsize <= 4 else (1e-7, 1e-9)
