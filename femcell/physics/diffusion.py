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

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.fields import Field
from femcell.materials.core import IntercalationMaterial, MaterialError
from femcell.physics.admissibility import (
    ADMISSIBILITY_TOL,
    STOICHIOMETRY_TOL,
    ConcentrationChecks,
    admissibility_warnings,
    stoichiometry_limits,
)
from femcell.physics.anisotropy import crystal_projectors
from femcell.physics.base import ElectrodeCoupling, Physics, time_function
from femcell.physics.boundary import Dirichlet, Flux, Robin, _takes_position
from femcell.physics.kinetics import concentration_exchange_factor
from femcell.units import T_REF, Scales
from femcell.units import F as FARADAY

__all__ = ["ADMISSIBILITY_TOL", "STOICHIOMETRY_TOL", "Diffusion", "Dirichlet", "Flux", "Robin",
           "admissibility_warnings", "stoichiometry_limits"]


class Diffusion(ConcentrationChecks, Physics, ElectrodeCoupling):
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
            callable(b.c_ext if isinstance(b, Robin) else b.value) for b in bcs)
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
            self.projectors = crystal_projectors(domain, self.orientations, gdim)
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

    _STATE = ("_store_change", "_sink_total", "_sink_rate", "_outflow_total", "_outflow_rate")

    def checkpoint_state(self) -> dict:
        """Running totals: store change, bulk sink, boundary outflows (SI)."""
        return {k: getattr(self, k) for k in self._STATE if hasattr(self, k)}

    def restore_state(self, state: dict) -> None:
        for k, v in state.items():
            if k in self._STATE:
                setattr(self, k, dict(v) if isinstance(v, dict) else float(v))

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

    # ------------------------------------------------------------------ electrode coupling
    def equilibrium_potential(self, side: str, default):
        """Open-circuit potential U(theta) [V] at the surface (default without an OCV)."""
        if self.material.ocv is None:
            return default
        return self.material.ocv(self.theta(side))

    def exchange_factor(self, side: str, law):
        """i0 factor (theta / 0.5)^alpha_c ((1 - theta) / 0.5)^alpha_a at the surface."""
        return concentration_exchange_factor(law, self.theta(side))

    def current_terms(self, current_density, side: str, measure, weight) -> dict:
        """An anodic current j [A m^-2] removes Li: the inward molar flux is -j / F."""
        return {self.field.name: self.insertion_term(-current_density / FARADAY, side,
                                                     measure, weight)}

    def initial_equilibrium_potential(self, comm) -> float | None:
        """OCV [V] at the mean initial nodal filling (None without an OCV)."""
        if self.material.ocv is None:
            return None
        f = self.field.u
        n = f.function_space.dofmap.index_map.size_local
        theta0 = comm.allreduce(float(f.x.array[:n].sum()), op=MPI.SUM) / max(
            comm.allreduce(n, op=MPI.SUM), 1)
        return float(self.material.ocv(np.array(theta0)))

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
        # volume and areas as forms (a moving mesh changes them): the volume with the
        # storage rule, so that a uniform c has mean c
        one = dolfinx.fem.Constant(d.mesh, PETSc.ScalarType(1.0))
        self._measure_forms = {"volume": form(one * w * self._dxm)}
        for bc in self.bc_list:
            self._q_forms[f"surface[{bc.region}]"] = form(cref * u * w * d.ds(bc.region))
            self._measure_forms[f"surface[{bc.region}]"] = form(one * w * d.ds(bc.region))
            if bc.region in self._bc_forms:
                self._q_forms[f"inflow[{bc.region}]"] = form(self._bc_forms[bc.region])

    def quantities(self) -> dict[str, float]:
        comm = self.domain.comm
        out = {}
        for key, frm in self._q_forms.items():
            out[f"{self.name}_{key}"] = comm.allreduce(dolfinx.fem.assemble_scalar(frm),
                                                       op=MPI.SUM)
        size = {k: comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
                for k, f in self._measure_forms.items()}
        for key, value in size.items():
            if key.startswith("surface["):  # mean concentration on the region
                out[f"{self.name}_{key}"] /= value
        out[f"{self.name}_mean"] = out[f"{self.name}_moles"] / size["volume"]
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
