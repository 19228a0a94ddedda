"""The material library: every entry builds, has sane units, and carries a source for every parameter."""
from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest
from scipy.integrate import quad

from fem_wlp.errors import InputError
from fem_wlp.materials import MODELS, material_from_spec
from fem_wlp.materials.library import (LIBRARY, META, STATUSES, _SAC305_ANAND, entry_tags, norton_fit_to_anand,
                                       okada_alpha, okada_alpha_secant, parameters, source_list, source_status, tags)

NAMES = sorted(LIBRARY)

#: parameter keys each model consumes besides E, nu, alpha (issue 4); the library must use exactly these
MODEL_KEYS = {
    "elastic": set(),
    "anand": {"s0", "Q_over_R", "A", "xi", "m", "h0", "s_hat", "n", "a"},
    "garofalo": {"C1", "C2", "C3", "Q_over_R"},
    "norton": {"A", "n", "Q_over_R"},
    "plastic": {"yield_stress", "hardening_modulus", "hardening"},
    "chaboche": {"yield_stress", "C", "gamma"},
}


def _model_module_or_skip(model: str):
    """Skip (until the module lands) when the model's module is not written yet."""
    mod = MODELS[model].split(":")[0]
    if importlib.util.find_spec(mod) is None:
        pytest.skip(f"model module {mod} not available yet")


def _values(v):
    """All numbers of a scalar or a [[T, value], ...] table."""
    if isinstance(v, list):
        return [row[1] for row in v]
    return [v]


@pytest.mark.parametrize("name", NAMES)
def test_entry_builds(name):
    spec = LIBRARY[name]
    _model_module_or_skip(spec.get("model", "elastic"))
    m = material_from_spec("die", name)
    assert m.name == "die"
    assert m.source                              # describe_sources carried the per-parameter sources
    # the spec dict is usable inline, unchanged
    m2 = material_from_spec("die", dict(spec))
    assert type(m2) is type(m)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_keys_match_model(name):
    spec = LIBRARY[name]
    model = spec["model"]
    keys = set(parameters(spec)) - {"T_alpha"}
    if model in MODEL_KEYS:
        assert keys == {"E", "nu", "alpha"} | MODEL_KEYS[model]
    elif model == "orthotropic":
        base = {"E1", "E2", "E3", "nu12", "nu13", "nu23", "G12", "G13", "G23", "alpha1", "alpha2", "alpha3"}
        tg = {"Tg", "alpha1_above_Tg", "alpha2_above_Tg", "alpha3_above_Tg"}
        assert keys in (base, base | tg)
    elif model == "cubic":
        assert keys == {"C11", "C12", "C44", "alpha"}
    else:
        pytest.fail(f"unexpected model {model}")
    assert isinstance(spec.get("description"), str) and spec["description"]


@pytest.mark.parametrize("name", NAMES)
def test_units_sanity(name):
    p = parameters(LIBRARY[name])
    for k in ("E", "E1", "E2", "E3", "G12", "G13", "G23", "C11", "C12", "C44"):
        for v in _values(p.get(k, [])) if k in p else []:
            assert 1e3 <= v <= 3e5, f"{name}.{k} = {v} MPa"
    for k in ("alpha1_above_Tg", "alpha2_above_Tg", "alpha3_above_Tg"):
        if k in p:      # instantaneous CTE above Tg: z of laminates reaches 230-340 ppm/K (domain.md §5, [S32])
            assert 1e-6 <= p[k] <= 5e-4, f"{name}.{k} = {p[k]} 1/K"
    for k in ("alpha", "alpha1", "alpha2", "alpha3"):
        if k in p:
            for v in _values(p[k]):
                assert 1e-6 <= v <= 2e-4, f"{name}.{k} = {v} 1/K"
    for k in ("nu", "nu12", "nu13", "nu23"):
        if k in p:
            assert 0.0 < p[k] < 0.5, f"{name}.{k} = {p[k]}"
    if "yield_stress" in p:
        assert all(10.0 < v < 1000.0 for v in _values(p["yield_stress"]))
    for k in ("C",):
        if k in p:
            assert all(0.0 <= v <= 1e6 for v in (p[k] if isinstance(p[k], list) else [p[k]]))


def test_built_material_units():
    """Through the built objects as well (E in MPa, alpha per K) for the entries whose models exist."""
    for name in NAMES:
        model = LIBRARY[name]["model"]
        if importlib.util.find_spec(MODELS[model].split(":")[0]) is None:
            continue
        m = material_from_spec("r", name)
        T = np.array([-40.0, 25.0, 125.0])
        assert np.all((m.E(T) > 1e3) & (m.E(T) < 3e5)), name
        eps = m.thermal_strain(T, 25.0)
        assert np.all(np.abs(eps[:3, [0, 2]]) > 1e-6 * 100 * 0.5), name     # |alpha dT| >= 1e-6 * 100 K / 2
        assert np.allclose(eps[:, 1], 0.0), name                              # zero at the stress-free T


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_has_a_source(name):
    spec = LIBRARY[name]
    sources = spec.get("sources") or {}
    for k in parameters(spec):
        assert k in sources, f"{name}.{k} has no source"
        assert isinstance(sources[k], str) and len(sources[k]) > 10
        assert source_status(sources[k]) in STATUSES, f"{name}.{k}: no confidence label in {sources[k]!r}"
    assert set(sources) <= set(parameters(spec)), f"{name}: sources for unknown parameters"
    assert set(spec) - set(parameters(spec)) <= set(META)


def test_confidence_labels_follow_the_reference():
    s = LIBRARY
    assert source_status(s["SAC305"]["sources"]["s0"]) == "sourced"
    assert source_status(s["Cu_plastic"]["sources"]["yield_stress"]) == "textbook"
    assert source_status(s["FR4"]["sources"]["E3"]) == "textbook"
    assert source_status(s["SAC_garofalo_schubert"]["sources"]["C1"]) == "textbook"
    assert source_status(s["SAC305_norton"]["sources"]["n"]) == "computed"
    assert source_status(s["Si"]["sources"]["alpha"]) == "computed"
    assert source_status(s["Cu3Sn"]["sources"]["nu"]) == "assumed"
    assert source_status(s["Ni"]["sources"]["E"]) == "textbook"


# -- temperature tables ---------------------------------------------------------------------------------------
def test_okada_instantaneous_values_of_the_reference():
    # domain.md §5: 1.89 (-40 °C), 2.55 (25 °C), 3.20 (125 °C), 3.56 (217 °C) ppm/K
    for T, ref in ((-40, 1.89), (25, 2.55), (125, 3.20), (217, 3.56)):
        assert okada_alpha(T) * 1e6 == pytest.approx(ref, abs=0.006)


@pytest.mark.parametrize("name", ["Si", "Si_cubic"])
def test_si_secant_alpha_is_the_integral_of_okada(name):
    table = dict((T, a) for T, a in LIBRARY[name]["alpha"])
    assert LIBRARY[name]["T_alpha"] == 25.0
    for T in (125.0, -40.0, 217.0):
        integral = quad(okada_alpha, 25.0, T)[0] / (T - 25.0)
        assert table[T] == pytest.approx(integral, rel=1e-5)
        # secant, not instantaneous: the values differ by several per cent away from 25 °C
        assert abs(table[T] / okada_alpha(T) - 1.0) > 0.05
    assert table[25.0] == pytest.approx(okada_alpha(25.0), rel=1e-5)
    # the thermal strain of the built material is the integral of the instantaneous alpha
    m = material_from_spec("die", name)
    eps = m.thermal_strain(np.array([125.0]), -40.0)[0, 0]
    assert eps == pytest.approx(quad(okada_alpha, -40.0, 125.0)[0], rel=1e-5)


def test_okada_secant_function_continuity():
    assert okada_alpha_secant(25.0 + 1e-6) == pytest.approx(okada_alpha(25.0), rel=1e-6)


def test_sac305_modulus_table():
    m = material_from_spec("bump", "SAC305_elastic")
    assert m.E(25.0) == pytest.approx(46500.0)
    assert m.E(-40.0) == pytest.approx(57400.0)
    assert m.E(125.0) == pytest.approx(30000.0)
    assert m.E(50.0) == pytest.approx((46500.0 + 38200.0) / 2)
    # SAC305 (Anand) carries the same table
    assert LIBRARY["SAC305"]["E"] == LIBRARY["SAC305_elastic"]["E"]
    assert dict(LIBRARY["SAC305"]["E"])[25.0] == 46500.0


def test_glassy_secant_tables():
    """alpha1 below Tg and alpha2 above: the secant table reproduces the integral of the step CTE."""
    m = material_from_spec("mask", "solder_mask")
    exact = 55e-6 * (105.0 - 25.0) + 140e-6 * (150.0 - 105.0)
    assert m.thermal_strain(np.array([150.0]), 25.0)[0, 0] == pytest.approx(exact, rel=1e-5)
    assert m.thermal_strain(np.array([-40.0]), 25.0)[0, 0] == pytest.approx(55e-6 * -65.0, rel=1e-9)
    # HR370 z: 45 ppm below Tg = 180 °C, 230 above
    hr = material_from_spec("pcb", "FR4_highTg").oriented(2)
    eps = hr.thermal_strain(np.array([200.0]), 25.0)[:, 0]
    assert eps[2] == pytest.approx(45e-6 * 155.0 + 230e-6 * 20.0, rel=1e-5)
    assert eps[0] == pytest.approx(13e-6 * 155.0 + 14e-6 * 20.0, rel=1e-5)


# -- orthotropic orientation ----------------------------------------------------------------------------------
def test_fr4_thickness_along_y_gives_E3():
    m = material_from_spec("pcb", "FR4").oriented(1)          # 2D: thickness along mesh y
    S = np.linalg.inv(m.stiffness(25.0))                     # Mandel compliance; normal diagonal = 1/E
    assert 1.0 / S[1, 1] == pytest.approx(10000.0, rel=1e-9)  # through thickness
    assert 1.0 / S[0, 0] == pytest.approx(22000.0, rel=1e-9)
    assert 1.0 / S[2, 2] == pytest.approx(22000.0, rel=1e-9)
    assert -S[0, 2] / S[0, 0] == pytest.approx(0.11, rel=1e-9)  # in-plane Poisson ratio (x, z in-plane)
    # thermal expansion follows: 84 ppm through the thickness (y)
    eps = m.thermal_strain(np.array([125.0]), 25.0)[:, 0]
    assert eps[1] == pytest.approx(84e-6 * 100.0)
    assert eps[0] == pytest.approx(16e-6 * 100.0)


def test_fr4_highTg_isotropic_elastic():
    m = material_from_spec("pcb", "FR4_highTg")
    S = np.linalg.inv(m.stiffness(25.0))
    assert np.allclose(1.0 / np.diag(S)[:3], 25800.0)
    assert np.allclose(1.0 / np.diag(S)[3:], 2 * 25800.0 / (2 * 1.177), rtol=1e-5)   # Mandel shear: 1/(2G)


# -- the Norton fit -------------------------------------------------------------------------------------------
def test_sac305_norton_numbers_are_the_fit():
    fit = norton_fit_to_anand(_SAC305_ANAND)
    p = LIBRARY["SAC305_norton"]
    assert p["n"] == pytest.approx(fit["n"], rel=1e-4)
    assert p["Q_over_R"] == pytest.approx(fit["Q_over_R"], rel=1e-4)
    assert p["A"] == pytest.approx(fit["A"], rel=1e-4)
    assert fit["rms_rel_err"] == pytest.approx(0.092, abs=0.001)
    assert fit["max_rel_err"] == pytest.approx(0.37, abs=0.01)
    # the pasted (rounded) constants predict the same flow stress as the unrounded fit
    for T, rate in ((25.0, 1e-3), (125.0, 1e-5), (-40.0, 1e-4)):
        s = lambda q, T=T, rate=rate: (rate / q["A"] * np.exp(q["Q_over_R"] / (T + 273.15))) ** (1.0 / q["n"])
        assert s(p) == pytest.approx(s(fit), rel=2e-3)
    # and the Anand set behind it reproduces the reference's saturation stress (domain.md §1.3, 42.1 MPa)
    from fem_wlp.materials.library import anand_saturation_stress
    assert anand_saturation_stress(_SAC305_ANAND, 25.0, 1e-3) == pytest.approx(42.1, abs=0.05)


# -- errors and CLI -------------------------------------------------------------------------------------------
def test_unknown_library_name_names_the_region():
    with pytest.raises(InputError) as exc:
        material_from_spec("bump", "SAC999")
    assert exc.value.key == "materials.bump"
    assert "materials.bump" in str(exc.value)
    assert "SAC305" in str(exc.value)                        # the allowed names are listed


def test_cli_lists_every_entry(capsys):
    from fem_wlp.cli.main import main
    assert main(["materials"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert f"\n{name}  [{LIBRARY[name]['model']}]" in out
    assert "MPa" in out and "1/K" in out


def test_cli_one_entry_shows_every_source(capsys):
    from fem_wlp.cli.main import main
    assert main(["materials", "Cu_plastic"]) == 0
    out = capsys.readouterr().out
    assert "yield_stress = 200 MPa" in out
    assert "[textbook]" in out and "[S43]" in out
    assert "NO SOURCE" not in out


def test_cli_json_and_unknown_name(capsys):
    from fem_wlp.cli.main import main
    assert main(["materials", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(LIBRARY))
    assert main(["materials", "SAC305", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["SAC305"]
    assert main(["materials", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_every_source_tag_has_a_citation_in_the_package_data():
    # the shipped file, read the way an installed package reads it
    from importlib import resources
    text = resources.files("fem_wlp.materials").joinpath("data", "sources.md").read_text(encoding="utf-8")
    assert "[S5]" in text and "NOT FOUND" in text and "(textbook, unsourced)" in text
    cite = source_list()
    assert cite["S32"].startswith("FR-4 sources: IPC TechNet")           # sub-items joined into one citation
    assert "pcbboardassembly.com" in cite["S32"]
    # every tag cited in the library's source strings, and every tag written anywhere in library.py
    import fem_wlp.materials.library as lib
    used = {t for spec in LIBRARY.values() for t in entry_tags(spec)}
    used |= set(re.findall(r"\[(S\d+[a-z]?)\b", open(lib.__file__, encoding="utf-8").read()))
    assert {"S1", "S5", "S32", "S43"} <= used
    missing = sorted(t for t in used if t not in cite)
    assert not missing, f"tags without a citation in data/sources.md: {missing}"
    assert all(len(cite[t]) > 20 for t in used)


def test_tags_of_a_source_string():
    assert tags("[S1], [S4], [S5] domain.md: §1.2; NIST [S11] and [S5 §4.7]") == ["S1", "S4", "S5", "S11"]
    assert entry_tags(LIBRARY["Si_cubic"]) == ["S5", "S39"]


def test_cli_prints_citations_and_no_absolute_path(capsys):
    from fem_wlp.cli.main import main
    cite = source_list()
    outs = []
    for argv in (["materials"], ["materials", "FR4_highTg"], ["materials", "--sources"]):
        assert main(argv) == 0
        outs.append(capsys.readouterr().out)
    listing, one, every = outs
    assert "fem-wlp materials --sources" in listing
    assert "sources cited:" in one and "[S32] FR-4 sources: IPC TechNet" in one
    assert "pmc.ncbi.nlm.nih.gov" in one
    assert all(f"[{t}]" in every for t in cite) and "NOT FOUND" in every
    for out in outs:
        assert not re.search(r"(^|[\s(`'\"])/(work|home|tmp|Users)/", out), out[:300]
        assert "/work/shared" not in out


# -- orthotropic with temperature tables and a glass transition (materials/elastic.py) --------------------------------
ORTHO_TG = {"model": "orthotropic", "E1": [[-50.0, 22000.0], [250.0, 18000.0]], "E2": 22000.0, "E3": 10000.0,
            "nu12": 0.11, "nu13": 0.39, "nu23": 0.39, "G12": 10000.0, "G13": 3500.0, "G23": 3500.0,
            "alpha1": 16e-6, "alpha2": 16e-6, "alpha3": 84e-6, "Tg": 170.0,
            "alpha1_above_Tg": 19e-6, "alpha2_above_Tg": 19e-6, "alpha3_above_Tg": 336e-6}


def test_tg_secant_tables_integrate_the_instantaneous_cte():
    """eps_th(T) from T0 = the integral of the instantaneous CTE (alpha below Tg, alpha_above above) from T0 to T:
    exact at the table nodes, within the interpolation error of the secant between them (elastic.TG_TABLE_STEP)."""
    from fem_wlp.materials.elastic import TG_TABLE_STEP
    m = material_from_spec("pcb", ORTHO_TG)
    a_lo, a_hi, Tg = 84e-6, 336e-6, 170.0

    def integral(T0, T):                       # exact int_T0^T alpha dT'
        def F(t):
            return a_lo * min(t, Tg) + a_hi * max(t - Tg, 0.0)
        return F(T) - F(T0)

    for T0, T in ((217.0, 25.0), (217.0, 170.0), (217.0, 125.0), (215.0, -40.0), (180.0, 240.0), (25.0, 100.0)):
        eps = m.thermal_strain(np.array([T]), T0)[2, 0]
        node = all(x in m.alpha_material[2].T for x in (T0, T)) or max(T0, T) <= Tg
        # h^2/8 max|alpha_sec''| (at Tg) times the lever arms |T - T_alpha| + |T0 - T_alpha|
        bound = TG_TABLE_STEP ** 2 / 8 * 2 * (a_hi - a_lo) / (Tg - 25.0) ** 2 * (abs(T - 25.0) + abs(T0 - 25.0))
        tol = 1e-12 if node else bound
        assert abs(eps - integral(T0, T)) < tol, (T0, T, eps, integral(T0, T))
    # below Tg nothing changes: the secant is the constant alpha
    assert m.thermal_strain(np.array([-40.0]), 125.0)[2, 0] == pytest.approx(a_lo * (-165.0), rel=1e-12)


def test_orthotropic_stiffness_follows_the_tables():
    m = material_from_spec("pcb", ORTHO_TG).oriented(1)
    assert m.temperature_dependent
    D = m.stiffness(np.array([-50.0, 100.0, 250.0]))
    const = material_from_spec("pcb", {**ORTHO_TG, "E1": 22000.0, "Tg": 170.0})
    assert np.allclose(D[:, :, 0], const.oriented(1).stiffness(0.0), rtol=1e-12)
    E1 = {**ORTHO_TG, "E1": 18000.0}
    assert np.allclose(D[:, :, 2], material_from_spec("pcb", E1).oriented(1).stiffness(0.0), rtol=1e-12)
    assert D[0, 0, 0] > D[0, 0, 1] > D[0, 0, 2]          # mesh x = material 1: softer when hot


@pytest.mark.parametrize("override, key", [
    ({"Tg": 300.0}, "materials.pcb.Tg"),                 # outside the modulus table range [-50, 250]
    ({"Tg": -60.0}, "materials.pcb.Tg"),
    ({"Tg": 20.0}, "materials.pcb.Tg"),                   # below T_alpha = 25
    ({"alpha3": [[0.0, 84e-6], [200.0, 90e-6]]}, "materials.pcb.alpha3"),   # a table together with Tg
    ({"Tg": None}, "materials.pcb.Tg"),
    ({"alpha3_above_Tg": 0.02}, "materials.pcb.alpha3_above_Tg"),           # ppm typed as percent
])
def test_tg_bad_input(override, key):
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        material_from_spec("pcb", {**ORTHO_TG, **override})


def test_above_tg_keys_need_tg():
    spec = {k: v for k, v in ORTHO_TG.items() if k != "Tg"}
    with pytest.raises(InputError, match=r"materials\.pcb\.alpha1_above_Tg"):
        material_from_spec("pcb", spec)


def test_cyclic_copper_entry():
    """Cu_cyclic: 130 GPa at room temperature ([S43]), the [S60] relative trends, and the assumed AF constants
    that saturate the monotonic stress at 262 MPa at 20 °C."""
    m = material_from_spec("rdl", "Cu_cyclic")
    assert m.model == "chaboche"
    assert m.E(25.0) == pytest.approx(130000.0) and m.E(226.85) == pytest.approx(130000.0 * 119.74 / 134.04, rel=1e-5)
    assert m.yield_stress(20.0) == 200.0 and m.yield_stress(300.0) == pytest.approx(200.0 * 230 / 330, rel=1e-5)
    assert float(m.yield_stress(20.0)) + m.saturation() == pytest.approx(262.0, rel=1e-3)
    s = LIBRARY["Cu_cyclic"]["sources"]
    assert source_status(s["C"]) == "assumed" and "NOT FOUND" in s["C"]
    assert source_status(s["gamma"]) == "assumed"
    assert {"S43", "S60", "S62"} <= set(entry_tags(LIBRARY["Cu_cyclic"]))


def test_polymer_and_board_entries_with_temperature():
    pi = material_from_spec("pi2", "PI_HD4100_T")
    assert pi.E(25.0) == pytest.approx(3400.0, rel=1e-5)
    assert pi.E(-65.0) > pi.E(25.0) > pi.E(125.0) > pi.E(250.0)
    # [S61] trend: E(573 K)/E(10 K) = 1.8/5.5; linear in T, so the ratio of the slopes is fixed
    assert (pi.E(300.0) - pi.E(-65.0)) / 365.0 == pytest.approx(3400.0 * (1.8 - 5.5) / 563.0 / 3.60630, rel=1e-4)
    fr = material_from_spec("board", "FR4_Tg")
    assert fr.Tg == 170.0
    # from the stress-free 217 °C down to 25 °C: z strain = -(84e-6 * 145 + 336e-6 * 47), in-plane 16/18.33 ppm
    # (217 °C lies between secant nodes: the interpolation bound of elastic.TG_TABLE_STEP, 2.3e-6 for z)
    eps = fr.thermal_strain(np.array([25.0]), 217.0)[:, 0]
    assert eps[2] == pytest.approx(-(84e-6 * 145 + 336e-6 * 47), abs=2.3e-6)
    assert eps[0] == pytest.approx(-(16e-6 * 145 + 1.833e-5 * 47), abs=2.3e-6 * (1.833e-5 - 16e-6) / 252e-6)
    # below Tg the same as FR4
    old = material_from_spec("board", "FR4")
    assert np.allclose(fr.thermal_strain(np.array([-40.0]), 125.0), old.thermal_strain(np.array([-40.0]), 125.0))


def test_cyclic_copper_lowyield_meets_its_anchors():
    """Cu_cyclic_lowyield: 200 MPa at 0.2 % plastic strain and saturation 262 MPa at 20 °C (uniaxial driver;
    1e-5 strain steps: the backward-Euler backstress error gamma dp / 2 x 162 MPa ~ 0.4 MPa)."""
    from fem_wlp.materials.driver import drive
    m = material_from_spec("rdl", "Cu_cyclic_lowyield")
    assert float(m.yield_stress(20.0)) == 100.0
    assert float(m.yield_stress(20.0)) + m.saturation() == pytest.approx(262.0, rel=1e-4)
    r = drive(m, np.arange(1001.0), strain={"xx": np.linspace(0.0, 0.01, 1001)}, temperature=20.0)
    s02 = np.interp(0.002, r["eps_in"][:, 0], r["stress"][:, 0])
    assert s02 == pytest.approx(200.0, abs=0.5)
    assert source_status(LIBRARY["Cu_cyclic_lowyield"]["sources"]["yield_stress"]) == "assumed"
