"""Reading a run directory: the same readouts for a finished, running or killed run."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from invasim.core.mesh import Mesh
from invasim.errors import RunDirError
from invasim.io import rundir


class Run:
    """A run directory opened for reading.

    Attributes:
        path: the run directory.
        meta: the contents of ``run.json``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.meta: dict[str, Any] = rundir.read_run_json(self.path)

    def __repr__(self) -> str:
        return (
            f"Run({str(self.path)!r}, scenario={self.meta.get('scenario_name')!r}, "
            f"status={self.status!r}, t={self.meta.get('time_min')} min)"
        )

    @property
    def status(self) -> str:
        """``running``, ``completed``, ``failed`` or ``interrupted``."""
        return self.meta.get("status", "unknown")

    @cached_property
    def config(self):
        """The resolved scenario the run used (:class:`~invasim.config.schema.Scenario`)."""
        from invasim.config.loader import validate_scenario

        return validate_scenario(self.meta["scenario"], f"{self.path}/run.json")

    @cached_property
    def mesh(self) -> Mesh:
        """The mesh of the run's fields."""
        m = self.meta["mesh"]
        return Mesh(dim=int(m["dim"]), n=tuple(int(k) for k in m["n"]), h=float(m["voxel_um"]))

    @property
    def field_names(self) -> list[str]:
        """Names of the recorded fields."""
        return [f["name"] for f in self.meta["fields"]]

    @property
    def field_info(self) -> dict[str, dict[str, Any]]:
        """Metadata (unit, description, D, decay) of each recorded field."""
        return {f["name"]: f for f in self.meta["fields"]}

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per output interval; first column ``time_min``."""
        path = self.path / rundir.METRICS_CSV
        try:
            return pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise RunDirError(f"cannot read {path}: {exc}") from None

    def _group(self):
        import zarr

        store = self.path / rundir.FIELDS_ZARR
        try:
            return zarr.open_group(store, mode="r")
        except Exception as exc:  # zarr raises several types for a missing or broken store
            raise RunDirError(f"cannot read {store}: {exc}") from None

    @property
    def times(self) -> np.ndarray:
        """Snapshot times, minutes."""
        return np.asarray(self._group()["time"][:], dtype=float)

    def time_index(self, time_min: float) -> int:
        """Index of the snapshot at ``time_min`` (within half a time step); error if none."""
        times = self.times
        if len(times) == 0:
            raise RunDirError(f"{self.path} has no snapshots yet")
        tol = 0.5 * float(self.meta.get("dt_min", 0.0)) + 1e-9 * max(1.0, abs(time_min))
        k = int(np.argmin(np.abs(times - time_min)))
        if abs(times[k] - time_min) > tol:
            raise RunDirError(
                f"no snapshot at t = {time_min:g} min; snapshots from {times[0]:g} to "
                f"{times[-1]:g} min every {times[1] - times[0] if len(times) > 1 else 0:g} min"
            )
        return k

    def field(self, name: str, time_min: float | None = None) -> np.ndarray:
        """Field ``name`` at snapshot time ``time_min`` (default: the last), user shape."""
        if name not in self.field_names:
            raise RunDirError(f"unknown field {name!r}; this run has {', '.join(self.field_names)}")
        g = self._group()
        k = g["time"].shape[0] - 1 if time_min is None else self.time_index(time_min)
        return np.asarray(g[name][k])

    def table(self, name: str, time_min: float | None = None) -> pd.DataFrame:
        """Snapshot table ``name`` (e.g. ``"cells"``) at ``time_min`` (default: the last)."""
        folder = self.path / name
        files = sorted(folder.glob("[0-9]*.parquet")) if folder.is_dir() else []
        if not files:
            raise RunDirError(f"this run has no {name!r} snapshots")
        k = len(files) - 1 if time_min is None else self.time_index(time_min)
        path = folder / f"{k:06d}.parquet"
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise RunDirError(f"cannot read {path}: {exc}") from None

    def cells(self, time_min: float | None = None) -> pd.DataFrame:
        """The cells at ``time_min`` (default: the last snapshot), one row per cell."""
        return self.table("cells", time_min)

    def fields(self):
        """All snapshots as an :class:`xarray.Dataset` (time in minutes, lengths in µm)."""
        import xarray as xr

        try:
            return xr.open_zarr(self.path / rundir.FIELDS_ZARR, consolidated=False)
        except Exception as exc:
            raise RunDirError(f"cannot read {self.path / rundir.FIELDS_ZARR}: {exc}") from None

    @property
    def checkpoint_times(self) -> list[float]:
        """Times (minutes) of the stored checkpoints: valid ``--at`` values for branching."""
        dt = float(self.meta["dt_min"])
        return [rundir.checkpoint_step(p) * dt for p in rundir.list_checkpoints(self.path)]

    def _repr_html_(self) -> str | None:
        """A compact HTML summary for Jupyter: scenario, status, time, seed, last metrics, figure.

        Drawn by the renderer given to :func:`set_notebook_html` (``import invasim`` sets
        :func:`invasim.viz.report.notebook_html`: the figures live in a layer above this one);
        ``None`` (Jupyter then shows ``repr``) when none is set. Safe for runs still running
        or killed: what cannot be read yet is shown as a note.
        """
        return None if _notebook_html is None else _notebook_html(self)


#: the notebook renderer of a run (:meth:`Run._repr_html_`), set by a layer above io
_notebook_html: Callable[[Run], str] | None = None


def set_notebook_html(render: Callable[[Run], str] | None) -> None:
    """Set how a :class:`Run` shows itself in a notebook: ``render(run)`` returns HTML.

    io reads run directories and draws nothing; the package's ``__init__`` hands it the HTML
    view of :mod:`invasim.viz.report` here, so the dependency points down, from viz to io.
    """
    global _notebook_html
    _notebook_html = render


def load_run(path: str | Path) -> Run:
    """Open a run directory written by :meth:`invasim.Simulation.run` or ``invasim run``."""
    return Run(path)


__all__ = ["Run", "load_run", "set_notebook_html"]
