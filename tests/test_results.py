"""Result files: the VTU writer (raw appended binary by default, zlib through meshio) reads back exactly."""
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


@pytest.mark.parametrize("dim,order", [(2, 1), (2, 2), (3, 1)])
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
