"""Phase-field fracture verification: Sneddon's pressurised crack (volume), the volume-driven
crack against the Griffith-Sneddon solution (pressure before and after growth), bounds and
irreversibility of the damage, and the energy split (compression alone does not crack).
Run serially and under mpiexec -n 2 (same tolerances)."""

import dolfinx
import numpy as np
import pytest
from conftest import one_rank

from femcell import analytic_mechanics as am
from femcell.domain import Domain
from femcell.materials.mechanical import ElasticSolid
from femcell.physics.fracture import PhaseFieldFracture
from femcell.physics.mechanics import Displacement, Elasticity
from femcell.solvers import StepController, TimeIntegrator
from femcell.solvers.staggered import StaggeredProblem

E, NU = 150e9, 0.26
A0 = 10e-6
ELL = 2.5e-6
# volume control on 2 ranks: tests/studies/test_plating.py and crack_volume_control.toml
VOLUME_ON_TWO = one_rank("test_plating.py, test_run_lifecycle: crack_volume_control.toml")
MAT = ElasticSolid(name="iso", youngs_modulus=E, poisson_ratio=NU)
GC = 10.0


def _crack_domain(half_box=2.5, ell=ELL, half_height=0.4):
    return Domain.from_builder("plate", width=20 * A0, height=20 * A0, h=2 * A0,
                               refine=[{"x": [-half_box * A0, half_box * A0],
                                        "y": [-half_height * A0, half_height * A0],
                                        "h": ell / 4}])


def _crack_problem(dom, *, pressure=None, volume=None, scheme="anderson", gc=GC, ell=ELL,
                   atol=1e-6):
    mech = Elasticity({None: MAT}, [Displacement("bottom", {"x": 0.0, "y": 0.0})],
                      mode="plane_strain")
    frac = PhaseFieldFracture(mech, toughness=gc, length=ell, model="AT1", split="none",
                              pressure=pressure, initial_cracks=[((-A0, 0.0), (A0, 0.0))])
    vc = None if volume is None else (frac, volume)
    prob = StaggeredProblem(dom, [mech, frac], [[mech], [frac]], rtol=0.0, atol=atol,
                            max_sweeps=400, acceleration=scheme, volume_control=vc)
    return mech, frac, prob


def test_sneddon_crack_volume():
    """A pressurised crack below the Griffith pressure, l = a0 / 8, h = l / 4: volume within
    5 % of Sneddon's at the initial half length (1.13x at l = a0 / 4: the diffuse tips add
    length, so l must be small against a0), and the solver schemes agree."""
    ell = A0 / 8
    dom = _crack_domain(half_box=1.5, ell=ell, half_height=0.25)
    p = 10e6
    vols = {}
    for scheme in ("alternate", "anderson"):
        mech, frac, prob = _crack_problem(dom, pressure=p, ell=ell,
                                          scheme=None if scheme == "alternate" else scheme)
        prob.initialise()
        TimeIntegrator(prob, StepController(dt_initial=1.0, adaptive=False)).run(1.0)
        q = prob.quantities()
        vols[scheme] = q["crack_volume"]
        prob.close()
    ref = am.sneddon_volume(a=A0, p=p, E=E, nu=NU)
    for scheme, v in vols.items():
        assert v / ref == pytest.approx(1.0, abs=0.05), (scheme, v / ref)
    assert vols["anderson"] == pytest.approx(vols["alternate"], rel=1e-4)


@VOLUME_ON_TWO
def test_volume_driven_crack_follows_griffith_sneddon():
    """Injected volume V up to 1.8 V_c: before growth p is proportional to V; once the crack
    grows, p(V) follows Griffith-Sneddon at the effective toughness within 5 % and the crack
    advance between two volumes follows a = (E' V^2 / (4 pi Gc_eff))^(1/3) within 10 %. The
    damage stays in [0, 1] and never decreases."""
    dom = _crack_domain(half_box=2.0)  # the crack reaches 1.5 a0
    Ep = E / (1 - NU**2)
    gc_eff = GC * (1 + 3 * (ELL / 4) / (8 * ELL))  # nominal h, for the load range only
    Vc = 2 * np.pi * am.griffith_pressure(A0, E=E, nu=NU, gc=gc_eff) * A0**2 / Ep
    v_end = 1.8 * Vc
    mech, frac, prob = _crack_problem(dom, volume=lambda t: v_end * t, atol=1e-4)
    prob.initialise()
    rows, d_prev = [], [frac.field.u.x.array.copy()]

    def on_step(rec):
        d = frac.field.u.x.array
        assert d.min() >= -1e-12 and d.max() <= 1 + 1e-12
        assert np.all(d >= d_prev[0] - 1e-12), "damage decreased"
        d_prev[0] = d.copy()
        rows.append({"t": rec["t"], **prob.quantities()})

    TimeIntegrator(prob, StepController(dt_initial=1 / 4, adaptive=False)).run(1.0, on_step)
    prob.close()
    gc_eff = frac.effective_toughness()
    V = np.array([r["crack_volume"] for r in rows])
    p = np.array([r["crack_pressure"] for r in rows])
    length = np.array([r["crack_length"] for r in rows])
    ref = am.griffith_sneddon_volume_control(V, a0=A0, E=E, nu=NU, gc=gc_eff)
    # volume control holds at every accepted step (a step the sweeps cannot converge is cut,
    # which under MPI happened once in four runs: the steps are read, not assumed)
    assert V == pytest.approx(v_end * np.array([r["t"] for r in rows]), rel=1e-9)
    before, after = V < 0.8 * ref["V_c"], V > 1.3 * ref["V_c"]
    assert before.sum() >= 1 and after.sum() >= 2, V / ref["V_c"]
    assert np.all(np.abs(p[after] / ref["p"][after] - 1) < 0.05), p / ref["p"]
    da = 0.5 * (length[-1] - length[-2])  # both tips advance
    da_ref = ref["a"][-1] - ref["a"][-2]
    assert da == pytest.approx(da_ref, rel=0.10), (da, da_ref)


@pytest.mark.parametrize("three_d", [False, True])
def test_spectral_split_matches_the_eigendecomposition(three_d):
    """psi+ = lambda/2 <tr eps>+^2 + mu sum <e_k>+^2 and sigma+ = d psi+ / d eps from the UFL
    principal strains equal numpy's eigendecomposition, also at repeated and zero principal
    strains (where a naive derivative of the closed form is 0/0)."""
    import dolfinx
    import ufl
    from mpi4py import MPI

    from femcell.physics.fracture import principal_strains

    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_SELF, 1, 1)
    rng = np.random.default_rng(3)
    lam, mu = 1.3, 0.7
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    cases = [rng.normal(size=(3, 3)) for _ in range(4)] + [
        np.diag([1.0, -0.5, -0.5]), np.diag([-2.0, 1.0, 1.0]), 0.7 * np.eye(3), -np.eye(3),
        np.zeros((3, 3)), rot @ np.diag([1.0, 1.0, -0.3]) @ rot.T,
        rot @ np.diag([0.2, -0.4, -0.4]) @ rot.T]
    c = dolfinx.fem.Constant(mesh, np.zeros((3, 3)))
    eps = ufl.variable(ufl.as_matrix([[c[i, j] for j in range(3)] for i in range(3)]))
    es = principal_strains(eps, three_d)
    psi = 0.5 * lam * (0.5 * (ufl.tr(eps) + abs(ufl.tr(eps)))) ** 2 + mu * sum(
        (0.5 * (e + abs(e))) ** 2 for e in es)
    pts = np.array([[0.3, 0.3]])
    ex = dolfinx.fem.Expression(ufl.as_vector([psi] + [ufl.diff(psi, eps)[i, j]
                                                       for i in range(3) for j in range(3)]),
                                pts)
    for a in cases:
        a = 0.5 * (a + a.T)
        if not three_d:  # planar: no out-of-plane shear
            a[0, 2] = a[2, 0] = a[1, 2] = a[2, 1] = 0.0
        c.value[:] = a
        w, v = np.linalg.eigh(a)
        psi_ref = 0.5 * lam * max(np.trace(a), 0) ** 2 + mu * np.sum(np.maximum(w, 0) ** 2)
        sig_ref = lam * max(np.trace(a), 0) * np.eye(3) + 2 * mu * (v * np.maximum(w, 0)) @ v.T
        got = ex.eval(mesh, np.array([0], dtype=np.int32)).ravel()
        scale = max(abs(psi_ref), np.abs(sig_ref).max(), 1.0)
        assert abs(got[0] - psi_ref) < 1e-12 * scale, (a, got[0], psi_ref)
        assert np.abs(got[1:].reshape(3, 3) - sig_ref).max() < 1e-10 * scale, a


@pytest.mark.parametrize("dim", [2, 3])
def test_compression_alone_does_not_crack(dim):
    """Multiaxial compression at 3x the AT1 strength (plane strain; triaxial in 3D): with the
    spectral split no principal strain is positive and no damage appears, nor with the hybrid
    one (isotropic stress, the spectral psi+ drives the damage); without a split
    the same load cracks the body (the split matters). (The volumetric-deviatoric split
    lets deviatoric energy crack a compressed body: Amor's split is for tension-shear, not
    confined compression.)"""
    L = 20e-6
    extra = {} if dim == 2 else {"depth": L / 2}
    dom = Domain.from_builder("plate", width=L, height=L / 2, h=L / (10 if dim == 2 else 5),
                              origin="corner", **extra)
    gc, ell = 1.0, 2e-6
    sc = am.at1_critical_stress(E, gc, ell)
    strain = -3 * sc / E
    bcs = [Displacement("left", {"x": 0.0}), Displacement("bottom", {"y": 0.0}),
           Displacement("right", {"x": strain * L}), Displacement("top", {"y": strain * L / 2})]
    if dim == 3:
        bcs += [Displacement("front", {"z": 0.0}), Displacement("back", {"z": strain * L / 4})]
    out = {}
    for split in ("spectral", "hybrid", "none"):
        mech = Elasticity({None: MAT}, bcs, mode="plane_strain" if dim == 2 else "3d")
        frac = PhaseFieldFracture(mech, toughness=gc, length=ell, model="AT1", split=split)
        prob = StaggeredProblem(dom, [mech, frac], [[mech], [frac]], rtol=0.0, atol=1e-6,
                                max_sweeps=300, acceleration="anderson")
        prob.initialise()
        TimeIntegrator(prob, StepController(dt_initial=1.0, adaptive=False)).run(1.0)
        out[split] = prob.quantities()["d_max"]
        prob.close()
    assert out["spectral"] < 1e-12 and out["hybrid"] < 1e-12, out
    assert out["none"] > 0.05, out


def _pulled_bar(dom, L, u_end, gc, ell, atol, **fracture):
    """(mechanics, fracture, staggered problem) of a bar (nu = 0) of length L [m] pulled at
    "right" to u_end [m] over the load, AT1 without a split."""
    mat = ElasticSolid(name="iso0", youngs_modulus=E, poisson_ratio=0.0)
    mech = Elasticity({None: mat}, [Displacement("left", {"x": 0.0}),
                                    Displacement("bottom", {"y": 0.0}),
                                    Displacement("right", {"x": u_end})],
                      mode="plane_strain", load_factor=lambda t: t)
    frac = PhaseFieldFracture(mech, toughness=gc, length=ell, model="AT1", split="none",
                              **fracture)
    prob = StaggeredProblem(dom, [mech, frac], [[mech], [frac]], rtol=0.0, atol=atol,
                            max_sweeps=400, acceleration="anderson")
    return mech, frac, prob


def test_at1_bar_damage_onset_at_the_critical_stress():
    """A bar pulled in tension (nu = 0, plane strain = uniaxial stress): AT1 stays elastic
    (d = 0) up to sigma_c = sqrt(3 Gc E / (8 l)) and damages in the first load step past it
    (steps of 0.1 sigma_c; a wrong factor in the damage driving force moves the onset by
    more than one step)."""
    L, gc, ell = 20e-6, 1.0, 2e-6
    dom = Domain.from_builder("plate", width=L, height=L / 4, h=L / 10, origin="corner")
    sc = am.at1_critical_stress(E, gc, ell)
    eps_end = 1.45 * sc / E
    prob = _pulled_bar(dom, L, eps_end * L, gc, ell, atol=1e-6)[2]
    prob.initialise()
    rows = []
    TimeIntegrator(prob, StepController(dt_initial=1 / 14.5, adaptive=False)).run(
        1.0, lambda rec: rows.append((rec["t"] * eps_end * E, prob.quantities()["d_max"])))
    prob.close()
    stress = np.array([r[0] for r in rows])
    dmax = np.array([r[1] for r in rows])
    first = int(np.argmax(dmax > 1e-8))
    assert dmax[first] > 1e-8, dmax
    assert stress[first - 1] <= sc * (1 + 1e-9) < stress[first], (stress / sc, dmax)


def _surfing(K, advance, steps, W=120e-6, ell=5e-6, gc=GC, comm=None):
    """A plate W x W/2 with a crack from the left edge to 0.2 W and the mode-I K-field of a
    tip moving by `advance` imposed on the whole boundary (the surfing test)."""
    from femcell.physics.mechanics import DisplacementField, k_field

    H = W / 2
    tip0 = (-W / 2 + 0.2 * W, 0.0)
    from mpi4py import MPI

    dom = Domain.from_builder("plate", comm=comm or MPI.COMM_WORLD, width=W, height=H,
                              h=H / 10, refine=[{"x": [-W / 2, W / 2],
                                       "y": [-3 * ell, 3 * ell], "h": ell / 3}])
    f = k_field(K=K, youngs_modulus=E, poisson_ratio=NU, tip=tip0, advance=(advance, 0.0))
    mech = Elasticity({None: MAT}, [DisplacementField(r, f)
                                    for r in ("left", "right", "top", "bottom")],
                      mode="plane_strain")
    frac = PhaseFieldFracture(mech, toughness=gc, length=ell, model="AT1", split="none",
                              initial_cracks=[((-W / 2, 0.0), tip0)],
                              j_integral=((1.0, 0.0), 2 * ell))
    prob = StaggeredProblem(dom, [mech, frac], [[mech], [frac]], rtol=0.0, atol=1e-6,
                            max_sweeps=400, acceleration="anderson")
    prob.initialise()
    rows = []
    TimeIntegrator(prob, StepController(dt_initial=1 / steps, adaptive=False)).run(
        1.0, lambda rec: rows.append(prob.quantities()))
    gc_eff = frac.effective_toughness()
    prob.close()
    return rows, gc_eff


@one_rank("test_run_lifecycle: surfing.toml through the CLI")
def test_surfing_j_plateaus_at_the_effective_toughness():
    """Surfing (Hossain et al. 2014): the K-field of Griffith's K = sqrt(Gc E') moves along
    the crack line; the crack follows it (advance per step = the tip's) and the J-integral
    plateaus at Gc_eff = Gc (1 + 3h/(8l)) within 5 % (the issue's tolerance), with d never
    decreasing."""
    W, steps = 120e-6, 10
    adv = 0.4 * W
    rows, gc_eff = _surfing(np.sqrt(GC * E / (1 - NU**2)), adv, steps, W=W)
    j = np.array([r["j_integral"] for r in rows])
    length = np.array([r["crack_length"] for r in rows])
    plateau = j[steps // 2:]
    assert np.all(np.abs(plateau / gc_eff - 1) < 0.05), plateau / gc_eff
    # the crack follows the moving field: it advances by the tip's advance
    grown = length[-1] - length[steps // 2 - 1]
    assert grown == pytest.approx(adv * (steps - steps // 2) / steps, rel=0.1)
    assert min(r["d_min"] for r in rows) >= 0.0 and max(r["d_max"] for r in rows) <= 1.0


def test_broken_bar_dissipates_the_effective_toughness():
    """A bar (nu = 0, structured grid of spacing h = l/4, grips held intact d = 0) pulled past
    the AT1 strength breaks in one step; the dissipated energy Gc int (w/l + l|grad d|^2)/c_w
    of the broken bar is Gc_eff H, Gc_eff = Gc (1 + 3h/(8l)) with h the node spacing across
    the crack, within 2 % (the nominal Gc H is 9 % off: the check sees the mesh correction),
    and the crack carries no load (reaction < 1 % of the peak)."""
    L, H, gc, ell = 20e-6, 2e-6, 1.0, 2e-6
    h = ell / 4
    dom = Domain.from_builder("plate", width=L, height=H, h=h, origin="corner",
                              structured=True)
    sc = am.at1_critical_stress(E, gc, ell)
    _, frac, prob = _pulled_bar(dom, L, 1.2 * sc / E * L, gc, ell, atol=1e-7,
                                intact=("left", "right"))
    prob.initialise()
    rows = []
    TimeIntegrator(prob, StepController(dt_initial=1 / 12, adaptive=False)).run(
        1.0, lambda rec: rows.append(prob.quantities()))
    gc_eff = frac.effective_toughness(h=h)
    prob.close()
    broken = [r for r in rows if r["d_max"] > 0.999]
    assert broken, [r["d_max"] for r in rows]
    first = broken[0]
    assert first["dissipated_energy"] == pytest.approx(gc_eff * H, rel=0.02)
    assert abs(first["dissipated_energy"] / (gc * H) - 1) > 0.05  # the correction matters
    peak = max(abs(r["u_reaction[right.x]"]) for r in rows)
    assert abs(first["u_reaction[right.x]"]) < 0.01 * peak


def test_same_crack_on_one_and_two_ranks():
    """The surfing crack grown on every rank of the run (1 or 2) and on one rank alone: the
    same crack length, J and reaction at every step (to the sweep tolerance)."""
    from mpi4py import MPI

    if MPI.COMM_WORLD.size == 1:
        pytest.skip("compares a parallel run with a one-rank run (run under mpiexec -n 2)")
    K = np.sqrt(GC * E / (1 - NU**2))
    par, _ = _surfing(K, 24e-6, 4, comm=MPI.COMM_WORLD)
    ser, _ = _surfing(K, 24e-6, 4, comm=MPI.COMM_SELF)
    assert len(par) == len(ser) == 4
    for p, s in zip(par, ser, strict=True):
        for key in ("crack_length", "j_integral", "u_reaction[top.y]", "d_max"):
            assert p[key] == pytest.approx(s[key], rel=1e-4, abs=1e-9), key


def _surface_flaw(a, ell, stack=0.0, weak=None, split="none"):
    """(dom, mech, frac) of an edge crack of depth a along y = 0 from the left face of a
    plate 20 a wide, bottom held, a stack stress `stack` [Pa] pressing the flaw closed;
    weak = Gc ratio of a band of half width 2 l along y = 0 (a weak interface) within the
    refined box (a weak band must lie on cells finer than l: refused elsewhere)."""
    k_ic = 1e6
    e_prime = E / (1 - NU**2)
    W = 20 * a
    x0 = -W / 2
    dom = Domain.from_builder("plate", width=W, height=W, h=W / 10, refine=[
        {"x": [x0, x0 + a + 8 * ell], "y": [-3 * ell, 3 * ell], "h": ell / 4}])
    mech = Elasticity({None: MAT}, [Displacement("bottom", {"x": 0.0, "y": 0.0})],
                      mode="plane_strain")
    frac = PhaseFieldFracture(mech, toughness=k_ic**2 / e_prime, length=ell, model="AT1",
                              split=split, initial_cracks=[((x0, 0.0), (x0 + a, 0.0))],
                              stack_stress=stack, weak=None if weak is None else (
                                  np.c_[np.linspace(x0, x0 + a + 6 * ell, 401),
                                        np.zeros(401)], weak, 2 * ell))
    return dom, mech, frac


@VOLUME_ON_TWO
@pytest.mark.parametrize("a, ell, stack, weak, split", [(10e-6, 1.25e-6, 0.0, None, "none"),
                                                        (40e-6, 4e-6, 0.0, None, "none"),
                                                        (10e-6, 1.25e-6, 100e6, None, "none"),
                                                        (10e-6, 1.25e-6, 0.0, 0.25, "none"),
                                                        (40e-6, 4e-6, 0.0, None, "hybrid")])
def test_surface_flaw_onset_pressure_is_griffiths(a, ell, stack, weak, split):
    """A surface flaw of depth a (an edge crack in a plate 20 a wide) filled by an injected
    volume (from 0.4 to 0.84 of the Sneddon-like reference in 8 steps: the flaw is elastic
    below 0.6), no electrochemistry: the pressure rises until the flaw grows and then falls; its
    peak is the Griffith onset K_IC,eff / (1.12 sqrt(pi a)) (edge crack, Y = 1.12; K_IC,eff
    = sqrt(Gc_eff E')) within 10 %, for two depths a factor 4 apart (the issue on Li-filled
    cracks); after the peak the flaw has grown. A stack pressure sigma_n pressing the flaw
    closed shields it: K_I = Y (p - sigma_n) sqrt(pi a), so the onset moves to p_c + sigma_n
    (here sigma_n = 100 MPa, half the onset pressure). Along a weak band (a grain boundary
    with a quarter of the bulk Gc, half width 2 l: it holds the damage profile) the onset
    pressure is half the bulk one, K_IC,gb / K_IC = sqrt(Gc,gb / Gc). The hybrid split
    (only the spectral psi+ drives the damage) gives the same onset: a pressurised flaw's
    tip is in tension."""
    dom, mech, frac = _surface_flaw(a, ell, stack, weak, split)
    e_prime = E / (1 - NU**2)
    v_ref = am.sneddon_volume(a=a, p=am.griffith_surface_flaw_pressure(
        a, 1e6 * np.sqrt(weak or 1.0)), E=E, nu=NU)
    prob = StaggeredProblem(dom, [mech, frac], [[mech], [frac]], rtol=0.0, atol=1e-5,
                            max_sweeps=400, acceleration="anderson",
                            volume_control=(frac, lambda t: v_ref * (0.4 + 0.44 * t)))
    prob.initialise()
    rows = []
    TimeIntegrator(prob, StepController(dt_initial=1 / 8, adaptive=False)).run(
        1.0, lambda rec: rows.append(prob.quantities()))
    pc = am.griffith_surface_flaw_pressure(a, np.sqrt(frac.effective_toughness() * e_prime
                                                      * (weak or 1.0)))
    prob.close()
    p = np.array([r["crack_pressure"] for r in rows])
    i = int(np.argmax(p))
    assert 0 < i < len(p) - 1, (p - stack) / pc  # a peak, then the pressure falls
    assert p[i] == pytest.approx(pc + stack, rel=0.10 * pc / (pc + stack)), (p - stack) / pc
    assert rows[-1]["crack_length"] > rows[0]["crack_length"] + ell  # it grew


def test_facet_sample_points_are_the_same_on_every_rank():
    """The weak surfaces of a facet region: its facets' vertices and midpoints, gathered so
    that every rank holds all of them (the bottom face of the plate: y = -W/2 across it)."""
    from femcell.physics.fracture import facet_sample_points

    dom, _, _ = _surface_flaw(10e-6, 1.25e-6)
    pts = facet_sample_points(dom, "bottom")
    W = 200e-6
    assert pts.shape[1] == 2 and len(pts) >= 3 * 10  # >= 10 facets: 2 vertices + midpoint
    assert np.allclose(pts[:, 1], -W / 2)
    assert pts[:, 0].min() == pytest.approx(-W / 2) and pts[:, 0].max() == pytest.approx(W / 2)
    every = dom.comm.allgather(pts)
    assert all(np.array_equal(p, pts) for p in every)


def test_weak_band_toughness_is_an_output_field():
    """With weak surfaces the cell-wise toughness is written with the damage (ParaView shows
    where the grain boundaries are): ratio Gc on the cells within half_width of the band,
    Gc elsewhere, the same field the forms use."""
    a, ell, ratio = 10e-6, 1.25e-6, 0.25
    dom, mech, frac = _surface_flaw(a, ell, weak=ratio)
    StaggeredProblem(dom, [mech, frac], [[mech], [frac]])
    fields = frac.output_fields()
    assert set(fields) == {"damage", "toughness"}
    gc, factor = fields["toughness"]
    assert factor == 1.0 and gc is frac.toughness_field
    mesh = dom.mesh
    n = mesh.topology.index_map(2).size_local
    mid = dolfinx.mesh.compute_midpoints(mesh, 2, np.arange(n, dtype=np.int32))
    inside = (np.abs(mid[:, 1]) <= 1.9 * ell) & (mid[:, 0] <= -10 * a + a + 5.9 * ell)
    far = np.abs(mid[:, 1]) > 2 * ell + ell  # farther than the band plus a sampling gap
    vals = gc.x.array[:n]
    assert np.allclose(vals[inside], ratio * frac.gc) and np.allclose(vals[far], frac.gc)
    assert dom.comm.allreduce(int(inside.sum())) > 100
    dom, mech, plain = _surface_flaw(a, ell)
    StaggeredProblem(dom, [mech, plain], [[mech], [plain]])
    assert set(plain.output_fields()) == {"damage"}


def test_weak_band_on_cells_coarser_than_l_is_refused():
    """A weak band reaching cells coarser than l (here across the whole plate, whose cells
    outside the refined box are 16 l) is not a resolved phase field: refused at set-up."""
    from femcell.materials import MaterialError

    a, ell = 10e-6, 1.25e-6
    dom, mech, _ = _surface_flaw(a, ell)
    W = 20 * a
    frac = PhaseFieldFracture(mech, toughness=1.0, length=ell, model="AT1", split="none",
                              initial_cracks=[((-W / 2, 0.0), (-W / 2 + a, 0.0))],
                              weak=(np.c_[np.linspace(-W / 2, W / 2, 401), np.zeros(401)],
                                    0.25, 2 * ell))
    with pytest.raises(MaterialError, match="coarser than the length l"):
        StaggeredProblem(dom, [mech, frac], [[mech], [frac]])


def test_initial_crack_relaxes_on_a_fine_mesh():
    """An initial crack band relaxes into its AT1 profile (half width 2 l = 64 cells at
    l/h = 32) in the first solve: the active-set Newton moves the edge of the damage by
    about a cell per iteration, so its iteration cap scales with l/h (a fixed 30 failed
    here, and on SENT at h = l/16). The relaxed band is a crack across the strip."""
    L, H, ell, h = 40e-6, 1e-6, 4e-6, 0.125e-6
    dom = Domain.from_builder("plate", width=L, height=H, h=h, origin="corner",
                              structured=True)
    mech, frac, prob = _pulled_bar(dom, L, 1e-9, 1.0, ell, atol=1e-6,
                                   initial_cracks=[((L / 2, 0.0), (L / 2, H))])
    prob.initialise()
    integ = TimeIntegrator(prob, StepController(dt_initial=1.0, adaptive=False, max_cuts=0))
    integ.run(1.0)
    assert integ.steps == 1 and integ.rejected == 0
    assert prob.quantities()["crack_surface"] == pytest.approx(H, rel=0.1)
    prob.close()
