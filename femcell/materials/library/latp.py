"""NASICON-type Li1.3Al0.3Ti1.7(PO4)3 (LATP): mechanical data only.

LATP microcracks at grain boundaries because of its anisotropic thermal expansion; Young's
modulus rises from 81 to 115 GPa as the grain size falls (Jackman & Cutler 2012). The library
takes the fine-grained (1.7 um) value. The thermal expansion is strongly anisotropic and is
not given (0).
"""

from femcell.materials.mechanical import ElasticSolid, MechanicalMaterial, Toughness

JACKMAN2012 = ("S. D. Jackman, R. A. Cutler, 'Effect of microcracking on ionic conductivity "
               "in LATP', J. Power Sources 218 (2012) 65: E = 81-115 GPa (coarse -> fine "
               "grains; fine-grained 115 GPa taken), K_IC = 1.1 MPa m^0.5")
NU_MODEL = "model value: Poisson ratio 0.25 (typical of phosphate ceramics; none found)"

MECHANICS = MechanicalMaterial(
    name="latp",
    elastic=ElasticSolid("latp", youngs_modulus=115e9, poisson_ratio=0.25,
                         citations=(JACKMAN2012, NU_MODEL)),
    creep=None,
    toughness=Toughness(1.1e6, citations=(JACKMAN2012,)),
)
