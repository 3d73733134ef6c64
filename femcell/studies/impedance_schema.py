"""Schema of the "impedance" kind: the small-signal impedance Z(f) of a [charge] cell about
its open-circuit or DC-biased state, over log-spaced frequencies (no DOLFINx)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from femcell.config.base import Q, Temperature, _error, _Model, _pos
from femcell.config.sections import StudyBase

Frequency = Q("frequency", _pos)


class FrequencySection(_Model):
    """impedance.frequencies: log-spaced from `min` to `max` with `per_decade` points."""

    min: Frequency = 0.1
    max: Frequency = 1e9
    per_decade: int = Field(default=10, ge=1, le=100)

    @model_validator(mode="after")
    def _order(self):
        if not self.max > self.min:
            raise _error(("max",), f"= {self.max:g} Hz must be above min = {self.min:g} Hz")
        return self


class ImpedanceStepsSection(_Model):
    """[impedance] of a protocol's impedance steps: frequencies and capacitances.

    double_layer_capacitance: {electrode region: C_dl [F m^-2]} on its interface with the
    electrolyte. permittivity: {cell region or group: eps_r} over the library's. reuse: one
    LU factorisation preconditions neighbouring frequencies (False: a fresh LU per
    frequency)."""

    frequencies: FrequencySection = FrequencySection()
    double_layer_capacitance: dict[str, Q("area_capacitance", _pos)] = {}
    permittivity: dict[str, float] = {}
    reuse: bool = True

    @model_validator(mode="after")
    def _permittivity(self):
        for k, v in self.permittivity.items():
            if not v >= 1:
                raise _error(("permittivity", k), f"= {v!r} must be a relative permittivity "
                             ">= 1")
        return self


class ImpedanceSection(ImpedanceStepsSection):
    """[impedance] of the impedance kind: as for protocol steps (ImpedanceStepsSection),
    and the state and the analyses.

    bias_current_density: DC current density [A m^-2] of the state linearised about (0:
    open circuit). circuit: an equivalent circuit (pyimpspec's circuit description code, e.g.
    "R(RC)(RC)(RC)") fitted to the spectrum, or "auto": a resistor and one parallel (RC) per
    arc the spectrum shows, up to two more for hidden processes (the smallest that fits),
    or "none" (no fit: the default, and how --set switches off a study's fit).
    drt: the distribution of relaxation times (pyimpspec, Tikhonov-regularised NNLS) and
    its peaks."""

    bias_current_density: Q("current_density") = 0.0
    circuit: str | None = None
    drt: bool = True

    @field_validator("circuit")
    @classmethod
    def _no_circuit(cls, v):
        return None if v is not None and v.strip().lower() in ("none", "") else v


class ImpedanceStudy(StudyBase):
    """[study] kind = "impedance": temperature, [impedance], optionally [[intercalation]]
    particles (their diffusion: the Warburg response) and a voiding [anode] at rest (its
    interface vacancies; with coverage_potential their transfer has an arc)."""

    PHYSICS: ClassVar[dict[str, bool]] = {"charge": True, "intercalation": False,
                                          "anode": False}

    temperature: Temperature = 298.15
    impedance: ImpedanceSection = ImpedanceSection()

    def refine_steps(self):
        """Resolution "fine": twice the frequencies per decade."""
        imp = self.impedance
        f = imp.frequencies.model_copy(update={"per_decade": 2 * imp.frequencies.per_decade})
        return self.model_copy(update={"impedance": imp.model_copy(update={"frequencies": f})})
