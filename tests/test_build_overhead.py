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


# -- the code fingerprint of the function cache ---------------------------------------------


def _package(tmp_path, stamp: str | None = None):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("x = 1\n")
    (pkg / "sub" / "mod.py").write_text("y = 2\n")
    if stamp is not None:
        (pkg / "_source_stamp.txt").write_text(stamp + "\n")
    return pkg


def _fingerprint(pkg) -> str:
    from tensorc.compile.fncache import _code_fingerprint
    _code_fingerprint.cache_clear()
    try:
        return _code_fingerprint(str(pkg))
    finally:
        _code_fingerprint.cache_clear()


def test_an_installed_package_is_fingerprinted_by_its_build_stamp(tmp_path):
    pkg = _package(tmp_path, "a" * 64)
    assert _fingerprint(pkg) == "built:" + "a" * 64
    (pkg / "sub" / "mod.py").write_text("y = 3  # not seen: the stamp says which build it is\n")
    assert _fingerprint(pkg) == "built:" + "a" * 64
    (pkg / "_source_stamp.txt").write_text("b" * 64)  # a reinstall writes a new stamp
    assert _fingerprint(pkg) == "built:" + "b" * 64


@pytest.mark.parametrize("stamp", [None, "short", "", "z" * 65])
def test_a_checkout_is_fingerprinted_by_its_files(tmp_path, stamp):
    import os
    pkg = _package(tmp_path, stamp)
    first = _fingerprint(pkg)
    assert not first.startswith("built:")
    mod = pkg / "sub" / "mod.py"
    mod.write_text("y = 22\n")  # another size
    second = _fingerprint(pkg)
    os.utime(mod, ns=(1, 1))  # another mtime
    third = _fingerprint(pkg)
    (pkg / "sub" / "new.py").write_text("")
    assert len({first, second, third, _fingerprint(pkg)}) == 4


def test_setup_build_py_stamps_the_built_package_only(tmp_path):
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(root, "setup.py")):
        pytest.skip("not a source checkout")
    out = tmp_path / "build"
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(out)],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    stamp = (out / "tensorc" / "_source_stamp.txt").read_text().strip()
    assert len(stamp) == 64 and int(stamp, 16) >= 0
    assert not os.path.exists(os.path.join(root, "tensorc", "_source_stamp.txt"))
    assert _fingerprint(out / "tensorc") == "built:" + stamp
    # the stamp is the sources' digest: editing one file gives another stamp
    setup_py = os.path.join(root, "setup.py")
    with open(setup_py, encoding="utf-8") as fh:  # its helpers, without running setup()
        text = fh.read().split("\nclass BuildPyWithCsrc")[0]
    namespace: dict = {"__file__": setup_py, "__name__": "_setup_helpers"}
    exec(compile(text, setup_py, "exec"), namespace)
    assert namespace["source_stamp"](str(out / "tensorc")) == stamp
    (out / "tensorc" / "config" / "__init__.py").write_text("# edited\n")
    assert namespace["source_stamp"](str(out / "tensorc")) != stamp


def test_per_process_memos_of_the_warm_path_are_cleared_with_the_compiler_probes():
    from tensorc.backend.c import compiler, cpu, paths
    cc = compiler.find_compiler()
    if cc is None:
        pytest.skip("no C compiler")
    first = compiler._identity(cc)
    assert compiler._identity(cc) is first  # once per process
    compiler.clear_caches()
    assert compiler._identity(cc) == first and compiler._identity(cc) is not first
    assert cpu._cpuinfo_flags() is cpu._cpuinfo_flags()
    assert paths.define_number("/* x */\n#define TC_EW_ABI 12 /* y */", "TC_EW_ABI") == 12
    assert paths.define_number("#define TC_EW_ABI x", "TC_EW_ABI") == -1


def test_compiler_identity_follows_symlinks_to_the_binary(tmp_path):
    """A ``cc`` link pointed at another binary (or the binary replaced) is another compiler
    for the toolchain records; the same link to the same file keeps its identity."""
    from tensorc.backend.c import compiler
    first, second = tmp_path / "gcc-a", tmp_path / "gcc-b"
    first.write_text("#!/bin/sh\n")
    second.write_text("#!/bin/sh\n# another\n")
    link = tmp_path / "cc"
    link.symlink_to(first)
    compiler.clear_caches()
    before = compiler._identity(str(link))
    compiler.clear_caches()
    assert compiler._identity(str(link)) == before
    link.unlink()
    link.symlink_to(second)
    compiler.clear_caches()
    assert compiler._identity(str(link)) != before
    compiler.clear_caches()
