"""Figures of the `evolution` scenario and the `harsh-vs-mild` study (invasim issue 11, items 6, 9).

Usage::

    python benchmarks/figures/evolution.py runs HARSH_RUN MILD_RUN [--out docs/img/evolution.png]
    python benchmarks/figures/evolution.py muller RUN [--out docs/img/evolution-muller.png]
    python benchmarks/figures/evolution.py study STUDY_DIR [--out docs/img/harsh-vs-mild.png]

``runs``: for each run, its last snapshot: the cells coloured by clone (the ten largest clones
in Okabe–Ito/tab20 colours, the rest grey, dead cells black) over the ECM density (grey scale),
and the trait means over time. ``study``: per arm and replicate, the pathology readouts of
the last snapshot (front fractal dimension, clones, Simpson diversity, cells), recomputed from
the stored runs with :func:`invasim.analysis.readouts.table`, and the largest clone's share
of the live cells (with the trait means in the printed table), one dot per replicate.

Founder lineages: a clone founded at mutation belongs to the lineage of the initial cell its
ancestry goes back to (the lineage table's ``parent_clone_id`` followed to a root). The number
of founder lineages still alive, their Simpson diversity and the largest one's share do not
grow with the number of divisions the way the clone count does (every mutant founds a clone),
so they compare tumours of different size. ``study`` also prints a size-matched table: each
mild run at the snapshot whose live-cell count is closest to the final count of the harsh run
of the same replicate.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import invasim  # noqa: E402
from invasim.io.run import load_run  # noqa: E402

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#000000"]
TRAITS = ["proliferation", "mmp", "adhesion", "motility", "o2_consumption"]
STUDY_METRICS = [("front_fractal_dim", "front fractal dimension"), ("n_clones", "clones"),
                 ("clone_simpson", "clone Simpson diversity"), ("n_cells", "live cells"),
                 ("founder_simpson", "founder-lineage Simpson diversity"),
                 ("dominant_founder_share", "largest founder lineage's share"),
                 ("mean_mmp", "mean MT1-MMP trait"), ("mean_motility", "mean motility trait")]
READOUTS = ["front_fractal_dim", "n_clones", "clone_simpson", "n_cells", "invasion_pattern"]


def _clone_colours(cells: pd.DataFrame, top: int = 10) -> np.ndarray:
    live = cells[cells["dead"] == 0]
    big = live["clone_id"].value_counts().index[:top]
    palette = OKABE_ITO[:7] + [plt.get_cmap("tab20")(k) for k in range(0, 20, 2)]
    lut = {c: palette[k] for k, c in enumerate(big)}
    out = [lut.get(c, (0.75, 0.75, 0.75, 1.0)) for c in cells["clone_id"]]
    out = [matplotlib.colors.to_rgba(c) for c in out]
    out = np.array(out)
    out[cells["dead"].to_numpy() != 0] = (0.1, 0.1, 0.1, 1.0)
    return out


def draw_snapshot(ax, run_dir: str | Path, title: str, time_min: float | None = None) -> None:
    """Cells coloured by clone over the ECM density of a run's snapshot (the last by default)."""
    run = load_run(run_dir)
    t = run.times[-1] if time_min is None else time_min
    cells = run.cells(t)
    mesh = run.mesh
    ecm = run.field("ecm", t).reshape(mesh.shape)
    ext = [0, mesh.extent[0], 0, mesh.extent[1]]
    ax.imshow(ecm.T, origin="lower", extent=ext, cmap="Greys", vmin=0, vmax=1.2,
              interpolation="nearest")
    pos = cells[["x", "y"]].to_numpy() if "x" in cells else np.stack(cells["position"]).T
    r = cells["radius"].to_numpy()
    sizes = (r * 72.0 / (mesh.extent[0] / (ax.get_window_extent().width / ax.figure.dpi))) ** 2
    ax.scatter(pos[:, 0], pos[:, 1], s=sizes, c=_clone_colours(cells), linewidths=0)
    live = int((cells["dead"] == 0).sum())
    ax.set_title(f"{title}: {live} live cells, "
                 f"{cells.loc[cells['dead'] == 0, 'clone_id'].nunique()} clones, "
                 f"t = {t / 1440:.0f} d", fontsize=9)
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    ax.set_aspect("equal")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")


def trait_means(run_dir: str | Path) -> pd.DataFrame:
    """Mean of each trait over the live cells at each snapshot."""
    run = load_run(run_dir)
    rows = []
    for t in run.times:
        c = run.cells(t)
        c = c[c["dead"] == 0]
        rows.append({"time_min": t, **{k: c[k].mean() for k in TRAITS if k in c}})
    return pd.DataFrame(rows)


def figure_runs(harsh: str, mild: str, out: str) -> None:
    fig = plt.figure(figsize=(12, 8.4), dpi=110)
    gs = fig.add_gridspec(2, 2, height_ratios=[3, 1.3])
    for k, (d, name) in enumerate([(harsh, "harsh (20 mmHg, dense heterogeneous ECM)"),
                                   (mild, "mild (38 mmHg, loose homogeneous ECM)")]):
        ax = fig.add_subplot(gs[0, k])
        draw_snapshot(ax, d, name)
        tm = trait_means(d)
        ax2 = fig.add_subplot(gs[1, k])
        for j, tr in enumerate(TRAITS):
            if tr in tm:
                ax2.plot(tm["time_min"] / 1440, tm[tr], color=OKABE_ITO[j], label=tr)
        ax2.set_xlabel("time (days)")
        ax2.set_ylabel("trait mean (live cells)")
        ax2.axhline(1.0, color="0.6", lw=0.5)
        if k == 0:
            ax2.legend(fontsize=7, ncol=3)
    fig.suptitle("Clonal evolution (Anderson et al. 2006): cells coloured by clone (10 largest;"
                 " grey: other clones, black: dead) over the ECM density (grey scale)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out)
    print("wrote", out)


def founder_of(lineage: pd.DataFrame) -> dict[int, int]:
    """Clone id -> the root clone (an initial cell's) its ancestry goes back to."""
    parent = dict(zip(lineage["clone_id"].astype(int), lineage["parent_clone_id"].astype(int),
                      strict=True))
    root: dict[int, int] = {}
    for c in parent:
        path = [c]
        while parent.get(path[-1], -1) >= 0 and path[-1] not in root:
            path.append(parent[path[-1]])
        r = root.get(path[-1], path[-1])
        for p in path:
            root[p] = r
    return root


def clone_summary(run, time_min: float | None = None) -> dict[str, float]:
    """Clone and founder-lineage readouts and trait means of the live cells at one snapshot."""
    from invasim.biology.clones import load_clones

    t = run.times[-1] if time_min is None else time_min
    cells = run.cells(t)
    live = cells[cells["dead"] == 0]
    if live.empty:
        return {"dominant_clone_share": float("nan")}
    share = live["clone_id"].value_counts(normalize=True)
    out = {"time_d": t / 1440.0, "live": len(live), "dead": len(cells) - len(live),
           "clones_per_cell": len(share) / len(live),
           "dominant_clone_share": float(share.iloc[0])}
    try:
        root = founder_of(load_clones(run, t))
    except (FileNotFoundError, KeyError, ValueError):
        root = {}
    if root:
        founders = live["clone_id"].astype(int).map(lambda c: root.get(c, c))
        fs = founders.value_counts(normalize=True)
        out.update({"founder_lineages": len(fs), "founder_simpson": float(1 - (fs**2).sum()),
                    "dominant_founder_share": float(fs.iloc[0])})
    out.update({f"mean_{k}": float(live[k].mean()) for k in TRAITS if k in live})
    return out


def _snapshot_row(run, time_min: float) -> dict[str, float]:
    from invasim.analysis import readouts

    t = readouts.table(run, READOUTS)
    k = int(np.argmin(np.abs(t["time_min"].to_numpy(float) - time_min))) if "time_min" in t \
        else len(t) - 1
    return {**t.iloc[k].to_dict(), **clone_summary(run, time_min)}


def study_table(study_dir: str | Path, size_matched: bool = False) -> pd.DataFrame:
    """Readouts of every run of a study with its arm and replicate, at the last snapshot.

    ``size_matched``: every arm but ``harsh`` at the snapshot whose live-cell count is closest
    to the final count of the harsh run of the same replicate (the last snapshot if none).
    """
    study_dir = Path(study_dir)
    res = invasim.load_study(study_dir)
    runs = res[["run_id", "arm"]].drop_duplicates().astype(str)
    runs = runs.assign(rep=runs["run_id"].str.extract(r"(r\d+)$")[0])
    target = {}
    if size_matched:
        for run_id, rep in runs.loc[runs["arm"] == "harsh", ["run_id", "rep"]].itertuples(
                index=False):
            run = load_run(study_dir / "runs" / run_id)
            c = run.cells(run.times[-1])
            target[rep] = int((c["dead"] == 0).sum())
    rows = []
    for run_id, arm, rep in runs.itertuples(index=False):
        run = load_run(study_dir / "runs" / run_id)
        t = run.times[-1]
        if size_matched and arm != "harsh" and rep in target:
            live = [int((run.cells(s)["dead"] == 0).sum()) for s in run.times]
            t = run.times[int(np.argmin(np.abs(np.array(live) - target[rep])))]
        rows.append({"run_id": run_id, "arm": arm, "replicate": rep, **_snapshot_row(run, t)})
    return pd.DataFrame(rows)


def figure_study(study_dir: str, out: str) -> pd.DataFrame:
    tab = study_table(study_dir)
    arms = list(dict.fromkeys(tab["arm"]))
    ncol = (len(STUDY_METRICS) + 1) // 2
    fig, axes = plt.subplots(2, ncol, figsize=(3.5 * ncol, 6.4), dpi=110)
    for ax, (m, label) in zip(axes.ravel(), STUDY_METRICS, strict=True):
        if m not in tab:
            continue
        for k, arm in enumerate(arms):
            v = tab.loc[tab["arm"] == arm, m].to_numpy(float)
            ax.scatter(np.full(len(v), k) + np.linspace(-0.08, 0.08, len(v)), v,
                       color=OKABE_ITO[k], zorder=3)
            ax.errorbar(k + 0.25, v.mean(), yerr=v.std(ddof=1) if len(v) > 1 else 0,
                        fmt="D", color=OKABE_ITO[k], capsize=3)
        ax.set_xticks(range(len(arms)), arms)
        ax.set_xlim(-0.5, len(arms) - 0.3)
        ax.set_title(label, fontsize=9)
    fig.suptitle(f"harsh-vs-mild: last snapshot, each replicate a dot, mean ± sd "
                 f"({len(tab)} runs)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out)
    print("wrote", out)
    return tab


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["runs", "muller", "study"])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.what == "runs":
        figure_runs(a.dirs[0], a.dirs[1], a.out or "docs/img/evolution.png")
    elif a.what == "muller":
        from invasim.viz.muller import muller_plot

        muller_plot(load_run(a.dirs[0]), a.out or "docs/img/evolution-muller.png")
    else:
        tab = figure_study(a.dirs[0], a.out or "docs/img/harsh-vs-mild.png")
        pd.set_option("display.width", 250)
        cols = ["arm", "replicate", "time_d", "live", "dead", "n_clones", "clone_simpson",
                "clones_per_cell", "founder_lineages", "founder_simpson",
                "dominant_founder_share", "front_fractal_dim", "invasion_pattern",
                *[f"mean_{k}" for k in TRAITS]]
        print("last snapshot, per run:")
        print(tab[[c for c in cols if c in tab]].round(3).to_string(index=False))
        print(tab.groupby("arm").mean(numeric_only=True).round(3).to_string())
        sm = study_table(a.dirs[0], size_matched=True)
        print("size-matched (other arms at the harsh replicate's final live count):")
        print(sm[[c for c in cols if c in sm]].round(3).to_string(index=False))
        print(sm.groupby("arm").mean(numeric_only=True).round(3).to_string())


if __name__ == "__main__":
    main()
