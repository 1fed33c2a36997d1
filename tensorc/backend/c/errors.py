"""Exceptions of the C backend."""
from __future__ import annotations

from typing import Sequence


class CompileError(RuntimeError):
    """The C compiler is missing or rejected a source.

    Carries everything needed to reproduce the failure: the compiler's
    ``stderr``, the full ``command`` and the ``source_path`` of the C file.
    """

    def __init__(self, message: str, *, stderr: str = "", command: Sequence[str] = (),
                 source_path: str | None = None) -> None:
        self.stderr = stderr
        self.command = list(command)
        self.source_path = source_path
        parts = [message]
        if source_path:
            parts.append(f"source: {source_path}")
        if self.command:
            parts.append("command: " + " ".join(self.command))
        if stderr:
            parts.append("compiler output:\n" + stderr.rstrip())
        super().__init__("\n".join(parts))


class CacheError(RuntimeError):
    """The kernel cache directory cannot be trusted or used (permissions, owner)."""


class KernelError(ValueError):
    """A compiled kernel rejected its operands (wrong ndim, shape, dtype, read-only output).

    ``code`` is the TC_ERR_* code of ``tensorc_runtime.h``, ``step`` the index of
    the failing kernel call (-1 while binding inputs) and ``operand`` the index
    of the offending operand in that step (or the bound slot while binding).
    """

    def __init__(self, message: str, *, code: int, step: int, operand: int) -> None:
        self.code, self.step, self.operand = code, step, operand
        super().__init__(message)
