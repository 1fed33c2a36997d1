"""Reverse-mode differentiation: ``grad`` and the walk behind it.

``grad(cost, wrt)`` builds new graph: it walks the nodes between ``wrt`` and
``cost`` backwards, calls each op's ``L_op`` and adds up the terms reaching each
variable.  Fitting a term to its input (summing over dimensions the input
broadcasts, restoring its broadcast pattern, casting to its dtype) happens in
one function, :func:`fit_to_input`.

Conventions (Theano 1.0's):

- the gradient of a discrete (int/bool) variable is zero (float, ``floatX``);
  a discrete *output* carries a zero gradient back to its op, since it is
  piecewise constant in the op's inputs;
- a variable the cost does not depend on is *disconnected*
  (``disconnected_inputs='raise'|'warn'|'ignore'``); an undefined or
  unimplemented gradient (``NullType``) raises ``NullTypeGradError``
  unless ``null_gradients='return'``.

>>> import tensorc, tensorc.tensor as T
>>> x = T.dscalar('x')
>>> g = grad(x ** 3, x)
>>> float(tensorc.function([x], g)(2.0))
12.0
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

from tensorc.graph.basic import Apply, Variable, io_toposort
from tensorc.graph.gcpause import without_gc
from tensorc.graph.type import TensorType
from tensorc.gradient.markers import disconnected_type, is_disconnected, is_null


class DisconnectedInputError(ValueError):
    """``grad`` was asked for the gradient wrt a variable the cost does not depend on."""


class NullTypeGradError(TypeError):
    """A gradient on the path to a requested variable is undefined or not implemented."""


def _T() -> Any:
    import tensorc.tensor as T
    return T


def _float_x() -> str:
    from tensorc.config import config
    return config.floatX


def is_discrete(v: Variable) -> bool:
    """True for variables of an integer or bool tensor type."""
    dtype = getattr(v.type, "dtype", None)
    return dtype is not None and not dtype.startswith(("float", "complex"))


def float_zeros_like(v: Variable) -> Variable:
    """Zeros shaped like ``v``: ``v``'s dtype when continuous, ``floatX`` otherwise."""
    T = _T()
    return T.zeros_like(v, dtype=_float_x() if is_discrete(v) else v.dtype)


def float_ones_like(v: Variable) -> Variable:
    """Ones shaped like ``v``: ``v``'s dtype when continuous, ``floatX`` otherwise."""
    T = _T()
    return T.ones_like(v, dtype=_float_x() if is_discrete(v) else v.dtype)


def fit_to_input(g: Any, var: Variable, where: str = "") -> Variable:
    """Make gradient term ``g`` match variable ``var``: THE one place that sums back.

    Sums over the dimensions ``var`` broadcasts and ``g`` does not (keeping them),
    broadcasts ``g`` where it is broadcastable but ``var`` is not, restores
    ``var``'s static pattern and casts to ``var``'s dtype (a real variable keeps
    the real part of a complex term).  Discrete variables get float zeros.

    >>> import tensorc.tensor as T
    >>> row, gz = T.row('r'), T.matrix('gz')
    >>> fit_to_input(gz, row).broadcastable
    (True, False)
    """
    T = _T()
    if is_discrete(var):
        return float_zeros_like(var)
    g = T.as_tensor_variable(g)
    if g.ndim != var.ndim:
        raise ValueError(f"{where or 'gradient'}: term {g} has {g.ndim} dimensions "
                         f"(pattern {g.broadcastable}) but {var} has {var.ndim} ({var.type})")
    axes = [d for d in range(var.ndim) if var.broadcastable[d] and not g.broadcastable[d]]
    if axes:
        g = T.sum(g, axis=axes, keepdims=True)
    if any(gb and not vb for gb, vb in zip(g.broadcastable, var.broadcastable)):
        g = T.fill(var, g)
    g = T.patternbroadcast(g, var.broadcastable)
    if g.dtype != var.dtype:
        if g.dtype.startswith("complex") and not var.dtype.startswith("complex"):
            g = T.real(g)
        g = T.cast(g, var.dtype)
    return g


def _as_list(x: Any, what: str) -> tuple[list[Variable], bool]:
    single = not isinstance(x, (list, tuple))
    items = [x] if single else list(x)
    for k, v in enumerate(items):
        if not isinstance(v, Variable):
            raise TypeError(f"grad: {what}[{k}] must be a symbolic variable, got "
                            f"{type(v).__name__}: {v!r}")
    return items, single


def _add_terms(terms: list[Variable]) -> Variable:
    nulls = [t for t in terms if is_null(t)]
    if nulls:
        return nulls[0]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _connected_nodes(sources: Sequence[Variable], wrt: Sequence[Variable],
                     blockers: Sequence[Variable]) -> tuple[list[Apply], set[int]]:
    """Nodes on a path from ``wrt`` to ``sources`` (not through blockers) and the ids
    of variables depending on ``wrt``."""
    nodes = io_toposort(blockers, sources)
    blocked = set(map(id, blockers))
    reach: set[int] = set(map(id, wrt))
    kept: list[Apply] = []
    for node in nodes:
        if any(id(i) in reach for i in node.inputs):
            kept.append(node)
            reach.update(id(o) for o in node.outputs if id(o) not in blocked)
    return kept, reach


def _output_grads(node: Apply, acc: dict[int, list[Variable]]) -> list[Variable] | None:
    """The summed gradient of each output (zeros where an output got none), or None
    when no output has a gradient."""
    if not any(id(o) in acc for o in node.outputs):
        return None
    out = []
    for o in node.outputs:
        if id(o) in acc and not is_discrete(o):
            out.append(_add_terms(acc[id(o)]))
        else:
            out.append(float_zeros_like(o) if isinstance(o.type, TensorType) else disconnected_type())
    return out


def _input_terms(node: Apply, ograds: list[Variable]) -> list[Variable]:
    if any(is_null(g) for g in ograds):
        why = next(g for g in ograds if is_null(g)).type
        return [why() for _ in node.inputs]
    terms = node.op.L_op(node.inputs, node.outputs, ograds)
    if not isinstance(terms, (list, tuple)) or len(terms) != len(node.inputs):
        raise TypeError(f"{node.op}.L_op must return one gradient per input ({len(node.inputs)}), "
                        f"got {terms!r}")
    pattern = node.op.connection_pattern(node)
    if pattern is not None:
        terms = [t if any(pattern[i]) else disconnected_type() for i, t in enumerate(terms)]
    for i, t in enumerate(terms):
        if t is None:
            raise TypeError(f"{node.op}.L_op returned None for input {i} ({node.inputs[i]}); "
                            f"return disconnected_type() or grad_undefined(...) instead")
    return list(terms)


def backprop(seeds: dict[Variable, Variable], wrt: Sequence[Variable],
             consider_constant: Sequence[Variable] = ()) -> dict[int, Variable]:
    """Walk from ``seeds`` ({variable: its gradient}) back to ``wrt``.

    Returns {id(variable): gradient} for each reached ``wrt`` variable (a
    ``NullType`` marker where a gradient is undefined); unreached ones are absent.
    """
    blockers = [v for v in consider_constant if all(v is not w for w in wrt)]
    sources = list(seeds)
    nodes, reach = _connected_nodes(sources, wrt, blockers)
    acc: dict[int, list[Variable]] = {}
    for var, g in seeds.items():
        if id(var) in reach:
            acc.setdefault(id(var), []).append(g)
    blocked = set(map(id, blockers))
    for node in reversed(nodes):
        if any(id(o) in blocked for o in node.outputs):
            continue
        ograds = _output_grads(node, acc)
        if ograds is None:
            continue
        for i, (inp, term) in enumerate(zip(node.inputs, _input_terms(node, ograds))):
            if id(inp) not in reach or is_disconnected(term):
                continue
            if not is_null(term):
                term = fit_to_input(term, inp, where=f"{node.op}.L_op, input {i}")
            acc.setdefault(id(inp), []).append(term)
    return {id(w): _add_terms(acc[id(w)]) for w in wrt if id(w) in acc}


def _disconnected_message(var: Variable) -> str:
    return (f"grad was asked for the gradient with respect to {var} ({var.type}), which is not "
            f"part of the computational graph of the cost, or is used only by a "
            f"non-differentiable operator (disconnected_grad, an integer index ...). "
            f"Pass disconnected_inputs='ignore' (or 'warn') to get zeros instead.")


@without_gc
def grad(cost: Variable | None, wrt: Any, consider_constant: Iterable[Variable] | None = None,
         disconnected_inputs: str = "raise", add_names: bool = True,
         known_grads: dict[Variable, Any] | None = None, return_disconnected: str = "zero",
         null_gradients: str = "raise") -> Any:
    """Symbolic gradient of a scalar ``cost`` wrt a variable or a list of variables.

    ``consider_constant``: variables not to backpropagate through;
    ``known_grads``: {variable: gradient} seeds (``cost`` may then be None);
    ``disconnected_inputs``: 'raise' (``DisconnectedInputError``), 'warn' or 'ignore';
    ``return_disconnected``: 'zero', 'None' or 'Disconnected' for such variables;
    ``null_gradients``: 'raise' (``NullTypeGradError``) or 'return'.
    Returns one gradient per ``wrt`` entry (a single variable if ``wrt`` was one).

    >>> import tensorc, tensorc.tensor as T
    >>> x, y = T.dscalar('x'), T.dscalar('y')
    >>> gx, gy = grad(x * y + x, [x, y])
    >>> [float(v) for v in tensorc.function([x, y], [gx, gy])(2.0, 5.0)]
    [6.0, 2.0]
    """
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"grad: disconnected_inputs must be 'raise', 'warn' or 'ignore', "
                         f"got {disconnected_inputs!r}")
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError(f"grad: return_disconnected must be 'zero', 'None' or 'Disconnected', "
                         f"got {return_disconnected!r}")
    if null_gradients not in ("raise", "return"):
        raise ValueError(f"grad: null_gradients must be 'raise' or 'return', got {null_gradients!r}")
    T = _T()
    seeds: dict[Variable, Variable] = {}
    if cost is None:
        if not known_grads:
            raise ValueError("grad: cost is None and known_grads is empty: nothing to differentiate")
    else:
        if not isinstance(cost, Variable):
            raise TypeError(f"grad: cost must be a symbolic variable, got {type(cost).__name__}")
        if is_null(cost):
            raise ValueError("grad: cannot differentiate a NullType (undefined) cost")
        if getattr(cost, "ndim", None) != 0:
            raise TypeError(f"grad: cost must be a scalar (0-d), got {cost} of type {cost.type} "
                            f"with {getattr(cost, 'ndim', '?')} dimensions; use cost.sum() or "
                            f"jacobian for a non-scalar expression")
        seeds[cost] = float_ones_like(cost)
    for var, g in (known_grads or {}).items():
        if not isinstance(var, Variable):
            raise TypeError(f"grad: known_grads key {var!r} is not a symbolic variable")
        g = g if isinstance(g, Variable) else T.as_tensor_variable(g)
        if not is_disconnected(g) and not is_null(g):
            if g.ndim != var.ndim:
                raise ValueError(f"grad: known_grads[{var}] has {g.ndim} dimensions, {var} has {var.ndim}")
            if not is_discrete(var) and g.dtype != var.dtype:
                g = T.cast(g, var.dtype)
        if var in seeds:
            seeds[var] = seeds[var] + g
        else:
            seeds[var] = g
    seeds = {v: g for v, g in seeds.items() if not is_disconnected(g)}
    wrt_list, single = _as_list(wrt, "wrt")
    found = backprop(seeds, wrt_list, list(consider_constant or []))
    cost_name = cost.name if cost is not None else None
    results: list[Any] = []
    for w in wrt_list:
        g = found.get(id(w))
        if g is None:
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(_disconnected_message(w))
            if disconnected_inputs == "warn":
                warnings.warn(_disconnected_message(w), stacklevel=2)
            g = {"zero": lambda: float_zeros_like(w), "None": lambda: None,
                 "Disconnected": disconnected_type}[return_disconnected]()
        elif is_null(g):
            if null_gradients == "raise":
                raise NullTypeGradError(f"grad encountered an undefined gradient wrt {w}: {g.type.why}")
        elif add_names and cost_name is not None and w.name is not None and g.name is None \
                and g.owner is not None and all(g is not s for s in seeds.values()):
            g.name = f"(d{cost_name}/d{w.name})"
        results.append(g)
    return results[0] if single else results
