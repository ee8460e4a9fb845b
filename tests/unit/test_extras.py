"""Optional extras: a missing one is one line naming the extra to install, never a traceback.

A package is made missing in this process by ``sys.modules[name] = None`` (then ``import name``
raises ``ModuleNotFoundError``, as when it is not installed); tests/e2e/test_lean_install.py
does the same in fresh processes for the whole command line.
"""

from __future__ import annotations

import sys
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest

from invasim import Simulation, load_scenario
from invasim.cli import main
from invasim.errors import InvasimError
from invasim.extras import EXTRAS, MissingExtraError, install_hint, require
from invasim.io import export as ex

REPO = Path(__file__).resolve().parents[2]


def block(monkeypatch, *names: str) -> None:
    """Make ``names`` (and their submodules) not importable for this test."""
    for name in names:
        for loaded in [m for m in sys.modules if m.startswith(name + ".")]:
            monkeypatch.setitem(sys.modules, loaded, None)
        monkeypatch.setitem(sys.modules, name, None)


def message(extra: str, what: str) -> str:
    return f"{what} needs the '{extra}' extra: python3 -m pip install 'invasim[{extra}]'"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Fisher–KPP in 1-D, three snapshots."""
    out = tmp_path_factory.mktemp("fk") / "run"
    cfg = load_scenario("fisher-kpp", ["time.dt_min=100", "time.output_interval_min=100",
                                       "time.checkpoint_interval_min=200"])
    return Simulation(cfg, seed=1).run(until=200, out=out, progress=False, summary=False)


# -- the helper --------------------------------------------------------------------------------
def test_require_returns_the_module():
    assert require("vtk", "json", "x") is sys.modules["json"]
    with pytest.raises(ValueError, match="unknown extra 'viz'"):
        require("viz", "json", "x")


def test_a_missing_package_is_one_line_naming_the_extra(monkeypatch):
    block(monkeypatch, "pyvista")
    with pytest.raises(MissingExtraError) as err:
        require("vtk", "pyvista", "invasim export --format vtk")
    assert str(err.value) == message("vtk", "invasim export --format vtk")
    assert isinstance(err.value, InvasimError) and err.value.exit_code == 2
    assert (err.value.extra, err.value.module) == ("vtk", "pyvista")
    assert install_hint("vtk") == "python3 -m pip install 'invasim[vtk]'"


def test_a_submodule_of_a_missing_package(monkeypatch):
    block(monkeypatch, "SALib")
    with pytest.raises(MissingExtraError, match="^a sobol study design needs the 'studies'"):
        require("studies", "SALib.sample.sobol", "a sobol study design")


def test_a_missing_dependency_of_the_extra_is_named_too(tmp_path, monkeypatch):
    pkg = tmp_path / "invasim_fake_extra"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import invasim_fake_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "invasim_fake_extra", raising=False)
    with pytest.raises(MissingExtraError) as err:
        require("vtk", "invasim_fake_extra", "VTK export")
    text = str(err.value)
    assert "\n" not in text
    assert text == ("VTK export needs the 'vtk' extra (import invasim_fake_extra: No module named "
                    "'invasim_fake_missing_dependency'): python3 -m pip install 'invasim[vtk]'")


def test_pyproject_declares_every_extra_and_the_test_extra_pulls_them_all():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    extras = meta["optional-dependencies"]
    assert set(EXTRAS) | {"all", "test"} == set(extras)
    assert extras["all"] == [f"invasim[{','.join(EXTRAS)}]"]
    assert "invasim[all]" in extras["test"]
    core = " ".join(meta["dependencies"]).lower()
    for name in ("pyvista", "anndata", "dask", "salib", "pyabc", "imageio"):
        assert name not in core, name


# -- export ------------------------------------------------------------------------------------
def test_cli_export_vtk_without_the_extra(run, monkeypatch, capsys):
    block(monkeypatch, "pyvista")
    assert main(["export", str(run.path), "--format", "vtk"]) == 2
    err = capsys.readouterr().err
    assert err == f"invasim: error: {message('vtk', 'invasim export --format vtk')}\n"
    assert not (run.path / "export").exists()


def test_api_export_anndata_without_the_extra(run, tmp_path, monkeypatch):
    block(monkeypatch, "anndata")
    what = "invasim export --format anndata"
    for call in (lambda: ex.export(run, "anndata", tmp_path / "cells.h5ad"),
                 lambda: ex.to_anndata(run)):
        with pytest.raises(MissingExtraError) as err:
            call()
        assert str(err.value) == message("anndata", what)
    assert list(tmp_path.iterdir()) == []


def test_csv_export_needs_no_extra(run, tmp_path, monkeypatch):
    block(monkeypatch, "pyvista", "anndata")
    written = ex.export(run, "csv", tmp_path / "csv")
    assert {p.name for p in written} >= {"metrics.csv", "fields.csv"}


# -- studies -----------------------------------------------------------------------------------
def test_study_run_without_dask_writes_nothing(tmp_path, monkeypatch):
    from invasim.study import run_study

    block(monkeypatch, "distributed", "dask")
    with pytest.raises(MissingExtraError) as err:
        run_study("fisher-sweep", tmp_path / "study", progress=False)
    assert str(err.value) == message("studies", "invasim study run")
    assert not (tmp_path / "study").exists()


def test_jobqueue_without_the_extra(monkeypatch):
    from invasim.study.runner import build_jobqueue_cluster

    block(monkeypatch, "dask_jobqueue")
    with pytest.raises(MissingExtraError, match="^invasim study run --jobqueue slurm needs"):
        build_jobqueue_cluster("slurm", {"cores": 1, "memory": "1GB"})


def test_sampling_designs_without_salib(monkeypatch, capsys):
    from invasim.study import expand, load_study_spec

    block(monkeypatch, "SALib")
    with pytest.raises(MissingExtraError) as err:
        expand(load_study_spec("ishigami-sobol"))
    assert str(err.value) == message("studies", "a sobol study design")
    assert len(expand(load_study_spec("fisher-sweep")))  # a grid needs no extra
    assert main(["study", "show", "ishigami-sobol"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_sensitivity_without_salib(monkeypatch):
    from invasim.study.sensitivity import morris_table, sobol_table

    block(monkeypatch, "SALib")
    problem = {"names": ["a", "b"], "num_vars": 2, "bounds": [[0, 1], [0, 1]]}
    with pytest.raises(MissingExtraError, match="^Sobol sensitivity analysis needs the 'stud"):
        sobol_table(problem, np.zeros(8), calc_second_order=False)
    with pytest.raises(MissingExtraError, match="^Morris sensitivity analysis needs the 'stu"):
        morris_table(problem, np.zeros((3, 2)), np.zeros(3), num_levels=4)


def test_calibration_without_pyabc(tmp_path, monkeypatch):
    from invasim.study.calibrate import calibrate

    block(monkeypatch, "pyabc")
    with pytest.raises(MissingExtraError) as err:
        calibrate("fisher-sweep", tmp_path / "observed.csv", tmp_path / "out", progress=False)
    assert str(err.value) == message("studies", "invasim study calibrate")
    assert not (tmp_path / "out").exists()


# -- movies ------------------------------------------------------------------------------------
def test_movie_without_the_extra_is_a_gif_and_says_how_to_get_mp4(run, tmp_path, monkeypatch):
    from invasim.viz.movie import MovieFallbackWarning, write_movie

    block(monkeypatch, "imageio_ffmpeg")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = write_movie(run, tmp_path / "m.mp4", fps=4, workers=1, progress=False, dpi=30)
    assert out == tmp_path / "m.gif" and out.stat().st_size > 0
    (w,) = [w for w in seen if issubclass(w.category, MovieFallbackWarning)]
    assert message("movies", "H.264 encoding") in str(w.message)
    assert "\n" not in str(w.message)
