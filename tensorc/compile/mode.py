"""Compilation modes: which rewrite passes run and which backend executes.

``FAST_RUN``: all rewrites, C backend when a compiler works.  ``FAST_COMPILE``:
merge only, numpy backend.  ``DebugMode``: all rewrites, graph checked after each
pass, every node run on both backends and compared.  ``NanGuardMode``: raise at the
first node that produces NaN/inf.

>>> get_mode('FAST_COMPILE').backend
'numpy'
"""
from __future__ import annotations

from typing import Any, Sequence


class Mode:
    """A rewrite pipeline name plus a backend; ``including``/``excluding`` edit the passes."""

    def __init__(self, linker: str | None = None, optimizer: str = "fast_run", *,
                 backend: str | None = None, including: Sequence[str] = (),
                 excluding: Sequence[str] = (), check_each_pass: bool = False,
                 name: str | None = None) -> None:
        self.optimizer = optimizer
        if backend is None:
            backend = {"py": "numpy", "vm": "numpy", "numpy": "numpy", "c": "c", "cvm": "auto",
                       "c|py": "auto", None: None}.get(linker, "auto")
        if backend is None:
            from tensorc.config import config
            backend = config.backend
        self.backend = backend
        self.included = tuple(including)
        self.excluded = tuple(excluding)
        self.check_each_pass = check_each_pass
        self.name = name or f"Mode({optimizer}, {backend})"

    def including(self, *names: str) -> "Mode":
        """A copy of this mode that also runs the passes ``names``."""
        return self._with(included=self.included + names)

    def excluding(self, *names: str) -> "Mode":
        """A copy of this mode without the passes ``names``."""
        return self._with(excluded=self.excluded + names)

    def _with(self, **changes: Any) -> "Mode":
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def passes(self) -> tuple:
        """The rewrite passes this mode runs, in order."""
        from tensorc.rewrite.pipeline import passes_for
        return passes_for(self.optimizer, self.included, self.excluded)

    def __repr__(self) -> str:
        return self.name


class DebugMode(Mode):
    """All rewrites, graph checked after every pass; nodes compared across backends."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(optimizer="fast_run", backend="auto", check_each_pass=True,
                         name="DebugMode", **kwargs)
        self.compare_backends = True


class NanGuardMode(Mode):
    """Raise naming the first node whose output holds NaN (``nan_is_error``) or inf."""

    def __init__(self, nan_is_error: bool = True, inf_is_error: bool = True,
                 big_is_error: bool = False, optimizer: str = "fast_run", **kwargs: Any) -> None:
        super().__init__(optimizer=optimizer, backend="numpy", name="NanGuardMode", **kwargs)
        self.nan_is_error = nan_is_error
        self.inf_is_error = inf_is_error
        self.big_is_error = big_is_error


def get_mode(mode: Any) -> Mode:
    """Accept ``None`` (config.mode), a Theano mode name, or a ``Mode``."""
    if isinstance(mode, Mode):
        return mode
    if mode is None:
        from tensorc.config import config
        mode = config.mode
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a string or a Mode, got {type(mode).__name__}")
    key = mode.upper().replace("-", "_")
    if key in ("FAST_RUN", "RELEASE"):
        return Mode(optimizer="fast_run", name="FAST_RUN")
    if key in ("FAST_COMPILE", "PY"):
        return Mode(optimizer="fast_compile", backend="numpy", name="FAST_COMPILE")
    if key in ("DEBUGMODE", "DEBUG_MODE"):
        return DebugMode()
    if key in ("NANGUARDMODE", "NANGUARD"):
        return NanGuardMode()
    if key in ("NUMPY", "FAST_RUN_NUMPY"):
        return Mode(optimizer="fast_run", backend="numpy", name="FAST_RUN(numpy)")
    raise ValueError(f"unknown mode {mode!r}; expected FAST_RUN, FAST_COMPILE, DebugMode, "
                     f"NanGuardMode or a Mode instance")
