"""C kernels for indexing (``tensorc/backend/c/render/indexing.py``) against numpy.

Gathers ``x[iv]``, ``x[iarray]``, ``x[i0, i1]``; scatters ``AdvancedIncSubtensor``
(set: last write wins; inc: ``np.add.at``); basic-slice ``IncSubtensor``.  Every case
runs on the C backend explicitly and checks that the node really became a C kernel.
To keep compile time low, one function holds all the cases of a table (per dtype);
failures name the case.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorc
import tensorc.tensor as T
from tensorc.backend.c.driver import c_backend_available
from tensorc.config import config
from tensorc.graph.type import TensorType
from tensorc.lower import lower
from tensorc.ops.advanced_subtensor import AdvancedIncSubtensor

pytestmark = pytest.mark.skipif(not c_backend_available(), reason="no working C compiler")

DTYPES = ["float32", "float64", "int64", "bool"]


def cmode() -> tensorc.Mode:
    return tensorc.Mode(optimizer="fast_run", backend="c")


def nmode() -> tensorc.Mode:
    return tensorc.Mode(optimizer="fast_run", backend="numpy")


def tvar(dtype: str, shape: Sequence[int], name: str, static: bool = False) -> Any:
    """A variable for values of ``shape``; ``static``: size-1 dims are broadcastable."""
    return TensorType(dtype, tuple(static and s == 1 for s in shape))(name)


def values(dtype: str, shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("int"):
        return rng.integers(-50, 50, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """``a`` as a C-contiguous, a Fortran-ordered and an every-other-element strided array."""
    big = np.zeros(tuple(2 * s + 1 for s in a.shape), a.dtype)
    view = big[tuple(slice(1, None, 2) for _ in a.shape) + (Ellipsis,)]
    view[...] = a
    return {"c": np.array(a, order="C"), "fortran": np.array(a, order="F"), "strided": view}


def kernel_ops(f: Any) -> list[str]:
    return [type(s.node.op).__name__ for s in lower(f.maker.fgraph).kernel_steps]


def numpy_ops(f: Any) -> list[str]:
    prog = lower(f.maker.fgraph)
    return [type(s.node.op).__name__ for s in prog.steps if s not in prog.kernel_steps]


# name, x shape, index arrays (dtype), static broadcast of size-1 index dims
GATHER_CASES: list[tuple[str, tuple, list[np.ndarray], bool]] = [
    ("rows_1d_repeat_negative", (7,), [np.array([0, -1, 3, 3, -7])], False),
    ("rows_2d", (5, 3), [np.array([4, 0, -5, 4], "int32")], False),
    ("rows_3d_by_matrix", (4, 2, 3), [np.array([[0, 1], [3, -2], [1, 1]], "int8")], False),
    ("rows_uint8", (6, 2), [np.array([5, 0, 2], "uint8")], False),
    ("points_2d", (4, 5), [np.array([0, 1, 2, 3, -1]), np.array([4, -5, 0, 2, 2])], False),
    ("points_3d", (3, 4, 2), [np.array([0, 2, -1]), np.array([3, 0, 1], "int32")], False),
    ("runtime_broadcast", (3, 4), [np.array([[0], [2], [-1]]), np.array([1, 3])], False),
    ("static_broadcast", (3, 4), [np.array([[0], [2], [-1]]), np.array([1, 3])], True),
    ("scalar_and_vector", (3, 4), [np.array(2), np.array([1, 3, 0])], False),
    ("scalar_and_empty", (3, 4), [np.array(-3), np.zeros(0, "int64")], False),
    ("empty_and_size1_past_the_end", (3, 4), [np.zeros(0, "int64"), np.array([9])], False),
    ("empty_index", (5, 3), [np.zeros(0, "int64")], False),
    ("empty_rows", (3, 0), [np.array([2, 0])], False),
    ("trailing_full_slice", (4, 3), [np.array([3, 1])], False),
]


@functools.lru_cache(maxsize=None)
def gather_function(dtype: str) -> tuple[Any, list[Any]]:
    ins, outs = [], []
    for name, shape, index, static in GATHER_CASES:
        x = tvar(dtype, shape, name)
        iv = [tvar(i.dtype.name, i.shape, f"{name}_i{k}", static) for k, i in enumerate(index)]
        key = tuple(iv) + ((slice(None),) if name == "trailing_full_slice" else ())
        ins += [x] + iv
        outs.append(x[key])
    return tensorc.function(ins, outs, mode=cmode()), outs


@pytest.mark.parametrize("layout", ["c", "fortran", "strided"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_matches_numpy(dtype: str, layout: str, rng: np.random.Generator) -> None:
    f, _ = gather_function(dtype)
    assert kernel_ops(f).count("AdvancedSubtensor") == len(GATHER_CASES)
    assert "AdvancedSubtensor" not in numpy_ops(f)
    args, refs = [], []
    for name, shape, index, _ in GATHER_CASES:
        xv = values(dtype, shape, rng)
        args += [layouts(xv)[layout]] + index
        refs.append(xv[tuple(index)])
    for (name, *_), got, ref in zip(GATHER_CASES, f(*args), refs):
        assert got.dtype == ref.dtype and got.shape == ref.shape, name
        np.testing.assert_array_equal(got, ref, err_msg=name)


# name, x shape, index arrays, y shape, static broadcast pattern of y (None: none)
SCATTER_CASES: list[tuple[str, tuple, list[np.ndarray], tuple, tuple | None]] = [
    ("rows_1d_repeat", (6,), [np.array([1, -1, 1, 5, 1, -5])], (6,), None),
    ("scalar_y", (6,), [np.array([0, 0, 3])], (), None),
    ("rows_2d", (5, 3), [np.array([4, 0, -5, 4], "int32")], (4, 3), None),
    ("row_y_broadcast", (5, 3), [np.array([1, 1, 2])], (3,), None),
    ("column_y_static", (5, 3), [np.array([1, 1, 2, -1])], (4, 1), (False, True)),
    ("y_runtime_size1", (5, 3), [np.array([0, 2, 0])], (1, 3), None),
    ("points_2d", (4, 5), [np.array([0, 1, 1, -1, 1]), np.array([2, 2, 2, 0, -3])], (5,), None),
    ("points_3d_rows", (3, 4, 2), [np.array([0, 2, 0]), np.array([3, 0, 3])], (3, 2), None),
    ("matrix_index_3d", (4, 2, 3), [np.array([[0, 1], [1, -4]])], (2, 2, 2, 3), None),
    ("empty_index", (5, 3), [np.zeros(0, "int64")], (0, 3), None),
    ("scalar_and_empty", (3, 4), [np.array(2, "int32"), np.zeros(0, "int64")], (0,), None),
    ("empty_and_size1_past_the_end", (3, 4), [np.zeros(0, "int64"), np.array([9])], (0,), None),
]


@functools.lru_cache(maxsize=None)
def scatter_function(dtype: str, set_instead_of_inc: bool) -> Any:
    ins, outs = [], []
    for name, shape, index, yshape, ybc in SCATTER_CASES:
        x = tvar(dtype, shape, name)
        y = TensorType(dtype, ybc or (False,) * len(yshape))(name + "_y")
        iv = [tvar(i.dtype.name, i.shape, f"{name}_i{k}") for k, i in enumerate(index)]
        fn = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
        ins += [x, y] + iv
        outs.append(fn(x[tuple(iv)], y))
    return tensorc.function(ins, outs, mode=cmode())


def scatter_reference(xv: np.ndarray, index: Sequence[np.ndarray], yv: np.ndarray,
                      set_instead_of_inc: bool) -> np.ndarray:
    out = xv.copy()
    if set_instead_of_inc:
        out[tuple(index)] = yv
    else:
        np.add.at(out, tuple(index), yv)
    return out


@pytest.mark.parametrize("layout", ["c", "strided"])
@pytest.mark.parametrize("set_instead_of_inc", [False, True], ids=["inc", "set"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_matches_numpy(dtype: str, set_instead_of_inc: bool, layout: str,
                               rng: np.random.Generator) -> None:
    f = scatter_function(dtype, set_instead_of_inc)
    assert kernel_ops(f).count("AdvancedIncSubtensor") == len(SCATTER_CASES)
    assert "AdvancedIncSubtensor" not in numpy_ops(f)
    args, refs, originals = [], [], []
    for name, shape, index, yshape, _ in SCATTER_CASES:
        xv, yv = values(dtype, shape, rng), values(dtype, yshape, rng)
        xin = layouts(xv)[layout]
        originals.append((xin, xv.copy()))
        args += [xin, layouts(yv)[layout]] + index
        refs.append(scatter_reference(xv, index, yv, set_instead_of_inc))
    for (name, *_), got, ref in zip(SCATTER_CASES, f(*args), refs):
        assert got.dtype == ref.dtype and got.shape == ref.shape, name
        np.testing.assert_array_equal(got, ref, err_msg=name)
    for xin, saved in originals:  # the inputs are not modified
        np.testing.assert_array_equal(xin, saved)


@pytest.mark.parametrize("set_instead_of_inc", [False, True], ids=["inc", "set"])
def test_inplace_scatter_writes_into_its_input(set_instead_of_inc: bool) -> None:
    x, y, iv = T.dmatrix("x"), T.dmatrix("y"), T.lvector("iv")
    op = AdvancedIncSubtensor(("t",), inplace=True, set_instead_of_inc=set_instead_of_inc)
    f = tensorc.function([x, y, iv], op(x * 2.0, y, iv), mode=cmode())
    steps = [s for s in lower(f.maker.fgraph).kernel_steps if isinstance(s.node.op, AdvancedIncSubtensor)]
    assert len(steps) == 1 and steps[0].inplace == {0: 0}
    xv, yv, idx = np.arange(12.0).reshape(4, 3), np.ones((3, 3)), np.array([3, 0, 3])
    np.testing.assert_array_equal(f(xv, yv, idx), scatter_reference(2 * xv, [idx], yv, set_instead_of_inc))
    np.testing.assert_array_equal(xv, np.arange(12.0).reshape(4, 3))


# name, x shape, expression builder (x, scalar inputs) -> (inc or set target, y shape), scalar values
BASIC_CASES: list[tuple[str, tuple, Callable[..., Any], tuple, list[int]]] = [
    ("rows", (5, 4), lambda x: x[1:4], (3, 4), []),
    ("negative_step_column", (5, 4), lambda x: x[::-2, 1], (), []),
    ("row_broadcast", (5, 4), lambda x: x[-3:, ::2], (2,), []),
    ("clamped_stop", (5, 4), lambda x: x[2:100], (3, 4), []),
    ("empty_region", (5, 4), lambda x: x[3:1], (0, 4), []),
    ("one_element", (5, 4), lambda x: x[1, -1], (), []),
    ("three_d", (3, 4, 5), lambda x: x[1, :, 1:], (4, 4), []),
    ("symbolic_bounds", (6, 4), lambda x, a, b, c: x[a:b, c], (3,), [-5, 4, -1]),
    ("symbolic_step", (7,), lambda x, s: x[::s], (3,), [-3]),
    ("symbolic_start_clamp", (7, 2), lambda x, a: x[a:], (1, 2), [-100]),
]


@functools.lru_cache(maxsize=None)
def basic_function(dtype: str, set_instead_of_inc: bool) -> Any:
    ins, outs = [], []
    for name, shape, build, yshape, scalars in BASIC_CASES:
        x, y = tvar(dtype, shape, name), tvar(dtype, yshape, name + "_y")
        s = [T.lscalar(f"{name}_s{k}") if k % 2 == 0 else T.iscalar(f"{name}_s{k}")
             for k in range(len(scalars))]
        fn = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
        ins += [x, y] + s
        outs.append(fn(build(x, *s), y))
    return tensorc.function(ins, outs, mode=cmode())


@pytest.mark.parametrize("set_instead_of_inc", [False, True], ids=["inc", "set"])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_inc_subtensor_matches_numpy(dtype: str, set_instead_of_inc: bool,
                                     rng: np.random.Generator) -> None:
    f = basic_function(dtype, set_instead_of_inc)
    assert kernel_ops(f).count("IncSubtensor") == len(BASIC_CASES)
    args, refs = [], []
    for name, shape, build, yshape, scalars in BASIC_CASES:
        xv, yv = values(dtype, shape, rng), values(dtype, yshape, rng)
        args += [layouts(xv)["strided"], yv] + scalars
        ref = xv.copy()
        view = build(ref, *scalars)
        if isinstance(view, np.ndarray):
            if set_instead_of_inc:
                view[...] = yv
            else:
                view += yv
        else:  # a single element: numpy returned a scalar, index again
            key = (1, -1)
            ref[key] = yv if set_instead_of_inc else (ref[key] + yv if dtype != "bool" else ref[key] | yv)
        refs.append(ref)
    for (name, *_), got, ref in zip(BASIC_CASES, f(*args), refs):
        np.testing.assert_array_equal(got, ref, err_msg=name)


def _error_cases() -> list[tuple[str, Callable[[], tuple[list[Any], Any]], list[Any]]]:
    def gather() -> tuple[list[Any], Any]:
        x, iv = T.dmatrix("x"), T.lvector("iv")
        return [x, iv], x[iv]

    def points() -> tuple[list[Any], Any]:
        x, a, b = T.dmatrix("x"), T.lvector("a"), T.lvector("b")
        return [x, a, b], x[a, b]

    def scatter() -> tuple[list[Any], Any]:
        x, y, iv = T.dmatrix("x"), T.dmatrix("y"), T.lvector("iv")
        return [x, y, iv], T.inc_subtensor(x[iv], y)

    def basic() -> tuple[list[Any], Any]:
        x, i, s = T.dmatrix("x"), T.lscalar("i"), T.lscalar("s")
        return [x, i, s], T.set_subtensor(x[i, ::s], 1.0)
    def scalar_points(flip: bool, update: str = "") -> Callable[[], tuple[list[Any], Any]]:
        """``x[i, v]`` (``x[v, i]`` when ``flip``) with a scalar ``i``; ``update``: that
        region set or incremented by ``y``."""
        def build() -> tuple[list[Any], Any]:
            x, y, i, v = T.dmatrix("x"), T.dvector("y"), T.lscalar("i"), T.lvector("v")
            region = x[v, i] if flip else x[i, v]
            if not update:
                return [x, i, v], region
            fn = T.set_subtensor if update == "set" else T.inc_subtensor
            return [x, y, i, v], fn(region, y)
        return build
    none = np.zeros(0, "int64")
    m = np.zeros((3, 4))
    return [
        ("scalar_out_of_range_no_positions", scalar_points(False), [m, np.array(-4), none]),
        ("scalar_after_empty_out_of_range", scalar_points(True), [m, np.array(4), none]),
        ("inc_scalar_out_of_range_no_positions", scalar_points(False, "inc"),
         [m, np.zeros(0), np.array(3), none]),
        ("set_scalar_after_empty_out_of_range", scalar_points(True, "set"),
         [m, np.zeros(0), np.array(-5), none]),
        ("gather_too_large", gather, [m, np.array([0, 3])]),
        ("gather_too_negative", gather, [m, np.array([-4])]),
        ("points_out_of_range", points, [m, np.array([0, 1]), np.array([1, 4])]),
        ("points_shape_mismatch", points, [m, np.array([0, 1, 2]), np.array([1, 2])]),
        ("scatter_out_of_range", scatter, [m, np.ones((2, 4)), np.array([1, -9])]),
        ("scatter_bad_y_shape", scatter, [m, np.ones((2, 3)), np.array([1, 0])]),
        ("basic_int_out_of_range", basic, [m, np.array(5), np.array(1)]),
        ("basic_zero_step", basic, [m, np.array(0), np.array(0)]),
    ]


@pytest.mark.parametrize("name,build,args", _error_cases(), ids=[c[0] for c in _error_cases()])
def test_errors_match_numpy_backend(name: str, build: Callable, args: list[Any]) -> None:
    ins, out = build()
    f_c = tensorc.function(ins, out, mode=cmode())
    f_np = tensorc.function(ins, out, mode=nmode())
    assert kernel_ops(f_c), name
    with pytest.raises((IndexError, ValueError)) as expected:
        f_np(*args)
    saved = args[0].copy()
    with pytest.raises(expected.type, match=re.escape(str(expected.value))):
        f_c(*args)
    np.testing.assert_array_equal(args[0], saved)


def test_gradients_through_c_kernels(rng: np.random.Generator) -> None:
    x, w, iv = T.dmatrix("x"), T.dmatrix("w"), T.lvector("iv")
    p, y = T.dmatrix("p"), T.lvector("y")
    cost = T.sum(x[iv] * w)
    nll = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    outs = [T.grad(cost, x), T.grad(nll, p)]
    f_c = tensorc.function([x, w, iv, p, y], outs, mode=cmode())
    f_np = tensorc.function([x, w, iv, p, y], outs, mode=nmode())
    ops = kernel_ops(f_c)
    assert ops.count("AdvancedIncSubtensor") == 2 and ops.count("AdvancedSubtensor") == 2
    idx = np.array([3, 0, -1, 3, 3])
    args = [rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), idx,
            rng.random((6, 5)) + 0.1, np.array([0, 4, 4, -1, 2, 1])]
    for got, ref in zip(f_c(*args), f_np(*args)):
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    gx = np.zeros((4, 3))
    np.add.at(gx, idx, args[1])
    np.testing.assert_allclose(f_c(*args)[0], gx)


def test_program_names_the_kernels() -> None:
    x, iv, m = T.dmatrix("x"), T.lvector("iv"), T.bmatrix("m")
    f = tensorc.function([x, iv], [x[iv], T.inc_subtensor(x[iv], 1.0), T.set_subtensor(x[1:], 0.0),
                                   x[:, iv]], mode=cmode())
    text = str(lower(f.maker.fgraph))
    for op in ("AdvancedSubtensor{t}", "AdvancedIncSubtensor{t}", "SetSubtensor{1::}"):
        assert re.search(r"= C k\d+\(.*\)  # " + re.escape(op), text), (op, text)
    assert re.search(r"= numpy AdvancedSubtensor\{::, t\}", text), text  # not a leading index
    assert numpy_ops(tensorc.function([x, m], x[m > 0], mode=cmode())).count("AdvancedSubtensor") == 1


@pytest.mark.parametrize("set_instead_of_inc", [False, True], ids=["inc", "set"])
def test_threaded_paths_match_numpy(set_instead_of_inc: bool, rng: np.random.Generator) -> None:
    config.omp_threshold = 1  # restored by the conftest fixture
    x, y, iv = T.fmatrix("x"), T.fmatrix("y"), T.lvector("iv")
    fn = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
    z = T.fvector("z")
    f = tensorc.function([x, y, iv, z], [x[iv], fn(x[iv], y), fn(x[::3, 5:], y[:17, 5:]),
                                         fn(z[iv], 1.0), fn(x[:, :7][iv], y[:, :7])], mode=cmode())
    assert len(kernel_ops(f)) == 5
    xv = rng.standard_normal((50, 4096)).astype("float32")
    idx = rng.integers(-50, 50, size=700)
    yv = rng.standard_normal((700, 4096)).astype("float32")
    zv = rng.standard_normal(100).astype("float32")
    got = f(layouts(xv)["fortran"], yv, idx, zv)
    np.testing.assert_array_equal(got[0], xv[idx])
    np.testing.assert_array_equal(got[1], scatter_reference(xv, [idx], yv, set_instead_of_inc))
    ref = xv.copy()
    if set_instead_of_inc:
        ref[::3, 5:] = yv[:17, 5:]
    else:
        ref[::3, 5:] += yv[:17, 5:]
    np.testing.assert_array_equal(got[2], ref)
    np.testing.assert_array_equal(got[3], scatter_reference(zv, [idx], np.float32(1), set_instead_of_inc))
    # small strided rows: one range of destination rows per thread
    np.testing.assert_array_equal(got[4], scatter_reference(xv[:, :7], [idx], yv[:, :7], set_instead_of_inc))


@functools.lru_cache(maxsize=None)
def _points_function() -> Any:
    x, y, a, b, s = T.dmatrix("x"), T.dvector("y"), T.lvector("a"), T.lvector("b"), T.dscalar("s")
    return tensorc.function([x, y, a, b, s], [x[a, b], T.inc_subtensor(x[a, b], y),
                                              T.set_subtensor(x[a], s)], mode=cmode())


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.data())
def test_hypothesis_points(rows: int, cols: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 12), label="n")
    a = np.array(data.draw(st.lists(st.integers(-rows, rows - 1), min_size=n, max_size=n)), "int64")
    b = np.array(data.draw(st.lists(st.integers(-cols, cols - 1), min_size=n, max_size=n)), "int64")
    rng = np.random.default_rng(rows * 7 + cols)
    xv, yv = rng.standard_normal((rows, cols)), rng.standard_normal(n)
    got = _points_function()(xv, yv, a, b, 2.5)
    np.testing.assert_array_equal(got[0], xv[a, b])
    np.testing.assert_array_equal(got[1], scatter_reference(xv, [a, b], yv, False))
    np.testing.assert_array_equal(got[2], scatter_reference(xv, [a], np.float64(2.5), True))
