"""Grain boundaries as resistive interfaces: a potential that jumps across named facets.

A grain boundary a few nanometres thick is far thinner than any mesh of a polycrystal. When
its conductivity sigma_gb is well below the grains', it acts on the current crossing it as
an interface with a specific conductance per area

    g_gb = sigma_gb / delta    [S m^-2]     (delta: the boundary's electrical thickness)

and a capacitance per area c_gb = eps0 eps_gb / delta: the normal current density is
i . n = g_gb [phi] with [phi] the potential jump. The potential is then discontinuous
across the boundary facets and continuous elsewhere. femcell writes it in one broken
(DG) space over the region: the symmetric interior penalty method (SIPG) keeps it
continuous inside the grains (the facets of `Domain.inner_groups` other than the boundary
group), and the boundary facets carry g_gb [phi][v]. One form for any number of grains.

What it cannot do: current running ALONG a boundary (an easy path, sigma_gb > sigma_b).
For that, resolve the boundary phase as a thin cell group with its own conductor
(`group_conductors`).

Requirements: the mesh ghosted over shared facets (every Domain is), so that boundary facets
on a process border are integrated once on every rank count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from femcell._dolfinx import ufl
from femcell.materials.core import Conductor, MaterialError
from femcell.units import EPS0, T_REF


@dataclass(frozen=True)
class ResistiveBoundaries:
    """The named facets of a cell region that its potential jumps across.

    Give either `conductor` with `thickness` (g_gb = sigma_gb(T) / thickness, Arrhenius in
    T through the conductor) or a constant `conductance`.

    Attributes:
        region: the cell region whose potential jumps (e.g. "electrolyte").
        facets: the facet group of the boundaries (e.g. "grain_boundary").
        conductor: the boundary phase's conductor (sigma_gb(T) [S m^-1]).
        thickness: electrical thickness delta of the boundary [m].
        conductance: specific conductance g_gb [S m^-2] (instead of conductor/thickness).
        penalty: SIPG penalty (dimensionless, times degree^2 / h, h from each cell's
            perimeter over its volume: `inverse_cell_size`) inside the grains; values <= 2
            lose coercivity (iterative solvers then fail or return wrong answers), 10 is
            safe.
        specific_capacitance: c_gb [F m^-2] for impedance (default: eps_gb / thickness).
    """

    region: str
    facets: str = "grain_boundary"
    conductor: Conductor | None = None
    thickness: float | None = None
    conductance: float | None = None
    penalty: float = 10.0
    specific_capacitance: float | None = None

    def __post_init__(self):
        by_phase = self.conductor is not None or self.thickness is not None
        if by_phase == (self.conductance is not None):
            raise MaterialError(f"grain boundaries of {self.region!r}: give conductor and "
                                "thickness, or conductance (not both)")
        if by_phase and (self.conductor is None or self.thickness is None):
            missing = "thickness" if self.thickness is None else "conductor"
            raise MaterialError(f"grain boundaries of {self.region!r}: {missing} missing")
        for key in ("thickness", "conductance", "specific_capacitance"):
            v = getattr(self, key)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise MaterialError(f"grain boundaries of {self.region!r}: {key} must be a "
                                    f"positive number, got {v!r}")
        if not (math.isfinite(self.penalty) and self.penalty > 2):
            raise MaterialError(f"grain boundaries of {self.region!r}: penalty must be > 2, "
                                f"got {self.penalty!r}")

    def conductance_at(self, T: float = T_REF) -> float:
        """Specific conductance g_gb [S m^-2] at temperature T [K]."""
        if self.conductance is not None:
            return self.conductance
        return self.conductor.conductivity(T) / self.thickness

    def capacitance(self, eps_region: float | None = None) -> float:
        """Specific capacitance c_gb [F m^-2]: the given one, else eps_gb / thickness with
        eps_gb the boundary phase's permittivity (or the region's, eps_region [F m^-1])."""
        if self.specific_capacitance is not None:
            return self.specific_capacitance
        eps = None
        if self.conductor is not None and self.conductor.permittivity is not None:
            eps = EPS0 * self.conductor.permittivity
        eps = eps if eps is not None else eps_region
        if eps is None or self.thickness is None:
            raise MaterialError(f"grain boundaries of {self.region!r}: no capacitance (give "
                                "capacitance, or a thickness and a permittivity)")
        return eps / self.thickness

    def citations(self) -> list[str]:
        return self.conductor.all_citations() if self.conductor is not None else []


def inverse_cell_size(domain):
    """1 / h per cell (a parent-mesh DG0 function, cached on the domain; collective):
    |dK| / (d (d + 1) |K|), the cell's boundary measure over its volume, normalised to ~1 / a
    for a regular simplex of edge a (1.15 / a in 2D, 1.22 / a in 3D).

    The interior penalty must dominate the trace inequality |v|_F^2 <= C |F| / |K| |v|_K^2
    on every cell. The cell diameter does not see a sliver (a Voronoi edge of a few nm meshed
    with h of microns: a cell of quality 1e-3 has a diameter like its neighbours' and a tiny
    volume), which left the broken operator indefinite; |dK| / |K| >= |F| / |K| does. Works on
    curved (second-order) cells, where UFL's FacetArea does not.
    """
    cached = getattr(domain, "_inverse_cell_size", None)
    if cached is not None:
        return cached
    from femcell._dolfinx import dolfinx

    mesh = domain.mesh
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    q = ufl.TestFunction(Q)
    d = mesh.topology.dim
    forms = [dolfinx.fem.form(q * ufl.dx(domain=mesh)),
             dolfinx.fem.form(q * ufl.ds(domain=mesh) + (q("+") + q("-")) * ufl.dS(domain=mesh))]
    f = dolfinx.fem.Function(Q)

    def fill():
        volume, boundary = (_cellwise(form) for form in forms)
        n = Q.dofmap.index_map.size_local
        f.x.array[:n] = boundary[:n] / (d * (d + 1) * volume[:n])
        f.x.scatter_forward()

    fill()
    domain._inverse_cell_size = f
    domain.on_geometry_change(fill)  # a moving mesh: the forms keep this Function
    return f


def _cellwise(form):
    """Owned entries (with ghost contributions added) of an assembled DG0 vector."""
    from femcell._dolfinx import dolfinx

    vec = dolfinx.fem.assemble_vector(form)
    vec.scatter_reverse(dolfinx.la.InsertMode.add)
    return vec.array


def broken_terms(domain, region: str, u, v, sigma, w, boundaries: ResistiveBoundaries | None,
                 g_gb, degree: int, weights=None):
    """Interior-facet terms of div(sigma grad u) in a broken space over a region.

    Args:
        domain: the Domain.
        region: cell region of u.
        u, v: trial-side (Function or expression, any unit) and test function on the
            region's submesh.
        sigma: cell-wise conductivity on the parent mesh (DG0 Function or expression).
        w: coordinate weight (`Domain.weight()`).
        boundaries: the resistive facets (None: continuous everywhere).
        g_gb: their conductance (UFL Constant or expression) [S m^-2].
        degree: polynomial degree of the broken space.
        weights: cell-wise field whose ratio weights the averages (default: sigma). The
            capacitive terms of a small-signal problem pass the conductivity here, so that
            the conduction and displacement fluxes share one average: consistent for the
            complex coefficient sigma + i omega eps where sigma / eps jumps.

    Returns:
        (residual terms, boundary dissipation integrand): the terms to add to the region's
        residual sigma grad u . grad v dx, and g_gb [u]^2 on the boundary facets (to
        integrate for the power dissipated in them; None without boundaries).
    """
    mesh = domain.mesh
    n = ufl.FacetNormal(mesh)("+")
    inv_h = inverse_cell_size(domain)
    inv_h = ufl.max_value(inv_h("+"), inv_h("-"))
    wS = w("+") if not isinstance(w, int | float) else w
    jump_u = u("+") - u("-")
    jump_v = v("+") - v("-")
    s_p, s_m = sigma("+"), sigma("-")
    # the weighted average of Ern, Stephansen and Zunino (weights w_m / (w_p + w_m) on the
    # "+" side): robust where sigma jumps inside the region (a resolved boundary phase next
    # to a grain); with weights = sigma it is s_h avg(grad f), s_h the harmonic mean
    s_h = 2 * s_p * s_m / (s_p + s_m)
    wts = sigma if weights is None else weights
    w_p, w_m = wts("+"), wts("-")
    avg_flux = lambda f: (w_m * s_p * ufl.grad(f)("+") + w_p * s_m * ufl.grad(f)("-")) \
        / (w_p + w_m)  # noqa: E731
    gamma = boundaries.penalty if boundaries is not None else 10.0
    gamma = gamma * max(degree, 1) ** 2
    terms = 0
    skip = boundaries.facets if boundaries is not None else None
    for group in domain.inner_groups(region):
        if group == skip:
            continue
        dS = domain.dS_inner(region, group)
        terms += (-ufl.inner(avg_flux(u), n) * jump_v - ufl.inner(avg_flux(v), n) * jump_u
                  + gamma * s_h * inv_h * jump_u * jump_v) * wS * dS
    if boundaries is None:
        return terms, None
    if boundaries.facets not in domain.inner_groups(region):
        raise MaterialError(f"grain boundaries: facet group {boundaries.facets!r} has no "
                            f"facets inside {region!r} (groups there: "
                            f"{', '.join(g for g in domain.inner_groups(region) if g) or 'none'})")
    if domain.shares_facets(region, boundaries.facets):
        raise MaterialError(f"grain boundaries: facets of {boundaries.facets!r} inside "
                            f"{region!r} also belong to another facet group; give the "
                            "boundaries a group of their own")
    dS = domain.dS_inner(region, boundaries.facets)
    terms += g_gb * jump_u * jump_v * wS * dS
    return terms, g_gb * jump_u * jump_u * wS * dS
