"""Figures of the stroma-invasion scenario and the caf-invasion study.

Usage::

    python benchmarks/figures/stroma.py run RUN_DIR [OUT.png] [--times T1,T2,T3]
    python benchmarks/figures/stroma.py study STUDY_DIR [OUT.png]

``run``: at three snapshot times, the stromal collagen density (grey, white where cut), the
basement membrane (blue, faded where degraded), the aligned fibres (short teal strokes where
the anisotropy is above 0.3) and the live cells by type: normal epithelium (tan), carcinoma
(orange), resting fibroblasts (light green), CAFs (dark green); the tips of the invading groups
(:func:`invasim.analysis.stroma.invading_groups`) are ringed in black. The last panel plots the
invasion depth, the CAF fraction and the share of strand tips that are fibroblast-lineage cells
over time. Prints the readouts of the last snapshot as JSON. (Default output
``docs/img/stroma-invasion.png``.)

``study``: the caf-invasion study's table (``results.parquet``): per arm, each replicate's
invasion depth over time (thin lines) and the arm mean (thick), and at the last time the depth,
tumour cells below the BM and CAF fraction per replicate (dots) with the arm mean. (Default
output ``docs/img/caf-invasion.png``.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Circle, Patch  # noqa: E402

import invasim.analysis.stroma as st  # noqa: E402  (registers the stroma readouts)
from invasim import load_run  # noqa: E402
from invasim.analysis import readouts as rd  # noqa: E402
from invasim.analysis.snapshot import Snapshot  # noqa: E402

COLOURS = {"epithelium": "#d9c7a7", "tumor": "#f28e2b", "fibroblast": "#a6d96a",
           "caf": "#1a7837"}  # fmt: skip
OTHER = "#999999"
READOUTS = ["invasion_depth_um", "bm_breached_um", "caf_fraction", "n_invading_strands",
            "frac_strand_tips_fibroblast", "ecm_density_front", "ecm_density_far",
            "ecm_alignment_front", "ecm_alignment_far", "front_permissive_fraction",
            "n_tumor", "n_fibroblast", "n_caf"]  # fmt: skip
ARM_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"]  # Okabe-Ito


def panel(ax, run, t: float) -> None:
    """One snapshot (2-D): matrix, BM, fibres, cells by type, strand tips ringed."""
    mesh = run.mesh
    h = mesh.h
    width, height = mesh.n[0] * h, mesh.n[1] * h
    box = (0.0, width, 0.0, height)
    ecm = run.field("ecm", t)
    bm = run.field("basement_membrane", t)
    ax.imshow(ecm, origin="lower", extent=box, cmap="Greys", vmin=0.0, vmax=1.0,
              interpolation="nearest")  # fmt: skip
    ax.imshow(np.ma.masked_where(bm < 0.02, np.ones_like(bm)), origin="lower", extent=box,
              cmap=ListedColormap(["#1f6fb4"]), alpha=np.clip(bm, 0.0, 1.0),
              interpolation="nearest")  # fmt: skip
    a, fx, fy = (run.field(n, t) for n in ("anisotropy", "fibre_x", "fibre_y"))
    j, i = np.nonzero((a > 0.3) & (ecm > 0.01))
    xs, ys = (i + 0.5) * h, (j + 0.5) * h
    u, v = fx[j, i] * 0.45 * h, fy[j, i] * 0.45 * h
    ax.plot(np.stack([xs - u, xs + u]), np.stack([ys - v, ys + v]), color="#2a9d8f",
            lw=0.8, alpha=0.9)  # fmt: skip
    cells = run.cells(t)
    names = list(run.config.params["cell_types"])
    live = cells[cells["dead"] == 0]
    patches = [Circle((x, y), r) for x, y, r in zip(live["x"], live["y"], live["radius"],
                                                      strict=True)]  # fmt: skip
    colours = [COLOURS.get(names[k], OTHER) for k in live["type"].to_numpy()]
    ax.add_collection(PatchCollection(patches, facecolor=colours, edgecolor="k", lw=0.3))
    snap = Snapshot.from_run(run, t)
    for _, tip in st.invading_groups(snap):
        row = cells.iloc[tip]
        ax.add_patch(Circle((row["x"], row["y"]), row["radius"] + 2.5, fill=False,
                            edgecolor="k", lw=1.4))  # fmt: skip
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.set_title(f"t = {t / 1440:.1f} d")
    ax.set_xlabel("x (µm)")


def run_figure(run_dir: Path, out: Path, times: list[float] | None) -> dict:
    """The scenario figure; returns the last snapshot's readouts."""
    run = load_run(run_dir)
    ts = [float(x) for x in run.times]
    times = times or [ts[0], ts[len(ts) // 2], ts[-1]]
    table = rd.table(run, READOUTS[:5])
    fig, axes = plt.subplots(1, len(times) + 1, figsize=(4.2 * (len(times) + 1), 4.0))
    for ax, t in zip(axes, times, strict=False):
        panel(ax, run, t)
    axes[0].set_ylabel("y (µm)")
    handles = [Patch(color=c, label=k) for k, c in COLOURS.items()]
    handles.append(Patch(facecolor="#1f6fb4", label="basement membrane"))
    axes[0].legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.85)
    ax = axes[-1]
    d = table["time_min"] / 1440.0
    ax.plot(d, table["invasion_depth_um"], "o-", color="#f28e2b", label="invasion depth (µm)")
    ax.set_xlabel("time (d)")
    ax.set_ylabel("invasion depth (µm)")
    ax2 = ax.twinx()
    ax2.plot(d, table["caf_fraction"], "s--", color="#1a7837", label="CAF fraction")
    ax2.plot(d, table["frac_strand_tips_fibroblast"], "^:", color="k",
             label="strand tips: fibroblast/CAF")  # fmt: skip
    ax2.set_ylim(-0.05, 1.05)
    ax2.set_ylabel("fraction")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, loc="upper left", fontsize=7)
    ax.set_title("readouts")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    snap = Snapshot.from_run(run, ts[-1])
    return {k: v for k, v in rd.compute(snap, READOUTS).items()}


def study_figure(study_dir: Path, out: Path) -> dict:
    """The caf-invasion figure from the study's results table; returns per-arm means."""
    import invasim

    table = invasim.load_study(study_dir)
    arms = list(table["arm"].cat.categories)
    metrics = [m for m in ("invasion_depth_um", "bm_tumor_below", "caf_fraction")
               if m in table]  # fmt: skip
    fig, axes = plt.subplots(1, 1 + len(metrics), figsize=(4.0 * (1 + len(metrics)), 3.8))
    last = table[table["time_min"] == table["time_min"].max()]
    means = {}
    for k, arm in enumerate(arms):
        colour = ARM_COLOURS[k % len(ARM_COLOURS)]
        sub = table[table["arm"] == arm]
        for _, g in sub.groupby("run_id"):
            axes[0].plot(g["time_min"] / 1440.0, g["invasion_depth_um"], color=colour,
                         lw=0.7, alpha=0.5)  # fmt: skip
        mean = sub.groupby("time_min")["invasion_depth_um"].mean()
        axes[0].plot(mean.index / 1440.0, mean.to_numpy(), color=colour, lw=2.2, label=arm)
        for ax, m in zip(axes[1:], metrics, strict=True):
            vals = last[last["arm"] == arm][m].to_numpy(float)
            ax.scatter(np.full(len(vals), k) + np.linspace(-0.12, 0.12, len(vals)), vals,
                       color=colour, s=18)  # fmt: skip
            ax.plot([k - 0.25, k + 0.25], [np.nanmean(vals)] * 2, color="k", lw=2)
            means[f"{arm}:{m}"] = float(np.nanmean(vals))
    axes[0].set_xlabel("time (d)")
    axes[0].set_ylabel("invasion depth (µm)")
    axes[0].legend(fontsize=8)
    axes[0].set_title("depth over time")
    for ax, m in zip(axes[1:], metrics, strict=True):
        ax.set_xticks(range(len(arms)), arms)
        ax.set_title(f"{m} at {last['time_min'].max() / 1440:.0f} d")
        ax.set_xlim(-0.6, len(arms) - 0.4)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return means


def main(argv: list[str] | None = None) -> None:
    """Command line (module doc)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["run", "study"])
    p.add_argument("path", type=Path)
    p.add_argument("out", type=Path, nargs="?")
    p.add_argument("--times", default=None, help="comma-separated snapshot times, min (run)")
    a = p.parse_args(argv)
    if a.what == "run":
        out = a.out or Path("docs/img/stroma-invasion.png")
        times = [float(x) for x in a.times.split(",")] if a.times else None
        print(json.dumps(run_figure(a.path, out, times), indent=1))
    else:
        out = a.out or Path("docs/img/caf-invasion.png")
        print(json.dumps(study_figure(a.path, out), indent=1))


if __name__ == "__main__":
    main()
