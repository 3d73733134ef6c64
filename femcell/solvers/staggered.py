"""Staggered (operator-split) solution of a composite problem.

The physics are split into groups; each group is a sub-problem (a femcell.problem.Problem)
over its own fields that sees the other groups' fields as given coefficients, and every
coupling term goes to the sub-problem that owns its target field. A time step solves the
groups in turn, sweep after sweep, until no field changes between two sweeps by more than
atol + rtol |u| (scaled unknowns); within `max_sweeps` or the step is reported as not
converged, so the time integrator rejects it and cuts the step. The converged sweeps solve
the same discrete equations as the monolithic Problem.

A crack that runs (unstable, "brutal" propagation: past a limit point of the load, e.g. the
last ligament of an electrolyte breaking under a metal filament) has no equilibrium near the
last one at any smaller step: the quasi-static answer is the state after the jump, which
alternate minimisation reaches only after many sweeps (each one moves the damage further).
Cutting the step cannot help there. With `run_sweeps` > 0 a step that is still running after
`max_sweeps` (the bounded fields of the last group, i.e. the damage with its irreversibility
bound, grew in each of the last `RUNNING_WINDOW` sweeps by more than the tolerance) keeps
sweeping, up to `run_sweeps` more; the step then converges to the same tolerance as any other
(`running_sweeps` counts the extra sweeps). Damage is bounded, so a run ends.

A running crack can reach a limit of the run before it comes to rest: the metal it carries
bridges the electrolyte (a short). The state after that is a short circuit, not one the
cell reaches at rest, and the solves may fail on it. The time integrator (`watch`) hands
the problem a check of its limits; with `run_sweeps`, from sweep `max_sweeps` on the check
runs on every sweep's fields (before acceleration). A limit reached there ends the step at
that sweep: its report has `at_limit` (and `converged` True only so that the integrator
may take the state as where the run stops; it is not an equilibrium, and the run never
goes on from it). `limit_stops` counts them.

Acceleration (fields of the last group, e.g. the damage of alternate minimisation, PHYSICS.md
section 4): "overrelax" sets x <- x + omega (G(x) - x) after each sweep G, "anderson" mixes
the last `depth` sweeps (Anderson / type-II, least squares on the sweep residuals G(x) - x);
"aitken" relaxes x <- x + omega_k (G(x) - x) with the dynamic factor of Irons and Tuck
(omega_k = -omega_(k-1) r_(k-1).(r_k - r_(k-1)) / |r_k - r_(k-1)|^2, r = G(x) - x: a secant
on the sweep residual, Kuettler and Wall 2008). It is the one that converges a step whose
damage map is steep near a crack's onset: at a pressure held from the uncracked flaw the
damage step grows the crack too far, the crack's compliance then drops the pressure at the
injected volume and the next damage step heals back to the bound (a period-2 cycle of plain
alternate minimisation; Anderson mixing restarts on the residual growth there). All three
clip to the bounds the physics declare, so irreversibility holds. The test is always on
the plain sweep residual |G(x) - x|, so an accelerated step converges to the same solution.

A step whose sweeps stop making progress (the smallest change so far has not fallen by 10 %
in `stall_sweeps` sweeps, and no crack runs) is reported as not converged at once
(STAGGERED_STALLED), so the time integrator cuts it without spending `max_sweeps` on a
cycle.

Volume control (a pressurised crack driven by an injected volume, `volume_control`): the
group that owns the displacement is linear in the crack pressure p for the current damage,
so it is solved for p = 0 and p = p_ref and combined, u = u0 + (p / p_ref) (u1 - u0), with p
such that the crack volume equals the target (exact, two linear solves per sweep).

When the target volume itself depends on the crack pressure through another group (metal
deposited into the crack at a rate that the pressure shifts: femcell.physics.dendrite), that
group is the volume's `source`: it is solved for the pressure at which the crack holds what
was deposited, V_u0 + C p = V_target(p), with the crack compliance C and the zero-pressure
volume V_u0 of the latest elastic solve (a bracketed root of a monotone function, one solve
of the source group per evaluation). A plain fixed point between a stiff source and the
crack would jump (a step of deposition at zero pressure can ask for GPa).

`StaggeredProblem` has the interface the TimeIntegrator and the ProtocolRunner use on a
Problem (initialise, solve_step, accept, reject, error_estimate, quantities, set_mode, ...).
"""

from __future__ import annotations

import numpy as np

from femcell import interrupt
from femcell._dolfinx import MPI
from femcell.fields import TimeContext
from femcell.problem import Problem
from femcell.solvers.snes import SolveReport


def _owned(field) -> int:
    """Number of owned values (DOFs times block size) of a field's array on this rank."""
    dm = field.u.function_space.dofmap
    return dm.index_map.size_local * dm.index_map_bs


class StaggeredProblem:
    """Groups of physics solved alternately until the sweeps converge.

    Args:
        domain: the Domain.
        physics: every physics, in the order a monolithic Problem takes them (set-up,
            initial conditions and quantities follow it; each is set up once, with one
            shared TimeContext).
        groups: a partition of `physics` into lists; each list is solved as one
            sub-problem, the groups in this order.
        rtol, atol: a step has converged when, over every field, the change between two
            sweeps is at most atol + rtol |u| (scaled, O(1) unknowns) at every DOF.
        max_sweeps: sweeps per step before the step is reported as not converged.
        linear_solver: "auto", "direct" or "iterative" (every sub-problem).
        petsc_options: extra SNES/KSP options of every sub-problem.
        prefix: PETSc options prefix (sub-problems append "g<i>_").
        acceleration: None, "overrelax", "anderson" or "aitken" (fields of the last group).
        relaxation: omega of over-relaxation (1 < omega < 2 typical); with "aitken" the
            first factor of each step, at most 1.
        anderson_depth: sweeps Anderson mixing remembers.
        run_sweeps: extra sweeps a step may take past `max_sweeps` while its damage keeps
            growing (a running crack, see the module docstring); 0: never.
        volume_control: None or (crack physics, V(t) [m^3, m^2 per unit depth in 2D]) or
            (crack physics, V(t), source physics): the crack physics has `set_pressure(p)`,
            `crack_volume()` and `pressure`; its mechanics field is solved for the pressure
            that gives the target volume; the group of `source` (whose state V(t) reads)
            is solved for the consistent pressure (see the module docstring). A source with
            `set_open(bool)` can be closed for a sweep whose root would give it negative
            volume (a flaw pressed shut takes no current).
        stall_sweeps: sweeps without progress after which a step is reported as not
            converged (module docstring); 0: never.
    """

    ACCELERATIONS = (None, "none", "overrelax", "anderson", "aitken")
    AITKEN_RANGE = (1e-3, 2.0)  # bounds of the dynamic relaxation factor
    STALL_FACTOR = 0.9  # progress: the smallest change so far falls below this fraction

    _count = 0
    RUNNING_WINDOW = 5  # sweeps of damage growth in a row that count as a running crack

    def __init__(self, domain, physics, groups, *, rtol: float = 1e-8, atol: float = 1e-10,
                 max_sweeps: int = 30, linear_solver: str = "auto",
                 petsc_options: dict | None = None, prefix: str | None = None,
                 acceleration: str | None = None, relaxation: float = 1.5,
                 anderson_depth: int = 5, volume_control=None, run_sweeps: int = 0,
                 stall_sweeps: int = 0):
        if acceleration not in self.ACCELERATIONS:
            raise ValueError(f"staggered problem: acceleration must be one of none, "
                             f"overrelax, anderson, aitken; got {acceleration!r}")
        if not 0 < relaxation < 2:
            raise ValueError(f"staggered problem: relaxation must be in (0, 2), got "
                             f"{relaxation}")
        if anderson_depth < 1:
            raise ValueError(f"staggered problem: anderson_depth must be >= 1, got "
                             f"{anderson_depth}")
        self.acceleration = None if acceleration == "none" else acceleration
        self.relaxation, self.anderson_depth = float(relaxation), int(anderson_depth)
        self.volume_control = volume_control
        self.physics = list(physics)
        self.groups = [list(g) for g in groups]
        grouped = [id(p) for g in self.groups for p in g]
        if any(not g for g in self.groups) or sorted(grouped) != sorted(map(id, self.physics)):
            raise ValueError("staggered problem: the groups must partition the physics "
                             "(each physics in exactly one non-empty group)")
        if max_sweeps < 1:
            raise ValueError(f"staggered problem: max_sweeps must be >= 1, got {max_sweeps}")
        if run_sweeps < 0:
            raise ValueError(f"staggered problem: run_sweeps must be >= 0, got {run_sweeps}")
        self.run_sweeps = int(run_sweeps)
        if stall_sweeps < 0:
            raise ValueError(f"staggered problem: stall_sweeps must be >= 0, got "
                             f"{stall_sweeps}")
        self.stall_sweeps = int(stall_sweeps)
        self.stalls = 0  # steps reported as stalled
        self.domain = domain
        self.rtol, self.atol, self.max_sweeps = rtol, atol, max_sweeps
        self.time = TimeContext(domain.mesh)
        for p in self.physics:
            p.setup(domain, self.time)
        StaggeredProblem._count += 1
        self.prefix = prefix or f"femcellstag{StaggeredProblem._count}"
        self.subs: list[Problem] = []
        for i, g in enumerate(self.groups):
            ids = {id(p) for p in g}
            self.subs.append(Problem(
                domain, g, linear_solver=linear_solver, petsc_options=petsc_options,
                prefix=f"{self.prefix}g{i}_", time=self.time,
                context=[p for p in self.physics if id(p) not in ids]))
        self.fields = [f for s in self.subs for f in s.fields]
        self.num_dofs = sum(s.num_dofs for s in self.subs)
        self.linear = False
        self.mode = "default"
        self.sweeps = 0  # total sweeps of all accepted and rejected steps
        self.last_sweeps = 0  # sweeps of the last solve_step
        self.running_sweeps = 0  # sweeps past max_sweeps of running cracks (all steps)
        self.limit_stops = 0  # steps ended at a limit reached mid-run (see `watch`)
        self.last_at_limit = False  # whether the last solve_step ended so
        self._limit_check = None
        self.trace = None  # optional trace(sweep, change), after every sweep on every rank
        self._vc_group = self._source_group = None
        self._compliance = None  # (V at p = 0, dV/dp) of the latest elastic solve
        if volume_control is not None:
            crack = volume_control[0]
            target = crack.mech.name if hasattr(crack, "mech") else None
            for i, s in enumerate(self.subs):
                if any(f.name == target for f in s.fields):
                    self._vc_group = i
            if self._vc_group is None:
                raise ValueError("staggered problem: volume control needs the group that "
                                 "owns the crack's displacement field")
            self._source_group = None
            if len(volume_control) > 2:
                src = volume_control[2]
                self._source_group = next((i for i, g in enumerate(self.groups)
                                           if any(p is src for p in g)), None)
                if self._source_group is None or self._source_group == self._vc_group:
                    raise ValueError("staggered problem: the volume source must be a physics "
                                     "of another group than the crack's displacement")
            if not self.subs[self._vc_group].linear:
                raise ValueError("staggered problem: volume control needs elasticity that is "
                                 "linear in the displacement for a given damage (fracture "
                                 "split = 'none' or 'hybrid', no creep)")

    @property
    def stats(self) -> dict:
        """Solver work summed over the sub-problems, and the sweeps."""
        out = {"solves": 0, "newton_its": 0, "krylov_its": 0, "jacobians": 0,
               "assemble_s": 0.0, "solve_s": 0.0}
        for s in self.subs:
            for k in out:
                out[k] += s.stats[k]
        out["sweeps"] = self.sweeps
        out["running_sweeps"] = self.running_sweeps
        out["limit_stops"] = self.limit_stops
        out["stalls"] = self.stalls
        return out

    def watch(self, check) -> None:
        """Limits to watch while a step runs past `max_sweeps`: `check(t)` (collective)
        returns what the current fields reached (a short description) or None; None
        for no check. Set by the time integrator before each step."""
        self._limit_check = check

    @property
    def entity_maps(self) -> list:
        """Entity maps every form of the composite needs."""
        return [m for p in self.physics for m in p.entity_maps]

    def residual_of(self, field_name: str):
        """The composed residual of one field (in the sub-problem that owns it)."""
        for s in self.subs:
            if any(f.name == field_name for f in s.fields):
                return s.residual_of(field_name)
        raise KeyError(field_name)

    def set_mode(self, mode: str) -> None:
        """Solver mode of every sub-problem that knows it (the others keep "default")."""
        if mode != "default" and not any(mode in s.modes() for s in self.subs):
            known = set().union(*(s.modes() for s in self.subs))
            raise ValueError(f"unknown solver mode {mode!r}; known: {', '.join(known)}")
        for s in self.subs:
            s.set_mode(mode if mode in s.modes() else "default")
        self.mode = mode

    def unused_options(self) -> list[str]:
        """The user's PETSc options that no sub-problem's solver read."""
        unused = [set(s.unused_options()) for s in self.subs]
        return sorted(set.intersection(*unused)) if unused else []

    def close(self) -> None:
        """Destroy the PETSc objects of every sub-problem (collective)."""
        for s in self.subs:
            s.close()

    # ------------------------------------------------------------------ time levels
    def initialise(self) -> None:
        """Initial conditions of every physics (in order), then each group's bookkeeping."""
        for p in self.physics:
            p.initial_condition()
        for s in self.subs:
            s.make_periodic()  # (nothing unless the domain is periodic)
            s.record_initial_state()

    def _change(self, previous: list[np.ndarray]) -> float:
        """max over fields and owned DOFs of |u - u_prev| / (atol + rtol |u|) (collective)."""
        local = 0.0
        for f, old in zip(self.fields, previous, strict=True):
            n = _owned(f)
            if n:
                u = f.u.x.array[:n]
                local = max(local, float(np.max(np.abs(u - old[:n])
                                                / (self.atol + self.rtol * np.abs(u)))))
        return self.domain.comm.allreduce(local, op=MPI.MAX)

    def solve_step(self, t_new: float, dt: float, order: int, dt_prev: float | None
                   ) -> SolveReport:
        """Sweep over the groups until the fields stop changing (t_new, dt in s). A failed
        group solve or sweeps that do not converge restore u^n and report not converged; a
        running step that reaches a watched limit reports `at_limit` (module docstring)."""
        for s in self.subs:
            s.begin_step(t_new, dt, order, dt_prev)
        self._t_new = t_new
        its = kits = 0
        change = np.inf
        self._history = []  # (x, G(x)) of the accelerated fields, for Anderson
        self._last_res = np.inf
        self._aitken = None  # (iterate, residual) of the last sweep, for Aitken
        best, best_at = np.inf, 0  # smallest change so far and its sweep (stall test)
        self.last_sweeps = 0
        growing = 0  # sweeps in a row in which the damage grew beyond the tolerance
        self.last_at_limit = False
        sweep = 0
        while sweep < self.max_sweeps or (
                growing >= self.RUNNING_WINDOW
                and sweep < self.max_sweeps + self.run_sweeps):
            sweep += 1
            self.sweeps += 1
            self.running_sweeps += sweep > self.max_sweeps
            self.last_sweeps = sweep
            previous = [f.u.x.array.copy() for f in self.fields]
            for i, s in enumerate(self.subs):
                rep = self._solve_group(i, s)
                its, kits = its + rep.newton_its, kits + rep.krylov_its
                if not rep.converged:
                    self.reject()
                    names = ", ".join(p.name for p in self.groups[i])
                    return SolveReport(False, f"group {i} ({names}) in sweep {sweep}: "
                                              f"{rep.reason}", its, kits)
            change = self._change(previous)
            if self.trace is not None:
                self.trace(sweep, change)
            if change <= 1.0:
                return SolveReport(True, f"STAGGERED_CONVERGED in {sweep} sweeps", its, kits)
            if self.run_sweeps:
                growing = growing + 1 if self._damage_grew(previous) else 0
            if sweep > self.max_sweeps or (sweep == self.max_sweeps
                                           and growing >= self.RUNNING_WINDOW):  # running
                hit = self._limit_reached(sweep, its, kits)
                if hit is not None:
                    return hit
            # stall test: a running crack (its sweeps grow the damage) counts as progress,
            # and past max_sweeps only the running budget ends a step
            if change < self.STALL_FACTOR * best or growing >= self.RUNNING_WINDOW:
                best, best_at = min(best, change), sweep
            elif (self.stall_sweeps and sweep - best_at >= self.stall_sweeps
                  and sweep < self.max_sweeps):
                self.stalls += 1
                self.reject()
                return SolveReport(False, f"STAGGERED_STALLED: no progress in "
                                          f"{self.stall_sweeps} sweeps (sweep {sweep}, "
                                          f"change {change:.3g} x tolerance, best "
                                          f"{best:.3g})", its, kits)
            # a signal stops a long step here, not only after it (a running crack can take
            # minutes of sweeps, longer than a scheduler's grace before SIGKILL); after the
            # converged and at-limit returns, so a finished step is kept; collective
            interrupt.check(self.domain.comm)
            if self.acceleration is not None:
                self._accelerate(previous)
        self.reject()
        return SolveReport(False, f"STAGGERED_NOT_CONVERGED after {sweep} sweeps "
                                  f"(last change {change:.3g} x tolerance)", its, kits)

    def _limit_reached(self, sweep: int, its: int, kits: int) -> SolveReport | None:
        """The report of a step that ends at a watched limit its sweep's fields reached
        (before any acceleration; collective), or None."""
        if self._limit_check is None:
            return None
        what = self._limit_check(self._t_new)
        if what is None:
            return None
        self.limit_stops += 1
        self.last_at_limit = True
        return SolveReport(True, f"STAGGERED_AT_LIMIT in sweep {sweep}: {what}, reached "
                                 f"while the damage still grew (not an equilibrium)",
                           its, kits, at_limit=True)

    def _damage_grew(self, previous: list[np.ndarray]) -> bool:
        """Whether the bounded fields of the last group (the damage) grew in this sweep:
        their sum increased and some DOF moved by more than the tolerance (collective)."""
        offset = sum(len(s.fields) for s in self.subs[:-1])
        total = moved = 0.0
        for k, (f, lo, _) in enumerate(self._accelerated()):
            if lo is None:
                continue
            n = _owned(f)
            du = f.u.x.array[:n] - previous[offset + k][:n]
            total += float(du.sum())
            if n:
                moved = max(moved, float(np.max(np.abs(du) / (self.atol + self.rtol
                                                               * np.abs(f.u.x.array[:n])))))
        comm = self.domain.comm
        total = comm.allreduce(total, op=MPI.SUM)
        moved = comm.allreduce(moved, op=MPI.MAX)
        return total > 0 and moved > 1.0

    # ------------------------------------------------------------------ group solves
    def _solve_group(self, i: int, s) -> SolveReport:
        """One group's solve (volume control: the pressure that gives the target volume)."""
        if i == self._source_group:
            return self._solve_source(s)
        if i != self._vc_group:
            return s.solve_iterate()
        crack, target = self.volume_control[:2]
        V_t = float(target(self._t_new))
        f = next(f for f in s.fields if f.name == crack.mech.name)
        p_ref = max(abs(crack.pressure), 1e-3 * crack.mech.e_ref * 1e-3)
        crack.set_pressure(0.0)
        r0 = s.solve_iterate()
        if not r0.converged:
            return r0
        u0, V0 = f.u.x.array.copy(), crack.crack_volume()
        crack.set_pressure(p_ref)
        r1 = s.solve_iterate()
        if not r1.converged:
            return r1
        V1 = crack.crack_volume()
        if not abs(V1 - V0) > 1e-14 * max(abs(V_t), 1e-300):
            return SolveReport(False, "VOLUME_CONTROL: the crack volume does not depend on "
                                      "the pressure (no crack to fill)",
                               r0.newton_its + r1.newton_its, r0.krylov_its + r1.krylov_its)
        scale = (V_t - V0) / (V1 - V0)
        f.u.x.array[:] = u0 + scale * (f.u.x.array - u0)
        crack.set_pressure(scale * p_ref)
        self._compliance = (V0, (V1 - V0) / p_ref)
        return SolveReport(True, r1.reason, r0.newton_its + r1.newton_its,
                           r0.krylov_its + r1.krylov_its)

    def _probe_compliance(self) -> SolveReport:
        """The crack's (V at p = 0, dV/dp) from the elastic group (two linear solves)."""
        crack = self.volume_control[0]
        p = crack.pressure
        sub = self.subs[self._vc_group]
        f = next(f for f in sub.fields if f.name == crack.mech.name)
        keep = f.u.x.array.copy()
        p_ref = max(abs(p), 1e-3 * crack.mech.e_ref * 1e-3)
        vols = []
        its = kits = 0
        for q in (0.0, p_ref):
            crack.set_pressure(q)
            rep = sub.solve_iterate()
            its, kits = its + rep.newton_its, kits + rep.krylov_its
            if not rep.converged:
                crack.set_pressure(p)
                return rep
            vols.append(crack.crack_volume())
        f.u.x.array[:] = keep
        f.u.x.scatter_forward()
        crack.set_pressure(p)
        self._compliance = (vols[0], (vols[1] - vols[0]) / p_ref)
        return SolveReport(True, "compliance", its, kits)

    def _solve_source(self, s) -> SolveReport:
        """Solve the volume's source group at the crack pressure p where the crack holds the
        target: g(p) = V_u0 + C p - V_target(p) = 0 (g increases with p: a higher pressure
        slows the deposition). Bracketed, then the Illinois false-position method."""
        crack, target = self.volume_control[:2]
        src = self.volume_control[2]
        if hasattr(src, "set_open"):  # decided afresh on every sweep's root
            src.set_open(True)
        its = kits = 0
        if self._compliance is None:
            rep = self._probe_compliance()
            its, kits = rep.newton_its, rep.krylov_its
            if not rep.converged:
                return rep
        V0, C = self._compliance
        if not C > 0:
            return SolveReport(False, "VOLUME_CONTROL: the crack does not open under pressure",
                               its, kits)
        scale_p = 1e-3 * crack.mech.e_ref * 1e-3
        counts = [its, kits]

        def g(p):
            crack.set_pressure(p)
            rep = s.solve_iterate()
            counts[0] += rep.newton_its
            counts[1] += rep.krylov_its
            if not rep.converged:
                return None, rep
            return V0 + C * p - float(target(self._t_new)), rep

        p0 = crack.pressure
        g0, rep = g(p0)
        if g0 is None:
            return SolveReport(False, f"VOLUME_SOURCE at p = {p0:.4g} Pa: {rep.reason}",
                               *counts)
        tol_v = 1e-10 * max(abs(V0) + abs(C) * max(abs(p0), scale_p), 1e-300)
        if abs(g0) <= tol_v:
            return self._closed_if_negative(s, V0, C, p0, tol_v, rep, counts)
        # bracket: step away from p0 (doubling) until g changes sign
        lo = hi = None
        step = max(abs(p0), scale_p)
        pa, ga = p0, g0
        for _ in range(60):
            pb = pa + (step if ga < 0 else -step)
            gb, rep = g(pb)
            if gb is None:  # too far for the source's solver: halve the step
                step *= 0.5
                continue
            if np.sign(gb) != np.sign(ga):
                lo, hi = ((pa, ga), (pb, gb)) if ga < 0 else ((pb, gb), (pa, ga))
                break
            pa, ga, step = pb, gb, 2 * step
        if lo is None:
            return SolveReport(False, "VOLUME_SOURCE: no pressure holds the deposited volume",
                               *counts)
        side = 0
        for _ in range(100):
            (pl, gl), (ph, gh) = lo, hi
            p = (pl * gh - ph * gl) / (gh - gl)
            gp, rep = g(p)
            if gp is None:
                p = 0.5 * (pl + ph)
                gp, rep = g(p)
                if gp is None:
                    return SolveReport(False, f"VOLUME_SOURCE at p = {p:.4g} Pa: {rep.reason}",
                                       *counts)
            if abs(gp) <= tol_v or abs(ph - pl) <= 1e-12 * max(abs(p), scale_p):
                return self._closed_if_negative(s, V0, C, p, tol_v, rep, counts)
            if gp < 0:
                lo = (p, gp)
                if side == -1:
                    hi = (ph, 0.5 * gh)
                side = -1
            else:
                hi = (p, gp)
                if side == 1:
                    lo = (pl, 0.5 * gl)
                side = 1
        return SolveReport(False, "VOLUME_SOURCE: the pressure did not converge", *counts)

    def _closed_if_negative(self, s, V0, C, p, tol_v, rep, counts) -> SolveReport:
        """The root p holds V0 + C p of metal; when that is negative (a stack stress presses
        the flaw shut harder than the deposition can push: the reaction would strip metal
        the flaw does not hold) and the source can close (`set_open`), the flaw takes no
        current in this sweep and holds what it had, at p = (V - V0) / C (every sweep starts
        open again: the decision follows the converging fields)."""
        src = self.volume_control[2]
        crack, target = self.volume_control[:2]
        if V0 + C * p >= -tol_v or not hasattr(src, "set_open"):
            return SolveReport(True, rep.reason, *counts)
        src.set_open(False)
        rep = s.solve_iterate()
        counts[0] += rep.newton_its
        counts[1] += rep.krylov_its
        if not rep.converged:
            return SolveReport(False, f"VOLUME_SOURCE (flaw closed): {rep.reason}", *counts)
        crack.set_pressure((float(target(self._t_new)) - V0) / C)
        return SolveReport(True, rep.reason, *counts)

    # ------------------------------------------------------------------ acceleration
    def _accelerated(self):
        """(field, lower, upper) arrays of the last group's fields (bounds or +-inf)."""
        sub = self.subs[-1]
        out = []
        for k, f in enumerate(sub.fields):
            lo = hi = None
            if sub._bound_fns is not None:
                lo, hi = sub._bound_fns[0][k].x.array, sub._bound_fns[1][k].x.array
            out.append((f, lo, hi))
        return out

    def _accelerate(self, previous: list[np.ndarray]) -> None:
        """Replace the last group's fields by an accelerated iterate (owned DOFs, then a
        ghost update), clipped to their bounds."""
        offset = sum(len(s.fields) for s in self.subs[:-1])
        fields = self._accelerated()
        sizes = []
        for f, _, _ in fields:
            sizes.append(_owned(f))
        x = np.concatenate([previous[offset + k][:n] for k, n in enumerate(sizes)])
        g = np.concatenate([f.u.x.array[:n] for (f, _, _), n in zip(fields, sizes,
                                                                     strict=True)])
        if self.acceleration == "overrelax":
            new = x + self.relaxation * (g - x)
        elif self.acceleration == "aitken":
            new = x + self._aitken_factor(x, g - x) * (g - x)
        else:
            new = self._anderson(x, g)
        start = 0
        for (f, lo, hi), n in zip(fields, sizes, strict=True):
            arr = new[start:start + n]
            if lo is not None:
                arr = np.minimum(np.maximum(arr, lo[:n]), hi[:n])
            f.u.x.array[:n] = arr
            f.u.x.scatter_forward()
            start += n

    def _aitken_factor(self, x: np.ndarray, r: np.ndarray) -> float:
        """The dynamic relaxation factor of this sweep from its iterate x, its residual
        r = G(x) - x and the last sweep's (Irons-Tuck; global dot products), within
        AITKEN_RANGE. The secant uses the step actually taken, x - x_old (the clipped one):
        omega = -(dx . dr) / |dr|^2, which is -omega_old r_old . dr / |dr|^2 where no bound
        was active."""
        if self._aitken is None:
            omega = min(self.relaxation, 1.0)
        else:
            x_old, r_old = self._aitken
            dr = r - r_old
            num, den = self.domain.comm.allreduce(
                np.array([float((x - x_old) @ dr), float(dr @ dr)]), op=MPI.SUM)
            omega = -num / den if den > 0 else 1.0
            # omega <= 0: the residual grew along the step (a map steeper than 1, a crack
            # running away from the last equilibrium): the secant points back to an unstable
            # state, the run goes forward; a plain sweep this time
            omega = float(np.clip(omega, *self.AITKEN_RANGE)) if omega > 0 else 1.0
        self._aitken = (x, r)
        return omega

    def _anderson(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Anderson mixing (type II) of the owned values over the last `anderson_depth`
        sweeps: G(x) minus the combination of past G differences that best cancels the
        residual G(x) - x in the least-squares sense (global dot products)."""
        comm = self.domain.comm
        res = np.sqrt(comm.allreduce(float((g - x) @ (g - x)), op=MPI.SUM))
        # safeguard: a sweep residual that grew means the mixing has left the region where
        # it helps (the active set of the bounds changed): restart from the plain sweep
        if self._history and res > self._last_res:
            self._history = []
        self._last_res = res
        self._history.append((x, g))
        self._history = self._history[-(self.anderson_depth + 1):]
        if len(self._history) < 2:
            return g
        f = [gk - xk for xk, gk in self._history]
        dF = np.array([f[j + 1] - f[j] for j in range(len(f) - 1)])  # (m, n_owned)
        dG = np.array([self._history[j + 1][1] - self._history[j][1]
                       for j in range(len(f) - 1)])
        A = comm.allreduce(dF @ dF.T, op=MPI.SUM)
        b = comm.allreduce(dF @ f[-1], op=MPI.SUM)
        reg = 1e-12 * max(float(np.trace(A)), 1e-300)
        gam = np.linalg.solve(A + reg * np.eye(len(A)), b)
        return g - gam @ dG

    def can_batch(self) -> bool:
        """Never: every step sweeps."""
        return False

    def advance_batch(self, n: int, dt: float, order: int) -> bool:
        return False

    def accept(self) -> None:
        """Every physics' step hook first (histories unshifted), then every history shift."""
        for s in self.subs:
            s.run_step_hooks()
        for s in self.subs:
            s.shift_history()

    def reject(self) -> None:
        """Restore every field from u^n (quasi-static ones: the last accepted state)."""
        for s in self.subs:
            s.reject()

    def error_estimate(self, weights: tuple[float, ...], atol: float, rtol: float) -> float:
        """The largest local error estimate of the sub-problems (see Problem)."""
        return max(s.error_estimate(weights, atol, rtol) for s in self.subs)

    def quantities(self) -> dict[str, float]:
        """Scalar quantities of every physics (SI), collective."""
        out = {}
        for p in self.physics:
            out.update(p.quantities())
        return out
