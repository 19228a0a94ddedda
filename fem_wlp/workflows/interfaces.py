"""The [contact] interfaces of a generated model, shared by every model kind (workflows/case.py for slice2d,
axisym and joint3d; workflows/submodel.py for the package3d global model and its submodel): the mesh split along
the unbonded interfaces, and the per-cycle contact status kept for case.json."""
from __future__ import annotations

import numpy as np

from fem_wlp.errors import InputError
from fem_wlp.fe.contact import STATE_KEY, Contact
from fem_wlp.fe.mesh import split_interface
from fem_wlp.study.spec import Study


def unbonded_interfaces(fm, spec: Study):
    """The [contact] interfaces of a case: (the mesh split along them, fe.contact.Contact tuple). Bonded
    everywhere (the default): the mesh unchanged and (). Every pair shares its first region (the split keeps
    its vertices; its partners get copies): all partners of one region are split at once, so a vertex where two
    partners meet the region gets one copy shared by both. A listed pair whose regions share no interface in
    this mesh is an InputError; a default pair the mesh lacks is left out."""
    cs = spec.contact
    pairs = cs.pairs
    if not pairs:
        return fm, ()
    sides = sorted({a for a, _ in pairs})
    if len(sides) > 1:
        raise InputError("contact.unbonded", [f"{a}:{b}" for a, b in pairs],
                         "pairs that share their first region (one split per model)")
    a = sides[0]
    partners = []
    for _, b in pairs:
        if fm.leaves_under(a) and fm.leaves_under(b):
            try:
                split_interface(fm, a, b, key="contact.unbonded")
            except InputError:
                if cs.unbonded is not None:
                    raise InputError("contact.unbonded", f"{a}:{b}", "pairs of regions that share an interface "
                                     "in every case's mesh") from None
                continue
            partners.append(b)
        elif cs.unbonded is not None:
            raise InputError("contact.unbonded", f"{a}:{b}", "pairs of regions present in every case's mesh: "
                             + ", ".join(sorted({n.split('/')[0] for n in fm.leaves})))
    if not partners:
        return fm, ()
    new, pr = split_interface(fm, a, partners, name=f"{a}:{'+'.join(partners)}", key="contact.unbonded")
    return new, (Contact(pr, friction=cs.friction, penalty=cs.penalty, key="contact"),)


def track_contact(store: dict, cs, frame, T: float, cycle: int) -> None:
    """Keep, per cycle, the contact summary (fe.contact.ContactSet.summary) of its hottest and coldest frame (the
    first frame at each extreme)."""
    c = store.setdefault(cycle, {})
    for end, better in (("hot", T > c.get("hot", {}).get("temperature_C", -np.inf)),
                        ("cold", T < c.get("cold", {}).get("temperature_C", np.inf))):
        if better:
            c[end] = {"time_s": float(frame.time), "temperature_C": T,
                      "interfaces": cs.summary(frame.states[STATE_KEY])}


def contact_extremes(store: dict) -> dict:
    """The case.json 'contact' entry: the last cycle's hot and cold extremes, per interface."""
    cycle = max(store)
    c = store[cycle]
    names = list(c["hot"]["interfaces"])
    first = c["hot"]["interfaces"]
    return {"cycle": int(cycle),
            **{end: {"time_s": c[end]["time_s"], "temperature_C": c[end]["temperature_C"]} for end in c},
            "interfaces": {n: {"pairs": first[n]["pairs"], "points": first[n]["points"],
                               **{end: {k: v for k, v in c[end]["interfaces"][n].items()
                                        if k not in ("pairs", "points")} for end in c}} for n in names}}
