"""Metal filaments in a cracked solid electrolyte (issue 13; PHYSICS.md section 4).

Where the electrolyte is broken (phase-field damage d -> 1) and connected to the plated
electrode, it is metal. The filament is a diffuse phase with metal fraction m = d^k:

    div((sigma_m m^2 + sigma_0) grad phi_f) = a j(eta)       in the electrolyte region,
    div(sigma_l ((1 - m)^2 + eps) grad phi_l) = -a j(eta)    (the electrolyte, ChargeTransport),
    a = |grad m|,  eta = phi_f - phi_l - U_eq + Omega p / F,

with phi_f the electronic potential of the filament (a field on the electrolyte's submesh),
j the interfacial law (anodic > 0; plating is j < 0) and a the area density of the
metal/electrolyte interface: across a full metal-to-ceramic profile the integral of |grad m|
along the normal is 1, so a diffuse filament carries the same reaction per unit of its surface
as a sharp one, whatever the profile width. The filament connects to the plated electrode
through its part of the electrode|electrolyte interface with a conductance G m^2 per area
(G = sigma_m / h_min: a metal layer one cell thick). The pressure p of the crack (the metal in
it) shifts the equilibrium by Omega p / F (1 mV ~ 7.4 MPa for Li): it makes plating into a
pressurised filament harder, so current moves to the flat interface as the pressure rises.

The ionic conductivity of the electrolyte is degraded with (1 - m)^2 (+ eps) by a coupling term
on ChargeTransport's electrolyte potential; ChargeTransport keeps its sharp interfaces (the
flat plating). phi_f in the intact ceramic is carried by the floor conductivity sigma_0
(1e-4 of the electrolyte's: no electronic leak, the filament touches only its own electrode).

Scaling: phi_f = V_T u (V_T = R T_ref / F), its residual scaled like ChargeTransport's blocks.
"""

from __future__ import annotations

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.fields import Field
from femcell.materials.core import MaterialError
from femcell.physics.base import Physics, time_function
from femcell.physics.charge import _owned_sums
from femcell.physics.kinetics import KineticLaw, StressModified
from femcell.units import F as FARADAY

BROKEN = 0.5  # damage at which the electrolyte counts as broken: the filament's depth, and
# the short when the broken electrolyte reaches the counter electrode's interface
FLOOR = 1e-4  # conductivity floors relative to the electrolyte's (phi_f in the ceramic,
# phi_l in the metal): keep both potentials defined everywhere without a leak path


class MetalFilament(Physics):
    """Electronic potential and deposition of a metal filament in the broken electrolyte.

    Args:
        charge: the ChargeTransport of the cell (set up before this physics).
        damage: the phase-field fracture physics (its damage field d is used), or a dolfinx
            Function on the parent mesh (a given filament, e.g. in tests).
        electrode: the cell region of the plated metal electrode the filament grows from.
        law: kinetic law of deposition at the filament surface (anodic > 0).
        molar_volume: Omega of the metal [m^3 mol^-1] (the stress shift and the deposited
            volume Omega q / F).
        pressure: pressure in the filament [Pa]: a float or function of time [s]; default
            the fracture's crack-face pressure when `damage` is a fracture physics, else 0.
        equilibrium_potential: U_eq of the filament reaction [V] (the electrode's metal: 0
            against the same metal).
        exponent: k of the metal fraction m = d^k (k >= 2: partially damaged ceramic ahead
            of a tip carries little metal).
        counter_electrode: the other electrode's region: the cell is shorted when the
            damage on its interface with the electrolyte reaches `short_damage` (a metal
            path between the electrodes); quantities "filament_short" (0 or 1) and
            "filament_counter_damage" (largest d on that interface).
        short_damage: damage that counts as metal at the counter electrode; default BROKEN,
            the damage `depth` counts: the cell shorts when the broken electrolyte reaches
            the counter electrode (the crack's core is then within about 0.6 l of it).
        name: field name of phi_f.
    """

    linear = False
    symmetric = False
    time_dependent = True
    step_hook = True  # the deposited charge is summed over accepted steps
    indicators = frozenset({"filament_short", "filament_open"})  # 0/1: they jump
    quadrature_degree = None  # None: 2 * (degree + 2), 6 for P1 (see setup)

    def __init__(self, charge, damage, *, electrode: str, law: KineticLaw,
                 molar_volume: float, pressure=None, equilibrium_potential: float = 0.0,
                 exponent: float = 4.0, counter_electrode: str | None = None,
                 short_damage: float = BROKEN, name: str = "phi_filament"):
        if not (molar_volume > 0 and np.isfinite(molar_volume)):
            raise MaterialError(f"filament molar_volume must be > 0 m^3/mol, got "
                                f"{molar_volume}")
        if not exponent >= 2:
            raise MaterialError(f"filament exponent must be >= 2, got {exponent}")
        self.charge, self.damage = charge, damage
        self.electrode = electrode
        self.base_law = law
        self.molar_volume = float(molar_volume)
        self.pressure_fn = None if pressure is None else time_function(pressure)
        self.u_eq = float(equilibrium_potential)
        self.k = float(exponent)
        self.counter = counter_electrode
        if not 0 < short_damage <= 1:
            raise MaterialError(f"filament short_damage must be in (0, 1], got {short_damage}")
        self.short_damage = float(short_damage)
        self.name = name
        self.charge_deposited = 0.0  # C (C per m of depth in 2D), accepted steps
        self._rate = None  # deposition rate [A] of the last volume target of this step

    # ------------------------------------------------------------------ setup
    def setup(self, domain, time) -> None:
        ch = self.charge
        if not hasattr(ch, "phi"):
            raise MaterialError("filament: the charge transport must come before it in the "
                                "physics list")
        if getattr(ch, "grain_boundaries", None) is not None:
            raise MaterialError("filament: not with resistive grain boundaries "
                                "([charge.grain_boundaries]); the filament's blocking of the "
                                "electrolyte is written for a continuous potential")
        if self.electrode not in ch.electrodes:
            raise MaterialError(f"filament: electrode {self.electrode!r} is not an electrode of "
                                f"the charge transport ({', '.join(ch.electrodes)})")
        self.domain, self.time = domain, time
        mesh = domain.mesh
        el = ch.electrolyte
        sub = ch.sub[el]
        self.entity_maps = list(ch.entity_maps)
        V = dolfinx.fem.functionspace(sub.mesh, ("Lagrange", ch.degree))
        self.field = Field.create(self.name, V, levels=0)
        self.fields = [self.field]
        vt = self.vt = ch.vt
        phi_f, w = vt * self.field.u, ufl.TestFunction(V)
        phi_l, v_l = ch.phi[el], ch.v[el]
        if isinstance(self.damage, dolfinx.fem.Function):
            d = self.damage
        elif hasattr(self.damage, "field"):
            d = self.damage.field.u
        else:
            raise MaterialError("filament: the fracture must come before it in the physics "
                                "list")
        m = d ** self.k
        self.metal_fraction = m
        a = ufl.sqrt(ufl.inner(ufl.grad(m), ufl.grad(m)) + 1e-30)
        self.area_density = a
        const = lambda v: dolfinx.fem.Constant(mesh, PETSc.ScalarType(v))  # noqa: E731
        T = float(ch._T.value)
        g_el = ch._groups[el]
        sig_l = {g: ch._sigma[g] for g in g_el}
        sig_l0 = float(np.mean([float(s.value) for s in sig_l.values()]))
        self._sig_m = const(ch.effective_conductivity(ch._groups[self.electrode][0], T))
        self._sig_0 = const(FLOOR * sig_l0)
        if self.pressure_fn is not None:
            self._p = const(self.pressure_fn(0.0))
        elif isinstance(self.damage, dolfinx.fem.Function):
            self._p = const(0.0)
        else:
            self._p = self.damage._p  # the crack pressure (set by volume control)
        self.law = StressModified(self.base_law, self.molar_volume, self._p)
        eta = phi_f - phi_l - self.u_eq
        # 1, or 0 while the flaw is closed and empty (see `set_open`)
        self._open = const(1.0)
        j = self._open * self.law.current(eta, ch._T)
        self.j_expr, self.eta_expr = j, eta
        wgt = ch._w
        # a fixed quadrature: the estimated degree of d^(2k) and |grad d^k| (12 and more)
        # would cost ~350 points per tetrahedron; with 2 * (degree + 2) (6 for P1) a 2D
        # plating step gives the pressure, filament current and cell voltage of degree 16 to
        # 1e-9, and the quantities use the same measures as the block (exact consistency)
        q = {"quadrature_degree": self.quadrature_degree or 2 * (ch.degree + 2)}
        dxs = [domain.dx(g).reconstruct(metadata=q) for g in g_el]
        s = ch._scale[el]
        F = sum((self._sig_m * m ** 2 + self._sig_0) * ufl.inner(ufl.grad(phi_f), ufl.grad(w))
                * wgt * dx_ for dx_ in dxs)
        F += sum(j * a * w * wgt * dx_ for dx_ in dxs)
        # the filament's contact with its electrode (where the metal reaches the interface)
        itf = domain.interface(self.electrode, el)
        se = "+" if itf.plus == self.electrode else "-"
        sl = "-" if se == "+" else "+"
        dS = domain.dS(itf.name).reconstruct(metadata=q)
        wS = wgt(se) if not isinstance(wgt, int | float) else wgt
        h_min = self._min_cell_size()
        G = self._sig_m / h_min
        link = G * m(sl) ** 2 * (phi_f(sl) - ch.phi[self.electrode](se))
        F += link * w(sl) * wS * dS
        self._F = s * F
        self._depth_of = self._distance_to_interface(d, itf)
        self._counter_dofs = None
        if self.counter is not None:
            if self.counter not in ch.electrodes or self.counter == self.electrode:
                raise MaterialError(f"filament: counter_electrode {self.counter!r} must be the "
                                    f"other electrode ({', '.join(ch.electrodes)})")
            facets = self.domain.interface_facets(domain.interface(self.counter, el))
            self._counter_dofs = dolfinx.fem.locate_dofs_topological(
                d.function_space, domain.tdim - 1, facets)
        self._d = d
        # ionic conduction blocked by the metal, the reaction source, the link current
        cl = -sum(sig_l[g] * (1 - (1 - m) ** 2 - FLOOR) * ufl.inner(ufl.grad(phi_l),
                                                                   ufl.grad(v_l))
                  * wgt * domain.dx(g).reconstruct(metadata=q) for g in g_el)
        cl -= sum(j * a * v_l * wgt * dx_ for dx_ in dxs)
        ce = -link * ch.v[self.electrode](se) * wS * dS
        self._coupling = {f"phi_{el}": s * cl, f"phi_{self.electrode}": s * ce}
        self._compile_quantities(j, a, dxs, wgt)

    def _distance_to_interface(self, d, itf) -> np.ndarray:
        """Distance [m] of every local node of the damage space from the plated interface
        (its facets' vertices and midpoints: exact to within half a facet there); 0 off the
        electrolyte."""
        from scipy.spatial import cKDTree

        from femcell.physics.fracture import sample_points_of_facets

        pts = sample_points_of_facets(self.domain, self.domain.interface_facets(itf))
        V = d.function_space
        x = V.tabulate_dof_coordinates()[:, :self.domain.gdim]
        dist = cKDTree(pts).query(x)[0] if len(pts) else np.zeros(len(x))
        # only the electrolyte's nodes count (damage in the metal is not a filament)
        cells = np.concatenate([self.domain.cells(g, include_ghosts=True)
                                for g in self.charge._groups[self.charge.electrolyte]])
        inside = np.zeros(len(x), dtype=bool)
        inside[dolfinx.fem.locate_dofs_topological(V, self.domain.tdim, cells)] = True
        return np.where(inside, dist, 0.0)

    def depth(self, threshold: float = BROKEN) -> float:
        """How far the broken electrolyte reaches from the plated interface [m]: the largest
        distance from it of an electrolyte node with damage >= threshold (0 if none;
        collective)."""
        n = self._d.function_space.dofmap.index_map.size_local
        broken = self._d.x.array[:n] >= threshold
        local = float(self._depth_of[:n][broken].max()) if broken.any() else 0.0
        return self.domain.comm.allreduce(local, op=MPI.MAX)

    def _min_cell_size(self) -> float:
        mesh = self.domain.mesh
        n = mesh.topology.index_map(mesh.topology.dim).size_local
        h = mesh.h(mesh.topology.dim, np.arange(n, dtype=np.int32))
        return self.domain.comm.allreduce(float(h.min()) if n else np.inf, op=MPI.MIN)

    def _compile_quantities(self, j, a, dxs, wgt) -> None:
        em = self.entity_maps
        form = lambda e: dolfinx.fem.form(e, entity_maps=em)  # noqa: E731
        self._qf = {
            "deposition": form(sum(-j * a * wgt * dx_ for dx_ in dxs)),
            "area": form(sum(a * wgt * dx_ for dx_ in dxs)),
            "metal": form(sum(self.metal_fraction * wgt * dx_ for dx_ in dxs)),
        }
        Q0 = dolfinx.fem.functionspace(self.domain.mesh, ("DG", 0))
        q0 = ufl.TestFunction(Q0)
        # per cell: integral of the deposition and of the surface density (the damage
        # changes: both are assembled when reported)
        self._peak = (form(sum(-j * a * q0 * wgt * dx_ for dx_ in dxs)),
                      form(sum(a * q0 * wgt * dx_ for dx_ in dxs)))

    def residuals(self) -> list:
        return [self._F]

    def coupling_terms(self) -> dict:
        return self._coupling

    # ------------------------------------------------------------------ time
    def initial_condition(self) -> None:
        """The filament at the potential of its electrode's metal (no current)."""
        ch = self.charge
        i = list(ch.conductors).index(self.electrode)
        arr = ch.fields[i].u.x.array
        value = float(self.domain.comm.allreduce(float(arr.mean()) if arr.size else 0.0,
                                                 op=MPI.SUM) / self.domain.comm.size)
        self.field.u.x.array[:] = value
        self.update(0.0)

    def update(self, t: float) -> bool:
        ch = self.charge
        self._sig_m.value = ch.effective_conductivity(ch._groups[self.electrode][0],
                                                      float(ch._T.value))
        if self.pressure_fn is not None:
            self._p.value = self.pressure_fn(t)
        return False

    def on_accept(self) -> None:
        """Add the step's deposition (backward Euler): the rate the last volume-control
        target of the step used (so the crack holds exactly the metal booked), else the
        accepted state's current, times dt."""
        rate = self.current() if self._rate is None else self._rate
        self.charge_deposited += rate * float(self.time.dt.value)
        self._rate = None

    def current(self) -> float:
        """Deposition current into the filament now [A; A/m in 2D] (collective)."""
        return self.domain.comm.allreduce(
            dolfinx.fem.assemble_scalar(self._qf["deposition"]), op=MPI.SUM)

    def metal_volume(self, dt: float = 0.0) -> float:
        """Metal deposited into the filament [m^3; m^2 in 2D]: over the accepted steps, plus
        `dt` [s] at the current state's rate (the target of a volume-controlled crack during a
        step)."""
        rate = self.current()
        if dt:
            self._rate = rate
        return self.molar_volume * (self.charge_deposited + dt * rate) / FARADAY

    def checkpoint_state(self) -> dict:
        return {"charge_deposited": self.charge_deposited}

    def restore_state(self, state: dict) -> None:
        self.charge_deposited = float(state.get("charge_deposited", 0.0))

    def set_open(self, is_open: bool) -> None:
        """Open (default) or close the flaw to deposition. A flaw pressed shut (a stack
        stress above what the local overpotential can push the metal to) with no metal in
        it takes no current: the reaction would strip metal it does not hold. The volume
        control closes it for a sweep when its metal would turn negative
        (femcell.solvers.staggered)."""
        self._open.value = 1.0 if is_open else 0.0

    @property
    def is_open(self) -> bool:
        return bool(self._open.value)

    def set_pressure(self, p: float) -> None:
        """Pressure in the filament [Pa] (when not taken from the fracture)."""
        if self.pressure_fn is None and not isinstance(self.damage, dolfinx.fem.Function):
            raise MaterialError("filament: the pressure comes from the fracture's crack "
                                "pressure here")
        self.pressure_fn = time_function(p)
        self._p.value = float(p)

    # ------------------------------------------------------------------ results
    def quantities(self) -> dict[str, float]:
        """Deposition current into the filament (A; A per m of depth in 2D), its share of
        the cell current, the metal it adds (m^3/s; m^2/s in 2D), its surface (m^2; m in 2D),
        its metal content (m^3; m^2 in 2D) and the peak deposition current density on its
        surface (A m^-2, cell averages), with the pressure that shifts it (Pa); the charge
        deposited into it over the accepted steps (C; C/m in 2D) and its metal volume; how
        deep the broken electrolyte reaches from the plated interface (m, `depth`)."""
        comm = self.domain.comm
        q = {k: comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
             for k, f in self._qf.items()}
        vec, area = _owned_sums(self._peak[0]), _owned_sums(self._peak[1])
        # cells on the filament surface (area density above 1 % of its peak): elsewhere
        # the reaction rate of phi_f - phi_l means nothing (no metal surface there)
        sel = area > 1e-2 * max(float(comm.allreduce(area.max() if area.size else 0.0,
                                                     op=MPI.MAX)), 1e-300)
        local = vec[sel] / area[sel]
        jmax = comm.allreduce(float(local.max()) if local.size else 0.0, op=MPI.MAX)
        ch = self.charge
        total = float(ch._I.value) * ch._cc_area
        return {
            "filament_current": q["deposition"],
            "filament_current_fraction": q["deposition"] / total if total else 0.0,
            "filament_metal_rate": self.molar_volume * q["deposition"] / FARADAY,
            "filament_surface": q["area"],
            "filament_metal": q["metal"],
            "filament_j_max": jmax,
            "filament_pressure": float(self._p.value),
            "filament_shift": self.molar_volume * float(self._p.value) / FARADAY,
            "filament_charge": self.charge_deposited,
            "filament_metal_deposited": self.metal_volume(),
            "filament_open": 1.0 if self.is_open else 0.0,
            "filament_depth": self.depth(),
            **self._short(),
        }

    def _short(self) -> dict:
        """Largest damage on the counter electrode's interface and the short flag."""
        if self._counter_dofs is None:
            return {}
        vals = self._d.x.array[self._counter_dofs]
        dmax = self.domain.comm.allreduce(float(vals.max()) if vals.size else 0.0, op=MPI.MAX)
        return {"filament_counter_damage": dmax,
                "filament_short": 1.0 if dmax >= self.short_damage else 0.0}

    def output_fields(self):
        return {self.name: (self.field.u, self.vt)}

    def describe(self) -> dict:
        return {"electrode": self.electrode, "molar_volume": self.molar_volume,
                "exponent": self.k, "equilibrium_potential": self.u_eq,
                "counter_electrode": self.counter, "short_damage": self.short_damage}
