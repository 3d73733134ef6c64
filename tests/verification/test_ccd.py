"""Critical current density of stripping from current ramps: the mechanism test of PHYSICS.md
section 3 (Lowack et al. 2026). The fitted activation energy of j_crit is the barrier of
whichever step limits: the interfacial transfer (E_int), or bulk vacancy diffusion (E_m)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import layered_builder, one_rank

from femcell.analysis import arrhenius_fit, detect_ccd
from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor, IntercalationMaterial, get_material
from femcell.physics.anode import AnodeInterface, InterfaceVacancyParameters
from femcell.physics.charge import ChargeTransport
from femcell.physics.diffusion import Diffusion, Dirichlet
from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics
from femcell.problem import Problem
from femcell.protocol import Protocol, ProtocolRunner, Step, Until
from femcell.solvers import StepController, TimeIntegrator
from femcell.units import EV, K_B

LA, W = 20e-6, 4e-6
NA = get_material("na")
OMEGA = NA.molar_volume
CSITE = 1.0 / OMEGA
CEQ = 1e-4 * CSITE
TEMPS = [298.15, 323.15, 353.15]

# the three CCD cases run on 2 ranks in tests/studies/test_studies.py (the suite's time budget)
CCD_ON_TWO = one_rank("tests/studies/test_studies.py::test_ccd_same_on_one_and_all_ranks")


@pytest.fixture(scope="module")
def cell():
    return Domain.from_builder(layered_builder([LA, 20e-6, 20e-6], W, 2.0e-6))


def _bare(kappa, transfer_area="contact"):
    return InterfaceVacancyParameters(site_density=1e-5, transfer_rate=kappa,
                                      molar_volume=OMEGA, theta_crit=0.01, void_rate=10.0,
                                      void_height=1e-9, transfer_area=transfer_area)


def _stripping_cell(cell, T, kappa, dv, params=None, sink=None):
    """Vacancies, anode interface and charge transport at temperature T: (problem, charge)."""
    vac = Diffusion(IntercalationMaterial("vacancies", CSITE, (dv,)),
                    [Dirichlet("anode_cc", CEQ)], initial=CEQ, region="anode", name="cv",
                    length_scale=LA, temperature=T,
                    bulk_sink=(sink, CEQ) if sink else None)
    par = params or _bare(kappa)
    iface = AnodeInterface(par, vac, temperature=T)
    law = ButlerVolmer(Arrhenius(100.0))
    ct = ChargeTransport({"anode": NA, "electrolyte": Conductor("se", Arrhenius(0.1)),
                          "cathode": NA},
                         [InterfaceKinetics("anode", "electrolyte", law, couplings=[iface]),
                          InterfaceKinetics("cathode", "electrolyte", law)], temperature=T)
    pb = Problem(cell, [vac, iface, ct])
    pb.initialise()
    return pb, ct


def _ramp(cell, T, kappa, dv, rate, dt, params=None, sink=None):
    """One stripping ramp at temperature T; returns j_crit [A/m^2] (contact < 0.99)."""
    pb, ct = _stripping_cell(cell, T, kappa, dv, params, sink)
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False))
    rows = []
    runner = ProtocolRunner(pb, ct, integ, dt=dt, record=rows.append)
    runner.run(Protocol([Step("ramp", rate=rate, until=Until(
        quantity=("contact_fraction", "below", 0.9), time=1e5))]))
    # the void onset is a steep (smoothed) switch: more Newton steps there, only there
    its = [rec["newton_its"] for rec in integ.log]
    assert sum(n > 6 for n in its) <= 3, its
    assert min(r["contact_min"] for r in rows) >= -1e-12
    return detect_ccd(rows, criterion="contact", threshold=0.99)


def _kappa(ea_ev):
    """Transfer rate with the same value as the 0.14 eV interface at 25 degC scaled by the
    barrier difference (a lower barrier is faster at every temperature)."""
    return Arrhenius.ev(0.0105 * np.exp((0.14 - ea_ev) / (K_B / EV * 298.15)), ea_ev)


@CCD_ON_TWO
def test_interface_limited_ccd_has_the_interfacial_barrier(cell):
    js = [_ramp(cell, T, _kappa(0.14), Arrhenius(1e-7), 0.05, 1.0) for T in TEMPS]
    fit = arrhenius_fit(TEMPS, js)
    assert fit["activation_energy_eV"] == pytest.approx(0.14, abs=0.01)
    # j_crit ~ F kappa (theta_crit - theta_eq): a wrong factor would show here
    from femcell.units import F

    assert js[0] == pytest.approx(F * 0.0105 * (0.01 - 1e-4), rel=0.03)


@CCD_ON_TWO
def test_interlayer_lowers_the_barrier_and_raises_jcrit(cell):
    """The library Sn-Na interlayer on Na|beta''-alumina: its barrier (0.10 eV) becomes the
    fitted E_A, and j_crit rises at every temperature by the faster transfer (same attempt
    prefactor) times the larger critical excess of the better-wetted interface:
    j_crit = F kappa_il(T) (theta_crit_il - theta_eq) at each T within 3 %."""
    from femcell.materials.library import get_anode_set, get_interlayer
    from femcell.physics.anode import wetting_theta_crit, with_interlayer
    from femcell.units import F

    layer = get_interlayer("sn_na")
    bare_angle = get_anode_set("na|na_beta_alumina").interface["wetting_angle"]
    params = with_interlayer(_bare(_kappa(0.14)), layer, wetting_angle=bare_angle,
                             theta_eq=1e-4)
    tc = wetting_theta_crit(0.01, 1e-4, bare_angle, layer.wetting_angle)
    assert params.theta_crit == pytest.approx(tc) and 0.015 < tc < 0.2
    bare = [_ramp(cell, T, _kappa(0.14), Arrhenius(1e-7), 0.05, 1.0) for T in TEMPS]
    inter = [_ramp(cell, T, None, Arrhenius(1e-7), 1.0, 0.5, params) for T in TEMPS]
    assert arrhenius_fit(TEMPS, inter)["activation_energy_eV"] == pytest.approx(0.10, abs=0.01)
    assert all(i > b for i, b in zip(inter, bare, strict=True))
    for T, j in zip(TEMPS, inter, strict=True):
        assert j == pytest.approx(F * _kappa(0.10)(T) * (tc - 1e-4), rel=0.03)


@CCD_ON_TWO
def test_bulk_limited_ccd_has_the_migration_barrier(cell):
    """Fast transfer, slow vacancy diffusion, a ramp slow against L^2 / D_v (quasi-steady)."""
    js = [_ramp(cell, T, Arrhenius.ev(10.0, 0.14), Arrhenius.ev(4.8e-12, 0.053), 10 / 8000,
                40.0) for T in TEMPS]
    assert arrhenius_fit(TEMPS, js)["activation_energy_eV"] == pytest.approx(0.053, abs=0.01)


@CCD_ON_TWO
def test_bulk_sinks_raise_the_bulk_limited_ccd():
    """Distributed vacancy sinks of spacing l shorten the diffusion length from L to
    l tanh(L / l): the quasi-steady bulk-limited j_crit = F D_v (theta_crit / Omega - c_eq)
    / (l tanh(L / l)) (within 1 %; without sinks the same formula with L)."""
    from femcell.units import F

    cell = Domain.from_builder(layered_builder([LA, 20e-6, 20e-6], W, 2.0e-6))
    dv, sink = 4.8e-12, 5e-6
    j = _ramp(cell, 298.15, Arrhenius(10.0), Arrhenius(dv), 10 / 8000, 40.0, sink=sink)
    expected = F * dv * (0.01 / OMEGA - CEQ) / (sink * np.tanh(LA / sink))
    assert j == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("area", ["contact", "nominal"])
def test_contact_loss_runs_away_when_transfer_needs_contact(cell, area):
    """A constant current j above j_c = F kappa (theta_crit - theta_eq) on a flat interface
    with fast bulk and stiff condensation (k_v >> kappa: theta pinned at theta_crit). Per
    contacting area the interface then condenses j / (F phi_c) - kappa (theta_crit - theta_eq),
    so with a = Omega / (h_v F):

        contact: d(phi_c)/dt = -a (j - phi_c j_c)  ->  phi_c = r - (r - 1) exp(a j_c t)
        nominal: d(phi_c)/dt = -a (j - j_c)        ->  phi_c = 1 - a (j - j_c) t

    with r = j / j_c, t counted from the coverage reaching theta_crit: losing contact speeds up
    the loss (runaway, phi_c reaches 0 in finite time) only when the transfer needs contact.
    Both within 1 % down to phi_c = 0.3; the time to half contact differs by a factor 2."""
    from femcell.units import F

    kappa = 0.0105
    jc = F * kappa * (0.01 - 1e-4)
    j = 1.2 * jc
    pb, ct = _stripping_cell(cell, 298.15, Arrhenius(kappa), Arrhenius(1e-7),
                             params=_bare(Arrhenius(kappa), area))
    dt = 2e-3 if area == "contact" else 5e-3  # the nominal loss is linear in t
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False))
    rows = []
    ProtocolRunner(pb, ct, integ, dt=dt, record=rows.append).run(Protocol([Step(
        "current", current_density=j, until=Until(
            quantity=("contact_fraction", "below", 0.3), time=5.0))]))
    a, r = OMEGA / (1e-9 * F), j / jc
    # the coverage's rise to theta_crit first: Gamma_s theta' = j / F - kappa (theta - theta_eq)
    t0 = -1e-5 / kappa * np.log(1 - 1 / r)
    exact = (lambda t: r - (r - 1) * np.exp(a * jc * t)) if area == "contact" else (
        lambda t: 1 - a * (j - jc) * t)
    checked = 0
    for row in rows:
        phi = row["contact_fraction"]
        if 0.3 <= phi <= 0.95:
            assert phi == pytest.approx(exact(row["t"] - t0), rel=0.01, abs=0.003)
            checked += 1
    assert checked >= 20
    t_half = np.interp(0.5, [row["contact_fraction"] for row in rows][::-1],
                       [row["t"] for row in rows][::-1])
    expected = (np.log((r - 0.5) / (r - 1)) / (a * jc) if area == "contact"
                else 0.5 / (a * (j - jc)))
    assert t_half == pytest.approx(expected + t0, rel=0.01)


@one_rank("tests/studies/test_studies.py::test_ccd_same_on_one_and_all_ranks")
def test_a_pore_lowers_jcrit_by_the_contact_share_and_the_current_focusing():
    """A pore of radius R on the anode interface of a cell of width W leaves (W - 2 R) / W of
    it in contact, and the charge solution focuses the current at the pore's edge
    (j_max / j_mean > 1: Wagner length R_ct sigma = 5 um against a 1 um pore). The vacancies
    there reach theta_crit first, at j_c (W - 2 R) / W / (j_max / j_mean) with
    j_c = F kappa (theta_crit - theta_eq) of the flat interface and the focusing of the run
    just before the onset (within 1 %, 0.35 % here: j_max is sampled, the onset is at a
    node; the contact share alone is 4 % off); the first local
    contact loss follows within 2 %. The stiff condensation (k_v = 1000 kappa) switches on
    at one node first: the interface laws are integrated at the nodes, or Newton stalls."""
    from femcell.units import F

    w, r = 8e-6, 1e-6
    dom = Domain.from_builder("symmetric_cell", dim=2, width=w, electrolyte_thickness=20e-6,
                              anode_thickness=20e-6, cathode_thickness=20e-6, h=0.5e-6,
                              pores={"interface": "anode", "radius": r, "centers": [w / 2]})
    kappa = 0.0105
    params = InterfaceVacancyParameters(site_density=1e-5, transfer_rate=Arrhenius(kappa),
                                        molar_volume=OMEGA, theta_crit=0.01, void_rate=10.0,
                                        void_height=1e-9)
    vac = Diffusion(IntercalationMaterial("vacancies", CSITE, (Arrhenius(1e-7),)),
                    [Dirichlet("anode_cc", CEQ)], initial=CEQ, region="anode", name="cv",
                    length_scale=LA)
    iface = AnodeInterface(params, vac)
    law = ButlerVolmer(Arrhenius(100.0))
    ct = ChargeTransport({"anode": NA, "electrolyte": Conductor("se", Arrhenius(0.02)),
                          "cathode": NA},
                         [InterfaceKinetics("anode", "electrolyte", law, couplings=[iface]),
                          InterfaceKinetics("cathode", "electrolyte", law)])
    pb = Problem(dom, [vac, iface, ct])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=1.0, adaptive=False))
    rows = []
    ProtocolRunner(pb, ct, integ, dt=1.0, record=rows.append).run(Protocol([Step(
        "ramp", rate=0.05, until=Until(quantity=("contact_min", "below", 0.9), time=1e3))]))
    # the onset: where the largest coverage reaches theta_crit (no delay to a contact drop;
    # 10 widths of the smoothed switch below it, where condensation is still off)
    onset = 0.01 - 10 * 1e-4 * 0.01
    th = np.array([row["theta_max"] for row in rows])
    k = int(np.argmax(th >= onset))
    assert k > 0
    j_on = np.interp(onset, th[k - 1:k + 1], [rows[i]["applied_current_density"]
                                              for i in (k - 1, k)])
    before = rows[k - 1]
    focus = before["j_max[anode|electrolyte]"] / before["j_mean[anode|electrolyte]"]
    assert 1.02 < focus < 1.2
    jc = F * kappa * (onset - 1e-4)
    assert j_on == pytest.approx(jc * (w - 2 * r) / w / focus, rel=0.01)
    # and the ramp's j_crit (first local contact loss) follows it closely
    local = [{**row, "contact_fraction": row["contact_min"]} for row in rows]
    j_crit = detect_ccd(local, criterion="contact", threshold=0.99)
    assert j_on < j_crit < 1.02 * j_on


def test_overpotential_departure_criterion_agrees():
    """The ramp's anode overpotential leaves its linear trend where contact is lost."""
    rows = []
    for k in range(100):
        j = 0.1 * k
        contact = 1.0 if j < 5.0 else max(0.05, 1.0 - 2.0 * (j - 5.0))
        rows.append({"applied_current_density": j, "contact_fraction": contact,
                     "eta_mean[anode|electrolyte]": 1e-3 * j / contact})
    jc_contact = detect_ccd(rows, criterion="contact", threshold=0.99)
    jc_eta = detect_ccd(rows, criterion="overpotential", departure=0.02)
    assert jc_contact == pytest.approx(5.005, rel=1e-6)
    assert jc_eta == pytest.approx(jc_contact, rel=0.01)


def test_stepped_protocol_first_failing_step(cell):
    """Constant-current steps of fixed charge (a lab CCD test): the first step above the
    interface-limited j_crit = F kappa (theta_crit - theta_eq) ~ 10.1 A/m^2 fails."""
    from femcell.analysis import first_failing_step
    from femcell.units import F

    pb, ct = _stripping_cell(cell, 298.15, _kappa(0.14), Arrhenius(1e-7))
    integ = TimeIntegrator(pb, StepController(dt_initial=0.5, adaptive=False))
    runner = ProtocolRunner(pb, ct, integ, dt=0.5)
    steps = [Step("current", current_density=i, until=Until(charge=200.0, quantity=(
        "contact_fraction", "below", 0.9)), label=f"{i} A/m2") for i in (6.0, 8.0, 9.5, 11.0,
                                                                       13.0)]
    summaries = runner.run(Protocol(steps))
    expected = F * 0.0105 * (0.01 - 1e-4)
    assert 9.5 < expected < 11.0
    assert first_failing_step(summaries) == pytest.approx(11.0)
    # the steps below j_crit kept full contact
    assert all(s.end_quantities["contact_fraction"] > 0.999 for s in summaries[:3])


def test_ramps_that_strip_much_of_the_anode_are_left_out_of_the_fit():
    """The anode geometry is fixed, so a ramp that strips more than
    ramp.max_stripped_fraction of it before j_crit is named and left out of the Arrhenius
    fit (never silently). The stripped share at j_crit is read off the ramp's ledger: for a
    ramp from 0 at rate b it is Omega j_crit^2 / (2 b F) / thickness."""
    from types import SimpleNamespace

    from femcell.analysis import ccd_fits, stripped_fraction_at
    from femcell.units import F

    b, L = 0.01, 20e-6
    rows = [{"applied_current_density": b * t,
             "stripped_thickness": OMEGA * b * t * t / 2 / F} for t in np.arange(1.0, 3000.0)]
    jc = 12.345
    assert stripped_fraction_at(rows, jc, L) == pytest.approx(
        OMEGA * jc ** 2 / (2 * b * F) / L, rel=1e-4)
    assert stripped_fraction_at(rows, None, L) is None

    case = SimpleNamespace(name="bulk", published_ea_eV=0.05, published_source="x",
                           rate_factor=1.0)
    ccfg = SimpleNamespace(ramp=SimpleNamespace(max_time=1e5, rate=b,
                                                temperatures=[1.0, 2.0, 3.0]),
                           anode=SimpleNamespace(vacancies=SimpleNamespace(
                               migration_energy=0.05 * 1.602176634e-19)))
    temps = [298.15, 323.15, 353.15]
    js = [F * np.exp(-0.1 / (8.617333262e-5 * T)) for T in temps]
    results = [{"temperature_K": T, "j_crit_A_m2": j, "interface_barrier_eV": 0.1,
                "excluded_from_fit": None} for T, j in zip(temps, js, strict=True)]
    results[-1]["j_crit_A_m2"] *= 3.0  # a wrong point: would spoil the fit if it were kept
    results[-1]["excluded_from_fit"] = "stripped 35% of the anode before j_crit"
    fits, warnings = ccd_fits([case], [ccfg], [(0, T) for T in temps], results)
    assert fits["bulk"]["activation_energy_eV"] == pytest.approx(0.1, rel=1e-6)
    assert any("80 degC (stripped 35%" in w for w in warnings)


# ------------------------------------------------------------ mechanism signatures
def test_interface_limited_jcrit_is_independent_of_thickness_and_slow_ramp_rate(cell):
    """The signature of interfacial control (a slow ramp against Gamma_s / kappa ~ 1 ms):
    the same j_crit = F kappa (theta_crit - theta_eq) for a 4x thicker anode and a 4x faster
    ramp (within 1 %)."""
    from femcell.units import F

    thick = Domain.from_builder(layered_builder([4 * LA, 20e-6, 20e-6], W, 4.0e-6))
    kappa, dv = _kappa(0.14), Arrhenius(1e-7)
    base = _ramp(cell, 298.15, kappa, dv, 0.05, 2.0)
    assert base == pytest.approx(F * 0.0105 * (0.01 - 1e-4), rel=0.01)
    assert _ramp(thick, 298.15, kappa, dv, 0.05, 2.0) == pytest.approx(base, rel=0.01)
    assert _ramp(cell, 298.15, kappa, dv, 0.2, 0.5) == pytest.approx(base, rel=0.01)


def test_bulk_limited_jcrit_falls_as_one_over_thickness_when_quasi_steady(cell):
    """Quasi-steady bulk control: j_crit = F D_v (theta_crit / Omega - c_eq) / L, so twice
    the thickness halves it (within 2 %)."""
    from femcell.units import F

    thick = Domain.from_builder(layered_builder([2 * LA, 20e-6, 20e-6], W, 2.0e-6))
    dv = 4.8e-12
    js = [_ramp(c, 298.15, Arrhenius(10.0), Arrhenius(dv), 10 / 8000 / k, 40.0 * k)
          for c, k in ((cell, 1), (thick, 2))]
    for j, L in zip(js, (LA, 2 * LA), strict=True):
        assert j == pytest.approx(F * dv * (0.01 / OMEGA - CEQ) / L, rel=0.02)
    assert js[0] / js[1] == pytest.approx(2.0, rel=0.02)


def test_bulk_limited_jcrit_grows_as_the_cube_root_of_the_ramp_rate_when_transient():
    """Transient bulk control (diffusion length sqrt(D_v t) well inside the anode): a linear
    ramp j = r t builds the surface excess 4 (r / F) t^(3/2) / (3 sqrt(pi D_v)) of a
    semi-infinite metal, so j_crit = F^(2/3) r^(1/3) (3 sqrt(pi D_v) Delta c / 4)^(2/3),
    Delta c = (theta_crit - theta_eq) / Omega: an 8x faster ramp doubles j_crit (within 2 %)
    and both match the formula within 2 % (1.2 % found: first-order time steps)."""
    from femcell.units import F

    la = 40e-6  # the diffusion length at j_crit stays below 7 um
    cell = Domain.from_builder(layered_builder([la, 20e-6, 20e-6], W, 2.0e-6,
                                               refine=[(la - 15e-6, la, 0.0, W, 0.3e-6)]))
    dv = 4.8e-12
    dc = (0.01 - 1e-4) / OMEGA
    js, expected = [], []
    for rate, dt in ((3.7, 0.2), (8 * 3.7, 0.05)):
        js.append(_ramp(cell, 298.15, Arrhenius(10.0), Arrhenius(dv), rate, dt))
        expected.append(F ** (2 / 3) * rate ** (1 / 3)
                        * (3 * np.sqrt(np.pi * dv) * dc / 4) ** (2 / 3))
    assert js == pytest.approx(expected, rel=0.02)
    assert js[1] / js[0] == pytest.approx(2.0, rel=0.02)


def test_creep_limited_jcrit_follows_the_norton_closure():
    """Creep control (the Na library set with stack pressure, Wang 2020 creep law): with
    stiff condensation and fast creep the contact sits where creep closure balances the
    void growth, d(phi_c)/dt = -(Omega / (h_v F)) (j - phi_c j_c) + (1 - phi_c) A (p /
    phi_c)^n = 0, so the ramp's contact reaches the threshold phi* = 0.99 at
    j_crit = phi* j_c + (1 - phi*) A (p / phi*)^n h_v F / Omega: rising as p^5, within 2 %
    at 2 and 3 MPa (j_c the flat interface's F kappa (theta_crit - x_v))."""
    from conftest import PROBLEMS

    from femcell.config import load_config
    from femcell.sections.anode import closed_form
    from femcell.studies import run_study
    from femcell.units import F

    cfg = load_config(PROBLEMS / "na_ccd_ramp.toml", [
        'ramp.temperatures=["25 degC"]', "output.fields=false", "output.plots=false",
        "ramp.stop_contact=0.98",
        'cases=[{name = "2 MPa", set = {"anode.interface.stack_pressure" = 2e6}}, '
        '{name = "3 MPa", set = {"anode.interface.stack_pressure" = 3e6}}]'])
    res = run_study(cfg, progress=False, write=False)
    itf = cfg.anode.interface
    jc = closed_form(cfg, 298.15, 20e-6)["j_interface_limit_A_m2"]
    thr = cfg.ramp.threshold
    js = []
    for r, p in zip(res.quantities, (2e6, 3e6), strict=True):
        creep = itf.creep_prefactor * (p / thr / 1e6) ** itf.creep_exponent
        expected = thr * jc + (1 - thr) * creep * itf.void_height * F / OMEGA
        assert r["j_crit_A_m2"] == pytest.approx(expected, rel=0.02), r["case"]
        assert r["j_creep_closure_A_m2"] == pytest.approx(expected - thr * jc, rel=1e-9)
        js.append(r["j_crit_A_m2"])
    assert js[1] > 2 * js[0] > 2 * jc
    # the regime names creep once its closure carries more than the interface limit
    assert [r["regime"].split(" ")[0] for r in res.quantities] == ["interface-limited",
                                                                  "creep-limited"]
