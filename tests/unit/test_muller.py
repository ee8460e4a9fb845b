"""The Muller plot: clone counts, grouping of rare clones, the nested layout, the written figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import invasim
from invasim.errors import RunDirError
from invasim.verify.cases.evolution import consistency_problems, scenario
from invasim.viz.muller import OTHER, clone_counts, group_rare, muller_layout, muller_plot


def _counts(rows, clones):
    return pd.DataFrame(rows, index=pd.Index([0.0, 60.0, 120.0][: len(rows)], name="time_min"),
                        columns=pd.Index(clones, name="clone_id"))  # fmt: skip


def test_a_child_sits_in_the_middle_of_its_parents_band():
    # root 1 (4 own cells) > child 5 (2 own) > grandchild 9 (2 own), and a second root 2
    counts = _counts([[4, 2, 2, 0], [4, 2, 2, 8]], [1, 5, 9, 2])
    lower, upper, order = muller_layout(counts, {1: -1, 5: 1, 9: 5, 2: -1})
    assert order == [1, 5, 9, 2]
    t0 = {c: (lower.loc[0.0, c], upper.loc[0.0, c]) for c in counts.columns}
    # total 8 cells: 1 spans [0, 1]; 5 starts half of 1's own share (2/8) up, is 4/8 wide; 9
    # starts half of 5's own share (1/8) above 5's lower edge, 2/8 wide
    assert t0 == {1: (0.0, 1.0), 5: (0.25, 0.75), 9: (0.375, 0.625), 2: (1.0, 1.0)}
    t1 = {c: (lower.loc[60.0, c], upper.loc[60.0, c]) for c in counts.columns}
    assert t1 == {1: (0.0, 0.5), 5: (0.125, 0.375), 9: (0.1875, 0.3125), 2: (0.5, 1.0)}


def test_siblings_stack_in_founding_order_and_an_empty_time_is_zero():
    counts = _counts([[2, 1, 1], [0, 0, 0]], [1, 3, 4])
    lower, upper, _ = muller_layout(counts, {1: -1, 3: 1, 4: 1})
    assert (lower.loc[0.0].tolist(), upper.loc[0.0].tolist()) == ([0.0, 0.25, 0.5],
                                                                  [1.0, 0.5, 0.75])  # fmt: skip
    assert (lower.loc[60.0] == 0).all() and (upper.loc[60.0] == 0).all()


def test_a_cycle_in_the_lineage_is_an_error():
    with pytest.raises(ValueError, match="cycle"):
        muller_layout(_counts([[1, 1]], [1, 2]), {1: 2, 2: 1})


def test_clone_counts_leaves_out_dead_cells_and_keeps_empty_times():
    a = pd.DataFrame({"time_min": 0.0, "clone_id": [1, 1, 2], "dead": [0, 0, 1]})
    b = pd.DataFrame({"time_min": 60.0, "clone_id": [2], "dead": [2]})
    counts = clone_counts([a, b])
    assert counts.index.tolist() == [0.0, 60.0] and counts.columns.tolist() == [1]
    assert counts[1].tolist() == [2, 0]


def test_rare_clones_merge_into_their_kept_ancestor_or_into_other():
    # roots 0 (big) and 7 (rare); 0 > 3 (big) > 4 (rare); 7 > 8 (rare)
    counts = _counts([[50, 30, 1, 1, 1], [20, 70, 2, 1, 1]], [0, 3, 4, 7, 8])
    lineage = pd.DataFrame({"clone_id": [0, 7, 3, 4, 8], "parent_clone_id": [-1, -1, 0, 3, 7]})
    grouped, parents = group_rare(counts, lineage, top=5, min_frequency=0.05)
    assert grouped.columns.tolist() == [0, 3, OTHER]
    assert parents == {0: -1, 3: 0, OTHER: -1}
    assert grouped[3].tolist() == [31, 72] and grouped[OTHER].tolist() == [2, 2]
    np.testing.assert_array_equal(grouped.sum(axis=1), counts.sum(axis=1))
    # top=1 keeps the clone of largest peak frequency (3) and its ancestor (0)
    grouped, parents = group_rare(counts, lineage, top=1, min_frequency=0.0)
    assert grouped.columns.tolist() == [0, 3, OTHER] and grouped[0].tolist() == [50, 20]


def test_muller_plot_of_tables_writes_png_and_svg(tmp_path):
    cells = pd.DataFrame({"time_min": [0.0, 0.0, 60.0, 60.0, 60.0], "clone_id": [1, 1, 1, 5, 5]})
    for name in ("m.png", "m.svg"):
        path = muller_plot((cells, {5: 1}), tmp_path / name, title="test")
        assert path.is_file() and path.stat().st_size > 1000
    assert (tmp_path / "m.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(RunDirError, match="out_path"):
        muller_plot((cells, None))
    with pytest.raises(RunDirError, match="image format"):
        muller_plot((cells, None), tmp_path / "m.xyz")


def test_muller_plot_of_a_run_and_its_invariants(tmp_path):
    traits = {"mmp": {"initial": 1.0, "mutation_rate": 0.3, "mutation_step": 0.1, "lower": 0.0}}
    data = scenario(traits, 8, 72.0, output_min=24.0)
    run = invasim.Simulation(invasim.load_scenario(data), seed=2).run(
        out=tmp_path / "run", progress=False, summary=False)  # fmt: skip
    assert consistency_problems(run) == []
    path = muller_plot(run)
    assert path == run.path / "muller.png" and path.stat().st_size > 1000
    assert muller_plot(str(run.path), tmp_path / "m.pdf").is_file()
