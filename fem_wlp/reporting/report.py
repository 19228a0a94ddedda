"""report.md of a reliability-study results folder: the question, the comparison, the caveats, the pictures.

`write_report(outdir)` reads ``summary.json`` (and, when present, ``study_as_run.json`` and ``provenance.json``)
and embeds the PNGs found in ``outdir/plots/`` with relative links; it does not draw them (`fem_wlp.reporting.plots`).
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from fem_wlp.errors import InputError
from fem_wlp.io.results import read_json, read_summary
from fem_wlp.materials.library import LIBRARY
from fem_wlp.wlcsp.fatigue import relative_change
# Layer violation kept until the merge (reporting must not import workflows): the results folder does not record
# the default materials, only the study's overrides; the defaults move to fem_wlp.wlcsp.regions (helper h1), and
# this line becomes `from fem_wlp.wlcsp.regions import DEFAULT_MATERIALS`.
from fem_wlp.wlcsp.regions import DEFAULT_MATERIALS

#: regions of the stress table, in build-up order; "pi2/ring" etc. are used when the summary has them
STRESS_REGIONS = ("pi1", "pi2", "pi2/ring", "pi3", "cu_wiring", "ubm", "solder")

MODEL_TEXT = {
    "slice2d": (
        "2D slice along the package diagonal (through the neutral point and the corner joints), "
        "**generalized plane strain**: the out-of-plane strain is uniform and free (one extra unknown), so the "
        "slice expands out of plane like the package. The balls are represented by their axial section, i.e. as "
        "infinitely long ridges: the out-of-plane constraint of a real ball array is not captured, so absolute "
        "stresses and ΔW are biased (typically conservative in shear, not in hydrostatic stress). Symmetry u_x = 0 "
        "at the package centre; the board is otherwise free (warpage included). Measured against the 3D package "
        "model (8×8 quarter, one cycle, benchmarks/README.md): the corner joint's ΔW is 0.26–0.32× the package "
        "submodel's, the recessed penalty agrees, but the slice ranks the embossed relief above flat where the "
        "package model ranks it below (×1.07 against ×0.875): screen designs with the slice, rank them with "
        "package3d."),
    "axisym": (
        "Axisymmetric model of one joint about its own axis. It captures the local expansion mismatch of the "
        "build-up, ball and board pad, **not** the DNP shear of a joint away from the package centre, which "
        "usually dominates the fatigue of the outer joints (measured: 1–1.4 % of the 3D package model's ΔW at "
        "the corner joint of the 8×8 array); use it for the pad-stack stresses, not for life."),
    "joint3d": (
        "3D model of one joint (the corner joint) in a square cell. The die-side and board-side cut faces follow "
        "the free thermal expansion of the die and of the board about the package neutral point at the joint's "
        "distance from it (first-order loading of a local joint model: no package warpage, no load sharing with "
        "the neighbouring joints). Measured against the 3D package model (8×8 quarter, one cycle): ΔW 1.8–1.9× "
        "the package submodel's, design ratios within 0.02–0.06 of the package model's."),
}


# ----------------------------------------------------------------------------------------------------------------
def _f(v, fmt=".4g", none="—"):
    if v is None:
        return none
    try:
        return format(float(v), fmt)
    except (TypeError, ValueError):
        return str(v)


def _life(v):
    if v is None:
        return "—"
    v = float(v)
    if v >= 1e6:
        return f"{v:.2e}"
    return f"{v:,.0f}".replace(",", " ")


def _esc(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list], align: str | None = None) -> str:
    """Markdown table; align: one character per column, l or r (default l)."""
    align = (align or "").ljust(len(head), "l")
    sep = ["---:" if a == "r" else ":---" for a in align[:len(head)]]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(_esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _read_json(path: Path):
    """An optional JSON file of the folder (study_as_run.json, provenance.json): None when absent, and with a
    warning when damaged (the report is written without it)."""
    if not path.is_file():
        return None
    try:
        return read_json(path)
    except InputError as exc:
        print(f"fem-wlp: warning: {exc}; report.md is written without it", file=sys.stderr)
        return None


def _layer(layer) -> str:
    return {"die_layer": "die side", "board_layer": "board side", "whole": "whole joint"}.get(layer, str(layer))


# ----------------------------------------------------------------------------------------------------------------
@dataclass
class _Results:
    """What the report sections read of a results folder."""

    outdir: Path
    summary: dict
    study: dict
    prov: dict
    cases: list
    ok: list
    failed: list
    primary: str
    base: str | None
    models: list


def _load(outdir: Path) -> _Results:
    s = read_summary(outdir)
    cases = s.get("cases", [])
    ok = _shown([c for c in cases if c.get("status") == "ok"])      # a twin of a sweep point: once
    models = []
    for c in ok:
        for m in c.get("life_cycles") or {}:
            if m not in models:
                models.append(m)
    return _Results(outdir=outdir, summary=s, study=_read_json(outdir / "study_as_run.json") or {},
                    prov=_read_json(outdir / "provenance.json") or {}, cases=cases, ok=ok,
                    failed=[c for c in cases if c.get("status") != "ok"],
                    primary=s.get("primary_life_model") or "syed_energy", base=s.get("baseline"), models=models)


def write_report(outdir) -> Path:
    """Write outdir/report.md from the results folder; returns its path."""
    outdir = Path(outdir)
    r = _load(outdir)
    L: list[str] = []
    for section in (_question, _result, _comparison, _models, _differences, _metrics, _stresses, _process,
                    _region_work,
                    _per_cycle,
                    _life_models,
                    _model, _failed, _pictures, _provenance):
        L += section(r)
    out = outdir / "report.md"
    out.write_text("\n".join(L))
    return out


def _question(r: _Results) -> list[str]:
    """Title, the question, what the numbers mean, the designs compared."""
    s, study, base = r.summary, r.study, r.base
    L = [f"# Thermal-cycling reliability study: {s.get('study', '')}\n"]
    designs = [c.get("design", c["name"]) for c in r.cases]
    L.append("## The question\n")
    L.append(f"Which of the pad designs **{', '.join(dict.fromkeys(designs))}** gives the solder joints the longest "
             f"thermal-cycling life, relative to the baseline **{base}**?\n")
    L.append(f"- Model: `{s.get('model')}` — see *What the model is and is not* below.")
    if s.get("cycles") == "auto":
        runs = ", ".join(f"{c['name']} {c.get('cycles_run', '?')}" for c in r.cases if c.get("status") == "ok")
        L.append(f"- Load: {s.get('profile') or '—'}; cycles = \"auto\": the cases ran in lockstep until every "
                 f"life ratio to the baseline changed by less than {100 * s.get('cycles_rtol', 0.01):g} % between "
                 f"cycles (at most {s.get('max_cycles')}); cycles run: {runs}.")
    else:
        L.append(f"- Load: {s.get('profile') or '—'}; {s.get('cycles')} cycle(s) simulated.")
    rule = s.get("averaging") or "conformal"
    L.append("- Metric: inelastic work density ΔW (and equivalent inelastic strain Δε_in) per cycle, volume-averaged "
             f"by the **{rule}** rule ({RULE_TEXT.get(rule, rule)}); the critical joint and layer are the ones with "
             "the largest ΔW; values are from the last complete cycle. The other averaging rules are in *Damage "
             "metrics under three averaging rules*.")
    L.append(f"- Headline: life ratio against `{base}` with the primary life model `{r.primary}`.\n")
    for d in study.get("designs") or []:
        params = ", ".join(f"{k} = {v}" for k, v in d.items() if k not in ("name", "kind"))
        L.append(f"  - `{d.get('name')}` ({d.get('kind')})" + (f": {params} mm" if params else ""))
    if study.get("designs"):
        L.append("")
    return L


def _result(r: _Results) -> list[str]:
    """The answer in one paragraph, with the one-cycle and failed-case warnings."""
    ok, base = r.ok, r.base
    L = ["## Result\n"]
    one_cycle = r.summary.get("cycles") != "auto" and int(r.summary.get("cycles") or 0) < 2
    if ok:
        ranked = sorted(ok, key=lambda c: -(c.get("life_ratio_vs_baseline") or 0))
        parts = []
        for c in ranked:
            x = c.get("life_ratio_vs_baseline")
            parts.append(f"**{c['name']}** ×{_f(x, '.2f')}" if x is not None else f"**{c['name']}** (no ratio)")
        best = ranked[0]
        used = sorted({(c.get("averaging") or {}).get("used") for c in ok} - {None})
        rule = r.summary.get("averaging")
        how = (f", ΔW averaged by the {'/'.join(used)} rule" if used else "") + (
            f" (`fatigue.averaging = \"{rule}\"` is not available for every case: see *Damage metrics*)"
            if rule and used and used != [rule] else "")
        L.append(f"Life relative to `{base}` ({r.primary}{how}): " + ", ".join(parts) + ".")
        if best.get("life_ratio_vs_baseline") is not None:
            if best["name"] == base or abs(best["life_ratio_vs_baseline"] - 1.0) < 1e-9:
                L.append(f"No design beats the baseline `{base}` in this model: the alternatives dissipate more "
                         "inelastic work per cycle in the critical joint.")
            else:
                L.append(f"`{best['name']}` has the lowest ΔW in the critical joint and the longest predicted life.")
        spread = [c.get("life_ratio_vs_baseline") for c in ok if c.get("life_ratio_vs_baseline")]
        if spread and max(abs(x - 1) for x in spread) < 0.1:
            L.append("The differences are below 10 %: within what mesh refinement and the life-model choice can "
                     "move; treat the designs as equivalent unless a refined run confirms the ranking.")
        L.append("")
    if one_cycle:
        L.append("> **Warning — only one thermal cycle was simulated.** The first cycle includes the ratcheting "
                 "from the stress-free state; ΔW has not been checked for stabilisation (simulate ≥ 2, usually 3 "
                 "cycles). Use these numbers for a first ranking only.\n")
    global_only = [c["name"] for c in ok if c.get("global") and not c.get("submodel")]
    if global_only:
        L.append(f"> **Warning — no submodel (`model.submodel = false`): the numbers of {', '.join(global_only)} "
                 "are the global model's own coarse joints** (joint_size "
                 f"{_f((ok[0].get('global') or {}).get('joint_size_mm'), 'g')} mm). They rank the joints of one "
                 "design, not the designs: the full-size embossed corner joint's ΔW moved by −18 % with another "
                 "global mesh at the same joint_size, the flat one's not at all (benchmarks/README.md, session 11). "
                 "Rank designs with the submodel.\n")
    if r.failed:
        L.append(f"> **{len(r.failed)} case(s) failed**: {', '.join(c['name'] for c in r.failed)} — see *Failed "
                 "cases*.\n")
    return L


def _comparison(r: _Results) -> list[str]:
    """The comparison table, the life ratios per life model, the joint positions."""
    ok, base, models = r.ok, r.base, r.models
    L = ["## Comparison\n"]
    head = ["design", "status", "critical joint", "layer", "ΔW/cycle (MPa)", "Δε_in/cycle"]
    head += [f"N_f {m} (cycles)" for m in models] + [f"life ratio vs {base}"]
    rows = []
    shown = _shown(r.cases)
    for c in shown:
        lc = c.get("life_cycles") or {}
        ratio = c.get("life_ratio_vs_baseline")
        rows.append([c["name"], c.get("status", "?"), _f(c.get("critical_joint"), "d") if c.get("critical_joint")
                     is not None else "—", _layer(c.get("critical_layer")) if c.get("critical_layer") else "—",
                     _f(c.get("dW_per_cycle_MPa")), _f(c.get("deps_in_per_cycle"))]
                    + [_life(lc.get(m)) for m in models]
                    + ["baseline" if c["name"] == c.get("baseline_case", base) and c.get("status") == "ok"
                       else _f(ratio, ".3f")])
    L.append(_table(head, rows, "ll" + "r" * (len(head) - 2)))
    L.append("")
    twins = [c for c in r.cases if c not in shown]
    if twins:
        L.append(f"{len(twins)} case(s) have the same inputs as a case above (the baseline at every sweep point "
                 "whose swept keys it does not have) and were run once: " + ", ".join(sorted(
                     {c['same_as'] for c in twins})) + " is shown once.\n")
    ok = [c for c in ok if c in shown]
    if ok and len(models) > 1:
        L.append("Life ratio vs the baseline per life model (the ratios are the trustworthy part):\n")
        L.append(_table(["design"] + models,
                        [[c["name"]] + [_f((c.get("life_ratios_vs_baseline") or {}).get(m), ".3f") for m in models]
                         for c in ok], "l" + "r" * len(models)))
        L.append("")
    pos = next(((c.get("mesh") or {}).get("joint_positions") for c in ok if (c.get("mesh") or {})
                .get("joint_positions")), None)
    if pos:
        L.append("Joint positions (distance of the joint axis from the neutral point, mm): "
                 + ", ".join(f"joint {i}: {p:.3f}" for i, p in enumerate(pos)) + ".\n")
    return L


RULE_TEXT = {
    "planar": "a solder layer of thickness t below the plane of the die-side (board-side) wetted face — the pad "
              "mouth or the UBM face — the same geometric definition for every design",
    "conformal": "the solder within t of the solder boundary (the layer follows the relief)",
    "hotspot": "a fixed volume of solder around the element with the largest ΔW",
}
METRICS_PARAGRAPH = (
    "How the averaging volume is chosen changes the numbers, and for pads with a relief it changes them "
    "differently for each design. The **conformal** layer follows the solder boundary: where the solder fills a "
    "polymer opening or wraps a ring, part of the layer lies inside the opening, so it reaches less deep below the "
    "pad mouth than the flat design's layer does below its UBM — the designs are averaged over different volumes. "
    "The **planar** layer is cut by a plane parallel to the wetted face at the same distance for every design, so "
    "it compares the same solder volume below the interface where the crack runs; it is the default headline. "
    "The **hot spot** averages a small fixed volume around the worst element: it sees the local concentration at "
    "the re-entrant corner or pad edge, is the most mesh-sensitive of the three and exaggerates differences. "
    "When the three rules rank the designs the same way, the ranking is robust; the size of the difference "
    "is set by the rule.")


#: per-case geometry facts (summary.json "geometry") shown in "What differs": key, column head, format
GEOMETRY_FACTS = (("wetted_diameter_die_mm", "wetted Ø die (mm)", ".4g"),
                  ("wetted_diameter_board_mm", "wetted Ø board (mm)", ".4g"), ("pad_edge", "pad edge", "s"),
                  ("standoff_mm", "standoff (mm)", ".4g"), ("solder_height_mm", "solder between metal faces (mm)", ".4g"),
                  ("relief_height_mm", "relief height (mm)", ".3g"), ("solder_volume_mm3", "solder volume", ".4g"),
                  ("relief_solder_volume_mm3", "solder in the relief", ".3g"),
                  ("crack_path_die_mm", "crack path die (mm)", ".4g"), ("crack_path_board_mm", "crack path board (mm)",
                                                                         ".4g"))


def _differences(r: _Results) -> list[str]:
    """What still differs between the designs (the geometry facts of each case) and which facts differ from the
    baseline's: the candidates for what drives the result."""
    ok = [c for c in _shown(r.ok) if c.get("geometry")]
    if not ok:
        return []
    match = (r.study.get("study") or {}).get("match", ["wetted_diameter", "solder_volume"])
    L = ["## What differs between the designs\n",
         f"Conditions held equal by `[study] match`: {', '.join(match) if match else 'none'}. Solder volumes in "
         "mm³, of one joint.\n"]
    rows = [[c["name"]] + [_fact(c["geometry"].get(k), fmt) for k, _, fmt in GEOMETRY_FACTS] for c in ok]
    head = ["design"] + [h for _, h, _ in GEOMETRY_FACTS]
    L += [_table(head, rows, "l" + "r" * (len(head) - 1)), ""]
    base = next((c for c in ok if c["name"] == c.get("baseline_case")), None)
    if base is not None:
        for c in ok:
            if c is base:
                continue
            diff = [h for k, h, _ in GEOMETRY_FACTS if _differs(c["geometry"].get(k), base["geometry"].get(k))]
            L.append(f"- `{c['name']}` differs from `{base['name']}` in: " + (", ".join(diff) if diff else "nothing listed")
                     + ".")
        L.append("\nThese are the candidates for what moves the result; the model does not separate their effects "
                 "(a study that varies one of them at a time does).\n")
    return L


def _fact(v, fmt: str) -> str:
    if v is None:
        return "—"
    return str(v) if fmt == "s" else _f(v, fmt)


def _differs(a, b, rtol: float = 0.01) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) > rtol * max(abs(a), abs(b), 1e-12)
    return a != b


def _metrics(r: _Results) -> list[str]:
    """ΔW and the life ratio of every design under the three averaging rules, and what the rules mean."""
    ok = _shown(r.ok)
    if not any(c.get("metrics") for c in ok):
        return []
    rules = ("planar", "conformal", "hotspot")
    L = ["## Damage metrics under three averaging rules\n", METRICS_PARAGRAPH + "\n"]
    rows = []
    for c in ok:
        ms = c.get("metrics") or {}
        row = [c["name"]]
        for rule in rules:
            m = ms.get(rule) or {}
            if not m.get("available"):
                row += ["n/a", "—"]
                continue
            x = m.get("life_ratio_vs_baseline")
            row += [_f(m.get("dW_per_cycle_MPa")), "baseline" if c["name"] == c.get("baseline_case") else _f(x, ".3f")]
        rows.append(row)
    head = ["design"] + [h for rule in rules for h in (f"ΔW {rule} (MPa)", f"ratio {rule}")]
    L.append(_table(head, rows, "l" + "r" * (len(head) - 1)))
    L.append("")
    L += _rankings(ok, rules)
    used = {(c.get("averaging") or {}).get("used") for c in ok} - {None}
    L.append(f"Headline rule: `{r.summary.get('averaging', '?')}`" + (f" (used: {', '.join(sorted(used))})"
                                                                     if used else "") + f"; ratios with `{r.primary}`.")
    notes = sorted({(c.get("averaging") or {}).get("note") for c in ok} - {None})
    L += [f"- {n}" for n in notes]
    missing = sorted({(c.get("metrics") or {}).get(rule, {}).get("reason") for c in ok for rule in rules
                      if not ((c.get("metrics") or {}).get(rule) or {}).get("available")} - {None})
    L += [f"- not available: {m}" for m in missing if not any(m in n for n in notes)]
    hot = [(c["name"], (c.get("metrics") or {}).get("hotspot") or {}) for c in ok]
    hot = [(n, h) for n, h in hot if h.get("available")]
    if hot:
        L.append("- hot spot: " + "; ".join(f"{n}: {h['elements']} elements, {h['volume_mm3']:.3g} (target "
                                            f"{h['target_volume_mm3']:.3g}) around {_xy(h.get('at'))}"
                                            for n, h in hot)
                 + (" (slice2d: mm² per mm of depth)" if r.summary.get("model") == "slice2d" else " (mm³)"))
    L.append("")
    return L


def _rankings(ok: list, rules) -> list[str]:
    """Whether the averaging rules rank the designs the same way (longest life first)."""
    ranks = {}
    for rule in rules:
        vals = [(c["name"], ((c.get("metrics") or {}).get(rule) or {}).get("dW_per_cycle_MPa")) for c in ok]
        if all(v is not None for _, v in vals):
            ranks[rule] = [n for n, _ in sorted(vals, key=lambda nv: nv[1])]
    if len(ranks) < 2:
        return []
    same = len({tuple(v) for v in ranks.values()}) == 1
    text = "; ".join(f"{rule}: {' > '.join(v)}" for rule, v in ranks.items())
    return [("The rules rank the designs the same way (longest life first): " if same else
             "The rules rank the designs differently (longest life first) — the ranking depends on the averaging "
             "volume, read the ratios with that in mind: ") + text + ".", ""]


def _shown(cases: list) -> list:
    """The cases to list: a case run once for several sweep points (same_as) is shown once."""
    names = {c["name"] for c in cases}
    return [c for c in cases if not (c.get("same_as") and c["same_as"] in names)]


def _stresses(r: _Results) -> list[str]:
    """Maximum stresses per region of the pad stack, how to read them, and where the maxima are."""
    ok = r.ok
    regions = [g for g in STRESS_REGIONS if any(g in (c.get("max_stress_MPa") or {}) for c in ok)]
    if not regions:
        return []
    L = ["## Stresses in the pad stack\n",
         "Maximum over the simulated cycles (cell values), von Mises / max principal, MPa. Embossing and "
         "recessing act on the polyimide and copper under the ball, so these columns are where the designs "
         "differ.\n"]
    head = ["design"] + [f"{g} σ_vM / σ_1" for g in regions]
    rows = []
    for c in ok:
        ms = c.get("max_stress_MPa") or {}
        rows.append([c["name"]] + [(f"{_f(ms[g].get('von_mises'), '.0f')} / {_f(ms[g].get('max_principal'), '.0f')}"
                                    if g in ms else "—") for g in regions])
    L.append(_table(head, rows, "l" + "r" * len(regions)))
    L.append("")
    L.append("Notes for reading these numbers:")
    L.append("- Maxima are single-cell values at material corners and edges where the linear-elastic solution is "
             "singular; they grow with mesh refinement. Compare designs at the same mesh; do not compare them with "
             "strength data without a refined mesh or a stress-averaging rule.")
    mats = _materials(r.study)
    if mats.get("cu_wiring", "").startswith("Cu (elastic") or mats.get("ubm", "").startswith("Cu (elastic"):
        L.append("- The copper is linear elastic in this study: copper stresses above its yield (electroplated Cu "
                 "≈ 150–300 MPa) would be relieved by plasticity; read them as relative indicators.")
    L.append("- In the solder the max principal stress is dominated by hydrostatic stress; with linear elements "
             "under nearly incompressible inelastic flow it shows an element-to-element checkerboard (see the max "
             "principal maps), so the solder σ_1 maximum is not reliable. The fatigue metric (volume-averaged ΔW) "
             "is much less sensitive to this.")
    L.append("")
    L.append("<details><summary>All regions, with the location of the maxima (x, y in mm)</summary>\n")
    for c in ok:
        L.append(f"**{c['name']}**\n")
        ms = c.get("max_stress_MPa") or {}
        L.append(_table(["region", "σ_vM max", "at", "σ_1 max", "at"],
                        [[g, _f(v.get("von_mises"), ".1f"), _xy(v.get("von_mises_at")),
                          _f(v.get("max_principal"), ".1f"), _xy(v.get("max_principal_at"))]
                         for g, v in ms.items()], "lrlrl"))
        L.append("")
    L.append("</details>\n")
    return L


def _models(r: _Results) -> list[str]:
    """package3d with model.compare_with: ΔW and the life ratio of every design per model kind, package3d's
    submodel named as the reference and each cheaper model's deviation from it."""
    rows = r.summary.get("model_comparison") or []
    if not rows:
        return []
    models = list(dict.fromkeys(x["model"] for x in rows))
    cases = list(dict.fromkeys(x["case"] for x in rows))
    at = {(x["model"], x["case"]): x for x in rows}
    L = ["## Which model to believe\n",
         "The reference is `package3d`: the 3D quarter package with every joint, its critical joint re-solved in a "
         "refined submodel driven by the global displacement history. The cheaper models ran the same designs "
         "(bonded, like the package model); their ΔW is compared with the submodel's, and their life ratio vs "
         "the baseline is computed within each model. Check the submodel's mesh convergence before quoting "
         "absolute numbers (benchmarks/README.md).\n"]
    head = ["design"] + [f"{m} ΔW (MPa)" for m in models] + [f"{m} ratio" for m in models]
    body = []
    for c in cases:
        body.append([c] + [_f((at.get((m, c)) or {}).get("dW_per_cycle_MPa"), ".4g") for m in models]
                    + [_f((at.get((m, c)) or {}).get("life_ratio_vs_baseline"), ".3f") for m in models])
    L.append(_table(head, body, "l" + "r" * 2 * len(models)))
    sw = {(c["name"], x["slice_width"]["mode"], x["slice_width"]["width"]) for c in getattr(r, "ok", ())
          for x in c.get("model_comparison") or [] if x.get("slice_width")}
    if sw:
        L.append("\nslice2d joint rows (model.slice_width): " + ", ".join(f"{n} {m} {w:.4f}" for n, m, w in sorted(sw))
                 + " out-of-plane width.")
    dev = []
    for m in models[1:]:
        d = [at[(m, c)]["dW_per_cycle_MPa"] / at[(models[0], c)]["dW_per_cycle_MPa"] - 1 for c in cases
             if (m, c) in at and (models[0], c) in at and at[(m, c)]["dW_per_cycle_MPa"]
             and at[(models[0], c)]["dW_per_cycle_MPa"]]
        if d:
            dev.append(f"{m} {100 * min(d):+.0f} % to {100 * max(d):+.0f} %")
    if dev:
        L.append("\nΔW against the reference: " + "; ".join(dev) + ".")
    L.append("")
    return L


def _process(r: _Results) -> list[str]:
    """The build-up stage of load.process = "buildup_then_reflow": stress-free temperatures and the residual
    stresses the build-up carries into the joint."""
    ok = [c for c in r.ok if (c.get("process") or {}).get("process") == "buildup_then_reflow"]
    if not ok:
        return []
    p0 = ok[0]["process"]
    t0 = ", ".join(f"{k} {v:g} °C" for k, v in p0["stress_free_temperatures_C"].items())
    L = ["## Process history: the build-up before the joint\n",
         f"The die and build-up were modelled alone first, each region stress-free at its own temperature ({t0}; "
         "defaults NOT FOUND in the reference data, textbook values), equilibrated at 25 °C and heated to the "
         f"joining temperature {p0['joining_temperature_C']:g} °C; then {', '.join(p0['joining_regions'])} joined "
         "stress-free (element activation) and the profile ran. Layer-by-layer deposition is not modelled (all "
         "build-up layers bonded from the start). Residual von Mises stress of the build-up, volume mean / "
         "largest element value (MPa):\n"]
    regions = list(p0["buildup_residual_stress_MPa"]["at_25C"])
    head = ["design", "at"] + regions
    rows = []
    for c in ok:
        res = c["process"]["buildup_residual_stress_MPa"]
        for at, label in (("at_25C", "25 °C"), ("at_joining", "joining")):
            rows.append([c["name"], label] + [f"{_f(res[at][g]['mean_von_mises'], '.0f')} / "
                                              f"{_f(res[at][g]['max_von_mises'], '.0f')}" if g in res[at] else "—"
                                              for g in regions])
    L.append(_table(head, rows, "ll" + "r" * len(regions)))
    L.append("")
    return L


def _region_work(r: _Results) -> list[str]:
    """Inelastic work per cycle of every inelastic region (volume average over the region), cycle by cycle: the
    copper's cyclic plasticity next to the solder's creep."""
    ok = [c for c in r.ok if c.get("region_dW_per_cycle_MPa")]
    if not ok:
        return []
    regions = sorted({g for c in ok for g in c["region_dW_per_cycle_MPa"]}, key=lambda g: (g == "solder", g))
    L = ["## Inelastic work per cycle by region\n",
         "Volume average over the whole region (all joints of the model, not the damage layers), MPa per cycle, "
         "cycle 1 → last. A value that falls to ~0 after the first cycle means the region shook down to elastic "
         "behaviour (isotropic hardening does this); a steady value is cyclic plasticity that fatigues the "
         "metal (copper RDL over relief corners, board pads).\n"]
    head = ["design"] + regions
    rows = [[c["name"]] + [" → ".join(_f(x, ".3g") for x in c["region_dW_per_cycle_MPa"].get(g, [])) or "—"
                           for g in regions] for c in ok]
    L.append(_table(head, rows, "l" + "r" * len(regions)))
    L.append("")
    return L


def _per_cycle(r: _Results) -> list[str]:
    """ΔW and Δε_in per cycle (stabilisation) and the warnings recorded with the cases."""
    rt = r.summary.get("ratio_rtol")
    L = ["## Per cycle and stabilisation\n",
         "ΔW and Δε_in of the critical joint and layer (headline rule) in every cycle, and the life ratio vs the "
         "baseline that each cycle's values would give; the reported value is the last complete cycle. The "
         "change is that of a cycle relative to the one before — the same percentage the warnings quote; a "
         "warning is written when ΔW or Δε_in changes by more than 5 % in the last cycle"
         + (f", or the life ratio by more than {100 * rt:g} %" if rt else "") + ".\n"]
    rows = []
    for c in _shown(r.ok):
        prev = prev_r = None
        for p in c.get("per_cycle") or []:
            d, x = p.get("dW_MPa"), p.get("life_ratio_vs_baseline")
            ch = f"{100 * float(relative_change(prev, d)):+.1f} %" if (prev and d is not None) else "—"
            chr_ = f"{100 * float(relative_change(prev_r, x)):+.1f} %" if (prev_r and x is not None) else "—"
            rows.append([c["name"], p.get("cycle"), _f(d), _f(p.get("deps_in")), ch, _f(x, ".3f"), chr_])
            prev, prev_r = d, x
    if rows:
        L.append(_table(["design", "cycle", "ΔW (MPa)", "Δε_in", "ΔW change vs previous cycle", "life ratio",
                         "ratio change"], rows, "lrrrrrr"))
        L.append("")
    warn_rows = _warnings(r.ok)
    if warn_rows:
        L.append("Warnings:\n")
        L += [f"- {line}" for line in warn_rows]
        L.append("")
    return L


def _life_models(r: _Results) -> list[str]:
    """The life models, their caveats (general and recorded with the results) and their inputs."""
    L = ["## Life models and their caveats\n",
         "- **Absolute lives from literature constants are order-of-magnitude estimates; the life ratios between "
         "designs are the trustworthy part.** Use a calibrated model (constants fitted to your own test data for the "
         "same solder, averaging-layer thickness and failure criterion) before quoting cycles to failure.",
         "- **Syed** (energy and strain forms): the constants were fitted to accumulated creep energy / creep strain "
         "from **Garofalo-type** (hyperbolic-sine) creep models on a particular geometry; the Anand ΔW computed here "
         "is not strictly the same quantity, so only the ratios carry over.",
         "- **Engelmaier**: a closed-form estimate from DNP, Δα, ΔT and standoff — a **sanity envelope** for the "
         "finite-element metrics, not a verification of them. It does not see the pad design (except through the "
         "standoff), so it barely separates the designs.",
         "- **Engelmaier** takes ΔT and the mean joint temperature T_sj from the cycles (the cycle swing and "
         "its mid-point), not from the stress-free start of the initial cooling.",
         "- **Darveaux** constants are tied to the averaging-layer thickness they were fitted with (the study "
         "gives them with `layer_thickness`; a mismatch with `geometry.interface_layer_thickness` is stated "
         "below). `darveaux` uses the projected wetted diameter as the crack length at failure; `darveaux_path` "
         "(when the geometry gives the path) the length of the path the crack would follow through the critical "
         "layer along the relief. The constants were fitted for the first, so the second assumes the same growth "
         "rate per unit path length — a bound, not a calibrated life. Coffin–Manson and Morrow need user "
         "constants."]
    caveats = {}
    for c in r.ok:
        for m, t in (c.get("life_caveats") or {}).items():
            caveats.setdefault(t, []).append(m)
    if caveats:
        L.append("\nCaveats recorded with the results:\n")
        L += [f"- `{', '.join(dict.fromkeys(ms))}`: {t}" for t, ms in caveats.items()]
    inputs = [(c["name"], c.get("life_inputs") or {}) for c in r.ok if c.get("life_inputs")]
    if inputs:
        keys = list(dict.fromkeys(k for _, d in inputs for k in d))
        L.append("\nInputs of the life models:\n")
        L.append(_table(["design"] + keys, [[n] + [_f(d.get(k)) for k in keys] for n, d in inputs],
                        "l" + "r" * len(keys)))
    L.append("")
    return L


def _model(r: _Results) -> list[str]:
    """What the model is and is not: model kind, materials, stress-free state, simplifications."""
    s, study = r.summary, r.study
    L = ["## What the model is and is not\n",
         f"- {MODEL_TEXT.get(s.get('model'), 'Model kind: ' + str(s.get('model')))}"]
    widths = {c["name"]: c["slice_width"]["width"] for c in r.ok if c.get("slice_width")}
    if widths:
        L.append("- Joint rows of equivalent out-of-plane width (model.slice_width = \"equivalent\"): solder, pads "
                 "and UBM have width " + ", ".join(f"{n} {w:.4f}" for n, w in widths.items()) + " (die, build-up, "
                 "mask and board 1), the horizontal shear compliance of the real ball array per package area.")
    mats = _materials(study)
    if mats:
        L.append("- Materials: " + "; ".join(f"{g}: {m}" for g, m in mats.items()) + ".")
    L.append("- Solder: viscoplastic (Anand for SAC305 unless the study says otherwise), with constants fitted to "
             "**bulk specimens**; the small, few-grain joints of a WLCSP (Sn anisotropy, microstructure coarsening) "
             "can behave differently.")
    load = study.get("load") or {}
    sft = load.get("stress_free_temperature")
    at = f"{_f(sft, 'g')} °C" if sft is not None else "the solder solidus"
    if load.get("process") == "buildup_then_reflow":
        L.append(f"- Process history: the die and build-up first, each layer stress-free at its own temperature, "
                 f"then the solder and board joined stress-free at {at} (see *Process history*).")
    else:
        L.append(f"- Stress-free state at {at} for every region: the cooling after reflow is simulated; residual "
                 "stresses of wafer processing (polyimide cure, plating) are not (load.process = "
                 "\"buildup_then_reflow\" adds them).")
    contact = study.get("contact") or {}
    order = (study.get("mesh") or {}).get("order", (study.get("model") or {}).get("order", 1))
    bonded = contact.get("bonded_everywhere", False)
    scheme = ("node-to-node" if order == 1 else "facet-integrated") if s.get("model") != "package3d" else \
        "global model node-to-node, quadratic submodel facet-integrated"
    mu = float(contact.get("friction", 0.0) or 0.0)
    L.append("- Interfaces: every interface bonded (solder to polyimide too)." if bonded else
             "- Interfaces: the solder is in " + ("frictionless" if mu == 0 else f"Coulomb-frictional (μ = {mu:g})")
             + " no-tension contact with the polymers it does not wet (polyimide, solder mask, passivation; "
             + scheme + " penalty, small sliding) and bonded to "
             "metal; the contact ends at the solder/Cu/polyimide vertex, a singular point where the hot-spot rule "
             "sits.")
    L += _contact(r.ok, float((study.get("contact") or {}).get("friction") or 0.0))
    imc = bool((study.get("geometry") or {}).get("imc"))
    L.append("- Uniform temperature (no thermal gradients), "
             + ("a Cu6Sn5 intermetallic layer on every solder/metal face, " if imc else "no intermetallic layers, ")
             + "no crack growth or damage: the life comes from the fatigue model applied to the simulated ΔW.")
    L.append("- ΔW and Δε_in are volume averages over interface layers of a fixed thickness; they depend on that "
             "thickness and on the mesh, so compare designs at the same settings (the ratios).")
    L.append("")
    return L


def _contact(cases, friction: float = 0.0) -> list[str]:
    """The unbonded interfaces' status at the last cycle's hot and cold extremes (case.json 'contact'). Without
    friction every closed point slides freely: stick/slip is not tracked, so the column says so instead of 0."""
    rows = []
    for c in cases:
        ct = c.get("contact") or {}
        for name, d in (ct.get("interfaces") or {}).items():
            hot, cold = d.get("hot") or {}, d.get("cold") or {}
            rows.append([c["name"], f"`{name}`", f"{d.get('pairs')} / {d.get('points')}",
                         f"{hot.get('closed')} / {cold.get('closed')}",
                         f"{hot.get('slipping')} / {cold.get('slipping')}" if friction > 0 else "— (frictionless)",
                         f"{_f(hot.get('max_pressure_MPa'), '.1f')} / {_f(cold.get('max_pressure_MPa'), '.1f')}",
                         f"{_f(_um(hot.get('max_gap_mm')), '.3f')} / {_f(_um(cold.get('max_gap_mm')), '.3f')}"])
    if not rows:
        return []
    return ["- Contact status at the hot / cold extremes of the last cycle (status points: the node pairs of "
            "linear elements, the facet Gauss points of quadratic ones; pressure and gap are point values, "
            "the gap is the largest opening):\n",
            _table(["design", "interface", "pairs / points", "closed", "slipping", "max pressure (MPa)",
                    "max gap (µm)"], rows, "llrrrrr"), ""]


def _um(mm):
    return None if mm is None else 1e3 * float(mm)


def _failed(r: _Results) -> list[str]:
    """The failed cases with their error and last converged state."""
    L = ["## Failed cases\n"]
    if not r.failed:
        return L + ["None: every case finished.", ""]
    for c in r.failed:
        err = c.get("error") or {}
        msg = err.get("message") if isinstance(err, dict) else str(err)
        typ = err.get("type") if isinstance(err, dict) else None
        L.append(f"- **{c['name']}** ({c.get('status')}): " + (f"{typ}: " if typ else "") + (msg or "no message"))
        if isinstance(err, dict):
            last = err.get("last_converged") or err.get("report") or {}
            if isinstance(last, dict) and last:
                L.append("  - last converged state: " + ", ".join(f"{k} = {v}" for k, v in list(last.items())[:6]))
        L.append(f"  - details: `cases/{c['name']}/case.json`")
    L.append("")
    return L


#: the figures `fem_wlp.reporting.plots` draws, in the order the report shows them, with their captions
CAPTIONS = {
    "stress_von_mises.png": "von Mises stress around the critical joint at the cold and hot extremes of the "
                            "last cycle (log colour scale, one scale per extreme shared by the designs).",
    "stress_max_principal.png": "Max principal stress around the critical joint (symmetric log scale).",
    "stress_pad_von_mises.png": "von Mises stress in the die-side pad stack (polyimide, copper, top of the "
                                "ball) of the critical joint — where embossing and recessing act.",
    "stress_pad_max_principal.png": "Max principal stress in the die-side pad stack.",
    "inelastic_strain.png": "Accumulated equivalent inelastic strain in the solder of the critical joint.",
    "dW_last_cycle_map.png": "Inelastic work density dissipated in the last cycle: where the fatigue crack "
                             "is expected to start.",
    "hysteresis.png": "Shear stress vs shear strain (volume averages) of the critical interface layer: the "
                      "loop area of a stabilised cycle relates to ΔW.",
    "dW_per_cycle.png": "ΔW and Δε_in per cycle of the critical joint and layer, with the life ratios.",
    "dW_vs_dnp.png": "ΔW of every joint vs its distance from the neutral point.",
    "sweep.png": "ΔW and the life ratio vs the baseline against every swept parameter.",
    "temperature_profile.png": "The thermal profile, cycle boundaries and the times of the map snapshots.",
    "package3d_joint_dW.png": "Global package model: ΔW per cycle of every joint of the quarter, one colour "
                              "scale for all designs (its joints are meshed coarsely: a ranking of the joints; "
                              "the critical joint's number is the submodel's).",
    "package3d_warpage.png": "Board warpage at the hot and cold dwell ends: maps of the board bottom and the "
                             "section along the diagonal.",
    "package3d_submodel_sections.png": "Submodel of the critical joint, section through the joint axis: "
                                       "last-cycle ΔW and cold-end von Mises, one scale per row shared by the "
                                       "designs.",
}
PLOT_FILES = tuple(CAPTIONS)


def _pictures(r: _Results) -> list[str]:
    """Links to the PNGs in plots/ (known figures first, in PLOT_FILES order, with captions)."""
    plots = r.outdir / "plots"
    L = ["## Pictures\n"]
    shown = 0
    for f in PLOT_FILES:
        if (plots / f).is_file():
            L.append(f"**{CAPTIONS.get(f, f)}**\n")
            L.append(f"![{f}](plots/{f})\n")
            shown += 1
    for f in sorted(plots.glob("*.png")) if plots.is_dir() else []:
        if f.name not in PLOT_FILES:
            L.append(f"![{f.name}](plots/{f.name})\n")
            shown += 1
    if not shown:
        L.append("No plots in `plots/` (run `fem-wlp plot DIR`).\n")
    return L


def _provenance(r: _Results) -> list[str]:
    """Version, commit, command, run statistics per case, what the files of the folder hold."""
    s, prov = r.summary, r.prov
    L = ["## Provenance\n",
         f"- fem_wlp {s.get('fem_wlp_version', '?')}"
         + (f", git commit `{prov.get('git_commit')}`" if prov.get("git_commit") else "")
         + (f"; run {prov.get('start')} → {prov.get('end')}" if prov.get("start") else "")]
    if prov.get("command"):
        L.append("- command: `" + " ".join(str(x) for x in prov["command"][1:] if x) + "`")
    rows = [[c["name"], _f(c.get("dofs"), "d") if c.get("dofs") is not None else "—",
             _f(c.get("increments"), "d") if c.get("increments") is not None else "—",
             _f(c.get("newton_iterations"), "d") if c.get("newton_iterations") is not None else "—",
             _f(c.get("wall_time_s"), ".1f")] for c in r.ok]
    if rows:
        L.append("")
        L.append(_table(["design", "dofs", "increments", "Newton iterations", "wall time (s)"], rows, "lrrrr"))
        L.append("")
    L.append("- `summary.json`: the numbers of this report; `study_as_run.json`: the study with every override; "
             "`provenance.json`: versions, platform, times, solver statistics.")
    L.append("- `cases/<name>/`: `case.json` (all metrics per joint and layer), `layers.csv` (interface-layer "
             "histories), `history.csv` (region averages), `fields.pvd` + `fields/*.vtu` (snapshots at the end of "
             "every ramp and dwell, open in ParaView), `mesh/` (the mesh with named regions).")
    L.append("- Redraw the pictures and this report: `fem-wlp plot DIR`.")
    L.append("")
    return L


def _xy(p) -> str:
    if not p:
        return "—"
    return "(" + ", ".join(f"{float(v):.3f}" for v in p) + ")"


def _materials(study: dict) -> dict:
    """region -> 'library name (model)' of the study as run (the default materials + the study's overrides)."""
    mats = dict(DEFAULT_MATERIALS)
    mats.update(study.get("materials") or {})
    if not (study.get("geometry") or {}).get("imc"):            # the IMC region exists only with geometry.imc
        mats.pop("imc", None)
    out = {}
    for r, m in mats.items():
        if isinstance(m, str):
            model = (LIBRARY.get(m) or {}).get("model")
            out[r] = f"{m} ({model})" if model else m
        elif isinstance(m, dict):
            out[r] = f"inline ({m.get('model', '?')})"
    return out


def _warnings(cases) -> list[str]:
    """Stabilisation and other warnings, the critical joint/layer first; repetitive per-joint warnings grouped."""
    lines = []
    for c in cases:
        ws = c.get("warnings") or []
        if not ws:
            continue
        crit = f"solder/joint{c.get('critical_joint')}/{c.get('critical_layer')}:"
        pre = (crit, "life ratio", "hotspot:")                     # the headline's own warnings
        main = [w for w in ws if w.startswith(pre)]
        rest = [w for w in ws if not w.startswith(pre)]
        for w in main:
            lines.append(f"`{c['name']}` (critical): {w}")
        if rest:
            kinds = sorted({re.sub(r"^solder/joint\d+(/\w+)?: ", "", part) for w in rest
                            for part in w.split("; solder/")})
            kinds = sorted({re.sub(r"^joint\d+(/\w+)?: ", "", k) for k in kinds})
            lines.append(f"`{c['name']}`: {len(rest)} more warning(s) on the other joints/layers — "
                         + "; ".join(kinds[:3]) + (" …" if len(kinds) > 3 else "") + " (see `case.json`)")
    return lines
