"""The reduction kernels of ``render/reduce.py`` at their edges: block sums in
independent lanes (float32 lanes flushed into float64), flat full reductions cut into
parts on the thread pool, and the per-output path — against numpy and exact sums.

Sizes sit around the lane width (16), the float32 flush group (16 * 8), the block
(1024), the threading threshold and the parts cap (256 parts of whole blocks)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.config import config

SIZES = [0, 1, 2, 15, 16, 17, 127, 128, 129, 1023, 1024, 1025, 2047, 2049, 16 * 1024 + 3,
         32767, 32768, 32769, 256 * 1024 - 1, 256 * 1024 + 1, 300_007]

KINDS = [  # name, tensorc reduction of a vector expression, numpy reference
    ("sum", lambda v: T.sum(v), np.sum),
    ("prod", lambda v: T.prod(v), np.prod),
    ("max", lambda v: T.max(v), np.max),
    ("min", lambda v: T.min(v), np.min),
    ("all", lambda v: T.all(v), np.all),
    ("any", lambda v: T.any(v), np.any),
    ("mean", lambda v: T.mean(v), np.mean),
    ("argmax", lambda v: T.argmax(v), np.argmax),
    ("argmin", lambda v: T.argmin(v), np.argmin),
]


def _pool_lib():
    """``tensorc._ext``'s lib when the C pool is there, else None."""
    try:
        from tensorc.backend.c import loader
        from tensorc.backend.c.driver import c_backend_available
    except ImportError:
        return None
    if not (c_backend_available() and loader.using_ext()):
        return None
    return loader.ext_module().lib


def _run_modes() -> list[str]:
    """numpy; C; and C with every reduction cut into parts on the thread pool."""
    from conftest import BACKENDS
    return BACKENDS + (["c+pool"] if "c" in BACKENDS and _pool_lib() is not None else [])


@pytest.fixture(params=_run_modes())
def run(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """(mode, pool lib or None). 'c+pool': every loop of more than 2 iterations goes to
    the pool in chunks of any size, so small reductions run as parts on threads."""
    backend, _, pool = request.param.partition("+")
    mode = tensorc.Mode(optimizer="fast_run", backend=backend, name=request.param)
    if not pool:
        yield mode, None
        return
    lib = _pool_lib()
    monkeypatch.setattr(config, "omp_threshold", 2)
    old = lib.tc_pool_set_grain(1)
    yield mode, lib
    lib.tc_pool_set_grain(old)


def _check(got: np.ndarray, want: np.ndarray, dtype: str, loose: bool = False) -> None:
    got, want = np.asarray(got), np.asarray(want)
    if want.dtype.kind == "f":
        rtol = (1e-3 if loose else 2e-5) if dtype == "float32" else (1e-10 if loose else 1e-12)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,ref", KINDS, ids=[k[0] for k in KINDS])
def test_flat_reductions_at_block_and_part_edges(run, name, fn, ref, dtype, rng):
    mode, pool = run
    a, b = T.vector("a", dtype=dtype), T.vector("b", dtype=dtype)
    expr = (a - b) ** 2 if name not in ("prod", "all", "any") else a * b
    f = tensorc.function([a, b], fn(expr), mode=mode)
    jobs = pool.tc_pool_jobs() if pool is not None else 0
    for n in SIZES:
        if n == 0 and name in ("max", "min", "argmax", "argmin", "mean"):
            continue  # errors / NaN: test_zero_size
        x = rng.uniform(0.5, 1.5, n).astype(dtype)
        y = rng.uniform(0.5, 1.5, n).astype(dtype)
        if name == "all" and n > 3:
            y[n // 2 + 1] = 0  # one zero in the middle: all() is False only through it
        if name == "prod":  # a product of n values near 1 (no underflow)
            x, y = 1 + (x - 1) / 500, np.ones(n, dtype)
        got = f(x, y)
        want = ref(x * y if name in ("prod", "all", "any") else (x - y) ** 2)
        _check(got, want, dtype, loose=name == "prod")
    if pool is not None and pool.tc_pool_threads() > 1 and config.openmp:
        assert pool.tc_pool_jobs() > jobs  # the parts did run on the pool


@pytest.mark.parametrize("n", [10**7, 300_007])
def test_float32_sum_as_accurate_as_numpy(mode, n):
    """float32 lanes flush into float64: the error stays at the final rounding (half an
    ulp of the result), never above numpy's pairwise float32 sum.  The reference is the
    float64 sum (its error, ~1e-16 relative, is far below a float32 ulp)."""
    rng = np.random.default_rng(n)
    a = T.fvector("a")
    f = tensorc.function([a], T.sum(a), mode=mode)
    for x in (rng.uniform(0.9, 1.1, n).astype("float32"),     # no cancellation, long run
              rng.standard_normal(n).astype("float32") + 0.25):  # mixed signs
        exact = float(np.sum(x, dtype=np.float64))
        got, np_sum = float(f(x)), float(np.sum(x))
        half_ulp = float(np.spacing(np.float32(abs(exact)))) / 2
        assert abs(got - exact) <= max(abs(np_sum - exact), half_ulp * 1.001), (got, np_sum, exact)


def test_float32_squared_difference_sum_accuracy(mode, rng):
    """The fused body is evaluated in float32 (like numpy), the sum of its values in
    float64: the result equals the exactly summed float32 squares rounded once."""
    n = 1_000_003
    a, b = T.fvector("a"), T.fvector("b")
    f = tensorc.function([a, b], T.sum((a - b) ** 2), mode=mode)
    x, y = rng.standard_normal(n).astype("float32"), rng.standard_normal(n).astype("float32")
    sq = (x - y) ** 2  # float32, as numpy computes it
    exact = math.fsum(sq.astype(np.float64))
    got = float(f(x, y))
    assert abs(got - exact) <= max(abs(float(np.sum(sq)) - exact),
                                   float(np.spacing(np.float32(exact))) / 2 * 1.001)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_strided_vectors(mode, dtype, rng):
    """Every other element, reversed (negative stride) and offset views."""
    a, b = T.vector("a", dtype=dtype), T.vector("b", dtype=dtype)
    f = tensorc.function([a, b], [T.sum((a - b) ** 2), T.max(a - b)], mode=mode)
    for n in (17, 1025, 70_001):
        base_x = rng.standard_normal(2 * n + 1).astype(dtype)
        base_y = rng.standard_normal(2 * n + 1).astype(dtype)
        for pick in (slice(0, 2 * n, 2), slice(n - 1, None, -1), slice(1, n + 1)):
            x, y = base_x[pick], base_y[pick]
            got_sum, got_max = f(x, y)
            _check(got_sum, np.sum((x.astype(np.float64) - y) ** 2), dtype)
            _check(got_max, np.max(x - y), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [0, 1, None, (0, 1)])
def test_matrix_axes_and_layouts(run, dtype, axis, rng):
    """Per-row, per-column and full reductions of C- and Fortran-ordered matrices."""
    x = T.matrix("x", dtype=dtype)
    outs = [T.sum(x * x, axis=axis, keepdims=k) for k in (False, True)]
    outs += [T.max(x, axis=axis, keepdims=k) for k in (False, True)]
    f = tensorc.function([x], outs, mode=run[0])
    for shape in [(3, 1025), (5, 2049), (1, 33), (130, 17)]:
        for m in (rng.standard_normal(shape).astype(dtype),
                  rng.standard_normal(shape[::-1]).astype(dtype).T):  # Fortran layout
            wide = m.astype(np.float64) ** 2
            want = [np.sum(wide, axis=axis, keepdims=k) for k in (False, True)]
            want += [np.max(m, axis=axis, keepdims=k) for k in (False, True)]
            for g, w in zip(f(m), want):
                assert np.shape(g) == np.shape(w)
                _check(g, w, dtype)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_and_inf_propagate(run, dtype):
    """NaN / inf in the first, a block-edge, a middle-part and the last element."""
    n = 200_003
    a = T.vector("a", dtype=dtype)
    f = tensorc.function([a], [T.sum(a), T.max(a), T.min(a), T.argmax(a), T.mean(a)],
                         mode=run[0])
    refs = [np.sum, np.max, np.min, np.argmax, np.mean]
    x = np.linspace(-1, 1, n).astype(dtype)
    for where in (0, 1023, 1024, 150_000, n - 1):
        for specials in ((np.nan,), (np.inf,), (-np.inf,), (np.inf, -np.inf)):
            y = x.copy()
            for k, v in enumerate(specials):  # inf - inf: a NaN sum, finite max/min
                y[(where + 7 * k) % n] = v
            for got, ref in zip(f(y), refs):
                _check(got, ref(y), dtype)


def test_zero_size(mode):
    a = T.dvector("a")
    m = T.dmatrix("m")
    f = tensorc.function([a, m], [T.sum(a), T.prod(a), T.all(a), T.any(a), T.sum(m, axis=1)],
                         mode=mode)
    got = f(np.zeros(0), np.zeros((3, 0)))
    assert [float(v) for v in got[:4]] == [0.0, 1.0, 1.0, 0.0]
    assert got[4].tolist() == [0.0] * 3
    with pytest.raises(ValueError):
        tensorc.function([a], T.max(a), mode=mode)(np.zeros(0))


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_integer_reductions(run, dtype, rng):
    mode = run[0]
    a = T.vector("a", dtype=dtype)
    f = tensorc.function([a], [T.sum(a), T.max(a), T.min(a), T.prod(a), T.argmax(a), T.argmin(a)],
                         mode=mode)
    for n in (1, 17, 1025, 100_003):
        x = rng.integers(0, 100, n).astype(dtype)
        got = f(x)
        want = [np.sum(x), np.max(x), np.min(x), np.prod(x), np.argmax(x), np.argmin(x)]
        for g, w in zip(got, want):
            assert np.asarray(g).dtype == np.asarray(w).dtype
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_arg_extremum_ties_take_the_first_index(run, dtype):
    """Ties across parts and blocks: the first index wins, and a NaN beats any value."""
    n = 300_001
    a = T.vector("a", dtype=dtype)
    f = tensorc.function([a], [T.argmax(a), T.argmin(a)], mode=run[0])
    x = np.zeros(n, dtype)
    x[[250_000, 3000, 1024, 299_999]] = 7
    x[[260_000, 70_000, 5000]] = -7
    assert [int(v) for v in f(x)] == [1024, 5000]
    if dtype == "float64":
        x[[290_000, 100_000]] = np.nan
        assert [int(v) for v in f(x)] == [100_000, 100_000]


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_reductions_keeping_the_last_axis(run, rng):
    """The column path (whole rows into a tile of outputs): 3-d inputs with kept outer
    dimensions, tiles of 256 outputs, 128-row block sums, a column input broadcast along
    the kept axis, NaN rows for max/argmax, integer and boolean kinds."""
    x, c = T.dtensor3("x"), T.dcol("c")
    i = T.lmatrix("i")
    outs = [T.sum(x, axis=1), T.sum(x, axis=(0, 1), keepdims=True), T.max(x, axis=0),
            T.argmax(x, axis=1), T.argmin(x, axis=(0, 1)), T.mean(x, axis=1),
            T.sum(x[0] * c, axis=0), T.prod(i, axis=0), T.all(i, axis=0), T.any(i, axis=0)]
    f = tensorc.function([x, c, i], outs, mode=run[0])
    for shape in [(2, 300, 5), (3, 129, 513), (1, 1, 1)]:
        a = rng.standard_normal(shape)
        a[0, shape[1] // 2, 0] = np.nan
        a[-1, -1, -1] = np.inf
        col = rng.standard_normal((shape[1], 1))
        ints = rng.integers(0, 3, (shape[1], shape[2]))
        flat01 = a.reshape(-1, shape[2])
        want = [a.sum(axis=1), a.sum(axis=(0, 1), keepdims=True), a.max(axis=0),
                a.argmax(axis=1), flat01.argmin(axis=0), a.mean(axis=1),
                (a[0] * col).sum(axis=0), ints.prod(axis=0), ints.all(axis=0), ints.any(axis=0)]
        for g, w in zip(f(a, col, ints), want):
            assert np.shape(g) == np.shape(w)
            _check(g, w, "float64")


LAYOUTS = {  # a (rows, cols) view of the same values in memory layouts the kernels see
    "c": lambda m: m,
    "transposed": lambda m: np.ascontiguousarray(m.T).T,
    "every-other-column": lambda m: np.repeat(m, 2, axis=1)[:, ::2],
    "reversed-rows": lambda m: m[::-1].copy()[::-1],
    "negative-column-stride": lambda m: m[:, ::-1].copy()[:, ::-1],
}


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_strided_operands_in_every_path(run, dtype, layout, rng):
    """Operands whose reduced (or kept last) dimension is not unit-stride are copied into
    the kernel's buffer block by block: per-row and per-column sums, max, argmax/argmin
    and a fused product with a row broadcast along the rows and a column broadcast along
    the run, at block (1024) and tile (512) edges, against numpy."""
    x = T.matrix("x", dtype=dtype)
    r, c = T.row("r", dtype=dtype), T.col("c", dtype=dtype)
    outs = [T.sum(x, axis=1), T.sum(x, axis=0), T.max(x, axis=1), T.min(x, axis=0),
            T.argmax(x, axis=1), T.argmin(x, axis=0), T.sum(x * r * c, axis=1),
            T.sum(x * r * c, axis=0), T.mean(x), T.max(x)]
    f = tensorc.function([x, r, c], outs, mode=run[0])
    for shape in [(3, 2049), (1100, 5), (2, 1), (7, 1030)]:
        m = rng.standard_normal(shape).astype(dtype)
        m[-1, shape[1] // 2] = np.nan if shape[1] > 1 else m[-1, 0]
        rv = rng.standard_normal((1, shape[1])).astype(dtype)
        cv = rng.standard_normal((shape[0], 1)).astype(dtype)
        view = LAYOUTS[layout](m)
        np.testing.assert_array_equal(view, m)
        w64, p64 = m.astype(np.float64), (m.astype(np.float64) * rv) * cv
        want = [w64.sum(axis=1), w64.sum(axis=0), m.max(axis=1), m.min(axis=0),
                m.argmax(axis=1), m.argmin(axis=0), p64.sum(axis=1), p64.sum(axis=0),
                w64.mean(), m.max()]
        for g, w in zip(f(view, LAYOUTS[layout](rv), LAYOUTS[layout](cv)), want):
            assert np.shape(g) == np.shape(w)
            _check(g, w, dtype, loose=True)


def test_wide_operands_take_shorter_blocks_and_tiles(run, rng):
    """Four complex128 operands (16 bytes each) do not fit the copy buffer at 1024
    elements per block: blocks of 256, strided operands copied 16 bytes at a time (and
    per-output sums for a kernel keeping the last axis of transposed operands)."""
    vs = [T.zmatrix(n) for n in "abcd"]
    prod = vs[0] * vs[1] * vs[2] * vs[3]
    f = tensorc.function(vs, [T.sum(prod, axis=1), T.sum(prod, axis=0), T.sum(prod)],
                         mode=run[0])
    for shape in [(3, 1300), (600, 4)]:
        arrs = [(rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) for _ in vs]
        views = [arrs[0], arrs[1].T.copy().T, arrs[2], arrs[3][:, ::-1].copy()[:, ::-1]]
        p = arrs[0] * arrs[1] * arrs[2] * arrs[3]
        for g, w in zip(f(*views), [p.sum(axis=1), p.sum(axis=0), p.sum()]):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12 * np.abs(p).sum())


def test_boolean_extrema(run, rng):
    """max/min of booleans (a scalar extremum loop; the column tile starts at False for
    max, True for min), per row, per column and over everything."""
    b = T.bmatrix("b")
    flag = T.neq(b, 0)
    outs = [T.max(flag, axis=1), T.min(flag, axis=0), T.max(flag), T.min(flag, axis=1)]
    f = tensorc.function([b], outs, mode=run[0])
    for shape in [(5, 1030), (40, 3)]:
        m = (rng.random(shape) < 0.3).astype("int8")
        m[0] = 0
        fl = m != 0
        want = [fl.max(axis=1), fl.min(axis=0), fl.max(), fl.min(axis=1)]
        for g, w in zip(f(m.T.copy().T), want):
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("build,loops", [
    (lambda x, y: T.sum(T.exp(x) * y, axis=1), 2),   # block lanes + their tail (math: no column)
    (lambda x, y: T.sum(T.exp(x) * y), 2),
    (lambda x, y: T.sum(T.exp(x) * y, axis=0), 3),   # + the column row function
    (lambda x, y: T.max(T.exp(x) * y, axis=1), 2),   # first value + SIMD select
])
def test_one_specialised_loop_per_kernel(build, loops):
    """Compile time: the fused body is written into one block function only (plus the
    row function of the column path of kernels with kept dimensions), whatever paths (flat parts, per output, strided
    copies) the kernel has."""
    from tensorc.backend.c.render.reduce import render_reduce_node
    x, y = T.fmatrix("x"), T.fmatrix("y")
    f = tensorc.function([x, y], build(x, y), mode=tensorc.Mode(optimizer="fast_run", backend="numpy"))
    nodes = [n for n in f.maker.fgraph.toposort() if render_reduce_node(n, "k0", 32768)]
    assert len(nodes) == 1
    src = render_reduce_node(nodes[0], "k0", 32768)[0]
    assert src.count("tc_exp_float32(") == loops, src
