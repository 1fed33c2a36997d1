"""Theano's ``theano.tensor.nnet.nnet``: softmax family, cross-entropies and activations.

>>> import numpy as np, tensorc.tensor as T
>>> x, y = T.dmatrix('x'), T.lvector('y')
>>> loss = categorical_crossentropy(softmax(x), y)
>>> loss.eval({x: np.zeros((2, 4)), y: np.array([0, 3])}).round(4).tolist()
[1.3863, 1.3863]
"""
from __future__ import annotations

import warnings
from typing import Any

from tensorc.ops.nnet import (CrossentropyCategorical1Hot, CrossentropyCategorical1HotGrad,  # noqa: F401
                              LogSoftmax, Softmax, SoftmaxGrad)
from tensorc.tensor.basic import ELEMWISE, hard_sigmoid, relu  # noqa: F401
from tensorc.tensor.var import as_tensor_variable

sigmoid = ELEMWISE["sigmoid"]
softplus = ELEMWISE["softplus"]
ultra_fast_sigmoid = ELEMWISE["ultra_fast_sigmoid"]

softmax_op = Softmax()
softmax_grad = SoftmaxGrad()
logsoftmax_op = LogSoftmax()
crossentropy_categorical_1hot = CrossentropyCategorical1Hot()
crossentropy_categorical_1hot_grad = CrossentropyCategorical1HotGrad()


def _T() -> Any:
    import tensorc.tensor as T
    return T


def _as_rows(c: Any, what: str) -> Any:
    """Theano pads a vector to a one-row matrix (with a warning)."""
    c = as_tensor_variable(c)
    if c.type.numpy_dtype.kind != "f":
        raise ValueError(f"{what}: x must be a tensor of floats, got {c} ({c.type})")
    if c.ndim == 1:
        warnings.warn(f"{what}: a vector input is treated as a one-row matrix and the result is a "
                      f"matrix of shape (1, n), as in Theano", stacklevel=3)
        c = c.dimshuffle("x", 0)
    return c


def softmax(c: Any) -> Any:
    """Row-wise softmax ``exp(c) / sum(exp(c), axis=-1)``, computed stably (max subtracted).

    A vector is treated as one row (the result is a ``(1, n)`` matrix, as in Theano 1.0).

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dmatrix('x')
    >>> softmax(x).eval({x: np.array([[0.0, np.log(3.0)]])}).round(3).tolist()
    [[0.25, 0.75]]
    """
    return softmax_op(_as_rows(c, "softmax"))


def logsoftmax(c: Any) -> Any:
    """Row-wise ``log(softmax(c))`` computed without overflow or underflow to -inf.

    >>> import numpy as np, tensorc.tensor as T
    >>> x = T.dmatrix('x')
    >>> logsoftmax(x).eval({x: np.array([[0.0, 1000.0]])}).tolist()
    [[-1000.0, 0.0]]
    """
    return logsoftmax_op(_as_rows(c, "logsoftmax"))


log_softmax = logsoftmax


def softmax_graph(c: Any) -> Any:
    """Softmax written with elementwise ops and reductions (not the fused op)."""
    T = _T()
    e = T.exp(c - T.max(c, axis=-1, keepdims=True))
    return e / T.sum(e, axis=-1, keepdims=True)


def softmax_with_bias(x: Any, b: Any) -> Any:
    """``softmax(x + b)`` for a matrix ``x`` and a bias vector ``b``."""
    return softmax(as_tensor_variable(x) + b)


def binary_crossentropy(output: Any, target: Any) -> Any:
    """``-(target * log(output) + (1 - target) * log(1 - output))``, elementwise.

    >>> import numpy as np, tensorc.tensor as T
    >>> o = T.dvector('o')
    >>> binary_crossentropy(o, 1.0).eval({o: np.array([0.5])}).round(4).tolist()
    [0.6931]
    """
    T = _T()
    return -(target * T.log(output) + (1.0 - target) * T.log(1.0 - output))


def sigmoid_binary_crossentropy(output: Any, target: Any) -> Any:
    """``binary_crossentropy(sigmoid(output), target)`` computed stably from the logits.

    >>> import numpy as np, tensorc.tensor as T
    >>> o = T.dvector('o')
    >>> float(sigmoid_binary_crossentropy(o, 0.0).eval({o: np.array([800.0])})[0])
    800.0
    """
    T = _T()
    output = as_tensor_variable(output)
    return softplus(-T.abs_(output)) + output * (T.cast(T.gt(output, 0), output.dtype) - target)


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> Any:
    """Cross-entropy between predicted rows ``coding_dist`` and the truth.

    ``true_dist`` is either an integer label vector (``-log(p[i, y[i]])``) or a matrix of
    target probabilities (``-sum(t * log(p), axis=1)``).
    """
    T = _T()
    p, t = as_tensor_variable(coding_dist), as_tensor_variable(true_dist)
    if t.ndim == p.ndim:
        return -T.sum(t * T.log(p), axis=p.ndim - 1)
    if t.ndim == p.ndim - 1:
        return crossentropy_categorical_1hot(p, t)
    raise TypeError(f"categorical_crossentropy: rank mismatch between coding_dist {p.type} and "
                    f"true_dist {t.type}")


def crossentropy_softmax_1hot(x: Any, y_idx: Any) -> tuple[Any, Any]:
    """``(nll, softmax(x))`` where ``nll[i] = -log(softmax(x)[i, y_idx[i]])``, computed stably.

    >>> import numpy as np, tensorc.tensor as T
    >>> x, y = T.dmatrix('x'), T.lvector('y')
    >>> nll, sm = crossentropy_softmax_1hot(x, y)
    >>> nll.eval({x: np.array([[0.0, 1000.0]]), y: np.array([0])}).tolist()
    [1000.0]
    """
    T = _T()
    x = as_tensor_variable(x)
    y_idx = as_tensor_variable(y_idx)
    nll = -logsoftmax(x)[T.arange(y_idx.shape[0]), y_idx]
    return nll, softmax(x)


def crossentropy_softmax_1hot_with_bias(x: Any, b: Any, y_idx: Any) -> tuple[Any, Any]:
    """``crossentropy_softmax_1hot(x + b, y_idx)``."""
    return crossentropy_softmax_1hot(as_tensor_variable(x) + b, y_idx)


def elu(x: Any, alpha: float = 1.0) -> Any:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    T = _T()
    x = as_tensor_variable(x)
    return T.switch(T.gt(x, 0), x, alpha * T.expm1(x))


def selu(x: Any) -> Any:
    """Scaled ELU with the constants of Klambauer et al. (2017)."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return scale * elu(x, alpha)


def softsign(x: Any) -> Any:
    """``x / (1 + abs(x))``."""
    T = _T()
    return x / (1.0 + T.abs_(x))
