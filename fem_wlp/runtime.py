"""Process-wide runtime settings that must be made before the numerical libraries load: thread limits.

Nothing here runs at import time. The two callers are the `fem-wlp` entry point (cli/main.py, before any
subcommand module imports numpy) and the initializer of each worker process of a parallel study.

BLAS, MKL, OpenMP and numba read their thread counts from the environment when they are first loaded, so a limit
set here takes effect only for libraries that are not loaded yet in this process (and for the child processes
started afterwards, which inherit the environment).
"""
from __future__ import annotations

import os
from contextlib import contextmanager

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


@contextmanager
def environment(values: dict | None = None, keep=()):
    """Environment variables `values` set (and those named in `keep` saved) for the duration of the block, then
    every one of them restored, unset ones removed again."""
    saved = {k: os.environ.get(k) for k in (*(values or {}), *keep)}
    os.environ.update(values or {})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def in_child(fn, *args, attempts: int = 2, what: str = "a child process", env=None, **kwargs):
    """fn(*args, **kwargs) in a fresh spawned process, so that a crash of native code (a segfault) fails this call
    instead of killing the caller: gmsh 4.15's 3D mesher segfaulted several times in session 7, always at the
    same instruction in libgmsh, and it depends on the thread count (the 2x2 package submodel cell at 0.0191 mm
    crashes on one OpenMP thread and meshes on two; multithreaded HXT crashed the many-joint global model now
    and then). A crashed child is retried in a new one, `attempts` times in all, then RuntimeError; exceptions
    raised by fn propagate (InputError and ConvergenceError pickle with their fields). env: environment
    variables for the child (e.g. OMP_NUM_THREADS), one dict for every attempt or a sequence of dicts, one per
    attempt (then attempts = its length). In a daemonic process (which may not start children) fn runs here."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if mp.current_process().daemon:
        return fn(*args, **kwargs)
    envs = [env or {}] * attempts if env is None or isinstance(env, dict) else list(env)
    for e in envs:
        with environment(e):                   # the spawned child copies the environment when it starts
            with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as ex:
                try:
                    return ex.submit(fn, *args, **kwargs).result()
                except BrokenProcessPool:
                    continue
    raise RuntimeError(f"{what} crashed {len(envs)} times (the process died, e.g. a segfault in a native library)")
