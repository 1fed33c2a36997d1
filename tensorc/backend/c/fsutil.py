"""Filesystem helpers for the kernel cache: private directories, trust checks, atomic
writes, digests.

``import tensorc`` loads this module (the C backend's warm path), so the standard modules
only a cache *write* needs (``tempfile``, ~3.7 ms with ``random``) or that numpy.random
loads anyway (``hashlib``: OpenSSL, ~5 ms) are imported where they are first used.
"""
from __future__ import annotations

import os
import stat

from tensorc.backend.c.errors import CacheError


def check_trusted_dir(path: str) -> None:
    """Raise :class:`CacheError` unless ``path`` is a directory owned by us and
    writable by nobody else (loading code from it would run someone else's code).

    >>> import tempfile; d = tempfile.mkdtemp(); check_trusted_dir(d)
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise CacheError(f"kernel cache directory {path!r} is not usable: {exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise CacheError(f"kernel cache path {path!r} is not a directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise CacheError(f"refusing to load compiled code from {path!r}: it is owned by uid "
                         f"{st.st_uid}, not by you (uid {os.getuid()}); set config.cache_dir "
                         "to a directory of your own")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheError(f"refusing to load compiled code from {path!r}: it is writable by "
                         f"group or others (mode {stat.S_IMODE(st.st_mode):o}); "
                         f"run `chmod 700 {path}` or choose another config.cache_dir")


def ensure_private_dir(path: str) -> str:
    """Create ``path`` (and parents) with mode 0700 if missing, then check it is trusted."""
    if not os.path.isdir(path):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create kernel cache directory {path!r}: {exc}") from None
    check_trusted_dir(path)
    return path


def sha256_hex(data: bytes | str) -> str:
    """The sha256 of ``data`` (text as UTF-8), in hex.

    >>> sha256_hex("abc")[:16]
    'ba7816bf8f01cfea'
    """
    import hashlib
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def atomic_write(path: str, data: bytes | str) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``."""
    import tempfile
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".tmp.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def temp_path_beside(path: str) -> str:
    """A fresh, unused name ``<path>.tmp.<pid>.<random>`` in the same directory."""
    import tempfile
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{os.path.basename(path)}.tmp.{os.getpid()}.")
    os.close(fd)
    return tmp
