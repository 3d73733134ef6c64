"""Mechanics verification: manufactured solutions (isotropic and rotated cubic stiffness),
free thermal expansion, diffusion-induced stress in a sphere against the closed form, and
Norton creep (rate and relaxation) against the ODE solution."""

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femcell import analytic_mechanics as am
from femcell.domain import Domain
from femcell.fields import TimeContext
from femcell.materials.mechanical import ElasticSolid, NortonCreep
from femcell.physics.mechanics import Displacement, Elasticity, Symmetry, Traction
from femcell.problem import Problem
from femcell.solvers import StepController, TimeIntegrator

LLZO = ElasticSolid(name="iso", youngs_modulus=150e9, poisson_ratio=0.26)
CUBIC = ElasticSolid.cubic("cubic", 170e9, 120e9, 80e9)  # Zener ratio 3.2


def _norm(expr, comm):
    return np.sqrt(comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * ufl.dx)),
                                  op=MPI.SUM))


def _mms_errors(mat, rotation, n, L=1e-4, reference_rotation=None):
    dom = Domain.from_builder("plate", width=L, height=L, h=L / n, origin="corner")
    x = ufl.SpatialCoordinate(dom.mesh)
    U = 1e-7
    ue = ufl.as_vector([U * ufl.sin(np.pi * x[0] / L) * ufl.cos(np.pi * x[1] / L),
                        U * ufl.sin(np.pi * x[1] / L) * x[0] / L])
    C = mat.rotated_voigt(rotation if reference_rotation is None else reference_rotation)
    Cu = ufl.as_matrix(C.tolist())

    def sigma(u):
        g = ufl.grad(u)
        e = ufl.as_vector([g[0, 0], g[1, 1], 0, 0, 0, g[0, 1] + g[1, 0]])
        s = ufl.dot(Cu, e)
        return ufl.as_matrix([[s[0], s[5]], [s[5], s[1]]])

    mech = Elasticity({None: mat}, [], mode="plane_strain", orientations=rotation,
                      body_force=lambda xx, t: -ufl.div(sigma(ue)))
    tc = TimeContext(dom.mesh)
    mech.setup(dom, tc)
    g = dolfinx.fem.Function(mech.V)
    g.interpolate(dolfinx.fem.Expression(ue / mech.u_scale, mech.V.element.interpolation_points))
    dofs = dolfinx.fem.locate_dofs_topological(
        mech.V, 1, np.concatenate([dom.facets(s) for s in ("left", "right", "bottom", "top")]))
    mech._dbcs.append(dolfinx.fem.dirichletbc(g, dofs))
    prob = Problem(dom, [mech], time=tc)
    prob.initialise()
    assert prob.solve_step(1.0, 1.0, 1, None).converged
    e = mech.displacement() - ue
    out = (_norm(ufl.inner(e, e), dom.comm), _norm(ufl.inner(ufl.grad(e), ufl.grad(e)), dom.comm))
    prob.close()
    return out


@pytest.mark.parametrize("mat, angle", [(LLZO, 0.0), (CUBIC, 30.0)])
def test_manufactured_solution_rates(mat, angle):
    """Optimal P1 rates (L2 2, H1 1) for isotropic and rotated cubic stiffness."""
    from scipy.spatial.transform import Rotation

    R = Rotation.from_euler("z", angle, degrees=True).as_matrix()
    errs = np.array([_mms_errors(mat, R, n) for n in (4, 8, 16)])
    rates = np.log2(errs[:-1] / errs[1:])
    assert np.all(rates[:, 0] > 1.85), rates
    assert np.all(rates[:, 1] > 0.93), rates


def test_rotated_stiffness_changes_the_answer():
    """The orientation is used: the rotated crystal solved with the body force of the
    unrotated one misses the manufactured solution by far more than the discretisation."""
    from scipy.spatial.transform import Rotation

    R = Rotation.from_euler("z", 30, degrees=True).as_matrix()
    right = _mms_errors(CUBIC, R, 8)
    wrong = _mms_errors(CUBIC, R, 8, reference_rotation=np.eye(3))
    assert wrong[0] > 10 * right[0], (right, wrong)


def test_free_thermal_expansion_is_stress_free():
    """A block heated by 100 K above its reference temperature on symmetry supports expands
    by alpha dT x, with no stress; with no reference temperature given it is stress free and
    undeformed at the temperature it is built at (a study at 80 degC has no thermal strain)."""
    L, alpha, dT = 2e-5, 15e-6, 100.0
    mat = ElasticSolid(name="iso", youngs_modulus=150e9, poisson_ratio=0.26,
                       thermal_expansion=alpha)
    dom = Domain.from_builder("plate", width=L, height=L, depth=L, h=L / 3, origin="corner")
    x = ufl.SpatialCoordinate(dom.mesh)
    for ref, strain in ((298.15, alpha * dT), (None, 0.0)):
        mech = Elasticity({None: mat}, [Symmetry(s) for s in ("left", "bottom", "front")],
                          mode="3d", temperature=298.15 + dT, reference_temperature=ref)
        prob = Problem(dom, [mech])
        prob.initialise()
        assert prob.solve_step(1.0, 1.0, 1, None).converged
        u = mech.displacement()
        err = _norm(ufl.inner(u - strain * x, u - strain * x), dom.comm) / (
            alpha * dT * L * L ** 1.5)
        sig = mech.stress_tensor()
        s = _norm(ufl.inner(sig, sig), dom.comm) / (150e9 * alpha * dT * L ** 1.5)
        assert err < 1e-10 and s < 1e-10, (ref, err, s)
        assert mech.describe()["reference_temperature_K"] == (ref or 298.15 + dT)
        prob.close()


def _rotation(angles):
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("zxz", angles).as_matrix()


def test_anisotropic_swelling_free_and_clamped():
    """A rotated orthorhombic crystal with the misfit of LiFePO4 (+5 / +3.6 / -1.9 % per
    full lithiation along a, b, c) and a uniform concentration change: held only by a weak
    foundation it takes the strain R diag(beta) R^T dc with no stress (to ~1e-9, the
    foundation); clamped on every face it carries sigma = -C_lab : eps_0 (Voigt, engineering
    shears) in every cell. A wrong rotation of the misfit against the stiffness fails both."""
    from femcell.materials.mechanical import get_mechanics

    lfp = get_mechanics("lfp").elastic
    c_max, dc = 22820.0, 1.0e4
    mat = ElasticSolid(name="lfp-misfit", stiffness=lfp.stiffness,
                       chemical_expansion=(0.05 / c_max, 0.036 / c_max, -0.019 / c_max))
    R = _rotation([0.4, 1.1, -0.7])
    L = 2e-6
    dom = Domain.from_builder("plate", width=L, height=L, depth=L, h=L / 3, origin="corner")
    eps0 = mat.expansion_tensor(R) * dc
    conc = dolfinx.fem.Constant(dom.mesh, dc)
    for clamped in (False, True):
        bcs = ([Displacement(f, {"x": 0.0, "y": 0.0, "z": 0.0})
                for f in ("left", "right", "bottom", "top", "front", "back")]
               if clamped else [])
        mech = Elasticity({None: mat}, bcs, mode="3d", orientations=R,
                          concentration=(conc, 0.0), anchor=not clamped)
        prob = Problem(dom, [mech])
        prob.initialise()
        assert prob.solve_step(1.0, 1.0, 1, None).converged
        mech.refresh_outputs()
        n = dom.mesh.topology.index_map(3).size_local
        sig = mech._out["stress"].x.array.reshape(-1, 3, 3)[:n]
        scale = 100e9 * np.abs(eps0).max()
        if clamped:
            e_v = np.array([eps0[0, 0], eps0[1, 1], eps0[2, 2], 2 * eps0[1, 2],
                            2 * eps0[0, 2], 2 * eps0[0, 1]])
            s_v = -lfp.rotated_voigt(R) @ e_v
            ref = np.array([[s_v[0], s_v[5], s_v[4]], [s_v[5], s_v[1], s_v[3]],
                            [s_v[4], s_v[3], s_v[2]]])
            assert np.abs(sig - ref).max() < 1e-8 * scale
        else:
            assert np.abs(sig).max() < 1e-6 * scale
            strain = ufl.sym(ufl.grad(mech.displacement()))
            vol = L**3
            for i in range(3):
                for j in range(3):
                    got = dom.comm.allreduce(dolfinx.fem.assemble_scalar(
                        dolfinx.fem.form(strain[i, j] * ufl.dx)), op=MPI.SUM) / vol
                    assert got == pytest.approx(eps0[i, j], abs=1e-6 * np.abs(eps0).max())
        prob.close()


def test_uniaxial_traction_reaction_and_energy():
    """A bar under traction T: reaction on the support = -T H, energy T^2 V / (2 E') in plane
    strain with nu = 0 on symmetry supports (a factor-2 error fails)."""
    L, T = 1e-4, 1e7
    mat = ElasticSolid(name="iso", youngs_modulus=100e9, poisson_ratio=0.0)
    dom = Domain.from_builder("plate", width=L, height=L / 2, h=L / 6, origin="corner")
    mech = Elasticity({None: mat}, [Displacement("left", {"x": 0.0}), Symmetry("bottom"),
                                    Traction("right", (T, 0.0))], mode="plane_strain")
    prob = Problem(dom, [mech])
    prob.initialise()
    assert prob.solve_step(1.0, 1.0, 1, None).converged
    q = prob.quantities()
    assert q["u_reaction[left.x]"] == pytest.approx(-T * L / 2, rel=1e-9)
    assert q["u_strain_energy"] == pytest.approx(T**2 * L * L / 2 / (2 * 100e9), rel=1e-9)
    prob.close()


def test_diffusion_induced_stress_in_a_sphere():
    """Galvanostatic insertion into a sphere (1D spherical): the surface hoop and the centre
    stresses follow Cheng & Verbrugge within 2 %."""
    from femcell.materials import get_material
    from femcell.physics.diffusion import Diffusion, Flux

    R, q, c0, omega = 5e-6, 1e-5, 1000.0, 3e-6
    mat = get_material("nmc811")  # isotropic D (the closed form is for constant D)
    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=60)
    diff = Diffusion(mat, [Flux("surface", q)], initial=c0)
    solid = ElasticSolid(name="iso", youngs_modulus=100e9, poisson_ratio=0.3,
                         partial_molar_volume=omega)
    diff_D = mat.principal(298.15)[0]
    mech = Elasticity({None: solid}, [Symmetry("center")], mode="spherical")
    # one-way coupling: the diffusion is solved in time, the stress at the end from its field
    tc = TimeContext(dom.mesh)
    diff.setup(dom, tc)
    mech.concentration = (mat.c_max * diff.field.u, c0)
    mech.setup(dom, tc)
    p1 = Problem(dom, [diff], time=tc)
    p2 = Problem(dom, [mech], time=tc, context=[diff])
    p1.initialise()
    p2.initialise()
    t_end = 0.3 * R**2 / diff_D
    ctl = StepController(dt_initial=t_end / 200, adaptive=False, order=2)
    integ = TimeIntegrator(p1, ctl)
    integ.run(t_end)
    assert p2.solve_step(t_end, 1.0, 1, None).converged
    from femcell.plotting import sample_vector

    ref = am.sphere_diffusion_stress(np.array([R * 0.999999, 1e-9 * R]), t_end, radius=R,
                                     diffusivity=diff_D, flux=q, c0=c0, omega=omega,
                                     E=100e9, nu=0.3)
    S = dolfinx.fem.functionspace(dom.mesh, ("DG", 0, (3, 3)))
    sig = dolfinx.fem.Function(S)
    sig.interpolate(dolfinx.fem.Expression(mech.stress_tensor(), S.element.interpolation_points))
    vals = sample_vector(sig, np.array([[R * (1 - 1 / 240)], [R / 240]]), dom.comm)
    hoop_surface, hoop_centre = vals[0, 4], vals[1, 4]
    scale = abs(ref["sigma_tt"][1]) + abs(ref["sigma_tt"][0])
    assert abs(hoop_surface - ref["sigma_tt"][0]) < 0.02 * scale, (hoop_surface, ref)
    assert abs(hoop_centre - ref["sigma_tt"][1]) < 0.02 * scale, (hoop_centre, ref)
    p1.close()
    p2.close()


def _creep_block(bc_right, law, E=5e9, nu=0.3, L=1e-5):
    mat = ElasticSolid(name="metal", youngs_modulus=E, poisson_ratio=nu)
    dom = Domain.from_builder("plate", width=L, height=L, depth=L, h=L / 2, origin="corner")
    mech = Elasticity({None: mat}, [Symmetry("left"), Symmetry("bottom"), Symmetry("front"),
                                    bc_right], mode="3d", creep={None: law})
    prob = Problem(dom, [mech])
    prob.initialise()
    return dom, mech, prob


def test_norton_creep_rate_under_constant_stress():
    """Uniaxial stress sigma on a block: creep strain rate A (sigma / sigma_0)^n (1 %)."""
    from femcell.plotting import sample_vector

    L, E, sig = 1e-5, 5e9, 2e6
    law = NortonCreep(prefactor=1e-5, stress_ref=1e6, exponent=5.0)
    dom, mech, prob = _creep_block(Traction("right", (sig, 0.0, 0.0)), law, E=E, L=L)
    TimeIntegrator(prob, StepController(dt_initial=5.0, adaptive=False, order=1)).run(50.0)
    u = sample_vector(mech.field.u, np.array([[L, L / 2, L / 2]]), dom.comm)[0]
    creep = u[0] * mech.u_scale / L - sig / E
    assert creep == pytest.approx(1e-5 * 2.0**5 * 50.0, rel=1e-2)
    prob.close()


def test_stress_relaxation_follows_the_norton_ode_and_large_steps_are_stable():
    """Fixed uniaxial strain: sigma(t) follows the Norton relaxation ODE (2 %, BDF2); one
    backward-Euler step of 1000 relaxation times stays between 0 and the initial stress."""
    L, E, eps0 = 1e-5, 5e9, 1e-3
    A, s0, n = 1e-4, 1e6, 4.0
    law = NortonCreep(prefactor=A, stress_ref=s0, exponent=n)
    sig_i = E * eps0
    tau = s0**n / (E * A * n * sig_i ** (n - 1))  # initial relaxation time
    t_end = 20 * tau
    dom, mech, prob = _creep_block(Displacement("right", {"x": eps0 * L}), law, E=E, L=L)
    rows = []
    TimeIntegrator(prob, StepController(dt_initial=t_end / 200, adaptive=False, order=2)).run(
        t_end, lambda rec: rows.append((rec["t"], prob.quantities()["u_reaction[right.x]"])))
    t, f = np.array(rows).T
    sigma = f / L**2
    ref = am.norton_relaxation(t, eps0=eps0, E=E, A=A, sigma0=s0, n=n)
    assert np.max(np.abs(sigma / ref - 1)) < 0.02, np.max(np.abs(sigma / ref - 1))
    prob.close()
    dom, mech, prob = _creep_block(Displacement("right", {"x": eps0 * L}), law, E=E, L=L)
    TimeIntegrator(prob, StepController(dt_initial=1000 * tau, adaptive=False, order=1)).run(
        1000 * tau)
    s = prob.quantities()["u_reaction[right.x]"] / L**2
    assert 0 < s < sig_i, s / sig_i
    prob.close()


def _radial_builder(a, b, n, dim):
    """Hollow sphere wall a <= r <= b (1D, points "inner"/"outer") or the meridian of a
    hollow cylinder a <= r <= b, 0 <= z <= H (2D, lines "inner", "outer", "ends")."""

    def build():
        import gmsh

        occ = gmsh.model.occ
        if dim == 1:
            p0, p1 = occ.addPoint(a, 0, 0), occ.addPoint(b, 0, 0)
            line = occ.addLine(p0, p1)
            occ.synchronize()
            gmsh.model.mesh.setTransfiniteCurve(line, n + 1)
            gmsh.model.addPhysicalGroup(1, [line], name="wall")
            gmsh.model.addPhysicalGroup(0, [p0], name="inner")
            gmsh.model.addPhysicalGroup(0, [p1], name="outer")
            gmsh.model.mesh.generate(1)
            return {"gdim": 1}
        H = (b - a) / 4
        tag = occ.addRectangle(a, 0, 0, b - a, H)
        occ.synchronize()
        names = {"inner": [], "outer": [], "ends": []}
        for _, t in gmsh.model.getBoundary([(2, tag)], oriented=False):
            x, y, _ = occ.getCenterOfMass(1, t)
            names["inner" if abs(x - a) < 1e-12 else "outer" if abs(x - b) < 1e-12
                  else "ends"].append(t)
        gmsh.model.addPhysicalGroup(2, [tag], name="wall")
        for k, v in names.items():
            gmsh.model.addPhysicalGroup(1, v, name=k)
        gmsh.option.setNumber("Mesh.MeshSizeMax", (b - a) / n)
        gmsh.model.mesh.generate(2)
        return {"gdim": 2}

    return build


@pytest.mark.parametrize("mode", ["spherical", "axisymmetric"])
def test_lame_thick_wall_under_internal_pressure(mode):
    """Thick-walled sphere (1D spherical) and cylinder (axisymmetric, plane strain ends)
    under internal pressure: radial displacement and hoop stress at both walls within 1 %
    of Lame's solution."""
    from femcell.physics.mechanics import Pressure

    a, b, p = 5e-6, 10e-6, 50e6
    mat = ElasticSolid(name="iso", youngs_modulus=150e9, poisson_ratio=0.26)
    coords = "spherical" if mode == "spherical" else "axisymmetric"
    dom = Domain.from_builder(_radial_builder(a, b, 40 if mode == "spherical" else 12,
                                              1 if mode == "spherical" else 2),
                              coordinates=coords)
    bcs = [Pressure("inner", p)]
    if mode == "axisymmetric":  # plane strain: the ends cannot move axially
        bcs.append(Displacement("ends", {"y": 0.0}))
    mech = Elasticity({None: mat}, bcs, mode=mode, degree=2)
    prob = Problem(dom, [mech])
    prob.initialise()
    assert prob.solve_step(1.0, 1.0, 1, None).converged
    from femcell.plotting import sample_vector

    r = np.array([a, b])
    if mode == "spherical":
        ref = am.lame_sphere(r, a=a, b=b, p_in=p, E=150e9, nu=0.26)
        pts = r[:, None]
    else:
        ref = am.lame_cylinder(r, a=a, b=b, p_in=p, E=150e9, nu=0.26, plane="strain")
        pts = np.column_stack([r, np.full(2, (b - a) / 8)])
    u = sample_vector(mech.field.u, pts, dom.comm)[:, 0] * mech.u_scale
    assert u == pytest.approx(ref["u_r"], rel=1e-2)
    S = dolfinx.fem.functionspace(dom.mesh, ("DG", 1, (3, 3)))
    sig = dolfinx.fem.Function(S)
    sig.interpolate(dolfinx.fem.Expression(mech.stress_tensor(), S.element.interpolation_points))
    inside = np.array([a * (1 + 1e-9), b * (1 - 1e-9)])
    pts = inside[:, None] if mode == "spherical" else np.column_stack(
        [inside, np.full(2, (b - a) / 8)])
    hoop = sample_vector(sig, pts, dom.comm)[:, 8]  # (theta, theta) is the zz slot
    assert hoop == pytest.approx(ref["sigma_tt"], rel=1e-2)
    prob.close()
