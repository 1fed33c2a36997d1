"""Run a sequence of compiled kernels on numpy arrays.

A :class:`KernelProgram` is a list of steps ``(kernel, slot indices)`` over a
table of slots. Slots ``0 .. n_bound-1`` are bound to the caller's arrays on
each call (inputs and outputs, in the order of ``specs``); the remaining slots
are bound once with :meth:`KernelProgram.bind` (intermediates, constants).

With the extension ``tensorc._ext`` the whole call (binding the arrays through
the buffer protocol, checking ndim/dtype/writability, running every kernel) is
one C call. Without it, the same thing happens in Python through cffi ABI mode.

>>> import numpy as np                                          # doctest: +SKIP
>>> lib = get_library(src, name_hint="axpy")                     # doctest: +SKIP
>>> prog = KernelProgram([(lib.kernel("axpy"), [0, 1, 2])],
...                      specs=[spec_for(np.float64, 1), spec_for(np.float64, 1),
...                             spec_for(np.float64, 1, writable=True)])  # doctest: +SKIP
>>> prog([x, y, out])                                            # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.c import loader
from tensorc.backend.c.errors import KernelError

MAX_NDIM = 64
ERROR_NAMES = {1: "wrong number of dimensions", 2: "shapes do not match", 3: "wrong dtype",
               4: "output is read-only", 5: "not an array", 6: "out of memory",
               7: "internal error", 8: "integer to a negative integer power"}
#: Codes of values numpy rejects (TC_ERR_* of ``tensorc_runtime.h``) -> numpy's own
#: ``ValueError`` message, which the C backend raises with the failing node's op.
NUMPY_VALUE_ERRORS = {8: "Integers to negative integer powers are not allowed."}
_KIND = {"f": "f", "i": "i", "u": "u", "b": "b", "c": "c"}


def spec_for(dtype: Any, ndim: int, *, writable: bool = False) -> tuple[int, int, str, bool]:
    """The check applied to a bound array: (ndim, itemsize, kind, writable); ndim -1 = any."""
    dt = np.dtype(dtype)
    return (ndim, dt.itemsize, _KIND.get(dt.kind, "\0"), writable)


def decode_error(err: int) -> tuple[int, int]:
    """(TC_ERR_* code, operand index) of a nonzero kernel result."""
    return err & 0xFF, (err >> 8) & 0xFFFF


class KernelProgram:
    """Kernels called in order over a slot table; see the module docstring."""

    def __init__(self, steps: Sequence[tuple[Any, Sequence[int]]],
                 specs: Sequence[tuple[int, int, str, bool]], nslots: int | None = None) -> None:
        self.ffi = loader.ffi()
        self.ext = loader.ext_module()
        self.n_bound = len(specs)
        self.nslots = nslots if nslots is not None else max(
            [self.n_bound] + [i + 1 for _, idx in steps for i in idx])
        self._keep: list[Any] = []  # arrays bound once (kept alive)
        self._build_tables(steps, specs)

    def _build_tables(self, steps: Sequence[tuple[Any, Sequence[int]]],
                      specs: Sequence[tuple[int, int, str, bool]]) -> None:
        ffi = self.ffi
        self.c_specs = ffi.new("tc_slot_spec[]", max(1, len(specs)))
        for i, (nd, itemsize, kind, writable) in enumerate(specs):
            s = self.c_specs[i]
            s.ndim, s.itemsize, s.kind, s.writable = nd, itemsize, kind.encode(), bytes([writable])
        self.steps_py = [(fn, list(idx)) for fn, idx in steps]
        flat = [i for _, idx in steps for i in idx]
        self.c_steps = ffi.new("tc_step[]", max(1, len(steps)))
        self.c_argidx = ffi.new("int32_t[]", flat or [0])
        first = 0
        for k, (fn, idx) in enumerate(steps):
            st = self.c_steps[k]
            st.fn, st.nargs, st.first = fn, len(idx), first
            first += len(idx)
        self.c_slots = ffi.new("tc_arg[]", max(1, self.nslots))
        self.c_dims = ffi.new("tc_intp[]", max(1, self.nslots) * 2 * MAX_NDIM)
        prog = self.c_prog = ffi.new("tc_program *")
        prog.nsteps, prog.nslots = len(steps), self.nslots
        prog.steps, prog.argidx, prog.slots, prog.dims = (self.c_steps, self.c_argidx,
                                                          self.c_slots, self.c_dims)
        self.c_failed = ffi.new("int32_t *")
        # ABI path: one tc_arg[] per step, filled from the slots before each call
        self._step_args = [ffi.new("tc_arg[]", max(1, len(idx))) for _, idx in steps]
        self._specs_py = list(specs)

    # -- binding -----------------------------------------------------------------
    def _bind_py(self, slot: int, arr: Any, spec: tuple[int, int, str, bool] | None) -> int:
        if not isinstance(arr, np.ndarray):
            return 5
        if not arr.dtype.isnative:  # e.g. big-endian data: kernels read native byte order only
            return 3
        if spec is not None:
            nd, itemsize, kind, writable = spec
            if nd >= 0 and arr.ndim != nd:
                return 1
            if arr.dtype.itemsize != itemsize or _KIND.get(arr.dtype.kind, "\0") != kind:
                return 3
            if writable and not arr.flags.writeable:
                return 4
        a = self.c_slots[slot]
        base = slot * 2 * MAX_NDIM
        self.c_dims[base:base + arr.ndim] = arr.shape
        self.c_dims[base + MAX_NDIM:base + MAX_NDIM + arr.ndim] = arr.strides
        a.data = self.ffi.cast("char *", arr.ctypes.data)
        a.shape = self.c_dims + base
        a.strides = self.c_dims + base + MAX_NDIM
        a.ndim = arr.ndim
        return 0

    def bind(self, slot: int, arr: np.ndarray) -> None:
        """Bind ``arr`` to a non-call slot for all later calls (kept alive here)."""
        if slot < self.n_bound or slot >= self.nslots:
            raise IndexError(f"slot {slot} is not a persistent slot")
        self._keep.append(arr)
        if self._bind_py(slot, arr, None):
            raise TypeError(f"slot {slot}: expected a numpy array, got {type(arr).__name__}")

    # -- calling -------------------------------------------------------------------
    def __call__(self, arrays: list[np.ndarray] | tuple[np.ndarray, ...]) -> None:
        """Run the program with ``arrays`` bound to slots ``0 .. n_bound-1``.

        Raises :class:`KernelError` (a ValueError) naming the operand on failure.
        """
        if len(arrays) != self.n_bound:
            raise TypeError(f"expected {self.n_bound} arrays, got {len(arrays)}")
        if self.ext is not None:
            err = self.ext.lib.tc_call(self.c_prog, id(arrays), self.n_bound, self.c_specs,
                                       self.c_failed)
            if err:
                self._raise(err, self.c_failed[0], arrays)
            return
        self._call_abi(arrays)

    def _call_abi(self, arrays: Sequence[np.ndarray]) -> None:
        for i, arr in enumerate(arrays):
            code = self._bind_py(i, arr, self._specs_py[i])
            if code:
                self._raise(code | (i << 8), -1, arrays)
        slots = self.c_slots
        for k, (fn, idx) in enumerate(self.steps_py):
            argv = self._step_args[k]
            for j, s in enumerate(idx):
                argv[j] = slots[s]
            err = fn(argv)
            if err:
                self._raise(err, k, arrays)

    def _raise(self, err: int, step: int, arrays: Sequence[Any]) -> None:
        code, operand = decode_error(err)
        what = ERROR_NAMES.get(code, f"error {code}")
        if step < 0:
            arr = arrays[operand] if operand < len(arrays) else None
            desc = (f"shape {arr.shape}, dtype {arr.dtype}" if isinstance(arr, np.ndarray)
                    else type(arr).__name__)
            nd, itemsize, kind, writable = self._specs_py[operand]
            raise KernelError(f"argument {operand}: {what} ({desc}; expected ndim {nd}, "
                              f"kind {kind!r}, itemsize {itemsize}"
                              f"{', writable' if writable else ''})",
                              code=code, step=step, operand=operand)
        idx = self.steps_py[step][1]
        shapes = [tuple(self.c_slots[s].shape[d] for d in range(self.c_slots[s].ndim))
                  for s in idx]
        raise KernelError(f"kernel step {step}: {what} at operand {operand} "
                          f"(operand shapes: {shapes})", code=code, step=step, operand=operand)
