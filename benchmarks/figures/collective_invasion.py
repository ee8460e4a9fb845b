"""Figure of the collective-invasion scenarios (2-D and the 3-D variant's mid-section).

Usage::

    python benchmarks/figures/collective_invasion.py RUN_DIR [OUT.png] [--times T1,T2,T3]

Draws, at three snapshot times, the stromal collagen density (grey), the basement membrane
(blue, faded where degraded), the aligned fibres (short white strokes where the anisotropy is
high) and the cells: normal epithelium (tan), tumour cells coloured by migration mode
(epithelial-mode followers orange, mesenchymal leaders crimson, amoeboid violet). The last
panel plots the pathology readouts over time: invasion depth and breached BM length. In 3-D
the panels show the section y = mid-plane (cells within one radius of it; fields at that
plane), and one more panel projects every tumour cell below the BM's initial top face at the
last time onto the x-z plane (all y; the BM's initial top as a blue line), so strands off the
mid-plane show too. Prints the readouts of the last snapshot as JSON.
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

from invasim import load_run  # noqa: E402
from invasim.analysis import readouts as rd  # noqa: E402

MODE_COLOURS = {0: "#f28e2b", 1: "#c1121f", 2: "#7b2cbf"}  # epithelial, mesenchymal, amoeboid
HOST_COLOUR = "#d9c7a7"
READOUTS = ["invasion_depth_um", "bm_breached_um", "invasion_pattern", "n_clusters",
            "cluster_size_max", "frac_epithelial", "frac_mesenchymal", "frac_amoeboid",
            "n_tumor", "n_epithelium"]  # fmt: skip


def _plane(a: np.ndarray, dim: int, iy: int) -> np.ndarray:
    """The (normal-axis, x) plane of a field array: 2-D as is, 3-D at y index ``iy``."""
    return a if dim == 2 else a[:, iy, :]


def panel(ax, run, t: float) -> None:
    """One snapshot: matrix, BM, fibres and cells."""
    mesh = run.mesh
    dim, h = mesh.dim, mesh.h
    ext = mesh.extent if hasattr(mesh, "extent") else tuple(n * h for n in mesh.n)
    iy = mesh.n[1] // 2 if dim == 3 else 0
    width, height = ext[0], ext[-1]
    ecm = _plane(run.field("ecm", t), dim, iy)
    bm = _plane(run.field("basement_membrane", t), dim, iy)
    box = (0.0, width, 0.0, height)
    ax.imshow(ecm, origin="lower", extent=box, cmap="Greys", vmin=0.0, vmax=0.9,
              interpolation="nearest")  # fmt: skip
    blue = ListedColormap(["#1f6fb4"])
    ax.imshow(np.ma.masked_where(bm < 0.02, np.ones_like(bm)), origin="lower", extent=box,
              cmap=blue, alpha=np.clip(bm, 0.0, 1.0), interpolation="nearest")  # fmt: skip
    if "anisotropy" in run.field_names:
        a = _plane(run.field("anisotropy", t), dim, iy)
        fx = _plane(run.field("fibre_x", t), dim, iy)
        fz = _plane(run.field(f"fibre_{'y' if dim == 2 else 'z'}", t), dim, iy)
        j, i = np.nonzero(a > 0.3)
        xs, ys = (i + 0.5) * h, (j + 0.5) * h
        u, v = fx[j, i] * 0.45 * h, fz[j, i] * 0.45 * h
        ax.plot(np.stack([xs - u, xs + u]), np.stack([ys - v, ys + v]), color="#2a9d8f",
                lw=0.8, alpha=0.9)  # fmt: skip
    c = run.cells(t)
    c = c[c["dead"] == 0]
    if dim == 3:
        yc = (iy + 0.5) * h
        c = c[np.abs(c["y"] - yc) < c["radius"]]
    vert = c["y"] if dim == 2 else c["z"]
    names = list(run.config.params["cell_types"])
    colours = []
    for typ, mode in zip(c["type"].to_numpy(), c["mode"].to_numpy(), strict=True):
        host = names[int(typ)].startswith("epithel")
        colours.append(HOST_COLOUR if host else MODE_COLOURS.get(int(mode), "k"))
    circles = [Circle((x, y), r) for x, y, r in zip(c["x"], vert, c["radius"], strict=True)]
    ax.add_collection(PatchCollection(circles, facecolors=colours, edgecolors="k",
                                      linewidths=0.3))  # fmt: skip
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.set_title(f"{t / 1440:.1f} d", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def projection(ax, run, t: float) -> None:
    """3-D: every live tumour cell below the BM's initial top face, projected on x-z."""
    mesh = run.mesh
    h = mesh.h
    width, height = mesh.n[0] * h, mesh.n[-1] * h
    init = run.config.params["fields"]["basement_membrane"]["initial"]
    if isinstance(init, dict) and "hi_um" in init:  # the BM layer as configured
        top = float(init["hi_um"])
    else:  # else the rows that hold membrane at the first snapshot
        bm0 = run.field("basement_membrane", float(run.times[0]))
        rows = np.nonzero(bm0.reshape(bm0.shape[0], -1).max(axis=1) > 0.5)[0]
        top = (rows.max() + 1) * h if rows.size else height
    c = run.cells(t)
    names = list(run.config.params["cell_types"])
    tum = [i for i, n in enumerate(names) if not n.startswith("epithel")]
    c = c[(c["dead"] == 0) & c["type"].isin(tum) & (c["z"] < top)].sort_values("y")
    colours = [MODE_COLOURS.get(int(m), "k") for m in c["mode"].to_numpy()]
    circles = [Circle((x, z), r) for x, z, r in zip(c["x"], c["z"], c["radius"], strict=True)]
    ax.add_collection(PatchCollection(circles, facecolors=colours, edgecolors="k",
                                      linewidths=0.3, alpha=0.85))  # fmt: skip
    ax.axhline(top, color="#1f6fb4", lw=2)
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.set_title(f"{t / 1440:.1f} d: tumour cells below the BM (all y)", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def figure(run_dir: Path, out: Path, times: list[float] | None = None) -> dict[str, float]:
    """Write the figure; return the last snapshot's readouts."""
    run = load_run(run_dir)
    ts = [float(t) for t in run.times]
    if times is None:
        times = [ts[0], ts[len(ts) // 2], ts[-1]]
    table = rd.table(run, [n for n in READOUTS if n in rd.table(run, None, [ts[-1]])])
    extra = 1 if run.mesh.dim == 3 else 0
    n = len(times) + extra
    fig, axes = plt.subplots(1, n + 1, figsize=(4.2 * (n + 1), 3.8),
                             gridspec_kw={"width_ratios": [1] * n + [0.9]})  # fmt: skip
    for ax, t in zip(axes, times, strict=False):
        panel(ax, run, t)
    if extra:
        projection(axes[len(times)], run, times[-1])
    m = axes[-1]
    days = table["time_min"] / 1440.0
    m.plot(days, table["invasion_depth_um"], "o-", color="#c1121f", label="invasion depth")
    m.plot(days, table["bm_breached_um"], "s-", color="#1f6fb4", label="BM breached")
    m.set_xlabel("time [d]")
    m.set_ylabel("µm")
    m.legend(loc="upper left", fontsize=8, frameon=False)
    handles = [Patch(color=HOST_COLOUR, label="normal epithelium"),
               Patch(color=MODE_COLOURS[0], label="tumour, epithelial (follower)"),
               Patch(color=MODE_COLOURS[1], label="tumour, mesenchymal (leader)"),
               Patch(color=MODE_COLOURS[2], label="tumour, amoeboid"),
               Patch(color="#1f6fb4", label="basement membrane"),
               Patch(color="#777777", label="stromal collagen")]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.suptitle(f"{run.config.name}: mesenchymal leaders (crimson) cut tracks from the breached "
                 "BM; epithelial-mode followers (orange)", fontsize=11)
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
    out = a.out or a.run_dir / "collective_invasion.png"
    times = [float(x) for x in a.times.split(",")] if a.times else None
    print(json.dumps(figure(a.run_dir, out, times), indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
