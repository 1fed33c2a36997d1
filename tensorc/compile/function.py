"""``function``: compile symbolic inputs/outputs into a callable.

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x = T.dvector('x')
>>> acc = tensorc.shared(0.0, name='acc')
>>> f = tensorc.function([x], x.sum(), updates=[(acc, acc + x.sum())])
>>> float(f([1.0, 2.0])), float(acc.get_value())
(3.0, 3.0)
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from tensorc.compile.io import Out
from tensorc.compile.maker import FunctionMaker
from tensorc.compile.sharedvalue import SharedVariable
from tensorc.graph.basic import Variable, clone_replace
from tensorc.graph.gcpause import gc_paused


def function(inputs: Sequence[Any], outputs: Any = None, mode: Any = None, updates: Any = None,
             givens: Any = None, no_default_updates: Any = False, accept_inplace: bool = False,
             name: str | None = None, rebuild_strict: bool = True,
             allow_input_downcast: bool | None = None, profile: Any = None,
             on_unused_input: str | None = None, trust_input: bool = False) -> "Function":
    """Compile a function from symbolic ``inputs`` to ``outputs`` (Theano's ``theano.function``).

    ``outputs``: a variable (the call returns an array) or a list (the call returns a
    list); ``updates``: ``(shared, expr)`` pairs, a dict or OrderedDict, applied after
    all outputs are computed; ``givens``: ``{var: replacement}`` substituted before
    compiling; ``mode``: ``'FAST_RUN'`` (C), ``'FAST_COMPILE'`` (numpy), ``DebugMode``,
    ``NanGuardMode`` or a ``Mode``; ``on_unused_input``: ``'raise'|'warn'|'ignore'``;
    ``allow_input_downcast``: allow lossy input casts; ``trust_input``: skip input
    checks (the caller promises correctly typed ndarrays).

    >>> import tensorc.tensor as T
    >>> a, b = T.dscalar('a'), T.dscalar('b')
    >>> f = function([a, b], [a + b, a * b])
    >>> [float(v) for v in f(2, 3)]
    [5.0, 6.0]
    """
    if isinstance(inputs, Variable) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"function(inputs, ...): inputs must be a list of variables, got "
                        f"{type(inputs).__name__}")
    if outputs is None:
        outputs = []
    with gc_paused(long_lived=True):
        maker = FunctionMaker(inputs, outputs, mode=mode, updates=updates, givens=givens,
                              no_default_updates=no_default_updates,
                              on_unused_input=on_unused_input,
                              allow_input_downcast=allow_input_downcast, profile=profile,
                              rebuild_strict=rebuild_strict)
        return Function(maker, name=name, trust_input=trust_input, profile=profile)


class Function:
    """A compiled function.  Call it with positional or keyword arguments.

    ``f.maker.fgraph`` is the optimised graph; ``f.trust_input = True`` skips input
    checks; ``f.copy(share_memory=False, swap={old_shared: new_shared})`` clones it.
    """

    def __init__(self, maker: FunctionMaker, name: str | None = None, trust_input: bool = False,
                 profile: Any = None) -> None:
        from tensorc.backend import build_runner
        from tensorc.config import config
        t0 = time.perf_counter()
        self.maker = maker
        self.name = name
        self.trust_input = trust_input
        self.profile = None
        if profile or (profile is None and config.profile):  # profiling code loads on demand
            from tensorc.compile.profile import make_profile
            self.profile = make_profile(profile, name)
        times = self.profile.new_graph(maker.fgraph) if self.profile is not None else None
        destroyable = frozenset(k for k, i in enumerate(maker.inputs) if i.mutable)
        self._runner, self.backend = build_runner(
            maker.fgraph, maker.mode.backend, destroyable=destroyable, mode=maker.mode, profile=times)
        if self.profile is not None:
            self.profile.record_build(self.backend, maker.rewrite_time,
                                      maker.rewrite_time + time.perf_counter() - t0)
            self._runner = self.profile.wrap(self._runner)
        self._n_in = len(maker.inputs)
        self._containers = [s.container for s in maker.shared_vars]
        n_out = maker.n_outputs
        self._n_out = n_out
        self._update_containers = [s.container for s, _ in maker.updates]
        alias = maker.output_may_alias()
        self._copy_out = [alias[k] and not maker.outputs[k].borrow for k in range(n_out)]
        self._any_copy = any(self._copy_out)
        self._unpack = maker.unpack_single
        self._names = {i.name: k for k, i in enumerate(maker.inputs) if i.name}
        self._defaults = [i.value if i.has_default else _MISSING for i in maker.inputs]
        self._types = [i.variable.type for i in maker.inputs]
        self._filters = [(i.strict, i.allow_downcast, f"input {k} ({i.name or i.variable})")
                         for k, i in enumerate(maker.inputs)]
        self._mutable = [i.mutable for i in maker.inputs]
        # fast path of __call__: (exact dtype, ndim) per input; None when a check remains
        # (a broadcastable dimension must be verified to have length 1)
        self._fast = [None if any(t.broadcastable) else (t.numpy_dtype, t.ndim) for t in self._types]
        self._fast_dtypes = tuple(f[0] if f else None for f in self._fast)
        self._fast_ndims = tuple(f[1] if f else -1 for f in self._fast)
        plain = not (self._containers or self._update_containers or self._any_copy)
        self._lean = self._lean_call() if plain and self._unpack else None
        self._c_call = None  # the whole call in C (programs the C caller can run)
        if not self._any_copy and not any(self._mutable) and \
                getattr(self._runner, "c_plan", None) is not None:
            from tensorc.backend.c.caller import c_caller
            shared = [(s.container, getattr(s.type, "numpy_dtype", None), getattr(s.type, "ndim", 0))
                      for s in maker.shared_vars]
            self._c_call = c_caller(self._runner, self._fast_dtypes, self._fast_ndims,
                                    self._unpack, _SLOW, n_out=n_out, shared=shared,
                                    updates=self._update_containers)

    def _lean_call(self) -> Any:
        """``args -> output`` for the commonest function (one output, no shared variables, no
        copies) when every argument is an ndarray of the exact dtype and rank; ``_SLOW``
        sends the call to the general path (conversions, checks, error notes)."""
        checks = tuple(zip(self._fast_dtypes, self._fast_ndims))
        runner, n_in, ndarray = self._runner, self._n_in, np.ndarray

        def lean(args: tuple) -> Any:
            if len(args) != n_in:
                return _SLOW
            for a, (dt, nd) in zip(args, checks):
                if type(a) is not ndarray or a.dtype is not dt or a.ndim != nd:
                    return _SLOW
            try:
                return runner(args)[0]
            except (ValueError, TypeError):
                return _SLOW  # the general path runs again and reports with the inputs named
        return lean

    # -- calling ------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        c_call = self._c_call
        if c_call is not None and not kwargs:
            out = c_call(*args)
            if out is not _SLOW:
                return out
        lean = self._lean
        if lean is not None and not kwargs:
            out = lean(args)
            if out is not _SLOW:
                return out
        if kwargs or len(args) != self._n_in:
            values = self._bind(args, kwargs)
        elif self.trust_input:
            values = list(args)
        else:
            values = list(args)
            dts, nds = self._fast_dtypes, self._fast_ndims
            for k, a in enumerate(args):  # exact-dtype ndarrays (dtype singletons) skip the filter
                if type(a) is not np.ndarray or a.dtype is not dts[k] or a.ndim != nds[k]:
                    values[k] = self._filter(k, a)
        if self._containers:
            values.extend([c.value for c in self._containers])
        try:
            results = self._runner(values)
        except (ValueError, TypeError) as exc:
            exc.add_note(self._describe_inputs(values))
            raise
        if self._update_containers:
            for c, v in zip(self._update_containers, results[self._n_out:]):
                c.value = v
        if self._any_copy:
            results = [np.array(o, copy=True) if cp else o for o, cp in zip(results, self._copy_out)]
        if self._unpack:
            return results[0]
        return results[:self._n_out]

    def _filter(self, k: int, value: Any) -> np.ndarray:
        fast = self._fast[k]
        if fast is not None and type(value) is np.ndarray and value.dtype == fast[0] \
                and value.ndim == fast[1]:
            return value
        strict, downcast, what = self._filters[k]
        return self._types[k].filter(value, strict=strict, allow_downcast=downcast, what=what)

    def _bind(self, args: Sequence[Any], kwargs: dict[str, Any]) -> list[Any]:
        n = self._n_in
        if len(args) > n:
            raise TypeError(f"{self._label()} takes {n} arguments, got {len(args)}")
        values: list[Any] = list(args) + [_MISSING] * (n - len(args))
        for key, value in kwargs.items():
            k = self._names.get(key)
            if k is None:
                raise TypeError(f"{self._label()} got an unexpected keyword argument {key!r}; "
                                f"its named inputs are {sorted(self._names)}")
            if values[k] is not _MISSING:
                raise TypeError(f"{self._label()} got multiple values for input {key!r}")
            values[k] = value
        for k, v in enumerate(values):
            if v is _MISSING:
                v = self._defaults[k]
                if v is _MISSING:
                    i = self.maker.inputs[k]
                    raise TypeError(f"{self._label()}: missing input {k} ({i.name or i.variable}, "
                                    f"{i.variable.type})")
                if isinstance(v, SharedVariable):
                    v = v.get_value(borrow=True)
            values[k] = self._filter(k, v)
        return values

    def _describe_inputs(self, values: Sequence[Any]) -> str:
        """A note naming every input with its shape and dtype, for run-time errors."""
        names = [f"{i.name or i.variable}" for i in self.maker.inputs] + \
            [f"{s.name or s} (shared)" for s in self.maker.shared_vars]
        parts = [f"{n}: shape {np.shape(v)} {getattr(v, 'dtype', type(v).__name__)}"
                 for n, v in zip(names, values)]
        return f"while running {self._label()} with inputs " + "; ".join(parts)

    def _label(self) -> str:
        return f"function {self.name!r}" if self.name else "compiled function"

    # -- Theano conveniences ------------------------------------------------------------------
    @property
    def input_storage(self) -> list[Any]:
        return [d if d is not _MISSING else None for d in self._defaults]

    def __getitem__(self, name: str) -> Any:
        k = self._names[name]
        return self._defaults[k]

    def __setitem__(self, name: str, value: Any) -> None:
        self._defaults[self._names[name]] = value

    def copy(self, share_memory: bool = False, swap: dict | None = None, delete_updates: bool = False,
             name: str | None = None, profile: Any = None) -> "Function":
        """A new function of the same graph; shared values are copied unless ``share_memory``,
        and the shared variables in ``swap`` are replaced by the given ones."""
        maker = self.maker
        swap = dict(swap or {})
        for old, new in swap.items():
            if not isinstance(old, SharedVariable) or not isinstance(new, SharedVariable):
                raise TypeError("copy(swap=...): keys and values must be shared variables")
            if old.type != new.type:
                raise TypeError(f"copy(swap=...): {old} ({old.type}) and {new} ({new.type}) differ in type")
        mapping: dict[Variable, Variable] = {}
        for s in maker.shared_vars:
            if s in swap:
                mapping[s] = swap[s]
            elif not share_memory:
                mapping[s] = s.clone()
                import copy  # not at import: ~1M instructions, used by copy() only
                mapping[s].container = copy.deepcopy(s.container)
        exprs = [o.variable for o in maker.outputs]
        if maker.givens:
            exprs = clone_replace(exprs, dict(maker.givens))
        update_exprs = [] if delete_updates else [e for _, e in maker.updates]
        if maker.givens and update_exprs:
            update_exprs = clone_replace(update_exprs, dict(maker.givens))
        new_exprs = clone_replace(exprs + update_exprs, mapping)
        outs = [Out(v, borrow=o.borrow) for v, o in zip(new_exprs, maker.outputs)]
        updates = [] if delete_updates else [
            (mapping.get(s, s), e) for (s, _), e in zip(maker.updates, new_exprs[len(exprs):])]
        new_maker = FunctionMaker(maker.inputs, outs[0] if maker.unpack_single else outs,
                                  mode=maker.mode, updates=updates, no_default_updates=True,
                                  on_unused_input="ignore",
                                  allow_input_downcast=maker.allow_input_downcast)
        new = Function(new_maker, name=name or self.name, trust_input=self.trust_input, profile=profile)
        new._defaults = list(self._defaults)  # keeps defaults changed with f['name'] = value
        return new

    def __reduce__(self) -> Any:
        maker = self.maker
        exprs = [o.variable for o in maker.outputs]
        state = dict(inputs=maker.inputs,
                     outputs=exprs[0] if maker.unpack_single else [
                         Out(v, o.borrow) for v, o in zip(exprs, maker.outputs)],
                     updates=maker.user_updates, givens=maker.givens, mode=maker.mode,
                     no_default_updates=maker.no_default_updates, on_unused_input="ignore",
                     allow_input_downcast=maker.allow_input_downcast, name=self.name,
                     rebuild_strict=maker.rebuild_strict,
                     trust_input=self.trust_input, defaults=self._defaults)
        return (_rebuild_function, (state,))

    def __repr__(self) -> str:
        return f"<tensorc Function {self.name or ''} ({self.backend} backend)>".replace("  ", " ")

    def get_shared(self) -> list[SharedVariable]:
        """The shared variables this function reads or updates."""
        return list(self.maker.shared_vars)

    def sync_shared(self) -> None:
        """Accepted for Theano compatibility (values live in one place already)."""

    def free(self) -> None:
        """Accepted for Theano compatibility (intermediates are never kept between calls)."""


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"

    def __reduce__(self) -> str:
        return "_MISSING"


_MISSING = _Missing()


def _rebuild_function(state: dict) -> Function:
    defaults = state.pop("defaults")
    name, trust = state.pop("name"), state.pop("trust_input")
    f = function(name=name, trust_input=trust, **state)
    f._defaults = defaults
    return f
_SLOW = object()  #: the lean call's "take the general path" answer
