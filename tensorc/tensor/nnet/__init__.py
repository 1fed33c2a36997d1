"""``tensorc.tensor.nnet`` — Theano's ``theano.tensor.nnet`` (``T.nnet.softmax`` ...).

>>> import numpy as np, tensorc.tensor as T
>>> x = T.dvector('x')
>>> T.nnet.sigmoid(x).eval({x: np.array([0.0])}).tolist()
[0.5]
"""
from tensorc.tensor.nnet import nnet  # noqa: F401
from tensorc.tensor.nnet.nnet import (  # noqa: F401
    CrossentropyCategorical1Hot, CrossentropyCategorical1HotGrad, LogSoftmax, Softmax, SoftmaxGrad,
    binary_crossentropy, categorical_crossentropy, crossentropy_categorical_1hot,
    crossentropy_categorical_1hot_grad, crossentropy_softmax_1hot,
    crossentropy_softmax_1hot_with_bias, elu, hard_sigmoid, log_softmax, logsoftmax,
    logsoftmax_op, relu, selu, sigmoid, sigmoid_binary_crossentropy, softmax, softmax_grad,
    softmax_graph, softmax_op, softmax_with_bias, softplus, softsign, ultra_fast_sigmoid)


def __getattr__(name: str) -> object:
    """Import Theano's ``nnet.sigm`` module path (aliases of names above) on first use.

    >>> import tensorc.tensor as T
    >>> T.nnet.sigm.sigmoid is T.nnet.sigmoid
    True
    """
    if name == "sigm":
        import importlib
        return importlib.import_module("tensorc.tensor.nnet.sigm")
    raise AttributeError(f"module 'tensorc.tensor.nnet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "sigm"})
