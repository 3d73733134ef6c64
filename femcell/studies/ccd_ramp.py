"""The "ccd_ramp" kind: for every case (a named set of overrides) and temperature, a linear
stripping-current ramp of [charge] + [anode] until the interface loses contact; j_crit per
ramp (criterion of [ramp]), the metal ledger, an optional fixed-current hold (time to contact
loss), and per case the Arrhenius fit of j_crit with its standard error, printed next to the
published activation energy. Every (case, temperature) ramp is one point of a sweep
(femcell.sweep): jobs = "split" runs them as independent MPI jobs."""

from __future__ import annotations

import json
import re
import time as _time
from pathlib import Path

from femcell import analysis, interrupt
from femcell.config import ConfigError, validation_message
from femcell.parallel import on_root
from femcell.problem import Problem
from femcell.runs import status_of
from femcell.solvers import SolverError, StepController, TimeIntegrator
from femcell.studies.lifecycle import as_config_error
from femcell.studies.results import Value
from femcell.studies.sweeps import set_path


def case_config(cfg, case, where: str | None = None):
    """The study with a case's overrides applied and validated again (ConfigError naming
    cases.<name>.set)."""
    where = where or f"cases.{case.name}.set"
    for key in case.set:
        if key.split(".")[0] == "geometry":
            raise ConfigError(f"{where}: {key}: every case runs on the same mesh; sweep the "
                              "geometry instead ([sweep])")
        if key.split(".")[0] in ("study", "cases", "sweep"):
            raise ConfigError(f"{where}: {key}: a case sets physics and ramp keys; "
                              f"[{key.split('.')[0]}] is one for the whole study")
        if key.split(".")[:2] == ["anode", "parameters"]:
            raise ConfigError(f"{where}: anode.parameters is chosen once per study (its values "
                              "are merged when the file is read); set the anode.vacancies / "
                              "anode.interface keys that differ instead")
    data = cfg.model_dump()
    try:
        for key, value in case.set.items():
            try:
                set_path(data, key, value)
            except KeyError:
                raise ConfigError(f"{where}: {key}: no such key in the study") from None
        return type(cfg).model_validate(data)
    except ConfigError:
        raise
    except Exception as exc:  # pydantic.ValidationError or a bad key path
        raise ConfigError(validation_message(exc, where)) from None


def run(cfg, run):
    """Run a CCD ramp study (see the module docstring) in the lifecycle `run`."""
    from femcell.materials import get_material
    from femcell.sections.anode import parameters
    from femcell.sweep import SweepError, n_groups, run_points

    comm, jobs = run.comm, run.jobs
    run.restart_points()
    # each case's own settings first, then its steps refined (resolution "fine")
    case_cfgs = [case_config(run.given, case) for case in cfg.cases]
    if cfg.study.resolution == "fine":
        case_cfgs = [c.refine_steps() for c in case_cfgs]
    cites = []
    for ccfg in case_cfgs:  # bad input stops here, before any folder is written
        cites += list(parameters(ccfg)[1].citations)
    points = [(c, T) for c, ccfg in enumerate(case_cfgs) for T in ccfg.ramp.temperatures]
    try:
        ng = n_groups(comm, len(points), jobs)
    except SweepError as exc:
        raise ConfigError(str(exc)) from None
    domain = run.build_domain()  # on all ranks: quality, mesh output, serial ramps
    description = domain.describe()
    run.open_folder()
    with run.guard():
        run.write_mesh(domain)
        if ng > 1:
            run.say(f"femcell: {len(points)} ramps as {ng} independent jobs")
        domains = {id(comm): domain}

        def domain_on(sub):
            if id(sub) not in domains:
                domains[id(sub)] = run.build_domain(sub, report=False)
            return domains[id(sub)]

        shown = set()

        def say_ramp(k, r):
            if k not in shown:
                shown.add(k)
                jc = r["j_crit_A_m2"]
                txt = f"{jc * 0.1:.4g} mA/cm^2" if jc is not None else "no failure"
                frac = r.get("stripped_fraction_at_j_crit")
                strip = f"; {frac:.0%} stripped" if frac is not None else ""
                out = "; NOT FITTED" if r.get("excluded_from_fit") else ""
                run.say(f"  {r['case']:20s} T = {r['temperature_K'] - 273.15:5.1f} degC  "
                        f"j_crit = {txt:16s} ({r['regime']}; {r['ramp_steps']} steps"
                        f"{strip}{out})")

        done = []  # ramps finished so far (serial runs: kept when a later ramp fails)

        inputs = run.restart_inputs()

        def work(k, point, sub):
            c, T = point
            r = done_before(run, ramp_folder(run, cfg.cases[c], T), inputs, sub)
            if r is None:
                r = ramp(run, case_cfgs[c], cfg.cases[c], T, domain_on(sub))
                save_done(run, ramp_folder(run, cfg.cases[c], T), inputs, r, sub)
            if ng == 1:  # split runs print the ramps in order once all groups are done
                say_ramp(k, r)
                done.append(r)
            return r

        stop, results = None, []
        with run.timed("ramps_s"):
            try:
                results = run_points(points, work, comm, jobs)
            except (SolverError, interrupt.Interrupted) as exc:
                stop, results = exc, list(done)
        if ng > 1:
            domains.clear()
            free_solvers(comm)
            for k, r in enumerate(results):
                say_ramp(k, r)
        for r in results:
            for w in r.pop("warnings", []):
                run.warn(w)
        fits = {}
        if stop is None:
            fits, missing = analysis.ccd_fits(cfg.cases, case_cfgs, points, results)
            for w in missing:
                run.warn(w)
        headline = headline_of(fits, results)
        if run.write and results:
            run.paths.update(run.on_root(lambda: analysis.write_ramp_table(
                run.folder / "j_crit.csv", results), share=True))
            if cfg.output.plots:
                run.plots(lambda: plots(run.folder, results, fits, cfg))
        status, message = status_of(stop)
        crit = cfg.ramp.criterion
        summary = run.summary(
            status, message, headline,
            steps={"accepted": sum(r["ramp_steps"] for r in results), "rejected": sum(
                r["rejected_steps"] for r in results), "ramps": len(results)},
            definition=(f"j_crit: the applied current density at which the contact "
                        f"criterion trips (contact fraction first below "
                        f"{cfg.ramp.threshold:g})" if crit == "contact" else
                        "j_crit: the applied current density at which the anode overpotential "
                        "leaves its linear trend by 10 %"),
            jobs={"mode": jobs, "groups": ng},
            domain={"description": description, "mesh_quality": run.quality},
            ramps=results, arrhenius_fits=fits,
            citations=list(dict.fromkeys(
                [get_material(n).all_citations()[0] for n in cfg.charge.conductors.values()]
                + cites)))
        run.finish(summary)
        result = run.result(results, headline, summary)
        run.raise_stop(stop)
        return result


def headline_of(fits: dict, results: list) -> dict:
    """Fitted activation energies (with standard errors) per case, or, with one temperature,
    the critical currents themselves."""
    h = {}
    for name, f in fits.items():
        h[f"E_A[{name}]"] = Value(f["activation_energy_eV"], "eV",
                                  f"Arrhenius activation energy of j_crit, case {name}")
        h[f"E_A_se[{name}]"] = Value(f["activation_energy_se_eV"], "eV",
                                     f"standard error of E_A, case {name}")
    if not fits:
        many_t = len({r["temperature_K"] for r in results}) > 1
        for r in results:
            label = (f"{r['case']}, {r['temperature_K'] - 273.15:.0f} degC" if many_t
                     else r["case"])
            h[f"j_crit[{label}]"] = Value(r["j_crit_A_m2"], "A m^-2",
                                          f"critical stripping current, {label}")
    return h


def ramp_folder(run, case, T) -> Path:
    """ramps/<case>_<T in degC>C of the run folder."""
    return run.folder / "ramps" / f"{slug(case.name)}_{T - 273.15:.0f}C"


def done_before(run, folder: Path, inputs: dict, comm) -> dict | None:
    """With --restart: the result of a ramp finished by an earlier segment (its
    result.json, written with the same inputs), else None (collective on comm)."""
    if not (run.restart and run.write):
        return None
    from femcell.io.checkpoint import CheckpointError, _json_default
    from femcell.studies.lifecycle import _first_difference

    def read():
        try:
            with open(folder / "result.json") as f:
                saved = json.load(f)
        except (OSError, ValueError):
            return None
        now = json.loads(json.dumps(inputs, default=_json_default))
        key = _first_difference(saved.get("inputs"), now)
        if key is not None:
            raise CheckpointError(f"--restart: {folder}: {key or 'the inputs'} differs from "
                                  "the finished ramp's result.json")
        return saved["result"]

    r = on_root(comm, read, share=True)
    if r is not None:
        run.say(f"  {r['case']:20s} T = {r['temperature_K'] - 273.15:5.1f} degC  finished "
                "before (result.json)")
    return r


def save_done(run, folder: Path, inputs: dict, result: dict, comm) -> None:
    """result.json of a finished ramp (what a restart reads instead of running it)."""
    if not run.write:
        return
    from femcell.io.summary import write_json

    on_root(comm, lambda: write_json(folder / "result.json",
                                     {"inputs": inputs, "result": result}))


def slug(text: str) -> str:
    """A folder-name-safe version of a label (letters, digits, '-', '_')."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_") or "case"


def ramp(run, ccfg, case, T, domain) -> dict:
    """One current ramp of case `case` at temperature T [K] on domain (its communicator):
    j_crit, regime, metal ledger, optional time to contact loss at a fixed current. With
    writing on, ramps/<case>_<T>C/ gets quantities.csv and the fields every field_every
    steps (and at the end)."""
    from femcell.physics.diffusion import admissibility_warnings
    from femcell.protocol import Protocol, ProtocolRunner, Step, Until

    comm, write = domain.comm, run.write
    dt, r = ccfg.ramp.dt, ccfg.ramp
    rate = r.rate * case.rate_factor
    sub = ramp_folder(run, case, T)
    if write:
        on_root(comm, lambda: sub.mkdir(parents=True, exist_ok=True))
    every = ccfg.output.field_every

    def one(step, until_contact, csv, fields, dt=dt, max_time=r.max_time):
        physics, ctx = run.build_physics(domain, T, ccfg)
        ct = physics[-1]
        problem = as_config_error(lambda: Problem(domain, physics,
                                                  linear_solver=ccfg.solver.linear))
        problem.initialise()
        integ = TimeIntegrator(problem, StepController(dt_initial=dt, adaptive=False))
        table = run.quantity_table(sub, csv, comm=comm)
        writer = run.field_writer(physics, domain, sub) if fields else None
        if writer:
            ct.refresh_outputs()
            writer.write(0.0)
        count = [0]

        def record(row):
            table.append(row)
            count[0] += 1
            if writer and count[0] % every == 0:
                ct.refresh_outputs()
                writer.write(row["t"])
            interrupt.check(comm)

        try:
            ProtocolRunner(problem, ct, integ, dt=dt, record=record).run(Protocol([
                Step(*step[0], **step[1], until=Until(
                    quantity=("contact_fraction", "below", until_contact), time=max_time))]))
        finally:
            try:
                if writer:
                    if count[0] % every:
                        ct.refresh_outputs()
                        writer.write(integ.t)  # the state at failure
                    writer.close()
                table.close()
            finally:
                problem.close()
        return (table.rows, ctx.info["anode"], admissibility_warnings(physics, table.rows),
                integ.rejected)

    t0 = _time.perf_counter()
    rows, limits, bad, rejected = one(
        (("ramp",), {"rate": rate, "label": f"{case.name}@{T:.1f}K"}), r.stop_contact,
        "quantities.csv", write and ccfg.output.fields)
    det = analysis.ccd_detection(rows, criterion=r.criterion, threshold=r.threshold,
                                 interface=limits["interface"])
    jc = det["j_crit"]
    t_loss = None
    if r.hold_current is not None:  # time to contact loss at a fixed current
        rows2, _, bad2, rej2 = one((("current",), {"current_density": r.hold_current}),
                                   r.threshold, "hold_quantities.csv", False,
                                   dt=r.hold_dt or dt, max_time=r.hold_max_time or r.max_time)
        rejected += rej2
        bad += [f"hold at {r.hold_current * 0.1:g} mA/cm^2: {w}" for w in bad2]
        t_loss = analysis.first_fall_below([0.0] + [x["t"] for x in rows2],  # contact at t=0
                                           [1.0] + [x["contact_fraction"] for x in rows2],
                                           r.threshold)
    free_solvers(comm)
    t_crit = jc / rate if jc is not None else None
    regime = analysis.ccd_regime(limits, t_crit)
    ledger = analysis.metal_ledger(rows[-1], ccfg.anode.collector)
    where = f"case {case.name!r} at {T - 273.15:.0f} degC"
    warnings = [f"{where}: {w}" for w in bad]
    if det["failed_at_first_step"]:
        warnings.append(f"{where}: contact was lost within the first step (j_crit <= "
                        f"{jc * 0.1:.4g} mA/cm^2, interpolated from t = 0); reduce ramp.dt "
                        "or the ramp rate to resolve it")
    # the anode geometry is fixed: a ramp that strips much of it before j_crit is flagged
    # and left out of the fit
    ledger["stripped_fraction_of_anode"] = ledger["stripped_thickness_m"] / limits[
        "thickness_m"]
    at_jc = analysis.stripped_fraction_at(rows, jc, limits["thickness_m"])
    excluded = None
    if ledger["stripped_fraction_of_anode"] > 0.5:  # the whole ramp, j_crit or not
        warnings.append(f"{where}: the ramp stripped {ledger['stripped_fraction_of_anode']:.0%}"
                        " of the anode thickness; the model keeps the anode geometry fixed")
    if at_jc is not None and at_jc > r.max_stripped_fraction:
        excluded = (f"stripped {at_jc:.0%} of the anode before j_crit (> "
                    f"ramp.max_stripped_fraction = {r.max_stripped_fraction:.0%}: the model "
                    "keeps the anode geometry fixed)")
    scalars = {k: v for k, v in limits.items() if isinstance(v, float)}  # regime numbers
    return {"case": case.name, "temperature_K": T, "j_crit_A_m2": jc,
            "j_crit_mA_cm2": jc * 0.1 if jc is not None else None,
            "failed_within_first_step": det["failed_at_first_step"],
            "stripped_fraction_at_j_crit": at_jc, "excluded_from_fit": excluded,
            "ramp_steps": len(rows),
            "rejected_steps": rejected, "ramp_rate_A_m2_s": rate, "regime": regime,
            "ramp_time_s": t_crit, "time_to_contact_loss_s": t_loss,
            "folder": str(sub) if write else None, "wall_s": _time.perf_counter() - t0,
            **scalars, **ledger, "warnings": warnings}


def free_solvers(comm) -> None:
    """Destroy garbage-collected PETSc objects collectively (long sweeps create many
    solvers; MPI runs out of communicator ids if they linger)."""
    import gc

    from femcell._dolfinx import PETSc

    gc.collect()
    PETSc.garbage_cleanup(comm)


def plots(folder, results, fits, cfg) -> dict:
    """The Arrhenius plot, or the per-case plot for one temperature (rank 0)."""
    from femcell import plotting

    if fits:
        crit = (f"contact fraction < {cfg.ramp.threshold:g}" if cfg.ramp.criterion == "contact"
                else "overpotential departure")
        return {"arrhenius_plot": plotting.arrhenius_plot(
            folder / "arrhenius.png", results, fits,
            f"{cfg.study.name}\nj_crit: {crit}; linear ramps, rates differ per case")}
    return {"cases_plot": plotting.ccd_cases_plot(folder / "j_crit.png", results,
                                                  cfg.study.name)}
