"""Axisymmetric layer stacks of one joint as columns of rectangles in (r, depth).

The die-side stack is described in the depth ``d`` below the silicon face (d grows toward the board), the
board-side stack in the height ``y`` above the laminate surface.  Each stack is a list of ``Rect(label, r0,
r1, lo, hi)`` covering ``0 <= r < r_joint`` (the *joint columns*) plus the *far-field* layers ``(label, lo,
hi)`` that hold for ``r >= r_joint``.  The 2D slice mirrors the columns about each joint axis, the
axisymmetric model uses them as they are and the 3D model revolves them; so the three models share one
description of the pad design.

Conformal metal (the Cu wiring over an embossed relief, the Cu lining a recess) is the region between the
dielectric surface ``f(r)`` and its offset ``f'(r) = max_{|s-r|<=t} f(s) + t`` (a square structuring element:
the Cu has thickness t on the flats and t on the side walls, corners are square, not rounded).

Intermetallic (geometry.imc = true): a Cu6Sn5 layer of thickness t_imc on every face where the solder wets
metal -- the Cu lining the opening and its relief, a UBM's face and side wall, the board pad's face (and side
wall, NSMD) -- as the Chebyshev offset of the metal surface into the solder, never on a polymer wall or the
solder mask. It is carved out of the solder (solder + IMC keep the joint's solder volume: the IMC grows by
consuming Sn and Cu, and the Cu consumed is not removed), given as *zones* (``imc``: rectangles that only split
the solder, see build.py); the damage layers start at the IMC/solder face (``damage_boundary``).

Simplifications (stated once): the dielectric that covers the Cu (PI2 in flat/recessed, PI3 in embossed) has a
planar outer surface; the RDL trace leaving the pad and the via to the chip pad are not modelled; the flat
design's UBM fills the PI2 opening (planar UBM surface); build-up layers run to the die edge.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from fem_wlp.errors import InputError

INF = float("inf")


@dataclass(frozen=True)
class Rect:
    label: str
    r0: float
    r1: float
    lo: float
    hi: float


@dataclass
class Profile:
    """Piecewise-constant function of r >= 0: value vals[i] on [brk[i], brk[i+1]) with brk[0] = 0."""
    brk: list[float]
    vals: list[float]

    def __call__(self, r: float) -> float:
        i = 0
        for j, b in enumerate(self.brk):
            if r >= b:
                i = j
        return self.vals[i]

    def offset(self, t: float, sign: float = 1.0) -> "Profile":
        """max_{|s-r|<=t} f(|s|) + t (sign=+1) -- the Chebyshev offset toward larger values."""
        cand = sorted({0.0} | {max(0.0, b + e) for b in self.brk[1:] for e in (-t, t)})
        vals = []
        for i, r0 in enumerate(cand):
            r1 = cand[i + 1] if i + 1 < len(cand) else r0 + 10 * t + 1.0
            rm = 0.5 * (r0 + r1)
            lo, hi = max(0.0, rm - t), rm + t
            pts = [lo, hi] + [b for b in self.brk if lo < b < hi]
            vals.append(max(self(p) for p in pts) + t)
        return Profile(cand, vals).merged()

    def merged(self) -> "Profile":
        brk, vals = [self.brk[0]], [self.vals[0]]
        for b, v in zip(self.brk[1:], self.vals[1:]):
            if abs(v - vals[-1]) > 1e-12:
                brk.append(b)
                vals.append(v)
        return Profile(brk, vals)


@dataclass
class DieStack:
    rects: list[Rect]                  # joint columns, r < r_joint, depth coordinates
    far: list[tuple[str, float, float]]  # far-field layers (label, d0, d1)
    base: float                        # depth of the base plane (outer surface of the build-up)
    contact_radius: float              # radius of the solder contact line on the base plane
    solder_boundary: Profile           # depth of the solder's die-side boundary (base for r >= contact)
    ring: tuple[float, float] | None = None   # embossed ring (r_in, r_out)
    ring_depths: tuple[float, float] | None = None
    notes: dict = field(default_factory=dict)
    imc: list[Rect] = field(default_factory=list)   # IMC zone rectangles (depth coordinates), [] without IMC
    damage_boundary: Profile | None = None        # the IMC/solder face; None: the solder boundary (no IMC)

    @property
    def layer_boundary(self) -> Profile:
        """The boundary the damage layers start from: the IMC/solder face, else the solder's boundary."""
        return self.damage_boundary or self.solder_boundary


@dataclass
class BoardStack:
    rects: list[Rect]                  # joint columns, y above the laminate
    voids: list[Rect]                  # air around the pad inside the mask opening (carves the far field)
    far: list[tuple[str, float, float]]
    base: float                        # height of the board-side base plane
    contact_radius: float
    solder_boundary: Profile           # height of the solder's board-side boundary
    imc: list[Rect] = field(default_factory=list)
    damage_boundary: Profile | None = None

    @property
    def layer_boundary(self) -> Profile:
        return self.damage_boundary or self.solder_boundary


def _columns(points, r_max=None):
    pts = sorted({p for p in points if p >= 0 and p != INF and (r_max is None or p <= r_max)} | {0.0})
    return [(a, b) for a, b in zip(pts, pts[1:]) if b - a > 1e-12]


def _die_surface(g, d, ring_present: bool):
    """Per pad kind: the dielectric surface under the Cu f(r), the solder hole radius, the depth of the solder
    base, the covering layer, whether a UBM is built, and the PI2 ring (radii, depths) or None."""
    tp, t1, t2, tcu = g.passivation_thickness, g.pi1_thickness, g.pi2_thickness, g.cu_thickness
    dA = tp + t1
    ring = ring_depths = None
    if d.kind == "flat":
        f = Profile([0.0], [dA])
        Rhole = d.pi2_opening / 2
        base = dA + tcu + t2
        cover = "pi2"
        ubm = d.ubm_thickness > 0
    elif d.kind == "embossed":
        dB = dA + t2
        ri, ro, rc = d.ring_inner_diameter / 2, d.ring_outer_diameter / 2, d.concave_diameter / 2
        d0 = tp if d.pi1_open_in_ring else dA
        if ring_present:
            f = Profile([0.0, ri, ro, rc], [d0, dB, dA, dB]).merged()
        else:
            f = Profile([0.0, ri, rc], [d0, dA, dB]).merged()
        Rhole = d.connection_hole_diameter / 2
        base = dB + tcu + g.pi3_thickness
        cover = "pi3"
        ubm = False
        ring, ring_depths = ((ri, ro), (dA, dB)) if ring_present else (None, None)
    else:  # recessed
        dr = dA - d.recess_depth
        f = Profile([0.0, d.land_diameter / 2], [dr, dA])
        Rhole = d.third_opening_diameter / 2
        base = dA + tcu + t2
        cover = "pi2"
        ubm = False
    return f, Rhole, base, cover, ubm, ring, ring_depths


def die_stack(geometry, design, ring: bool = True) -> DieStack:
    """Die-side columns of one joint. ``ring=False`` (embossed only) gives the stack inside a gap of a
    discontinuous ring: no PI2 between the inner and outer ring radii."""
    g, d = geometry, design
    tp, tcu = g.passivation_thickness, g.cu_thickness
    Rpad = d.pad_diameter / 2
    dA = tp + g.pi1_thickness
    f, Rhole, base, cover, ubm, ring, ring_depths = _die_surface(g, d, ring)
    fc = f.offset(tcu)   # Cu outer surface (toward the solder)

    def dielectric(r):
        """(label, d0, d1) of the dielectric layers above the surface f(r)."""
        out = [("passivation", 0.0, tp)]
        fr = f(r)
        if fr > tp:
            out.append(("pi1", tp, min(fr, dA)))
        if fr > dA + 1e-15:
            lab = "pi2"
            if ring and ring[0] <= r < ring[1]:
                lab = "pi2/ring"
            out.append((lab, dA, fr))
        return out

    def column(r):
        out = dielectric(r)
        fr = f(r)
        if r < Rpad:
            out.append(("cu_wiring", fr, fc(r)))
            surf = fc(r)
        else:
            surf = fr
        if r < Rhole:
            out.append(("ubm" if ubm else "solder", surf, base))
        else:
            out.append((cover, surf, base))
        if ubm and r < d.ubm_diameter / 2:
            out.append(("ubm", base, base + d.ubm_thickness))
        return [(lab, a, b) for lab, a, b in out if b - a > 1e-12]

    pts = list(f.brk) + list(fc.brk) + [Rpad, Rhole] + ([d.ubm_diameter / 2] if ubm else [])
    cols = _columns(pts)
    r_joint = cols[-1][1]
    rects = [Rect(lab, a, b, lo, hi) for a, b in cols for lab, lo, hi in column(0.5 * (a + b))]
    far = column(r_joint + 1.0)
    # solder die-side boundary (depth of the first solder point, per r)
    if ubm:
        a = d.ubm_diameter / 2
        sb = Profile([0.0, a], [base + d.ubm_thickness, base])
    else:
        a = Rhole
        brk = [b for b in fc.brk if b < Rhole]
        sb = Profile(brk + [Rhole], [fc(b) for b in brk] + [base]).merged()
    st = DieStack(rects, far, base, a, sb, ring, ring_depths,
                  notes={"pad_radius": Rpad, "hole_radius": Rhole, "cu_profile": fc, "dielectric_profile": f})
    t = imc_thickness(g)
    if t > 0:
        st.imc, st.damage_boundary = (_ubm_imc(base, d.ubm_thickness, a, t) if ubm
                                      else _lining_imc(fc, Rhole, base, t))
    return st


def imc_thickness(geometry) -> float:
    """The IMC thickness of the geometry (0 without IMC)."""
    return geometry.imc_thickness if getattr(geometry, "imc", False) else 0.0


def _lining_imc(fc: Profile, r_hole: float, base: float, t: float):
    """IMC on the Cu surface fc inside the opening r < r_hole (faces and relief walls; not the polymer wall of
    the opening): zone rectangles between fc and its offset fi, and the damage boundary (fi inside, the mouth
    plane outside)."""
    fi = fc.offset(t)
    cols = _columns(list(fc.brk) + list(fi.brk) + [r_hole], r_hole)
    zones = [Rect("imc", a, b, fc(0.5 * (a + b)), fi(0.5 * (a + b))) for a, b in cols]
    if any(z.hi >= base - 1e-12 for z in zones):
        raise InputError("geometry.imc_thickness", t, f"an IMC thinner than the solder fill of the opening "
                         f"(its face would reach the mouth of the opening, {base - max(z.lo for z in zones):.4g} "
                         "mm above it)")
    brk = [b for b in fi.brk if b < r_hole]
    return zones, Profile(brk + [r_hole], [fi(b) for b in brk] + [base]).merged()


def _ubm_imc(base: float, tu: float, a: float, t: float):
    """IMC on a UBM's face and side wall (the solder wets both): zones and the damage boundary."""
    return ([Rect("imc", 0.0, a + t, base + tu, base + tu + t), Rect("imc", a, a + t, base, base + tu)],
            Profile([0.0, a + t], [base + tu + t, base]))


def board_stack(geometry) -> BoardStack:
    g = geometry
    tb, tsm = g.board_pad_thickness, g.solder_mask_thickness
    Rbp, Rmo = g.board_pad_diameter / 2, g.solder_mask_opening / 2
    if g.pad_definition == "nsmd":
        rects = [Rect("board_pad", 0.0, Rbp, 0.0, tb)]
        voids = [Rect("void", Rbp, Rmo, 0.0, tsm)]
        far = [("solder_mask", 0.0, tsm)]
        base, a = 0.0, Rbp
        sb = Profile([0.0, Rbp], [tb, 0.0])
    else:
        top = tb + tsm
        rects = [Rect("board_pad", 0.0, Rbp, 0.0, tb), Rect("solder", 0.0, Rmo, tb, top),
                 Rect("solder_mask", Rmo, Rbp, tb, top)]
        voids = []
        far = [("solder_mask", 0.0, top)]
        base, a = top, Rmo
        sb = Profile([0.0, Rmo], [tb, top])
    st = BoardStack(rects, voids, far, base, a, sb)
    t = imc_thickness(g)
    if t > 0:                  # heights grow into the solder here: zones (label, r0, r1, y_lo, y_hi)
        if g.pad_definition == "nsmd":
            st.imc = [Rect("imc", 0.0, Rbp + t, tb, tb + t), Rect("imc", Rbp, Rbp + t, 0.0, tb)]
            st.damage_boundary = Profile([0.0, Rbp + t], [tb + t, 0.0])
        else:
            st.imc = [Rect("imc", 0.0, Rmo, tb, tb + t)]
            st.damage_boundary = Profile([0.0, Rmo], [tb + t, base])
    return st
