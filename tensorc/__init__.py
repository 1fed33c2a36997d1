"""tensorc: a Theano-style compiler for numerical Python.

Build symbolic expressions with ``tensorc.tensor``, differentiate them with
``tensorc.grad``, compile them with ``tensorc.function``.  ``import tensorc as
theano`` runs Theano 1.0 programs.

>>> import tensorc, tensorc.tensor as T
>>> x = T.dscalar('x')
>>> f = tensorc.function([x], x ** 2)
>>> float(f(3.0))
9.0
"""
from __future__ import annotations

__version__ = "0.1.0"

from tensorc.config import config, change_flags  # noqa: F401
from tensorc.graph.basic import Apply, Constant, Op, Variable  # noqa: F401
from tensorc.graph.fgraph import FunctionGraph  # noqa: F401
from tensorc.compile.io import In, Out  # noqa: F401
from tensorc.compile.mode import DebugMode, Mode, NanGuardMode, get_mode  # noqa: F401
from tensorc.compile.sharedvalue import SharedVariable, shared  # noqa: F401
from tensorc.compile.function import Function, function  # noqa: F401
import tensorc.tensor as tensor  # noqa: F401,E402
from tensorc.gradient import grad  # noqa: F401,E402
import tensorc.gradient as gradient  # noqa: F401,E402
import tensorc.printing as printing  # noqa: F401,E402
from tensorc.printing import pp, pprint, debugprint  # noqa: F401,E402
from tensorc.compile.profile import ProfileStats  # noqa: F401,E402

Param = In  # Theano's old name
