"""Spring attachments (PhysiCell's dynamic springs): forming, breaking, the spring itself.

Setup: the isolated pairs of :mod:`invasim.verify.pairs` (15 µm apart, within the interaction
reach 1.25 (r_i + r_j) ≈ 21 µm; 60 µm between pairs), nothing else running unless named. Each
mechanics step (0.1 min), cell ``i`` of an unattached pair attaches with probability
``rate_i · affinity_i[t_j] · dt``; both cells of a pair try, so an unattached pair stays so
with probability ``(1 − p_a)(1 − p_b)`` per step. An attachment breaks from either side with
probability ``detachment rate · dt``. The fraction of pairs attached after ``k`` steps follows
exactly.

Tolerances: counts over independent pairs are binomial, each checked within 4 standard
errors (a false alarm ~6e-5 per check), per seed, over three seeds. Spring motion is
deterministic and checked to round-off against its closed form.

Contract:
    * Cases (quick and full forms are the same, under a second each): ``attachments form at
      the set rate from both sides``, ``attachments rate scales with the affinity``,
      ``attachments break at the set rate from either side``, ``attachments spring closes at
      the effective constant``.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.processes import attachments as att
from invasim.verify import Checks, Result, case
from invasim.verify.cases.interactions import binom
from invasim.verify.pairs import DT_MECH, PHENO, advance, binomial_margin, pairs, sim

MECHANISM = "attachments"
SOURCE = "PhysiCell 1.14 dynamic spring attachments (rate x dt per mechanics step)"
SEEDS = (1, 2, 3)
STEPS_PER_PHENO = round(PHENO / DT_MECH)
#: no potentials: only the springs move the cells
FREE = {"repulsion_um_per_min": 0.0, "adhesion_um_per_min": 0.0,
        "wall_repulsion_um_per_min": 0.0}  # fmt: skip


def attached_pairs(cells) -> int:
    """Pairs holding their attachment (links never leave a pair: 60 µm between pairs)."""
    held = (att.partner_rows(cells) >= 0).sum(axis=1)
    if held.max(initial=0) > 1:
        raise AssertionError("a cell of an isolated pair holds more than one attachment")
    return int(held.sum()) // 2


def types(rate_a, rate_b, aff_ab=1.0, aff_ba=1.0, detach=0.0, mech=None) -> dict:
    """Cell types ``a`` and ``b`` with the given attachment rates and mutual affinities."""
    def one(rate, other, aff):
        return {"attachments": {"attachment_rate_per_min": rate,
                                "detachment_rate_per_min": detach},
                "mechanics": {"adhesive_affinity": {other: aff}, **(mech or {})}}  # fmt: skip

    return {"a": one(rate_a, "b", aff_ab), "b": one(rate_b, "a", aff_ba)}


def _counts(chk, what, p, n, run_seed) -> Result:
    counts = []
    for seed in SEEDS:
        count = run_seed(seed)
        counts.append(count)
        binom(chk, f"{what}, seed {seed}", count, n, p)
    return chk.result(n * p, float(np.mean(counts)), binomial_margin(n, p), "pairs",
                      f"{what} of {n} after 12 min, mean of seeds {list(SEEDS)} (each within "
                      "4 binomial SE)")  # fmt: skip


@case("attachments form at the set rate from both sides", MECHANISM, SOURCE)
def attach_rate(quick: bool) -> Result:
    """400 pairs, both cells trying at 0.01/min: attached with 1 − (1 − r dt)^(2k)."""
    rate, n = 0.01, 400
    p = 1.0 - (1.0 - rate * DT_MECH) ** (2 * 2 * STEPS_PER_PHENO)

    def one(seed):
        s = sim(["mechanics", "attachments"], types(rate, rate, mech=FREE), seed=seed)
        pairs(s, n)
        advance(s, 2)
        return attached_pairs(s.model.cells)

    return _counts(Checks(), "pairs attached", p, n, one)


@case("attachments rate scales with the affinity", MECHANISM, SOURCE)
def attach_affinity(quick: bool) -> Result:
    """Type a attaches to b at affinity 0.5, b never to a (affinity 0): only a's draws count."""
    rate, n = 0.02, 400
    p = 1.0 - (1.0 - 0.5 * rate * DT_MECH) ** (2 * STEPS_PER_PHENO)

    def one(seed):
        s = sim(["mechanics", "attachments"],
                types(rate, rate, aff_ab=0.5, aff_ba=0.0, mech=FREE), seed=seed)  # fmt: skip
        pairs(s, n)
        advance(s, 2)
        return attached_pairs(s.model.cells)

    return _counts(Checks(), "pairs attached", p, n, one)


@case("attachments break at the set rate from either side", MECHANISM, SOURCE)
def detach_rate(quick: bool) -> Result:
    """400 attached pairs, either side breaking at 0.005/min: kept with (1 − d dt)^(2k)."""
    det, n = 0.005, 400
    p_keep = (1.0 - det * DT_MECH) ** (2 * 2 * STEPS_PER_PHENO)
    chk = Checks()

    def one(seed):
        s = sim(["mechanics", "attachments"], types(0.0, 0.0, detach=det, mech=FREE), seed=seed)
        c = pairs(s, n)
        rows = np.arange(0, 2 * n, 2)
        att.attach_pairs(c, rows, rows + 1, True)
        chk.that(f"all attached at the start, seed {seed}", attached_pairs(c) == n)
        advance(s, 2)
        # symmetric: every listed partner lists its cell back
        part = att.partner_rows(s.model.cells)
        chk.that(f"partner lists symmetric, seed {seed}",
                 all(i in part[j] for i, row in enumerate(part) for j in row[row >= 0]))
        return attached_pairs(s.model.cells)

    return _counts(chk, "pairs still attached", p_keep, n, one)


@case("attachments spring closes at the effective constant", MECHANISM,
      "PhysiCell spring: k_ab = sqrt(k_a aff_a[b] k_b aff_b[a]), closed form of Euler steps")
def spring(quick: bool) -> Result:
    """No potentials: the gap of an attached pair shrinks by (1 − 2 k_ab dt) per Euler step."""
    # no potentials: each cell moves at k_ab (x_j - x_i), so the gap shrinks by
    # (1 - 2 k_ab dt) per Euler step, k_ab = sqrt(k_a aff_a[b] k_b aff_b[a])
    chk, last = Checks(), None
    for k_a, k_b, aff_ab, aff_ba in ((0.01, 0.01, 1.0, 1.0), (0.02, 0.005, 0.5, 2.0)):
        ty = types(0.0, 0.0, aff_ab=aff_ab, aff_ba=aff_ba, mech=FREE)
        ty["a"]["attachments"]["elastic_constant_per_min"] = k_a
        ty["b"]["attachments"]["elastic_constant_per_min"] = k_b
        s = sim(["mechanics", "attachments"], ty)
        s.model.params.mechanics_scheme = "euler"
        c = pairs(s, 4, gap=15.0)
        rows = np.arange(0, 8, 2)
        att.attach_pairs(c, rows, rows + 1, True)
        advance(s, 1)
        k_ab = math.sqrt(k_a * aff_ab * k_b * aff_ba)
        c = s.model.cells
        pos = c.position[np.argsort(c.id)]  # rows are re-sorted by the cell list; ids are not
        gap = pos[1::2, 0] - pos[0::2, 0]
        expected = 15.0 * (1.0 - 2.0 * k_ab * DT_MECH) ** STEPS_PER_PHENO
        worst = float(gap[np.argmax(np.abs(gap - expected))])
        chk.rel(f"gap, k {k_a:g}/{k_b:g}, affinities {aff_ab:g}/{aff_ba:g}", worst, expected,
                1e-12, "µm")  # fmt: skip
        last = (expected, worst, 1e-12 * expected)
    return chk.result(*last, unit="µm", detail="gap after 6 min from 15 µm, k 0.02/0.005, "
                                               "affinities 0.5/2 (and equal ones)")
