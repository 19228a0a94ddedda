"""Geometry of a WLCSP on a board, its ball-pad designs and the mesh sizes: frozen, validated dataclasses.

Three study-file tables map onto three classes (all lengths in mm, angles in degrees):

* ``[geometry]``  -> :class:`Geometry`   package, build-up layers, board, board pad, solder amount.
* ``[[designs]]`` -> :class:`Design`     one ball-pad design: ``kind`` = ``flat`` | ``embossed`` | ``recessed``.
* ``[mesh]``      -> :class:`MeshSizes`  a few element sizes and the element order.

Every constructor validates its table and raises :class:`fem_wlp.errors.InputError` naming the study key
(``geometry.pi1_thickness``, ``designs.embossed.ring_outer_diameter``, ``mesh.size_fine``) and the
constraint broken.  :func:`check_combination` validates what needs all three together (layers vs mesh size, pad vs pitch) and
is called by the mesh builder BEFORE any gmsh call; the solder amount is checked by
:func:`fem_wlp.wlcsp.geometry.solder.solve_joint` (the builder and ``fem_wlp.study.preflight`` call both).

The designs (see the patents in shared/patents):

* ``flat`` (baseline): passivation, PI1, Cu RDL capture pad, PI2 with the ball-pad opening, and
  ``pad_edge = "polymer"`` (the default: no UBM, the ball wets the Cu through the PI2 opening, whose edge is
  the contact line, like the embossed and recessed pads) or ``"metal"`` (a UBM; its edge is the contact line).
* ``embossed`` (patent 000): PI2 under the pad is removed inside a concave circle (PI1 exposed) except for a
  convex PI2 ring (claims 2-3); optional discontinuous ring (claims 4/15, 3D model only); ``area_rule``
  makes the disc inside the ring equal in area to the ring (claims 5/16); ``pi1_open_in_ring`` opens PI1
  inside the ring down to the passivation (claims 8/9).  Cu wiring runs conformally over the relief, a
  third dielectric (pi3) covers it with a connection hole over the embossed portion (claim 6).
* ``recessed`` (patent 004): a second opening in PI1 (``land_diameter``, ``recess_depth`` <= PI1 thickness)
  sinks the ball land; the Cu lines its bottom and side walls; PI2 has the third opening
  (``third_opening_diameter``) and the ball fills the recess and touches the side walls of the third
  opening (claims 1, 12, 17, 18).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from fem_wlp.errors import InputError
from fem_wlp.wlcsp.regions import MODEL_KINDS

KINDS = ("flat", "embossed", "recessed")
MODELS = tuple(MODEL_KINDS)
#: no length of a package model exceeds this (mm): larger values are unit slips
MAX_LENGTH = 1000.0
#: no positive length is smaller (mm): 0.1 um, far below any layer of a package
MIN_LENGTH = 1e-4
#: the smallest element size (mm): finer meshes of a joint have millions of elements
MIN_MESH_SIZE = 5e-4
#: rows of the N x N joint array
MAX_ARRAY_SIZE = 100
#: characters of a design name (it becomes a folder name)
MAX_NAME = 64
#: a layer thinner than (element size) / MAX_LAYER_ASPECT cannot be meshed with acceptable elements
MAX_LAYER_ASPECT = 16.0


def _num(key, value, positive=True, nonneg=False, integer=False, hi=MAX_LENGTH, lo=MIN_LENGTH):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(key, value, "a number")
    if not math.isfinite(value):
        raise InputError(key, value, "a finite number")
    if value > hi:
        raise InputError(key, value, f"<= {hi:g}")
    if integer and int(value) != value:
        raise InputError(key, value, "an integer")
    if positive and value <= 0:
        raise InputError(key, value, "> 0")
    if positive and value < lo:
        raise InputError(key, value, f">= {lo:g}")
    if nonneg and value < 0:
        raise InputError(key, value, ">= 0")
    return int(value) if integer else float(value)


def _check_keys(prefix, table, allowed):
    if not isinstance(table, dict):
        raise InputError(prefix, table, "a table")
    for k in table:
        if k not in allowed:
            raise InputError(f"{prefix}.{k}", table[k], "one of: " + ", ".join(sorted(allowed)))


def _fail(key, value, constraint):
    raise InputError(key, value, constraint)


# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Geometry:
    """Package, build-up, board and solder amount (the ``[geometry]`` table). Defaults: 0.4 mm-pitch WLCSP
    on a 1.0 mm FR-4 board; sources from shared/reference/domain.md §4 are given next to each default."""
    pitch: float = 0.4                     # [S19] Amkor/Deca 0.4 mm rules
    array_size: int = 8                    # N x N full array; 8x8 at 0.4 mm on 3.5 mm die: textbook, unsourced
    die_size: float = 3.5                  # square die edge; issue 3 "about 3.5 mm" (NXP WLCSP80 3.56 x 4.13 [S21])
    die_thickness: float = 0.356           # [S26] 356 um test leg
    passivation_thickness: float = 0.001   # SiN/SiO2 passivation: textbook, unsourced (NOT FOUND in domain.md)
    pi1_thickness: float = 0.008           # NOT FOUND; textbook 5-10 um per PI layer (unsourced)
    pi2_thickness: float = 0.008           # NOT FOUND; textbook 5-10 um (unsourced)
    pi3_thickness: float = 0.008           # embossed design's third dielectric: NOT FOUND; textbook (unsourced)
    cu_thickness: float = 0.005            # RDL Cu: NOT FOUND; textbook 3-8 um (unsourced)
    board_thickness: float = 1.0           # 1.0 mm FR-4: issue 3 / domain.md §3 (textbook, unsourced)
    board_pad_diameter: float = 0.2        # [S20] ADI: PCB pad 200 um at 0.4 mm pitch
    board_pad_thickness: float = 0.025     # PCB Cu pad: textbook 18-35 um (unsourced)
    solder_mask_opening: float = 0.3       # [S20] mask opening = pad + 100 um (NSMD)
    solder_mask_thickness: float = 0.02    # [S5] 19-20 um (FCBGA substrate default)
    pad_definition: str = "nsmd"           # [S20] NSMD preferred; "smd": mask overlaps the pad edge
    ball_diameter: float = 0.25            # as-placed ball: textbook, unsourced (gives ~0.26 mm reflowed width,
                                           # cf. Amkor >= 261 um [S19])
    solder_volume: float = 0.0             # mm^3; 0 -> volume of the as-placed ball_diameter sphere
    interface_layer_thickness: float = 0.025  # [S5] 25 um die/board-side averaging layers
    board_extension: float = 1.0           # slice2d, package3d: board length beyond the die edge (modelling choice)
    imc: bool = False                      # Cu6Sn5 layer on every solder/metal face (issue 14; off: as before)
    imc_thickness: float = 0.003           # NOT FOUND in domain.md; 3 um as-reflowed Cu6Sn5 (textbook 1-5 um,
                                           # unsourced)

    _POSITIVE = ("pitch", "die_size", "die_thickness", "passivation_thickness", "pi1_thickness",
                 "pi2_thickness", "pi3_thickness", "cu_thickness", "board_thickness", "board_pad_diameter",
                 "board_pad_thickness", "solder_mask_opening", "solder_mask_thickness", "ball_diameter",
                 "interface_layer_thickness", "board_extension", "imc_thickness")

    def __post_init__(self):
        key = lambda k: f"geometry.{k}"
        for k in self._POSITIVE:
            object.__setattr__(self, k, _num(key(k), getattr(self, k)))
        object.__setattr__(self, "solder_volume", _num(key("solder_volume"), self.solder_volume,
                                                       positive=False, nonneg=True))
        object.__setattr__(self, "array_size", _num(key("array_size"), self.array_size, integer=True,
                                                    hi=MAX_ARRAY_SIZE, lo=1))
        if self.array_size < 1:
            _fail(key("array_size"), self.array_size, ">= 1")
        if not isinstance(self.imc, bool):
            _fail(key("imc"), self.imc, "true or false")
        if self.imc:
            lim = min(("cu_thickness", self.cu_thickness), ("board_pad_thickness", self.board_pad_thickness),
                      ("interface_layer_thickness", self.interface_layer_thickness), key=lambda kv: kv[1])
            if self.imc_thickness >= lim[1]:
                _fail(key("imc_thickness"), self.imc_thickness,
                      f"< geometry.{lim[0]} = {lim[1]} (an IMC thinner than the pad layers and the damage layer)")
        if self.pad_definition not in ("nsmd", "smd"):
            _fail(key("pad_definition"), self.pad_definition, "'nsmd' or 'smd'")
        if self.board_pad_diameter >= self.pitch:
            _fail(key("board_pad_diameter"), self.board_pad_diameter, f"< geometry.pitch = {self.pitch}")
        if self.solder_mask_opening >= self.pitch:
            _fail(key("solder_mask_opening"), self.solder_mask_opening,
                  f"< geometry.pitch = {self.pitch} (mask between neighbouring pads)")
        if self.pad_definition == "nsmd" and self.solder_mask_opening <= self.board_pad_diameter:
            _fail(key("solder_mask_opening"), self.solder_mask_opening,
                  f"> geometry.board_pad_diameter = {self.board_pad_diameter} for a non-solder-mask-defined pad")
        if self.pad_definition == "smd" and self.solder_mask_opening >= self.board_pad_diameter:
            _fail(key("solder_mask_opening"), self.solder_mask_opening,
                  f"< geometry.board_pad_diameter = {self.board_pad_diameter} for a solder-mask-defined pad "
                  "(an opening larger than the pad)")
        span = (self.array_size - 1) * self.pitch + self.pitch / 2
        if span >= self.die_size:
            _fail(key("array_size"), self.array_size,
                  f"(array_size - 1) * pitch + pitch/2 < die_size = {self.die_size} (array must fit on the die)")

    # ---------------------------------------------------------------- derived
    @property
    def solder_volume_requested(self) -> float:
        return self.solder_volume if self.solder_volume > 0 else math.pi * self.ball_diameter ** 3 / 6

    def joint_offsets(self) -> list[float]:
        """In-plane offsets p >= 0 of the array rows from the package centre (p = 0 only for odd N)."""
        n = self.array_size
        return [(i - (n - 1) / 2) * self.pitch for i in range(n) if (i - (n - 1) / 2) >= -1e-12]

    def diagonal_dnp(self) -> list[float]:
        """Distances from the neutral point of the joints on the package half-diagonal, nearest first."""
        return [math.sqrt(2.0) * p for p in self.joint_offsets()]

    @property
    def corner_dnp(self) -> float:
        return self.diagonal_dnp()[-1]

    @classmethod
    def from_dict(cls, table: dict | None) -> "Geometry":
        table = dict(table or {})
        allowed = {f.name for f in fields(cls) if not f.name.startswith("_")}
        _check_keys("geometry", table, allowed)
        return cls(**table)


# --------------------------------------------------------------------------------------------------
_COMMON = ("name", "kind", "pad_diameter")
KIND_KEYS = {
    "flat": _COMMON + ("pad_edge", "pi2_opening", "ubm_diameter", "ubm_thickness"),
    "embossed": _COMMON + ("concave_diameter", "ring_outer_diameter", "ring_inner_diameter", "area_rule",
                           "ring_segments", "ring_gap_angle", "pi1_open_in_ring", "connection_hole_diameter"),
    "recessed": _COMMON + ("land_diameter", "recess_depth", "third_opening_diameter"),
}


#: the parameter of a (non-flat) kind that sets the die-side wetted diameter (flat: Design.wetted_key)
WETTED_KEYS = {"embossed": "connection_hole_diameter", "recessed": "third_opening_diameter"}


@dataclass(frozen=True)
class Design:
    """One ball-pad design (one ``[[designs]]`` table). Only the keys of its ``kind`` are accepted."""
    name: str = "flat"
    kind: str = "flat"
    pad_diameter: float = 0.235            # RDL Cu capture pad: [S19] Deca >= 235 um; Amkor RDL encloses UBM by 10 um
    # flat
    pad_edge: str = "polymer"              # "polymer" (no UBM: the ball wets the Cu through the PI2 opening,
                                           # like the embossed and recessed pads) | "metal" (a UBM; given
                                           # ubm_diameter/ubm_thickness > 0 alone also select it)
    pi2_opening: float = 0.2               # polymer: the wetted diameter, chosen = the embossed/recessed openings
                                           # (equal conditions); metal: the via under the UBM ([S19] Amkor
                                           # polymer-2 via >= 170 um at 0.4 mm)
    ubm_diameter: float = 0.215            # [S19] Amkor UBM >= 215 um at 0.4 mm
    ubm_thickness: float = 0.008           # plated Cu UBM: textbook 5-10 um (unsourced); 0 = no UBM
    # embossed (patent 000): the patent gives no dimensions -> all NOT FOUND, chosen to fit the 0.235 pad; the
    # features follow the claims: a concave circle in PI2 (claim 2) holding a convex PI2 ring of smaller
    # diameter (claim 3), Cu wiring over the relief and a third dielectric with a connection hole over the
    # embossed portion through which the ball wets the Cu (claim 6)
    concave_diameter: float = 0.19         # claim 2 concave circle: NOT FOUND (chosen; < the connection hole, so
                                           # the whole relief lies inside the wetted area)
    ring_outer_diameter: float = 0.13      # claim 3 ring, smaller than the concave circle: NOT FOUND (chosen)
    ring_inner_diameter: float = 0.09      # NOT FOUND (chosen; area rule would give 0.0919)
    area_rule: bool = False                # claims 5/16 (available): disc inside the ring has the ring's area
    ring_segments: int = 0                 # 0 = continuous ring; N >= 2 segments (claims 4/15; joint3d only)
    ring_gap_angle: float = 20.0           # degrees per gap between segments: NOT FOUND (chosen)
    pi1_open_in_ring: bool = False         # claims 8/9 (available): PI1 (and PI2) open inside the ring
    connection_hole_diameter: float = 0.2  # claim 6 connection hole in pi3 = the wetted diameter: NOT FOUND
                                           # (chosen; [study] match sets it to the baseline's wetted diameter)
    # recessed (patent 004): the patent gives no dimensions -> NOT FOUND, chosen; the features follow the claims:
    # a second opening in PI1 sinks the ball land (claims 1/12/20), the Cu lines it, PI2 has the third opening,
    # wider than the second (claims 17/24), and the ball touches the side walls of the third opening (claims
    # 12/20: the contact line is pinned at the third opening's edge, the solder fills recess and opening).
    # Claims 3/18/25 prefer the third (18) or second (25) opening about as wide as the ball (~0.26 mm): that
    # needs a pad wider than the ball and conflicts with an equal wetted diameter, so it is its own design
    # variant (studies/recessed_ball_width.toml, with a flat baseline of the same wetted diameter).
    land_diameter: float = 0.17            # second opening in PI1 (the sunken land): NOT FOUND (chosen = PI2 via)
    recess_depth: float = 0.006            # <= PI1 thickness: NOT FOUND (chosen)
    third_opening_diameter: float = 0.2    # PI2 third opening > land (claims 17/24) = the wetted diameter: NOT
                                           # FOUND (chosen; [study] match sets it to the baseline's wetted diameter)

    def __post_init__(self):
        k = lambda name: f"designs.{self.name}.{name}"
        if (not isinstance(self.name, str) or not self.name or len(self.name) > MAX_NAME
                or any(c in self.name for c in "/\\ .\t")):
            raise InputError("designs.name", self.name,
                             f"a non-empty name of at most {MAX_NAME} characters without '/', '.', or spaces")
        if self.kind not in KINDS:
            _fail(k("kind"), self.kind, " | ".join(KINDS))
        if not isinstance(self.pad_edge, str):
            _fail(k("pad_edge"), self.pad_edge, "'metal' or 'polymer'")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("float",) or isinstance(f.default, float):
                nonneg = f.name == "ubm_thickness"
                object.__setattr__(self, f.name, _num(k(f.name), v, positive=not nonneg, nonneg=nonneg))
        for b in ("area_rule", "pi1_open_in_ring"):
            if not isinstance(getattr(self, b), bool):
                _fail(k(b), getattr(self, b), "true or false")
        object.__setattr__(self, "ring_segments", _num(k("ring_segments"), self.ring_segments, positive=False,
                                                       nonneg=True, integer=True))
        if self.kind == "flat":
            if self.pad_edge not in ("metal", "polymer"):
                _fail(k("pad_edge"), self.pad_edge, "'metal' (UBM) or 'polymer' (no UBM)")
            if self.pad_edge == "metal" and self.ubm_thickness == 0:
                _fail(k("ubm_thickness"), 0.0, "> 0 for pad_edge = 'metal' (a metal-defined pad has a UBM)")
            if self.pad_edge == "polymer":
                object.__setattr__(self, "ubm_thickness", 0.0)
            if self.pi2_opening >= self.pad_diameter:
                _fail(k("pi2_opening"), self.pi2_opening, f"< pad_diameter = {self.pad_diameter} "
                      "(an opening larger than the pad)")
            if self.ubm_thickness > 0:
                if self.ubm_diameter < self.pi2_opening:
                    _fail(k("ubm_diameter"), self.ubm_diameter, f">= pi2_opening = {self.pi2_opening} "
                          "(the UBM covers the PI2 opening)")
                if self.ubm_diameter > self.pad_diameter:
                    _fail(k("ubm_diameter"), self.ubm_diameter, f"<= pad_diameter = {self.pad_diameter}")
        elif self.kind == "embossed":
            object.__setattr__(self, "pad_edge", "polymer")
            ri, ro, dc = self.ring_inner_diameter, self.ring_outer_diameter, self.concave_diameter
            if ri >= ro:
                _fail(k("ring_inner_diameter"), ri, f"< ring_outer_diameter = {ro}")
            if ro >= dc:
                _fail(k("ring_outer_diameter"), ro, f"< concave_diameter = {dc} (the ring lies inside its "
                      "concave circle, claim 3)")
            if dc >= self.pad_diameter:
                _fail(k("concave_diameter"), dc, f"< pad_diameter = {self.pad_diameter}")
            if self.connection_hole_diameter > self.pad_diameter:
                _fail(k("connection_hole_diameter"), self.connection_hole_diameter,
                      f"<= pad_diameter = {self.pad_diameter} (an opening larger than the pad)")
            if self.ring_segments == 1:
                _fail(k("ring_segments"), 1, "0 (continuous ring) or >= 2")
            if self.ring_segments >= 2:
                if not 0 < self.ring_gap_angle * self.ring_segments < 360:
                    _fail(k("ring_gap_angle"), self.ring_gap_angle,
                          f"> 0 and ring_segments * ring_gap_angle < 360 (ring_segments = {self.ring_segments})")
        elif self.kind == "recessed":
            object.__setattr__(self, "pad_edge", "polymer")
            if self.land_diameter >= self.pad_diameter:
                _fail(k("land_diameter"), self.land_diameter, f"< pad_diameter = {self.pad_diameter}")
            if self.third_opening_diameter <= self.land_diameter:
                _fail(k("third_opening_diameter"), self.third_opening_diameter,
                      f"> land_diameter = {self.land_diameter} (the third opening is wider than the second, "
                      "claims 17/24: the ball fills the recess)")
            if self.third_opening_diameter > self.pad_diameter:
                _fail(k("third_opening_diameter"), self.third_opening_diameter,
                      f"<= pad_diameter = {self.pad_diameter} (an opening larger than the pad)")

    # ---------------------------------------------------------------- derived
    @property
    def wetted_key(self) -> str:
        """The parameter that sets the die-side wetted (solder-contact) diameter of this design."""
        if self.kind == "flat":
            return "ubm_diameter" if self.pad_edge == "metal" else "pi2_opening"
        return WETTED_KEYS[self.kind]

    @property
    def wetted_diameter(self) -> float:
        """Die-side wetted diameter: UBM (metal-defined flat), PI2 opening (polymer-defined flat), PI3
        connection hole (embossed), third opening (recessed)."""
        return getattr(self, self.wetted_key)

    @property
    def ring_fraction(self) -> float:
        """Fraction of the ring circumference that is PI2 (1 for a continuous ring)."""
        if self.ring_segments >= 2:
            return 1.0 - self.ring_segments * self.ring_gap_angle / 360.0
        return 1.0

    @classmethod
    def from_dict(cls, table: dict) -> "Design":
        if not isinstance(table, dict):
            raise InputError("designs", table, "a list of tables [[designs]]")
        name = table.get("name", table.get("kind", "?"))
        if not isinstance(name, str):
            raise InputError("designs.name", name, "a design name (a string)")
        kind = table.get("kind")
        if kind not in KINDS:
            raise InputError(f"designs.{name}.kind", kind, " | ".join(KINDS))
        _check_keys(f"designs.{name}", table, set(KIND_KEYS[kind]))
        t = dict(table)
        t.setdefault("name", kind)
        if kind == "flat" and "pad_edge" not in t and ("ubm_diameter" in t or t.get("ubm_thickness", 0) != 0):
            t["pad_edge"] = "metal"       # UBM keys without pad_edge: a metal-defined pad (as before pad_edge)
        if kind == "embossed" and t.get("area_rule", False):
            # claims 5/16: pi*ri^2 = f*pi*(ro^2 - ri^2)  ->  ro = ri*sqrt(1 + 1/f), f = PI2 fraction of the ring
            seg = _num(f"designs.{name}.ring_segments", t.get("ring_segments", 0), positive=False, nonneg=True,
                       integer=True)
            gap = _num(f"designs.{name}.ring_gap_angle", t.get("ring_gap_angle", cls.ring_gap_angle), hi=360.0)
            f = 1.0 - seg * gap / 360.0 if seg >= 2 else 1.0
            f = f if f > 0 else 1.0
            has_i, has_o = "ring_inner_diameter" in t, "ring_outer_diameter" in t
            if has_i and has_o:
                raise InputError(f"designs.{name}.ring_inner_diameter", t["ring_inner_diameter"],
                                 "not given together with ring_outer_diameter when area_rule = true "
                                 "(the rule derives one of them)")
            if has_i:
                t["ring_outer_diameter"] = _num(f"designs.{name}.ring_inner_diameter",
                                                t["ring_inner_diameter"]) * math.sqrt(1 + 1 / f)
            else:
                ro = _num(f"designs.{name}.ring_outer_diameter", t.get("ring_outer_diameter",
                                                                       cls.ring_outer_diameter))
                t["ring_outer_diameter"] = ro
                t["ring_inner_diameter"] = ro / math.sqrt(1 + 1 / f)
        return cls(**t)


# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeshSizes:
    """Element sizes (the ``[mesh]`` table). Fine in the solder and near it, ``size_layer`` across the thin
    build-up layers (2D models), growing to ``size_coarse`` over ``grading_distance`` in die and board."""
    size_fine: float = 0.004          # 2D models: solder and its neighbourhood
    size_fine_3d: float = 0.008       # joint3d: solder, pads and the thin layers of the cell
    size_layer: float = 0.003         # 2D models: maximum size inside the thin build-up layers
    size_coarse: float = 0.1          # die and board far from the joints
    grading_distance: float = 0.15    # distance over which the size grows from fine to coarse
    order: int = 1                    # 1: triangle/tetra, 2: triangle6/tetra10

    def __post_init__(self):
        for f in ("size_fine", "size_fine_3d", "size_layer", "size_coarse", "grading_distance"):
            object.__setattr__(self, f, _num(f"mesh.{f}", getattr(self, f), lo=MIN_MESH_SIZE))
        if self.order not in (1, 2) or isinstance(self.order, bool):
            _fail("mesh.order", self.order, "1 or 2")
        for f in ("size_fine", "size_fine_3d", "size_layer"):
            if getattr(self, f) > self.size_coarse:
                _fail(f"mesh.{f}", getattr(self, f), f"<= mesh.size_coarse = {self.size_coarse}")

    def fine(self, model: str) -> float:
        return self.size_fine_3d if model in ("joint3d", "package3d") else self.size_fine

    @classmethod
    def from_dict(cls, table: dict | None) -> "MeshSizes":
        table = dict(table or {})
        _check_keys("mesh", table, {f.name for f in fields(cls)})
        return cls(**table)


# --------------------------------------------------------------------------------------------------
def layer_thicknesses(geometry: Geometry, design: Design) -> dict[str, float]:
    """Study key -> thickness of every thin layer the design uses."""
    g = geometry
    out = {"geometry.passivation_thickness": g.passivation_thickness,
           "geometry.pi1_thickness": g.pi1_thickness, "geometry.pi2_thickness": g.pi2_thickness,
           "geometry.cu_thickness": g.cu_thickness, "geometry.board_pad_thickness": g.board_pad_thickness,
           "geometry.solder_mask_thickness": g.solder_mask_thickness}
    if design.kind == "embossed":
        out["geometry.pi3_thickness"] = g.pi3_thickness
    if g.imc:
        out["geometry.imc_thickness"] = g.imc_thickness
    if design.kind == "flat" and design.ubm_thickness > 0:
        out[f"designs.{design.name}.ubm_thickness"] = design.ubm_thickness
    if design.kind == "recessed":
        out[f"designs.{design.name}.recess_depth"] = design.recess_depth
    return out


def check_combination(geometry: Geometry, design: Design, mesh: MeshSizes, model: str) -> None:
    """Constraints that involve several tables; raises InputError before any meshing."""
    if model not in MODELS:
        raise InputError("model.kind", model, " | ".join(MODELS))
    g, d = geometry, design
    k = lambda name: f"designs.{d.name}.{name}"
    if g.imc and model == "joint3d" and d.kind == "embossed" and d.ring_segments >= 2:
        # the IMC zones of the ring sectors and of the gaps meet in slivers gmsh meshes with flat tetrahedra
        # (quality gamma 0.000 measured): not offered until the sectors carry their own end-wall IMC
        _fail("geometry.imc", True, f"false for a discontinuous ring in joint3d (designs.{d.name}.ring_segments "
              f"= {d.ring_segments}); the 2D models and a continuous ring take an IMC")
    if g.imc and model == "package3d":
        # measured (2x2 array): the coarse global joints (model.joint_size) mesh the 3 um IMC zones into
        # zero-volume tetrahedra (quality gamma 0.0, 7 elements), and the global model fails at its first
        # increment with a NaN residual, in every design; not offered until those zones are meshed as layers
        _fail("geometry.imc", True, "false for model.kind = 'package3d' (its coarse global joints mesh the IMC "
              "into zero-volume tetrahedra); slice2d, axisym and joint3d take an IMC")
    if d.pad_diameter >= g.pitch:
        _fail(k("pad_diameter"), d.pad_diameter, f"< geometry.pitch = {g.pitch}")
    if model == "package3d":
        check_package_array(g)
    tcu = g.cu_thickness
    if d.kind == "embossed":
        if d.ring_inner_diameter / 2 <= tcu:
            _fail(k("ring_inner_diameter"), d.ring_inner_diameter,
                  f"> 2 * geometry.cu_thickness = {2 * tcu} (Cu must line the disc inside the ring)")
        if (d.concave_diameter - d.ring_outer_diameter) / 2 <= 2 * tcu:
            _fail(k("concave_diameter"), d.concave_diameter,
                  f"> ring_outer_diameter + 4 * geometry.cu_thickness = {d.ring_outer_diameter + 4 * tcu} "
                  "(the trench between ring and concave edge must hold the conformal Cu on both walls)")
        if d.pad_diameter / 2 - d.concave_diameter / 2 <= tcu:
            _fail(k("pad_diameter"), d.pad_diameter, "> concave_diameter + 2 * cu_thickness")
        if d.ring_segments >= 2:
            r_mid = (d.ring_inner_diameter + d.ring_outer_diameter) / 4
            gap_arc = math.radians(d.ring_gap_angle) * r_mid
            if gap_arc <= 2 * tcu:
                _fail(k("ring_gap_angle"), d.ring_gap_angle,
                      f"gaps wider than 2 * cu_thickness at mid-ring radius (arc {gap_arc:.4f} mm)")
    if d.kind == "recessed":
        if d.recess_depth > g.pi1_thickness:
            _fail(k("recess_depth"), d.recess_depth, f"<= geometry.pi1_thickness = {g.pi1_thickness} "
                  "(the recess is an opening in PI1)")
        if d.land_diameter / 2 <= tcu:
            _fail(k("land_diameter"), d.land_diameter, "> 2 * geometry.cu_thickness")
        if (d.pad_diameter - d.land_diameter) / 2 <= tcu:
            _fail(k("land_diameter"), d.land_diameter,
                  f"< pad_diameter - 2 * geometry.cu_thickness = {d.pad_diameter - 2 * tcu} "
                  "(the Cu lines the recess walls and laps onto PI1)")
    # thin layers vs mesh size
    h = mesh.fine(model)
    size_key = "mesh.size_fine_3d" if model == "joint3d" else "mesh.size_fine"
    for key, t in layer_thicknesses(g, d).items():
        if t < h / MAX_LAYER_ASPECT:
            raise InputError(key, t, f">= {size_key} / {MAX_LAYER_ASPECT:g} = {h / MAX_LAYER_ASPECT:g} "
                             f"(thinner layers cannot be resolved by the mesh; refine {size_key})")
    if d.kind == "embossed":
        # the PI2 ring and the trench between ring and concave edge (inside the conformal Cu) must hold an
        # element across: a coarser mesh leaves degenerate elements there
        widths = {"the PI2 ring width": (d.ring_outer_diameter - d.ring_inner_diameter) / 2,
                  "the trench between ring and concave edge": (d.concave_diameter - d.ring_outer_diameter) / 2
                  - 2 * tcu}
        what, w = min(widths.items(), key=lambda kv: kv[1])
        if w < h:
            raise InputError(size_key, h, f"<= {w:.4g} mm, {what} of design {d.name} (at least one element "
                             "across it)")
    if g.interface_layer_thickness < h:
        _fail("geometry.interface_layer_thickness", g.interface_layer_thickness,
              f">= {size_key} = {h} (at least one element across the solder interface layer)")


def check_package_array(g: Geometry) -> None:
    """package3d (a quarter of the array, every joint in its pitch cell): an even array whose pitch cells lie on
    the die."""
    n = g.array_size
    if n % 2:
        _fail("geometry.array_size", n, "an even number for model.kind = package3d (the quarter model's symmetry "
              "planes run between the joint rows)")
    if n * g.pitch > g.die_size + 1e-12:
        _fail("geometry.array_size", n, f"array_size * pitch <= die_size = {g.die_size} for model.kind = "
              "package3d (every joint's pitch cell -- the submodel cell -- must lie on the die)")


#: the widest a joint may be (solder.MIN_GAP_TO_NEIGHBOUR: a narrower gap to the neighbour counts as bridging), as
#: a clearance for the submodel's cut planes: pitch - WIDEST_JOINT_GAP
WIDEST_JOINT_GAP = 0.05
#: the largest submodel margin, in pitches (a 5 x 5 cell window)
MAX_SUBMODEL_CELLS = 2


def check_submodel_margin(g: Geometry, margin: float, key: str = "model.submodel_margin") -> None:
    """package3d: the submodel's cut planes, at pitch/2 + margin from the critical joint's axis, run between the
    joint rows -- clear of every neighbouring joint, which may be as wide as pitch - WIDEST_JOINT_GAP -- so
    margin lies within (WIDEST_JOINT_GAP / 2) of a multiple n * pitch, n = 0..MAX_SUBMODEL_CELLS."""
    tol = WIDEST_JOINT_GAP / 2
    n = round(margin / g.pitch)
    if margin < 0 or n > MAX_SUBMODEL_CELLS or abs(margin - n * g.pitch) > tol + 1e-12:
        _fail(key, margin, f"0, or n * pitch (n = 1..{MAX_SUBMODEL_CELLS}, pitch {g.pitch} mm) within ±{tol:g} "
              f"mm: a cut plane at pitch/2 + margin = {g.pitch / 2 + margin:g} mm from the joint axis would cut a "
              "neighbouring joint (joints may be pitch - 0.05 mm wide)")


#: the regions of one joint in the 2D slice that belong to its joint row (model.slice_width = "equivalent"): the
#: parts the geometry builder creates per joint, inside the joint's footprint (the `/joint<k>` leaves): solder,
#: intermetallic, the RDL capture pad (no trace is modelled), UBM, board pad and the embossed design's PI2 ring
#: under the pad. The die, passivation, PI1, the PI2/PI3 field (with the openings), the solder mask and the
#: board are continuous layers over the whole array and keep unit width.
JOINT_ROW_REGIONS = ("solder", "imc", "cu_wiring", "ubm", "board_pad", "pi2/ring")


def equivalent_joint_width(pitch: float, R: float, yc: float, y_bottom: float, y_top: float) -> float:
    """Out-of-plane width w of a joint row of the diagonal slice (slice2d) that gives the slice the horizontal
    shear stiffness of the real ball array per package area (dimensionless: relative to the slice's unit depth).

    Derivation (ours: no published formula was found, domain.md only names the slice's defects; the idea is the
    equivalent-thickness practice of 2D strip models). The slice runs along the diagonal of an N x N array of
    pitch p: its joints are s = p sqrt(2) apart, and each represents one joint per p^2 of package area (the
    diagonal rows are p / sqrt(2) apart). The slice cuts each joint through its axis, so at height y a joint is
    a ridge of in-plane width 2 r(y) and depth w, where the real joint has the disc section pi r(y)^2. The die
    and board are coupled through the joints' shear: horizontal slabs of the column in series, compliance
    int dy / (G A(y)). Equal shear compliance per package area,

        p sqrt(2) int dy / (2 r(y) w)  =  p^2 int dy / (pi r(y)^2),

    gives  w = (sqrt(2) / p) [int dy / (2 r)] / [int dy / (pi r^2)],  over the solder cap between its board-side
    and die-side base planes (y_bottom, y_top) -- the free column of the joint, where its compliance is; the
    thin pads and the solder in the openings are left out of the integral. The cap is the truncated sphere
    r(y)^2 = R^2 - (y - yc)^2, so with u = (y - yc) / R:

        int dy / r = [arcsin u],   int dy / r^2 = [artanh u] / R.

    For a straight column of diameter d this is w = pi sqrt(2) d / (4 p): the joint section per package area
    of the array (the unit-depth ridges carry 1/w times it: 1.8 for d = 0.2 mm at p = 0.4 mm). What it does
    not match: at equal section the ridge's second moment of area per joint (w (2r)^3 / 12 = 4/3 of the disc's
    pi r^4 / 4 when w = pi r / 2 per unit of p / sqrt(2)) -- the joint's bending stiffness stays up to 4/3 too
    high -- and the joint's out-of-plane (z) section is its in-plane one (one e_zz for all, as before)."""
    if not (pitch > 0 and R > 0 and y_top > y_bottom):
        raise ValueError(f"equivalent_joint_width: pitch {pitch}, R {R}, base planes {y_bottom} < {y_top} expected")
    ub, ut = (y_bottom - yc) / R, (y_top - yc) / R
    if not (-1.0 < ub < ut < 1.0):
        raise ValueError(f"equivalent_joint_width: the base planes must cut the sphere (u = {ub}, {ut})")
    shear_length = 0.5 * (math.asin(ut) - math.asin(ub))            # int dy / (2 r)
    area_length = (math.atanh(ut) - math.atanh(ub)) / (math.pi * R)  # int dy / (pi r^2)
    return math.sqrt(2.0) / pitch * shear_length / area_length


def with_overrides(obj, **kw):
    """A validated copy with some fields replaced."""
    return replace(obj, **kw)


#: one line per key of [geometry], [[designs]] and [mesh] for the generated key reference (docs/study-keys.md)
FIELD_DOCS = {
    "pitch": "joint pitch", "array_size": "N x N full array of joints", "die_size": "square die edge",
    "die_thickness": "die thickness", "passivation_thickness": "SiN/SiO2 passivation",
    "pi1_thickness": "first polyimide layer", "pi2_thickness": "second polyimide layer (ball-pad opening)",
    "pi3_thickness": "third dielectric of the embossed design", "cu_thickness": "Cu redistribution layer",
    "board_thickness": "FR-4 board", "board_pad_diameter": "board Cu pad", "board_pad_thickness": "board Cu pad",
    "solder_mask_opening": "board solder-mask opening", "solder_mask_thickness": "board solder mask",
    "pad_definition": "nsmd: mask clear of the pad; smd: mask overlaps the pad edge",
    "ball_diameter": "as-placed solder ball", "solder_volume": "solder volume of a joint",
    "interface_layer_thickness": "die-/board-side solder layers ΔW and Δε_in are averaged over",
    "board_extension": "slice2d, package3d: board length beyond the die edge",
    "imc": "a Cu6Sn5 intermetallic layer (region imc, material Cu6Sn5) on every face where the solder wets metal "
    "(pad Cu and its relief, UBM face and wall, board pad), carved out of the solder; the damage layers start at "
    "its face",
    "imc_thickness": "intermetallic layer (with imc = true)",
    "name": "design name (required; a folder name)", "kind": "pad design (required)",
    "pad_diameter": "RDL Cu capture pad", "pi2_opening": "PI2 ball-pad opening",
    "pad_edge": "flat: polymer (no UBM: the ball wets the Cu through the PI2 opening, whose edge is the contact "
    "line) | metal (a UBM, whose edge is the contact line; ubm keys alone select it)", "ubm_diameter": "UBM",
    "ubm_thickness": "UBM", "concave_diameter": "PI2 removed inside this circle (PI1 exposed)",
    "ring_outer_diameter": "convex PI2 ring, outer", "ring_inner_diameter": "convex PI2 ring, inner",
    "area_rule": "derive one ring diameter: disc inside the ring = ring area (claims 5/16)",
    "ring_segments": "discontinuous ring (joint3d only)", "ring_gap_angle": "angle of each gap between segments",
    "pi1_open_in_ring": "PI1 and PI2 open inside the ring to the passivation",
    "connection_hole_diameter": "pi3 connection hole over the embossed portion",
    "land_diameter": "second opening in PI1 (the sunken land)", "recess_depth": "depth of the recess (<= PI1)",
    "third_opening_diameter": "PI2 third opening, wider than the land",
    "size_fine": "2D models: element size in and near the solder", "size_fine_3d": "joint3d: element size in "
    "the solder, pads and thin layers", "size_layer": "2D models: largest size inside the thin layers",
    "size_coarse": "die and board far from the joints", "grading_distance": "distance from fine to coarse",
    "order": "1: triangle/tetra, 2: triangle6/tetra10",
}


# --------------------------------------------------------------------------------------------------
def match_tables(tables: list, baseline: str | None, match) -> list:
    """Equal conditions (``[study] match``): copies of the ``[[designs]]`` tables in which every design gets the
    baseline's die-side wetted diameter -- its wetted key (Design.wetted_key: the UBM or PI2 opening of a flat
    pad, the PI3 connection hole of an embossed one, the third opening of a recessed one) is set to it.  A
    design that gives its wetted key with another value, or that cannot take the diameter (e.g. larger than its
    pad), raises one InputError naming the keys and the constraint.  ``solder_volume`` needs no derivation:
    the solder volume is a [geometry] key, one for all designs of a case point.  ``match`` without
    ``wetted_diameter`` (or a single design) returns the tables unchanged."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str)
                                               and t.get("kind") in KINDS for t in tables):
        return tables          # malformed: the design validation names the key
    tables = [dict(t) for t in tables]
    if "wetted_diameter" not in tuple(match) or len(tables) < 2:
        return tables
    try:
        probes = [_wetted_probe(t) for t in tables]
    except InputError:
        return tables          # a bad name or pad_edge: the design validation names the key
    names = [t.get("name") for t in tables]
    bi = names.index(baseline) if baseline in names else 0
    base = Design.from_dict(tables[bi])
    D = base.wetted_diameter
    src = f"designs.{base.name}.{base.wetted_key}"
    for i, t in enumerate(tables):
        if i == bi:
            continue
        d = probes[i]
        k = d.wetted_key
        if k in t and (not isinstance(t[k], (int, float)) or abs(float(t[k]) - D) > 1e-12):
            raise InputError(f"designs.{d.name}.{k}", t[k],
                             f"= {D:g}, the baseline's wetted diameter ({src}), because study.match includes "
                             "'wetted_diameter' (remove the key to derive it, or set study.match = [])")
        t[k] = D
        try:
            Design.from_dict(t)
        except InputError as exc:
            raise InputError(f"designs.{d.name}.{k}", D, message=f"study.match = 'wetted_diameter' sets "
                             f"designs.{d.name}.{k} = {D:g} from {src}, which design {d.name} cannot take: "
                             f"{exc} (change {src} or this design's other dimensions, or set "
                             "study.match = [])") from None
        tables[i] = t
    return tables


def _wetted_probe(table: dict) -> Design:
    """A default Design of the table's name, kind and pad edge: enough to know its wetted key before its other
    values are validated (they are, once the wetted diameter is set)."""
    kw = {k: table[k] for k in ("name", "kind") if k in table}
    if table.get("kind") == "flat":
        edge = table.get("pad_edge")
        if edge is None and ("ubm_diameter" in table or table.get("ubm_thickness", 0) != 0):
            edge = "metal"
        kw["pad_edge"] = edge if edge in ("metal", "polymer") else "polymer"
    return Design(**kw)
