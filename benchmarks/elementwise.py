"""Elementwise workloads: ``2*a+3*b``, a transcendental chain, and two elementwise gradients.

Each expression is written once per framework from the same few lines; the Theano-style
builders (tensorc, PyTensor) share one function through :class:`TheanoAPI`.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks.frameworks import (TheanoAPI, jax_module, jax_ready, pytensor_api,
                                   tensorc_api, torch_compiled, torch_inputs)
from benchmarks.spec import Built, Inputs, Workload, normal_inputs, streaming_bytes

SIZES = (1_000, 100_000, 1_000_000, 10_000_000)
QUICK_SIZES = (1_000, 100_000, 1_000_000)
BOTH = ("float32", "float64")

# --- the expressions, written once against a namespace with the math functions -------------


def add_expr(m: Any, a: Any, b: Any) -> Any:
    """``2*a + 3*b``."""
    return 2 * a + 3 * b


def chain_expr(m: Any, a: Any, b: Any, c: Any) -> Any:
    """``tanh(a) * exp(-b**2) + log1p(abs(c))``."""
    return m.tanh(a) * m.exp(-b ** 2) + m.log1p(abs(c))


def bump_expr(m: Any, a: Any) -> Any:
    """``tanh(a) * exp(-a**2)``, whose gradient the ``grad`` workload computes."""
    return m.tanh(a) * m.exp(-a ** 2)


def bump_grad_numpy(a: np.ndarray) -> np.ndarray:
    """The hand-derived gradient of ``sum(bump_expr(a))``."""
    t, e = np.tanh(a), np.exp(-a * a)
    return e * ((1 - t * t) - 2 * a * t)


BUMP_GRAD_NUMEXPR = "exp(-a*a) * ((1 - tanh(a)**2) - 2*a*tanh(a))"


def mix_expr(m: Any, x: Any, y: Any) -> Any:
    """``tanh(x) * exp(y)``: the issue's gradient workload differentiates its sum by x and y."""
    return m.tanh(x) * m.exp(y)


def mix_grad_numpy(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The hand-derived gradients of ``sum(mix_expr(x, y))`` by x and by y."""
    t, e = np.tanh(x), np.exp(y)
    return [(1 - t * t) * e, t * e]


MIX_GRAD_NUMEXPR = ("(1 - tanh(x)**2) * exp(y)", "tanh(x) * exp(y)")

# --- builders shared by the three workloads --------------------------------------------------


def theano_expr(api: TheanoAPI, inputs: Inputs, expr: Callable[..., Any], wrt: int) -> Built:
    """Compile ``expr`` (or, with ``wrt`` > 0, the gradient of its sum w.r.t. the first
    ``wrt`` inputs) with a Theano API."""
    syms = [api.T.vector(name=k, dtype=str(v.dtype)) for k, v in inputs.items()]
    out = expr(api.T, *syms)
    if wrt:
        grads = api.grad(api.T.sum(out), syms[:wrt])
        out = grads[0] if wrt == 1 else grads
    f = api.function(syms, out)
    args = list(inputs.values())
    return Built(run=lambda: f(*args))


def numpy_expr(inputs: Inputs, expr: Callable[..., Any]) -> Built:
    """Evaluate ``expr`` with numpy."""
    args = list(inputs.values())
    return Built(run=lambda: expr(np, *args))


def numexpr_string(inputs: Inputs, text: str | tuple[str, ...]) -> Built:
    """Evaluate an expression string (or one per output) with numexpr."""
    import numexpr as ne
    local = dict(inputs)
    if isinstance(text, str):
        ne.evaluate(text, local_dict=local)  # compiled once, re-evaluated per call
        return Built(run=lambda: ne.re_evaluate(local_dict=local))
    return Built(run=lambda: [ne.evaluate(t, local_dict=local) for t in text])


def jax_expr(inputs: Inputs, expr: Callable[..., Any], wrt: int) -> Built:
    """``jax.jit`` of ``expr`` (or of the gradient of its sum by the first ``wrt`` inputs)."""
    jax = jax_module()
    import jax.numpy as jnp
    fn = (lambda *xs: expr(jnp, *xs))
    if wrt:
        fn = jax.grad(lambda *xs: jnp.sum(expr(jnp, *xs)),
                      argnums=0 if wrt == 1 else tuple(range(wrt)))
    f = jax.jit(fn)
    args = [jax.device_put(v) for v in inputs.values()]
    return Built(run=lambda: jax_ready(f(*args)))


def torch_expr(inputs: Inputs, expr: Callable[..., Any], wrt: int, compiled: bool) -> Built:
    """Evaluate ``expr`` with torch eager or ``torch.compile`` (autograd for the gradient)."""
    import torch
    args = torch_inputs(inputs)
    if wrt:
        def fn(*xs: Any) -> Any:
            xs = tuple(a.detach().requires_grad_(k < wrt) for k, a in enumerate(xs))
            gs = torch.autograd.grad(expr(torch, *xs).sum(), xs[:wrt])
            return gs[0] if wrt == 1 else list(gs)
    else:
        def fn(*xs: Any) -> Any:
            with torch.no_grad():
                return expr(torch, *xs)
    f = torch_compiled(fn) if compiled else fn
    return Built(run=lambda: f(*args))


def family(expr: Callable[..., Any], numexpr_text: str | tuple[str, ...], wrt: int = 0,
           numpy_grad: Callable[..., Any] | None = None) -> dict[str, Any]:
    """The seven builders of an elementwise workload, as ``Workload`` keyword arguments;
    ``wrt`` > 0: the gradient of the sum by the first ``wrt`` inputs (numpy evaluates the
    hand-derived ``numpy_grad``)."""
    return dict(
        build_tensorc=lambda inputs, backend: theano_expr(tensorc_api(backend), inputs, expr, wrt),
        build_numpy=(lambda inputs: Built(run=lambda: numpy_grad(*inputs.values())))
        if numpy_grad is not None else (lambda inputs: numpy_expr(inputs, expr)),
        build_numexpr=lambda inputs: numexpr_string(inputs, numexpr_text),
        build_pytensor=lambda inputs: theano_expr(pytensor_api(), inputs, expr, wrt),
        build_jax=lambda inputs: jax_expr(inputs, expr, wrt),
        build_torch=lambda inputs: torch_expr(inputs, expr, wrt, compiled=False),
        build_torch_compile=lambda inputs: torch_expr(inputs, expr, wrt, compiled=True),
    )


def flat(size: int) -> tuple[int, ...]:
    """A 1-d shape of ``size`` elements."""
    return (size,)


ADD = Workload(
    name="add", title="2*a+3*b", sizes=SIZES, quick_sizes=QUICK_SIZES,
    dtypes=BOTH, quick_dtypes=BOTH, make_inputs=normal_inputs("ab", flat),
    reference=lambda x: add_expr(np, x["a"], x["b"]), bytes_moved=streaming_bytes(3),
    **family(add_expr, "2*a+3*b"),
)

CHAIN = Workload(
    name="chain", title="tanh(a)*exp(-b**2)+log1p(abs(c))", sizes=SIZES,
    quick_sizes=QUICK_SIZES, dtypes=BOTH, quick_dtypes=("float64",),
    make_inputs=normal_inputs("abc", flat),
    reference=lambda x: chain_expr(np, x["a"], x["b"], x["c"]),
    **family(chain_expr, "tanh(a)*exp(-b**2)+log1p(abs(c))"),
)

GRAD = Workload(
    name="grad", title="grad of sum(tanh(a)*exp(-a**2))", sizes=SIZES,
    quick_sizes=QUICK_SIZES, dtypes=BOTH, quick_dtypes=("float64",),
    make_inputs=normal_inputs("a", flat), reference=lambda x: bump_grad_numpy(x["a"]),
    **family(bump_expr, BUMP_GRAD_NUMEXPR, wrt=1, numpy_grad=bump_grad_numpy),
)

GRAD_XY = Workload(
    name="grad_xy", title="grad of sum(tanh(x)*exp(y)) by x, y", sizes=SIZES,
    quick_sizes=(1_000_000,), dtypes=BOTH, quick_dtypes=("float64",),
    make_inputs=normal_inputs("xy", flat), reference=lambda v: mix_grad_numpy(v["x"], v["y"]),
    **family(mix_expr, MIX_GRAD_NUMEXPR, wrt=2, numpy_grad=mix_grad_numpy),
)

WORKLOADS = (ADD, CHAIN, GRAD, GRAD_XY)
