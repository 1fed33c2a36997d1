"""csrc/tensorc_runtime.h helpers against numpy, through real compiled kernels."""
from __future__ import annotations

import platform
import shutil
import subprocess

import numpy as np
import pytest

from tensorc.backend.c import cache, compiler, runner
from tensorc.config import config

from clib import library_in_temp_cache

pytestmark = pytest.mark.skipif(not compiler.compiler_available(), reason="no C compiler")

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = {"float32": "f32", "float64": "f64"}
UNARY_FLOAT = ["sgn", "round", "sigmoid", "softplus", "hard_sigmoid", "ultra_fast_sigmoid"]


def _unary(name: str, ctype: str, fn: str) -> str:
    return (f"int {name}(const tc_arg *a) {{\n"
            f"  tc_intp n = a[0].shape[0];\n"
            f"  if (a[1].shape[0] != n) return TC_ERROR(TC_ERR_SHAPE, 1);\n"
            f"  const {ctype} *x = (const {ctype} *)a[0].data; {ctype} *o = ({ctype} *)a[1].data;\n"
            f"  for (tc_intp i = 0; i < n; i++) o[i] = {fn}(x[i]);\n  return 0;\n}}\n")


def _binary(name: str, ctype: str, fn: str) -> str:
    return (f"int {name}(const tc_arg *a) {{\n"
            f"  tc_intp n = a[0].shape[0];\n"
            f"  const {ctype} *x = (const {ctype} *)a[0].data, *y = (const {ctype} *)a[1].data;\n"
            f"  {ctype} *o = ({ctype} *)a[2].data;\n"
            f"  for (tc_intp i = 0; i < n; i++) o[i] = {fn}(x[i], y[i]);\n  return 0;\n}}\n")


def _source() -> str:
    parts = ['#include "tensorc_runtime.h"\n']
    for t in INTS:
        parts += [_binary(f"floordiv_{t}", f"tc_{t}", f"tc_floordiv_{t}"),
                  _binary(f"mod_{t}", f"tc_{t}", f"tc_mod_{t}"),
                  _unary(f"sgn_{t}", f"tc_{t}", f"tc_sgn_{t}")]
    for t, suf in FLOATS.items():
        parts += [_binary(f"floordiv_{t}", f"tc_{t}", f"tc_floordiv_{suf}"),
                  _binary(f"mod_{t}", f"tc_{t}", f"tc_mod_{suf}")]
        parts += [_unary(f"{fn}_{t}", f"tc_{t}", f"tc_{fn}_{suf}") for fn in UNARY_FLOAT]
    return "".join(parts)


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory):
    yield from library_in_temp_cache(tmp_path_factory, _source(), "runtime_header_test")


def _call(lib: cache.LoadedLib, name: str, *arrays: np.ndarray) -> np.ndarray:
    out = np.empty_like(arrays[0])
    specs = [runner.spec_for(a.dtype, 1) for a in arrays] + [runner.spec_for(out.dtype, 1, writable=True)]
    prog = runner.KernelProgram([(lib.kernel(name), list(range(len(arrays) + 1)))], specs)
    prog([*arrays, out])
    return out


def _int_operands(t: str) -> tuple[np.ndarray, np.ndarray]:
    info = np.iinfo(t)
    if info.bits == 8:  # exhaustive
        vals = np.arange(info.min, info.max + 1).astype(t)
        a, b = np.meshgrid(vals, vals)
        return a.ravel().copy(), b.ravel().copy()
    edges = [info.min, info.min + 1, -7, -3, -2, -1, 0, 1, 2, 3, 7, info.max - 1, info.max]
    edges = np.array([e for e in edges if info.min <= e <= info.max], dtype=t)
    a, b = np.meshgrid(edges, edges)
    rng = np.random.default_rng(0)
    ra = rng.integers(info.min, info.max, 5000, dtype=t, endpoint=True)
    rb = rng.integers(-50 if info.min < 0 else 0, 50, 5000).astype(t)
    return np.concatenate([a.ravel(), ra]), np.concatenate([b.ravel(), rb])


@pytest.mark.parametrize("t", INTS)
def test_int_floordiv_mod_sign(lib, t: str) -> None:
    a, b = _int_operands(t)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(_call(lib, f"floordiv_{t}", a, b), np.floor_divide(a, b))
        np.testing.assert_array_equal(_call(lib, f"mod_{t}", a, b), np.remainder(a, b))
    np.testing.assert_array_equal(_call(lib, f"sgn_{t}", a), np.sign(a))


FLOAT_EDGES = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, -3.0,
               7.3, -7.3, 1e-300, -1e-300, 1e300, -1e300, 5e-324, 0.1, 1e20, -1e20]


def _same(got: np.ndarray, want: np.ndarray) -> None:
    """Equal values, NaN where numpy has NaN, and the same sign of zero."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(got[ok], want[ok])
    np.testing.assert_array_equal(np.signbit(got[ok]), np.signbit(want[ok]))


@pytest.mark.parametrize("t", list(FLOATS))
def test_float_floordiv_mod(lib, t: str) -> None:
    with np.errstate(over="ignore"):
        edges = np.array(FLOAT_EDGES, dtype=t)
    a, b = (m.ravel().copy() for m in np.meshgrid(edges, edges))
    rng = np.random.default_rng(1)
    a = np.concatenate([a, (rng.standard_normal(4000) * 100).astype(t)])
    b = np.concatenate([b, (rng.standard_normal(4000) * 10).astype(t)])
    with np.errstate(all="ignore"):
        _same(_call(lib, f"floordiv_{t}", a, b), np.floor_divide(a, b))
        _same(_call(lib, f"mod_{t}", a, b), np.remainder(a, b))


def _float_inputs(t: str) -> np.ndarray:
    rng = np.random.default_rng(2)
    vals = np.concatenate([FLOAT_EDGES, [-745.0, -710.0, 710.0, 88.0, -88.0, -104.0, 0.25, -0.25],
                           np.arange(-20, 20.5, 0.5), rng.standard_normal(3000) * 30])
    with np.errstate(over="ignore"):
        return vals.astype(t)


@pytest.mark.parametrize("t", list(FLOATS))
def test_float_sign_round(lib, t: str) -> None:
    x = _float_inputs(t)
    _same(_call(lib, f"sgn_{t}", x), np.sign(x))
    _same(_call(lib, f"round_{t}", x), np.round(x))


def _ultra_fast_reference(x: np.ndarray) -> np.ndarray:
    u = 0.5 * np.abs(x.astype(np.float64))
    t = np.where(u < 1.7, 1.5 * u / (1 + u),
                 np.where(u < 3, 0.935409070603099 + 0.0458812946797165 * (u - 1.7),
                          0.99505475368673))
    t = np.where(np.isnan(u), np.nan, t)  # tensorc propagates NaN (Theano gave 0.0025)
    return 0.5 * (np.copysign(t, x) + 1)


@pytest.mark.parametrize("t", list(FLOATS))
def test_sigmoid_family(lib, t: str) -> None:
    x = _float_inputs(t)
    xd = x.astype(np.float64)
    rtol = 1e-13 if t == "float64" else 2e-6
    with np.errstate(all="ignore"):
        wants = {
            "sigmoid": np.exp(-np.logaddexp(0.0, -xd)),
            "softplus": np.logaddexp(0.0, xd),
            "hard_sigmoid": np.clip(0.2 * xd + 0.5, 0.0, 1.0),
            "ultra_fast_sigmoid": _ultra_fast_reference(xd),
        }
    for name, want in wants.items():
        got = _call(lib, f"{name}_{t}", x).astype(np.float64)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
        np.testing.assert_allclose(got, want.astype(t).astype(np.float64), rtol=rtol,
                                   atol=1e-300 if t == "float64" else 1e-7, err_msg=name)
    sig = _call(lib, f"sigmoid_{t}", np.array([np.inf, -np.inf, -800, 800], dtype=t))
    np.testing.assert_array_equal(sig, [1, 0, 0, 1])
    assert _call(lib, f"sigmoid_{t}", np.array([-100.0], dtype=t))[0] > 0  # no underflow to 0


SIMD_SOURCE = """#include "tensorc_runtime.h"
int k64(const tc_arg *a) {
  tc_intp n = a[0].shape[0];
  const double *x = (const double *)a[0].data, *y = (const double *)a[1].data, *z = (const double *)a[2].data;
  double *o = (double *)a[3].data;
  for (tc_intp i = 0; i < n; i++) o[i] = tanh(x[i]) * exp(-y[i] * y[i]) + log1p(fabs(z[i]));
  return 0;
}
int k32(const tc_arg *a) {
  tc_intp n = a[0].shape[0];
  const float *x = (const float *)a[0].data, *y = (const float *)a[1].data, *z = (const float *)a[2].data;
  float *o = (float *)a[3].data;
  for (tc_intp i = 0; i < n; i++) o[i] = tanhf(x[i]) * expf(-y[i] * y[i]) + log1pf(fabsf(z[i]));
  return 0;
}
"""


@pytest.mark.skipif(platform.machine() != "x86_64" or not shutil.which("objdump")
                    or not platform.libc_ver()[0] == "glibc", reason="libmvec is x86_64 glibc")
def test_libm_calls_are_vectorised_and_ieee(tmp_path) -> None:
    old = config.cache_dir
    config.cache_dir = str(tmp_path / "c")
    try:
        lib = cache.get_library(SIMD_SOURCE, name_hint="simd")
        dis = subprocess.run(["objdump", "-d", lib.path], capture_output=True, text=True).stdout
        for sym in ("_tanh", "_exp", "_log1p", "_tanhf", "_expf", "_log1pf"):
            assert f"v{sym}@plt" in dis, f"{sym} not vectorised"
        rng = np.random.default_rng(3)
        for t, name, tol in ((np.float64, "k64", 1e-14), (np.float32, "k32", 1e-5)):
            a, b, c = (rng.standard_normal(10_000).astype(t) * 3 for _ in range(3))
            special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 1e-30], dtype=t)
            a[:8], b[:8], c[:8] = special, special[::-1], special
            with np.errstate(all="ignore"):
                want = np.tanh(a) * np.exp(-b * b) + np.log1p(np.abs(c))
            got = _call4(lib, name, a, b, c)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            fin = np.isfinite(want)
            np.testing.assert_array_equal(got[~fin & ~np.isnan(want)], want[~fin & ~np.isnan(want)])
            np.testing.assert_allclose(got[fin], want[fin], rtol=tol, atol=tol)
    finally:
        config.cache_dir = old


def _call4(lib: cache.LoadedLib, name: str, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    spec = runner.spec_for(a.dtype, 1)
    prog = runner.KernelProgram([(lib.kernel(name), [0, 1, 2, 3])],
                                [spec, spec, spec, runner.spec_for(a.dtype, 1, writable=True)])
    prog([a, b, c, out])
    return out
