"""[fracture]: AT1 / AT2 phase-field fracture of the [mechanics] body. Schema here (no
DOLFINx); `build` makes the PhaseFieldFracture physics on the Elasticity of [mechanics].

    [fracture]
    model = "AT1"                      # or "AT2"
    split = "voldev"                   # none, voldev (Amor), spectral (Miehe), hybrid
                                       # (isotropic stress, spectral psi+ drives damage)
    length = "2 um"                    # regularisation length l
    k_ic = "1 MPa m^0.5"               # or toughness = "6 J/m^2" (Gc); default: the
                                       # material's K_IC (library), Gc = K_IC^2 (1-nu^2)/E
    initial_cracks = [[["-10 um", 0], ["10 um", 0]]]   # segments, start broken (d = 1),
                                       # or tables {start = ["30 um", "70 um"], direction =
                                       # [0, -1], length = "10 um"} (a flaw size to sweep:
                                       # fracture.initial_cracks.0.length); in 3D with
                                       # width = "20 um" and span = [0, 1, 0] a planar flaw:
                                       # a half ellipse (shape = "semi_elliptical", default)
                                       # or a "rectangle" in the plane of direction and span
    pressure = "5 MPa"                 # on the crack faces (times the load factor), or
    volume = "2e-12 m^2"               # injected volume at load factor 1 (volume control;
                                       # m^2 per unit depth in 2D, m^3 in 3D)
    stack_stress = "20 MPa"            # compressive stress normal to the crack plane that
                                       # shields a pressurised crack (superposed: the faces
                                       # feel p - stack_stress; K_I = Y (p - s) sqrt(pi a))
    intact = ["left", "right"]         # facet regions held at d = 0 (grips)
    weak_surfaces = { facets = "grain_boundary", k_ic_ratio = 0.5 }   # lower toughness
                                       # (K_IC ratio; Gc scales with its square) within
                                       # half_width (default 2 l) of these facets:
                                       # intergranular cracking of a polycrystal
    region = "electrolyte"             # with several materials: the cell region whose
                                       # material gives K_IC (library), E' and nu, and the
                                       # only one that breaks (the damage's surface energy
                                       # runs over every cell: a crack along its interface
                                       # with another material costs its full Gc)
    j_integral = { direction = [1, 0], layer = "10 um" }   # report the G-theta integral of
                                       # a crack growing along direction (2D planar,
                                       # rectangular body, one material: theta falls to 0
                                       # over `layer` at its faces)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from femcell.config.base import Length, Q, _error, _Model, _nonneg, _pos

_COORD = Q("length")


def _volume(v: Any) -> tuple[float, str]:
    """A crack volume: (SI value, "area" or "volume")."""
    from femcell.units import UnitError, to_si

    if (isinstance(v, tuple | list) and len(v) == 2 and v[1] in ("area", "volume")
            and isinstance(v[0], int | float)):
        return (float(v[0]), v[1])  # a dumped study
    if isinstance(v, int | float) and not isinstance(v, bool):
        raise ValueError(f"= {v!r}: give units (m^2 per unit depth in 2D, m^3 in 3D)")
    for dim in ("area", "volume"):
        try:
            val = to_si(v, dim, name="value")
        except UnitError:
            continue
        if not val > 0:
            raise ValueError(f"= {v!r}: must be positive")
        return (val, dim)
    raise ValueError(f"= {v!r}: not an area (2D, per unit depth) or a volume (3D)")


class JIntegral(_Model):
    """j_integral = {direction, layer}: the G-theta energy release rate as a quantity."""

    direction: list[float] = Field(min_length=2, max_length=3)
    layer: Length


class CrackSpec(_Model):
    """An initial crack as a start point, a direction and a length: in 2D (or a needle in 3D)
    the segment from start to start + length * direction / |direction|; in 3D with a width
    and a span, a planar flaw (femcell.physics.cracks): a half ellipse (or a rectangle)
    `length` deep along direction and `width` wide along span, centred on start."""

    start: list[_COORD] = Field(min_length=2, max_length=3)
    direction: list[float] = Field(min_length=2, max_length=3)
    length: Q("length", _pos)
    width: Q("length", _pos) | None = None
    span: list[float] | None = Field(default=None, min_length=3, max_length=3)
    shape: Literal["semi_elliptical", "rectangle"] | None = None

    @model_validator(mode="after")
    def _direction(self):
        import math

        if len(self.direction) != len(self.start):
            raise _error("direction", f"needs {len(self.start)} components like start, got "
                         f"{len(self.direction)}")
        if not math.hypot(*self.direction) > 0:
            raise _error("direction", f"= {self.direction}: must not be zero")
        planar = (self.width, self.span)
        if any(v is not None for v in planar) and any(v is None for v in planar):
            missing = "span" if self.span is None else "width"
            raise _error(missing, "a planar flaw needs both width and span (its extent along "
                         "the surface and the direction of it)")
        if self.shape is not None and self.width is None:
            raise _error("shape", "is for a planar flaw (give width and span)")
        if self.width is not None:
            if len(self.start) != 3:
                raise _error("width", "a planar flaw (width, span) is 3D only: in 2D a crack is "
                             "a segment")
            d, s = self.direction, self.span
            dot = sum(a * b for a, b in zip(d, s, strict=True))
            if not math.hypot(*(b - dot * a / math.hypot(*d) ** 2 for a, b in zip(
                    d, s, strict=True))) > 1e-9 * max(math.hypot(*s), 1e-300):
                raise _error("span", f"= {s}: must not be zero or parallel to the direction")
        return self

    def segment(self) -> list[list[float]]:
        """[start, end] (m)."""
        import math

        n = math.hypot(*self.direction)
        return [list(self.start), [s + self.length * d / n
                                   for s, d in zip(self.start, self.direction, strict=True)]]

    def crack(self):
        """The segment, or the planar flaw as a dict (m) for femcell.physics.cracks."""
        if self.width is None:
            return self.segment()
        return {"start": list(self.start), "direction": list(self.direction),
                "length": self.length, "width": self.width, "span": list(self.span),
                "shape": self.shape or "semi_elliptical"}


_SEGMENT = Annotated[list[list[_COORD]], Field(min_length=2, max_length=2)]
_CRACK = Annotated[Annotated[_SEGMENT, Tag("union[segment]")]
                   | Annotated[CrackSpec, Tag("union[table]")],
                   Discriminator(lambda v: "union[table]" if isinstance(v, dict | CrackSpec)
                                 else "union[segment]")]


class WeakSurfaces(_Model):
    """weak_surfaces = {facets, k_ic_ratio, half_width}: lower toughness near facets."""

    facets: str
    k_ic_ratio: float = Field(gt=0.0, le=1.0)
    half_width: Q("length", _pos) | None = None


class FractureSection(_Model):
    """[fracture]: the phase-field model, its toughness, initial cracks and crack loading."""

    model: Literal["AT1", "AT2"] = "AT1"
    split: Literal["none", "voldev", "spectral", "hybrid"] = "voldev"
    length: Length
    toughness: Q("energy_release_rate", _pos) | None = None
    k_ic: Q("fracture_toughness", _pos) | None = None
    residual_stiffness: float = Field(default=1e-6, ge=0.0, lt=1.0)
    initial_cracks: list[_CRACK] = []
    crack_half_width: Length | None = None
    pressure: Q("pressure") | None = None
    stack_stress: Q("pressure", _nonneg) = 0.0
    volume: Annotated[tuple[float, str], BeforeValidator(_volume)] | None = None
    j_integral: JIntegral | None = None
    intact: list[str] = []
    region: str | None = None
    weak_surfaces: WeakSurfaces | None = None

    @model_validator(mode="after")
    def _loads(self):
        if self.j_integral is not None and (self.pressure is not None
                                            or self.volume is not None):
            raise _error("j_integral", "not with a crack-face pressure or volume (the G-theta "
                         "integral here has no pressure term)")
        if self.toughness is not None and self.k_ic is not None:
            raise _error("k_ic", "give toughness (Gc) or k_ic, not both")
        if self.pressure is not None and self.volume is not None:
            raise _error("volume", "give pressure (pressure control) or volume (volume "
                         "control), not both")
        if self.volume is not None and self.split not in ("none", "hybrid"):
            raise _error("split", f"= {self.split!r}: volume control needs split = 'none' or "
                         "'hybrid' (the pressure that gives a volume is found by "
                         "superposition, which needs elasticity linear in the displacement)")
        if self.volume is not None and not self.initial_cracks:
            raise _error("volume", "volume control needs an initial crack to fill "
                         "(initial_cracks)")
        return self

    def cracks(self) -> list:
        """The initial cracks: [start, end] segments (m) or planar flaws (dicts, m)."""
        return [c.crack() if isinstance(c, CrackSpec) else [list(p) for p in c]
                for c in self.initial_cracks]


KEYS = {"fracture": (FractureSection, ...)}


def toughness_of(cfg, mech) -> tuple[float, str]:
    """(Gc [J m^-2], how it was obtained) of the [fracture] section."""
    from femcell.config.base import ConfigError
    from femcell.materials.mechanical import get_mechanics

    f, m = cfg.fracture, cfg.mechanics
    plane_strain = m.mode != "plane_stress"
    if f.toughness is not None:
        return f.toughness, "fracture.toughness (study file)"
    elastic = list(mech.materials.values())
    name = m.material
    if f.region is not None:
        if f.region not in mech.materials:
            raise ConfigError(f"fracture.region: {f.region!r} has no material of its own in "
                              f"[mechanics] (materials: {', '.join(map(str, mech.materials))})")
        elastic = [mech.materials[f.region]]
        name = m.materials.get(f.region, m.material)
    if len(elastic) != 1:
        raise ConfigError("fracture: with several materials give fracture.region (the cell "
                          "region that cracks) or fracture.toughness (Gc)")
    el = elastic[0]
    if f.k_ic is not None:
        from femcell.materials.mechanical import Toughness

        return (Toughness(f.k_ic, citations=("study file",)).gc(el, plane_strain=plane_strain),
                "from fracture.k_ic (study file): Gc = K_IC^2 (1 - nu^2) / E")
    tough = get_mechanics(name).toughness if name else None
    if tough is None or not hasattr(tough, "gc") or not hasattr(tough, "k_ic"):
        what = f"material {name!r} has" if name else "per-region materials have"
        raise ConfigError(f"fracture: {what} no single fracture toughness in the library; "
                          f"give fracture.toughness or fracture.k_ic")
    return (tough.gc(el, plane_strain=plane_strain),
            f"from the library K_IC of {name} ({tough.k_ic / 1e6:g} MPa m^0.5)")


def build(cfg, ctx) -> list:
    """PhaseFieldFracture on the Elasticity that [mechanics] built (ctx.info)."""
    from femcell.config.base import ConfigError
    from femcell.physics.fracture import PhaseFieldFracture

    f = cfg.fracture
    mech = ctx.info.get("mechanics")
    if mech is None:
        raise ConfigError("fracture: needs a [mechanics] section")
    gdim = ctx.domain.gdim
    cracks = f.cracks()
    for i, crack in enumerate(cracks):
        pts = [crack["start"]] if isinstance(crack, dict) else crack
        for j, pt in enumerate(pts):
            if len(pt) != gdim:
                where = (f"{i}.start" if isinstance(f.initial_cracks[i], CrackSpec)
                         else f"{i}.{j}")
                raise ConfigError(f"fracture.initial_cracks.{where}: needs {gdim} coordinates "
                                  f"(the mesh is {gdim}D), got {len(pt)}")
    if f.volume is not None:
        planar = ctx.domain.coordinates == "cartesian" and gdim == 2
        want = "area" if planar else "volume"
        if f.volume[1] != want:
            what = ("an area (m^2 per unit depth in 2D planar)" if planar
                    else f"a volume (m^3, {ctx.domain.coordinates} coordinates)")
            raise ConfigError(f"fracture.volume: the crack volume here is {what}")
        if cfg.mechanics.creep:
            raise ConfigError("fracture.volume: volume control needs elasticity without "
                              "creep (mechanics.creep = false)")
    facets = set(ctx.domain.facet_regions)
    for i, r in enumerate(f.intact):
        if r not in facets:
            raise ConfigError(f"fracture.intact.{i}: unknown facet region {r!r}; known: "
                              f"{', '.join(sorted(facets))}")
    if f.j_integral is not None and len(f.j_integral.direction) != gdim:
        raise ConfigError(f"fracture.j_integral.direction: needs {gdim} components (the mesh "
                          f"is {gdim}D), got {len(f.j_integral.direction)}")
    if f.stack_stress and f.volume is None and getattr(cfg, "filament", None) is None:
        raise ConfigError("fracture.stack_stress: shields a crack filled under volume control; "
                          "needs fracture.volume or a [filament] that fills it (a crack-face "
                          "pressure starts at 0, and p - stack_stress < 0 would pull the "
                          "faces together)")
    gc, how = toughness_of(cfg, mech)
    weak = None
    if f.weak_surfaces is not None:
        from femcell.materials import MaterialError
        from femcell.physics.fracture import facet_sample_points

        ws = f.weak_surfaces
        try:
            pts = facet_sample_points(ctx.domain, ws.facets)
        except MaterialError as exc:
            raise ConfigError(f"fracture.weak_surfaces.facets: {exc}") from None
        if not len(pts):
            raise ConfigError(f"fracture.weak_surfaces.facets: region {ws.facets!r} has no "
                              "facets")
        weak = (pts, ws.k_ic_ratio ** 2, ws.half_width or 2.0 * f.length)
    lf = ctx.info.get("load_factor")
    pressure = None
    if f.pressure is not None:
        p = f.pressure
        pressure = (lambda t: p * lf(t)) if lf is not None else p
    frac = PhaseFieldFracture(mech, toughness=gc, length=f.length, model=f.model,
                              split=f.split, residual_stiffness=f.residual_stiffness,
                              pressure=pressure, stack_stress=f.stack_stress,
                              initial_cracks=[c if isinstance(c, dict) else [tuple(p) for p in c]
                                              for c in cracks],
                              crack_half_width=f.crack_half_width,
                              intact=tuple(f.intact), weak=weak, cracking_region=f.region,
                              j_integral=None if f.j_integral is None else (
                                  tuple(f.j_integral.direction), f.j_integral.layer))
    frac.toughness_source = how
    frac.region = f.region
    ctx.info["fracture"] = frac
    if f.volume is not None:
        v = f.volume[0]
        ctx.info["volume_control"] = (frac, (lambda t: v * lf(t)) if lf is not None
                                      else (lambda t: v))
    return [frac]
