"""The call path of a function whose program is one segment of kernels.

Most small functions (``x + y``, a fused elementwise chain, a reduction) lower to a single
segment. Their runner is :func:`segment_runner`: one cffi call that takes the segment's
lock, binds, allocates and runs (``tc_run_segment_locked``). On top of it
:func:`c_caller` builds the whole call in C (``csrc/tensorc_caller.c``): a builtin
callable that checks the arguments (exactly ndarrays of the compiled dtype and rank),
fills the storage, runs the segment and returns the output -- about 1 us less per call
than the Python path, which is all of a 0-d call's time. Whatever the C caller does not
take (other argument types, kwargs, any error) it returns ``fallback`` for, and the
caller runs the Python path, which converts the arguments or raises with them named.

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


def segment_runner(seg: Any, template: list[Any], n_in: int, out_slots: Sequence[int],
                   run_segment: Callable[[Any, list[Any]], None]) -> Runner:
    """``run(values) -> outputs`` for a one-segment program on the C segment runner.

    The segment's C lock serialises calls (the storage is per call, but the kernel
    program's operand table is the segment's); ``run_segment`` is the Python path used
    only to raise the error of a failed call, under the same lock."""
    kp = seg.kprog
    ffi, lib = kp.ffi, kp.ext.lib
    lock = ffi.gc(lib.tc_lock_new(), lib.tc_lock_free)
    if lock == ffi.NULL:
        raise MemoryError("tensorc: cannot allocate a lock for a compiled function")
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
    run_c.c_parts = (seg, lock, template, outs)  # type: ignore[attr-defined]
    return run_c


def c_caller(run: Any, dtypes: Sequence[Any], ndims: Sequence[int], unpack: bool,
             fallback: object) -> Callable[..., Any] | None:
    """The C callable ``call(*args) -> output(s) | fallback`` for ``run``, a
    :func:`segment_runner`; None when ``run`` is not one (numpy backend, several
    segments, profiling) or the extension has no C caller.

    ``dtypes``/``ndims``: each input's numpy dtype and rank (arguments must match them
    exactly); ``unpack``: return the single output itself rather than a list."""
    parts = getattr(run, "c_parts", None)
    if parts is None or any(dt is None for dt in dtypes):
        return None
    seg, lock, template, outs = parts
    kp = seg.kprog
    ffi, lib = kp.ffi, kp.ext.lib
    if not hasattr(lib, "tc_make_caller"):
        return None
    _, c_prog, c_seg, _, c_failed = seg.c_call
    holder: list[Any] = []
    keep = (seg, lock, run)  # everything the C state points into
    err = lib.tc_make_caller(
        id(holder), c_prog, c_seg, lock, id(template), id(seg.cache), id(keep), id(fallback),
        c_failed, len(dtypes), ffi.new("int32_t[]", [np.dtype(d).num for d in dtypes] or [0]),
        ffi.new("int32_t[]", list(ndims) or [0]), len(outs), ffi.new("int32_t[]", outs),
        int(unpack))
    return holder[0] if err == 0 and holder else None
