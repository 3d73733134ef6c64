"""A moving phase boundary (Stefan condition) with ALE mesh motion (PHYSICS.md section 7).

A facet region of the domain (the front) moves along its normal with the velocity

    v_n = J . n / dc        (J = -D grad c the flux of a Diffusion physics into the front,
                             dc the jump of the conserved quantity across it [mol m^-3]),

the one-phase Stefan condition: melting with c the temperature scaled by the latent heat, or
a dissolving / growing phase. The mesh follows: the front nodes move with v_n n, the other
nodes by the harmonic extension of that displacement (a Laplace problem per component, zero
on the `fixed` facet regions, the normal component held on the `slide` walls, natural
elsewhere), so the elements stay valid while the front is
flat-ish; an inverted element stops the run with a message (remeshing is not done).

The flux is the discrete reaction of the Diffusion residual at the front's Dirichlet DOFs
(J . n per node: exact discrete conservation), divided by the lumped facet measure. The front
velocity of a step is that of the last accepted state (explicit, first order in time). The
nodes of the Diffusion field move with the mesh, so its BDF derivative is the one along the
moving nodes; the ALE term -w . grad c (w the mesh velocity) that this physics adds to the
Diffusion residual makes it the Eulerian dc/dt of the equation. Every form is assembled on the
moved mesh: areas, volumes and fluxes are forms, not cached numbers.
"""

from __future__ import annotations

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.materials.core import MaterialError
from femcell.physics.base import Physics


class MovingFront(Physics):
    """Front motion by the Stefan condition of a Diffusion physics, with ALE mesh motion.

    Args:
        diffusion: the Diffusion physics (whole mesh, P1) whose flux moves the front; the
            front must be one of its Dirichlet regions.
        front: facet region that moves.
        jump: dc, the amount absorbed per volume the front sweeps [mol m^-3] (> 0: the front
            advances where the flux leaves the domain through it).
        fixed: facet regions that do not move.
        slide: facet regions made of planes normal to coordinate axes whose nodes move only
            along them (the normal component held, e.g. the side walls of a cell); the
            nodes of other boundaries move with the extension.
    """

    name = "front"
    step_hook = True
    linear = True
    time_dependent = True

    def __init__(self, diffusion, front: str, jump: float, fixed=(), slide=()):
        if not jump > 0:
            raise MaterialError(f"moving front: jump must be > 0 [mol m^-3], got {jump}")
        self.diff, self.front, self.jump = diffusion, front, float(jump)
        self.fixed, self.slide = tuple(fixed), tuple(slide)

    def setup(self, domain, time) -> None:
        self.domain, self.time = domain, time
        mesh, d = domain.mesh, self.diff
        if d.sub is not None or d.degree != 1:
            raise MaterialError("moving front: the Diffusion must cover the whole mesh with P1")
        if self.front not in d._dirichlet_dofs:
            raise MaterialError(f"moving front: {self.front!r} must be a Dirichlet region of "
                                f"the diffusion (the melting / equilibrium value there)")
        gdim = domain.gdim
        self.W = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (gdim,)))
        self.w = dolfinx.fem.Function(self.W, name="mesh_velocity")  # [m/s]
        # P1 geometry nodes <-> P1 dofs (same local vertex order per cell)
        self._g2d = np.empty(mesh.geometry.x.shape[0], dtype=np.int64)
        self._g2d[mesh.geometry.dofmaps[0].ravel()] = d.V.dofmap.list.ravel()
        self._x_acc = mesh.geometry.x.copy()  # geometry of the last accepted state
        self._t_acc = 0.0
        self._v = None  # nodal front velocity vectors of the last accepted state
        S = d.V
        q = ufl.TestFunction(S)
        n = ufl.FacetNormal(mesh)
        ds = domain.ds(self.front)
        self._front_dofs = d._dirichlet_dofs[self.front]
        self._m = dolfinx.fem.form(q * d._w * ds)  # lumped front measure per node
        self._n = [dolfinx.fem.form(n[i] * q * d._w * ds) for i in range(gdim)]
        self._pos = [dolfinx.fem.form(ufl.SpatialCoordinate(mesh)[i] * d._w * ds)
                     for i in range(gdim)]
        self._area = dolfinx.fem.form(1.0 * d._w * ds)
        # harmonic extension of the front displacement (one Laplace solve per component)
        V1 = S
        u1, v1 = ufl.TrialFunction(V1), ufl.TestFunction(V1)
        self._ext_a = dolfinx.fem.form(ufl.inner(ufl.grad(u1), ufl.grad(v1)) * ufl.dx)
        self._ext_L = dolfinx.fem.form(dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
                                       * v1 * ufl.dx)
        fdim = domain.tdim - 1
        fixed = [domain.facets(r) for r in self.fixed]
        self._fixed_dofs = dolfinx.fem.locate_dofs_topological(
            V1, fdim, np.unique(np.concatenate(fixed)) if fixed else np.zeros(0, np.int32))
        self._g = dolfinx.fem.Function(V1)
        self._bcs = [dolfinx.fem.dirichletbc(self._g, self._front_dofs),
                     dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), self._fixed_dofs, V1)]
        # slide walls: the normal component held (per axis: the extension is per component)
        from femcell.physics.mechanics import facets_by_normal_axis

        self._slide_bcs = [[] for _ in range(gdim)]
        for region in self.slide:
            for i, fs in facets_by_normal_axis(domain, region, domain.facets(region),
                                               domain.size()).items():
                dofs = dolfinx.fem.locate_dofs_topological(V1, fdim, fs)
                self._slide_bcs[i].append(dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs,
                                                                  V1))
        self._ext_u = dolfinx.fem.Function(V1)
        u, vt = d.field.u, ufl.TestFunction(S)
        # the ALE term of the Diffusion residual, with its own scaling
        self._coupling = {d.field.name: d._s * (-ufl.dot(self.w, ufl.grad(u))) * vt * d._w
                          * d._dx}

    def residuals(self):
        return []

    def coupling_terms(self):
        return self._coupling

    def on_problem(self, problem) -> None:
        self._res = dolfinx.fem.form(problem.residual_of(self.diff.field.name),
                                     entity_maps=problem.entity_maps or None)

    # ---------------------------------------------------------------- motion
    def _nodal(self, frm) -> np.ndarray:
        vec = dolfinx.fem.assemble_vector(frm)
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        vec.scatter_forward()
        return vec.array

    def _front_velocity(self) -> np.ndarray:
        """Nodal front velocity vectors [m/s] (rows: dofs of the P1 space; 0 off the front)
        from the discrete flux of the current state."""
        d = self.diff
        r = self._nodal(self._res)  # at the front's Dirichlet dofs: s int D grad u . n phi_i
        m = self._nodal(self._m)
        nv = np.stack([self._nodal(f) for f in self._n], axis=1)
        dofs = self._front_dofs
        flux = -d.material.c_max * r[dofs] / float(d._s.value)  # int J . n phi_i [mol/s(/m)]
        vn = flux / (m[dofs] * self.jump)
        owned = dofs < self.W.dofmap.index_map.size_local
        self._vn_sum = (float(vn[owned].sum()), int(owned.sum()))  # for quantities
        nn = nv[dofs] / np.linalg.norm(nv[dofs], axis=1)[:, None]
        out = np.zeros((r.size, self.domain.gdim))
        out[dofs] = vn[:, None] * nn
        return out

    def _extend(self, disp_front: np.ndarray) -> np.ndarray:
        """Harmonic extension of front-node displacements (rows per P1 dof) to every dof."""
        from dolfinx.fem.petsc import LinearProblem

        out = np.zeros_like(disp_front)
        for i in range(self.domain.gdim):
            self._g.x.array[:] = disp_front[:, i]
            lp = LinearProblem(self._ext_a, self._ext_L, bcs=self._bcs + self._slide_bcs[i],
                               u=self._ext_u,
                               petsc_options={"ksp_type": "preonly", "pc_type": "lu",
                                              "pc_factor_mat_solver_type": "mumps"},
                               petsc_options_prefix="femcell_front_ext_")
            lp.solve()
            self._ext_u.x.scatter_forward()
            out[:, i] = self._ext_u.x.array
        return out

    def _move_to(self, t: float) -> None:
        """Geometry at time t: the accepted geometry moved by the extended displacement
        v (t - t_acc); the mesh velocity w = v (idempotent for repeated tries of a step)."""
        if self._v is None:
            self._v = self._extend(self._front_velocity())
        dt = t - self._t_acc
        gdim = self.domain.gdim
        x = self.domain.mesh.geometry.x
        x[:, :gdim] = self._x_acc[:, :gdim] + dt * self._v[self._g2d]
        self.w.x.array[:] = self._v.ravel()
        self.w.x.scatter_forward()
        self._check_cells()

    def _check_cells(self) -> None:
        """Stop when an element inverted or collapsed (collective)."""
        mesh = self.domain.mesh
        tdim = self.domain.tdim
        ncell = mesh.topology.index_map(tdim).size_local
        x = mesh.geometry.x[:, :self.domain.gdim]
        cells = mesh.geometry.dofmaps[0][:ncell]
        e = x[cells[:, 1:]] - x[cells[:, :1]]  # edge vectors from the first vertex
        if tdim == self.domain.gdim:
            vol = np.linalg.det(e) if e.size else np.zeros(0)
            ref = np.linalg.det(self._e0) if self._e0.size else np.zeros(0)
            bad = int(np.sum(vol * np.sign(ref) <= 1e-6 * np.abs(ref)))
        else:
            bad = 0
        bad = self.domain.comm.allreduce(bad, op=MPI.SUM)
        if bad:
            raise MaterialError(f"moving front: {bad} element(s) inverted as {self.front!r} "
                                "moved (remeshing is not done); stop before, or use a mesh "
                                "with more room ahead of the front")

    def initial_condition(self) -> None:
        mesh, tdim = self.domain.mesh, self.domain.tdim
        ncell = mesh.topology.index_map(tdim).size_local
        x = mesh.geometry.x[:, :self.domain.gdim]
        cells = mesh.geometry.dofmaps[0][:ncell]
        self._e0 = x[cells[:, 1:]] - x[cells[:, :1]]
        self.w.x.array[:] = 0.0
        self._t_acc = float(self.time.t.value)

    def update(self, t: float) -> bool:
        if t > self._t_acc:
            self._move_to(t)
        return True  # the operator changes with the geometry

    def on_accept(self) -> None:
        """The accepted geometry and the front velocity of the new state."""
        self._x_acc = self.domain.mesh.geometry.x.copy()
        self._t_acc = float(self.time.t.value)
        self._v = self._extend(self._front_velocity())

    def restore_state(self, state: dict) -> None:
        raise MaterialError(f"moving front {self.front!r}: a restart would start from the "
                            "initial geometry; runs with a moving front cannot be restarted yet")

    # ---------------------------------------------------------------- outputs
    def quantities(self) -> dict[str, float]:
        """front_position_<axis>: mean coordinate of the front [m]; front_area [m^2 (m in
        2D)]; front_velocity: mean normal velocity of the last accepted state [m/s] (> 0:
        advancing along the outward normal)."""
        comm = self.domain.comm
        area = comm.allreduce(dolfinx.fem.assemble_scalar(self._area), op=MPI.SUM)
        out = {f"front_position_{'xyz'[i]}": comm.allreduce(
            dolfinx.fem.assemble_scalar(f), op=MPI.SUM) / area for i, f in enumerate(self._pos)}
        out["front_area"] = area
        if self._v is not None:  # the signed normal velocity of the last evaluation
            tot = comm.allreduce(self._vn_sum[0], op=MPI.SUM)
            cnt = comm.allreduce(self._vn_sum[1], op=MPI.SUM)
            out["front_velocity"] = tot / max(cnt, 1)
        return out
