"""Lithium metal (electrode)."""

from femcell.materials.core import Arrhenius, Conductor

CRC = ("CRC Handbook of Chemistry and Physics, 97th ed. (2016): Li resistivity 9.28e-8 ohm m "
       "at 20 degC, density 0.534 g/cm^3, M = 6.941 g/mol -> Omega = 13.0 cm^3/mol")

MATERIAL = Conductor(
    name="li",
    conductivity=Arrhenius(1.08e7, 0.0, t_ref=293.15, citation=CRC),
    carrier="electron",
    molar_volume=6.941 / 0.534 * 1e-6,
    citations=(CRC,),
)
