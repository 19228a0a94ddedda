"""The material library: named, sourced parameter sets as plain spec dicts.

Each entry has the same shape as an inline material of a study file (`model`, the model's parameters, and the
descriptive keys `source`, `sources`, `description`), so a study can write `solder = "SAC305"` or copy the entry
inline and change a value. Units: MPa, 1/K, K, 1/s, °C.

Every parameter carries its source in `sources`, with the confidence label of the project's reference data
(domain.md; the [Sx] tags resolve in its source list, shipped as package data: `data/sources.md`, read by
`source_list()`, printed by `fem-wlp materials --sources`):

- "sourced"             the number was read in the cited text
- "computed"            derived here from sourced numbers (the method is stated)
- "textbook, unsourced" a well-known value without a retrieved primary source -- check it before relying on it
- "assumed"             no value in the reference at all; a stand-in, stated as such

Thermal expansion is given as SECANT coefficients about `T_alpha` (25 °C here); the thermal strain is
eps_th = alpha_sec(T) (T - T_alpha) - alpha_sec(T0) (T0 - T_alpha) (CalculiX *EXPANSION, ZERO= form). Where the
reference gives an instantaneous CTE that varies with temperature (silicon: Okada & Tokumaru; polymers and
laminates: alpha1 below Tg, alpha2 above), it is integrated here to the secant form
alpha_sec(T) = 1/(T - 25) * int_25^T alpha(T') dT'  and tabulated; linear interpolation between the nodes.

Not in the library, on purpose:
- SnPb Garofalo (Darveaux 1992, 62Sn36Pb2Ag): the Darveaux form
  d(gamma)/dt = C1 (G/T) [sinh(alpha tau / G)]^n exp(-Q/kT) has a temperature-dependent prefactor G(T)/T and a
  temperature-dependent stress scale alpha/G(T). It maps onto the Garofalo form C1 [sinh(C2 sigma)]^C3
  exp(-Q/RT) (constant C1, C2) only with a shear modulus law G(T) for the alloy, which the reference does not
  give; C1 = 0.114 K/(s psi) is also a shear-rate constant in psi. An honest conversion needs G(T) from the
  primary paper, so the set is left out rather than converted with an invented G.
- SAC Garofalo, Zhang 2004: shear-based; the reference warns "convert before use" without the convention
  (engineering vs tensor shear), so it is left out.
- SAC405 / SAC387 Anand sets: NOT FOUND in the reference.
- The "Lau 2012" SAC305 Anand set: marked unreliable in the reference.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources

import numpy as np

# ------------------------------------------------------------------------------------------------------------
# source strings (reference: domain.md; its source list is data/sources.md)
# ------------------------------------------------------------------------------------------------------------
REF = "domain.md"
T_ALPHA = 25.0          # °C, reference temperature of every secant alpha table in this library
T_ALPHA_SOURCE = ("convention: secant alpha tables of this library are taken about T_alpha = 25 °C "
                  "(computed)")


def _src(tag: str, where: str, label: str) -> str:
    return f"{tag} {REF}: {where} ({label})"


# ------------------------------------------------------------------------------------------------------------
# secant thermal-expansion tables
# ------------------------------------------------------------------------------------------------------------
#: temperatures (°C) of the tabulated secant alphas: covers JESD22-A104 (-65...150 °C), the SAC305 solidus
#: (217 °C) and a margin
_GRID = (-65.0, -55.0, -40.0, -25.0, 0.0, 25.0, 50.0, 75.0, 100.0, 125.0, 150.0, 175.0, 200.0, 217.0, 250.0)


def okada_alpha(T_C: float) -> float:
    """Instantaneous CTE of silicon (1/K), Okada & Tokumaru (JAP 56, 1984) as given in domain.md §5 [S5]:
    alpha(T) = [3.725 (1 - exp(-5.88e-3 (T - 124))) + 5.548e-4 T] 1e-6, T in K."""
    T = T_C + 273.15
    return (3.725 * (1.0 - math.exp(-5.88e-3 * (T - 124.0))) + 5.548e-4 * T) * 1e-6


def _okada_antiderivative(T_C: float) -> float:
    T, k = T_C + 273.15, 5.88e-3
    return (3.725 * (T + math.exp(-k * (T - 124.0)) / k) + 5.548e-4 * T * T / 2.0) * 1e-6


def okada_alpha_secant(T_C: float, T_ref: float = T_ALPHA) -> float:
    """Secant CTE about T_ref: the exact integral of the Okada formula divided by (T - T_ref)."""
    if abs(T_C - T_ref) < 1e-9:
        return okada_alpha(T_ref)
    return (_okada_antiderivative(T_C) - _okada_antiderivative(T_ref)) / (T_C - T_ref)


def bilinear_alpha_secant(alpha1: float, alpha2: float, Tg: float, T_C: float, T_ref: float = T_ALPHA) -> float:
    """Secant CTE about T_ref (< Tg) of an instantaneous CTE alpha1 below Tg and alpha2 above."""
    if T_C <= Tg:
        return alpha1
    return (alpha1 * (Tg - T_ref) + alpha2 * (T_C - Tg)) / (T_C - T_ref)


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def _okada_table():
    return [[T, _sig(okada_alpha_secant(T))] for T in _GRID]


def _glassy_table(alpha1: float, alpha2: float, Tg: float):
    """Secant table with nodes every 10 °C above Tg (the secant bends there), up to 250 °C."""
    temps = [-65.0, T_ALPHA, Tg]
    t = math.floor(Tg / 10.0) * 10.0 + 10.0
    while t <= 250.0:
        temps.append(t)
        t += 10.0
    temps = sorted(set(temps))
    return [[T, _sig(bilinear_alpha_secant(alpha1, alpha2, Tg, T))] for T in temps]


# ------------------------------------------------------------------------------------------------------------
# Norton fit of the SAC305 Anand steady state (for CalculiX cross-checks, which has *CREEP power law)
# ------------------------------------------------------------------------------------------------------------
def anand_saturation_stress(p: dict, T_C, rate):
    """Anand steady-state flow stress sigma_sat = (s_hat z^n / xi) asinh(z^m), z = (rate/A) exp(Q/RT)
    (domain.md §1.1, [S1])."""
    z = np.asarray(rate) / p["A"] * np.exp(p["Q_over_R"] / (np.asarray(T_C) + 273.15))
    return p["s_hat"] * z ** p["n"] / p["xi"] * np.arcsinh(z ** p["m"])


def norton_fit_to_anand(p: dict, T_range=(-40.0, 125.0), rate_range=(1e-6, 1e-3), nT=12, nrate=7):
    """Least-squares Norton fit rate = A sigma^n exp(-Q_over_R / T[K]) to the Anand steady state.

    Grid: nT temperatures evenly over T_range (°C) x nrate strain rates log-evenly over rate_range (1/s);
    regression of ln(sigma_sat) on [1, ln(rate), 1/T]: ln sigma = b0 + b1 ln rate + b2/T gives n = 1/b1,
    Q_over_R = b2 n, ln A = -b0 n. Returns (A, n, Q_over_R, rms and max relative stress error).
    """
    Ts = np.linspace(*T_range, nT)
    rates = np.logspace(math.log10(rate_range[0]), math.log10(rate_range[1]), nrate)
    TT, RR = (g.ravel() for g in np.meshgrid(Ts, rates))
    S = anand_saturation_stress(p, TT, RR)
    X = np.column_stack([np.ones_like(TT), np.log(RR), 1.0 / (TT + 273.15)])
    b = np.linalg.lstsq(X, np.log(S), rcond=None)[0]
    n = 1.0 / b[1]
    Q = b[2] * n
    A = math.exp(-b[0] * n)
    S_fit = (RR / A * np.exp(Q / (TT + 273.15))) ** (1.0 / n)
    err = S_fit / S - 1.0
    return {"A": A, "n": n, "Q_over_R": Q, "rms_rel_err": float(np.sqrt(np.mean(err ** 2))),
            "max_rel_err": float(np.max(np.abs(err)))}


# ------------------------------------------------------------------------------------------------------------
# shared parameter blocks
# ------------------------------------------------------------------------------------------------------------
_SAC305_E = [[-40.0, 57400.0], [25.0, 46500.0], [75.0, 38200.0], [125.0, 30000.0], [217.0, 14800.0]]
_SAC305_ELASTIC = {"E": _SAC305_E, "nu": 0.40, "alpha": 22.5e-6}
_SAC305_ELASTIC_SOURCES = {
    "E": _src("[S5]", "§1.5 SAC305 E(T) (citing arXiv:2204.05583 Table 1)",
              "sourced at -40/25/75/125 °C; the 217 °C point (14.8 GPa, solidus) is the linear extrapolation "
              "domain.md gives, computed") + "; the table holds its end values outside -40...217 °C",
    "nu": _src("[S5]", "§1.5 SAC305 nu", "sourced; NIST [S11] also gives 0.4"),
    "alpha": _src("[S5]", "§1.5 SAC305 CTE 22.5 ppm/°C", "sourced"),
}

_SAC305_ANAND = {"s0": 21.0, "Q_over_R": 9320.0, "A": 3501.0, "xi": 4.0, "m": 0.25,
                 "h0": 180000.0, "s_hat": 30.2, "n": 0.01, "a": 1.78}
_MOTALAB = ("[S1], [S4], [S5] {ref}: §1.2 SAC305 Motalab, Cai, Suhling & Lall, ITherm 2012 (non-aged) "
            "(sourced, 3 independent transcriptions)").format(ref=REF)
_SAC305_ANAND_SOURCES = {k: _MOTALAB for k in _SAC305_ANAND}
_SAC305_ANAND_SOURCES["h0"] = _MOTALAB + "; 180 000 MPa is the dissertation value (MDPI 2023 misprints 18 000)"

_SNPB_ANAND = {"s0": 12.41, "Q_over_R": 9400.0, "A": 4.0e6, "xi": 1.5, "m": 0.303,
               "h0": 1378.95, "s_hat": 13.79, "n": 0.07, "a": 1.3}
_WANG = ("[S1], [S4] {ref}: §1.2 62Sn36Pb2Ag, Wang/Cheng et al. 2000-2001 (Cheng, Wang, Chen, Wilde & Becker, "
         "SSMT 12(2) 2000) (sourced, 2 transcriptions; widely used as the Sn63Pb37 default)").format(ref=REF)

_SNPB_ELASTIC = {"E": 30000.0, "nu": 0.36, "alpha": 24.0e-6}
_SNPB_ELASTIC_SOURCES = {
    "E": _src("[S12]", "§1.5 Sn63Pb37 E 30 GPa (RT)", "sourced") + "; held constant (domain.md lists E(T) = 75 842 - 152 T[K] MPa "
         "as a lower-confidence alternative)",
    "nu": _src("", "Recommended defaults, SnPb elastic nu 0.36 (range 0.35-0.40)", "textbook, unsourced").strip(),
    "alpha": _src("[S12]", "§1.5 Sn63Pb37 CTE 24.0 ppm/°C", "sourced"),
}

# SAC Garofalo sets: the reference gives no elastic data specific to SAC387 / the Schubert or Shirley alloys,
# so they carry the SAC305 elastic block, labelled as such.
_SAC_ELASTIC_FOR_GAROFALO_SOURCES = {
    k: v + " -- SAC305 value used for this SAC alloy (assumed: no alloy-specific value in domain.md)"
    for k, v in _SAC305_ELASTIC_SOURCES.items()}

_CU_ELASTIC = {"E": 130000.0, "nu": 0.34, "alpha": 17.7e-6}
_CU_ELASTIC_SOURCES = {
    "E": _src("[S43]", "§5 electroplated Cu (RDL/UBM) 130 GPa (18 850 ksi), PMC table IEEE Trans. Reliab. 2018",
              "sourced"),
    "nu": _src("[S43]", "§5 electroplated Cu nu 0.34", "sourced"),
    "alpha": _src("[S43]", "§5 electroplated Cu CTE 17.7 ppm/°C", "sourced"),
}

_SI_ALPHA_SOURCE = (_src("[S5]", "§5 Silicon alpha(T), Okada & Tokumaru JAP 56:314 (1984)",
                         "sourced formula; table computed")
                    + ": the Okada formula is an instantaneous CTE; tabulated here as the secant CTE about "
                    "25 °C, alpha_sec(T) = 1/(T-25) int_25^T alpha dT, integrated in closed form "
                    "(okada_alpha_secant)")


# -- copper for cycling (Cu_cyclic): E(T) and sigma_y(T) from the relative trends of dispersion-strengthened copper
# ([S60] Table 1) applied to the electroplated-copper values at room temperature; C, gamma NOT FOUND (see below)
#: [S60] Table 1: E of DS copper (GPa) at 300, 400, 500, 600 K
_DSCU_E = ((26.85, 134.04), (126.85, 126.96), (226.85, 119.74), (326.85, 112.37))
#: [S60] Table 1: yield stress of Glidcop Al-15 (MPa) at 20, 100, 200, 250, 300 °C
_GLIDCOP_SY = ((20.0, 330.0), (100.0, 310.0), (200.0, 285.0), (250.0, 254.0), (300.0, 230.0))
_CU_E25 = 130000.0
_CU_SY25 = 200.0


def _relative_table(points, value_at_first: float):
    """[[T, value_at_first * v(T) / v(T_first)], ...]: a sourced relative trend applied to another material."""
    v0 = points[0][1]
    return [[T, _sig(value_at_first * v / v0)] for T, v in points]


_CU_E_T = _relative_table(_DSCU_E, _CU_E25)
_CU_SY_T = _relative_table(_GLIDCOP_SY, _CU_SY25)
#: Armstrong-Frederick constants: C = the textbook bilinear hardening modulus; gamma from an assumed saturation
#: sigma_y + C/gamma = 262 MPa at 25 °C (the upper electroplated-Cu tensile strength of [S62])
_CU_C = 1500.0
_CU_GAMMA = _sig(_CU_C / (262.0 - _CU_SY25), 4)
#: Cu_cyclic_lowyield: the same monotonic anchors (200 MPa at 0.2 % plastic strain, saturation 262 MPa) with an
#: assumed elastic limit of 100 MPa: sigma_y0 + C/gamma (1 - exp(-0.002 gamma)) = 200, sigma_y0 + C/gamma = 262
_CU_LOW_SY25 = 100.0
_CU_LOW_GAMMA = _sig(-math.log(1.0 - (200.0 - _CU_LOW_SY25) / (262.0 - _CU_LOW_SY25)) / 0.002, 4)
_CU_LOW_C = _sig(_CU_LOW_GAMMA * (262.0 - _CU_LOW_SY25), 4)

# -- temperature-dependent polymers and board
#: [S61]: vapour-deposited PMDA-ODA polyimide, E = 5.5 GPa at 10 K and 1.8 GPa at 573 K (two end points)
_PMDA_ODA = ((10.0 - 273.15, 5.5), (573.0 - 273.15, 1.8))


def _pi_modulus_table(E25: float):
    """E25 (MPa at 25 °C) scaled by the [S61] trend, taken linear in T between its two end points (assumed);
    nodes at -65 and 300 °C (linear, so two nodes are exact)."""
    (T1, E1), (T2, E2) = _PMDA_ODA

    def trend(T):
        return E1 + (E2 - E1) * (T - T1) / (T2 - T1)
    return [[T, _sig(E25 * trend(T) / trend(25.0))] for T in (-65.0, 300.0)]


#: FR-4 glass transition and the CTE above it (instantaneous), for FR4_Tg
_FR4_TG = 170.0
_FR4_Z_ABOVE = 4.0 * 84e-6           # [S32]: z-CTE about 4x higher above Tg
_FR4_XY_ABOVE = _sig(16e-6 * 0.5 * (14.0 / 13.0 + 17.0 / 14.0), 4)   # HR370 [S32] in-plane ratios above/below Tg


def _ortho_sources(common: str, **override) -> dict:
    keys = ("E1", "E2", "E3", "nu12", "nu13", "nu23", "G12", "G13", "G23", "alpha1", "alpha2", "alpha3")
    out = {k: common for k in keys}
    out.update(override)
    return out


# ------------------------------------------------------------------------------------------------------------
# the library
# ------------------------------------------------------------------------------------------------------------
_FR4_SRC = _src("", "§5 / Recommended defaults, FR-4 orthotropic set (use as default)", "textbook, unsourced").strip()
_HR370 = _src("[S32]", "§5 High-Tg FR-4 (Isola HR370), PMC laminate table IEEE Trans. Reliab. 68(1) 2018",
              "sourced")
_HR370_G = 25800.0 / (2.0 * (1.0 + 0.177))            # isotropic shear modulus G = E / (2 (1 + nu))

# SAC305 Norton fit: numbers pasted from norton_fit_to_anand(_SAC305_ANAND) (defaults: 12 temperatures over
# -40...125 °C x 7 strain rates over 1e-6...1e-3 /s, least squares on ln sigma_sat). The fit gives
# A = 8.1817e-10 1/(s MPa^n), n = 11.393, Q_over_R = 8502.0 K with an rms stress error of 9.2 % and a maximum
# of 37 % (at the corners -40 °C / 1e-3 /s and 125 °C / 1e-6 /s: the Anand rate sensitivity varies with T,
# which a single power law cannot follow). tests/test_library.py re-runs the fit and checks these numbers.
_SAC305_NORTON = {"A": 8.1817e-10, "n": 11.393, "Q_over_R": 8502.0}
_NORTON_SRC = ("computed: least-squares Norton fit to the SAC305 Anand (Motalab 2012, [S1]/[S4]/[S5]) "
               "steady-state flow stress over -40...125 °C and 1e-6...1e-3 /s (norton_fit_to_anand); "
               "rms stress error 9.2 %, max 37 %")

LIBRARY: dict[str, dict] = {
    # -- silicon --------------------------------------------------------------------------------------------
    "Si": {
        "model": "elastic",
        "description": "Silicon die, isotropic (E<100> = 130 GPa), Okada alpha(T) as secant table",
        "source": f"[S5] {REF}: §5 Silicon",
        "E": 130000.0, "nu": 0.28, "alpha": _okada_table(), "T_alpha": T_ALPHA,
        "sources": {
            "E": _src("[S5]", "§5 Silicon isotropic option 130 GPa (= E<100>, Hopcroft JMEMS 2010)", "sourced"),
            "nu": _src("[S5]", "§5 Silicon nu 0.28", "sourced"),
            "alpha": _SI_ALPHA_SOURCE,
            "T_alpha": T_ALPHA_SOURCE,
        },
    },
    "Si_cubic": {
        "model": "cubic",
        "description": "Silicon die, cubic single crystal (crystal <100> along the mesh axes; set rotation_deg "
                       "= 45 for <110> along x), Okada alpha(T) as secant table",
        "source": f"[S5], [S39] {REF}: §5 Silicon",
        "C11": 165700.0, "C12": 63900.0, "C44": 79600.0, "alpha": _okada_table(), "T_alpha": T_ALPHA,
        "sources": {
            "C11": _src("[S5], [S39]", "§5 Silicon C11 = 165.7 GPa (Hopcroft JMEMS 2010)", "sourced"),
            "C12": _src("[S5], [S39]", "§5 Silicon C12 = 63.9 GPa (Hopcroft JMEMS 2010)", "sourced"),
            "C44": _src("[S5], [S39]", "§5 Silicon C44 = 79.6 GPa (Hopcroft JMEMS 2010)", "sourced"),
            "alpha": _SI_ALPHA_SOURCE,
            "T_alpha": T_ALPHA_SOURCE,
        },
    },
    # -- copper, nickel, intermetallics ---------------------------------------------------------------------
    "Cu": {
        "model": "elastic",
        "description": "Electroplated copper (RDL, UBM, pads), linear elastic",
        "source": f"[S43] {REF}: §5 Electroplated Cu",
        **_CU_ELASTIC, "sources": dict(_CU_ELASTIC_SOURCES),
    },
    "Cu_plastic": {
        "model": "plastic",
        "description": "Electroplated copper, J2 plasticity with linear isotropic hardening "
                       "(yield and hardening are textbook values)",
        "source": f"[S43] {REF}: §5 Electroplated Cu; plasticity textbook",
        **_CU_ELASTIC,
        "yield_stress": 200.0, "hardening_modulus": 1500.0, "hardening": "isotropic",
        "sources": {
            **_CU_ELASTIC_SOURCES,
            "yield_stress": _src("", "§5 Cu plasticity (electroplated) yield 150-300 MPa; Recommended defaults "
                                 "sigma_y ~ 200 MPa", "textbook, unsourced").strip(),
            "hardening_modulus": _src("", "§5 Cu plasticity bilinear tangent modulus 1-2 GPa",
                                      "textbook, unsourced").strip()
            + "; 1500 MPa taken as the plastic hardening modulus dsigma/deps_p, i.e. a bilinear tangent "
              "E H/(E+H) = 1.48 GPa, inside the 1-2 GPa range",
            "hardening": "assumed: isotropic hardening (monotonic and first-cycle default; "
                         "use hardening = \"kinematic\" for cyclic studies)",
        },
    },
    "Cu_cyclic": {
        "model": "chaboche",
        "description": "Electroplated copper for cycling: J2 plasticity with Armstrong-Frederick kinematic hardening "
                       "(Bauschinger effect, no shakedown by isotropic growth), E(T) and sigma_y(T). The default "
                       "copper of the build-up (RDL, UBM, board pad); C and gamma are NOT FOUND for electroplated "
                       "copper and are assumed (see sources)",
        "source": f"[S43] {REF}: §5 Electroplated Cu; [S60] DS-copper E(T), sigma_y(T) trends; [S62]",
        "E": _CU_E_T, "nu": 0.34, "alpha": 17.7e-6,
        "yield_stress": _CU_SY_T, "C": _CU_C, "gamma": _CU_GAMMA,
        "sources": {
            "E": _src("[S43]", "§5 electroplated Cu 130 GPa at room temperature", "sourced")
            + "; temperature trend: [S60] Table 1, E of dispersion-strengthened copper at 300/400/500/600 K "
              "(134.0/127.0/119.7/112.4 GPa, sourced for that alloy) scaled to 130 GPa at 26.85 °C (computed; "
              "assumed: electroplated Cu follows the same relative trend). Below 27 °C held at 130 GPa (the "
              "[S60] data start at 300 K). Electroplated-copper E(T): NOT FOUND",
            "nu": _CU_ELASTIC_SOURCES["nu"],
            "alpha": _CU_ELASTIC_SOURCES["alpha"],
            "yield_stress": _src("", "§5 Cu plasticity (electroplated) yield 150-300 MPa; Recommended defaults "
                                 "sigma_y ~ 200 MPa", "textbook, unsourced").strip()
            + " at 20 °C; temperature trend: [S60] Table 1, yield stress of Glidcop Al-15 at 20/100/200/250/300 °C "
              "(330/310/285/254/230 MPa, sourced for that alloy) scaled to 200 MPa at 20 °C (computed; assumed: "
              "the same relative trend). Below 20 °C held at 200 MPa. Electroplated-copper sigma_y(T): NOT FOUND",
            "C": "NOT FOUND: no published Armstrong-Frederick/Chaboche constants for electroplated (or OFHC) copper "
                 "were found (domain.md has none; searches of public pages and docs, issue 14). Assumed: "
                 "C = 1500 MPa, the textbook bilinear tangent modulus of domain.md §5 (1-2 GPa, textbook, "
                 "unsourced) -- the initial kinematic slope of the AF law",
            "gamma": "NOT FOUND (as C). Assumed: gamma = C / (262 - 200) = 24.19, so that the monotonic stress "
                     "saturates at sigma_y + C/gamma = 262 MPa at 20 °C, the upper electroplated-Cu tensile "
                     "strength of [S62] (193-262 MPa, sourced; its use as the saturation is assumed)",
        },
    },
    "Cu_cyclic_lowyield": {
        "model": "chaboche",
        "description": "Electroplated copper for cycling, sensitivity case: as Cu_cyclic but with an assumed "
                       "elastic limit of 100 MPa and the Armstrong-Frederick constants refitted to the same "
                       "monotonic anchors (200 MPa at 0.2 % plastic strain, saturation 262 MPa): a smaller "
                       "elastic domain, so the copper keeps cycling plastically where Cu_cyclic shakes down",
        "source": f"[S43] {REF}: §5 Electroplated Cu; [S60] trends; [S62]; elastic limit assumed",
        "E": _CU_E_T, "nu": 0.34, "alpha": 17.7e-6,
        "yield_stress": _relative_table(_GLIDCOP_SY, _CU_LOW_SY25), "C": _CU_LOW_C, "gamma": _CU_LOW_GAMMA,
        "sources": {
            "E": "as Cu_cyclic: [S43] 130 GPa at room temperature (sourced) with the [S60] DS-copper relative "
                 "trend (computed, transfer assumed)",
            "nu": _CU_ELASTIC_SOURCES["nu"],
            "alpha": _CU_ELASTIC_SOURCES["alpha"],
            "yield_stress": "assumed: elastic limit 100 MPa at 20 °C (half the textbook 0.2 % yield of domain.md "
                            "§5; no proportional limit of electroplated Cu was found), with the [S60] Glidcop "
                            "relative trend in T (computed)",
            "C": "NOT FOUND (see Cu_cyclic). Computed from assumed anchors: C = gamma (262 - 100) MPa, so that "
                 "the monotonic curve reaches 200 MPa (domain.md §5 textbook yield) at 0.2 % plastic strain and "
                 "saturates at 262 MPa ([S62] upper tensile strength, sourced; its use as saturation assumed)",
            "gamma": "NOT FOUND (see Cu_cyclic). Computed: gamma = -ln(1 - 100/162) / 0.002 from the same "
                     "assumed anchors",
        },
    },
    "Ni": {
        "model": "elastic",
        "description": "Nickel (UBM / ENIG Ni layer)",
        "source": f"{REF}: §5 Ni (textbook)",
        "E": 200000.0, "nu": 0.31, "alpha": 13.4e-6,
        "sources": {
            "E": _src("", "§5 Ni (UBM/ENIG) E ~ 200 GPa", "textbook, unsourced").strip(),
            "nu": _src("", "§5 Ni nu 0.31", "textbook, unsourced").strip(),
            "alpha": _src("", "§5 Ni CTE ~ 13.4 ppm/°C", "textbook, unsourced").strip(),
        },
    },
    "SiN_passivation": {
        "model": "elastic",
        "description": "Chip passivation (PECVD silicon nitride); the reference has no passivation data",
        "source": f"{REF}: passivation properties NOT FOUND; textbook PECVD SiN values (unsourced)",
        "E": 200000.0, "nu": 0.25, "alpha": 3.0e-6,
        "sources": {
            "E": "NOT FOUND in domain.md; PECVD SiN ~150-250 GPa (textbook, unsourced)",
            "nu": "NOT FOUND in domain.md; ~0.25 (textbook, unsourced)",
            "alpha": "NOT FOUND in domain.md; ~2-3.5 ppm/K (textbook, unsourced)",
        },
    },
    "Cu6Sn5": {
        "model": "elastic",
        "description": "Cu6Sn5 intermetallic (eta phase); the eta' -> eta change at 186 °C is not modelled",
        "source": f"[S33] {REF}: §5 Cu6Sn5 IMC",
        "E": 97000.0, "nu": 0.31, "alpha": 17.5e-6,
        "sources": {
            "E": _src("[S33]", "§5 Cu6Sn5 E 97.0 GPa (nanoindentation, Xu & Pang 2006; 126 GPa first "
                      "principles)", "sourced"),
            "nu": _src("", "Recommended defaults, Cu6Sn5 nu 0.31", "textbook, unsourced").strip(),
            "alpha": _src("", "Recommended defaults, Cu6Sn5 CTE ~ 16-19 ppm", "textbook, unsourced").strip()
            + "; 17.5 ppm/°C = middle of the range (computed)",
        },
    },
    "Cu3Sn": {
        "model": "elastic",
        "description": "Cu3Sn intermetallic (epsilon phase); only E is sourced, nu and alpha are stand-ins "
                       "taken from Cu6Sn5",
        "source": f"[S33] {REF}: §5 Cu3Sn IMC",
        "E": 115700.0, "nu": 0.31, "alpha": 17.5e-6,
        "sources": {
            "E": _src("[S33]", "§5 Cu3Sn E 115.7 GPa (nanoindentation, aged; 134.16 GPa first principles)",
                      "sourced"),
            "nu": "assumed: domain.md gives no nu for Cu3Sn; Cu6Sn5's textbook 0.31 used (unsourced)",
            "alpha": "assumed: domain.md gives no CTE for Cu3Sn; Cu6Sn5's textbook 17.5 ppm/°C used (unsourced)",
        },
    },
    # -- polymers ---------------------------------------------------------------------------------------------
    "PI_HD4100": {
        "model": "elastic",
        "description": "Photosensitive polyimide, HD-4100-like (Tg ~ 350 °C); vendor datasheet not retrieved",
        "source": f"{REF}: §5 HD-4100 (textbook); [S34] for the generic PI range 3-4 GPa, 20-30 ppm",
        "E": 3400.0, "nu": 0.34, "alpha": 35.0e-6,
        "sources": {
            "E": _src("", "§5 HD-4100 (PI) E ~ 3.4 GPa (the recommended-defaults row rounds to 3.5)",
                      "textbook, unsourced").strip() + "; generic PI 3-4 GPa [S34] (sourced)",
            "nu": _src("", "§5 polyimide nu 0.34", "textbook, unsourced").strip(),
            "alpha": _src("", "§5 HD-4100 CTE ~ 35 ppm/°C", "textbook, unsourced").strip(),
        },
    },
    "PI_HD4100_T": {
        "model": "elastic",
        "description": "Photosensitive polyimide, HD-4100-like, with E(T) (3.4 GPa at 25 °C scaled by the trend of "
                       "vapour-deposited PMDA-ODA polyimide); Tg ~ 350 °C lies above the modelled range, so the "
                       "CTE is constant. The default polyimide (pi1, pi2, pi3)",
        "source": f"{REF}: §5 HD-4100 (textbook); [S61] for the E(T) trend",
        "E": _pi_modulus_table(3400.0), "nu": 0.34, "alpha": 35.0e-6,
        "sources": {
            "E": _src("", "§5 HD-4100 (PI) E ~ 3.4 GPa at room temperature", "textbook, unsourced").strip()
            + "; temperature trend: [S61] vapour-deposited PMDA-ODA polyimide, E = 5.5 GPa at 10 K and 1.8 GPa "
              "at 573 K (sourced for that polyimide), taken linear between its two points (assumed) and scaled "
              "to 3.4 GPa at 25 °C (computed): 3.96 GPa at -65 °C, 1.70 GPa at 300 °C. HD-4100 E(T): NOT FOUND",
            "nu": _src("", "§5 polyimide nu 0.34", "textbook, unsourced").strip(),
            "alpha": _src("", "§5 HD-4100 CTE ~ 35 ppm/°C; Tg ~ 350 °C", "textbook, unsourced").strip()
            + " (above the modelled range: no CTE jump)",
        },
    },
    "PBO_HD8820": {
        "model": "elastic",
        "description": "Photosensitive PBO, HD-8820-like (Tg ~ 260 °C); vendor datasheet not retrieved",
        "source": f"{REF}: §5 PBO HD-8820 (textbook)",
        "E": 2300.0, "nu": 0.34, "alpha": 64.0e-6,
        "sources": {
            "E": _src("", "§5 PBO, HD-8820 E ~ 2.3 GPa", "textbook, unsourced").strip(),
            "nu": "assumed: domain.md gives no nu for PBO; the polyimide textbook value 0.34 is used (unsourced)",
            "alpha": _src("", "§5 PBO, HD-8820 CTE ~ 64 ppm/°C", "textbook, unsourced").strip(),
        },
    },
    "PI_lowCTE": {
        "model": "elastic",
        "description": "Low-CTE polyimide, PI-2611-like (Tg > 360 °C). Isotropic stand-in: the 3 ppm/°C is the "
                       "in-plane CTE; the (larger) through-thickness CTE is not in the reference",
        "source": f"{REF}: §5 PI-2611 (textbook)",
        "E": 8500.0, "nu": 0.34, "alpha": 3.0e-6,
        "sources": {
            "E": _src("", "§5 PI-2611 (low-CTE PI) E ~ 8.5 GPa", "textbook, unsourced").strip(),
            "nu": "assumed: domain.md gives no nu for PI-2611; the polyimide textbook value 0.34 is used "
                  "(unsourced)",
            "alpha": _src("", "§5 PI-2611 CTE ~ 3 ppm/°C (in-plane)", "textbook, unsourced").strip()
            + "; applied isotropically (assumed)",
        },
    },
    "solder_mask": {
        "model": "elastic",
        "description": "Solder mask, Taiyo PSR-4000 AUS703 (Tg 105 °C by TMA); CTE alpha1 below Tg, alpha2 "
                       "above, as secant table. E and nu are estimates",
        "source": f"[S5] {REF}: §5 Solder mask (Taiyo PSR-4000 AUS703 TDS)",
        "E": 3000.0, "nu": 0.30, "alpha": _glassy_table(55e-6, 140e-6, 105.0), "T_alpha": T_ALPHA,
        "sources": {
            "E": _src("[S5]", "§5 Solder mask E ~ 3 GPa (estimate, 2-4)", "estimate given in the reference")
            + "; E(T) NOT FOUND (domain.md and the searched pages give no modulus above or below Tg 105 °C): "
              "held constant at every temperature",
            "nu": _src("[S5]", "§5 Solder mask nu 0.30 (estimate)", "estimate given in the reference"),
            "alpha": _src("[S5]", "§5 Solder mask alpha1 = 55, alpha2 = 140 ppm/°C, Tg 105 °C (Taiyo TDS)",
                          "sourced; table computed")
            + ": instantaneous CTE 55 ppm below Tg and 140 ppm above, integrated to the secant about 25 °C "
              "(bilinear_alpha_secant)",
            "T_alpha": T_ALPHA_SOURCE,
        },
    },
    # -- boards --------------------------------------------------------------------------------------------------
    "FR4": {
        "model": "orthotropic",
        "description": "FR-4 PCB laminate, orthotropic default set (axes 1, 2 in-plane, 3 through-thickness); "
                       "valid below Tg ~ 170 °C (above-Tg CTE not in the reference for this set)",
        "source": f"{REF}: §5 FR-4 orthotropic set (textbook); [S32] for the generic ranges",
        "E1": 22000.0, "E2": 22000.0, "E3": 10000.0,
        "nu12": 0.11, "nu13": 0.39, "nu23": 0.39,
        "G12": 10000.0, "G13": 3500.0, "G23": 3500.0,
        "alpha1": 16e-6, "alpha2": 16e-6, "alpha3": 84e-6,
        "sources": _ortho_sources(_FR4_SRC + "; generic FR-4 in-plane 17-26 GPa, nu_xy 0.11-0.18 [S32] (sourced)"),
    },
    "FR4_Tg": {
        "model": "orthotropic",
        "description": "FR-4 laminate, the orthotropic default set with a glass transition at Tg = 170 °C: "
                       "instantaneous CTEs below and above Tg integrated to secant tables (z 84 -> 336 ppm/K, "
                       "x/y 16 -> 18.4 ppm/K). Moduli above Tg NOT FOUND: held at the below-Tg values. The "
                       "default board",
        "source": f"{REF}: §5 FR-4 orthotropic set (textbook); [S32] for the above-Tg CTE ratios",
        "E1": 22000.0, "E2": 22000.0, "E3": 10000.0,
        "nu12": 0.11, "nu13": 0.39, "nu23": 0.39,
        "G12": 10000.0, "G13": 3500.0, "G23": 3500.0,
        "alpha1": 16e-6, "alpha2": 16e-6, "alpha3": 84e-6, "Tg": _FR4_TG,
        "alpha1_above_Tg": _FR4_XY_ABOVE, "alpha2_above_Tg": _FR4_XY_ABOVE, "alpha3_above_Tg": _FR4_Z_ABOVE,
        "T_alpha": T_ALPHA,
        "sources": {
            **_ortho_sources(_FR4_SRC + "; generic FR-4 in-plane 17-26 GPa, nu_xy 0.11-0.18 [S32] (sourced). "
                             "Above Tg: NOT FOUND in domain.md or the searched pages (a temperature-dependent FR-4 "
                             "characterization exists, Fu, Brown & Ume ECTC 1993, numbers not retrieved); the "
                             "below-Tg value is used at every temperature (assumed)"),
            "alpha1": _FR4_SRC + ": 16 ppm/K below Tg; above Tg 18.4 ppm/K = 16 x the mean of Isola HR370's "
                      "x and y ratios 14/13 and 17/14 ([S32], sourced for HR370; transfer assumed, computed)",
            "alpha2": _FR4_SRC + ": as alpha1 (computed from the [S32] HR370 ratios, transfer assumed)",
            "alpha3": _FR4_SRC + ": 84 ppm/K below Tg; above Tg 4 x 84 = 336 ppm/K ([S32]: standard laminates' "
                      "z-CTE is about 4x higher above Tg, sourced; applied to this set, computed)",
            "Tg": _src("", "§5 FR-4 orthotropic set Tg ~ 170 °C", "textbook, unsourced").strip(),
            "alpha1_above_Tg": "computed: see alpha1 ([S32] HR370 ratios, transfer assumed)",
            "alpha2_above_Tg": "computed: see alpha1 ([S32] HR370 ratios, transfer assumed)",
            "alpha3_above_Tg": "computed: 4 x 84 ppm/K ([S32] 'about 4x higher above Tg', sourced)",
            "T_alpha": T_ALPHA_SOURCE,
        },
    },
    "FR4_highTg": {
        "model": "orthotropic",
        "description": "High-Tg FR-4 laminate, Isola HR370 (Tg 180 °C): isotropic elastic (one sourced "
                       "modulus, assumed through the thickness too), orthotropic CTE (x/y/z), alpha1 below Tg "
                       "and alpha2 above as secant tables",
        "source": f"[S32] {REF}: §5 High-Tg FR-4 (Isola HR370)",
        "E1": 25800.0, "E2": 25800.0, "E3": 25800.0,
        "nu12": 0.177, "nu13": 0.177, "nu23": 0.177,
        "G12": _sig(_HR370_G), "G13": _sig(_HR370_G), "G23": _sig(_HR370_G),
        "alpha1": _glassy_table(13e-6, 14e-6, 180.0),
        "alpha2": _glassy_table(14e-6, 17e-6, 180.0),
        "alpha3": _glassy_table(45e-6, 230e-6, 180.0),
        "T_alpha": T_ALPHA,
        "sources": _ortho_sources(
            _HR370 + ": E 25.8 GPa (3744 ksi), nu 0.177 (one modulus and one Poisson ratio, taken in-plane)",
            **{k: "assumed: domain.md gives one modulus and Poisson ratio for HR370 ([S32], sourced); used "
                  "through the thickness as well (isotropic elastic). Laminates are usually softer through the "
                  "thickness (the FR4 default set has E3 = 10 GPa, textbook)" for k in ("E3", "nu13", "nu23")},
            G12=_HR370 + ": G12 = E / (2 (1 + nu)) of the in-plane E, nu (computed)",
            **{g: "assumed: G = E / (2 (1 + nu)) of the HR370 E, nu ([S32]); isotropic elastic assumption "
                  "through the thickness" for g in ("G13", "G23")},
            alpha1=_HR370 + ": x CTE 13 ppm below Tg, 14 above, Tg 180 °C; secant about 25 °C (table computed)",
            alpha2=_HR370 + ": y CTE 14 ppm below Tg, 17 above, Tg 180 °C; secant about 25 °C (table computed)",
            alpha3=_HR370 + ": z CTE 45 ppm below Tg, 230 above, Tg 180 °C; secant about 25 °C (table computed)",
            T_alpha=T_ALPHA_SOURCE),
    },
    # -- SAC solders -------------------------------------------------------------------------------------------
    "SAC305": {
        "model": "anand",
        "description": "SAC305 (Sn-3.0Ag-0.5Cu), Anand viscoplasticity, Motalab et al. ITherm 2012 "
                       "(non-aged), with E(T)",
        "source": f"[S1], [S4], [S5] {REF}: §1.2, §1.5",
        **_SAC305_ELASTIC, **_SAC305_ANAND,
        "sources": {**_SAC305_ELASTIC_SOURCES, **_SAC305_ANAND_SOURCES},
    },
    "SAC305_herkommer": {
        "model": "anand",
        "description": "SAC305, second Anand set labelled 'Herkommer'/'JiBing' (primary paper not identified; "
                       "much lower flow stress than Motalab): sensitivity case only",
        "source": f"[S4] {REF}: §1.2 SAC305 second set",
        **_SAC305_ELASTIC,
        "s0": 1.0665, "Q_over_R": 10413.3, "A": 8.265e7, "xi": 2.55, "m": 0.141446,
        "h0": 5023.9, "s_hat": 20.2976, "n": 0.032472, "a": 1.120371,
        "sources": {
            **_SAC305_ELASTIC_SOURCES,
            **{k: "[S4] domain.md: §1.2 SAC305 'Herkommer'/'JiBing' set, constants_SAC305 - Herkommer.txt "
                  "(transcribed from public code; primary paper not identified; sensitivity case only)"
               for k in ("s0", "Q_over_R", "A", "xi", "m", "h0", "s_hat", "n", "a")},
        },
    },
    "SAC305_elastic": {
        "model": "elastic",
        "description": "SAC305, elastic part only (E(T), nu, CTE)",
        "source": f"[S5] {REF}: §1.5",
        **_SAC305_ELASTIC, "sources": dict(_SAC305_ELASTIC_SOURCES),
    },
    "SAC305_norton": {
        "model": "norton",
        "description": "SAC305, Norton power-law creep fitted to the Motalab Anand steady state "
                       "(-40...125 °C, 1e-6...1e-3 /s; rms stress error 9 %, max 37 %) -- for CalculiX "
                       "cross-checks, not for life prediction",
        "source": "computed from the SAC305 Anand set ([S1], [S4], [S5])",
        **_SAC305_ELASTIC, **_SAC305_NORTON,
        "sources": {**_SAC305_ELASTIC_SOURCES, **{k: _NORTON_SRC for k in _SAC305_NORTON}},
    },
    "SAC387_garofalo": {
        "model": "garofalo",
        "description": "SAC387 (Sn-3.8Ag-0.7Cu) hyperbolic-sine creep, Pang 2004; elastic part from SAC305",
        "source": f"[S6] {REF}: §1.4 SAC387 Pang 2004",
        **_SAC305_ELASTIC,
        "C1": 32000.0, "C2": 0.037, "C3": 5.1, "Q_over_R": 6524.7,
        "sources": {
            **_SAC_ELASTIC_FOR_GAROFALO_SOURCES,
            **{k: _src("[S6]", f"§1.4 SAC387, Pang 2004 ({label})", "sourced, secondary transcription")
               for k, label in (("C1", "C1 32 000 /s"), ("C2", "C2 0.037 /MPa"), ("C3", "C3 5.1"),
                                ("Q_over_R", "C4 = Q/R 6524.7 K"))},
        },
    },
    "SAC_garofalo_schubert": {
        "model": "garofalo",
        "description": "SnAgCu hyperbolic-sine creep, Schubert et al. 2001/2003 (textbook constants; the "
                       "equation itself was not readable in the NIST review); elastic part from SAC305",
        "source": f"{REF}: §1.4 Schubert (textbook); [S11] confirms the model was regressed from Sn-3.8Ag-0.7Cu data",
        **_SAC305_ELASTIC,
        "C1": 277984.0, "C2": 0.02447, "C3": 6.41, "Q_over_R": 6500.0,
        "sources": {
            **_SAC_ELASTIC_FOR_GAROFALO_SOURCES,
            **{k: _src("", f"§1.4 SnAgCu, Schubert et al. 2001/2003 ({label})", "textbook, unsourced").strip()
               for k, label in (("C1", "C1 277 984 /s"), ("C2", "C2 0.02447 /MPa"), ("C3", "C3 6.41"),
                                ("Q_over_R", "Q/R 6500 K"))},
        },
    },
    "SAC_garofalo_shirley": {
        "model": "garofalo",
        "description": "SAC hyperbolic-sine creep, Shirley 2009 (ANSYS generalized Garofalo, Eq. 7); elastic "
                       "part from SAC305",
        "source": f"[S6] {REF}: §1.4 SAC Shirley 2009",
        **_SAC305_ELASTIC,
        "C1": 809000.0, "C2": 0.115, "C3": 5.02, "Q_over_R": 10100.0,
        "sources": {
            **_SAC_ELASTIC_FOR_GAROFALO_SOURCES,
            **{k: _src("[S6]", f"§1.4 SAC, Shirley 2009 ({label})", "secondary transcription")
               for k, label in (("C1", "C1 809 000 /s"), ("C2", "C2 0.115 /MPa = 1.15e-7 /Pa"), ("C3", "C3 5.02"),
                                ("Q_over_R", "C4 = Q/R 10 100 K"))},
        },
    },
    # -- SnPb -------------------------------------------------------------------------------------------------
    "Sn63Pb37": {
        "model": "anand",
        "description": "Eutectic SnPb, Anand viscoplasticity, Wang/Cheng set fitted for 62Sn36Pb2Ag (the "
                       "usual Sn63Pb37 default; flow stress at -40 °C is an extrapolation)",
        "source": f"[S1], [S4], [S12] {REF}: §1.2, §1.5",
        **_SNPB_ELASTIC, **_SNPB_ANAND,
        "sources": {**_SNPB_ELASTIC_SOURCES, **{k: _WANG for k in _SNPB_ANAND}},
    },
    "Sn63Pb37_elastic": {
        "model": "elastic",
        "description": "Eutectic SnPb, elastic part only",
        "source": f"[S12] {REF}: §1.5",
        **_SNPB_ELASTIC, "sources": dict(_SNPB_ELASTIC_SOURCES),
    },
}

#: every key of an entry that is a parameter (not descriptive)
META = ("model", "source", "sources", "description")


def parameters(spec: dict) -> dict:
    """The parameters of a library/inline spec (everything except model and the descriptive keys)."""
    return {k: v for k, v in spec.items() if k not in META}


#: confidence labels, weakest first (a source text carrying several labels is classed by the weakest)
STATUSES = ("assumed", "textbook", "estimate", "transcribed", "computed", "sourced")


def source_status(text: str) -> str:
    """Confidence class of one source string: assumed | textbook | estimate | transcribed | computed | sourced."""
    t = text.lower()
    if "assumed" in t:
        return "assumed"
    if "unsourced" in t or "textbook" in t:
        return "textbook"
    if "estimate" in t:
        return "estimate"
    if "computed" in t:
        return "computed"
    if "sourced" in t:
        return "sourced"
    if "transcri" in t:
        return "transcribed"
    return "unlabelled"


# ------------------------------------------------------------------------------------------------------------
# the source list (package data)
# ------------------------------------------------------------------------------------------------------------
#: a source tag in a source string: [S5], [S7b]; also the first tag of "[S5 §4.7, §12.1]"
_TAG = re.compile(r"\[(S\d+[a-z]?)\b")
_ENTRY = re.compile(r"^- \*\*\[(S\d+[a-z]?)\]\*\* (.*)$")


def sources_text() -> str:
    """The shipped source list (markdown: the confidence labels and every [Sx] tag with its citation)."""
    return resources.files("fem_wlp.materials").joinpath("data", "sources.md").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def source_list() -> dict[str, str]:
    """tag (e.g. "S5") -> full citation, from the shipped source list; sub-items joined with "; "."""
    out: dict[str, str] = {}
    tag = None
    for line in sources_text().splitlines():
        m = _ENTRY.match(line)
        if m:
            tag = m.group(1)
            out[tag] = m.group(2).strip()
        elif tag is not None and line.startswith("  ") and line.strip().startswith("- "):
            out[tag] += ("; " if not out[tag].endswith(":") else " ") + line.strip()[2:].strip()
        elif not line.strip() or line.startswith("#"):
            tag = None
    return out


def tags(text: str) -> list[str]:
    """The [Sx] tags of a source string, in order of appearance, without repeats."""
    return list(dict.fromkeys(_TAG.findall(text)))


def entry_tags(spec: dict) -> list[str]:
    """Every [Sx] tag an entry cites (its source and the source of every parameter), sorted by number."""
    texts = [spec.get("source", "")] + list((spec.get("sources") or {}).values())
    found = {t for x in texts for t in tags(x)}
    return sorted(found, key=lambda t: (int(re.sub(r"\D", "", t)), t))
