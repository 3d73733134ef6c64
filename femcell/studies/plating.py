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
the flaw: the pressure K_IC,eff / (Y sqrt(pi a)) (edge crack, Y = 1.12) and the plating
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
    protocol = _protocol(cfg)
    physics, ctx = run.build_physics(domain, cfg.temperature)
    info = ctx.info
    ch, mech, frac, fil = (info[k] for k in ("charge", "mechanics", "fracture", "filament"))
    pl = cfg.plating
    scheme = {"alternate": None}.get(pl.scheme, pl.scheme)
    with run.timed("setup_s"):
        problem = as_config_error(lambda: StaggeredProblem(
            domain, physics, [[ch, fil], [mech], [frac]], rtol=0.0, atol=pl.tolerance,
            max_sweeps=pl.max_sweeps, linear_solver=cfg.solver.linear,
            petsc_options=run.petsc_options(), acceleration=scheme,
            volume_control=info["volume_control"]))
        problem.initialise()
    dt0 = pl.charge / pl.current_list()[0] / pl.substeps
    run.open_folder()
    with run.guard(problem):
        runner, integ, rows, stop, bad_input = drive_protocol(
            run, cfg, physics, problem, ch, protocol, restart, dt=dt0, max_cuts=pl.max_cuts,
            order=1, extra_row=lambda row: {"sweeps": problem.last_sweeps},
            postfix=lambda row: f"{row['label']} p={row['crack_pressure'] / 1e6:.3g} MPa "
                                f"crack={row['crack_length'] * 1e6:.3g} um "
                                f"sweeps={row['sweeps']}")
        status, message = status_of(stop)
        steps = step_table(runner, rows, frac)
        headline = headline_of(cfg, info, rows, steps)
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


def step_table(runner, rows, frac) -> list[dict]:
    """Per current step: current, how it ended, crack growth, peak pressure and filament
    share (from the recorded rows of the step)."""
    out = []
    start_len = rows[0]["crack_length"] - 0.0 if rows else 0.0
    for s in runner.summaries:
        mine = [r for r in rows if s.t_start < r["t"] <= s.t_end + 1e-12 * max(s.t_end, 1.0)]
        if not mine:
            continue
        first = [r for r in rows if r["t"] <= s.t_start + 1e-12 * max(s.t_start, 1.0)]
        before = first[-1]["crack_length"] if first else start_len
        out.append({
            "step": s.index, "label": s.label,
            "current_density_A_m2": mine[-1]["applied_current_density"],
            "ended_by": s.reason, "charge_C_m2": s.charge,
            "crack_growth_m": mine[-1]["crack_length"] - before,
            "crack_length_m": mine[-1]["crack_length"],
            "peak_pressure_Pa": max(r["crack_pressure"] for r in mine),
            "peak_filament_share": max(r["filament_current_fraction"] for r in mine),
            "peak_tip_current_A_m2": max(r["filament_j_max"] for r in mine),
            "end_cell_voltage_V": mine[-1]["cell_voltage"],
            "end_pressure_Pa": mine[-1]["crack_pressure"],
            "flaw_open_at_end": bool(mine[-1].get("filament_open", 1.0) > 0.5),
            "shorted": bool(mine[-1].get(SHORT, 0.0) > 0.5)})
    return out


def griffith(cfg, info) -> tuple[float, float, float, float]:
    """(a [m], K_IC,eff [Pa m^0.5], p_c [Pa], eta_c [V]) of the first flaw: a the length of
    the first initial crack, K_IC,eff = sqrt(Gc_eff E') with E' of the cracking material,
    p_c = K_IC,eff / (1.12 sqrt(pi a)) + sigma_n with the stack stress sigma_n that presses
    the flaw closed (fracture.stack_stress, Pa, compression > 0)."""
    from femcell import analytic_mechanics as am

    frac, fil = info["fracture"], info["filament"]
    a = float(np.linalg.norm(np.subtract(frac.initial_cracks[0][1],
                                         frac.initial_cracks[0][0])))
    el = frac.mech.materials.get(getattr(frac, "region", None)) or next(
        iter(frac.mech.materials.values()))
    e_prime = el.youngs_modulus / (1 - el.poisson_ratio ** 2)
    k_eff = float(np.sqrt(frac.effective_toughness() * e_prime))
    p_c, eta_c = am.griffith_plating_estimate(a, k_eff, molar_volume=fil.molar_volume,
                                              stack_stress=frac.stack_stress)
    return a, k_eff, float(p_c), float(eta_c)


def headline_of(cfg, info, rows, steps) -> dict:
    """The plating CCD, the onset current and the Griffith estimate next to them."""
    frac = info["fracture"]
    growth = cfg.plating.growth or frac.ell
    a, k_eff, p_c, eta_c = griffith(cfg, info)
    h = {}
    short = next((s for s in steps if s["shorted"]), None)
    onset = next((s for s in steps if s["crack_growth_m"] > growth), None)
    last = steps[-1]["current_density_A_m2"] if steps else None
    h["ccd"] = Value(short["current_density_A_m2"] if short else None, "A m^-2",
                     "plating CCD: current of the first step that shorts" + (
                         "" if short else f" (none up to {last} A m^-2)"))
    h["onset_current"] = Value(onset["current_density_A_m2"] if onset else None, "A m^-2",
                               f"first step in which the flaw grew by more than {growth:.3g} m")
    h["griffith_pressure"] = Value(p_c, "Pa", f"K_IC,eff / (1.12 sqrt(pi a)) + stack stress, "
                                   f"a = {a:.3g} m, K_IC,eff = {k_eff / 1e6:.3g} MPa m^0.5 "
                                   "(Gc_eff)")
    h["griffith_overpotential"] = Value(eta_c, "V", "Omega p_c / F: the plating overpotential "
                                        "that makes the Griffith pressure")
    below = [st for st in steps if st["flaw_open_at_end"] and st["crack_growth_m"] <= growth
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
        h["final_crack_length"] = Value(rows[-1]["crack_length"], "m", "crack length at the end")
        h["peak_tip_current"] = Value(max(r["filament_j_max"] for r in rows), "A m^-2",
                                      "largest deposition current density on the filament")
    h["flaw_size"] = Value(a, "m", "length of the first initial crack (the flaw)")
    h["stack_stress"] = Value(frac.stack_stress, "Pa", "compressive stress normal to the flaw "
                              "plane (fracture.stack_stress): K_I = 1.12 (p - s) sqrt(pi a)")
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
        {"crack length [um]": [r["crack_length"] * 1e6 for r in rows]},
        "length [um]", title=cfg.study.name, time_unit=tunit)
    out["plot_current"] = plotting.plot_time_series(
        folder / "current.png", t,
        {"applied [mA/cm^2]": [r["applied_current_density"] * 0.1 for r in rows],
         "filament tip (peak) [mA/cm^2]": [r["filament_j_max"] * 0.1 for r in rows]},
        "current density [mA/cm^2]", title=cfg.study.name, time_unit=tunit)
    out["plot_voltage"] = plotting.plot_time_series(
        folder / "voltage.png", t, {"cell voltage [V]": [r["cell_voltage"] for r in rows]},
        "voltage [V]", title=cfg.study.name, time_unit=tunit)
    return out
