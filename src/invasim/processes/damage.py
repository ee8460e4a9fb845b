"""Damage: each cell's accumulated damage, raised by attacks and a damage rate, lowered by repair.

Contract:
    * Per cell, ``damage`` (dimensionless; PhysiCell's ``cell_integrity.damage``) and
      ``total_attack_time`` (min, the time it has been under attack), both bookkeeping columns
      copied to the daughters at division (PhysiCell: "damage is heritable"). The attack
      process adds to both while a cell is attacked.
    * Over a phenotype step ``dt``, ``dD/dt = r − k D`` with ``r`` the behaviour
      ``damage rate`` (1/min) and ``k`` the ``damage repair rate`` (1/min), integrated as
      PhysiCell does (``Cell_Integrity::advance_damage``, backward Euler):
      ``D ← (D + r dt) / (1 + k dt)``; a cell with neither rate keeps its damage. Dead cells
      too (as in PhysiCell).
    * Damage raises death only through rules (``damage increases apoptosis``), as in
      PhysiCell: the process itself kills nothing.
    * Signals: ``damage``, ``total attack time``. Cell type sub-table
      ``[params.cell_types.<type>.damage]``: ``rate_per_min``, ``repair_rate_per_min``.
    * Clock: phenotype, after volume and before death (PhysiCell advances damage right before
      it checks for death).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.rules.dictionary import register_behaviour, register_signal

DAMAGE = "damage"
ATTACK_TIME = "total_attack_time"

register_signal("damage", "dimensionless",
                "accumulated damage (attacks, damage rate; lowered by repair)", lower=0.0)
register_signal("total attack time", "min", "total time the cell has been under attack",
                lower=0.0)
register_behaviour("damage rate", "1/min", "rate at which the cell accumulates damage",
                   lower=0.0)
register_behaviour("damage repair rate", "1/min", "rate at which the cell repairs its damage",
                   lower=0.0)  # fmt: skip


def ensure_damage_columns(cells) -> None:
    """Add the ``damage`` and ``total_attack_time`` bookkeeping columns if missing."""
    for name in (DAMAGE, ATTACK_TIME):
        if cells.role_of(name) is None:
            cells.add_state(name, 0.0, "copy")


class DamageCell(BaseModel):
    """``[params.cell_types.<type>.damage]``: PhysiCell's cell integrity."""

    model_config = ConfigDict(extra="forbid")

    rate_per_min: float = Field(
        0.0, ge=0, description="damage rate [1/min] (PhysiCell damage_rate, default 0)"
    )
    repair_rate_per_min: float = Field(
        0.0, ge=0, description="damage repair rate [1/min] (PhysiCell damage_repair_rate, 0)"
    )

    @model_validator(mode="after")
    def _finite(self) -> DamageCell:
        if not (math.isfinite(self.rate_per_min) and math.isfinite(self.repair_rate_per_min)):
            raise ValueError("damage rates must be finite")
        return self


def advance_damage(damage: np.ndarray, rate: np.ndarray, repair: np.ndarray, dt: float) -> None:
    """``D ← (D + r dt)/(1 + k dt)`` in place where ``r`` or ``k`` is positive (PhysiCell)."""
    act = (rate > 1e-8) | (repair > 1e-8)  # PhysiCell's tolerance
    if act.any():
        damage[act] = (damage[act] + rate[act] * dt) / (1.0 + repair[act] * dt)


@register_process
class DamageProcess(Process):
    """Damage accumulation and repair."""

    name: ClassVar[str] = "damage"
    title: ClassVar[str] = "cells accumulate damage (attacks, damage rate) and repair it"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["damage"]
    CellParams: ClassVar[type[BaseModel]] = DamageCell
    signals: ClassVar[tuple[str, ...]] = ("damage", "total attack time")
    behaviours: ClassVar[tuple[str, ...]] = ("damage rate", "damage repair rate")
    metric_names: ClassVar[tuple[str, ...]] = ("damage_mean",)
    references: ClassVar[tuple[str, ...]] = (
        "Johnson JAI, Bergman DR, Rocha HL, ... Macklin P (2025) Human interpretable grammar "
        "encodes multicellular systems biology models to democratize virtual cell laboratories. "
        "Cell 188:4711-4733 (PhysiCell 1.14 cell integrity)",
    )

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's damage and repair rates."""
        d = cell.damage
        return {"damage rate": d.rate_per_min, "damage repair rate": d.repair_rate_per_min}

    def setup(self, state) -> None:
        """The bookkeeping columns."""
        ensure_damage_columns(state.cells)

    def step(self, state, dt: float) -> None:
        """Accumulate and repair over the phenotype step."""
        c = state.cells
        if not c.n:
            return
        beh = state.behaviours
        advance_damage(c.state(DAMAGE), beh.column("damage rate"),
                       beh.column("damage repair rate"), dt)  # fmt: skip

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """Damage or total attack time of each cell."""
        ensure_damage_columns(state.cells)
        return state.cells.state(DAMAGE if template == "damage" else ATTACK_TIME).copy()

    def metrics(self, state) -> dict[str, float]:
        """Mean damage of the live cells."""
        c = state.cells
        live = c.dead == 0
        return {"damage_mean": float(c.state(DAMAGE)[live].mean()) if live.any() else 0.0}
