"""What keeps a warm function build cheap must not change behaviour: the fused-body
records, BLAS detection by module name, and the collector paused during a build."""
from __future__ import annotations

import gc
import importlib
import pickle

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import fastpaths
from tensorc.graph.fgraph import FunctionGraph
from tensorc.lower import lower
from tensorc.ops.fused import Body, Step

STEP = Step("add", (("in", 0), ("in", 1)), ("float64", "float64"), "float64", "float64")
BODY = Body(2, ("float64", "float64"), (), (STEP,), (("step", 0),))


def test_fused_records_compare_hash_and_pickle_by_value():
    twin = Body(2, ("float64", "float64"), (), (Step(*STEP._values()),), (("step", 0),))
    assert twin == BODY and hash(twin) == hash(BODY) and twin is not BODY
    other = Body(2, ("float64", "float64"), (), (STEP,), (("in", 0),))
    assert other != BODY and BODY != STEP and BODY != "Body"
    assert pickle.loads(pickle.dumps(BODY)) == BODY
    assert "row='add'" in repr(STEP) and str(STEP) == "add(in0, in1):float64"


def test_fused_records_are_immutable_and_check_their_arity():
    with pytest.raises(AttributeError, match="immutable"):
        STEP.row = "mul"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        STEP.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="5 fields"):
        Step("add", ())


@pytest.mark.parametrize("name", fastpaths.BLAS_OP_MODULES)
def test_blas_op_modules_exist(name):
    assert importlib.import_module(name).__name__ == name


@pytest.mark.parametrize("make, blas", [
    (lambda m: T.dot(m, m), True),
    (lambda m: T.nlinalg.matrix_inverse(m), True),
    (lambda m: T.exp(m).sum(), False),
])
def test_calls_blas_sees_dot_and_linear_algebra(make, blas):
    m = T.dmatrix("m")
    assert fastpaths.calls_blas(lower(FunctionGraph([m], [make(m)]))) is blas


@pytest.mark.parametrize("enabled", [True, False])
def test_function_build_pauses_the_collector_and_restores_its_state(enabled, monkeypatch):
    from tensorc.compile import function as function_module
    seen = []
    real = function_module.FunctionMaker

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)
    monkeypatch.setattr(function_module, "FunctionMaker", spy)
    x = T.dvector("x")
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        f = tensorc.function([x], T.exp(x) * 2)
        assert gc.isenabled() is enabled
        with pytest.raises(TypeError):
            tensorc.function([x, x * 2], x)  # a failing build restores it too
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False, False]
    np.testing.assert_allclose(f(np.array([0.0, 1.0])), [2.0, 2 * np.e])
