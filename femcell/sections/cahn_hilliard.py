"""[cahn_hilliard]: phase separation of one species by the Cahn-Hilliard equation (the
phase-field kind's physics). Schema here (no DOLFINx); `build` makes the CahnHilliard physics.

    [cahn_hilliard]
    energy = { kind = "double_well", rho = "5 J/m^3", alpha = 0.3, beta = 0.7 }
    # or { kind = "regular_solution", interaction = "12 kJ/mol", molar_volume = "44 cm^3/mol" }
    kappa = "2e-12 J/m"            # gradient energy (or a gdim x gdim table in J/m)
    mobility = "5e-12 m^5/(J*s)"
    scheme = "implicit"            # or "convex_splitting" (with time.scheme = "euler": the
                                   # free energy never rises, whatever the step)
    initial = { kind = "noise", value = 0.5, amplitude = 0.01, seed = 1 }
    # or { kind = "uniform", value = 0.4 } or { kind = "pfhub_bm1", length_unit = "1 um" }

An active particle of a cell (the protocol kind): the field lives on one cell region and, when
that region is the electrode of a [[kinetics]] reaction, the reaction is driven by the
chemical potential (Bazant / Cogswell: U_eq = E0 - V_m mu / F, i0 with (1 - c) exp(alpha_c
V_m mu / R T)):

    [cahn_hilliard]
    region = "active"
    energy = { kind = "regular_solution", interaction = "11.1 kJ/mol",
               molar_volume = "43.8 cm^3/mol" }
    kappa = "5e-10 J/m"
    diffusivity = [[1e-14, 0], [0, 1e-16]]   # m^2/s: M = D c (1 - c) V_m / (R T)
    standard_potential = "3.42 V"            # E0: U_eq of the homogeneous c = 1/2
    exchange = "bazant"                      # or "ideal": (c/0.5)^alpha_c ((1-c)/0.5)^alpha_a
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from femcell.config.base import Length, Q, _error, _Model, _pos


class EnergySection(_Model):
    """The homogeneous free energy per volume."""

    kind: Literal["double_well", "regular_solution"]
    rho: Q("energy_density", _pos) | None = None  # double well
    alpha: float = 0.3
    beta: float = 0.7
    interaction: Q("molar_energy") | None = None  # regular solution: Omega
    molar_volume: Q("molar_volume", _pos) | None = None  # regular solution: V_m of the sites

    @model_validator(mode="after")
    def _needs(self):
        need = {"double_well": ("rho",), "regular_solution": ("interaction", "molar_volume")}
        for key in need[self.kind]:
            if getattr(self, key) is None:
                raise _error(key, f"is needed for kind = \"{self.kind}\"")
        for kind, keys in need.items():
            for key in keys:
                if kind != self.kind and getattr(self, key) is not None:
                    raise _error(key, f"is a key of kind = \"{kind}\", not \"{self.kind}\"")
        if self.kind == "double_well" and not self.alpha < self.beta:
            raise _error("beta", f"= {self.beta:g} must exceed alpha = {self.alpha:g}")
        return self


class InitialSection(_Model):
    """c at t = 0: uniform, uniform plus smooth seeded noise, or the PFHub benchmark-1
    field (0.5 + 0.01 [cos(0.105 x) cos(0.11 y) + ...] with x, y in `length_unit`)."""

    kind: Literal["uniform", "noise", "pfhub_bm1"] = "uniform"
    value: float = Field(default=0.5, gt=0, lt=1)
    amplitude: float = Field(default=0.01, ge=0, lt=0.5)
    seed: int = Field(default=0, ge=0)
    length_unit: Length = 1e-6


class CahnHilliardSection(_Model):
    """[cahn_hilliard]: free energy, gradient energy, mobility, scheme and initial state; the
    region and electrode reaction of an active particle."""

    region: str | None = None
    energy: EnergySection
    kappa: Q("gradient_energy", _pos) | list[list[float]]
    mobility: Q("mobility", _pos) | list[list[float]] | None = None
    diffusivity: Q("diffusivity", _pos) | list[list[float]] | None = None
    scheme: Literal["implicit", "convex_splitting"] = "implicit"
    initial: InitialSection = InitialSection()
    standard_potential: Q("potential") | None = None
    exchange: Literal["bazant", "ideal"] | None = None  # None: "bazant" with a reaction

    @model_validator(mode="after")
    def _square_tables(self):
        for key, unit in (("kappa", "J/m"), ("mobility", "m^5/(J*s)"), ("diffusivity",
                                                                         "m^2/s")):
            k = getattr(self, key)
            if isinstance(k, list) and any(len(row) != len(k) for row in k):
                raise _error(key, f"= {k}: a number or a square table (gdim x gdim, {unit})")
        return self

    @model_validator(mode="after")
    def _one_mobility(self):
        if (self.mobility is None) == (self.diffusivity is None):
            raise _error("mobility", "give exactly one of mobility (constant M) and "
                         "diffusivity (the lattice-gas M = D c (1 - c) V_m / (R T))")
        rs = self.energy.kind == "regular_solution"
        if self.diffusivity is not None and not rs:
            raise _error("diffusivity", "needs energy.kind = \"regular_solution\" (its molar "
                         "volume); give mobility for a double well")
        if self.exchange is not None and self.standard_potential is None:
            raise _error("exchange", "is the exchange current of the electrode reaction: it "
                         "needs standard_potential (and region)")
        if self.standard_potential is not None and not (rs and self.region):
            raise _error("standard_potential", "is the electrode reaction of an active "
                         "particle: it needs region and energy.kind = \"regular_solution\"")
        return self

    @model_validator(mode="after")
    def _initial_within_sites(self):
        ini = self.initial
        lo, hi = ini.value - NOISE_PEAK * ini.amplitude, ini.value + NOISE_PEAK * ini.amplitude
        if ini.kind == "noise" and not (0 < lo and hi < 1):
            raise _error(("initial", "amplitude"), f"= {ini.amplitude:g}: the noise reaches "
                         f"{NOISE_PEAK:.2f} x amplitude around value = {ini.value:g} and must "
                         "stay within (0, 1)")
        return self


KEYS = {"cahn_hilliard": (CahnHilliardSection, ...)}
N_MODES = 24  # cosine modes of the seeded noise
NOISE_PEAK = N_MODES * math.sqrt(2.0 / N_MODES)  # the noise bound over its amplitude


def free_energy(sec, temperature: float):
    """The DoubleWell / RegularSolution of an [cahn_hilliard] energy table at T [K]."""
    from femcell.physics.cahn_hilliard import DoubleWell, RegularSolution

    e = sec.energy
    if e.kind == "double_well":
        return DoubleWell(e.rho, e.alpha, e.beta)
    return RegularSolution(temperature, e.interaction, e.molar_volume)


def initial_field(ini, gdim: int, size: float):
    """The initial c as a callable x -> values (identical on every rank)."""
    import numpy as np

    if ini.kind == "uniform":
        return float(ini.value)
    if ini.kind == "pfhub_bm1":
        u = ini.length_unit

        def bm1(x):
            X, Y = x[0] / u, x[1] / u
            return 0.5 + 0.01 * (np.cos(0.105 * X) * np.cos(0.11 * Y)
                                 + (np.cos(0.13 * X) * np.cos(0.087 * Y)) ** 2
                                 + np.cos(0.025 * X - 0.15 * Y) * np.cos(0.07 * X - 0.02 * Y))
        return bm1
    # smooth seeded noise: 24 cosine modes with wavelengths between size / 8 and size
    rng = np.random.default_rng(ini.seed)
    k = rng.uniform(2 * np.pi / size, 16 * np.pi / size, (N_MODES, gdim))
    k *= rng.choice([-1.0, 1.0], (N_MODES, gdim))
    phase = rng.uniform(0, 2 * np.pi, N_MODES)
    amp = ini.amplitude * np.sqrt(2.0 / N_MODES)  # rms = amplitude

    def noise(x):
        arg = k @ x[:gdim] + phase[:, None]
        return ini.value + amp * np.cos(arg).sum(axis=0)
    return noise


def build(cfg, ctx) -> list:
    """The CahnHilliard physics of [cahn_hilliard] (in ctx.info["cahn_hilliard"])."""
    import numpy as np

    from femcell.config.base import ConfigError
    from femcell.materials.core import MaterialError
    from femcell.physics.cahn_hilliard import CahnHilliard, SurfaceReaction

    sec, domain = cfg.cahn_hilliard, ctx.domain
    m_key = "mobility" if sec.mobility is not None else "diffusivity"
    for key, value in (("kappa", sec.kappa), (m_key, getattr(sec, m_key))):
        if np.isscalar(value):
            continue
        if domain.coordinates != "cartesian":
            raise ConfigError(f"cahn_hilliard.{key}: a tensor needs cartesian coordinates")
        if np.shape(value) != (domain.gdim, domain.gdim):
            raise ConfigError(f"cahn_hilliard.{key}: a {domain.gdim} x {domain.gdim} table "
                              f"for this {domain.gdim}D mesh, got shape {np.shape(value)}")
    if sec.initial.kind == "pfhub_bm1" and domain.gdim != 2:
        raise ConfigError("cahn_hilliard.initial.kind = \"pfhub_bm1\" is a 2D field")
    reaction = None
    if sec.region is not None:
        if sec.region not in domain.cell_regions:
            raise ConfigError(f"cahn_hilliard.region: unknown cell region {sec.region!r}; "
                              f"known: {', '.join(sorted(domain.cell_regions))}")
        electrodes = [k.electrode for k in (getattr(cfg, "kinetics", None) or [])]
        if any(ic.region == sec.region for ic in getattr(cfg, "intercalation", None) or []):
            raise ConfigError(f"cahn_hilliard.region: {sec.region!r} is also an "
                              "[[intercalation]] region; one physics per particle region")
        if sec.region in electrodes and sec.standard_potential is None:
            raise ConfigError(f"cahn_hilliard.standard_potential is needed: {sec.region!r} is "
                              "the electrode of a [[kinetics]] reaction")
        if sec.standard_potential is not None and sec.region not in electrodes:
            raise ConfigError(f"cahn_hilliard.standard_potential: {sec.region!r} is not the "
                              "electrode of any [[kinetics]] reaction")
        if sec.standard_potential is not None:
            reaction = SurfaceReaction(sec.standard_potential, sec.exchange or "bazant")
    try:
        ch = CahnHilliard(free_energy(sec, ctx.temperature), sec.kappa,
                          getattr(sec, m_key),
                          initial_field(sec.initial, domain.gdim, domain.size()),
                          scheme=sec.scheme,
                          mobility_law="constant" if m_key == "mobility" else "lattice_gas",
                          name=f"c_{sec.region}" if sec.region else "c", region=sec.region,
                          reaction=reaction)
    except MaterialError as exc:
        raise ConfigError(f"cahn_hilliard.{exc}") from None
    if reaction is not None:
        ctx.couple(sec.region, ch)
    ctx.info["cahn_hilliard"] = ch
    return [ch]
