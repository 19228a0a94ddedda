"""Consumers of the solver's frames: running stress maxima per region, the solder interface-layer averages
of every joint (the histories ΔW and Δε_in are evaluated from), and the per-element accumulated inelastic work
and strain of the solder at the cycle bounds only (the hot-spot metric)."""
from __future__ import annotations

import numpy as np

from fem_wlp.fe.kinematics import strain
from fem_wlp.fe.postprocess import centroids, element_average, max_principal
from fem_wlp.materials.base import von_mises
from fem_wlp.wlcsp.regions import LAYERS, PLANAR_LAYERS, joint_index, joint_region, joints_of, layer_leaves

#: file of a case folder with the per-element solder values at the cycle bounds (LayerTracker.save)
ELEMENT_CYCLES_FILE = "solder_cycles.npz"


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

    def __init__(self, disc, kind: str, joint_dirs: dict | None = None, cycle_bounds=None):
        self.disc, self.kind = disc, kind
        fm = disc.model.mesh
        joints = joints_of(fm.leaves)
        self.sets = {}
        for j in joints:
            for name in [joint_region(j, layer) for layer in LAYERS] + [joint_region(j)]:
                if fm.leaves_under(name):
                    self.sets[name] = self._locate(fm.region(name))
            for name in [joint_region(j, layer) for layer in PLANAR_LAYERS]:
                # a planar layer is a union of leaves across the conformal/bulk split (wlcsp.regions.layer_leaves)
                leaves = layer_leaves(fm.leaves, name)
                if leaves:
                    self.sets[name] = self._locate(np.unique(np.concatenate([fm.leaves[n] for n in leaves])))
        self.joints = joints
        self.joint_dirs = joint_dirs or {}
        # per-element solder values at the cycle bounds (start of cycle 1, end of every cycle): the hot spot
        self.bound_times = (np.unique(np.asarray(cycle_bounds, float).ravel()) if cycle_bounds is not None
                            and np.size(cycle_bounds) else np.zeros(0))
        self.recorded = {"time_s": [], "w_in": [], "eps_in_eq": []}
        self.solder = self._solder_elements(fm, joints) if self.bound_times.size else None

    def _solder_elements(self, fm, joints):
        """Solder elements of the joints: (element ids, joint index, parts to locate them in disc.ops)."""
        ids, jidx = [], []
        for j in joints:
            e = fm.region(joint_region(j))
            ids.append(e)
            jidx.append(np.full(e.size, joint_index(j)))
        if not ids:
            return None
        ids, jidx = np.concatenate(ids), np.concatenate(jidx)
        order = np.argsort(ids)
        ids, jidx = ids[order], jidx[order]
        parts = self._locate(ids)
        return {"element": ids, "joint": jidx, "parts": parts}

    def _record_bounds(self, frame):
        """Per-element averages of w_in and eps_in_eq of the solder, when the frame is at a cycle bound."""
        t = frame.time
        if self.solder is None or not np.any(np.abs(self.bound_times - t) <= 1e-6 * max(1.0, abs(t))):
            return
        w_in, eps = [], []
        for i, loc in self.solder["parts"]:
            ops = self.disc.ops[i]
            st = frame.states[self.disc.names[i]]
            nel, nqp = ops.w.shape
            w = ops.w[loc]
            w_in.append((st["w_in"].reshape(nel, nqp)[loc] * w).sum(1) / w.sum(1))
            eps.append((st["eps_in_eq"].reshape(nel, nqp)[loc] * w).sum(1) / w.sum(1))
        self.recorded["time_s"].append(float(t))
        self.recorded["w_in"].append(np.concatenate(w_in))
        self.recorded["eps_in_eq"].append(np.concatenate(eps))

    def save(self, path) -> bool:
        """Write the per-element values at the cycle bounds (npz); False when nothing was recorded."""
        if self.solder is None or not self.recorded["time_s"]:
            return False
        vol, cen = [], []
        c = centroids(self.disc.model.mesh.mesh)
        for i, loc in self.solder["parts"]:
            ops = self.disc.ops[i]
            vol.append(ops.w[loc].sum(1))
            cen.append(c[:, ops.elements[loc]])
        np.savez_compressed(path, time_s=np.asarray(self.recorded["time_s"]),
                            w_in=np.vstack(self.recorded["w_in"]), eps_in_eq=np.vstack(self.recorded["eps_in_eq"]),
                            volume=np.concatenate(vol), centroid=np.hstack(cen),
                            element=np.concatenate([self.disc.ops[i].elements[loc] for i, loc in self.solder["parts"]]),
                            joint=self._joint_of_parts())
        return True

    def _joint_of_parts(self):
        ids, jidx = self.solder["element"], self.solder["joint"]
        el = np.concatenate([self.disc.ops[i].elements[loc] for i, loc in self.solder["parts"]])
        return jidx[np.searchsorted(ids, el)]

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
        self._record_bounds(frame)
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
