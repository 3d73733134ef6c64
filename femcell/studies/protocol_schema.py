"""Schema of the "protocol" kind: an experiment (current, ramp, rest and hold steps with
until-conditions) applied to [charge] with [[kinetics]], optionally [[intercalation]]
particles, a phase-separating [cahn_hilliard] particle and a voiding [anode] (no DOLFINx)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from femcell.config.base import Q, Temperature, Time, _error, _Model, _nonneg
from femcell.config.protocol import check_protocol
from femcell.config.sections import StudyBase
from femcell.studies.impedance_schema import ImpedanceStepsSection
from femcell.units import to_si


class ProtocolTimeSection(_Model):
    """[time]: the default step of every protocol step (a step may set its own dt), the
    rise time of current changes, how often a failed step may be cut and (`regrow`) by what
    factor per accepted step a cut step grows back (default: straight back to dt)."""

    dt: Time
    rise_time: Q("time", _nonneg) = 0.0
    max_cuts: int = Field(default=10, ge=0, le=50)
    regrow: float | None = Field(default=None, gt=1.0, le=100.0)


class ProtocolStudy(StudyBase):
    """[study] kind = "protocol": temperature, [time], [[protocol]] steps and ([impedance])
    the frequencies and capacitances of its impedance steps."""

    PHYSICS: ClassVar[dict[str, bool]] = {"charge": True, "intercalation": False,
                                          "cahn_hilliard": False, "anode": False,
                                          "mechanics": False}

    temperature: Temperature = 298.15
    time: ProtocolTimeSection
    protocol: list[dict] = Field(min_length=1)
    impedance: ImpedanceStepsSection | None = None

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, items):
        check_protocol(items)
        return items

    @model_validator(mode="after")
    def _particle_is_an_electrode(self):
        ch = getattr(self, "cahn_hilliard", None)
        if ch is not None and (ch.region is None or ch.standard_potential is None):
            raise _error(("cahn_hilliard", "standard_potential"),
                         "a protocol's [cahn_hilliard] is an active particle: give its region "
                         "(the electrode of a [[kinetics]] entry) and standard_potential")
        return self

    @model_validator(mode="after")
    def _protocol_steps(self):
        check_protocol(self.protocol, self.time.dt)
        return self

    def refine_steps(self):
        """Resolution "fine": a quarter of the default step and of every step's own dt."""

        def quarter(items):
            out = []
            for it in items:
                it = dict(it)
                if isinstance(it.get("steps"), list):
                    it["steps"] = quarter(it["steps"])
                if "dt" in it:
                    it["dt"] = to_si(it["dt"], "time", name="dt") / 4
                out.append(it)
            return out

        return self.model_copy(update={
            "time": self.time.model_copy(update={"dt": self.time.dt / 4}),
            "protocol": quarter(self.protocol)})
