"""Closed-form and semi-analytic reference solutions for solid mechanics and phase-field fracture.

Used to verify the mechanics, creep and fracture solvers. numpy/scipy only (no DOLFINx); SI
units throughout. Sign conventions: tensile stress positive; pressures positive in compression.
Every formula was re-derived here; the derivation is given where it is short, with the
literature source for cross-reference.
"""

from __future__ import annotations

import numpy as np

from femcell.analytic import _crank_roots, crank_sphere

__all__ = [
    "at1_critical_stress",
    "at1_profile",
    "at2_critical_stress",
    "at2_profile",
    "effective_toughness",
    "griffith_pressure",
    "griffith_sneddon_volume_control",
    "griffith_surface_flaw_pressure",
    "lame_cylinder",
    "lame_sphere",
    "mode1_displacement",
    "norton_rate",
    "norton_relaxation",
    "sneddon_opening",
    "sneddon_volume",
    "sphere_diffusion_stress",
    "sphere_surface_hoop",
    "surface_crack_factor",
]


def _plane_modulus(E, nu, plane):
    """E' = E / (1 - nu^2) in plane strain, E in plane stress."""
    if plane == "strain":
        return E / (1.0 - nu**2)
    if plane == "stress":
        return E
    raise ValueError(f"plane must be 'strain' or 'stress', not {plane!r}")


def _check_radii(r, a, b):
    if not 0.0 < a < b:
        raise ValueError(f"need 0 < a < b, got a={a}, b={b}")
    return np.asarray(r, dtype=float)


# --------------------------------------------------------------------------------------------
# 1. Lamé thick-walled sphere and cylinder
# --------------------------------------------------------------------------------------------


def lame_sphere(r, *, a, b, p_in=0.0, p_out=0.0, E, nu):
    """Thick-walled hollow sphere under internal and external pressure (Lamé).

    u_r = A r + B / r^2 gives sigma_rr = C1 - C2 / r^3, sigma_tt = C1 + C2 / (2 r^3) with
    C1 = (p_in a^3 - p_out b^3) / (b^3 - a^3), C2 = (p_in - p_out) a^3 b^3 / (b^3 - a^3)
    (from sigma_rr(a) = -p_in, sigma_rr(b) = -p_out), and
    u_r = [(1 - 2 nu) C1 r + (1 + nu) C2 / (2 r^2)] / E.
    Source: Timoshenko & Goodier, Theory of Elasticity, 3rd ed. (1970), spherical container
    under internal or external uniform pressure; re-derived here.

    Args:
        r: radius [m], a <= r <= b.
        a: inner radius [m].
        b: outer radius [m].
        p_in: internal pressure [Pa] (positive in compression).
        p_out: external pressure [Pa] (positive in compression).
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].

    Returns:
        dict of arrays: "u_r" [m], "sigma_rr" [Pa], "sigma_tt" [Pa] (hoop, both tangential
        directions).
    """
    r = _check_radii(r, a, b)
    d = b**3 - a**3
    c1 = (p_in * a**3 - p_out * b**3) / d
    c2 = (p_in - p_out) * a**3 * b**3 / d
    return {
        "u_r": ((1 - 2 * nu) * c1 * r + (1 + nu) * c2 / (2 * r**2)) / E,
        "sigma_rr": c1 - c2 / r**3,
        "sigma_tt": c1 + c2 / (2 * r**3),
    }


def lame_cylinder(r, *, a, b, p_in=0.0, p_out=0.0, E, nu, plane="strain"):
    """Thick-walled hollow cylinder under internal and external pressure (Lamé).

    sigma_rr = C1 - C2 / r^2, sigma_tt = C1 + C2 / r^2 with
    C1 = (p_in a^2 - p_out b^2) / (b^2 - a^2), C2 = (p_in - p_out) a^2 b^2 / (b^2 - a^2)
    (the same in plane strain and plane stress). From u_r = r eps_tt:
    plane strain: u_r = (1 + nu) [(1 - 2 nu) C1 r + C2 / r] / E, sigma_zz = 2 nu C1;
    plane stress: u_r = [(1 - nu) C1 r + (1 + nu) C2 / r] / E, sigma_zz = 0.
    Source: Timoshenko & Goodier, Theory of Elasticity, 3rd ed. (1970), thick-walled cylinder
    under uniform pressure (Lamé 1852); re-derived here.

    Args:
        r: radius [m], a <= r <= b.
        a: inner radius [m].
        b: outer radius [m].
        p_in: internal pressure [Pa] (positive in compression).
        p_out: external pressure [Pa] (positive in compression).
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].
        plane: "strain" (eps_zz = 0) or "stress" (sigma_zz = 0).

    Returns:
        dict of arrays: "u_r" [m], "sigma_rr", "sigma_tt", "sigma_zz" [Pa].
    """
    r = _check_radii(r, a, b)
    _plane_modulus(E, nu, plane)
    d = b**2 - a**2
    c1 = (p_in * a**2 - p_out * b**2) / d
    c2 = (p_in - p_out) * a**2 * b**2 / d
    if plane == "strain":
        u = (1 + nu) * ((1 - 2 * nu) * c1 * r + c2 / r) / E
        szz = np.full_like(r, 2 * nu * c1)
    else:
        u = ((1 - nu) * c1 * r + (1 + nu) * c2 / r) / E
        szz = np.zeros_like(r)
    return {"u_r": u, "sigma_rr": c1 - c2 / r**2, "sigma_tt": c1 + c2 / r**2, "sigma_zz": szz}


# --------------------------------------------------------------------------------------------
# 2-4. Pressurised line crack (Sneddon) and Griffith
# --------------------------------------------------------------------------------------------


def sneddon_opening(x, *, a, p, E, nu, plane="strain"):
    """Total opening of a pressurised line crack |x| < a in an infinite plate.

    w(x) = 4 p sqrt(a^2 - x^2) / E' for |x| < a, 0 outside; E' = E / (1 - nu^2) in plane
    strain, E in plane stress. Near a tip it matches the mode-I K-field opening
    8 K / E' sqrt(s / (2 pi)) with K = p sqrt(pi a).
    Source: Sneddon, Proc. R. Soc. A 187 (1946) 229; Sneddon & Lowengrub, Crack Problems in
    the Classical Theory of Elasticity (1969); Tada, Paris & Irwin, The Stress Analysis of
    Cracks Handbook, 3rd ed. (2000) (Griffith crack under internal pressure).

    Args:
        x: position along the crack from its centre [m].
        a: crack half-length [m].
        p: uniform pressure on the crack faces [Pa].
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].
        plane: "strain" or "stress".

    Returns:
        w: opening (jump of the normal displacement, both faces together) [m].
    """
    ep = _plane_modulus(E, nu, plane)
    x = np.asarray(x, dtype=float)
    return 4 * p / ep * np.sqrt(np.clip(a**2 - x**2, 0.0, None))


def sneddon_volume(*, a, p, E, nu, plane="strain"):
    """Crack volume per unit depth V = int_{-a}^{a} w dx = 2 pi p a^2 / E'.

    Source: integral of `sneddon_opening` (int sqrt(a^2 - x^2) dx = pi a^2 / 2); Bourdin,
    Chukwudozie & Yoshioka, SPE 159154 (2012).

    Args:
        a: crack half-length [m].
        p: pressure [Pa].
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].
        plane: "strain" or "stress".

    Returns:
        V [m^2] (volume per unit depth, m^3 / m).
    """
    return 2 * np.pi * p * a**2 / _plane_modulus(E, nu, plane)


def griffith_pressure(a, *, E, nu, gc):
    """Critical pressure of a pressurised line crack, plane strain: p_c = sqrt(E' gc / (pi a)).

    K_I = p sqrt(pi a) and G = K_I^2 / E' = gc (Irwin). Equivalently, with the potential
    energy at fixed p, P = -p V / 2 = -pi p^2 a^2 / E' and total crack length 2a,
    G = -dP/d(2a) = pi p^2 a / E' (the two tips grow together).
    Source: Griffith, Phil. Trans. R. Soc. A 221 (1921) 163; Sneddon (1946).

    Args:
        a: crack half-length [m].
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].
        gc: fracture toughness (critical energy release rate) [J m^-2].

    Returns:
        p_c [Pa].
    """
    ep = E / (1 - nu**2)
    return np.sqrt(ep * gc / (np.pi * np.asarray(a, dtype=float)))


def griffith_sneddon_volume_control(V, *, a0, E, nu, gc):
    """Line crack of initial half-length a0 driven by an injected volume V (plane strain).

    Derivation (E' = E / (1 - nu^2)). Sneddon: V = 2 pi p a^2 / E'. At fixed V the elastic
    energy is U = p V / 2 = E' V^2 / (4 pi a^2), so G = -dU/d(2a) = E' V^2 / (4 pi a^3)
    = pi p^2 a / E', decreasing in a: growth is stable. While G < gc, i.e.
    V < V_c = 2 sqrt(pi gc / E') a0^(3/2), the crack does not grow: a = a0,
    p = E' V / (2 pi a0^2). At V_c, p = p_c(a0) = sqrt(E' gc / (pi a0)); afterwards G = gc
    gives a = (E' V^2 / (4 pi gc))^(1/3) (equal to a0 at V_c) and
    p = E' V / (2 pi a^2) = sqrt(E' gc / (pi a)), decreasing like V^(-1/3). Both branches are
    a = max(a0, (E' V^2 / (4 pi gc))^(1/3)), p = E' V / (2 pi a^2) (monotone injection:
    the crack never heals).
    Source: Griffith (1921) with Sneddon (1946); Bourdin, Chukwudozie & Yoshioka, SPE 159154
    (2012) (toughness-dominated hydraulic fracture without fluid flow).

    Args:
        V: injected volume per unit depth [m^2] (>= 0, array or float).
        a0: initial crack half-length [m].
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].
        gc: fracture toughness [J m^-2].

    Returns:
        dict: "p" pressure [Pa], "a" half-length [m] (arrays like V) and "V_c" volume at the
        onset of growth [m^2].
    """
    ep = E / (1 - nu**2)
    V = np.asarray(V, dtype=float)
    a = np.maximum(a0, np.cbrt(ep * V**2 / (4 * np.pi * gc)))
    return {
        "p": ep * V / (2 * np.pi * a**2),
        "a": a,
        "V_c": 2 * np.sqrt(np.pi * gc / ep) * a0**1.5,
    }


def griffith_surface_flaw_pressure(a, k_ic, Y=1.12):
    """Stress that propagates a surface (edge) flaw of depth a: sigma_c = K_IC / (Y sqrt(pi a)).

    Y = 1.12 (1.1215) is the free-surface correction of an edge crack in a semi-infinite plate
    under uniform normal traction.
    Source: Tada, Paris & Irwin, The Stress Analysis of Cracks Handbook, 3rd ed. (2000), edge
    crack in a half plane; Anderson, Fracture Mechanics, 3rd ed. (2005), ch. 2.

    Args:
        a: flaw depth [m].
        k_ic: fracture toughness [Pa m^0.5].
        Y: geometry factor [-].

    Returns:
        critical remote stress (or pressure acting on the flaw faces) [Pa].
    """
    return k_ic / (Y * np.sqrt(np.pi * np.asarray(a, dtype=float)))


def surface_crack_factor(a, c):
    """Geometry factor Y = K_I / (p sqrt(pi a)) of a semi-elliptical surface crack, depth a
    and half surface length c, in a thick body (a/t -> 0) under uniform normal stress (or the
    same pressure on its faces), at its deepest point and where it meets the surface, and
    the larger of the two (where the crack starts to grow).

    Newman-Raju: K = p sqrt(pi a / Q) F, F = M1 f_phi g; for a <= c: Q = 1 + 1.464 (a/c)^1.65,
    M1 = 1.13 - 0.09 a/c, f_phi = ((a/c)^2 cos^2 phi + sin^2 phi)^(1/4); for a > c:
    Q = 1 + 1.464 (c/a)^1.65, M1 = sqrt(c/a) (1 + 0.04 c/a),
    f_phi = ((c/a)^2 sin^2 phi + cos^2 phi)^(1/4); g = 1 (deepest, phi = pi/2) or 1.1
    (surface, phi = 0). A semicircle (a = c) gives 0.663 (deepest) and 0.729 (surface); a long
    shallow crack (a/c -> 0) gives 1.13 at its deepest point, the edge crack's 1.12.
    Source: Newman & Raju, Eng. Fract. Mech. 15 (1981) 185-192, eqs. for a/t -> 0 (accuracy
    about 5 %).

    Args:
        a: depth [m].
        c: half length of the surface trace [m].

    Returns:
        (Y_deepest, Y_surface, Y_max) [-].
    """
    r = float(a) / float(c)
    if not (np.isfinite(r) and r > 0):
        raise ValueError(f"surface crack: a and c must be > 0, got {a}, {c}")
    if r <= 1:
        q, m1 = 1 + 1.464 * r ** 1.65, 1.13 - 0.09 * r
        f_deep, f_surf = 1.0, np.sqrt(r)
    else:
        q, m1 = 1 + 1.464 * (1 / r) ** 1.65, np.sqrt(1 / r) * (1 + 0.04 / r)
        f_deep, f_surf = np.sqrt(1 / r), 1.0
    deep = m1 * f_deep / np.sqrt(q)
    surf = 1.1 * m1 * f_surf / np.sqrt(q)
    return float(deep), float(surf), float(max(deep, surf))


def griffith_plating_estimate(a, k_ic, *, molar_volume, stack_stress=0.0, Y=1.12):
    """The Griffith estimate of plating into a metal-filled surface flaw of depth a.

    The metal pressurises the flaw faces; a compressive stress sigma_n normal to the flaw
    plane (the stack pressure, > 0 in compression) closes them, so K_I = Y (p - sigma_n)
    sqrt(pi a) and the flaw grows at p_c = K_IC / (Y sqrt(pi a)) + sigma_n. The metal reaches
    p_c when its plating overpotential reaches eta_c = Omega p_c / F (the equilibrium shift of
    a pressurised metal electrode; 1 mV ~ 7.4 MPa for Li). The flaw is taken as an edge crack
    (Y = 1.12) loaded over its faces.
    Sources: Tada, Paris & Irwin (2000) (edge crack); Porz et al., Adv. Energy Mater. 7
    (2017) 1701003 (Li-filled flaws, the Griffith picture of plating).

    Args:
        a: flaw depth [m].
        k_ic: fracture toughness [Pa m^0.5].
        molar_volume: Omega of the metal [m^3 mol^-1].
        stack_stress: compressive stress normal to the flaw plane [Pa] (>= 0 shields).
        Y: geometry factor [-].

    Returns:
        (p_c [Pa], eta_c [V]).
    """
    from femcell.units import F

    p_c = griffith_surface_flaw_pressure(a, k_ic, Y) + stack_stress
    return p_c, molar_volume * p_c / F


# --------------------------------------------------------------------------------------------
# 5. Phase-field AT1 / AT2 in 1D
# --------------------------------------------------------------------------------------------
# Energy (Tanne et al. 2018, with 4 c_w of that paper written c_w here):
#   int (1 - d)^2 E eps^2 / 2 + gc / c_w (w(d) / ell + ell d'^2) dx,
#   AT1: w = d,   c_w = 8/3;   AT2: w = d^2, c_w = 2.
# Homogeneous state: psi(eps, d) = (1 - d)^2 E eps^2 / 2 + gc w(d) / (c_w ell),
# dpsi/dd = 0: (1 - d) E eps^2 = gc w'(d) / (c_w ell), sigma = (1 - d)^2 E eps.

_C_W = {"AT1": 8.0 / 3.0, "AT2": 2.0}


def _model(model):
    key = str(model).upper()
    if key not in _C_W:
        raise ValueError(f"model must be 'AT1' or 'AT2', not {model!r}")
    return key


def at1_critical_stress(E, gc, ell):
    """Peak stress of the homogeneous 1D AT1 solution: sigma_c = sqrt(3 gc E / (8 ell)).

    Derivation: d = 0 is stationary while E eps^2 <= gc w'(0) / (c_w ell) = 3 gc / (8 ell)
    (elastic limit). Beyond it 1 - d = 3 gc / (8 ell E eps^2) and
    sigma = (3 gc / (8 ell))^2 / (E eps^3) decreases, so the peak is the elastic limit
    sigma_c = E eps_c.
    Source: Pham, Amor, Marigo & Maurini, Int. J. Damage Mech. 20 (2011) 618; Tanne, Li,
    Bourdin, Marigo & Maurini, J. Mech. Phys. Solids 110 (2018) 80.

    Args:
        E: Young's modulus [Pa].
        gc: fracture toughness [J m^-2].
        ell: regularisation length [m].

    Returns:
        sigma_c [Pa].
    """
    return np.sqrt(3 * gc * E / (8 * ell))


def at2_critical_stress(E, gc, ell):
    """Peak stress of the homogeneous 1D AT2 solution: sigma_c = (3/16) sqrt(3 gc E / ell).

    Derivation: dpsi/dd = 0 with w = d^2, c_w = 2 gives (1 - d) E eps^2 = gc d / ell, i.e.
    d = k eps^2 / (1 + k eps^2) with k = E ell / gc, and sigma = E eps / (1 + k eps^2)^2
    (no elastic phase). dsigma/deps = 0 at k eps^2 = 1/3: eps_c = sqrt(gc / (3 E ell)),
    d_c = 1/4 and sigma_c = (9/16) E eps_c = (9/16) sqrt(E gc / (3 ell))
    = (3/16) sqrt(3 E gc / ell) ~= 0.325 sqrt(E gc / ell).
    Source: Tanne, Li, Bourdin, Marigo & Maurini, J. Mech. Phys. Solids 110 (2018) 80;
    Bourdin, Francfort & Marigo, J. Elasticity 91 (2008) 5.

    Args:
        E: Young's modulus [Pa].
        gc: fracture toughness [J m^-2].
        ell: regularisation length [m].

    Returns:
        sigma_c [Pa].
    """
    return 3.0 / 16.0 * np.sqrt(3 * gc * E / ell)


def effective_toughness(gc, h, ell, model):
    """Toughness of a phase-field crack resolved on a mesh of size h: gc (1 + h / (c_w ell)).

    AT1: gc (1 + 3 h / (8 ell)); AT2: gc (1 + h / (2 ell)). Origin: the crack occupies a fully
    damaged band d = 1 one element wide, which adds gc w(1) h / (c_w ell) to the gc of the
    optimal profile (the profile on each side is unchanged, shifted by h/2). Note: a 1D crack
    with d = 1 at a single node (P1, exact integration) only overshoots by O((h/ell)^2).
    Source: Bourdin, Francfort & Marigo, J. Mech. Phys. Solids 48 (2000) 797 and
    J. Elasticity 91 (2008) 5 (AT2: gc (1 + h / (4 eps)) for the dissipation
    gc int ((1 - v)^2 / (4 eps) + eps |grad v|^2), whose profile is exp(-|x| / (2 eps)),
    i.e. eps = ell / 2); Tanne et al., JMPS 110 (2018) 80 (gc (1 + h / (4 c_w ell)), their
    c_w = 2/3 AT1, 1/2 AT2).

    Args:
        gc: fracture toughness [J m^-2].
        h: mesh size across the crack [m].
        ell: regularisation length [m].
        model: "AT1" or "AT2".

    Returns:
        effective toughness [J m^-2].
    """
    return gc * (1 + h / (_C_W[_model(model)] * ell))


def at2_profile(x, ell):
    """Optimal 1D AT2 crack profile d(x) = exp(-|x| / ell) (crack at x = 0).

    Solves d - ell^2 d'' = 0, d(0) = 1, d(inf) = 0; its energy
    gc / 2 int (d^2 / ell + ell d'^2) dx = gc.
    Source: Bourdin, Francfort & Marigo, J. Elasticity 91 (2008) 5; Miehe et al., Int. J.
    Numer. Meth. Eng. 83 (2010) 1273.

    Args:
        x: distance from the crack [m].
        ell: regularisation length [m].

    Returns:
        d [-].
    """
    return np.exp(-np.abs(np.asarray(x, dtype=float)) / ell)


def at1_profile(x, ell):
    """Optimal 1D AT1 crack profile d(x) = (1 - |x| / (2 ell))^2 for |x| < 2 ell, else 0.

    Equipartition d / ell = ell d'^2 (first integral of the Euler-Lagrange equation
    d'' = 1 / (2 ell^2)) gives sqrt(d) = 1 - |x| / (2 ell), with d' = 0 where the support ends;
    its energy 3 gc / 8 int (d / ell + ell d'^2) dx = gc.
    Source: Pham, Amor, Marigo & Maurini, Int. J. Damage Mech. 20 (2011) 618; Tanne et al.,
    JMPS 110 (2018) 80.

    Args:
        x: distance from the crack [m].
        ell: regularisation length [m].

    Returns:
        d [-].
    """
    s = np.clip(1 - np.abs(np.asarray(x, dtype=float)) / (2 * ell), 0.0, None)
    return s**2


# --------------------------------------------------------------------------------------------
# 6. Diffusion-induced stress in a sphere
# --------------------------------------------------------------------------------------------


def _g(x):
    """(sin x - x cos x) / x^3, regular at 0 (1/3 - x^2/30 + x^4/840)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-2
    xs = np.where(small, 1.0, x)
    direct = (np.sin(xs) - xs * np.cos(xs)) / xs**3
    return np.where(small, 1 / 3 - x**2 / 30 + x**4 / 840, direct)


def sphere_diffusion_stress(r, t, *, radius, diffusivity, flux, c0, omega, E, nu, terms=400):
    """Diffusion-induced stress in a free solid sphere under constant inward flux.

    Thermal analogy (alpha T -> omega (c - c0) / 3), with I(r) = (1 / r^3) int_0^r c r'^2 dr':
    sigma_rr = 2 E omega / (3 (1 - nu)) [I(R) - I(r)],
    sigma_tt = E omega / (3 (1 - nu)) [2 I(R) + I(r) - c(r)].
    c(r, t) is `femcell.analytic.crank_sphere`; I(r) is integrated term by term:
    (1/rho^3) int_0^rho rho'^2 sin(l rho') / rho' drho' = l g(l rho), g(x) = (sin x -
    x cos x) / x^3, so with tau = D t / R^2 and tan l_n = l_n,
    I(r) - c0/3 = (q R / D) [tau + (rho^2 - 1) / 10 - 2 sum_n g(l_n rho) exp(-l_n^2 tau)
    / (l_n sin l_n)] (exact; g(l_n) = 0, so I(R) = c_avg / 3). The uniform part 3 tau q R / D
    cancels from both stresses and is dropped before evaluating them.
    Long times (c - c_avg -> (q R / D)(rho^2 / 2 - 3/10)):
    sigma_rr -> s (1 - rho^2), sigma_tt -> s (1 - 2 rho^2), s = E omega q R / (15 (1 - nu) D);
    the surface hoop stress tends to -s (compressive on insertion), the centre to +s.
    Source: Timoshenko & Goodier, Theory of Elasticity, 3rd ed. (1970), thermal stresses in a
    solid sphere; Cheng & Verbrugge, J. Power Sources 190 (2009) 453; Zhang, Shyy & Sastry,
    J. Electrochem. Soc. 154 (2007) A910; Crank, Mathematics of Diffusion (1975) eq. 6.46.

    Args:
        r: radius [m] (array or float, 0 <= r <= R).
        t: time [s] (> 0, scalar).
        radius: R [m].
        diffusivity: D [m^2 s^-1].
        flux: q, inward molar flux [mol m^-2 s^-1] (> 0 on insertion).
        c0: initial (stress-free) concentration [mol m^-3].
        omega: partial molar volume [m^3 mol^-1].
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].
        terms: minimum number of series terms (as in `crank_sphere`).

    Returns:
        dict of arrays: "sigma_rr", "sigma_tt" [Pa] (and "c" [mol m^-3]).
    """
    scalar = np.ndim(r) == 0
    rho = np.atleast_1d(np.asarray(r, dtype=float)) / radius
    tau = diffusivity * t / radius**2
    scale = flux * radius / diffusivity
    # same term count as crank_sphere: exp(-l_N^2 tau) < 1e-17
    lam = _crank_roots(int(max(terms, min(200_000, np.sqrt(40.0 / tau) / np.pi + 10))))
    weight = np.exp(-lam**2 * tau) / (lam * np.sin(lam))

    def reduced_integral(rh):  # I(r) - c_avg / 3, over q R / D; blocks bound the memory
        rh = np.atleast_1d(rh)
        step = max(1, 2_000_000 // lam.size)
        series = np.concatenate([(_g(np.multiply.outer(rh[i:i + step], lam)) * weight).sum(-1)
                                 for i in range(0, rh.size, step)])
        return (rh**2 - 1) / 10 - 2 * series

    c = np.atleast_1d(crank_sphere(rho * radius, t, radius=radius, diffusivity=diffusivity,
                                   flux=flux, c0=c0, terms=terms))
    c_red = c - (c0 + 3 * tau * scale)  # c - c_avg
    i_r = scale * reduced_integral(rho)
    i_R = scale * reduced_integral(1.0)[0]
    k = E * omega / (3 * (1 - nu))
    out = {"sigma_rr": 2 * k * (i_R - i_r), "sigma_tt": k * (2 * i_R + i_r - c_red), "c": c}
    return {key: float(v[0]) for key, v in out.items()} if scalar else out


# --------------------------------------------------------------------------------------------
# 7. Norton creep
# --------------------------------------------------------------------------------------------


def sphere_surface_hoop(*, c_mean, c_surface, omega, E, nu):
    """Hoop stress at the surface of a free isotropic sphere with a radial concentration
    profile: sigma_tt(R) = Omega E (c_mean - c(R)) / (3 (1 - nu)) [Pa], whatever the profile
    (Timoshenko's thermal-stress solution with alpha dT -> Omega c / 3; Cheng & Verbrugge,
    J. Power Sources 190 (2009) 453, eq. for sigma_t at r = R).

    Args:
        c_mean: volume-mean concentration [mol m^-3].
        c_surface: surface concentration [mol m^-3].
        omega: partial molar volume [m^3 mol^-1].
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].
    """
    return omega * E * (c_mean - c_surface) / (3.0 * (1.0 - nu))


def norton_rate(sigma, A, sigma0, n):
    """Norton creep strain rate eps_dot = A (|sigma| / sigma0)^n sign(sigma).

    Source: Norton, The Creep of Steel at High Temperatures (1929); Kraus, Creep Analysis
    (1980), ch. 2.

    Args:
        sigma: uniaxial stress [Pa].
        A: creep strain rate at sigma = sigma0 [s^-1].
        sigma0: reference stress [Pa].
        n: stress exponent [-].

    Returns:
        creep strain rate [s^-1].
    """
    sigma = np.asarray(sigma, dtype=float)
    return A * np.sign(sigma) * (np.abs(sigma) / sigma0) ** n


def norton_relaxation(t, *, eps0, E, A, sigma0, n):
    """Uniaxial stress relaxation at fixed total strain eps0 with Norton creep.

    eps0 = sigma / E + eps_cr gives d sigma/dt = -E A (sigma / sigma0)^n, sigma(0) = E eps0.
    Separation of variables: sigma^(1-n) = sigma_i^(1-n) + (n - 1) E A sigma0^(-n) t, i.e.
    sigma(t) = [sigma_i^(1-n) + (n - 1) E A sigma0^(-n) t]^(1/(1-n)) (n != 1) and
    sigma_i exp(-E A t / sigma0) for n = 1 (sigma_i = E eps0; applied to |sigma| with the sign
    of eps0).
    Source: Kraus, Creep Analysis (1980); Boyle & Spence, Stress Analysis for Creep (1983)
    (relaxation under constant strain); re-derived here.

    Args:
        t: time [s] (>= 0).
        eps0: imposed total strain [-].
        E: Young's modulus [Pa].
        A: creep strain rate at sigma0 [s^-1].
        sigma0: reference stress [Pa].
        n: stress exponent [-].

    Returns:
        sigma(t) [Pa].
    """
    t = np.asarray(t, dtype=float)
    s_i = E * abs(eps0)
    if n == 1:
        s = s_i * np.exp(-E * A * t / sigma0)
    else:
        s = (s_i ** (1 - n) + (n - 1) * E * A * sigma0 ** (-n) * t) ** (1 / (1 - n))
    return np.sign(eps0) * s


# --------------------------------------------------------------------------------------------
# 8. Mode-I crack-tip field
# --------------------------------------------------------------------------------------------


def mode1_displacement(x, y, *, K, E, nu, plane="strain"):
    """Mode-I (Williams / Irwin) crack-tip displacement field, tip at the origin.

    ux = K / (2 mu) sqrt(r / (2 pi)) cos(theta/2) (kappa - cos theta),
    uy = K / (2 mu) sqrt(r / (2 pi)) sin(theta/2) (kappa - cos theta),
    mu = E / (2 (1 + nu)), kappa = 3 - 4 nu (plane strain) or (3 - nu) / (1 + nu) (plane
    stress); theta = atan2(y, x) in (-pi, pi], the crack lies on the negative x axis and grows
    along +x. Opening behind the tip: uy(pi) - uy(-pi) = 8 K / E' sqrt(r / (2 pi));
    J-integral K^2 / E'.
    Source: Williams, J. Appl. Mech. 24 (1957) 109; Anderson, Fracture Mechanics, 3rd ed.
    (2005), ch. 2, crack-tip displacement fields (kappa - 1 + 2 sin^2(theta/2)
    = kappa + 1 - 2 cos^2(theta/2) = kappa - cos theta); Rice, J. Appl. Mech. 35 (1968) 379
    (J = K^2 / E').

    Args:
        x: coordinate along the crack-growth direction, relative to the tip [m].
        y: coordinate normal to the crack [m].
        K: mode-I stress intensity factor [Pa m^0.5].
        E: Young's modulus [Pa].
        nu: Poisson's ratio [-].
        plane: "strain" or "stress".

    Returns:
        (ux, uy) [m].
    """
    _plane_modulus(E, nu, plane)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    mu = E / (2 * (1 + nu))
    kappa = 3 - 4 * nu if plane == "strain" else (3 - nu) / (1 + nu)
    r = np.hypot(x, y)
    theta = np.arctan2(y, x)
    f = K / (2 * mu) * np.sqrt(r / (2 * np.pi)) * (kappa - np.cos(theta))
    return f * np.cos(theta / 2), f * np.sin(theta / 2)
