"""Pausing the cyclic garbage collector while long-lived objects are built.

Kept apart from ``graph.basic`` (which imports numpy) because ``import tensorc`` pauses
the collector before numpy is imported.
"""
from __future__ import annotations

import contextlib
import functools
import gc
from typing import Any, Callable, Iterator, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def gc_paused(long_lived: bool = False) -> Iterator[None]:
    """No cyclic garbage collection inside the block; the collector's state is restored.

    Building graphs, gradients and functions allocates thousands of long-lived objects and
    almost no garbage, yet each allocation burst sets off a collection, and every tenth one
    re-walks all the objects that survived the earlier ones.  Paused, the block pays one
    young-generation walk when it ends (0.7-2.7 ms after a warm MLP build); with
    ``long_lived`` (what the block made outlives it: a compiled function, a module) the
    young objects move to the oldest generation unwalked instead (``gc.freeze`` then
    ``gc.unfreeze``, two list splices; skipped when the program froze objects itself).
    Cycles made inside the block are collected by a later (full) collection.

    >>> import gc
    >>> with gc_paused(long_lived=True):
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True

    (That no collection runs when the block ends is checked with ``gc.callbacks`` in
    ``tests/test_warm_start.py``: the collector's counters cannot tell.)
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if long_lived and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def without_gc(fn: _F) -> _F:
    """Decorate ``fn`` to run under :func:`gc_paused` with ``long_lived`` (for entry points
    that build graphs the caller keeps, such as ``grad``)."""
    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        with gc_paused(long_lived=True):
            return fn(*args, **kwargs)
    return paused  # type: ignore[return-value]
