"""Experiment protocols written the way a battery lab writes them.

A protocol is a list of steps - constant current, linear current ramp, rest, potential hold,
each optionally at its own temperature - grouped and repeated with `Repeat`. Each step ends
at the first of its until-conditions (time, voltage above/below, charge passed, current
above/below in a hold, or a quantity crossing a threshold). Time and charge limits are hit
exactly; voltage, current and quantity limits are located like a lab's cut-off: a time step
that overshoots one by more than its tolerance (VOLTAGE_TOL, UNTIL_RTOL) is rejected and
retried shorter, so the step ends on the threshold (femcell.solvers.timestepping.Event).
Every step of every protocol also stops at the stoichiometry limits (c = c_max or 0) of every
intercalation electrode; the protocol then ends with reason "stoichiometry limit". The
runner restarts the time step at every step change, ramps currents and held voltages over a
rise time, and records per-step quantities.

Sign convention: a positive current density drives oxidation at the electrode that holds the
current collector `current_cc` (stripping in a symmetric cell, delithiation/charge of a
cathode when current_cc is on the cathode side).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from femcell.solvers.timestepping import Event

KINDS = ("current", "ramp", "rest", "hold")
# located until-conditions end at most this far past their threshold: voltages by
# VOLTAGE_TOL * max(|V*|, 0.1 V) (0.42 mV at 4.2 V, 10 uV at 10 mV), currents and
# quantities by UNTIL_RTOL * |threshold| (absolute 1e-12 at a zero threshold)
VOLTAGE_TOL = 1e-4
UNTIL_RTOL = 1e-3
STOICHIOMETRY_REASON = "stoichiometry limit"


class ProtocolError(ValueError):
    """A protocol the user must fix (one line)."""


@dataclass(frozen=True)
class Until:
    """End conditions of a step (any that is set can end it; SI units).

    Attributes:
        time: step duration limit [s].
        voltage_above: end when the cell voltage rises above this [V].
        voltage_below: end when the cell voltage falls below this [V].
        charge: end when |charge passed| reaches this [C m^-2].
        current_above: (hold) end when |current density| rises above this [A m^-2].
        current_below: (hold) end when |current density| falls below this [A m^-2].
        quantity: (name, "above"|"below", value): any recorded quantity crossing a value
            (contact fraction, crack length, ... from later physics).
    """

    time: float | None = None
    voltage_above: float | None = None
    voltage_below: float | None = None
    charge: float | None = None
    current_above: float | None = None
    current_below: float | None = None
    quantity: tuple | None = None

    def any(self) -> bool:
        return any(getattr(self, k) is not None for k in self.__dataclass_fields__)


@dataclass(frozen=True)
class Step:
    """One protocol step.

    Attributes:
        kind: "current" (constant current), "ramp" (I = start + rate t), "rest" (I = 0) or
            "hold" (constant cell voltage).
        current_density: constant current [A m^-2] (kind "current"), start of a ramp.
        rate: ramp rate [A m^-2 s^-1].
        voltage: held cell voltage [V] (kind "hold").
        temperature: temperature during the step [K] (None: unchanged).
        until: end conditions; a step needs at least one.
        dt: first time step of the step [s] (None: the runner's default).
        label: name used in tables and plots.
    """

    kind: str
    current_density: float = 0.0
    rate: float = 0.0
    voltage: float | None = None
    temperature: float | None = None
    until: Until = field(default_factory=Until)
    dt: float | None = None
    label: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ProtocolError(f"step kind {self.kind!r}: use one of {', '.join(KINDS)}")
        u = self.until
        can_end = {
            "current": ("time", "voltage_above", "voltage_below", "charge", "quantity"),
            "ramp": ("time", "voltage_above", "voltage_below", "charge", "quantity"),
            "rest": ("time", "voltage_above", "voltage_below", "quantity"),
            "hold": ("time", "current_above", "current_below", "charge", "quantity"),
        }[self.kind] if self.kind in KINDS else ()
        if not any(getattr(u, k) is not None for k in can_end):
            raise ProtocolError(f"step {self.label or self.kind}: needs an until-condition that "
                                f"can end a '{self.kind}' step ({', '.join(can_end)})")
        if u.quantity is not None and (len(u.quantity) != 3 or u.quantity[1] not in (
                "above", "below")):
            raise ProtocolError(f"step {self.label}: until.quantity must be "
                                "[name, 'above'|'below', value]")
        if self.kind == "hold" and self.voltage is None:
            raise ProtocolError(f"hold step {self.label}: needs 'voltage'")
        if self.kind == "ramp" and self.rate == 0.0:
            raise ProtocolError(f"ramp step {self.label}: needs a nonzero 'rate'")
        if self.temperature is not None and not self.temperature > 0:
            raise ProtocolError(f"step {self.label}: temperature must be > 0 K")

    def current(self, t_in_step: float) -> float:
        """Applied current density [A m^-2] at time t_in_step [s] into the step."""
        if self.kind == "current":
            return self.current_density
        if self.kind == "ramp":
            return self.current_density + self.rate * t_in_step
        return 0.0

    def time_limit(self) -> float:
        """Latest end time of the step [s] from its time and (for constant current) charge
        limits; inf when only other conditions can end it."""
        limits = [math.inf]
        if self.until.time is not None:
            limits.append(self.until.time)
        if self.until.charge is not None:
            if self.kind == "current" and self.current_density != 0:
                limits.append(self.until.charge / abs(self.current_density))
            elif self.kind == "ramp":  # |I0 t + r t^2 / 2| = Q, first positive root
                a, b, c = 0.5 * abs(self.rate), abs(self.current_density), -self.until.charge
                if self.current_density * self.rate >= 0:
                    limits.append((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a))
        return min(limits)


@dataclass(frozen=True)
class Repeat:
    """Steps repeated `count` times (a cycling block)."""

    count: int
    steps: tuple

    def __post_init__(self):
        if self.count < 1:
            raise ProtocolError(f"repeat count must be >= 1, got {self.count}")


@dataclass
class Protocol:
    """An ordered list of steps and repeat blocks."""

    items: list

    def steps(self) -> Iterator[tuple[int, Step]]:
        """Expanded steps with their cycle index."""
        def walk(items, cycle):
            for it in items:
                if isinstance(it, Repeat):
                    for c in range(it.count):
                        yield from walk(it.steps, c)
                else:
                    yield cycle, it

        yield from walk(self.items, 0)

    @classmethod
    def from_dicts(cls, items: list[dict], convert: Callable | None = None) -> Protocol:
        """Build from parsed TOML tables; `convert(kind, key, value)` turns unit strings
        into SI (the config layer passes femcell.units.to_si)."""
        conv = convert or (lambda dim, key, v: float(v))

        def make(d: dict, where: str):
            d = dict(d)
            if "repeat" in d:
                count = d.pop("repeat")
                inner = d.pop("steps", None)
                if d:
                    raise ProtocolError(f"{where}: unknown key(s) {', '.join(d)}")
                if not isinstance(inner, list) or not inner:
                    raise ProtocolError(f"{where}: a repeat block needs a list 'steps'")
                return Repeat(int(count), tuple(make_checked(x, f"{where}.steps.{i}")
                                                 for i, x in enumerate(inner)))
            kind = d.pop("kind", None)
            if kind is None:
                raise ProtocolError(f"{where}: missing key 'kind' ({', '.join(KINDS)})")
            until = d.pop("until", {})
            if not isinstance(until, dict):
                raise ProtocolError(f"{where}.until: expected a table, got {until!r}")
            u = dict(until)
            dims = {"time": "time", "voltage_above": "potential",
                    "voltage_below": "potential", "charge": "charge_density",
                    "current_above": "current_density", "current_below": "current_density"}
            until_kw = {}
            for k, v in u.items():
                if k == "quantity":
                    until_kw[k] = (str(v[0]), str(v[1]), float(v[2]))
                elif k in dims:
                    until_kw[k] = conv(dims[k], f"{where}.until.{k}", v)
                else:
                    raise ProtocolError(f"{where}.until: unknown key '{k}'")
            kw = {"kind": kind, "until": Until(**until_kw), "label": d.pop("label", where)}
            fields = {"current_density": "current_density", "rate": "current_rate",
                      "voltage": "potential", "temperature": "temperature", "dt": "time"}
            for k, dim in fields.items():
                if k in d:
                    kw[k] = conv(dim, f"{where}.{k}", d.pop(k))
            if d:
                raise ProtocolError(f"{where}: unknown key(s) {', '.join(d)}")
            return Step(**kw)

        def make_checked(d, where):
            if not isinstance(d, dict):
                raise ProtocolError(f"{where}: expected a table, got {d!r}")
            try:
                return make(d, where)
            except ProtocolError:
                raise
            except (TypeError, ValueError, IndexError) as exc:
                raise ProtocolError(f"{where}: {exc}") from None

        return cls([make_checked(x, f"protocol.{i}") for i, x in enumerate(items)])


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
            anywhere, located to within `stoichiometry_tol` (in c / c_max).
        stoichiometry_tol: see above.
    """

    def __init__(self, problem, electrochem, integrator, *, dt: float, rise_time: float = 0.0,
                 record: Callable[[dict], None] | None = None,
                 stoichiometry_limits: bool = True, stoichiometry_tol: float | None = None):
        self.problem, self.ec, self.integ = problem, electrochem, integrator
        self.dt, self.rise = dt, rise_time
        self.record = record
        self.stoichiometry_limits = stoichiometry_limits
        self.stoichiometry_tol = stoichiometry_tol
        self.ended_by = ""  # why the protocol ended: "completed" or the limit's description
        self.summaries: list[StepSummary] = []
        self._I_last = 0.0
        self._V_last = 0.0

    def _ramp(self, v_from: float, v_to: float, t0: float):
        """A value moving linearly from v_from to v_to over the rise time after t0."""
        rise = self.rise
        if rise <= 0:
            return v_to
        return lambda t: v_from + (v_to - v_from) * min(1.0, max(0.0, (t - t0) / rise))

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

    @staticmethod
    def until_events(step: Step) -> list[Event]:
        """The voltage, current and quantity conditions of a step as located events."""
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

            out.append(Event(f"{name}_{how}", dist, max(UNTIL_RTOL * abs(value), 1e-12)))
        return out

    def run(self, protocol: Protocol) -> list[StepSummary]:
        """Run every step; stops early at a stoichiometry limit (or a 'stop:' reason)."""
        try:
            return self._run(protocol)
        finally:
            self.integ.set_events([])

    def _run(self, protocol: Protocol) -> list[StepSummary]:
        integ = self.integ
        limits = self._limit_events()
        self.ended_by = "completed"
        for index, (cycle, step) in enumerate(protocol.steps()):
            t0 = integ.t
            if step.temperature is not None:  # every physics follows the step temperature
                for p in self.problem.physics:
                    if hasattr(p, "set_temperature"):
                        p.set_temperature(step.temperature)
            if step.kind == "hold":
                self.ec.set_hold_voltage(self._ramp(self._V_last, step.voltage, t0))
                self.ec.set_current(0.0)
                self.problem.set_mode("potentiostatic")
            else:
                self.ec.set_current(self._current_fn(step, t0, self._I_last))
                self.problem.set_mode("default")
            integ.dt = integ.ctl.dt_initial = step.dt or self.dt
            integ.set_events(limits + self.until_events(step))
            t_stop = t0 + self._time_limit(step)
            charge = 0.0
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
                reason = self._ended(step, q, charge, integ.t, t_stop)
                if reason:
                    if fired is not None:
                        detail = integ.ended_by
                    break
            self._I_last = self.ec.current(integ.t) if step.kind != "hold" else q.get(
                "current_density", 0.0)
            self._V_last = q.get("cell_voltage", self._V_last)
            self.summaries.append(StepSummary(index, step.label, step.kind, cycle, t0, integ.t,
                                              reason, charge, q, detail))
            if reason == STOICHIOMETRY_REASON:
                self.ended_by = detail
                break
            if reason.startswith("stop:"):
                self.ended_by = reason
                break
        return self.summaries

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
        if u.charge is not None and charge >= u.charge * (1 - 1e-9):
            return "charge"
        if u.quantity is not None:
            name, how, value = u.quantity
            x = q.get(name)
            if x is not None and ((how == "above" and x >= value) or (how == "below"
                                                                     and x <= value)):
                return f"{name}_{how}"
        if t >= t_stop * (1 - 1e-12):
            return "time"
        return ""


# ---------------------------------------------------------------------------- CCD detection
# The state before a ramp: full contact at zero current (the first sample of every series).
INITIAL_STATE = {"t": 0.0, "applied_current_density": 0.0, "current_density": 0.0,
                 "contact_fraction": 1.0}


def first_fall_below(x, y, threshold: float, initial: tuple[float, float] | None = None
                     ) -> float | None:
    """x where the series y first falls below threshold (linear interpolation between the
    two bracketing samples); None when it never does.

    Args:
        x, y: the samples (chronological).
        threshold: the level.
        initial: (x0, y0), a sample before the first (e.g. (0, 1): full contact at t = 0),
            so that a series already below the threshold at its first sample still brackets
            the crossing (otherwise that fall is not seen).
    """
    if initial is not None:
        x, y = [initial[0], *x], [initial[1], *y]
    for k in range(1, len(y)):
        if y[k] < threshold <= y[k - 1]:
            w = (y[k - 1] - threshold) / (y[k - 1] - y[k])
            return x[k - 1] + w * (x[k] - x[k - 1])
    return None


def _with_initial(rows: list[dict], initial: dict | None) -> list[dict]:
    """The rows with the state before the ramp first (unless the rows start at t = 0)."""
    if initial is None or (rows and rows[0].get("t") == 0.0):
        return list(rows)
    return [dict(initial), *rows]


def ccd_detection(rows: list[dict], *, criterion: str = "contact", threshold: float = 0.99,
                  interface: str = "anode|electrolyte", departure: float = 0.10,
                  fit_fraction: float = 0.3, initial: dict | None = INITIAL_STATE) -> dict:
    """Critical current density of a current ramp from its recorded rows, with how well the
    ramp resolved it.

    The state before the ramp (`initial`: full contact at zero current, t = 0) is the first
    sample, so a ramp that has already lost contact after its first time step gets j_crit
    interpolated between t = 0 and that step (and `failed_at_first_step`), never None.

    Criteria (stated, and tested):
      "contact": the applied current at which the interface contact fraction first falls
          below `threshold` (linear interpolation between the two bracketing samples);
      "overpotential": the current at which the anode overpotential exceeds its linear
          (ohmic + charge-transfer) trend by more than `departure` (relative); the trend
          is fitted to the first `fit_fraction` of the ramp (the initial state, eta = 0 at
          zero current, included).

    Returns:
        {"j_crit": [A m^-2] or None when the ramp did not fail, "t_crit": time of the
        crossing [s] or None, "index": row index (in `rows`) of the first sample past the
        criterion or None, "failed_at_first_step": True when that is the ramp's first
        recorded step (j_crit is then resolved only to within that step: refine dt)}.
        With initial=None and a first sample already past the criterion, j_crit is that
        sample's current (an upper bound), flagged as failed at the first step.
    """
    seq = _with_initial(rows, initial)
    shift = len(seq) - len(rows)  # 1 when the initial state was prepended
    j = [r.get("applied_current_density", r.get("current_density")) for r in seq]
    t = [r.get("t") for r in seq]
    out = {"j_crit": None, "t_crit": None, "index": None, "failed_at_first_step": False}
    k_hit, w = None, None
    if criterion == "contact":
        x = [r.get("contact_fraction") for r in seq]
        if any(v is None for v in x):
            raise ProtocolError("CCD criterion 'contact' needs the contact_fraction quantity")
        if x and x[0] < threshold:  # below before the ramp: failed at once
            k_hit, w = 0, 0.0
        for k in range(1, len(x)):
            if k_hit is None and x[k] < threshold <= x[k - 1]:
                k_hit, w = k, (x[k - 1] - threshold) / (x[k - 1] - x[k])
    elif criterion == "overpotential":
        import numpy as np

        eta = np.array([r.get(f"eta_mean[{interface}]", 0.0) if i < shift else
                        r[f"eta_mean[{interface}]"] for i, r in enumerate(seq)])
        jj = np.array(j, dtype=float)
        n_fit = max(3, int(fit_fraction * len(seq)))
        slope = np.polyfit(jj[:n_fit], eta[:n_fit], 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            excess = eta / np.polyval(slope, jj) - 1.0
        for k in range(max(n_fit, 1), len(seq)):
            if excess[k] > departure >= excess[k - 1]:
                k_hit = k
                w = (departure - excess[k - 1]) / (excess[k] - excess[k - 1])
                break
    else:
        raise ProtocolError(f"unknown CCD criterion {criterion!r} (contact, overpotential)")
    if k_hit is None:
        return out
    if k_hit == 0:
        out.update(j_crit=float(j[0]), t_crit=t[0], index=0, failed_at_first_step=True)
        return out
    out["j_crit"] = float(j[k_hit - 1] + w * (j[k_hit] - j[k_hit - 1]))
    if t[k_hit] is not None and t[k_hit - 1] is not None:
        out["t_crit"] = float(t[k_hit - 1] + w * (t[k_hit] - t[k_hit - 1]))
    out["index"] = k_hit - shift
    out["failed_at_first_step"] = k_hit == 1  # bracketed by the initial state and step 1
    return out


def detect_ccd(rows: list[dict], *, criterion: str = "contact", threshold: float = 0.99,
               interface: str = "anode|electrolyte", departure: float = 0.10,
               fit_fraction: float = 0.3, initial: dict | None = INITIAL_STATE
               ) -> float | None:
    """Critical current density [A m^-2] of a current ramp from its recorded rows: the
    "j_crit" of `ccd_detection` (same arguments; the state before the ramp is the first
    sample). None only when the ramp ended without failing."""
    return ccd_detection(rows, criterion=criterion, threshold=threshold, interface=interface,
                         departure=departure, fit_fraction=fit_fraction,
                         initial=initial)["j_crit"]


def arrhenius_fit(temperatures, values) -> dict:
    """Fit ln(value) = ln(A) - Ea / (k_B T): Ea [eV] with its standard error."""
    import numpy as np

    from femcell.units import EV, K_B

    T = np.asarray(temperatures, dtype=float)
    y = np.log(np.asarray(values, dtype=float))
    x = 1.0 / T
    if len(T) < 2:
        raise ValueError("an Arrhenius fit needs at least two temperatures")
    if len(T) > 2:
        coef, cov = np.polyfit(x, y, 1, cov=True)
        se = float(np.sqrt(cov[0, 0])) * K_B / EV
    else:
        coef, se = np.polyfit(x, y, 1), float("nan")
    return {"activation_energy_eV": float(-coef[0] * K_B / EV),
            "activation_energy_se_eV": se, "prefactor": float(np.exp(coef[1]))}


def first_failing_step(summaries: list[StepSummary], *, threshold: float = 0.99,
                       quantity: str = "contact_fraction") -> float | None:
    """CCD of a stepped protocol (constant-current steps of fixed charge, as labs run CCD
    tests): the current density [A m^-2] of the first step that ends with `quantity` below
    `threshold` or that was ended by a failure condition; None if every step passed."""
    for s in summaries:
        if s.kind != "current":
            continue
        failed = s.reason.startswith(quantity) or s.reason.startswith("voltage") or (
            s.end_quantities.get(quantity, 1.0) < threshold)
        if failed:
            return s.end_quantities.get("applied_current_density",
                                        s.end_quantities.get("current_density"))
    return None
