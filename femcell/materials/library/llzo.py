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

MATERIAL = Conductor(
    name="llzo",
    conductivity=Arrhenius(0.046, 0.37 * EV, citation=ECKHARDT2023),
    carrier="ion",
    citations=(ECKHARDT2023, RANGE),
)

GRAIN_BOUNDARY = Conductor(
    name="llzo_gb",
    conductivity=Arrhenius(5.97e-4, 0.45 * EV, citation=ECKHARDT2023),
    carrier="ion",
    citations=(ECKHARDT2023, RANGE),
)
