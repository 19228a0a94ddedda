"""The cases of a study: [[designs]] x [sweep] points, each a Study of its own (one design, the sweep values set).

A mesh-file study is a study with one case. Sweep keys address the study:

    [sweep]
    mode = "product"                                            # or "zip": the lists side by side
    "design.ring_outer_diameter" = [0.12, 0.13, 0.14]           # every design that has this parameter
    "designs.recessed.recess_depth" = {start = 0.002, stop = 0.008, num = 4}
    "geometry.pitch" = [0.35, 0.4]                              # any key of geometry, mesh, materials, load, ...

A key that names no parameter of any design or section is an error (it would run identical cases).

Equal conditions: at every sweep point, ``[study] match`` (default ["wetted_diameter", "solder_volume"]) gives
every design the baseline's die-side wetted diameter (wlcsp.design.match_tables), before the case is
validated; so a sweep of the baseline's UBM or opening diameter moves all designs' openings with it, and a
sweep of another design's wetted key is an error unless match = [].
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field

from fem_wlp.errors import InputError
from fem_wlp.study.spec import Study
from fem_wlp.wlcsp.design import KIND_KEYS, match_tables

#: sections a sweep key may address besides design./designs.
SWEEP_SECTIONS = ("geometry", "mesh", "materials", "load", "solver", "output", "fatigue")
#: characters allowed in a case folder name (others become '_')
FOLDER_CHARS = "-_@=."
MAX_FOLDER_NAME = 200


def case_folder_name(name: str) -> str:
    """The folder of a case under cases/ (reporting reads the same folders)."""
    return "".join(c if c.isalnum() or c in FOLDER_CHARS else "_" for c in name)


@dataclass(frozen=True)
class Case:
    """One case: `spec` is the case's own validated Study (one design, sweep values applied)."""
    name: str
    design: str | None               # design name (None for a mesh-file study)
    kind: str | None                 # design kind: flat | embossed | recessed
    sweep: dict = field(default_factory=dict)
    spec: Study | None = None

    @property
    def data(self) -> dict:
        return self.spec.data

    @property
    def folder(self) -> str:
        return case_folder_name(self.name)


def expand(study: Study) -> list[Case]:
    """Every case of `study`, validated; case names and folder names are unique."""
    if not study.generated:
        return [Case(study.name, None, None, {}, study)]
    _check_sweep_keys(study)
    tables = study.data["designs"]
    cases = []
    for label, values in sweep_points(study):
        datas = []
        for t in tables:
            data = copy.deepcopy(study.data)
            data["designs"] = [copy.deepcopy(t)]
            for k, val in values.items():
                _set_path(data, k, val, t["name"])
            datas.append(data)
        # equal conditions at this sweep point: the baseline's wetted diameter for every design
        matched = match_tables([dt["designs"][0] for dt in datas], study.baseline, study.info.match)
        for data, t in zip(datas, matched):
            data["designs"] = [t]
            spec = Study.from_dict(data, study.path, purpose="case")
            d = spec.designs[0]
            cases.append(Case(d.name + (f"@{label}" if label else ""), d.name, d.kind, dict(values), spec))
    _check_names(cases)
    return cases


def sweep_points(study: Study) -> list[tuple[str, dict]]:
    """[(label, {key: value})]; one point without values when the study has no sweep."""
    sw = study.sweep
    if sw is None:
        return [("", {})]
    keys = [k for k, _ in sw.params]
    lists = [vals for _, vals in sw.params]
    combos = zip(*lists) if sw.mode == "zip" else itertools.product(*lists)
    out = []
    for combo in combos:
        vals = dict(zip(keys, combo))
        out.append((",".join(f"{k.split('.')[-1]}={_fmt(x)}" for k, x in vals.items()), vals))
    return out


def _fmt(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _check_sweep_keys(study: Study):
    if study.sweep is None:
        return
    kinds = {d.name: d.kind for d in study.designs}
    for k, vals in study.sweep.params:
        parts, sk = k.split("."), f"sweep.{k}"
        if parts[0] == "design":
            params = sorted({p for kd in kinds.values() for p in KIND_KEYS[kd]} - {"name", "kind"})
            if len(parts) != 2 or parts[1] not in params:
                raise InputError(sk, list(vals), "design.<parameter> with a parameter of a design of this study: "
                                 + ", ".join(params))
        elif parts[0] == "designs":
            if len(parts) != 3 or parts[1] not in kinds:
                raise InputError(sk, list(vals), "designs.<name>.<parameter> with a design name of this study: "
                                 + ", ".join(kinds))
            params = sorted(set(KIND_KEYS[kinds[parts[1]]]) - {"name", "kind"})
            if parts[2] not in params:
                raise InputError(sk, list(vals), f"a parameter of design {parts[1]} ({kinds[parts[1]]}): "
                                 + ", ".join(params))
        elif parts[0] not in SWEEP_SECTIONS or len(parts) < 2:
            raise InputError(sk, list(vals), "design.<parameter>, designs.<name>.<parameter> or "
                             "<section>.<key> with a section " + ", ".join(SWEEP_SECTIONS))


def _set_path(data: dict, key: str, value, design_name: str):
    """Set a sweep value in one case's data (design.*: only for a design whose kind has the parameter)."""
    parts = key.split(".")
    table = data["designs"][0]
    if parts[0] == "design":
        if parts[1] in KIND_KEYS.get(table.get("kind", "flat"), ()):
            table[parts[1]] = value
        return
    if parts[0] == "designs":
        if parts[1] == design_name:
            table[parts[2]] = value
        return
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise InputError(f"sweep.{key}", value, "a key path into the study")
    node[parts[-1]] = value


def _check_names(cases: list[Case]):
    seen: dict[str, str] = {}
    for c in cases:
        f = c.folder
        if len(f) > MAX_FOLDER_NAME:
            raise InputError("designs.name", c.name[:60] + "...", f"case names of at most {MAX_FOLDER_NAME} "
                             "characters (shorten the design name or the sweep)")
        if f in seen:
            other = seen[f]
            what = "the same case name" if other == c.name else f"'{other}' and '{c.name}' both"
            raise InputError("designs.name", c.name, f"case names with distinct folders ({what} give cases/{f}/; "
                             f"use letters, digits and {FOLDER_CHARS} in design names)")
        seen[f] = c.name
