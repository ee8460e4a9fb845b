"""Global sensitivity analysis of a finished study: Sobol indices or Morris screening, by SALib.

Contract:
    * Input is the study table (:func:`invasim.study.load_study`): one row per run and kept time,
      with the design (``df.attrs["design"]``), the spec (``df.attrs["spec"]``) and, for Sobol
      and Morris designs, the SALib problem (``df.attrs["problem"]``) attached.
    * One value per design point: the metric at the chosen kept time (default: each run's last
      kept time), averaged over the point's replicates that completed, in design order (the
      order SALib sampled the points in, which is what its estimators need).
    * :func:`sobol_indices` (``SALib.analyze.sobol``, Saltelli/Jansen estimators) needs a study
      with a ``sobol`` design whose size is exactly ``N(D+2)`` (first and total order) or
      ``N(2D+2)`` (also second order); :func:`morris_indices` (``SALib.analyze.morris``) needs a
      ``morris`` design, its sample matrix in order and its number of levels. Anything else — a
      grid study, a point with no completed run, a metric the study did not keep, a time it did
      not keep — is a :class:`~invasim.errors.ConfigError` with one line.
    * Confidence intervals are SALib's bootstrap intervals (``conf_level``, default 95 %;
      columns ``*_conf`` hold the half-width), with a fixed bootstrap seed so that the same study
      gives the same table.
    * ``invasim study sensitivity DIR --metric NAME [--method sobol|morris] [--time T]`` writes
      ``DIR/sensitivity_<metric>.csv`` and the bar figure ``DIR/sensitivity_<metric>.png``
      (S1 and ST with their intervals, or mu* with its interval beside sigma) and prints the
      table.
"""

from __future__ import annotations

import argparse
import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from invasim.errors import ConfigError
from invasim.extras import require
from invasim.io.atomic import write_atomic, write_text_atomic

#: bootstrap resamples behind every confidence interval
NUM_RESAMPLES = 1000
#: seed of the bootstrap (the table of a study is then reproducible)
BOOTSTRAP_SEED = 20240531
#: methods offered by the command line
METHODS = ("sobol", "morris")

#: columns of a metric table that are not metrics
_NOT_METRICS = {"run_id", "arm", "point", "replicate", "seed", "time_min", "status", "wall_s",
                "error"}


# -- the design behind a study table -----------------------------------------------------------
def _design_block(spec: dict[str, Any]) -> dict[str, Any]:
    design = spec.get("design", {})
    return dict(design) if isinstance(design, dict) else {}


def _design_kind(spec: dict[str, Any]) -> str:
    kind = _design_block(spec).get("kind", "grid")  # unset: a grid, as in the spec schema
    return kind if isinstance(kind, str) else "unknown"


def _problem(df: pd.DataFrame, method: str) -> dict[str, Any]:
    spec = df.attrs.get("spec") or {}
    kind = _design_kind(spec)
    if kind != method:
        raise ConfigError(
            f"{method} sensitivity needs a study with design kind = {method!r}; this study's "
            f"design is {kind!r} (run a study whose [design] has kind = {method!r})"
        )
    problem = df.attrs.get("problem")
    if not problem or not problem.get("names"):
        raise ConfigError(f"the study table carries no SALib problem for its {method} design")
    return dict(problem)


def _design_points(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """One row per design point, in point order, with the varied parameters' values."""
    design = df.attrs.get("design")
    frame = pd.DataFrame(design) if design is not None else df
    missing = [n for n in names if n not in frame.columns]
    if missing or "point" not in frame.columns:
        raise ConfigError(f"the study's design lacks the columns {missing or ['point']}")
    pts = frame.drop_duplicates("point").sort_values("point", kind="stable")
    return pts.set_index("point")[names]


def _check_metric(df: pd.DataFrame, metric: str) -> None:
    if metric not in df.columns or metric in _NOT_METRICS:
        kept = [c for c in df.columns if c not in _NOT_METRICS and c not in _param_columns(df)]
        raise ConfigError(
            f"--metric {metric!r} is not a metric this study kept; kept: "
            f"{', '.join(kept) or 'none'}"
        )


def _param_columns(df: pd.DataFrame) -> list[str]:
    problem = df.attrs.get("problem") or {}
    names = list(problem.get("names") or [])
    return names or [c for c in df.columns if "." in c]


def point_values(df: pd.DataFrame, metric: str, time: float | None = None) -> pd.Series:
    """The metric per design point: replicates averaged, at ``time`` or each run's last time.

    Args:
        df: a study table (:func:`invasim.study.load_study`).
        metric: a kept metric's name.
        time: a kept time in minutes; ``None`` takes the last kept time of each run.

    Returns:
        A Series indexed by ``point`` (sorted) of the mean over the point's completed runs;
        points whose runs all failed are NaN.

    Raises:
        ConfigError: the metric or the time was not kept.
    """
    _check_metric(df, metric)
    rows = df
    if "status" in rows.columns:
        rows = rows[rows["status"].fillna("completed") == "completed"]
    if time is None:
        if len(rows):
            rows = rows.loc[rows.groupby("run_id")["time_min"].idxmax()]
    else:
        times = np.sort(df["time_min"].dropna().unique())
        hit = np.isclose(rows["time_min"].to_numpy(float), time, rtol=1e-9, atol=1e-9)
        if not hit.any():
            shown = ", ".join(f"{t:g}" for t in times[:8]) + (", ..." if len(times) > 8 else "")
            raise ConfigError(f"--time {time:g} is not a kept time of this study; kept: {shown}")
        rows = rows[hit]
    values = rows.groupby("point")[metric].mean()
    all_points = np.sort(df["point"].unique())
    return values.reindex(all_points)


def _complete(values: pd.Series, points: pd.Index, method: str) -> np.ndarray:
    """The metric at every design point, in design order; one line if a point has none."""
    values = values.reindex(points)
    y = values.to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        shown = ", ".join(str(int(values.index[i])) for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise ConfigError(
            f"{bad.size} design points have no completed run with a finite value (points "
            f"{shown}{more}); {method} analysis needs every point: rerun them with --resume"
        )
    return y


# -- Sobol -------------------------------------------------------------------------------------
def sobol_table(
    problem: dict[str, Any],
    y: np.ndarray,
    calc_second_order: bool,
    conf_level: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """Sobol indices of outputs ``y`` of a Saltelli sample of ``problem`` (SALib).

    Args:
        problem: the SALib problem (``names``, ``num_vars``, ``bounds``).
        y: one output per sample row, in the sample's order.
        calc_second_order: whether the sample holds the second-order blocks (``N(2D+2)`` rows
            rather than ``N(D+2)``).
        conf_level: level of the bootstrap confidence intervals.
        num_resamples: bootstrap resamples.
        seed: seed of the bootstrap.

    Returns:
        One row per parameter (index ``parameter``): ``S1``, ``S1_conf``, ``ST``, ``ST_conf``
        and, with second order, ``S2_<other>`` and ``S2_<other>_conf`` (symmetric, NaN on the
        diagonal). ``*_conf`` is the half-width of the interval.

    Raises:
        ConfigError: ``y`` has not the length the design needs.
    """
    sobol = require("studies", "SALib.analyze.sobol", "Sobol sensitivity analysis")
    names = list(problem["names"])
    d = len(names)
    per = 2 * d + 2 if calc_second_order else d + 2
    n = len(y) // per
    if len(y) % per or n < 1:
        what = "N(2D+2)" if calc_second_order else "N(D+2)"
        raise ConfigError(
            f"Sobol analysis of D = {d} parameters needs {what} = a multiple of {per} design "
            f"points; this study has {len(y)}"
        )
    y = np.asarray(y, dtype=float)
    if np.ptp(y) == 0.0:
        raise ConfigError("the metric has the same value at every design point: no variance")
    res = sobol.analyze(
        problem,
        y,
        calc_second_order=calc_second_order,
        num_resamples=num_resamples,
        conf_level=conf_level,
        seed=seed,
    )
    table = pd.DataFrame(
        {k: np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")},
        index=pd.Index(names, name="parameter"),
    )
    if calc_second_order:
        for key in ("S2", "S2_conf"):
            m = np.asarray(res[key], dtype=float)
            upper = np.triu(m, 1)
            full = np.where(np.isnan(upper), 0.0, upper)
            full = full + full.T
            np.fill_diagonal(full, np.nan)
            for j, other in enumerate(names):
                col = f"S2_{other}" if key == "S2" else f"S2_{other}_conf"
                table[col] = full[:, j]
    return table


def _second_order(df: pd.DataFrame, n_points: int, d: int) -> bool:
    block = _design_block(df.attrs.get("spec") or {})
    if block.get("calc_second_order") is not None:
        return bool(block["calc_second_order"])
    # unset: SALib's default (true); a size that only fits first order says otherwise
    return n_points % (2 * d + 2) == 0


def sobol_indices(
    df: pd.DataFrame, metric: str, time: float | None = None, conf_level: float = 0.95
) -> pd.DataFrame:
    """Sobol first-order and total indices (and second order when sampled) of a study's metric.

    Args:
        df: a study table with a ``sobol`` design (:func:`invasim.study.load_study`).
        metric: a kept metric's name.
        time: a kept time in minutes (default: each run's last kept time).
        conf_level: level of the bootstrap confidence intervals.

    Returns:
        The table of :func:`sobol_table`, one row per varied parameter.

    Raises:
        ConfigError: not a sobol design, a size SALib cannot use, a missing point, an unknown
            metric or time.
    """
    problem = _problem(df, "sobol")
    points = _design_points(df, list(problem["names"]))
    y = _complete(point_values(df, metric, time), points.index, "sobol")
    second = _second_order(df, len(points), len(problem["names"]))
    return sobol_table(problem, y, second, conf_level)


# -- Morris ------------------------------------------------------------------------------------
def morris_table(
    problem: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    num_levels: int,
    conf_level: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """Morris screening measures of outputs ``y`` of a Morris sample ``x`` of ``problem``.

    Args:
        problem: the SALib problem.
        x: the sample, ``(r (D+1), D)``, in the order SALib drew it.
        y: one output per row of ``x``.
        num_levels: the grid levels the sample was drawn with.
        conf_level: level of the bootstrap interval of mu*.
        num_resamples: bootstrap resamples.
        seed: seed of the bootstrap.

    Returns:
        One row per parameter (index ``parameter``): ``mu``, ``mu_star``, ``mu_star_conf``
        (half-width) and ``sigma``. Elementary effects are per unit of the parameter's range
        scaled to [0, 1], as SALib computes them.

    Raises:
        ConfigError: the sample does not have ``r (D+1)`` rows.
    """
    morris = require("studies", "SALib.analyze.morris", "Morris sensitivity analysis")
    names = list(problem["names"])
    d = len(names)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != (len(y), d) or len(y) % (d + 1) or len(y) == 0:
        raise ConfigError(
            f"Morris analysis of D = {d} parameters needs r(D+1) = a multiple of {d + 1} design "
            f"points; this study has {len(y)}"
        )
    res = morris.analyze(
        problem,
        x,
        y,
        num_resamples=num_resamples,
        conf_level=conf_level,
        num_levels=num_levels,
        seed=seed,
    )
    return pd.DataFrame(
        {k: np.asarray(res[k], dtype=float) for k in ("mu", "mu_star", "mu_star_conf", "sigma")},
        index=pd.Index(names, name="parameter"),
    )


def _num_levels(df: pd.DataFrame) -> int:
    block = _design_block(df.attrs.get("spec") or {})
    levels = block.get("levels")
    return 4 if levels is None else int(levels)  # unset: SALib's default, 4


def morris_indices(
    df: pd.DataFrame, metric: str, time: float | None = None, conf_level: float = 0.95
) -> pd.DataFrame:
    """Morris mu, mu*, its interval and sigma of a study's metric.

    Args:
        df: a study table with a ``morris`` design (:func:`invasim.study.load_study`).
        metric: a kept metric's name.
        time: a kept time in minutes (default: each run's last kept time).
        conf_level: level of the bootstrap interval of mu*.

    Returns:
        The table of :func:`morris_table`, one row per varied parameter.

    Raises:
        ConfigError: not a morris design, a missing point, an unknown metric or time.
    """
    problem = _problem(df, "morris")
    points = _design_points(df, list(problem["names"]))
    y = _complete(point_values(df, metric, time), points.index, "morris")
    x = points.to_numpy(dtype=float)
    for j, log in enumerate(problem.get("log10") or []):
        if log:  # a log-uniform parameter was sampled in log10 space
            x[:, j] = np.log10(x[:, j])
    return morris_table(problem, x, y, _num_levels(df), conf_level)


# -- figure ------------------------------------------------------------------------------------
def plot_indices(
    table: pd.DataFrame, metric: str, method: str, conf_level: float = 0.95
) -> Figure:
    """A bar figure of a sensitivity table: S1 and ST with intervals, or mu* beside sigma.

    Args:
        table: from :func:`sobol_indices` or :func:`morris_indices`.
        metric: the metric's name (for the title).
        method: ``"sobol"`` or ``"morris"``.
        conf_level: the level of the table's intervals (for the title).

    Returns:
        The figure (Agg canvas; pyplot is not touched).
    """
    names = [str(n) for n in table.index]
    fig = Figure(figsize=(max(4.0, 1.1 * len(names) + 2.0), 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pos = np.arange(len(names))
    w = 0.38
    kw = {"capsize": 3, "error_kw": {"elinewidth": 1}}
    if method == "sobol":
        ax.bar(pos - w / 2, table["S1"], w, yerr=table["S1_conf"], label="first order S1", **kw)
        ax.bar(pos + w / 2, table["ST"], w, yerr=table["ST_conf"], label="total ST", **kw)
        ax.set_ylabel("Sobol index")
        ax.axhline(0.0, color="0.3", lw=0.8)
        ax.set_ylim(min(0.0, float(np.nanmin(table["S1"] - table["S1_conf"]))) - 0.02, None)
        title = f"Sobol indices of {metric} (bars: {100 * conf_level:g} % bootstrap intervals)"
    else:
        ax.bar(pos - w / 2, table["mu_star"], w, yerr=table["mu_star_conf"], label="mu*", **kw)
        ax.bar(pos + w / 2, table["sigma"], w, label="sigma", **kw)
        ax.set_ylabel(f"elementary effect on {metric}\n(per unit of scaled range)")
        title = f"Morris screening of {metric} (mu* with its {100 * conf_level:g} % interval)"
    ax.set_xticks(pos, names, rotation=20 if max(map(len, names)) > 12 else 0)
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    return fig


# -- files and command line --------------------------------------------------------------------
def _safe(metric: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", metric)


def write_sensitivity(
    study_dir: str | Path, metric: str, method: str | None = None, time: float | None = None
) -> tuple[pd.DataFrame, Path, Path]:
    """Analyse a finished study and write ``sensitivity_<metric>.csv`` and ``.png`` beside it.

    Args:
        study_dir: the study folder (with ``results.parquet``).
        metric: a kept metric's name.
        method: ``"sobol"`` or ``"morris"``; default: the study's design kind.
        time: a kept time in minutes (default: each run's last kept time).

    Returns:
        ``(table, csv_path, png_path)``.
    """
    from invasim.study import load_study

    study_dir = Path(study_dir)
    df = load_study(study_dir)
    if method is None:
        kind = _design_kind(df.attrs.get("spec") or {})
        method = kind if kind in METHODS else "sobol"
    if method not in METHODS:
        raise ConfigError(f"--method {method!r} is unknown; allowed: {', '.join(METHODS)}")
    fn = sobol_indices if method == "sobol" else morris_indices
    table = fn(df, metric, time)
    stem = f"sensitivity_{_safe(metric)}"
    csv_path = study_dir / f"{stem}.csv"
    png_path = study_dir / f"{stem}.png"
    buf = io.StringIO()
    table.to_csv(buf, float_format="%.6g")
    write_text_atomic(csv_path, buf.getvalue())
    fig = plot_indices(table, metric, method)
    write_atomic(png_path, lambda f: fig.savefig(f, format="png", dpi=150))
    return table, csv_path, png_path


def format_table(table: pd.DataFrame) -> str:
    """The table as aligned text, four significant digits."""
    return table.to_string(float_format=lambda v: "nan" if math.isnan(v) else f"{v:.4g}")


def add_parser(study_sub: Any) -> argparse.ArgumentParser:
    """Add ``invasim study sensitivity`` to the ``study`` command's sub-parsers."""
    p = study_sub.add_parser(
        "sensitivity",
        help="Sobol or Morris sensitivity indices of a finished study (SALib)",
        description="Sobol first-order and total indices with confidence intervals, or Morris "
        "mu* and sigma, of one kept metric of a finished sobol or morris study; writes "
        "DIR/sensitivity_<metric>.csv and .png and prints the table.",
    )
    p.add_argument("study_dir", type=Path, metavar="DIR", help="the study folder")
    p.add_argument("--metric", required=True, help="a kept metric, e.g. front_um")
    p.add_argument(
        "--method", choices=METHODS, help="sobol or morris (default: the study's design kind)"
    )
    p.add_argument(
        "--time", type=float, metavar="MINUTES", help="a kept time (default: each run's last)"
    )
    return p


def cmd(args: argparse.Namespace) -> int:
    """Run ``invasim study sensitivity``; returns the exit status."""
    table, csv_path, png_path = write_sensitivity(
        args.study_dir, args.metric, args.method, args.time
    )
    print(format_table(table))
    print(f"wrote {csv_path} and {png_path}")
    return 0


__all__ = [
    "add_parser",
    "cmd",
    "format_table",
    "morris_indices",
    "morris_table",
    "plot_indices",
    "point_values",
    "sobol_indices",
    "sobol_table",
    "write_sensitivity",
]
