"""Names of the model kinds, the regions the geometry builder writes, and the solder-joint region names.

The geometry builder names every cell group `<material region>` or, for the solder, `solder/joint<k>` with the
averaging layers `solder/joint<k>/die_layer` and `solder/joint<k>/board_layer` (k = 0 nearest the package
centre). Every place that builds or parses these strings uses the helpers below. With geometry.imc the
intermetallic on every solder/metal face of joint k is its own region `imc/joint<k>` (not solder: the damage
layers start at its face).

Two layer systems per side share the solder of a joint (t = geometry.interface_layer_thickness):

* conformal: `die_layer` / `board_layer`, the solder within a (Chebyshev) distance t of the solder's die-/board-
  side boundary -- it follows the relief, into the opening of a polymer-defined pad;
* planar: `die_planar_layer` / `board_planar_layer`, the solder between the wetted-face plane (the UBM face of
  a metal-defined pad, the mouth of the PI2/PI3 opening of a polymer-defined one; the board-pad face, NSMD, or
  the mask surface, SMD) and the parallel plane at t toward the other side -- one definition for every design.

They overlap, so the mesh leaves (every element in exactly one) are

    solder/joint<k>/die_layer                      conformal, not planar
    solder/joint<k>/die_layer/die_planar_layer     conformal and planar
    solder/joint<k>/bulk/die_planar_layer          planar, not conformal
    solder/joint<k>/bulk                           neither (likewise board_layer / board_planar_layer)

A path prefix (`solder/joint3/die_layer`, what fe.mesh.FEMesh.region takes) is the conformal layer, unchanged;
the planar layer `solder/joint3/die_planar_layer` (:func:`planar_layer`) is NOT a path prefix: its elements are
the union of the leaves that carry its name as a path component -- use :func:`layer_leaves` for any
layer name (it also gives a path prefix its usual meaning): the elements are
`np.concatenate([fm.leaves[n] for n in layer_leaves(fm.leaves, name)])`.  Meshes written
before the planar layers existed have none: layer_leaves returns [] for them.
"""
from __future__ import annotations

#: model kind -> finite-element formulation
MODEL_KINDS = {"slice2d": "generalized_plane_strain", "axisym": "axisymmetric", "joint3d": "3d",
               "package3d": "3d"}

#: default material of every region the geometry builder writes (library names; see `fem-wlp materials`).
#: Issue 14: copper with kinematic hardening and sigma_y(T) (Cu_cyclic), polyimide with E(T) (PI_HD4100_T) and
#: FR-4 with its glass transition (FR4_Tg); the previous defaults stay in the library under their names
#: (Cu_plastic, PI_HD4100, FR4) for a study's [materials] table.
DEFAULT_MATERIALS = {
    "die": "Si", "passivation": "SiN_passivation", "pi1": "PI_HD4100_T", "pi2": "PI_HD4100_T",
    "pi3": "PI_HD4100_T", "cu_wiring": "Cu_cyclic", "ubm": "Cu_cyclic", "solder": "SAC305",
    "board_pad": "Cu_cyclic", "solder_mask": "solder_mask",
    "board": "FR4_Tg",
    "imc": "Cu6Sn5",
}

#: the regions that exist before the joint (the die and its build-up) -- load.process = "buildup_then_reflow"
BUILDUP = ("die", "passivation", "pi1", "pi2", "pi3", "cu_wiring", "ubm")
#: their stress-free temperatures (°C) for load.process = "buildup_then_reflow". NOT FOUND in domain.md (no cure,
#: deposition or plating temperatures): die 25 (the reference: a bare die is stress-free at any temperature);
#: PECVD passivation 350, polyimide cure 200 (a low-temperature-cure PI, cf. [S34] "low-T-cure PI"; standard PI
#: cures at 350-375), electroplated Cu 25 -- textbook, unsourced
BUILDUP_STRESS_FREE = (("die", 25.0), ("passivation", 350.0), ("pi1", 200.0), ("pi2", 200.0), ("pi3", 200.0),
                       ("cu_wiring", 25.0), ("ubm", 25.0))
SOLDER = "solder"
#: the intermetallic layer of a joint (geometry.imc): `imc/joint<k>`, carved out of the joint's solder
IMC = "imc"
#: regions of metal (solder wets them: an interface between two of them stays bonded unless a study says
#: [contact] allow_metal = true)
METALS = ("solder", "cu_wiring", "ubm", "board_pad", "imc")
#: the unbonded (contact) interfaces of [contact] when a study gives no `unbonded` list: solder against every
#: non-wetting layer it can touch (polyimide, solder mask, passivation); a pair the case's mesh does not have is
#: left out (an explicitly listed one is an error)
UNBONDED_DEFAULT = ("solder:pi1", "solder:pi2", "solder:pi3", "solder:solder_mask", "solder:passivation")
#: the solder interface layers (die side, board side) over which ΔW and Δε_in are averaged
LAYERS = ("die_layer", "board_layer")
#: the planar damage layers (die side, board side): same thickness as LAYERS, planar, below the wetted face
PLANAR_LAYERS = ("die_planar_layer", "board_planar_layer")
#: the solder of a joint in no conformal layer
BULK = "bulk"
SIDES = ("die", "board")
#: the key of the whole-joint average next to the layers in case.json
WHOLE = "whole"
_JOINT = "joint"


def joint_name(k: int) -> str:
    """'joint3' for joint index 3."""
    return f"{_JOINT}{int(k)}"


def joint_index(name: str) -> int:
    """3 for 'joint3'."""
    if not is_joint_name(name):
        raise ValueError(f"not a joint name: {name!r}")
    return int(name[len(_JOINT):])


def is_joint_name(name: str) -> bool:
    return name.startswith(_JOINT) and name[len(_JOINT):].isdigit()


def joint_region(k: int | str, layer: str | None = None) -> str:
    """'solder/joint3' or, with a layer ('die_layer', 'board_layer', or 'whole' = no layer), 'solder/joint3/die_layer'."""
    j = k if isinstance(k, str) else joint_name(k)
    return f"{SOLDER}/{j}" if layer in (None, WHOLE) else f"{SOLDER}/{j}/{layer}"


def top_region(name: str) -> str:
    """The material region of a cell-group name: 'solder' for 'solder/joint3/die_layer'."""
    return name.split("/")[0]


def joints_of(names) -> list[str]:
    """The joint names ('joint0', 'joint1', ...) present in region or history-column names, in index order.
    History columns look like 'solder/joint3/die_layer.w_in'."""
    found = set()
    for n in names:
        parts = n.split(".")[0].split("/")
        if len(parts) >= 2 and parts[0] == SOLDER and is_joint_name(parts[1]):
            found.add(parts[1])
    return sorted(found, key=joint_index)


def planar_layer(joint: int | str, side: str) -> str:
    """'solder/joint3/die_planar_layer' for (3, 'die'); side = 'die' | 'board'."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    return joint_region(joint, PLANAR_LAYERS[SIDES.index(side)])


def layer_leaves(leaves, name: str) -> list[str]:
    """The leaf names (of `leaves`, an iterable of leaf names or a {leaf: elements} dict) whose union is region
    `name`: the leaves under the path `name`, and for a planar layer 'solder/joint<k>/<planar>' the leaves under
    'solder/joint<k>' that carry <planar> as a path component. [] if the mesh has no such region."""
    parts = name.split("/")
    out = []
    for leaf in leaves:
        if leaf == name or leaf.startswith(name + "/"):
            out.append(leaf)
        elif parts[-1] in PLANAR_LAYERS and leaf.startswith("/".join(parts[:-1]) + "/") \
                and parts[-1] in leaf.split("/")[len(parts) - 1:]:
            out.append(leaf)
    return sorted(out)

