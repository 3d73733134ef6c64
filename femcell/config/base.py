"""Study TOML schema (pydantic). Values with units become SI floats here.

Every error a user can make (a file that is not UTF-8 or not TOML, an unknown key, wrong
units, a non-finite number, a wrong sign, an implausible magnitude, an empty required list,
an unknown material or region) becomes a `ConfigError` with one line naming the key; the CLI
prints it and exits with code 2.

Checks made here, once for every key of every schema:
  * no number anywhere (typed fields, protocol steps, geometry parameters, case overrides)
    may be inf or nan;
  * temperatures lie within 150-1500 K (a bare number is kelvin: 25 suggests '25 degC');
  * lengths are at most 1 m (geometry parameters: the builder's own, smaller limit);
  * protocol steps have positive dt, durations and charges, and the protocol and the CCD
    ramps may not imply more than $FEMCELL_MAX_STEPS (1e6) fixed time steps.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from femcell.units import UnitError, to_si


class ConfigError(ValueError):
    """A study file or override the user must fix (one line)."""


T_MIN, T_MAX = 150.0, 1500.0  # plausible temperatures [K]
MAX_LENGTH = 1.0  # largest plausible length of a config key [m]
DEFAULT_MAX_STEPS = 1_000_000  # fixed time steps a protocol or a CCD ramp may imply
MAX_STEPS_ENV = "FEMCELL_MAX_STEPS"


def _show(v: Any) -> str:
    """A value for a message: numbers with %g, strings quoted, long things cut."""
    if isinstance(v, float):
        return f"{v:g}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _error(sub, msg: str) -> PydanticCustomError:
    """A validation error at the key path ``sub`` below the validated field or model (a
    tuple or a dotted string); `validation_message` joins the two paths."""
    sub = ".".join(str(p) for p in sub) if isinstance(sub, tuple | list) else str(sub)
    return PydanticCustomError("femcell", "{msg}", {"msg": msg, "sub": sub})


def _non_finite(v: Any, path: tuple = ()) -> tuple[tuple, Any] | None:
    """(key path, value) of the first inf/nan number (or integer beyond the float range)
    inside nested dicts and lists; None when every number is finite."""
    if isinstance(v, bool):
        return None
    if isinstance(v, float):
        return None if math.isfinite(v) else (path, v)
    if isinstance(v, int):
        return None if abs(v) < 1.7e308 else (path, v)
    if isinstance(v, dict):
        items = v.items()
    elif isinstance(v, list | tuple):
        items = enumerate(v)
    else:
        return None
    for k, x in items:
        bad = _non_finite(x, (*path, k))
        if bad is not None:
            return bad
    return None


def _q(dimension: str, value: Any) -> float:
    try:
        return to_si(value, dimension, name="value")
    except UnitError as exc:
        msg = str(exc).removeprefix("value: ")
        raise ValueError(f"= {msg}" if msg.endswith("is not a finite number") else msg) from None


def _bare(value: Any) -> bool:
    """True for a number written without units (a number, or a string of one)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def temperature_problem(kelvin: float, given: Any) -> str | None:
    """Why a temperature [K] is implausible ("= 25 K is outside ..."), None if it is fine.

    Args:
        kelvin: the temperature in K.
        given: the value as written (a bare number gets a "did you mean degC" hint).
    """
    if T_MIN <= kelvin <= T_MAX:
        return None
    shown = given.strip() if isinstance(given, str) else _show(given)
    hint = (f"; did you mean '{shown} degC'?"
            if _bare(given) and T_MIN <= kelvin + 273.15 <= T_MAX else "")
    return f"= {kelvin:g} K is outside {T_MIN:g}-{T_MAX:g} K{hint}"


def _q_temperature(value: Any) -> float:
    kelvin = _q("temperature", value)
    why = temperature_problem(kelvin, value)
    if why:
        raise ValueError(why)
    return kelvin


def _plausible_length(v: float) -> float:
    if v > MAX_LENGTH:
        raise ValueError(f"= {v:g} m is implausibly large (numbers without units are metres): "
                         f"did you mean '{v:g} um'?")
    return v


def max_steps() -> float:
    """Fixed time steps a protocol or a CCD ramp may imply: $FEMCELL_MAX_STEPS or 1e6."""
    from femcell.units import env_limit

    return env_limit(MAX_STEPS_ENV, DEFAULT_MAX_STEPS, "steps", ConfigError)


def _too_many_steps(n: float, what: str) -> str | None:
    limit = max_steps()
    if n <= limit:
        return None
    return (f"{what} implies ~{n:.1e} time steps (limit {limit:.3g}; set {MAX_STEPS_ENV} to "
            "raise it)")


def _pos(v: float) -> float:
    if not v > 0:
        raise ValueError(f"must be positive, got {v:g}")
    return v


def _nonneg(v: float) -> float:
    if not v >= 0:
        raise ValueError(f"must be >= 0, got {v:g}")
    return v


def Q(dimension: str, *checks):  # noqa: N802 - reads like a type
    """Annotated float parsed from a number (SI) or a string with units."""
    from pydantic import AfterValidator

    return Annotated[float, BeforeValidator(partial(_q, dimension)),
                     *[AfterValidator(c) for c in checks]]


Length = Q("length", _pos, _plausible_length)
Time = Q("time", _pos)
Temperature = Annotated[float, BeforeValidator(_q_temperature)]
Diffusivity = Q("diffusivity", _pos)
Concentration = Q("concentration", _nonneg)
PositiveConcentration = Q("concentration", _pos)
CurrentDensity = Q("current_density")
MolarFlux = Q("molar_flux")
Energy = Q("energy", _nonneg)
Velocity = Q("velocity", _nonneg)


class _Model(BaseModel):
    """Base of every section: unknown keys and non-finite numbers are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _finite(cls, v):
        """No inf/nan anywhere, also inside untyped tables (protocol, params, case sets)."""
        if isinstance(v, BaseModel):
            return v
        bad = _non_finite(v)
        if bad is not None:
            raise _error(bad[0], f"= {_show(bad[1])} is not a finite number")
        return v



def _geometry_param(v):
    """Geometry parameters: strings with units are lengths, numbers are taken as given,
    words (e.g. interface = "anode") stay strings; lists and tables are converted inside."""
    if isinstance(v, str):
        text = v.strip()
        word = text.lower().lstrip("+-")
        if text[:1].isdigit() or text[:1] in "+-." or word.split(" ")[0] in ("inf", "nan",
                                                                               "infinity"):
            return _q("length", text)
        return text
    if isinstance(v, list):
        return [_geometry_param(x) for x in v]
    if isinstance(v, dict):
        return {k: _geometry_param(x) for k, x in v.items()}
    return v


class GeometrySection(_Model):
    builder: str | None = None
    file: str | None = None
    coordinates: Literal["cartesian", "axisymmetric", "spherical"] = "cartesian"
    params: dict[str, Annotated[Any, BeforeValidator(_geometry_param)]] = {}
    h: Length | None = None  # for .geo files
    order: Literal[1, 2] = 1  # for .geo files

    @model_validator(mode="after")
    def _one_source(self):
        if (self.builder is None) == (self.file is None):
            raise ValueError("give exactly one of 'builder' or 'file'")
        if self.builder is not None:  # names and plain lengths; the builder checks the rest
            from femcell.geometry import BUILDERS, GeometryError, check_parameters

            if self.builder not in BUILDERS:
                raise _error("builder", f"= {self.builder!r} is not a geometry builder "
                             f"(known: {', '.join(sorted(BUILDERS))})")
            try:
                check_parameters(self.builder, self.params)
            except GeometryError as exc:
                raise _error(("params", exc.param), f"= {_show(exc.value)} {exc.why}") from None
        return self




def _known_material(name: str) -> str:
    """A material of the library (femcell.materials), checked when the file is read."""
    from femcell.materials import list_materials

    known = list_materials()
    if name not in known:
        raise ValueError(f"= {name!r}: unknown material; known materials: {', '.join(known)}")
    return name


MaterialName = Annotated[str, AfterValidator(_known_material)]
