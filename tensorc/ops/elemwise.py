"""``Elemwise`` (an op of the elementwise table applied with broadcasting) and
``DimShuffle`` (transpose / add / drop broadcastable dimensions, as a view).

>>> import tensorc.tensor as T
>>> x = T.fmatrix('x')
>>> y = x * 2.0
>>> y.dtype, y.broadcastable
('float32', (False, False))
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType
from tensorc.ops.elemwise_table import BY_NAME, Row
from tensorc.tensor.var import TensorConstant, TensorVariable, as_tensor_variable


@lru_cache(maxsize=4096)
@lru_cache(maxsize=4096)
def _probe_out_dtype(row: Row, dtypes: tuple[str, ...]) -> str:
    """The dtype numpy's implementation returns for inputs of ``dtypes`` (remembered: rows
    are table entries, compared by identity)."""
    args = [np.ones(1, dtype=d) for d in dtypes]
    with np.errstate(all="ignore"):
        out = row.numpy(*args)
    name = np.asarray(out).dtype.name
    return "float32" if name == "float16" else name


def widen_half(compute: str, out: str) -> str:
    """The dtype a body promoted to ``compute`` runs in when its output is ``out``.

    float16 has no C type and the elementwise table widens float16 results to
    float32, so float16 math runs in that wider float output dtype: computing in
    float16 and widening afterwards would overflow and round at float16 first.
    Every other pair (and a bool or float16 output) keeps ``compute``.

    >>> widen_half('float16', 'float32'), widen_half('float16', 'bool'), widen_half('int8', 'float32')
    ('float32', 'float16', 'int8')
    """
    if compute == "float16" and out in ("float32", "float64"):
        return out
    return compute


#: promotions of tensor dtypes only (no weak constants), by dtype names
_PROMOTED: dict[tuple[str, ...], str] = {}


def promote(inputs: Sequence[Any]) -> str:
    """numpy's promotion of tensor inputs, Python-scalar constants being weak."""
    if not any(isinstance(v, TensorConstant) and v.weak for v in inputs):
        key = tuple(v.type.dtype for v in inputs)
        name = _PROMOTED.get(key)
        if name is None:
            name = _PROMOTED[key] = _dtype_name(np.result_type(*[v.type.numpy_dtype for v in inputs]))
        return name
    parts = [v.data.item() if isinstance(v, TensorConstant) and v.weak else v.type.numpy_dtype
             for v in inputs]
    if all(not isinstance(p, np.dtype) for p in parts):  # only python scalars: default dtypes
        parts = [np.asarray(p).dtype for p in parts]
    try:
        return _dtype_name(np.result_type(*parts))
    except OverflowError:  # a weak int that does not fit: promote by value dtype
        return _dtype_name(np.result_type(*[np.asarray(p).dtype if not isinstance(p, np.dtype)
                                            else p for p in parts]))


_NAMES: dict[np.dtype, str] = {}


def _dtype_name(dt: np.dtype) -> str:
    """``dt.name`` (a Python-level property in numpy 2), remembered per dtype."""
    name = _NAMES.get(dt)
    if name is None:
        name = _NAMES[dt] = dt.name
    return name


class Elemwise(Op):
    """Apply one table ``row`` elementwise, with Theano's static broadcasting rules."""

    __props__ = ("row", "out_dtype")

    def __init__(self, row: Row | str, out_dtype: str | None = None) -> None:
        self.row = BY_NAME[row] if isinstance(row, str) else row
        self.out_dtype = out_dtype

    @property
    def name(self) -> str:
        return self.row.name

    def __str__(self) -> str:
        if self.out_dtype is not None:
            return f"Elemwise{{{self.row.name}{{{self.out_dtype}}}}}"
        return f"Elemwise{{{self.row.name}}}"

    # -- type inference -------------------------------------------------------------------
    def make_node(self, *inputs: Any) -> Apply:
        row = self.row
        if len(inputs) != row.nin:
            raise TypeError(f"{row.name} takes {row.nin} inputs, got {len(inputs)}")
        ins = [as_tensor_variable(x) for x in inputs]
        for k, v in enumerate(ins):
            if v.type._dt.kind not in row.kinds:
                raise TypeError(f"{row.name}: input {k} ({v}) has dtype {v.dtype}, which {row.name} "
                                f"does not accept (input dtypes: {', '.join(x.dtype for x in ins)})")
        compute = promote(ins[row.promote_from:])
        if self.out_dtype is not None:
            out_dtype = self.out_dtype
        else:
            probe = tuple(v.dtype for v in ins[:row.promote_from]) + (compute,) * (row.nin - row.promote_from)
            out_dtype = _probe_out_dtype(row, probe)
        # weak constants take the dtype the body really computes in (float16 math runs wider)
        compute = widen_half(compute, out_dtype)
        ins = [_settle_weak(v, compute) if k >= row.promote_from else v for k, v in enumerate(ins)]
        ndim = max(v.ndim for v in ins)
        ins = [v if v.ndim == ndim else v.dimshuffle(*(["x"] * (ndim - v.ndim) + list(range(v.ndim))))
               for v in ins]
        bcast = tuple(all(v.broadcastable[d] for v in ins) for d in range(ndim))
        return Apply(self, ins, [TensorVariable(TensorType(out_dtype, bcast))])

    def compute_dtype(self, node: Apply) -> str:
        """The dtype the scalar body computes in (inputs are converted to it).

        numpy's promotion of the inputs, except that integer inputs of a floating op
        compute in the output dtype and float16 computes in its wider float output
        (``widen_half``), so ``exp`` of a float16 ``40.0`` is ``2.35e17``, not ``inf``.
        """
        row = self.row
        compute = promote(node.inputs[row.promote_from:])
        out = node.outputs[0].dtype
        if self.out_dtype is None and np.dtype(out).kind in "fc" and np.dtype(compute).kind in "biu":
            if np.dtype(out).kind == "c" and "c" not in row.kinds:  # complex(re, im) computes in floats
                return {"complex64": "float32", "complex128": "float64"}[out]
            return out
        return widen_half(compute, out)

    # -- numpy implementation -------------------------------------------------------------
    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        check_broadcast(node, inputs)
        row = self.row
        dtypes = node.tag.get("_dtypes")  # (compute, output) dtypes, memoised per node
        if dtypes is None:
            dtypes = node.tag["_dtypes"] = (np.dtype(self.compute_dtype(node)),
                                            np.dtype(node.outputs[0].dtype))
        compute, out_dtype = dtypes
        args = list(inputs)
        for k in range(row.promote_from, len(args)):
            if args[k].dtype != compute:
                args[k] = args[k].astype(compute)
        out = row.numpy(*args)
        if type(out) is not np.ndarray or out.dtype != out_dtype:
            out = np.asarray(out).astype(out_dtype, copy=False)
        if any(out is a for a in inputs):
            out = out.copy()
        return [out]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        if self.row.grad is None:
            from tensorc.gradient.markers import grad_not_implemented
            return [grad_not_implemented(self, k, x) for k, x in enumerate(inputs)]
        return list(self.row.grad(list(inputs), outputs[0], output_grads[0]))

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        out = []
        for d in range(node.outputs[0].ndim):
            dims = [s[d] for v, s in zip(node.inputs, input_shapes) if not v.broadcastable[d]]
            out.append(dims[0] if dims else 1)
        return [tuple(out)]


def _settle_weak(v: Any, dtype: str) -> Any:
    """A weak (Python scalar) constant takes the op's compute dtype when it fits."""
    if not (isinstance(v, TensorConstant) and v.weak) or v.dtype == dtype:
        return v
    with np.errstate(all="ignore"):
        cast = v.data.astype(dtype)
    if np.dtype(dtype).kind not in "fc" and cast.item() != v.data.item():
        return v
    return TensorConstant(TensorType(dtype, v.broadcastable), cast, name=v.name, weak=True)


def check_broadcast(node: Apply, inputs: Sequence[np.ndarray]) -> None:
    """Raise ``ValueError`` naming the shapes when non-broadcastable dimensions differ."""
    first = inputs[0].shape
    if all(a.shape == first for a in inputs):
        return
    for d in range(node.outputs[0].ndim):
        sizes = {a.shape[d] for a, v in zip(inputs, node.inputs) if not v.broadcastable[d]}
        if len(sizes) > 1:
            shapes = ", ".join(str(a.shape) for a in inputs)
            patterns = ", ".join(str(v.broadcastable) for v in node.inputs)
            raise ValueError(f"{node.op}: input shapes {shapes} do not match in dimension {d} "
                             f"(static broadcast patterns {patterns}; a dimension broadcasts only "
                             f"when its type says so — see T.addbroadcast / patternbroadcast)")


class DimShuffle(Op):
    """Reorder dimensions, insert broadcastable ones (``'x'``), drop broadcastable ones.

    ``DimShuffle((False, True), (1, 'x', 0))`` maps a column to a 3-d tensor.
    """

    __props__ = ("input_broadcastable", "new_order")
    view_map = {0: [0]}

    def __init__(self, input_broadcastable: Sequence[bool], new_order: Sequence[Any]) -> None:
        self.input_broadcastable = tuple(bool(b) for b in input_broadcastable)
        nd = len(self.input_broadcastable)
        order = []
        for e in new_order:
            if e == "x":
                order.append("x")
            else:
                if not isinstance(e, (int, np.integer)) or not -nd <= e < nd:
                    raise ValueError(f"dimshuffle: {e!r} is not 'x' or a dimension of a {nd}-d input")
                order.append(int(e) % nd)
        kept = [e for e in order if e != "x"]
        if len(set(kept)) != len(kept):
            raise ValueError(f"dimshuffle: repeated dimension in {tuple(new_order)}")
        for d in range(nd):
            if d not in kept and not self.input_broadcastable[d]:
                raise ValueError(f"dimshuffle {tuple(new_order)}: cannot drop dimension {d}, which is "
                                 f"not broadcastable (input pattern {self.input_broadcastable})")
        self.new_order = tuple(order)
        self.drop = tuple(d for d in range(nd) if d not in kept)
        self.perm = tuple(kept)
        self.is_transpose_only = "x" not in order and not self.drop

    def __str__(self) -> str:
        return f"DimShuffle{{{','.join(map(str, self.new_order))}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if x.broadcastable != self.input_broadcastable:
            if len(x.broadcastable) != len(self.input_broadcastable) or any(
                    ib and not xb for ib, xb in zip(self.input_broadcastable, x.broadcastable)):
                raise TypeError(f"dimshuffle expected an input of pattern {self.input_broadcastable}, "
                                f"got {x.broadcastable}")
            return DimShuffle(x.broadcastable, self.new_order).make_node(x)
        bcast = tuple(True if e == "x" else x.broadcastable[e] for e in self.new_order)
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        res = x.transpose(self.perm + self.drop) if self.perm + self.drop != tuple(range(x.ndim)) else x
        shape = tuple(1 if e == "x" else x.shape[e] for e in self.new_order)
        return [res.reshape(shape)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        gz = as_tensor_variable(output_grads[0])
        x = inputs[0]
        # drop the 'x' dimensions, then put the kept ones back in input order, re-adding dropped ones
        kept_positions = [k for k, e in enumerate(self.new_order) if e != "x"]
        squeezed_axes = [k for k, e in enumerate(self.new_order) if e == "x"]
        if squeezed_axes and not all(gz.broadcastable[k] for k in squeezed_axes):
            import tensorc.tensor as T
            gz = T.sum(gz, axis=squeezed_axes, keepdims=True)
        order: list[Any] = []
        for d in range(x.ndim):
            order.append("x" if d in self.drop else kept_positions[self.perm.index(d)])
        gz_in = DimShuffle(gz.broadcastable, tuple(order))(gz)
        return [gz_in]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0])]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        s = input_shapes[0]
        return [tuple(1 if e == "x" else s[e] for e in self.new_order)]
