"""The "phase_field" kind: [cahn_hilliard] from its initial state to time.end with adaptive
BDF steps (the time loop of the transient kind), optionally held coherent by [mechanics]
(swelling = true: the misfit strain of c, its stress in the chemical potential and its
strain energy in the free energy); the headline gives the free energy at the
report times and at the end, the drift of the mean concentration (conserved: round-off) and
the largest rise of the free energy over a step (none with convex splitting and backward
Euler); plots of the free energy against time (log-log) and of the final field."""

from __future__ import annotations

import numpy as np

from femcell.runs import status_of
from femcell.studies.results import Value
from femcell.studies.transient import amount_unit, finish, march, setup_problem


def run(cfg, run):
    """Run a phase-field study (see the module docstring) in the lifecycle `run`."""
    restart = run.restart_checkpoint()
    domain = run.build_domain()
    physics, _ = run.build_physics(domain, cfg.temperature)
    ch = physics[0]
    problem = setup_problem(cfg, run, domain, physics)
    tc = cfg.time
    # the first step: a hundredth of the diffusion time over the interface length
    dt0 = tc.dt if tc.dt is not None else min(tc.end / 1000.0, 1e-2 * ch.t_ref)
    run.open_folder()
    with run.guard(problem):
        rows, integ, stop = march(cfg, run, domain, physics, problem, dt0, restart,
                                  stop_times=cfg.report_times)
        status, message = status_of(stop)
        headline = headline_of(ch, rows, cfg.report_times, domain)
        headline.update(gradient_shares(ch, domain))
        rise = headline["free_energy_rise_max"].value
        if ch.scheme == "convex_splitting" and tc.scheme == "euler" and rise > 1e-9 * abs(
                rows[0]["free_energy"]):
            run.warn(f"the free energy rose by {rise:.3g} over one step with convex splitting "
                     "and backward Euler (it cannot: an unconverged or bounded solve?)")
        if run.write and cfg.output.plots and status == "completed":
            plots(run, cfg, ch, domain, rows)
        return finish(run, status, message, headline, integ, problem, physics, domain, rows,
                      stop)


def gradient_shares(ch, domain) -> dict:
    """The share of each axis in int |grad c|^2 at the end (collective): 1 along x for
    stripes whose phase boundaries are normal to x, 1 / gdim for an isotropic pattern."""
    from femcell._dolfinx import MPI, dolfinx, ufl

    g = ufl.grad(ch.field.u)
    dx = ch._dx
    comm = domain.comm
    parts = [comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(
        g[i] ** 2 * dx, entity_maps=ch.entity_maps or None)), op=MPI.SUM)
        for i in range(domain.gdim)]
    total = sum(parts)
    if not total > 0:
        return {}
    return {f"gradient_share[{'xyz'[i]}]": Value(
        parts[i] / total, "", f"share of d/d{'xyz'[i]} in int |grad c|^2 at the end (1: "
        f"phase boundaries normal to {'xyz'[i]})") for i in range(domain.gdim)}


def headline_of(ch, rows, report_times, domain) -> dict:
    """Free energy at the report times and at the end, mean concentration and its drift, the
    largest free-energy rise over a step."""
    energy_unit = {"mol": "J", "mol m^-1": "J m^-1", "mol m^-2": "J m^-2"}[amount_unit(domain)]
    t = np.array([r["t"] for r in rows])
    # with a coherency stress the free energy that never increases includes the strain's
    F = np.array([r["free_energy"] + r.get("elastic_energy", 0.0) for r in rows])
    name = ch.name
    mean = np.array([r[f"{name}_mean"] for r in rows])
    h = {"t_end": Value(float(t[-1]), "s", "time reached"),
         "free_energy_initial": Value(float(F[0]), energy_unit, "free energy at t = 0"),
         "free_energy_end": Value(float(F[-1]), energy_unit, "free energy at the end")}
    for tr in report_times:
        i = int(np.argmin(np.abs(t - tr)))
        if abs(t[i] - tr) <= 1e-9 * max(tr, 1e-300):
            h[f"free_energy[t={tr:g}s]"] = Value(float(F[i]), energy_unit,
                                                 f"free energy at t = {tr:g} s")
    if "elastic_energy" in rows[-1]:
        h["elastic_energy_end"] = Value(float(rows[-1]["elastic_energy"]), energy_unit,
                                        "strain energy of the coherency stress at the end "
                                        "(in the free energies above)")
    h["free_energy_rise_max"] = Value(float(max(np.max(np.diff(F)), 0.0)) if len(F) > 1
                                      else 0.0, energy_unit,
                                      "largest rise of the free energy over one step")
    h["mean_concentration"] = Value(float(mean[-1]), "", "mean site fraction at the end")
    h["mean_drift"] = Value(float(np.max(np.abs(mean - mean[0]))), "",
                            "largest change of the mean site fraction (conserved)")
    h["c_min"] = Value(float(rows[-1][f"{name}_min"]), "", "smallest site fraction at the end")
    h["c_max"] = Value(float(rows[-1][f"{name}_max"]), "", "largest site fraction at the end")
    return h


def plots(run, cfg, ch, domain, rows) -> None:
    """Free energy against time (log-log) and the final field (collective gather, rank 0
    draws)."""
    from femcell import plotting

    folder = run.folder
    u, factor = ch.output_fields()[ch.name]
    got = plotting.gather_p1(u, factor)  # collective, before any rank-0-only work
    t = np.array([r["t"] for r in rows])
    F = np.array([r["free_energy"] + r.get("elastic_energy", 0.0) for r in rows])

    def draw():
        keep = t > 0
        log = bool(np.all(F > 0))  # a regular solution's F is negative: linear axes
        return {"plot_free_energy": plotting.plot_xy(
                    folder / "free_energy.png", t[keep],
                    {"free energy (chemical + strain)" if "elastic_energy" in rows[-1]
                     else "free energy": F[keep]}, "t [s]",
                    "free energy [J (per depth in 2D)]", title=cfg.study.name, log=log),
                "plot_field": plotting.draw_field(
                    folder / "field.png", got, domain.tdim, "c [-]",
                    title=f"{cfg.study.name}: c at t = {t[-1]:.4g} s")}

    run.plots(draw)
