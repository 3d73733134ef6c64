"""Verification of charge transport with Butler-Volmer interfaces (PHYSICS.md section 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import layered_builder

from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor
from femcell.physics.charge import ChargeTransport
from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics, LinearKinetics, Tafel
from femcell.problem import Problem
from femcell.solvers import StepController, TimeIntegrator
from femcell.units import F, R

LE, LS, W = 20e-6, 100e-6, 20e-6
SIGMA = 0.05  # S/m (LLZO-like)
METAL = Conductor("metal", Arrhenius(1.1e7), "electron")


@pytest.fixture(scope="module")
def cell():
    return Domain.from_builder(layered_builder([LE, LS, LE], W, 5e-6))


def _physics(law_a, law_c=None, current=1.0, temperature=298.15):
    cond = {"anode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA)), "cathode": METAL}
    return ChargeTransport(cond, [InterfaceKinetics("anode", "electrolyte", law_a),
                                  InterfaceKinetics("cathode", "electrolyte", law_c or law_a)],
                           current_density=current, temperature=temperature)


def _run(domain, phys, t_end=1.0, dt=1.0):
    pb = Problem(domain, [phys])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False))
    rows = []
    integ.run(t_end, lambda rec: rows.append({**rec, **pb.quantities()}) and False)
    return pb, integ, rows


def test_small_current_area_specific_resistance(cell):
    """ASR = 2 R_ct + L / sigma (+ the metals' L / sigma_s) at small current."""
    law = ButlerVolmer(Arrhenius(10.0), 0.5, 0.5)
    _, _, rows = _run(cell, _physics(law, current=0.01))
    asr = 2 * law.charge_transfer_resistance() + LS / SIGMA + 2 * LE / 1.1e7
    assert rows[-1]["cell_voltage"] / 0.01 == pytest.approx(asr, rel=1e-3)
    # the two halves: ohmic drop in the electrolyte is I L / sigma
    assert rows[-1]["ohmic_drop[electrolyte]"] == pytest.approx(0.01 * LS / SIGMA, rel=1e-6)


def test_linear_limit_is_the_same_law(cell):
    bv = ButlerVolmer(Arrhenius(10.0), 0.4, 0.6)
    lin = LinearKinetics(Arrhenius(10.0), 0.4, 0.6)
    v = [_run(cell, _physics(k, current=1e-3))[2][-1]["cell_voltage"] for k in (bv, lin)]
    assert v[0] == pytest.approx(v[1], rel=1e-4)


@pytest.mark.parametrize("branch", ["anodic", "cathodic"])
def test_tafel_slope(cell, branch):
    """Fitted d eta / d log10 j at |j| >> i0 equals 2.303 R T / (alpha F) within 2 %.

    The current sweeps up logarithmically as in a lab Tafel measurement (each step starts
    from the previous state)."""
    law = ButlerVolmer(Arrhenius(1.0), 0.3, 0.7)
    name = "anode|electrolyte" if branch == "anodic" else "cathode|electrolyte"
    phys = _physics(law, current=lambda t: 10.0 ** t)  # 1 -> 2000 A/m^2 over t = 0 .. 3.3
    _, integ, rows = _run(cell, phys, t_end=3.3, dt=0.1)
    j = np.array([r["current_density"] for r in rows])
    eta = np.abs([r[f"eta_mean[{name}]"] for r in rows])
    sel = j >= 200.0  # |j| >= 200 i0: the reverse branch is below 1e-5 of the forward one
    slope = np.polyfit(np.log10(j[sel]), eta[sel], 1)[0]
    alpha = 0.3 if branch == "anodic" else 0.7
    expected = math.log(10) * R * 298.15 / (alpha * F)
    assert slope == pytest.approx(expected, rel=0.02)
    assert max(rec["newton_its"] for rec in integ.log) <= 6
    # and the Tafel law itself agrees with Butler-Volmer there
    tafel = Tafel(Arrhenius(1.0), 0.3, 0.7)
    e = eta[-1] if branch == "anodic" else -eta[-1]
    assert float(tafel.current(e)) == pytest.approx(float(law.current(e)), rel=1e-4)


def test_charge_balance_and_newton_iterations_on_a_ramp(cell):
    """Current through the anode interface equals that through the cathode interface every
    step, and a current ramp needs <= 6 Newton iterations per step."""
    law = ButlerVolmer(Arrhenius(10.0), 0.5, 0.5)
    phys = _physics(law, current=lambda t: 50.0 * t)  # 0 -> 500 A/m^2 in 10 s
    _, integ, rows = _run(cell, phys, t_end=10.0, dt=0.5)
    for r in rows:
        ia, ic = r["current[anode|electrolyte]"], r["current[cathode|electrolyte]"]
        assert abs(ia + ic) <= 1e-10 * abs(ia) + 1e-20
        assert ia == pytest.approx(r["applied_current_density"] * W, rel=1e-9)
        assert r["current_density"] == pytest.approx(r["applied_current_density"], rel=1e-9)
        # a uniform strip: the peak facet current density equals the mean
        jm = abs(r["j_mean[anode|electrolyte]"])
        assert r["j_max[anode|electrolyte]"] == pytest.approx(jm, rel=1e-6, abs=1e-12)
    assert max(rec["newton_its"] for rec in integ.log) <= 6


def test_temperature_raises_conductivity_and_kinetics(cell):
    """Arrhenius sigma and i0: at 60 degC the small-current ASR follows both laws."""
    law = ButlerVolmer(Arrhenius.ev(10.0, 0.35), 0.5, 0.5)
    se = Conductor("se", Arrhenius.ev(SIGMA, 0.3))
    T = 333.15
    cond = {"anode": METAL, "electrolyte": se, "cathode": METAL}
    phys = ChargeTransport(cond, [InterfaceKinetics("anode", "electrolyte", law),
                                  InterfaceKinetics("cathode", "electrolyte", law)],
                           current_density=0.01, temperature=T)
    _, _, rows = _run(cell, phys)
    asr = 2 * law.charge_transfer_resistance(T) + LS / se.conductivity(T) + 2 * LE / 1.1e7
    assert rows[-1]["cell_voltage"] / 0.01 == pytest.approx(asr, rel=1e-3)
    assert asr < 0.5 * (2 * law.charge_transfer_resistance() + LS / SIGMA)


def test_spreading_resistance_of_a_contact_spot_3d():
    """A circular contact of radius a on a thick electrolyte: R = 1 / (4 sigma a) within 5 %
    (half-space model: a hemisphere of radius 20 a; its finite size and the kinetic terms
    are subtracted analytically)."""
    import numpy as np
    from conftest import contact_spot_builder

    from femcell.physics.kinetics import LinearKinetics

    a, rb = 10e-6, 200e-6
    dom = Domain.from_builder(contact_spot_builder(a, rb, a / 8, rb / 5))
    law = LinearKinetics(Arrhenius(1e5))
    cond = {"anode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA)), "cathode": METAL}
    phys = ChargeTransport(cond, [InterfaceKinetics("anode", "electrolyte", law),
                                  InterfaceKinetics("cathode", "electrolyte", law)],
                           current_density=1.0, degree=2)
    _, integ, rows = _run(dom, phys)
    total = rows[-1]["current[anode|electrolyte]"]
    r_num = rows[-1]["cell_voltage"] / total
    rct = law.charge_transfer_resistance()
    r_spread = 1 / (4 * SIGMA * a)
    r_exact = (r_spread - 1 / (2 * np.pi * SIGMA * rb) + rct / (np.pi * a * a)
               + rct / (2 * np.pi * rb**2))
    assert r_num == pytest.approx(r_exact, rel=0.05)
    # the current crowds at the contact edge: the peak is well above the mean
    name = "anode|electrolyte"
    assert rows[-1][f"j_max[{name}]"] > 1.5 * rows[-1][f"j_mean[{name}]"]


def test_grain_conductivities_add_in_series():
    """A resolved low-conductivity layer (e.g. a grain-boundary phase) inside the
    electrolyte adds L_gb / sigma_gb to the ohmic resistance."""
    lg, sig_gb = 2e-6, 5e-4
    dom = Domain.from_builder(layered_builder(
        [LE, LS / 2, lg, LS / 2, LE], W, 2e-6,
        names=("anode", "electrolyte.bulk_1", "electrolyte.gb", "electrolyte.bulk_2",
               "cathode")))
    law = LinearKinetics(Arrhenius(10.0))
    cond = {"anode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA)), "cathode": METAL}
    phys = ChargeTransport(cond, [InterfaceKinetics("anode", "electrolyte", law),
                                  InterfaceKinetics("cathode", "electrolyte", law)],
                           current_density=0.1,
                           group_conductors={"electrolyte.gb": Conductor("gb", Arrhenius(
                               sig_gb))})
    _, _, rows = _run(dom, phys)
    ohm = LS / SIGMA + lg / sig_gb
    assert rows[-1]["ohmic_drop[electrolyte]"] == pytest.approx(0.1 * ohm, rel=1e-6)
    metal = 2 * LE / phys.effective_conductivity("anode")  # capped: 1e4 sigma_electrolyte
    assert metal < 1e-4 * ohm
    asr = 2 * law.charge_transfer_resistance() + ohm + metal
    assert rows[-1]["cell_voltage"] / 0.1 == pytest.approx(asr, rel=1e-6)


def test_scalable_preconditioner_keeps_krylov_iterations_flat():
    """GMRES + GAMG on the polycrystalline symmetric cell: Krylov iterations per solve grow
    by less than 30 % under mesh refinement (docs/benchmarks.md problem 2)."""
    from femcell.materials import get_material

    its = []
    for h in (4e-6, 2e-6):
        dom = Domain.from_builder("symmetric_cell", dim=2, width=100e-6,
                                  electrolyte_thickness=60e-6, anode_thickness=10e-6,
                                  cathode_thickness=10e-6, h=h,
                                  grains={"mean_size": 20e-6, "seed": 1})
        law = ButlerVolmer(Arrhenius(250.0))
        li = get_material("li")
        phys = ChargeTransport({"anode": li, "electrolyte": get_material("llzo"),
                                "cathode": li},
                               [InterfaceKinetics("anode", "electrolyte", law),
                                InterfaceKinetics("cathode", "electrolyte", law)],
                               current_density=lambda t: 10.0 * t)
        pb = Problem(dom, [phys], linear_solver="iterative")
        pb.initialise()
        integ = TimeIntegrator(pb, StepController(dt_initial=1.0, adaptive=False))
        integ.run(3.0)
        assert max(r["newton_its"] for r in integ.log) <= 5
        its.append(sum(r["krylov_its"] for r in integ.log)
                   / sum(r["newton_its"] for r in integ.log))
    assert its[1] < 1.3 * its[0], its
    assert its[1] < 40
