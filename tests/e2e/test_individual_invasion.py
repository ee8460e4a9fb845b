"""The built-in scenario `individual-invasion`: EMT at the front, single-cell escape, buds.

The quick test runs the scenario through the CLI, shortened, and checks what a short run
already shows: front cells sense the laminin-5 fragment they make, undergo EMT (mesenchymal
and amoeboid cells appear, none at the start) and detach (tumour buds), while the stroma far
from the front is untouched. The slow test is the issue's validation direction, "more
adhesion, fewer buds": the same scenario (a narrower strip, 36 h) with the tumour cells'
cell-cell adhesion in the epithelial and mesenchymal modes ×1 (as shipped) and ×3, seeds 1-3.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pytest
from conftest import run_cli

import invasim

SCENARIO = "individual-invasion"
#: the shipped mode tables (the adhesion factor scales the epithelial and mesenchymal ones)
EPITHELIAL = {"migration speed": 0.1, "migration persistence time": 5.0, "cell-cell adhesion": 1.0}
MESENCHYMAL = {"migration speed": 0.5, "migration persistence time": 15.0,
               "cell-cell adhesion": 0.4, "haptotactic response": 30.0}  # fmt: skip


def _table(d: dict[str, float]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)} = {v!r}" for k, v in d.items()) + "}"


def adhesion_overrides(factor: float) -> list[str]:
    """``--set`` strings scaling the epithelial and mesenchymal modes' adhesion by ``factor``."""
    key = "params.cell_types.tumor.rho_gtpase.modes"
    ep = {**EPITHELIAL, "cell-cell adhesion": EPITHELIAL["cell-cell adhesion"] * factor}
    me = {**MESENCHYMAL, "cell-cell adhesion": MESENCHYMAL["cell-cell adhesion"] * factor}
    return [f"{key}.epithelial={_table(ep)}", f"{key}.mesenchymal={_table(me)}"]


def test_shipped_mode_tables_match_the_test():
    """The arms below scale the shipped tables: keep them in step with the scenario."""
    def modes(sc):
        return sc.params["cell_types"]["tumor"]["rho_gtpase"]["modes"]

    shipped = modes(invasim.load_scenario(SCENARIO))
    assert shipped["epithelial"] == EPITHELIAL
    assert shipped["mesenchymal"] == MESENCHYMAL
    assert modes(invasim.load_scenario(SCENARIO, adhesion_overrides(1.0))) == shipped
    high = modes(invasim.load_scenario(SCENARIO, adhesion_overrides(3.0)))
    assert high["epithelial"]["cell-cell adhesion"] == 3.0
    assert high["mesenchymal"]["cell-cell adhesion"] == pytest.approx(1.2)
    assert high["amoeboid"] == shipped["amoeboid"]


def test_front_cells_undergo_emt_and_bud(tmp_path):
    """12 h as shipped (through the CLI): EMT at the front, buds, matrix cut only there."""
    out = tmp_path / "run"
    proc = run_cli("run", SCENARIO, "--out", str(out), "--quiet", "--set", "time.end_min=720",
                   "--set", "time.output_interval_min=360", timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = invasim.load_run(out)
    m = run.metrics
    first, last = m.iloc[0], m.iloc[-1]
    # at the start: one epithelial mass, no buds
    assert first["frac_epithelial"] == 1.0 and first["n_buds"] == 0 and first["n_clusters"] == 0
    # by 12 h: some front cells have undergone EMT (mesenchymal or amoeboid) and left
    assert last["frac_mesenchymal"] + last["frac_amoeboid"] > 0.02, last.to_dict()
    assert last["n_buds"] >= 3, last.to_dict()
    assert last["invasion_pattern"] >= 4, last.to_dict()  # single cells / small islands
    # the EMT'd cells are at the front (the lowest rows), not in the core of the mass
    c = run.cells(float(run.times[-1]))
    c = c[c["dead"] == 0]
    moved = c["mode"] > 0
    assert c.loc[moved, "y"].median() < c.loc[~moved, "y"].median() - 60.0
    # laminin-5 was deposited and cleaved; the fragment sits at the front
    frag = run.field("ln5_fragment", float(run.times[-1]))
    rows = frag.mean(axis=1)  # along y, upward
    h = run.mesh.h
    front_row = int(300.0 // h)
    assert rows[front_row - 2 : front_row + 2].max() > 5 * rows[-3:].max()
    assert last["proteolysis_degraded_laminin"] > 0 and last["proteolysis_degraded_ecm"] > 0
    # the stroma far below the front is untouched
    ecm0, ecm1 = run.field("ecm", 0.0), run.field("ecm", float(run.times[-1]))
    np.testing.assert_array_equal(ecm1[:4], ecm0[:4])


# -- the validation direction: more adhesion, fewer buds ------------------------------------------
#: a strip half as wide as shipped, 36 h, buds counted every 2 h from 24 h (7 snapshots)
STRIP = ["mesh.extent_um=[320.0, 480.0]", "params.initial.hi_um=[312.0, 472.0]",
         "time.end_min=2160"]  # fmt: skip
COUNT_FROM_MIN, COUNT_EVERY_MIN = 1440.0, 120.0


def buds_over_time(factor: float, seed: int, extra: list[str] = STRIP) -> list[float]:
    """``n_buds`` of the shortened scenario at adhesion ×``factor`` every 2 h from 24 h."""
    from invasim.analysis.readouts import compute

    sim = invasim.Simulation(invasim.load_scenario(SCENARIO, adhesion_overrides(factor) + extra),
                             seed=seed)  # fmt: skip
    end = sim.config.time.end_min
    out = []
    while sim.time_min < end - 1e-9:
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1
        t = sim.time_min
        on_grid = abs(t / COUNT_EVERY_MIN - round(t / COUNT_EVERY_MIN)) < 1e-9
        if t >= COUNT_FROM_MIN - 1e-9 and on_grid:
            out.append(compute(sim.model.snapshot(sim.fields, t), ["n_buds"])["n_buds"])
    return out


def _worker(args: tuple[float, int]) -> list[float]:
    return buds_over_time(*args)


@pytest.mark.slow
def test_more_adhesion_fewer_buds():
    """Mean buds (24-36 h, every 2 h) at adhesion ×3 below ×1 in every seed and by >= 25 %.

    Statistic: per arm and seed, the mean of n_buds over the 7 snapshots 24-36 h (buds come
    and go as cells detach and touch again: one snapshot is noisy). Margin: the ×3 arm lower in
    each of seeds 1-3 (paired: the seeds share the initial stroma and the random streams), and
    its seed mean at most 0.75 × the ×1 arm's. Measured when written: see the report in
    /work/helper_docs/scenario-individual.md.
    """
    seeds, factors = (1, 2, 3), (1.0, 3.0)
    jobs = [(f, s) for f in factors for s in seeds]
    env = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"  # two single-threaded workers on two cores
    try:
        with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
            counts = dict(zip(jobs, pool.map(_worker, jobs), strict=True))
    finally:
        if env is None:
            os.environ.pop("NUMBA_NUM_THREADS")
        else:
            os.environ["NUMBA_NUM_THREADS"] = env
    mean = {k: float(np.mean(v)) for k, v in counts.items()}
    low = [mean[(1.0, s)] for s in seeds]
    high = [mean[(3.0, s)] for s in seeds]
    detail = f"adhesion x1: {low}, x3: {high}"
    assert all(h < lo for h, lo in zip(high, low, strict=True)), detail
    assert np.mean(high) <= 0.75 * np.mean(low), detail
