"""Cycle: cells progress through the phases of a PhysiCell cycle model and divide.

Contract:
    * PhysiCell's standard models (:data:`invasim.biology.cycle.STANDARD_MODELS`): ``live``,
      ``basic_Ki67``, ``advanced_Ki67``, ``flow_cytometry``, ``flow_cytometry_separated``,
      ``cycling_quiescent``, with PhysiCell's phases, default rates, default fixed-duration
      phases and division phase. Each phase is left at its rate (exponential waiting times, or
      fixed durations); leaving the division phase divides the cell and both daughters start
      the next phase (the division process copies the mother's phase).
    * Behaviours: the rate of leaving phase 0 is ``cycle entry`` (1/min); contact inhibition
      blocks it where the cell's simple pressure exceeds the type's ``pressure_threshold``.
      The rate of leaving phase ``k >= 1`` is ``exit from cycle phase k`` (1/min), per cell,
      for the phases the type's model has (a fixed phase then lasts 1/rate, as in PhysiCell);
      a rule on a phase the type's model lacks is a configuration error (PhysiCell warns and
      ignores it).
    * The cell type's cycle entry depends on the oxygen at the cell (PhysiCell's standard
      model, which scales phase 0's exit in every standard model):
      ``rate × clip((o2 − threshold)/(saturation − threshold), 0, 1)``; without an oxygen
      field, or with ``oxygen_dependent = false``, it is the rate. A rule on cycle entry
      replaces that dependence in the types it governs (the rule starts from the rate).
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
    LIVE_RATE,
    MAX_EXIT_PHASES,
    STANDARD_MODELS,
    CycleModel,
    CycleParams,
    advance_cycle,
    standard_model,
)

OXYGEN = "oxygen"
#: the behaviours of leaving phases 1 .. 5 (phase 0's is ``cycle entry``)
EXITS = tuple(f"exit from cycle phase {k}" for k in range(1, MAX_EXIT_PHASES))


def _phases(model: str) -> str:
    return ", ".join(STANDARD_MODELS[model].phases)


class CycleCell(BaseModel):
    """``[params.cell_types.<type>.cycle]``: PhysiCell's cycle of a cell type."""

    model_config = ConfigDict(extra="forbid")

    model: Literal[
        "live", "basic_Ki67", "advanced_Ki67", "flow_cytometry", "flow_cytometry_separated",
        "cycling_quiescent",
    ] = Field(
        "flow_cytometry_separated",
        description="cycle model (PhysiCell's standard models: live; basic_Ki67 Ki67-, Ki67+; "
        "advanced_Ki67 Ki67-, Ki67+ (premitotic), Ki67+ (postmitotic); flow_cytometry G0/G1, "
        "S, G2/M; flow_cytometry_separated G0/G1, S, G2, M; cycling_quiescent Quiescent, "
        "Cycling)",
    )  # fmt: skip
    rate_per_min: float = Field(
        LIVE_RATE, ge=0, description="live model: division rate [1/min] (PhysiCell 0.0432/h)"
    )
    durations_min: list[float] | None = Field(
        None,
        description="models other than live: mean (fixed: exact) duration of each phase, in "
        "the model's phase order [min]; inf: the phase is never left. None: the defaults "
        "(PhysiCell's rates; flow_cytometry_separated 300, 480, 240, 60). Not read by live",
    )
    fixed_durations: bool | list[bool] | None = Field(
        None,
        description="phases last exactly their duration (else exponential waiting times); one "
        "flag for every phase, or one per phase (PhysiCell's fixed_duration attributes). "
        "None: PhysiCell's defaults (fixed: Ki67+ of basic_Ki67, both Ki67+ phases of "
        "advanced_Ki67, Cycling of cycling_quiescent; none in the other models)",
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
        k = len(STANDARD_MODELS[self.model].phases)
        per_phase = f"one per phase of {self.model}: {_phases(self.model)}"
        d = self.durations_min
        if self.model != "live" and d is not None:
            if len(d) != k or any(not x > 0 for x in d):  # not > 0: also NaN
                raise ValueError(f"durations_min needs {k} durations > 0 min ({per_phase}; inf: "
                                 f"never left), got {d}")  # fmt: skip
        if isinstance(self.fixed_durations, list) and len(self.fixed_durations) != k:
            raise ValueError(f"fixed_durations: one flag, or {k} ({per_phase}), got "
                             f"{self.fixed_durations}")  # fmt: skip
        if self.proliferation_o2_saturation_mmHg <= self.proliferation_o2_threshold_mmHg:
            raise ValueError("proliferation_o2_saturation_mmHg must exceed the threshold")
        return self

    def cycle_model(self) -> CycleModel:
        """The :class:`~invasim.biology.cycle.CycleModel` of this type."""
        k = len(STANDARD_MODELS[self.model].phases)
        fixed = self.fixed_durations
        flags = tuple(fixed) if isinstance(fixed, list) else None if fixed is None else (fixed,) * k
        if self.model == "live":
            return CycleModel("live", STANDARD_MODELS["live"].phases, (self.rate_per_min,),
                              flags or ())  # fmt: skip
        return standard_model(self.model, self.durations_min, flags)


@register_process
class CycleProcess(Process):
    """Cell-cycle progression."""

    name: ClassVar[str] = "cycle"
    title: ClassVar[str] = "cell-cycle progression (PhysiCell's cycle models)"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["cycle"]
    CellParams: ClassVar[type[BaseModel]] = CycleCell
    behaviours: ClassVar[tuple[str, ...]] = ("cycle entry", *EXITS)
    requires: ClassVar[tuple[str, ...]] = ("division",)
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A et al. (2018) PhysiCell. PLoS Comput Biol 14:e1005991",
    )

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The rate of the first phase, and of each later phase the type's model has."""
        rates = cell.cycle.cycle_model().rates
        return {"cycle entry": rates[0],
                **{EXITS[k - 1]: rates[k] for k in range(1, min(len(rates), MAX_EXIT_PHASES))}}

    @classmethod
    def check(cls, params: Any, mesh, dt: float) -> list[str]:
        """Contact inhibition needs the contacts process; rules name phases the model has."""
        problems = []
        if "contacts" not in params.processes:
            for name, ct in params.cell_types.items():
                if ct.cycle.pressure_threshold is not None:
                    problems.append(
                        f"params.cell_types.{name}.cycle.pressure_threshold needs the "
                        f"'contacts' process in params.processes (it computes the pressure)"
                    )
        rs = getattr(params, "rule_set", None)
        types = list(params.cell_types.values())
        for rule in rs.table if rs is not None else ():
            if rule.behaviour not in EXITS:
                continue
            k = EXITS.index(rule.behaviour) + 1
            cyc = types[rs.dictionary.cell_type(rule.cell_type)].cycle
            phases = STANDARD_MODELS[cyc.model].phases
            if k >= len(phases):
                listed = ", ".join(f"{p} {n}" for p, n in enumerate(phases))
                exits = ", ".join(repr(b) for b in ("cycle entry", *EXITS[: len(phases) - 1]))
                problems.append(
                    f"{rule.origin}: {rule.behaviour!r} of {rule.cell_type!r}: its cycle model "
                    f"{cyc.model} has phases {listed} (their exits: {exits}); PhysiCell ignores "
                    f"such a rule"
                )
        return problems

    def setup(self, state) -> None:
        """The per-type tables; which phase exits are per cell."""
        cells = [ct.cycle for ct in self.params.cell_types.values()]
        thr = [c.pressure_threshold if c.pressure_threshold is not None else math.inf
               for c in cells]  # fmt: skip
        models = [c.cycle_model() for c in cells]
        self.cycle_params = CycleParams.from_models(models, thr)
        self.rate0 = np.array([m.rates[0] for m in models], dtype=np.float64)
        self.thr = np.array([c.proliferation_o2_threshold_mmHg for c in cells])
        self.sat = np.array([c.proliferation_o2_saturation_mmHg for c in cells])
        self.o2_dep = np.array([c.oxygen_dependent for c in cells], dtype=bool)
        beh = state.behaviours
        k_max = min(max(m.n_phases for m in models), MAX_EXIT_PHASES)
        # a phase's exit is read per cell only where a layer after the cell type can change it
        # (rules, traits, interventions); else the types' rates are those of the tables
        self.exits = [k for k in range(1, k_max)
                      if beh.has(EXITS[k - 1]) and beh.varies_within_type(EXITS[k - 1])]

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
        beh = state.behaviours
        exits = {k: beh.column(EXITS[k - 1]) for k in self.exits}
        state.dividing = advance_cycle(
            c, self.cycle_params, dt, state.seed, state.pheno_step, pressure=pressure,
            entry_rate=beh.column("cycle entry"), exit_rates=exits or None,
        )  # fmt: skip
