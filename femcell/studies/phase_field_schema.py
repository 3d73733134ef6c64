"""Schema of the "phase_field" kind: [cahn_hilliard] from its initial state to time.end with
adaptive BDF steps, the free energy at the report times (no DOLFINx)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from femcell.config.base import Temperature, Time, _error
from femcell.config.sections import StudyBase
from femcell.studies.transient_schema import TimeSection, TransientOutputSection, TransientStudy


class PhaseFieldStudy(StudyBase):
    """[study] kind = "phase_field": [cahn_hilliard], temperature, [time] and the times
    whose free energy the headline reports."""

    PHYSICS: ClassVar[dict[str, bool]] = {"cahn_hilliard": True, "mechanics": False}

    output: TransientOutputSection = TransientOutputSection()
    temperature: Temperature = 298.15
    time: TimeSection
    report_times: list[Time] = Field(default=[], max_length=50)

    @model_validator(mode="after")
    def _report_within_run(self):
        for i, t in enumerate(self.report_times):
            if t > self.time.end:
                raise _error(("report_times", i), f"= {t:g} s is after time.end = "
                             f"{self.time.end:g} s")
        return self

    # resolution "fine": a quarter of the given steps and of the error tolerances
    refine_steps = TransientStudy.refine_steps
