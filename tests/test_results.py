"""Result files: the VTU writer (raw appended binary by default, zlib through meshio) reads back exactly; P2/Q2 runs
write quadratic cells on every node."""
from __future__ import annotations

import numpy as np
import pytest
import skfem

from fem_wlp.materials import material_from_spec
from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.postprocess import cell_fields, point_displacements
from fem_wlp.fe.problem import Model, Temperature, boundary_constraint
from fem_wlp.io.results import write_vtu
from fem_wlp.fe.solver import Discretization, run


@pytest.mark.parametrize("dim,order", [(2, 1), (3, 1)])
@pytest.mark.parametrize("compression", ["none", "zlib"])
def test_vtu_round_trip(tmp_path, dim, order, compression):
    import meshio

    if dim == 2:
        m = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 4))
        form, fix = "plane_strain", ["x", "y"]
    else:
        m = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 5),) * 3)
        form, fix = "3d", ["x", "y", "z"]
    m = m.with_subdomains({"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5}).with_boundaries(
        {"bottom": lambda x: np.isclose(x[1 if dim == 2 else 2], 0.0)})
    fm = FEMesh.from_skfem(m)
    mats = {"a": material_from_spec("a", "Si"), "b": material_from_spec("b", "SAC305")}
    model = Model(fm, form, mats, (boundary_constraint(fm, "bottom", fix, formulation=form),),
                  Temperature.uniform_step(125.0, 25.0), order=order)
    disc = Discretization(model)
    frame = list(run(model, [0.0, 1.0], disc=disc))[-1]
    fields = cell_fields(disc, frame)
    u = point_displacements(disc, frame)
    write_vtu(tmp_path / "r.vtu", disc, frame, fields, {"displacement": u}, compression=compression)
    assert not list(tmp_path.glob("*.tmp*"))
    r = meshio.read(tmp_path / "r.vtu")
    nv = m.nvertices
    assert np.array_equal(r.points[:, :dim], m.p[:, :nv].T) and np.all(r.points[:, dim:] == 0.0)
    assert np.array_equal(r.cells[0].data, m.t[: dim + 1].T)
    assert r.cells[0].type == ("triangle" if dim == 2 else "tetra")
    assert np.array_equal(r.point_data["displacement"], u) and np.abs(u).max() > 0
    for k, v in fields.items():
        got = r.cell_data[k][0]
        assert np.array_equal(got, v.reshape(len(v), -1).squeeze() if v.ndim == 3 else v), k
        assert got.dtype == v.dtype, k
    assert set(np.unique(r.cell_data["region"][0])) == {0, 1}


# VTK node order of the quadratic cells: per node, the vertices (VTK numbering) whose mean is its position
VTK_ORDER = {"triangle6": [(0,), (1,), (2,), (0, 1), (1, 2), (2, 0)],
             "tetra10": [(0,), (1,), (2,), (3,), (0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)],
             "quad9": [(0,), (1,), (2,), (3,), (0, 1), (1, 2), (2, 3), (3, 0), (0, 1, 2, 3)]}


@pytest.mark.parametrize("kind, form", [("tri", "plane_strain"), ("tri", "axisymmetric"), ("quad", "plane_strain"),
                                        ("tet", "3d")])
@pytest.mark.parametrize("compression", ["none", "zlib"])
def test_vtu_quadratic_cells_carry_every_node(tmp_path, kind, form, compression):
    """P2/Q2 output: quadratic cells (triangle6, quad9, tetra10; VTK types 22, 28, 24) on every node, with the
    solution's displacement at every node, midside points at the edge midpoints of their cell (VTK order)."""
    import meshio

    x = np.linspace(0.0, 1.0, 4)
    m = {"tri": skfem.MeshTri.init_tensor(x, x[:3]), "quad": skfem.MeshQuad.init_tensor(x, x[:3]),
         "tet": skfem.MeshTet.init_tensor(x, x[:3], x[:3])}[kind]
    dim = m.dim()
    m = m.with_subdomains({"a": lambda p: p[0] < 0.5, "b": lambda p: p[0] >= 0.5}).with_boundaries(
        {"bottom": lambda p: np.isclose(p[dim - 1], 0.0)})
    fm = FEMesh.from_skfem(m)
    fix = ["x", "y", "z"][:dim] if form != "axisymmetric" else ["y"]
    mats = {"a": material_from_spec("a", "Si"), "b": material_from_spec("b", "SAC305")}
    model = Model(fm, form, mats, (boundary_constraint(fm, "bottom", fix, formulation=form),),
                  Temperature.uniform_step(125.0, 25.0), order=2)
    disc = Discretization(model)
    frame = list(run(model, [0.0, 1.0], disc=disc))[-1]
    fields = cell_fields(disc, frame)
    write_vtu(tmp_path / "q.vtu", disc, frame, fields, {"displacement": point_displacements(disc, frame)},
              compression=compression)
    r = meshio.read(tmp_path / "q.vtu")
    ctype = {"tri": "triangle6", "quad": "quad9", "tet": "tetra10"}[kind]
    nodes = disc.ndof // disc.nc
    assert nodes > m.nvertices and len(r.points) == nodes and r.cells[0].type == ctype
    assert np.array_equal(r.points[:, :dim], disc.dof_x.T)
    u = frame.u.reshape(-1, disc.nc)
    assert np.array_equal(r.point_data["displacement"][:, : disc.nc], u) and np.abs(u).max() > 0
    cells = r.cells[0].data
    assert np.array_equal(cells[:, : len(m.t)], m.t.T)                # the vertices: as the linear cells
    P = r.points[cells]                                               # (nel, nodes, 3)
    for i, vs in enumerate(VTK_ORDER[ctype]):
        assert np.allclose(P[:, i], P[:, list(vs)].mean(axis=1), atol=1e-14), (ctype, i)
    assert all(len(np.unique(c)) == len(c) for c in cells)
    for k, v in fields.items():                                       # cell data unchanged
        assert np.array_equal(r.cell_data[k][0], v.reshape(len(v), -1).squeeze() if v.ndim == 3 else v), k
