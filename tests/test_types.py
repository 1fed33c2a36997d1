"""Types, constructors, constants and dtype promotion (Theano/numpy rules)."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.config import config
from tensorc.graph.type import PREFIX_DTYPES, TensorType

KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
         "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4}


@pytest.mark.parametrize("kind,pattern", KINDS.items())
@pytest.mark.parametrize("prefix,dtype", PREFIX_DTYPES.items())
def test_prefixed_constructors(kind, pattern, prefix, dtype):
    v = getattr(T, prefix + kind)("v")
    assert (v.dtype, v.broadcastable, v.name) == (dtype, pattern, "v")


@pytest.mark.parametrize("kind,pattern", KINDS.items())
def test_unprefixed_constructors_use_floatx(kind, pattern):
    with config.change_flags(floatX="float32"):
        assert getattr(T, kind)().dtype == "float32"
    assert getattr(T, kind)().broadcastable == pattern


@pytest.mark.parametrize("dtype", ["bool", "uint8", "uint16", "uint32", "uint64", "int16", "complex64"])
def test_tensor_with_any_dtype(dtype):
    v = T.tensor(dtype, (False, True), name="m")
    assert v.type == TensorType(dtype, (False, True)) and v.name == "m"


@pytest.mark.parametrize("expr,dtype", [
    (lambda: T.ivector() / T.ivector(), "float64"),        # int/int true division
    (lambda: T.ivector() + T.fvector(), "float64"),        # int32 + float32
    (lambda: T.bvector() + T.fvector(), "float32"),        # int8 + float32
    (lambda: T.fvector() * 2.0, "float32"),                # a python float keeps float32
    (lambda: T.fvector() + 1, "float32"),
    (lambda: T.bvector() + 1, "int8"),                     # a python int keeps int8
    (lambda: T.ivector() * 1.5, "float64"),
    (lambda: T.fvector() < T.fvector(), "bool"),
    (lambda: T.eq(T.ivector(), 1), "bool"),
    (lambda: T.ivector() // T.ivector(), "int32"),
    (lambda: T.sqrt(T.bvector()), "float32"),
    (lambda: T.sqrt(T.ivector()), "float64"),
    (lambda: T.abs_(T.zvector()), "float64"),
])
def test_dtype_promotion(expr, dtype):
    assert expr().dtype == dtype


def test_constant_is_weak_only_for_python_scalars():
    assert T.constant(2.0).weak and not T.constant(np.float64(2.0)).weak
    assert (T.fvector() * T.constant(np.float64(2.0))).dtype == "float64"
    assert T.constant([1, 2], dtype="int8").dtype == "int8"
    with pytest.raises(TypeError, match="does not fit"):
        T.constant(300, dtype="int8")


def test_as_tensor_variable():
    x = T.dmatrix()
    assert T.as_tensor_variable(x) is x
    c = T.as_tensor_variable([[1.0, 2.0]])
    assert c.broadcastable == (True, False) and c.dtype == "float64"
    with pytest.raises(TypeError):
        T.as_tensor_variable("text")


def test_broadcast_pattern_helpers():
    x = T.dmatrix()
    assert T.addbroadcast(x, 0).broadcastable == (True, False)
    assert T.unbroadcast(T.row(), 0).broadcastable == (False, False)
    assert T.patternbroadcast(x, (False, True)).broadcastable == (False, True)
    with pytest.raises(ValueError, match="pattern"):
        T.patternbroadcast(x, (True,))


def test_addbroadcast_checks_at_run_time(mode):
    x = T.dmatrix("x")
    f = tensorc.function([x], T.addbroadcast(x, 0) * 2, mode=mode)
    np.testing.assert_allclose(f(np.ones((1, 3))), 2 * np.ones((1, 3)))
    with pytest.raises(ValueError, match="broadcastable.*length 3|length 3"):
        f(np.ones((3, 3)))


def test_variables_have_no_truth_value_and_eq_is_identity():
    x = T.dscalar()
    with pytest.raises(TypeError, match="truth value"):
        bool(x < 1)
    assert (x == x) is True and {x: 1}[x] == 1


def test_filter_errors_name_the_input():
    t = TensorType("float32", (False,))
    with pytest.raises(TypeError, match="dimensions.*expected 1"):
        t.filter(np.ones((2, 2), dtype="float32"))
    with pytest.raises(TypeError, match="float64.*float32"):
        t.filter(np.ones(2))
    assert t.filter(np.ones(2), allow_downcast=True).dtype == np.float32
    assert t.filter([1.5, 2.5]).dtype == np.float32        # python floats into float32 (Theano)
    with pytest.raises(TypeError, match="numeric"):
        t.filter(["a", "b"])


def test_shared_variable_types():
    with config.change_flags(floatX="float32"):
        assert tensorc.shared(1.5).dtype == "float32"
    s = tensorc.shared(np.zeros((1, 3)))
    assert s.broadcastable == (False, False)
    assert tensorc.shared(np.zeros((1, 3)), broadcastable=(True, False)).broadcastable == (True, False)
    with pytest.raises(TypeError, match="symbolic"):
        tensorc.shared(T.dscalar())


def test_a_type_from_another_process_hashes_like_a_fresh_one(tmp_path):
    """Types travel in pickles (the function cache); their cached hash must not."""
    import pickle
    import subprocess
    import sys
    from subproc import PACKAGE_PARENT
    code = ("import pickle, sys; from tensorc.graph.type import TensorType; "
            "sys.stdout.buffer.write(pickle.dumps([TensorType('float32', (True, False), name='t'), "
            "TensorType('int8', [1])]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                         cwd=PACKAGE_PARENT, timeout=120).stdout
    a, b = pickle.loads(out)
    fresh_a, fresh_b = TensorType("float32", (True, False)), TensorType("int8", (True,))
    assert a == fresh_a and hash(a) == hash(fresh_a) and len({a, fresh_a}) == 1
    assert b == fresh_b and hash(b) == hash(fresh_b) and {b: 1}[fresh_b] == 1
    assert a.name == "t" and a.numpy_dtype is np.dtype("float32") and b.broadcastable == (True,)


@pytest.mark.parametrize("pattern", [(True, False), [1, 0], (np.True_, False), (2, 0)])
def test_types_made_from_any_spelling_of_a_pattern_are_equal(pattern):
    t = TensorType("float64", pattern)
    assert t.broadcastable == (True, False) and all(type(b) is bool for b in t.broadcastable)
    assert t == TensorType("float64", (True, False)) and hash(t) == hash(TensorType("float64", (True, False)))
    assert t.numpy_dtype == np.dtype("float64") and t.ndim == 2
