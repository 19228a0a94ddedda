"""Solder-joint shape: a truncated sphere between the two wetted pads, by volume conservation.

Model (closed form): the free surface of the reflowed joint is a sphere segment between two parallel *base
planes* -- the outer surface of the die build-up (PI2 / PI3 over the pad) and the board-side base plane -- with
the contact lines at radius ``a_t`` (die side) and ``a_b`` (board side).  Its volume is

    V_cap(H) = pi * H * (3 a_t^2 + 3 a_b^2 + H^2) / 6,

monotone in the height H, so H follows from one cubic (Cardano).  The solder volume is conserved:

    V_solder = V_cap + V_fill_die + V_fill_board - V_protrusion_die - V_protrusion_board

* fills: solder inside the build-up above the die base plane (PI2 opening without UBM, the embossed relief
  inside the PI3 connection hole, the recess + third opening) and inside an SMD mask opening;
* protrusions: metal inside the cap slab (the flat design's UBM below PI2; an NSMD board pad, whose side walls
  the solder wraps: the board-side contact line sits at the foot of the pad side wall, on the laminate).

Gravity and the real contact-angle physics are ignored (Bond number ~ 1e-3 for 0.25 mm balls); the die-side and
board-side contact lines are pinned at the edges of the wettable areas (UBM / hole edge, pad edge).

``standoff`` = gap between the die build-up's outer surface and the laminate surface (= H for NSMD).
The interface layers (``die_layer``, ``board_layer``) are the solder within a Chebyshev distance
``interface_layer_thickness`` of the solder's die-side / board-side boundary (so they follow a non-planar pad),
simplified where a step of that offset would cut the free surface at a grazing angle (sliver-free).

The *planar* layers (``die_planar_layer``, ``board_planar_layer``) have one definition for every design: the
solder between the wetted-face plane and the parallel plane at distance t = ``interface_layer_thickness``
toward the other side.  The die-side wetted-face plane is the plane of the die-side solder boundary nearest the
board: the UBM face of a metal-defined pad, the outer surface of the dielectric that holds the opening (PI2,
or PI3 over an embossed pad) -- the pad mouth -- of a polymer-defined one.  Board side: the pad face (NSMD) or
the solder-mask surface (SMD).  Solder inside the opening (above the mouth) is never in a planar layer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from fem_wlp.errors import InputError
from fem_wlp.wlcsp.geometry.stack import BoardStack, DieStack, Profile, board_stack, die_stack

MIN_GAP_TO_NEIGHBOUR = 0.05   # mm: smaller clearance between balls counts as bridging (modelling choice)


def cap_volume(H: float, a_t: float, a_b: float) -> float:
    return math.pi * H * (3 * a_t ** 2 + 3 * a_b ** 2 + H ** 2) / 6


def cap_height(V: float, a_t: float, a_b: float) -> float:
    """Root H > 0 of V_cap(H) = V (H^3 + p H - q = 0)."""
    p, q = 3 * (a_t ** 2 + a_b ** 2), 6 * V / math.pi
    s = math.sqrt(q * q / 4 + p ** 3 / 27)
    return math.copysign(abs(q / 2 + s) ** (1 / 3), q / 2 + s) + math.copysign(abs(q / 2 - s) ** (1 / 3), q / 2 - s)


def sphere(H: float, a_t: float, a_b: float) -> tuple[float, float]:
    """(R, u): sphere radius and distance from the centre up to the top (die) base plane."""
    u = 0.5 * (H + (a_b ** 2 - a_t ** 2) / H)
    return math.sqrt(a_t ** 2 + u ** 2), u


def segment_area(R: float, z0: float, z1: float) -> float:
    """Area of the disc of radius R between the chords at heights z0 < z1 from its centre."""
    F = lambda z: z * math.sqrt(max(R * R - z * z, 0.0)) + R * R * math.asin(max(-1.0, min(1.0, z / R)))
    return F(z1) - F(z0)


@dataclass
class Joint:
    die: DieStack
    board: BoardStack
    y_b: float            # board-side base plane (y, laminate top = 0)
    y_t: float            # die-side base plane (outer surface of the build-up)
    H: float
    R: float
    yc: float
    a_t: float
    a_b: float
    V_requested: float
    V_cap: float
    V_fill_die: float
    V_fill_board: float
    V_prot_die: float
    V_prot_board: float
    A_section: float      # solder area of the axial section (what a 2D slice meshes per joint)
    die_zone: Profile     # depth of the die-layer boundary, per r
    board_zone: Profile   # height of the board-layer boundary, per r
    die_ring: DieStack | None = None   # the continuous-ring stack (= die unless segmented)
    die_planar: tuple[float, float] = (0.0, 0.0)    # (y_lo, y_hi) of the die-side planar layer
    board_planar: tuple[float, float] = (0.0, 0.0)  # (y_lo, y_hi) of the board-side planar layer
    pad_edge: str = "polymer"                       # die-side contact line on metal (UBM) or polymer

    @property
    def y_face(self) -> float:
        """y of the silicon face (top of the build-up)."""
        return self.y_t + self.die.base

    def y_of_depth(self, d: float) -> float:
        return self.y_face - d

    @property
    def die_mouth_depth(self) -> float:
        """Depth below the silicon face of the die-side *wetted-face plane*: the plane of the die-side solder
        boundary nearest the board (the UBM face of a metal-defined pad; the outer surface of PI2/PI3 -- the
        mouth of the opening -- of a polymer-defined one)."""
        return max(self.die_ring.solder_boundary.vals)

    @property
    def board_mouth_height(self) -> float:
        """Height above the laminate of the board-side wetted-face plane: the board-pad face (NSMD) or the
        solder-mask surface (SMD: the mouth of the mask opening)."""
        return max(self.board.solder_boundary.vals)

    @property
    def standoff(self) -> float:
        return self.y_t

    @property
    def max_diameter(self) -> float:
        if self.y_b < self.yc < self.y_t:
            return 2 * self.R
        return 2 * max(self.a_t, self.a_b)

    def rho(self, y: float) -> float:
        """Radius of the sphere at height y (0 outside)."""
        z = y - self.yc
        return math.sqrt(self.R ** 2 - z * z) if abs(z) < self.R else 0.0

    def extent(self, y: float) -> float:
        """Radial extent of the solder at height y."""
        if y > self.y_t:
            return self.die.contact_radius if y < self.y_face else 0.0
        if y < self.y_b:
            return self.board.contact_radius if y > 0 else 0.0
        return self.rho(y)

    def zone_volume(self, y0: float, y1: float) -> float:
        """Volume of the solder sphere between heights y0 < y1 (inside the cap)."""
        F = lambda y: self.R ** 2 * (y - self.yc) - (y - self.yc) ** 3 / 3
        return math.pi * (F(y1) - F(y0))

    def zone_area(self, y0: float, y1: float) -> float:
        """Axial-section area of the solder sphere between heights y0 < y1 (inside the cap)."""
        return segment_area(self.R, y0 - self.yc, y1 - self.yc)

    def facts(self) -> dict:
        """What differs between designs, from the geometry (mm, mm^3; the nominal axisymmetric joint):

        * wetted_diameter_die/board: diameter of the solder contact line (UBM or opening edge; board pad or
          SMD mask opening);
        * crack_path_die/board: length of the solder's wetted boundary in the axial section from contact line
          to contact line -- the path along the relief (pad faces plus every step: relief walls, opening walls,
          the UBM / board-pad side walls the solder wets); for a discontinuous ring (joint3d), that of the
          ring's section, and crack_path_die_gap through a gap between the ring segments (no ring steps);
        * solder_height: on the joint axis, between the die-side and the board-side metal faces;
        * relief_height: from the die-side wetted-face plane to the wetted metal face farthest from it (0 for
          a UBM); relief_solder_volume: the solder on the die side of that plane (in the opening/relief, and
          beside a UBM's side wall)."""
        sb, bb = self.die_ring.solder_boundary, self.board.solder_boundary
        a, ab = self.a_t, self.a_b

        def path(prof: Profile, radius: float) -> float:
            vals = [prof(0.0)] + [prof(b) for b in prof.brk[1:] if b <= radius + 1e-12]
            return 2.0 * (radius + sum(abs(v1 - v0) for v0, v1 in zip(vals, vals[1:])))

        inside = [v for b, v in zip(sb.brk, sb.vals) if b < a - 1e-12]
        y_mouth = self.y_of_depth(self.die_mouth_depth)
        gap = {"crack_path_die_gap_mm": path(self.die.solder_boundary, a)} if self.die is not self.die_ring else {}
        return {**gap, "wetted_diameter_die_mm": 2 * a, "wetted_diameter_board_mm": 2 * ab,
                "standoff_mm": self.standoff, "solder_volume_mm3": self.V_requested, "pad_edge": self.pad_edge,
                "crack_path_die_mm": path(sb, a), "crack_path_board_mm": path(bb, ab),
                "solder_height_mm": self.y_of_depth(sb(0.0)) - bb(0.0),
                "relief_height_mm": self.die_mouth_depth - min(inside),
                "relief_solder_volume_mm3": self.V_fill_die + self.zone_volume(y_mouth, self.y_t) - self.V_prot_die}

    def planar_layers(self) -> dict:
        """The planar layers' planes and analytic sizes: volume (axisym/joint3d) and axial-section area
        (slice2d) of the solder sphere between the two planes."""
        return {side: {"y_lo": lo, "y_hi": hi, "thickness": hi - lo, "volume": self.zone_volume(lo, hi),
                       "section_area": self.zone_area(lo, hi)}
                for side, (lo, hi) in (("die", self.die_planar), ("board", self.board_planar))}

    def report(self) -> dict:
        return {"facts": self.facts(), "planar_layers": self.planar_layers(),
                "solder_volume_requested": self.V_requested, "cap_volume": self.V_cap,
                "fill_volume_die_side": self.V_fill_die, "fill_volume_board_side": self.V_fill_board,
                "protrusion_volume_die_side": self.V_prot_die, "protrusion_volume_board_side": self.V_prot_board,
                "cap_height": self.H, "standoff": self.standoff, "sphere_radius": self.R,
                "contact_radius_die": self.a_t, "contact_radius_board": self.a_b,
                "max_diameter": self.max_diameter, "section_area": self.A_section}


def _ring(r0, r1):
    return math.pi * (r1 * r1 - r0 * r0)


def _clean(zone: Profile, level_to_y, extent, eps: float, deeper_is_lower: bool) -> Profile:
    """Drop steps of the layer boundary that would meet the free surface at a grazing angle, and merge steps
    lower than eps (keeping the thicker side) -- avoids slivers."""
    brk, vals = [zone.brk[0]], [zone.vals[0]]
    for b, v in zip(zone.brk[1:], zone.vals[1:]):
        if min(extent(level_to_y(vals[-1])), extent(level_to_y(v))) < b + eps:
            break
        if abs(v - vals[-1]) < eps:
            vals[-1] = max(vals[-1], v)
            continue
        brk.append(b)
        vals.append(v)
    return Profile(brk, vals)


def solve_joint(geometry, design, mesh_size: float = 0.005, segmented: bool = False) -> Joint:
    """Solve the joint shape.  ``segmented`` (joint3d, embossed with ring_segments >= 2): the die columns are
    those of the gaps (no ring) and the ring sectors are removed from the fill volume; the interface-layer
    boundary is that of the continuous ring."""
    g = geometry
    segmented = segmented and design.kind == "embossed" and design.ring_segments >= 2
    vkey = "geometry.solder_volume" if g.solder_volume > 0 else "geometry.ball_diameter"
    vval = g.solder_volume if g.solder_volume > 0 else g.ball_diameter
    die, board = die_stack(g, design, ring=not segmented), board_stack(g)
    ring_stack = die_stack(g, design) if segmented else die
    V = g.solder_volume_requested
    vfd = sum(_ring(r.r0, r.r1) * (r.hi - r.lo) for r in die.rects if r.label == "solder")
    vpd = sum(_ring(r.r0, r.r1) * (r.hi - r.lo) for r in die.rects if r.label != "solder" and r.lo >= die.base - 1e-15)
    vfb = sum(_ring(r.r0, r.r1) * (r.hi - r.lo) for r in board.rects if r.label == "solder")
    vpb = sum(_ring(r.r0, r.r1) * (r.hi - r.lo) for r in board.rects
              if r.label != "solder" and r.lo >= board.base - 1e-15)
    if segmented:   # PI2 ring sectors + their Cu wrap (widened by cu_thickness at mid-ring) displace solder
        ri, ro = ring_stack.ring
        dA, dB = ring_stack.ring_depths
        tcu = g.cu_thickness
        n, gap = design.ring_segments, math.radians(design.ring_gap_angle)
        ang = n * (2 * math.pi / n - gap + 2 * tcu / (0.5 * (ri + ro)))
        vfd -= 0.5 * ang * ((ro + tcu) ** 2 - (ri - tcu) ** 2) * (dB - dA)
    V_cap = V - vfd - vfb + vpd + vpb
    a_t, a_b = die.contact_radius, board.contact_radius
    if V_cap <= 0:
        relief = {"flat": ("pi2_opening",), "embossed": ("connection_hole_diameter", "concave_diameter"),
                  "recessed": ("recess_depth", "third_opening_diameter")}[design.kind]
        raise InputError(vkey, vval, f"a solder volume larger than {V - V_cap:.4g} mm^3 (too little solder to fill "
                         f"the pad openings and wet both pads, design {design.name}; or a shallower/narrower "
                         "relief: " + ", ".join(f"designs.{design.name}.{k}" for k in relief) + ")")
    H = cap_height(V_cap, a_t, a_b)
    R, u = sphere(H, a_t, a_b)
    y_b = board.base
    y_t = y_b + H
    yc = y_t - u
    A_fill = sum(2 * (r.r1 - r.r0) * (r.hi - r.lo) for r in die.rects if r.label == "solder") + \
        sum(2 * (r.r1 - r.r0) * (r.hi - r.lo) for r in board.rects if r.label == "solder")
    A_prot = sum(2 * (r.r1 - r.r0) * (r.hi - r.lo) for r in die.rects
                 if r.label != "solder" and r.lo >= die.base - 1e-15) + \
        sum(2 * (r.r1 - r.r0) * (r.hi - r.lo) for r in board.rects
            if r.label != "solder" and r.lo >= board.base - 1e-15)
    A = segment_area(R, y_b - yc, y_t - yc) + A_fill - A_prot
    delta = g.interface_layer_thickness
    j = Joint(die, board, y_b, y_t, H, R, yc, a_t, a_b, V, V_cap, vfd, vfb, vpd, vpb, A,
              Profile([0.0], [0.0]), Profile([0.0], [0.0]))
    eps = 0.75 * mesh_size
    j.die_ring = ring_stack
    # the damage layers start at the solder's boundary, or at the IMC/solder face with an IMC (stack.py)
    j.die_zone = _clean(ring_stack.layer_boundary.offset(delta), j.y_of_depth, j.extent, eps, True)
    j.board_zone = _clean(board.layer_boundary.offset(delta), lambda y: y, j.extent, eps, False)
    # planar layers: the solder between the wetted-face plane (with an IMC on a UBM or board pad face: the IMC
    # face) and the parallel plane at delta toward the other side (the same geometric definition for every design)
    y_m = j.y_of_depth(max(ring_stack.layer_boundary.vals))
    j.die_planar = (y_m - delta, y_m)
    j.pad_edge = design.pad_edge
    y_bm = max(board.layer_boundary.vals)
    j.board_planar = (y_bm, y_bm + delta)
    # ---- checks
    if j.die_planar[0] - j.board_planar[1] < mesh_size:
        raise InputError(vkey, vval, f"enough solder for a bulk between the die-side and board-side planar "
                         f"layers (design {design.name}: cap height {H:.4f} mm, layers 2 x {delta} mm)")
    y_die_layer = min(j.y_of_depth(v) for v in j.die_zone.vals)
    y_board_layer = max(j.board_zone.vals)
    if y_die_layer - y_board_layer < mesh_size:
        raise InputError(vkey, vval, f"enough solder for a bulk between the die-side and board-side interface "
                         f"layers (design {design.name}: cap height {H:.4f} mm, interface layers 2 x {delta} mm; "
                         "too little solder to wet both pads)")
    if j.max_diameter > g.pitch - MIN_GAP_TO_NEIGHBOUR:
        raise InputError(vkey, vval, f"a ball narrower than pitch - {MIN_GAP_TO_NEIGHBOUR} mm = "
                         f"{g.pitch - MIN_GAP_TO_NEIGHBOUR:.3f} mm (design {design.name}: reflowed width "
                         f"{j.max_diameter:.4f} mm would bridge to the neighbouring joint)")
    if g.pad_definition == "nsmd":
        ys = [0.0, g.solder_mask_thickness] + ([yc] if 0 < yc < g.solder_mask_thickness else [])
        wmax = max(j.rho(y) for y in ys)
        if wmax > g.solder_mask_opening / 2 - mesh_size:
            raise InputError(vkey, vval, f"a joint that clears the solder-mask opening (design {design.name}: "
                             f"solder radius {wmax:.4f} mm at the mask vs opening radius "
                             f"{g.solder_mask_opening / 2:.4f} mm)")
    return j
