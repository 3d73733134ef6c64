"""One-phase Stefan problem with a moving front (femcell.physics.moving_front): the liquid
0 < x < s(t) at c(0) = c_b, c(s) = 0, dc (ds/dt) = -D dc/dx(s). Similarity solution
s = 2 lambda sqrt(D t), lambda exp(lambda^2) erf(lambda) = St / sqrt(pi), St = c_b / dc.
Started from the exact profile at t0, run to 4 t0 (the front doubles its distance) on a strip
one element high: s(4 t0) within 1 % for St = 0.1 and 1, and first-order convergence in h
(with dt ~ h). Runs on 1 and 2 ranks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from femcell.analytic import stefan_lambda
from femcell.domain import Domain
from femcell.materials import Arrhenius, IntercalationMaterial
from femcell.physics.diffusion import Diffusion, Dirichlet
from femcell.physics.moving_front import MovingFront
from femcell.problem import Problem
from femcell.solvers import StepController, TimeIntegrator

D = 1e-10  # m^2/s
CB = 1.0  # mol/m^3 at x = 0 (the superheat, in the scaled temperature of melting)
T0 = 100.0  # s


def _lam(st):
    return stefan_lambda(st)


def _front_at(st, n, steps):
    """s(4 t0) [m] on n elements across the initial liquid, with `steps` backward-Euler
    steps; and the exact value."""
    lam = _lam(st)
    s0 = 2 * lam * np.sqrt(D * T0)
    dom = Domain.from_builder("plate", width=s0, height=s0 / n, h=s0 / n, structured=True,
                              origin="corner")

    def exact(x, t=T0):
        return CB * (1 - erf(x[0] / (2 * np.sqrt(D * t))) / erf(lam))

    mat = IntercalationMaterial("liquid", 1.0, (Arrhenius(D),))
    diff = Diffusion(mat, [Dirichlet("left", CB), Dirichlet("right", 0.0)], initial=exact,
                     name="c")
    front = MovingFront(diff, "right", jump=CB / st, fixed=["left"], slide=["top", "bottom"])
    pb = Problem(dom, [diff, front])
    pb.initialise()
    # the clock starts at 0: the similarity time is T0 + t
    dt = 3 * T0 / steps
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False, order=1))
    integ.run(3 * T0)
    q = pb.quantities()
    # the front speed of the last state: ds/dt = lambda sqrt(D / t), advancing (> 0)
    assert q["front_velocity"] == pytest.approx(lam * np.sqrt(D / (4 * T0)), rel=0.05)
    # the mean over the moved liquid (volume as a form): the similarity profile's,
    # c_b (1 - exp(-lambda^2)) / (lambda sqrt(pi) erf(lambda)) at every t
    mean = CB * (1 - np.exp(-lam**2)) / (lam * np.sqrt(np.pi) * erf(lam))
    assert q["c_mean"] == pytest.approx(mean, rel=0.02)
    return q["front_position_x"], 2 * lam * np.sqrt(D * 4 * T0)


@pytest.mark.parametrize("st", [0.1, 1.0])
def test_the_front_follows_the_similarity_solution(st):
    s, exact = _front_at(st, 32, 96)
    assert s == pytest.approx(exact, rel=0.01)


def test_the_front_error_falls_at_first_order_or_better():
    errs = []
    for n, steps in ((8, 24), (16, 48), (32, 96)):
        s, exact = _front_at(1.0, n, steps)
        errs.append(abs(s / exact - 1))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(rates > 0.8), (errs, rates)


def test_a_front_that_would_invert_elements_stops_with_a_message():
    """A front that recedes (the flux enters through it) faster than the liquid is thick
    crosses the fixed end within one step: the run stops naming the front."""
    from femcell.materials.core import MaterialError

    s0 = 10e-6
    dom = Domain.from_builder("plate", width=s0, height=s0 / 4, h=s0 / 4, structured=True,
                              origin="corner")
    mat = IntercalationMaterial("liquid", 1.0, (Arrhenius(D),))
    diff = Diffusion(mat, [Dirichlet("left", 0.0), Dirichlet("right", CB)],
                     initial=lambda x: CB * x[0] / s0, name="c")
    pb = Problem(dom, [diff, MovingFront(diff, "right", jump=1e-3 * CB, fixed=["left"])])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=10.0, adaptive=False, order=1))
    with pytest.raises(MaterialError, match="'right' moved"):
        integ.run(100.0)
