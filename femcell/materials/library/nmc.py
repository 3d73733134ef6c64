"""NMC811 (LiNi0.8Mn0.1Co0.1O2) positive electrode particles."""

from femcell.materials.core import Arrhenius, IntercalationMaterial

CHEN2020 = ("C.-H. Chen, F. Brosa Planella, K. O'Regan, D. Gastol, W. D. Widanage, E. Kendrick, "
            "J. Electrochem. Soc. 167 (2020) 080534, doi:10.1149/1945-7111/ab9050 "
            "(LG M50 cell parameterisation: c_max 63104 mol/m^3, D 4e-15 m^2/s, R 5.22 um)")

MATERIAL = IntercalationMaterial(
    name="nmc811",
    c_max=63104.0,
    # Chen 2020 gives one effective (isotropic) value at 25 degC and no activation energy.
    diffusivity=(Arrhenius(4.0e-15, 0.0, citation=CHEN2020),),
    citations=(CHEN2020,),
)
