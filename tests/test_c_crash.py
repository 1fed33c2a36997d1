"""Bad inputs to compiled C functions raise Python exceptions; run in a subprocess so a
crash (segfault, abort) is a test failure rather than the end of the test session."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tensorc.backend.c.driver import c_backend_available
from subproc import PACKAGE_PARENT

pytestmark = pytest.mark.skipif(not c_backend_available(), reason="no working C compiler")

SCRIPT = textwrap.dedent("""
    import numpy as np, tensorc, tensorc.tensor as T
    C = tensorc.Mode(backend="c")
    x, y, r = T.dmatrix("x"), T.dmatrix("y"), T.drow("r")
    f = tensorc.function([x, y, r], [T.exp(x) + y * r, T.sum(x * y, axis=0)], mode=C)
    g = tensorc.function([x, y, r], T.exp(x) + y * r, mode=C, trust_input=True)
    s = tensorc.function([x], tensorc.tensor.nnet.softmax(x), mode=C, trust_input=True)
    a = np.ones((3, 4))
    CASES = {
        "shape": lambda: f(a, np.ones((3, 5)), np.ones((1, 4))),
        "bcast": lambda: f(a, a, np.ones((2, 4))),
        "trust_dtype": lambda: g(a.astype("float32"), a, np.ones((1, 4))),
        "trust_ndim": lambda: g(np.ones(3), a, np.ones((1, 4))),
        "trust_shape": lambda: g(a, np.ones((30, 40)), np.ones((1, 4))),
        "trust_bcast": lambda: g(a, a, np.ones((5, 4))),
        "trust_not_array": lambda: g(a, [[1.0] * 4] * 3, np.ones((1, 4))),
        "trust_softmax_ndim": lambda: s(np.ones((2, 2, 2))),
        "big_endian": lambda: g(a.astype(">f8"), a, np.ones((1, 4))),
    }
    for name, case in CASES.items():
        try:
            case()
        except (ValueError, TypeError) as exc:
            print(name, "raised", type(exc).__name__, str(exc).replace("\\n", " ")[:200], flush=True)
        else:
            print(name, "returned", flush=True)
    print("survived", flush=True)
""")

EXPECT = {
    "shape": r"ValueError .*\(3, 4\).*\(3, 5\)",
    "bcast": "ValueError .*broadcastable",
    "trust_dtype": "ValueError .*dtype",
    "trust_ndim": "ValueError .*dimensions",
    "trust_shape": r"ValueError .*\(30, 40\)",
    "trust_bcast": r"ValueError .*\(5, 4\)",
    "trust_not_array": "ValueError .*not an array",
    "trust_softmax_ndim": "ValueError .*dimensions",
    "big_endian": "(ValueError|TypeError) ",
}


@pytest.fixture(scope="module")
def crash_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                         env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                          cwd=PACKAGE_PARENT,
                          timeout=300)
    assert proc.returncode == 0, f"the subprocess died (status {proc.returncode}):\n{proc.stderr}"
    assert "survived" in proc.stdout
    return proc.stdout


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_bad_input_raises(crash_output: str, case: str) -> None:
    import re
    line = next(l for l in crash_output.splitlines() if l.startswith(case + " "))
    assert re.search(EXPECT[case], line), line
