"""Log-sum-exp rules of the ``stabilize`` pass: row-wise forms become one ``LogSumExp``.

- ``logsumexp_last_axis``: ``log(sum(exp(x), axis=-1))`` (also ``keepdims=True``)
  -> ``LogSumExp(x)`` (``stabilize.logsumexp_rule`` keeps the generic stable form for
  other axes);
- ``logsumexp_shifted``: the hand-written stable form
  ``m + log(sum(exp(x - m'), axis=-1))`` with ``m = max(x, axis=-1)`` seen through
  views (``keepdims=True``, ``dimshuffle(0, 'x')``, ``flatten()``, ``reshape(-1)``),
  ``m'`` the same max broadcast along the last axis -> ``LogSumExp(x)``.  The op also
  gives the limits of the unshifted form on rows of ``-inf`` (``-inf``) or holding
  ``+inf`` (``inf``), where the hand-written form gives NaN.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dmatrix('x')
>>> m = T.max(x, axis=1, keepdims=True)
>>> fg = FunctionGraph([x], [m.flatten() + T.log(T.sum(T.exp(x - m), axis=1))])
>>> logsumexp_shifted(fg, fg.outputs[0].owner).pop().owner.op
LogSumExp
"""
from __future__ import annotations

from tensorc.graph.basic import Apply, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.elemwise import DimShuffle
from tensorc.ops.nnet import LogSumExp
from tensorc.ops.rebroadcast import Rebroadcast
from tensorc.ops.reduce import Reduce
from tensorc.ops.shape import Reshape
from tensorc.rewrite.utils import const_data, elemwise, fit, match, node_row


def _order_kept(op: DimShuffle) -> bool:
    """True when ``op`` only adds or drops size-1 dimensions (no transposition)."""
    kept = [e for e in op.new_order if e != "x"]
    return kept == sorted(kept)


def under_views(v: Variable, *, reshape: bool = False) -> tuple[Variable, bool]:
    """``v`` below order-keeping DimShuffles and Rebroadcasts (and, with ``reshape``,
    ``Reshape`` to one dimension with target ``-1`` or a symbolic length); also
    whether a ``Reshape`` was passed."""
    reshaped = False
    while v.owner is not None:
        op = v.owner.op
        if type(op) is DimShuffle and _order_kept(op) or type(op) is Rebroadcast:
            v = v.owner.inputs[0]
        elif reshape and type(op) is Reshape and op.ndim == 1:
            target = const_data(v.owner.inputs[1])
            if target is not None and target.tolist() != [-1]:
                break
            v, reshaped = v.owner.inputs[0], True
        else:
            break
    return v, reshaped


def _last_axis_reduce(v: Variable, scalar_op: str) -> Apply | None:
    """The ``Reduce`` node of ``scalar_op`` over the last axis of a float tensor that
    computes ``v`` (in the input's dtype), else None."""
    red = v.owner
    if red is None or type(red.op) is not Reduce or red.op.scalar_op != scalar_op:
        return None
    x = red.inputs[0]
    if x.ndim == 0 or red.op.axis != (x.ndim - 1,) or red.op.dtype != x.dtype \
            or x.dtype not in ("float32", "float64"):
        return None
    return red


def _rows_form(lse: Variable, like: Variable) -> Variable | None:
    """``lse`` (``LogSumExp`` output) shaped as ``like``: same pattern, or with the
    reduced axis kept as a trailing size-1 dimension; None for any other layout."""
    bc = lse.broadcastable
    if like.broadcastable == bc:
        return lse
    if like.broadcastable == bc + (True,):
        return lse.dimshuffle(*range(lse.ndim), "x")
    return None


def logsumexp_last_axis(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``log(sum(exp(x), axis=-1)) -> LogSumExp(x)`` (``keepdims`` too)."""
    if node_row(node) != "log":
        return None
    red = _last_axis_reduce(under_views(node.inputs[0])[0], "add")
    e = match(red.inputs[0], "exp") if red is not None else None
    if e is None or e[0].type != red.inputs[0].type or _shifted(e[0]) is not None:
        return None
    new = _rows_form(LogSumExp()(e[0]), node.outputs[0])
    return None if new is None else [fit(new, node.outputs[0])]


def _shifted(v: Variable) -> tuple[Variable, Variable] | None:
    """``(x, m)`` when ``v`` is ``x - m'`` with ``m = max(x, axis=-1)`` and ``m'`` a
    view of ``m`` broadcast along the last axis."""
    sub = match(v, "sub")
    if sub is None:
        return None
    x, b = sub
    m = under_views(b)[0]
    mx = _last_axis_reduce(m, "maximum")
    if mx is None or mx.inputs[0] is not x or b.broadcastable != m.broadcastable + (True,):
        return None
    return x, m


def _shifted_log_term(v: Variable) -> tuple[Variable, Variable] | None:
    """``(x, m)`` when ``v`` is a view of ``log(sum(exp(x - m'), axis=-1))``."""
    lg = match(under_views(v)[0], "log")
    red = _last_axis_reduce(under_views(lg[0])[0], "add") if lg is not None else None
    e = match(red.inputs[0], "exp") if red is not None else None
    return _shifted(e[0]) if e is not None else None


def _add_terms(node: Apply, depth: int) -> list[Variable]:
    """The terms of the sum ``node`` computes, through nested ``add`` nodes
    (``2 + m + log(...)`` is ``add(add(2, m), log(...))``)."""
    terms: list[Variable] = []
    for v in node.inputs:
        inner = v.owner
        if depth > 0 and inner is not None and node_row(inner) == "add":
            terms += _add_terms(inner, depth - 1)
        else:
            terms.append(v)
    return terms


def logsumexp_shifted(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``max(x) + log(sum(exp(x - max(x)), axis=-1)) -> LogSumExp(x)``, with the max
    over the last axis seen through views (``keepdims``, ``dimshuffle``, ``flatten``)."""
    if node_row(node) != "add":
        return None
    ins = _add_terms(node, 3)
    for i, a in enumerate(ins):
        term = _shifted_log_term(a)
        if term is None:
            continue
        x, m = term
        for j, b in enumerate(ins):
            base, reshaped = under_views(b, reshape=True)
            if j == i or base is not m or (reshaped and x.ndim != 2) \
                    or b.broadcastable != a.broadcastable:
                continue
            lse = _rows_form(LogSumExp()(x), a)
            if lse is None:
                continue
            rest = [v for k, v in enumerate(ins) if k not in (i, j)]
            new = lse
            for v in rest:
                new = elemwise("add", new, v)
            out = fit(new, node.outputs[0])
            return None if out is None else [out]
    return None


RULES = (logsumexp_last_axis, logsumexp_shifted)
