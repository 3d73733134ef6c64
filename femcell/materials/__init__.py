"""Materials: frozen SI parameter objects with Arrhenius laws, tensors and D(c) laws.

Every value in the library (`femcell.materials.library`) carries a citation string.
"""

from femcell.materials.core import (
    Arrhenius,
    Conductor,
    Constant,
    Darken,
    DiffusivityLaw,
    Exponential,
    IntercalationMaterial,
    Interstitial,
    LatticeGas,
    MaterialError,
    PowerLaw,
    Tabulated,
    Vacancy,
    diffusivity_tensor,
    rotation_from_euler,
)
from femcell.materials.library import get_material, list_materials

__all__ = [
    "Arrhenius",
    "Conductor",
    "Constant",
    "Darken",
    "DiffusivityLaw",
    "Exponential",
    "IntercalationMaterial",
    "Interstitial",
    "LatticeGas",
    "MaterialError",
    "PowerLaw",
    "Tabulated",
    "Vacancy",
    "diffusivity_tensor",
    "get_material",
    "list_materials",
    "rotation_from_euler",
]
