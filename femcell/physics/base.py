"""The small interface every physics implements (see femcell.problem.Problem)."""

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
    """Base class. Subclasses set `fields` in `setup` and implement the hooks below.

    Attributes:
        name: short name used as a prefix of quantities.
        linear: True when the residual is affine in the unknowns with coefficients that
            change only when `update` says so (lets the Problem reuse the Jacobian).
        symmetric: True when the Jacobian is symmetric positive definite.
        time_dependent: False when no coefficient or boundary value changes in time (lets the
            time integrator take fixed steps of a linear problem in a batch).
    """

    name = "physics"
    linear = False
    symmetric = False
    time_dependent = True  # False when no data (boundary values, sources, T) change in time
    step_hook = False  # True: on_accept runs after every accepted step (no batched stepping)

    def setup(self, domain, time) -> None:
        """Create spaces, fields and forms on `domain`; `time` is the shared TimeContext."""
        raise NotImplementedError

    def residuals(self) -> list:
        """One UFL residual form per field, scaled to O(1) entries."""
        raise NotImplementedError

    def dirichlet_bcs(self) -> list:
        return []

    def on_problem(self, problem) -> None:
        """Called once the Problem has composed every residual (see Problem.residual_of)."""

    def on_accept(self) -> None:
        """Called (collectively) for step_hook physics when a step is accepted, before the
        history shifts: the time derivative still refers to the step just taken."""

    def initial_condition(self) -> None:
        """Set the fields and their history to the initial state."""

    def update(self, t: float) -> bool:
        """Set time-dependent coefficients for time t [s]; True if the Jacobian changed."""
        return False

    def quantities(self) -> dict[str, float]:
        """Scalar results in SI units (collective)."""
        return {}

    def output_fields(self) -> dict[str, tuple[dolfinx.fem.Function, float]]:
        """Fields to write: name -> (function, factor that converts it to SI)."""
        return {}

    def refresh_outputs(self) -> None:
        """Update derived output fields before they are written."""

    def citations(self) -> list[str]:
        return []

    def describe(self) -> dict:
        """Inputs of this physics in SI, for summary.json."""
        return {}
