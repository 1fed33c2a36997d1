"""Advanced indexing ops: ``AdvancedSubtensor`` (``x[ivec]``, ``p[T.arange(n), y]``,
``x[mask]``; always a copy) and ``AdvancedIncSubtensor`` (accumulating increments like
``numpy.add.at``; set: the last write wins).

The ``idx_list`` has the entries of ``tensorc.ops.subtensor`` plus ``"t"``: an index
tensor (integer array, integer scalar or boolean mask) taken from the next input.
Integer scalars in an advanced index are advanced indices (0-d arrays), as in numpy,
so ``x[0, :, ivec]`` puts the index dimensions first.

>>> import tensorc.tensor as T
>>> x = T.dtensor3('x')
>>> x[T.lvector(), :, T.lvector()].broadcastable
(False, False)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType
from tensorc.ops.subtensor import (IncSubtensorBase, _grad_dtype, _show_entry, index_error,
                                   is_slice_entry, slice_length)
from tensorc.tensor.var import TensorVariable, as_tensor_variable


def _T() -> Any:
    import tensorc.tensor as T
    return T


def _entries(idx_list: Sequence[Any], inputs: Sequence[Any]) -> list[tuple[str, Any]]:
    """Pair each entry with its kind: ('adv', var|int) or ('slice', parts)."""
    it = iter(inputs)
    out: list[tuple[str, Any]] = []
    for e in idx_list:
        if is_slice_entry(e):
            out.append(("slice", tuple(next(it) if isinstance(p, str) else p for p in e[1:])))
        elif isinstance(e, str):
            out.append(("adv", next(it)))
        else:
            out.append(("adv", e))
    return out


def _adv_layout(x: Any, entries: list[tuple[str, Any]]) -> tuple[list[bool], list[bool], bool]:
    """(broadcast pattern of the index dims, patterns of the slice dims, adv dims first?)."""
    arrays: list[tuple[bool, ...]] = []
    slice_bcast: list[bool] = []
    positions: list[int] = []
    dim = 0
    for k, (kind, v) in enumerate(entries):
        if kind == "slice":
            full = v == (None, None, None)
            slice_bcast.append(x.broadcastable[dim] and full)
            dim += 1
            continue
        positions.append(k)
        if isinstance(v, int):
            arrays.append(())
            dim += 1
        elif v.dtype == "bool":
            arrays.append((False,))
            dim += max(v.ndim, 1)
        else:
            arrays.append(v.broadcastable)
            dim += 1
    slice_bcast.extend(x.broadcastable[dim:])
    nd = max(len(a) for a in arrays)
    padded = [(True,) * (nd - len(a)) + tuple(a) for a in arrays]
    adv_bcast = [all(p[d] for p in padded) for d in range(nd)]
    first = positions != list(range(positions[0], positions[-1] + 1))
    return adv_bcast, slice_bcast, first


def _consumed(entries: list[tuple[str, Any]]) -> int:
    return sum(max(v.ndim, 1) if kind == "adv" and not isinstance(v, int) and v.dtype == "bool" else 1
               for kind, v in entries)


def _numpy_index(entries_idx: Sequence[Any], values: Sequence[Any]) -> tuple:
    it = iter(values)
    out: list[Any] = []
    for e in entries_idx:
        if is_slice_entry(e):
            out.append(slice(*[int(next(it)) if isinstance(p, str) else p for p in e[1:]]))
        elif isinstance(e, str):
            v = np.asarray(next(it))
            out.append(int(v) if v.ndim == 0 and v.dtype.kind != "b" else v)
        else:
            out.append(e)
    return tuple(out)


def _bool_to_int(index: tuple) -> tuple:
    """Replace boolean masks by their nonzero() coordinates (for ``np.add.at``)."""
    out: list[Any] = []
    for i in index:
        if isinstance(i, np.ndarray) and i.dtype == bool:
            out.extend(np.nonzero(i))
        else:
            out.append(i)
    return tuple(out)


class AdvancedSubtensor(Op):
    """``x[idx]`` where ``idx`` holds index arrays or boolean masks (numpy's advanced indexing)."""

    __props__ = ("idx_list",)

    def __init__(self, idx_list: Sequence[Any]) -> None:
        self.idx_list = tuple(idx_list)

    def __str__(self) -> str:
        return f"AdvancedSubtensor{{{', '.join(_show_entry(e) for e in self.idx_list)}}}"

    def make_node(self, x: Any, *index: Any) -> Apply:
        x = as_tensor_variable(x)
        index = tuple(as_tensor_variable(v) for v in index)
        for v in index:
            if v.type.numpy_dtype.kind not in "biu":
                raise TypeError(f"{self}: index {v} must have an integer or boolean dtype, got {v.dtype}")
        entries = _entries(self.idx_list, index)
        if _consumed(entries) > x.ndim:
            raise IndexError(f"too many indices for {x} ({x.type}): the index uses "
                             f"{_consumed(entries)} dimensions")
        adv, sl, first = _adv_layout(x, entries)
        if first:
            bcast = adv + sl
        else:
            k = next(i for i, (kind, _) in enumerate(entries) if kind == "adv")
            bcast = sl[:k] + adv + sl[k:]
        return Apply(self, [x, *index], [TensorVariable(TensorType(x.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        index = _numpy_index(self.idx_list, inputs[1:])
        try:
            out = x[index]
        except IndexError as exc:
            raise index_error(exc, x, index) from None
        if np.shares_memory(out, x):
            out = out.copy()
        return [np.asarray(out)]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True]] + [[False]] * (len(node.inputs) - 1)

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import disconnected_type
        x, rest = inputs[0], inputs[1:]
        zeros = _T().zeros_like(x, dtype=_grad_dtype(x))
        gx = AdvancedIncSubtensor(self.idx_list)(zeros, output_grads[0], *rest)
        return [gx] + [disconnected_type() for _ in rest]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        return [None if eval_points[0] is None else self(eval_points[0], *inputs[1:])]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        T = _T()
        x = node.inputs[0]
        entries = _entries(self.idx_list, node.inputs[1:])
        shapes = iter(input_shapes[1:])
        adv_shapes: list[tuple] = []
        slices: list[Any] = []
        dim = 0
        for kind, v in entries:
            if kind == "slice":
                for p in v:
                    if not isinstance(p, (int, type(None))):
                        next(shapes)  # a symbolic slice bound: a scalar
                slices.append(slice_length(input_shapes[0][dim], *v))
                dim += 1
            elif isinstance(v, int):
                adv_shapes.append(())
                dim += 1
            elif v.dtype == "bool":
                next(shapes)
                adv_shapes.append((T.sum(T.neq(v, 0), dtype="int64"),))
                dim += max(v.ndim, 1)
            else:
                adv_shapes.append(tuple(next(shapes)))
                dim += 1
        slices.extend(input_shapes[0][dim:])
        adv = _broadcast_shapes(adv_shapes)
        _, _, first = _adv_layout(x, entries)
        if first:
            return [tuple(adv) + tuple(slices)]
        k = next(i for i, (kind, _) in enumerate(entries) if kind == "adv")
        return [tuple(slices[:k]) + tuple(adv) + tuple(slices[k:])]


def _broadcast_shapes(shapes: list[tuple]) -> list[Any]:
    T = _T()
    nd = max(len(s) for s in shapes)
    out: list[Any] = []
    for d in range(nd):
        dims = [s[d - (nd - len(s))] for s in shapes if d - (nd - len(s)) >= 0]
        size = dims[0]
        for other in dims[1:]:
            size = T.maximum(size, other)
        out.append(size)
    return out


class AdvancedIncSubtensor(IncSubtensorBase):
    """``x`` with ``x[idx] += y`` (repeated indices accumulate) or ``x[idx] = y``."""

    getter = AdvancedSubtensor
    name_prefix = "Advanced"

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, y = inputs[0], inputs[1]
        out = x if self.inplace else x.copy()
        index = _numpy_index(self.idx_list, inputs[2:])
        try:
            if self.set_instead_of_inc:
                out[index] = y
            else:
                np.add.at(out, _bool_to_int(index), y)
        except IndexError as exc:
            raise index_error(exc, x, index) from None
        except ValueError as exc:
            raise ValueError(f"{self}: value of shape {y.shape} does not broadcast to the indexed "
                             f"region of x (shape {x.shape}): {exc}") from None
        return [out]

