"""The C backend's entry points: availability, building a runner, evaluating one node.

``build_c_runner(fgraph)`` lowers the graph (``tensorc.lower``), renders all its
kernels into one C source, gets the library from the cache (one compiler call on a
miss, no disk access when this process already loaded it) and returns
``run(values) -> outputs``.  Consecutive kernel steps form a *segment* that runs in
one C call (``KernelProgram``); numpy steps run in between.  A graph from the function
cache (``tensorc.compile.fncache``) may carry its lowered program and kernel sources:
then nothing is lowered or rendered, and after a fresh lowering the entry is updated.

>>> import numpy as np, tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> if c_backend_available():
...     run = build_c_runner(FunctionGraph([x], [2 * x + 1]))
...     print(run([np.array([1.0, 2.0])]))
... else:
...     print([np.array([3.0, 5.0])])
[array([3., 5.])]
"""
from __future__ import annotations

import functools
import sys
import _thread
import time
import warnings
from typing import Any, Sequence

import numpy as np

from tensorc.backend.c.errors import CompileError, KernelError
from tensorc.config import config
from tensorc.graph.basic import Apply, Constant
from tensorc.graph.fgraph import FunctionGraph
from tensorc.backend.c.fastpaths import (BUFFERS_PER_SLOT, Runner, calls_blas, dimshuffle_views,
                                         matmul_steps, serial_runner, single_kernel_runner)
from tensorc.backend.c.caller import (CPlan, locked_runner, matmul_step, segment_runner, segment_step,
                                       view_step)
from tensorc.backend.c.segment import Segment, group_steps, segments_fill_views
from tensorc.lower.program import NumpyStep, Program, lower

_getrefcount = sys.getrefcount


@functools.lru_cache(maxsize=8)
def _available(cxx: str, cache_dir: str) -> bool:
    from tensorc.backend.c import compiler, paths
    try:
        paths.csrc_dir()
        compiler.require_compiler()
        return True
    except Exception as exc:  # any failure to find or probe the toolchain means "no C backend"
        warnings.warn(f"tensorc: the C backend is unavailable, so functions run on the numpy "
                      f"backend (much slower): {exc}.  Set config.backend='numpy' (TENSORC_FLAGS="
                      f"backend=numpy) to choose it without this warning.", RuntimeWarning,
                      stacklevel=2)
        return False


def c_backend_available() -> bool:
    """True when a working C compiler and the runtime header are there (memoised per
    ``config.cxx`` and cache directory).  When they are not, one ``RuntimeWarning`` says
    why -- what ``backend='auto'`` then means is the numpy backend."""
    return _available(config.cxx, config.cache_dir)


class ProgramLibs:
    """The libraries holding one program's kernels (one per translation unit)."""

    def __init__(self, libs: list[Any], owner: dict[str, int], sources: list[str]) -> None:
        self.libs = libs
        self._owner = owner
        self.sources = sources  #: the C translation unit of each library

    @property
    def groups(self) -> list[list[str]]:
        """The kernel names of each library, in library order."""
        names: list[list[str]] = [[] for _ in self.libs]
        for name, k in self._owner.items():
            names[k].append(name)
        return names

    def kernel(self, name: str) -> Any:
        """The function pointer of kernel ``name``."""
        return self.libs[self._owner[name]].kernel(name)

    @property
    def compiled(self) -> bool:
        """True when building the program ran the compiler (a cache miss)."""
        return any(lib.compiled for lib in self.libs)


def load_program(prog: Program, sources: Sequence[str] | None = None,
                 names: Sequence[Sequence[str]] | None = None) -> ProgramLibs:
    """Compile (or fetch from the cache) the libraries holding ``prog``'s kernels.

    A program with many kernels is cut into one translation unit per core, of about
    equal estimated compile cost, compiled side by side (the compiler runs outside the
    GIL).  ``sources``: those translation units as they were built before (the function
    cache stores them, with ``names``, the kernels each holds), else rendered.
    """
    from tensorc.backend.c.cache import get_library, lookup_library
    if sources is None:
        from tensorc.backend.c.render import library_source, split_units
        groups = split_units(prog.unique_kernels(), _cores())
        sources = [library_source(g) for g in groups]
    else:
        from tensorc.backend.c import ewdriver, reddriver
        if not (ewdriver.sources_match(sources) and reddriver.sources_match(sources)):
            raise ValueError("stored sources use the other form of a shared driver")
        groups = _groups_of(prog, sources, names)
    hints = ["_".join(sorted({type(s.node.op).__name__ for s in prog.kernel_steps
                              if s.name in {n for n, _ in g}}))[:60] or "fn" for g in groups]
    libs = [lookup_library(src, name_hint=h) for src, h in zip(sources, hints)]
    missing = [k for k, lib in enumerate(libs) if lib is None]
    if len(missing) == 1:
        libs[missing[0]] = get_library(sources[missing[0]], name_hint=hints[missing[0]])
    elif missing:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(len(missing)) as pool:
            built = pool.map(lambda k: get_library(sources[k], name_hint=hints[k]), missing)
            for k, lib in zip(missing, built):
                libs[k] = lib
    if names is not None:  # stored names are trusted only when each library has its kernels
        try:
            for lib, group in zip(libs, groups):
                for name, _ in group:
                    lib.kernel(name)  # dlsym, remembered by the library
        except KeyError as exc:
            raise ValueError(f"stored kernel names do not match the libraries: {exc}") from None
    if config.debug >= 2:
        for lib, source in zip(libs, sources):
            print(f"[tensorc] C library {lib.path} ({'compiled' if lib.compiled else 'cached'})\n"
                  f"[tensorc] source {lib.source_path}:\n{source}", file=sys.stderr)
    return ProgramLibs(libs, {name: k for k, g in enumerate(groups) for name, _ in g}, list(sources))


def _groups_of(prog: Program, sources: Sequence[str],
               names: Sequence[Sequence[str]] | None = None) -> list[list[tuple[str, str]]]:
    """Which of ``prog``'s kernels each stored translation unit holds: ``names`` (what
    the function cache stored) when they name every kernel exactly once, else found by
    each kernel's source text; ``ValueError`` when a kernel is in none of them."""
    kernels = prog.unique_kernels()
    if names is not None and len(names) == len(sources):
        source_of = dict(kernels)
        listed = [n for g in names for n in g]
        if len(listed) == len(source_of) and set(listed) == set(source_of):
            return [[(n, source_of[n]) for n in g] for g in names]
    groups: list[list[tuple[str, str]]] = [[] for _ in sources]
    for name, src in kernels:
        k = next((k for k, unit in enumerate(sources) if src in unit), -1)
        if k < 0:
            raise ValueError(f"kernel {name} is in none of the stored sources")
        groups[k].append((name, src))
    return groups


@functools.lru_cache(maxsize=1)
def _cores() -> int:
    import os
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def build_c_runner(fgraph: FunctionGraph, destroyable: frozenset[int] = frozenset(),
                   profile: dict | None = None) -> Runner:
    """A runner executing ``fgraph`` with generated C kernels (numpy for the other ops).

    When the C compiler fails: with ``config.backend == 'auto'`` one warning and the
    numpy backend; otherwise the ``CompileError`` (compiler stderr, source path).
    """
    cached = getattr(fgraph, "cached_lowering", None)  # set by the function cache
    stored = cached.program(fgraph) if cached is not None else None
    prog, sources, names = stored if stored is not None else (lower(fgraph), None, None)
    lib = None
    if prog.kernel_steps:
        try:
            try:
                lib = load_program(prog, sources, names)
            except ValueError:  # stored sources that do not hold the kernels: render them
                lib = load_program(prog)
        except CompileError as exc:
            if config.backend != "auto":
                raise
            from tensorc.backend.numpy_backend import build_numpy_runner
            warnings.warn(f"tensorc: C compilation failed, using the numpy backend instead:\n{exc}",
                          RuntimeWarning, stacklevel=3)
            return build_numpy_runner(fgraph, profile=profile)
    if cached is not None and stored is None:  # the next process skips lowering
        cached.store(fgraph, prog, lib.sources if lib is not None else [],
                     lib.groups if lib is not None else [])
    run = make_runner(prog, lib, profile)
    if not getattr(run, "locked", False):
        run = _serialized(run)
    run.program = prog  # type: ignore[attr-defined]
    run.libs = lib  # type: ignore[attr-defined]
    run.nodes = prog.nodes  # type: ignore[attr-defined]
    return run


def make_runner(prog: Program, lib: Any, profile: dict | None = None) -> Runner:
    """The per-call function of a lowered, loaded program."""
    template: list[Any] = [None] * len(prog.slot_vars)
    for s, v in prog.constants.items():
        template[s] = v
    bufs: list[list[Any]] = [[] for _ in template]

    def take(o: int, shp: tuple, dt: Any) -> np.ndarray:
        """A buffer for slot ``o`` nobody else holds (a returned array, or one that became a
        shared variable's value, is skipped); at most ``BUFFERS_PER_SLOT`` are kept, so the
        ``W = W - lr * g`` pattern alternates between two buffers without allocating."""
        pool = bufs[o]
        for b in pool:
            if _getrefcount(b) == 3 and b.shape == shp:  # pool, b, the call's argument
                return b
        b = np.empty(shp, dt)
        if len(pool) < BUFFERS_PER_SLOT:
            pool.append(b)
        else:
            pool[len(pool) - 1] = b
        return b
    plan: list[tuple[bool, Any]] = [
        (True, Segment(g, prog, lib)) if isinstance(g, list) else (False, g)
        for g in group_steps(prog, fills=profile is None and segments_fill_views(lib))]
    n_in = prog.n_inputs
    out_slots = prog.outputs
    matmuls = matmul_steps(prog)
    views = dimshuffle_views(prog)
    # numpy steps may warn (errstate silences them); BLAS matmuls and views never do
    has_numpy = any(not is_k and item.index not in views and item.index not in matmuls
                    for is_k, item in plan)

    def run_segment(seg: Segment, storage: list[Any]) -> None:
        if seg.c_run is not None:  # shapes, buffers and kernels in one C call
            err = seg.c_run(storage)
            if err:
                try:
                    seg.kprog._raise(err, seg.kprog.c_failed[0], [storage[s] for s in seg.slots])
                except KernelError as exc:
                    raise seg.error(exc, storage) from None
            return
        for k, (shape_fn, ins, outs, dts, inpl) in enumerate(seg.allocs):
            if shape_fn is None:  # a view or Shape_i filled in Python (no C segment runner)
                node = seg.fills[k].node
                storage[outs[0]] = node.op.perform(node, [storage[i] for i in ins])[0]
                continue
            try:
                shapes = shape_fn([storage[i].shape for i in ins])
            except (AttributeError, IndexError, TypeError):
                raise seg.bad_operand(seg.order[k], storage) from None
            for o, shp, dt in zip(outs, shapes, dts):
                if inpl and o in inpl:
                    storage[o] = storage[inpl[o]]
                    continue
                storage[o] = take(o, shp, dt)
        try:
            seg.kprog([storage[s] for s in seg.slots])
        except KernelError as err:
            raise seg.error(err, storage) from None

    def run_numpy(step: NumpyStep, storage: list[Any]) -> None:
        view = views.get(step.index)
        if view is not None:
            a = storage[step.inputs[0]]
            if type(a) is np.ndarray and a.ndim == view[0]:
                storage[step.outputs[0]] = a.transpose(view[1])[view[2]] if view[1] else a[view[2]]
                return
        if step.index in matmuls:
            a, b = storage[step.inputs[0]], storage[step.inputs[1]]
            dt = matmuls[step.index]
            if type(a) is np.ndarray and type(b) is np.ndarray and a.dtype == dt == b.dtype \
                    and a.ndim and b.ndim and a.shape[-1] == b.shape[0]:
                o = step.outputs[0]
                storage[o] = np.matmul(a, b, out=take(o, a.shape[:-1] + b.shape[1:], dt))
                return
        results = step.node.op.perform(step.node, [storage[i] for i in step.inputs])
        for o, r in zip(step.outputs, results):
            storage[o] = r

    if len(plan) == 1 and plan[0][0] and profile is None:
        seg = plan[0][1]
        if seg.c_run is not None:
            return segment_runner(seg, template, n_in, out_slots, run_segment)
        fast = single_kernel_runner(seg, prog)
        if fast is not None:
            return fast

        def run_one(values: Sequence[Any]) -> list:
            storage = template.copy()
            storage[:n_in] = values
            run_segment(seg, storage)
            return [storage[s] for s in out_slots]
        return run_one

    def run(values: Sequence[Any]) -> list:
        storage = template.copy()
        storage[:n_in] = values
        with np.errstate(all="ignore") if has_numpy else _NULL:
            for is_kernel, item in plan:
                t0 = time.perf_counter() if profile is not None else 0.0
                if is_kernel:
                    run_segment(item, storage)
                else:
                    run_numpy(item, storage)
                if profile is not None:
                    k = item.steps[0].index if is_kernel else item.index
                    profile[k] = profile.get(k, 0.0) + time.perf_counter() - t0
        return [storage[s] for s in out_slots]
    blas = lib is not None and calls_blas(prog)
    if blas:
        from tensorc.backend.c.loader import ext_module
        run = serial_runner(run, ext_module())
    steps = None if profile is not None or has_numpy else c_steps(plan, views, matmuls)
    if steps is None:
        return run
    return locked_runner(run, CPlan(None, template, steps, out_slots, blas, plan))


def c_steps(plan: Sequence[tuple[bool, Any]], views: dict, matmuls: dict) -> list[tuple] | None:
    """The C caller's step descriptions of ``plan`` (segments on the C segment runner,
    matrix products, dimshuffle views), or None when a step is none of these."""
    steps = []
    for is_kernel, item in plan:
        if is_kernel:
            if item.c_run is None:
                return None
            steps.append(segment_step(item))
        elif item.index in matmuls:
            steps.append(matmul_step(item.inputs[0], item.inputs[1], item.outputs[0],
                                     matmuls[item.index]))
        elif item.index in views:
            nd, axes, index = views[item.index]
            steps.append(view_step(item.inputs[0], item.outputs[0], nd, axes, index))
        else:
            return None
    return steps


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


_NULL = _NullContext()


_NODE_MEMO: dict[tuple, Runner | None] = {}


def evaluate_node(node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """Run one node on the C backend (``DebugMode``); None when it has no C kernel."""
    key = (node.op, tuple(v.type for v in node.inputs),
           tuple(v.signature() if isinstance(v, Constant) else None for v in node.inputs))
    if key not in _NODE_MEMO:
        ins = [v if isinstance(v, Constant) else v.type() for v in node.inputs]
        new = node.clone_with_new_inputs(ins)
        free = [v for v in ins if not isinstance(v, Constant)]
        fg = FunctionGraph(free, list(new.outputs), clone=False) if _fg_takes_clone() else \
            FunctionGraph(free, list(new.outputs))
        prog = lower(fg)
        _NODE_MEMO[key] = build_c_runner(fg) if prog.kernel_steps else None
    run = _NODE_MEMO[key]
    if run is None:
        return None
    values = [a for a, v in zip(inputs, node.inputs) if not isinstance(v, Constant)]
    return [np.array(r, copy=True) for r in run(values)]


def _fg_takes_clone() -> bool:
    import inspect
    return "clone" in inspect.signature(FunctionGraph.__init__).parameters


def clear_memo() -> None:
    """Forget the per-node runners built for ``DebugMode``."""
    _NODE_MEMO.clear()


def _serialized(run: Runner) -> Runner:
    """``run`` behind a lock: a program's slot tables and recycled buffers belong to one
    call at a time, and cffi releases the GIL while kernels run, so two Python threads
    calling the same function would otherwise overwrite each other's operands."""
    lock = _thread.allocate_lock()  # threading.Lock without importing threading

    def locked(values: Any) -> Any:
        with lock:
            return run(values)
    return locked
