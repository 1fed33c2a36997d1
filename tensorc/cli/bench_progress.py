"""Progress while the bench runs: a one-line bar on a terminal, plain lines otherwise.

Progress goes to stderr so that stdout carries only the report.

>>> import io
>>> out = io.StringIO()
>>> p = Progress(total=2, stream=out, tty=False)
>>> p.step("add 1e3 f64 · numpy"); p.done()
>>> out.getvalue()
'[1/2] add 1e3 f64 · numpy\\n'
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


class Progress:
    """Counts steps towards ``total``; ``step(label)`` announces what is timed next."""

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.count = 0
        self.started = time.perf_counter()

    def step(self, label: str) -> None:
        """Advance by one and show ``label`` as the thing being timed now."""
        self.count += 1
        if not self.tty:
            self.stream.write(f"[{self.count}/{self.total}] {label}\n")
            self.stream.flush()
            return
        width = shutil.get_terminal_size((100, 20)).columns
        elapsed = time.perf_counter() - self.started
        left = self.total - self.count
        head = f"[{self.count}/{self.total}, {left} left, {elapsed:.0f}s] "
        bar_len = 20
        filled = bar_len * (self.count - 1) // self.total
        bar = "#" * filled + "." * (bar_len - filled)
        line = f"{bar} {head}{label}"[: width - 1]
        self.stream.write("\r\x1b[K" + line)
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line that stays (a phase starting, a warning)."""
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        """Clear the bar."""
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
