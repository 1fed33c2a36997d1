"""The shared elementwise driver (``csrc/tensorc_ew.c``, ``backend/c/ewdriver.py``): with the
extension, kernel libraries carry only the hook and the extension's driver runs them; without
it (or when asked), the driver is compiled into the library. Both forms give numpy's results
on contiguous, strided, broadcast and threaded calls. For both shared drivers (elementwise and
the reductions' column driver): stored sources of the other form are not reused, and the
extension and the C file agree on the layout version."""
from __future__ import annotations

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import ewdriver, loader, paths, reddriver
from tensorc.backend.c.driver import c_backend_available
from tensorc.backend.c.render import library_source

pytestmark = pytest.mark.skipif(not c_backend_available(), reason="needs a C compiler")
C = tensorc.Mode(optimizer="fast_run", backend="c", name="C")
HAS_EXT = loader.using_ext() and hasattr(loader.ext_module().lib, "tc_install_ew")


def _check(rng: np.random.Generator) -> None:
    x, r = T.dmatrix("x"), T.drow("r")
    f = tensorc.function([x, r], T.tanh(x) * 2 + r, mode=C)
    a, b = rng.standard_normal((300, 400)), rng.standard_normal((1, 400))
    np.testing.assert_allclose(f(a, b), np.tanh(a) * 2 + b, rtol=1e-13, atol=1e-15)
    at = rng.standard_normal((400, 300)).T  # transposed: a strided operand, through the buffer
    np.testing.assert_allclose(f(at, b), np.tanh(at) * 2 + b, rtol=1e-13, atol=1e-15)
    big, wide = rng.standard_normal((700, 900))[:, ::-1], rng.standard_normal((1, 900))
    np.testing.assert_allclose(f(big, wide), np.tanh(big) * 2 + wide, rtol=1e-13, atol=1e-15)  # threaded
    with pytest.raises(ValueError):
        f(a, rng.standard_normal((1, 399)))


@pytest.mark.skipif(not HAS_EXT, reason="needs tensorc._ext")
def test_with_the_extension_libraries_carry_only_the_hook(rng):
    assert ewdriver.driver_shared()
    src = library_source([("k", "int k(const tc_arg *args) { return tc_ew_run(0, 0, 0); }")])
    assert ewdriver.HOOK in src and "tc_ew_run_impl" not in src
    _check(rng)


def test_the_driver_compiled_into_the_library(rng, monkeypatch):
    monkeypatch.setattr(ewdriver, "driver_shared", lambda: False)
    src = library_source([("k", "int k(const tc_arg *args) { return tc_ew_run(0, 0, 0); }")])
    assert ewdriver.HOOK not in src and "tc_ew_run_impl" in src
    _check(rng)


#: the shared drivers: module, the call a kernel makes, the library's own copy, the
#: extension's layout-version function and the file's macro
DRIVERS = [(ewdriver, "tc_ew_run(0, 0, 0)", "tc_ew_run_impl", "tc_ew_driver_abi", "TC_EW_ABI"),
           (reddriver, "tc_red_cols_run(0)", "tc_red_cols_impl", "tc_red_driver_abi", "TC_RED_ABI")]


@pytest.mark.parametrize("module,call,own,abi,macro", DRIVERS, ids=["elementwise", "reduce-columns"])
def test_stored_sources_of_the_other_form_are_not_reused(monkeypatch, module, call, own, abi, macro):
    unit_hook = f"static int k(void) {{ return {call}; }} " + module.HOOK
    unit_own = f"static int k(void) {{ return {call}; }} {own}"
    plain = "int r(const tc_arg *args) { return 0; }"
    monkeypatch.setattr(module, "driver_shared", lambda: True)
    assert module.sources_match([unit_hook, plain]) and not module.sources_match([unit_own])
    monkeypatch.setattr(module, "driver_shared", lambda: False)
    assert module.sources_match([unit_own, plain]) and not module.sources_match([unit_hook])


@pytest.mark.parametrize("module,call,own,abi,macro", DRIVERS, ids=["elementwise", "reduce-columns"])
def test_the_extension_and_the_file_agree_on_the_layout_version(module, call, own, abi, macro):
    text = module.driver_source(False)
    assert paths.define_number(text, macro) > 0
    if HAS_EXT:
        assert getattr(loader.ext_module().lib, abi)() == paths.define_number(text, macro)
