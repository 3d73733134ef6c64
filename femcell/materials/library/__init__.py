"""The materials library: one module per material, each value with its citation."""

from __future__ import annotations

import importlib

from femcell.materials.core import MaterialError

# library key -> module name in this package ("module:ATTR" for a second material of a
# module; the module's MATERIAL otherwise)
_REGISTRY = {
    "nmc811": "nmc",
    "graphite": "graphite",
    "lfp": "lfp",
    "li": "li",
    "na": "na",
    "llzo": "llzo",
    "llzo_gb": "llzo:GRAIN_BOUNDARY",
    "li6ps5cl": "lpscl",
    "na_beta_alumina": "beta_alumina",
}


def list_materials() -> list[str]:
    """Names of the library materials."""
    return sorted(_REGISTRY)


def get_material(name: str, **overrides):
    """A library material by name, optionally with fields replaced (SI values).

    Raises:
        MaterialError: unknown name (the message lists the known ones).
    """
    if name not in _REGISTRY:
        raise MaterialError(f"unknown material {name!r}; known materials: "
                            f"{', '.join(list_materials())}")
    module, _, attr = _REGISTRY[name].partition(":")
    mod = importlib.import_module(f"femcell.materials.library.{module}")
    mat = getattr(mod, attr or "MATERIAL")
    if overrides:
        import dataclasses

        mat = dataclasses.replace(mat, **overrides)
    return mat


def list_anode_sets() -> list[str]:
    """Names of the metal-anode parameter sets ("metal|electrolyte")."""
    from femcell.materials.library.anodes import ANODE_SETS

    return sorted(ANODE_SETS)


def _lookup(table: dict, name: str, kind: str):
    if name not in table:
        raise MaterialError(f"unknown {kind} {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def get_anode_set(name: str):
    """A metal-anode parameter set (AnodeParameterSet) by name.

    Raises:
        MaterialError: unknown name (the message lists the known ones).
    """
    from femcell.materials.library.anodes import ANODE_SETS

    return _lookup(ANODE_SETS, name, "anode parameter set")


def get_interlayer(name: str):
    """An interlayer (Interlayer) by name.

    Raises:
        MaterialError: unknown name (the message lists the known ones).
    """
    from femcell.materials.library.anodes import INTERLAYERS

    return _lookup(INTERLAYERS, name, "interlayer")
