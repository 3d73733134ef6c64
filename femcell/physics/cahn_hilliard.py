"""Cahn-Hilliard phase separation (PHYSICS.md section 7), mixed (c, mu) form:

    dc/dt = div(M grad mu),   mu = f'(c) - div(kappa grad c)      in the region,
    M grad mu . n = 0,        kappa grad c . n = 0                  on the boundary,

c the site fraction [-], f(c) the homogeneous free energy per volume [J m^-3], kappa the
gradient energy coefficient [J m^-1] (a scalar or a tensor: anisotropic interfaces), M the
mobility [m^5 J^-1 s^-1] (a constant or a function of c). The free energy
F = int f(c) + kappa/2 |grad c|^2 dV never increases and int c dV is conserved.

Time schemes:
    "implicit": f'(c) at the new level (BDF of the integrator, order 1 or 2);
    "convex_splitting": f = f_convex + f_concave, the convex part at the new level and the
        concave part at the last accepted level (Eyre). With backward Euler (time order 1)
        the discrete F never increases, whatever the step; the steps that coarsening allows
        then grow by orders of magnitude under the adaptive controller.

Mobility: a constant M (scalar or a gdim x gdim tensor), or the lattice-gas law of a regular
solution, M(c) = D c (1 - c) V_m / (R T) with D a scalar or tensor diffusivity: the dilute
limit of dc/dt = div(M grad mu) is then Fick's law with D (anisotropic LFP: fast b channels).

Electrode reaction (a region of a cell with a [[kinetics]] electrode; Bazant 2013, Cogswell
and Bazant 2012): the physics is then an ElectrodeCoupling of that reaction.
    U_eq = E0 - mu_m / F,    mu_m = V_m mu  the chemical potential per mole of Li, gradient
        term included (the reaction is driven by the diffusional chemical potential at the
        surface, so a phase boundary meeting the surface reacts differently from the bulk);
    i0 factor = (1 - c) exp(alpha_c mu_m / (R T)) / 0.5 ("bazant": the transition state
        excludes a site, gamma = 1 / (1 - c), and the reduced state is the solid's Li with
        activity exp(mu_m / R T)); or (c / 0.5)^alpha_c ((1 - c) / 0.5)^alpha_a ("ideal");
        both 1 at the homogeneous c = 0.5 of a symmetric regular solution (mu = 0);
    an anodic current j [A m^-2] removes Li: M grad mu . n = -j V_m / F on the surface.
E0 is the potential of the half-filled homogeneous state: the plateau of a symmetric regular
solution at rest (the common tangent of f is at mu = 0).

A log potential (a regular solution) is evaluated at the nodes (vertex rule for f'(c) and
the storage term, with the coordinate weight of each cell at its centroid): each node then
has its own barrier and c stays inside (0, 1).

Scaling: mu is stored divided by the free-energy scale E_s of f (rho of a double well, R T /
V_m of a regular solution); lengths by the interface length l = sqrt(kappa / E_s) and times by
l^2 / (M E_s), so both rows have O(1) entries whatever the units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from femcell._dolfinx import MPI, dolfinx, ufl
from femcell.fields import Field
from femcell.materials.core import MaterialError
from femcell.physics.base import ElectrodeCoupling, Physics

SCHEMES = ("implicit", "convex_splitting")
# above this many unknowns on a 3D mesh, solver.linear = "auto" takes the block preconditioner
# (where it applies) instead of LU: 1.5x faster at 18k unknowns, 4.4x at 138k (BM1 units)
BLOCK_PC_3D_DOFS = 10_000
MOBILITY_LAWS = ("constant", "lattice_gas")
EXCHANGE_FORMS = ("bazant", "ideal")


def _spd(key: str, value) -> np.ndarray:
    """A positive number or a symmetric positive definite square table as an array."""
    try:
        k = np.asarray(value, dtype=float)
    except ValueError:
        raise MaterialError(f"{key} must be a number or a square table, got {value}") from None
    if k.ndim not in (0, 2) or k.ndim == 2 and (k.shape[0] != k.shape[1]
                                               or not np.allclose(k, k.T)):
        raise MaterialError(f"{key} must be a number or a symmetric square table, got {value}")
    if k.ndim == 0 and not k > 0 or k.ndim == 2 and np.any(np.linalg.eigvalsh(k) <= 0):
        raise MaterialError(f"{key} must be positive (definite), got {value}")
    return k


def _largest(k: np.ndarray) -> float:
    """The largest eigenvalue of a tensor, or the number."""
    return float(np.max(np.linalg.eigvalsh(k))) if k.ndim == 2 else float(k)


@dataclass(frozen=True)
class SurfaceReaction:
    """The electrode reaction of a Cahn-Hilliard particle (see the module docstring).

    Attributes:
        standard_potential: E0 [V], U_eq of the homogeneous half-filled state.
        exchange: "bazant" or "ideal" concentration dependence of i0.
    """

    standard_potential: float
    exchange: str = "bazant"

    def __post_init__(self):
        if self.exchange not in EXCHANGE_FORMS:
            raise MaterialError(f"exchange must be one of {EXCHANGE_FORMS}, got "
                                f"{self.exchange!r}")


@dataclass(frozen=True)
class DoubleWell:
    """f(c) = rho (c - alpha)^2 (beta - c)^2 [J m^-3] (PFHub benchmark 1).

    Attributes:
        rho: barrier scale [J m^-3].
        alpha, beta: the two minima [-].
    """

    rho: float
    alpha: float = 0.3
    beta: float = 0.7

    def __post_init__(self):
        if not (self.rho > 0 and self.alpha < self.beta):
            raise MaterialError(f"double well: need rho > 0 and alpha < beta, got rho = "
                                f"{self.rho:g}, alpha = {self.alpha:g}, beta = {self.beta:g}")

    @property
    def scale(self) -> float:
        """E_s [J m^-3]."""
        return self.rho

    def f(self, c):
        return self.rho * (c - self.alpha) ** 2 * (self.beta - c) ** 2

    def df(self, c):
        a, b = self.alpha, self.beta
        return 2 * self.rho * (c - a) * (b - c) * (a + b - 2 * c)

    def d2f(self, c):
        a, b = self.alpha, self.beta
        return 2 * self.rho * ((b - c) ** 2 - 4 * (c - a) * (b - c) + (c - a) ** 2)

    def concave_df(self, c):
        """Derivative of the concave part -(lam/2)(c - m)^2, lam = rho (beta - alpha)^2 the
        most negative f'' (at the midpoint m): f + (lam/2)(c - m)^2 is convex everywhere."""
        m, lam = 0.5 * (self.alpha + self.beta), self.rho * (self.beta - self.alpha) ** 2
        return -lam * (c - m)

    def bounds(self):
        return None

    def interface_width(self, kappa: float) -> float:
        """l of the equilibrium profile c = m + d tanh(x / l), d = (beta - alpha) / 2:
        l = sqrt(kappa / (2 rho)) / d [m]."""
        return float(np.sqrt(kappa / (2 * self.rho))) / (0.5 * (self.beta - self.alpha))

    def interface_energy(self, kappa: float) -> float:
        """Excess free energy of a flat interface, sqrt(2 kappa rho) (beta - alpha)^3 / 6
        [J m^-2]."""
        return float(np.sqrt(2 * kappa * self.rho)) * (self.beta - self.alpha) ** 3 / 6


@dataclass(frozen=True)
class RegularSolution:
    """f(c) = [R T (c ln c + (1 - c) ln(1 - c)) + Omega c (1 - c)] / V_m [J m^-3]; phase
    separation below the critical temperature Omega / (2 R).

    Attributes:
        temperature: T [K].
        interaction: Omega [J mol^-1].
        molar_volume: V_m of the host sites [m^3 mol^-1].
    """

    temperature: float
    interaction: float
    molar_volume: float

    def __post_init__(self):
        if not (self.temperature > 0 and self.molar_volume > 0):
            raise MaterialError("regular solution: temperature and molar_volume must be > 0")

    @property
    def scale(self) -> float:
        from femcell.units import R

        return R * self.temperature / self.molar_volume

    def f(self, c):
        from femcell.units import R

        rt = R * self.temperature
        return (rt * (c * ufl.ln(c) + (1 - c) * ufl.ln(1 - c))
                + self.interaction * c * (1 - c)) / self.molar_volume

    def df(self, c):
        from femcell.units import R

        return (R * self.temperature * ufl.ln(c / (1 - c))
                + self.interaction * (1 - 2 * c)) / self.molar_volume

    def d2f(self, c):
        from femcell.units import R

        return (R * self.temperature / (c * (1 - c)) - 2 * self.interaction) / self.molar_volume

    def concave_df(self, c):
        """The enthalpy Omega c (1 - c) is the concave part for Omega > 0 (the entropy is
        convex); with Omega <= 0 all of f is convex (no explicit part)."""
        return self.interaction * (1 - 2 * c) / self.molar_volume if self.interaction > 0 \
            else 0.0 * c

    def bounds(self):
        return (1e-9, 1.0 - 1e-9)  # the logarithms need 0 < c < 1


class CahnHilliard(Physics, ElectrodeCoupling):
    """Mixed (c, mu) Cahn-Hilliard on the mesh or on one cell region.

    Args:
        energy: homogeneous free energy (DoubleWell, RegularSolution or an object with
            `scale`, `f`, `df`, `concave_df`, `bounds`).
        kappa: gradient energy coefficient [J m^-1]: a float or a gdim x gdim array.
        mobility: M [m^5 J^-1 s^-1] (a float, a gdim x gdim array or a function of c (UFL)
            -> M) with mobility_law "constant"; the diffusivity D [m^2 s^-1] (a float or a
            gdim x gdim array) with "lattice_gas".
        initial: c at t = 0 [-]: a float or a callable x -> values (interpolated).
        scheme: one of SCHEMES.
        name: name of the concentration field (mu is "<name>_mu").
        mobility_law: one of MOBILITY_LAWS (lattice_gas needs a RegularSolution).
        region: cell region the field lives in (None: the whole mesh).
        reaction: the SurfaceReaction when the region is the electrode of a [[kinetics]]
            reaction (needs an energy with a molar volume).
        coherency: None, or a callable returning the Elasticity physics whose chemical
            eigenstrain follows this field (its concentration c / V_m [mol m^-3]): the
            chemical potential then carries the coherency stress, mu += -sigma : beta / V_m
            (`Elasticity.chemical_stress`), and the free energy the strain energy.
        site_volume: V_m [m^3 mol^-1] per site, the volume of a mole of sites, for the
            coherency (default: the energy's molar volume).
    """

    def __init__(self, energy, kappa, mobility, initial, *, scheme: str = "implicit",
                 name: str = "c", mobility_law: str = "constant", region: str | None = None,
                 reaction: SurfaceReaction | None = None, coherency=None,
                 site_volume: float | None = None):
        if scheme not in SCHEMES:
            raise MaterialError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        if mobility_law not in MOBILITY_LAWS:
            raise MaterialError(f"mobility_law must be one of {MOBILITY_LAWS}, got "
                                f"{mobility_law!r}")
        k = _spd("kappa", kappa)
        if callable(mobility):
            if mobility_law != "constant":
                raise MaterialError("a mobility function needs mobility_law = \"constant\"")
            m = mobility
        else:
            m = _spd("mobility" if mobility_law == "constant" else "diffusivity", mobility)
        if (mobility_law == "lattice_gas" or reaction is not None) and not hasattr(
                energy, "molar_volume"):
            raise MaterialError("the lattice-gas mobility and an electrode reaction need a "
                                "regular-solution energy (its molar volume: the site density)")
        self.energy, self.kappa, self.mobility = energy, k, m
        self.coherency, self.site_volume, self._mech = None, None, None
        if coherency is not None:
            self.couple_mechanics(coherency, site_volume)
        self.mobility_law, self.region, self.reaction = mobility_law, region, reaction
        self.initial, self.scheme, self.name = initial, scheme, name
        # convex splitting evaluates the concave part at the last level (not linearisable)
        self.small_signal_refusal = None if scheme == "implicit" else (
            "its convex-splitting scheme evaluates part of the chemical potential at the "
            "previous time level; use scheme = \"implicit\"")
        self.entity_maps = []
        self.time_dependent = False
        self.linear = False
        # the mixed (c, mu) Jacobian is a saddle-point system: GMRES + AMG of the presets
        # needs hundreds of iterations per step (h = 1 um BM1). "auto" keeps LU (faster at
        # 2D sizes); "iterative" gets the block preconditioner of `on_problem`
        self.direct_solver = True

    def periodic_refusal(self) -> str | None:
        if self.reaction is not None:
            return "its electrode reaction (an electrode particle is not periodic)"
        if self.coherency is not None:
            return ("its coherency strain (the elastic problem of a periodic cell needs a mean "
                    "strain as an unknown: not implemented)")
        if getattr(self, "sub", None) is not None:
            return f"its region {self.region!r} is only part of the mesh"
        return None

    def setup(self, domain, time) -> None:
        self.domain, self.time = domain, time
        mesh, e = domain.mesh, self.energy
        self.e_s = e.scale
        self.length = float(np.sqrt(_largest(self.kappa) / self.e_s))  # interface length
        if callable(self.mobility):
            m_ref = float(self.mobility(0.5))
        elif self.mobility_law == "lattice_gas":  # M = D c (1 - c) / E_s at c = 1/2
            m_ref = 0.25 * _largest(self.mobility) / self.e_s
        else:
            m_ref = _largest(self.mobility)
        self.t_ref = self.length ** 2 / (m_ref * self.e_s)
        self.sub = None
        if self.region is not None and domain.comm.allreduce(
                int(domain.cells(self.region).size), op=MPI.SUM) != domain.num_cells_global():
            self.sub = domain.submesh(self.region)
            self.entity_maps = [self.sub.cell_map]
        V = dolfinx.fem.functionspace(self.sub.mesh if self.sub else mesh, ("Lagrange", 1))
        self.V = V
        self.field = Field.create(self.name, V)
        self.mu = Field.create(f"{self.name}_mu", V, levels=0)  # algebraic
        self.fields = [self.field, self.mu]
        c, mu = self.field.u, self.mu.u
        q, w = ufl.TestFunction(V), ufl.TestFunction(V)
        wt = domain.weight()
        self._dx = dx = domain.dx(self.region)
        # a log potential (bounds): f' and the storage at the nodes (vertex rule, lumped),
        # so that every node carries its own barrier and stays inside (0, 1); with f' at
        # quadrature points a node can pass 1 while its quadrature points do not, and the
        # bounded Newton then pins it to the bound, where it solves no equation
        self._dxl = dxl = dx.reconstruct(metadata={"quadrature_rule": "vertex",
                                                   "quadrature_degree": 1}) \
            if e.bounds() else dx
        # the lumped terms' coordinate weight per cell (its value at the centroid): at the
        # vertices, 2 pi r or 4 pi r^2 would give a node on the axis no storage at all
        self._wl = wt
        if e.bounds() and not isinstance(wt, int | float):
            V0 = dolfinx.fem.functionspace(mesh, ("DG", 0))
            self._wl = dolfinx.fem.Function(V0, name="cell_weight")
            self._wl.interpolate(dolfinx.fem.Expression(wt, V0.element.interpolation_points))
        wl = self._wl
        d_eff = 3 if domain.coordinates in ("axisymmetric", "spherical") else domain.tdim
        self._s = 1.0 / self.length ** d_eff
        s = self._s
        grad_c = self._kappa_grad(c)
        if self.scheme == "implicit":
            dfc = e.df(c)
        else:  # convex part implicit, concave part at the last accepted level
            dfc = e.df(c) - e.concave_df(c) + e.concave_df(self.field.history[0])
        self._F = [
            s * (self.t_ref * time.ddt(self.field) * q * wl * dxl
                 + self.t_ref * self.e_s * ufl.inner(self._flux(c, mu), ufl.grad(q)) * wt * dx),
            s * ((mu - dfc / self.e_s) * w * wl * dxl
                 - ufl.inner(grad_c, ufl.grad(w)) / self.e_s * wt * dx),
        ]
        em = self.entity_maps or None
        self._q = {"free_energy": dolfinx.fem.form(
                       e.f(c) * wl * dxl + 0.5 * ufl.inner(grad_c, ufl.grad(c)) * wt * dx,
                       entity_maps=em),
                   "mass": dolfinx.fem.form(c * wl * dxl, entity_maps=em)}
        self._volume = domain.integrate(1.0 * wl * dxl)
        if self.reaction is not None or self.mobility_law == "lattice_gas":
            from femcell.units import F as FARADAY
            from femcell.units import R

            self.v_m = float(e.molar_volume)  # [m^3 mol^-1] per site
            self._mu_rt = self.e_s * self.v_m / (R * e.temperature)  # mu_m / (R T) per mu
            self._mu_volt = self.e_s * self.v_m / FARADAY  # mu_m / F [V] per mu

    def _flux(self, c, mu):
        """M grad mu / E_s [m^2 s^-1 per unit mu] (UFL): the mobility law times grad mu."""
        g = ufl.grad(mu)
        m = self.mobility
        if callable(m):
            return m(c) * g
        if self.mobility_law == "lattice_gas":
            factor = c * (1 - c) / self.e_s
        else:
            factor = 1.0
        if m.ndim == 2:
            return factor * ufl.dot(ufl.as_matrix(m.tolist()), g)
        return factor * float(m) * g

    def _kappa_grad(self, c):
        """kappa grad c [J m^-2 per unit c] (UFL), scalar or tensor kappa."""
        if self.kappa.ndim == 2:
            return ufl.dot(ufl.as_matrix(self.kappa.tolist()), ufl.grad(c))
        return float(self.kappa) * ufl.grad(c)

    def couple_mechanics(self, mechanics, site_volume: float | None = None) -> None:
        """Make the coherency active after construction (see `coherency`): `mechanics` a
        callable returning the Elasticity, site_volume V_m [m^3 mol^-1] (default: the
        energy's molar volume). Before the residuals are built."""
        site_volume = site_volume or getattr(self.energy, "molar_volume", None)
        if not (site_volume and site_volume > 0):
            raise MaterialError("coherency needs the volume of a mole of sites "
                                "(site_volume, or a regular-solution energy)")
        self.coherency, self.site_volume = mechanics, float(site_volume)

    def residuals(self):
        if self.coherency is not None and self._mech is None:  # every physics is set up
            self._mech = mech = self.coherency()
            s, w, wt = self._s, ufl.TestFunction(self.V), self.domain.weight()
            # the mu row: mu = f'(c) - div(kappa grad c) - sigma : beta / V_m
            self._F[1] = self._F[1] + s * mech.chemical_stress() / (
                self.site_volume * self.e_s) * w * wt * self._dx
        return self._F

    def bounds(self):
        b = self.energy.bounds()
        return {self.field.name: b} if b else {}

    def solution_defect(self) -> str | None:
        """With the logarithms of a regular solution the bounded Newton keeps c in
        (lo, hi); a node left ON a bound solves no equation there (its row is dropped from
        the active set), so the step would lose or make mass: a defect (the step is cut)."""
        b = self.energy.bounds()
        if not b:
            return None
        lo, hi = b
        n = self.V.dofmap.index_map.size_local
        c = self.field.u.x.array[:n]
        hits = self.domain.comm.allreduce(
            int(np.count_nonzero((c <= lo * (1 + 1e-6)) | (c >= hi - 1e-6 * lo))), op=MPI.SUM)
        if hits:
            return (f"{self.name} on a bound of its log potential ({lo:g} or 1 - {lo:g}) at "
                    f"{hits} node(s): not a solution of the Cahn-Hilliard equations (a step "
                    "too large, or a binodal composition below the bound: Omega / R T > 20)")
        return None

    def initial_condition(self) -> None:
        init = self.initial
        self.field.set_all(init if callable(init) else
                           (lambda x: np.full(x.shape[1], float(init))))
        # mu consistent with c: the L2 projection of f'(c) - div(kappa grad c)
        from dolfinx.fem.petsc import LinearProblem

        V = self.V
        u, w = ufl.TrialFunction(V), ufl.TestFunction(V)
        c = self.field.u
        wt, dx, dxl, wl = self.domain.weight(), self._dx, self._dxl, self._wl
        lp = LinearProblem(
            u * w * wl * dxl, self.energy.df(c) * w / self.e_s * wl * dxl + ufl.inner(
                self._kappa_grad(c), ufl.grad(w)) / self.e_s * wt * dx, u=self.mu.u,
            petsc_options={"ksp_type": "preonly", "pc_type": "lu",
                           "pc_factor_mat_solver_type": "mumps"},
            petsc_options_prefix="femcell_ch_mu0_", entity_maps=self.entity_maps or None)
        lp.solve()
        reason = lp.solver.getConvergedReason()
        if reason < 0:
            raise MaterialError(f"{self.name}: the initial chemical potential (an L2 "
                                f"projection) did not solve (KSP reason {reason})")
        self.mu.u.x.scatter_forward()

    # -------------------------------------------------------------- electrode coupling
    def _reaction(self):
        if self.reaction is None:
            raise MaterialError(f"{self.name}: the region {self.region!r} is an electrode "
                                "but the Cahn-Hilliard physics has no surface reaction "
                                "(standard_potential)")
        return self.reaction

    def equilibrium_potential(self, side: str, default):
        """U_eq = E0 - mu_m / F [V] at the surface (UFL), mu_m the molar chemical potential
        with its gradient term."""
        return self._reaction().standard_potential - self._mu_volt * self.mu.u(side)

    def exchange_factor(self, side: str, law):
        """i0 factor at the surface (module docstring): "bazant" (1 - c) exp(alpha_c mu_m /
        R T) / 0.5, or "ideal" (c / 0.5)^alpha_c ((1 - c) / 0.5)^alpha_a."""
        from femcell.physics.kinetics import concentration_exchange_factor

        c = self.field.u(side)
        if self._reaction().exchange == "ideal":
            return concentration_exchange_factor(law, c)
        _, ac = law.transfer_coefficients()
        cc = ufl.max_value(ufl.min_value(c, 1 - 1e-9), 1e-9)
        return (1 - cc) / 0.5 * ufl.exp(ac * self._mu_rt * self.mu.u(side))

    def current_terms(self, current_density, side: str, measure, weight) -> dict:
        """An anodic current j [A m^-2] removes Li: M grad mu . n = -j V_m / F (site fraction
        per time and area), scaled like the c row."""
        from femcell.units import F as FARADAY

        self._reaction()
        q = ufl.TestFunction(self.V)
        inflow = -current_density / FARADAY * self.v_m  # [m s^-1] of site fraction
        return {self.field.name: -self._s * self.t_ref * inflow * q(side) * weight * measure}

    def homogeneous_potential(self, x):
        """U_eq [V] of a homogeneous particle at filling x (numpy): E0 - V_m f'(x) / F, the
        open-circuit curve the particle would follow without separating."""
        from femcell.units import F as FARADAY

        x = np.asarray(x, dtype=float)
        e = self.energy
        df = (e.scale * np.log(x / (1 - x)) + e.interaction * (1 - 2 * x) / e.molar_volume)
        return self._reaction().standard_potential - e.molar_volume * df / FARADAY

    def initial_equilibrium_potential(self, comm) -> float | None:
        """U_eq [V] of the initial state at its mean nodal chemical potential."""
        if self.reaction is None:
            return None
        n = self.V.dofmap.index_map.size_local
        mu0 = comm.allreduce(float(self.mu.u.x.array[:n].sum()), op=MPI.SUM) / max(
            comm.allreduce(n, op=MPI.SUM), 1)
        return self.reaction.standard_potential - self._mu_volt * mu0

    # -------------------------------------------------------------- outputs
    def on_problem(self, problem) -> None:
        """The linear solver. With [solver] linear = "iterative", or "auto" on a 3D mesh above
        BLOCK_PC_3D_DOFS unknowns (where it beats LU: 4.4x at 138k), the block
        preconditioner of femcell.solvers.schur with the matched Schur complement
        (`MatchedSchur`) where it applies - (c, mu) the problem's only unknowns, a constant
        mobility (its c rows' block is then a mass matrix) and no bounds (a bounded Newton
        solves reduced systems) - else LU: AMG on the whole saddle-point Jacobian needs
        hundreds of iterations."""
        from femcell.solvers import schur

        if {"ksp_type", "pc_type"} & set(problem._user_options):
            return  # the user's own solver options
        applies = not (problem._bounds or callable(self.mobility)
                       or self.mobility_law != "constant"
                       or [f.name for f in problem.fields] != [self.field.name, self.mu.name])
        asked = problem.linear_solver
        if asked == "direct" or asked == "auto" and not (
                applies and self.domain.tdim == 3 and problem.num_dofs > BLOCK_PC_3D_DOFS):
            return  # LU (the presets' choice with direct_solver)
        ksps = [nlp.solver.getKSP() for nlp in problem._nlps.values()]
        if not applies:
            for ksp in ksps:
                schur.use_direct(ksp, problem.num_dofs, self.domain.comm.size)
            return
        comm = self.domain.comm
        is_c, is_mu = schur.block_index_sets([self.field.u, self.mu.u], comm)
        self._block_pc = schur.SchurPC(is_c, is_mu, MatchedSchur(self, problem), comm)
        user_rtol = "ksp_rtol" in problem._user_options
        for ksp in ksps:
            schur.install(ksp, self._block_pc, None if user_rtol else 1e-9)

    def quantities(self) -> dict[str, float]:
        """free_energy [J] (J m^-1 in 2D; with coherency the chemical part, and
        elastic_energy the strain energy of the solid), mean concentration c_mean [-], c_min,
        c_max, and with a site density c_moles [mol] (mol m^-1 in 2D)."""
        comm = self.domain.comm
        out = {k: comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
               for k, f in self._q.items()}
        if self._mech is not None:
            # the strain energy of the whole solid (the mechanics may reach beyond the
            # region): part of the free energy that never increases
            out["elastic_energy"] = self._mech.strain_energy()
        mass = out.pop("mass")
        out[f"{self.name}_mean"] = mass / self._volume
        if hasattr(self, "v_m"):  # moles of Li in the region (per depth in 2D)
            out[f"{self.name}_moles"] = mass / self.v_m
        n = self.field.u.function_space.dofmap.index_map.size_local
        c = self.field.u.x.array[:n]
        out[f"{self.name}_min"] = comm.allreduce(float(c.min()) if n else np.inf, op=MPI.MIN)
        out[f"{self.name}_max"] = comm.allreduce(float(c.max()) if n else -np.inf, op=MPI.MAX)
        return out

    def admissibility_warnings(self, rows: list[dict], tolerance: float = 0.0) -> list[str]:
        """A site fraction outside [0, 1] (beyond tolerance) is impossible: one warning with
        the number of recorded states and the worst value (a double well does not keep c
        within [0, 1] by itself)."""
        kmin, kmax = f"{self.name}_min", f"{self.name}_max"
        rows = [r for r in rows if kmin in r and kmax in r]
        bad = [r for r in rows if r[kmin] < -tolerance or r[kmax] > 1 + tolerance]
        if not bad:
            return []
        worst = max(bad, key=lambda r: max(-r[kmin], r[kmax] - 1))
        return [f"{self.name}: site fraction outside [0, 1] in {len(bad)} of {len(rows)} "
                f"recorded states (c from {worst[kmin]:.4g} to {worst[kmax]:.4g} at t = "
                f"{worst.get('t', float('nan')):.6g} s)"]

    def output_fields(self):
        return {self.name: (self.field.u, 1.0), f"{self.name}_mu": (self.mu.u, self.e_s)}

    def describe(self) -> dict:
        out = {"scheme": self.scheme, "energy_scale_J_m3": self.e_s,
               "interface_length_m": self.length, "time_scale_s": self.t_ref,
               "energy": type(self.energy).__name__, "mobility_law": self.mobility_law,
               "region": self.region}
        if self.reaction is not None:
            out["standard_potential_V"] = self.reaction.standard_potential
            out["exchange"] = self.reaction.exchange
        return out




class MatchedSchur:
    """The approximate inverse of the Schur complement of the (c, mu) Jacobian, matched
    factors after Bosch, Kay, Stoll and Wathen (SIAM J. Sci. Comput. 36 (2014) B49):

        S = A11 - A10 A00^-1 A01 = s [M + tau (K_kappa + F'') M^-1 K_M],   tau = dt / a0,
        S^-1 ~ H2^-1 A11 H1^-1,   H_i = A11 + rho_i s K_b,
        K_b = int sqrt(tau) B grad u . grad v,   B = (kappa M)^(1/2),

    A11 = s M the mu block of the Jacobian, s the rows' scale, M a constant mobility (a
    scalar or a tensor, as kappa). For one Fourier mode of a constant f'' >= 0,
    S = 1 + a k^2 + b k^4 (a = tau M f'', b = tau M kappa) and the factors
    (1 + rho_1 sqrt(b) k^2)(1 + rho_2 sqrt(b) k^2) match it exactly when rho_1 + rho_2 =
    r = a / sqrt(b) and rho_1 rho_2 = 1 (real for r >= 2); for r < 2, rho_1 = rho_2 = 1
    leaves S / S_approx in (1/2, 1] (the matching without f''). f'' is taken as its positive
    part's mean over the field (the separated phases', where a coarsening run takes its long
    steps); the spinodal f'' < 0 at the interfaces is left out. H_i are solved by CG with
    algebraic multigrid (GAMG, or BoomerAMG where the build has hypre) to 1e-3.

    Args:
        ch: the set-up CahnHilliard.
        problem: its Problem (the periodic map of a periodic domain folds K_b).
    """

    def __init__(self, ch, problem):
        from scipy.linalg import sqrtm

        from femcell._dolfinx import PETSc, has_package

        self.ch = ch
        V, dx, wt = ch.V, ch._dx, ch.domain.weight()
        em = ch.entity_maps or None
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        gdim = ch.domain.gdim
        kap = ch.kappa if ch.kappa.ndim == 2 else float(ch.kappa) * np.eye(gdim)
        m = ch.mobility  # a constant (on_problem)
        m = m if m.ndim == 2 else float(m) * np.eye(gdim)
        c = ch.field.u
        b = np.real(sqrtm(kap @ m))
        b = 0.5 * (b + b.T)  # [m^2 s^-1/2]
        # r = f'' sqrt(tau M / kappa), per unit f'' and sqrt(tau)
        self._r_per = float(np.sqrt(np.max(np.linalg.eigvalsh(m))
                                    / np.max(np.linalg.eigvalsh(kap))))
        self._root_tau = dolfinx.fem.Constant(V.mesh, PETSc.ScalarType(1.0))
        self.form = dolfinx.fem.form(
            ch._s * self._root_tau * ufl.inner(
                ufl.dot(ufl.as_matrix(b.tolist()), ufl.grad(u)), ufl.grad(v)) * wt * dx,
            entity_maps=em)
        d2f = getattr(ch.energy, "d2f", None)
        self._fpp = None if d2f is None else (
            dolfinx.fem.form(ufl.max_value(d2f(c), 0.0) * wt * dx, entity_maps=em),
            dolfinx.fem.form(dolfinx.fem.Constant(V.mesh, PETSc.ScalarType(1.0)) * wt * dx,
                             entity_maps=em))
        self.K = dolfinx.fem.petsc.create_matrix(self.form)
        self.periodic = None
        if problem._periodic is not None:
            from femcell.solvers.periodic import PeriodicMap

            self.periodic = PeriodicMap.of_domain([ch.mu.u], ch.domain)
        self.Kp = None
        self.H = [None, None]
        self.ksp = []
        for _ in range(2):
            ksp = PETSc.KSP().create(ch.domain.comm)
            ksp.setType("cg")
            ksp.setTolerances(rtol=1e-3, max_it=200)
            pc = ksp.getPC()
            if has_package("hypre"):
                pc.setType("hypre")
                pc.setHYPREType("boomeramg")
            else:
                pc.setType("gamg")
            self.ksp.append(ksp)
        self.A11 = None
        self.tmp = None
        self.rho = (1.0, 1.0)

    def _factors(self, tau: float) -> tuple[float, float]:
        """rho_1, rho_2 (class docstring) at the current c and step."""
        if self._fpp is None:
            return 1.0, 1.0
        comm = self.ch.domain.comm
        num, vol = (comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
                    for f in self._fpp)
        r = (num / vol) * self._r_per * np.sqrt(tau)
        if not r > 2.0:
            return 1.0, 1.0
        root = np.sqrt(r * r - 4.0)
        return 0.5 * (r + root), 0.5 * (r - root)

    def setup(self, a11) -> None:
        """A new Jacobian: H_i = A11 + rho_i s K_b at the current c and step."""
        from femcell._dolfinx import PETSc

        t = self.ch.time
        tau = float(t.dt.value) / float(t.a[0].value)
        self._root_tau.value = np.sqrt(tau)
        self.rho = self._factors(tau)
        self.K.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(self.K, self.form)
        self.K.assemble()
        k = self.K
        if self.periodic is not None:
            self.Kp = self.K.PtAP(self.periodic.Q, result=self.Kp)
            k = self.Kp
        subset = PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN
        for i, rho in enumerate(self.rho):
            if self.H[i] is None:
                self.H[i] = k.duplicate(copy=True)
                self.H[i].scale(rho)
                self.H[i].axpy(1.0, a11,
                               structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
            else:
                self.H[i].zeroEntries()
                self.H[i].axpy(rho, k, structure=subset)
                self.H[i].axpy(1.0, a11, structure=subset)
            self.ksp[i].setOperators(self.H[i])
            self.ksp[i].setUp()
        self.A11 = a11
        if self.tmp is None:
            self.tmp = (a11.createVecLeft(), a11.createVecLeft())

    def apply(self, x, y) -> bool:
        """y = H2^-1 A11 H1^-1 x; False if an inner solve broke down."""
        from femcell._dolfinx import PETSc

        t0, t1 = self.tmp
        self.ksp[0].solve(x, t0)
        self.A11.mult(t0, t1)
        self.ksp[1].solve(t1, y)
        # (reaching max_it is an inexact solve, absorbed by the flexible outer method)
        return all(k.getConvergedReason() >= 0 or k.getConvergedReason()
                   == PETSc.KSP.ConvergedReason.DIVERGED_ITS for k in self.ksp)

    def destroy(self) -> None:
        for obj in (*self.ksp, self.K, self.Kp, *self.H, *(self.tmp or ())):
            if obj is not None:
                obj.destroy()
        if self.periodic is not None:
            self.periodic.close()
