"""Per-pass before/after checks of the rewrite pipeline on small hand-written graphs."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.fused import FusedElemwise, FusedReduce
from tensorc.rewrite.canonicalize import canonicalize
from tensorc.rewrite.check import GraphCheckError, check_fgraph
from tensorc.rewrite.fold import constant_fold
from tensorc.rewrite.fuse import fuse
from tensorc.rewrite.inplace import inplace
from tensorc.rewrite.merge import merge
from tensorc.rewrite.pipeline import passes_for
from tensorc.rewrite.specialize import specialize
from tensorc.rewrite.stabilize import stabilize


def ops_of(fg: FunctionGraph) -> list[str]:
    return [str(n.op) for n in fg.toposort()]


x, y = T.dvector("x"), T.dvector("y")

CASES = [
    # (pass, output builder, expected op list after the pass)
    (merge, lambda: [T.exp(x) + T.exp(x)], ["Elemwise{exp}", "Elemwise{add}"]),
    (constant_fold, lambda: [x * T.exp(T.constant(1.0))], ["Elemwise{mul}"]),
    (canonicalize, lambda: [x * 1], []),
    (canonicalize, lambda: [x + 0], []),
    (canonicalize, lambda: [-(-x)], []),
    (canonicalize, lambda: [T.log(T.exp(x))], []),
    (canonicalize, lambda: [(x + 2) + 3], ["Elemwise{add}"]),
    (canonicalize, lambda: [x.dimshuffle("x", 0).dimshuffle(1)], []),
    (canonicalize, lambda: [T.fill(T.exp(x), 2.0)], ["Elemwise{second}"]),  # exp(x) not computed
    (canonicalize, lambda: [T.fill(T.exp(x), y)], []),  # y has the shape already
    (canonicalize, lambda: [T.fill(x, T.exp(y))], ["Elemwise{exp}"]),  # exp(y) has the shape
    (stabilize, lambda: [T.log(1 + x)], ["Elemwise{log1p}"]),
    (stabilize, lambda: [T.exp(x) - 1], ["Elemwise{expm1}"]),
    (stabilize, lambda: [1 / (1 + T.exp(-x))], ["Elemwise{sigmoid}"]),
    (stabilize, lambda: [T.log(T.sigmoid(x))], ["Elemwise{neg}", "Elemwise{softplus}", "Elemwise{neg}"]),
    (specialize, lambda: [x ** 2], ["Elemwise{sqr}"]),
    (specialize, lambda: [x ** 0.5], ["Elemwise{sqrt}"]),
    (specialize, lambda: [x ** 3], ["Elemwise{sqr}", "Elemwise{mul}"]),
]


@pytest.mark.parametrize("rewrite, build, expected", CASES)
def test_pass_before_after(rewrite, build, expected):
    fg = FunctionGraph([x, y], build())
    rewrite(fg)
    check_fgraph(fg, after=rewrite.__name__)
    got = [o for o in ops_of(fg) if not o.startswith("DimShuffle")]
    assert got == expected


def test_canonicalize_x_minus_x_is_zero():
    fg = FunctionGraph([x], [x - x])
    canonicalize(fg)
    assert [o for o in ops_of(fg) if "DimShuffle" not in o] == ["Elemwise{second}"]
    f = tensorc.function([x], x - x)
    np.testing.assert_array_equal(f([1.0, 2.0]), [0.0, 0.0])


def test_div_self_only_when_safe():
    fg = FunctionGraph([x], [x / x])
    canonicalize(fg)
    assert "Elemwise{true_div}" in ops_of(fg)  # x may be 0: keep NaN semantics
    fg = FunctionGraph([x], [T.exp(x) / T.exp(x)])
    merge(fg)
    canonicalize(fg)
    assert "Elemwise{true_div}" not in ops_of(fg)


def test_merge_across_outputs_and_updates():
    w = tensorc.shared(np.ones(3), name="w")
    f = tensorc.function([x], T.exp(x).sum(), updates=[(w, w + T.exp(x))],
                         mode=tensorc.Mode(optimizer="fast_compile", backend="numpy"))
    assert sum("exp" in str(n.op) for n in f.maker.fgraph.toposort()) == 1


def test_fold_is_bounded():
    big = T.alloc(T.constant(1.0), 2000, 2000)
    fg = FunctionGraph([x], [big.sum() + x])
    constant_fold(fg)
    assert any("Alloc" in o for o in ops_of(fg))


def test_fuse_makes_one_node_and_reduction():
    fg = FunctionGraph([x, y], [T.tanh(x) * T.exp(-y) + 1, T.sum((x - y) ** 2)])
    fuse(fg)
    kinds = sorted(type(n.op).__name__ for n in fg.toposort() if "DimShuffle" not in str(n.op))
    assert kinds == ["FusedElemwise", "FusedReduce"]


def test_fuse_siblings_share_inputs():
    fg = FunctionGraph([x, y], [T.exp(x) + y, T.log(x) * y])
    fuse(fg)
    nodes = [n for n in fg.toposort() if isinstance(n.op, FusedElemwise)]
    assert len(nodes) == 1 and len(nodes[0].outputs) == 2


def test_fuse_siblings_needs_a_shared_input_that_fixes_the_shape():
    a, b, s = T.dmatrix("a"), T.dmatrix("b"), T.dscalar("s")
    outs = [T.exp(a) * s, T.tanh(b) * s]  # same pattern, shared scalar, different shapes
    fg = FunctionGraph([a, b, s], outs)
    fuse(fg)
    assert all(len(n.outputs) == 1 for n in fg.toposort())
    f = tensorc.function([a, b, s], outs, mode=tensorc.Mode(optimizer="fast_run", backend="numpy"))
    av, bv = np.ones((3, 4)), np.ones((4, 2))
    got = f(av, bv, 2.0)
    np.testing.assert_allclose(got[0], np.exp(av) * 2)
    np.testing.assert_allclose(got[1], np.tanh(bv) * 2)
    fg = FunctionGraph([a, b], [T.exp(a) * b, T.tanh(a) + b])  # a fixes the shape: merged
    fuse(fg)
    assert [len(n.outputs) for n in fg.toposort()] == [2]


def test_inplace_never_destroys_inputs():
    fg = FunctionGraph([x, y], [T.exp(x) + y])
    fuse(fg)
    inplace(fg)
    for n in fg.toposort():
        for ins in n.op.destroy_map.values():
            assert all(n.inputs[i] not in fg.inputs for i in ins)
    check_fgraph(fg, "inplace")


def test_check_detects_stale_clients():
    fg = FunctionGraph([x], [T.exp(x) + 1])
    fg.outputs[0].owner.inputs[0] = x  # bypass replace: the clients map is now wrong
    with pytest.raises(GraphCheckError, match="after pass 'manual'"):
        check_fgraph(fg, after="manual")


def test_fused_lop_raises_clearly():
    fg = FunctionGraph([x, y], [T.exp(x) * y])
    fuse(fg)
    node = fg.outputs[0].owner
    with pytest.raises(NotImplementedError, match="after gradients are taken"):
        node.op.L_op(node.inputs, node.outputs, [x])


def test_fused_broadcast_mismatch_names_shapes():
    fg = FunctionGraph([x, y], [T.exp(x) * y])
    fuse(fg)
    f = tensorc.function([x, y], T.exp(x) * y)
    with pytest.raises(ValueError, match=r"\(3,\), \(2,\)"):
        f(np.ones(3), np.ones(2))


def test_fused_reduce_rejects_bad_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        FusedReduce(_one_step_body(), "median", (0,))


def _one_step_body():
    from tensorc.ops.fused import Body, Step
    return Body(1, ("float64",), (), (Step("exp", (("in", 0),), ("float64",), "float64", "float64"),),
                (("step", 0),))


@pytest.mark.parametrize("including, excluding, present, absent", [
    ((), ("fusion",), "merge", "fuse"),
    (("fuse",), (), "fuse", "inplace"),
    ((), ("inplace", "unknown_theano_tag"), "fuse", "inplace"),
])
def test_mode_including_excluding(including, excluding, present, absent):
    optimizer = "fast_compile" if including else "fast_run"
    names = [p.__name__ for p in passes_for(optimizer, including, excluding)]
    assert present in names and absent not in names


def test_unknown_optimizer_raises():
    with pytest.raises(ValueError, match="unknown optimizer 'nope'"):
        passes_for("nope")


def test_fuse_keeps_regions_of_constants_unfused():
    """A region whose only inputs are constants (after ``x - x -> 0``) would give a 0-d
    fused node; it is left alone (and folded by the pipeline)."""
    x0, x1 = T.TensorType("float64", (True,))("x0"), T.dvector("x1")
    out = x1 % (abs(x0 - x0) + 1)
    fg = FunctionGraph([x0, x1], [out])
    canonicalize(fg)
    fuse(fg)
    check_fgraph(fg, "fuse")
    f = tensorc.function([x0, x1], out, mode=tensorc.Mode(optimizer="fast_run", backend="numpy"))
    np.testing.assert_array_equal(f(np.ones(1), np.arange(3.0)), np.arange(3.0) % 1)
    c = T.constant(np.ones((1, 1)))
    fg = FunctionGraph([x0], [T.exp(c) + 1, T.tanh(c) * 2])  # siblings reading a constant
    fuse(fg)
    check_fgraph(fg, "fuse")
