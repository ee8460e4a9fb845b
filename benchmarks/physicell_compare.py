"""Compare invasim runs of an imported PhysiCell project with PhysiCell's own runs.

Usage::

    python benchmarks/physicell_compare.py --physicell DIR --runs RUN [RUN ...] \\
        --out docs/img/physicell-rules-sample [--title "rules_sample"]

``DIR`` holds PhysiCell's per-seed tables ``seed<k>.csv`` (one row per time and cell type:
``time_min, cell_type, n_live, n_apoptotic, n_necrotic, mean_r_um``, the live cells' mean
distance from the domain centre), made from PhysiCell's ``output*.xml``/``*_cells.mat``
outside this repository. ``RUN`` are invasim run directories of the imported scenario, one
per seed. Writes ``<out>.csv`` (per time and cell type: mean and standard deviation over the
seeds of each simulator) and ``<out>.png`` (counts of live cells per type over time, and
their spread, the two simulators side by side: bands are ± one standard deviation over the
seeds).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from invasim.io.run import load_run


def display(name: str) -> str:
    """A cell type's name as PhysiCell spells it (the import turns spaces into ``_``)."""
    return " ".join(str(name).replace("_", " ").split())


def invasim_table(run_dir: str) -> pd.DataFrame:
    """Per output time and cell type: live, apoptotic, necrotic counts and mean radius."""
    run = load_run(run_dir)
    names = list(run.config.model_params.cell_types)
    centre = np.asarray(run.mesh.extent, dtype=float) / 2.0
    rows = []
    for t in run.times:
        cells = run.cells(float(t))
        xyz = cells[["x", "y", "z"][: len(centre)]].to_numpy()
        r = np.linalg.norm(xyz - centre, axis=1)
        for k, name in enumerate(names):
            of = cells["type"].to_numpy() == k
            dead = cells["dead"].to_numpy()
            live = of & (dead == 0)
            rows.append({
                "time_min": float(t), "cell_type": display(name), "n_live": int(live.sum()),
                "n_apoptotic": int((of & (dead == 1)).sum()),
                "n_necrotic": int((of & (dead == 2)).sum()),
                "mean_r_um": float(r[live].mean()) if live.any() else np.nan,
            })  # fmt: skip
    return pd.DataFrame(rows)


def summarise(tables: list[pd.DataFrame], simulator: str) -> pd.DataFrame:
    """Mean and standard deviation over seeds, per time and cell type."""
    both = pd.concat([t.assign(seed=i) for i, t in enumerate(tables)])
    g = both.groupby(["time_min", "cell_type"])
    out = g[["n_live", "n_apoptotic", "n_necrotic", "mean_r_um"]].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["n_seeds"] = g.size()
    return out.reset_index().assign(simulator=simulator)


def plot(summary: pd.DataFrame, path: Path, title: str) -> None:
    """Counts and spread per type over time, PhysiCell and invasim side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = sorted(summary["cell_type"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    colours = plt.get_cmap("tab10")
    for k, name in enumerate(types):
        for sim, style in (("PhysiCell", "--"), ("invasim", "-")):
            s = summary[(summary.cell_type == name) & (summary.simulator == sim)]
            if s.empty:
                continue
            t = s["time_min"] / 1440.0
            for ax, col in ((axes[0], "n_live"), (axes[1], "mean_r_um")):
                m, sd = s[f"{col}_mean"], s[f"{col}_std"].fillna(0.0)
                ax.plot(t, m, style, color=colours(k), lw=1.6,
                        label=f"{name} ({sim})" if col == "n_live" else None)  # fmt: skip
                ax.fill_between(t, m - sd, m + sd, color=colours(k), lw=0,
                                alpha=0.25 if sim == "invasim" else 0.1,
                                hatch=None if sim == "invasim" else "//")  # fmt: skip
    axes[0].set(xlabel="time (days)", ylabel="live cells", title=f"{title}: live cells per type")
    axes[0].set_yscale("symlog", linthresh=10)
    axes[1].set(xlabel="time (days)", ylabel="mean distance from centre (µm)",
                title="spread of each type (live cells)")  # fmt: skip
    axes[0].legend(fontsize=7, ncol=2, title="solid: invasim, dashed: PhysiCell",
                   title_fontsize=7)  # fmt: skip
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--physicell", required=True, help="folder of PhysiCell seed<k>.csv tables")
    ap.add_argument("--runs", nargs="+", required=True, help="invasim run directories")
    ap.add_argument("--out", required=True, help="output path without extension")
    ap.add_argument("--title", default="PhysiCell vs invasim")
    a = ap.parse_args()
    pc = [pd.read_csv(p) for p in sorted(Path(a.physicell).glob("seed*.csv"))]
    for t in pc:
        t["cell_type"] = t["cell_type"].map(display)
    if not pc:
        raise SystemExit(f"no seed*.csv tables in {a.physicell}")
    cols = ["time_min", "cell_type", "n_live", "n_apoptotic", "n_necrotic", "mean_r_um"]
    summary = pd.concat([
        summarise([t[cols] for t in pc], "PhysiCell"),
        summarise([invasim_table(r) for r in a.runs], "invasim"),
    ])  # fmt: skip
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out.with_suffix(".csv"), index=False, float_format="%.4g")
    plot(summary, out.with_suffix(".png"), a.title)
    print(agreement(summary).to_string(index=False))


def agreement(summary: pd.DataFrame) -> pd.DataFrame:
    """Per day and cell type: each simulator's mean ± sd of live cells, and ``z``.

    ``z`` = difference of the means over its standard error (Welch), from the seeds: |z| < 2
    means the two agree within the spread of seeds.
    """
    days = sorted({t for t in summary.time_min if t > 0 and t % 1440 == 0})
    rows = []
    for t in days:
        at = summary[summary.time_min == t]
        for name in sorted(at.cell_type.unique()):
            pc = at[(at.cell_type == name) & (at.simulator == "PhysiCell")]
            iv = at[(at.cell_type == name) & (at.simulator == "invasim")]
            if pc.empty or iv.empty:
                continue
            pc, iv = pc.iloc[0], iv.iloc[0]
            se = np.hypot(pc.n_live_std / np.sqrt(pc.n_seeds), iv.n_live_std / np.sqrt(iv.n_seeds))
            diff = iv.n_live_mean - pc.n_live_mean
            rows.append({
                "day": int(t // 1440), "cell_type": name,
                "PhysiCell": f"{pc.n_live_mean:.1f} ± {pc.n_live_std:.1f} ({int(pc.n_seeds)})",
                "invasim": f"{iv.n_live_mean:.1f} ± {iv.n_live_std:.1f} ({int(iv.n_seeds)})",
                "z": round(diff / se, 2) if se > 0 else (0.0 if diff == 0 else np.inf),
            })  # fmt: skip
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
