"""Admissibility of concentration fields: stoichiometry cut-offs (events that stop a run ON
c = c_max or c = 0), bounds for a variational-inequality solve, and warnings for recorded
states that are impossible (c < 0, c > c_max) or break the discrete maximum principle.

`ConcentrationChecks` is the part of Diffusion that implements them; the module functions
collect them over the physics of a run.
"""

from __future__ import annotations

import numpy as np

from femcell._dolfinx import MPI
from femcell.materials.core import MaterialError
from femcell.physics.base import time_function
from femcell.physics.boundary import Dirichlet, Flux, Robin, _takes_position
from femcell.solvers.timestepping import Event

# A run may end this far (in c / c_max) past a stoichiometry limit: the limit is located by
# rejecting and shortening the step that overshoots it (femcell.solvers.timestepping.Event).
STOICHIOMETRY_TOL = 1e-4
# Admissibility violations are reported beyond this fraction of c_max: the default local
# error tolerance of the time stepper is rtol = 1e-3 on u = c / c_max, so smaller excursions
# are within the accuracy the run was asked for; larger ones are not round-off but a
# scheme that breaks positivity or the maximum principle.
ADMISSIBILITY_TOL = 1e-3


class ConcentrationChecks:
    """Admissibility of a concentration field u = c / c_max (mixed into Diffusion).

    Uses the host's name, material, field, V, domain, initial, bc_list, bulk_sink, source,
    bounds_mode, _coupled and _initial_range.
    """

    def stoichiometry_range(self) -> tuple[float, float]:
        """(min, max) of c / c_max over the nodal values (collective)."""
        comm = self.domain.comm
        n = self.V.dofmap.index_map.size_local
        loc = self.field.u.x.array[:n]
        lo = float(loc.min()) if loc.size else np.inf
        hi = float(loc.max()) if loc.size else -np.inf
        return comm.allreduce(lo, op=MPI.MIN), comm.allreduce(hi, op=MPI.MAX)

    def bounds(self) -> dict:
        """Bounds of the scaled unknown for a variational-inequality solve (Problem)."""
        if self.bounds_mode is None:
            return {}
        if self.bounds_mode == "stoichiometry":
            return {self.name: (0.0, 1.0)}
        lo, hi = self._data_bounds_scaled()
        return {self.name: (lo, hi)}

    def _data_bounds_scaled(self) -> tuple[float, float]:
        """Maximum-principle bounds of u for bounds="data" (at set-up: before the initial
        field exists, a float initial value is used)."""
        init = self.initial
        if callable(init):
            raise MaterialError(f"bounds='data' of {self.name}: needs a uniform initial "
                                "concentration (use bounds='stoichiometry')")
        vals = [float(init)]
        lo_open, hi_open = False, False
        for bc in self.bc_list:
            if isinstance(bc, Dirichlet | Robin):
                value = bc.value if isinstance(bc, Dirichlet) else bc.c_ext
                if callable(value):
                    raise MaterialError(f"bounds='data' of {self.name}: boundary values on "
                                        f"{bc.region} change in time (use 'stoichiometry')")
                vals.append(float(value))
            elif isinstance(bc, Flux):
                q = time_function(bc.value)(0.0)
                lo_open |= q < 0  # outflow can lower c below every datum
                hi_open |= q > 0
        if self.bulk_sink is not None:
            vals.append(self.bulk_sink[1])
        if self.source is not None:
            raise MaterialError(f"bounds='data' of {self.name}: a source has no maximum "
                                "principle (use 'stoichiometry')")
        cref = self.material.c_max
        lo = 0.0 if lo_open else max(0.0, min(vals) / cref)
        hi = 1.0 if hi_open else min(1.0, max(vals) / cref)
        return lo, hi

    def stoichiometry_events(self, tolerance: float = STOICHIOMETRY_TOL) -> list[Event]:
        """Events that stop a run when c reaches c_max or 0 anywhere (nodal values), located
        to within `tolerance` (in c / c_max) past the limit."""
        name = self.name
        cache = {}

        def rng(state):  # both events look at the same state: one reduction
            if cache.get("t") is not state:
                cache["t"], cache["r"] = state, self.stoichiometry_range()
            return cache["r"]

        def text(which, value):
            return lambda st: (f"stoichiometry limit: {which} reached in {name} at "
                               f"t = {st.t:.6g} s (c / c_max = {value(st):.6f})")

        hi = lambda st: rng(st)[1]  # noqa: E731
        lo = lambda st: rng(st)[0]  # noqa: E731

        def held(side, st) -> bool:
            """True when the data (initial, boundary values, no inflow / outflow) keep c away
            from that limit: then c beyond it can only be a discretisation artefact, which
            `admissibility_warnings` reports; it is no cut-off."""
            lo_b, hi_b = self._data_bounds_over(np.array([st.t]))
            if side == "max":
                return hi_b is not None and hi_b[0] < self.material.c_max
            return lo_b is not None and lo_b[0] > 0.0

        return [Event("stoichiometry limit",
                      lambda st: 1.0 if held("max", st) else 1.0 - hi(st), tolerance,
                      text("c_max", hi)),
                Event("stoichiometry limit",
                      lambda st: 1.0 if held("min", st) else lo(st), tolerance,
                      text("c = 0", lo))]

    def admissibility_warnings(self, rows: list[dict], tolerance: float = ADMISSIBILITY_TOL
                               ) -> list[str]:
        """One-line warnings for recorded states (rows of quantities, chronological, with
        "t") that are impossible (c < 0, c > c_max) or break the discrete maximum principle
        (c outside the bounds of the initial and boundary data), beyond tolerance * c_max.

        The maximum-principle bound is checked where it exists: Dirichlet and Robin values
        (sampled at the row times) and the initial range bound c from both sides; a
        prescribed inflow (outflow) keeps the lower (upper) bound; a source, a coupled
        interface flux or a space-time Dirichlet value removes it."""
        kmin, kmax = f"{self.name}_min", f"{self.name}_max"
        rows = [r for r in rows if kmin in r and kmax in r]
        if not rows:
            return []
        cref = self.material.c_max
        eps = tolerance * cref
        n = len(rows)
        t = np.array([float(r.get("t", np.nan)) for r in rows])
        cmin = np.array([float(r[kmin]) for r in rows])
        cmax = np.array([float(r[kmax]) for r in rows])
        out = []

        def report(bad, worst_at, what, worst_text):
            k = int(worst_at)
            out.append(f"{self.name}: {what} in {int(bad.sum())} of {n} recorded states "
                       f"(worst {worst_text(k)} at t = {t[k]:.6g} s; tolerance "
                       f"{tolerance:g} c_max)")

        bad = cmin < -eps
        if bad.any():
            k = np.argmin(cmin)
            report(bad, k, "negative concentration",
                   lambda k: f"{cmin[k]:.6g} mol/m^3 = {cmin[k] / cref:.4g} c_max")
        bad = cmax > cref + eps
        if bad.any():
            k = np.argmax(cmax)
            report(bad, k, "concentration above c_max",
                   lambda k: f"{cmax[k]:.6g} mol/m^3 = {cmax[k] / cref:.6g} c_max")
        lo, hi = self._data_bounds_over(t)
        for word, bound, value in (("below", lo, cmin), ("above", hi, cmax)):
            if bound is None:
                continue
            excess = bound - value if word == "below" else value - bound
            bad = excess > eps
            if bad.any():
                report(bad, np.argmax(excess), f"concentration {word} the bounds of its initial "
                       "and boundary data (discrete maximum principle)",
                       lambda k, v=value, e=excess, b=bound, w=word:
                       f"{v[k]:.6g} mol/m^3, {e[k] / cref:.4g} c_max {w} {b[k]:.6g}")
        return out

    def _data_bounds_over(self, t: np.ndarray):
        """Running maximum-principle bounds [mol m^-3] at times t (arrays, or None for a side
        without a bound)."""
        if self._initial_range is None or self._coupled or self.source is not None:
            return None, None
        lo = np.full(t.shape, self._initial_range[0])
        hi = np.full(t.shape, self._initial_range[1])
        lo_ok = np.ones(t.shape, dtype=bool)
        hi_ok = np.ones(t.shape, dtype=bool)
        if self.bulk_sink is not None:
            lo = np.minimum(lo, self.bulk_sink[1])
            hi = np.maximum(hi, self.bulk_sink[1])
        for bc in self.bc_list:
            if isinstance(bc, Flux):
                q = np.array([time_function(bc.value)(x) for x in t])
                lo_ok &= np.maximum.accumulate(q < 0) == 0
                hi_ok &= np.maximum.accumulate(q > 0) == 0
                continue
            value = bc.value if isinstance(bc, Dirichlet) else bc.c_ext
            if _takes_position(value):
                return None, None
            g = np.array([time_function(value)(x) for x in t], dtype=float)
            lo = np.minimum(lo, np.minimum.accumulate(g))
            hi = np.maximum(hi, np.maximum.accumulate(g))
        lo_out = np.where(lo_ok, lo, -np.inf) if lo_ok.any() else None
        hi_out = np.where(hi_ok, hi, np.inf) if hi_ok.any() else None
        return lo_out, hi_out


# ---------------------------------------------------------------------------- admissibility
def stoichiometry_limits(physics, tolerance: float = STOICHIOMETRY_TOL, *,
                         electrodes_only: bool = False) -> list[Event]:
    """Stoichiometry events (c reaches c_max or 0) of every concentration field (Diffusion).

    Args:
        physics: physics objects (others are skipped).
        tolerance: how far past the limit (in c / c_max) a run may stop.
        electrodes_only: only intercalation electrodes (materials with an open-circuit
            potential), not e.g. vacancy fields.
    """
    out = []
    for p in physics:
        if isinstance(p, ConcentrationChecks) and (
                not electrodes_only or p.material.ocv is not None):
            out += p.stoichiometry_events(tolerance)
    return out


def admissibility_warnings(physics, rows: list[dict], *,
                           tolerance: float = ADMISSIBILITY_TOL) -> list[str]:
    """One-line warnings for physically impossible recorded results of every physics that
    checks its own (Diffusion: c < 0, c > c_max, maximum principle; ChargeTransport: states
    on the overflow continuation of the kinetics).

    Args:
        physics: the physics of the run.
        rows: recorded quantity rows (dicts with "t" [s]), chronological.
        tolerance: relative tolerance (Diffusion: fraction of c_max).
    """
    out = []
    for p in physics:
        out += p.admissibility_warnings(rows, tolerance)
    return out
