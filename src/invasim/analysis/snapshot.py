"""A snapshot: the state a readout is a function of, built live or from a run directory.

Contract:
    * :class:`Snapshot` is plain data: the time, the mesh, the fields (mesh array shape
      ``(nz, ny, nx)``, float64), the cells (one row per cell with the columns of a stored
      cell table: ``id, type, dead, x, y[, z], radius, volume, phase, ...``, optionally
      ``pressure``; ``None`` for a model without agents), the cell-type names by type index
      and where it came from. Readouts (:mod:`invasim.analysis.readouts`) see nothing else, so
      the same function gives the same bits on the live state and on the stored one.
    * The live engine builds one from its own state (``cells.to_frame()``, its fields);
      :meth:`Snapshot.from_run` builds one from a run directory. Its fields are read from the
      store only when a readout asks for them.
    * This module imports nothing above :mod:`invasim.core` at import time, so the engine can
      build snapshots without depending on the run-directory reader.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from invasim.core.mesh import Mesh

if TYPE_CHECKING:
    from invasim.io.run import Run


@dataclass
class Snapshot:
    """The state of a tissue at one time, live or stored.

    Attributes:
        t_min: simulated time, min.
        mesh: the mesh of the fields.
        fields: field name -> array of shape ``mesh.array_shape`` (float64, the field's unit).
        cells: one row per cell (live and dead), columns as a stored cell table (positions
            ``x, y[, z]`` in µm, ``dead`` 0 alive / 1 apoptotic / 2 necrotic, ``type`` the index
            into ``type_names``); ``None`` for a model without agents.
        type_names: cell-type names by type index.
        source: where it came from: ``"live"`` or ``"<run dir> at t = <t> min"``.
    """

    t_min: float
    mesh: Mesh
    fields: Mapping[str, np.ndarray] = field(default_factory=dict)
    cells: pd.DataFrame | None = None
    type_names: list[str] = field(default_factory=list)
    source: str = "live"

    @classmethod
    def from_run(cls, run: Run, t: float | None = None) -> Snapshot:
        """The stored snapshot of ``run`` at ``t`` min (default: the last).

        Raises:
            RunDirError: no snapshot at ``t`` (the message lists the stored times), or a file
                of the run that cannot be read.
        """
        times = run.times
        k = len(times) - 1 if t is None else run.time_index(float(t))
        if k < 0:
            run.time_index(0.0)  # raises: the run has no snapshots yet
        t_min = float(times[k])
        cells = None
        folder = run.path / "cells"
        if folder.is_dir() and any(folder.glob("[0-9]*.parquet")):
            cells = run.cells(t_min).drop(columns="time_min", errors="ignore")
        return cls(
            t_min=t_min,
            mesh=run.mesh,
            fields=_StoredFields(run, t_min),
            cells=cells,
            type_names=stored_type_names(run.meta, cells),
            source=f"{run.path} at t = {t_min:g} min",
        )

    @property
    def dim(self) -> int:
        """Spatial dimension, 2 or 3 for agents."""
        return self.mesh.dim

    def positions(self) -> np.ndarray:
        """Cell centres, ``[n, 3]`` float64 C-contiguous, µm, ``z == 0`` in 2-D.

        The same layout as the engine's ``Cells.position``, so reductions over it (a mean,
        norms) give the same bits on a live and a stored snapshot.
        """
        c = self.cells
        n = 0 if c is None else len(c)
        pos = np.zeros((n, 3), dtype=np.float64)
        for a, name in enumerate("xyz"):
            if c is not None and name in c:
                pos[:, a] = c[name].to_numpy(np.float64)
        return pos


class _StoredFields(Mapping):
    """The fields of a stored snapshot, each read from the store the first time it is asked."""

    def __init__(self, run: Run, t_min: float) -> None:
        self._run = run
        self._t = t_min
        self._names = list(run.field_names)
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._cache:
            arr = self._run.field(name, self._t)
            self._cache[name] = np.ascontiguousarray(arr, np.float64).reshape(
                self._run.mesh.array_shape
            )
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def stored_type_names(meta: Mapping[str, Any], cells: pd.DataFrame | None = None) -> list[str]:
    """Cell-type names of a run by type index.

    From ``meta["cell_types"]``, else the keys of the scenario's ``params.cell_types`` (their
    TOML order is the type index); failing both, ``type_0, type_1, ...`` up to the largest
    type index in ``cells``.
    """
    names = meta.get("cell_types")
    if isinstance(names, list) and all(isinstance(n, str) for n in names) and names:
        return list(names)
    scenario = meta.get("scenario")
    params = scenario.get("params") if isinstance(scenario, Mapping) else None
    types = params.get("cell_types") if isinstance(params, Mapping) else None
    if isinstance(types, Mapping) and types:
        return [str(k) for k in types]
    if cells is not None and "type" in cells and len(cells):
        return [f"type_{k}" for k in range(int(cells["type"].max()) + 1)]
    return []


__all__ = ["Snapshot", "stored_type_names"]
