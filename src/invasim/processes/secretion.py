"""Secretion and uptake: cells as sources and sinks of the diffusing fields at their voxels.

Contract:
    * A live cell of volume ``V`` secretes field ``s`` at rate ``σ`` towards the target
      ``s*`` and takes it up at rate ``μ`` (PhysiCell/BioFVM's bulk source model): per voxel,
      ``∂u/∂t = Σ_cells (V / V_voxel) (σ (s* − u) − μ u)``, integrated implicitly per voxel
      (BioFVM) or exactly (:class:`~invasim.physics.exchange.SecretionUptake`).
    * Dead cells (PhysiCell ``Cell::die`` semantics): their uptake is the type's times
      ``dead_uptake_fraction`` (PhysiCell 0.1); they secrete only debris: an apoptotic cell at
      ``apoptotic_secretion_per_min``, a necrotic one at ``necrotic_secretion_per_min`` (per
      field, default 0; PhysiCell zeroes secretion at death and its models secrete debris
      through rules that apply to dead cells, e.g. ``apoptotic increases apoptotic debris
      secretion``, which invasim runs the same way).
    * Behaviours (per cell, from the behaviour matrix): ``<s> secretion`` (1/min),
      ``<s> secretion target`` (field unit), ``<s> uptake`` (1/min) and ``<s> export``
      (net export, field unit·µm³/min, added as a point source) for every diffusing ``s``.
      Cell type sub-table ``[params.cell_types.<type>.secretion]``.
    * Clock: diffusion, before diffusion (``[params.secretion] after_diffusion = true``: after
      it, PhysiCell's order, which the import of a PhysiCell project uses). Cells are bound to
      their voxels at the start of each mechanics step, after the last move (volumes and rates
      at the first mechanics step of a phenotype step: they change only in the phenotype
      step). Fields exchanged by the same cells share one binning and one pass
      (:func:`~invasim.physics.exchange.bind_positions_shared`); a field that only some cells
      exchange (a chemokine made by the tumour cells alone) is bound to those rows only (the
      same bits: the others would add exact zeros), unless its amounts are tracked; a field
      that no cell exchanges (all its rates 0, e.g. a cleavage product) is skipped until the
      next rebind of the rates; a
      field on its own ``dt_min`` exchanges on its clock (``k`` diffusion steps at once, at
      the last of them, as the diffusion process steps it).
    * Internalised substrates (PhysiCell's ``track_internalized_substrates_in_each_agent``,
      ``[params.secretion] track_internalized = true``): each cell keeps the amount of every
      diffusing field ``s`` inside it in the ``internal`` column ``internalized:<s>`` (field
      unit × µm³; split in half at division, checkpointed with the cells). The amount changes
      by minus what the cell added to the field (its share of the voxel's change, net export
      included), so field integral (``Σ u h³``) + Σ amounts is conserved to round-off without
      decay and boundary flux; the exchange sums it per voxel over a mechanics step's
      diffusion steps and brings the amounts up to date after the last of them
      (:meth:`~invasim.physics.exchange.SecretionUptake.take_exchanged`), before anything on
      the mechanics or phenotype clock reads them. Amounts may become negative (a cell
      secreting more than it took up), as in BioFVM. Signal ``intracellular <s>``: the
      amount; a rule reading it without tracking is a config error. Tracking off: the
      exchange is unchanged (:meth:`~invasim.physics.exchange.SecretionUptake.step`).
    * What happens to the amounts elsewhere (PhysiCell's ``Molecular``; per cell type, per
      field, in ``[params.cell_types.<type>.secretion]``): when a dead cell is removed (its
      apoptosis or lysis is over), ``fraction_released_at_death`` (default 0) of each amount
      goes into its voxel (:func:`release_internalized`, called by the death process); an
      engulfed cell gives ``fraction_transferred_when_ingested`` (default 1) of its amounts to
      the phagocyte, the rest is lost (digested, as in PhysiCell); a fused cell gives all of
      them. Cells removed by an intervention take their amounts with them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.cells import APOPTOTIC
from invasim.errors import ConfigError
from invasim.physics.exchange import (
    PARALLEL_MIN_CELLS,
    SecretionUptake,
    bind_positions_shared,
)
from invasim.processes.diffusion import diffusing_fields, due, field_substeps

OXYGEN = "oxygen"
#: the signal template of the internalised amounts
INTRACELLULAR = "intracellular {substrate}"



def _rows(a: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """``a`` itself, or its ``rows`` (a copy)."""
    return a if rows is None else a[rows]

class SecretionParams(BaseModel):
    """``[params.secretion]``: the per-voxel update."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["implicit", "exact"] = Field(
        "implicit", description="per-voxel secretion/uptake update (PhysiCell: implicit)"
    )
    after_diffusion: bool = Field(
        False,
        description="run each diffusion step's sources and sinks after the diffusion solve "
        "instead of before it (PhysiCell's order: BioFVM diffuses, then the cells secrete and "
        "take up; at large D dt/h² the fields the cells sense and the snapshots differ)",
    )
    track_internalized: bool = Field(
        False,
        description="track the amount of each diffusing field inside each cell [field unit·µm³] "
        "(PhysiCell's track_internalized_substrates_in_each_agent): what a cell takes up it "
        "keeps, what it secretes or exports it loses; the signal 'intracellular <field>'",
    )


class SecretionCell(BaseModel):
    """``[params.cell_types.<type>.secretion]``: rates per diffusing field."""

    model_config = ConfigDict(extra="forbid")

    uptake_per_min: dict[str, float] = Field(
        default_factory=lambda: {OXYGEN: 10.0},
        description="uptake rate per field [1/min] (oxygen 10, PhysiCell samples)",
    )
    secretion_per_min: dict[str, float] = Field(
        default_factory=dict, description="secretion rate per field [1/min]"
    )
    secretion_target: dict[str, float] = Field(
        default_factory=dict, description="secretion target (saturation) per field [unit]"
    )
    net_export: dict[str, float] = Field(
        default_factory=dict,
        description="net export rate per field [field unit·µm³/min] (PhysiCell "
        "net_export_rate; negative imports)",
    )
    apoptotic_secretion_per_min: dict[str, float] = Field(
        default_factory=dict,
        description="secretion rate of apoptotic cells per field [1/min] (debris; default 0)",
    )
    necrotic_secretion_per_min: dict[str, float] = Field(
        default_factory=dict,
        description="secretion rate of necrotic cells per field [1/min] (debris; default 0)",
    )
    dead_uptake_fraction: float = Field(
        0.1,
        ge=0,
        le=1,
        description="uptake of a dead cell over the type's [1] (PhysiCell 0.1 at death)",
    )
    fraction_released_at_death: dict[str, float] = Field(
        default_factory=dict,
        description="fraction of each internalised amount put back into the cell's voxel when "
        "the dead cell is removed [1] (PhysiCell molecular; default 0; needs "
        "track_internalized)",
    )
    fraction_transferred_when_ingested: dict[str, float] = Field(
        default_factory=dict,
        description="fraction of each internalised amount an engulfed cell gives its "
        "phagocyte; the rest is lost [1] (PhysiCell molecular; default 1; needs "
        "track_internalized)",
    )

    @model_validator(mode="after")
    def _finite(self) -> SecretionCell:
        for table in (self.uptake_per_min, self.secretion_per_min, self.secretion_target,
                      self.apoptotic_secretion_per_min, self.necrotic_secretion_per_min):
            if any(not (v >= 0 and math.isfinite(v)) for v in table.values()):
                raise ValueError("uptake, secretion rates and targets must be finite and >= 0")
        for key in ("fraction_released_at_death", "fraction_transferred_when_ingested"):
            bad = {k: v for k, v in getattr(self, key).items() if not 0.0 <= v <= 1.0}
            if bad:
                raise ValueError(f"{key} must lie in [0, 1]; got {bad}")
        return self


def internalized_column(field: str) -> str:
    """The ``internal`` column holding each cell's amount of ``field`` (field unit × µm³)."""
    return f"internalized:{field}"


def tracked_fields(params: Any) -> list[str]:
    """The diffusing fields whose amounts inside the cells are tracked (empty: tracking off)."""
    table = getattr(params, "secretion", None) if "secretion" in params.processes else None
    if table is None or not table.track_internalized:
        return []
    return list(diffusing_fields(params))


def ensure_internalized_columns(cells, fields: list[str]) -> list[int]:
    """Add the ``internalized:<field>`` columns if missing (0, split at division).

    Returns:
        their indices among the ``internal`` columns, in ``fields`` order.
    """
    for f in fields:
        if cells.role_of(internalized_column(f)) is None:
            cells.add_internal(internalized_column(f), 0.0, "split")
    names = cells.names("internal")
    return [names.index(internalized_column(f)) for f in fields]


def fraction_table(params: Any, key: str, default: float) -> np.ndarray:
    """``[n_types, n_tracked]``: each type's ``key`` fraction per tracked field.

    ``default`` where the type does not name the field.
    """
    fields = tracked_fields(params)
    return np.array(
        [[getattr(ct.secretion, key).get(f, default) for f in fields]
         for ct in params.cell_types.values()], dtype=np.float64,
    ).reshape(len(params.cell_types), len(fields))  # fmt: skip


def release_internalized(state, rows: np.ndarray, fields: list[str],
                         released: np.ndarray) -> None:  # fmt: skip
    """Put ``released[type]`` of the amounts of the cells at ``rows`` into their voxels.

    PhysiCell's ``release_internalized_substrates`` (at the removal of a cell): each field
    gains ``fraction × amount / V_voxel`` at the cell's voxel (``V_voxel = h³``, the exchange's
    convention); every amount of those cells is then 0.

    Args:
        state: the agent state (its fields are changed in place).
        rows: ``[k]`` int row indices of the cells.
        fields: the tracked fields (:func:`tracked_fields`).
        released: ``[n_types, len(fields)]`` fractions (:func:`fraction_table`).
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not fields or rows.size == 0:
        return
    c = state.cells
    cols = ensure_internalized_columns(c, fields)
    amounts = c.columns("internal")
    vox = state.voxels()[rows]
    frac = released[c.type[rows]]
    inv_vv = 1.0 / float(state.mesh.h) ** 3
    for k, (f, col) in enumerate(zip(fields, cols, strict=True)):
        gain = frac[:, k] * amounts[rows, col]
        np.add.at(state.fields[f].reshape(-1), vox, gain * inv_vv)
        amounts[rows, col] = 0.0


@register_process
class SecretionProcess(Process):
    """Secretion and uptake of the diffusing fields by the cells."""

    name: ClassVar[str] = "secretion"
    title: ClassVar[str] = "cells secrete and take up the diffusing fields"
    clock: ClassVar[str] = "diffusion"
    order: ClassVar[float] = ORDER["diffusion"]["secretion"]
    Params: ClassVar[type[BaseModel]] = SecretionParams
    CellParams: ClassVar[type[BaseModel]] = SecretionCell
    field_keyed: ClassVar[tuple[str, ...]] = (
        "uptake_per_min", "secretion_per_min", "secretion_target", "apoptotic_secretion_per_min",
        "necrotic_secretion_per_min", "net_export", "fraction_released_at_death",
        "fraction_transferred_when_ingested",
    )  # fmt: skip
    signals: ClassVar[tuple[str, ...]] = (INTRACELLULAR,)
    behaviours: ClassVar[tuple[str, ...]] = (
        "{substrate} secretion", "{substrate} secretion target", "{substrate} uptake",
        "{substrate} export",
    )  # fmt: skip
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A, Friedman SH, Macklin P (2016) BioFVM. Bioinformatics 32:1256-1258",
    )

    @classmethod
    def field_names(cls, params: Any) -> list[str]:
        """The fields a cell type may name: the diffusing ones."""
        return list(diffusing_fields(params))

    @classmethod
    def check(cls, params: Any, mesh: Any, dt: float) -> list[str]:
        """Without tracking: no rule reads ``intracellular <s>`` and no fraction is set."""
        if params.secretion.track_internalized:
            return []
        problems = []
        rs = params.rule_set
        for rule in rs.table if rs is not None else ():
            if rs.dictionary.signal(rule.signal).template == INTRACELLULAR:
                problems.append(
                    f"{rule.origin}: signal {rule.signal!r} (the amount inside the cell) is "
                    f"computed only when the amounts are tracked: set [params.secretion] "
                    f"track_internalized = true"
                )
        for tname, ct in params.cell_types.items():
            for key in ("fraction_released_at_death", "fraction_transferred_when_ingested"):
                if getattr(ct.secretion, key):
                    problems.append(
                        f"params.cell_types.{tname}.secretion.{key} is set, but nothing is "
                        f"inside the cells to release or transfer: set [params.secretion] "
                        f"track_internalized = true"
                    )
        return problems

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """Secretion rate and target, uptake rate, per diffusing field (0 where not named)."""
        sec: SecretionCell = cell.secretion
        out = {}
        for s in diffusing_fields(params):
            out[f"{s} secretion"] = sec.secretion_per_min.get(s, 0.0)
            out[f"{s} secretion target"] = sec.secretion_target.get(s, 0.0)
            out[f"{s} uptake"] = sec.uptake_per_min.get(s, 0.0)
            out[f"{s} export"] = sec.net_export.get(s, 0.0)
        return out

    def type_behaviours(self, state, beh) -> None:
        """Dead cells: debris secretion instead of the type's, a fraction of its uptake."""
        c = state.cells
        dead = np.flatnonzero(c.dead != 0)
        if not dead.size:
            return
        kind = c.dead[dead]
        t = c.type[dead]
        for s in self.names:
            apo = np.array([x.apoptotic_secretion_per_min.get(s, 0.0) for x in self.cell_tables])
            nec = np.array([x.necrotic_secretion_per_min.get(s, 0.0) for x in self.cell_tables])
            beh.column(f"{s} secretion")[dead] = np.where(kind == APOPTOTIC, apo[t], nec[t])
            beh.column(f"{s} uptake")[dead] *= self.dead_uptake[t]
            beh.column(f"{s} export")[dead] = 0.0  # PhysiCell zeroes net export at death

    def __init__(self, params: Any) -> None:
        super().__init__(params)
        if self.table.after_diffusion:  # PhysiCell's order on the diffusion clock
            self.order = ORDER["diffusion"]["diffusion"] + 5

    def setup(self, state) -> None:
        """One exchanger per diffusing field."""
        self.dead_uptake = np.array([x.dead_uptake_fraction for x in self.cell_tables])
        rs = self.params.rule_set
        self.exports = any(x.net_export for x in self.cell_tables) or (
            rs is not None and any(rs.governs(f"{s} export")
                                   for s in diffusing_fields(self.params))
        )  # fmt: skip
        fields = diffusing_fields(self.params)
        self.names = list(fields)
        self.every = {s: field_substeps(f, state.dt_diff) for s, f in fields.items()}
        self.active: list[str] = []  # the fields some cell exchanges (set at each rate bind)
        #: (rows or None for all, field names): the fields bound together (set at each rate bind)
        self.groups: list[tuple[np.ndarray | None, list[str]]] = []
        self.exchange = {s: SecretionUptake(state.mesh, self.table.scheme) for s in self.names}
        self.tracked = tracked_fields(self.params)
        if self.tracked:
            ensure_internalized_columns(state.cells, self.tracked)
        self._amounts: dict[str, np.ndarray] = {}
        self._substeps = 0

    def bind(self, state, first: bool) -> None:
        """Bind the cells to their voxels (rates too when ``first``, else positions only)."""
        c = state.cells
        if not c.n:
            return
        if self.tracked:
            self._take()  # nothing pending after a whole mechanics step; a guard
            ensure_internalized_columns(c, self.tracked)  # e.g. cells restored or replaced
            # views of the live rows, valid until the rows change (after the diffusion steps)
            self._amounts = {s: c.internal(internalized_column(s)) for s in self.tracked}
        bins = state.voxel_bins() if self._share_bins(state) else None
        if not first:
            for rows, names in self.groups:
                bind_positions_shared([self.exchange[s] for s in names], c.position, rows,
                                      bins)  # fmt: skip
            return
        beh = state.behaviours
        self.active = []
        # fields exchanged by the same cells share one binning and one pass (a group); a
        # field exchanged by some cells only is bound to those rows (a subset's sums are the
        # same numbers: the other cells add exact zeros), unless its amounts are tracked
        groups: dict[bytes | None, tuple[np.ndarray, list[str]]] = {}
        rates = {}
        for s in self.names:
            sec = beh.column(f"{s} secretion")
            tgt = beh.column(f"{s} secretion target")
            upt = beh.column(f"{s} uptake")
            exp = beh.column(f"{s} export") if self.exports else None
            mask = (sec != 0.0) | (upt != 0.0)
            if exp is not None:
                mask |= exp != 0.0
            if not mask.any():
                continue  # no cell exchanges it: nothing to bind or step
            self.active.append(s)
            rates[s] = (sec, tgt, upt, exp)
            key = None if (s in self.tracked or mask.all()) else np.packbits(mask).tobytes()
            groups.setdefault(key, (mask, []))[1].append(s)
        self.groups = []
        for key, (mask, names) in groups.items():
            rows = None if key is None else np.flatnonzero(mask)
            for s in names:
                sec, tgt, upt, exp = rates[s]
                exp = _rows(exp, rows) if exp is not None else 0.0
                self.exchange[s].bind_rates(_rows(c.volume, rows), _rows(sec, rows),
                                            _rows(tgt, rows), _rows(upt, rows), exp)  # fmt: skip
            bind_positions_shared([self.exchange[s] for s in names], c.position, rows, bins)
            self.groups.append((rows, names))

    def _share_bins(self, state) -> bool:
        """Whether the state's voxel bins serve this process's exchangers.

        The same mesh, and many cells (a small case sorts as fast as it filters).
        """
        return state.cells.n >= PARALLEL_MIN_CELLS and all(
            e.mesh == state.mesh for e in self.exchange.values())

    def step(self, state, dt: float) -> None:
        """Sources and sinks over one diffusion step."""
        if not state.cells.n:
            return
        j = state.diff_step
        if not self.tracked:
            for s in self.active:
                k = self.every[s]
                if due(k, j):
                    self.exchange[s].step(state.fields[s], dt * k)
            return
        for s in self.active:
            k = self.every[s]
            if due(k, j):
                self.exchange[s].step_accumulate(state.fields[s], dt * k)
        self._substeps += 1
        if self._substeps >= state.n_diff:  # the mechanics step's last: amounts up to date
            self._take()

    def _take(self) -> None:
        """What the field gained since the last take, the cells lost."""
        for s, amounts in self._amounts.items():
            self.exchange[s].take_exchanged(amounts)
        self._substeps = 0

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """``intracellular <s>``: each cell's amount of ``s`` (field unit × µm³)."""
        if target not in self.tracked:
            raise ConfigError(f"signal 'intracellular {target}' needs [params.secretion] "
                              f"track_internalized = true")  # fmt: skip
        return state.cells.internal(internalized_column(target)).copy()
