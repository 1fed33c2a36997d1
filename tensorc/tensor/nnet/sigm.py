"""Theano's ``theano.tensor.nnet.sigm``: the sigmoid family (rows of the elementwise table)."""
from tensorc.tensor.nnet.nnet import hard_sigmoid, sigmoid, softplus, ultra_fast_sigmoid  # noqa: F401
