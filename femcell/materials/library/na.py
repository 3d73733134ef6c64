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

# ------------------------------------------------------------------------------ mechanics
from femcell.materials.mechanical import (  # noqa: E402
    ElasticSolid,
    MechanicalMaterial,
    NortonCreep,
)
from femcell.units import N_A  # noqa: E402

CRC_EXPANSION = ("CRC Handbook of Chemistry and Physics: linear thermal expansion "
                 "coefficient of Na at 25 degC, 71e-6 K^-1")

WANG2020 = ("M. J. Wang, J.-Y. Chang, J. B. Wolfenstine, J. Sakamoto, 'Analysis of elastic, "
            "plastic, and creep properties of sodium metal and implications for solid-state "
            "batteries', Materialia 12 (2020) 100792: E = 4.6 GPa (acoustic), yield 0.19-0.28 "
            "MPa at ~1e-3 1/s, creep stress exponent n = 5.0")
WANG2020_A = ("Wang et al., Materialia 12 (2020) 100792: eps_dot = A sigma^n with A = 0.53 "
              "MPa^-n s^-1, i.e. 0.53 1/s at sigma0 = 1 MPa (as in "
              "femcell.materials.library.anodes; not verified against the original)")
NACHTRIEB1952 = ("model value: creep activation energy = Na self-diffusion Q = 44 kJ/mol "
                 "(N. H. Nachtrieb et al., J. Chem. Phys. 20 (1952) 1189), as assumed by Wang "
                 "et al. 2020; no measured creep activation energy of Na found")
NU_NOTES = ("Na: nu = 0.34 (value as given in the design notes; not verified against the "
            "original)")

MECHANICS = MechanicalMaterial(
    name="na",
    elastic=ElasticSolid("na",
                         thermal_expansion=71e-6, youngs_modulus=4.6e9, poisson_ratio=0.34,
                         citations=(WANG2020, NU_NOTES, CRC_EXPANSION)),
    creep=NortonCreep(prefactor=0.53, stress_ref=1e6, exponent=5.0,
                      activation_energy=44e3 / N_A,
                      citations=(WANG2020, WANG2020_A, NACHTRIEB1952)),
    toughness=None,  # ductile, nearly flaw-insensitive in tension
)
