"""Phase-field fracture (PHYSICS.md section 4): AT1 / AT2 with an energy split,
irreversibility as bounds and pressure on the diffuse crack faces.

Energy of the displacement u and the damage d in [0, 1]:

    Pi(u, d) = int g(d) psi+(eps_el) + psi-(eps_el) dx + int p u . grad d dx
               + Gc / c_w int (w(d) / l + l |grad d|^2) dx,
    g(d) = (1 - d)^2 + k,   AT1: w = d, c_w = 8/3;   AT2: w = d^2, c_w = 2,

with psi+- from the split: "none" (psi+ = psi), "voldev" (Amor: volumetric expansion and the
deviatoric part crack, compression does not), "spectral" (Miehe: positive principal
strains; every mode but plane stress) or "hybrid" (Ambati, Gerasimov and De Lorenzis 2015:
the stress is degraded isotropically, g(d) sigma, so the displacement problem stays linear
for a given damage - what volume control needs - while only the spectral psi+ drives the
damage, so compression does not break the body). The term p u . grad d is the work of
a pressure p on the diffuse crack faces (Bourdin, Chukwuozie): -int u . grad d dx is the
crack volume, so a pressurised crack opens and grows. The mechanics physics owns u; this
physics adds (g(d) - 1) sigma+ : eps(v) + p v . grad d to its residual and solves d with
the bounds d_previous <= d <= 1 (SNES vinewtonrsls): a crack never heals, 0 <= d <= 1 at
every node. Cells of an initial crack band (`initial_cracks`, at least one element row
thick: a crack on a single node line is far too stiff) start at d = 1 with lower bound 1.

A diffuse crack on a mesh of size h dissipates more than Gc per unit length: the effective
toughness is Gc (1 + 3h / (8 l)) for AT1 and Gc (1 + h / (2 l)) for AT2 (Bourdin, Francfort,
Marigo 2008); `effective_toughness` reports it with h the smallest cell size.
"""

from __future__ import annotations

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.fields import Field
from femcell.materials.core import MaterialError
from femcell.physics.base import Physics, time_function
from femcell.physics.cracks import crack_shape

MODELS = ("AT1", "AT2")
SPLITS = ("none", "voldev", "spectral", "hybrid")


def _pos(x):
    return 0.5 * (x + abs(x))


def _neg(x):
    return 0.5 * (x - abs(x))


def principal_strains(eps, three_d: bool) -> tuple:
    """Principal values of a symmetric 3x3 UFL strain tensor (differentiable with ufl.diff).

    Planar / axisymmetric / spherical strains (three_d False) have eps_xz = eps_yz = 0: the
    in-plane pair from the 2x2 block and eps_zz. In 3D the trigonometric (Cardano) form
    e_k = tr/3 + 2 p cos(phi + 2 pi k / 3), p = sqrt(|dev|^2 / 6), cos(3 phi) =
    det(dev / p) / 2, with phi held where cos(3 phi) is within 1e-10 of +-1 and p
    regularised: at repeated principal values the held derivative is still the exact
    gradient of a symmetric function of them (sum f(e_k)),
    and at p = 0 (hydrostatic strain) every e_k = tr/3 with gradient I/3.
    """
    if not three_d:
        a, b, c = eps[0, 0], eps[1, 1], 0.5 * (eps[0, 1] + eps[1, 0])  # symmetric gradient
        mean = 0.5 * (a + b)
        rad = ufl.sqrt(0.25 * (a - b) ** 2 + c * c + 1e-30)
        return mean + rad, mean - rad, eps[2, 2]
    mean = ufl.tr(eps) / 3
    dev = eps - mean * ufl.Identity(3)
    p = ufl.sqrt(ufl.inner(dev, dev) / 6 + 1e-30)
    r = ufl.det(dev / p) / 2
    cut = 1.0 - 1e-10  # acos' is infinite at +-1: hold phi there (exact, see above)
    phi = ufl.conditional(ufl.gt(r, cut), 0.0, ufl.conditional(
        ufl.lt(r, -cut), np.pi / 3, ufl.acos(r) / 3))
    return tuple(mean + 2 * p * ufl.cos(phi + 2 * np.pi * k / 3) for k in range(3))


def facet_sample_points(domain, region: str) -> np.ndarray:
    """Points [m] sampling a named facet region (its facets' vertices and midpoints), the
    same (n, gdim) array on every rank (collective): the weak surfaces of
    `PhaseFieldFracture(weak=...)`.

    Raises:
        MaterialError: no such facet region.
    """
    if region not in domain.facet_regions:
        raise MaterialError(f"fracture weak surfaces: unknown facet region {region!r}; known: "
                            f"{', '.join(sorted(domain.facet_regions))}")
    return sample_points_of_facets(domain, domain.facets(region))


def sample_points_of_facets(domain, facets: np.ndarray) -> np.ndarray:
    """Vertices and midpoints [m] of local facets (indices), gathered from every rank into
    the same (n, gdim) array (collective)."""
    mesh = domain.mesh
    fdim = mesh.topology.dim - 1
    gdim = domain.gdim
    mesh.topology.create_connectivity(fdim, 0)  # on every rank (collective)
    if facets.size:
        geo = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)
        xyz = mesh.geometry.x[geo][..., :gdim]
        local = np.vstack([xyz.reshape(-1, gdim), xyz.mean(axis=1)])
    else:
        local = np.zeros((0, gdim))
    return np.vstack(domain.comm.allgather(local))


class PhaseFieldFracture(Physics):
    """AT1/AT2 phase-field fracture acting on an Elasticity physics.

    Args:
        mechanics: the femcell.physics.mechanics.Elasticity whose stiffness is degraded.
        toughness: Gc [J m^-2] (critical energy release rate).
        length: regularisation length l [m].
        model: "AT1" or "AT2".
        split: "none", "voldev" or "spectral" (see the module docstring).
        residual_stiffness: k in g(d) = (1 - d)^2 + k (keeps a broken body solvable).
        pressure: pressure on the crack faces [Pa], a float or a function of time [s]
            (None: no pressure term). A volume-controlled crack sets it through
            `set_pressure` (femcell.solvers.staggered with `volume_control`).
        stack_stress: compressive stress sigma_n normal to the crack plane [Pa] (> 0 in
            compression, e.g. the stack pressure in the plane of an electrolyte) that
            shields a pressurised crack: by superposition (LEFM, a uniform field) the faces
            are loaded by p - sigma_n, so K_I = Y (p - sigma_n) sqrt(pi a). The uniform
            compressive field itself is not added to the body (it would not drive damage
            with a split, and without one it would spread the band: split = "none" needs
            this form). Needs a crack-face pressure or volume control.
        weak: None or (points, ratio, half_width): a lower toughness ratio * Gc in every cell
            whose midpoint lies within half_width [m] of one of `points` (an (n, gdim) array
            [m] sampling weak surfaces, e.g. the grain boundaries: `facet_sample_points`),
            Gc elsewhere: intergranular cracking. A crack along a weak surface sees
            ratio * Gc when the band holds its damage profile (half_width >= 2 l for AT1).
        initial_cracks: segments ((x0, y0[, z0]), (x1, y1[, z1])) [m], or in 3D planar
            flaws {start, direction, length, width, span, shape} (femcell.physics.cracks);
            nodes within `crack_half_width` of a crack start broken (d = 1, lower bound 1).
        crack_half_width: half width of the initial crack band [m] (default 1.01 h, h the
            smallest cell size: a band two element rows thick).
        intact: facet regions held at d = 0 (e.g. loading grips: a crack centred on a free
            boundary costs half the surface energy, so a uniform bar would break there).
        cracking_region: None (every cell may break) or the cell region that cracks, e.g. the
            electrolyte between metal electrodes: the driving energy, the degradation and the
            crack-face pressure act on its cells only, so no other cell breaks or softens.
            The surface energy (the regularisation Gc / c_w (w / l + l |grad d|^2)) runs over
            every cell: a damage band in the region along its interface with another material
            costs its full Gc, as in the bulk (were the interface a free boundary of the phase
            field, half the band would lie outside and cost nothing: a crack along it would
            break at 1 / sqrt(2) of the toughness). The damage decays within 2 l into the other
            cells, which never soften.
        j_integral: None or (direction, layer [m]): report the energy release rate of a
            crack growing along `direction` (a gdim-vector) as the G-theta domain integral
            (the J-integral in domain form, Destuynder / Li-Shih-Needleman)
            G = int sigma : (grad u grad theta) - psi div theta dx, theta = q direction with
            q = 1 inside the body and falling linearly to 0 over `layer` at the faces of its
            bounding box (a rectangular body: the integral then runs around every crack tip
            inside). sigma and psi are the degraded ones. 2D planar only, one material; no
            concentration eigenstrain, body force, anchor, creep or crack pressure
            (refused). J m^-2.
        name: field name.
    """

    step_hook = True
    linear = False
    snes_options = {"snes_rtol": 1e-9, "snes_atol": 1e-10, "snes_max_it": 30}

    def __init__(self, mechanics, *, toughness: float, length: float, model: str = "AT1",
                 split: str = "voldev", residual_stiffness: float = 1e-6, pressure=None,
                 stack_stress: float = 0.0, initial_cracks=(),
                 crack_half_width: float | None = None, j_integral=None, intact=(),
                 weak=None, cracking_region: str | None = None, name: str = "d"):
        if model not in MODELS:
            raise MaterialError(f"fracture model {model!r}: one of {', '.join(MODELS)}")
        if split not in SPLITS:
            raise MaterialError(f"fracture split {split!r}: one of {', '.join(SPLITS)}")
        if not (toughness > 0 and np.isfinite(toughness)):
            raise MaterialError(f"fracture toughness Gc must be > 0 J/m^2, got {toughness}")
        if not (length > 0 and np.isfinite(length)):
            raise MaterialError(f"fracture length l must be > 0 m, got {length}")
        if not 0 <= residual_stiffness < 1:
            raise MaterialError(f"fracture residual_stiffness must be in [0, 1), got "
                                f"{residual_stiffness}")
        self.mech = mechanics
        self.gc = float(toughness)
        self.ell = float(length)
        self.model = model
        self.split = split
        self.k_res = float(residual_stiffness)
        self.pressure_fn = None if pressure is None else time_function(pressure)
        if not np.isfinite(stack_stress):
            raise MaterialError(f"fracture stack_stress must be finite, got {stack_stress}")
        self.stack_stress = float(stack_stress)
        self.weak = None
        if weak is not None:
            pts, ratio, hw = weak
            pts = np.asarray(pts, dtype=float)
            if not (0 < ratio <= 1 and hw > 0 and np.isfinite(hw)):
                raise MaterialError(f"fracture weak surfaces: toughness ratio must be in (0, 1] "
                                    f"and half width > 0 m, got {ratio}, {hw}")
            if pts.ndim != 2 or pts.shape[0] == 0:
                raise MaterialError("fracture weak surfaces: no points (an empty facet "
                                    "region?)")
            self.weak = (pts, float(ratio), float(hw))
        self.initial_cracks = [dict(c) if isinstance(c, dict) else tuple(map(tuple, c))
                               for c in initial_cracks]
        self._half_width = crack_half_width
        self.intact = tuple(intact)
        self.cracking_region = cracking_region
        self.j_integral = None
        if j_integral is not None:
            direction, layer = j_integral
            e = np.asarray(direction, dtype=float).ravel()
            if not (np.all(np.isfinite(e)) and np.linalg.norm(e) > 0):
                raise MaterialError(f"fracture.j_integral.direction = {direction!r}: must be a "
                                    f"nonzero vector")
            if not (layer > 0 and np.isfinite(layer)):
                raise MaterialError(f"fracture.j_integral.layer must be > 0 m, got {layer}")
            if pressure is not None:
                raise MaterialError("fracture.j_integral: not with a crack-face pressure (the "
                                    "G-theta integral here has no pressure term)")
            self.j_integral = (e / np.linalg.norm(e), float(layer))
        self.name = name
        self.c_w = 8.0 / 3.0 if model == "AT1" else 2.0
        self.time_dependent = self.pressure_fn is not None
        # g(d) sigma(u) and p v . grad d are affine in u without a split (or "hybrid", whose
        # stress is degraded isotropically)
        self.coupling_affine = split in ("none", "hybrid")

    # ------------------------------------------------------------------ setup
    def setup(self, domain, time) -> None:
        mech = self.mech
        if mech.mode == "plane_stress" and self.split != "none":
            raise MaterialError("fracture: the energy split needs plane strain, axisymmetric, "
                                "spherical or 3d mechanics (not plane stress); use split = "
                                "'none'")
        if self.split != "none" and not mech.isotropic:
            raise MaterialError(f"fracture: split {self.split!r} needs isotropic materials; use "
                                f"split = 'none' for anisotropic stiffness")
        self.domain, self.time = domain, time
        mesh = domain.mesh
        self.h_min = self._min_cell_size()
        # the active-set Newton moves the edge of the damaged zone by about a cell per
        # iteration: relaxing a crack band into its profile (half width 2 l for AT1) takes
        # ~2 l / h iterations, so a fixed cap fails on fine meshes (30 failed at l/h = 16)
        self.snes_options = {**type(self).snes_options,
                             "snes_max_it": int(max(30, 30 + 4 * self.ell / self.h_min))}
        V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
        self.V = V
        self.field = Field.create(self.name, V, levels=0)  # quasi-static
        self.fields = [self.field]
        self.lower = dolfinx.fem.Function(V, name=f"{self.name}_lower")
        self._p = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
        self._sn = dolfinx.fem.Constant(mesh, PETSc.ScalarType(self.stack_stress))
        # driving energy, degradation and crack-face pressure: the cracking region's cells
        # only; the surface energy: every cell (see cracking_region)
        self._w = mech._w
        self._dx = mech._dx if self.cracking_region is None else domain.dx(self.cracking_region)
        n_int = 3 if domain.coordinates in ("axisymmetric", "spherical") else domain.tdim
        self._sd = dolfinx.fem.Constant(mesh, PETSc.ScalarType(
            self.ell / (self.gc * self.ell ** n_int)))
        self._crack_dofs = self._initial_crack_dofs()
        self._dbcs = []
        # the regularisation's cells: all of them (see cracking_region)
        self._dx_surface = mech._dx
        if self.cracking_region is not None:
            # a flaw drawn into another material starts broken in the region only (its
            # nodes on the region's boundary included)
            inside = dolfinx.fem.locate_dofs_topological(
                V, domain.tdim, domain.cells(self.cracking_region, include_ghosts=True))
            self._crack_dofs = np.intersect1d(self._crack_dofs, inside).astype(np.int32)
        for region in self.intact:
            dofs = dolfinx.fem.locate_dofs_topological(V, domain.tdim - 1,
                                                       domain.facets(region))
            hit = domain.comm.allreduce(int(np.isin(dofs, self._crack_dofs).sum()), op=MPI.SUM)
            if hit:
                raise MaterialError(f"fracture.intact: region {region!r} meets an initial "
                                    f"crack")
            self._dbcs.append(dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs, V))

        d = self.field.u
        q = ufl.TestFunction(V)
        u = mech.displacement()
        psi_p, psi_m, sig_p = self._split(u)
        self.psi_plus, self.psi_minus = psi_p, psi_m
        g = (1 - d) ** 2 + self.k_res
        if self.cracking_region is not None:
            # the degradation acts in the region only (a DG0 indicator): the damage that
            # decays into the other cells never softens them
            Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
            chi = dolfinx.fem.Function(Q)
            chi.x.array[:] = 0.0
            cells = domain.cells(self.cracking_region, include_ghosts=True)
            chi.x.array[Q.dofmap.list[cells].ravel()] = 1.0
            g = 1 + chi * (g - 1)
        dg = -2 * (1 - d)
        w, dw = (d, 1.0) if self.model == "AT1" else (d * d, 2 * d)
        w_ = self._w
        gc, ell, cw = self._toughness_field(), self.ell, self.c_w
        gradd = ufl.grad(d)
        F = dg * psi_p * q * w_ * self._dx + gc / cw * (
            dw * q / ell + 2 * ell * ufl.inner(gradd, ufl.grad(q))) * w_ * self._dx_surface
        # crack-face pressure (zero unless set: pressure or volume control), less the stack
        # stress that presses the faces closed (superposition)
        F += (self._p - self._sn) * ufl.inner(self._vec(u), ufl.grad(q)) * w_ * self._dx
        self._F = self._sd * F
        # terms added to the displacement residual (scaled as the mechanics residual)
        v = ufl.TestFunction(mech.V)
        eps_v = mech.strain_tensor(v)
        self._coupling = mech._s * (
            ((g - 1) * ufl.inner(sig_p, eps_v)
             + (self._p - self._sn) * ufl.inner(self._vec(v), gradd)) * w_ * self._dx)
        self.degradation = g
        isotropic = self.split in ("none", "hybrid")  # sig_p is the whole stress
        self._energy = (g * mech.strain_energy_density(u) if self.split == "hybrid"
                        else g * psi_p + psi_m)
        # what the mechanics reports: g sigma+ + sigma- (sigma- = sigma - sigma+)
        sig_full = g * sig_p if isotropic else g * sig_p + (mech.stress_tensor(u) - sig_p)
        mech.set_degraded(sig_full, self._energy)
        self._surface = (w / ell + ell * ufl.inner(gradd, gradd)) / cw
        self._dissipation = gc * self._surface
        self._volume = -ufl.inner(self._vec(u), gradd)
        if self.j_integral is not None:
            self._forms()  # checks the G-theta set-up now, not at the first step

    def _toughness_field(self):
        """Gc [J m^-2]: the number, or with weak surfaces a cell-wise (DG0) field."""
        if self.weak is None:
            return self.gc
        if getattr(self, "toughness_field", None) is not None:
            return self.toughness_field
        from scipy.spatial import cKDTree

        pts, ratio, hw = self.weak
        mesh = self.domain.mesh
        tdim = mesh.topology.dim
        imap = mesh.topology.index_map(tdim)
        cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
        mid = dolfinx.mesh.compute_midpoints(mesh, tdim, cells)[:, :pts.shape[1]]
        dist = cKDTree(pts).query(mid)[0] if cells.size else np.zeros(0)
        Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
        gc = dolfinx.fem.Function(Q, name="toughness")
        gc.x.array[:] = self.gc
        gc.x.array[dist <= hw] = ratio * self.gc
        owned = np.flatnonzero(dist[:imap.size_local] <= hw).astype(np.int32)
        comm = self.domain.comm
        self.weak_cells = comm.allreduce(int(owned.size), op=MPI.SUM)
        if not self.weak_cells:
            raise MaterialError(f"fracture weak surfaces: no cell lies within {hw:g} m of them")
        # a weak band on cells coarser than l is not a resolved phase field: it breaks at
        # loads far below its toughness (seen: a polycrystal plating run cracked 60 um at
        # 6 MPa with the band reaching the coarse mesh)
        h_weak = comm.allreduce(float(mesh.h(tdim, owned).max()) if owned.size else 0.0,
                                op=MPI.MAX)
        if h_weak > self.ell:
            raise MaterialError(f"fracture weak surfaces: cells up to {h_weak:.3g} m lie within "
                                f"the half width {hw:.3g} m of the weak facets, coarser than "
                                f"the length l = {self.ell:.3g} m (the phase field is not "
                                "resolved there); refine the mesh near the facets or narrow "
                                "half_width")
        self.toughness_field = gc
        return gc

    def _j_form(self):
        """The G-theta form (see `j_integral`), theta on P1 from the body's bounding box."""
        domain, mech = self.domain, self.mech
        if domain.coordinates != "cartesian" or domain.gdim != 2:
            raise MaterialError("fracture.j_integral: needs a 2D planar body (plane strain or "
                                "plane stress; in 3D the weight would vanish where the "
                                "front meets the faces)")
        e, layer = self.j_integral
        gdim = domain.gdim
        if e.size != gdim:
            raise MaterialError(f"fracture.j_integral.direction: needs {gdim} components, got "
                                f"{e.size}")
        if (mech.concentration is not None or mech.body_force is not None or mech.anchor
                or mech.creep):
            raise MaterialError("fracture.j_integral: not with eigenstrains from a "
                                "concentration, a body force, an anchor or creep (the "
                                "G-theta integral here has no terms for them)")
        if len(mech.materials) != 1:
            raise MaterialError("fracture.j_integral: needs one homogeneous material (an "
                                "interface crossed by the weight adds a term)")
        mesh = domain.mesh
        x = mesh.geometry.x[:, :gdim]
        lo = x.min(axis=0) if len(x) else np.full(gdim, np.inf)
        hi = x.max(axis=0) if len(x) else np.full(gdim, -np.inf)
        domain.comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
        domain.comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
        if 2 * layer >= float(np.min(hi - lo)):
            raise MaterialError(f"fracture.j_integral.layer = {layer:.3g} m: must be below "
                                f"half the body's smallest extent "
                                f"{float(np.min(hi - lo)):.3g} m")
        box = float(np.prod(hi - lo))
        if abs(domain.volume() - box) > 1e-6 * box:
            raise MaterialError("fracture.j_integral: needs a rectangular body (the weight "
                                "falls to 0 at the faces of its bounding box)")
        q = dolfinx.fem.Function(self.V, name="j_weight")
        q.interpolate(lambda y: np.clip(np.min(np.vstack(
            [(y[i] - lo[i]) / layer for i in range(gdim)]
            + [(hi[i] - y[i]) / layer for i in range(gdim)]), axis=0), 0.0, 1.0))
        theta = q * ufl.as_vector([float(v) for v in e])
        u = mech.displacement()
        sig = mech.stress_tensor()
        sig2 = ufl.as_matrix([[sig[i, j] for j in range(gdim)] for i in range(gdim)])
        psi = mech.strain_energy_density()
        G = (ufl.inner(sig2, ufl.dot(ufl.grad(u), ufl.grad(theta)))
             - psi * ufl.div(theta)) * self._w * self._dx
        return dolfinx.fem.form(G)

    def j_value(self) -> float:
        """The G-theta energy release rate (see `j_integral`) [J m^-2 planar] (collective)."""
        if "j" not in self._forms():
            raise MaterialError("fracture: no j_integral was requested")
        return self.domain.comm.allreduce(
            dolfinx.fem.assemble_scalar(self._forms()["j"]), op=MPI.SUM)

    def _vec(self, u):
        return u if self.domain.gdim > 1 else ufl.as_vector([u])

    def _min_cell_size(self) -> float:
        mesh = self.domain.mesh
        tdim = self.domain.tdim
        n = mesh.topology.index_map(tdim).size_local
        h = mesh.h(tdim, np.arange(n, dtype=np.int32)) if n else np.array([np.inf])
        return self.domain.comm.allreduce(float(np.min(h)), op=MPI.MIN)

    def _initial_crack_dofs(self) -> np.ndarray:
        """DOFs (local, incl. ghosts) within the half width of an initial crack."""
        x = self.V.tabulate_dof_coordinates()
        b = self._half_width if self._half_width is not None else 1.01 * self.h_min
        self.crack_half_width = b
        self.crack_shapes = [crack_shape(c, self.domain.gdim) for c in self.initial_cracks]
        hit = np.zeros(x.shape[0], dtype=bool)
        n_owned = self.V.dofmap.index_map.size_local
        for shape in self.crack_shapes:
            near = shape.near(x, b)
            count = self.domain.comm.allreduce(int(near[:n_owned].sum()), op=MPI.SUM)
            if count == 0:
                raise MaterialError(f"initial crack {shape.describe()}: no mesh node within "
                                    f"{b:.3g} m of it (outside the mesh, or a half width "
                                    f"below the local node spacing: set crack_half_width)")
            hit |= near
        return np.flatnonzero(hit).astype(np.int32)

    def _split(self, u):
        """(psi+, psi-, sigma+ as 3x3 tensor) of the elastic strain of u [m]; "hybrid": the
        spectral psi+- that drive the damage and the whole stress, which is degraded."""
        mech = self.mech
        if self.split == "none":
            psi = mech.strain_energy_density(u)
            return psi, 0.0, mech.stress_tensor(u)
        eps = ufl.variable(mech.elastic_strain_tensor(u))
        lam, mu = mech.lam, mech.mu
        tr = ufl.tr(eps)
        if self.split == "voldev":
            K = lam + 2.0 * mu / 3.0
            dev = ufl.dev(eps)
            psi_p = 0.5 * K * _pos(tr) ** 2 + mu * ufl.inner(dev, dev)
            psi_m = 0.5 * K * _neg(tr) ** 2
        else:  # spectral (and hybrid): positive / negative principal strains
            es = principal_strains(eps, three_d=self.mech.mode == "3d")
            psi_p = 0.5 * lam * _pos(tr) ** 2 + mu * sum(_pos(e) ** 2 for e in es)
            psi_m = 0.5 * lam * _neg(tr) ** 2 + mu * sum(_neg(e) ** 2 for e in es)
        if self.split == "hybrid":
            return psi_p, psi_m, mech.stress_tensor(u)
        sig_p = ufl.diff(psi_p, eps)
        return psi_p, psi_m, sig_p

    def residuals(self) -> list:
        return [self._F]

    def dirichlet_bcs(self) -> list:
        return list(self._dbcs)

    def coupling_terms(self) -> dict:
        return {self.mech.name: self._coupling}

    def bounds(self) -> dict:
        return {self.name: (self.lower, 1.0)}

    # ------------------------------------------------------------------ time
    def initial_condition(self) -> None:
        d = self.field.u
        d.x.array[:] = 0.0
        d.x.array[self._crack_dofs] = 1.0
        d.x.scatter_forward()
        self.lower.x.array[:] = d.x.array
        self.update(0.0)

    def update(self, t: float) -> bool:
        if self.pressure_fn is not None:
            self._p.value = self.pressure_fn(t)
        return False

    def set_pressure(self, p: float) -> None:
        """Pressure on the crack faces [Pa] (volume control sets it per solve)."""
        self._p.value = p

    @property
    def pressure(self) -> float:
        return float(self._p.value)

    def on_accept(self) -> None:
        """Irreversibility: the accepted damage is the new lower bound."""
        self.lower.x.array[:] = self.field.u.x.array
        self.lower.x.scatter_forward()

    def checkpoint_state(self) -> dict:
        return {"pressure": self.pressure}

    def restore_state(self, state: dict) -> None:
        self.set_pressure(float(state.get("pressure", 0.0)))
        self.lower.x.array[:] = self.field.u.x.array

    # ------------------------------------------------------------------ results
    def _forms(self):
        if not hasattr(self, "_qforms"):
            w, dx = self._w, self._dx
            f = dolfinx.fem.form
            self._qforms = {"volume": f(self._volume * w * dx),
                            "surface": f(self._surface * w * self._dx_surface),
                            "dissipation": f(self._dissipation * w * self._dx_surface),
                            "energy": f(self._energy * w * dx)}
            if self.j_integral is not None:
                self._qforms["j"] = self._j_form()
        return self._qforms

    def crack_volume(self) -> float:
        """-int u . grad d dx [m^3; m^2 per unit depth in 2D planar] (collective)."""
        return self.domain.comm.allreduce(
            dolfinx.fem.assemble_scalar(self._forms()["volume"]), op=MPI.SUM)

    def crack_surface(self) -> float:
        """1/c_w int (w(d)/l + l |grad d|^2) dx: crack area [m^2] (length [m] per unit
        depth in 2D planar), not corrected for the mesh (collective)."""
        return self.domain.comm.allreduce(
            dolfinx.fem.assemble_scalar(self._forms()["surface"]), op=MPI.SUM)

    def effective_toughness(self, h: float | None = None) -> float:
        """Gc_eff [J m^-2] of the discretised crack (AT1: Gc (1 + 3h/(8l)), AT2:
        Gc (1 + h/(2l)))."""
        h = self.h_min if h is None else h
        c = 3.0 / 8.0 if self.model == "AT1" else 0.5
        return self.gc * (1 + c * h / self.ell)

    def quantities(self) -> dict[str, float]:
        comm = self.domain.comm
        forms = self._forms()
        surf = self.crack_surface()
        arr = self.field.u.x.array
        n = self.V.dofmap.index_map.size_local
        out = {f"{self.name}_max": comm.allreduce(float(arr[:n].max()) if n else -np.inf,
                                                 op=MPI.MAX),
               f"{self.name}_min": comm.allreduce(float(arr[:n].min()) if n else np.inf,
                                                 op=MPI.MIN),
               "crack_surface": surf,
               "crack_length": surf * self.gc / self.effective_toughness(),
               "crack_volume": self.crack_volume(),
               "crack_pressure": self.pressure,
               "dissipated_energy": comm.allreduce(
                   dolfinx.fem.assemble_scalar(forms["dissipation"]), op=MPI.SUM),
               "elastic_energy": comm.allreduce(dolfinx.fem.assemble_scalar(forms["energy"]),
                                                op=MPI.SUM)}
        if self.j_integral is not None:
            out["j_integral"] = self.j_value()
        return out

    def output_fields(self) -> dict:
        """damage, and with weak surfaces the cell-wise toughness Gc [J m^-2] (where the
        grain boundaries are)."""
        out = {"damage": (self.field.u, 1.0)}
        if self.weak is not None:
            out["toughness"] = (self._toughness_field(), 1.0)
        return out

    def describe(self) -> dict:
        return {"model": self.model, "split": self.split, "toughness_J_m2": self.gc,
                "length_m": self.ell, "residual_stiffness": self.k_res,
                "stack_stress_Pa": self.stack_stress,
                "smallest_cell_m": getattr(self, "h_min", None),
                "effective_toughness_J_m2": (self.effective_toughness()
                                             if hasattr(self, "h_min") else None),
                "initial_cracks_m": ([c.describe() for c in self.crack_shapes]
                                     if hasattr(self, "crack_shapes") else
                                     [c if isinstance(c, dict) else list(map(list, c))
                                      for c in self.initial_cracks]),
                "weak_surfaces": None if self.weak is None else {
                    "toughness_ratio": self.weak[1], "half_width_m": self.weak[2],
                    "points": len(self.weak[0]), "cells": getattr(self, "weak_cells", None)},
                "initial_crack_half_width_m": getattr(self, "crack_half_width", None),
                "intact_regions": list(self.intact),
                "cracking_region": self.cracking_region,
                "j_integral": None if self.j_integral is None else {
                    "direction": self.j_integral[0].tolist(), "layer_m": self.j_integral[1]}}
