"""Fast paths of the C runner (``driver.make_runner``): the lean single-kernel runner,
``Dot`` steps as ``np.matmul`` into recycled buffers, ``DimShuffle`` steps as one view.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> from tensorc.lower import lower
>>> x = T.dvector('x')
>>> list(dimshuffle_views(lower(FunctionGraph([x], [x.dimshuffle('x', 0)]))).values())
[(1, (), (None, slice(None, None, None)))]
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Sequence

import numpy as np

from tensorc.backend.c.errors import KernelError
from tensorc.lower.program import NumpyStep, Program

Runner = Callable[[Sequence[Any]], list]
_getrefcount = sys.getrefcount

BUFFERS_PER_SLOT = 2  #: recycled buffers kept per slot


def dimshuffle_views(prog: Program) -> dict[int, tuple[int, tuple[int, ...], tuple]]:
    """Index -> (input ndim, transpose axes or (), index tuple) of the ``DimShuffle`` steps:
    one numpy view instead of ``perform`` (transpose, then drop broadcastable dims and
    insert new ones by indexing; ~0.3 us instead of ~3 us)."""
    from tensorc.ops.elemwise import DimShuffle
    out = {}
    for s in prog.steps:
        if isinstance(s, NumpyStep) and type(s.node.op) is DimShuffle and s.node.op.new_order:
            op, nd = s.node.op, s.node.inputs[0].type.ndim
            axes = op.perm + op.drop
            idx = tuple(None if e == "x" else slice(None) for e in op.new_order) + (0,) * len(op.drop)
            out[s.index] = (nd, axes if axes != tuple(range(nd)) else (), idx)
    return out


def matmul_steps(prog: Program) -> dict[int, np.dtype]:
    """Index -> output dtype of the matrix/vector ``Dot`` steps: they run as ``np.matmul``
    into a recycled buffer (a fresh BLAS output costs page faults on every call)."""
    from tensorc.ops.blas import Dot
    out = {}
    for s in prog.steps:
        if isinstance(s, NumpyStep) and type(s.node.op) is Dot and len(s.inputs) == 2 \
                and all(v.type.ndim in (1, 2) for v in s.node.inputs) \
                and s.node.outputs[0].type.ndim:
            out[s.index] = np.dtype(s.node.outputs[0].type.dtype)
    return out


#: modules whose ops call BLAS/LAPACK, by name (importing linalg here would load it
#: in every process that builds a function, while it loads lazily everywhere else)
BLAS_OP_MODULES = ("tensorc.ops.blas", "tensorc.ops.linalg")


def calls_blas(prog: Program) -> bool:
    """True when a numpy step of ``prog`` calls BLAS/LAPACK (dot, tensordot, linear algebra):
    its kernels then run single-threaded (``serial_runner``)."""
    return any(isinstance(s, NumpyStep) and type(s.node.op).__module__ in BLAS_OP_MODULES
               for s in prog.steps)


def serial_runner(run: Runner, ext: Any) -> Runner:
    """``run`` with the kernels' loops kept off the thread pool.

    After each call numpy's OpenBLAS leaves its threads spinning for a while; a pool
    worker competing with them for a core stalls the chunk it claimed, and the MLP step's
    elementwise kernels took 5-7x longer than single-threaded (4.1 ms vs 2.3 ms a step).
    """
    serial = getattr(ext.lib, "tc_pool_serial", None) if ext is not None else None
    if serial is None:
        return run

    def run_serial(values: Sequence[Any]) -> list:
        prev = serial(1)
        try:
            return run(values)
        finally:
            serial(prev)
    return run_serial


def single_kernel_runner(seg: Any, prog: Program) -> Runner | None:
    """A leaner runner for the common program: one kernel reading only the call's inputs
    and writing exactly the function's outputs (``x + y``, one fused loop...).
    Used when the extension has no C segment runner (``tensorc.backend.c.caller``)."""
    if len(seg.steps) != 1 or any(seg.fills):
        return None
    step = seg.steps[0]
    n_in = prog.n_inputs
    if step.inplace or any(i >= n_in for i in step.inputs) or prog.outputs != list(step.outputs) \
            or len(set(step.outputs)) != len(step.outputs):
        return None
    in_slots = seg.slots[:len(seg.slots) - len(step.outputs)]
    shape_fn, ins_k, _, dts, _ = seg.allocs[0]
    kp = seg.kprog
    n_bound = kp.n_bound
    obufs: list[Any] = [None] * len(step.outputs)
    pairs = list(enumerate(dts))
    ext = kp.ext
    tc_call = ext.lib.tc_call if ext is not None else None
    c_prog, c_specs, c_failed = kp.c_prog, kp.c_specs, kp.c_failed

    def run_kernel(values: Sequence[Any]) -> list:
        try:
            shapes = shape_fn([values[i].shape for i in ins_k])
        except (AttributeError, IndexError, TypeError):
            raise seg.bad_operand(seg.steps[0], list(values)) from None
        arrays = [values[i] for i in in_slots]
        outs = []
        for j, dt in pairs:
            b = obufs[j]
            if b is None or _getrefcount(b) != 3 or b.shape != shapes[j]:
                b = obufs[j] = np.empty(shapes[j], dt)
            outs.append(b)
        arrays += outs
        try:
            if tc_call is None:
                kp(arrays)
            else:
                err = tc_call(c_prog, id(arrays), n_bound, c_specs, c_failed)
                if err:
                    kp._raise(err, c_failed[0], arrays)
        except KernelError as exc:
            storage = list(values) + [None] * (len(prog.slot_vars) - len(values))
            for o, a in zip(step.outputs, outs):
                storage[o] = a
            raise seg.error(exc, storage) from None
        return outs
    return run_kernel
