"""The 2D slice with unit and with equivalent joint-row width (model.slice_width) against the 3D package model
(issue 13 item 4).

    python benchmarks/bench_slice_width.py [--array 2] [--die 1.0] [--ext 0.3] [--cycles 1] [--max-dT 40]
    python benchmarks/bench_slice_width.py --all-designs  # the package3d study's three designs
    python benchmarks/bench_slice_width.py --flagship     # the flagship study, slice unit vs equivalent

One design (the shipped package3d study's first, the polymer-defined flat pad) at the coarse package3d
setting of tests/test_package3d.py (a 2 x 2 array on a 1 mm die, board 0.3 mm beyond it, one JESD22-A104 G cycle
on a 40 °C grid, linear submodel), three runs with the same design, load, materials and contact settings:

1. package3d with model.compare_with = ["slice2d"] and model.slice_width = "equivalent" (the compare_with
   slice carries the study's width: its model_comparison row says which);
2. slice2d, model.slice_width = "unit" (the slice as it was);
3. slice2d, model.slice_width = "equivalent" (must give the compare_with row of run 1: checked).

Printed per model: the joint's out-of-plane width; ΔW per cycle of the corner joint over its conformal die-side
layer (the rule the package3d global model reports per joint, comparable across models) and the model's
headline ΔW (the study's averaging rule; package3d: its submodel); the die-to-board relative displacement at
the corner joint between the hot and the cold extreme of the last cycle (silicon face minus laminate surface on
the joint axis, along the diagonal) as a fraction of the free mismatch (alpha_die - alpha_board) dT x DNP.
Reference: the package3d global model (its joints are coarse: model.joint_size 0.025 mm) and its submodel.

`--flagship` runs the flagship study (studies/flat_vs_embossed_vs_recessed.toml, 4 designs, 3 cycles, its
defaults) with both widths and prints per design ΔW (headline rule), the life ratio vs the baseline and the
corner joint's relative displacement as a fraction of the free mismatch (issue 13: 42 % in the unit slice).

Writes under /tmp/fem_wlp_bench_slice_width/.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from fem_wlp.io.results import read_history
from fem_wlp.materials import material_from_spec
from fem_wlp.reporting.plots import read_mesh_file, read_pvd
from fem_wlp.study.load import load_study
from fem_wlp.wlcsp.geometry import joints_for
from fem_wlp.workflows.study import run_study_file

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "package3d_flat_vs_embossed_vs_recessed.toml"
OUT = Path("/tmp/fem_wlp_bench_slice_width")


def _studies(out: Path, all_designs: bool = False) -> tuple[Path, Path]:
    """The shipped package3d study with its first design only (or all), and the same as a slice2d study ([model]
    replaced: the package3d keys do not apply to the slice)."""
    text = STUDY.read_text()
    first_end = text.index("[[designs]]", text.index("[[designs]]") + 1)
    p3d = text if all_designs else text[:first_end] + text[text.index("[mesh]"):]
    m0 = p3d.index("[model]")
    m1 = p3d.index("[geometry]")
    sl = p3d[:m0] + '[model]\nkind = "slice2d"\n\n' + p3d[m1:]
    out.mkdir(parents=True, exist_ok=True)
    (out / "p3d.toml").write_text(p3d)
    (out / "slice.toml").write_text(sl)
    return out / "p3d.toml", out / "slice.toml"


def _run(study: Path, out: Path, sets: list[str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    rc = run_study_file(str(study), str(out), overrides=sets, workers=1, scheduler=None, quiet=True)
    wall = time.perf_counter() - t0
    if rc not in (0, 1):
        raise SystemExit(f"run of {study} failed with exit {rc}")
    return wall, json.loads((out / "summary.json").read_text())


def _extremes(case_dir: Path, prof) -> dict[str, tuple[float, float, Path]]:
    """{"hot", "cold"}: (time, T, vtu) of the last snapshot at the last cycle's highest / lowest temperature."""
    snaps = read_pvd(case_dir / "fields.pvd")
    h = read_history(case_dir / "history.csv")
    times = np.asarray(h["time_s"], float)
    last = max(int(prof.cycle_of(t)) for t, _ in snaps)
    cand = [(t, float(prof.T(t)), f) for t, f in snaps if int(prof.cycle_of(t)) == last and
            np.any(np.isclose(times, t, rtol=1e-9, atol=1e-6))]
    Tmax, Tmin = max(c[1] for c in cand), min(c[1] for c in cand)
    return {"hot": [c for c in cand if c[1] >= Tmax - 1e-9][-1], "cold": [c for c in cand if c[1] <= Tmin + 1e-9][-1]}


def _axis_u(vtu: Path, axis_xy, plane: float, vertical: int) -> float:
    """Displacement along the diagonal (the joint's direction from the package centre) of the vertex on the plane
    `plane` (y in 2D, z in 3D; the nearest vertex plane) nearest to the joint axis."""
    m = read_mesh_file(vtu)
    p, u = np.asarray(m.points), np.asarray(m.point_data["displacement"])
    zs = p[:, vertical]
    z0 = zs[np.argmin(np.abs(zs - plane))]
    on = np.flatnonzero(np.abs(zs - z0) < 1e-7)
    if vertical == 1:                                  # slice: x along the diagonal
        k = on[np.argmin(np.abs(p[on, 0] - axis_xy[0]))]
        return float(u[k, 0])
    d = np.hypot(p[on, 0] - axis_xy[0], p[on, 1] - axis_xy[1])
    k = on[np.argmin(d)]
    r = math.hypot(*axis_xy)
    return float((u[k, 0] * axis_xy[0] + u[k, 1] * axis_xy[1]) / r)


def _free_strain(spec, region: str, T: float, axis: int) -> float:
    mat = material_from_spec(region, spec.materials[region])
    if hasattr(mat, "oriented"):
        mat = mat.oriented(axis)
    return float(mat.thermal_strain(np.array([T]), spec.load.stress_free_temperature)[0, 0])


def relative_displacement(case_dir: Path, spec, axis_xy, y_face: float, vertical: int) -> dict:
    """Die-to-board relative displacement at the joint between the hot and cold extremes, and the free mismatch."""
    ex = _extremes(case_dir, spec.profile)
    rel, free = {}, {}
    dnp = math.hypot(*axis_xy) if vertical == 2 else axis_xy[0]
    for k, (_t, T, f) in ex.items():
        rel[k] = _axis_u(f, axis_xy, y_face, vertical) - _axis_u(f, axis_xy, 0.0, vertical)
        free[k] = (_free_strain(spec, "die", T, vertical) - _free_strain(spec, "board", T, vertical)) * dnp
    d_rel, d_free = rel["hot"] - rel["cold"], free["hot"] - free["cold"]
    return {"T_hot": ex["hot"][1], "T_cold": ex["cold"][1], "relative_um": 1e3 * d_rel, "free_um": 1e3 * d_free,
            "fraction": d_rel / d_free}


def _corner_die_layer(case: dict) -> float | None:
    j = max(case.get("joints") or [], key=lambda e: int(e["joint"]), default=None)
    return ((j or {}).get("die_layer") or {}).get("dW_MPa")


def flagship(sets: list[str]) -> None:
    study = ROOT / "studies" / "flat_vs_embossed_vs_recessed.toml"
    res = {}
    for w in ("unit", "equivalent"):
        out = OUT / f"flagship_{w}"
        res[w] = _run(study, out, sets + [f'model.slice_width="{w}"'])
    load = os.getloadavg()[0]
    print(f"flagship study, slice2d unit vs equivalent joint-row width (wall {res['unit'][0]:.0f} / "
          f"{res['equivalent'][0]:.0f} s, one worker, load {load:.2f}); overrides {sets or 'none'}")
    print(f"{'design':<10}{'width':>8}{'ΔW unit':>10}{'ΔW equiv':>10}{'equiv/unit':>12}{'ratio unit':>12}"
          f"{'ratio equiv':>13}{'frac unit':>11}{'frac equiv':>12}")
    spec = {w: load_study(study, overrides=sets + [f'model.slice_width="{w}"']) for w in res}
    for cu, ce in zip(res["unit"][1]["cases"], res["equivalent"][1]["cases"]):
        j, _ = joints_for(spec["unit"].geometry, [d for d in spec["unit"].designs if d.name == cu["design"]][0],
                          spec["unit"].mesh, "slice2d")
        frac = {}
        for w, c in (("unit", cu), ("equivalent", ce)):
            dnp = c["mesh"]["joint_positions"][-1]
            frac[w] = relative_displacement(OUT / f"flagship_{w}" / "cases" / c["name"], spec[w], (dnp, 0.0),
                                            j.y_face, 1)["fraction"]
        du, de = cu["dW_per_cycle_MPa"], ce["dW_per_cycle_MPa"]
        print(f"{cu['name']:<10}{ce['slice_width']['width']:>8.4f}{du:>10.4f}{de:>10.4f}{de / du:>12.3f}"
              f"{cu.get('life_ratio_vs_baseline') or 1.0:>12.3f}{ce.get('life_ratio_vs_baseline') or 1.0:>13.3f}"
              f"{frac['unit']:>11.3f}{frac['equivalent']:>12.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--array", type=int, default=2)
    ap.add_argument("--die", type=float, default=1.0)
    ap.add_argument("--ext", type=float, default=0.3)
    ap.add_argument("--cycles", type=int, default=1)
    ap.add_argument("--max-dT", type=float, default=40.0)
    ap.add_argument("--flagship", action="store_true", help="the flagship study with both widths")
    ap.add_argument("--set", action="append", default=[], help="override (flagship mode)")
    ap.add_argument("--all-designs", action="store_true", help="package mode: the study's three designs")
    a = ap.parse_args(argv)
    if a.flagship:
        return flagship(a.set)
    package(a)


def package(a) -> None:
    out = OUT / (f"a{a.array}_c{a.cycles}" + ("_all" if a.all_designs else ""))
    p3d, sl = _studies(out, a.all_designs)
    common = [f"geometry.array_size={a.array}", f"geometry.die_size={a.die}", f"geometry.board_extension={a.ext}",
              f"load.cycles={a.cycles}", f"load.max_dT={a.max_dT}", "load.min_dwell_steps=2",
              'output.fields="corners"', 'solver.step_control="grid"']
    runs = {"package3d": _run(p3d, out / "package3d", common + ["model.submodel_order=1",
                                                                'model.compare_with=["slice2d"]',
                                                                'model.slice_width="equivalent"'])}
    for w in ("unit", "equivalent"):
        runs[w] = _run(sl, out / f"slice_{w}", common + [f'model.slice_width="{w}"'])
    load = os.getloadavg()[0]
    specs = load_study(p3d, overrides=common)
    sspec = {w: load_study(sl, overrides=common + [f'model.slice_width="{w}"']) for w in ("unit", "equivalent")}
    print(f"slice width vs package3d: array {a.array}x{a.array}, die {a.die} mm, board +{a.ext} mm, "
          f"{a.cycles} JESD22-A104 G cycle(s) on a {a.max_dT:g} °C grid; wall package3d {runs['package3d'][0]:.0f} s, "
          f"slices {runs['unit'][0]:.0f} / {runs['equivalent'][0]:.0f} s (one thread, load {load:.2f})")
    print(f"{'design':<10}{'model':<20}{'width':>8}{'ΔW die layer':>14}{'/ global':>10}{'ΔW headline':>13}"
          f"{'/ submodel':>12}{'life ratio':>12}{'Δu_rel µm':>11}{'free µm':>9}{'fraction':>10}")
    f = (lambda x, s=".4f": format(x, s) if isinstance(x, (int, float)) else "-")
    for k, c3 in enumerate(runs["package3d"][1]["cases"]):
        design = [d for d in specs.designs if d.name == c3["design"]][0]
        j, _ = joints_for(specs.geometry, design, specs.mesh, "slice2d")
        xy = c3["mesh"]["joint_xy_mm"][-1]                  # the joint farthest from the centre (the corner)
        g3 = relative_displacement(out / "package3d" / "cases" / c3["name"] / "global", specs, xy, j.y_face, 2)
        gdw = c3["global"]["joints"][-1]["dW_per_cycle_MPa"]
        sub = c3["submodel"]["dW_per_cycle_MPa"]
        rows = [("package3d global", "3D", gdw, None, None, g3),
                ("package3d submodel", "3D", None, sub, c3.get("life_ratio_vs_baseline"), None)]
        for w in ("unit", "equivalent"):
            c = runs[w][1]["cases"][k]
            assert c["design"] == c3["design"]
            dnp = c["mesh"]["joint_positions"][-1]
            d = relative_displacement(out / f"slice_{w}" / "cases" / c["name"], sspec[w], (dnp, 0.0), j.y_face, 1)
            width = (c.get("slice_width") or {}).get("width", 1.0)
            rows.append((f"slice2d {w}", f"{width:.4f}", _corner_die_layer(c), c["dW_per_cycle_MPa"],
                         c.get("life_ratio_vs_baseline"), d))
        for name, width, dl, hd, lr, d in rows:
            print(f"{c3['name']:<10}{name:<20}{width:>8}{f(dl):>14}{f(dl / gdw if dl else None, '.3f'):>10}"
                  f"{f(hd):>13}{f(hd / sub if hd and sub else None, '.3f'):>12}{f(lr, '.3f'):>12}"
                  f"{f(d and d['relative_um'], '.3f'):>11}{f(d and d['free_um'], '.3f'):>9}"
                  f"{f(d and d['fraction'], '.3f'):>10}")
        sw = {r["model"]: r for r in c3.get("model_comparison") or []}.get("slice2d") or {}
        eq = runs["equivalent"][1]["cases"][k]["dW_per_cycle_MPa"]
        print(f"{'':<10}compare_with row: slice2d {sw.get('slice_width')}, ΔW {f(sw.get('dW_per_cycle_MPa'), '.6f')} "
              f"({'equal to' if sw.get('dW_per_cycle_MPa') == eq else 'DIFFERENT from'} the standalone equivalent "
              f"run); corner DNP {math.hypot(*xy):.4f} mm, critical joint {c3['global']['critical_joint']}, "
              f"hot / cold {g3['T_hot']:g} / {g3['T_cold']:g} °C")


if __name__ == "__main__":
    main()
