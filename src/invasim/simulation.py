"""The simulation runner: a model stepping its fields, recorded into a run directory.

``Simulation`` owns the state (fields, step counter, random generator) and drives the model;
it writes records at the output interval and checkpoints at the checkpoint interval. Time is
``step × dt`` (never an accumulated sum), so a resumed run takes the very same steps as an
uninterrupted one and ends bit for bit equal.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import secrets
import sys
import time as _time
from pathlib import Path
from typing import Any

import numpy as np

from invasim.config.loader import apply_overrides, validate_scenario
from invasim.config.schema import Scenario
from invasim.core.progress import RunProgress
from invasim.errors import InvasimError, RunDirError
from invasim.io import rundir
from invasim.io.atomic import stamped_dir
from invasim.models import REGISTRY
from invasim.version import __version__


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _platform() -> dict[str, Any]:
    import numba

    return {
        "python": platform.python_version(),
        "system": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }


def _whole_steps(until: float, dt: float) -> float:
    """``until`` if it is a whole number of steps of ``dt``; otherwise a clear error."""
    k = until / dt
    if abs(k - round(k)) > 1e-6 * max(1.0, k):
        lo, hi = math.floor(k) * dt, math.ceil(k) * dt
        raise InvasimError(
            f"--until {until:g} is not a whole number of steps of time.dt_min = {dt:g}; "
            f"use {lo:g} or {hi:g}"
        )
    return float(until)


def default_out_dir(name: str) -> Path:
    """``runs/<scenario>-<timestamp>`` in the current directory, made unique."""
    return stamped_dir("runs", name)


class Simulation:
    """One simulation of a scenario.

    Args:
        config: a validated scenario (:func:`invasim.load_scenario`).
        seed: random seed; ``None`` takes the scenario's ``seed`` or, failing that, a fresh one
            (recorded in ``run.json`` so the run can be repeated).

    Example:
        >>> sim = Simulation(load_scenario("fisher-kpp"), seed=1)   # doctest: +SKIP
        >>> run = sim.run(until=1000, out="runs/demo")              # doctest: +SKIP
    """

    def __init__(self, config: Scenario, seed: int | None = None) -> None:
        self.config = config
        if seed is None:
            seed = config.seed if config.seed is not None else secrets.randbits(63)
        if not 0 <= int(seed) < 2**63:
            raise InvasimError(f"seed = {seed} is out of range; allowed: 0 <= seed < 2**63")
        self.seed = int(seed)
        self.mesh = config.build_mesh()
        self.dt = config.time.dt_min
        self.model = REGISTRY[config.model](config.model_params, self.mesh, self.dt)
        self.model.seed = self.seed
        self.specs = self.model.field_specs()
        self.rng = np.random.default_rng(self.seed)
        self.fields = self._checked_fields(self.model.initial_fields(self.rng))
        self.step_index = 0
        self.origin: dict[str, Any] = {}
        self._wall_before = 0.0
        self._resumes: list[float] = []

    # -- state -------------------------------------------------------------------------------
    @property
    def time_min(self) -> float:
        """Current simulated time, minutes."""
        return self.step_index * self.dt

    def _checked_fields(self, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {}
        for spec in self.specs:
            arr = np.ascontiguousarray(fields[spec.name], dtype=np.float64)
            if arr.shape != self.mesh.array_shape:
                raise ValueError(
                    f"model {self.config.model} gave field {spec.name} of shape {arr.shape}, "
                    f"expected {self.mesh.array_shape}"
                )
            out[spec.name] = arr
        return out

    def metrics(self) -> dict[str, float]:
        """The model's metrics of the current state."""
        return {k: float(v) for k, v in self.model.metrics(self.fields, self.time_min).items()}

    def _field_meta(self) -> list[dict[str, Any]]:
        return [
            {
                "name": s.name,
                "unit": s.unit,
                "description": s.description,
                "diffusion_um2_per_min": s.diffusion_um2_per_min,
                "decay_per_min": s.decay_per_min,
            }
            for s in self.specs
        ]

    def _meta(self, status: str, started: str, wall_s: float, end_min: float) -> dict[str, Any]:
        return {
            "invasim_version": __version__,
            "scenario_name": self.config.name,
            "model": self.config.model,
            "seed": self.seed,
            "status": status,
            "started_at": started,
            "ended_at": None if status == "running" else _now(),
            "wall_s": round(wall_s, 3),
            "time_min": self.time_min,
            "end_min": end_min,
            "step": self.step_index,
            "dt_min": self.dt,
            "mesh": self.mesh.to_dict(),
            "fields": self._field_meta(),
            "metric_names": list(self.model.metric_names),
            "references": list(self.config.references)
            + [r for r in self.model.references if r not in self.config.references],
            "platform": _platform(),
            "command": sys.argv,
            **({"branched_from": self.origin} if self.origin else {}),
            **({"resumed_at_min": self._resumes} if self._resumes else {}),
            "scenario": self.config.to_data(),
        }

    # -- running -----------------------------------------------------------------------------
    def run(
        self,
        until: float | None = None,
        out: str | Path | None = None,
        progress: bool = True,
        overwrite: bool = False,
        summary: bool = True,
    ):
        """Run to ``until`` minutes (default: the scenario's ``time.end_min``).

        Args:
            until: simulated end time, minutes.
            out: run directory (default ``runs/<scenario>-<timestamp>``); must be empty unless
                ``overwrite``.
            progress: show a progress bar when standard error is a terminal.
            overwrite: clear a non-empty ``out`` first.
            summary: draw ``summary.png`` at the end (studies of many short runs skip it:
                it can cost more than the run; ``invasim plot`` draws it later).

        Returns:
            The finished run, as :func:`invasim.load_run` would read it.
        """
        end_min = self.config.time.end_min if until is None else _whole_steps(until, self.dt)
        if not end_min > self.time_min:
            raise InvasimError(
                f"--until {end_min} min must be later than the start time {self.time_min} min"
            )
        path = rundir.prepare_out_dir(
            Path(out) if out else default_out_dir(self.config.name), overwrite
        )
        writer = rundir.RunWriter(path, self.mesh, self._field_meta())
        started = _now()
        writer.write_meta(self._meta("running", started, 0.0, end_min))
        writer.start()
        writer.record(self.time_min, self.metrics(), self.fields, self.model.snapshot_tables())
        self._checkpoint(writer)
        return self._advance(writer, end_min, started, progress, summary)

    def _checkpoint(self, writer: rundir.RunWriter) -> None:
        writer.checkpoint(
            self.step_index,
            self.time_min,
            self.fields,
            self.model.extra_state(),
            {"n_records": len(writer.rows), "rng": self.rng.bit_generator.state, "seed": self.seed},
        )

    def _advance(
        self,
        writer: rundir.RunWriter,
        end_min: float,
        started: str,
        progress: bool,
        summary: bool = True,
    ):
        from invasim.io.run import Run

        tc = self.config.time
        end_step = tc.steps(end_min)
        out_every = tc.steps(tc.output_interval_min)
        ckpt_every = tc.steps(tc.checkpoint_interval_min)
        key = list(self.model.metric_names[: self.model.n_progress_metrics])
        t0 = _time.perf_counter()
        status = "running"

        def meta(st: str) -> dict[str, Any]:
            wall = self._wall_before + _time.perf_counter() - t0
            return self._meta(st, started, wall, end_min)

        try:
            with RunProgress(self.config.name, self.time_min, end_min, progress) as bar:
                while self.step_index < end_step:
                    self.model.step(self.fields, self.time_min)
                    self.step_index += 1
                    done = self.step_index == end_step
                    if self.step_index % out_every == 0 or done:
                        m = self.metrics()
                        self._check_finite()
                        writer.record(self.time_min, m, self.fields, self.model.snapshot_tables())
                        bar.update(self.time_min, {k: m[k] for k in key if k in m})
                    if self.step_index % ckpt_every == 0 or done:
                        self._checkpoint(writer)
                        writer.write_meta(meta("running"))
            status = "completed"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except BaseException as exc:
            status = "failed"
            self._error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            final = meta(status)
            if status == "failed":
                final["error"] = self._error
            try:
                writer.write_meta(final)
            except RunDirError:
                pass
        run = Run(writer.path)
        if not summary:
            return run
        try:
            from invasim.viz.summary import write_summary
        except ImportError:  # pragma: no cover - the figure module is optional while developing
            return run
        write_summary(run)
        from invasim.viz.body import write_body_if_any

        write_body_if_any(run)  # body.png beside summary.png for a run with the body process
        return run

    def _check_finite(self) -> None:
        for name, arr in self.fields.items():
            if not np.isfinite(arr).all():
                raise InvasimError(
                    f"field {name!r} became non-finite at t = {self.time_min:g} min; "
                    f"reduce time.dt_min (now {self.dt:g})"
                )

    # -- resume and branch -------------------------------------------------------------------
    @classmethod
    def _from_checkpoint(cls, config: Scenario, seed: int, ckpt: Path) -> tuple[Simulation, dict]:
        sim = cls(config, seed=seed)
        fields, state, meta = rundir.load_checkpoint(ckpt)
        sim.model.restore_extra_state(state)
        missing = {s.name for s in sim.specs} - set(fields)
        if missing:
            raise RunDirError(f"checkpoint {ckpt} lacks fields {sorted(missing)}")
        sim.fields = sim._checked_fields(fields)
        sim.step_index = int(meta["step"])
        sim.rng.bit_generator.state = meta["rng"]
        return sim, meta

    @classmethod
    def resume(cls, run_dir: str | Path, until: float | None = None, progress: bool = True):
        """Continue a run that stopped (killed, interrupted or finished) from its last checkpoint.

        Args:
            run_dir: the run directory.
            until: new end time in minutes (default: the run's own end time).
            progress: show a progress bar on a terminal.
        """
        run_dir = Path(run_dir)
        meta = rundir.read_run_json(run_dir)
        config = validate_scenario(meta["scenario"], f"{run_dir}/run.json")
        ckpts = rundir.list_checkpoints(run_dir)
        if not ckpts:
            raise RunDirError(f"{run_dir} has no checkpoint to resume from")
        end_min = float(meta.get("end_min", config.time.end_min))
        if until is not None:
            end_min = _whole_steps(until, config.time.dt_min)
        sim, cmeta = cls._from_checkpoint(config, int(meta["seed"]), ckpts[-1])
        if sim.time_min >= end_min - 0.5 * sim.dt:
            raise RunDirError(
                f"{run_dir} already reached t = {sim.time_min:g} min; "
                "pass --until with a later time to extend it"
            )
        sim._wall_before = float(meta.get("wall_s", 0.0))
        sim._resumes = [*meta.get("resumed_at_min", []), sim.time_min]
        sim.origin = meta.get("branched_from", {})
        rundir.remove_partial(run_dir)
        writer = rundir.RunWriter(run_dir, sim.mesh, sim._field_meta())
        writer.truncate(int(cmeta["n_records"]))
        return sim._advance(writer, end_min, meta.get("started_at", _now()), progress)

    @classmethod
    def branch(
        cls,
        run_dir: str | Path,
        at_min: float,
        overrides: list[str] | None = None,
        seed: int | None = None,
    ) -> Simulation:
        """A new simulation starting from the checkpoint of ``run_dir`` at ``at_min``.

        Parameters may be changed with ``overrides``; the model and mesh must stay the same.
        Call :meth:`run` on the result to write the branch to its own directory.
        """
        run_dir = Path(run_dir)
        meta = rundir.read_run_json(run_dir)
        base = meta["scenario"]
        data = apply_overrides(base, overrides)
        config = validate_scenario(data, "branched scenario" + (" with --set" if overrides else ""))
        if config.model != base["model"] or config.to_data()["mesh"] != base["mesh"]:
            raise InvasimError(
                "a branch must keep the model and the mesh of the run it starts from"
            )
        dt = float(meta["dt_min"])
        times = {rundir.checkpoint_step(p) * dt: p for p in rundir.list_checkpoints(run_dir)}
        if not times:
            raise RunDirError(f"{run_dir} has no checkpoints to branch from")
        tol = 0.5 * dt
        match = [t for t in times if abs(t - at_min) <= tol]
        if not match:
            listing = ", ".join(f"{t:g}" for t in sorted(times))
            raise RunDirError(
                f"--at {at_min:g}: no checkpoint at that time; checkpoints at {listing} min"
            )
        t_at = match[0]
        if config.time.dt_min != dt:
            raise InvasimError("a branch must keep time.dt_min of the run it starts from")
        sim, _ = cls._from_checkpoint(
            config, int(meta["seed"]) if seed is None else seed, times[t_at]
        )
        if seed is not None:
            sim.rng = np.random.default_rng(seed)
        sim.origin = {"run": str(run_dir.resolve()), "time_min": t_at}
        return sim
