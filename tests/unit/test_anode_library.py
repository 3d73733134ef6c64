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
