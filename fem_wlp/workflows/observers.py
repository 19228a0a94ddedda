"""Consumers of the solver's frames: running stress maxima per region, and the solder interface-layer averages
of every joint (the histories ΔW and Δε_in are evaluated from)."""
from __future__ import annotations

import numpy as np

from fem_wlp.fe.kinematics import strain
from fem_wlp.fe.postprocess import centroids, element_average, max_principal
from fem_wlp.materials.base import von_mises
from fem_wlp.wlcsp.regions import LAYERS, joint_region, joints_of


class RunningMax:
    """Per-region maximum over all frames of element-average von Mises and max principal stress."""

    def __init__(self, disc):
        self.disc = disc
        self.best = {}

    def update(self, frame):
        """Element-average stresses of every region -> running maxima (cheap: no other fields)."""
        c = None
        for name, ops in zip(self.disc.names, self.disc.ops):
            sig = element_average(ops, frame.states[name]["stress"])
            for key, vals in (("von_mises", von_mises(sig)), ("max_principal", max_principal(sig))):
                j = int(np.argmax(vals))
                v = float(vals[j])
                b = self.best.setdefault(name, {})
                if key not in b or v > b[key]["value"]:
                    if c is None:
                        c = centroids(self.disc.model.mesh.mesh)
                    b[key] = {"value": v, "at": c[:, ops.elements[j]].tolist(), "time_s": frame.time}

    def summary(self):
        return {n: {"max_von_mises_MPa": b["von_mises"]["value"], "max_von_mises_at": b["von_mises"]["at"],
                    "max_von_mises_time_s": b["von_mises"]["time_s"],
                    "max_principal_MPa": b["max_principal"]["value"], "max_principal_at": b["max_principal"]["at"],
                    "max_principal_time_s": b["max_principal"]["time_s"]} for n, b in self.best.items()}


class LayerTracker:
    """Volume averages over named element sets (the solder interface layers of every joint) per frame:
    w_in, eps_in_eq, von Mises, and the shear stress/strain pair of the hysteresis loop."""

    def __init__(self, disc, kind: str, joint_dirs: dict | None = None):
        self.disc, self.kind = disc, kind
        fm = disc.model.mesh
        joints = joints_of(fm.leaves)
        self.sets = {}
        for j in joints:
            for name in [joint_region(j, layer) for layer in LAYERS] + [joint_region(j)]:
                if fm.leaves_under(name):
                    self.sets[name] = self._locate(fm.region(name))
        self.joints = joints
        self.joint_dirs = joint_dirs or {}

    def _locate(self, elems):
        parts = []
        for i, ops in enumerate(self.disc.ops):
            pos = np.searchsorted(ops.elements, elems)
            pos = np.clip(pos, 0, len(ops.elements) - 1)
            hit = ops.elements[pos] == elems
            if hit.any():
                parts.append((i, pos[hit]))
        return parts

    def row(self, frame) -> dict:
        out = {}
        cache = {}
        for name, parts in self.sets.items():
            acc = np.zeros(6)
            V = 0.0
            for i, loc in parts:
                ops = self.disc.ops[i]
                st = frame.states[self.disc.names[i]]
                nel, nqp = ops.w.shape
                w = ops.w[loc]                                        # (m, nqp)
                if i not in cache:
                    cache[i] = strain(ops, frame.u, frame.ezz).reshape(6, nel, nqp)
                sig = st["stress"].reshape(6, nel, nqp)[:, loc]
                eps = cache[i][:, loc]
                tau, gam = self._shear(sig, eps, ops.x[:, loc])
                vm = von_mises(sig.reshape(6, -1)).reshape(w.shape)
                acc += [float((st["w_in"].reshape(nel, nqp)[loc] * w).sum()),
                        float((st["eps_in_eq"].reshape(nel, nqp)[loc] * w).sum()),
                        float((vm * w).sum()), float((tau * w).sum()), float((gam * w).sum()), 0.0]
                V += float(w.sum())
            acc /= max(V, 1e-300)
            out.update({f"{name}.w_in": acc[0], f"{name}.eps_in_eq": acc[1], f"{name}.von_mises": acc[2],
                        f"{name}.tau": acc[3], f"{name}.gamma": acc[4]})
        return out

    def _shear(self, sig, eps, x):
        """Shear stress and engineering shear strain in the joint's shear plane (Mandel shear / sqrt 2)."""
        s2 = np.sqrt(2.0)
        if self.kind != "joint3d":                 # x (along the diagonal or radial) - y (up)
            return sig[3] / s2, eps[3] * s2
        c, s = self.joint_dirs.get("dir", (np.sqrt(0.5), np.sqrt(0.5)))   # corner joint: along the diagonal
        return (c * sig[4] + s * sig[5]) / s2, (c * eps[4] + s * eps[5]) * s2
