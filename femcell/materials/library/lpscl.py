"""Argyrodite Li6PS5Cl solid electrolyte (soft, highly conducting; not stable against Li:
it forms a mixed-conducting interphase, not modelled here).

Reported room-temperature conductivities of cold-pressed Li6PS5Cl span about 1-4 mS/cm with
activation energies 0.25-0.40 eV; femcell takes the middle (2.5 mS/cm, 0.32 eV).
"""

from femcell.materials.core import Arrhenius, Conductor
from femcell.units import EV

RANGE = ("Li6PS5Cl: sigma 1-4 mS/cm at 25 degC, Ea 0.25-0.40 eV reported for cold-pressed "
         "argyrodite; middle values taken (e.g. H.-J. Deiseroth et al., Angew. Chem. Int. Ed. "
         "47 (2008) 755; M. A. Kraft et al., J. Am. Chem. Soc. 139 (2017) 10909)")

MATERIAL = Conductor(
    name="li6ps5cl",
    conductivity=Arrhenius(0.25, 0.32 * EV, citation=RANGE),
    carrier="ion",
    citations=(RANGE,),
)

# ------------------------------------------------------------------------------ mechanics
from femcell.materials.mechanical import (  # noqa: E402
    ElasticSolid,
    MechanicalMaterial,
    Toughness,
)

ELASTIC_NOTES = ("Li6PS5Cl: E = 22 GPa, nu = 0.37 (value as given in the design notes; not "
                 "verified against the original)")
MCGROGAN2017 = ("F. P. McGrogan et al., 'Compliant yet brittle mechanical behavior of "
                "Li2S-P2S5 lithium-ion-conducting solid electrolyte', Adv. Energy Mater. 7 "
                "(2017) 1602011, doi:10.1002/aenm.201602011 (nanoindentation of the "
                "amorphous Li2S-P2S5 glass, taken as a proxy for Li6PS5Cl): K_IC = 0.23 "
                "MPa m^0.5 (value as given in the design notes; not verified against the "
                "original)")

MECHANICS = MechanicalMaterial(
    name="li6ps5cl",
    elastic=ElasticSolid("li6ps5cl", youngs_modulus=22e9, poisson_ratio=0.37,
                         citations=(ELASTIC_NOTES,)),
    creep=None,
    toughness=Toughness(0.23e6, citations=(MCGROGAN2017,)),
)
