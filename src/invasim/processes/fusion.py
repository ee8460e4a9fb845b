"""Fusion: live cells fuse with live neighbours into one multinucleated cell.

Contract (PhysiCell 1.14, ``standard_cell_cell_interactions`` and ``Cell::fuse_cell``):
    * Each mechanics step ``dt``, a live cell walks its interaction neighbours
      (:mod:`invasim.processes._interact`) in order and fuses with the first live one whose
      draw falls below ``fuse to <type of the neighbour> · dt`` (1/min, its own behaviour);
      at most one fusion per cell per step.
    * The fused cell sits at the volume-weighted centre of the two, has the sum of their
      volumes and of their nuclei (bookkeeping column ``nuclei``, 1 at birth), and keeps the
      first cell's type, id and traits; its target volume becomes its number of nuclei times
      its type's (the volume process; PhysiCell adds the two target volumes, the same for
      cells of one type). The absorbed cell is removed at once.
    * Cells are walked in row order, one at a time; random numbers are counter-based, keyed
      by (seed, mechanics step, cell id, neighbour slot).
    * Internalised substrates (tracked by the secretion process, ``track_internalized``): the
      fused cell gains all of the absorbed cell's amounts (PhysiCell adds them whole; no
      fraction applies).
    * Cell type sub-table ``[params.cell_types.<type>.fusion]``: ``rates_per_min``.
    * Clock: mechanics, after phagocytosis and attack, before the cells move.
    * Metric: ``fusions_total`` (fusions since the start of the run).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, register_process
from invasim.biology.volume import compartment_columns
from invasim.core.rng import uniform
from invasim.processes import _interact
from invasim.processes.secretion import ensure_internalized_columns, tracked_fields
from invasim.processes.volume import NUCLEI
from invasim.rules.dictionary import register_behaviour

STREAM_FUSION = 22

register_behaviour("fuse to {cell_type}", "1/min", "rate of fusing with a live {cell_type} "
                   "cell in contact", ("fuse to cell type {index}",), over="cell_type",
                   lower=0.0)  # fmt: skip


class FusionCell(BaseModel):
    """``[params.cell_types.<type>.fusion]``: PhysiCell's fusion rates."""

    model_config = ConfigDict(extra="forbid")

    rates_per_min: dict[str, float] = Field(
        default_factory=dict,
        description="rate of fusing with a live neighbour of each named type [1/min] "
        "(PhysiCell fusion_rates); types not named: 0",
    )

    @model_validator(mode="after")
    def _finite(self) -> FusionCell:
        if any(not (v >= 0 and math.isfinite(v)) for v in self.rates_per_min.values()):
            raise ValueError("fusion rates must be finite and >= 0")
        return self


@njit(cache=True)
def fusion_kernel(ctype, dead, cid, ptr, nbr, rates, position, volume, radius, nuclei, seed,
                  step, dt, gone, amounts, cols):  # pragma: no cover  # fmt: skip
    """One mechanics step of fusion; returns the number of fusions (see the contract).

    ``rates``: ``[T, n]``; ``gone``: ``[n]`` uint8, set to 1 for the absorbed cells.
    ``amounts``: ``[rows, k]`` the cells' internal columns, of which ``cols`` (``[F]`` int64;
    empty: none tracked) hold internalised amounts, moved whole to the fused cell.
    """
    count = 0
    c = 3.0 / (4.0 * math.pi)
    for i in range(ctype.shape[0]):
        if dead[i] != 0 or gone[i] != 0:
            continue
        for m in range(ptr[i], ptr[i + 1]):
            j = nbr[m]
            if gone[j] != 0 or dead[j] != 0:
                continue
            rate = rates[ctype[j], i]
            if rate > 0.0 and uniform(seed, step, cid[i], STREAM_FUSION, m - ptr[i]) < rate * dt:
                vi = volume[i]
                vj = volume[j]
                total = vi + vj
                for a in range(3):
                    position[i, a] = (vi * position[i, a] + vj * position[j, a]) / total
                volume[i] = total
                radius[i] = (c * total) ** (1.0 / 3.0)
                nuclei[i] += nuclei[j]
                for f in range(cols.shape[0]):
                    amounts[i, cols[f]] += amounts[j, cols[f]]
                    amounts[j, cols[f]] = 0.0
                gone[j] = 1
                count += 1
                break
    return count


@register_process
class FusionProcess(_interact.InteractionProcess):
    """Cell–cell fusion."""

    name: ClassVar[str] = "fusion"
    title: ClassVar[str] = "live cells fuse with live neighbours"
    clock: ClassVar[str] = "mechanics"
    order: ClassVar[float] = ORDER["mechanics"]["fusion"]
    CellParams: ClassVar[type[BaseModel]] = FusionCell
    behaviours: ClassVar[tuple[str, ...]] = ("fuse to {cell_type}",)
    metric_names: ClassVar[tuple[str, ...]] = ("fusions_total",)
    type_keyed: ClassVar[tuple[str, ...]] = ("rates_per_min",)

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's fusion rates."""
        return {f"fuse to {t}": cell.fusion.rates_per_min.get(t, 0.0) for t in params.cell_types}


    def setup(self, state) -> None:
        """The ``nuclei`` column; the types' reach; the tracked amounts' columns."""
        if state.cells.role_of(NUCLEI) is None:
            state.cells.add_state(NUCLEI, 1.0, "reset")
        self.reach = _interact.type_reach(self.params)
        self.tracked = tracked_fields(self.params)
        if self.tracked:
            ensure_internalized_columns(state.cells, self.tracked)

    def step(self, state, dt: float) -> None:
        """Fuse over one mechanics step; remove the absorbed cells."""
        c = state.cells
        if not c.n:
            return
        ptr, nbr = _interact.neighbours(state, self.reach)
        gone = np.zeros(c.n, dtype=np.uint8)
        cols = np.array(ensure_internalized_columns(c, self.tracked)
                        # PhysiCell's fuse_cell adds the absorbed cell's compartments, targets
                        + compartment_columns(c, targets=True),
                        dtype=np.int64)  # fmt: skip
        k = fusion_kernel(
            c.type, c.dead, c.id, ptr, nbr,
            _interact.type_matrix(state.behaviours, "fuse to {cell_type}", state.type_names),
            c.position, c.volume, c.radius, c.state(NUCLEI), np.int64(state.seed),
            np.int64(state.mech_step), float(dt), gone, c.full("internal"), cols,
        )  # fmt: skip
        if k:
            state.counters["fusions_total"] = state.counters.get("fusions_total", 0.0) + k
            state.remove(gone.astype(bool))

    def metrics(self, state) -> dict[str, float]:
        """Fusions so far."""
        return {"fusions_total": state.counters.get("fusions_total", 0.0)}
