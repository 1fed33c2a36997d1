"""A C library compiled for a test module, in a cache directory of its own."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tensorc.backend.c import cache
from tensorc.config import config


def library_in_temp_cache(tmp_path_factory: pytest.TempPathFactory, source: str,
                          hint: str) -> Iterator[Any]:
    """Yield ``source`` compiled and loaded with the kernel cache pointed at a fresh
    temporary directory; the previous cache dir and the in-process memo are restored after
    (use with ``yield from`` in a module-scoped fixture)."""
    old = config.cache_dir
    config.cache_dir = str(tmp_path_factory.mktemp(hint))
    try:
        yield cache.get_library(source, name_hint=hint)
    finally:
        config.cache_dir = old
        cache.clear_memo()
