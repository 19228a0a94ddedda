"""Parametric WLCSP geometry and meshing (gmsh, OpenCASCADE kernel).

``build_mesh(geometry, design, model, mesh_sizes, out_dir) -> MeshResult`` builds one of three models of a
pad design -- ``slice2d`` (diagonal package slice for generalized plane strain), ``axisym`` (one joint, ball
axis = symmetry axis) or ``joint3d`` (one joint in a square cell) -- and writes ``<design>_<model>.msh``
(MSH 4.1, physical names kept) and ``.vtu`` (cell data ``region``; names in the report's ``region_ids``).
Naming and coordinates: see ``fem_wlp.wlcsp.geometry.build``.  Solder shape: ``fem_wlp.wlcsp.geometry.solder``.
Layer stacks of the designs: ``fem_wlp.wlcsp.geometry.stack``.
"""
from fem_wlp.wlcsp.geometry.mesh_report import CELL_TYPES
from fem_wlp.wlcsp.geometry.mesher import MeshResult, build_mesh, joints_for
from fem_wlp.wlcsp.geometry.solder import Joint, solve_joint

__all__ = ["build_mesh", "MeshResult", "CELL_TYPES", "solve_joint", "Joint", "joints_for"]
