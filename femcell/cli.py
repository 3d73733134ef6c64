"""Command line: `femcell run|list|info|mesh|bench`. Parses arguments and calls the public API.

Bad input (a file, key, unit, material, region or parameter the user must fix) prints one
line to stderr on rank 0 and exits with code 2 on every rank.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_SOLVER = 3


def _rank() -> int:
    from femcell._dolfinx import MPI

    return MPI.COMM_WORLD.rank


def _say(msg: str, err: bool = False) -> None:
    if _rank() == 0:
        print(msg, file=sys.stderr if err else sys.stdout, flush=True)


def _bad_input_types():
    from femcell.runs import bad_input_errors

    return bad_input_errors()


def _has_sweep(args) -> bool:
    from femcell.config import read_study

    if any(s.strip().startswith("sweep.") for s in args.set):
        return True
    try:
        return "sweep" in read_study(args.study)
    except Exception:  # load_config reports the problem in one line
        return False


def _run_overrides(args) -> list[str]:
    """--set plus what the checkpoint and PETSc options mean as study keys; --restart
    names the run folder (ConfigError on a conflicting --output)."""
    from femcell.config import ConfigError

    sets = list(args.set)
    if args.checkpoint_every is not None:
        sets.append(f"checkpoint.every_steps={args.checkpoint_every}")
    if args.checkpoint_minutes is not None:
        sets.append(f"checkpoint.every_minutes={args.checkpoint_minutes}")
    for item in args.petsc_option:
        key, eq, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not key:
            raise ConfigError(f"--petsc-option {item!r}: expected KEY=VALUE, e.g. ksp_type=cg "
                              "or log_view=")
        sets.append(f"solver.petsc_options.{key}={value!r}" if eq else
                    f"solver.petsc_options.{key}=''")
    if args.restart is not None:
        if args.output and Path(args.output).resolve() != Path(args.restart).resolve():
            raise ConfigError(f"--restart {args.restart} continues that run folder; --output "
                              f"{args.output} names another (give one of them)")
        args.output = args.restart
    return sets


def cmd_run(args) -> int:
    from femcell.config import load_config
    from femcell.runs import default_folder, fmt_pm
    from femcell.studies import fmt_headline, run_study, run_sweep

    args.set = _run_overrides(args)
    progress = not args.quiet and args.log_level != "warning"
    restart = args.restart is not None
    if _has_sweep(args):
        results = run_sweep(args.study, args.set, args.output, progress=progress,
                            jobs=args.jobs, restart=restart, log_level=args.log_level)
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
    out = Path(args.output) if args.output else default_folder(cfg.study.name)
    args.output = str(out)
    _say(f"femcell: study {cfg.study.name} -> {out}")
    res = run_study(cfg, out, progress=progress, source=str(args.study),
                    jobs=args.jobs or "serial", restart=restart, log_level=args.log_level)
    sm = res.summary
    steps = sm.get("steps", {}).get("accepted")
    _say(f"femcell: {cfg.study.name} completed in {sm['wall_time_s']:.1f} s on "
         f"{sm['mpi_ranks']} rank(s)" + (f"; {steps} steps" if steps else ""))
    if sm.get("ended_by") and sm["ended_by"] != "end time":
        _say(f"  ended by: {sm['ended_by']}")
    _say(fmt_headline(res.headline))
    if sm.get("definition"):
        _say(f"  ({sm['definition']})")
    for name, fit in sm.get("arrhenius_fits", {}).items():
        pub = fit.get("published_ea_eV")
        if isinstance(pub, list):
            pub = f"{pub[0]:.2f}-{pub[1]:.2f} eV"
        elif pub is not None:
            pub = f"{pub:.3f} eV"
        src = fit.get("published_source")
        bar = fit.get("set_barriers_eV", {})
        ea = fit["activation_energy_eV"]
        _say(f"  {name:22s} fitted E_A = {fmt_pm(ea, fit['activation_energy_se_eV'], 'eV')}")
        extra = "".join(f", {label} {bar[key]:.3f} eV" for key, label in (
            ("vacancy_formation", "vacancy formation"),
            ("adhesion_per_site", "adhesion per site")) if key in bar)
        cf = fit.get("closed_form_ea_eV")
        _say(f"  {'':22s} input: interface barrier {bar.get('interface', float('nan')):.3f} "
             f"eV, bulk migration {bar.get('bulk_migration', float('nan')):.3f} eV{extra}")
        _say(f"  {'':22s} " + (f"closed-form flat-interface E_A {cf:.3f} eV" if cf is not None
                                else "")
             + ("; " if cf is not None and pub else "")
             + (f"published E_A: {pub}" + (f" ({src})" if src else "") if pub else ""))
        sens = [r for r in sm.get("sensitivity", []) if r["case"] == name
                and r.get("activation_energy_eV") is not None]
        if len(sens) > 1:
            eas = [r["activation_energy_eV"] for r in sens
                   if r["kind"] in ("as run", "input moved")]
            frozen = [r for r in sens if r["variant"].startswith("x_v and theta_crit")]
            _say(f"  {'':22s} closed-form E_A with the inputs moved: {min(eas):.3f}-"
                 f"{max(eas):.3f} eV" + (f"; {frozen[0]['activation_energy_eV']:.3f} eV with "
                                         "x_v, theta_crit frozen" if frozen else "")
                 + " (sensitivity.csv)")
    for st in sm.get("protocol_steps", []):
        v, j = st["end_cell_voltage_V"], st["end_current_density_A_m2"]
        _say(f"  step {st['index']:3d} {st['label']:12s} {st['kind']:8s} ended by "
             f"{st['ended_by']:14s} t = {st['t_end_s']:10.4g} s  V = "
             + (f"{v:+.5f} V" if v is not None else "n/a")
             + ("  I = " + (f"{j * 0.1:+.4f} mA/cm^2" if j is not None else "n/a")))
    if sm.get("warnings"):
        _say(f"femcell: {len(sm['warnings'])} warning(s), listed in {out}/summary.json")
    _say(f"femcell: results in {out}/ ({_folder_hint(sm)})")
    return 0


def _folder_hint(summary: dict) -> str:
    """What the run folder holds, from the files the run wrote (see docs/run-folder.md)."""
    names = sorted({Path(v).name for v in summary.get("files", {}).values()})
    return ", ".join(names) + "; docs/run-folder.md says what opens each file"


def cmd_list(args) -> int:
    from femcell.config import ConfigError, read_study
    from femcell.geometry import BUILDERS
    from femcell.materials import list_materials
    from femcell.materials.library import list_anode_sets
    from femcell.materials.library.anodes import INTERLAYERS
    from femcell.sections import is_array, section_keys
    from femcell.studies.registry import KINDS

    root = Path(args.problems)
    if root.is_dir():
        _say("studies:")
    elif args.problems != "problems":
        raise ConfigError(f"--problems {str(root)!r}: no such folder")
    else:
        _say("studies: (no problems/ folder here; run from the femcell folder or give "
             "--problems FOLDER)")
    for p in sorted(root.glob("*.toml")) if root.is_dir() else []:
        try:
            study = read_study(p).get("study", {})
            desc = study.get("description", "") if isinstance(study, dict) else ""
        except ConfigError as exc:
            desc = f"(unreadable: {exc})"
        _say(f"  {p}  {desc}")
    _say("study kinds ([study] kind):")
    for name, kind in KINDS.items():
        _say(f"  {name:22s} {kind.description}")
    _say("physics sections: " + ", ".join(
        f"[[{k}]]" if is_array(k) else f"[{k}]" for k in section_keys()))
    _say("materials: " + ", ".join(list_materials()))
    from femcell.materials.mechanical import list_mechanics

    _say("mechanical data ([mechanics] material): " + ", ".join(list_mechanics()))
    _say("metal-anode parameter sets (anode.parameters): " + ", ".join(list_anode_sets()))
    _say("interlayers (anode.interface.interlayer): " + ", ".join(sorted(INTERLAYERS)))
    _say("geometry builders (femcell mesh BUILDER --help lists every parameter):")
    for name in sorted(BUILDERS):
        _say(f"  {name:22s} " + ", ".join(f"{k}={_show_default(d)}"
                                           for k, d, _ in _builder_params(name)))
    return 0


def _builder_params(name: str) -> list[tuple]:
    from femcell.geometry import builder_parameters

    return builder_parameters(name)


def _show_default(value) -> str:
    if value is None:
        return "(derived)"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


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
    if args.output and Path(args.output).suffix != ".msh":
        raise ConfigError(f"-o {args.output!r}: the mesh is written as gmsh .msh (give a "
                          "file name ending in .msh)")
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
    r.add_argument("--restart", metavar="RUN_FOLDER",
                   help="continue the run in RUN_FOLDER from its newest checkpoint (on any "
                   "number of ranks; sweeps and CCD studies redo only unfinished points)")
    r.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="write a checkpoint every N accepted steps (checkpoint.every_steps)")
    r.add_argument("--checkpoint-minutes", type=float, metavar="M",
                   help="write a checkpoint every M wall minutes (checkpoint.every_minutes)")
    r.add_argument("--petsc-option", action="append", default=[], metavar="KEY=VALUE",
                   help="PETSc option over femcell's presets, e.g. ksp_type=cg, "
                   "snes_monitor= ; log_view= writes petsc_log.txt (solver.petsc_options)")
    r.add_argument("--log-level", choices=["warning", "info", "debug"], default="info",
                   help="warning: no progress (as --quiet); info: progress (default); "
                   "debug: also one line per step with its timings (also with --quiet)")
    r.set_defaults(func=cmd_run)
    ls = sub.add_parser("list", help="list studies, materials and geometry builders")
    ls.add_argument("--problems", default="problems")
    ls.set_defaults(func=cmd_list)
    i = sub.add_parser("info", help="versions, MPI ranks and PETSc packages")
    i.set_defaults(func=cmd_info)
    m = sub.add_parser("mesh", help="build a geometry and optionally write a .msh",
                       description="Build a geometry with one of the builders (femcell list "
                       "shows them) and print its mesh quality; -o writes a gmsh .msh (and "
                       "a .json of its metadata). Lengths take units: --set h='2 um'.")
    m.add_argument("builder", help="geometry builder (femcell list); "
                   "femcell mesh BUILDER --help lists its parameters")
    m.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    m.add_argument("-o", "--output")
    m.set_defaults(func=cmd_mesh)
    b = sub.add_parser("bench", help="benchmarks (docs/benchmarks.md)")
    b.add_argument("problem", choices=["particle", "cell", "scaling", "fracture", "impedance"])
    b.add_argument("extra", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)
    return p


def _builder_help(argv: list[str]) -> bool:
    """`femcell mesh BUILDER --help`: the builder's parameters with defaults (rank 0)."""
    from femcell.geometry import BUILDERS

    if len(argv) < 3 or argv[0] != "mesh" or not {"-h", "--help"} & set(argv):
        return False
    name = next((a for a in argv[1:] if not a.startswith("-")), None)
    if name not in BUILDERS:
        return False
    _say(f"usage: femcell mesh {name} [--set PARAM=VALUE ...] [-o FILE.msh]\n")
    _say(f"parameters of {name} (SI numbers or strings with units, e.g. h='2 um'):")
    for k, d, desc in _builder_params(name):
        _say(f"  {k:24s} default {_show_default(d):14s} {desc}")
    return True


def main(argv: list[str] | None = None) -> int:
    """Entry point. Every rank runs the same command; errors end every rank with the same
    exit code: 2 bad input, 3 no convergence, 128 + signal when interrupted, 1 a bug."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if _builder_help(argv):
        return 0
    args = build_parser().parse_args(argv)
    from femcell import interrupt
    from femcell._dolfinx import MPI
    from femcell.solvers.snes import SolverError

    if args.command == "run":  # runs poll a flag after every step; other commands simply
        interrupt.install()    # stop at Ctrl-C (KeyboardInterrupt)
    errcomm = MPI.COMM_WORLD.Dup() if MPI.COMM_WORLD.size > 1 else None
    msg, code = None, 0
    try:
        try:
            code = args.func(args)
        except Exception as exc:
            if interrupt.pending() and not isinstance(exc, interrupt.Interrupted):
                # the signal also reached a child process (the JIT compiler, gmsh) and
                # surfaced as its error: it is the interrupt all the same
                raise interrupt.Interrupted(interrupt.pending()) from exc
            raise
    except _bad_input_types() as exc:
        msg, code = f"femcell: error: {exc}", EXIT_BAD_INPUT
    except interrupt.Interrupted as exc:
        msg, code = (f"femcell: {exc}: stopped on every rank; the run folder's summary.json "
                     "says interrupted"), exc.exit_code
        if args.command == "run" and getattr(args, "output", None) is not None:
            msg += (f"; continue with: {_restart_command(argv, args.output)} (on any number "
                    "of ranks)")
    except KeyboardInterrupt:  # Ctrl-C in a command that does not poll (list, mesh, bench)
        msg, code = "femcell: interrupted", 130
    except OSError as exc:  # the file system (disk full, permissions): not a femcell bug
        msg, code = f"femcell: I/O error: {exc}", EXIT_BUG
    except SolverError as exc:
        msg, code = f"femcell: run stopped: {exc}", EXIT_SOLVER
    except Exception as exc:  # a bug: one line (the traceback with FEMCELL_DEBUG=1)
        if os.environ.get("FEMCELL_DEBUG"):
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        msg, code = (f"femcell: internal error: {type(exc).__name__}: {first} (please report "
                     "it; FEMCELL_DEBUG=1 prints the traceback)"), EXIT_BUG
    finally:
        interrupt.uninstall()
    if msg is not None:
        _end_together(errcomm, msg, code)
    if errcomm is not None:
        errcomm.Free()
    return code


def _restart_command(argv: list[str], folder: str) -> str:
    """The command line that continues an interrupted run: the same arguments with the run
    folder given to --restart instead of --output."""
    import shlex

    exe = sys.argv[0] if Path(sys.argv[0]).name == "femcell" else "femcell"
    out, skip = [exe], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("-o", "--output", "--restart"):
            skip = True
            continue
        if a.startswith(("--output=", "--restart=")) or (a.startswith("-o") and a != "-o"
                                                         and len(a) > 2):
            continue
        out.append(a)
    return shlex.join(out + ["--restart", folder])


def _end_together(errcomm, msg: str, code: int) -> None:
    """Print an error once. On several ranks, wait (on a private communicator) until every
    rank has failed too; a rank that failed alone prints its message and aborts the job
    after FEMCELL_ERROR_GRACE seconds (default 10) instead of leaving the others hanging."""
    import time

    if errcomm is None:
        print(msg, file=sys.stderr, flush=True)
        return
    req = errcomm.Ibarrier()
    try:
        grace = min(max(float(os.environ.get("FEMCELL_ERROR_GRACE", "10")), 0.0), 3600.0)
    except ValueError:
        grace = 10.0
    if grace != grace:  # nan
        grace = 10.0
    t0 = time.monotonic()
    while not req.Test():
        if time.monotonic() - t0 > grace:
            print(f"{msg} [rank {errcomm.rank} alone; aborting the job]", file=sys.stderr,
                  flush=True)
            errcomm.Abort(code)
        time.sleep(0.01)
    if errcomm.rank == 0:
        print(msg, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
