"""The Kramers-Kronig test of femcell.studies.impedance (`causal_rational_fit`): closed-form
causal spectra, lumped and distributed, pass at the round-off level of the test itself;
spectra that no causal system gives (the conjugate of a causal one, an anti-causal arc added
to one, a step or a bump added to Z' alone) fail by orders of magnitude, at 4 and 10
frequencies per decade."""

from __future__ import annotations

import numpy as np
import pytest

from femcell.studies.impedance import KK_WARN_PERCENT, causal_rational_fit, kramers_kronig


def _spectra(per_decade):
    f = np.logspace(-3, 7, 10 * per_decade + 1)
    w = 2 * np.pi * f
    q = np.sqrt(1j * w)
    return f, {
        # R + C_dl || (R_ct + finite-length Warburg), transmissive and blocking
        "randles_warburg": 0.1 + 1 / (1j * w * 1e-3 + 1 / (1 + np.tanh(q) / q)),
        "blocking_warburg": 0.1 + 1 / (1j * w * 1e-3 + 1 / (1 + 1 / (q * np.tanh(q)))),
        "gerischer": 1 / np.sqrt(1 + 1j * w * 1e-2),
        "three_arcs": sum(r / (1 + 1j * w * tau) for r, tau in
                          ((1.0, 1e-6), (3.0, 1e-3), (0.5, 1.0))),
        # a constant-phase element (no finite pole set) in series with an arc
        "cpe": 1 / (1e-2 * (1j * w) ** 0.7) + 1 / (1 + 1j * w * 1e-6),
    }


@pytest.mark.parametrize("per_decade", [4, 10])
def test_causal_spectra_pass_at_round_off(per_decade):
    """Rational and distributed closed forms within 1e-8 of |Z| (found 1e-11 .. 4e-9); the
    CPE, a fractional power the fit approximates by poles, within 1e-4 (found 2e-6 and
    5e-6)."""
    f, spectra = _spectra(per_decade)
    for name, z in spectra.items():
        res = causal_rational_fit(f, z)["max_residual_percent"] / 100
        assert res < (1e-4 if name == "cpe" else 1e-8), name


@pytest.mark.parametrize("per_decade", [4, 10])
def test_non_causal_spectra_fail(per_decade):
    """The conjugate of each spectrum (the response run backwards in time) and an
    anti-causal arc of 30 % added: residuals above 10 % of |Z| (found 27-160 %). A step of
    4 % of |Z| in Z' alone between two samples (no Z'' to go with it) and a smooth bump of
    4 % in Z' alone: above the run's warning level, 0.1 % (found 0.22-1.4 % at 4 per decade,
    2.4-12 % at 10, and 3.2 % for the bump); with undamped poles the step passed at 0.05 %
    at 4 per decade."""
    f, spectra = _spectra(per_decade)
    for name, z in spectra.items():
        assert causal_rational_fit(f, z.conj())["max_residual_percent"] > 10, name
        bad = z + 0.3 * np.abs(z).max() / (1 - 1j * f / 10.0)
        assert causal_rational_fit(f, bad)["max_residual_percent"] > 10, name
    z = spectra["three_arcs"]
    for fc in (10.0, 1e3, 3e4):  # between samples at both densities
        step = z + 0.04 * np.abs(z).max() * (f > fc)
        assert causal_rational_fit(f, step)["max_residual_percent"] > KK_WARN_PERCENT, fc
    bump = z + 0.04 * np.abs(z).max() * np.exp(-(np.log10(f) - 2) ** 2)
    assert causal_rational_fit(f, bump)["max_residual_percent"] > 1


def test_both_tests_are_reported():
    f, spectra = _spectra(10)
    kk = kramers_kronig(f, spectra["three_arcs"])
    assert kk["max_residual_percent"] < 1e-6
    assert kk["boukamp"]["num_RC"] == f.size
    assert kk["boukamp"]["max_residual_percent"] < 1.0
