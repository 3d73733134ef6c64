"""Study files that extend another (`extends`), and the log-log slopes of a sweep."""

from __future__ import annotations

import numpy as np
import pytest

from femcell.config import ConfigError, read_study
from femcell.studies.sweeps import _given_units, _sweep_definition, _sweep_plot, log_slopes


def test_extends_merges_tables_and_replaces_values(tmp_path):
    (tmp_path / "base.toml").write_text(
        'temperature = "25 degC"\n[study]\nname = "base"\nkind = "cell"\n'
        '[geometry.params]\nh = "1 um"\nwidth = "10 um"\nrefine = { h = "0.1 um" }\n'
        '[plating]\ncurrents = ["1 mA/cm^2", "2 mA/cm^2"]\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "over.toml").write_text(
        'extends = "../base.toml"\n[study]\nname = "over"\n'
        '[geometry.params]\nwidth = "20 um"\nrefine = { x = [0, 1] }\n'
        '[plating]\ncurrents = ["3 mA/cm^2"]\n')
    d = read_study(tmp_path / "sub" / "over.toml")
    assert "extends" not in d
    assert d["study"] == {"name": "over", "kind": "cell"}
    assert d["temperature"] == "25 degC"
    assert d["geometry"]["params"] == {"h": "1 um", "width": "20 um",
                                       "refine": {"h": "0.1 um", "x": [0, 1]}}
    assert d["plating"]["currents"] == ["3 mA/cm^2"]  # a list replaces, never appends


def test_extends_replaces_a_sweep_whole_and_rebases_the_mesh_file(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "b.toml").write_text(
        '[geometry]\nfile = "cell.msh"\n[sweep]\nparameter = "a.b"\nvalues = [1, 2]\n'
        'label = "ab"\n')
    (tmp_path / "c.toml").write_text(
        'extends = "base/b.toml"\n[sweep]\nparameters = {"c.d" = [3, 4]}\n')
    d = read_study(tmp_path / "c.toml")
    assert d["sweep"] == {"parameters": {"c.d": [3, 4]}}
    assert d["geometry"]["file"] == str((tmp_path / "base" / "cell.msh").resolve())


@pytest.mark.parametrize("text, needle", [
    ('extends = "nowhere.toml"\n', "no such study file"),
    ("extends = 3\n", "give the path"),
    ('extends = "a.toml"\n', "circular"),
])
def test_bad_extends_is_one_line(tmp_path, text, needle):
    (tmp_path / "a.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        read_study(tmp_path / "a.toml")
    msg = str(err.value)
    assert "a.toml" in msg and needle in msg and "\n" not in msg


def test_extends_loop_through_two_files_is_refused(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(ConfigError, match="circular"):
        read_study(tmp_path / "a.toml")


def test_log_slopes_recover_power_laws():
    rng = np.random.default_rng(3)
    a = np.array([5e-6, 1e-5, 2e-5, 4e-5])
    noise = np.exp(rng.normal(0.0, 0.02, a.size))
    results = [{"value": x, "p": x, "ccd": 3.0 * x ** -0.5, "noisy": 2.0 * x ** 1.5 * n,
                "some": None if k == 0 else 1.0 * x, "neg": -x, "label": "s"}
               for k, (x, n) in enumerate(zip(a, noise, strict=True))]
    s = log_slopes(results, ["p"])
    assert s["ccd"]["slope"] == pytest.approx(-0.5, abs=1e-12)
    assert s["ccd"]["stderr"] < 1e-10 and s["ccd"]["points"] == 4
    assert s["noisy"]["slope"] == pytest.approx(1.5, abs=0.1)
    assert 0 < s["noisy"]["stderr"] < 0.1
    assert s["some"]["points"] == 3  # a point without the number is left out
    assert "neg" not in s and "label" not in s  # no logarithm of a negative / a text
    assert log_slopes(results[:2], ["p"]) == {}  # fewer than 3 points: no fit
    assert log_slopes(results, ["p", "q"]) == {}  # a grid: no single exponent


def test_arrhenius_slopes_are_activation_energies():
    """scale = "arrhenius": the slope of ln(headline) against -1 / (k_B T) is its activation
    energy in eV (0.3 eV back to 1e-12; the T^-1 prefactor of an exchange current over the
    charge-transfer resistance RT / F i0 takes k_B T ~ 0.027 eV off)."""
    from femcell.units import EV, K_B

    T = np.array([273.15, 298.15, 323.15, 353.15])
    results = [{"temperature": t, "i0": 2.0 * np.exp(-0.3 * EV / (K_B * t)),
                "g": np.exp(-0.3 * EV / (K_B * t)) / t} for t in T]
    s = log_slopes(results, ["temperature"], arrhenius=True)
    assert s["i0"]["slope"] == pytest.approx(0.3, abs=1e-12)
    assert s["g"]["slope"] == pytest.approx(0.3 - K_B * 310 / EV, abs=2e-3)
    constant = [{**r, "k": 1.25e6} for r in results]  # the same at every T: no fit
    assert "k" not in log_slopes(constant, ["temperature"], arrhenius=True)
    assert _sweep_definition({"parameter": "temperature", "values": [1, 2],
                              "scale": "arrhenius"}, "s.toml", None)[4] == "arrhenius"
    with pytest.raises(ConfigError, match="arrhenius.*needs one swept parameter, a "
                                          "temperature.*got 'a.b'"):
        _sweep_definition({"parameter": "a.b", "values": [1, 2], "scale": "arrhenius"},
                          "s.toml", None)
    with pytest.raises(ConfigError, match="got 'temperature', 'a.b'"):  # no single slope
        _sweep_definition({"parameters": {"temperature": [1, 2], "a.b": [3, 4]},
                           "mode": "zip", "scale": "arrhenius"}, "s.toml", None)
    with pytest.raises(ConfigError, match="sweep.parameters must be a table"):
        _sweep_definition({"parameters": 5, "scale": "arrhenius"}, "s.toml", None)


def test_sweep_axis_is_in_the_unit_the_values_were_given_in(tmp_path, monkeypatch):
    """A sweep of "5 um" ... "20 um" is plotted in um against the flaw depth, not in m; mixed
    units, bare numbers and non-positive values on a log axis fall back to SI."""
    given = {5e-6: "5 um", 1e-5: "10 um", 2e-5: "20 um"}
    values, unit = _given_units(given, positive=True)
    assert values == pytest.approx({5e-6: 5.0, 1e-5: 10.0, 2e-5: 20.0}, rel=1e-12)
    assert unit in ("\u00b5m", "\u03bcm")  # micro sign or Greek mu
    assert _given_units({5e-6: "5 um", 1e-2: "1 cm"}, positive=False) is None
    assert _given_units({1.0: 1.0, 2.0: 2.0}, positive=False) is None
    assert _given_units({273.15: "0 degC", 298.15: "25 degC"}, positive=True) is None
    assert _given_units({273.15: "0 degC", 298.15: "25 degC"}, positive=False)[0] == {
        273.15: 0.0, 298.15: 25.0}
    import matplotlib.axes

    labels = []
    monkeypatch.setattr(matplotlib.axes.Axes, "set_xlabel",
                        lambda self, text, *a, **k: labels.append(text))
    rows = [{"geometry.a": k, "ccd [A m^-2]": 1e-5 / k} for k in given]
    assert _sweep_plot(tmp_path / "s.png", rows, ["geometry.a"], "t", "log", "grid", given)
    assert labels == [f"geometry.a [{unit}]"]
    _sweep_plot(tmp_path / "s.png", rows, ["geometry.a"], "t", "log", "grid",
                {k: float(k) for k in given})
    assert labels[-1] == "geometry.a"


def test_sweep_scale_is_checked():
    assert _sweep_definition({"parameter": "a.b", "values": [1, 2], "scale": "log"}, "s.toml",
                             None)[4] == "log"
    with pytest.raises(ConfigError, match="sweep.scale = 'loglog'"):
        _sweep_definition({"parameter": "a.b", "values": [1], "scale": "loglog"}, "s.toml",
                          None)


def test_sweep_plot_shows_the_named_headlines(tmp_path, monkeypatch):
    """sweep.plot names the headlines of sweep.png (in its order), else the first six that
    change; anything but a list of names is refused."""
    assert _sweep_definition({"parameter": "a.b", "values": [1, 2], "plot": ["y", "x"]},
                             "s.toml", None)[5] == ["y", "x"]
    with pytest.raises(ConfigError, match="sweep.plot"):
        _sweep_definition({"parameter": "a.b", "values": [1], "plot": "y"}, "s.toml", None)
    from femcell.studies import sweeps

    seen = []
    results = [{"a.b": float(v), "x [m]": v * 1.0, "y": v * 2.0, "z [s]": v * 3.0}
               for v in (1, 2, 3)]
    out = sweeps._sweep_plot(tmp_path / "p.png", results, ["a.b"], "t", plot=["z", "x"])
    assert out is not None and (tmp_path / "p.png").exists()
    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda self, *a, **k: seen.append(
                            [ax.get_ylabel() for ax in self.axes]))
    sweeps._sweep_plot(tmp_path / "q.png", results, ["a.b"], "t", plot=["z", "x"])
    sweeps._sweep_plot(tmp_path / "r.png", results, ["a.b"], "t")
    assert seen == [["z [s]", "x [m]"], ["x [m]", "y", "z [s]"]]


def test_weibull_fit_of_a_sweep_headline(tmp_path):
    """Two-parameter Weibull (maximum likelihood) of a headline over sweep points: 400
    samples drawn with modulus 8 and scale 2 give both back within 10 % / 2 %; too few
    points, or no scatter, give a reason and no modulus; the option is checked."""
    import numpy as np

    from femcell.studies.sweeps import weibull_of, weibull_plot

    rng = np.random.default_rng(3)
    x = 2.0 * rng.weibull(8.0, 400)
    results = [{"j_crit[a] [A m^-2]": float(v), "status": "completed"} for v in x]
    f = weibull_of(results, "j_crit[a]")
    assert f["modulus"] == pytest.approx(8.0, rel=0.1)
    assert f["scale"] == pytest.approx(2.0, rel=0.02)
    assert f["unit"] == "A m^-2" and f["points"] == 400
    assert f["cov"] == pytest.approx(np.std(x, ddof=1) / np.mean(x), rel=1e-9)
    weibull_plot(tmp_path / "w.png", f, "j_crit[a]", "t")
    assert (tmp_path / "w.png").stat().st_size > 1000
    assert "5 needed" in weibull_of(results[:4], "j_crit[a]")["why"]
    same = [{"j_crit[a] [A m^-2]": 1.0}] * 6
    assert "equal" in weibull_of(same, "j_crit[a]")["why"]
    with pytest.raises(ConfigError, match="sweep.weibull"):
        _sweep_definition({"parameter": "a.b", "values": [1], "weibull": "j_crit"},
                          "s.toml", None)
