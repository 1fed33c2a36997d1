"""A segment: consecutive kernel steps of a program, run by one C call.

When every step's output shapes can be described as data (elementwise broadcasting,
reductions, row kernels: each output dimension is some operand's dimension, or 1) and
the extension has ``tc_run_segment`` (``csrc/tensorc_segment.c``), the whole segment --
binding the inputs, computing shapes, picking recycled or new output arrays, running the
kernels -- is one C call with no Python per step.  Otherwise the runner computes shapes
and arrays in Python (``Segment.allocs``) and calls ``Segment.kprog``.

``DimShuffle`` and ``Shape_i`` steps read only by kernels of the same segment join it
(``group_steps``): in C they are a stride/shape computation without any Python object.

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
from tensorc.lower.program import KernelStep, NumpyStep, Program, Step

Plan = tuple[tuple[int, int], ...]  #: per output dimension: (kernel input, its dim) or (-1, -1)


def output_plans(step: KernelStep) -> list[Plan] | None:
    """Per output of ``step``, where each dimension's size comes from; None when only the
    step's Python shape function knows (indexing kernels)."""
    plan = getattr(step.shape_fn, "plan", None)
    return None if plan is None else [tuple(p) for p in plan]


def is_fill(step: Step) -> bool:
    """True for the numpy steps a C segment computes itself: ``DimShuffle``, ``Shape_i``."""
    from tensorc.ops.elemwise import DimShuffle
    from tensorc.ops.shape import Shape_i
    return isinstance(step, NumpyStep) and type(step.node.op) in (DimShuffle, Shape_i)


def segments_fill_views(lib: Any) -> bool:
    """True when segments run through ``tc_run_segment`` (which fills views and shapes)."""
    from tensorc.backend.c.loader import ext_module
    ext = ext_module() if lib is not None else None
    return ext is not None and hasattr(ext.lib, "tc_run_segment")


def group_steps(prog: Program, *, fills: bool) -> list[list[Step] | NumpyStep]:
    """The program's steps as segments (lists: consecutive kernel steps, plus, with
    ``fills``, the view/shape steps only they read) and the numpy steps between them.

    >>> import tensorc.tensor as T
    >>> from tensorc.graph.fgraph import FunctionGraph
    >>> from tensorc.lower import lower
    >>> x, r = T.dmatrix('x'), T.dvector('r')
    >>> prog = lower(FunctionGraph([x, r], [T.exp(x) * r.dimshuffle(0, 'x')]))
    >>> [len(g) if isinstance(g, list) else 'numpy' for g in group_steps(prog, fills=True)]
    [3]
    """
    readers: dict[int, list[int]] = {}
    for pos, s in enumerate(prog.steps):
        for i in s.inputs:
            readers.setdefault(i, []).append(pos)
    # a kernel writing in place needs an array: slots it destroys stay numpy-made
    destroyed = {s.inputs[j] for s in prog.steps if isinstance(s, KernelStep) for j in s.inplace.values()}
    keep = set(prog.outputs) | destroyed
    joinable = {pos for pos, s in enumerate(prog.steps)
                if fills and is_fill(s) and s.outputs[0] not in keep}
    while True:
        groups: list[list[int] | int] = []
        for pos, s in enumerate(prog.steps):
            if isinstance(s, KernelStep) or pos in joinable:
                if not groups or not isinstance(groups[-1], list):
                    groups.append([])
                groups[-1].append(pos)  # type: ignore[union-attr]
            else:
                groups.append(pos)
        where = {pos: g for g, grp in enumerate(groups) if isinstance(grp, list) for pos in grp}
        kernels_in = {g for pos, g in where.items() if isinstance(prog.steps[pos], KernelStep)}
        bad = {pos for pos in joinable if where[pos] not in kernels_in
               or any(where.get(r) != where[pos] for r in readers.get(prog.steps[pos].outputs[0], []))}
        if not bad:
            return [[prog.steps[p] for p in g] if isinstance(g, list) else prog.steps[g]  # type: ignore[misc]
                    for g in groups]
        joinable -= bad


class Segment:
    """Consecutive kernel steps (and the views/shapes only they read) run by one
    ``KernelProgram`` call.

    Local slots: the segment's inputs (read, not written here) first, then the outputs in
    step order; ``slots[k]`` is the program slot of local slot ``k``.
    """

    def __init__(self, order: list[Step], prog: Program, lib: Any) -> None:
        from tensorc.backend.c.runner import KernelProgram, spec_for
        self.order = order
        self.n_inputs, self.slot_vars = prog.n_inputs, prog.slot_vars  # to name a bad input
        self.steps = [s for s in order if isinstance(s, KernelStep)]
        self.fills = [None if isinstance(s, KernelStep) else s for s in order]
        written = [o for s in order for o in s.outputs]
        inputs: list[int] = []
        for s in order:
            inputs += [i for i in s.inputs if i not in written and i not in inputs]
        self.slots = slots = inputs + list(dict.fromkeys(written))
        local = {s: k for k, s in enumerate(slots)}
        wset = {o for s in self.steps for o in s.outputs}
        specs = [spec_for(prog.slot_vars[s].type.dtype, prog.slot_vars[s].type.ndim,
                          writable=s in wset) for s in slots]
        kernels = [(lib.kernel(s.name), [local[i] for i in s.inputs + s.outputs]) for s in self.steps]
        self.kprog = KernelProgram(kernels, specs)
        self.allocs = []
        for s in order:
            if not isinstance(s, KernelStep):
                self.allocs.append((None, s.inputs, s.outputs, (), {}))
                continue
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
        plans = [output_plans(s) if isinstance(s, KernelStep) else [] for s in self.order]
        if any(p is None or (isinstance(s, KernelStep) and len(p) != len(s.outputs))
               for p, s in zip(plans, self.order)):
            return None
        ffi = kp.ffi
        n_in = len(self.slots) - len(dict.fromkeys(o for s in self.order for o in s.outputs))
        c_allocs = ffi.new("tc_alloc[]", max(1, sum(len(s.outputs) for s in self.order)))
        dimsrc: list[int] = []
        a = 0
        for step, plan in zip(self.order, plans):
            if not isinstance(step, KernelStep):
                _fill_entry(c_allocs[a], step, local, dimsrc)
                a += 1
                continue
            inplace = {step.outputs[k]: step.inputs[j] for k, j in step.inplace.items()}
            for o, oplan in zip(step.outputs, plan):
                al = c_allocs[a]
                al.slot, al.kind, al.ndim = local[o], 0, len(oplan)
                al.type_num = np.dtype(prog.slot_vars[o].type.dtype).num
                al.source = local[inplace[o]] if o in inplace else -1
                al.first, al.cache = len(dimsrc), 2 * a
                for k, d in oplan:
                    dimsrc += [local[step.inputs[k]], d] if k >= 0 else [-1, -1]
                nd, itemsize, kind, writable = specs[local[o]]
                al.spec.ndim, al.spec.itemsize = nd, itemsize
                al.spec.kind, al.spec.writable = kind.encode(), bytes([writable])
                a += 1
        seg = ffi.new("tc_segment *")
        keep = [c_allocs, ffi.new("int32_t[]", self.slots or [0]), ffi.new("int32_t[]", dimsrc or [0])]
        seg.nslots, seg.nin, seg.nalloc = len(self.slots), n_in, a
        seg.slot_of, seg.specs, seg.allocs, seg.dimsrc = keep[1], kp.c_specs, c_allocs, keep[2]
        self._c_keep = keep  # the arrays seg points into
        self.cache: list[Any] = [None] * (2 * a)  # two recycled arrays per entry (fills use none)
        run_segment, c_prog, c_failed, cache_id = ext.lib.tc_run_segment, kp.c_prog, kp.c_failed, id(self.cache)
        #: the call's pieces, for runners that inline it: fn(c_prog, seg, id(storage), cache_id, failed)
        self.c_call = (run_segment, c_prog, seg, cache_id, c_failed)

        def run(storage: list[Any]) -> int:
            return run_segment(c_prog, seg, id(storage), cache_id, c_failed)
        return run

    def bad_operand(self, step: KernelStep, storage: list[Any]) -> Exception:
        """The error for an operand of ``step`` that is not an array of the compiled rank."""
        for j, slot in enumerate(step.inputs):
            a, var = storage[slot], step.kernel_vars[j]
            if not isinstance(a, np.ndarray):
                return ValueError(f"{step.node.op}: input {j} ({var}) is not an array but a "
                                  f"{type(a).__name__} (trust_input skips conversion)")
            if a.ndim != var.type.ndim:
                return ValueError(f"{step.node.op}: input {j} ({var}) has {a.ndim} dimensions, "
                                  f"shape {a.shape}; its type {var.type} has {var.type.ndim} dimensions")
        return ValueError(f"{step.node.op}: bad operands")

    def binding_error(self, err: KernelError, storage: list[Any], slot: int) -> Exception:
        """The error for an array the segment could not bind (under ``trust_input``, a
        function input of the wrong kind), named by its input number and variable: the
        kernel's operand numbers mean nothing to the caller."""
        from tensorc.backend.c.runner import ERROR_NAMES
        var, a = self.slot_vars[slot], storage[slot]
        who = f"input {slot} ({var})" if slot < self.n_inputs else f"intermediate {var}"
        got = (f"shape {a.shape}, dtype {a.dtype}" if isinstance(a, np.ndarray)
               else f"a {type(a).__name__}")
        hint = " (trust_input skips conversion)" if slot < self.n_inputs else ""
        return ValueError(f"{who}: {ERROR_NAMES.get(err.code, 'error')}: got {got}; its type "
                          f"{var.type} wants dtype {var.type.dtype}, {var.type.ndim} dimensions{hint}")

    def error(self, err: KernelError, storage: list[Any]) -> Exception:
        """The exception to raise for a failed segment call (numpy's message when possible)."""
        from tensorc.backend.c.runner import NUMPY_VALUE_ERRORS
        for fill in self.fills:  # views/shapes the C runner made without Python objects
            if fill is not None and storage[fill.outputs[0]] is None and \
                    all(isinstance(storage[i], np.ndarray) for i in fill.inputs):
                try:
                    storage[fill.outputs[0]] = fill.node.op.perform(
                        fill.node, [storage[i] for i in fill.inputs])[0]
                except Exception as exc:  # e.g. a dropped dimension that is not 1
                    a, var = storage[fill.inputs[0]], fill.node.inputs[0]
                    return ValueError(f"{fill.node.op}: input {var} has shape {a.shape} "
                                      f"({a.ndim} dimensions); its type is {var.type} ({exc})")
        if err.step < 0:
            slot = self.slots[err.operand] if err.operand < len(self.slots) else -1
            return self.binding_error(err, storage, slot) if slot >= 0 else ValueError(str(err))
        step = self.steps[err.step]
        node = step.node
        ins = [storage[i] for i in step.inputs]
        if err.code in NUMPY_VALUE_ERRORS:  # numpy's message, without re-running the node:
            # an in-place kernel may have overwritten part of its input before it failed
            return ValueError(f"{node.op}: {NUMPY_VALUE_ERRORS[err.code]}")
        try:  # the numpy implementation names the problem the way the numpy backend does
            node.op.perform(node, [storage[i] for i in step.node_slots])
        except (ValueError, TypeError, IndexError) as exc:
            return exc
        except Exception:
            pass
        shapes = ", ".join(str(getattr(a, "shape", "?")) for a in ins)
        return ValueError(f"{node.op}: {err} (input shapes {shapes})")


def _fill_entry(al: Any, step: NumpyStep, local: dict[int, int], dimsrc: list[int]) -> None:
    """Describe a ``DimShuffle`` (view) or ``Shape_i`` (shape) step as a ``tc_alloc``."""
    from tensorc.ops.elemwise import DimShuffle
    src = local[step.inputs[0]]
    al.slot, al.source, al.first, al.cache, al.type_num = local[step.outputs[0]], src, len(dimsrc), -1, 0
    op = step.node.op
    if type(op) is DimShuffle:
        al.kind, al.ndim = 1, len(op.new_order)
        for e in op.new_order:
            dimsrc += [-1, -1] if e == "x" else [src, int(e)]
    else:
        al.kind, al.ndim = 2, 0
        dimsrc += [src, op.i]
