"""The examples in the docstrings of every tensorc module run and give what they show."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tensorc

MODULES = sorted(m.name for m in pkgutil.walk_packages(tensorc.__path__, "tensorc.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see output)"
