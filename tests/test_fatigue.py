"""Life models (reference numbers, unit conversions, study table) and per-cycle metrics."""
import numpy as np
import pytest

from fem_wlp.errors import InputError
from fem_wlp.wlcsp.fatigue import (DARVEAUX_SNPB_PSI_INCH, LIFE_MODELS, MPA_PER_PSI, PSI_PER_MPA, CoffinManson,
                             Darveaux, Engelmaier, Morrow, SyedEnergy, SyedStrain, cycle_metrics, evaluate_lives,
                             inelastic_strain_range, life_models_from_spec, mpa_to_psi, per_cycle_increments,
                             psi_to_mpa, stabilisation_warning)


# ---- Engelmaier: verification.md C.9 ---------------------------------------------------------------------------
def test_engelmaier_c9():
    e = Engelmaier()
    dg = e.shear_strain_range(L_D=5.0, d_alpha=14e-6, dT=100.0, h=0.25)
    assert dg == pytest.approx(0.0280, rel=1e-12)
    c = e.exponent(T_sj=42.5, t_dwell=15.0)
    assert c == pytest.approx(-0.4115, abs=5e-5)
    assert e.life(dg, 42.5, 15.0) == pytest.approx(1042, abs=0.5)
    # same inputs through the extremes: ΔT = 100 °C and T_SJ = 42.5 °C
    assert e.life_from_geometry(5.0, 14e-6, -7.5, 92.5, 0.25, 15.0) == pytest.approx(1042, abs=0.5)


@pytest.mark.parametrize("T_sj, arg, form, c", [
    (55.0, 15.0, "dwell", -0.41899),          # [S7] worked check
    (42.5, 24.0, "freq", -0.4115),            # domain.md §2.3
    (42.5, 1.0, "freq", -0.4554),
    (42.5, 96.0, "freq", -0.3879),
])
def test_engelmaier_exponent(T_sj, arg, form, c):
    e = Engelmaier()
    got = e.exponent(T_sj, arg) if form == "dwell" else e.exponent_from_frequency(T_sj, arg)
    assert got == pytest.approx(c, abs=5e-5)


def test_engelmaier_sac_set_flagged_verify_and_vectorised():
    e = Engelmaier.for_alloy("SAC305")
    assert (e.eps_f, e.c0, e.c1, e.c2, e.t0) == (0.275, -0.430, -6.3e-4, 1.82e-2, 400.0)
    assert "VERIFY" in e.source and "VERIFY" in e.caveat
    lives = e.life(np.array([0.01, 0.02, 0.04]), 42.5, 15.0)
    assert lives.shape == (3,) and np.all(np.diff(lives) < 0)
    with pytest.raises(InputError, match="fatigue.engelmaier.alloy"):
        Engelmaier.for_alloy("Indium")


# ---- Syed: domain.md §2.2 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dW, N", [(0.05, 10_500), (0.1, 5_260), (0.2, 2_630), (0.5, 1_050)])
def test_syed_energy_examples(dW, N):
    assert SyedEnergy().life(dW) == pytest.approx(N, rel=3e-3)


def test_syed_alternative_and_strain_form():
    assert SyedEnergy(C=0.00165).life(0.1) == pytest.approx(1 / 0.000165)
    assert SyedStrain().life(0.01) == pytest.approx(1 / 0.000513)
    assert np.allclose(SyedEnergy().life(np.array([0.1, 0.2])), [1 / 0.00019, 1 / 0.00038])
    with pytest.raises(InputError, match="dW"):
        SyedEnergy().life(0.0)


# ---- Darveaux: unit conversions ------------------------------------------------------------------------------
def test_psi_mpa_conversion():
    assert MPA_PER_PSI == pytest.approx(6.894757293168361e-3, rel=1e-15)
    assert PSI_PER_MPA == pytest.approx(145.03773773020923, rel=1e-14)
    assert psi_to_mpa(mpa_to_psi(1.234)) == pytest.approx(1.234, rel=1e-15)
    assert np.allclose(mpa_to_psi(np.array([1.0, 2.0])), [145.0377377, 290.0754755])


def test_darveaux_snpb_conversion_matches_psi_inch_formula():
    d = Darveaux.snpb()
    K1, K2, K3, K4 = (DARVEAUX_SNPB_PSI_INCH[k] for k in ("K1", "K2", "K3", "K4"))
    for dW in (0.02, 0.1, 0.5):                       # MPa
        dW_psi = dW * 145.03773773020923
        N0_psi = K1 * dW_psi**K2                       # cycles
        rate_in = K3 * dW_psi**K4                      # in/cycle
        assert d.initiation(dW) == pytest.approx(N0_psi, rel=1e-12)
        assert d.growth_rate(dW) == pytest.approx(rate_in * 25.4, rel=1e-12)
        a_mm = 0.25
        assert d.life(dW, a_mm) == pytest.approx(N0_psi + (a_mm / 25.4) / rate_in, rel=1e-12)
    assert d.K1 == pytest.approx(22400 * 145.03773773020923**-1.52, rel=1e-12)
    assert d.K3 == pytest.approx(25.4 * 5.86e-7 * 145.03773773020923**0.98, rel=1e-12)
    back = d.to_psi_inch()
    assert all(back[k] == pytest.approx(v, rel=1e-13) for k, v in DARVEAUX_SNPB_PSI_INCH.items())
    assert d.layer_thickness == 0.0254
    assert d.layer_warning(0.0254) is None
    assert "calibrated on a 0.0254 mm averaging layer but ΔW was averaged over 0.05 mm" in d.layer_warning(0.05)
    with pytest.raises(InputError, match="crack_length"):
        d.life(0.1)


# ---- Coffin-Manson, Morrow --------------------------------------------------------------------------------------
def test_coffin_manson_and_morrow_invert():
    cm = CoffinManson(eps_f=0.325, c=-0.5)
    N = cm.life(0.02)
    assert 0.02 == pytest.approx(2 * 0.325 * (2 * N) ** -0.5)
    mo = Morrow(W_f=50.0, m=-0.7)
    N = mo.life(0.3)
    assert 0.3 == pytest.approx(50.0 * (2 * N) ** -0.7)
    with pytest.raises(InputError, match="fatigue.coffin_manson.c"):
        CoffinManson(eps_f=0.3, c=0.5)
    with pytest.raises(InputError, match="fatigue.morrow.W_f"):
        Morrow(W_f=-1.0, m=-0.5)


# ---- study table --------------------------------------------------------------------------------------------
def test_life_models_default_and_metadata():
    models = life_models_from_spec(None, solder="SAC305")
    assert list(models) == ["syed_energy", "syed_strain", "engelmaier"]
    assert models["engelmaier"].alloy == "SAC"
    for m in models.values():
        assert m.source and m.caveat and m.describe().startswith(m.name)
    assert set(LIFE_MODELS) == {"darveaux", "syed_energy", "syed_strain", "engelmaier", "coffin_manson", "morrow"}


def test_life_models_from_spec_user_constants():
    spec = {"models": ["syed_energy", "darveaux", "coffin_manson", "morrow", "engelmaier"],
            "syed_energy": {"C": 0.00165},
            "darveaux": {"K1": 100.0, "K2": -1.0, "K3": 1e-3, "K4": 1.0, "layer_thickness": 0.025,
                         "crack_length": 0.2},
            "coffin_manson": {"eps_f": 0.3, "c": -0.5}, "morrow": {"W_f": 40.0, "m": -0.6},
            "engelmaier": {"alloy": "SnPb", "F": 0.8}}
    m = life_models_from_spec(spec, solder="SAC305")
    assert m["syed_energy"].C == 0.00165 and m["engelmaier"].F == 0.8 and m["engelmaier"].alloy == "SnPb"
    assert m["darveaux"].life(0.1) == pytest.approx(100 / 0.1 + 0.2 / 1e-4)
    lives = evaluate_lives(m, dW=0.1, deps_in=0.01)
    assert lives["engelmaier"] is None and lives["darveaux"] > 0 and lives["morrow"] > 0
    ps = life_models_from_spec({"darveaux": {**DARVEAUX_SNPB_PSI_INCH, "units": "psi-inch",
                                             "layer_thickness": 0.0254}})["darveaux"]
    assert ps.K1 == pytest.approx(Darveaux.snpb().K1)
    assert life_models_from_spec({"models": ["darveaux"]}, solder="Sn63Pb37")["darveaux"].K2 == -1.52


@pytest.mark.parametrize("spec, solder, key, fragment", [
    ({"models": ["darveaux"]}, "SAC305", "fatigue.darveaux.K1", "no default constants"),
    ({"darveaux": {"K1": 1.0, "K2": -1.0, "K3": 1.0, "K4": 1.0}}, "SAC305", "fatigue.darveaux.layer_thickness",
     "set fatigue.darveaux.layer_thickness"),
    ({"darveaux": {"constants": "SAC305"}}, "SAC305", "fatigue.darveaux.constants", "'SnPb'"),
    ({"darveaux": {"constants": "SnPb", "K1": 1.0}}, None, "fatigue.darveaux.K1", "not both"),
    ({"darveaux": {"constants": "SnPb", "layer_thickness": 0.025}}, None, "fatigue.darveaux.layer_thickness",
     "not both"),
    ({"darveaux": {"K1": 1.0, "K2": -1.0, "K3": 1.0, "K4": 1.0, "layer_thickness": 0.0}}, None,
     "fatigue.darveaux.layer_thickness", "a number > 0"),
    ({"darveaux": {"K1": 1.0, "K2": -1.0, "K3": 1.0, "K4": 1.0, "layer_thickness": 0.025, "units": "SI"}}, None,
     "fatigue.darveaux.units", "'psi-inch'"),
    ({"models": ["coffin_manson"]}, None, "fatigue.coffin_manson.eps_f", "needs user constants"),
    ({"models": ["morrow"], "morrow": {"W_f": 10.0}}, None, "fatigue.morrow.m", "needs user constants"),
    ({"models": ["weibull"]}, None, "fatigue.models", "syed_energy"),
    ({"models": []}, None, "fatigue.models", "non-empty"),
    ({"models": ["syed_energy"], "engelmaier": {"F": 1.0}}, None, "fatigue.engelmaier", "only for models listed"),
    ({"syed_energy": {"C": "big"}}, None, "fatigue.syed_energy.C", "a finite number"),
    ({"syed_energy": {"K": 1.0}}, None, "fatigue.syed_energy.K", "keys C"),
    ({"engelmaier": {"F": -1.0}}, None, "fatigue.engelmaier.F", "> 0"),
    ({"bogus": {}}, None, "fatigue.bogus", "a table named after a model"),
])
def test_life_models_from_spec_errors(spec, solder, key, fragment):
    with pytest.raises(InputError) as e:
        life_models_from_spec(spec, solder=solder)
    assert e.value.key == key and fragment in str(e.value)


# ---- per-cycle metrics ----------------------------------------------------------------------------------------
def _history(dW_per_cycle, de_per_cycle, rows_per_cycle=7, initial_rows=3):
    """Synthetic monotone accumulation: initial ramp (cycle 0) then cycles with the given increments."""
    t, c, w, e = [0.0], [0], [0.0], [0.0]
    for i in range(1, initial_rows + 1):                           # initial ramp accumulates something too
        t.append(i); c.append(0); w.append(0.01 * i); e.append(0.001 * i)
    for k, (dw, de) in enumerate(zip(dW_per_cycle, de_per_cycle), start=1):
        s = np.sin(np.linspace(0, np.pi / 2, rows_per_cycle + 1))[1:]   # uneven, monotone within a cycle
        w0, e0 = w[-1], e[-1]
        for j in range(rows_per_cycle):
            t.append(t[-1] + 1.0); c.append(k); w.append(w0 + dw * s[j]); e.append(e0 + de * s[j])
    return np.array(t), np.array(c), np.array(w), np.array(e)


def test_per_cycle_extraction_and_stabilised():
    t, c, w, e = _history([0.30, 0.22, 0.215], [0.010, 0.008, 0.0079])
    m = cycle_metrics(t, c, w, e, region="solder_top")
    assert m.cycles.tolist() == [1, 2, 3]
    assert np.allclose(m.dW, [0.30, 0.22, 0.215]) and np.allclose(m.deps_in, [0.010, 0.008, 0.0079])
    assert m.stabilized_dW == pytest.approx(0.215) and m.stabilized_deps_in == pytest.approx(0.0079)
    assert m.warning is None                                       # 2.3 % and 1.3 % < 5 %
    rec = m.per_cycle()
    assert rec[0] == {"cycle": 1, "dW_MPa": pytest.approx(0.30), "deps_in": pytest.approx(0.010), "complete": True}


def test_five_percent_warning():
    t, c, w, e = _history([0.30, 0.25, 0.22], [0.010, 0.0100, 0.0100])
    m = cycle_metrics(t, c, w, e, region="solder_top")
    assert "solder_top: ΔW not stabilised" in m.warning and "12.0 %" in m.warning    # (0.22 - 0.25) / 0.25
    assert "Δε_in" not in m.warning
    assert stabilisation_warning([1.0, 1.049]) is None
    assert "6.0 %" in stabilisation_warning([1.0, 1.06])            # relative to the cycle before, as the table
    assert stabilisation_warning([1.0, 0.94]) is not None
    assert "only 1 complete cycle" in stabilisation_warning([1.0])


def test_incomplete_last_cycle_is_not_used():
    t, c, w, e = _history([0.3, 0.22, 0.215], [0.01, 0.008, 0.0079])
    bounds = np.array([[3.0, 10.0], [10.0, 17.0], [17.0, 24.0]])
    keep = t <= 20.0                                               # run stopped inside cycle 3
    m = cycle_metrics(t[keep], c[keep], w[keep], e[keep], cycle_bounds=bounds)
    assert m.complete.tolist() == [True, True, False]
    assert m.stabilized_dW == pytest.approx(0.22)
    assert "cycle(s) 3 incomplete" in m.warning and "ΔW not stabilised" in m.warning


def test_per_cycle_increments_vectorised_columns():
    t, c, w, e = _history([0.3, 0.2], [0.01, 0.02])
    ks, inc, done = per_cycle_increments(c, np.column_stack([w, e, 2 * w]))
    assert inc.shape == (2, 3) and np.allclose(inc[:, 2], [0.6, 0.4]) and done.all()
    with pytest.raises(ValueError):
        per_cycle_increments(c[::-1], w)


def test_profile_cycle_index_feeds_metrics():
    from fem_wlp.wlcsp.profiles import Profile
    p = Profile.preset("JESD22-A104-G", cycles=3, stress_free_temperature=217.0)
    grid = p.steps()
    # a fake accumulation: w grows by |dT| on each increment (every cycle identical)
    w = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(p.T(grid))))])
    m = cycle_metrics(grid, p.cycle_of(grid), w, 1e-3 * w, cycle_bounds=p.cycle_bounds)
    assert np.allclose(m.dW, 2 * 165.0) and m.complete.all() and m.warning is None


def test_inelastic_strain_range():
    # uniaxial deviatoric inelastic strain oscillating between 0 and A: range = A (eq. strain of uniaxial)
    A = 0.004
    s = np.concatenate([[0.0], np.sin(np.linspace(0, 2 * np.pi, 41))[1:]]) ** 2 * A   # 0 -> A -> 0 -> A -> 0
    uni = np.array([1.0, -0.5, -0.5, 0, 0, 0])
    eps = s[:, None] * uni[None, :]
    cyc = np.r_[0, np.ones(40, int)]
    ks, r = inelastic_strain_range(cyc, eps)
    assert ks.tolist() == [1] and r[0] == pytest.approx(A, rel=1e-3)
    # pure shear (Mandel xy = sqrt(2) eps_xy): gamma range g gives equivalent g/sqrt(3)
    g = 0.01
    eps2 = np.zeros((3, 6)); eps2[1, 3] = np.sqrt(2) * g / 2; eps2[2, 3] = -np.sqrt(2) * g / 2
    _, r2 = inelastic_strain_range([0, 1, 1], eps2)
    assert r2[0] == pytest.approx(2 * g / np.sqrt(3))
