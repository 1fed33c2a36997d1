"""Products as (sign, numerator factors, denominator factors), for the stabilize pass.

``canonicalize_product`` flattens a tree of ``mul``/``true_div``/``inv``/``neg``/``sqr``
of one dtype into factors and simplifies it:

- a denominator ``1 + exp(u)`` becomes a numerator ``sigmoid(-u)`` (sigmoid recognition);
- ``exp(u) * sigmoid(-u)`` becomes ``sigmoid(u)``;
- factors that are nonzero and finite by construction (sigmoid, exp, softplus...) cancel
  between numerator and denominator;
- a sum factor is distributed over the other factors when that cancels a denominator
  in every term (this is what keeps the logistic cross-entropy gradient finite).

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> z = T.dvector('z')
>>> fg = FunctionGraph([z], [1 / (1 + T.exp(-z))])
>>> from tensorc.rewrite.utils import run_rules
>>> _ = run_rules(fg, [canonicalize_product]); str(fg.outputs[0].owner.op)
'Elemwise{sigmoid}'
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tensorc.graph.basic import Apply, Variable, is_same_graph
from tensorc.graph.fgraph import FunctionGraph
from tensorc.rewrite.canonicalize import NONZERO_ROWS
from tensorc.rewrite.utils import elemwise, fit, is_constant_value, match, node_row, row_of

_PRODUCT_ROWS = ("mul", "true_div", "neg", "inv", "sqr")


@dataclass
class Term:
    """``sign * prod(num) / prod(den)``; ``changed`` records a simplification."""
    sign: int = 1
    num: list[Variable] = field(default_factory=list)
    den: list[Variable] = field(default_factory=list)
    changed: bool = False


def negated(v: Variable) -> Variable:
    """``-v``, without a double negation."""
    inner = match(v, "neg")
    return inner[0] if inner is not None else elemwise("neg", v)


def flatten(fgraph: FunctionGraph, v: Variable, dtype: str, top: bool = True) -> Term:
    """The factors of the product tree rooted at ``v`` (inner nodes have one client)."""
    term = Term()
    stack: list[tuple[Variable, bool, bool]] = [(v, False, top)]
    while stack:
        x, in_den, is_top = stack.pop()
        name = row_of(x)
        inner_ok = name in _PRODUCT_ROWS and x.dtype == dtype and (
            is_top or len(fgraph.clients(x)) == 1)
        if not inner_ok:
            (term.den if in_den else term.num).append(x)
            continue
        a = x.owner.inputs
        if name == "mul":
            stack += [(a[0], in_den, False), (a[1], in_den, False)]
        elif name == "true_div":
            stack += [(a[0], in_den, False), (a[1], not in_den, False)]
        elif name == "inv":
            stack.append((a[0], not in_den, False))
        elif name == "sqr":
            stack += [(a[0], in_den, False), (a[0], in_den, False)]
        else:  # neg
            term.sign = -term.sign
            stack.append((a[0], in_den, False))
    return term


def _same(a: Variable, b: Variable) -> bool:
    return a is b or is_same_graph(a, b)


def _pop_same(items: list[Variable], v: Variable) -> bool:
    for k, x in enumerate(items):
        if _same(x, v):
            del items[k]
            return True
    return False


def simplify(term: Term) -> Term:
    """Apply the sigmoid identities and cancel safe factors (see the module docstring)."""
    for d in list(term.den):  # 1/(1+exp(u)) -> sigmoid(-u)
        args = match(d, "add")
        if args is None:
            continue
        for one, e in (args, args[::-1]):
            u = match(e, "exp")
            if u is not None and is_constant_value(one, 1) and d.dtype == e.dtype:
                term.den.remove(d)
                term.num.append(elemwise("sigmoid", negated(u[0])))
                term.changed = True
                break
    for e in [f for f in term.num if row_of(f) == "exp"]:  # exp(u) * sigmoid(-u) -> sigmoid(u)
        u = e.owner.inputs[0]
        for s in term.num:
            w = match(s, "sigmoid")
            if w is not None and (_same(w[0], negated(u)) or _same(negated(w[0]), u)):
                term.num.remove(s)
                term.num.remove(e)
                term.num.append(elemwise("sigmoid", u))
                term.changed = True
                break
    for d in list(term.den):
        if row_of(d) in NONZERO_ROWS and _pop_same(term.num, d):
            term.den.remove(d)
            term.changed = True
    return term


def build(term: Term, dtype: str) -> Variable | None:
    """The graph of ``term`` (None when it has no factor of ``dtype`` to start from)."""
    num = [f for f in term.num if not is_constant_value(f, 1)] or term.num[:1]
    if not num:
        return None
    acc = num[0]
    for f in num[1:]:
        acc = elemwise("mul", acc, f)
    for d in term.den:
        acc = elemwise("true_div", acc, d)
    return elemwise("neg", acc) if term.sign < 0 else acc


def _sum_terms(fgraph: FunctionGraph, s: Variable, dtype: str) -> list[Term] | None:
    """The signed product terms of a one-client ``add``/``sub`` tree, or None."""
    out: list[Term] = []
    stack = [(s, 1, True)]
    while stack:
        x, sign, is_top = stack.pop()
        name = row_of(x)
        if name in ("add", "sub") and x.dtype == dtype and (is_top or len(fgraph.clients(x)) == 1):
            a, b = x.owner.inputs
            stack += [(a, sign, False), (b, sign if name == "add" else -sign, False)]
            continue
        t = flatten(fgraph, x, dtype, top=False)
        t.sign *= sign
        out.append(t)
    return out if len(out) > 1 else None


def distribute(fgraph: FunctionGraph, term: Term, dtype: str) -> Variable | None:
    """Distribute a sum factor over the others when every term then cancels a denominator."""
    for s in term.num:
        if row_of(s) not in ("add", "sub") or len(fgraph.clients(s)) != 1:
            continue
        parts = _sum_terms(fgraph, s, dtype)
        if parts is None or not all(p.den for p in parts):
            continue
        others = list(term.num)
        others.remove(s)
        built = []
        for p in parts:
            t = simplify(Term(term.sign * p.sign, others + p.num, term.den + p.den))
            if len(t.den) >= len(term.den) + len(p.den):
                return None
            built.append(build(t, dtype))
        if any(b is None for b in built):
            return None
        acc = built[0]
        for b in built[1:]:
            acc = elemwise("add", acc, b)
        return acc
    return None


def canonicalize_product(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """Rule: simplify the product tree whose top is ``node`` (see the module docstring)."""
    if node_row(node) not in _PRODUCT_ROWS:
        return None
    out = node.outputs[0]
    if out.dtype[:5] not in ("float", "compl"):
        return None
    clients = fgraph.clients(out)
    if len(clients) == 1 and clients[0][0] != "output" and node_row(clients[0][0]) in _PRODUCT_ROWS \
            and clients[0][0].outputs[0].dtype == out.dtype:
        return None  # the enclosing product handles it
    term = flatten(fgraph, out, out.dtype)
    leaves = term.num + term.den
    term = simplify(term)
    new = distribute(fgraph, term, out.dtype)
    if new is None and term.changed:
        new = build(term, out.dtype)
    if new is None:
        return None
    fitted = fit(new, out, shape_from=leaves)
    return None if fitted is None else [fitted]
