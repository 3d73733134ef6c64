"""Adaptive time stepping with step rejection (BDF1 / BDF2, variable step).

A step is accepted only when the nonlinear solve converged; a failed solve is rejected, dt
is cut and the step retried, and after `max_cuts` consecutive cuts the run stops with a
SolverError. With `adaptive`, an extrapolation-based local error estimate also rejects
steps that are too large and sets the next step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from femcell.solvers.snes import SolverError


@dataclass
class StepController:
    """Step-size policy (all times in seconds).

    Attributes:
        dt_initial: first step [s].
        dt_min: smallest step before giving up [s].
        dt_max: largest step [s].
        adaptive: use the local error estimate to choose steps.
        rtol, atol: error tolerances on the scaled unknowns (O(1)).
        max_cuts: consecutive rejections allowed before stopping.
        order: 1 (backward Euler) or 2 (BDF2).
    """

    dt_initial: float
    dt_min: float = 0.0
    dt_max: float = math.inf
    adaptive: bool = True
    rtol: float = 1e-3
    atol: float = 1e-5
    max_cuts: int = 10
    order: int = 2

    def __post_init__(self):
        if not self.dt_initial > 0:
            raise ValueError(f"time.dt: the initial step must be positive, got {self.dt_initial}")
        if self.order not in (1, 2):
            raise ValueError(f"time.scheme: order must be 1 (euler) or 2 (bdf2), got {self.order}")
        if self.dt_min <= 0:
            self.dt_min = self.dt_initial * 1e-8


def _extrapolation_weights(times: list[float], t_new: float) -> tuple[float, ...]:
    """Lagrange weights that extrapolate values at `times` to t_new."""
    w = []
    for i, ti in enumerate(times):
        p = 1.0
        for j, tj in enumerate(times):
            if j != i:
                p *= (t_new - tj) / (ti - tj)
        w.append(p)
    return tuple(w)


class TimeIntegrator:
    """Drives a Problem in time.

    Args:
        problem: a femcell.problem.Problem.
        controller: the step policy.
    """

    # local error = C |u - u_pred|: BDF1 with a linear predictor, BDF2 with a quadratic one
    _ERR_CONST = {1: 1.0 / 3.0, 2: 2.0 / 11.0}

    def __init__(self, problem, controller: StepController):
        self.problem = problem
        self.ctl = controller
        self.t = 0.0
        self.dt = controller.dt_initial
        self._times: list[float] = [0.0]  # accepted time levels, newest first
        self.steps = 0
        self.rejected = 0
        self.log: list[dict] = []

    def _order_now(self) -> int:
        return 2 if (self.ctl.order == 2 and len(self._times) >= 2) else 1

    def _predictor(self, t_new: float, order: int):
        k = order + 1  # points needed for the predictor of this order
        if len(self._times) < k:
            return None
        return _extrapolation_weights(self._times[:k], t_new)

    def step(self, t_limit: float) -> dict:
        """Take one accepted step, not past t_limit. Returns the step record."""
        ctl = self.ctl
        cuts = 0
        while True:
            dt = min(self.dt, ctl.dt_max, t_limit - self.t)
            # avoid a sliver step just before t_limit
            if t_limit - (self.t + dt) < 1e-3 * dt:
                dt = t_limit - self.t
            order = self._order_now()
            dt_prev = self._times[0] - self._times[1] if len(self._times) > 1 else None
            t_new = self.t + dt
            rep = self.problem.solve_step(t_new, dt, order, dt_prev)
            if not rep.converged:
                cuts += 1
                self.rejected += 1
                if cuts > ctl.max_cuts or dt * 0.5 < ctl.dt_min:
                    raise SolverError(
                        f"no convergence at t = {self.t:.6g} s after {cuts} step cuts "
                        f"(last dt = {dt:.3g} s): {rep}")
                self.dt = 0.5 * dt
                continue
            err = None
            if ctl.adaptive:
                w = self._predictor(t_new, order)
                if w is not None:
                    est = self.problem.error_estimate(w, ctl.atol, ctl.rtol)
                    err = self._ERR_CONST[order] * est
                    if err > 1.0 and dt > ctl.dt_min * 2:
                        cuts += 1
                        self.rejected += 1
                        self.problem.reject()
                        if cuts > ctl.max_cuts:
                            raise SolverError(f"local error too large at t = {self.t:.6g} s "
                                              f"after {cuts} cuts (dt = {dt:.3g} s)")
                        self.dt = dt * max(0.2, 0.9 * err ** (-1.0 / (order + 1)))
                        continue
            break
        self.problem.accept()
        self.t = t_new
        self._times.insert(0, t_new)
        del self._times[4:]
        self.steps += 1
        if ctl.adaptive:
            if err is None:  # not enough history yet: grow gently
                factor = 1.5 if rep.newton_its <= 4 else 1.0
            else:
                factor = min(2.0, max(0.5, 0.9 * max(err, 1e-10) ** (-1.0 / (order + 1))))
                # hysteresis: keep dt for modest growth, so linear problems keep their
                # factorisation (a change of dt means a new Jacobian)
                if 1.0 <= factor < 1.3:
                    factor = 1.0
            self.dt = dt * factor if dt >= self.dt * 0.999 else self.dt
        elif cuts == 0:  # fixed stepping: return to the nominal step after a cut
            self.dt = ctl.dt_initial
        else:
            self.dt = dt
        self.dt = min(self.dt, ctl.dt_max)
        rec = {"t": t_new, "dt": dt, "order": order, "newton_its": rep.newton_its,
               "krylov_its": rep.krylov_its, "cuts": cuts, "err": err}
        self.log.append(rec)
        return rec

    def run(self, t_end: float, on_step: Callable[[dict], bool | None] | None = None,
            stop_times: list[float] | None = None) -> None:
        """Advance to t_end, landing exactly on every time in `stop_times`.

        `on_step(record)` is called after every accepted step; returning True stops early.
        """
        marks = sorted(t for t in (stop_times or []) if self.t < t < t_end) + [t_end]
        batch = on_step is None and not self.ctl.adaptive and self.problem.can_batch()
        for mark in marks:
            while self.t < mark * (1 - 1e-14) - 1e-300:
                if batch and self.steps >= self.ctl.order and self._batch(mark):
                    continue
                rec = self.step(mark)
                if on_step is not None and on_step(rec):
                    return

    def _batch(self, mark: float) -> bool:
        """Fixed steps of a linear problem in one tight loop, up to the last whole step
        before `mark` (the remainder is stepped normally)."""
        dt = self.dt
        n = int((mark - self.t) / dt * (1 + 1e-12)) - 1
        if n < 2 or abs((self._times[0] - self._times[1]) - dt) > 1e-12 * dt:
            return False
        if not self.problem.advance_batch(n, dt, self.ctl.order):
            return False
        for _ in range(n):
            self.t += dt
            self._times.insert(0, self.t)
        del self._times[4:]
        self.steps += n
        self.log.append({"t": self.t, "dt": dt, "order": self.ctl.order, "newton_its": 1,
                         "krylov_its": 0, "cuts": 0, "err": None, "batch": n})
        return True
