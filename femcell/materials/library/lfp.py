"""LiFePO4 (olivine): one-dimensional Li channels along the b axis [010].

Axes follow the crystal a, b, c (Pnma); the b axis carries the channels. First-principles
barriers make transport across channels negligible (Morgan 2004: ~0.27 eV along [010],
> 1 eV across). Measured effective diffusivities span 1e-18 to 1e-12 m^2/s depending on
antisite-defect content and method (Malik 2010); the library takes the logarithmic middle,
1e-15 m^2/s, along b, and 1e-3 of it across channels (an assumption that keeps a 3D model
well posed and still strongly anisotropic; set your own with `--set`).
"""

from femcell.materials.core import Arrhenius, IntercalationMaterial
from femcell.units import EV

MORGAN2004 = ("D. Morgan, A. Van der Ven, G. Ceder, Electrochem. Solid-State Lett. 7 (2004) "
              "A30, doi:10.1149/1.1633511 (Li migration barrier ~0.27 eV along [010], "
              "1D channels)")
MALIK2010 = ("R. Malik, D. Burch, M. Bazant, G. Ceder, Nano Lett. 10 (2010) 4123, "
             "doi:10.1021/nl1023595 (effective D 1e-18..1e-12 m^2/s with antisite defects)")
DENSITY = ("c_max = rho / M = 3.60e6 g/m^3 / 157.76 g/mol = 22820 mol/m^3 (LiFePO4 crystal "
           "density 3.60 g/cm^3)")

_EA = 0.27 * EV
MATERIAL = IntercalationMaterial(
    name="lfp",
    c_max=22820.0,
    diffusivity=(
        Arrhenius(1.0e-18, _EA, citation=MALIK2010),  # a: across channels (assumption)
        Arrhenius(1.0e-15, _EA, citation=MORGAN2004),  # b: along [010] channels
        Arrhenius(1.0e-18, _EA, citation=MALIK2010),  # c: across channels (assumption)
    ),
    molar_volume=157.76e-6 / 3.60,
    citations=(MORGAN2004, MALIK2010, DENSITY),
)

# ------------------------------------------------------------------------------ mechanics
from femcell.materials.mechanical import ElasticSolid, MechanicalMaterial  # noqa: E402

MAXISCH2006 = ("T. Maxisch, G. Ceder, 'Elastic properties of olivine LixFePO4 from first "
               "principles', Phys. Rev. B 73 (2006) 174112: E ~ 125 GPa; nu = 0.25 (values as "
               "given in the design notes; not verified against the original)")
PADHI1997 = ("A. K. Padhi, K. S. Nanjundaswamy, J. B. Goodenough, J. Electrochem. Soc. 144 "
             "(1997) 1188: 6.8 % volume change between LiFePO4 and FePO4 (value as given in "
             "the design notes; not verified against the original) -> Omega = 0.068 V_m with "
             "V_m = M / rho = 43.8 cm^3/mol of LiFePO4 (= 1 / c_max), isotropic average of "
             "the anisotropic lattice change")

MECHANICS = MechanicalMaterial(
    name="lfp",
    elastic=ElasticSolid("lfp", youngs_modulus=125e9, poisson_ratio=0.25,
                         partial_molar_volume=0.068 * MATERIAL.molar_volume,
                         citations=(MAXISCH2006, PADHI1997)),
    creep=None,
    toughness=None,  # not known
)
