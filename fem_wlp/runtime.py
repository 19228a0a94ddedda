"""Process-wide runtime settings that must be made before the numerical libraries load: thread limits.

Nothing here runs at import time. The two callers are the `fem-wlp` entry point (cli/main.py, before any
subcommand module imports numpy) and the initializer of each worker process of a parallel study.

BLAS, MKL, OpenMP and numba read their thread counts from the environment when they are first loaded, so a limit
set here takes effect only for libraries that are not loaded yet in this process (and for the child processes
started afterwards, which inherit the environment).
"""
from __future__ import annotations

import os

#: environment variables that cap the threads of OpenMP, MKL (PARDISO), numpy's OpenBLAS and numba
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def limit_threads(n: int | None = None) -> None:
    """Set the thread limits of this process (effective for the libraries loaded after the call).

    n None (the command line): numpy's bundled OpenBLAS on one thread unless the environment already says
        otherwise; MKL (PARDISO), OpenMP and numba keep their defaults. fem_wlp's own BLAS calls are
        element-sized (einsum/matmul over 6x6 blocks), and OpenBLAS threads spinning after each call take the
        cores that PARDISO's MKL threads need (timing in benchmarks/README.md).
    n >= 1 (a worker process of a parallel study): every variable of THREAD_VARS set to n, replacing any
        inherited value, so that n workers x n threads do not oversubscribe the cores.
    """
    if n is None:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"limit_threads: n = {n!r}; allowed: None or an integer >= 1")
    os.environ.update({v: str(n) for v in THREAD_VARS})
