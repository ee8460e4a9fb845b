"""Draw tumour cells coloured by migration mode over the matrix density, per run and time.

    python benchmarks/figures/mmp_inhibitor.py RUN [RUN ...] [--times 60 360 1440]
        [--labels control mmpi ...] [--out docs/img/mmp-inhibitor.png]

One row per run directory (``invasim run`` output, or a study's ``runs/<run_id>``), one column
per time (min; default: the first snapshot at or after the MMP inhibitor's onset, the middle and
the last). Background: the ``ecm`` matrix density (grey, 0 white to 1 black; the 0.714 nuclear
limit of the ecm defaults is the end of the colour bar's hatched band). Cells: discs of their
radius, Okabe–Ito colours by ``mode`` (epithelial green, mesenchymal blue, amoeboid orange).
Each panel's title gives the time and the share of amoeboid cells. Prints one JSON line per
panel: run, time, amoeboid share, mean distance of the cells from the lesion's start centre.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

MODE_COLOURS = {0: "#009E73", 1: "#0072B2", 2: "#E69F00"}  # Okabe–Ito
MODE_NAMES = {0: "epithelial", 1: "mesenchymal", 2: "amoeboid"}
NUCLEAR_LIMIT = 5.0 / 7.0  # ρ where the pores (5/ρ µm²) reach 7 µm² (ecm defaults)


def default_times(run) -> list[float]:
    """The first snapshot at or after the drug's onset, the middle one and the last."""
    times = [float(t) for t in run.times]
    onset = 0.0
    for iv in run.config.model_params.interventions:
        if getattr(iv, "kind", "") == "drug":
            onset = max(onset, float(iv.from_min))
    first = next((t for t in times if t >= onset), times[0])
    return [first, times[len(times) // 2], times[-1]]


def draw(runs: list[str], times: list[float] | None, labels: list[str] | None, out: str) -> None:
    """The grid of panels, saved to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    from invasim.io.run import load_run

    loaded = [load_run(r) for r in runs]
    columns = times or default_times(loaded[0])
    fig, axes = plt.subplots(len(loaded), len(columns), squeeze=False,
                             figsize=(3.2 * len(columns) + 0.8, 3.2 * len(loaded)),
                             constrained_layout=True)  # fmt: skip
    image = None
    for i, run in enumerate(loaded):
        label = labels[i] if labels else Path(runs[i]).name
        mesh = run.mesh
        ext = [0.0, mesh.n[0] * mesh.h, 0.0, mesh.n[1] * mesh.h]
        centre = np.array([ext[1] / 2, ext[3] / 2])
        for j, t in enumerate(columns):
            ax = axes[i, j]
            ecm = np.asarray(run.field("ecm", t)).reshape(mesh.n[1], mesh.n[0])
            image = ax.imshow(ecm, origin="lower", extent=ext, cmap="Greys", vmin=0.0,
                              vmax=1.0, interpolation="nearest")  # fmt: skip
            c = run.cells(t)
            c = c[c["dead"] == 0]
            mode = c["mode"].to_numpy().astype(int)
            xy = c[["x", "y"]].to_numpy()
            discs = [Circle(p, r) for p, r in zip(xy, c["radius"].to_numpy(), strict=True)]
            ax.add_collection(PatchCollection(discs, facecolors=[MODE_COLOURS[m] for m in mode],
                                              edgecolors="black", linewidths=0.3))  # fmt: skip
            amoeboid = float(np.mean(mode == 2)) if mode.size else 0.0
            dist = float(np.linalg.norm(xy - centre, axis=1).mean()) if mode.size else 0.0
            print(json.dumps({"run": label, "time_min": t, "frac_amoeboid": round(amoeboid, 3),
                              "mean_distance_um": round(dist, 1)}))  # fmt: skip
            ax.set_title(f"{label}, {t / 60:g} h: {100 * amoeboid:.0f} % amoeboid", fontsize=9)
            ax.set_xlim(ext[0], ext[1])
            ax.set_ylim(ext[2], ext[3])
            ax.set_aspect("equal")
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel("y (µm)", fontsize=8)
            if i == len(loaded) - 1:
                ax.set_xlabel("x (µm)", fontsize=8)
    bar = fig.colorbar(image, ax=axes, shrink=0.6, label="collagen density ρ (1 = ~10 mg/ml)")
    bar.ax.axhspan(NUCLEAR_LIMIT, 1.0, fill=False, hatch="//", edgecolor="C3", linewidth=0)
    bar.ax.axhline(NUCLEAR_LIMIT, color="C3", linewidth=1.0)
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=MODE_COLOURS[m],
                      markeredgecolor="black", label=MODE_NAMES[m]) for m in (1, 2, 0)]  # fmt: skip
    handles.append(Line2D([], [], color="C3", label="pores < 7 µm² (ρ > 0.714)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run directories, one row each")
    ap.add_argument("--times", nargs="*", type=float, help="snapshot times, min")
    ap.add_argument("--labels", nargs="*", help="row labels (default: the folder names)")
    ap.add_argument("--out", default="docs/img/mmp-inhibitor.png")
    args = ap.parse_args()
    if args.labels and len(args.labels) != len(args.runs):
        ap.error("give one label per run")
    draw(args.runs, args.times, args.labels, args.out)


if __name__ == "__main__":
    main()
