"""The study folder and its one tidy table.

Layout of a study folder::

    study.toml          the resolved spec (run it again, or resume, with this file)
    design.parquet      the expanded design: one row per run
    runs/<run_id>/      each run's own run directory, as ``invasim run`` writes it;
                        a failed run keeps error.txt (the full traceback) there
    results.parquet     one row per run and kept time (results.csv too with --csv)
    summary.csv         a study with arms: per arm (and point), metric at the last kept time:
                        n, mean, sd, 95 % CI of the mean, paired difference from the first arm
    study_summary.png   each kept metric against each varied parameter (or per arm)

Contract: the rows of a run are read back from its run directory (``run.json`` and
``metrics.csv``), never from the memory of the process that ran it, so the table is the same
whether a run finished just now, on another worker, or before the study was killed and resumed.
Rows are sorted by ``run_id`` then ``time_min``; every file is written whole (temporary file,
then rename). A study with arms has an ``arm`` column after ``run_id``: an ordered categorical
of the arm names in the order of the spec (restored by :func:`load_study`; ``results.csv``
holds the names).

The per-arm summary (:func:`arm_summary`): per arm (and design point, when the study varies
parameters) and kept metric, the values of the completed runs at their last kept time: ``n``
(the finite values), ``mean``, ``sd`` (sample standard deviation, ``ddof = 1``), ``ci95_low`` and
``ci95_high`` (Student's t interval of the mean, ``mean ± t(0.975, n-1) sd/√n``; NaN for
``n < 2``), and the paired difference from the reference arm (the first): ``diff_mean``,
``diff_ci95_low``, ``diff_ci95_high``, over the replicates both completed (replicate ``r`` shares
its seed across arms, so the pairs share their random numbers); NaN in the reference arm's rows.
"""

from __future__ import annotations

import io
import json
import math
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from invasim.errors import RunDirError
from invasim.io import rundir
from invasim.io.atomic import write_atomic, write_text_atomic

STUDY_TOML = "study.toml"
DESIGN_PARQUET = "design.parquet"
RUNS = "runs"
RESULTS_PARQUET = "results.parquet"
RESULTS_CSV = "results.csv"
ARM_SUMMARY_CSV = "summary.csv"
SUMMARY_PNG = "study_summary.png"
ERROR_TXT = "error.txt"
TAIL_COLUMNS = ("status", "wall_s", "error")
#: columns of the table that identify a run (with the varied parameters), not metrics
IDENT_COLUMNS = ("run_id", "arm", "point", "replicate", "seed", "time_min")
#: the statistics of :func:`arm_summary`, after its identifying columns and ``metric``
SUMMARY_STATS = ("time_min", "n", "mean", "sd", "ci95_low", "ci95_high", "diff_mean",
                 "diff_ci95_low", "diff_ci95_high")  # fmt: skip


# -- one run -----------------------------------------------------------------------------------
def run_status(run_dir: Path) -> str | None:
    """The ``status`` in a run's ``run.json``; None if it has none (or it cannot be read)."""
    try:
        return json.loads((Path(run_dir) / rundir.RUN_JSON).read_text("utf-8")).get("status")
    except (OSError, ValueError):
        return None


def is_finished(run_dir: Path) -> bool:
    """A run whose ``run.json`` says completed (written last): ``--resume`` keeps it."""
    return run_status(Path(run_dir)) == "completed"


def one_line(text: str) -> str:
    """The last non-empty line of ``text`` (a traceback's ``Type: message``), stripped."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def run_rows(
    run_dir: str | Path, keep: dict[str, Any], wall_s: float | None = None
) -> list[dict[str, Any]]:
    """The table rows of one run, read from its directory.

    Args:
        run_dir: the run directory (its name is the run id).
        keep: ``{"metrics": [...] or None, "times": "last" | "all" | [minutes]}``.
        wall_s: the wall time to report where ``run.json`` has none (a run that failed early).

    Returns:
        One dict per kept time: ``run_id``, ``time_min``, the metrics, ``status``, ``wall_s``,
        ``error``. A failed run gives NaN metrics (one row per listed time, or one row).
    """
    run_dir = Path(run_dir)
    run_id = run_dir.name
    try:
        meta = rundir.read_run_json(run_dir)
    except RunDirError:
        meta = {}
    status = meta.get("status")
    wall = float(meta["wall_s"]) if "wall_s" in meta else (np.nan if wall_s is None else wall_s)
    times = keep.get("times", "last")
    names = keep.get("metrics")
    if status == "completed":
        try:
            frame = pd.read_csv(run_dir / rundir.METRICS_CSV)
        except (OSError, ValueError) as exc:
            status, error = "failed", f"cannot read metrics.csv: {exc}"
        else:
            names = names or [c for c in frame.columns if c != "time_min"]
            picked = _pick_times(frame, times, float(meta.get("dt_min", 0.0)))
            return [
                {
                    "run_id": run_id,
                    "time_min": float(t),
                    **{m: _num(row, m) for m in names},
                    "status": "completed",
                    "wall_s": wall,
                    "error": "",
                }
                for t, row in picked
            ]
    else:
        error = _failure_line(run_dir, meta)
    blank = {m: np.nan for m in names or []}
    listed = times if isinstance(times, list) else [np.nan]
    return [
        {"run_id": run_id, "time_min": float(t), **blank, "status": "failed", "wall_s": wall,
         "error": error}
        for t in listed
    ]


def _num(row: pd.Series | None, name: str) -> float:
    if row is None or name not in row.index:
        return np.nan
    return float(row[name])


def _pick_times(
    frame: pd.DataFrame, times: Any, dt: float
) -> list[tuple[float, pd.Series | None]]:
    if len(frame) == 0:
        return []
    if times == "last":
        row = frame.iloc[-1]
        return [(float(row["time_min"]), row)]
    if times == "all":
        return [(float(r["time_min"]), r) for _, r in frame.iterrows()]
    t_run = frame["time_min"].to_numpy(dtype=float)
    out = []
    for t in times:
        k = int(np.argmin(np.abs(t_run - t)))
        tol = 0.5 * dt + 1e-9 * max(1.0, abs(t))
        out.append((float(t), frame.iloc[k] if abs(t_run[k] - t) <= tol else None))
    return out


def _failure_line(run_dir: Path, meta: dict[str, Any]) -> str:
    if meta.get("error"):
        return one_line(meta["error"])
    try:
        line = one_line((run_dir / ERROR_TXT).read_text("utf-8"))
    except OSError:
        line = ""
    if line:
        return line
    status = meta.get("status")
    return f"run stopped with status {status!r}" if status else "run did not start"


# -- the table ---------------------------------------------------------------------------------
def assemble(design: pd.DataFrame, rows: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """The tidy table of the runs in ``rows`` (run id -> its rows), joined with the design."""
    ident = list(design.columns)
    flat = [r for rid in sorted(rows) for r in rows[rid]]
    metrics: list[str] = []
    for r in flat:
        for k in r:
            if k not in ("run_id", "time_min", *TAIL_COLUMNS) and k not in metrics:
                metrics.append(k)
    columns = ["run_id", "time_min", *metrics, *TAIL_COLUMNS]
    body = pd.DataFrame.from_records(flat, columns=columns)
    body["time_min"] = body["time_min"].astype("float64")
    for m in (*metrics, "wall_s"):
        body[m] = body[m].astype("float64")
    for c in ("status", "error"):
        body[c] = body[c].astype(str)
    table = design.merge(body, on="run_id", how="inner", validate="one_to_many")
    table = table[[*ident, *columns[1:]]]
    return table.sort_values(["run_id", "time_min"], ignore_index=True, na_position="first")


class TableWriter:
    """Collects rows as runs finish and writes ``results.parquet`` whole, now and then."""

    def __init__(self, folder: Path, design: pd.DataFrame, every_s: float = 2.0) -> None:
        self.folder = Path(folder)
        self.design = design
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.every_s = every_s
        self._last = -math.inf

    def add(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        """Record the rows of a finished run (a retried run replaces its earlier rows)."""
        self.rows[run_id] = rows
        if time.monotonic() - self._last >= self.every_s:
            self.write()

    def table(self) -> pd.DataFrame:
        """The table of the runs recorded so far."""
        return assemble(self.design, self.rows)

    def write(self, csv: bool = False) -> pd.DataFrame:
        """Write ``results.parquet`` (and ``results.csv``) now; returns the table."""
        table = self.table()
        write_atomic(self.folder / RESULTS_PARQUET, lambda f: table.to_parquet(f, index=False))
        if csv:
            buf = io.StringIO()
            table.to_csv(buf, index=False)
            write_text_atomic(self.folder / RESULTS_CSV, buf.getvalue())
        self._last = time.monotonic()
        return table


# -- the per-arm summary -----------------------------------------------------------------------
def metric_columns(table: pd.DataFrame, varied: list[str]) -> list[str]:
    """The metric columns of a study table, in table order."""
    skip = {*IDENT_COLUMNS, *varied, *TAIL_COLUMNS}
    return [c for c in table.columns if c not in skip]


def last_kept(table: pd.DataFrame) -> pd.DataFrame:
    """The completed runs' rows at each run's last kept time (one row per completed run)."""
    ok = table[table["status"] == "completed"]
    if ok.empty:
        return ok
    return ok.loc[ok.groupby("run_id", observed=True)["time_min"].idxmax()]


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[int, float, float, float, float]:
    """``(n, mean, sd, low, high)`` of the finite values: Student's t interval of the mean.

    ``sd`` and the interval are NaN for fewer than two values (``mean`` too for none).
    """
    from scipy.stats import t as student_t

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return 0, np.nan, np.nan, np.nan, np.nan
    mean = float(x.mean())
    if n < 2:
        return n, mean, np.nan, np.nan, np.nan
    sd = float(x.std(ddof=1))
    half = float(student_t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half


def arm_summary(table: pd.DataFrame, arms: list[str], varied: list[str] | None = None
                ) -> pd.DataFrame:  # fmt: skip
    """Per arm (and point) and metric: n, mean, sd, 95 % CI, paired difference from arm 0.

    Args:
        table: a study table with an ``arm`` column (:func:`load_study`).
        arms: the arm names in the order of the spec; the first is the reference.
        varied: the varied dotted keys; with any, one row per arm, point and metric, with the
            point's values.

    Returns:
        Columns ``arm`` (ordered categorical), ``point`` and the varied keys (only if any),
        ``metric`` and :data:`SUMMARY_STATS` (see the module docstring); one row per arm,
        point and metric, an arm with no completed run included (``n`` = 0).
    """
    varied = list(varied or [])
    metrics = metric_columns(table, varied)
    last = last_kept(table)
    points = table.drop_duplicates("point").sort_values("point")[["point", *varied]]
    rows = []
    for point in points.to_dict("records"):
        here = last[last["point"] == point["point"]]
        ref = here[here["arm"] == arms[0]].set_index("replicate") if arms else None
        for arm in arms:
            mine = here[here["arm"] == arm]
            times = mine["time_min"]
            for m in metrics:
                n, mean, sd, lo, hi = mean_ci(mine[m].to_numpy(dtype=float))
                d = (np.nan,) * 3
                if arm != arms[0] and ref is not None:
                    paired = mine.set_index("replicate")[m] - ref[m]  # aligned by replicate
                    _, d_mean, _, d_lo, d_hi = mean_ci(paired.to_numpy(dtype=float))
                    d = (d_mean, d_lo, d_hi)
                ident = {"arm": arm, **(point if varied else {})}
                rows.append({**ident, "metric": m,
                             "time_min": float(times.max()) if len(times) else np.nan,
                             "n": n, "mean": mean, "sd": sd, "ci95_low": lo, "ci95_high": hi,
                             "diff_mean": d[0], "diff_ci95_low": d[1], "diff_ci95_high": d[2]})
    ident_cols = ["arm", *(["point", *varied] if varied else [])]
    out = pd.DataFrame.from_records(rows, columns=[*ident_cols, "metric", *SUMMARY_STATS])
    out["arm"] = pd.Categorical(out["arm"], categories=list(arms), ordered=True)
    out["n"] = out["n"].astype("int64")
    for c in SUMMARY_STATS:
        if c != "n":
            out[c] = out[c].astype("float64")
    return out


def write_arm_summary(
    folder: str | Path, table: pd.DataFrame, arms: list[str], varied: list[str] | None = None
) -> pd.DataFrame:
    """Write ``FOLDER/summary.csv`` (:func:`arm_summary`) whole; returns the summary."""
    summary = arm_summary(table, arms, varied)
    buf = io.StringIO()
    summary.to_csv(buf, index=False)
    write_text_atomic(Path(folder) / ARM_SUMMARY_CSV, buf.getvalue())
    return summary


def format_arm_summary(summary: pd.DataFrame) -> str:
    """The summary as a printed table: 6 significant digits, ``-`` where a value is NaN.

    ``time_min`` is left out when every row has the same (say it in the heading instead).
    """
    shown = summary.copy()
    shown["arm"] = shown["arm"].astype(str)
    if shown["time_min"].nunique(dropna=False) <= 1:
        shown = shown.drop(columns="time_min")
    return shown.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.6g}")


# -- reading a study ---------------------------------------------------------------------------
def read_spec_data(folder: str | Path) -> dict[str, Any]:
    """The resolved spec stored in a study folder, as plain data."""
    path = Path(folder) / STUDY_TOML
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{folder} is not a study folder (no {STUDY_TOML})") from None
    except (OSError, ValueError) as exc:
        raise RunDirError(f"cannot read {path}: {exc}") from None


def load_study(folder: str | Path) -> pd.DataFrame:
    """Open a study folder's table: one row per run and kept time.

    Args:
        folder: a folder written by :func:`~invasim.study.run_study` or ``invasim study run``.

    Returns:
        The table (see :mod:`invasim.study.results`), with ``attrs["folder"]`` the folder,
        ``attrs["spec"]`` the resolved spec as a dict, ``attrs["design"]`` the expanded
        design's records and, for ``sobol`` and ``morris`` designs, ``attrs["problem"]``
        SALib's problem dict. A study with arms has its ``arm`` column as an ordered
        categorical in the spec's arm order.
    """
    from invasim.study.design import salib_problem
    from invasim.study.spec import validate_study_data

    folder = Path(folder)
    data = read_spec_data(folder)
    try:
        table = pd.read_parquet(folder / RESULTS_PARQUET)
        design = pd.read_parquet(folder / DESIGN_PARQUET)
    except FileNotFoundError as exc:
        raise RunDirError(f"{folder} has no {Path(exc.filename or '').name or 'results'} yet; "
                          "run or resume the study") from None
    except (OSError, ValueError) as exc:
        raise RunDirError(f"cannot read the tables of {folder}: {exc}") from None
    arms = list(data.get("arms") or {}) if isinstance(data.get("arms"), dict) else []
    if arms and "arm" in table.columns:  # the arm order of the spec, whatever the file kept
        table["arm"] = pd.Categorical(table["arm"].astype(str), categories=arms, ordered=True)
        design["arm"] = pd.Categorical(design["arm"].astype(str), categories=arms, ordered=True)
    table.attrs["folder"] = str(folder)
    table.attrs["spec"] = data
    table.attrs["design"] = design.to_dict("records")
    spec = validate_study_data(data, f"{folder}/{STUDY_TOML}", None, check=False)
    if spec.design.kind in ("sobol", "morris"):
        table.attrs["problem"] = salib_problem(spec)
    return table
