"""The shared column driver of reductions (``csrc/tensorc_reduce.c``,
``backend/c/reddriver.py``): with the extension, kernel libraries carry only the hook
and the extension's driver walks their rows; without it (or when asked) the driver is
compiled into the library; a library whose hook is not set runs its per-output path.
Every form gives numpy's results for column sums (tiles, row parts on the pool),
transposed row sums, strided and broadcast operands, and stored sources of the other
form are not reused."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.backend.c import loader, reddriver
from tensorc.backend.c.driver import c_backend_available
from tensorc.backend.c.render import library_source

pytestmark = pytest.mark.skipif(not c_backend_available(), reason="needs a C compiler")
C = tensorc.Mode(optimizer="fast_run", backend="c", name="C")
HAS_EXT = loader.using_ext() and hasattr(loader.ext_module().lib, "tc_install_red")
KERNEL = "int k(const tc_arg *args) { return tc_red_cols_run(0); }"


def _check(rng: np.random.Generator) -> None:
    """Column sums (few and many tiles: row parts, both threads), transposed row sums,
    max with a NaN, argmax, a strided operand copied per row, a broadcast column."""
    x, c = T.dmatrix("x"), T.dcol("c")
    f = tensorc.function([x, c], [T.sum(x, axis=0), T.sum(x.T, axis=1), T.max(x.T, axis=1),
                                  T.argmax(x, axis=0), T.sum(x * c, axis=0)], mode=C)
    for shape in [(200000, 8), (3000, 700), (700, 3000), (5, 40)]:
        m = rng.standard_normal(shape)
        m[shape[0] // 2, 3] = np.nan
        cv = rng.standard_normal((shape[0], 1))
        for view in (m, np.asfortranarray(m), np.repeat(m, 2, axis=1)[:, ::2]):
            got = f(view, cv)
            want = [m.sum(axis=0), m.sum(axis=0), m.max(axis=0), m.argmax(axis=0), (m * cv).sum(axis=0)]
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-9 * np.sqrt(shape[0]))


@pytest.mark.skipif(not HAS_EXT, reason="needs tensorc._ext with the column driver")
def test_with_the_extension_libraries_carry_only_the_hook(rng):
    assert reddriver.driver_shared()
    src = library_source([("k", KERNEL)])
    assert reddriver.HOOK in src and "tc_red_cols_impl" not in src
    _check(rng)


def test_the_driver_compiled_into_the_library(rng, monkeypatch):
    monkeypatch.setattr(reddriver, "driver_shared", lambda: False)
    src = library_source([("k", KERNEL)])
    assert reddriver.HOOK not in src and "tc_red_cols_impl(const" in src and "int tc_install_red(" not in src
    _check(rng)


@pytest.mark.skipif(not HAS_EXT, reason="needs tensorc._ext with the column driver")
def test_a_library_without_its_hook_runs_the_per_output_path(rng):
    """The hook cleared after load (an extension without the driver): same values."""
    from tensorc.backend.c import cache, runner
    from tensorc.backend.c.render.reduce import render_reduce_node
    x = T.dmatrix("x")
    src = render_reduce_node(T.sum(x, axis=0).owner, "k0", 32768)[0]
    lib = cache.get_library(library_source([("k0", src)]), name_hint="red_nohook")
    ext = loader.ext_module()
    slot: Any = ext.ffi.cast("void **", ext.lib.tc_dlsym(lib.handle, b"tc_red_cols_hook"))
    real = slot[0]
    assert real != ext.ffi.NULL
    prog = runner.KernelProgram([(lib.kernel("k0"), [0, 1])],
                                [runner.spec_for("float64", 2), runner.spec_for("float64", 1, writable=True)])
    m = rng.standard_normal((3000, 300))
    slot[0] = ext.ffi.NULL
    try:
        out = np.zeros(300)
        prog([m, out])
    finally:
        slot[0] = real
    np.testing.assert_allclose(out, m.sum(axis=0), rtol=1e-12, atol=1e-12)
