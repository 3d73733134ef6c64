"""Sodium metal (electrode)."""

from femcell.materials.core import Arrhenius, Conductor

CRC = ("CRC Handbook of Chemistry and Physics, 97th ed. (2016): Na resistivity 4.77e-8 ohm m "
       "at 20 degC, density 0.968 g/cm^3, M = 22.99 g/mol -> Omega = 23.7 cm^3/mol")

MATERIAL = Conductor(
    name="na",
    conductivity=Arrhenius(2.10e7, 0.0, t_ref=293.15, citation=CRC),
    carrier="electron",
    molar_volume=22.99 / 0.968 * 1e-6,
    citations=(CRC,),
)
