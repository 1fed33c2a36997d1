"""C source of indexing kernels: gathers (``AdvancedSubtensor``), scatters
(``AdvancedIncSubtensor``, set and accumulate) and basic-slice updates (``IncSubtensor``).

Advanced forms with a kernel: ``x[i0, ..., ik-1]`` (optionally followed by full slices)
where the ``i`` are integer arrays indexing the *leading* ``k`` dimensions of ``x``
and broadcasting together as in numpy: ``x[ivec]``, ``x[iarray]``, ``p[arange(n), y]``.
Other patterns (masks, slices before an index array, integer constants) return None
and run as numpy steps.  Kernels are specialised on dtypes, ranks and the
inplace/set flags, never on sizes:

- a gather distributes index positions over the thread pool; each copies one row
  ``x[i, ...]`` (a flat copy when rows are contiguous, nested strided loops otherwise);
- a scatter validates every index first (so nothing is written on an error), copies
  ``x`` into the output unless inplace, then walks the index positions *in order* so
  repeated indices accumulate (``np.add.at``) or the last write wins (``x[i] = y``).
  Threads never split the positions: each owns either a block of columns of
  contiguous rows, or a range of destination rows (it scans every position and keeps
  those landing in its range), so each element sees its updates in numpy's order;
- an ``IncSubtensor`` computes each slice with CPython's rules, copies ``x`` and updates
  the region (distinct elements, so its outer dimension may run in parallel).

Negative indices wrap; an out-of-range index makes the kernel return an error, and
the driver then re-runs the op's numpy ``perform`` so the user sees numpy's IndexError.

This module picks the kernel for a node; the C is written by ``indexing_gather``
(``render_gather``), ``indexing_scatter`` (``render_scatter``, ``render_inc_subtensor``)
and their shared helpers in ``indexing_loops``.

>>> import tensorc.tensor as T
>>> x, iv = T.dmatrix('x'), T.lvector('iv')
>>> src, ins, shape_fn, inplace = render_indexing_node(x[iv].owner, 'k0', 32768)
>>> shape_fn([(5, 3), (7,)]), inplace
([(7, 3)], {})
>>> render_indexing_node(x[:, iv].owner, 'k0', 32768) is None
True
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from tensorc.backend.c.render.common import C_DTYPES
from tensorc.backend.c.render.indexing_gather import render_gather
from tensorc.backend.c.render.indexing_loops import HELPERS, index_shape, leading_index_count
from tensorc.backend.c.render.indexing_scatter import render_inc_subtensor, render_scatter
from tensorc.graph.basic import Apply

__all__ = ["HELPERS", "index_shape", "leading_index_count", "render_gather",
           "render_inc_subtensor", "render_indexing_node", "render_scatter"]

ShapeFn = Callable[[Sequence[tuple]], list[tuple]]


def render_indexing_node(node: Apply, name: str, threshold: int) -> Any:
    """(source, kernel inputs, shape function, inplace map) of an indexing node, or None."""
    from tensorc.ops.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
    from tensorc.ops.subtensor import IncSubtensor
    op = node.op
    if type(op) is AdvancedSubtensor:
        return _gather_node(node, name, threshold)
    if type(op) is AdvancedIncSubtensor:
        return _scatter_node(node, name, threshold)
    if type(op) is IncSubtensor:
        return _inc_basic_node(node, name, threshold)
    return None


def _gather_node(node: Apply, name: str, threshold: int) -> Any:
    x, index = node.inputs[0], node.inputs[1:]
    k = leading_index_count(node.op.idx_list, index)
    if k is None or x.type.dtype not in C_DTYPES or node.outputs[0].type.dtype != x.type.dtype:
        return None
    spec = [(v.type.dtype, v.ndim) for v in index]
    src = render_gather(name, x.type.dtype, x.ndim, spec, threshold)

    def shape_fn(shapes: Sequence[tuple]) -> list[tuple]:
        return [index_shape(shapes[1:]) + tuple(shapes[0][k:])]
    return src, list(node.inputs), shape_fn, {}


def _scatter_node(node: Apply, name: str, threshold: int) -> Any:
    op = node.op
    x, y, index = node.inputs[0], node.inputs[1], node.inputs[2:]
    k = leading_index_count(op.idx_list, index)
    if k is None or x.type.dtype not in C_DTYPES or y.type.dtype != x.type.dtype:
        return None
    spec = [(v.type.dtype, v.ndim) for v in index]
    src = render_scatter(name, x.type.dtype, x.ndim, spec, y.ndim, op.set_instead_of_inc,
                         op.inplace, threshold)
    return src, list(node.inputs), lambda shapes: [tuple(shapes[0])], ({0: 0} if op.inplace else {})


def _inc_basic_node(node: Apply, name: str, threshold: int) -> Any:
    op = node.op
    x, y, syms = node.inputs[0], node.inputs[1], node.inputs[2:]
    if x.type.dtype not in C_DTYPES or y.type.dtype != x.type.dtype:
        return None
    if any(v.type.dtype not in C_DTYPES for v in syms):
        return None
    consts = [p for e in op.idx_list for p in (e[1:] if isinstance(e, tuple) else (e,))
              if isinstance(p, int)]
    if any(not -2 ** 63 <= c < 2 ** 63 for c in consts):
        return None
    src = render_inc_subtensor(name, x.type.dtype, x.ndim, op.idx_list,
                               [v.type.dtype for v in syms], y.ndim, op.set_instead_of_inc,
                               op.inplace, threshold)
    return src, list(node.inputs), lambda shapes: [tuple(shapes[0])], ({0: 0} if op.inplace else {})
