"""Materials: the constitutive interface (base), models, and the library of sourced parameter sets.

`material_from_spec(name, spec)` builds a material for a region from a library name (a string) or an inline
table (a dict with `model` and the model's parameters) -- the two forms a study file uses.
"""
from __future__ import annotations

from importlib import import_module

from fem_wlp.errors import InputError
from fem_wlp.materials.base import Material
from fem_wlp.materials.library import LIBRARY

#: model name -> "module:Class.from_spec" (a constructor (name, spec) -> Material), imported at first use
MODELS = {
    "elastic": "fem_wlp.materials.base:elastic_from_spec",
    "orthotropic": "fem_wlp.materials.elastic:Orthotropic.from_spec",
    "cubic": "fem_wlp.materials.elastic:Cubic.from_spec",
    "norton": "fem_wlp.materials.norton:Norton.from_spec",
    "garofalo": "fem_wlp.materials.garofalo:Garofalo.from_spec",
    "anand": "fem_wlp.materials.anand:Anand.from_spec",
    "plastic": "fem_wlp.materials.plasticity:J2Plastic.from_spec",
    "chaboche": "fem_wlp.materials.kinematic:Chaboche.from_spec",
}


def _factory(model: str):
    mod, attr = MODELS[model].split(":")
    obj = import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def material_from_spec(region: str, spec) -> Material:
    """Material for `region` from a library name or an inline spec dict (errors name `materials.<region>`)."""
    key = f"materials.{region}"
    if isinstance(spec, str):
        if spec not in LIBRARY:
            raise InputError(key, spec, "a library name (" + ", ".join(sorted(LIBRARY)) + ") or an inline table")
        spec = LIBRARY[spec]
    elif isinstance(spec, dict) and "library" in spec:
        # a library set with some values overridden: {library = "SAC305", E = ...}
        base = spec["library"]
        if not isinstance(base, str) or base not in LIBRARY:
            raise InputError(f"{key}.library", base, ", ".join(sorted(LIBRARY)))
        spec = {**LIBRARY[base], **{k: v for k, v in spec.items() if k != "library"}}
    if not isinstance(spec, dict):
        raise InputError(key, spec, "a library name or an inline table with model, E, nu, alpha, ...")
    model = spec.get("model", "elastic")
    if not isinstance(model, str) or model not in MODELS:
        raise InputError(f"{key}.model", model, ", ".join(MODELS))
    return _factory(model)(region, dict(spec))
