"""Disk cache of rewritten graphs: a warm new process skips the rewrite pipeline.

``function()`` spends most of a warm build rewriting the graph (and importing the
rewrite passes).  The rewritten graph depends only on the graph handed to the
pipeline, the mode's passes, a few config flags and the code of tensorc/numpy, so
it is cached under a key computed from exactly those:

- ``graph``: a canonical text of the *pre-rewrite* ``FunctionGraph`` — every node in
  topological order with its op (class and every attribute, recursively), the
  classes, types and names of its inputs and outputs; constants by dtype, shape and
  a sha256 of their bytes; the function's inputs (explicit or shared, type, name)
  and outputs.  An op attribute that has no stable canonical form (a lambda, a graph
  object, an unknown extension type) makes the function uncacheable: it is simply
  rewritten as before;
- ``io``: ``In``/``Out`` options, number of outputs, which shared variable each update
  writes;
- ``mode``: optimizer name, included and excluded passes;
- ``config``: every config flag except the cache's own location and size cap;
- ``code``: tensorc's version, a fingerprint of its source files (an installed package:
  the sha256 of its sources stamped at build time; a checkout: path, size, mtime of
  every ``.py``) and numpy's version; ``python``: the interpreter tag.

The entry stores the rewritten graph (nodes in order and outputs) pickled with the
function's inputs as placeholders, so a hit rebuilds it around *this* call's input
variables.  Once the C backend has lowered and compiled the graph, the entry is written
again with the lowered ``Program`` and the C sources of its kernel libraries
(``tensorc.lower.store``; :class:`Lowering`): a later hit skips lowering and rendering
and looks the libraries up by their source (the kernel cache's own key still checks
the compiler, flags and CPU).  The key is computed on the user's graph, so a hit copies
nothing but the stored graph.  Entries live
in ``config.cache_dir/functions`` under the rules of ``tensorc.backend.c.cache``
(atomic install, commit record with checksum, per-key lock, LRU pruning, size cap);
a missing, corrupt or unloadable entry is a miss and is rewritten and stored again.

>>> import tensorc.tensor as T
>>> from tensorc.graph.fgraph import FunctionGraph
>>> x = T.dvector('x')
>>> text = graph_text(FunctionGraph([x], [T.exp(x) + 1]))
>>> text.splitlines()[0]
"in 0 TensorVariable T(float64,(False,)) 'x'"
"""
from __future__ import annotations

import functools
import io
import os
import pickle
import sys
import types
from typing import Any, Callable, Sequence

import numpy as np

from tensorc.backend.c.fsutil import sha256_hex
from tensorc.graph.basic import Apply, Constant, Op, Variable, io_toposort
from tensorc.graph.fgraph import FunctionGraph
from tensorc.graph.type import TensorType

KIND = "functions"  #: the cache entry kind (sub-directory of ``config.cache_dir``)
PART_NAMES: tuple[str, ...] = ("graph", "io", "mode", "config", "code", "python")
_UNKEYED_FLAGS = frozenset({"cache_dir", "cache_max_mb"})
_SCALARS = (type(None), bool, int, float, complex, str, bytes)
_FORMAT = 2  #: bump when the payload layout changes (2: the lowered program)
#: packages whose code the ``code`` part (or the interpreter/numpy version) already covers
_KNOWN_PACKAGES = frozenset({"tensorc", "numpy", "builtins"})


class Uncacheable(Exception):
    """The graph holds something without a stable canonical form."""


def canonical(value: Any, depth: int = 0) -> str:
    """A text identifying ``value`` across processes, or :class:`Uncacheable`.

    >>> canonical((1, 'a', None, 2.5))
    "t(1,'a',None,2.5)"
    >>> canonical(np.float32(0.5))
    'g<f4:0000003f'
    """
    if depth > 50:
        raise Uncacheable("too deeply nested")
    t = type(value)
    if t in _SCALARS:
        return repr(value)
    if t is tuple or t is list:
        return t.__name__[0] + "(" + ",".join(canonical(v, depth + 1) for v in value) + ")"
    if t is dict:
        items = sorted(canonical(k, depth + 1) + ":" + canonical(v, depth + 1) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if t is set or t is frozenset:
        return "s(" + ",".join(sorted(canonical(v, depth + 1) for v in value)) + ")"
    if t is TensorType:
        return f"T({value.dtype},{value.broadcastable})"
    if isinstance(value, (Variable, Apply, FunctionGraph)):
        raise Uncacheable(f"a graph object inside an op: {type(value).__name__}")
    if isinstance(value, np.ndarray):
        return _array_text(value)
    if isinstance(value, np.generic):
        return "g" + value.dtype.str + ":" + value.tobytes().hex()
    if isinstance(value, np.dtype):
        return "d" + str(value.descr if value.fields else value.str)
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return "f" + _global_name(value)
    if isinstance(value, np.ufunc) and getattr(np, value.__name__, None) is value:
        return "u" + value.__name__
    if isinstance(value, (np.ufunc, functools.partial, types.MethodType)):
        raise Uncacheable(f"a callable inside an op: {value!r}")
    if isinstance(value, Op) and t.__module__.startswith("tensorc.") and \
            t.__reduce__ is object.__reduce__:
        # tensorc's ops are defined by their __props__ (what equality and merging use; any
        # other attribute is derived from them), which is much shorter than their state
        return "p" + _global_name(t) + canonical(value._props(), depth + 1)
    return _object_text(value, depth)


def _array_text(a: np.ndarray) -> str:
    if a.dtype.hasobject:
        raise Uncacheable("an object array")
    digest = sha256_hex(np.ascontiguousarray(a).tobytes())
    return f"a({a.dtype.str},{a.shape},{digest})"


#: tensorc's and numpy's classes and functions -> their text, once per process (the same
#: few come up in every graph; a user module's text has a stamp that may change)
_GLOBAL_NAMES: dict[Any, str] = {}


def _global_name(obj: Any) -> str:
    """``module:qualname`` of a class or function that pickle would find by that name."""
    try:
        return _GLOBAL_NAMES[obj]
    except (KeyError, TypeError):
        pass
    text = _find_global_name(obj)
    if "@" not in text:
        try:
            _GLOBAL_NAMES[obj] = text
        except TypeError:  # unhashable: not remembered
            pass
    return text


def _find_global_name(obj: Any) -> str:
    module, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
    if not module or "<" in qual:
        raise Uncacheable(f"{obj!r} is not importable by name")
    found: Any = sys.modules.get(module)
    for part in qual.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        raise Uncacheable(f"{module}.{qual} does not name {obj!r}")
    if module.split(".")[0] in _KNOWN_PACKAGES:
        return f"{module}:{qual}"
    return f"{module}:{qual}@{_module_stamp(sys.modules[module])}"


def _module_stamp(module: Any) -> str:
    """Size and mtime of a user module's source file: editing an op class defined
    outside tensorc (a script, a user package) changes the key too."""
    path = getattr(module, "__file__", None)
    if not path:
        raise Uncacheable(f"module {module.__name__} has no source file")
    try:
        st = os.stat(path)
    except OSError:
        raise Uncacheable(f"cannot stat {path}") from None
    return f"{st.st_size}:{st.st_mtime_ns}"


def _object_text(value: Any, depth: int) -> str:
    """Class plus state: an op, a scalar-op row, a type.  A class with its own
    ``__reduce__`` is identified by what it reduces to (how it pickles)."""
    cls = type(value)
    if cls.__reduce__ is not object.__reduce__:
        try:
            reduced = value.__reduce__()
        except Exception as exc:  # a __reduce__ that refuses (e.g. locks) is not cacheable
            raise Uncacheable(f"{cls.__name__}.__reduce__ failed: {exc}") from None
        if isinstance(reduced, str):
            return "r" + _global_name(cls) + ":" + reduced
        return "r" + canonical(tuple(reduced), depth + 1)
    state: dict[str, Any] = dict(getattr(value, "__dict__", {}))
    for klass in cls.__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if slot not in ("__dict__", "__weakref__") and hasattr(value, slot):
                state[slot] = getattr(value, slot)
    if not state and not hasattr(value, "__dict__") and not getattr(cls, "__slots__", None):
        raise Uncacheable(f"no state to identify a {cls.__name__}")
    return "o" + _global_name(cls) + canonical(state, depth + 1)


def graph_text(fgraph: FunctionGraph) -> str:
    """The canonical text of ``fgraph`` (see the module docstring), or :class:`Uncacheable`."""
    return io_graph_text(fgraph.inputs, fgraph.outputs)


def io_graph_text(inputs: Sequence[Variable], outputs: Sequence[Variable]) -> str:
    """The canonical text of the graph from ``inputs`` to ``outputs`` (no ``FunctionGraph``
    needed: the same text as :func:`graph_text` of one built from them).

    >>> import tensorc.tensor as T
    >>> x = T.dvector('x')
    >>> io_graph_text([x], [x * 2]) == graph_text(FunctionGraph([x], [x * 2]))
    True
    """
    refs: dict[int, str] = {}
    lines: list[str] = []
    ops: dict[int, str] = {}
    types: dict[int, str] = {}

    def type_text(t: Any) -> str:
        text = types.get(id(t))
        if text is None:
            text = types[id(t)] = f"T({t.dtype},{t.broadcastable})" if type(t) is TensorType \
                else canonical(t)
        return text

    def op_text(op: Any) -> str:
        text = ops.get(id(op))
        if text is None:
            text = ops[id(op)] = canonical(op)
        return text
    keep = []  # the types whose ids ``types`` holds stay alive
    for k, v in enumerate(inputs):
        refs[id(v)] = f"i{k}"
        keep.append(v.type)
        lines.append(f"in {k} {type(v).__name__} {type_text(v.type)} {v.name!r}")

    def ref(v: Variable) -> str:
        r = refs.get(id(v))
        if r is None:
            if not isinstance(v, Constant):
                raise Uncacheable(f"{v} is neither an input nor computed in the graph")
            r = refs[id(v)] = f"c{len(refs)}"
            lines.append(f"const {r} {_global_name(type(v))} {type_text(v.type)} "
                         f"{canonical(v.data)} {v.name!r}")
        return r
    for n, node in enumerate(io_toposort(inputs, outputs)):
        ins = [ref(v) for v in node.inputs]
        op = op_text(node.op)
        outs = []
        for j, o in enumerate(node.outputs):
            refs[id(o)] = f"n{n}.{j}"
            outs.append(f"{type(o).__name__} {type_text(o.type)} {o.name!r}")
        lines.append(f"node {n} {op} ({' '.join(ins)}) -> {'; '.join(outs)}")
    lines.append("out " + " ".join(ref(v) for v in outputs))
    return "\n".join(lines)


#: Written by ``setup.py``'s ``build_py`` into an installed (built) package only.
SOURCE_STAMP = "_source_stamp.txt"


@functools.lru_cache(maxsize=None)
def _code_fingerprint(package_dir: str) -> str:
    """Which tensorc code rewrote the graph.  An installed package carries the sha256 of
    its sources, written when it was built (``SOURCE_STAMP``; one file read); a source
    checkout has none, and gets a sha256 over (path, size, mtime) of every ``.py`` file
    (~150 stats), so an edited checkout never reuses graphs rewritten by older code.
    Files of an installed package edited by hand are not noticed (reinstall instead)."""
    try:
        with open(os.path.join(package_dir, SOURCE_STAMP), encoding="ascii") as fh:
            stamp = fh.read().strip()
        if len(stamp) == 64:
            return "built:" + stamp
    except (OSError, ValueError):
        pass
    stamps = []
    stack = [package_dir]
    cut = len(package_dir) + 1
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.name.endswith(".py"):
                    st = e.stat()
                    stamps.append(f"{e.path[cut:]}|{st.st_size}|{st.st_mtime_ns}")
                elif e.name != "__pycache__" and e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
    return sha256_hex("\n".join(sorted(stamps)))


def code_part() -> str:
    """tensorc's version, its source fingerprint and numpy's version."""
    import tensorc
    package_dir = os.path.dirname(os.path.abspath(tensorc.__file__))
    return f"tensorc {tensorc.__version__} {_code_fingerprint(package_dir)} numpy {np.__version__}"


def key_parts(fgraph: FunctionGraph, mode: Any, io_text: str) -> dict[str, str]:
    """Everything the rewritten graph depends on, by name (see the module docstring);
    raises :class:`Uncacheable`."""
    return key_parts_io(fgraph.inputs, fgraph.outputs, mode, io_text)


def key_parts_io(inputs: Sequence[Variable], outputs: Sequence[Variable], mode: Any,
                 io_text: str) -> dict[str, str]:
    """:func:`key_parts` of the graph ``inputs -> outputs`` (no ``FunctionGraph`` built)."""
    from tensorc.config import config
    flags = ",".join(f"{n}={v!r}" for n, v, _ in config.items() if n not in _UNKEYED_FLAGS)
    mode_text = canonical((type(mode).__name__, mode.optimizer, tuple(mode.included),
                           tuple(mode.excluded), mode.check_each_pass))
    text = io_graph_text(inputs, outputs)
    return {"graph": sha256_hex(text), "io": io_text,
            "mode": mode_text, "config": flags, "code": code_part(),
            "python": f"{sys.implementation.cache_tag} {_FORMAT}"}


def entry_key(parts: dict[str, str]) -> str:
    """sha256 over the named parts in the order of :data:`PART_NAMES`."""
    text = "\n".join(f"{name}={parts[name]}" for name in PART_NAMES)
    return sha256_hex(text)


def dump_rewritten(fgraph: FunctionGraph, lowered: tuple | None = None) -> bytes:
    """The rewritten graph as bytes: nodes in order (so pickling never recurses down a
    long chain), outputs, and the lowered program's state (``tensorc.lower.store``) or
    None; the graph's inputs are placeholders."""
    placeholders = {id(v): k for k, v in enumerate(fgraph.inputs)}

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj: Any) -> int | None:
            return placeholders.get(id(obj))
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(
        (_FORMAT, fgraph.toposort(), fgraph.outputs, lowered))
    return buf.getvalue()


def load_rewritten(payload: bytes, inputs: Sequence[Variable]) -> tuple[FunctionGraph, list[Apply], Any]:
    """The graph of :func:`dump_rewritten` rebuilt around ``inputs``, the stored node order
    and the lowered state (or None); raises on a bad payload."""
    class _Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Variable:
            return inputs[pid]
    fmt, nodes, outputs, lowered = _Unpickler(io.BytesIO(payload)).load()
    if fmt != _FORMAT:
        raise ValueError(f"function cache entry of format {fmt}, expected {_FORMAT}")
    for v in outputs:
        if not isinstance(v, Variable):
            raise ValueError("function cache entry: an output is not a variable")
    return FunctionGraph(list(inputs), outputs, clone=False), nodes, lowered


class Lowering:
    """The function-cache entry of one rewritten graph, as the C backend sees it: the
    lowered program stored with the graph (if any), and :meth:`store` to add one.

    ``cached_rewrite`` puts it on the graph it returns as ``fgraph.cached_lowering``;
    ``tensorc.backend.c.driver.build_c_runner`` reads it.
    """

    def __init__(self, key: str, parts: dict[str, str], nodes: list[Apply],
                 state: tuple | None) -> None:
        self.key, self.parts, self._nodes, self._state = key, parts, nodes, state

    def program(self, fgraph: FunctionGraph) -> tuple[Any, list[str], Any] | None:
        """``(Program, C sources, kernel names per source)`` stored for ``fgraph``, or None
        (none stored, the graph was edited since, or the state does not fit it).  The
        state is handed out once (a function keeps no second copy of its kernel sources)."""
        state, self._state = self._state, None
        if state is None:
            return None
        nodes = fgraph.toposort()
        if len(nodes) != len(self._nodes) or any(a is not b for a, b in zip(nodes, self._nodes)):
            return None
        from tensorc.lower.store import program_from_state
        try:
            return program_from_state(state, nodes)
        except Exception:  # a stale or damaged state is a miss: the graph is lowered again
            return None

    def store(self, fgraph: FunctionGraph, prog: Any, sources: Sequence[str],
              groups: Sequence[Sequence[str]] | None = None) -> bool:
        """Write the entry again with ``prog`` lowered from ``fgraph`` (compiled from
        ``sources``, ``groups[u]`` the kernels of unit ``u``); False when it cannot be
        stored (nothing is raised)."""
        from tensorc.backend.c import cache
        from tensorc.backend.c.errors import CacheError
        from tensorc.lower.store import program_state
        try:
            data = dump_rewritten(fgraph, program_state(prog, sources, groups))
        except Exception:  # an op or constant that does not pickle: keep the graph-only entry
            return False
        try:
            return cache.store_blob(KIND, self.key, data, parts=self.parts,
                                    name_hint=f"function:{len(fgraph.apply_nodes)}nodes+program")
        except (CacheError, OSError):
            return False


def cached_rewrite(inputs: Sequence[Variable], outputs: Sequence[Variable], mode: Any,
                   io_text: str, rewrite: Callable[[], FunctionGraph]) -> tuple[FunctionGraph, bool]:
    """The rewritten graph of ``inputs -> outputs``: from the cache, or ``rewrite()`` (which
    builds and rewrites it) and then stored.  Returns ``(graph, hit)``; the graph carries a
    :class:`Lowering` as ``cached_lowering`` when it is cacheable.  The key is computed on
    the user's graph itself (no copy is made on a hit).  Never fails because of the cache:
    an uncacheable graph, an unusable cache directory or a bad entry means "rewrite".
    """
    from tensorc.backend.c import cache
    from tensorc.backend.c.errors import CacheError
    try:
        parts = key_parts_io(inputs, outputs, mode, io_text)
    except Uncacheable:
        return rewrite(), False
    key = entry_key(parts)
    try:
        payload = cache.load_blob(KIND, key)
    except (CacheError, OSError):
        payload = None
    if payload is not None:
        try:
            fgraph, nodes, lowered = load_rewritten(payload, inputs)
            fgraph.cached_lowering = Lowering(key, parts, nodes, lowered)  # type: ignore[attr-defined]
            return fgraph, True
        except Exception:  # any unreadable payload is a miss; it is overwritten below
            pass
    fgraph = rewrite()
    try:
        data = dump_rewritten(fgraph)
    except Exception:  # an op that does not pickle: not cached
        return fgraph, False
    try:
        cache.store_blob(KIND, key, data, name_hint=f"function:{len(fgraph.apply_nodes)}nodes",
                         parts=parts)
    except (CacheError, OSError):
        return fgraph, False
    fgraph.cached_lowering = Lowering(key, parts, fgraph.toposort(), None)  # type: ignore[attr-defined]
    return fgraph, False

