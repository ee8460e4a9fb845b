"""Comparing runs: metric curves of several runs overlaid, replicates as mean and spread.

Contract:
    * :func:`compare_runs` takes run directories (finished, running or killed) and groups them
      into *arms*: runs whose resolved scenarios are equal except for the seed are replicates
      of one arm. An arm is labelled by the scenario values in which the arms differ (dotted
      keys, ``params.`` dropped, e.g. ``D_mm2_per_day=0.1``), or by the scenario name when
      nothing but the name differs, or ``arm N`` when more than :data:`MAX_LABEL_KEYS` keys
      differ. Arms keep the order in which their first run was given.
    * The table (:func:`comparison_table`): one row per arm, kept metric and output time with
      ``n`` (runs that reached that time), ``mean``, ``sd`` (sample standard deviation, NaN for
      one run), ``min``, ``max``; columns ``arm``, ``label``, ``metric``, ``time_min``, ``n``,
      ``mean``, ``sd``, ``min``, ``max``, ``runs`` (the run directories, ``;``-separated).
      A run's times are its ``metrics.csv`` rows; replicates share their output times, so
      only the exact times are pooled.
    * The figure (:func:`plot_comparison`): one panel per metric; per arm its mean as a line
      and, with two or more runs, a band of ± one standard deviation and the single runs as
      thin lines; colour-blind-safe Okabe–Ito colours in arm order; times in min, h, days or
      years by the span.
    * Metrics: those named, each of which every run must have (otherwise one line naming
      the metric and the metrics all runs share); by default every metric all runs share.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from invasim.errors import ConfigError, RunDirError
from invasim.io.atomic import write_atomic
from invasim.io.run import Run, load_run
from invasim.viz.common import time_unit

#: Okabe & Ito (2008) colour-blind-safe palette, black last
OKABE_ITO = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
)  # fmt: skip
#: the most differing keys an arm label lists before falling back to ``arm N``
MAX_LABEL_KEYS = 3
#: resolution of the written figure, dots per inch
DPI = 300
_SKIP_KEYS = ("seed", "sources", "description", "references")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _identity(run: Run) -> dict[str, Any]:
    """The run's resolved scenario without what does not make it another arm."""
    sc = dict(run.meta.get("scenario") or {})
    for k in _SKIP_KEYS:
        sc.pop(k, None)
    return _flatten(sc)


def _short(key: str) -> str:
    return key.removeprefix("params.")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def group_runs(runs: list[Run]) -> list[dict[str, Any]]:
    """Group runs into arms (see the module contract).

    Returns:
        One dict per arm, in order: ``label`` (str), ``runs`` (list of :class:`Run`).
    """
    arms: list[dict[str, Any]] = []
    keys: dict[str, int] = {}
    for run in runs:
        ident = _identity(run)
        k = json.dumps(ident, sort_keys=True, default=str)
        if k not in keys:
            keys[k] = len(arms)
            arms.append({"identity": ident, "runs": []})
        arms[keys[k]]["runs"].append(run)
    all_keys = sorted({k for a in arms for k in a["identity"]})
    differ = [
        k for k in all_keys
        if len({json.dumps(a["identity"].get(k), default=str) for a in arms}) > 1
    ]  # fmt: skip
    for i, arm in enumerate(arms):
        name = arm["runs"][0].meta.get("scenario_name", "run")
        shown = [k for k in differ if k != "name"]
        if len(arms) == 1 or not differ:
            arm["label"] = name
        elif not shown:
            arm["label"] = name
        elif len(shown) > MAX_LABEL_KEYS:
            arm["label"] = f"arm {i + 1}"
        else:
            arm["label"] = ", ".join(
                f"{_short(k)}={_fmt(arm['identity'].get(k, '-'))}" for k in shown
            )
        del arm["identity"]
    return arms


def _metric_names(runs: list[Run], wanted: list[str] | None) -> list[str]:
    per_run = [list(r.metrics.columns.drop("time_min", errors="ignore")) for r in runs]
    shared = [m for m in per_run[0] if all(m in cols for cols in per_run[1:])]
    if not wanted:
        if not shared:
            raise ConfigError("the runs share no metric to compare")
        return shared
    for m in wanted:
        if m not in shared:
            raise ConfigError(
                f"--metric {m!r} is not a metric of every run; all runs have: "
                f"{', '.join(shared) or 'none'}"
            )
    return list(dict.fromkeys(wanted))


def comparison_table(
    arms: list[dict[str, Any]], metrics: list[str]
) -> pd.DataFrame:
    """The tidy table of the module contract, from :func:`group_runs`' arms."""
    rows = []
    for i, arm in enumerate(arms):
        frames = [r.metrics for r in arm["runs"]]
        runs = ";".join(str(r.path) for r in arm["runs"])
        for m in metrics:
            long = pd.concat(
                [f[["time_min", m]].assign(run=j) for j, f in enumerate(frames)],
                ignore_index=True,
            )
            for t, g in long.groupby("time_min", sort=True):
                v = g[m].to_numpy(dtype=float)
                rows.append({
                    "arm": i + 1, "label": arm["label"], "metric": m, "time_min": float(t),
                    "n": int(v.size), "mean": float(np.mean(v)),
                    "sd": float(np.std(v, ddof=1)) if v.size > 1 else float("nan"),
                    "min": float(np.min(v)), "max": float(np.max(v)), "runs": runs,
                })  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["arm", "label", "metric", "time_min", "n", "mean", "sd", "min", "max", "runs"],
    )


def _title(metric: str) -> str:
    if metric.endswith("_um"):
        return metric.removesuffix("_um").replace("_", " ") + " [µm]"
    return metric.replace("_", " ")


def plot_comparison(
    arms: list[dict[str, Any]], table: pd.DataFrame, metrics: list[str]
) -> Figure:
    """The figure of the module contract (Agg canvas; pyplot untouched)."""
    n = len(metrics)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    span = float(table["time_min"].max() - table["time_min"].min()) if len(table) else 0.0
    unit, per = time_unit(span)
    for ax, m in zip(axes, metrics, strict=False):
        for i, arm in enumerate(arms):
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            t = table[(table["arm"] == i + 1) & (table["metric"] == m)]
            x = t["time_min"].to_numpy() / per
            nrun = len(arm["runs"])
            if nrun > 1:
                for r in arm["runs"]:
                    f = r.metrics
                    ax.plot(f["time_min"] / per, f[m], color=colour, lw=0.5, alpha=0.35)
                sd = t["sd"].fillna(0.0).to_numpy()
                ax.fill_between(x, t["mean"] - sd, t["mean"] + sd, color=colour, alpha=0.2,
                                lw=0)  # fmt: skip
            label = f"{arm['label']} (n = {nrun})" if nrun > 1 else arm["label"]
            ax.plot(x, t["mean"], color=colour, lw=1.6, label=label)
        ax.set_title(_title(m))
        ax.set_xlabel(f"time [{unit}]")
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=min(len(arms), 3),
               fontsize=8, frameon=False)  # fmt: skip
    return fig


def compare_runs(
    run_dirs: list[str | Path],
    metrics: list[str] | None = None,
    out: str | Path | None = None,
) -> tuple[pd.DataFrame, Path, Path]:
    """Compare runs: write ``comparison.csv`` and ``comparison.png`` into ``out``.

    Args:
        run_dirs: run directories (two or more make a comparison; one is allowed).
        metrics: metrics to compare (default: every metric all runs share).
        out: output folder (default ``./comparison``); created if missing.

    Returns:
        ``(table, csv_path, png_path)``.

    Raises:
        RunDirError: a path that is not a readable run directory.
        ConfigError: a metric not shared by every run, or no run given.
    """
    if not run_dirs:
        raise ConfigError("compare needs at least one run directory")
    runs = []
    seen = set()
    for d in run_dirs:
        p = Path(d)
        if not p.is_dir():
            raise RunDirError(f"run directory {str(p)!r} does not exist")
        key = p.resolve()
        if key in seen:
            raise ConfigError(f"run directory {str(p)!r} is given twice")
        seen.add(key)
        runs.append(load_run(p))
    names = _metric_names(runs, metrics)
    arms = group_runs(runs)
    table = comparison_table(arms, names)
    fig = plot_comparison(arms, table, names)
    out = Path(out) if out is not None else Path("comparison")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from invasim.io.atomic import os_error_line

        raise RunDirError(os_error_line(exc, out)) from None
    csv_path, png_path = out / "comparison.csv", out / "comparison.png"
    write_atomic(csv_path, lambda f: f.write(table.to_csv(index=False).encode("utf-8")))
    write_atomic(png_path, lambda f: fig.savefig(f, format="png", dpi=DPI))
    return table, csv_path, png_path
