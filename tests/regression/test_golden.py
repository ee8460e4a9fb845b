"""The agent engine gives the same bits as before it was split into processes (issue 9).

Each case reruns a short agent run and compares the final cells table, the final fields and
every metric with the frozen run in ``tests/data/golden`` (see its README), bit for bit.

The frozen runs were written on a CPU without AVX-512. On a CPU with it, NumPy dispatches its
float64 transcendental functions (``power``, ``exp``, ``log``, ...) to AVX-512 kernels whose
last bits differ (measured on a 2026-12 machine: 31 of 1545 positions differ by <= 2.3e-13
µm, radii by <= 1.8e-15 µm; no metric). So each case runs in a subprocess with NumPy's
AVX-512 dispatch switched off (``NPY_DISABLE_CPU_FEATURES``; nothing is switched off on a CPU
without it): the comparison stays bit for bit, of the engine, not of the CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


#: NumPy's dispatch targets above AVX2 (the frozen runs' CPU had none of them)
AVX512_TARGETS = ("X86_V4", "AVX512_ICL", "AVX512_SPR", "AVX512_SKX", "AVX512_CLX",
                  "AVX512_CNL", "AVX512F", "AVX512CD")  # fmt: skip


def _without_avx512() -> dict[str, str]:
    """The environment of a subprocess whose NumPy dispatches no AVX-512 kernel."""
    from numpy._core import _multiarray_umath as umath

    off = [f for f in AVX512_TARGETS
           if f in umath.__cpu_dispatch__ and umath.__cpu_features__.get(f, False)]
    env = dict(os.environ)
    if off:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(off)
    return env


@pytest.mark.parametrize("name", sorted(CASES))
def test_agent_engine_same_bits_as_before_the_process_split(name, tmp_path):
    code = ("import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
            "from test_golden import frozen_run_differences as f; "
            "print(json.dumps(f(sys.argv[2], Path(sys.argv[3]))))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), name,
                           str(tmp_path / name)], capture_output=True, text=True,
                          env=_without_avx512(), timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
