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
from femcell.physics.base import Physics

SCHEMES = ("implicit", "convex_splitting")


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


class CahnHilliard(Physics):
    """Mixed (c, mu) Cahn-Hilliard on the whole mesh.

    Args:
        energy: homogeneous free energy (DoubleWell, RegularSolution or an object with
            `scale`, `f`, `df`, `concave_df`, `bounds`).
        kappa: gradient energy coefficient [J m^-1]: a float or a gdim x gdim array.
        mobility: M [m^5 J^-1 s^-1]: a float or a function of c (UFL) -> M.
        initial: c at t = 0 [-]: a float or a callable x -> values (interpolated).
        scheme: one of SCHEMES.
        name: name of the concentration field (mu is "<name>_mu").
    """

    def __init__(self, energy, kappa, mobility, initial, *, scheme: str = "implicit",
                 name: str = "c"):
        if scheme not in SCHEMES:
            raise MaterialError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        try:
            k = np.asarray(kappa, dtype=float)
        except ValueError:
            raise MaterialError(f"kappa must be a number or a square table, got {kappa}") \
                from None
        if k.ndim not in (0, 2) or k.ndim == 2 and (k.shape[0] != k.shape[1]
                                                   or not np.allclose(k, k.T)):
            raise MaterialError(f"kappa must be a number or a symmetric square table, got "
                                f"{kappa}")
        if k.ndim == 0 and not k > 0 or k.ndim == 2 and np.any(np.linalg.eigvalsh(k) <= 0):
            raise MaterialError(f"kappa must be positive (definite), got {kappa}")
        if not callable(mobility) and not float(mobility) > 0:
            raise MaterialError(f"mobility must be > 0, got {mobility}")
        self.energy, self.kappa, self.mobility = energy, k, mobility
        self.initial, self.scheme, self.name = initial, scheme, name
        self.time_dependent = False
        self.linear = False
        # the mixed (c, mu) Jacobian is a saddle-point system: GMRES + AMG of the presets
        # needs hundreds of iterations per step (h = 1 um BM1); LU until a block
        # preconditioner exists
        self.direct_solver = True

    def setup(self, domain, time) -> None:
        self.domain, self.time = domain, time
        mesh, e = domain.mesh, self.energy
        k_ref = float(np.max(np.linalg.eigvalsh(self.kappa))) if self.kappa.ndim == 2 \
            else float(self.kappa)
        self.e_s = e.scale
        self.length = float(np.sqrt(k_ref / self.e_s))  # interface length
        m_ref = float(self.mobility(0.5)) if callable(self.mobility) else float(self.mobility)
        self.t_ref = self.length ** 2 / (m_ref * self.e_s)
        V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
        self.field = Field.create(self.name, V)
        self.mu = Field.create(f"{self.name}_mu", V, levels=0)  # algebraic
        self.fields = [self.field, self.mu]
        c, mu = self.field.u, self.mu.u
        q, w = ufl.TestFunction(V), ufl.TestFunction(V)
        wt, dx = domain.weight(), domain.dx()
        d_eff = 3 if domain.coordinates in ("axisymmetric", "spherical") else domain.tdim
        s = 1.0 / self.length ** d_eff
        M = self.mobility(c) if callable(self.mobility) else self.mobility
        grad_c = self._kappa_grad(c)
        if self.scheme == "implicit":
            dfc = e.df(c)
        else:  # convex part implicit, concave part at the last accepted level
            dfc = e.df(c) - e.concave_df(c) + e.concave_df(self.field.history[0])
        self._F = [
            s * (self.t_ref * time.ddt(self.field) * q
                 + self.t_ref * M * self.e_s * ufl.inner(ufl.grad(mu), ufl.grad(q))) * wt * dx,
            s * ((mu - dfc / self.e_s) * w
                 - ufl.inner(grad_c, ufl.grad(w)) / self.e_s) * wt * dx,
        ]
        energy = e.f(c) + 0.5 * ufl.inner(grad_c, ufl.grad(c))
        self._q = {"free_energy": dolfinx.fem.form(energy * wt * dx),
                   "mass": dolfinx.fem.form(c * wt * dx)}
        self._volume = domain.integrate(1.0 * wt * dx)

    def _kappa_grad(self, c):
        """kappa grad c [J m^-2 per unit c] (UFL), scalar or tensor kappa."""
        if self.kappa.ndim == 2:
            return ufl.dot(ufl.as_matrix(self.kappa.tolist()), ufl.grad(c))
        return float(self.kappa) * ufl.grad(c)

    def residuals(self):
        return self._F

    def bounds(self):
        b = self.energy.bounds()
        return {self.field.name: b} if b else {}

    def initial_condition(self) -> None:
        init = self.initial
        self.field.set_all(init if callable(init) else
                           (lambda x: np.full(x.shape[1], float(init))))
        # mu consistent with c: the L2 projection of f'(c) - div(kappa grad c)
        V = self.mu.u.function_space
        u, w = ufl.TrialFunction(V), ufl.TestFunction(V)
        c = self.field.u
        grad_c = self._kappa_grad(c)
        wt, dx = self.domain.weight(), self.domain.dx()
        from dolfinx.fem.petsc import LinearProblem

        lp = LinearProblem(u * w * wt * dx, (self.energy.df(c) * w + ufl.inner(
            grad_c, ufl.grad(w))) / self.e_s * wt * dx, u=self.mu.u,
            petsc_options={"ksp_type": "preonly", "pc_type": "lu",
                           "pc_factor_mat_solver_type": "mumps"},
            petsc_options_prefix="femcell_ch_mu0_")
        lp.solve()
        self.mu.u.x.scatter_forward()

    # -------------------------------------------------------------- outputs
    def quantities(self) -> dict[str, float]:
        """free_energy [J] (J m^-1 in 2D), mean concentration c_mean [-], c_min, c_max."""
        comm = self.domain.comm
        out = {k: comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
               for k, f in self._q.items()}
        out[f"{self.name}_mean"] = out.pop("mass") / self._volume
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
        return {"scheme": self.scheme, "energy_scale_J_m3": self.e_s,
                "interface_length_m": self.length, "time_scale_s": self.t_ref,
                "energy": type(self.energy).__name__}


