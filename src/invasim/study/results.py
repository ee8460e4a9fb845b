"""The study folder and its one tidy table.

Layout of a study folder::

    study.toml          the resolved spec (run it again, or resume, with this file)
    design.parquet      the expanded design: one row per run
    runs/<run_id>/      each run's own run directory, as ``invasim run`` writes it;
                        a failed run keeps error.txt (the full traceback) there
    results.parquet     one row per run and kept time (results.csv too with --csv)
    study_summary.png   each kept metric against each varied parameter

Contract: the rows of a run are read back from its run directory (``run.json`` and
``metrics.csv``), never from the memory of the process that ran it, so the table is the same
whether a run finished just now, on another worker, or before the study was killed and resumed.
Rows are sorted by ``run_id`` then ``time_min``; every file is written whole (temporary file,
then rename).
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
SUMMARY_PNG = "study_summary.png"
ERROR_TXT = "error.txt"
TAIL_COLUMNS = ("status", "wall_s", "error")


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
        SALib's problem dict.
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
    table.attrs["folder"] = str(folder)
    table.attrs["spec"] = data
    table.attrs["design"] = design.to_dict("records")
    spec = validate_study_data(data, f"{folder}/{STUDY_TOML}", None, check=False)
    if spec.design.kind in ("sobol", "morris"):
        table.attrs["problem"] = salib_problem(spec)
    return table
