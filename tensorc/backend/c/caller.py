"""The call path of a compiled function on the C backend.

Most small functions (``x + y``, a fused elementwise chain, a reduction) lower to a single
segment. Their runner is :func:`segment_runner`: one cffi call that takes the segment's
lock, binds, allocates and runs (``tc_run_segment_locked``). Programs of several segments,
matrix products and dimshuffle views (dense layers, training steps) get a runner from
``driver.make_runner`` that describes them the same way (:class:`CPlan`).

On top of either, :func:`c_caller` builds the whole call in C (``csrc/tensorc_caller.c``):
a builtin callable that checks the arguments and shared values (exactly ndarrays of the
compiled dtype and rank), fills the storage, runs the steps, writes the updates and
returns the output -- about 1 us instead of 3-10 us of Python per call. Whatever the C
caller does not take (other argument types, kwargs, any error) it returns ``fallback``
for, and the caller runs the Python path, which converts the arguments or raises with
them named.

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x, y = T.dscalar("x"), T.dscalar("y")
>>> f = tensorc.function([x, y], x + y)
>>> float(f(np.array(1.5), np.array(2.0)))     # through the C caller when compiled
3.5
>>> float(f(1.5, 2))                            # Python scalars: the Python path
3.5
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

Runner = Callable[[Sequence[Any]], list]


class CPlan:
    """What the C caller needs of a runner: its lock (a ``tc_lock_new`` pointer shared with
    the Python path), the storage template, the step descriptions (see
    ``tc_parse_step`` in ``csrc/tensorc_caller.c``), the output slots, whether BLAS steps
    keep the loops serial, and the objects the descriptions point into."""

    __slots__ = ("lock", "template", "steps", "outs", "blas_serial", "keep")

    def __init__(self, lock: Any, template: list[Any], steps: list[tuple], outs: Sequence[int],
                 blas_serial: bool, keep: Any) -> None:
        self.lock, self.template, self.steps = lock, template, steps
        self.outs, self.blas_serial, self.keep = list(outs), blas_serial, keep


SEGMENT, MATMUL, VIEW = 0, 1, 2  #: step kinds of ``tc_cstep``


def segment_step(seg: Any) -> tuple:
    """The C caller's description of a segment run by ``tc_run_segment``."""
    _, c_prog, c_seg, _, _ = seg.c_call
    ffi = seg.kprog.ffi
    return (SEGMENT, int(ffi.cast("uintptr_t", c_prog)), int(ffi.cast("uintptr_t", c_seg)), seg.cache)


def matmul_step(a: int, b: int, out: int, dtype: Any, own_gemm: bool = True) -> tuple:
    """``out = a @ b`` (1-D or 2-D operands of ``dtype``) into two recycled buffers.

    2-d float32/float64 products of 2 to 16 rows and at least 24 (float64) / 48
    (float32) columns run on tensorc's own gemm (``csrc/tensorc_gemm.c``: A and B packed
    in cache blocks, AVX2/FMA register blocks, column groups split over tensorc's thread
    pool, without the GIL)
    when the CPU has AVX2 and FMA and ``own_gemm`` is true; everything else (and those,
    with ``own_gemm=False``) runs numpy's matmul.

    >>> matmul_step(0, 1, 2, "float64")
    (1, 0, 1, 2, 12, [None, None], True)
    """
    return (MATMUL, a, b, out, np.dtype(dtype).num, [None, None], bool(own_gemm))


def view_step(src: int, out: int, ndim: int, axes: Sequence[int], index: tuple) -> tuple:
    """``out = src.transpose(axes)[index]`` (``axes`` empty: no transpose; an index of
    full slices: none) for a source of rank ``ndim``."""
    plain = all(isinstance(i, slice) and i == slice(None) for i in index)
    return (VIEW, src, out, ndim, tuple(axes) if axes else None, None if plain else tuple(index))


def new_lock(lib: Any, ffi: Any) -> Any:
    """A C lock (freed with its cffi owner) for one function's calls."""
    lock = ffi.gc(lib.tc_lock_new(), lib.tc_lock_free)
    if lock == ffi.NULL:
        raise MemoryError("tensorc: cannot allocate a lock for a compiled function")
    return lock


def segment_runner(seg: Any, template: list[Any], n_in: int, out_slots: Sequence[int],
                   run_segment: Callable[[Any, list[Any]], None]) -> Runner:
    """``run(values) -> outputs`` for a one-segment program on the C segment runner.

    The segment's C lock serialises calls (the storage is per call, but the kernel
    program's operand table is the segment's); ``run_segment`` is the Python path used
    only to raise the error of a failed call, under the same lock."""
    kp = seg.kprog
    ffi, lib = kp.ffi, kp.ext.lib
    lock = new_lock(lib, ffi)
    _, c_prog, c_seg, cache_id, c_failed = seg.c_call
    run_locked = lib.tc_run_segment_locked
    outs = list(out_slots)

    def run_c(values: Sequence[Any]) -> list:
        """One C call (locked in C; the storage list is this call's own)."""
        storage = template.copy()
        storage[:n_in] = values
        if run_locked(lock, c_prog, c_seg, id(storage), cache_id, c_failed):
            lib.tc_lock_acquire(lock)
            try:
                run_segment(seg, storage)  # raises the error
            finally:
                lib.tc_lock_release(lock)
        return [storage[s] for s in outs]
    run_c.locked = True  # type: ignore[attr-defined]
    run_c.c_plan = CPlan(lock, template, [segment_step(seg)], outs, False, seg)  # type: ignore[attr-defined]
    return run_c


def locked_runner(run: Runner, plan: CPlan) -> Runner:
    """``run`` serialised by a new C lock, which ``plan`` (its C caller's description)
    shares (``run`` itself without the extension, for the caller to serialise): the program's slot tables and recycled buffers belong to one call at a time,
    whichever path makes it (waiting for the lock releases the GIL)."""
    from tensorc.backend.c import loader
    ext = loader.ext_module()
    if ext is None or not hasattr(ext.lib, "tc_lock_new"):  # cffi ABI mode: no C caller
        return run
    lib = ext.lib
    plan.lock = new_lock(lib, ext.ffi)
    lock, acquire, release = plan.lock, lib.tc_lock_acquire, lib.tc_lock_release

    def run_locked(values: Sequence[Any]) -> list:
        acquire(lock)
        try:
            return run(values)
        finally:
            release(lock)
    run_locked.locked = True  # type: ignore[attr-defined]
    run_locked.c_plan = plan  # type: ignore[attr-defined]
    return run_locked


def c_caller(run: Any, dtypes: Sequence[Any], ndims: Sequence[int], unpack: bool,
             fallback: object, n_out: int | None = None,
             shared: Sequence[tuple[Any, Any, int]] = (), updates: Sequence[Any] = ()
             ) -> Callable[..., Any] | None:
    """The C callable ``call(*args) -> output(s) | fallback`` for ``run``, a runner with a
    :class:`CPlan`; None when ``run`` has none (numpy backend, profiling, steps C does not
    run) or the extension has no C caller.

    ``dtypes``/``ndims``: each input's numpy dtype and rank (arguments must match them
    exactly); ``unpack``: return the single output itself rather than a list;
    ``shared``: ``(container, dtype, ndim)`` of the shared variables, read into the slots
    after the inputs; ``updates``: the containers the last outputs of the program replace
    (``n_out``: how many outputs the function returns, the rest being updates)."""
    plan = getattr(run, "c_plan", None)
    if plan is None or any(dt is None for dt in dtypes) or any(s[1] is None for s in shared):
        return None
    from tensorc.backend.c import loader
    ext = loader.ext_module()
    if ext is None or not hasattr(ext.lib, "tc_make_caller"):
        return None
    n_out = len(plan.outs) - len(updates) if n_out is None else n_out
    if n_out < 0 or n_out + len(updates) != len(plan.outs) or not plan.outs:
        return None
    holder: list[Any] = []
    ffi = ext.ffi
    spec = (int(ffi.cast("uintptr_t", plan.lock)), plan.template, (plan.keep, run), fallback,
            tuple(np.dtype(d).num for d in [*dtypes, *(s[1] for s in shared)]),
            tuple(int(n) for n in [*ndims, *(s[2] for s in shared)]),
            tuple(s[0] for s in shared), tuple(updates), list(plan.steps),
            tuple(plan.outs), n_out, bool(unpack), bool(plan.blas_serial), np.matmul)
    err = ext.lib.tc_make_caller(id(holder), id(spec))
    return holder[0] if err == 0 and holder else None
