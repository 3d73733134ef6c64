"""Figures: quantities against time (matplotlib) and field snapshots (pyvista off screen).

Imported lazily by the study runner. Field snapshots gather a P1 copy of the field to rank 0;
they are meant for the small and medium meshes of a study's overview picture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from femcell._dolfinx import dolfinx


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_time_series(path: Path, t, series: dict[str, list[float]], ylabel: str,
                     title: str = "", reference: dict[str, tuple] | None = None,
                     time_unit: tuple[str, float] = ("s", 1.0)) -> Path:
    """Line plot of quantities against time (rank 0 only).

    Args:
        path: PNG file.
        t: times [s].
        series: label -> values.
        ylabel: y-axis label with units.
        reference: label -> (times [s], values) drawn dashed (e.g. an analytic solution).
        time_unit: (name, seconds per unit) for the x axis.
    """
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    tu, ts = time_unit
    few = len(t) <= 20  # markers, so a run of one or a few steps is not an empty plot
    for label, y in series.items():
        ax.plot(np.asarray(t) / ts, y, label=label, lw=1.8, marker="o" if few else None,
                ms=4)
    for label, (tr, yr) in (reference or {}).items():
        ax.plot(np.asarray(tr) / ts, yr, "--", color="k", lw=1.0, label=label)
    ax.set_xlabel(f"time [{tu}]")
    return _finish(plt, fig, ax, path, ylabel, title)


def gather_p1(u, factor: float = 1.0):
    """Interpolate u into P1 on its mesh and gather (points, cells, values) on rank 0.

    Returns (points (n, 3), cells (m, k) global indices, values (n,)) on rank 0, None elsewhere.
    """
    mesh = u.function_space.mesh
    comm = mesh.comm
    V1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u1 = dolfinx.fem.Function(V1)
    u1.interpolate(u)
    imap = V1.dofmap.index_map
    n_own = imap.size_local
    x = V1.tabulate_dof_coordinates()[:n_own]
    vals = u1.x.array[:n_own] * factor
    tdim = mesh.topology.dim
    n_cells = mesh.topology.index_map(tdim).size_local
    dofs = V1.dofmap.list[:n_cells]
    gdofs = imap.local_to_global(dofs.ravel()).reshape(dofs.shape)
    start = imap.local_range[0]
    data = comm.gather((start, x, vals, gdofs), root=0)
    if comm.rank != 0:
        return None
    n = sum(len(d[1]) for d in data)
    pts = np.zeros((n, 3))
    values = np.zeros(n)
    for s, xx, vv, _ in data:
        pts[s:s + len(xx)] = xx
        values[s:s + len(vv)] = vv
    cells = np.vstack([d[3] for d in data])
    return pts, cells, values


def plot_field(path: Path, u, factor: float, label: str, title: str = "") -> Path | None:
    """Picture of a scalar field (collective; rank 0 draws). See `draw_field`."""
    got = gather_p1(u, factor)
    if got is None:
        return None
    return draw_field(path, got, u.function_space.mesh.topology.dim, label, title)


def draw_field(path: Path, got, tdim: int, label: str, title: str = "") -> Path:
    """Draw a field gathered by `gather_p1` (rank 0; no collective calls).

    1D: profile c(x) with matplotlib; 2D: filled contours; 3D: pyvista, the particle clipped
    through its centre so the interior shows.
    """
    pts, cells, vals = got
    if tdim == 1:
        plt = _mpl()
        order = np.argsort(pts[:, 0])
        fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=120)
        ax.plot(pts[order, 0] * 1e6, vals[order], lw=1.8)
        ax.set_xlabel("r [um]")
        ax.set_ylabel(label)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return Path(path)
    if tdim == 2:
        plt = _mpl()
        import matplotlib.tri as mtri

        tri = mtri.Triangulation(pts[:, 0] * 1e6, pts[:, 1] * 1e6, cells[:, :3])
        fig, ax = plt.subplots(figsize=(6.0, 5.0), dpi=120)
        cf = ax.tricontourf(tri, vals, levels=32, cmap="viridis")
        fig.colorbar(cf, ax=ax, label=label)
        ax.set_aspect("equal")
        ax.set_xlabel("x [um]")
        ax.set_ylabel("y [um]")
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return Path(path)
    return _plot_3d(path, pts, cells, vals, label, title)


def _plot_3d(path, pts, cells, vals, label, title):
    try:
        import pyvista as pv
    except ImportError:  # pyvista is optional: draw a mid-plane scatter with matplotlib
        plt = _mpl()
        sel = np.abs(pts[:, 2] - np.median(pts[:, 2])) < 0.08 * np.ptp(pts[:, 2])
        fig, ax = plt.subplots(figsize=(6.0, 5.0), dpi=120)
        sc = ax.scatter(pts[sel, 0] * 1e6, pts[sel, 1] * 1e6, c=vals[sel], s=8)
        fig.colorbar(sc, ax=ax, label=label)
        ax.set_aspect("equal")
        ax.set_title(title + " (mid-plane)")
        fig.savefig(path)
        plt.close(fig)
        return Path(path)
    pv.OFF_SCREEN = True
    n = cells.shape[1]
    conn = np.hstack([np.full((cells.shape[0], 1), n), cells]).ravel()
    ctype = {4: pv.CellType.TETRA, 8: pv.CellType.HEXAHEDRON}[n]
    grid = pv.UnstructuredGrid(conn, np.full(cells.shape[0], ctype, dtype=np.uint8), pts * 1e6)
    grid.point_data[label] = vals
    centre = pts.mean(axis=0) * 1e6
    pl = pv.Plotter(off_screen=True, window_size=(1000, 800), shape=(1, 2))
    sbar = {"title": label, "vertical": False, "position_x": 0.15, "width": 0.7,
            "n_labels": 4, "fmt": "%.3g"}
    for col, normal in enumerate(("z", "y")):
        pl.subplot(0, col)
        cut = grid.slice(normal=normal, origin=centre)
        pl.add_mesh(cut, scalars=label, cmap="viridis", clim=(vals.min(), vals.max()),
                    scalar_bar_args=sbar if col == 0 else None, show_scalar_bar=col == 0)
        pl.add_mesh(grid.extract_surface(algorithm="dataset_surface"), color="gray",
                    opacity=0.08)
        pl.add_text(f"{title}\nmid-plane {'xy' if normal == 'z' else 'xz'}", font_size=9)
        if normal == "z":
            pl.view_xy()
        else:
            pl.view_xz()
        pl.camera.zoom(1.1)
    pl.screenshot(str(path))
    pl.close()
    return Path(path)


def arrhenius_plot(path, results, fits, title: str):
    """j_crit against 1000/T per case, the fitted lines, the closed-form quasi-steady j_crit of
    a flat, uniform interface (dotted, x), and the published activation
    energies as dashed lines (a range as a shaded wedge) through the middle of each fit; the
    legend states each case's ramp rate (the condition that differs between cases)."""
    from femcell.runs import fmt_pm
    from femcell.units import EV, K_B

    plt = _mpl()
    fig, ax = plt.subplots(figsize=(7.6, 6.0), dpi=120)
    excluded_shown = closed_shown = False
    for name, fit in fits.items():
        mine = [r for r in results if r["case"] == name and r["j_crit_A_m2"] is not None]
        pts = [(r["temperature_K"], r["j_crit_A_m2"]) for r in mine
               if not r.get("excluded_from_fit")]
        out = [(r["temperature_K"], r["j_crit_A_m2"]) for r in mine
               if r.get("excluded_from_fit")]
        T = np.array([p[0] for p in pts])
        j = np.array([p[1] for p in pts]) * 0.1
        rate = fit["ramp_rate_A_m2_s"] * 0.1 * 60  # mA/cm^2 per min
        line = ax.semilogy(1000 / T, j, "o", label=(
            f"{name} (ramp {rate:.3g} mA/cm$^2$/min): E_A = "
            f"{fmt_pm(fit['activation_energy_eV'], fit['activation_energy_se_eV'], 'eV')}"))[0]
        if out:  # ramps left out of the fit: open markers
            ax.semilogy([1000 / t for t, _ in out], [0.1 * v for _, v in out], "o",
                        mfc="none", color=line.get_color())
            excluded_shown = True
        qs = sorted((r["temperature_K"], r["j_quasi_steady_A_m2"]) for r in mine
                    if r.get("j_quasi_steady_A_m2"))
        if qs:  # the closed form of a flat, uniform interface at each ramp's temperature
            ax.semilogy([1000 / t for t, _ in qs], [0.1 * v for _, v in qs], "x:", lw=0.9,
                        ms=4, color=line.get_color())
            closed_shown = True
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
    if closed_shown:
        ax.plot([], [], "kx:", lw=0.9, ms=4, label="closed form, flat uniform interface "
                "(quasi-steady)")
    if excluded_shown:
        ax.plot([], [], "ko", mfc="none", label="not fitted (stripped > "
                "ramp.max_stripped_fraction of the anode)")
    ax.set_xlabel("1000 / T [1/K]")
    ax.set_ylabel("critical current density [mA/cm$^2$]")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def ccd_cases_plot(path, results, title: str):
    """Critical current (and time to contact loss, when measured) per case."""

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


def plot_xy(path: Path, x, series: dict[str, list[float]], xlabel: str, ylabel: str,
            title: str = "", reference: dict[str, tuple] | None = None,
            log: bool = False) -> Path:
    """Line plot of several series against one x (rank 0 only); a label containing a
    closed form's name ("Sneddon", "Griffith") is drawn dashed black, and `reference`
    (label -> (x, y)) adds black curves on their own x (dashed, dotted, dash-dotted);
    `log`: both axes logarithmic."""
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    few = len(x) <= 25
    for label, y in series.items():
        ref = any(k in label for k in ("Sneddon", "Griffith", "analytic"))
        ax.plot(x, y, "--" if ref else "-", color="k" if ref else None, lw=1.0 if ref else 1.8,
                marker=None if ref or not few else "o", ms=4, label=label)
    for i, (label, (xr, yr)) in enumerate((reference or {}).items()):
        ax.plot(xr, yr, ("--", ":", "-.")[i % 3], color="k", lw=1.0, label=label)
    ax.set_xlabel(xlabel)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    return _finish(plt, fig, ax, path, ylabel, title)


def _finish(plt, fig, ax, path, ylabel: str, title: str) -> Path:
    """Label, grid, legend, save and close a line plot."""
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def sample_vector(u, points, comm):
    """Values of a (vector) Function at points [m] (n, gdim), on every rank (collective): each
    point is evaluated in the first owned cell that contains it; None if a point lies
    outside the mesh."""
    import dolfinx

    mesh = u.function_space.mesh
    tdim = mesh.topology.dim
    n_owned = mesh.topology.index_map(tdim).size_local
    pts = np.zeros((len(points), 3))
    pts[:, :mesh.geometry.dim] = points
    tree = dolfinx.geometry.bb_tree(mesh, tdim, entities=np.arange(n_owned, dtype=np.int32))
    cand = dolfinx.geometry.compute_collisions_points(tree, pts)
    hits = dolfinx.geometry.compute_colliding_cells(mesh, cand, pts)
    bs = u.function_space.dofmap.index_map_bs
    vals = np.zeros((len(pts), bs))
    count = np.zeros(len(pts))
    idx, cells = [], []
    for i in range(len(pts)):
        c = hits.links(i)
        if len(c):
            idx.append(i)
            cells.append(c[0])
    if idx:
        vals[idx] = np.asarray(u.eval(pts[idx], np.asarray(cells, dtype=np.int32))).reshape(
            len(idx), bs)
        count[idx] = 1.0
    from mpi4py import MPI

    vals = comm.allreduce(vals, op=MPI.SUM)
    count = comm.allreduce(count, op=MPI.SUM)
    if np.any(count == 0):
        return None
    return vals / count[:, None]


def draw_snapshots(path: Path, snaps: list[tuple[str, tuple]], label: str,
                   title: str = "") -> Path:
    """2D fields gathered by `gather_p1` side by side, one panel per (caption, gathered)
    pair, on one colour scale (rank 0; no collective calls). Lengths in nm below 1 um."""
    plt = _mpl()
    import matplotlib.tri as mtri

    pts = np.concatenate([g[0] for _, g in snaps])
    extent = float(np.ptp(pts[:, :2], axis=0).max()) if len(pts) else 1.0
    scale, unit = (1e9, "nm") if extent < 1e-6 else (1e6, "um")
    vals = np.concatenate([g[2] for _, g in snaps])
    lo, hi = float(vals.min()), float(vals.max())
    levels = np.linspace(lo, hi if hi > lo else lo + 1e-12, 33)
    fig, axes = plt.subplots(1, len(snaps), figsize=(3.6 * len(snaps), 3.6), dpi=120,
                             squeeze=False)
    cf = None
    for ax, (caption, (p, cells, v)) in zip(axes[0], snaps, strict=True):
        tri = mtri.Triangulation(p[:, 0] * scale, p[:, 1] * scale, cells[:, :3])
        cf = ax.tricontourf(tri, v, levels=levels, cmap="viridis")
        ax.set_aspect("equal")
        ax.set_title(caption, fontsize=9)
        ax.set_xlabel(f"x [{unit}]")
    axes[0][0].set_ylabel(f"y [{unit}]")
    fig.colorbar(cf, ax=list(axes[0]), label=label, shrink=0.85)
    if title:
        fig.suptitle(title)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
