"""Physically impossible results must not look complete: stoichiometry cut-offs located on
the limit, admissibility warnings (c < 0, c > c_max, maximum principle), the kinetics
overflow-continuation flag, and CCD detection from the state before the ramp."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import box_builder, layered_builder
from scipy.optimize import brentq

from femcell.analysis import ccd_detection, detect_ccd, first_fall_below
from femcell.analytic import crank_sphere_surface
from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor, Constant, IntercalationMaterial
from femcell.physics.charge import ChargeTransport
from femcell.physics.diffusion import (
    ADMISSIBILITY_TOL,
    STOICHIOMETRY_TOL,
    Diffusion,
    Dirichlet,
    Flux,
    admissibility_warnings,
    stoichiometry_limits,
)
from femcell.physics.kinetics import X_LIN, ButlerVolmer, InterfaceKinetics
from femcell.problem import Problem
from femcell.protocol import VOLTAGE_TOL, Protocol, ProtocolRunner, Step, Until
from femcell.solvers import StepController, TimeIntegrator
from femcell.units import F

CMAX = 2.0e4  # [mol/m^3]


def _material(d, ocv=None):
    return IntercalationMaterial("test", CMAX, (Arrhenius(d),), law=Constant(), ocv=ocv)


# ------------------------------------------------------------------ stoichiometry cut-off
R, D0, Q_IN = 5e-6, 1e-14, 2e-5


@pytest.mark.parametrize(("sign", "c0", "adaptive"), [(1, 5000.0, False), (-1, 15000.0, False),
                                                       (1, 5000.0, True)])
def test_cutoff_lands_on_the_limit_at_cranks_time(sign, c0, adaptive):
    """Uniform flux into (out of) a sphere: the mean rises exactly linearly, c0 + 3 q t / R,
    and the run stops when the surface reaches c_max (0): at Crank's time for that surface
    value, within the event tolerance (1e-4 c_max ~ 0.17 s here). Steps of 25 s: stopping
    at the first step past the limit instead would be up to 2.3 % late."""
    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=40)
    phys = Diffusion(_material(D0), [Flux("surface", sign * Q_IN)], initial=c0)
    pb = Problem(dom, [phys])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=25.0, adaptive=adaptive, rtol=1e-4))
    rows = []
    ended = integ.run(5000.0, lambda rec: rows.append({"t": rec["t"], **pb.quantities()})
                      and False, events=stoichiometry_limits([phys]))
    which = "c_max" if sign > 0 else "c = 0"
    assert ended == integ.ended_by
    assert ended.startswith(f"stoichiometry limit: {which} reached in c at t = ")
    last = rows[-1]
    assert last["t"] == integ.t
    # on the limit: at most the tolerance past it, never before it
    if sign > 0:
        assert 1.0 <= last["c_max"] / CMAX <= 1.0 + STOICHIOMETRY_TOL
        assert all(r["c_max"] < CMAX for r in rows[:-1])
    else:
        assert -STOICHIOMETRY_TOL <= last["c_min"] / CMAX <= 0.0
        assert all(r["c_min"] > 0.0 for r in rows[:-1])
    target = CMAX if sign > 0 else 0.0
    t_star = brentq(lambda t: crank_sphere_surface(t, radius=R, diffusivity=D0,
                                                   flux=sign * Q_IN, c0=c0) - target,
                    1.0, 5000.0)
    assert integ.t == pytest.approx(t_star, rel=3e-4)
    # the mean is exactly linear in time (the event did not disturb the mass balance)
    assert last["c_mean"] == pytest.approx(c0 + 3 * sign * Q_IN * integ.t / R, rel=1e-10)
    assert integ.event_retries >= 1  # the landing step was located, not the 25 s grid


def test_run_without_events_ends_at_the_end_time():
    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=8)
    phys = Diffusion(_material(D0), [Flux("surface", Q_IN)], initial=5000.0)
    pb = Problem(dom, [phys])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=50.0, adaptive=False))
    assert integ.run(200.0, events=stoichiometry_limits([phys])) == "end time"
    assert integ.t == pytest.approx(200.0)


# a protocol on a cell with an intercalation layer: Li inserted into "active"
LA, LS, LC, W = 10e-6, 20e-6, 10e-6, 5e-6


def _slab_surface(t, *, thickness, diffusivity, flux, c0, terms=200):
    """Surface concentration of a plane sheet insulated at x = 0 with inward flux q at x = L
    (Fourier series; the mean rises as q t / L):
    c(L, t) - c0 = (q L / D) [tau + 1/3 - (2 / pi^2) sum exp(-n^2 pi^2 tau) / n^2]."""
    tau = diffusivity * t / thickness**2
    n = np.arange(1, terms + 1)
    series = np.sum(np.exp(-(n * np.pi) ** 2 * tau) / n**2)
    return c0 + flux * thickness / diffusivity * (tau + 1 / 3 - 2 / np.pi**2 * series)


def test_protocol_stops_at_the_stoichiometry_limit():
    """Every protocol step carries the stoichiometry limits of every intercalation
    electrode: a charge that would overfill the particle layer ends ON c = c_max (at the
    plane-sheet time for the surface, the current being uniform), with reason
    "stoichiometry limit", and the remaining steps do not run."""
    cell = Domain.from_builder(layered_builder([LA, LS, LC], W, 1.25e-6,
                                               names=("anode", "electrolyte", "active")))
    dc = 1e-12  # L^2 / D = 100 s: the surface reaches c_max at tau ~ 0.63
    mat = _material(dc, ocv=lambda th: 3.9 - 0.3 * th)
    c0 = 0.5 * CMAX
    diff = Diffusion(mat, [], initial=c0, region="active", name="c_active")
    law = ButlerVolmer(Arrhenius(20.0))
    metal = Conductor("metal", Arrhenius(1e7), "electron")
    ct = ChargeTransport({"anode": metal, "electrolyte": Conductor("se", Arrhenius(0.1))},
                         [InterfaceKinetics("anode", "electrolyte", law),
                          InterfaceKinetics("active", "electrolyte", law, couplings=[diff])],
                         current_cc="anode_cc", ground_electrode="active")
    pb = Problem(cell, [diff, ct])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=10.0, adaptive=False))
    rows = []
    runner = ProtocolRunner(pb, ct, integ, dt=10.0, record=rows.append)
    j = 100.0  # A/m^2: fills the layer (0.5 -> 1) in 96 s
    s = runner.run(Protocol([Step("current", current_density=j, until=Until(time=1000.0),
                                  label="overcharge"),
                             Step("rest", until=Until(time=100.0), label="never")]))
    assert [x.label for x in s] == ["overcharge"]
    assert s[0].reason == "stoichiometry limit"
    assert s[0].detail.startswith("stoichiometry limit: c_max reached in c_active at t = ")
    assert runner.ended_by == s[0].detail
    last = rows[-1]
    assert 1.0 <= last["c_active_max"] / CMAX <= 1.0 + STOICHIOMETRY_TOL
    q = j / F  # mol/m^2/s into the layer through the interface
    t_star = brentq(lambda t: _slab_surface(t, thickness=LC, diffusivity=dc, flux=q, c0=c0)
                    - CMAX, 1.0, 1000.0)
    assert s[0].t_end == pytest.approx(t_star, rel=2e-3)
    # Faraday: the mean filling rose by j t / (F L)
    assert last["c_active_mean"] == pytest.approx(c0 + q * s[0].t_end / LC, rel=1e-6)
    assert integ.events == []  # the runner leaves no events behind


def test_voltage_cutoff_is_located(shared_ramp_cell):
    """A current ramp until 10 mV ends on the threshold (within VOLTAGE_TOL * 0.1 V), not
    at the first 0.5 s step past it: V = ASR r t gives the time to 1e-3."""
    cell, asr, make = shared_ramp_cell
    runner, rows = make(0.5)
    rate, vstar = 0.05, 0.01
    s = runner.run(Protocol([Step("ramp", rate=rate, until=Until(voltage_above=vstar,
                                                                  time=1e4))]))
    assert s[0].reason == "voltage_above"
    v = rows[-1]["cell_voltage"]
    assert vstar <= v <= vstar + VOLTAGE_TOL * 0.1
    assert s[0].t_end == pytest.approx(vstar / (asr * rate), rel=2e-3)


@pytest.fixture(scope="module")
def shared_ramp_cell():
    le, ls, w, sigma = 20e-6, 100e-6, 20e-6, 0.05
    cell = Domain.from_builder(layered_builder([le, ls, le], w, 10e-6))
    law = ButlerVolmer(Arrhenius(10.0))
    asr = 2 * law.charge_transfer_resistance() + ls / sigma

    def make(dt):
        metal = Conductor("li", Arrhenius(1.1e7), "electron")
        ct = ChargeTransport({"anode": metal, "electrolyte": Conductor("se", Arrhenius(sigma)),
                              "cathode": metal},
                             [InterfaceKinetics("anode", "electrolyte", law),
                              InterfaceKinetics("cathode", "electrolyte", law)])
        pb = Problem(cell, [ct])
        pb.initialise()
        integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False))
        rows = []
        return ProtocolRunner(pb, ct, integ, dt=dt, record=rows.append), rows

    return cell, asr, make


# ------------------------------------------------------------------ admissibility warnings
def _step_run(lumped: bool, dt: float = 1e-3):
    """A Dirichlet step (0 -> 0.9 c_max) on the boundary of a structured square, backward
    Euler at a step far below h^2 / D: consistent-mass P1 undershoots (the classical
    early-time dip), lumped P1 on right triangles (an M-matrix) cannot."""
    dom = Domain.from_builder(box_builder([0, 0], [1e-5, 1e-5], 12))
    phys = Diffusion(_material(1e-14), [Dirichlet("boundary", 0.9 * CMAX)], initial=0.0,
                     mass_lumping=lumped)
    pb = Problem(dom, [phys])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False, order=1))
    rows = [{"t": 0.0, **pb.quantities()}]
    integ.run(5 * dt, lambda rec: rows.append({"t": rec["t"], **pb.quantities()}) and False)
    return phys, rows


def test_warnings_fire_on_a_consistent_mass_undershoot_and_not_when_lumped():
    phys, rows = _step_run(lumped=False)
    cmin = min(r["c_min"] for r in rows)
    assert cmin < -0.01 * CMAX  # the classical dip, well beyond the tolerance
    w = admissibility_warnings([phys], rows)
    neg = [x for x in w if "negative concentration" in x]
    dmp = [x for x in w if "maximum principle" in x]
    assert len(neg) == 1 and len(dmp) == 1, w
    n_bad = sum(r["c_min"] < -ADMISSIBILITY_TOL * CMAX for r in rows)
    assert f"in {n_bad} of {len(rows)} recorded states" in neg[0]
    assert f"worst {cmin:.6g} mol/m^3" in neg[0]
    phys, rows = _step_run(lumped=True)
    assert min(r["c_min"] for r in rows) >= -1e-12 * CMAX  # discrete maximum principle
    assert max(r["c_max"] for r in rows) <= 0.9 * CMAX * (1 + 1e-12)
    assert admissibility_warnings([phys], rows) == []


def test_lumped_moles_balance_to_round_off_on_curved_cells():
    """Lumped storage on quadratic tets: "moles" and "mean" use the same (vertex) rule as the
    storage term, so the uniform initial state has mean c0 exactly and the moles rise by the
    inflow q A t to round-off (the consistent integral would miss by O(h^2)); the lumped
    undershoot stays inside the tolerance where the consistent one does not."""
    dom = Domain.from_builder("sphere", radius=R, h=R / 4, order=2)
    area = dom.area("surface")
    out = {}
    for lumped in (False, True):
        phys = Diffusion(_material(D0), [Flux("surface", Q_IN)], initial=5000.0,
                         mass_lumping=lumped)
        pb = Problem(dom, [phys])
        pb.initialise()
        rows = [{"t": 0.0, **pb.quantities()}]
        integ = TimeIntegrator(pb, StepController(dt_initial=5.0, adaptive=False))
        integ.run(50.0, lambda rec, rows=rows, pb=pb: rows.append(
            {"t": rec["t"], **pb.quantities()}) and False)
        assert rows[0]["c_mean"] == pytest.approx(5000.0, rel=1e-13)
        added = rows[-1]["c_moles"] - rows[0]["c_moles"]
        assert added == pytest.approx(Q_IN * area * 50.0, rel=1e-10)
        out[lumped] = (min(r["c_min"] for r in rows) - 5000.0) / CMAX
    assert out[False] < -ADMISSIBILITY_TOL < -1e-4 < out[True], out


def _channel_sphere_run(dom, opts, dt_frac=1e-3, t_frac=0.2, adaptive=True):
    """Dirichlet step (0.05 -> 0.95 c_max) on a sphere of a 1D-channel material (D_b / D_a =
    1000, axes rotated): the P1 stiffness is no M-matrix on an unstructured mesh."""
    from femcell.materials import rotation_from_euler

    mat = IntercalationMaterial("channels", CMAX, (Arrhenius(1e-18), Arrhenius(1e-15),
                                                   Arrhenius(1e-18)), law=Constant())
    q = rotation_from_euler([math.radians(a) for a in (30.0, 40.0, 50.0)])
    phys = Diffusion(mat, [Dirichlet("surface", 0.95 * CMAX)], initial=0.05 * CMAX,
                     orientations=q, **opts)
    pb = Problem(dom, [phys])
    pb.initialise()
    tref = phys.scales.time
    integ = TimeIntegrator(pb, StepController(dt_initial=dt_frac * tref, adaptive=adaptive))
    rows = [{"t": 0.0, **pb.quantities()}]
    integ.run(t_frac * tref, lambda rec: rows.append({"t": rec["t"], **pb.quantities()})
              and False)
    return phys, rows


def test_bounds_keep_anisotropic_diffusion_within_its_data():
    """Lumping alone leaves the anisotropic case below its initial value (no M-matrix);
    bounds="data" (a variational inequality) keeps 0.05 <= c / c_max <= 0.95 with no
    warning, also with steps 1e-9 t_ref (storage rows scaled by t_ref / dt: the VI must
    still converge)."""
    dom = Domain.from_builder("sphere", radius=1e-6, h=0.25e-6, order=1)
    phys, rows = _channel_sphere_run(dom, {"mass_lumping": True})
    assert min(r["c_min"] for r in rows) < (0.05 - 0.01) * CMAX
    w = admissibility_warnings([phys], rows)
    assert any("below the bounds" in x for x in w), w
    for opts in ({"mass_lumping": True, "bounds": "data"}, {"bounds": "data"}):
        phys, rows = _channel_sphere_run(dom, opts)
        assert min(r["c_min"] for r in rows) >= 0.05 * CMAX * (1 - 1e-9)
        assert max(r["c_max"] for r in rows) <= 0.95 * CMAX * (1 + 1e-9)
        assert admissibility_warnings([phys], rows) == []
    phys, rows = _channel_sphere_run(dom, {"mass_lumping": True, "bounds": "data"},
                                     dt_frac=1e-9, t_frac=3e-9, adaptive=False)
    assert len(rows) == 4 and min(r["c_min"] for r in rows) >= 0.05 * CMAX * (1 - 1e-9)


def _rows(cmin, cmax, t=None):
    t = t if t is not None else list(range(len(cmin)))
    return [{"t": float(a), "c_min": float(b), "c_max": float(c)}
            for a, b, c in zip(t, cmin, cmax, strict=True)]


def _physics_after_initialise(bcs, initial):
    """A Diffusion set up and initialised (its initial range is known) on a tiny mesh."""
    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=4)
    phys = Diffusion(_material(D0), bcs, initial=initial)
    Problem(dom, [phys]).initialise()
    return phys


def test_warning_thresholds_are_relative_to_c_max():
    """Just inside the tolerance (0.9e-3 c_max) is silent, just outside (1.1e-3) warns, for
    each rule: c < 0, c > c_max, below the initial value with an inflow (the maximum
    principle), above a Dirichlet value; an inflow may raise c above c0 (no upper bound)."""
    tol = ADMISSIBILITY_TOL * CMAX
    c0 = 0.3 * CMAX
    inflow = _physics_after_initialise([Flux("surface", Q_IN)], c0)
    ok = _rows([c0 - 0.9 * tol, c0], [c0, 0.99 * CMAX])
    assert admissibility_warnings([inflow], ok) == []
    bad = _rows([c0, c0 - 1.1 * tol, c0 - 2.0 * tol], [c0, c0, 0.5 * CMAX])
    w = admissibility_warnings([inflow], bad)
    assert len(w) == 1 and "maximum principle" in w[0] and "in 2 of 3" in w[0], w
    assert f"{2.0 * tol / CMAX:.4g} c_max below" in w[0]
    over = _rows([c0, c0], [CMAX + 0.9 * tol, CMAX + 1.1 * tol])
    w = admissibility_warnings([inflow], over)
    assert len(w) == 1 and "above c_max" in w[0] and "in 1 of 2" in w[0], w
    # an outflow bounds c from above only: negative values break positivity alone
    outflow = _physics_after_initialise([Flux("surface", -Q_IN)], 0.001 * CMAX)
    w = admissibility_warnings([outflow], _rows([-1.1 * tol, -0.5 * tol], [0.001 * CMAX] * 2))
    assert len(w) == 1 and "negative concentration" in w[0] and "in 1 of 2" in w[0], w
    # a Dirichlet value bounds c: 0.95 c_max from 0.05 c_max
    dirichlet = _physics_after_initialise([Dirichlet("surface", 0.95 * CMAX)], 0.05 * CMAX)
    w = admissibility_warnings([dirichlet], _rows([0.05 * CMAX] * 2,
                                                  [0.95 * CMAX + 0.9 * tol,
                                                   0.95 * CMAX + 1.1 * tol]))
    assert len(w) == 1 and "above the bounds" in w[0], w


# ------------------------------------------------------------------ kinetics safeguard
@pytest.fixture(scope="module")
def safeguard_cell():
    return Domain.from_builder(layered_builder([20e-6, 100e-6, 20e-6], 20e-6, 10e-6))


def _charge(cell, law_anode, current=0.0):
    metal = Conductor("metal", Arrhenius(1.1e7), "electron")
    return ChargeTransport({"anode": metal, "electrolyte": Conductor("se", Arrhenius(0.05)),
                            "cathode": metal},
                           [InterfaceKinetics("anode", "electrolyte", law_anode),
                            InterfaceKinetics("cathode", "electrolyte",
                                              ButlerVolmer(Arrhenius(10.0)))],
                           current_density=current)


@pytest.mark.parametrize(("x", "flag"), [(49.5, 0.0), (50.5, 1.0), (-49.5, 0.0),
                                         (-50.5, 1.0)])
def test_safeguard_flag_compares_the_exponent_with_x_lin(safeguard_cell, x, flag):
    """Overpotentials set by hand (no solve): anodic x = alpha_a F eta / RT, cathodic
    x = -alpha_c F eta / RT with different alphas; the flag is exactly |x| > X_LIN."""
    aa, ac = 0.3, 0.7
    ct = _charge(safeguard_cell, ButlerVolmer(Arrhenius(10.0), aa, ac))
    pb = Problem(safeguard_cell, [ct])
    pb.initialise()
    u = ct.fields[0].u  # phi_anode / V_T; eta / V_T = F eta / (R T) at T_REF
    assert ct.fields[0].name == "phi_anode"
    u.x.array[:] += x / aa if x > 0 else x / ac
    q = pb.quantities()
    assert q["kinetics_safeguard[anode|electrolyte]"] == flag
    assert q["kinetics_exponent[anode|electrolyte]"] == pytest.approx(abs(x), rel=1e-9)
    assert q["kinetics_safeguard[cathode|electrolyte]"] == 0.0


@pytest.mark.parametrize("i0", [10.0, 1e-29])
def test_safeguard_flags_a_solution_on_the_continuation(safeguard_cell, i0):
    """i0 = 1e-29 A/m^2 at 1 A/m^2: the 'converged' state lies on the linear continuation,
    x = X_LIN - 1 + j / (i0 exp(X_LIN)) ~ 2e7 (a ~1 MV cell), and every recorded state is
    flagged and warned about; at the normal i0 no state is, and x = asinh(j / (2 i0))."""
    ct = _charge(safeguard_cell, ButlerVolmer(Arrhenius(i0)))
    pb = Problem(safeguard_cell, [ct])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=5.0, adaptive=False))
    rows = []
    ProtocolRunner(pb, ct, integ, dt=5.0, rise_time=1.0, record=rows.append).run(
        Protocol([Step("current", current_density=1.0, until=Until(time=15.0))]))
    key = "kinetics_safeguard[anode|electrolyte]"
    x = rows[-1]["kinetics_exponent[anode|electrolyte]"]
    w = admissibility_warnings([ct], rows)
    if i0 > 1.0:
        assert all(r[key] == 0.0 for r in rows)
        assert x == pytest.approx(math.asinh(1.0 / (2 * i0)), rel=1e-6)
        assert w == []
    else:
        assert all(r[key] == 1.0 for r in rows)
        assert x == pytest.approx(X_LIN - 1 + 1.0 / (i0 * math.exp(X_LIN)), rel=1e-6)
        assert rows[-1]["cell_voltage"] > 1e5
        assert len(w) == 1, w
        assert w[0].startswith(f"results at t = {rows[0]['t']:.6g}..{rows[-1]['t']:.6g} s "
                               f"({len(rows)} of {len(rows)} recorded states) lie on the "
                               "linear continuation of the exponential of anode|electrolyte")
        assert w[0].endswith("not Butler-Volmer")
    assert all(r["kinetics_safeguard[cathode|electrolyte]"] == 0.0 for r in rows)


# ------------------------------------------------------------------ CCD from t = 0
def _ramp_rows(contacts, dj=0.5, t0=0.0):
    return [{"t": t0 + (k + 1) * 1.0, "applied_current_density": (k + 1) * dj,
             "contact_fraction": c} for k, c in enumerate(contacts)]


def test_ccd_failure_within_the_first_step_is_interpolated_from_t0():
    """Contact 0.68 after the first step: j_crit lies between t = 0 (contact 1, zero
    current) and that step, (1 - 0.99) / (1 - 0.68) of the way, flagged as resolved only
    to within the first step. The rows-only crossing search returns None here."""
    rows = _ramp_rows([0.68, 0.5, 0.3])
    det = ccd_detection(rows, threshold=0.99)
    w = (1.0 - 0.99) / (1.0 - 0.68)
    assert det["j_crit"] == pytest.approx(w * 0.5, rel=1e-12)
    assert det["t_crit"] == pytest.approx(w * 1.0, rel=1e-12)
    assert det["failed_at_first_step"] and det["index"] == 0
    assert detect_ccd(rows, threshold=0.99) == pytest.approx(w * 0.5, rel=1e-12)
    # without the initial state only a bound is known: the first sample (never None)
    no_t0 = ccd_detection(rows, threshold=0.99, initial=None)
    assert no_t0["j_crit"] == 0.5 and no_t0["failed_at_first_step"]
    # a later failure is not flagged; rows that already start at t = 0 are not doubled
    later = _ramp_rows([1.0, 0.995, 0.98, 0.5])
    det = ccd_detection(later, threshold=0.99)
    assert det["j_crit"] == pytest.approx(1.0 + (0.995 - 0.99) / (0.995 - 0.98) * 0.5)
    assert not det["failed_at_first_step"] and det["index"] == 2
    with_t0 = [{"t": 0.0, "applied_current_density": 0.0, "contact_fraction": 1.0}] + rows
    assert ccd_detection(with_t0, threshold=0.99)["j_crit"] == pytest.approx(w * 0.5)
    assert ccd_detection(with_t0, threshold=0.99)["failed_at_first_step"]
    # a ramp that never fails: None, not flagged
    ok = ccd_detection(_ramp_rows([1.0, 0.999, 0.995]), threshold=0.99)
    assert ok["j_crit"] is None and not ok["failed_at_first_step"]
    # the threshold helper with the same initial sample
    assert first_fall_below([0.5, 1.0], [0.68, 0.5], 0.99, initial=(0.0, 1.0)) == \
        pytest.approx(w * 0.5)
    assert first_fall_below([0.5, 1.0], [0.68, 0.5], 0.99) is None
