"""Run a study: config -> Domain -> material -> physics -> Problem -> time loop -> outputs.

`run_study` is the public entry point used by the CLI and by Python users alike.
"""

from __future__ import annotations

import copy
import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from femcell import interrupt
from femcell._dolfinx import MPI
from femcell.config import ConfigError, StudyConfig
from femcell.domain import Domain, RegionError
from femcell.materials import core as mcore
from femcell.materials import get_material, rotation_from_euler
from femcell.materials.core import MaterialError
from femcell.parallel import on_root
from femcell.physics.diffusion import (
    Diffusion,
    Dirichlet,
    Flux,
    Robin,
    admissibility_warnings,
    stoichiometry_limits,
)
from femcell.problem import Problem
from femcell.runs import Run, bad_input_errors, status_of
from femcell.solvers import SolverError, StepController, TimeIntegrator


@dataclass
class Result:
    """What a study produced.

    Attributes:
        name: study name.
        folder: run folder (None when nothing was written).
        quantities: one dict of SI quantities per accepted step (all ranks).
        headline: the headline numbers (SI).
        summary: the summary.json content.
        paths: written files by kind.
    """

    name: str
    folder: Path | None
    quantities: list[dict]
    headline: dict
    summary: dict
    paths: dict = field(default_factory=dict)

    def column(self, key: str) -> np.ndarray:
        return np.array([row[key] for row in self.quantities])


# ---------------------------------------------------------------------------- builders
def build_domain(cfg: StudyConfig, comm=MPI.COMM_WORLD, base_dir: Path | None = None) -> Domain:
    g = cfg.geometry
    if g.builder is not None:
        return Domain.from_builder(g.builder, comm, coordinates=g.coordinates, **g.params)
    path = Path(g.file)
    if not path.is_absolute() and base_dir is not None and not path.exists():
        path = base_dir / path
    return Domain.from_file(path, comm, coordinates=g.coordinates, h=g.h, order=g.order)


def build_material(cfg: StudyConfig) -> mcore.IntercalationMaterial:
    m = cfg.material
    mat = get_material(m.name)
    over = {}
    if m.c_max is not None:
        over["c_max"] = m.c_max
    if m.diffusivity is not None or m.activation_energy is not None:
        d = m.diffusivity
        vals = [x.value_ref for x in mat.diffusivity] if d is None else (
            list(d) if isinstance(d, list) else [d])
        if len(vals) not in (1, 3):
            raise ConfigError("material.diffusivity: give 1 or 3 principal values")
        ea = [x.activation_energy for x in mat.diffusivity]
        if m.activation_energy is not None:
            ea = [m.activation_energy]
        ea = ea * 3 if len(ea) == 1 and len(vals) == 3 else ea
        ea = ea[:1] if len(vals) == 1 else ea
        cite = "set by the study file"
        over["diffusivity"] = tuple(mcore.Arrhenius(v, e, citation=cite)
                                    for v, e in zip(vals, ea, strict=False))
    if m.law is not None:
        kw = {k: v for k, v in m.law.model_dump().items() if v is not None and k != "name"}
        for k in ("theta", "values"):
            if k in kw:
                kw[k] = tuple(kw[k])
        try:
            over["law"] = mcore.LAWS[m.law.name](**kw)
        except TypeError:
            import inspect

            allowed = [k for k in inspect.signature(mcore.LAWS[m.law.name]).parameters]
            bad = [k for k in kw if k not in allowed]
            raise ConfigError(f"material.law: {', '.join(repr(b) for b in bad)} does not apply "
                              f"to law '{m.law.name}' (its parameters: "
                              f"{', '.join(allowed) or 'none'})") from None
    return get_material(m.name, **over) if over else mat


def build_orientations(cfg: StudyConfig, domain: Domain):
    """None, one rotation, or {grain group: rotation} as the study asks."""
    o = cfg.orientation
    if o.mode == "none":
        return None
    if o.mode == "fixed":
        if not o.euler_deg:
            raise ConfigError("orientation.euler_deg: needed for mode = 'fixed'")
        return rotation_from_euler(np.radians(o.euler_deg))
    groups = [g for r in _top_regions(domain) for g in domain.grains(r)]
    if o.mode == "mesh":
        ori = domain.metadata.get("orientations")
        if not ori:
            raise ConfigError("orientation.mode = 'mesh': the geometry carries no grain "
                              "orientations (use a polycrystal builder or mode = 'random')")
        return {g: rotation_from_euler(ori[g]) for g in groups if g in ori}
    from scipy.spatial.transform import Rotation

    mats = Rotation.random(len(groups), random_state=o.seed).as_matrix()
    return dict(zip(sorted(groups), mats, strict=True))


def _top_regions(domain: Domain) -> list[str]:
    return sorted({r.split(".")[0] for r in domain.cell_regions})


def build_bcs(cfg: StudyConfig, material, domain: Domain) -> list:
    out = []
    for i, b in enumerate(cfg.boundary):
        if b.region not in domain.facet_regions:
            raise ConfigError(f"boundary.{i}.region: unknown facet region {b.region!r}; known "
                              f"facet regions: {', '.join(domain.facet_regions) or '(none)'}")
        if b.type == "current":
            if b.c_rate is not None:
                # C-rate: fills the region's capacity c_max V in 1/C hours through this area
                q = b.c_rate * material.c_max * domain.volume() / (domain.area(b.region) * 3600)
                out.append(Flux(b.region, q))
            else:
                out.append(Flux.from_current(b.region, b.current_density))
        elif b.type == "flux":
            out.append(Flux(b.region, b.flux))
        elif b.type == "dirichlet":
            out.append(Dirichlet(b.region, b.concentration))
        else:
            out.append(Robin(b.region, b.transfer_coefficient, b.concentration))
    return out


# ---------------------------------------------------------------------------- runner
def _field_writer(run: Run, physics: list, fields: bool, domain: Domain):
    """The field time-series writer of a run folder (None when fields are off)."""
    if not (run.write and fields):
        return None
    writer = _open_fields(run.comm, run.folder, physics, domain)
    for p in writer.paths:
        run.paths[f"fields:{p.name}"] = p
    return writer


def _open_fields(comm, folder: Path, physics: list, domain: Domain):
    """FieldWriter for every output field of `physics` (one VTKHDF file per mesh)."""
    from femcell import io as fio

    outputs = {}
    for p in physics:
        outputs.update(p.output_fields())
    return fio.FieldWriter(comm, folder, outputs, domain=domain)


def _quantity_table(run: Run, folder: Path | None = None, name: str = "quantities.csv"):
    from femcell import io as fio

    path = (folder or run.folder) / name if run.write else None
    if path is not None and folder is None:
        run.paths["quantities"] = path
    return fio.QuantityTable(run.comm, path)


def _progress_bar(run: Run, **kw):
    """A tqdm bar on rank 0 when progress is on (None elsewhere)."""
    if not (run.progress and run.rank0):
        return None
    from tqdm import tqdm

    return tqdm(desc=run.name, mininterval=0.5, **kw)


def _build(run: Run, fn):
    """Build domain / physics with user errors (regions, materials) as ConfigError."""
    try:
        return fn()
    except (RegionError, MaterialError) as exc:
        raise ConfigError(str(exc)) from None


def _check_admissible(run: Run, physics: list, rows: list[dict]) -> None:
    """Warnings for physically impossible recorded results (negative concentrations,
    overshoots, states on the kinetics' overflow continuation)."""
    for w in admissibility_warnings(physics, rows):
        run.warn(w)


def _diffusion_options(cfg) -> dict:
    """Diffusion keywords from [solver] (mass lumping, bounds)."""
    opts = {}
    for key in ("mass_lumping", "bounds"):
        value = getattr(cfg.solver, key, None)
        if value is not None:
            opts[key] = value
    return opts


def run_study(cfg: StudyConfig, output: str | Path | None = None, *, comm=MPI.COMM_WORLD,
              progress: bool = True, write: bool = True, source: str | None = None,
              jobs: str | int = "serial") -> Result:
    """Run a study (diffusion, or a cell study for physics = "charge") and write its folder.

    Args:
        cfg: validated study configuration.
        output: run folder (default runs/<study name>); ignored when write is False.
        comm: MPI communicator.
        progress: show progress on rank 0 (every rank runs the same code either way).
        write: write fields, tables, plots and summary.json.
        source: path of the study file (recorded in the summary).
        jobs: for studies made of independent runs (CCD ramps): "serial" or "split" (one
            group of ranks per run, femcell.sweep); a single-run study uses all ranks.

    Raises:
        ConfigError: bad input discovered while building (unknown region, material...).
        SolverError: no convergence after the allowed step cuts (summary status failed).
        Interrupted: SIGINT / SIGTERM on any rank (summary status interrupted).
    """
    with interrupt.handling():
        if cfg.study.physics == "charge":
            return run_cell_study(cfg, output, comm=comm, progress=progress, write=write,
                                  source=source)
        if cfg.study.physics == "ccd":
            return run_ccd_study(cfg, output, comm=comm, progress=progress, write=write,
                                 source=source, jobs=jobs)
        return _run_diffusion_study(cfg, output, comm=comm, progress=progress, write=write,
                                    source=source)


def _run_diffusion_study(cfg, output, *, comm, progress, write, source) -> Result:
    run = Run(cfg, output, comm, progress=progress, write=write, source=source,
              kind="diffusion")
    base_dir = Path(source).parent if source else None
    with run.timed("mesh_s"):
        domain = _build(run, lambda: build_domain(cfg, comm, base_dir))
    quality = domain.quality()
    run.say(domain.quality_line(quality))
    material = _build(run, lambda: build_material(cfg))
    material.law.check(cfg.temperature)
    orient = build_orientations(cfg, domain)
    bcs = build_bcs(cfg, material, domain)
    c0 = (cfg.initial.concentration if cfg.initial.concentration is not None
          else cfg.initial.stoichiometry * material.c_max)
    if c0 > material.c_max:
        raise ConfigError(f"initial.concentration: {c0:g} mol/m^3 exceeds c_max = "
                          f"{material.c_max:g} mol/m^3 of {material.name}")
    with run.timed("setup_s"):
        physics = _build(run, lambda: Diffusion(
            material, bcs, initial=c0, temperature=cfg.temperature, orientations=orient,
            degree=cfg.solver.degree, **_diffusion_options(cfg)))
        problem = Problem(domain, [physics], linear_solver=cfg.solver.linear)

    tc = cfg.time
    t_ref = physics.scales.time
    dt0 = tc.dt if tc.dt is not None else min(tc.end / 1000.0, 1e-3 * t_ref)
    ctl = StepController(dt_initial=dt0, dt_max=tc.dt_max or tc.end / 10.0,
                         adaptive=tc.adaptive, rtol=tc.rtol, atol=tc.atol,
                         order=1 if tc.scheme == "euler" else 2)
    integ = TimeIntegrator(problem, ctl)
    out_times = list(np.linspace(0.0, tc.end, tc.outputs + 1)[1:])

    run.open_folder()
    with run.guard(problem):
        run.write_mesh(domain)
        writer = _field_writer(run, [physics], cfg.output.fields, domain)
        table = _quantity_table(run)
        problem.initialise()
        table.append({"t": 0.0, "dt": 0.0, "newton_its": 0, **problem.quantities()})
        if writer:
            writer.write(0.0)
        bar = _progress_bar(run, total=tc.end, unit="s", leave=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| t={n:.4g}/{total:.4g} s "
                                       "[{elapsed}<{remaining}]{postfix}")
        next_out = [0]

        def on_step(rec):
            table.append({"t": rec["t"], "dt": rec["dt"], "newton_its": rec["newton_its"],
                          **problem.quantities()})
            if writer and next_out[0] < len(out_times) and rec["t"] >= out_times[next_out[0]] * (
                    1 - 1e-12):
                writer.write(rec["t"])
                next_out[0] += 1
            if bar is not None:
                bar.set_postfix_str(f"dt={rec['dt']:.3g} s", refresh=False)
                bar.update(rec["t"] - bar.n)
            run.check_interrupt()
            return False

        stop = None
        with run.timed("time_loop_s"):
            try:
                integ.run(tc.end, on_step, stop_times=out_times,
                          events=stoichiometry_limits([physics]))
            except (SolverError, interrupt.Interrupted) as exc:
                stop = exc
            finally:
                if bar is not None:
                    bar.close()
                if writer:
                    if stop is None and integ.t < tc.end * (1 - 1e-12):
                        writer.write(integ.t)  # the state where a cut-off stopped the run
                    writer.close()
                table.close()
        problem.close()
        status, message = status_of(stop)
        rows = table.rows
        ended_by = getattr(integ, "ended_by", None)
        if status == "completed" and ended_by and integ.t < tc.end * (1 - 1e-12):
            run.warn(f"the run ended at t = {integ.t:.6g} s before time.end = {tc.end:.6g} s: "
                     f"{ended_by}")
        _check_admissible(run, [physics], rows)
        crank = _crank_reference(cfg, domain, material, c0, bcs)
        headline = _headline(physics, rows, material, bcs, crank)
        if write and cfg.output.plots and status == "completed":
            _plots(run, cfg, physics, domain, rows, crank)
        summary = run.summary(
            status, message, headline,
            ended_by=ended_by if status == "completed" else status,
            physics=physics.describe(),
            domain={"description": domain.describe(), "cells": domain.num_cells_global(),
                    "dofs": problem.num_dofs, "volume_m3": domain.volume(),
                    "mesh_quality": quality,
                    "builder_metadata": {k: v for k, v in domain.metadata.items()
                                         if k != "orientations"}},
            steps={"accepted": integ.steps, "rejected": integ.rejected, **problem.stats},
            citations=physics.citations())
        run.finish(summary)
        result = Result(cfg.study.name, run.folder if write else None, rows, headline, summary,
                        run.paths)
        _raise_stop(stop, run)
        return result


def _raise_stop(stop, run: Run) -> None:
    """Re-raise what stopped a run once its summary is written."""
    if stop is None:
        return
    if isinstance(stop, interrupt.Interrupted):
        raise stop
    where = f" (partial results in {run.folder}; summary.json says failed)" if run.write else ""
    raise SolverError(f"{stop}{where}")


def _crank_reference(cfg, domain, material, c0, bcs):
    """Crank's series applies to a sphere with one uniform flux and constant isotropic D."""
    b = cfg.geometry.builder
    if b not in ("interval", "sphere") or len(bcs) != 1 or not isinstance(bcs[0], Flux):
        return None
    if b == "sphere" and cfg.geometry.params.get("dim", 3) != 3:
        return None
    if b == "interval" and domain.coordinates != "spherical":
        return None
    if not (material.isotropic and material.law.linear and cfg.orientation.mode in ("none",
                                                                                       "fixed")):
        return None
    radius = cfg.geometry.params["radius"]
    D = material.principal(cfg.temperature)[0]
    q = bcs[0].value(0.0) if callable(bcs[0].value) else float(bcs[0].value)
    from femcell.analytic import crank_sphere_surface

    return lambda t: crank_sphere_surface(t, radius=radius, diffusivity=D, flux=q, c0=c0)


def _headline(physics, rows, material, bcs, crank) -> dict:
    last = rows[-1]
    name = physics.name
    h = {"t_end_s": last["t"], "mean_concentration_mol_m3": last[f"{name}_mean"],
         "state_of_charge": last[f"{name}_mean"] / material.c_max,
         "min_concentration_mol_m3": last[f"{name}_min"],
         "max_concentration_mol_m3": last[f"{name}_max"]}
    for b in bcs:
        h[f"surface_concentration_mol_m3[{b.region}]"] = last[f"{name}_surface[{b.region}]"]
    # mass balance: change in moles against the time-integrated boundary inflow (trapezoid
    # rule is exact for BDF1 with constant flux; otherwise a consistency indicator)
    inflow = [k for k in last if k.startswith(f"{name}_inflow[")]
    if inflow:
        t = np.array([r["t"] for r in rows])
        rate = np.sum([[r[k] for r in rows] for k in inflow], axis=0)
        added = float(np.sum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t)))
        dn = last[f"{name}_moles"] - rows[0][f"{name}_moles"]
        h["moles_added_mol"] = dn
        h["mass_balance_rel_error"] = abs(dn - added) / max(abs(added), 1e-300)
    if crank is not None and last["t"] > 0:
        cs = last[f"{name}_surface[{bcs[0].region}]"]
        exact = crank(last["t"])
        h["crank_surface_concentration_mol_m3"] = exact
        h["crank_surface_rel_error"] = abs(cs / exact - 1)
    return h


def _plots(run: Run, cfg, physics, domain, rows, crank) -> None:
    """Concentration against time and a field snapshot (collective gather, rank 0 draws);
    a plot that fails is a warning, not a failed run."""
    from femcell import plotting

    folder = run.folder
    name = physics.name
    t = [r["t"] for r in rows]
    tunit = ("h", 3600.0) if t[-1] >= 2 * 3600 else (("min", 60.0) if t[-1] >= 120 else
                                                       ("s", 1.0))
    u, factor = physics.output_fields()[name]
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
        return out

    run.plots(draw)


def fmt_headline(headline: dict) -> str:
    """Human-readable headline lines."""
    lines = []
    for k, v in headline.items():
        lines.append(f"  {k:45s} {v:.6g}" if isinstance(v, float) and math.isfinite(v)
                     else f"  {k:45s} {v}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- cell studies
def build_cell_physics(cfg, domain: Domain):
    """ChargeTransport from a CellStudyConfig (conductors, kinetics, current collectors)."""
    from femcell.physics.charge import ChargeTransport
    from femcell.physics.kinetics import LAWS, InterfaceKinetics

    regions = set(domain.cell_regions)
    conductors, groups = {}, {}
    for key, table, out in (("conductors", cfg.conductors, conductors),
                            ("group_conductors", cfg.group_conductors, groups)):
        for region, name in table.items():
            if region not in regions:
                raise ConfigError(f"{key}.{region}: unknown cell region {region!r}; known: "
                                  f"{', '.join(sorted(regions))}")
            mat = get_material(name)
            if not isinstance(mat, mcore.Conductor):
                raise ConfigError(f"{key}.{region}: material {name!r} is not a conductor")
            out[region] = mat
    diffusion = {}
    for i, ic in enumerate(cfg.intercalation):
        if ic.region not in regions:
            raise ConfigError(f"intercalation.{i}.region: unknown cell region {ic.region!r}; "
                              f"known: {', '.join(sorted(regions))}")
        mat = get_material(ic.material)
        if not isinstance(mat, mcore.IntercalationMaterial) or mat.ocv is None:
            raise ConfigError(f"intercalation.{i}.material: {ic.material!r} is not an "
                              "intercalation material with an open-circuit potential")
        diffusion[ic.region] = Diffusion(mat, [], initial=ic.initial_stoichiometry * mat.c_max,
                                         temperature=cfg.temperature, degree=ic.degree,
                                         region=ic.region, name=f"c_{ic.region}")
    kin = []
    for i, k in enumerate(cfg.kinetics):
        for side in (k.electrode, k.electrolyte):
            if side not in conductors and side not in diffusion and side != (
                    cfg.cell.ground_electrode):
                raise ConfigError(f"kinetics.{i}: region {side!r} has no conductor")
        law = LAWS[k.law](mcore.Arrhenius(k.exchange_current_density, k.activation_energy,
                                          citation="set by the study file"),
                          k.alpha_a, k.alpha_c)
        kin.append(InterfaceKinetics(k.electrode, k.electrolyte, law, k.equilibrium_potential,
                                     concentration=diffusion.get(k.electrode)))
    for key in ("current_cc",) if cfg.cell.ground_electrode else ("current_cc", "ground_cc"):
        name = getattr(cfg.cell, key)
        if name not in domain.facet_regions:
            raise ConfigError(f"cell.{key}: unknown facet region {name!r}; known: "
                              f"{', '.join(domain.facet_regions)}")
    charge = ChargeTransport(conductors, kin, current_cc=cfg.cell.current_cc,
                             ground_cc=cfg.cell.ground_cc, temperature=cfg.temperature,
                             degree=cfg.solver.degree, group_conductors=groups,
                             ground_electrode=cfg.cell.ground_electrode)
    return list(diffusion.values()) + [charge]


def run_cell_study(cfg, output=None, *, comm=MPI.COMM_WORLD, progress: bool = True,
                   write: bool = True, source: str | None = None) -> Result:
    """Run a cell study (charge transport + kinetics driven by a protocol)."""
    from femcell.protocol import Protocol, ProtocolError, ProtocolRunner
    from femcell.units import UnitError, to_si

    run = Run(cfg, output, comm, progress=progress, write=write, source=source, kind="cell")
    base_dir = Path(source).parent if source else None
    try:
        with run.timed("mesh_s"):
            domain = build_domain(cfg, comm, base_dir)
        quality = domain.quality()
        run.say(domain.quality_line(quality))
        protocol = Protocol.from_dicts(cfg.protocol, lambda dim, key, v: to_si(v, dim, name=key))
        with run.timed("setup_s"):
            physics = build_cell_physics(cfg, domain)
            phys = physics[-1]  # the charge transport; concentrations come first
            problem = Problem(domain, physics, linear_solver=cfg.solver.linear)
    except (RegionError, MaterialError, ProtocolError, UnitError) as exc:
        raise ConfigError(str(exc)) from None

    run.open_folder()
    with run.guard(problem):
        run.write_mesh(domain)
        writer = _field_writer(run, physics, cfg.output.fields, domain)
        table = _quantity_table(run)
        problem.initialise()
        integ = TimeIntegrator(problem, StepController(dt_initial=cfg.time.dt, adaptive=False,
                                                       max_cuts=cfg.time.max_cuts))
        bar = _progress_bar(run, unit=" steps")
        count = [0]

        def write_fields(t):
            phys.refresh_outputs()
            writer.write(t)

        if writer:
            write_fields(0.0)

        def record(row):
            table.append(row)
            count[0] += 1
            if writer and count[0] % cfg.output.field_every == 0:
                write_fields(row["t"])
            if bar is not None:
                bar.set_postfix_str(f"t={row['t']:.4g} s V={row['cell_voltage']:.4g} V "
                                    f"[{row['label']}]", refresh=False)
                bar.update(1)
            run.check_interrupt()

        runner = ProtocolRunner(problem, phys, integ, dt=cfg.time.dt, rise_time=cfg.time.rise_time,
                                record=record)
        stop, bad_input = None, None
        with run.timed("time_loop_s"):
            try:
                runner.run(protocol)
            except (SolverError, interrupt.Interrupted) as exc:
                stop = exc
            except ProtocolError as exc:  # found while running (e.g. an unknown quantity name)
                stop, bad_input = exc, exc
            finally:
                if writer:
                    if count[0] % cfg.output.field_every:
                        write_fields(integ.t)  # the last state, unless just written
                    writer.close()
                if bar is not None:
                    bar.close()
                table.close()
        problem.close()
        status, message = status_of(stop)
        rows = table.rows
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
        _check_admissible(run, physics, rows)
        newton = [rec["newton_its"] for rec in integ.log]
        headline = {"steps_completed": len(steps),
                    "final_cell_voltage_V": rows[-1]["cell_voltage"] if rows else None,
                    "max_newton_its_per_step": max(newton) if newton else 0,
                    "rejected_steps": integ.rejected}
        for name in phys.j_expr:
            if rows:
                headline[f"peak_current_density_A_m2[{name}]"] = max(r[f"j_max[{name}]"]
                                                                     for r in rows)
                if not any(k.concentration is not None and name.startswith(k.electrode + "|")
                           for k in phys.kinetics):  # metal electrodes: contact fraction
                    headline[f"contact_fraction[{name}]"] = phys._areas[name] / phys._cc_area
        for p in physics[:-1]:  # intercalation particles: final mean filling
            if rows:
                headline[f"final_stoichiometry[{p.region}]"] = (rows[-1][f"{p.name}_mean"]
                                                                / p.material.c_max)
        cc_steps = [s for s in runner.summaries if s.kind == "current"
                    and s.end_quantities.get("current_density")]
        if cc_steps and len(physics) == 1:  # ASR (cells without an open-circuit voltage)
            q = cc_steps[-1].end_quantities
            headline["asr_ohm_m2"] = q["cell_voltage"] / q["current_density"]
            for name in phys.j_expr:
                headline[f"peak_to_mean_current[{name}]"] = q[f"j_max[{name}]"] / abs(
                    q[f"j_mean[{name}]"])
        if write and cfg.output.plots and rows:
            run.plots(lambda: _cell_plots(cfg, phys, run.folder, rows))
        summary = run.summary(
            status, message, headline,
            domain={"description": domain.describe(), "cells": domain.num_cells_global(),
                    "dofs": problem.num_dofs, "mesh_quality": quality},
            steps={"accepted": integ.steps, "rejected": integ.rejected, **problem.stats},
            protocol_steps=steps,
            citations=list(dict.fromkeys(c for p in physics for c in p.citations())))
        run.finish(summary)
        result = Result(cfg.study.name, run.folder if write else None, rows, headline, summary,
                        run.paths)
        if bad_input is not None:
            raise ConfigError(str(bad_input))
        _raise_stop(stop, run)
        return result


def _cell_plots(cfg, phys, folder, rows) -> dict:
    """Voltage and current-density plots (rank 0)."""
    from femcell import plotting

    out = {}
    t = [r["t"] for r in rows]
    tunit = ("h", 3600.0) if t[-1] >= 2 * 3600 else (("min", 60.0) if t[-1] >= 120 else
                                                       ("s", 1.0))
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


# ---------------------------------------------------------------------------- sweeps
def run_sweep(path, overrides: list[str] | None = None, output=None, *, comm=MPI.COMM_WORLD,
              progress: bool = True, jobs: str | int | None = None) -> list[dict]:
    """Run a study file over its [sweep] points and collect the headline numbers in one table.

    The study TOML holds either one parameter,
    `[sweep] parameter = "a.b.c", values = [...]`, or several,
    `[sweep] parameters = {"a.b" = [...], "c.d" = [...]}, mode = "grid" | "zip"`; each point is
    applied like `--set a.b=value`. `jobs = "serial"` (default) runs the points one after
    another on all ranks, `jobs = "split"` runs them as independent MPI jobs (one group of
    ranks per point; femcell.sweep). Every point writes its own folder <output>/<label>_<k>/;
    rank 0 writes sweep.csv (parameters in SI + headline numbers), sweep.json and sweep.png.

    Args:
        path: the study TOML with a [sweep] table.
        overrides: --set style overrides applied before the sweep.
        output: sweep folder (default runs/<study name>).
        comm: MPI communicator of the whole sweep.
        progress: progress lines on rank 0.
        jobs: overrides [sweep] jobs.

    Returns:
        One dict per point: {"value", "folder", <parameter keys (SI)>, **headline}.
    """
    from femcell import io as fio
    from femcell.config import apply_overrides, load_config, read_study
    from femcell.sweep import n_groups, run_points

    raw = apply_overrides(read_study(path), list(overrides or []))
    sweep = raw.pop("sweep", None)
    params, mode, label, jobs = _sweep_definition(sweep, path, jobs)
    name = raw.get("study", {}).get("name", "sweep") if isinstance(raw.get("study"),
                                                                   dict) else "sweep"
    cfgs, points, si_points = [], [], []
    for point in _sweep_points(params, mode, path):  # validate every point before any run
        data = copy.deepcopy(raw)
        for key, value in point.items():
            data = _set_path(data, key, value, path)
        try:
            cfg = load_config(data=data)
        except ConfigError as exc:
            shown = ", ".join(f"{k} = {v!r}" for k, v in point.items())
            raise ConfigError(f"{path}: sweep point {shown}: "
                              f"{str(exc).removeprefix('study: ')}") from None
        cfgs.append(cfg)
        points.append(point)
        si_points.append({k: _si_value(cfg, k, v) for k, v in point.items()})
    try:
        ng = n_groups(comm, len(points), jobs)
    except ValueError as exc:
        raise ConfigError(f"{path}: sweep.jobs: {exc}") from None
    folder = Path(output) if output is not None else Path("runs") / name
    single = len(params) == 1
    if progress and comm.rank == 0 and ng > 1:
        print(f"femcell: sweep of {len(points)} points as {ng} independent jobs", flush=True)

    def work(k, point, sub):
        world_lead = comm.rank == 0
        if progress and world_lead:
            shown = ", ".join(f"{key.split('.')[-1]} = {v}" for key, v in point.items())
            print(f"femcell: sweep {shown} ({k + 1}/{len(points)})", flush=True)
        try:
            res = run_study(cfgs[k], folder / f"{label}_{k}", comm=sub,
                            progress=progress and world_lead, source=str(path))
        except bad_input_errors() as exc:  # found while building this point's geometry
            shown = ", ".join(f"{key} = {v!r}" for key, v in point.items())
            raise type(exc)(f"{path}: sweep point {shown}: {exc}") from None
        interrupt.check(sub)
        return {"value": si_points[k][next(iter(point))] if single else k,
                "folder": str(folder / f"{label}_{k}"), **si_points[k],
                "status": res.summary["status"], **res.headline}

    names = ("sweep.csv", "sweep.json", "sweep.png")

    def clear():  # tables of an earlier sweep in this folder must not pass as this one's
        for n in names:
            (folder / n).unlink(missing_ok=True)

    on_root(comm, clear)
    with interrupt.handling():
        try:
            results = run_points(points, work, comm, jobs)
        except BaseException as exc:
            status, message = status_of(exc)
            message = message or type(exc).__name__

            def failed():
                folder.mkdir(parents=True, exist_ok=True)
                fio.write_json(folder / "sweep.json", {
                    "status": "failed" if status == "completed" else status,
                    "message": message, "parameters": params,
                    "mode": mode, "jobs": jobs, "groups": ng, "mpi_ranks": comm.size})

            if isinstance(exc, Exception):
                on_root(comm, failed)
            raise

    def write_tables():
        folder.mkdir(parents=True, exist_ok=True)
        fio.write_json(folder / "sweep.json", {"status": "completed", "parameters": params,
                                               "mode": mode,
                                               "jobs": jobs, "groups": ng,
                                               "mpi_ranks": comm.size, "results": results})
        keys = ["value", *[k for k in params if k != "value"]]
        for r in results:  # the union: headlines may differ from point to point
            keys += [k for k, v in r.items() if k not in keys and k != "folder"
                     and (v is None or isinstance(v, int | float | str))]
        table = fio.QuantityTable(MPI.COMM_SELF, folder / "sweep.csv")
        for r in results:
            table.append({k: (r.get(k) if isinstance(r.get(k), int | float) else
                              ("" if r.get(k) is None else str(r[k]))) for k in keys})
        table.close()
        _sweep_plot(folder / "sweep.png", results, list(params), name)

    on_root(comm, write_tables)
    return results


def _sweep_definition(sweep, path, jobs):
    """(parameters, mode, label, jobs) of a [sweep] table, checked (ConfigError)."""
    if not isinstance(sweep, dict):
        raise ConfigError(f"{path}: [sweep] must be a table")
    extra = set(sweep) - {"parameter", "values", "parameters", "mode", "label", "jobs"}
    if extra:
        raise ConfigError(f"{path}: unknown key(s) in [sweep]: {', '.join(sorted(extra))} "
                          "(known: parameter, values, parameters, mode, label, jobs)")
    if ("parameter" in sweep) == ("parameters" in sweep):
        both = "parameter" in sweep
        raise ConfigError(f"{path}: [sweep] needs either 'parameter' with 'values' or a "
                          "'parameters' table" + (", not both" if both else ""))
    if "parameter" in sweep:
        if not isinstance(sweep["parameter"], str) or not sweep["parameter"]:
            raise ConfigError(f"{path}: sweep.parameter must be a dotted key such as "
                              f"\"interface.stack_pressure\", got {sweep['parameter']!r}")
        params = {sweep["parameter"]: sweep.get("values")}
    else:
        params = sweep["parameters"]
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise ConfigError(f"{path}: sweep.parameters must be a table of dotted key = "
                              "[values], e.g. {\"interface.void_rate\" = [1e-3, 3e-3]}")
    mode = sweep.get("mode", "grid")
    label = sweep.get("label")
    if label is None:
        label = next(iter(params)).split(".")[-1] if len(params) == 1 else "point"
    if not isinstance(label, str) or not label.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"{path}: sweep.label = {label!r}: letters, digits, '_' and '-' "
                          "only (it names folders)")
    return params, mode, label, jobs if jobs is not None else sweep.get("jobs", "serial")


def _sweep_points(params, mode, path) -> list[dict]:
    from femcell.sweep import SweepError, expand

    try:
        return expand(params, mode)
    except SweepError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _si_value(cfg, dotted: str, value):
    """The value the validated configuration holds at a swept key (SI float when it is a
    quantity), else the value as given."""
    node = cfg.model_dump()
    try:
        for part in dotted.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
    except (KeyError, IndexError, ValueError, TypeError):
        return value
    return node if isinstance(node, int | float | str | bool) or node is None else value


def _sweep_plot(path, results, params, title):
    """Headline numbers against the first swept parameter (one line per value of the second);
    nothing when the first parameter is not numeric."""
    from femcell.plotting import _mpl

    x0 = [r[params[0]] for r in results]
    if not all(isinstance(v, int | float) for v in x0):
        return None
    keys = list(dict.fromkeys(k for r in results for k, v in r.items()
                              if isinstance(v, float) and k not in params and k != "value"))[:6]
    if not keys:
        return None
    plt = _mpl()
    fig, axes = plt.subplots(len(keys), 1, figsize=(6.4, 2.4 * len(keys)), dpi=110,
                             squeeze=False)
    groups = {}
    for r in results:
        g = tuple((p, r[p]) for p in params[1:])
        groups.setdefault(g, []).append(r)
    for ax, key in zip(axes[:, 0], keys, strict=True):
        for g, rows in groups.items():
            pts = sorted((r[params[0]], r[key]) for r in rows if r.get(key) is not None)
            if pts:
                ax.plot(*zip(*pts, strict=True), "o-", label=", ".join(
                    f"{p.split('.')[-1]} = {v}" for p, v in g) or None)
        ax.set_ylabel(key, fontsize=8)
        ax.grid(alpha=0.3)
        if len(groups) > 1:
            ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel(f"{params[0]} (SI units)")
    axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _set_path(data: dict, dotted: str, value, source) -> dict:
    """Set data[a][b][0][c] = value for dotted = "a.b.0.c" (lists indexed by number;
    missing tables are created, so a sweep can set a key the file leaves at its default)."""
    parts = dotted.split(".")
    node = data
    try:
        for p in parts[:-1]:
            if isinstance(node, list):
                node = node[int(p)]
            elif isinstance(node, dict):
                node = node.setdefault(p, {})
            else:
                raise KeyError(p)
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise KeyError(last)
    except (KeyError, IndexError, ValueError, TypeError):
        raise ConfigError(f"{source}: sweep parameter {dotted!r}: no such key in the study "
                          "file") from None
    return data


# ---------------------------------------------------------------------------- CCD studies
def _ccd_case_config(cfg, case):
    """The study configuration with a case's overrides applied (validated again)."""
    from femcell.config import CCDStudyConfig, apply_overrides

    if any(k.split(".")[0] == "anode_parameters" for k in case.set):
        raise ConfigError(f"cases.{case.name}.set: anode_parameters is chosen once per study "
                          "(its values are merged when the file is read); set the "
                          "[vacancies] / [interface] keys that differ instead")
    data = cfg.model_dump()
    sets = [f"{k}={v}" if not isinstance(v, str) else f'{k}="{v}"' for k, v in
            case.set.items()]
    try:
        return CCDStudyConfig.model_validate(apply_overrides(data, sets))
    except Exception as exc:  # pydantic.ValidationError or a bad key path
        from femcell.config import validation_message

        raise ConfigError(validation_message(exc, f"cases.{case.name}.set")) from None


def _ccd_parameters(cfg):
    """The metal and the interface parameters of a CCD study (case overrides applied),
    checked before anything is built or written: (conductor materials, metal, params)."""
    from femcell.materials.library import get_anode_set, get_interlayer
    from femcell.physics.anode import InterfaceVacancyParameters, with_interlayer

    conductors = {}
    for region, name in cfg.conductors.items():
        try:
            conductors[region] = get_material(name)
        except MaterialError as exc:
            raise ConfigError(f"conductors.{region}: {exc}") from None
    metal = conductors.get("anode")
    if not isinstance(metal, mcore.Conductor) or not metal.molar_volume > 0:
        raise ConfigError("conductors.anode: a metal with a molar volume (e.g. 'na', 'li')")
    cites = ()
    if cfg.anode_parameters:
        aset = get_anode_set(cfg.anode_parameters)
        if aset.metal != metal.name:
            raise ConfigError(f"anode_parameters = {cfg.anode_parameters!r} is a set for "
                              f"{aset.metal!r}, but conductors.anode = {metal.name!r}")
        cites = tuple(aset.all_citations())
    v, itf = cfg.vacancies, cfg.interface
    params = InterfaceVacancyParameters(
        site_density=itf.site_density,
        transfer_rate=mcore.Arrhenius(itf.transfer_rate, itf.activation_energy,
                                      citation="set by the study file"),
        molar_volume=metal.molar_volume, theta_crit=itf.theta_crit, void_rate=itf.void_rate,
        void_height=itf.void_height, creep_prefactor=itf.creep_prefactor,
        creep_exponent=itf.creep_exponent, creep_activation=itf.creep_activation,
        stack_pressure=itf.stack_pressure, citations=cites)
    if itf.theta_crit <= v.equilibrium_fraction:
        raise ConfigError(f"interface.theta_crit = {itf.theta_crit:g} must exceed "
                          f"vacancies.equilibrium_fraction = {v.equilibrium_fraction:g}")
    if itf.interlayer is not None:
        try:
            layer = get_interlayer(itf.interlayer)
        except MaterialError as exc:
            raise ConfigError(f"interface.interlayer: {exc}") from None
        if layer.metal != metal.name:
            raise ConfigError(f"interface.interlayer = {itf.interlayer!r} is made for "
                              f"{layer.metal!r}, but conductors.anode = {metal.name!r}")
        if itf.wetting_angle is None:
            raise ConfigError("interface.interlayer needs interface.wetting_angle (the metal's "
                              "contact angle on the bare electrolyte) or anode_parameters")
        try:
            params = with_interlayer(params, layer, wetting_angle=itf.wetting_angle,
                                     theta_eq=v.equilibrium_fraction)
        except MaterialError as exc:
            raise ConfigError(f"interface.interlayer: {exc}") from None
    return conductors, metal, params


def _ccd_physics(cfg, domain, temperature):
    """Vacancy diffusion, anode interface and charge transport for one ramp."""
    from femcell.physics.anode import AnodeInterface
    from femcell.physics.charge import ChargeTransport
    from femcell.physics.diffusion import Diffusion, Dirichlet
    from femcell.physics.kinetics import LAWS, InterfaceKinetics

    conductors, metal, params = _ccd_parameters(cfg)
    for region in conductors:
        if region not in domain.cell_regions:
            raise ConfigError(f"conductors.{region}: unknown cell region {region!r}; known: "
                              f"{', '.join(domain.cell_regions)}")
    omega = metal.molar_volume
    v = cfg.vacancies
    csite = 1.0 / omega
    ceq = v.equilibrium_fraction * csite
    vac_mat = mcore.IntercalationMaterial(
        "vacancies", csite, (mcore.Arrhenius(v.diffusivity, v.migration_energy,
                                              citation="set by the study file"),))
    anode_thickness = cfg.geometry.params.get("anode_thickness")
    vac = Diffusion(vac_mat, [Dirichlet(cfg.cell.current_cc, ceq)], initial=ceq,
                    region="anode", name="cv", temperature=temperature,
                    length_scale=anode_thickness, track_outflow=True,
                    bulk_sink=(v.sink_spacing, ceq) if v.sink_spacing else None)
    iface = AnodeInterface(params, vac, temperature=temperature)
    kin = []
    for k in cfg.kinetics:
        law = LAWS[k.law](mcore.Arrhenius(k.exchange_current_density, k.activation_energy),
                          k.alpha_a, k.alpha_c)
        kin.append(InterfaceKinetics(k.electrode, k.electrolyte, law, k.equilibrium_potential,
                                     contact=iface if k.electrode == "anode" else None))
    ct = ChargeTransport(conductors, kin, current_cc=cfg.cell.current_cc,
                         ground_cc=cfg.cell.ground_cc, temperature=temperature,
                         degree=cfg.solver.degree)
    # regime indicators: interface vs bulk limit and ramp time vs diffusion time
    from femcell.units import F as FARADAY

    T = temperature
    kappa = params.transfer_rate(T)
    dv = vac_mat.diffusivity[0](T)
    L = anode_thickness or domain.size()
    if v.sink_spacing:  # bulk sinks shorten the diffusion length: l tanh(L / l)
        L = v.sink_spacing * float(np.tanh(L / v.sink_spacing))
    tc = params.theta_crit
    limits = {"j_interface_limit_A_m2": FARADAY * kappa * (tc - v.equilibrium_fraction),
              "j_bulk_limit_A_m2": FARADAY * dv * (tc / omega - ceq) / L,
              "diffusion_time_s": L * L / dv, "theta_crit": tc,
              "interface_barrier_eV": params.transfer_rate.activation_energy / mcore.EV}
    return [vac, iface, ct], ct, limits


def run_ccd_study(cfg, output=None, *, comm=MPI.COMM_WORLD, progress: bool = True,
                  write: bool = True, source: str | None = None,
                  jobs: str | int = "serial") -> Result:
    """Current ramps at several temperatures for each case; j_crit per ramp (criterion of
    cfg.ramp), Arrhenius fits of j_crit per case with standard errors, regimes, plots.

    Every (case, temperature) ramp is one point of a sweep (femcell.sweep): jobs="split" runs
    them as independent MPI jobs, one group of ranks per ramp. Each ramp writes its own
    folder ramps/<case>_<T>C/ (quantities.csv, field time series).
    """
    from femcell.sweep import SweepError, n_groups, run_points

    run = Run(cfg, output, comm, progress=progress, write=write, source=source, kind="ccd")
    base_dir = Path(source).parent if source else None
    if cfg.resolution == "fine":  # for clusters: half the element size, a quarter of the step
        from femcell.config import CCDStudyConfig, apply_overrides

        data = cfg.model_dump()
        h = data["geometry"]["params"].get("h")
        if h:
            data = apply_overrides(data, [f"geometry.params.h={h / 2}"])
        cfg = CCDStudyConfig.model_validate(data)
    case_cfgs = [_ccd_case_config(cfg, case) for case in cfg.cases]
    if cfg.resolution == "fine":  # after the cases' own settings (a case may set its dt)
        case_cfgs = [c.model_copy(update={"ramp": c.ramp.model_copy(
            update={"dt": c.ramp.dt / 4, "hold_dt": c.ramp.hold_dt and c.ramp.hold_dt / 4})})
            for c in case_cfgs]
    cites = []
    for ccfg in case_cfgs:  # bad input stops here, before any folder is written
        cites += list(_ccd_parameters(ccfg)[2].citations)
    points = [(c, T) for c, ccfg in enumerate(case_cfgs) for T in ccfg.ramp.temperatures]
    try:
        ng = n_groups(comm, len(points), jobs)
    except SweepError as exc:
        raise ConfigError(str(exc)) from None
    with run.timed("mesh_s"):  # the mesh on all ranks: quality, mesh output, serial ramps
        domain = _build(run, lambda: build_domain(cfg, comm, base_dir))
    quality = domain.quality()
    run.say(domain.quality_line(quality))
    description = domain.describe()
    run.open_folder()
    with run.guard():
        run.write_mesh(domain)
        if ng > 1:
            run.say(f"femcell: {len(points)} ramps as {ng} independent jobs")
        domains = {id(comm): domain}

        def domain_on(sub):
            if id(sub) not in domains:
                domains[id(sub)] = _build(run, lambda: build_domain(cfg, sub, base_dir))
            return domains[id(sub)]

        shown = set()

        def say_ramp(k, r):
            if k in shown:
                return
            shown.add(k)
            jc = r["j_crit_A_m2"]
            txt = f"{jc * 0.1:.4g} mA/cm^2" if jc is not None else "no failure"
            run.say(f"  {r['case']:20s} T = {r['temperature_K'] - 273.15:5.1f} degC  j_crit = "
                    f"{txt:16s} ({r['regime']}; {r['ramp_steps']} steps)")

        done = []  # ramps finished so far (serial runs: kept when a later ramp fails)

        def work(k, point, sub):
            c, T = point
            r = _ccd_ramp(case_cfgs[c], cfg.cases[c], T, domain_on(sub), run.folder, write)
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
            _free_solvers(comm)
            for k, r in enumerate(results):
                say_ramp(k, r)
        for r in results:
            for w in r.pop("warnings", []):
                run.warn(w)
        fits = _ccd_fits(run, cfg, case_cfgs, points, results) if stop is None else {}
        headline = {f"E_A[{name}]_eV": f["activation_energy_eV"] for name, f in fits.items()}
        headline.update({f"E_A_se[{name}]_eV": f["activation_energy_se_eV"]
                         for name, f in fits.items()})
        if not fits:  # one temperature: the critical currents themselves are the headline
            many_t = len({r["temperature_K"] for r in results}) > 1
            headline.update({(f"j_crit[{r['case']}, {r['temperature_K'] - 273.15:.0f} degC]_A_m2"
                              if many_t else f"j_crit[{r['case']}]_A_m2"): r["j_crit_A_m2"]
                             for r in results})
        if write and results:
            run.paths.update(run.on_root(lambda: _ccd_table(run.folder, results), share=True))
            if cfg.output.plots:
                run.plots(lambda: _ccd_plots(run.folder, results, fits, cfg))
        status, message = status_of(stop)
        summary = run.summary(
            status, message, headline,
            definition=(f"j_crit: the applied current density at which the "
                        f"{cfg.ramp.criterion} criterion trips (contact fraction first below "
                        f"{cfg.ramp.threshold:g})" if cfg.ramp.criterion == "contact" else
                        "j_crit: the applied current density at which the anode overpotential "
                        "leaves its linear trend by 10 %"),
            jobs={"mode": jobs, "groups": ng},
            domain={"description": description, "mesh_quality": quality},
            ramps=results, arrhenius_fits=fits,
            citations=list(dict.fromkeys(
                [get_material(n).all_citations()[0] for n in cfg.conductors.values()] + cites)))
        run.finish(summary)
        result = Result(cfg.study.name, run.folder if write else None, results, headline, summary,
                        run.paths)
        _raise_stop(stop, run)
        return result


def _ccd_fits(run: Run, cfg, case_cfgs, points, results) -> dict:
    """Arrhenius fit of j_crit per case; ramps without a critical current are named in a
    warning (never dropped silently)."""
    from femcell.protocol import arrhenius_fit

    fits = {}
    for c, (case, ccfg) in enumerate(zip(cfg.cases, case_cfgs, strict=True)):
        mine = [r for (cc, _), r in zip(points, results, strict=True) if cc == c]
        missing = [r for r in mine if r["j_crit_A_m2"] is None]
        if missing:
            run.warn(f"case {case.name!r}: no contact loss up to ramp.max_time = "
                     f"{ccfg.ramp.max_time:g} s at "
                     + ", ".join(f"{r['temperature_K'] - 273.15:.0f} degC" for r in missing)
                     + ": these ramps have no j_crit and are left out of the Arrhenius fit")
        ok = [(r["temperature_K"], r["j_crit_A_m2"]) for r in mine
              if r["j_crit_A_m2"] is not None]
        if len({t for t, _ in ok}) < 2:
            if len(ccfg.ramp.temperatures) > 1:
                run.warn(f"case {case.name!r}: fewer than two temperatures with a critical "
                         "current: no activation energy")
            continue
        fit = arrhenius_fit([t for t, _ in ok], [j for _, j in ok])
        fit["published_ea_eV"] = case.published_ea_eV
        fit["published_source"] = case.published_source
        fit["ramp_rate_A_m2_s"] = ccfg.ramp.rate * case.rate_factor
        fit["set_barriers_eV"] = {
            "interface": mine[0]["interface_barrier_eV"],
            "bulk_migration": ccfg.vacancies.migration_energy / mcore.EV}
        fits[case.name] = fit
    return fits


def _ccd_table(folder, results) -> dict:
    """j_crit.csv: one row per ramp (rank 0)."""
    from femcell import io as fio
    from femcell._dolfinx import MPI as _MPI

    table = fio.QuantityTable(_MPI.COMM_SELF, folder / "j_crit.csv")
    for r in results:
        table.append({k: v for k, v in r.items() if not isinstance(v, dict | list)})
    table.close()
    return {"table": folder / "j_crit.csv"}


def _ccd_plots(folder, results, fits, cfg) -> dict:
    """The Arrhenius plot, or the per-case plot for one temperature (rank 0)."""
    if fits:
        return {"arrhenius_plot": _arrhenius_plot(folder / "arrhenius.png", results, fits,
                                                  cfg)}
    return {"cases_plot": _ccd_cases_plot(folder / "j_crit.png", results, cfg.study.name)}


def _slug(text: str) -> str:
    """A folder-name-safe version of a label (letters, digits, '-', '_')."""
    import re

    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_") or "case"


def _ccd_ramp(ccfg, case, T, domain, folder, write) -> dict:
    """One current ramp of a CCD study at temperature T [K] on domain (its communicator):
    j_crit, regime, optional time to contact loss at a fixed current. With `write`, the ramp
    folder ramps/<case>_<T>C/ gets quantities.csv and the fields every field_every steps
    (and at the end)."""
    from femcell import io as fio
    from femcell.protocol import Protocol, ProtocolRunner, Step, Until, first_fall_below

    comm = domain.comm
    dt = ccfg.ramp.dt
    rate = ccfg.ramp.rate * case.rate_factor
    sub = folder / "ramps" / f"{_slug(case.name)}_{T - 273.15:.0f}C"
    if write:
        on_root(comm, lambda: sub.mkdir(parents=True, exist_ok=True))

    def run(step, until_contact, csv, fields, dt=dt, max_time=ccfg.ramp.max_time):
        try:
            physics, ct, limits = _ccd_physics(ccfg, domain, T)
            problem = Problem(domain, physics, linear_solver=ccfg.solver.linear)
        except (RegionError, MaterialError) as exc:
            raise ConfigError(str(exc)) from None
        problem.initialise()
        integ = TimeIntegrator(problem, StepController(dt_initial=dt, adaptive=False))
        table = fio.QuantityTable(comm, sub / csv if write else None)
        writer = None
        if fields:
            writer = _open_fields(comm, sub, physics, domain)
            ct.refresh_outputs()
            writer.write(0.0)
        count = [0]

        def record(row):
            table.append(row)
            count[0] += 1
            if writer and count[0] % ccfg.output.field_every == 0:
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
                    if count[0] % ccfg.output.field_every:
                        ct.refresh_outputs()
                        writer.write(integ.t)  # the state at failure
                    writer.close()
                table.close()
            finally:
                problem.close()
        return table.rows, limits, admissibility_warnings(physics, table.rows)

    t0 = _time.perf_counter()
    rows, limits, bad = run((("ramp",), {"rate": rate, "label": f"{case.name}@{T:.1f}K"}),
                            ccfg.ramp.stop_contact, "quantities.csv",
                            write and ccfg.output.fields)
    det = _detect(rows, ccfg)
    jc = det["j_crit"]
    t_loss = None
    if ccfg.ramp.hold_current is not None:  # time to contact loss at a fixed current
        rows2, _, bad2 = run((("current",), {"current_density": ccfg.ramp.hold_current}),
                             ccfg.ramp.threshold, "hold_quantities.csv", False,
                             dt=ccfg.ramp.hold_dt or dt,
                             max_time=ccfg.ramp.hold_max_time or ccfg.ramp.max_time)
        bad += [f"hold at {ccfg.ramp.hold_current * 0.1:g} mA/cm^2: {w}" for w in bad2]
        t_loss = first_fall_below([0.0] + [r["t"] for r in rows2],  # full contact at t = 0
                                  [1.0] + [r["contact_fraction"] for r in rows2],
                                  ccfg.ramp.threshold)
    _free_solvers(comm)
    t_crit = jc / rate if jc is not None else None
    regime = ("interface-limited" if limits["j_interface_limit_A_m2"]
              < limits["j_bulk_limit_A_m2"] else "bulk-limited")
    if t_crit is not None and regime == "bulk-limited":
        regime += (" (quasi-steady)" if t_crit > 10 * limits["diffusion_time_s"]
                   else " (transient: fitted E_A tends to E_m / 3)")
    ledger = _metal_ledger(rows[-1], ccfg.cell.current_cc)
    where = f"case {case.name!r} at {T - 273.15:.0f} degC"
    warnings = [f"{where}: {w}" for w in bad]
    if det["first_step"]:
        warnings.append(f"{where}: contact was lost within the first step (j_crit <= "
                        f"{jc * 0.1:.4g} mA/cm^2, interpolated from t = 0); reduce ramp.dt "
                        "or the ramp rate to resolve it")
    anode_thickness = ccfg.geometry.params.get("anode_thickness")
    if anode_thickness:  # the anode geometry is fixed: flag ramps that strip most of it
        ledger["stripped_fraction_of_anode"] = ledger["stripped_thickness_m"] / anode_thickness
        if ledger["stripped_fraction_of_anode"] > 0.5:
            warnings.append(f"{where}: the ramp stripped "
                            f"{ledger['stripped_fraction_of_anode']:.0%} of the anode "
                            "thickness; the model keeps the anode geometry fixed")
    return {"case": case.name, "temperature_K": T, "j_crit_A_m2": jc,
            "j_crit_mA_cm2": jc * 0.1 if jc is not None else None,
            "failed_within_first_step": det["first_step"], "ramp_steps": len(rows),
            "ramp_rate_A_m2_s": rate, "regime": regime, "ramp_time_s": t_crit,
            "time_to_contact_loss_s": t_loss, "folder": str(sub) if write else None,
            "wall_s": _time.perf_counter() - t0, **limits, **ledger, "warnings": warnings}


def _detect(rows, ccfg) -> dict:
    """j_crit of a ramp from its rows, the state at t = 0 included: {"j_crit": float or
    None, "first_step": bool}."""
    from femcell.protocol import ccd_detection

    out = ccd_detection(rows, criterion=ccfg.ramp.criterion, threshold=ccfg.ramp.threshold)
    return {"j_crit": out["j_crit"], "first_step": out["failed_at_first_step"]}


def _metal_ledger(q: dict, sink: str) -> dict:
    """Where the stripped metal went by the end of a ramp (PHYSICS.md section 3): every
    stripped atom left a vacancy that is still in the metal or at the interface, was absorbed
    at the collector (the anode thins there) or by bulk sinks, or condensed into a void.
    Lengths per unit interface area [m]; the relative closure error of the balance. The
    fluxes and the store changes are summed step by step as the time scheme integrates them
    (for BDF2 the plain difference of the stores differs by O(dt)), so the balance closes to
    the solver tolerance with either scheme."""
    stripped = q["stripped_moles"]
    absorbed = q[f"cv_outflow_total[{sink}]"]
    in_bulk = q.get("cv_bulk_sink_total", 0.0)
    stored = q["cv_store_change"] + q["interface_store_change"]
    per_mole = q["stripped_thickness"] / stripped if stripped > 0 else 0.0  # Omega / area
    return {"stripped_thickness_m": q["stripped_thickness"],
            "anode_thinning_at_sink_m": per_mole * absorbed,
            "absorbed_by_bulk_sinks_m": per_mole * in_bulk,
            "dissolved_vacancy_thickness_m": per_mole * stored,
            "void_volume_per_area_m": q["void_volume_per_area"],
            "metal_balance_error": abs(stripped - stored - absorbed - in_bulk
                                       - q["voided_moles"])
            / max(stripped, 1e-300)}


def _free_solvers(comm) -> None:
    """Destroy garbage-collected PETSc objects collectively (long sweeps create many
    solvers; MPI runs out of communicator ids if they linger)."""
    import gc

    from femcell._dolfinx import PETSc

    gc.collect()
    PETSc.garbage_cleanup(comm)


def _arrhenius_plot(path, results, fits, cfg):
    """j_crit against 1000/T per case, the fitted lines, and the published activation
    energies as dashed lines (a range as a shaded wedge) through the middle of each fit; the
    legend states each case's ramp rate (the condition that differs between cases)."""
    from femcell.plotting import _mpl
    from femcell.runs import fmt_pm
    from femcell.units import EV, K_B

    plt = _mpl()
    fig, ax = plt.subplots(figsize=(7.6, 5.0), dpi=120)
    for name, fit in fits.items():
        pts = [(r["temperature_K"], r["j_crit_A_m2"]) for r in results
               if r["case"] == name and r["j_crit_A_m2"] is not None]
        T = np.array([p[0] for p in pts])
        j = np.array([p[1] for p in pts]) * 0.1
        rate = fit["ramp_rate_A_m2_s"] * 0.1 * 60  # mA/cm^2 per min
        line = ax.semilogy(1000 / T, j, "o", label=(
            f"{name} (ramp {rate:.3g} mA/cm$^2$/min): E_A = "
            f"{fmt_pm(fit['activation_energy_eV'], fit['activation_energy_se_eV'], 'eV')}"))[0]
        tt = np.linspace(T.min(), T.max(), 50)
        ax.semilogy(1000 / tt, 0.1 * fit["prefactor"] * np.exp(
            -fit["activation_energy_eV"] * EV / (K_B * tt)), "-", color=line.get_color())
        pub = fit.get("published_ea_eV")
        if pub is not None:  # published slope(s) through the geometric middle of the fit
            lo, hi = (pub, pub) if not isinstance(pub, list) else pub
            tm = 1 / np.mean(1 / T)
            jm = 0.1 * fit["prefactor"] * np.exp(-fit["activation_energy_eV"] * EV / (K_B * tm))

            def through(ea, _tm=tm, _jm=jm, _tt=tt):
                return _jm * np.exp(-ea * EV / K_B * (1 / _tt - 1 / _tm))

            if hi > lo:
                ax.fill_between(1000 / tt, through(lo), through(hi), color=line.get_color(),
                                alpha=0.15, lw=0)
            ax.semilogy(1000 / tt, through(0.5 * (lo + hi)), "--", lw=0.9,
                        color=line.get_color())
    ax.plot([], [], "k--", lw=0.9, label="published E_A (band: range), through the fit")
    ax.set_xlabel("1000 / T [1/K]")
    ax.set_ylabel("critical current density [mA/cm$^2$]")
    crit = (f"contact fraction < {cfg.ramp.threshold:g}" if cfg.ramp.criterion == "contact"
            else "overpotential departure")
    ax.set_title(f"{cfg.study.name}\nj_crit: {crit}; linear ramps, rates differ per case",
                 fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _ccd_cases_plot(path, results, title):
    """Critical current (and time to contact loss, when measured) per case."""
    from femcell.plotting import _mpl

    plt = _mpl()
    names = [r["case"] for r in results]
    jc = [0.1 * (r["j_crit_A_m2"] or 0.0) for r in results]
    tl = [r.get("time_to_contact_loss_s") for r in results]
    two = any(v is not None for v in tl)
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(9.6 if two else 6.4, 4.2), dpi=120,
                             squeeze=False)
    x = np.arange(len(names))
    axes[0, 0].bar(x, jc, color="tab:blue")
    axes[0, 0].set_ylabel("critical stripping current [mA/cm^2]")
    if two:
        finite = [v for v in tl if v is not None]
        unit, scale = ("min", 60.0) if max(finite) > 120 else ("s", 1.0)
        axes[0, 1].bar(x, [v / scale if v is not None else 0.0 for v in tl], color="tab:red")
        for xi, v in zip(x, tl, strict=True):
            if v is None:
                axes[0, 1].text(xi, 0.0, "no loss", rotation=90, ha="center", va="bottom",
                                fontsize=8)
        axes[0, 1].set_ylabel(f"time to contact loss at fixed current [{unit}]")
    for ax in axes[0]:
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
