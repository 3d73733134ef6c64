"""[anode]: a metal anode that voids on stripping: vacancy diffusion in the metal,
interfacial vacancy exchange, void growth, contact loss and creep closure (PHYSICS.md
section 3). Schema here (no DOLFINx); `build` makes the vacancy Diffusion and the
AnodeInterface, which acts on the anode's electrode reaction (contact scales i0, stripping
creates interface vacancies) through the coupling interface.

    [anode]
    parameters = "na|na_beta_alumina"   # a library set: defaults for the two tables below
    region = "anode"                    # the metal's cell region (an electrode of [[kinetics]])
    collector = "anode_cc"              # facet region where vacancies are annihilated
    geometry = "fixed"                  # or "moving": the collector face follows the
                                        # annihilated vacancies (the metal thins on the mesh)
    [anode.vacancies]                   # diffusivity, migration_energy; equilibrium =
                                        # "fixed" (equilibrium_fraction) or "thermal"
                                        # (formation_energy, formation_entropy [k_B])
    [anode.interface]                   # transfer_rate, activation_energy; void_threshold =
                                        # "fixed" (theta_crit) or "wetting" (surface_energy,
                                        # wetting_angle); voids, creep ...
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from femcell.config.base import Diffusivity, Energy, Length, Q, _error, _Model, _nonneg, _pos
from femcell.units import T_REF


class VacancySection(_Model):
    """Vacancies in the metal anode (PHYSICS.md section 3).

    equilibrium = "thermal": the equilibrium vacancy fraction is the metal's,
    x_v(T) = exp(formation_entropy) exp(-formation_energy / k_B T) (entropy in units of k_B);
    "fixed": x_v = equilibrium_fraction at every temperature.
    """

    diffusivity: Diffusivity  # D_v at 25 degC
    migration_energy: Energy  # E_m
    equilibrium: Literal["fixed", "thermal"] = "fixed"
    equilibrium_fraction: float = Field(default=1e-4, gt=0, lt=1)  # c_eq Omega ("fixed")
    formation_energy: Energy | None = None  # E_f ("thermal")
    formation_entropy: float = Field(default=0.0, ge=-50, le=50)  # S_f [k_B] ("thermal")
    sink_spacing: Length | None = None  # distributed sinks: rate D_v (c - c_eq) / l^2

    @model_validator(mode="after")
    def _thermal_needs_formation_energy(self):
        if self.equilibrium == "thermal" and self.formation_energy is None:
            raise _error("formation_energy", "is needed for equilibrium = \"thermal\" (or set "
                         "equilibrium = \"fixed\" with equilibrium_fraction)")
        return self

    def fraction(self, temperature: float) -> float:
        """x_v at temperature T [K] [-]."""
        if self.equilibrium == "fixed":
            return self.equilibrium_fraction
        from femcell.physics.anode import thermal_vacancy_fraction

        return thermal_vacancy_fraction(self.formation_energy, self.formation_entropy,
                                        temperature)


def _angle(v: float) -> float:
    if not 0 < v < 3.141592653589793:
        raise ValueError(f"must lie between 0 and 180 deg (got {v:g} rad; write e.g. "
                         "'105 deg')")
    return v


class InterfaceSection(_Model):
    """Interfacial vacancy exchange, voids and creep (PHYSICS.md section 3).

    void_threshold = "wetting": voids open where k_B T ln(theta / theta_eq) pays the work of
    adhesion per site, gamma (1 + cos wetting_angle) / (Gamma_s N_A), at every temperature
    (needs surface_energy and wetting_angle); "fixed": at theta_crit at every temperature.
    """

    site_density: Q("areal_density", _pos) = 1e-5  # Gamma_s [mol m^-2]
    transfer_rate: Q("molar_flux", _pos)  # kappa at 25 degC [mol m^-2 s^-1]
    activation_energy: Energy  # E_int
    void_threshold: Literal["fixed", "wetting"] = "fixed"
    theta_crit: float = Field(default=0.01, gt=0, lt=1)  # ("fixed")
    surface_energy: Q("surface_energy", _pos) | None = None  # gamma of the metal ("wetting")
    void_rate: Q("molar_flux", _nonneg) = 10.0
    void_height: Length = 1e-9
    creep_prefactor: float = Field(default=0.0, ge=0)  # A [MPa^-n s^-1]
    creep_exponent: float = Field(default=5.0, gt=0)
    creep_activation: Q("molar_energy", _nonneg) = 0.0
    stack_pressure: Q("pressure", _nonneg) = 0.0
    # the stress the creep closure sees: the stack pressure per contact ("stack", mean
    # field) or the solved normal stress of [mechanics] on the interface ("mechanics")
    creep_stress: Literal["stack", "mechanics"] = "stack"
    wetting_angle: Q("angle", _angle) | None = None  # metal on the bare electrolyte
    interlayer: str | None = None  # library interlayer (barrier and wetting)
    # rates per contacting area (runaway as contact is lost) or per nominal area (regression)
    transfer_area: Literal["contact", "nominal"] = "contact"
    # the coverage acts on the electrode potential: U_eq + (R T / F) ln(theta (1 - x_v) /
    # (x_v (1 - theta))), the chemical potential of the interface vacancy per charge
    coverage_potential: bool = False

    @model_validator(mode="after")
    def _one_pressure(self):
        if self.creep_stress == "mechanics" and self.stack_pressure > 0:
            raise _error("stack_pressure", "must be 0 with creep_stress = \"mechanics\": the "
                         "stack pressure is the [mechanics] pressure on the anode collector")
        return self

    @model_validator(mode="after")
    def _wetting_needs_gamma_and_angle(self):
        if self.void_threshold == "wetting":
            for key in ("surface_energy", "wetting_angle"):
                if getattr(self, key) is None:
                    raise _error(key, "is needed for void_threshold = \"wetting\" (or set "
                                 "void_threshold = \"fixed\" with theta_crit)")
        return self


class AnodeSection(_Model):
    """[anode]: where the metal is, and its vacancy and interface parameters."""

    parameters: str | None = None  # library set "metal|electrolyte" (defaults)
    region: str = "anode"
    collector: str = "anode_cc"
    # the metal's geometry as it strips: "fixed" (the mesh stays as built; a ramp that strips
    # more than ramp.max_stripped_fraction is flagged) or "moving" (the collector face
    # follows the vacancies annihilated there, the metal's mesh with it: ALE)
    geometry: Literal["fixed", "moving"] = "fixed"
    vacancies: VacancySection
    interface: InterfaceSection

    @model_validator(mode="after")
    def _moving_without_sinks(self):
        if self.geometry == "moving" and self.vacancies.sink_spacing:
            raise _error(("vacancies", "sink_spacing"), "with geometry = \"moving\": "
                         "distributed sinks remove lattice sites inside the metal, a "
                         "shrinkage the moving collector does not represent")
        return self

    @model_validator(mode="before")
    @classmethod
    def _library_defaults(cls, data):
        """Fill vacancies/interface keys the file does not give from the library set named by
        `parameters` (the file's own values win)."""
        if not isinstance(data, dict) or not data.get("parameters"):
            return data
        if not isinstance(data["parameters"], str):
            raise _error("parameters", f"= {data['parameters']!r}: the name of a library set "
                         "such as 'na|na_beta_alumina'")
        from femcell.materials.core import MaterialError
        from femcell.materials.library import get_anode_set

        try:
            aset = get_anode_set(data["parameters"])
        except MaterialError as exc:
            raise _error("parameters", f"= {data['parameters']!r}: {exc}") from None
        data = dict(data)
        for sec in ("vacancies", "interface"):
            given = data.get(sec) or {}
            if isinstance(given, dict):
                merged = {**getattr(aset, sec), **given}
                unused = unused_keys(sec, given, merged)
                if unused:
                    raise _error((sec, unused[0]), unused[1])
                data[sec] = merged
        return data


# keys read only with the "fixed" option: (section, key, the option's key)
FIXED_ONLY = (("vacancies", "equilibrium_fraction", "equilibrium"),
               ("interface", "theta_crit", "void_threshold"))


def unused_keys(sec: str, given: dict, merged: dict) -> tuple[str, str] | None:
    """(key, message) when `given` (the file's table) sets a key that the option the
    library set chose does not read (e.g. equilibrium_fraction while the set makes the
    equilibrium thermal), else None. A table that names the option itself is taken as
    meant (a dumped and re-read study names every key)."""
    for s_, key, option in FIXED_ONLY:
        if (s_ == sec and key in given and option not in given
                and merged.get(option, "fixed") != "fixed"):
            return key, (f"is read only with {option} = \"fixed\", and {option} is "
                         f"{merged[option]!r} here (from anode.parameters or the study); set "
                         f"{option} = \"fixed\" as well, or leave it out")
    return None


KEYS = {"anode": (AnodeSection, ...)}


def parameters(cfg, temperature: float = T_REF):
    """The metal and the interface parameters of [anode] at temperature T [K], checked before
    anything is built or written: (metal Conductor, InterfaceVacancyParameters, theta_eq),
    theta_eq the equilibrium vacancy fraction x_v(T) [-]."""
    from femcell.config.base import ConfigError
    from femcell.materials import core as mcore
    from femcell.materials import get_material
    from femcell.materials.core import MaterialError
    from femcell.materials.library import get_anode_set, get_interlayer
    from femcell.physics.anode import (
        InterfaceVacancyParameters,
        adhesion_per_site,
        supersaturation_theta_crit,
        with_interlayer,
    )

    sec = cfg.anode
    spec = cfg.charge.conductors.get(sec.region)
    if spec is None:
        raise ConfigError(f"anode.region = {sec.region!r}: charge.conductors has no metal for "
                          "it")
    try:
        metal = get_material(spec.name)
    except MaterialError as exc:
        raise ConfigError(f"charge.conductors.{sec.region}: {exc}") from None
    if not isinstance(metal, mcore.Conductor) or not metal.molar_volume > 0:
        raise ConfigError(f"charge.conductors.{sec.region}: a metal with a molar volume (e.g. "
                          f"'na', 'li') for [anode], got {spec.name!r}")
    cites = ()
    if sec.parameters:
        aset = get_anode_set(sec.parameters)
        if aset.metal != metal.name:
            raise ConfigError(f"anode.parameters = {sec.parameters!r} is a set for "
                              f"{aset.metal!r}, but charge.conductors.{sec.region} = "
                              f"{metal.name!r}")
        cites = tuple(aset.all_citations())
    v, itf = sec.vacancies, sec.interface
    where = f" at {temperature - 273.15:.1f} degC"
    x_v = v.fraction(temperature)
    if not 0 < x_v < 0.1:
        raise ConfigError(f"anode.vacancies: the equilibrium vacancy fraction{where} is "
                          f"{x_v:.3g} (formation_energy / formation_entropy); a metal has "
                          "x_v well below 0.1")
    layer = None
    if itf.interlayer is not None:
        try:
            layer = get_interlayer(itf.interlayer)
        except MaterialError as exc:
            raise ConfigError(f"anode.interface.interlayer: {exc}") from None
        if layer.metal != metal.name:
            raise ConfigError(f"anode.interface.interlayer = {itf.interlayer!r} is made for "
                              f"{layer.metal!r}, but charge.conductors.{sec.region} = "
                              f"{metal.name!r}")
        if itf.wetting_angle is None:
            raise ConfigError("anode.interface.interlayer needs anode.interface.wetting_angle "
                              "(the metal's contact angle on the bare electrolyte) or "
                              "anode.parameters")

    def crit(angle, what="anode.interface.surface_energy / wetting_angle"):
        """The critical coverage on a surface the metal wets at `angle`."""
        if itf.void_threshold == "fixed":
            return itf.theta_crit
        try:
            return supersaturation_theta_crit(
                x_v, adhesion_per_site(itf.surface_energy, angle, itf.site_density),
                temperature)
        except MaterialError as exc:
            raise ConfigError(f"{what}{where}: {exc}") from None

    tc = crit(itf.wetting_angle)
    params = InterfaceVacancyParameters(
        site_density=itf.site_density,
        transfer_rate=mcore.Arrhenius(itf.transfer_rate, itf.activation_energy,
                                      citation="set by the study file"),
        molar_volume=metal.molar_volume, theta_crit=tc, void_rate=itf.void_rate,
        void_height=itf.void_height, creep_prefactor=itf.creep_prefactor,
        creep_exponent=itf.creep_exponent, creep_activation=itf.creep_activation,
        stack_pressure=itf.stack_pressure, transfer_area=itf.transfer_area,
        coverage_potential=itf.coverage_potential, citations=cites)
    if tc <= x_v:
        raise ConfigError(f"anode.interface.theta_crit = {tc:g} must exceed the equilibrium "
                          f"vacancy fraction{where}, {x_v:g} (anode.vacancies)")
    if layer is not None:
        try:
            params = with_interlayer(params, layer, wetting_angle=itf.wetting_angle,
                                     theta_eq=x_v, theta_crit=None if itf.void_threshold ==
                                     "fixed" else crit(
                                         layer.wetting_angle, "anode.interface.interlayer "
                                         f"{layer.name!r} (its wetting angle)"))
        except MaterialError as exc:
            raise ConfigError(f"anode.interface.interlayer: {exc}") from None
    return metal, params, x_v


def interface_of(cfg) -> str:
    """The "metal|electrolyte" interface of [anode]: the [[kinetics]] entry of its region."""
    from femcell.config.base import ConfigError

    region = cfg.anode.region
    for k in cfg.kinetics:
        if k.electrode == region:
            return f"{region}|{k.electrolyte}"
    raise ConfigError(f"anode.region = {region!r}: no [[kinetics]] entry has electrode = "
                      f"{region!r} (the reaction whose interface voids)")


# the contact fraction at which the closed form books the creep closure current (the
# default ramp threshold)
CREEP_CONTACT = 0.99


def stack_pressure(cfg) -> float:
    """The stack pressure on the anode [Pa]: [anode.interface] stack_pressure, or with
    creep_stress = "mechanics" the [mechanics] pressure on the anode collector (0 if none)."""
    itf = cfg.anode.interface
    if itf.creep_stress == "stack":
        return float(itf.stack_pressure)
    mech = getattr(cfg, "mechanics", None)
    return float(sum(b.pressure for b in (mech.bc if mech else [])
                     if b.region == cfg.anode.collector and b.pressure is not None))


def closed_form(cfg, temperature: float, thickness: float) -> dict:
    """The regime indicators and closed-form critical currents of [anode] on a flat, uniform
    interface at temperature T [K] with an anode `thickness` [m] (no DOLFINx):

    j_interface_limit = F kappa (theta_crit - theta_eq), j_bulk_limit = F D_v (theta_crit -
    theta_eq) / (Omega L) and, the two in series, j_quasi_steady = F (theta_crit - theta_eq)
    / (1 / kappa + Omega L / D_v) [A m^-2]; L the thickness (or l tanh(L / l) with sinks);
    the diffusion time L^2 / D_v [s]; the Damkohler number kappa Omega L / D_v (> 1: the bulk
    limits); with creep and stack pressure j_creep_closure = (1 - phi*) A (p / phi*)^n h_v F
    / Omega [A m^-2], the current creep closure carries at the contact fraction phi* = 0.99
    (p = `stack_pressure`, the nominal pressure of a flat interface);
    theta_crit, theta_eq [-]; the input energies [eV].
    """
    import numpy as np

    from femcell.materials.core import EV, Arrhenius
    from femcell.physics.anode import creep_rate_prefactor
    from femcell.units import K_B
    from femcell.units import F as FARADAY

    metal, params, x_v = parameters(cfg, temperature)
    v = cfg.anode.vacancies
    omega, T, L = metal.molar_volume, temperature, thickness
    if v.sink_spacing:  # bulk sinks shorten the diffusion length: l tanh(L / l)
        L = v.sink_spacing * float(np.tanh(L / v.sink_spacing))
    dv = Arrhenius(v.diffusivity, v.migration_energy)(T)
    tc, kappa = params.theta_crit, params.transfer_rate(T)
    out = {"j_interface_limit_A_m2": FARADAY * kappa * (tc - x_v),
           "j_bulk_limit_A_m2": FARADAY * dv * (tc - x_v) / (omega * L),
           "j_quasi_steady_A_m2": FARADAY * (tc - x_v) / (1.0 / kappa + omega * L / dv),
           # > 1: the bulk limits, < 1: the interface (kappa Omega L / D_v)
           "damkohler": kappa * omega * L / dv,
           "diffusion_time_s": L * L / dv, "theta_crit": tc, "theta_eq": x_v,
           "interface_barrier_eV": params.transfer_rate.activation_energy / EV}
    # creep closure at a contact fraction phi* = 0.99 (the default ramp threshold): with
    # stiff condensation the contact stays at phi* up to phi* j_c + this current
    itf = cfg.anode.interface
    pressure = stack_pressure(cfg)
    if pressure:
        out["stack_pressure_Pa"] = pressure
    if itf.creep_prefactor > 0 and pressure > 0:
        phi = CREEP_CONTACT
        rate = creep_rate_prefactor(itf.creep_prefactor, itf.creep_activation, T) * (
            pressure / phi / 1e6) ** itf.creep_exponent
        out["j_creep_closure_A_m2"] = ((1.0 - phi) * rate * itf.void_height * FARADAY
                                       / omega)
    if v.equilibrium == "thermal":
        out["vacancy_formation_eV"] = v.formation_energy / EV
    if cfg.anode.interface.void_threshold == "wetting":  # w = k_B T ln(theta_crit / x_v)
        out["adhesion_per_site_eV"] = K_B * T * float(np.log(tc / x_v)) / EV
    return out


def build(cfg, ctx) -> list:
    """Vacancy diffusion in the metal and the AnodeInterface (registered as a coupling of the
    anode's electrode reaction); ctx.info["anode"] gets the regime indicators at ctx's T."""
    from femcell.config.base import ConfigError
    from femcell.materials import core as mcore
    from femcell.physics.anode import AnodeInterface
    from femcell.physics.diffusion import Diffusion, Dirichlet

    sec, domain = cfg.anode, ctx.domain
    for key, name, known in (("region", sec.region, domain.cell_regions),
                             ("collector", sec.collector, domain.facet_regions)):
        if name not in known:
            raise ConfigError(f"anode.{key}: unknown {'cell' if key == 'region' else 'facet'} "
                              f"region {name!r}; known: {', '.join(known)}")
    interface = interface_of(cfg)
    if not domain.comm.allreduce(int(domain.submesh(sec.region).facets(
            domain, sec.collector).size)):
        raise ConfigError(f"anode.collector = {sec.collector!r} does not bound "
                          f"anode.region = {sec.region!r} (vacancies are annihilated there)")
    T = ctx.temperature
    metal, params, x_v = parameters(cfg, T)
    omega, v = metal.molar_volume, sec.vacancies
    ceq = x_v / omega
    # (a moving anode with [mechanics] or sinks is refused when the study is validated)
    moving = sec.geometry == "moving"
    vac_mat = mcore.IntercalationMaterial(
        "vacancies", 1.0 / omega, (mcore.Arrhenius(v.diffusivity, v.migration_energy,
                                                   citation="set by the study file"),))
    # the metal's thickness from the mesh: its volume over the collector's area
    thickness = domain.volume(sec.region) / domain.area(sec.collector)
    vac = Diffusion(vac_mat, [Dirichlet(sec.collector, ceq)], initial=ceq, region=sec.region,
                    name="cv", temperature=T, length_scale=thickness, track_outflow=True,
                    bulk_sink=(v.sink_spacing, ceq) if v.sink_spacing else None)
    normal_stress = None
    if sec.interface.creep_stress == "mechanics":
        if getattr(cfg, "mechanics", None) is None:
            raise ConfigError("anode.interface.creep_stress = \"mechanics\" needs a "
                              "[mechanics] section (the solved stress on the interface)")
        normal_stress = lambda: ctx.info["mechanics"]  # noqa: E731 (set up by then)
    front = None
    if moving:  # each vacancy annihilated at the collector removes a lattice site, Omega;
        # the collector is a plate: it moves as one piece (the metal creeps under it)
        from femcell.physics.moving_front import MovingFront

        front = MovingFront(vac, sec.collector, jump=-(1.0 / omega - ceq), fixed=(interface,),
                            slide="auto", rigid=True, rest="fixed")
    iface = AnodeInterface(params, vac, interface=interface, metal=sec.region, temperature=T,
                           normal_stress=normal_stress, front=front, theta_eq=x_v)
    if front is not None:  # the collector follows the metal that creep moves into voids
        front.extra_rate = iface.closure_rate
    ctx.couple(sec.region, iface)
    # the contacting share of the collector's footprint (pores and voids of the geometry
    # take the rest): the closed forms are per contacting area of a flat cell
    itf = domain.interface(*interface.split("|", 1))
    w = domain.weight()
    w_plus = w if isinstance(w, int | float) else w("+")
    share = domain.integrate(w_plus * domain.dS(itf.name)) / domain.area(sec.collector)
    ctx.info["anode"] = {"metal": metal, "params": params, "thickness_m": thickness,
                         "interface": interface, "contact_share": share,
                         "moving": moving, **closed_form(cfg, T, thickness)}
    return [vac, iface] + ([front] if front else [])
