"""Other derivative products: ``Lop`` (vector-Jacobian), ``Rop`` (Jacobian-vector),
``jacobian`` and ``hessian``.

``Rop`` is built from reverse mode with the "double L-op" identity: with ``u`` a
dummy of ``f``'s type, ``Lop(f, x, u)`` is linear in ``u``, and its gradient wrt
``u`` dotted with ``v`` is ``J v``.  It therefore works for every op that has an
``L_op``.  ``jacobian`` loops over the rows of the expression with a small op
(``RowLoop``) that evaluates the gradient of one element per iteration.

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x, v = T.dvector('x'), T.dvector('v')
>>> jv = Rop(x ** 2, x, v)                     # J = diag(2x)
>>> tensorc.function([x, v], jv)([1.0, 2.0], [1.0, 1.0])
array([2., 4.])
"""
from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

from tensorc.graph.basic import Apply, Constant, Op, Variable, clone_replace, graph_inputs
from tensorc.gradient.core import DisconnectedInputError, float_zeros_like, grad

_loop_ids = itertools.count()


def _T() -> Any:
    import tensorc.tensor as T
    return T


def _listify(x: Any) -> tuple[list, bool]:
    if isinstance(x, (list, tuple)):
        return list(x), False
    return [x], True


def Lop(f: Any, wrt: Any, eval_points: Any, consider_constant: Any = None,
        disconnected_inputs: str = "raise") -> Any:
    """``eval_points`` times the Jacobian of ``f`` wrt ``wrt`` (reverse mode).

    ``f`` and ``eval_points`` are a variable or matching lists; the result matches ``wrt``.

    >>> import tensorc, tensorc.tensor as T
    >>> x, v = T.dvector('x'), T.dvector('v')
    >>> tensorc.function([x, v], Lop(x ** 2, x, v))([1.0, 2.0], [1.0, -1.0])
    array([ 2., -4.])
    """
    fs, _ = _listify(f)
    vs, _ = _listify(eval_points)
    if len(fs) != len(vs):
        raise ValueError(f"Lop: {len(fs)} expressions but {len(vs)} eval_points")
    T = _T()
    known = {}
    for k, (fi, vi) in enumerate(zip(fs, vs)):
        vi = T.as_tensor_variable(vi)
        if vi.ndim != fi.ndim:
            raise ValueError(f"Lop: eval_points[{k}] has {vi.ndim} dimensions, f[{k}] ({fi}) has {fi.ndim}")
        known[fi] = vi
    return grad(None, wrt, known_grads=known, consider_constant=consider_constant,
                disconnected_inputs=disconnected_inputs)


def Rop(f: Any, wrt: Any, eval_points: Any, disconnected_outputs: str = "raise",
        return_disconnected: str = "zero") -> Any:
    """The Jacobian of ``f`` wrt ``wrt`` times ``eval_points`` (one per ``wrt``).

    Returns one result per expression of ``f`` (a single one if ``f`` is a variable).
    An ``f`` that does not depend on any ``wrt`` raises ``DisconnectedInputError``
    unless ``disconnected_outputs`` is 'ignore' or 'warn' (then zeros).

    >>> import tensorc, tensorc.tensor as T
    >>> W, x, v = T.dmatrix('W'), T.dvector('x'), T.dvector('v')
    >>> y = T.tanh(W * x).sum(axis=1)
    >>> f = tensorc.function([W, x, v], Rop(y, x, v), on_unused_input='ignore')
    >>> f([[0.0, 0.0]], [1.0, 2.0], [1.0, 1.0])
    array([0.])
    """
    T = _T()
    fs, single_f = _listify(f)
    xs, _ = _listify(wrt)
    vs, _ = _listify(eval_points)
    if len(xs) != len(vs):
        raise ValueError(f"Rop: {len(xs)} wrt variables but {len(vs)} eval_points")
    vs = [T.as_tensor_variable(v) for v in vs]
    for k, (x, v) in enumerate(zip(xs, vs)):
        if v.ndim != x.ndim:
            raise ValueError(f"Rop: eval_points[{k}] has {v.ndim} dimensions, wrt[{k}] ({x}) has {x.ndim}")
    dummies = [fi.type() for fi in fs]
    lops = grad(None, xs, known_grads=dict(zip(fs, dummies)), disconnected_inputs="ignore",
                return_disconnected="None")
    inner = None
    for lx, v in zip(lops, vs):
        if lx is None:
            continue
        term = T.sum(lx * v)
        inner = term if inner is None else inner + term
    results = []
    for fi, u in zip(fs, dummies):
        r = None
        if inner is not None:
            r = grad(inner, u, disconnected_inputs="ignore", return_disconnected="None")
        if r is None:
            if disconnected_outputs == "raise":
                raise DisconnectedInputError(f"Rop: {fi} does not depend on any of {xs}; pass "
                                             f"disconnected_outputs='ignore' to get zeros")
            r = float_zeros_like(fi) if return_disconnected == "zero" else None
        else:  # linear in u: only u's shape matters, which is f's
            r = clone_replace([r], {u: T.zeros_like(fi)})[0]
        results.append(r)
    return results[0] if single_f else results


class RowLoop(Op):
    """``out[i] = body(i, *free)`` for ``i in range(n)``, stacked on a new first axis.

    ``body`` is a graph of the owner-less ``index`` (an int64 scalar) and of the
    ``free`` variables; the node's inputs are ``n``, ``like`` (the output of one
    iteration has ``like``'s shape) and the free variables.  The body is compiled
    once per op, the first time the node runs.
    """

    __props__ = ("uid",)

    def __init__(self, index: Variable, free: Sequence[Variable], body: Variable, mode: Any = None) -> None:
        self.uid = next(_loop_ids)
        dummies = [v.type() for v in free]
        self.index = index
        self.inner_inputs = [index] + dummies
        self.body = clone_replace([body], dict(zip(free, dummies)))[0]
        self.mode = mode
        self._fn: Any = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fn": None}

    def make_node(self, n: Any, like: Any, *free: Any) -> Apply:
        T = _T()
        out = T.TensorType(self.body.dtype, (False,) + tuple(self.body.broadcastable))()
        return Apply(self, [T.as_tensor_variable(n), like, *free], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self._fn is None:
            import tensorc
            self._fn = tensorc.function(self.inner_inputs, self.body, mode=self.mode,
                                        on_unused_input="ignore")
        n, like, free = int(inputs[0]), inputs[1], inputs[2:]
        out = np.empty((n,) + like.shape, dtype=node.outputs[0].dtype)
        for i in range(n):
            out[i] = self._fn(np.asarray(i, dtype=self.index.dtype), *free)
        return [out]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list[tuple]:
        return [(node.inputs[0],) + tuple(input_shapes[1])]

    def L_op(self, inputs: Sequence[Any], outputs: Sequence[Any], output_grads: Sequence[Any]) -> list:
        from tensorc.gradient.markers import grad_not_implemented
        return [grad_not_implemented(self, k, x, "(derivatives of a jacobian: third order)")
                for k, x in enumerate(inputs)]


def _free_variables(expr: Variable, exclude: Variable) -> list[Variable]:
    return [v for v in graph_inputs([expr]) if v is not exclude and not isinstance(v, Constant)]


def jacobian(expression: Any, wrt: Any, consider_constant: Any = None,
             disconnected_inputs: str = "raise") -> Any:
    """The Jacobian of a vector (or scalar) ``expression`` wrt each ``wrt``.

    For a vector of length n and ``x`` of shape s the result has shape (n,) + s;
    a scalar expression gives ``grad``.

    >>> import tensorc, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> tensorc.function([x], jacobian(x ** 2, x))([1.0, 3.0])
    array([[2., 0.],
           [0., 6.]])
    """
    T = _T()
    expression = T.as_tensor_variable(expression)
    xs, single = _listify(wrt)
    if expression.ndim == 0:
        gs = grad(expression, xs, consider_constant=consider_constant,
                  disconnected_inputs=disconnected_inputs)
        return gs[0] if single else gs
    if expression.ndim != 1:
        raise TypeError(f"jacobian: expression must be a vector (or a scalar), got {expression} "
                        f"with {expression.ndim} dimensions; flatten it first")
    index = T.lscalar("jacobian_row")
    rows = grad(expression[index], xs, consider_constant=consider_constant,
                disconnected_inputs=disconnected_inputs)
    n = expression.shape[0]
    results = []
    for x, g in zip(xs, rows):
        free = _free_variables(g, index)
        results.append(RowLoop(index, free, g)(n, x, *free))
    return results[0] if single else results


def hessian(cost: Any, wrt: Any, consider_constant: Any = None,
            disconnected_inputs: str = "raise") -> Any:
    """The Hessian of a scalar ``cost`` wrt each vector ``wrt`` (Jacobian of the gradient).

    >>> import tensorc, tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> tensorc.function([x], hessian((x ** 3).sum(), x))([1.0, 2.0])
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    xs, single = _listify(wrt)
    out = []
    for x in xs:
        if getattr(x, "ndim", None) != 1:
            raise TypeError(f"hessian: wrt must be vectors, got {x} with {getattr(x, 'ndim', '?')} "
                            f"dimensions")
        g = grad(cost, x, consider_constant=consider_constant, disconnected_inputs=disconnected_inputs)
        out.append(jacobian(g, x, consider_constant=consider_constant,
                            disconnected_inputs=disconnected_inputs))
    return out[0] if single else out
