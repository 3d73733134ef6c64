"""Compose physics into one nonlinear problem. No physics lives here.

Each physics object declares its fields and contributes residual terms; the Problem owns the
time levels (BDF history), assembles the (block) residual with a UFL-derived Jacobian,
solves it with SNES and checks every converged reason. When every physics is linear with
fixed coefficients, the Jacobian and its factorisation are reused until the step size, the
scheme or a coefficient changes (the general mechanism that keeps linear problems cheap).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.solvers.presets import linear_solver_options, newton_options
from femcell.solvers.snes import SolveReport, SolverError, run_snes


@dataclass
class Field:
    """An unknown with its time history.

    Attributes:
        name: field name ("c", "phi_l", ...).
        u: the unknown at the new time level (scaled, O(1)).
        history: previous levels [u^n, u^(n-1), u^(n-2)].
    """

    name: str
    u: dolfinx.fem.Function
    history: list = field(default_factory=list)

    @classmethod
    def create(cls, name: str, space, levels: int = 3) -> Field:
        u = dolfinx.fem.Function(space, name=name)
        hist = [dolfinx.fem.Function(space, name=f"{name}_{k}") for k in range(levels)]
        return cls(name, u, hist)

    def set_all(self, values_from) -> None:
        """Set u and all history levels from a Function or callable."""
        if callable(values_from) and not isinstance(values_from, dolfinx.fem.Function):
            self.u.interpolate(values_from)
        else:
            self.u.x.array[:] = values_from.x.array
        self.u.x.scatter_forward()
        for h in self.history:
            h.x.array[:] = self.u.x.array


class TimeContext:
    """Time level constants and the BDF time derivative shared by all physics.

    ddt(u) = (a0 m(u) + a1 m(u^n) + a2 m(u^(n-1))) / dt, with the coefficients of variable-step
    BDF1 (backward Euler) or BDF2 set by `set_scheme`.
    """

    def __init__(self, mesh):
        c = dolfinx.fem.Constant
        self.t = c(mesh, PETSc.ScalarType(0.0))  # new time level [s]
        self.dt = c(mesh, PETSc.ScalarType(1.0))  # step [s]
        self.a = [c(mesh, PETSc.ScalarType(v)) for v in (1.0, -1.0, 0.0)]
        self.order = 1
        # numpy views of the constants' storage: setting them costs ~0.1 us, not ~1 us
        self._views = [k._cpp_object.value for k in (self.t, self.dt, *self.a)]

    @staticmethod
    def bdf_coefficients(order: int, dt: float, dt_prev: float | None) -> tuple[float, ...]:
        """(a0, a1, a2) of variable-step BDF of the given order (1 or 2)."""
        if order == 1 or dt_prev is None:
            return (1.0, -1.0, 0.0)
        w = dt / dt_prev
        if abs(w - 1.0) < 1e-9:  # equal steps up to round-off in t: keep operators reusable
            w = 1.0
        return ((1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w))

    def set_scheme(self, t_new: float, dt: float, order: int, dt_prev: float | None) -> tuple:
        coeffs = self.bdf_coefficients(order, dt, dt_prev)
        for view, v in zip(self._views, (t_new, dt, *coeffs), strict=True):
            view[...] = v
        self.order = 1 if coeffs[2] == 0.0 else 2
        return coeffs

    def ddt(self, f: Field, storage=None):
        """BDF time derivative of storage(u) [units of storage per second]."""
        m = storage or (lambda v: v)
        return (self.a[0] * m(f.u) + self.a[1] * m(f.history[0])
                + self.a[2] * m(f.history[1])) / self.dt


class Problem:
    """A (block) nonlinear problem composed of physics objects.

    Args:
        domain: the Domain.
        physics: physics objects (see femcell.physics.base.Physics).
        linear_solver: "auto", "direct" or "iterative".
        petsc_options: extra SNES/KSP options (override the presets).
        prefix: PETSc options prefix (unique per problem).
        reuse_operators: for affine single-field problems, solve with pre-assembled
            operators instead of SNES (same answer, far fewer assemblies).
    """

    _count = 0

    def __init__(self, domain, physics, *, linear_solver: str = "auto",
                 petsc_options: dict | None = None, prefix: str | None = None,
                 reuse_operators: bool = True):
        self.domain = domain
        self.physics = list(physics)
        self.time = TimeContext(domain.mesh)
        for p in self.physics:
            p.setup(domain, self.time)
        self.fields: list[Field] = [f for p in self.physics for f in p.fields]
        residuals = [r for p in self.physics for r in p.residuals()]
        # terms one physics adds to another's field (e.g. interfacial insertion fluxes)
        index = {f.name: i for i, f in enumerate(self.fields)}
        for p in self.physics:
            for name, term in (p.coupling_terms() if hasattr(p, "coupling_terms") else {}
                               ).items():
                if name not in index:
                    raise ValueError(f"{p.name}: coupling to unknown field {name!r}")
                residuals[index[name]] = residuals[index[name]] + term
        bcs = [bc for p in self.physics for bc in p.dirichlet_bcs()]
        self.linear = all(p.linear for p in self.physics)
        ndofs = sum(f.u.function_space.dofmap.index_map.size_global
                    * f.u.function_space.dofmap.index_map_bs for f in self.fields)
        self.num_dofs = ndofs
        symmetric = all(getattr(p, "symmetric", False) for p in self.physics)
        self._last_accepted: dict[str, np.ndarray] = {}
        opts = newton_options()
        for p in self.physics:
            opts.update(getattr(p, "snes_options", {}))
        opts.update(linear_solver_options(ndofs, linear_solver, symmetric, domain.comm.size))
        if self.linear:
            opts["snes_type"] = "ksponly"
            opts.pop("snes_linesearch_type")
        # bounded fields (e.g. a contact fraction in [0, 1]): variational-inequality Newton
        self._bounds = {}
        for p in self.physics:
            self._bounds.update(p.bounds() if hasattr(p, "bounds") else {})
        if self._bounds:
            opts["snes_type"] = "vinewtonrsls"
            if opts.get("snes_linesearch_type") == "bt":  # keep a physics' own choice
                opts.pop("snes_linesearch_type")
        opts.update(petsc_options or {})
        Problem._count += 1
        self.prefix = prefix or f"femcell{Problem._count}"
        us = [f.u for f in self.fields]
        single = len(us) == 1
        self._opts = opts
        self._residuals, self._bcs = residuals, bcs
        self._entity_maps = [m for p in self.physics for m in getattr(p, "entity_maps", [])]
        self._nlps: dict = {}
        self.mode = "default"
        self._jac_key = None
        self._jac_current = False
        self.stats = {"solves": 0, "newton_its": 0, "krylov_its": 0, "jacobians": 0}
        self._nlp = self._make_nlp("default", bcs)
        self._linear_stepper = None
        if reuse_operators and self.linear and single and self.fields[0].history:
            self._linear_stepper = _LinearStepper(self, residuals[0], bcs, opts)
        self._field_index = index
        for p in self.physics:
            p.on_problem(self)

    def residual_of(self, field_name: str):
        """The composed UFL residual of one field (its physics' terms plus the coupling terms
        other physics add), e.g. to evaluate discrete boundary fluxes."""
        return self._residuals[self._field_index[field_name]]

    @property
    def entity_maps(self) -> list:
        """Entity maps every mixed-dimensional form of this problem needs."""
        return list(self._entity_maps)

    def _make_nlp(self, mode: str, bcs):
        """A dolfinx NonlinearProblem for one set of Dirichlet conditions (a mode)."""
        us = [f.u for f in self.fields]
        single = len(us) == 1
        nlp = dolfinx.fem.petsc.NonlinearProblem(
            self._residuals[0] if single else self._residuals, us[0] if single else us,
            bcs=bcs, petsc_options_prefix=f"{self.prefix}{mode}_",
            petsc_options=self._opts, entity_maps=self._entity_maps or None)
        # wrap the Jacobian assembly so that a linear problem reuses the assembled matrix
        # (and, since the Mat state is unchanged, PETSc keeps its factorisation)
        snes = nlp.solver
        jac_fn, jac_args, jac_kargs = snes.getJacobian()[2]

        def jacobian(snes_, x, A, P):
            if self._jac_current:
                return
            jac_fn(snes_, x, A, P, *(jac_args or ()), **(jac_kargs or {}))
            self.stats["jacobians"] += 1
            self._jac_current = self.linear

        snes.setJacobian(jacobian, nlp.A, nlp.P_mat)
        if self._bounds:  # lower/upper bound vectors in the problem's block layout
            inf = PETSc.INFINITY
            lo, hi = [], []
            for f in self.fields:
                lb, ub = self._bounds.get(f.name, (-inf, inf))
                for store, val in ((lo, lb), (hi, ub)):
                    g = dolfinx.fem.Function(f.u.function_space)
                    g.x.array[:] = val
                    store.append(g)
            xl, xu = nlp.x.duplicate(), nlp.x.duplicate()
            dolfinx.fem.petsc.assign(lo if len(lo) > 1 else lo[0], xl)
            dolfinx.fem.petsc.assign(hi if len(hi) > 1 else hi[0], xu)
            snes.setVariableBounds(xl, xu)
            nlp._femcell_bounds = (xl, xu)  # keep them alive
        self._nlps[mode] = nlp
        return nlp

    def set_mode(self, mode: str) -> None:
        """Switch the set of Dirichlet conditions: "default" or a mode a physics declares
        in `bc_modes()` (e.g. "potentiostatic" to hold the cell voltage)."""
        if mode == self.mode:
            return
        if mode not in self._nlps:
            extra = []
            known = {"default"}
            for p in self.physics:
                modes = p.bc_modes() if hasattr(p, "bc_modes") else {}
                known |= set(modes)
                extra += modes.get(mode, [])
            if mode not in known:
                raise ValueError(f"unknown solver mode {mode!r}; known: {', '.join(known)}")
            self._make_nlp(mode, self._bcs + extra)
        self._nlp = self._nlps[mode]
        self.mode = mode
        self._jac_current = False
        self._jac_key = None

    def close(self) -> None:
        """Destroy the PETSc solvers and matrices now (collective). Long sweeps under MPI
        otherwise keep MUMPS instances, and their communicators, alive until garbage
        collection."""
        for nlp in self._nlps.values():
            for obj in (nlp.solver, nlp.A, nlp.P_mat, nlp.b, nlp.x):
                if obj is not None:
                    obj.destroy()
        self._nlps = {}
        st = self._linear_stepper
        if st is not None:
            for obj in (st.ksp, st.K, st.M, st.Mz, st.Mr):
                if obj is not None:
                    obj.destroy()
            self._linear_stepper = None

    @property
    def solver(self):
        return self._nlp.solver

    # ------------------------------------------------------------------ time levels
    def initialise(self) -> None:
        """Apply every physics' initial condition to u and all history levels."""
        for p in self.physics:
            p.initial_condition()
        for f in self.fields:
            if not f.history:
                self._last_accepted[f.name] = f.u.x.array.copy()
        if self._linear_stepper is not None:  # operators are part of the set-up, not a step
            self._linear_stepper.prepare()

    def solve_step(self, t_new: float, dt: float, order: int, dt_prev: float | None
                   ) -> SolveReport:
        """Solve for the new time level t_new = t + dt. u starts from u^n."""
        coeffs = self.time.set_scheme(t_new, dt, order, dt_prev)
        changed = False
        for p in self.physics:
            changed |= bool(p.update(t_new))
        if self._linear_stepper is not None:
            report = self._linear_stepper.solve((dt, coeffs), changed)
            self.stats["solves"] += 1
            self.stats["newton_its"] += report.newton_its
            self.stats["krylov_its"] += report.krylov_its
            if not report.converged:
                self.reject()
            return report
        for f in self.fields:  # initial guess: previous level (quasi-static: as it is)
            if f.history:
                f.u.x.array[:] = f.history[0].x.array
        if self.linear:
            key = (dt, coeffs)
            if changed or key != self._jac_key:
                self._jac_current = False  # rebuild once, then keep
                self._jac_key = key
        report = run_snes(self._nlp)
        self.stats["solves"] += 1
        self.stats["newton_its"] += report.newton_its
        self.stats["krylov_its"] += report.krylov_its
        if not report.converged:
            self._jac_key = None
            self._jac_current = False  # a failed factorisation must not be reused
            self.reject()
        return report

    def can_batch(self) -> bool:
        """True when fixed steps can run in a tight loop (`advance_batch`)."""
        return self._linear_stepper is not None and not any(
            p.time_dependent or p.step_hook for p in self.physics)

    def advance_batch(self, n: int, dt: float, order: int) -> bool:
        """Take n more steps of size dt with the operators of the last step (linear problems
        with time-independent data only). Returns False if the last step used other operators
        (the caller then steps normally)."""
        key = (dt, self.time.bdf_coefficients(order, dt, dt))
        if self._linear_stepper is None or key != self._linear_stepper._key:
            return False
        self._linear_stepper.advance(n)
        self.stats["solves"] += n
        self.stats["newton_its"] += n
        return True

    def accept(self) -> None:
        """Run the step hooks, then shift history: u^(n-2) <- u^(n-1) <- u^n <- u."""
        for p in self.physics:
            if p.step_hook:
                p.on_accept()
        for f in self.fields:
            if not f.history:  # quasi-static field: remember it for a rejected step
                self._last_accepted[f.name] = f.u.x.array.copy()
                continue
            h = f.history
            for k in range(len(h) - 1, 0, -1):
                h[k].x.array[:] = h[k - 1].x.array
            h[0].x.array[:] = f.u.x.array

    def reject(self) -> None:
        """Restore u from u^n after a failed or rejected step."""
        for f in self.fields:
            if f.history:
                f.u.x.array[:] = f.history[0].x.array
            elif f.name in self._last_accepted:
                f.u.x.array[:] = self._last_accepted[f.name]

    def error_estimate(self, weights: tuple[float, ...], atol: float, rtol: float) -> float:
        """max |u - u_pred| / (atol + rtol |u|) over owned DOFs of all fields (collective).

        Args:
            weights: extrapolation weights of the predictor u_pred = sum_k w_k u^(n-k).
        """
        local = 0.0
        for f in self.fields:
            if not f.history:  # quasi-static fields carry no time error
                continue
            dm = f.u.function_space.dofmap
            n = dm.index_map.size_local * dm.index_map_bs
            u = f.u.x.array[:n]
            pred = sum(w * h.x.array[:n] for w, h in zip(weights, f.history, strict=False))
            if n:
                local = max(local, float(np.max(np.abs(u - pred) / (atol + rtol * np.abs(u)))))
        return self.domain.comm.allreduce(local, op=MPI.MAX)

    def quantities(self) -> dict[str, float]:
        """Scalar quantities reported by every physics (SI), collective."""
        out = {}
        for p in self.physics:
            out.update(p.quantities())
        return out


class _LinearStepper:
    """Affine single-field problems with time-stepping operators built from two matrices.

    The residual is F = (a0 m(u) + a1 m(u^n) + a2 m(u^(n-1))) / dt + k(u) - f(t) with linear
    m and k, so with M = dm/du and K = dk/du (both exact by construction from the UFL
    residual: K = J at a0 = 0, M = dF/du^n at a1 = dt = 1):

        (K + a0/dt M) u = lift - M (a1/dt u^n + a2/dt u^(n-1)) - F0,

    F0 = F(u = 0, history = 0) the load. K and M are assembled once (again only when a
    coefficient changes); a new step size or scheme costs one matrix sum and one
    factorisation; F0 is rebuilt only when a Constant of the load changes and the Dirichlet
    lifting only when a boundary value changes. A step is then one mat-vec, two vector
    updates and one triangular solve - the hand-written loop's work.
    """

    def __init__(self, problem: Problem, residual, bcs, opts: dict):
        nlp = problem._nlp
        f = problem.fields[0]
        tc = problem.time
        self.problem, self.field, self.bcs = problem, f, bcs
        V = f.u.function_space
        du = ufl.TrialFunction(V)
        self.h = [f.history[0], f.history[1]]
        em = problem._entity_maps or None
        J = ufl.derivative(residual, f.u, du)
        self.K_form = dolfinx.fem.form(ufl.replace(J, {tc.a[0]: ufl.as_ufl(0.0)}),
                                       entity_maps=em)
        self.M_form = dolfinx.fem.form(ufl.replace(
            ufl.derivative(residual, self.h[0], du),
            {tc.a[1]: ufl.as_ufl(1.0), tc.dt: ufl.as_ufl(1.0)}), entity_maps=em)
        self.A = nlp.A
        self.J = nlp.J
        self.F = nlp.F
        self.K = dolfinx.fem.petsc.create_matrix(self.K_form)
        self.M = dolfinx.fem.petsc.create_matrix(self.M_form)
        self.Mz = self.Mr = None
        # the load F0 changes only with the residual's own constants (not dt and the BDF
        # coefficients, which multiply terms that vanish at u = history = 0)
        step_consts = {id(c) for c in (tc.dt, *tc.a)}
        self._const_views = [c._cpp_object.value for c in residual.constants()
                             if id(c) not in step_consts]
        self.b = f.u.x.petsc_vec.duplicate()
        self.F0 = f.u.x.petsc_vec.duplicate()
        self.lift = f.u.x.petsc_vec.duplicate()
        self.tmp = f.u.x.petsc_vec.duplicate()
        self.ksp = PETSc.KSP().create(problem.domain.comm)
        prefix = problem.prefix + "lin_"
        self.ksp.setOptionsPrefix(prefix)
        popts = PETSc.Options()
        for k, v in opts.items():
            if k.startswith(("ksp_", "pc_", "mat_")):
                popts[prefix + k] = v
        self.ksp.setFromOptions()
        self._key = None
        self._ops_current = False
        self._const_sig = None
        self._bc_sig = None
        self._batch_key = None
        self._hist = (0.0, 0.0)
        self._work = [f.u.x.petsc_vec.duplicate() for _ in range(3)]
        rows = np.concatenate([bc.dof_indices()[0][: bc.dof_indices()[1]]
                               for bc in bcs]) if bcs else np.empty(0, np.int32)
        imap, bs = V.dofmap.index_map, V.dofmap.index_map_bs
        rows = rows.astype(np.int64)
        blocks = imap.local_to_global((rows // bs).astype(np.int32))
        self._bc_rows = (blocks * bs + rows % bs).astype(PETSc.IntType)

    def prepare(self) -> None:
        """Assemble K, M, the pattern of A and the load for the current coefficients."""
        from dolfinx.fem.petsc import assemble_matrix

        self._build_KM()
        for fn in (self.field.u, *self.field.history):  # PETSc wrappers are made lazily
            fn.x.petsc_vec  # noqa: B018
        if not self.A.isAssembled():
            assemble_matrix(self.A, self.J, self.bcs, diag=1.0)
            self.A.assemble()
            # symbolic factorisation (ordering, fill) now: later steps refactor numerically
            self.ksp.setOperators(self.A)
            self.ksp.setUp()
        self._update_load(force=True)

    def _update_load(self, force: bool = False) -> None:
        """Rebuild F0 = F(u = 0, history = 0) when a Constant of the load changed."""
        from dolfinx.fem.petsc import assemble_vector

        sig = tuple(v.tobytes() for v in self._const_views)
        if not force and sig == self._const_sig:
            return
        u = self.field.u
        saved = [u.x.array.copy()] + [h.x.array.copy() for h in self.h]
        for fn in [u, *self.h]:
            fn.x.array[:] = 0.0
        with self.F0.localForm() as loc:
            loc.set(0.0)
        assemble_vector(self.F0, self.F)
        self.F0.ghostUpdate(PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
        u.x.array[:] = saved[0]
        for h, arr in zip(self.h, saved[1:], strict=True):
            h.x.array[:] = arr
        self._const_sig = sig

    def _build_KM(self):
        from dolfinx.fem.petsc import assemble_matrix

        self.K.zeroEntries()
        assemble_matrix(self.K, self.K_form, self.bcs, diag=1.0)
        self.K.assemble()
        self.M.zeroEntries()
        assemble_matrix(self.M, self.M_form)
        self.M.assemble()
        self.Mz = self.M.copy()  # Dirichlet rows and columns out: added to K
        self.Mr = self.M.copy()  # Dirichlet rows out: the batched right-hand side
        if self.bcs:
            self.Mz.zeroRowsColumns(self._bc_rows, diag=0.0)
            self.Mr.zeroRows(self._bc_rows, diag=0.0)
        self.problem.stats["jacobians"] += 1
        self._ops_current = True

    def advance(self, n: int) -> None:
        """n steps with unchanged operators and data, as a hand-written loop would do them:
        one mat-vec, two vector updates and one triangular solve per step, on work vectors;
        the fields and their history are updated once at the end."""
        if self._batch_key != (self._key, self._const_sig, self._bc_sig):
            c = self.F0.duplicate()  # c = lift - F0 with Dirichlet rows = g
            self.lift.copy(c)
            c.axpy(-1.0, self.F0)
            if self.bcs:
                from dolfinx.fem.petsc import set_bc

                set_bc(c, self.bcs)
            self._c = c
            self._batch_key = (self._key, self._const_sig, self._bc_sig)
        f = self.field
        x_n, x_nm1, x_nm2 = self._work
        f.history[0].x.petsc_vec.copy(x_n)
        f.history[1].x.petsc_vec.copy(x_nm1)
        alpha, beta = self._hist
        ratio = beta / alpha
        b, c, M, ksp = self.b, self._c, self.Mr, self.ksp
        for _ in range(n):
            x_nm2.waxpy(ratio, x_nm1, x_n)  # x_nm2 is free until the solve overwrites it
            M.mult(x_nm2, b)
            b.aypx(-alpha, c)  # b = c - alpha M (x_n + ratio x_nm1)
            ksp.solve(b, x_nm2)
            if ksp.getConvergedReason() <= 0:
                raise SolverError(f"linear solve failed in a batch of fixed steps (KSP reason "
                                  f"{ksp.getConvergedReason()})")
            x_nm2, x_nm1, x_n = x_nm1, x_n, x_nm2
        if not np.isfinite(x_n.norm()):
            raise SolverError("non-finite solution in a batch of fixed steps")
        for dst, src in ((f.u, x_n), (f.history[0], x_n), (f.history[1], x_nm1),
                         (f.history[2], x_nm2)):
            src.copy(dst.x.petsc_vec)
            dst.x.scatter_forward()

    def _bc_signature(self):
        sig = []
        for bc in self.bcs:
            g = bc.g
            val = getattr(g, "value", None)
            if val is not None:
                sig.append(np.asarray(val).tobytes())
            else:
                sig.append(g.x.array.tobytes())
        return tuple(sig)

    def solve(self, key, changed: bool) -> SolveReport:
        from dolfinx.fem.petsc import apply_lifting, set_bc

        u = self.field.u
        rebuilt = False
        if changed or not self._ops_current:
            self._build_KM()
            self._key = None
        if key != self._key:
            dt, (a0, a1, a2) = key
            if not self.A.isAssembled():
                self.prepare()
            self.A.zeroEntries()
            self.A.axpy(1.0, self.K, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
            self.A.axpy(a0 / dt, self.Mz, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
            self.ksp.setOperators(self.A)
            self._hist = (a1 / dt, a2 / dt)
            self._key = key
            rebuilt = True
        self._update_load(force=changed)
        bsig = self._bc_signature() if self.bcs else ()
        # collective decision: the lifting exchanges ghost data, every rank must join
        if self.problem.domain.comm.allreduce(rebuilt or bsig != self._bc_sig, op=MPI.LOR):
            with self.lift.localForm() as loc:
                loc.set(0.0)
            if self.bcs:
                apply_lifting(self.lift, [self.J], bcs=[self.bcs])
                self.lift.ghostUpdate(PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
            self._bc_sig = bsig
        alpha, beta = self._hist
        b, tmp = self.b, self.tmp
        tmp.waxpy(beta / alpha, self.h[1].x.petsc_vec, self.h[0].x.petsc_vec)
        self.M.mult(tmp, b)
        b.scale(alpha)
        b.axpy(1.0, self.F0)
        b.aypx(-1.0, self.lift)  # b = lift - (M (a1 h0 + a2 h1) / dt + F0)
        if self.bcs:
            set_bc(b, self.bcs)
        x = u.x.petsc_vec
        try:
            self.ksp.solve(b, x)
        except PETSc.Error as exc:
            return SolveReport(False, f"PETSc error {exc.ierr}", 1, 0)
        u.x.scatter_forward()
        reason = self.ksp.getConvergedReason()
        its = self.ksp.getIterationNumber()
        finite = bool(np.isfinite(x.norm()))
        ok = reason > 0 and finite
        name = "LINEAR_SOLVE" if ok else f"KSP reason {reason}" + (
            "" if finite else " (non-finite solution)")
        return SolveReport(ok, name, 1, its)
