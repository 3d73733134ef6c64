"""Material building blocks: Arrhenius laws, diffusivity tensors and D(c) laws (SI units)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from femcell.units import EV, K_B, T_REF, R


class MaterialError(ValueError):
    """A material parameter that is not physical (one line naming it)."""


def _is_ufl(x) -> bool:
    try:
        import ufl
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, ufl.core.expr.Expr)


def _ops(x):
    """(exp, minimum, maximum, where) for numpy arrays or UFL expressions."""
    if _is_ufl(x):
        import ufl

        return (ufl.exp, ufl.min_value, ufl.max_value,
                lambda c, a, b: ufl.conditional(c, a, b))
    return np.exp, np.minimum, np.maximum, np.where


# ------------------------------------------------------------------------------ Arrhenius
@dataclass(frozen=True)
class Arrhenius:
    """A thermally activated quantity k(T) = k_ref exp(-Ea / k_B (1/T - 1/T_ref)).

    Attributes:
        value_ref: value at the reference temperature (any SI unit).
        activation_energy: Ea [J] per particle (use `Arrhenius.ev` for eV).
        t_ref: reference temperature [K].
        citation: source of the numbers.
    """

    value_ref: float
    activation_energy: float = 0.0
    t_ref: float = T_REF
    citation: str = ""

    def __post_init__(self):
        if not (math.isfinite(self.value_ref) and self.value_ref > 0):
            raise MaterialError(f"Arrhenius value must be positive, got {self.value_ref:g}")
        if not (math.isfinite(self.activation_energy) and self.activation_energy >= 0):
            raise MaterialError(
                f"activation energy must be >= 0, got {self.activation_energy:g} J")
        if not self.t_ref > 0:
            raise MaterialError(f"reference temperature must be > 0 K, got {self.t_ref:g}")

    @classmethod
    def ev(cls, value_ref: float, ea_ev: float, t_ref: float = T_REF, citation: str = ""):
        """Arrhenius law with the activation energy in eV."""
        return cls(value_ref, ea_ev * EV, t_ref, citation)

    @classmethod
    def from_prefactor(cls, prefactor: float, ea_ev: float, citation: str = ""):
        """Arrhenius law k = k0 exp(-Ea / k_B T) from its prefactor k0 and Ea [eV]."""
        return cls(prefactor * math.exp(-ea_ev * EV / (K_B * T_REF)), ea_ev * EV, T_REF,
                   citation)

    @property
    def activation_energy_ev(self) -> float:
        return self.activation_energy / EV

    @property
    def activation_energy_molar(self) -> float:
        """Ea [J mol^-1]."""
        return self.activation_energy / K_B * R

    def __call__(self, temperature: float) -> float:
        """Value at temperature [K] (a float, or a UFL expression such as a Constant)."""
        if _is_ufl(temperature):
            import ufl

            if self.activation_energy == 0:
                return self.value_ref
            return self.value_ref * ufl.exp(
                -self.activation_energy / K_B * (1.0 / temperature - 1.0 / self.t_ref))
        if not temperature > 0:
            raise MaterialError(f"temperature must be > 0 K, got {temperature:g}")
        return self.value_ref * math.exp(
            -self.activation_energy / K_B * (1.0 / temperature - 1.0 / self.t_ref))


# ------------------------------------------------------------------------------ tensors
def rotation_from_euler(angles, convention: str = "ZXZ") -> np.ndarray:
    """Rotation matrix Q (crystal -> lab) from Euler angles [rad] (Bunge ZXZ by default).

    Columns of Q are the crystal axes a, b, c expressed in the lab frame.
    """
    from scipy.spatial.transform import Rotation

    a = np.atleast_1d(np.asarray(angles, dtype=float))
    if a.size == 1:  # in-plane angle (2D)
        a = np.array([a[0], 0.0, 0.0])
    return Rotation.from_euler(convention, a).as_matrix()


def diffusivity_tensor(principal, rotation=None, dim: int = 3) -> np.ndarray:
    """D_lab = Q diag(principal) Q^T, restricted to the first `dim` lab axes.

    Args:
        principal: principal diffusivities [m^2 s^-1] along the crystal axes (1 or 3 values).
        rotation: 3x3 rotation matrix Q (crystal -> lab); identity when None.
        dim: geometric dimension of the model (3, 2 or 1).
    """
    p = np.atleast_1d(np.asarray(principal, dtype=float))
    if p.size == 1:
        p = np.repeat(p, 3)
    if p.size != 3:
        raise MaterialError(f"expected 1 or 3 principal diffusivities, got {p.size}")
    if np.any(~np.isfinite(p)) or np.any(p <= 0):
        raise MaterialError(f"principal diffusivities must be positive, got {p.tolist()}")
    q = np.eye(3) if rotation is None else np.asarray(rotation, dtype=float)
    d = q @ np.diag(p) @ q.T
    return d[:dim, :dim]


# ------------------------------------------------------------------------------ D(c) laws
class DiffusivityLaw:
    """D(c) = D_ref(T) * factor(theta), theta = c / c_max. Subclasses define `factor`.

    `factor` accepts numpy arrays or UFL expressions; `temperature` [K] is needed only by
    laws with a thermodynamic factor.
    """

    name = "law"
    linear = False  # True when factor is independent of theta

    def factor(self, theta, temperature: float = T_REF):
        raise NotImplementedError

    def check(self, temperature: float = T_REF) -> None:
        """Raise MaterialError if D is not positive for all theta in [0, 1]."""
        th = np.linspace(0.0, 0.999, 1001)
        f = np.asarray(self.factor(th, temperature), dtype=float) * np.ones_like(th)
        if np.any(~np.isfinite(f)) or np.any(f <= 0):
            raise MaterialError(f"D(c) law {self.name!r} gives a non-positive diffusivity "
                                f"at theta = {th[np.argmin(f)]:.3f}")


@dataclass(frozen=True)
class Constant(DiffusivityLaw):
    """D independent of concentration."""

    name = "constant"
    linear = True

    def factor(self, theta, temperature: float = T_REF):
        return 1.0 + 0.0 * theta


@dataclass(frozen=True)
class Darken(DiffusivityLaw):
    """Chemical diffusivity D = D*(theta) Gamma(theta) (Darken), written out explicitly.

    Subclasses give the tracer (self-diffusion) factor D*/D0 and the thermodynamic factor
    Gamma = 1 + dln(gamma)/dln(c).
    """

    clip: float = 1e-6  # keeps theta inside [0, 1 - clip] in the singular factors

    def tracer(self, theta, temperature):
        raise NotImplementedError

    def gamma(self, theta, temperature):
        raise NotImplementedError

    def factor(self, theta, temperature: float = T_REF):
        _, mn, mx, _ = _ops(theta)
        th = mn(mx(theta, 0.0), 1.0 - self.clip)
        return self.tracer(th, temperature) * self.gamma(th, temperature)


@dataclass(frozen=True)
class LatticeGas(Darken):
    """Ideal lattice gas: site blocking D* = D0 (1 - theta), Gamma = 1 / (1 - theta).

    The chemical diffusivity is exactly D0; femcell evaluates both factors so the Darken
    machinery is exercised (PHYSICS.md section 1).
    """

    name = "lattice_gas"

    def tracer(self, theta, temperature):
        return 1.0 - theta

    def gamma(self, theta, temperature):
        return 1.0 / (1.0 - theta)


@dataclass(frozen=True)
class RegularSolution(Darken):
    """Regular solution: D* = D0 (1 - theta), Gamma = 1/(1 - theta) - 2 Omega theta / (R T).

    Attributes:
        omega: interaction parameter [J mol^-1]; Omega > 2 R T opens a spinodal where Gamma
            < 0 and Fick's law is ill-posed (use Cahn-Hilliard instead).
    """

    name = "regular_solution"
    omega: float = 0.0

    def tracer(self, theta, temperature):
        return 1.0 - theta

    def gamma(self, theta, temperature):
        return 1.0 / (1.0 - theta) - 2.0 * self.omega * theta / (R * temperature)

    def check(self, temperature: float = T_REF) -> None:
        if self.omega > 2 * R * temperature:
            raise MaterialError(
                f"regular_solution omega = {self.omega:g} J/mol exceeds 2RT = "
                f"{2 * R * temperature:.0f} J/mol at {temperature:.1f} K: the material phase-"
                "separates (Gamma < 0); use Cahn-Hilliard, not Fick")
        super().check(temperature)


@dataclass(frozen=True)
class Vacancy(DiffusivityLaw):
    """Vacancy-mediated diffusion, falling as the host fills: factor = max((1-theta)^m, floor)."""

    name = "vacancy"
    exponent: float = 1.0
    floor: float = 1e-3

    def __post_init__(self):
        if self.exponent <= 0 or not (0 < self.floor < 1):
            raise MaterialError("vacancy law needs exponent > 0 and 0 < floor < 1")

    def factor(self, theta, temperature: float = T_REF):
        _, mn, mx, _ = _ops(theta)
        return mx((1.0 - mn(mx(theta, 0.0), 1.0)) ** self.exponent, self.floor)


@dataclass(frozen=True)
class Interstitial(DiffusivityLaw):
    """Interstitial-type diffusion, rising with filling: factor = exp(beta theta), beta >= 0."""

    name = "interstitial"
    beta: float = 1.0

    def __post_init__(self):
        if self.beta < 0:
            raise MaterialError(f"interstitial law needs beta >= 0, got {self.beta}")

    def factor(self, theta, temperature: float = T_REF):
        exp, _, _, _ = _ops(theta)
        return exp(self.beta * theta)


@dataclass(frozen=True)
class Exponential(Interstitial):
    """Alias of `Interstitial` (factor = exp(beta theta)) for fitted data."""

    name = "exponential"


@dataclass(frozen=True)
class PowerLaw(Vacancy):
    """Alias of `Vacancy` with a free exponent (factor = (1 - theta)^m)."""

    name = "power_law"


@dataclass(frozen=True)
class Tabulated(DiffusivityLaw):
    """Piecewise-linear factor(theta) through tabulated points, flat outside the table."""

    name = "tabulated"
    theta: tuple[float, ...] = (0.0, 1.0)
    values: tuple[float, ...] = (1.0, 1.0)

    def __post_init__(self):
        th, v = np.asarray(self.theta, float), np.asarray(self.values, float)
        if th.size != v.size or th.size < 2:
            raise MaterialError("tabulated D(c): theta and values need the same length >= 2")
        if np.any(np.diff(th) <= 0):
            raise MaterialError("tabulated D(c): theta must increase strictly")
        if np.any(v <= 0):
            raise MaterialError("tabulated D(c): values must be positive")

    def factor(self, theta, temperature: float = T_REF):
        th, v = list(self.theta), list(self.values)
        if not _is_ufl(theta):
            return np.interp(theta, th, v)
        import ufl

        expr = ufl.as_ufl(v[-1])
        for i in range(len(th) - 2, -1, -1):
            seg = v[i] + (v[i + 1] - v[i]) * (theta - th[i]) / (th[i + 1] - th[i])
            expr = ufl.conditional(ufl.lt(theta, th[i + 1]), seg, expr)
        return ufl.conditional(ufl.lt(theta, th[0]), v[0], expr)


LAWS: dict[str, type[DiffusivityLaw]] = {
    cls.name: cls
    for cls in (Constant, LatticeGas, RegularSolution, Vacancy, Interstitial, Exponential,
                PowerLaw, Tabulated)
}


# ------------------------------------------------------------------------------ material
@dataclass(frozen=True)
class IntercalationMaterial:
    """An intercalation (active) material for the diffusion physics.

    Attributes:
        name: library key.
        c_max: maximum (site) concentration [mol m^-3].
        diffusivity: principal diffusivities along crystal axes a, b, c, each Arrhenius
            [m^2 s^-1] (one value: isotropic).
        law: concentration dependence D(c) = D(T) factor(c / c_max).
        molar_volume: [m^3 mol^-1] of the host (0 when unknown).
        ocv: open-circuit potential U(theta) [V vs Li/Li+], a function accepting numpy
            arrays and UFL expressions (None when not known).
        citations: sources of the values.
    """

    name: str
    c_max: float
    diffusivity: tuple[Arrhenius, ...]
    law: DiffusivityLaw = field(default_factory=Constant)
    molar_volume: float = 0.0
    citations: tuple[str, ...] = ()
    ocv: object = field(default=None, compare=False)

    def __post_init__(self):
        if not (math.isfinite(self.c_max) and self.c_max > 0):
            raise MaterialError(f"material {self.name}: c_max must be positive, got "
                                f"{self.c_max:g} mol/m^3")
        if len(self.diffusivity) not in (1, 3):
            raise MaterialError(f"material {self.name}: give 1 or 3 principal diffusivities")
        self.law.check()

    @property
    def isotropic(self) -> bool:
        return len(self.diffusivity) == 1 or len({(d.value_ref, d.activation_energy)
                                                  for d in self.diffusivity}) == 1

    def principal(self, temperature: float) -> np.ndarray:
        """Principal diffusivities (3 values) at temperature [K], in m^2 s^-1."""
        d = [law(temperature) for law in self.diffusivity]
        return np.array(d * 3 if len(d) == 1 else d)

    def reference_diffusivity(self, temperature: float = T_REF) -> float:
        """The largest principal diffusivity [m^2 s^-1] (sets the time scale)."""
        return float(np.max(self.principal(temperature)))

    def all_citations(self) -> list[str]:
        cites = list(self.citations) + [d.citation for d in self.diffusivity if d.citation]
        return list(dict.fromkeys(c for c in cites if c))


@dataclass(frozen=True)
class Conductor:
    """A conductor for the charge-transport physics.

    Attributes:
        name: library key.
        conductivity: sigma(T) [S m^-1], Arrhenius.
        carrier: "ion" (solid electrolyte, single-ion conductor) or "electron" (electrode).
        molar_volume: [m^3 mol^-1] (metals: for the stress-modified kinetics and the
            interface velocity Omega j / F); 0 when not relevant.
        citations: sources of the values.
        permittivity: relative dielectric permittivity eps_r (impedance: the displacement
            current eps0 eps_r dE/dt); None when not known.
    """

    name: str
    conductivity: Arrhenius
    carrier: str = "ion"
    molar_volume: float = 0.0
    citations: tuple[str, ...] = ()
    permittivity: float | None = None

    def __post_init__(self):
        if self.carrier not in ("ion", "electron"):
            raise MaterialError(f"material {self.name}: carrier must be 'ion' or 'electron'")
        if self.molar_volume < 0:
            raise MaterialError(f"material {self.name}: molar_volume must be >= 0")
        if self.permittivity is not None and not (math.isfinite(self.permittivity)
                                                  and self.permittivity >= 1):
            raise MaterialError(f"material {self.name}: permittivity (relative) must be >= 1, "
                                f"got {self.permittivity!r}")

    def all_citations(self) -> list[str]:
        cites = list(self.citations) + ([self.conductivity.citation]
                                        if self.conductivity.citation else [])
        return list(dict.fromkeys(c for c in cites if c))
