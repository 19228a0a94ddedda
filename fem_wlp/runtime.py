"""Thread limits of the numerical libraries (BLAS, MKL, OpenMP, numba), set only when asked: by the CLI entry
point and by the worker initializer of a parallel study. Importing fem_wlp changes nothing in os.environ.

(Minimal version written by helper h1 so that workflows/parallel.py runs; helper h3 owns this module.)
"""
from __future__ import annotations

import os

#: environment variables that cap the threads of BLAS, MKL, OpenMP and numba
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def limit_threads(n: int | None) -> None:
    """Cap the threads of libraries loaded after this call at `n` (no change for None)."""
    if n is None:
        return
    for var in THREAD_VARS:
        os.environ[var] = str(int(n))
