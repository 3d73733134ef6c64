"""Metal-anode parameter sets (vacancies, interfacial exchange, voids, creep) and interlayers.

Where the literature gives a number it is cited; where it gives none the entry says "model
value" and why the value was chosen. Read these before quoting a simulated critical current
as a prediction: the *trends* (activation energies, pressure dependence) follow from the cited
barriers and creep laws, the absolute j_crit from the model values.
"""

from __future__ import annotations

import math

from femcell.materials.anode_sets import AnodeParameterSet, Interlayer
from femcell.materials.library.li import MATERIAL as LI
from femcell.materials.library.na import MATERIAL as NA
from femcell.units import EV, N_A

LOWACK = ("A. Lowack et al., 'Experimental insights into the limiting mechanism of vacancy "
          "transport in sodium metal anodes for solid state batteries', arXiv:2603.23340 (2026)")
WANG_NA = ("M. J. Wang, J.-Y. Chang, J. B. Wolfenstine, J. Sakamoto, 'Analysis of elastic, "
           "plastic, and creep properties of sodium metal', Materialia 12 (2020) 100792: "
           "eps_dot = A sigma^n with A = 0.53 MPa^-n s^-1, n = 5.0 at room temperature")
NACHTRIEB = ("N. H. Nachtrieb et al., J. Chem. Phys. 20 (1952) 1189: Na self-diffusion, "
             "Q = 44 kJ/mol; Wang et al. 2020 take the creep activation energy ~ Q (no measured "
             "value exists)")
MASIAS = ("A. Masias et al., 'Elastic, plastic, and creep mechanical properties of lithium "
          "metal', J. Mater. Sci. 54 (2019) 2585: creep stress exponent n = 6.56")
LEPAGE = ("W. S. LePage et al., 'Lithium mechanics: roles of strain rate and temperature and "
          "implications for lithium metal batteries', J. Electrochem. Soc. 166 (2019) A89: "
          "Q = 37 kJ/mol")
ROY = ("A. Roy, N. A. Fleck, V. S. Deshpande, Extreme Mech. Lett. 46 (2021) 101307: Li creep "
       "eps_dot = eps0 (sigma / sigma0)^n with eps0 = 0.01 s^-1 at sigma0 = 1 MPa, fitted to "
       "LePage 2019 and Masias 2019, i.e. A = 0.01 MPa^-n s^-1")
NA_WETTING = ("Na wets Na-beta''-alumina poorly below 270-300 degC (Ionics (2017), "
              "doi:10.1007/s11581-017-2017-x); model value: contact angle 105 deg "
              "(no room-temperature measurement found)")
SN_WETTING = ("Sn and Na-Sn coatings improve the wetting of Na on beta''-alumina (Ionics "
              "(2017), doi:10.1007/s11581-017-2017-x); model value: contact angle 95 deg "
              "(no room-temperature measurement found)")
LI_WETTING = ("Li on cleaned LLZO: contact angle ~95 deg (A. Sharafi et al., Chem. Mater. 29 "
              "(2017) 7961, as cited by Mazzapioda et al., Energy Mater. 3 (2023) 300019); "
              "taken for Li6PS5Cl too (model value)")


def _monolayer(omega: float) -> float:
    """Sites of one atomic layer of a metal of molar volume omega [m^3/mol]: [mol m^-2]."""
    return (N_A / omega) ** (2.0 / 3.0) / N_A


MODEL_KAPPA = ("model value: chosen so that j_crit ~ 1 mA/cm^2 at 25 degC in a 0.3 mA/cm^2/min "
               "ramp (no measured rate constant exists; the barrier, not kappa, sets E_A)")
MODEL_VOID = ("model value: voids condense quickly once theta > theta_crit (a 1 nm layer per "
              "void); only the onset, not the rate, enters j_crit")
MODEL_THETA_CRIT = ("model value: a vacancy supersaturation of 100 at the interface opens "
                    "voids (theta_eq = 1e-4)")
MODEL_XV = ("model value: the scaled equilibrium vacancy site fraction of the metal near the "
            "interface")

ANODE_SETS = {
    "na|na_beta_alumina": AnodeParameterSet(
        name="na|na_beta_alumina", metal="na", electrolyte="na_beta_alumina",
        vacancies={"diffusivity": 1e-7, "migration_energy": 0.053 * EV,
                   "equilibrium_fraction": 1e-4},
        interface={"site_density": _monolayer(NA.molar_volume), "transfer_rate": 0.0105,
                   "activation_energy": 0.14 * EV, "theta_crit": 0.01, "void_rate": 10.0,
                   "void_height": 1e-9, "creep_prefactor": 0.53, "creep_exponent": 5.0,
                   "creep_activation": 44e3, "wetting_angle": math.radians(105.0)},
        sources={
            "vacancies.diffusivity": "model value: D_v = D_self / x_v with the Na "
            "self-diffusivity ~5e-13 m^2/s at 25 degC (Nachtrieb 1952) and x_v ~ 1e-5",
            "vacancies.migration_energy": LOWACK + " (0.053 eV, bulk Na vacancy migration)",
            "vacancies.equilibrium_fraction": MODEL_XV,
            "interface.site_density": "one atomic layer of Na sites, (N_A / Omega)^(2/3) / "
            "N_A with the CRC molar volume",
            "interface.transfer_rate": MODEL_KAPPA,
            "interface.activation_energy": LOWACK + " (0.13-0.15 eV on beta''-alumina, "
            "NaSICON and Na5SmSi4O12; middle taken)",
            "interface.theta_crit": MODEL_THETA_CRIT,
            "interface.void_rate": MODEL_VOID, "interface.void_height": MODEL_VOID,
            "interface.creep_prefactor": WANG_NA, "interface.creep_exponent": WANG_NA,
            "interface.creep_activation": NACHTRIEB,
            "interface.wetting_angle": NA_WETTING}),
    "li|li6ps5cl": AnodeParameterSet(
        name="li|li6ps5cl", metal="li", electrolyte="li6ps5cl",
        vacancies={"diffusivity": 1e-7, "migration_energy": 0.05 * EV,
                   "equilibrium_fraction": 1e-4},
        interface={"site_density": _monolayer(LI.molar_volume), "transfer_rate": 0.0105,
                   "activation_energy": 0.14 * EV, "theta_crit": 0.01, "void_rate": 1e-3,
                   "void_height": 1e-9, "creep_prefactor": 0.01, "creep_exponent": 6.56,
                   "creep_activation": 37e3, "wetting_angle": math.radians(95.0)},
        sources={
            "vacancies.diffusivity": "model value: fast vacancy diffusion (bulk transport "
            "does not limit; the Li study is about creep closure)",
            "vacancies.migration_energy": "model value: ~0.05 eV as for bcc Na (no measured "
            "Li vacancy migration energy found)",
            "vacancies.equilibrium_fraction": MODEL_XV,
            "interface.site_density": "one atomic layer of Li sites, (N_A / Omega)^(2/3) / "
            "N_A with the CRC molar volume",
            "interface.transfer_rate": MODEL_KAPPA,
            "interface.activation_energy": "model value: the Na|ceramic barrier of "
            + LOWACK + " (none measured for Li|Li6PS5Cl)",
            "interface.theta_crit": MODEL_THETA_CRIT,
            "interface.void_rate": "model value: slow condensation, so that creep closure "
            "competes with void growth at MPa stack pressures",
            "interface.void_height": MODEL_VOID,
            "interface.creep_prefactor": ROY, "interface.creep_exponent": MASIAS,
            "interface.creep_activation": LEPAGE,
            "interface.wetting_angle": LI_WETTING}),
}

INTERLAYERS = {
    "sn_na": Interlayer(
        name="sn_na", metal="na", activation_energy=0.10 * EV,
        wetting_angle=math.radians(95.0),
        sources={"activation_energy": LOWACK + " (a thin Sn-Na alloy interlayer lowers E_A "
                 "to 0.10 +- 0.01 eV)", "wetting_angle": SN_WETTING}),
}
