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

import copy
import math
import tomllib
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
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


class StudySection(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    physics: Literal["diffusion", "charge", "ccd"] = "diffusion"


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


class LawSection(_Model):
    name: Literal["constant", "lattice_gas", "regular_solution", "vacancy", "interstitial",
                  "tabulated"] = "constant"
    exponent: float | None = None
    floor: float | None = None
    beta: float | None = None
    omega: Q("molar_energy") | None = None
    theta: list[float] | None = None
    values: list[float] | None = None


class MaterialSection(_Model):
    name: str
    c_max: PositiveConcentration | None = None
    diffusivity: Diffusivity | list[Diffusivity] | None = None
    activation_energy: Energy | None = None
    law: LawSection | None = None


class OrientationSection(_Model):
    mode: Literal["none", "fixed", "random", "mesh"] = "none"
    euler_deg: list[float] | None = None  # fixed: Bunge ZXZ [deg]
    seed: int = Field(default=0, ge=0)


class InitialSection(_Model):
    concentration: Concentration | None = None
    stoichiometry: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one(self):
        if (self.concentration is None) == (self.stoichiometry is None):
            raise ValueError("give exactly one of 'concentration' or 'stoichiometry'")
        return self


class BoundarySection(_Model):
    region: str
    type: Literal["current", "flux", "dirichlet", "robin"]
    current_density: CurrentDensity | None = None  # current: insertion current [A/m^2]
    c_rate: float | None = Field(default=None, ge=-1e4, le=1e4)  # current: C-rate (fills c_max
    # in 1/C hours); |C| > 1e4 (a full particle in 0.36 s) is no battery experiment
    flux: MolarFlux | None = None  # flux: inward molar flux
    concentration: Concentration | None = None  # dirichlet / robin: c or c_ext
    transfer_coefficient: Velocity | None = None  # robin [m/s]

    @model_validator(mode="after")
    def _needs(self):
        need = {"current": ("current_density", "c_rate"), "flux": ("flux",),
                "dirichlet": ("concentration",), "robin": ("concentration",)}[self.type]
        given = [k for k in need if getattr(self, k) is not None]
        if self.type == "current" and len(given) != 1:
            raise ValueError("a 'current' boundary needs exactly one of current_density, c_rate")
        if self.type != "current" and not given:
            raise ValueError(f"a '{self.type}' boundary needs '{need[0]}'")
        if self.type == "robin" and self.transfer_coefficient is None:
            raise ValueError("a 'robin' boundary needs 'transfer_coefficient'")
        return self


class TimeSection(_Model):
    end: Time
    dt: Time | None = None
    dt_max: Time | None = None
    scheme: Literal["euler", "bdf2"] = "bdf2"
    adaptive: bool = True
    rtol: float = Field(default=1e-3, gt=0)
    atol: float = Field(default=1e-5, gt=0)
    outputs: int = Field(default=20, ge=1, le=10_000)

    @model_validator(mode="after")
    def _steps(self):
        if not self.adaptive and self.dt is not None:
            why = _too_many_steps(self.end / self.dt, f"= {self.dt:g} s up to end = "
                                  f"{self.end:g} s")
            if why:
                raise _error("dt", why)
        return self


class SolverSection(_Model):
    degree: Literal[1, 2, 3] = 1
    linear: Literal["auto", "direct", "iterative"] = "auto"
    # diffusion: lumped storage term (P1; removes the early-time undershoot of a step in the
    # boundary data) and bounds by a variational inequality ("stoichiometry": [0, c_max],
    # "data": the bounds of the initial and boundary data; anisotropic tensors need it)
    mass_lumping: bool = False
    bounds: Literal["stoichiometry", "data"] | None = None


class OutputSection(_Model):
    fields: bool = True
    plots: bool = True


class StudyConfig(_Model):
    study: StudySection
    geometry: GeometrySection
    material: MaterialSection
    orientation: OrientationSection = OrientationSection()
    initial: InitialSection
    boundary: list[BoundarySection] = []
    temperature: Temperature = 298.15
    time: TimeSection
    solver: SolverSection = SolverSection()
    output: OutputSection = OutputSection()


# ---------------------------------------------------------------------------- cell studies
class IntercalationSection(_Model):
    region: str
    material: str
    initial_stoichiometry: float = Field(ge=0.0, le=1.0)
    degree: Literal[1, 2] = 1


class KineticsSection(_Model):
    electrode: str
    electrolyte: str = "electrolyte"
    law: Literal["butler_volmer", "linear", "tafel"] = "butler_volmer"
    exchange_current_density: Q("current_density", _pos)
    activation_energy: Energy = 0.0
    alpha_a: float = Field(default=0.5, gt=0, le=1)
    alpha_c: float = Field(default=0.5, gt=0, le=1)
    equilibrium_potential: Q("potential") = 0.0


class CellSection(_Model):
    current_cc: str = "anode_cc"
    ground_cc: str = "cathode_cc"
    ground_electrode: str | None = None


class CellTimeSection(_Model):
    dt: Time
    rise_time: Q("time", _nonneg) = 0.0
    max_cuts: int = Field(default=10, ge=0, le=50)


class CellOutputSection(_Model):
    fields: bool = True
    plots: bool = True
    field_every: int = Field(default=10, ge=1)


class _ProtocolValue(Exception):
    """A protocol value to fix (not a ValueError: passes through Protocol.from_dicts)."""


# protocol keys (the last part of the key path) that must be > 0
_PROTOCOL_POSITIVE = ("dt", "time", "charge", "current_above", "current_below")


def _protocol_value(dim: str, key: str, value: Any) -> float:
    """Protocol.from_dicts' converter: SI, finite, positive durations, steps and charges,
    plausible temperatures. Raises _ProtocolValue naming the key path."""
    try:
        x = to_si(value, dim, name=key)
    except UnitError as exc:
        raise _ProtocolValue(str(exc)) from None
    if key.rsplit(".", 1)[-1] in _PROTOCOL_POSITIVE and not x > 0:
        raise _ProtocolValue(f"{key} = {_show(value)} must be positive")
    if dim == "temperature":
        why = temperature_problem(x, value)
        if why:
            raise _ProtocolValue(f"{key} {why}")
    return x


def _check_repeats(items: list, where: str = "protocol") -> None:
    for i, it in enumerate(items):
        if isinstance(it, dict) and "repeat" in it:
            n = it["repeat"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise _ProtocolValue(f"{where}.{i}.repeat = {_show(n)} must be a whole number "
                                     ">= 1")
            if isinstance(it.get("steps"), list):
                _check_repeats(it["steps"], f"{where}.{i}.steps")


def check_protocol(items: list[dict], dt: float | None = None):
    """Validate protocol tables as `run_cell_study` reads them (via Protocol.from_dicts),
    with positive dt, durations and charges, plausible temperatures and at most
    $FEMCELL_MAX_STEPS fixed time steps in all (`dt`: the default step [s]).

    Returns:
        The Protocol.

    Raises:
        ValueError: one line starting with the key path ("protocol.1.dt = ...").
    """
    from femcell.protocol import Protocol, ProtocolError, Repeat

    try:
        _check_repeats(items)
        proto = Protocol.from_dicts(items, _protocol_value)
    except (_ProtocolValue, ProtocolError) as exc:
        msg = str(exc)
        if not msg.startswith("protocol."):  # a step's own check: find the entry
            k = 1
            while k < len(items):
                try:
                    Protocol.from_dicts(items[:k], _protocol_value)
                except (_ProtocolValue, ProtocolError):
                    break
                k += 1
            msg = f"protocol.{k - 1}: {msg}"
        raise ValueError(msg) from None
    if dt is None:
        return proto

    def count(entries, where):  # (time steps, the step that contributes most)
        total, worst = 0.0, (0.0, "")
        for i, it in enumerate(entries):
            if isinstance(it, Repeat):
                n, _ = count(it.steps, f"{where}.{i}.steps")
                total += it.count * n
                worst = max(worst, (it.count * n, f"{where}.{i}"))
                continue
            limit = it.time_limit()
            if math.isfinite(limit):
                n = limit / (it.dt or dt)
                total += n
                worst = max(worst, (n, f"{where}.{i}"))
        return total, worst

    total, (_, where) = count(proto.items, "protocol")
    why = _too_many_steps(total, f"with dt = {dt:g} s (step dt where given), the protocol")
    if why:
        raise ValueError(f"{where}: {why}" if where else f"protocol: {why}")
    return proto


class CellStudyConfig(_Model):
    """A cell study: charge transport with interfacial kinetics driven by a protocol."""

    study: StudySection
    geometry: GeometrySection
    conductors: dict[str, str] = Field(min_length=1)
    group_conductors: dict[str, str] = {}
    kinetics: list[KineticsSection] = Field(min_length=1)
    intercalation: list[IntercalationSection] = []
    cell: CellSection = CellSection()
    protocol: list[dict] = Field(min_length=1)
    temperature: Temperature = 298.15
    time: CellTimeSection
    solver: SolverSection = SolverSection()
    output: CellOutputSection = CellOutputSection()

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, items):
        check_protocol(items)
        return items

    @model_validator(mode="after")
    def _protocol_steps(self):
        check_protocol(self.protocol, self.time.dt)
        return self


# ---------------------------------------------------------------------------- CCD studies
class VacancySection(_Model):
    """Vacancies in the metal anode (PHYSICS.md section 3)."""

    diffusivity: Diffusivity  # D_v at 25 degC
    migration_energy: Energy  # E_m
    equilibrium_fraction: float = Field(default=1e-4, gt=0, lt=1)  # c_eq Omega
    sink_spacing: Length | None = None  # distributed sinks: rate D_v (c - c_eq) / l^2


def _angle(v: float) -> float:
    if not 0 < v < 3.141592653589793:
        raise ValueError(f"must lie between 0 and 180 deg (got {v:g} rad; write e.g. "
                         "'105 deg')")
    return v


class InterfaceSection(_Model):
    """Interfacial vacancy exchange, voids and creep (PHYSICS.md section 3)."""

    site_density: Q("areal_density", _pos) = 1e-5  # Gamma_s [mol m^-2]
    transfer_rate: Q("molar_flux", _pos)  # kappa at 25 degC [mol m^-2 s^-1]
    activation_energy: Energy  # E_int
    theta_crit: float = Field(default=0.01, gt=0, lt=1)
    void_rate: Q("molar_flux", _nonneg) = 10.0
    void_height: Length = 1e-9
    creep_prefactor: float = Field(default=0.0, ge=0)  # A [MPa^-n s^-1]
    creep_exponent: float = Field(default=5.0, gt=0)
    creep_activation: Q("molar_energy", _nonneg) = 0.0
    stack_pressure: Q("pressure", _nonneg) = 0.0
    wetting_angle: Q("angle", _angle) | None = None  # metal on the bare electrolyte
    interlayer: str | None = None  # library interlayer (barrier and wetting)


class RampSection(_Model):
    rate: Q("current_rate", _pos)
    dt: Time
    temperatures: list[Temperature] = Field(min_length=1)
    criterion: Literal["contact", "overpotential"] = "contact"
    threshold: float = Field(default=0.99, gt=0, lt=1)
    stop_contact: float = Field(default=0.9, gt=0, lt=1)
    max_time: Time = 1e5
    hold_current: Q("current_density", _pos) | None = None  # also: time to contact loss
    hold_dt: Time | None = None  # step of that hold (default: dt)
    hold_max_time: Time | None = None  # how long the hold may last (default: max_time)

    @model_validator(mode="after")
    def _steps(self):
        why = _too_many_steps(self.max_time / self.dt, f"= {self.dt:g} s up to max_time = "
                              f"{self.max_time:g} s")
        if why:
            raise _error("dt", why)
        if self.hold_current is not None:
            hold_dt, hold_max = self.hold_dt or self.dt, self.hold_max_time or self.max_time
            why = _too_many_steps(hold_max / hold_dt, f"= {hold_dt:g} s up to hold_max_time = "
                                  f"{hold_max:g} s")
            if why:
                raise _error("hold_dt", why)
        return self


class CaseSection(_Model):
    name: str
    description: str = ""
    set: dict[str, Any] = {}
    rate_factor: float = Field(default=1.0, gt=0)
    published_ea_eV: float | list[float] | None = None  # a value or a [low, high] range
    published_source: str = ""

    @model_validator(mode="after")
    def _range(self):
        p = self.published_ea_eV
        if isinstance(p, list) and not (len(p) == 2 and p[0] <= p[1]):
            raise ValueError(f"published_ea_eV: a value or a [low, high] range, got {p}")
        return self


class CCDStudyConfig(_Model):
    """Stripping current ramps over temperature and cases, with Arrhenius fits of j_crit."""

    study: StudySection
    geometry: GeometrySection
    conductors: dict[str, str] = Field(min_length=1)
    kinetics: list[KineticsSection] = Field(min_length=1)
    vacancies: VacancySection
    interface: InterfaceSection
    ramp: RampSection
    cases: list[CaseSection] = Field(min_length=1)
    cell: CellSection = CellSection()
    solver: SolverSection = SolverSection()
    output: CellOutputSection = CellOutputSection()
    resolution: Literal["default", "fine"] = "default"
    anode_parameters: str | None = None  # library set "metal|electrolyte" (defaults)

    @model_validator(mode="before")
    @classmethod
    def _library_defaults(cls, data):
        """Fill [vacancies] and [interface] keys the file does not give from the library set
        named by anode_parameters (the file's own values win)."""
        if not isinstance(data, dict) or not data.get("anode_parameters"):
            return data
        from femcell.materials.core import MaterialError
        from femcell.materials.library import get_anode_set

        try:
            aset = get_anode_set(data["anode_parameters"])
        except MaterialError as exc:
            raise ValueError(f"anode_parameters: {exc}") from None
        data = dict(data)
        for sec in ("vacancies", "interface"):
            given = data.get(sec) or {}
            if not isinstance(given, dict):
                continue
            data[sec] = {**getattr(aset, sec), **given}
        return data


# ---------------------------------------------------------------------------- loading
_TYPE_NAMES = ("float", "int", "str", "bool", "none", "any")
# pydantic error types whose message does not show the value: it is added
_SHOW_INPUT = ("greater_than", "greater_than_equal", "less_than", "less_than_equal",
               "multiple_of", "int_type", "int_parsing", "int_from_float", "float_type",
               "float_parsing", "bool_type", "bool_parsing", "string_type", "dict_type",
               "list_type", "string_pattern_mismatch")


def _loc_part(p) -> bool:
    """False for the entries pydantic adds to an error location for unions and validators
    ("function-after[...]", "list[...]", "float", ...), which are not keys."""
    text = str(p)
    return not (text in _TYPE_NAMES or text.startswith(("function-", "list[", "dict[",
                                                         "literal[", "tagged-union[",
                                                         "union[", "nullable[", "tuple[",
                                                         "lax-or-strict[", "chain[",
                                                         "json-or-python[")))


def validation_message(exc: Exception, prefix: str = "study") -> str:
    """One line naming the key path and the problem of a pydantic ValidationError (for other
    exceptions, their first line), e.g. "study.toml: time.end: '5 m' is not a time ...".

    Args:
        exc: the exception (usually a pydantic ValidationError).
        prefix: what the line starts with: the file, or e.g. "cases.x.set".
    """
    if not isinstance(exc, ValidationError):
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return f"{prefix}: {first}"
    errs = exc.errors()
    # with unions (a value or a list), the deepest location names the real culprit
    e = max(errs, key=lambda x: (x["type"] != "missing", x["type"] == "femcell",
                                 len(x["loc"])))
    loc = ".".join(str(p) for p in e["loc"] if _loc_part(p))
    msg = e["msg"].removeprefix("Value error, ")
    ctx = e.get("ctx") or {}
    if e["type"] == "femcell":
        msg = ctx["msg"]
        if ctx.get("sub"):
            loc = f"{loc}.{ctx['sub']}" if loc else ctx["sub"]
    elif e["type"] == "finite_number":
        msg = f"= {_show(e.get('input'))} is not a finite number"
    elif e["type"] in _SHOW_INPUT and isinstance(e.get("input"), int | float | str):
        msg = f"= {_show(e['input'])}: {msg}"
    elif e["type"] == "too_short" and isinstance(e.get("input"), list | dict):
        n = ctx.get("min_length", 1)
        msg = f"is empty (give at least {n} entr{'y' if n == 1 else 'ies'})"
        return f"{prefix}: {loc} {msg}" if loc else f"{prefix}: {msg}"
    msg = " ".join(msg.split())  # one line
    if e["type"] == "extra_forbidden":
        return f"{prefix}: unknown key '{loc}'"
    if e["type"] == "missing":
        return f"{prefix}: missing key '{loc}'"
    if e["type"] == "literal_error":
        return f"{prefix}: {loc} = {e.get('input')!r}: {msg}"
    if not loc:
        return f"{prefix}: {msg}"
    if msg.startswith("= "):
        return f"{prefix}: {loc} {msg}"
    if msg.startswith(loc) and msg[len(loc):len(loc) + 1] in (".", ":", " "):
        return f"{prefix}: {msg}"  # the message names the full key path itself
    return f"{prefix}: {loc}: {msg}"


_format = validation_message  # the former name


def read_study(path: str | Path) -> dict:
    """Read a study TOML file into a dict.

    Raises:
        ConfigError: one line naming the file: missing, unreadable, not UTF-8, not TOML.
    """
    source = str(path)
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{source}: no such study file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line "
                          f"{line}); save the file with UTF-8 encoding") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML (nested too deeply)") from None


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ["a.b=c", ...] overrides (TOML literals or plain strings) to nested data."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = data
        for i, p in enumerate(parts[:-1]):
            if isinstance(node, list):
                try:
                    node = node[int(p)]
                except (ValueError, IndexError):
                    raise ConfigError(f"--set {key}: no list item {p!r}") from None
                continue
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict | list):
                raise ConfigError(f"--set {key}: '{'.'.join(parts[: i + 1])}' is not a table")
            node = nxt
        last = parts[-1]
        if isinstance(node, list):
            raise ConfigError(f"--set {key}: cannot set a list item directly")
        node[last] = _parse_value(text.strip())
    return data


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                data: dict | None = None) -> StudyConfig | CellStudyConfig:
    """Read and validate a study TOML (or a dict), applying --set style overrides.

    Raises:
        ConfigError: one line naming the file and key.
    """
    source = str(path) if path is not None else "study"
    if data is None:
        data = read_study(path)
    data = apply_overrides(copy.deepcopy(data), overrides or [])
    physics = data.get("study", {}).get("physics", "diffusion") if isinstance(
        data.get("study"), dict) else "diffusion"
    schema = {"charge": CellStudyConfig, "ccd": CCDStudyConfig}.get(physics, StudyConfig)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, source)) from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply") from None
