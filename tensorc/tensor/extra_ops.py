"""``tensorc.tensor.extra_ops`` — Theano's ``theano.tensor.extra_ops`` module path.

>>> import tensorc.tensor as T
>>> T.extra_ops.cumsum(T.dvector()).ndim
1
"""
from __future__ import annotations

from tensorc.ops.alloc import FillDiagonal, fill_diagonal  # noqa: F401
from tensorc.ops.extra import (BinCount, CumOp, DiffOp, Repeat, bincount, cumprod,  # noqa: F401
                               cumsum, diff, repeat)
from tensorc.ops.shape import squeeze  # noqa: F401

__all__ = ["cumsum", "cumprod", "diff", "bincount", "squeeze", "fill_diagonal", "repeat",
           "CumOp", "DiffOp", "BinCount", "Repeat", "FillDiagonal"]
from tensorc.ops.misc import (Unique, SearchsortedOp, unique, searchsorted)  # noqa: E402,F401
from tensorc.ops.misc_compose import (compress, to_one_hot, bartlett,  # noqa: E402,F401
                                      fill_diagonal_offset)
__all__ += ["unique", "searchsorted", "compress", "to_one_hot", "bartlett", "fill_diagonal_offset",
            "Unique", "SearchsortedOp"]
