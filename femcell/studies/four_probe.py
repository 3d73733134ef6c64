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

AC (`[four_probe] frequencies`): the sample's admittivity is sigma + i omega eps, and the
same configurations give complex transfer impedances Z(f). The textbook formulas are read
with them as they are with DC resistances (van der Pauw's equation solved for a complex
R_s; the collinear formulas are linear in 1 / R), giving a complex conductivity
sigma*(f) = sigma' + i omega eps0 eps_r': the conductivity at the lowest frequency and the
permittivity at the apex of the first configuration's arc (the dielectric relaxation,
where both parts of sigma* are comparable) next to the inputs.

A polycrystalline sample (the builder's `grain_size`, [conduction.grain_boundaries]): the
readings are set next to the series brick-layer estimate 1 / (1 / sigma_b + 1 / (g_gb d)),
d the grains' spacing (the grid pitch of cubic grains, (V / n)^(1/m) of n random ones over
the m sides longer than it),
which is exact for cubic grains along a thin bar (the current crosses every boundary
normally) and an estimate otherwise.

Outputs: four_probe.csv (one row per configuration: current and voltage contacts, R),
the potential of the first configuration per ampere (fields: phi; with frequencies also
phi_ac_re and phi_ac_im, the field series' "time" being the frequency in Hz: 0 the DC
potential, then each arc's apex), summary.json with the inferred and the
input conductivities; with frequencies four_probe_ac.csv (per frequency: each
configuration's Z, each formula's sigma' and eps_r') and four_probe_ac.png.
"""

from __future__ import annotations

import math

import numpy as np

from femcell.problem import Problem
from femcell.solvers import SolverError
from femcell.studies.lifecycle import as_config_error
from femcell.studies.results import Value
from femcell.units import EPS0

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
    fs = cfg.four_probe.frequencies
    if fs is not None and ph.permittivity is None:
        from femcell.config import ConfigError

        raise ConfigError("four_probe.frequencies: the sample has no permittivity (its "
                          "material has none): give conduction.permittivity")
    if fs is not None and ph.grain_boundaries is not None and ph.c_gb is None:
        from femcell.config import ConfigError

        raise ConfigError("four_probe.frequencies: the grain boundaries have no capacitance: "
                          "give conduction.grain_boundaries.capacitance (or a thickness)")
    run.open_folder()
    with run.guard(problem):
        run.write_mesh(domain)
        problem.initialise()
        ph.write_ac = fs is not None
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
                dc0 = ph.field.u.x.array.copy()  # (kept with the AC frames below)
                if ph.write_ac:
                    ph.ac_from_dc()
                writer.write(0.0)
        table = run.quantity_table(name="four_probe.csv")
        for r in rows:
            table.append(r)
        table.close()
        params = domain.metadata.get("params") or {}
        headline, extra = (van_der_pauw(rows, sigma, domain, params) if method == "van_der_pauw"
                           else collinear(rows, sigma, domain, params))
        if ph.grain_boundaries is not None:
            h_gb, extra["brick_layer"] = brick_layer(headline, ph, grain_spacing(domain))
            headline |= h_gb
        if fs is not None:
            from femcell.studies.impedance import frequencies

            freq = frequencies(fs)
            with run.timed("solve_s"):
                z = ph.transfer_impedances(freq, [tuple(f"contact_{n}" for n in c[1:])
                                                  for c in configs])
            ac = ac_readings(method, freq, z, [c[0] for c in configs], domain, params)
            h_ac, extra["ac"] = ac_headline(ac, freq, z, sigma, ph.permittivity)
            d = grain_spacing(domain)
            if ph.grain_boundaries is not None and d is not None:
                eps_gb = ph.c_gb * float(d) / EPS0
                h_ac["permittivity_gb_brick_layer"] = Value(
                    eps_gb, "", "c_gb d / eps0: the apparent relative permittivity of the "
                    "grain-boundary arc in the brick-layer model (the apex reading is that "
                    "arc's when it is the larger one)")
                extra["ac"]["permittivity_gb_brick_layer"] = eps_gb
            if extra["ac"]["apex_frequency_Hz"] in (freq[0], freq[-1]):
                run.warn(f"four_probe.frequencies: the largest -Z'' is at the end of the "
                         f"range ({extra['ac']['apex_frequency_Hz']:.3g} Hz), not at the "
                         "dielectric relaxation: widen the range (the permittivity is read "
                         "there)")
            if writer is not None:  # the first configuration's potential at each arc apex
                cfg0 = [tuple(f"contact_{n}" for n in configs[0][1:])]
                ph.field.u.x.array[:] = dc0
                with run.timed("io_s"):
                    for fa in apex_frequencies(freq, z[:, 0]):
                        ph.transfer_impedances([fa], cfg0, fields_of=0)
                        writer.write(fa)
            extra["ac"]["frequency_Hz"] = freq.tolist()
            extra["ac"]["sigma_star_S_m"] = {n: {"re": v.real.tolist(), "im": v.imag.tolist()}
                                             for n, v in ac.items()}
            headline |= h_ac
            with run.timed("io_s"):
                table = run.quantity_table(name="four_probe_ac.csv")
                for k, fk in enumerate(freq):
                    row = {"frequency": fk}
                    for j, c in enumerate(configs):
                        row[f"z_re[{c[0]}]"], row[f"z_im[{c[0]}]"] = z[k, j].real, z[k, j].imag
                    for name, s_star in ac.items():
                        row[f"sigma_re[{name}]"] = s_star[k].real
                        row[f"eps_r[{name}]"] = s_star[k].imag / (2 * math.pi * fk * EPS0)
                    table.append(row)
                table.close()
            if run.write and cfg.output.plots:
                run.plots(lambda: plot_ac(run.folder, cfg.study.name, freq, ac, sigma,
                                          ph.permittivity))
        if writer is not None:
            writer.close()
        problem.close()
        summary = run.summary(
            "completed", "", headline, steps={"solves": len(rows)}, ended_by="completed",
            four_probe={"method": method, "configurations": rows, **extra},
            physics={p.name: p.describe() for p in physics},
            domain=run.domain_summary(domain, problem),
            citations=[])
        run.finish(summary)
        return run.result(rows, headline, summary)


def complex_sheet_resistance(ra: complex, rb: complex, start: complex) -> complex:
    """R_s from exp(-pi R_A / R_s) + exp(-pi R_B / R_s) = 1 with complex (AC) readings, by
    Newton on 1 / R_s from `start` (the root at a neighbouring frequency: the equation has
    several complex roots, and the reading follows the one that is van der Pauw's at DC).

    Raises:
        SolverError: no convergence in 100 steps.
    """
    from femcell.solvers import SolverError

    y = 1 / start
    floor = 4 * np.finfo(float).eps  # round-off of ea + eb - 1: no step can do better
    for _ in range(100):
        ea, eb = np.exp(-math.pi * ra * y), np.exp(-math.pi * rb * y)
        if abs(ea + eb - 1) <= floor:
            # (with R_B / R_A ~ 4e5 the root's steps stall at ~4e-13 of y at this floor,
            # above the step test below: it never passed, depending on round-off)
            return 1 / y
        step = (ea + eb - 1) / (-math.pi * (ra * ea + rb * eb))
        y -= step
        if abs(step) <= 1e-14 * abs(y):
            return 1 / y
    raise SolverError(f"four_probe: van der Pauw's equation did not converge for R_A = {ra}, "
                      f"R_B = {rb}")


def _vdp_path(ra: np.ndarray, rb: np.ndarray, dc: float) -> np.ndarray:
    """R_s(f) followed from the DC root `dc` through the frequencies in order, each start the
    root of the last; a step that Newton cannot follow or that moves the root by more than a
    quarter is cut into sub-steps along the straight line in (R_A, R_B)."""
    out = np.zeros(ra.size, dtype=complex)
    prev = (complex(ra[0].real), complex(rb[0].real), complex(dc))  # the DC limit
    for k in range(ra.size):
        target = (complex(ra[k]), complex(rb[k]))
        a0, b0, root = prev
        for cuts in range(12):  # up to 2^11 sub-steps between neighbours
            n = 2**cuts
            try:
                r = root
                for i in range(1, n + 1):
                    s = i / n
                    new = complex_sheet_resistance(a0 + s * (target[0] - a0),
                                                   b0 + s * (target[1] - b0), r)
                    if abs(new - r) > 0.25 * abs(r):  # a jump: maybe another root
                        raise ValueError("step too large")
                    r = new
                break
            except Exception:
                if cuts == 11:
                    raise
        out[k] = r
        prev = (*target, r)
    return out


def apex_frequencies(freq: np.ndarray, z: np.ndarray) -> list[float]:
    """The frequencies [Hz] of the local maxima of -Z'' (one per arc), low to high."""
    y = -z.imag
    return [float(freq[k]) for k in range(len(y))
            if (k == 0 or y[k] > y[k - 1]) and (k == len(y) - 1 or y[k] >= y[k + 1])]


def ac_readings(method, freq, z, names, domain, params) -> dict:
    """{formula: sigma*(f) [S m^-1], complex}: the textbook formulas read with the complex
    transfer impedances z[f, configuration] (configurations named `names`)."""
    col = {n: z[:, j] for j, n in enumerate(names)}
    t, _ = _thickness(domain, params)
    if method == "van_der_pauw":
        dc = sheet_resistance(col["vdp_A"][0].real, col["vdp_B"][0].real)
        rs = _vdp_path(col["vdp_A"], col["vdp_B"], dc)
        return {"vdp": 1 / (rs * t)}
    # the formulas are linear in 1 / R: their factors are the readings of R = 1
    _, unit = collinear([{"configuration": n, "resistance": 1.0} for n in names],
                        np.asarray(1.0), domain, params)
    return {name: unit[f"conductivity_{name}"] / col["collinear"]
            for name in ("thin_bar", "half_space")}


def ac_headline(ac, freq, z, sigma, eps_r) -> tuple[dict, dict]:
    """Headline and summary of the AC readings: sigma' at the lowest frequency and eps_r'
    at the apex of the first configuration's arc (the largest -Z''), next to the inputs."""
    k = int(np.argmax(-z[:, 0].imag))
    w = 2 * math.pi * freq[k]
    sig_in = _sigma_sheet(np.asarray(sigma)) if "vdp" in ac else _sigma_along(np.asarray(sigma))
    h, extra = {}, {"apex_frequency_Hz": float(freq[k]), "readings": {}}
    h["ac_apex_frequency"] = Value(float(freq[k]), "Hz", "largest -Z'' of the first "
                                   "configuration (the dielectric relaxation)")
    for name, s_star in ac.items():
        eps_read = float(s_star[k].imag / (w * EPS0))
        sig_read = float(s_star[0].real)
        h[f"conductivity_ac[{name}]"] = Value(sig_read, "S m^-1",
                                              f"Re sigma* at {freq[0]:.3g} Hz ({name})")
        h[f"permittivity_ac[{name}]"] = Value(eps_read, "", f"Im sigma* / (omega eps0) at "
                                              f"the apex ({name}), relative")
        h[f"permittivity_ac_over_input[{name}]"] = Value(eps_read / eps_r, "",
                                                         "read / input permittivity")
        extra["readings"][name] = {"conductivity_S_m": sig_read, "permittivity": eps_read}
    h["permittivity_input"] = Value(eps_r, "", "the sample's relative permittivity")
    extra |= {"conductivity_input_S_m": sig_in, "permittivity_input": eps_r}
    return h, extra


def plot_ac(folder, name, freq, ac, sigma, eps_r) -> dict:
    """sigma' and eps_r' read by each formula against f, with the inputs."""
    from femcell.plotting import _mpl

    plt = _mpl()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.4, 5.6), dpi=120, sharex=True)
    for label, s_star in ac.items():
        a1.semilogx(freq, s_star.real, "-o", ms=2.5, label=label)
        a2.semilogx(freq, s_star.imag / (2 * math.pi * freq * EPS0), "-o", ms=2.5,
                    label=label)
    sig_in = _sigma_sheet(np.asarray(sigma)) if "vdp" in ac else _sigma_along(np.asarray(sigma))
    a1.axhline(sig_in, color="k", lw=0.8, ls="--", label="input")
    a2.axhline(eps_r, color="k", lw=0.8, ls="--", label="input")
    a1.set_ylabel("sigma' read [S/m]")
    a2.set_ylabel("eps_r' read")
    a2.set_xlabel("f [Hz]")
    a1.set_title(f"{name}: AC four-probe readings")
    for ax in (a1, a2):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = folder / "four_probe_ac.png"
    fig.savefig(path)
    plt.close(fig)
    return {"four_probe_ac": path}


def grain_spacing(domain) -> float | None:
    """The grains' spacing along x [m] (metadata `grain_spacing`; a mesh saved before it
    existed: the builder's grain_size; None without grains)."""
    meta = domain.metadata
    d = meta.get("grain_spacing")
    return d if d is not None else (meta.get("params") or {}).get("grain_size")


def brick_layer(headline: dict, ph, d: float | None) -> tuple[dict, dict]:
    """Headline and summary of a polycrystal's readings against the series brick-layer
    estimate sigma_BL = 1 / (1 / sigma_b + 1 / (g_gb d)), d [m] the grains' spacing along x
    (the builder's `grain_spacing`: the pitch of cubic grains, (V / n)^(1/m) of random
    ones; None: no estimate)."""
    sigma_b, g = float(ph.sigma), float(ph.g_gb)
    h = {"grain_boundary_conductance": Value(g, "S m^-2", "g_gb = sigma_gb / thickness "
                                             "(or as given) at the study temperature")}
    extra = {"grain_boundary_conductance_S_m2": g, "grain_spacing_m": d}
    if d is None:  # boundaries from another source: no grain size to estimate with
        return h, extra
    s_bl = 1.0 / (1.0 / sigma_b + 1.0 / (g * float(d)))
    h["conductivity_brick_layer"] = Value(s_bl, "S m^-1", "1 / (1/sigma_b + 1/(g_gb d)), "
                                          "d the grains' spacing: the series brick-layer "
                                          "estimate")
    for name in ("vdp", "thin_bar", "half_space"):
        key = f"conductivity_{name}"
        if key in headline:
            h[f"{name}_over_brick_layer"] = Value(headline[key].value / s_bl, "",
                                                  f"inferred ({name}) / brick-layer estimate")
    extra["conductivity_brick_layer_S_m"] = s_bl
    return h, extra


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
