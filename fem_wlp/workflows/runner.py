"""Study runner: the pure pipeline `run_study(study, outdir)` and the CLI wrapper.

A mesh-file study (model.mesh) is one case. A generated-geometry study (model.kind + designs) is handled by
`reliability.run_reliability_study` (several designs, cycles, fatigue metrics, plots, sweeps).
"""
from __future__ import annotations

import sys
from pathlib import Path

from fem_wlp.errors import InputError
from fem_wlp.io.results import now, provenance, write_json, write_text


def run_study_file(path, out, overrides=(), workers=None, scheduler=None, quiet=False) -> int:
    from fem_wlp.study.spec import Study

    study = Study.from_toml(path, overrides)
    if "mesh" in study.data["model"]:
        summary = run_study(study, out, quiet=quiet)
        return 0 if summary["status"] == "ok" else 1
    from fem_wlp.workflows.reliability import run_reliability_study

    return run_reliability_study(study, out, workers=workers, scheduler=scheduler, quiet=quiet)


def prepare_outdir(out) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("--out", str(out), "a folder (it exists as a file)")
    out.mkdir(parents=True, exist_ok=True)
    return out


def record_study(study, out: Path):
    """The study as run: the original file text, the overrides applied, and the parsed data."""
    try:
        write_text(out / "study.toml", Path(study.path).read_text())
    except OSError:
        pass
    write_json(out / "study_as_run.json", study.data)


def run_study(study, out, quiet: bool = True) -> dict:
    """Run a mesh-file study into the results folder `out`; returns the summary written to summary.json."""
    from fem_wlp.workflows.solve import run_case
    from fem_wlp.workflows.progress import Progress

    start = now()
    out = prepare_outdir(out)
    record_study(study, out)
    model, report = study.build_model()
    times = study.time_grid()
    prof = study.profile()
    cycle_of = prof.cycle_of if prof is not None else None
    prog = None if quiet else Progress(study.name, float(times[-1]), cycle_of)
    res = run_case(model, times, out, study.solver_settings(), output=study.data.get("output", {}).get("fields", "corners"),
                   output_times=prof.corners if prof is not None else (), cycle_of=cycle_of, progress=prog,
                   compression=study.data.get("output", {}).get("compression", "none"))
    region_ids = {i: n for i, n in enumerate(res["regions"])}
    summary = {"study": study.name, "fem_wlp_version": __import__("fem_wlp").__version__,
               "mesh": str(model.mesh.source), "load": study.data["load"],
               "region_ids": region_ids, "constraints": report, **res}
    write_json(out / "summary.json", summary)
    write_json(out / "provenance.json", provenance(start, now(), {
        "study_file": str(study.path), "solver_settings": study.solver_settings().__dict__,
        "solver_statistics": {k: res[k] for k in ("linear_solver", "linear_solver_stats", "increments",
                                                   "newton_iterations", "cutbacks", "assemblies", "timing_s")}}))
    if not quiet:
        _print_summary(summary)
    if res["status"] != "ok":
        print(f"fem-wlp run: case failed: {res['error']['message']}", file=sys.stderr)
    return summary


def _print_summary(s):
    print(f"{s['study']}: {s['status']} — {s['elements']} elements, {s['dofs']} dofs, "
          f"{s['increments']} increments, {s['newton_iterations']} Newton iterations, "
          f"solver {s['linear_solver']}, wall {s['timing_s']['wall']:.2f} s")
    print(f"{'region':<24}{'volume mm3':>12}{'max vM MPa':>12}{'max princ MPa':>15}")
    for n, r in s["regions"].items():
        o = r.get("over_history") or {}
        print(f"{n:<24}{r['volume_mm3']:12.4g}{o.get('max_von_mises_MPa', float('nan')):12.4g}"
              f"{o.get('max_principal_MPa', float('nan')):15.4g}")
