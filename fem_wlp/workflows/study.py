"""Run a whole study into a results folder: check everything first, then run the cases (resuming finished
ones, running identical inputs once), write summary.json after every case, then provenance, plots, report.

A mesh-file study is one case written into the folder itself (history.csv, fields/, summary.json); a
generated-geometry study writes cases/<case>/ per case and a summary comparing the designs with the baseline.
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from fem_wlp import __version__
from fem_wlp.errors import InputError
from fem_wlp.fe.solver import Discretization
from fem_wlp.io.results import now, provenance, write_json, write_text
from fem_wlp.reporting.report import write_report
from fem_wlp.study.cases import Case, expand
from fem_wlp.study.load import load_study
from fem_wlp.study.preflight import check_cases
from fem_wlp.study.spec import Study
from fem_wlp.wlcsp.geometry import joints_for
from fem_wlp.workflows.case import build_mesh_file_model, case_hash, iter_case
from fem_wlp.workflows.console import print_failures, print_mesh_file_summary, print_table
from fem_wlp.workflows.parallel import check_workers, run_cases
from fem_wlp.workflows.progress import Progress
from fem_wlp.wlcsp.fatigue import relative_change
from fem_wlp.workflows.solve import run_model

#: stabilisation of the headline life ratio: warn when the last two cycles differ by more than this
RATIO_RTOL = 0.01
NOTES = ["Absolute lives from literature constants are order-of-magnitude estimates; the life ratios "
         "between designs are the trustworthy output.",
         "dW_per_cycle_MPa and deps_in_per_cycle are the stabilised (last complete cycle) volume "
         "averages of the critical joint under the headline averaging rule ('averaging'; metrics.<rule> has "
         "all three: planar layer below the wetted face, conformal layer along the solder boundary, hot spot)."]


def run_study_file(path, out, overrides=(), workers=None, scheduler=None, quiet=False) -> int:
    """`fem-wlp run`: exit code 0 when every case succeeded, 1 when some failed; InputError before anything
    is written for every problem `fem-wlp check` finds."""
    return run_study(load_study(path, overrides), out, workers=workers, scheduler=scheduler, quiet=quiet)


def check_study(study: Study) -> tuple[list[Case], object]:
    """Everything that can be checked without solving: the cases and their table combinations, prebuilt
    meshes; for a mesh-file study the model and its discretization on the mesh. Returns (cases, None) or
    (cases, (model, constraint report, discretization)) for a mesh-file study."""
    cases = expand(study)
    check_cases(cases)
    if study.generated:
        check_hotspot_volume(cases)
        return cases, None
    model, report = build_mesh_file_model(study)
    return cases, (model, report, Discretization(model, study.solver.settings()))


def check_hotspot_volume(cases: list[Case]):
    """fatigue.hotspot_volume must fit in the interface layer: at most the planar layer's volume of the
    smaller wetted face of every case (slice2d 2 a t per mm of depth, axisym and joint3d pi a^2 t; a = wetted
    radius, t = geometry.interface_layer_thickness)."""
    for c in cases:
        s = c.spec
        V = s.fatigue.hotspot_volume if s.fatigue is not None else None
        if V is None:
            continue
        joint, _ = joints_for(s.geometry, s.designs[0], s.mesh, s.kind)
        a = min(joint.a_t, joint.a_b)
        t = s.geometry.interface_layer_thickness
        layer = 2.0 * a * t if s.kind == "slice2d" else math.pi * a * a * t
        if V > layer:
            unit = "mm^2 per mm of depth" if s.kind == "slice2d" else "mm^3"
            raise InputError("fatigue.hotspot_volume", V, f"at most the interface layer's volume, {layer:.4g} "
                             f"{unit} for design {c.design} (wetted radius {a:.4g} mm x "
                             f"geometry.interface_layer_thickness {t:g} mm)")


def run_study(study: Study, out, workers=None, scheduler=None, quiet=False) -> int:
    check_workers(workers, scheduler)
    cases, built = check_study(study)
    out = prepare_outdir(out)
    start = now()
    record_study(study, out)
    if not study.generated:
        summary = run_mesh_file_case(study, built, out, start, quiet)
        return 0 if summary["status"] == "ok" else 1
    done = _run_generated(study, cases, out, workers, scheduler, quiet)
    s = write_summary(study, cases, done, out)
    write_json(out / "provenance.json", provenance(start, now(), {
        "study_file": str(study.path), "cases": {n: {k: r.get(k) for k in ("dofs", "increments", "newton_iterations",
                                                                            "cutbacks", "rejected", "resolves",
                                                                            "linear_solver", "timing_s",
                                                                            "wall_time_s")} for n, r in done.items()},
        "workers": workers, "scheduler": scheduler}))
    _plots_and_report(out)
    if not quiet:
        print_table(s)
    failed = [c for c in s["cases"] if c["status"] != "ok"]
    if failed:
        print_failures(failed)
        return 1
    return 0


def prepare_outdir(out) -> Path:
    """The results folder, created; a path that is a file, under a file, or not writable is one InputError."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("--out", str(out), "a folder (it exists as a file)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError("--out", str(out), "a folder that can be created",
                         message=f"--out {out}: cannot create the folder: {exc.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError("--out", str(out), "a writable folder", message=f"--out {out}: the folder is not writable")
    return out


def record_study(study: Study, out: Path):
    """The study as run: the original file text and the parsed data with every override."""
    try:
        write_text(out / "study.toml", Path(study.path).read_text(encoding="utf-8"))
    except (OSError, UnicodeError):
        pass
    write_json(out / "study_as_run.json", study.data)


def _run_generated(study: Study, cases: list[Case], out: Path, workers, scheduler, quiet) -> dict:
    """Run the cases that are not finished; returns {case name: case summary}."""
    done, todo = resume(cases, out)
    if done and not quiet:
        print(f"fem-wlp: {len(done)} finished case(s) kept: {', '.join(done)}", file=sys.stderr)
    # identical inputs (e.g. the flat baseline at every point of a design-parameter sweep) run once
    first, twins = {}, {}
    for c in todo:
        h = case_hash(c)
        if h in first:
            twins.setdefault(first[h].name, []).append(c)
        else:
            first[h] = c
    if study.load.auto_cycles:          # ratios are judged at equal cycles: the cases advance in lockstep
        if (workers or scheduler) and not quiet:
            print("fem-wlp: load.cycles = 'auto' runs the cases in this process, cycle by cycle in lockstep "
                  "(--workers/--scheduler are not used)", file=sys.stderr)
        stream = run_lockstep(study, list(first.values()), out, quiet)
    else:
        stream = run_cases(list(first.values()), str(out), workers=workers, scheduler=scheduler, quiet=quiet)
    for res in stream:
        done[res["name"]] = res
        for twin in twins.get(res["name"], []):
            done[twin.name] = {**res, "name": twin.name, "sweep": twin.sweep, "same_as": res["name"]}
        write_summary(study, cases, done, out)            # a later failure never loses finished cases
        if not quiet:
            msg = (f"ΔW = {res['dW_per_cycle_MPa']:.4g} MPa" if res.get("dW_per_cycle_MPa") is not None
                   else (res.get("error") or {}).get("message", ""))
            print(f"fem-wlp: case {res['name']}: {res['status']} ({res.get('wall_time_s', 0):.1f} s) {msg}",
                  file=sys.stderr)
    return done


def run_lockstep(study: Study, cases: list[Case], out: Path, quiet: bool):
    """load.cycles = "auto": run the cases interleaved, cycle by cycle (workflows.case.iter_case), and stop them
    all after the first cycle k >= 2 at which every design's primary-life ratio to its baseline (same sweep point,
    same cycle) changed by less than load.cycles_rtol from cycle k-1 -- for a study without a second design: the
    baseline's own life. Yields each case summary when it ends (at max_cycles at the latest); each records
    auto_cycles.ratio_changes."""
    gens = {c.name: iter_case(c, out, quiet) for c in cases}
    base = {c.name: study.baseline + c.name[len(c.design):] if "@" in c.name else study.baseline for c in cases}
    lives, pending = {}, {}
    for name, g in gens.items():                  # every case to the end of its cycle 2
        try:
            lives[name] = next(g)
            pending[name] = g
        except StopIteration as done:
            yield done.value
    ratio_changes = {n: [] for n in gens}
    while pending:
        k = min(len(v) for n, v in lives.items() if n in pending)
        ratios_stable = True
        compared = 0
        for n in pending:
            b = base[n]
            if n == b or b not in lives or (b not in pending and len(lives[b]) < k):
                continue                          # no baseline (failed, or ended before cycle k)
            lb, ln = lives[b], lives[n]
            if len(lb) < k or len(ln) < k or not all((lb[k - 1], lb[k - 2], ln[k - 1], ln[k - 2])):
                ratios_stable = False
                continue
            r1, r0 = ln[k - 1] / lb[k - 1], ln[k - 2] / lb[k - 2]
            ch = (r1 - r0) / abs(r0)
            ratio_changes[n].append({"cycle": k, "ratio_change": ch})
            compared += 1
            ratios_stable &= abs(ch) < study.load.cycles_rtol
        if compared == 0:                         # nothing to compare: the cases' own lives
            ratios_stable = all(lives[n][k - 1] and lives[n][k - 2]
                                and abs(lives[n][k - 1] / lives[n][k - 2] - 1) < study.load.cycles_rtol
                                for n in pending if len(lives[n]) >= k)
        for n in list(pending):
            if len(lives[n]) != k:
                continue
            try:
                lives[n] = pending[n].send(bool(ratios_stable))
            except StopIteration as done:
                del pending[n]
                res = done.value
                if "auto_cycles" in res:
                    res["auto_cycles"] = {**res["auto_cycles"], "criterion": "life ratio" if compared else "own life",
                                          "stabilised": bool(ratios_stable),
                                          "ratio_changes": ratio_changes[n]}
                yield res


def resume(cases: list[Case], out: Path) -> tuple[dict, list[Case]]:
    """Finished cases of the same inputs (status ok, same hash) are kept; the others are to run."""
    done, todo = {}, []
    for c in cases:
        f = out / "cases" / c.folder / "case.json"
        if f.is_file():
            try:
                prev = json.loads(f.read_text(encoding="utf-8"))
                if prev.get("status") == "ok" and prev.get("hash") == case_hash(c):
                    done[c.name] = prev
                    continue
            except (OSError, ValueError):
                pass
        todo.append(c)
    return done, todo


def write_summary(study: Study, cases: list[Case], done: dict, out: Path) -> dict:
    s = study_summary(study, cases, [done[c.name] for c in cases if c.name in done])
    write_json(out / "summary.json", s)
    return s


def study_summary(study: Study, cases: list[Case], results: list[dict]) -> dict:
    base = study.baseline
    by_name = {r["name"]: r for r in results}
    primary = study.fatigue.primary
    out_cases = []
    for c in cases:
        r = by_name.get(c.name)
        if r is None:
            out_cases.append({"name": c.name, "design": c.design, "status": "pending"})
            continue
        bname = base + c.name[len(c.design):] if "@" in c.name else base     # baseline of the same sweep point
        b = by_name.get(bname)
        ratios = {}
        if b and b.get("status") == "ok" and r.get("status") == "ok":
            for m, n in (r.get("life_cycles") or {}).items():
                nb = (b.get("life_cycles") or {}).get(m)
                if n and nb:
                    ratios[m] = n / nb
        entry = {k: v for k, v in r.items() if k not in ("joints",)}
        entry["life_ratio_vs_baseline"] = ratios.get(primary)
        entry["life_ratios_vs_baseline"] = ratios
        entry["baseline_case"] = bname
        if b and b.get("status") == "ok" and r.get("status") == "ok":
            _rule_ratios(entry, b, primary, _ratio_rtol(study))
        entry["joints"] = r.get("joints")
        out_cases.append(entry)
    prof = study.profile
    return {"study": study.name, "fem_wlp_version": __version__, "model": study.kind,
            "profile": _profile_text(study),
            "cycles": "auto" if study.load.auto_cycles else prof.cycles,
            **({"max_cycles": study.load.max_cycles, "cycles_rtol": study.load.cycles_rtol}
               if study.load.auto_cycles else {}),
            "baseline": base, "primary_life_model": primary, "averaging": study.fatigue.averaging,
            "ratio_rtol": _ratio_rtol(study), "cases": out_cases,
            **({"model_comparison": mc} if (mc := model_comparison(out_cases, primary)) else {}),
            "notes": list(NOTES)}


def model_comparison(cases: list[dict], primary: str) -> list[dict]:
    """package3d with model.compare_with: one row per (model, case) -- ΔW per cycle, and the life ratio vs the
    baseline design computed within the same model (the primary model's lives of both cases in that model),
    so each model's ranking can be set against package3d's (the reference)."""
    rows = []
    for c in cases:
        for r in c.get("model_comparison") or []:
            rows.append({"model": r["model"], "case": c["name"], "baseline_case": c.get("baseline_case"),
                         "dW_per_cycle_MPa": r.get("dW_per_cycle_MPa"),
                         "life": (r.get("life_cycles") or {}).get(primary)})
    life = {(r["model"], r["case"]): r["life"] for r in rows}
    for r in rows:
        nb = life.get((r["model"], r["baseline_case"]))
        r["life_ratio_vs_baseline"] = r["life"] / nb if r["life"] and nb else None
        del r["life"]
    return rows


def _ratio_rtol(study) -> float:
    return study.load.cycles_rtol if study.load.auto_cycles else RATIO_RTOL


def _rule_ratios(entry: dict, b: dict, primary: str, rtol: float = RATIO_RTOL):
    """The primary model's life ratio vs the baseline under every averaging rule (metrics.<rule>.
    life_ratio_vs_baseline) and per cycle of the headline (per_cycle[i].life_ratio_vs_baseline), with a warning
    when the ratio of the last two cycles differs by more than RATIO_RTOL: stabilisation judged on the ratio."""
    metrics = entry.get("metrics") or {}
    for rule, m in metrics.items():
        mb = (b.get("metrics") or {}).get(rule) or {}
        n, nb = (m.get("life_cycles") or {}).get(primary), (mb.get("life_cycles") or {}).get(primary)
        if m.get("available") and n and nb:
            m = metrics[rule] = {**m, "life_ratio_vs_baseline": n / nb}
    by_cycle = {p["cycle"]: p.get("life_primary") for p in b.get("per_cycle") or []}
    rows = []
    for p in entry.get("per_cycle") or []:
        nb = by_cycle.get(p["cycle"])
        rows.append({**p, "life_ratio_vs_baseline": p["life_primary"] / nb if p.get("life_primary") and nb
                     else None})
    entry["per_cycle"] = rows
    ratios = [x["life_ratio_vs_baseline"] for x in rows if x["life_ratio_vs_baseline"] is not None]
    if entry["name"] != entry["baseline_case"] and len(ratios) >= 2:
        ch = relative_change(ratios[-2], ratios[-1])
        if abs(ch) > rtol:
            entry["warnings"] = list(entry.get("warnings") or []) + [
                f"life ratio vs {entry['baseline_case']} ({primary}) not stabilised: {100 * ch:+.1f} % in the last "
                f"cycle (> {100 * rtol:g} %; {ratios[-2]:.3f} -> {ratios[-1]:.3f}); simulate more cycles"]


def _plots_and_report(out: Path):
    from fem_wlp.reporting.plots import make_plots   # matplotlib: loaded only when plots are drawn

    try:
        make_plots(out)
        write_report(out)
    except Exception as exc:                         # plots must never lose results
        print(f"fem-wlp: warning: plots/report failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def run_mesh_file_case(study: Study, built, out: Path, start, quiet: bool) -> dict:
    """Run a mesh-file study's one case into `out`; returns the summary written to summary.json."""
    model, report, disc = built
    times = study.load.time_grid()
    prof = study.profile
    cycle_of = prof.cycle_of if prof is not None else None
    prog = None if quiet else Progress(study.name, float(times[-1]), cycle_of)
    settings = study.solver.settings()
    res = run_model(model, times, out, settings, output=study.output.fields,
                    output_times=prof.corners if prof is not None else (), cycle_of=cycle_of, progress=prog,
                    compression=study.output.compression, disc=disc)
    summary = {"study": study.name, "fem_wlp_version": __version__, "mesh": str(model.mesh.source),
               "load": study.data["load"], "region_ids": dict(enumerate(res["regions"])), "constraints": report,
               **res}
    write_json(out / "summary.json", summary)
    write_json(out / "provenance.json", provenance(start, now(), {
        "study_file": str(study.path), "solver_settings": settings.__dict__,
        "solver_statistics": {k: res[k] for k in ("linear_solver", "linear_solver_stats", "increments",
                                                   "newton_iterations", "cutbacks", "rejected", "resolves",
                                                   "assemblies", "timing_s")}}))
    if not quiet:
        print_mesh_file_summary(summary)
    if res["status"] != "ok":
        print(f"fem-wlp run: case failed: {res['error']['message']}", file=sys.stderr)
    return summary


def _profile_text(study: Study) -> str | None:
    """The profile line of the study echo, summary.json and the report. With load.cycles = "auto" the profile
    is built for max_cycles cycles, which is the longest run, not the run: say so."""
    prof = study.profile
    if prof is None:
        return None
    text = prof.describe()
    if study.load.auto_cycles:
        text += (f" [load.cycles = 'auto': at most {study.load.max_cycles} cycles; the run stops at the first "
                 f"cycle k >= 2 at which every life ratio changed by less than {study.load.cycles_rtol:g}]")
    return text


def describe_check(study: Study, cases: list[Case], built) -> str:
    """The one-paragraph result of `fem-wlp check`."""
    if built is not None:
        model, _, disc = built
        return (f"{study.path}: ok — {model.mesh.nelements} elements, {disc.ndof} dofs, regions "
                + ", ".join(disc.names) + f", linear solver {disc.linear.name}")
    return (f"{study.path}: ok — {len(cases)} case(s) ({', '.join(c.name for c in cases)}), model {study.kind}, "
            f"profile {_profile_text(study) or 'one step'}")
