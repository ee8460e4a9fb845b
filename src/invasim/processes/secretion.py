"""Secretion and uptake: cells as sources and sinks of the diffusing fields at their voxels.

Contract:
    * A live cell of volume ``V`` secretes field ``s`` at rate ``σ`` towards the target
      ``s*`` and takes it up at rate ``μ`` (PhysiCell/BioFVM's bulk source model): per voxel,
      ``∂u/∂t = Σ_cells (V / V_voxel) (σ (s* − u) − μ u)``, integrated implicitly per voxel
      (BioFVM) or exactly (:class:`~invasim.physics.exchange.SecretionUptake`). Dead cells
      neither secrete nor take up (PhysiCell zeroes both at death).
    * Behaviours (per cell, from the behaviour matrix): ``<s> secretion`` (1/min),
      ``<s> secretion target`` (field unit), ``<s> uptake`` (1/min) for every diffusing ``s``.
      Cell type sub-table ``[params.cell_types.<type>.secretion]``.
    * Clock: diffusion, before diffusion. Cells are bound to their voxels at the start of each
      mechanics step, after the last move (volumes and rates at the first mechanics step of a
      phenotype step: they change only in the phenotype step).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.physics.exchange import SecretionUptake
from invasim.processes.diffusion import diffusing_fields

OXYGEN = "oxygen"


class SecretionParams(BaseModel):
    """``[params.secretion]``: the per-voxel update."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["implicit", "exact"] = Field(
        "implicit", description="per-voxel secretion/uptake update (PhysiCell: implicit)"
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

    @model_validator(mode="after")
    def _finite(self) -> SecretionCell:
        for table in (self.uptake_per_min, self.secretion_per_min, self.secretion_target):
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
        "uptake_per_min", "secretion_per_min", "secretion_target",
    )  # fmt: skip
    behaviours: ClassVar[tuple[str, ...]] = (
        "{substrate} secretion", "{substrate} secretion target", "{substrate} uptake",
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
        return out

    def setup(self, state) -> None:
        """One exchanger per diffusing field."""
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
        alive = c.dead == 0
        beh = state.behaviours
        for s in self.names:
            sec = beh.column(f"{s} secretion")
            tgt = beh.column(f"{s} secretion target")
            upt = beh.column(f"{s} uptake")
            self.exchange[s].bind(
                c.position, c.volume, np.where(alive, sec, 0.0), tgt, np.where(alive, upt, 0.0)
            )

    def step(self, state, dt: float) -> None:
        """Sources and sinks over one diffusion step."""
        if not state.cells.n:
            return
        for s in self.names:
            self.exchange[s].step(state.fields[s], dt)
