"""Shape and structure ops: ``Shape``, ``Shape_i``, ``MakeVector``, ``Reshape`` and the
Theano functions built on them (``shape``, ``reshape``, ``flatten``, ``transpose``,
``squeeze``, ``shape_padleft``/``shape_padright``/``shape_padaxis``).

>>> import numpy as np
>>> import tensorc, tensorc.tensor as T
>>> x = T.dmatrix('x')
>>> f = tensorc.function([x], [T.shape(x), T.reshape(x, (-1,)), T.flatten(x, 1)])
>>> [r.tolist() for r in f(np.ones((2, 3)))]
[[2, 3], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op, Variable
from tensorc.graph.type import TensorType
from tensorc.ops.elemwise import DimShuffle, promote
from tensorc.tensor.var import TensorConstant, TensorVariable, as_tensor_variable, constant


def normalize_axes(axis: Any, ndim: int, what: str = "axis") -> tuple[int, ...]:
    """Axes as sorted non-negative ints; ``None`` means all of them.

    >>> normalize_axes(-1, 3), normalize_axes(None, 2), normalize_axes((0, -1), 3)
    ((2,), (0, 1), (0, 2))
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, TensorConstant):
        axis = axis.data.tolist()
    if isinstance(axis, Variable):
        raise TypeError(f"{what} must be a constant int or tuple of ints, got the symbolic {axis}")
    if isinstance(axis, np.ndarray):
        axis = axis.tolist()
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    out = []
    for a in axes:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{what} must contain ints, got {a!r} of type {type(a).__name__}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{what} {int(a)} is out of range for a tensor with ndim={ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} {tuple(axes)} repeats an axis (ndim={ndim})")
    return tuple(sorted(out))


def _lscalar(name: str | None = None) -> TensorVariable:
    return TensorVariable(TensorType("int64", ()), name=name)


class Shape(Op):
    """The shape of a tensor as an int64 vector (Theano's ``Shape``)."""

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorVariable(TensorType("int64", (False,)))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(inputs[0].shape, dtype="int64")]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [(node.inputs[0].ndim,)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import disconnected_type
        return [disconnected_type()]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[False]]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        return [None]


class Shape_i(Op):  # noqa: N801 - Theano's name
    """The length of dimension ``i`` of a tensor, as an int64 scalar."""

    __props__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = int(i)

    def make_node(self, x: Any) -> Apply:
        x = as_tensor_variable(x)
        if not 0 <= self.i < x.ndim:
            raise ValueError(f"Shape_i: dimension {self.i} is out of range for {x} with ndim={x.ndim}")
        return Apply(self, [x], [_lscalar()])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(inputs[0].shape[self.i], dtype="int64")]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [()]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import disconnected_type
        return [disconnected_type()]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[False]]


def shape(x: Any) -> TensorVariable:
    """The symbolic shape of ``x`` (an int64 vector of length ``x.ndim``).

    >>> import tensorc.tensor as T
    >>> T.shape(T.matrix()).type
    TensorType(int64, vector)
    """
    return Shape()(as_tensor_variable(x))


def shape_i(x: Any, i: int) -> Any:
    """Length of dimension ``i`` of ``x`` (a constant 1 for broadcastable dims).

    >>> import tensorc.tensor as T
    >>> shape_i(T.row(), 0).data.item(), shape_i(T.row(), 1).type
    (1, TensorType(int64, scalar))
    """
    x = as_tensor_variable(x)
    if x.ndim and x.broadcastable[i]:
        return constant(1, dtype="int64")
    if isinstance(x, TensorConstant):
        return constant(x.data.shape[i], dtype="int64")
    return Shape_i(i % max(x.ndim, 1))(x)


class MakeVector(Op):
    """A vector made of scalars (Theano's ``MakeVector``), e.g. a shape ``(n, 3, -1)``."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str = "int64") -> None:
        self.dtype = dtype

    def make_node(self, *scalars: Any) -> Apply:
        ins = [as_tensor_variable(s) for s in scalars]
        for k, s in enumerate(ins):
            if s.ndim != 0:
                raise TypeError(f"MakeVector: element {k} ({s}) must be a scalar, got ndim={s.ndim}")
        ins = [s if s.dtype == self.dtype else _cast(s, self.dtype) for s in ins]
        bcast = (len(ins) == 1,)
        return Apply(self, ins, [TensorVariable(TensorType(self.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.array([np.asarray(v).item() for v in inputs], dtype=self.dtype)]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [(len(node.inputs),)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import grad_undefined
        gz = output_grads[0]
        if self.dtype.startswith(("float", "complex")):
            return [vector_elements(gz, len(inputs))[k] for k in range(len(inputs))]
        return [grad_undefined(self, k, x) for k, x in enumerate(inputs)]


def _cast(x: Any, dtype: str) -> Any:
    import tensorc.tensor as T
    return T.cast(x, dtype)


def make_vector(elements: Sequence[Any], dtype: str | None = None) -> TensorVariable:
    """A vector of the given scalars; ints and symbolic scalars may be mixed.

    >>> import tensorc.tensor as T
    >>> make_vector([2, T.lscalar('n')]).type
    TensorType(int64, vector)
    """
    ins = [as_tensor_variable(e) for e in elements]
    if dtype is None:
        dtype = promote(ins) if ins else "int64"
    return MakeVector(dtype)(*ins)


def get_vector_length(v: Any) -> int:
    """The static length of a symbolic vector, or ``ValueError`` when it is unknown.

    >>> import tensorc.tensor as T
    >>> T.get_vector_length(T.shape(T.tensor3()))
    3
    """
    v = as_tensor_variable(v)
    if v.ndim != 1:
        raise ValueError(f"expected a vector, got {v} with ndim={v.ndim}")
    if v.broadcastable[0]:
        return 1
    if isinstance(v, TensorConstant):
        return len(v.data)
    if v.owner is not None and isinstance(v.owner.op, Shape):
        return v.owner.inputs[0].ndim
    if v.owner is not None and isinstance(v.owner.op, MakeVector):
        return len(v.owner.inputs)
    if v.owner is not None and type(v.owner.op).__name__ in ("Elemwise", "Rebroadcast") \
            and len(v.owner.inputs) == 1:
        return get_vector_length(v.owner.inputs[0])
    raise ValueError(f"the length of the symbolic vector {v} is not known statically; "
                     f"pass a tuple or a constant")


def vector_elements(v: Any, n: int | None = None) -> list[Any]:
    """The elements of a vector of static length as scalars (no indexing op when avoidable)."""
    v = as_tensor_variable(v)
    n = get_vector_length(v) if n is None else n
    if isinstance(v, TensorConstant):
        return [constant(e, dtype=v.dtype) for e in v.data.tolist()]
    if v.owner is not None and isinstance(v.owner.op, Shape):
        return [shape_i(v.owner.inputs[0], k) for k in range(n)]
    if v.owner is not None and isinstance(v.owner.op, MakeVector):
        return list(v.owner.inputs)
    import tensorc.tensor as T
    return [T.subtensor.getitem(v, k) for k in range(n)]


def as_shape_vector(shape_: Any, what: str = "shape") -> TensorVariable:
    """A shape given as int, tuple/list of ints and scalars, or vector -> int64 vector."""
    if isinstance(shape_, (int, np.integer)) and not isinstance(shape_, bool):
        shape_ = (shape_,)
    if isinstance(shape_, (list, tuple)):
        elems = [as_tensor_variable(e) for e in shape_]
        for k, e in enumerate(elems):
            if e.ndim != 0 or e.dtype[:3] not in ("int", "uin"):
                raise TypeError(f"{what}: element {k} ({e}) must be an integer scalar, "
                                f"got dtype {e.dtype} and ndim {e.ndim}")
        if all(isinstance(e, TensorConstant) for e in elems):
            return constant(np.array([e.data.item() for e in elems], dtype="int64"))
        return MakeVector("int64")(*elems)
    v = as_tensor_variable(shape_)
    if v.ndim == 0:
        v = MakeVector("int64")(v)
    if v.ndim != 1 or v.dtype[:3] not in ("int", "uin"):
        raise TypeError(f"{what} must be an integer vector, got {v} of dtype {v.dtype}, ndim {v.ndim}")
    return v if v.dtype == "int64" else _cast(v, "int64")


def static_dims(v: TensorVariable) -> list[int | None]:
    """The values of a shape vector that are known at graph-build time (None elsewhere)."""
    if isinstance(v, TensorConstant):
        return [int(e) for e in v.data.tolist()]
    if v.owner is not None and isinstance(v.owner.op, MakeVector):
        out: list[int | None] = []
        for e in v.owner.inputs:
            out.append(int(e.data.item()) if isinstance(e, TensorConstant) else None)
        return out
    if v.owner is not None and isinstance(v.owner.op, Shape):
        x = v.owner.inputs[0]
        return [1 if b else None for b in x.broadcastable]
    return [None] * get_vector_length(v)


class Reshape(Op):
    """Reshape ``x`` to the int64 vector ``shape`` (one entry may be -1); ``ndim`` is static."""

    __props__ = ("ndim",)

    def __init__(self, ndim: int) -> None:
        self.ndim = int(ndim)

    def make_node(self, x: Any, shp: Any) -> Apply:
        x = as_tensor_variable(x)
        shp = as_shape_vector(shp)
        try:
            known = static_dims(shp)
        except ValueError:
            known = [None] * self.ndim
        if len(known) != self.ndim:
            raise ValueError(f"reshape: shape {shp} has {len(known)} entries but ndim={self.ndim}")
        bad = [d for d in known if d is not None and d < -1]
        if bad or known.count(-1) > 1:
            raise ValueError(f"reshape: invalid target shape {known} (only one -1 is allowed, "
                             f"no other negative sizes)")
        bcast = tuple(d == 1 for d in known)
        return Apply(self, [x, shp], [TensorVariable(TensorType(x.dtype, bcast))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, shp = inputs
        target = tuple(int(s) for s in shp)
        if len(target) != self.ndim:
            raise ValueError(f"reshape: shape vector {target} has length {len(target)}, "
                             f"expected ndim={self.ndim}")
        try:
            out = x.reshape(target)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} "
                             f"(size {x.size}) into shape {target}") from None
        for d, b in enumerate(node.outputs[0].broadcastable):
            if b and out.shape[d] != 1:
                raise ValueError(f"reshape: dimension {d} is broadcastable but has length "
                                 f"{out.shape[d]} (shape {out.shape})")
        return [out]

    view_map = {0: [0]}

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        import tensorc.tensor as T
        x_shape = input_shapes[0]
        shp = node.inputs[1]
        elems = vector_elements(shp, self.ndim)
        known = static_dims(shp) if _static_ok(shp) else [None] * self.ndim
        if all(k is not None and k >= 0 for k in known):
            return [tuple(elems)]
        total = _prod(x_shape)
        rest = _prod(elems)  # contains the -1: minus the product of the others
        out = []
        for k, e in enumerate(elems):
            if known[k] is not None and known[k] >= 0:
                out.append(e)
            elif known[k] == -1:
                out.append(T.int_div(total, -rest))
            else:
                out.append(T.switch(T.eq(e, -1), T.int_div(total, -rest), e))
        return [tuple(out)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import disconnected_type
        x = inputs[0]
        return [reshape(output_grads[0], shape(x), ndim=x.ndim), disconnected_type()]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True], [False]]

    def R_op(self, inputs: Sequence[Any], eval_points: Sequence[Any]) -> list:
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], inputs[1])]


def _static_ok(shp: Any) -> bool:
    try:
        static_dims(shp)
        return True
    except ValueError:
        return False


def _prod(elems: Sequence[Any]) -> Any:
    out: Any = constant(1, dtype="int64")
    for e in elems:
        out = out * e
    return out


def reshape(x: Any, newshape: Any, ndim: int | None = None, name: str | None = None) -> Any:
    """``x`` with a new shape: a tuple mixing ints and symbolic scalars, or an int vector.

    One entry may be -1 (inferred).  ``ndim`` is required only when ``newshape`` is a
    symbolic vector whose length is not known statically.

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> reshape(x, (2, -1)).eval({x: np.arange(6.0)}).shape
    (2, 3)
    """
    x = as_tensor_variable(x)
    shp = as_shape_vector(newshape, "reshape: newshape")
    if ndim is None:
        try:
            ndim = get_vector_length(shp)
        except ValueError:
            raise ValueError(f"reshape: the length of the new shape {shp} is not known "
                             f"statically; pass ndim=") from None
    out = Reshape(ndim)(x, shp)
    if name is not None:
        out.name = name
    return out


def flatten(x: Any, ndim: int = 1, outdim: int | None = None) -> Any:
    """Keep the first ``ndim - 1`` dimensions of ``x`` and collapse the rest into one.

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.tensor3('x')
    >>> flatten(x, 2).eval({x: np.zeros((2, 3, 4), dtype=x.dtype)}).shape
    (2, 12)
    """
    x = as_tensor_variable(x)
    ndim = outdim if outdim is not None else ndim
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(f"flatten: ndim={ndim} must be between 1 and x.ndim={x.ndim}")
    dims = [shape_i(x, k) for k in range(ndim - 1)] + [constant(-1, dtype="int64")]
    out = Reshape(ndim)(x, as_shape_vector(dims))
    bcast = x.broadcastable[:ndim - 1] + (all(x.broadcastable[ndim - 1:]),)
    if out.broadcastable != bcast:
        from tensorc.ops.rebroadcast import patternbroadcast
        out = patternbroadcast(out, bcast)
    return out


def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the dimensions of ``x`` (reverse them by default), as a ``DimShuffle``.

    >>> import tensorc.tensor as T
    >>> transpose(T.tensor3(), (1, 2, 0)).owner.op.new_order
    (1, 2, 0)
    """
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(range(x.ndim - 1, -1, -1))
    axes = tuple(axes)
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)) or len(axes) != x.ndim:
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} "
                         f"dimensions of {x}")
    return DimShuffle(x.broadcastable, axes)(x)


def squeeze(x: Any, axis: Any = None) -> Any:
    """Drop the broadcastable dimensions of ``x`` (those of ``axis`` only, when given).

    >>> import tensorc.tensor as T
    >>> squeeze(T.tensor(broadcastable=(True, False, True))).broadcastable
    (False,)
    """
    x = as_tensor_variable(x)
    if axis is None:
        drop = tuple(k for k, b in enumerate(x.broadcastable) if b)
    else:
        drop = normalize_axes(axis, x.ndim, "squeeze: axis")
        for a in drop:
            if not x.broadcastable[a]:
                from tensorc.ops.rebroadcast import addbroadcast
                x = addbroadcast(x, a)
    return DimShuffle(x.broadcastable, [k for k in range(x.ndim) if k not in drop])(x)


def shape_padaxis(x: Any, axis: int) -> Any:
    """Insert a broadcastable dimension at ``axis`` (negative counts from the end)."""
    x = as_tensor_variable(x)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"shape_padaxis: axis {axis} is out of range for ndim={x.ndim}")
    axis = axis % (x.ndim + 1)
    order: list[Any] = list(range(x.ndim))
    order.insert(axis, "x")
    return DimShuffle(x.broadcastable, order)(x)


def shape_padleft(x: Any, n_ones: int = 1) -> Any:
    """``x`` with ``n_ones`` broadcastable dimensions added on the left."""
    x = as_tensor_variable(x)
    return DimShuffle(x.broadcastable, ["x"] * n_ones + list(range(x.ndim)))(x)


def shape_padright(x: Any, n_ones: int = 1) -> Any:
    """``x`` with ``n_ones`` broadcastable dimensions added on the right."""
    x = as_tensor_variable(x)
    return DimShuffle(x.broadcastable, list(range(x.ndim)) + ["x"] * n_ones)(x)
