"""The collective-invasion scenarios (2-D and 3-D) through the CLI, shortened.

Fast: the 2-D scenario run through ``invasim run`` for 1.75 days and the 3-D variant for a few
steps; the qualitative behaviour that a short run already shows (the carcinoma in situ
degrades its basement membrane, tumour cells reach the stroma, the normal epithelium stays on
it, leaders emerge only among the competent cells that met the collagen) is checked on the
metrics and the pathology readouts (``invasim readouts``).

Slow: "more MMP, deeper invasion" (invasim issue 11, item 9): the shipped MMP expression
(trait ``mmp_expression`` = 1, scaling secreted MMP and MT1-MMP) against a quarter of it, over
three seeds; and the 3-D variant as shipped (4 days) over two seeds: breach, leaders in the
stroma, invasion depth, and follower strands (:func:`strands`: epithelial-mode cells deeper
than 30 µm below the BM with a contact path to a leader), checked by itself on a hand-made
table (fast).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

BM_TOP_UM = 310.0  # the 2-D scenario's BM top face (basement_membrane layer 300-310 µm)
BM_TOP_3D_UM = 130.0  # the 3-D scenario's BM top face (layer z 120-130 µm)


def _command(out, name: str, sets: tuple[str, ...], seed: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "invasim", "run", name, "--out", str(out)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    for s in sets:
        cmd += ["--set", s]
    return cmd


def _run(tmp_path, name: str, *sets: str, seed: int | None = None) -> object:
    out = tmp_path / name
    subprocess.run(_command(out, name, sets, seed), check=True, capture_output=True,
                   text=True, timeout=600)  # fmt: skip
    return out


def _readouts(run_dir, time_min: float) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, "-m", "invasim", "readouts", str(run_dir), "--time", str(time_min)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    table = pd.read_csv(io.StringIO(res.stdout), sep=r"\s+")
    return table.iloc[-1].to_dict()


def test_collective_invasion_2d_short(tmp_path):
    """1.75 days: breach, tumour cells in the stroma, the first leaders (competent, at the BM)."""
    end = 2520.0
    out = _run(tmp_path, "collective-invasion", f"time.end_min={end}",
               "time.output_interval_min=840", f"time.checkpoint_interval_min={end}")  # fmt: skip
    m = pd.read_csv(out / "metrics.csv").iloc[-1]
    # the CIS's secreted MMP degrades its BM within the first day (measured 1002 min, seed 1)
    assert 0.0 < m["bm_first_breach_min"] < 1440.0
    assert m["bm_tumor_below"] >= 3  # tumour cells in the stroma
    assert m["bm_epithelium_below"] <= 0.1 * m["n_epithelium"]  # the normal epithelium stays
    r = _readouts(out, end)
    assert r["bm_breached_um"] > 0.0
    assert r["invasion_depth_um"] > 10.0
    assert 0.0 <= r["frac_mesenchymal"] < 0.3  # leaders are few
    import invasim

    cells = invasim.load_run(out).cells(end)
    tumour = cells[(cells["type"] == 1) & (cells["dead"] == 0)]
    leaders = tumour[tumour["mode"] == 1]
    # emergent leaders: only cells competent for the programme (luminal low: the rule's
    # suppression H(luminal; 0.3, 6) leaves at most 4 x 0.045 of the EMT fold above 0.5)
    assert (leaders["luminal"] < 0.5).all()
    # and only where the collagen is: below the BM's top face (a cell radius of slack)
    assert (leaders["y"] < BM_TOP_UM + 9.0).all()
    # the tumour cells in the CIS stay epithelial: no cell far above the BM is mesenchymal
    assert not ((tumour["y"] > BM_TOP_UM + 40.0) & (tumour["mode"] == 1)).any()


def test_collective_invasion_3d_runs(tmp_path):
    """The 3-D variant runs through the CLI and writes its readouts (a few steps)."""
    out = _run(tmp_path, "collective-invasion-3d", "time.end_min=60",
               "time.output_interval_min=60", "time.checkpoint_interval_min=60")  # fmt: skip
    m = pd.read_csv(out / "metrics.csv").iloc[-1]
    assert m["n_tumor"] > 0 and m["n_epithelium"] > 0
    assert m["bm_cells_below"] == 0  # an intact BM holds everyone above it
    r = _readouts(out, 60.0)
    assert r["bm_breached_um"] == 0.0 and r["bm_breached_um2"] == 0.0
    assert r["invasion_depth_um"] == 0.0


def strands(cells: pd.DataFrame, bm_top_um: float, depth_um: float) -> dict[str, int]:
    """Follower strands in a cells table (tumour type 1; mode 0 epithelial, 1 mesenchymal).

    Two live tumour cells are in contact when their centres are closer than the sum of their
    adhesion reaches, 1.25 (r_i + r_j) (PhysiCell's relative maximum adhesion distance). Among
    the tumour cells below the BM's top face (z < ``bm_top_um``), a *strand follower* is an
    epithelial-mode cell deeper than ``depth_um`` below the top face with a contact path to a
    leader (mesenchymal mode); its *strand* is its connected group of cells, *led* when the
    group's deepest cell is a leader. Returns ``followers_deep`` (all epithelial-mode cells
    deeper than ``depth_um``), ``strand_followers``, ``strands``, ``led_strands``,
    ``led_strand_followers`` (strand followers in led strands).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    t = cells[(cells["type"] == 1) & (cells["dead"] == 0) & (cells["z"] < bm_top_um)]
    pos = t[["x", "y", "z"]].to_numpy(float)
    r = t["radius"].to_numpy(float)
    leader = t["mode"].to_numpy() == 1
    deep = (t["mode"].to_numpy() == 0) & (t["z"].to_numpy() < bm_top_um - depth_um)
    out = dict(followers_deep=int(deep.sum()), strand_followers=0, strands=0, led_strands=0,
               led_strand_followers=0)  # fmt: skip
    if len(t) == 0:
        return out
    pairs = cKDTree(pos).query_pairs(2.5 * r.max(), output_type="ndarray")
    d = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
    p = pairs[d < 1.25 * (r[pairs[:, 0]] + r[pairs[:, 1]])]
    g = coo_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(len(t), len(t)))
    _, label = connected_components(g, directed=False)
    led_groups = set(label[leader])
    in_strand = deep & np.isin(label, list(led_groups))
    groups = set(label[in_strand])
    z = pos[:, 2]
    led = {k for k in groups if leader[label == k][np.argmin(z[label == k])]}
    out.update(strand_followers=int(in_strand.sum()), strands=len(groups), led_strands=len(led),
               led_strand_followers=int((in_strand & np.isin(label, list(led))).sum()))  # fmt: skip
    return out


def test_strands_readout():
    """The strand readout on a hand-made table: a led chain counts, a detached follower not."""
    rows = [  # x, y, z, mode: a leader at the tip of a chain of 3 followers below z = 130
        (0.0, 0.0, 60.0, 1), (0.0, 0.0, 76.0, 0), (0.0, 0.0, 92.0, 0), (0.0, 0.0, 108.0, 0),
        (50.0, 0.0, 80.0, 0),  # deep but alone: not in a strand
        (80.0, 0.0, 80.0, 0), (80.0, 0.0, 96.0, 1),  # a strand whose tip is a follower
        (0.0, 0.0, 140.0, 0),  # above the BM's top face
    ]  # fmt: skip
    cells = pd.DataFrame(rows, columns=["x", "y", "z", "mode"])
    cells["type"], cells["dead"], cells["radius"] = 1, 0, 8.41
    s = strands(cells, 130.0, 30.0)
    # deep (z < 100) followers: 76, 92, the lone one at 80, the one at (80, 0, 80)
    assert s == dict(followers_deep=4, strand_followers=3, strands=2, led_strands=1,
                     led_strand_followers=2)  # fmt: skip


@pytest.mark.slow
def test_collective_invasion_3d_invades(tmp_path):
    """The 3-D variant as shipped (4 d), seeds 1 and 2 side by side (one process per core).

    Measured (this machine, seeds 1 / 2): first breach 1116 / 1110 min, invasion depth 94 /
    109 µm, leaders 26 / 34, all below the BM; follower strands (:func:`strands`, depth 30 µm
    below the BM's top face): 24 / 20 epithelial-mode cells deeper than 30 µm, every one with
    a contact path to a leader, in one leader-tipped group per seed. Without the two strand
    mechanisms (contact-guided speed, leaders' full junctions; the scenario before them, run
    to 4 d) 12 / 11. Margins: breach within 1.5 days, depth > 40 µm, at least 5 leaders,
    leaders only among competent cells and in the stroma, a leader-tipped strand in each
    seed, at least 10 strand followers per seed and 30 over both (the scenario without the
    mechanisms: 23). Wall time 118 s for the pair (2 cores, lightly loaded machine).
    """
    import invasim

    end = 5760.0
    procs = {}
    for seed in (1, 2):
        out = tmp_path / f"s{seed}"
        env = dict(os.environ, NUMBA_NUM_THREADS="1")
        cmd = _command(out, "collective-invasion-3d", ("time.output_interval_min=2880",), seed)
        procs[seed] = (out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, env=env))  # fmt: skip
    strand_followers = 0
    for seed, (out, proc) in procs.items():
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err.decode()[-2000:]
        m = pd.read_csv(out / "metrics.csv").iloc[-1]
        assert 0.0 < m["bm_first_breach_min"] < 2160.0, seed
        assert m["bm_epithelium_below"] <= 0.1 * m["n_epithelium"], seed
        r = _readouts(out, end)
        assert r["invasion_depth_um"] > 40.0, (seed, r["invasion_depth_um"])
        cells = invasim.load_run(out).cells(end)
        tumour = cells[(cells["type"] == 1) & (cells["dead"] == 0)]
        leaders = tumour[tumour["mode"] == 1]
        assert len(leaders) >= 5, (seed, len(leaders))
        assert (leaders["luminal"] < 0.5).all(), seed
        assert (leaders["z"] < BM_TOP_3D_UM + 9.0).all(), seed
        s = strands(cells, BM_TOP_3D_UM, 30.0)
        assert s["led_strands"] >= 1, (seed, s)  # a strand with a leader at its tip
        assert s["strand_followers"] >= 10, (seed, s)
        strand_followers += s["strand_followers"]
    assert strand_followers >= 30, strand_followers


@pytest.mark.slow
def test_more_mmp_deeper_invasion(tmp_path):
    """More MMP (secreted and MT1-MMP), deeper invasion at 3 days, over 3 seeds.

    Arms: the shipped expression (1) and a quarter of it (trait ``mmp_expression`` = 0.25).
    Margin: in every seed the high arm invades deeper, and the mean paired difference exceeds
    20 µm (two cell diameters; measured at 0.5 vs 1, seeds 1-2: +64 and +22 µm). Three seeds
    are few for a test of the mean, so every seed must agree: the chance that three
    independent pairs all order the same way by luck is 1/8 under no effect.
    """
    depth = {}
    for seed in (1, 2, 3):  # the two arms of a seed side by side (one process per core)
        runs = {}
        for arm, value in (("high", 1.0), ("low", 0.25)):
            out = tmp_path / f"{arm}{seed}"
            sets = (f"params.traits.mmp_expression.initial={value}",
                    "time.output_interval_min=4320")  # fmt: skip
            env = dict(os.environ, NUMBA_NUM_THREADS="1")
            runs[arm] = (out, subprocess.Popen(_command(out, "collective-invasion", sets, seed),
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.PIPE, env=env))  # fmt: skip
        for arm, (out, proc) in runs.items():
            _, err = proc.communicate(timeout=900)
            assert proc.returncode == 0, err.decode()[-2000:]
            depth[arm, seed] = _readouts(out, 4320.0)["invasion_depth_um"]
    diff = np.array([depth["high", s] - depth["low", s] for s in (1, 2, 3)])
    detail = {k: round(v, 1) for k, v in depth.items()}
    assert (diff > 0).all(), detail
    assert diff.mean() > 20.0, detail
