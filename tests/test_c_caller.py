"""The C call path of compiled functions (``backend/c/caller.py``,
``csrc/tensorc_caller.c``): which functions get it, results equal to numpy, returned arrays
never overwritten, every argument it does not take handed to the Python path (which
converts or raises with the input named), and concurrent calls serialised."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import loader
from tensorc.backend.c.driver import c_backend_available

from subproc import run_python
from conftest import run_threads

HAS_CALLER = c_backend_available() and loader.using_ext() \
    and hasattr(loader.ext_module().lib, "tc_make_caller")
pytestmark = pytest.mark.skipif(not HAS_CALLER, reason="needs a C compiler and tensorc._ext")
C = tensorc.Mode(optimizer="fast_run", backend="c", name="C")
NP = tensorc.Mode(optimizer="fast_run", backend="numpy", name="NP")


def _both(inputs, outputs, **kw):
    return tensorc.function(inputs, outputs, mode=C, **kw), \
        tensorc.function(inputs, outputs, mode=NP, **kw)


def test_one_segment_functions_get_the_c_caller_and_match_numpy(rng):
    x, y = T.dscalar("x"), T.dscalar("y")
    f, g = _both([x, y], x * 2 + y)
    assert f._c_call is not None and g._c_call is None
    a, b = np.array(1.25), np.array(-3.0)
    out = f(a, b)
    assert type(out) is np.ndarray and out.shape == () and out == g(a, b) == 2 * 1.25 - 3.0
    v, w = T.fvector("v"), T.fvector("w")
    f, g = _both([v, w], [T.tanh(v) * w, (v - w).sum()])
    assert f._c_call is not None
    p, q = rng.standard_normal(1000, dtype=np.float32), rng.standard_normal(1000, dtype=np.float32)
    got, want = f(p, q), g(p, q)
    assert isinstance(got, list) and len(got) == 2
    np.testing.assert_allclose(got[0], want[0], rtol=2e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5)


def test_functions_with_copies_broadcast_checks_or_mutable_inputs_keep_the_python_path():
    x = T.dvector("x")
    s = tensorc.shared(np.ones(3), name="s")
    assert tensorc.function([x], x + s, mode=C)._c_call is not None  # shared: C reads it
    assert tensorc.function([x], x + 1, updates=[(s, s * 2)], mode=C)._c_call is not None
    assert tensorc.function([x], x, mode=C)._c_call is None  # output is the input: copied
    r = T.drow("r")  # a broadcastable dimension must be checked to be 1: Python path
    assert tensorc.function([r], r * 2, mode=C)._c_call is None
    m = tensorc.In(x, mutable=True)  # a re-run after a failure would see a changed input
    assert tensorc.function([m], T.exp(x), mode=C)._c_call is None


def test_returned_arrays_are_never_overwritten(rng):
    v = T.dvector("v")
    f = tensorc.function([v], T.exp(v) + 1, mode=C)
    assert f._c_call is not None
    a, b = rng.standard_normal(50), rng.standard_normal(50)
    r1 = f(a)
    keep = r1.copy()
    r2 = f(b)
    r3 = f(a)
    assert r1 is not r2 and r3 is not r1
    np.testing.assert_array_equal(r1, keep)
    np.testing.assert_allclose(r2, np.exp(b) + 1)
    del r1, r2, r3
    np.testing.assert_allclose(f(b), np.exp(b) + 1)  # recycled buffers still give fresh results


@pytest.mark.parametrize("args", [
    (1.5, 2),                                          # Python scalars
    (np.float64(1.5), np.array(2.0)),                   # a numpy scalar
    (np.array(1.5, dtype=">f8"), np.array(2.0)),        # non-native byte order
    (np.array(1.5, dtype=np.float32), np.array(2.0)),   # a narrower dtype (upcast)
    (np.array([1.5]).reshape(()), np.array(2.0)),       # a view
])
def test_arguments_the_c_caller_does_not_take_are_converted_by_python(args):
    x, y = T.dscalar("x"), T.dscalar("y")
    f, g = _both([x, y], x - y)
    assert float(f(*args)) == float(g(*args)) == float(args[0]) - float(args[1])


def test_bad_arguments_raise_naming_the_input():
    v, w = T.dvector("v"), T.dvector("w")
    f = tensorc.function([v, w], v * w, mode=C)
    with pytest.raises(TypeError, match=r"input 0 \(v\).*dimensions"):
        f(np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"shape|length|broadcast|size|dimension"):
        f(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError):
        f(np.zeros(3))
    with pytest.raises(TypeError):
        f(np.zeros(3, dtype=np.complex128), np.zeros(3))
    np.testing.assert_array_equal(f(np.arange(3.0), np.arange(3.0)), np.arange(3.0) ** 2)
    np.testing.assert_array_equal(f(v=np.arange(2.0), w=np.ones(2)), np.arange(2.0))


def test_garbage_arguments_never_crash_the_process(tmp_path):
    code = textwrap.dedent("""
        import numpy as np, tensorc, tensorc.tensor as T
        v = T.dvector("v")
        f = tensorc.function([v], v * 2, mode=tensorc.Mode(backend="c"))
        assert f._c_call is not None
        bad = [None, object(), "abc", [1, "x"], np.zeros((2, 2)), np.zeros(3, dtype=object),
               np.lib.stride_tricks.as_strided(np.zeros(1), shape=(5,), strides=(0,))]
        raised = 0
        for b in bad:
            try:
                f(b)
            except (TypeError, ValueError):
                raised += 1
        print("raised", raised)
        print(f(np.arange(4.0)).tolist())
    """)
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert int(lines[0].split()[1]) >= 6
    assert lines[1] == "[0.0, 2.0, 4.0, 6.0]"


def test_concurrent_calls_are_serialised_and_correct(rng):
    v = T.dvector("v")
    f = tensorc.function([v], T.sqrt(v * v + 1.0), mode=C)
    assert f._c_call is not None
    inputs = [rng.standard_normal(20000 + 7 * k) for k in range(4)]
    wants = [np.sqrt(a * a + 1.0) for a in inputs]
    errors: list[str] = []

    def work(k: int) -> None:
        for _ in range(30):  # odd threads by keyword: the Python path, same lock
            got = f(v=inputs[k]) if k % 2 else f(inputs[k])
            if got.shape != wants[k].shape or not np.allclose(got, wants[k]):
                errors.append(f"thread {k}")
                return
    run_threads(work)
    assert not errors
