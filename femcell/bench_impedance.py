"""`femcell bench impedance`: an impedance sweep of a 3D polycrystalline Li | LLZO | Li cell
(Voronoi grains with resistive-capacitive boundaries, double layers), 60 log-spaced
frequencies over 10 decades: the time of one LU factorisation, of the whole sweep with the
factorisation reused across neighbouring frequencies (GMRES preconditioned by an earlier
LU), the factorisations and Krylov iterations it needed, and the speed-up over a fresh LU at
every frequency (timed on the first frequencies and extrapolated); the two spectra agree on
those frequencies. A benchmark prints; it asserts nothing (docs/benchmarks.md).

    femcell bench impedance [--h 1.2e-6] [--frequencies 60] [--fresh 6]

The default h gives about 2.1e5 unknowns (4.3e5 in the real 2x2 block system; about 12.5
minutes on 2 ranks here, docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from femcell.config import ConfigError


def _args(extra: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="femcell bench impedance", add_help=False)
    p.add_argument("--h", type=float, default=1.2e-6, help="element size [m]")
    p.add_argument("--frequencies", type=int, default=60)
    p.add_argument("--fresh", type=int, default=6,
                   help="frequencies timed with a fresh LU each (extrapolated)")
    try:
        a, rest = p.parse_known_args(extra)
    except SystemExit:
        raise ConfigError("femcell bench impedance: bad arguments (--h M, --frequencies N, "
                          "--fresh N)") from None
    if rest or a.h <= 0 or a.frequencies < 2 or a.fresh < 1:
        raise ConfigError(f"femcell bench impedance: bad arguments {' '.join(extra)}")
    return a


def main(extra: list[str]) -> int:
    """Print the impedance benchmark (rank 0)."""
    from femcell._dolfinx import MPI
    from femcell.domain import Domain
    from femcell.materials import Arrhenius, get_material
    from femcell.physics.charge import ChargeTransport
    from femcell.physics.grain_boundary import ResistiveBoundaries
    from femcell.physics.impedance import SmallSignal
    from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics
    from femcell.problem import Problem

    a = _args(extra)
    comm = MPI.COMM_WORLD
    # flushed: a long run shows its progress also when stdout is a file
    say = (lambda *a, **k: print(*a, **k, flush=True)) if comm.rank == 0 else (
        lambda *_, **__: None)
    t0 = time.perf_counter()
    dom = Domain.from_builder("symmetric_cell", dim=3, width=20e-6, depth=20e-6,
                              electrolyte_thickness=30e-6, anode_thickness=3e-6,
                              cathode_thickness=3e-6, h=a.h,
                              grains={"mean_size": 5e-6, "seed": 1})
    t_mesh = time.perf_counter() - t0
    law = ButlerVolmer(Arrhenius(250.0))
    li, llzo = get_material("li"), get_material("llzo")
    ch = ChargeTransport({"anode": li, "electrolyte": llzo, "cathode": li},
                         [InterfaceKinetics(e, "electrolyte", law) for e in ("anode", "cathode")],
                         grain_boundaries=ResistiveBoundaries(
                             "electrolyte", conductor=get_material("llzo_gb"), thickness=1e-8))
    t0 = time.perf_counter()
    pb = Problem(dom, [ch])
    pb.initialise()
    cdl = dict.fromkeys(ch.j_expr, 1.0)
    ss = SmallSignal(pb, ch, double_layer=cdl, reuse=True)
    t_setup = time.perf_counter() - t0
    freq = np.logspace(0, 10, a.frequencies)
    t0 = time.perf_counter()
    first = ss.sweep(freq[:1])
    t_first = time.perf_counter() - t0
    ss.close()
    ss = SmallSignal(pb, ch, double_layer=cdl, reuse=True)
    comm.barrier()
    t0 = time.perf_counter()
    reused = ss.sweep(freq)
    t_sweep = time.perf_counter() - t0
    ss.close()
    fresh_ss = SmallSignal(pb, ch, double_layer=cdl, reuse=False)
    n = min(a.fresh, a.frequencies)
    fresh_ss.sweep(freq[:1])  # warm-up: the symbolic analysis is paid once in either mode
    comm.barrier()
    t0 = time.perf_counter()
    fresh = fresh_ss.sweep(freq[:n])
    t_fresh = (time.perf_counter() - t0) / n
    fresh_ss.close()
    pb.close()
    diff = float(np.max(np.abs(fresh.z - reused.z[:n]) / np.abs(fresh.z)))
    dofs = pb.num_dofs
    say(f"femcell bench impedance: 3D Li | LLZO polycrystal (5 um Voronoi grains, resistive-"
        f"capacitive boundaries) | Li, h = {a.h:.3g} m, {comm.size} rank(s)")
    say(f"  unknowns {dofs} (real 2x2 block system: {2 * dofs}); mesh {t_mesh:.1f} s, "
        f"set-up (forms, DC state) {t_setup:.1f} s")
    say(f"  one frequency with a fresh LU: {t_first:.2f} s (first, with symbolic analysis), "
        f"{t_fresh:.2f} s on average over {n}")
    say(f"  {a.frequencies} frequencies 1 Hz - 10 GHz with reuse: {t_sweep:.1f} s "
        f"({t_sweep / a.frequencies:.2f} s per frequency), {reused.factorizations} "
        f"factorisations, {sum(reused.krylov_its)} Krylov iterations "
        f"(max {max(reused.krylov_its)} per frequency)")
    say(f"  speed-up over a fresh LU per frequency: {t_fresh * a.frequencies / t_sweep:.1f}x "
        f"(extrapolated from {n} frequencies after a warm-up); spectra agree to {diff:.1e} "
        f"(rank 0's clock)")
    say(f"  Z(1 Hz) = {first.z[0].real * 1e4:.4f} ohm cm^2")
    return 0
