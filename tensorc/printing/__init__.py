"""Printing graphs (Theano's ``theano.printing``): ``pp`` (infix), ``debugprint`` (tree),
``pydotprint`` (Graphviz drawing; ``graph_to_dot`` gives the DOT text), and the
``Print`` op that prints a value while the graph runs.

>>> import tensorc.tensor as T
>>> from tensorc.printing import pp
>>> x = T.dscalar('x')
>>> pp(x ** 2)
'(x ** TensorConstant{2.0})'
"""
from __future__ import annotations

from tensorc.printing.debugprint import char_id, debugprint
from tensorc.printing.dot import GraphvizNotFoundError, graph_to_dot, pydotprint, render_dot
from tensorc.printing.pp import pp, pprint
from tensorc.printing.print_op import Print

__all__ = ["pp", "pprint", "debugprint", "pydotprint", "graph_to_dot", "render_dot",
           "GraphvizNotFoundError", "char_id", "Print"]
