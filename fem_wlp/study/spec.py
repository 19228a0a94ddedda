"""Study files (TOML): parsing, validation with one clear message per problem, and the run pipeline.

A study is immutable once read. `--set key=value` overrides any value (dotted key path, TOML value syntax).
Data flow: study file -> Study -> mesh with names -> materials per region -> Model -> solver frames ->
fields, summary, history -> results folder.
"""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from fem_wlp.errors import InputError

SECTIONS = {
    "study": {"name", "description", "baseline"},
    "model": {"mesh", "formulation", "order", "quadrature_order", "kind", "meshes"},
    "materials": None,            # free: region -> spec
    "constraints": None,          # list of tables
    "load": {"stress_free_temperature", "temperature", "profile", "steps", "cycles", "ramp_rate", "dwell",
             "initial_ramp_rate", "cycle_start", "max_dT", "min_dwell_steps"},
    "solver": {"linear", "rtol", "max_iterations", "max_cutbacks", "max_deps_in", "growth", "predictor", "condense",
               "reuse_factorization"},
    "output": {"fields", "compression"},
}
CONSTRAINT_KEYS = {"boundary", "point", "fix", "displacement"}
OUTPUT_FIELDS = ("last", "corners", "all", "none")


def parse_value(text: str):
    """A --set value in TOML syntax (numbers, strings, lists, booleans); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict, assignment: str) -> dict:
    if "=" not in assignment:
        raise InputError("--set", assignment, "key=value (e.g. load.cycles=2)")
    key, text = assignment.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for p in parts[:-1]:
        if isinstance(node, list):
            try:
                node = node[int(p)]
                continue
            except (ValueError, IndexError):
                raise InputError("--set", key, "a key path into the study (list items by index)") from None
        node = node.setdefault(p, {})
        if not isinstance(node, (dict, list)):
            raise InputError("--set", key, "a key path into the study")
    if isinstance(node, list):
        try:
            node[int(parts[-1])] = parse_value(text.strip())
        except (ValueError, IndexError):
            raise InputError("--set", key, "a key path into the study (list items by index)") from None
    else:
        node[parts[-1]] = parse_value(text.strip())
    return data


@dataclass(frozen=True)
class Study:
    path: Path
    data: dict                       # the study as run (after overrides)
    name: str = "study"

    @classmethod
    def from_toml(cls, path, overrides=()) -> "Study":
        path = Path(path)
        if not path.is_file():
            raise InputError("STUDY", str(path), "an existing study file (.toml)")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InputError("STUDY", str(path), "valid TOML", message=f"{path}: invalid TOML: {exc}") from None
        for o in overrides:
            apply_override(data, o)
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: dict, path=Path("study.toml")) -> "Study":
        data = copy.deepcopy(data)
        for sec, val in data.items():
            if sec not in SECTIONS and not _extension_section(sec):
                raise InputError(sec, "...", "sections " + ", ".join(sorted(SECTIONS)) + _extension_hint())
            allowed = SECTIONS.get(sec)
            if allowed is not None:
                if not isinstance(val, dict):
                    raise InputError(sec, val, "a table")
                for k in val:
                    if k not in allowed:
                        raise InputError(f"{sec}.{k}", val[k], "one of " + ", ".join(sorted(allowed)))
        name = data.get("study", {}).get("name", Path(path).stem)
        if not isinstance(name, str) or not name:
            raise InputError("study.name", name, "a non-empty string")
        study = cls(Path(path), data, name)
        study.validate()
        return study

    # -- validation ----------------------------------------------------------------------------------------------
    def validate(self):
        """Check everything that can be checked without meshing (materials, load, solver, constraints)."""
        d = self.data
        model = d.get("model")
        if not isinstance(model, dict):
            raise InputError("model", model, "a [model] table with mesh (a file) or kind (a generated geometry)")
        if "kind" in model and "mesh" not in model:
            self._validate_generated()
            return
        if "mesh" not in model and "kind" not in model:
            raise InputError("model.mesh", None, "a mesh file path",
                             message="model.mesh is missing: give a mesh file (or model.kind for a generated geometry)")
        self.solver_settings()
        self.load_spec()
        mats = d.get("materials")
        if not isinstance(mats, dict) or not mats:
            raise InputError("materials", mats, "a [materials] table mapping region names to materials")
        from fem_wlp.materials import material_from_spec

        for region, spec in mats.items():
            material_from_spec(region, spec)
        cons = d.get("constraints", [])
        if not isinstance(cons, list):
            raise InputError("constraints", cons, "a list of [[constraints]] tables")
        for i, c in enumerate(cons):
            key = f"constraints[{i}]"
            if not isinstance(c, dict):
                raise InputError(key, c, "a table")
            for k in c:
                if k not in CONSTRAINT_KEYS:
                    raise InputError(f"{key}.{k}", c[k], "one of " + ", ".join(sorted(CONSTRAINT_KEYS)))
            if ("boundary" in c) == ("point" in c):
                raise InputError(key, c, "exactly one of boundary or point")
            if "fix" not in c and "displacement" not in c:
                raise InputError(key, c, "fix = [components] and/or displacement.<component> = value or table")
        self._validate_output()

    def _validate_output(self):
        out = self.data.get("output", {}).get("fields", "corners")
        if out not in OUTPUT_FIELDS:
            raise InputError("output.fields", out, ", ".join(OUTPUT_FIELDS))
        comp = self.data.get("output", {}).get("compression", "none")
        if comp not in ("none", "zlib"):
            raise InputError("output.compression", comp, "none or zlib")

    def _validate_generated(self):
        """A generated-geometry study: solver, load and the [geometry]/[[designs]]/[mesh] tables."""
        self.solver_settings()
        self._validate_output()
        self.load_spec()
        if "temperature" in self.data["load"]:
            raise InputError("load.temperature", self.data["load"]["temperature"],
                             "a thermal profile (profile or steps) for a reliability study")
        mats = self.data.get("materials", {})
        if not isinstance(mats, dict):
            raise InputError("materials", mats, "a table mapping region names to materials")
        from fem_wlp.materials import material_from_spec

        for region, spec in mats.items():
            material_from_spec(region, spec)
        from fem_wlp.workflows.reliability import cases_of

        cases_of(self)

    def solver_settings(self):
        from fem_wlp.fe.solver.stepping import SolverSettings

        s = dict(self.data.get("solver", {}))
        kw = {}
        if "linear" in s:
            from fem_wlp.fe.la.linear import CHOICES

            if s["linear"] not in CHOICES:
                raise InputError("solver.linear", s["linear"], ", ".join(CHOICES))
            kw["linear_solver"] = s.pop("linear")
        for k, v in s.items():
            kw[k] = v
        try:
            return SolverSettings(**kw)
        except TypeError as exc:
            raise InputError("solver", s, "valid solver settings", message=f"solver: {exc}") from None

    def load_spec(self) -> dict:
        load = self.data.get("load")
        if not isinstance(load, dict):
            raise InputError("load", load, "a [load] table with stress_free_temperature and temperature or profile")
        if "stress_free_temperature" not in load:
            raise InputError("load.stress_free_temperature", None, "a temperature in °C",
                             message="load.stress_free_temperature is missing (°C)")
        from fem_wlp.units import parse_temperature

        parse_temperature(load["stress_free_temperature"], key="load.stress_free_temperature")
        kinds = [k for k in ("temperature", "profile", "steps") if k in load]
        if len(kinds) != 1:
            raise InputError("load", kinds or None, "exactly one of temperature (one step), profile or steps")
        if "temperature" in load:
            parse_temperature(load["temperature"], key="load.temperature")
        else:
            self.profile()
        return load

    def profile(self):
        """The thermal profile of a cyclic load (None for a one-step thermoelastic load)."""
        load = self.data["load"]
        if "temperature" in load:
            return None
        from fem_wlp.wlcsp.profiles import profile_from_spec

        return profile_from_spec(load)

    # -- building ------------------------------------------------------------------------------------------------
    def mesh(self):
        from fem_wlp.fe.mesh import load

        m = self.data["model"]
        p = Path(m["mesh"])
        if not p.is_absolute():
            p = self.path.parent / p
        return load(p, key="model.mesh")

    def build_model(self, fmesh=None):
        """Model (problem definition) for a mesh-file study; returns (model, report)."""
        import numpy as np

        from fem_wlp.materials import material_from_spec
        from fem_wlp.fe.problem import History, Model, Temperature, boundary_constraint, point_constraint

        d = self.data
        fmesh = fmesh or self.mesh()
        formulation = d["model"].get("formulation", "3d" if fmesh.dim == 3 else "plane_strain")
        order = d["model"].get("order", 1)
        if order not in (1, 2):
            raise InputError("model.order", order, "1 or 2")
        mats = {r: material_from_spec(r, s) for r, s in d["materials"].items()}
        cons, report = [], []
        for i, c in enumerate(d.get("constraints", [])):
            key = f"constraints[{i}]"
            items = []
            if "fix" in c:
                items.append((c["fix"], None, ()))
            for comp, val in (c.get("displacement") or {}).items():
                h = History.of(f"{key}.displacement.{comp}", val)
                items.append(([comp], (lambda hh: (lambda t, x: hh(t)))(h), h.corners))
            for fix, fn, corners in items:
                if "boundary" in c:
                    con = boundary_constraint(fmesh, c["boundary"], fix, fn, key=key, formulation=formulation)
                    report.append({"constraint": con.label, "fix": fix})
                else:
                    con, rep = point_constraint(fmesh, c["point"], fix, fn, key=key, formulation=formulation)
                    report.append({"constraint": con.label, "fix": fix, **rep})
                if corners:
                    con = type(con)(**{**con.__dict__, "corners": corners})
                cons.append(con)
        load = d["load"]
        from fem_wlp.units import parse_temperature

        T0 = parse_temperature(load["stress_free_temperature"], key="load.stress_free_temperature")
        prof = self.profile()
        if prof is None:
            temp = Temperature.uniform_step(T0, parse_temperature(load["temperature"], key="load.temperature"))
        else:
            temp = Temperature(T0, prof.T, corners=tuple(prof.corners))
        model = Model(fmesh, formulation, mats, tuple(cons), temp, order=order,
                      intorder=d["model"].get("quadrature_order"), name=self.name)
        return model, report

    def time_grid(self):
        import numpy as np

        load = self.data["load"]
        prof = self.profile()
        if prof is None:
            return np.array([0.0, 1.0])
        return np.asarray(prof.steps(max_dT=load.get("max_dT", 5.0),
                                     min_dwell_steps=load.get("min_dwell_steps", 10)), float)


def _extension_section(sec: str) -> bool:
    return sec in EXTENSION_SECTIONS


#: sections that later pipeline stages (generated geometry, fatigue, sweeps) read
EXTENSION_SECTIONS = {"geometry", "designs", "mesh", "fatigue", "sweep", "report"}


def _extension_hint() -> str:
    return ", " + ", ".join(sorted(EXTENSION_SECTIONS))
