"""Metal anode on stripping: vacancies at the interface, their transfer into the metal, void
growth and contact loss, creep closure (PHYSICS.md section 3).

Fields on the anode|electrolyte interface (a facet submesh):

    phi_c Gamma_s d(theta)/dt = j / F - phi_c (J_t + J_void)          vacancy coverage theta
    d(phi_c)/dt = -(Omega / h_v) phi_c J_void + (1 - phi_c) eps_dot(p / phi_c)
    J_t = kappa(T) (theta - Omega c_v),  J_void = k_v max(0, theta - theta_crit)

theta is the coverage of the CONTACTING interface and J_t, J_void are rates per contacting
area; j is the anodic current density of the anode kinetics per nominal area, phi_c j_BV
(the kinetics scale i0 by phi_c). Per contacting area the vacancies are created at
j / (F phi_c) = j_BV / F: at a fixed cell current, losing contact raises the local
generation (current crowding) AND cuts the transfer capacity phi_c kappa: the runaway that
makes a CCD sharp (PHYSICS.md section 3). `transfer_area = "nominal"` drops the phi_c
weights (transfer and condensation per nominal area; the form before issue 14): a
regression case, no runaway. The vacancies that cross the interface (phi_c J_t) enter the
metal's vacancy concentration c_v (a Diffusion physics on the anode region:
dc_v/dt = div(D_v grad c_v), c_v = c_eq at the sink). phi_c is bounded to [0, 1] by the
variational-inequality Newton solver; the weight is max(phi_c, 1e-6) so the coverage rows
stay regular on an interface that has lost all contact. p is the compressive stress the
interface carries per nominal area: the stack pressure (mean field) or, with a solved
mechanics (`normal_stress`), -sigma_nn on the metal side of each facet, which concentrates
at the contact edges around pores.

The interfacial step (kappa, activation energy E_int) and bulk diffusion (D_v, E_m) are kept
apart so either can limit the critical current.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.fields import Field
from femcell.materials.core import Arrhenius, MaterialError
from femcell.physics.base import ElectrodeCoupling, Physics, time_function
from femcell.units import T_REF
from femcell.units import F as FARADAY
from femcell.units import R as GAS_R

# width of the void-onset switch in units of theta_crit (see AnodeInterface.setup)
_SMOOTH = 1e-4
# floor of the contact weight phi_c of the per-contact-area rates (regular coverage rows)
PHI_FLOOR = 1e-6
# a moving anode stops (a cut-off) when this share of its initial thickness is left: the
# elements between collector and interface degenerate beyond it
THINNEST = 0.1
TRANSFER_AREAS = ("contact", "nominal")


@dataclass(frozen=True)
class InterfaceVacancyParameters:
    """Parameters of the interfacial vacancy exchange, void growth and creep closure (SI).

    Attributes:
        site_density: Gamma_s, interfacial vacancy sites [mol m^-2].
        transfer_rate: kappa(T), rate of vacancy transfer into the metal [mol m^-2 s^-1].
        molar_volume: Omega of the metal [m^3 mol^-1].
        theta_crit: coverage above which vacancies condense into voids [-].
        void_rate: k_v [mol m^-2 s^-1].
        void_height: h_v, thickness of a condensed void layer [m].
        creep_prefactor: A at 25 degC [MPa^-n s^-1] of eps_dot = A sigma^n (0: no creep),
            Arrhenius in T with creep_activation.
        creep_exponent: n [-].
        creep_activation: Q [J mol^-1].
        stack_pressure: p_stack [Pa].
        transfer_area: "contact" (rates per contacting area, weighted by phi_c: runaway) or
            "nominal" (per nominal area: no feedback of the contact loss; regression).
        coverage_potential: the coverage acts on the electrode potential (the stripping
            reaction makes an interface vacancy): U_eq + (R T / F) ln(theta (1 - theta_eq) /
            (theta_eq (1 - theta))); False: the coverage does not enter the potential.
        citations: sources.
    """

    site_density: float
    transfer_rate: Arrhenius
    molar_volume: float
    theta_crit: float = 1.0
    void_rate: float = 0.0
    void_height: float = 1e-7
    creep_prefactor: float = 0.0
    creep_exponent: float = 5.0
    creep_activation: float = 0.0
    stack_pressure: float = 0.0
    transfer_area: str = "contact"
    coverage_potential: bool = False
    citations: tuple[str, ...] = ()

    def __post_init__(self):
        for k in ("site_density", "molar_volume", "void_height"):
            if not getattr(self, k) > 0:
                raise MaterialError(f"anode interface: {k} must be > 0, got {getattr(self, k)}")
        for k in ("void_rate", "creep_prefactor", "stack_pressure", "theta_crit"):
            if getattr(self, k) < 0:
                raise MaterialError(f"anode interface: {k} must be >= 0, got {getattr(self, k)}")
        if self.transfer_area not in TRANSFER_AREAS:
            raise MaterialError(f"anode interface: transfer_area must be one of "
                                f"{TRANSFER_AREAS}, got {self.transfer_area!r}")


def wetting_theta_crit(theta_crit: float, theta_eq: float, angle_from: float,
                       angle_to: float) -> float:
    """Critical coverage for void opening on an interface of another wetting angle [-].

    A void opens where the free energy the condensing vacancies release, k_B T ln(S) per
    site at the supersaturation S = theta / theta_eq, pays the work of adhesion per site,
    W_ad = gamma_metal (1 + cos(angle)) (Young-Dupre). At one temperature ln(S_crit) is
    proportional to W_ad, so

        ln(theta_crit' / theta_eq) = ln(theta_crit / theta_eq) (1 + cos a') / (1 + cos a)

    (gamma_metal cancels; theta_crit stays temperature independent as in PHYSICS.md). A
    better-wetted interface (smaller angle) needs a larger vacancy excess before it opens.

    Args:
        theta_crit: critical coverage at contact angle angle_from [-].
        theta_eq: equilibrium coverage [-].
        angle_from, angle_to: contact angles of the metal [rad].

    Raises:
        MaterialError: the new critical coverage would reach 1 (a full layer of vacancies).
    """
    if not 0 < theta_eq < theta_crit:
        raise MaterialError(f"wetting: need 0 < theta_eq < theta_crit, got {theta_eq:g}, "
                            f"{theta_crit:g}")
    ratio = (1.0 + np.cos(angle_to)) / (1.0 + np.cos(angle_from))
    out = theta_eq * float(np.exp(np.log(theta_crit / theta_eq) * ratio))
    if not out < 1.0:
        raise MaterialError(f"wetting angle {np.degrees(angle_to):.0f} deg gives theta_crit = "
                            f"{out:.3g} >= 1 (no void before a full vacancy layer)")
    return out


def creep_rate_prefactor(prefactor: float, activation: float, temperature: float) -> float:
    """Norton creep prefactor A(T) = A_ref exp(-Q / R (1/T - 1/T_ref)) [MPa^-n s^-1].

    Args:
        prefactor: A_ref at 25 degC [MPa^-n s^-1].
        activation: Q [J mol^-1].
        temperature: T [K].
    """
    from femcell.units import R

    return prefactor * float(np.exp(-activation / R * (1.0 / temperature - 1.0 / T_REF)))


def thermal_vacancy_fraction(formation_energy: float, formation_entropy: float,
                             temperature: float) -> float:
    """Equilibrium vacancy site fraction of a metal, x_v = exp(S_f / k_B) exp(-E_f / k_B T).

    Args:
        formation_energy: E_f [J].
        formation_entropy: S_f in units of k_B [-].
        temperature: T [K].
    """
    from femcell.units import K_B

    return float(np.exp(formation_entropy - formation_energy / (K_B * temperature)))


def adhesion_per_site(surface_energy: float, angle: float, site_density: float) -> float:
    """Work of adhesion of the metal per interface site, w = gamma (1 + cos angle) / (Gamma_s
    N_A) [J] (Young-Dupre times the area of one site).

    Args:
        surface_energy: gamma of the metal [J m^-2].
        angle: contact angle of the metal on the electrolyte (or interlayer) [rad].
        site_density: Gamma_s [mol m^-2].
    """
    from femcell.units import N_A

    return surface_energy * (1.0 + float(np.cos(angle))) / (site_density * N_A)


def supersaturation_theta_crit(theta_eq: float, adhesion: float, temperature: float) -> float:
    """Critical coverage for void opening from the nucleation balance at temperature T [-].

    A void opens where the free energy the condensing vacancies release per site,
    k_B T ln(theta / theta_eq), pays the work of adhesion per site w:
    theta_crit = theta_eq exp(w / k_B T). With a thermal theta_eq = x_v(T) this carries the
    formation energy and the adhesion into the temperature dependence of j_crit:
    F kappa (theta_crit - theta_eq) ~ exp(-(E_int + E_f - w) / k_B T).

    Args:
        theta_eq: equilibrium coverage at T [-].
        adhesion: w [J] (`adhesion_per_site`).
        temperature: T [K].

    Raises:
        MaterialError: theta_crit would reach 1 (no void before a full vacancy layer).
    """
    from femcell.units import EV, K_B

    out = theta_eq * float(np.exp(adhesion / (K_B * temperature)))
    if not out < 1.0:
        raise MaterialError(f"work of adhesion {adhesion / EV:.3g} eV per site at "
                            f"{temperature:.1f} K gives theta_crit = {out:.3g} >= 1 (no void "
                            "before a full vacancy layer)")
    return out


def with_interlayer(params: InterfaceVacancyParameters, interlayer, *, wetting_angle: float,
                    theta_eq: float, theta_crit: float | None = None
                    ) -> InterfaceVacancyParameters:
    """The interface parameters with an interlayer between metal and electrolyte.

    The interlayer sets the transfer barrier (the attempt prefactor kappa_0 of
    kappa = kappa_0 exp(-E_int / k_B T) is kept, so kappa at 25 degC changes by
    exp((E_bare - E_il) / k_B T_ref)) and the wetting (theta_crit via wetting_theta_crit).

    Args:
        params: the bare interface.
        interlayer: a library Interlayer (activation_energy [J], wetting_angle [rad]).
        wetting_angle: contact angle of the metal on the bare electrolyte [rad].
        theta_eq: equilibrium coverage [-].
        theta_crit: the critical coverage on the interlayer if the caller has it from the
            nucleation balance (`supersaturation_theta_crit`); default: rescaled from the
            bare one by `wetting_theta_crit`.
    """
    import dataclasses

    from femcell.units import K_B

    k = params.transfer_rate
    kappa_ref = k.value_ref * float(np.exp((k.activation_energy - interlayer.activation_energy)
                                           / (K_B * k.t_ref)))
    cite = "; ".join(interlayer.all_citations())
    return dataclasses.replace(
        params,
        transfer_rate=Arrhenius(kappa_ref, interlayer.activation_energy, t_ref=k.t_ref,
                                citation=cite),
        theta_crit=theta_crit if theta_crit is not None else wetting_theta_crit(
            params.theta_crit, theta_eq, wetting_angle, interlayer.wetting_angle),
        citations=tuple(params.citations) + (cite,))


class AnodeInterface(Physics, ElectrodeCoupling):
    """Vacancy coverage and contact fraction on the anode|electrolyte interface.

    Args:
        params: InterfaceVacancyParameters.
        vacancies: the Diffusion physics of c_v on the anode region (set up before this one).
        interface: the interface name "anode|electrolyte" (as the Domain names it).
        metal: the metal region name (the side of the interface that is the anode).
        temperature: T [K], float or function of t.
        theta0: initial coverage [-] (default: equilibrium with the initial c_v).
        normal_stress: None (creep under the stack pressure, the mean field) or a callable
            returning the Elasticity physics whose solved stress presses the interface
            (called when the residuals are built, after every physics is set up).
        front: None (the anode's mesh stays as built) or the MovingFront that moves the
            metal's collector face with the vacancies annihilated there; the quantities
            then include the metal in the lattice and the anode thickness from the mesh.
        theta_eq: the equilibrium coverage [-], the reference of the coverage potential
            (needed with params.coverage_potential; default: Omega times the initial c_v).
    """

    name = "anode_interface"
    linear = False
    step_hook = True  # the metal ledger sums the fluxes of every accepted step

    def __init__(self, params: InterfaceVacancyParameters, vacancies, *,
                 interface: str = "anode|electrolyte", metal: str = "anode",
                 temperature=T_REF, theta0: float | None = None, normal_stress=None,
                 front=None, theta_eq: float | None = None):
        self.params = params
        self.normal_stress = normal_stress
        self.front = front
        self._metal0 = None
        self.vac = vacancies
        self.interface_name = interface
        self.metal = metal
        self.temperature = time_function(temperature)
        self.theta0 = theta0
        if theta_eq is None and params.coverage_potential:
            c0 = vacancies.initial
            if callable(c0):
                raise MaterialError("anode interface: coverage_potential needs theta_eq when "
                                    "the initial vacancy concentration is not uniform")
            theta_eq = params.molar_volume * float(c0)
        if params.coverage_potential and not 0 < theta_eq < 1:
            raise MaterialError(f"anode interface: theta_eq must lie in (0, 1), got "
                                f"{theta_eq!r}")
        self.theta_eq = theta_eq
        self.time_dependent = True
        self._ledger: dict = {}  # the metal ledger, from on_problem on

    def setup(self, domain, time) -> None:
        self.domain, self.time = domain, time
        p = self.params
        mesh = domain.mesh
        a, b = self.interface_name.split("|", 1)
        itf = domain.interface(a, b)
        self.side = "+" if itf.plus == self.metal else "-"
        self.dS = domain.dS(itf.name)
        # the interface's own rate laws (store, transfer, condensation, contact) at the
        # facet vertices: one ODE per node, as the model has no lateral coupling. With the
        # consistent rule a node at the void onset under a current gradient switches at some
        # quadrature points of its facets and not at others, and Newton stalls there.
        self.dS_node = self.dS.reconstruct(metadata={"quadrature_rule": "vertex",
                                                     "quadrature_degree": 1})
        fmesh, fmap = domain.interface_submesh(itf.name)
        self.entity_maps = [fmap] + list(self.vac.entity_maps)
        V = dolfinx.fem.functionspace(fmesh, ("Lagrange", 1))
        self.theta = Field.create("theta", V)
        self.phi = Field.create("phi_c", V)
        self.fields = [self.theta, self.phi]
        w = domain.weight()
        self.wS = w("+") if not isinstance(w, int | float) else w
        const = lambda v: dolfinx.fem.Constant(mesh, PETSc.ScalarType(v))  # noqa: E731
        T0 = self.temperature(0.0)
        self._T = const(T0)
        self._kappa = const(p.transfer_rate(T0))
        self._eps = const(creep_rate_prefactor(p.creep_prefactor, p.creep_activation, T0))
        s_ = self.side
        th, ph = self.theta.u(s_), self.phi.u(s_)
        cv = self.vac.field.u(s_) * self.vac.material.c_max  # SI vacancy concentration
        self.J_t = self._kappa * (th - p.molar_volume * cv)
        # max(x, 0) as a softplus of width d = 1e-4 theta_crit: Newton cycles on the kink when
        # condensation is stiff (large k_v). The exponential tail vanishes 1 % below theta_crit
        # (exp(-100)); at the threshold itself J_void = k_v d ln 2 instead of 0.
        z = (th - p.theta_crit) / (_SMOOTH * max(p.theta_crit, 1e-12))
        self.J_void = p.void_rate * _SMOOTH * max(p.theta_crit, 1e-12) * (
            ufl.max_value(z, 0.0) + ufl.ln(1.0 + ufl.exp(-abs(z))))
        # scales: the diffusion time of the vacancies and the interface size
        t_ref = self.vac.scales.time
        L = self.vac.scales.length
        d_eff = 3 if domain.coordinates in ("axisymmetric", "spherical") else domain.tdim
        # the coverage rows in units of coverage: divided by the faster of the transfer rate
        # and the store's own rate Gamma_s / t_ref (t_ref / Gamma_s alone leaves fast
        # interfaces with a round-off floor above the Newton tolerance)
        rate = max(p.transfer_rate(T0), p.site_density / t_ref)
        self._s_theta = 1.0 / (rate * L ** (d_eff - 1))
        # contact rows: divided by the fastest rate in them, the void growth per unit coverage
        # excess theta_crit (Omega / h_v) k_v theta_crit, or 1 / t_ref; scaled by t_ref alone
        # a slow bulk (t_ref ~ 100 s) leaves round-off in theta amplified above the Newton
        # tolerance and the contact rows stagnate at the void onset
        vrate = p.molar_volume / p.void_height * p.void_rate * max(p.theta_crit, 1e-12)
        self._s_phi = 1.0 / (max(1.0 / t_ref, vrate) * L ** (d_eff - 1))
        self._vt, self._vp = ufl.TestFunction(V), ufl.TestFunction(V)
        self.wN = self._nodal_weight(V)
        # per nominal area: the contacting share of the interface carries the store, the
        # transfer and the condensation (1 for transfer_area = "nominal")
        self.weight = (ufl.max_value(ph, PHI_FLOOR) if p.transfer_area == "contact" else 1.0)
        wc = self.weight
        dN = self.dS_node
        self._F = [
            self._s_theta * wc * (p.site_density * time.ddt(self.theta)(s_) + self.J_t
                                  + self.J_void) * self._vt(s_) * self.wN * dN,
            None,  # the contact rows: in residuals(), after the mechanics is set up
        ]
        self._creep_rate = None  # d(phi_c)/dt by creep [s^-1] (UFL), from residuals() on
        self._creation_j = None
        # the vacancies that cross the interface enter the metal
        self._coupling = {self.vac.field.name: self.vac.insertion_term(wc * self.J_t, s_,
                                                                       dN, self.wN)}
        self._compile_quantities()

    def _nodal_weight(self, V):
        """The coordinate weight of the nodal (vertex-rule) terms: lumped per node,
        W_i = int phi_i w dS / int phi_i dS (restricted, UFL). w(x_i) m_i would leave a node
        on the axis of an axisymmetric cell (w = 2 pi r = 0) without rows: a singular
        Jacobian. Cartesian: 1."""
        if isinstance(self.wS, int | float):
            return self.wS
        q = ufl.TestFunction(V)(self.side)
        em = self.entity_maps
        vecs = [dolfinx.fem.assemble_vector(dolfinx.fem.form(e * q * self.dS, entity_maps=em))
                for e in (self.wS, 1.0)]
        for v in vecs:
            v.scatter_reverse(dolfinx.la.InsertMode.add)
            v.scatter_forward()
        W = dolfinx.fem.Function(V, name="nodal_weight")
        num, den = vecs[0].array, vecs[1].array
        W.x.array[:] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        W.x.scatter_forward()
        return W(self.side)

    # -------------------------------------------------------------- electrode coupling
    def contact(self, side: str):
        """Contact fraction phi_c on the interface (restricted), the kinetics' i0 factor."""
        return self.phi.u(side)

    def exchange_factor(self, side: str, law):
        """Contact loss: the current crowds into what is left in contact (i0 phi_c). With
        coverage_potential also mass action on the sites: stripping takes an occupied site
        (1 - theta), plating fills a vacancy (theta), so with the coverage's potential in
        U_eq, i0 carries (theta / theta_eq)^alpha_a ((1 - theta) / (1 - theta_eq))^alpha_c
        (exact for alpha_a + alpha_c = 1; 1 at rest, so the impedance at rest is unchanged)."""
        if not self.params.coverage_potential:
            return self.contact(side)
        aa, ac = law.transfer_coefficients()
        te, th = self.theta_eq, self._theta_bounded(side)
        return self.contact(side) * (th / te) ** aa * ((1.0 - th) / (1.0 - te)) ** ac

    def _theta_bounded(self, side: str):
        """theta on the interface (UFL, restricted), floored at 1e-6 theta_eq (plating may
        empty the store) and kept below 1: the argument of the coverage's logarithms."""
        return ufl.min_value(ufl.max_value(self.theta.u(side), 1e-6 * self.theta_eq),
                             1.0 - 1e-9)

    def coverage_shift(self, side: str):
        """(R T / F) ln(theta (1 - theta_eq) / (theta_eq (1 - theta))) [V] (UFL): the
        chemical potential per charge of the interface vacancy that stripping makes, zero
        at theta_eq; theta is floored at 1e-6 theta_eq (plating may empty the store)."""
        te, th = self.theta_eq, self._theta_bounded(side)
        return GAS_R * self._T / FARADAY * ufl.ln(th * (1.0 - te) / (te * (1.0 - th)))

    def coverage_relaxation(self) -> tuple[float, float] | None:
        """With coverage_potential: (R_theta [ohm m^2], C_theta [F m^-2]) of the coverage per
        contacting area at the present mean coverage (collective): the small-signal DC
        resistance (R T / F) / (F theta (1 - theta)) (1 / (kappa + dJ_void/dtheta) +
        Omega L / D_v), the transfer in series with the vacancies' diffusion over the
        metal's thickness L (the planar closed form), and the store's chemical capacitance
        F^2 Gamma_s theta (1 - theta) / (R T); else None."""
        if not self.params.coverage_potential:
            return None
        p = self.params
        th = self.domain.comm.allreduce(
            dolfinx.fem.assemble_scalar(self._qf["theta_mean"]), op=MPI.SUM)
        th = min(max(th, 1e-6 * self.theta_eq), 1.0 - 1e-9)
        d = _SMOOTH * max(p.theta_crit, 1e-12)
        z = (th - p.theta_crit) / d
        void = p.void_rate * 0.5 * (1.0 + math.tanh(0.5 * z))  # k_v times the logistic
        T = float(self._T.value)
        rt_f = GAS_R * T / FARADAY
        rate = float(self._kappa.value) + void
        dv = self.vac.material.reference_diffusivity(T)
        bulk = p.molar_volume * self.vac.scales.length / dv  # Omega L / D_v [m^2 s mol^-1]
        chem = th * (1.0 - th)
        return (rt_f / (FARADAY * chem) * (1.0 / rate + bulk),
                FARADAY * p.site_density * chem / rt_f)

    def equilibrium_potential(self, side: str, default):
        """With coverage_potential: U_eq + `coverage_shift` (a vacancy-rich interface makes
        stripping harder and plating easier); else unchanged."""
        if not self.params.coverage_potential:
            return default
        return default + self.coverage_shift(side)

    def current_terms(self, current_density, side: str, measure, weight) -> dict:
        """Stripping (anodic j [A m^-2]) leaves vacancies at the interface (see
        `creation_term`)."""
        return self.creation_term(current_density, side, measure, weight)

    def creation_term(self, current_density, side: str, measure, weight) -> dict:
        """Residual term: vacancies created at the local anodic rate j / F [mol m^-2 s^-1]
        (j already carries the contact fraction)."""
        # several kinetics may share this contact: the stripping rates add up
        self._creation_j = current_density if self._creation_j is None else (
            self._creation_j + current_density)
        return {self.theta.name: -self._s_theta * (current_density / FARADAY)
                * self._vt(side) * weight * measure}

    def nominal_pressure(self):
        """The compressive normal stress the interface carries per nominal area [Pa] (UFL, on
        the metal side): the stack pressure (mean field), or -sigma_nn of the solved
        mechanics on the metal side of each interface facet (normal_stress set)."""
        if self.normal_stress is None:
            return self.params.stack_pressure
        mech = self.normal_stress()
        s_ = self.side
        n = ufl.FacetNormal(self.domain.mesh)(s_)  # out of the metal
        gdim = self.domain.gdim
        nn = ufl.as_vector([n[i] for i in range(gdim)] + [0] * (3 - gdim))
        sig = mech.stress_tensor()(s_)
        return ufl.max_value(-ufl.inner(nn, ufl.dot(sig, nn)), 0.0)

    def _contact_rows(self):
        """d(phi_c)/dt = -(Omega / h_v) phi_c J_void + (1 - phi_c) eps_dot(p / phi_c): the
        creep of the contacting metal under the pressure p / phi_c on the contact closes
        the voids (p the nominal pressure, `nominal_pressure`)."""
        p, s_ = self.params, self.side
        ph = self.phi.u(s_)
        on = p.creep_prefactor > 0 and (p.stack_pressure > 0 or self.normal_stress is not None)
        sigma = self.nominal_pressure() / ufl.max_value(ph, 1e-3) / 1e6  # MPa on the contact
        creep = (1.0 - ph) * self._eps * sigma ** p.creep_exponent if on else 0.0
        self._creep_rate = creep
        return self._s_phi * (self.time.ddt(self.phi)(s_) + p.molar_volume / p.void_height
                              * self.weight * self.J_void - creep) * self._vp(s_) \
            * self.wN * self.dS_node

    def residuals(self):
        if self._F[1] is None:
            self._F[1] = self._contact_rows()
            if self.normal_stress is not None:  # nodal pressures: lumped projection
                em = self.entity_maps
                q = self._vt(self.side)
                self._p_forms = [dolfinx.fem.form(e * q * self.wN * self.dS_node,
                                                  entity_maps=em)
                                 for e in (self.nominal_pressure(), 1.0)]
        return self._F

    def on_problem(self, problem) -> None:
        """Rates of the metal ledger: stripping, transfer, condensation, creep closure."""
        em = problem.entity_maps or None
        w, dS, p = self.wS, self.dS, self.params
        wc = self.weight
        rates = {"transferred_moles": wc * self.J_t, "voided_moles": wc * self.J_void,
                 # the interface store change as the time scheme integrates it (the
                 # vacancies of the area that detaches go with the void)
                 "interface_store_change": wc * p.site_density * self.time.ddt(self.theta)(
                     self.side),
                 "creep_closed_volume": p.void_height * self._creep_rate}
        if self._creation_j is not None:
            rates["stripped_moles"] = self._creation_j / FARADAY
        self._ledger = dict.fromkeys(rates, 0.0)
        # each rate with the rule of its residual term: the stripping current as the
        # kinetics integrate it, the interface's own laws at the nodes
        if not isinstance(self._creep_rate, float | int):  # the collector follows closure
            self._closure_form = dolfinx.fem.form(p.void_height * self._creep_rate * self.wN
                                                  * self.dS_node, entity_maps=em)
        self._ledger_forms = {k: dolfinx.fem.form(
            e * w * dS if k == "stripped_moles" else e * self.wN * self.dS_node,
            entity_maps=em)
            for k, e in rates.items() if not isinstance(e, float | int | ufl.constantvalue.Zero)}

    def checkpoint_state(self) -> dict:
        """The metal ledger's running totals [mol m^-2 / m^3 m^-2 per interface area]."""
        return {"ledger": dict(self._ledger)}

    def restore_state(self, state: dict) -> None:
        self._ledger.update({k: float(v) for k, v in state.get("ledger", {}).items()})

    def on_accept(self) -> None:
        """Add this step's fluxes (backward-Euler rates at the new time times dt)."""
        dt = float(self.time.dt.value)
        comm = self.domain.comm
        for k, frm in self._ledger_forms.items():
            self._ledger[k] += dt * comm.allreduce(dolfinx.fem.assemble_scalar(frm),
                                                   op=MPI.SUM)

    def coupling_terms(self):
        return self._coupling

    def bounds(self):
        return {self.phi.name: (0.0, 1.0)}

    def initial_condition(self) -> None:
        p = self.params
        c0 = self.vac.initial if not callable(self.vac.initial) else 0.0
        th0 = self.theta0 if self.theta0 is not None else p.molar_volume * float(c0)
        self.theta.set_all(lambda x: np.full(x.shape[1], th0))
        self.phi.set_all(lambda x: np.ones(x.shape[1]))
        self.update(0.0)
        if self.front is not None:
            self.domain.restore_geometry()
            self._metal0 = self._lattice()[0]

    def cutoff_events(self) -> list:
        """With a moving collector: the anode used up, THINNEST of its thickness left."""
        if self.front is None:
            return []
        from femcell.solvers.timestepping import Event

        comm = self.domain.comm
        area = comm.allreduce(dolfinx.fem.assemble_scalar(self.front._area), op=MPI.SUM)
        L0 = self._metal0 * self.params.molar_volume / area  # ~ the initial thickness [m]

        def left(st):
            return st.quantities.get("anode_thickness", L0) / L0 - THINNEST

        return [Event("anode used up", left, 1e-3,
                      lambda st: f"anode used up: {THINNEST:.0%} of its thickness left at t = "
                      f"{st.t:.6g} s ({st.quantities.get('anode_thickness', 0.0) * 1e6:.3g} "
                      "um)")]

    def closure_rate(self) -> float:
        """The volume rate at which creep closes interface voids [m^3/s (m^2/s in 2D)], as a
        swept-volume rate of the metal's collector (< 0: the metal moves into the voids and
        the collector follows; collective)."""
        frm = getattr(self, "_closure_form", None)
        if frm is None:
            return 0.0
        return -self.domain.comm.allreduce(dolfinx.fem.assemble_scalar(frm), op=MPI.SUM)

    def _lattice(self, ledger: dict | None = None) -> tuple[float, float]:
        """(the metal in the anode [mol], its mesh volume V [m^3]) on the current mesh (per
        metre of depth in 2D; collective): V holds the metal and the open voids at the
        interface (Omega voided - creep-closed volume), the metal's sites its vacancies
        and the empty sites of the interface store; the metal that creep moved into the
        voids took its equilibrium vacancies c_eq along (the moving collector swept them):
        (V - open voids) / Omega - vacancy moles - interface vacancies - c_eq closed."""
        comm = self.domain.comm
        total = lambda f: comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)  # noqa: E731
        vol = total(self.front._volume)
        om = self.params.molar_volume
        ledger = ledger or {}
        closed = ledger.get("creep_closed_volume", 0.0)
        ceq = 1.0 / om + self.front.jump  # jump = -(1 / Omega - c_eq)
        voids = om * ledger.get("voided_moles", 0.0) - closed
        return ((vol - voids) / om - total(self.vac._q_forms["moles"])
                - total(self._qf["interface_vacancies"]) - ceq * closed), vol

    def update(self, t: float) -> bool:
        T = self.temperature(t)
        if T != float(self._T.value):
            self._T.value = T
            self._kappa.value = self.params.transfer_rate(T)
            self._eps.value = creep_rate_prefactor(
                self.params.creep_prefactor, self.params.creep_activation, T)
            return True
        return False

    def set_temperature(self, temperature) -> None:
        self.temperature = time_function(temperature)

    # -------------------------------------------------------------- outputs
    def _compile_quantities(self):
        d, em = self.domain, self.entity_maps
        form = lambda e: dolfinx.fem.form(e, entity_maps=em)  # noqa: E731
        self._area = d.integrate(self.wS * self.dS)
        s_ = self.side
        dN = self.dS_node  # the rule of the interface's residuals (ledger-consistent)
        self._qf = {
            "theta_mean": form(self.theta.u(s_) / self._area * self.wN * dN),
            "contact_fraction": form(self.phi.u(s_) / self._area * self.wN * dN),
            "transfer_flux": form(self.weight * self.J_t / self._area * self.wN * dN),
            "void_flux": form(self.weight * self.J_void / self._area * self.wN * dN),
            "interface_vacancies": form(self.weight * self.params.site_density
                                        * self.theta.u(s_) * self.wN * dN),
        }
        if self.params.coverage_potential:  # the mean over the contact [V]
            self._qf["coverage_potential"] = form(
                self.weight * self.coverage_shift(s_) * self.wS * self.dS)
            self._qf["_contact_area"] = form(self.weight * self.wS * self.dS)

    def quantities(self) -> dict[str, float]:
        """Coverage (mean, theta_max), contact (mean, contact_min), the interface fluxes
        [mol m^-2 s^-1], with coverage_potential its mean over the contact [V], and the metal
        ledger:
        stripped_moles, transferred_moles, voided_moles [mol], creep_closed_volume [m^3]
        (per metre of depth in 2D), stripped_thickness and void_volume_per_area [m]; with a
        solved mechanics the nominal pressure on the interface, pressure_mean / _min / _max
        [Pa] (nodal values)."""
        comm = self.domain.comm
        out = {k: comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
               for k, f in self._qf.items()}
        if "_contact_area" in out:  # the mean coverage potential over the contact
            a = out.pop("_contact_area")
            out["coverage_potential"] = out["coverage_potential"] / a if a > 0 else 0.0
        n = self.phi.u.function_space.dofmap.index_map.size_local
        loc = self.phi.u.x.array[:n]
        out["contact_min"] = comm.allreduce(float(loc.min()) if n else 1.0, op=MPI.MIN)
        th = self.theta.u.x.array[:n]
        out["theta_max"] = comm.allreduce(float(th.max()) if n else 0.0, op=MPI.MAX)
        if getattr(self, "_p_forms", None):
            out.update(self._pressure_range())
        # the metal ledger (summed over accepted steps): moles per unit depth in 2D
        ledger = self._ledger
        out.update(ledger)
        if ledger:
            om = self.params.molar_volume
            out["stripped_thickness"] = om * ledger.get("stripped_moles", 0.0) / self._area
            out["void_volume_per_area"] = (om * ledger["voided_moles"]
                                           - ledger["creep_closed_volume"]) / self._area
        if self._metal0 is not None:  # the metal thins on the mesh (moving collector)
            out.update(self._lattice_ledger(ledger))
        return out

    def _lattice_ledger(self, ledger: dict) -> dict[str, float]:
        """anode_thickness [m] (the mesh volume over the collector's area), metal_moles [mol]
        in the anode (`_lattice`), and lattice_balance: (metal_moles + stripped_moles -
        initial) / initial [-], the volume the front still owes from its last step
        (`MovingFront.owed_volume`) counted."""
        comm = self.domain.comm
        atoms, vol = self._lattice(ledger)
        owed = self.front.owed_volume
        area = comm.allreduce(dolfinx.fem.assemble_scalar(self.front._area), op=MPI.SUM)
        # the owed volume takes its lattice sites and their vacancies: -jump = 1/Omega - c_eq
        # per volume (the creep part too: the metal it moves carries c_eq, see _lattice)
        moved = atoms - owed * self.front.jump
        return {"anode_thickness": vol / area, "metal_moles": atoms,
                "lattice_balance": (moved + ledger.get("stripped_moles", 0.0)
                                    - self._metal0) / self._metal0}

    def _pressure_range(self) -> dict[str, float]:
        """Mean, min and max over the interface nodes of the nominal pressure [Pa] the creep
        closure sees (the solved -sigma_nn on the metal side; collective)."""
        comm = self.domain.comm
        vecs = [dolfinx.fem.assemble_vector(f) for f in self._p_forms]
        for v in vecs:
            v.scatter_reverse(dolfinx.la.InsertMode.add)
        n = self.phi.u.function_space.dofmap.index_map.size_local
        num, den = (v.array[:n] for v in vecs)
        node = num[den > 0] / den[den > 0]
        tot = comm.allreduce(float(num.sum()), op=MPI.SUM)
        return {"pressure_mean": tot / comm.allreduce(float(den.sum()), op=MPI.SUM),
                "pressure_min": comm.allreduce(float(node.min()) if node.size else np.inf,
                                               op=MPI.MIN),
                "pressure_max": comm.allreduce(float(node.max()) if node.size else -np.inf,
                                               op=MPI.MAX)}

    def output_fields(self):
        return {"theta": (self.theta.u, 1.0), "contact_fraction": (self.phi.u, 1.0)}

    def citations(self):
        out = list(self.params.citations)
        if self.params.transfer_rate.citation:
            out.append(self.params.transfer_rate.citation)
        return out
