"""Ta-doped garnet Li6.4La3Zr1.4Ta0.6O12 (LLZTO): mechanical data only.

The fracture toughness of hot-pressed LLZTO rises from 0.44 to 1.51 MPa m^0.5 as the relative
density rises from 83 to 98 % (Hu et al. 2021, nanoindentation; intergranular fracture turns
transgranular). Only the end points are taken; the library interpolates linearly between
them, which is a model choice (the paper reports a monotonic rise). Use
``MECHANICS.toughness.at(relative_density)`` for your pellet's density.
"""

from femcell.materials.library.llzo import HUBAUD2015, NI2012
from femcell.materials.library.llzo import MECHANICS as _LLZO
from femcell.materials.mechanical import ElasticSolid, MechanicalMaterial, ToughnessByDensity

HU2021 = ("S. Hu, P. Xu, L. Scalco de Vasconcelos, L. Stanciu, H. Ni, K. Zhao, 'Elastic "
          "modulus, hardness, and fracture toughness of Li6.4La3Zr1.4Ta0.6O12 solid "
          "electrolyte', Chin. Phys. Lett. 38 (2021) 098401, doi:10.1088/0256-307X/38/9/098401: "
          "E = 158.47 GPa at 98 % density; K_IC 0.44 -> 1.51 MPa m^0.5 for relative density "
          "83 -> 98 % (end points; linear interpolation between them is a model choice)")
NU_MODEL = ("model value: Poisson ratio of Al-doped LLZO (" + NI2012 + ") taken for LLZTO")
CTE_MODEL = ("model value: thermal expansion of Al-doped LLZO (" + HUBAUD2015
             + ") taken for LLZTO")

MECHANICS = MechanicalMaterial(
    name="llzto",
    elastic=ElasticSolid(
        "llzto", youngs_modulus=158.47e9, poisson_ratio=_LLZO.elastic.poisson_ratio,
        thermal_expansion=_LLZO.elastic.thermal_expansion,
        citations=(HU2021, NU_MODEL, CTE_MODEL)),
    creep=None,
    toughness=ToughnessByDensity(
        relative_density=(0.83, 0.98), k_ic=(0.44e6, 1.51e6), citations=(HU2021,)),
)
