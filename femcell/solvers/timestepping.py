"""Adaptive time stepping with step rejection (BDF1 / BDF2, variable step).

A step is accepted only when the nonlinear solve converged; a failed solve is rejected, dt
is cut and the step retried, and after `max_cuts` consecutive cuts the run stops with a
SolverError. With `adaptive`, an extrapolation-based local error estimate also rejects
steps that are too large and sets the next step.

Events (cut-offs: a stoichiometry, voltage or quantity limit) are located, not just
detected: a converged step whose state lies beyond a limit by more than the event's
tolerance is rejected and retried with a shorter step aimed at the crossing (regula falsi,
Illinois variant, on the signed distance to the limit), so a run stops ON its limit. An
event whose distance jumps (`locate=False`: a 0/1 indicator) has no crossing to aim at: the
first converged step that reaches it is taken.

A problem that can watch limits while it solves (`watch(check)`: a staggered solve whose
crack runs through) may end a solve at a limit it reached before converging (`at_limit` in
its report): the crossing is a jump that no shorter step locates, so that state is taken as
where the run stops, past the limit (never as a converged state that the run goes on from;
one that reaches none of the active limits is rejected like a failed solve).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

from femcell import interrupt
from femcell.solvers.snes import SolveReport, SolverError


class StepState:
    """The state an event looks at: a converged step (accepted or about to be).

    Attributes:
        t: time of the state [s].
        problem: the Problem (its fields hold the state).
    """

    def __init__(self, t: float, problem):
        self.t = t
        self.problem = problem
        self._q = None

    @property
    def quantities(self) -> dict[str, float]:
        """The problem's quantities at this state (SI; computed once; collective)."""
        if self._q is None:
            self._q = self.problem.quantities()
        return self._q


@dataclass
class Event:
    """A limit the integrator stops on, located in time.

    Attributes:
        name: short name, e.g. "stoichiometry limit" or "voltage_above".
        distance: f(state: StepState) -> signed distance to the limit: > 0 inside, <= 0 at
            or beyond it. Called on every rank (collective quantities are fine); it must
            return the same value on every rank.
        tolerance: how far past the limit a step may end (distance in [-tolerance, 0]);
            a step that overshoots further is rejected and retried shorter.
        describe: f(state) -> one line saying what was reached (default: name and time).
        locate: False for a limit whose distance jumps (a 0/1 indicator): it has no crossing
            inside a step to aim at, so the first converged step that reaches it (distance
            <= 0, by any amount) is taken and the limit is reached at its end (the time is
            known to within that step).

    An event is armed while its distance is > 0. One that starts at or beyond its limit
    (distance <= 0) ends the run only if the state moves further out by more than the
    tolerance (then without location).
    """

    name: str
    distance: Callable
    tolerance: float
    describe: Callable | None = None
    locate: bool = True

    def __post_init__(self):
        if not self.tolerance > 0:
            raise ValueError(f"event {self.name}: tolerance must be > 0, got {self.tolerance}")

    def text(self, state: StepState) -> str:
        """What was reached, for logs and summaries."""
        if self.describe is None:
            return f"{self.name} at t = {state.t:.6g} s"
        return self.describe(state)


@dataclass
class StepController:
    """Step-size policy (all times in seconds).

    Attributes:
        dt_initial: first step [s].
        dt_min: smallest step before giving up [s].
        dt_max: largest step [s].
        adaptive: use the local error estimate to choose steps.
        rtol, atol: error tolerances on the scaled unknowns (O(1)).
        max_cuts: consecutive rejections allowed before stopping.
        order: 1 (backward Euler) or 2 (BDF2).
        regrow: fixed stepping only: after a cut, grow the step back by this factor per
            accepted step (None: straight back to the nominal step, which a stiff stretch,
            e.g. a nucleating phase field, then cuts again at every step).
    """

    dt_initial: float
    dt_min: float = 0.0
    dt_max: float = math.inf
    adaptive: bool = True
    rtol: float = 1e-3
    atol: float = 1e-5
    max_cuts: int = 10
    order: int = 2
    regrow: float | None = None

    def __post_init__(self):
        if not self.dt_initial > 0:
            raise ValueError(f"time.dt: the initial step must be positive, got {self.dt_initial}")
        if self.order not in (1, 2):
            raise ValueError(f"time.scheme: order must be 1 (euler) or 2 (bdf2), got {self.order}")
        if self.dt_min <= 0:
            self.dt_min = self.dt_initial * 1e-8


def _extrapolation_weights(times: list[float], t_new: float) -> tuple[float, ...]:
    """Lagrange weights that extrapolate values at `times` to t_new."""
    w = []
    for i, ti in enumerate(times):
        p = 1.0
        for j, tj in enumerate(times):
            if j != i:
                p *= (t_new - tj) / (ti - tj)
        w.append(p)
    return tuple(w)


class TimeIntegrator:
    """Drives a Problem in time.

    Args:
        problem: a femcell.problem.Problem.
        controller: the step policy.
    """

    # local error = C |u - u_pred|: BDF1 with a linear predictor, BDF2 with a quadratic one
    _ERR_CONST = {1: 1.0 / 3.0, 2: 2.0 / 11.0}
    MAX_EVENT_TRIES = 40  # overshooting retries per located event before giving up


    def __init__(self, problem, controller: StepController):
        self.problem = problem
        self.ctl = controller
        self.t = 0.0
        self.dt = controller.dt_initial
        self._times: list[float] = [0.0]  # accepted time levels, newest first
        self.steps = 0
        self.rejected = 0
        self.log: list[dict] = []
        self.events: list[Event] = []  # active limits (set_events / run(events=...))
        self.event_retries = 0  # steps rejected because they overshot an event
        self.fired: Event | None = None  # the event reached by the last step, if any
        self.ended_by: str | None = None  # why the last run() (or fired event) ended
        self._g: dict[int, float] | None = None  # event distances at the accepted state
        self._ref: dict[int, float] = {}  # distances when the events were set
        self._brackets: dict[int, dict] = {}  # per event: the closest rejected overshoot

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self) -> dict:
        """JSON-able state: time, step sizes and their history, counters, the step log and
        the located events' bookkeeping (by position in `events`)."""
        pos = {id(ev): k for k, ev in enumerate(self.events)}
        return {"t": self.t, "dt": self.dt, "dt_initial": self.ctl.dt_initial,
                "times": list(self._times), "steps": self.steps, "rejected": self.rejected,
                "event_retries": self.event_retries, "log": list(self.log),
                "g": None if self._g is None else {str(pos[k]): v for k, v in self._g.items()},
                "ref": {str(pos[k]): v for k, v in self._ref.items() if k in pos},
                "brackets": {str(pos[k]): dict(b) for k, b in self._brackets.items()
                             if k in pos},
                "fired": None if self.fired is None else pos.get(id(self.fired)),
                "ended_by": self.ended_by}

    def restore_state(self, state: dict, *, with_events: bool = True) -> None:
        """Continue from `checkpoint_state` (call after the events are set again, in the
        same order; with_events=False restores all but the events' bookkeeping)."""
        ids = [id(ev) for ev in self.events]
        self.t, self.dt = float(state["t"]), float(state["dt"])
        self.ctl.dt_initial = float(state["dt_initial"])
        self._times = [float(x) for x in state["times"]]
        self.steps, self.rejected = int(state["steps"]), int(state["rejected"])
        self.event_retries = int(state["event_retries"])
        self.log = [dict(r) for r in state["log"]]
        if not with_events:
            return
        self._g = None if state["g"] is None else {ids[int(k)]: float(v)
                                                    for k, v in state["g"].items()}
        self._ref = {ids[int(k)]: float(v) for k, v in state["ref"].items()}
        self._brackets = {ids[int(k)]: dict(b) for k, b in state["brackets"].items()}
        fired = state.get("fired")
        self.fired = None if fired is None else self.events[int(fired)]
        self.ended_by = state.get("ended_by")

    def _order_now(self) -> int:
        return 2 if (self.ctl.order == 2 and len(self._times) >= 2) else 1

    def _predictor(self, t_new: float, order: int):
        k = order + 1  # points needed for the predictor of this order
        if len(self._times) < k:
            return None
        return _extrapolation_weights(self._times[:k], t_new)

    # ------------------------------------------------------------------ events
    def set_events(self, events) -> None:
        """Activate limits (a list of Event; None or [] for none) from the current state on.
        Their distances are taken at the current (accepted) state when the next step
        starts."""
        self.events = list(events or [])
        self._g = None
        self._brackets = {}
        self.fired = None

    def _distances(self, state: StepState) -> dict[int, float]:
        """Distances of every event (NaN counts as inside: it never fires)."""
        out = {}
        for ev in self.events:
            g = float(ev.distance(state))
            out[id(ev)] = g if not math.isnan(g) else math.inf
        return out

    def _limit_reached(self, t: float) -> str | None:
        """What the problem's current fields reached of the armed limits (the first one's
        description) or None (collective: every rank computes the same distances)."""
        state = StepState(t, self.problem)
        for ev in self.events:
            if self._g[id(ev)] > 0.0 and float(ev.distance(state)) <= 0.0:
                return ev.text(state)
        return None

    def _aim_floor(self) -> float:
        """Shortest step worth aiming at an event [s]: below it the state is taken as is."""
        return max(self.ctl.dt_min, 1e-6 * min(self.dt, self.ctl.dt_initial))

    def _stop_aiming(self) -> None:
        """Give up locating the bracketed events: the next overshoot is accepted and the
        run stops past the limit (ended_by says so)."""
        for br in self._brackets.values():
            br["tries"] = self.MAX_EVENT_TRIES + 1

    def _aim(self) -> float | None:
        """The step that ends at the regula-falsi estimate of the earliest bracketed crossing
        (aiming at the middle of the band [-tol, 0]); None without a bracket."""
        best = None
        if any(b["tries"] > self.MAX_EVENT_TRIES for b in self._brackets.values()):
            return None  # gave up aiming (see _stop_aiming)
        for ev in self.events:
            br = self._brackets.get(id(ev))
            if br is None or not ev.locate:  # (a bracket of an older checkpoint)
                continue
            target = -0.5 * ev.tolerance
            h_lo = (self._g[id(ev)] - target) * br["lo_scale"]
            h_hi = br["g"] - target
            frac = min(max(h_lo / (h_lo - h_hi), 1e-3), 1.0 - 1e-3)
            dt = frac * (br["t"] - self.t)
            best = dt if best is None else min(best, dt)
        return best

    def _classify(self, state: StepState, g_new: dict[int, float], aimed: bool):
        """(reached event or None, overshoot?) for a converged candidate state; updates the
        brackets of overshooting events."""
        reached, over = None, False
        for ev in self.events:
            key = id(ev)
            g0, g1, tol = self._g[key], g_new[key], ev.tolerance
            if g0 <= 0.0:  # not armed: started at or beyond the limit
                if g1 < min(self._ref[key], 0.0) - tol and reached is None:
                    reached = ev
                continue
            if not ev.locate:  # a jump: reached at the end of the step that crosses it
                if g1 <= 0.0:
                    reached = reached or ev
                continue
            if g1 > 0.0 or g1 < -tol:
                if g1 < -tol:
                    over = True
                    br = self._brackets.get(key)
                    if br is None or state.t < br["t"]:
                        # Illinois: the accepted end kept twice in a row counts half
                        kept_lo = br is not None and br["kept"] == "lo" and aimed
                        self._brackets[key] = {
                            "t": state.t, "g": g1, "kept": "lo", "tries": (
                                br["tries"] + 1 if br else 1),
                            "lo_scale": (br["lo_scale"] * 0.5 if kept_lo else 1.0)}
                continue
            reached = reached or ev  # within [-tol, 0]: on the limit
        return reached, over

    def step(self, t_limit: float) -> dict:
        """Take one accepted step, not past t_limit. Returns the step record.

        With active events no step ends more than an event's tolerance beyond its limit;
        `fired` is then the event this step reached (None otherwise)."""
        ctl = self.ctl
        cuts = 0
        start = (self.dt, self.rejected, self.event_retries, self.fired, self.ended_by,
                 copy.deepcopy((self._g, self._ref, self._brackets)))
        self.fired = None
        if self.events and self._g is None:
            self._g = self._distances(StepState(self.t, self.problem))
            self._ref = dict(self._g)
        g_new = None
        limit = getattr(self.problem, "step_limit", None)
        dt_stable = limit() if limit is not None else float("inf")
        while True:
            dt = min(self.dt, ctl.dt_max, t_limit - self.t, dt_stable)
            aim = self._aim() if self._brackets else None
            if aim is not None and aim < self._aim_floor():
                # the crossing is sharper than any step the solver can take (a near jump):
                # stop at the overshooting state instead of aiming at ever smaller steps
                self._stop_aiming()
                aim = None
            aimed = aim is not None and aim <= dt
            if aimed:
                dt = aim
            # avoid a sliver step just before t_limit
            elif t_limit - (self.t + dt) < 1e-3 * dt:
                dt = t_limit - self.t
            order = self._order_now()
            dt_prev = self._times[0] - self._times[1] if len(self._times) > 1 else None
            t_new = self.t + dt
            watch = getattr(self.problem, "watch", None)
            if watch is not None:
                watch(self._limit_reached if self.events else None)
            try:
                rep = self.problem.solve_step(t_new, dt, order, dt_prev)
            except interrupt.Interrupted as exc:  # a signal inside the step (every rank)
                # back to the last accepted step, fields and bookkeeping (step size, cuts,
                # event brackets): the state a checkpoint then holds, taken here while the
                # events are still set (a runner may clear them on the way out)
                self.problem.reject()
                (self.dt, self.rejected, self.event_retries, self.fired, self.ended_by,
                 (self._g, self._ref, self._brackets)) = start
                exc.mid_step = True
                exc.integrator_state = self.checkpoint_state()
                raise
            at_limit = rep.converged and rep.at_limit
            if at_limit and self._limit_reached(t_new) is None:
                self.problem.reject()  # a limit that is not the run's: not converged
                rep = SolveReport(False, f"{rep.reason}; no active limit was reached",
                                  rep.newton_its, rep.krylov_its)
            if not rep.converged:
                cuts += 1
                self.rejected += 1
                if aimed and (cuts > ctl.max_cuts or dt * 0.5 < self._aim_floor()):
                    self._stop_aiming()  # take the overshooting step that converged before
                    cuts = 0
                    continue
                if cuts > ctl.max_cuts or dt * 0.5 < ctl.dt_min:
                    raise SolverError(
                        f"no convergence at t = {self.t:.6g} s after {cuts} step cuts "
                        f"(last dt = {dt:.3g} s): {rep}")
                self.dt = 0.5 * dt
                continue
            err = None
            if ctl.adaptive and not at_limit:
                w = self._predictor(t_new, order)
                if w is not None:
                    est = self.problem.error_estimate(w, ctl.atol, ctl.rtol)
                    err = self._ERR_CONST[order] * est
                    if err > 1.0 and dt > ctl.dt_min * 2:
                        cuts += 1
                        self.rejected += 1
                        self.problem.reject()
                        if cuts > ctl.max_cuts:
                            raise SolverError(f"local error too large at t = {self.t:.6g} s "
                                              f"after {cuts} cuts (dt = {dt:.3g} s)")
                        self.dt = dt * max(0.2, 0.9 * err ** (-1.0 / (order + 1)))
                        continue
            if self.events:
                state = StepState(t_new, self.problem)
                g_new = self._distances(state)
                fired, over = self._classify(state, g_new, aimed)
                tries = max((b["tries"] for b in self._brackets.values()), default=0)
                if over and not at_limit and tries <= self.MAX_EVENT_TRIES \
                        and dt > ctl.dt_min:
                    self.event_retries += 1
                    self.rejected += 1
                    self.problem.reject()
                    continue
                if over:  # could not land within tolerance: stop past the limit, say so
                    fired = next(ev for ev in sorted(self.events,
                                                     key=lambda e: self._g[id(e)] <= 0.0)
                                 if g_new[id(ev)] < -ev.tolerance)
                self.fired = fired
            break
        self.problem.accept()
        self.t = t_new
        self._times.insert(0, t_new)
        del self._times[4:]
        self.steps += 1
        if self.events:
            for br in self._brackets.values():  # the overshoot is still ahead: kept
                if aimed and br["kept"] == "hi":
                    br["g"] *= 0.5  # Illinois: the overshoot end kept twice counts half
                br["kept"], br["lo_scale"] = "hi", 1.0
            self._g = g_new
            if self.fired is not None:
                self._brackets = {}
                self.ended_by = self.fired.text(StepState(t_new, self.problem))
        if ctl.adaptive:
            if err is None:  # not enough history yet: grow gently
                factor = 1.5 if rep.newton_its <= 4 else 1.0
            else:
                factor = min(2.0, max(0.5, 0.9 * max(err, 1e-10) ** (-1.0 / (order + 1))))
                # hysteresis: keep dt for modest growth, so linear problems keep their
                # factorisation (a change of dt means a new Jacobian)
                if 1.0 <= factor < 1.3:
                    factor = 1.0
            if not aimed:  # a step shortened to land on an event does not set the pace
                self.dt = dt * factor if dt >= self.dt * 0.999 else self.dt
        elif cuts == 0:  # fixed stepping: return to the nominal step after a cut
            self.dt = ctl.dt_initial if ctl.regrow is None else min(
                ctl.dt_initial, max(dt, self.dt) * ctl.regrow)
        else:
            self.dt = dt
        self.dt = min(self.dt, ctl.dt_max)
        rec = {"t": t_new, "dt": dt, "order": order, "newton_its": rep.newton_its,
               "krylov_its": rep.krylov_its, "cuts": cuts, "err": err}
        if at_limit:
            rec["at_limit"] = rep.reason
        if self.fired is not None:
            rec["event"] = self.fired.name
        self.log.append(rec)
        return rec

    def run(self, t_end: float, on_step: Callable[[dict], bool | None] | None = None,
            stop_times: list[float] | None = None, events: list[Event] | None = None,
            restore: dict | None = None) -> str:
        """Advance to t_end, landing exactly on every time in `stop_times`.

        Args:
            t_end: end time [s].
            on_step: called with the step record after every accepted step (also the one
                that reaches an event); returning True stops the run.
            stop_times: times [s] to land on exactly (outputs).
            events: limits (Event) that end the run when reached, located to within their
                tolerance (None: keep the integrator's current events).
            restore: a `checkpoint_state` to continue from (applied after the events).

        Returns:
            why the run ended (also in `ended_by`): "end time", "stopped by on_step", or
            the reached event's description.
        """
        if events is not None:
            self.set_events(events)
        if restore is not None:
            self.restore_state(restore)
            if self.fired is not None:  # the checkpointed step had reached an event
                return self.ended_by
        self.ended_by = None
        marks = sorted(t for t in (stop_times or []) if self.t < t < t_end) + [t_end]
        batch = (on_step is None and not self.events and not self.ctl.adaptive
                 and self.problem.can_batch())
        for mark in marks:
            while self.t < mark * (1 - 1e-14) - 1e-300:
                if batch and self.steps >= self.ctl.order and self._batch(mark):
                    continue
                rec = self.step(mark)
                stop = on_step is not None and on_step(rec)
                if self.fired is not None:
                    return self.ended_by
                if stop:
                    self.ended_by = "stopped by on_step"
                    return self.ended_by
        self.ended_by = "end time"
        return self.ended_by

    def _batch(self, mark: float) -> bool:
        """Fixed steps of a linear problem in one tight loop, up to the last whole step
        before `mark` (the remainder is stepped normally)."""
        dt = self.dt
        n = int((mark - self.t) / dt * (1 + 1e-12)) - 1
        if n < 2 or abs((self._times[0] - self._times[1]) - dt) > 1e-12 * dt:
            return False
        if not self.problem.advance_batch(n, dt, self.ctl.order):
            return False
        for _ in range(n):
            self.t += dt
            self._times.insert(0, self.t)
        del self._times[4:]
        self.steps += n
        self.log.append({"t": self.t, "dt": dt, "order": self.ctl.order, "newton_its": 1,
                         "krylov_its": 0, "cuts": 0, "err": None, "batch": n})
        return True
