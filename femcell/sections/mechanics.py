"""[mechanics]: small-strain elasticity (and power-law creep) with boundary loads. Schema
here (no DOLFINx); `build` makes the Elasticity physics and leaves it in ctx.info for the
physics that act on it ([fracture]).

    [mechanics]
    material = "llzo"                  # library material with mechanical data, whole mesh
    materials = { anode = "li" }       # or per cell region
    mode = "plane_strain"              # 3d, plane_strain, plane_stress, axisymmetric, spherical
    creep = false                      # Norton creep where the material has a creep law
    swelling = false                   # chemical strain from the [diffusion] concentration,
                                       # or of a [cahn_hilliard] field (coherency stress)
    anchor = false                     # hold a free body (a particle) on a weak foundation
    report = ["surface"]               # facet regions: mean normal and hoop stress
    degree = 2                         # displacement degree (default: solver.degree)
    [[mechanics.bc]]
    region = "bottom"
    displacement = { x = 0, y = 0 }    # components [m]; or traction = ["1 MPa", 0],
                                       # pressure = "5 MPa" (pushes in), symmetry = true,
                                       # or k_field = { k = "1 MPa m^0.5", tip = ["-40 um",
                                       # 0], advance = ["80 um", 0] }: the mode-I crack-tip
                                       # displacement of a tip moving by `advance` over the
                                       # load (surfing; isotropic, planar; k or
                                       # energy_release_rate = K^2 / E', default: the Gc
                                       # of [fracture], K = sqrt(Gc E'))
Every displacement, traction and pressure is multiplied by the load factor of the study
(0 -> 1 over the load steps of a quasi-static study); a k_field keeps its K and moves its
tip with the load factor.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from femcell.config.base import Q, Temperature, _error, _Model, _pos

_SIGNED_LENGTH = Q("length")
_PRESSURE = Q("pressure")


def _mechanics_material(name: str) -> str:
    from femcell.materials.mechanical import list_mechanics

    known = list_mechanics()
    if name not in known:
        raise ValueError(f"= {name!r}: no mechanical data; materials with mechanical data: "
                         f"{', '.join(known)}")
    return name


def _checked(v):
    if isinstance(v, str):
        return _mechanics_material(v)
    return v


class KFieldBC(_Model):
    """k_field = {...}: the mode-I crack-tip displacement (surfing boundary condition)."""

    k: Q("fracture_toughness", _pos) | None = None
    energy_release_rate: Q("energy_release_rate", _pos) | None = None
    tip: list[_SIGNED_LENGTH] = Field(min_length=2, max_length=2)
    advance: list[_SIGNED_LENGTH] = Field(default=[0.0, 0.0], min_length=2, max_length=2)

    @model_validator(mode="after")
    def _strength(self):
        if self.k is not None and self.energy_release_rate is not None:
            raise _error("k", "give k (stress intensity) or energy_release_rate, not both")
        return self


class MechanicsBC(_Model):
    """[[mechanics.bc]]: one load or support on a facet region (exactly one kind)."""

    region: str
    displacement: dict[Literal["x", "y", "z"], _SIGNED_LENGTH] | None = None
    traction: list[_PRESSURE] | None = None
    pressure: _PRESSURE | None = None
    symmetry: bool = False
    k_field: KFieldBC | None = None

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("displacement", "traction", "pressure", "k_field")
                 if getattr(self, k) is not None] + (["symmetry"] if self.symmetry else [])
        if len(given) != 1:
            got = ", ".join(given) or "none"
            raise _error("region", f"= {self.region!r}: give exactly one of displacement, "
                         f"traction, pressure, k_field or symmetry = true (got {got})")
        if self.displacement is not None and not self.displacement:
            raise _error("displacement", "needs at least one component (x, y or z)")
        return self


class MechanicsSection(_Model):
    """[mechanics]: materials by region, the kinematic mode and the boundary conditions."""

    material: str | None = None
    materials: dict[str, str] = {}
    youngs_modulus: Q("pressure", _pos) | None = None
    poisson_ratio: float | None = Field(default=None, gt=-1.0, lt=0.5)
    mode: Literal["3d", "plane_strain", "plane_stress", "axisymmetric",
                  "spherical"] = "plane_strain"
    creep: bool = False
    swelling: bool = False  # chemical strain of [diffusion] or [cahn_hilliard] (coherency)
    anchor: bool = False  # hold a free body (a particle) on a weak elastic foundation
    report: list[str] = []  # facet regions: mean normal and in-surface (hoop) stress
    degree: Literal[1, 2] | None = None  # displacement degree (default: solver.degree)
    # T_0 of zero thermal strain; None: the study temperature (the cell is stress free as
    # built and held at its test temperature; give a value to study thermal stresses)
    reference_temperature: Temperature | None = None
    bc: list[MechanicsBC] = Field(default=[], min_length=0)

    @model_validator(mode="after")
    def _materials(self):
        if self.material is None and not self.materials and self.youngs_modulus is None:
            raise _error("material", "give material, materials or youngs_modulus + "
                         "poisson_ratio")
        if self.material is not None and self.materials:
            raise _error("materials", "give either material (whole mesh) or materials (per "
                         "region), not both")
        for key in (["material"] if self.material else []):
            try:
                _mechanics_material(self.material)
            except ValueError as exc:
                raise _error(key, str(exc)) from None
        for region, name in self.materials.items():
            try:
                _mechanics_material(name)
            except ValueError as exc:
                raise _error(("materials", region), str(exc)) from None
        if (self.youngs_modulus is None) != (self.poisson_ratio is None):
            raise _error("poisson_ratio" if self.poisson_ratio is None else "youngs_modulus",
                         "give youngs_modulus and poisson_ratio together")
        if self.youngs_modulus is not None and self.materials:
            raise _error("youngs_modulus", "overrides the elastic constants of `material` "
                         "(whole mesh), not of per-region `materials`")
        return self


KEYS = {"mechanics": (MechanicsSection, ...)}


def elastic_materials(m) -> dict:
    """{region or None: ElasticSolid} of a validated [mechanics] section."""
    from femcell.materials.mechanical import ElasticSolid, get_mechanics

    if m.materials:
        return {r: get_mechanics(n).elastic for r, n in m.materials.items()}
    base = get_mechanics(m.material).elastic if m.material else None
    if m.youngs_modulus is None:
        return {None: base}
    kw = {}
    if base is not None:
        kw = {"thermal_expansion": base.thermal_expansion,
              "partial_molar_volume": base.partial_molar_volume}
    return {None: ElasticSolid(name=(base.name if base else "custom") + " (E, nu set)",
                               youngs_modulus=m.youngs_modulus,
                               poisson_ratio=m.poisson_ratio,
                               citations=("elastic constants set by the study file",), **kw)}


def mesh_orientations(domain):
    """{grain group: rotation} from the geometry's grain orientations, or None."""
    from femcell.materials import rotation_from_euler

    ori = domain.metadata.get("orientations")
    if not ori:
        return None
    tops = sorted({r.split(".")[0] for r in domain.cell_regions})
    groups = [g for r in tops for g in domain.grains(r)]
    return {g: rotation_from_euler(ori[g])
            for g in groups if g in ori}


def _k_field(cfg, kf, domain, where: str):
    """The surfing displacement function of a k_field table."""
    from types import SimpleNamespace

    from femcell.config.base import ConfigError
    from femcell.physics.mechanics import k_field

    m = cfg.mechanics
    if cfg.study.kind != "quasistatic":
        raise ConfigError(f"{where}: needs a quasistatic study (its tip moves with the load "
                          f"factor), not {cfg.study.kind!r}")
    if m.mode not in ("plane_strain", "plane_stress") or domain.gdim != 2:
        raise ConfigError(f"{where}: needs a 2D planar mode (plane_strain or plane_stress), "
                          f"not {m.mode!r}")
    mats = elastic_materials(m)
    if len(mats) != 1 or not next(iter(mats.values())).isotropic:
        raise ConfigError(f"{where}: needs one isotropic material (the closed-form field)")
    el = next(iter(mats.values()))
    E, nu = el.youngs_modulus, el.poisson_ratio
    e_prime = E / (1 - nu**2) if m.mode == "plane_strain" else E
    if kf.k is not None:
        K = kf.k
    elif kf.energy_release_rate is not None:
        K = (kf.energy_release_rate * e_prime) ** 0.5
    else:
        if getattr(cfg, "fracture", None) is None:
            raise ConfigError(f"{where}: give k or energy_release_rate (there is no [fracture] "
                              f"toughness to take it from)")
        from femcell.sections.fracture import toughness_of

        gc, _ = toughness_of(cfg, SimpleNamespace(materials=mats))
        K = (gc * e_prime) ** 0.5
    return k_field(K=K, youngs_modulus=E, poisson_ratio=nu, tip=tuple(kf.tip),
                   advance=tuple(kf.advance),
                   plane="strain" if m.mode == "plane_strain" else "stress")


def build(cfg, ctx) -> list:
    """The Elasticity physics of [mechanics] (in ctx.info["mechanics"])."""
    from femcell.config.base import ConfigError
    from femcell.materials.mechanical import get_mechanics
    from femcell.physics.mechanics import (
        Displacement,
        DisplacementField,
        Elasticity,
        Pressure,
        Symmetry,
        Traction,
    )

    m = cfg.mechanics
    domain = ctx.domain
    regions, facets = set(domain.cell_regions), set(domain.facet_regions)
    for region in m.materials:
        if region not in regions:
            raise ConfigError(f"mechanics.materials.{region}: unknown cell region; known: "
                              f"{', '.join(sorted(regions))}")
    bcs = []
    for i, b in enumerate(m.bc):
        if b.region not in facets:
            raise ConfigError(f"mechanics.bc.{i}.region: unknown facet region {b.region!r}; "
                              f"known: {', '.join(sorted(facets))}")
        if b.displacement is not None:
            axes = "xyz"[:domain.gdim]
            bad = [k for k in b.displacement if k not in axes]
            if bad:
                raise ConfigError(f"mechanics.bc.{i}.displacement.{bad[0]}: the mesh is "
                                  f"{domain.gdim}D (components {', '.join(axes)})")
            bcs.append(Displacement(b.region, dict(b.displacement)))
        elif b.traction is not None:
            if len(b.traction) != domain.gdim:
                raise ConfigError(f"mechanics.bc.{i}.traction: needs {domain.gdim} components, "
                                  f"got {len(b.traction)}")
            bcs.append(Traction(b.region, tuple(b.traction)))
        elif b.pressure is not None:
            bcs.append(Pressure(b.region, b.pressure))
        elif b.k_field is not None:
            bcs.append(DisplacementField(b.region, _k_field(cfg, b.k_field, domain,
                                                            f"mechanics.bc.{i}.k_field")))
        else:
            bcs.append(Symmetry(b.region))
    creep = {}
    if m.creep:
        names = m.materials or {None: m.material}
        for region, name in names.items():
            law = get_mechanics(name).creep if name else None
            if law is not None:
                creep[region] = law
        if not creep:
            raise ConfigError("mechanics.creep: no material of the study has a creep law")
    for i, r in enumerate(m.report):
        if r not in facets:
            raise ConfigError(f"mechanics.report.{i}: unknown facet region {r!r}; known: "
                              f"{', '.join(sorted(facets))}")
    concentration, region = None, None
    ch = ctx.info.get("cahn_hilliard")
    coherent = m.swelling and ch is not None and ctx.info.get("diffusion") is None
    if coherent:
        concentration = _coherent_phase_field(cfg, m, ch)
        region = ch.region  # a particle region: its misfit acts there only
        if region is not None and creep:
            raise ConfigError("mechanics.creep: not with a coherent [cahn_hilliard] region "
                              f"({region!r}): the creep flow would need its field outside it")
        anode = getattr(cfg, "anode", None)
        if region is not None and anode is not None and \
                anode.interface.creep_stress == "mechanics":
            raise ConfigError("anode.interface.creep_stress = \"mechanics\": not with a "
                              f"coherent [cahn_hilliard] region ({region!r}): the stress on "
                              "the anode's interface would need the particle's field outside "
                              "it (use creep_stress = \"stack\", or mechanics.swelling = "
                              "false)")
    elif m.swelling:
        diff = ctx.info.get("diffusion")
        if diff is None:
            raise ConfigError("mechanics.swelling: needs a [diffusion] or [cahn_hilliard] "
                              "section (its concentration swells the solid)")
        if diff.region is not None:
            raise ConfigError("mechanics.swelling: the diffusion must cover the whole mesh")
        if callable(diff.initial):
            raise ConfigError("mechanics.swelling: needs a uniform initial concentration "
                              "(the stress-free state)")
        mats = elastic_materials(m)
        if not any(el.partial_molar_volume for el in mats.values()):
            raise ConfigError("mechanics.swelling: no material has a partial molar volume")
        concentration = (lambda: diff.material.c_max * diff.field.u, float(diff.initial))
    mech = Elasticity(elastic_materials(m), bcs, mode=m.mode, creep=creep,
                      concentration=concentration, anchor=m.anchor, report_regions=m.report,
                      temperature=ctx.temperature,
                      reference_temperature=m.reference_temperature,
                      degree=m.degree or min(ctx.degree, 2),
                      load_factor=ctx.info.get("load_factor"),
                      orientations=mesh_orientations(domain), concentration_region=region)
    ctx.info["mechanics"] = mech
    if coherent:
        ch.couple_mechanics(lambda: mech)  # the coherency stress in its chemical potential
    return [mech]


def _coherent_phase_field(cfg, m, ch):
    """(concentration [mol m^-3], c_0) of the [cahn_hilliard] field for the swelling of a
    coherent phase field: c / V_m about the initial mean (the stress-free state)."""
    from femcell.config.base import ConfigError

    sec = cfg.cahn_hilliard
    vm = getattr(ch.energy, "molar_volume", None)
    if not vm:
        raise ConfigError("mechanics.swelling with [cahn_hilliard]: needs cahn_hilliard."
                          "energy.kind = \"regular_solution\" (its molar_volume is the site "
                          "density that turns c into a concentration)")
    if not any(el.partial_molar_volume or el.chemical_expansion
               for el in elastic_materials(m).values()):
        raise ConfigError("mechanics.swelling: no material has a partial molar volume or a "
                          "chemical expansion (the misfit)")
    c0 = 0.5 if sec.initial.kind == "pfhub_bm1" else sec.initial.value
    return (lambda: ch.field.u / vm, c0 / vm)
