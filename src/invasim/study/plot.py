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
    * A study with arms (:func:`plot_arms`): one row of panels per kept metric, colour-blind-safe
      Okabe–Ito colours in arm order. Without varied parameters, the first panel shows the
      metric at the last kept time per arm: each replicate a point, beside it the mean with its
      95 % confidence interval (Student's t, as ``summary.csv``); when more than one time is
      kept (``times = "all"`` or a list), a second panel draws the metric over time per arm:
      the mean as a line and its 95 % interval as a band. With varied parameters, one panel per
      varied parameter: per arm, the mean ± 95 % CI at each of its values, pooled over the
      other varied parameters (a main-effects plot).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from invasim.io.atomic import write_atomic
from invasim.study.results import (
    SUMMARY_PNG,
    TAIL_COLUMNS,
    last_kept,
    mean_ci,
    metric_columns,
)
from invasim.study.spec import StudySpec
from invasim.viz.common import RC, time_unit
from invasim.viz.compare import OKABE_ITO

#: the most lines (combinations of the other parameters) drawn in one panel before scattering
MAX_LINES = 6
#: the most metrics drawn (rows of panels)
MAX_METRICS = 6
DPI = 120


def _metrics(table: pd.DataFrame, spec: StudySpec) -> list[str]:
    ident = {"run_id", "arm", "point", "replicate", "seed", "time_min", *spec.varied,
             *TAIL_COLUMNS}
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
    if spec.arms:
        return plot_arms(table, spec)
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


# -- arms --------------------------------------------------------------------------------------
def arm_colour(i: int) -> str:
    """The colour of arm ``i`` (Okabe–Ito, in arm order)."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def plot_arms(table: pd.DataFrame, spec: StudySpec) -> Figure:
    """The figure of a study with arms (see the module docstring)."""
    with mpl.rc_context(RC):
        return _plot_arms(table, spec)


def _plot_arms(table: pd.DataFrame, spec: StudySpec) -> Figure:
    arms, keys = spec.arm_names, spec.varied
    metrics = metric_columns(table, keys)[:MAX_METRICS]
    ok = table[table["status"] == "completed"]
    n_runs = table["run_id"].nunique()
    n_failed = table.loc[table["status"] != "completed", "run_id"].nunique()
    over_time = not keys and ok["time_min"].nunique() > 1
    ncols = len(keys) if keys else 1 + over_time
    nrows = max(1, len(metrics))
    width = max(3.0 * max(1, len(arms)) ** 0.5 + 1.2, 3.8) if not keys else 3.6
    fig = Figure(figsize=(max(width * ncols + 0.6, 6.4), 2.9 * nrows + 0.9), dpi=DPI,
                 layout="constrained")  # fmt: skip
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    what = f"{n_runs} runs" + (f", {n_failed} failed" if n_failed else "")
    if ok.empty or not metrics:
        fig.suptitle(f"study {spec.name}: {what}; nothing to draw")
        return fig
    last = last_kept(table)
    t_last = float(last["time_min"].max())
    span = float(ok["time_min"].max() - ok["time_min"].min()) or t_last
    unit, per = time_unit(span if span > 0 else 1.0)
    for i, m in enumerate(metrics):
        if keys:
            for j, key in enumerate(keys):
                _arm_effect(axes[i, j], last, arms, key, m, _is_log(spec, key), i == 0 and j == 0)
                axes[i, j].set_xlabel(key)
            axes[i, 0].set_ylabel(m)
            continue
        _arm_points(axes[i, 0], last, arms, m)
        axes[i, 0].set_ylabel(m)
        if i == 0:
            axes[i, 0].set_title(f"at t = {t_last / per:.4g} {unit}")
        if over_time:
            _arm_over_time(axes[i, 1], ok, arms, m, unit, per, legend=i == 0)
    reps = f"{spec.replicates} replicate{'s' if spec.replicates > 1 else ''}"
    if keys:
        n_points = table["point"].nunique()
        pooled = "; other parameters pooled" if len(keys) > 1 else ""
        size, how = f"{n_points} points × {reps}", f"at t = {t_last:g} min, mean ± 95 % CI{pooled}"
    else:
        size, how = reps, "dots: replicates; diamond: mean ± 95 % CI"
    sep = "\n" if keys else "; "
    fig.suptitle(f"study {spec.name}: {what}; {len(arms)} arms × {size}{sep}{how}")
    return fig


def _arm_points(ax, last: pd.DataFrame, arms: list[str], metric: str) -> None:
    """Each replicate a point, and beside it the arm's mean with its 95 % CI."""
    for a, arm in enumerate(arms):
        v = last.loc[last["arm"] == arm, metric].to_numpy(dtype=float)
        colour = arm_colour(a)
        if v.size:  # a fixed spread, not random jitter: the same figure every time
            dx = np.linspace(-0.1, 0.1, v.size) if v.size > 1 else np.zeros(1)
            ax.plot(a - 0.12 + dx, v, "o", ms=4, color=colour, alpha=0.6, mec="none")
        n, mean, _, lo, hi = mean_ci(v)
        if n:
            err = [[mean - lo], [hi - mean]] if np.isfinite(lo) else None
            ax.errorbar([a + 0.18], [mean], yerr=err, fmt="D", ms=5, color=colour, mec="black",
                        mew=0.6, ecolor="black", elinewidth=1.0, capsize=3)  # fmt: skip
    ax.set_xticks(range(len(arms)), arms, rotation=20 if sum(map(len, arms)) > 30 else 0)
    ax.set_xlim(-0.6, len(arms) - 0.4)
    ax.xaxis.set_minor_locator(NullLocator())


def _arm_over_time(ax, ok: pd.DataFrame, arms: list[str], metric: str, unit: str, per: float,
                   legend: bool) -> None:  # fmt: skip
    """Per arm: the mean over time as a line, its 95 % CI as a band."""
    for a, arm in enumerate(arms):
        mine = ok[ok["arm"] == arm]
        if mine.empty:
            continue
        stats = [(t, *mean_ci(g[metric].to_numpy(dtype=float)))
                 for t, g in mine.groupby("time_min", sort=True)]  # fmt: skip
        t = np.array([s[0] for s in stats]) / per
        mean, lo, hi = (np.array([s[k] for s in stats]) for k in (2, 4, 5))
        colour = arm_colour(a)
        band = np.isfinite(lo)
        if band.any():
            ax.fill_between(t, np.where(band, lo, mean), np.where(band, hi, mean), color=colour,
                            alpha=0.25, lw=0)  # fmt: skip
        ax.plot(t, mean, color=colour, lw=1.6, label=arm)
    ax.set_xlabel(f"time [{unit}]")
    ax.set_ylabel(metric)
    if legend:
        ax.legend(frameon=False)


def _arm_effect(ax, last: pd.DataFrame, arms: list[str], key: str, metric: str, log: bool,
                legend: bool) -> None:  # fmt: skip
    """Per arm: mean ± 95 % CI of the metric at each value of ``key`` (others pooled)."""
    for a, arm in enumerate(arms):
        mine = last[last["arm"] == arm]
        if mine.empty:
            continue
        stats = [(x, *mean_ci(g[metric].to_numpy(dtype=float)))
                 for x, g in mine.groupby(key, sort=True)]  # fmt: skip
        x = np.array([s[0] for s in stats])
        mean, lo, hi = (np.array([s[k] for s in stats], dtype=float) for k in (2, 4, 5))
        err = np.vstack([np.where(np.isfinite(lo), mean - lo, 0.0),
                         np.where(np.isfinite(hi), hi - mean, 0.0)])  # fmt: skip
        ax.errorbar(x, mean, yerr=err, marker="o", ms=4, capsize=2, lw=1.2, color=arm_colour(a),
                    label=arm)  # fmt: skip
    if log:
        ax.set_xscale("log")
    values = np.unique(last[key].to_numpy())
    if len(values) <= 8:  # label each value of a grid
        ax.set_xticks(values, [_fmt(v) for v in values])
        ax.xaxis.set_minor_locator(NullLocator())
    if legend:
        ax.legend(frameon=False)
