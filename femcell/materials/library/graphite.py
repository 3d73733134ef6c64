"""Graphite (with SiOx in the source cell) negative electrode particles."""

from femcell.materials.core import Arrhenius, IntercalationMaterial

CHEN2020 = ("C.-H. Chen, F. Brosa Planella, K. O'Regan, D. Gastol, W. D. Widanage, E. Kendrick, "
            "J. Electrochem. Soc. 167 (2020) 080534, doi:10.1149/1945-7111/ab9050 "
            "(negative electrode: c_max 33133 mol/m^3, D 3.3e-14 m^2/s, R 5.86 um)")

MATERIAL = IntercalationMaterial(
    name="graphite",
    c_max=33133.0,
    diffusivity=(Arrhenius(3.3e-14, 0.0, citation=CHEN2020),),
    citations=(CHEN2020,),
)
