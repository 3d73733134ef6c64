"""Metal-anode parameter sets (vacancies, interface, creep) and interlayers: the records the
library (femcell.materials.library.anodes) fills with cited values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from femcell.materials.core import MaterialError


@dataclass(frozen=True)
class AnodeParameterSet:
    """Vacancy transport, interfacial exchange, voids and creep of a metal anode on one solid
    electrolyte (PHYSICS.md section 3), keyed like a CCD study's [vacancies] and [interface]
    tables, all SI.

    Attributes:
        name: library key "metal|electrolyte".
        metal, electrolyte: library conductors the set belongs to.
        vacancies: diffusivity [m^2 s^-1 at 25 degC], migration_energy [J],
            equilibrium ("fixed" | "thermal"), equilibrium_fraction [-] ("fixed"),
            formation_energy [J] and formation_entropy [k_B] ("thermal").
        interface: site_density [mol m^-2], transfer_rate [mol m^-2 s^-1 at 25 degC],
            activation_energy [J], void_threshold ("fixed" | "wetting"), theta_crit [-]
            ("fixed"), surface_energy [J m^-2] ("wetting"), void_rate [mol m^-2 s^-1],
            void_height [m], creep_prefactor [MPa^-n s^-1 at 25 degC], creep_exponent [-],
            creep_activation [J mol^-1], wetting_angle [rad] (the metal's contact angle on
            the bare electrolyte).
        sources: "section.key" -> citation, or "model value: ..." where the literature gives
            no number (said so explicitly, never hidden).
    """

    name: str
    metal: str
    electrolyte: str
    vacancies: dict
    interface: dict
    sources: dict

    def __post_init__(self):
        for sec in ("vacancies", "interface"):
            for key in getattr(self, sec):
                if f"{sec}.{key}" not in self.sources:
                    raise MaterialError(f"anode set {self.name}: {sec}.{key} has no source")

    def all_citations(self) -> list[str]:
        return list(dict.fromkeys(self.sources.values()))


@dataclass(frozen=True)
class Interlayer:
    """A thin layer between a metal anode and its electrolyte (e.g. a Sn-Na alloy) that changes
    the interfacial vacancy-transfer barrier and the wetting (PHYSICS.md section 3).

    Attributes:
        name: library key.
        metal: the metal it is made for.
        activation_energy: E_int of the vacancy transfer across it [J].
        wetting_angle: contact angle of the metal on it [rad].
        sources: "key" -> citation or "model value: ...".
    """

    name: str
    metal: str
    activation_energy: float
    wetting_angle: float
    sources: dict

    def __post_init__(self):
        if not 0 < self.wetting_angle < np.pi:
            raise MaterialError(f"interlayer {self.name}: wetting angle must lie in (0, pi)")

    def all_citations(self) -> list[str]:
        return list(dict.fromkeys(self.sources.values()))
