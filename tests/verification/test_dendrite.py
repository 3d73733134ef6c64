"""Verification of the metal filament in a broken electrolyte (issue 13): the diffuse filament
surface carries the reaction of a sharp one, its pressure shifts the equilibrium by Omega p / F,
and current leaves a pressurised filament for the flat interface."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from conftest import layered_builder, one_rank

from femcell._dolfinx import MPI
from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor
from femcell.physics.charge import ChargeTransport
from femcell.physics.dendrite import MetalFilament
from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics
from femcell.problem import Problem
from femcell.solvers import StepController, TimeIntegrator
from femcell.units import F

LE, LS = 10e-6, 100e-6
SIGMA, I, OMEGA = 0.05, 1.0, 13.0e-6  # S/m (LLZO-like), A/m^2, m^3/mol (Li)
METAL = Conductor("metal", Arrhenius(1.1e7), "electron")


def _solve(dom, damage=None, *, i0=10.0, i0_filament=None, pressure=0.0, current=I,
           t_end=1.0, rows=None):
    """Galvanostatic steps (dt = 1 s up to t_end) of Li | electrolyte | Li plated at the
    cathode, with a filament of the given damage field (None: no filament); the last row of
    quantities (every row appended to `rows` when given)."""
    law = ButlerVolmer(Arrhenius(i0), 0.5, 0.5)
    cond = {"anode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA)), "cathode": METAL}
    ch = ChargeTransport(cond, [InterfaceKinetics("anode", "electrolyte", law),
                                InterfaceKinetics("cathode", "electrolyte", law)],
                         current_density=current)
    phys = [ch]
    if damage is not None:
        V = dolfinx.fem.functionspace(dom.mesh, ("Lagrange", 1))
        d = dolfinx.fem.Function(V)
        d.interpolate(damage)
        flaw = ButlerVolmer(Arrhenius(i0_filament or i0), 0.5, 0.5)
        phys.append(MetalFilament(ch, d, electrode="cathode", law=flaw, molar_volume=OMEGA,
                                  pressure=pressure))
    pb = Problem(dom, phys)
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=1.0, adaptive=False))
    rows = [] if rows is None else rows
    integ.run(t_end, lambda rec: rows.append({**rec, **pb.quantities()}) and False)
    pb.close()
    return rows[-1]


@pytest.fixture(scope="module")
def strip():
    return Domain.from_builder(layered_builder([LE, LS, LE], 2e-6, 0.5e-6))


def test_planar_filament_is_a_thinner_electrolyte(strip):
    """A metal layer grown 40 um into the electrolyte from the plated side (diffuse edge 4 um,
    m = d^4): the whole current deposits on it, its diffuse surface has the strip's area, the
    cell voltage drops by I dL / sigma with dL the distance to the reaction plane (the mean
    of x over |grad m|: x_f - 0.2 delta), and doubling i0 of the filament lowers the voltage
    by I (R_ct(i0) - R_ct(2 i0)) - what a sharp interface of that area gives."""
    xf, delta = LE + LS - 40e-6, 4e-6

    def profile(x):
        return np.clip(1 - (xf - x[0]) / delta, 0, 1)

    ref = _solve(strip)
    fil = _solve(strip, profile)
    assert fil["filament_current_fraction"] == pytest.approx(1.0, abs=1e-3)
    assert fil["filament_surface"] == pytest.approx(2e-6, rel=2e-2)
    dl = LE + LS - (xf - 0.2 * delta)
    assert fil["cell_voltage"] - ref["cell_voltage"] == pytest.approx(-I * dl / SIGMA, rel=3e-2)
    fast = _solve(strip, profile, i0_filament=20.0)
    law = ButlerVolmer(Arrhenius(10.0), 0.5, 0.5)
    fast_law = ButlerVolmer(Arrhenius(20.0), 0.5, 0.5)
    d_rct = I * (law.charge_transfer_resistance() - fast_law.charge_transfer_resistance())
    assert fil["cell_voltage"] - fast["cell_voltage"] == pytest.approx(d_rct, rel=2e-2)


def test_filament_pressure_shifts_the_equilibrium_by_omega_p_over_f(strip):
    """At fixed current through the filament, a pressure p in it raises the cell voltage by
    exactly Omega p / F (74 MPa ~ 10 mV for Li)."""
    xf, delta = LE + LS - 40e-6, 4e-6

    def profile(x):
        return np.clip(1 - (xf - x[0]) / delta, 0, 1)

    p = 74e6
    v0 = _solve(strip, profile)["cell_voltage"]
    row = _solve(strip, profile, pressure=p)
    assert row["filament_shift"] == pytest.approx(OMEGA * p / F, rel=1e-12)
    assert row["cell_voltage"] - v0 == pytest.approx(OMEGA * p / F, rel=1e-3)


@pytest.mark.parametrize("at_anode, short, short_default", [(0.6, 0.95, 1.0), (0.4, 0.3, 0.0)])
def test_the_cell_shorts_when_the_broken_electrolyte_reaches_the_counter_electrode(
        strip, at_anode, short, short_default):
    """A filament from the plated interface across the whole electrolyte, its damage falling
    to `at_anode` at the anode: by default the cell is shorted exactly when the broken
    electrolyte that `filament_depth` counts (d >= 0.5) reaches the anode, i.e. when that
    depth is the electrolyte's thickness; `short_damage` moves the threshold."""

    def profile(x):
        return np.clip(at_anode + (1 - at_anode) * (x[0] - LE) / 20e-6, 0, 1)

    def quantities(**kw):
        law = ButlerVolmer(Arrhenius(10.0), 0.5, 0.5)
        cond = {"anode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA)),
                "cathode": METAL}
        ch = ChargeTransport(cond, [InterfaceKinetics("anode", "electrolyte", law),
                                    InterfaceKinetics("cathode", "electrolyte", law)],
                             current_density=I)
        d = dolfinx.fem.Function(dolfinx.fem.functionspace(strip.mesh, ("Lagrange", 1)))
        d.interpolate(profile)
        fil = MetalFilament(ch, d, electrode="cathode", law=law, molar_volume=OMEGA,
                            counter_electrode="anode", **kw)
        pb = Problem(strip, [ch, fil])
        pb.initialise()
        q = pb.quantities()
        pb.close()
        return q

    q = quantities()
    assert q["filament_counter_damage"] == pytest.approx(at_anode, abs=1e-9)
    assert q["filament_short"] == short_default
    through = q["filament_depth"] == pytest.approx(LS, rel=1e-9)
    assert through == bool(short_default)
    assert quantities(short_damage=short)["filament_short"] == 1.0 - short_default


def _needle_cell(h, half, W=10e-6, length=15e-6, ramp=1.0e-6):
    """Li | 40 um electrolyte | Li, W high, mesh h, and the damage of a needle filament
    (half thickness `half`, `length` from the plated interface, diffuse edge `ramp`)."""
    dom = Domain.from_builder(layered_builder([LE, 40e-6, LE], W, h))
    tip = LE + 40e-6 - length

    def needle(x):
        dist = np.maximum(np.abs(x[1] - W / 2) - half, 0.0) + np.maximum(tip - x[0], 0.0)
        return np.clip(1 - dist / ramp, 0, 1)

    return dom, needle


def test_tip_current_falls_as_the_filament_pressure_rises():
    """A needle filament (0.6 um thick, 15 um long) from the plated interface (i0 = 10
    mA/cm^2, 1 mA/cm^2): at p = 0 the current focuses at its tip (peak deposition current
    density over twice its mean); at fixed cell current a rising pressure in it (2, 5 MPa:
    0.27, 0.67 mV) sends current back to the flat interface - the filament's share and its
    peak current density fall monotonically. (At tens of MPa a filament wired to its
    electrode dissolves into the flat interface: a local cell, which the model also gives.)"""
    dom, needle = _needle_cell(0.25e-6, 0.3e-6)
    rows = [_solve(dom, needle, i0=100.0, current=10.0, pressure=p) for p in (0.0, 2e6, 5e6)]
    share = [r["filament_current_fraction"] for r in rows]
    peak = [r["filament_j_max"] for r in rows]
    mean = rows[0]["filament_current"] / rows[0]["filament_surface"]
    assert peak[0] > 2 * mean  # current focusing at the tip, from the potential field
    assert share[0] > share[1] > share[2] > 0
    assert peak[0] > peak[1] > peak[2] > 0


def test_charge_is_conserved_between_the_flat_interface_and_the_filament():
    """Under a rising current, what the stripped electrode gives equals what plates on the
    flat interface plus what deposits into the filament, at every step (1e-6), and the
    filament's deposited charge and metal are the sums of its current over the steps."""
    W = 10e-6
    dom, needle = _needle_cell(0.5e-6, 0.5e-6)
    rows = []
    _solve(dom, needle, i0=100.0, current=lambda t: 5.0 * (1 + t), t_end=3.0, rows=rows)
    assert len(rows) == 3
    q_fil = 0.0
    for r in rows:
        given = r["current[anode|electrolyte]"]
        assert given == pytest.approx(5.0 * (1 + r["t"]) * W, rel=1e-9)
        flat = -r["current[cathode|electrolyte]"]
        assert 0 < flat < given and r["filament_current"] > 0
        assert flat + r["filament_current"] == pytest.approx(given, rel=1e-6)
        q_fil += r["filament_current"] * 1.0
        assert r["filament_charge"] == pytest.approx(q_fil, rel=1e-12)
        assert r["filament_metal_deposited"] == pytest.approx(OMEGA * q_fil / F, rel=1e-12)


# ---------------------------------------------------------------- plating into a flaw
A_FLAW, ELL_F, K_IC = 10e-6, 1.25e-6, 0.2e6  # m, m, Pa m^0.5 (a model toughness: the
# Griffith pressure of this flaw, ~33 MPa, is reached within seconds at 5 mA/cm^2)


def _li_llzo_li_flaw(**fracture):
    """Plane-strain Li | LLZO | Li (library elastic constants) held at its current collectors,
    and an AT1 phase field (toughness K_IC^2 / E' of LLZO, l = ELL_F, no split) with the
    given PhaseFieldFracture keywords: (mechanics, fracture)."""
    from femcell.materials.mechanical import get_mechanics
    from femcell.physics.fracture import PhaseFieldFracture
    from femcell.physics.mechanics import Displacement, Elasticity

    li, llzo = get_mechanics("li").elastic, get_mechanics("llzo").elastic
    mech = Elasticity({"anode": li, "electrolyte": llzo, "cathode": li},
                      [Displacement("anode_cc", {"x": 0.0, "y": 0.0}),
                       Displacement("cathode_cc", {"x": 0.0})], mode="plane_strain")
    e_prime = llzo.youngs_modulus / (1 - llzo.poisson_ratio ** 2)
    return mech, PhaseFieldFracture(mech, toughness=K_IC ** 2 / e_prime, length=ELL_F,
                                    model="AT1", split="none", **fracture)


def _plate_into_flaw(current, dt, steps):
    """Li | LLZO (120 um) | Li, plated at the cathode, with a surface flaw (an initial crack
    10 um deep) at the plated interface: charge transport + filament (one group), elasticity
    with the crack volume held at the deposited metal, AT1 damage. Rows of quantities with
    the ledger (stripped charge, flat plating, metal in the crack) and the Griffith pressure
    of the flaw (K_IC,eff = sqrt(Gc_eff E'), Y = 1.12)."""
    from femcell import analytic_mechanics as am
    from femcell.materials.mechanical import get_mechanics
    from femcell.solvers.staggered import StaggeredProblem

    ls = W = 120e-6
    xi = LE + ls
    dom = Domain.from_builder(layered_builder(
        [LE, ls, LE], W, W / 8,
        refine=[(xi - A_FLAW - 8 * ELL_F, xi + ELL_F, W / 2 - 3 * ELL_F, W / 2 + 3 * ELL_F,
                 ELL_F / 4)]))
    law = ButlerVolmer(Arrhenius(100.0), 0.5, 0.5)
    cond = {"anode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA)), "cathode": METAL}
    ch = ChargeTransport(cond, [InterfaceKinetics("anode", "electrolyte", law),
                                InterfaceKinetics("cathode", "electrolyte", law)],
                         current_density=current)
    mech, frac = _li_llzo_li_flaw(initial_cracks=[((xi, W / 2), (xi - A_FLAW, W / 2))])
    llzo = get_mechanics("llzo").elastic
    e_prime = llzo.youngs_modulus / (1 - llzo.poisson_ratio ** 2)
    fil = MetalFilament(ch, frac, electrode="cathode", law=law, molar_volume=OMEGA)
    prob = StaggeredProblem(
        dom, [ch, mech, frac, fil], [[ch, fil], [mech], [frac]], rtol=0.0, atol=1e-5,
        max_sweeps=200, acceleration="anderson",
        volume_control=(frac, lambda t: fil.metal_volume(float(fil.time.dt.value))))
    prob.initialise()
    pc = am.griffith_surface_flaw_pressure(A_FLAW, np.sqrt(frac.effective_toughness()
                                                           * e_prime))
    rows, flat = [], [0.0]

    def on_step(rec):
        q = prob.quantities()
        flat[0] += -q["current[cathode|electrolyte]"] * rec["dt"]
        rows.append({**rec, **q, "q_stripped": q["current[anode|electrolyte]"] * rec["t"],
                     "q_flat": flat[0], "q_crack": q["crack_volume"] * F / OMEGA})

    TimeIntegrator(prob, StepController(dt_initial=dt, adaptive=False)).run(dt * steps,
                                                                            on_step)
    prob.close()
    return rows, pc


def _check_ledger(rows):
    for r in rows:
        assert r["q_flat"] + r["q_crack"] == pytest.approx(r["q_stripped"], rel=1e-6)
        assert r["crack_volume"] == pytest.approx(r["filament_metal_deposited"], rel=1e-6)


# the coupled solve runs on 2 ranks in tests/studies/test_plating.py (the suite's time budget)
serial_only = one_rank("tests/studies/test_plating.py")


@serial_only
def test_plating_pressurises_the_flaw_until_it_cracks_at_griffiths_pressure():
    """At 5 mA/cm^2 the metal deposited into the flaw raises its pressure until the flaw
    grows: the peak pressure is the Griffith pressure of the flaw within 10 %, the crack then
    runs ahead, and the metal is conserved - stripped = plated flat + held in the crack, to
    1e-6 at every step."""
    rows, pc = _plate_into_flaw(50.0, 0.5, 4)
    p = np.array([r["crack_pressure"] for r in rows])
    i = int(np.argmax(p))
    assert 0 < i < len(p) - 1, p / pc  # a peak, then the pressure falls as the flaw grows
    assert p[i] == pytest.approx(pc, rel=0.10), p / pc
    assert rows[-1]["crack_length"] > rows[0]["crack_length"] + 2 * ELL_F
    _check_ledger(rows)


@serial_only
def test_below_the_critical_current_the_flaw_pressure_saturates():
    """At 0.5 mA/cm^2 the pressure in the flaw rises while deposition into it slows (the
    stress shift Omega p / F eats the local overpotential) and stays below half the Griffith
    pressure: no growth. The saturation pressure is bounded by what the overpotential can
    make: Omega p / F < |eta at the flat interface| + I a / sigma (the ohmic drop to the
    flaw tip)."""
    rows, pc = _plate_into_flaw(5.0, 2.5, 4)
    p = np.array([r["crack_pressure"] for r in rows])
    share = np.array([r["filament_current_fraction"] for r in rows])
    assert np.all(np.diff(p) > 0) and np.all(np.diff(np.diff(p)) < 0)  # rising, saturating
    assert np.all(np.diff(share) < 0) and share[-1] < 0.5 * share[0]
    assert p[-1] < 0.5 * pc
    bound = abs(rows[-1]["eta_mean[cathode|electrolyte]"]) + 5.0 * A_FLAW / SIGMA
    assert OMEGA * p[-1] / F < bound
    assert rows[-1]["crack_length"] < rows[0]["crack_length"] + 0.2 * ELL_F
    _check_ledger(rows)


@pytest.mark.parametrize("region", ["electrolyte", None])
def test_only_the_cracking_region_breaks(region):
    """`cracking_region`: a flaw drawn from 2 um inside the plated Li into the electrolyte
    starts broken only in the electrolyte (its nodes on the Li interface included: the flaw
    reaches the surface), and under pressure the metal is never degraded (g = 1 in every
    metal cell, though the damage decays into it). Without it the same flaw starts broken in
    the Li too, the case the option is for."""
    from femcell.solvers.staggered import StaggeredProblem

    ls = W = 60e-6
    xi = LE + ls  # the electrolyte | cathode interface (x)
    dom = Domain.from_builder(layered_builder(
        [LE, ls, LE], W, W / 6,
        refine=[(xi - 2 * A_FLAW, xi + 4 * ELL_F, W / 2 - 3 * ELL_F, W / 2 + 3 * ELL_F,
                 ELL_F / 2)]))
    mech, frac = _li_llzo_li_flaw(pressure=5e6, cracking_region=region, initial_cracks=[
        ((xi + 2e-6, W / 2), (xi - A_FLAW, W / 2))])
    prob = StaggeredProblem(dom, [mech, frac], [[mech], [frac]], rtol=0.0, atol=1e-5,
                            max_sweeps=100)
    prob.initialise()
    x = frac.V.tabulate_dof_coordinates()[:, 0]
    d = frac.field.u.x.array
    metal = x > xi + 1e-9
    mouth = (np.abs(x - xi) < 1e-9) & (d > 0.99)

    def count(mask):
        return dom.comm.allreduce(int(mask.sum()), op=MPI.SUM)

    if region is None:
        assert count(metal & (d > 0.99)) > 0
        prob.close()
        return
    assert count(mouth) > 0 and count(metal & (d != 0)) == 0
    assert prob.solve_step(1.0, 1.0, 1, None).converged
    prob.accept()
    d = frac.field.u.x.array
    assert count(metal & (d > 0.05)) > 0  # the damage decays into the metal ...
    cells = dom.cells("cathode")
    g = dolfinx.fem.Expression(frac.degradation, np.array([[1 / 3, 1 / 3]]))
    g_metal = g.eval(dom.mesh, cells).ravel()
    assert np.all(g_metal == 1.0)  # ... and never softens it
    assert count((x < xi - 1e-9) & (d > 0.5)) > 0  # the flaw itself is still there
    prob.close()


def test_a_band_along_the_region_interface_costs_its_full_toughness():
    """A damage band lying in the electrolyte along its interface with the Li: with the
    electrolyte as the cracking region its surface measure (crack length) is the one of the
    same band in a body where every cell may break (to 1e-9: the surface energy runs over the
    metal cells too), within 10 % of a band in the bulk, and about half of it lies in the metal
    (were the interface a free boundary of the phase field, that share would cost nothing
    and a crack along the interface would break at about 1 / sqrt(2) of the toughness)."""
    from femcell.solvers.staggered import StaggeredProblem

    ls = W = 60e-6
    xi = LE + ls
    y0, y1 = W / 6, 5 * W / 6
    out = {}
    for key, xc, region in (("interface", xi - ELL_F / 4, "electrolyte"),
                            ("interface_all", xi - ELL_F / 4, None),
                            ("bulk", xi - W / 4, "electrolyte")):
        dom = Domain.from_builder(layered_builder(
            [LE, ls, LE], W, W / 6,
            refine=[(xi - W / 4 - 3 * ELL_F, xi + 3 * ELL_F, 0.0, W, ELL_F / 2)]))
        mech, frac = _li_llzo_li_flaw(cracking_region=region, crack_half_width=0.5 * ELL_F,
                                      initial_cracks=[((xc, y0), (xc, y1))])
        prob = StaggeredProblem(dom, [mech, frac], [[mech], [frac]], rtol=0.0, atol=1e-6,
                                max_sweeps=100)
        prob.initialise()
        assert prob.solve_step(1.0, 1.0, 1, None).converged
        in_se = dolfinx.fem.form(frac._surface * dom.dx("electrolyte"))
        out[key] = (frac.crack_surface(), dom.comm.allreduce(
            dolfinx.fem.assemble_scalar(in_se), op=MPI.SUM))
        prob.close()
    total, in_se = out["interface"]
    assert total == pytest.approx(out["interface_all"][0], rel=1e-9)
    assert total == pytest.approx(out["bulk"][0], rel=0.10), out
    assert 0.3 < 1 - in_se / total < 0.6, out  # the share in the metal (0.47)
