"""Reductions whose kernel chooses its loop order at run time from the strides: the
column path (row segments along the last kept dimension into a tile of outputs) runs
when the kept dimension has the smaller strides, as for ``sum(x.T, axis=1)`` or a
Fortran-ordered matrix summed over its rows; otherwise the per-output path.

Every layout is checked against numpy on both backends: transposed, strided, negative
strides, broadcast operands, zero-size and one-element dimensions, keepdims, 3-d
transposes, float32/float64 (float32 sums at least as accurate as numpy's) and ints."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import loader
from tensorc.backend.c.render.reduce import render_reduce_node

HAS_DRIVER = loader.using_ext() and hasattr(loader.ext_module().lib, "tc_install_red")

LAYOUTS = {  # a view with the values of m in another memory layout
    "c": lambda m: m,
    "fortran": lambda m: np.asfortranarray(m),
    "every-other-row-of-fortran": lambda m: np.asfortranarray(np.repeat(m, 2, axis=0))[::2],
    "every-other-column": lambda m: np.repeat(m, 2, axis=1)[:, ::2],
    "reversed-fortran": lambda m: np.asfortranarray(m[::-1, ::-1])[::-1, ::-1],
}
SHAPES = [(1030, 7), (5, 1300), (129, 513), (1, 9), (9, 1), (0, 4), (4, 0)]


def _check(got: np.ndarray, want: np.ndarray, dtype: str) -> None:
    """float32: within numpy's own float32 error bound (ours accumulates in float64)."""
    assert np.shape(got) == np.shape(want)
    if np.dtype(dtype).kind == "f":
        tol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, float(np.abs(want).max(initial=0))))
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_row_and_column_reductions_in_every_layout(mode, dtype, layout, rng):
    """sum/prod/max/min/argmax/mean per row and per column, and of the transpose, for
    operands whose unit stride runs along either axis (or neither)."""
    x = T.matrix("x", dtype=dtype)
    outs = [T.sum(x, axis=1), T.sum(x, axis=0), T.sum(x.T, axis=1), T.max(x.T, axis=1),
            T.min(x, axis=1, keepdims=True), T.argmax(x.T, axis=1), T.argmin(x, axis=1),
            T.sum(x.T, axis=1, keepdims=True), T.prod(x.T % 3 - 1, axis=1)]
    f = tensorc.function([x], outs, mode=mode)
    for shape in SHAPES:
        if dtype.startswith("int"):
            m = rng.integers(-50, 50, shape).astype(dtype)
        else:
            m = rng.standard_normal(shape).astype(dtype)
        view = LAYOUTS[layout](m)
        np.testing.assert_array_equal(view, m)
        acc = np.float64 if dtype.startswith("float") else np.int64
        if m.size == 0:  # max/min/arg* of an empty axis raise, as numpy's do: sums only
            fs = tensorc.function([x], [T.sum(x, axis=1), T.sum(x.T, axis=1, keepdims=True)], mode=mode)
            got = fs(view)
            _check(got[0], m.sum(axis=1, dtype=acc).astype(got[0].dtype), dtype)
            _check(got[1], m.T.sum(axis=1, keepdims=True, dtype=acc).astype(got[1].dtype), dtype)
            continue
        want = [m.sum(axis=1, dtype=acc), m.sum(axis=0, dtype=acc), m.sum(axis=0, dtype=acc), m.max(axis=0), m.min(axis=1, keepdims=True), m.argmax(axis=0), m.argmin(axis=1),
                 m.T.sum(axis=1, keepdims=True, dtype=acc), (m.T % 3 - 1).prod(axis=1, dtype=acc)]
        for g, w in zip(f(view), want):
            _check(g, np.asarray(w).astype(g.dtype), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_bodies_with_broadcast_operands(mode, dtype, rng):
    """A fused body over a transposed matrix, a row broadcast along the reduced axis and
    a column broadcast along the kept one (and the reverse), sums and NaN-aware max."""
    x, r, c = T.matrix("x", dtype=dtype), T.row("r", dtype=dtype), T.col("c", dtype=dtype)
    outs = [T.sum(x.T * r.T * c.T, axis=1), T.sum((x.T - c.T) ** 2, axis=1),
            T.max(x.T + r.T, axis=1), T.mean(x * r * c, axis=0), T.sum(T.exp(x.T) * c.T, axis=1)]
    f = tensorc.function([x, r, c], outs, mode=mode)
    for shape in [(600, 9), (3, 2100), (1, 1)]:
        m = rng.standard_normal(shape).astype(dtype)
        m[shape[0] // 2, -1] = np.nan
        rv = rng.standard_normal((1, shape[1])).astype(dtype)
        cv = rng.standard_normal((shape[0], 1)).astype(dtype)
        w, rw, cw = (v.astype(np.float64) for v in (m, rv, cv))
        want = [(w * rw * cw).sum(axis=0), ((w - cw) ** 2).sum(axis=0), (m + rv).max(axis=0),
                (w * rw * cw).mean(axis=0), (np.exp(w) * cw).sum(axis=0)]
        for view in (m, np.asfortranarray(m)):
            for g, wv in zip(f(view, np.asfortranarray(rv), cv), want):
                _check(g, wv.astype(g.dtype), dtype)


def test_three_dimensional_transposes(mode, rng):
    """Every reduced axis of a 3-d array in every axis order, kept dimensions before and
    after the reduced ones."""
    x = T.dtensor3("x")
    axes_list = [0, 1, 2, (0, 1), (1, 2), (0, 2)]
    f = tensorc.function([x], [T.sum(x, axis=a) for a in axes_list]
                         + [T.argmax(x, axis=a) for a in (0, 1, 2)], mode=mode)
    base = rng.standard_normal((6, 70, 33))
    for perm in [(0, 1, 2), (2, 1, 0), (1, 0, 2), (0, 2, 1), (2, 0, 1)]:
        view = np.ascontiguousarray(base.transpose(perm)).transpose(np.argsort(perm))
        np.testing.assert_array_equal(view, base)
        got = f(view)
        want = [base.sum(axis=a) for a in axes_list] + [base.argmax(axis=a) for a in (0, 1, 2)]
        for g, w in zip(got, want):
            _check(g, w, "float64")


def test_float32_transposed_row_sums_accumulate_in_float64(mode):
    """float32 row sums of a transposed matrix are at least as accurate as numpy's
    (which adds row by row in float32 along the unit-stride axis)."""
    rows = 20000
    m = np.full((rows, 16), np.float32(0.1), dtype=np.float32)  # 64-byte rows: column path
    m[0] = 1e4
    x = T.fmatrix("x")
    got = tensorc.function([x], T.sum(x.T, axis=1), mode=mode)(m)
    exact = m.astype(np.float64).sum(axis=0)
    ours, numpys = np.abs(got.astype(np.float64) - exact), np.abs(m.sum(axis=0).astype(np.float64) - exact)
    assert np.all(ours <= numpys), (ours, numpys)
    assert np.all(ours <= np.spacing(np.float32(exact))), ours


def _reduce_node(inputs: list[Any], expr: Any) -> Any:
    """The reduction node (body fused) of the rewritten graph of ``expr``."""
    f = tensorc.function(inputs, expr, mode=tensorc.Mode(optimizer="fast_run", backend="numpy"))
    return next(n for n in f.maker.fgraph.toposort() if render_reduce_node(n, "k0", 32768))


def _paths_taken(node: Any, arrays: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Run the reduction kernel of ``node`` alone on ``arrays`` (the extension's column
    driver behind a recording hook): its output and the driver's answers (-1: the
    per-output path, 0: the column path)."""
    from tensorc.backend.c import cache, runner
    from tensorc.backend.c.render import library_source
    src, _, shape_fn, _ = render_reduce_node(node, "k0", 32768)
    lib = cache.get_library(library_source([("k0", src)]), name_hint="red_paths")
    ext = loader.ext_module()
    ffi = ext.ffi
    slot = ffi.cast("void **", ext.lib.tc_dlsym(lib.handle, b"tc_red_cols_hook"))
    real = slot[0]
    assert real != ffi.NULL, "tc_install_red did not set the library's hook at load"
    taken: list[int] = []

    @ffi.callback("int(void *)")
    def spy(call: Any) -> int:
        got = ffi.cast("int (*)(void *)", real)(call)
        taken.append(int(got))
        return got
    out = np.zeros(shape_fn([a.shape for a in arrays])[0], dtype=node.outputs[0].dtype)
    prog = runner.KernelProgram([(lib.kernel("k0"), list(range(len(arrays) + 1)))],
                                [runner.spec_for(a.dtype, a.ndim) for a in arrays]
                                + [runner.spec_for(out.dtype, out.ndim, writable=True)])
    slot[0] = ffi.cast("void *", spy)
    try:
        prog([*arrays, out])
    finally:
        slot[0] = real
    return out, taken


@pytest.mark.skipif(not HAS_DRIVER, reason="needs tensorc._ext with the column driver")
def test_the_column_path_follows_the_strides(rng):
    """numpy's rule, decided by the shared driver at run time: the column path when the
    kept dimension has the smaller strides and row segments of 64 bytes at least, for
    kernels keeping the last dimension or not; the per-output path otherwise."""
    x = T.dmatrix("x")
    m = rng.standard_normal((300, 40))
    cases = [  # (axis, operand, column path expected)
        (0, m, True), (0, np.asfortranarray(m), False), (1, m, False), (1, np.asfortranarray(m), True),
        (1, m.T, True), (0, m[:, :7], False), (0, m[:, :8], True),  # rows of 56 and 64 bytes
        (0, m[::-1, ::2], True), (1, np.asfortranarray(m)[:, :1], True)]  # a run of one element
    for axis, view, column in cases:
        got, taken = _paths_taken(T.sum(x, axis=axis).owner, [view])
        np.testing.assert_allclose(got, view.sum(axis=axis), rtol=1e-12, atol=1e-12)
        assert taken == [0 if column else -1], (axis, view.shape, view.strides)
    r, c = T.drow("r"), T.dcol("c")  # no operand read along both dimensions: per output
    got, taken = _paths_taken(_reduce_node([r, c], T.sum(r * c, axis=1)), [m[:1], m[:, :1]])
    np.testing.assert_allclose(got, (m[:1] * m[:, :1]).sum(axis=1), rtol=1e-12)
    assert taken == [-1]
    got, taken = _paths_taken(_reduce_node([r, c], T.sum(r * c, axis=0)), [m[:1], m[:, :1]])
    np.testing.assert_allclose(got, (m[:1] * m[:, :1]).sum(axis=0), rtol=1e-12)
    assert taken == [0]  # ... but kernels keeping their last dimension walk rows


def test_kernels_reducing_the_last_dimension_with_math_have_no_column_path():
    """The render choice: row and column reductions hand the column path to the shared
    driver; a math body reducing the last dimension keeps one specialised loop."""
    x = T.dmatrix("x")
    for expr in (T.sum(x, axis=1), T.sum(x, axis=0)):
        src = render_reduce_node(expr.owner, "k0", 32768)[0]
        assert "k0_col(" in src and "tc_red_cols_run(&rc_)" in src
    assert "k0_col(" not in render_reduce_node(_reduce_node([x], T.sum(T.exp(x), axis=1)), "k0", 32768)[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_row_parts_of_few_column_sums(mode, dtype, rng):
    """Float sums with few outputs along the kept dimension and many rows are cut into
    parts of whole 128-row blocks (the threads share the rows), the parts' sums joined
    per output in order: C and Fortran layouts, keepdims, mean, outer kept dimensions."""
    x, t = T.matrix("x", dtype=dtype), T.tensor3("t", dtype=dtype)
    outs = [T.sum(x, axis=0), T.sum(x.T, axis=1, keepdims=True), T.mean(x, axis=0),
            T.sum(t, axis=1), T.sum(x * x, axis=0)]
    f = tensorc.function([x, t], outs, mode=mode)
    for rows, cols in [(40000, 3), (5000, 9), (257, 200), (4099, 1)]:
        m = rng.standard_normal((rows, cols)).astype(dtype)
        m3 = rng.standard_normal((2, rows, cols)).astype(dtype)
        w, w3 = m.astype(np.float64), m3.astype(np.float64)
        want = [w.sum(axis=0), w.T.sum(axis=1, keepdims=True), w.mean(axis=0), w3.sum(axis=1),
                (w * w).sum(axis=0)]
        for view in (m, np.asfortranarray(m)):
            for g, wv in zip(f(view, m3), want):
                _check(g, wv.astype(g.dtype), dtype)
