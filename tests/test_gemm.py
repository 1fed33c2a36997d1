"""tensorc's own gemm (csrc/tensorc_gemm.c), reached through the C caller's MATMUL step:
float32/float64 products, any strides, against numpy on both backends; the edges of its
blocking (k blocks of at most KC = 256 split evenly, row blocks of MC = 96 (float64) /
192 (float32) rows at KC = 256, column groups of 4 panels of NR = 12 / 24 columns, rows
split too below 4 groups, MR = 4 row register blocks); which products it takes (it runs
on tensorc's pool, so with a grain of 1 every product it takes is one or more pool jobs,
and numpy's matmul is none); gradients; concurrent callers."""
from __future__ import annotations


import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.gradient import verify_grad

from conftest import C_MODE, needs_c, run_threads



def dense(dtype: str, mode: object, relu: bool = True) -> tensorc.function:
    """``relu(x @ W + b)`` (or ``x @ W``) compiled in ``mode``."""
    x, w, b = T.matrix("x", dtype=dtype), T.matrix("W", dtype=dtype), T.vector("b", dtype=dtype)
    y = T.maximum(T.dot(x, w) + b, 0) if relu else T.dot(x, w)
    return tensorc.function([x, w, b], y, mode=mode, on_unused_input="ignore")


def check(got: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray, relu: bool = True) -> None:
    """``got`` is ``relu(x @ w + b)`` (or ``x @ w + b``) up to a rounding error relative to
    ``|x| @ |w|``, which grows with k; nans where the float64 reference has them."""
    with np.errstate(invalid="ignore"):  # inf * 0 and inf - inf make the reference's nans
        ref = x.astype(np.float64) @ w.astype(np.float64)
        ref = np.maximum(ref + b, 0) if relu else ref
        scale = np.abs(x).astype(np.float64) @ np.abs(w).astype(np.float64) + 1.0
        err = np.abs(got - ref) / scale
    assert got.shape == ref.shape and got.dtype == x.dtype
    bound = np.finfo(x.dtype).eps * (2 + x.shape[-1] / 8) if x.size else 0
    assert np.all(err[np.isfinite(ref)] <= bound), float(np.nanmax(err))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))


@pytest.fixture
def any_rows():
    """The own gemm takes products of any number of rows (default: 2..16), so the row
    blocks and transposed packings run through the MATMUL step; restored afterwards."""
    from tensorc.backend.c import loader
    ext = loader.ext_module()
    if ext is None:
        yield
        return
    before = ext.lib.tc_gemm_rows_limit(1 << 30)
    try:
        yield
    finally:
        ext.lib.tc_gemm_rows_limit(before)


def pool_jobs_of(f: tensorc.function, *args: np.ndarray) -> tuple[np.ndarray, int]:
    """``f(*args)`` with every loop that asks for the pool sent to it, and the pool jobs
    the call ran."""
    from tensorc.backend.c import loader
    lib = loader.ext_module().lib
    old = lib.tc_pool_set_grain(1)
    try:
        before = lib.tc_pool_jobs()
        out = f(*args)
        return out, lib.tc_pool_jobs() - before
    finally:
        lib.tc_pool_set_grain(old)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,k,n", [(2, 1, 50), (3, 7, 13), (5, 300, 25), (16, 784, 50),
                                   (13, 70, 97), (15, 33, 49), (17, 513, 61), (64, 20, 49), (257, 5, 3),
                                   (1, 40, 30), (4, 0, 60), (0, 5, 60), (6, 5, 0)])
def test_dense_matches_numpy(mode, dtype, m, k, n, rng, any_rows):
    f = dense(dtype, mode)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((k, n)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    check(f(x, w, b), x, w, b)
    check(f(x, w, b), x, w, b)  # recycled output buffers


# (m, k, n) around the blocking: k = 256 (one block) / 257 (two of 129) / 513 (three);
# m = 95..97 and 191..193 (float64 / float32 row blocks at KC = 256), 783 (MR tail);
# n = 24/48 (one panel), 49/97 (a padded panel), 200 (groups of 4 panels + a tail) and
# few groups (row groups of MC rows); k = 1, 3 (short blocks).
BLOCK_EDGES = [(96, 256, 48), (97, 257, 49), (95, 513, 97), (193, 256, 96), (191, 300, 200),
               (130, 1, 200), (783, 128, 50), (200, 3, 97), (33, 1000, 24), (2, 256, 600)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,k,n", BLOCK_EDGES)
def test_block_edges(mode, dtype, m, k, n, rng, any_rows):
    """Blocking edges through the MATMUL step (the own gemm where it takes the product)."""
    f = dense(dtype, mode, relu=False)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((k, n)).astype(dtype)
    b = np.zeros(n, dtype)
    check(f(x, w, b), x, w, b, relu=False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,k,n", [(97, 257, 49), (130, 10, 200), (33, 513, 97)])
def test_transposed_operands(mode, dtype, m, k, n, rng, any_rows):
    """The MLP's backward products: ``x.T @ d`` and ``d @ W.T`` are views the gemm packs
    (A with unit row stride, B with unit k stride), also both at once and reversed."""
    xs, ds, ws = (T.matrix(name, dtype=dtype) for name in ("xs", "ds", "ws"))
    outs = [T.dot(xs.T, ds), T.dot(xs.T, ws.T), T.dot(xs.T[::-1], ws.T[:, ::-1])]
    f = tensorc.function([xs, ds, ws], outs, mode=mode)
    xv = rng.standard_normal((k, m)).astype(dtype)
    dv = rng.standard_normal((k, n)).astype(dtype)
    wv = rng.standard_normal((n, k)).astype(dtype)
    zero = np.zeros(n, dtype)
    for _ in range(2):  # recycled output buffers
        got = f(xv, dv, wv)
        check(got[0], xv.T, dv, zero, relu=False)
        check(got[1], xv.T, wv.T, zero, relu=False)
        check(got[2], xv.T[::-1], wv.T[:, ::-1], zero, relu=False)


def layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """``a`` in strided layouts with the same values."""
    big = np.zeros((a.shape[0] * 2, a.shape[1] * 3), a.dtype)
    big[::2, ::3] = a
    flipped = np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    raw = np.zeros(a.size * a.itemsize + 1, np.uint8)[1:]  # not aligned to the item size
    unaligned = raw.view(a.dtype).reshape(a.shape) if a.size else a
    unaligned[...] = a
    return {"c": a, "fortran": np.asfortranarray(a), "every_other": big[::2, ::3],
            "negative": flipped, "unaligned": unaligned}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("which", ["x", "w"])
@pytest.mark.parametrize("layout", ["c", "fortran", "every_other", "negative", "unaligned"])
def test_strided_operands(mode, dtype, which, layout, rng):
    f = dense(dtype, mode, relu=False)
    x = rng.standard_normal((19, 300)).astype(dtype)
    w = rng.standard_normal((300, 53)).astype(dtype)
    b = np.zeros(53, dtype)
    args = {"x": x, "w": w}
    args[which] = layouts(args[which])[layout]
    np.testing.assert_array_equal(args[which], x if which == "x" else w)
    check(f(args["x"], args["w"], b), x, w, b, relu=False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_broadcast_rows_and_special_values(mode, dtype, rng):
    f = dense(dtype, mode, relu=False)
    row = rng.standard_normal(33).astype(dtype)
    x = np.broadcast_to(row, (6, 33))  # stride 0 between rows
    w = rng.standard_normal((33, 50)).astype(dtype)
    b = np.zeros(50, dtype)
    check(f(x, w, b), np.array(x), w, b, relu=False)
    x = rng.standard_normal((6, 33)).astype(dtype)
    x[1, 4], x[2, 5], x[3, 0] = np.inf, np.nan, -np.inf
    w[0, 49] = 0.0  # -inf * 0: nan
    check(f(x, w, b), x, w, b, relu=False)


@needs_c
def test_row_limit_is_sixteen_by_default_and_settable(rng):
    from tensorc.backend.c import loader
    lib = loader.ext_module().lib
    assert lib.tc_gemm_rows_limit(0) == 16  # 0 only asks
    f = dense("float64", C_MODE, relu=False)
    x, w, b = rng.standard_normal((40, 30)), rng.standard_normal((30, 50)), np.zeros(50)
    if lib.tc_pool_threads() < 2:
        pytest.skip("one thread: no pool jobs to count")
    assert pool_jobs_of(f, x, w, b)[1] == 0  # 40 rows: OpenBLAS
    before = lib.tc_gemm_rows_limit(40)
    try:
        out, jobs = pool_jobs_of(f, x, w, b)
        assert jobs > 0 and lib.tc_gemm_rows_limit(0) == 40
        check(out, x, w, b, relu=False)
    finally:
        lib.tc_gemm_rows_limit(before)
    assert lib.tc_gemm_rows_limit(0) == 16


@needs_c
@pytest.mark.parametrize("dtype,m,k,n,taken", [
    ("float64", 16, 784, 50, True), ("float32", 16, 784, 50, True),
    ("float64", 2, 3, 24, True), ("float32", 16, 4, 48, True),
    ("float64", 16, 784, 23, False),   # one panel of columns: BLAS
    ("float32", 16, 784, 47, False),
    ("float64", 1, 784, 50, False),    # a matrix-vector product: BLAS's gemv
    ("float64", 17, 4, 30, False),     # past the row range (TC_GEMM_MAX_M = 16)
    ("float32", 128, 784, 500, False), ("float64", 128, 10, 500, False),  # the MLP step's
    ("float32", 784, 128, 500, False),
    ("float64", 16, 0, 50, False),     # K = 0: zeros from numpy
    ("int64", 16, 20, 30, False), ("complex128", 16, 20, 30, False)])
def test_which_products_it_takes(dtype, m, k, n, taken, rng):
    f = dense(dtype, C_MODE, relu=False)
    x = (rng.standard_normal((m, k)) * 4).astype(dtype)
    w = (rng.standard_normal((k, n)) * 4).astype(dtype)
    b = np.zeros(n, dtype)
    out, jobs = pool_jobs_of(f, x, w, b)
    from tensorc.backend.c import loader
    if taken and loader.ext_module().lib.tc_pool_threads() < 2:
        pytest.skip("one thread: no pool jobs to count")
    assert (jobs > 0) == taken
    if dtype.startswith("float"):
        check(out, x, w, b, relu=False)
    else:
        np.testing.assert_array_equal(out, x @ w)


@pytest.mark.parametrize("dtype", ["float64"])
def test_gradient(mode, dtype, rng):
    x = rng.standard_normal((5, 7)).astype(dtype)
    w = rng.standard_normal((7, 4)).astype(dtype)
    verify_grad(lambda a, c: T.tanh(T.dot(a, c)), [x, w], rng=rng, mode=mode)


@needs_c
def test_concurrent_callers(rng):
    fs = [dense("float64", C_MODE) for _ in range(2)]
    data = [(rng.standard_normal((24, 200)), rng.standard_normal((200, 61)),
             rng.standard_normal(61)) for _ in range(4)]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for rep in range(30):
                x, w, b = data[(k + rep) % len(data)]
                check(fs[k % 2](x, w, b).copy(), x, w, b)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    run_threads(work)
    assert not errors, errors[0]
