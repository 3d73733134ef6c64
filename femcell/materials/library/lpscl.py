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
