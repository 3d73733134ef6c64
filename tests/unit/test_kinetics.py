"""Kinetic laws: limits, overflow safety and the stress shift."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femcell.materials import Arrhenius
from femcell.materials.core import MaterialError
from femcell.physics.base import ElectrodeCoupling
from femcell.physics.kinetics import (
    ButlerVolmer,
    InterfaceKinetics,
    LinearKinetics,
    StressModified,
    Tafel,
    concentration_exchange_factor,
    safe_exp,
)
from femcell.units import EV, K_B, F, R


def test_charge_transfer_resistance_is_rt_over_f_i0():
    bv = ButlerVolmer(Arrhenius(5.0), 0.5, 0.5)
    assert bv.charge_transfer_resistance() == pytest.approx(R * 298.15 / (F * 5.0), rel=1e-12)
    # the numerical derivative of the law agrees
    h = 1e-7
    num = 2 * h / (bv.current(h) - bv.current(-h))
    assert num == pytest.approx(bv.charge_transfer_resistance(), rel=1e-6)


def test_limits_come_out_of_the_same_law():
    i0 = Arrhenius(2.0)
    bv, lin, taf = (cls(i0, 0.35, 0.65) for cls in (ButlerVolmer, LinearKinetics, Tafel))
    small = np.array([-1e-5, 1e-5])
    assert np.allclose(lin.current(small), bv.current(small), rtol=1e-3)
    big = np.array([-0.6, 0.6])
    assert np.allclose(taf.current(big), bv.current(big), rtol=1e-4)
    assert bv.tafel_slope() == pytest.approx(math.log(10) * R * 298.15 / (0.35 * F))


def test_exponential_never_overflows():
    bv = ButlerVolmer(Arrhenius(1.0), 1.0, 1.0)
    j = bv.current(np.array([-50.0, -5.0, 5.0, 50.0]))
    assert np.all(np.isfinite(j))
    assert np.all(np.diff(j) > 0)  # still monotone
    x = np.array([49.0, 50.0, 50.0 + 1e-9, 60.0])
    y = safe_exp(x)
    assert y[1] == pytest.approx(math.exp(50.0))
    assert y[2] == pytest.approx(math.exp(50.0), rel=1e-8)  # continuous
    assert (y[3] - y[2]) / (x[3] - x[2]) == pytest.approx(math.exp(50.0), rel=1e-9)  # C1


def test_stress_shift_is_omega_p_over_f():
    """10 mV of overpotential corresponds to ~74 MPa in Li (Omega = 13.0 cm^3/mol)."""
    omega = 13.0e-6
    law = StressModified(ButlerVolmer(Arrhenius(1.0)), omega, 74e6)
    assert law.shift() == pytest.approx(omega * 74e6 / F)
    assert law.shift() == pytest.approx(0.010, rel=0.01)
    base = law.law
    assert law.current(0.0) == pytest.approx(base.current(law.shift()))


def test_exchange_current_is_arrhenius():
    i0 = Arrhenius.ev(3.0, 0.4)
    bv = ButlerVolmer(i0)
    ratio = bv.charge_transfer_resistance(298.15) / bv.charge_transfer_resistance(333.15)
    expected = math.exp(0.4 * EV / K_B * (1 / 298.15 - 1 / 333.15)) * 298.15 / 333.15
    assert ratio == pytest.approx(expected, rel=1e-12)


def test_bad_transfer_coefficient():
    with pytest.raises(MaterialError, match="alpha_a"):
        ButlerVolmer(Arrhenius(1.0), alpha_a=0.0)


def test_interface_kinetics_couplings_and_the_declared_defaults():
    """couplings keep their order; a coupling that overrides nothing changes nothing."""
    law = ButlerVolmer(Arrhenius(1.0))
    a, b, c = ElectrodeCoupling(), ElectrodeCoupling(), ElectrodeCoupling()
    k = InterfaceKinetics("anode", "electrolyte", law, 0.1, couplings=[a, b, c])
    assert k.couplings == (a, b, c)
    plain = InterfaceKinetics("anode", "electrolyte", law)
    assert plain.couplings == () and plain.equilibrium_potential == 0.0
    # the declared defaults: no U_eq change, i0 factor 1, no shift, no terms, no OCV
    assert a.equilibrium_potential("+", 0.3) == 0.3 and a.exchange_factor("+", law) == 1.0
    assert a.overpotential_shift("+") == 0.0 and a.current_terms(1.0, "+", None, 1.0) == {}
    assert a.initial_equilibrium_potential(None) is None


@pytest.mark.parametrize("theta", [0.1, 0.5, 0.9])
def test_concentration_exchange_factor_uses_the_wrapped_law(theta):
    """i0 factor (theta/0.5)^alpha_c ((1-theta)/0.5)^alpha_a, also through StressModified."""
    bv = ButlerVolmer(Arrhenius(1.0), 0.3, 0.7)
    expect = (theta / 0.5) ** 0.7 * ((1 - theta) / 0.5) ** 0.3
    assert concentration_exchange_factor(bv, theta) == pytest.approx(expect, rel=1e-14)
    wrapped = StressModified(bv, 1e-5, 1e6)
    assert concentration_exchange_factor(wrapped, theta) == pytest.approx(expect, rel=1e-14)
    k = InterfaceKinetics("active", "electrolyte", wrapped)
    assert k.exchange_factor(theta) == pytest.approx(expect, rel=1e-14)
    assert wrapped.base_law() is bv
