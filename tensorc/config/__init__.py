"""tensorc configuration: defaults < ``~/.tensorcrc`` ([global]) < ``TENSORC_FLAGS``.

This is the only module that reads the environment.

>>> from tensorc.config import config
>>> config.floatX in ('float32', 'float64')
True
"""
from __future__ import annotations

import os
from typing import Any, Callable


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tensorc")


def _bool(text: str) -> bool:
    low = str(text).strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected a boolean, got {text!r}")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"expected one of {allowed}, got {text!r}")
        return text
    return parse


class Flag:
    """One configuration flag: its default, parser and help line (immutable; a plain class,
    as a dataclass costs ``import tensorc`` ~1 ms)."""

    __slots__ = ("name", "default", "parse", "doc")

    def __init__(self, name: str, default: Callable[[], Any] | Any, parse: Callable[[str], Any],
                 doc: str) -> None:
        init = object.__setattr__
        init(self, "name", name)
        init(self, "default", default)
        init(self, "parse", parse)
        init(self, "doc", doc)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Flag {self.name!r} is immutable")

    def __repr__(self) -> str:
        return f"Flag({self.name!r}, default={self.default!r})"


FLAGS: tuple[Flag, ...] = (
    Flag("floatX", "float64", _choice("float64", "float32", "float16"),
         "dtype of the un-prefixed constructors (T.matrix, ...) and of float shared values"),
    Flag("mode", "FAST_RUN", str, "default compilation mode"),
    Flag("device", "cpu", _choice("cpu"), "only 'cpu' exists"),
    Flag("cache_dir", _default_cache_dir, str, "where compiled kernels are cached"),
    Flag("cache_max_mb", 512, int, "size cap of the kernel cache; least recently used is pruned"),
    Flag("cxx", lambda: os.environ.get("CC", ""), str,
         "C compiler to use (default $CC); '' means the first of cc, gcc, clang on PATH"),
    Flag("backend", "auto", _choice("auto", "c", "numpy"),
         "auto: C when a compiler works, else numpy; c: force C (errors raise); numpy"),
    Flag("cflags", "", str, "extra compiler flags appended to tensorc's own"),
    Flag("openmp", True, _bool,
         "run big kernel loops on tensorc's thread pool (the name is Theano's; no OpenMP runtime is used)"),
    Flag("num_threads", lambda: int(os.environ.get("TENSORC_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
                                    or 0), int, "threads of the kernel pool, caller included; 0: one per CPU"),
    Flag("omp_threshold", 32768, int, "elements below which kernels run single-threaded"),
    Flag("debug", 0, int, "0 quiet; 1 log passes and node counts; 2 also print C sources and cache paths"),
    Flag("compute_test_value", "off", _choice("off", "ignore", "warn", "raise"),
         "accepted for Theano compatibility; test values are not computed"),
    Flag("on_unused_input", "raise", _choice("raise", "warn", "ignore"),
         "default for function(on_unused_input=)"),
    Flag("warn_float64", "ignore", _choice("ignore", "warn", "raise"),
         "accepted for Theano compatibility"),
    Flag("cast_policy", "custom", _choice("custom", "numpy+floatX"),
         "accepted for Theano compatibility; tensorc follows numpy promotion"),
    Flag("profile", False, _bool, "profile compiled functions by default"),
)
_BY_NAME = {f.name: f for f in FLAGS}


def parse_flags_string(text: str) -> dict[str, str]:
    """Parse ``"a=1,b=2"`` into a dict; an entry without '=' is an error."""
    out: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"TENSORC_FLAGS entry {part!r} is not of the form name=value")
        key, value = part.split("=", 1)
        out[key.strip()] = value.strip()
    return out


class Config:
    """The effective settings, with the source each came from (``config.source(name)``)."""

    def __init__(self, rc_path: str | None = None, flags: str | None = None) -> None:
        object.__setattr__(self, "_sources", {})
        for f in FLAGS:
            self._set(f.name, f.default() if callable(f.default) else f.default, "default")
        rc_path = rc_path if rc_path is not None else os.environ.get(
            "TENSORCRC", os.path.join(os.path.expanduser("~"), ".tensorcrc"))
        if rc_path and os.path.isfile(rc_path):
            import configparser  # only when there is an rc file: ~3 ms of import otherwise
            parser = configparser.ConfigParser()
            parser.optionxform = str  # keep 'floatX' case
            parser.read(rc_path)
            if parser.has_section("global"):
                for key, value in parser.items("global"):
                    self._apply(key, value, f"{rc_path} [global]")
        flags = flags if flags is not None else os.environ.get("TENSORC_FLAGS", "")
        for key, value in parse_flags_string(flags).items():
            self._apply(key, value, "TENSORC_FLAGS")

    def _apply(self, key: str, text: str, source: str) -> None:
        if key not in _BY_NAME:
            raise ValueError(f"unknown tensorc config flag {key!r} (from {source}); "
                             f"known flags: {', '.join(sorted(_BY_NAME))}")
        try:
            value = _BY_NAME[key].parse(text)
        except ValueError as exc:
            raise ValueError(f"bad value for config flag {key!r} (from {source}): {exc}") from None
        self._set(key, value, source)

    def _set(self, key: str, value: Any, source: str) -> None:
        # values live in the instance __dict__ (plain attribute reads are fast, and
        # pytest's monkeypatch sees and restores them)
        self.__dict__[key] = value
        self._sources[key] = source

    def __getattr__(self, key: str) -> Any:  # only called for names that are not flags
        raise AttributeError(f"unknown tensorc config flag {key!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        if key not in _BY_NAME:
            raise AttributeError(f"unknown tensorc config flag {key!r}")
        flag = _BY_NAME[key]
        self._set(key, flag.parse(value) if isinstance(value, str) else value, "set in code")

    def source(self, key: str) -> str:
        """Where the current value of ``key`` came from."""
        return self._sources[key]

    def items(self) -> list[tuple[str, Any, str]]:
        """``(name, value, source)`` for every flag, in declaration order."""
        return [(f.name, self.__dict__[f.name], self._sources[f.name]) for f in FLAGS]

    def change_flags(self, **kwargs: Any) -> "_ChangeFlags":
        """Context manager that sets flags temporarily (Theano's ``config.change_flags``)."""
        return _ChangeFlags(self, kwargs)


class _ChangeFlags:
    def __init__(self, cfg: Config, values: dict[str, Any]) -> None:
        self.cfg, self.values, self.saved = cfg, values, {}

    def __enter__(self) -> Config:
        for k, v in self.values.items():
            self.saved[k] = (getattr(self.cfg, k), self.cfg.source(k))
            setattr(self.cfg, k, v)
        return self.cfg

    def __exit__(self, *exc: object) -> None:
        for k, (v, src) in self.saved.items():
            self.cfg._set(k, v, src)


config = Config()
change_flags = config.change_flags
