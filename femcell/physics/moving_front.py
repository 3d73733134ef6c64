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
(J . n per node: exact discrete conservation), divided by the lumped facet measure. A step
moves the front with the velocity of the last accepted state (explicit) plus what the step
before owed: a step's own (implicit) flux is v_n, its motion used v_(n-1), and the
difference dt_n (v_n - v_(n-1)) is added to the next step's motion (the mesh velocity of
the ALE term includes it). The volume the front has swept then equals the integrated
discrete flux over dc up to the last step's difference alone (flat fronts: exactly; the
sum of lumped nodal displacements otherwise): the lag of the explicit step does not
accumulate. The
nodes of the Diffusion field move with the mesh, so its BDF derivative is the one along the
moving nodes; the ALE term -w . grad c (w the mesh velocity) that this physics adds to the
Diffusion residual makes it the Eulerian dc/dt of the equation, the material at rest. Every
form is assembled on the moved mesh: areas, volumes and fluxes are forms, not cached numbers.

The Diffusion may live on a region (a submesh): then that region's nodes move, the parent
mesh's nodes with them, and every other submesh of the Domain is brought along
(`Domain.sync_geometry`); the `fixed` regions (facet regions or interfaces "a|b") must
hold the region's contact with the rest of the mesh in place. A Problem restores the
mesh as built before its physics are set up, so a problem built after a moved one starts
from the original geometry; a rejected step puts the accepted geometry back.
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
        jump: dc, the amount absorbed per volume the front sweeps [mol m^-3]; > 0: the domain
            grows where the flux leaves it through the front (melting: the liquid gains what
            the front absorbs), < 0: it shrinks (vacancies annihilated at a metal's
            collector remove lattice sites: dc = -(1 / Omega - c_eq)).
        fixed: facet regions or interfaces "a|b" that do not move.
        slide: facet regions made of planes normal to coordinate axes whose nodes move only
            along them (the normal component held, e.g. the side walls of a cell), or
            "auto": every facet region on the moving mesh's boundary (other than the front
            and the fixed ones) whose facets are all such planes. The nodes of other
            boundaries move with the extension.
        rigid: the front moves as one piece with its mean normal velocity (the total
            swept-volume rate over its area): a plate pressed against the material (a
            metal's current collector); False: each node with its own flux (a free
            phase boundary).
        rest: what the rest of the moving mesh's boundary (not the front, fixed or slide)
            does: "free" (moves with the extension) or "fixed" (held: pores and voids of a
            metal at its interface keep their shape, and the metal's volume changes only
            where the front sweeps).
        extra_rate: None or a callable (collective) returning a swept-volume rate [m^3/s
            (m^2/s in 2D); > 0 grows] the front takes on besides the flux, spread evenly
            over it (the metal that creep moves into interface voids: the collector
            follows it).
    """

    small_signal_refusal = ("the mesh motion (ALE) is not linearised; measure on a fixed "
                            "geometry")

    name = "front"
    step_hook = True
    linear = True
    time_dependent = True

    def __init__(self, diffusion, front: str, jump: float, fixed=(), slide=(),
                 rigid: bool = False, rest: str = "free", extra_rate=None):
        if not (np.isfinite(jump) and jump != 0):
            raise MaterialError(f"moving front: jump must be a nonzero number [mol m^-3], got "
                                f"{jump}")
        self.diff, self.front, self.jump = diffusion, front, float(jump)
        self.fixed = tuple(fixed)
        self.rigid = bool(rigid)
        if rest not in ("free", "fixed"):
            raise MaterialError(f"moving front: rest must be 'free' or 'fixed', got {rest!r}")
        self.rest = rest
        self.extra_rate = extra_rate
        self.slide = slide if slide == "auto" else tuple(slide)

    def setup(self, domain, time) -> None:
        self.domain, self.time = domain, time
        mesh, d = domain.mesh, self.diff
        if d.degree != 1:
            raise MaterialError("moving front: the Diffusion must be P1 (degree 1)")
        if mesh.geometry.cmaps[0].degree != 1:
            raise MaterialError("moving front: needs a straight-sided mesh (geometry order 1)")
        if self.front not in d._dirichlet_dofs:
            raise MaterialError(f"moving front: {self.front!r} must be a Dirichlet region of "
                                f"the diffusion (the melting / equilibrium value there)")
        domain.reference_geometry()  # the mesh as built, before anything moves it
        gdim, fdim = domain.gdim, domain.tdim - 1
        S = d.V
        msh = S.mesh  # the whole mesh, or the Diffusion's region as a submesh
        self._msh = msh
        self._nodes = (np.arange(mesh.geometry.x.shape[0]) if d.sub is None
                       else domain.parent_nodes(msh))
        em = d.entity_maps or None
        self.W = dolfinx.fem.functionspace(msh, ("Lagrange", 1, (gdim,)))
        self.w = dolfinx.fem.Function(self.W, name="mesh_velocity")  # [m/s]
        # P1 geometry nodes <-> P1 dofs (same local vertex order per cell)
        self._g2d = np.empty(msh.geometry.x.shape[0], dtype=np.int64)
        self._g2d[msh.geometry.dofmaps[0].ravel()] = S.dofmap.list.ravel()
        self._x_acc = msh.geometry.x.copy()  # geometry of the last accepted state
        self._t_acc = 0.0
        self._v = None  # nodal velocity vectors (extended) of the last accepted state
        self._lag = None  # the displacement the front owes from the last step
        self.owed_volume = 0.0  # its volume [m^3 (m^2 in 2D)], > 0: the domain still grows
        q = ufl.TestFunction(S)
        n = ufl.FacetNormal(mesh)
        ds = domain.ds(self.front)
        self._front_dofs = d._dirichlet_dofs[self.front]
        self._m = dolfinx.fem.form(q * d._w * ds, entity_maps=em)  # lumped measure per node
        self._n = [dolfinx.fem.form(n[i] * q * d._w * ds, entity_maps=em)
                   for i in range(gdim)]
        self._pos = [dolfinx.fem.form(ufl.SpatialCoordinate(mesh)[i] * d._w * ds)
                     for i in range(gdim)]
        self._area = dolfinx.fem.form(1.0 * d._w * ds)
        one = dolfinx.fem.Constant(mesh, PETSc.ScalarType(1.0))
        self._volume = dolfinx.fem.form(one * d._w * d._dx)
        # harmonic extension of the front displacement (one Laplace solve per component)
        u1, v1 = ufl.TrialFunction(S), ufl.TestFunction(S)
        self._ext_a = dolfinx.fem.form(ufl.inner(ufl.grad(u1), ufl.grad(v1)) * ufl.dx)
        self._ext_L = dolfinx.fem.form(dolfinx.fem.Constant(msh, PETSc.ScalarType(0.0))
                                       * v1 * ufl.dx)
        msh.topology.create_connectivity(0, domain.tdim)
        fixed = dolfinx.fem.locate_dofs_topological(S, 0, self._region_vertices(self.fixed))
        slide = self._slide_facets()
        if self.rest == "fixed":  # every other boundary facet of the moving mesh is held
            msh.topology.create_connectivity(fdim, domain.tdim)
            taken = np.concatenate([self._sub_facets(self.front), *slide.values()])
            rest = np.setdiff1d(dolfinx.mesh.exterior_facet_indices(msh.topology), taken)
            fixed = np.union1d(fixed, dolfinx.fem.locate_dofs_topological(S, fdim, rest))
        # the front's own nodes follow the front (a node it shares with a held boundary too)
        self._fixed_dofs = np.setdiff1d(fixed, self._front_dofs).astype(np.int32)
        self._g = dolfinx.fem.Function(S)
        self._bcs = [dolfinx.fem.dirichletbc(self._g, self._front_dofs),
                     dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), self._fixed_dofs, S)]
        # slide walls: the normal component held (per axis: the extension is per component)
        self._slide_bcs = [[] for _ in range(gdim)]
        for i, fs in slide.items():
            dofs = dolfinx.fem.locate_dofs_topological(S, fdim, fs)
            self._slide_bcs[i].append(dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs, S))
        self._ext_u = dolfinx.fem.Function(S)
        if self.rigid:
            self._check_flat()
        u, vt = d.field.u, ufl.TestFunction(S)
        # the ALE term of the Diffusion residual, with its own scaling
        # and the geometric conservation law: the storage term is assembled on the new mesh,
        # so the old state is counted over the new measures; -dt ddt(u) div(w) puts it back
        # (with backward Euler an exact discrete balance of the Diffusion's moles where the
        # displacement varies along one direction, e.g. a flat front moving along its normal;
        # otherwise the det(grad d) part of the cells' volume change is left, O(|grad d|^2)
        # per step), written with the step's displacement d = dt w so that the term has the BDF
        # form of a storage term (the linear stepper splits those by their history levels).
        # At the vertices: the total is exact for P1 x P0, and a Dirichlet node (u = u_n,
        # the front's) gets nothing, so the front's flux is the plain reaction.
        self._disp = dolfinx.fem.Function(self.W, name="mesh_displacement")  # [m]
        wt, dsp = d._w, self._disp
        ddiv = (ufl.div(dsp) * wt + ufl.dot(dsp, ufl.grad(wt))
                if not isinstance(wt, int | float) else ufl.div(dsp) * wt)
        dxv = d._dx.reconstruct(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
        advect, gcl = ufl.dot(self.w, ufl.grad(u)) * wt, time.ddt(d.field) * ddiv
        self._coupling = {d.field.name: -d._s * (advect * vt * d._dx + gcl * vt * dxv)}
        # their total [mol]: what the nodes' own (mesh-frame) storage change counts beyond
        # the material's (a ledger of the Diffusion subtracts it)
        self._ale_form = dolfinx.fem.form(d.material.c_max * (advect * d._dx + gcl * dxv),
                                          entity_maps=em)
        self._ale_total = 0.0

    def _check_flat(self) -> None:
        """A rigid front moves as a plate: all its facets must share one normal (collective)."""
        from femcell.physics.mechanics import facet_normal_axes

        domain = self.domain
        facets = self._sub_facets(self.front)
        axes = facet_normal_axes(self._msh, facets, domain.size(), domain.gdim)
        owned = facets < self._msh.topology.index_map(domain.tdim - 1).size_local
        mine = set(axes[owned].tolist())
        found = set().union(*domain.comm.allgather(mine))
        if len(found) != 1 or -1 in found:
            raise MaterialError(f"moving front {self.front!r}: a rigid front (a plate) must be "
                                "one plane normal to a coordinate axis")

    def _sub_facets(self, region: str) -> np.ndarray:
        """Facet indices of a facet region on the moving mesh."""
        d = self.diff
        return (d.sub.facets(self.domain, region) if d.sub is not None
                else self.domain.facets(region))

    def _region_vertices(self, regions) -> np.ndarray:
        """Vertices of the moving mesh on facet regions or interfaces "a|b"."""
        domain, d = self.domain, self.diff
        mesh, fdim = domain.mesh, domain.tdim - 1
        mesh.topology.create_connectivity(fdim, 0)
        out = [np.zeros(0, np.int32)]
        for name in regions:
            if "|" in name:
                a, b = name.split("|", 1)
                facets = domain.interface_facets(domain.interface(a, b))
            else:
                facets = domain.facets(name)
            verts = dolfinx.mesh.compute_incident_entities(mesh.topology, facets, fdim, 0)
            if d.sub is not None:
                verts = np.asarray(d.sub.vertex_map.sub_topology_to_topology(verts, True))
                verts = verts[verts >= 0]
            out.append(np.asarray(verts, dtype=np.int32))
        return np.unique(np.concatenate(out)).astype(np.int32)

    def _slide_facets(self) -> dict[int, np.ndarray]:
        """{axis: facets of the moving mesh whose nodes keep that coordinate} (collective)."""
        from femcell.physics.mechanics import facets_by_normal_axis

        domain = self.domain
        out: dict[int, list] = {}
        auto = self.slide == "auto"
        names = ([r for r in domain.facet_regions if r != self.front and r not in self.fixed]
                 if auto else self.slide)
        for region in names:
            facets = self._sub_facets(region)
            if auto and not domain.comm.allreduce(int(facets.size), op=MPI.SUM):
                continue  # not on the moving mesh
            try:
                axes = facets_by_normal_axis(domain, region, facets, domain.size(),
                                             mesh=self._msh)
            except MaterialError:
                if auto:  # curved or oblique: moves with the extension
                    continue
                raise
            for i, fs in axes.items():
                out.setdefault(i, []).append(fs)
        if auto:  # boundary facets in no region: each one that is an axis plane slides (a
            # region's facets towards another region too: those are `fixed`, held anyway)
            from femcell.physics.mechanics import facet_normal_axes

            msh, fdim = self._msh, domain.tdim - 1
            msh.topology.create_connectivity(fdim, domain.tdim)
            tags = self.diff.sub.facet_tags if self.diff.sub is not None else domain.facet_tags
            bare = np.setdiff1d(dolfinx.mesh.exterior_facet_indices(msh.topology),
                                tags.indices).astype(np.int32)
            axis = facet_normal_axes(msh, bare, domain.size(), domain.gdim)
            for i in range(domain.gdim):
                out.setdefault(i, []).append(bare[axis == i])
        return {i: np.unique(np.concatenate(f)).astype(np.int32) for i, f in out.items()}

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
        comm = self.domain.comm
        # the swept-volume rate of the front and its lumped area (sum of m_i v_i, m_i)
        extra = float(self.extra_rate()) if self.extra_rate is not None else 0.0
        self._rate_area = (comm.allreduce(float(np.sum(flux[owned])) / self.jump, op=MPI.SUM)
                           + extra, comm.allreduce(float(np.sum(m[dofs][owned])), op=MPI.SUM))
        if self.rigid:  # one normal speed for the whole front
            vn = np.full_like(vn, self._rate_area[0] / self._rate_area[1])
        elif extra:
            vn = vn + extra / self._rate_area[1]
        self._vn_sum = (float(vn[owned].sum()), int(owned.sum()))  # for quantities
        self._nn = nn = nv[dofs] / np.linalg.norm(nv[dofs], axis=1)[:, None]
        out = np.zeros((r.size, self.domain.gdim))
        out[dofs] = vn[:, None] * nn
        return out

    def _extend(self, *fronts: np.ndarray) -> list[np.ndarray]:
        """Harmonic extensions of front-node vectors (rows per P1 dof, zero off the front) to
        every dof: one factorisation per component for all of them (collective)."""
        from dolfinx.fem.petsc import apply_lifting, assemble_matrix, assemble_vector, set_bc

        outs = [np.zeros_like(f) for f in fronts]
        comm = self.domain.comm
        for i in range(self.domain.gdim):
            bcs = self._bcs + self._slide_bcs[i]
            A = assemble_matrix(self._ext_a, bcs=bcs)
            A.assemble()
            ksp = PETSc.KSP().create(comm)
            ksp.setOperators(A)
            ksp.setType("preonly")
            ksp.getPC().setType("lu")
            ksp.getPC().setFactorSolverType("mumps")
            x = A.createVecRight()
            for front, out in zip(fronts, outs, strict=True):
                self._g.x.array[:] = front[:, i]
                b = assemble_vector(self._ext_L)
                apply_lifting(b, [self._ext_a], bcs=[bcs])
                b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
                set_bc(b, bcs)
                ksp.solve(b, x)
                if ksp.getConvergedReason() <= 0:
                    raise MaterialError(f"moving front {self.front!r}: the mesh-motion solve "
                                        f"failed (reason {ksp.getConvergedReason()})")
                n = self._ext_u.x.index_map.size_local
                self._ext_u.x.array[:n] = x.array_r[:n]
                self._ext_u.x.scatter_forward()
                out[:, i] = self._ext_u.x.array
                b.destroy()
            for obj in (x, ksp, A):
                obj.destroy()
        return outs

    def _place(self, x_moving: np.ndarray) -> None:
        """Put the moving mesh's nodes at x_moving, the parent's and every submesh's with
        them, and stop if an element inverted."""
        self.domain.mesh.geometry.x[self._nodes] = x_moving
        self.domain.sync_geometry()
        self._check_cells()

    def _move_to(self, t: float) -> None:
        """Geometry at time t: the accepted geometry moved by the extended displacement
        v (t - t_acc); the mesh velocity w = v (idempotent for repeated tries of a step)."""
        if self._v is None:
            self._v, = self._extend(self._front_velocity())
        dt = t - self._t_acc
        gdim = self.domain.gdim
        w = self._v + self._lag / dt if self._lag is not None else self._v
        x = self._x_acc.copy()
        x[:, :gdim] += dt * w[self._g2d]
        self.w.x.array[:] = w.ravel()
        self.w.x.scatter_forward()
        self._disp.x.array[:] = dt * self.w.x.array
        self._place(x)

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
        self.domain.restore_geometry()
        self._x_acc = self._msh.geometry.x.copy()
        self._v = self._lag = None
        self.owed_volume = 0.0
        self._ale_total = 0.0
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
        """The accepted geometry, the front velocity v_n of the new state and the volume the
        step owes, dt_n (Q_n - Q_(n-1)) with Q the swept-volume rate: the step moved the
        front with the previous state's velocity (plus the previous lag). The owed volume
        goes into the next step's motion as a uniform normal displacement (the mean mode
        only: a per-node correction extrapolates each node's velocity and makes the
        stiff node-to-node modes unstable). Both are extended harmonically."""
        t = float(self.time.t.value)
        self._ale_total += (t - self._t_acc) * self.domain.comm.allreduce(
            dolfinx.fem.assemble_scalar(self._ale_form), op=MPI.SUM)
        rate_prev = getattr(self, "_rate_area", (0.0, 1.0))[0]
        vf = self._front_velocity()
        if self._v is not None and t > self._t_acc:
            rate, area = self._rate_area
            lag = np.zeros_like(vf)
            self.owed_volume = (t - self._t_acc) * (rate - rate_prev)
            lag[self._front_dofs] = self.owed_volume / area * self._nn
            self._v, self._lag = self._extend(vf, lag)
        else:
            self._v, = self._extend(vf)
        self._x_acc = self._msh.geometry.x.copy()
        self._t_acc = t

    def step_limit(self) -> float:
        """The explicit front's step limit [s]: a node moves at most half the height of its
        element per step (a node ahead of its neighbours sees a weaker gradient and slows;
        explicitly that correction overshoots once v dt exceeds about twice the height). A
        rigid front has no node-to-node mode: no limit."""
        if self.rigid or self._v is None:
            return float("inf")
        comm = self.domain.comm
        vmax = comm.allreduce(float(np.max(np.linalg.norm(self._v, axis=1)))
                              if self._v.size else 0.0, op=MPI.MAX)
        if vmax == 0.0:
            return float("inf")
        return 0.5 * comm.allreduce(self._front_height(), op=MPI.MIN) / vmax

    def _front_height(self) -> float:
        """The smallest height (d x volume / facet measure) of the elements on the front's
        facets on this rank [m] (inf without any)."""
        msh, tdim = self._msh, self.domain.tdim
        facets = self._sub_facets(self.front)
        if not facets.size:
            return float("inf")
        msh.topology.create_connectivity(tdim - 1, tdim)
        f2c = msh.topology.connectivity(tdim - 1, tdim)
        cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int32)
        x = msh.geometry.x[:, :self.domain.gdim]
        cx = x[msh.geometry.dofmaps[0][cells]]  # (n, d + 1, gdim)
        fx = x[dolfinx.mesh.entities_to_geometry(msh, tdim - 1, facets)]  # (n, d, gdim)
        e = cx[:, 1:] - cx[:, :1]
        vol = np.sqrt(np.abs(np.linalg.det(e @ np.swapaxes(e, 1, 2))))
        f = fx[:, 1:] - fx[:, :1]
        area = np.sqrt(np.abs(np.linalg.det(f @ np.swapaxes(f, 1, 2)))) if tdim > 1 else 1.0
        # simplex: volume = vol / d!, facet = area / (d - 1)!: height = d V / A = vol / area
        return float(np.min(vol / area))

    def on_reject(self) -> None:
        """The rejected step's trial geometry goes: back to the accepted one."""
        if self._v is not None:
            self._place(self._x_acc)

    def restore_state(self, state: dict) -> None:
        raise MaterialError(f"moving front {self.front!r}: a restart would start from the "
                            "initial geometry; runs with a moving front cannot be restarted yet")

    # ---------------------------------------------------------------- outputs
    def quantities(self) -> dict[str, float]:
        """front_position_<axis>: mean coordinate of the front [m]; front_area [m^2 (m in
        2D)]; front_velocity: mean normal velocity of the last accepted state [m/s] (> 0:
        advancing along the outward normal); moving_volume: the volume of the Diffusion's
        region [m^3 (m^2 in 2D)]; <field>_mesh_motion_total: the sum over the steps of
        dt (int w . grad c + the conservation term) [mol], the part of the nodes' storage
        change that the mesh
        motion made (a ledger subtracts it from the Diffusion's store_change)."""
        comm = self.domain.comm
        area = comm.allreduce(dolfinx.fem.assemble_scalar(self._area), op=MPI.SUM)
        out = {f"front_position_{'xyz'[i]}": comm.allreduce(
            dolfinx.fem.assemble_scalar(f), op=MPI.SUM) / area for i, f in enumerate(self._pos)}
        out["front_area"] = area
        out[f"{self.diff.name}_mesh_motion_total"] = self._ale_total
        out["moving_volume"] = comm.allreduce(dolfinx.fem.assemble_scalar(self._volume),
                                              op=MPI.SUM)
        if self._v is None:  # the initial state: its own flux
            self._front_velocity()
        # the signed normal velocity of the last evaluation
        tot = comm.allreduce(self._vn_sum[0], op=MPI.SUM)
        cnt = comm.allreduce(self._vn_sum[1], op=MPI.SUM)
        out["front_velocity"] = tot / max(cnt, 1)
        return out
