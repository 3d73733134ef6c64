"""[moving_front]: a boundary of [diffusion] that moves with the one-phase Stefan velocity
(femcell/physics/moving_front.py): v_n = J . n / jump, the mesh following by ALE. Schema here
(no DOLFINx); `build` makes the MovingFront of the study's Diffusion.

    [moving_front]
    front = "right"                # a dirichlet boundary of [diffusion] (the phase boundary)
    jump = "19700 mol/m^3"         # absorbed per swept volume: > 0 the domain grows into
                                   # the other phase (melting), < 0 it shrinks
    fixed = ["left"]               # facet regions that do not move
    slide = "auto"                 # walls whose nodes move only along them (or a list)
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import field_validator

from femcell.config.base import Q, _Model


class MovingFrontSection(_Model):
    """[moving_front]: which boundary moves, what it absorbs, how the mesh follows."""

    front: str
    jump: Q("concentration")
    fixed: list[str] = []
    slide: list[str] | Literal["auto"] = "auto"
    rigid: bool = False  # one normal speed for the whole front (a plate)
    rest: Literal["free", "fixed"] = "free"  # the other boundaries: move or held

    @field_validator("jump")
    @classmethod
    def _nonzero(cls, v):
        if not (math.isfinite(v) and v != 0):
            raise ValueError("must be a nonzero concentration (> 0: the domain grows, < 0: "
                             "it shrinks)")
        return v


KEYS = {"moving_front": (MovingFrontSection, ...)}


def dirichlet_value(cfg, region: str) -> float | None:
    """The constant concentration of [diffusion]'s dirichlet boundary on `region` [mol m^-3]
    (None if it has none)."""
    for b in cfg.diffusion.boundary:
        if b.type == "dirichlet" and b.region == region:
            return float(b.concentration)
    return None


def build(cfg, ctx) -> list:
    """The MovingFront of the study's Diffusion (ctx.info["moving_front"])."""
    from femcell.config.base import ConfigError
    from femcell.physics.moving_front import MovingFront

    sec, domain = cfg.moving_front, ctx.domain
    diffusion = ctx.info.get("diffusion")
    if diffusion is None:
        raise ConfigError("[moving_front] needs a [diffusion] section (the flux that moves it)")
    if dirichlet_value(cfg, sec.front) is None:
        raise ConfigError(f"moving_front.front = {sec.front!r}: must be a dirichlet boundary "
                          "of [diffusion] (the concentration at the phase boundary)")
    known = set(domain.facet_regions) | set(domain.interfaces)
    named = [("fixed", r) for r in sec.fixed] + (
        [] if sec.slide == "auto" else [("slide", r) for r in sec.slide])
    for key, region in named:
        if region not in known:
            raise ConfigError(f"moving_front.{key}: unknown facet region {region!r}; known: "
                              f"{', '.join(sorted(domain.facet_regions))}")
        if region == sec.front:
            raise ConfigError(f"moving_front.{key}: {region!r} is the front itself")
    front = MovingFront(diffusion, sec.front, sec.jump, fixed=sec.fixed, slide=sec.slide,
                        rigid=sec.rigid, rest=sec.rest)
    ctx.info["moving_front"] = front
    return [front]
