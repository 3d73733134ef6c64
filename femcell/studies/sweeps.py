"""Sweeps: a study file run over the points of its [sweep] table, one folder per point,
one table of the headline numbers (femcell.sweep runs the points, serially or as independent
MPI jobs). The same `set_path` applies a sweep point and a CCD case's overrides."""

from __future__ import annotations

import copy
import re
from pathlib import Path

from femcell import interrupt
from femcell._dolfinx import MPI
from femcell.config import ConfigError
from femcell.config.messages import split_key
from femcell.parallel import on_root
from femcell.runs import bad_input_errors, status_of


def set_path(data: dict, dotted: str, value) -> dict:
    """Set data[a][b][0][c] = value for dotted = "a.b.0.c" (lists indexed by number;
    missing tables are created, so a key the file leaves at its default can be set).

    Raises:
        KeyError: no such key (a list index out of range, a value where a table is needed).
    """
    parts = split_key(dotted)
    node = data
    try:
        for p in parts[:-1]:
            if isinstance(node, list):
                node = node[int(p)]
            elif isinstance(node, dict):
                if isinstance(node.get(p), str):  # a thing given by name: a table with it
                    node[p] = {"name": node[p]}
                node = node.setdefault(p, {})
                if node is None:
                    raise KeyError(p)
            else:
                raise KeyError(p)
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise KeyError(last)
    except (IndexError, ValueError, TypeError):
        raise KeyError(dotted) from None
    return data


def run_sweep(path, overrides: list[str] | None = None, output=None, *, comm=MPI.COMM_WORLD,
              progress: bool = True, jobs: str | int | None = None,
              restart: bool = False, log_level: str = "info") -> list[dict]:
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
        log_level: passed to every point (femcell.run_study).
        restart: continue the sweep in `output`: points whose summary.json says completed
            (with the same inputs) are read back, points with a checkpoint continue from it,
            the others run from the start.

    Returns:
        One dict per point: {"value", "folder", <parameter keys (SI)>, **headline}.
    """
    from femcell import io as fio
    from femcell.config import apply_overrides, load_config, read_study
    from femcell.studies.lifecycle import run_study
    from femcell.sweep import n_groups, run_points

    raw = apply_overrides(read_study(path), list(overrides or []))
    sweep = raw.pop("sweep", None)
    params, mode, label, jobs, scale, plot = _sweep_definition(sweep, path, jobs)
    weibull = list(sweep.get("weibull", []))
    name = raw.get("study", {}).get("name", "sweep") if isinstance(raw.get("study"),
                                                                   dict) else "sweep"
    cfgs, points, si_points = [], [], []
    for point in _sweep_points(params, mode, path):  # validate every point before any run
        data = copy.deepcopy(raw)
        for key, value in point.items():
            try:
                set_path(data, key, value)
            except KeyError:
                raise ConfigError(f"{path}: sweep parameter {key!r}: no such key in the "
                                  "study file") from None
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

    if restart:
        on_root(comm, lambda: _check_restart(folder, name, params, label, len(points)))

    def work(k, point, sub):
        from femcell.io import checkpoint as store
        from femcell.runs import Run
        from femcell.studies.lifecycle import completed_point

        world_lead = comm.rank == 0
        shown = ", ".join(f"{split_key(key)[-1]} = {v}" for key, v in point.items())
        point_folder = folder / f"{label}_{k}"
        again = False
        if restart:
            inputs = Run(cfgs[k].refined(), point_folder, sub, progress=False, write=False,
                         source=None, kind=cfgs[k].kind).restart_inputs()
            done = completed_point(point_folder, inputs, sub)
            if done is not None:
                if progress and world_lead:
                    print(f"femcell: sweep {shown} ({k + 1}/{len(points)}): completed before",
                          flush=True)
                return {"value": si_points[k][next(iter(point))] if single else k,
                        "folder": str(point_folder), **si_points[k], "status": "completed",
                        **{(f"{n} [{v['unit']}]" if v.get("unit") else n): v.get("value")
                           for n, v in done.get("headline", {}).items()}}
            again = on_root(sub, lambda: store.latest(point_folder) is not None, share=True)
        if progress and world_lead:
            print(f"femcell: sweep {shown} ({k + 1}/{len(points)})"
                  + (" continues from its checkpoint" if again else ""), flush=True)
        try:
            res = run_study(cfgs[k], point_folder, comm=sub,
                            progress=progress and world_lead, source=str(path),
                            restart=again, log_level=log_level)
        except bad_input_errors() as exc:  # found while building this point's geometry
            shown = ", ".join(f"{key} = {v!r}" for key, v in point.items())
            raise type(exc)(f"{path}: sweep point {shown}: {exc}") from None
        interrupt.check(sub)
        return {"value": si_points[k][next(iter(point))] if single else k,
                "folder": str(folder / f"{label}_{k}"), **si_points[k],
                "status": res.summary["status"], **headline_columns(res.headline)}

    names = ("sweep.csv", "sweep.json", "sweep.png")

    def clear():  # tables of an earlier sweep in this folder must not pass as this one's
        for n in names:
            (folder / n).unlink(missing_ok=True)
        if folder.is_dir():
            for old in folder.glob("weibull_*.png"):
                old.unlink(missing_ok=True)

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
                    "status": "failed" if status == "completed" else status, "study": name,
                    "message": message, "parameters": params,
                    "mode": mode, "jobs": jobs, "groups": ng, "mpi_ranks": comm.size})

            if isinstance(exc, Exception):
                on_root(comm, failed)
            raise

    def write_tables():
        folder.mkdir(parents=True, exist_ok=True)
        slopes = (log_slopes(results, list(params), arrhenius=scale == "arrhenius")
                  if scale in FIT_NAMES else {})
        fits = {}
        for key in weibull:
            fits[key] = weibull_of(results, key)
            f = fits[key]
            if progress:
                print(f"femcell: sweep Weibull fit of {key}: " + (
                    f"modulus {f['modulus']:.3g}, scale {f['scale']:.4g} {f['unit']}, mean "
                    f"{f['mean']:.4g}, CoV {f['cov']:.2%} ({f['points']} points)"
                    if f.get("modulus") is not None else f"none ({f['why']})"), flush=True)
            if f.get("modulus") is not None:
                weibull_plot(folder / f"weibull_{slug(key)}.png", f, key, name)
        fio.write_json(folder / "sweep.json", {"status": "completed", "study": name,
                                               "parameters": params,
                                               "mode": mode,
                                               "jobs": jobs, "groups": ng,
                                               "mpi_ranks": comm.size, "scale": scale,
                                               **({FIT_NAMES[scale]: slopes}
                                                  if slopes else {}),
                                               **({"weibull": fits} if fits else {}),
                                               "results": results})
        if progress and slopes:
            for key, v in slopes.items():
                what = (f"activation energy of {key}" if scale == "arrhenius" else
                        f"log-log slope of {key} against {next(iter(params))}")
                unit = " eV" if scale == "arrhenius" else ""
                print(f"femcell: sweep {what}: {v['slope']:.3f} +- {v['stderr']:.2g}{unit} "
                      f"({v['points']} points)", flush=True)
        keys = ["value", *[k for k in params if k != "value"]]
        for r in results:  # the union: headlines may differ from point to point
            keys += [k for k, v in r.items() if k not in keys and k != "folder"
                     and (v is None or isinstance(v, int | float | str))]
        table = fio.QuantityTable(MPI.COMM_SELF, folder / "sweep.csv")
        for r in results:
            table.append({k: (r.get(k) if isinstance(r.get(k), int | float) else
                              ("" if r.get(k) is None else str(r[k]))) for k in keys})
        table.close()
        first = next(iter(params))
        given = {sp[first]: pt[first] for sp, pt in zip(si_points, points, strict=True)
                 if isinstance(sp[first], int | float)}
        missing = [p for p in plot if not any(k.split(" [")[0] == p for r in results
                                              for k in r)]
        if missing:
            print(f"femcell: warning: sweep.plot: no point has a headline named "
                  f"{', '.join(map(repr, missing))} (not plotted)", flush=True)
        _sweep_plot(folder / "sweep.png", results, list(params), name, scale, mode, given,
                    plot)

    on_root(comm, write_tables)
    return results


def _check_restart(folder: Path, name: str, params: dict, label: str, n: int) -> None:
    """A sweep folder that --restart may continue: this study's sweep, not completed."""
    import json

    from femcell.io.checkpoint import CheckpointError

    if not folder.is_dir():
        raise CheckpointError(f"--restart {folder}: no such sweep folder")
    path = folder / "sweep.json"
    if not path.is_file():  # killed before sweep.json: its points must be there
        if not any((folder / f"{label}_{k}").is_dir() for k in range(n)):
            raise CheckpointError(f"--restart {folder}: not a sweep folder of {name} (no "
                                  f"sweep.json, no {label}_<k>/ point folders)")
        return
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"--restart {folder}: unreadable sweep.json ({exc})") from None
    if old.get("status") == "completed":
        raise CheckpointError(f"--restart {folder}: the sweep is already completed "
                              "(sweep.json); nothing to continue")
    if old.get("study") != name or old.get("parameters") != json.loads(json.dumps(params)):
        raise CheckpointError(f"--restart {folder}: a sweep of study {old.get('study')!r} "
                              f"over {', '.join(old.get('parameters') or {}) or '?'}, not "
                              f"{name!r} over {', '.join(params)}")


def headline_columns(headline: dict) -> dict:
    """A typed headline as table columns: "name [unit]" -> value."""
    from femcell.studies.results import Value

    return {(f"{k} [{v.unit}]" if isinstance(v, Value) and v.unit else k):
            (v.value if isinstance(v, Value) else v) for k, v in headline.items()}


def _sweep_definition(sweep, path, jobs):
    """(parameters, mode, label, jobs) of a [sweep] table, checked (ConfigError)."""
    if not isinstance(sweep, dict):
        raise ConfigError(f"{path}: [sweep] must be a table")
    extra = set(sweep) - {"parameter", "values", "parameters", "mode", "label", "jobs",
                          "scale", "weibull", "plot"}
    if extra:
        raise ConfigError(f"{path}: unknown key(s) in [sweep]: {', '.join(sorted(extra))} "
                          "(known: parameter, values, parameters, mode, label, jobs, scale, "
                          "weibull, plot)")
    shown = sweep.get("plot", [])
    if not (isinstance(shown, list) and all(isinstance(w, str) and w for w in shown)):
        raise ConfigError(f"{path}: sweep.plot = {shown!r}: a list of headline names, "
                          "e.g. [\"sigma_b_error\"]")
    weibull = sweep.get("weibull", [])
    if not (isinstance(weibull, list) and all(isinstance(w, str) and w for w in weibull)):
        raise ConfigError(f"{path}: sweep.weibull = {weibull!r}: a list of headline names, "
                          "e.g. [\"j_crit[library]\"]")
    scale = sweep.get("scale", "linear")
    if scale not in SCALES:
        raise ConfigError(f"{path}: sweep.scale = {scale!r}: one of {', '.join(SCALES)}")
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
    if scale == "arrhenius":
        names = ", ".join(map(repr, params))
        if len(params) != 1 or not split_key(next(iter(params)))[-1].endswith("temperature"):
            raise ConfigError(f"{path}: sweep.scale = \"arrhenius\" needs one swept "
                              f"parameter, a temperature (e.g. \"temperature\"), got {names}")
    mode = sweep.get("mode", "grid")
    label = sweep.get("label")
    if label is None:
        label = split_key(next(iter(params)))[-1] if len(params) == 1 else "point"
        label = re.sub(r"[^A-Za-z0-9_-]", "_", label) or "point"  # a quoted part: dots
    if not isinstance(label, str) or not label.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"{path}: sweep.label = {label!r}: letters, digits, '_' and '-' "
                          "only (it names folders)")
    return (params, mode, label, jobs if jobs is not None else sweep.get("jobs", "serial"),
            scale, shown)


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
        for part in split_key(dotted):
            node = node[int(part)] if isinstance(node, list) else node[part]
    except (KeyError, IndexError, ValueError, TypeError):
        return value
    return node if isinstance(node, int | float | str | bool) or node is None else value


def log_slopes(results: list[dict], params: list[str], arrhenius: bool = False) -> dict:
    """Least-squares slope of log(headline) against log(first parameter), per headline
    column with at least 3 positive points that are not all the same (one swept parameter;
    a grid gives none): the
    exponent of a power law, e.g. -1/2 for a Griffith CCD against the flaw size. With
    `arrhenius` the first parameter is a temperature T [K] and the slope is taken against
    -1 / (k_B T) [eV^-1]: the apparent activation energy [eV] of the headline.

    Returns:
        {column: {"slope", "stderr", "points"}}.
    """
    import numpy as np

    from femcell.units import E_CHARGE, K_B

    if len(params) != 1:
        return {}
    out = {}
    keys = dict.fromkeys(k for r in results for k, v in r.items()
                         if isinstance(v, float) and k not in params and k != "value")
    for key in keys:
        pts = [(r[params[0]], r[key]) for r in results
               if isinstance(r.get(key), float) and isinstance(r.get(params[0]), int | float)
               and r[key] > 0 and r[params[0]] > 0]
        if len({x for x, _ in pts}) < 3:
            continue
        x, y = np.array(pts, dtype=float).T
        if y.max() - y.min() <= 1e-9 * y.max():  # the same at every point: nothing to fit
            continue
        x = -E_CHARGE / (K_B * x) if arrhenius else np.log(x)
        y = np.log(y)
        (slope, icpt), cov = np.polyfit(x, y, 1, cov="unscaled")
        dof = len(x) - 2
        res = y - (slope * x + icpt)
        var = float(res @ res) / dof if dof > 0 else 0.0
        out[key] = {"slope": float(slope), "stderr": float(np.sqrt(cov[0, 0] * var)),
                    "points": len(pts)}
    return out


SCALES = ("linear", "log", "logx", "arrhenius")
# what sweep.json calls the fitted slopes of each scale (the slopes against log x, or the
# activation energies [eV] against -1 / k_B T)
FIT_NAMES = {"log": "log_slopes", "arrhenius": "activation_energies_eV"}


def slug(text: str, fallback: str = "x") -> str:
    """A folder- and file-name-safe version of a label (letters, digits, '.', '-', '_'), or
    `fallback` when nothing is left."""
    import re

    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_") or fallback


def weibull_of(results: list[dict], key: str) -> dict:
    """Two-parameter Weibull fit (location 0, maximum likelihood, scipy) of a headline over
    the sweep points, e.g. j_crit over defect-population seeds:
    F(x) = 1 - exp(-(x / scale)^modulus).

    Args:
        results: the sweep's point records.
        key: a headline name without its unit (e.g. "j_crit[library]").

    Returns:
        {"modulus", "scale" (the headline's unit), "mean", "cov" (std / mean), "points",
        "values", "unit"}, or {"why": ...} when fewer than 5 positive values exist.
    """
    import numpy as np
    from scipy import stats

    col = next((k for r in results for k in r if k == key or k.startswith(f"{key} [")), None)
    unit = col[len(key) + 2:-1] if col and col != key else ""
    vals = np.array([r[col] for r in results if col and isinstance(r.get(col), int | float)
                     and np.isfinite(r[col]) and r[col] > 0], dtype=float)
    if len(vals) < 5:
        return {"why": f"{len(vals)} positive values of {key!r} (5 needed)", "unit": unit,
                "points": int(len(vals))}
    if np.ptp(vals) <= 1e-12 * vals.mean():  # no scatter at all: no finite modulus
        return {"why": f"all {len(vals)} values of {key!r} are equal", "unit": unit,
                "points": int(len(vals))}
    m, _, eta = stats.weibull_min.fit(vals, floc=0.0)
    return {"modulus": float(m), "scale": float(eta), "mean": float(vals.mean()),
            "cov": float(vals.std(ddof=1) / vals.mean()), "points": int(len(vals)),
            "values": vals.tolist(), "unit": unit}


def weibull_plot(path, fit: dict, key: str, title: str) -> None:
    """The Weibull probability plot: ln(-ln(1 - F)) against ln(x), median ranks
    F = (i - 0.3) / (n + 0.4), and the fitted line (rank 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.sort(np.asarray(fit["values"]))
    n = len(x)
    F = (np.arange(1, n + 1) - 0.3) / (n + 0.4)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(np.log(x), np.log(-np.log(1 - F)), "o", label=f"{n} points (median ranks)")
    xs = np.linspace(x[0], x[-1], 50)
    ax.plot(np.log(xs), fit["modulus"] * np.log(xs / fit["scale"]), "-",
            label=f"Weibull: modulus {fit['modulus']:.3g}, scale {fit['scale']:.4g} "
                  f"{fit['unit']}")
    ax.set_xlabel(f"ln({key}" + (f" / {fit['unit']})" if fit["unit"] else ")"))
    ax.set_ylabel("ln(-ln(1 - F))")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _given_units(given: dict, positive: bool):
    """The swept values in the unit they were given in: ({SI value: value in that unit},
    unit), when every value is a quantity string of one unit (positive ones when `positive`:
    log axes); else None."""
    from femcell.units import _registry

    ureg, out, units = _registry(), {}, set()
    for si, raw in given.items():
        if not isinstance(raw, str):
            return None
        try:
            q = ureg.Quantity(raw)
        except Exception:  # pint raises several error types
            return None
        if not isinstance(q, ureg.Quantity) or not isinstance(q.magnitude, int | float):
            return None
        out[si] = float(q.magnitude)
        units.add(f"{q.units:~P}")
    if len(units) != 1 or (positive and min(out.values()) <= 0):
        return None
    return out, units.pop()


def _sweep_plot(path, results, params, title, scale="linear", mode="grid", given=None,
                plot=()):
    """Headline numbers against the first swept parameter (a grid: one line per value of the
    others; zip: one line, the others move with it): those named in `plot` (sweep.plot),
    else the first six that change between the points; axes as `scale`: linear, log-log,
    log x or Arrhenius (log y against 1000 / T); nothing when the first parameter is not
    numeric. `given` maps the first parameter's SI values to the values as given in the
    study file: the x axis is in their unit when they share one (else in SI)."""
    from femcell.plotting import _mpl

    x0 = [r[params[0]] for r in results]
    if not all(isinstance(v, int | float) for v in x0):
        return None
    arrhenius = scale == "arrhenius"
    shown = None if arrhenius or not given else _given_units(given, scale in ("log", "logx"))
    if arrhenius:
        xof, xlabel = (lambda t: 1000.0 / t), f"1000 K / {params[0]}"  # noqa: E731
    elif shown is not None:
        xof, xlabel = (lambda v: shown[0].get(v, v)), f"{params[0]} [{shown[1]}]"  # noqa: E731
    else:
        xof = lambda v: v  # noqa: E731
        xlabel = params[0] + (" (SI units)" if given and any(isinstance(v, str)
                                                             for v in given.values()) else "")
    keys = list(dict.fromkeys(k for r in results for k, v in r.items()
                              if isinstance(v, float) and k not in params and k != "value"))
    if plot:  # as named (sweep.plot), also when constant; names no point has are left out
        keys = [k for name in plot for k in keys if k.split(" [")[0] == name]
    elif len(results) > 1:  # a headline that is the same at every point says nothing here
        def varies(k):
            v = [r[k] for r in results if isinstance(r.get(k), float)]
            return len(v) > 1 and max(v) - min(v) > 1e-9 * max(abs(x) for x in v)
        keys = [k for k in keys if varies(k)] or keys
    keys = keys[:6] if not plot else keys
    if not keys:
        return None
    plt = _mpl()
    fig, axes = plt.subplots(len(keys), 1, figsize=(6.4, 2.4 * len(keys)), dpi=110,
                             squeeze=False)
    groups = {}
    for r in results:
        g = () if mode == "zip" else tuple((p, r[p]) for p in params[1:])
        groups.setdefault(g, []).append(r)
    for ax, key in zip(axes[:, 0], keys, strict=True):
        for g, rows in groups.items():
            pts = sorted((xof(r[params[0]]), r[key]) for r in rows
                         if r.get(key) is not None)
            if pts:
                ax.plot(*zip(*pts, strict=True), "o-", label=", ".join(
                    f"{split_key(p)[-1]} = {v:.4g}" if isinstance(v, float) else
                    f"{split_key(p)[-1]} = {v}" for p, v in g) or None)
        ax.set_ylabel(key, fontsize=8)
        if scale in ("log", "logx"):
            ax.set_xscale("log")
        if scale in ("log", "arrhenius") and all(r.get(key) is None or r[key] > 0
                                                 for r in results):
            ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        if len(groups) > 1:
            ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel(xlabel)
    axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
