"""Small-strain solid mechanics (PHYSICS.md section 4): elasticity with eigenstrain and
power-law creep.

    div sigma = 0,   sigma = C : (eps(u) - eps_0 - eps_cr),
    eps_0 = (alpha (T - T_0) + Omega (c - c_0) / 3) I       (thermal, chemical swelling),
    d eps_cr / dt = 3/2 A(T) (sigma_eq / sigma_0)^n s / sigma_eq   (Norton, metal regions),

with a stiffness C per region (isotropic E, nu or a 6x6 crystal stiffness rotated into the
lab frame per grain, with the same orientation data as the diffusion tensor). Modes: "3d",
"plane_strain", "plane_stress" (out-of-plane stresses condensed out), "axisymmetric" (x = r,
y = z, hoop strain u_r / r) and "spherical" (1D radial, hoop strains u / r). Strains and
stresses are handled as Voigt 6-vectors (xx, yy, zz, yz, xz, xy; engineering shears), so
every mode uses the same stiffness fields.

Creep is solved implicitly (backward Euler for eps_cr, Newton on (u, eps_cr) together), so
the update is stable for steps far beyond the relaxation time E / (A n sigma): the
viscoplastic return that a researcher needs for stack-pressure hold times of hours.

Scaling: the unknown is u / (STRAIN_REF L) with L half the domain size, and the residual is
divided by E_ref STRAIN_REF L^(n - 1) (n = 3 with an axisymmetric or spherical weight), so
the assembled system has O(1) entries whatever the units of the geometry.

The normal stress on a named facet region (`normal_stress`) is what other physics read as
the interface pressure (e.g. the stress-modified overpotential Omega p / F).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.fields import Field
from femcell.materials.core import MaterialError
from femcell.physics.base import Physics, time_function

ANCHOR = 1e-9  # relative stiffness of the weak foundation that holds a free body
STRAIN_REF = 1e-3  # displacement unknowns are u / (STRAIN_REF L): O(1) at strains of 1e-3
MODES = ("3d", "plane_strain", "plane_stress", "axisymmetric", "spherical")
_AXES = "xyz"


# ---------------------------------------------------------------------- boundary conditions
@dataclass(frozen=True)
class Displacement:
    """Prescribed displacement components on a facet region.

    Attributes:
        region: facet region name.
        components: {axis index or "x"/"y"/"z": value [m] (float or function of time [s])}.
    """

    region: str
    components: dict


@dataclass(frozen=True)
class DisplacementField:
    """Prescribed displacement vector u(x, t) on a facet region (every component).

    Attributes:
        region: facet region name.
        value: function (x, t) -> array (gdim, N) [m] of the points x (array (3, N) [m]) and
            the time t [s]. Not multiplied by the load factor: the function has t (in a
            quasi-static study t is the load factor).
    """

    region: str
    value: object


def k_field(*, K: float, youngs_modulus: float, poisson_ratio: float, tip, advance=(0.0, 0.0),
            direction=None, plane: str = "strain"):
    """The mode-I crack-tip displacement (femcell.analytic_mechanics.mode1_displacement) of
    a crack whose tip moves from `tip` to `tip + advance` as t goes 0 -> 1: the "surfing"
    boundary condition (Hossain, Hsueh, Bourdin, Bhattacharya 2014) for a DisplacementField.

    Args:
        K: mode-I stress intensity factor [Pa m^0.5].
        youngs_modulus: E [Pa].
        poisson_ratio: nu [-].
        tip: (x, y) of the tip at t = 0 [m].
        advance: (dx, dy) the tip moves by at t = 1 [m].
        direction: crack-growth direction (default: along `advance`, else +x); the crack
            lies behind the tip.
        plane: "strain" or "stress".

    Returns:
        function (x [m], t) -> (2, N) displacement [m].
    """
    from femcell.analytic_mechanics import mode1_displacement

    tip = np.asarray(tip, dtype=float)
    adv = np.asarray(advance, dtype=float)
    if tip.shape != (2,) or adv.shape != (2,):
        raise MaterialError("k_field: tip and advance need 2 coordinates (a 2D planar crack)")
    e = np.asarray(direction if direction is not None else (
        adv if np.linalg.norm(adv) > 0 else (1.0, 0.0)), dtype=float)
    if e.shape != (2,) or not np.linalg.norm(e) > 0:
        raise MaterialError(f"k_field: direction {direction!r} must be a nonzero 2-vector")
    e = e / np.linalg.norm(e)
    n = np.array([-e[1], e[0]])

    def value(x, t):
        c = tip + t * adv
        rel = x[:2] - c[:, None]
        ux, uy = mode1_displacement(rel.T @ e, rel.T @ n, K=K, E=youngs_modulus,
                                    nu=poisson_ratio, plane=plane)
        return np.vstack([ux * e[0] + uy * n[0], ux * e[1] + uy * n[1]])

    return value


@dataclass(frozen=True)
class Traction:
    """Prescribed traction vector on a facet region.

    Attributes:
        region: facet region name.
        value: traction [Pa], a sequence of gdim floats or a function of time -> sequence.
    """

    region: str
    value: object


@dataclass(frozen=True)
class Pressure:
    """Normal pressure on a facet region (positive pushes into the body: stack pressure).

    Attributes:
        region: facet region name.
        value: pressure [Pa], a float or a function of time [s].
    """

    region: str
    value: object


@dataclass(frozen=True)
class Symmetry:
    """Zero normal displacement on a facet region made of planes normal to coordinate axes
    (each facet's axis found from its coordinates: the sides of a box are one region).

    Attributes:
        region: facet region name.
    """

    region: str


def facets_by_normal_axis(domain, region: str, facets, length: float, mesh=None
                          ) -> dict[int, np.ndarray]:
    """{coordinate axis: the facets of a region normal to it} (a box's sides may be several
    planes; collective). Raises MaterialError naming the region when a facet is normal to no
    axis or the region has no facet on any rank.

    Args:
        domain: the Domain.
        region: facet region name (for the message).
        facets: its local facet indices.
        length: the domain's length scale [m] (flatness tolerance 1e-9 of it).
        mesh: the mesh the facet indices refer to (default: the Domain's; a region submesh).
    """
    mesh = domain.mesh if mesh is None else mesh
    fdim = domain.tdim - 1
    axis = facet_normal_axes(mesh, facets, length, domain.gdim)
    owned = facets < mesh.topology.index_map(fdim).size_local
    bad = domain.comm.allreduce(int(np.sum((axis < 0) & owned)), op=MPI.SUM)
    total = domain.comm.allreduce(int(np.sum(owned)), op=MPI.SUM)
    if bad or not total:
        raise MaterialError(f"symmetry condition on {region!r}: " + (
            f"{bad} facet(s) are not normal to a coordinate axis" if bad else "no facets"))
    return {i: facets[axis == i] for i in range(domain.gdim)}


def facet_normal_axes(mesh, facets, length: float, gdim: int) -> np.ndarray:
    """The coordinate axis each facet is normal to (its nodes share that coordinate to 1e-9
    of `length` [m]), -1 for a facet normal to none (local, no communication)."""
    fdim = mesh.topology.dim - 1
    mesh.topology.create_connectivity(fdim, 0)
    verts = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)
    x = mesh.geometry.x[verts][..., :gdim] if verts.size else np.zeros((0, 1, gdim))
    flat = np.ptp(x, axis=1) <= 1e-9 * max(length, 1e-300)  # (facet, axis)
    return np.where(flat.sum(axis=1) == 1, np.argmax(flat, axis=1), -1)


def _axis(key, gdim: int) -> int:
    if isinstance(key, str) and key in _AXES[:gdim]:
        return _AXES.index(key)
    if isinstance(key, int | np.integer) and 0 <= int(key) < gdim:
        return int(key)
    raise MaterialError(f"displacement component {key!r}: must be one of "
                        f"{', '.join(_AXES[:gdim])}")


# ---------------------------------------------------------------------- Voigt algebra
def voigt_strain(eps) -> object:
    """A symmetric 3x3 UFL tensor -> Voigt 6-vector (engineering shears)."""
    return ufl.as_vector([eps[0, 0], eps[1, 1], eps[2, 2], 2 * eps[1, 2], 2 * eps[0, 2],
                          2 * eps[0, 1]])


def voigt_to_tensor(s) -> object:
    """A Voigt stress 6-vector -> symmetric 3x3 UFL tensor."""
    return ufl.as_matrix([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])


def plane_stress_reduction(C: np.ndarray) -> np.ndarray:
    """In-plane stiffness (xx, yy, xy) of a 6x6 Voigt stiffness with the out-of-plane
    stresses (zz, yz, xz) condensed out: C_pp - C_po C_oo^-1 C_op."""
    p, o = [0, 1, 5], [2, 3, 4]
    return C[np.ix_(p, p)] - C[np.ix_(p, o)] @ np.linalg.solve(C[np.ix_(o, o)], C[np.ix_(o, p)])


class Elasticity(Physics):
    """Small-strain (visco)elasticity with eigenstrains.

    Args:
        materials: {cell region name (None: the whole mesh): material} where a material has
            `voigt()` (6x6 stiffness [Pa], crystal axes), `rotated_voigt(R)`, `isotropic`,
            `lame()` -> (lambda, mu) [Pa], `thermal_expansion` [1/K], `partial_molar_volume`
            [m^3 mol^-1] (femcell.materials.mechanical.ElasticSolid). Every cell needs one.
        bcs: Displacement / DisplacementField / Traction / Pressure / Symmetry conditions
            (other boundaries are traction free).
        mode: one of MODES.
        orientations: crystal -> lab rotations: None, one 3x3 array or {cell group: 3x3}.
        creep: {cell region: creep law} with `rate(sigma_eq [Pa], T [K])` -> equivalent creep
            rate [1/s] as a UFL-capable function (femcell.materials.mechanical.NortonCreep).
        temperature: T [K], a float or a function of time [s] (thermal strain, creep).
        reference_temperature: T_0 [K] of zero thermal strain; None: the temperature at
            t = 0 (stress free as built: a temperature study then has no thermal stress).
        concentration: None or (concentration [mol m^-3] on the mesh, c_0 [mol m^-3]): the
            chemical swelling Omega (c - c_0) / 3 per direction; the concentration is a UFL
            expression or a callable returning one at set-up (e.g. of a diffusion field).
        concentration_region: the cell region the concentration lives on, when it is a
            field of that region's submesh (a coherent particle): the chemical swelling acts
            there only, and the forms that carry it are integrated over that region (DOLFINx
            assembles a submesh coefficient only over the submesh's cells); reported
            stresses and energies see a copy of the field on the whole mesh.
        anchor: hold a free body (no Dirichlet condition, e.g. a particle) with a weak
            elastic foundation of stiffness ANCHOR E_ref / L^2 per volume, which removes the
            rigid-body motions and changes stresses by ~ANCHOR.
        report_regions: facet regions whose mean normal and mean in-surface ((tr sigma -
            sigma_nn) / 2, the hoop stress of a sphere's surface) stresses are reported.
        body_force: None or a function (x, t) -> UFL vector [N m^-3].
        degree: Lagrange degree (1 or 2).
        name: field name.
        length_scale: reference length L [m] (default: half the domain's largest extent).
        load_factor: function of time [s] multiplying every prescribed displacement,
            traction and pressure (quasi-static load stepping), default 1.
    """

    symmetric = True
    # GAMG smoothing by symmetric SOR (4 Chebyshev steps): with the default Jacobi smoother the
    # CG iterations on a cracked body (stiffness contrast 1e6 across the damage band) grew
    # 36 / 56 / 74 under refinement; with this 14 / 20 / 23 (SENT, h = l/2, l/4, l/8), and
    # 11 / 12 / 13 on the undamaged plate (docs/mechanics.md)
    multigrid_options = {"mg_levels_pc_type": "sor", "mg_levels_ksp_max_it": 4}

    def __init__(self, materials: dict, bcs=(), *, mode: str = "3d", orientations=None,
                 creep: dict | None = None, temperature=298.15,
                 reference_temperature: float | None = None, concentration=None, body_force=None,
                 degree: int = 1, name: str = "u", length_scale: float | None = None,
                 load_factor=None, anchor: bool = False, report_regions=(),
                 concentration_region: str | None = None):
        if mode not in MODES:
            raise MaterialError(f"mechanics mode {mode!r}: one of {', '.join(MODES)}")
        if degree not in (1, 2):
            raise MaterialError(f"mechanics degree must be 1 or 2, got {degree}")
        if not materials:
            raise MaterialError("mechanics: no material given")
        self.materials = dict(materials)
        self.bc_list = list(bcs)
        self.mode = mode
        self.orientations = orientations
        self.creep = dict(creep or {})
        self.temperature = time_function(temperature)
        self.reference_temperature = float(self.temperature(0.0) if reference_temperature
                                           is None else reference_temperature)
        self.concentration = concentration
        self.concentration_region = concentration_region
        if concentration_region is not None and (concentration is None or creep):
            raise MaterialError("mechanics: a concentration region needs a concentration, and "
                                "works without creep (the creep flow would see the region's "
                                "field outside it)")
        self.body_force = body_force
        self.degree = degree
        self.name = name
        self._length_scale = length_scale
        self.load_factor = time_function(1.0 if load_factor is None else load_factor)
        self.anchor = bool(anchor)
        self.report_regions = tuple(report_regions)
        self.linear = not self.creep
        self.time_dependent = True
        self._degraded = None  # (stress, energy) degraded by a damage physics

    # ------------------------------------------------------------------ setup
    def setup(self, domain, time) -> None:
        self.domain, self.time = domain, time
        mesh = domain.mesh
        gdim = domain.gdim
        coords = domain.coordinates
        expected = {"3d": ("cartesian", 3), "plane_strain": ("cartesian", 2),
                    "plane_stress": ("cartesian", 2), "axisymmetric": ("axisymmetric", 2),
                    "spherical": ("spherical", 1)}[self.mode]
        if (coords, gdim) != expected:
            raise MaterialError(f"mechanics mode {self.mode!r} needs {expected[0]} "
                                f"coordinates in {expected[1]}D, the mesh is {coords} "
                                f"{gdim}D")
        isotropic_only = self.mode in ("axisymmetric", "spherical")
        for region, mat in self.materials.items():
            if isotropic_only and not (mat.isotropic and mat.isotropic_swelling):
                raise MaterialError(f"mechanics: {self.mode} mode needs isotropic materials "
                                    f"({getattr(mat, 'name', region)} is anisotropic)")
        if self.creep and self.mode == "plane_stress":
            raise MaterialError("mechanics: creep is not available in plane stress")
        self.length = self._length_scale or 0.5 * domain.size()
        self.e_ref = max(float(np.max(np.abs(np.diag(m.voigt()))))
                         for m in self.materials.values())
        n_int = 3 if coords in ("axisymmetric", "spherical") else domain.tdim
        self.u_scale = STRAIN_REF * self.length
        self._s = dolfinx.fem.Constant(mesh, PETSc.ScalarType(
            1.0 / (self.e_ref * STRAIN_REF * self.length ** (n_int - 1))))
        self._w = domain.weight()
        self._dx = domain.dx()

        # per-cell material data (DG0): rotated stiffness, Lame constants, expansion
        self._stiffness_fields(domain)
        shape = (gdim,) if gdim > 1 else ()
        V = dolfinx.fem.functionspace(mesh, ("Lagrange", self.degree, shape))
        self.V = V
        self.field = Field.create(self.name, V, levels=0)  # quasi-static
        self.fields = [self.field]
        T0 = self.temperature(0.0)
        self._T = dolfinx.fem.Constant(mesh, PETSc.ScalarType(T0))
        self._lf = dolfinx.fem.Constant(mesh, PETSc.ScalarType(self.load_factor(0.0)))

        self._creep_setup(domain, time)
        u = self.u_si(self.field.u)
        v = ufl.TestFunction(V)
        if self.concentration_region is None:
            F = ufl.inner(self.stress_voigt(u), self.strain_voigt(v)) * self._w * self._dx
        else:  # the chemical swelling's stress on the region only
            F = (ufl.inner(self.stress_voigt(u, chemical=False), self.strain_voigt(v))
                 * self._w * self._dx
                 - ufl.inner(ufl.dot(self.C, self._chemical_voigt()), self.strain_voigt(v))
                 * self._w * domain.dx(self.concentration_region))
        if self.anchor:
            u_, v_ = (u, v) if self.domain.gdim > 1 else (ufl.as_vector([u]), ufl.as_vector([v]))
            F += ANCHOR * self.e_ref / self.length**2 * ufl.inner(u_, v_) * self._w * self._dx
        if self.body_force is not None:
            F -= ufl.inner(self.body_force(ufl.SpatialCoordinate(mesh), time.t), v) \
                * self._w * self._dx
        self._dbcs, self._traction_terms = [], []
        self._displacement_dofs = {}
        self._time_values = []  # (Constant view, f(t)) set in update()
        self._n = ufl.FacetNormal(mesh)
        for bc in self.bc_list:
            F -= self._bc_term(bc, v)
        self._F = self._s * F
        if self._creep_regions:
            self._F_creep = self._creep_residual()
            self.fields = [self.field, self.creep_field]

    def _stiffness_fields(self, domain) -> None:
        """DG0 fields: C (6x6 lab-frame Voigt, or 3x3 reduced in plane stress), lambda, mu
        (isotropic cells; NaN elsewhere), thermal expansion and partial molar volume."""
        mesh = domain.mesh
        ncells = mesh.topology.index_map(domain.tdim).size_local + \
            mesh.topology.index_map(domain.tdim).num_ghosts
        nv = 3 if self.mode == "plane_stress" else 6
        self.C = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("DG", 0, (nv, nv))),
                                      name="stiffness")
        S = dolfinx.fem.functionspace(mesh, ("DG", 0))
        self.lam, self.mu = (dolfinx.fem.Function(S, name=n) for n in ("lambda", "mu"))
        self.alpha, self.omega = (dolfinx.fem.Function(S, name=n)
                                  for n in ("alpha", "omega"))
        # linear chemical strain per concentration, Voigt (engineering shears), lab frame
        self.beta = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("DG", 0, (6,))),
                                         name="chemical_expansion")
        Barr = self.beta.x.array.reshape(-1, 6)

        def beta_voigt(mat, R):
            b = mat.expansion_tensor(R)
            return np.array([b[0, 0], b[1, 1], b[2, 2], 2 * b[1, 2], 2 * b[0, 2], 2 * b[0, 1]])
        covered = np.zeros(ncells, dtype=bool)
        rot = self.orientations
        groups = None if (rot is None or isinstance(rot, np.ndarray)) else dict(rot)
        Carr = self.C.x.array.reshape(-1, nv * nv)
        for region, mat in self.materials.items():
            cells = domain.cells(region, include_ghosts=True)
            overlap = domain.comm.allreduce(int(covered[cells].sum()), op=MPI.SUM)
            if overlap:  # agreed on every rank before the next collective
                raise MaterialError(f"mechanics: region {region!r} overlaps another "
                                    f"region's material")
            covered[cells] = True
            self.alpha.x.array[cells] = mat.thermal_expansion
            self.omega.x.array[cells] = mat.partial_molar_volume
            if mat.isotropic:
                lam, mu = mat.lame()
                self.lam.x.array[cells] = lam
                self.mu.x.array[cells] = mu
            else:
                self.lam.x.array[cells] = np.nan
                self.mu.x.array[cells] = np.nan
            iso = mat.isotropic and mat.isotropic_swelling
            if groups is None or iso:
                R = np.eye(3) if rot is None or iso else np.asarray(rot, float)
                Carr[cells] = self._reduced(mat.rotated_voigt(R)).ravel()
                Barr[cells] = beta_voigt(mat, R)
            else:
                in_region = np.zeros(ncells, dtype=bool)
                in_region[cells] = True
                done = np.zeros(ncells, dtype=bool)
                for grp, R in groups.items():
                    gc = domain.cells(grp, include_ghosts=True)
                    gc = gc[in_region[gc]]
                    Carr[gc] = self._reduced(mat.rotated_voigt(np.asarray(R, float))).ravel()
                    Barr[gc] = beta_voigt(mat, np.asarray(R, float))
                    done[gc] = True
                missing = domain.comm.allreduce(int((in_region & ~done).sum()), op=MPI.SUM)
                if missing:
                    raise MaterialError(f"mechanics: {missing} cells of {region!r} belong to "
                                        f"no oriented grain")
        missing = domain.comm.allreduce(int((~covered).sum()), op=MPI.SUM)
        if missing:
            raise MaterialError(f"mechanics: {missing} cells have no material (given for: "
                                f"{', '.join(str(r) for r in self.materials)})")
        for f in (self.C, self.lam, self.mu, self.alpha, self.omega, self.beta):
            f.x.scatter_forward()
        self.isotropic = all(m.isotropic for m in self.materials.values())

    def _reduced(self, C6: np.ndarray) -> np.ndarray:
        return plane_stress_reduction(C6) if self.mode == "plane_stress" else C6

    # ------------------------------------------------------------------ kinematics
    def u_si(self, u_scaled):
        """Displacement [m] of a scaled unknown (UFL)."""
        return self.u_scale * u_scaled

    def displacement(self):
        """Displacement [m] (UFL)."""
        return self.u_si(self.field.u)

    def strain_tensor(self, u):
        """Total small strain of a displacement u [m] as a 3x3 UFL tensor (mode aware)."""
        x = ufl.SpatialCoordinate(self.domain.mesh)
        if self.mode == "3d":
            return ufl.sym(ufl.grad(u))
        if self.mode == "spherical":
            ur = u
            hoop = ur / x[0]
            return ufl.as_matrix([[ur.dx(0), 0, 0], [0, hoop, 0], [0, 0, hoop]])
        g = ufl.grad(u)
        exy = 0.5 * (g[0, 1] + g[1, 0])
        ezz = u[0] / x[0] if self.mode == "axisymmetric" else 0
        return ufl.as_matrix([[g[0, 0], exy, 0], [exy, g[1, 1], 0], [0, 0, ezz]])

    def strain_voigt(self, u):
        """Voigt strain of u (3-vector xx, yy, 2xy in plane stress, else 6-vector)."""
        e = self.strain_tensor(u)
        if self.mode == "plane_stress":
            return ufl.as_vector([e[0, 0], e[1, 1], 2 * e[0, 1]])
        return voigt_strain(e)

    def _concentration_change(self):
        """c - c0 [mol m^-3] (UFL) or None."""
        if self.concentration is None:
            return None
        c, c0 = self.concentration
        if callable(c) and not isinstance(c, ufl.core.expr.Expr):
            c = c()
            self.concentration = (c, c0)
        if self.concentration_region is not None:
            # 0 outside the region, where a submesh field reads 0 (not c0) in a copy
            if not hasattr(self, "_in_region"):
                self._in_region = self._indicator(self.concentration_region,
                                                  "concentration_region")
            return self._in_region * (c - c0)
        return c - c0

    def eigenstrain_voigt(self, chemical: bool = True):
        """Eigenstrain (thermal alpha dT I + chemical beta (c - c0), beta the rotated
        expansion tensor per cell) as a Voigt 6-vector (engineering shears), UFL."""
        th = self.alpha * (self._T - self.reference_temperature)
        v = [th, th, th, 0, 0, 0]
        dc = self._concentration_change() if chemical else None
        if dc is not None:
            v = [v[i] + self.beta[i] * dc for i in range(6)]
        return v

    def _chemical_voigt(self):
        """The chemical eigenstrain beta (c - c0) alone, in the stress's Voigt layout."""
        dc = self._concentration_change()
        v = [self.beta[i] * dc for i in range(6)]
        if self.mode == "plane_stress":
            return ufl.as_vector([v[0], v[1], v[5]])
        return ufl.as_vector(v)

    def _eigen_voigt(self, chemical: bool = True):
        v = self.eigenstrain_voigt(chemical)
        if self.mode == "plane_stress":
            return ufl.as_vector([v[0], v[1], v[5]])
        if self._creep_regions:
            ec = self.creep_strain()
            v = [v[i] + ec[i] for i in range(6)]
        return ufl.as_vector(v)

    def chemical_stress(self, u=None):
        """sigma : beta [J mol^-1] (UFL): minus the derivative of the strain energy density
        with respect to the concentration [mol m^-3] through the chemical eigenstrain
        beta (c - c0), the coherency stress's share of a chemical potential (Larche-Cahn:
        mu_el = -Omega sigma_h for isotropic swelling). Of the solved displacement when u is
        None (the undegraded stress)."""
        u = self.displacement() if u is None else u
        s = self.stress_voigt(u)
        if self.mode == "plane_stress":  # xx, yy, xy
            return s[0] * self.beta[0] + s[1] * self.beta[1] + s[2] * self.beta[5]
        return sum(s[i] * self.beta[i] for i in range(6))

    def elastic_strain_voigt(self, u, chemical: bool = True):
        return self.strain_voigt(u) - self._eigen_voigt(chemical)

    def stress_voigt(self, u, chemical: bool = True):
        """Voigt stress [Pa] of displacement u [m] (with eigen- and creep strains; without
        the chemical eigenstrain when `chemical` is False)."""
        return ufl.dot(self.C, self.elastic_strain_voigt(u, chemical))

    def elastic_strain_tensor(self, u):
        """Elastic strain (total - eigen - creep) as a 3x3 tensor (not in plane stress)."""
        e = self.elastic_strain_voigt(u)
        if self.mode == "plane_stress":
            raise MaterialError("mechanics: the strain split needs plane strain, "
                                "axisymmetric, spherical or 3d mode")
        return ufl.as_matrix([[e[0], e[5] / 2, e[4] / 2], [e[5] / 2, e[1], e[3] / 2],
                              [e[4] / 2, e[3] / 2, e[2]]])

    def stress_tensor(self, u=None):
        """Stress [Pa] as a 3x3 UFL tensor (plane stress: zz, yz, xz are 0); of the solved
        displacement (u None) it is the degraded stress when a damage physics set one."""
        if u is None and self._degraded is not None:
            return self._degraded[0]
        u = self.displacement() if u is None else u
        s = self.stress_voigt(u)
        if self.mode == "plane_stress":
            return ufl.as_matrix([[s[0], s[2], 0], [s[2], s[1], 0], [0, 0, 0]])
        return voigt_to_tensor(s)

    def strain_energy_density(self, u=None):
        """1/2 sigma : eps_el [J m^-3] (UFL); of the solved displacement (u None) the
        degraded energy when a damage physics set one."""
        if u is None and self._degraded is not None:
            return self._degraded[1]
        u = self.displacement() if u is None else u
        return 0.5 * ufl.inner(self.stress_voigt(u), self.elastic_strain_voigt(u))

    def set_degraded(self, stress, energy) -> None:
        """The stress (3x3 UFL tensor [Pa]) and strain energy density [J m^-3] of the solved
        displacement as a damage physics degrades them (reported quantities and fields)."""
        self._whole_mesh_stress("set_degraded")
        self._degraded = (stress, energy)

    def _whole_mesh_stress(self, what: str) -> None:
        """Refuse another physics' use of the stress on the whole mesh when the chemical
        swelling is a field of one region's submesh (assembled outside it, in parallel
        undefined)."""
        if self.concentration_region is not None:
            raise MaterialError(f"mechanics: {what} needs the stress outside the coherent "
                                f"region {self.concentration_region!r}, whose concentration "
                                "lives on that region only")

    # ------------------------------------------------------------------ boundary data
    def _constant(self, value, scale: float = 1.0):
        f = time_function(value)
        c = dolfinx.fem.Constant(self.domain.mesh, PETSc.ScalarType(f(0.0) * scale))
        self._time_values.append((c._cpp_object.value, f, scale))
        return c

    def _vector_constant(self, value):
        gdim = self.domain.gdim
        f = value if callable(value) else (lambda t, v=tuple(value): v)
        first = np.asarray(f(0.0), dtype=float).ravel()
        if first.size != gdim:
            raise MaterialError(f"traction must have {gdim} components, got {first.size}")
        c = dolfinx.fem.Constant(self.domain.mesh, PETSc.ScalarType(first)
                                 if gdim > 1 else PETSc.ScalarType(first[0]))
        self._time_values.append((c._cpp_object.value, f, 1.0))
        return c

    def _bc_term(self, bc, v):
        """Residual term of a natural condition, or a Dirichlet condition (returns 0)."""
        domain = self.domain
        ds = domain.ds(bc.region)  # RegionError for an unknown region
        w, lf = self._w, self._lf
        if isinstance(bc, Traction):
            t = self._vector_constant(bc.value)
            return lf * ufl.inner(t, v) * w * ds
        if isinstance(bc, Pressure):
            p = self._constant(bc.value)
            n = self._n
            return -lf * p * (ufl.inner(n, v) if domain.gdim > 1 else n[0] * v) * w * ds
        facets = domain.facets(bc.region)
        fdim = domain.tdim - 1
        if isinstance(bc, DisplacementField):
            dofs = dolfinx.fem.locate_dofs_topological(self.V, fdim, facets)
            g = dolfinx.fem.Function(self.V)
            self._field_bcs.append((g, bc.value))
            self._dbcs.append(dolfinx.fem.dirichletbc(g, dofs))
            bs = self.V.dofmap.index_map_bs
            for i in range(domain.gdim):
                self._displacement_dofs.setdefault(bc.region, {})[i] = dofs * bs + i
            return 0
        if isinstance(bc, Displacement):
            for key, value in bc.components.items():
                i = _axis(key, domain.gdim)
                sub = self.V.sub(i) if domain.gdim > 1 else self.V
                if domain.gdim > 1:
                    Vi, _ = sub.collapse()
                    dofs = dolfinx.fem.locate_dofs_topological((sub, Vi), fdim, facets)
                    g = dolfinx.fem.Function(Vi)
                    self._dbc_functions.append((g, time_function(value)))
                    self._dbcs.append(dolfinx.fem.dirichletbc(g, dofs, sub))
                    self._displacement_dofs.setdefault(bc.region, {})[i] = dofs[0]
                else:
                    dofs = dolfinx.fem.locate_dofs_topological(self.V, fdim, facets)
                    g = dolfinx.fem.Function(self.V)
                    self._dbc_functions.append((g, time_function(value)))
                    self._dbcs.append(dolfinx.fem.dirichletbc(g, dofs))
                    self._displacement_dofs.setdefault(bc.region, {})[0] = dofs
            return 0
        if isinstance(bc, Symmetry):
            for i, fs in self._normal_axes(bc.region, facets).items():
                sub = self.V.sub(i) if domain.gdim > 1 else self.V
                if domain.gdim > 1:
                    Vi, _ = sub.collapse()
                    dofs = dolfinx.fem.locate_dofs_topological((sub, Vi), fdim, fs)
                    g = dolfinx.fem.Function(Vi)
                    self._dbcs.append(dolfinx.fem.dirichletbc(g, dofs, sub))
                else:
                    dofs = dolfinx.fem.locate_dofs_topological(self.V, fdim, fs)
                    self._dbcs.append(dolfinx.fem.dirichletbc(PETSc.ScalarType(0), dofs,
                                                              self.V))
            return 0
        raise TypeError(f"unknown mechanics boundary condition {bc!r}")

    @property
    def _field_bcs(self):
        if not hasattr(self, "_field_bc_list"):
            self._field_bc_list = []
        return self._field_bc_list

    @property
    def _dbc_functions(self):
        if not hasattr(self, "_dbc_fns"):
            self._dbc_fns = []
        return self._dbc_fns

    def _normal_axes(self, region: str, facets) -> dict[int, np.ndarray]:
        return facets_by_normal_axis(self.domain, region, facets, self.length)

    def dirichlet_bcs(self) -> list:
        return list(self._dbcs)

    def residuals(self) -> list:
        if self._creep_regions:
            return [self._F, self._F_creep]
        return [self._F]

    # ------------------------------------------------------------------ creep
    def _creep_setup(self, domain, time) -> None:
        self._creep_regions = list(self.creep)
        if not self._creep_regions:
            return
        mesh = domain.mesh
        # creep strain per cell (P1: constant strain per simplex; P2: linear)
        Q = dolfinx.fem.functionspace(mesh, ("DG", self.degree - 1, (6,)))
        self.creep_field = Field.create(f"{self.name}_creep", Q, levels=3)
        self._creep_ind = {r: self._indicator(r, f"creep_{r}") for r in self._creep_regions}

    def _indicator(self, region: str, name: str):
        """DG0 Function: 1 on the region's cells (owned and ghost), 0 elsewhere."""
        S = dolfinx.fem.functionspace(self.domain.mesh, ("DG", 0))
        ind = dolfinx.fem.Function(S, name=name)
        ind.x.array[S.dofmap.list[self.domain.cells(region, include_ghosts=True), 0]] = 1.0
        return ind

    def creep_strain(self):
        """Creep strain (Voigt 6-vector, engineering shears), UFL; unknown scaled by
        STRAIN_REF."""
        return STRAIN_REF * self.creep_field.u

    def _creep_residual(self):
        """Backward Euler (BDF of the integrator) creep flow, per region."""
        u = self.displacement()
        sig = voigt_to_tensor(self.stress_voigt(u))
        s = ufl.dev(sig)
        seq = ufl.sqrt(1.5 * ufl.inner(s, s) + (1e-12 * self.e_ref) ** 2)
        # flow direction 3/2 s / sigma_eq in Voigt form (engineering shears: factor 2)
        n = 1.5 * s / seq
        nv = ufl.as_vector([n[0, 0], n[1, 1], n[2, 2], 2 * n[1, 2], 2 * n[0, 2], 2 * n[0, 1]])
        rate = 0
        for region in self._creep_regions:
            law = self.creep[region]
            rate = rate + self._creep_ind[region] * law.rate(seq, self._T)
        q = ufl.TestFunction(self.creep_field.u.function_space)
        ddt = self.time.ddt(self.creep_field)
        # scaled: rows of STRAIN_REF-scaled creep strain per unit time of the step
        n_int = 3 if self.domain.coordinates in ("axisymmetric", "spherical") \
            else self.domain.tdim
        return (ufl.inner(ddt - rate * nv / STRAIN_REF, q) * self.time.dt
                / self.length ** n_int * self._w * self._dx)

    # ------------------------------------------------------------------ time
    def initial_condition(self) -> None:
        self.field.u.x.array[:] = 0.0
        if self._creep_regions:
            self.creep_field.set_all(lambda x: np.zeros((6, x.shape[1])))
        self.update(0.0)

    def update(self, t: float) -> bool:
        self._T.value = self.temperature(t)
        self._lf.value = self.load_factor(t)
        lf = float(self._lf.value)
        for view, f, scale in self._time_values:
            view[...] = np.asarray(f(t), dtype=float).reshape(view.shape) * scale
        for g, f in self._dbc_functions:
            g.x.array[:] = f(t) * lf / self.u_scale
        gdim = self.domain.gdim
        for g, f in self._field_bcs:
            def scaled(x, f=f):
                v = np.asarray(f(x, t), dtype=float).reshape(gdim, x.shape[1])
                return (v if gdim > 1 else v[0]) / self.u_scale
            g.interpolate(scaled)
        # the load factor multiplies the Dirichlet values too
        return False

    def set_temperature(self, temperature) -> None:
        self.temperature = time_function(temperature)

    # ------------------------------------------------------------------ results
    def on_problem(self, problem) -> None:
        """Reaction forces: the composed residual tested with unit vectors on each
        Dirichlet region's DOFs (exact discrete reactions, N or N m^-1)."""
        F = problem.residual_of(self.name)
        v = ufl.TestFunction(self.V)
        factor = 1.0 / float(self._s.value)
        self._reaction_forms = {}
        for region, comps in self._displacement_dofs.items():
            for i, dofs in comps.items():
                g = dolfinx.fem.Function(self.V)
                g.x.array[dofs] = 1.0  # unrolled indices of the component's DOFs
                g.x.scatter_forward()
                self._reaction_forms[f"{region}.{_AXES[i]}"] = dolfinx.fem.form(
                    factor * ufl.replace(F, {v: g}), entity_maps=problem.entity_maps or None)

    def strain_energy(self) -> float:
        """The strain energy of the whole solid [J] (J m^-1 in 2D), collective."""
        if not hasattr(self, "_energy_form"):
            self._energy_form = dolfinx.fem.form(self._on_this_mesh(
                self.strain_energy_density() * self._w * self._dx))
        self._refresh_mirrors()
        return self.domain.comm.allreduce(dolfinx.fem.assemble_scalar(self._energy_form),
                                          op=MPI.SUM)

    def quantities(self) -> dict[str, float]:
        comm = self.domain.comm
        out = {}
        if not hasattr(self, "_ns_forms"):
            self._ns_forms = {}
            regions = [bc.region for bc in self.bc_list] + [
                r for r in self.report_regions if r not in {b.region for b in self.bc_list}]
            n = self._n
            sig = self._on_this_mesh(self.stress_tensor())
            nn = ufl.as_vector([n[i] for i in range(self.domain.gdim)]
                               + [0] * (3 - self.domain.gdim))
            snn = ufl.inner(nn, ufl.dot(sig, nn))
            for region in regions:
                ds = self.domain.ds(region)
                self._ns_forms[region] = (dolfinx.fem.form(snn * self._w * ds),
                                          dolfinx.fem.form(1.0 * self._w * ds),
                                          dolfinx.fem.form(0.5 * (ufl.tr(sig) - snn)
                                                           * self._w * ds))
        out[f"{self.name}_strain_energy"] = self.strain_energy()  # refreshes the copies
        for region, (fs, fa, ft) in self._ns_forms.items():
            s = comm.allreduce(dolfinx.fem.assemble_scalar(fs), op=MPI.SUM)
            a = comm.allreduce(dolfinx.fem.assemble_scalar(fa), op=MPI.SUM)
            out[f"{self.name}_normal_stress[{region}]"] = s / a if a > 0 else 0.0
            if region in self.report_regions:  # mean in-surface (hoop) stress
                t = comm.allreduce(dolfinx.fem.assemble_scalar(ft), op=MPI.SUM)
                out[f"{self.name}_tangential_stress[{region}]"] = t / a if a > 0 else 0.0
        self.refresh_outputs()
        for region in self.report_regions:
            lo, hi = self._tangential_range(region)
            out[f"{self.name}_tangential_stress_min[{region}]"] = lo
            out[f"{self.name}_tangential_stress_max[{region}]"] = hi
        vm = self._out["von_mises"].x.array[:self._n_owned_cells()]
        out[f"{self.name}_von_mises_max"] = comm.allreduce(
            float(vm.max()) if vm.size else 0.0, op=MPI.MAX)
        if self.mode in ("spherical", "axisymmetric"):
            hoop = self._out["stress"].x.array.reshape(-1, 9)[:self._n_owned_cells(), 8]
            out[f"{self.name}_hoop_min"] = comm.allreduce(
                float(hoop.min()) if hoop.size else np.inf, op=MPI.MIN)
            out[f"{self.name}_hoop_max"] = comm.allreduce(
                float(hoop.max()) if hoop.size else -np.inf, op=MPI.MAX)
        for key, form in getattr(self, "_reaction_forms", {}).items():
            out[f"{self.name}_reaction[{key}]"] = comm.allreduce(
                dolfinx.fem.assemble_scalar(form), op=MPI.SUM)
        return out

    def _tangential_range(self, region: str) -> tuple[float, float]:
        """(min, max) [Pa] over the owned facets of a region of the mean in-surface stress
        (tr sigma - sigma_nn) / 2 of the adjacent cell's (cell-averaged, DG0) stress and the
        facet's normal (collective). Planar 2D: the in-plane tangential plus out-of-plane
        stress average; 1D spherical: the hoop stress of the outermost cell."""
        domain = self.domain
        cells, nrm = self._surface_geometry(region)
        lo, hi = np.inf, -np.inf
        if cells.size:
            sig = self._out["stress"].x.array.reshape(-1, 3, 3)[cells]
            snn = np.einsum("ni,nij,nj->n", nrm, sig, nrm)
            tang = 0.5 * (np.trace(sig, axis1=1, axis2=2) - snn)
            lo, hi = float(tang.min()), float(tang.max())
        comm = domain.comm
        return comm.allreduce(lo, op=MPI.MIN), comm.allreduce(hi, op=MPI.MAX)

    def _surface_geometry(self, region: str):
        """(adjacent cell, unit normal (n, 3)) of the owned facets of a region, computed once
        (the mesh does not move)."""
        cache = self.__dict__.setdefault("_surface_cache", {})
        if region in cache:
            return cache[region]
        domain = self.domain
        mesh, tdim, gdim = domain.mesh, domain.tdim, domain.gdim
        fdim = tdim - 1
        mesh.topology.create_connectivity(fdim, tdim)  # on every rank
        facets = domain.facets(region)
        facets = facets[facets < mesh.topology.index_map(fdim).size_local]
        f2c = mesh.topology.connectivity(fdim, tdim)
        cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int32)
        if gdim == 1 or not facets.size:
            nrm = np.tile([1.0, 0.0, 0.0], (facets.size, 1))
        else:
            x = mesh.geometry.x[dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)]
            if gdim == 2:
                t = x[:, 1, :2] - x[:, 0, :2]
                nrm = np.column_stack([-t[:, 1], t[:, 0], np.zeros(len(t))])
            else:
                nrm = np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0])
            nrm /= np.linalg.norm(nrm, axis=1)[:, None]
        cache[region] = (cells, nrm)
        return cache[region]

    def _n_owned_cells(self) -> int:
        return self.domain.mesh.topology.index_map(self.domain.tdim).size_local

    def normal_stress(self, region: str | None = None):
        """sigma_nn [Pa] on facets as UFL (tension > 0; the interface pressure is its
        negative). Interior facets: the average of both sides."""
        self._whole_mesh_stress("normal_stress")
        n = self._n
        sig = self.stress_tensor()
        nn = ufl.as_vector([n[i] for i in range(self.domain.gdim)]
                           + [0] * (3 - self.domain.gdim))
        return ufl.inner(nn, ufl.dot(sig, nn))

    def output_fields(self) -> dict:
        if not hasattr(self, "_out"):
            mesh = self.domain.mesh
            T = dolfinx.fem.functionspace(mesh, ("DG", 0, (3, 3)))
            S = dolfinx.fem.functionspace(mesh, ("DG", 0))
            self._out = {"stress": dolfinx.fem.Function(T, name="stress"),
                         "von_mises": dolfinx.fem.Function(S, name="von_mises"),
                         "hydrostatic": dolfinx.fem.Function(S, name="hydrostatic")}
            sig = self._on_this_mesh(self.stress_tensor())
            s = ufl.dev(sig)
            pts = T.element.interpolation_points
            self._out_expr = {
                "stress": dolfinx.fem.Expression(sig, pts),
                "von_mises": dolfinx.fem.Expression(ufl.sqrt(1.5 * ufl.inner(s, s)), pts),
                "hydrostatic": dolfinx.fem.Expression(ufl.tr(sig) / 3, pts)}
            Vu = self.V
            self._u_out = dolfinx.fem.Function(Vu, name="displacement")
        out = {"displacement": (self._u_out, 1.0)}
        out.update({k: (f, 1.0) for k, f in self._out.items()})
        return out

    def _on_this_mesh(self, expr):
        """expr with every coefficient that lives on a submesh of the domain (the
        concentration of a coherent particle region) replaced by a copy on this mesh, zero
        outside the region (where the region's misfit does not act): an Expression takes
        coefficients of one mesh only, and a form over cells outside a submesh cannot hold
        its functions in parallel. For reported values (no Jacobian): the copies are
        refreshed by `_refresh_mirrors`."""
        from ufl.algorithms import extract_coefficients

        mesh = self.domain.mesh
        subs = {id(sd.mesh): sd for sd in self.domain.__dict__.get("_submeshes", {}).values()}
        self._mirrors = getattr(self, "_mirrors", {})  # id(f) -> (copy, f, cells, cells)
        repl = {}
        for f in extract_coefficients(expr):
            sd = subs.get(id(getattr(getattr(f, "function_space", None), "mesh", None)))
            if sd is None:
                continue
            if id(f) not in self._mirrors:
                g = dolfinx.fem.Function(dolfinx.fem.functionspace(
                    mesh, f.function_space.ufl_element()))
                tdim = sd.mesh.topology.dim
                imap = sd.mesh.topology.index_map(tdim)
                sub = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
                parent = np.asarray(sd.cell_map.sub_topology_to_topology(sub, False),
                                    dtype=np.int32)
                self._mirrors[id(f)] = (g, f, sub, parent)
            repl[f] = self._mirrors[id(f)][0]
        return ufl.replace(expr, repl) if repl else expr

    def _refresh_mirrors(self) -> None:
        # every region cell on this rank (owned and ghost) gets its values from the local
        # submesh field; no scatter: a vertex of the region may be owned by a rank that
        # holds none of its region cells, and would send 0 back (outside the region the
        # copy is multiplied by the region's indicator)
        for g, f, sub, parent in getattr(self, "_mirrors", {}).values():
            g.interpolate(f, cells0=sub, cells1=parent)  # cells0: f's mesh, cells1: g's

    def refresh_outputs(self) -> None:
        self.output_fields()
        self._refresh_mirrors()
        self._u_out.x.array[:] = self.field.u.x.array * self.u_scale
        for k, f in self._out.items():
            f.interpolate(self._out_expr[k])
            f.x.scatter_forward()

    def near_nullspace(self):
        """Rigid-body modes of the displacement space (PETSc NullSpace) for GAMG."""
        return rigid_body_modes(self.V, self.mode)

    def describe(self) -> dict:
        return {"mode": self.mode, "degree": self.degree,
                "materials": {str(k): getattr(m, "name", str(m))
                              for k, m in self.materials.items()},
                "creep_regions": [str(r) for r in self._creep_regions] if hasattr(
                    self, "_creep_regions") else list(self.creep),
                "reference_temperature_K": self.reference_temperature,
                "displacement_scale_m": getattr(self, "u_scale", None)}

    def citations(self) -> list[str]:
        out = []
        for m in list(self.materials.values()) + list(self.creep.values()):
            for c in getattr(m, "citations", ()):
                if c not in out:
                    out.append(c)
        return out


def rigid_body_modes(V, mode: str):
    """PETSc near-nullspace of rigid-body motions of a vector Lagrange space V (orthonormal).

    3D: 3 translations + 3 rotations; 2D planar: 2 + 1; axisymmetric: the axial translation;
    1D spherical: none (returns None).
    """
    gdim = V.mesh.geometry.dim
    if mode == "spherical":
        return None
    im = V.dofmap.index_map
    bs = V.dofmap.index_map_bs
    n_local = im.size_local
    x = V.tabulate_dof_coordinates()[:n_local]
    modes = []

    def blank():
        return np.zeros((n_local, bs))

    if mode == "axisymmetric":
        b = blank()
        b[:, 1] = 1.0
        modes.append(b)
    else:
        for i in range(gdim):
            b = blank()
            b[:, i] = 1.0
            modes.append(b)
        if gdim == 2:
            b = blank()
            b[:, 0], b[:, 1] = -x[:, 1], x[:, 0]
            modes.append(b)
        else:
            for (i, j) in ((0, 1), (1, 2), (2, 0)):
                b = blank()
                b[:, i], b[:, j] = -x[:, j], x[:, i]
                modes.append(b)
    vecs = []
    for b in modes:
        vec = PETSc.Vec().createMPI((n_local * bs, PETSc.DECIDE), bsize=bs, comm=V.mesh.comm)
        vec.array[:] = b.ravel()
        vecs.append(vec)
    # Gram-Schmidt (collective dot products)
    for i, v in enumerate(vecs):
        for w in vecs[:i]:
            v.axpy(-v.dot(w), w)
        v.normalize()
    return PETSc.NullSpace().create(vectors=vecs, comm=V.mesh.comm)
