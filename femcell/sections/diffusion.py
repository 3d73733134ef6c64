"""[diffusion]: Fick/Darken diffusion of one species in one material (the transient kind's
physics). Schema here (no DOLFINx); `build` makes the Diffusion physics.

    [diffusion]
    material = "nmc811"            # or a table: name plus overrides (c_max, diffusivity, law)
    initial = { stoichiometry = 0.3 }
    mass_lumping = false           # lumped storage (P1): no undershoot after a step in the data
    bounds = "stoichiometry"       # variational-inequality bounds: [0, c_max] or "data"
    [diffusion.orientation]        # anisotropic crystals: none | fixed | random | mesh
    [[diffusion.boundary]]         # current | flux | dirichlet | robin on a facet region
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from femcell.config.base import (
    Concentration,
    CurrentDensity,
    Diffusivity,
    Energy,
    MaterialName,
    MolarFlux,
    PositiveConcentration,
    Q,
    Velocity,
    _Model,
)


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
    name: MaterialName
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

def _material_name(v):
    return {"name": v} if isinstance(v, str) else v


class DiffusionSection(_Model):
    """[diffusion]: the material, its initial state, boundaries and discretisation options."""

    material: Annotated[MaterialSection, BeforeValidator(_material_name)]
    initial: InitialSection
    orientation: OrientationSection = OrientationSection()
    boundary: list[BoundarySection] = []
    # lumped storage term (P1; removes the early-time undershoot of a step in the boundary
    # data) and bounds by a variational inequality ("stoichiometry": [0, c_max], "data": the
    # bounds of the initial and boundary data; anisotropic tensors need it)
    mass_lumping: bool = False
    bounds: Literal["stoichiometry", "data"] | None = None


KEYS = {"diffusion": (DiffusionSection, ...)}


# ---------------------------------------------------------------------------- builder
def build_material(sec: DiffusionSection, where: str = "diffusion.material"):
    """The library material with the section's overrides (an IntercalationMaterial)."""
    from femcell.config.base import ConfigError
    from femcell.materials import core as mcore
    from femcell.materials import get_material

    m = sec.material
    mat = get_material(m.name)
    if not isinstance(mat, mcore.IntercalationMaterial):
        raise ConfigError(f"{where}.name = {m.name!r} is not an intercalation material (a "
                          f"{type(mat).__name__}); [diffusion] needs one with c_max and D")
    over = {}
    if m.c_max is not None:
        over["c_max"] = m.c_max
    if m.diffusivity is not None or m.activation_energy is not None:
        d = m.diffusivity
        vals = [x.value_ref for x in mat.diffusivity] if d is None else (
            list(d) if isinstance(d, list) else [d])
        if len(vals) not in (1, 3):
            raise ConfigError(f"{where}.diffusivity: give 1 or 3 principal values")
        ea = [x.activation_energy for x in mat.diffusivity]
        if m.activation_energy is not None:
            ea = [m.activation_energy]
        ea = ea * 3 if len(ea) == 1 and len(vals) == 3 else ea
        ea = ea[:1] if len(vals) == 1 else ea
        over["diffusivity"] = tuple(mcore.Arrhenius(v, e, citation="set by the study file")
                                    for v, e in zip(vals, ea, strict=False))
    if m.law is not None:
        kw = {k: v for k, v in m.law.model_dump().items() if v is not None and k != "name"}
        for k in ("theta", "values"):
            if k in kw:
                kw[k] = tuple(kw[k])
        try:
            over["law"] = mcore.LAWS[m.law.name](**kw)
        except TypeError:
            import inspect

            allowed = list(inspect.signature(mcore.LAWS[m.law.name]).parameters)
            bad = [k for k in kw if k not in allowed]
            raise ConfigError(f"{where}.law: {', '.join(repr(b) for b in bad)} does not apply "
                              f"to law '{m.law.name}' (its parameters: "
                              f"{', '.join(allowed) or 'none'})") from None
    return get_material(m.name, **over) if over else mat


def build_orientations(sec: DiffusionSection, domain):
    """None, one rotation, or {grain group: rotation} as the section asks."""
    import numpy as np

    from femcell.config.base import ConfigError
    from femcell.materials import rotation_from_euler

    o = sec.orientation
    if o.mode == "none":
        return None
    if o.mode == "fixed":
        if not o.euler_deg:
            raise ConfigError("diffusion.orientation.euler_deg: needed for mode = 'fixed'")
        return rotation_from_euler(np.radians(o.euler_deg))
    tops = sorted({r.split(".")[0] for r in domain.cell_regions})
    groups = [g for r in tops for g in domain.grains(r)]
    if o.mode == "mesh":
        ori = domain.metadata.get("orientations")
        if not ori:
            raise ConfigError("diffusion.orientation.mode = 'mesh': the geometry carries no "
                              "grain orientations (use a polycrystal builder or mode = "
                              "'random')")
        return {g: rotation_from_euler(ori[g]) for g in groups if g in ori}
    from scipy.spatial.transform import Rotation

    mats = Rotation.random(len(groups), random_state=o.seed).as_matrix()
    return dict(zip(sorted(groups), mats, strict=True))


def build_bcs(sec: DiffusionSection, material, domain) -> list:
    """Boundary conditions of the section (Flux / Dirichlet / Robin on facet regions)."""
    from femcell.config.base import ConfigError
    from femcell.physics.diffusion import Dirichlet, Flux, Robin

    out = []
    for i, b in enumerate(sec.boundary):
        if b.region not in domain.facet_regions:
            raise ConfigError(f"diffusion.boundary.{i}.region: unknown facet region "
                              f"{b.region!r}; known facet regions: "
                              f"{', '.join(domain.facet_regions) or '(none)'}")
        if b.type == "current":
            if b.c_rate is not None:
                # C-rate: fills the region's capacity c_max V in 1/C hours through this area
                q = b.c_rate * material.c_max * domain.volume() / (domain.area(b.region) * 3600)
                out.append(Flux(b.region, q))
            else:
                out.append(Flux.from_current(b.region, b.current_density))
        elif b.type == "flux":
            out.append(Flux(b.region, b.flux))
        elif b.type == "dirichlet":
            out.append(Dirichlet(b.region, b.concentration))
        else:
            out.append(Robin(b.region, b.transfer_coefficient, b.concentration))
    return out


def build(cfg, ctx) -> list:
    """The Diffusion physics of [diffusion] on the whole domain."""
    from femcell.config.base import ConfigError
    from femcell.physics.diffusion import Diffusion

    sec = cfg.diffusion
    material = build_material(sec)
    material.law.check(ctx.temperature)
    orient = build_orientations(sec, ctx.domain)
    bcs = build_bcs(sec, material, ctx.domain)
    c0 = (sec.initial.concentration if sec.initial.concentration is not None
          else sec.initial.stoichiometry * material.c_max)
    if c0 > material.c_max:
        raise ConfigError(f"diffusion.initial.concentration: {c0:g} mol/m^3 exceeds c_max = "
                          f"{material.c_max:g} mol/m^3 of {material.name}")
    d = Diffusion(material, bcs, initial=c0, temperature=ctx.temperature,
                  orientations=orient, degree=ctx.degree, mass_lumping=sec.mass_lumping,
                  bounds=sec.bounds)
    ctx.info["diffusion"] = d  # [mechanics] swelling reads its concentration
    return [d]
