"""Metal-anode parameter sets and interlayers: cited values, the wetting law, interlayers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femcell.materials import Arrhenius
from femcell.materials.core import MaterialError
from femcell.materials.library import get_anode_set, get_interlayer, list_anode_sets
from femcell.physics.anode import (
    InterfaceVacancyParameters,
    wetting_theta_crit,
    with_interlayer,
)
from femcell.units import EV, K_B


def test_every_value_of_every_set_has_a_source():
    for name in list_anode_sets():
        s = get_anode_set(name)
        for sec in ("vacancies", "interface"):
            for key in getattr(s, sec):
                assert len(s.sources[f"{sec}.{key}"]) > 20, (name, key)


def test_na_and_li_sets_carry_the_published_numbers():
    na = get_anode_set("na|na_beta_alumina")
    assert na.vacancies["migration_energy"] / EV == pytest.approx(0.053)
    assert 0.13 <= na.interface["activation_energy"] / EV <= 0.15
    assert na.interface["creep_prefactor"] == 0.53 and na.interface["creep_exponent"] == 5.0
    assert "Lowack" in na.sources["interface.activation_energy"]
    li = get_anode_set("li|li6ps5cl")
    assert 6.3 <= li.interface["creep_exponent"] <= 6.6
    assert li.interface["creep_activation"] == pytest.approx(37e3)
    # one atomic layer of sites: (N_A / Omega)^(2/3) / N_A, Na ~1.4e-5 mol/m^2
    assert na.interface["site_density"] == pytest.approx(1.43e-5, rel=0.01)
    assert get_interlayer("sn_na").activation_energy / EV == pytest.approx(0.10)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(MaterialError, match="na\\|na_beta_alumina"):
        get_anode_set("k|glass")
    with pytest.raises(MaterialError, match="sn_na"):
        get_interlayer("au")


def test_wetting_law():
    """ln(theta_crit / theta_eq) scales with the work of adhesion 1 + cos(angle)."""
    a, b = math.radians(105), math.radians(95)
    assert wetting_theta_crit(0.01, 1e-4, a, a) == pytest.approx(0.01)
    tc = wetting_theta_crit(0.01, 1e-4, a, b)
    # by hand: S = 100^((1 + cos 95) / (1 + cos 105)) = 100^1.23161 = 290.55
    assert tc == pytest.approx(1e-4 * 290.55, rel=1e-4)
    # better wetting needs a larger excess; worse wetting a smaller one
    assert wetting_theta_crit(0.01, 1e-4, a, math.radians(120)) < 0.01 < tc
    with pytest.raises(MaterialError, match=">= 1"):
        wetting_theta_crit(0.01, 1e-4, a, math.radians(10))


def test_interlayer_keeps_the_attempt_prefactor():
    """kappa_il(T) / kappa_bare(T) = exp((E_bare - E_il) / k_B T) at every temperature."""
    bare = InterfaceVacancyParameters(site_density=1e-5,
                                      transfer_rate=Arrhenius.ev(0.0105, 0.14),
                                      molar_volume=2.4e-5, theta_crit=0.01)
    layer = get_interlayer("sn_na")
    il = with_interlayer(bare, layer, wetting_angle=math.radians(105), theta_eq=1e-4)
    for T in (250.0, 298.15, 353.15):
        ratio = il.transfer_rate(T) / bare.transfer_rate(T)
        assert ratio == pytest.approx(np.exp(0.04 * EV / (K_B * T)), rel=1e-9)
    assert il.theta_crit > bare.theta_crit
    assert any("Lowack" in c for c in il.citations)


# ------------------------------------------------------------ thermodynamic vacancy set
def _na_cfg(*sets):
    from conftest import PROBLEMS

    from femcell.config import load_config

    return load_config(PROBLEMS / "na_ccd_ramp.toml", list(sets))


def test_na_vacancy_set_reproduces_the_tracer_self_diffusion():
    """D_self = f x_v(T) D_v(T) from the library's thermal vacancies (Feder & Charbnau 1966)
    and vacancy migration (Lowack 2026) against the 22Na tracer Arrhenius (Nachtrieb 1952)
    from 0 to 95 degC: within the quoted errors (E_f +- 0.03 eV, Q +- 0.01 eV: a factor
    1.3 over the range), and x_v at the melting point against the measured 7.5e-4."""
    from femcell.materials.library.anodes import NA_TRACER

    v = _na_cfg().anode.vacancies
    tr = NA_TRACER
    assert v.equilibrium == "thermal"
    temps = np.linspace(273.15, 368.15, 6)
    d_v = Arrhenius(v.diffusivity, v.migration_energy)
    d_self = np.array([tr["correlation_factor"] * v.fraction(T) * d_v(T) for T in temps])
    tracer = tr["prefactor"] * np.exp(-tr["activation_energy"] / (K_B * temps))
    at_25 = tr["prefactor"] * np.exp(-tr["activation_energy"] / (K_B * 298.15))
    assert at_25 == pytest.approx(5.3e-13, rel=0.05, abs=0)  # Nachtrieb at 25 degC
    assert np.all(np.abs(np.log(d_self / tracer)) < np.log(1.3)), d_self / tracer
    from femcell.analysis import arrhenius_fit

    q = arrhenius_fit(temps, d_self)["activation_energy_eV"]
    err = np.hypot(tr["activation_energy_error"], tr["formation_energy_error"]) / EV
    assert abs(q - tr["activation_energy"] / EV) < err
    # Feder & Charbnau: c_v(T_m) = 7.5e-4 at T_m = 370.95 K (their E_f, S_f give 6.5e-4)
    assert v.fraction(370.95) == pytest.approx(7.5e-4, rel=0.2)
    # a wrong entropy unit (J/K instead of k_B) or sign would miss by orders
    assert 1e-5 < v.fraction(298.15) < 1e-4


def test_wetting_threshold_by_hand():
    """theta_crit(T) = x_v(T) exp(w / k_B T), w = gamma (1 + cos angle) / (Gamma_s N_A): the
    library Na|beta''-alumina values by hand at 25 and 80 degC, with and without the Sn-Na
    interlayer (its own angle, 95 deg)."""
    from femcell.sections.anode import parameters
    from femcell.units import N_A

    gamma, gam_s = 0.192, (N_A / 23.78e-6) ** (2 / 3) / N_A
    for T in (298.15, 353.15):
        x_v = np.exp(5.8 - 0.42 * EV / (K_B * T))
        for sets, angle in (((), 105.0), (('anode.interface.interlayer="sn_na"',), 95.0)):
            _, par, xv = parameters(_na_cfg(*sets), T)
            w = gamma * (1 + np.cos(np.radians(angle))) / (gam_s * N_A)
            assert xv == pytest.approx(x_v, rel=1e-9)
            assert par.theta_crit == pytest.approx(x_v * np.exp(w / (K_B * T)), rel=0.01)
    # fixed equilibria: the study's theta_crit and equilibrium fraction at every T
    _, par, xv = parameters(_na_cfg('anode.vacancies.equilibrium="fixed"',
                                    'anode.interface.void_threshold="fixed"'), 353.15)
    assert (par.theta_crit, xv) == (0.01, 1e-4)


def test_thermal_and_wetting_options_name_their_missing_keys():
    from pydantic import ValidationError

    from femcell.config import validation_message
    from femcell.sections.anode import InterfaceSection, VacancySection

    with pytest.raises(ValidationError) as e:
        VacancySection(diffusivity=1e-9, migration_energy=1e-20, equilibrium="thermal")
    msg = validation_message(e.value, "anode.vacancies")
    assert "anode.vacancies" in msg and "formation_energy" in msg
    with pytest.raises(ValidationError) as e:
        InterfaceSection(transfer_rate=0.01, activation_energy=2e-20,
                         void_threshold="wetting", wetting_angle=1.8)
    msg = validation_message(e.value, "anode.interface")
    assert "anode.interface" in msg and "surface_energy" in msg


def test_sensitivity_table_freezes_and_moves_the_right_energies():
    """Closed-form sensitivity of the flagship's interface-limited case: with x_v and
    theta_crit frozen E_A is the transfer barrier; as run it is E_int + E_f - w S / (S - 1)
    (S = theta_crit / x_v, w the adhesion per site), within 0.01 eV; E_f +- 0.03 eV moves
    E_A by +- 0.03 eV."""
    from femcell.studies.ccd_ramp import case_config, sensitivity

    cfg = _na_cfg('ramp.temperatures=["25 degC", "80 degC"]')
    case = cfg.cases[0]
    rows = {r["variant"]: r for r in sensitivity(case, case_config(cfg, case), 20e-6)}
    ea = {k: r["activation_energy_eV"] for k, r in rows.items()}
    assert ea["x_v and theta_crit frozen at their 25 degC values"] == pytest.approx(
        0.14, abs=0.002)
    w = 0.103  # eV, 0.192 J/m^2 (1 + cos 105 deg) over one Na site
    s_mid = np.exp(w / (K_B / EV * 325.0))
    assert ea["as run"] == pytest.approx(0.14 + 0.42 - w * s_mid / (s_mid - 1), abs=0.01)
    assert ea["formation energy +0.03 eV"] - ea["as run"] == pytest.approx(0.03, abs=1e-3)
    assert ea["formation energy -0.03 eV"] - ea["as run"] == pytest.approx(-0.03, abs=1e-3)
    # an attempt frequency instead of the model prefactor: j_crit three orders higher
    nu = next(r for k, r in rows.items() if k.startswith("kappa ="))
    assert nu["j_crit_first_T_A_m2"] > 1e3 * rows["as run"]["j_crit_first_T_A_m2"]
