"""[charge] and [[kinetics]]: ionic/electronic potentials with Butler-Volmer kinetics at
every electrode|electrolyte interface. Schema here (no DOLFINx); `build` makes the
ChargeTransport physics, coupled to whatever acts on each electrode reaction (particles of
[[intercalation]], the voiding interface of [anode], ...) through the couplings other
sections registered in the build context.

    [charge]
    conductors = { anode = "li", electrolyte = "llzo", cathode = "li" }   # region: material
    group_conductors = {}          # e.g. { "electrolyte.gb" = "llzo_gb" } for cell groups
    # a material is a library name, or a table of the name with values of the study's own:
    # { name = "llzo_gb", conductivity = "1e-4 S/cm", activation_energy = "0.4 eV",
    #   permittivity = 60 }   (conductivity at 25 degC, the reference temperature)
    current_cc = "anode_cc"        # facet region where the applied current enters
    ground_cc = "cathode_cc"       # facet region held at 0 V
    ground_electrode = "active"    # instead of ground_cc: an ideal grounded network
    double_layer_capacitance = { anode = "10 uF/cm^2" }   # C_dl d(phi_s - phi_l)/dt at an
                                   # electrode's interface in every transient (per area)
    [charge.grain_boundaries]      # resistive boundaries: the potential jumps across them
    region = "electrolyte"         # default: the ionic conductor
    facets = "grain_boundary"      # facet group (polycrystal builders name it so)
    material = "llzo_gb"           # boundary phase: g_gb = sigma_gb(T) / thickness
    thickness = "10 nm"            # electrical thickness of the boundary
    # conductance = "300 S/cm^2"   # or a constant specific conductance instead
    # capacitance = "1 uF/cm^2"    # for impedance (default: eps0 eps_r(material) / thickness)
    [[kinetics]]                   # one per electrode|electrolyte interface
    electrode = "anode"
    exchange_current_density = "25 mA/cm^2"
    activation_energy = "0.3 eV"
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from femcell.config.base import Energy, MaterialName, Q, _Model, _pos


class ConductorSection(_Model):
    """A conductor of [charge]: a library material, optionally with values of the study's
    own (marked "set by the study file" in the run's inputs and citations)."""

    name: MaterialName
    conductivity: Q("conductivity", _pos) | None = None  # at the reference 25 degC [S/m]
    activation_energy: Energy | None = None
    permittivity: float | None = Field(default=None, ge=1.0, allow_inf_nan=False)


def _by_name(v):
    return {"name": v} if isinstance(v, str) else v


Conductor = Annotated[ConductorSection, BeforeValidator(_by_name)]


class GrainBoundarySection(_Model):
    """[charge.grain_boundaries]: facets the potential of a region jumps across."""

    region: str | None = None
    facets: str = "grain_boundary"
    material: MaterialName | None = None
    thickness: Q("length", _pos) | None = None
    conductance: Q("area_conductance", _pos) | None = None
    capacitance: Q("area_capacitance", _pos) | None = None
    penalty: float = Field(default=10.0, gt=2)

    @model_validator(mode="after")
    def _one_law(self):
        if self.conductance is not None and (self.material or self.thickness is not None):
            raise ValueError("give material and thickness, or conductance, not both")
        if self.conductance is None and (self.material is None or self.thickness is None):
            missing = "material" if self.material is None else "thickness"
            raise ValueError(f"{missing} missing (or give conductance instead)")
        return self


class ChargeSection(_Model):
    """[charge]: conductors by cell region and where the current enters and leaves."""

    conductors: dict[str, Conductor] = Field(min_length=1)
    group_conductors: dict[str, Conductor] = {}
    current_cc: str = "anode_cc"
    ground_cc: str = "cathode_cc"
    ground_electrode: str | None = None
    grain_boundaries: GrainBoundarySection | None = None
    double_layer_capacitance: dict[str, Q("area_capacitance", _pos)] = {}


class KineticsSection(_Model):
    """[[kinetics]]: the rate law of one electrode|electrolyte interface."""

    electrode: str
    electrolyte: str = "electrolyte"
    law: Literal["butler_volmer", "linear", "tafel"] = "butler_volmer"
    exchange_current_density: Q("current_density", _pos)
    activation_energy: Energy = 0.0
    alpha_a: float = Field(default=0.5, gt=0, le=1)
    alpha_c: float = Field(default=0.5, gt=0, le=1)
    equilibrium_potential: Q("potential") = 0.0


KEYS = {"charge": (ChargeSection, ...),
        "kinetics": (Annotated[list[KineticsSection], Field(min_length=1)], ...)}


def conductors(cfg, domain, key: str = "conductors") -> dict:
    """{region or cell group: Conductor} of charge.<key>, checked against the mesh."""
    from femcell.config.base import ConfigError

    regions = set(domain.cell_regions)
    out = {}
    for region, spec in getattr(cfg.charge, key).items():
        if region not in regions:
            raise ConfigError(f"charge.{key}.{region}: unknown cell region {region!r}; known: "
                              f"{', '.join(sorted(regions))}")
        out[region] = conductor_of(f"charge.{key}.{region}", spec)
    return out


def conductor_of(key: str, spec: ConductorSection):
    """The library Conductor of `spec` with the study's own values, or a ConfigError naming
    `key`."""
    import dataclasses

    from femcell.config.base import ConfigError
    from femcell.materials import core as mcore
    from femcell.materials import get_material
    from femcell.materials.core import MaterialError

    try:
        mat = get_material(spec.name)
    except MaterialError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if not isinstance(mat, mcore.Conductor):
        raise ConfigError(f"{key}: material {spec.name!r} is not a conductor")
    over = {}
    if spec.conductivity is not None or spec.activation_energy is not None:
        law, new = mat.conductivity, {"citation": "set by the study file"}
        if spec.conductivity is not None:  # at 25 degC (the reference of the study's value)
            new |= {"value_ref": spec.conductivity, "t_ref": mcore.T_REF}
        if spec.activation_energy is not None:
            new["activation_energy"] = spec.activation_energy
        over["conductivity"] = dataclasses.replace(law, **new)
    if spec.permittivity is not None:
        over["permittivity"] = spec.permittivity
    if over:
        over["citations"] = (*mat.citations, f"{spec.name}: "
                             f"{', '.join(k for k in over)} set by the study file")
    return dataclasses.replace(mat, **over) if over else mat


def build(cfg, ctx) -> list:
    """ChargeTransport with one InterfaceKinetics per [[kinetics]] entry; each takes the
    couplings other physics registered for its electrode (ctx.couplings)."""
    from femcell.config.base import ConfigError
    from femcell.materials import core as mcore
    from femcell.physics.charge import ChargeTransport
    from femcell.physics.kinetics import LAWS, InterfaceKinetics

    c = cfg.charge
    domain = ctx.domain
    conds = conductors(cfg, domain)
    groups = conductors(cfg, domain, "group_conductors")
    kin = []
    for i, k in enumerate(cfg.kinetics):
        for side in (k.electrode, k.electrolyte):
            if side not in conds and side not in ctx.couplings and side != c.ground_electrode:
                raise ConfigError(f"kinetics.{i}: region {side!r} has no conductor")
        law = LAWS[k.law](mcore.Arrhenius(k.exchange_current_density, k.activation_energy,
                                          citation="set by the study file"),
                          k.alpha_a, k.alpha_c)
        kin.append(InterfaceKinetics(k.electrode, k.electrolyte, law, k.equilibrium_potential,
                                     couplings=tuple(ctx.couplings.get(k.electrode, ()))))
    unused = sorted(set(ctx.couplings) - {k.electrode for k in cfg.kinetics})
    if unused:
        raise ConfigError(f"kinetics: no entry for electrode {unused[0]!r}, which "
                          f"{ctx.couplings[unused[0]][0].name!r} acts on")
    for key in ("current_cc",) if c.ground_electrode else ("current_cc", "ground_cc"):
        name = getattr(c, key)
        if name not in domain.facet_regions:
            raise ConfigError(f"charge.{key}: unknown facet region {name!r}; known: "
                              f"{', '.join(domain.facet_regions)}")
    electrodes = [k.electrode for k in cfg.kinetics]
    for e in c.double_layer_capacitance:
        if e not in electrodes:
            raise ConfigError(f"charge.double_layer_capacitance.{e}: not an electrode with a "
                              f"[[kinetics]] entry ({', '.join(electrodes)})")
    ch = ChargeTransport(conds, kin, current_cc=c.current_cc, ground_cc=c.ground_cc,
                         double_layer=dict(c.double_layer_capacitance),
                         temperature=ctx.temperature, degree=ctx.degree,
                         group_conductors=groups, ground_electrode=c.ground_electrode,
                         grain_boundaries=grain_boundaries(cfg, domain, conds))
    ctx.info["charge"] = ch
    return [ch]


def grain_boundaries(cfg, domain, conds: dict):
    """ResistiveBoundaries of [charge.grain_boundaries] (None without it), checked against
    the mesh: the region exists and the facet group has facets inside it."""
    from femcell.config.base import ConfigError

    gb = cfg.charge.grain_boundaries
    if gb is None:
        return None
    key = "charge.grain_boundaries"
    ions = [r for r, c in conds.items() if c.carrier == "ion"]
    region = gb.region or (ions[0] if len(ions) == 1 else None)
    if region not in conds:
        what = (f"{gb.region!r} is not a region of charge.conductors" if gb.region else
                "no single ionic conductor in charge.conductors: name the region")
        raise ConfigError(f"{key}.region: {what} ({', '.join(conds)})")
    return resistive_boundaries(key, gb, region, conds[region].carrier, domain)


def resistive_boundaries(key: str, gb: GrainBoundarySection, region: str,
                         carrier: str | None, domain):
    """ResistiveBoundaries of a grain-boundary section for `region`, checked against the
    mesh (the facet group has facets inside the region) and the region's carrier (None: any).

    Raises:
        ConfigError: naming `key` and the culprit.
    """
    from femcell.config.base import ConfigError
    from femcell.physics.grain_boundary import ResistiveBoundaries

    if gb.facets not in domain.inner_groups(region):
        inside = [g for g in domain.inner_groups(region) if g]
        raise ConfigError(f"{key}.facets: facet group {gb.facets!r} has no facets inside "
                          f"{region!r} (facet groups there: {', '.join(inside) or 'none'})")
    conductor = None
    if gb.material is not None:
        conductor = conductor_of(f"{key}.material", ConductorSection(name=gb.material))
        if carrier is not None and conductor.carrier != carrier:
            raise ConfigError(f"{key}.material: {gb.material!r} carries {conductor.carrier}s, "
                              f"{region!r} {carrier}s (the same carrier needed)")
    return ResistiveBoundaries(region, gb.facets, conductor, gb.thickness, gb.conductance,
                               gb.penalty, gb.capacitance)
