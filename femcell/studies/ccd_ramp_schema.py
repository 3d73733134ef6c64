"""Schema of the "ccd_ramp" kind: stripping current ramps of [charge] + [anode] at several
temperatures, for several cases (named sets of overrides), with j_crit and its Arrhenius
fit per case (no DOLFINx)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from femcell.config.base import Q, Temperature, Time, _error, _Model, _pos, _too_many_steps
from femcell.config.sections import StudyBase


class RampSection(_Model):
    """[ramp]: the current ramp, its step, the temperatures and the failure criterion; an
    optional fixed-current hold measures the time to contact loss."""

    rate: Q("current_rate", _pos)
    dt: Time
    temperatures: list[Temperature] = Field(min_length=1)
    criterion: Literal["contact", "overpotential"] = "contact"
    threshold: float = Field(default=0.99, gt=0, lt=1)
    stop_contact: float = Field(default=0.9, gt=0, lt=1)
    max_time: Time = 1e5
    # the anode geometry is fixed: a ramp that strips more of the anode's thickness than
    # this before j_crit is flagged and left out of the Arrhenius fit
    max_stripped_fraction: float = Field(default=0.2, gt=0, le=1)
    hold_current: Q("current_density", _pos) | None = None  # also: time to contact loss
    hold_dt: Time | None = None  # step of that hold (default: dt)
    hold_max_time: Time | None = None  # how long the hold may last (default: max_time)

    @model_validator(mode="after")
    def _steps(self):
        why = _too_many_steps(self.max_time / self.dt, f"= {self.dt:g} s up to max_time = "
                              f"{self.max_time:g} s")
        if why:
            raise _error("dt", why)
        if self.hold_current is not None:
            hold_dt, hold_max = self.hold_dt or self.dt, self.hold_max_time or self.max_time
            why = _too_many_steps(hold_max / hold_dt, f"= {hold_dt:g} s up to hold_max_time = "
                                  f"{hold_max:g} s")
            if why:
                raise _error("hold_dt", why)
        return self


class CaseSection(_Model):
    """[[cases]]: a named set of overrides ("anode.interface.transfer_rate" = ...), a ramp
    rate factor and the published activation energy to compare with."""

    name: str
    description: str = ""
    set: dict[str, Any] = {}
    rate_factor: float = Field(default=1.0, gt=0)
    published_ea_eV: float | list[float] | None = None  # a value or a [low, high] range
    published_source: str = ""

    @model_validator(mode="after")
    def _range(self):
        p = self.published_ea_eV
        if isinstance(p, list) and not (len(p) == 2 and p[0] <= p[1]):
            raise ValueError(f"published_ea_eV: a value or a [low, high] range, got {p}")
        return self


class CCDRampStudy(StudyBase):
    """[study] kind = "ccd_ramp": [ramp] and [[cases]] over [charge] + [anode] (+ an optional
    [mechanics] whose solved stress drives the creep closure)."""

    PHYSICS: ClassVar[dict[str, bool]] = {"charge": True, "anode": True, "mechanics": False}

    ramp: RampSection
    cases: list[CaseSection] = Field(min_length=1)

    def refine_steps(self):
        """Resolution "fine": a quarter of the ramp's (and the hold's) step."""
        r = self.ramp
        return self.model_copy(update={"ramp": r.model_copy(
            update={"dt": r.dt / 4, "hold_dt": r.hold_dt and r.hold_dt / 4})})
