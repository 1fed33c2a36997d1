"""Compiling graphs into callables (Theano's ``theano.compile``): ``function`` and
``FunctionMaker``, shared variables, ``In``/``Out``, modes, and the runtimes of
``profile=True``, ``NanGuardMode`` and ``DebugMode``.

The public names are exported from ``tensorc`` itself (``tensorc.function``,
``tensorc.shared``, ``tensorc.In`` ...); ``tensorc.compile.ProfileStats`` is here as in
Theano (one instance may be shared by several functions' ``profile=``).
"""
from __future__ import annotations


def __getattr__(name: str) -> object:
    """``ProfileStats`` is imported on first use (``import tensorc`` stays lighter)."""
    if name == "ProfileStats":
        from tensorc.compile.profile import ProfileStats
        return ProfileStats
    raise AttributeError(f"module 'tensorc.compile' has no attribute {name!r}")
