"""PNG pictures of meshed designs (matplotlib is imported only here).

``section_png(msh, model, order, png, zoom=...)``: the 2D mesh coloured by material (top-level region name),
solder interface layers shaded, optionally with a zoom window.  ``design_png`` puts a design's slice overview,
a zoom on the corner joint and (if given) the axisymmetric joint side by side.  ``ring_png`` draws the
embossed ring of a 3D mesh seen from the board (shows a discontinuous ring).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fem_wlp.wlcsp.geometry.mesh_report import read_regions

COLORS = {"die": "#9e9e9e", "passivation": "#00bcd4", "pi1": "#ffb74d", "pi2": "#ff7043", "pi3": "#ab47bc",
          "cu_wiring": "#b87333", "ubm": "#6d4c41", "solder": "#cfd8dc", "board_pad": "#d4a017",
          "solder_mask": "#43a047", "board": "#827717"}
LAYER_SHADE = {"die_layer": "#78909c", "board_layer": "#90a4ae", "bulk": "#cfd8dc"}


def _color(name: str) -> str:
    parts = name.split("/")
    if parts[0] == "solder" and len(parts) == 3:
        return LAYER_SHADE.get(parts[2], COLORS["solder"])
    if name.startswith("pi2/ring"):
        return "#e53935"
    return COLORS.get(parts[0], "#ffffff")


def _draw(ax, m, cells, regions, window=None, edges=True):
    from matplotlib.collections import PolyCollection
    p = m.points[:, :2]
    polys, cols = [], []
    for name, idx in regions.items():
        tri = cells[idx][:, :3]
        if window is not None:
            x0, x1, y0, y1 = window
            c = p[tri].mean(axis=1)
            keep = (c[:, 0] > x0 - 0.05) & (c[:, 0] < x1 + 0.05) & (c[:, 1] > y0 - 0.05) & (c[:, 1] < y1 + 0.05)
            tri = tri[keep]
        polys.append(p[tri])
        cols += [_color(name)] * len(tri)
    polys = np.concatenate(polys) if polys else np.zeros((0, 3, 2))
    pc = PolyCollection(polys, facecolors=cols, edgecolors="k" if edges else "face",
                        linewidths=0.05 if edges else 0.0)
    ax.add_collection(pc)
    ax.set_aspect("equal")
    if window is not None:
        ax.set_xlim(window[0], window[1])
        ax.set_ylim(window[2], window[3])
    else:
        ax.autoscale_view()


def _legend(ax, names):
    from matplotlib.patches import Patch
    seen, handles = set(), []
    for n in sorted(names):
        key = n if n.startswith("solder/") and False else n.split("/")[0]
        if n.startswith("solder/"):
            key = "solder " + n.split("/")[2]
        elif n.startswith("pi2/ring"):
            key = "pi2 ring"
        if key in seen:
            continue
        seen.add(key)
        handles.append(Patch(facecolor=_color(n), edgecolor="k", label=key))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)


def design_png(design_name: str, png, slice_msh=None, axisym_msh=None, order: int = 1, report=None):
    """One figure per design: slice overview + corner-joint zoom (+ axisymmetric joint)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = []
    if slice_msh:
        panels += ["slice", "zoom", "detail"]
    if axisym_msh:
        panels += ["axisym"]
    fig = plt.figure(figsize=(13, 3.2 * len(panels)))
    names = set()
    i = 1
    if slice_msh:
        m, cells, regions, _ = read_regions(Path(slice_msh), "slice2d", order)
        names |= set(regions)
        ax = fig.add_subplot(len(panels), 1, i); i += 1
        _draw(ax, m, cells, regions, edges=False)
        ax.set_title(f"{design_name}: 2D diagonal slice (x from package centre, mm)")
        xs = (report or {}).get("joint_positions") or [m.points[:, 0].max() / 2]
        jr = (report or {}).get("joint", {})
        xk = xs[-1]
        y0 = -0.08
        top = jr.get("standoff", 0.2) + 0.08
        ax = fig.add_subplot(len(panels), 1, i); i += 1
        _draw(ax, m, cells, regions, window=(xk - 0.25, xk + 0.25, y0, top))
        ax.set_title(f"zoom on the corner joint (x = {xk:.3f} mm); shaded: solder die/board interface layers")
        ax = fig.add_subplot(len(panels), 1, i); i += 1
        st = jr.get("standoff", 0.2)
        _draw(ax, m, cells, regions, window=(xk - 0.14, xk + 0.14, st - 0.035, st + 0.04))
        ax.set_title("die-side pad detail (build-up layers, pad relief)")
    if axisym_msh:
        m, cells, regions, _ = read_regions(Path(axisym_msh), "axisym", order)
        names |= set(regions)
        ax = fig.add_subplot(len(panels), 1, i); i += 1
        jr = (report or {}).get("joint", {})
        _draw(ax, m, cells, regions, window=(0, m.points[:, 0].max(), -0.06, jr.get("standoff", 0.2) + 0.06))
        ax.set_title("axisymmetric joint (x = r, axis at r = 0)")
    _legend(fig.axes[0], names)
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)
    return Path(png)


def ring_png(design_name: str, msh, png, order: int = 1):
    """Top view (from the board) of the PI2 ring and the Cu of a joint3d mesh: shows the segments."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    m, cells, regions, _ = read_regions(Path(msh), "joint3d", order)
    fig, ax = plt.subplots(figsize=(5, 5))
    order_ = sorted(regions, key=lambda n: (not n.startswith("cu_wiring"), n))
    for name in order_:
        idx = regions[name]
        if name.startswith(("pi2/ring", "cu_wiring", "ubm")):
            c = m.points[cells[idx][:, :4]].mean(axis=1)
            ax.scatter(c[:, 0], c[:, 1], s=0.3, color=_color(name), label=name)
    ax.set_aspect("equal")
    ax.legend(markerscale=15, fontsize=7, loc="upper right")
    ax.set_title(f"{design_name}: joint3d, tet centroids of ring / Cu / die layer (top view)")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return Path(png)
