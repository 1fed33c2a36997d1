"""Cross-entropy rules of the ``stabilize`` pass: softmax followed by a log, in the forms
user code (and the gradients built from it) contain.

Gradients are built before rewriting, so both directions need a rule:

- forward ``categorical_crossentropy(softmax(x), y_int)`` (a ``CrossentropyCategorical1Hot``
  of a ``Softmax``) -> ``-log_softmax(x)[arange(n), y]``;
- forward ``log(softmax(x)[idx])`` -> ``log_softmax(x)[idx]`` (advanced indexing);
  ``log(softmax(x))`` itself is ``stabilize.log_softmax_rule``;
- backward ``SoftmaxGrad(CrossentropyCategorical1HotGrad(g, sm, y), sm)`` ->
  ``g[:, None] * sm`` with ``-g`` added at ``(i, y[i])``;
- backward ``SoftmaxGrad(a / sm, sm)`` (the gradient of ``log(sm)``: the one-hot matrix
  cross-entropy ``-sum(t * log(softmax(x)), axis=1)`` and the tutorial's
  ``-mean(log(p)[arange(n), y])``) -> ``a - sm * sum(a, axis=-1, keepdims=True)``,
  also when ``a / sm[idx]`` sits inside the ``AdvancedIncSubtensor`` of an indexing
  gradient.  ``softmax(x)`` may underflow to 0; these forms never divide by it.

``binary_crossentropy(sigmoid(x), t)`` needs no rule of its own: ``log(sigmoid(x))`` and
``log(1 - sigmoid(x))`` become ``-softplus(-x)`` and ``-softplus(x)`` (``stabilize``), and
``tensorc.rewrite.products`` cancels the sigmoids of its gradient.

>>> import numpy as np, tensorc, tensorc.tensor as T
>>> x, y = T.dmatrix('x'), T.lvector('y')
>>> cost = T.nnet.categorical_crossentropy(T.nnet.softmax(x), y).sum()
>>> f = tensorc.function([x, y], [cost, T.grad(cost, x)],
...                      mode=tensorc.Mode(optimizer='fast_run', backend='numpy'))
>>> c, g = f(np.array([[0.0, 800.0]]), np.array([0]))
>>> float(c), g.tolist()
(800.0, [[-1.0, 1.0]])
"""
from __future__ import annotations

from typing import Any

from tensorc.graph.basic import Apply, Variable
from tensorc.graph.fgraph import FunctionGraph
from tensorc.ops import nnet
from tensorc.ops.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from tensorc.ops.shape import Shape_i
from tensorc.rewrite.products import build, flatten
from tensorc.rewrite.utils import elemwise, fit, is_constant_value, node_row


def _softmax_input(v: Variable) -> Variable | None:
    """``x`` when ``v`` is ``softmax(x)``."""
    owner = v.owner
    if owner is not None and type(owner.op) is nnet.Softmax:
        return owner.inputs[0]
    return None


def xent_softmax_1hot(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``CrossentropyCategorical1Hot(softmax(x), y)`` -> ``-log_softmax(x)[arange(n), y]``."""
    if type(node.op) is not nnet.CrossentropyCategorical1Hot:
        return None
    x = _softmax_input(node.inputs[0])
    if x is None:
        return None
    import tensorc.tensor as T
    y = node.inputs[1]
    picked = AdvancedSubtensor(("t", "t"))(nnet.LogSoftmax()(x), T.arange(Shape_i(0)(x)), y)
    new = fit(elemwise("neg", picked), node.outputs[0])
    return None if new is None else [new]


def log_indexed_softmax(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``log(softmax(x)[idx])`` -> ``log_softmax(x)[idx]`` (advanced indexing)."""
    if node_row(node) != "log":
        return None
    sub = node.inputs[0].owner
    if sub is None or type(sub.op) is not AdvancedSubtensor:
        return None
    x = _softmax_input(sub.inputs[0])
    if x is None:
        return None
    new = fit(sub.op(nnet.LogSoftmax()(x), *sub.inputs[1:]), node.outputs[0])
    return None if new is None else [new]


def xent_softmax_1hot_grad(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``SoftmaxGrad(CrossentropyCategorical1HotGrad(g, sm, y), sm)`` -> ``g * (sm - onehot(y))``.

    Built as ``g[:, None] * sm`` with ``-g`` added at ``(i, y[i])`` by an
    ``AdvancedIncSubtensor``, which keeps the label checks (an out-of-range label raises).
    """
    if type(node.op) is not nnet.SoftmaxGrad:
        return None
    dy, sm = node.inputs
    inner = dy.owner
    if inner is None or type(inner.op) is not nnet.CrossentropyCategorical1HotGrad \
            or inner.inputs[1] is not sm or _softmax_input(sm) is None:
        return None
    import tensorc.tensor as T
    g, _, y = inner.inputs
    g = g if g.dtype == sm.dtype else T.cast(g, sm.dtype)
    scaled = elemwise("mul", g.dimshuffle(0, "x"), sm)
    rows = T.arange(Shape_i(0)(_softmax_input(sm)))
    new = AdvancedIncSubtensor(("t", "t"))(scaled, elemwise("neg", g), rows, y)
    fitted = fit(new, node.outputs[0], allow_cast=True)
    return None if fitted is None else [fitted]


def softmax_grad_of_log(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """``SoftmaxGrad(a / sm, sm)`` -> ``a - sm * sum(a, axis=-1, keepdims=True)``, ``sm = softmax(x)``.

    ``a / sm`` may also be ``AdvancedIncSubtensor(z, b / sm[idx], idx)`` (the gradient of
    ``log(sm)[idx]`` or ``log(sm[idx])``); then ``a = AdvancedIncSubtensor(z * sm, b, idx)``.
    """
    if type(node.op) is not nnet.SoftmaxGrad:
        return None
    dy, sm = node.inputs
    if _softmax_input(sm) is None or dy.dtype != sm.dtype:
        return None
    a = _times_softmax(fgraph, dy, sm)
    if a is None:
        return None
    import tensorc.tensor as T
    new = a - sm * T.sum(a, axis=-1, keepdims=True)
    fitted = fit(new, node.outputs[0], shape_from=[sm])
    return None if fitted is None else [fitted]


def _times_softmax(fgraph: FunctionGraph, dy: Variable, sm: Variable) -> Variable | None:
    """``dy * sm`` without a division by ``sm``, when ``dy`` divides by ``sm`` (else None)."""
    owner = dy.owner
    if owner is not None and type(owner.op) is AdvancedIncSubtensor:
        z, b, *idx = owner.inputs
        picked = AdvancedSubtensor(owner.op.idx_list)
        b_times = _divided_by(fgraph, b, lambda d: _is_indexed(d, sm, picked, idx))
        if b_times is None:
            return None
        base = z if _is_zeros(z) else elemwise("mul", z, sm)
        base = fit(base, sm, shape_from=[sm])
        if base is None:
            return None
        return owner.op(base, b_times, *idx)
    return _divided_by(fgraph, dy, lambda d: d is sm)


def _divided_by(fgraph: FunctionGraph, v: Variable, is_den: Any) -> Variable | None:
    """``v`` with one denominator factor ``d`` (``is_den(d)``) removed from its product tree."""
    if v.owner is None or node_row(v.owner) not in ("true_div", "mul", "neg", "inv"):
        return None
    term = flatten(fgraph, v, v.dtype)
    for k, d in enumerate(term.den):
        if is_den(d):
            del term.den[k]
            new = build(term, v.dtype)
            return None if new is None else fit(new, v, shape_from=term.num)
    return None


def _is_indexed(d: Variable, sm: Variable, op: Any, idx: list[Variable]) -> bool:
    """True when ``d`` is ``sm[idx]`` by the advanced-indexing ``op``."""
    owner = d.owner
    return owner is not None and owner.op == op and owner.inputs[0] is sm \
        and list(owner.inputs[1:]) == list(idx)


def _is_zeros(v: Variable) -> bool:
    """True for a zero constant or ``zeros_like`` (``second(x, 0)``)."""
    if is_constant_value(v, 0):
        return True
    owner = v.owner
    return owner is not None and node_row(owner) == "second" and is_constant_value(owner.inputs[1], 0)


RULES = (xent_softmax_1hot, log_indexed_softmax, xent_softmax_1hot_grad, softmax_grad_of_log)
