"""Parallel execution of cases: a local process pool (default: one process per core) or a Dask cluster
(`--scheduler tcp://host:8786`). Results are yielded as cases finish, so that the caller writes each at once.

Pool workers are single-purpose: their initializer caps the library threads (runtime.limit_threads) and makes
them end when the parent process dies (PR_SET_PDEATHSIG on Linux, and a watchdog thread that notices the parent
change elsewhere), so that killing `fem-wlp run` never leaves workers behind.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from fem_wlp.errors import InputError
from fem_wlp.runtime import THREAD_VARS, environment, limit_threads
from fem_wlp.workflows.case import run_case

#: seconds between two checks of the watchdog thread for a dead parent
WATCHDOG_PERIOD_S = 1.0
_PR_SET_PDEATHSIG = 1


def check_workers(workers, scheduler=None) -> None:
    """--workers and --scheduler, checked before anything is written."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError("--workers", workers, "an integer >= 1")
    if scheduler:
        _dask(scheduler)


def _dask(address):
    try:
        from dask.distributed import Client, as_completed   # optional dependency (fem_wlp[cluster])
    except ImportError:
        raise InputError("--scheduler", address, "dask[distributed] installed (pip install 'fem_wlp[cluster]')") from None
    return Client, as_completed


def worker_count(n_cases: int, workers: int | None) -> int:
    """Default: one single-threaded process per core; a study with a few more cases than cores (3 designs on 2
    cores) runs them all at once, so that they share the cores to the end instead of one case running alone
    after the others."""
    ncpu = os.cpu_count() or 1
    n = workers or (n_cases if n_cases <= 2 * ncpu else ncpu)
    return max(1, min(n, n_cases))


def run_cases(cases, outdir: str, workers=None, scheduler=None, quiet=True):
    """Run cases; yield each case summary as it finishes. Local process pool, or Dask if `scheduler` is set."""
    if not cases:
        return
    if scheduler:
        yield from _run_dask(cases, outdir, scheduler)
        return
    n = worker_count(len(cases), workers)
    if n == 1:
        for c in cases:
            yield run_case(c, outdir, quiet=quiet)
        return
    threads = max(1, (os.cpu_count() or 1) // n)
    # the spawned workers read the thread limits from their environment when BLAS/MKL first load, which can
    # happen before the initializer runs (while the worker imports the parent's main module): so the limits are
    # in the environment the pool is started with, and restored in the parent afterwards
    with environment(keep=THREAD_VARS):
        limit_threads(threads)
        yield from _pool(cases, outdir, n, threads)


def init_worker(threads: int | None, parent_pid: int) -> None:
    """Pool-worker initializer: thread limits, and end with the parent."""
    limit_threads(threads)
    end_with_parent(parent_pid)


def end_with_parent(parent_pid: int) -> None:
    """Make this process exit when the process `parent_pid` (its parent) dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:           # the parent died before prctl took effect
        os._exit(1)

    def watch():
        while True:
            time.sleep(WATCHDOG_PERIOD_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="fem-wlp-parent-watchdog", daemon=True).start()


def _pool(cases, outdir, n, threads):
    ctx = mp.get_context("spawn")                     # no inherited gmsh/MKL state in the workers
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=init_worker,
                             initargs=(threads, os.getpid())) as pool:
        futs = {pool.submit(run_case, c, outdir): c for c in cases}
        for f in as_completed(futs):
            c = futs[f]
            try:
                yield f.result()
            except Exception as exc:                   # a crashed worker fails only its case
                yield _crashed(c, f"worker crashed: {type(exc).__name__}: {exc}")


def _crashed(c, message: str) -> dict:
    return {"name": c.name, "design": c.design, "kind": c.kind, "status": "failed", "error": {"message": message}}


def _run_dask(cases, outdir, address):
    Client, dask_completed = _dask(address)
    try:
        client = Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError("--scheduler", address, "the address of a running Dask scheduler (tcp://host:8786)",
                         message=f"--scheduler {address}: cannot connect: {exc}") from None
    with client:
        client.run(limit_threads, 1)                  # the Dask workers' initializer: one thread per case
        futs = [client.submit(run_case, c, outdir, key=f"fem-wlp-{c.name}-{i}", pure=False)
                for i, c in enumerate(cases)]
        for f in dask_completed(futs):
            try:
                yield f.result()
            except Exception as exc:
                yield _crashed(cases[futs.index(f)], f"dask task failed: {type(exc).__name__}: {exc}")
