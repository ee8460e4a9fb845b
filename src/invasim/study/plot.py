"""The summary figure of a study: each kept metric against each varied parameter.

Contract:
    * :func:`plot_study` returns a :class:`matplotlib.figure.Figure` (Agg canvas, pyplot never
      touched); :func:`write_study_summary` writes it as ``study_summary.png`` whole or not at all.
    * One row of panels per kept metric, one column per varied parameter. Each point of the
      design is drawn at its parameter value as the mean over its completed replicates, with a
      bar of ± one standard deviation (none for a single replicate), at the last kept time.
      In a grid, points that share the other parameters' values are joined by a line (one
      colour per combination, up to :data:`MAX_LINES`); otherwise the points are scattered.
    * A study that varies nothing (replicates only) draws each metric against time: one thin
      line per replicate, the mean and a ± sd band.
    * A parameter on a log scale (grid ``scale = "log"``, ``dist = "loguniform"``) gets a log axis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from invasim.io.atomic import write_atomic
from invasim.study.results import SUMMARY_PNG, TAIL_COLUMNS
from invasim.study.spec import StudySpec

#: the most lines (combinations of the other parameters) drawn in one panel before scattering
MAX_LINES = 6
#: the most metrics drawn (rows of panels)
MAX_METRICS = 6
DPI = 120


def _metrics(table: pd.DataFrame, spec: StudySpec) -> list[str]:
    ident = {"run_id", "point", "replicate", "seed", "time_min", *spec.varied, *TAIL_COLUMNS}
    return [c for c in table.columns if c not in ident][:MAX_METRICS]


def _is_log(spec: StudySpec, key: str) -> bool:
    v = spec.vary[key]
    return v.scale == "log" if v.range is not None else v.dist == "loguniform"


def _at_last_time(ok: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    t_last = float(ok["time_min"].max())
    last = ok.loc[ok.groupby("run_id")["time_min"].idxmax()]
    return last, t_last


def plot_study(table: pd.DataFrame, spec: StudySpec) -> Figure:
    """The study at a glance (see the module docstring)."""
    ok = table[table["status"] == "completed"]
    metrics = _metrics(table, spec)
    keys = spec.varied
    n_runs = table["run_id"].nunique()
    n_failed = table.loc[table["status"] != "completed", "run_id"].nunique()
    # a replicates-only study: one panel per metric, side by side
    ncols = max(1, len(keys)) if keys else max(1, len(metrics))
    nrows = max(1, len(metrics)) if keys else 1
    width = max(3.6 * ncols + 0.6, 6.4)
    fig = Figure(figsize=(width, 2.8 * nrows + 0.8), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    what = f"{n_runs} runs" + (f", {n_failed} failed" if n_failed else "")
    if ok.empty or not metrics:
        fig.suptitle(f"study {spec.name}: {what}; nothing to draw")
        return fig
    if not keys:
        _plot_replicates(axes[0, :], ok, metrics)
        fig.suptitle(
            f"study {spec.name}: {what}; {spec.replicates} replicates (thin), mean ± sd"
        )
        return fig
    last, t_last = _at_last_time(ok)
    stats = last.groupby("point").agg(
        **{f"{m}__mean": (m, "mean") for m in metrics},
        **{f"{m}__sd": (m, "std") for m in metrics},
        **{k: (k, "first") for k in keys},
    )
    for j, key in enumerate(keys):
        others = [k for k in keys if k != key]
        groups = stats.groupby(others, sort=True) if others else [((), stats)]
        as_lines = spec.design.kind == "grid" and len(groups) <= MAX_LINES
        for i, m in enumerate(metrics):
            ax = axes[i, j]
            for g_key, g in groups:
                g = g.sort_values(key)
                label = ", ".join(
                    f"{o.split('.')[-1]}={_fmt(v)}"
                    for o, v in zip(others, g_key if isinstance(g_key, tuple) else (g_key,),
                                    strict=False)
                )
                x = g[key].to_numpy()
                kw = {"marker": "o", "ms": 4, "capsize": 2, "lw": 1.2 if as_lines else 0}
                ax.errorbar(x, g[f"{m}__mean"], yerr=g[f"{m}__sd"].fillna(0.0),
                            label=label or None, alpha=1.0 if as_lines else 0.7, **kw)
            if _is_log(spec, key):
                ax.set_xscale("log")
            values = np.unique(stats[key].to_numpy())
            if spec.design.kind == "grid" and len(values) <= 8:  # label each grid value
                ax.set_xticks(values, [_fmt(v) for v in values])
                ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel(key)
            if j == 0:
                ax.set_ylabel(m)
            if as_lines and others and i == 0:
                ax.legend(fontsize=7, frameon=False)
    reps = f"mean ± sd of {spec.replicates} replicates" if spec.replicates > 1 else "one run each"
    fig.suptitle(f"study {spec.name}: {what}; at t = {t_last:g} min, {reps}")
    return fig


def _fmt(v: object) -> str:
    return f"{v:.3g}" if isinstance(v, float | np.floating) else str(v)


def _plot_replicates(axes: np.ndarray, ok: pd.DataFrame, metrics: list[str]) -> None:
    multi_time = ok["time_min"].nunique() > 1
    for ax, m in zip(axes, metrics, strict=False):
        if multi_time:
            for _, run in ok.groupby("run_id"):
                ax.plot(run["time_min"], run[m], color="0.6", lw=0.7)
            s = ok.groupby("time_min")[m].agg(["mean", "std"]).fillna({"std": 0.0})
            t = s.index.to_numpy()
            ax.fill_between(t, s["mean"] - s["std"], s["mean"] + s["std"], alpha=0.3, lw=0)
            ax.plot(t, s["mean"], lw=1.6, label="mean")
            ax.set_xlabel("time [min]")
        else:
            ax.plot(ok["replicate"], ok[m], "o", ms=4)
            mean, sd = ok[m].mean(), ok[m].std()
            ax.axhline(mean, lw=1.2)
            if np.isfinite(sd):
                ax.axhspan(mean - sd, mean + sd, alpha=0.2, lw=0)
            ax.set_xlabel("replicate")
        ax.set_ylabel(m)


def write_study_summary(
    folder: str | Path, table: pd.DataFrame, spec: StudySpec, out: str | Path | None = None
) -> Path:
    """Write the study's summary figure (default ``FOLDER/study_summary.png``); returns its path."""
    path = Path(out) if out is not None else Path(folder) / SUMMARY_PNG
    fig = plot_study(table, spec)
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=DPI))
    return path
