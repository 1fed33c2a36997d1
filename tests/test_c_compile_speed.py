"""Correctness of what makes cold compiles cheaper (not their speed: that is the bench's).

- Elementwise kernels specialise only their loop body; the shared driver ``tc_ew_run``
  checks shapes, collapses dimensions and sends operands with a non-unit inner stride
  through a chunked copy buffer.  These tests drive every branch of that driver against
  numpy: transposed, sliced, negative and zero strides, 1- to 16-byte items, rows longer
  than a copy chunk and than a piece (8192), many operands, multi-output fusion,
  in-place updates, zero-size and length-1 dimensions, and bad shapes.
- ``split_units`` cuts a function's kernels into translation units: every kernel exactly
  once, program order inside a unit, costs balanced.
"""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c.render import compile_cost, split_units


def _strided(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, how: str) -> np.ndarray:
    """An array of ``shape`` whose memory layout is ``how``."""
    if how == "transposed":
        base = rng.standard_normal(shape[::-1])
        return base.astype(dtype).T
    if how == "sliced":
        big = rng.standard_normal(tuple(2 * s + 1 for s in shape)).astype(dtype)
        return big[tuple(slice(1, None, 2) for _ in shape)]
    if how == "reversed":
        return rng.standard_normal(shape).astype(dtype)[..., ::-1]
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("how", ["contiguous", "transposed", "sliced", "reversed"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_tanh_exp_any_layout(mode, rng, how, dtype):
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    f = tensorc.function([x, y], T.tanh(x) * T.exp(-y * y) + 1, mode=mode)
    a = _strided(rng, (37, 3001), dtype, how)  # rows longer than a copy chunk, odd length
    b = _strided(rng, (37, 3001), dtype, "contiguous" if how == "reversed" else how)
    want = np.tanh(a) * np.exp(-b * b) + 1
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(f(a, b), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "complex128", "bool"])
def test_strided_operands_of_every_item_size(mode, rng, dtype):
    x = T.matrix("x", dtype=dtype)
    y = T.matrix("y", dtype=dtype)
    out = (x | y) if dtype == "bool" else (x * y + x)
    f = tensorc.function([x, y], out, mode=mode)
    if dtype == "bool":
        a, b = rng.random((300, 41)) < 0.5, rng.random((41, 300)).T < 0.5
    elif dtype == "complex128":
        a = (rng.standard_normal((300, 41)) + 1j * rng.standard_normal((300, 41)))[:, ::-1]
        b = (rng.standard_normal((41, 300)) + 1j * rng.standard_normal((41, 300))).T
    else:
        a = rng.integers(-9, 9, (300, 82)).astype(dtype)[:, ::2]
        b = rng.integers(-9, 9, (41, 300)).astype(dtype).T
    want = (a | b) if dtype == "bool" else (a * b + a)
    got = f(a, b)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_long_strided_rows_span_pieces_and_threads(mode, rng):
    x = T.dmatrix("x")
    f = tensorc.function([x], T.exp(x) * 2 - x, mode=mode)
    a = rng.standard_normal((20001, 3)).T  # 3 rows of 20001 strided elements: 3 pieces each
    np.testing.assert_allclose(f(a), np.exp(a) * 2 - a, rtol=1e-13, atol=1e-14)
    c = rng.standard_normal((5, 70001))[:, ::7]  # contiguous rows of 10001, stride 56 bytes
    np.testing.assert_allclose(f(c), np.exp(c) * 2 - c, rtol=1e-13, atol=1e-14)


def test_many_strided_operands(mode, rng):
    xs = [T.dmatrix(f"x{k}") for k in range(24)]
    out = xs[0]
    for k, v in enumerate(xs[1:]):
        out = out * 0.5 + v * (k + 1)
    f = tensorc.function(xs, out, mode=mode)
    vals = [rng.standard_normal((130, 90)).T for _ in xs]
    want = vals[0]
    for k, v in enumerate(vals[1:]):
        want = want * 0.5 + v * (k + 1)
    np.testing.assert_allclose(f(*vals), want, rtol=1e-12)


def test_broadcast_rows_columns_and_scalars_with_strides(mode, rng):
    x, r, c, s = T.dmatrix("x"), T.drow("r"), T.dcol("c"), T.dscalar("s")
    f = tensorc.function([x, r, c, s], T.tanh(x + r) * c - s, mode=mode)
    a = rng.standard_normal((400, 257)).T  # (257, 400) transposed
    rv = rng.standard_normal((1, 800))[:, ::2]
    cv = rng.standard_normal((257, 3))[:, 1:2]
    want = np.tanh(a + rv) * cv - 0.25
    np.testing.assert_allclose(f(a, rv, cv, 0.25), want, rtol=1e-13, atol=1e-15)


def test_multi_output_fusion_with_strided_outputs_and_inputs(mode, rng):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = tensorc.function([x, y], [T.exp(x) + y, T.exp(x) * y], mode=mode)
    a, b = rng.standard_normal((60, 1500)).T, rng.standard_normal((1500, 120))[:, ::2]
    got = f(a, b)
    np.testing.assert_allclose(got[0], np.exp(a) + b, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(got[1], np.exp(a) * b, rtol=1e-13, atol=1e-14)


def test_inplace_update_of_a_shared_strided_value(mode, rng):
    start = rng.standard_normal((200, 300))
    w = tensorc.shared(start.copy(), name="w")
    g = T.dmatrix("g")
    step = tensorc.function([g], [], updates=[(w, w - 0.1 * T.tanh(g))], mode=mode)
    gv = rng.standard_normal((300, 200)).T
    step(gv)
    step(gv)
    np.testing.assert_allclose(w.get_value(), start - 0.2 * np.tanh(gv), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (1, 1), (7, 1), (1, 9)])
def test_zero_size_and_length_one_dimensions(mode, rng, shape):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = tensorc.function([x, y], T.exp(x) - y, mode=mode)
    a = np.asfortranarray(rng.standard_normal(shape))
    b = rng.standard_normal(shape[::-1]).T
    np.testing.assert_allclose(f(a, b), np.exp(a) - b, rtol=1e-13, atol=1e-14)


def test_shape_mismatch_still_raises(mode, rng):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = tensorc.function([x, y], T.exp(x) + y, mode=mode)
    with pytest.raises(ValueError):
        f(rng.standard_normal((4, 5)), rng.standard_normal((5, 4)).T[:, :3])
    r = T.drow("r")
    g = tensorc.function([x, r], x * r, mode=mode)
    with pytest.raises(ValueError):
        g(rng.standard_normal((4, 5)), rng.standard_normal((2, 5)))


def _kernels(sizes: list[int]) -> list[tuple[str, str]]:
    return [(f"k{k}", "x" * n) for k, n in enumerate(sizes)]


@pytest.mark.parametrize("sizes", [[5000, 700, 700, 300, 6500, 3400, 700, 4500, 4500, 700],
                                   [100] * 30, [9000], [], [3000, 3000, 3000, 3000, 3000]])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_split_units_cover_every_kernel_once_in_order(sizes, n):
    kernels = _kernels(sizes)
    units = split_units(kernels, n)
    names = [name for u in units for name, _ in u]
    assert sorted(names) == sorted(name for name, _ in kernels)
    order = {name: k for k, (name, _) in enumerate(kernels)}
    for u in units:
        assert [order[name] for name, _ in u] == sorted(order[name] for name, _ in u)
        assert u
    assert len(units) <= max(1, n)
    assert split_units(kernels, n) == units  # deterministic: the cache key is the source


def test_split_units_balance_compile_cost():
    sizes = [5000, 700, 700, 300, 6500, 3400, 700, 4500, 4500, 700, 3400, 700]
    units = split_units(_kernels(sizes), 2)
    loads = [sum(compile_cost(src) for _, src in u) for u in units]
    assert len(units) == 2
    assert max(loads) - min(loads) <= max(sizes)  # longest-first greedy bound
    assert max(loads) <= sum(sizes) * 0.55


def test_split_units_keep_small_functions_in_one_unit():
    assert len(split_units(_kernels([700, 700, 300]), 2)) == 1


def test_mlp_step_units_hold_every_kernel(rng):
    """An MLP training step: its kernels are cut as ``split_units`` says, each is found in
    its library, and the step matches the numpy backend."""
    from tensorc.backend.c.driver import _cores, c_backend_available
    if not c_backend_available():
        pytest.skip("no C backend")
    x, t, w, b = T.dmatrix("x"), T.dmatrix("t"), T.dmatrix("w"), T.dvector("b")
    h = T.tanh(T.dot(x, w) + b)
    loss = T.mean((T.nnet.softmax(h) - t) ** 2)
    gw, gb = T.grad(loss, [w, b])
    outs = [loss, w - 0.01 * gw, b - 0.01 * gb]
    f = tensorc.function([x, t, w, b], outs, mode=tensorc.Mode(optimizer="fast_run", backend="c"))
    prog, libs = f._runner.program, f._runner.libs
    units = split_units(prog.unique_kernels(), _cores())
    assert len(libs.libs) == len(units)
    for k, unit in enumerate(units):
        for name, src in unit:
            assert src in open(libs.libs[k].source_path).read()
            assert libs.kernel(name) is not None
    ref = tensorc.function([x, t, w, b], outs, mode=tensorc.Mode(optimizer="fast_run", backend="numpy"))
    vals = [rng.standard_normal((16, 8)), rng.random((16, 5)), rng.standard_normal((8, 5)),
            rng.standard_normal(5)]
    for got, want in zip(f(*vals), ref(*vals)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int16", "complex128"])
def test_kernel_writes_strided_outputs_through_the_buffer(rng, dtype):
    """Functions always hand kernels fresh contiguous outputs; called directly, a kernel
    must also scatter into transposed and sliced outputs (the driver's copy-out)."""
    from tensorc.backend.c import cache, runner
    from tensorc.backend.c.driver import c_backend_available
    from tensorc.backend.c.render import library_source, render_node
    if not c_backend_available():
        pytest.skip("no C backend")
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    src = render_node((x * y).owner, "k0", 1 << 40)[0]  # one Elemwise: in0 * in1
    lib = cache.get_library(library_source([("k0", src)]), name_hint="strided_out")
    spec = runner.spec_for(dtype, 2)
    prog = runner.KernelProgram([(lib.kernel("k0"), [0, 1, 2])],
                                [spec, spec, runner.spec_for(dtype, 2, writable=True)])
    a = (rng.standard_normal((90, 2100)) * 9).astype(dtype)
    b = (rng.standard_normal((2100, 90)) * 9).astype(dtype).T
    for out in (np.zeros((2100, 90), dtype).T, np.zeros((90, 4200), dtype)[:, ::2],
                np.zeros((90, 2100), dtype)[:, ::-1]):
        prog([a, b, out])
        np.testing.assert_allclose(out, a * b, rtol=1e-6 if dtype == "float32" else 1e-14)
