"""tensorc: a Theano-style compiler for numerical Python.

Build symbolic expressions with ``tensorc.tensor``, differentiate them with
``tensorc.grad``, compile them with ``tensorc.function``.  ``import tensorc as
theano`` runs Theano 1.0 programs.

>>> import tensorc, tensorc.tensor as T
>>> x = T.dscalar('x')
>>> f = tensorc.function([x], x ** 2)
>>> float(f(3.0))
9.0
"""
from __future__ import annotations

__version__ = "0.1.0"

# Importing creates ~10^5 long-lived objects (numpy's and ours) and no garbage: cyclic
# collections during it only re-walk them, and the first one after it would walk them all
# (~10 ms).  So the collector is paused meanwhile and the new objects go to the oldest
# generation unwalked.
from tensorc.graph.gcpause import gc_paused as _gc_paused  # noqa: E402

with _gc_paused(long_lived=True):
    from tensorc.config import config, change_flags  # noqa: F401
    from tensorc.graph.basic import Apply, Constant, Op, Variable  # noqa: F401
    from tensorc.graph.fgraph import FunctionGraph  # noqa: F401
    from tensorc.compile.io import In, Out  # noqa: F401
    from tensorc.compile.mode import DebugMode, Mode, NanGuardMode, get_mode  # noqa: F401
    from tensorc.compile.sharedvalue import SharedVariable, shared  # noqa: F401
    from tensorc.compile.function import Function, function  # noqa: F401
    import tensorc.tensor as tensor  # noqa: F401,E402
    from tensorc.gradient import grad  # noqa: F401,E402
    import tensorc.gradient as gradient  # noqa: F401,E402
    if config.backend != "numpy":  # what the first function() would import (backend.WARM_PATH)
        from tensorc.backend import import_c_backend
        import_c_backend()
        del import_c_backend
del _gc_paused

Param = In  # Theano's old name

#: Names imported on first use (PEP 562), so ``import tensorc`` does not load the
#: printing and profiling code: ``name -> (module, attribute or "" for the module)``.
_LAZY: tuple[tuple[str, str, str], ...] = (
    ("printing", "tensorc.printing", ""), ("pp", "tensorc.printing", "pp"),
    ("pprint", "tensorc.printing", "pprint"), ("debugprint", "tensorc.printing", "debugprint"),
    ("ProfileStats", "tensorc.compile.profile", "ProfileStats"),
)


def __getattr__(name: str) -> object:
    """Import the lazily exported names of :data:`_LAZY` on first access."""
    for lazy_name, module, attr in _LAZY:
        if lazy_name == name:
            import importlib
            mod = importlib.import_module(module)
            value = getattr(mod, attr) if attr else mod
            globals()[name] = value
            return value
    raise AttributeError(f"module 'tensorc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {n for n, _, _ in _LAZY})
