"""Run one model over a time grid and write its results: the consumer of the solver's frames.

`run_model` writes, as frames arrive: history.csv (one row per converged increment), field snapshots (VTU) at
the requested times with a ParaView .pvd series, and at the end summary data (per-region maxima over the whole
history, with location; model size; solver statistics; wall time per phase). A failure keeps everything written
so far and is reported in the returned summary (status "failed").
"""
from __future__ import annotations

import time as _time
from pathlib import Path

import numpy as np

from fem_wlp.errors import ConvergenceError
from fem_wlp.fe.postprocess import cell_fields, point_displacements, region_averages, region_summary
from fem_wlp.fe.solver import Discretization, SolverSettings, run
from fem_wlp.io.results import HistoryWriter, write_pvd, write_vtu
from fem_wlp.workflows.observers import RunningMax


def run_model(model, times, outdir, settings: SolverSettings | None = None, **kw) -> dict:
    """Solve `model` over `times`; write history.csv, fields/*.vtu + fields.pvd into `outdir`; return a summary
    (iter_model run to its end; the keywords are iter_model's)."""
    return finish(iter_model(model, times, outdir, settings, **kw))


def finish(gen):
    """Run a generator that yields to a consumer (None is sent back) to its end; returns its return value."""
    try:
        next(gen)
        while True:
            gen.send(None)
    except StopIteration as done:
        return done.value


def iter_model(model, times, outdir, settings: SolverSettings | None = None, output: str = "corners",
               output_times=(), cycle_of=None, progress=None, keep_frames: bool = False, on_frame=None,
               compression: str = "none", disc: Discretization | None = None):
    """Solve `model` over `times`, yielding every converged frame after it was written; returns (StopIteration
    value) the summary run_model returns. The consumer may send True for a frame to stop the run after it (its
    fields are written; summary "stopped_at_s").

    `progress(frame, T)` and `on_frame(disc, frame, T)` are called for every converged frame (consumers of the
    solver's frames, e.g. the interface-layer tracker of a reliability study). `disc`: the model's
    Discretization when the caller built it already (to check the model before writing anything)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    t_start = _time.perf_counter()
    disc = disc or Discretization(model, settings)
    hist = HistoryWriter(outdir / "history.csv")
    out_t = np.asarray(sorted(set(np.round(np.asarray(output_times, float), 9)) | {float(times[-1])}))
    series = []
    tracker = RunningMax(disc)
    status, error, last, stopped = "ok", None, None, None
    frames = [] if keep_frames else None
    fields = None
    try:
        for frame in run(model, times, settings, disc):
            last = frame
            T = _mean_temperature(frame)
            row = {"time_s": frame.time, "temperature_C": T,
                   "cycle": int(cycle_of(frame.time)) if cycle_of else 0,
                   "increment": frame.index, "dt_s": frame.dt, "newton_iterations": frame.iterations,
                   "residual": frame.residuals[-1] if frame.residuals else 0.0, "ezz": frame.ezz}
            row.update(region_averages(disc, frame))
            hist.write(row)
            want = (output == "all" or (output in ("corners", "last") and np.any(np.isclose(frame.time, out_t)))
                    and not (output == "last" and not np.isclose(frame.time, times[-1])))
            if frame.index > 0:
                tracker.update(frame)
            if on_frame:
                on_frame(disc, frame, T)
            if progress:
                progress(frame, T)
            if keep_frames:
                frames.append(frame)
            stop = bool((yield frame))                 # the consumer's decision for this frame
            want = want or (stop and output != "none")
            if want:
                fields = cell_fields(disc, frame)
            if want and output != "none":
                fname = f"fields/step_{frame.index:05d}.vtu"
                write_vtu(outdir / fname, disc, frame, fields, {"displacement": point_displacements(disc, frame)},
                          compression=compression)
                series.append((frame.time, fname))
                write_pvd(outdir / "fields.pvd", series)
            if stop:
                stopped = frame.time
                break
    except ConvergenceError as exc:
        status, error = "failed", {**exc.report, "message": str(exc)}
    finally:
        hist.close()
    wall = _time.perf_counter() - t_start
    summary = _summary(model, disc, status, error, last, series, wall)
    if stopped is not None:
        summary["stopped_at_s"] = stopped
    if last is not None and last.index > 0:
        final = region_summary(disc, fields if fields is not None else cell_fields(disc, last))
        over = tracker.summary()
        for n in summary["regions"]:
            summary["regions"][n].update({"final": {k: v for k, v in final[n].items() if k != "volume_mm3"},
                                          "over_history": over.get(n, {})})
        summary["ezz_final"] = last.ezz
    if keep_frames:
        summary["_frames"] = frames
        summary["_disc"] = disc
    return summary


def _summary(model, disc, status, error, last, series, wall) -> dict:
    return {
        "status": status, "error": error,
        "formulation": model.formulation, "order": model.order, "quadrature_order": disc.intorder,
        "dofs": int(disc.ndof + (1 if disc.gps else 0)), "elements": int(model.mesh.nelements),
        "regions": {n: {"material": m.name, "model": m.model, "elements": int(o.elements.size),
                        "volume_mm3": o.volume} for n, m, o in zip(disc.names, disc.materials, disc.ops)},
        "linear_solver": disc.linear.name, "linear_solver_stats": disc.linear.stats,
        "increments": disc.counts["increments"], "newton_iterations": disc.counts["newton_iterations"],
        "cutbacks": disc.counts["cutbacks"], "assemblies": disc.counts["assemblies"],
        "rejected": disc.counts.get("rejected", 0), "resolves": disc.counts.get("resolves", 0),
        "timing_s": {**{k: round(v, 4) for k, v in disc.timing.items()}, "wall": round(wall, 4)},
        "last_converged_time_s": last.time if last else None,
        "fields": [f for _, f in series],
    }


def _mean_temperature(frame) -> float:
    vals = [float(np.mean(v)) for v in frame.temperature.values() if np.size(v)]
    return float(np.mean(vals)) if vals else float("nan")
