"""Bounds that are fields (refreshed by their physics before every solve, e.g. phase-field
irreversibility d >= d_previous) and the staggered composite (groups of physics solved in
turn until the sweeps converge): same answer as the monolithic problem, and sweeps that do
not converge end as rejected steps."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import layered_builder

from femcell._dolfinx import MPI, dolfinx
from femcell.domain import Domain
from femcell.fields import Field
from femcell.materials import (
    Arrhenius,
    Conductor,
    Constant,
    IntercalationMaterial,
    get_material,
)
from femcell.physics.anode import AnodeInterface, InterfaceVacancyParameters
from femcell.physics.base import Physics
from femcell.physics.charge import ChargeTransport
from femcell.physics.diffusion import Diffusion, Dirichlet, Robin
from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics, LinearKinetics
from femcell.problem import Problem
from femcell.solvers import SolverError, StepController, TimeIntegrator
from femcell.solvers.staggered import StaggeredProblem

CMAX = 2.0e4  # [mol/m^3]


@pytest.fixture(scope="module")
def cell():
    return Domain.from_builder(layered_builder([20e-6, 20e-6, 20e-6], 4e-6, 2.5e-6,
                                               names=("anode", "electrolyte", "active")))


# ------------------------------------------------------------------ bounds as fields
class Irreversible(Diffusion):
    """A concentration that may only grow: its lower bound is a Function holding the last
    accepted state, refreshed in on_accept (the pattern of phase-field irreversibility)."""

    def __init__(self, *args, bounded: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.bounded = bounded
        self.step_hook = True
        self.linear = False  # a variational inequality (like Diffusion(bounds=...))
        self.snes_options = {"snes_rtol": 1e-8}

    def setup(self, domain, time) -> None:
        super().setup(domain, time)
        self.floor = dolfinx.fem.Function(self.V)

    def initial_condition(self) -> None:
        super().initial_condition()
        self.floor.x.array[:] = self.field.u.x.array

    def bounds(self) -> dict:
        return {self.name: (self.floor, 1.0)} if self.bounded else {}

    def on_accept(self) -> None:
        super().on_accept()
        self.floor.x.array[:] = self.field.u.x.array


def _drops(cell, bounded: bool) -> list[tuple[float, float]]:
    """Per step: (largest local drop c_prev - c_new [c_max], largest rise) (owned DOFs)."""
    mat = IntercalationMaterial("test", CMAX, (Arrhenius(1e-11),), law=Constant())
    # outflow at x = 0 (Robin to an empty reservoir), inflow at the far end: without the
    # bound the concentration falls near x = 0 and rises near the far end
    phys = Irreversible(mat, [Robin("anode_cc", 1e-5, 0.0), Dirichlet("cathode_cc",
                                                                       0.9 * CMAX)],
                        initial=0.5 * CMAX, bounded=bounded)
    pb = Problem(cell, [phys])
    pb.initialise()
    n = phys.V.dofmap.index_map.size_local
    out = []
    prev = phys.field.u.x.array[:n].copy()

    def check(rec):
        new = phys.field.u.x.array[:n]
        out.append((float(np.max(prev - new)), float(np.max(new - prev))))
        prev[:] = new

    integ = TimeIntegrator(pb, StepController(dt_initial=2.0, adaptive=False, order=1))
    integ.run(10.0, lambda rec: check(rec) and False)
    pb.close()
    return out


def test_field_bounds_are_refreshed_before_every_solve(cell):
    """c_new >= c_prev at every DOF and step with the bound (refreshed from the accepted
    state); without it the same problem lowers c by far more than round-off."""
    comm = cell.comm
    bounded = _drops(cell, True)
    free = _drops(cell, False)
    assert len(bounded) == len(free) == 5
    for drop, _ in bounded:
        assert comm.allreduce(drop, op=MPI.MAX) <= 1e-12
    assert comm.allreduce(max(r for _, r in bounded), op=MPI.MAX) > 1e-3  # it does evolve
    assert comm.allreduce(max(d for d, _ in free), op=MPI.MAX) > 1e-3


# ------------------------------------------------------------------ staggered composite
def _intercalation(cell):
    mat = IntercalationMaterial("test", CMAX, (Arrhenius(1e-12),), law=Constant(),
                                ocv=lambda th: 3.9 - 0.3 * th)
    diff = Diffusion(mat, [], initial=0.5 * CMAX, region="active", name="c_active")
    law = ButlerVolmer(Arrhenius(20.0))
    metal = Conductor("metal", Arrhenius(1e7), "electron")
    ct = ChargeTransport({"anode": metal, "electrolyte": Conductor("se", Arrhenius(0.1))},
                         [InterfaceKinetics("anode", "electrolyte", law),
                          InterfaceKinetics("active", "electrolyte", law, couplings=[diff])],
                         current_cc="anode_cc", ground_electrode="active",
                         current_density=100.0)
    keys = ["cell_voltage", "c_active_mean", "c_active_max", "c_active_min",
            "eta_mean[active|electrolyte]", "j_max[active|electrolyte]"]
    return [diff, ct], [[ct], [diff]], keys


def _anode_vacancies(cell):
    na = get_material("na")
    omega = na.molar_volume
    ceq = 1e-4 / omega
    vac = Diffusion(IntercalationMaterial("vacancies", 1.0 / omega, (Arrhenius(1e-9),)),
                    [Dirichlet("anode_cc", ceq)], initial=ceq, region="anode", name="cv",
                    length_scale=20e-6, track_outflow=True)
    iface = AnodeInterface(InterfaceVacancyParameters(
        site_density=1e-5, transfer_rate=Arrhenius(1e3), molar_volume=omega,
        theta_crit=0.5), vac, interface="anode|electrolyte")
    law = LinearKinetics(Arrhenius(100.0))
    ct = ChargeTransport({"anode": na, "electrolyte": Conductor("se", Arrhenius(0.1))},
                         [InterfaceKinetics("anode", "electrolyte", law, couplings=[iface]),
                          InterfaceKinetics("active", "electrolyte", law, 0.1)],
                         current_cc="anode_cc", ground_electrode="active",
                         current_density=10.0)
    keys = ["cell_voltage", "theta_mean", "contact_fraction", "transfer_flux", "cv_moles",
            "interface_vacancies", "stripped_moles", "transferred_moles",
            "eta_mean[anode|electrolyte]"]
    return [vac, iface, ct], [[ct], [vac, iface]], keys


def _run(pb, dt, n):
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False, order=2))
    rows = []
    integ.run(n * dt, lambda rec: rows.append(pb.quantities()) and False)
    pb.close()
    return integ, rows


@pytest.mark.parametrize("case, dt", [(_intercalation, 5.0), (_anode_vacancies, 2e-3)])
def test_staggered_equals_monolithic(cell, case, dt):
    """The sweeps converge to the monolithic solution (quantities to 1e-6 relative): a
    coupling term routed to the wrong group, or missing, would differ at O(1)."""
    physics, _, keys = case(cell)
    _, mono = _run(Problem(cell, physics), dt, 4)
    physics, groups, keys = case(cell)
    integ, stag = _run(StaggeredProblem(cell, physics, groups, rtol=1e-10, atol=1e-12),
                       dt, 4)
    assert len(mono) == len(stag) == 4 and integ.rejected == 0
    for a, b in zip(mono, stag, strict=True):
        for k in keys:
            assert b[k] == pytest.approx(a[k], rel=1e-6), k
    assert mono[-1][keys[1]] != pytest.approx(mono[0][keys[1]], rel=1e-6)  # it evolves


def test_staggered_sweeps_that_do_not_converge_reject_the_step(cell):
    """One sweep per step cannot converge a coupled step: the report is not converged, u is
    back at u^n, and the time integrator cuts and finally stops - it never accepts."""
    physics, groups, _ = _intercalation(cell)
    pb = StaggeredProblem(cell, physics, groups, max_sweeps=1)
    pb.initialise()
    before = [f.u.x.array.copy() for f in pb.fields]
    rep = pb.solve_step(5.0, 5.0, 1, None)
    assert not rep.converged and "NOT_CONVERGED" in rep.reason
    for f, u0 in zip(pb.fields, before, strict=True):
        assert np.array_equal(f.u.x.array, u0)
    integ = TimeIntegrator(pb, StepController(dt_initial=5.0, adaptive=False, max_cuts=2))
    with pytest.raises(SolverError, match="no convergence"):
        integ.step(5.0)
    assert integ.steps == 0 and integ.rejected == 3
    pb.close()


class Indicated(Irreversible):
    """Irreversible with a 0/1 quantity "c_active_full" (mean concentration at or above
    `level`), declared an indicator (it jumps, like a short: Physics.indicators)."""

    indicators = frozenset({"c_active_full"})

    def __init__(self, *args, level: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.level = level

    def quantities(self) -> dict:
        q = super().quantities()
        q["c_active_full"] = 1.0 if q["c_active_mean"] >= self.level else 0.0
        return q


def _growing_problem(cell, max_sweeps: int, run_sweeps: int, bounded: bool = True,
                     level: float | None = None, acceleration: str | None = None):
    """The intercalation composite with a concentration that may only grow (the pattern of
    phase-field damage) in the last group, charged so that a step of 5 s grows it over ~26
    sweeps: (StaggeredProblem, its ChargeTransport), initialised. With `level`, the
    concentration physics has the indicator "c_active_full" (Indicated)."""
    mat = IntercalationMaterial("test", CMAX, (Arrhenius(1e-12),), law=Constant(),
                                ocv=lambda th: 3.9 - 0.3 * th)
    kind, extra = (Irreversible, {}) if level is None else (Indicated, {"level": level})
    c = kind(mat, [], initial=0.5 * CMAX, region="active", name="c_active",
             bounded=bounded, **extra)
    law = ButlerVolmer(Arrhenius(20.0))
    ct = ChargeTransport({"anode": Conductor("metal", Arrhenius(1e7), "electron"),
                          "electrolyte": Conductor("se", Arrhenius(0.1))},
                         [InterfaceKinetics("anode", "electrolyte", law),
                          InterfaceKinetics("active", "electrolyte", law, couplings=[c])],
                         current_cc="anode_cc", ground_electrode="active",
                         current_density=100.0)
    pb = StaggeredProblem(cell, [c, ct], [[ct], [c]], rtol=1e-10, atol=1e-12,
                          max_sweeps=max_sweeps, run_sweeps=run_sweeps,
                          acceleration=acceleration)
    pb.initialise()
    return pb, ct


def _growing(cell, max_sweeps: int, run_sweeps: int, bounded: bool = True,
             acceleration: str | None = None):
    """One step of 5 s of `_growing_problem`: (report, sweeps of the step, extra sweeps,
    mean concentration)."""
    pb, _ = _growing_problem(cell, max_sweeps, run_sweeps, bounded,
                             acceleration=acceleration)
    rep = pb.solve_step(5.0, 5.0, 1, None)
    out = (rep, pb.last_sweeps, pb.running_sweeps,
           pb.quantities()["c_active_mean"] if rep.converged else None)
    pb.close()
    return out


def test_run_sweeps_carry_a_growing_bounded_field_to_the_same_solution(cell):
    """A step whose bounded last-group field keeps growing (a running crack's damage) may
    sweep past max_sweeps up to run_sweeps more and then converges to the same solution as
    with a large max_sweeps; without run_sweeps, or with nothing bounded to grow, the same
    budget ends not converged."""
    rep, n, _, ref = _growing(cell, 100, 0)
    assert rep.converged and n > 12  # the coupling needs many sweeps
    rep, n_short, _, _ = _growing(cell, 6, 0)
    assert not rep.converged and n_short == 6
    rep, n_run, extra, c = _growing(cell, 6, 100)
    assert rep.converged and n_run == n and extra == n - 6
    assert c == pytest.approx(ref, rel=1e-10)
    assert c > 0.5 * CMAX * (1 + 1e-3)  # it did grow
    rep, n_free, extra, _ = _growing(cell, 6, 100, bounded=False)
    assert not rep.converged and n_free == 6 and extra == 0
    rep, n_cap, _, _ = _growing(cell, 6, 4)  # the extra budget is a cap
    assert not rep.converged and n_cap == 10
    # Aitken relaxation reaches the same state, in fewer sweeps than the plain ones
    rep, n_ait, _, c = _growing(cell, 100, 0, acceleration="aitken")
    assert rep.converged and n_ait < n and c == pytest.approx(ref, rel=1e-8)


def _limited_protocol(cell, limit: float, max_sweeps: int = 6, stop_on=(),
                      indicator: bool = False):
    """Two 5 s current steps of `_growing_problem` (run_sweeps 100), each until the mean
    concentration rises above `limit` [mol/m^3] (`indicator`: until the 0/1 quantity
    c_active_full, at that level, rises above 0.5), `stop_on` the runner's: (runner,
    integrator, problem, mean concentration at the end)."""
    from femcell.experiment import Protocol
    from femcell.protocol import ProtocolRunner

    pb, ct = _growing_problem(cell, max_sweeps, 100, level=limit if indicator else None)
    until = ["c_active_full", "above", 0.5] if indicator else ["c_active_mean", "above", limit]
    protocol = Protocol.from_dicts(
        [{"kind": "current", "current_density": 100.0, "dt": 5.0, "label": f"s{k}",
          "until": {"time": 5.0, "quantity": until}} for k in range(2)])
    integ = TimeIntegrator(pb, StepController(dt_initial=5.0, adaptive=False, max_cuts=2,
                                              order=1))
    runner = ProtocolRunner(pb, ct, integ, dt=5.0, stop_on=stop_on)
    runner.run(protocol)
    c = pb.quantities()["c_active_mean"]
    pb.close()
    return runner, integ, pb, c


def test_a_limit_reached_while_the_bounded_field_still_grows_ends_the_run_there(cell):
    """A limit of the run (an until-quantity) that a growing bounded field crosses during the
    extra sweeps of a running step (a crack bridging the electrolyte: the short) ends the run
    at that sweep: not converged (at_limit, counted in limit_stops, said in the step
    summary), below the step's equilibrium, never continued from (the second step is not
    run). A limit that the converged step does not reach leaves the step as it was; one
    crossed within max_sweeps is located by step cuts as before (no at_limit)."""
    rep, n, _, ref = _growing(cell, 100, 0)
    assert rep.converged and n > 12
    c0 = 0.5 * CMAX
    # a limit between the start and the step's equilibrium, crossed after max_sweeps = 6
    limit = c0 + 0.9 * (ref - c0)
    runner, integ, pb, c = _limited_protocol(cell, limit)
    assert len(runner.summaries) == 1 and integ.steps == 1
    s = runner.summaries[0]
    assert s.reason == "c_active_mean_above" and s.at_limit
    assert "STAGGERED_AT_LIMIT" in s.detail
    assert "STAGGERED_AT_LIMIT" in runner.ended_by
    assert integ.log[-1].get("at_limit") and pb.limit_stops == 1 and pb.last_at_limit
    assert 6 <= pb.last_sweeps < n  # stopped mid-run, before the sweeps converged
    assert limit <= c < ref - 1e-6 * (ref - c0)  # past the limit, short of equilibrium
    # a limit the equilibrium does not reach: both steps run and converge
    runner, integ, pb, c = _limited_protocol(cell, 10 * CMAX)
    assert len(runner.summaries) == 2 and pb.limit_stops == 0
    assert all(s.reason == "time" for s in runner.summaries)
    assert not any("at_limit" in r for r in integ.log)
    # without extra sweeps to spare (max_sweeps large) the crossing is located by cuts
    runner, integ, pb, c = _limited_protocol(cell, limit, max_sweeps=100)
    assert pb.limit_stops == 0 and integ.rejected > 0
    assert runner.summaries[0].reason == "c_active_mean_above" and len(runner.summaries) == 2
    assert not runner.summaries[0].at_limit
    # a located crossing whose reason is in stop_on ends the protocol (a shorted cell)
    runner, integ, pb, c = _limited_protocol(cell, limit, max_sweeps=100,
                                             stop_on=("c_active_mean_above",))
    assert len(runner.summaries) == 1 and pb.limit_stops == 0
    assert runner.ended_by.startswith("c_active_mean_above")


def test_a_limit_on_an_indicator_ends_the_step_that_reaches_it_without_cuts(cell):
    """A limit on a 0/1 quantity that the physics declares an indicator (a short: it jumps
    when the last ligament breaks) is not located inside the step: the first converged step
    that reaches it is accepted, ends the protocol step at its end and the run (stop_on),
    with no rejected step. The same 0/1 quantity not declared is bisected in time (a
    crossing that no step can land on: many rejected, ever shorter steps)."""
    rep, n, _, ref = _growing(cell, 100, 0)
    c0 = 0.5 * CMAX
    limit = c0 + 0.9 * (ref - c0)
    runner, integ, pb, c = _limited_protocol(cell, limit, max_sweeps=100, indicator=True,
                                             stop_on=("c_active_full_above",))
    assert integ.rejected == 0 and integ.steps == 1 and pb.limit_stops == 0
    assert len(runner.summaries) == 1
    assert runner.summaries[0].reason == "c_active_full_above"
    assert runner.summaries[0].t_end == pytest.approx(5.0)
    assert runner.ended_by.startswith("c_active_full_above")
    assert integ.log[-1].get("event") == "c_active_full_above"  # fired in the integrator
    assert c == pytest.approx(ref, rel=1e-8)  # the step's equilibrium, past the limit
    # not declared: the same quantity is aimed at by bisection (ever shorter steps)
    names = Indicated.indicators
    try:
        Indicated.indicators = frozenset()
        runner, integ, pb, c = _limited_protocol(cell, limit, max_sweeps=100, indicator=True,
                                                 stop_on=("c_active_full_above",))
    finally:
        Indicated.indicators = names
    assert integ.rejected >= 5
    assert min(r["dt"] for r in integ.log) < 5.0 / 16


def test_a_quantity_limit_reached_with_the_charge_names_the_quantity():
    """A step's quantity limit (a short) reached in the same time step as its charge is
    the reason the step ended (so that stop_on sees it)."""
    from femcell.experiment import Until
    from femcell.protocol import ProtocolRunner

    class S:
        until = Until(charge=10.0, quantity=("filament_short", "above", 0.5))

    ended = ProtocolRunner._ended
    assert ended(S, {"filament_short": 1.0}, 10.0, 1.0, 5.0) == "filament_short_above"
    assert ended(S, {"filament_short": 0.0}, 10.0, 1.0, 5.0) == "charge"
    assert ended(S, {"filament_short": 0.0}, 5.0, 1.0, 5.0) == ""


def test_a_signal_inside_a_long_step_stops_it_at_the_last_accepted_step(cell):
    """A signal (on one rank) while a step sweeps: every rank stops within a sweep of it, not
    when the step ends (a running crack sweeps for minutes, longer than a scheduler's grace
    before SIGKILL), and the problem is back at its last accepted step, which is what the
    runners then checkpoint (mid_step)."""
    import signal

    from femcell import interrupt

    pb, _ = _growing_problem(cell, 100, 0)
    integ = TimeIntegrator(pb, StepController(dt_initial=5.0, adaptive=False, order=1))
    integ.step(5.0)
    accepted = [f.u.x.array.copy() for f in pb.fields]
    seen = []

    def trace(sweep, change):
        seen.append(sweep)
        if sweep == 4 and pb.domain.comm.rank == 0:
            interrupt.request(signal.SIGINT)

    pb.trace = trace
    try:
        with pytest.raises(interrupt.Interrupted) as err:
            integ.step(10.0)
    finally:
        interrupt.clear()
    assert err.value.mid_step and err.value.signum == signal.SIGINT
    assert seen[-1] == 4  # stopped in the sweep the signal came in, on every rank
    assert integ.steps == 1 and integ.t == 5.0
    assert all(np.array_equal(f.u.x.array, a) for f, a in zip(pb.fields, accepted, strict=True))
    pb.close()


# ------------------------------------------------------------------ a sweep that cycles
class _Echo(Physics):
    """x = c + k y over the whole mesh (an L2 projection; y is the partner's field): two of
    them staggered are the fixed point y <- (c_y + k_y c_x) + k_y k_x y, whose slope k_y k_x
    < -1 makes plain sweeps oscillate with a growing amplitude (the period-2 cycle of a
    crack's damage against the pressure at an injected volume, in its simplest form)."""

    linear = True
    symmetric = True
    time_dependent = False

    def __init__(self, name: str, c: float, k: float):
        self.name, self.c, self.k = name, c, k
        self.partner = None

    def setup(self, domain, time) -> None:
        space = dolfinx.fem.functionspace(domain.mesh, ("Lagrange", 1))
        self.field = Field.create(self.name, space, levels=0)
        self.fields = [self.field]

    def residuals(self) -> list:
        import ufl

        v = ufl.TestFunction(self.field.u.function_space)
        return [(self.field.u - self.c - self.k * self.partner.field.u) * v * ufl.dx]

    def quantities(self) -> dict:
        return {self.name: float(self.field.u.x.array[0])}


def _cycling(cell, acceleration, stall_sweeps=0, k_y=-1.2, max_sweeps=60):
    """One step of x = 1 + 1.2 y, y = 1 + k_y x (slope 1.2 k_y; Aitken's first factor 0.5):
    (report, sweeps, x, y at one DOF, stats)."""
    x, y = _Echo("x", 1.0, 1.2), _Echo("y", 1.0, k_y)
    x.partner, y.partner = y, x
    pb = StaggeredProblem(cell, [x, y], [[x], [y]], rtol=0.0, atol=1e-10,
                          max_sweeps=max_sweeps, acceleration=acceleration,
                          relaxation=0.5, stall_sweeps=stall_sweeps)
    pb.initialise()
    rep = pb.solve_step(1.0, 1.0, 1, None)
    out = (rep, pb.last_sweeps, *(float(p.field.u.x.array[0]) for p in (x, y)), pb.stats)
    pb.close()
    return out


def test_aitken_relaxation_converges_a_cycling_sweep_and_a_stall_ends_it_early(cell):
    """Plain sweeps of a map with slope -1.44 never converge: with stall_sweeps they end as
    STAGGERED_STALLED after that many sweeps without progress, not after max_sweeps; a slow
    but steady contraction (slope -0.97, 0.97^8 = 0.78) is not a stall, a slower one
    (-0.995) is. Aitken relaxation (first factor 0.5) converges the -1.44 map to its fixed
    point in a handful of sweeps (its secant factor 1 / (1 - s) is exact for a linear map:
    a wrong sign or factor would cycle or diverge)."""
    x_star = (1.0 + 1.2) / (1.0 + 1.44)
    y_star = 1.0 - 1.2 * x_star
    rep, n, *_ = _cycling(cell, None)
    assert not rep.converged and n == 60 and "NOT_CONVERGED" in rep.reason
    rep, n, *_, stats = _cycling(cell, None, stall_sweeps=8)
    assert not rep.converged and "STALLED" in rep.reason and n == 10  # best at sweep 2
    assert stats["stalls"] == 1
    rep, n, *_, stats = _cycling(cell, None, stall_sweeps=8, k_y=-0.97 / 1.2)
    assert not rep.converged and "NOT_CONVERGED" in rep.reason and n == 60
    assert stats["stalls"] == 0
    rep, n, *_, stats = _cycling(cell, None, stall_sweeps=8, k_y=-0.995 / 1.2)
    assert not rep.converged and "STALLED" in rep.reason and n < 60
    rep, n, x, y, stats = _cycling(cell, "aitken", stall_sweeps=8)
    assert rep.converged and n <= 6 and stats["stalls"] == 0
    assert x == pytest.approx(x_star, abs=1e-9) and y == pytest.approx(y_star, abs=1e-9)
