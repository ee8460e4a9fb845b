"""The core install, without any extra: every core command works, the others say which extra.

The optional packages are made missing in fresh processes by a ``sitecustomize`` module on
``PYTHONPATH`` that sets ``sys.modules[name] = None`` for each (``import name`` then raises
``ModuleNotFoundError``, as on a machine where it is not installed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import assert_one_line_error

#: the top-level modules of every extra (and imageio, which only the tests use)
OPTIONAL = ("pyvista", "vtk", "vtkmodules", "anndata", "dask", "distributed", "dask_jobqueue",
            "SALib", "pyabc", "imageio", "imageio_ffmpeg")
SHORT = ["--set", "time.dt_min=100", "--set", "time.output_interval_min=100",
         "--set", "time.checkpoint_interval_min=200", "--until", "300", "--quiet"]


@pytest.fixture(scope="module")
def lean_env(tmp_path_factory):
    """Environment variables of a process in which no optional package can be imported."""
    folder = tmp_path_factory.mktemp("lean")
    (folder / "sitecustomize.py").write_text(
        f"import sys\nfor _name in {OPTIONAL!r}:\n    sys.modules[_name] = None\n"
    )
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}


def python(code: str, env: dict[str, str] | None = None, cwd: Path | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=timeout)


def test_importing_invasim_loads_no_optional_package():
    # with every extra installed (the test extra), as on a developer's machine
    proc = python(f"""
        import sys
        import invasim, invasim.cli, invasim.io.export, invasim.study, invasim.viz.movie
        import invasim.study.calibrate, invasim.study.sensitivity
        print(sorted(m for m in sys.modules if m.partition(".")[0] in {OPTIONAL!r}))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_every_core_command_works_without_the_extras(lean_env, tmp_path):
    proc = python(f"""
        import contextlib, io, json, sys
        import invasim
        from invasim.cli import main

        a, b = "a", "b"
        commands = {{
            "scenarios": ["scenarios"], "show": ["show", "fisher-kpp"],
            "validate": ["validate", "fisher-kpp"], "rules": ["rules", "spheroid-2d"],
            "run a": ["run", "fisher-kpp", *{SHORT!r}, "--out", a],
            "run b": ["run", "fisher-kpp", *{SHORT!r}, "--set", "params.D_um2_per_min=50",
                      "--out", b],
            "plot": ["plot", a], "report": ["report", a], "compare": ["compare", a, b],
            "movie": ["movie", b], "csv": ["export", a, "--format", "csv"],
            "vtk": ["export", a, "--format", "vtk"],
            "anndata": ["export", a, "--format", "anndata"],
            "grid": ["study", "show", "fisher-sweep"],
            "sobol": ["study", "show", "ishigami-sobol"],
            "study": ["study", "run", "fisher-sweep", "--out", "study"],
        }}
        out = {{}}
        for label, argv in commands.items():
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                out[label] = [main(argv), err.getvalue()]
        loaded = [m for m, v in sys.modules.items() if v is not None
                  and m.partition(".")[0] in {OPTIONAL!r}]
        print(json.dumps({{"results": out, "loaded": loaded}}))
    """, env=lean_env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert data["loaded"] == []
    results = data["results"]
    hint = "needs the '{0}' extra: python3 -m pip install 'invasim[{0}]'"
    missing = {
        "vtk": "invasim export --format vtk " + hint.format("vtk"),
        "anndata": "invasim export --format anndata " + hint.format("anndata"),
        "sobol": "a sobol study design " + hint.format("studies"),
        "study": "invasim study run " + hint.format("studies"),
    }
    for label, (rc, err) in results.items():
        assert "Traceback" not in err, (label, err)
        if label in missing:
            assert (rc, err) == (2, f"invasim: error: {missing[label]}\n"), label
        else:
            assert rc == 0, (label, rc, err)
    # the movie is a GIF, with one note saying how to get MP4s; the report's says it inside
    err = results["movie"][1]
    assert err.count("\n") == 1 and hint.format("movies") in err, err
    assert (tmp_path / "b" / "movie.gif").is_file() and (tmp_path / "a" / "movie.gif").is_file()
    assert "invasim[movies]" in (tmp_path / "a" / "report.html").read_text("utf-8")
    assert (tmp_path / "a" / "export" / "csv" / "fields.csv").is_file()
    assert not (tmp_path / "a" / "export" / "vtk").exists()
    assert not (tmp_path / "study").exists()


def test_the_command_exits_2_with_one_line(lean_env, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "invasim", "run", "fisher-kpp", *SHORT, "--out",
         str(tmp_path / "r")], capture_output=True, text=True, env=lean_env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "invasim", "export", str(tmp_path / "r"), "--format", "vtk"],
        capture_output=True, text=True, env=lean_env, timeout=300,
    )
    assert_one_line_error(
        proc, "invasim export --format vtk needs the 'vtk' extra: "
        "python3 -m pip install 'invasim[vtk]'"
    )
