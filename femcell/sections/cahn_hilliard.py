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
    """[cahn_hilliard]: free energy, gradient energy, mobility, scheme and initial state."""

    energy: EnergySection
    kappa: Q("gradient_energy", _pos) | list[list[float]]
    mobility: Q("mobility", _pos)
    scheme: Literal["implicit", "convex_splitting"] = "implicit"
    initial: InitialSection = InitialSection()

    @model_validator(mode="after")
    def _square_kappa(self):
        k = self.kappa
        if isinstance(k, list) and any(len(row) != len(k) for row in k):
            raise _error("kappa", f"= {k}: a number or a square table (gdim x gdim, J/m)")
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
    from femcell.physics.cahn_hilliard import CahnHilliard

    sec, domain = cfg.cahn_hilliard, ctx.domain
    if domain.coordinates != "cartesian" and not np.isscalar(sec.kappa):
        raise ConfigError("cahn_hilliard.kappa: a tensor needs cartesian coordinates")
    if not np.isscalar(sec.kappa) and np.shape(sec.kappa) != (domain.gdim, domain.gdim):
        raise ConfigError(f"cahn_hilliard.kappa: a {domain.gdim} x {domain.gdim} table for "
                          f"this {domain.gdim}D mesh, got shape {np.shape(sec.kappa)}")
    if sec.initial.kind == "pfhub_bm1" and domain.gdim != 2:
        raise ConfigError("cahn_hilliard.initial.kind = \"pfhub_bm1\" is a 2D field")
    try:
        ch = CahnHilliard(free_energy(sec, ctx.temperature), sec.kappa, sec.mobility,
                          initial_field(sec.initial, domain.gdim, domain.size()),
                          scheme=sec.scheme)
    except MaterialError as exc:
        raise ConfigError(f"cahn_hilliard.{exc}") from None
    ctx.info["cahn_hilliard"] = ch
    return [ch]
