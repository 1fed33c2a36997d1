"""The C segment runner (``backend/c/segment.py``, ``csrc/tensorc_segment.c``): which steps
join a segment, results equal to numpy through views and ``Shape_i`` filled in C, output
buffers recycled only when the caller dropped them, and clear errors for bad operands."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import loader
from tensorc.backend.c.driver import c_backend_available
from tensorc.backend.c.segment import group_steps
from tensorc.graph.fgraph import FunctionGraph
from tensorc.lower import lower
from tensorc.lower.program import KernelStep

pytestmark = pytest.mark.skipif(not c_backend_available(), reason="needs a C compiler")
C = tensorc.Mode(optimizer="fast_run", backend="c", name="C")
HAS_SEGMENTS = loader.using_ext() and hasattr(loader.ext_module().lib, "tc_run_segment")


def _shape(groups):
    return [[type(s.node.op).__name__ for s in g] if isinstance(g, list) else type(g.node.op).__name__
            for g in groups]


def test_views_and_shapes_read_by_kernels_join_the_segment():
    x, r = T.dmatrix("x"), T.dvector("r")
    f = tensorc.function([x, r], T.exp(x) * r.dimshuffle(0, "x") + x.shape[1], mode=C)
    prog = lower(f.maker.fgraph)
    groups = group_steps(prog, fills=True)
    assert len(groups) == 1 and isinstance(groups[0], list)
    assert {"DimShuffle", "Shape_i"} <= set(_shape(groups)[0])
    # without fills the views are numpy steps between kernel segments
    assert any(not isinstance(g, list) for g in group_steps(prog, fills=False))


def test_views_that_numpy_steps_or_the_caller_read_stay_numpy_steps():
    x, W = T.dmatrix("x"), T.dmatrix("W")
    xt = x.T
    prog = lower(FunctionGraph([x, W], [T.dot(xt, W) + 1, xt]))  # read by Dot, and returned
    joined = [s for g in group_steps(prog, fills=True) if isinstance(g, list) for s in g]
    assert not any(s.node.outputs[0] is xt for s in joined)
    assert any(not isinstance(s, KernelStep) for s in joined)  # the constant's dimshuffle does join


@pytest.mark.parametrize("shape", [(3, 4), (1, 5), (0, 3), (4, 0)])
def test_views_and_shapes_filled_in_c_match_numpy(shape, rng):
    x, r = T.dmatrix("x"), T.dvector("r")
    out = (T.exp(x) * r.dimshuffle("x", 0) + T.cast(x.shape[0], "float64")).sum(axis=1) \
        / T.cast(x.shape[1] + 1, "float64")
    f = tensorc.function([x, r], out, mode=C)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape[1])
    want = (np.exp(a) * b[None, :] + shape[0]).sum(axis=1) / (shape[1] + 1)
    for _ in range(3):
        np.testing.assert_allclose(f(a, b), want, rtol=1e-12, atol=1e-12)


def test_returned_arrays_are_never_overwritten_and_dropped_ones_are_reused(rng):
    x = T.dvector("x")
    y = T.exp(x).dimshuffle("x", 0) * 2.0  # a view inside the segment, then a kernel
    f = tensorc.function([x], [y.sum(), y], mode=C)
    a = rng.standard_normal(50)
    first = f(a)[1]
    keep = first.copy()
    second = f(a + 1.0)[1]
    np.testing.assert_array_equal(first, keep)  # still the first call's values
    assert second is not first
    np.testing.assert_allclose(second, 2 * np.exp(a + 1.0)[None, :], rtol=1e-13)
    if HAS_SEGMENTS:
        addr = f(a)[1].__array_interface__["data"][0]  # dropped at once ...
        assert f(a)[1].__array_interface__["data"][0] == addr  # ... so its buffer comes back


def test_dropped_dimension_that_is_not_1_raises_under_trust_input(rng):
    r = T.drow("r")
    f = tensorc.function([r], T.exp(r.dimshuffle(1)) + 1, mode=C)
    f.trust_input = True
    with pytest.raises(ValueError):
        f(rng.standard_normal((3, 4)))  # a "row" with 3 rows: the view cannot drop dim 0
    np.testing.assert_allclose(f(np.ones((1, 4))), np.full(4, np.e + 1))


def test_wrong_operand_in_a_segment_names_the_input(rng):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = tensorc.function([x, y], T.exp(x) * y.T + x.shape[0], mode=C)
    f.trust_input = True
    with pytest.raises(ValueError, match="dimensions|not an array"):
        f(rng.standard_normal((2, 2)), rng.standard_normal(2))
    with pytest.raises(ValueError, match="shape|broadcast"):
        f(rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
