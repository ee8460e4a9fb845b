"""Figure of the individual-invasion scenario (docs/img/individual-invasion.png).

Usage::

    invasim run individual-invasion --out RUN_DIR
    python benchmarks/figures/individual_invasion.py RUN_DIR [OUT.png] [--times T1,T2,T3]

Draws, at three snapshot times, the stromal collagen density (grey), the laminin-5 gamma2
fragment (green contours), the basement membrane if the run has one (blue) and the tumour
cells coloured by migration mode (epithelial orange, mesenchymal crimson, amoeboid violet).
The last panel plots the pathology readouts over time, recomputed from the stored snapshots
(:func:`invasim.analysis.readouts.table`): tumour buds in the hotspot field, detached clusters
and the shares of mesenchymal and amoeboid cells. Prints the last snapshot's readouts as JSON.
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
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle, Patch  # noqa: E402

from invasim import load_run  # noqa: E402
from invasim.analysis import readouts as rd  # noqa: E402

MODE_COLOURS = {0: "#f28e2b", 1: "#c1121f", 2: "#7b2cbf"}  # epithelial, mesenchymal, amoeboid
HOST_COLOUR = "#d9c7a7"
FRAGMENT_COLOUR = "#2a9d46"
READOUTS = ["n_buds", "bud_grade", "invasion_pattern", "n_clusters", "cluster_size_mean",
            "cluster_size_max", "front_fractal_dim", "frac_epithelial", "frac_mesenchymal",
            "frac_amoeboid", "n_tumor", "invasion_depth_um", "bm_breached_um"]  # fmt: skip


def panel(ax, run, t: float) -> None:
    """One snapshot: collagen, fragment, BM (if any) and the cells by mode."""
    mesh = run.mesh
    h = mesh.h
    width, height = mesh.n[0] * h, mesh.n[1] * h
    box = (0.0, width, 0.0, height)
    names = run.field_names
    if "ecm" in names:
        ax.imshow(run.field("ecm", t), origin="lower", extent=box, cmap="Greys", vmin=0.0,
                  vmax=0.4, interpolation="nearest")  # fmt: skip
    if "basement_membrane" in names:
        bm = run.field("basement_membrane", t)
        ax.imshow(np.ma.masked_where(bm < 0.02, np.ones_like(bm)), origin="lower", extent=box,
                  cmap=ListedColormap(["#1f6fb4"]), alpha=np.clip(bm, 0.0, 1.0),
                  interpolation="nearest")  # fmt: skip
    if "ln5_fragment" in names:
        p = run.field("ln5_fragment", t)
        if p.max() > 0.001:
            xs = (np.arange(mesh.n[0]) + 0.5) * h
            ys = (np.arange(mesh.n[1]) + 0.5) * h
            ax.contour(xs, ys, p, levels=[0.001, 0.002, 0.004], colors=FRAGMENT_COLOUR,
                       linewidths=[0.6, 1.0, 1.6])  # fmt: skip
    c = run.cells(t)
    c = c[c["dead"] == 0]
    types = list(run.config.params["cell_types"])
    colours = [HOST_COLOUR if types[int(k)].startswith(("epithel", "normal"))
               else MODE_COLOURS.get(int(m), "k")
               for k, m in zip(c["type"].to_numpy(), c["mode"].to_numpy(), strict=True)]
    circles = [Circle((x, y), r) for x, y, r in zip(c["x"], c["y"], c["radius"], strict=True)]
    ax.add_collection(PatchCollection(circles, facecolors=colours, edgecolors="k",
                                      linewidths=0.3))  # fmt: skip
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.set_title(f"{t / 60:.0f} h", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def figure(run_dir: Path, out: Path, times: list[float] | None = None) -> dict[str, float]:
    """Write the figure; return the last snapshot's readouts."""
    run = load_run(run_dir)
    ts = [float(t) for t in run.times]
    if times is None:
        times = [ts[0], ts[len(ts) // 2], ts[-1]]
    have = rd.table(run, None, [ts[-1]]).columns
    table = rd.table(run, [n for n in READOUTS if n in have])
    fig, axes = plt.subplots(1, len(times) + 1, figsize=(4.3 * (len(times) + 1), 3.9),
                             gridspec_kw={"width_ratios": [1] * len(times) + [0.9]})  # fmt: skip
    for ax, t in zip(axes, times, strict=False):
        panel(ax, run, t)
    m = axes[-1]
    hours = table["time_min"] / 60.0
    m.plot(hours, table["n_buds"], "o-", color="#c1121f", label="buds (hotspot)")
    m.plot(hours, table["n_clusters"], "s--", color="#444444", label="detached clusters")
    m.set_xlabel("time [h]")
    m.set_ylabel("count")
    m2 = m.twinx()
    m2.plot(hours, table["frac_mesenchymal"], "-", color=MODE_COLOURS[1], alpha=0.6,
            label="mesenchymal share")  # fmt: skip
    m2.plot(hours, table["frac_amoeboid"], "-", color=MODE_COLOURS[2], alpha=0.6,
            label="amoeboid share")  # fmt: skip
    m2.set_ylabel("share of tumour cells")
    m2.set_ylim(0, max(0.3, 1.1 * float(table[["frac_mesenchymal", "frac_amoeboid"]].max().max())))
    lines = m.get_legend_handles_labels()
    lines2 = m2.get_legend_handles_labels()
    m.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=7,
             frameon=False)  # fmt: skip
    handles = [Patch(color=MODE_COLOURS[0], label="tumour, epithelial mode"),
               Patch(color=MODE_COLOURS[1], label="tumour, mesenchymal"),
               Patch(color=MODE_COLOURS[2], label="tumour, amoeboid"),
               Patch(color="#777777", label="stromal collagen (density)"),
               Line2D([], [], color=FRAGMENT_COLOUR, label="laminin-5 γ2 fragment "
                      "0.001/0.002/0.004")]  # fmt: skip
    if "basement_membrane" in run.field_names:
        handles.append(Patch(color="#1f6fb4", label="basement membrane"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
               frameon=False)  # fmt: skip
    fig.suptitle(f"{run.config.name}: EMT at the front, single cells and buds escape",
                 fontsize=11)  # fmt: skip
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    fig.savefig(out, dpi=130)
    plt.close(fig)
    last = table.iloc[-1].to_dict()
    return {k: float(v) for k, v in last.items()}


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("out", type=Path, nargs="?")
    ap.add_argument("--times", help="comma-separated snapshot times [min]")
    a = ap.parse_args()
    out = a.out or a.run_dir / "individual_invasion.png"
    times = [float(x) for x in a.times.split(",")] if a.times else None
    print(json.dumps(figure(a.run_dir, out, times), indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
