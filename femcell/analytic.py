"""Analytic solutions used by verification tests, study headlines and benchmarks."""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def _crank_roots(n: int) -> np.ndarray:
    """First n positive roots of tan(x) = x (x_k in (k pi, k pi + pi/2))."""
    from scipy.optimize import brentq

    small = min(n, 50)
    roots = [brentq(lambda x: np.tan(x) - x, k * np.pi + 1e-9, k * np.pi + np.pi / 2 - 1e-9)
             for k in range(1, small + 1)]
    # asymptotic expansion about q = (k + 1/2) pi, exact to round-off for k > 50
    q = (np.arange(small + 1, n + 1) + 0.5) * np.pi
    tail = q - 1 / q - 2 / (3 * q**3) - 13 / (15 * q**5)
    return np.concatenate([roots, tail])


def crank_sphere(r, t, *, radius: float, diffusivity: float, flux: float, c0: float,
                 terms: int = 400):
    """Concentration in a sphere under constant inward flux (Crank, Mathematics of Diffusion,
    2nd ed., eq. 6.46 with the flux boundary condition).

        c - c0 = (q R / D) [3 tau + r^2 / (2 R^2) - 3/10
                            - (2 R / r) sum_n sin(l_n r / R) exp(-l_n^2 tau) / (l_n^2 sin l_n)],
        tau = D t / R^2, tan l_n = l_n.

    Args:
        r: radius [m] (array or float, 0 <= r <= R).
        t: time [s] (> 0).
        radius: R [m].
        diffusivity: D [m^2 s^-1].
        flux: q, inward molar flux [mol m^-2 s^-1].
        c0: initial concentration [mol m^-3].
        terms: minimum number of series terms (more are used at short times).
    """
    tau = diffusivity * t / radius**2
    # enough terms that exp(-l_N^2 tau) < 1e-17 (short times need many)
    lam = _crank_roots(int(max(terms, min(200_000, np.sqrt(40.0 / tau) / np.pi + 10))))
    rho = np.atleast_1d(np.asarray(r, dtype=float)) / radius
    # sin(l rho)/rho -> l at the centre
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(rho[:, None] > 1e-12,
                         np.sin(lam[None, :] * rho[:, None]) / np.maximum(rho[:, None], 1e-300),
                         lam[None, :])
    series = (ratio * np.exp(-lam**2 * tau) / (lam**2 * np.sin(lam))).sum(axis=1)
    c = c0 + flux * radius / diffusivity * (3 * tau + rho**2 / 2 - 0.3 - 2 * series)
    return c if np.ndim(r) else float(c[0])


def crank_sphere_surface(t, **kw):
    """Surface concentration of `crank_sphere` at r = R (same keywords)."""
    return crank_sphere(kw["radius"], t, **kw)


def gaussian_plume(x, t: float, *, D, mass: float = 1.0):
    """Point source in an infinite anisotropic medium:
    c = M / ((4 pi t)^(d/2) sqrt(det D)) exp(-x . D^-1 x / (4 t)).

    Args:
        x: points, shape (d, n) [m].
        t: time since release [s].
        D: d x d diffusivity tensor [m^2 s^-1].
        mass: released amount [mol].
    """
    D = np.atleast_2d(D)
    d = D.shape[0]
    x = np.asarray(x)[:d]
    Dinv = np.linalg.inv(D)
    quad = np.einsum("in,ij,jn->n", x, Dinv, x)
    return mass / ((4 * np.pi * t) ** (d / 2) * np.sqrt(np.linalg.det(D))) * np.exp(-quad / (4 * t))


def stefan_lambda(stefan: float) -> float:
    """lambda of the one-phase Stefan problem: lambda exp(lambda^2) erf(lambda) = St /
    sqrt(pi) (Crank, Free and Moving Boundary Problems, 1984, section 1.3).

    Args:
        stefan: St = (c_fixed - c_front) / jump [-], > 0.
    """
    from scipy.optimize import brentq
    from scipy.special import erf

    if not stefan > 0:
        raise ValueError(f"Stefan number must be > 0, got {stefan}")
    f = lambda x: x * np.exp(x * x) * erf(x) - stefan / np.sqrt(np.pi)  # noqa: E731
    hi = 1.0
    while f(hi) < 0:
        hi *= 2.0
    return float(brentq(f, 1e-12, hi, xtol=1e-15, rtol=1e-14))


def stefan_front(t, *, stefan: float, diffusivity: float, s0: float = 0.0):
    """Front position s(t) = 2 lambda sqrt(D (t + t0)) [m] of the one-phase Stefan problem,
    with the virtual origin t0 = s0^2 / (4 lambda^2 D) that puts the front at s0 at t = 0.

    Args:
        t: time [s] (scalar or array).
        stefan: St [-].
        diffusivity: D [m^2 s^-1].
        s0: front position at t = 0 [m].
    """
    lam = stefan_lambda(stefan)
    t0 = s0 * s0 / (4 * lam * lam * diffusivity)
    return 2 * lam * np.sqrt(diffusivity * (np.asarray(t, dtype=float) + t0))
