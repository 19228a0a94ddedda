"""Names of the model kinds, the regions the geometry builder writes, and the solder-joint region names.

The geometry builder names every cell group `<material region>` or, for the solder, `solder/joint<k>` with the
averaging layers `solder/joint<k>/die_layer` and `solder/joint<k>/board_layer` (k = 0 nearest the package
centre). Every place that builds or parses these strings uses the helpers below.
"""
from __future__ import annotations

#: model kind -> finite-element formulation
MODEL_KINDS = {"slice2d": "generalized_plane_strain", "axisym": "axisymmetric", "joint3d": "3d"}

#: default material of every region the geometry builder writes (library names; see `fem-wlp materials`)
DEFAULT_MATERIALS = {
    "die": "Si", "passivation": "SiN_passivation", "pi1": "PI_HD4100", "pi2": "PI_HD4100", "pi3": "PI_HD4100",
    "cu_wiring": "Cu_plastic", "ubm": "Cu_plastic", "solder": "SAC305", "board_pad": "Cu_plastic",
    "solder_mask": "solder_mask",
    "board": "FR4",
}

SOLDER = "solder"
#: the solder interface layers (die side, board side) over which ΔW and Δε_in are averaged
LAYERS = ("die_layer", "board_layer")
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
