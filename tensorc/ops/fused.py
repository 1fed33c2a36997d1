"""Fused elementwise ops made by the ``fuse`` rewrite: ``FusedElemwise`` and ``FusedReduce``.

The fused body
--------------
A ``Body`` is a small SSA program over one element position (a scalar body):

- ``n_in`` inputs of dtypes ``in_dtypes`` — the node's inputs, all of the same ndim;
- ``constants``: ``(dtype, value)`` pairs of inlined scalar constants;
- ``steps``: a list of ``Step(row, args, arg_dtypes, out_dtype, compute)``; step ``k``
  applies the elementwise-table row ``row`` (``tensorc.ops.elemwise_table.BY_NAME``)
  to ``args``;
- ``outputs``: the refs the node returns (several for multi-output fusion).

A *ref* names a value: ``('in', k)`` the k-th input, ``('const', k)`` the k-th
constant, ``('step', k)`` the result of step k (always an earlier step).

Dtypes are recorded per step so every stage computes exactly like the ``Elemwise``
node it replaces: each argument is converted to ``arg_dtypes[j]`` (for the rows'
promoted inputs that is the node's compute dtype, ``compute``; for the leading
un-promoted inputs of ``switch``/``second`` their own dtype), the row is applied,
and the result is converted to ``out_dtype``.

A C renderer walks ``steps`` in order, declares one C variable per step of type
``out_dtype``, converts each argument to ``arg_dtypes[j]`` and fills the row's
``c_template(kind)`` (``kind`` = ``np.dtype(compute).kind``; ``{t}`` = ``compute``;
``{f}`` = ``'f'`` when ``compute`` is float32).  The loop runs over the broadcast of
the inputs, whose static patterns were checked exactly as ``Elemwise`` does.

>>> import numpy as np, tensorc.tensor as T
>>> body = Body(2, ('float64', 'float64'), ((('float64'), 2.0),),
...             (Step('mul', (('in', 0), ('const', 0)), ('float64', 'float64'), 'float64', 'float64'),
...              Step('add', (('step', 0), ('in', 1)), ('float64', 'float64'), 'float64', 'float64')),
...             (('step', 1),))
>>> x, y = T.dvector('x'), T.dvector('y')
>>> out = FusedElemwise(body)(x, y)
>>> out.owner.op.perform(out.owner, [np.array([1., 2.]), np.array([10., 20.])])
[array([12., 24.])]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Op
from tensorc.graph.type import TensorType
from tensorc.ops.elemwise import check_broadcast
from tensorc.ops.elemwise_table import BY_NAME
from tensorc.tensor.var import TensorVariable, as_tensor_variable

Ref = tuple[str, int]


class _Record:
    """An immutable record with value equality, hashing, ``repr`` and pickling by fields:
    what ``@dataclass(frozen=True)`` gives, without generating code at import (about 1 ms
    per class, paid by every warm process that unpickles a fused graph)."""
    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __init__(self, *values: Any) -> None:
        if len(values) != len(self._fields):
            raise TypeError(f"{type(self).__name__} takes {len(self._fields)} fields "
                            f"{self._fields}, got {len(values)}")
        for name, v in zip(self._fields, values):
            object.__setattr__(self, name, v)

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._fields)})"

    def __reduce__(self) -> tuple:
        return type(self), self._values()


class Step(_Record):
    """One application of a table row inside a fused body (see the module docstring)."""
    __slots__ = _fields = ("row", "args", "arg_dtypes", "out_dtype", "compute")
    row: str
    args: tuple[Ref, ...]
    arg_dtypes: tuple[str, ...]
    out_dtype: str
    compute: str

    def __str__(self) -> str:
        return f"{self.row}({', '.join(f'{k[0]}{k[1]}' for k in self.args)}):{self.out_dtype}"


class Body(_Record):
    """A scalar SSA program: inputs, inlined constants, steps and output refs."""
    __slots__ = _fields = ("n_in", "in_dtypes", "constants", "steps", "outputs")
    n_in: int
    in_dtypes: tuple[str, ...]
    constants: tuple[tuple[str, Any], ...]
    steps: tuple[Step, ...]
    outputs: tuple[Ref, ...]

    def out_dtype(self, ref: Ref) -> str:
        """The dtype of the value ``ref`` names."""
        kind, k = ref
        if kind == "in":
            return self.in_dtypes[k]
        if kind == "const":
            return self.constants[k][0]
        return self.steps[k].out_dtype

    def __str__(self) -> str:
        return "; ".join(f"s{k}={s}" for k, s in enumerate(self.steps))


def evaluate_body(body: Body, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Interpret ``body`` on numpy arrays with the rows' numpy functions; one array per step."""
    consts = [np.asarray(v, dtype=d) for d, v in body.constants]
    results: list[np.ndarray] = []

    def get(ref: Ref) -> np.ndarray:
        kind, k = ref
        return inputs[k] if kind == "in" else consts[k] if kind == "const" else results[k]

    with np.errstate(all="ignore"):
        for step in body.steps:
            args = []
            for ref, dt in zip(step.args, step.arg_dtypes):
                a = get(ref)
                args.append(a if a.dtype.name == dt else a.astype(dt))
            r = BY_NAME[step.row].numpy(*args)
            if type(r) is not np.ndarray or r.dtype.name != step.out_dtype:
                r = np.asarray(r).astype(step.out_dtype, copy=False)
            results.append(r)
    return [get(ref) for ref in body.outputs]


def _check_inputs(body: Body, inputs: list[Any], who: str) -> None:
    if len(inputs) != body.n_in:
        raise TypeError(f"{who} takes {body.n_in} inputs, got {len(inputs)}")
    for k, (v, dt) in enumerate(zip(inputs, body.in_dtypes)):
        if v.dtype != dt:
            raise TypeError(f"{who}: input {k} ({v}) has dtype {v.dtype}, the body expects {dt}")
    ndims = {v.ndim for v in inputs}
    if len(ndims) > 1:
        raise TypeError(f"{who}: inputs have different numbers of dimensions "
                        f"{[v.ndim for v in inputs]}")


class FusedElemwise(Op):
    """Several elementwise ops evaluated as one node (one loop in C).

    ``inplace_pattern``: ``((output, input), ...)`` pairs; the output is written into
    that input's buffer (declared in ``destroy_map``).
    """

    __props__ = ("body", "inplace_pattern")

    def __init__(self, body: Body, inplace_pattern: Sequence[tuple[int, int]] = ()) -> None:
        self.body = body
        self.inplace_pattern = tuple((int(o), int(i)) for o, i in inplace_pattern)
        self.destroy_map = {o: [i] for o, i in self.inplace_pattern}

    def __str__(self) -> str:
        rows = "|".join(s.row for s in self.body.steps)
        inplace = f", inplace={dict(self.inplace_pattern)}" if self.inplace_pattern else ""
        return f"FusedElemwise{{{rows}{inplace}}}"

    def make_node(self, *inputs: Any) -> Apply:
        ins = [as_tensor_variable(v) for v in inputs]
        _check_inputs(self.body, ins, str(self))
        ndim = ins[0].ndim if ins else 0
        bcast = tuple(all(v.broadcastable[d] for v in ins) for d in range(ndim))
        for o, i in self.inplace_pattern:
            if ins[i].broadcastable != bcast or ins[i].dtype != self.body.out_dtype(self.body.outputs[o]):
                raise TypeError(f"{self}: output {o} cannot be written into input {i} ({ins[i].type})")
        outs = [TensorVariable(TensorType(self.body.out_dtype(r), bcast)) for r in self.body.outputs]
        return Apply(self, ins, outs)

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if inputs:
            check_broadcast(node, inputs)
        shape = np.broadcast_shapes(*[a.shape for a in inputs]) if inputs else ()
        values = evaluate_body(self.body, inputs)
        dest = dict(self.inplace_pattern)
        out: list[np.ndarray] = []
        for k, v in enumerate(values):
            if k in dest:
                buf = inputs[dest[k]]
                np.copyto(buf, v, casting="unsafe")
                out.append(buf)
                continue
            if v.shape != shape:
                v = np.broadcast_to(v, shape)
            if not v.flags.owndata or any(v is a for a in inputs) or any(v is p for p in out):
                v = np.array(v, copy=True)
            out.append(v)
        return out

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        raise NotImplementedError(f"{self} is made by the fusion rewrite, after gradients are taken; "
                                  f"take the gradient of the unfused expression instead")

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [loop_shape(node, input_shapes)] * len(node.outputs)


def loop_shape(node: Apply, input_shapes: Sequence[tuple]) -> tuple:
    """The shape the fused loop runs over: per dimension, a non-broadcastable input's length."""
    shape = []
    for d in range(node.inputs[0].ndim if node.inputs else 0):
        dims = [s[d] for v, s in zip(node.inputs, input_shapes) if not v.broadcastable[d]]
        shape.append(dims[0] if dims else 1)
    return tuple(shape)


#: The reductions a ``FusedReduce`` can end with, and their numpy functions.
REDUCERS = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "all": np.all, "any": np.any}


class FusedReduce(Op):
    """An elementwise ``body`` (one output) feeding a reduction over ``axis``.

    ``kind``: sum/prod/max/min/all/any; ``axis``: sorted tuple of reduced axes;
    ``acc_dtype``: accumulation dtype (sum/prod); ``out_dtype``: the result's dtype.
    """

    __props__ = ("body", "kind", "axis", "keepdims", "acc_dtype", "out_dtype")

    def __init__(self, body: Body, kind: str, axis: Sequence[int], keepdims: bool = False,
                 acc_dtype: str | None = None, out_dtype: str | None = None) -> None:
        if kind not in REDUCERS:
            raise ValueError(f"FusedReduce: kind must be one of {sorted(REDUCERS)}, got {kind!r}")
        if len(body.outputs) != 1:
            raise ValueError(f"FusedReduce: the body must have one output, got {len(body.outputs)}")
        self.body = body
        self.kind = kind
        self.axis = tuple(sorted(int(a) for a in axis))
        self.keepdims = bool(keepdims)
        elem = body.out_dtype(body.outputs[0])
        self.acc_dtype = acc_dtype or elem
        self.out_dtype = out_dtype or ("bool" if kind in ("all", "any") else elem)

    def __str__(self) -> str:
        rows = "|".join(s.row for s in self.body.steps)
        return f"FusedReduce{{{self.kind}{list(self.axis)}, {rows}}}"

    def make_node(self, *inputs: Any) -> Apply:
        ins = [as_tensor_variable(v) for v in inputs]
        _check_inputs(self.body, ins, str(self))
        ndim = ins[0].ndim if ins else 0
        if any(not 0 <= a < ndim for a in self.axis):
            raise ValueError(f"{self}: axis {self.axis} out of range for {ndim}-d inputs")
        bcast = [all(v.broadcastable[d] for v in ins) for d in range(ndim)]
        out_b = tuple(True if d in self.axis else b for d, b in enumerate(bcast)) if self.keepdims \
            else tuple(b for d, b in enumerate(bcast) if d not in self.axis)
        return Apply(self, ins, [TensorVariable(TensorType(self.out_dtype, out_b))])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if inputs:
            check_broadcast(node, inputs)
        shape = np.broadcast_shapes(*[a.shape for a in inputs]) if inputs else ()
        (elem,) = evaluate_body(self.body, inputs)
        if elem.shape != shape:
            elem = np.broadcast_to(elem, shape)
        fn = REDUCERS[self.kind]
        with np.errstate(all="ignore"):
            if self.kind in ("sum", "prod"):
                r = fn(elem, axis=self.axis, dtype=self.acc_dtype, keepdims=self.keepdims)
            else:
                r = fn(elem, axis=self.axis, keepdims=self.keepdims)
        return [np.asarray(r).astype(self.out_dtype, copy=False)]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        raise NotImplementedError(f"{self} is made by the fusion rewrite, after gradients are taken; "
                                  f"take the gradient of the unfused expression instead")

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        full = loop_shape(node, input_shapes)
        if self.keepdims:
            return [tuple(1 if d in self.axis else s for d, s in enumerate(full))]
        return [tuple(s for d, s in enumerate(full) if d not in self.axis)]
