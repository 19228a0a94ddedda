"""Parameter sweeps and parallel execution of cases.

A `[sweep]` table lists values (or ranges) of any study parameter; `mode = "product"` (default) runs every
combination, `mode = "zip"` runs them side by side:

    [sweep]
    mode = "product"
    "design.ring_outer_diameter" = [0.12, 0.13, 0.14]          # every design that has this parameter
    "designs.recessed.recess_depth" = {start = 0.002, stop = 0.008, num = 4}
    "geometry.pitch" = [0.35, 0.4]

Cases run in a local process pool (default: one per core) or, with `--scheduler tcp://host:8786`, on a Dask
distributed cluster. Results are yielded as cases finish, so the caller writes each one at once; a rerun skips
finished cases (see reliability.run_reliability_study).
"""
from __future__ import annotations

import itertools
import os
import sys

import numpy as np

from fem_wlp.errors import InputError


def _values(key: str, v):
    if isinstance(v, list) and v:
        return list(v)
    if isinstance(v, dict):
        allowed = {"start", "stop", "num", "step"}
        bad = [k for k in v if k not in allowed]
        if bad or "start" not in v or "stop" not in v or ("num" in v) == ("step" in v):
            raise InputError(f"sweep.{key}", v, "a list, or {start, stop, num} or {start, stop, step}")
        if "num" in v:
            if not isinstance(v["num"], int) or v["num"] < 1:
                raise InputError(f"sweep.{key}.num", v["num"], "an integer >= 1")
            return [float(x) for x in np.linspace(v["start"], v["stop"], v["num"])]
        if not v["step"] > 0:
            raise InputError(f"sweep.{key}.step", v["step"], "> 0")
        n = int(np.floor((v["stop"] - v["start"]) / v["step"] + 1e-9)) + 1
        return [float(v["start"] + i * v["step"]) for i in range(n)]
    raise InputError(f"sweep.{key}", v, "a non-empty list or a range table")


_RANGE_KEYS = {"start", "stop", "num", "step"}


def _flatten(spec: dict, prefix: str = "") -> dict:
    """Nested tables (from --set sweep.design.x=[...] or [sweep.design]) -> dotted keys; range tables stay."""
    out = {}
    for k, v in spec.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and not set(v) <= _RANGE_KEYS:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def expand_sweep(spec) -> list[dict]:
    """[{label, values: {key: value}}]; one point with no values when there is no sweep."""
    if not spec:
        return [{"label": "", "values": {}}]
    if not isinstance(spec, dict):
        raise InputError("sweep", spec, "a table")
    spec = _flatten(dict(spec))
    mode = spec.pop("mode", "product")
    if mode not in ("product", "zip"):
        raise InputError("sweep.mode", mode, "product or zip")
    if not spec:
        raise InputError("sweep", {}, "at least one parameter to sweep")
    keys = list(spec)
    lists = [_values(k, spec[k]) for k in keys]
    if mode == "zip":
        if len({len(x) for x in lists}) != 1:
            raise InputError("sweep", {k: len(x) for k, x in zip(keys, lists)}, "lists of equal length for mode = zip")
        combos = list(zip(*lists))
    else:
        combos = list(itertools.product(*lists))
    out = []
    for combo in combos:
        vals = dict(zip(keys, combo))
        label = ",".join(f"{k.split('.')[-1]}={_fmt(v)}" for k, v in vals.items())
        out.append({"label": label, "values": vals})
    return out


def _fmt(v):
    return f"{v:g}" if isinstance(v, float) else str(v)


def run_cases(cases, outdir: str, workers=None, scheduler=None, quiet=True):
    """Run cases; yield each case summary as it finishes. Local process pool, or Dask if `scheduler` is set."""
    from fem_wlp.workflows.reliability import run_one_case

    if not cases:
        return
    if scheduler:
        yield from _run_dask(cases, outdir, scheduler)
        return
    ncpu = os.cpu_count() or 1
    # default: one single-threaded process per core; a study with a few more cases than cores (3 designs on 2
    # cores) runs them all at once, so that they share the cores to the end instead of one case running alone
    # after the others (measured: two concurrent single-threaded cases slow each other by ~10 %)
    n = workers or (len(cases) if len(cases) <= 2 * ncpu else ncpu)
    n = max(1, min(n, len(cases)))
    if n == 1:
        for c in cases:
            yield run_one_case(c, outdir, quiet=quiet)
        return
    import multiprocessing as mp

    threads = max(1, ncpu // n)
    ctx = mp.get_context("spawn")                     # no inherited gmsh/MKL state in the workers
    # the workers inherit the thread limits through their environment: BLAS (numpy's OpenBLAS) and MKL read
    # them when first loaded, which in a worker happens before run_one_case runs (measured: without this, three
    # concurrent cases on 2 cores took 2.5x their CPU time in oversubscribed BLAS threads)
    saved = {v: os.environ.get(v) for v in THREAD_VARS}
    os.environ.update({v: str(threads) for v in THREAD_VARS})
    try:
        yield from _pool(cases, outdir, n, threads, ctx)
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


#: environment variables that cap the threads of BLAS, MKL, OpenMP and numba
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _pool(cases, outdir, n, threads, ctx):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from fem_wlp.workflows.reliability import run_one_case

    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
        futs = {pool.submit(run_one_case, c, outdir, threads): c for c in cases}
        for f in as_completed(futs):
            c = futs[f]
            try:
                yield f.result()
            except Exception as exc:                   # a crashed worker fails only its case
                yield {"name": c["name"], "design": c["design"], "kind": c["kind"], "status": "failed",
                       "error": {"message": f"worker crashed: {type(exc).__name__}: {exc}"}}


def _run_dask(cases, outdir, address):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InputError("--scheduler", address, "dask[distributed] installed (pip install 'fem_wlp[cluster]')") from None
    from fem_wlp.workflows.reliability import run_one_case

    with Client(address) as client:
        futs = [client.submit(run_one_case, c, outdir, 1, key=f"fem-wlp-{c['name']}-{i}", pure=False)
                for i, c in enumerate(cases)]
        for f in as_completed(futs):
            try:
                yield f.result()
            except Exception as exc:
                c = cases[futs.index(f)]
                yield {"name": c["name"], "design": c["design"], "kind": c["kind"], "status": "failed",
                       "error": {"message": f"dask task failed: {type(exc).__name__}: {exc}"}}
