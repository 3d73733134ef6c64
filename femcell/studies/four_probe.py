"""The "four_probe" kind: the DC resistances a four-probe or van der Pauw measurement of a
sample would read, and the conductivity the textbook formulas infer from them, next to the
conductivity that went in.

van der Pauw (the four_probe builder's square, contacts 1-4 counter-clockwise from a
corner): R_A = V_43 / I_12 and R_B = V_14 / I_23 (and the reciprocal pairs, equal by
reciprocity); the sheet resistance R_s solves exp(-pi R_A / R_s) + exp(-pi R_B / R_s) = 1,
and sigma_vdP = 1 / (R_s t) (t the plate thickness; in 2D a sheet of unit depth, R in
ohm m). An anisotropic sample (a tensor) reads R_A != R_B and sigma_vdP = sqrt(det sigma)
in 2D: what a van der Pauw measurement reports for it.

Collinear (the builder's bar, pads 1-4 on one face): R = V_23 / I_14, and the two textbook
limits: a thin bar (the current uniform over the cross-section W t between the inner pads),
sigma = s23 / (W t R); a half-space (3D, sigma = 1 / (2 pi s R) for equal spacings s) or a
half-plane (2D, sigma = 2 ln 2 / (pi R)). The run prints both next to the input: which one
the sample is close to depends on W / s.

Outputs: four_probe.csv (one row per configuration: current and voltage contacts, R),
the potential of the first configuration (fields), summary.json with the inferred and the
input conductivities.
"""

from __future__ import annotations

import math

import numpy as np

from femcell.problem import Problem
from femcell.solvers import SolverError
from femcell.studies.lifecycle import as_config_error
from femcell.studies.results import Value

VDP = [("vdp_A", 1, 2, 4, 3), ("vdp_B", 2, 3, 1, 4),  # (name, I+, I-, V+, V-)
       ("vdp_A_reciprocal", 4, 3, 1, 2), ("vdp_B_reciprocal", 1, 4, 2, 3)]
COLLINEAR = [("collinear", 1, 4, 2, 3), ("collinear_reciprocal", 2, 3, 1, 4)]


def method_of(cfg, domain) -> str:
    """The measurement: [four_probe] method, or the geometry's four_probe kind."""
    from femcell.config import ConfigError

    m = cfg.four_probe.method
    meta = domain.metadata
    kind = (meta.get("params") or {}).get("kind") if meta.get("builder", "four_probe") \
        == "four_probe" else None
    if kind not in ("van_der_pauw", "bar"):
        raise ConfigError("four_probe: the geometry must be the four_probe builder's "
                          "(a van der Pauw square or a bar): the formulas need its layout")
    fits = "van_der_pauw" if kind == "van_der_pauw" else "collinear"
    if m not in ("auto", fits):
        raise ConfigError(f"four_probe.method = {m!r} does not fit the geometry (a "
                          f"{kind.replace('_', ' ')}): use {fits!r} or 'auto'")
    return fits


def run(cfg, run):
    """Run a four-probe study (see the module docstring) in the lifecycle `run`."""
    domain = run.build_domain()
    physics, ctx = run.build_physics(domain, cfg.temperature)
    ph, sigma = ctx.info["conduction"], np.asarray(ctx.info["conductivity"], dtype=float)
    method = method_of(cfg, domain)
    with run.timed("setup_s"):
        problem = as_config_error(lambda: Problem(domain, physics,
                                                  linear_solver=cfg.solver.linear,
                                                  petsc_options=run.petsc_options()))
    configs = VDP if method == "van_der_pauw" else COLLINEAR
    run.open_folder()
    with run.guard(problem):
        run.write_mesh(domain)
        problem.initialise()
        writer = run.field_writer(physics, domain)
        rows = []
        I = ph.unit_current
        for k, (name, a, b, c, d) in enumerate(configs):
            ph.set_currents({f"contact_{a}": I, f"contact_{b}": -I})
            with run.timed("solve_s"):
                rep = problem.solve_step(1.0, 1.0, 1, None)
            if not rep.converged:
                raise SolverError(f"{name}: the solve did not converge ({rep.reason})")
            q = ph.quantities()
            r = (q[f"phi_mean[contact_{c}]"] - q[f"phi_mean[contact_{d}]"]) / I
            rows.append({"configuration": name, "current_from": a, "current_to": b,
                         "voltage_plus": c, "voltage_minus": d, "resistance": r})
            if writer is not None and k == 0:
                writer.write(0.0)
        if writer is not None:
            writer.close()
        table = run.quantity_table(name="four_probe.csv")
        for r in rows:
            table.append(r)
        table.close()
        problem.close()
        params = domain.metadata.get("params") or {}
        headline, extra = (van_der_pauw(rows, sigma, domain, params) if method == "van_der_pauw"
                           else collinear(rows, sigma, domain, params))
        summary = run.summary(
            "completed", "", headline, steps={"solves": len(rows)}, ended_by="completed",
            four_probe={"method": method, "configurations": rows, **extra},
            physics={p.name: p.describe() for p in physics},
            domain=run.domain_summary(domain, problem),
            citations=[])
        run.finish(summary)
        return run.result(rows, headline, summary)


def _thickness(domain, params) -> tuple[float, str]:
    """(t [m], unit of R): the plate or bar thickness in 3D; 1 m of depth in 2D."""
    if domain.tdim == 3:
        return float(params["thickness"]), "ohm"
    return 1.0, "ohm m"


def _sigma_sheet(sigma: np.ndarray) -> float:
    """The isotropic conductivity an anisotropic sheet or plate (in x-y, contacts through
    its thickness) acts like: sqrt(det) of the in-plane block (x-y); the scalar itself."""
    if sigma.ndim == 0:
        return float(sigma)
    return float(math.sqrt(np.linalg.det(sigma[:2, :2])))


def _sigma_along(sigma: np.ndarray) -> float:
    """The conductivity along a bar (x): sigma_xx; the scalar itself."""
    return float(sigma) if sigma.ndim == 0 else float(sigma[0, 0])


def sheet_resistance(ra: float, rb: float) -> float:
    """R_s from exp(-pi R_A / R_s) + exp(-pi R_B / R_s) = 1 (van der Pauw)."""
    from scipy.optimize import brentq

    lo = math.pi * min(ra, rb) / math.log(2) / 2
    hi = math.pi * max(ra, rb) / math.log(2) * 2 + math.pi * (ra + rb)
    return float(brentq(lambda rs: math.exp(-math.pi * ra / rs) + math.exp(-math.pi * rb / rs)
                        - 1, lo * 1e-3, hi * 1e3, xtol=1e-15 * hi, rtol=1e-14))


def van_der_pauw(rows, sigma, domain, params):
    r = {row["configuration"]: row["resistance"] for row in rows}
    t, unit = _thickness(domain, params)
    rs = sheet_resistance(r["vdp_A"], r["vdp_B"])
    s_vdp = 1.0 / (rs * t)
    s_in = _sigma_sheet(sigma)
    h = {"resistance_A": Value(r["vdp_A"], unit, "V_43 / I_12"),
         "resistance_B": Value(r["vdp_B"], unit, "V_14 / I_23"),
         "sheet_resistance": Value(rs, "ohm" if domain.tdim == 3 else "ohm m",
                                   "van der Pauw: exp(-pi R_A / R_s) + exp(-pi R_B / R_s) = 1"
                                   + ("" if domain.tdim == 3 else " (a sheet of unit depth)")),
         "conductivity_vdp": Value(s_vdp, "S m^-1", "1 / (R_s t): what van der Pauw reports"),
         "conductivity_input": Value(s_in, "S m^-1", "the sample's conductivity (anisotropic: "
                                     "sqrt(det) of the in-plane x-y block)"),
         "vdp_over_input": Value(s_vdp / s_in, "", "inferred / input conductivity"),
         "anisotropy_ratio": Value(max(r["vdp_A"], r["vdp_B"]) / min(r["vdp_A"], r["vdp_B"]),
                                   "", "R_A / R_B (1 for an isotropic square)"),
         "reciprocity_error": Value(max(abs(r["vdp_A"] - r["vdp_A_reciprocal"]) / r["vdp_A"],
                                        abs(r["vdp_B"] - r["vdp_B_reciprocal"]) / r["vdp_B"]),
                                    "", "|R_AB,CD - R_CD,AB| / R (0 by reciprocity)")}
    return h, {"sheet_resistance": rs, "conductivity_vdp": s_vdp, "conductivity_input": s_in}


def collinear(rows, sigma, domain, params):
    r = {row["configuration"]: row["resistance"] for row in rows}
    R = r["collinear"]
    t, unit = _thickness(domain, params)
    pos = params["contact_positions"]
    s23 = pos[2] - pos[1]
    spacings = np.diff(pos)
    W = float(params["width"])
    s_thin = s23 / (W * t * R)
    log_ratio = math.log((spacings[0] + spacings[1]) * (spacings[1] + spacings[2])
                         / (spacings[0] * spacings[2]))
    depth = params.get("contact_depth")
    if domain.tdim == 2:
        s_half = log_ratio / (math.pi * R)
        half = "half-plane: ln(s13 s24 / (s12 s34)) / (pi R)"
    elif depth is not None and depth < 0.5 * W:  # pads short across the bar: points
        s_half = (1 / spacings[0] + 1 / spacings[2] - 1 / (spacings[0] + spacings[1])
                  - 1 / (spacings[1] + spacings[2])) / (2 * math.pi * R)
        half = "half-space, point contacts: (1/s12 + 1/s34 - 1/s13 - 1/s24) / (2 pi R)"
    else:  # strips across the bar: a half-plane in x-z of depth W
        s_half = log_ratio / (math.pi * R * W)
        half = "half-space, line contacts across the bar: ln(s13 s24 / (s12 s34)) / (pi R W)"
    s_in = _sigma_along(sigma)
    h = {"resistance": Value(R, unit, "V_23 / I_14"),
         "conductivity_thin_bar": Value(s_thin, "S m^-1", "s23 / (W t R): uniform current "
                                        "over the bar's cross-section"),
         "conductivity_half_space": Value(s_half, "S m^-1", half),
         "conductivity_input": Value(s_in, "S m^-1", "the sample's conductivity along the "
                                     "bar (sigma_xx)"),
         "thin_bar_over_input": Value(s_thin / s_in, "", "inferred / input (thin-bar formula)"),
         "half_space_over_input": Value(s_half / s_in, "",
                                        "inferred / input (half-space formula)"),
         "reciprocity_error": Value(abs(R - r["collinear_reciprocal"]) / R, "",
                                    "|V_23 / I_14 - V_14 / I_23| / R (0 by reciprocity)")}
    return h, {"conductivity_thin_bar": s_thin, "conductivity_half_space": s_half,
               "conductivity_input": s_in}
