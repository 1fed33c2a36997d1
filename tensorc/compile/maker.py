"""``FunctionMaker``: from user arguments (inputs, outputs, updates, givens) to a
rewritten ``FunctionGraph`` and a runner.

The fgraph's inputs are the explicit inputs followed by every shared variable the
outputs and updates use; its outputs are the user's outputs followed by the update
expressions.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Sequence

from tensorc.compile.io import In, Out
from tensorc.compile.mode import Mode, get_mode
from tensorc.compile.sharedvalue import SharedVariable
from tensorc.graph.basic import Constant, Variable, ancestors, clone_replace, io_toposort
from tensorc.graph.fgraph import FunctionGraph


def normalize_updates(updates: Any) -> list[tuple[SharedVariable, Variable]]:
    """Updates as a list of ``(shared, expression)`` pairs, checked."""
    if updates is None:
        return []
    if isinstance(updates, dict) and not isinstance(updates, OrderedDict) and len(updates) > 1:
        pairs = list(updates.items())  # insertion-ordered in Python 3.7+
    elif isinstance(updates, dict):
        pairs = list(updates.items())
    else:
        pairs = [tuple(p) for p in updates]
    from tensorc.tensor.var import as_tensor_variable
    out: list[tuple[SharedVariable, Variable]] = []
    seen: set[int] = set()
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"updates: each update must be a (shared_variable, expression) pair, got {pair!r}")
        var, expr = pair
        if not isinstance(var, SharedVariable):
            raise TypeError(f"updates: {var} is not a shared variable; only shared variables "
                            f"can be updated")
        if id(var) in seen:
            raise ValueError(f"updates: shared variable {var} is updated twice")
        seen.add(id(var))
        expr = as_tensor_variable(expr) if not isinstance(expr, Variable) else expr
        if expr.type != var.type:
            expr = _fit_update(var, expr)
        out.append((var, expr))
    return out


def _fit_update(var: SharedVariable, expr: Variable) -> Variable:
    import tensorc.tensor as T
    if expr.ndim != var.ndim:
        raise TypeError(f"updates: the update of {var} ({var.type}) has {expr.ndim} dimensions, "
                        f"expected {var.ndim}")
    if expr.dtype != var.dtype:
        if isinstance(expr, Constant) or expr.type.numpy_dtype.kind == var.type.numpy_dtype.kind \
                and _lossless(expr.dtype, var.dtype):
            expr = T.cast(expr, var.dtype)
        else:
            raise TypeError(f"updates: the update of {var} has dtype {expr.dtype}, the shared variable "
                            f"has dtype {var.dtype}; cast the expression (T.cast(expr, '{var.dtype}'))")
    if expr.broadcastable != var.broadcastable:
        expr = T.patternbroadcast(expr, var.broadcastable)
    return expr


def _lossless(src: str, dst: str) -> bool:
    import numpy as np
    return bool(np.can_cast(src, dst, "safe"))


def normalize_givens(givens: Any, strict: bool = True) -> list[tuple[Variable, Variable]]:
    """Givens as ``(old, new)`` pairs; with ``strict`` (Theano's ``rebuild_strict``) the
    replacement must have the replaced variable's dtype and rank."""
    if givens is None:
        return []
    pairs = list(givens.items()) if isinstance(givens, dict) else [tuple(p) for p in givens]
    from tensorc.tensor.var import as_tensor_variable
    out = []
    for old, new in pairs:
        if not isinstance(old, Variable):
            raise TypeError(f"givens: key {old!r} is not a symbolic variable")
        new = new if isinstance(new, Variable) else as_tensor_variable(new)
        if old.type != new.type and strict:
            if getattr(old.type, "ndim", None) != getattr(new.type, "ndim", None) or \
                    getattr(old.type, "dtype", None) != getattr(new.type, "dtype", None):
                raise TypeError(f"givens: {old} ({old.type}) cannot be replaced by {new} ({new.type}): "
                                f"the types differ (cast or reshape the replacement)")
            import tensorc.tensor as T
            new = T.patternbroadcast(new, old.type.broadcastable)
        out.append((old, new))
    return out


class FunctionMaker:
    """Holds everything ``function`` decided; ``fgraph`` is the rewritten graph."""

    def __init__(self, inputs: Sequence[Any], outputs: Any, mode: Any = None, updates: Any = None,
                 givens: Any = None, no_default_updates: Any = False,
                 on_unused_input: str | None = None, allow_input_downcast: bool | None = None,
                 profile: Any = None, rebuild_strict: bool = True) -> None:
        from tensorc.config import config
        self.mode: Mode = get_mode(mode)
        self.inputs: list[In] = [_as_in(i, allow_input_downcast) for i in inputs]
        self.unpack_single = not isinstance(outputs, (list, tuple))
        out_list = [outputs] if self.unpack_single else list(outputs)
        self.outputs: list[Out] = [o if isinstance(o, Out) else Out(_as_var(o)) for o in out_list]
        self.user_updates = normalize_updates(updates)
        self.rebuild_strict = rebuild_strict
        self.givens = normalize_givens(givens, rebuild_strict)
        self.on_unused_input = on_unused_input or config.on_unused_input
        self.allow_input_downcast = allow_input_downcast
        self.no_default_updates = no_default_updates
        self.profile = profile
        self.cache_hit = False  #: True when the rewritten graph came from the function cache
        self._check_inputs()
        if self.mode.backend in ("c", "auto"):  # a first build: probe gcc during the rewrites
            from tensorc.backend.c.compiler import probe_in_background
            probe_in_background()
        t0 = time.perf_counter()
        self._build_graph()
        self.rewrite_time = time.perf_counter() - t0

    def _check_inputs(self) -> None:
        seen: set[int] = set()
        for i in self.inputs:
            v = i.variable
            if isinstance(v, SharedVariable):
                raise TypeError(f"{v} is a shared variable; it cannot be an explicit input of a "
                                f"function (its value is used automatically; use givens to replace it)")
            if isinstance(v, Constant):
                raise TypeError(f"{v} is a constant; it cannot be an input of a function")
            if v.owner is not None:
                raise TypeError(f"input {v} is the result of {v.owner.op}, not a free variable; "
                                f"use givens to replace an intermediate result")
            if id(v) in seen:
                raise ValueError(f"input {v} appears twice in the input list")
            seen.add(id(v))

    def _build_graph(self) -> None:
        outs = [o.variable for o in self.outputs]
        updates = list(self.user_updates)
        updated = {id(s) for s, _ in updates}
        # default updates (random streams) of shared variables used by the graph
        if self.no_default_updates is not True:
            skip = set(map(id, self.no_default_updates or []))
            pending = list(outs) + [e for _, e in updates]
            for v in ancestors(pending):
                if isinstance(v, SharedVariable) and v.default_update is not None \
                        and id(v) not in updated and id(v) not in skip:
                    updates.append((v, v.default_update))
                    updated.add(id(v))
        exprs = outs + [e for _, e in updates]
        if self.givens:
            exprs = clone_replace(exprs, dict(self.givens))
        explicit = [i.variable for i in self.inputs]
        used = ancestors(exprs, blockers=explicit)  # one walk: unused inputs, shared variables
        self._check_unused(explicit, used)
        shared_vars: list[SharedVariable] = []
        explicit_ids = set(map(id, explicit))
        for v in used:
            if isinstance(v, SharedVariable) and id(v) not in explicit_ids:
                shared_vars.append(v)
        shared_ids = set(map(id, shared_vars))
        for s, _ in updates:  # an updated shared variable is an input even if unused
            if id(s) not in shared_ids:
                shared_vars.append(s)
                shared_ids.add(id(s))
        self.shared_vars = shared_vars
        self.updates = [(s, e) for (s, _), e in zip(updates, exprs[len(outs):])]
        self.n_outputs = len(outs)
        self.profile_passes: list[tuple[str, float, int]] = []
        fg_inputs = explicit + shared_vars

        def build_and_rewrite() -> FunctionGraph:
            self.fgraph = FunctionGraph(fg_inputs, exprs)  # a copy: the user's graph stays
            self._rewrite()
            return self.fgraph
        if self._cacheable():  # keyed on the user's graph; a hit copies nothing
            from tensorc.compile.fncache import cached_rewrite
            self.fgraph, self.cache_hit = cached_rewrite(fg_inputs, exprs, self.mode,
                                                         self._io_text(fg_inputs),
                                                         build_and_rewrite)
        else:
            build_and_rewrite()

    def _cacheable(self) -> bool:
        """Use the function cache (``tensorc.compile.fncache``)?  Only for plain modes that
        run on the C backend (its cache directory is in use anyway), and never when the
        passes are to be seen: profiling, ``config.debug``, per-pass checks."""
        from tensorc.config import config
        if type(self.mode) is not Mode or self.mode.check_each_pass or config.debug \
                or self.profile or config.profile:
            return False
        if self.mode.backend == "c":
            return True
        if self.mode.backend != "auto":
            return False
        from tensorc.backend import resolve_backend
        return resolve_backend("auto") == "c"

    def _io_text(self, fg_inputs: Sequence[Variable]) -> str:
        """``In``/``Out`` options and the update targets, for the function cache key."""
        ins = [(i.name, i.mutable, i.strict, i.allow_downcast, i.borrow, i.has_default)
               for i in self.inputs]
        position = {id(v): k for k, v in enumerate(fg_inputs)}
        targets = [position[id(s)] for s, _ in self.updates]
        return repr((ins, [o.borrow for o in self.outputs], self.n_outputs, targets,
                     self.rebuild_strict))

    def _check_unused(self, explicit: list[Variable], ancestry: list[Variable]) -> None:
        """Raise or warn (``on_unused_input``) for explicit inputs not in ``ancestry`` (the
        ancestors of the outputs and updates, stopping at the explicit inputs)."""
        if self.on_unused_input == "ignore":
            return
        used = set(map(id, ancestry))
        for i, v in enumerate(explicit):
            if id(v) not in used:
                msg = (f"function input {i} ({v}) is not used to compute the outputs; "
                       f"pass on_unused_input='ignore' (or 'warn') if this is intended")
                if self.on_unused_input == "raise":
                    raise ValueError(msg)
                import warnings
                warnings.warn(msg, stacklevel=4)

    def _rewrite(self) -> None:
        from tensorc.config import config
        for p in self.mode.passes():
            t0 = time.perf_counter()
            p(self.fgraph)
            dt = time.perf_counter() - t0
            n = len(self.fgraph.toposort()) if (config.debug or self.mode.check_each_pass) else -1
            self.profile_passes.append((p.__name__, dt, n))
            if config.debug:
                print(f"[tensorc] pass {p.__name__}: {dt * 1e3:.2f} ms, {n} nodes")
            if self.mode.check_each_pass:
                from tensorc.rewrite.check import check_fgraph
                check_fgraph(self.fgraph, after=p.__name__)

    def output_may_alias(self) -> list[bool]:
        """Per fgraph output: may its array be (a view of) an input, a constant or
        another output?  Such outputs are copied unless the ``Out`` borrows."""
        fg = self.fgraph
        owner_input: dict[int, bool] = {id(v): True for v in fg.inputs}
        for node in fg.toposort():
            for o, out in enumerate(node.outputs):
                sources = node.op.view_map.get(o, []) + node.op.destroy_map.get(o, [])
                owner_input[id(out)] = any(owner_input.get(id(node.inputs[i]), False) or
                                           isinstance(node.inputs[i], Constant) for i in sources)
        counts: dict[int, int] = {}
        for v in fg.outputs:
            counts[id(v)] = counts.get(id(v), 0) + 1
        # an output listed twice, or also an update's new value, is copied too
        return [isinstance(v, Constant) or owner_input.get(id(v), False) or counts[id(v)] > 1
                for v in fg.outputs]


def _as_var(o: Any) -> Variable:
    if isinstance(o, Variable):
        return o
    from tensorc.tensor.var import as_tensor_variable
    return as_tensor_variable(o)


def _as_in(i: Any, allow_downcast: bool | None) -> In:
    if isinstance(i, In):
        if i.allow_downcast is None and allow_downcast is not None:
            i.allow_downcast = allow_downcast
        return i
    if isinstance(i, Variable):
        return In(i, allow_downcast=allow_downcast)
    if isinstance(i, (list, tuple)) and len(i) == 2 and isinstance(i[0], Variable):
        return In(i[0], value=i[1], allow_downcast=allow_downcast)  # Theano's (var, default) form
    raise TypeError(f"function inputs must be symbolic variables or In(...), got {type(i).__name__}: {i!r}")


__all__ = ["FunctionMaker", "io_toposort"]
