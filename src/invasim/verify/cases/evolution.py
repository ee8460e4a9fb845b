"""Validation cases of heritable traits and clonal evolution (issue 11, item 6).

Three cases, each a small 2-D agent run of the processes ``cycle`` and ``division`` only (no
fields, no mechanics: cells are points that divide; nothing else depends on the traits):

* **clone founding rate**: a daughter founds a new clone when one of its traits mutates.
  With traits of mutation rates ``μ_j`` (and a nonzero step) a daughter mutates with
  probability ``p = 1 - Π_j (1 - μ_j)``; a trait with a rate but a zero step never does. A
  division makes two daughters, each drawn independently (counter-based, keyed by its id), so
  given ``N`` divisions the number of new clones is Binomial(2N, p) exactly. Several seeds;
  pass when the pooled z-score ``(X - 2Np) / sqrt(2Np(1-p))`` is within ±4 (a false alarm has
  probability 6e-5).
* **lineage consistency**: a run written to a run directory; every clone's parent is in the
  clone table and born no later; every clone seen in a snapshot is in the table; the clone
  frequencies sum to 1 at every snapshot; in the Muller layout every band lies inside its
  parent's and siblings do not overlap (to 1e-12). Measured: the number of violations (0).
* **selection on cycle entry**: two independent traits, each uniform on [0.5, 1.5] in the
  initial cells and mutating (rate 0.1, step 0.05): ``fitness`` scales cycle entry (the
  ``live`` model, rate ``r``), ``neutral`` scales nothing. In a discrete phenotype step ``dt``
  a cell with ``x`` divides with probability ``q(x) = 1 - exp(-r x dt)``, so an initial cell's
  expected number of descendants after ``S`` steps is ``(1 + q(x))^S`` and the expected
  population mean of the trait is ``Σ x_i w_i / Σ w_i`` over the initial cells (their actual
  values), ``w_i = (1 + q(x_i))^S`` (Fisher's fundamental theorem, discrete-time form;
  mutation steps are symmetric and ignored). Pass (10 seeds quick, 40 full): the fitness mean
  rises by more than 4 standard errors, its rise is within 4 standard errors of the paired
  difference (plus 0.01 for the mutation the theory ignores) of the theory's, and the neutral
  trait's mean change is within 4 standard errors of 0.
"""

from __future__ import annotations

import math
import tempfile

import numpy as np

from invasim.biology.clones import lineage_problems, load_clones
from invasim.config import load_scenario
from invasim.simulation import Simulation
from invasim.verify import Result, case

SOURCE = ("Anderson ARA, Weaver AM, Cummings PT, Quaranta V (2006) Tumor morphology and "
          "phenotypic evolution driven by selective pressure from the microenvironment. "
          "Cell 127:905-915")  # fmt: skip
#: cycle entry rate of the small runs, 1/min (a doubling in ~35 min: many generations fast)
RATE = 0.02
DT = 6.0


def scenario(traits: dict, n_cells: int, end_min: float, output_min: float | None = None,
             new_clones: bool = True) -> dict:
    """A 2-D run of cycle and division only, ``n_cells`` founders, the given traits."""
    out = output_min or end_min
    return {
        "name": "evolution-check",
        "model": "agents",
        "mesh": {"dim": 2, "extent_um": [800.0, 800.0], "voxel_um": 40.0},
        "time": {"end_min": end_min, "dt_min": DT, "output_interval_min": out,
                 "checkpoint_interval_min": end_min},
        "params": {
            "processes": ["cycle", "division"],
            "fields": {},
            "division": {"new_clone_on_mutation": new_clones},
            "traits": traits,
            "cell_types": {"tumor": {"cycle": {"model": "live", "rate_per_min": RATE,
                                               "oxygen_dependent": False}}},
            "initial": {"geometry": "ball", "n_cells": n_cells},
        },
    }  # fmt: skip


def steps(sim: Simulation, n: int) -> None:
    """Advance ``sim`` by ``n`` phenotype steps in memory (no run directory)."""
    for _ in range(n):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


# -- clone founding rate -----------------------------------------------------------------------
FOUNDING_TRAITS = {
    "a": {"initial": 1.0, "mutation_rate": 0.1, "mutation_step": 0.1},
    "b": {"initial": 1.0, "mutation_rate": 0.2, "mutation_step": 0.1, "lower": 0.0},
    "silent": {"initial": 1.0, "mutation_rate": 0.5, "mutation_step": 0.0},  # never changes
}
FOUNDING_P = 1.0 - (1.0 - 0.1) * (1.0 - 0.2)


def founding(seeds, n_cells: int = 40, n_steps: int = 15) -> tuple[int, int]:
    """``(divisions, new clones)`` summed over ``seeds``."""
    n_div = n_new = 0
    for seed in seeds:
        sim = Simulation(load_scenario(scenario(FOUNDING_TRAITS, n_cells, n_steps * DT)),
                         seed=seed)  # fmt: skip
        n0 = sim.model.cells.n
        steps(sim, n_steps)
        lin = sim.model.state.lineage
        n_div += sim.model.cells.n - n0  # nothing dies: one more cell per division
        n_new += len(lin) - n0
    return n_div, n_new


@case("clone founding rate", "evolution: a daughter whose traits mutate founds a clone",
      "Binomial(2N, 1 - Π(1 - μ_j)) new clones after N divisions (independent daughters)")
def founding_rate(quick: bool) -> Result:
    """New clones per division against ``2 p``; pooled z-score within ±4."""
    seeds = range(1, 6) if quick else range(1, 21)
    n_div, n_new = founding(seeds)
    mean = 2 * n_div * FOUNDING_P
    sd = math.sqrt(2 * n_div * FOUNDING_P * (1 - FOUNDING_P))
    z = (n_new - mean) / sd
    return Result(
        expected=2 * FOUNDING_P, measured=n_new / max(n_div, 1), tolerance=4 * sd / max(n_div, 1),
        unit="clones per division", passed=bool(n_div > 100 and abs(z) <= 4.0),
        detail=f"{len(seeds)} seeds, {n_div} divisions, {n_new} new clones (expected "
        f"{mean:.1f} ± {sd:.1f}); z = {z:+.2f}, pass |z| <= 4",
    )  # fmt: skip


# -- lineage consistency -----------------------------------------------------------------------
def consistency_problems(run) -> list[str]:
    """Violations of the lineage and Muller-layout invariants in a run directory."""
    from invasim.viz.muller import group_rare, muller_layout, run_tables

    lineage = load_clones(run)
    out = lineage_problems(lineage)
    counts, _ = run_tables(run)
    seen = set(int(c) for c in counts.columns) - set(lineage["clone_id"].astype(int))
    out += [f"clone {c} is in a snapshot but not in the clone table" for c in sorted(seen)]
    for top in (len(counts.columns) + 1, 5):  # every clone apart, and the rare ones grouped
        grouped, parents = group_rare(counts, lineage, top=top, min_frequency=0.0)
        if not np.array_equal(grouped.sum(axis=1).to_numpy(), counts.sum(axis=1).to_numpy()):
            out.append(f"top={top}: grouping changed the number of cells")
        lower, upper, _ = muller_layout(grouped, parents)
        tol = 1e-12
        roots = [c for c in grouped.columns
                 if c == -1 or parents[c] == -1 or parents[c] not in grouped.columns]
        total = sum((upper[c] - lower[c]) for c in roots)
        if not np.allclose(total[counts.sum(axis=1) > 0], 1.0, atol=1e-12):
            out.append(f"top={top}: the frequencies do not sum to 1")
        kids: dict[int, list[int]] = {}
        for c in grouped.columns:
            p = parents[c]
            if c == -1 or p == -1 or p not in grouped.columns:
                continue
            kids.setdefault(p, []).append(c)
            if ((lower[c] < lower[p] - tol) | (upper[c] > upper[p] + tol)).any():
                out.append(f"top={top}: clone {c}'s band leaves its parent {p}'s")
        for cs in kids.values():
            for a, b in zip(cs, cs[1:], strict=False):
                if (upper[a] > lower[b] + tol).any():
                    out.append(f"top={top}: sibling bands of {a} and {b} overlap")
    return out


@case("lineage consistency", "evolution: clone table and Muller layout",
      "invariants: parents exist and are older; frequencies sum to 1; bands nest")
def lineage_consistency(quick: bool) -> Result:
    """A written run's clone table and Muller layout; counts the violations (expect 0)."""
    traits = {"mmp": {"initial": 1.0, "mutation_rate": 0.3, "mutation_step": 0.1,
                      "lower": 0.0, "upper": 2.0}}  # fmt: skip
    n_steps = 20 if quick else 40
    data = scenario(traits, 10 if quick else 20, n_steps * DT, output_min=4 * DT)
    problems, n_clones = [], 0
    for seed in (1, 2) if quick else (1, 2, 3):
        with tempfile.TemporaryDirectory() as tmp:
            run = Simulation(load_scenario(data), seed=seed).run(out=tmp, progress=False,
                                                                 summary=False)  # fmt: skip
            problems += consistency_problems(run)
            n_clones += len(load_clones(run))
    return Result(
        expected=0.0, measured=float(len(problems)), tolerance=0.0, unit="violations",
        passed=not problems and n_clones > 50,
        detail=f"{n_clones} clones; " + ("; ".join(problems[:3]) or "no violation"),
    )  # fmt: skip


# -- selection on cycle entry ------------------------------------------------------------------
UNIFORM = {"distribution": "uniform", "lower": 0.5, "upper": 1.5}
SELECTION_TRAITS = {
    "fitness": {"initial": UNIFORM, "lower": 0.1, "upper": 3.0, "mutation_rate": 0.1,
                "mutation_step": 0.05, "scales": ["cycle entry"]},
    "neutral": {"initial": UNIFORM, "lower": 0.1, "upper": 3.0, "mutation_rate": 0.1,
                "mutation_step": 0.05},
}  # fmt: skip


def selection_run(seed: int, n_cells: int, n_steps: int) -> tuple[float, float, float]:
    """``(fitness rise, its theory, neutral change)`` of one seed (trait means, dimensionless)."""
    sim = Simulation(load_scenario(scenario(SELECTION_TRAITS, n_cells, n_steps * DT)),
                     seed=seed)  # fmt: skip
    c = sim.model.cells
    x0, y0 = c.trait("fitness").copy(), c.trait("neutral").copy()
    w = (2.0 - np.exp(-RATE * x0 * DT)) ** n_steps  # (1 + q(x))^S
    theory = float(np.sum(x0 * w) / np.sum(w)) - float(x0.mean())
    steps(sim, n_steps)
    c = sim.model.cells
    return (float(c.trait("fitness").mean() - x0.mean()), theory,
            float(c.trait("neutral").mean() - y0.mean()))  # fmt: skip


@case("selection on cycle entry", "evolution: a trait raising cycle entry spreads",
      "Fisher's fundamental theorem: E[mean] = Σ x w(x) / Σ w(x), w = (1 + q(x))^S")
def selection(quick: bool) -> Result:
    """The fitness trait's mean rise against the theory; the neutral trait's change ~ 0."""
    # margins: 4 seed-to-seed standard errors (Student t with 9 / 39 degrees of freedom: a
    # false alarm has probability ~3e-3 / ~3e-4 per check), and 0.01 for the mutation steps
    # the theory ignores (measured over 40 seeds: +0.006 ± 0.006)
    seeds = range(1, 11) if quick else range(1, 41)
    rows = np.array([selection_run(s, 40, 20) for s in seeds])
    rise, theory, neutral = rows.mean(axis=0)
    k = len(seeds)
    se = rows.std(axis=0, ddof=1) / math.sqrt(k)
    se_diff = float((rows[:, 0] - rows[:, 1]).std(ddof=1) / math.sqrt(k))
    tol = 4 * se_diff + 0.01
    ok = bool(rise > 4 * se[0] and abs(rise - theory) <= tol and abs(neutral) <= 4 * se[2])
    return Result(
        expected=float(theory), measured=float(rise), tolerance=float(tol), unit="1",
        passed=ok,
        detail=f"{k} seeds of 40 cells, 20 steps; fitness mean rise {rise:.4f} (theory "
        f"{theory:.4f}, margin 4 SE {4 * se_diff:.4f} + 0.01; > 4 SE {4 * se[0]:.4f}); neutral "
        f"change {neutral:+.4f} (within 4 SE {4 * se[2]:.4f} of 0)",
    )  # fmt: skip


__all__ = ["founding_rate", "lineage_consistency", "selection"]
