"""Therapies that act on the microenvironment: chemotherapy, TGF-beta and CSF-1R blockade.

Setup (:mod:`invasim.verify.pairs`): cells 60 µm apart that neither divide nor move, phenotype
step 6 min.

* Chemotherapy at effect ε kills cycling cells at the hazard −ln(1 − ε)/1440 per min (log
  kill: ε of them per day); a cycling cell (past cycle entry) survives a day with probability
  exactly 1 − ε, a cell in G0/G1 is untouched. Counts over independent cells are binomial,
  checked within 4 standard errors per seed (a false alarm ~6e-5 per check).
* A signal blocker at effect ε makes the rules read (1 − ε) of its field: a rule "tgfb
  increases apoptosis" (Hill) then sets the behaviour the Hill response of (1 − ε) s, exactly
  (round-off); the cells of a type the drug does not target read s; nothing is blocked before
  the drug's onset.

Contract:
    * Cases: ``chemotherapy kills cycling cells at the log-kill rate``, ``signal blockade
      scales the signal the rules read`` (quick and full forms the same, about a second each).
"""

from __future__ import annotations

import math

import numpy as np

from invasim.config import load_scenario
from invasim.core.cells import Cells
from invasim.simulation import Simulation
from invasim.verify import Checks, Result, case
from invasim.verify.pairs import advance, binomial_margin, binomial_ok, scenario_data

SEEDS = (1, 2, 3)
N = 400
NEVER = [math.inf, math.inf, math.inf, math.inf]


def _cells(s: Simulation, n: int, phases: np.ndarray, types: np.ndarray) -> None:
    """``n`` cells on a 60 µm grid with the given phases and types."""
    m = s.model
    side = int(math.ceil(math.sqrt(n)))
    pos = np.zeros((n, 3))
    pos[:, 0] = 60.0 + 60.0 * (np.arange(n) % side)
    pos[:, 1] = 60.0 + 60.0 * (np.arange(n) // side)
    c = Cells(2, capacity=2 * n)
    c.add(n, position=pos, type=types.astype(np.int32), volume=np.full(n, 2494.0))
    c.phase[:n] = phases
    m.cells = c
    for q in m.processes:
        q.setup(m.state)


def _chemo_sim(seed: int, effect: float) -> Simulation:
    still = {"cycle": {"model": "flow_cytometry_separated", "durations_min": NEVER,
                       "oxygen_dependent": False},
             "death": {"apoptosis_rate_per_min": 0.0, "apoptosis_duration_min": 1e6,
                       "necrosis_oxygen_dependent": False, "necrosis_max_rate_per_min": 0.0}}
    data = scenario_data(["cycle", "division", "death"], {"tumor": still})
    data["params"]["interventions"] = [{"kind": "drug", "drug": "chemotherapy",
                                        "effect": effect, "from_min": 0.0}]
    return Simulation(load_scenario(data), seed=seed)


@case("chemotherapy kills cycling cells at the log-kill rate", "therapies",
      "log-kill law (Skipper, Schabel & Wilcox, Cancer Chemother Rep 1964): exact")
def chemotherapy(quick: bool) -> Result:
    """400 cells, half in S phase (cycling), half in G0/G1; effect 0.6 for one day."""
    effect = 0.6
    chk, killed = Checks(), []
    for seed in SEEDS:
        s = _chemo_sim(seed, effect)
        phases = np.where(np.arange(N) % 2 == 0, 1, 0)  # S phase / G0-G1
        _cells(s, N, phases, np.zeros(N))
        advance(s, 240)  # one day of 6-min steps
        c = s.model.cells
        cycling = c.id[: c.n] % 2 == 0  # the ones that started in S (death resets the phase)
        dead_cycling = int(np.count_nonzero((c.dead != 0) & cycling))
        dead_g0 = int(np.count_nonzero((c.dead != 0) & ~cycling))
        killed.append(dead_cycling)
        chk.that(f"killed in S phase, seed {seed}: {dead_cycling} vs {N // 2 * effect:.0f} ± "
                 f"{binomial_margin(N // 2, effect):.1f}", binomial_ok(dead_cycling, N // 2,
                                                                       effect))  # fmt: skip
        chk.that(f"none killed in G0/G1, seed {seed} (got {dead_g0})", dead_g0 == 0)
    return chk.result(N // 2 * effect, float(np.mean(killed)), binomial_margin(N // 2, effect),
                      "cells", f"cycling cells killed in one day of {N // 2} at effect {effect}"
                      f" (seeds {list(SEEDS)}, each within 4 binomial SE)")  # fmt: skip


def _blocked_apoptosis(drug: str, field: str, effect: float, from_min: float) -> np.ndarray:
    """The apoptosis behaviour of two types after one step with ``field`` uniform at K."""
    k, h, base, sat = 2.0, 3.0, 1e-5, 1e-3
    still = {"death": {"apoptosis_rate_per_min": base, "apoptosis_duration_min": 1e6}}
    rules = [{"cell_type": t, "signal": field, "direction": "increases",
              "behaviour": "apoptosis", "saturation": sat, "half_max": k, "hill_power": h}
             for t in ("mac", "tum")]  # fmt: skip
    fields = {field: {"kind": "diffusing", "diffusion_um2_per_min": 1.0, "initial": k,
                      "boundary_value": k}}
    data = scenario_data(["death"], {"mac": still, "tum": still}, rules=rules, fields=fields)
    data["params"]["interventions"] = [{"kind": "drug", "drug": drug, "effect": effect,
                                        "from_min": from_min, "cell_type": "mac"}]
    s = Simulation(load_scenario(data), seed=1)
    _cells(s, 2, np.zeros(2), np.array([0, 1]))
    m = s.model
    m.behaviours.fill(m.state, "life", 0.0)
    col = m.state.behaviours.column("apoptosis")
    return np.array([col[m.cells.type == 0][0], col[m.cells.type == 1][0]])


def _hill(s: float, k: float = 2.0, h: float = 3.0, base: float = 1e-5, sat: float = 1e-3):
    return base + (sat - base) * s**h / (s**h + k**h)


@case("signal blockade scales the signal the rules read", "therapies",
      "receptor blockade: the rules read (1 - effect) of the field; exact")
def signal_blockade(quick: bool) -> Result:
    """tgfb_blockade and csf1r_inhibitor at effect 0.5 on the type 'mac' only."""
    chk = Checks()
    measured = 0.0
    for drug, field in (("tgfb_blockade", "tgfb"), ("csf1r_inhibitor", "csf1")):
        mac, tum = _blocked_apoptosis(drug, field, 0.5, 0.0)
        chk.rel(f"{drug}: the blocked type reads half the field", mac, _hill(1.0), 1e-12)
        chk.rel(f"{drug}: the other type reads all of it", tum, _hill(2.0), 1e-12)
        later, _ = _blocked_apoptosis(drug, field, 0.5, 60.0)
        chk.rel(f"{drug}: nothing blocked before the onset", later, _hill(2.0), 1e-12)
        measured = mac if drug == "tgfb_blockade" else measured
    return chk.result(_hill(1.0), measured, 1e-12 * _hill(1.0), "1/min",
                      "apoptosis a rule sets from tgfb at its half-maximum under tgfb_blockade "
                      "at effect 0.5: the Hill response of half the field")  # fmt: skip
