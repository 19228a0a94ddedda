"""The reference of every study key, generated from the typed spec (`fem-wlp check --keys`,
docs/study-keys.md): type, default, allowed values and unit of each key of each table."""
from __future__ import annotations

from dataclasses import MISSING, fields

from fem_wlp.materials import MODELS
from fem_wlp.study import spec as S
from fem_wlp.study import values as V
from fem_wlp.wlcsp.design import (FIELD_DOCS, KIND_KEYS, MAX_ARRAY_SIZE, MAX_LENGTH, MIN_LENGTH, MIN_MESH_SIZE, Design,
                                  Geometry, MeshSizes)

SPEC_TABLES = (("[study]", S.StudyInfo), ("[model]", S.ModelSpec), ("[load]", S.LoadSpec),
               ("[solver]", S.SolverSpec), ("[output]", S.OutputSpec), ("[fatigue]", S.FatigueSpec),
               ("[sweep]", S.SweepSpec), ("[[constraints]]", S.ConstraintSpec), ("[contact]", S.ContactSpec))
#: units of the [geometry]/[[designs]]/[mesh] keys that are not lengths in mm
DESIGN_UNITS = {"ring_gap_angle": "deg", "solder_volume": "mm^3", "array_size": "", "ring_segments": "",
                "order": "", "area_rule": "", "pi1_open_in_ring": "", "pad_definition": "", "name": "", "kind": "",
                "imc": ""}
DESIGN_ALLOWED = {"array_size": f"an integer in [1, {MAX_ARRAY_SIZE}]", "ring_segments": "0 (continuous) or an integer >= 2",
                  "order": "1 | 2", "pad_definition": "nsmd | smd", "area_rule": "true | false",
                  "pi1_open_in_ring": "true | false", "name": f"a name of at most {V.MAX_NAME} characters without "
                  "'/', '.', spaces", "kind": "flat | embossed | recessed", "solder_volume": "a number >= 0 "
                  "(0: the volume of the ball_diameter sphere)", "ubm_thickness": "a number >= 0 (0: no UBM)",
                  "ring_gap_angle": "a number in (0, 360)", "imc": "true | false",
                  "imc_thickness": "a number < cu_thickness, board_pad_thickness and interface_layer_thickness"}


def _fmt_default(d) -> str:
    if d is MISSING:
        return "required"
    if d is None or d == ():
        return "—"
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, str):
        return f'"{d}"'
    return f"{d!r}"


def _row(name, typ, default, allowed, unit, doc="") -> str:
    cells = [f"`{name}`", typ, _fmt_default(default), allowed, unit or "", doc]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


HEADER = ["| key | type | default | allowed | unit | meaning |", "|---|---|---|---|---|---|"]


def spec_table(title: str, cls) -> list[str]:
    doc = (cls.__doc__ or "").strip()
    doc = doc[len(title):].strip(" :") if doc.startswith(title) else doc
    lines = [f"## {title}", ""] + ([doc, ""] if doc else []) + HEADER
    for f in fields(cls):
        m = f.metadata
        if not m:
            continue
        default = f.default if f.default_factory is MISSING else f.default_factory()
        lines.append(_row(f.name, m["type"], default, m["allowed"], m["unit"], m["doc"]))
    return lines + [""]


def design_table(title: str, cls, names=None) -> list[str]:
    lines = [f"## {title}", ""] + HEADER
    for f in fields(cls):
        if f.name.startswith("_") or (names is not None and f.name not in names):
            continue
        typ = {bool: "boolean", int: "integer", float: "number", str: "string"}[type(f.default)]
        lo = MIN_MESH_SIZE if cls is MeshSizes else MIN_LENGTH
        allowed = DESIGN_ALLOWED.get(f.name, f"a number in [{lo:g}, {MAX_LENGTH:g}]")
        unit = DESIGN_UNITS.get(f.name, "mm")
        default = MISSING if cls is Design and f.name in ("name", "kind") else f.default
        lines.append(_row(f.name, typ, default, allowed, unit, FIELD_DOCS.get(f.name, "")))
    return lines + [""]


def keys_markdown() -> str:
    out = ["# Study keys", "", "Generated from fem_wlp/study/spec.py and fem_wlp/wlcsp/design.py by "
           "`fem-wlp check --keys` (do not edit by hand). Any value can be overridden on the command line with "
           "`--set key.path=value` (TOML value syntax; list items by index: `designs.1.recess_depth=0.004`).",
           f"Bounds: at most {V.MAX_CYCLES} cycles, {V.MAX_INCREMENTS} increments per case, {V.MAX_CASES} cases, "
           f"{V.MAX_SWEEP_VALUES} values per swept key; temperatures in [{V.T_MIN_C:g}, {V.T_MAX_C:g}] °C; a load "
           f"history of at most {V.MAX_DURATION_S:g} s.", ""]
    for title, cls in SPEC_TABLES:
        out += spec_table(title, cls)
    out += ["## [materials]", "", "region = library name (`fem-wlp materials`) or an inline table "
            "{model = " + " | ".join(MODELS) + ", E, nu, alpha, ...} or "
            "{library = \"NAME\", <overrides>}; numbers or [[T_C, value], ...] tables, all finite. Generated models "
            "default every region: " + ", ".join(f"{k} = {v}" for k, v in S.DEFAULT_MATERIALS.items()) + ".", ""]
    out += design_table("[geometry] (generated models)", Geometry)
    for kind, names in KIND_KEYS.items():
        out += design_table(f"[[designs]] kind = \"{kind}\"", Design, names)
    out += design_table("[mesh] (generated models)", MeshSizes)
    return "\n".join(out).rstrip() + "\n"
