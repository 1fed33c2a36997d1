"""``pydotprint``: draw a graph with Graphviz (DOT text always; png/svg/pdf when ``dot`` exists).

Apply nodes are ellipses labelled with their op; variables are boxes — inputs
green, shared variables cyan, constants light green, outputs blue.  With
``compact=True`` unnamed intermediate results are drawn as edges only.

>>> import tensorc.tensor as T
>>> x = T.dvector('x')
>>> text = graph_to_dot(T.exp(x) + 1)
>>> text.splitlines()[0], 'Elemwise{exp}' in text
('digraph G {', True)
"""
from __future__ import annotations

import os
import shutil
from typing import Any

from tensorc.graph.basic import Constant, Variable, io_toposort
from tensorc.printing.debugprint import roots_of

#: Fill colours by role (``colorCodes`` overrides them).
DEFAULT_COLORS: dict[str, str] = {
    "input": "limegreen", "shared": "cyan", "constant": "palegreen", "output": "dodgerblue",
    "unused": "lightgrey", "apply": "white",
}

INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
                "graphviz; conda: conda install graphviz), or ask for format='dot'")


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` executable is needed to render an image and is not on PATH."""


def _quote(text: str, max_size: int) -> str:
    if max_size and len(text) > max_size:
        text = text[:max_size - 3] + "..."
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def graph_to_dot(obj: Any, compact: bool = True, with_ids: bool = False, max_label_size: int = 70,
                 colorCodes: dict[str, str] | None = None) -> str:
    """The DOT text of the graph of ``obj`` (a variable, list, FunctionGraph or function)."""
    roots, _ = roots_of(obj)
    colors = {**DEFAULT_COLORS, **(colorCodes or {})}
    fg = getattr(getattr(obj, "maker", None), "fgraph", None) or (obj if hasattr(obj, "toposort") else None)
    inputs = list(fg.inputs) if fg is not None else []
    nodes = fg.toposort() if fg is not None else io_toposort([], roots)
    out_ids = {id(v) for v in roots}
    names: dict[int, str] = {}
    producer: dict[int, str] = {}
    client_count: dict[int, int] = {}
    for node in nodes:
        for v in node.inputs:
            client_count[id(v)] = client_count.get(id(v), 0) + 1
    lines = ["digraph G {", "  graph [rankdir=TB];"]

    def var_node(v: Variable) -> str:
        if id(v) in names:
            return names[id(v)]
        names[id(v)] = name = f"v{len(names)}"
        shared = hasattr(v, "get_value")
        role = ("output" if id(v) in out_ids else "constant" if isinstance(v, Constant)
                else "shared" if shared else "input" if v.owner is None
                else "apply" if client_count.get(id(v)) else "unused")
        label = f"{v}" if v.name is not None or v.owner is None else f"{v.type}"
        if with_ids:
            label = f"{name} {label}"
        label = f"{label}\n{v.type}" if v.owner is None and not isinstance(v, Constant) else label
        lines.append(f"  {name} [label={_quote(label, max_label_size)}, shape=box, style=filled, "
                     f"fillcolor={_quote(colors[role], 0)}];")
        return name

    for v in inputs:
        if id(v) not in out_ids and v.owner is None:
            var_node(v)
    for k, node in enumerate(nodes):
        a = f"a{k}"
        label = f"{k} {node.op}" if with_ids else str(node.op)
        lines.append(f"  {a} [label={_quote(label, max_label_size)}, shape=ellipse, style=filled, "
                     f"fillcolor={_quote(colors['apply'], 0)}];")
        for i, v in enumerate(node.inputs):
            drawn = v.owner is None or id(v) in names or not compact or v.name is not None \
                or id(v) in out_ids
            src = var_node(v) if drawn else producer[id(v)]
            edge = f' [label="{i}"]' if len(node.inputs) > 1 else ""
            lines.append(f"  {src} -> {a}{edge};")
        for v in node.outputs:
            producer[id(v)] = a
            if not compact or v.name is not None or id(v) in out_ids or not client_count.get(id(v)):
                lines.append(f"  {a} -> {var_node(v)};")
    for v in roots:
        if v.owner is None:
            var_node(v)
    lines.append("}")
    return "\n".join(lines) + "\n"


def pydotprint(fct: Any, outfile: str | None = None, compact: bool = True, format: str = "png",
               with_ids: bool = False, high_contrast: bool = True, cond_highlight: Any = None,
               colorCodes: dict[str, str] | None = None, max_label_size: int = 70,
               scan_graphs: bool = False, var_with_name_simple: bool = False,
               print_output_file: bool = True, return_image: bool = False) -> Any:
    """Draw ``fct`` (a compiled function, FunctionGraph, variable or list) with Graphviz.

    Writes ``outfile`` (default: ``<cache_dir>/tensorc.pydotprint.cpu.<format>``) and
    returns its path; ``return_image=True`` returns the image bytes instead (the DOT
    text, a str, for ``format='dot'``).  ``format='dot'`` never needs Graphviz; other
    formats run its ``dot`` executable and raise ``GraphvizNotFoundError`` (saying how
    to install it, after saving the DOT text beside ``outfile``) when it is missing.
    ``high_contrast``, ``cond_highlight``, ``scan_graphs`` and ``var_with_name_simple``
    are accepted for Theano compatibility.

    >>> import tensorc.tensor as T
    >>> x = T.dscalar('x')
    >>> pydotprint(x * 2, format='dot', return_image=True).startswith('digraph')
    True
    """
    text = graph_to_dot(fct, compact=compact, with_ids=with_ids, max_label_size=max_label_size,
                        colorCodes=colorCodes)
    if format == "dot" and return_image:
        return text
    if outfile is None:
        from tensorc.config import config
        os.makedirs(config.cache_dir, mode=0o700, exist_ok=True)
        outfile = os.path.join(config.cache_dir, f"tensorc.pydotprint.{config.device}.{format}")
    if format == "dot":
        _write(outfile, text)
    else:
        image = render_dot(text, format, outfile)
        if return_image:
            return image
        with open(outfile, "wb") as fh:
            fh.write(image)
    if print_output_file:
        print(f"The output file is available at {outfile}")
    return outfile


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def render_dot(text: str, format: str, outfile: str | None = None) -> bytes:
    """Run Graphviz's ``dot -T<format>`` on ``text`` and return the image bytes."""
    exe = shutil.which("dot")
    if exe is None:
        saved = ""
        if outfile is not None:
            saved = os.path.splitext(outfile)[0] + ".dot"
            _write(saved, text)
            saved = f"; the DOT text was saved to {saved}"
        raise GraphvizNotFoundError(f"pydotprint: cannot render format {format!r}: Graphviz's 'dot' "
                                    f"executable is not on PATH; {INSTALL_HINT}{saved}")
    import subprocess  # only when rendering (its import costs ~5 ms of `import tensorc`)
    proc = subprocess.run([exe, f"-T{format}"], input=text.encode("utf-8"), capture_output=True,
                          timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"pydotprint: '{exe} -T{format}' failed (exit {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout
