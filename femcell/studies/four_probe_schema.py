"""Schema of the "four_probe" kind: DC (and AC) resistances of a four-probe or van der Pauw
sample ([conduction]) and the conductivity (and permittivity) the textbook formulas infer
from them (no DOLFINx)."""

from __future__ import annotations

from typing import ClassVar, Literal

from femcell.config.base import Temperature, _Model
from femcell.config.sections import StudyBase
from femcell.studies.impedance_schema import FrequencySection


class FourProbeSection(_Model):
    """[four_probe]: the measurement. method "auto" follows the geometry (the four_probe
    builder's kind: "van_der_pauw" or "bar" -> "collinear"). frequencies: an AC reading
    too (log-spaced, as impedance.frequencies; needs the sample's permittivity)."""

    method: Literal["auto", "van_der_pauw", "collinear"] = "auto"
    frequencies: FrequencySection | None = None


class FourProbeStudy(StudyBase):
    """[study] kind = "four_probe": temperature, [conduction], [four_probe]."""

    PHYSICS: ClassVar[dict[str, bool]] = {"conduction": True}

    temperature: Temperature = 298.15
    four_probe: FourProbeSection = FourProbeSection()

    def refine_steps(self):
        """Resolution "fine": the mesh only (no steps)."""
        return self
