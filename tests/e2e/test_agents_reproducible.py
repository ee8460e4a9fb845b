"""Reproducibility of the agent scenarios through the command line, as a user meets it.

One seed gives bit-identical cell snapshots, field snapshots and ``metrics.csv`` whatever the
number of Numba threads; a run killed (SIGKILL) after a checkpoint and continued with
``invasim run --resume`` equals the uninterrupted run, and ``--from DIR --at T`` equals it from
``T`` on. Each run is a separate ``python -m invasim`` process with ``NUMBA_NUM_THREADS`` set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import invasim
from invasim.config import dump_toml, load_scenario
from invasim.core.cells import ALIVE
from invasim.io import rundir
from invasim.physics import motility
from invasim.physics.diffusion import SERIAL_MAX_VOXELS
from invasim.physics.mechanics import PARALLEL_MIN_CELLS

TUMOR = "params.cell_types.tumor"
# busy cell life, so that the run draws many random numbers: a division chance every step
# ("live" cycle: 11 % a step at full oxygen), 3 % apoptosis a step, apoptotic cells removed
# a step later, and random motility biased up the oxygen gradient
LIFE = [
    f"{TUMOR}.cycle.model=live", f"{TUMOR}.cycle.rate_per_min=0.02",
    f"{TUMOR}.death.apoptosis_rate_per_min=0.005", f"{TUMOR}.death.apoptosis_duration_min=6.0",
    f"{TUMOR}.motility.speed_um_per_min=0.5", f"{TUMOR}.motility.persistence_time_min=5.0",
    f"{TUMOR}.motility.migration_bias=0.3",
    "time.output_interval_min=6.0", "time.checkpoint_interval_min=12.0",
]  # fmt: skip
# spheroid-2d as shipped (50 x 50 voxels, ~1500 cells), 10 phenotype steps of 6 min:
# snapshots every step, checkpoints at 0, 12, ..., 60 min
END_2D = 60.0
ARGS_2D = ["spheroid-2d", *(a for s in [*LIFE, f"time.end_min={END_2D}"] for a in ("--set", s))]
SEED = 5


def _env(threads: int) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "NUMBA_NUM_THREADS": str(threads)}


def _start(threads: int, *args: str | Path) -> subprocess.Popen:
    """Start ``invasim run --quiet ARGS`` on ``threads`` Numba threads."""
    return subprocess.Popen(
        [sys.executable, "-m", "invasim", "run", "--quiet", *map(str, args)],
        env=_env(threads), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finish(proc: subprocess.Popen, threads: int | None = None) -> Path:
    """Wait for a run started by :func:`_start`; its directory (``--quiet`` prints it)."""
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    path = Path(out.strip().splitlines()[-1])
    meta = json.loads((path / "run.json").read_text())
    assert meta["status"] == "completed"
    if threads is not None:  # the variable reached Numba
        assert meta["platform"]["numba_threads"] == threads
    return path


def _run(threads: int, *args: str | Path) -> Path:
    return _finish(_start(threads, *args), threads)


def _same_bits(a, b) -> bool:
    """Equal dtype, shape and bytes (NaN == NaN, -0.0 != 0.0): bit for bit."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return np.array_equal(a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8))


def _differences(a: Path, b: Path) -> list[str]:
    """What differs in run ``b`` from run ``a``, at ``b``'s snapshots and last checkpoint.

    ``b``'s snapshot times must be ``a``'s over the same span (all of them for the same run, those
    from ``T`` on for a branch at ``T``). Compared bit for bit at each: every cell column, every
    field, the ``metrics.csv`` row; then ``b``'s last checkpoint with ``a``'s of the same step,
    the whole state (also what snapshots leave out: velocities, pressures, ``next_id``).
    """
    ra, rb = invasim.load_run(a), invasim.load_run(b)
    ta, tb = ra.times, rb.times
    out: list[str] = []
    span = ta[(ta >= tb[0]) & (ta <= tb[-1])]
    if not _same_bits(span, tb):
        out.append(f"snapshot times {list(tb)}, expected {list(span)}")
    for t in sorted(set(tb) & set(ta)):
        ca, cb = ra.cells(t), rb.cells(t)
        if list(ca.columns) != list(cb.columns):
            out.append(f"t = {t:g}: cell columns {list(ca.columns)} vs {list(cb.columns)}")
            continue
        for col in ca.columns:
            if not _same_bits(ca[col].to_numpy(), cb[col].to_numpy()):
                out.append(f"t = {t:g}: cell column {col!r} ({len(ca)} vs {len(cb)} cells)")
        for name in ra.field_names:
            if not _same_bits(ra.field(name, t), rb.field(name, t)):
                out.append(f"t = {t:g}: field {name!r}")
    # metrics.csv, as text: the header and each of b's rows (first column the time)
    la = (a / "metrics.csv").read_text().splitlines()
    lb = (b / "metrics.csv").read_text().splitlines()
    rows_a = {ln.split(",", 1)[0]: ln for ln in la[1:]}
    if la[0] != lb[0]:
        out.append("metrics.csv header")
    out += [f"metrics.csv row t = {ln.split(',', 1)[0]}" for ln in lb[1:]
            if rows_a.get(ln.split(",", 1)[0]) != ln]  # fmt: skip
    last = rundir.list_checkpoints(b)[-1]
    twin = [p for p in rundir.list_checkpoints(a) if p.name == last.name]
    if not twin:
        return [*out, f"no checkpoint {last.name} in {a}"]
    fa, sa, _ = rundir.load_checkpoint(twin[0])
    fb, sb, _ = rundir.load_checkpoint(last)
    for kind, xa, xb in (("field", fa, fb), ("state", sa, sb)):
        if sorted(xa) != sorted(xb):
            out.append(f"{last.name}: {kind} keys {sorted(xa)} vs {sorted(xb)}")
            continue
        out += [f"{last.name}: {kind} {k!r}" for k in xa if not _same_bits(xa[k], xb[k])]
    return out


def _life_events(run_dir: Path) -> tuple[int, int, int]:
    """Cells born by division, cells that died, cells removed, over all snapshots."""
    run = invasim.load_run(run_dir)
    frames = [run.cells(t) for t in run.times]
    born = set().union(*(f["id"][f["generation"] > 0] for f in frames))
    died = set().union(*(f["id"][f["dead"] != ALIVE] for f in frames))
    present = set().union(*(f["id"] for f in frames))
    mothers = set().union(*(f["parent_id"] for f in frames))
    gone = present - set(frames[-1]["id"]) - mothers  # left without dividing: removed
    return len(born), len(died), len(gone)


@pytest.fixture(scope="module")
def runs_2d(tmp_path_factory) -> dict[str, Path]:
    """The short spheroid-2d run on 2 threads (``ref``, the reference the other 2-D runs must
    equal), again on 2 threads and on 1, and with another seed for 3 steps (``--until``).

    Started side by side: the mesh is below ``SERIAL_MAX_VOXELS``, so every run's sub-steps
    run on one thread whatever ``NUMBA_NUM_THREADS`` says, and they do not compete for cores
    more than sequential runs would.
    """
    base = tmp_path_factory.mktemp("runs_2d")
    procs = {
        "ref": (2, _start(2, *ARGS_2D, "--seed", SEED, "--out", base / "ref")),
        "one": (1, _start(1, *ARGS_2D, "--seed", SEED, "--out", base / "one")),
        "again": (2, _start(2, *ARGS_2D, "--seed", SEED, "--out", base / "again")),
        "other": (1, _start(1, *ARGS_2D, "--seed", SEED + 1, "--until", "18",
                            "--out", base / "other")),
    }  # fmt: skip
    return {k: _finish(p, threads) for k, (threads, p) in procs.items()}


@pytest.fixture(scope="module")
def ref_2d(runs_2d) -> Path:
    """The reference spheroid-2d run (2 threads)."""
    return runs_2d["ref"]


@pytest.mark.slow
def test_spheroid_2d_same_bits_on_1_and_2_threads(runs_2d):
    ref = runs_2d["ref"]
    assert _differences(ref, runs_2d["one"]) == []
    assert _differences(ref, runs_2d["again"]) == []
    # the random draws were exercised: divisions, deaths and removals
    born, died, gone = _life_events(ref)
    assert born >= 100 and died >= 100 and gone >= 20, (born, died, gone)
    assert invasim.load_run(ref).times[-1] == END_2D
    # the comparison can fail: another seed gives other cells from the first step on (the
    # initial lattice draws nothing)
    assert list(invasim.load_run(runs_2d["other"]).times) == [0.0, 6.0, 12.0, 18.0]
    diffs = _differences(ref, runs_2d["other"])
    for t in (6, 12, 18):
        assert any(d.startswith(f"t = {t}: cell column 'x'") for d in diffs), diffs
    assert not any(d.startswith("t = 0:") for d in diffs), diffs


def _small_3d(path: Path) -> Path:
    """spheroid-3d shrunk to 32³ voxels of 40 µm and ~6000 cells, 2 phenotype steps; a file.

    Just at the sizes from which the 2-thread run takes the parallel kernels: the mesh has
    ``SERIAL_MAX_VOXELS`` voxels (diffusion sweeps; below it every sub-step runs on one thread)
    and the ball stays above ``PARALLEL_MIN_CELLS`` cells (mechanics, motility, cell list).
    """
    sc = load_scenario("spheroid-3d", [
        *LIFE, "mesh.extent_um=[1280.0, 1280.0, 1280.0]", "mesh.voxel_um=40.0",
        "params.dt_diffusion_min=0.01", "params.initial.radius_um=160.0", "time.end_min=12.0",
    ])  # fmt: skip
    path.write_text(dump_toml(sc))
    return path


@pytest.mark.slow
def test_spheroid_3d_same_bits_on_1_and_2_threads_in_the_parallel_kernels(tmp_path):
    scenario = _small_3d(tmp_path / "small-3d.toml")
    one = _start(1, scenario, "--seed", SEED, "--out", tmp_path / "one")
    other = _start(1, scenario, "--seed", SEED + 1, "--until", "6", "--out", tmp_path / "other")
    one, other = _finish(one, 1), _finish(other, 1)
    two = _run(2, scenario, "--seed", SEED, "--out", tmp_path / "two")
    again = _run(2, scenario, "--seed", SEED, "--out", tmp_path / "again")
    assert _differences(one, two) == []
    assert _differences(two, again) == []
    # big enough for the parallel paths at every step (the cell count includes dead cells)
    run = invasim.load_run(two)
    assert run.mesh.dim == 3 and run.mesh.n_voxels >= SERIAL_MAX_VOXELS
    sizes = [len(run.cells(t)) for t in run.times]
    assert min(sizes) >= max(PARALLEL_MIN_CELLS, motility.PARALLEL_MIN_CELLS), sizes
    born, died, gone = _life_events(two)
    assert born >= 100 and died >= 100 and gone >= 20, (born, died, gone)
    # another seed differs from the first step on
    diffs = _differences(two, other)
    assert any(d.startswith("t = 6: cell column") for d in diffs), diffs
    assert not any(d.startswith("t = 0:") for d in diffs), diffs


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(ref_2d, tmp_path):
    killed = tmp_path / "killed"
    proc = _start(2, *ARGS_2D, "--seed", SEED, "--out", killed)
    # kill after the first checkpoint past the start (t = 12 min), once the snapshot of the
    # step after it is written: the resume must drop that snapshot and redo it
    deadline = time.time() + 120
    while not (killed / "cells" / "000003.parquet").exists() and time.time() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # a no-op if it already ended (then the assert says so)
    proc.communicate()
    ckpts = rundir.list_checkpoints(killed)
    n_before = len(ckpts)
    n_full = len(rundir.list_checkpoints(ref_2d))
    assert 2 <= n_before < n_full, ("kill came too late to test resume", n_before, n_full)
    assert json.loads((killed / "run.json").read_text())["status"] == "running"

    resumed = _run(1, "--resume", killed)  # on another thread count, too
    assert resumed == killed
    meta = json.loads((killed / "run.json").read_text())
    assert meta["resumed_at_min"] == [rundir.checkpoint_step(ckpts[-1]) * meta["dt_min"]]
    assert _differences(ref_2d, killed) == []


@pytest.mark.slow
def test_branch_without_changes_equals_the_parent_from_there_on(ref_2d, tmp_path):
    at = 24.0
    branch = _run(2, "--from", ref_2d, "--at", at, "--out", tmp_path / "branch")
    meta = json.loads((branch / "run.json").read_text())
    assert meta["branched_from"]["time_min"] == at
    run = invasim.load_run(branch)
    assert run.times[0] == at and run.times[-1] == END_2D
    assert _differences(ref_2d, branch) == []
