"""The "impedance" kind: the small-signal impedance Z(f) of a [charge] cell.

The cell is brought to its state (open circuit, or the DC steady state at
`impedance.bias_current_density`), linearised about it (femcell.physics.impedance) and
swept over log-spaced frequencies. Every arc of -Z'' is located (apex frequency, height)
and assigned to the process whose characteristic frequency, computed from the inputs, is
nearest: the grains of each region (sigma / (2 pi eps)), the grain boundaries
(g_gb / (2 pi c_gb)) and each electrode's charge transfer (1 / (2 pi R_ct C_dl), R_ct
from the spectrum of that interface). The spectrum goes through a Kramers-Kronig test (a
causal rational fit, and pyimpspec's linear test next to it) and optionally an
equivalent-circuit fit (pyimpspec); the real and imaginary potentials at
each apex frequency are written for ParaView.

Outputs: impedance.csv (f, Z', Z'', |Z|, phase, each interface's share, Krylov iterations),
nyquist.png, bode.png, fields (the "time" of the field series is the frequency in Hz), a
summary.json with the arcs, the characteristic frequencies, the test and the fit.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from femcell.problem import Problem
from femcell.solvers import SolverError
from femcell.studies.lifecycle import as_config_error
from femcell.studies.results import Value


def frequencies(fs) -> np.ndarray:
    """Log-spaced frequencies [Hz] of impedance.frequencies (both ends included)."""
    n = max(2, int(round(math.log10(fs.max / fs.min) * fs.per_decade)) + 1)
    return np.logspace(math.log10(fs.min), math.log10(fs.max), n)


def capacitance_warnings(charge, cdl, eps_over) -> list[str]:
    """What the spectrum will lack: the bulk arc of an electrolyte without a permittivity,
    the arc of an interface without a double layer."""
    out = []
    eps_known = {g.split(".")[0] for g, c in {**charge.conductors,
                                              **charge.group_conductors}.items()
                 if c.permittivity is not None} | {g.split(".")[0] for g in eps_over}
    if charge.electrolyte not in eps_known:
        out.append(f"{charge.electrolyte}: no permittivity (its material has none; give "
                   f"impedance.permittivity.{charge.electrolyte}): no bulk arc")
    for name in charge._sides:
        if name not in cdl and charge._sides[name][0] not in charge.double_layer:
            out.append(f"{name}: no double-layer capacitance (impedance.double_layer_"
                       f"capacitance.{charge._sides[name][0]}): its charge transfer shows no "
                       "arc")
    return out


def _capacitances(imp, charge):
    """(double layer by interface, permittivity by region/group) from an [impedance]
    section, named errors for unknown keys."""
    from femcell.config import ConfigError

    by_electrode = {e: name for name, (e, _, _) in charge._sides.items()}
    cdl = {}
    for e, c in imp.double_layer_capacitance.items():
        if e not in by_electrode:
            raise ConfigError(f"impedance.double_layer_capacitance.{e}: not an electrode with "
                              f"a [[kinetics]] entry ({', '.join(by_electrode) or 'none'})")
        if e in charge.double_layer:
            raise ConfigError(f"impedance.double_layer_capacitance.{e}: {e} has its double "
                              f"layer in charge.double_layer_capacitance already (give it "
                              "once)")
        cdl[by_electrode[e]] = c
    groups = set(charge.conductors) | set(charge._group_cond)
    for g in imp.permittivity:
        if g not in groups:
            raise ConfigError(f"impedance.permittivity.{g}: not a region or cell group of "
                              f"charge.conductors ({', '.join(sorted(groups))})")
    return cdl, dict(imp.permittivity)


def run(cfg, run):
    """Run an impedance study (see the module docstring) in the lifecycle `run`."""
    from femcell.physics.impedance import SmallSignal

    imp = cfg.impedance
    domain = run.build_domain()
    physics, ctx = run.build_physics(domain, cfg.temperature)
    charge = ctx.info["charge"]
    particles = ctx.info.get("particles") or []
    if particles and imp.bias_current_density != 0.0:
        from femcell.config import ConfigError

        raise ConfigError(
            f"impedance.bias_current_density = {imp.bias_current_density:g} A/m^2 with "
            f"[[intercalation]] particles ({', '.join(p.region for p in particles)}): a cell "
            "whose particles fill under a DC current has no steady state to linearise about; "
            "give 0 (open circuit)")
    if ctx.info.get("anode") is not None and imp.bias_current_density != 0.0:
        from femcell.config import ConfigError

        raise ConfigError(
            f"impedance.bias_current_density = {imp.bias_current_density:g} A/m^2 with a "
            "voiding [anode]: its vacancies take diffusion times to settle and voids may "
            "open, so one step is no steady state; give 0 (rest) or measure inside a "
            "protocol (kind = \"protocol\", [[protocol]] kind = \"impedance\")")
    with run.timed("setup_s"):
        problem = as_config_error(lambda: Problem(domain, physics, linear_solver=cfg.solver.linear,
                                                  petsc_options=run.petsc_options()))
    cdl, eps_over = _capacitances(imp, charge)
    for w in capacitance_warnings(charge, cdl, eps_over):
        run.warn(w)
    freq = frequencies(imp.frequencies)
    run.open_folder()
    with run.guard(problem):
        run.write_mesh(domain)
        problem.initialise()
        if imp.bias_current_density != 0.0:  # the DC steady state (the charge is quasi-static)
            charge.set_current(imp.bias_current_density)
            with run.timed("time_loop_s"):
                rep = problem.solve_step(1.0, 1.0, 1, None)
            if not rep.converged:
                raise SolverError(f"the DC state at {imp.bias_current_density:g} A m^-2 did not "
                                  f"converge ({rep.reason})")
        state = problem.quantities()
        ss = as_config_error(lambda: SmallSignal(problem, charge, permittivity=eps_over,
                                                 double_layer=cdl, reuse=imp.reuse))
        try:
            bar = run.progress_bar(total=len(freq), unit="f")
            with run.timed("sweep_s"):
                sp = ss.sweep(freq, progress=(lambda k: bar.update(1)) if bar else None)
            if bar is not None:
                bar.close()
            rows = table_rows(sp)
            with run.timed("io_s"):
                table = run.quantity_table(name="impedance.csv")
                for r in rows:
                    table.append(r)
                table.close()
            geometry = particle_geometry(charge, particles)
            char = characteristic_frequencies(charge, ss, geometry)
            chem = chemical_capacitance(charge, geometry, sp)
            arcs = assign(find_arcs(sp.frequency, sp.z), char)
            with run.timed("analysis_s"):  # rank 0's numbers for everyone
                kk, fit, drt = run.on_root(lambda: (
                    kramers_kronig(sp.frequency, sp.z),
                    fit_equivalent_circuit(sp.frequency, sp.z, imp.circuit, arcs)
                    if imp.circuit else None,
                    distribution_of_relaxation_times(sp.frequency, sp.z) if imp.drt
                    else None), share=True)
            if drt is not None and "peaks" in drt:
                assign(drt["peaks"], char)
                with run.timed("io_s"):
                    table = run.quantity_table(folder=run.folder, name="drt.csv")
                    for t, g in zip(drt.pop("tau_s"), drt.pop("gamma_ohm_m2"), strict=True):
                        table.append({"tau": t, "frequency": 1 / (2 * math.pi * t),
                                      "gamma": g})
                    drt_rows = table.rows
                    table.close()
            if kk.get("max_residual_percent", 0.0) > KK_WARN_PERCENT:
                run.warn(f"the Kramers-Kronig test leaves residuals of "
                         f"{kk['max_residual_percent']:.3g} % of |Z|: no causal spectrum "
                         "is that close (too few frequencies per decade, or an unconverged "
                         "or non-linear response)")
            for w in (kk.get("error"), (fit or {}).get("error"), (drt or {}).get("error")):
                if w:
                    run.warn(w)
            writer = run.field_writer([_ACFields(ss)], domain)
            if writer is not None:
                with run.timed("io_s"):
                    for a in arcs:  # the potentials at each apex frequency (t = f [Hz])
                        ss.sweep([a["frequency_Hz"]])
                        writer.write(a["frequency_Hz"])
                    writer.close()
        finally:
            ss.close()
        bl = brick_layer(fit, char, charge, arcs, electrolyte_thickness(charge))
        headline = headline_of(sp, arcs, kk, fit, bl, chem, drt)
        for w in _interface_headline(headline, sp, ctx.info.get("anode"), problem, charge):
            run.warn(w)
        if run.write and cfg.output.plots:
            run.plots(lambda: plots(run.folder, cfg.study.name, sp, arcs))
            if drt is not None and "peaks" in drt:
                run.plots(lambda: plot_drt(run.folder, cfg.study.name, drt_rows, drt, char))
        summary = run.summary(
            "completed", "", headline,
            steps={"frequencies": int(freq.size), "factorizations": sp.factorizations,
                   "krylov_its": int(sum(sp.krylov_its))},
            ended_by="completed",
            impedance={"state": {"bias_current_density_A_m2": imp.bias_current_density,
                                 "cell_voltage_V": state.get("cell_voltage")},
                       "double_layer_capacitance_F_m2": cdl,
                       "permittivity_F_m": {g: e for g, e in ss.permittivity.items()},
                       "characteristic_frequencies_Hz": char, "arcs": arcs,
                       "kramers_kronig": kk, "circuit_fit": fit, "brick_layer": bl,
                       "chemical_capacitance": chem, "drt": drt},
            physics={p.name: p.describe() for p in physics},
            domain=run.domain_summary(domain, problem),
            citations=[c for p in physics for c in p.citations()])
        run.finish(summary)
        return run.result(rows, headline, summary)


def _interface_headline(h: dict, sp, anode, problem, charge) -> list[str]:
    """Add the conductance 1 / Z'(f_min) of the share of each interface that has a DC
    resistance (not one into a particle: its share holds the particle's open-circuit
    potential, a capacitor at low frequency) and, with a voiding [anode], the closed forms
    at this temperature (the interface-limited critical current; with coverage_potential
    the coverage's DC resistance) to the headline `h`; the warnings (an interface whose arc
    has not closed at the lowest frequency)."""
    from femcell.physics.anode import AnodeInterface

    storing = {charge.domain.interface(k.electrode, k.electrolyte).name
               for k in charge.kinetics
               if any(not isinstance(c, AnodeInterface) for c in k.couplings)}
    f0, warn = sp.frequency[0], []
    for name, share in sp.interfaces.items():
        if name in storing:
            continue
        z0 = complex(share[0])
        h[f"interface_conductance[{name}]"] = Value(
            1.0 / z0.real if z0.real > 0 else math.inf, "S m^-2",
            f"1 / Z' of the share of {name} at {f0:.3g} Hz, per collector area (the inverse "
            "of its area-specific resistance; a temperature sweep gives its activation energy)")
        if abs(z0.imag) > 0.05 * abs(z0):
            warn.append(f"{name}: its arc has not closed at {f0:.3g} Hz (-Z''/|Z| = "
                        f"{-z0.imag / abs(z0):.2g}): interface_conductance[{name}] is not its "
                        "DC value; lower impedance.frequencies.min")
    if anode is None:
        return warn
    h["ccd_interface_limit"] = Value(
        anode["j_interface_limit_A_m2"], "A m^-2", "closed-form interface-limited critical "
        "current F kappa (theta_crit - theta_eq) of [anode] at this temperature (inputs)")
    iface = next((p for p in problem.physics if hasattr(p, "coverage_relaxation")), None)
    rel = iface.coverage_relaxation() if iface is not None else None
    if rel is not None:  # about rest: R_theta (1 + kappa Omega L / D_v), flat and in contact
        h["vacancy_transfer_resistance_input"] = Value(
            rel[0], "ohm m^2",
            "closed form (R T / F) / (F theta_eq) (1 / kappa + Omega L / D_v) of the coverage "
            "acting on the potential, per area of a flat interface in contact (inputs)")
    return warn


class Measurements:
    """The impedance steps of a protocol: a spectrum about each state the protocol reaches
    (femcell.protocol.ProtocolRunner `measure`), with the frequencies and capacitances of
    [impedance] (no circuit fit or DRT per measurement). One SmallSignal, built here so that
    its input errors come before the protocol runs, serves every measurement (its forms
    read the present state; the frozen state, the bound-active dofs and the factorisation
    are renewed each time).

    Args:
        cfg: the study's configuration (cfg.impedance or the defaults).
        problem, charge: the protocol's Problem and its ChargeTransport.
        particles: the [[intercalation]] Diffusion physics (their diffusion frequencies).
        anode: the voiding [anode] region or None (its contact fraction is recorded).
        timed: the run's `timed` (each measurement's wall time into timings_s["measure_s"],
            apart from the steps' own), or None.
    """

    def __init__(self, cfg, problem, charge, particles=(), anode=None, timed=None):
        from femcell.physics.impedance import SmallSignal
        from femcell.studies.impedance_schema import ImpedanceStepsSection

        self.imp = cfg.impedance or ImpedanceStepsSection()
        self.problem, self.charge = problem, charge
        self.geometry, self.anode = particle_geometry(charge, particles), anode
        self.timed = timed
        self.freq = frequencies(self.imp.frequencies)
        self.cdl, self.eps = _capacitances(self.imp, charge)
        # built now: its input errors are found before the protocol runs
        self.ss = SmallSignal(problem, charge, permittivity=self.eps, double_layer=self.cdl,
                              reuse=self.imp.reuse)
        self.records: list[dict] = []  # one per measurement (JSON-able, the same on all ranks)
        self.warnings = capacitance_warnings(charge, self.cdl, self.eps)

    def __call__(self, index, step, t, q) -> None:
        """Measure (collective): sweep about the present state and keep the spectrum."""
        if self.timed is None:
            return self._measure(index, step, t, q)
        with self.timed("measure_s"):
            return self._measure(index, step, t, q)

    def _measure(self, index, step, t, q) -> None:
        self.ss.refresh()  # the state the protocol has reached
        sp = self.ss.sweep(self.freq)
        char = characteristic_frequencies(self.charge, self.ss, self.geometry)
        arcs = assign(find_arcs(sp.frequency, sp.z), char)
        rec = {"index": int(index), "label": step.label, "t_s": float(t),
               "current_density_A_m2": float(q.get("current_density", 0.0)),
               "cell_voltage_V": q.get("cell_voltage"),
               "z_re_low_frequency_ohm_m2": float(sp.z[0].real),
               "z_re_high_frequency_ohm_m2": float(sp.z[-1].real),
               "charge_transfer_resistance_ohm_m2": {
                   k: v * self.charge._cc_area / self.charge._areas[k]
                   for k, v in self.charge.charge_transfer_resistances().items()},
               "characteristic_frequencies_Hz": char, "arcs": arcs,
               "kk_max_residual_percent": self._kk(sp),
               "rows": table_rows(sp)}
        if self.anode is not None and "contact_fraction" in q:
            rec["contact_fraction"] = float(q["contact_fraction"])
        self.records.append(rec)

    def _kk(self, sp) -> float:
        """The Kramers-Kronig residual [%] of a spectrum, computed on rank 0 and shared
        (collective): inside the measurement, so that no rank waits for another in the next
        step (the step-time stall check would count that wait)."""
        comm = self.problem.domain.comm
        res = causal_rational_fit(sp.frequency, sp.z)["max_residual_percent"] \
            if comm.rank == 0 else None
        return comm.bcast(res, root=0)

    def restore(self, records) -> None:
        """The measurements of a run this one continues (from its checkpoint)."""
        self.records = list(records)

    def close(self) -> None:
        if self.ss is not None:
            self.ss.close()
            self.ss = None

    def table_rows(self) -> list[dict]:
        """Every measurement's spectrum as rows (its index, label and time first)."""
        out = []
        for rec in self.records:
            for r in rec["rows"]:
                out.append({"measurement": rec["index"], "label": rec["label"],
                            "t": rec["t_s"], **r})
        return out

    def headline(self) -> dict:
        """The number of measurements; Z' at the lowest frequency and each interface's
        charge-transfer resistance at the first and the last."""
        recs = self.records
        h = {"impedance_measurements": Value(len(recs), "", "impedance steps measured")}
        for tag, rec in (("first", recs[0]), ("last", recs[-1])):
            when = f"at the {tag} impedance step (t = {rec['t_s']:.4g} s)"
            h[f"z_re_low_frequency_{tag}"] = Value(
                rec["z_re_low_frequency_ohm_m2"], "ohm m^2",
                f"Z' at {self.freq[0]:.3g} Hz {when}")
            for name, r in rec["charge_transfer_resistance_ohm_m2"].items():
                h[f"charge_transfer_resistance_{tag}[{name}]"] = Value(
                    r, "ohm m^2", f"R_ct of {name} per collector area {when}")
        return h

    def summary(self) -> list[dict]:
        """The measurements without their spectra (those are in impedance.csv)."""
        return [{k: v for k, v in rec.items() if k != "rows"} for rec in self.records]

    def plot(self, folder, name) -> dict:
        """nyquist_evolution.png: every measurement's Nyquist curve, coloured by time, with
        its arcs' apexes (rank 0)."""
        from femcell.plotting import _mpl

        plt = _mpl()
        fig, ax = plt.subplots(figsize=(9.6, 4.6), dpi=120)
        cmap = plt.get_cmap("viridis")
        n = max(len(self.records) - 1, 1)
        for k, rec in enumerate(self.records):
            z = np.array([r["z_re"] + 1j * r["z_im"] for r in rec["rows"]]) * 1e4
            lab = f"{rec['label']} (t = {rec['t_s']:.4g} s"
            if "contact_fraction" in rec:
                lab += f", contact {rec['contact_fraction']:.3f}"
            ax.plot(z.real, -z.imag, "-", lw=1.3, color=cmap(k / n), label=lab + ")")
            for a in rec["arcs"]:
                j = int(np.argmin([abs(math.log10(r["frequency"] / a["frequency_Hz"]))
                                   for r in rec["rows"]]))
                ax.plot(z[j].real, -z[j].imag, "s", ms=4, color=cmap(k / n))
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("Z' [ohm cm^2]")
        ax.set_ylabel("-Z'' [ohm cm^2]")
        ax.set_title(f"{name}: impedance along the protocol")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        fig.tight_layout()
        path = folder / "nyquist_evolution.png"
        fig.savefig(path)
        plt.close(fig)
        return {"plot_nyquist_evolution": path}


class _ACFields:
    """The small-signal potentials as output fields (V per A m^-2)."""

    def __init__(self, ss):
        self.ss = ss

    def output_fields(self):
        return self.ss.fields_at()


def table_rows(sp) -> list[dict]:
    """One row per frequency: Z', Z'' [ohm m^2], |Z|, phase [deg], each interface's share."""
    rows = []
    for k, f in enumerate(sp.frequency):
        z = sp.z[k]
        row = {"frequency": float(f), "z_re": z.real, "z_im": z.imag, "z_abs": abs(z),
               "phase_deg": math.degrees(math.atan2(z.imag, z.real))}
        for name, zi in sp.interfaces.items():
            row[f"z_re[{name}]"] = zi[k].real
            row[f"z_im[{name}]"] = zi[k].imag
        row["krylov_its"] = sp.krylov_its[k]
        rows.append(row)
    return rows


def electrolyte_thickness(charge) -> float | None:
    """The electrolyte's volume over the current collector's area [m] (its thickness in a
    layered cell; collective), None for a cell without an ionic region."""
    if charge.electrolyte is None:
        return None
    return charge.domain.volume(charge.electrolyte) / charge._cc_area


def particle_geometry(charge, particles) -> list[tuple]:
    """[(particle physics, volume [m^3], interface area [m^2])] of the particle regions
    (per unit depth in 2D, with the domain's weight; collective, once per study)."""
    out = []
    for p in particles:
        name = next(n for n, (e, _, _) in charge._sides.items() if e == p.region)
        out.append((p, charge.domain.volume(p.region), charge._areas[name]))
    return out


def chemical_capacitance(charge, geometry, sp) -> dict | None:
    """The particles' chemical (intercalation) capacitance, from the inputs and read off the
    spectrum, per collector area [F m^-2].

    Input: C = F c_max V (-dtheta/dU) summed over the particle regions at their mean filling
    (V their volume over the collector area). Read: -1 / (omega Z'') at the lowest
    frequency, where a blocking particle has filled evenly and the cell is that capacitor
    in series with resistances. `geometry`: particle_geometry(). None without particles."""
    if not geometry:
        return None
    from femcell.units import F as FARADAY

    total, by_region = 0.0, {}
    for p, vol, _ in geometry:
        mat = p.material
        theta = p.quantities()[f"{p.name}_mean"] / mat.c_max  # volume mean (collective)
        lo, hi = max(theta - 1e-6, 0.0), min(theta + 1e-6, 1.0)
        slope = (float(mat.ocv(np.array(hi))) - float(mat.ocv(np.array(lo)))) / (hi - lo)
        c = FARADAY * mat.c_max * vol / charge._cc_area / (-slope) if slope < 0 else math.inf
        by_region[p.region] = {"theta": theta, "dU_dtheta_V": slope, "capacitance_F_m2": c}
        total += c
    w0 = 2 * math.pi * sp.frequency[0]
    read = -1.0 / (w0 * sp.z[0].imag) if sp.z[0].imag < 0 else math.inf
    return {"input_F_m2": total, "read_F_m2": read, "ratio": read / total,
            "frequency_Hz": float(sp.frequency[0]), "regions": by_region}


def characteristic_frequencies(charge, ss, geometry=()) -> dict:
    """{process: f [Hz]} from the inputs: sigma / (2 pi eps) of every region and cell group
    with a permittivity, g_gb / (2 pi c_gb) of the boundaries, 1 / (2 pi R_ct C_dl) of each
    interface with a double layer (R_ct: the inverse mean slope dj/d(eta) of its kinetics at
    the state), 1 / (2 pi R_theta C) of a coverage acting on the potential (a voiding anode
    with coverage_potential: C = C_theta, plus C_dl where R_theta > R_ct), and
    D / (2 pi l^2) of each particle region (l = volume / interface area: the thickness of a
    slab, r / 3 of a sphere), where its Warburg response turns capacitive."""
    T = float(charge._T.value)
    out = {}
    for g, eps in ss.permittivity.items():
        region = g.split(".")[0]
        if region not in charge.conductors:
            continue
        cond = charge._group_cond.get(g, charge.conductors.get(g))
        if cond is None:
            continue
        out[_phase_name(charge, g)] = cond.conductivity(T) / (2 * math.pi * eps)
    gb = charge.grain_boundaries
    if gb is not None:
        eps_r = ss.permittivity.get(gb.region)
        try:
            c = gb.capacitance(eps_r)
            out[f"boundaries[{gb.facets}]"] = gb.conductance_at(T) / (2 * math.pi * c)
        except ValueError:
            pass
    rct = charge.charge_transfer_resistances()  # per interface area, as C_dl
    touch = charge.contact_fractions()  # the double layer lives on the contact
    in_physics = {n: charge.double_layer[e] for n, (e, _, _) in charge._sides.items()
                  if e in charge.double_layer}
    for name, c_dl in {**ss.double_layer, **in_physics}.items():
        if math.isfinite(rct[name]) and touch[name] > 0:
            out[f"charge_transfer[{name}]"] = 1 / (2 * math.pi * rct[name] * c_dl
                                                   * touch[name])
    dls = {**ss.double_layer, **in_physics}
    for k in charge.kinetics:  # a coverage acting on the potential (a voiding anode)
        for c in k.couplings:
            rel = c.coverage_relaxation() if hasattr(c, "coverage_relaxation") else None
            if rel is None:
                continue
            name = charge.domain.interface(k.electrode, k.electrolyte).name
            r_th, c_th = rel  # per contacting area, as C_dl and R_ct times the contact
            # a coverage arc far above R_ct charges the double layer through R_theta too
            big = r_th > rct[name] * touch[name]
            out[f"vacancy_transfer[{name}]"] = 1 / (2 * math.pi * r_th * (
                c_th + (dls.get(name, 0.0) if big else 0.0)))
    for p, vol, area in geometry:  # particle_geometry()
        ell = vol / area
        out[f"diffusion[{p.region}]"] = (p.material.reference_diffusivity(T)
                                         / (2 * math.pi * ell**2))
    return out


def _phase_name(charge, group: str) -> str:
    """The process of a region or cell group with its own conductor: `grains[...]` in the
    electrolyte, `boundaries[<electrolyte>.matrix]` for the resolved boundary layers the cell
    builders leave between box grains (`grains.boundary_thickness`), `bulk[...]` elsewhere."""
    if group.split(".")[0] != charge.electrolyte:
        return f"bulk[{group}]"
    return f"boundaries[{group}]" if group == _RESOLVED.format(charge.electrolyte) \
        else f"grains[{group}]"


_RESOLVED = "{}.matrix"  # the cell group of resolved boundary layers (femcell.geometry)


def find_arcs(f, z) -> list[dict]:
    """Local maxima of -Z'' over log f (parabolic refinement in log f): frequency [Hz],
    height -Z''max and Z' there [ohm m^2], and the arc's chord on the real axis (its
    resistance read off the spectrum without a circuit): Z' where -Z'' is least between
    this arc and the next one at lower frequency minus Z' where it is least between this
    arc and the next one at higher frequency (or the end of the range)."""
    from scipy.signal import find_peaks

    z = np.asarray(z)
    y = -z.imag
    peaks, _ = find_peaks(np.concatenate([[-np.inf], y, [-np.inf]]))
    peaks = peaks - 1
    out = []
    lf = np.log10(f)
    for k, p in enumerate(peaks):
        if p <= 0 or p >= len(f) - 1:  # an arc cut off by the frequency range
            continue
        a, b, c = y[p - 1], y[p], y[p + 1]
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if den != 0 else 0.0
        h = lf[p + 1] - lf[p]
        lo = peaks[k - 1] if k > 0 else 0  # f ascending: lower frequencies first
        hi = peaks[k + 1] if k + 1 < len(peaks) else len(f) - 1
        below = lo + int(np.argmin(y[lo:p + 1]))
        above = p + int(np.argmin(y[p:hi + 1]))
        out.append({"frequency_Hz": float(10 ** (lf[p] + shift * h)),
                    "height_ohm_m2": float(b - 0.25 * (a - c) * shift),
                    "z_re_ohm_m2": float(z[p].real),
                    "chord_ohm_m2": float(z[below].real - z[above].real)})
    return out


def assign(arcs: list[dict], char: dict) -> list[dict]:
    """Each arc with the process of the nearest characteristic frequency (in decades);
    processes whose frequencies agree within 0.01 decade (e.g. two equal electrodes) share
    the arc and are named together, joined by " + "."""
    for a in arcs:
        if char:
            dist = {k: abs(math.log10(fc / a["frequency_Hz"])) for k, fc in char.items()}
            best = min(dist.values())
            a["process"] = " + ".join(k for k, d in dist.items() if d <= best + 0.01)
            a["decades_from_characteristic"] = best
        else:
            a["process"] = "unassigned"
    return arcs


def _dataset(f, z):
    """(the pyimpspec module, a DataSet of Z(f)) for its analyses."""
    import pyimpspec

    return pyimpspec, pyimpspec.DataSet(frequencies=np.asarray(f), impedances=np.asarray(z),
                                        label="femcell")


KK_WARN_PERCENT = 0.1  # a computed spectrum further than this from a causal one is flagged


KK_MAX_Q = 1.0  # poles kept within 45 deg of the negative real axis (RC-like relaxations)


def causal_rational_fit(f, z) -> dict:
    """Kramers-Kronig test of Z(f) by a causal rational fit. scipy's AAA rational
    approximation of Z(s), s = i 2 pi f (with the mirror at negative frequencies,
    Z(-i w) = conj Z(i w), so that the fit is the transform of a real response), gives
    poles; any in the right half-plane (not causal, and spurious Froissart poles) are
    reflected into the left one, and any sharper than a quality factor KK_MAX_Q (|Im p| >
    |Re p|) are damped to it; Z is then fitted in least squares (relative residuals) by a
    constant plus sum r_k / (s - p_k) over those poles, at most N - 1 for the 2 N values.
    Such a function is causal and satisfies the Kramers-Kronig relations exactly, so its
    largest residual bounds how far Z is from a Kramers-Kronig consistent spectrum of
    RC-like relaxations. Undamped poles could resonate between two samples and follow a
    non-causal feature there (a step of 4 % in Z' alone passed at 0.05 % at 4 per decade;
    damped it reads 0.2-1.4 %); a spectrum with genuinely under-damped resonances (an LC
    loop) would read high. The best of a few pole counts is kept; no extrapolation outside
    the range is needed (the poles may lie outside it).

    Returns:
        {"max_residual_percent": in % of |Z|, "poles": the count used, "reflected": poles
        the AAA fit put in the right half-plane}.
    """
    from scipy.interpolate import AAA

    f, z = np.asarray(f, dtype=float), np.asarray(z, dtype=complex)
    w = 2 * np.pi * f
    s = 1j * w / math.sqrt(w[0] * w[-1])  # O(1) over the range
    # with the negative frequencies, Z(-i w) = conj Z(i w): the fit is then the transform
    # of a real response (poles and residues in conjugate pairs)
    s = np.concatenate([s, s.conj()])
    zn = z / np.abs(z).max()
    zn = np.concatenate([zn, zn.conj()])
    weight = 1.0 / np.abs(zn)
    best = None
    for terms in sorted({max(2, f.size // 2), max(2, 2 * f.size // 3), max(2, f.size)}):
        with warnings.catch_warnings():  # "failed to converge": the cap on the terms
            warnings.simplefilter("ignore", RuntimeWarning)
            poles = AAA(s, zn, rtol=1e-13, max_terms=terms).poles()
        poles = poles[np.isfinite(poles)]
        right = poles.real > 0
        poles = np.where(right, -poles.conj(), poles)
        # damped to the quality factor KK_MAX_Q, and off the axis (a pole at a sample)
        floor = -np.maximum(np.abs(poles.imag) / KK_MAX_Q, 1e-9 * np.abs(poles))
        poles = np.where(poles.real > floor, floor + 1j * poles.imag, poles)
        basis = np.column_stack([np.ones_like(s)] + [1.0 / (s - p) for p in poles])
        coef = np.linalg.lstsq(basis * weight[:, None], zn * weight, rcond=None)[0]
        res = float((np.abs(basis @ coef - zn) * weight).max())
        if best is None or res < best["max_residual_percent"] / 100:
            best = {"max_residual_percent": 100 * res, "poles": int(poles.size),
                    "reflected": int(right.sum())}
        if res < 1e-10:  # round-off of the test itself: more poles cannot tell more
            break
    return best


def kramers_kronig(f, z) -> dict:
    """Two Kramers-Kronig tests of Z(f): `causal_rational_fit` (the headline's residual) and
    pyimpspec's linear test (Boukamp's complex test) with one RC element per frequency,
    their time constants spanning the measured range (the classic reference; its residual
    is its own fitting error on a fixed time-constant grid: 2 % at 8 frequencies per decade
    on a spectrum the rational test puts within 1e-4 % of a causal one). The largest
    residuals in % of |Z|."""
    try:
        out = {"method": "causal rational fit: AAA poles (scipy) reflected into the stable "
                         "half-plane and damped to Q <= 1, residues by least squares "
                         "(femcell)",
               **causal_rational_fit(f, z)}
    except Exception as exc:  # a failed test is a warning, not a failed run
        return {"error": f"the Kramers-Kronig test failed ({type(exc).__name__}: {exc})"}
    try:
        pyimpspec, data = _dataset(f, z)
        res = pyimpspec.perform_kramers_kronig_test(
            data, test="complex", num_RC=len(f), num_F_ext_evaluations=0, num_procs=1)
        _, re, im = res.get_residuals_data()
        out["boukamp"] = {"method": "pyimpspec linear Kramers-Kronig test (complex, Boukamp "
                                    "1995; one RC element per frequency over the range)",
                          "num_RC": int(res.num_RC), "pseudo_chisqr": float(res.pseudo_chisqr),
                          "max_residual_percent": float(max(np.abs(re).max(),
                                                            np.abs(im).max()))}
    except Exception as exc:
        out["boukamp"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def distribution_of_relaxation_times(f, z) -> dict:
    """The distribution of relaxation times gamma(tau) [ohm m^2 per unit ln tau] of Z(f)
    by pyimpspec's Tikhonov-regularised non-negative least squares fitted to -Z'' (its
    "imaginary" mode: no series resistance to fit), the regularisation chosen by the package,
    and its peaks (pyimpspec's peak analysis: time constant and area, the resistance of that
    process). Integrated over ln tau it gives Z'(f -> 0) - Z'(f -> inf) of a spectrum whose
    arcs close inside the range."""
    try:
        _, data = _dataset(f, z)
        from pyimpspec.analysis.drt import calculate_drt_tr_nnls

        res = calculate_drt_tr_nnls(data, mode="imaginary")
        tau, gamma = (np.asarray(a, dtype=float) for a in res.get_drt_data()[:2])
        table = res.analyze_peaks().to_peaks_dataframe()
        peaks = [{"tau_s": float(t), "frequency_Hz": 1 / (2 * math.pi * float(t)),
                  "resistance_ohm_m2": float(r)}
                 for t, r in zip(table["tau (s)"], table["R_peak (ohm)"], strict=True)]
        return {"method": "pyimpspec TR-NNLS (Tikhonov-regularised NNLS on -Z'')",
                "lambda": float(res.lambda_value), "tau_s": tau.tolist(),
                "gamma_ohm_m2": gamma.tolist(), "peaks": peaks,
                "integral_ohm_m2": float(np.trapezoid(gamma, np.log(tau)))
                if tau.size > 1 else 0.0}
    except Exception as exc:  # a failed analysis is a warning, not a failed run
        return {"error": f"the distribution of relaxation times failed "
                         f"({type(exc).__name__}: {exc})"}


AUTO_CHISQR = 1e-4  # pseudo chi^2 below which "auto" takes the smallest circuit


def fit_equivalent_circuit(f, z, circuit: str, arcs: list[dict]) -> dict:
    """Fit `circuit` (pyimpspec circuit description code) to Z(f), or for "auto" a resistor
    in series with n parallel (RC) blocks, n from the number of arcs found up to two more
    (processes hidden under larger arcs): the smallest n whose pseudo chi^2 is below
    AUTO_CHISQR, else the best of them (as an experimenter adds elements until the
    residuals are flat, no more). The blocks of the arcs start from each arc's chord R and
    C = 1 / (2 pi f_apex R), the resistor from Z' at the highest frequency: unseeded, the
    fit of one spectrum landed in different local minima from run to run."""
    if circuit != "auto":
        return fit_circuit(f, z, circuit)
    r0 = max(float(np.real(z[-1])), 1e-30)
    seeded = f"R{{R={r0:.6g}}}" + "".join(
        f"(R{{R={a['chord_ohm_m2']:.6g}}}"
        f"C{{C={1 / (2 * math.pi * a['frequency_Hz'] * a['chord_ohm_m2']):.6g}}})"
        for a in arcs if a.get("chord_ohm_m2", 0) > 0)
    found = seeded.count("(")
    tried = []
    for extra in range(0 if found else 1, 3):
        fit = fit_circuit(f, z, seeded + "(RC)" * extra)
        tried.append(fit)
        if fit.get("pseudo_chisqr", math.inf) <= AUTO_CHISQR:
            break
    best = min(tried, key=lambda t: t.get("pseudo_chisqr", math.inf))
    if "pseudo_chisqr" not in best:
        return best
    ok = [t for t in tried if t.get("pseudo_chisqr", math.inf) <= AUTO_CHISQR]
    best = dict(ok[0] if ok else best)
    best["auto"] = {t["circuit"]: t.get("pseudo_chisqr") for t in tried}
    return best


def fit_circuit(f, z, cdc: str) -> dict:
    """Fit the equivalent circuit `cdc` (pyimpspec circuit description code) to Z [ohm m^2]:
    the fitted parameters by element."""
    try:
        pyimpspec, data = _dataset(f, z)
        fit = pyimpspec.fit_circuit(pyimpspec.parse_cdc(cdc), data, num_procs=1)
        params, count = {}, {}
        for elem in fit.circuit.get_elements():  # R_1, R_2, ..., C_1, ... in circuit order
            sym = elem.get_symbol()
            count[sym] = count.get(sym, 0) + 1
            for k, v in elem.get_values().items():
                params[f"{sym}_{count[sym]}" + ("" if k == sym else f".{k}")] = float(v)
        rc = []  # the parallel blocks of exactly one R and one C: (R, C)
        for conn in fit.circuit.get_connections(recursive=True):
            if type(conn).__name__ != "Parallel":
                continue
            elems = conn.get_elements(recursive=False)
            syms = sorted(e.get_symbol() for e in elems)
            if syms == ["C", "R"]:
                vals = {e.get_symbol(): float(e.get_values()[e.get_symbol()]) for e in elems}
                rc.append((vals["R"], vals["C"]))
        return {"circuit": cdc, "fitted": fit.circuit.to_string(6), "parameters": params,
                "rc_pairs": rc, "pseudo_chisqr": float(fit.pseudo_chisqr)}
    except Exception as exc:
        return {"error": f"the circuit fit of {cdc!r} failed ({type(exc).__name__}: {exc})"}


def brick_layer(fit: dict | None, char: dict, charge, arcs: list[dict],
                thickness: float | None = None) -> dict | None:
    """The brick-layer reading of the fitted (RC) arcs of the grains and the boundaries.

    The arc nearest the grains' characteristic frequency is read as the grains:
    sigma_b = L / R_b with L the electrolyte's thickness (its volume over the collector
    area), next to the input sigma_b (`sigma_b_error`): where boundaries conduct better
    than the grains (easy paths along them) that arc carries both, and the reading is the
    mixture's. With equal permittivities in grains and boundaries, the brick-layer model
    reads the boundaries' specific conductivity relative to the grains' as
    sigma_gb / sigma_b = (R_b C_b) / (R_gb C_gb), the ratio of the two arcs' time
    constants. The input's value of the same ratio is f_gb / f_b of the characteristic
    frequencies (sigma_gb / sigma_b times eps_b / eps_gb, the conductivity ratio itself when
    the permittivities are equal, as for the library's LLZO and its boundary phase); their
    mismatch is the error a brick-layer analysis of this microstructure makes. The
    boundaries are the interface ([charge.grain_boundaries]) or the resolved layers
    (`<electrolyte>.matrix` with a conductor of its own).

    The bulk arc of the sigma_b reading is the arc of the spectrum whose capacitance
    1 / (2 pi f_apex R) (R its chord on the real axis, no circuit) is nearest the geometric
    eps_b / L, as an experimenter identifies it, within half a decade. The ratio's arcs are
    the fitted (RC) blocks nearest to the grains' and the boundaries' characteristic
    frequencies; it needs boundaries and a circuit fit, and is left out when an arc is
    hidden (no local maximum of -Z'') or no fitted block lies within half a decade of it,
    rather than a misassigned number. None without a permittivity of the grains or with
    neither reading.
    """
    gb = charge.grain_boundaries
    key_b = f"grains[{charge.electrolyte}]"
    key_gb = (f"boundaries[{gb.facets}]" if gb is not None
              else f"boundaries[{_RESOLVED.format(charge.electrolyte)}]")
    f_b, f_gb = char.get(key_b), char.get(key_gb)
    if f_b is None:  # no permittivity of the grains: no bulk arc to read
        return None
    out = {}
    sigma_b = charge.conductors[charge.electrolyte].conductivity(float(charge._T.value))
    if thickness is not None:  # the bulk arc by its capacitance: the geometric eps_b / L
        c_geo = sigma_b / (2 * math.pi * f_b * thickness)
        arc_c = [(a, 1 / (2 * math.pi * a["frequency_Hz"] * a["chord_ohm_m2"]))
                 for a in arcs if a.get("chord_ohm_m2", 0) > 0]
        if arc_c:
            arc, c = min(arc_c, key=lambda ac: abs(math.log10(ac[1] / c_geo)))
            if abs(math.log10(c / c_geo)) <= 0.5:
                read = thickness / arc["chord_ohm_m2"]
                out |= {"bulk_arc_frequency_Hz": arc["frequency_Hz"],
                        "sigma_b_read_S_m": read, "sigma_b_input_S_m": sigma_b,
                        "sigma_b_error": read / sigma_b - 1}
    pairs = [(r, c, 1 / (2 * math.pi * r * c)) for r, c in (fit or {}).get("rc_pairs", [])
             if r > 0 and c > 0]
    if f_gb is None or not pairs:
        return out or None
    found = {p for a in arcs for p in a["process"].split(" + ")}
    near = lambda f: min(pairs, key=lambda p: abs(math.log10(p[2] / f)))  # noqa: E731
    close = lambda p, f: abs(math.log10(p[2] / f)) <= 0.5  # noqa: E731
    bulk = near(f_b)
    if key_b not in found or not close(bulk, f_b):
        return out or None
    out |= {"grains_R_C": bulk[:2]}
    bound = near(f_gb)
    if key_gb in found and bound is not bulk and close(bound, f_gb):
        read = (bulk[0] * bulk[1]) / (bound[0] * bound[1])
        given = f_gb / f_b
        out |= {"boundaries_R_C": bound[:2], "sigma_gb_over_sigma_b_brick_layer": read,
                "sigma_gb_over_sigma_b_input": given, "error": read / given - 1}
    return out


def headline_of(sp, arcs, kk, fit, bl=None, chem=None, drt=None) -> dict:
    """Low- and high-frequency resistance, the arcs and the Kramers-Kronig residual."""
    h = {"z_re_low_frequency": Value(float(sp.z[0].real), "ohm m^2",
                                     f"Z' at {sp.frequency[0]:.3g} Hz (the DC resistance when "
                                     "every arc has closed)"),
         "z_re_high_frequency": Value(float(sp.z[-1].real), "ohm m^2",
                                      f"Z' at {sp.frequency[-1]:.3g} Hz"),
         "arcs": Value(len(arcs), "", "local maxima of -Z'' inside the frequency range")}
    for a in arcs:
        key = a["process"]
        h[f"apex_frequency[{key}]"] = Value(a["frequency_Hz"], "Hz",
                                            f"apex of the arc nearest to {key}")
        h[f"arc_height[{key}]"] = Value(a["height_ohm_m2"], "ohm m^2", "-Z'' at the apex")
    if "max_residual_percent" in kk:
        h["kk_max_residual"] = Value(kk["max_residual_percent"], "%",
                                     "largest Kramers-Kronig residual (causal rational fit)")
    if fit and "pseudo_chisqr" in fit:
        h["circuit_fit_pseudo_chisqr"] = Value(fit["pseudo_chisqr"], "",
                                               f"fit of {fit['circuit']}")
    if bl is not None and "sigma_b_read_S_m" in bl:
        h["sigma_b_read"] = Value(bl["sigma_b_read_S_m"], "S m^-1",
                                  "L / R of the arc whose capacitance is the geometric "
                                  "eps_b / L (R its chord, L the electrolyte's thickness)")
        h["sigma_b_error"] = Value(bl["sigma_b_error"], "", "that reading / the grains' "
                                   "input conductivity - 1")
    if bl is not None and "boundaries_R_C" in bl:
        h["boundary_resistance_fit"] = Value(bl["boundaries_R_C"][0], "ohm m^2",
                                             "R of the fitted arc nearest to the boundaries")
        h["sigma_gb_over_sigma_b_brick_layer"] = Value(
            bl["sigma_gb_over_sigma_b_brick_layer"], "",
            "brick layer: (R_b C_b) / (R_gb C_gb) of the fitted arcs (equal permittivities)")
        h["sigma_gb_over_sigma_b_input"] = Value(
            bl["sigma_gb_over_sigma_b_input"], "",
            "the same ratio from the inputs (f_gb / f_b of the characteristic frequencies)")
        h["brick_layer_error"] = Value(bl["error"], "",
                                       "brick-layer reading / input - 1")
    if drt is not None and "peaks" in drt:
        h["drt_peaks"] = Value(len(drt["peaks"]), "", "peaks of the distribution of "
                               "relaxation times (pyimpspec TR-NNLS)")
    if chem is not None:
        h["chemical_capacitance_input"] = Value(
            chem["input_F_m2"], "F m^-2", "F c_max V (-dtheta/dU) of the particles per "
            "collector area, from the inputs")
        h["chemical_capacitance_read"] = Value(
            chem["read_F_m2"], "F m^-2", f"-1 / (omega Z'') at {chem['frequency_Hz']:.3g} Hz")
    return h


def plot_drt(folder, name, rows, drt, char) -> dict:
    """drt.png: gamma(tau) with its peaks (named by their process) and the characteristic
    time constants 1 / (2 pi f_c) of the inputs (rank 0)."""
    from femcell.plotting import _mpl

    plt = _mpl()
    fig, ax = plt.subplots(figsize=(6.8, 4.2), dpi=120)
    tau = [r["tau"] for r in rows]
    ax.semilogx(tau, [r["gamma"] * 1e4 for r in rows], lw=1.4)
    for k, (proc, fc) in enumerate(char.items()):
        ax.axvline(1 / (2 * math.pi * fc), color=f"C{k + 1}", lw=0.8, ls=":", label=proc)
    for p in drt["peaks"]:
        ax.annotate(f"{p['resistance_ohm_m2'] * 1e4:.3g} ohm cm^2", (p["tau_s"], 0),
                    textcoords="offset points", xytext=(2, 4), fontsize=7, rotation=90)
    ax.set_xlabel("tau [s]")
    ax.set_ylabel("gamma [ohm cm^2]")
    ax.set_title(f"{name}: distribution of relaxation times")
    ax.grid(alpha=0.3, which="both")
    if char:
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = folder / "drt.png"
    fig.savefig(path)
    plt.close(fig)
    return {"plot_drt": path}


def arc_window(f, z) -> slice | None:
    """The frequencies of the arcs when a low-frequency tail (a capacitor, a Warburg) rises
    far above them: from the lowest-frequency local maximum of the phase (the most
    resistive point between the tail and the arcs) up; None when -Z'' stays within 3x the
    Z' range or the phase has no such maximum."""
    span = np.ptp(z.real)
    if span <= 0 or np.max(-z.imag) < 3 * span:
        return None
    ang = np.angle(z)
    peaks = [k for k in range(1, len(f) - 1) if ang[k] >= ang[k - 1] and ang[k] > ang[k + 1]]
    if not peaks or peaks[0] >= len(f) - 3:
        return None
    return slice(peaks[0], len(f))


def plots(folder, name, sp, arcs) -> dict:
    """Nyquist (ohm cm^2, equal axes, apexes marked; a second panel zooms on the arcs when a
    low-frequency tail hides them) and Bode (|Z| and phase) plots."""
    from femcell.plotting import _mpl

    plt = _mpl()
    z = sp.z * 1e4  # ohm m^2 -> ohm cm^2
    window = arc_window(sp.frequency, z)
    fig, axes = plt.subplots(1, 2 if window else 1, figsize=(11.5 if window else 6.4, 4.2),
                             dpi=120, squeeze=False)
    for n, ax in enumerate(axes[0]):
        sel = slice(None) if n == 0 else window
        ax.plot(z[sel].real, -z[sel].imag, "-o", ms=2.5, lw=1.2)
        for i, a in enumerate(arcs):
            k = int(np.argmin(np.abs(np.log10(sp.frequency / a["frequency_Hz"]))))
            if n == 1 and not (window.start <= k < window.stop):
                continue
            ax.plot(z[k].real, -z[k].imag, "s", color="C3", ms=6)
            ax.annotate(f"{a['process']}\n{a['frequency_Hz']:.3g} Hz",
                        (z[k].real, -z[k].imag), textcoords="offset points",
                        xytext=(4, 8 + 22 * (i % 2)), fontsize=7)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("Z' [ohm cm^2]")
        ax.set_ylabel("-Z'' [ohm cm^2]")
        ax.set_title(f"{name}: Nyquist" if n == 0 else
                     f"above {sp.frequency[window.start]:.3g} Hz (the arcs)")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    nyq = folder / "nyquist.png"
    fig.savefig(nyq)
    plt.close(fig)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.4, 5.6), dpi=120, sharex=True)
    a1.loglog(sp.frequency, np.abs(z), lw=1.5)
    a1.set_ylabel("|Z| [ohm cm^2]")
    a2.semilogx(sp.frequency, np.degrees(np.angle(sp.z)), lw=1.5)
    a2.set_ylabel("phase [deg]")
    a2.set_xlabel("f [Hz]")
    for a in arcs:
        for ax_ in (a1, a2):
            ax_.axvline(a["frequency_Hz"], color="C3", lw=0.8, ls=":")
    a1.set_title(f"{name}: Bode")
    for ax_ in (a1, a2):
        ax_.grid(alpha=0.3, which="both")
    fig.tight_layout()
    bode = folder / "bode.png"
    fig.savefig(bode)
    plt.close(fig)
    return {"plot_nyquist": nyq, "plot_bode": bode}
