"""Runtime of ``profile=True``, ``NanGuardMode`` and ``DebugMode``."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.compile.debugmode import (BadDestroyMap, BadThunkOutput, BadViewMap, build_debug_runner,
                                       compare_values, nodewise_runner)
from tensorc.compile.nanguard import NanGuardError, bad_kind
from tensorc.compile.profile import ProfileStats
from tensorc.graph.basic import Apply, Op
from tensorc.graph.fgraph import FunctionGraph
from tensorc.graph.type import TensorType
from subproc import PACKAGE_PARENT


# -- profile ------------------------------------------------------------------------------
def test_profile_counts_calls_and_times_every_node(mode):
    x = T.dvector("x")
    f = tensorc.function([x], T.exp(x) * 2 + 1, mode=mode, profile=True, name="prof")
    assert isinstance(f.profile, ProfileStats)
    for _ in range(3):
        f(np.ones(5))
    p = f.profile
    assert p.fct_callcount == 3 and p.fct_call_time > 0
    assert p.compile_time >= p.rewrite_time >= 0
    report = p.summary(file="str")
    assert "Function profiling: prof" in report and "calls: 3" in report
    if f.backend == "numpy":
        assert set(p.apply_time) == set(f.maker.fgraph.toposort())
        assert str(f.maker.fgraph.toposort()[0].op) in report
    buf = io.StringIO()
    assert p.summary(file=buf) is None and buf.getvalue() == report
    p.reset()
    assert p.fct_callcount == 0 and not p.apply_time
    f(np.ones(5))
    assert p.fct_callcount == 1 and (f.backend != "numpy" or p.apply_time)


def test_one_profile_shared_by_two_functions():
    stats = ProfileStats("both")
    x = T.dvector("x")
    f = tensorc.function([x], T.exp(x), mode="FAST_COMPILE", profile=stats)
    g = tensorc.function([x], T.log(x), mode="FAST_COMPILE", profile=stats)
    f(np.ones(2)); g(np.ones(2)); g(np.ones(2))
    assert stats.fct_callcount == 3
    ops = {op for _, _, op in stats.op_rows()}
    assert ops == {"Elemwise{exp}", "Elemwise{log}"}
    assert stats.summary(file="str").startswith("Function profiling: both (numpy backend)")


def test_profile_off_by_default_and_from_config():
    x = T.dscalar("x")
    assert tensorc.function([x], x + 1).profile is None
    with tensorc.config.change_flags(profile=True):
        assert isinstance(tensorc.function([x], x + 1).profile, ProfileStats)


def test_config_profile_prints_the_report_at_exit(tmp_path):
    code = ("import numpy as np, tensorc, tensorc.tensor as T\n"
            "x = T.dvector('x')\n"
            "f = tensorc.function([x], T.exp(x), name='atexit_fn', mode='FAST_COMPILE')\n"
            "f(np.ones(3))\n")
    env = {k: v for k, v in os.environ.items() if k != "TENSORC_FLAGS"}
    env.update(TENSORC_FLAGS=f"profile=True,cache_dir={tmp_path}", PYTHONPATH=os.getcwd())
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=PACKAGE_PARENT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Function profiling: atexit_fn (numpy backend)" in proc.stderr
    assert "calls: 1" in proc.stderr and "Elemwise{exp}" in proc.stderr


def test_profile_rows_are_sorted_and_summed_per_op():
    p = ProfileStats("t")
    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(T.exp(x)) + 1])
    p.new_graph(fg).update({0: 0.1, 1: 0.3, 2: 0.2, 3: 0.05})
    assert [k for _, k, _ in p.node_rows()] == [1, 2, 0, 3]
    ops = {op: (t, n) for t, n, op in p.op_rows()}
    assert ops["Elemwise{exp}"] == (pytest.approx(0.4), 2)
    assert "(no backend)" in p.summary(file="str")


# -- NanGuardMode -------------------------------------------------------------------------
@pytest.mark.parametrize("build, value, kind, node_text", [
    (lambda x: T.exp(T.log(x) * 2), [-1.0, 1.0], "NaN", "Elemwise{log}(x)"),
    (lambda x: T.log(x * 0) + 1, [1.0, 2.0], "inf", "Elemwise{log}"),
    (lambda x: T.sqrt(x - 5) * 0, [1.0, 9.0], "NaN", "Elemwise{sqrt}"),
])
def test_nanguard_names_the_first_bad_node(build, value, kind, node_text):
    x = T.dvector("x")
    f = tensorc.function([x], build(x), mode=tensorc.NanGuardMode(optimizer="fast_compile"))
    with pytest.raises(NanGuardError, match=rf"{kind} produced by node \d+, {re.escape(node_text)}") as info:
        f(np.array(value))
    assert "(2,) float64" in str(info.value)


def test_nanguard_checks_inputs_and_respects_flags():
    x = T.dvector("x")
    f = tensorc.function([x], x * 2, mode=tensorc.NanGuardMode())
    with pytest.raises(AssertionError, match=r"NaN in input 0 \(x\) of shape \(1,\)"):
        f(np.array([np.nan]))
    lenient = tensorc.function([x], T.log(x), mode=tensorc.NanGuardMode(nan_is_error=False,
                                                                         inf_is_error=False))
    assert np.isnan(lenient(np.array([-1.0]))[0])
    big = tensorc.function([x], T.exp(x) * 1e6, mode=tensorc.NanGuardMode(big_is_error=True))
    with pytest.raises(NanGuardError, match=r"big value produced by node"):
        big(np.array([20.0]))
    np.testing.assert_array_equal(f(np.array([1.0])), [2.0])


@pytest.mark.parametrize("value, flags, expected", [
    (np.array([1.0, np.nan]), (True, True, False), "NaN"),
    (np.array([np.inf]), (True, True, False), "inf"),
    (np.array([np.inf]), (True, False, False), None),
    (np.array([1e11]), (True, True, True), "big value"),
    (np.array([1e11]), (True, True, False), None),
    (np.array([1, 2]), (True, True, True), None),
    (np.zeros(0), (True, True, True), None),
])
def test_bad_kind(value, flags, expected):
    assert bad_kind(value, *flags) == expected


# -- DebugMode ----------------------------------------------------------------------------
def test_debugmode_runs_correct_graphs():
    x, y = T.dmatrix("x"), T.drow("y")
    f = tensorc.function([x, y], [T.exp(x) * y, x.T + 1], mode="DebugMode")
    a, b = np.arange(6.0).reshape(2, 3), np.ones((1, 3))
    r = f(a, b)
    np.testing.assert_allclose(r[0], np.exp(a) * b)
    np.testing.assert_allclose(r[1], a.T + 1)


class _Broken(Op):
    """Test op whose perform misbehaves in one chosen way."""

    __props__ = ("how",)

    def __init__(self, how: str) -> None:
        self.how = how

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [TensorType(x.dtype, x.broadcastable)()])

    def perform(self, node, inputs):
        x = inputs[0]
        if self.how == "writes":
            x *= 2
            return [x.copy()]
        if self.how == "views":
            return [x[...]]
        if self.how == "dtype":
            return [x.astype("float32")]
        if self.how == "scalar":
            return [x.sum()]
        return [x * 2]


@pytest.mark.parametrize("how, error, pattern", [
    ("writes", BadDestroyMap, r"modified input 0 \(x\) without declaring it in destroy_map"),
    ("views", BadViewMap, r"output 0 shares memory with input 0 \(x\)"),
    ("dtype", BadThunkOutput, r"output 0 has dtype float32 .*its type is TensorType\(float64"),
])
def test_debugmode_catches_misbehaving_ops(how, error, pattern):
    x = T.dvector("x")
    f = tensorc.function([x], _Broken(how)(x) + 1, mode="DebugMode")
    a = np.ones(3)
    with pytest.raises(error, match=pattern):
        f(a)
    np.testing.assert_array_equal(a, np.ones(3))  # the caller's array is never touched


def test_debugmode_catches_non_ndarray_outputs():
    s = T.dscalar("s")
    f = tensorc.function([s], _Broken("scalar")(s), mode="DebugMode")
    with pytest.raises(BadThunkOutput, match=r"is a float64, not an ndarray"):
        f(1.0)


def test_debugmode_compares_a_pluggable_node_evaluator():
    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x) + 1])
    base = nodewise_runner(fg)
    good = build_debug_runner(fg, base, "fake", evaluator=lambda node, ins: node.op.perform(node, ins))
    np.testing.assert_allclose(good([np.zeros(2)])[0], [2.0, 2.0])
    off = build_debug_runner(fg, base, "fake",
                             evaluator=lambda node, ins: [o + 1e-3 for o in node.op.perform(node, ins)])
    with pytest.raises(BadThunkOutput, match=r"node 0 Elemwise\{exp\}\(x\) output 0 \(fake\).*disagree"):
        off([np.zeros(2)])
    wrong_runner = build_debug_runner(fg, lambda vals: [np.zeros(2)], "fake")
    with pytest.raises(BadThunkOutput, match=r"output 0 of the whole graph \(fake backend\)"):
        wrong_runner([np.zeros(2)])


@pytest.mark.parametrize("expected, got, ok", [
    (np.array([1.0]), np.array([1.0 + 1e-12]), True),
    (np.array([1.0], dtype="float32"), np.array([1.00001], dtype="float32"), True),
    (np.array([np.nan]), np.array([np.nan]), True),
    (np.array([1, 2]), np.array([1, 3]), False),
    (np.array([1.0]), np.array([1.0], dtype="float32"), False),
    (np.array([1.0]), np.array([[1.0]]), False),
])
def test_compare_values(expected, got, ok):
    if ok:
        compare_values("v", expected, got)
    else:
        with pytest.raises(BadThunkOutput, match=r"^v: "):
            compare_values("v", expected, got)
