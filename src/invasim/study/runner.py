"""Running a study on Dask: a local cluster of worker processes, a scheduler, or batch jobs.

Contract:
    * Each run is one Dask task (:func:`execute_run`) that clears its run directory, runs the
      scenario there exactly as ``invasim run`` would and returns the run's rows, read back from
      that directory. A run that raises leaves ``error.txt`` (the full traceback) and a
      ``failed`` row; the study goes on.
    * A worker process killed mid-run (SIGKILL) is noticed by the scheduler, which gives its task
      to another worker (up to Dask's ``distributed.scheduler.allowed-failures``, default 3);
      the retry starts from an empty directory and its rows are counted once.
    * ``resume=True`` keeps the runs whose ``run.json`` says ``completed`` and runs the others
      again from the start. Runs draw no ``summary.png`` (for a short run it costs more than
      the run itself; ``invasim plot RUN_DIR`` draws it for any run later).
    * ``results.parquet`` is rewritten whole every few seconds while runs finish, and at the end.
    * A study with arms runs every arm × point × replicate as its own run (``a01-p0000-r02``),
      each with its arm's overrides applied on top of the study's ``set`` (then the point's
      values), and ends by writing ``summary.csv`` (:func:`invasim.study.results.arm_summary`).
    * Local cluster: ``workers`` processes (default: one per core, at most one per run), one
      run at a time in each, with ``cores // workers`` Numba threads, so workers × threads = cores.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import logging
import os
import re
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from invasim.core.progress import CountProgress
from invasim.errors import ConfigError, InvasimError, RunDirError
from invasim.extras import require
from invasim.io.atomic import os_error_line, stamped_dir, write_text_atomic
from invasim.study import results as res
from invasim.study.spec import StudySpec, load_plugins, load_study_spec, to_overrides

#: one run at a time per worker process: Numba's thread pool is shared by the process
_RUN_LOCK = threading.Lock()


# -- the task ----------------------------------------------------------------------------------
def _set_threads(threads: int | None) -> None:
    import os

    import numba

    # a worker whose environment asks for another pool size than the one Numba launched
    # refuses every later compilation ("Cannot set NUMBA_NUM_THREADS to a different value
    # once the threads have been launched"): agree with the launched pool, then narrow it
    os.environ["NUMBA_NUM_THREADS"] = str(numba.config.NUMBA_NUM_THREADS)

    if threads is None:
        try:
            from distributed import get_worker

            threads = get_worker().state.nthreads
        except (ImportError, ValueError, AttributeError):
            threads = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def _clear(run_dir: Path) -> None:
    """An empty run directory: a run killed earlier must not leave anything behind."""
    if run_dir.is_dir() and not run_dir.is_symlink():
        shutil.rmtree(run_dir)
    elif run_dir.exists():
        run_dir.unlink()
    run_dir.mkdir(parents=True)


def build_config(task: dict[str, Any]):
    """The validated scenario of one run: the base scenario with its arm's and point's values."""
    from invasim.config.loader import apply_overrides, validate_scenario

    load_plugins(task["plugins"])
    data = apply_overrides(task["base"], to_overrides(task["values"]))
    return validate_scenario(data, f"run {task['run_id']}", task["base_dir"])


def execute_run(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one study run in its directory; returns its table rows (see :func:`run_rows`)."""
    from invasim.simulation import Simulation

    with _RUN_LOCK:
        t0 = time.perf_counter()
        run_dir = Path(task["run_dir"])
        try:
            _set_threads(task.get("threads"))
            _clear(run_dir)
            config = build_config(task)
            Simulation(config, seed=task["seed"]).run(
                out=run_dir, progress=False, overwrite=True, summary=False
            )
        except Exception:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_text_atomic(run_dir / res.ERROR_TXT, traceback.format_exc())
        return res.run_rows(run_dir, task["keep"], wall_s=time.perf_counter() - t0)


def _lost_rows(task: dict[str, Any], exc: BaseException) -> list[dict[str, Any]]:
    """Rows of a task Dask gave up on (e.g. its workers kept dying): a failed run."""
    line = res.one_line(f"{type(exc).__name__}: {exc}")
    if type(exc).__name__ == "KilledWorker":
        line = ("KilledWorker: every worker process that ran it died (killed, crashed or out of "
                "memory); Dask gave up after distributed.scheduler.allowed-failures retries")
    run_dir = Path(task["run_dir"])
    with contextlib.suppress(OSError, RunDirError):
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / res.ERROR_TXT, "".join(traceback.format_exception(exc)))
    rows = res.run_rows(run_dir, task["keep"])
    for r in rows:
        r.update(status="failed", error=line)
    return rows


# -- the study folder --------------------------------------------------------------------------
def default_study_dir(name: str) -> Path:
    """``studies/<name>-<timestamp>`` in the current directory, made unique."""
    return stamped_dir("studies", name)


def _spec_text(spec: StudySpec) -> str:
    """The resolved spec as TOML: top-level values, then one table per section."""
    from invasim.config.loader import toml_key, toml_value

    lines = [f"# invasim study {spec.name!r}, resolved", ""]

    def emit(table: dict[str, Any], path: list[str]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if path and (scalars or not table):  # no header for a table of tables only
            lines.append("[" + ".".join(toml_key(p) for p in path) + "]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in scalars.items())
        if scalars or (path and not table):
            lines.append("")
        for k, v in table.items():
            if isinstance(v, dict):
                emit(v, [*path, k])

    emit(spec.to_data(), [])
    return "\n".join(lines)


def _check_out(out: Path, spec: StudySpec, resume: bool) -> None:
    """Refuse a non-empty folder (unless resuming) or a resume with another spec."""
    import tomllib

    try:
        if resume:
            stored = res.read_spec_data(out)
            if stored != tomllib.loads(_spec_text(spec)):
                raise InvasimError(
                    f"--resume: this spec differs from the one {out} was started with; resume "
                    f"with that one: invasim study run {out / res.STUDY_TOML} --out {out} --resume"
                )
        elif out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunDirError(
                f"--out {out} is not empty; pass --resume to continue the study there, or "
                "choose another folder"
            )
    except OSError as exc:
        raise RunDirError(os_error_line(exc, out)) from None


def _write_out(out: Path, spec: StudySpec, design: pd.DataFrame) -> None:
    """The study folder, its resolved spec and its design."""
    from invasim.io.atomic import write_atomic

    try:
        (out / res.RUNS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(os_error_line(exc, out)) from None
    write_text_atomic(out / res.STUDY_TOML, _spec_text(spec))
    write_atomic(out / res.DESIGN_PARQUET, lambda f: design.to_parquet(f, index=False))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# -- running -----------------------------------------------------------------------------------
def run_study(
    spec: StudySpec | str | Path,
    out_dir: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    jobqueue: str | dict[str, Any] | None = None,
    resume: bool = False,
    progress: bool = True,
    csv: bool = False,
) -> pd.DataFrame:
    """Run every run of a study on Dask and write the study folder.

    Args:
        spec: a :class:`~invasim.study.spec.StudySpec`, a built-in study name or a spec file.
        out_dir: the study folder (default ``studies/<name>-<timestamp>``); must be empty
            unless ``resume``.
        workers: local cluster: worker processes (default: the cores, at most one per run);
            jobqueue: worker processes to start in batch jobs (default: one job).
        scheduler: address of a running Dask scheduler (``tcp://host:8786``) to use instead.
        jobqueue: ``"slurm"``, ``"pbs"``, ``"sge"`` or ``"lsf"``, or a dict ``{"kind": ...,
            **options}`` with dask-jobqueue's options (``cores``, ``memory``, ``queue``, ...).
        resume: continue the study in ``out_dir``: keep completed runs, run the others.
        progress: show one progress bar for the study when standard error is a terminal.
        csv: also write ``results.csv``.

    Returns:
        The table, as :func:`~invasim.study.load_study` reads it.

    Raises:
        MissingExtraError: Dask (the ``studies`` extra) is not installed; nothing is written.
    """
    from invasim.config.loader import validate_scenario
    from invasim.study.design import expand

    require("studies", "distributed", "invasim study run")  # before the folder is made
    if not isinstance(spec, StudySpec):
        spec = load_study_spec(spec)
    base, base_dir = spec.base_data()
    design = expand(spec, validate_scenario(base, "base scenario", base_dir))
    out = Path(out_dir) if out_dir is not None else default_study_dir(spec.name)
    out = out.resolve()
    _check_out(out, spec, resume)
    writer = res.TableWriter(out, design)
    keep = spec.keep.model_dump(mode="json")
    todo = []
    for rec in design.to_dict("records"):
        run_dir = out / res.RUNS / rec["run_id"]
        if resume and res.is_finished(run_dir):
            writer.rows[rec["run_id"]] = res.run_rows(run_dir, keep)
            continue
        todo.append(
            {
                "run_id": rec["run_id"],
                "seed": int(rec["seed"]),
                # the arm's overrides, then the point's values (an arm sets no varied key)
                "values": {**spec.arm_overrides(rec.get("arm")),
                           **{k: _plain(rec[k]) for k in spec.varied}},
                "base": base,
                "base_dir": base_dir,
                "plugins": spec.plugins,
                "keep": keep,
                "run_dir": str(run_dir),
            }
        )
    with contextlib.ExitStack() as stack:
        client, threads = None, None
        if todo:  # the cluster first: a bad cluster option leaves no folder behind
            client, threads = stack.enter_context(
                open_client(workers, scheduler, jobqueue, n_tasks=len(todo))
            )
        _write_out(out, spec, design)
        try:
            if client is not None:
                _execute(client, todo, threads, writer, progress, spec.name, len(design))
        finally:
            table = writer.write(csv=csv)
    if spec.arms:  # the per-arm summary, even of a study whose runs all failed
        res.write_arm_summary(out, table, spec.arm_names, spec.varied)
    if len(table):
        from invasim.study.plot import write_study_summary

        write_study_summary(out, table, spec)
    return res.load_study(out)


def _execute(client, todo, threads, writer, progress, name, total) -> None:
    from distributed import as_completed  # open_client made sure the 'studies' extra is here

    for task in todo:
        task["threads"] = threads
    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(execute_run, t, key=f"invasim-{name}-{t['run_id']}-{token}", pure=False): t
        for t in todo
    }
    ours = {f.key for f in futures}
    ac = as_completed(list(futures))
    failed = sum(r[0]["status"] == "failed" for r in writer.rows.values() if r)
    done = len(writer.rows)
    unit = "runs, {task.fields[failed]} failed, {task.fields[running]} running"
    with CountProgress(unit, progress) as bar:
        bar_task = bar.task(name, total, completed=done, failed=0, running=0)
        try:
            while not ac.is_empty():
                batch = ac.next_batch(block=False)
                if not batch:
                    time.sleep(0.25)
                for fut in batch:
                    task = futures[fut]
                    try:
                        rows = fut.result()
                    except (KeyboardInterrupt, SystemExit):
                        raise
                    except BaseException as exc:  # Dask gave up on it, or it was cancelled
                        rows = _lost_rows(task, exc)
                    fut.release()
                    writer.add(task["run_id"], rows)
                    done += 1
                    failed += bool(rows) and rows[0]["status"] == "failed"
                running = _running(client, ours) if bar.enabled else 0
                bar_task.update(done, failed=failed, running=running)
        except BaseException:
            client.cancel(list(futures))
            raise


def _running(client, ours: set) -> int:
    """Runs in progress: our tasks on each worker, at most one per worker thread."""
    try:
        processing = client.processing()
        nthreads = client.nthreads()
    except Exception:  # the scheduler is busy or going away: not worth failing the study over
        return 0
    return sum(min(len(set(keys) & ours), nthreads.get(w, 1)) for w, keys in processing.items())


# -- clusters ----------------------------------------------------------------------------------
#: ``--jobqueue`` kinds and their dask-jobqueue cluster classes
JOBQUEUE_KINDS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster",
                  "lsf": "LSFCluster"}


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def parse_jobqueue_options(items: list[str]) -> dict[str, Any]:
    """``["cores=8", "memory=16GB", "walltime=01:00:00"]`` -> typed options (TOML values).

    A value that is not a TOML number, boolean, string or array (``16GB``, ``01:00:00``) is
    kept as written.
    """
    import tomllib

    out: dict[str, Any] = {}
    for text in items:
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--jobqueue-opt {text!r}: expected key=value, e.g. cores=8")
        raw = raw.strip()
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        if not isinstance(value, bool | int | float | str | list):  # a TOML date or time
            value = raw
        out[key.strip()] = value
    return out


def _jobqueue_option_names(cls: type) -> list[str]:
    from dask_jobqueue.core import Job, JobQueueCluster

    names: set[str] = set()
    for fn in (cls.__init__, JobQueueCluster.__init__, cls.job_cls.__init__, Job.__init__):
        names |= {p for p in inspect.signature(fn).parameters if p not in ("self", "kwargs")}
    return sorted(names)


def build_jobqueue_cluster(kind: str, options: dict[str, Any] | None = None):
    """A dask-jobqueue cluster (no jobs started yet); options as dask-jobqueue names them.

    Raises:
        ConfigError: an unknown kind or option, or a missing one (``cores``, ``memory``), in
            one line.
    """
    if kind not in JOBQUEUE_KINDS:
        raise ConfigError(f"--jobqueue {kind!r}: choose one of {', '.join(JOBQUEUE_KINDS)}")
    dask_jobqueue = require("studies", "dask_jobqueue", f"invasim study run --jobqueue {kind}")
    cls = getattr(dask_jobqueue, JOBQUEUE_KINDS[kind])
    try:
        return cls(**(options or {}))
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        bad = re.search(r"unexpected keyword argument '(\w+)'", msg)
        if bad:
            names = _jobqueue_option_names(cls)
            hint = difflib.get_close_matches(bad.group(1), names, n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(
                f"--jobqueue {kind}: unknown option {bad.group(1)!r}{did}; see the options of "
                f"dask_jobqueue.{cls.__name__}"
            ) from None
        line = " ".join(msg.split(":")[0].split()) if "must specify" in msg else res.one_line(msg)
        raise ConfigError(f"--jobqueue {kind}: {line} (give them with --jobqueue-opt)") from None


@contextlib.contextmanager
def open_client(
    workers: int | None = None,
    scheduler: str | None = None,
    jobqueue: str | dict[str, Any] | None = None,
    n_tasks: int | None = None,
) -> Iterator[tuple[Any, int | None]]:
    """A Dask client for a study, and the Numba threads each run should use (None: the worker's).

    The local cluster (neither ``scheduler`` nor ``jobqueue``) has ``workers`` processes of one
    Dask thread each (default: the cores, at most ``n_tasks``); each run uses ``cores //
    workers`` Numba threads.
    """
    distributed = require("studies", "distributed", "running a study on Dask")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    if scheduler and jobqueue:
        raise InvasimError("--scheduler and --jobqueue exclude each other: choose one")
    if workers is not None and workers < 1:
        raise InvasimError(f"--workers {workers}: give at least 1")
    if scheduler:
        if workers is not None:
            raise InvasimError("--workers is for the local cluster and --jobqueue; the "
                               "scheduler at --scheduler brings its own workers")
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InvasimError(
                f"cannot connect to the Dask scheduler at {scheduler}: {res.one_line(str(exc))}"
            ) from None
        with client:
            yield client, None
        return
    if jobqueue:
        opts = dict(jobqueue) if isinstance(jobqueue, dict) else {"kind": jobqueue}
        kind = str(opts.pop("kind", ""))
        cluster = build_jobqueue_cluster(kind, opts)
        with cluster, Client(cluster) as client:
            if workers:
                cluster.scale(n=workers)
            else:
                cluster.scale(jobs=1)
            yield client, None
        return
    cores = usable_cores()
    n = workers or max(1, min(cores, n_tasks or cores))
    threads = max(1, cores // n)
    env = {"NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    with LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: several studies may run side by side
        silence_logs=logging.ERROR,
        env=env,
    ) as cluster, Client(cluster) as client:
        yield client, threads
