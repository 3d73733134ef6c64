"""Experiment protocols written the way a battery lab writes them: constant current, linear
current ramp, rest, potential hold (each optionally at its own temperature), impedance
measurements between them, grouped and repeated with `Repeat`, each step ending at the
first of its until-conditions. Plain data,
no DOLFINx (the study schema checks protocols with it); femcell.protocol runs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

KINDS = ("current", "ramp", "rest", "hold", "impedance")


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
        stop: end the whole protocol when the step ends by one of these conditions other
            than its time (a lab's "limit: end of experiment").
    """

    time: float | None = None
    voltage_above: float | None = None
    voltage_below: float | None = None
    charge: float | None = None
    current_above: float | None = None
    current_below: float | None = None
    quantity: tuple | None = None
    stop: bool = False

    def any(self) -> bool:
        return any(getattr(self, k) is not None for k in self.__dataclass_fields__
                   if k != "stop")


@dataclass(frozen=True)
class Step:
    """One protocol step.

    Attributes:
        kind: "current" (constant current), "ramp" (I = start + rate t), "rest" (I = 0),
            "hold" (constant cell voltage) or "impedance" (a spectrum about the present
            state, the current of the previous step flowing; takes no time).
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
        if self.kind == "impedance":
            set_ = [k for k in ("current_density", "rate", "voltage", "dt", "temperature")
                    if getattr(self, k) not in (None, 0.0)]
            set_ += [f"until.{k}" for k in u.__dataclass_fields__
                     if getattr(u, k) not in (None, False)]
            if set_:
                raise ProtocolError(f"{self.label}: an impedance step takes no "
                                    f"{', '.join(set_)} (it measures the present state; "
                                    "frequencies in [impedance])")
            return
        if u.stop and not any(getattr(u, k) is not None for k in u.__dataclass_fields__
                              if k not in ("time", "stop")):
            raise ProtocolError(f"{self.label}: until.stop needs a limit other than time "
                                "(a step ended by its time does not stop the protocol)")
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

    def check_quantities(self, recorded) -> None:
        """Raise ProtocolError (one line) when an until.quantity names no recorded quantity.

        Args:
            recorded: the names of the quantities a run records (e.g. Problem.quantities()).
        """
        names = set(recorded) | {"t", "charge", "step_time"}
        for _, step in self.steps():
            q = step.until.quantity
            if q is not None and q[0] not in names:
                raise ProtocolError(f"step {step.label}: until.quantity {q[0]!r} is not a "
                                    f"recorded quantity (known: {', '.join(sorted(names))})")

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
                if k == "stop":
                    if not isinstance(v, bool):
                        raise ProtocolError(f"{where}.until.stop: true or false, got {v!r}")
                    until_kw[k] = v
                elif k == "quantity":
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
