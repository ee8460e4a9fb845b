"""The agent engine gives the same bits as before it was split into processes (issue 9).

Each case reruns a short agent run and compares the final cells table, the final fields and
every metric with the frozen run in ``tests/data/golden`` (see its README), bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import invasim
from invasim.config import load_scenario

GOLDEN = Path(__file__).parents[1] / "data" / "golden"
#: frozen arrays the engine no longer writes, and why
RETIRED = {
    "metric/front_um": "duplicated tumor_radius_um (issue 9); that column is still compared",
}
T = "params.cell_types.tumor"
#: the frozen runs predate the uptake of dead cells (a tenth of the live one, PhysiCell's
#: Cell::die; issue 10): they are reproduced with it off
FROZEN = [f"{T}.secretion.dead_uptake_fraction=0.0"]
LIFE = [
    f"{T}.cycle.model=live", f"{T}.cycle.rate_per_min=0.02",
    f"{T}.death.apoptosis_rate_per_min=0.005", f"{T}.death.apoptosis_duration_min=6.0",
    f"{T}.motility.speed_um_per_min=0.5", f"{T}.motility.persistence_time_min=5.0",
    f"{T}.motility.migration_bias=0.3",
]  # fmt: skip
_RULES = [
    ("oxygen", "decreases", "cycle entry", 0.0, 20.0, 4),
    ("pressure", "increases", "apoptosis", 0.01, 1.0, 2),
    ("contact with tumor", "increases", "cell-cell adhesion", 2.0, 3.0, 2),
    ("oxygen", "decreases", "migration speed", 1.0, 15.0, 4),
    ("oxygen", "decreases", "oxygen uptake", 2.0, 15.0, 2),
    ("contact with dead cell", "increases", "necrosis", 0.01, 2.0, 1),
]
RULES = "params.rules=[" + ", ".join(
    f'{{cell_type="tumor", signal="{s}", direction="{d}", behaviour="{b}", saturation={sat}, '
    f"half_max={h}, hill_power={p}}}"
    for s, d, b, sat, h, p in _RULES
) + "]"
CASES = {
    "2d_plain": ("spheroid-2d", ["time.end_min=120.0"], 1),
    "2d_life": ("spheroid-2d", [*LIFE, "time.end_min=60.0"], 5),
    "2d_rules": ("spheroid-2d", [
        *LIFE, f"{T}.motility.migration_bias=0.5", RULES, "time.end_min=60.0",
    ], 7),
    "3d_life": ("spheroid-3d", [
        *LIFE, "mesh.extent_um=[480.0, 480.0, 480.0]", "mesh.voxel_um=40.0",
        "params.dt_diffusion_min=0.01", "params.initial.radius_um=90.0", "time.end_min=18.0",
    ], 3),
}  # fmt: skip


def frozen_run_differences(name: str, out: Path) -> list[str]:
    """Rerun golden case ``name`` into ``out``; the arrays that differ from the frozen run."""
    scenario, sets, seed = CASES[name]
    sets = [*FROZEN, *sets, "time.output_interval_min=6.0", "time.checkpoint_interval_min=6.0"]
    invasim.Simulation(load_scenario(scenario, sets), seed=seed).run(out=out, progress=False)
    run = invasim.load_run(out)
    t = run.times[-1]
    cells = run.cells(t)
    metrics = run.metrics
    now = {f"cells/{c}": cells[c].to_numpy() for c in cells.columns}
    now |= {f"field/{f}": run.field(f, t) for f in run.field_names}
    now |= {f"metric/{c}": metrics[c].to_numpy() for c in metrics.columns}
    frozen = np.load(GOLDEN / f"{name}.npz")
    diffs = []
    for key in frozen.files:
        if key in RETIRED:
            continue
        if key not in now:
            diffs.append(f"{key}: missing")
            continue
        a, b = np.asarray(frozen[key]), np.asarray(now[key])
        if a.shape != b.shape:
            diffs.append(f"{key}: shape {b.shape}, frozen {a.shape}")
        elif a.dtype.kind == "f" and a.tobytes() != b.astype(a.dtype).tobytes():
            bad = int(np.sum(~((a == b) | (np.isnan(a) & np.isnan(b)))))
            diffs.append(f"{key}: {bad} of {a.size} values differ")
        elif a.dtype.kind != "f" and not np.array_equal(a, b):
            diffs.append(f"{key}: {int(np.sum(a != b))} of {a.size} values differ")
    return diffs


@pytest.mark.parametrize("name", sorted(CASES))
def test_agent_engine_same_bits_as_before_the_process_split(name, tmp_path):
    assert frozen_run_differences(name, tmp_path / name) == []
