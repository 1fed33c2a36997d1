"""Small structural ops from Theano's ``tensor.basic``/``extra_ops`` that numpy computes
directly: ``Nonzero``, ``Choose``, ``SearchsortedOp``, ``Unique`` and ``SpecifyShape``.

The functions built from existing ops (``roll``, ``mgrid``, ``isclose``, ``tril`` ...)
live in ``tensorc.ops.misc_compose``.

>>> import numpy as np
>>> import tensorc, tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> rows, cols = nonzero(x)
>>> f = tensorc.function([x], [rows, cols, nonzero_values(x)])
>>> [r.tolist() for r in f(np.array([[0.0, 2.0], [3.0, 0.0]]))]
[[0, 1], [1, 0], [2.0, 3.0]]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType, upcast
from tensorc.gradient.markers import disconnected_type, grad_not_implemented, grad_undefined
from tensorc.ops.shape import shape_i
from tensorc.tensor.var import TensorVariable, as_tensor_variable, constant


def _T() -> Any:
    import tensorc.tensor as T
    return T


def _is_int(v: Any) -> bool:
    return v.dtype.startswith(("int", "uint")) or v.dtype == "bool"


def _merge_bcast(*patterns: Sequence[bool]) -> tuple[bool, ...]:
    """numpy broadcasting of static patterns (right-aligned; True only if all are True)."""
    nd = max((len(p) for p in patterns), default=0)
    padded = [(True,) * (nd - len(p)) + tuple(p) for p in patterns]
    return tuple(all(p[d] for p in padded) for d in range(nd))


# --------------------------------------------------------------------------------------
# nonzero
# --------------------------------------------------------------------------------------

class Nonzero(Op):
    """The indices of the non-zero entries of ``a`` as an int64 matrix ``(a.ndim, nnz)``."""

    def make_node(self, a: Any) -> Apply:
        a = as_tensor_variable(a)
        if a.ndim == 0:
            raise ValueError("nonzero: a must have at least one dimension, got a 0-d tensor")
        return Apply(self, [a], [TensorVariable(TensorType("int64", (a.ndim == 1, False)))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a = inputs[0]
        return [np.array(np.nonzero(a), dtype="int64").reshape(a.ndim, -1)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        T = _T()
        a = node.inputs[0]
        return [(constant(a.ndim, dtype="int64"), T.cast(T.sum(T.neq(a, 0)), "int64"))]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[False]]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [disconnected_type()]


def nonzero(a: Any, return_matrix: bool = False) -> Any:
    """Indices of the non-zero elements of ``a``: a tuple of int64 vectors, one per
    dimension (``numpy.nonzero``), or with ``return_matrix`` one ``(ndim, nnz)`` matrix.

    >>> import numpy as np, tensorc.tensor as T
    >>> v = T.ivector('v')
    >>> nonzero(v)[0].eval({v: np.array([0, 5, 0, 7], dtype='int32')}).tolist()
    [1, 3]
    """
    m = Nonzero()(a)
    if return_matrix:
        return m
    return tuple(m[i] for i in range(m.owner.inputs[0].ndim))


def flatnonzero(a: Any) -> Any:
    """Indices of the non-zero elements of the flattened ``a`` (``numpy.flatnonzero``)."""
    a = as_tensor_variable(a)
    if a.ndim == 0:
        raise ValueError("flatnonzero: a must have at least one dimension, got a 0-d tensor")
    return Nonzero()(a.flatten())[0]


def nonzero_values(a: Any) -> Any:
    """The non-zero elements of ``a``, in flattened (C) order, as a vector."""
    a = as_tensor_variable(a)
    return a.flatten()[flatnonzero(a)]


# --------------------------------------------------------------------------------------
# choose
# --------------------------------------------------------------------------------------

class Choose(Op):
    """``numpy.choose(a, choices, mode=mode)``.  Inputs are ``a`` then either one tensor
    whose first axis enumerates the choices (``stacked``) or one tensor per choice."""

    __props__ = ("mode", "stacked")

    def __init__(self, mode: str = "raise", stacked: bool = True) -> None:
        if mode not in ("raise", "wrap", "clip"):
            raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
        self.mode, self.stacked = mode, bool(stacked)

    def make_node(self, a: Any, *choices: Any) -> Apply:
        a = as_tensor_variable(a)
        if not _is_int(a):
            raise TypeError(f"choose: a must hold integer indices, got dtype {a.dtype}")
        cs = [as_tensor_variable(c) for c in choices]
        if not cs:
            raise ValueError("choose: choices is empty")
        if self.stacked:
            if len(cs) != 1 or cs[0].ndim == 0:
                raise TypeError("choose: stacked choices must be one tensor with at least one dimension")
            patterns = [a.broadcastable, cs[0].broadcastable[1:]]
        else:
            patterns = [a.broadcastable] + [c.broadcastable for c in cs]
        dtype = upcast(*[c.dtype for c in cs])
        return Apply(self, [a] + cs, [TensorVariable(TensorType(dtype, _merge_bcast(*patterns)))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        a, choices = inputs[0], (inputs[1] if self.stacked else list(inputs[1:]))
        try:
            out = np.choose(a, choices, mode=self.mode)
        except ValueError as exc:
            shapes = [c.shape for c in (choices if not self.stacked else [choices])]
            raise ValueError(f"choose: {exc} (a shape {a.shape}, choices shapes {shapes})") from None
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        T = _T()
        shapes = [input_shapes[0]] + ([input_shapes[1][1:]] if self.stacked else list(input_shapes[1:]))
        nd = node.outputs[0].ndim
        padded = [(constant(1, dtype="int64"),) * (nd - len(s)) + tuple(s) for s in shapes]
        return [tuple(_bmax([p[d] for p in padded], T) for d in range(nd))]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return ([grad_undefined(self, 0, inputs[0], "a holds integer indices")]
                + [grad_not_implemented(self, k, c) for k, c in enumerate(inputs[1:], 1)])


def _bmax(dims: list[Any], T: Any) -> Any:
    out = dims[0]
    for d in dims[1:]:
        out = T.maximum(out, d)
    return out


def choose(a: Any, choices: Any, out: Any = None, mode: str = "raise") -> Any:
    """Pick each element from one of ``choices`` according to the index array ``a``
    (``numpy.choose``).  ``choices`` is a tensor (its first axis enumerates the
    choices) or a list/tuple of tensors; ``mode`` is 'raise', 'wrap' or 'clip'.

    >>> import numpy as np, tensorc.tensor as T
    >>> a = T.ivector('a')
    >>> choose(a, [[1, 2, 3], [10, 20, 30]]).eval({a: np.array([1, 0, 1], 'int32')}).tolist()
    [10, 2, 30]
    """
    if out is not None:
        raise ValueError("choose: out= is not supported (symbolic results are never written in place)")
    if isinstance(choices, (list, tuple)):
        return Choose(mode, stacked=False)(a, *choices)
    return Choose(mode, stacked=True)(a, choices)


# --------------------------------------------------------------------------------------
# searchsorted
# --------------------------------------------------------------------------------------

class SearchsortedOp(Op):
    """``numpy.searchsorted(x, v, side, sorter)`` for a sorted vector ``x``."""

    __props__ = ("side",)

    def __init__(self, side: str = "left") -> None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        self.side = side

    def make_node(self, x: Any, v: Any, sorter: Any = None) -> Apply:
        x, v = as_tensor_variable(x), as_tensor_variable(v)
        if x.ndim != 1:
            raise TypeError(f"searchsorted: x must be a vector, got ndim={x.ndim}")
        ins = [x, v]
        if sorter is not None:
            s = as_tensor_variable(sorter)
            if s.ndim != 1 or not _is_int(s):
                raise TypeError(f"searchsorted: sorter must be an integer vector, got {s.dtype} ndim={s.ndim}")
            ins.append(s)
        return Apply(self, ins, [TensorVariable(TensorType("int64", v.broadcastable))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, v = inputs[0], inputs[1]
        sorter = inputs[2] if len(inputs) > 2 else None
        if sorter is not None and sorter.shape != x.shape:
            raise ValueError(f"searchsorted: sorter shape {sorter.shape} differs from x shape {x.shape}")
        return [np.asarray(np.searchsorted(x, v, side=self.side, sorter=sorter), dtype="int64")]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(input_shapes[1])]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[False] for _ in node.inputs]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [disconnected_type() for _ in inputs]


def searchsorted(x: Any, v: Any, side: str = "left", sorter: Any = None) -> Any:
    """Where ``v``'s elements would be inserted into the sorted vector ``x``.

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> searchsorted(x, [0.5, 2.0]).eval({x: np.array([0.0, 1.0, 2.0])}).tolist()
    [1, 2]
    """
    return SearchsortedOp(side)(x, v, sorter)


# --------------------------------------------------------------------------------------
# unique
# --------------------------------------------------------------------------------------

class Unique(Op):
    """``numpy.unique`` with optional index/inverse/count outputs (in that order)."""

    __props__ = ("return_index", "return_inverse", "return_counts", "axis")

    def __init__(self, return_index: bool = False, return_inverse: bool = False,
                 return_counts: bool = False, axis: int | None = None) -> None:
        self.return_index, self.return_inverse = bool(return_index), bool(return_inverse)
        self.return_counts, self.axis = bool(return_counts), axis

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if self.axis is not None and not 0 <= self.axis < x.ndim:
            raise ValueError(f"unique: axis {self.axis} is out of range for ndim={x.ndim}")
        bcast = (False,) if self.axis is None else tuple(
            False if d == self.axis else b for d, b in enumerate(x.broadcastable))
        outs = [TensorVariable(TensorType(x.dtype, bcast))]
        n_extra = self.return_index + self.return_inverse + self.return_counts
        outs += [TensorVariable(TensorType("int64", (False,))) for _ in range(n_extra)]
        return Apply(self, [x], outs)

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        res = np.unique(inputs[0], return_index=self.return_index, return_inverse=self.return_inverse,
                        return_counts=self.return_counts, axis=self.axis)
        res = res if isinstance(res, tuple) else (res,)
        return [np.asarray(r, dtype=o.dtype).reshape(-1) if o.ndim == 1 else np.asarray(r, dtype=o.dtype)
                for r, o in zip(res, node.outputs)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        if self.axis is not None:
            raise NotImplementedError("unique: the number of unique slices depends on the values")
        T = _T()
        flat = node.inputs[0].flatten()
        n_in = T.cast(T.prod(input_shapes[0]) if input_shapes[0] else constant(1, dtype="int64"), "int64")
        srt = T.sort(flat)
        n_unique = T.switch(T.eq(n_in, 0), 0, 1 + T.cast(T.sum(T.neq(srt[1:], srt[:-1])), "int64"))
        shapes = [(n_unique,)]
        if self.return_index:
            shapes.append((n_unique,))
        if self.return_inverse:
            shapes.append((n_in,))
        if self.return_counts:
            shapes.append((n_unique,))
        return shapes

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [grad_not_implemented(self, 0, inputs[0])]


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None) -> Any:
    """Sorted unique elements of ``ar`` (flattened unless ``axis``), plus the requested
    int64 index vectors, like ``numpy.unique``.

    >>> import numpy as np, tensorc.tensor as T
    >>> v = T.ivector('v')
    >>> u, c = unique(v, return_counts=True)
    >>> c.eval({v: np.array([3, 1, 3], dtype='int32')}).tolist()
    [1, 2]
    """
    return Unique(return_index, return_inverse, return_counts, axis)(ar)


# --------------------------------------------------------------------------------------
# specify_shape
# --------------------------------------------------------------------------------------

class SpecifyShape(Op):
    """Returns ``x`` unchanged after checking at run time that its shape is ``shape``."""

    view_map = {0: [0]}

    def make_node(self, x: Any, shape: Any) -> Apply:
        x = as_tensor_variable(x)
        from tensorc.ops.shape import as_shape_vector, get_vector_length
        shp = as_shape_vector(shape, "specify_shape: shape")
        if get_vector_length(shp) != x.ndim:
            raise ValueError(f"specify_shape: shape has {get_vector_length(shp)} entries, "
                             f"x has {x.ndim} dimensions")
        return Apply(self, [x, shp], [TensorVariable(x.type)])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, shp = inputs
        if x.shape != tuple(int(s) for s in shp):
            raise ValueError(f"specify_shape: x has shape {x.shape}, expected {tuple(shp.tolist())}")
        return [x]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        shp = node.inputs[1]
        return [tuple(shp[i] for i in range(node.inputs[0].ndim))]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True], [False]]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        return [output_grads[0], disconnected_type()]


def specify_shape(x: Any, shape: Any) -> Any:
    """``x`` with its shape asserted (checked when the function runs).

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> specify_shape(x, (2,)).eval({x: np.zeros(2)}).tolist()
    [0.0, 0.0]
    """
    return SpecifyShape()(x, shape)


__all__ = ["Nonzero", "nonzero", "flatnonzero", "nonzero_values", "Choose", "choose",
           "SearchsortedOp", "searchsorted", "Unique", "unique", "SpecifyShape", "specify_shape",
           "shape_i"]
