"""The C backend: runtime header, compiler driver, on-disk kernel cache, kernel runner.

Modules (imported lazily by their users; importing this package costs nothing):

- ``compiler``: find the C compiler, its flags, compile a shared library.
- ``cache``: ``get_library(source, name_hint=...)`` -> a loaded, cached library.
- ``runner``: call kernels (``int kernel(const tc_arg *args)``) with numpy arrays.
- ``cpu``: CPU-feature fingerprint for the cache key.
- ``paths``: where ``tensorc_runtime.h`` and the extension sources live.
- ``errors``: ``CompileError``, ``CacheError``, ``KernelError``.
"""
