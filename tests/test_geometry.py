"""Geometry and meshing: analytic region sizes, solder volume conservation, standoff, area rule, quality,
names, bad input.  Coarse sizes keep the whole file well under a minute."""
from __future__ import annotations

import json
import math

import meshio
import pytest

from fem_wlp.study.preflight import check_geometry
from fem_wlp.wlcsp.design import Design, Geometry, MeshSizes, check_combination
from fem_wlp.errors import InputError
from fem_wlp.wlcsp.geometry import build_mesh, solve_joint
from fem_wlp.wlcsp.geometry.solder import cap_height, cap_volume, segment_area, sphere

G = Geometry()
COARSE = MeshSizes(size_fine=0.008, size_layer=0.006, size_fine_3d=0.016, size_coarse=0.2, grading_distance=0.2)
DESIGNS = {"flat": Design(pad_edge="metal", pi2_opening=0.17), "embossed": Design(name="embossed", kind="embossed"),
           "recessed": Design(name="recessed", kind="recessed")}
MATERIALS = {"flat": {"die", "passivation", "pi1", "pi2", "cu_wiring", "ubm", "solder", "board_pad",
                      "solder_mask", "board"},
             "embossed": {"die", "passivation", "pi1", "pi2", "pi3", "cu_wiring", "solder", "board_pad",
                          "solder_mask", "board"},
             "recessed": {"die", "passivation", "pi1", "pi2", "cu_wiring", "solder", "board_pad",
                          "solder_mask", "board"}}
FACETS = {"slice2d": {"symmetry", "board_bottom", "die_top", "board_end", "die_end"},
          "axisym": {"axis", "board_bottom", "die_top", "outer_die", "outer_board"},
          "joint3d": {"die_top", "board_bottom", "die_side", "board_side"}}


@pytest.fixture(scope="module")
def meshes(tmp_path_factory):
    out = tmp_path_factory.mktemp("meshes")
    res = {}
    for name, d in DESIGNS.items():
        for model in ("slice2d", "axisym"):
            res[name, model] = build_mesh(G, d, model, COARSE, out)
    res["embossed_ring4", "joint3d"] = build_mesh(
        G, Design(name="embossed_ring4", kind="embossed", ring_segments=4, ring_gap_angle=30.0), "joint3d",
        COARSE, out)
    res["flat", "joint3d"] = build_mesh(G, DESIGNS["flat"], "joint3d", COARSE, out)
    return res


# ------------------------------------------------------------------ closed forms
def test_cap_volume_inverse_and_sphere():
    for a_t, a_b, V in ((0.1075, 0.1, 0.009), (0.085, 0.1, 0.005), (0.1, 0.1, 0.02)):
        H = cap_height(V, a_t, a_b)
        assert cap_volume(H, a_t, a_b) == pytest.approx(V, rel=1e-12)
        R, u = sphere(H, a_t, a_b)
        assert R ** 2 == pytest.approx(a_t ** 2 + u ** 2)
        assert R ** 2 == pytest.approx(a_b ** 2 + (H - u) ** 2)
    # a full sphere between two points: segment area of a half disc
    assert segment_area(1.0, 0.0, 1.0) == pytest.approx(math.pi / 2)


def test_standoff_matches_truncated_sphere_and_volume_balance():
    for d in DESIGNS.values():
        j = solve_joint(G, d, 0.008)
        V = G.solder_volume_requested
        assert V == pytest.approx(math.pi * 0.25 ** 3 / 6)
        assert j.V_cap + j.V_fill_die + j.V_fill_board - j.V_prot_die - j.V_prot_board == pytest.approx(V)
        H = j.y_t - j.y_b
        assert math.pi * H * (3 * j.a_t ** 2 + 3 * j.a_b ** 2 + H ** 2) / 6 == pytest.approx(j.V_cap, rel=1e-10)
        assert j.standoff == pytest.approx(H)          # NSMD: board base plane = laminate surface
    flat = solve_joint(G, DESIGNS["flat"], 0.008)
    # flat: UBM (r 0.1075, 8 um) and NSMD pad (r 0.1, 25 um) protrude into the cap
    assert flat.V_prot_die == pytest.approx(math.pi * 0.1075 ** 2 * 0.008)
    assert flat.V_prot_board == pytest.approx(math.pi * 0.1 ** 2 * 0.025)
    rec = solve_joint(G, DESIGNS["recessed"], 0.008)
    # recessed fill: recess (r = 0.085 - 0.005 lined by Cu) + third opening (r = 0.1) above the Cu
    t2, dep = 0.008, 0.006
    fill = math.pi * 0.08 ** 2 * dep + math.pi * 0.1 ** 2 * t2
    assert rec.V_fill_die == pytest.approx(fill, rel=1e-9)
    # more solder sunk into the land -> lower standoff than the flat-without-UBM design
    assert rec.standoff < solve_joint(G, Design(ubm_thickness=0.0), 0.008).standoff


def test_area_rule():
    d = Design.from_dict({"name": "e", "kind": "embossed", "area_rule": True, "ring_outer_diameter": 0.14})
    ri, ro = d.ring_inner_diameter / 2, d.ring_outer_diameter / 2
    assert math.pi * ri ** 2 == pytest.approx(math.pi * (ro ** 2 - ri ** 2))
    d = Design.from_dict({"name": "e", "kind": "embossed", "area_rule": True, "ring_inner_diameter": 0.09})
    assert d.ring_outer_diameter == pytest.approx(0.09 * math.sqrt(2))
    d = Design.from_dict({"name": "e", "kind": "embossed", "area_rule": True, "ring_segments": 4,
                          "ring_gap_angle": 30.0})
    ri, ro = d.ring_inner_diameter / 2, d.ring_outer_diameter / 2
    assert ri ** 2 == pytest.approx((1 - 120 / 360) * (ro ** 2 - ri ** 2))
    with pytest.raises(InputError, match="area_rule"):
        Design.from_dict({"name": "e", "kind": "embossed", "area_rule": True, "ring_inner_diameter": 0.09,
                          "ring_outer_diameter": 0.13})


# ------------------------------------------------------------------ meshes
def test_names_readback_and_quality(meshes):
    for (name, model), res in meshes.items():
        m = meshio.read(res.msh)
        sets = set(m.cell_sets) - {"gmsh:bounding_entities"}
        kind = name.split("_")[0]
        tops = {s.split("/")[0] for s in sets}
        assert MATERIALS[kind] <= tops, (name, model, MATERIALS[kind] - tops)
        assert FACETS[model] <= sets
        joints = {s.split("/")[1] for s in sets if s.startswith("solder/")}
        assert len(joints) == (len(G.diagonal_dnp()) if model == "slice2d" else 1)
        for jn in joints:
            for layer in ("die_layer", "bulk", "board_layer"):
                assert f"solder/{jn}/{layer}" in sets
        cell_types = {c.type for c in m.cells}
        want = {"slice2d": "triangle", "axisym": "triangle", "joint3d": "tetra"}[model]
        assert want in cell_types and not ({"quad", "tetra", "triangle"} - {want, "triangle"*(model == "joint3d")}) & cell_types
        r = res.report
        if model == "joint3d":
            assert r["quality_gamma_min"] > 0 and r["quality_gamma_p01"] > 0.04
        else:
            assert r["quality_gamma_min"] > 0.05 and r["quality_gamma_mean"] > 0.8
        assert res.vtu.exists()


def test_solder_conserved_after_meshing(meshes):
    for (name, model), res in meshes.items():
        for jn, s in res.report["solder"].items():
            assert abs(s["rel_error"]) < 0.005, (name, model, jn, s)


def test_layer_and_relief_volumes_axisym(meshes):
    R = G.pitch / 2
    disc = math.pi * R ** 2
    for name in DESIGNS:
        sizes = meshes[name, "axisym"].report["region_sizes"]
        assert sizes["passivation"] == pytest.approx(disc * G.passivation_thickness, rel=1e-6)
        if name == "flat":   # PI1 is a full disc; PI2 = disc x (t2 + tcu) - Cu pad - opening
            assert sizes["pi1"] == pytest.approx(disc * G.pi1_thickness, rel=1e-6)
            cu = math.pi * 0.1175 ** 2 * G.cu_thickness
            assert sizes["cu_wiring/joint0"] == pytest.approx(cu, rel=1e-6)
    emb = meshes["embossed", "axisym"].report["region_sizes"]
    d = DESIGNS["embossed"]
    ring = math.pi * ((d.ring_outer_diameter / 2) ** 2 - (d.ring_inner_diameter / 2) ** 2) * G.pi2_thickness
    assert emb["pi2/ring/joint0"] == pytest.approx(ring, rel=1e-6)
    # PI2 outside the concave circle: the concave circle area (minus the ring) is free of PI2
    field = (math.pi * R ** 2 - math.pi * (d.concave_diameter / 2) ** 2) * G.pi2_thickness
    assert emb["pi2/field"] == pytest.approx(field, rel=1e-6)
    rec = meshes["recessed", "axisym"].report["region_sizes"]
    d = DESIGNS["recessed"]
    pi1 = disc * G.pi1_thickness - math.pi * (d.land_diameter / 2) ** 2 * d.recess_depth
    assert rec["pi1"] == pytest.approx(pi1, rel=1e-6)
    # conformal Cu lining the recess: bottom + wall + lap onto PI1
    rl, rp, t = d.land_diameter / 2, d.pad_diameter / 2, G.cu_thickness
    cu = math.pi * rp ** 2 * t + math.pi * (rl ** 2 - (rl - t) ** 2) * d.recess_depth
    assert rec["cu_wiring/joint0"] == pytest.approx(cu, rel=1e-6)


def test_slice_areas_and_ring_segments(meshes):
    L = G.die_size / math.sqrt(2)
    s = meshes["flat", "slice2d"].report["region_sizes"]
    assert s["passivation"] == pytest.approx(L * G.passivation_thickness, rel=1e-6)
    assert s["board"] == pytest.approx((L + G.board_extension) * G.board_thickness, rel=1e-6)
    e = meshes["embossed", "slice2d"].report["region_sizes"]
    d = DESIGNS["embossed"]
    assert e["pi2/ring/joint3"] == pytest.approx((d.ring_outer_diameter - d.ring_inner_diameter) * G.pi2_thickness,
                                                 rel=1e-6)
    # discontinuous ring in 3D: PI2 ring volume = fraction of the full ring
    r3 = meshes["embossed_ring4", "joint3d"].report["region_sizes"]
    full = math.pi * ((d.ring_outer_diameter / 2) ** 2 - (d.ring_inner_diameter / 2) ** 2) * G.pi2_thickness
    assert r3["pi2/ring/joint0"] == pytest.approx(full * (1 - 4 * 30 / 360), rel=0.01)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make, key", [
    (lambda: Design.from_dict({"name": "e", "kind": "embossed", "ring_outer_diameter": 0.2}),
     "designs.e.ring_outer_diameter"),
    (lambda: check_combination(G, Design(name="r", kind="recessed", recess_depth=0.01), MeshSizes(), "axisym"),
     "designs.r.recess_depth"),
    (lambda: Design.from_dict({"name": "f", "kind": "flat", "pi2_opening": 0.3}), "designs.f.pi2_opening"),
    (lambda: Geometry.from_dict({"pad_definition": "smd", "solder_mask_opening": 0.25}),
     "geometry.solder_mask_opening"),
    (lambda: check_geometry(Geometry(ball_diameter=0.12), Design(), MeshSizes(), "axisym"),
     "geometry.ball_diameter"),
    (lambda: check_geometry(Geometry(ball_diameter=0.4), Design(), MeshSizes(), "axisym"),
     "geometry.ball_diameter"),
    (lambda: check_combination(G, Design(), MeshSizes(size_fine_3d=0.03), "joint3d"),
     "geometry.passivation_thickness"),
    (lambda: Geometry.from_dict({"pi1_thickness": -0.001}), "geometry.pi1_thickness"),
    (lambda: Geometry.from_dict({"pi1_thicknes": 0.001}), "geometry.pi1_thicknes"),
    (lambda: MeshSizes.from_dict({"size_fine": 0}), "mesh.size_fine"),
    (lambda: MeshSizes.from_dict({"order": 3}), "mesh.order"),
    (lambda: Design.from_dict({"name": "x", "kind": "bumpy"}), "designs.x.kind"),
    (lambda: Design.from_dict({"name": "x", "kind": "flat", "ring_segments": 3}), "designs.x.ring_segments"),
])
def test_bad_input(make, key):
    with pytest.raises(InputError) as exc:
        make()
    assert exc.value.key == key
    assert key in str(exc.value)


def test_cli_mesh(tmp_path):
    from fem_wlp.cli.main import main
    study = tmp_path / "s.toml"
    study.write_text('[geometry]\n[[designs]]\nname = "rec"\nkind = "recessed"\n[model]\nkind = "axisym"\n'
                     '[mesh]\nsize_fine = 0.008\nsize_layer = 0.006\n')
    assert main(["mesh", str(study), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "rec_axisym.msh").exists() and (tmp_path / "o" / "mesh_report.md").exists()
    # the what-differs facts of the report are those of mesh_report.json (recessed: the crack path runs along
    # the 14 um step from the mouth down to the land on each side: 0.2 + 2 * 0.014 = 0.228 mm, as in
    # tests/test_planar_layers.py)
    f = json.loads((tmp_path / "o" / "mesh_report.json").read_text())["reports"][0]["joint"]["facts"]
    md = (tmp_path / "o" / "mesh_report.md").read_text()
    assert (f"| rec | axisym | {f['wetted_diameter_die_mm']:.4f} | {f['wetted_diameter_board_mm']:.4f} | "
            f"polymer |") in md
    assert f"| {f['crack_path_die_mm']:.4f} | {f['crack_path_board_mm']:.4f} |" in md
    assert f["crack_path_die_mm"] == pytest.approx(0.228, abs=1e-9)
    assert (tmp_path / "o" / "rec_section.png").exists()
    study.write_text('[geometry]\npi1_thickness = 0.004\n[[designs]]\nname = "rec"\nkind = "recessed"\n')
    assert main(["mesh", str(study), "--out", str(tmp_path / "o2")]) == 2


def test_3d_meshing_threads_not_inherited(monkeypatch):
    """_generate(threads=0) meshes on every available core even after a mesh on one thread in the same process:
    gmsh's own 0 means "OpenMP's current setting", which stays 1 once set (verified with gmsh 4.15's HXT log:
    "Delaunay of N points on 1 threads" for every later mesh) -- session 7's flaky run of the metal-edge cell."""
    import gmsh

    from fem_wlp.wlcsp.geometry.mesher import _generate, available_cores

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)   # (set: gmsh's 0 stays, see _generate)
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        used = []
        for threads in (1, 0):
            gmsh.clear()
            gmsh.model.occ.addBox(0, 0, 0, 1, 1, 1)
            gmsh.model.occ.synchronize()
            gmsh.option.setNumber("Mesh.MeshSizeMax", 0.5)
            _generate(gmsh, 3, 1, threads=threads)
            used.append(gmsh.option.getNumber("General.NumThreads"))
    finally:
        gmsh.finalize()
    assert used == [1, available_cores()]


def test_sliver_removal_falls_back_to_delaunay_and_keeps_the_best(monkeypatch):
    """remove_slivers(last_resort="delaunay") -- the package model's path, where Netgen's optimiser crashed libgmsh
    and every HXT mesh of the full-size embossed quarter kept a zero-volume tet -- on a real gmsh mesh with a
    threshold no mesh passes (good = 1): after the HXT re-meshes it meshes with Delaunay 3D once per 2D algorithm,
    keeps the best (the final mesh's smallest gamma is the largest of the Delaunay attempts', re-meshed when that
    was not the last), never calls Netgen, and leaves HXT as the 3D algorithm; a mesh that passes stays HXT's."""
    import gmsh

    from fem_wlp.wlcsp.geometry import mesher

    seen, methods = [], []
    optimise = mesher._optimise

    def spy(g):
        q = optimise(g)
        seen.append((q, int(g.option.getNumber("Mesh.Algorithm")), int(g.option.getNumber("Mesh.Algorithm3D"))))
        return q

    monkeypatch.setattr(mesher, "_optimise", spy)
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        optimize = gmsh.model.mesh.optimize
        monkeypatch.setattr(gmsh.model.mesh, "optimize", lambda method="", *a, **k: (methods.append(method),
                                                                                     optimize(method, *a, **k)))
        hows = []
        for good in (1.0, 0.0):
            seen.clear()
            gmsh.clear()
            gmsh.model.occ.addBox(0, 0, 0, 1, 1, 0.05)
            gmsh.model.occ.addCylinder(0.5, 0.5, 0.05, 0, 0, 0.02, 0.3)     # a thin disc on a thin plate
            gmsh.model.occ.fragment([(3, 1)], [(3, 2)])
            gmsh.model.occ.synchronize()
            gmsh.option.setNumber("Mesh.MeshSizeMax", 0.08)
            gmsh.option.setNumber("General.NumThreads", 1)
            gmsh.option.setNumber("Mesh.Algorithm3D", 10)
            gmsh.model.mesh.generate(3)
            hows.append(mesher.remove_slivers(gmsh, attempts=2, last_resort="delaunay", good=good))
            _, et, _ = gmsh.model.mesh.getElements(3)
            qmin = min(gmsh.model.mesh.getElementQualities(et[0], "gamma"))
            assert gmsh.option.getNumber("Mesh.Algorithm3D") == 10
            if good == 1.0:
                assert [alg3d for *_, alg3d in seen[:2]] == [10, 10]          # the HXT attempts
                delaunay = [(q, alg) for q, alg, alg3d in seen[2:] if alg3d == 1]
                tries, best = delaunay[:3], max(delaunay[:3])
                assert [alg for _, alg in tries] == [5, 1, 6]
                # the best not the last: meshed again with its settings (one thread: the same mesh)
                assert delaunay[3:] == ([] if best == tries[-1] else [best]) and len(seen) == 2 + len(delaunay)
                assert qmin == pytest.approx(best[0], rel=1e-12)
                assert f"Delaunay 3D (2D algorithm {best[1]}," in hows[-1]
            else:
                assert len(seen) == 1
        with pytest.raises(ValueError, match="last_resort"):
            mesher.remove_slivers(gmsh, attempts=1, last_resort="tetgen", good=1.0)
    finally:
        gmsh.finalize()
    assert "Netgen" not in methods and methods, methods
    assert hows[1] == "hxt", hows
