"""Phagocytosis: live cells engulf dead neighbours (apoptotic, necrotic) and live ones by type.

Contract (PhysiCell 1.14, ``standard_cell_cell_interactions`` and ``Cell::ingest_cell``):
    * Each mechanics step ``dt``, a live cell walks its interaction neighbours
      (:mod:`invasim.processes._interact`) in order and engulfs the first one whose draw falls
      below ``rate · dt``: for a dead neighbour ``phagocytose apoptotic cell`` or
      ``phagocytose necrotic cell`` (1/min, its own behaviours), for a live one
      ``phagocytose <type of the neighbour>``. At most one cell per phagocyte per step.
    * Engulfing: the phagocyte's volume grows by the prey's whole volume (its radius follows;
      the volume process then relaxes it back to its target), and the prey is removed at
      once (PhysiCell clears these "dummy" cells in the same mechanics step). A cell eaten
      earlier in the step can neither be eaten again nor eat.
    * Internalised substrates (tracked by the secretion process, ``track_internalized``): the
      phagocyte gains the prey type's ``fraction_transferred_when_ingested`` of each of the
      prey's amounts (``[params.cell_types.<prey type>.secretion]``, default 1); the rest is
      lost with the prey, as in PhysiCell (not released into the field). A phagocyte eaten
      later in the same step passes on what it ate (the events run in order).
    * Phagocytes are walked in row order, one at a time; random numbers are counter-based,
      keyed by (seed, mechanics step, phagocyte id, neighbour slot).
    * Deliberate differences from PhysiCell: a neighbour already eaten in the step is skipped
      (PhysiCell stops the phagocyte's walk there, a side effect of a ``break``); conserved
      custom data are not transferred (invasim does not track them).
      ``phagocytose other dead cell`` (a dead cell neither apoptotic nor necrotic) is in the
      dictionary, but every dead cell in invasim is one or the other.
    * Cell type sub-table ``[params.cell_types.<type>.phagocytosis]``.
    * Clock: mechanics, after mechanics and motility, before the cells move.
    * Metric: ``phagocytosed_total`` (cells engulfed since the start of the run).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, register_process
from invasim.biology.volume import compartment_columns
from invasim.core.cells import APOPTOTIC, NECROTIC
from invasim.core.rng import uniform
from invasim.processes import _interact
from invasim.processes.secretion import (
    ensure_internalized_columns,
    fraction_table,
    tracked_fields,
)
from invasim.rules.dictionary import register_behaviour

STREAM_PHAGOCYTOSIS = 20

# fmt: off
register_behaviour("phagocytose apoptotic cell", "1/min",
                   "rate of engulfing an apoptotic cell in contact",
                   ("phagocytosis of apoptotic cell", "phagocytosis of apoptotic cells"),
                   lower=0.0)
register_behaviour("phagocytose necrotic cell", "1/min",
                   "rate of engulfing a necrotic cell in contact",
                   ("phagocytosis of necrotic cell", "phagocytosis of necrotic cells"),
                   lower=0.0)
register_behaviour("phagocytose other dead cell", "1/min",
                   "rate of engulfing a dead cell that is neither apoptotic nor necrotic",
                   ("phagocytosis of other dead cell", "phagocytosis of other dead cells"),
                   lower=0.0)
register_behaviour("phagocytose {cell_type}", "1/min",
                   "rate of engulfing a live {cell_type} cell in contact",
                   ("phagocytose cell type {index}", "phagocytosis of {index}",
                    "phagocytosis of {cell_type}"), over="cell_type", lower=0.0)
# fmt: on


class PhagocytosisCell(BaseModel):
    """``[params.cell_types.<type>.phagocytosis]``: PhysiCell's phagocytosis rates."""

    model_config = ConfigDict(extra="forbid")

    apoptotic_rate_per_min: float = Field(
        0.0, ge=0, description="rate of engulfing an apoptotic neighbour [1/min] (PhysiCell)"
    )
    necrotic_rate_per_min: float = Field(
        0.0, ge=0, description="rate of engulfing a necrotic neighbour [1/min] (PhysiCell)"
    )
    other_dead_rate_per_min: float = Field(
        0.0, ge=0, description="rate of engulfing another dead neighbour [1/min] (PhysiCell)"
    )
    live_rates_per_min: dict[str, float] = Field(
        default_factory=dict,
        description="rate of engulfing a live neighbour of each named type [1/min] "
        "(PhysiCell live_phagocytosis_rates); types not named: 0",
    )

    @model_validator(mode="after")
    def _finite(self) -> PhagocytosisCell:
        values = [self.apoptotic_rate_per_min, self.necrotic_rate_per_min,
                  self.other_dead_rate_per_min, *self.live_rates_per_min.values()]  # fmt: skip
        if any(not (v >= 0 and math.isfinite(v)) for v in values):
            raise ValueError("phagocytosis rates must be finite and >= 0")
        return self


@njit(cache=True)
def phagocytosis_kernel(ctype, dead, cid, ptr, nbr, apoptotic, necrotic, live, volume,
                        radius, seed, step, dt, eaten, amounts, cols,
                        transferred, vcols):  # pragma: no cover  # fmt: skip
    """One mechanics step of phagocytosis; returns the number engulfed.

    ``apoptotic``, ``necrotic``: ``[n]`` rates; ``live``: ``[T, n]`` rates per prey type;
    ``eaten``: ``[n]`` uint8, set to 1 for the engulfed. Updates the phagocytes' volume and
    radius in place. ``amounts``: ``[rows, k]`` the cells' internal columns, of which
    ``cols`` (``[F]`` int64; empty: none tracked) hold internalised amounts; the phagocyte
    gains ``transferred[prey type, f]`` of the prey's amount ``f``, the prey's become 0.
    """
    count = 0
    c = 3.0 / (4.0 * math.pi)
    for i in range(ctype.shape[0]):
        if dead[i] != 0 or eaten[i] != 0:
            continue
        for m in range(ptr[i], ptr[i + 1]):
            j = nbr[m]
            if eaten[j] != 0:
                continue
            d = dead[j]
            if d == APOPTOTIC:
                rate = apoptotic[i]
            elif d == NECROTIC:
                rate = necrotic[i]
            elif d != 0:
                rate = 0.0
            else:
                rate = live[ctype[j], i]
            if rate > 0.0 and uniform(seed, step, cid[i], STREAM_PHAGOCYTOSIS, m - ptr[i]) < (
                rate * dt
            ):
                eaten[j] = 1
                for f in range(cols.shape[0]):
                    a = cols[f]
                    amounts[i, a] += transferred[ctype[j], f] * amounts[j, a]
                    amounts[j, a] = 0.0
                if vcols.shape[0] == 3:  # PhysiCell's ingest_cell: fluid to fluid, solids to
                    f_, n_, c_ = vcols[0], vcols[1], vcols[2]  # the cytoplasmic solid
                    amounts[i, f_] += amounts[j, f_]
                    amounts[i, c_] += amounts[j, n_] + amounts[j, c_]
                volume[i] += volume[j]
                radius[i] = (c * volume[i]) ** (1.0 / 3.0)
                count += 1
                break
    return count


@register_process
class PhagocytosisProcess(_interact.InteractionProcess):
    """Engulfing of dead and live cells."""

    name: ClassVar[str] = "phagocytosis"
    title: ClassVar[str] = "live cells engulf dead (and live) neighbours"
    clock: ClassVar[str] = "mechanics"
    order: ClassVar[float] = ORDER["mechanics"]["phagocytosis"]
    CellParams: ClassVar[type[BaseModel]] = PhagocytosisCell
    behaviours: ClassVar[tuple[str, ...]] = (
        "phagocytose apoptotic cell", "phagocytose necrotic cell", "phagocytose other dead cell",
        "phagocytose {cell_type}",
    )  # fmt: skip
    metric_names: ClassVar[tuple[str, ...]] = ("phagocytosed_total",)
    type_keyed: ClassVar[tuple[str, ...]] = ("live_rates_per_min",)

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's phagocytosis rates."""
        p = cell.phagocytosis
        out = {
            "phagocytose apoptotic cell": p.apoptotic_rate_per_min,
            "phagocytose necrotic cell": p.necrotic_rate_per_min,
            "phagocytose other dead cell": p.other_dead_rate_per_min,
        }
        out |= {f"phagocytose {t}": p.live_rates_per_min.get(t, 0.0) for t in params.cell_types}
        return out


    def setup(self, state) -> None:
        """The types' reach; the tracked amounts' columns and transferred fractions."""
        self.reach = _interact.type_reach(self.params)
        self.tracked = tracked_fields(self.params)
        if self.tracked:
            ensure_internalized_columns(state.cells, self.tracked)
        self.transferred = fraction_table(self.params, "fraction_transferred_when_ingested",
                                          1.0)  # fmt: skip

    def step(self, state, dt: float) -> None:
        """Engulf over one mechanics step; remove the engulfed."""
        c = state.cells
        if not c.n:
            return
        beh = state.behaviours
        ptr, nbr = _interact.neighbours(state, self.reach)
        eaten = np.zeros(c.n, dtype=np.uint8)
        cols = np.array(ensure_internalized_columns(c, self.tracked), dtype=np.int64)
        k = phagocytosis_kernel(
            c.type, c.dead, c.id, ptr, nbr, beh.column("phagocytose apoptotic cell"),
            beh.column("phagocytose necrotic cell"),
            _interact.type_matrix(beh, "phagocytose {cell_type}", state.type_names),
            c.volume, c.radius, np.int64(state.seed), np.int64(state.mech_step), float(dt), eaten,
            c.full("internal"), cols, self.transferred,
            np.array(compartment_columns(c), dtype=np.int64),
        )  # fmt: skip
        if k:
            state.counters["phagocytosed_total"] = state.counters.get("phagocytosed_total", 0.0) + k
            state.remove(eaten.astype(bool))

    def metrics(self, state) -> dict[str, float]:
        """Cells engulfed so far."""
        return {"phagocytosed_total": state.counters.get("phagocytosed_total", 0.0)}
