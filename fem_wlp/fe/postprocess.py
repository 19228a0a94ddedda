"""Fields and per-region figures from a converged frame.

Cell fields are element averages of quadrature-point values (volume-weighted), full 3x3 tensors in mesh axes
(axisymmetric: x = r, y = z, z = hoop). Per-region maxima are taken over these element averages, so they match
what a user sees in ParaView; their location is the element centroid.
"""
from __future__ import annotations

import numpy as np

from fem_wlp.fe.kinematics import strain
from fem_wlp.materials.base import to_tensor, von_mises


def element_average(ops, qp_values):
    """(k, N) quadrature-point values of a region -> (k, nel) element averages."""
    nel, nqp = ops.w.shape
    v = qp_values.reshape(qp_values.shape[0], nel, nqp)
    return (v * ops.w).sum(-1) / ops.w.sum(-1)


def max_principal(sig6):
    """Largest principal value of Mandel tensors (6, n): closed form (trigonometric solution of the
    characteristic cubic of a symmetric 3x3 tensor), vectorized; exact to round-off."""
    s = np.asarray(sig6, float)
    sq2 = np.sqrt(2.0)
    xx, yy, zz = s[0], s[1], s[2]
    xy, xz, yz = s[3] / sq2, s[4] / sq2, s[5] / sq2
    m = (xx + yy + zz) / 3.0
    a, b, c = xx - m, yy - m, zz - m
    J2 = (a * a + b * b + c * c) / 2.0 + xy * xy + xz * xz + yz * yz
    J3 = a * b * c + 2.0 * xy * xz * yz - a * yz * yz - b * xz * xz - c * xy * xy
    r = np.sqrt(np.maximum(J2 / 3.0, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos3 = np.where(r > 0, J3 / (2.0 * np.maximum(r, 1e-300) ** 3), 0.0)
    theta = np.arccos(np.clip(cos3, -1.0, 1.0)) / 3.0
    return m + 2.0 * r * np.cos(theta)


def cell_fields(disc, frame) -> dict:
    """Element fields over the whole mesh: stress, strain (total), von_mises, max_principal, region id,
    eps_in_eq, w_in, temperature."""
    nel = disc.model.mesh.nelements
    out = {"stress": np.zeros((nel, 3, 3)), "strain": np.zeros((nel, 3, 3)), "von_mises": np.zeros(nel),
           "max_principal": np.zeros(nel), "region": np.zeros(nel, dtype=np.int32), "eps_in_eq": np.zeros(nel),
           "w_in": np.zeros(nel), "temperature": np.zeros(nel)}
    for i, (name, ops) in enumerate(zip(disc.names, disc.ops)):
        st = frame.states[name]
        sig = element_average(ops, st["stress"])
        eps = element_average(ops, strain(ops, frame.u, frame.ezz))
        e = ops.elements
        out["stress"][e] = np.moveaxis(to_tensor(sig), -1, 0)
        out["strain"][e] = np.moveaxis(to_tensor(eps), -1, 0)
        out["von_mises"][e] = von_mises(sig)
        out["max_principal"][e] = max_principal(sig)
        out["region"][e] = i
        out["eps_in_eq"][e] = element_average(ops, st["eps_in_eq"][None])[0]
        out["w_in"][e] = element_average(ops, st["w_in"][None])[0]
        out["temperature"][e] = element_average(ops, frame.temperature[name][None])[0]
    return out


def centroids(mesh):
    return mesh.p[:, mesh.t[: _nverts(mesh)]].mean(axis=1)


def _nverts(mesh):
    return {"MeshTri": 3, "MeshQuad": 4, "MeshTet": 4, "MeshHex": 8}[type(mesh).__name__.rstrip("12")]


def region_summary(disc, fields) -> dict:
    """Per material region: volume, max von Mises, max principal stress and where (element centroid)."""
    c = centroids(disc.model.mesh.mesh)
    out = {}
    for name, ops in zip(disc.names, disc.ops):
        e = ops.elements
        iv = e[np.argmax(fields["von_mises"][e])]
        ip = e[np.argmax(fields["max_principal"][e])]
        out[name] = {"volume_mm3": ops.volume,
                     "max_von_mises_MPa": float(fields["von_mises"][iv]), "max_von_mises_at": c[:, iv].tolist(),
                     "max_principal_MPa": float(fields["max_principal"][ip]), "max_principal_at": c[:, ip].tolist()}
    return out


def region_averages(disc, frame, regions=None) -> dict:
    """Volume averages per region (default: all): von Mises, stress components, eps_in_eq, w_in (history.csv)."""
    out = {}
    comps = ("xx", "yy", "zz", "xy", "xz", "yz")
    for name, ops in zip(disc.names, disc.ops):
        if regions is not None and name not in regions:
            continue
        st = frame.state(name)
        w = ops.w.reshape(-1)
        V = w.sum()
        sig = st["stress"]
        avg = (sig * w).sum(axis=1) / V
        out[f"{name}.von_mises"] = float((von_mises(sig) * w).sum() / V)
        for k, cname in enumerate(comps):
            out[f"{name}.stress_{cname}"] = float(avg[k] / (np.sqrt(2.0) if k >= 3 else 1.0))
        out[f"{name}.eps_in_eq"] = float((st["eps_in_eq"] * w).sum() / V)
        out[f"{name}.w_in"] = float((st["w_in"] * w).sum() / V)
    return out


def point_displacements(disc, frame) -> np.ndarray:
    """Displacement at mesh vertices as (nvertices, 3) (zero third component in 2D)."""
    nv = disc.model.mesh.mesh.nvertices
    u = frame.u.reshape(-1, disc.nc)[:nv]
    if disc.nc == 3:
        return u.copy()
    return np.column_stack([u, np.zeros(nv)])
