"""`fem-wlp mesh STUDY.toml --out DIR`: build the meshes of a study's designs and models.

Reads ``[geometry]``, ``[[designs]]``, ``[model]`` (``kind`` = slice2d | axisym | joint3d, or a list) and
``[mesh]`` (with ``--set`` overrides, through the same loader as ``run``; the other tables are validated when
present, ``[load]`` is optional).  Everything is validated before the first mesh is built.  Writes ``<design>_<model>.msh`` / ``.vtu``, ``mesh_report.json``, ``mesh_report.md`` and one PNG per
design (``<design>_section.png``; ``<design>_joint3d_top.png`` for 3D).
"""
from __future__ import annotations

import json
import sys
import time

from fem_wlp.errors import InputError
from fem_wlp.study.load import load_study
from fem_wlp.study.preflight import check_geometry
from fem_wlp.wlcsp.geometry import build_mesh, pictures
from fem_wlp.workflows.study import prepare_outdir


def add_args(parser):
    parser.add_argument("study", help="study file (TOML)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a study value")
    parser.add_argument("--binary", action="store_true", help="write binary MSH 4.1 (smaller files)")
    parser.add_argument("--no-pictures", action="store_true", help="skip the PNG pictures")


def load_mesh_study(path, overrides=()):
    """(geometry, designs, model kinds, mesh sizes) of a study, every design/kind combination checked."""
    study = load_study(path, overrides, purpose="mesh")
    if not study.generated:
        raise InputError("model.mesh", str(study.model.mesh), "model.kind (fem-wlp mesh builds generated geometries)")
    for d in study.designs:
        for m in study.model.kinds:
            check_geometry(study.geometry, d, study.mesh, m)
    return study.geometry, list(study.designs), list(study.model.kinds), study.mesh


def markdown(reports: list[dict]) -> str:
    lines = ["# Mesh report", "", "Sizes in mm; solder: volume (mm^3) for axisym/joint3d, axial-section area "
             "(mm^2) per joint for slice2d; quality = gmsh gamma (1 = equilateral).", "",
             "| design | model | cells | type | nodes | gamma min | gamma mean | mesh s | total s | solder requested "
             "| solder meshed | max rel. err | standoff | cap height | ball width |", "|" + "---|" * 15]
    for r in reports:
        s = r["solder"]
        worst = max(s.values(), key=lambda v: abs(v["rel_error"]))
        lines.append(
            f"| {r['design']} | {r['model']} | {r['n_elements']} | {r['cell_type']} | {r['n_nodes']} | "
            f"{r['quality_gamma_min']:.3f} | {r['quality_gamma_mean']:.3f} | {r['time_mesh_s']:.2f} | "
            f"{r['time_total_s']:.2f} | {worst['requested']:.6g} | {worst['meshed']:.6g} | "
            f"{worst['rel_error'] * 100:+.3f} % | {r['joint']['standoff']:.4f} | {r['joint']['cap_height']:.4f} | "
            f"{r['joint']['max_diameter']:.4f} |")
    facts = [(r["design"], r["model"], (r.get("joint") or {}).get("facts")) for r in reports]
    if any(f for *_, f in facts):
        lines += ["", "## What differs between the designs", "",
                  "Nominal axisymmetric joint (mm, mm^3): wetted (solder-contact) diameters, pad-edge type, "
                  "standoff, solder height between the metal faces on the axis, relief height and the solder in "
                  "it, and the crack path along the solder's wetted boundary (the Darveaux path-length choice).",
                  "", "| design | model | wetted die | wetted board | pad edge | standoff | solder height | "
                  "solder volume | relief height | relief solder | crack path die | crack path board |",
                  "|" + "---|" * 12]
        for d, m, f in facts:
            if f:
                lines.append(f"| {d} | {m} | {f['wetted_diameter_die_mm']:.4f} | "
                             f"{f['wetted_diameter_board_mm']:.4f} | {f['pad_edge']} | {f['standoff_mm']:.4f} | "
                             f"{f['solder_height_mm']:.4f} | {f['solder_volume_mm3']:.5g} | "
                             f"{f['relief_height_mm']:.4f} | {f['relief_solder_volume_mm3']:.3g} | "
                             f"{f['crack_path_die_mm']:.4f} | {f['crack_path_board_mm']:.4f} |")
    lines += ["", "## Region sizes", ""]
    for r in reports:
        lines.append(f"### {r['design']} / {r['model']} ({r['measure_unit']})")
        lines.append("")
        lines += [f"- `{n}`: {v:.6g}" for n, v in r["region_sizes"].items()]
        lines.append(f"- facet groups: {', '.join(f'`{k}` ({v})' for k, v in r['facet_group_counts'].items())}")
        lines.append("")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    geometry, designs, models, mesh = load_mesh_study(args.study, args.set)
    out = prepare_outdir(args.out)
    reports = []
    for d in designs:
        per = {}
        for m in models:
            t0 = time.perf_counter()
            res = build_mesh(geometry, d, m, mesh, out, binary=args.binary)
            per[m] = res
            reports.append(res.report)
            r = res.report
            print(f"{d.name:>16s} {m:8s} {r['n_elements']:8d} {r['cell_type']:9s} gamma min {r['quality_gamma_min']:.3f}"
                  f"  {time.perf_counter() - t0:6.2f} s  standoff {r['joint']['standoff']:.4f} mm", flush=True)
        if not args.no_pictures:
            if "slice2d" in per or "axisym" in per:
                rep = (per.get("slice2d") or per.get("axisym")).report
                pictures.design_png(d.name, out / f"{d.name}_section.png",
                                    per["slice2d"].msh if "slice2d" in per else None,
                                    per["axisym"].msh if "axisym" in per else None, mesh.order, rep)
            if "joint3d" in per:
                pictures.ring_png(d.name, per["joint3d"].msh, out / f"{d.name}_joint3d_top.png", mesh.order)
    for r in reports:
        r["region_ids"] = {str(k): v for k, v in r["region_ids"].items()}
    (out / "mesh_report.json").write_text(json.dumps(
        {"geometry": geometry.__dict__, "mesh": mesh.__dict__, "designs": [d.__dict__ for d in designs],
         "reports": reports}, indent=1, default=str))
    (out / "mesh_report.md").write_text(markdown(reports))
    print(f"wrote {len(reports)} meshes, mesh_report.json/.md to {out}", file=sys.stderr)
    return 0
