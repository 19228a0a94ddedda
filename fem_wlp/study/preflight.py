"""Checks of the cases that need several tables together, done by `check` and by `run` before anything is
written: mesh sizes against the layers (check_combination), the solder shape, and prebuilt meshes
(model.meshes) against the parameters they were built with."""
from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

from fem_wlp.errors import InputError
from fem_wlp.study.cases import Case
from fem_wlp.wlcsp.design import Design, Geometry, MeshSizes, check_combination
from fem_wlp.wlcsp.geometry.solder import solve_joint

#: mesh sizes that do not affect a model kind's mesh
UNUSED_SIZES = {"slice2d": {"size_fine_3d"}, "axisym": {"size_fine_3d"}, "joint3d": {"size_fine", "size_layer"}}


def check_cases(cases: list[Case]) -> None:
    for c in cases:
        check_case(c)


def check_case(case: Case) -> None:
    s = case.spec
    if not s.generated:
        return
    check_geometry(s.geometry, s.designs[0], s.mesh, s.kind)
    if s.model.meshes is not None:
        prebuilt_mesh(case)


def check_geometry(geometry: Geometry, design: Design, mesh: MeshSizes, kind: str) -> None:
    """The table combination (layers vs mesh size, pad vs pitch) and the solder shape of one design/kind."""
    try:
        _check_all(geometry, design, mesh, kind)
    except InputError:
        # the solder shape fails with the solder key; if the study changed the interface-layer thickness and the
        # default one fits, the interface layers are what does not fit, and that key is the one to name
        default = Geometry().interface_layer_thickness
        usual = replace(geometry, interface_layer_thickness=default)
        if geometry.interface_layer_thickness > default and _fits(usual, design, mesh, kind):
            raise InputError("geometry.interface_layer_thickness", geometry.interface_layer_thickness,
                             f"interface layers that leave a solder bulk between them (design {design.name}: "
                             "the die- and board-side layers of this thickness overlap)") from None
        raise


def _check_all(geometry, design, mesh, kind) -> None:
    """The tables together (layers vs mesh size, pad vs pitch), then the solder shape (solder amount vs pads)."""
    check_combination(geometry, design, mesh, kind)
    solve_joint(geometry, design, mesh_size=mesh.fine(kind))


def _fits(geometry, design, mesh, kind) -> bool:
    try:
        _check_all(geometry, design, mesh, kind)
    except InputError:
        return False
    return True


def prebuilt_mesh(case: Case) -> Path:
    """The prebuilt `<design>_<kind>.msh` of a case in model.meshes, checked against its mesh_report.json: a
    prebuilt mesh may only stand in for the parameters it was built with."""
    s = case.spec
    folder, raw = s.model.meshes, s.data["model"]["meshes"]
    msh = folder / f"{case.design}_{s.kind}.msh"
    if not folder.is_dir():
        raise InputError("model.meshes", raw, "a folder of meshes written by fem-wlp mesh (it does not exist)")
    if not msh.is_file():
        raise InputError("model.meshes", raw, f"a folder holding {msh.name}")
    rep_file = folder / "mesh_report.json"
    if not rep_file.is_file():
        raise InputError("model.meshes", raw, "a folder with mesh_report.json (written by fem-wlp mesh)")
    try:
        rep = json.loads(rep_file.read_text(encoding="utf-8"))
        built = {d.get("name"): d for d in rep.get("designs", [])}
        checks = [("geometry", Geometry(**rep.get("geometry", {})), s.geometry),
                  ("mesh", MeshSizes(**rep.get("mesh", {})), s.mesh)]
        if case.design in built:
            checks.append((f"designs.{case.design}", Design(**built[case.design]), s.designs[0]))
    except (OSError, ValueError, TypeError, AttributeError, InputError) as exc:
        raise InputError("model.meshes", raw, "a folder with a valid mesh_report.json",
                         message=f"model.meshes = {raw!r}: unreadable mesh_report.json ({exc})") from None
    if case.design not in built:
        raise InputError("model.meshes", raw, f"meshes built for design '{case.design}'")
    for k, a, b in checks:
        skip = UNUSED_SIZES.get(s.kind, set()) if k == "mesh" else set()
        diff = [f.name for f in fields(a) if f.name not in skip and getattr(a, f.name) != getattr(b, f.name)]
        if diff:
            raise InputError("model.meshes", raw,
                             message=f"model.meshes = {raw!r}: its meshes were built with other {k} values "
                                     f"({', '.join(f'{k}.{d}' for d in diff)}); remove model.meshes to mesh "
                                     "this case")
    return msh
