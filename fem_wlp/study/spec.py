"""The typed study: a study file parsed once into frozen dataclasses, every default in one place.

Tables and the classes they become (`fem-wlp check --keys` and docs/study-keys.md list every key):

* ``[study]`` -> StudyInfo, ``[model]`` -> ModelSpec, ``[load]`` -> LoadSpec (with the thermal Profile),
  ``[solver]`` -> SolverSpec (builds the engine's SolverSettings), ``[output]`` -> OutputSpec,
  ``[fatigue]`` -> FatigueSpec, ``[sweep]`` -> SweepSpec, ``[[constraints]]`` -> ConstraintSpec (mesh-file
  studies), ``[materials]`` -> region -> material spec (library name or inline table),
* ``[geometry]``, ``[[designs]]``, ``[mesh]`` -> wlcsp.design Geometry, Design, MeshSizes (generated models).

A study is either a mesh-file study (``model.mesh``: one case on a given mesh) or a generated-geometry study
(``model.kind`` + ``[[designs]]``: designs x sweep points, see study.cases). Validation happens once, when the
Study is constructed: every InputError names the key, the value and what is allowed.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

import numpy as np

from fem_wlp.errors import InputError
from fem_wlp.fe.la.linear import CHOICES as LINEAR_SOLVERS
from fem_wlp.fe.solver import SolverSettings
from fem_wlp.materials import material_from_spec
from fem_wlp.study import values as v
from fem_wlp.units import parse_temperature
from fem_wlp.wlcsp.design import (Design, Geometry, MeshSizes, check_package_array, check_submodel_margin,
                                  match_tables)
from fem_wlp.wlcsp.fatigue import life_models_from_spec, model_names
from fem_wlp.fe.problem import History
from fem_wlp.wlcsp.profiles import (DEFAULT_FIRST_STEP, DEFAULT_MAX_DT, DEFAULT_MIN_DWELL_STEPS, DEFAULT_STEP_GROWTH,
                                      Profile, corner_ladder, profile_from_spec)
from fem_wlp.wlcsp.regions import (BUILDUP, BUILDUP_STRESS_FREE, DEFAULT_MATERIALS, METALS, MODEL_KINDS, SOLDER,
                                   UNBONDED_DEFAULT, top_region)

FORMULATIONS = ("plane_strain", "generalized_plane_strain", "axisymmetric", "3d")
OUTPUT_FIELDS = ("last", "corners", "all", "none")
COMPRESSIONS = ("none", "zlib")
PURPOSES = ("run", "mesh", "case")
#: [fatigue] averaging: the rules of the headline damage metric
AVERAGING = ("planar", "conformal", "hotspot")
#: [study] match: the conditions all designs of a study share (study.cases derives them)
MATCH_CHOICES = ("wetted_diameter", "solder_volume")
MATCH_DEFAULT = ("wetted_diameter", "solder_volume")
#: [load] process: the stress-free history (see LoadSpec.process)
PROCESSES = ("reflow_only", "buildup_then_reflow")
#: load.cycles = "auto": at most this many cycles (domain.md §7: 3 is usual; SAC joints stabilise within a few)
DEFAULT_MAX_CYCLES = 8
#: load.cycles = "auto": the headline life ratio changes by less than this between the last two cycles
#: (the same tolerance as the study's ratio-stabilisation warning, workflows.study.RATIO_RTOL)
DEFAULT_CYCLES_RTOL = 0.01
#: sections of a generated-geometry study only
GENERATED_SECTIONS = ("geometry", "designs", "mesh", "sweep")


def key(default=MISSING, *, allowed: str, unit: str = "", doc: str = "", type: str = ""):
    """A dataclass field that documents its study key (docs/study-keys.md is generated from these)."""
    meta = {"allowed": allowed, "unit": unit, "doc": doc, "type": type}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class StudyInfo:
    """[study]"""
    name: str = key("study", type="string", allowed=f"a non-empty string (<= {v.MAX_NAME} characters)",
                    doc="name of the study (default: the file name without .toml)")
    description: str = key("", type="string", allowed="any text", doc="free text, echoed in report.md")
    baseline: str | None = key(None, type="string", allowed="a design name",
                               doc="design the life ratios refer to (default: the first design)")
    match: tuple[str, ...] = key(MATCH_DEFAULT, type="list of strings", allowed="a subset of "
                                 + ", ".join(MATCH_CHOICES) + " ([] = off)",
                                 doc="equal conditions: every design gets the baseline's die-side wetted "
                                 "diameter (its opening/UBM diameter is derived; giving a different one is an "
                                 "error) and the study's one solder volume (study.cases)")

    @classmethod
    def from_table(cls, t: dict, default_name: str) -> "StudyInfo":
        v.table("study", t, _names(cls))
        name = v.string("study.name", t.get("name", default_name), v.MAX_NAME)
        desc = t.get("description", "")
        if not isinstance(desc, str):
            raise InputError("study.description", desc, "a string")
        base = t.get("baseline")
        if base is not None:
            v.string("study.baseline", base, v.MAX_NAME)
        match = t.get("match", list(MATCH_DEFAULT))
        if not isinstance(match, list) or any(m not in MATCH_CHOICES for m in match) or len(set(match)) < len(match):
            raise InputError("study.match", match, "a list of distinct names out of " + ", ".join(MATCH_CHOICES)
                             + " ([] = designs keep their own dimensions)")
        return cls(name, desc, base, tuple(match))


@dataclass(frozen=True)
class ModelSpec:
    """[model]"""
    mesh: Path | None = key(None, type="path", allowed="a mesh file (.msh, relative to the study file)",
                            doc="mesh-file study: the mesh with physical names = region/boundary names")
    kind: str | None = key(None, type="string", allowed=" | ".join(MODEL_KINDS) + " (a list only for fem-wlp mesh)",
                           doc="generated-geometry study: the model kind")
    formulation: str | None = key(None, type="string", allowed=" | ".join(FORMULATIONS),
                                  doc="mesh-file study (default: 3d for a 3D mesh, else plane_strain)")
    order: int = key(1, type="integer", allowed="1 | 2", doc="element order (generated models: mesh.order)")
    quadrature_order: int | None = key(None, type="integer", allowed="an integer in [1, 10]",
                                       doc="quadrature order (default: the element's; an order whose rule has a negative "
                                           "weight is raised to the next with positive weights)")
    meshes: Path | None = key(None, type="path", allowed="a folder written by fem-wlp mesh",
                              doc="prebuilt meshes <design>_<kind>.msh instead of meshing each case")
    kinds: tuple[str, ...] = ()           # every kind named (fem-wlp mesh builds them all)
    slice_width: str = key("unit", type="string", allowed="unit | equivalent",
                           doc="slice2d (and the slice of a package3d study's compare_with): out-of-plane width "
                               "of each joint row -- unit: every region a ridge of unit depth (the joint "
                               "rows then carry ~1.8x the joint section per package area of the ball array); "
                               "equivalent: the joint's regions (solder, IMC, pads, UBM, embossed ring) get "
                               "the width w of wlcsp.design.equivalent_joint_width, the shear compliance of "
                               "the real array per package area; die, build-up, mask and board keep 1")
    # -- package3d only (workflows/submodel.py) --
    joint_size: float = key(0.025, type="number", unit="mm", allowed="a size in [0.0005, pitch/2]",
                            doc="package3d: element size of every joint of the global model (the critical one "
                                "is refined in the submodel)")
    buildup: str = key("layers", type="string", allowed="layers | merged",
                       doc="package3d: far-field build-up and mask as full-area layers (layers), or merged into "
                           "die and board away from the joint columns (merged: cheaper, measured +15 to +68 % on "
                           "the global joints' ΔW, see wlcsp/geometry/package3d.py)")
    critical_joint: object = key("auto", type="string or integer", allowed="auto | a joint index of the quarter",
                                 doc="package3d: the joint re-solved in the submodel (auto: the largest ΔW per "
                                     "cycle over its die-side layer in the global model)")
    submodel: bool = key(True, type="boolean", allowed="true | false",
                         doc="package3d: run the submodel of the critical joint after the global model")
    submodel_order: int = key(2, type="integer", allowed="1 | 2",
                              doc="package3d: element order of the submodel (2: quadratic tetrahedra, which do "
                                  "not lock under isochoric inelastic flow)")
    global_step_control: str = key("error", type="string", allowed="error | grid",
                                   doc="package3d: the step control of the global model (error: the study's "
                                       "solver.step_control; grid: the load grid's steps only -- fewer, "
                                       "backward-Euler global frames; the submodel keeps solver.step_control "
                                       "between them, driven linearly in time. A switch for speed, its effect on "
                                       "the submodel ΔW measured on the coarse model only: benchmarks/README.md)")
    submodel_margin: float = key(0.0, type="number", unit="mm",
                                 allowed="0, or a multiple n * pitch (n = 1, 2) within (pitch - widest joint) / 2",
                                 doc="package3d: the submodel's cut faces at pitch/2 + margin from the critical "
                                     "joint's axis (0: its pitch cell; pitch: one cell further out, the "
                                     "neighbouring joints included at model.joint_size -- the St-Venant check "
                                     "of benchmarks/bench_package3d.py stvenant); the cut planes must run "
                                     "between joint rows")
    compare_with: tuple[str, ...] = key((), type="list of strings", allowed="a subset of slice2d, joint3d, axisym",
                                        doc="package3d: also run these cheaper models on every design; each "
                                            "case gets a model_comparison list against package3d's submodel")

    @classmethod
    def from_table(cls, t, base_dir: Path, purpose: str) -> "ModelSpec":
        if t is None:
            raise InputError("model", None, "a [model] table with mesh (a mesh file) or kind "
                             "(" + " | ".join(MODEL_KINDS) + ")",
                             message="[model] is missing: give model.mesh (a mesh file) or model.kind "
                                     "(" + " | ".join(MODEL_KINDS) + ")")
        v.table("model", t, _names(cls) - {"kinds"})
        if ("mesh" in t) == ("kind" in t):
            raise InputError("model", sorted(t), "exactly one of model.mesh (a mesh file) or model.kind "
                             "(a generated geometry: " + " | ".join(MODEL_KINDS) + ")")
        order = v.choice_int("model.order", t.get("order", 1), (1, 2))
        qo = t.get("quadrature_order")
        qo = None if qo is None else v.number("model.quadrature_order", qo, 1, 10, integer=True)
        if "mesh" in t:
            if "meshes" in t:
                raise InputError("model.meshes", t["meshes"], "only with model.kind (a generated geometry)")
            if "slice_width" in t:
                raise InputError("model.slice_width", t["slice_width"], 'only with model.kind = "slice2d" (a '
                                 "generated slice)")
            mesh = _path("model.mesh", t["mesh"], base_dir)
            form = t.get("formulation")
            form = None if form is None else v.choice("model.formulation", form, FORMULATIONS)
            return cls(mesh=mesh, formulation=form, order=order, quadrature_order=qo)
        if "formulation" in t:
            raise InputError("model.formulation", t["formulation"],
                             "only with model.mesh (model.kind sets the formulation)")
        kinds = _kinds(t["kind"], purpose)
        meshes = t.get("meshes")
        meshes = None if meshes is None else _path("model.meshes", meshes, base_dir)
        p3 = _package3d_keys(t, kinds)
        if "slice_width" in t:
            if not {"slice2d", "package3d"} & set(kinds):
                raise InputError("model.slice_width", t["slice_width"],
                                 'only with model.kind = "slice2d" (or "package3d" with compare_with = '
                                 '["slice2d", ...])')
            p3["slice_width"] = v.choice("model.slice_width", t["slice_width"], SLICE_WIDTHS)
        return cls(kind=kinds[0], order=order, quadrature_order=qo, meshes=meshes, kinds=kinds, **p3)


PACKAGE3D_KEYS = ("joint_size", "buildup", "critical_joint", "submodel", "submodel_order", "submodel_margin",
                  "global_step_control", "compare_with")
#: the models model.compare_with can name
COMPARABLE = ("slice2d", "joint3d", "axisym")
#: model.slice_width
SLICE_WIDTHS = ("unit", "equivalent")


def _package3d_keys(t: dict, kinds) -> dict:
    """The package3d keys of [model] (only with kind = "package3d")."""
    given = [k for k in PACKAGE3D_KEYS if k in t]
    if given and "package3d" not in kinds:
        raise InputError(f"model.{given[0]}", t[given[0]], 'only with model.kind = "package3d"')
    out = {}
    if "joint_size" in t:
        out["joint_size"] = v.number("model.joint_size", t["joint_size"], 5e-4, 1.0)
    if "buildup" in t:
        out["buildup"] = v.choice("model.buildup", t["buildup"], ("merged", "layers"))
    if "critical_joint" in t:
        c = t["critical_joint"]
        if c != "auto" and (isinstance(c, bool) or not isinstance(c, int) or c < 0):
            raise InputError("model.critical_joint", c, "auto or a joint index >= 0")
        out["critical_joint"] = c
    if "submodel" in t:
        out["submodel"] = v.boolean("model.submodel", t["submodel"])
    if "submodel_order" in t:
        out["submodel_order"] = v.choice_int("model.submodel_order", t["submodel_order"], (1, 2))
    if "global_step_control" in t:
        out["global_step_control"] = v.choice("model.global_step_control", t["global_step_control"], ("error", "grid"))
    if "submodel_margin" in t:
        out["submodel_margin"] = v.number("model.submodel_margin", t["submodel_margin"], 0.0, 10.0)
    if "compare_with" in t:
        cw = t["compare_with"]
        if not isinstance(cw, list) or len(set(map(str, cw))) < len(cw):
            raise InputError("model.compare_with", cw, "a list of distinct model kinds: " + ", ".join(COMPARABLE))
        out["compare_with"] = tuple(v.choice("model.compare_with", k, COMPARABLE) for k in cw)
    return out


def _kinds(kind, purpose: str) -> tuple[str, ...]:
    allowed = " | ".join(MODEL_KINDS)
    if isinstance(kind, list) and purpose == "mesh":
        if not kind:
            raise InputError("model.kind", kind, f"{allowed} or a non-empty list of them")
        return tuple(dict.fromkeys(v.choice("model.kind", k, tuple(MODEL_KINDS)) for k in kind))
    if not isinstance(kind, str):
        raise InputError("model.kind", kind, f"one of {allowed} (a list of kinds only for fem-wlp mesh)")
    return (v.choice("model.kind", kind, tuple(MODEL_KINDS)),)


def _path(k: str, value, base_dir: Path) -> Path:
    v.string(k, value)
    p = Path(value)
    return p if p.is_absolute() else base_dir / p


@dataclass(frozen=True)
class LoadSpec:
    """[load]"""
    stress_free_temperature: float = key(type="number or string", allowed="a temperature (°C number, '217 oC', "
                                         f"'490 K') in [{v.T_MIN_C:g}, {v.T_MAX_C:g}] °C", unit="°C",
                                         doc="temperature of the stress-free state at t = 0 (required)")
    temperature: float | None = key(None, type="number or string", allowed="a temperature", unit="°C",
                                    doc="mesh-file studies: one thermoelastic step to this temperature")
    profile: str | None = key(None, type="string", allowed="a preset name (see profiles.PRESETS)",
                              doc="a JEDEC/IPC thermal-cycle preset")
    steps: tuple[str, ...] | None = key(None, type="list of strings", allowed="step strings ('Ramp to 125 oC "
                                        "at 10 oC/min', 'Dwell for 15 min', ...)",
                                        doc="a custom history, run as written from the stress-free temperature "
                                            "(rates included, no implicit ramp); with cycles > 1 the steps repeat "
                                            "from where they end")
    cycles: int | None = key(None, type="integer or string", allowed=f"an integer in [1, {v.MAX_CYCLES}] or "
                             "'auto'", doc="number of cycles (default 3 for a preset, 1 for steps); 'auto' (generated "
                             "studies): the cases run in lockstep until every design's primary-life ratio to the "
                             "baseline changes by less than load.cycles_rtol between cycles, at most "
                             "load.max_cycles (the cycles run: each case's cycles_run)")
    max_cycles: int = key(DEFAULT_MAX_CYCLES, type="integer", allowed=f"an integer in [2, {v.MAX_CYCLES}]",
                          doc="cycles = 'auto': the most cycles simulated")
    cycles_rtol: float = key(DEFAULT_CYCLES_RTOL, type="number", allowed="a number in (0, 0.5]",
                             doc="cycles = 'auto': the largest change between cycles of every life ratio "
                                 "(primary model, headline averaging rule, both cases at the same cycle) at "
                                 "which the study stops; a study with one design: of its life")
    ramp_rate: object = key(None, type="number or string", allowed="a rate > 0 ('10 oC/min' or °C/s)",
                            unit="°C/s", doc="default ramp rate (preset default or 10 °C/min)")
    dwell: object = key(None, type="number or string", allowed="a duration > 0 ('15 min' or s)", unit="s",
                        doc="default dwell (preset default)")
    initial_ramp_rate: object = key(None, type="number or string", allowed="a rate > 0", unit="°C/s",
                                    doc="presets: rate of the initial ramp (cycle 0) from the stress-free "
                                        "temperature to the preset's cycle start, shown in the profile "
                                        "description (default: ramp_rate, the preset's 10 °C/min)")
    cycle_start: str | None = key(None, type="string", allowed="ambient | cold | hot",
                                  doc="presets: where a cycle starts (default ambient, 25 °C)")
    max_dT: float = key(DEFAULT_MAX_DT, type="number", allowed="a number in (0, 100]", unit="°C",
                        doc="largest temperature change of one initial increment on a ramp")
    min_dwell_steps: int = key(DEFAULT_MIN_DWELL_STEPS, type="integer", allowed="an integer in [1, 1000]",
                               doc="increments of a dwell")
    first_step: float = key(DEFAULT_FIRST_STEP, type="number", allowed="a number in (0, 1]",
                            doc="first increment after every corner of a load history (t = 0, each end of a "
                                "ramp or dwell, each time of a [[constraints]] displacement table), as a "
                                "fraction of the local largest increment (max_dT on a ramp, dwell / "
                                "min_dwell_steps on a dwell); 1 = uniform increments")
    step_growth: float = key(DEFAULT_STEP_GROWTH, type="number", allowed="a number in (1, 10]",
                             doc="growth factor of consecutive increments after a corner, up to the local "
                                 "largest increment")
    process: str = key("reflow_only", type="string", allowed=" | ".join(PROCESSES),
                       doc="reflow_only: every region stress-free at stress_free_temperature; buildup_then_reflow: "
                           "the die and build-up (" + ", ".join(BUILDUP) + ") first, each stress-free at its "
                           "buildup_temperatures entry, equilibrated at 25 °C and heated to stress_free_temperature"
                           "; then the solder, IMC and board join stress-free (element activation) and the "
                           "profile runs (generated slice2d/axisym studies)")
    buildup_temperatures: tuple = key(BUILDUP_STRESS_FREE, type="table", unit="°C",
                                      allowed="{region = temperature, ...} for regions of " + ", ".join(BUILDUP),
                                      doc="process = buildup_then_reflow: stress-free temperature of each build-up "
                                          "region (defaults NOT FOUND in domain.md: textbook, unsourced)")
    thermal: Profile | None = None        # the profile built from the keys above (None for one step)
    auto_cycles: bool = False             # cycles = 'auto' (thermal then has max_cycles cycles)
    corners: tuple[float, ...] = ()       # corner times (s) of the constraints' displacement histories

    @classmethod
    def from_table(cls, t, generated: bool, corners=()) -> "LoadSpec":
        if t is None:
            raise InputError("load", None, "a [load] table with stress_free_temperature and a profile or steps")
        v.table("load", t, _names(cls) - {"thermal", "corners", "auto_cycles"})
        if "stress_free_temperature" not in t:
            raise InputError("load.stress_free_temperature", None, "a temperature in °C",
                             message="load.stress_free_temperature is missing (°C)")
        T0 = _temperature("load.stress_free_temperature", t["stress_free_temperature"])
        kinds = [k for k in ("temperature", "profile", "steps") if k in t]
        if len(kinds) != 1:
            raise InputError("load", kinds or None, "exactly one of temperature (one step), profile or steps")
        max_dT = v.number("load.max_dT", t.get("max_dT", DEFAULT_MAX_DT), 0, 100, lo_open=True, unit="°C")
        nd = v.number("load.min_dwell_steps", t.get("min_dwell_steps", DEFAULT_MIN_DWELL_STEPS), 1, 1000,
                      integer=True)
        f0 = v.number("load.first_step", t.get("first_step", DEFAULT_FIRST_STEP), 0, 1, lo_open=True)
        gr = v.number("load.step_growth", t.get("step_growth", DEFAULT_STEP_GROWTH), 1, 10, lo_open=True)
        ladder = dict(max_dT=max_dT, min_dwell_steps=nd, first_step=f0, step_growth=gr,
                      corners=tuple(sorted(set(float(c) for c in corners))))
        proc = v.choice("load.process", t.get("process", "reflow_only"), PROCESSES)
        bt = dict(BUILDUP_STRESS_FREE)
        if "buildup_temperatures" in t:
            if proc != "buildup_then_reflow":
                raise InputError("load.buildup_temperatures", t["buildup_temperatures"],
                                 "only with load.process = 'buildup_then_reflow'")
            v.table("load.buildup_temperatures", t["buildup_temperatures"], set(BUILDUP))
            bt.update({r: _temperature(f"load.buildup_temperatures.{r}", x)
                       for r, x in t["buildup_temperatures"].items()})
        if t.get("cycles") == "auto" and not generated:
            raise InputError("load.cycles", "auto", "an integer in a mesh-file study ('auto' judges the life "
                             "ratios of the designs of a generated-geometry study)")
        if proc != "reflow_only" and not generated:
            raise InputError("load.process", proc, "'reflow_only' in a mesh-file study (the build-up regions are "
                             "those of the generated geometry)")
        ladder.update(process=proc, buildup_temperatures=tuple(bt.items()))
        auto = t.get("cycles") == "auto"
        for k in ("max_cycles", "cycles_rtol"):
            if k in t and not auto:
                raise InputError(f"load.{k}", t[k], "only with load.cycles = 'auto'")
        if auto:
            if "temperature" in t:
                raise InputError("load.cycles", "auto", "only with load.profile or load.steps")
            max_c = v.number("load.max_cycles", t.get("max_cycles", DEFAULT_MAX_CYCLES), 2, v.MAX_CYCLES,
                             integer=True)
            rtol = v.number("load.cycles_rtol", t.get("cycles_rtol", DEFAULT_CYCLES_RTOL), 0, 0.5, lo_open=True)
            ladder.update(max_cycles=max_c, cycles_rtol=rtol, auto_cycles=True)
            t = {**t, "cycles": max_c}
        elif "cycles" in t:
            if isinstance(t["cycles"], str):
                raise InputError("load.cycles", t["cycles"], f"an integer in [1, {v.MAX_CYCLES}] or 'auto'")
            v.number("load.cycles", t["cycles"], 1, v.MAX_CYCLES, integer=True)
        if "temperature" in t:
            if generated:
                raise InputError("load.temperature", t["temperature"],
                                 "a thermal profile (profile or steps) for a reliability study")
            for k in ("cycles", "ramp_rate", "dwell", "initial_ramp_rate", "cycle_start"):
                if k in t:
                    raise InputError(f"load.{k}", t[k], "only with load.profile or load.steps")
            T1 = _temperature("load.temperature", t["temperature"])
            return cls(T0, temperature=T1, **ladder)
        if "steps" in t and not (isinstance(t["steps"], list) and t["steps"]):
            raise InputError("load.steps", t["steps"], "a non-empty list of step strings")
        prof = profile_from_spec(t)
        _check_profile(prof, "load.steps" if "steps" in t else "load.profile", max_dT, nd, f0, gr)
        return cls(T0, profile=t.get("profile"), steps=tuple(t["steps"]) if "steps" in t else None,
                   cycles=prof.cycles, ramp_rate=t.get("ramp_rate"), dwell=t.get("dwell"),
                   initial_ramp_rate=t.get("initial_ramp_rate"), cycle_start=t.get("cycle_start"),
                   thermal=prof, **ladder)

    def time_grid(self):
        """The initial time grid (s): every corner of the profile and of the constraints' displacement histories,
        with small first steps after each corner (load.first_step, load.step_growth); [0, 1] for one
        thermoelastic step (with the constraints' corners: each interval between them starts small too)."""
        kw = dict(first_step=self.first_step, step_growth=self.step_growth)
        if self.thermal is None:
            if not self.corners:
                return np.array([0.0, 1.0])
            b = np.unique(np.concatenate([[0.0, 1.0], np.asarray(self.corners, float)]))
            b = b[b >= 0.0]
            return np.concatenate([b[:1]] + [corner_ladder(x, y, 1 if y <= 1.0 else self.min_dwell_steps, **kw)
                                             for x, y in zip(b[:-1], b[1:])])
        return np.asarray(self.thermal.steps(max_dT=self.max_dT, min_dwell_steps=self.min_dwell_steps,
                                             corners=self.corners, **kw), float)


def _temperature(k: str, value) -> float:
    T = parse_temperature(value, key=k)
    return v.number(k, T, v.T_MIN_C, v.T_MAX_C, unit="°C")


def _check_profile(prof: Profile, k: str, max_dT: float, min_dwell_steps: int, first_step: float = 1.0,
                   step_growth: float = DEFAULT_STEP_GROWTH):
    lo, hi = float(min(prof.T_min, prof.stress_free_temperature)), float(max(prof.T_max, prof.stress_free_temperature))
    for T in (lo, hi):
        if not v.T_MIN_C <= T <= v.T_MAX_C:
            raise InputError(k, T,
                             f"temperatures in [{v.T_MIN_C:g}, {v.T_MAX_C:g}] °C")
    if not prof.duration <= v.MAX_DURATION_S:
        raise InputError(k, f"{prof.duration:g} s in total", f"a load history of at most {v.MAX_DURATION_S:g} s "
                         "(check the dwells and ramp rates)")
    n = prof.step_count(max_dT, min_dwell_steps, first_step, step_growth)
    if n > v.MAX_INCREMENTS:
        raise InputError("load.max_dT", max_dT, f"a time grid of at most {v.MAX_INCREMENTS} increments (this "
                         f"profile with max_dT = {max_dT:g} and min_dwell_steps = {min_dwell_steps} gives {n})")


_SOLVER_DEFAULTS = {f.name: f.default for f in fields(SolverSettings)}


@dataclass(frozen=True)
class SolverSpec:
    """[solver] (defaults: the engine's SolverSettings)"""
    linear: str = key(_SOLVER_DEFAULTS["linear_solver"], type="string", allowed=" | ".join(LINEAR_SOLVERS),
                      doc="linear solver: direct below 400k dofs in 3D, AMG-CG above (auto)")
    rtol: float = key(_SOLVER_DEFAULTS["rtol"], type="number", allowed="a number in (0, 0.01)",
                      doc="Newton tolerance: residual norm / force norm")
    max_iterations: int = key(_SOLVER_DEFAULTS["max_iterations"], type="integer", allowed="an integer in [2, 1000]",
                              doc="Newton iterations before a cutback")
    max_cutbacks: int = key(_SOLVER_DEFAULTS["max_cutbacks"], type="integer", allowed="an integer in [0, 30]",
                            doc="step halvings before the case fails")
    step_control: str = key(_SOLVER_DEFAULTS["step_control"], type="string", allowed="error | grid",
                            doc="error: local error control of the time integration within the grid's steps; "
                                "grid: the grid's steps")
    tolerance: float = key(_SOLVER_DEFAULTS["tolerance"], type="number", allowed="a number in (0, 0.01)",
                           doc="local error bound per increment (equivalent inelastic strain, volume RMS over a "
                               "region): the BDF2 error estimated from the difference to the trapezoidal "
                               "inelastic strain increment")
    max_deps_in: float = key(_SOLVER_DEFAULTS["max_deps_in"], type="number", allowed="a number in (0, 1]",
                             doc="coarse guard: largest equivalent inelastic strain increment of a step")
    growth: float = key(_SOLVER_DEFAULTS["growth"], type="number", allowed="a number in [1, 10]",
                        doc="step growth after easy increments")
    predictor: bool = key(_SOLVER_DEFAULTS["predictor"], type="boolean", allowed="true | false",
                          doc="extrapolate the previous displacement increment")
    reuse_factorization: bool = key(_SOLVER_DEFAULTS["reuse_factorization"], type="boolean",
                                    allowed="true | false", doc="keep a factorization as CG preconditioner")
    condense: str = key(_SOLVER_DEFAULTS["condense"], type="string", allowed="auto | on | off",
                        doc="static condensation of the constant elastic regions")
    integration: str = key(_SOLVER_DEFAULTS["integration"], type="string", allowed="auto | bdf2 | euler",
                           doc="time integration of the rate-dependent regions: variable-step BDF2 (second "
                               "order) or backward Euler; auto: BDF2 under step_control = error, else Euler")
    modified_newton: str = key(_SOLVER_DEFAULTS["modified_newton"], type="string", allowed="auto | on | off",
                               doc="the last factorized tangent while it contracts the residual 5x per "
                                   "iteration, a fresh one (then reused) when it does not; a contact status "
                                   "changed at a few points as a low-rank update of the factorization (auto: "
                                   "under step_control = error)")

    @classmethod
    def from_table(cls, t) -> "SolverSpec":
        t = v.table("solver", {} if t is None else t, _names(cls))
        kw = {}
        for k, val in t.items():
            sk = f"solver.{k}"
            if k in ("linear", "condense"):
                kw[k] = v.choice(sk, val, LINEAR_SOLVERS if k == "linear" else ("auto", "on", "off"))
            elif k == "step_control":
                kw[k] = v.choice(sk, val, ("error", "grid"))
            elif k == "integration":
                kw[k] = v.choice(sk, val, ("auto", "bdf2", "euler"))
            elif k == "modified_newton":
                kw[k] = v.choice(sk, val, ("auto", "on", "off"))
            elif k in ("predictor", "reuse_factorization"):
                kw[k] = v.boolean(sk, val)
            elif k in ("max_iterations", "max_cutbacks"):
                kw[k] = v.number(sk, val, 2 if k == "max_iterations" else 0, 1000 if k == "max_iterations" else 30,
                                 integer=True)
            else:
                lo, hi, hi_open = {"rtol": (0, 1e-2, True), "tolerance": (0, 1e-2, True), "max_deps_in": (0, 1, False),
                                   "growth": (1, 10, False)}[k]
                kw[k] = float(v.number(sk, val, lo, hi, lo_open=k != "growth", hi_open=hi_open))
        return cls(**kw)

    def settings(self) -> SolverSettings:
        kw = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "linear"}
        return SolverSettings(linear_solver=self.linear, **kw)


@dataclass(frozen=True)
class OutputSpec:
    """[output]"""
    fields: str = key("corners", type="string", allowed=" | ".join(OUTPUT_FIELDS),
                      doc="field snapshots (VTU): at the last time, every profile corner, every increment, none")
    compression: str = key("none", type="string", allowed=" | ".join(COMPRESSIONS), doc="VTU compression")

    @classmethod
    def from_table(cls, t) -> "OutputSpec":
        t = v.table("output", {} if t is None else t, _names(cls))
        kw = {}
        if "fields" in t:
            kw["fields"] = v.choice("output.fields", t["fields"], OUTPUT_FIELDS)
        if "compression" in t:
            kw["compression"] = v.choice("output.compression", t["compression"], COMPRESSIONS)
        return cls(**kw)


@dataclass(frozen=True)
class FatigueSpec:
    """[fatigue]"""
    models: tuple[str, ...] = key((), type="list of strings", allowed="life model names: syed_energy, "
                                  "syed_strain, engelmaier, darveaux, coffin_manson, morrow",
                                  doc="life models; the first is the headline (default syed_energy, syed_strain, "
                                      "engelmaier + every model with a table)")
    averaging: str = key("planar", type="string", allowed=" | ".join(AVERAGING),
                         doc="headline damage metric: planar (solder layer of thickness "
                             "geometry.interface_layer_thickness below the plane of the die/board-side wetted "
                             "face, the same definition for every design; falls back to conformal with a warning "
                             "when the mesh has no planar layers), conformal (the layer following the solder "
                             "boundary) or hotspot (fixed volume around the element of largest ΔW); all three "
                             "are reported")
    hotspot_volume: float | None = key(None, type="number", allowed="a number > 0, at most the interface "
                                       "layer's volume", unit="mm^3 (slice2d: mm^2, per mm of depth)",
                                       doc="volume of the hot spot (default: a cube of edge t = "
                                           "geometry.interface_layer_thickness -- t^3; slice2d a t x t square, "
                                           "t^2; axisym the ring of a t x t section through the hottest "
                                           "element, 2 pi r t^2)")
    table: dict = field(default_factory=dict, compare=False)   # [fatigue.<model>] constants, as given

    @classmethod
    def from_table(cls, t, solder) -> "FatigueSpec":
        t = v.table("fatigue", {} if t is None else t)
        life_models_from_spec(t, solder=solder)                    # validates every key and constant
        avg = v.choice("fatigue.averaging", t.get("averaging", "planar"), AVERAGING)
        hv = t.get("hotspot_volume")
        if hv is not None:
            hv = v.number("fatigue.hotspot_volume", hv, 0, None, lo_open=True, unit="mm^3")
        models = {k: x for k, x in t.items() if k not in ("averaging", "hotspot_volume")}
        return cls(tuple(model_names(models, solder=solder)), avg, hv, models)

    @property
    def primary(self) -> str:
        return self.models[0]

    def life_models(self, solder: str | None) -> dict:
        return life_models_from_spec(self.table, solder=solder)


RANGE_KEYS = ("start", "stop", "num", "step")


@dataclass(frozen=True)
class SweepSpec:
    """[sweep]: every other key is a dotted study key with a list or a range {start, stop, num | step}"""
    mode: str = key("product", type="string", allowed="product | zip",
                    doc="product: every combination; zip: the lists side by side")
    params: tuple = ()                      # ((dotted key, (values...)), ...)

    @classmethod
    def from_table(cls, t) -> "SweepSpec | None":
        if t is None:
            return None
        t = _flatten(v.table("sweep", t))
        mode = v.choice("sweep.mode", t.pop("mode", "product"), ("product", "zip"))
        if not t:
            raise InputError("sweep", {}, "at least one parameter to sweep")
        params = tuple((k, tuple(_sweep_values(k, val))) for k, val in t.items())
        sizes = [len(p[1]) for p in params]
        if mode == "zip" and len(set(sizes)) != 1:
            raise InputError("sweep", dict(zip(t, sizes)), "lists of equal length for mode = zip")
        n = sizes[0] if mode == "zip" else _product(sizes)
        if n > v.MAX_CASES:
            raise InputError("sweep", dict(zip(t, sizes)), f"at most {v.MAX_CASES} sweep points (this gives {n})")
        return cls(mode, params)


def _product(sizes) -> int:
    n = 1
    for s in sizes:
        n *= s
    return n


def _flatten(spec: dict, prefix: str = "") -> dict:
    """Nested tables (from --set sweep.design.x=[...] or [sweep.design]) -> dotted keys; range tables stay."""
    out = {}
    for k, val in spec.items():
        dk = f"{prefix}{k}"
        if isinstance(val, dict) and val and not set(val) <= set(RANGE_KEYS):
            out.update(_flatten(val, dk + "."))
        else:
            out[dk] = val
    return out


def _sweep_values(k: str, val) -> list:
    sk = f"sweep.{k}"
    if isinstance(val, list):
        if not val or len(val) > v.MAX_SWEEP_VALUES:
            raise InputError(sk, val, f"a list of 1 to {v.MAX_SWEEP_VALUES} values, or a range table")
        v.finite_tree(sk, val)
        return list(val)
    if not isinstance(val, dict):
        raise InputError(sk, val, "a non-empty list or a range table {start, stop, num} or {start, stop, step}")
    v.table(sk, val, RANGE_KEYS)
    if "start" not in val or "stop" not in val or ("num" in val) == ("step" in val):
        raise InputError(sk, val, "a list, or {start, stop, num} or {start, stop, step}")
    start, stop = (float(v.number(f"{sk}.{e}", val[e])) for e in ("start", "stop"))
    if "num" in val:
        num = v.number(f"{sk}.num", val["num"], 1, v.MAX_SWEEP_VALUES, integer=True)
        return [float(x) for x in np.linspace(start, stop, num)]
    step = v.number(f"{sk}.step", val["step"], 0, lo_open=True)
    n = (stop - start) / step + 1e-9
    if not 0 <= n < v.MAX_SWEEP_VALUES:
        raise InputError(f"{sk}.step", step, f"a step giving 1 to {v.MAX_SWEEP_VALUES} values from start "
                         f"{start:g} to stop {stop:g}")
    return [float(start + i * step) for i in range(int(n // 1) + 1)]


@dataclass(frozen=True)
class ConstraintSpec:
    """[[constraints]] (mesh-file studies)"""
    boundary: str | None = key(None, type="string", allowed="a boundary name of the mesh",
                               doc="constrain the vertices of this named boundary")
    point: tuple[float, ...] | None = key(None, type="list of numbers", allowed="2 or 3 coordinates (mm)",
                                          unit="mm", doc="constrain the vertex nearest to this point")
    fix: tuple[str, ...] = key((), type="list of strings", allowed="components x, y, z (r, z axisymmetric)",
                               doc="components held at zero")
    displacement: dict = key(None, type="table", allowed="component = number or [[t_s, value], ...]",
                             unit="mm", doc="prescribed displacement histories")

    @classmethod
    def from_table(cls, i: int, c) -> "ConstraintSpec":
        k = f"constraints[{i}]"
        v.table(k, c, _names(cls))
        if ("boundary" in c) == ("point" in c):
            raise InputError(k, c, "exactly one of boundary or point")
        if "fix" not in c and "displacement" not in c:
            raise InputError(k, c, "fix = [components] and/or displacement.<component> = value or table")
        point = None
        if "point" in c:
            p = c["point"]
            if not isinstance(p, list) or len(p) not in (2, 3):
                raise InputError(f"{k}.point", p, "a list of 2 or 3 coordinates (mm)")
            point = tuple(float(v.number(f"{k}.point", x, -v.MAX_COORDINATE, v.MAX_COORDINATE, unit="mm"))
                          for x in p)
        fix = c.get("fix", [])
        if not isinstance(fix, list) or not all(isinstance(f, str) for f in fix):
            raise InputError(f"{k}.fix", fix, "a list of components, e.g. [\"x\", \"y\"]")
        disp = c.get("displacement")
        if disp is not None:
            v.table(f"{k}.displacement", disp)
            v.finite_tree(f"{k}.displacement", disp)
        boundary = None if "boundary" not in c else v.string(f"{k}.boundary", c["boundary"])
        return cls(boundary, point, tuple(fix), disp)


SECTIONS = ("study", "model", "materials", "constraints", "load", "solver", "output", "fatigue",
            "contact") + GENERATED_SECTIONS


@dataclass(frozen=True)
class ContactSpec:
    """[contact] (generated models): unbonded interfaces, node-to-node small-sliding contact (fe/contact.py)"""
    bonded_everywhere: bool = key(False, type="boolean", allowed="true | false",
                                  doc="true: every interface bonded (the results before issue 14); false (the "
                                      "default for every model kind, linear or quadratic elements; package3d: "
                                      "its global model and its submodel): the `unbonded` interfaces -- solder "
                                      "against the polymers it does not wet -- are frictionless contact (order "
                                      "1: node-to-node pairs; order 2: facet-integrated at Gauss points)")
    unbonded: tuple[str, ...] | None = key(None, type="list of strings", allowed='"regionA:regionB" pairs of '
                                           "top-level regions of the generated models",
                                           doc="interfaces that are unilateral contact (no tension) instead of "
                                               "bonded (default: " + ", ".join(UNBONDED_DEFAULT) + ", each where "
                                               "the mesh has it); a listed pair the mesh lacks is an error")
    friction: float = key(0.0, type="number", allowed="a number in [0, 2]",
                          doc="Coulomb friction coefficient of the unbonded interfaces (0: frictionless). Friction > 0 "
                              "assembles the non-symmetric tangent (direct solvers factorize it as a general "
                              "matrix); the flagship slice runs with mu = 0.3 but needs 21-47 cutbacks per case "
                              "(0 frictionless) and ~10 % more Newton iterations")
    penalty: float = key(1e3, type="number", allowed="a number in [10, 1e6]",
                         doc="contact stiffness per unit area = penalty x E / h (E the larger modulus at the "
                             "interface, h its mean facet size): overclosure = 1/penalty of one element layer's "
                             "elastic compression")
    allow_metal: bool = key(False, type="boolean", allowed="true | false",
                            doc="allow an unbonded pair of two metal regions (" + ", ".join(METALS) + ")")

    @classmethod
    def from_table(cls, t) -> "ContactSpec":
        t = v.table("contact", {} if t is None else t, _names(cls))
        kw = {}
        for k in ("bonded_everywhere", "allow_metal"):
            if k in t:
                kw[k] = v.boolean(f"contact.{k}", t[k])
        if "friction" in t:
            kw["friction"] = v.number("contact.friction", t["friction"], 0.0, 2.0)
        if "penalty" in t:
            kw["penalty"] = v.number("contact.penalty", t["penalty"], 10.0, 1e6)
        if "unbonded" in t:
            pairs = t["unbonded"]
            if not isinstance(pairs, list) or not all(isinstance(p, str) for p in pairs):
                raise InputError("contact.unbonded", pairs, 'a list of "regionA:regionB" strings')
            for p in pairs:
                ab = p.split(":")
                if len(ab) != 2 or ab[0] == ab[1] or any(r not in DEFAULT_MATERIALS for r in ab):
                    raise InputError("contact.unbonded", p, '"regionA:regionB" with two different regions of '
                                     "the generated models: " + ", ".join(DEFAULT_MATERIALS))
                if all(r in METALS for r in ab) and not kw.get("allow_metal", False):
                    raise InputError("contact.unbonded", p, "a pair with at most one metal region (" +
                                     ", ".join(METALS) + "), or set contact.allow_metal = true")
            kw["unbonded"] = tuple(pairs)
        return cls(**kw)

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The unbonded (region A, region B) pairs; () when bonded everywhere."""
        if self.bonded_everywhere:
            return ()
        return tuple(tuple(p.split(":")) for p in (self.unbonded if self.unbonded is not None
                                                   else UNBONDED_DEFAULT))


@dataclass(frozen=True)
class Study:
    """A validated study. `data` is the study as run (after --set overrides): it is recorded in
    study_as_run.json and hashed for resuming; everything else reads the typed fields."""
    path: Path
    data: dict
    info: StudyInfo
    model: ModelSpec
    load: LoadSpec | None
    solver: SolverSpec
    output: OutputSpec
    materials: dict
    constraints: tuple[ConstraintSpec, ...] = ()
    fatigue: FatigueSpec | None = None
    sweep: SweepSpec | None = None
    geometry: Geometry | None = None
    designs: tuple[Design, ...] = ()
    mesh: MeshSizes | None = None
    contact: ContactSpec = field(default_factory=ContactSpec)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def generated(self) -> bool:
        return self.model.mesh is None

    @property
    def kind(self) -> str | None:
        return self.model.kind

    @property
    def profile(self) -> Profile | None:
        return self.load.thermal if self.load else None

    @property
    def baseline(self) -> str | None:
        return self.info.baseline or (self.designs[0].name if self.designs else None)

    @property
    def solder(self) -> str | None:
        """The solder's library name (picks default fatigue constants), None for an inline table."""
        s = self.materials.get(SOLDER)
        return s if isinstance(s, str) else None

    @property
    def order(self) -> int:
        """Element order: mesh.order for generated models (model.order when [mesh] does not give one)."""
        if self.generated and "order" in (self.data.get("mesh") or {}):
            return self.mesh.order
        return self.model.order

    @classmethod
    def from_dict(cls, data, path=Path("study.toml"), purpose: str = "run") -> "Study":
        """Validate `data` (a parsed study file); `purpose`: run | mesh (meshing only: no [load] needed) | case
        (one case of a study: one design, no sweep, no baseline check)."""
        path = Path(path)
        if not isinstance(data, dict):
            raise InputError("STUDY", str(path), "a study file with tables")
        for sec, val in data.items():
            if sec not in SECTIONS:
                raise InputError(sec, val, "a study table", message=f"{sec}: not a study table (the tables are "
                                 + ", ".join(SECTIONS) + ")")
            if sec in ("constraints", "designs"):
                if not isinstance(val, list):
                    raise InputError(sec, val, f"a list of [[{sec}]] tables")
            elif not isinstance(val, dict):
                raise InputError(sec, val, "a table")
        info = StudyInfo.from_table(data.get("study", {}), path.stem)
        model = ModelSpec.from_table(data.get("model"), path.parent, purpose)
        return (_generated if model.mesh is None else _mesh_file)(data, path, info, model, purpose)


def _mesh_file(data, path, info, model, purpose) -> Study:
    for sec in GENERATED_SECTIONS + ("contact",):
        if sec in data:
            raise InputError(sec, data[sec], "only in a generated-geometry study", message=f"{sec}: only in a "
                             "generated-geometry study (model.kind); this study has model.mesh")
    mats = data.get("materials")
    if not isinstance(mats, dict) or not mats:
        raise InputError("materials", mats, "a [materials] table mapping region names to materials")
    _check_materials(mats)
    cons = tuple(ConstraintSpec.from_table(i, c) for i, c in enumerate(data.get("constraints", [])))
    load = LoadSpec.from_table(data.get("load"), generated=False, corners=_constraint_corners(cons))
    return Study(path, data, info, model, load, SolverSpec.from_table(data.get("solver")),
                 OutputSpec.from_table(data.get("output")), dict(mats), cons,
                 fatigue=FatigueSpec.from_table(data["fatigue"], None) if "fatigue" in data else None)


def _constraint_corners(cons) -> list[float]:
    """Corner times (s) of the constraints' displacement tables (checked here, at study load)."""
    out = []
    for i, c in enumerate(cons):
        for comp, val in (c.displacement or {}).items():
            out += History.of(f"constraints[{i}].displacement.{comp}", val).corners
    return out


def _generated(data, path, info, model, purpose) -> Study:
    if "constraints" in data:
        raise InputError("constraints", data["constraints"],
                         "only in a mesh-file study (model.mesh); model.kind sets the boundary conditions")
    geometry = Geometry.from_dict(data.get("geometry"))
    if model.kind == "package3d":
        _check_package3d(model, geometry)
    tables = data.get("designs")
    if purpose != "case":      # equal conditions (a case has one design: study.cases derived it already)
        tables = match_tables(tables, info.baseline, info.match)
    designs = _designs(tables)
    mesh = MeshSizes.from_dict(data.get("mesh"))
    names = [d.name for d in designs]
    if purpose != "case" and info.baseline is not None and info.baseline not in names:
        raise InputError("study.baseline", info.baseline, "one of the design names " + ", ".join(names))
    given = data.get("materials", {})
    for r in given:
        if top_region(r) not in DEFAULT_MATERIALS:
            raise InputError(f"materials.{r}", given[r], "a region of the generated models: "
                             + ", ".join(DEFAULT_MATERIALS))
    mats = {**DEFAULT_MATERIALS, **given}
    _check_materials(mats)
    solder = mats[SOLDER] if isinstance(mats[SOLDER], str) else None
    load = None
    if purpose != "mesh" or "load" in data:
        load = LoadSpec.from_table(data.get("load"), generated=True)
    sweep = SweepSpec.from_table(data.get("sweep")) if purpose != "case" else None
    if load is not None and load.process != "reflow_only" and model.slice_width != "unit":
        # (the build-up stage model of workflows/process.py is built without the widths)
        raise InputError("model.slice_width", model.slice_width, "'unit' with load.process = "
                         f"'{load.process}' (the equivalent width is not carried into the build-up stage)")
    if load is not None and load.process != "reflow_only" and model.kind in ("joint3d", "package3d"):
        raise InputError("load.process", load.process, "'reflow_only' for model.kind = 'joint3d' (its cut faces "
                         "follow the free expansion from one stress-free state); slice2d and axisym take "
                         "'buildup_then_reflow'")
    return Study(path, data, info, model, load, SolverSpec.from_table(data.get("solver")),
                 OutputSpec.from_table(data.get("output")), mats, (),
                 FatigueSpec.from_table(data.get("fatigue"), solder), sweep, geometry, designs, mesh,
                 ContactSpec.from_table(data.get("contact")))


def _check_package3d(model: ModelSpec, geometry: Geometry) -> None:
    """package3d: the array fits the die with every joint's pitch cell, a named critical joint exists, the joint
    size is at most half the pitch."""
    check_package_array(geometry)
    m = geometry.array_size // 2
    c = model.critical_joint
    if c != "auto" and c >= m * m:
        raise InputError("model.critical_joint", c, f"auto or a joint index of the quarter model, 0..{m * m - 1} "
                         f"(joint i*{m} + j at ((i + 1/2) pitch, (j + 1/2) pitch))")
    if model.joint_size > geometry.pitch / 2:
        raise InputError("model.joint_size", model.joint_size, f"<= pitch/2 = {geometry.pitch / 2} mm")
    check_submodel_margin(geometry, model.submodel_margin)


def _designs(tables) -> tuple[Design, ...]:
    if not isinstance(tables, list) or not tables:
        raise InputError("designs", tables, "a list of [[designs]] tables (name, kind, ...)")
    out = []
    for i, t in enumerate(tables):
        if not isinstance(t, dict):
            raise InputError(f"designs[{i}]", t, "a [[designs]] table")
        if "name" not in t:
            raise InputError(f"designs[{i}].name", None, "a design name (every [[designs]] table needs one)")
        v.string(f"designs[{i}].name", t["name"], v.MAX_NAME)
        out.append(Design.from_dict(t))
    names = [d.name for d in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError("designs.name", dup[0], "unique design names")
    return tuple(out)


def _check_materials(mats: dict):
    for region, spec in mats.items():
        k = f"materials.{region}"
        v.finite_tree(k, spec)
        if isinstance(spec, dict) and "library" in spec and not isinstance(spec["library"], str):
            raise InputError(f"{k}.library", spec["library"], "a library name (a string)")
        if not isinstance(spec, (str, dict)):
            raise InputError(k, spec, "a library name or an inline table with model, E, nu, alpha, ...")
        try:
            material_from_spec(region, spec)
        except InputError:
            raise
        except (TypeError, ValueError, KeyError, ZeroDivisionError) as exc:
            raise InputError(k, spec, "a valid material table", message=f"{k}: invalid material: "
                             f"{type(exc).__name__}: {exc}") from None


def _names(cls) -> set:
    return {f.name for f in fields(cls)} - {"table", "params"}
