"""Experiment protocols written the way a battery lab writes them, and their runner.

A protocol is a list of steps - constant current, linear current ramp, rest, potential hold,
each optionally at its own temperature - grouped and repeated with `Repeat`. Each step ends
at the first of its until-conditions (time, voltage above/below, charge passed, current
above/below in a hold, or a quantity crossing a threshold). Time and charge limits are hit
exactly; voltage, current and quantity limits are located like a lab's cut-off: a step that
overshoots one by more than its tolerance (VOLTAGE_TOL, UNTIL_RTOL) is rejected and retried
shorter (femcell.solvers.timestepping.Event); a quantity that is a 0/1 indicator of the
physics (Physics.indicators, e.g. a short) jumps and is not located: the step that reaches it
ends there. Every step also stops at the stoichiometry
limits (c = c_max or 0) of every intercalation electrode (reason "stoichiometry limit").
The runner restarts the time step at every step change, ramps currents and held voltages
over a rise time, and records per-step quantities. Findings (CCD, fits): femcell.analysis.

Sign convention: a positive current density drives oxidation at the electrode that holds the
current collector `current_cc` (stripping in a symmetric cell, delithiation/charge of a
cathode when current_cc is on the cathode side).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

from femcell.experiment import KINDS, Protocol, ProtocolError, Repeat, Step, Until  # noqa: F401
from femcell.solvers.timestepping import Event

# located until-conditions end at most this far past their threshold: voltages by
# VOLTAGE_TOL * max(|V*|, 0.1 V) (0.42 mV at 4.2 V, 10 uV at 10 mV), currents and
# quantities by UNTIL_RTOL * |threshold| (absolute 1e-12 at a zero threshold)
VOLTAGE_TOL = 1e-4
UNTIL_RTOL = 1e-3
STOICHIOMETRY_REASON = "stoichiometry limit"


@dataclass
class StepSummary:
    """How one protocol step ended."""

    index: int
    label: str
    kind: str
    cycle: int
    t_start: float
    t_end: float
    reason: str
    charge: float
    end_quantities: dict
    detail: str = ""  # what a located limit reached (e.g. the stoichiometry event's text)
    at_limit: bool = False  # its last solve stopped at a limit before it converged


class ProtocolRunner:
    """Drives a Problem through a Protocol.

    Args:
        problem: the Problem (holding a physics with `set_current`, `set_hold_voltage`,
            `set_temperature`, e.g. ChargeTransport).
        electrochem: that physics.
        integrator: a TimeIntegrator on the problem (its controller sets dt limits).
        dt: default first step of every protocol step [s].
        rise_time: current steps change linearly over this time [s] (a potentiostat's rise
            time; it gives the step-cutting a continuation path into a large current step).
        record: callback(row dict) for every accepted time step.
        stoichiometry_limits: stop the protocol when an intercalation electrode (a
            Diffusion whose material has an open-circuit potential) reaches c = c_max or 0
            anywhere, located to within `stoichiometry_tol` (in c / c_max; None: default).
        after_step: callback() once per accepted step at a point where `checkpoint_state`
            can be taken (e.g. femcell.checkpoint.Checkpointer.after_step); not after the
            step that ends the protocol at a limit.
        measure: callback(index, step, t, quantities) of an "impedance" step: the
            spectrum about the present state (the problem in current control at the
            current of the previous step); None: impedance steps are refused.
        stop_on: step end reasons that end the protocol (e.g. "filament_short_above": a
            shorted cell takes no further steps). A step whose last solve stopped at a
            limit before it converged (a running crack: `at_limit` in the integrator's
            record) always ends it: that state is not one to go on from.
    """

    def __init__(self, problem, electrochem, integrator, *, dt: float, rise_time: float = 0.0,
                 record: Callable[[dict], None] | None = None,
                 stoichiometry_limits: bool = True, stoichiometry_tol: float | None = None,
                 after_step: Callable[[], None] | None = None,
                 stop_on: tuple[str, ...] = (), measure: Callable | None = None):
        self.problem, self.ec, self.integ = problem, electrochem, integrator
        self.measure = measure
        self.stop_on = tuple(stop_on)
        self.dt, self.rise, self.record = dt, rise_time, record
        self.stoichiometry_limits, self.stoichiometry_tol = stoichiometry_limits, stoichiometry_tol
        self.ended_by = ""  # why the protocol ended: "completed" or the limit's description
        self.summaries: list[StepSummary] = []
        self._I_last = self._V_last = 0.0  # current [A m^-2] and voltage [V] at the last end
        self.after_step = after_step
        self._position = {"index": 0, "in_step": False}  # where a checkpoint resumes

    def checkpoint_state(self) -> dict:
        """JSON-able position: protocol step, its start time and charge so far, the current
        and voltage the step started from, the summaries of the finished steps."""
        return {"position": dict(self._position), "I_last": self._I_last,
                "V_last": self._V_last, "ended_by": self.ended_by,
                "summaries": [asdict(s) for s in self.summaries]}

    def _restore(self, state: dict) -> dict:
        self._I_last, self._V_last = float(state["I_last"]), float(state["V_last"])
        self.ended_by = state["ended_by"]
        self.summaries = [StepSummary(**s) for s in state["summaries"]]
        return dict(state["position"])

    def _ramp(self, v_from: float, v_to: float, t0: float):
        """A value moving linearly from v_from to v_to over the rise time after t0."""
        rise = self.rise
        return v_to if rise <= 0 else (
            lambda t: v_from + (v_to - v_from) * min(1.0, max(0.0, (t - t0) / rise)))

    def _time_limit(self, step: Step) -> float:
        """Step duration limit [s] from its time and charge limits, the rise time included
        (during the rise the current moves linearly from the previous step's value)."""
        limit = math.inf if step.until.time is None else step.until.time
        q = step.until.charge
        if q is None or step.kind not in ("current", "ramp"):
            return limit
        if self.rise <= 0 or step.kind == "ramp":
            return min(limit, step.time_limit())
        i_set = abs(step.current_density)
        q_rise = abs(0.5 * (self._I_last + step.current_density)) * self.rise
        if (self._I_last * step.current_density < 0) or q_rise >= q or i_set == 0:
            return limit  # the charge condition itself ends the step
        return min(limit, self.rise + (q - q_rise) / i_set)

    def _current_fn(self, step: Step, t0: float, I_prev: float):
        rise = self.rise

        def current(t):
            target = step.current(t - t0)
            if rise > 0 and t - t0 < rise:
                w = max(0.0, (t - t0) / rise)
                return I_prev + (target - I_prev) * w
            return target

        return current

    def _limit_events(self) -> list[Event]:
        """Stoichiometry events of every intercalation electrode of the problem."""
        if not self.stoichiometry_limits:
            return []
        from femcell.physics.diffusion import STOICHIOMETRY_TOL, stoichiometry_limits

        tol = self.stoichiometry_tol or STOICHIOMETRY_TOL
        return stoichiometry_limits(self.problem.physics, tol, electrodes_only=True)

    def _cutoff_events(self) -> list[Event]:
        """The physics' own cut-offs (Physics.cutoff_events): the protocol stops there."""
        return [e for p in self.problem.physics for e in p.cutoff_events()]

    def _indicators(self) -> frozenset:
        """The 0/1 quantities of the problem's physics (Physics.indicators)."""
        return frozenset().union(*(p.indicators for p in self.problem.physics))

    @staticmethod
    def until_events(step: Step, indicators=frozenset()) -> list[Event]:
        """The voltage, current and quantity conditions of a step as located events; a
        quantity condition on one of `indicators` (0/1 quantities of the physics, which
        jump) is not located inside a step (Event.locate)."""
        u = step.until
        out = []

        def voltage(st):  # no cell voltage: the condition can never be reached
            return st.quantities.get("cell_voltage", math.inf)

        def current(st):
            return abs(st.quantities.get("current_density", 0.0))

        if u.voltage_above is not None and step.kind != "hold":
            v = u.voltage_above
            out.append(Event("voltage_above", lambda st, v=v: v - voltage(st)
                             if math.isfinite(voltage(st)) else math.inf,
                             VOLTAGE_TOL * max(abs(v), 0.1)))
        if u.voltage_below is not None and step.kind != "hold":
            v = u.voltage_below
            out.append(Event("voltage_below", lambda st, v=v: voltage(st) - v,
                             VOLTAGE_TOL * max(abs(v), 0.1)))
        if u.current_above is not None and step.kind == "hold":
            i = u.current_above
            out.append(Event("current_above", lambda st, i=i: i - current(st),
                             max(UNTIL_RTOL * abs(i), 1e-12)))
        if u.current_below is not None and step.kind == "hold":
            i = u.current_below
            out.append(Event("current_below", lambda st, i=i: current(st) - i,
                             max(UNTIL_RTOL * abs(i), 1e-12)))
        if u.quantity is not None:
            name, how, value = u.quantity
            sign = 1.0 if how == "below" else -1.0

            def dist(st, name=name, value=value, sign=sign):
                x = st.quantities.get(name)
                return math.inf if x is None else sign * (x - value)

            out.append(Event(f"{name}_{how}", dist, max(UNTIL_RTOL * abs(value), 1e-12),
                             locate=name not in indicators))
        return out

    def run(self, protocol: Protocol, resume: tuple[dict, dict] | None = None
            ) -> list[StepSummary]:
        """Run every step; stops early at a stoichiometry limit, a 'stop:' reason, a step that
        ended for a reason in `stop_on`, or one whose last solve stopped at a limit before it
        converged (`at_limit`).

        Args:
            protocol: the steps.
            resume: (checkpoint_state of this runner, of the integrator) to continue from.
        """
        try:
            return self._run(protocol, resume)
        finally:
            self.integ.set_events([])

    def _run(self, protocol: Protocol, resume: tuple[dict, dict] | None) -> list[StepSummary]:
        integ = self.integ
        limits = self._limit_events()
        cutoffs = self._cutoff_events()
        self.ended_by = "completed"
        start = {"index": 0, "in_step": False}
        if resume is not None:
            start = self._restore(resume[0])
            integ.set_events([])
            integ.restore_state(resume[1], with_events=False)
        for index, (cycle, step) in enumerate(protocol.steps()):
            if index < start["index"]:  # done before the checkpoint; its temperature holds
                if step.temperature is not None:
                    for p in self.problem.physics:
                        p.set_temperature(step.temperature)
                continue
            mid = start["in_step"] and index == start["index"]
            t0 = start["t0"] if mid else integ.t
            if step.kind == "impedance":
                self._impedance(index, cycle, step)
                continue
            if step.temperature is not None:  # every physics follows the step temperature
                for p in self.problem.physics:
                    p.set_temperature(step.temperature)
            if step.kind == "hold":
                self.ec.set_hold_voltage(self._ramp(self._V_last, step.voltage, t0))
                self.ec.set_current(0.0)
                self.problem.set_mode("potentiostatic")
            else:
                self.ec.set_current(self._current_fn(step, t0, self._I_last))
                self.problem.set_mode("default")
            if not mid:
                integ.dt = integ.ctl.dt_initial = step.dt or self.dt
            integ.set_events(limits + cutoffs + self.until_events(step, self._indicators()))
            if mid:  # the step size and the located events as they were
                integ.restore_state(resume[1])
            t_stop = t0 + self._time_limit(step)
            charge = start["charge"] if mid else 0.0
            reason, detail = "time", ""
            while True:
                horizon = min(t_stop, integ.t + 1e6 * integ.dt)
                rec = integ.step(horizon)
                q = self.problem.quantities()
                if step.kind == "hold":  # measured current, right-point rule
                    charge += abs(q.get("current_density", 0.0)) * rec["dt"]
                else:  # the applied current: exact for constant currents, ramps and rises
                    ta, tb = integ.t - rec["dt"], integ.t
                    knots = [ta] + [k for k in (t0 + self.rise,) if ta < k < tb] + [tb]
                    for a, b in zip(knots[:-1], knots[1:], strict=True):
                        charge += abs(0.5 * (self.ec.current(a) + self.ec.current(b))) * (b - a)
                row = {"t": integ.t, "step": index, "cycle": cycle, "label": step.label,
                       "step_time": integ.t - t0, "charge": charge, **q}
                if self.record is not None:
                    self.record(row)
                if step.until.quantity is not None and step.until.quantity[0] not in q:
                    raise ProtocolError(f"step {step.label}: until.quantity "
                                        f"{step.until.quantity[0]!r} is not a recorded "
                                        f"quantity ({', '.join(sorted(q))})")
                fired = integ.fired
                if fired is not None and any(fired is ev for ev in limits):
                    reason, detail = STOICHIOMETRY_REASON, integ.ended_by
                    break
                if fired is not None and any(fired is ev for ev in cutoffs):
                    reason, detail = f"stop: {integ.ended_by}", integ.ended_by
                    break
                reason = self._ended(step, q, charge, integ.t, t_stop)
                if reason:
                    if fired is not None:
                        detail = integ.ended_by
                    break
                self._position = {"index": index, "in_step": True, "t0": t0, "charge": charge}
                if self.after_step is not None:
                    self.after_step()
            self._I_last = self.ec.current(integ.t) if step.kind != "hold" else q.get(
                "current_density", 0.0)
            self._V_last = q.get("cell_voltage", self._V_last)
            if "at_limit" in rec:
                detail = f"{detail} [the solve had not converged: {rec['at_limit']}]".strip()
            self.summaries.append(StepSummary(index, step.label, step.kind, cycle, t0, integ.t,
                                              reason, charge, q, detail, "at_limit" in rec))
            if reason == STOICHIOMETRY_REASON:
                self.ended_by = detail
                break
            if reason.startswith("stop:"):
                self.ended_by = reason
                break
            if reason in self.stop_on or "at_limit" in rec:
                self.ended_by = detail or reason
                break
            if step.until.stop and reason != "time":  # the step's limit ends the protocol
                self.ended_by = reason
                break
            self._position = {"index": index + 1, "in_step": False}
            if self.after_step is not None:
                self.after_step()
        return self.summaries

    def _impedance(self, index: int, cycle: int, step: Step) -> None:
        """An impedance step: the measurement about the present state, in current control
        at the current that flows (the last step's; a hold's measured current)."""
        if self.measure is None:
            raise ProtocolError(f"step {step.label}: this study kind takes no impedance steps")
        t = self.integ.t
        self.ec.set_current(self._I_last)
        self.problem.set_mode("default")
        q = self.problem.quantities()
        self.measure(index, step, t, q)
        self.summaries.append(StepSummary(index, step.label, step.kind, cycle, t, t,
                                          "measured", 0.0, q))
        self._position = {"index": index + 1, "in_step": False}
        if self.after_step is not None:
            self.after_step()

    @staticmethod
    def _ended(step: Step, q: dict, charge: float, t: float, t_stop: float) -> str:
        u = step.until
        v = q.get("cell_voltage")
        i = abs(q.get("current_density", 0.0))
        if u.voltage_above is not None and v is not None and v >= u.voltage_above:
            return "voltage_above"
        if u.voltage_below is not None and v is not None and v <= u.voltage_below:
            return "voltage_below"
        if u.current_above is not None and i >= u.current_above:
            return "current_above"
        if u.current_below is not None and i <= u.current_below:
            return "current_below"
        if u.quantity is not None:  # before charge: a short in a step's last time step
            name, how, value = u.quantity
            x = q.get(name)
            if x is not None and ((how == "above" and x >= value) or (how == "below"
                                                                     and x <= value)):
                return f"{name}_{how}"
        if u.charge is not None and charge >= u.charge * (1 - 1e-9):
            return "charge"
        if t >= t_stop * (1 - 1e-12):
            return "time"
        return ""
