"""The "protocol" kind: an experiment ([[protocol]] steps: current, ramp, rest, hold, with
until-conditions) applied to [charge] with its couplings ([[intercalation]] particles, a
phase-separating [cahn_hilliard] particle, a voiding [anode]); fixed steps of [time] dt, cut
and retried when a solve fails."""

from __future__ import annotations

import numpy as np

from femcell import interrupt
from femcell.problem import Problem
from femcell.runs import status_of
from femcell.solvers import SolverError, StepController, TimeIntegrator
from femcell.studies.lifecycle import as_config_error, time_unit
from femcell.studies.results import Value


def check_anode_temperature(cfg, protocol) -> None:
    """A voiding [anode] whose equilibria follow the temperature (equilibrium = "thermal",
    void_threshold = "wetting") is built at [study] temperature; its sink concentration and
    void threshold are not updated within a run, so protocol steps may not change T."""
    from femcell.config import ConfigError

    ch = getattr(cfg, "cahn_hilliard", None)
    if ch is not None and ch.energy.kind == "regular_solution":
        for k, (_, step) in enumerate(protocol.steps()):
            T = step.temperature
            if T is not None and abs(T - cfg.temperature) > 1e-9:
                raise ConfigError(
                    f"protocol step {k + 1} sets temperature = {T - 273.15:.1f} degC, but the "
                    "[cahn_hilliard] free energy (R T of its regular solution) is built at the "
                    "study temperature; run each temperature as its own study")
    a = getattr(cfg, "anode", None)
    if a is None or (a.vacancies.equilibrium == "fixed" and a.interface.void_threshold ==
                     "fixed"):
        return
    for k, (_, step) in enumerate(protocol.steps()):
        T = step.temperature
        if T is not None and abs(T - cfg.temperature) > 1e-9:
            raise ConfigError(
                f"protocol step {k + 1} sets temperature = {T - 273.15:.1f} degC, but the "
                f"[anode] vacancy equilibria (anode.vacancies.equilibrium = "
                f"{a.vacancies.equilibrium!r}, anode.interface.void_threshold = "
                f"{a.interface.void_threshold!r}) are fixed at the study temperature; run each "
                "temperature as its own study, or set both to \"fixed\"")


def run(cfg, run):
    """Run a protocol study (see the module docstring) in the lifecycle `run`."""
    from femcell.config import ConfigError
    from femcell.protocol import Protocol
    from femcell.units import to_si

    restart = run.restart_checkpoint()
    domain = run.build_domain()
    protocol = as_config_error(lambda: Protocol.from_dicts(
        cfg.protocol, lambda dim, key, v: to_si(v, dim, name=key)))
    check_anode_temperature(cfg, protocol)
    physics, ctx = run.build_physics(domain, cfg.temperature)
    phys = ctx.info["charge"]  # the charge transport (built after what it collects from)
    with run.timed("setup_s"):
        problem = as_config_error(lambda: Problem(domain, physics,
                                                  linear_solver=cfg.solver.linear,
                                                  petsc_options=run.petsc_options()))
        problem.initialise()  # the quantities it records, checked before anything runs
        as_config_error(lambda: protocol.check_quantities(problem.quantities()))
    ch = ctx.info.get("cahn_hilliard")
    snaps = Snapshots(ch, run.write and cfg.output.plots) if ch is not None else None
    eis = None
    if any(step.kind == "impedance" for _, step in protocol.steps()):
        from femcell.studies.impedance import Measurements

        eis = as_config_error(lambda: Measurements(
            cfg, problem, phys, ctx.info.get("particles", []), cfg.anode and cfg.anode.region,
            timed=run.timed))
    elif cfg.impedance is not None:
        raise ConfigError("impedance: the protocol has no impedance step (add "
                          "{ kind = \"impedance\" } where a spectrum is to be measured)")
    for w in eis.warnings if eis is not None else ():
        run.warn(w)
    run.open_folder()
    with run.guard(problem):
        try:
            runner, integ, rows, stop, bad_input = drive_protocol(
                run, cfg, physics, problem, phys, protocol, restart, dt=cfg.time.dt,
                rise_time=cfg.time.rise_time, max_cuts=cfg.time.max_cuts,
                postfix=lambda row: f"t={row['t']:.4g} s V={row['cell_voltage']:.4g} V "
                                    f"[{row['label']}]",
                extra_row=snaps.row if snaps is not None else None, measure=eis)
        finally:
            if eis is not None:
                eis.close()
        status, message = status_of(stop)
        steps = [{"index": s.index, "label": s.label, "kind": s.kind, "cycle": s.cycle,
                  "t_start_s": s.t_start, "t_end_s": s.t_end, "ended_by": s.reason,
                  "charge_C_m2": s.charge,
                  "end_cell_voltage_V": s.end_quantities.get("cell_voltage"),
                  "end_current_density_A_m2": s.end_quantities.get("current_density")}
                 for s in runner.summaries]
        for s in runner.summaries:
            if s.reason == "stoichiometry limit":
                run.warn(f"protocol step {s.index} ({s.label}) and the protocol ended at the "
                         f"{s.detail or s.reason}")
        run.check_admissible(physics, rows)
        particles = ctx.info.get("particles", []) + ([ch] if ch is not None else [])
        headline = headline_of(phys, particles, cfg.anode and cfg.anode.region, rows, runner,
                               integ)
        if run.write and cfg.output.plots and rows:
            run.plots(lambda: plots(cfg, phys, run.folder, rows))
            if snaps is not None:
                run.plots(lambda: snaps.plots(cfg, run.folder, rows))
        extra = {}
        if eis is not None and eis.records:
            extra["impedance_measurements"] = eis.summary()
            headline.update(eis.headline())
            if run.write:
                with run.timed("io_s"):
                    table = run.quantity_table(name="impedance.csv")
                    for r in eis.table_rows():
                        table.append(r)
                    table.close()
                if cfg.output.plots:
                    run.plots(lambda: eis.plot(run.folder, cfg.study.name))
        summary = run.summary(
            status, message, headline,
            steps={"accepted": integ.steps, "rejected": integ.rejected, **problem.stats},
            domain=run.domain_summary(domain, problem),
            protocol_steps=steps, ended_by=runner.ended_by, **extra,
            citations=list(dict.fromkeys(c for p in physics for c in p.citations())))
        run.finish(summary)
        result = run.result(rows, headline, summary)
        if bad_input is not None:
            raise ConfigError(str(bad_input))
        run.raise_stop(stop)
        return result


def drive_protocol(run, cfg, physics, problem, charge, protocol, restart, *, dt: float,
                   rise_time: float = 0.0, max_cuts: int = 10, order: int = 2, postfix=None,
                   extra_row=None, stop_on: tuple[str, ...] = (), measure=None):
    """Run `protocol` on `problem` inside an opened run folder and its guard: fixed steps
    of dt [s] (a failed step is cut, at most `max_cuts` times), checkpoints and restarts,
    the quantities table, field output every [output] field_every rows, the progress bar
    (`postfix(row)` its text) and `extra_row(row)` entries added to each row; a step that
    ends for a reason in `stop_on` ends the protocol (ProtocolRunner); `measure` takes its
    impedance steps (studies.impedance.Measurements, kept in checkpoints). `restart`:
    the checkpoint to continue from (run.restart_checkpoint()) or None. Closes the problem.

    Returns:
        (ProtocolRunner, TimeIntegrator, rows, what stopped the run or None, the
        ProtocolError when it was bad input or None).
    """
    from femcell.protocol import ProtocolError, ProtocolRunner

    integ = TimeIntegrator(problem, StepController(
        dt_initial=dt, adaptive=False, max_cuts=max_cuts, order=order,
        regrow=getattr(getattr(cfg, "time", None), "regrow", None)))
    count, every = [0], cfg.output.field_every
    runner = ProtocolRunner(problem, charge, integ, dt=dt, rise_time=rise_time,
                            stop_on=stop_on, measure=measure)
    ck = run.checkpointer(problem, integ, lambda: {
        "rows": table.rows, "count": count[0], "protocol": runner.checkpoint_state(),
        "impedance": measure.records if measure is not None else []})
    resume = None
    if restart is not None:
        saved = run.resume(ck, restart)
        resume = (saved["runner"]["protocol"], saved["integrator"])
        count[0] = saved["runner"]["count"]
        if measure is not None:
            measure.restore(saved["runner"].get("impedance", []))
    writer, table = run.begin(problem.domain, physics, problem, initialise=False)
    if resume is not None:
        table.restore(saved["runner"]["rows"])
    run.step_timings(problem, initial=True)
    bar = run.progress_bar(unit=" steps", initial=count[0])

    def write_fields(t):
        for p in physics:
            p.refresh_outputs()
        writer.write(t)

    if writer:  # the initial state, or the one the run continues from
        write_fields(saved["t"] if resume is not None else integ.t)

    def record(row):
        if extra_row is not None:
            row.update(extra_row(row))
        row.update(run.step_timings(problem))
        with run.timed("io_s"):
            table.append(row)
            count[0] += 1
            if writer and count[0] % every == 0:
                write_fields(row["t"])
        if bar is not None:
            if postfix is not None:
                bar.set_postfix_str(postfix(row), refresh=False)
            bar.update(1)

    runner.record, runner.after_step = record, ck.after_step
    stop, bad_input = None, None
    with run.timed("time_loop_s"):
        try:
            runner.run(protocol, resume)
        except (SolverError, interrupt.Interrupted) as exc:
            stop = exc
            ck.after_stop(exc)
        except ProtocolError as exc:  # found while running (e.g. an unknown quantity)
            stop, bad_input = exc, exc
        finally:
            if writer:
                if count[0] % every:
                    write_fields(integ.t)  # the last state, unless just written
                writer.close()
            if bar is not None:
                bar.close()
            table.close()
    run.check_options(problem)
    problem.close()
    return runner, integ, table.rows, stop, bad_input


def headline_of(phys, particles, anode, rows, runner, integ) -> dict:
    """Final voltage, peak currents, contact fractions of metal electrodes, particle filling
    (`particles`: [[intercalation]] Diffusion and [cahn_hilliard] particles), and (cells
    without particles) the area-specific resistance of the last current step."""
    newton = [rec["newton_its"] for rec in integ.log]
    h = {"steps_completed": Value(len(runner.summaries), "", "protocol steps completed"),
         "final_cell_voltage": Value(rows[-1]["cell_voltage"] if rows else None, "V",
                                     "cell voltage at the end"),
         "max_newton_its_per_step": Value(max(newton) if newton else 0, "",
                                          "most Newton iterations of one step"),
         "rejected_steps": Value(integ.rejected, "", "steps cut and retried")}
    regions = {p.region for p in particles}
    for name in phys.j_expr:
        if not rows:
            continue
        h[f"peak_current_density[{name}]"] = Value(
            max(r[f"j_max[{name}]"] for r in rows), "A m^-2",
            f"largest local current density on {name}")
        if name.split("|")[0] not in regions and name.split("|")[0] != anode:
            # metal electrodes without [anode]: the geometric contact (voids in the mesh)
            h[f"contact_fraction[{name}]"] = Value(
                phys._areas[name] / phys._cc_area, "",
                f"{name} area / current collector area (voids in the mesh)")
    if rows and anode is not None:  # a voiding anode ([anode])
        h[f"final_contact_fraction[{anode}]"] = Value(
            rows[-1]["contact_fraction"], "", "fraction of the anode interface still in contact")
    for p in particles:  # intercalation particles: final mean filling
        if rows and hasattr(p, "material"):
            h[f"final_stoichiometry[{p.region}]"] = Value(
                rows[-1][f"{p.name}_mean"] / p.material.c_max, "",
                f"mean filling of {p.region} at the end")
        elif rows:  # a Cahn-Hilliard particle (its field is the site fraction)
            h.update(phase_field_headline(p, rows))
    cc_steps = [s for s in runner.summaries if s.kind == "current"
                and s.end_quantities.get("current_density")]
    if cc_steps and not particles:  # ASR (cells without an open-circuit voltage)
        q = cc_steps[-1].end_quantities
        h["asr"] = Value(q["cell_voltage"] / q["current_density"], "ohm m^2",
                         "area-specific resistance at the end of the last current step")
        gb = phys.grain_boundaries
        if gb is not None:  # the series split of the electrolyte's share
            h[f"asr_grains[{gb.region}]"] = Value(
                q[f"ohmic_drop[{gb.region}]"] / q["current_density"], "ohm m^2",
                f"ohmic drop in the grains of {gb.region} / current density (same step)")
            h[f"asr_boundaries[{gb.facets}]"] = Value(
                q[f"ohmic_drop[{gb.facets}]"] / q["current_density"], "ohm m^2",
                f"ohmic drop across {gb.facets} / current density (same step)")
        for name in phys.j_expr:
            h[f"peak_to_mean_current[{name}]"] = Value(
                q[f"j_max[{name}]"] / abs(q[f"j_mean[{name}]"]), "",
                f"current crowding on {name} (peak / mean)")
    return h


class Snapshots:
    """The field of a [cahn_hilliard] particle when its mean filling first passes 0.25, 0.5
    and 0.75 (gathered collectively from `extra_row`, kept on rank 0; 2D triangle meshes; a
    restarted run draws the fillings it passes after the restart), and the plots of a
    phase-separating particle: voltage against filling next to the homogeneous open-circuit
    curve E0 - mu(x) / F, and the snapshots."""

    TARGETS = (0.25, 0.5, 0.75)

    def __init__(self, ch, enabled: bool):
        from femcell._dolfinx import dolfinx

        self.ch, self.got, self._x0 = ch, [], None
        topology = ch.field.u.function_space.mesh.topology  # 2D triangles: contour plots
        self.enabled = enabled and topology.cell_type == dolfinx.mesh.CellType.triangle

    def row(self, row) -> dict:
        """Called for each recorded row on every rank (the same rows everywhere)."""
        from femcell import plotting

        x = row[f"{self.ch.name}_mean"]
        if self._x0 is None:
            self._x0 = x
        done = {t for t, _, _ in self.got}
        for target in self.TARGETS:
            crossed = (self._x0 - target) * (x - target) <= 0
            if self.enabled and target not in done and crossed:
                g = plotting.gather_p1(self.ch.field.u)  # collective
                self.got.append((target, row["t"], g))
        return {}

    def plots(self, cfg, folder, rows) -> dict:
        """Rank 0: voltage_filling.png (the cell voltage against filling) and the snapshots
        (c_snapshots.png)."""
        from femcell import plotting

        ch = self.ch
        out = {}
        x = [r[f"{ch.name}_mean"] for r in rows]
        refs = {}
        if ch.reaction is not None:  # a protocol's particle always has one
            xs = np.linspace(0.005, 0.995, 199)
            refs["homogeneous open circuit E0 - mu(x)/F"] = (xs, ch.homogeneous_potential(xs))
        out["plot_voltage_filling"] = plotting.plot_xy(
            folder / "voltage_filling.png", x, {"cell voltage": [r["cell_voltage"]
                                                                 for r in rows]},
            f"mean filling of {ch.region or 'the particle'} [-]", "voltage [V]",
            title=cfg.study.name, reference=refs)
        if self.got and all(g is not None for _, _, g in self.got):
            out["plot_snapshots"] = plotting.draw_snapshots(
                folder / "c_snapshots.png",
                [(f"x = {x:.2f} (t = {t:.4g} s)", g) for x, t, g in self.got],
                "c [-]", title=cfg.study.name)
        return out


def phase_field_headline(ch, rows) -> dict:
    """Filling and phase separation of a [cahn_hilliard] particle: final mean filling, the
    cell voltage at half filling, the filling at which it separated, the widest spread of c
    within it (max - min: ~0 for a particle that fills uniformly) and the filling at which it
    was widest."""
    name = ch.name
    spread = [r[f"{name}_max"] - r[f"{name}_min"] for r in rows]
    i = max(range(len(rows)), key=spread.__getitem__)
    region = ch.region or "mesh"
    x = np.array([r[f"{name}_mean"] for r in rows])
    v = np.array([r["cell_voltage"] for r in rows])
    k = np.flatnonzero(np.diff(np.sign(x - 0.5)))  # first crossing of half filling
    v_half = None
    if k.size:
        j = int(k[0])
        v_half = float(v[j] + (v[j + 1] - v[j]) * (0.5 - x[j]) / (x[j + 1] - x[j]))
    return {f"final_stoichiometry[{region}]": Value(rows[-1][f"{name}_mean"], "",
                                                    f"mean filling of {region} at the end"),
            f"voltage_at_half_filling[{region}]": Value(
                v_half, "V", "cell voltage when the mean filling first passed 0.5"),
            f"filling_at_separation[{region}]": Value(
                next((float(xi) for xi, sp in zip(x, spread, strict=True) if sp > 0.5), None),
                "", "mean filling when c_max - c_min first exceeded 0.5 (None: it never "
                "separated)"),
            f"max_phase_contrast[{region}]": Value(
                spread[i], "", "largest c_max - c_min within the particle (phase separation)"),
            f"stoichiometry_at_max_contrast[{region}]": Value(
                rows[i][f"{name}_mean"], "", "mean filling when the contrast was largest"),
            **coherency_shift(name, region, rows, x)}


def coherency_shift(name, region, rows, x) -> dict:
    """With a coherency stress: -(1/F) dE_el/dn over the fillings 0.25-0.75 reached (a
    linear fit of the strain energy against the moles of Li in the particle), the shift of
    the two-phase plateau that the stored strain energy implies (mu_el = dE_el/dn), to set
    next to the same study without the misfit."""
    from femcell.units import F

    if not rows or "elastic_energy" not in rows[0] or f"{name}_moles" not in rows[0]:
        return {}
    sel = (x >= 0.25) & (x <= 0.75)
    shift = None
    if np.count_nonzero(sel) >= 3:
        n = np.array([r[f"{name}_moles"] for r in rows])[sel]
        e = np.array([r["elastic_energy"] for r in rows])[sel]
        if np.ptp(n) > 0:
            shift = -float(np.polyfit(n, e, 1)[0]) / F
    return {f"coherency_voltage_shift[{region}]": Value(
        shift, "V", "-(1/F) dE_el/dn_Li over the mean fillings 0.25-0.75 reached: the "
        "plateau shift the strain energy implies (None: fewer than 3 states there)")}


def plots(cfg, phys, folder, rows) -> dict:
    """Voltage and current-density plots (rank 0)."""
    from femcell import plotting

    out = {}
    t = [r["t"] for r in rows]
    tunit = time_unit(t[-1])
    out["plot_voltage"] = plotting.plot_time_series(
        folder / "voltage.png", t, {"cell voltage": [r["cell_voltage"] for r in rows]},
        "voltage [V]", title=cfg.study.name, time_unit=tunit)
    series = {"applied": [r["applied_current_density"] * 0.1 for r in rows]}
    for name in phys.j_expr:
        series[f"mean {name}"] = [abs(r[f"j_mean[{name}]"]) * 0.1 for r in rows]
        series[f"peak {name}"] = [r[f"j_max[{name}]"] * 0.1 for r in rows]
    out["plot_current"] = plotting.plot_time_series(
        folder / "current_density.png", t, series, "current density [mA/cm^2]",
        title=cfg.study.name, time_unit=tunit)
    return out
