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
FEDER_NA = ("R. Feder, H. P. Charbnau, 'Equilibrium defect concentration in crystalline "
            "sodium', Phys. Rev. 149 (1966) 464: dilatometry vs X-ray lattice parameter, "
            "E_f = 0.42 +- 0.03 eV, S_f = (5.8 +- 1.1) k_B, c_v(T_m) = 7.5e-4")
FEDER_LI = ("R. Feder, 'Equilibrium defect concentration in crystalline lithium', Phys. Rev. "
            "B 2 (1970) 828: E_f = 0.34 +- 0.04 eV, S_f = (0.9 +- 0.8) k_B, E_f = 0.63 of the "
            "self-diffusion Q")
NACHTRIEB_D = ("N. H. Nachtrieb, E. Catalano, J. A. Weil, 'Self-diffusion in solid sodium. "
               "I', J. Chem. Phys. 20 (1952) 1185: 22Na tracer D = 0.242 exp(-10.45 kcal/mol "
               "/ RT) cm^2/s, 0-95 degC")
COMPAAN = ("K. Compaan, Y. Haven, Trans. Faraday Soc. 52 (1956) 786: tracer correlation "
           "factor of vacancy diffusion in bcc, f = 0.727")
NA_SURFACE = ("surface tension of liquid Na at the melting point, 0.192 N/m (Sodium-NaK "
              "Engineering Handbook, Vol. 1, 1972); taken for the solid metal's surface "
              "energy (model value: the solid's is higher, ~0.26 J/m^2 by Tyson & Miller, "
              "Surf. Sci. 62 (1977) 267)")
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
# Na self-diffusion and vacancies (not merged into a study: the self-consistency check of
# the thermal vacancy set, D_self = f x_v D_v, and the origin of D_v below)
NA_TRACER = {"prefactor": 0.242e-4, "activation_energy": 10.45e3 * 4.184 / N_A,
             "activation_energy_error": 0.01 * EV, "correlation_factor": 0.727,
             "formation_energy_error": 0.03 * EV,
             "sources": {"prefactor": NACHTRIEB_D, "activation_energy": NACHTRIEB_D,
                         "activation_energy_error": FEDER_NA + " (quotes Q = 0.45 +- 0.01 "
                         "eV)", "correlation_factor": COMPAAN,
                         "formation_energy_error": FEDER_NA}}
NA_FORMATION = (0.42 * EV, 5.8)  # E_f [J], S_f [k_B] (Feder & Charbnau 1966)


def _thermal_vacancy_diffusivity(tracer: dict, formation: tuple[float, float]) -> float:
    """D_v at 25 degC [m^2 s^-1] that makes f x_v D_v the tracer self-diffusivity there."""
    from femcell.units import K_B, T_REF

    d_self = tracer["prefactor"] * math.exp(-tracer["activation_energy"] / (K_B * T_REF))
    x_v = math.exp(formation[1] - formation[0] / (K_B * T_REF))
    return d_self / (tracer["correlation_factor"] * x_v)


MODEL_XV = ("model value: the scaled equilibrium vacancy site fraction of the metal near the "
            "interface")

ANODE_SETS = {
    "na|na_beta_alumina": AnodeParameterSet(
        name="na|na_beta_alumina", metal="na", electrolyte="na_beta_alumina",
        vacancies={"diffusivity": _thermal_vacancy_diffusivity(NA_TRACER, NA_FORMATION),
                   "migration_energy": 0.053 * EV, "equilibrium": "thermal",
                   "formation_energy": NA_FORMATION[0], "formation_entropy": NA_FORMATION[1],
                   "equilibrium_fraction": 1e-4},
        interface={"site_density": _monolayer(NA.molar_volume), "transfer_rate": 0.0105,
                   "activation_energy": 0.14 * EV, "void_threshold": "wetting",
                   "surface_energy": 0.192, "theta_crit": 0.01, "void_rate": 10.0,
                   "void_height": 1e-9, "creep_prefactor": 0.53, "creep_exponent": 5.0,
                   "creep_activation": 44e3, "wetting_angle": math.radians(105.0)},
        sources={
            "vacancies.diffusivity": "D_v = D_self / (f x_v) at 25 degC from the 22Na tracer "
            "self-diffusivity (" + NACHTRIEB_D + "), f = 0.727 (" + COMPAAN + ") and the "
            "thermal x_v (" + FEDER_NA + ")",
            "vacancies.migration_energy": LOWACK + " (0.053 eV, bulk Na vacancy migration)",
            "vacancies.equilibrium": "x_v(T) = exp(S_f / k_B) exp(-E_f / k_B T): " + FEDER_NA,
            "vacancies.formation_energy": FEDER_NA,
            "vacancies.formation_entropy": FEDER_NA,
            "vacancies.equilibrium_fraction": MODEL_XV + " (used only with equilibrium = "
            "'fixed')",
            "interface.void_threshold": "voids open where k_B T ln(theta / x_v) pays the work "
            "of adhesion per site, gamma (1 + cos angle) / (Gamma_s N_A), at every T (the "
            "nucleation balance of docs/anode.md)",
            "interface.surface_energy": NA_SURFACE,
            "interface.site_density": "one atomic layer of Na sites, (N_A / Omega)^(2/3) / "
            "N_A with the CRC molar volume",
            "interface.transfer_rate": MODEL_KAPPA,
            "interface.activation_energy": LOWACK + " (0.13-0.15 eV on beta''-alumina, "
            "NaSICON and Na5SmSi4O12; middle taken)",
            "interface.theta_crit": MODEL_THETA_CRIT + " (used only with void_threshold = "
            "'fixed')",
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
            "vacancies.equilibrium_fraction": MODEL_XV + "; temperature independent "
            "(equilibrium = 'fixed'): the measured Li formation energy (" + FEDER_LI + ") plus "
            "any migration energy near 0.05 eV falls ~0.2 eV short of the tracer Q, so no "
            "consistent thermal set exists for Li",
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
