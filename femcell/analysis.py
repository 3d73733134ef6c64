"""Findings from recorded results: critical current density (CCD) of current ramps and of
stepped protocols, and Arrhenius fits of results over temperature."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from femcell.protocol import StepSummary

# The state before a ramp: full contact at zero current (the first sample of every series).
INITIAL_STATE = {"t": 0.0, "applied_current_density": 0.0, "current_density": 0.0,
                 "contact_fraction": 1.0}


def first_fall_below(x, y, threshold: float, initial: tuple[float, float] | None = None
                     ) -> float | None:
    """x where the series y first falls below threshold (linear interpolation between the
    two bracketing samples); None when it never does.

    Args:
        x, y: the samples (chronological).
        threshold: the level.
        initial: (x0, y0), a sample before the first (e.g. (0, 1): full contact at t = 0),
            so that a series already below the threshold at its first sample still brackets
            the crossing (otherwise that fall is not seen).
    """
    if initial is not None:
        x, y = [initial[0], *x], [initial[1], *y]
    for k in range(1, len(y)):
        if y[k] < threshold <= y[k - 1]:
            w = (y[k - 1] - threshold) / (y[k - 1] - y[k])
            return x[k - 1] + w * (x[k] - x[k - 1])
    return None


def _with_initial(rows: list[dict], initial: dict | None) -> list[dict]:
    """The rows with the state before the ramp first (unless the rows start at t = 0)."""
    if initial is None or (rows and rows[0].get("t") == 0.0):
        return list(rows)
    return [dict(initial), *rows]


def ccd_detection(rows: list[dict], *, criterion: str = "contact", threshold: float = 0.99,
                  interface: str = "anode|electrolyte", departure: float = 0.10,
                  fit_fraction: float = 0.3, initial: dict | None = INITIAL_STATE) -> dict:
    """Critical current density of a current ramp from its recorded rows, with how well the
    ramp resolved it.

    The state before the ramp (`initial`: full contact at zero current, t = 0) is the first
    sample, so a ramp that has already lost contact after its first time step gets j_crit
    interpolated between t = 0 and that step (and `failed_at_first_step`), never None.

    Criteria (stated, and tested):
      "contact": the applied current at which the interface contact fraction first falls
          below `threshold` (linear interpolation between the two bracketing samples);
      "overpotential": the current at which the anode overpotential exceeds its linear
          (ohmic + charge-transfer) trend by more than `departure` (relative); the trend
          is fitted to the first `fit_fraction` of the ramp (the initial state, eta = 0 at
          zero current, included).

    Returns:
        {"j_crit": [A m^-2] or None when the ramp did not fail, "t_crit": time of the
        crossing [s] or None, "index": row index (in `rows`) of the first sample past the
        criterion or None, "failed_at_first_step": True when that is the ramp's first
        recorded step (j_crit is then resolved only to within that step: refine dt)}.
        With initial=None and a first sample already past the criterion, j_crit is that
        sample's current (an upper bound), flagged as failed at the first step.
    """
    seq = _with_initial(rows, initial)
    shift = len(seq) - len(rows)  # 1 when the initial state was prepended
    j = [r.get("applied_current_density", r.get("current_density")) for r in seq]
    t = [r.get("t") for r in seq]
    out = {"j_crit": None, "t_crit": None, "index": None, "failed_at_first_step": False}
    k_hit, w = None, None
    if criterion == "contact":
        x = [r.get("contact_fraction") for r in seq]
        if any(v is None for v in x):
            from femcell.protocol import ProtocolError

            raise ProtocolError("CCD criterion 'contact' needs the contact_fraction quantity")
        if x and x[0] < threshold:  # below before the ramp: failed at once
            k_hit, w = 0, 0.0
        for k in range(1, len(x)):
            if k_hit is None and x[k] < threshold <= x[k - 1]:
                k_hit, w = k, (x[k - 1] - threshold) / (x[k - 1] - x[k])
    elif criterion == "overpotential":
        import numpy as np

        eta = np.array([r.get(f"eta_mean[{interface}]", 0.0) if i < shift else
                        r[f"eta_mean[{interface}]"] for i, r in enumerate(seq)])
        jj = np.array(j, dtype=float)
        n_fit = max(3, int(fit_fraction * len(seq)))
        slope = np.polyfit(jj[:n_fit], eta[:n_fit], 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            excess = eta / np.polyval(slope, jj) - 1.0
        for k in range(max(n_fit, 1), len(seq)):
            if excess[k] > departure >= excess[k - 1]:
                k_hit = k
                w = (departure - excess[k - 1]) / (excess[k] - excess[k - 1])
                break
    else:
        from femcell.protocol import ProtocolError

        raise ProtocolError(f"unknown CCD criterion {criterion!r} (contact, overpotential)")
    if k_hit is None:
        return out
    if k_hit == 0:
        out.update(j_crit=float(j[0]), t_crit=t[0], index=0, failed_at_first_step=True)
        return out
    out["j_crit"] = float(j[k_hit - 1] + w * (j[k_hit] - j[k_hit - 1]))
    if t[k_hit] is not None and t[k_hit - 1] is not None:
        out["t_crit"] = float(t[k_hit - 1] + w * (t[k_hit] - t[k_hit - 1]))
    out["index"] = k_hit - shift
    out["failed_at_first_step"] = k_hit == 1  # bracketed by the initial state and step 1
    return out


def detect_ccd(rows: list[dict], *, criterion: str = "contact", threshold: float = 0.99,
               interface: str = "anode|electrolyte", departure: float = 0.10,
               fit_fraction: float = 0.3, initial: dict | None = INITIAL_STATE
               ) -> float | None:
    """Critical current density [A m^-2] of a current ramp from its recorded rows: the
    "j_crit" of `ccd_detection` (same arguments; the state before the ramp is the first
    sample). None only when the ramp ended without failing."""
    return ccd_detection(rows, criterion=criterion, threshold=threshold, interface=interface,
                         departure=departure, fit_fraction=fit_fraction,
                         initial=initial)["j_crit"]


def arrhenius_fit(temperatures, values) -> dict:
    """Fit ln(value) = ln(A) - Ea / (k_B T): Ea [eV] with its standard error."""
    import numpy as np

    from femcell.units import EV, K_B

    T = np.asarray(temperatures, dtype=float)
    y = np.log(np.asarray(values, dtype=float))
    x = 1.0 / T
    if len(T) < 2:
        raise ValueError("an Arrhenius fit needs at least two temperatures")
    if len(T) > 2:
        coef, cov = np.polyfit(x, y, 1, cov=True)
        se = float(np.sqrt(cov[0, 0])) * K_B / EV
    else:
        coef, se = np.polyfit(x, y, 1), float("nan")
    return {"activation_energy_eV": float(-coef[0] * K_B / EV),
            "activation_energy_se_eV": se, "prefactor": float(np.exp(coef[1]))}


def first_failing_step(summaries: list[StepSummary], *, threshold: float = 0.99,
                       quantity: str = "contact_fraction") -> float | None:
    """CCD of a stepped protocol (constant-current steps of fixed charge, as labs run CCD
    tests): the current density [A m^-2] of the first step that ends with `quantity` below
    `threshold` or that was ended by a failure condition; None if every step passed."""
    for s in summaries:
        if s.kind != "current":
            continue
        failed = s.reason.startswith(quantity) or s.reason.startswith("voltage") or (
            s.end_quantities.get(quantity, 1.0) < threshold)
        if failed:
            return s.end_quantities.get("applied_current_density",
                                        s.end_quantities.get("current_density"))
    return None


def ccd_regime(limits: dict, t_crit: float | None) -> str:
    """Which step limits a ramp: "interface-limited" or "bulk-limited", the latter with
    "(quasi-steady)" when the ramp reached j_crit after more than 10 diffusion times, or
    "creep-limited" when creep closure carries more current than the slower of the two.

    Args:
        limits: {"j_interface_limit_A_m2", "j_bulk_limit_A_m2", "diffusion_time_s"}.
        t_crit: ramp time to j_crit [s] (None: no failure).
    """
    regime = ("interface-limited" if limits["j_interface_limit_A_m2"]
              < limits["j_bulk_limit_A_m2"] else "bulk-limited")
    creep = limits.get("j_creep_closure_A_m2", 0.0)
    if creep > min(limits["j_interface_limit_A_m2"], limits["j_bulk_limit_A_m2"]):
        return f"creep-limited (closure beyond the {regime.split('-')[0]} limit)"
    if t_crit is not None and regime == "bulk-limited":
        # transient: j ~ (rate D_v)^(1/3) (theta_crit - x_v)^(2/3), the window thermal with
        # E_f - w when the equilibria are
        thermal = "vacancy_formation_eV" in limits
        regime += (" (quasi-steady)" if t_crit > 10 * limits["diffusion_time_s"]
                   else " (transient: fitted E_A tends to (E_m + 2 (E_f - w)) / 3)" if thermal
                   else " (transient: fitted E_A tends to E_m / 3)")
    return regime


def metal_ledger(q: dict, sink: str) -> dict:
    """Where the stripped metal went by the end of a ramp (PHYSICS.md section 3): every
    stripped atom left a vacancy that is still in the metal or at the interface, was absorbed
    at the collector `sink` (the anode thins there) or by bulk sinks, or condensed into a
    void. Lengths per unit interface area [m]; the relative closure error of the balance. The
    fluxes and the store changes are summed step by step as the time scheme integrates them
    (for BDF2 the plain difference of the stores differs by O(dt)), so the balance closes to
    the solver tolerance with either scheme.

    Args:
        q: the quantities of the last step of a ramp (SI).
        sink: facet region where vacancies are annihilated.
    """
    stripped = q["stripped_moles"]
    absorbed = q[f"cv_outflow_total[{sink}]"]
    in_bulk = q.get("cv_bulk_sink_total", 0.0)
    # with a moving collector the nodes' storage change includes what the mesh motion made
    stored = (q["cv_store_change"] + q["interface_store_change"]
              - q.get("cv_mesh_motion_total", 0.0))
    per_mole = q["stripped_thickness"] / stripped if stripped > 0 else 0.0  # Omega / area
    return {"stripped_thickness_m": q["stripped_thickness"],
            "anode_thinning_at_sink_m": per_mole * absorbed,
            "absorbed_by_bulk_sinks_m": per_mole * in_bulk,
            "dissolved_vacancy_thickness_m": per_mole * stored,
            "void_volume_per_area_m": q["void_volume_per_area"],
            "metal_balance_error": abs(stripped - stored - absorbed - in_bulk
                                       - q["voided_moles"]) / max(stripped, 1e-300),
            # a moving collector: the thickness on the mesh, and the atoms in the lattice
            # against the transferred vacancies (relative to the initial metal)
            **({"anode_thickness_m": q["anode_thickness"],
                "lattice_balance_error": abs(q["lattice_balance"])}
               if "anode_thickness" in q else {})}


STOP_AT = 1.5  # a CCD ramp stops once it has stripped STOP_AT x ramp.max_stripped_fraction


def stop_share(cfg, used_up: bool = False) -> float:
    """The share of the anode's thickness after which a CCD ramp stops [-]: a moving anode
    stops at its own cut-off (`used_up`: that share, 1 - physics.anode.THINNEST; else 1, the
    charge limit it never reaches)."""
    if cfg.anode.geometry == "moving":
        from femcell.physics.anode import THINNEST

        return 1.0 - THINNEST if used_up else 1.0
    return min(1.0, STOP_AT * cfg.ramp.max_stripped_fraction)


def ccd_fits(cases, case_cfgs, points, results) -> tuple[dict, list[str]]:
    """Arrhenius fit of j_crit per case of a CCD ramp study.

    Args:
        cases: the [[cases]] entries.
        case_cfgs: the study of each case (its overrides applied).
        points: (case index, temperature [K]) of every ramp.
        results: the ramp records (j_crit_A_m2, temperature_K, interface_barrier_eV ...).

    Returns:
        ({case name: fit with published values and input barriers}, warnings naming ramps
        without a critical current, which are left out of the fit, never dropped silently).
    """
    from femcell.units import EV

    fits, warnings = {}, []
    for c, (case, ccfg) in enumerate(zip(cases, case_cfgs, strict=True)):
        mine = [r for (cc, _), r in zip(points, results, strict=True) if cc == c]
        missing = [r for r in mine if r["j_crit_A_m2"] is None]
        if missing:
            warnings.append(
                f"case {case.name!r}: no contact loss up to ramp.max_time = "
                f"{ccfg.ramp.max_time:g} s or until the ramp had stripped "
                f"{stop_share(ccfg, used_up=True):.0%} of the anode at "
                + ", ".join(f"{r['temperature_K'] - 273.15:.0f} degC" for r in missing)
                + ": these ramps have no j_crit and are left out of the Arrhenius fit")
        out = [r for r in mine if r.get("excluded_from_fit")]
        if out:
            warnings.append(
                f"case {case.name!r}: left out of the Arrhenius fit at "
                + ", ".join(f"{r['temperature_K'] - 273.15:.0f} degC ({r['excluded_from_fit']})"
                            for r in out))
        used = [r for r in mine
                if r["j_crit_A_m2"] is not None and not r.get("excluded_from_fit")]
        ok = [(r["temperature_K"], r["j_crit_A_m2"]) for r in used]
        if len({t for t, _ in ok}) < 2:
            if len(ccfg.ramp.temperatures) > 1:
                warnings.append(f"case {case.name!r}: fewer than two temperatures with a "
                                "fitted critical current (none, or left out above): no "
                                "activation energy")
            continue
        fit = arrhenius_fit([t for t, _ in ok], [j for _, j in ok])
        fit["published_ea_eV"] = case.published_ea_eV
        fit["published_source"] = case.published_source
        fit["ramp_rate_A_m2_s"] = ccfg.ramp.rate * case.rate_factor
        fit["set_barriers_eV"] = {
            "interface": mine[0]["interface_barrier_eV"],
            "bulk_migration": ccfg.anode.vacancies.migration_energy / EV}
        for key, name in (("vacancy_formation_eV", "vacancy_formation"),
                          ("adhesion_per_site_eV", "adhesion_per_site")):
            if mine[0].get(key) is not None:  # the energies the thermodynamics adds
                fit["set_barriers_eV"][name] = mine[0][key]
        # the same fit of the closed-form quasi-steady j_crit of a flat, uniform interface
        if all(r.get("j_quasi_steady_A_m2") for r in used):
            fit["closed_form_ea_eV"] = arrhenius_fit(
                [r["temperature_K"] for r in used],
                [r["j_quasi_steady_A_m2"] for r in used])["activation_energy_eV"]
        fits[case.name] = fit
    return fits, warnings


def stripped_fraction_at(rows: list[dict], j_crit: float | None,
                         thickness: float) -> float | None:
    """Share of the anode thickness stripped by the time the ramp reached j_crit [-].

    Args:
        rows: the ramp's records (applied_current_density [A m^-2], stripped_thickness [m]).
        j_crit: the critical current [A m^-2] (None: no contact loss, None returned).
        thickness: the anode thickness [m].
    """
    import numpy as np

    if j_crit is None or not rows or "stripped_thickness" not in rows[0]:
        return None
    j = np.array([0.0] + [r["applied_current_density"] for r in rows])
    s = np.array([0.0] + [r["stripped_thickness"] for r in rows])
    return float(np.interp(j_crit, j, s)) / thickness


def write_ramp_table(path, results: list[dict]) -> dict:
    """j_crit.csv: one row per ramp (rank 0 only). Returns {"table": path}."""
    from femcell import io as fio
    from femcell._dolfinx import MPI

    table = fio.QuantityTable(MPI.COMM_SELF, path)
    for r in results:
        table.append({k: v for k, v in r.items() if not isinstance(v, dict | list)})
    table.close()
    return {"table": path}
