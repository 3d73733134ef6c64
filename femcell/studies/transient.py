"""The "transient" kind: [diffusion] from its initial state to time.end with adaptive BDF
steps, stopped at stoichiometry limits (located events); headline numbers with a mass
balance, and Crank's series where it applies (a sphere under one uniform flux)."""

from __future__ import annotations

import numpy as np

from femcell import interrupt
from femcell.problem import Problem
from femcell.runs import status_of
from femcell.solvers import SolverError, StepController, TimeIntegrator
from femcell.studies.lifecycle import as_config_error, time_unit
from femcell.studies.results import Value


def run(cfg, run):
    """Run a transient study (see the module docstring) in the lifecycle `run`."""
    from femcell.physics.diffusion import stoichiometry_limits

    restart = run.restart_checkpoint()
    domain = run.build_domain()
    physics, ctx = run.build_physics(domain, cfg.temperature)
    phys = physics[0]
    stefan = stefan_reference(cfg, domain, phys) if "moving_front" in ctx.info else None
    problem = setup_problem(cfg, run, domain, physics)
    tc = cfg.time
    dt0 = tc.dt if tc.dt is not None else min(tc.end / 1000.0, 1e-3 * phys.scales.time)
    run.open_folder()
    with run.guard(problem):
        rows, integ, stop = march(cfg, run, domain, physics, problem, dt0, restart,
                                  events=stoichiometry_limits(physics))
        status, message = status_of(stop)
        crank = crank_reference(cfg, domain, phys)
        headline = headline_of(phys, rows, crank, amount_unit(domain))
        if "mechanics" in ctx.info:
            headline.update(stress_headline(ctx.info["mechanics"], phys, rows,
                                            crank is not None, cfg, domain))
        if "moving_front" in ctx.info:
            headline.update(front_headline(rows, stefan))
        if run.write and cfg.output.plots and status == "completed":
            plots(run, cfg, phys, domain, rows, crank, stefan)
        return finish(run, status, message, headline, integ, problem, physics, domain, rows,
                      stop)


def setup_problem(cfg, run, domain, physics):
    """The Problem of a [time] study (timed; bad solver input is a ConfigError)."""
    with run.timed("setup_s"):
        return as_config_error(lambda: Problem(domain, physics,
                                               linear_solver=cfg.solver.linear,
                                               petsc_options=run.petsc_options()))


def march(cfg, run, domain, physics, problem, dt0: float, restart, *, events=(),
          stop_times=()):
    """The time loop of a [time] study (inside the run's guard): adaptive BDF steps from the
    initial state (or the `restart` checkpoint) to time.end, a row of quantities per step,
    fields at time.outputs evenly spaced times, checkpoints, a progress bar; a cut-off or an
    unconverged solve ends it early.

    Args:
        cfg, run: the study and its lifecycle run.
        domain, physics, problem: what the study built.
        dt0: first step [s].
        restart: the checkpoint to continue from, or None.
        events: located events (e.g. stoichiometry limits) that end the run.
        stop_times: extra times [s] the steps land on exactly (headline times).

    Returns:
        (rows, integrator, stop) with stop the exception that ended the run early
        (SolverError, Interrupted) or None.
    """
    tc = cfg.time
    ctl = StepController(dt_initial=dt0, dt_max=tc.dt_max or tc.end / 10.0,
                         adaptive=tc.adaptive, rtol=tc.rtol, atol=tc.atol,
                         order=1 if tc.scheme == "euler" else 2)
    integ = TimeIntegrator(problem, ctl)
    out_times = list(np.linspace(0.0, tc.end, tc.outputs + 1)[1:])
    next_out = [0]
    ck = run.checkpointer(problem, integ, lambda: {"rows": table.rows,
                                                   "next_output": next_out[0]})
    resume = None
    if restart is not None:
        problem.initialise()  # everything the physics set up, then the saved state
        saved = run.resume(ck, restart)
        resume = saved["integrator"]
        next_out[0] = saved["runner"]["next_output"]
    writer, table = run.begin(domain, physics, problem, initialise=restart is None)
    if restart is None:
        table.append({"t": 0.0, "dt": 0.0, "newton_its": 0, "krylov_its": 0,
                      **problem.quantities(), **run.step_timings(problem, initial=True)})
        if writer:
            writer.write(0.0)
    else:
        table.restore(saved["runner"]["rows"])
        run.step_timings(problem, initial=True)
        if writer:
            writer.write(saved["t"])  # the state the run continues from
    bar = run.progress_bar(total=tc.end, initial=integ.t, unit="s", leave=True,
                           bar_format="{desc}: {percentage:3.0f}%|{bar}| t={n:.4g}/"
                                      "{total:.4g} s [{elapsed}<{remaining}]{postfix}")

    def on_step(rec):
        row = {"t": rec["t"], "dt": rec["dt"], "newton_its": rec["newton_its"],
               "krylov_its": rec["krylov_its"], **problem.quantities(),
               **run.step_timings(problem)}
        with run.timed("io_s"):
            table.append(row)
            if writer and next_out[0] < len(out_times) and rec["t"] >= out_times[
                    next_out[0]] * (1 - 1e-12):
                writer.write(rec["t"])
                next_out[0] += 1
        if bar is not None:
            bar.set_postfix_str(f"dt={rec['dt']:.3g} s", refresh=False)
            bar.update(rec["t"] - bar.n)
        ck.after_step()
        return False

    stop = None
    landing = sorted(set(out_times) | {t for t in stop_times if 0 < t < tc.end})
    with run.timed("time_loop_s"):
        try:
            integ.run(tc.end, on_step, stop_times=landing, events=list(events),
                      restore=resume)
        except (SolverError, interrupt.Interrupted) as exc:
            stop = exc
            ck.after_stop(exc)
        finally:
            if bar is not None:
                bar.close()
            if writer:
                if stop is None and integ.t < tc.end * (1 - 1e-12):
                    writer.write(integ.t)  # the state where a cut-off stopped the run
                writer.close()
            table.close()
    run.check_options(problem)
    problem.close()
    if stop is None and integ.ended_by and integ.t < tc.end * (1 - 1e-12):
        run.warn(f"the run ended at t = {integ.t:.6g} s before time.end = {tc.end:.6g} s: "
                 f"{integ.ended_by}")
    rows = table.rows
    run.check_admissible(physics, rows)
    return rows, integ, stop


def finish(run, status, message, headline, integ, problem, physics, domain, rows, stop):
    """summary.json of a [time] study and its Result (re-raises what stopped the run)."""
    summary = run.summary(
        status, message, headline,
        steps={"accepted": integ.steps, "rejected": integ.rejected, **problem.stats},
        ended_by=integ.ended_by if status == "completed" else status,
        physics=physics[0].describe() if len(physics) == 1 else {
            p.name: p.describe() for p in physics},
        domain=run.domain_summary(
            domain, problem, volume_m3=domain.volume(),
            builder_metadata={k: v for k, v in domain.metadata.items()
                              if k != "orientations"}),
        citations=[c for p in physics for c in p.citations()])
    run.finish(summary)
    result = run.result(rows, headline, summary)
    run.raise_stop(stop)
    return result


def stress_headline(mech, phys, rows, crank_applies: bool, cfg, domain) -> dict:
    """Stresses from swelling at the end: largest von Mises stress, hoop stress range and,
    for a sphere under one uniform flux (where Crank's series applies), the surface and
    centre hoop stresses of Cheng & Verbrugge's closed form."""
    last = rows[-1]
    n = mech.name
    h = {"von_mises_max": Value(last[f"{n}_von_mises_max"], "Pa",
                                "largest von Mises stress at the end")}
    for k in last:
        if k.startswith(f"{n}_tangential_stress["):
            region = k[len(f"{n}_tangential_stress["):-1]
            h[f"hoop_stress[{region}]"] = Value(last[k], "Pa",
                                                f"mean in-surface stress on {region}")
            for end, what in (("min", "most compressive"), ("max", "most tensile")):
                key = f"{n}_tangential_stress_{end}[{region}]"
                if key in last:
                    h[f"hoop_stress_{end}[{region}]"] = Value(
                        last[key], "Pa", f"{what} in-surface stress on {region} (cells at "
                        f"the surface)")
    if f"{n}_hoop_min" in last:
        h["hoop_stress_min"] = Value(last[f"{n}_hoop_min"], "Pa", "most compressive hoop stress")
        h["hoop_stress_max"] = Value(last[f"{n}_hoop_max"], "Pa", "most tensile hoop stress")
    el = list(mech.materials.values())
    radius = _sphere_radius(domain)
    sphere = radius is not None and mech.mode in ("spherical", "3d")
    if not (sphere and len(el) == 1 and mech.concentration is not None):
        return h
    E, nu = el[0].effective_moduli()
    surf = [b.region for b in phys.bc_list]
    key = f"{phys.name}_surface[{surf[0]}]" if len(surf) == 1 else None
    from femcell.physics.mechanics import Symmetry

    free = all(isinstance(b, Symmetry) for b in mech.bc_list)
    whole = key is not None and abs(domain.area(surf[0]) - 4 * np.pi * radius**2) <= 0.1 * (
        4 * np.pi * radius**2) if mech.mode == "3d" else key is not None
    if free and whole and key in last and f"{phys.name}_mean" in last and any(
            k.startswith(f"{mech.name}_tangential_stress[") for k in last):
        # free isotropic sphere, any radial profile: sigma_tt(R) = Omega E (c_mean - c_R) /
        # (3 (1 - nu)); with the computed mean and surface concentrations this is the sphere
        # an anisotropic particle is compared with
        from femcell.analytic_mechanics import sphere_surface_hoop

        est = sphere_surface_hoop(c_mean=last[f"{phys.name}_mean"], c_surface=last[key],
                                  omega=el[0].partial_molar_volume, E=E, nu=nu)
        what = "" if el[0].isotropic else " (E, nu: Voigt-Reuss-Hill average)"
        h["sphere_hoop_surface_from_profile"] = Value(
            float(est), "Pa", "isotropic free sphere with the computed mean and surface "
            f"concentrations: Omega E (c_mean - c_R) / (3 (1 - nu)){what}")
    if not crank_applies:
        return h
    from femcell.analytic_mechanics import sphere_diffusion_stress

    R = radius
    b = phys.bc_list[0]
    q = b.value(0.0) if callable(b.value) else float(b.value)
    ref = sphere_diffusion_stress(np.array([R, 1e-9 * R]), last["t"], radius=R,
                                  diffusivity=phys.material.principal(cfg.temperature)[0],
                                  flux=q, c0=phys.initial, omega=el[0].partial_molar_volume,
                                  E=E, nu=nu)
    h["cheng_verbrugge_hoop_surface"] = Value(float(ref["sigma_tt"][0]), "Pa",
                                              "closed form, surface (free sphere, constant D)")
    h["cheng_verbrugge_hoop_centre"] = Value(float(ref["sigma_tt"][1]), "Pa",
                                             "closed form, centre")
    return h


def _sphere_radius(domain) -> float | None:
    """The radius [m] of a spherical particle geometry (a sphere, a polycrystal particle with
    equal semi-axes, a 1D spherical interval), else None."""
    meta = domain.metadata
    params = meta.get("params", {})
    if meta.get("builder") in ("sphere", "interval") and params.get("dim", 3) in (1, 3):
        if meta["builder"] == "interval" and domain.coordinates != "spherical":
            return None
        return params.get("radius")
    axes = params.get("semi_axes")
    if meta.get("builder") == "polycrystal_particle" and axes and len(axes) == 3 \
            and max(axes) - min(axes) <= 1e-9 * max(axes):
        return float(axes[0])
    return None


def crank_reference(cfg, domain, phys):
    """Crank's surface concentration c(R, t) [mol m^-3] as a function of t [s], for a sphere
    under one uniform flux with constant isotropic D (None otherwise)."""
    from femcell.physics.diffusion import Flux

    b, bcs, material = cfg.geometry.builder, phys.bc_list, phys.material
    if b not in ("interval", "sphere") or len(bcs) != 1 or not isinstance(bcs[0], Flux):
        return None
    if b == "sphere" and cfg.geometry.params.get("dim", 3) != 3:
        return None
    if b == "interval" and domain.coordinates != "spherical":
        return None
    if not (material.isotropic and material.law.linear
            and cfg.diffusion.orientation.mode in ("none", "fixed")):
        return None
    from femcell.geometry import builder_parameters

    defaults = {n: d for n, d, _ in builder_parameters(b)}
    radius = cfg.geometry.params.get("radius", defaults.get("radius"))
    D = material.principal(cfg.temperature)[0]
    q = bcs[0].value(0.0) if callable(bcs[0].value) else float(bcs[0].value)
    from femcell.analytic import crank_sphere_surface

    c0 = phys.initial
    return lambda t: crank_sphere_surface(t, radius=radius, diffusivity=D, flux=q, c0=c0)


def stefan_reference(cfg, domain, phys):
    """The one-phase Stefan similarity solution for a [moving_front] study, or None where it
    does not apply: {"position": f(t) -> distance of the front from the fixed boundary [m],
    "distance": g(row) -> the same from a row of quantities, "stefan": St, "lambda"}.

    It applies to a Cartesian domain whose front (dirichlet c_f) faces one fixed dirichlet
    boundary (c_b) across a uniform initial state, every other boundary without flux, with
    constant isotropic D and a growing domain (jump > 0): St = (c_b - c_f) / jump, s(t) =
    2 lambda sqrt(D (t + t0)), t0 putting the front at its initial distance s0 (the run
    starts from a uniform state, not the similarity profile: expect the difference to fall
    as the front moves away, about St s0 / (2 s) of s)."""
    from femcell.analytic import stefan_front, stefan_lambda
    from femcell.physics.diffusion import Dirichlet
    from femcell.sections.moving_front import dirichlet_value

    sec, material = cfg.moving_front, phys.material
    dirichlet = [b for b in phys.bc_list if isinstance(b, Dirichlet)]
    others = [b for b in phys.bc_list if not isinstance(b, Dirichlet)]
    fixed = [b.region for b in dirichlet if b.region != sec.front]
    if (domain.coordinates != "cartesian" or sec.jump <= 0 or others or len(fixed) != 1
            or fixed[0] not in sec.fixed or not (material.isotropic and material.law.linear)
            or cfg.diffusion.orientation.mode not in ("none", "fixed")):
        return None
    c_f, c_b = dirichlet_value(cfg, sec.front), dirichlet_value(cfg, fixed[0])
    st = (c_b - c_f) / sec.jump
    if not st > 0:
        return None
    from femcell._dolfinx import ufl

    x = ufl.SpatialCoordinate(domain.mesh)
    area = domain.area(fixed[0])
    base = np.array([domain.integrate(x[i] * domain.ds(fixed[0])) / area
                     for i in range(domain.gdim)])
    axes = "xyz"[:domain.gdim]

    def distance(row):
        return float(np.linalg.norm([row[f"front_position_{a}"] for a in axes] - base))

    D = material.principal(cfg.temperature)[0]
    out = {"stefan": st, "lambda": stefan_lambda(st), "distance": distance}

    def position(t, s0):
        return stefan_front(t, stefan=st, diffusivity=D, s0=s0)

    out["position"] = position
    return out


def front_headline(rows, stefan) -> dict:
    """The moving front's headline: its travel, speed and, where the similarity solution
    applies, the front position next to it."""
    last = rows[-1]
    h = {"front_area": Value(last["front_area"], "m^2", "area of the front at the end (m per "
                             "unit depth in 2D)"),
         "front_velocity": Value(last.get("front_velocity"), "m s^-1",
                                 "normal velocity of the front at the end (> 0: the domain "
                                 "grows)")}
    if stefan is None:
        return h
    s0, s = stefan["distance"](rows[0]), stefan["distance"](last)
    ref = float(stefan["position"](last["t"], s0))
    h.update({
        "front_distance": Value(s, "m", "distance of the front from the fixed boundary"),
        "front_distance_similarity": Value(ref, "m", f"2 lambda sqrt(D (t + t0)), St = "
                                           f"{stefan['stefan']:.4g}, lambda = "
                                           f"{stefan['lambda']:.5g}"),
        "front_distance_rel_error": Value(abs(s / ref - 1), "", "|front / similarity - 1| at "
                                          "the end")})
    return h


def amount_unit(domain) -> str:
    """Unit of an amount integrated over the domain: mol, or per unit depth (2D planar) or
    per unit area (1D Cartesian)."""
    if domain.coordinates != "cartesian" or domain.tdim == 3:
        return "mol"
    return {2: "mol m^-1", 1: "mol m^-2"}[domain.tdim]


def headline_of(phys, rows, crank, amount: str = "mol") -> dict:
    """The transient's headline: final state, surface values, mass balance, Crank error
    (`amount`: the unit of moles in this geometry, see `amount_unit`)."""
    last, name, cmol = rows[-1], phys.name, "mol m^-3"
    h = {"t_end": Value(last["t"], "s", "time reached"),
         "mean_concentration": Value(last[f"{name}_mean"], cmol, "mean concentration"),
         "state_of_charge": Value(last[f"{name}_mean"] / phys.material.c_max, "",
                                  "mean concentration / c_max"),
         "min_concentration": Value(last[f"{name}_min"], cmol, "minimum concentration"),
         "max_concentration": Value(last[f"{name}_max"], cmol, "maximum concentration")}
    for b in phys.bc_list:
        h[f"surface_concentration[{b.region}]"] = Value(
            last[f"{name}_surface[{b.region}]"], cmol, f"mean concentration on {b.region}")
    # mass balance: change in moles against the time-integrated boundary inflow (trapezoid
    # rule is exact for BDF1 with constant flux; otherwise a consistency indicator)
    inflow = [k for k in last if k.startswith(f"{name}_inflow[")]
    if inflow:
        t = np.array([r["t"] for r in rows])
        rate = np.sum([[r[k] for r in rows] for k in inflow], axis=0)
        added = float(np.sum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t)))
        dn = last[f"{name}_moles"] - rows[0][f"{name}_moles"]
        h["moles_added"] = Value(dn, amount, "change of the amount in the domain")
        h["mass_balance_rel_error"] = Value(abs(dn - added) / max(abs(added), 1e-300), "",
                                            "|moles added - boundary inflow| / inflow")
    if crank is not None and last["t"] > 0:
        cs = last[f"{name}_surface[{phys.bc_list[0].region}]"]
        exact = crank(last["t"])
        h["crank_surface_concentration"] = Value(exact, cmol, "Crank's series at the surface")
        h["crank_surface_rel_error"] = Value(abs(cs / exact - 1), "",
                                             "|c_surface / Crank - 1| at the end")
    return h


def plots(run, cfg, phys, domain, rows, crank, stefan=None) -> None:
    """Concentration against time and a field snapshot (collective gather, rank 0 draws);
    with a Stefan reference, the front's travel next to it (front.png)."""
    from femcell import plotting

    folder, name = run.folder, phys.name
    t = [r["t"] for r in rows]
    tunit = time_unit(t[-1])
    u, factor = phys.output_fields()[name]
    got = plotting.gather_p1(u, factor)  # collective, before any rank-0-only work

    def draw():
        out = {}
        series = {"mean": [r[f"{name}_mean"] for r in rows]}
        for k in rows[-1]:
            if k.startswith(f"{name}_surface["):
                series[k.removeprefix(f"{name}_")] = [r[k] for r in rows]
        series["max"] = [r[f"{name}_max"] for r in rows]
        series["min"] = [r[f"{name}_min"] for r in rows]
        ref = None
        if crank is not None:
            tt = np.linspace(t[-1] / 200, t[-1], 200)
            ref = {"Crank series (surface)": (tt, [crank(x) for x in tt])}
        out["plot_concentration"] = plotting.plot_time_series(
            folder / "concentration.png", t, series, "concentration [mol/m^3]",
            title=cfg.study.name, reference=ref, time_unit=tunit)
        out["plot_field"] = plotting.draw_field(
            folder / "field.png", got, domain.tdim, "c [mol/m^3]",
            title=f"{cfg.study.name}: c at t = {t[-1]:.4g} s")
        if stefan is not None:
            s0 = stefan["distance"](rows[0])
            tt = np.linspace(0.0, t[-1], 200)
            out["plot_front"] = plotting.plot_time_series(
                folder / "front.png", t, {"front (FE, ALE)": [1e6 * stefan["distance"](r)
                                                              for r in rows]},
                "front distance [um]", title=cfg.study.name, reference={
                    f"similarity, St = {stefan['stefan']:.3g}": (
                        tt, 1e6 * stefan["position"](tt, s0))}, time_unit=tunit)
        return out

    run.plots(draw)
