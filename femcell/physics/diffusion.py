"""Transient diffusion in active materials (PHYSICS.md section 1).

    dc/dt = div(D(c, T) grad c)   in the region,
    D(c, T) = sum_i D_i(T) q_i q_i^T  f(c / c_max),

with principal diffusivities D_i (Arrhenius in T) along the crystal axes q_i of each grain
(D_lab = Q diag(D_i) Q^T) and a concentration law f. Boundary conditions by region name:
Dirichlet (fast surface reaction), prescribed inward molar flux (galvanostatic:
q = j / (z F)) and Robin (q = -k (c - c_ext)). Coordinates: 3D, 2D planar, 2D axisymmetric
(weight 2 pi r) and 1D spherical (weight 4 pi r^2).

The unknown is u = c / c_max and the residual is multiplied by t_ref / L^3 (t_ref = L^2 /
D_ref) so that the assembled system is the nondimensional one (entries O(1)), while the
mesh, the constants and every reported quantity stay in SI.

Admissibility: 0 <= c <= c_max always, and the discrete solution should obey the maximum
principle of the continuous one (c stays within the bounds of its initial and boundary
data). `stoichiometry_limits` gives the events that stop a run ON c = c_max or c = 0 (a
lab's cut-off), `admissibility_warnings` scans recorded quantities for states that break
either rule (consistent-mass P1 undershoots, anisotropic stiffness that is no M-matrix),
and `mass_lumping` / `bounds` are the cures (see the Diffusion docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.materials.core import IntercalationMaterial, MaterialError
from femcell.physics.base import Physics, time_function
from femcell.problem import Field
from femcell.solvers.timestepping import Event
from femcell.units import T_REF, Scales
from femcell.units import F as FARADAY

# A run may end this far (in c / c_max) past a stoichiometry limit: the limit is located by
# rejecting and shortening the step that overshoots it (femcell.solvers.timestepping.Event).
STOICHIOMETRY_TOL = 1e-4
# Admissibility violations are reported beyond this fraction of c_max: the default local
# error tolerance of the time stepper is rtol = 1e-3 on u = c / c_max, so smaller excursions
# are within the accuracy the run was asked for; larger ones are not round-off but a
# scheme that breaks positivity or the maximum principle.
ADMISSIBILITY_TOL = 1e-3


@dataclass(frozen=True)
class Dirichlet:
    """Fixed concentration on a facet region.

    Attributes:
        region: facet region name.
        value: concentration [mol m^-3]: a float, a function of time f(t), or a function of
            position and time f(x, t) with x of shape (3, n) [m].
    """

    region: str
    value: object


@dataclass(frozen=True)
class Flux:
    """Prescribed molar flux INTO the region through a facet region (galvanostatic).

    Attributes:
        region: facet region name.
        value: inward molar flux [mol m^-2 s^-1], a float or a function of time [s].
    """

    region: str
    value: object

    @classmethod
    def from_current(cls, region: str, current_density, charge_number: int = 1) -> Flux:
        """Flux from an insertion current density j [A m^-2] (j > 0 inserts): q = j / (z F)."""
        jf = time_function(current_density)
        return cls(region, lambda t: jf(t) / (charge_number * FARADAY))


@dataclass(frozen=True)
class Robin:
    """Inward flux q = k (c_ext - c) through a facet region.

    Attributes:
        region: facet region name.
        transfer_coefficient: k [m s^-1] (>= 0).
        c_ext: external concentration [mol m^-3], a float or a function of time [s].
    """

    region: str
    transfer_coefficient: float
    c_ext: object


def _takes_position(value) -> bool:
    """True for a callable f(x, t) (two parameters)."""
    if not callable(value):
        return False
    import inspect

    try:
        return len(inspect.signature(value).parameters) >= 2
    except (TypeError, ValueError):
        return False


class Diffusion(Physics):
    """Fick/Darken diffusion with anisotropic, c- and T-dependent diffusivity.

    Args:
        material: the intercalation material (c_max, principal diffusivities, D(c) law).
        bcs: Dirichlet / Flux / Robin conditions (regions not named are insulated).
        initial: initial concentration [mol m^-3]: a float or f(x) -> array (x in m).
        temperature: temperature [K], a float or a function of time [s].
        orientations: crystal -> lab rotation matrices: one 3x3 array for the whole mesh or
            a dict {cell group name: 3x3 array} (grains); None means crystal axes = lab axes.
        degree: Lagrange degree (1 or 2).
        name: field name (prefix of the quantities).
        length_scale: reference length [m] (default: half the domain's largest extent).
        source: volumetric source [mol m^-3 s^-1] as a function (x, t) -> UFL expression of
            the spatial coordinate x and the time Constant t (e.g. manufactured solutions).
        region: cell region the concentration lives in (None: the whole mesh). On a
            multi-region mesh the field lives on the region's submesh; fluxes through its
            interfaces come from coupled physics (e.g. the interfacial current of
            ChargeTransport, q = -j / F).
        track_outflow: report the discrete outflow through every Dirichlet boundary, as a
            rate [mol s^-1] and summed over the accepted steps [mol] (quantities
            "<name>_outflow[region]" and "<name>_outflow_total[region]", with the store change
            as the time scheme integrates it, "<name>_store_change" [mol]). It is the residual
            tested with the boundary's nodal indicator, so stores, inflows and outflows
            balance to solver precision (a sink's ledger, e.g. vacancies at a current
            collector).
        bulk_sink: (spacing [m], c_eq [mol m^-3]): distributed sinks (dislocations, grain
            boundaries) that absorb the excess at the rate D (c - c_eq) / spacing^2
            [mol m^-3 s^-1], D the mean principal diffusivity at the current temperature
            (sink strength 1 / spacing^2). Reported as "<name>_bulk_sink" [mol s^-1] and,
            with track_outflow, "<name>_bulk_sink_total" [mol].
        mass_lumping: (degree 1 only) a diagonal (lumped) storage matrix: the time derivative
            and the bulk sink are integrated with the vertex rule. Consistent-mass P1 has
            positive off-diagonal entries in (M / dt + K), so a step in boundary data makes
            the nodes ahead of the front dip below their initial value (undershoot at small
            dt); with a lumped M the system is an M-matrix whenever K is, and the discrete
            maximum principle holds. K of anisotropic tensors is in general no M-matrix, so
            lumping alone does not keep a polycrystal positive (use `bounds`). "moles" and
            "mean" are then the lumped (vertex-rule) integrals, so the mass balance still
            closes to round-off. Costs accuracy at early times (first order in h^2 / (D dt)).
        bounds: None, "stoichiometry" (0 <= c <= c_max) or "data" (c within the bounds of the
            initial and boundary data: the maximum principle; Dirichlet and Robin values
            constant in time): the concentration is solved as a variational inequality (SNES
            vinewtonrsls), which is positivity-preserving whatever the mesh and tensor.
            Moles are conserved only where no bound is active (the discrete solution is
            clipped, not transported); makes the problem nonlinear (no operator reuse).
    """

    symmetric = True

    def __init__(self, material: IntercalationMaterial, bcs=(), *, initial=0.0,
                 temperature=T_REF, orientations=None, degree: int = 1, name: str = "c",
                 length_scale: float | None = None, source=None, region: str | None = None,
                 track_outflow: bool = False, bulk_sink: tuple[float, float] | None = None,
                 mass_lumping: bool = False, bounds: str | None = None):
        if degree not in (1, 2, 3):
            raise ValueError(f"diffusion degree must be 1, 2 or 3, got {degree}")
        if mass_lumping and degree != 1:
            raise MaterialError(f"mass lumping of {name} needs degree 1 (the lumped P2 mass "
                                f"matrix has zero and negative entries), got degree {degree}")
        if bounds not in (None, "stoichiometry", "data"):
            raise MaterialError(f"bounds of {name}: None, 'stoichiometry' or 'data', got "
                                f"{bounds!r}")
        self.material = material
        self.bc_list = list(bcs)
        self.initial = initial
        self.temperature = time_function(temperature)
        self.time_dependent = callable(temperature) or source is not None or any(
            callable(getattr(b, "value", None)) or callable(getattr(b, "c_ext", None))
            for b in bcs)
        self.orientations = orientations
        self.degree = degree
        self.name = name
        self._length_scale = length_scale
        self.source = source
        if bulk_sink is not None and not (bulk_sink[0] > 0 and bulk_sink[1] >= 0):
            raise MaterialError(f"bulk sink of {name}: spacing must be > 0 and c_eq >= 0, got "
                                f"{bulk_sink}")
        self.bulk_sink = bulk_sink
        self._sink_total = 0.0
        self._sink_rate = 0.0
        self.region = region
        self.entity_maps = []
        self.track_outflow = track_outflow
        self.step_hook = track_outflow
        self._outflow_forms = {}
        self._outflow_total = {}
        self._store_form = None
        self.mass_lumping = bool(mass_lumping)
        self.bounds_mode = bounds
        self._coupled = False  # set when another physics adds an interface flux
        self._initial_range = None  # (min, max) of the initial field [mol m^-3]
        # a variational inequality is solved by SNES (no reuse of linear operators)
        self.linear = bool(material.law.linear) and bounds is None and all(
            isinstance(b, Dirichlet | Flux | Robin) for b in self.bc_list)
        if bounds is not None:
            # steps far below t_ref (slow D) scale the storage rows by t_ref / dt: the VI's
            # residual then stalls at a round-off floor of ~3e-10 of its initial value once
            # the active set has settled (the VI solver does not test the step size). The
            # equations are linear: each Newton step solves the inactive set exactly, so 1e-8
            # only decides when the active set is found.
            self.snes_options = {"snes_rtol": 1e-8}

    # ------------------------------------------------------------------ setup
    def setup(self, domain, time) -> None:
        self.domain = domain
        self.time = time
        mesh = domain.mesh
        gdim = domain.gdim
        mat = self.material
        if domain.coordinates != "cartesian" and not mat.isotropic:
            raise MaterialError(f"material {mat.name}: anisotropic diffusion needs cartesian "
                                f"coordinates, not {domain.coordinates}")
        T0 = self.temperature(0.0)
        length = self._length_scale or 0.5 * domain.size()
        self.scales = Scales.diffusion(length, mat.reference_diffusivity(T0), mat.c_max)
        d_eff = 3 if domain.coordinates in ("axisymmetric", "spherical") else domain.tdim
        self._s = dolfinx.fem.Constant(mesh, PETSc.ScalarType(self.scales.time / length**d_eff))

        self.sub = None
        n_region = domain.comm.allreduce(
            int(domain.cells(self.region).size) if self.region else 0, op=MPI.SUM)
        if self.region is not None and n_region != domain.num_cells_global():
            self.sub = domain.submesh(self.region)
            self.entity_maps = [self.sub.cell_map]
        V = dolfinx.fem.functionspace(self.sub.mesh if self.sub else mesh,
                                      ("Lagrange", self.degree))
        self.V = V
        self.field = Field.create(self.name, V)
        self.fields = [self.field]
        u, v = self.field.u, ufl.TestFunction(V)
        w = domain.weight()
        self._w = w

        # diffusivity: sum_i D_i(T) P_i f(u), P_i = q_i q_i^T per grain (DG0)
        self._Dk = [dolfinx.fem.Constant(mesh, PETSc.ScalarType(d)) for d in mat.principal(T0)]
        self._T_last = T0
        # the temperature as a Constant: laws with a thermodynamic factor follow T changes
        self._T = dolfinx.fem.Constant(mesh, PETSc.ScalarType(T0))
        law_factor = mat.law.factor(u, self._T)
        if mat.isotropic:
            D = self._Dk[0] * law_factor
            flux = D * ufl.grad(u)
            self.projectors = None
        else:
            self.projectors = self._build_projectors(gdim)
            Dt = sum(Dk * P for Dk, P in zip(self._Dk, self.projectors, strict=True))
            flux = law_factor * ufl.dot(Dt, ufl.grad(u))

        dx = domain.dx(self.region)
        self._dx = dx
        # storage (and reaction) terms: vertex rule = row-sum lumping for P1
        self._dxm = dx.reconstruct(metadata={"quadrature_rule": "vertex",
                                             "quadrature_degree": 1}) if (
            self.mass_lumping) else dx
        dxm = self._dxm
        s = self._s
        F = s * (time.ddt(self.field) * v * w * dxm + ufl.inner(flux, ufl.grad(v)) * w * dx)
        self._sink_expr = None
        if self.bulk_sink is not None:
            spacing, ceq_sink = self.bulk_sink
            dmean = sum(self._Dk) / len(self._Dk)
            # scaled: the rate D / l^2 (u - u_eq), u = c / c_max
            self._sink_expr = dmean / spacing**2 * (u - ceq_sink / mat.c_max)
            F += s * self._sink_expr * v * w * dxm
        if self.source is not None:
            src = self.source(ufl.SpatialCoordinate(mesh), time.t)
            F -= s * (src / mat.c_max) * v * w * dx

        # boundary conditions
        self._time_constants = []  # (Constant, f(t), factor)
        self._space_time_values = []  # (Function, f(x, t), factor)
        self._dbcs = []
        self._bc_forms = {}
        self._dirichlet_dofs = {}
        cref = mat.c_max
        for bc in self.bc_list:
            ds = domain.ds(bc.region)  # raises RegionError for an unknown region
            if isinstance(bc, Flux):
                q = self._time_constant(bc.value, 1.0 / cref)
                F -= s * q * v * w * ds
                self._bc_forms[bc.region] = cref * q * w * ds
            elif isinstance(bc, Robin):
                k = float(bc.transfer_coefficient)
                if not k >= 0:
                    raise MaterialError(f"Robin condition on {bc.region}: transfer coefficient "
                                        f"must be >= 0, got {k}")
                cext = self._time_constant(bc.c_ext, 1.0 / cref)
                F += s * k * (u - cext) * v * w * ds
                self._bc_forms[bc.region] = cref * k * (cext - u) * w * ds
            elif isinstance(bc, Dirichlet):
                facets = self.sub.facets(domain, bc.region) if self.sub else domain.facets(
                    bc.region)
                if _takes_position(bc.value):
                    g = dolfinx.fem.Function(V)
                    self._space_time_values.append((g, bc.value, 1.0 / cref))
                    dofs = dolfinx.fem.locate_dofs_topological(V, domain.tdim - 1, facets)
                    self._dirichlet_dofs[bc.region] = dofs
                    self._dbcs.append(dolfinx.fem.dirichletbc(g, dofs))
                    continue
                g = self._time_constant(bc.value, 1.0 / cref)
                dofs = dolfinx.fem.locate_dofs_topological(V, domain.tdim - 1, facets)
                self._dirichlet_dofs[bc.region] = dofs
                self._dbcs.append(dolfinx.fem.dirichletbc(g, dofs, V))
            else:
                raise TypeError(f"unknown boundary condition {bc!r}")
        self._F = F
        self._compile_quantities()

    def _time_constant(self, value, factor: float):
        f = time_function(value)
        c = dolfinx.fem.Constant(self.domain.mesh, PETSc.ScalarType(f(0.0) * factor))
        self._time_constants.append((c._cpp_object.value, f, factor))  # a view: cheap to set
        return c

    def _build_projectors(self, gdim: int):
        """DG0 tensor fields P_i = q_i q_i^T (lab components) of the three crystal axes."""
        T = dolfinx.fem.functionspace(self.domain.mesh, ("DG", 0, (gdim, gdim)))
        P = [dolfinx.fem.Function(T, name=f"P{i}") for i in range(3)]
        rot = self.orientations
        if rot is None or isinstance(rot, np.ndarray):
            groups = {None: np.eye(3) if rot is None else np.asarray(rot)}
        else:
            groups = dict(rot)
        for grp, Q in groups.items():
            Q = np.asarray(Q, dtype=float)
            if Q.shape != (3, 3) or not np.allclose(Q @ Q.T, np.eye(3), atol=1e-8):
                raise MaterialError(f"orientation of {grp or 'the domain'} is not a rotation")
            cells = self.domain.cells(grp, include_ghosts=True)
            for i in range(3):
                q = Q[:gdim, i]
                arr = P[i].x.array.reshape(-1, gdim * gdim)
                arr[cells] = np.outer(q, q).ravel()
        if isinstance(rot, dict):
            covered = np.zeros(P[0].x.array.size // (gdim * gdim), dtype=bool)
            for grp in groups:
                covered[self.domain.cells(grp, include_ghosts=True)] = True
            n_missing = self.domain.comm.allreduce(int((~covered).sum()), op=MPI.SUM)
            if n_missing:
                raise MaterialError(f"orientations: {n_missing} cells belong to no oriented "
                                    f"grain (given: {', '.join(sorted(groups))})")
        for p in P:
            p.x.scatter_forward()
        return P

    def residuals(self):
        return [self._F]

    def on_problem(self, problem) -> None:
        """Outflow forms: the composed residual tested with each Dirichlet boundary's nodal
        indicator g. The discrete equations hold for every test function that vanishes
        there, so F(g) = F(1) = -(outflow) exactly (in scaled units)."""
        if not self.track_outflow:
            return
        F = problem.residual_of(self.name)
        v = ufl.TestFunction(self.V)
        # SI: c = c_max u and the residual carries the scale s
        factor = -self.material.c_max / float(self._s.value)
        for region, dofs in self._dirichlet_dofs.items():
            g = dolfinx.fem.Function(self.V, name=f"indicator_{region}")
            g.x.array[dofs] = 1.0
            g.x.scatter_forward()
            self._outflow_forms[region] = dolfinx.fem.form(
                factor * ufl.replace(F, {v: g}), entity_maps=problem.entity_maps or None)
            self._outflow_total[region] = 0.0
        self._outflow_rate = dict.fromkeys(self._outflow_forms, 0.0)
        # the store change as the scheme sees it, sum of dt * d/dt(moles): with BDF2 the
        # plain difference of moles differs from it by O(dt) (the BDF sums do not telescope)
        self._store_form = dolfinx.fem.form(
            self.material.c_max * self.time.ddt(self.field) * self._w * self._dxm,
            entity_maps=self.entity_maps or None)
        self._store_change = 0.0

    def on_accept(self) -> None:
        dt = float(self.time.dt.value)
        comm = self.domain.comm
        if self._store_form is not None:
            self._store_change += dt * comm.allreduce(
                dolfinx.fem.assemble_scalar(self._store_form), op=MPI.SUM)
        if "bulk_sink" in self._q_forms:
            self._sink_rate = comm.allreduce(
                dolfinx.fem.assemble_scalar(self._q_forms["bulk_sink"]), op=MPI.SUM)
            self._sink_total += self._sink_rate * dt
        for region, frm in self._outflow_forms.items():
            rate = comm.allreduce(dolfinx.fem.assemble_scalar(frm), op=MPI.SUM)
            self._outflow_rate[region] = rate
            self._outflow_total[region] += rate * dt

    def set_temperature(self, temperature) -> None:
        """Temperature [K]: a float or a function of time [s] (Arrhenius D follows)."""
        self.temperature = time_function(temperature)

    def insertion_term(self, molar_flux, side: str, measure, weight):
        """Residual term for an inward molar flux [mol m^-2 s^-1] through interface facets
        (`measure` a dS of the Domain, `side` "+"/"-" the region's side), scaled like this
        physics' own residual; coupled physics add it to this field's residual."""
        v = ufl.TestFunction(self.V)
        self._coupled = True  # the flux sign is not known here: no maximum principle
        return -self._s * (molar_flux / self.material.c_max) * v(side) * weight * measure

    def theta(self, side: str):
        """Filling fraction c / c_max restricted to one side of an interface."""
        return self.field.u(side)

    def dirichlet_bcs(self):
        return self._dbcs

    # ------------------------------------------------------------------ time
    def initial_condition(self) -> None:
        init = self.initial
        cref = self.material.c_max
        if callable(init):
            self.field.set_all(lambda x: np.asarray(init(x), dtype=float) / cref)
        else:
            val = float(init) / cref
            self.field.set_all(lambda x: np.full(x.shape[1], val))
        self._initial_range = tuple(cref * x for x in self.stoichiometry_range())
        self.update(0.0)

    def update(self, t: float) -> bool:
        for view, f, factor in self._time_constants:
            view[...] = f(t) * factor
        for g, f, factor in self._space_time_values:
            g.interpolate(lambda x, f=f, factor=factor: np.asarray(f(x, t)) * factor)
        T = self.temperature(t)
        if T != self._T_last:
            for c, d in zip(self._Dk, self.material.principal(T), strict=True):
                c.value = d
            self._T.value = T
            self._T_last = T
            return True
        return False

    # ------------------------------------------------------------------ outputs
    def _compile_quantities(self):
        d, w, u = self.domain, self._w, self.field.u
        cref = self.material.c_max
        em = self.entity_maps or None
        form = lambda e: dolfinx.fem.form(e, entity_maps=em)  # noqa: E731
        # moles as the storage term counts them (lumped: the vertex rule), so that the
        # discrete mass balance closes to round-off
        self._q_forms = {"moles": form(cref * u * w * self._dxm)}
        if self._sink_expr is not None:  # [mol s^-1] absorbed by the distributed sinks
            self._q_forms["bulk_sink"] = form(cref * self._sink_expr * w * self._dxm)
        if self.mass_lumping:  # the same rule for the volume: a uniform c has mean c
            one = dolfinx.fem.Constant(d.mesh, PETSc.ScalarType(1.0))
            self._volume = d.comm.allreduce(dolfinx.fem.assemble_scalar(
                dolfinx.fem.form(one * w * self._dxm)), op=MPI.SUM)
        else:
            self._volume = d.volume(self.region)
        for bc in self.bc_list:
            area = d.area(bc.region)
            self._q_forms[f"surface[{bc.region}]"] = form(cref / area * u * w * d.ds(bc.region))
            if bc.region in self._bc_forms:
                self._q_forms[f"inflow[{bc.region}]"] = form(self._bc_forms[bc.region])

    def quantities(self) -> dict[str, float]:
        comm = self.domain.comm
        out = {}
        for key, frm in self._q_forms.items():
            out[f"{self.name}_{key}"] = comm.allreduce(dolfinx.fem.assemble_scalar(frm),
                                                       op=MPI.SUM)
        out[f"{self.name}_mean"] = out[f"{self.name}_moles"] / self._volume
        if self.track_outflow and self._sink_expr is not None:
            out[f"{self.name}_bulk_sink_total"] = self._sink_total
        if self._store_form is not None:
            out[f"{self.name}_store_change"] = self._store_change
        for region, total in self._outflow_total.items():
            out[f"{self.name}_outflow[{region}]"] = self._outflow_rate[region]
            out[f"{self.name}_outflow_total[{region}]"] = total
        lo, hi = self.stoichiometry_range()
        out[f"{self.name}_min"] = lo * self.material.c_max
        out[f"{self.name}_max"] = hi * self.material.c_max
        return out

    # ------------------------------------------------------------------ admissibility
    def stoichiometry_range(self) -> tuple[float, float]:
        """(min, max) of c / c_max over the nodal values (collective)."""
        comm = self.domain.comm
        n = self.V.dofmap.index_map.size_local
        loc = self.field.u.x.array[:n]
        lo = float(loc.min()) if loc.size else np.inf
        hi = float(loc.max()) if loc.size else -np.inf
        return comm.allreduce(lo, op=MPI.MIN), comm.allreduce(hi, op=MPI.MAX)

    def bounds(self) -> dict:
        """Bounds of the scaled unknown for a variational-inequality solve (Problem)."""
        if self.bounds_mode is None:
            return {}
        if self.bounds_mode == "stoichiometry":
            return {self.name: (0.0, 1.0)}
        lo, hi = self._data_bounds_scaled()
        return {self.name: (lo, hi)}

    def _data_bounds_scaled(self) -> tuple[float, float]:
        """Maximum-principle bounds of u for bounds="data" (at set-up: before the initial
        field exists, a float initial value is used)."""
        init = self.initial
        if callable(init):
            raise MaterialError(f"bounds='data' of {self.name}: needs a uniform initial "
                                "concentration (use bounds='stoichiometry')")
        vals = [float(init)]
        lo_open, hi_open = False, False
        for bc in self.bc_list:
            if isinstance(bc, Dirichlet | Robin):
                value = bc.value if isinstance(bc, Dirichlet) else bc.c_ext
                if callable(value):
                    raise MaterialError(f"bounds='data' of {self.name}: boundary values on "
                                        f"{bc.region} change in time (use 'stoichiometry')")
                vals.append(float(value))
            elif isinstance(bc, Flux):
                q = time_function(bc.value)(0.0)
                lo_open |= q < 0  # outflow can lower c below every datum
                hi_open |= q > 0
        if self.bulk_sink is not None:
            vals.append(self.bulk_sink[1])
        if self.source is not None:
            raise MaterialError(f"bounds='data' of {self.name}: a source has no maximum "
                                "principle (use 'stoichiometry')")
        cref = self.material.c_max
        lo = 0.0 if lo_open else max(0.0, min(vals) / cref)
        hi = 1.0 if hi_open else min(1.0, max(vals) / cref)
        return lo, hi

    def stoichiometry_events(self, tolerance: float = STOICHIOMETRY_TOL) -> list[Event]:
        """Events that stop a run when c reaches c_max or 0 anywhere (nodal values), located
        to within `tolerance` (in c / c_max) past the limit."""
        name = self.name
        cache = {}

        def rng(state):  # both events look at the same state: one reduction
            if cache.get("t") is not state:
                cache["t"], cache["r"] = state, self.stoichiometry_range()
            return cache["r"]

        def text(which, value):
            return lambda st: (f"stoichiometry limit: {which} reached in {name} at "
                               f"t = {st.t:.6g} s (c / c_max = {value(st):.6f})")

        hi = lambda st: rng(st)[1]  # noqa: E731
        lo = lambda st: rng(st)[0]  # noqa: E731

        def held(side, st) -> bool:
            """True when the data (initial, boundary values, no inflow / outflow) keep c away
            from that limit: then c beyond it can only be a discretisation artefact, which
            `admissibility_warnings` reports; it is no cut-off."""
            lo_b, hi_b = self._data_bounds_over(np.array([st.t]))
            if side == "max":
                return hi_b is not None and hi_b[0] < self.material.c_max
            return lo_b is not None and lo_b[0] > 0.0

        return [Event("stoichiometry limit",
                      lambda st: 1.0 if held("max", st) else 1.0 - hi(st), tolerance,
                      text("c_max", hi)),
                Event("stoichiometry limit",
                      lambda st: 1.0 if held("min", st) else lo(st), tolerance,
                      text("c = 0", lo))]

    def admissibility_warnings(self, rows: list[dict], tolerance: float = ADMISSIBILITY_TOL
                               ) -> list[str]:
        """One-line warnings for recorded states (rows of quantities, chronological, with
        "t") that are impossible (c < 0, c > c_max) or break the discrete maximum principle
        (c outside the bounds of the initial and boundary data), beyond tolerance * c_max.

        The maximum-principle bound is checked where it exists: Dirichlet and Robin values
        (sampled at the row times) and the initial range bound c from both sides; a
        prescribed inflow (outflow) keeps the lower (upper) bound; a source, a coupled
        interface flux or a space-time Dirichlet value removes it."""
        kmin, kmax = f"{self.name}_min", f"{self.name}_max"
        rows = [r for r in rows if kmin in r and kmax in r]
        if not rows:
            return []
        cref = self.material.c_max
        eps = tolerance * cref
        n = len(rows)
        t = np.array([float(r.get("t", np.nan)) for r in rows])
        cmin = np.array([float(r[kmin]) for r in rows])
        cmax = np.array([float(r[kmax]) for r in rows])
        out = []

        def report(bad, worst_at, what, worst_text):
            k = int(worst_at)
            out.append(f"{self.name}: {what} in {int(bad.sum())} of {n} recorded states "
                       f"(worst {worst_text(k)} at t = {t[k]:.6g} s; tolerance "
                       f"{tolerance:g} c_max)")

        bad = cmin < -eps
        if bad.any():
            k = np.argmin(cmin)
            report(bad, k, "negative concentration",
                   lambda k: f"{cmin[k]:.6g} mol/m^3 = {cmin[k] / cref:.4g} c_max")
        bad = cmax > cref + eps
        if bad.any():
            k = np.argmax(cmax)
            report(bad, k, "concentration above c_max",
                   lambda k: f"{cmax[k]:.6g} mol/m^3 = {cmax[k] / cref:.6g} c_max")
        lo, hi = self._data_bounds_over(t)
        if lo is not None:
            under = lo - cmin
            bad = under > eps
            if bad.any():
                k = np.argmax(under)
                report(bad, k, "concentration below the bounds of its initial and boundary "
                       "data (discrete maximum principle)",
                       lambda k: f"{cmin[k]:.6g} mol/m^3, {under[k] / cref:.4g} c_max below "
                                 f"{lo[k]:.6g}")
        if hi is not None:
            over = cmax - hi
            bad = over > eps
            if bad.any():
                k = np.argmax(over)
                report(bad, k, "concentration above the bounds of its initial and boundary "
                       "data (discrete maximum principle)",
                       lambda k: f"{cmax[k]:.6g} mol/m^3, {over[k] / cref:.4g} c_max above "
                                 f"{hi[k]:.6g}")
        return out

    def _data_bounds_over(self, t: np.ndarray):
        """Running maximum-principle bounds [mol m^-3] at times t (arrays, or None for a side
        without a bound)."""
        if self._initial_range is None or self._coupled or self.source is not None:
            return None, None
        lo = np.full(t.shape, self._initial_range[0])
        hi = np.full(t.shape, self._initial_range[1])
        lo_ok = np.ones(t.shape, dtype=bool)
        hi_ok = np.ones(t.shape, dtype=bool)
        if self.bulk_sink is not None:
            lo = np.minimum(lo, self.bulk_sink[1])
            hi = np.maximum(hi, self.bulk_sink[1])
        for bc in self.bc_list:
            if isinstance(bc, Flux):
                q = np.array([time_function(bc.value)(x) for x in t])
                lo_ok &= np.maximum.accumulate(q < 0) == 0
                hi_ok &= np.maximum.accumulate(q > 0) == 0
                continue
            value = bc.value if isinstance(bc, Dirichlet) else bc.c_ext
            if _takes_position(value):
                return None, None
            g = np.array([time_function(value)(x) for x in t], dtype=float)
            lo = np.minimum(lo, np.minimum.accumulate(g))
            hi = np.maximum(hi, np.maximum.accumulate(g))
        lo_out = np.where(lo_ok, lo, -np.inf) if lo_ok.any() else None
        hi_out = np.where(hi_ok, hi, np.inf) if hi_ok.any() else None
        return lo_out, hi_out

    def output_fields(self):
        return {self.name: (self.field.u, self.material.c_max)}

    def citations(self):
        return self.material.all_citations()

    def describe(self) -> dict:
        m = self.material
        return {
            "material": m.name,
            "c_max_mol_m3": m.c_max,
            "principal_diffusivity_m2_s_at_Tref": [d.value_ref for d in m.diffusivity],
            "activation_energy_eV": [d.activation_energy_ev for d in m.diffusivity],
            "law": type(m.law).__name__,
            "degree": self.degree,
            "mass_lumping": self.mass_lumping,
            "bounds": self.bounds_mode,
            "scales": {"length_m": self.scales.length, "time_s": self.scales.time,
                       "concentration_mol_m3": self.scales.concentration},
        }


# ---------------------------------------------------------------------------- admissibility
def stoichiometry_limits(physics, tolerance: float = STOICHIOMETRY_TOL, *,
                         electrodes_only: bool = False) -> list[Event]:
    """Stoichiometry events (c reaches c_max or 0) of every Diffusion in `physics`.

    Args:
        physics: physics objects (others are skipped).
        tolerance: how far past the limit (in c / c_max) a run may stop.
        electrodes_only: only intercalation electrodes (materials with an open-circuit
            potential), not e.g. vacancy fields.
    """
    out = []
    for p in physics:
        if isinstance(p, Diffusion) and (not electrodes_only or p.material.ocv is not None):
            out += p.stoichiometry_events(tolerance)
    return out


def admissibility_warnings(physics, rows: list[dict], *,
                           tolerance: float = ADMISSIBILITY_TOL) -> list[str]:
    """One-line warnings for physically impossible recorded results of every physics that
    checks its own (Diffusion: c < 0, c > c_max, maximum principle; ChargeTransport: states
    on the overflow continuation of the kinetics).

    Args:
        physics: the physics of the run.
        rows: recorded quantity rows (dicts with "t" [s]), chronological.
        tolerance: relative tolerance (Diffusion: fraction of c_max).
    """
    out = []
    for p in physics:
        check = getattr(p, "admissibility_warnings", None)
        if check is not None:
            out += check(rows, tolerance)
    return out
