"""Build hooks for tensorc (metadata lives in pyproject.toml).

1. ``build_py`` copies the hand-written C sources of the top-level ``csrc/``
   into the built package as ``tensorc/csrc/`` (package data), so the runtime
   header is found after a non-editable ``pip install .``, and writes
   ``tensorc/_source_stamp.txt``: a sha256 of the built package's Python sources,
   which the function cache uses as the code fingerprint of an installed tensorc
   instead of stat-ing ~150 files in every new process.
2. ``build_ext`` builds the optional cffi API-mode extension ``tensorc._ext``
   (the kernel-program runner, ``csrc/tensorc_ext.c``). If that fails - no
   compiler, no Python headers - it warns and the install goes on: tensorc
   then calls kernels through plain cffi ABI mode.
"""
from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import shutil
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(HERE, "csrc")
EXT_NAME = "tensorc._ext"


def _load_cdefs():
    path = os.path.join(HERE, "tensorc", "backend", "c", "cdefs.py")
    spec = importlib.util.spec_from_file_location("_tensorc_cdefs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ext_build_options() -> tuple[list[str], list[tuple[str, str]]]:
    """Include dirs and macros of ``tensorc._ext``."""
    include_dirs, macros = [CSRC], [("_CFFI_NO_LIMITED_API", "1")]
    try:  # numpy's C API reads arrays ~50x faster than the buffer protocol
        import numpy
        include_dirs.append(numpy.get_include())
    except ImportError:
        macros.append(("TC_NO_NUMPY", "1"))
    return include_dirs, macros


def make_ffibuilder():
    """The cffi builder of ``tensorc._ext`` (also usable as a ``cffi_modules`` target)."""
    import cffi
    cdefs = _load_cdefs()
    builder = cffi.FFI()
    builder.cdef(cdefs.TYPES_CDEF + cdefs.EXT_FUNCS_CDEF)
    with open(os.path.join(CSRC, "tensorc_ext.c"), encoding="utf-8") as fh:
        body = fh.read()
    include_dirs, macros = ext_build_options()
    # The buffer protocol is not in the limited API cffi targets by default.
    builder.set_source(EXT_NAME, body, include_dirs=include_dirs, libraries=["dl"],
                       define_macros=macros, py_limited_api=False)
    return builder


def source_stamp(package_dir: str) -> str:
    """sha256 over the relative path and bytes of every ``.py`` file under ``package_dir``."""
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(package_dir, "**", "*.py"), recursive=True)):
        rel = os.path.relpath(path, package_dir).replace(os.sep, "/")
        with open(path, "rb") as fh:
            digest.update(rel.encode() + b"\0" + hashlib.sha256(fh.read()).digest())
    return digest.hexdigest()


class BuildPyWithCsrc(build_py):
    """Copy ``csrc/*.c`` and ``csrc/*.h`` into ``<build>/tensorc/csrc/`` and stamp the
    built package's sources (``tensorc/_source_stamp.txt``, never in the source tree)."""

    def run(self) -> None:
        super().run()
        package = os.path.join(self.build_lib, "tensorc")
        target = os.path.join(package, "csrc")
        os.makedirs(target, exist_ok=True)
        for path in glob.glob(os.path.join(CSRC, "*.c")) + glob.glob(os.path.join(CSRC, "*.h")):
            shutil.copy2(path, target)
        if os.path.realpath(package) != os.path.realpath(os.path.join(HERE, "tensorc")):
            with open(os.path.join(package, "_source_stamp.txt"), "w", encoding="utf-8") as fh:
                fh.write(source_stamp(package) + "\n")


class OptionalBuildExt(build_ext):
    """Generate and build ``tensorc._ext``; a failure is a warning, never an error."""

    def run(self) -> None:
        try:
            gen_dir = os.path.join(self.build_temp, "cffi")
            os.makedirs(gen_dir, exist_ok=True)
            c_file = os.path.join(gen_dir, "tensorc__ext.c")
            make_ffibuilder().emit_c_code(c_file)
            for ext in self.extensions:
                if ext.name == EXT_NAME:
                    ext.sources = [c_file]
                    ext.include_dirs, ext.define_macros = ext_build_options()
                    # what tensorc_ext.c #includes: a change to any rebuilds the extension
                    ext.depends = sorted(glob.glob(os.path.join(CSRC, "*.[ch]")))
            super().run()
        except Exception as exc:  # noqa: BLE001 - optional extension
            self._warn(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)

    @staticmethod
    def _warn(exc: BaseException) -> None:
        sys.stderr.write(f"WARNING: the optional extension {EXT_NAME} was not built ({exc}); "
                         "tensorc will call kernels through cffi ABI mode (slower calls).\n")


setup(
    ext_modules=[Extension(EXT_NAME, sources=[], libraries=["dl"], optional=True)],
    cmdclass={"build_py": BuildPyWithCsrc, "build_ext": OptionalBuildExt},
)
