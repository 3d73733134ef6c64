"""[conduction]: Ohmic conduction in one sample with current contacts (four-probe and van der
Pauw samples, femcell/physics/conduction.py). Schema here (no DOLFINx); `build` makes the
OhmicConduction with the geometry's contacts "contact_1".."contact_4".

    [conduction]
    material = "llzo"              # a library conductor: sigma(T) at the study temperature
    # conductivity = "0.46 mS/cm"  # or a number / a gdim x gdim tensor in S/m instead
    # permittivity = 150           # relative (AC readings; default: the material's)
    region = "sample"
    [conduction.grain_boundaries]  # a polycrystalline sample (four_probe grain_size): the
    material = "llzo_gb"           # potential jumps across "grain_boundary" facets,
    thickness = "2 nm"             # g_gb = sigma_gb(T) / thickness (or conductance = ...)
"""

from __future__ import annotations

from pydantic import Field, model_validator

from femcell.config.base import MaterialName, Q, _Model, _pos
from femcell.sections.charge import GrainBoundarySection


class ConductionSection(_Model):
    """[conduction]: the sample's conductor and region."""

    material: MaterialName | None = None
    conductivity: Q("conductivity", _pos) | list[list[float]] | None = None
    permittivity: float | None = Field(default=None, ge=1.0, allow_inf_nan=False)
    region: str = "sample"
    grain_boundaries: GrainBoundarySection | None = None

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
    from femcell.sections.charge import ConductorSection, conductor_of, resistive_boundaries

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
    carrier = None
    if sec.material is not None:
        mat = conductor_of("conduction.material", ConductorSection(name=sec.material))
        sigma = mat.conductivity(ctx.temperature)
        eps_r = mat.permittivity if eps_r is None else eps_r
        carrier = mat.carrier
    else:
        sigma = sec.conductivity
    gb = None
    if sec.grain_boundaries is not None:
        key = "conduction.grain_boundaries"
        if sec.grain_boundaries.region not in (None, sec.region):
            raise ConfigError(f"{key}.region: {sec.grain_boundaries.region!r} is not the "
                              f"sample region {sec.region!r}")
        if isinstance(sigma, list):
            raise ConfigError(f"{key}: grain boundaries need a scalar conduction.conductivity "
                              "(a tensor was given)")
        gb = resistive_boundaries(key, sec.grain_boundaries, sec.region, carrier, domain)
    try:
        phys = OhmicConduction(sigma, list(CONTACTS), region=sec.region, permittivity=eps_r,
                               grain_boundaries=gb, temperature=ctx.temperature)
    except MaterialError as exc:
        raise ConfigError(f"conduction.conductivity: {exc}") from None
    ctx.info["conduction"] = phys
    ctx.info["conductivity"] = sigma
    return [phys]
