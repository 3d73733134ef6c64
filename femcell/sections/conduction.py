"""[conduction]: Ohmic conduction in one sample with current contacts (four-probe and van der
Pauw samples, femcell/physics/conduction.py). Schema here (no DOLFINx); `build` makes the
OhmicConduction with the geometry's contacts "contact_1".."contact_4".

    [conduction]
    material = "llzo"              # a library conductor: sigma(T) at the study temperature
    # conductivity = "0.46 mS/cm"  # or a number / a gdim x gdim tensor in S/m instead
    # permittivity = 150           # relative (AC readings; default: the material's)
    region = "sample"
"""

from __future__ import annotations

from pydantic import Field, model_validator

from femcell.config.base import MaterialName, Q, _Model, _pos


class ConductionSection(_Model):
    """[conduction]: the sample's conductor and region."""

    material: MaterialName | None = None
    conductivity: Q("conductivity", _pos) | list[list[float]] | None = None
    permittivity: float | None = Field(default=None, ge=1.0, allow_inf_nan=False)
    region: str = "sample"

    @model_validator(mode="after")
    def _one(self):
        if (self.material is None) == (self.conductivity is None):
            raise ValueError("give material or conductivity (one of them)")
        return self


KEYS = {"conduction": (ConductionSection, ...)}

CONTACTS = ("contact_1", "contact_2", "contact_3", "contact_4")


def build(cfg, ctx) -> list:
    """OhmicConduction of the sample (ctx.info["conduction"], and its input conductivity
    as ctx.info["conductivity"])."""
    from femcell.config.base import ConfigError
    from femcell.materials.core import MaterialError
    from femcell.physics.conduction import OhmicConduction
    from femcell.sections.charge import ConductorSection, conductor_of

    sec, domain = cfg.conduction, ctx.domain
    if sec.region not in domain.cell_regions:
        raise ConfigError(f"conduction.region: unknown cell region {sec.region!r}; known: "
                          f"{', '.join(domain.cell_regions)}")
    missing = [c for c in CONTACTS if c not in domain.facet_regions]
    if missing:
        raise ConfigError(f"conduction: the geometry has no facet region {missing[0]!r} (a "
                          "four-probe sample names its contacts contact_1..contact_4: the "
                          "four_probe builder)")
    eps_r = sec.permittivity
    if sec.material is not None:
        mat = conductor_of("conduction.material", ConductorSection(name=sec.material))
        sigma = mat.conductivity(ctx.temperature)
        eps_r = mat.permittivity if eps_r is None else eps_r
    else:
        sigma = sec.conductivity
    try:
        phys = OhmicConduction(sigma, list(CONTACTS), region=sec.region, permittivity=eps_r)
    except MaterialError as exc:
        raise ConfigError(f"conduction.conductivity: {exc}") from None
    ctx.info["conduction"] = phys
    ctx.info["conductivity"] = sigma
    return [phys]
