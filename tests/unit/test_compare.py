"""invasim compare: arms from run configs, mean and spread of replicates, the table and figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import invasim
from invasim.errors import ConfigError, RunDirError
from invasim.viz.compare import OKABE_ITO, compare_runs

SHORT = ["time.end_min=19200", "time.output_interval_min=1920",
         "time.checkpoint_interval_min=19200"]


def _run(tmp_path, name, seed, extra=()):
    sc = invasim.load_scenario("fisher-kpp", [*SHORT, *extra])
    out = tmp_path / name
    invasim.Simulation(sc, seed=seed).run(out=out, progress=False)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    return {
        "a1": _run(tmp, "a1", 1),
        "a2": _run(tmp, "a2", 2),
        "b1": _run(tmp, "b1", 1, ["params.r_per_min=3.3332e-05"]),
        "tmp": tmp,
    }


def test_arms_table_and_figure(runs, tmp_path):
    table, csv, png = compare_runs([runs["a1"], runs["b1"], runs["a2"]], ["front_um"],
                                   tmp_path / "out")
    arms = table.drop_duplicates("arm").set_index("arm")
    assert list(arms.index) == [1, 2]
    # the arms differ only in r: that is their label; replicates (seeds) pool into arm 1
    assert arms.loc[1, "label"] == "r_per_min=8.333e-06"
    assert arms.loc[2, "label"] == "r_per_min=3.3332e-05"
    assert len(arms.loc[1, "runs"].split(";")) == 2
    # statistics against the runs' own metrics, computed here independently
    m1 = invasim.load_run(runs["a1"]).metrics
    m2 = invasim.load_run(runs["a2"]).metrics
    mb = invasim.load_run(runs["b1"]).metrics
    t1 = table[table["arm"] == 1].reset_index(drop=True)
    both = np.vstack([m1["front_um"], m2["front_um"]])
    np.testing.assert_array_equal(t1["time_min"], m1["time_min"])
    np.testing.assert_allclose(t1["mean"], both.mean(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(t1["sd"], both.std(axis=0, ddof=1), rtol=0, atol=1e-9)
    assert (t1["n"] == 2).all()
    t2 = table[table["arm"] == 2].reset_index(drop=True)
    np.testing.assert_array_equal(t2["mean"], mb["front_um"])
    assert t2["sd"].isna().all() and (t2["n"] == 1).all()
    # a faster front for the larger r (c = 2 sqrt(D r)): the comparison shows it
    assert t2["mean"].iloc[-1] > t1["mean"].iloc[-1]
    # the CSV is the table
    back = pd.read_csv(csv)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    # the figure: 300 dpi, non-blank, both arm colours present
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape[0] > 600 and img.shape[1] > 900
    for hexcol in OKABE_ITO[:2]:
        rgb = np.array([int(hexcol[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(img - rgb).sum(axis=2) < 30).sum() > 200, hexcol


def test_default_metrics_are_those_shared(runs, tmp_path):
    table, _, _ = compare_runs([runs["a1"], runs["b1"]], None, tmp_path / "o")
    shared = [c for c in invasim.load_run(runs["a1"]).metrics.columns if c != "time_min"]
    assert list(dict.fromkeys(table["metric"])) == shared


def test_single_arm_label_is_the_scenario_name(runs, tmp_path):
    table, _, _ = compare_runs([runs["a1"], runs["a2"]], ["front_um"], tmp_path / "o")
    assert set(table["label"]) == {"fisher-kpp"}


def test_errors(runs, tmp_path):
    with pytest.raises(ConfigError, match="not a metric of every run; all runs have: front_um"):
        compare_runs([runs["a1"]], ["nope"], tmp_path / "o")
    with pytest.raises(RunDirError, match="does not exist"):
        compare_runs([tmp_path / "missing"], None, tmp_path / "o")
    with pytest.raises(ConfigError, match="given twice"):
        compare_runs([runs["a1"], runs["a1"]], None, tmp_path / "o")
    assert not (tmp_path / "o").exists()
