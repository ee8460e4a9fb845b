"""Cytotoxicity: killers (CTLs, NK cells) kill live targets in contact; checkpoint; exhaustion.

Contract:
    * A live killer ``i`` with exhaustion ``X_i < 1`` kills a live target ``j`` among its
      interaction neighbours (:mod:`invasim.processes._interact`, the reach of the attack and
      phagocytosis processes) at the hazard

          h_ij = k_i(type_j) · (1 − X_i) · (1 − c_ij),   c_ij = P_i · L_j,

      ``k_i(B)`` the killer's behaviour ``kill rate <B>`` (1/min per target in contact),
      ``P_i`` its ``pd-1 expression`` (free PD-1, dimensionless in [0, 1]: an anti-PD-1
      antibody scales it down) and ``L_j`` the target's ``pd-l1 expression`` (dimensionless in
      [0, 1]; a heritable trait may scale it: immune evasion). ``c_ij`` is the fraction of the
      killer's signal the PD-1/PD-L1 checkpoint blocks (Iwai et al., PNAS 2002: PD-L1 on
      tumour cells inhibits CTL lysis; anti-PD-1 restores it).
    * Over a phenotype step ``dt`` the targets compete: the killer kills with probability
      ``1 − exp(−H dt)``, ``H = Σ_j h_ij``, the target ``j`` with probability ``h_ij / H``
      (two counter-based draws keyed by seed, phenotype step, killer id, stream
      :data:`STREAM_KILL`); at most one kill per killer per step. The killers are walked in row
      order; a target killed earlier in the step is dead for those after.
    * A killed target becomes apoptotic at once (perforin/granzyme and Fas induce apoptosis:
      ``dead = APOPTOTIC``, its phase clock restarts), then the death process removes it
      after its type's apoptosis duration.
    * Exhaustion ``X_i`` (state column, clipped to [0, 1]) grows by the killer's ``exhaustion
      per kill`` at every kill (serial killing wears CTLs down: Halle et al., Immunity 2016;
      Weigelin et al., Nat Commun 2021), and at the rate ``checkpoint exhaustion rate · Σ_j
      c_ij`` while it touches targets (chronic PD-1 signalling drives exhaustion: Wherry, Nat
      Immunol 2011). ``X = 1`` is exhausted: no more kills. Daughters copy it.
    * Signals: ``exhaustion``, ``kills`` (this cell's kills; a daughter starts at 0). Counters
      and metrics: ``kills_total`` and ``kills_per_hour`` (the kill rate, exponentially
      averaged over the last :data:`RATE_WINDOW_MIN` minutes, updated every phenotype step;
      checkpointed with the state, so a resumed run equals an uninterrupted one).
    * ``[params.cytotoxicity] contact = "well-mixed"`` (default ``"neighbours"``): every live
      target in the window is in contact with every killer (the well-mixed limit of the
      Kuznetsov et al. 1994 model: kills at ``n E T``), with the same hazards and exhaustion;
      a killer's kills within the step follow the exact law of its hazard (exponential waiting
      times, the hazard recomputed after each kill), so it may kill several targets in a step
      and the mass-action rate holds at any step; the targets killed earlier in the step are
      out of reach for the killers after. The cost is one pass over the targets per kill.
    * Cell type sub-table ``[params.cell_types.<type>.cytotoxicity]``.
    * Clock: phenotype, after damage and before death (the killed cells start apoptosis in the
      step they are killed).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, register_process
from invasim.core.cells import APOPTOTIC
from invasim.core.rng import uniform
from invasim.processes import _interact
from invasim.rules.dictionary import register_behaviour, register_signal

STREAM_KILL = 41
EXHAUSTION = "exhaustion"
KILLS = "kills"
#: window of the exponentially averaged kill rate (min)
RATE_WINDOW_MIN = 60.0
KILLS_TOTAL = "kills_total"
KILL_RATE = "kill_rate_per_min"

# fmt: off
register_behaviour("kill rate {cell_type}", "1/min", "hazard of killing one live {cell_type} "
                   "cell in contact (cytotoxicity)", over="cell_type", lower=0.0)
register_behaviour("pd-l1 expression", "dimensionless", "PD-L1 on this cell's surface, as the "
                   "fraction of a killer's PD-1 signal it can engage (0: none, 1: full)",
                   lower=0.0, upper=1.0)
register_behaviour("pd-1 expression", "dimensionless", "free (unblocked) PD-1 on this killer's "
                   "surface, as a fraction of full expression (anti-PD-1 lowers it)",
                   lower=0.0, upper=1.0)
register_behaviour("exhaustion per kill", "dimensionless", "rise of this killer's exhaustion "
                   "at each kill (1 / the kills it can make)", lower=0.0)
register_behaviour("checkpoint exhaustion rate", "1/min", "rate at which engaged PD-1 "
                   "exhausts this killer, per fully engaged target in contact", lower=0.0)
register_signal("exhaustion", "dimensionless", "the killer's exhaustion: 0 fresh, 1 exhausted "
                "(kills no more)", lower=0.0, upper=1.0)
register_signal("kills", "cells", "cells this cell has killed", ("number of kills",), lower=0.0)
# fmt: on


class CytotoxicityParams(BaseModel):
    """``[params.cytotoxicity]``: who touches whom."""

    model_config = ConfigDict(extra="forbid")

    contact: Literal["neighbours", "well-mixed"] = Field(
        "neighbours",
        description="neighbours: the targets within the interaction reach; well-mixed: every "
        "live target in the window (the well-mixed limit of an ODE model)",
    )


class CytotoxicityCell(BaseModel):
    """``[params.cell_types.<type>.cytotoxicity]``: a killer's rates, or a target's PD-L1."""

    model_config = ConfigDict(extra="forbid")

    kill_rates_per_min: dict[str, float] = Field(
        default_factory=dict,
        description="hazard of killing one live cell of each named type in contact [1/min]; "
        "types not named: 0. A CTL kills a target within ~10-60 min of contact in vitro "
        "(Halle et al., Immunity 2016; Weigelin et al., Nat Commun 2021)",
    )
    pd1_expression: float = Field(
        0.0, ge=0, le=1,
        description="free PD-1 on this killer's surface [0-1]; 0: the checkpoint does not "
        "act on it (e.g. NK cells in this model)",
    )  # fmt: skip
    pdl1_expression: float = Field(
        0.0, ge=0, le=1,
        description="PD-L1 on this cell's surface as a target [0-1] (Iwai et al., PNAS 2002)",
    )  # fmt: skip
    exhaustion_per_kill: float = Field(
        0.0, ge=0,
        description="rise of exhaustion per kill [1]; 1/k: exhausted after k kills (serial "
        "killing by CTLs: a few to ~10 targets, Halle et al. 2016; Weigelin et al. 2021)",
    )  # fmt: skip
    checkpoint_exhaustion_rate_per_min: float = Field(
        0.0, ge=0,
        description="rate of exhaustion per fully engaged target in contact [1/min] (chronic "
        "PD-1 signalling, Wherry, Nat Immunol 2011)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _finite(self) -> CytotoxicityCell:
        if any(not (v >= 0 and math.isfinite(v)) for v in self.kill_rates_per_min.values()):
            raise ValueError("kill rates must be finite and >= 0")
        return self


@njit(cache=True)
def _pick_victim(cands, lo, hi, i, dead, ctype, kill, pd1, pdl1, fresh, pick):  # pragma: no cover
    """The target among ``cands[lo:hi]`` whose cumulative hazard first exceeds ``pick``.

    The last live target with a kill rate when round-off leaves ``pick`` above the total; -1
    when there is none.
    """
    acc = 0.0
    victim = -1
    for m in range(lo, hi):
        j = cands[m]
        if dead[j] != 0 or j == i:
            continue
        k = kill[ctype[j], i]
        if not k > 0.0:
            continue
        victim = j
        acc += k * fresh * (1.0 - pd1[i] * pdl1[j])
        if pick < acc:
            break
    return victim


@njit(cache=True)
def _apoptose(victim, dead, phase, time_in_phase):  # pragma: no cover
    """A killed cell becomes apoptotic now (its phase clock restarts)."""
    dead[victim] = APOPTOTIC
    phase[victim] = 0
    time_in_phase[victim] = 0.0


@njit(cache=True)
def kill_kernel(ctype, dead, cid, ptr, nbr, kill, pd1, pdl1, per_kill, chk_rate, exhaustion,
                kills, phase, time_in_phase, seed, step, dt):  # pragma: no cover  # fmt: skip
    """One phenotype step of killing and exhaustion (see the module contract); returns kills.

    ``kill``: ``[T, n]`` each cell's kill rate on each type; ``pd1``, ``pdl1``, ``per_kill``,
    ``chk_rate``: ``[n]`` behaviours; ``exhaustion``, ``kills``, ``dead``, ``phase``,
    ``time_in_phase``: ``[n]`` updated in place.
    """
    n = ctype.shape[0]
    total_kills = 0
    for i in range(n):
        if dead[i] != 0:
            continue
        x = exhaustion[i]
        fresh = 1.0 - x
        h_sum = 0.0
        engaged = 0.0
        for m in range(ptr[i], ptr[i + 1]):
            j = nbr[m]
            if dead[j] != 0:
                continue
            k = kill[ctype[j], i]
            if not k > 0.0:
                continue
            c = pd1[i] * pdl1[j]
            engaged += c
            if fresh > 0.0:
                h_sum += k * fresh * (1.0 - c)
        if engaged > 0.0 and chk_rate[i] > 0.0:
            x += chk_rate[i] * engaged * dt
        if h_sum > 0.0 and uniform(seed, step, cid[i], STREAM_KILL, 0) < -math.expm1(-h_sum * dt):
            pick = uniform(seed, step, cid[i], STREAM_KILL, 1) * h_sum
            victim = _pick_victim(nbr, ptr[i], ptr[i + 1], i, dead, ctype, kill, pd1, pdl1,
                                  fresh, pick)  # fmt: skip
            if victim >= 0:
                _apoptose(victim, dead, phase, time_in_phase)
                kills[i] += 1.0
                total_kills += 1
                x += per_kill[i]
        exhaustion[i] = min(1.0, max(0.0, x))
    return total_kills


@njit(cache=True)
def _mixed_hazard(i, ctype, kill, pd1, pdl1, count, lsum, fresh):  # pragma: no cover
    """Killer ``i``'s total hazard over the window's live targets, and its PD-1 engagement."""
    h_sum = 0.0
    engaged = 0.0
    for t in range(kill.shape[0]):
        k = kill[t, i]
        if not k > 0.0:
            continue
        own = 1.0 if ctype[i] == t else 0.0  # a killer is not its own target
        cnt = count[t] - own
        ls = lsum[t] - own * pdl1[i]
        engaged += pd1[i] * ls
        if fresh > 0.0:
            h_sum += k * fresh * (cnt - pd1[i] * ls)
    return h_sum, engaged


@njit(cache=True)
def kill_kernel_mixed(ctype, dead, cid, kill, pd1, pdl1, per_kill, chk_rate, exhaustion,
                      kills, phase, time_in_phase, seed, step, dt):  # pragma: no cover  # fmt: skip
    """:func:`kill_kernel` with every live target of the window in contact (well mixed).

    A killer may kill several targets in a step: its kills follow the exact law of its
    hazard within the step (exponential waiting times, the hazard recomputed after each kill
    as the targets and its exhaustion change), so the mass-action rate ``k E T`` holds at any
    step (the one-kill-per-step rule of contact killing would cap it at ``1/dt``).
    """
    n = ctype.shape[0]
    n_types = kill.shape[0]
    everyone = np.arange(n)
    count = np.zeros(n_types)  # live cells of each type, and the sum of their PD-L1
    lsum = np.zeros(n_types)
    for j in range(n):
        if dead[j] == 0:
            count[ctype[j]] += 1.0
            lsum[ctype[j]] += pdl1[j]
    total_kills = 0
    for i in range(n):
        if dead[i] != 0:
            continue
        x = exhaustion[i]
        h_sum, engaged = _mixed_hazard(i, ctype, kill, pd1, pdl1, count, lsum, 1.0 - x)
        if engaged > 0.0 and chk_rate[i] > 0.0:
            x = min(1.0, x + chk_rate[i] * engaged * dt)
            h_sum, engaged = _mixed_hazard(i, ctype, kill, pd1, pdl1, count, lsum, 1.0 - x)
        elapsed = 0.0
        q = 0
        while h_sum > 0.0:
            elapsed += -math.log(uniform(seed, step, cid[i], STREAM_KILL, 2 * q)) / h_sum
            if elapsed >= dt:
                break
            pick = uniform(seed, step, cid[i], STREAM_KILL, 2 * q + 1) * h_sum
            q += 1
            victim = _pick_victim(everyone, 0, n, i, dead, ctype, kill, pd1, pdl1, 1.0 - x, pick)
            if victim < 0:
                break
            _apoptose(victim, dead, phase, time_in_phase)
            count[ctype[victim]] -= 1.0
            lsum[ctype[victim]] -= pdl1[victim]
            kills[i] += 1.0
            total_kills += 1
            x = min(1.0, x + per_kill[i])
            h_sum, engaged = _mixed_hazard(i, ctype, kill, pd1, pdl1, count, lsum, 1.0 - x)
        exhaustion[i] = min(1.0, max(0.0, x))
    return total_kills


@register_process
class CytotoxicityProcess(_interact.InteractionProcess):
    """Contact killing by CTLs and NK cells, with the PD-1/PD-L1 checkpoint and exhaustion."""

    name: ClassVar[str] = "cytotoxicity"
    title: ClassVar[str] = "killer cells kill live targets in contact; checkpoint; exhaustion"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["cytotoxicity"]
    Params: ClassVar[type[BaseModel]] = CytotoxicityParams
    CellParams: ClassVar[type[BaseModel]] = CytotoxicityCell
    signals: ClassVar[tuple[str, ...]] = ("exhaustion", "kills")
    behaviours: ClassVar[tuple[str, ...]] = (
        "kill rate {cell_type}", "pd-1 expression", "pd-l1 expression", "exhaustion per kill",
        "checkpoint exhaustion rate",
    )  # fmt: skip
    type_keyed: ClassVar[tuple[str, ...]] = ("kill_rates_per_min",)
    metric_names: ClassVar[tuple[str, ...]] = (KILLS_TOTAL, "kills_per_hour")
    references: ClassVar[tuple[str, ...]] = (
        "Iwai Y, Ishida M, Tanaka Y, Okazaki T, Honjo T, Minato N (2002) Involvement of PD-L1 "
        "on tumor cells in the escape from host immune system and tumor immunotherapy by PD-L1 "
        "blockade. PNAS 99:12293-12297",
        "Halle S, Keyser KA, Stahl FR, ... Forster R (2016) In vivo killing capacity of "
        "cytotoxic T cells is limited and involves dynamic interactions and T cell cooperativity."
        " Immunity 44:233-245",
        "Weigelin B, den Boer AT, Wagena E, ... Friedl P (2021) Cytotoxic T cells are able to "
        "efficiently eliminate cancer cells by additive cytotoxicity. Nat Commun 12:5217",
        "Wherry EJ (2011) T cell exhaustion. Nat Immunol 12:492-499",
    )

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's kill rates (0 unless named), PD-1, PD-L1 and exhaustion parameters."""
        t = cell.cytotoxicity
        out = {f"kill rate {b}": t.kill_rates_per_min.get(b, 0.0) for b in params.cell_types}
        out["pd-1 expression"] = t.pd1_expression
        out["pd-l1 expression"] = t.pdl1_expression
        out["exhaustion per kill"] = t.exhaustion_per_kill
        out["checkpoint exhaustion rate"] = t.checkpoint_exhaustion_rate_per_min
        return out

    def setup(self, state) -> None:
        """Bookkeeping columns; the types' reach; whether anyone can kill."""
        c = state.cells
        if c.role_of(EXHAUSTION) is None:
            c.add_state(EXHAUSTION, 0.0, "copy")
        if c.role_of(KILLS) is None:
            c.add_state(KILLS, 0.0, "reset")
        self.reach = _interact.type_reach(self.params)
        self.active = any(any(v > 0 for v in ct.cytotoxicity.kill_rates_per_min.values())
                          for ct in self.params.cell_types.values())  # fmt: skip
        rs = self.params.rule_set
        if rs is not None:
            self.active |= any(rs.governs(f"kill rate {t}") for t in self.params.cell_types)

    def step(self, state, dt: float) -> None:
        """Kill and exhaust over one phenotype step; update the kill counters."""
        c = state.cells
        k = 0
        mixed = self.table is not None and self.table.contact == "well-mixed"
        if self.active and c.n and mixed:
            beh = state.behaviours
            k = kill_kernel_mixed(
                c.type, c.dead, c.id,
                _interact.type_matrix(beh, "kill rate {cell_type}", state.type_names),
                beh.column("pd-1 expression"), beh.column("pd-l1 expression"),
                beh.column("exhaustion per kill"), beh.column("checkpoint exhaustion rate"),
                c.state(EXHAUSTION), c.state(KILLS), c.phase, c.time_in_phase,
                np.int64(state.seed), np.int64(state.pheno_step), float(dt),
            )  # fmt: skip
        elif self.active and c.n:
            beh = state.behaviours
            ptr, nbr = _interact.neighbours(state, self.reach)
            k = kill_kernel(
                c.type, c.dead, c.id, ptr, nbr,
                _interact.type_matrix(beh, "kill rate {cell_type}", state.type_names),
                beh.column("pd-1 expression"), beh.column("pd-l1 expression"),
                beh.column("exhaustion per kill"), beh.column("checkpoint exhaustion rate"),
                c.state(EXHAUSTION), c.state(KILLS), c.phase, c.time_in_phase,
                np.int64(state.seed), np.int64(state.pheno_step), float(dt),
            )  # fmt: skip
        cnt = state.counters
        cnt[KILLS_TOTAL] = cnt.get(KILLS_TOTAL, 0.0) + k
        # exponential average of the kill rate: exact for a constant rate over the step
        w = -math.expm1(-dt / RATE_WINDOW_MIN)
        cnt[KILL_RATE] = cnt.get(KILL_RATE, 0.0) + (k / dt - cnt.get(KILL_RATE, 0.0)) * w

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """A cell's exhaustion or its kills."""
        c = state.cells
        name = EXHAUSTION if template == "exhaustion" else KILLS
        if c.role_of(name) is None:
            return np.zeros(c.n)
        return c.state(name).copy()

    def metrics(self, state) -> dict[str, float]:
        """Kills so far and the recent kill rate per hour."""
        cnt = state.counters
        return {KILLS_TOTAL: cnt.get(KILLS_TOTAL, 0.0),
                "kills_per_hour": 60.0 * cnt.get(KILL_RATE, 0.0)}  # fmt: skip
