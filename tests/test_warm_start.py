"""Warm start: a function rebuilt from the function cache (rewritten graph + lowered
``Program`` + kernel sources, ``tensorc.lower.store``) in a new process computes what a
fresh build computes, never lowers or renders, and any stale or damaged part of the
entry is a miss that is lowered again."""
from __future__ import annotations

import json
import os
import pickle
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
from tensorc.lower import store
from subproc import PACKAGE_PARENT
from conftest import C_MODE, needs_c


def _build(kind: str = "mlp", mode=C_MODE):
    """``mlp``: a training step (dot, tanh, softmax, updates: kernels whose shapes are
    plans); ``index``: advanced indexing (a kernel whose shapes only Python computes)."""
    rng = np.random.default_rng(0)
    x = T.matrix("x", dtype="float64")
    if kind == "index":
        i = T.lvector("i")
        return tensorc.function([x, i], T.exp(x[i]).sum(axis=1) * 2 + x[i][:, 0], mode=mode), ()
    y = T.matrix("y", dtype="float64")
    W = tensorc.shared(rng.standard_normal((5, 3)), name="W")
    b = tensorc.shared(np.zeros(3), name="b")
    p = T.nnet.softmax(T.dot(T.tanh(x), W) + b)
    loss = -T.mean(T.sum(y * T.log(p), axis=1))
    gW, gb = tensorc.grad(loss, [W, b])
    f = tensorc.function([x, y], loss, updates=[(W, W - 0.1 * gW), (b, b - 0.1 * gb)], mode=mode)
    return f, (W, b)


def _args(kind: str):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5))
    if kind == "index":
        return x, np.array([3, 0, 3, 1])
    return x, np.eye(3)[rng.integers(0, 3, 4)]


def _reference(kind: str):
    """numpy's result of ``_build(kind)`` on ``_args(kind)``: the output, then the params."""
    x, a = _args(kind)
    if kind == "index":
        return [np.exp(x[a]).sum(axis=1) * 2 + x[a][:, 0]]
    W, b = np.random.default_rng(0).standard_normal((5, 3)), np.zeros(3)
    h = np.tanh(x)
    z = h @ W + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    dz = (p - a) / x.shape[0]
    return [-np.mean(np.sum(a * np.log(p), axis=1)), W - 0.1 * (h.T @ dz), b - 0.1 * dz.sum(axis=0)]


def _run(kind: str):
    f, params = _build(kind)
    out = f(*_args(kind))
    return f, [np.asarray(out)] + [p.get_value() for p in params]


_CHILD = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    import tensorc.backend.c.driver as driver  # the caller of lower (import tensorc loads it)
    calls = []
    original = driver.lower
    driver.lower = lambda *a, **k: calls.append(1) or original(*a, **k)
    from tensorc.config import config
    config.cache_dir = {cache!r}
    from test_warm_start import _run
    f, values = _run({kind!r})
    print(json.dumps({{"hit": f.maker.cache_hit, "lowered": len(calls),
                      "rendered": "tensorc.backend.c.render" in sys.modules,
                      "values": [v.tobytes().hex() for v in values]}}))
""")


def _child(cache_dir: str, kind: str) -> dict:
    code = _CHILD.format(tests=os.path.dirname(os.path.abspath(__file__)), cache=cache_dir,
                         kind=kind)
    out = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE_PARENT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _lowering_patched_into_driver(monkeypatch) -> list:
    """Count the calls of ``lower`` made by the C driver in this process."""
    from tensorc.backend.c import driver
    calls: list = []
    original = driver.lower
    monkeypatch.setattr(driver, "lower", lambda *a, **k: calls.append(1) or original(*a, **k))
    return calls


@needs_c
@pytest.mark.parametrize("kind", ["mlp", "index"])
def test_new_process_rebuilds_the_program_from_the_cache_with_identical_results(kernels_only_cache, kind):
    first, second = _child(kernels_only_cache, kind), _child(kernels_only_cache, kind)
    assert (first["hit"], first["lowered"]) == (False, 1)
    assert (second["hit"], second["lowered"]) == (True, 0)  # nothing lowered again
    if kind == "mlp":  # its kernels all have shape plans: nothing is rendered either
        assert first["rendered"] and not second["rendered"]
    else:  # the indexing kernel has no plan: its node is rendered again for its shapes
        assert second["rendered"]
    assert second["values"] == first["values"]  # bit-identical
    for got, want in zip(second["values"], _reference(kind)):
        np.testing.assert_allclose(np.frombuffer(bytes.fromhex(got)), np.ravel(want), rtol=1e-12)


@needs_c
def test_entry_gets_the_program_after_the_first_build(kernels_only_cache, monkeypatch):
    calls = _lowering_patched_into_driver(monkeypatch)
    _, cold = _run("mlp")
    (entry,) = [e for e in cache.cache_list() if e["kind"] == "functions"]
    with open(entry["path"], "rb") as fh:
        assert b"const tc_arg *args" in fh.read()  # the kernels' C sources are stored
    cache.clear_memo()
    f, warm = _run("mlp")
    assert f.maker.cache_hit and len(calls) == 1
    for a, b in zip(warm, cold):
        np.testing.assert_array_equal(a, b)


@needs_c
def test_in_process_second_function_of_the_same_graph_uses_the_stored_program(kernels_only_cache,
                                                                              monkeypatch):
    calls = _lowering_patched_into_driver(monkeypatch)
    _run("index")
    f, values = _run("index")  # the memoised payload now holds the program
    assert f.maker.cache_hit and len(calls) == 1
    np.testing.assert_allclose(values[0], _reference("index")[0], rtol=1e-12)


def _rewrite_entry(edit) -> None:
    """Replace the function entry's lowered state by ``edit(state)`` (a valid record)."""
    (entry,) = [e for e in cache.cache_list() if e["kind"] == "functions"]
    with open(entry["path"], "rb") as fh:
        payload = fh.read()

    class _Keep(pickle.Unpickler):
        def persistent_load(self, pid):
            return ("input", pid)

    class _Put(pickle.Pickler):
        def persistent_id(self, obj):
            return obj[1] if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == "input" else None
    fmt, nodes, outputs, state = _Keep(__import__("io").BytesIO(payload)).load()
    buf = __import__("io").BytesIO()
    _Put(buf, protocol=pickle.HIGHEST_PROTOCOL).dump((fmt, nodes, outputs, edit(state)))
    cache.store_blob("functions", entry["key"], buf.getvalue(), name_hint="edited",
                     parts=entry["parts"])
    cache.clear_memo()


@needs_c
@pytest.mark.parametrize("damage", ["version", "step_to_wrong_node", "sources_without_kernels",
                                    "names_of_other_kernels", "names_swapped", "garbage_state"])
def test_damaged_program_state_is_lowered_again(kernels_only_cache, monkeypatch, damage):
    _run("mlp")

    def edit(state):
        state = list(state)
        if damage == "version":
            state[0] = -1
        elif damage == "step_to_wrong_node":
            steps = list(state[3])
            k = next(j for j, s in enumerate(steps) if s[0] == "k")
            steps[k] = (steps[k][0], (steps[k][1] + 1) % len(steps)) + tuple(steps[k][2:])
            state[3] = steps
        elif damage == "sources_without_kernels":
            state[6] = ["/* nothing */"]
        elif damage == "names_of_other_kernels":  # the sources are searched instead
            state[7] = [["no_such_kernel"] for _ in state[7]]
        elif damage == "names_swapped":  # each library is asked for the other's kernels
            assert len(state[7]) == 2 and state[7][0] and state[7][1]
            state[7] = state[7][::-1]
        else:
            return ("garbage",)
        return tuple(state)
    _rewrite_entry(edit)
    calls = _lowering_patched_into_driver(monkeypatch)
    f, values = _run("mlp")
    assert f.maker.cache_hit
    # the sources are only a hint: the program itself was still usable
    assert len(calls) == (0 if damage in ("sources_without_kernels", "names_of_other_kernels",
                                          "names_swapped") else 1)
    for got, want in zip(values, _reference("mlp")):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@needs_c
def test_pruned_kernel_library_is_compiled_again_from_the_stored_sources(kernels_only_cache, monkeypatch):
    _run("mlp")
    for e in cache.cache_list():
        if e["kind"] == "kernels":
            cache._remove_entry(e["base"])
    cache.clear_memo()
    calls = _lowering_patched_into_driver(monkeypatch)
    f, values = _run("mlp")
    assert f.maker.cache_hit and not calls
    assert any(e["kind"] == "kernels" for e in cache.cache_list())
    for got, want in zip(values, _reference("mlp")):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@needs_c
def test_lowering_flags_are_in_the_key(kernels_only_cache):
    _run("mlp")
    with config.change_flags(omp_threshold=config.omp_threshold + 1):
        f, values = _run("mlp")
    assert not f.maker.cache_hit  # the kernels depend on it: a program for the old value is not used
    np.testing.assert_allclose(values[0], _reference("mlp")[0], rtol=1e-12)


def test_a_stored_program_is_not_used_for_another_graph():
    x = T.dvector("x")
    from tensorc.graph.fgraph import FunctionGraph
    from tensorc.lower import lower
    fg = FunctionGraph([x], [T.exp(x) + 1])
    other = FunctionGraph([x], [T.exp(x) + 1])
    prog = lower(fg)
    state = store.program_state(prog, ["src"])
    assert fncache.Lowering("k", {}, fg.toposort(), state).program(fg) is not None
    entry = fncache.Lowering("k", {}, fg.toposort(), state)
    assert entry.program(other) is None  # same ops, other node objects


def test_plan_shape_matches_the_renderers_shape_functions():
    from tensorc.graph.fgraph import FunctionGraph
    from tensorc.lower import lower
    x, r = T.dmatrix("x"), T.drow("r")
    fg = FunctionGraph([x, r], [T.exp(x) * r, T.sum(x * r, axis=0, keepdims=True),
                                T.nnet.softmax(x)])
    steps = lower(fg).kernel_steps
    assert steps
    for shapes in ([(3, 4), (1, 4)], [(0, 2), (1, 2)]):
        for s in steps:
            plan = store.step_plan(s)
            assert plan is not None
            ins = [shapes[0] if v.type.ndim == 2 and not v.type.broadcastable[0] else shapes[1]
                   for v in s.kernel_vars]
            assert store.PlanShape(plan)(ins) == s.shape_fn(ins)


_LAZY_CHILD = textwrap.dedent("""
    import json, sys
    import tensorc, tensorc.tensor as T
    loaded = sorted(m for m in ("tensorc.ops.linalg", "tensorc.ops.sort", "tensorc.ops.extra",
                                "tensorc.gradient.rop", "tensorc.gradient.verify",
                                "tensorc.tensor.nlinalg", "tensorc.backend.numpy_backend",
                                "dataclasses")  # numpy does not import it; its classes cost ~1 ms each
                    if m in sys.modules)
    import tensorc.gradient as G
    from tensorc.ops import extra, sort
    from tensorc.gradient import rop, verify
    same = [T.cumsum is extra.cumsum, T.argsort is sort.argsort, T.jacobian is rop.jacobian,
            T.verify_grad is verify.verify_grad, G.Rop is rop.Rop, G.numeric_grad is verify.numeric_grad,
            T.nlinalg is sys.modules["tensorc.tensor.nlinalg"], "sort" in dir(T)]
    print(json.dumps({"loaded": loaded, "same": same}))
""")


def test_import_leaves_rarely_used_modules_for_first_use():
    out = subprocess.run([sys.executable, "-c", _LAZY_CHILD], cwd=PACKAGE_PARENT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["loaded"] == []
    assert all(got["same"]), got["same"]
    with pytest.raises(AttributeError):
        T.no_such_name  # noqa: B018


@pytest.mark.parametrize("collecting", [True, False])
def test_import_grad_and_function_restore_the_garbage_collectors_state(collecting):
    """They pause the cyclic collector while they build (``graph.basic.gc_paused``) and put
    back whatever state they found, also when the build raises."""
    code = textwrap.dedent(f"""
        import gc
        {'gc.enable()' if collecting else 'gc.disable()'}
        import tensorc, tensorc.tensor as T
        states = [gc.isenabled()]
        x = T.dvector('x')
        g = tensorc.grad((x ** 2).sum(), x)
        states.append(gc.isenabled())
        tensorc.function([x], g)
        states.append(gc.isenabled())
        try:
            tensorc.function([x], T.dvector('unrelated'))
        except Exception:
            pass
        else:
            raise SystemExit('a missing input was accepted')
        states.append(gc.isenabled())
        print(states)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE_PARENT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str([collecting] * 4)


def test_function_moves_its_objects_to_the_oldest_generation_but_leaves_frozen_ones_alone():
    """``function()`` hands what it built to the oldest generation unwalked (freeze then
    unfreeze): no collection runs when it returns (before: a walk of every object it made).
    Objects the program froze itself stay frozen."""
    code = textwrap.dedent("""
        import gc
        import tensorc, tensorc.tensor as T
        x = T.dvector('x')
        y = T.exp(x) + 1
        runs = []
        gc.collect()
        gc.callbacks.append(lambda phase, info: runs.append(phase))
        tensorc.function([x], y)
        after = len(runs)
        gc.callbacks.clear()
        keep = [[i] for i in range(100)]
        gc.freeze()
        frozen = gc.get_freeze_count()
        tensorc.function([x], T.exp(x) * 2)
        print(after == 0, gc.get_freeze_count() == frozen > 0, gc.isenabled())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE_PARENT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True"]


@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_import_loads_the_c_backends_warm_path_unless_the_numpy_backend_is_configured(backend):
    """``import tensorc`` imports what a warm ``function()`` needs (``backend.WARM_PATH``), so
    that building a function from the cache imports nothing; not with ``backend=numpy``."""
    from tensorc.backend import WARM_PATH
    code = textwrap.dedent(f"""
        import json, sys
        import tensorc, tensorc.tensor as T
        loaded = [m for m in {WARM_PATH!r} if m in sys.modules]
        print(json.dumps({{"loaded": loaded, "render": "tensorc.backend.c.render" in sys.modules,
                          "rewrite": "tensorc.rewrite.pipeline" in sys.modules}}))
    """)
    env = dict(os.environ, TENSORC_FLAGS=f"backend={backend}")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE_PARENT, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"loaded": list(WARM_PATH) if backend == "auto" else [], "render": False,
                   "rewrite": False}
