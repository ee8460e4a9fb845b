"""Figures of the inflammation scenario and study.

Usage::

    python benchmarks/figures/inflammation.py study STUDY_DIR [OUT.png]
    python benchmarks/figures/inflammation.py run RUN_DIR [OUT.png] [--times T1,T2,T3]

``study`` (default output ``docs/img/inflammation.png``): the inflammation study's table
(``results.parquet``): per arm (low, high, high+csf1ri), each replicate's depth below the
basement membrane's original lower face (``depth_below_bm0_um``) over time (thin lines) and the
arm mean (thick); at the last time the depth, the carcinoma cells below the original BM
(``tumor_below_bm0``), the breached BM length, the M2 fraction of the live macrophages, the live
TAMs (``n_macrophage_m2``) and the CAF fraction per replicate (dots) with the arm mean (bar).
Prints the per-arm means as JSON.

``run`` (default output ``docs/img/inflammation-run.png``): stroma.py's snapshot panels
(collagen, BM, fibres, cells), with M1 macrophages (light blue) and M2/TAMs (purple) added.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stroma  # noqa: E402  (the stroma drawing: panel, run_figure, colours)

import invasim.verify.cases.inflammation  # noqa: E402,F401  (registers depth_below_bm0_um)

stroma.COLOURS.update({"macrophage_m1": "#9ecae1", "macrophage_m2": "#6a3d9a"})
ARM_COLOURS = {"low": "#0072B2", "high": "#D55E00", "high+csf1ri": "#009E73"}  # Okabe-Ito
METRICS = [("depth_below_bm0_um", "depth below the BM (µm)"),
           ("tumor_below_bm0", "carcinoma cells below the BM"),
           ("bm_breached_um", "BM breached (µm of 320)"),
           ("frac_m2", "M2 fraction of macrophages"),
           ("n_macrophage_m2", "TAMs (M2), cells"),
           ("caf_fraction", "CAF fraction")]  # fmt: skip


def study_figure(study_dir: Path, out: Path) -> dict:
    """The study figure from the results table; returns per-arm means at the last time."""
    import invasim

    table = invasim.load_study(study_dir)
    arms = list(table["arm"].cat.categories)
    metrics = [(m, lab) for m, lab in METRICS if m in table]
    fig, axes = plt.subplots(1, 1 + len(metrics), figsize=(3.1 * (1 + len(metrics)), 3.5))
    t_end = table["time_min"].max()
    last = table[table["time_min"] == t_end]
    means: dict[str, float] = {}
    for k, arm in enumerate(arms):
        colour = ARM_COLOURS.get(arm, "#999999")
        sub = table[table["arm"] == arm]
        for _, g in sub.groupby("run_id"):
            axes[0].plot(g["time_min"] / 1440.0, g["depth_below_bm0_um"], color=colour,
                         lw=0.7, alpha=0.5)  # fmt: skip
        mean = sub.groupby("time_min")["depth_below_bm0_um"].mean()
        axes[0].plot(mean.index / 1440.0, mean.to_numpy(), color=colour, lw=2.2, label=arm)
        for ax, (m, _) in zip(axes[1:], metrics, strict=True):
            vals = last[last["arm"] == arm][m].to_numpy(float)
            ax.scatter(np.full(len(vals), k) + np.linspace(-0.12, 0.12, len(vals)), vals,
                       color=colour, s=18)  # fmt: skip
            ax.plot([k - 0.25, k + 0.25], [np.nanmean(vals)] * 2, color="k", lw=2)
            means[f"{arm}:{m}"] = round(float(np.nanmean(vals)), 3)
    axes[0].set_xlabel("time (d)")
    axes[0].set_ylabel("depth below the original BM (µm)")
    axes[0].legend(fontsize=8)
    axes[0].set_title("invasion over time")
    for ax, (_, lab) in zip(axes[1:], metrics, strict=True):
        ax.set_xticks(range(len(arms)), arms, fontsize=8)
        ax.set_title(f"{lab}\nat {t_end / 1440:.0f} d", fontsize=9)
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
        out = a.out or Path("docs/img/inflammation-run.png")
        times = [float(x) for x in a.times.split(",")] if a.times else None
        print(json.dumps(stroma.run_figure(a.path, out, times), indent=1))
    else:
        out = a.out or Path("docs/img/inflammation.png")
        print(json.dumps(study_figure(a.path, out), indent=1))


if __name__ == "__main__":
    main()
