"""``import tensorc, tensorc.tensor`` loads only what a typical model needs: the other
structural modules and the generated constructors/types come on first use (PEP 562), and
every name still resolves to the object an eager import gives, ``dir(T)`` lists it and
``from tensorc.tensor import *`` imports it."""
from __future__ import annotations

import importlib
import json
import textwrap

import pytest

import tensorc.tensor as T
from tensorc.graph.type import PREFIX_DTYPES, TensorType
from subproc import run_python

BASIC = importlib.import_module("tensorc.tensor.basic")  # ``T.basic`` is T itself

#: Modules ``import tensorc.tensor`` leaves for first use.
LAZY_MODULES = ("tensorc.ops.alloc", "tensorc.ops.join", "tensorc.ops.misc",
                "tensorc.ops.misc_compose", "tensorc.tensor.subtensor", "tensorc.ops.extra",
                "tensorc.ops.sort", "tensorc.ops.linalg", "tensorc.tensor.extra_ops",
                "tensorc.tensor.nlinalg", "tensorc.tensor.slinalg", "tensorc.gradient.rop",
                "tensorc.gradient.verify", "tensorc.tensor.nnet.sigm")
#: Generated names ``import tensorc.tensor`` does not make (a sample of each kind).
GENERATED_SAMPLE = ("fmatrix", "dvector", "ltensor3", "dmatrices", "scalars", "fmatrix_type")

KINDS = ("scalar", "vector", "row", "col", "matrix", "tensor3", "tensor4", "tensor5", "tensor6",
         "tensor7")


def _child(code: str, tmp_path) -> dict:
    out = run_python(textwrap.dedent(code), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_leaves_rarely_used_modules_and_generated_names_for_first_use(tmp_path):
    got = _child(f"""
        import json, sys
        import tensorc, tensorc.tensor as T
        loaded = [m for m in {LAZY_MODULES!r} if m in sys.modules]
        made = [n for n in {GENERATED_SAMPLE!r} if n in vars(T)]
        listed = dir(T)  # listing the names makes and imports nothing
        loaded += [m for m in {LAZY_MODULES!r} if m in sys.modules and m not in loaded]
        made += [n for n in {GENERATED_SAMPLE!r} if n in vars(T) and n not in made]
        print(json.dumps({{"loaded": loaded, "made": made,
                          "listed": all(n in listed for n in {GENERATED_SAMPLE!r})}}))
    """, tmp_path)
    assert got == {"loaded": [], "made": [], "listed": True}


def test_import_leaves_standard_modules_it_does_not_need_yet_unloaded(tmp_path):
    """``import tensorc`` loads the C backend's warm path but not the standard modules only
    some later step needs: ``copy`` (~1M instructions; Function.copy, SharedVariable.clone),
    ``hashlib`` (OpenSSL, ~5 ms; the first digest), ``shutil`` (~5 ms), ``tempfile``
    (~3.7 ms; cache writes) and ``threading`` (~1 ms; the background compiler probe).  Compared with what the interpreter had loaded before (a
    site hook may load some of them at start-up)."""
    got = _child("""
        import json, sys
        before = set(sys.modules)
        import tensorc, tensorc.tensor
        new = set(sys.modules) - before
        print(json.dumps({"loaded": sorted(m for m in ("copy", "hashlib", "shutil", "tempfile",
                                                     "threading")
                                           if m in new),
                          "driver": "tensorc.backend.c.driver" in new}))
    """, tmp_path)
    assert got == {"loaded": [], "driver": True}


def test_the_benchmark_model_needs_no_lazy_name(tmp_path):
    """The warm-build benchmark imports tensorc before its clock: what its graph, gradient
    and function need must not be deferred into the clock."""
    got = _child(f"""
        import json, sys
        import numpy as np
        import tensorc, tensorc.tensor as T
        before, modules = set(vars(T)), set(sys.modules)
        x, y = T.matrix("x", dtype="float64"), T.matrix("y", dtype="float64")
        rng = np.random.default_rng(0)
        params = [tensorc.shared(rng.standard_normal(s), name=n) for n, s in
                  (("W1", (4, 5)), ("b1", (5,)), ("W2", (5, 3)), ("b2", (3,)))]
        W1, b1, W2, b2 = params
        h = T.tanh(T.dot(x, W1) + b1)
        p = T.nnet.softmax(T.dot(h, W2) + b2)
        loss = -T.mean(T.sum(y * T.log(p), axis=1))
        grads = tensorc.grad(loss, params)
        f = tensorc.function([x, y], loss, updates=[(w, w - 0.1 * g) for w, g in zip(params, grads)])
        f(rng.standard_normal((2, 4)), np.eye(3)[[0, 2]])
        print(json.dumps({{"loaded": [m for m in {LAZY_MODULES!r} if m in set(sys.modules) - modules],
                          "made": sorted(set(vars(T)) - before)}}))
    """, tmp_path)
    assert got == {"loaded": [], "made": []}


def test_common_types_cost_the_first_graph_nothing(tmp_path):
    """The facts of the kinds of types nearly every graph makes are made with
    ``tensorc.graph.type`` (the type instances ``T.dmatrix_type`` ... no longer make them)."""
    got = _child("""
        import json
        import tensorc.tensor as T
        from tensorc.graph import type as ty
        before = set(ty._FACTS)
        for dtype in ("float64", "float32"):
            for make in (T.scalar, T.vector, T.row, T.col, T.matrix):
                make(dtype=dtype)
        T.lscalar()
        print(json.dumps(sorted(map(str, set(ty._FACTS) - before))))
    """, tmp_path)
    assert got == []


def test_lazy_names_are_the_defining_modules_objects(tmp_path):
    """Looked up first through ``T`` (the lazy path), then imported eagerly: the same objects."""
    got = _child("""
        import importlib, json
        import tensorc.tensor as T
        bad = []
        for module, names in T._LAZY:
            for name in names:
                attr = name or module.rpartition(".")[2]
                value = getattr(T, attr)
                mod = importlib.import_module(module)
                if value is not (getattr(mod, name) if name else mod) or getattr(T.basic, attr) is not value:
                    bad.append(attr)
        print(json.dumps({"bad": bad, "n": sum(len(n) for _, n in T._LAZY)}))
    """, tmp_path)
    assert got["bad"] == [] and got["n"] > 90


def test_nnet_sigm_module_path(tmp_path):
    got = _child("""
        import json, sys
        import tensorc.tensor as T
        listed = "sigm" in dir(T.nnet)
        sigm = T.nnet.sigm
        import tensorc.tensor.nnet.sigm as eager
        print(json.dumps([listed, sigm is eager, sigm.sigmoid is T.nnet.sigmoid is T.sigmoid]))
    """, tmp_path)
    assert got == [True, True, True]
    with pytest.raises(AttributeError, match="no_such"):
        T.nnet.no_such  # noqa: B018


def test_converters_are_all_exported():
    misc_compose = importlib.import_module("tensorc.ops.misc_compose")
    exported = {n for n in dir(T) if n.startswith("convert_to_")}
    assert exported == set(misc_compose.CONVERTERS)
    assert all(getattr(T, n) is misc_compose.CONVERTERS[n] for n in exported)


@pytest.mark.parametrize("kind", KINDS)
def test_generated_constructors_and_types(kind):
    base = getattr(T, kind)().type.broadcastable
    for prefix, dtype in PREFIX_DTYPES.items():
        single = getattr(T, prefix + kind)
        assert single is getattr(T, prefix + kind) is getattr(T.basic, prefix + kind)
        assert single.__name__ == prefix + kind
        assert single("a").type == TensorType(dtype, base) and single("a").name == "a"
        plural = getattr(T, (prefix + kind)[:-1] + "ces" if kind == "matrix" else prefix + kind + "s")
        assert [v.type for v in plural("ab")] == [TensorType(dtype, base)] * 2
        assert getattr(T, f"{prefix}{kind}_type") == TensorType(dtype, base)
        assert getattr(T, f"{prefix}{kind}_type") is getattr(T, f"{prefix}{kind}_type")


def test_generated_names_are_exactly_the_old_eager_ones():
    singles = [p + k for k in KINDS for p in ("", *PREFIX_DTYPES)]
    expected = (set(singles) | {n[:-1] + "ces" if n.endswith("matrix") else n + "s" for n in singles}
                | {n + "_type" for n in singles if n not in KINDS})
    assert set(BASIC.generated_names()) == expected and len(expected) == 260
    assert expected <= set(dir(T))
    assert all(BASIC.generated(n) is not None for n in expected)


@pytest.mark.parametrize("name", ["qmatrix", "matrixs", "dmatrixs", "matrix_type", "dmatrice",
                                  "s", "_type", "ces", "dd", "scalar_types"])
def test_names_that_look_generated_but_are_not(name):
    assert BASIC.generated(name) is None
    assert not hasattr(T, name)
    with pytest.raises(AttributeError, match=name):
        getattr(T, name)


def test_star_import_brings_every_public_name(tmp_path):
    got = _child("""
        import json
        ns = {}
        exec("from tensorc.tensor import *", ns)
        import tensorc.tensor as T
        public = [n for n in dir(T) if not n.startswith("_") and n != "annotations"]
        print(json.dumps({"missing": [n for n in public if n not in ns],
                          "private": [n for n in ns if n.startswith("_") and n != "__builtins__"],
                          "same": all(ns[n] is getattr(T, n) for n in public)}))
    """, tmp_path)
    assert got == {"missing": [], "private": [], "same": True}
