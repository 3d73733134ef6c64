"""Schema of the "quasistatic" kind: [mechanics] (and [fracture]) loaded in steps of a load
factor 0 -> 1 ([loading]), each step solved to equilibrium (no DOLFINx)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from femcell.config.base import Temperature, _Model
from femcell.config.sections import StudyBase


class LoadingSection(_Model):
    """[loading]: load steps and the staggered solver of a fracture problem.

    scheme: "alternate" (plain alternate minimisation), "overrelax" (over-relaxed damage
    updates, clipped to the bounds), "anderson" (Anderson mixing of the damage sweeps) or
    "aitken" (dynamic Aitken relaxation, for sweeps that cycle near a crack's onset);
    each load step is converged when no unknown changes by more than `tolerance` (scaled:
    damage, and displacement / (1e-3 L)) between two sweeps, within `max_sweeps`, or the
    step is cut (at most `max_cuts` times in a row)."""

    steps: int = Field(default=20, ge=1, le=100_000)
    scheme: Literal["alternate", "overrelax", "anderson", "aitken"] = "anderson"
    tolerance: float = Field(default=1e-5, gt=0, lt=1)
    max_sweeps: int = Field(default=500, ge=1)
    relaxation: float = Field(default=1.5, gt=0, lt=2)
    anderson_depth: int = Field(default=5, ge=1, le=50)
    max_cuts: int = Field(default=6, ge=0, le=30)


class QuasistaticOutputSection(_Model):
    """[output] of a quasi-static study: fields every `field_every` load steps (and the
    last), plots."""

    fields: bool = True
    plots: bool = True
    field_every: int = Field(default=1, ge=1)


class QuasistaticStudy(StudyBase):
    """[study] kind = "quasistatic": [mechanics], optional [fracture], [loading]."""

    PHYSICS: ClassVar[dict[str, bool]] = {"mechanics": True, "fracture": False}

    output: QuasistaticOutputSection = QuasistaticOutputSection()
    temperature: Temperature = 298.15
    loading: LoadingSection = LoadingSection()

    def refine_steps(self):
        """Resolution "fine": twice the load steps."""
        ld = self.loading
        return self.model_copy(update={"loading": ld.model_copy(update={"steps": 2 * ld.steps})})
