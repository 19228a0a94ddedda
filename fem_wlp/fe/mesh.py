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
    boundaries = {name: _facets_from_nodes(mesh, np.concatenate([vmap[f] for f in fl]), name, source, key)
                  for name, fl in bnd_nodes.items()}
    return FEMesh(mesh, leaves, boundaries, source)


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
