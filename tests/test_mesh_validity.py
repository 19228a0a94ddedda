"""fe.mesh refuses zero-volume simplices and straightens folded-over curved quadratic elements (session 7: a gmsh
mesh of the recessed joint3d cell kept two zero-volume tets; curved tetra10 of the embossed cell folded over)."""
import meshio
import numpy as np
import pytest

from fem_wlp.errors import InputError
from fem_wlp.fe.mesh import from_meshio, jacobian_ratio

TET = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
EDGES = [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]  # tetra10 midside nodes (VTK/meshio order)


def _tet10(mid01: float) -> meshio.Mesh:
    """One quadratic tet with the midside node of edge 0-1 at fraction `mid01` along the edge (0.5: straight)."""
    mids = np.array([(TET[a] + TET[b]) / 2 for a, b in EDGES])
    mids[0] = TET[0] + mid01 * (TET[1] - TET[0])
    return meshio.Mesh(np.vstack([TET, mids]), [meshio.CellBlock("tetra10", np.arange(10)[None])])


def test_folded_quadratic_element_is_straightened(capsys):
    # midside node at 0.8 of the edge: x(xi) along the edge has dx/dxi = x0 - 4 xm + 3 x1 = -0.2 at xi = 1 (folded)
    fm = from_meshio(_tet10(0.8), source="folded.msh")
    r = jacobian_ratio(fm.mesh)
    assert r.min() == pytest.approx(1.0, abs=1e-12)     # straight-sided now: det constant = the simplex's
    assert "1 curved quadratic element(s) folded over" in capsys.readouterr().err


def test_mildly_curved_element_is_kept():
    # 0.55: dx/dxi at xi = 1 is 0 - 2.2 + 3 = 0.8 of the straight edge's: valid (ratio 0.8 > 0.1), left curved
    fm = from_meshio(_tet10(0.55), source="curved.msh")
    r = jacobian_ratio(fm.mesh)
    assert r.min() == pytest.approx(0.8, rel=1e-9)
    assert np.abs(fm.mesh.doflocs[0] - 0.55).min() < 1e-12     # the moved node is still where it was


def test_zero_volume_tet_is_refused():
    pts = np.vstack([TET, [[0.5, 0.5, 0.0]]])                  # tet 2: four points in the plane z = 0
    m = meshio.Mesh(pts, [meshio.CellBlock("tetra", np.array([[0, 1, 2, 3], [0, 1, 2, 4]]))],
                    cell_sets={"good": [np.array([0])], "flat": [np.array([1])]})
    with pytest.raises(InputError, match=r"1 element\(s\) of zero volume .* in flat;"):
        from_meshio(m, source="sliver.msh")
