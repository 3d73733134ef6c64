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
               "principles', Phys. Rev. B 73 (2006) 174112, doi:10.1103/PhysRevB.73.174112 "
               "(GGA+U): orthorhombic stiffness of LiFePO4 in the Pnma axes a, b, c: C11 "
               "138.9, C22 198.0, C33 173.5, C12 72.8, C13 52.5, C23 45.8, C44 36.8, C55 "
               "50.6, C66 47.6 GPa (values as recalled and cross-checked against public "
               "chemo-mechanics codes that tabulate them with FePO4's; C33 is 173.0-173.5 "
               "among those; not verified against the original table)")
PADHI1997 = ("A. K. Padhi, K. S. Nanjundaswamy, J. B. Goodenough, J. Electrochem. Soc. 144 "
             "(1997) 1188: 6.8 % volume change between LiFePO4 and FePO4 (value as given in "
             "the design notes; not verified against the original) -> Omega = 0.068 V_m with "
             "V_m = M / rho = 43.8 cm^3/mol of LiFePO4 (= 1 / c_max), isotropic average of "
             "the anisotropic lattice change")

CHEN2006 = ("G. Chen, X. Song, T. J. Richardson, Electrochem. Solid-State Lett. 9 (2006) A295, "
            "doi:10.1149/1.2192695: lattice misfit between LiFePO4 and FePO4 of about +5 % "
            "along a, +3.6 % along b and -1.9 % along c (values as recalled; not verified "
            "against the original); their sum, 6.7 %, is Padhi's 6.8 % volume change within "
            "the rounding -> chemical_expansion = misfit / c_max per axis")
MISFIT = (0.050, 0.036, -0.019)  # linear strain on full lithiation along a, b, c


def _orthorhombic(*, c11, c22, c33, c12, c13, c23, c44, c55, c66) -> tuple:
    """6x6 Voigt stiffness [Pa] of an orthorhombic crystal (crystal axes)."""
    return ((c11, c12, c13, 0, 0, 0), (c12, c22, c23, 0, 0, 0), (c13, c23, c33, 0, 0, 0),
            (0, 0, 0, c44, 0, 0), (0, 0, 0, 0, c55, 0), (0, 0, 0, 0, 0, c66))


MECHANICS = MechanicalMaterial(
    name="lfp",
    elastic=ElasticSolid("lfp", stiffness=_orthorhombic(
                             c11=138.9e9, c22=198.0e9, c33=173.5e9, c12=72.8e9, c13=52.5e9,
                             c23=45.8e9, c44=36.8e9, c55=50.6e9, c66=47.6e9),
                         chemical_expansion=tuple(m * MATERIAL.molar_volume
                                                  for m in MISFIT),
                         citations=(MAXISCH2006, CHEN2006, PADHI1997)),
    creep=None,
    toughness=None,  # not known
)
