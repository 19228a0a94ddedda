"""gmsh (OpenCASCADE) builders for the three models.  All shapes are created, then ONE ``occ.fragment`` makes
every interface conforming; each fragment is given to the first of its parent shapes in priority order:

1. joint columns (pads, metal, build-up and solder fills near each joint; see ``stack.py``),
2. the solder cap (truncated sphere / its axial section),
3. air around an NSMD board pad (removed),
4. far-field layers (die, build-up, solder mask, board);

the interface-layer *zones* only split the solder and own nothing: the conformal zones (die_layer / bulk /
board_layer) and the planar slabs (die_planar_layer, board_planar_layer; see wlcsp.regions for the leaves).  Fragments
owned by air or by nothing are removed.

Coordinates: 2D models in x-y, y up, board at the bottom (laminate surface y = 0), die on top, face down;
slice2d: x = distance from the package centre along the diagonal (symmetry at x = 0), axisym: x = r (axis at
x = 0); joint3d: z up, joint axis at x = y = 0, cell [-pitch/2, pitch/2]^2.

Cell groups (disjoint leaves): ``die``, ``passivation``, ``pi1``, ``pi2`` (embossed: ``pi2/field`` and
``pi2/ring/joint{k}``), ``pi3``, ``cu_wiring/joint{k}``, ``ubm/joint{k}``, ``solder/joint{k}/die_layer|bulk|
board_layer[/die_planar_layer|board_planar_layer]``, ``board_pad/joint{k}``, ``solder_mask``, ``board``.  Joint numbering in slice2d: k = 0 nearest the
package centre, increasing along the half-diagonal (the last one is the corner joint).

Facet groups: slice2d ``symmetry``, ``board_bottom``, ``die_top``, ``board_end``, ``die_end``; axisym ``axis``,
``board_bottom``, ``die_top``, ``outer_die``, ``outer_board``; joint3d ``die_top``, ``board_bottom``,
``die_side``, ``board_side``.
"""
from __future__ import annotations

import math

import gmsh

from fem_wlp.wlcsp.regions import BULK, IMC, LAYERS, PLANAR_LAYERS, SOLDER

PER_JOINT = ("cu_wiring", "ubm", "board_pad", "pi2/ring")
#: zone label of a planar-layer slab -> its leaf name component
PLANAR_ZONES = {"die_planar": PLANAR_LAYERS[0], "board_planar": PLANAR_LAYERS[1]}
_PRIO = {"joint": 0, "cap": 1, "void": 2, "far": 3}


class Assembly:
    """Shapes with owners and priorities; fragment() turns them into conforming, labelled entities."""

    def __init__(self, dim: int):
        self.dim = dim
        self.items = []      # (priority, seq, label, [tags])
        self.zones = []      # (label, [tags])

    def add(self, prio: str, label: str, tags):
        tags = [t for d, t in tags if d == self.dim] if tags and isinstance(tags[0], tuple) else list(tags)
        if tags:
            self.items.append((_PRIO[prio], len(self.items), label, tags))

    def zone(self, label: str, tags):
        tags = [t for d, t in tags if d == self.dim] if tags and isinstance(tags[0], tuple) else list(tags)
        if tags:
            self.zones.append((label, tags))

    def fragment(self) -> dict[str, list[int]]:
        occ = gmsh.model.occ
        items = sorted(self.items)
        inputs = [(self.dim, t) for *_, tags in items for t in tags] + \
                 [(self.dim, t) for _, tags in self.zones for t in tags]
        owners_in = [lab for _, _, lab, tags in items for _ in tags] + [None for _, tags in self.zones for _ in tags]
        zones_in = [None for _, _, _, tags in items for _ in tags] + [lab for lab, tags in self.zones for _ in tags]
        _, out_map = occ.fragment(inputs[:1], inputs[1:])
        owner, zone, planar = {}, {}, {}
        for lab, z, children in zip(owners_in, zones_in, out_map):
            for d, t in children:
                if d != self.dim:
                    continue
                if lab is not None and t not in owner:
                    owner[t] = lab
                if z in PLANAR_ZONES:
                    planar.setdefault(t, z)
                elif z is not None:
                    zone.setdefault(t, z)
        all_out = {t for ch in out_map for d, t in ch if d == self.dim}
        remove = [(self.dim, t) for t in all_out if owner.get(t, "void") == "void"]
        if remove:
            occ.remove(remove, recursive=True)
        occ.synchronize()
        groups: dict[str, list[int]] = {}
        for t, lab in owner.items():
            if lab == "void":
                continue
            if lab.startswith("solder/"):
                lab = solder_leaf(lab, zone.get(t), planar.get(t))
            groups.setdefault(lab, []).append(t)
        return groups


def solder_leaf(joint: str, conformal: str | None, planar: str | None) -> str:
    """The leaf of a solder fragment from its conformal zone ('die' | 'board' | None) and planar zone
    (PLANAR_ZONES or None): see wlcsp.regions for the region tree."""
    if conformal == IMC:                  # the intermetallic carved out of the solder (stack.py)
        return IMC + joint[len(SOLDER):]
    lab = joint + "/" + {"die": LAYERS[0], "board": LAYERS[1]}.get(conformal, BULK)
    return lab + "/" + PLANAR_ZONES[planar] if planar else lab


def leaf(label: str, k: int, design) -> str:
    if label == "solder":
        return f"solder/joint{k}"
    if label == "pi2" and design.kind == "embossed":
        return "pi2/field"
    if label in PER_JOINT:
        return f"{label}/joint{k}"
    return label


# ------------------------------------------------------------------------------------------------ 2D
def _rect2d(x0, x1, y0, y1):
    return gmsh.model.occ.addRectangle(x0, y0, 0.0, x1 - x0, y1 - y0)


def _mirrored(xk, r0, r1, xmin, xmax, axisym):
    """x-intervals of the annulus r0 <= |x - xk| < r1 clipped to [xmin, xmax]."""
    if axisym:
        ivs = [(r0, r1)]
    elif r0 <= 0:
        ivs = [(xk - r1, xk + r1)]
    else:
        ivs = [(xk - r1, xk - r0), (xk + r0, xk + r1)]
    out = []
    for a, b in ivs:
        a, b = max(a, xmin), min(b, xmax)
        if b - a > 1e-9:
            out.append((a, b))
    return out


def _zone_rects(profile_lo, profile_hi, r_lim):
    """(r0, r1, lo, hi) rectangles between two profiles for r < r_lim."""
    pts = sorted({p for p in profile_lo.brk + profile_hi.brk if p < r_lim} | {0.0, r_lim})
    out = []
    for a, b in zip(pts, pts[1:]):
        rm = 0.5 * (a + b)
        lo, hi = sorted((profile_lo(rm), profile_hi(rm)))
        if hi - lo > 1e-12:
            out.append((a, b, lo, hi))
    return out


def joint_shapes_2d(asm: Assembly, joint, design, k: int, xk: float, xmin: float, xmax: float, axisym: bool):
    """Add joint k's columns, cap and zones (2D, mirrored about x = xk or axisymmetric)."""
    j = joint
    y_of_d = j.y_of_depth
    for r in j.die.rects:
        for a, b in _mirrored(xk, r.r0, r.r1, xmin, xmax, axisym):
            asm.add("joint", leaf(r.label, k, design), [(2, _rect2d(a, b, y_of_d(r.hi), y_of_d(r.lo)))])
    for r in j.board.rects:
        for a, b in _mirrored(xk, r.r0, r.r1, xmin, xmax, axisym):
            asm.add("joint", leaf(r.label, k, design), [(2, _rect2d(a, b, r.lo, r.hi))])
    for r in j.board.voids:
        for a, b in _mirrored(xk, r.r0, r.r1, xmin, xmax, axisym):
            asm.add("void", "void", [(2, _rect2d(a, b, r.lo, r.hi))])
    occ = gmsh.model.occ
    xa, xb = (0.0, j.R * 1.01) if axisym else (max(xmin, xk - j.R * 1.01), min(xmax, xk + j.R * 1.01))
    disk = occ.addDisk(xk, j.yc, 0.0, j.R, j.R)
    box = _rect2d(xa, xb, j.y_b, j.y_t)
    cap, _ = occ.intersect([(2, disk)], [(2, box)])
    asm.add("cap", leaf("solder", k, design), cap)
    # intermetallic, then interface-layer zones (only split the solder; the IMC zone first: it wins)
    for r in j.die.imc:
        for a, b in _mirrored(xk, r.r0, r.r1, xmin, xmax, axisym):
            asm.zone(IMC, [(2, _rect2d(a, b, y_of_d(r.hi), y_of_d(r.lo)))])
    for r in j.board.imc:
        for a, b in _mirrored(xk, r.r0, r.r1, xmin, xmax, axisym):
            asm.zone(IMC, [(2, _rect2d(a, b, r.lo, r.hi))])
    r_lim = j.max_diameter / 2 + 0.02
    for r0, r1, lo, hi in _zone_rects(j.die.layer_boundary, j.die_zone, r_lim):
        for a, b in _mirrored(xk, r0, r1, xmin, xmax, axisym):
            asm.zone("die", [(2, _rect2d(a, b, y_of_d(hi), y_of_d(lo)))])
    rb = j.board.voids[0].r1 if j.board.voids else r_lim
    for r0, r1, lo, hi in _zone_rects(j.board.layer_boundary, j.board_zone, min(rb, r_lim)):
        for a, b in _mirrored(xk, r0, r1, xmin, xmax, axisym):
            asm.zone("board", [(2, _rect2d(a, b, lo, hi))])
    for z, (lo, hi) in (("die_planar", j.die_planar), ("board_planar", j.board_planar)):
        for a, b in _mirrored(xk, 0.0, r_lim, xmin, xmax, axisym):
            asm.zone(z, [(2, _rect2d(a, b, lo, hi))])


def far_field_2d(asm: Assembly, joint, geometry, x_die: float, x_board: float):
    j, g = joint, geometry
    occ_rect = _rect2d
    asm.add("far", "die", [(2, occ_rect(0.0, x_die, j.y_face, j.y_face + g.die_thickness))])
    for lab, d0, d1 in j.die.far:
        asm.add("far", "pi2/field" if lab == "pi2" and j.die_ring.ring else lab,
                [(2, occ_rect(0.0, x_die, j.y_of_depth(d1), j.y_of_depth(d0)))])
    for lab, y0, y1 in j.board.far:
        asm.add("far", lab, [(2, occ_rect(0.0, x_board, y0, y1))])
    asm.add("far", "board", [(2, occ_rect(0.0, x_board, -g.board_thickness, 0.0))])


# ------------------------------------------------------------------------------------------------ 3D
def _revolve(x0, x1, z0, z1, angle=2 * math.pi, start=0.0):
    """Volume of revolution of the (r, z) rectangle about the z axis, over [start, start + angle]."""
    occ = gmsh.model.occ
    s = occ.addRectangle(x0, z0, 0.0, x1 - x0, z1 - z0)
    occ.rotate([(2, s)], 0, 0, 0, 1, 0, 0, math.pi / 2)     # x-y plane -> x-z plane
    if start:
        occ.rotate([(2, s)], 0, 0, 0, 0, 0, 1, start)
    out = occ.revolve([(2, s)], 0, 0, 0, 0, 0, 1, angle)
    return [(d, t) for d, t in out if d == 3]


def joint_shapes_3d(asm: Assembly, joint, design, geometry):
    """Joint columns revolved about the z axis; a discontinuous ring (joint solved with segmented=True) is
    added as PI2 sectors (exact span) inside Cu sectors widened by cu_thickness at mid-ring radius (the Cu
    on the segment end walls), over the gap stack revolved 360 degrees."""
    j, k = joint, 0
    occ = gmsh.model.occ
    y_of_d = j.y_of_depth
    segs = j.die_ring is not None and j.die_ring is not j.die
    for r in j.die.rects:
        asm.add("joint", leaf(r.label, k, design), _revolve(r.r0, r.r1, y_of_d(r.hi), y_of_d(r.lo)))
    if segs:
        # ring segments: PI2 sectors over their exact span, wrapped in a Cu sector widened by cu_thickness/r
        ri, ro = j.die_ring.ring
        dA, dB = j.die_ring.ring_depths
        tcu = geometry.cu_thickness
        n, gap = design.ring_segments, math.radians(design.ring_gap_angle)
        span = 2 * math.pi / n - gap
        widen = tcu / (0.5 * (ri + ro))
        for i in range(n):
            start = i * 2 * math.pi / n + gap / 2
            ring_v = _revolve(ri, ro, y_of_d(dB), y_of_d(dA), span, start)
            cu_v = _revolve(ri - tcu, ro + tcu, y_of_d(dB + tcu), y_of_d(dA), span + 2 * widen, start - widen)
            asm.items.insert(0, (-2, -len(asm.items) - 1, leaf("pi2/ring", k, design), [t for _, t in ring_v]))
            asm.items.insert(0, (-1, -len(asm.items) - 1, leaf("cu_wiring", k, design), [t for _, t in cu_v]))
    for r in j.board.rects:
        asm.add("joint", leaf(r.label, k, design), _revolve(r.r0, r.r1, r.lo, r.hi))
    for r in j.board.voids:
        asm.add("void", "void", _revolve(r.r0, r.r1, r.lo, r.hi))
    # solder cap: revolve its half section
    disk = occ.addDisk(0.0, j.yc, 0.0, j.R, j.R)
    box = occ.addRectangle(0.0, j.y_b, 0.0, j.R * 1.01, j.y_t - j.y_b)
    sec, _ = occ.intersect([(2, disk)], [(2, box)])
    occ.rotate(sec, 0, 0, 0, 1, 0, 0, math.pi / 2)
    cap = [(d, t) for d, t in occ.revolve(sec, 0, 0, 0, 0, 0, 1, 2 * math.pi) if d == 3]
    asm.add("cap", leaf("solder", k, design), cap)
    # IMC zones (only split the solder); a discontinuous ring takes none (design.check_combination refuses it)
    for r in j.die.imc:
        asm.zone(IMC, _revolve(r.r0, r.r1, y_of_d(r.hi), y_of_d(r.lo)))
    for r in j.board.imc:
        asm.zone(IMC, _revolve(r.r0, r.r1, r.lo, r.hi))
    r_lim = j.max_diameter / 2 + 0.02
    for r0, r1, lo, hi in _zone_rects(j.die_ring.layer_boundary, j.die_zone, r_lim):
        asm.zone("die", _revolve(r0, r1, y_of_d(hi), y_of_d(lo)))
    rb = j.board.voids[0].r1 if j.board.voids else r_lim
    for r0, r1, lo, hi in _zone_rects(j.board.layer_boundary, j.board_zone, min(rb, r_lim)):
        asm.zone("board", _revolve(r0, r1, lo, hi))
    for z, (lo, hi) in (("die_planar", j.die_planar), ("board_planar", j.board_planar)):
        asm.zone(z, _revolve(0.0, r_lim, lo, hi))


def far_field_3d(asm: Assembly, joint, geometry):
    j, g = joint, geometry
    occ = gmsh.model.occ
    h = g.pitch / 2

    def box(z0, z1):
        return [(3, occ.addBox(-h, -h, z0, 2 * h, 2 * h, z1 - z0))]
    asm.add("far", "die", box(j.y_face, j.y_face + g.die_thickness))
    for lab, d0, d1 in j.die.far:
        asm.add("far", "pi2/field" if lab == "pi2" and j.die_ring.ring else lab, box(j.y_of_depth(d1), j.y_of_depth(d0)))
    for lab, y0, y1 in j.board.far:
        asm.add("far", lab, box(y0, y1))
    asm.add("far", "board", box(-g.board_thickness, 0.0))
