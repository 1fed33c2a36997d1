"""Commit records of the disk cache (``tensorc.backend.c.records``) and records left by
earlier versions (``<key>.json``: listed, pruned and cleared, never trusted)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tensorc.backend.c import cache, compiler, records
from tensorc.config import config
from subproc import PACKAGE_PARENT

SRC = '#include "tensorc_runtime.h"\nint k(const tc_arg *a) { (void)a; return 0; }\n'

_scalars = st.one_of(st.text(max_size=20), st.integers(-2**70, 2**70), st.booleans(),
                     st.floats(allow_nan=False))
_names = st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_names, st.one_of(_scalars, st.dictionaries(_names, _scalars, min_size=1, max_size=4)),
                       max_size=6))
def test_records_round_trip(fields):
    assert records.loads(records.dumps(fields)) == fields


@pytest.mark.parametrize("text", [
    "key:s=ab",                 # truncated: no final newline
    "key=ab\n",                 # no type
    "key:x=ab\n",               # unknown type
    "n:i=1.5\n", "n:b=2\n",     # value of the wrong type
    "k:s=a\\qb\n",              # unknown escape
    "k:s=a\nk:s=b\n",           # a field twice
    "p:s=a\np.c:s=b\n",         # a value and a group of the same name
    '{\n "key": "ab"\n}\n',     # a JSON record of an earlier version
])
def test_malformed_records_are_refused(text):
    with pytest.raises(ValueError):
        records.loads(text)


@pytest.mark.parametrize("fields", [{"a.b": 1}, {"a=b": 1}, {"x": [1]}, {"x": None}])
def test_unstorable_fields_are_refused(fields):
    with pytest.raises((ValueError, TypeError)):
        records.dumps(fields)


def test_reading_a_record_does_not_import_json():
    code = ("import sys, tensorc.backend.c.records as r; "
            "r.loads(r.dumps({'a': 'b', 'p': {'c': 1}})); print('json' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE_PARENT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.fixture
def own_cache(tmp_path):
    saved = config.cache_dir
    config.cache_dir = str(tmp_path / "cache")
    compiler.clear_caches()
    cache.clear_memo()
    yield config.cache_dir
    config.cache_dir = saved
    compiler.clear_caches()
    cache.clear_memo()


def _legacy_entry() -> str:
    """A kernel entry as an earlier version left it: payload plus a JSON record only."""
    lib = cache.get_library(SRC, name_hint="legacy")
    base = lib.path[:-3]
    os.rename(base + cache.RECORD, base + ".json")
    cache.clear_memo()
    return base


def test_legacy_record_is_not_trusted_and_is_replaced(own_cache):
    base = _legacy_entry()
    again = cache.get_library(SRC, name_hint="legacy")
    assert again.compiled and os.path.exists(base + cache.RECORD)
    assert not os.path.exists(base + ".json")


def test_legacy_entries_are_listed_and_cleared(own_cache):
    base = _legacy_entry()
    listed = [e for e in cache.cache_list() if e["base"] == base]
    assert len(listed) == 1 and listed[0]["name_hint"] == "?"
    assert cache.cache_clear() == 1
    assert not any(os.path.exists(base + s) for s in (".json", ".so", ".c"))
