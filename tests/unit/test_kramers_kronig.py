"""The Kramers-Kronig test of femcell.studies.impedance (`causal_rational_fit`): closed-form
causal spectra, lumped and distributed, pass at the round-off level of the test itself;
spectra that no causal system gives (the conjugate of a causal one, an anti-causal arc added
to one) fail by orders of magnitude, at 4 and 10 frequencies per decade."""

from __future__ import annotations

import numpy as np
import pytest

from femcell.studies.impedance import causal_rational_fit, kramers_kronig


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
    """Rational and distributed closed forms within 1e-8 of |Z| (found 1e-11); the CPE,
    a fractional power the fit approximates by poles, within 1e-5 (found 5e-6)."""
    f, spectra = _spectra(per_decade)
    for name, z in spectra.items():
        res = causal_rational_fit(f, z)["max_residual_percent"] / 100
        assert res < (1e-5 if name == "cpe" else 1e-8), name


@pytest.mark.parametrize("per_decade", [4, 10])
def test_non_causal_spectra_fail(per_decade):
    """The conjugate of each spectrum (the response run backwards in time) and an
    anti-causal arc of 30 % added: residuals above 10 % of |Z| (found 27-160 %)."""
    f, spectra = _spectra(per_decade)
    for name, z in spectra.items():
        assert causal_rational_fit(f, z.conj())["max_residual_percent"] > 10, name
        bad = z + 0.3 * np.abs(z).max() / (1 - 1j * f / 10.0)
        assert causal_rational_fit(f, bad)["max_residual_percent"] > 10, name


def test_both_tests_are_reported():
    f, spectra = _spectra(10)
    kk = kramers_kronig(f, spectra["three_arcs"])
    assert kk["max_residual_percent"] < 1e-6
    assert kk["boukamp"]["num_RC"] == f.size
    assert kk["boukamp"]["max_residual_percent"] < 1.0
