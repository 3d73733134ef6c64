"""The "ccd_ramp" kind: for every case (a named set of overrides) and temperature, a linear
stripping-current ramp of [charge] + [anode] until the interface loses contact; j_crit per
ramp (criterion of [ramp]), the metal ledger, an optional fixed-current hold (time to contact
loss), and per case the Arrhenius fit of j_crit with its standard error, printed next to the
published activation energy. Every (case, temperature) ramp is one point of a sweep
(femcell.sweep): jobs = "split" runs them as independent MPI jobs."""

from __future__ import annotations

import json
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
from femcell.studies.sweeps import set_path, slug
from femcell.units import T_REF


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
        out = type(cfg).model_validate(data)
    except ConfigError:
        raise
    except Exception as exc:  # pydantic.ValidationError or a bad key path
        raise ConfigError(validation_message(exc, where)) from None
    if getattr(out, "anode", None) is not None:  # a value its option does not read
        from femcell.sections.anode import unused_keys

        for sec in ("vacancies", "interface"):
            given = {k.split(".", 2)[2]: v for k, v in case.set.items()
                     if k.startswith(f"anode.{sec}.")}
            bad = unused_keys(sec, given, getattr(out.anode, sec).model_dump())
            if bad:
                raise ConfigError(f"{where}: anode.{sec}.{bad[0]}: {bad[1]}")
    return out


def run(cfg, run):
    """Run a CCD ramp study (see the module docstring) in the lifecycle `run`."""
    from femcell.sections.anode import parameters
    from femcell.sections.charge import conductor_of
    from femcell.sweep import SweepError, n_groups, run_points

    comm, jobs = run.comm, run.jobs
    run.restart_points()
    # each case's own settings first, then its steps refined (resolution "fine")
    case_cfgs = [case_config(run.given, case) for case in cfg.cases]
    if cfg.study.resolution == "fine":
        case_cfgs = [c.refine_steps() for c in case_cfgs]
    cites = []
    for ccfg in case_cfgs:  # bad input stops here, before any folder is written
        for T in ccfg.ramp.temperatures:  # the thermal equilibria at every temperature
            cites += list(parameters(ccfg, T)[1].citations)
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
        sens = []
        if stop is None and results:
            thick = results[0]["thickness_m"]
            for case, ccfg in zip(cfg.cases, case_cfgs, strict=True):
                sens += sensitivity(case, ccfg, thick)
        headline = headline_of(fits, results)
        if run.write and results:
            run.paths.update(run.on_root(lambda: analysis.write_ramp_table(
                run.folder / "j_crit.csv", results), share=True))
            if sens:
                run.paths.update(run.on_root(lambda: write_sensitivity(
                    run.folder / "sensitivity.csv", sens), share=True))
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
            ramps=results, arrhenius_fits=fits, sensitivity=sens,
            citations=list(dict.fromkeys(
                [cite for r, c in cfg.charge.conductors.items()
                 for cite in conductor_of(f"charge.conductors.{r}", c).all_citations()[:1]
                 + (["set by the study file"] if c.conductivity is not None
                    or c.activation_energy is not None or c.permittivity is not None else [])]
                + cites)))
        run.finish(summary)
        result = run.result(results, headline, summary)
        run.raise_stop(stop)
        return result


ATTEMPT_FREQUENCY = 1e13  # s^-1, a typical phonon frequency (model value)


def sensitivity(case, ccfg, thickness: float) -> list[dict]:
    """How the closed-form flat-interface E_A and j_crit of a case move with the inputs the
    model adds or takes as model values: the thermodynamic equilibria switched off (theta_crit,
    or x_v and theta_crit, frozen at their values at the first temperature), the formation
    energy +- 0.03 eV, the metal's surface energy x/ 1.35, the wetting angle +- 10 deg and the
    transfer barrier +- 0.01 eV (both only without an interlayer, which sets its own), and
    kappa from an attempt frequency (Gamma_s nu exp(-E_int / k_B T), no model prefactor).
    Each row: case, variant, kind ("as run", "input moved", "model prefactor replaced",
    "frozen equilibria"), the
    overrides, E_A [eV] and j_crit at the first temperature [A m^-2] (quasi-steady, transfer
    and bulk in series), or why the variant is impossible."""
    import math

    from femcell.sections.anode import closed_form
    from femcell.units import EV, K_B

    temps = list(ccfg.ramp.temperatures)
    a = ccfg.anode
    v, itf = a.vacancies, a.interface
    t0 = f"{temps[0] - 273.15:.0f} degC"
    variants = [("as run", {})]
    if v.equilibrium == "thermal":
        for sign in (-1, 1):
            variants.append((f"formation energy {sign * 0.03:+.2f} eV",
                             {"anode.vacancies.formation_energy":
                              v.formation_energy + sign * 0.03 * EV}))
    if itf.void_threshold == "wetting":
        for f in (1 / 1.35, 1.35):
            variants.append((f"surface energy x {f:.2f}",
                             {"anode.interface.surface_energy": itf.surface_energy * f}))
        if itf.interlayer is None:
            for d in (-10, 10):
                variants.append((f"wetting angle {d:+d} deg",
                                 {"anode.interface.wetting_angle":
                                  itf.wetting_angle + math.radians(d)}))
    if itf.interlayer is None:
        for d in (-0.01, 0.01):
            variants.append((f"transfer barrier {d:+.2f} eV",
                             {"anode.interface.activation_energy":
                              itf.activation_energy + d * EV}))
    # the bare barrier: an interlayer keeps the attempt prefactor (with_interlayer)
    prefactor = f"kappa = Gamma_s nu exp(-E_int / k_B T), nu = {ATTEMPT_FREQUENCY:.0e} Hz"
    variants.append((prefactor,
                     {"anode.interface.transfer_rate": itf.site_density * ATTEMPT_FREQUENCY
                      * math.exp(-itf.activation_energy / (K_B * T_REF))}))

    def fit(j):
        return (analysis.arrhenius_fit(temps, j)["activation_energy_eV"] if len(temps) > 1
                else None)

    rows = []
    base = None
    for name, sets in variants:
        row = {"case": case.name, "variant": name,
               "kind": ("as run" if not sets else "model prefactor replaced"
                        if name == prefactor else "input moved"),
               "overrides": {k: (round(x, 12) if isinstance(x, float) else x)
                             for k, x in sets.items()}}
        try:
            vcfg = case_config(ccfg, type(case)(name=case.name, set=sets),
                               where=f"sensitivity {name!r}")
            cf = [closed_form(vcfg, T, thickness) for T in temps]
        except ConfigError as exc:
            rows.append({**row, "activation_energy_eV": None, "j_crit_first_T_A_m2": None,
                         "impossible": str(exc)})
            continue
        j = [c["j_quasi_steady_A_m2"] for c in cf]
        rows.append({**row, "activation_energy_eV": fit(j), "j_crit_first_T_A_m2": j[0]})
        base = base or cf
    if base and (v.equilibrium == "thermal" or itf.void_threshold == "wetting"):
        # frozen equilibria: j = F (theta_crit - x_v) / (1 / kappa + Omega L / D_v) with the
        # driving coverage window of the first temperature, the conductances of each T
        tc0, x0 = base[0]["theta_crit"], base[0]["theta_eq"]
        for k, (name, window) in enumerate((
                (f"theta_crit frozen at its {t0} value", lambda c: tc0 - c["theta_eq"]),
                (f"x_v and theta_crit frozen at their {t0} values", lambda c: tc0 - x0))):
            row = {"case": case.name, "variant": name, "overrides": {},
                   "kind": "frozen equilibria"}
            if min(window(c) for c in base) <= 0:  # x_v(T) outgrows the frozen threshold
                row.update(activation_energy_eV=None, j_crit_first_T_A_m2=None,
                           impossible="x_v rises above the frozen theta_crit within the "
                           "ramp temperatures")
            else:
                j = [c["j_quasi_steady_A_m2"] * window(c) / (c["theta_crit"] - c["theta_eq"])
                     for c in base]
                row.update(activation_energy_eV=fit(j), j_crit_first_T_A_m2=j[0])
            rows.insert(1 + k, row)
    return rows


def headline_of(fits: dict, results: list) -> dict:
    """Per case: the fitted activation energy with its standard error (when there is a fit),
    and with several temperatures j_crit and the Damkohler number at the first one (the
    mechanism signatures a sweep compares); with one temperature, the critical currents."""
    from femcell.sections.anode import CREEP_CONTACT

    h = {}
    many_t = len({r["temperature_K"] for r in results}) > 1
    for name, f in fits.items():
        h[f"E_A[{name}]"] = Value(f["activation_energy_eV"], "eV",
                                  f"Arrhenius activation energy of j_crit, case {name}")
        h[f"E_A_se[{name}]"] = Value(f["activation_energy_se_eV"], "eV",
                                     f"standard error of E_A, case {name}")
    if results and results[0].get("contact_share") is not None:
        h["contact_share"] = Value(results[0]["contact_share"], "", "contacting share of the "
                                   "anode interface's footprint (pores take the rest)")
    firsts = {}
    for r in results:  # the first temperature of every case
        firsts.setdefault(r["case"], r)
    for r in (firsts.values() if many_t else results):
        label = (f"{r['case']}, {r['temperature_K'] - 273.15:.0f} degC" if many_t
                 else r["case"])
        h[f"j_crit[{label}]"] = Value(r["j_crit_A_m2"], "A m^-2",
                                      f"critical stripping current, {label}")
        jq, share = r.get("j_quasi_steady_A_m2"), r.get("contact_share")
        if r["j_crit_A_m2"] is not None and jq and share:
            # the flat cell's closed form (with creep closure: at the contact 0.99 the
            # closed form uses); 1 on a flat cell up to the ramp's lag, the contact share
            # with pores when the current does not focus, below it where it does
            ref = (CREEP_CONTACT * jq + r["j_creep_closure_A_m2"]
                   if r.get("j_creep_closure_A_m2") else jq)
            h[f"j_crit_per_closed_form[{label}]"] = Value(
                r["j_crit_A_m2"] / ref, "", f"j_crit / the flat cell's quasi-steady closed form "
                f"(contact share {share:.3g}), {label}")
        if many_t:
            h[f"damkohler[{label}]"] = Value(r.get("damkohler"), "", "kappa Omega L / D_v "
                                             f"(> 1: bulk-limited), {label}")
    return h


def ramp_folder(run, case, T) -> Path:
    """ramps/<case>_<T in degC>C of the run folder."""
    return run.folder / "ramps" / f"{slug(case.name, "case")}_{T - 273.15:.0f}C"


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

    def stop_charge(info):
        """The ramp's charge [C m^-2] at 1.5 x max_stripped_fraction of the anode (at most
        all of it): a j_crit after that would be left out of the fit anyway (creep can hold
        the contact between the threshold and stop_contact for a long time). A moving
        anode stops at its own cut-off instead (AnodeInterface.cutoff_events)."""
        from femcell.units import F

        return (analysis.stop_share(ccfg) * info["thickness_m"] * F
                / info["metal"].molar_volume)

    def one(step, until_contact, csv, fields, dt=dt, max_time=r.max_time):
        physics, ctx = run.build_physics(domain, T, ccfg)
        ct = ctx.info["charge"]  # the charge transport (mechanics may follow it)
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
                    quantity=("contact_fraction", "below", until_contact), time=max_time,
                    charge=stop_charge(ctx.info["anode"]) if step[0][0] == "ramp"
                    else None))]))
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
    # with a fixed anode geometry a ramp that strips much of it before j_crit is flagged and
    # left out of the fit; with a moving collector the thickness is the mesh's
    ledger["stripped_fraction_of_anode"] = ledger["stripped_thickness_m"] / limits[
        "thickness_m"]
    at_jc = analysis.stripped_fraction_at(rows, jc, limits["thickness_m"])
    excluded = None
    if limits["moving"]:
        from femcell.physics.anode import THINNEST

        if jc is None and ledger["anode_thickness_m"] <= 1.01 * THINNEST * limits[
                "thickness_m"]:
            warnings.append(f"{where}: no contact loss before the anode was used up "
                            f"({THINNEST:.0%} of its thickness left: the ramp stops there)")
    elif ledger["stripped_fraction_of_anode"] > 0.5:  # the whole ramp, j_crit or not
        warnings.append(f"{where}: the ramp stripped {ledger['stripped_fraction_of_anode']:.0%}"
                        " of the anode thickness; the model keeps the anode geometry fixed")
    if not limits["moving"] and at_jc is not None and at_jc > r.max_stripped_fraction:
        excluded = (f"stripped {at_jc:.0%} of the anode before j_crit (> "
                    f"ramp.max_stripped_fraction = {r.max_stripped_fraction:.0%}: the model "
                    "keeps the anode geometry fixed)")
    scalars = {k: v for k, v in limits.items() if isinstance(v, float)}  # regime numbers
    return {"case": case.name, "temperature_K": T, "j_crit_A_m2": jc,
            "j_crit_mA_cm2": jc * 0.1 if jc is not None else None,
            "failed_within_first_step": det["failed_at_first_step"],
            "stripped_fraction_at_j_crit": at_jc, "excluded_from_fit": excluded,
            "anode_geometry": "moving" if limits["moving"] else "fixed",
            "ramp_steps": len(rows),
            "rejected_steps": rejected, "ramp_rate_A_m2_s": rate, "regime": regime,
            "ramp_time_s": t_crit, "time_to_contact_loss_s": t_loss,
            "folder": str(sub) if write else None, "wall_s": _time.perf_counter() - t0,
            **scalars, **ledger, "warnings": warnings}


def write_sensitivity(path, rows: list[dict]) -> dict:
    """sensitivity.csv: case, variant, E_A [eV], j_crit at the first temperature [A m^-2]
    (rank 0 only). Returns {"sensitivity_table": path}."""
    import csv

    keys = ("case", "variant", "kind", "activation_energy_eV", "j_crit_first_T_A_m2",
            "impossible")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in rows:
            w.writerow(["" if r.get(k) is None else r[k] for k in keys])
    return {"sensitivity_table": path}


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
