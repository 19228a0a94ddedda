"""Pictures of the package3d cases of a results folder (model.kind = "package3d"; Agg backend). Called by
`fem_wlp.reporting.plots.make_plots`; it draws nothing for a folder without package3d cases.

- ``package3d_joint_dW.png``: the global model's ΔW per cycle of every joint of the quarter (its die-side
  conformal layer, the ranking the critical joint is chosen by), one square per pitch cell, designs side by side
  on one colour scale; the critical joint outlined, the die edge drawn. These are the coarse global joints: the
  ranking, not the reference values (the submodel's).
- ``package3d_warpage.png``: the board bottom's vertical displacement relative to the package centre at the hot
  and cold dwell ends of the last cycle (global model, ``global/warpage.npz``), one colour scale per extreme
  shared by the designs, and its section along the package diagonal (positive: above the centre).
- ``package3d_submodel_sections.png``: the submodel of the critical joint cut by the vertical plane through the
  joint axis and the package centre (the direction of the in-plane mismatch): the inelastic work density of the
  last simulated cycle in the solder (``solder_cycles.npz``: per-element w_in at the cycle bounds) and the von
  Mises stress at the cold dwell end (the field snapshot nearest it), designs side by side, one colour scale per
  row shared by the designs; undeformed geometry.
"""
from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.tri import LinearTriInterpolator, Triangulation  # noqa: E402

from fem_wlp.study.cases import case_folder_name  # noqa: E402

DPI = 130
FILES = ("package3d_joint_dW.png", "package3d_warpage.png", "package3d_submodel_sections.png")


def _fig(w, h):
    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _title(fig, text: str) -> None:
    """A figure title wrapped to the figure's width."""
    width = max(40, int(13 * fig.get_figwidth()))
    fig.suptitle("\n".join(textwrap.wrap(text, width)), fontsize=9)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def package3d_cases(summary: dict) -> list[dict]:
    return [c for c in summary.get("cases", []) if c.get("status") == "ok" and isinstance(c.get("global"), dict)
            and (c.get("mesh") or {}).get("model") == "package3d"]


def plot_package3d(outdir, summary: dict, plots: Path) -> list[Path]:
    """Every package3d figure that the folder has the data for; returns the files written."""
    cases = package3d_cases(summary)
    if not cases:
        return []
    outdir = Path(outdir)
    out = [plot_joint_dW(cases, plots)]
    out.append(plot_warpage(outdir, cases, plots))
    out.append(plot_submodel_sections(outdir, cases, plots))
    return [p for p in out if p]


# ------------------------------------------------------------------------------------------------ joint map
def plot_joint_dW(cases: list[dict], plots: Path) -> Path | None:
    vals = [j["dW_per_cycle_MPa"] for c in cases for j in c["global"]["joints"] if j.get("dW_per_cycle_MPa")]
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    norm = mcolors.Normalize(lo, hi) if hi > lo else mcolors.Normalize(0.0, hi)
    cmap = matplotlib.colormaps["viridis"]
    n = len(cases)
    fig = _fig(3.4 * n + 0.8, 3.6)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, c in zip(axes, cases):
        joints = c["global"]["joints"]
        pitch = _pitch(joints)
        xd = (c.get("mesh") or {}).get("x_die_end")
        for j in joints:
            x, y = j["position_mm"]
            v = j.get("dW_per_cycle_MPa")
            crit = j["index"] == c["global"].get("critical_joint")
            ax.add_patch(Rectangle((x - pitch / 2, y - pitch / 2), pitch, pitch,
                                   facecolor=cmap(norm(v)) if v else "0.85", edgecolor="k" if crit else "w",
                                   linewidth=2.0 if crit else 0.5, zorder=3 if crit else 2))
            if len(joints) <= 36 and v:
                ax.text(x, y, f"{v:.3g}", ha="center", va="center", fontsize=6,
                        color="w" if norm(v) < 0.6 else "k")
        if xd:
            ax.plot([0, xd, xd], [xd, xd, 0], "k--", linewidth=0.8)
        lim = max(xd or 0.0, max(max(j["position_mm"]) for j in joints) + pitch / 2) * 1.03
        ax.set_xlim(0, lim)
        ax.set_ylim(0, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("y (mm)")
        ax.set_title(f"{c['name']}: critical joint {c['global'].get('critical_joint')}", fontsize=9)
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=list(axes), label="global ΔW per cycle, die-side layer (MPa)", shrink=0.85)
    _title(fig, "Global model: ΔW per cycle of every joint of the quarter (package centre at the origin; dashed: "
           "die edge; black frame: the critical joint, re-solved in the submodel when there is one). Coarse joints: "
           "they rank the joints of one design, not the designs (the submodel does)")
    return _save(fig, plots / FILES[0])


def _pitch(joints) -> float:
    xs = sorted({round(j["position_mm"][0], 9) for j in joints})
    return xs[1] - xs[0] if len(xs) > 1 else 2 * xs[0]


# ------------------------------------------------------------------------------------------------ warpage
def plot_warpage(outdir: Path, cases: list[dict], plots: Path) -> Path | None:
    data = []
    for c in cases:
        f = outdir / "cases" / case_folder_name(c["name"]) / "global" / "warpage.npz"
        w = (c["global"] or {}).get("warpage")
        if f.is_file() and w:
            z = np.load(f)
            data.append((c, z["xy_mm"], {k: z[f"uz_{k}_mm"] for k in ("hot", "cold")}, w))
    if not data:
        return None
    rel = []
    for _, xy, uz, _ in data:
        centre = int(np.argmin(np.hypot(*xy)))
        rel.append({k: 1e3 * (u - u[centre]) for k, u in uz.items()})          # µm, relative to the centre
    n = len(data)
    fig = _fig(10.5, 3.0 * n + 0.4)
    axes = fig.subplots(n, 3, squeeze=False)
    for k, which in enumerate(("hot", "cold")):
        allv = np.concatenate([r[which] for r in rel])
        m = float(np.abs(allv).max()) or 1.0
        norm = mcolors.TwoSlopeNorm(0.0, -m, m)
        for i, ((c, xy, _, w), r) in enumerate(zip(data, rel)):
            ax = axes[i, k]
            tri = Triangulation(xy[0], xy[1])
            cs = ax.tricontourf(tri, r[which], levels=np.linspace(-m, m, 21), cmap="RdBu_r", norm=norm)
            ax.set_aspect("equal")
            ax.set_title(f"{c['name']}: {which} ({w[which]['T_C']:g} °C), range {w[which]['range_um']:.2f} µm",
                         fontsize=8)
            ax.set_xlabel("x (mm)")
            ax.set_ylabel("y (mm)")
            xd = (c.get("mesh") or {}).get("x_die_end")
            if xd:
                ax.plot([0, xd, xd], [xd, xd, 0], "k--", linewidth=0.7)
            if i == n - 1:
                cb = fig.colorbar(cs, ax=[axes[j, k] for j in range(n)], label=f"u_z − u_z(centre), {which} (µm)",
                                  shrink=0.8, location="bottom")
                cb.locator = MaxNLocator(5, symmetric=True)
                cb.update_ticks()
    for i, ((c, xy, _, w), r) in enumerate(zip(data, rel)):
        ax = axes[i, 2]
        tri = Triangulation(xy[0], xy[1])
        xb = float(xy[0].max())
        s = np.linspace(0.0, xb * np.sqrt(2), 200)
        for which, col in (("hot", "#d62728"), ("cold", "#1f77b4")):
            f = LinearTriInterpolator(tri, r[which])
            ax.plot(s, f(s / np.sqrt(2), s / np.sqrt(2)), color=col, label=f"{which} {w[which]['T_C']:g} °C")
        xd = (c.get("mesh") or {}).get("x_die_end")
        if xd:
            ax.axvline(xd * np.sqrt(2), color="k", linestyle="--", linewidth=0.7, label="die corner")
        ax.axhline(0.0, color="0.6", linewidth=0.5)
        ax.set_xlabel("along the diagonal from the centre (mm)")
        ax.set_ylabel("u_z − u_z(centre) (µm)")
        ax.set_title(f"{c['name']}: board bottom along the diagonal", fontsize=8)
        ax.legend(fontsize=7)
    _title(fig, "Package warpage (global model): vertical displacement of the board bottom relative to the "
           "package centre at the hot and cold dwell ends of the last cycle, both from the stress-free state "
           "(positive: above the centre)")
    return _save(fig, plots / FILES[1])


# ------------------------------------------------------------------------------------------------ sections
def plane_section(points: np.ndarray, tets: np.ndarray, origin, normal, axes2) -> tuple[np.ndarray, np.ndarray]:
    """The cut of tetrahedra (corner vertices `tets` (n, 4) of `points` (3, m)) by the plane through `origin`
    with `normal`: (cut cell indices (k,), polygons (k, 4, 2) in the plane coordinates along `axes2` (2, 3);
    a triangular cut repeats its last vertex). Vectorized over the cells."""
    origin, normal = np.asarray(origin, float), np.asarray(normal, float)
    V = points[:, tets].transpose(1, 2, 0)                                   # (n, 4, 3)
    d = (V - origin) @ normal                                                # (n, 4)
    # a vertex on the plane counts as just above it: its edges to the vertices below then cross at the vertex
    d = np.where(np.abs(d) <= 1e-12 * float(np.ptp(points)), 1e-12 * float(np.ptp(points)), d)
    cut = np.flatnonzero((d.min(1) < 0) & (d.max(1) > 0))
    V, d = V[cut], d[cut]
    edges = np.array([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])
    da, db = d[:, edges[:, 0]], d[:, edges[:, 1]]                            # (k, 6)
    crosses = (da * db) < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(crosses, da / (da - db), np.nan)
    P = V[:, edges[:, 0]] + t[..., None] * (V[:, edges[:, 1]] - V[:, edges[:, 0]])   # (k, 6, 3)
    Q = (P - origin) @ np.asarray(axes2, float).T                            # (k, 6, 2)
    c = np.nanmean(Q, axis=1, keepdims=True)
    ang = np.where(crosses, np.arctan2(Q[..., 1] - c[..., 1], Q[..., 0] - c[..., 0]), np.inf)
    order = np.argsort(ang, axis=1)[:, :4]                                   # the crossing edges first, by angle
    poly = np.take_along_axis(Q, order[..., None], axis=1)                   # (k, 4, 2)
    tri = crosses.sum(1) == 3
    poly[tri, 3] = poly[tri, 2]
    return cut, poly


def _read_pvd(path: Path) -> list[tuple[float, Path]]:
    root = ET.parse(path).getroot()
    return sorted((float(e.get("timestep")), path.parent / e.get("file")) for e in root.iter("DataSet"))


def _section_data(outdir: Path, c: dict):
    """(polygons, solder ΔW values (nan outside the solder), von Mises, time, window) of a case's submodel."""
    import meshio      # slow to import: only when a section is drawn
    d = outdir / "cases" / case_folder_name(c["name"])
    pvd, cyc = d / "fields.pvd", d / "solder_cycles.npz"
    if not (pvd.is_file() and cyc.is_file()):
        return None
    snaps = _read_pvd(pvd)
    cold = ((c["global"].get("warpage") or {}).get("cold") or {}).get("time_s")
    t, f = min(snaps, key=lambda s: abs(s[0] - cold)) if cold is not None else snaps[-1]
    m = meshio.read(f)
    tets = np.concatenate([b.data[:, :4] for b in m.cells if b.type.startswith("tetra")])
    vm = np.concatenate([v for b, v in zip(m.cells, m.cell_data["von_mises"]) if b.type.startswith("tetra")])
    z = np.load(cyc)
    dw = np.full(tets.shape[0], np.nan)
    if z["time_s"].size >= 2:
        dw[z["element"]] = z["w_in"][-1] - z["w_in"][-2]
        # the npz element ids are the mesh's element numbers, which are the VTU's cell numbers: checked here
        cen = m.points[tets[z["element"]]].mean(axis=1).T
        if not np.allclose(cen, z["centroid"], atol=1e-9):
            dw[:] = np.nan
    sub = c.get("submodel") or {}
    x, y = c["global"]["joints"][[j["index"] for j in c["global"]["joints"]].index(sub.get("joint", 0))][
        "position_mm"]
    r = np.hypot(x, y)
    radial = np.array([x / r, y / r, 0.0])
    normal = np.array([-radial[1], radial[0], 0.0])
    cut, poly = plane_section(m.points.T, tets, (x, y, 0.0), normal, np.array([radial, [0.0, 0.0, 1.0]]))
    solder = np.isfinite(dw[cut])
    if solder.any():
        p = poly[solder]
        lo, hi = p.reshape(-1, 2).min(0), p.reshape(-1, 2).max(0)
        pad = 0.25 * (hi - lo)
        win = (lo - pad, hi + pad)
    else:
        win = (poly.reshape(-1, 2).min(0), poly.reshape(-1, 2).max(0))
    return poly, dw[cut], vm[cut], t, win


def plot_submodel_sections(outdir: Path, cases: list[dict], plots: Path) -> Path | None:
    data = [(c, _section_data(outdir, c)) for c in cases]
    data = [(c, s) for c, s in data if s is not None]
    if not data:
        return None
    n = len(data)
    fig = _fig(3.6 * n + 0.8, 6.0)
    axes = fig.subplots(2, n, squeeze=False)
    rows = (("ΔW last cycle, solder (MPa)", 1, "magma"), ("von Mises at the cold dwell end (MPa, log)", 2, "viridis"))
    for i, (label, k, cmap) in enumerate(rows):
        vals = []
        for _, s in data:
            poly, v = s[0], s[k]
            inwin = _in_window(poly, s[4])
            vals.append(v[inwin & np.isfinite(v)])
        allv = np.concatenate(vals) if vals else np.zeros(1)
        top = float(np.quantile(allv, 0.995)) if allv.size else 1.0
        # ΔW: linear from 0 (the hot spot against the cold bulk); stress: log (solder tens of MPa, Cu hundreds)
        norm = (mcolors.Normalize(0.0, top) if k == 1 else
                mcolors.LogNorm(max(float(np.quantile(allv, 0.01)), 1e-3 * top), top))
        for j, (c, s) in enumerate(data):
            ax = axes[i, j]
            poly, v, win = s[0], s[k], s[4]
            inwin = _in_window(poly, win)
            back = PolyCollection(poly[inwin], facecolors="0.85", edgecolors="face", linewidths=0.2)
            ax.add_collection(back)
            ok = inwin & np.isfinite(v)
            pc = PolyCollection(poly[ok], array=v[ok], cmap=cmap, norm=norm, edgecolors="face", linewidths=0.2)
            ax.add_collection(pc)
            ax.set_xlim(win[0][0], win[1][0])
            ax.set_ylim(win[0][1], win[1][1])
            ax.set_aspect("equal")
            ax.set_xlabel("radial from the joint axis (mm; + away from the centre)", fontsize=7)
            ax.set_ylabel("z (mm)", fontsize=7)
            sub = c.get("submodel") or {}
            ax.set_title(f"{c['name']}: joint {sub.get('joint')}" + (f", t = {s[3]:g} s" if k == 2 else ""),
                         fontsize=8)
        sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=list(axes[i]), label=label, shrink=0.9, extend="max")
    _title(fig, "Submodel of the critical joint: vertical section through the joint axis and the package centre "
           "(one colour scale per row, shared by the designs; grey: outside the solder; undeformed)")
    return _save(fig, plots / FILES[2])


def _in_window(poly: np.ndarray, win) -> np.ndarray:
    c = poly.mean(axis=1)
    return np.all((c >= win[0]) & (c <= win[1]), axis=1)
