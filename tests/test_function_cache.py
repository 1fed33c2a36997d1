"""The function cache (``tensorc.compile.fncache``): rewritten graphs reused across
processes, keys that change with everything the rewrite depends on, corrupt entries."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import cache
from tensorc.compile import fncache
from tensorc.config import config
from subproc import PACKAGE_PARENT
from conftest import C_MODE, needs_c


def _step(dtype: str = "float64", lr: float = 0.1, scale: float = 1.0):
    """A small Theano-style training step: shared params, grad, updates."""
    rng = np.random.default_rng(0)
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    W = tensorc.shared(rng.standard_normal((5, 3)).astype(dtype), name="W")
    b = tensorc.shared(np.zeros(3, dtype), name="b")
    p = T.nnet.softmax(T.dot(T.tanh(x * np.asarray(scale, dtype)), W) + b)
    loss = -T.mean(T.sum(y * T.log(p), axis=1))
    gW, gb = tensorc.grad(loss, [W, b])
    lr_ = np.asarray(lr, dtype)
    return [x, y], loss, [(W, W - lr_ * gW), (b, b - lr_ * gb)], (W, b)


def _build(mode=C_MODE, **kw):
    ins, loss, updates, params = _step(**kw)
    return tensorc.function(ins, loss, updates=updates, mode=mode), params


def _reference(x, y, W, b, lr=0.1):
    h = np.tanh(x)
    z = h @ W + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.sum(y * np.log(p), axis=1))
    dz = (p - y) / x.shape[0]
    return loss, W - lr * (h.T @ dz), b - lr * dz.sum(axis=0)


def _data(dtype="float64"):
    rng = np.random.default_rng(1)
    return (rng.standard_normal((4, 5)).astype(dtype),
            np.eye(3, dtype=dtype)[rng.integers(0, 3, 4)])


_CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    import tensorc, tensorc.tensor
    heavy = sorted(m for m in ("scipy", "tensorc.printing", "tensorc.rewrite.pipeline",
                               "tensorc.backend.c.render") if m in sys.modules)
    from tensorc.config import config
    config.cache_dir = {cache!r}
    from test_function_cache import _build, _data
    f, (W, b) = _build()
    x, y = _data()
    loss = f(x, y)
    print(json.dumps({{"hit": f.maker.cache_hit, "loss": float(loss).hex(),
                      "W": W.get_value().tobytes().hex(), "b": b.get_value().tobytes().hex(),
                      "nodes": [str(n.op) for n in f.maker.fgraph.toposort()],
                      "imported_by_import": heavy,
                      "rewrite_passes_imported": "tensorc.rewrite.pipeline" in sys.modules}}))
""")


def _child(cache_dir: str) -> dict:
    code = _CHILD.format(tests=os.path.dirname(os.path.abspath(__file__)), cache=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE_PARENT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_c
def test_new_process_with_warm_cache_reuses_the_rewrite_and_gives_identical_results(kernels_only_cache):
    first, second = _child(kernels_only_cache), _child(kernels_only_cache)
    assert (first["hit"], second["hit"]) == (False, True)
    assert (first["rewrite_passes_imported"], second["rewrite_passes_imported"]) == (True, False)
    assert first == dict(second, hit=False, rewrite_passes_imported=True)  # bit-identical results
    assert second["imported_by_import"] == []  # no scipy, printing, rewrite passes, renderers
    x, y = _data()
    _, (W, b) = _build(mode="FAST_COMPILE")
    loss, W1, b1 = _reference(x, y, W.get_value(), b.get_value())
    np.testing.assert_allclose(float.fromhex(second["loss"]), loss, rtol=1e-12)
    np.testing.assert_allclose(np.frombuffer(bytes.fromhex(second["W"])).reshape(5, 3), W1, rtol=1e-12)
    np.testing.assert_allclose(np.frombuffer(bytes.fromhex(second["b"])), b1, rtol=1e-12, atol=1e-15)


@needs_c
def test_hit_rebuilds_the_graph_around_this_calls_variables(kernels_only_cache):
    f1, _ = _build()
    f2, (W, b) = _build()
    assert not f1.maker.cache_hit and f2.maker.cache_hit
    assert [str(n.op) for n in f2.maker.fgraph.toposort()] == \
        [str(n.op) for n in f1.maker.fgraph.toposort()]
    assert f2.maker.fgraph.inputs[2] is W and f2.maker.fgraph.inputs[3] is b
    W.set_value(np.zeros((5, 3)))  # the new function's own shared values are used
    x, y = _data()
    loss, W1, b1 = _reference(x, y, np.zeros((5, 3)), np.zeros(3))
    np.testing.assert_allclose(f2(x, y), loss, rtol=1e-12)
    np.testing.assert_allclose(W.get_value(), W1, rtol=1e-12)


@needs_c
def test_entry_holds_no_shared_values_and_states_its_key_parts(kernels_only_cache):
    ins, loss, updates, (W, b) = _step()
    W.set_value(np.full((5, 3), 1234.5678))
    tensorc.function(ins, loss, updates=updates, mode=C_MODE)
    (entry,) = [e for e in cache.cache_list() if e["kind"] == "functions"]
    assert set(entry["parts"]) == set(fncache.PART_NAMES)
    with open(entry["path"], "rb") as fh:
        assert np.float64(1234.5678).tobytes() not in fh.read()


@needs_c
@pytest.mark.parametrize("change", [
    dict(lr=0.2),                  # a constant's value
    dict(dtype="float32"),         # dtypes
    dict(scale=2.0),               # a constant in the forward graph
])
def test_graph_changes_miss(kernels_only_cache, change):
    _build()
    f, _ = _build(**change)
    assert not f.maker.cache_hit


@needs_c
def test_updates_outputs_flags_and_mode_are_in_the_key(kernels_only_cache):
    ins, loss, updates, _ = _step()
    tensorc.function(ins, loss, updates=updates, mode=C_MODE)
    assert tensorc.function(ins, loss, updates=updates, mode=C_MODE).maker.cache_hit
    variants = [
        lambda: tensorc.function(ins, loss, updates=updates[:1], mode=C_MODE),
        lambda: tensorc.function(ins, loss, updates=updates[::-1], mode=C_MODE),
        lambda: tensorc.function(ins, tensorc.Out(loss, borrow=True), updates=updates, mode=C_MODE),
        lambda: tensorc.function(ins, loss, updates=updates, mode=C_MODE.excluding("fuse")),
    ]
    for make in variants:
        assert not make().maker.cache_hit
    # a list of one output is the same graph (only the call's return value differs)
    assert tensorc.function(ins, [loss], updates=updates, mode=C_MODE).maker.cache_hit
    with config.change_flags(floatX="float32"):
        assert not tensorc.function(ins, loss, updates=updates, mode=C_MODE).maker.cache_hit
    with config.change_flags(on_unused_input="warn"):
        assert not tensorc.function(ins, loss, updates=updates, mode=C_MODE).maker.cache_hit


@needs_c
def test_givens_and_variable_names_are_in_the_key(kernels_only_cache):
    x, y = T.dvector("x"), T.dvector("y")
    tensorc.function([x], x * 2 + 1, mode=C_MODE)
    assert not tensorc.function([y], y * 2 + 1, mode=C_MODE).maker.cache_hit
    z = T.dvector("x")
    assert tensorc.function([z], z * 2 + 1, mode=C_MODE).maker.cache_hit
    g = tensorc.function([y], x * 2 + 1, givens={x: y + 1}, mode=C_MODE)
    assert not g.maker.cache_hit
    np.testing.assert_allclose(g(np.array([1.0])), [5.0])


@needs_c
@pytest.mark.parametrize("damage", ["truncate", "garbage_with_valid_record", "no_record"])
def test_corrupt_entry_is_a_miss_and_is_rebuilt(kernels_only_cache, damage):
    _build()
    (entry,) = [e for e in cache.cache_list() if e["kind"] == "functions"]
    if damage == "truncate":
        with open(entry["path"], "r+b") as fh:
            fh.truncate(100)
    elif damage == "garbage_with_valid_record":
        cache.store_blob("functions", entry["key"], b"\x80\x05garbage", name_hint="x",
                         parts=entry["parts"])
    else:
        os.unlink(entry["base"] + cache.RECORD)
    cache.clear_memo()
    f, (W, b) = _build()
    assert not f.maker.cache_hit
    x, y = _data()
    loss, _, _ = _reference(x, y, W.get_value(), b.get_value())
    np.testing.assert_allclose(f(x, y), loss, rtol=1e-12)
    cache.clear_memo()
    assert _build()[0].maker.cache_hit  # the entry was written again


@needs_c
def test_prune_and_clear_cover_function_entries(tmp_path):
    config.cache_dir = str(tmp_path)  # put back by conftest's _restore_config
    cache.clear_memo()
    _build()
    assert {e["kind"] for e in cache.cache_list()} == {"functions", "kernels"}
    cache.cache_prune(max_mb=0)
    assert cache.cache_list() == []
    cache.clear_memo()  # else this process reuses what it loaded before the prune
    _build()
    assert cache.cache_clear() >= 2 and cache.cache_list() == []
    cache.clear_memo()


def test_uncacheable_attributes_are_refused():
    class Opaque:
        pass
    for value in (lambda v: v, T.dvector("v"), np.array([object()]), Opaque()):
        with pytest.raises(fncache.Uncacheable):
            fncache.canonical({"attr": value})
    assert fncache.canonical(np.add) == "uadd"
    assert fncache.canonical(np.array([1.0])) != fncache.canonical(np.array([1.0 + 1e-16 * 3]))


@needs_c
def test_not_used_when_the_passes_are_watched(kernels_only_cache, capsys):
    ins, loss, updates, _ = _step()
    tensorc.function(ins, loss, updates=updates, mode=C_MODE)
    f = tensorc.function(ins, loss, updates=updates, mode=C_MODE, profile=True)
    assert not f.maker.cache_hit and f.maker.profile_passes
    with config.change_flags(debug=1):
        assert not tensorc.function(ins, loss, updates=updates, mode=C_MODE).maker.cache_hit
    assert "[tensorc] pass" in capsys.readouterr().out


def test_numpy_backend_rewrites_every_time(kernels_only_cache):
    ins, loss, updates, _ = _step()
    for _ in range(2):
        f = tensorc.function(ins, loss, updates=updates, mode="FAST_COMPILE")
        assert not f.maker.cache_hit
    assert not any(e["kind"] == "functions" for e in cache.cache_list())


def test_user_defined_classes_are_keyed_by_their_source_file(tmp_path, monkeypatch):
    mod = tmp_path / "user_ops_fncache.py"
    mod.write_text("class Scale:\n    def __init__(self, k):\n        self.k = k\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import user_ops_fncache
    before = fncache.canonical(user_ops_fncache.Scale(2))
    assert before == fncache.canonical(user_ops_fncache.Scale(2))
    assert before != fncache.canonical(user_ops_fncache.Scale(3))
    os.utime(mod, ns=(1, 1))  # the "edited" source file
    assert fncache.canonical(user_ops_fncache.Scale(2)) != before


def _op_zoo():
    """One graph using many of tensorc's op classes, with the variables it starts from."""
    x, v, i = T.dmatrix("x"), T.dvector("v"), T.lvector("i")
    outs = [x.T, x + 1, T.exp(x), x.sum(axis=0), T.max(x, 1), x[1:3], x[i], T.inc_subtensor(x[i], 1.0),
            T.set_subtensor(x[0], v), T.dot(x, x), x.reshape((x.shape[1], x.shape[0])),
            T.nnet.softmax(x), T.argmax(x, 1), T.cast(x, "float32"), T.concatenate([x, x]),
            T.alloc(0.0, 3, 4), T.arange(5), T.switch(x > 0, x, 0), x.dimshuffle(1, "x", 0),
            T.nnet.sigmoid(x), x.flatten(), T.cumsum(v), T.sort(v), T.clip(x, 0, 1), v[::-1],
            T.stack([v, v]), T.mean(x, axis=1, keepdims=True), T.nnet.logsoftmax(x)]
    return [x, v, i], outs


def test_tensorc_ops_are_keyed_by_their_props_and_equal_props_mean_equal_state():
    from tensorc.graph.basic import io_toposort
    nodes = [io_toposort(*_op_zoo()), io_toposort(*_op_zoo())]
    texts: dict[str, object] = {}
    for a, b in zip(*nodes):
        assert a.op == b.op  # (often the same object: elemwise ops are shared)
        # what makes the props-only key sound: nothing else of a tensorc op differs
        assert vars(a.op).keys() == vars(b.op).keys()
        for name, value in vars(a.op).items():
            assert fncache.canonical(value) == fncache.canonical(vars(b.op)[name]), (a.op, name)
        text = fncache.canonical(a.op)
        assert text == fncache.canonical(b.op) and text.startswith("ptensorc.ops.")
        if text in texts:  # one text, one op (up to equality)
            assert texts[text] == a.op
        texts[text] = a.op
    assert len({type(op) for op in texts.values()}) >= 18
    inc, setsub = T.inc_subtensor(T.dvector()[1:], 1.0).owner.op, \
        T.set_subtensor(T.dvector()[1:], 1.0).owner.op
    assert fncache.canonical(inc) != fncache.canonical(setsub)
    assert fncache.canonical(T.sum(T.dmatrix(), 0).owner.op) != fncache.canonical(T.sum(T.dmatrix(), 1).owner.op)


def test_graph_text_names_types_ops_and_constants_once_per_object():
    (x, v, i), outs = _op_zoo()
    text = fncache.io_graph_text([x, v, i], outs)
    assert text == fncache.io_graph_text([x, v, i], outs)  # deterministic
    assert text.count("\nin ") == 2 and text.startswith("in 0 TensorVariable T(float64,(False, False)) 'x'")
    assert fncache.io_graph_text([x], [x + 1]) != fncache.io_graph_text([x], [x + 2])
    assert fncache.io_graph_text([x], [x.sum(0)]) != fncache.io_graph_text([x], [x.sum(1)])
    assert fncache.io_graph_text([x], [T.cast(x, "float32")]) != \
        fncache.io_graph_text([x], [T.cast(x, "float16")])
