"""Custom data: named per-cell variables that rules read and set (PhysiCell's ``custom_data``).

Contract:
    * ``[params.custom_data] variables = { name = "unit" }`` declares the variables; each
      cell type gives its value in ``[params.cell_types.<type>.custom_data] values``
      (0 where not named).
    * Each variable is the behaviour ``custom:<name>`` (so a rule may set it, from any
      signal) and the signal ``custom:<name>`` (so a rule may read it); PhysiCell's spellings
      ``custom: <name>`` and ``custom <index>`` are synonyms. Each cell keeps its values in
      bookkeeping columns ``custom:<name>`` (copied at division), set from the type at the
      start and from the behaviour fill at the end of every phenotype step (when the
      process senses); the signal reads them, so a rule sees the value of the previous step.
    * Per-cell initial values (PhysiCell's ``custom:`` columns of cells.csv) come from a trait
      that sets the behaviour (``[params.initial] columns``). Not modelled: conservation at
      phagocytosis (``conserved``); the importer lists it.
    * Clock: phenotype, sensing (before the life behaviours are filled); nothing to integrate.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.rules.dictionary import register_behaviour, register_signal

register_signal("custom:{custom}", "{unit}", "the cell's custom variable {custom}",
                ("custom: {custom}", "custom {index}"), over="custom")
register_behaviour("custom:{custom}", "{unit}", "the cell's custom variable {custom}",
                   ("custom: {custom}", "custom {index}"), over="custom")  # fmt: skip


class CustomDataParams(BaseModel):
    """``[params.custom_data]``: the custom variables and their units."""

    model_config = ConfigDict(extra="forbid")

    variables: dict[str, str] = Field(
        default_factory=dict, description="custom variable name -> unit (PhysiCell custom_data)"
    )

    @field_validator("variables")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ .\-]*", name):
                raise ValueError(
                    f"custom variable {name!r}: use letters, digits, '_', '-', '.', spaces"
                )
        return v


class CustomDataCell(BaseModel):
    """``[params.cell_types.<type>.custom_data]``: the type's values."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, float] = Field(
        default_factory=dict, description="value of each custom variable [its unit]; default 0"
    )

    @model_validator(mode="after")
    def _finite(self) -> CustomDataCell:
        if any(not math.isfinite(v) for v in self.values.values()):
            raise ValueError("custom values must be finite")
        return self


@register_process
class CustomDataProcess(Process):
    """Custom per-cell variables."""

    name: ClassVar[str] = "custom_data"
    title: ClassVar[str] = "named per-cell variables that rules read and set (PhysiCell)"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["custom_data"]
    Params: ClassVar[type[BaseModel]] = CustomDataParams
    CellParams: ClassVar[type[BaseModel]] = CustomDataCell
    signals: ClassVar[tuple[str, ...]] = ("custom:{custom}",)
    behaviours: ClassVar[tuple[str, ...]] = ("custom:{custom}",)
    references: ClassVar[tuple[str, ...]] = (
        "Johnson JAI, Bergman DR, Rocha HL, ... Macklin P (2025) Human interpretable grammar "
        "encodes multicellular systems biology models to democratize virtual cell laboratories. "
        "Cell 188:4711-4733 (PhysiCell rules: custom signals and behaviours)",
    )

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's value of every variable."""
        vals = cell.custom_data.values
        return {f"custom:{v}": vals.get(v, 0.0) for v in params.custom_data.variables}

    @classmethod
    def check(cls, params: Any, mesh: Any, dt: float) -> list[str]:
        """Every named variable is declared."""
        known = list(params.custom_data.variables)
        return [
            f"params.cell_types.{name}.custom_data.values names {v!r}, which is not declared "
            f"in params.custom_data.variables ({', '.join(known) or 'none'})"
            for name, ct in params.cell_types.items()
            for v in ct.custom_data.values if v not in known
        ]  # fmt: skip

    def setup(self, state) -> None:
        """One bookkeeping column per variable (``custom:<name>``), the types' values."""
        c = state.cells
        self.names = list(self.params.custom_data.variables)
        for v in self.names:
            if c.role_of(f"custom:{v}") is None:
                c.add_state(f"custom:{v}", 0.0, "copy")
                base = state.behaviours.type_values(f"custom:{v}")
                c.state(f"custom:{v}")[:] = base[c.type]

    def step(self, state, dt: float) -> None:
        """Keep the values of the step's behaviour fill (the rules') in the cells."""
        beh = state.behaviours
        c = state.cells
        for v in self.names:
            col = beh.column(f"custom:{v}")
            if col.shape[0] == c.n:
                c.state(f"custom:{v}")[:] = col

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """The variable's value kept at the last phenotype step."""
        return state.cells.state(f"custom:{target}").copy()
