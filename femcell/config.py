"""Study TOML schema (pydantic). Values with units become SI floats here.

Every error a user can make (bad TOML, unknown key, wrong units, unknown material or region,
unphysical value) becomes a `ConfigError` with one line naming the key; the CLI prints it
and exits with code 2.
"""

from __future__ import annotations

import copy
import tomllib
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from femcell.units import UnitError, to_si


class ConfigError(ValueError):
    """A study file or override the user must fix (one line)."""


def _q(dimension: str, value: Any) -> float:
    try:
        return to_si(value, dimension, name="value")
    except UnitError as exc:
        raise ValueError(str(exc).removeprefix("value: ")) from None


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


Length = Q("length", _pos)
Time = Q("time", _pos)
Temperature = Q("temperature", _pos)
Diffusivity = Q("diffusivity", _pos)
Concentration = Q("concentration", _nonneg)
PositiveConcentration = Q("concentration", _pos)
CurrentDensity = Q("current_density")
MolarFlux = Q("molar_flux")
Energy = Q("energy", _nonneg)
Velocity = Annotated[float, BeforeValidator(lambda v: _q_velocity(v))]


def _q_velocity(v):
    from femcell.units import _registry

    if isinstance(v, int | float):
        return float(v)
    try:
        return float(_registry().Quantity(str(v)).to("m/s").magnitude)
    except Exception:
        raise ValueError(f"{v!r} is not a velocity (m/s)") from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudySection(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    physics: Literal["diffusion", "charge", "ccd"] = "diffusion"


def _geometry_param(v):
    """Geometry parameters: strings with units are lengths, numbers are taken as given,
    words (e.g. interface = "anode") stay strings; lists and tables are converted inside."""
    if isinstance(v, str):
        text = v.strip()
        if text[:1].isdigit() or text[:1] in "+-.":
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
    seed: int = 0


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
    c_rate: float | None = None  # current: C-rate for a particle (fills c_max in 1/C hours)
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


class SolverSection(_Model):
    degree: Literal[1, 2, 3] = 1
    linear: Literal["auto", "direct", "iterative"] = "auto"


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


class CellStudyConfig(_Model):
    """A cell study: charge transport with interfacial kinetics driven by a protocol."""

    study: StudySection
    geometry: GeometrySection
    conductors: dict[str, str]
    group_conductors: dict[str, str] = {}
    kinetics: list[KineticsSection]
    intercalation: list[IntercalationSection] = []
    cell: CellSection = CellSection()
    protocol: list[dict]
    temperature: Temperature = 298.15
    time: CellTimeSection
    solver: SolverSection = SolverSection()
    output: CellOutputSection = CellOutputSection()


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
    creep_activation: Q("molar_energy") = 0.0
    stack_pressure: Q("pressure") = 0.0
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
    conductors: dict[str, str]
    kinetics: list[KineticsSection]
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
def _format(err: ValidationError, source: str) -> str:
    errs = err.errors()
    # with unions (a value or a list), the deepest location names the real culprit
    e = max(errs, key=lambda x: (x["type"] != "missing", len(x["loc"])))
    loc = ".".join(str(p) for p in e["loc"]
                   if not str(p).startswith(("function-", "list[", "float")))
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        return f"{source}: unknown key '{loc}'"
    if e["type"] == "missing":
        return f"{source}: missing key '{loc}'"
    if e["type"] == "literal_error":
        return f"{source}: {loc} = {e.get('input')!r}: {msg}"
    return f"{source}: {loc}: {msg}" if loc else f"{source}: {msg}"


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
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
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{source}: no such study file")
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    data = apply_overrides(copy.deepcopy(data), overrides or [])
    physics = data.get("study", {}).get("physics", "diffusion") if isinstance(
        data.get("study"), dict) else "diffusion"
    schema = {"charge": CellStudyConfig, "ccd": CCDStudyConfig}.get(physics, StudyConfig)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format(exc, source)) from None
