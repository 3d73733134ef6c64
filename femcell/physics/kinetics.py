"""Interfacial kinetic laws (rate laws only; PHYSICS.md section 2).

Each law gives the interfacial current density j [A m^-2] (positive = anodic: oxidation of
the electrode, e.g. Li -> Li+ + e-, stripping) from the overpotential
eta = phi_s - phi_l - U_eq [V] at temperature T [K]. The laws evaluate on numpy arrays and
on UFL expressions alike, so the same object drives the weak form and the checks.

Exponentials never overflow: beyond |x| = X_LIN (x = alpha F eta / R T) the exponential is
continued linearly (value and slope match), so a wild Newton iterate gives a large, finite
current instead of Inf, while every physically reachable overpotential (|eta| up to
X_LIN R T / (alpha F) ~ 1.3 V at alpha = 1, 25 degC) follows the exact law. A solution
that needs the continuation (e.g. an absurdly small i0) is not a solution of the law:
`KineticLaw.exponent` gives the largest argument, and ChargeTransport reports per interface
whether an accepted state uses the continuation ("kinetics_safeguard[<interface>]").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from femcell.materials.core import Arrhenius, MaterialError, _is_ufl
from femcell.units import T_REF
from femcell.units import F as FARADAY
from femcell.units import R as GAS

X_LIN = 50.0  # exp(50) = 5.2e21: beyond this the exponential continues linearly


def safe_exp(x):
    """exp(x) for x <= X_LIN, exp(X_LIN) (1 + x - X_LIN) above (C1, overflow-free)."""
    if _is_ufl(x):
        import ufl

        return ufl.conditional(ufl.le(x, X_LIN), ufl.exp(ufl.min_value(x, X_LIN)),
                               math.exp(X_LIN) * (1.0 + x - X_LIN))
    x = np.asarray(x, dtype=float)
    xc = np.minimum(x, X_LIN)
    return np.where(x <= X_LIN, np.exp(xc), math.exp(X_LIN) * (1.0 + x - X_LIN))


def _f(temperature):
    """F / (R T) [V^-1]."""
    return FARADAY / (GAS * temperature)


class KineticLaw:
    """Base class: `current(eta, T)` [A m^-2] and its small-signal resistance [ohm m^2]."""

    def current(self, eta, temperature=T_REF, factor=1.0):
        """Current density [A m^-2] at overpotential eta [V]; `factor` scales i0 (e.g. contact
        fraction, concentration dependence)."""
        raise NotImplementedError

    def charge_transfer_resistance(self, temperature=T_REF) -> float:
        """R_ct = (dj/deta)^-1 at eta = 0 [ohm m^2]."""
        h = 1e-7
        return 2 * h / float(self.current(h, temperature) - self.current(-h, temperature))

    def exponent(self, eta, temperature=T_REF):
        """Largest argument x this law passes to safe_exp at overpotential eta [V] and
        temperature T [K] (numpy or UFL); the law is exact while x <= X_LIN. None for a law
        without exponentials."""
        return None

    def transfer_coefficients(self) -> tuple[float, float]:
        """(alpha_a, alpha_c) [-] (0.5, 0.5 for a law without them)."""
        return (0.5, 0.5)

    def base_law(self) -> KineticLaw:
        """The underlying rate law (itself; a modifier returns the law it wraps)."""
        return self

    def citations(self) -> list[str]:
        return []


@dataclass(frozen=True)
class ButlerVolmer(KineticLaw):
    """j = i0(T) [exp(alpha_a F eta / R T) - exp(-alpha_c F eta / R T)].

    Attributes:
        i0: exchange current density [A m^-2], Arrhenius in T.
        alpha_a: anodic transfer coefficient (0, 1].
        alpha_c: cathodic transfer coefficient (0, 1].
    """

    i0: Arrhenius
    alpha_a: float = 0.5
    alpha_c: float = 0.5

    def __post_init__(self):
        for name in ("alpha_a", "alpha_c"):
            a = getattr(self, name)
            if not 0 < a <= 1:
                raise MaterialError(f"Butler-Volmer {name} must be in (0, 1], got {a}")

    def current(self, eta, temperature=T_REF, factor=1.0):
        f = _f(temperature)
        i0 = self.i0(temperature) * factor
        return i0 * (safe_exp(self.alpha_a * f * eta) - safe_exp(-self.alpha_c * f * eta))

    def charge_transfer_resistance(self, temperature=T_REF) -> float:
        return 1.0 / (self.i0(temperature) * (self.alpha_a + self.alpha_c) * _f(temperature))

    def exponent(self, eta, temperature=T_REF):
        """max(alpha_a F eta / R T, -alpha_c F eta / R T): the argument of the growing branch."""
        f = _f(temperature)
        xa, xc = self.alpha_a * f * eta, -self.alpha_c * f * eta
        if _is_ufl(xa) or _is_ufl(xc):
            import ufl

            return ufl.max_value(xa, xc)
        return np.maximum(xa, xc)

    def transfer_coefficients(self) -> tuple[float, float]:
        return (self.alpha_a, self.alpha_c)

    def tafel_slope(self, temperature=T_REF, branch: str = "anodic") -> float:
        """Tafel slope [V per decade]: 2.303 R T / (alpha F)."""
        a = self.alpha_a if branch == "anodic" else self.alpha_c
        return math.log(10.0) / (a * _f(temperature))

    def citations(self):
        return [self.i0.citation] if self.i0.citation else []


@dataclass(frozen=True)
class LinearKinetics(ButlerVolmer):
    """Small-overpotential limit of Butler-Volmer: j = i0 (alpha_a + alpha_c) F eta / (R T)."""

    def current(self, eta, temperature=T_REF, factor=1.0):
        return self.i0(temperature) * factor * (self.alpha_a + self.alpha_c) * _f(
            temperature) * eta

    def exponent(self, eta, temperature=T_REF):
        return None  # linear: no exponential to continue


@dataclass(frozen=True)
class Tafel(ButlerVolmer):
    """Large-overpotential limit: only the forward branch of the sign of eta,
    j = i0 exp(alpha_a f eta) for eta > 0 and -i0 exp(-alpha_c f eta) for eta < 0."""

    def current(self, eta, temperature=T_REF, factor=1.0):
        f = _f(temperature)
        i0 = self.i0(temperature) * factor
        an = i0 * safe_exp(self.alpha_a * f * eta)
        ca = -i0 * safe_exp(-self.alpha_c * f * eta)
        if _is_ufl(eta):
            import ufl

            return ufl.conditional(ufl.ge(eta, 0.0), an, ca)
        return np.where(np.asarray(eta) >= 0, an, ca)


@dataclass(frozen=True)
class StressModified(KineticLaw):
    """A kinetic law whose equilibrium potential shifts by -Omega p / F under pressure p.

    eta_eff = eta + Omega p / F: compressing the metal (p > 0) favours its oxidation
    (stripping) and hinders plating (PHYSICS.md: 10 mV of overpotential ~ 74 MPa for Li).

    Attributes:
        law: the underlying kinetic law.
        molar_volume: Omega of the metal [m^3 mol^-1].
        pressure: hydrostatic pressure p [Pa] (a float, or a UFL expression in the form).
    """

    law: KineticLaw
    molar_volume: float
    pressure: object = 0.0

    def shift(self):
        """The overpotential shift Omega p / F [V]."""
        return self.molar_volume * self.pressure / FARADAY

    def current(self, eta, temperature=T_REF, factor=1.0):
        return self.law.current(eta + self.shift(), temperature, factor)

    def charge_transfer_resistance(self, temperature=T_REF) -> float:
        return self.law.charge_transfer_resistance(temperature)

    def exponent(self, eta, temperature=T_REF):
        return self.law.exponent(eta + self.shift(), temperature)

    def transfer_coefficients(self) -> tuple[float, float]:
        return self.law.transfer_coefficients()

    def base_law(self) -> KineticLaw:
        return self.law.base_law()

    def citations(self):
        return self.law.citations()


LAWS = {"butler_volmer": ButlerVolmer, "linear": LinearKinetics, "tafel": Tafel}


class InterfaceKinetics:
    """A kinetic law bound to an electrode|electrolyte interface.

    Args:
        electrode: cell region of the electrode (its potential is phi_s).
        electrolyte: cell region of the electrolyte (phi_l).
        law: the kinetic law.
        equilibrium_potential: U_eq [V] of the electrode reaction against the reference the
            electrolyte potential is measured to (a coupling may replace it, e.g. the
            open-circuit potential of an intercalation particle).
        couplings: ElectrodeCoupling physics acting on this reaction, in order: each may set
            U_eq, scale i0, shift the overpotential and take the interfacial current into
            its own fields (e.g. a Diffusion particle, an AnodeInterface).
    """

    def __init__(self, electrode: str, electrolyte: str, law: KineticLaw,
                 equilibrium_potential: float = 0.0, couplings=()):
        self.electrode = electrode
        self.electrolyte = electrolyte
        self.law = law
        self.equilibrium_potential = equilibrium_potential
        self.couplings = tuple(couplings)

    def exchange_factor(self, theta):
        """Concentration factor of i0 of this law at filling theta (see
        `concentration_exchange_factor`)."""
        return concentration_exchange_factor(self.law, theta)

    def __repr__(self):
        return (f"InterfaceKinetics({self.electrode!r}, {self.electrolyte!r}, {self.law!r}, "
                f"{self.equilibrium_potential!r}, couplings={len(self.couplings)})")


def concentration_exchange_factor(law: KineticLaw, theta):
    """Concentration factor of i0 for an insertion reaction at filling theta = c / c_max:
    (theta / 0.5)^alpha_c ((1 - theta) / 0.5)^alpha_a (1 at theta = 0.5; theta clipped to
    [1e-9, 1 - 1e-9]); numpy or UFL."""
    aa, ac = law.transfer_coefficients()
    if _is_ufl(theta):
        import ufl

        th = ufl.max_value(ufl.min_value(theta, 1 - 1e-9), 1e-9)
    else:
        th = np.clip(theta, 1e-9, 1 - 1e-9)
    return (th / 0.5) ** ac * ((1 - th) / 0.5) ** aa
