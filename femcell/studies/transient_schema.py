"""Schema of the "transient" kind: a time-dependent solve of [diffusion] to time.end with
adaptive BDF steps (no DOLFINx)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from femcell.config.base import Temperature, Time, _error, _Model, _too_many_steps
from femcell.config.sections import StudyBase


class TimeSection(_Model):
    """[time]: end time, first/maximum step, scheme and error tolerances of the adaptive
    stepper; `outputs` field snapshots evenly spaced in time."""

    end: Time
    dt: Time | None = None
    dt_max: Time | None = None
    scheme: Literal["euler", "bdf2"] = "bdf2"
    adaptive: bool = True
    rtol: float = Field(default=1e-3, gt=0)
    atol: float = Field(default=1e-5, gt=0)
    outputs: int = Field(default=20, ge=1, le=10_000)

    @model_validator(mode="after")
    def _steps(self):
        if not self.adaptive and self.dt is not None:
            why = _too_many_steps(self.end / self.dt, f"= {self.dt:g} s up to end = "
                                  f"{self.end:g} s")
            if why:
                raise _error("dt", why)
        return self


class TransientOutputSection(_Model):
    """[output] of a transient study: fields at time.outputs evenly spaced times."""

    fields: bool = True
    plots: bool = True


class TransientStudy(StudyBase):
    """[study] kind = "transient": [diffusion] (optionally [mechanics] with swelling, or a
    [moving_front]), temperature and [time]."""

    PHYSICS: ClassVar[dict[str, bool]] = {"diffusion": True, "moving_front": False,
                                          "mechanics": False}

    output: TransientOutputSection = TransientOutputSection()

    temperature: Temperature = 298.15
    time: TimeSection

    def refine_steps(self):
        """Resolution "fine": a quarter of the given steps and of the error tolerances
        (BDF2's error ~ dt^2 follows the halved mesh size)."""
        t = self.time
        upd = {"rtol": t.rtol / 4, "atol": t.atol / 4}
        upd.update({k: getattr(t, k) / 4 for k in ("dt", "dt_max") if getattr(t, k)})
        return self.model_copy(update={"time": t.model_copy(update=upd)})
