"""Meshes with named regions and boundaries: gmsh/meshio files -> scikit-fem meshes.

Region names are hierarchical paths separated by "/": the cell groups in a file are disjoint *leaves*
("solder/joint0/die_layer"), and a name denotes the union of all leaves under it ("solder", "solder/joint0").
Material regions are the names a study assigns materials to; every leaf must get exactly one material (the most
specific name wins). Boundary names denote facet sets (2D: edges, 3D: faces). The same strings are used from the
geometry through constraints to post-processing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import skfem
from scipy.spatial import cKDTree

from fem_wlp.errors import InputError

# meshio cell type -> (skfem mesh class, facet cell types, dimension, order)
_DOMAIN = {
    "triangle": (skfem.MeshTri, ("line",), 2, 1),
    "triangle6": (skfem.MeshTri2, ("line3", "line"), 2, 2),
    "quad": (skfem.MeshQuad, ("line",), 2, 1),
    "quad9": (skfem.MeshQuad2, ("line3", "line"), 2, 2),
    "tetra": (skfem.MeshTet, ("triangle",), 3, 1),
    "tetra10": (skfem.MeshTet2, ("triangle6", "triangle"), 3, 2),
    "hexahedron": (skfem.MeshHex, ("quad",), 3, 1),
    "hexahedron27": (skfem.MeshHex2, ("quad9", "quad"), 3, 2),
}


@dataclass(frozen=True)
class FEMesh:
    """A scikit-fem mesh with named leaf regions (element index arrays) and boundaries (facet index arrays)."""

    mesh: skfem.Mesh
    leaves: dict = field(default_factory=dict)        # leaf name -> element indices
    boundaries: dict = field(default_factory=dict)    # boundary name -> facet indices
    source: str = ""

    @property
    def dim(self) -> int:
        return self.mesh.dim()

    @property
    def nelements(self) -> int:
        return self.mesh.t.shape[1]

    def names(self) -> list[str]:
        """Every valid region name: the leaves and all their parent paths."""
        out = set()
        for leaf in self.leaves:
            parts = leaf.split("/")
            out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return sorted(out)

    def leaves_under(self, name: str) -> list[str]:
        return [leaf for leaf in self.leaves if leaf == name or leaf.startswith(name + "/")]

    def region(self, name: str, key: str = "region") -> np.ndarray:
        """Element indices of region `name` (a leaf or a parent path)."""
        leaves = self.leaves_under(name)
        if not leaves:
            raise InputError(key, name, "a region of the mesh: " + ", ".join(self.names()))
        idx = np.concatenate([self.leaves[leaf] for leaf in leaves])
        if idx.size == 0:
            raise InputError(key, name, "a non-empty region", message=f"{key} = {name!r}: the region has no elements")
        return np.sort(idx)

    def boundary(self, name: str, key: str = "boundary") -> np.ndarray:
        if name not in self.boundaries:
            raise InputError(key, name, "a boundary of the mesh: " + (", ".join(sorted(self.boundaries)) or "(none)"))
        if len(self.boundaries[name]) == 0:
            raise InputError(key, name, "a non-empty boundary", message=f"{key} = {name!r}: the boundary has no facets")
        return self.boundaries[name]

    def assign(self, names: list[str], key: str = "materials") -> dict[str, np.ndarray]:
        """Partition the elements among `names` (most specific name wins). Every leaf must be covered."""
        owner: dict[str, str] = {}
        for name in sorted(names, key=lambda s: s.count("/")):
            leaves = self.leaves_under(name)
            if not leaves:
                raise InputError(f"{key}.{name}", name, "a region of the mesh: " + ", ".join(self.names()),
                                 message=f"{key}.{name}: the mesh has no region '{name}' (it has: "
                                         + ", ".join(self.names()) + ")")
            for leaf in leaves:
                owner[leaf] = name
        missing = [leaf for leaf in self.leaves if leaf not in owner]
        if missing:
            raise InputError(key, sorted(names), "a material for every region",
                             message=f"{key}: no material for region(s) " + ", ".join(sorted(missing))
                                     + " (give one for the region or a parent name)")
        out = {}
        for name in names:
            idx = [self.leaves[leaf] for leaf, o in owner.items() if o == name]
            out[name] = np.sort(np.concatenate(idx)) if idx else np.zeros(0, dtype=np.int64)
            if out[name].size == 0:
                raise InputError(f"{key}.{name}", name, "a region with elements",
                                 message=f"{key}.{name}: the region is empty (more specific names take all of it)")
        covered = np.zeros(self.nelements, int)
        for idx in out.values():
            covered[idx] += 1
        if np.any(covered != 1):
            bad = int(np.flatnonzero(covered != 1)[0])
            raise InputError(key, sorted(names), "regions that partition the mesh",
                             message=f"{key}: element {bad} is covered {covered[bad]} times by the mesh's regions")
        return out

    def nearest_node(self, point) -> tuple[int, float]:
        """Vertex nearest to `point` and its distance."""
        p = np.asarray(point, float)
        if p.size != self.dim:
            raise InputError("point", list(point), f"{self.dim} coordinates")
        d = np.linalg.norm(self.mesh.p[:, : self.mesh.nvertices] - p[:, None], axis=0)
        i = int(np.argmin(d))
        return i, float(d[i])

    def subset(self, names) -> "FEMesh":
        """The mesh of the regions `names` alone (an earlier stage of a process history): the elements in their
        original order, the leaves restricted to them, no boundaries."""
        keep = np.unique(np.concatenate([self.region(n) for n in names]))
        if mesh_kind_name(self.mesh)[-1] == "2" and isinstance(self.mesh, (skfem.MeshTri2, skfem.MeshTet2)):
            # (scikit-fem's restrict loses the midside nodes of quadratic geometry: rebuilt as split_interface does)
            t = self.mesh.t[:, keep]
            used = np.unique(t)
            ren = np.full(self.mesh.nvertices, -1, np.int64)
            ren[used] = np.arange(used.size)
            sub = _remeshed(self.mesh, self.mesh.p[:, used], ren[t], used)
        else:
            sub = self.mesh.restrict(keep, skip_boundaries=True, skip_subdomains=True)
        new = np.full(self.nelements, -1, dtype=np.int64)
        new[keep] = np.arange(keep.size)
        leaves = {k: new[v[new[v] >= 0]] for k, v in self.leaves.items() if np.any(new[v] >= 0)}
        return FEMesh(sub, leaves, {}, f"{self.source} (regions {', '.join(names)})")

    def summary(self) -> dict:
        return {"source": self.source, "dim": self.dim, "elements": int(self.nelements),
                "element_type": type(self.mesh).__name__, "vertices": int(self.mesh.nvertices),
                "regions": {k: int(len(v)) for k, v in self.leaves.items()},
                "boundaries": {k: int(len(v)) for k, v in self.boundaries.items()}}

    # -- construction ----------------------------------------------------------------------------------------------
    @classmethod
    def from_skfem(cls, mesh: skfem.Mesh, leaves: dict | None = None, boundaries: dict | None = None,
                   source: str = "") -> "FEMesh":
        """Wrap a scikit-fem mesh; tags default to the mesh's own subdomains/boundaries (or one region 'all')."""
        leaves = dict(leaves if leaves is not None else (mesh.subdomains or {"all": np.arange(mesh.t.shape[1])}))
        boundaries = dict(boundaries if boundaries is not None else (mesh.boundaries or {}))
        return cls(mesh, {k: np.asarray(v, dtype=np.int64) for k, v in leaves.items()},
                   {k: np.asarray(v, dtype=np.int64) for k, v in boundaries.items()}, source)


def load(path, key: str = "model.mesh") -> FEMesh:
    """Read a mesh file (gmsh .msh or any meshio format) with its named physical groups."""
    import meshio  # slow to import: only where a file is read

    path = Path(path)
    if not path.is_file():
        raise InputError(key, str(path), "an existing mesh file")
    try:
        m = meshio.read(path)
    except Exception as exc:  # meshio raises many types; report one line
        raise InputError(key, str(path), "a mesh file meshio can read", message=f"{key}: cannot read {path}: {exc}") from None
    return from_meshio(m, source=str(path), key=key)


_LINEAR = ("triangle", "quad", "tetra", "hexahedron")
#: corner nodes per cell type (the first nodes of a cell, as scikit-fem orders vertices)
_CORNERS = {"triangle": 3, "triangle6": 3, "quad": 4, "quad9": 4, "tetra": 4, "tetra10": 4, "hexahedron": 8,
            "hexahedron27": 8}
_FACET_CORNERS = {"line": 2, "line3": 2, "triangle": 3, "triangle6": 3, "quad": 4, "quad9": 4}


def from_meshio(m, source: str = "", key: str = "model.mesh") -> FEMesh:
    ctype, blocks, conn, offsets = _domain_cells(m, source, key)
    dim = _DOMAIN[ctype][2]
    if dim == 2 and m.points.shape[1] > 2 and np.ptp(m.points[:, 2]) > 0:
        raise InputError(key, source, "a planar 2D mesh (z = const)")
    nv = _CORNERS[ctype]
    new = _vertices_first(len(m.points), conn, nv)
    if ctype in _LINEAR:
        order = np.argsort(new[new >= 0])
        used = np.flatnonzero(new >= 0)[order]
        pts = m.points[:, :dim]
        mesh = _DOMAIN[ctype][0](np.ascontiguousarray(pts[used].T), np.ascontiguousarray(new[conn].T))
        vmap = new
    else:
        # quadratic geometry: let scikit-fem's own meshio bridge order the high-order nodes
        from skfem.io.meshio import from_meshio as _sk
        import meshio  # meshio is slow to import: only for quadratic meshes and files

        mesh = _sk(meshio.Mesh(m.points, [meshio.CellBlock(ctype, conn)]))
        # map original node ids to scikit-fem vertex ids through coordinates of the corners
        vmap = _vertex_map_by_coordinates(m.points[:, :dim], np.unique(conn[:, :nv]), mesh)
    leaves, bnd_nodes = _named_sets(m, ctype, blocks, offsets)
    if not leaves:
        leaves = {"all": np.arange(mesh.t.shape[1])}
    mesh = _valid_elements(mesh, leaves, source, key)
    boundaries = {name: _facets_from_nodes(mesh, np.concatenate([vmap[f] for f in fl]), name, source, key)
                  for name, fl in bnd_nodes.items()}
    return FEMesh(mesh, leaves, boundaries, source)


def _valid_elements(mesh, leaves: dict, source: str, key: str):
    """Refuse simplices of zero volume (four coplanar vertices: a singular element, NaN or a non-definite
    tangent downstream) naming where they are; make folded-over curved elements straight (straighten_inverted),
    with a note. Volumes below 1e-12 of the median count as zero (measured: 1e-23 mm^3 against a median of
    2.4e-7 mm^3 in the mesh that led to this check)."""
    if mesh_kind_name(mesh)[:-1] not in ("MeshTri", "MeshTet"):
        return mesh
    dim = mesh.dim()
    v = mesh.doflocs[:, mesh.t[:dim + 1]]
    vol = np.abs(_det([[v[i, j + 1] - v[i, 0] for j in range(dim)] for i in range(dim)]))
    zero = np.flatnonzero(vol <= 1e-12 * np.median(vol))
    if zero.size:
        where = sorted(name for name, ids in leaves.items() if np.intersect1d(ids, zero).size)
        raise InputError(key, source, "a mesh without zero-volume elements",
                         message=f"{key}: {source}: {zero.size} element(s) of zero volume (coplanar vertices) in "
                                 f"{', '.join(where)}; re-mesh (another mesh size or mesher) -- a zero-volume element "
                                 "makes the stiffness singular")
    mesh, n = straighten_inverted(mesh)
    if n:
        from fem_wlp.fe.la.notices import notice

        notice(f"{source}: {n} curved quadratic element(s) folded over (Jacobian ratio < 0.1) made straight-sided")
    return mesh


def _domain_cells(m, source, key):
    """The one volume cell type of the highest dimension: (type, its block indices, connectivity, block offsets)."""
    types = [c.type for c in m.cells]
    domain = [t for t in _DOMAIN if t in types]
    if not domain:
        raise InputError(key, source, "a mesh with triangle, quad, tetra or hexahedron cells (linear or quadratic)",
                         message=f"{key}: {source} has no supported volume cells (found {sorted(set(types))})")
    top = max(_DOMAIN[t][2] for t in domain)
    domain = [t for t in domain if _DOMAIN[t][2] == top]
    if len(domain) > 1:
        raise InputError(key, source, "one element type per mesh",
                         message=f"{key}: {source} mixes element types {domain}; use one type per mesh")
    ctype = domain[0]
    blocks = [i for i, c in enumerate(m.cells) if c.type == ctype]
    conn = np.concatenate([m.cells[i].data for i in blocks])
    offsets = np.cumsum([0] + [len(m.cells[i].data) for i in blocks])
    return ctype, blocks, conn, offsets


def _vertices_first(npoints: int, conn, nv: int) -> np.ndarray:
    """Renumbering of the used nodes (-1: unused), the vertices (corner nodes) first as scikit-fem expects."""
    is_corner = np.zeros(npoints, bool)
    is_corner[conn[:, :nv]] = True
    is_used = np.zeros(npoints, bool)
    is_used[conn] = True
    corner = np.flatnonzero(is_corner)                  # sorted unique ids, as np.unique but O(n)
    other = np.flatnonzero(is_used & ~is_corner)
    new = -np.ones(npoints, dtype=np.int64)
    new[corner] = np.arange(len(corner))
    new[other] = len(corner) + np.arange(len(other))
    return new


def _named_sets(m, ctype, blocks, offsets):
    """Named cell sets of the file (gmsh physical groups): element sets of the domain cell type -> sorted element
    indices; facet sets -> lists of their corner-node arrays (original node ids)."""
    facet_types = _DOMAIN[ctype][1]
    leaves: dict[str, np.ndarray] = {}
    bnd_nodes: dict[str, list] = {}
    for name, per_block in (m.cell_sets or {}).items():
        if name.startswith("gmsh:"):
            continue
        cells = []
        facets = []
        for bi, idx in enumerate(per_block):
            if idx is None or len(idx) == 0:
                continue
            ct = m.cells[bi].type
            if ct == ctype:
                pos = blocks.index(bi)
                cells.append(offsets[pos] + np.asarray(idx, dtype=np.int64))
            elif ct in facet_types:
                facets.append(m.cells[bi].data[np.asarray(idx, dtype=np.int64)][:, :_FACET_CORNERS[ct]])
        if cells:
            leaves[name] = np.unique(np.concatenate(cells))
        if facets:
            bnd_nodes[name] = facets
    return leaves, bnd_nodes


def _vertex_map_by_coordinates(points, corner_ids, mesh):
    tree = cKDTree(mesh.p[:, : mesh.nvertices].T)
    d, j = tree.query(points[corner_ids])
    vmap = -np.ones(len(points), dtype=np.int64)
    vmap[corner_ids] = j
    return vmap


def mesh_facets(mesh) -> np.ndarray:
    """`mesh.facets`, built (with `mesh.t2f`) as scikit-fem's Mesh.build_entities builds them -- the same arrays,
    sorted vertex tuples in lexicographic order -- but with the unique taken over one int64 key per facet instead of
    numpy's (slower) row-wise unique. Falls back to scikit-fem where the key would
    overflow or the mesh keeps its entities differently."""
    if not hasattr(mesh, "_facets") and type(mesh)._init_facets is skfem.Mesh._init_facets:   # not MeshHex
        ix = mesh.elem.refdom.facets
        t = mesh.t
        n = int(t.max()) + 1
        if ix is not None and float(n) ** len(ix[0]) < 2.0 ** 63:
            s = np.sort(np.hstack([t[i] for i in ix]), axis=0)
            key = np.zeros(s.shape[1], dtype=np.int64)
            for row in s:
                key = key * n + row
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            mesh._facets = np.ascontiguousarray(s[:, first])
            mesh._t2f = inverse.reshape(len(ix), t.shape[1])
    return mesh.facets


def _facets_from_nodes(mesh, fnodes, name, source, key):
    """Indices of mesh facets whose corner vertices are the rows of `fnodes`."""
    if np.any(fnodes < 0):
        raise InputError(key, source, "boundary facets on the mesh",
                         message=f"{key}: boundary '{name}' in {source} uses nodes that no element uses")
    facets = mesh_facets(mesh)
    nv = facets.shape[0]
    f = np.sort(facets[: nv].T, axis=1).astype(np.int64)
    q = np.sort(fnodes[:, :nv], axis=1).astype(np.int64)
    base = int(max(f.max(), q.max())) + 1

    def keys(a):
        k = np.zeros(len(a), dtype=np.int64)
        for c in range(a.shape[1]):
            k = k * base + a[:, c]
        return k

    fk, qk = keys(f), keys(q)
    order = np.argsort(fk)
    pos = np.searchsorted(fk[order], qk)
    pos = np.clip(pos, 0, len(fk) - 1)
    ok = fk[order][pos] == qk
    if not np.all(ok):
        raise InputError(key, source, "boundary facets that are element faces",
                         message=f"{key}: {int((~ok).sum())} facets of boundary '{name}' in {source} "
                                 "are not faces of the mesh's elements")
    return np.unique(order[pos])


# -- interfaces --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InterfacePairs:
    """Coincident vertex pairs of an interface split by `split_interface`: vertex a on side A (its original id),
    vertex b its copy on side B. Normals point from A into B (unit, the area-weighted mean of the interface facets
    at the vertex, from the undeformed mesh); `area` is the vertex's tributary share of the interface facets
    (facet measure / its vertex count; 2D: length per unit thickness, no 2 pi r). The interface facets themselves
    (side-A vertices in cyclic order, unit normals, measures) are kept for weights that need them (axisymmetric)."""

    name: str
    a: np.ndarray               # (n,) side-A vertices
    b: np.ndarray               # (n,) side-B vertices (the duplicates)
    normal: np.ndarray          # (dim, n)
    area: np.ndarray            # (n,)
    facets: np.ndarray          # (nfv, nf) side-A vertices of each interface facet
    facet_normal: np.ndarray    # (dim, nf)
    facet_area: np.ndarray      # (nf,)
    tied: np.ndarray            # vertices on the interface left shared (a bonded region joins A and B around them)

    @property
    def size(self) -> int:
        return int(self.a.size)


def _elements_of(femesh: FEMesh, names, key) -> np.ndarray:
    if isinstance(names, str):
        names = [names]
    if not names:
        raise InputError(key, names, "a non-empty list of regions")
    return np.unique(np.concatenate([femesh.region(n, key=key) for n in names]))


def split_interface(femesh: FEMesh, side_a, side_b, name: str = "interface",
                    key: str = "contact") -> tuple[FEMesh, InterfacePairs]:
    """Split a conforming mesh along the facets shared by an element of the regions `side_a` and one of `side_b`:
    every vertex of those facets is duplicated, the copy going to the elements on side B's side of the interface
    (side B and whatever is bonded to it around the vertex through facets that are not on the interface). A vertex
    where side A and side B stay connected around it through a third, bonded region is not split (it is reported
    in `tied`). Element indices, named regions (leaves) and named boundaries are preserved; higher-order elements
    on the split mesh get distinct edge/face dofs on the two sides because the interface edges/faces become
    distinct (skfem numbers P2 dofs by vertex, then 2D facet / 3D edge: the copies get their own). Meshes with
    quadratic geometry (MeshTri2, MeshTet2: curved sides) are split the same way, the copies' midside nodes taking
    the original's positions; MeshQuad2 / MeshHex2 geometry is not supported.

    Returns (the split mesh, the vertex pairs with normals and tributary areas)."""
    mesh = femesh.mesh
    if mesh_kind_name(mesh)[-1] != "1" and not isinstance(mesh, (skfem.MeshTri2, skfem.MeshTet2)):
        raise InputError(key, type(mesh).__name__, "a mesh with first-order (straight-sided) geometry, or "
                         "MeshTri2 / MeshTet2")
    A = _elements_of(femesh, side_a, f"{key}.{name}")
    B = _elements_of(femesh, side_b, f"{key}.{name}")
    nel, nv = mesh.t.shape[1], mesh.nvertices
    side = np.zeros(nel, np.int8)                  # 1: A, 2: B, 0: other
    side[A] = 1
    if np.any(side[B] == 1):
        raise InputError(f"{key}.{name}", [side_a, side_b], "two disjoint region sets")
    side[B] = 2
    facets = mesh_facets(mesh)
    f2t = mesh.f2t
    inner = f2t[1] >= 0
    s0, s1 = side[f2t[0]], np.where(inner, side[np.maximum(f2t[1], 0)], 0)
    on = inner & (((s0 == 1) & (s1 == 2)) | ((s0 == 2) & (s1 == 1)))
    fi = np.flatnonzero(on)
    if fi.size == 0:
        raise InputError(f"{key}.{name}", [side_a, side_b], "regions that share an interface",
                         message=f"{key}.{name}: regions {side_a} and {side_b} share no interface facet")
    ea = np.where(s0[fi] == 1, f2t[0, fi], f2t[1, fi])             # the side-A element of each interface facet
    # -- which element-vertex incidences get the copy: components of the elements around each interface vertex,
    # joined across facets that are not on the interface
    isiv = np.zeros(nv, bool)
    isiv[facets[:, fi]] = True
    t = mesh.t
    ie, ik = np.nonzero(isiv[t].T)                 # incidences (element, local vertex) at interface vertices
    iv = t[ik, ie]
    ikey = ie * nv + iv
    order = np.argsort(ikey)
    skey = ikey[order]

    def incidence(e, v):
        return order[np.searchsorted(skey, e * nv + v)]

    other = np.flatnonzero(inner & ~on)
    rows, cols = [], []
    for k in range(facets.shape[0]):               # (loop over the facet's vertex slots, not over facets)
        v = facets[k, other]
        m = isiv[v]
        rows.append(incidence(f2t[0, other[m]], v[m]))
        cols.append(incidence(f2t[1, other[m]], v[m]))
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nin = ie.size
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    g = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(nin, nin))
    _, comp = connected_components(g, directed=False)
    sides = side[ie]
    hasA = np.zeros(comp.max() + 1, bool)
    hasB = np.zeros(comp.max() + 1, bool)
    hasA[comp[sides == 1]] = True
    hasB[comp[sides == 2]] = True
    both = hasA & hasB
    tied_v = np.zeros(nv, bool)
    tied_v[iv[both[comp]]] = True
    split_v = np.zeros(nv, bool)
    split_v[iv[hasB[comp] & ~both[comp]]] = True
    split_v &= ~tied_v
    old = np.flatnonzero(split_v)
    new_id = -np.ones(nv, np.int64)
    new_id[old] = nv + np.arange(old.size)
    moved = hasB[comp] & split_v[iv]               # incidences that take the copy
    t_new = t.copy()
    t_new[ik[moved], ie[moved]] = new_id[iv[moved]]
    pv = mesh.p[:, :nv]
    p_new = np.hstack([pv, pv[:, old]])
    out = _remeshed(mesh, p_new, t_new, np.concatenate([np.arange(nv), old]))
    # -- named boundaries: each facet's vertices as seen from its (first) element, looked up in the new mesh
    mkey = ie[moved] * nv + iv[moved]
    morder = np.argsort(mkey)
    mkey_sorted, mval = mkey[morder], new_id[iv[moved]][morder]

    def renumber(e, v):
        if mkey_sorted.size == 0:
            return v
        k = e * nv + v
        pos = np.minimum(np.searchsorted(mkey_sorted, k), mkey_sorted.size - 1)
        return np.where(mkey_sorted[pos] == k, mval[pos], v)

    boundaries = {}
    for bname, F in femesh.boundaries.items():
        F = np.asarray(F, np.int64)
        if F.size == 0:
            boundaries[bname] = F
            continue
        fn = renumber(f2t[0, F][None, :], facets[:, F])
        boundaries[bname] = _facets_from_nodes(out, fn.T, bname, femesh.source, key)
    new = FEMesh(out, dict(femesh.leaves), boundaries, femesh.source)
    # -- interface geometry from the side-A elements (cyclic facet vertex order of the reference element)
    t2f = mesh.t2f
    loc = np.argmax(t2f[:, ea] == fi[None, :], axis=0)
    ref = np.asarray(mesh.elem.refdom.facets)
    fv = t[ref[loc].T, ea]                                       # (nfv, nf)
    P = mesh.p[:, fv]                                            # (dim, nfv, nf)
    dim = mesh.dim()
    if dim == 2:
        d = P[:, 1] - P[:, 0]
        nvec = np.array([d[1], -d[0]])                           # |nvec| = length
    elif fv.shape[0] == 3:
        nvec = 0.5 * np.cross(P[:, 1] - P[:, 0], P[:, 2] - P[:, 0], axis=0)
    else:                                                        # planar quadrilateral: half the diagonals' cross
        nvec = 0.5 * np.cross(P[:, 2] - P[:, 0], P[:, 3] - P[:, 1], axis=0)
    meas = np.linalg.norm(nvec, axis=0)
    centroid_a = mesh.p[:, t[:, ea]].mean(axis=1)
    flip = np.einsum("dn,dn->n", nvec, P.mean(axis=1) - centroid_a) < 0
    nvec[:, flip] *= -1.0                                        # outward of A: from A into B
    nacc = np.zeros((dim, nv))
    area = np.zeros(nv)
    for k in range(fv.shape[0]):                                 # (loop over the facet's vertex slots)
        np.add.at(nacc, (slice(None), fv[k]), nvec / fv.shape[0])
        np.add.at(area, fv[k], meas / fv.shape[0])
    normal = nacc[:, old] / np.linalg.norm(nacc[:, old], axis=0)
    pairs = InterfacePairs(name, old, new_id[old], normal, area[old], fv, nvec / meas, meas,
                           np.flatnonzero(tied_v))
    return new, pairs


def edge_lookup(edges: np.ndarray, n: int):
    """The index of each (sorted) vertex pair among `edges` (2, ne): a function (v0, v1) -> edge indices."""
    k = np.minimum(edges[0], edges[1]).astype(np.int64) * n + np.maximum(edges[0], edges[1])
    order = np.argsort(k)
    ks = k[order]

    def find(v0, v1):
        q = np.minimum(v0, v1).astype(np.int64) * n + np.maximum(v0, v1)
        pos = np.minimum(np.searchsorted(ks, q), ks.size - 1)
        if not np.all(ks[pos] == q):
            raise RuntimeError("vertex pair is not an edge of the mesh")
        return order[pos]

    return find


def mesh_edges(mesh) -> np.ndarray:
    """The edges that carry skfem's P2 midside dofs: 2D the facets, 3D the edges (2, ne), sorted pairs."""
    return mesh_facets(mesh) if mesh.dim() == 2 else mesh.edges


def _remeshed(mesh, p_new, t_new, orig):
    """A mesh of the same class on new vertices p_new / elements t_new, `orig` the original vertex of each new one.
    Quadratic geometry (MeshTri2/MeshTet2): its midside nodes (one per 2D facet, 3D edge, after the vertices) are
    taken from the original edge each new edge copies, so curved sides stay."""
    if mesh_kind_name(mesh)[-1] == "1":
        return type(mesh)(np.ascontiguousarray(p_new), np.ascontiguousarray(t_new))
    nv = mesh.nvertices
    lin = {skfem.MeshTri2: skfem.MeshTri1, skfem.MeshTet2: skfem.MeshTet1}[type(mesh)]
    tmp = lin(np.ascontiguousarray(p_new), np.ascontiguousarray(t_new))
    e_new = mesh_edges(tmp)
    find = edge_lookup(mesh_edges(mesh), nv)
    mids = mesh.doflocs[:, nv + find(orig[e_new[0]], orig[e_new[1]])]
    return type(mesh)(np.ascontiguousarray(np.hstack([p_new, mids])), np.ascontiguousarray(t_new))


def _sample_points(dim: int) -> np.ndarray:
    """Reference points where a quadratic simplex's Jacobian determinant is sampled: vertices, edge midpoints,
    face centres and centroid (the determinant is a polynomial of degree dim * (order - 1) = 3 in 3D; sampled,
    not bounded: a fold between the points can escape)."""
    v = np.vstack([np.zeros(dim), np.eye(dim)])
    pts = [v, (v[:, None] + v[None]).reshape(-1, dim) / 2, v.mean(axis=0)[None]]
    if dim == 3:
        pts.append(np.array([v[[i for i in range(4) if i != k]].mean(axis=0) for k in range(4)]))
    return np.unique(np.round(np.vstack(pts), 12), axis=0).T


def _det(J) -> np.ndarray:
    if len(J) == 2:
        return J[0][0] * J[1][1] - J[0][1] * J[1][0]
    return (J[0][0] * (J[1][1] * J[2][2] - J[1][2] * J[2][1]) - J[0][1] * (J[1][0] * J[2][2] - J[1][2] * J[2][0])
            + J[0][2] * (J[1][0] * J[2][1] - J[1][1] * J[2][0]))


def jacobian_ratio(mesh, chunk: int = 100_000) -> np.ndarray:
    """Per element, min over the element of det(dx/dX) of its (curved) geometry divided by the determinant of its
    straight-sided simplex (nel,): 1 for a straight element, <= 0 for one whose curved sides fold it over itself
    (then the element's stiffness integrates through a singular map)."""
    dim = mesh.dim()
    X = _sample_points(dim)
    v = mesh.doflocs[:, mesh.t]                                   # (dim, nodes per element, nel); vertices first
    lin = _det([[v[i, j + 1] - v[i, 0] for j in range(dim)] for i in range(dim)])
    mp = mesh.mapping()
    out = np.empty(mesh.t.shape[1])
    for a in range(0, mesh.t.shape[1], chunk):
        tind = np.arange(a, min(a + chunk, mesh.t.shape[1]))
        J = [[mp.J(i, j, X, tind=tind) for j in range(dim)] for i in range(dim)]
        out[tind] = (_det(J) / lin[tind, None]).min(axis=1)
    return out


def straighten_inverted(mesh, threshold: float = 0.1):
    """A quadratic-geometry mesh (MeshTri2 / MeshTet2) whose elements with a Jacobian ratio below `threshold` are
    made straight-sided (their midside nodes moved to the edge midpoints), and how many were. gmsh's curved
    second-order elements (nodes placed on the CAD surfaces) fold over in thin elements at curved boundaries --
    measured on the joint3d cells at mesh.size_fine_3d = 0.0134 mm: 2 (recessed) and 8 (embossed, 4-segment ring)
    elements with det <= 0 at some point, ratio down to -12.6; gmsh's own Mesh.HighOrderOptimize = 1 or 2 did not
    remove them. Straightening a midside node shared with neighbours keeps the mesh conforming; a straight simplex
    is valid whenever its vertices are. Repeated while straightening a shared edge leaves another element bad."""
    if not isinstance(mesh, (skfem.MeshTri2, skfem.MeshTet2)):
        return mesh, 0
    nv = mesh.nvertices
    done = np.zeros(mesh.t.shape[1], dtype=bool)
    for _ in range(5):
        bad = np.flatnonzero(jacobian_ratio(mesh) < threshold)
        if bad.size == 0:
            break
        done[bad] = True
        edges = mesh_edges(mesh)
        e = np.unique((mesh.t2f if mesh.dim() == 2 else mesh.t2e)[:, bad])
        dl = mesh.doflocs.copy()
        dl[:, nv + e] = 0.5 * (mesh.doflocs[:, edges[0, e]] + mesh.doflocs[:, edges[1, e]])
        mesh = type(mesh)(np.ascontiguousarray(dl), mesh.t)
    return mesh, int(done.sum())


def mesh_kind_name(mesh) -> str:
    """'MeshTri1', 'MeshQuad2', ... (the class name with its geometry order)."""
    name = type(mesh).__name__
    return name if name[-1].isdigit() else name + "1"
