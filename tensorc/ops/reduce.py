"""Reductions: one ``Reduce`` op (sum, prod, max, min, all, any over static axes),
``Argmax`` (argmax/argmin), and ``mean``/``var``/``std`` built from them as graphs.

Dtype rules (Theano's): ``sum``/``prod`` of bool and int8..int32 give int64, of
uint8..uint32 uint64; floats keep their dtype but accumulate wider (float32 in
float64); ``mean`` of integers is float64; ``max``/``min`` keep the input dtype;
``all``/``any`` give bool.

>>> import numpy as np
>>> import tensorc, tensorc.tensor as T
>>> x = T.imatrix('x')
>>> s = T.sum(x, axis=0)
>>> s.dtype, T.sum(x, axis=-1, keepdims=True).broadcastable
('int64', (False, True))
>>> tensorc.function([x], s)(np.array([[1, 2], [3, 4]], dtype='int32')).tolist()
[4, 6]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType, as_dtype_name, upcast
from tensorc.ops.elemwise import DimShuffle
from tensorc.ops.shape import normalize_axes, shape_i
from tensorc.tensor.var import TensorVariable, as_tensor_variable, constant

#: scalar reduction name -> (numpy reduction, Theano name)
_NUMPY = {"add": np.sum, "mul": np.prod, "maximum": np.max, "minimum": np.min,
          "and": np.all, "or": np.any}

_SMALL_INT_OUT = {"bool": "int64", "int8": "int64", "int16": "int64", "int32": "int64",
                  "uint8": "uint64", "uint16": "uint64", "uint32": "uint64"}
_ACC_WIDER = {**_SMALL_INT_OUT, "float16": "float32", "float32": "float64",
              "complex64": "complex128"}


class Reduce(Op):
    """Reduce ``axis`` (sorted tuple) of the input with ``scalar_op`` (``add``, ``mul``,
    ``maximum``, ``minimum``, ``and``, ``or``), accumulating in ``acc_dtype`` and returning
    ``dtype``.  The reduced dimensions are dropped (``keepdims`` is a DimShuffle after).
    """

    __props__ = ("scalar_op", "axis", "dtype", "acc_dtype")

    def __init__(self, scalar_op: str, axis: tuple[int, ...], dtype: str, acc_dtype: str) -> None:
        if scalar_op not in _NUMPY:
            raise ValueError(f"Reduce: unknown scalar_op {scalar_op!r}; known: {', '.join(_NUMPY)}")
        self.scalar_op = scalar_op
        self.axis = tuple(axis)
        self.dtype = dtype
        self.acc_dtype = acc_dtype

    def __str__(self) -> str:
        names = {"add": "Sum", "mul": "Prod", "maximum": "Max", "minimum": "Min",
                 "and": "All", "or": "Any"}
        return f"{names[self.scalar_op]}{{axis={list(self.axis)}, {self.dtype}}}"

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if self.axis and self.axis[-1] >= x.ndim:
            raise ValueError(f"{self}: axis {self.axis[-1]} is out of range for {x} with ndim={x.ndim}")
        bcast = tuple(b for k, b in enumerate(x.broadcastable) if k not in self.axis)
        return Apply(self, [x], [TensorVariable(TensorType(self.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        if self.scalar_op in ("maximum", "minimum") and any_empty(x.shape, self.axis):
            raise ValueError(f"{self}: cannot reduce the empty axis of an input of shape {x.shape} "
                             f"(max/min of an empty array has no identity)")
        fn = _NUMPY[self.scalar_op]
        if self.scalar_op in ("add", "mul"):
            out = fn(x, axis=self.axis, dtype=self.acc_dtype)
        else:
            out = fn(x, axis=self.axis)
        out = np.asarray(out)
        if out.dtype.name != self.dtype:
            out = out.astype(self.dtype)
        elif out is x or np.shares_memory(out, x):
            out = out.copy()
        return [out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(s for k, s in enumerate(input_shapes[0]) if k not in self.axis)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.config import config
        x, out, gz = inputs[0], outputs[0], output_grads[0]
        if self.scalar_op in ("and", "or") or out.dtype[:1] in ("b", "i", "u") \
                or x.dtype[:1] in ("b", "i", "u"):
            return [T.zeros_like(x, dtype=config.floatX)]
        gz_b = _expand(gz, x.ndim, self.axis)
        if self.scalar_op == "add":
            gx = T.fill(x, gz_b)
        elif self.scalar_op in ("maximum", "minimum"):
            gx = T.eq(x, _expand(out, x.ndim, self.axis)) * gz_b
        else:
            gx = _prod_grad(x, out, gz_b, self.axis)
        return [T.cast(gx, x.dtype)]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if eval_points[0] is None:
            return [None]
        if self.scalar_op != "add":
            raise NotImplementedError(f"{self} has no R_op")
        return [self(eval_points[0])]


def _expand(v: Any, ndim: int, axes: tuple[int, ...]) -> Any:
    """Re-insert the reduced ``axes`` of ``v`` as broadcastable dimensions."""
    order: list[Any] = []
    k = 0
    for d in range(ndim):
        if d in axes:
            order.append("x")
        else:
            order.append(k)
            k += 1
    return DimShuffle(v.broadcastable, order)(v)


def _prod_grad(x: Any, out: Any, gz_b: Any, axes: tuple[int, ...]) -> Any:
    """Theano's product gradient, exact when the reduced slice holds zeros.

    No zero: ``prod / x``.  Exactly one zero: the product of the other entries at the
    zero, 0 elsewhere.  Two or more zeros: 0 everywhere.
    """
    import tensorc.tensor as T
    is_zero = T.eq(x, 0)
    n_zeros = _expand(Reduce("add", axes, "int64", "int64")(is_zero), x.ndim, axes)
    safe_x = T.switch(is_zero, constant(1, dtype=x.dtype), x)
    prod_nz = _expand(Reduce("mul", axes, x.dtype, _acc_default(x.dtype))(safe_x), x.ndim, axes)
    no_zero = T.eq(n_zeros, 0) * (prod_nz / safe_x)
    one_zero = T.and_(T.eq(n_zeros, 1), is_zero) * prod_nz
    return gz_b * (no_zero + one_zero)


def _out_default(dtype: str) -> str:
    return _SMALL_INT_OUT.get(dtype, dtype)


def _acc_default(dtype: str) -> str:
    return _ACC_WIDER.get(dtype, dtype)


def _keep(out: Any, ndim: int, axes: tuple[int, ...], keepdims: bool) -> Any:
    return _expand(out, ndim, axes) if keepdims else out


def _sum_like(op: str, x: Any, axis: Any, dtype: Any, keepdims: bool, acc_dtype: Any,
              name: str) -> Any:
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, f"{name}: axis")
    idt = x.dtype
    out_dt = _out_default(idt) if dtype is None else as_dtype_name(dtype)
    if acc_dtype is None:
        acc = _acc_default(upcast(idt, out_dt) if dtype is not None else idt)
    else:
        acc = as_dtype_name(acc_dtype)
        if upcast(idt, acc) != acc:
            raise TypeError(f"{name}: acc_dtype={acc} would lose precision for an input of "
                            f"dtype {idt}; use acc_dtype={upcast(idt, acc)} or cast the input")
    return _keep(Reduce(op, axes, out_dt, acc)(x), x.ndim, axes, keepdims)


def sum(input: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,  # noqa: A001
        acc_dtype: Any = None) -> Any:
    """Sum over ``axis`` (None: all; int, negative or tuple).

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.fmatrix('x')
    >>> s = sum(x, axis=(0, 1), keepdims=True)
    >>> s.dtype, s.broadcastable, s.owner.inputs[0].owner.op.acc_dtype
    ('float32', (True, True), 'float64')
    """
    return _sum_like("add", input, axis, dtype, keepdims, acc_dtype, "sum")


def prod(input: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         acc_dtype: Any = None, no_zeros_in_input: bool = False) -> Any:
    """Product over ``axis``; the gradient handles zeros exactly (Theano's rule).

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> float(prod(x).eval({x: np.array([2.0, 3.0])}))
    6.0
    """
    return _sum_like("mul", input, axis, dtype, keepdims, acc_dtype, "prod")


def _minmax(op: str, x: Any, axis: Any, keepdims: bool, name: str) -> Any:
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, f"{name}: axis")
    return _keep(Reduce(op, axes, x.dtype, x.dtype)(x), x.ndim, axes, keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Maximum over ``axis``; its gradient goes to every entry equal to the maximum.

    >>> import tensorc.tensor as T
    >>> max(T.imatrix(), axis=1).type
    TensorType(int32, vector)
    """
    return _minmax("maximum", x, axis, keepdims, "max")


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Minimum over ``axis`` (see ``max``)."""
    return _minmax("minimum", x, axis, keepdims, "min")


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """True where every reduced entry is nonzero (bool result)."""
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, "all: axis")
    return _keep(Reduce("and", axes, "bool", "bool")(x), x.ndim, axes, keepdims)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """True where some reduced entry is nonzero (bool result)."""
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, "any: axis")
    return _keep(Reduce("or", axes, "bool", "bool")(x), x.ndim, axes, keepdims)


class Argmax(Op):
    """Index (int64) of the maximum (``kind='max'``) or minimum over ``axis``; several
    axes are flattened together (C order), as Theano's ``MaxAndArgmax`` does."""

    __props__ = ("axis", "kind")

    def __init__(self, axis: tuple[int, ...], kind: str = "max") -> None:
        self.axis = tuple(axis)
        self.kind = kind

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        bcast = tuple(b for k, b in enumerate(x.broadcastable) if k not in self.axis)
        return Apply(self, [x], [TensorVariable(TensorType("int64", bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        if any_empty(x.shape, self.axis):
            raise ValueError(f"arg{self.kind}: cannot reduce an empty axis of an input of shape {x.shape}")
        keep = [d for d in range(x.ndim) if d not in self.axis]
        moved = np.transpose(x, keep + list(self.axis))
        flat = moved.reshape(moved.shape[:len(keep)] + (int(np.prod(moved.shape[len(keep):])),))
        fn = np.argmax if self.kind == "max" else np.argmin
        return [np.asarray(fn(flat, axis=-1), dtype="int64")]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [tuple(s for k, s in enumerate(input_shapes[0]) if k not in self.axis)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        import tensorc.tensor as T
        from tensorc.config import config
        x = inputs[0]
        return [T.zeros_like(x, dtype=x.dtype if x.dtype[:1] in "fc" else config.floatX)]


def any_empty(shape: tuple, axes: tuple[int, ...]) -> bool:
    """True when one of ``axes`` of ``shape`` has length 0."""
    return bool([a for a in axes if shape[a] == 0])


def _arg(kind: str, x: Any, axis: Any, keepdims: bool) -> Any:
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, f"arg{kind}: axis")
    return _keep(Argmax(axes, kind)(x), x.ndim, axes, keepdims)


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Index of the maximum; ``axis=None`` indexes the flattened tensor.

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dmatrix('x')
    >>> argmax(x).eval({x: np.array([[1.0, 5.0], [7.0, 2.0]])}).item()
    2
    """
    return _arg("max", x, axis, keepdims)


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Index of the minimum (see ``argmax``)."""
    return _arg("min", x, axis, keepdims)


def max_and_argmax(a: Any, axis: Any = None, keepdims: bool = False) -> list[Any]:
    """``[max(a, axis), argmax(a, axis)]`` (Theano's ``max_and_argmax``)."""
    return [max(a, axis, keepdims), argmax(a, axis, keepdims)]


def _count(x: Any, axes: tuple[int, ...], dtype: str) -> Any:
    import tensorc.tensor as T
    n: Any = None
    for a in axes:
        s = T.cast(shape_i(x, a), dtype)
        n = s if n is None else n * s
    return n if n is not None else constant(1, dtype=dtype)


def mean(input: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         acc_dtype: Any = None) -> Any:
    """Mean over ``axis``; integer inputs give float64, float32 stays float32.

    A float32 (or float16) mean without ``dtype``/``acc_dtype`` divides the float64
    sum and rounds once, to float32 (complex64 likewise through complex128): rounding
    the sum to float32 first and dividing in float32 could be 1 ulp off.

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.imatrix('x')
    >>> m = mean(x, axis=0)
    >>> m.dtype, m.eval({x: np.array([[1, 2], [2, 4]], dtype='int32')}).tolist()
    ('float64', [1.5, 3.0])
    >>> f = T.fvector('f')
    >>> float(mean(f).eval({f: np.array([16778188, 2, 9], dtype='float32')}))  # not ...33.5
    5592733.0
    """
    import tensorc.tensor as T
    x = as_tensor_variable(input)
    axes = normalize_axes(axis, x.ndim, "mean: axis")
    sum_dtype = dtype if dtype is not None else ("float32" if x.dtype == "float16" else None)
    narrow = None  # the mean's dtype when the division runs in its wider accumulator
    if dtype is None and acc_dtype is None and _out_default(sum_dtype or x.dtype) in _MEAN_WIDE:
        narrow = _out_default(sum_dtype or x.dtype)
        sum_dtype = _MEAN_WIDE[narrow]
    s = sum(x, axes, dtype=sum_dtype, keepdims=keepdims, acc_dtype=acc_dtype)
    count_dtype = s.dtype if s.dtype in ("float16", "float32", "complex64") else "float64"
    out = T.true_div(s, _count(x, axes, count_dtype))
    if narrow is not None:
        out = T.cast(out, narrow)
    if dtype is not None and out.dtype != as_dtype_name(dtype):
        out = T.cast(out, dtype)
    return out


#: A mean of these dtypes divides in the wider accumulator dtype, then rounds once.
_MEAN_WIDE = {"float32": "float64", "complex64": "complex128"}


def var(input: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False,
        corrected: bool = False) -> Any:
    """Variance over ``axis`` with ``ddof`` (delta degrees of freedom); ``corrected``
    subtracts the two-pass rounding-error estimate (Theano 1.0's ``var``).

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> float(var(x, ddof=1).eval({x: np.array([1.0, 2.0, 3.0, 4.0])}))
    1.6666666666666667
    """
    import tensorc.tensor as T
    if isinstance(ddof, bool):
        raise ValueError("var: ddof must be an int; keepdims is the fourth argument "
                         "(input, axis=None, ddof=0, keepdims=False, corrected=False)")
    x = as_tensor_variable(input)
    axes = normalize_axes(axis, x.ndim, "var: axis")
    centered = x - mean(x, axes, keepdims=True)
    if ddof == 0:
        v = mean(T.sqr(centered), axes, keepdims=keepdims)
    else:
        v = T.true_div(sum(T.sqr(centered), axes, keepdims=keepdims),
                       _count(x, axes, _float_of(centered.dtype)) - ddof)
    if corrected:
        err = sum(centered, axes, keepdims=keepdims)
        n = _count(x, axes, _float_of(centered.dtype))
        v = v - T.sqr(err) / (n * (n - ddof))
    return v


def _float_of(dtype: str) -> str:
    return dtype if dtype in ("float16", "float32", "complex64") else "float64"


def std(input: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False,
        corrected: bool = False) -> Any:
    """Standard deviation: ``sqrt(var(...))``."""
    import tensorc.tensor as T
    return T.sqrt(var(input, axis, ddof, keepdims, corrected))
