"""Small-signal impedance of a cell about its present state.

A small sinusoidal current density dI e^(i omega t) on top of the state u0 of a Problem
moves the fields by du e^(i omega t), with

    (K + i omega M) du = b dI,

K = dF/du the Jacobian of the steady residual of every field of the Problem at u0
(conduction, linearised kinetics: the charge-transfer resistance at the present
overpotential, the open-circuit potential's slope dU/dtheta at a particle surface, the
grain-boundary conductance, diffusion), M the rate operator: the charge's capacitances
(`ChargeTransport.capacitance_forms`: displacement current eps grad(dphi/dt), grain-boundary
charging c_gb [dphi/dt], double layers C_dl d(phi_s - phi_l)/dt) plus the storage terms of
every other physics, read off their BDF residuals (`split_rates`: particle diffusion gives
the finite-length Warburg response), and b the current source. The cell impedance is
Z = dV / dI [ohm m^2] (per area of the current collector). Fields held by Dirichlet data,
and the dofs of bounded fields that sit on their bound, do not move.

femcell's PETSc is real, so the complex system is solved as the real 2x2 block system

    [ K   -omega M ] [x_r]   [b]
    [ omega M   K  ] [x_i] = [0].

One matrix (same sparsity for every frequency) is re-filled per frequency. With
`reuse=True` the LU factorisation of one frequency preconditions GMRES at the next ones
and is recomputed when GMRES would need more than `max_reuse_its` iterations (it fails, or
the previous frequency already took more than half of them): neighbouring frequencies of a
dense log sweep are close, so most frequencies cost one assembly and a few triangular
solves; a sparse sweep (a few frequencies per decade) gains little.

The state need not be steady (e.g. a cell mid-run): the linearisation about it is then
the quasi-stationary impedance, valid while the state changes slowly on the time scale
of the lowest frequency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.materials.core import MaterialError
from femcell.solvers.snes import SolverError
from femcell.units import EPS0


@dataclass
class Spectrum:
    """An impedance spectrum.

    Attributes:
        frequency: f [Hz].
        z: cell impedance per area [ohm m^2] (complex; Z = Z' + i Z'', capacitive Z'' < 0).
        interfaces: {interface "a|b": its area-mean d(phi_s - phi_l) / dI [ohm m^2], signed
            so that it is the interface's share of Z (its real part > 0).
        factorizations: LU factorisations the sweep needed.
        krylov_its: Krylov iterations per frequency (1 for a fresh factorisation).
    """

    frequency: np.ndarray
    z: np.ndarray
    interfaces: dict[str, np.ndarray] = field(default_factory=dict)
    factorizations: int = 0
    krylov_its: list[int] = field(default_factory=list)


class SmallSignal:
    """The linearised Problem about its present state.

    Args:
        problem: a Problem with `charge` among its physics, solved to the state to
            linearise about (e.g. open circuit after `initialise`, a DC steady state, or
            any state of a run).
        charge: its ChargeTransport.
        permittivity: {cell region or group: relative permittivity eps_r}; default: the
            conductors' own (`Conductor.permittivity`); regions without carry no
            displacement current.
        double_layer: {interface "a|b": C_dl [F m^-2]}; interfaces not given have none.
        reuse: reuse one factorisation across neighbouring frequencies (GMRES); False: a
            fresh LU per frequency.
        max_reuse_its: GMRES iterations above which the factorisation is renewed.
    """

    def __init__(self, problem, charge, *, permittivity: dict | None = None,
                 double_layer: dict | None = None, reuse: bool = True,
                 max_reuse_its: int = 20):
        self.charge, self.problem = charge, problem
        self.reuse, self.max_reuse_its = reuse, max_reuse_its
        self.comm = problem.domain.comm
        regions = list(charge.conductors)
        fields = list(problem.fields)
        names = [f.name for f in fields]
        spaces = [f.u.function_space for f in fields]
        # the charge potentials among the problem's fields, by region
        cidx = {r: names.index(f.name) for r, f in zip(regions, charge.fields, strict=True)}
        eps = {}  # regions, and the cell groups with a conductor of their own
        for g, cond in {**charge.conductors, **charge.group_conductors}.items():
            if cond.permittivity is not None:
                eps[g] = EPS0 * cond.permittivity
        for g, e_r in (permittivity or {}).items():
            if not (math.isfinite(e_r) and e_r >= 1):
                raise MaterialError(f"impedance: permittivity of {g!r} must be >= 1, "
                                    f"got {e_r!r}")
            eps[g] = EPS0 * e_r
        for g in charge.group_conductors:  # a group of its own material: its own eps
            if g.split(".")[0] in eps and g not in eps:
                mat = charge.group_conductors[g].name
                raise MaterialError(f"impedance: cell group {g!r} ({mat}) has no permittivity "
                                    f"of its own; give impedance.permittivity.{g}")
        cdl = dict(double_layer or {})
        unknown = sorted(set(cdl) - set(charge._sides))
        if unknown:
            raise MaterialError(f"impedance: double layer on unknown interface {unknown[0]!r}"
                                f"; interfaces: {', '.join(charge._sides)}")
        twice = sorted(n for n in cdl if charge._sides[n][0] in charge.double_layer)
        if twice:
            raise MaterialError(f"impedance: {twice[0]} has its double layer in the charge "
                                "physics already (ChargeTransport double_layer)")
        self.permittivity, self.double_layer = eps, cdl
        n = len(fields)
        # fields sharing one space object (e.g. two interface fields of one physics) get a
        # clone each: DOLFINx matches a Dirichlet condition to every block of its space
        seen = set()
        for k, V in enumerate(spaces):
            if id(V) in seen:
                spaces[k] = V.clone()
            seen.add(id(V))
        du = [ufl.TrialFunction(V) for V in spaces]
        v = [ufl.TestFunction(V) for V in spaces]
        # the imaginary parts on clones of the spaces (same dofmap, another identity):
        # DOLFINx puts a Dirichlet row's unit diagonal into every block whose row and column
        # space are the same object, which would put it into the -omega M blocks too
        ispaces = [V.clone() for V in spaces]
        idu = [ufl.TrialFunction(W) for W in ispaces]
        iv = [ufl.TestFunction(W) for W in ispaces]
        for p in problem.physics:
            if p.small_signal_refusal:
                raise MaterialError(f"impedance: {p.name} is not linearised: "
                                    f"{p.small_signal_refusal}")
        res = []
        for name, vi in zip(names, v, strict=True):
            r = problem.residual_of(name)
            (arg,) = r.arguments()  # the row's test function, on whichever space object
            r = ufl.replace(r, {arg: vi})
            assert r.arguments() == (vi,), name
            res.append(r)
        # the state the time levels are frozen at (refresh() follows a new state)
        self._frozen = {id(f.u): (f.u, dolfinx.fem.Function(f.u.function_space))
                        for f in fields if f.history}
        self._freeze()
        K, M = split_rates(res, [f.u for f in fields], du, problem.time,
                           {k: g for k, (_, g) in self._frozen.items()}, fields)
        mc = charge.capacitance_forms({r: du[i] for r, i in cidx.items()},
                                      {r: v[i] for r, i in cidx.items()}, eps, cdl)
        for (ri, rj), m in mc.items():
            i, j = cidx[ri], cidx[rj]
            M[i][j] = m if M[i][j] is None else M[i][j] + m
        mesh = problem.domain.mesh
        self._omega = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
        blocks = [[None] * (2 * n) for _ in range(2 * n)]
        for i in range(n):
            for j in range(n):
                k = K[i][j]
                k_im = None if k is None else _nonempty(
                    ufl.replace(k, {v[i]: iv[i], du[j]: idu[j]}))
                if k_im is not None:  # (replace drops zero terms)
                    blocks[i][j] = k
                    blocks[n + i][n + j] = k_im
                m = M[i][j]
                if m is not None:
                    blocks[i][n + j] = -self._omega * ufl.replace(m, {du[j]: idu[j]})
                    blocks[n + i][j] = self._omega * ufl.replace(m, {v[i]: iv[i]})
        # a field whose rows have no steady part here (e.g. a contact fraction with neither
        # voids nor creep: only its rate) gets a zero diagonal block, so that the Dirichlet
        # rows of its held dofs have a block to sit in
        zero = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
        for i in range(n):
            for b, (t, s) in ((i, (du[i], v[i])), (n + i, (idu[i], iv[i]))):
                if blocks[b][b] is None:
                    zmesh = spaces[i].mesh
                    zc = zero if zmesh is mesh else dolfinx.fem.Constant(
                        zmesh, PETSc.ScalarType(0.0))
                    blocks[b][b] = zc * ufl.inner(t, s) * ufl.dx(domain=zmesh)
        em = problem.entity_maps or None
        self._a = dolfinx.fem.form(blocks, entity_maps=em)
        # the fixed data (grounded electrode, held concentrations, ...) and the dofs of
        # bounded fields sitting on a bound (an active constraint stays active under a small
        # signal): homogeneous on both parts
        self._spaces = (spaces, ispaces)
        self._bcs = self._fixed()
        self._A = dolfinx.fem.petsc.create_matrix(self._a)
        # the source: a unit current density into the current collector (real block)
        owner, src = charge.current_source({r: v[i] for r, i in cidx.items()})
        self._re = [dolfinx.fem.Function(V) for V in spaces]
        self._im = [dolfinx.fem.Function(W) for W in ispaces]
        oi = cidx[owner]
        vec = dolfinx.fem.assemble_vector(dolfinx.fem.form(src, entity_maps=em))
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        self._re[oi].x.array[:] = vec.array
        self._re[oi].x.scatter_forward()
        for bc in self._bcs:
            for f in self._re:
                if f.function_space._cpp_object.contains(bc.function_space):
                    bc.set(f.x.array, alpha=0.0)
        self._b = dolfinx.fem.petsc.create_vector(spaces + ispaces, kind="mpi")
        dolfinx.fem.petsc.assign(self._re + self._im, self._b)
        self._x = self._b.duplicate()
        for f in self._re:
            f.x.array[:] = 0.0
        # what is measured: the cell voltage and the interfaces' mean overpotentials
        vt = charge.vt
        phi_r = {r: vt * self._re[i] for r, i in cidx.items()}
        phi_i = {r: vt * self._im[i] for r, i in cidx.items()}
        self._v_forms = (charge.cell_voltage_forms(phi_r), charge.cell_voltage_forms(phi_i))
        self._itf_forms = (charge.interface_mean_forms(phi_r),
                           charge.interface_mean_forms(phi_i))
        # the current crosses the interface of the current collector's electrode into the
        # electrolyte and the others out of it: eta responds with the opposite sign there
        self._itf_sign = {name: 1.0 if charge._sides[name][0] == owner else -1.0
                          for name in self._itf_forms[0]}
        self._ksp = PETSc.KSP().create(self.comm)
        self._ksp.setOperators(self._A)
        pc = self._ksp.getPC()
        pc.setType("lu")
        pc.setFactorSolverType("mumps")
        self._ksp.setType("preonly")
        self._factored = False
        self._last_its = 0

    def _fixed(self) -> list:
        """Homogeneous Dirichlet conditions on both parts of the fixed dofs (`_fixed_dofs`)."""
        spaces, ispaces = self._spaces
        zero = PETSc.ScalarType(0.0)
        out = []
        for i, dofs in _fixed_dofs(self.problem):
            out += [dolfinx.fem.dirichletbc(zero, dofs, spaces[i]),
                    dolfinx.fem.dirichletbc(zero, dofs, ispaces[i])]
        return out

    def _freeze(self) -> None:
        for u, g in self._frozen.values():
            g.x.array[:] = u.x.array

    def refresh(self) -> None:
        """Follow a new state of the problem (collective): the state the rates are taken
        about, the dofs on a bound, and a fresh factorisation at the next frequency."""
        self._freeze()
        self._bcs = self._fixed()
        self._factored = False
        self._last_its = 0

    def close(self) -> None:
        """Free the PETSc objects (collective)."""
        for obj in (self._ksp, self._A, self._b, self._x):
            obj.destroy()

    def _assemble(self, omega: float) -> None:
        self._omega.value = omega
        self._A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(self._A, self._a, bcs=self._bcs)
        self._A.assemble()

    def _direct(self) -> int:
        """A fresh LU of the assembled matrix and its solve (KSP preonly): its reason."""
        ksp = self._ksp
        ksp.setType("preonly")
        ksp.getPC().setReusePreconditioner(False)
        ksp.solve(self._b, self._x)
        reason = ksp.getConvergedReason()
        self._factored = True
        if self.reuse:  # the next frequencies: GMRES on this factorisation
            ksp.setType("gmres")
            ksp.setTolerances(rtol=1e-13, atol=0.0, max_it=self.max_reuse_its)
            ksp.setGMRESRestart(self.max_reuse_its + 1)
            ksp.getPC().setReusePreconditioner(True)
        return reason

    def _solve_one(self) -> tuple[int, bool, int]:
        """Solve at the assembled frequency: (Krylov iterations, refactorised?, KSP reason
        of the accepted solve)."""
        ksp = self._ksp
        # a fresh LU when there is none, or when the last reuse already needed more than half
        # the allowed iterations (the next frequency is further away: it would fail)
        if not self.reuse or not self._factored or self._last_its > self.max_reuse_its // 2:
            self._last_its = 0
            return 1, True, self._direct()
        ksp.solve(self._b, self._x)
        if ksp.getConvergedReason() > 0:
            self._last_its = ksp.getIterationNumber()
            return self._last_its, False, ksp.getConvergedReason()
        wasted = ksp.getIterationNumber()  # too far from the factorised frequency
        self._last_its = 0
        return wasted + 1, True, self._direct()

    def _value(self, pair) -> complex:
        out = []
        for forms in pair:
            top, bottom = forms
            t = self.comm.allreduce(dolfinx.fem.assemble_scalar(top), op=MPI.SUM)
            b = 0.0 if bottom is None else self.comm.allreduce(
                dolfinx.fem.assemble_scalar(bottom), op=MPI.SUM)
            out.append(t - b)  # the terminal where dI enters minus the ground
        return complex(out[0], out[1])

    def sweep(self, frequencies, progress=None) -> Spectrum:
        """Z(f) at the given frequencies [Hz] (best in order, e.g. log-spaced).

        Args:
            frequencies: f [Hz], > 0.
            progress: optional callable(k) after each frequency (rank 0 prints).

        Raises:
            SolverError: a frequency whose linear solve fails (reason named).
        """
        f = np.asarray(frequencies, dtype=float)
        if f.size == 0 or not np.all(np.isfinite(f)) or np.any(f <= 0):
            raise MaterialError("impedance: frequencies must be positive numbers")
        z = np.zeros(f.size, dtype=complex)
        itf = {name: np.zeros(f.size, dtype=complex) for name in self._itf_forms[0]}
        its, facts = [], 0
        for k, fk in enumerate(f):
            self._assemble(2 * math.pi * fk)
            n, refactored, reason = self._solve_one()
            finite = self.comm.allreduce(bool(np.all(np.isfinite(self._x.array))),
                                         op=MPI.LAND)
            if reason <= 0 or not finite:
                raise SolverError(f"impedance: the linear solve at f = {fk:.6g} Hz failed "
                                  f"(KSP reason {reason})")
            facts += int(refactored)
            its.append(int(n))
            dolfinx.fem.petsc.assign(self._x, self._re + self._im)
            for g in self._re + self._im:
                g.x.scatter_forward()
            z[k] = self._value(self._v_forms)
            for name in itf:
                vals = [self.comm.allreduce(dolfinx.fem.assemble_scalar(forms[name]),
                                            op=MPI.SUM) for forms in self._itf_forms]
                itf[name][k] = self._itf_sign[name] * complex(*vals)
            if progress is not None:
                progress(k)
        return Spectrum(f, z, itf, facts, its)

    def fields_at(self) -> dict:
        """{name: (Function, scale)} of the real and imaginary parts of every field at the
        last frequency solved, per unit current density, for output: the potentials in
        V per A m^-2, other fields in their own output unit per A m^-2."""
        out = {}
        cidx = {f.name: r for r, f in zip(self.charge.conductors, self.charge.fields,
                                          strict=True)}
        scales = {}
        for p in self.problem.physics:
            for fn, scale in p.output_fields().values():
                scales[id(fn)] = scale
        for f, fr, fi in zip(self.problem.fields, self._re, self._im, strict=True):
            if f.name in cidx:
                name, scale = f"phi_{cidx[f.name]}", self.charge.vt
            else:
                name, scale = f.name, scales.get(id(f.u), 1.0)
            out[f"{name}_re"] = (fr, scale)
            out[f"{name}_im"] = (fi, scale)
        return out


def _nonempty(form):
    """The form, or None when it has no (nonzero) integral."""
    if form is None:
        return None
    keep = [i for i in form.integrals() if not isinstance(i.integrand(), ufl.constantvalue.Zero)]
    return ufl.Form(keep) if keep else None


def split_rates(residuals, unknowns, trials, time, frozen, fields):
    """The steady part K and the rate operator M of the quasi-stationary linearisation of
    BDF residuals.

    Every time derivative is written `time.ddt(...)` = (a0 m(u) + a1 m(u^n) + a2 m(u^n-1)) / dt.
    About a state u0, the history levels become the frozen state u0 itself (a copy, no
    derivative) and (a0, a1, a2, dt) -> (s, -s, 0, 1): ddt(u) -> s (m(u) - m(u0)), which is 0
    at the state and has the derivative s m'(u0) du. The residual is then F(u) + s G(u) with
    G(u0) = 0, so its Jacobian is K + s M: K the derivative at s = 0, M the derivative in s
    (UFL, exact). A coefficient times a rate (e.g. a contact fraction times d(theta)/dt)
    contributes to M only, as the quasi-stationary linearisation (the state's own rates are
    neglected) requires; with the history levels kept, it would leave the last step's rate
    in K.

    Args:
        residuals: one rank-1 form per unknown (test function on that row's space).
        unknowns: the Functions differentiated.
        trials: one trial function per unknown.
        time: the TimeContext of the residuals.
        frozen: {id(u): Function holding the state} of every unknown with history.
        fields: the Fields (their history levels are replaced).

    Returns:
        (K, M): n x n lists of forms or None.
    """
    from ufl.algorithms import expand_derivatives

    s = ufl.variable(dolfinx.fem.Constant(time.dt.ufl_domain(), PETSc.ScalarType(0.0)))
    sub = {time.a[0]: s, time.a[1]: -s, time.a[2]: ufl.as_ufl(0.0), time.dt: ufl.as_ufl(1.0)}
    for f in fields:
        for h in f.history:
            sub[h] = frozen[id(f.u)]
    n = len(unknowns)
    K = [[None] * n for _ in range(n)]
    M = [[None] * n for _ in range(n)]
    for i, r in enumerate(residuals):
        rs = ufl.replace(r, sub)
        for j, (u, du) in enumerate(zip(unknowns, trials, strict=True)):
            J = expand_derivatives(ufl.derivative(rs, u, du))
            if J.empty():
                continue
            K[i][j] = _nonempty(ufl.replace(J, {s: ufl.as_ufl(0.0)}))
            M[i][j] = _nonempty(expand_derivatives(ufl.Form(
                [itg.reconstruct(integrand=ufl.diff(itg.integrand(), s))
                 for itg in J.integrals()])))
    return K, M


def _fixed_dofs(problem):
    """(field index, local dofs) held fixed in the small signal: every Dirichlet condition of
    the problem, and the dofs of bounded fields that sit on a (constant) bound.

    Raises:
        MaterialError: a Dirichlet condition on a component of a field, or a bound that is
            itself a field (e.g. irreversibility): not linearised yet.
    """
    out = []
    for bc in problem.dirichlet_bcs:  # on every field of its space (as the Problem does)
        for i, f in enumerate(problem.fields):
            V = f.u.function_space
            if not V._cpp_object.contains(bc.function_space):
                continue
            if V.num_sub_spaces and bc.function_space != V._cpp_object:
                raise MaterialError(f"impedance: {f.name} has a Dirichlet condition on a "
                                    "component: not linearised yet")
            out.append((i, bc.dof_indices()[0]))
    for name, (lo, hi) in problem.bounds.items():
        i = next(i for i, f in enumerate(problem.fields) if f.name == name)
        u = problem.fields[i].u
        if any(isinstance(b, dolfinx.fem.Function) for b in (lo, hi)):
            raise MaterialError(f"impedance: the bounds of {name} follow the state (e.g. "
                                "irreversibility): not linearised")
        imap = u.function_space.dofmap.index_map
        n = imap.size_local * u.function_space.dofmap.index_map_bs
        mark = dolfinx.fem.Function(u.function_space)
        for b in (float(lo), float(hi)):
            if math.isfinite(b):  # owned dofs on the bound, then their ghosts
                on = np.abs(u.x.array[:n] - b) <= 1e-10 * max(1.0, abs(b))
                mark.x.array[:n][on] = 1.0
        mark.x.scatter_forward()
        out.append((i, np.flatnonzero(mark.x.array > 0.5).astype(np.int32)))
    return out
