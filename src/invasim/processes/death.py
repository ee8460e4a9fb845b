"""Death: apoptosis and oxygen-dependent necrosis; dead cells are removed when they are done.

Contract:
    * PhysiCell's death models (:mod:`invasim.biology.death`): a live cell becomes apoptotic at
      rate ``apoptosis`` and necrotic at rate ``necrosis`` (1/min, per phenotype step with
      probability ``1 − exp(−rate dt)``, counter-based random numbers). An apoptotic cell is
      removed after ``apoptosis_duration_min``; a necrotic cell swells, lyses at
      ``relative_rupture_volume`` and is removed ``lysed_duration_min`` later.
    * Behaviours (per cell, from the behaviour matrix): ``apoptosis`` and ``necrosis``. The
      cell type's necrosis depends on the oxygen at the cell (PhysiCell's standard model):
      ``max_rate clip((threshold − o2)/(threshold − max_threshold), 0, 1)``; without an oxygen
      field it is 0. A rule on necrosis replaces that dependence in the types it governs.
    * Signal ``time since death`` (min, 0 for live cells; the time of death is the end of the
      phenotype step in which the cell died, kept only when a rule reads the signal).
    * Cell type sub-table ``[params.cell_types.<type>.death]``.
    * Clock: phenotype, after volume. It marks the rows to remove; the engine removes them at
      the end of the step. With internalised substrates tracked (the secretion process's
      ``track_internalized``), the cells it marks release their type's
      ``fraction_released_at_death`` of each amount into their voxels first (PhysiCell
      releases them when it deletes the cell: at the end of apoptosis or of the lysed phase).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.biology.death import DeathParams, advance_death
from invasim.processes.secretion import fraction_table, release_internalized, tracked_fields
from invasim.rules.dictionary import register_signal

OXYGEN = "oxygen"
DEATH_TIME = "death_time_min"

register_signal("time since death", "min", "time since the cell died (0 while alive)",
                ("time dead",), lower=0.0)


class DeathCell(BaseModel):
    """``[params.cell_types.<type>.death]``: PhysiCell's apoptosis and necrosis models."""

    model_config = ConfigDict(extra="forbid")

    apoptosis_rate_per_min: float = Field(
        5.31667e-5, ge=0, description="apoptosis rate [1/min] (PhysiCell default cell)"
    )
    apoptosis_duration_min: float = Field(
        516.0, ge=0, description="time an apoptotic cell remains [min] (PhysiCell)"
    )
    apoptosis_fixed_duration: bool = Field(
        True,
        description="apoptotic cells are removed exactly apoptosis_duration_min after death; "
        "false: at the rate 1/apoptosis_duration_min (PhysiCell's fixed_duration=\"false\")",
    )
    lysed_fixed_duration: bool = Field(
        True,
        description="lysed necrotic cells are removed exactly lysed_duration_min after "
        "rupture; false: at the rate 1/lysed_duration_min (PhysiCell's fixed_duration=\"false\" "
        "of the necrotic lysed phase)",
    )
    necrosis_oxygen_dependent: bool = Field(
        True,
        description="necrosis rises as oxygen falls below the threshold (PhysiCell's "
        "standard O2-based phenotype); false: the constant rate necrosis_max_rate_per_min "
        "(PhysiCell's death_rate in a 1.14 project without that custom function)",
    )
    necrosis_threshold_mmHg: float = Field(
        5.0, ge=0, description="necrosis starts below this oxygen [mmHg] (PhysiCell)"
    )
    necrosis_max_threshold_mmHg: float = Field(
        2.5,
        ge=0,
        description="necrosis rate is maximal at and below this oxygen [mmHg] (PhysiCell)",
    )
    necrosis_max_rate_per_min: float = Field(
        1.0 / 360.0, ge=0, description="maximal necrosis rate [1/min] (PhysiCell 1/360)"
    )
    necrotic_swell_rate_per_min: float = Field(
        0.67 / 60.0, gt=0, description="necrotic swelling rate [1/min] (PhysiCell 0.67/h)"
    )
    relative_rupture_volume: float = Field(
        2.0, gt=1, description="necrotic volume at lysis over volume at death (PhysiCell 2)"
    )
    lysed_duration_min: float = Field(
        86400.0, ge=0, description="time a lysed necrotic cell remains [min] (PhysiCell 60 d)"
    )

    @model_validator(mode="after")
    def _thresholds(self) -> DeathCell:
        if self.necrosis_max_threshold_mmHg >= self.necrosis_threshold_mmHg:
            raise ValueError("necrosis_max_threshold_mmHg must be below necrosis_threshold_mmHg")
        return self


def death_params(params: Any) -> DeathParams:
    """The per-type :class:`~invasim.biology.death.DeathParams` (defaults without the table)."""
    types = list(params.cell_types.values())
    d = [getattr(ct, "death", None) or DeathCell() for ct in types]
    col = lambda f: np.array([getattr(x, f) for x in d], dtype=np.float64)  # noqa: E731
    return DeathParams(
        apoptosis_rate=col("apoptosis_rate_per_min"),
        apoptosis_duration=col("apoptosis_duration_min"),
        necrosis_max_rate=col("necrosis_max_rate_per_min"),
        necrosis_threshold=col("necrosis_threshold_mmHg"),
        necrosis_max_threshold=col("necrosis_max_threshold_mmHg"),
        necrotic_swell_rate=col("necrotic_swell_rate_per_min"),
        relative_rupture_volume=col("relative_rupture_volume"),
        lysed_duration=col("lysed_duration_min"),
        apoptosis_fixed=np.array([x.apoptosis_fixed_duration for x in d], dtype=bool),
        lysed_fixed=np.array([x.lysed_fixed_duration for x in d], dtype=bool),
        n_types=len(types),
    )


@register_process
class DeathProcess(Process):
    """Apoptosis and necrosis."""

    name: ClassVar[str] = "death"
    title: ClassVar[str] = "apoptosis and oxygen-dependent necrosis"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["death"]
    CellParams: ClassVar[type[BaseModel]] = DeathCell
    behaviours: ClassVar[tuple[str, ...]] = ("apoptosis", "necrosis")
    signals: ClassVar[tuple[str, ...]] = ("time since death",)
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A et al. (2018) PhysiCell. PLoS Comput Biol 14:e1005991",
    )

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """Apoptosis rate and maximal necrosis rate (rules scale from these)."""
        d = cell.death
        return {"apoptosis": d.apoptosis_rate_per_min, "necrosis": d.necrosis_max_rate_per_min}

    def setup(self, state) -> None:
        """The per-type tables; the time of death column if a rule reads it."""
        self.death_params = death_params(self.params)
        self.constant_necrosis = np.array(
            [not ct.death.necrosis_oxygen_dependent
             for ct in self.params.cell_types.values()], dtype=bool,
        )  # fmt: skip
        rs = self.params.rule_set
        self.timed = rs is not None and any(
            rs.dictionary.signals[int(i)].name == "time since death"
            for i in rs.compiled.used_signals
        )
        if self.timed and state.cells.role_of(DEATH_TIME) is None:
            state.cells.add_state(DEATH_TIME, 0.0, "copy")
        self.tracked = tracked_fields(self.params)
        self.released = fraction_table(self.params, "fraction_released_at_death", 0.0)

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """Time since death (min; 0 for live cells)."""
        c = state.cells
        if c.role_of(DEATH_TIME) is None:
            return np.zeros(c.n)
        return np.where(c.dead != 0, state.t - c.state(DEATH_TIME), 0.0)

    def type_behaviours(self, state, beh) -> None:
        """The types' necrosis: from the oxygen at each cell (0 without an oxygen field)."""
        c = state.cells
        col = beh.column("necrosis")
        if OXYGEN in state.fields:
            col[:] = self.death_params.necrosis_rate(state.field_at_cells(OXYGEN), c.type)
        else:
            col[:] = 0.0
        if self.constant_necrosis.any():
            fixed = self.constant_necrosis[c.type]
            col[fixed] = self.death_params.necrosis_max_rate[c.type[fixed]]

    def step(self, state, dt: float) -> None:
        """Death over the phenotype step; marks the rows to remove."""
        c = state.cells
        if not c.n:
            return
        beh = state.behaviours
        alive = c.dead == 0 if self.timed else None
        state.removing = advance_death(
            c, self.death_params, dt, state.seed, state.pheno_step,
            apoptosis_rate=beh.column("apoptosis"), necrosis_rate=beh.column("necrosis"),
        )  # fmt: skip
        if alive is not None:  # died in this step: at its end (the phenotype step's time)
            c.state(DEATH_TIME)[alive & (c.dead != 0)] = state.t
        if self.tracked and state.removing.size:
            release_internalized(state, state.removing, self.tracked, self.released)
