"""NMC811 (LiNi0.8Mn0.1Co0.1O2) positive electrode particles."""

from femcell.materials.core import Arrhenius, IntercalationMaterial

CHEN2020 = ("C.-H. Chen, F. Brosa Planella, K. O'Regan, D. Gastol, W. D. Widanage, E. Kendrick, "
            "J. Electrochem. Soc. 167 (2020) 080534, doi:10.1149/1945-7111/ab9050 "
            "(LG M50 cell parameterisation: c_max 63104 mol/m^3, D 4e-15 m^2/s, R 5.22 um)")



def ocv(theta):
    """Open-circuit potential of LG M50 NMC811 [V vs Li/Li+] against stoichiometry
    (Chen 2020 fit; numpy or UFL)."""
    from femcell.materials.core import _is_ufl

    if _is_ufl(theta):
        import ufl

        tanh = ufl.tanh
    else:
        import numpy as np

        tanh = np.tanh
    return (-0.8090 * theta + 4.4875 - 0.0428 * tanh(18.5138 * (theta - 0.5542))
            - 17.7326 * tanh(15.7890 * (theta - 0.3117))
            + 17.5842 * tanh(15.9308 * (theta - 0.3120)))


MATERIAL = IntercalationMaterial(
    name="nmc811",
    c_max=63104.0,
    # Chen 2020 gives one effective (isotropic) value at 25 degC and no activation energy.
    diffusivity=(Arrhenius(4.0e-15, 0.0, citation=CHEN2020),),
    citations=(CHEN2020,),
    ocv=ocv,
)

# ------------------------------------------------------------------------------ mechanics
from femcell.materials.mechanical import ElasticSolid, MechanicalMaterial  # noqa: E402

E_RANGE = ("layered oxide NMC: E 140-200 GPa reported (nanoindentation and first principles), "
           "middle (170 GPa) taken; nu = 0.25 (values as given in the design notes; not "
           "verified against the original)")
SWELLING_MODEL = ("model value: isotropic partial molar volume Omega = 0.05 / (0.75 c_max) = "
                  "1.06e-6 m^3/mol, i.e. ~5 % volume change over 75 % of the Li sites (the "
                  "anisotropic c-axis collapse of NMC811 at high states of charge is not "
                  "represented; the 5 % is not verified against a source)")

MECHANICS = MechanicalMaterial(
    name="nmc811",
    elastic=ElasticSolid("nmc811", youngs_modulus=170e9, poisson_ratio=0.25,
                         partial_molar_volume=0.05 / (0.75 * MATERIAL.c_max),
                         citations=(E_RANGE, SWELLING_MODEL)),
    creep=None,
    toughness=None,  # not known
)
