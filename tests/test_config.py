"""Configuration precedence: defaults < ~/.tensorcrc [global] < TENSORC_FLAGS.

Each case runs in a fresh interpreter with HOME (and TENSORCRC) pointing into a
temporary directory, so the user's own settings never leak in.
"""
from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tensorc.config import Config
from subproc import PACKAGE_PARENT

_SHOW = ("import json, tensorc\n"
         "c = tensorc.config\n"
         "print(json.dumps({k: [v, s] for k, v, s in c.items()}))\n")


def _run(home: Path, flags: str | None = None, rc: str | None = None,
         rc_env: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORC", "XDG_CACHE"))}
    env.update(HOME=str(home), PYTHONPATH=os.getcwd())
    if flags is not None:
        env["TENSORC_FLAGS"] = flags
    if rc is not None:
        (home / ".tensorcrc").write_text(rc)
    if rc_env is not None:
        env["TENSORCRC"] = rc_env
    return subprocess.run([sys.executable, "-c", _SHOW], capture_output=True, text=True, cwd=PACKAGE_PARENT,
                          env=env, timeout=120)


def _settings(home: Path, **kwargs: str) -> dict:
    proc = _run(home, **kwargs)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("rc, flags, expected, source", [
    (None, None, "float64", "default"),
    ("[global]\nfloatX = float32\n", None, "float32", ".tensorcrc [global]"),
    ("[global]\nfloatX = float32\n", "floatX=float64", "float64", "TENSORC_FLAGS"),
    (None, "floatX=float32", "float32", "TENSORC_FLAGS"),
    ("[other]\nfloatX = float32\n", None, "float64", "default"),  # only [global] counts
])
def test_precedence(tmp_path, rc, flags, expected, source):
    got = _settings(tmp_path, rc=rc, flags=flags)
    value, src = got["floatX"]
    assert value == expected
    assert src.endswith(source)


def test_typed_values_and_untouched_defaults(tmp_path):
    got = _settings(tmp_path, rc="[global]\nopenmp = false\ncache_max_mb = 64\n",
                    flags="mode=FAST_COMPILE, debug=1")
    assert got["openmp"] == [False, f"{tmp_path / '.tensorcrc'} [global]"]
    assert got["cache_max_mb"][0] == 64
    assert got["mode"] == ["FAST_COMPILE", "TENSORC_FLAGS"]
    assert got["debug"] == [1, "TENSORC_FLAGS"]
    assert got["cache_dir"] == [str(tmp_path / ".cache" / "tensorc"), "default"]


def test_tensorcrc_variable_points_at_another_file(tmp_path):
    other = tmp_path / "elsewhere.rc"
    other.write_text("[global]\nfloatX = float32\n")
    got = _settings(tmp_path, rc="[global]\nfloatX = float16\n", rc_env=str(other))
    assert got["floatX"] == ["float32", f"{other} [global]"]


@pytest.mark.parametrize("rc, flags, pattern", [
    (None, "flaotX=float32", r"unknown tensorc config flag 'flaotX' \(from TENSORC_FLAGS\)"),
    ("[global]\nnot_a_flag = 1\n", None, r"unknown tensorc config flag 'not_a_flag' \(from .*tensorcrc"),
    (None, "floatX=float128", r"bad value for config flag 'floatX' \(from TENSORC_FLAGS\)"),
    (None, "openmp=maybe", r"bad value for config flag 'openmp'.*expected a boolean"),
    (None, "floatX", r"TENSORC_FLAGS entry 'floatX' is not of the form name=value"),
])
def test_bad_settings_fail_at_import_naming_the_flag(tmp_path, rc, flags, pattern):
    proc = _run(tmp_path, rc=rc, flags=flags)
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr
    assert re.search(pattern, proc.stderr), proc.stderr


def test_in_process_config_objects(tmp_path):
    rc = tmp_path / "rc"
    rc.write_text("[global]\nfloatX = float32\n")
    cfg = Config(rc_path=str(rc), flags="debug=2")
    assert (cfg.floatX, cfg.debug) == ("float32", 2)
    with cfg.change_flags(floatX="float64"):
        assert cfg.floatX == "float64" and cfg.source("floatX") == "set in code"
    assert cfg.floatX == "float32" and cfg.source("floatX").endswith("[global]")
    with pytest.raises(AttributeError, match=r"unknown tensorc config flag 'nope'"):
        cfg.nope = 1
    with pytest.raises(AttributeError, match=r"unknown tensorc config flag 'nope'"):
        cfg.nope
