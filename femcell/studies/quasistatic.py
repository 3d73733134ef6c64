"""The "quasistatic" kind: [mechanics] (and [fracture]) under a load factor that rises from
0 to 1 in [loading] steps; every displacement, traction, crack pressure or injected crack
volume of the study file is multiplied by it.

With [fracture] each load step is solved by alternate minimisation (elasticity, then the
damage with its irreversibility bounds) until the sweeps converge, plain or accelerated
(over-relaxation or Anderson mixing, femcell.solvers.staggered); a step that does not converge
is cut by the time integrator (never accepted). Headlines: the peak reaction force and
crack quantities, and the closed forms that apply: Sneddon's crack volume (a pressurised
crack that does not grow), the Griffith-Sneddon volume-controlled crack and, with a
J-integral, its plateau against the effective toughness (surfing)."""

from __future__ import annotations

import numpy as np

from femcell import interrupt
from femcell.problem import Problem
from femcell.runs import status_of
from femcell.solvers import SolverError, StepController, TimeIntegrator
from femcell.solvers.staggered import StaggeredProblem
from femcell.studies.lifecycle import as_config_error
from femcell.studies.results import Value


def _load_factor(t: float) -> float:
    return t


def build_problem(cfg, domain, physics, info, petsc_options=None):
    """The Problem (mechanics alone) or the staggered fracture problem of a study."""
    ld = cfg.loading
    frac = info.get("fracture")
    if frac is None:
        return Problem(domain, physics, linear_solver=cfg.solver.linear,
                       petsc_options=petsc_options)
    mech = info["mechanics"]
    scheme = {"alternate": None}.get(ld.scheme, ld.scheme)
    return StaggeredProblem(domain, physics, [[mech], [frac]], rtol=0.0, atol=ld.tolerance,
                            max_sweeps=ld.max_sweeps, linear_solver=cfg.solver.linear,
                            petsc_options=petsc_options, acceleration=scheme,
                            relaxation=ld.relaxation, anderson_depth=ld.anderson_depth,
                            volume_control=info.get("volume_control"))


def run(cfg, run):
    """Run a quasi-static study (see the module docstring) in the lifecycle `run`."""
    if cfg.mechanics.creep:
        from femcell.config import ConfigError

        raise ConfigError("mechanics.creep: creep needs time; a quasistatic study steps a load "
                          "factor, not time (use a transient or protocol study)")
    restart = run.restart_checkpoint()
    domain = run.build_domain()
    physics, ctx = run.build_physics(domain, cfg.temperature,
                                     info={"load_factor": _load_factor})
    info = ctx.info
    frac = info.get("fracture")
    with run.timed("setup_s"):
        problem = as_config_error(lambda: build_problem(cfg, domain, physics, info,
                                                        run.petsc_options()))
    ld = cfg.loading
    dt = 1.0 / ld.steps
    ctl = StepController(dt_initial=dt, dt_max=dt, adaptive=False, max_cuts=ld.max_cuts,
                         order=1)
    integ = TimeIntegrator(problem, ctl)

    run.open_folder()
    with run.guard(problem):
        ck = run.checkpointer(problem, integ, lambda: {"rows": table.rows})
        resume = None
        if restart is not None:
            problem.initialise()
            saved = run.resume(ck, restart)
            resume = saved["integrator"]
        writer, table = run.begin(domain, physics, problem, initialise=restart is None)
        count = [0]
        if restart is None:
            table.append({"t": 0.0, "load_factor": 0.0, "sweeps": 0, "newton_its": 0,
                          **problem.quantities(), **run.step_timings(problem, initial=True)})
            if writer:
                writer.write(0.0)
        else:
            table.restore(saved["runner"]["rows"])
            run.step_timings(problem, initial=True)
        bar = run.progress_bar(total=1.0, initial=integ.t, unit="", leave=True,
                               bar_format="{desc}: {percentage:3.0f}%|{bar}| load {n:.3f} "
                                          "[{elapsed}<{remaining}]{postfix}")

        def on_step(rec):
            n_sw = getattr(problem, "last_sweeps", 1)
            row = {"t": rec["t"], "load_factor": _load_factor(rec["t"]), "sweeps": n_sw,
                   "newton_its": rec["newton_its"], **problem.quantities(),
                   **run.step_timings(problem)}
            count[0] += 1
            with run.timed("io_s"):
                table.append(row)
                if writer and (count[0] % cfg.output.field_every == 0
                               or rec["t"] >= 1 - 1e-12):
                    writer.write(rec["t"])
            if bar is not None:
                if frac is not None:
                    bar.set_postfix_str(f"sweeps={n_sw} d_max={row.get('d_max', 0):.3f}",
                                        refresh=False)
                bar.update(rec["t"] - bar.n)
            ck.after_step()
            return False

        stop = None
        with run.timed("time_loop_s"):
            try:
                integ.run(1.0, on_step, restore=resume)
            except (SolverError, interrupt.Interrupted) as exc:
                stop = exc
                ck.after_stop(exc)
            finally:
                if bar is not None:
                    bar.close()
                if writer:
                    writer.close()
                table.close()
        run.check_options(problem)
        profile = opening_profile(frac, domain) if frac is not None else None
        problem.close()
        status, message = status_of(stop)
        rows = table.rows
        headline, refs = headline_of(cfg, info, rows)
        if run.write and cfg.output.plots and status == "completed":
            plots(run, cfg, info, rows, refs, profile)
        summary = run.summary(
            status, message, headline,
            steps={"accepted": integ.steps, "rejected": integ.rejected, **problem.stats},
            ended_by=status,
            physics={p.name: p.describe() for p in physics},
            domain=run.domain_summary(domain, problem),
            citations=[c for p in physics for c in p.citations()])
        run.finish(summary)
        result = run.result(rows, headline, summary)
        run.raise_stop(stop)
        return result


def opening_profile(frac, domain, n: int = 41, m: int = 121):
    """(x [m], opening [m]) along the first initial crack of a 2D study: at each point x of
    the crack line the diffuse opening w(x) = -int u . grad d dn across the crack (the line
    integral whose area integral is the crack volume), sampled on m points either side
    (collective), or None."""
    if domain.gdim != 2 or not frac.initial_cracks:
        return None
    (x0, y0), (x1, y1) = frac.initial_cracks[0]
    t = np.array([x1 - x0, y1 - y0], float)
    length = float(np.linalg.norm(t))
    t /= length
    nrm = np.array([-t[1], t[0]])
    off = 4 * frac.ell + 2 * frac.crack_half_width  # beyond the damage (AT1 support 2 l)
    s = np.linspace(-0.75, 0.75, n) * length  # centred on the crack
    r = np.linspace(-off, off, m)
    c = 0.5 * np.array([x0 + x1, y0 + y1])
    pts = (c[None, None, :] + s[:, None, None] * t[None, None, :]
           + r[None, :, None] * nrm[None, None, :]).reshape(-1, 2)
    from femcell.plotting import sample_vector

    mech = frac.mech
    u = sample_vector(mech.field.u, pts, domain.comm)
    d = sample_vector(frac.field.u, pts, domain.comm)
    if u is None or d is None:
        return None
    un = ((u @ nrm) * mech.u_scale).reshape(n, m)
    d = d.reshape(n, m)
    # -int u_n dd/dn dn (midpoint rule on the sampled line)
    w = -np.sum(0.5 * (un[:, 1:] + un[:, :-1]) * np.diff(d, axis=1), axis=1)
    return s, w


def headline_of(cfg, info, rows):
    """Headline values and the closed-form references that apply to the study."""
    from femcell import analytic_mechanics as am

    last = rows[-1]
    h = {"load_factor_reached": Value(last["load_factor"], "", "load factor at the end")}
    refs = {}
    mech = info["mechanics"]
    name = mech.name
    planar = mech.domain.coordinates == "cartesian" and mech.domain.tdim == 2
    if "volume_control" in info:
        p = np.array([r["crack_pressure"] for r in rows])
        i = int(np.argmax(p))
        h["peak_pressure"] = Value(float(p[i]), "Pa", "largest crack pressure (under volume "
                                   "control the crack grows past it at falling pressure)")
        h["crack_length_at_peak"] = Value(rows[i]["crack_length"], "m" if planar else "m^2",
                                          "crack_length at the largest pressure")
    reactions = [k for k in last if k.startswith(f"{name}_reaction[")]
    for k in reactions:
        vals = np.array([r[k] for r in rows])
        i = int(np.argmax(np.abs(vals)))
        unit = "N m^-1" if planar else "N"
        h[f"peak_{k.removeprefix(name + '_')}"] = Value(float(vals[i]), unit,
                                                       "largest reaction force")
    frac = info.get("fracture")
    if frac is None:
        h["strain_energy"] = Value(last[f"{name}_strain_energy"], "J m^-1" if planar else "J",
                                   "elastic strain energy")
        return h, refs
    per = " per unit depth" if planar else ""
    h["toughness"] = Value(frac.gc, "J m^-2", f"Gc ({getattr(frac, 'toughness_source', '')})")
    h["effective_toughness"] = Value(frac.effective_toughness(), "J m^-2",
                                     f"Gc (1 + {'3h/(8l)' if frac.model == 'AT1' else 'h/(2l)'})"
                                     f" with h = {frac.h_min:.3g} m, l = {frac.ell:.3g} m")
    h["crack_length"] = Value(last["crack_length"], "m" if planar else "m^2",
                              "crack surface / effective toughness factor" + per)
    h["crack_volume"] = Value(last["crack_volume"], "m^2" if planar else "m^3",
                              "-int u . grad d dx" + per)
    h["d_max"] = Value(max(r["d_max"] for r in rows), "", "largest damage")
    h["d_min"] = Value(min(r["d_min"] for r in rows), "", "smallest damage")
    sw = [r["sweeps"] for r in rows[1:]]  # every step, also those before a restart
    h["mean_sweeps"] = Value(float(np.mean(sw)) if sw else 0.0, "",
                             f"alternate-minimisation sweeps per load step ({cfg.loading.scheme})")
    plateau = np.array([r["j_integral"] for r in rows if "j_integral" in r
                        and r["load_factor"] >= 0.5])
    if plateau.size:
        gce = frac.effective_toughness()
        h["j_plateau"] = Value(float(np.mean(plateau)), "J m^-2",
                               "mean G-theta (J-integral) over load factors 0.5 to 1")
        h["j_plateau_over_gc_eff"] = Value(float(np.mean(plateau)) / gce, "",
                                           "J plateau / Gc_eff (steady growth: 1)")
        h["j_spread"] = Value(float(np.ptp(plateau)) / gce, "",
                              "(max - min) of J over the plateau / Gc_eff")
        refs["j"] = (frac.gc, gce)
    el = list(mech.materials.values())
    iso2d = (mech.mode == "plane_strain" and len(el) == 1 and el[0].isotropic
             and len(frac.initial_cracks) == 1)
    if not iso2d:
        return h, refs
    E, nu = el[0].effective_moduli() if hasattr(el[0], "effective_moduli") else (
        el[0].youngs_modulus, el[0].poisson_ratio)
    (x0, y0), (x1, y1) = frac.initial_cracks[0]
    a0 = 0.5 * float(np.hypot(x1 - x0, y1 - y0))
    if "volume_control" in info:
        refs["griffith"] = (a0, E, nu, frac.effective_toughness())
        h["griffith_peak_pressure"] = Value(am.griffith_pressure(a0, E=E, nu=nu,
                                            gc=frac.effective_toughness()), "Pa",
                                            "sqrt(E' Gc_eff / (pi a0)) (Griffith-Sneddon)")
    elif frac.pressure_fn is not None:
        p = last["crack_pressure"]
        if p > 0:
            vs = am.sneddon_volume(a=a0, p=p, E=E, nu=nu)
            h["sneddon_volume"] = Value(vs, "m^2", "2 pi p a0^2 (1 - nu^2) / E (Sneddon)")
            h["volume_over_sneddon"] = Value(last["crack_volume"] / vs, "",
                                             "crack volume / Sneddon's")
            h["effective_half_length"] = Value(a0 * np.sqrt(last["crack_volume"] / vs), "m",
                                               "a with Sneddon's volume = the computed one")
            refs["sneddon"] = (a0, p, E, nu)
    return h, refs


def plots(run, cfg, info, rows, refs, profile) -> None:
    """Load-displacement / crack-volume curves and Sneddon's opening (rank 0 draws)."""
    from femcell import analytic_mechanics as am
    from femcell import plotting

    folder = run.folder
    frac = info.get("fracture")
    mech = info["mechanics"]

    def draw():
        out = {}
        lf = [r["load_factor"] for r in rows]
        reac = {k.removeprefix(f"{mech.name}_"): [r[k] for r in rows] for k in rows[-1]
                if k.startswith(f"{mech.name}_reaction[")}
        if reac:
            planar = mech.domain.coordinates == "cartesian" and mech.domain.tdim == 2
            out["plot_reaction"] = plotting.plot_xy(
                folder / "load_displacement.png", lf, reac, "load factor",
                "reaction force [N/m]" if planar else "reaction force [N]",
                title=cfg.study.name)
        if frac is not None:
            out["plot_crack"] = plotting.plot_xy(
                folder / "crack.png", lf,
                {"crack length [m]": [r["crack_length"] for r in rows]}, "load factor",
                "crack length [m]", title=cfg.study.name)
        if "j" in refs:
            gc, gce = refs["j"]
            adv = [r["crack_length"] - rows[1]["crack_length"] for r in rows[1:]]
            span = (min(adv), max(adv))
            out["plot_j"] = plotting.plot_xy(
                folder / "j_integral.png", adv, {"G-theta (J)": [r["j_integral"]
                                                                for r in rows[1:]]},
                "crack advance [m]", "energy release rate [J/m^2]", title=cfg.study.name,
                reference={"Gc": (span, (gc, gc)), "Gc_eff": (span, (gce, gce))})
        if "griffith" in refs:
            a0, E, nu, gc = refs["griffith"]
            V = [r["crack_volume"] for r in rows]
            fine = np.linspace(0.0, max(V), 200)  # the closed form as a curve, not at steps
            ref = am.griffith_sneddon_volume_control(fine, a0=a0, E=E, nu=nu, gc=gc)
            out["plot_pressure_volume"] = plotting.plot_xy(
                folder / "pressure_volume.png", V,
                {"computed": [r["crack_pressure"] for r in rows]},
                "crack volume [m^2]", "crack pressure [Pa]", title=cfg.study.name,
                reference={"Griffith-Sneddon (Gc_eff)": (fine, ref["p"])})
        if "sneddon" in refs and profile is not None:
            a0, p, E, nu = refs["sneddon"]
            s, w = profile
            out["plot_opening"] = plotting.plot_xy(
                folder / "opening_profile.png", s,
                {"computed": w, "Sneddon": am.sneddon_opening(s, a=a0, p=p, E=E, nu=nu)},
                "position along the crack [m]", "opening [m]", title=cfg.study.name)
        return out

    run.plots(draw)
