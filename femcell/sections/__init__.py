"""Physics sections of a study file, one module per physics: its schema (pydantic, no
DOLFINx) and its builder (physics imported when it runs).

A section module defines:
    KEYS: {top-level TOML key: (annotation, default)} (`...` as default: required when the
        kind requires the physics);
    build(cfg, ctx) -> list of Physics: reads its keys from the validated study `cfg`, may
        register couplings of electrode reactions with `ctx.couple(electrode, physics)` and
        results for the kind in `ctx.info`.

SECTIONS is the registry (and the build order: a physics that acts on an electrode reaction
is built before the charge transport that collects the couplings). A new physics adds its
module and one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache

SECTIONS = {
    "diffusion": "femcell.sections.diffusion",
    "moving_front": "femcell.sections.moving_front",
    "cahn_hilliard": "femcell.sections.cahn_hilliard",
    "intercalation": "femcell.sections.intercalation",
    "anode": "femcell.sections.anode",
    "charge": "femcell.sections.charge",
    "mechanics": "femcell.sections.mechanics",
    "fracture": "femcell.sections.fracture",
    "filament": "femcell.sections.filament",
    "conduction": "femcell.sections.conduction",
}


def module(name: str):
    """The section module of a physics (ValueError naming the known ones)."""
    if name not in SECTIONS:
        raise ValueError(f"unknown physics section {name!r}; known: {', '.join(SECTIONS)}")
    return importlib.import_module(SECTIONS[name])


@cache
def section_keys() -> dict[str, str]:
    """{top-level TOML key: physics name} over every registered physics."""
    return {key: name for name in SECTIONS for key in module(name).KEYS}


def is_array(key: str) -> bool:
    """True for a section written as an array of tables ([[kinetics]])."""
    import typing

    annotation = module(section_keys()[key]).KEYS[key][0]
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return typing.get_origin(annotation) is list


@dataclass
class BuildContext:
    """What physics builders share while a study is built.

    Attributes:
        domain: the Domain.
        temperature: T [K] of the build (the kind may change it in time later).
        degree: Lagrange degree from [solver].
        couplings: {electrode region: [physics acting on its electrode reaction]}.
        info: results builders leave for the kind (e.g. regime indicators).
    """

    domain: object
    temperature: float
    degree: int = 1
    couplings: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def couple(self, electrode: str, physics) -> None:
        """Register `physics` as acting on the electrode reaction of `electrode`."""
        self.couplings.setdefault(electrode, []).append(physics)


def build_physics(cfg, domain, temperature: float, physics: tuple[str, ...] | None = None,
                  info: dict | None = None):
    """The physics of every section present in `cfg`, in registry order.

    Args:
        cfg: a validated study (its kind decides which sections it may hold).
        domain: the Domain.
        temperature: T [K].
        physics: restrict to these physics names (default: all the kind takes).
        info: entries the kind gives the builders (e.g. "load_factor": f(t)).

    Returns:
        (list of Physics, BuildContext).
    """
    domain.restore_geometry()  # built on the mesh as built (a moving front may have moved it)
    ctx = BuildContext(domain, temperature, degree=cfg.solver.degree, info=dict(info or {}))
    out = []
    names = physics if physics is not None else tuple(type(cfg).PHYSICS)
    for name in SECTIONS:
        if name not in names:
            continue
        mod = module(name)
        if all(getattr(cfg, key) in (None, []) for key in mod.KEYS):
            continue  # an optional physics the file does not use
        out += mod.build(cfg, ctx)
    return out, ctx
