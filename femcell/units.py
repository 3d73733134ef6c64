"""Units at the input boundary, physical constants and nondimensional scales.

Strings with units ("1 mA/cm^2", "60 degC", "50 um", "0.14 eV") become SI floats here and
nowhere else. The solvers work on scaled O(1) unknowns: `Scales` is the one definition of
the reference length, time, concentration and potential every physics uses.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

# CODATA 2018 exact values
F = 96485.33212  # Faraday constant [C mol^-1]
R = 8.314462618  # molar gas constant [J mol^-1 K^-1]
K_B = 1.380649e-23  # Boltzmann constant [J K^-1]
EPS0 = 8.8541878128e-12  # vacuum permittivity [F m^-1] (CODATA 2018)
N_A = 6.02214076e23  # Avogadro constant [mol^-1]
E_CHARGE = 1.602176634e-19  # elementary charge [C]
EV = E_CHARGE  # one electronvolt [J]
T_REF = 298.15  # reference temperature [K]


class UnitError(ValueError):
    """A quantity string could not be parsed or has the wrong dimension."""


# Dimensions femcell knows by name -> the SI unit a value is converted to.
DIMENSIONS: dict[str, str] = {
    "length": "m",
    "area": "m^2",
    "volume": "m^3",
    "time": "s",
    "temperature": "K",
    "diffusivity": "m^2/s",
    "concentration": "mol/m^3",
    "current_density": "A/m^2",
    "current": "A",
    "molar_flux": "mol/(m^2*s)",
    "velocity": "m/s",
    "energy": "J",
    "molar_energy": "J/mol",
    "potential": "V",
    "conductivity": "S/m",
    "area_conductance": "S/m^2",
    "area_capacitance": "F/m^2",
    "frequency": "Hz",
    "pressure": "Pa",
    "fracture_toughness": "Pa*m^0.5",
    "energy_release_rate": "J/m^2",
    "surface_energy": "J/m^2",
    "charge_density": "C/m^2",
    "current_rate": "A/m^2/s",
    "areal_density": "mol/m^2",
    "molar_volume": "m^3/mol",
    "angle": "radian",
    "energy_density": "J/m^3",
    "gradient_energy": "J/m",
    "mobility": "m^5/(J*s)",
    "dimensionless": "",
}


# Powers in quantity strings: pint evaluates them exactly, so "9**9**9 m" would never finish.
# Exponents are limited to |e| <= 64, three powers per string and no chains (a**b**c).
_POWER = re.compile(r"(?:\*\*|\^)\s*\(?\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)")
_CHAIN = re.compile(r"(?:\*\*|\^)\s*\(?\s*[-+]?[\d.eE]+\s*\)?\s*(?:\*\*|\^)")


def _unsafe_powers(text: str) -> bool:
    """True if evaluating the powers in ``text`` could take unbounded time."""
    if text.count("^") + text.count("**") > 3 or _CHAIN.search(text):
        return True
    for e in _POWER.findall(text):
        try:
            if abs(float(e)) > 64:
                return True
        except ValueError:
            return True
    return False


def _finite_magnitude(m) -> bool:
    try:
        return math.isfinite(float(m))
    except (TypeError, ValueError, OverflowError):
        return not isinstance(m, int)  # a huge int overflows; other types: let pint judge


@functools.cache
def _registry():
    import pint  # imported lazily: keeps `import femcell` cheap

    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    return ureg


def to_si(value: str | float | int, dimension: str, *, name: str = "value") -> float:
    """Convert a quantity to an SI float.

    Args:
        value: a number (taken as SI already) or a string with units, e.g. "50 um".
        dimension: a key of `DIMENSIONS` ("length", "temperature", ...).
        name: what the value is (a config key), used in the error message.

    Returns:
        The value in the SI unit of `dimension`.

    Raises:
        UnitError: unparsable string or wrong dimension, naming `name` and the value.
    """
    if dimension not in DIMENSIONS:
        raise KeyError(f"unknown dimension {dimension!r}")
    if isinstance(value, bool):
        raise UnitError(f"{name}: expected a {dimension}, got {value!r}")
    if isinstance(value, int | float):
        try:
            x = float(value)
        except OverflowError:
            x = math.inf  # an integer beyond the float range
    else:
        text = str(value).strip()
        try:
            bare = float(text)  # a bare number in a string: SI, as a number would be
        except ValueError:
            bare = None
        if bare is not None:
            return _finite(bare, value, name)
        ureg = _registry()
        if _unsafe_powers(text):
            raise UnitError(f"{name}: cannot read {text!r} as a {dimension} (powers are limited "
                            "to exponents within +-64, three per value, none chained)")
        try:
            q = ureg.Quantity(text)
        except Exception as exc:  # pint raises several error types
            raise UnitError(f"{name}: cannot read {text!r} as a {dimension} ({exc})") from None
        if not isinstance(q, ureg.Quantity):
            try:
                x = float(q)
            except OverflowError:
                x = math.inf
            except (TypeError, ValueError):
                raise UnitError(f"{name}: cannot read {text!r} as a {dimension}") from None
        elif not _finite_magnitude(q.magnitude):
            x = math.inf  # reported below, before any complaint about its units
        else:
            try:
                x = float(q.to(DIMENSIONS[dimension] or "dimensionless").magnitude)
            except OverflowError:
                x = math.inf
            except Exception:
                raise UnitError(
                    f"{name}: {text!r} is not a {dimension} (expected units like "
                    f"'{DIMENSIONS[dimension] or '1'}', got '{q.units:~}')"
                ) from None
    return _finite(x, value, name)


def _finite(x: float, value, name: str) -> float:
    if not math.isfinite(x):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:20] + "..."
        raise UnitError(f"{name}: {shown} is not a finite number")
    return x


def celsius(value_c: float) -> float:
    """Temperature in K from degrees Celsius."""
    return value_c + 273.15


@dataclass(frozen=True)
class Scales:
    """Reference scales that make the assembled systems O(1).

    Attributes:
        length: reference length [m] (particle radius, cell thickness).
        time: reference time [s], usually length^2 / diffusivity.
        concentration: reference concentration [mol m^-3], usually c_max.
        potential: reference potential [V], the thermal voltage RT/F by default.
    """

    length: float
    time: float
    concentration: float
    potential: float = R * T_REF / F

    def __post_init__(self):
        for key in ("length", "time", "concentration", "potential"):
            v = getattr(self, key)
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"Scales.{key} must be positive and finite, got {v}")

    @classmethod
    def diffusion(cls, length: float, diffusivity: float, concentration: float) -> Scales:
        """Scales for a diffusion problem: t = L^2 / D.

        Args:
            length: reference length [m].
            diffusivity: reference diffusivity [m^2 s^-1].
            concentration: reference concentration [mol m^-3].
        """
        return cls(length=length, time=length**2 / diffusivity, concentration=concentration)

    def form_factor(self, tdim: int) -> float:
        """Factor that turns an SI weak form (per unit concentration, time) into O(1) entries.

        A residual written in SI with the unknown u = c / c_ref and measure dx (m^tdim)
        has entries ~ L^tdim / t_ref; multiplying by t_ref / L^tdim gives the entries of the
        nondimensional problem on a unit-size mesh.
        """
        return self.time / self.length**tdim


def env_limit(name: str, default: float, what: str, error: type[Exception]) -> float:
    """A positive numeric limit from the environment variable `name` (default if unset).

    Args:
        name: environment variable, e.g. FEMCELL_MAX_CELLS.
        default: value when the variable is unset or empty.
        what: what the number counts, for the message ("cells", "steps").
        error: exception class raised for a malformed value (one line naming it).
    """
    import math
    import os

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        limit = float(raw)
    except ValueError:
        limit = math.nan
    if not (math.isfinite(limit) and limit >= 1):
        raise error(f"{name}={raw!r}: must be a positive number of {what}")
    return limit
