"""Running a cohort: patients in chunks as Dask tasks, then the tables, the figure, the record.

Contract:
    * :func:`simulate_cohort` ``(spec, client=None, chunk=...) -> DataFrame``: every patient of
      every arm (:func:`invasim.cohort.patients.patient_row`), in chunks of ``chunk``
      patients × all arms, one Dask task each on ``client`` (or in this process when None);
      rows sorted by arm (spec order) then patient. Pure: the same spec gives the same table
      whatever the workers, the chunking or the order tasks finish in.
    * :func:`run_cohort` opens the cluster exactly as ``invasim study run`` does
      (:func:`invasim.study.runner.open_client`: local processes, ``--scheduler`` or
      ``--jobqueue``), shows one progress bar, and writes into the out folder (default
      ``cohorts/<name>-<timestamp>``): ``patients.csv`` (+ ``patients.parquet``),
      ``survival.csv`` (:func:`invasim.cohort.survival.survival_table`), ``km.png``
      (:func:`invasim.cohort.plot.write_km`), ``cohort.json`` (spec, versions, wall time,
      counts). A non-empty out folder is refused (one line) unless ``force``, which writes over
      these four outputs and touches nothing else there. The cluster is opened before the
      folder is made, so a bad cluster option leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd

from invasim.cohort.patients import COLUMNS, run_chunk
from invasim.cohort.spec import CohortSpec, load_cohort_spec, sample_table
from invasim.cohort.survival import survival_table
from invasim.core.progress import CountProgress
from invasim.errors import RunDirError
from invasim.io.atomic import os_error_line, stamped_dir, write_atomic, write_text_atomic

#: output file names
PATIENTS_CSV = "patients.csv"
PATIENTS_PARQUET = "patients.parquet"
SURVIVAL_CSV = "survival.csv"
KM_PNG = "km.png"
COHORT_JSON = "cohort.json"
#: patients per task (times the arms); small enough to spread, large enough to amortise Dask
DEFAULT_CHUNK = 25


def _tasks(spec: CohortSpec, chunk: int) -> list[dict[str, Any]]:
    samples = sample_table(spec).to_dict("records")
    tasks = []
    for i in range(0, len(samples), chunk):
        block = samples[i : i + chunk]
        pairs = [(arm, s) for arm in spec.arm_names for s in block]
        tasks.append({"spec": spec, "pairs": pairs, "key": i // chunk})
    return tasks


def _sorted(rows: list[dict[str, Any]], spec: CohortSpec) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    order = {a: i for i, a in enumerate(spec.arm_names)}
    table["_a"] = table["arm"].map(order)
    table = table.sort_values(["_a", "patient"], kind="stable").drop(columns="_a")
    extra = [c for c in table.columns if c not in COLUMNS]
    return table[[*COLUMNS, *extra]].reset_index(drop=True)


def simulate_cohort(spec: CohortSpec, client=None, chunk: int = DEFAULT_CHUNK,
                    progress: bool = False) -> pd.DataFrame:  # fmt: skip
    """Every patient of every arm; on ``client`` (Dask) or in this process (see contract)."""
    tasks = _tasks(spec, max(1, int(chunk)))
    total = spec.patients * len(spec.arm_names)
    rows: list[dict[str, Any]] = []
    with CountProgress("patients", progress) as bar:
        bar_task = bar.task(spec.name, total)
        if client is None:
            for t in tasks:
                rows.extend(run_chunk(t))
                bar_task.update(len(rows))
            return _sorted(rows, spec)
        from distributed import as_completed

        token = f"{time.time_ns():x}"
        futures = [client.submit(run_chunk, t, key=f"invasim-cohort-{spec.name}-{t['key']}-"
                                 f"{token}", pure=False) for t in tasks]  # fmt: skip
        try:
            for fut in as_completed(futures):
                rows.extend(fut.result())
                fut.release()
                bar_task.update(len(rows))
        except BaseException:
            client.cancel(futures)
            raise
    return _sorted(rows, spec)


def default_cohort_dir(name: str) -> Path:
    """``cohorts/<name>-<timestamp>`` in the current directory, made unique."""
    return stamped_dir("cohorts", name)


def _check_out(out: Path, force: bool) -> None:
    try:
        if out.exists() and not out.is_dir():
            raise RunDirError(f"--out {out} is a file; choose a folder")
        if out.exists() and any(out.iterdir()) and not force:
            raise RunDirError(f"--out {out} is not empty; pass --force to write the cohort's "
                              "outputs over it, or choose another folder")  # fmt: skip
    except OSError as exc:
        raise RunDirError(os_error_line(exc, out)) from None


def _versions() -> dict[str, str]:
    import lifelines
    import numba
    import numpy

    from invasim.version import __version__

    return {"invasim": __version__, "python": platform.python_version(),
            "numpy": numpy.__version__, "pandas": pd.__version__, "numba": numba.__version__,
            "lifelines": lifelines.__version__}  # fmt: skip


def write_outputs(out: Path, spec: CohortSpec, patients: pd.DataFrame,
                  info: dict[str, Any]) -> pd.DataFrame:  # fmt: skip
    """Write the four outputs (and the parquet copy) into ``out``; returns the survival table."""
    from invasim.cohort.plot import write_km

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(os_error_line(exc, out)) from None
    write_text_atomic(out / PATIENTS_CSV, patients.to_csv(index=False))
    with contextlib.suppress(ImportError):
        import pyarrow  # noqa: F401

        write_atomic(out / PATIENTS_PARQUET, lambda f: patients.to_parquet(f, index=False))
    surv = survival_table(patients, spec.arm_names)
    write_text_atomic(out / SURVIVAL_CSV, surv.to_csv(index=False))
    write_km(out / KM_PNG, patients, surv, spec.arm_names,
             f"{spec.name}: {spec.patients} virtual patients per arm")  # fmt: skip
    record = {"spec": spec.to_data(), "versions": _versions(), **info,
              "survival_csv": SURVIVAL_CSV, "patients_csv": PATIENTS_CSV}  # fmt: skip

    def plain(v: Any) -> Any:
        return None if isinstance(v, float) and not math.isfinite(v) else v

    record["survival"] = [{k: plain(v) for k, v in r.items()} for r in surv.to_dict("records")]
    write_text_atomic(out / COHORT_JSON, json.dumps(record, indent=2, default=str) + "\n")
    return surv


def run_cohort(
    spec: CohortSpec | str | Path,
    out_dir: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    jobqueue: str | dict[str, Any] | None = None,
    force: bool = False,
    progress: bool = True,
    chunk: int = DEFAULT_CHUNK,
) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """Simulate a cohort on Dask and write its outputs; returns (folder, patients, survival).

    Args:
        spec: a :class:`CohortSpec`, a built-in cohort name or a spec file.
        out_dir: the output folder (default ``cohorts/<name>-<timestamp>``).
        workers, scheduler, jobqueue: the cluster, as for
            :func:`invasim.study.runner.run_study`.
        force: write over the outputs in a non-empty ``out_dir``.
        progress: one progress bar (only on a terminal).
        chunk: patients per Dask task (times the arms).

    Raises:
        MissingExtraError: Dask (the ``studies`` extra) is not installed; nothing is written.
        RunDirError: the out folder is not empty (without ``force``) or cannot be written.
    """
    from invasim.extras import require
    from invasim.study.runner import open_client

    require("studies", "distributed", "invasim cohort")
    if not isinstance(spec, CohortSpec):
        spec = load_cohort_spec(spec)
    out = (Path(out_dir) if out_dir is not None else default_cohort_dir(spec.name)).resolve()
    _check_out(out, force)
    t0 = time.perf_counter()
    n_tasks = math.ceil(spec.patients / max(1, chunk))
    with open_client(workers, scheduler, jobqueue, n_tasks=n_tasks) as (client, _threads):
        try:
            n_workers = len(client.scheduler_info().get("workers", {}))
        except Exception:  # informational only
            n_workers = None
        patients = simulate_cohort(spec, client, chunk, progress)
    wall = time.perf_counter() - t0
    info = {"wall_s": round(wall, 3), "workers": n_workers, "chunk": chunk,
            "patients_per_arm": spec.patients, "arms": spec.arm_names,
            "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
    surv = write_outputs(out, spec, patients, info)
    return out, patients, surv
