"""Attack: live cells start attacks on live neighbours and damage them while the attack lasts.

Contract (PhysiCell 1.14, ``standard_cell_cell_interactions`` and ``Cell::attack_cell``):
    * Each mechanics step ``dt``, a live cell ``i`` that attacks no one walks its interaction
      neighbours (:mod:`invasim.processes._interact`) in order and starts an attack on the
      first live neighbour ``j`` whose draw falls below
      ``attack_ij · immunogenicity_ji · dt``: ``attack_ij`` is ``i``'s behaviour
      ``attack <type of j>`` (1/min), ``immunogenicity_ji`` is ``j``'s behaviour
      ``immunogenicity to <type of i>`` (dimensionless, 1 by default).
    * While ``i`` attacks ``j`` (the same step it started too): ``j``'s ``damage`` grows by
      ``attack damage rate · dt`` (``i``'s behaviour, 1/min), its ``total attack time`` by
      ``dt``, and ``i``'s ``damage delivered`` by the same damage. Then the attack ends with
      probability ``dt / attack duration`` (``i``'s behaviour, min), or at once when ``j``
      is dead or gone. An attack needs no contact once started; where the attachments
      process runs, the attacker is attached to its target by a spring from the start of
      the attack to its end (PhysiCell's ``attach_cells_as_spring``).
    * Damage kills only through rules (``damage increases apoptosis``; the damage process,
      which this one requires, also repairs it).
    * Attackers are walked in row order, one at a time (two attackers may hit the same
      target in a step, each adding its damage). Random numbers are counter-based, keyed by
      (seed, mechanics step, attacker id, neighbour slot).
    * Signals: ``damage delivered``, ``attacking`` (1 while attacking). Cell type sub-table
      ``[params.cell_types.<type>.attack]``.
    * Clock: mechanics, after mechanics and motility, before the cells move.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, register_process
from invasim.core.rng import uniform
from invasim.processes import _interact, attachments
from invasim.processes.damage import ATTACK_TIME, DAMAGE, ensure_damage_columns
from invasim.rules.dictionary import register_behaviour, register_signal

STREAM_ATTACK = 21
TARGET = "attack_target"
DELIVERED = "damage_delivered"

# fmt: off
register_behaviour("attack {cell_type}", "1/min", "rate of starting an attack on a live "
                   "{cell_type} cell in contact", ("attack cell type {index}",),
                   over="cell_type", lower=0.0)
register_behaviour("immunogenicity to {cell_type}", "dimensionless",
                   "how readily {cell_type} cells attack this cell (multiplies their rate)",
                   ("immunogenicity to cell type {index}",), over="cell_type", lower=0.0)
register_behaviour("attack damage rate", "1/min", "damage an attack delivers per minute",
                   lower=0.0)
register_behaviour("attack duration", "min", "mean duration of an attack", lower=0.0)
register_signal("damage delivered", "dimensionless", "total damage this cell has delivered",
                ("total damage delivered",), lower=0.0)
register_signal("attacking", "0 or 1", "1 while the cell attacks another", ("is attacking",),
                lower=0.0, upper=1.0)
# fmt: on


class AttackCell(BaseModel):
    """``[params.cell_types.<type>.attack]``: PhysiCell's attack parameters of a type."""

    model_config = ConfigDict(extra="forbid")

    rates_per_min: dict[str, float] = Field(
        default_factory=dict,
        description="rate of starting an attack on each named live cell type [1/min] "
        "(PhysiCell attack_rates); types not named: 0",
    )
    immunogenicity: dict[str, float] = Field(
        default_factory=dict,
        description="this type's immunogenicity to each named attacker type [1] (PhysiCell "
        "immunogenicities); types not named: 1",
    )
    damage_rate_per_min: float = Field(
        1.0, ge=0, description="damage delivered per minute of attack [1/min] (PhysiCell 1)"
    )
    duration_min: float = Field(
        30.0,
        ge=0,
        description="mean duration of an attack [min] (PhysiCell's default 30, perforin/"
        "granzyme; its template XML writes 0.1)",
    )

    @model_validator(mode="after")
    def _finite(self) -> AttackCell:
        values = [*self.rates_per_min.values(), *self.immunogenicity.values(),
                  self.damage_rate_per_min, self.duration_min]  # fmt: skip
        if any(not (v >= 0 and math.isfinite(v)) for v in values):
            raise ValueError("attack rates, immunogenicities and durations must be finite, >= 0")
        return self


@njit(cache=True)
def attack_kernel(ctype, dead, cid, ptr, nbr, attack, immuno, damage_rate, duration,
                  target_row, seed, step, dt, damage, attack_time, delivered,
                  target, started, ended):  # pragma: no cover  # fmt: skip
    """One mechanics step of attacks (see the module contract); updates in place.

    ``attack``: ``[T, n]`` each cell's rate on each type; ``immuno``: ``[T, n]`` each cell's
    immunogenicity to each attacker type; ``target_row``: ``[n]`` the current row of each
    cell's target (-1 none or gone); ``target``: ``[n]`` target ids (-1: none);
    ``started``, ``ended``: ``[n]`` set to the row of the target whose attack started or
    ended this step (left as they are otherwise; the caller fills them with -1).
    """
    n = ctype.shape[0]
    for i in range(n):
        if dead[i] != 0:
            target[i] = -1.0
            continue
        row = target_row[i]
        if row < 0:
            target[i] = -1.0
            for m in range(ptr[i], ptr[i + 1]):
                j = nbr[m]
                if dead[j] != 0:
                    continue
                p = attack[ctype[j], i] * immuno[ctype[i], j] * dt
                if p > 0.0 and uniform(seed, step, cid[i], STREAM_ATTACK, 2 + m - ptr[i]) < p:
                    row = j
                    target[i] = float(cid[j])
                    started[i] = j
                    break
            if row < 0:
                continue
        if dead[row] != 0:
            target[i] = -1.0
            ended[i] = row
            continue
        hit = damage_rate[i] * dt
        damage[row] += hit
        attack_time[row] += dt
        delivered[i] += hit
        if uniform(seed, step, cid[i], STREAM_ATTACK, 0) < dt / (1e-15 + duration[i]):
            target[i] = -1.0
            ended[i] = row


@register_process
class AttackProcess(_interact.InteractionProcess):
    """Attacks on live cells that damage them."""

    name: ClassVar[str] = "attack"
    title: ClassVar[str] = "live cells attack live neighbours and damage them"
    clock: ClassVar[str] = "mechanics"
    order: ClassVar[float] = ORDER["mechanics"]["attack"]
    CellParams: ClassVar[type[BaseModel]] = AttackCell
    requires: ClassVar[tuple[str, ...]] = ("damage",)
    signals: ClassVar[tuple[str, ...]] = ("damage delivered", "attacking")
    behaviours: ClassVar[tuple[str, ...]] = (
        "attack {cell_type}", "immunogenicity to {cell_type}", "attack damage rate",
        "attack duration",
    )  # fmt: skip
    type_keyed: ClassVar[tuple[str, ...]] = ("rates_per_min", "immunogenicity")

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's attack rates, immunogenicities (1 unless named), damage rate, duration."""
        a = cell.attack
        out = {f"attack {t}": a.rates_per_min.get(t, 0.0) for t in params.cell_types}
        out |= {f"immunogenicity to {t}": a.immunogenicity.get(t, 1.0) for t in params.cell_types}
        out["attack damage rate"] = a.damage_rate_per_min
        out["attack duration"] = a.duration_min
        return out


    def setup(self, state) -> None:
        """Bookkeeping columns; the types' reach."""
        ensure_damage_columns(state.cells)
        c = state.cells
        if c.role_of(TARGET) is None:
            c.add_state(TARGET, -1.0, "reset")
        if c.role_of(DELIVERED) is None:
            c.add_state(DELIVERED, 0.0, "copy")
        self.reach = _interact.type_reach(self.params)
        self.active = any(any(v > 0 for v in ct.attack.rates_per_min.values())
                          for ct in self.params.cell_types.values())  # fmt: skip
        rs = self.params.rule_set
        if rs is not None:
            self.active |= any(rs.governs(f"attack {t}") for t in self.params.cell_types)

    def step(self, state, dt: float) -> None:
        """Start, continue and end attacks over one mechanics step."""
        c = state.cells
        if not (self.active and c.n):
            return
        beh = state.behaviours
        target = c.state(TARGET)
        ptr, nbr = _interact.neighbours(state, self.reach)
        rows = _interact.rows_of_ids(c.id, target.astype(np.int64))
        started = np.full(c.n, -1, dtype=np.int64)
        ended = np.full(c.n, -1, dtype=np.int64)
        attack_kernel(
            c.type, c.dead, c.id, ptr, nbr,
            _interact.type_matrix(beh, "attack {cell_type}", state.type_names),
            _interact.type_matrix(beh, "immunogenicity to {cell_type}", state.type_names),
            beh.column("attack damage rate"), beh.column("attack duration"), rows,
            np.int64(state.seed), np.int64(state.mech_step), float(dt),
            c.state(DAMAGE), c.state(ATTACK_TIME), c.state(DELIVERED), target, started, ended,
        )  # fmt: skip
        # PhysiCell links an attacker to its target with a spring for the attack's duration
        # (the attachments process, where it runs, holds and pulls the springs)
        rows = np.arange(c.n, dtype=np.int64)
        on, off = started >= 0, ended >= 0
        attachments.update_pairs(c, (rows[on], started[on]), (rows[off], ended[off]))

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """Damage delivered, or whether the cell attacks now."""
        c = state.cells
        if c.role_of(TARGET) is None:
            return np.zeros(c.n)
        if template == "attacking":
            return (c.state(TARGET) >= 0).astype(np.float64)
        return c.state(DELIVERED).copy()
