"""Schema of the "plating_ccd" kind: galvanostatic plating in steps of increasing current
(fixed charge per step, as in the experiments) into a metal-filled flaw of the electrolyte,
[charge] + [mechanics] + [fracture] + [filament] (no DOLFINx)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from femcell.config.base import Q, Temperature, _error, _Model, _pos
from femcell.config.sections import StudyBase

_CURRENT = Q("current_density", _pos)


class PlatingSection(_Model):
    """[plating]: the current steps and the staggered solver.

    currents: the plating current densities of the steps, in order; or start / factor /
    steps (a geometric series start, start factor, ...). Each step passes `charge` (per
    area) in `substeps` time steps, unless the cell shorts (the metal reaches the counter
    electrode, [filament] counter_electrode). The plating CCD is the current of the first
    step that shorts. `growth` (default the fracture length l) is how much deeper the
    broken electrolyte must reach within a step (the filament depth from the plated
    interface), or how far its crack front must advance on average, for "the flaw grew"
    (the onset current). Each time step is solved by
    alternate minimisation (charge and filament, elasticity at the deposited metal volume,
    damage) to `tolerance`, within `max_sweeps`, or the step is cut (at most `max_cuts`
    times). `run_sweeps`: extra sweeps past `max_sweeps` for a step whose damage keeps
    growing (a crack running through its last ligament, which no smaller step avoids); when
    the damage reaches the counter electrode during them, the cell has shorted in that step
    and the run ends there (the state is the crack mid-run, not an equilibrium:
    `shorted_mid_run` in `plating_steps`). 0: a running step is cut like any other.
    `scheme` accelerates the damage sweeps: "aitken" (default; dynamic relaxation, which
    converges the sweeps that cycle near a flaw's onset: a crack grown at the pressure of
    the unbroken flaw drops the pressure at the deposited volume, then heals), "anderson",
    "overrelax" or "alternate" (none). `stall_sweeps`: a step whose sweeps make no
    progress for that many sweeps is cut at once, not after `max_sweeps`; 0: never."""

    currents: list[_CURRENT] | None = None
    start: _CURRENT | None = None
    factor: float = Field(default=2.0, gt=1.0, le=100.0)
    steps: int = Field(default=6, ge=1, le=200)
    charge: Q("charge_density", _pos)
    substeps: int = Field(default=4, ge=1, le=10_000)
    growth: Q("length", _pos) | None = None
    scheme: Literal["alternate", "overrelax", "anderson", "aitken"] = "aitken"
    tolerance: float = Field(default=1e-5, gt=0, lt=1)
    max_sweeps: int = Field(default=300, ge=1)
    max_cuts: int = Field(default=6, ge=0, le=30)
    run_sweeps: int = Field(default=1000, ge=0)
    stall_sweeps: int = Field(default=60, ge=0)

    @model_validator(mode="after")
    def _steps(self):
        if (self.currents is None) == (self.start is None):
            raise _error("currents", "give currents = [...] or start (with factor, steps), "
                         "not both and not neither")
        if self.currents is not None and not self.currents:
            raise _error("currents", "must list at least one current")
        cur = self.currents or []
        if any(b <= a for a, b in zip(cur, cur[1:], strict=False)):
            raise _error("currents", "must increase step by step")
        return self

    def current_list(self) -> list[float]:
        """The step currents [A m^-2]."""
        if self.currents is not None:
            return list(self.currents)
        return [self.start * self.factor ** k for k in range(self.steps)]


class PlatingOutputSection(_Model):
    """[output] of a plating study: fields every `field_every` time steps, plots."""

    fields: bool = True
    plots: bool = True
    field_every: int = Field(default=1, ge=1)


class PlatingStudy(StudyBase):
    """[study] kind = "plating_ccd": [charge], [[kinetics]], [mechanics], [fracture],
    [filament] and [plating]."""

    PHYSICS: ClassVar[dict[str, bool]] = {"charge": True, "mechanics": True,
                                          "fracture": True, "filament": True}

    temperature: Temperature = 298.15
    output: PlatingOutputSection = PlatingOutputSection()
    plating: PlatingSection

    def refine_steps(self):
        """Resolution "fine": twice the time steps per current step."""
        p = self.plating
        return self.model_copy(update={"plating": p.model_copy(
            update={"substeps": 2 * p.substeps})})
