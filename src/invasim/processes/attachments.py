"""Attachments: cells form and break elastic spring attachments with their neighbours.

PhysiCell ≥ 1.12's dynamic spring attachments (``dynamic_spring_attachments`` and the spring
velocity of ``standard_elastic_contact_function``), run where PhysiCell runs them: after the
potentials and motility have set the velocities, before the contact interactions.

Contract:
    * Each cell holds at most ``K`` attachments (the partners' ids, state columns
      ``spring_0 … spring_{K-1}``, -1 where empty); ``K`` is the largest ``maximum number of
      cell attachments`` a type that can attach may reach (its base value, or a rule's
      saturation), plus one when the attack process runs (an attack attaches its target as
      PhysiCell does). An attachment is symmetric: both cells list each other.
    * Each mechanics step ``dt``, cells are walked in row order; cell ``i`` first breaks each
      of its attachments with probability ``detachment rate_i · dt`` (both sides), then, while
      it holds fewer than ``max_i = floor(maximum number of cell attachments_i)``, walks its
      interaction neighbours (cells within ``s_i r_i + s_j r_j``,
      :mod:`invasim.processes._interact`) in order and attaches to each ``j`` holding fewer
      than ``max_j`` with probability ``cell attachment rate_i · adhesive affinity_i[t_j] · dt``
      (an existing attachment stays one). Dead cells attach and detach as live ones do
      (PhysiCell does not exempt them). Random numbers are counter-based, keyed by (seed,
      mechanics step, cell id, slot), so results do not depend on the thread count.
    * Spring velocity: every movable cell (``is movable``) moves toward each partner at
      ``k_ij (x_j − x_i)`` µm/min, ``k_ij = sqrt(k_i aff_i[t_j] · k_j aff_j[t_i])`` with ``k``
      the ``cell-cell adhesion elastic constant`` (1/min): PhysiCell's spring has no rest
      length, the cells' repulsion holds them apart.
    * An attachment to a cell that is gone (removed, engulfed, fused) is dropped; a dividing
      cell releases all its attachments and its daughter starts with none
      (:func:`release`, called by the division process), as PhysiCell's ``Cell::divide``.
    * Behaviours (per cell): ``cell attachment rate``, ``cell detachment rate`` (1/min),
      ``maximum number of cell attachments``, ``cell-cell adhesion elastic constant``
      (1/min); the affinities are the mechanics process's ``adhesive affinity to X``.
      Cell type sub-table ``[params.cell_types.<type>.attachments]``. Signal
      ``number of attachments``. Metric ``attachments_mean``.
    * Clock: mechanics, after mechanics and motility (order 25), before phagocytosis.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.rng import uniform
from invasim.processes import _interact
from invasim.rules.dictionary import register_signal

STREAM_ATTACH = 24
PREFIX = "spring_"
MAX_SLOTS = 64
MAX_ATTACH = "maximum number of cell attachments"

register_signal("number of attachments", "attachments",
                "how many spring attachments the cell holds", ("attachments",),
                lower=0.0)  # fmt: skip


class AttachmentsCell(BaseModel):
    """``[params.cell_types.<type>.attachments]``: PhysiCell's spring attachments."""

    model_config = ConfigDict(extra="forbid")

    attachment_rate_per_min: float = Field(
        0.0, ge=0, description="rate of attaching to a neighbour [1/min] (PhysiCell "
        "attachment_rate, default 0), times the adhesive affinity to its type",
    )  # fmt: skip
    detachment_rate_per_min: float = Field(
        0.0, ge=0, description="rate of breaking each attachment [1/min] (PhysiCell "
        "detachment_rate, default 0)",
    )  # fmt: skip
    max_attachments: int = Field(
        12, ge=0, le=MAX_SLOTS,
        description=f"largest number of attachments [1] (PhysiCell "
        f"maximum_number_of_attachments, 12; at most {MAX_SLOTS})",
    )  # fmt: skip
    elastic_constant_per_min: float = Field(
        0.01, ge=0, description="spring constant of an attachment [1/min] (PhysiCell "
        "attachment_elastic_constant, 0.01)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _finite(self) -> AttachmentsCell:
        if not all(math.isfinite(v) for v in (self.attachment_rate_per_min,
                                              self.detachment_rate_per_min,
                                              self.elastic_constant_per_min)):  # fmt: skip
            raise ValueError("attachment rates and the elastic constant must be finite")
        return self


@njit(cache=True, inline="always")
def _has(part, i, j):
    for k in range(part.shape[1]):
        if part[i, k] == j:
            return True
    return False


@njit(cache=True, inline="always")
def _count(part, i):
    c = 0
    for k in range(part.shape[1]):
        if part[i, k] >= 0:
            c += 1
    return c


@njit(cache=True, inline="always")
def _drop(part, i, j):
    for k in range(part.shape[1]):
        if part[i, k] == j:
            part[i, k] = -1


@njit(cache=True, inline="always")
def _put(part, i, j):
    for k in range(part.shape[1]):
        if part[i, k] < 0:
            part[i, k] = j
            return True
    return False


@njit(cache=True)
def link(part, i, j):  # pragma: no cover
    """Attach rows ``i`` and ``j`` (both sides; nothing if attached or either is full)."""
    if i == j or _has(part, i, j):
        return
    if _count(part, i) >= part.shape[1] or _count(part, j) >= part.shape[1]:
        return
    _put(part, i, j)
    _put(part, j, i)


@njit(cache=True)
def unlink(part, i, j):  # pragma: no cover
    """Detach rows ``i`` and ``j`` (both sides)."""
    _drop(part, i, j)
    _drop(part, j, i)


@njit(cache=True)
def attachments_kernel(ctype, cid, ptr, nbr, part, attach, detach, max_att, aff, seed, step,
                       dt):  # pragma: no cover  # fmt: skip
    """One mechanics step of detachments and attachments (module contract), in place.

    ``part``: ``[n, K]`` partner rows (-1 empty); ``aff``: ``[n, T]`` affinities.
    """
    n = ctype.shape[0]
    kk = part.shape[1]
    for i in range(n):
        p_off = detach[i] * dt
        if p_off > 0.0:
            for k in range(kk):
                j = part[i, k]
                if j >= 0 and uniform(seed, step, cid[i], STREAM_ATTACH, k) <= p_off:
                    unlink(part, i, j)
        mi = min(int(max_att[i]), kk)
        have = _count(part, i)
        p_on = attach[i] * dt
        if have >= mi or p_on <= 0.0:
            continue
        for m in range(ptr[i], ptr[i + 1]):
            j = nbr[m]
            if _count(part, j) >= min(int(max_att[j]), kk) or _has(part, i, j):
                continue
            p = p_on * aff[i, ctype[j]]
            if p > 0.0 and uniform(seed, step, cid[i], STREAM_ATTACH, kk + m - ptr[i]) <= p:
                link(part, i, j)
                have += 1
                if have >= mi:
                    break


@njit(cache=True)
def spring_velocity(ctype, position, part, k_el, aff, movable, dim, velocity):  # pragma: no cover
    """Add every movable cell's spring velocities ``k_ij (x_j − x_i)`` to ``velocity``."""
    n = ctype.shape[0]
    for i in range(n):
        if not movable[i]:
            continue
        ti = ctype[i]
        for k in range(part.shape[1]):
            j = part[i, k]
            if j < 0:
                continue
            kij = math.sqrt(k_el[i] * aff[i, ctype[j]] * k_el[j] * aff[j, ti])
            for a in range(dim):
                velocity[i, a] += kij * (position[j, a] - position[i, a])


def slot_names(cells) -> list[str]:
    """The attachment columns present (empty without the attachments process)."""
    return [x for x in cells.names("state") if x.startswith(PREFIX)]


def partner_rows(cells) -> np.ndarray:
    """``[n, K]`` the current row of each attachment's partner (-1: none or gone)."""
    names = slot_names(cells)
    if not names:
        return np.full((cells.n, 0), -1, dtype=np.int64)
    ids = np.stack([cells.state(x) for x in names], axis=1).astype(np.int64)
    rows = _interact.rows_of_ids(cells.id, ids.ravel()).reshape(ids.shape)
    return np.ascontiguousarray(rows)


def store(cells, part: np.ndarray) -> None:
    """Write partner rows back as ids (-1 where empty)."""
    ids = np.where(part >= 0, cells.id[np.maximum(part, 0)], -1)
    for k, x in enumerate(slot_names(cells)):
        cells.state(x)[:] = ids[:, k]


def release(cells, rows: np.ndarray) -> None:
    """Detach every attachment of the cells at ``rows``.

    A division (PhysiCell's ``Cell::divide`` releases them); no-op without the attachments
    process.
    """
    if not slot_names(cells) or not len(rows):
        return
    part = partner_rows(cells)
    for i in np.asarray(rows, dtype=np.int64):
        for j in part[i][part[i] >= 0]:
            unlink(part, int(i), int(j))
    store(cells, part)


def attach_pairs(cells, rows_a: np.ndarray, rows_b: np.ndarray, on: bool) -> None:
    """Attach (``on``) or detach each pair of rows; no-op without attachment columns."""
    pairs = (rows_a, rows_b)
    none = (np.zeros(0, np.int64),) * 2
    update_pairs(cells, pairs if on else none, none if on else pairs)


def update_pairs(cells, on: tuple, off: tuple) -> None:
    """Attach the pairs of rows ``on = (rows_a, rows_b)``, then detach those of ``off``.

    One pass over the attachment columns; no-op without them or without pairs.
    """
    if not slot_names(cells) or not (len(on[0]) or len(off[0])):
        return
    part = partner_rows(cells)
    for pairs, change in ((on, link), (off, unlink)):
        for i, j in zip(np.asarray(pairs[0]), np.asarray(pairs[1]), strict=True):
            change(part, int(i), int(j))
    store(cells, part)


@register_process
class AttachmentsProcess(Process):
    """Elastic spring attachments between neighbours."""

    name: ClassVar[str] = "attachments"
    title: ClassVar[str] = "cells attach to neighbours with springs and detach"
    clock: ClassVar[str] = "mechanics"
    order: ClassVar[float] = ORDER["mechanics"]["attachments"]
    CellParams: ClassVar[type[BaseModel]] = AttachmentsCell
    requires: ClassVar[tuple[str, ...]] = ("mechanics",)
    signals: ClassVar[tuple[str, ...]] = ("number of attachments",)
    behaviours: ClassVar[tuple[str, ...]] = (
        "cell attachment rate", "cell detachment rate", MAX_ATTACH,
        "cell-cell adhesion elastic constant",
    )  # fmt: skip
    metric_names: ClassVar[tuple[str, ...]] = ("attachments_mean",)
    references: ClassVar[tuple[str, ...]] = _interact.InteractionProcess.references

    @classmethod
    def neighbour_reach(cls, params: Any) -> float:
        """Attachments form within the interaction reach."""
        return _interact.neighbour_reach(params)

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's rates, largest number of attachments and elastic constant."""
        a = cell.attachments
        return {"cell attachment rate": a.attachment_rate_per_min,
                "cell detachment rate": a.detachment_rate_per_min,
                MAX_ATTACH: float(a.max_attachments),
                "cell-cell adhesion elastic constant": a.elastic_constant_per_min}  # fmt: skip

    @classmethod
    def slots(cls, params: Any) -> int:
        """``K``: the largest number of attachments any cell can hold (module contract).

        Types that never attach (rate 0 and no rule on it) need no slots of their own.
        """
        rs = params.rule_set
        ruled = rs is not None and rs.governs("cell attachment rate")
        k = max((ct.attachments.max_attachments for ct in params.cell_types.values()
                 if ruled or ct.attachments.attachment_rate_per_min > 0), default=0)  # fmt: skip
        for rule in rs.table if rs is not None else ():
            if rule.behaviour == MAX_ATTACH and rule.direction == "increases":
                k = max(k, int(min(rule.saturation, MAX_SLOTS)))
        if "attack" in params.processes:
            k += 1
        return max(1, min(k, MAX_SLOTS + 1))

    def setup(self, state) -> None:
        """The attachment columns (kept as they are on a resume)."""
        c = state.cells
        have = len(slot_names(c))
        for k in range(have, self.slots(self.params)):
            c.add_state(f"{PREFIX}{k}", -1.0, "reset")
        self.reach = _interact.type_reach(self.params)
        self.active = self._active()

    def _active(self) -> bool:
        """False when no cell can ever attach (every rate 0, no rule on it, no attack)."""
        if "attack" in self.params.processes:
            return True
        if any(ct.attachments.attachment_rate_per_min > 0
               for ct in self.params.cell_types.values()):  # fmt: skip
            return True
        rs = self.params.rule_set
        return rs is not None and rs.governs("cell attachment rate")

    def step(self, state, dt: float) -> None:
        """Detach, attach, then add the springs' velocities."""
        c = state.cells
        if not c.n:
            return
        if not self.active and all(c.state(x).max() < 0 for x in slot_names(c)):
            return  # no cell can attach and none is attached
        beh = state.behaviours
        aff = np.ascontiguousarray(
            _interact.type_matrix(beh, "adhesive affinity to {cell_type}", state.type_names).T
        )
        ptr, nbr = _interact.neighbours(state, self.reach)
        part = partner_rows(c)
        attachments_kernel(
            c.type, c.id, ptr, nbr, part, beh.column("cell attachment rate"),
            beh.column("cell detachment rate"), beh.column(MAX_ATTACH), aff,
            np.int64(state.seed), np.int64(state.mech_step), float(dt),
        )  # fmt: skip
        store(c, part)
        if beh.has("is movable"):
            movable = beh.column("is movable") >= 0.5
        else:
            movable = np.ones(c.n, dtype=np.bool_)
        spring_velocity(c.type, c.position, part, beh.column("cell-cell adhesion elastic constant"),
                        aff, movable, c.dim, c.velocity)  # fmt: skip

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """How many attachments each cell holds."""
        part = partner_rows(state.cells)
        return (part >= 0).sum(axis=1).astype(np.float64)

    def metrics(self, state) -> dict[str, float]:
        """Mean number of attachments per cell."""
        c = state.cells
        if not c.n:
            return {"attachments_mean": 0.0}
        return {"attachments_mean": float(self.signal_values(state, "", None).mean())}
