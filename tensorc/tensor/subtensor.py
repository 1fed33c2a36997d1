"""Theano's ``theano.tensor.subtensor``: ``x[index]`` (what ``TensorVariable.__getitem__``
calls), ``set_subtensor``, ``inc_subtensor`` and ``take``.

Indices follow numpy: ints (negative too), slices with constant or symbolic bounds,
``None``/``numpy.newaxis``, ``...``, integer arrays (advanced indexing, numpy's rules
for where the broadcast index dimensions go) and boolean masks.

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> f = tensorc.function([x], [x[-1, ::2], x[x > 2]])
>>> [a.tolist() for a in f(np.arange(6.0).reshape(2, 3))]
[[3.0, 5.0], [3.0, 4.0, 5.0]]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tensorc.graph.basic import Variable
from tensorc.ops.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from tensorc.ops.subtensor import (SYM, IncSubtensor, Subtensor, check_index_scalar,  # noqa: F401
                                   slice_length)
from tensorc.tensor.var import TensorConstant, as_tensor_variable, constant

TENSOR = "t"  # marker of an index-array input in an advanced idx_list


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _as_index_array(v: Any) -> Any:
    """A tensor index (int or bool array) as a variable; Python lists become constants."""
    if isinstance(v, Variable):
        return as_tensor_variable(v)
    arr = np.asarray(v)
    if arr.dtype.kind not in "biu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise TypeError(f"index arrays must be integers or booleans, got {v!r} of dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        arr = arr.astype("int64")
    return constant(arr)


def _is_advanced(entry: Any) -> bool:
    if isinstance(entry, Variable):
        return entry.ndim > 0 or entry.dtype == "bool"
    return isinstance(entry, (list, np.ndarray)) or isinstance(entry, (bool, np.bool_))


def _expand(x: Any, index: tuple) -> tuple[Any, tuple]:
    """Expand ``...`` and apply ``None`` entries with a dimshuffle; returns (x', index')."""
    consumed = 0
    for e in index:
        if e is None or e is Ellipsis:
            continue
        if isinstance(e, Variable) and e.dtype == "bool":
            consumed += max(e.ndim, 1)
        elif isinstance(e, (list, np.ndarray)) and np.asarray(e).dtype == bool:
            consumed += max(np.asarray(e).ndim, 1)
        else:
            consumed += 1
    if sum(e is Ellipsis for e in index) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > x.ndim:
        raise IndexError(f"too many indices for {x} ({x.type}): the index uses {consumed} "
                         f"dimensions, the tensor has {x.ndim}")
    if Ellipsis in [e for e in index if not isinstance(e, (Variable, np.ndarray, list))]:
        k = next(k for k, e in enumerate(index) if e is Ellipsis)
        index = index[:k] + (slice(None),) * (x.ndim - consumed) + index[k + 1:]
    if any(e is None for e in index):
        pattern: list[Any] = []
        new_index: list[Any] = []
        dim = 0
        for e in index:
            if e is None:
                pattern.append("x")
                new_index.append(slice(None))
                continue
            width = max(e.ndim, 1) if isinstance(e, Variable) and e.dtype == "bool" else 1
            pattern.extend(range(dim, dim + width))
            new_index.append(e)
            dim += width
        pattern.extend(range(dim, x.ndim))
        x = x.dimshuffle(*pattern)
        index = tuple(new_index)
    return x, index


def _slice_part(p: Any, inputs: list) -> Any:
    if p is None:
        return None
    if _is_int(p):
        return int(p)
    v = check_index_scalar(p, "slice bound")
    if isinstance(v, TensorConstant):
        return int(v.data)
    inputs.append(v)
    return SYM


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with numpy semantics (basic, advanced and boolean indexing).

    >>> import tensorc.tensor as T
    >>> getitem(T.tensor3('x'), (0, None, slice(1, None))).broadcastable
    (True, False, False)
    """
    x = as_tensor_variable(x)
    if not isinstance(index, tuple):
        index = (index,)
    x, index = _expand(x, index)
    advanced = any(_is_advanced(e) for e in index)
    idx_list: list[Any] = []
    inputs: list[Any] = []
    for e in index:
        if isinstance(e, slice):
            idx_list.append(("slice",) + tuple(_slice_part(p, inputs) for p in (e.start, e.stop, e.step)))
        elif _is_int(e):
            idx_list.append(int(e))
        elif isinstance(e, Variable) and e.ndim == 0 and e.dtype != "bool":
            v = check_index_scalar(e, f"{x}[...]")
            if isinstance(v, TensorConstant):
                idx_list.append(int(v.data))
            else:
                idx_list.append(TENSOR if advanced else SYM)
                inputs.append(v)
        elif _is_advanced(e):
            if isinstance(e, (bool, np.bool_)):
                raise TypeError(f"indexing {x} with a boolean scalar is not supported")
            v = _as_index_array(e)
            if v.type.numpy_dtype.kind not in "biu":
                raise TypeError(f"index arrays must be integers or booleans, got {v} of dtype {v.dtype}")
            idx_list.append(TENSOR)
            inputs.append(v)
        else:
            raise TypeError(f"cannot index {x} with {e!r} ({type(e).__name__}): expected an int, "
                            f"a slice, None, ..., an integer/boolean array or tensor")
    if not idx_list:
        return x
    if advanced:
        return AdvancedSubtensor(idx_list)(x, *inputs)
    return Subtensor(idx_list)(x, *inputs)


def _inc_or_set(x: Any, y: Any, set_instead_of_inc: bool, inplace: bool) -> Any:
    sub = as_tensor_variable(x)
    node = sub.owner
    what = "set_subtensor" if set_instead_of_inc else "inc_subtensor"
    if node is None or not isinstance(node.op, (Subtensor, AdvancedSubtensor)):
        if node is not None and _is_dimshuffle_of_subtensor(sub):
            inner = node.inputs[0]
            y = as_tensor_variable(y)
            order = node.op.new_order
            back = [order.index(d) if d in order else "x" for d in range(inner.ndim)]
            if y.ndim < sub.ndim:
                y = y.dimshuffle(*(["x"] * (sub.ndim - y.ndim) + list(range(y.ndim))))
            y_in = y.dimshuffle(*[b for b in back])
            return _inc_or_set(inner, y_in, set_instead_of_inc, inplace)
        raise TypeError(f"{what}: x must be the result of indexing a tensor (x[...]), got {sub}")
    base, index = node.inputs[0], node.inputs[1:]
    if isinstance(node.op, Subtensor):
        return IncSubtensor(node.op.idx_list, inplace, set_instead_of_inc)(base, y, *index)
    return AdvancedIncSubtensor(node.op.idx_list, inplace, set_instead_of_inc)(base, y, *index)


def _is_dimshuffle_of_subtensor(v: Any) -> bool:
    from tensorc.ops.elemwise import DimShuffle
    node = v.owner
    return (isinstance(node.op, DimShuffle) and not node.op.drop
            and node.inputs[0].owner is not None
            and isinstance(node.inputs[0].owner.op, (Subtensor, AdvancedSubtensor)))


def set_subtensor(x: Any, y: Any, inplace: bool = False, tolerate_inplace_aliasing: bool = False) -> Any:
    """The whole tensor indexed by ``x`` (which must be ``t[idx]``) with ``t[idx] = y``.

    With repeated advanced indices the last write wins, as in numpy.

    >>> import numpy as np, tensorc.tensor as T
    >>> t = T.dvector('t')
    >>> set_subtensor(t[1:], 5.0).eval({t: np.zeros(3)}).tolist()
    [0.0, 5.0, 5.0]
    """
    return _inc_or_set(x, y, True, inplace)


def inc_subtensor(x: Any, y: Any, inplace: bool = False, set_instead_of_inc: bool = False,
                  tolerate_inplace_aliasing: bool = False) -> Any:
    """The whole tensor indexed by ``x`` (``t[idx]``) with ``t[idx] += y``.

    Repeated advanced indices accumulate (like ``numpy.add.at``).

    >>> import numpy as np, tensorc.tensor as T
    >>> t = T.dvector('t')
    >>> inc_subtensor(t[[0, 0, 2]], 1.0).eval({t: np.zeros(3)}).tolist()
    [2.0, 0.0, 1.0]
    """
    return _inc_or_set(x, y, set_instead_of_inc, inplace)


def take(a: Any, indices: Any, axis: int | None = None, mode: str = "raise") -> Any:
    """Elements of ``a`` at ``indices`` along ``axis`` (flattened ``a`` when axis is None).

    >>> import numpy as np, tensorc.tensor as T
    >>> m = T.dmatrix('m')
    >>> take(m, [2, 0], axis=1).eval({m: np.arange(6.0).reshape(2, 3)}).tolist()
    [[2.0, 0.0], [5.0, 3.0]]
    """
    if mode != "raise":
        raise ValueError(f"take: only mode='raise' is supported, got mode={mode!r}")
    a = as_tensor_variable(a)
    if axis is None:
        import tensorc.tensor as T
        return getitem(T.flatten(a), _take_index(indices))
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"take: axis {axis} is out of range for {a} with {a.ndim} dimensions")
    axis %= a.ndim
    return getitem(a, (slice(None),) * axis + (_take_index(indices),))


def _take_index(indices: Any) -> Any:
    if isinstance(indices, Variable) or _is_int(indices):
        return indices
    return _as_index_array(indices)
