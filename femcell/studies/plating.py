"""The "plating_ccd" kind: galvanostatic plating in steps of increasing current into a
metal-filled surface flaw of a solid electrolyte, the experiment's plating-CCD procedure.

Each time step is solved by alternate minimisation: charge transport with the metal filament
(femcell.physics.dendrite), elasticity with the crack volume held at the metal deposited in
the flaw (volume control: the crack pressure follows), then the damage with its
irreversibility bounds; a step whose sweeps do not converge is cut (never accepted). The
current steps are protocol steps (femcell.protocol): each passes [plating] charge unless the
cell shorts first (the metal reaches the counter electrode: the until-condition
filament_short). Headlines: the plating CCD (the current of the first step that shorts) and
the onset current (the first step in which the flaw grows), next to the Griffith estimate of
the flaw: the pressure K_IC,eff / (Y sqrt(pi a)) (edge crack, Y = 1.12; semi-elliptical
surface flaw in 3D, Newman-Raju) and the plating
overpotential Omega p_c / F that makes it."""

from __future__ import annotations

import numpy as np

from femcell.runs import status_of
from femcell.solvers.staggered import StaggeredProblem
from femcell.studies.lifecycle import as_config_error, time_unit
from femcell.studies.protocol import drive_protocol
from femcell.studies.results import Value

SHORT = "filament_short"


def _protocol(cfg):
    """The Protocol of the current steps (SI): each until its charge or a short."""
    from femcell.experiment import Protocol

    pl = cfg.plating
    items = []
    for current in pl.current_list():
        items.append({"kind": "current", "current_density": current,
                      "dt": pl.charge / current / pl.substeps,
                      "until": {"charge": pl.charge, "quantity": [SHORT, "above", 0.5]},
                      "label": f"{current * 0.1:.4g} mA/cm^2"})
    return Protocol.from_dicts(items, lambda dim, key, v: float(v))


def run(cfg, run):
    """Run a plating-CCD study (see the module docstring) in the lifecycle `run`."""
    from femcell.config import ConfigError

    if cfg.filament.counter_electrode is None:
        raise ConfigError("filament.counter_electrode: a plating-CCD study ends at a short; "
                          "name the electrode the metal must reach")
    restart = run.restart_checkpoint()
    domain = run.build_domain()
    cracks = cfg.fracture.cracks()
    if domain.gdim == 3 and cracks and not isinstance(cracks[0], dict):
        raise ConfigError("fracture.initial_cracks.0: in 3D the flaw must be planar ({start, "
                          "direction, length, width, span}); a segment is a needle, whose "
                          "pressure has no Griffith estimate")
    protocol = _protocol(cfg)
    physics, ctx = run.build_physics(domain, cfg.temperature)
    info = ctx.info
    ch, mech, frac, fil = (info[k] for k in ("charge", "mechanics", "fracture", "filament"))
    pl = cfg.plating
    scheme = {"alternate": None}.get(pl.scheme, pl.scheme)
    with run.timed("setup_s"):
        problem = as_config_error(lambda: StaggeredProblem(
            domain, physics, [[ch, fil], [mech], [frac]], rtol=0.0, atol=pl.tolerance,
            max_sweeps=pl.max_sweeps, run_sweeps=pl.run_sweeps, stall_sweeps=pl.stall_sweeps,
            linear_solver=cfg.solver.linear,
            petsc_options=run.petsc_options(), acceleration=scheme,
            volume_control=info["volume_control"]))
        problem.initialise()
    if run.debug:
        problem.trace = _sweep_trace(problem, fil, domain.comm)
    dt0 = pl.charge / pl.current_list()[0] / pl.substeps
    run.open_folder()
    with run.guard(problem):
        runner, integ, rows, stop, bad_input = drive_protocol(
            run, cfg, physics, problem, ch, protocol, restart, dt=dt0, max_cuts=pl.max_cuts,
            order=1, stop_on=(f"{SHORT}_above",),
            extra_row=lambda row: {"sweeps": problem.last_sweeps},
            postfix=lambda row: f"{row['label']} p={row['crack_pressure'] / 1e6:.3g} MPa "
                                f"depth={row['filament_depth'] * 1e6:.3g} um "
                                f"sweeps={row['sweeps']}")
        status, message = status_of(stop)
        steps = step_table(runner, rows, frac)
        headline = headline_of(cfg, info, rows, steps)
        if steps and steps[0]["shorted"]:
            run.warn(f"the first current step ({steps[0]['current_density_A_m2']:g} A m^-2) "
                     "shorted: the CCD is at or below it (an upper bound); start "
                     "[plating] currents lower")
        if run.write and cfg.output.plots and rows:
            run.plots(lambda: plots(cfg, run.folder, rows, steps, headline))
        summary = run.summary(
            status, message, headline,
            steps={"accepted": integ.steps, "rejected": integ.rejected, **problem.stats},
            domain=run.domain_summary(domain, problem),
            physics={p.name: p.describe() for p in physics},
            plating_steps=steps,
            citations=list(dict.fromkeys(c for p in physics for c in p.citations())))
        run.finish(summary)
        result = run.result(rows, headline, summary)
        if bad_input is not None:
            raise ConfigError(str(bad_input))
        run.raise_stop(stop)
        return result


def _sweep_trace(problem, filament, comm):
    """A per-sweep debug line (rank 0; the quantities are collective, every rank computes
    them): every 25th sweep and every sweep past max_sweeps (a running crack)."""
    def trace(sweep, change):
        if sweep % 25 and sweep <= problem.max_sweeps:
            return
        q = filament.quantities()
        if comm.rank == 0:
            print(f"  sweep {sweep}: change {change:.3g} x tol, pressure "
                  f"{q['filament_pressure'] / 1e6:.4g} MPa, depth "
                  f"{q['filament_depth'] * 1e6:.4g} um, counter damage "
                  f"{q.get('filament_counter_damage', 0.0):.3f}", flush=True)
    return trace


def step_table(runner, rows, frac) -> list[dict]:
    """Per current step: current, how it ended, filament depth and its growth, the mean
    advance of the crack front (the growth of the crack measure over the flaw's front length:
    in 3D a flaw that grows along the surface first), peak pressure and filament share (from
    the recorded rows of the step)."""
    out = []
    start = rows[0]["filament_depth"] if rows else 0.0
    front = frac.crack_shapes[0].front_length() if frac.crack_shapes else 1.0
    start_c = rows[0]["crack_length"] if rows else 0.0
    for s in runner.summaries:
        mine = [r for r in rows if s.t_start < r["t"] <= s.t_end + 1e-12 * max(s.t_end, 1.0)]
        if not mine:
            continue
        first = [r for r in rows if r["t"] <= s.t_start + 1e-12 * max(s.t_start, 1.0)]
        before = first[-1]["filament_depth"] if first else start
        before_c = first[-1]["crack_length"] if first else start_c
        out.append({
            "step": s.index, "label": s.label,
            "current_density_A_m2": mine[-1]["applied_current_density"],
            "ended_by": s.reason, "charge_C_m2": s.charge,
            "depth_growth_m": mine[-1]["filament_depth"] - before,
            "filament_depth_m": mine[-1]["filament_depth"],
            "front_advance_m": (mine[-1]["crack_length"] - before_c) / front,
            "peak_pressure_Pa": max(r["crack_pressure"] for r in mine),
            "peak_filament_share": max(r["filament_current_fraction"] for r in mine),
            "peak_tip_current_A_m2": max(r["filament_j_max"] for r in mine),
            "end_cell_voltage_V": mine[-1]["cell_voltage"],
            "end_pressure_Pa": mine[-1]["crack_pressure"],
            "flaw_open_at_end": bool(mine[-1].get("filament_open", 1.0) > 0.5),
            "shorted": bool(mine[-1].get(SHORT, 0.0) > 0.5),
            "shorted_mid_run": s.at_limit,
            "detail": s.detail})
    return out


def flaw_factor(shape) -> tuple[float, str]:
    """(Y, what) of a flaw shape: K_I = Y p sqrt(pi a). A line crack in 2D or a rectangular
    (straight-fronted) planar flaw: the edge crack's 1.12 (exact for a long flaw in plane
    strain); a semi-elliptical surface flaw: the larger Newman-Raju factor (deepest point or
    surface)."""
    from femcell import analytic_mechanics as am
    from femcell.physics.cracks import PlanarFlaw

    if isinstance(shape, PlanarFlaw) and shape.shape == "semi_elliptical":
        deep, surf, y = am.surface_crack_factor(shape.a, shape.c)
        return y, (f"Y = {y:.3g}, semi-elliptical a/c = {shape.a / shape.c:.3g} (Newman-Raju, "
                   f"a thick body: {deep:.3g} deepest, {surf:.3g} at the surface)")
    if isinstance(shape, PlanarFlaw):
        short = 2 * shape.c < 4 * shape.a
        return 1.12, ("Y = 1.12, a straight-fronted flaw (exact for width >> depth" + (
            f"; this one is {2 * shape.c / shape.a:.2g} depths wide: 1.12 overestimates K_I, "
            "the pressure is an underestimate)" if short else ")"))
    return 1.12, "Y = 1.12, edge crack"


def griffith(cfg, info) -> tuple[float, float, float, float, str]:
    """(a [m], K_IC,eff [Pa m^0.5], p_c [Pa], eta_c [V], what) of the first flaw: a its depth,
    K_IC,eff = sqrt(Gc_eff E') with E' of the cracking material, p_c = K_IC,eff / (Y
    sqrt(pi a)) + sigma_n with Y of its shape (flaw_factor) and the stack stress sigma_n that
    presses the flaw closed (fracture.stack_stress, Pa, compression > 0)."""
    from femcell import analytic_mechanics as am

    frac, fil = info["fracture"], info["filament"]
    shape = frac.crack_shapes[0]
    a = shape.depth
    y, what = flaw_factor(shape)
    el = frac.mech.materials.get(getattr(frac, "region", None)) or next(
        iter(frac.mech.materials.values()))
    e_prime = el.youngs_modulus / (1 - el.poisson_ratio ** 2)
    k_eff = float(np.sqrt(frac.effective_toughness() * e_prime))
    p_c, eta_c = am.griffith_plating_estimate(a, k_eff, molar_volume=fil.molar_volume,
                                              stack_stress=frac.stack_stress, Y=y)
    return a, k_eff, float(p_c), float(eta_c), what


def headline_of(cfg, info, rows, steps) -> dict:
    """The plating CCD, the onset current and the Griffith estimate next to them."""
    frac = info["fracture"]
    growth = cfg.plating.growth or frac.ell
    a, k_eff, p_c, eta_c, what = griffith(cfg, info)
    h = {}
    short = next((s for s in steps if s["shorted"]), None)
    grew = lambda st: max(st["depth_growth_m"], st["front_advance_m"]) > growth  # noqa: E731
    onset = next((s for s in steps if grew(s)), None)
    last = steps[-1]["current_density_A_m2"] if steps else None
    h["ccd"] = Value(short["current_density_A_m2"] if short else None, "A m^-2",
                     "plating CCD: current of the first step that shorts" + (
                         "" if short else f" (none up to {last} A m^-2)") + (
                         " (the first step: an upper bound)" if short is not None
                         and short is steps[0] else ""))
    if short is not None:
        passed = [st for st in steps if st["step"] < short["step"]]
        h["ccd_lower_bound"] = Value(
            passed[-1]["current_density_A_m2"] if passed else None, "A m^-2",
            "current of the last step that passed its charge without a short: the CCD lies "
            "between it and ccd (the current ladder's resolution; a slope fitted to ccd "
            "carries this quantisation, not only its standard error)")
        h["short_charge"] = Value(short["charge_C_m2"], "C m^-2", "charge passed in the step "
                                  "that shorted, to the end of the time step in which the "
                                  "metal reached the counter electrode" + (
                                      " (mid-run: the crack was still running)"
                                      if short["shorted_mid_run"] else ""))
    h["onset_current"] = Value(onset["current_density_A_m2"] if onset else None, "A m^-2",
                               "first step in which the broken electrolyte went deeper, or its "
                               f"crack front advanced on average, by more than {growth:.3g} m")
    h["griffith_pressure"] = Value(p_c, "Pa", f"K_IC,eff / (Y sqrt(pi a)) + stack stress, "
                                   f"a = {a:.3g} m, K_IC,eff = {k_eff / 1e6:.3g} MPa m^0.5 "
                                   f"(Gc_eff), {what}")
    h["griffith_overpotential"] = Value(eta_c, "V", "Omega p_c / F: the plating overpotential "
                                        "that makes the Griffith pressure")
    if frac.weak is not None:
        ratio = float(np.sqrt(frac.weak[1]))
        h["griffith_pressure_weak"] = Value(
            (p_c - frac.stack_stress) * ratio + frac.stack_stress, "Pa",
            f"the Griffith pressure with the weak surfaces' toughness ({ratio:.3g} K_IC,eff): "
            "a flaw that lies along them; griffith_pressure is the grains' (a flaw inside a "
            "grain that must deflect to a boundary lies between the two)")
    below = [st for st in steps if st["flaw_open_at_end"] and not grew(st)
             and (onset is None or st["step"] < onset["step"])]
    est = (below[-1]["current_density_A_m2"] * p_c / below[-1]["end_pressure_Pa"]
           if below and below[-1]["end_pressure_Pa"] > 0 else None)
    h["griffith_current"] = Value(est, "A m^-2", "current at which the saturated metal pressure "
                                  "reaches the Griffith pressure, scaled from the last step "
                                  "below onset with an open flaw (saturation pressure ~ "
                                  "current; an estimate, not a run)")
    if rows:
        pk = max(rows, key=lambda r: r["crack_pressure"])
        h["peak_pressure"] = Value(pk["crack_pressure"], "Pa", "largest metal pressure in the "
                                   "flaw")
        h["peak_pressure_over_griffith"] = Value(pk["crack_pressure"] / p_c, "",
                                                 "largest pressure / Griffith pressure")
        h["final_filament_depth"] = Value(rows[-1]["filament_depth"], "m", "how deep the broken "
                                          "electrolyte reaches from the plated interface at "
                                          "the end (damage >= 0.5)")
        h["peak_tip_current"] = Value(max(r["filament_j_max"] for r in rows), "A m^-2",
                                      "largest deposition current density on the filament")
    h["flaw_size"] = Value(a, "m", "depth of the first initial crack (the flaw)")
    ch, fil = info["charge"], info["filament"]
    T = float(ch._T.value)
    sigma = ch.effective_conductivity(ch._groups[ch.electrolyte][0], T)
    wagner = fil.base_law.charge_transfer_resistance(T) * sigma
    h["wagner_length"] = Value(wagner, "m", f"R_ct sigma of the plated interface and the "
                               f"electrolyte ({wagner / a:.3g} flaw depths): far above the flaw "
                               "depth the interface's overpotential sets the flaw's and the "
                               "Griffith a^-1/2 holds; below it the ohmic drop along the flaw "
                               "adds to it (current focusing: a steeper fall with a)")
    h["stack_stress"] = Value(frac.stack_stress, "Pa", "compressive stress normal to the flaw "
                              "plane (fracture.stack_stress): K_I = Y (p - s) sqrt(pi a)")
    return h


def plots(cfg, folder, rows, steps, headline) -> dict:
    """Crack pressure and length, current and cell voltage against time (rank 0)."""
    from femcell import plotting

    t = [r["t"] for r in rows]
    tunit = time_unit(t[-1])
    out = {}
    p_c = headline["griffith_pressure"].value
    out["plot_pressure"] = plotting.plot_time_series(
        folder / "flaw_pressure.png", t,
        {"metal pressure in the flaw [MPa]": [r["crack_pressure"] / 1e6 for r in rows],
         "Griffith pressure [MPa]": [p_c / 1e6] * len(t)},
        "pressure [MPa]", title=cfg.study.name, time_unit=tunit)
    out["plot_crack"] = plotting.plot_time_series(
        folder / "filament_length.png", t,
        {"filament depth [um]": [r["filament_depth"] * 1e6 for r in rows]},
        "depth from the plated interface [um]", title=cfg.study.name, time_unit=tunit)
    out["plot_current"] = plotting.plot_time_series(
        folder / "current.png", t,
        {"applied [mA/cm^2]": [r["applied_current_density"] * 0.1 for r in rows],
         "filament tip (peak) [mA/cm^2]": [r["filament_j_max"] * 0.1 for r in rows]},
        "current density [mA/cm^2]", title=cfg.study.name, time_unit=tunit)
    out["plot_voltage"] = plotting.plot_time_series(
        folder / "voltage.png", t, {"cell voltage [V]": [r["cell_voltage"] for r in rows]},
        "voltage [V]", title=cfg.study.name, time_unit=tunit)
    return out
