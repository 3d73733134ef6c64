"""Na-beta''-alumina solid electrolyte (polycrystalline, Na+ conductor).

Room-temperature conductivities of polycrystalline beta''-alumina ceramics are reported
between about 1 and 4 mS/cm with activation energies 0.15-0.35 eV (grain boundaries dominate
at low temperature); femcell takes 2 mS/cm and 0.25 eV (the middle of the ranges).
"""

from femcell.materials.core import Arrhenius, Conductor
from femcell.units import EV

RANGE = ("Na-beta''-alumina (polycrystalline): sigma 1-4 mS/cm at 25 degC, Ea 0.15-0.35 eV "
         "reported; middle values taken (see e.g. X. Lu et al., J. Power Sources 195 (2010) "
         "2431 for a review)")

MATERIAL = Conductor(
    name="na_beta_alumina",
    conductivity=Arrhenius(0.2, 0.25 * EV, citation=RANGE),
    carrier="ion",
    citations=(RANGE,),
)

# ------------------------------------------------------------------------------ mechanics
from femcell.materials.mechanical import (  # noqa: E402
    ElasticSolid,
    MechanicalMaterial,
    Toughness,
)

MECH_NOTES = ("Na-beta''-alumina (polycrystalline): E ~ 200 GPa, nu ~ 0.25 (value as given in "
              "the design notes; not verified against the original)")
TOUGHNESS_RANGE = ("Na-beta''-alumina: K_IC 2-3 MPa m^0.5, middle (2.5) taken (value as given "
                   "in the design notes; not verified against the original; zirconia "
                   "additions raise it)")

MECHANICS = MechanicalMaterial(
    name="na_beta_alumina",
    elastic=ElasticSolid("na_beta_alumina", youngs_modulus=200e9, poisson_ratio=0.25,
                         citations=(MECH_NOTES,)),
    creep=None,
    toughness=Toughness(2.5e6, citations=(TOUGHNESS_RANGE,)),
)
