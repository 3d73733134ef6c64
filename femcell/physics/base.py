"""The interfaces physics implement: `Physics` (every hook a Problem, the time integrator and
the protocol runner call, with no-op defaults) and `ElectrodeCoupling` (a physics that acts
on an electrode reaction). Callers never probe physics for optional methods."""

from __future__ import annotations

from collections.abc import Callable

from femcell._dolfinx import dolfinx


def time_function(value) -> Callable[[float], float]:
    """A float or a callable of time [s] -> a callable of time."""
    if callable(value):
        return value
    v = float(value)
    return lambda t: v


class Physics:
    """Base class. Subclasses set `fields` in `setup` and override the hooks they need.

    Attributes:
        name: short name used as a prefix of quantities.
        fields: the Fields (femcell.fields.Field) this physics solves for, set in `setup`.
        linear: True when the residual is affine in the unknowns with coefficients that
            change only when `update` says so (lets the Problem reuse the Jacobian).
        symmetric: True when the Jacobian is symmetric positive definite.
        time_dependent: False when no coefficient or boundary value changes in time (lets the
            time integrator take fixed steps of a linear problem in a batch).
        step_hook: True when `on_accept` must run after every accepted step.
        entity_maps: submesh entity maps the forms of this physics need.
        snes_options: PETSc SNES/KSP options this physics needs (merged over the presets).
        multigrid_options: PETSc options for the multigrid preconditioner (merged only when
            the preset chose GAMG).
        coupling_affine: True when the terms of `coupling_terms` are affine in the fields
            they are added to (a linear target problem stays linear in a staggered solve).
        direct_solver: True when no preconditioner of the presets works for this physics'
            Jacobian (a saddle-point system): solver.linear = "auto" then takes LU at every
            size.
        indicators: names of quantities that are 0/1 indicators (they jump, e.g. "the metal
            reached the counter electrode"): a protocol limit on one is not located in
            time inside a step (no crossing to aim at); the step that reaches it ends there.
    """

    name = "physics"
    fields: list | tuple = ()
    linear = False
    symmetric = False
    time_dependent = True
    step_hook = False
    entity_maps: list | tuple = ()
    snes_options: dict = {}
    multigrid_options: dict = {}  # merged when the linear solver is algebraic multigrid
    coupling_affine = False
    direct_solver = False
    indicators: frozenset = frozenset()

    def periodic_refusal(self) -> str | None:
        """Why this physics cannot run on a periodic domain (None: it can). A physics that
        can has only natural (no-flux) conditions on the periodic sides and its fields on
        the whole mesh: the sides' dofs are then identified (femcell.solvers.periodic)."""
        return "no periodic formulation"

    # ------------------------------------------------------------------ composition
    # why this physics cannot be linearised for an impedance spectrum (None: it can)
    small_signal_refusal: str | None = None

    def setup(self, domain, time) -> None:
        """Create spaces, fields and forms on `domain`; `time` is the shared TimeContext."""
        raise NotImplementedError

    def residuals(self) -> list:
        """One UFL residual form per field, scaled to O(1) entries."""
        raise NotImplementedError

    def dirichlet_bcs(self) -> list:
        """Dirichlet conditions of this physics' fields (default mode)."""
        return []

    def bc_modes(self) -> dict[str, list]:
        """Extra Dirichlet conditions per named solver mode (e.g. "potentiostatic")."""
        return {}

    def coupling_terms(self) -> dict:
        """Residual terms this physics adds to other physics' fields: {field name: UFL}."""
        return {}

    def bounds(self) -> dict:
        """Bounds of scaled unknowns: {field name: (lower, upper)}, each a float or a dolfinx
        Function on the field's space that this physics refreshes (copied into the solver
        before every solve)."""
        return {}

    def solution_defect(self) -> str | None:
        """Why a converged solve of this physics' fields is not a solution of its equations
        (e.g. a bounded Newton that left a field on a bound the equations cannot reach), or
        None; a step with a defect is rejected and cut. Collective: the same answer on
        every rank."""
        return None

    def near_nullspace(self):
        """A PETSc NullSpace of near-null modes of this physics' single field (rigid-body
        motions of elasticity) that algebraic multigrid needs, or None."""
        return None

    def on_problem(self, problem) -> None:
        """Called once the Problem has composed every residual (see Problem.residual_of)."""

    # ------------------------------------------------------------------ time
    def initial_condition(self) -> None:
        """Set the fields and their history to the initial state."""

    def update(self, t: float) -> bool:
        """Set time-dependent coefficients for time t [s]; True if the Jacobian changed."""
        return False

    def on_accept(self) -> None:
        """Called (collectively) for step_hook physics when a step is accepted, before the
        history shifts: the time derivative still refers to the step just taken."""

    def on_reject(self) -> None:
        """Called (collectively) when a step is rejected or failed: undo what the step changed
        outside the fields (default: nothing)."""

    def set_temperature(self, temperature) -> None:
        """Temperature [K], a float or a function of time [s] (default: not used)."""

    def step_limit(self) -> float:
        """The largest stable step [s] from the accepted state for what this physics treats
        explicitly (default: inf, no limit; collective)."""
        return float("inf")

    def cutoff_events(self) -> list:
        """Located limits (femcell.solvers.Event) at which a protocol must stop, like a lab
        cut-off: the state cannot go on past them (e.g. a metal anode used up)."""
        return []

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self) -> dict:
        """JSON-able state beyond the fields (running totals, rates), for restarts; the
        Problem stores the fields and their history levels itself."""
        return {}

    def restore_state(self, state: dict) -> None:
        """Set what `checkpoint_state` returned (after setup, on any number of ranks)."""

    # ------------------------------------------------------------------ results
    def quantities(self) -> dict[str, float]:
        """Scalar results in SI units (collective)."""
        return {}

    def output_fields(self) -> dict[str, tuple[dolfinx.fem.Function, float]]:
        """Fields to write: name -> (function, factor that converts it to SI)."""
        return {}

    def refresh_outputs(self) -> None:
        """Update derived output fields before they are written."""

    def admissibility_warnings(self, rows: list[dict], tolerance: float = 0.0) -> list[str]:
        """One-line warnings for physically impossible recorded states (rows of quantities
        with "t" [s], chronological); `tolerance` is relative, its meaning per physics."""
        return []

    def citations(self) -> list[str]:
        """Sources of the material data and laws."""
        return []

    def describe(self) -> dict:
        """Inputs of this physics in SI, for summary.json."""
        return {}


class ElectrodeCoupling:
    """A physics acting on an electrode reaction (InterfaceKinetics.couplings).

    The kinetics evaluate j = law(eta, T, i0 factor) with
    eta = phi_s - phi_l - U_eq - sum of the couplings' overpotential shifts, where U_eq and
    the i0 factor come from the couplings in order. Side arguments are the electrode's side
    ("+" or "-") of the interface facets.

    Attributes:
        entity_maps: submesh entity maps the coupling's expressions need.
    """

    entity_maps: list | tuple = ()

    def equilibrium_potential(self, side: str, default):
        """U_eq [V] (UFL or float) given the one so far (`default`); default: unchanged."""
        return default

    def exchange_factor(self, side: str, law):
        """Dimensionless factor on i0 of `law` (UFL or float); default 1."""
        return 1.0

    def overpotential_shift(self, side: str):
        """Shift [V] subtracted from the overpotential (e.g. Omega p / F); default 0."""
        return 0.0

    def contact(self, side: str):
        """The share of the interface in contact (UFL or float; it carries the double layer
        and the exchange current), or None when the interface is whole (default)."""
        return None

    def current_terms(self, current_density, side: str, measure, weight) -> dict:
        """Residual terms the interfacial current density j [A m^-2] (anodic > 0) adds to
        this coupling's fields: {field name: UFL term}; `measure` the interface dS,
        `weight` the coordinate weight."""
        return {}

    def initial_equilibrium_potential(self, comm) -> float | None:
        """U_eq [V] of the initial state for the open-circuit start, or None (collective)."""
        return None
