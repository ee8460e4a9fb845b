"""Transformation: a live cell turns into another cell type at a rate per pair of types.

Contract:
    * A live cell of type ``A`` transforms into type ``B`` at the behaviour ``transform to B``
      (1/min; the type's ``[params.cell_types.A.transformation] rates_per_min = { B = r }``,
      0 for the types it does not name; rules may set it). Transformations into the cell's own
      type are ignored. Dead cells do not transform.
    * Over a phenotype step ``dt`` the rates compete: the cell transforms with probability
      ``1 − exp(−R dt)``, ``R = Σ_B r_B``, into ``B`` with probability ``r_B / R``, from two
      counter-based draws keyed by (seed, step, cell id). PhysiCell 1.14
      (``standard_cell_transformations``) instead tries the types in index order with
      probability ``r_B dt`` each and stops at the first success; invasim's form is the exact
      competing-risks law of the same rates (exponential waiting time at ``R``, no dependence
      on the order of the types, no probability above 1), and agrees with PhysiCell's to first
      order in ``r dt``.
    * The transformed cell keeps its id, position, volume, age and traits (its volume then
      relaxes to the new type's target); its cycle restarts at phase 0 when the new type's cycle
      model differs from the old. All its behaviours follow the new type from the next fill.
    * Clock: phenotype, last of the cell-life processes (after division): the cell lives the
      step as the type it began it with.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process, unknown_cell_types
from invasim.core.mesh import Mesh
from invasim.core.rng import uniform
from invasim.rules.dictionary import register_behaviour

STREAM_TRANSFORM = 18

register_behaviour(
    "transform to {cell_type}", "1/min", "rate of transforming into a cell of type {cell_type}",
    ("transition to {cell_type}", "transformation rate to {cell_type}",
     "transform to cell type {index}", "transition to cell type {index}"), over="cell_type",
    lower=0.0,
)  # fmt: skip


class TransformationCell(BaseModel):
    """``[params.cell_types.<type>.transformation]``: rates into the other types."""

    model_config = ConfigDict(extra="forbid")

    rates_per_min: dict[str, float] = Field(
        default_factory=dict,
        description="transformation rate into each named cell type [1/min] (PhysiCell's "
        "cell_transformations); types not named: 0",
    )

    @model_validator(mode="after")
    def _finite(self) -> TransformationCell:
        if any(not (v >= 0 and math.isfinite(v)) for v in self.rates_per_min.values()):
            raise ValueError("transformation rates must be finite and >= 0")
        return self


@njit(cache=True)
def transform_kernel(ctype, dead, cid, rates, seed, step, dt, new_type):  # pragma: no cover
    """``new_type[i]``: the type cell ``i`` becomes over ``dt`` (its own if none).

    ``rates``: ``[T, n]`` the cells' rates into each type (the own type's is ignored).
    """
    n_types = rates.shape[0]
    for i in range(ctype.shape[0]):
        new_type[i] = ctype[i]
        if dead[i] != 0:
            continue
        total = 0.0
        for j in range(n_types):
            if j != ctype[i]:
                total += rates[j, i]
        if not total > 0.0:
            continue
        if uniform(seed, step, cid[i], STREAM_TRANSFORM, 0) >= -math.expm1(-total * dt):
            continue
        pick = uniform(seed, step, cid[i], STREAM_TRANSFORM, 1) * total
        acc = 0.0
        for j in range(n_types):
            if j == ctype[i]:
                continue
            acc += rates[j, i]
            if pick < acc:
                new_type[i] = j
                break
        else:  # round-off at the top end: the last type with a positive rate
            for j in range(n_types - 1, -1, -1):
                if j != ctype[i] and rates[j, i] > 0.0:
                    new_type[i] = j
                    break


def same_cycle_models(params: Any) -> np.ndarray:
    """``[T, T]`` bool: whether two cell types share a cycle model (and so a phase numbering)."""
    cycles = [getattr(ct, "cycle", None) for ct in params.cell_types.values()]
    return np.array([[a == b for b in cycles] for a in cycles], dtype=bool)


def change_types(cells, rows: np.ndarray, new: np.ndarray, same_cycle: np.ndarray) -> None:
    """Give cells ``rows`` the types ``new``; those whose cycle model changes restart at phase 0.

    Everything else (id, position, volume, age, traits) is kept (see the module contract).
    """
    moved = new != cells.type[rows]
    rows, new = rows[moved], new[moved]
    if not rows.size:
        return
    restart = rows[~same_cycle[cells.type[rows], new]]
    cells.phase[restart] = 0
    cells.time_in_phase[restart] = 0.0
    cells.type[rows] = new


@register_process
class TransformationProcess(Process):
    """Cell-type transformation."""

    name: ClassVar[str] = "transformation"
    title: ClassVar[str] = "live cells transform into other cell types"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["transformation"]
    CellParams: ClassVar[type[BaseModel]] = TransformationCell
    behaviours: ClassVar[tuple[str, ...]] = ("transform to {cell_type}",)
    references: ClassVar[tuple[str, ...]] = (
        "Johnson JAI, Bergman DR, Rocha HL, ... Macklin P (2025) Human interpretable grammar "
        "encodes multicellular systems biology models to democratize virtual cell laboratories. "
        "Cell 188:4711-4733 (PhysiCell 1.14 cell interactions and transformations)",
    )

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's rate into every cell type."""
        rates = cell.transformation.rates_per_min
        return {f"transform to {t}": rates.get(t, 0.0) for t in params.cell_types}

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """Every named target is a cell type."""
        return [
            line
            for name, ct in params.cell_types.items()
            for line in unknown_cell_types(params, name, "transformation.rates_per_min",
                                           ct.transformation.rates_per_min)
        ]  # fmt: skip

    def setup(self, state) -> None:
        """Which types share a cycle model (a transformation between them keeps the phase)."""
        self.same_cycle = same_cycle_models(self.params)

    def step(self, state, dt: float) -> None:
        """Transform the cells whose draw says so."""
        c = state.cells
        if not c.n:
            return
        beh = state.behaviours
        rates = np.stack([beh.column(f"transform to {t}") for t in state.type_names])
        if rates.shape[1] != c.n:  # every row needs its rates (the kernel does not check)
            raise RuntimeError(f"behaviour matrix has {rates.shape[1]} rows for {c.n} cells")
        new = np.empty(c.n, dtype=c.type.dtype)
        transform_kernel(c.type, c.dead, c.id, rates, np.int64(state.seed),
                         np.int64(state.pheno_step), float(dt), new)  # fmt: skip
        change_types(c, np.arange(c.n), new, self.same_cycle)
