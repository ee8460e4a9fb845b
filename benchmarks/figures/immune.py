"""Draw an immune-surveillance study: the tissue per arm over time, and the tumour's course.

    python benchmarks/figures/immune.py STUDY [--times 360 2880 5760]
        [--out docs/img/immune-surveillance.png]

``STUDY``: an ``invasim study run immune-surveillance`` (or ``checkpoint-blockade``) folder.
Left: one row per arm (its replicate 0), one column per time (min; default 6 h, the middle and
the last snapshot). Background: the ``cxcl10`` chemokine (purple). Cells: tumour cells shaded
by their heritable PD-L1 trait (``pdl1``: light 0, dark red at the trait's upper bound 2.5),
CD8 T cells blue (hollow when exhausted), NK cells green. Right: live tumour cells over time
per arm (each replicate a thin line, the mean thick). Prints one JSON line per panel.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

TYPE_COLOURS = {"cd8_t_cell": "#0072B2", "nk_cell": "#009E73"}  # Okabe–Ito
ARM_COLOURS = ["#D55E00", "#0072B2", "#CC79A7", "#009E73", "#E69F00"]
PDL1_MAX = 2.5  # the scenario's trait bound


def _runs_by_arm(study: Path) -> dict[str, Path]:
    design = pd.read_parquet(study / "design.parquet")
    first = design[design["replicate"] == 0]
    return {str(r.arm): study / "runs" / str(r.run_id) for r in first.itertuples()}


def draw(study: str, times: list[float] | None, out: str) -> None:
    """The panels, saved to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    from invasim.io.run import load_run
    from invasim.viz.cells import type_names

    root = Path(study)
    arms = _runs_by_arm(root)
    loaded = {a: load_run(p) for a, p in arms.items()}
    first = next(iter(loaded.values()))
    ts = [float(t) for t in first.times]
    columns = times or [next(t for t in ts if t >= 360.0), ts[len(ts) // 2], ts[-1]]
    n_rows, n_cols = len(loaded), len(columns)
    fig = plt.figure(figsize=(3.0 * n_cols + 4.2, 3.0 * n_rows + 0.6), constrained_layout=True)
    grid = fig.add_gridspec(n_rows, n_cols + 1, width_ratios=[1.0] * n_cols + [1.35])
    reds = plt.get_cmap("Reds")
    image = None
    # the chemokine's colour scale: its largest value over the panels
    vmax = max(float(np.max(run.field("cxcl10", t))) for run in loaded.values() for t in columns)
    vmax = vmax if vmax > 0 else 1.0
    for i, (arm, run) in enumerate(loaded.items()):
        mesh = run.mesh
        ext = [0.0, mesh.n[0] * mesh.h, 0.0, mesh.n[1] * mesh.h]
        names = list(type_names(run.meta))
        for j, t in enumerate(columns):
            ax = fig.add_subplot(grid[i, j])
            chem = np.asarray(run.field("cxcl10", t)).reshape(mesh.n[1], mesh.n[0])
            image = ax.imshow(chem, origin="lower", extent=ext, cmap="Purples", vmin=0.0,
                              vmax=vmax, interpolation="nearest")  # fmt: skip
            c = run.cells(t)
            c = c[c["dead"] == 0]
            kind = np.array(names)[c["type"].to_numpy()]
            xy = c[["x", "y"]].to_numpy()
            rad = c["radius"].to_numpy()
            face, edge = [], []
            for k, name in enumerate(kind):
                if name == "tumor":
                    face.append(reds(0.15 + 0.85 * min(c["pdl1"].iloc[k] / PDL1_MAX, 1.0)))
                    edge.append("black")
                elif name == "cd8_t_cell" and c["exhaustion"].iloc[k] >= 1.0:
                    face.append("none")
                    edge.append(TYPE_COLOURS[name])
                else:
                    face.append(TYPE_COLOURS.get(name, "grey"))
                    edge.append("black")
            discs = [Circle(p, r) for p, r in zip(xy, rad, strict=True)]
            ax.add_collection(PatchCollection(discs, facecolors=face, edgecolors=edge,
                                              linewidths=0.4))  # fmt: skip
            n_t = int(np.sum(kind == "tumor"))
            n_e = int(np.sum(kind == "cd8_t_cell"))
            print(json.dumps({"arm": arm, "time_min": t, "tumour": n_t, "cd8": n_e}))
            ax.set_title(f"{arm}, day {t / 1440:g}: {n_t} tumour, {n_e} CD8", fontsize=8)
            ax.set_xlim(ext[0], ext[1])
            ax.set_ylim(ext[2], ext[3])
            ax.set_aspect("equal")
            ax.tick_params(labelsize=6)
    ax = fig.add_subplot(grid[:, n_cols])
    res = pd.read_parquet(root / "results.parquet")
    for k, arm in enumerate(loaded):
        sub = res[res["arm"] == arm]
        colour = ARM_COLOURS[k % len(ARM_COLOURS)]
        for _, rep in sub.groupby("replicate"):
            ax.plot(rep["time_min"] / 1440, rep["n_tumor"], color=colour, lw=0.7, alpha=0.5)
        mean = sub.groupby("time_min")["n_tumor"].mean()
        ax.plot(mean.index / 1440, mean.values, color=colour, lw=2.2, label=arm)
    ax.set_xlabel("day")
    ax.set_ylabel("live tumour cells")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("tumour cells per arm (thin: replicates)", fontsize=9)
    fig.colorbar(image, ax=fig.axes[: n_rows * n_cols], shrink=0.5, label="CXCL10 (ng/mL)")
    handles = [Line2D([], [], marker="o", ls="", mfc=reds(0.4), mec="black",
                      label="tumour, PD-L1 low"),
               Line2D([], [], marker="o", ls="", mfc=reds(1.0), mec="black",
                      label="tumour, PD-L1 high"),
               Line2D([], [], marker="o", ls="", mfc=TYPE_COLOURS["cd8_t_cell"], mec="black",
                      label="CD8 T cell"),
               Line2D([], [], marker="o", ls="", mfc="none", mec=TYPE_COLOURS["cd8_t_cell"],
                      label="CD8, exhausted"),
               Line2D([], [], marker="o", ls="", mfc=TYPE_COLOURS["nk_cell"], mec="black",
                      label="NK cell")]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8, frameon=False)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", help="a study folder (immune-surveillance, checkpoint-blockade)")
    ap.add_argument("--times", nargs="*", type=float, help="snapshot times, min")
    ap.add_argument("--out", default="docs/img/immune-surveillance.png")
    args = ap.parse_args()
    draw(args.study, args.times, args.out)


if __name__ == "__main__":
    main()
