"""Ohmic conduction in one sample with current contacts: four-probe and van der Pauw
measurements.

    div(sigma grad phi) = 0 in the region,
    -sigma grad phi . n = -I_k / A_k on contact k (the current I_k enters, uniformly),
    no current through the rest of the boundary,

with sum_k I_k = 0; phi is held at 0 on one vertex (the gauge: it carries no current, the
contact currents balance). sigma is a scalar or a gdim x gdim tensor [S m^-1] in the lab
frame (an anisotropic crystal or textured film). Currents are in A, per metre of depth in
2D (a 2D square is a sheet of unit thickness).

Scaling: phi in volts; the residual is divided by sigma_ref L^(d-2), and the unit current is
I_unit = sigma_ref L^(d-2) x 1 V, so the potentials are O(1) V; results are per ampere
(resistances).

AC (`transfer_impedances`): with a permittivity eps = eps0 eps_r the sample's admittivity is
sigma + i omega eps (the displacement current), and a sinusoidal current between two
contacts gives the complex transfer impedance Z = (phi_c - phi_d) / I of a four-probe
reading; solved as the real 2x2 block system [[K, -omega M], [omega M, K]] (K the conduction
form, M the permittivity's), one LU (MUMPS) per frequency for every configuration.

Grains (`grain_boundaries`, femcell/physics/grain_boundary.py): the potential is broken
(DG) over the sample, continuous inside the grains by interior penalty, and jumps across the
boundary facets with i . n = g_gb [phi] (DC) or (g_gb + i omega c_gb) [phi] (AC). A scalar
conductivity only (the grains' crystal axes are not modelled here).
"""

from __future__ import annotations

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.materials.core import MaterialError
from femcell.physics.base import Physics
from femcell.physics.grain_boundary import ResistiveBoundaries, broken_terms
from femcell.units import EPS0, T_REF


class OhmicConduction(Physics):
    """A conducting sample with named current contacts.

    Args:
        conductivity: sigma [S m^-1], a positive number or a gdim x gdim symmetric positive
            definite tensor.
        contacts: facet regions of the contacts (each may carry a current).
        region: the conducting cell region.
        length_scale: reference length L [m] (default: half the largest extent).
        permittivity: relative permittivity of the sample (AC readings).
        grain_boundaries: resistive boundaries of the region (None: one crystal).
        temperature: T [K] at which their conductance is taken.
    """

    name = "conduction"
    linear = True
    symmetric = True
    time_dependent = False

    def __init__(self, conductivity, contacts: list[str], *, region: str = "sample",
                 length_scale: float | None = None, permittivity: float | None = None,
                 grain_boundaries: ResistiveBoundaries | None = None,
                 temperature: float = T_REF):
        sigma = np.asarray(conductivity, dtype=float)
        if sigma.ndim == 0:
            ok = np.isfinite(sigma) and sigma > 0
        else:
            ok = (sigma.ndim == 2 and sigma.shape[0] == sigma.shape[1]
                  and np.all(np.isfinite(sigma)) and np.allclose(sigma, sigma.T)
                  and np.all(np.linalg.eigvalsh(sigma) > 0))
        if not ok:
            raise MaterialError(f"conduction: conductivity must be a positive number or a "
                                f"symmetric positive definite tensor, got {conductivity!r}")
        if len(set(contacts)) != len(contacts) or len(contacts) < 2:
            raise MaterialError(f"conduction: give at least two distinct contacts, got "
                                f"{contacts!r}")
        if permittivity is not None and not (np.isfinite(permittivity) and permittivity >= 1):
            raise MaterialError(f"conduction: the relative permittivity must be >= 1, got "
                                f"{permittivity!r}")
        gb = grain_boundaries
        if gb is not None and sigma.ndim != 0:
            raise MaterialError("conduction: grain boundaries need a scalar conductivity (a "
                                "tensor was given)")
        if gb is not None and gb.region != region:
            raise MaterialError(f"conduction: the grain boundaries are of {gb.region!r}, the "
                                f"sample is {region!r}")
        self.grain_boundaries = gb
        if gb is not None:  # the broken (DG) potential: the presets' AMG does not work on it
            # (a 3D plate of 3e4 dofs: CG + GAMG stopped as INDEFINITE, GMRES + GAMG at 1000
            # iterations), so "auto" factorises
            self.symmetric = False
            self.direct_solver = True
        self.temperature = temperature
        self.g_gb = gb.conductance_at(temperature) if gb is not None else None
        self.permittivity = permittivity
        self.c_gb = None  # F m^-2, for AC readings
        if gb is not None:
            try:
                self.c_gb = gb.capacitance(None if permittivity is None
                                           else EPS0 * permittivity)
            except MaterialError:
                pass  # DC only: transfer_impedances says what is missing
        self.sigma = sigma
        self.contacts = list(contacts)
        self.region = region
        self._length = length_scale
        self.fields = []

    @property
    def reference_conductivity(self) -> float:
        """sigma_ref [S m^-1]: the scalar, or the geometric mean of the tensor's eigenvalues."""
        if self.sigma.ndim == 0:
            return float(self.sigma)
        return float(np.exp(np.mean(np.log(np.linalg.eigvalsh(self.sigma)))))

    def setup(self, domain, time) -> None:
        from femcell.fields import Field

        self.domain = domain
        gdim = domain.gdim
        if self.sigma.ndim == 2 and self.sigma.shape != (gdim, gdim):
            raise MaterialError(f"conduction: a conductivity tensor of a {gdim}D sample is "
                                f"{gdim} x {gdim}, got {self.sigma.shape[0]} x "
                                f"{self.sigma.shape[1]}")
        for c in self.contacts:
            if c not in domain.facet_regions:
                raise MaterialError(f"conduction: unknown contact {c!r}; facet regions: "
                                    f"{', '.join(domain.facet_regions)}")
        L = self._length or 0.5 * domain.size()
        self.L = L
        d = domain.tdim
        self._iscale = self.reference_conductivity * L ** (d - 2)  # A (A/m in 2D) per volt
        sub = domain.submesh(self.region)
        self.entity_maps = [sub.cell_map]
        gb = self.grain_boundaries
        V = dolfinx.fem.functionspace(sub.mesh, ("DG" if gb is not None else "Lagrange", 1))
        self.field = Field.create("phi", V, levels=0)
        self.fields = [self.field]
        self._ac = (dolfinx.fem.Function(V), dolfinx.fem.Function(V))
        mesh = domain.mesh
        sig = dolfinx.fem.Constant(mesh, PETSc.ScalarType(self.sigma))
        w = domain.weight()
        u, v = self.field.u, ufl.TestFunction(V)
        flux = ufl.dot(sig, ufl.grad(u)) if self.sigma.ndim else sig * ufl.grad(u)
        F = ufl.inner(flux, ufl.grad(v)) * w * domain.dx(self.region)
        if gb is not None:
            self._cells = self._cell_values(float(self.sigma))
            self._gb_g = dolfinx.fem.Constant(mesh, PETSc.ScalarType(self.g_gb))
            F += broken_terms(domain, self.region, u, v, self._cells, w, gb, self._gb_g, 1)[0]
        self._current = {}
        self._area = {}
        for c in self.contacts:
            self._area[c] = domain.area(c)
            self._current[c] = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
            F -= self._current[c] / self._area[c] * v * w * domain.ds(c)
        self._F = [(1.0 / self._iscale) * F]
        # the gauge: the dof with the smallest coordinates (lexicographic; of a broken
        # potential, the lowest global index there), marked on every rank that holds it,
        # owned or ghost (a ghost copy left out would keep its rank's matrix entries in
        # that row)
        imap = V.dofmap.index_map
        n_owned = imap.size_local
        x = V.tabulate_dof_coordinates()[:, :gdim]
        key = min(map(tuple, x[:n_owned])) if n_owned else (np.inf,) * gdim
        best = np.asarray(domain.comm.allreduce(key, op=MPI.MIN))
        at = np.flatnonzero(np.all(x == best, axis=1))
        glob = imap.local_to_global(at.astype(np.int32))
        first = domain.comm.allreduce(int(glob.min()) if glob.size else np.iinfo(np.int64).max,
                                      op=MPI.MIN)
        dofs = at[glob == first].astype(np.int32)
        if domain.comm.allreduce(int(np.sum(dofs < n_owned)), op=MPI.SUM) != 1:
            raise MaterialError("conduction: no unique node for the gauge")
        self._bcs = [dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs, V)]
        em = self.entity_maps
        self._mean = {c: dolfinx.fem.form(u / self._area[c] * w * domain.ds(c),
                                          entity_maps=em) for c in self.contacts}

    def _cell_values(self, value: float):
        """A parent-mesh DG0 function equal to `value` on the sample's cells (owned and
        ghost): the cell-wise coefficient the interior-penalty terms restrict."""
        f = dolfinx.fem.Function(dolfinx.fem.functionspace(self.domain.mesh, ("DG", 0)))
        dofs = f.function_space.dofmap.list[:, 0]
        f.x.array[dofs[self.domain.cells(self.region, include_ghosts=True)]] = value
        return f

    def residuals(self):
        return self._F

    def dirichlet_bcs(self):
        return self._bcs

    def initial_condition(self) -> None:
        self.field.u.x.array[:] = 0.0

    def set_currents(self, currents: dict[str, float]) -> None:
        """Contact currents [A; A per metre of depth in 2D] (positive: into the sample),
        the others 0; they must add up to zero."""
        unknown = sorted(set(currents) - set(self.contacts))
        if unknown:
            raise MaterialError(f"conduction: {unknown[0]!r} is not a contact")
        total = sum(currents.values())
        if abs(total) > 1e-12 * max(abs(v) for v in currents.values()):
            raise MaterialError(f"conduction: the contact currents add up to {total:g} A, "
                                "not 0")
        for c, k in self._current.items():
            k.value = currents.get(c, 0.0)

    @property
    def unit_current(self) -> float:
        """The current [A; A/m in 2D] whose potentials are O(1) V."""
        return self._iscale

    def quantities(self) -> dict[str, float]:
        comm = self.domain.comm
        return {f"phi_mean[{c}]": comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
                for c, f in self._mean.items()}

    def output_fields(self):
        # per ampere (V/A; V m/A in 2D): the solved potential is that of unit_current
        out = {"phi": (self.field.u, 1.0 / self._iscale)}
        if self.write_ac:
            out |= {"phi_ac_re": (self._ac[0], 1.0), "phi_ac_im": (self._ac[1], 1.0)}
        return out

    write_ac = False  # output the AC potentials too (set before making a field writer)

    def ac_from_dc(self) -> None:
        """The AC output fields at f = 0: the DC potential per ampere (the current now set
        is `unit_current`), no imaginary part."""
        self._ac[0].x.array[:] = self.field.u.x.array / self._iscale
        self._ac[1].x.array[:] = 0.0

    def transfer_impedances(self, frequencies, configurations,
                            fields_of: int | None = None) -> np.ndarray:
        """Complex four-probe transfer impedances (collective).

        Args:
            frequencies: f [Hz], > 0.
            configurations: [(I+, I-, V+, V-)] contact names: the current enters at I+ and
                leaves at I-, the reading is the mean potential of V+ minus that of V-.

            fields_of: index of the configuration whose complex potential per ampere
                [V/A; V m/A in 2D] is kept for output (`phi_ac_re`, `phi_ac_im`) at the
                last frequency.

        Returns:
            Z [ohm; ohm m in 2D], shape (frequencies, configurations).

        Raises:
            MaterialError: no permittivity, bad frequencies or contacts.
            SolverError: a failed solve (frequency and reason named).
        """
        from femcell.solvers import SolverError

        if self.permittivity is None:
            raise MaterialError("conduction: AC readings need the sample's permittivity")
        f = np.asarray(frequencies, dtype=float)
        if f.size == 0 or not np.all(np.isfinite(f)) or np.any(f <= 0):
            raise MaterialError("conduction: frequencies must be positive numbers")
        for cfg in configurations:
            if len(cfg) != 4 or not set(cfg) <= set(self.contacts):
                raise MaterialError(f"conduction: a configuration is four contacts, got {cfg!r}")
        domain, V = self.domain, self.field.u.function_space
        W = V.clone()
        w = domain.weight()
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        ui, vi = ufl.TrialFunction(W), ufl.TestFunction(W)
        mesh = domain.mesh
        scale = self._iscale  # as the DC residual: potentials O(1) V for I = scale
        sig = dolfinx.fem.Constant(mesh, PETSc.ScalarType(self.sigma / scale))
        eps = EPS0 * self.permittivity / scale
        om = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
        dx = domain.dx(self.region)

        def grad_flux(a):
            return ufl.dot(sig, ufl.grad(a)) if self.sigma.ndim else sig * ufl.grad(a)

        def k(a, b):  # conduction
            out = ufl.inner(grad_flux(a), ufl.grad(b)) * w * dx
            if gb is not None:  # the grains' penalty and the boundaries' conductance
                out += (1.0 / scale) * broken_terms(domain, self.region, a, b, self._cells,
                                                    w, gb, self.g_gb, 1)[0]
            return out

        def m(a, b):  # displacement: the same penalty weights, the boundaries' capacitance
            out = eps * ufl.inner(ufl.grad(a), ufl.grad(b)) * w * dx
            if gb is not None:
                out += broken_terms(domain, self.region, a, b, eps_cells, w, gb, c_gb / scale,
                                    1, weights=self._cells)[0]
            return out

        gb = self.grain_boundaries
        if gb is not None:
            if self.c_gb is None:
                raise MaterialError("conduction: the grain boundaries have no capacitance "
                                    "(give capacitance, or a thickness)")
            eps_cells = self._cell_values(eps)
            c_gb = self.c_gb
        blocks = [[k(u, v), -om * m(ui, v)], [om * m(u, vi), k(ui, vi)]]
        em = self.entity_maps
        a = dolfinx.fem.form(blocks, entity_maps=em)
        dofs = self._bcs[0].dof_indices()[0]
        zero = PETSc.ScalarType(0.0)
        bcs = [dolfinx.fem.dirichletbc(zero, dofs, V), dolfinx.fem.dirichletbc(zero, dofs, W)]
        A = dolfinx.fem.petsc.create_matrix(a)
        # the sources: the current `scale` in at I+ and out at I-
        re, im = dolfinx.fem.Function(V), dolfinx.fem.Function(W)
        sources = []
        for ip, im_, _, _ in configurations:
            src = (v / self._area[ip] * w * domain.ds(ip)
                   - v / self._area[im_] * w * domain.ds(im_))
            vec = dolfinx.fem.assemble_vector(dolfinx.fem.form(src, entity_maps=em))
            vec.scatter_reverse(dolfinx.la.InsertMode.add)
            arr = vec.array.copy()
            arr[dofs] = 0.0
            sources.append(arr)
        b = dolfinx.fem.petsc.create_vector([V, W], kind="mpi")
        x = b.duplicate()
        ksp = PETSc.KSP().create(domain.comm)
        ksp.setOperators(A)
        ksp.setType("preonly")
        ksp.getPC().setType("lu")
        ksp.getPC().setFactorSolverType("mumps")
        mean = {c: (dolfinx.fem.form(re / self._area[c] * w * domain.ds(c), entity_maps=em),
                    dolfinx.fem.form(im / self._area[c] * w * domain.ds(c), entity_maps=em))
                for c in self.contacts}
        comm = domain.comm
        total = lambda form: comm.allreduce(dolfinx.fem.assemble_scalar(form),  # noqa: E731
                                            op=MPI.SUM)
        out = np.zeros((f.size, len(configurations)), dtype=complex)
        try:
            for k, fk in enumerate(f):
                om.value = 2 * np.pi * fk
                A.zeroEntries()
                dolfinx.fem.petsc.assemble_matrix(A, a, bcs=bcs)
                A.assemble()
                ksp.setOperators(A)
                for j, (_, _, vp, vm) in enumerate(configurations):
                    re.x.array[:] = sources[j]
                    im.x.array[:] = 0.0
                    dolfinx.fem.petsc.assign([re, im], b)
                    ksp.solve(b, x)
                    ok = comm.allreduce(bool(np.all(np.isfinite(x.array))), op=MPI.LAND)
                    if ksp.getConvergedReason() <= 0 or not ok:
                        raise SolverError(f"conduction: the AC solve at f = {fk:.6g} Hz "
                                          f"failed (KSP reason {ksp.getConvergedReason()})")
                    dolfinx.fem.petsc.assign(x, [re, im])
                    re.x.scatter_forward()
                    im.x.scatter_forward()
                    dv = [total(mean[vp][p]) - total(mean[vm][p]) for p in (0, 1)]
                    out[k, j] = complex(*dv) / scale
                    if j == fields_of:
                        self._ac[0].x.array[:] = re.x.array / scale
                        self._ac[1].x.array[:] = im.x.array / scale
        finally:
            for obj in (ksp, A, b, x):
                obj.destroy()
        return out

    def describe(self) -> dict:
        out = {"conductivity_S_m": self.sigma.tolist(), "contacts": self.contacts,
               "region": self.region, "permittivity": self.permittivity}
        gb = self.grain_boundaries
        if gb is not None:
            out["grain_boundaries"] = {
                "facets": gb.facets, "conductance_S_m2": self.g_gb,
                "temperature_K": self.temperature, "thickness_m": gb.thickness,
                "capacitance_F_m2": self.c_gb,
                "material": gb.conductor.name if gb.conductor is not None else None}
        return out
