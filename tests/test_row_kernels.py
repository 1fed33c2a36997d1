"""Row kernels (``render/rows.py``: softmax, log_softmax, softmax_grad, logsumexp) on
rows of any stride: through compiled functions on both backends, and called directly
with strided/transposed inputs *and* outputs, plus the allocation-failure path of the
strided-row buffer (an error code, never a crash)."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import cache, compiler, runner
from tensorc.backend.c.errors import KernelError
from tensorc.backend.c.render.common import PREAMBLE
from tensorc.backend.c.render.rows import render_logsumexp, render_rows

from clib import library_in_temp_cache
from tensorc.ops.nnet import SoftmaxGrad

KINDS = ("softmax", "log_softmax", "softmax_grad", "logsumexp")
TOL = {"float32": 2e-5, "float64": 1e-12}


def reference(kind: str, *xs: np.ndarray) -> np.ndarray:
    """float64 numpy reference of one row kernel (rows along the last axis)."""
    x = xs[0].astype("float64")
    if kind == "softmax_grad":
        dy, sm = x, xs[1].astype("float64")
        return (dy - (dy * sm).sum(-1, keepdims=True)) * sm
    z = x - x.max(-1, keepdims=True)
    lse = np.log(np.exp(z).sum(-1, keepdims=True))
    return {"softmax": np.exp(z - lse), "log_softmax": z - lse,
            "logsumexp": (lse + x.max(-1, keepdims=True))[..., 0]}[kind]


def views(v: np.ndarray) -> list[np.ndarray]:
    """Contiguous, transposed, reversed and step-sliced views of a 2-d array."""
    return [v, v.T, v[:, ::-1], v[::2, ::3], np.asfortranarray(v)]


# -- through tensorc.function, both backends ----------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["softmax", "log_softmax", "softmax_grad"])
def test_function_strided_and_transposed_rows(mode, kind, dtype, rng):
    x, w = T.matrix("x", dtype=dtype), T.matrix("w", dtype=dtype)
    if kind == "softmax_grad":
        out, ins = SoftmaxGrad()(x, w), [x, w]
    else:
        out, ins = (T.nnet.softmax(x) if kind == "softmax" else T.nnet.logsoftmax(x)), [x]
    f = tensorc.function(ins, out, mode=mode)
    big = (rng.standard_normal((12, 37)) * 10).astype(dtype)
    for v in views(big):
        args = [v, reference("softmax", v).astype(dtype)] if kind == "softmax_grad" else [v]
        got = f(*args)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, reference(kind, *args), rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("kind", ["softmax", "log_softmax"])
def test_function_rows_of_a_3d_transpose(mode, kind, rng):
    x = T.tensor3("x", dtype="float64")
    op = T.nnet.softmax if kind == "softmax" else T.nnet.logsoftmax
    f = tensorc.function([x], op(x.dimshuffle(2, 0, 1)), mode=mode)
    v = rng.standard_normal((4, 5, 33)) * 5
    np.testing.assert_allclose(f(v), reference(kind, v.transpose(2, 0, 1)), rtol=1e-12, atol=1e-14)


# -- kernels called directly: strided outputs, pool, allocation failure ---------------------


def _source() -> str:
    parts = [PREAMBLE]
    for dtype, nd in (("float32", 2), ("float64", 2), ("float64", 3)):
        for kind in KINDS:
            name = f"{kind}_{dtype}_{nd}"
            if kind == "logsumexp":
                parts.append(render_logsumexp(name, dtype, nd, 32768))
            else:
                parts.append(render_rows(name, kind, dtype, nd, 2 if kind == "softmax_grad" else 1, 32768))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    if not compiler.compiler_available():
        pytest.skip("no C compiler")
    yield from library_in_temp_cache(tmp_path_factory, _source(), "row_kernels_test")


def _call(lib: cache.LoadedLib, kind: str, out: np.ndarray, *xs: np.ndarray) -> None:
    name = f"{kind}_{out.dtype}_{xs[0].ndim}"
    specs = [runner.spec_for(a.dtype, a.ndim) for a in xs]
    specs.append(runner.spec_for(out.dtype, out.ndim, writable=True))
    runner.KernelProgram([(lib.kernel(name), list(range(len(xs) + 1)))], specs)([*xs, out])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_direct_strided_inputs_and_outputs(lib, kind, dtype, rng):
    v = (rng.standard_normal((9, 70)) * 8).astype(dtype)
    for x in views(v) + [v[::-1].T[::2]]:
        xs = [x, reference("softmax", x).astype(dtype)] if kind == "softmax_grad" else [x]
        want = reference(kind, *xs)
        out = np.full(want.shape, np.nan, dtype=dtype)
        _call(lib, kind, out, *xs)
        np.testing.assert_allclose(out, want, rtol=TOL[dtype], atol=TOL[dtype])
        base = np.full(want.shape[:-1] + (3 * want.shape[-1] + 1,), np.nan, dtype=dtype)
        out = base[..., 1::3]  # last stride 3 elements
        _call(lib, kind, out, *xs)
        np.testing.assert_allclose(out, want, rtol=TOL[dtype], atol=TOL[dtype])
        base[..., 1::3] = 0
        assert np.isnan(base).sum() == base.size - out.size, "wrote outside the output view"


@pytest.mark.parametrize("kind", KINDS)
def test_direct_3d_many_rows_on_the_pool(lib, kind, rng):
    """Enough work for the thread pool, rows strided in every operand."""
    v = (rng.standard_normal((40, 64, 30)) * 8).transpose(1, 2, 0)[:, ::2]  # last stride 64*30*8
    xs = [v, reference("softmax", v)] if kind == "softmax_grad" else [v]
    want = reference(kind, *xs)
    out = np.empty(want.shape[::-1]).T if want.ndim == 3 else np.empty(want.shape)
    _call(lib, kind, out, *xs)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rows", [1, 4])
def test_direct_buffer_allocation_failure_is_an_error(lib, kind, rows):
    """Zero-stride rows of 2**40 and 2**56 elements: the row buffer (8 TB and more) cannot
    be allocated; the kernel returns TC_ERR_ALLOC, on one thread or on the pool."""
    for m in (2 ** 40, 2 ** 56):
        x = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(rows, m), strides=(0, 0),
                                            writeable=False)
        xs = [x, x] if kind == "softmax_grad" else [x]
        shape = (rows,) if kind == "logsumexp" else (rows, m)
        out = np.lib.stride_tricks.as_strided(np.zeros(1), shape=shape, strides=(0,) * len(shape),
                                              writeable=True)
        with pytest.raises(KernelError, match="out of memory") as info:
            _call(lib, kind, out, *xs)
        assert info.value.code == 6
