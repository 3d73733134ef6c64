"""Command line: `femcell run|list|info|mesh|bench`. Parses arguments and calls the public API.

Bad input (a file, key, unit, material, region or parameter the user must fix) prints one
line to stderr on rank 0 and exits with code 2 on every rank.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_SOLVER = 3


def _rank() -> int:
    from femcell._dolfinx import MPI

    return MPI.COMM_WORLD.rank


def _say(msg: str, err: bool = False) -> None:
    if _rank() == 0:
        print(msg, file=sys.stderr if err else sys.stdout, flush=True)


def _bad_input_types():
    from femcell.config import ConfigError
    from femcell.domain import DomainError, RegionError
    from femcell.geometry import GeometryError
    from femcell.materials.core import MaterialError
    from femcell.units import UnitError

    return (ConfigError, DomainError, RegionError, GeometryError, MaterialError, UnitError)


def cmd_run(args) -> int:
    import tomllib

    from femcell.config import load_config
    from femcell.solvers.snes import SolverError
    from femcell.studies import fmt_headline, run_study, run_sweep

    try:
        has_sweep = "sweep" in tomllib.loads(Path(args.study).read_text())
    except (OSError, tomllib.TOMLDecodeError):
        has_sweep = False  # load_config reports the problem in one line
    has_sweep = has_sweep or any(s.strip().startswith("sweep.") for s in args.set)
    if has_sweep:
        try:
            results = run_sweep(args.study, args.set, args.output, progress=not args.quiet,
                                jobs=args.jobs)
        except SolverError as exc:
            _say(f"femcell: run stopped: {exc}", err=True)
            return EXIT_SOLVER
        keys = list(dict.fromkeys(k for r in results for k in r if k not in ("value",
                                                                              "folder")))

        def cell(v):
            return f"{v:.5g}" if isinstance(v, float) else str(v)

        _say("femcell: sweep results")
        _say("  " + " | ".join(keys))
        for r in results:
            _say("  " + " | ".join(cell(r.get(k)) for k in keys))
        return 0
    cfg = load_config(args.study, args.set)
    out = Path(args.output) if args.output else Path("runs") / cfg.study.name
    _say(f"femcell: study {cfg.study.name} -> {out}")
    try:
        res = run_study(cfg, out, progress=not args.quiet, source=str(args.study),
                        jobs=args.jobs or "serial")
    except SolverError as exc:
        _say(f"femcell: run stopped: {exc}", err=True)
        return EXIT_SOLVER
    steps = res.summary.get("steps", {}).get("accepted")
    _say(f"femcell: {cfg.study.name} completed in {res.summary['wall_time_s']:.1f} s on "
         f"{res.summary['mpi_ranks']} rank(s)" + (f"; {steps} steps" if steps else ""))
    _say(fmt_headline(res.headline))
    for name, fit in res.summary.get("arrhenius_fits", {}).items():
        pub = fit.get("published_ea_eV")
        if isinstance(pub, list):
            pub = f"{pub[0]:.2f}-{pub[1]:.2f}"
        elif pub is not None:
            pub = f"{pub:.3f}"
        se = fit["activation_energy_se_eV"]
        se = f"{se:.3f}" if se == se else "n/a (two points)"
        src = fit.get("published_source")
        _say(f"  {name:22s} E_A = {fit['activation_energy_eV']:.3f} +- {se} eV"
             + (f"   (published: {pub} eV" + (f", {src})" if src else ")") if pub else ""))
    for st in res.summary.get("protocol_steps", []):
        _say(f"  step {st['index']:3d} {st['label']:12s} {st['kind']:8s} ended by "
             f"{st['ended_by']:14s} t = {st['t_end_s']:10.4g} s  V = "
             f"{st['end_cell_voltage_V']:+.5f} V  I = "
             f"{st['end_current_density_A_m2'] * 0.1:+.4f} mA/cm^2")
    _say(f"femcell: results in {out}/ (fields.bp and mesh_tags.xdmf open in ParaView)")
    return 0


def cmd_list(args) -> int:
    from femcell.geometry import BUILDERS
    from femcell.materials import list_materials

    root = Path(args.problems)
    _say("studies:")
    for p in sorted(root.glob("*.toml")):
        import tomllib

        try:
            desc = tomllib.loads(p.read_text()).get("study", {}).get("description", "")
        except tomllib.TOMLDecodeError:
            desc = "(invalid TOML)"
        _say(f"  {p}  {desc}")
    _say("materials: " + ", ".join(list_materials()))
    from femcell.materials.library import list_anode_sets
    from femcell.materials.library.anodes import INTERLAYERS

    _say("metal-anode parameter sets (anode_parameters): " + ", ".join(list_anode_sets()))
    _say("interlayers (interface.interlayer): " + ", ".join(sorted(INTERLAYERS)))
    _say("geometry builders: " + ", ".join(sorted(BUILDERS)))
    return 0


def cmd_info(args) -> int:
    from femcell._dolfinx import MPI, capabilities, versions

    v = versions()
    for k, val in v.items():
        _say(f"{k:14s} {val}")
    _say(f"{'mpi ranks':14s} {MPI.COMM_WORLD.size}")
    caps = capabilities()
    _say(f"{'petsc found':14s} {', '.join(k for k, ok in caps.items() if ok)}")
    _say(f"{'petsc missing':14s} {', '.join(k for k, ok in caps.items() if not ok)}")
    return 0


def cmd_mesh(args) -> int:
    from femcell.config import ConfigError, _geometry_param, apply_overrides
    from femcell.domain import Domain

    params = _flatten_builder_params(args.builder, apply_overrides({}, args.set))
    for key, value in params.items():
        try:
            params[key] = _geometry_param(value)
        except ValueError as exc:
            raise ConfigError(f"--set {key}: {exc}") from None
    coords = params.pop("coordinates", "cartesian")
    dom = Domain.from_builder(args.builder, coordinates=coords, msh_file=args.output, **params)
    _say(dom.describe())
    _say(dom.quality_line())
    if args.output:
        _say(f"femcell: wrote {args.output} and {Path(args.output).with_suffix('.json')}")
    return 0


def _flatten_builder_params(builder: str, params: dict) -> dict:
    """--set electrolyte.thickness=... -> electrolyte_thickness=... when the builder takes a
    flat parameter of that name (nested tables it takes as dicts stay nested)."""
    import inspect

    from femcell.geometry import BUILDERS

    names = set(inspect.signature(BUILDERS[builder]).parameters) if builder in BUILDERS else set()
    out = {}
    for key, value in params.items():
        if isinstance(value, dict) and key not in names:
            for sub, v in _flatten_builder_params(builder, {f"{key}_{k}": v for k, v in
                                                            value.items()}).items():
                out[sub] = v
        else:
            out[key] = value
    return out


def cmd_bench(args) -> int:
    from femcell import bench

    return bench.main(args.problem, args.extra)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="femcell", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a study TOML")
    r.add_argument("study", help="study file (problems/*.toml)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a study key, e.g. --set time.end='30 min'")
    r.add_argument("--output", "-o", help="run folder (default runs/<study name>)")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    r.add_argument("--jobs", choices=["serial", "split"], default=None,
                   help="sweeps and CCD studies: run their points one after another on all "
                   "ranks (serial, default) or as independent MPI jobs (split)")
    r.set_defaults(func=cmd_run)
    ls = sub.add_parser("list", help="list studies, materials and geometry builders")
    ls.add_argument("--problems", default="problems")
    ls.set_defaults(func=cmd_list)
    i = sub.add_parser("info", help="versions, MPI ranks and PETSc packages")
    i.set_defaults(func=cmd_info)
    m = sub.add_parser("mesh", help="build a geometry and optionally write a .msh")
    m.add_argument("builder")
    m.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    m.add_argument("-o", "--output")
    m.set_defaults(func=cmd_mesh)
    b = sub.add_parser("bench", help="benchmarks (PERFORMANCE.md)")
    b.add_argument("problem", choices=["particle", "cell"])
    b.add_argument("extra", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except _bad_input_types() as exc:
        _say(f"femcell: error: {exc}", err=True)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
