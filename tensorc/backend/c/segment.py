"""A segment: consecutive kernel steps of a program, run by one C call.

When every step's output shapes can be described as data (elementwise broadcasting,
reductions, row kernels: each output dimension is some operand's dimension, or 1) and
the extension has ``tc_run_segment`` (``csrc/tensorc_segment.c``), the whole segment --
binding the inputs, computing shapes, picking recycled or new output arrays, running the
kernels -- is one C call with no Python per step.  Otherwise the runner computes shapes
and arrays in Python (``Segment.allocs``) and calls ``Segment.kprog``.

>>> import numpy as np, tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> from tensorc.lower import lower
>>> x = T.dvector('x')
>>> prog = lower(FunctionGraph([x], [T.exp(x) + 1]))
>>> output_plans(prog.kernel_steps[0])
[((0, 0),)]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.c.errors import KernelError
from tensorc.lower.program import KernelStep, Program

Plan = tuple[tuple[int, int], ...]  #: per output dimension: (kernel input, its dim) or (-1, -1)


def output_plans(step: KernelStep) -> list[Plan] | None:
    """Per output of ``step``, where each dimension's size comes from; None when only the
    step's Python shape function knows (indexing kernels)."""
    plan = getattr(step.shape_fn, "plan", None)
    if plan is not None:
        return [tuple(p) for p in plan]
    from tensorc.ops import nnet
    if type(step.node.op) in (nnet.Softmax, nnet.LogSoftmax, nnet.SoftmaxGrad):
        nd = step.node.outputs[0].type.ndim
        return [tuple((0, d) for d in range(nd))]
    return None


class Segment:
    """Consecutive kernel steps run by one ``KernelProgram`` call.

    Local slots: the segment's inputs (read, not written here) first, then the outputs in
    step order; ``slots[k]`` is the program slot of local slot ``k``.
    """

    def __init__(self, steps: list[KernelStep], prog: Program, lib: Any) -> None:
        from tensorc.backend.c.runner import KernelProgram, spec_for
        self.steps = steps
        written = [o for s in steps for o in s.outputs]
        inputs: list[int] = []
        for s in steps:
            inputs += [i for i in s.inputs if i not in written and i not in inputs]
        self.slots = slots = inputs + list(dict.fromkeys(written))
        local = {s: k for k, s in enumerate(slots)}
        wset = set(written)
        specs = [spec_for(prog.slot_vars[s].type.dtype, prog.slot_vars[s].type.ndim,
                          writable=s in wset) for s in slots]
        kernels = [(lib.kernel(s.name), [local[i] for i in s.inputs + s.outputs]) for s in steps]
        self.kprog = KernelProgram(kernels, specs)
        self.allocs = []
        for s in steps:
            dts = tuple(np.dtype(prog.slot_vars[o].type.dtype) for o in s.outputs)
            inpl = {s.outputs[o]: s.inputs[i] for o, i in s.inplace.items()}
            self.allocs.append((s.shape_fn, s.inputs, s.outputs, dts, inpl))
        self.c_run = self._c_segment(prog, local, specs)

    def _c_segment(self, prog: Program, local: dict[int, int], specs: list) -> Any:
        """``run(storage) -> error code`` through ``tc_run_segment``, or None."""
        kp = self.kprog
        ext = kp.ext
        if ext is None or not hasattr(ext.lib, "tc_run_segment"):
            return None
        plans = [output_plans(s) for s in self.steps]
        if any(p is None or len(p) != len(s.outputs) for p, s in zip(plans, self.steps)):
            return None
        ffi = kp.ffi
        n_in = len(self.slots) - len(dict.fromkeys(o for s in self.steps for o in s.outputs))
        allocs = [(s, o, p) for s, ps in zip(self.steps, plans) for o, p in zip(s.outputs, ps)]
        c_allocs = ffi.new("tc_alloc[]", max(1, len(allocs)))
        dimsrc: list[int] = []
        for a, (step, o, plan) in enumerate(allocs):
            al = c_allocs[a]
            inplace = {step.outputs[k]: step.inputs[j] for k, j in step.inplace.items()}
            dtype = np.dtype(prog.slot_vars[o].type.dtype)
            al.slot, al.type_num, al.ndim = local[o], dtype.num, len(plan)
            al.inplace = local[inplace[o]] if o in inplace else -1
            al.first, al.cache = len(dimsrc), 2 * a
            for k, d in plan:
                dimsrc += [local[step.inputs[k]], d] if k >= 0 else [-1, -1]
            nd, itemsize, kind, writable = specs[local[o]]
            al.spec.ndim, al.spec.itemsize = nd, itemsize
            al.spec.kind, al.spec.writable = kind.encode(), bytes([writable])
        seg = ffi.new("tc_segment *")
        keep = [c_allocs, ffi.new("int32_t[]", self.slots or [0]), ffi.new("int32_t[]", dimsrc or [0])]
        seg.nslots, seg.nin, seg.nalloc = len(self.slots), n_in, len(allocs)
        seg.slot_of, seg.specs, seg.allocs, seg.dimsrc = keep[1], kp.c_specs, c_allocs, keep[2]
        self._c_keep = keep  # the arrays seg points into
        self.cache: list[Any] = [None] * (2 * len(allocs))
        run_segment, c_prog, c_failed, cache = ext.lib.tc_run_segment, kp.c_prog, kp.c_failed, self.cache

        def run(storage: list[Any]) -> int:
            return run_segment(c_prog, seg, id(storage), id(cache), c_failed)
        return run

    def bad_operand(self, k: int, storage: list[Any]) -> Exception:
        """The error for an operand of step ``k`` that is not an array of the compiled rank."""
        step = self.steps[k]
        for j, slot in enumerate(step.inputs):
            a, var = storage[slot], step.kernel_vars[j]
            if not isinstance(a, np.ndarray):
                return ValueError(f"{step.node.op}: input {j} ({var}) is not an array but a "
                                  f"{type(a).__name__} (trust_input skips conversion)")
            if a.ndim != var.type.ndim:
                return ValueError(f"{step.node.op}: input {j} ({var}) has {a.ndim} dimensions, "
                                  f"shape {a.shape}; its type {var.type} has {var.type.ndim} dimensions")
        return ValueError(f"{step.node.op}: bad operands")

    def error(self, err: KernelError, storage: list[Any]) -> Exception:
        """The exception to raise for a failed segment call (numpy's message when possible)."""
        if err.step < 0:
            slot = self.slots[err.operand] if err.operand < len(self.slots) else -1
            for k, step in enumerate(self.steps):
                if slot in step.inputs:
                    exc = self.bad_operand(k, storage)
                    if str(exc) != f"{step.node.op}: bad operands":
                        return ValueError(f"{err} — {exc}")
            return ValueError(f"{err} — operand is slot %{slot}")
        step = self.steps[err.step]
        node = step.node
        ins = [storage[i] for i in step.inputs]
        try:  # the numpy implementation names the problem the way the numpy backend does
            node.op.perform(node, [storage[i] for i in step.node_slots])
        except (ValueError, TypeError, IndexError) as exc:
            return exc
        except Exception:
            pass
        shapes = ", ".join(str(getattr(a, "shape", "?")) for a in ins)
        return ValueError(f"{node.op}: {err} (input shapes {shapes})")
