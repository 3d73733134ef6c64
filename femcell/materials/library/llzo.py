"""Garnet Li7La3Zr2O12 (Al/Ta-doped LLZO) solid electrolyte.

Bulk and grain-boundary conductivities at 25 degC from impedance of a polycrystalline
sample (Eckhardt et al. 2023, as used in PHYSICS.md section 5). Activation energies of
doped LLZO are reported between 0.30 and 0.45 eV (bulk); femcell takes the middle, 0.37 eV,
and 0.45 eV for the grain boundaries (typically 0.05-0.1 eV above bulk). Values marked as a
range should be replaced by your sample's numbers.
"""

from femcell.materials.core import Arrhenius, Conductor
from femcell.units import EV

ECKHARDT2023 = ("J. K. Eckhardt et al., ACS Appl. Mater. Interfaces (2023): sigma_bulk = "
                "0.46 mS/cm, sigma_gb = 5.97 uS/cm (specific), eps_r = 150 at 25 degC")
RANGE = "activation energy: middle of the reported range 0.30-0.45 eV (doped LLZO)"
ECKHARDT2023_AMI = ("J. K. Eckhardt, T. Fuchs, S. Burkhardt, P. J. Klar, J. Janek, C. Heiliger, "
                    "Adv. Mater. Interfaces 10, 2202354 (2023), doi:10.1002/admi.202202354: "
                    "eps_r = 150 for bulk and grain boundaries of Li6.25Al0.25La3Zr2O12, a "
                    "model input there (from Krauskopf et al. 2019, Rettenwander et al. 2015, "
                    "Loho et al. 2017), not a new measurement")

MATERIAL = Conductor(
    name="llzo",
    conductivity=Arrhenius(0.046, 0.37 * EV, citation=ECKHARDT2023),
    carrier="ion",
    citations=(ECKHARDT2023, RANGE, ECKHARDT2023_AMI),
    permittivity=150.0,
)

GRAIN_BOUNDARY = Conductor(
    name="llzo_gb",
    conductivity=Arrhenius(5.97e-4, 0.45 * EV, citation=ECKHARDT2023),
    carrier="ion",
    citations=(ECKHARDT2023, RANGE, ECKHARDT2023_AMI),
    permittivity=150.0,
)

# ------------------------------------------------------------------------------ mechanics
from femcell.materials.mechanical import (  # noqa: E402
    ElasticSolid,
    MechanicalMaterial,
    Toughness,
)

NI2012 = ("J. E. Ni et al., 'Room temperature elastic moduli and Vickers hardness of "
          "hot-pressed LLZO cubic garnet', J. Mater. Sci. (2012): resonant ultrasound on "
          "Li6.24La3Zr2Al0.24O11.98, E = 149.8 GPa, G = 59.6 GPa at porosity 0.03 "
          "-> nu = E / (2 G) - 1 = 0.257")
HUBAUD2015 = ("A. A. Hubaud, D. J. Schroeder, B. J. Ingram, J. S. Okasinski, J. T. Vaughey, "
              "J. Alloys Compd. 644 (2015) 804, doi:10.1016/j.jallcom.2015.05.067: thermal "
              "expansion 15.498e-6 1/K (synchrotron XRD, 25-700 degC, 0.3 wt% Al)")
WOLFENSTINE2013 = ("J. Wolfenstine et al., 'A preliminary investigation of fracture toughness "
                   "of Li7La3Zr2O12 and its comparison to other solid Li-ion conductors', "
                   "Mater. Lett. 96 (2013) 117: K_IC ~ 1.25 MPa m^0.5 (value as given in the "
                   "design notes; not verified against the original)")

MECHANICS = MechanicalMaterial(
    name="llzo",
    elastic=ElasticSolid.from_moduli(
        "llzo", 149.8e9, 59.6e9, thermal_expansion=15.498e-6,
        citations=(NI2012, HUBAUD2015)),
    creep=None,  # no creep of the ceramic at battery temperatures
    toughness=Toughness(1.25e6, citations=(WOLFENSTINE2013,)),
)
