"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, **kw
) -> subprocess.CompletedProcess:
    """Run ``python -m invasim ARGS`` in a subprocess, as a user would; capture its output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "invasim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kw,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """The CLI failed as a user error should: exit 2, one line on stderr, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def run_and_resume(scenario, seed: int, tmp_path: Path, until: float, end: float,
                   keep: int | None = None, **run_kw):
    """``(full, resumed)``: an uninterrupted run, and one stopped at ``until`` as if it crashed.

    The stopped run keeps its first ``keep`` checkpoints (all if None), is marked running to
    ``end`` and resumed, as ``invasim resume`` would after a kill.
    """
    import json

    import invasim
    from invasim.io import rundir

    full = invasim.Simulation(scenario, seed=seed).run(out=tmp_path / "full", progress=False,
                                                       **run_kw)  # fmt: skip
    part = invasim.Simulation(scenario, seed=seed).run(until=until, out=tmp_path / "part",
                                                       progress=False, **run_kw)  # fmt: skip
    checkpoints = rundir.list_checkpoints(part.path)
    assert checkpoints, "the stopped run wrote no checkpoint"
    for p in checkpoints[keep:] if keep is not None else ():
        p.unlink()
    meta = json.loads((part.path / "run.json").read_text())
    meta.update(status="running", end_min=float(end))
    (part.path / "run.json").write_text(json.dumps(meta))
    return full, invasim.Simulation.resume(part.path, progress=False)


@pytest.fixture
def cli():
    """The CLI runner."""
    return run_cli
