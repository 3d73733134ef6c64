"""Mechanical properties: elastic constants, power-law creep and fracture toughness (SI units).

Conventions:
    * Voigt notation orders stresses and strains xx, yy, zz, yz, xz, xy; the shear strains
      are engineering strains (gamma_yz = 2 eps_yz), so sigma = C eps with C the 6x6 matrix.
    * A rotation matrix R maps crystal to lab components (v_lab = R v_crystal; its columns
      are the crystal axes in the lab frame), as `femcell.materials.core.rotation_from_euler`.
    * Chemical swelling: a concentration change c - c0 [mol m^-3] gives the isotropic
      linear strain Omega (c - c0) / 3 with the partial molar volume Omega [m^3 mol^-1].
    * Creep rates follow an Arrhenius law about a reference temperature, as
      `femcell.materials.core.Arrhenius`: the prefactor is the rate at sigma0 and t_ref.

Every library material with mechanics has a module-level ``MECHANICS`` object in its
`femcell.materials.library` module; `get_mechanics` returns it by library key.
"""

from __future__ import annotations

import importlib
import math
import sys
from dataclasses import dataclass

import numpy as np

from femcell.materials.core import MaterialError
from femcell.units import K_B, T_REF

# library key -> module of femcell.materials.library holding a MECHANICS object. The keys
# follow `femcell.materials.library._REGISTRY`; "latp" and "llzto" exist only here.
_MECHANICS_MODULES = {
    "llzo": "llzo",
    "llzto": "llzto",
    "latp": "latp",
    "li6ps5cl": "lpscl",
    "na_beta_alumina": "beta_alumina",
    "li": "li",
    "na": "na",
    "nmc811": "nmc",
    "lfp": "lfp",
}


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _is_ufl(x) -> bool:
    """True for a UFL expression (checked without importing UFL)."""
    ufl = sys.modules.get("ufl")
    return ufl is not None and isinstance(x, ufl.core.expr.Expr)


def _citations(values, what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    out = tuple(values)
    if not all(isinstance(c, str) for c in out):
        raise MaterialError(f"{what}: citations must be strings")
    return out


def _check_rotation(rotation) -> np.ndarray:
    r = np.asarray(rotation, dtype=float)
    if r.shape != (3, 3) or not np.all(np.isfinite(r)):
        raise MaterialError(f"rotation must be a finite 3x3 matrix, got shape {r.shape}")
    if not np.allclose(r @ r.T, np.eye(3), atol=1e-8) or np.linalg.det(r) < 0:
        raise MaterialError("rotation must be a proper rotation matrix (R R^T = I, det R = 1)")
    return r


def bond_matrix(rotation) -> np.ndarray:
    """Bond stress-transformation matrix M (6x6) of a rotation R (crystal -> lab).

    With Voigt order xx, yy, zz, yz, xz, xy and engineering shear strains,
    sigma_lab = M sigma_crystal and C_lab = M C_crystal M^T (Auld, Acoustic Fields and Waves
    in Solids, 1973).
    """
    a = _check_rotation(rotation)
    pairs = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))  # Voigt index -> (i, j)
    m = np.empty((6, 6))
    for p, (i, j) in enumerate(pairs):
        for q, (k, l) in enumerate(pairs):
            if q < 3:
                m[p, q] = a[i, k] * a[j, l]
            else:
                m[p, q] = a[i, k] * a[j, l] + a[i, l] * a[j, k]
    return m


# ------------------------------------------------------------------------------ elasticity
@dataclass(frozen=True)
class ElasticSolid:
    """Linear elastic constants of a solid, with thermal and chemical expansion.

    Give either ``youngs_modulus`` and ``poisson_ratio`` (isotropic) or ``stiffness``.

    Attributes:
        name: library key or a label.
        youngs_modulus: E [Pa] (isotropic).
        poisson_ratio: nu [-] (isotropic), -1 < nu < 0.5.
        stiffness: 6x6 Voigt stiffness C [Pa] in crystal axes, rows of a tuple of tuples
            (order xx, yy, zz, yz, xz, xy; engineering shear strains).
        thermal_expansion: linear thermal expansion coefficient alpha [K^-1].
        partial_molar_volume: Omega [m^3 mol^-1]; linear swelling strain Omega (c - c0) / 3
            in every direction (isotropic swelling).
        chemical_expansion: None, or the linear swelling strain per concentration along the
            crystal axes (beta_1, beta_2, beta_3) [m^3 mol^-1]: strain R diag(beta) R^T (c -
            c0) (anisotropic lattice misfit); Omega is then their sum (give it as 0 or equal).
        citations: sources of the values.
    """

    name: str
    youngs_modulus: float | None = None
    poisson_ratio: float | None = None
    stiffness: tuple[tuple[float, ...], ...] | None = None
    thermal_expansion: float = 0.0
    partial_molar_volume: float = 0.0
    chemical_expansion: tuple[float, float, float] | None = None
    citations: tuple[str, ...] = ()

    def __post_init__(self):
        iso = self.youngs_modulus is not None or self.poisson_ratio is not None
        if iso == (self.stiffness is not None):
            raise MaterialError(f"elastic solid {self.name}: give youngs_modulus and "
                                "poisson_ratio, or stiffness (not both)")
        if iso:
            e, nu = self.youngs_modulus, self.poisson_ratio
            if e is None or not (_finite(e) and e > 0):
                raise MaterialError(f"elastic solid {self.name}: youngs_modulus must be > 0 "
                                    f"Pa, got {e}")
            if nu is None or not (_finite(nu) and -1.0 < nu < 0.5):
                raise MaterialError(f"elastic solid {self.name}: poisson_ratio must lie in "
                                    f"(-1, 0.5), got {nu}")
            object.__setattr__(self, "youngs_modulus", float(e))
            object.__setattr__(self, "poisson_ratio", float(nu))
        else:
            try:
                c = np.array(self.stiffness, dtype=float)
            except (TypeError, ValueError):
                raise MaterialError(f"elastic solid {self.name}: stiffness must be a 6x6 "
                                    "matrix of numbers") from None
            if c.shape != (6, 6) or not np.all(np.isfinite(c)):
                raise MaterialError(f"elastic solid {self.name}: stiffness must be a finite "
                                    f"6x6 matrix, got shape {c.shape}")
            scale = np.max(np.abs(c))
            if not np.allclose(c, c.T, rtol=0.0, atol=1e-9 * max(scale, 1.0)):
                raise MaterialError(f"elastic solid {self.name}: stiffness must be symmetric")
            if scale == 0 or np.min(np.linalg.eigvalsh(c)) <= 1e-12 * scale:
                raise MaterialError(f"elastic solid {self.name}: stiffness must be positive "
                                    "definite")
            object.__setattr__(self, "stiffness", tuple(tuple(float(v) for v in row)
                                                        for row in c))
        if not _finite(self.thermal_expansion):
            raise MaterialError(f"elastic solid {self.name}: thermal_expansion must be finite")
        if not _finite(self.partial_molar_volume):
            raise MaterialError(f"elastic solid {self.name}: partial_molar_volume must be "
                                "finite")
        if self.chemical_expansion is not None:
            try:
                beta = tuple(float(b) for b in self.chemical_expansion)
            except (TypeError, ValueError):
                beta = ()
            if len(beta) != 3 or not all(_finite(b) for b in beta):
                raise MaterialError(f"elastic solid {self.name}: chemical_expansion must be 3 "
                                    f"finite numbers (m^3/mol along the crystal axes)")
            total = sum(beta)
            omega = float(self.partial_molar_volume)
            if omega and not abs(omega - total) <= 1e-9 * max(abs(omega), abs(total)):
                raise MaterialError(f"elastic solid {self.name}: partial_molar_volume {omega} "
                                    f"differs from the sum of chemical_expansion {total}")
            object.__setattr__(self, "chemical_expansion", beta)
            object.__setattr__(self, "partial_molar_volume", total)
        object.__setattr__(self, "citations",
                           _citations(self.citations, f"elastic solid {self.name}"))

    @classmethod
    def cubic(cls, name: str, c11: float, c12: float, c44: float, **kw) -> ElasticSolid:
        """Cubic crystal from C11, C12, C44 [Pa] (crystal axes along the cube edges)."""
        c = np.zeros((6, 6))
        c[:3, :3] = c12
        np.fill_diagonal(c[:3, :3], c11)
        c[3, 3] = c[4, 4] = c[5, 5] = c44
        return cls(name, stiffness=tuple(map(tuple, c)), **kw)

    @classmethod
    def from_moduli(cls, name: str, youngs_modulus: float, shear_modulus: float,
                    **kw) -> ElasticSolid:
        """Isotropic solid from E and G [Pa]: nu = E / (2 G) - 1."""
        if not (_finite(shear_modulus) and shear_modulus > 0):
            raise MaterialError(f"elastic solid {name}: shear_modulus must be > 0 Pa, got "
                                f"{shear_modulus}")
        return cls(name, youngs_modulus=youngs_modulus,
                   poisson_ratio=youngs_modulus / (2.0 * shear_modulus) - 1.0, **kw)

    @property
    def isotropic(self) -> bool:
        """True when given by E and nu (a stiffness matrix counts as anisotropic)."""
        return self.stiffness is None

    def voigt(self) -> np.ndarray:
        """6x6 Voigt stiffness [Pa] (crystal axes; built from E, nu when isotropic)."""
        if self.stiffness is not None:
            return np.array(self.stiffness, dtype=float)
        lam, mu = self.lame()
        c = np.zeros((6, 6))
        c[:3, :3] = lam
        c[0, 0] = c[1, 1] = c[2, 2] = lam + 2.0 * mu
        c[3, 3] = c[4, 4] = c[5, 5] = mu
        return c

    def rotated_voigt(self, rotation) -> np.ndarray:
        """Stiffness [Pa] in the lab frame, C_lab = M C M^T with the Bond matrix M of R.

        Args:
            rotation: 3x3 rotation matrix R (crystal -> lab).
        """
        m = bond_matrix(rotation)
        return m @ self.voigt() @ m.T

    def lame(self) -> tuple[float, float]:
        """Lame constants (lambda, mu) [Pa].

        Exact for an isotropic solid; for a stiffness matrix the Voigt-Reuss-Hill average
        of the bulk and shear moduli (an isotropic polycrystal estimate).
        """
        if self.stiffness is None:
            e, nu = self.youngs_modulus, self.poisson_ratio
            return e * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), e / (2.0 * (1.0 + nu))
        c = self.voigt()
        s = np.linalg.inv(c)
        d, o, g = np.trace(c[:3, :3]), c[0, 1] + c[0, 2] + c[1, 2], np.trace(c[3:, 3:])
        k_v, g_v = (d + 2.0 * o) / 9.0, (d - o + 3.0 * g) / 15.0
        ds, os_, gs = np.trace(s[:3, :3]), s[0, 1] + s[0, 2] + s[1, 2], np.trace(s[3:, 3:])
        k_r, g_r = 1.0 / (ds + 2.0 * os_), 15.0 / (4.0 * ds - 4.0 * os_ + 3.0 * gs)
        k, mu = 0.5 * (k_v + k_r), 0.5 * (g_v + g_r)
        return float(k - 2.0 * mu / 3.0), float(mu)

    @property
    def bulk_modulus(self) -> float:
        """K [Pa] (Voigt-Reuss-Hill for a stiffness matrix)."""
        lam, mu = self.lame()
        return lam + 2.0 * mu / 3.0

    @property
    def shear_modulus(self) -> float:
        """G [Pa] (Voigt-Reuss-Hill for a stiffness matrix)."""
        return self.lame()[1]

    def effective_moduli(self) -> tuple[float, float]:
        """(E [Pa], nu) of the isotropic solid, or of the Voigt-Reuss-Hill average."""
        if self.stiffness is None:
            return self.youngs_modulus, self.poisson_ratio
        k, g = self.bulk_modulus, self.shear_modulus
        return 9.0 * k * g / (3.0 * k + g), (3.0 * k - 2.0 * g) / (2.0 * (3.0 * k + g))

    @property
    def isotropic_swelling(self) -> bool:
        """True when the chemical strain is the same in every direction."""
        b = self.chemical_expansion
        return b is None or max(b) - min(b) <= 1e-12 * max(abs(x) for x in b)

    def expansion_tensor(self, rotation=None) -> np.ndarray:
        """Linear chemical strain per concentration as a 3x3 tensor [m^3 mol^-1] in the lab
        frame: R diag(beta) R^T (isotropic: Omega / 3 I).

        Args:
            rotation: 3x3 rotation matrix R (crystal -> lab), None for the crystal axes.
        """
        b = (self.chemical_expansion if self.chemical_expansion is not None
             else (self.partial_molar_volume / 3.0,) * 3)
        R = np.eye(3) if rotation is None else np.asarray(rotation, dtype=float)
        return R @ np.diag(b) @ R.T

    def swelling_strain(self, dc):
        """Isotropic linear chemical strain Omega dc / 3 for a concentration change dc."""
        return self.partial_molar_volume * dc / 3.0


# ------------------------------------------------------------------------------ creep
@dataclass(frozen=True)
class NortonCreep:
    """Power-law (Norton) creep with an Arrhenius temperature dependence.

    eps_dot = A (sigma_eq / sigma0)^n exp(-Ea / k_B (1/T - 1/t_ref)), so A is the
    equivalent creep strain rate at sigma_eq = sigma0 and T = t_ref.

    Attributes:
        prefactor: A [s^-1].
        stress_ref: sigma0 [Pa].
        exponent: stress exponent n [-] (>= 1).
        activation_energy: Ea [J] per particle (multiply eV by `femcell.units.EV`, divide
            J mol^-1 by `femcell.units.N_A`).
        t_ref: reference temperature [K].
        citations: sources of the values.
    """

    prefactor: float
    stress_ref: float
    exponent: float
    activation_energy: float = 0.0
    t_ref: float = T_REF
    citations: tuple[str, ...] = ()

    def __post_init__(self):
        if not (_finite(self.prefactor) and self.prefactor > 0):
            raise MaterialError(f"creep prefactor must be > 0 1/s, got {self.prefactor}")
        if not (_finite(self.stress_ref) and self.stress_ref > 0):
            raise MaterialError(f"creep stress_ref must be > 0 Pa, got {self.stress_ref}")
        if not (_finite(self.exponent) and self.exponent >= 1):
            raise MaterialError(f"creep exponent must be >= 1, got {self.exponent}")
        if not (_finite(self.activation_energy) and self.activation_energy >= 0):
            raise MaterialError(f"creep activation_energy must be >= 0 J, got "
                                f"{self.activation_energy}")
        if not (_finite(self.t_ref) and self.t_ref > 0):
            raise MaterialError(f"creep t_ref must be > 0 K, got {self.t_ref}")
        object.__setattr__(self, "citations", _citations(self.citations, "creep law"))

    def rate(self, sigma_eq, temperature: float = T_REF):
        """Equivalent creep strain rate [s^-1] at von Mises stress sigma_eq [Pa].

        Accepts floats, numpy arrays or UFL expressions (no range check for UFL).
        """
        if _is_ufl(sigma_eq) or _is_ufl(temperature):
            import ufl

            return (self.prefactor * (sigma_eq / self.stress_ref) ** self.exponent
                    * ufl.exp(-self.activation_energy / K_B
                              * (1.0 / temperature - 1.0 / self.t_ref)))
        s = np.asarray(sigma_eq, dtype=float)
        if np.any(~np.isfinite(s)) or np.any(s < 0):
            raise MaterialError("creep sigma_eq must be finite and >= 0 Pa")
        if not (_finite(temperature) and temperature > 0):
            raise MaterialError(f"creep temperature must be > 0 K, got {temperature}")
        r = (self.prefactor * (s / self.stress_ref) ** self.exponent
             * math.exp(-self.activation_energy / K_B * (1.0 / temperature - 1.0 / self.t_ref)))
        return float(r) if np.ndim(r) == 0 else r


# ------------------------------------------------------------------------------ fracture
def _griffith(k_ic: float, elastic: ElasticSolid, plane_strain: bool) -> float:
    e, nu = elastic.effective_moduli()
    return k_ic ** 2 * ((1.0 - nu ** 2) if plane_strain else 1.0) / e


@dataclass(frozen=True)
class Toughness:
    """Mode-I fracture toughness.

    Attributes:
        k_ic: K_IC [Pa m^0.5].
        citations: sources of the value.
    """

    k_ic: float
    citations: tuple[str, ...] = ()

    def __post_init__(self):
        if not (_finite(self.k_ic) and self.k_ic > 0):
            raise MaterialError(f"toughness k_ic must be > 0 Pa m^0.5, got {self.k_ic}")
        object.__setattr__(self, "citations", _citations(self.citations, "toughness"))

    def gc(self, elastic: ElasticSolid, plane_strain: bool = True) -> float:
        """Griffith energy release rate G_c [J m^-2].

        K_IC^2 (1 - nu^2) / E in plane strain, K_IC^2 / E in plane stress (E, nu of an
        anisotropic solid: Voigt-Reuss-Hill average).
        """
        return _griffith(self.k_ic, elastic, plane_strain)


@dataclass(frozen=True)
class ToughnessByDensity:
    """K_IC tabulated against relative density, linear in between, an error outside.

    Attributes:
        relative_density: table abscissae, strictly increasing, in (0, 1].
        k_ic: K_IC [Pa m^0.5] at those densities.
        citations: sources of the table.
    """

    relative_density: tuple[float, ...]
    k_ic: tuple[float, ...]
    citations: tuple[str, ...] = ()

    def __post_init__(self):
        rho = np.asarray(self.relative_density, dtype=float)
        k = np.asarray(self.k_ic, dtype=float)
        if rho.ndim != 1 or rho.shape != k.shape or rho.size < 2:
            raise MaterialError("toughness table: relative_density and k_ic need the same "
                                "length >= 2")
        if not (np.all(np.isfinite(rho)) and np.all(rho > 0) and np.all(rho <= 1)):
            raise MaterialError("toughness table: relative_density must lie in (0, 1]")
        if np.any(np.diff(rho) <= 0):
            raise MaterialError("toughness table: relative_density must increase strictly")
        if not (np.all(np.isfinite(k)) and np.all(k > 0)):
            raise MaterialError("toughness table: k_ic must be > 0 Pa m^0.5")
        object.__setattr__(self, "relative_density", tuple(float(v) for v in rho))
        object.__setattr__(self, "k_ic", tuple(float(v) for v in k))
        object.__setattr__(self, "citations", _citations(self.citations, "toughness table"))

    def k_ic_at(self, relative_density: float) -> float:
        """K_IC [Pa m^0.5] at a relative density inside the table."""
        lo, hi = self.relative_density[0], self.relative_density[-1]
        if not (_finite(relative_density) and lo <= relative_density <= hi):
            raise MaterialError(f"relative density {relative_density} outside the toughness "
                                f"table [{lo:g}, {hi:g}]")
        return float(np.interp(relative_density, self.relative_density, self.k_ic))

    def at(self, relative_density: float) -> Toughness:
        """The `Toughness` at one relative density."""
        return Toughness(self.k_ic_at(relative_density), self.citations)

    def gc(self, elastic: ElasticSolid, plane_strain: bool = True, *,
           relative_density: float | None = None) -> float:
        """Griffith G_c [J m^-2] at ``relative_density`` (required), see `Toughness.gc`."""
        if relative_density is None:
            raise MaterialError("toughness table: gc needs relative_density")
        return _griffith(self.k_ic_at(relative_density), elastic, plane_strain)


# ------------------------------------------------------------------------------ material
@dataclass(frozen=True)
class MechanicalMaterial:
    """Mechanical description of a library material.

    Attributes:
        name: library key.
        elastic: elastic constants and expansion coefficients.
        creep: power-law creep (None: no creep, e.g. ceramics at battery temperatures).
        toughness: K_IC, a single value or a table against relative density (None: not
            brittle or not known).
    """

    name: str
    elastic: ElasticSolid
    creep: NortonCreep | None = None
    toughness: Toughness | ToughnessByDensity | None = None

    def __post_init__(self):
        if not isinstance(self.elastic, ElasticSolid):
            raise MaterialError(f"mechanics {self.name}: elastic must be an ElasticSolid")
        if self.creep is not None and not isinstance(self.creep, NortonCreep):
            raise MaterialError(f"mechanics {self.name}: creep must be a NortonCreep or None")
        if self.toughness is not None and not isinstance(
                self.toughness, Toughness | ToughnessByDensity):
            raise MaterialError(f"mechanics {self.name}: toughness must be a Toughness, a "
                                "ToughnessByDensity or None")

    @property
    def citations(self) -> tuple[str, ...]:
        """All citations of the elastic, creep and toughness data (no duplicates)."""
        cites = list(self.elastic.citations)
        for part in (self.creep, self.toughness):
            if part is not None:
                cites += part.citations
        return tuple(dict.fromkeys(c for c in cites if c))


def list_mechanics() -> list[str]:
    """Library keys of the materials with mechanical data."""
    return sorted(_MECHANICS_MODULES)


def get_mechanics(name: str) -> MechanicalMaterial:
    """The library `MechanicalMaterial` of a material by library key.

    Raises:
        MaterialError: unknown name (the message lists the known ones).
    """
    if name not in _MECHANICS_MODULES:
        raise MaterialError(f"no mechanical data for {name!r}; known: "
                            f"{', '.join(list_mechanics())}")
    mod = importlib.import_module(f"femcell.materials.library.{_MECHANICS_MODULES[name]}")
    return mod.MECHANICS
