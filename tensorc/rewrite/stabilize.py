"""The ``stabilize`` pass: rewrite expressions into numerically stable equivalents.

Rules: ``log(1+x) -> log1p(x)``, ``log(1-x) -> log1p(-x)``, ``exp(x)-1 -> expm1(x)``,
``log1p(exp(x)) -> softplus(x)``, ``1-sigmoid(x) -> sigmoid(-x)``,
``log(sigmoid(x)) -> -softplus(-x)`` (so ``log(1-sigmoid(x)) -> -softplus(x)``),
sigmoid recognition and cancellation in products (``tensorc.rewrite.products``:
``1/(1+exp(-z)) -> sigmoid(z)``, and the gradient of the hand-written logistic
cross-entropy stays finite at saturation), ``log(softmax(x)) -> log_softmax(x)``,
``exp(x)/sum(exp(x), -1, keepdims) -> softmax(x)``, the log-sum-exp rules of
``tensorc.rewrite.logsumexp`` (``log(sum(exp(x), axis=-1))`` and the hand-written
``max(x) + log(sum(exp(x - max(x))))`` over the last axis -> ``LogSumExp(x)``),
``log(sum(exp(x))) -> m + log(sum(exp(x - m)))`` with ``m = max(x)`` for other axes, and
the cross-entropy rules of ``tensorc.rewrite.xent`` (softmax + log, forward and gradient).

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> fg = FunctionGraph([x], [T.log(1 + x)])
>>> stabilize(fg); str(fg.outputs[0].owner.op)
'Elemwise{log1p}'
"""
from __future__ import annotations

from tensorc.graph.basic import Apply, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops.elemwise import DimShuffle
from tensorc.ops.nnet import LogSoftmax, Softmax
from tensorc.ops.reduce import Reduce
from tensorc.rewrite.logsumexp import RULES as LOGSUMEXP_RULES, under_views
from tensorc.rewrite.products import canonicalize_product, negated
from tensorc.rewrite.xent import RULES as XENT_RULES
from tensorc.rewrite.utils import elemwise, fit, is_constant_value, match, node_row, run_rules


def _one_plus(args: list[Variable]) -> Variable | None:
    """``x`` when ``args`` are ``(1, x)`` or ``(x, 1)``."""
    a, b = args
    if is_constant_value(a, 1):
        return b
    if is_constant_value(b, 1):
        return a
    return None


def log1p_rule(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``log(1+x) -> log1p(x)``, ``log(1-x) -> log1p(-x)``."""
    if node_row(node) != "log":
        return None
    arg = node.inputs[0]
    args = match(arg, "add")
    x = _one_plus(args) if args is not None else None
    if x is None:
        sub = match(arg, "sub")
        if sub is None or not is_constant_value(sub[0], 1):
            return None
        x = negated(sub[1])
    return [fit(elemwise("log1p", x), node.outputs[0], shape_from=[arg])]


def expm1_rule(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``exp(x) - 1 -> expm1(x)``."""
    if node_row(node) != "sub" or not is_constant_value(node.inputs[1], 1):
        return None
    e = match(node.inputs[0], "exp")
    if e is None:
        return None
    return [fit(elemwise("expm1", e[0]), node.outputs[0], shape_from=[node.inputs[1]])]


def softplus_rule(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``log1p(exp(x)) -> softplus(x)``."""
    if node_row(node) != "log1p":
        return None
    e = match(node.inputs[0], "exp")
    return None if e is None else [fit(elemwise("softplus", e[0]), node.outputs[0])]


def one_minus_sigmoid(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``1 - sigmoid(x) -> sigmoid(-x)``."""
    if node_row(node) != "sub" or not is_constant_value(node.inputs[0], 1):
        return None
    s = match(node.inputs[1], "sigmoid")
    if s is None:
        return None
    return [fit(elemwise("sigmoid", negated(s[0])), node.outputs[0], shape_from=[node.inputs[0]])]


def log_sigmoid(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``log(sigmoid(x)) -> -softplus(-x)``."""
    if node_row(node) != "log":
        return None
    s = match(node.inputs[0], "sigmoid")
    if s is None:
        return None
    return [fit(elemwise("neg", elemwise("softplus", negated(s[0]))), node.outputs[0])]


def log_softmax_rule(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``log(softmax(x)) -> log_softmax(x)``."""
    if node_row(node) != "log":
        return None
    sm = node.inputs[0].owner
    if sm is None or type(sm.op) is not Softmax:
        return None
    return [fit(LogSoftmax()(sm.inputs[0]), node.outputs[0])]


def softmax_rule(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``exp(x) / sum(exp(x), axis=-1, keepdims=True) -> softmax(x)`` for matrices."""
    if node_row(node) != "true_div" or node.outputs[0].ndim != 2:
        return None
    num, den = node.inputs
    e = match(num, "exp")
    ds = den.owner
    if e is None or ds is None or type(ds.op) is not DimShuffle or ds.op.new_order != (0, "x"):
        return None
    red = ds.inputs[0].owner
    if red is None or type(red.op) is not Reduce or red.op.scalar_op != "add" or red.op.axis != (1,) \
            or red.inputs[0] is not num:
        return None
    try:
        new = Softmax()(e[0])
    except Exception:
        return None
    return [fit(new, node.outputs[0])]


def logsumexp_rule(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``log(sum(exp(x), axis)) -> m + log(sum(exp(x - m), axis))``, ``m = max(x, axis)``
    (``keepdims`` too; the last axis alone is ``logsumexp.logsumexp_last_axis``, tried first)."""
    if node_row(node) != "log":
        return None
    base = under_views(node.inputs[0])[0]
    red = base.owner
    if red is None or type(red.op) is not Reduce or red.op.scalar_op != "add":
        return None
    e = match(red.inputs[0], "exp")
    if e is None or red.op.dtype != e[0].dtype or e[0].dtype[:5] != "float" or _max_shifted(e[0]):
        return None
    import tensorc.tensor as T
    x, axis = e[0], list(red.op.axis)
    keep = tuple(b or d in axis for d, b in enumerate(x.broadcastable))
    keepdims = node.outputs[0].broadcastable == keep
    if base is not node.inputs[0] and not keepdims:
        return None
    m = T.max(x, axis=axis, keepdims=True)
    m = T.switch(T.isinf(m), T.zeros_like(m), m)  # all -inf (or inf) rows: keep numpy's answer
    inner = T.sum(T.exp(x - m), axis=axis, dtype=red.op.dtype, acc_dtype=red.op.acc_dtype,
                  keepdims=keepdims)
    m_red = m if keepdims or not axis else T.max(m, axis=axis)
    return [fit(m_red + T.log(inner), node.outputs[0])]


def _max_shifted(x: Variable) -> bool:
    """True when ``x`` is already ``y - max(y)`` (the output of ``logsumexp_rule``)."""
    sub = match(x, "sub")
    v = sub[1] if sub is not None else None
    while v is not None and v.owner is not None:
        if type(v.owner.op) is Reduce:
            return v.owner.op.scalar_op == "maximum"
        v = v.owner.inputs[-1] if node_row(v.owner) == "switch" else v.owner.inputs[0]
    return False


RULES = (log1p_rule, expm1_rule, softplus_rule, one_minus_sigmoid, log_sigmoid,
         canonicalize_product, log_softmax_rule, softmax_rule) + LOGSUMEXP_RULES \
    + (logsumexp_rule,) + XENT_RULES


def stabilize(fgraph: FunctionGraph) -> None:
    """Apply the stabilization rules until none applies."""
    run_rules(fgraph, RULES)
