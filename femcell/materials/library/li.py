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

# ------------------------------------------------------------------------------ mechanics
from femcell.materials.mechanical import (  # noqa: E402
    ElasticSolid,
    MechanicalMaterial,
    NortonCreep,
)
from femcell.units import N_A  # noqa: E402

CRC_EXPANSION = ("CRC Handbook of Chemistry and Physics: linear thermal expansion "
                 "coefficient of Li at 25 degC, 46e-6 K^-1")

MASIAS2019 = ("A. Masias et al., 'Elastic, plastic, and creep mechanical properties of "
              "lithium metal', J. Mater. Sci. 54 (2019) 2585, doi:10.1007/s10853-018-2971-3: "
              "polycrystal E = 7.8 GPa, G = 2.8 GPa, nu = 0.38, yield ~0.5 MPa, creep stress "
              "exponent n = 6.56 (value as given "
              "in the design notes; not verified against the original)")
LEPAGE2019 = ("W. S. LePage et al., 'Lithium mechanics: roles of strain rate and temperature "
              "and implications for lithium metal batteries', J. Electrochem. Soc. 166 (2019) "
              "A89, doi:10.1149/2.0221902jes: power-law creep, Q = 37 kJ/mol = 0.38 eV (value "
              "as given in the design notes; not verified against the original)")
ROY2021 = ("A. Roy, N. A. Fleck, V. S. Deshpande, Extreme Mech. Lett. 46 (2021) 101307: "
           "eps_dot = 0.01 s^-1 at sigma0 = 1 MPa, fitted to LePage 2019 and Masias 2019 (as "
           "in femcell.materials.library.anodes; not verified against the original)")

MECHANICS = MechanicalMaterial(
    name="li",
    elastic=ElasticSolid("li",
                         thermal_expansion=46e-6, youngs_modulus=7.8e9, poisson_ratio=0.38,
                         citations=(MASIAS2019, CRC_EXPANSION)),
    creep=NortonCreep(prefactor=0.01, stress_ref=1e6, exponent=6.56,
                      activation_energy=37e3 / N_A,
                      citations=(ROY2021, MASIAS2019, LEPAGE2019)),
    toughness=None,  # ductile
)
