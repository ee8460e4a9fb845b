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
      step).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.cells import APOPTOTIC
from invasim.physics.exchange import SecretionUptake
from invasim.processes.diffusion import diffusing_fields

OXYGEN = "oxygen"


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

    @model_validator(mode="after")
    def _finite(self) -> SecretionCell:
        for table in (self.uptake_per_min, self.secretion_per_min, self.secretion_target,
                      self.apoptotic_secretion_per_min, self.necrotic_secretion_per_min):
            if any(not (v >= 0 and math.isfinite(v)) for v in table.values()):
                raise ValueError("uptake, secretion rates and targets must be finite and >= 0")
        return self


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
        "necrotic_secretion_per_min", "net_export",
    )  # fmt: skip
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
        self.names = list(diffusing_fields(self.params))
        self.exchange = {s: SecretionUptake(state.mesh, self.table.scheme) for s in self.names}

    def bind(self, state, first: bool) -> None:
        """Bind the cells to their voxels (rates too when ``first``, else positions only)."""
        c = state.cells
        if not c.n:
            return
        if not first:
            for s in self.names:
                self.exchange[s].bind_positions(c.position)
            return
        beh = state.behaviours
        for s in self.names:
            sec = beh.column(f"{s} secretion")
            tgt = beh.column(f"{s} secretion target")
            upt = beh.column(f"{s} uptake")
            exp = beh.column(f"{s} export")
            self.exchange[s].bind(c.position, c.volume, sec, tgt, upt,
                                  exp if self.exports else 0.0)  # fmt: skip

    def step(self, state, dt: float) -> None:
        """Sources and sinks over one diffusion step."""
        if not state.cells.n:
            return
        for s in self.names:
            self.exchange[s].step(state.fields[s], dt)
