"""Cycle: cells progress through the phases of a PhysiCell cycle model and divide.

Contract:
    * PhysiCell's ``live`` and ``flow_cytometry_separated`` models (:mod:`invasim.biology.cycle`):
      each phase is left at its rate (exponential waiting times, or fixed durations); leaving
      the last phase divides the cell. The rate of the first phase is the behaviour
      ``cycle entry`` (1/min); contact inhibition blocks it where the cell's simple pressure
      exceeds the type's ``pressure_threshold``.
    * The cell type's cycle entry depends on the oxygen at the cell (PhysiCell's standard
      model): ``rate × clip((o2 − threshold)/(saturation − threshold), 0, 1)``; without an
      oxygen field, or with ``oxygen_dependent = false``, it is the rate. A rule on cycle
      entry replaces that dependence in the
      types it governs (the rule starts from the rate).
    * Cell type sub-table ``[params.cell_types.<type>.cycle]``.
    * Clock: phenotype, after death. It marks the dividing rows; the division process divides.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.biology.cycle import (
    FLOW_CYTOMETRY_DURATIONS,
    LIVE_RATE,
    CycleParams,
    advance_cycle,
    flow_cytometry_separated,
    live,
)

OXYGEN = "oxygen"


class CycleCell(BaseModel):
    """``[params.cell_types.<type>.cycle]``: PhysiCell's cycle of a cell type."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["live", "flow_cytometry_separated"] = Field(
        "flow_cytometry_separated", description="cycle model (PhysiCell's names)"
    )
    rate_per_min: float = Field(
        LIVE_RATE, ge=0, description="live model: division rate [1/min] (PhysiCell 0.0432/h)"
    )
    durations_min: list[float] = Field(
        default_factory=lambda: list(FLOW_CYTOMETRY_DURATIONS),
        description="flow_cytometry_separated: mean durations of G0/G1, S, G2, M [min] "
        "(PhysiCell 300, 480, 240, 60)",
    )
    fixed_durations: bool | list[bool] = Field(
        False,
        description="phases last exactly their duration (else exponential waiting times); one "
        "flag for every phase, or one per phase (G0/G1, S, G2, M; PhysiCell's "
        "fixed_duration attributes)",
    )
    oxygen_dependent: bool = Field(
        True,
        description="cycle entry scales with the oxygen at the cell (PhysiCell's standard "
        "O2-based phenotype); false: the constant rate (a PhysiCell 1.14 project without "
        "that custom function, where rules set any dependence)",
    )
    proliferation_o2_threshold_mmHg: float = Field(
        5.0, ge=0, description="no cycle entry at or below this oxygen [mmHg] (PhysiCell 5)"
    )
    proliferation_o2_saturation_mmHg: float = Field(
        38.0,
        gt=0,
        description="full cycle-entry rate at or above this oxygen [mmHg] "
        "(PhysiCell samples 38; core default 160)",
    )
    pressure_threshold: float | None = Field(
        None,
        gt=0,
        description="contact inhibition: no cycle entry above this simple pressure "
        "[1, PhysiCell's scaled simple pressure]; None: no contact inhibition",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CycleCell:
        if len(self.durations_min) != 4 or any(d <= 0 for d in self.durations_min):
            raise ValueError("durations_min needs 4 positive durations (G0/G1, S, G2, M)")
        if isinstance(self.fixed_durations, list) and len(self.fixed_durations) != 4:
            raise ValueError("fixed_durations: one flag, or 4 (G0/G1, S, G2, M)")
        if self.proliferation_o2_saturation_mmHg <= self.proliferation_o2_threshold_mmHg:
            raise ValueError("proliferation_o2_saturation_mmHg must exceed the threshold")
        return self

    def cycle_model(self):
        """The :class:`~invasim.biology.cycle.CycleModel` of this type."""
        if self.model == "live":
            return live(self.rate_per_min)
        fixed = self.fixed_durations
        flags = tuple(fixed) if isinstance(fixed, list) else (fixed,) * 4
        return flow_cytometry_separated(self.durations_min, flags)


@register_process
class CycleProcess(Process):
    """Cell-cycle progression."""

    name: ClassVar[str] = "cycle"
    title: ClassVar[str] = "cell-cycle progression (PhysiCell's cycle models)"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["cycle"]
    CellParams: ClassVar[type[BaseModel]] = CycleCell
    behaviours: ClassVar[tuple[str, ...]] = ("cycle entry",)
    requires: ClassVar[tuple[str, ...]] = ("division",)
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A et al. (2018) PhysiCell. PLoS Comput Biol 14:e1005991",
    )

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The rate of the first phase."""
        return {"cycle entry": cell.cycle.cycle_model().rates[0]}

    @classmethod
    def check(cls, params: Any, mesh, dt: float) -> list[str]:
        """Contact inhibition needs the contacts process."""
        problems = []
        if "contacts" not in params.processes:
            for name, ct in params.cell_types.items():
                if ct.cycle.pressure_threshold is not None:
                    problems.append(
                        f"params.cell_types.{name}.cycle.pressure_threshold needs the "
                        f"'contacts' process in params.processes (it computes the pressure)"
                    )
        return problems

    def setup(self, state) -> None:
        """The per-type tables."""
        cells = [ct.cycle for ct in self.params.cell_types.values()]
        thr = [c.pressure_threshold if c.pressure_threshold is not None else math.inf
               for c in cells]  # fmt: skip
        self.cycle_params = CycleParams.from_models([c.cycle_model() for c in cells], thr)
        self.rate0 = np.array([c.cycle_model().rates[0] for c in cells], dtype=np.float64)
        self.thr = np.array([c.proliferation_o2_threshold_mmHg for c in cells])
        self.sat = np.array([c.proliferation_o2_saturation_mmHg for c in cells])
        self.o2_dep = np.array([c.oxygen_dependent for c in cells], dtype=bool)

    def type_behaviours(self, state, beh) -> None:
        """The types' cycle entry: the rate times PhysiCell's oxygen factor."""
        t = state.cells.type
        col = beh.column("cycle entry")
        if OXYGEN in state.fields:
            o2 = state.field_at_cells(OXYGEN)
            factor = np.clip((o2 - self.thr[t]) / (self.sat[t] - self.thr[t]), 0.0, 1.0)
            col[:] = self.rate0[t] * np.where(self.o2_dep[t], factor, 1.0)
        else:
            col[:] = self.rate0[t]

    def step(self, state, dt: float) -> None:
        """Advance the cycle; marks the dividing rows."""
        c = state.cells
        if not c.n:
            return
        pressure = state.pressure if state.pressure.shape[0] == c.n else None
        state.dividing = advance_cycle(
            c, self.cycle_params, dt, state.seed, state.pheno_step, pressure=pressure,
            entry_rate=state.behaviours.column("cycle entry"),
        )  # fmt: skip
