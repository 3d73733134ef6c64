"""[[intercalation]]: diffusion in active particles (a cell region) whose surface filling
sets the open-circuit potential and the exchange current of their electrode reaction.
Schema here (no DOLFINx); `build` makes one Diffusion physics per entry and registers it as a
coupling of the region's electrode reaction.

    [[intercalation]]
    region = "active"              # the particles' cell region (an electrode of [[kinetics]])
    material = "nmc811"            # an intercalation material with an open-circuit potential
    initial_stoichiometry = 0.9
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from femcell.config.base import MaterialName, _Model


class IntercalationSection(_Model):
    """[[intercalation]]: one region of active particles."""

    region: str
    material: MaterialName
    initial_stoichiometry: float = Field(ge=0.0, le=1.0)
    degree: Literal[1, 2] = 1


KEYS = {"intercalation": (list[IntercalationSection], [])}


def build(cfg, ctx) -> list:
    """One Diffusion per entry, registered in ctx.couplings for its electrode region (and
    listed in ctx.info["particles"])."""
    from femcell.config.base import ConfigError
    from femcell.materials import core as mcore
    from femcell.materials import get_material
    from femcell.materials.core import MaterialError
    from femcell.physics.diffusion import Diffusion

    regions = set(ctx.domain.cell_regions)
    out = []
    seen = set()
    for i, ic in enumerate(cfg.intercalation or []):
        if ic.region in seen:
            raise ConfigError(f"intercalation.{i}.region: {ic.region!r} has an earlier entry; "
                              "one entry per region")
        seen.add(ic.region)
        if ic.region not in regions:
            raise ConfigError(f"intercalation.{i}.region: unknown cell region {ic.region!r}; "
                              f"known: {', '.join(sorted(regions))}")
        try:
            mat = get_material(ic.material)
        except MaterialError as exc:
            raise ConfigError(f"intercalation.{i}.material: {exc}") from None
        if not isinstance(mat, mcore.IntercalationMaterial) or mat.ocv is None:
            raise ConfigError(f"intercalation.{i}.material: {ic.material!r} is not an "
                              "intercalation material with an open-circuit potential")
        d = Diffusion(mat, [], initial=ic.initial_stoichiometry * mat.c_max,
                      temperature=ctx.temperature, degree=ic.degree, region=ic.region,
                      name=f"c_{ic.region}")
        ctx.couple(ic.region, d)
        out.append(d)
    ctx.info["particles"] = out
    return out
