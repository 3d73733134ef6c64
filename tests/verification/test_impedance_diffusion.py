"""Small-signal impedance of a cell with an intercalation electrode: the finite-length
Warburg response of the diffusion, and the time-domain response of the nonlinear model.

Li | electrolyte | planar particle (a slab of thickness L holding Li, diffusivity D, linear
open-circuit potential U(theta) = U0 + U' theta, grounded by an ideal electronic network).
The particle's interface is a Randles circuit, C_dl in parallel with R_ct + Z_W, where a
flux J into the slab moves its surface concentration by

    Z_W = (-U') / (F c_max) (L / D) coth(q) / q,  q = sqrt(i omega L^2 / D)

with a blocking back face (reflective: a capacitor F c_max L / (-U') at low frequency),
and tanh(q) / q instead of coth(q) / q with the concentration held at the back
(transmissive: a resistor (-U') L / (F c_max D)). In series: the anode metal, the
electrolyte L_e / sigma and the anode arc R_ct || C_dl.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import several_ranks

from femcell._dolfinx import MPI
from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor
from femcell.materials.core import IntercalationMaterial, MaterialError
from femcell.physics.boundary import Dirichlet
from femcell.physics.charge import ChargeTransport
from femcell.physics.diffusion import Diffusion
from femcell.physics.impedance import SmallSignal
from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics
from femcell.problem import Problem
from femcell.units import F, R

TE, TM, L = 20e-6, 5e-6, 5e-6  # electrolyte, anode, particle slab [m]
SIGMA, I0, C_DL = 0.05, 10.0, 0.1  # S/m, A/m^2, F/m^2
D, CMAX, DU = 1e-13, 5e4, -0.5  # m^2/s, mol/m^3, dU/dtheta [V]
METAL = Conductor("metal", Arrhenius(1e7), "electron")
FREQ = np.logspace(-6, 4, 41)
HI = 0.1e-6  # m, at the interfaces
RCT = R * 298.15 / (F * I0)


def _cell(h=1e-6, comm=MPI.COMM_WORLD, h_interface=HI):
    return Domain.from_builder("symmetric_cell", comm=comm, dim=2, width=2e-6,
                               electrolyte_thickness=TE, anode_thickness=TM,
                               cathode_thickness=L, h=h, h_interface=h_interface)


@pytest.fixture(scope="module")
def cell():
    return _cell()


def _problem(domain, *, transmissive=False, current=0.0, double_layer=None):
    mat = IntercalationMaterial("slab", CMAX, (Arrhenius(D),), ocv=lambda th: 3.9 + DU * th)
    held = [Dirichlet("cathode_cc", 0.5 * CMAX)] if transmissive else []
    dif = Diffusion(mat, held, initial=0.5 * CMAX, region="cathode", name="c_cathode")
    law = ButlerVolmer(Arrhenius(I0))
    ch = ChargeTransport({"anode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA))},
                         [InterfaceKinetics("anode", "electrolyte", law),
                          InterfaceKinetics("cathode", "electrolyte", law, couplings=(dif,))],
                         ground_electrode="cathode", current_density=current,
                         double_layer=double_layer)
    pb = Problem(domain, [dif, ch])
    pb.initialise()
    return pb, ch


def _spectrum(domain, freq=FREQ, transmissive=False, c_dl=C_DL):
    pb, ch = _problem(domain, transmissive=transmissive)
    ss = SmallSignal(pb, ch, double_layer=dict.fromkeys(ch.j_expr, c_dl) if c_dl else None)
    try:
        return ss.sweep(freq)
    finally:
        ss.close()
        pb.close()


def warburg(freq, transmissive=False):
    """Z_W [ohm m^2] of the slab (module docstring)."""
    q = np.sqrt(2j * np.pi * freq * L**2 / D)
    shape = np.tanh(q) / q if transmissive else 1 / (q * np.tanh(q))
    return (-DU) / (F * CMAX) * (L / D) * shape


def _exact(freq, transmissive=False, c_dl=C_DL):
    w = 2 * np.pi * freq
    particle = RCT + warburg(freq, transmissive)
    return (TM / (1e4 * SIGMA) + TE / SIGMA + 1 / (1j * w * c_dl + 1 / RCT)
            + 1 / (1j * w * c_dl + 1 / particle)), 1 / (1j * w * c_dl + 1 / particle)


@pytest.mark.parametrize("transmissive", [False, True], ids=["reflective", "transmissive"])
def test_finite_length_warburg(cell, transmissive):
    """The cell and the particle interface's share against the Randles circuit with the
    finite-length Warburg, at every frequency over 10 decades. The mesh resolves the
    penetration depth sqrt(D / omega) down to 0.1 um at the interfaces (h_interface): there
    the Warburg is still 0.1 R_ct (found 0.12 % on Z, 0.25 % on the share)."""
    sp = _spectrum(cell, transmissive=transmissive)
    exact, particle = _exact(FREQ, transmissive)
    share = sp.interfaces["cathode|electrolyte"]
    zw = np.abs(warburg(FREQ, transmissive))
    assert (np.abs(sp.z - exact) / np.abs(exact)).max() < 5e-3
    assert (np.abs(share - particle) / np.abs(particle)).max() < 5e-3
    # the Warburg itself within 2 % wherever it is at least a tenth of R_ct (found 0.4 %)
    seen = zw > 0.1 * RCT
    assert seen.sum() > 20
    assert (np.abs(share - particle) / zw)[seen].max() < 0.02
    # the low-frequency ends: a capacitor F c_max L / (-U') (reflective) or the resistor
    # R_ct + (-U') L / (F c_max D) (transmissive); the Warburg dominates R_ct (20x) there
    w0 = 2 * np.pi * FREQ[0]
    if transmissive:
        r_d = (-DU) * L / (F * CMAX * D)
        assert share[0].real == pytest.approx(RCT + r_d, rel=1e-3)
    else:
        assert -1 / (w0 * share[0].imag) == pytest.approx(F * CMAX * L / (-DU), rel=1e-3)


def test_warburg_converges_at_second_order():
    """At the diffusion frequency D / (2 pi L^2) the error falls ~4x per halving of a
    uniform h (found 3.6x)."""
    f = np.array([D / (2 * math.pi * L**2)])
    exact, _ = _exact(f)
    errs = [abs(_spectrum(_cell(h, h_interface=None), freq=f).z[0] - exact[0])
            for h in (1e-6, 0.5e-6)]
    assert errs[1] < errs[0] / 3


def test_time_domain_agrees_with_the_spectrum(cell):
    """A 3 mV sinusoidal current through the nonlinear transient model (Butler-Volmer,
    Fick, BDF2, 80 steps per period): its last of four periods has the amplitude and phase
    of Z(f) to 1 % (found 0.08 %; no double layer here, see
    test_double_layer_in_the_transient_model)."""
    f = 1e-3  # Hz: Warburg, R_ct and the electrolyte together
    z = _spectrum(cell, freq=np.array([f]), c_dl=None).z[0]
    amp = 3e-3 / abs(z)  # A/m^2 for a 3 mV response
    pb, ch = _problem(cell)
    z_td, peak = _sine_response(pb, ch, f, amp)
    assert abs(z_td - z) / abs(z) < 0.01
    assert peak < 5e-3


def _sine_response(pb, ch, f, amp):
    """(Z of the fitted response, its peak [V]) of the initialised problem to a current
    amp sin(2 pi f t) [A m^-2]: BDF2 with 80 steps per period, the last of four periods
    fitted with sin, cos, a constant and a slow drift (the Warburg's capacitor). Closes the
    problem."""
    w = 2 * math.pi * f
    ch.set_current(lambda t: amp * math.sin(w * t))
    sign = ch._vsign  # cell_voltage = sign (phi_cc - phi_ground)
    v0 = ch.quantities()["cell_voltage"]
    n, periods = 80, 4
    dt = 1 / (f * n)
    ts, vs = [], []
    for k in range(n * periods):
        t = (k + 1) * dt
        assert pb.solve_step(t, dt, 2 if k else 1, dt if k else None).converged
        pb.accept()
        ts.append(t)
        vs.append(sign * (ch.quantities()["cell_voltage"] - v0))
    pb.close()
    ts, vs = np.array(ts[-n:]), np.array(vs[-n:])  # the last period
    A = np.column_stack([np.sin(w * ts), np.cos(w * ts), np.ones_like(ts), ts - ts.mean()])
    coef = np.linalg.lstsq(A, vs, rcond=None)[0]
    return complex(coef[0], coef[1]) / amp, float(np.abs(vs).max())


@several_ranks
@pytest.mark.parametrize("transmissive", [False, True], ids=["reflective", "transmissive"])
def test_same_warburg_on_one_and_all_ranks(cell, transmissive):
    """1e-7 at every frequency (found 2e-8: the graded mesh and the metal's capped
    conductivity put the condition number near 1e8), except below omega L^2 / D = 0.1 for a
    blocking particle: a uniform filling is an equilibrium at any level, so K is singular
    and the system's smallest singular value falls with omega; Z there is the capacitor
    plus a small real part that round-off moves by ~1e-16 / (omega L^2 / D) times the
    condition number (found 8.5e-6 of |Z| at omega L^2 / D = 1.6e-3)."""
    par = _spectrum(cell, transmissive=transmissive)
    ser = _spectrum(_cell(comm=MPI.COMM_SELF), transmissive=transmissive)
    err = np.abs(par.z - ser.z) / np.abs(ser.z)
    wtau = 2 * np.pi * FREQ * L**2 / D
    slow = (wtau < 0.1) & (not transmissive)
    assert err[~slow].max() < 1e-7
    assert err.max() < 2e-5


def test_rates_split_about_the_state_not_the_last_step():
    """split_rates on a coefficient times a rate, phi d(theta)/dt + theta = 0 and
    d(phi)/dt + phi - theta = 0, taken mid-run (history levels differ from the state, BDF2):
    the quasi-stationary linearisation has K = [[I, 0], [-I, I]] mass matrices and
    M = [[phi0 I, 0], [0, I]]; with the history kept, K would hold phi'(theta - theta^n)
    terms of the last step's rate (the bug this guards against)."""
    import dolfinx as dfx
    import ufl

    from femcell.fields import Field, TimeContext
    from femcell.physics.impedance import split_rates

    mesh = dfx.mesh.create_unit_interval(MPI.COMM_SELF, 4)
    V = dfx.fem.functionspace(mesh, ("Lagrange", 1))
    time = TimeContext(mesh)
    time.set_scheme(3.0, 0.5, 2, 0.7)  # BDF2, unequal steps
    th, ph = Field.create("theta", V), Field.create("phi", V)
    th.u.x.array[:] = 0.3
    ph.u.x.array[:] = 0.6
    for k, (a, b) in enumerate(((0.2, 0.9), (0.1, 1.0))):  # a running state
        th.history[k].x.array[:] = a
        ph.history[k].x.array[:] = b
    v = ufl.TestFunction(V)
    r = [(ph.u * time.ddt(th) + th.u) * v * ufl.dx,
         (time.ddt(ph) + ph.u - th.u) * v * ufl.dx]
    frozen = {id(f.u): dfx.fem.Function(V) for f in (th, ph)}
    for f in (th, ph):
        frozen[id(f.u)].x.array[:] = f.u.x.array
    du = [ufl.TrialFunction(V) for _ in range(2)]
    K, M = split_rates(r, [th.u, ph.u], du, time, frozen, [th, ph])
    mass = dfx.fem.assemble_matrix(dfx.fem.form(du[0] * v * ufl.dx)).to_dense()

    def dense(form):
        return 0 * mass if form is None else dfx.fem.assemble_matrix(
            dfx.fem.form(form)).to_dense()

    assert np.allclose(dense(K[0][0]), mass) and np.allclose(dense(K[0][1]), 0 * mass)
    assert np.allclose(dense(K[1][0]), -mass) and np.allclose(dense(K[1][1]), mass)
    assert np.allclose(dense(M[0][0]), 0.6 * mass) and np.allclose(dense(M[0][1]), 0 * mass)
    assert np.allclose(dense(M[1][0]), 0 * mass) and np.allclose(dense(M[1][1]), mass)


def test_double_layer_in_the_transient_model(cell):
    """C_dl as part of the charge physics (its potentials then keep time levels): the
    small signal reads it off the residual (no double layer passed) and gives the Randles
    spectrum; a 3 mV sinusoidal current at the electrode arc's apex 1 / (2 pi R_ct C_dl)
    through the nonlinear transient model (BDF2, 80 steps per period) has the amplitude and
    phase of Z(f) to 1 % (found 0.13 %; the spectrum: 0.12 % as with the double layer given
    to SmallSignal)."""
    dl = {"anode": C_DL, "cathode": C_DL}
    pb, ch = _problem(cell, double_layer=dl)
    ss = SmallSignal(pb, ch)
    try:
        sp = ss.sweep(FREQ)
    finally:
        ss.close()
        pb.close()
    exact, _ = _exact(FREQ)
    assert (np.abs(sp.z - exact) / np.abs(exact)).max() < 5e-3
    f = 1 / (2 * math.pi * RCT * C_DL)
    pb, ch = _problem(cell, double_layer=dl)
    ss = SmallSignal(pb, ch)
    try:
        z = ss.sweep(np.array([f])).z[0]
    finally:
        ss.close()
    assert abs(z.imag) > 0.3 * abs(z.real)  # an arc, not a resistor, at this frequency
    z_td, peak = _sine_response(pb, ch, f, 3e-3 / abs(z))
    assert abs(z_td - z) / abs(z) < 0.01 and peak < 5e-3
    with pytest.raises(MaterialError, match="double layer in the charge physics already"):
        pb2, ch2 = _problem(cell, double_layer=dl)
        SmallSignal(pb2, ch2, double_layer=dict.fromkeys(ch2.j_expr, C_DL))
