"""Solder-joint fatigue: per-cycle damage metrics from time histories, and life models.

(b) Metrics. The solver writes, per region, volume averages of the *accumulated* inelastic work density `w_in`
(MPa = MJ/m³) and equivalent inelastic strain `eps_in_eq`, both monotone in time, with a `cycle` index per row
(fem_wlp.wlcsp.profiles: 0 up to the start of cycle 1, k for start_k < t <= end_k). The per-cycle increments

    ΔW_k = w_in(last row of cycle k) - w_in(last row before cycle k),   Δε_in,k likewise

are the damage metrics; the stabilised value is the last complete cycle's, with a warning when the last two
cycles differ by more than 5 % ([S5]: 3 cycles, use the last one, warn above 5 %; domain.md §7).

(a) Life models: small frozen dataclasses, each with its constants, a `source` string and a `caveat` string for
reports, and `life(**inputs)` (vectorised over numpy arrays). Absolute lives from literature constants are
order-of-magnitude; life *ratios* against a baseline design are the trustworthy output (domain.md §7, [S5]).

    Darveaux        N0 = K1 ΔW^K2, da/dN = K3 ΔW^K4, Nf = N0 + a/(da/dN)        inputs dW, crack_length
    SyedEnergy      Nf = 1/(C' ΔW)                                              input dW
    SyedStrain      Nf = 1/(C ε_acc)                                            input deps_in
    Engelmaier      Δγ = F L_D Δα ΔT / h; Nf = ½ (Δγ/(2εf'))^(1/c), c(T_SJ, t_D)  inputs delta_gamma, T_sj, t_dwell
    CoffinManson    Nf = ½ (Δε_in/(2εf'))^(1/c)                                  input deps_in (user constants)
    Morrow          ΔW = W_f' (2Nf)^m  ->  Nf = ½ (ΔW/W_f')^(1/m)                input dW (user constants)

Source tags [Sx] refer to ../shared/reference/domain.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import ClassVar

import numpy as np

from fem_wlp.errors import InputError

# ---------------------------------------------------------------------------------------------------------------
# Unit conversions (exact by definition: 1 in = 25.4 mm; 1 lbf = 4.4482216152605 N)
# ---------------------------------------------------------------------------------------------------------------
MM_PER_INCH = 25.4
N_PER_LBF = 4.4482216152605
MPA_PER_PSI = N_PER_LBF / MM_PER_INCH**2          # 1 psi = 6.894757293168361e-3 MPa
PSI_PER_MPA = 1.0 / MPA_PER_PSI                   # 145.0377377...


def mpa_to_psi(x):
    return np.asarray(x, dtype=float) * PSI_PER_MPA if np.ndim(x) else float(x) * PSI_PER_MPA


def psi_to_mpa(x):
    return np.asarray(x, dtype=float) * MPA_PER_PSI if np.ndim(x) else float(x) * MPA_PER_PSI


def _positive(x, key):
    a = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(a)) or np.any(a <= 0):
        raise InputError(key, x, "values > 0")
    return a if a.ndim else float(a)


# ---------------------------------------------------------------------------------------------------------------
# Life models
# ---------------------------------------------------------------------------------------------------------------
class LifeModel:
    """Common shape: `name`, `requires` (input names of `life`), `source`, `caveat`, `life(**inputs)`."""
    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    #: constant names a study's [fatigue.<name>] table may set
    spec_keys: ClassVar[tuple[str, ...]] = ()

    def constants(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("source", "caveat")}

    def describe(self) -> str:
        c = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.constants().items())
        return f"{self.name} ({c}); source: {self.source}; caveat: {self.caveat}"

    @classmethod
    def from_spec(cls, table: dict, key: str, solder: str | None = None) -> "LifeModel":
        unknown = sorted(set(table) - set(cls.spec_keys))
        if unknown:
            raise InputError(f"{key}.{unknown[0]}", table[unknown[0]], "keys " + ", ".join(cls.spec_keys))
        kw = {}
        for k, v in table.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"{key}.{k}", v, "a finite number")
            else:
                kw[k] = float(v)
        return cls(**kw)


def _finite(x, key) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise InputError(key, x, "a finite number")
    return float(x)


def _need(table: dict, key: str, names, why: str):
    missing = [n for n in names if n not in table]
    if missing:
        raise InputError(f"{key}.{missing[0]}", None, f"{why}: set " + ", ".join(f"{key}.{n}" for n in missing))


# Darveaux, SnPb eutectic: K1 = 22 400 cycles/psi^K2, K2 = -1.52, K3 = 5.86e-7 in/(cycle psi^K4), K4 = 0.98 --
# [S8] (public GitHub doc, "only valid for Pb-Sn eutectic"; sourced, secondary: the primary Darveaux paper was not
# retrieved). Calibrated with 0.001 in (0.0254 mm) interface elements, volume-weighted averaging: textbook,
# unsourced (domain.md §2.1, §7).
DARVEAUX_SNPB_PSI_INCH = dict(K1=22400.0, K2=-1.52, K3=5.86e-7, K4=0.98)
DARVEAUX_SNPB_LAYER_MM = 0.0254


@dataclass(frozen=True)
class Darveaux(LifeModel):
    """Darveaux crack initiation + growth, constants in MPa and mm (use `from_psi_inch` for the published form).

    K1 (cycles/MPa^K2), K2, K3 (mm/(cycle MPa^K4)), K4; `layer_thickness` (mm) = the averaging-layer thickness
    the constants were calibrated on -- ΔW must be averaged over a layer of that thickness; `crack_length` (mm) =
    crack length at failure (usually the pad/UBM diameter at the critical interface), may be given at `life`."""
    K1: float
    K2: float
    K3: float
    K4: float
    layer_thickness: float
    crack_length: float | None = None
    source: str = "user constants"
    caveat: str = ("Darveaux constants are tied to the averaging-layer thickness and averaging scheme they were "
                   "calibrated with; absolute lives are order-of-magnitude, compare designs by life ratio.")
    name: ClassVar[str] = "darveaux"
    requires: ClassVar[tuple[str, ...]] = ("dW", "crack_length")
    spec_keys: ClassVar[tuple[str, ...]] = ("constants", "units", "K1", "K2", "K3", "K4", "layer_thickness",
                                            "crack_length")

    def __post_init__(self):
        for k in ("K1", "K3", "layer_thickness"):
            if not (math.isfinite(getattr(self, k)) and getattr(self, k) > 0):
                raise InputError(f"fatigue.darveaux.{k}", getattr(self, k), "a number > 0")
        if self.crack_length is not None and not self.crack_length > 0:
            raise InputError("fatigue.darveaux.crack_length", self.crack_length, "a length > 0 (mm)")

    @classmethod
    def from_psi_inch(cls, K1, K2, K3, K4, layer_thickness_mm, crack_length=None, **kw) -> "Darveaux":
        """Convert published constants (ΔW in psi, da/dN in in/cycle) to MPa/mm:
        N0 = K1 (ΔW·PSI_PER_MPA)^K2 = [K1 PSI_PER_MPA^K2] ΔW_MPa^K2;
        da/dN [mm] = 25.4 K3 (ΔW·PSI_PER_MPA)^K4 = [25.4 K3 PSI_PER_MPA^K4] ΔW_MPa^K4."""
        return cls(K1 * PSI_PER_MPA**K2, K2, MM_PER_INCH * K3 * PSI_PER_MPA**K4, K4, layer_thickness_mm,
                   crack_length, **kw)

    def to_psi_inch(self) -> dict:
        """The constants back in the published units (ΔW psi, da/dN in/cycle)."""
        return dict(K1=self.K1 / PSI_PER_MPA**self.K2, K2=self.K2,
                    K3=self.K3 / (MM_PER_INCH * PSI_PER_MPA**self.K4), K4=self.K4)

    @classmethod
    def snpb(cls, crack_length=None) -> "Darveaux":
        return cls.from_psi_inch(**DARVEAUX_SNPB_PSI_INCH, layer_thickness_mm=DARVEAUX_SNPB_LAYER_MM,
                                 crack_length=crack_length,
                                 source="Darveaux SnPb eutectic K1-K4 = 22400/-1.52/5.86e-7/0.98 (psi, in) via "
                                        "[S8] (secondary; primary paper not retrieved); 0.0254 mm layer textbook",
                                 caveat="SnPb eutectic constants only (not for SAC); valid only with ΔW averaged "
                                        "over 0.0254 mm interface layers (textbook, unsourced); absolute lives "
                                        "are order-of-magnitude, compare designs by life ratio.")

    def initiation(self, dW):
        """N0 (cycles) for ΔW (MPa per cycle)."""
        return self.K1 * _positive(dW, "dW") ** self.K2

    def growth_rate(self, dW):
        """da/dN (mm/cycle) for ΔW (MPa per cycle)."""
        return self.K3 * _positive(dW, "dW") ** self.K4

    def life(self, dW, crack_length=None):
        a = self.crack_length if crack_length is None else crack_length
        if a is None:
            raise InputError("fatigue.darveaux.crack_length", None, "crack length at failure in mm (e.g. the "
                             "pad or UBM diameter at the critical interface)")
        return self.initiation(dW) + _positive(a, "fatigue.darveaux.crack_length") / self.growth_rate(dW)

    def layer_warning(self, layer_thickness_used: float, rtol: float = 0.1) -> str | None:
        """Warning text when ΔW was averaged over a layer of another thickness than the calibration's."""
        if abs(layer_thickness_used - self.layer_thickness) > rtol * self.layer_thickness:
            return (f"Darveaux constants calibrated on a {self.layer_thickness:g} mm averaging layer but ΔW was "
                    f"averaged over {layer_thickness_used:g} mm; the absolute life is not meaningful")
        return None

    @classmethod
    def from_spec(cls, table: dict, key: str = "fatigue.darveaux", solder: str | None = None) -> "Darveaux":
        unknown = sorted(set(table) - set(cls.spec_keys))
        if unknown:
            raise InputError(f"{key}.{unknown[0]}", table[unknown[0]], "keys " + ", ".join(cls.spec_keys))
        consts = table.get("constants")
        user = [k for k in ("K1", "K2", "K3", "K4") if k in table]
        if consts is None and not user and solder is not None and _is_snpb(solder):
            consts = "SnPb"
        if consts is not None:
            if not (isinstance(consts, str) and _is_snpb(consts)):
                raise InputError(f"{key}.constants", consts, "'SnPb' (no SAC default exists: give K1-K4 and "
                                 "layer_thickness)")
            extra = [k for k in table if k not in ("constants", "crack_length")]
            if extra:
                raise InputError(f"{key}.{extra[0]}", table[extra[0]],
                                 f"either {key}.constants or K1-K4 with units and layer_thickness, not both")
            crack = table.get("crack_length")
            return cls.snpb(None if crack is None else _finite(crack, f"{key}.crack_length"))
        _need(table, key, ("K1", "K2", "K3", "K4", "layer_thickness"),
              "Darveaux has no default constants for this solder (SAC constants depend on the averaging layer)")
        units = table.get("units", "MPa-mm")
        vals = {k: _finite(table[k], f"{key}.{k}") for k in ("K1", "K2", "K3", "K4")}
        layer = _finite(table["layer_thickness"], f"{key}.layer_thickness")
        crack = None if table.get("crack_length") is None else _finite(table["crack_length"], f"{key}.crack_length")
        if units == "psi-inch":
            return cls.from_psi_inch(**vals, layer_thickness_mm=layer, crack_length=crack)
        if units != "MPa-mm":
            raise InputError(f"{key}.units", units, "'MPa-mm' (default) or 'psi-inch'")
        return cls(**vals, layer_thickness=layer, crack_length=crack)


# Syed 2004 (SAC): energy form C' = 0.0019 /MPa [S3] (default), 0.00165 /MPa [S5] citing Amalu et al. 2015 from
# Syed ECTC 2004 (the two differ by 15 %); strain form C = 0.0513 [S5] (domain.md §2.2).
SYED_ENERGY_C = 0.0019
SYED_ENERGY_C_ALT = 0.00165
SYED_STRAIN_C = 0.0513
_SYED_CAVEAT = ("Syed's constants were fitted to accumulated creep energy/strain from a Garofalo-type model on a "
                "particular geometry; Anand ΔW is not strictly equivalent; absolute lives are order-of-magnitude, "
                "compare designs by life ratio.")


@dataclass(frozen=True)
class SyedEnergy(LifeModel):
    """Nf = 1/(C' ΔW), ΔW in MPa per cycle."""
    C: float = SYED_ENERGY_C
    source: str = ("Syed, ECTC 2004 pp. 737-746: C' = 0.0019 /MPa as in [S3]; 0.00165 /MPa as cited by Amalu "
                   "et al. 2015 [S5]")
    caveat: str = _SYED_CAVEAT
    name: ClassVar[str] = "syed_energy"
    requires: ClassVar[tuple[str, ...]] = ("dW",)
    spec_keys: ClassVar[tuple[str, ...]] = ("C",)

    def life(self, dW):
        return 1.0 / (self.C * _positive(dW, "dW"))


@dataclass(frozen=True)
class SyedStrain(LifeModel):
    """Nf = 1/(C ε_acc), ε_acc = accumulated equivalent inelastic (creep) strain per cycle."""
    C: float = SYED_STRAIN_C
    source: str = "Syed, ECTC 2004: C = 0.0513 as cited in [S5]"
    caveat: str = _SYED_CAVEAT
    name: ClassVar[str] = "syed_strain"
    requires: ClassVar[tuple[str, ...]] = ("deps_in",)
    spec_keys: ClassVar[tuple[str, ...]] = ("C",)

    def life(self, deps_in):
        return 1.0 / (self.C * _positive(deps_in, "deps_in"))


# Engelmaier, c = -(c0) - c1 T_SJ + c2 ln(1 + t0/t_D), written here as c = c0 + c1 T_SJ + c2 ln(1 + t0/t_D) with
# signed constants.
# SnPb: εf' = 0.325 (the often-quoted 0.65 is 2εf'), c0 = -0.442, c1 = -6e-4 /°C, c2 = 1.74e-2, t0 = 360 min --
#   [S7] (checked against Engelmaier, "Solder Joints in Electronics: Design for Reliability", Eq. 3-5; sourced).
# SAC/SnAg (Engelmaier-Wild): εf' = 0.275, c0 = -0.430, c1 = -6.3e-4, c2 = 1.82e-2, t0 = 400 min -- transcribed
#   in a GitHub script from circuitinsight.com solder_creep_fatigue_ipc.pdf [S7b] with inconsistent signs; the
#   signs here follow the SnPb form. VERIFY against the PDF before relying on them.
ENGELMAIER_SETS = {
    "SnPb": dict(eps_f=0.325, c0=-0.442, c1=-6.0e-4, c2=1.74e-2, t0=360.0,
                 source="Engelmaier IPC-D-279 / IPC-SM-785 form via [S7] (sourced): eps_f' 0.325, "
                        "c = -0.442 - 6e-4 T_SJ + 1.74e-2 ln(1 + 360/t_D)"),
    "SAC": dict(eps_f=0.275, c0=-0.430, c1=-6.3e-4, c2=1.82e-2, t0=400.0,
                source="Engelmaier-Wild SAC/SnAg constants transcribed in [S7b] from circuitinsight.com "
                       "solder_creep_fatigue_ipc.pdf -- VERIFY (signs inconsistent in the transcription)"),
}


def _is_snpb(s: str) -> bool:
    return s.replace(" ", "").lower() in ("snpb", "sn63pb37", "sn63pb", "pbsn", "63sn37pb", "sn62pb36ag2")


@dataclass(frozen=True)
class Engelmaier(LifeModel):
    """Closed-form sanity envelope (not an FE metric): Δγ = F L_D Δα ΔT / h and
    Nf(50 %) = ½ (Δγ / (2 εf'))^(1/c), c = c0 + c1 T_SJ + c2 ln(1 + t0/t_D) (T_SJ mean cyclic solder
    temperature °C, t_D half-cycle dwell in min). L_D is the distance from the neutral point (DNP)."""
    eps_f: float = 0.325
    c0: float = -0.442
    c1: float = -6.0e-4
    c2: float = 1.74e-2
    t0: float = 360.0
    F: float = 1.0
    alloy: str = "SnPb"
    source: str = ENGELMAIER_SETS["SnPb"]["source"]
    caveat: str = ("Engelmaier is a closed-form estimate for leadless/area-array joints (DNP, Δα, ΔT, standoff), "
                   "used as a sanity envelope for the FE-based metrics, not as a FE verification value.")
    name: ClassVar[str] = "engelmaier"
    requires: ClassVar[tuple[str, ...]] = ("delta_gamma", "T_sj", "t_dwell")
    spec_keys: ClassVar[tuple[str, ...]] = ("alloy", "eps_f", "c0", "c1", "c2", "t0", "F")

    @classmethod
    def for_alloy(cls, alloy: str, F: float = 1.0, key: str = "fatigue.engelmaier.alloy") -> "Engelmaier":
        name = solder_family(alloy)             # SnPb, SAC (library names with suffixes too) or None
        if name is None:
            raise InputError(key, alloy, "'SnPb' or 'SAC' (SAC305, SAC405, SnAg...)")
        s = ENGELMAIER_SETS[name]
        caveat = cls.caveat + ("" if name == "SnPb" else " SAC constants are transcribed, VERIFY.")
        return cls(**{k: v for k, v in s.items() if k != "source"}, F=F, alloy=name, source=s["source"],
                   caveat=caveat)

    def shear_strain_range(self, L_D, d_alpha, dT, h):
        """Δγ = F L_D |Δα| |ΔT| / h (L_D and h in the same length unit, Δα in 1/°C, ΔT in °C)."""
        return self.F * np.abs(L_D) * np.abs(d_alpha) * np.abs(dT) / _positive(h, "h")

    def exponent(self, T_sj, t_dwell):
        """c from the mean cyclic solder temperature T_SJ (°C) and the half-cycle dwell t_D (min)."""
        return self.c0 + self.c1 * np.asarray(T_sj, float) + self.c2 * np.log1p(self.t0 / _positive(t_dwell,
                                                                                                  "t_dwell"))

    def exponent_from_frequency(self, T_sj, cycles_per_day):
        """Older form: c with ln(1 + f), f in cycles/day (SnPb constants)."""
        return self.c0 + self.c1 * np.asarray(T_sj, float) + self.c2 * np.log1p(np.asarray(cycles_per_day, float))

    def life(self, delta_gamma, T_sj, t_dwell):
        c = self.exponent(T_sj, t_dwell)
        out = 0.5 * (_positive(delta_gamma, "delta_gamma") / (2.0 * self.eps_f)) ** (1.0 / c)
        return float(out) if np.ndim(out) == 0 else out

    def life_from_geometry(self, L_D, d_alpha, T_min, T_max, h, t_dwell):
        """Nf from DNP, Δα, the cycle extremes (°C), standoff h and the half-cycle dwell (min)."""
        return self.life(self.shear_strain_range(L_D, d_alpha, T_max - T_min, h), 0.5 * (T_min + T_max), t_dwell)

    @classmethod
    def from_spec(cls, table: dict, key: str = "fatigue.engelmaier", solder: str | None = None) -> "Engelmaier":
        unknown = sorted(set(table) - set(cls.spec_keys))
        if unknown:
            raise InputError(f"{key}.{unknown[0]}", table[unknown[0]], "keys " + ", ".join(cls.spec_keys))
        alloy = table.get("alloy", solder or "SnPb")
        F = table.get("F", 1.0)
        if isinstance(F, bool) or not isinstance(F, (int, float)) or not 0 < F < math.inf:
            raise InputError(f"{key}.F", F, "a number > 0 (0.5-1.5; 1 typical)")
        if not isinstance(alloy, str):
            raise InputError(f"{key}.alloy", alloy, "an alloy name: 'SAC' or 'SnPb'")
        base = cls.for_alloy(alloy, float(F), key=f"{key}.alloy")
        over = {k: _finite(table[k], f"{key}.{k}") for k in ("eps_f", "c0", "c1", "c2", "t0") if k in table}
        if over:
            base = replace(base, **over, source=base.source + "; user overrides: " + ", ".join(over))
        return base


@dataclass(frozen=True)
class CoffinManson(LifeModel):
    """Nf = ½ (Δε_in / (2 εf'))^(1/c), user constants (εf' > 0, c < 0)."""
    eps_f: float
    c: float
    source: str = "user constants"
    caveat: str = "Coffin-Manson constants are user-supplied; check they were fitted to the same strain measure."
    name: ClassVar[str] = "coffin_manson"
    requires: ClassVar[tuple[str, ...]] = ("deps_in",)
    spec_keys: ClassVar[tuple[str, ...]] = ("eps_f", "c")

    def __post_init__(self):
        if not self.eps_f > 0:
            raise InputError("fatigue.coffin_manson.eps_f", self.eps_f, "a number > 0")
        if not self.c < 0:
            raise InputError("fatigue.coffin_manson.c", self.c, "a number < 0")

    def life(self, deps_in):
        out = 0.5 * (_positive(deps_in, "deps_in") / (2.0 * self.eps_f)) ** (1.0 / self.c)
        return float(out) if np.ndim(out) == 0 else out

    @classmethod
    def from_spec(cls, table, key="fatigue.coffin_manson", solder=None):
        _need(table, key, cls.spec_keys, "Coffin-Manson needs user constants")
        return super().from_spec(table, key)


@dataclass(frozen=True)
class Morrow(LifeModel):
    """ΔW = W_f' (2 Nf)^m  ->  Nf = ½ (ΔW / W_f')^(1/m); user constants W_f' (MPa) > 0, m < 0. No SAC default
    was found (domain.md §2.4: NOT FOUND)."""
    W_f: float
    m: float
    source: str = "user constants (no published SAC set found, domain.md §2.4)"
    caveat: str = "Morrow constants are user-supplied; check which dissipated energy (creep, plastic) they fit."
    name: ClassVar[str] = "morrow"
    requires: ClassVar[tuple[str, ...]] = ("dW",)
    spec_keys: ClassVar[tuple[str, ...]] = ("W_f", "m")

    def __post_init__(self):
        if not self.W_f > 0:
            raise InputError("fatigue.morrow.W_f", self.W_f, "a number > 0 (MPa)")
        if not self.m < 0:
            raise InputError("fatigue.morrow.m", self.m, "a number < 0")

    def life(self, dW):
        out = 0.5 * (_positive(dW, "dW") / self.W_f) ** (1.0 / self.m)
        return float(out) if np.ndim(out) == 0 else out

    @classmethod
    def from_spec(cls, table, key="fatigue.morrow", solder=None):
        _need(table, key, cls.spec_keys, "Morrow needs user constants")
        return super().from_spec(table, key)


#: model name -> class
LIFE_MODELS: dict[str, type] = {c.name: c for c in (Darveaux, SyedEnergy, SyedStrain, Engelmaier, CoffinManson,
                                                    Morrow)}
#: models reported when a study does not say (SAC and other solders): Syed's SAC constants first
DEFAULT_MODELS = ("syed_energy", "syed_strain", "engelmaier")
#: ... and for a SnPb solder: the primary model follows the solder -- Darveaux with its SnPb constants (domain.md
#: §2.1, [S8]) first, Engelmaier's SnPb set, then Syed (SAC constants, reported with a caveat)
DEFAULT_MODELS_SNPB = ("darveaux", "engelmaier", "syed_energy", "syed_strain")
#: study keys of [fatigue] that are not life models (metric choice, read by study.spec.FatigueSpec)
METRIC_KEYS = ("averaging", "hotspot_volume")


def solder_family(solder: str | None) -> str | None:
    """'SnPb', 'SAC' or None (unknown, or an inline material table) for a solder library name."""
    if not isinstance(solder, str):
        return None
    s = solder.replace(" ", "").lower()
    if _is_snpb(s) or s.startswith(("sn63pb", "snpb", "pbsn", "63sn37pb", "sn62pb")):
        return "SnPb"
    if s.startswith(("sac", "snag", "snagcu")):
        return "SAC"
    return None


def default_model_names(solder: str | None) -> tuple[str, ...]:
    return DEFAULT_MODELS_SNPB if solder_family(solder) == "SnPb" else DEFAULT_MODELS


def solder_caveat(model: str, solder: str | None) -> str:
    """Extra caveat when a life model's constants are not for the study's solder ('' when they are)."""
    fam = solder_family(solder)
    if model in ("syed_energy", "syed_strain") and fam != "SAC":
        what = "a SnPb solder" if fam == "SnPb" else f"the solder {solder!r}" if solder else "an inline solder"
        return (f"Syed's constants were fitted to SAC joints; applied here to {what} they have no published "
                "basis (no constants of this form were found for it, domain.md §2.2): read only the ratios, "
                "with care.")
    if model == "engelmaier" and fam is None:
        return (f"no Engelmaier constants for {solder or 'an inline solder'!s} (domain.md §2.3 has SnPb and a "
                "transcribed SAC set); the SnPb set is used.")
    return ""


def model_names(spec: dict | None, key: str = "fatigue", solder: str | None = None) -> list[str]:
    """The life-model names of a [fatigue] table in order (the first is the headline model): `models`, or the
    defaults of the solder (default_model_names) plus every model with a constants table."""
    spec = {} if spec is None else spec
    if not isinstance(spec, dict):
        raise InputError(key, spec, "a table")
    spec = {k: v for k, v in spec.items() if k not in METRIC_KEYS}
    defaults = default_model_names(solder)
    models = spec.get("models", list(defaults) + [k for k in spec if k not in defaults])
    if not isinstance(models, (list, tuple)) or not models or not all(isinstance(m, str) for m in models):
        raise InputError(f"{key}.models", models, "a non-empty list of model names (e.g. [\"syed_strain\"]) from "
                         + ", ".join(LIFE_MODELS))
    return list(models)


def life_models_from_spec(spec: dict | None, solder: str | None = None, key: str = "fatigue") -> dict:
    """Life models from a study's [fatigue] table -> {name: model}, in the order given.

        [fatigue]
        models = ["syed_energy", "darveaux", "engelmaier"]   # default: syed_energy, syed_strain, engelmaier
                                                             # + any model with a table below
        [fatigue.syed_energy]
        C = 0.00165
        [fatigue.darveaux]                                   # SAC: user constants, tied to the layer thickness
        K1 = ...; K2 = ...; K3 = ...; K4 = ...; units = "MPa-mm"; layer_thickness = 0.025; crack_length = 0.25
        [fatigue.engelmaier]
        alloy = "SAC"; F = 1.0

    `solder` (e.g. "SAC305", "SnPb") picks default constant sets (Engelmaier alloy, Darveaux SnPb)."""
    spec = {} if spec is None else spec
    models = model_names(spec, key, solder)
    spec = {k: v for k, v in spec.items() if k not in METRIC_KEYS}
    for k, v in spec.items():
        if k != "models" and k not in LIFE_MODELS:
            raise InputError(f"{key}.{k}", v, "'models' or a table named after a model: " + ", ".join(LIFE_MODELS))
        if k != "models" and k not in models:
            raise InputError(f"{key}.{k}", v, f"constants only for models listed in {key}.models ({models})")
    out = {}
    for name in models:
        if name not in LIFE_MODELS:
            raise InputError(f"{key}.models", name, ", ".join(LIFE_MODELS))
        table = spec.get(name, {})
        if not isinstance(table, dict):
            raise InputError(f"{key}.{name}", table, "a table of constants")
        out[name] = LIFE_MODELS[name].from_spec(table, f"{key}.{name}", solder=solder)
    return out


def evaluate_lives(models: dict, **inputs) -> dict:
    """{name: Nf or None}: None where a model's inputs are missing (e.g. Darveaux without a crack length)."""
    res = {}
    for name, m in models.items():
        kw = {k: inputs[k] for k in m.requires if inputs.get(k) is not None}
        missing = [k for k in m.requires if k not in kw and not (k == "crack_length" and
                                                                   getattr(m, "crack_length", None) is not None)]
        res[name] = None if missing else m.life(**kw)
    return res


# ---------------------------------------------------------------------------------------------------------------
# Per-cycle metrics
# ---------------------------------------------------------------------------------------------------------------
STABILISATION_RTOL = 0.05      # [S5]: warn when the last two cycles differ by more than 5 %


def per_cycle_increments(cycle, values, time_s=None, cycle_bounds=None, atol_t: float = 1e-6):
    """Increase of accumulated `values` (n,) or (n, m) over each cycle k >= 1 present in `cycle` (n,).

    Returns (cycles (K,), increments (K,) or (K, m), complete (K,) bool). Rows must be in time order. The start
    value of cycle k is the value at the last row before its first row (row 0 if none). `complete` is True
    unless `cycle_bounds` ((N, 2) start/end times) and `time_s` show that the last row of the cycle stops short
    of its end (a run that failed mid-cycle)."""
    cyc = np.asarray(cycle).astype(int)
    v = np.asarray(values, dtype=float)
    if v.shape[0] != cyc.shape[0] or cyc.ndim != 1:
        raise ValueError(f"cycle {cyc.shape} and values {v.shape} must have the same number of rows")
    if np.any(np.diff(cyc) < 0):
        raise ValueError("rows must be in time order (cycle index non-decreasing)")
    ks = np.unique(cyc[cyc >= 1])
    last = np.searchsorted(cyc, ks, side="right") - 1           # last row of cycle k
    first = np.searchsorted(cyc, ks, side="left")               # first row of cycle k
    before = np.maximum(first - 1, 0)
    inc = v[last] - v[before]
    complete = np.ones(len(ks), bool)
    if cycle_bounds is not None and time_s is not None:
        t = np.asarray(time_s, float)
        ends = np.asarray(cycle_bounds, float)[ks - 1, 1]
        complete = t[last] >= ends - atol_t * np.maximum(1.0, ends)
    return ks, inc, complete


def stabilisation_warning(values, label: str = "ΔW", rtol: float = STABILISATION_RTOL) -> str | None:
    """Warning text when the last two per-cycle values differ by more than rtol (relative to the one before);
    also when fewer than two cycles are available."""
    x = np.asarray(values, float)
    if x.shape[0] < 2:
        return f"{label}: only {x.shape[0]} complete cycle(s); stabilisation not checked (simulate >= 2, usually 3)"
    rel = relative_change(x[-2], x[-1])
    if np.any(np.abs(rel) > rtol):
        r = float(np.max(np.abs(rel)))
        return (f"{label} not stabilised: last two cycles differ by {100 * r:.1f} % (> {100 * rtol:g} %, relative "
                "to the cycle before); simulate more cycles")
    return None


def relative_change(previous, value):
    """(value - previous) / |previous|: the cycle-to-cycle change used by the stabilisation warnings and the
    per-cycle tables (one definition, so that they quote the same percentage)."""
    a = np.asarray(previous, float)
    return (np.asarray(value, float) - a) / np.maximum(np.abs(a), 1e-300)


@dataclass(frozen=True)
class CycleMetrics:
    """Per-cycle ΔW (MPa) and Δε_in of one region; stabilised = last complete cycle."""
    cycles: np.ndarray
    dW: np.ndarray
    deps_in: np.ndarray
    complete: np.ndarray
    warning: str | None

    @property
    def stabilized_dW(self) -> float | None:
        ok = np.flatnonzero(self.complete)
        return float(self.dW[ok[-1]]) if ok.size else None

    @property
    def stabilized_deps_in(self) -> float | None:
        ok = np.flatnonzero(self.complete)
        return float(self.deps_in[ok[-1]]) if ok.size else None

    def per_cycle(self) -> list[dict]:
        """Rows for summary.json: [{"cycle": 1, "dW_MPa": ..., "deps_in": ..., "complete": true}, ...]."""
        return [{"cycle": int(k), "dW_MPa": float(w), "deps_in": float(e), "complete": bool(c)}
                for k, w, e, c in zip(self.cycles, self.dW, self.deps_in, self.complete)]


def cycle_metrics(time_s, cycle, w_in, eps_in_eq, cycle_bounds=None, rtol: float = STABILISATION_RTOL,
                  region: str = "") -> CycleMetrics:
    """Per-cycle ΔW and Δε_in from volume-averaged accumulated w_in and eps_in_eq of one region, the stabilised
    values (last complete cycle) and a warning when the last two complete cycles differ by more than rtol."""
    ks, dW, done = per_cycle_increments(cycle, w_in, time_s, cycle_bounds)
    _, de, _ = per_cycle_increments(cycle, eps_in_eq, time_s, cycle_bounds)
    where = f"{region}: " if region else ""
    msgs = [m for m in (stabilisation_warning(dW[done], f"{where}ΔW", rtol),
                        stabilisation_warning(de[done], f"{where}Δε_in", rtol)) if m]
    if not np.all(done):
        msgs.insert(0, f"{where}cycle(s) {', '.join(str(int(k)) for k in ks[~done])} incomplete, not used")
    return CycleMetrics(ks, dW, de, done, "; ".join(msgs) if msgs else None)


def inelastic_strain_range(cycle, eps_in, ks=None) -> tuple[np.ndarray, np.ndarray]:
    """Alternative metric: per-cycle equivalent inelastic strain *range*,
    max over pairs of rows i, j in cycle k of sqrt(2/3 d:d), d = dev(ε_in(t_i) - ε_in(t_j)).

    eps_in: (n, 6) volume-averaged inelastic strain tensor history as Mandel 6-vectors (xx, yy, zz, xy, xz, yz;
    shear scaled by sqrt(2), fem_wlp.materials.base), so d:d is a plain dot product. The row before a cycle's
    first row is included (the cycle's start state). Returns (cycles, ranges). Cost O(n_k²) per cycle."""
    cyc = np.asarray(cycle).astype(int)
    e = np.asarray(eps_in, float)
    if e.ndim != 2 or e.shape[1] != 6 or e.shape[0] != cyc.shape[0]:
        raise ValueError(f"eps_in must be (n, 6) Mandel vectors matching cycle (n,), got {e.shape}")
    dev = e.copy()
    dev[:, :3] -= e[:, :3].mean(axis=1, keepdims=True)
    ks = np.unique(cyc[cyc >= 1]) if ks is None else np.asarray(ks)
    out = np.empty(len(ks))
    for i, k in enumerate(ks):
        rows = np.flatnonzero(cyc == k)
        if rows.size == 0:
            out[i] = np.nan
            continue
        rows = np.concatenate([[max(rows[0] - 1, 0)], rows])
        x = dev[rows]
        gram = x @ x.T
        sq = np.diag(gram)[:, None] + np.diag(gram)[None, :] - 2.0 * gram
        out[i] = math.sqrt(max(float(sq.max()), 0.0) * 2.0 / 3.0)
    return ks, out


# ---------------------------------------------------------------------------------------------------------------
# Hot-spot volume: a fixed amount of solder around the element with the largest ΔW
# ---------------------------------------------------------------------------------------------------------------
def hotspot_set(centroids, volumes, dW, target: float) -> np.ndarray:
    """Indices of the elements nearest (centroid distance) to the element with the largest `dW`, the max
    first, taken in order of distance until their volume reaches `target`.

    centroids (d, n), volumes (n,) > 0, dW (n,). The selected volume V satisfies target <= V < target +
    (volume of the last element taken), or V = the whole set when target exceeds it. Vectorised: one argsort
    and one cumulative sum."""
    c = np.asarray(centroids, float)
    vol = np.asarray(volumes, float)
    w = np.asarray(dW, float)
    if c.ndim != 2 or c.shape[1] != vol.shape[0] or w.shape != vol.shape or vol.size == 0:
        raise ValueError(f"centroids (d, n), volumes (n,) and dW (n,) expected, got {c.shape}, {vol.shape}, "
                         f"{w.shape}")
    i = int(np.argmax(w))
    d = np.linalg.norm(c - c[:, i:i + 1], axis=0)
    d[i] = -1.0                                             # the max comes first even with coincident centroids
    order = np.argsort(d, kind="stable")
    n = int(np.searchsorted(np.cumsum(vol[order]), target, side="left")) + 1
    return order[:min(n, order.size)]


def set_average(values, volumes, index) -> np.ndarray:
    """Volume average of `values` (..., n) over the elements `index`."""
    v = np.asarray(volumes, float)[index]
    return (np.asarray(values, float)[..., index] * v).sum(axis=-1) / v.sum()
