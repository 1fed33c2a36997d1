"""Commit records of the disk cache as text: one ``name:type=value`` line per field.

Why not JSON: a warm process reads three records to reuse a compiled function, and
``import json`` alone (its modules compile seven regular expressions) cost 2.5–3.5 ms,
about a tenth of a warm build.  This format is read with ``str`` methods only, stays
readable in an editor, and round-trips the few value types records hold: ``str``
(``s``; backslashes, newlines and carriage returns escaped), ``int`` (``i``), ``float``
(``f``, written with ``repr``), ``bool`` (``b``, 0/1) and one level of ``dict`` of
those (fields ``parent.child``).  Anything else in a file is a :class:`ValueError`, which
the cache treats like a missing record (the entry is not trusted).

>>> text = dumps({"key": "ab", "size": 3, "ok": True, "parts": {"cc": "gcc\\n12"}})
>>> print(text, end="")
key:s=ab
size:i=3
ok:b=1
parts.cc:s=gcc\\n12
>>> loads(text) == {"key": "ab", "size": 3, "ok": True, "parts": {"cc": "gcc\\n12"}}
True
"""
from __future__ import annotations

from typing import Any

_ESCAPES = (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"))


def _escape(text: str) -> str:
    for raw, esc in _ESCAPES:
        text = text.replace(raw, esc)
    return text


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, k = [], 0
    while k < len(text):
        c = text[k]
        if c != "\\":
            out.append(c)
            k += 1
            continue
        nxt = text[k + 1:k + 2]
        if nxt not in ("\\", "n", "r"):
            raise ValueError(f"bad escape \\{nxt} in a cache record")
        out.append({"\\": "\\", "n": "\n", "r": "\r"}[nxt])
        k += 2
    return "".join(out)


def _line(name: str, value: Any) -> str:
    if "=" in name or ":" in name or "\n" in name:
        raise ValueError(f"cache record field name {name!r} contains '=', ':' or a newline")
    if isinstance(value, bool):
        return f"{name}:b={int(value)}"
    if isinstance(value, int):
        return f"{name}:i={value}"
    if isinstance(value, float):
        return f"{name}:f={value!r}"
    if isinstance(value, str):
        return f"{name}:s={_escape(value)}"
    raise TypeError(f"cache record field {name!r}: cannot store a {type(value).__name__}")


def dumps(fields: dict[str, Any]) -> str:
    """The record text of ``fields`` (values: str, int, float, bool, or a dict of those)."""
    lines = []
    for name, value in fields.items():
        if "." in name:
            raise ValueError(f"cache record field name {name!r} contains '.'")
        if isinstance(value, dict):
            lines += [_line(f"{name}.{k}", v) for k, v in value.items()]
        else:
            lines.append(_line(name, value))
    return "".join(line + "\n" for line in lines)


def _value(kind: str, text: str) -> Any:
    if kind == "s":
        return _unescape(text)
    if kind == "i":
        return int(text)
    if kind == "f":
        return float(text)
    if kind == "b" and text in ("0", "1"):
        return text == "1"
    raise ValueError(f"bad field type {kind!r} or value {text!r} in a cache record")


def loads(text: str) -> dict[str, Any]:
    """The fields of a record written by :func:`dumps`; :class:`ValueError` on anything else
    (a truncated or foreign file: the last line must end with a newline)."""
    if text and not text.endswith("\n"):
        raise ValueError("cache record does not end with a newline (truncated)")
    out: dict[str, Any] = {}
    for line in text.split("\n")[:-1]:
        head, sep, raw = line.partition("=")
        name, colon, kind = head.rpartition(":")
        if not sep or not colon or not name:
            raise ValueError(f"malformed cache record line {line[:60]!r}")
        parent, dot, child = name.partition(".")
        if dot:
            group = out.setdefault(parent, {})
            if not isinstance(group, dict):
                raise ValueError(f"cache record field {parent!r} is both a value and a group")
            group[child] = _value(kind, raw)
        elif name in out:
            raise ValueError(f"cache record field {name!r} appears twice")
        else:
            out[name] = _value(kind, raw)
    return out
