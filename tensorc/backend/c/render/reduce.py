"""C source of reductions: ``Reduce`` (sum/prod/max/min/all/any), ``Argmax`` and
``FusedReduce`` (an elementwise body feeding a reduction).

One kernel ``int name(const tc_arg *args)``: inputs (the body's), then the output.
The loop runs over the broadcast shape ``F`` of the inputs; the kept dimensions
index the output, the reduced ones are accumulated in the accumulation dtype.

A kernel specialises only what depends on its body, kind and dtypes (compile time:
gcc spent most of a kernel's time on its checks and loops over outputs, parts, blocks
and tiles, not on its SIMD loops), and hands a static description of itself to the
shared driver ``tc_red_run`` (``csrc/tensorc_reduce.c``, compiled once into the
extension: ``backend/c/reddriver.py``):

- ``name_blk`` (``render/reduce_block.py``) reduces one block of unit-stride operands.
  Float sums add ``BLOCK`` elements in ``LANES`` independent lanes (float32 values in
  float32 lanes flushed into float64), block sums are combined pairwise, as accurate
  as numpy's pairwise summation; ``name_find`` (arg*) finds an extremum in a block.
- ``name_col`` (``render/reduce_cols.py``) folds one row segment into a tile of
  outputs: the column path, chosen by the driver at run time from the strides
  (numpy's rule).  Kernels reducing the last dimension have it only for bodies
  without math functions (``COL_COST_MAX``): compile time, and a math body costs
  more than the copies of its strided runs.
- ``name_comb`` folds one result into another, ``name_cout`` writes outputs (at -O1).

The driver checks the shapes, runs full reductions over contiguous inputs as parts of
whole blocks on the pool (Fortran order too but for arg*), else the column path or one
output at a time (operands of another stride copied into a small buffer).  max/min/
argmax of an empty axis return an error (numpy raises too).

>>> import tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> src, ins, shape_fn, _ = render_reduce_node(T.sum(x, axis=1).owner, 'k0', 32768)
>>> shape_fn([(3, 4)])
[(3,)]
>>> src.count('omp simd') <= 3  # the block and the row functions
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.backend.c.render.common import C_DTYPES, body_cost, ctype
from tensorc.backend.c.render.elemwise import body_supported
from tensorc.backend.c.render.reduce_block import (block_functions, comb_function, extremum_start, identity,
                                                   is_pairwise)
from tensorc.backend.c.render.reduce_cols import col_function, out_function
from tensorc.graph.basic import Apply
from tensorc.ops.fused import Body

#: Body cost (``body_cost``) below which a kernel reducing its last dimension also gets
#: the column path for transposed operands (no math function in the body).
COL_COST_MAX = 8
#: ``tc_red_call`` flags (``csrc/tensorc_reduce.c``).
PAIRWISE, KEEPDIMS, ARG, NONEMPTY, FLAT = 1, 2, 4, 8, 16

_KIND = {"sum": "add", "prod": "mul", "max": "maximum", "min": "minimum", "all": "and", "any": "or"}

def reduce_helpers() -> str:
    """What every kernel library holds for its reduction kernels: the shared driver's
    part (``backend/c/reddriver.py``: the call's layout and the hook, or the whole
    driver without the extension)."""
    from tensorc.backend.c.reddriver import driver_source
    return driver_source()


def render_reduce_node(node: Apply, name: str, threshold: int) -> Any:
    """(source, kernel inputs, shape function, {}) for a reduction node, or None."""
    from tensorc.ops.fused import FusedReduce
    from tensorc.ops.reduce import Argmax, Reduce
    op = node.op
    x_out = node.outputs[0]
    if isinstance(op, Reduce):
        x = node.inputs[0]
        body = Body(1, (x.type.dtype,), (), (), (("in", 0),))
        spec = (op.scalar_op, tuple(op.axis), False, op.acc_dtype, op.dtype)
        inputs = [x]
    elif isinstance(op, Argmax):
        x = node.inputs[0]
        body = Body(1, (x.type.dtype,), (), (), (("in", 0),))
        spec = ("arg" + op.kind, tuple(op.axis), False, x.type.dtype, "int64")
        inputs = [x]
    elif isinstance(op, FusedReduce):
        body = op.body
        spec = (_KIND[op.kind], op.axis, op.keepdims, op.acc_dtype, op.out_dtype)
        inputs = list(node.inputs)
    else:
        return None
    kind, axis, keepdims, acc, out = spec
    elem = body.out_dtype(body.outputs[0])
    if not body_supported(body) or not {elem, acc, out} <= C_DTYPES or x_out.type.dtype != out:
        return None
    if np.dtype(elem).kind == "c" and kind not in ("add", "mul"):
        return None
    if not inputs:
        return None
    bc = [v.type.broadcastable for v in inputs]
    nd = len(bc[0])
    if len(set(axis)) != len(axis) or any(not 0 <= a < nd for a in axis):
        return None
    src = render_reduce(name, body, bc, kind, axis, keepdims, acc, out, threshold)
    return src, inputs, _shape_fn(bc, axis, keepdims), {}


def _shape_fn(bc: Sequence[Sequence[bool]], axis: Sequence[int], keepdims: bool) -> Any:
    nd = len(bc[0])
    src = [next((k for k, b in enumerate(bc) if not b[d]), -1) for d in range(nd)]
    red = set(axis)
    plan = tuple((d, src[d], d in red) for d in range(nd) if keepdims or d not in red)

    def shape_fn(shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(1 if r else (shapes[k][d] if k >= 0 else 1) for d, k, r in plan)]
    shape_fn.plan = [tuple((-1, -1) if r or k < 0 else (k, d) for d, k, r in plan)]  # type: ignore[attr-defined]
    return shape_fn


def render_reduce(name: str, body: Body, bc: Sequence[Sequence[bool]], kind: str,
                  axis: Sequence[int], keepdims: bool, acc: str, out: str, threshold: int) -> str:
    """C source of the reduction kernel ``name`` (see the module docstring)."""
    nin, nd = body.n_in, len(bc[0])
    red = [d for d in range(nd) if d in set(axis)]
    kept = [d for d in range(nd) if d not in set(axis)]
    t, arg = ctype(acc), kind.startswith("arg")
    ext = kind in ("maximum", "minimum", "argmax", "argmin")
    cost = body_cost([s.row for s in body.steps])
    inner = red[-1] if red else None
    scalar = [bool(bc[k][inner]) if inner is not None else True for k in range(nin)]
    hot = block_functions(name, body, kind, acc, scalar)
    # whole row segments along the last kept dimension, when the strides say so; kernels
    # reducing the last dimension get that second specialised loop only for bodies without
    # math (memory-bound: their strided runs' copies are the cost)
    col = bool(red and kept and (nd - 1 not in red or cost < COL_COST_MAX))
    if col:
        hot += col_function(name, body, kind, acc, [bool(bc[k][kept[-1]]) for k in range(nin)])
    flags = ((PAIRWISE if is_pairwise(kind, acc) else 0) | (KEEPDIMS if keepdims else 0)
             | (ARG if arg else 0) | (NONEMPTY if ext else 0)
             | (FLAT if not kept and not any(any(b) and not all(b) for b in bc) else 0))
    masks = ", ".join(f"{sum(1 << d for d in range(nd) if bc[k][d])}ULL" for k in range(nin))
    fns = [f"{name}_blk", f"{name}_find" if arg else "0", f"{name}_col" if col else "0",
           f"{name}_comb", f"{name}_cout"]
    kernel = [f"int {name}(const tc_arg *args) {{",
              f"    static const uint64_t bc_[{nin}] = {{{masks}}};",
              f"    static const signed char dims_[{max(nd, 1)}] = {{{', '.join(map(str, kept + red)) or '0'}}};",
              f"    static const tc_intp isz_[{nin}] = {{{', '.join(f'sizeof({ctype(d)})' for d in body.in_dtypes)}}};",
              f"    static const {t} start_ = {extremum_start(kind, acc) if ext else identity(kind, acc)};",
              f"    static const tc_red_call call_ = {{bc_, dims_, isz_, &start_, {', '.join(fns)}, {nin}, {nd}, "
              f"{len(kept)}, {len(red)}, sizeof({t}), {flags}, {cost}, {threshold}}};",
              "    return tc_red_run(&call_, args, tc_parallel_hook);", "}"]
    cold = comb_function(name, kind, acc) + out_function(name, kind, acc, out) + "\n".join(kernel) + "\n"
    return hot + _cold(cold)


def _cold(src: str) -> str:
    """``src`` compiled at -O1: the kernel's fold, output writer and call (they run once
    per block, tile or output; -O3 on them costs gcc time for nothing).

    >>> _cold("int k;").splitlines()[1]
    '#pragma GCC optimize("O1")'
    """
    return f'#pragma GCC push_options\n#pragma GCC optimize("O1")\n{src}#pragma GCC pop_options\n'
