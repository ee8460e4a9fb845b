"""PhysiCell's cell interactions: phagocytosis, attack and damage, fusion, asymmetric division.

Setup (:mod:`invasim.verify.pairs`): isolated pairs of cells 15 µm apart (in contact: the
interaction reach is 1.25 (r_i + r_j) ≈ 21 µm), 60 µm between pairs, nothing else running
unless named. Each mechanics step (0.1 min) a pair event happens with probability
``rate · dt`` (PhysiCell), so the fraction of pairs in which it has happened after ``k`` steps
is ``1 − (1 − rate dt)^k``, exact for this discrete process.

Tolerances: counts over independent pairs are binomial; each is checked within 4 standard
errors (a false alarm has probability ~6e-5 per check), per seed, over three seeds. Damage,
volumes and positions are deterministic given the events and are checked to round-off.

Contract:
    * Cases (quick and full forms are the same, under a second each): ``phagocytosis of
      apoptotic cells at the set rate``, ``phagocytosis by death kind and live type``,
      ``attack damage accumulates at the set rate``, ``attack starts at rate x
      immunogenicity``, ``attack lasts the set duration on average``, ``damage repair relaxes
      to rate / repair``, ``fusion at the set rate keeps volume and centre``, ``division
      asymmetric daughters take the named types``.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.core.cells import APOPTOTIC, NECROTIC
from invasim.processes.damage import advance_damage
from invasim.verify import Checks, Result, case
from invasim.verify.pairs import (
    DT_MECH,
    PHENO,
    STILL,
    advance,
    binomial_margin,
    binomial_ok,
    pairs,
    sim,
)

SOURCE = "PhysiCell 1.14 cell interactions (rate x dt per mechanics step)"
SEEDS = (1, 2, 3)


def binom(chk: Checks, what: str, count: int, n: int, p: float) -> bool:
    """Record a binomial check (4 standard errors)."""
    return chk.that(f"{what}: {count} vs {n * p:.1f} ± {binomial_margin(n, p):.1f}",
                    binomial_ok(count, n, p))  # fmt: skip


def _count_result(chk, counts, n, p, what, seeds=SEEDS) -> Result:
    """Headline: the mean count over the seeds, within 4 SE of ``n p`` for one seed.

    Each seed is checked on its own as well.
    """
    return chk.result(n * p, float(np.mean(counts)), binomial_margin(n, p), "pairs",
                      f"{what}: mean of seeds {list(seeds)} (each within 4 binomial SE)")


@case("phagocytosis of apoptotic cells at the set rate", "phagocytosis", SOURCE)
def phagocytosis_rate(quick: bool) -> Result:
    """500 phagocyte–apoptotic pairs, 10 phenotype steps; engulfed volume kept by the eater."""
    rate, n, steps = 0.01, 500, 10  # 10 phenotype steps = 600 mechanics steps
    p = 1.0 - (1.0 - rate * DT_MECH) ** (steps * PHENO / DT_MECH)
    chk, counts = Checks(), []
    for seed in SEEDS:
        s = sim(["phagocytosis", "death"],
                {"mac": {"phagocytosis": {"apoptotic_rate_per_min": rate}, **STILL},
                 "tum": STILL}, seed=seed)  # fmt: skip
        pairs(s, n, second_dead=APOPTOTIC)
        advance(s, steps)
        c = s.model.cells
        eaten = 2 * n - c.n
        counts.append(eaten)
        binom(chk, f"eaten, seed {seed}", eaten, n, p)
        # every engulfed volume went into its phagocyte (volume conserved; no volume process)
        chk.rel(f"total volume, seed {seed}", c.volume.sum(), 2 * n * 2494.0, 1e-12, "µm³")
        fat = c.volume[c.type == 0] > 2494.0 + 1
        chk.that(f"grown phagocytes = eaten, seed {seed}", int(fat.sum()) == eaten)
        chk.that(f"phagocytosed_total metric = eaten, seed {seed}",
                 s.model.metrics(s.fields, s.time_min)["phagocytosed_total"] == eaten)
    return _count_result(chk, counts, n, p, "apoptotic cells eaten in 60 min of 500")


@case("phagocytosis by death kind and live type", "phagocytosis", SOURCE)
def phagocytosis_choice(quick: bool) -> Result:
    """Necrotic rate 0: none eaten; live prey at its rate; a live type not listed: none."""
    n, steps = 400, 5
    types = {"mac": {"phagocytosis": {"necrotic_rate_per_min": 0.0,
                                      "apoptotic_rate_per_min": 0.05,
                                      "live_rates_per_min": {"prey": 0.02}}, **STILL},
             "prey": STILL, "other": STILL}  # fmt: skip
    k = steps * PHENO / DT_MECH
    chk = Checks()
    s = sim(["phagocytosis", "death"], types)
    pairs(s, n, second_dead=NECROTIC)
    advance(s, steps)
    chk.that("no necrotic cell eaten (rate 0)", s.model.cells.n == 2 * n)
    s = sim(["phagocytosis", "death"], types)
    pairs(s, n, kinds=(0, 1))  # live prey
    advance(s, steps)
    eaten = 2 * n - s.model.cells.n
    p = 1 - (1 - 0.02 * DT_MECH) ** k
    binom(chk, "live prey eaten", eaten, n, p)
    s = sim(["phagocytosis", "death"], types)
    pairs(s, n, kinds=(0, 2))  # live, but a type it does not eat
    advance(s, steps)
    chk.that("no cell of an unlisted live type eaten", s.model.cells.n == 2 * n)
    return chk.result(n * p, eaten, binomial_margin(n, p), "pairs",
                      "live prey eaten in 30 min of 400 at 0.02/min; margin 4 binomial SE")


@case("attack damage accumulates at the set rate", "attack", SOURCE)
def attack_damage(quick: bool) -> Result:
    """An attack that starts in the first mechanics step and never ends: damage = rate · t."""
    # attack starts in the first mechanics step (rate · dt = 1) and never ends (duration 1e9)
    rate = 0.37
    s = sim(["attack", "damage", "death"],
            {"T": {"attack": {"rates_per_min": {"tum": 1.0 / DT_MECH},
                              "damage_rate_per_min": rate, "duration_min": 1e9}, **STILL},
             "tum": STILL})  # fmt: skip
    pairs(s, 50)
    advance(s, 3)
    t = 3 * PHENO
    c = s.model.cells
    damage = c.state("damage")[1::2]
    chk = Checks()
    chk.that("every target's damage = rate t (rtol 1e-9)", np.allclose(damage, rate * t,
                                                                        rtol=1e-9))
    chk.that("total attack time = t (rtol 1e-9)",
             np.allclose(c.state("total_attack_time")[1::2], t, rtol=1e-9))
    chk.that("damage delivered = rate t (rtol 1e-9)",
             np.allclose(c.state("damage_delivered")[0::2], rate * t, rtol=1e-9))
    chk.that("attackers are not damaged", bool(np.all(c.state("damage")[0::2] == 0)))
    worst = float(damage[np.argmax(np.abs(damage - rate * t))])
    return chk.result(rate * t, worst, 1e-9 * rate * t, "",
                      "damage after 18 min at 0.37/min, 50 pairs (the furthest)")


@case("attack starts at rate x immunogenicity", "attack", SOURCE)
def attack_immunogenicity(quick: bool) -> Result:
    """500 pairs: the fraction of targets hit is 1 − (1 − rate · immunogenicity · dt)^k."""
    rate, immuno, n, steps = 0.02, 0.5, 500, 5
    p = 1 - (1 - rate * immuno * DT_MECH) ** (steps * PHENO / DT_MECH)
    chk, counts = Checks(), []
    for seed in SEEDS:
        s = sim(["attack", "damage", "death"],
                {"T": {"attack": {"rates_per_min": {"tum": rate}}, **STILL},
                 "tum": {"attack": {"immunogenicity": {"T": immuno}}, **STILL}}, seed=seed)
        pairs(s, n)
        advance(s, steps)
        hit = int(np.sum(s.model.cells.state("damage")[1::2] > 0))
        counts.append(hit)
        binom(chk, f"targets hit, seed {seed}", hit, n, p)
    return _count_result(chk, counts, n, p, "targets hit in 30 min of 500")


@case("attack lasts the set duration on average", "attack", SOURCE)
def attack_duration(quick: bool) -> Result:
    """Time under attack: the two-state Markov chain's expectation, within 4 SE per seed."""
    # per mechanics step an idle attacker starts with q = rate·dt (and attacks in that step),
    # an attack ends after its step with p = dt/D: a two-state Markov chain whose expected
    # time under attack is summed exactly below; the pairs are independent, so the mean over
    # pairs is checked within 4 standard errors of the sample
    rate, duration, n, steps = 0.5, 2.0, 300, 10
    q, p = rate * DT_MECH, DT_MECH / duration
    on, expected = 0.0, 0.0  # P(attacking at the step's start), expected attacked time
    for _ in range(int(round(steps * PHENO / DT_MECH))):
        hit = on + (1 - on) * q
        expected += DT_MECH * hit
        on = hit * (1 - p)
    chk, means, ses = Checks(), [], []
    # the expected share of time under attack is far from 0 and 1: the check discriminates
    chk.that("expected share of time under attack in (0.3, 0.7)",
             0.3 < expected / (steps * PHENO) < 0.7)
    for seed in SEEDS:
        s = sim(["attack", "damage", "death"],
                {"T": {"attack": {"rates_per_min": {"tum": rate},
                                  "duration_min": duration}, **STILL},
                 "tum": STILL}, seed=seed)  # fmt: skip
        pairs(s, n)
        advance(s, steps)
        attacked = s.model.cells.state("total_attack_time")[1::2]
        se = attacked.std(ddof=1) / math.sqrt(n)
        chk.near(f"mean time under attack, seed {seed}", float(attacked.mean()), expected,
                 4 * se, "min")  # fmt: skip
        means.append(float(attacked.mean()))
        ses.append(4 * se)
    i = int(np.argmax(np.abs(np.array(means) - expected) / np.array(ses)))
    return chk.result(expected, means[i], ses[i], "min",
                      f"mean time under attack over 60 min, 300 pairs, seed {SEEDS[i]} "
                      "(the furthest of 3); margin 4 SE")  # fmt: skip


@case("damage repair relaxes to rate / repair", "damage", "backward Euler, closed form")
def damage_repair(quick: bool) -> Result:
    """Damage with repair is backward Euler and relaxes to the steady state r/k."""
    r, k, dt = 0.3, 0.05, PHENO
    d = np.zeros(1)
    for _ in range(400):
        advance_damage(d, np.array([r]), np.array([k]), dt)
    steady = float(d[0])
    d = np.array([2.0])
    advance_damage(d, np.array([r]), np.array([k]), dt)
    chk = Checks()
    chk.rel("one step from 2", float(d[0]), (2.0 + r * dt) / (1 + k * dt), 1e-15)
    return chk.result(r / k, steady, 1e-9 * r / k, "", "damage after 400 steps of 6 min at "
                                                       "r 0.3, repair 0.05 /min")


@case("fusion at the set rate keeps volume and centre", "fusion", SOURCE)
def fusion_rate(quick: bool) -> Result:
    """400 pairs: each fuses with probability 1 − (1 − r dt)² per step; volume and centre kept."""
    rate, n, steps = 0.005, 400, 5
    # each cell of a pair may start it: the pair fuses with probability 1 − (1 − r dt)² per step
    p = 1 - (1 - rate * DT_MECH) ** (2 * steps * PHENO / DT_MECH)
    chk, counts = Checks(), []
    for seed in SEEDS:
        s = sim(["fusion", "volume"], {"a": {"fusion": {"rates_per_min": {"a": rate}}}},
                seed=seed)  # fmt: skip
        c0 = pairs(s, n, kinds=(0, 0))
        centres = 0.5 * (c0.position[0::2] + c0.position[1::2])
        advance(s, steps)
        c = s.model.cells
        fused = 2 * n - c.n
        counts.append(fused)
        binom(chk, f"pairs fused, seed {seed}", fused, n, p)
        big = c.state("nuclei") == 2
        chk.that(f"two-nucleus cells = fused, seed {seed}", int(big.sum()) == fused)
        # a fused cell sits at its pair's centre (equal volumes) and relaxes to twice the volume
        off = max((float(np.min(np.linalg.norm(centres - x, axis=1))) for x in c.position[big]),
                  default=0.0)  # fmt: skip
        chk.bound(f"fused cell from its pair's centre, seed {seed}", off, "<", 1e-9, "µm")
        chk.that(f"fused volume 2 V, others V, seed {seed}",
                 np.allclose(c.volume[big], 2 * 2494.0) and np.allclose(c.volume[~big], 2494.0))
    return _count_result(chk, counts, n, p, "pairs fused in 30 min of 400")


@case("division asymmetric daughters take the named types", "division",
      "PhysiCell asymmetric division probabilities")
def asymmetric_division(quick: bool) -> Result:
    """1000 dividing stem cells: daughter B is prog with p 0.3, diff with p 0.2 (binomial)."""
    n = 1000
    chk, counts = Checks(), []
    for seed in SEEDS:
        s = sim(["cycle", "division"],
                {"stem": {"division": {"asymmetric": {"prog": 0.3, "diff": 0.2}}},
                 "prog": {}, "diff": {}}, seed=seed)  # fmt: skip
        pairs(s, n // 2, kinds=(0, 0), gap=30.0)
        state = s.model.state
        state.behaviours.fill(state, "life", 0.0)
        division = next(q for q in s.model.processes if q.name == "division")
        state.dividing = np.arange(n, dtype=np.int64)
        division.step(state, PHENO)
        c = state.cells
        # daughters A keep the type
        chk.that(f"all divided, daughters A stem, seed {seed}",
                 c.n == 2 * n and bool(np.all(c.type[:n] == 0)))
        born = c.type[n:]
        for t, p in ((1, 0.3), (2, 0.2)):
            binom(chk, f"daughters of type {t}, seed {seed}", int(np.sum(born == t)), n, p)
        counts.append(int(np.sum(born == 1)))
    return chk.result(0.3 * n, float(np.mean(counts)), binomial_margin(n, 0.3), "cells",
                      "daughters B of type prog (p 0.3) of 1000, mean of 3 seeds (each seed "
                      "and type diff checked within 4 binomial SE)")  # fmt: skip
