"""Run a study: config -> Domain -> material -> physics -> Problem -> time loop -> outputs.

`run_study` is the public entry point used by the CLI and by Python users alike.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from femcell._dolfinx import MPI
from femcell.config import ConfigError, StudyConfig
from femcell.domain import Domain, RegionError
from femcell.materials import core as mcore
from femcell.materials import get_material, rotation_from_euler
from femcell.materials.core import MaterialError
from femcell.physics.diffusion import Diffusion, Dirichlet, Flux, Robin
from femcell.problem import Problem
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
def _open_run_folder(comm, folder: Path, domain: Domain, physics: list, write: bool,
                     fields: bool):
    """Prepare a run folder (collective): remove an old summary, write the mesh tags, open
    the field writer and the quantities table. Returns (paths, writer or None, table)."""
    from femcell import io as fio

    paths, writer = {}, None
    if write:
        if comm.rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
        comm.barrier()
        fio.remove_stale_summary(comm, folder)
        fio.write_mesh_tags(domain, folder / "mesh_tags.xdmf")
        paths["mesh_tags"] = folder / "mesh_tags.xdmf"
        if fields:
            outputs = {}
            for p in physics:
                outputs.update(p.output_fields())
            writer = fio.FieldWriter(comm, folder / "fields.bp", outputs)
            paths["fields"] = folder / "fields.bp"
        paths["quantities"] = folder / "quantities.csv"
    table = fio.QuantityTable(comm, folder / "quantities.csv" if write else None)
    return paths, writer, table


def run_study(cfg: StudyConfig, output: str | Path | None = None, *, comm=MPI.COMM_WORLD,
              progress: bool = True, write: bool = True, source: str | None = None,
              jobs: str | int = "serial") -> Result:
    """Run a study (diffusion, or a cell study for physics = "charge") and write its folder.

    Args:
        cfg: validated study configuration.
        output: run folder (default runs/<study name>); ignored when write is False.
        comm: MPI communicator.
        progress: show a progress bar on rank 0.
        write: write fields, tables, plots and summary.json.
        source: path of the study file (recorded in the summary).
        jobs: for studies made of independent runs (CCD ramps): "serial" or "split" (one
            group of ranks per run, femcell.sweep); a single-run study uses all ranks.

    Raises:
        ConfigError: bad input discovered while building (unknown region, material...).
        SolverError: no convergence after the allowed step cuts.
    """
    from femcell import io as fio
    from femcell._dolfinx import capabilities, versions

    if cfg.study.physics == "charge":
        return run_cell_study(cfg, output, comm=comm, progress=progress, write=write,
                              source=source)
    if cfg.study.physics == "ccd":
        return run_ccd_study(cfg, output, comm=comm, progress=progress, write=write,
                             source=source, jobs=jobs)
    wall0 = _time.perf_counter()
    timings = {}
    folder = Path(output) if output is not None else Path("runs") / cfg.study.name
    base_dir = Path(source).parent if source else None
    try:
        t0 = _time.perf_counter()
        domain = build_domain(cfg, comm, base_dir)
        timings["mesh_s"] = _time.perf_counter() - t0
        quality = domain.quality()
        if progress and comm.rank == 0:
            print(domain.quality_line(), flush=True)
        material = build_material(cfg)
        material.law.check(cfg.temperature)
        orient = build_orientations(cfg, domain)
        bcs = build_bcs(cfg, material, domain)
        c0 = (cfg.initial.concentration if cfg.initial.concentration is not None
              else cfg.initial.stoichiometry * material.c_max)
        if c0 > material.c_max:
            raise ConfigError(f"initial.concentration: {c0:g} mol/m^3 exceeds c_max = "
                              f"{material.c_max:g} mol/m^3 of {material.name}")
        t0 = _time.perf_counter()
        physics = Diffusion(material, bcs, initial=c0, temperature=cfg.temperature,
                            orientations=orient, degree=cfg.solver.degree)
        problem = Problem(domain, [physics], linear_solver=cfg.solver.linear)
        timings["setup_s"] = _time.perf_counter() - t0
    except (RegionError, MaterialError) as exc:
        raise ConfigError(str(exc)) from None

    tc = cfg.time
    t_ref = physics.scales.time
    dt0 = tc.dt if tc.dt is not None else min(tc.end / 1000.0, 1e-3 * t_ref)
    ctl = StepController(dt_initial=dt0, dt_max=tc.dt_max or tc.end / 10.0,
                         adaptive=tc.adaptive, rtol=tc.rtol, atol=tc.atol,
                         order=1 if tc.scheme == "euler" else 2)
    integ = TimeIntegrator(problem, ctl)
    out_times = list(np.linspace(0.0, tc.end, tc.outputs + 1)[1:])

    rank0 = comm.rank == 0
    paths, writer, table = _open_run_folder(comm, folder, domain, [physics],
                                            write, cfg.output.fields)

    problem.initialise()
    table.append({"t": 0.0, "dt": 0.0, "newton_its": 0, **problem.quantities()})
    if writer:
        writer.write(0.0)
    bar = None
    if progress and rank0:
        from tqdm import tqdm

        bar = tqdm(total=tc.end, unit="s", desc=cfg.study.name, leave=True, mininterval=0.5,
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
        return False

    status, message = "completed", ""
    t0 = _time.perf_counter()
    try:
        integ.run(tc.end, on_step, stop_times=out_times)
    except SolverError as exc:
        status, message = "failed", str(exc)
    finally:
        if bar is not None:
            bar.close()
        if writer:
            writer.close()
        table.close()
    timings["time_loop_s"] = _time.perf_counter() - t0
    problem.close()

    rows = table.rows
    crank = _crank_reference(cfg, domain, material, c0, bcs)
    headline = _headline(physics, rows, material, bcs, crank)
    if write and cfg.output.plots and status == "completed":
        paths.update(_plots(cfg, physics, domain, folder, rows, crank))
    summary = {
        "status": status,
        "message": message,
        "study": cfg.study.name,
        "source": source,
        "inputs_si": cfg.model_dump(),
        "physics": physics.describe(),
        "domain": {"description": domain.describe(), "cells": domain.num_cells_global(),
                   "dofs": problem.num_dofs, "volume_m3": domain.volume(),
                   "mesh_quality": quality,
                   "builder_metadata": {k: v for k, v in domain.metadata.items()
                                        if k != "orientations"}},
        "versions": versions(),
        "petsc_packages": {k: v for k, v in capabilities().items() if v},
        "mpi_ranks": comm.size,
        "wall_time_s": _time.perf_counter() - wall0,
        "timings_s": timings,
        "steps": {"accepted": integ.steps, "rejected": integ.rejected, **problem.stats},
        "headline": headline,
        "citations": physics.citations(),
        "files": {k: str(v) for k, v in paths.items()},
    }
    if write:
        fio.finalise_summary(comm, folder, summary)
    result = Result(cfg.study.name, folder if write else None, rows, headline, summary, paths)
    if status != "completed":
        raise SolverError(f"{message} (partial results in {folder}; summary.json says failed)")
    return result


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


def _plots(cfg, physics, domain, folder, rows, crank) -> dict:
    from femcell import plotting

    out = {}
    comm = domain.comm
    name = physics.name
    t = [r["t"] for r in rows]
    tunit = ("h", 3600.0) if t[-1] >= 2 * 3600 else (("min", 60.0) if t[-1] >= 120 else
                                                       ("s", 1.0))
    if comm.rank == 0:
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
    u, factor = physics.output_fields()[name]
    p = plotting.plot_field(folder / "field.png", u, factor, "c [mol/m^3]",
                            title=f"{cfg.study.name}: c at t = {t[-1]:.4g} s")
    if comm.rank == 0 and p is not None:
        out["plot_field"] = p
    return out


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
    from femcell import io as fio
    from femcell._dolfinx import capabilities, versions
    from femcell.protocol import Protocol, ProtocolError, ProtocolRunner
    from femcell.units import UnitError, to_si

    wall0 = _time.perf_counter()
    folder = Path(output) if output is not None else Path("runs") / cfg.study.name
    base_dir = Path(source).parent if source else None
    timings = {}
    try:
        t0 = _time.perf_counter()
        domain = build_domain(cfg, comm, base_dir)
        timings["mesh_s"] = _time.perf_counter() - t0
        quality = domain.quality()
        if progress and comm.rank == 0:
            print(domain.quality_line(), flush=True)
        protocol = Protocol.from_dicts(cfg.protocol, lambda dim, key, v: to_si(v, dim, name=key))
        t0 = _time.perf_counter()
        physics = build_cell_physics(cfg, domain)
        phys = physics[-1]  # the charge transport; concentrations come first
        problem = Problem(domain, physics, linear_solver=cfg.solver.linear)
        timings["setup_s"] = _time.perf_counter() - t0
    except (RegionError, MaterialError, ProtocolError, UnitError) as exc:
        raise ConfigError(str(exc)) from None

    rank0 = comm.rank == 0
    paths, writer, table = _open_run_folder(comm, folder, domain, physics, write,
                                            cfg.output.fields)
    problem.initialise()
    integ = TimeIntegrator(problem, StepController(dt_initial=cfg.time.dt, adaptive=False,
                                                   max_cuts=cfg.time.max_cuts))
    bar = None
    if progress and rank0:
        from tqdm import tqdm

        bar = tqdm(desc=cfg.study.name, unit=" steps", mininterval=0.5)
    count = [0]

    def record(row):
        table.append(row)
        count[0] += 1
        if writer and count[0] % cfg.output.field_every == 0:
            phys.refresh_outputs()
            writer.write(row["t"])
        if bar is not None:
            bar.set_postfix_str(f"t={row['t']:.4g} s V={row['cell_voltage']:.4g} V "
                                f"[{row['label']}]", refresh=False)
            bar.update(1)

    runner = ProtocolRunner(problem, phys, integ, dt=cfg.time.dt, rise_time=cfg.time.rise_time,
                            record=record)
    status, message, bad_input = "completed", "", None
    t0 = _time.perf_counter()
    try:
        runner.run(protocol)
    except SolverError as exc:
        status, message = "failed", str(exc)
    except ProtocolError as exc:  # found while running (e.g. an unknown quantity name)
        status, message, bad_input = "failed", str(exc), exc
    finally:
        if writer:
            phys.refresh_outputs()
            writer.write(integ.t)
            writer.close()
        if bar is not None:
            bar.close()
        table.close()
    timings["time_loop_s"] = _time.perf_counter() - t0
    problem.close()
    rows = table.rows
    steps = [{"index": s.index, "label": s.label, "kind": s.kind, "cycle": s.cycle,
              "t_start_s": s.t_start, "t_end_s": s.t_end, "ended_by": s.reason,
              "charge_C_m2": s.charge,
              "end_cell_voltage_V": s.end_quantities.get("cell_voltage"),
              "end_current_density_A_m2": s.end_quantities.get("current_density")}
             for s in runner.summaries]
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
        paths.update(_cell_plots(cfg, phys, folder, rows, comm))
    summary = {
        "status": status, "message": message, "study": cfg.study.name, "source": source,
        "inputs_si": cfg.model_dump(),
        "domain": {"description": domain.describe(), "cells": domain.num_cells_global(),
                   "dofs": problem.num_dofs, "mesh_quality": quality},
        "versions": versions(),
        "petsc_packages": {k: v for k, v in capabilities().items() if v},
        "mpi_ranks": comm.size, "wall_time_s": _time.perf_counter() - wall0,
        "timings_s": timings,
        "steps": {"accepted": integ.steps, "rejected": integ.rejected, **problem.stats},
        "protocol_steps": steps, "headline": headline,
        "citations": list(dict.fromkeys(c for p in physics for c in p.citations())),
        "files": {k: str(v) for k, v in paths.items()},
    }
    if write:
        fio.finalise_summary(comm, folder, summary)
    result = Result(cfg.study.name, folder if write else None, rows, headline, summary, paths)
    if bad_input is not None:
        raise ConfigError(str(bad_input))
    if status != "completed":
        raise SolverError(f"{message} (partial results in {folder}; summary.json says failed)")
    return result


def _cell_plots(cfg, phys, folder, rows, comm) -> dict:
    from femcell import plotting

    out = {}
    if comm.rank != 0:
        return out
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
    rank 0 writes sweep.csv (parameters + headline numbers), sweep.json and sweep.png.

    Args:
        path: the study TOML with a [sweep] table.
        overrides: --set style overrides applied before the sweep.
        output: sweep folder (default runs/<study name>).
        comm: MPI communicator of the whole sweep.
        progress: progress lines on rank 0.
        jobs: overrides [sweep] jobs.

    Returns:
        One dict per point: {"value", "folder", <parameter keys>, **headline}.
    """
    import copy
    import tomllib

    from femcell import io as fio
    from femcell.config import apply_overrides, load_config
    from femcell.sweep import SweepError, expand, n_groups, run_points

    raw = tomllib.loads(Path(path).read_text())
    raw = apply_overrides(raw, list(overrides or []))
    sweep = raw.pop("sweep", None)
    if not isinstance(sweep, dict):
        raise ConfigError(f"{path}: [sweep] must be a table")
    extra = set(sweep) - {"parameter", "values", "parameters", "mode", "label", "jobs"}
    if extra:
        raise ConfigError(f"{path}: unknown key(s) in [sweep]: {', '.join(sorted(extra))}")
    if ("parameter" in sweep) == ("parameters" in sweep):
        raise ConfigError(f"{path}: [sweep] needs either 'parameter' with 'values' or a "
                          "'parameters' table")
    params = ({sweep["parameter"]: sweep.get("values")} if "parameter" in sweep
              else sweep["parameters"])
    jobs = jobs if jobs is not None else sweep.get("jobs", "serial")
    try:
        if not isinstance(params, dict):
            raise SweepError("sweep: 'parameters' must be a table of lists")
        points = expand(params, sweep.get("mode", "grid"))
        ng = n_groups(comm, len(points), jobs)
    except SweepError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    name = raw.get("study", {}).get("name", "sweep")
    folder = Path(output) if output is not None else Path("runs") / name
    single = len(params) == 1
    label = sweep.get("label", next(iter(params)).split(".")[-1] if single else "point")
    cfgs = []  # validate every point before running any
    for point in points:
        data = copy.deepcopy(raw)
        for key, value in point.items():
            data = _set_path(data, key, value, path)
        cfgs.append(load_config(data=data))
    if progress and comm.rank == 0 and ng > 1:
        print(f"femcell: sweep of {len(points)} points as {ng} independent jobs", flush=True)

    def work(k, point, sub):
        world_lead = comm.rank == 0
        if progress and world_lead:
            shown = ", ".join(f"{key.split('.')[-1]} = {v}" for key, v in point.items())
            print(f"femcell: sweep {shown} ({k + 1}/{len(points)})", flush=True)
        res = run_study(cfgs[k], folder / f"{label}_{k}", comm=sub,
                        progress=progress and world_lead, source=str(path))
        return {"value": next(iter(point.values())) if single else k,
                "folder": str(folder / f"{label}_{k}"), **point, **res.headline}

    results = run_points(points, work, comm, jobs)
    if comm.rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        fio.write_json(folder / "sweep.json", {"parameters": params,
                                               "mode": sweep.get("mode", "grid"),
                                               "jobs": jobs, "groups": ng,
                                               "mpi_ranks": comm.size, "results": results})
        keys = ["value", *[k for k in params if k != "value"]]
        for r in results:  # the union: headlines may differ from point to point
            keys += [k for k, v in r.items() if k not in keys and k != "folder"
                     and (v is None or isinstance(v, int | float | str))]
        table = fio.QuantityTable(comm, folder / "sweep.csv")
        for r in results:
            table.append({k: (r.get(k) if isinstance(r.get(k), int | float) else
                              ("" if r.get(k) is None else str(r[k]))) for k in keys})
        table.close()
        _sweep_plot(folder / "sweep.png", results, list(params), name)
    comm.barrier()
    return results


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
    axes[-1, 0].set_xlabel(params[0])
    axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _set_path(data: dict, dotted: str, value, source) -> dict:
    """Set data[a][b][0][c] = value for dotted = "a.b.0.c" (lists indexed by number)."""
    parts = dotted.split(".")
    node = data
    for p in parts[:-1]:
        try:
            node = node[int(p)] if isinstance(node, list) else node[p]
        except (KeyError, IndexError, ValueError):
            raise ConfigError(f"{source}: sweep parameter {dotted!r}: no key {p!r}") from None
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
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
        raise ConfigError(f"cases.{case.name}.set: {exc}".splitlines()[0]) from None


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
    them as independent MPI jobs, one group of ranks per ramp.
    """
    from femcell import io as fio
    from femcell._dolfinx import versions
    from femcell.protocol import arrhenius_fit
    from femcell.sweep import SweepError, n_groups, run_points

    wall0 = _time.perf_counter()
    folder = Path(output) if output is not None else Path("runs") / cfg.study.name
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
    if write:
        if comm.rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
        comm.barrier()
        fio.remove_stale_summary(comm, folder)
    domains = {}

    def domain_on(sub):
        if id(sub) not in domains:
            try:
                domains[id(sub)] = build_domain(cfg, sub, base_dir)
            except (RegionError, MaterialError) as exc:
                raise ConfigError(str(exc)) from None
        return domains[id(sub)]

    mesh_info = {}  # quality and description of the mesh the ramps use (any group's)
    if ng == 1:
        domain = domain_on(comm)
        mesh_info.update(quality=domain.quality(), description=domain.describe())
        if progress and comm.rank == 0:
            print(domain.quality_line(), flush=True)
    elif progress and comm.rank == 0:
        print(f"femcell: {len(points)} ramps as {ng} independent jobs", flush=True)
    shown = set()

    def say_ramp(k, r):
        if progress and comm.rank == 0 and k not in shown:
            shown.add(k)
            jc = r["j_crit_A_m2"]
            txt = f"{jc * 0.1:.4g} mA/cm^2" if jc else "no failure"
            print(f"  {r['case']:20s} T = {r['temperature_K'] - 273.15:5.1f} degC  j_crit = "
                  f"{txt:16s} ({r['regime']}; {r['ramp_steps']} steps)", flush=True)
            if r.get("stripped_fraction_of_anode", 0.0) > 0.5:
                print(f"    warning: the ramp stripped {r['stripped_fraction_of_anode']:.0%} of "
                      "the anode thickness; the model keeps the anode geometry fixed",
                      flush=True)

    def work(k, point, sub):
        c, T = point
        dom = domain_on(sub)
        if not mesh_info:
            mesh_info.update(quality=dom.quality(), description=dom.describe())
        r = _ccd_ramp(case_cfgs[c], cfg.cases[c], T, dom, folder, write)
        if ng == 1:  # split runs print the ramps in order once all groups are done
            say_ramp(k, r)
        return r

    results = run_points(points, work, comm, jobs)
    if ng > 1:
        domains.clear()
        _free_solvers(comm)
        for k, r in enumerate(results):
            say_ramp(k, r)
    # every group meshed the same geometry: rank 0's group reports it
    quality, description = comm.bcast((mesh_info.get("quality"),
                                        mesh_info.get("description")), root=0)
    fits = {}
    for c, (case, ccfg) in enumerate(zip(cfg.cases, case_cfgs, strict=True)):
        ok = [(r["temperature_K"], r["j_crit_A_m2"]) for (cc, _), r in zip(points, results,
                                                                          strict=True)
              if cc == c and r["j_crit_A_m2"]]
        if len(ok) >= 2:
            fit = arrhenius_fit([t for t, _ in ok], [j for _, j in ok])
            fit["published_ea_eV"] = case.published_ea_eV
            fit["published_source"] = case.published_source
            barrier = [r["interface_barrier_eV"] for (cc, _), r in zip(points, results,
                                                                      strict=True) if cc == c]
            fit["set_barriers_eV"] = {
                "interface": barrier[0],
                "bulk_migration": ccfg.vacancies.migration_energy / mcore.EV}
            fits[case.name] = fit
    headline = {f"E_A[{name}]_eV": f["activation_energy_eV"] for name, f in fits.items()}
    headline.update({f"E_A_se[{name}]_eV": f["activation_energy_se_eV"]
                     for name, f in fits.items()})
    if not fits:  # one temperature: the critical currents themselves are the headline
        many_t = len({r["temperature_K"] for r in results}) > 1
        headline.update({(f"j_crit[{r['case']}, {r['temperature_K'] - 273.15:.0f} degC]_A_m2"
                          if many_t else f"j_crit[{r['case']}]_A_m2"): r["j_crit_A_m2"]
                         for r in results})
    paths = {}
    if write and comm.rank == 0:
        table = fio.QuantityTable(comm, folder / "j_crit.csv")
        for r in results:
            table.append({k: v for k, v in r.items()})
        table.close()
        paths["table"] = folder / "j_crit.csv"
        if fits:
            paths["arrhenius_plot"] = _arrhenius_plot(folder / "arrhenius.png", results, fits,
                                                      cfg.study.name)
        else:
            paths["cases_plot"] = _ccd_cases_plot(folder / "j_crit.png", results,
                                                  cfg.study.name)
    summary = {"status": "completed", "study": cfg.study.name, "source": source,
               "inputs_si": cfg.model_dump(), "versions": versions(), "mpi_ranks": comm.size,
               "jobs": {"mode": jobs, "groups": ng},
               "wall_time_s": _time.perf_counter() - wall0,
               "domain": {"description": description, "mesh_quality": quality},
               "ramps": results, "arrhenius_fits": fits, "headline": headline,
               "citations": list(dict.fromkeys(
                   [get_material(n).all_citations()[0] for n in cfg.conductors.values()]
                   + cites)),
               "files": {k: str(v) for k, v in paths.items()}}
    if write:
        fio.finalise_summary(comm, folder, summary)
    return Result(cfg.study.name, folder if write else None, results, headline, summary, paths)


def _ccd_ramp(ccfg, case, T, domain, folder, write) -> dict:
    """One current ramp of a CCD study at temperature T [K] on domain (its communicator):
    j_crit, regime, optional time to contact loss at a fixed current, fields at failure."""
    from femcell import io as fio
    from femcell.protocol import (
        Protocol,
        ProtocolRunner,
        Step,
        Until,
        detect_ccd,
        first_fall_below,
    )

    comm = domain.comm
    dt = ccfg.ramp.dt
    rate = ccfg.ramp.rate * case.rate_factor

    def run(step, until_contact, dt=dt, max_time=ccfg.ramp.max_time):
        try:
            physics, ct, limits = _ccd_physics(ccfg, domain, T)
            problem = Problem(domain, physics, linear_solver=ccfg.solver.linear)
        except (RegionError, MaterialError) as exc:
            raise ConfigError(str(exc)) from None
        problem.initialise()
        integ = TimeIntegrator(problem, StepController(dt_initial=dt, adaptive=False))
        rows = []
        ProtocolRunner(problem, ct, integ, dt=dt, record=rows.append).run(Protocol([
            Step(*step[0], **step[1], until=Until(quantity=("contact_fraction", "below",
                                                            until_contact),
                                                  time=max_time))]))
        return problem, physics, ct, integ, rows, limits

    t0 = _time.perf_counter()
    problem, physics, ct, integ, rows, limits = run(
        (("ramp",), {"rate": rate, "label": f"{case.name}@{T:.1f}K"}), ccfg.ramp.stop_contact)
    jc = detect_ccd(rows, criterion=ccfg.ramp.criterion, threshold=ccfg.ramp.threshold)
    if write and ccfg.output.fields:  # the fields at the moment of failure
        sub = folder / f"{case.name}_{T - 273.15:.0f}C"
        if comm.rank == 0:
            sub.mkdir(parents=True, exist_ok=True)
        comm.barrier()
        outputs = {}
        for p in physics:
            outputs.update(p.output_fields())
        ct.refresh_outputs()
        w = fio.FieldWriter(comm, sub / "fields.bp", outputs)
        w.write(integ.t)
        w.close()
    problem.close()
    del problem, physics, ct, integ
    t_loss = None
    if ccfg.ramp.hold_current is not None:  # time to contact loss at a fixed current
        pb2, _, _, _, rows2, _ = run(
            (("current",), {"current_density": ccfg.ramp.hold_current}), ccfg.ramp.threshold,
            dt=ccfg.ramp.hold_dt or dt, max_time=ccfg.ramp.hold_max_time or ccfg.ramp.max_time)
        pb2.close()
        t_loss = first_fall_below([0.0] + [r["t"] for r in rows2],  # full contact at t = 0
                                  [1.0] + [r["contact_fraction"] for r in rows2],
                                  ccfg.ramp.threshold)
    _free_solvers(comm)
    t_crit = jc / rate if jc else None
    regime = ("interface-limited" if limits["j_interface_limit_A_m2"]
              < limits["j_bulk_limit_A_m2"] else "bulk-limited")
    if t_crit is not None and regime == "bulk-limited":
        regime += (" (quasi-steady)" if t_crit > 10 * limits["diffusion_time_s"]
                   else " (transient: fitted E_A tends to E_m / 3)")
    ledger = _metal_ledger(rows[-1], ccfg.cell.current_cc)
    anode_thickness = ccfg.geometry.params.get("anode_thickness")
    if anode_thickness:  # the anode geometry is fixed: flag ramps that strip most of it
        ledger["stripped_fraction_of_anode"] = ledger["stripped_thickness_m"] / anode_thickness
    return {"case": case.name, "temperature_K": T, "j_crit_A_m2": jc,
            "j_crit_mA_cm2": jc * 0.1 if jc else None, "ramp_steps": len(rows),
            "regime": regime, "ramp_time_s": t_crit, "time_to_contact_loss_s": t_loss,
            "wall_s": _time.perf_counter() - t0, **limits, **ledger}


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


def _arrhenius_plot(path, results, fits, title):
    from femcell.plotting import _mpl

    plt = _mpl()
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for name, fit in fits.items():
        pts = [(r["temperature_K"], r["j_crit_A_m2"]) for r in results
               if r["case"] == name and r["j_crit_A_m2"]]
        T = np.array([p[0] for p in pts])
        j = np.array([p[1] for p in pts]) * 0.1
        line = ax.semilogy(1000 / T, j, "o", label=f"{name}: E_A = "
                           f"{fit['activation_energy_eV']:.3f} +- "
                           f"{fit['activation_energy_se_eV']:.3f} eV")[0]
        tt = np.linspace(T.min(), T.max(), 50)
        from femcell.units import EV, K_B

        ax.semilogy(1000 / tt, 0.1 * fit["prefactor"] * np.exp(
            -fit["activation_energy_eV"] * EV / (K_B * tt)), "-", color=line.get_color())
    ax.set_xlabel("1000 / T [1/K]")
    ax.set_ylabel("critical current density [mA/cm^2]")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
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
