"""CPU-feature fingerprint for the kernel cache key.

Kernels are compiled with ``-march=native``, so a cache shared by machines with
different CPUs (NFS homes) must not hand one machine's binary to another. The
fingerprint hashes the ISA feature flags of the first CPU listed in
``/proc/cpuinfo`` (read only up to its flags line: ~0.1 ms even on machines
with hundreds of cores), plus the machine architecture. Elsewhere it falls back
to ``platform`` information.
"""
from __future__ import annotations

import functools
import platform

from tensorc.backend.c.fsutil import sha256_hex

_FLAG_KEYS = ("flags", "features")  # x86 / arm64 spelling in /proc/cpuinfo


@functools.lru_cache(maxsize=4)
def _cpuinfo_flags(path: str = "/proc/cpuinfo") -> str | None:
    """The feature-flag line of the first CPU, whitespace-normalised and sorted."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() in _FLAG_KEYS:
                    return " ".join(sorted(value.split()))
    except OSError:
        return None
    return None


@functools.lru_cache(maxsize=None)
def cpu_flags() -> frozenset[str]:
    """The set of CPU feature flags (empty when unknown).

    >>> isinstance(cpu_flags(), frozenset)
    True
    """
    text = _cpuinfo_flags()
    return frozenset(text.split()) if text else frozenset()


@functools.lru_cache(maxsize=None)
def cpu_fingerprint() -> str:
    """A short stable hash identifying the instruction set of this CPU.

    >>> len(cpu_fingerprint())
    16
    """
    text = _cpuinfo_flags()
    if text is None:
        text = "|".join((platform.processor(), platform.version()))
    ident = f"{platform.machine()}|{text}"
    return sha256_hex(ident)[:16]


def has_avx512f() -> bool:
    """True when the CPU reports AVX-512 Foundation."""
    return "avx512f" in cpu_flags()
