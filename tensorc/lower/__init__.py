"""Lowering: a rewritten graph becomes a ``Program`` of C-kernel and numpy steps.

>>> from tensorc.lower import lower, Program
"""
from tensorc.lower.program import KernelStep, NumpyStep, Program, lower

__all__ = ["KernelStep", "NumpyStep", "Program", "lower"]
