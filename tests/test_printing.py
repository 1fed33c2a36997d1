"""``tensorc.printing``: pp, debugprint, pydotprint / graph_to_dot."""
from __future__ import annotations

import io
import os
import stat

import numpy as np
import pytest

import tensorc
import tensorc.tensor as T
from tensorc.printing import (GraphvizNotFoundError, char_id, debugprint, graph_to_dot, pp,
                              pydotprint)

x, y = T.dscalar("x"), T.dscalar("y")
v = T.dvector("v")


# -- pp -----------------------------------------------------------------------------------
@pytest.mark.parametrize("expr, expected", [
    ((x + y) * y, "((x + y) * y)"),
    (x - y / x, "(x - (y / x))"),
    (x ** y, "(x ** y)"),
    (-x, "-x"),
    (-(x + y), "-(x + y)"),
    (x // y, "(x // y)"),
    (x % y, "(x % y)"),
    (T.exp(x) + T.log(y), "(exp(x) + log(y))"),
    (T.lt(x, y), "(x < y)"),
    (T.eq(x, y), "(x == y)"),
    (T.fill(x, y), "fill(x, y)"),
    (T.abs_(x), "abs(x)"),
    (T.dscalar() + x, "(<TensorType(float64, scalar)> + x)"),
    (v + x, "(v + x)"),  # the broadcasting dimshuffle of x is invisible
])
def test_pp_infix(expr, expected):
    assert pp(expr) == expected


def test_pp_constants_transpose_and_lists():
    m = T.dmatrix("m")
    assert pp(x * 2) == "(x * TensorConstant{2.0})"
    assert pp(m.T) == "m.T"
    assert pp([x + y, x * y]) == "(x + y)\n(x * y)"


m2, i = T.dmatrix("m2"), T.lscalar("i")


@pytest.mark.parametrize("expr, expected", [
    (m2[0], "m2[0]"),
    (m2[1:, ::2], "m2[1:, ::2]"),
    (m2[i, 1:3], "m2[i, 1:3]"),
    (m2[:, i], "m2[:, i]"),
    (m2[i * 2:(i + 1) * 2], "m2[(i * TensorConstant{2}):((i + TensorConstant{1}) * TensorConstant{2})]"),
])
def test_pp_indexing(expr, expected):
    assert pp(expr) == expected


def test_pp_of_a_compiled_function_prints_its_outputs():
    f = tensorc.function([x, y], [x + y, x * y], mode="FAST_COMPILE")
    assert pp(f) == "(x + y)\n(x * y)"
    assert pp(f.maker.fgraph.outputs[0]) == "(x + y)"


def test_pp_rejects_non_graphs():
    with pytest.raises(TypeError, match=r"pp: expected a variable.*got int"):
        pp(3)


# -- debugprint ---------------------------------------------------------------------------
def test_debugprint_tree_and_shared_subgraph():
    z = x * y
    text = debugprint(z + z, file="str")
    assert text == ("Elemwise{add} [id A] ''\n"
                    " |Elemwise{mul} [id B] ''\n"
                    " | |x [id C]\n"
                    " | |y [id D]\n"
                    " |Elemwise{mul} [id B] ''\n")


@pytest.mark.parametrize("ids, first, second", [
    ("CHAR", "[id A]", "[id B]"), ("int", "[id 0]", "[id 1]"), ("", "", ""),
])
def test_debugprint_id_styles(ids, first, second):
    lines = debugprint(T.exp(v), file="str", ids=ids).splitlines()
    assert lines[0] == f"Elemwise{{exp}} {first} ''".replace("  ", " ")
    assert lines[1] == f" |v {second}".rstrip()


def test_debugprint_python_ids_types_names_and_depth():
    w = T.exp(v)
    w.name = "ew"
    text = debugprint(w * 2, file="str", ids="id", print_type=True)
    assert f"[id {id(w.owner)}]" in text
    assert "<TensorType(float64, vector)> 'ew'" in text
    shallow = debugprint(w * 2, file="str", depth=1)
    assert len(shallow.splitlines()) == 1
    stopped = debugprint(w * 2, file="str", stop_on_name=True)
    assert " | |v" not in stopped and "'ew'" in stopped


def test_debugprint_function_shows_execution_order_and_updates():
    s = tensorc.shared(np.ones(2), name="s")
    f = tensorc.function([v], T.exp(v) * s, updates=[(s, s + 1)], mode="FAST_COMPILE")
    lines = debugprint(f, file="str").splitlines()
    n_nodes = len(f.maker.fgraph.toposort())
    positions = sorted(int(line.rsplit(" ", 1)[1]) for line in lines if line.endswith(tuple("0123456789"))
                       and "'" in line)
    assert set(positions) == set(range(n_nodes))
    assert any(line.startswith(" |s [id") for line in lines)
    assert sum(1 for line in lines if not line.startswith(" ")) == 2  # output + update


def test_debugprint_streams_and_lists():
    buf = io.StringIO()
    assert debugprint([x + y, v], file=buf) is buf
    assert buf.getvalue().splitlines()[-1] == "v [id D]"


def test_debugprint_bad_arguments():
    with pytest.raises(TypeError, match=r"debugprint: expected.*got str"):
        debugprint("x + y", file="str")
    with pytest.raises(ValueError, match=r"ids must be.*got 'hex'"):
        debugprint(x, file="str", ids="hex")


@pytest.mark.parametrize("n, label", [(0, "A"), (25, "Z"), (26, "AA"), (51, "AZ"), (52, "BA"),
                                      (701, "ZZ"), (702, "AAA")])
def test_char_ids(n, label):
    assert char_id(n) == label


# -- DOT / pydotprint ---------------------------------------------------------------------
def _fn() -> tensorc.Function:
    s = tensorc.shared(np.ones(2), name="s")
    return tensorc.function([v], [T.exp(v) * s + 1], mode="FAST_COMPILE")


def test_graph_to_dot_structure():
    f = _fn()
    text = graph_to_dot(f)
    assert text.startswith("digraph G {") and text.rstrip().endswith("}")
    for fragment in ('label="v\\nTensorType(float64, vector)"', 'fillcolor="cyan"',
                     'label="Elemwise{exp}"', 'fillcolor="dodgerblue"', '[label="1"]'):
        assert fragment in text
    n_apply = sum(1 for line in text.splitlines() if "shape=ellipse" in line)
    assert n_apply == len(f.maker.fgraph.toposort())
    full = graph_to_dot(f, compact=False, with_ids=True, colorCodes={"input": "red"})
    assert full.count("shape=box") > text.count("shape=box") and 'fillcolor="red"' in full


def test_graph_to_dot_escapes_quotes():
    q = T.dscalar('say "hi"')
    assert 'label="say \\"hi\\"\\nTensorType(float64, scalar)"' in graph_to_dot(q * 2)


def test_pydotprint_dot_format_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    f = _fn()
    assert pydotprint(f, format="dot", return_image=True) == graph_to_dot(f)
    out = tmp_path / "g.dot"
    assert pydotprint(f, outfile=str(out), format="dot", print_output_file=False) == str(out)
    assert out.read_text() == graph_to_dot(f)


def test_pydotprint_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "g.png"
    with pytest.raises(GraphvizNotFoundError, match=r"'dot' executable.*apt-get install graphviz"):
        pydotprint(_fn(), outfile=str(out))
    assert not out.exists()
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def _fake_dot(tmp_path, body: str) -> None:
    exe = tmp_path / "dot"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)


def test_pydotprint_renders_through_dot(tmp_path, monkeypatch, capsys):
    # a stand-in 'dot' echoing its format flag and input proves how Graphviz is invoked
    _fake_dot(tmp_path, 'echo "rendered $1"\ncat\n')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "g.svg"
    f = _fn()
    assert pydotprint(f, outfile=str(out), format="svg") == str(out)
    assert out.read_text() == "rendered -Tsvg\n" + graph_to_dot(f)
    assert str(out) in capsys.readouterr().out
    assert pydotprint(f, format="png", return_image=True).startswith(b"rendered -Tpng")


def test_pydotprint_reports_graphviz_failures(tmp_path, monkeypatch):
    _fake_dot(tmp_path, 'echo "syntax error near line 3" >&2\nexit 2\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"-Tpng' failed \(exit 2\): syntax error near line 3"):
        pydotprint(_fn(), outfile=str(tmp_path / "g.png"))


# -- Print op -----------------------------------------------------------------------------
def test_print_op_prints_and_passes_the_value_through(mode, capsys):
    from tensorc.printing import Print
    w = T.dvector("w")
    printed = Print("hello", attrs=("shape", "sum"))(w)
    f = tensorc.function([w], [printed * 2, tensorc.grad((printed ** 2).sum(), w)], mode=mode)
    out, grad = f(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(out, [2.0, 4.0])
    np.testing.assert_array_equal(grad, [2.0, 4.0])
    assert capsys.readouterr().out.splitlines()[:2] == ["hello shape = (2,)", "hello sum = 3.0"]


def test_print_op_global_fn_and_identity():
    from tensorc.printing import Print
    seen = []
    w = T.dvector("w")
    op = Print("m", global_fn=lambda o, value: seen.append((o.message, value.tolist())))
    f = tensorc.function([w], op(w), mode="FAST_COMPILE")
    a = np.array([3.0])
    r = f(a)
    assert seen == [("m", [3.0])]
    assert r is not a and r.tolist() == [3.0]  # the view of an input is copied on return
    assert Print("a") == Print("a") and Print("a") != Print("b")
