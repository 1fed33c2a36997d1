"""A STREAM-style triad, compiled and run at bench time, for the memory-bandwidth floor.

The kernel ``a[i] = b[i] + s*c[i]`` over arrays far larger than the caches is compiled with
``cc -O3 -march=native -fopenmp`` into a temporary directory and run with the bench's thread
count; the best of several passes gives the bandwidth (STREAM counts 3 × 8 bytes per element).
Without a working compiler the floor is unknown and :func:`measure_triad` says why.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from typing import Any, Mapping

TRIAD_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 20000000L;
    int reps = argc > 2 ? atoi(argv[2]) : 10;
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)),
           *c = malloc(n * sizeof(double));
    if (!a || !b || !c) { fprintf(stderr, "out of memory\n"); return 1; }
    #pragma omp parallel for
    for (long i = 0; i < n; i++) { a[i] = 1.0; b[i] = 2.0; c[i] = 0.5; }
    double best = 1e30, s = 3.0;
    for (int r = 0; r < reps; r++) {
        double t = omp_get_wtime();
        #pragma omp parallel for
        for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        t = omp_get_wtime() - t;
        if (t < best) best = t;
    }
    double check = 0;
    for (long i = 0; i < n; i += n / 16) check += a[i];
    printf("%.6f %d %.3f\n", 3.0 * sizeof(double) * n / best / 1e9, omp_get_max_threads(), check);
    return 0;
}
"""


@dataclass(frozen=True)
class TriadResult:
    """Bandwidth in GB/s (``None`` when unknown, with ``note`` saying why)."""
    gbps: float | None
    threads: int | None
    note: str

    def as_dict(self) -> dict[str, Any]:
        """The fields, for JSON."""
        return asdict(self)


def measure_triad(threads: int, env: Mapping[str, str], n: int = 20_000_000,
                  reps: int = 10, compiler: str | None = None) -> TriadResult:
    """Compile and run the triad; never raises."""
    cc = compiler or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return TriadResult(None, None, "no C compiler found: memory-bandwidth floor unknown")
    with tempfile.TemporaryDirectory(prefix="tensorc-stream-") as tmp:
        src, exe = os.path.join(tmp, "triad.c"), os.path.join(tmp, "triad")
        with open(src, "w", encoding="utf-8") as fh:
            fh.write(TRIAD_C)
        try:
            built = subprocess.run([cc, "-O3", "-march=native", "-fopenmp", src, "-o", exe],
                                   capture_output=True, text=True, timeout=120)
            if built.returncode != 0:
                err = (built.stderr.strip().splitlines() or ["?"])[-1]
                return TriadResult(None, None, f"triad did not compile ({err}): floor unknown")
            run_env = dict(env, OMP_NUM_THREADS=str(threads))
            ran = subprocess.run([exe, str(n), str(reps)], capture_output=True, text=True,
                                 timeout=300, env=run_env)
        except (OSError, subprocess.SubprocessError) as exc:
            return TriadResult(None, None, f"triad failed ({exc}): floor unknown")
        if ran.returncode != 0 or not ran.stdout.split():
            return TriadResult(None, None, f"triad failed ({ran.stderr.strip()}): floor unknown")
        gbps, used, _ = ran.stdout.split()
        return TriadResult(round(float(gbps), 2), int(used),
                           f"STREAM triad, {n:.0e} doubles, best of {reps}")
