"""Compose physics into one nonlinear problem. No physics lives here.

Each physics object declares its fields and contributes residual terms; the Problem owns the
time levels (BDF history), assembles the (block) residual with a UFL-derived Jacobian,
solves it with SNES and checks every converged reason. When every physics is linear with
fixed coefficients, the Jacobian and its factorisation are reused until the step size, the
scheme or a coefficient changes (the general mechanism that keeps linear problems cheap).
The Problem calls only the hooks femcell.physics.base.Physics declares.

A Problem can also be one group of a staggered composite (femcell.solvers.staggered): it
then shares the TimeContext of set-up physics and sees the other groups' physics as
`context` (their fields are given coefficients; their coupling terms into this group's
fields are added here).
"""

from __future__ import annotations

import contextlib
import time as _time

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx
from femcell.fields import Field, TimeContext
from femcell.solvers.linear import LinearStepper
from femcell.solvers.presets import linear_solver_options, newton_options
from femcell.solvers.snes import SolveReport, run_snes, vi_convergence_test

__all__ = ["Field", "Problem", "TimeContext"]


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
        time: a TimeContext the physics were already set up with (None: make one and set
            the physics up here).
        context: set-up physics of other groups (staggered solves): their fields are
            coefficients here, their coupling terms into this problem's fields are added.
    A linear problem whose context physics add terms that are affine in its fields
    (`Physics.coupling_affine`, e.g. elasticity with a stiffness degraded by a damage field)
    stays linear: one linear solve per call, its operator re-assembled on every call.
    """

    _count = 0

    def __init__(self, domain, physics, *, linear_solver: str = "auto",
                 petsc_options: dict | None = None, prefix: str | None = None,
                 reuse_operators: bool = True, time: TimeContext | None = None,
                 context=()):
        self.domain = domain
        self.physics = list(physics)
        context = list(context)
        if time is None:
            # a problem starts from the mesh as built (a moving front may have moved it)
            domain.restore_geometry()
            time = TimeContext(domain.mesh)
            for p in self.physics:
                p.setup(domain, time)
        self.time = time
        self.fields: list[Field] = [f for p in self.physics for f in p.fields]
        residuals = [r for p in self.physics for r in p.residuals()]
        # terms one physics adds to another's field (e.g. interfacial insertion fluxes)
        index = {f.name: i for i, f in enumerate(self.fields)}
        known = set(index) | {f.name for p in context for f in p.fields}
        from_context = False
        affine = True  # every term from another group is affine in this group's fields
        for p in self.physics + context:
            for name, term in p.coupling_terms().items():
                if name not in known:
                    raise ValueError(f"{p.name}: coupling to unknown field {name!r}")
                if name in index:
                    residuals[index[name]] = residuals[index[name]] + term
                    from_context |= p in context
                    affine &= p not in context or p.coupling_affine
        bcs = [bc for p in self.physics for bc in p.dirichlet_bcs()]
        # a term from another group depends on its (changing) fields: not linear here
        self.linear = all(p.linear for p in self.physics) and (not from_context or affine)
        # coefficients from other groups change between calls: assemble on every solve
        self._context_dependent = from_context
        ndofs = sum(f.u.function_space.dofmap.index_map.size_global
                    * f.u.function_space.dofmap.index_map_bs for f in self.fields)
        self.num_dofs = ndofs
        symmetric = all(p.symmetric for p in self.physics)
        self._last_accepted: dict[str, np.ndarray] = {}
        opts = newton_options()
        for p in self.physics:
            opts.update(p.snes_options)
        self.linear_solver = linear_solver  # as asked ("auto": a physics may still choose)
        if linear_solver == "auto" and any(p.direct_solver for p in self.physics):
            linear_solver = "direct"  # no working preconditioner of the presets
        opts.update(linear_solver_options(ndofs, linear_solver, symmetric, domain.comm.size))
        if opts.get("pc_type") == "gamg" and all(p.multigrid_options for p in self.physics):
            # only where every physics asked for them (measured on that operator alone)
            for p in self.physics:
                opts.update(p.multigrid_options)
        if self.linear:
            opts["snes_type"] = "ksponly"
            opts.pop("snes_linesearch_type")
        # bounded fields (e.g. a contact fraction in [0, 1]): variational-inequality Newton
        self._bounds = {}
        for p in self.physics:
            self._bounds.update(p.bounds())
        if self._bounds:
            opts["snes_type"] = "vinewtonrsls"
            if opts.get("snes_linesearch_type") == "bt":  # keep a physics' own choice
                opts.pop("snes_linesearch_type")
        opts.update(petsc_options or {})
        if opts.get("pc_type") not in ("lu", "cholesky"):  # a user's pc_type over a direct preset
            for key in ("pc_factor_mat_solver_type", "pc_factor_mat_ordering_type"):
                if key not in (petsc_options or {}):
                    opts.pop(key, None)  # (PETSc would list it as unused at exit)
        Problem._count += 1
        self.prefix = prefix or f"femcell{Problem._count}"
        single = len(self.fields) == 1
        self._opts = opts
        self._residuals, self._bcs = residuals, bcs
        self._entity_maps = [m for p in self.physics + context for m in p.entity_maps]
        self._nlps: dict = {}
        self.mode = "default"
        self._jac_key = None
        self._jac_current = False
        self._step = None  # (key of the step's operators, coefficients changed?)
        # assemble_s / solve_s: wall seconds of this rank in residual + Jacobian assembly and
        # in the rest of the solves (linear solves, line search, convergence tests)
        self.stats = {"solves": 0, "newton_its": 0, "krylov_its": 0, "jacobians": 0,
                      "assemble_s": 0.0, "solve_s": 0.0}
        self._bound_fns = self._make_bound_functions()
        self._periodic = self._make_periodic_map(domain)
        self._user_options = dict(petsc_options or {})
        self._check_user_options(domain.comm)
        self._nlp = self._make_nlp("default", bcs)
        self._linear_stepper = None
        if (reuse_operators and self.linear and single and self.fields[0].history
                and not self._bounds and not from_context and self._periodic is None):
            with self._options_checked():
                self._linear_stepper = LinearStepper(self, residuals[0], bcs, opts)
        self._field_index = index
        for p in self.physics:
            p.on_problem(self)

    def _make_periodic_map(self, domain):
        """The periodic map of a domain built periodic (None otherwise); every physics must
        accept it (`Physics.periodic_refusal`), with no bounds or Dirichlet conditions."""
        box = domain.periodic
        if not box:
            return None
        from femcell.solvers.periodic import PeriodicError, PeriodicMap

        for p in self.physics:
            why = p.periodic_refusal()
            if why is not None:
                raise PeriodicError(f"geometry.params.periodic = {box['axes']}: the "
                                    f"{type(p).__name__} physics ({p.name!r}) "
                                    f"cannot run on a periodic domain: {why}")
        if domain.coordinates != "cartesian":
            raise PeriodicError(f"geometry.params.periodic = {box['axes']}: needs cartesian "
                                f"coordinates, not {domain.coordinates!r}")
        if self._bounds or self._bcs:
            raise PeriodicError(f"geometry.params.periodic = {box['axes']}: not with bounded "
                                "fields (a log potential: a regular-solution energy) or "
                                "Dirichlet conditions")
        for f in self.fields:
            if f.u.function_space.mesh is not domain.mesh:
                raise PeriodicError(f"geometry.params.periodic = {box['axes']}: field "
                                    f"{f.name!r} lives on part of the mesh")
        return PeriodicMap.of_domain([f.u for f in self.fields], domain)

    def make_periodic(self, levels: bool = True) -> None:
        """u (and with `levels` every history level) <- its periodic copy: the far sides'
        dofs take the near sides' values (nothing on a non-periodic domain; collective)."""
        if self._periodic is None:
            return
        self._periodic.project([f.u for f in self.fields])
        for k in range(max(len(f.history) for f in self.fields) if levels else 0):
            # level k of every field (u again, unchanged, for a field with fewer levels)
            self._periodic.project([f.history[k] if len(f.history) > k else f.u
                                    for f in self.fields])

    def residual_of(self, field_name: str):
        """The composed UFL residual of one field (its physics' terms plus the coupling terms
        other physics add), e.g. to evaluate discrete boundary fluxes."""
        return self._residuals[self._field_index[field_name]]

    @property
    def dirichlet_bcs(self) -> list:
        """Every Dirichlet condition of the problem's physics."""
        return list(self._bcs)

    @property
    def bounds(self) -> dict:
        """{field name: (lower, upper)} of bounded fields (floats or Functions, scaled)."""
        return dict(self._bounds)

    @property
    def entity_maps(self) -> list:
        """Entity maps every mixed-dimensional form of this problem needs."""
        return list(self._entity_maps)

    # ------------------------------------------------------------------ bounds
    def _make_bound_functions(self):
        """Per field (lower, upper) Functions of the bounds, or None without bounds."""
        if not self._bounds:
            return None
        lo, hi = [], []
        for f in self.fields:
            for store in (lo, hi):
                store.append(dolfinx.fem.Function(f.u.function_space))
        self._fill_bounds(lo, hi, static=True)
        return lo, hi

    def _fill_bounds(self, lo, hi, static: bool) -> bool:
        """Copy the physics' bounds into the bound Functions: floats only when `static`,
        Functions always. True when a Function bound was copied."""
        inf = PETSc.INFINITY
        copied = False
        for f, gl, gu in zip(self.fields, lo, hi, strict=True):
            for g, val in zip((gl, gu), self._bounds.get(f.name, (-inf, inf)), strict=True):
                if isinstance(val, dolfinx.fem.Function):
                    g.x.array[:] = val.x.array
                    copied = True
                elif static:
                    g.x.array[:] = val
        return copied

    def _refresh_bounds(self) -> None:
        """Copy bounds that are fields (refreshed by their physics) into the SNES bounds."""
        if self._bound_fns is None:
            return
        lo, hi = self._bound_fns
        if self._fill_bounds(lo, hi, static=False):
            xl, xu = self._nlp._femcell_bounds
            dolfinx.fem.petsc.assign(lo if len(lo) > 1 else lo[0], xl)
            dolfinx.fem.petsc.assign(hi if len(hi) > 1 else hi[0], xu)

    # PETSc error codes a rejected option gives (petscerror.h)
    _OPTION_ERRORS = {62: "invalid argument", 63: "argument out of range",
                      86: "unknown type"}

    @contextlib.contextmanager
    def _options_checked(self):
        """PETSc refusing an option the user gave (solver.petsc_options) is bad input."""
        try:
            yield
        except PETSc.Error as exc:
            if not self._user_options:
                raise
            from femcell.config import ConfigError

            what = self._OPTION_ERRORS.get(exc.ierr, f"PETSc error {exc.ierr}")
            given = ", ".join(f"{k}={v}" for k, v in self._user_options.items())
            raise ConfigError(f"solver.petsc_options: PETSc refused them ({what}): {given}"
                              ) from None

    def _check_user_options(self, comm) -> None:
        """Try the user's options on a throw-away SNES first: dolfinx leaves PETSc's global
        options prefix pushed when setFromOptions fails inside NonlinearProblem, which
        would break every later solver of the process."""
        if not self._user_options:
            return
        opts = PETSc.Options()
        prefix = f"{self.prefix}check_"
        snes = PETSc.SNES().create(comm)
        snes.setOptionsPrefix(prefix)
        for k, v in self._user_options.items():
            opts[prefix + k] = v
        try:
            with self._options_checked():
                snes.setFromOptions()
        finally:
            for k in self._user_options:
                del opts[prefix + k]
            snes.destroy()

    def _make_nlp(self, mode: str, bcs):
        """A dolfinx NonlinearProblem for one set of Dirichlet conditions (a mode)."""
        with self._options_checked():
            return self._make_nlp_unchecked(mode, bcs)

    def _make_nlp_unchecked(self, mode: str, bcs):
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
        f_vec, (res_fn, res_args, res_kargs) = snes.getFunction()
        stats = self.stats

        def jacobian(snes_, x, A, P):
            if self._jac_current:
                return
            t0 = _time.perf_counter()
            jac_fn(snes_, x, A, P, *(jac_args or ()), **(jac_kargs or {}))
            stats["assemble_s"] += _time.perf_counter() - t0
            stats["jacobians"] += 1
            self._jac_current = self.linear

        def residual(snes_, x, F):
            t0 = _time.perf_counter()
            res_fn(snes_, x, F, *(res_args or ()), **(res_kargs or {}))
            stats["assemble_s"] += _time.perf_counter() - t0

        if single:  # near-null modes (rigid-body motions) for algebraic multigrid
            for p in self.physics:
                ns = (p.near_nullspace() if any(f is self.fields[0] for f in p.fields)
                      else None)
                if ns is not None:
                    nlp.A.setNearNullSpace(ns)
        if self._periodic is not None:  # F and J of the periodic space
            if bcs:
                from femcell.solvers.periodic import PeriodicError

                raise PeriodicError(f"geometry.params.periodic: mode {mode!r} holds "
                                    "Dirichlet conditions, not on a periodic domain")
            residual, jacobian, jmat = self._periodic.wrap(nlp, residual, jacobian)
            snes.setFunction(residual, f_vec)
            snes.setJacobian(jacobian, jmat, jmat)
        else:
            snes.setFunction(residual, f_vec)
            snes.setJacobian(jacobian, nlp.A, nlp.P_mat)
        if self._bound_fns is not None:  # lower/upper bound vectors in the block layout
            lo, hi = self._bound_fns
            xl, xu = nlp.x.duplicate(), nlp.x.duplicate()
            dolfinx.fem.petsc.assign(lo if len(lo) > 1 else lo[0], xl)
            dolfinx.fem.petsc.assign(hi if len(hi) > 1 else hi[0], xu)
            snes.setVariableBounds(xl, xu)
            nlp._femcell_bounds = (xl, xu)  # keep them alive; refreshed before every solve
            vi_convergence_test(snes)  # PETSc's VI test has no step-length criterion
        self._nlps[mode] = nlp
        return nlp

    # ------------------------------------------------------------------ modes
    def modes(self) -> set[str]:
        """Solver modes this problem knows: "default" and those its physics declare."""
        out = {"default"}
        for p in self.physics:
            out |= set(p.bc_modes())
        return out

    def set_mode(self, mode: str) -> None:
        """Switch the set of Dirichlet conditions: "default" or a mode a physics declares
        in `bc_modes()` (e.g. "potentiostatic" to hold the cell voltage)."""
        if mode == self.mode:
            return
        if mode not in self._nlps:
            known = self.modes()
            if mode not in known:
                raise ValueError(f"unknown solver mode {mode!r}; known: {', '.join(known)}")
            extra = [bc for p in self.physics for bc in p.bc_modes().get(mode, [])]
            self._make_nlp(mode, self._bcs + extra)
        self._nlp = self._nlps[mode]
        self.mode = mode
        self._jac_current = False
        self._jac_key = None

    def unused_options(self) -> list[str]:
        """The user's PETSc options (petsc_options) that no solver of this problem read
        (a misspelled name, or an option of a solver this problem does not use)."""
        opts = PETSc.Options()
        present = opts.getAll()  # hasName() would count as reading them
        prefixes = [f"{self.prefix}{mode}_" for mode in self._nlps] + [f"{self.prefix}lin_"]
        out = []
        for k in self._user_options:
            names = [p + k for p in prefixes if p + k in present]
            if names and not any(opts.used(n) for n in names):
                out.append(k)
        return out

    def close(self) -> None:
        """Destroy the PETSc solvers and matrices now (collective). Long sweeps under MPI
        otherwise keep MUMPS instances, and their communicators, alive until garbage
        collection."""
        for nlp in self._nlps.values():
            for obj in (nlp.solver, nlp.A, nlp.P_mat, nlp.b, nlp.x):
                if obj is not None:
                    obj.destroy()
        self._nlps = {}
        if self._linear_stepper is not None:
            self._linear_stepper.destroy()
            self._linear_stepper = None
        if self._periodic is not None:
            self._periodic.close()

    @property
    def solver(self):
        return self._nlp.solver

    # ------------------------------------------------------------------ time levels
    def initialise(self) -> None:
        """Apply every physics' initial condition to u and all history levels."""
        for p in self.physics:
            p.initial_condition()
        self.make_periodic()
        self.record_initial_state()

    def record_initial_state(self) -> None:
        """Remember the initial state of quasi-static fields (for a rejected first step) and
        prepare reusable operators; `initialise` calls it after the initial conditions."""
        for f in self.fields:
            if not f.history:
                self._last_accepted[f.name] = f.u.x.array.copy()
        if self._linear_stepper is not None:  # operators are part of the set-up, not a step
            self._linear_stepper.prepare()

    def solve_step(self, t_new: float, dt: float, order: int, dt_prev: float | None
                   ) -> SolveReport:
        """Solve for the new time level t_new = t + dt. u starts from u^n."""
        self.begin_step(t_new, dt, order, dt_prev)
        return self.solve_iterate()

    def begin_step(self, t_new: float, dt: float, order: int, dt_prev: float | None) -> None:
        """Set the time level t_new [s] and step dt [s], update the physics' data and start
        u from u^n (quasi-static fields: as they are)."""
        coeffs = self.time.set_scheme(t_new, dt, order, dt_prev)
        changed = False
        for p in self.physics:
            changed |= bool(p.update(t_new))
        self._step = ((dt, coeffs), changed)
        if self._linear_stepper is None:
            for f in self.fields:
                if f.history:
                    f.u.x.array[:] = f.history[0].x.array

    def solve_iterate(self) -> SolveReport:
        """Solve the step set by `begin_step` from the current u (on failure: reject)."""
        key, changed = self._step
        self._step = (key, False)  # a coefficient change is seen by the first solve only
        t0 = _time.perf_counter()
        if self._linear_stepper is not None:
            solve0 = self.stats["solve_s"]
            report = self._linear_stepper.solve(key, changed)  # times its KSP solve
            self.stats["assemble_s"] += (_time.perf_counter() - t0
                                         - (self.stats["solve_s"] - solve0))
        else:
            assemble0 = self.stats["assemble_s"]
            if self.linear and (changed or key != self._jac_key or self._context_dependent):
                self._jac_current = False  # rebuild once, then keep
                self._jac_key = key
            self._refresh_bounds()
            report = run_snes(self._nlp)
            if report.converged and self._periodic is not None:
                self.make_periodic(levels=False)  # Newton leaves the far sides' dofs alone
            if report.converged:  # converged, but to a solution of the equations?
                why = next((w for p in self.physics if (w := p.solution_defect())), None)
                if why is not None:
                    report = SolveReport(False, why, report.newton_its, report.krylov_its)
            self.stats["solve_s"] += (_time.perf_counter() - t0
                                      - (self.stats["assemble_s"] - assemble0))
            if not report.converged:
                self._jac_key = None
                self._jac_current = False  # a failed factorisation must not be reused
        self.stats["solves"] += 1
        self.stats["newton_its"] += report.newton_its
        self.stats["krylov_its"] += report.krylov_its
        if not report.converged:
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
        self.run_step_hooks()
        self.shift_history()

    def run_step_hooks(self) -> None:
        """on_accept of every step_hook physics (collective), before the history shifts."""
        for p in self.physics:
            if p.step_hook:
                p.on_accept()

    def shift_history(self) -> None:
        """u^(n-2) <- u^(n-1) <- u^n <- u; quasi-static fields are remembered instead."""
        for f in self.fields:
            if not f.history:  # quasi-static field: remember it for a rejected step
                self._last_accepted[f.name] = f.u.x.array.copy()
                continue
            h = f.history
            for k in range(len(h) - 1, 0, -1):
                h[k].x.array[:] = h[k - 1].x.array
            h[0].x.array[:] = f.u.x.array

    def step_limit(self) -> float:
        """The largest step [s] the physics allow from the accepted state (Physics.step_limit:
        an explicit part such as a moving front's motion; inf: no limit; collective)."""
        return min([p.step_limit() for p in self.physics] + [float("inf")])

    def reject(self) -> None:
        """Restore u from u^n after a failed or rejected step (and what the physics keep
        of the step: `Physics.on_reject`, e.g. the mesh of a moving front; collective)."""
        for f in self.fields:
            if f.history:
                f.u.x.array[:] = f.history[0].x.array
            elif f.name in self._last_accepted:
                f.u.x.array[:] = self._last_accepted[f.name]
        for p in self.physics:
            p.on_reject()

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
