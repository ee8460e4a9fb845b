"""The state of an agent simulation: plain data that every process reads and writes.

Contract:
    * :class:`AgentState` holds the cells (:class:`~invasim.core.cells.Cells`, a struct of
      arrays), the fields (named float64 arrays of the mesh's shape, the simulation's own
      dict), the neighbour grid (a cell list fitted to the largest cell present, with reusable
      scratch buffers), the last simple pressure and contact counts, the behaviour matrix
      (:class:`~invasim.agents.behaviours.Behaviours`), the clocks' steps and counters, and the
      rows the cell-life processes mark for division and removal during a phenotype step.
    * Random numbers are counter-based (:mod:`invasim.core.rng`): keyed by the run ``seed``,
      the cell id and a step counter derived from the time (``mech_step``, ``pheno_step``),
      so results do not depend on the thread count, and a resumed run equals an
      uninterrupted one.
    * What a checkpoint needs: the cells and ``pressure`` (:meth:`to_arrays`); everything else
      is rebuilt from them and the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from invasim.biology.traits import seed_traits
from invasim.core.cells import Cells
from invasim.core.mesh import Mesh
from invasim.physics.exchange import VoxelBins, sample_gradients, sample_values, voxel_of
from invasim.physics.mechanics import Mechanics


@dataclass
class AgentState:
    """Everything an agent simulation evolves (plain data; see the module contract).

    Attributes:
        mesh: the fields' mesh.
        extent: the box ``[0, L]`` per axis, µm.
        seed: the run seed (random-number key).
        type_names: cell type names; a cell's ``type`` indexes this list.
        dt: phenotype step, min; ``dt_mech`` mechanics step; ``dt_diff`` diffusion step.
        n_mech: mechanics steps per phenotype step; ``n_diff`` diffusion steps per mechanics.
        fields: field name -> ``(nz, ny, nx)`` float64 array (the simulation's dict).
        field_units: field name -> unit.
        cells: the cells.
        neighbours: the cell list and scratch buffers
            (:class:`~invasim.physics.mechanics.Mechanics`, used for its grid only).
        pressure: ``[n]`` simple pressure of each cell from the last phenotype step (1).
        contacts: ``[n, T + 2]`` contact counts (per type, live, dead) from the contacts
            process, valid between that process and the behaviour fill; else None.
        behaviours: the behaviour matrix (set by the engine).
        t: current time, min.
        step_start: start time of the current phenotype step, min.
        mech_step: mechanics step counter of the current mechanics step.
        diff_step: the current diffusion step within its mechanics step (0 to ``n_diff - 1``).
        pheno_step: phenotype step counter of the current phenotype step.
        dividing: rows chosen to divide in this phenotype step (int64).
        removing: rows to remove at the end of this phenotype step (int64).
        wants: what some rule needs computed (``"contacts"``: contact counts).
        rows_changed: cells were removed or added since the diffusion-clock processes last
            bound them (a phagocytosis or fusion in a mechanics step): they rebind fully.
        counters: running totals that processes report (cells engulfed ...); checkpointed.
        lineage: the clone table (:class:`~invasim.biology.clones.Lineage`) when
            ``[params.division] new_clone_on_mutation``, else None; checkpointed by the agent
            model.
        cache: per-position results shared by processes within one mechanics step (the
            interaction neighbour lists); cleared by :meth:`moved`.
        intravasation_events: the intravasation process's event rows (published at each of
            its steps, read by the body process); empty without that process.
    """

    mesh: Mesh
    extent: tuple[float, ...]
    seed: int
    type_names: list[str]
    dt: float
    dt_mech: float
    dt_diff: float
    n_mech: int
    n_diff: int
    fields: dict[str, np.ndarray]
    field_units: dict[str, str]
    cells: Cells
    neighbours: Mechanics
    pressure: np.ndarray = field(default_factory=lambda: np.zeros(0))
    contacts: np.ndarray | None = None
    behaviours: object = None
    t: float = 0.0
    step_start: float = 0.0
    mech_step: int = 0
    diff_step: int = 0
    pheno_step: int = 0
    dividing: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    removing: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    wants: dict[str, bool] = field(default_factory=dict)
    rows_changed: bool = False
    counters: dict[str, float] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    #: the intravasation process's event rows, published for readers (the body process)
    intravasation_events: list = field(default_factory=list)
    lineage: object = None
    _voxels: np.ndarray | None = None

    @property
    def n_types(self) -> int:
        """Number of cell types."""
        return len(self.type_names)

    # -- sampling the fields at the cells ------------------------------------------------------
    def voxels(self) -> np.ndarray:
        """``[n]`` flat voxel index of each cell centre (cached until :meth:`moved`)."""
        if self._voxels is None or self._voxels.shape[0] != self.cells.n:
            self._voxels = voxel_of(self.cells.position, self.mesh)
        return self._voxels

    def voxel_bins(self) -> VoxelBins:
        """All cells binned by the voxel of their centre (cached until :meth:`moved`).

        One stable counting sort per position set, shared by the processes that group the
        cells by voxel within a mechanics step (secretion/uptake, matrix remodelling).
        """
        bins = self.cache.get("voxel_bins")
        if bins is None or bins.n != self.cells.n:
            bins = self.cache["voxel_bins"] = VoxelBins(self.voxels(), self.mesh.n_voxels)
        return bins

    def moved(self) -> None:
        """Forget what depends on the cells' positions or rows (voxels, contact counts)."""
        self._voxels = None
        self.contacts = None
        self.cache.clear()

    def field_at_cells(self, name: str) -> np.ndarray:
        """``[n]`` the field ``name`` at each cell's voxel."""
        return sample_values(self.fields[name], self.voxels())

    def gradient_at_cells(self, name: str) -> np.ndarray:
        """``[n, 3]`` the gradient of field ``name`` at each cell's voxel (unit/µm)."""
        return sample_gradients(self.fields[name], self.mesh, self.voxels())

    def extend_rows(self, k: int, copy_rows=None, values=None) -> None:
        """Keep the per-row arrays aligned after ``k`` cells were appended (``cells.add``).

        The new rows' ``pressure`` and behaviour values are those of ``copy_rows`` (daughters
        copy their mothers), else pressure 0 and ``values`` (``[columns, k]``; None: left for
        the next fill, which refills a matrix whose rows do not match).
        """
        n = self.cells.n
        if self.pressure.shape[0] + k == n:
            new = self.pressure[copy_rows] if copy_rows is not None else np.zeros(k)
            self.pressure = np.concatenate([self.pressure, new])
        beh = self.behaviours
        old = getattr(beh, "values", None)
        if old is not None and old.ndim == 2 and old.shape[1] + k == n:
            new = old[:, copy_rows] if copy_rows is not None else values
            if new is not None:
                beh.append(np.asarray(new, dtype=np.float64))

    def add_cells(self, position: np.ndarray, cell_type: int, volume: float, specs=(),
                  values=None) -> slice:  # fmt: skip
        """Append cells of type ``cell_type`` at ``position`` (``[m, dim]``), ``volume`` µm³.

        Their declared traits (``specs``) take their initial values, keyed by their ids; the
        per-row arrays follow (:meth:`extend_rows` with ``values``). Returns their rows.
        """
        m = position.shape[0]
        rows = self.cells.add(m, position=position, type=np.full(m, cell_type, dtype=np.int32),
                              volume=np.full(m, volume))  # fmt: skip
        if specs:
            seed_traits(self.cells, specs, self.seed, rows=np.arange(rows.start, rows.stop))
        self.extend_rows(m, values=values)
        return rows

    def remove(self, mask: np.ndarray) -> None:
        """Remove the cells where ``mask`` (``[n]`` bool) holds.

        Keeps the per-row arrays aligned: ``pressure`` and the behaviour matrix's values (a
        removal within a mechanics step keeps the other cells' behaviours); marks
        :attr:`rows_changed`.
        """
        if not mask.any():
            return
        self.cells.remove(mask)
        if self.pressure.shape[0] == mask.shape[0]:
            self.pressure = self.pressure[~mask]
        beh = self.behaviours
        values = getattr(beh, "values", None)
        if values is not None and values.ndim == 2 and values.shape[1] == mask.shape[0]:
            beh.keep(~mask)
        self.rows_changed = True
        self.moved()

    # -- checkpoints ---------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The cells' arrays and counters (``Cells.to_dict``) and the last pressures."""
        out = {}
        for k, v in self.cells.to_dict().items():
            if k.endswith("_names"):
                out[k] = np.array(v, dtype=str) if v else np.zeros(0, dtype="<U1")
            elif k.endswith("_defaults"):
                out[k] = np.asarray(v, dtype=np.float64)
            else:
                out[k] = np.asarray(v)
        out["pressure"] = self.pressure.copy()
        for k, v in self.counters.items():
            out[f"counter__{k}"] = np.array(float(v))
        return out

    @staticmethod
    def counters_from_arrays(arrays: dict[str, np.ndarray]) -> dict[str, float]:
        """The running totals stored by :meth:`to_arrays`."""
        return {k[len("counter__"):]: float(v) for k, v in arrays.items()
                if k.startswith("counter__")}  # fmt: skip

    @staticmethod
    def cells_from_arrays(arrays: dict[str, np.ndarray]) -> tuple[Cells, np.ndarray]:
        """The cells and pressures stored by :meth:`to_arrays`."""
        d = {k: v for k, v in arrays.items() if not k.startswith("counter__")}
        pressure = np.asarray(d.pop("pressure", np.zeros(0)), dtype=np.float64).copy()
        for k in list(d):
            if k.endswith("_names"):
                d[k] = [str(t) for t in np.atleast_1d(d[k])]
            elif k.endswith("_defaults"):
                d[k] = [float(t) for t in np.atleast_1d(d[k])]
        return Cells.from_dict(d), pressure
