"""Charge transport: ionic potential in the electrolyte, electronic potentials in the
electrodes, coupled across each electrode|electrolyte interface by a kinetic law
(PHYSICS.md section 2).

    div(sigma_l grad phi_l) = 0 in the electrolyte,  div(sigma_s grad phi_s) = 0 in electrodes,
    j = law(eta), eta = phi_s - phi_l - U_eq on each interface (anodic j > 0),
    i_l . n_l = j entering the electrolyte, i_s . n_s = j leaving the electrode.

Each potential lives on its region's submesh, so it can jump across the interface; every
integral is written on the parent mesh (dx, ds by region name, dS over the Domain's oriented
interface lists) with the submesh entity maps. This is femcell's one mechanism for fields
that are discontinuous across interfaces.

Scaling: the unknowns are u = phi / V_T (V_T = R T_ref / F); each region's residual is
divided by sigma_region V_T L^(d-2), so every block is the nondimensional one.

Electrical convention: a cell current density I > 0 enters the electrode at `current_cc`
(oxidation, i.e. stripping or delithiation, at that electrode's interface) and leaves at
`ground_cc`, where phi_s = 0. The cell voltage is phi_s(current_cc) - phi_s(ground_cc).

Admissibility: the kinetic laws continue their exponentials linearly beyond X_LIN (an
overflow safeguard for Newton iterates). Each interface reports "kinetics_safeguard[<name>]"
(1 when the state evaluates the law on that continuation at a quadrature point of the
interface term, else 0) and "kinetics_exponent[<name>]" (the largest facet-averaged argument
alpha F eta / R T); `admissibility_warnings` turns flagged states into warnings.
"""

from __future__ import annotations

import math

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.fields import Field
from femcell.materials.core import Conductor, MaterialError
from femcell.physics.base import Physics, time_function
from femcell.physics.grain_boundary import ResistiveBoundaries, broken_terms
from femcell.physics.kinetics import X_LIN, InterfaceKinetics
from femcell.units import T_REF
from femcell.units import F as FARADAY
from femcell.units import R as GAS


class ChargeTransport(Physics):
    """Potentials in an electrolyte and its electrodes with interfacial kinetics.

    Args:
        conductors: {cell region: Conductor}; exactly one region with carrier "ion" (the
            electrolyte), the others electrodes.
        max_conductivity_ratio: electrode conductivities are capped at this multiple of the
            electrolyte's (None: no cap). A metal conducts ~1e8 x better than a solid
            electrolyte; in double precision its residual rows then stall Newton at a
            round-off floor. At 1e4 the metal's potential drop stays below 1e-4 of the
            electrolyte's over the same length - invisible in every reported quantity except
            the metal's own (tiny) ohmic drop - and Newton converges quadratically.
        ground_electrode: an electrode region with no potential field of its own: an ideal
            electronic network held at phi_s = 0 (e.g. the active particles of a composite
            cathode wired by carbon); then `ground_cc` is not used and the cell voltage is
            phi(ground) - phi(current_cc) (positive for a full cell with the current
            collector on the metal anode; I > 0 is then a discharge).
        group_conductors: optional {cell group: Conductor} overriding the region's conductor
            in single grains or resolved layers (e.g. "electrolyte.grain_3" or a resolved
            grain-boundary phase "electrolyte.gb"), each with its own Arrhenius law.
        interfaces: InterfaceKinetics for every electrode|electrolyte interface.
        current_density: applied cell current density I [A m^-2] (float or function of t),
            averaged over `current_cc`.
        current_cc: facet region where the current enters (an electrode's current collector).
        ground_cc: facet region held at phi_s = 0 (the other electrode's current collector).
        temperature: T [K], float or function of t.
        degree: Lagrange degree of the potentials.
        length_scale: reference length [m] (default: half the largest extent).
        grain_boundaries: facets of one region its potential jumps across, with a specific
            conductance (`ResistiveBoundaries`); that region's potential is then a broken
            (DG) field, continuous inside the grains by interior penalty.
    """

    name = "charge"
    linear = False
    symmetric = False
    # full Newton steps: exponential kinetics with block-scaled residuals make backtracking
    # on the residual norm reject good steps; a failed solve is cut by the time stepper
    # metals conduct ~1e8 x better than the electrolyte: their residual rows reach a round-off
    # floor of ~1e-16 sigma_s / sigma_l, so convergence is also declared when the Newton
    # update is below 1e-10 of the solution (quadratic convergence has then already happened)
    # The scaled residual's round-off floor grows with the potentials (|u| ~ 100 V_T and
    # more in full cells); 1e-9 is still far below any physical effect.
    snes_options = {"snes_linesearch_type": "basic", "snes_stol": 1e-10, "snes_atol": 1e-9}

    def __init__(self, conductors: dict[str, Conductor], interfaces: list[InterfaceKinetics],
                 *, current_density=0.0, current_cc: str = "anode_cc",
                 ground_cc: str = "cathode_cc", temperature=T_REF, degree: int = 1,
                 length_scale: float | None = None,
                 group_conductors: dict[str, Conductor] | None = None,
                 ground_electrode: str | None = None,
                 max_conductivity_ratio: float | None = 1e4,
                 grain_boundaries: ResistiveBoundaries | None = None,
                 double_layer: dict[str, float] | None = None):
        ions = [r for r, c in conductors.items() if c.carrier == "ion"]
        if len(ions) != 1:
            raise MaterialError(f"charge transport needs exactly one ionic conductor region, "
                                f"got {ions or 'none'}")
        self.electrolyte = ions[0]
        self.conductors = dict(conductors)
        self.electrodes = [r for r in conductors if r != self.electrolyte]
        self.kinetics = list(interfaces)
        self.ground_electrode = ground_electrode
        if ground_electrode is not None:
            if ground_electrode in conductors:
                raise MaterialError(f"ground_electrode {ground_electrode!r}: an ideal grounded "
                                    "network has no conductor field; remove it from conductors")
            if not any(k.electrode == ground_electrode for k in interfaces):
                raise MaterialError(f"ground_electrode {ground_electrode!r}: no kinetics entry "
                                    "connects it to the electrolyte")
        for k in self.kinetics:
            if (k.electrode not in self.electrodes and k.electrode != ground_electrode) or \
                    k.electrolyte != self.electrolyte:
                raise MaterialError(f"kinetics {k.electrode}|{k.electrolyte}: not an "
                                    f"electrode|electrolyte pair of {list(conductors)}")
        self.current = time_function(current_density)
        self.current_cc, self.ground_cc = current_cc, ground_cc
        self.temperature = time_function(temperature)
        self.time_dependent = True
        self.degree = degree
        self._length = length_scale
        self.max_ratio = max_conductivity_ratio
        self._jfield = None
        self.hold_voltage = None
        self.group_conductors = dict(group_conductors or {})
        self.grain_boundaries = grain_boundaries
        self.double_layer = dict(double_layer or {})
        self._mean_forms: dict = {}  # compiled interface means (_interface_means)
        for e, c in self.double_layer.items():
            if not any(k.electrode == e for k in self.kinetics):
                raise MaterialError(f"double_layer: {e!r} is not an electrode with kinetics")
            if not (math.isfinite(c) and c > 0):
                raise MaterialError(f"double_layer of {e!r} must be > 0 F/m^2, got {c!r}")
        if grain_boundaries is not None and grain_boundaries.region not in conductors:
            raise MaterialError(f"grain boundaries: region {grain_boundaries.region!r} has no "
                                f"conductor (conductors: {', '.join(conductors)})")
        for g, c in self.group_conductors.items():
            if g.split(".")[0] not in conductors or c.carrier != conductors[
                    g.split(".")[0]].carrier:
                raise MaterialError(f"group conductor {g!r}: its region must be one of "
                                    f"{list(conductors)} with the same carrier")

    # ------------------------------------------------------------------ setup
    def setup(self, domain, time) -> None:
        self.domain = domain
        mesh = domain.mesh
        T0 = self.temperature(0.0)
        self.vt = GAS * T_REF / FARADAY
        L = self._length or 0.5 * domain.size()
        d_eff = 3 if domain.coordinates in ("axisymmetric", "spherical") else domain.tdim
        w = domain.weight()
        self._w = w
        const = lambda v: dolfinx.fem.Constant(mesh, PETSc.ScalarType(v))  # noqa: E731
        self._T = const(T0)
        self._I = const(self.current(0.0))
        # one conductivity Constant per cell group (grains may differ), updated with T
        self._groups = {r: domain.grains(r) for r in self.conductors}
        self._group_cond = {g: self.group_conductors.get(g, self.conductors[r])
                            for r, gs in self._groups.items() for g in gs}
        missing = set(self.group_conductors) - set(self._group_cond)
        if missing:
            raise MaterialError(f"group conductors for unknown cell groups: {sorted(missing)}")
        self._sigma = {g: const(self._sigma_of(g, T0)) for g in self._group_cond}
        self.sub = {r: domain.submesh(r) for r in self.conductors}
        self.entity_maps = [s.cell_map for s in self.sub.values()]
        self.fields, self.phi, self.v = [], {}, {}
        gb = self.grain_boundaries
        for r in self.conductors:
            family = "DG" if gb is not None and gb.region == r else "Lagrange"
            V = dolfinx.fem.functionspace(self.sub[r].mesh, (family, self.degree))
            # with double layers the potentials store charge: they need time levels
            f = Field.create(f"phi_{r}", V, levels=3 if self.double_layer else 0)
            self.fields.append(f)
            self.phi[r] = self.vt * f.u  # SI potential [V]
            self.v[r] = ufl.TestFunction(V)
        # one scale for all blocks (the electrolyte's): row-scaling an electrode block by its
        # own huge conductivity would shrink its interface coupling to round-off
        s_l = 1.0 / (self.conductors[self.electrolyte].conductivity(T0) * self.vt
                     * L ** (d_eff - 2))
        self._scale = dict.fromkeys(self.conductors, s_l)
        F = {r: sum(self._sigma[g] * ufl.inner(ufl.grad(self.phi[r]), ufl.grad(self.v[r])) * w
                    * domain.dx(g) for g in self._groups[r]) for r in self.conductors}
        self._gb_power = None
        if gb is not None:  # the broken potential: interior penalty + boundary conductance
            self._sigma_cells = dolfinx.fem.Function(
                dolfinx.fem.functionspace(mesh, ("DG", 0)))
            self._fill_sigma_cells(T0)
            self._g_gb = const(gb.conductance_at(T0))
            extra, self._gb_power = broken_terms(
                domain, gb.region, self.phi[gb.region], self.v[gb.region], self._sigma_cells,
                w, gb, self._g_gb, self.degree)
            F[gb.region] += extra
        self.j_expr, self.eta_expr, self._dS = {}, {}, {}
        self._sides: dict[str, tuple[str, str, str]] = {}  # interface -> electrode, sides
        self._x_expr, self._law_name, self._jdeg = {}, {}, {}
        self._coupling: dict = {}
        self._contact: dict = {}  # interface: the contacting share (None: whole)
        wS = w("+") if not isinstance(w, int | float) else w
        for k in self.kinetics:
            itf = domain.interface(k.electrode, k.electrolyte)
            se = "+" if itf.plus == k.electrode else "-"
            sl = "-" if se == "+" else "+"
            dS = domain.dS(itf.name)
            phi_s = 0.0 if k.electrode == self.ground_electrode else self.phi[k.electrode](se)
            factor, ueq, shift, touch = None, k.equilibrium_potential, None, None
            for c in k.couplings:  # U_eq, i0 factor and overpotential shift, in order
                ueq = c.equilibrium_potential(se, ueq)
                a = c.contact(se)
                if a is not None:
                    touch = a if touch is None else touch * a
                f = c.exchange_factor(se, k.law)
                factor = f if factor is None else factor * f
                d = c.overpotential_shift(se)
                if not (isinstance(d, float | int) and d == 0):
                    shift = d if shift is None else shift + d
                self.entity_maps += list(c.entity_maps)
            eta = phi_s - self.phi[self.electrolyte](sl) - ueq
            if shift is not None:
                eta = eta - shift
            j = k.law.current(eta, self._T, 1.0 if factor is None else factor)
            self.j_expr[itf.name], self.eta_expr[itf.name], self._dS[itf.name] = j, eta, dS
            self._sides[itf.name] = (k.electrode, se, sl)
            self._contact[itf.name] = touch
            x = k.law.exponent(eta, self._T)
            if x is not None:  # the safeguard monitor (see the module docstring)
                self._x_expr[itf.name] = x
                self._law_name[itf.name] = _law_name(k.law)
                v_l = self.v[self.electrolyte](sl)
                self._jdeg[itf.name] = ufl.algorithms.estimate_total_polynomial_degree(
                    j * v_l * wS, default_degree=mesh.geometry.cmaps[0].degree)
            F[self.electrolyte] -= j * self.v[self.electrolyte](sl) * wS * dS
            if k.electrode in F:
                F[k.electrode] += j * self.v[k.electrode](se) * wS * dS
            if k.electrode in self.double_layer:  # C_dl d(phi_s - phi_l)/dt on the contact
                c_dl = self.double_layer[k.electrode] * (1.0 if touch is None else touch)
                el_f = self.fields[list(self.conductors).index(self.electrolyte)]
                rate = -self.vt * time.ddt(el_f)(sl)
                if k.electrode in F:
                    ef = self.fields[list(self.conductors).index(k.electrode)]
                    rate = rate + self.vt * time.ddt(ef)(se)
                F[self.electrolyte] -= c_dl * rate * self.v[self.electrolyte](sl) * wS * dS
                if k.electrode in F:
                    F[k.electrode] += c_dl * rate * self.v[k.electrode](se) * wS * dS
            for c in k.couplings:  # e.g. Li into a particle, vacancies at a metal
                for name, term in c.current_terms(j, se, dS, wS).items():
                    self._coupling[name] = self._coupling.get(name, 0) + term
        owner = self._owner(self.current_cc)
        area = domain.area(self.current_cc)
        self._cc_area = area
        F[owner] -= self._I * self.v[owner] * w * domain.ds(self.current_cc)
        self._F = [self._scale[r] * F[r] for r in self.conductors]
        # ground: phi_s = 0 on ground_cc of its electrode, or an ideal grounded network
        if self.ground_electrode is None:
            g_owner = self._owner(self.ground_cc)
            gi = list(self.conductors).index(g_owner)
            sub = self.sub[g_owner]
            V = self.fields[gi].u.function_space
            dofs = dolfinx.fem.locate_dofs_topological(V, domain.tdim - 1,
                                                       sub.facets(domain, self.ground_cc))
            self._bcs = [dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs, V)]
            self._vsign = 1.0
        else:
            g_owner, self._bcs, self._vsign = None, [], -1.0
        self._owners = (owner, g_owner)
        if gb is not None and gb.region in self._owners:
            raise MaterialError(f"grain boundaries: region {gb.region!r} holds a current "
                                "collector; resistive boundaries need a region without one")
        # potentiostatic mode: phi_s held at current_cc (the cell voltage, ground = 0)
        oi = list(self.conductors).index(owner)
        Vo = self.fields[oi].u.function_space
        hdofs = dolfinx.fem.locate_dofs_topological(
            Vo, domain.tdim - 1, self.sub[owner].facets(domain, self.current_cc))
        self._hold = const(0.0)
        self._hold_bc = dolfinx.fem.dirichletbc(self._hold, hdofs, Vo)
        self._owner_interface = next(
            (domain.interface(k.electrode, k.electrolyte).name for k in self.kinetics
             if k.electrode == owner), None)
        self._compile_quantities()

    @property
    def _gb_key(self) -> str:
        """The name the boundaries' ohmic drop is reported under: their facet group."""
        return self.grain_boundaries.facets

    def _fill_cells(self, f, region: str, value_of) -> None:
        """Fill a parent-mesh DG0 function with value_of(group) on the cells (owned and
        ghost) of every cell group of a region."""
        dofs = f.function_space.dofmap.list[:, 0]
        for g in self._groups[region]:
            f.x.array[dofs[self.domain.cells(g, include_ghosts=True)]] = value_of(g)

    def _fill_sigma_cells(self, T: float) -> None:
        """The cell-wise conductivity of the broken region's groups (interior penalty)."""
        self._fill_cells(self._sigma_cells, self.grain_boundaries.region,
                         lambda g: self._sigma_of(g, T))

    def _sigma_of(self, group: str, T: float) -> float:
        """Conductivity [S m^-1] of a cell group at T, electrodes capped (see the class)."""
        sigma = self._group_cond[group].conductivity(T)
        region = group.split(".")[0]
        if self.max_ratio is not None and region != self.electrolyte:
            sigma = min(sigma, self.max_ratio
                        * self.conductors[self.electrolyte].conductivity(T))
        return sigma

    def effective_conductivity(self, group: str, T: float = T_REF) -> float:
        """The conductivity the model uses for a cell group [S m^-1] (after the cap)."""
        return self._sigma_of(group, T)

    def _owner(self, facet_region: str) -> str:
        """The electrode whose boundary holds a current-collector facet region."""
        for r in self.electrodes:
            if self.domain.comm.allreduce(int(self.sub[r].facets(self.domain, facet_region).size),
                                          op=MPI.SUM):
                return r
        raise MaterialError(f"facet region {facet_region!r} touches no electrode "
                            f"({', '.join(self.electrodes)})")

    def residuals(self):
        return self._F

    def bc_modes(self) -> dict:
        """Extra Dirichlet conditions per solver mode: "potentiostatic" holds the voltage."""
        return {"potentiostatic": [self._hold_bc]}

    def set_hold_voltage(self, voltage) -> None:
        """Cell voltage [V] imposed in the potentiostatic mode: a float or a function of t."""
        self.hold_voltage = time_function(voltage)
        self._hold.value = self._vsign * self.hold_voltage(0.0) / self.vt

    def coupling_terms(self) -> dict:
        """Residual terms for coupled fields: insertion fluxes into particle concentrations."""
        return self._coupling

    def set_current(self, current) -> None:
        """Applied current density [A m^-2]: a float or a function of time [s]."""
        self.current = time_function(current)

    def set_temperature(self, temperature) -> None:
        """Temperature [K]: a float or a function of time [s]."""
        self.temperature = time_function(temperature)

    def dirichlet_bcs(self):
        return self._bcs

    def initial_condition(self) -> None:
        """Open circuit: every interface at equilibrium (eta = 0) with the ground at 0 V."""
        u_eq = {}
        for k in self.kinetics:
            u_eq[k.electrode] = k.equilibrium_potential
            for c in k.couplings:  # e.g. the OCV at the mean initial filling of particles
                v = c.initial_equilibrium_potential(self.domain.comm)
                if v is not None:
                    u_eq[k.electrode] = v
        ground = self.ground_electrode or self._owners[1]
        phi_l = 0.0 - u_eq.get(ground, 0.0)
        for r, f in zip(self.conductors, self.fields, strict=True):
            value = phi_l if r == self.electrolyte else phi_l + u_eq.get(r, 0.0)
            if r == self._owners[1]:
                value = 0.0
            f.u.x.array[:] = value / self.vt
            for h in f.history:  # (with double layers)
                h.x.array[:] = f.u.x.array
        self.update(0.0)

    def update(self, t: float) -> bool:
        self._I.value = self.current(t)
        if self.hold_voltage is not None:
            self._hold.value = self._vsign * self.hold_voltage(t) / self.vt
        T = self.temperature(t)
        if T != float(self._T.value):
            self._T.value = T
            for g in self._group_cond:
                self._sigma[g].value = self._sigma_of(g, T)
            if self.grain_boundaries is not None:
                self._fill_sigma_cells(T)
                self._g_gb.value = self.grain_boundaries.conductance_at(T)
            return True
        return False

    # ------------------------------------------------------------------ small signal
    def capacitance_forms(self, trial: dict, test: dict, permittivity: dict[str, float],
                          double_layer: dict[str, float]) -> dict:
        """The capacitive (rate) operator M of the scaled residual: M du/dt is the
        displacement current eps grad(d phi/dt) in every region with a permittivity, the
        charging of the grain boundaries c_gb [d phi/dt] and of the double layer
        C_dl d(phi_s - phi_l)/dt at every electrode|electrolyte interface (times the
        contacting share of an interface that loses contact, `ElectrodeCoupling.contact`).

        Args:
            trial, test: {region: trial / test function} on the fields' spaces.
            permittivity: {cell region or group: eps [F m^-1]} (a group overrides its
                region); regions without one carry no displacement current.
            double_layer: {interface name "a|b": C_dl [F m^-2]}.

        Returns:
            {(row region, column region): bilinear form}, scaled like the residuals (the
            unknowns are phi / V_T).
        """
        d, w = self.domain, self._w
        wS = w("+") if not isinstance(w, int | float) else w
        out: dict = {}

        def add(key, term):
            out[key] = out[key] + term if key in out else term

        def eps_of(group):
            region = group.split(".")[0]
            return permittivity.get(group, permittivity.get(region))

        gb = self.grain_boundaries
        for r in self.conductors:
            groups = [g for g in self._groups[r] if eps_of(g) is not None]
            u, v = trial[r], test[r]
            broken = gb is not None and gb.region == r
            if groups and len(groups) != len(self._groups[r]):
                raise MaterialError(f"permittivity: region {r!r} has it for some of its cell "
                                    "groups only")
            if groups:
                add((r, r), sum(eps_of(g) * ufl.inner(ufl.grad(u), ufl.grad(v)) * w
                                * d.dx(g) for g in groups))
            if broken and groups:  # interior penalty with the conduction's weights
                eps_cells = dolfinx.fem.Function(self._sigma_cells.function_space)
                self._fill_cells(eps_cells, r, eps_of)
                extra, _ = broken_terms(d, r, u, v, eps_cells, w, gb, 0.0, self.degree,
                                        weights=self._sigma_cells)
                add((r, r), extra)
            if broken:  # the boundaries' own charging, with or without a bulk permittivity
                c_gb = gb.capacitance(eps_of(r))
                jump = lambda f: f("+") - f("-")  # noqa: E731
                add((r, r), c_gb * jump(u) * jump(v) * wS * d.dS_inner(r, gb.facets))
        for name, c_dl in double_layer.items():
            electrode, se, sl = self._sides[name]
            dS = self._dS[name]
            if self._contact.get(name) is not None:  # only where metal touches electrolyte
                c_dl = c_dl * self._contact[name]
            el = self.electrolyte
            add((el, el), c_dl * trial[el](sl) * test[el](sl) * wS * dS)
            if electrode in trial:
                add((electrode, electrode), c_dl * trial[electrode](se) * test[electrode](se)
                    * wS * dS)
                add((electrode, el), -c_dl * trial[el](sl) * test[electrode](se) * wS * dS)
                add((el, electrode), -c_dl * trial[electrode](se) * test[el](sl) * wS * dS)
        return {k: self._scale[k[0]] * self.vt * f for k, f in out.items()}

    def current_source(self, test: dict):
        """d(residual)/d(applied current density), negated: the right-hand side of the
        small-signal problem for a unit current density [A m^-2] into `current_cc`."""
        owner = self._owners[0]
        return owner, self._scale[owner] * test[owner] * self._w * self.domain.ds(
            self.current_cc)

    def cell_voltage_forms(self, phi: dict):
        """(current collector mean, ground mean or None for a grounded network) of potentials
        {region: function}, as forms; their difference is phi_cc - phi_ground."""
        d, w = self.domain, self._w
        a, g = self._owners
        em = self.entity_maps
        top = dolfinx.fem.form(phi[a] / self._cc_area * w * d.ds(self.current_cc),
                               entity_maps=em)
        bottom = None if g is None else dolfinx.fem.form(
            phi[g] / d.area(self.ground_cc) * w * d.ds(self.ground_cc), entity_maps=em)
        return top, bottom

    def interface_mean_forms(self, phi: dict) -> dict:
        """{interface: form of the area mean of phi_s - phi_l} for potentials {region: f}."""
        w = self._w
        wS = w("+") if not isinstance(w, int | float) else w
        out = {}
        for name, (electrode, se, sl) in self._sides.items():
            ps = phi[electrode](se) if electrode in phi else 0.0
            out[name] = dolfinx.fem.form((ps - phi[self.electrolyte](sl)) / self._areas[name]
                                         * wS * self._dS[name], entity_maps=self.entity_maps)
        return out

    def _interface_means(self, key: str, make) -> dict[str, float]:
        """{interface: area mean of make(name)} (None: skipped), its forms compiled on the
        first call and kept under `key` (collective)."""
        cache = self._mean_forms
        if key not in cache:
            w = self._w
            wS = w("+") if not isinstance(w, int | float) else w
            cache[key] = {name: dolfinx.fem.form(e * wS * self._dS[name],
                                                 entity_maps=self.entity_maps)
                          for name in self.j_expr if (e := make(name)) is not None}
        comm = self.domain.comm
        return {name: comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
                / self._areas[name] for name, f in cache[key].items()}

    def charge_transfer_resistances(self) -> dict[str, float]:
        """{interface: R_ct [ohm m^2] per interface area} at the present state: the inverse of
        the area mean of dj/d(eta) (the kinetics' slope at the local overpotential and
        surface state; coupled fields such as a particle's filling held)."""
        u_l = self.fields[list(self.conductors).index(self.electrolyte)].u
        # eta = phi_s - vt u_l - U: d/d(eta) is -1/vt times d/d(u_l)
        down = dolfinx.fem.Constant(self.domain.mesh, PETSc.ScalarType(-1.0 / self.vt))
        g = self._interface_means("slope", lambda n: ufl.derivative(self.j_expr[n], u_l, down))
        return {name: 1.0 / v if v > 0 else math.inf for name, v in g.items()}

    def contact_fractions(self) -> dict[str, float]:
        """{interface: area mean of its contacting share} (1 for a whole interface)."""
        a = self._interface_means("contact", self._contact.get)
        return {name: a.get(name, 1.0) for name in self.j_expr}

    # ------------------------------------------------------------------ quantities
    def _compile_quantities(self):
        d, w, em = self.domain, self._w, self.entity_maps
        form = lambda e: dolfinx.fem.form(e, entity_maps=em)  # noqa: E731
        wS = w("+") if not isinstance(w, int | float) else w
        top, bottom = self.cell_voltage_forms(self.phi)
        self._qf = {
            "phi_current_cc": top,
            "phi_ground_cc": bottom if bottom is not None else form(
                dolfinx.fem.Constant(d.mesh, PETSc.ScalarType(0.0)) * d.ds(self.current_cc)),
        }
        self._areas = {}
        for name, j in self.j_expr.items():
            area = d.integrate(wS * self._dS[name])
            self._areas[name] = area
            self._qf[f"current[{name}]"] = form(j * wS * self._dS[name])
            self._qf[f"eta_mean[{name}]"] = form(self.eta_expr[name] / area * wS * self._dS[name])
        # facet-averaged current density per interface cell, for the peak current density
        Q0 = dolfinx.fem.functionspace(d.mesh, ("DG", 0))
        q0 = ufl.TestFunction(Q0)
        self._peak = {}
        for name, j in self.j_expr.items():
            side = "+"
            self._peak[name] = (form(j * q0(side) * wS * self._dS[name]),
                                _owned_sums(dolfinx.fem.form(q0(side) * wS * self._dS[name])))
        # kinetics safeguard: the overflow continuation beyond X_LIN, at the quadrature points
        # of the residual's interface term (same degree), and the facet-mean exponent
        self._safeguard = {}
        for name, x in self._x_expr.items():
            dS = self._dS[name].reconstruct(metadata={"quadrature_degree": self._jdeg[name]})
            self._safeguard[name] = (
                form(ufl.max_value(x - X_LIN, 0.0) * wS * dS),
                form(x * q0("+") * wS * self._dS[name]), self._peak[name][1])
        for r in self.conductors:  # Joule heat per region [W] -> ohmic drop = P / I_total
            self._qf[f"joule[{r}]"] = form(sum(self._sigma[g] * ufl.inner(
                ufl.grad(self.phi[r]), ufl.grad(self.phi[r])) * w * d.dx(g)
                for g in self._groups[r]))
        if self._gb_power is not None:  # in the grains above; here in their boundaries
            self._qf[f"joule[{self._gb_key}]"] = form(self._gb_power)

    ZERO_CURRENT = 1e-9  # A m^-2 (1e-10 mA/cm^2): below it the cell carries no net current

    def quantities(self) -> dict[str, float]:
        comm = self.domain.comm
        q = {k: comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
             for k, f in self._qf.items()}
        out = {"cell_voltage": self._vsign * (q["phi_current_cc"] - q["phi_ground_cc"]),
               "applied_current_density": float(self._I.value)}
        if self._owner_interface is not None:  # measured: what crosses the interface
            out["current_density"] = q[f"current[{self._owner_interface}]"] / self._cc_area
        else:
            out["current_density"] = float(self._I.value)
        total = out["current_density"] * self._cc_area
        for name in self.j_expr:
            out[f"current[{name}]"] = q[f"current[{name}]"]
            out[f"j_mean[{name}]"] = q[f"current[{name}]"] / self._areas[name]
            out[f"eta_mean[{name}]"] = q[f"eta_mean[{name}]"]
        for name, (frm, area) in self._peak.items():
            vec = _owned_sums(frm)
            sel = area > 0
            local = np.abs(vec[sel] / area[sel])
            out[f"j_max[{name}]"] = comm.allreduce(float(local.max()) if local.size else 0.0,
                                                   op=MPI.MAX)
        # no net current (a rest: what crosses is round-off, ~1e-13 A/m^2): no ohmic drop
        net = abs(out["current_density"]) > self.ZERO_CURRENT
        keys = list(self.conductors) + ([self._gb_key] if self._gb_power is not None else [])
        for r in keys:
            out[f"ohmic_drop[{r}]"] = q[f"joule[{r}]"] / total if net else 0.0
        for name, (excess, xform, area) in self._safeguard.items():
            beyond = comm.allreduce(dolfinx.fem.assemble_scalar(excess), op=MPI.SUM)
            out[f"kinetics_safeguard[{name}]"] = 1.0 if beyond > 0.0 else 0.0
            vec = _owned_sums(xform)
            sel = area > 0
            local = vec[sel] / area[sel]
            out[f"kinetics_exponent[{name}]"] = comm.allreduce(
                float(local.max()) if local.size else -np.inf, op=MPI.MAX)
        return out

    def admissibility_warnings(self, rows: list[dict], tolerance: float = 0.0) -> list[str]:
        """One line per interface whose recorded states (rows with "t") were computed on the
        linear continuation of the kinetics' exponential (tolerance unused: any use of the
        continuation means the law was not solved)."""
        out = []
        for name in self._safeguard:
            key = f"kinetics_safeguard[{name}]"
            bad = [r for r in rows if r.get(key, 0.0) > 0.0]
            if not bad:
                continue
            t = [float(r.get("t", float("nan"))) for r in bad]
            xs = [r.get(f"kinetics_exponent[{name}]", float("nan")) for r in bad]
            n = sum(1 for r in rows if key in r)
            when = f"t = {t[0]:.6g} s" if len(t) == 1 else f"t = {t[0]:.6g}..{t[-1]:.6g} s"
            out.append(f"results at {when} ({len(bad)} of {n} recorded states) lie on the "
                       f"linear continuation of the exponential of {name} kinetics "
                       f"(|alpha F eta / RT| = {max(xs):.4g} (largest facet mean) > X_LIN = "
                       f"{X_LIN:g}): not {self._law_name[name]}")
        return out

    def output_fields(self):
        out = {f"phi_{r}": (f.u, self.vt) for r, f in zip(self.conductors, self.fields,
                                                             strict=True)}
        if self._jfield is None:
            Q0 = dolfinx.fem.functionspace(self.domain.mesh, ("DG", 0))
            self._jfield = dolfinx.fem.Function(Q0, name="interface_current")
        out["interface_current"] = (self._jfield, 1.0)
        return out

    def refresh_outputs(self) -> None:
        """Fill the DG0 field of facet-averaged interface current density [A m^-2] (cells
        on the "+" side of each interface; zero elsewhere)."""
        if self._jfield is None:
            self.output_fields()
        n = self._jfield.function_space.dofmap.index_map.size_local
        arr = np.zeros(n)
        for frm, area in self._peak.values():
            vec = _owned_sums(frm)
            sel = area > 0
            arr[sel] = vec[sel] / area[sel]
        self._jfield.x.array[:n] = arr
        self._jfield.x.scatter_forward()

    def citations(self):
        out = []
        for c in list(self.conductors.values()) + list(self.group_conductors.values()):
            out += c.all_citations()
        for k in self.kinetics:
            out += k.law.citations()
        if self.grain_boundaries is not None:
            out += self.grain_boundaries.citations()
        return list(dict.fromkeys(out))



def _law_name(law) -> str:
    """Readable name of a kinetic law (the underlying one of a stress-modified law)."""
    inner = law.base_law()
    return {"ButlerVolmer": "Butler-Volmer", "Tafel": "Tafel"}.get(type(inner).__name__,
                                                                   type(inner).__name__)


def _owned_sums(form) -> np.ndarray:
    """Assemble a DG0 vector and return its owned entries with ghost contributions added."""
    vec = dolfinx.fem.assemble_vector(form)
    vec.scatter_reverse(dolfinx.la.InsertMode.add)
    return vec.array[: vec.index_map.size_local].copy()
