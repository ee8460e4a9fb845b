"""Validation cases of CAF-led invasion (the ``stroma-invasion`` scenario), over seeds.

Contract:
    * Each case runs the built-in scenario ``stroma-invasion`` (3 days) or an arm of it, through
      :class:`invasim.Simulation`, and measures the stroma and pathology readouts on the stored
      last snapshot (:mod:`invasim.analysis.stroma`, :mod:`invasim.analysis.pathology`).
      Arms (the same seeds in every arm: paired comparisons):

      - ``with``: the scenario as shipped;
      - ``none``: the same fibroblasts, unable to activate (an intervention sets their
        ``transform to caf`` to 0 from t = 0), as the study ``caf-invasion``'s ``no-cafs`` arm;
      - ``quarter``: activation at a quarter of the rate (``scale`` 0.25 on ``transform to
        caf``): fewer CAFs at every time;
      - ``no-lox``: CAFs that secrete no lysyl oxidase (``lox secretion`` set to 0 for the
        CAFs from t = 0): no cross-links; the stiffness is that of the density alone.
    * Full form: seeds 1, 2, 3; quick form (``invasim verify``): seed 1. Each run is the
      shipped scenario (3 days, ~30-40 s on one core).
    * Runs are cached per (arm, seed) within a process, so the three cases (and both forms)
      share them.
"""

from __future__ import annotations

import copy
import functools
import tempfile

import numpy as np

import invasim.analysis.stroma as st
import invasim.processes.crosslinking  # noqa: F401  (registers the process the scenario lists)
from invasim.analysis import readouts as rd
from invasim.analysis.snapshot import Snapshot
from invasim.config import load_scenario
from invasim.config.loader import read_scenario_data
from invasim.simulation import Simulation
from invasim.verify import Checks, Result, case

SCENARIO = "stroma-invasion"
MECHANISM = "stroma: fibroblast activation, CAF-led invasion"
SOURCE_GAGGIOLI = ("Gaggioli et al. 2007 Nat Cell Biol 9:1392: the leading cell of an invading "
                   "strand is a fibroblast; carcinoma cells that cannot invade alone invade in "
                   "fibroblast tracks")  # fmt: skip
SOURCE_LEVENTAL = ("Levental et al. 2009 Cell 139:891: LOX cross-linking by the stroma stiffens "
                   "the matrix around a tumour (Paszek et al. 2005: tumour stroma stiffer than "
                   "normal); LOX inhibition softens it")  # fmt: skip
SOURCE_LABERNADIE = ("Gaggioli et al. 2007; Labernadie et al. 2017 Nat Cell Biol 19:224: "
                     "fibroblasts drive carcinoma invasion")  # fmt: skip
#: the shipped end time, min (3 days)
END_MIN = 4320.0
#: a real difference in depth: two cell diameters, µm
DEPTH_MARGIN_UM = 20.0
ACTIVATION = "transform to caf"
ARMS = {
    "with": [],
    "none": [{"kind": "set", "behaviour": ACTIVATION, "value": 0.0, "cell_type": "fibroblast",
              "from_min": 0.0, "label": "no fibroblast activation"}],
    "quarter": [{"kind": "scale", "behaviour": ACTIVATION, "value": 0.25,
                 "cell_type": "fibroblast", "from_min": 0.0, "label": "activation x 0.25"}],
    "no-lox": [{"kind": "set", "behaviour": "lox secretion", "value": 0.0,
                "cell_type": "caf", "from_min": 0.0, "label": "no CAF lysyl oxidase"}],
}  # fmt: skip
READOUTS = ["invasion_depth_um", "n_invading_strands", "frac_strand_tips_fibroblast",
            "caf_fraction", "stiffness_front", "stiffness_far", "crosslink_front",
            "crosslink_far"]  # fmt: skip
#: LOX must stiffen the front by at least this factor over the same front without LOX
STIFFENING_MARGIN = 1.3


def seeds(quick: bool) -> tuple[int, ...]:
    """The seeds of a form."""
    return (1,) if quick else (1, 2, 3)


def scenario_data(arm: str) -> dict:
    """The scenario's raw data for ``arm`` (one output, at the end)."""
    data = copy.deepcopy(read_scenario_data(SCENARIO)[0])
    p = data["params"]
    p["interventions"] = copy.deepcopy(ARMS[arm])
    data["time"]["output_interval_min"] = END_MIN
    data["time"]["checkpoint_interval_min"] = END_MIN
    return data


@functools.lru_cache(maxsize=16)
def measure(arm: str, seed: int) -> dict[str, float]:
    """Readouts of one run's last snapshot, with the invading groups' counts.

    Adds ``tips_lineage``, ``members_lineage`` and ``members``: fibroblast-lineage tips,
    fibroblast-lineage members and all members of the invading groups.
    """
    sim = Simulation(load_scenario(scenario_data(arm)), seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        run = sim.run(out=tmp, progress=False, summary=False)
        snap = Snapshot.from_run(run, END_MIN)
        out = rd.compute(snap, READOUTS)
        groups = st.invading_groups(snap)
        _, fib, caf = st.roles(snap)
        lineage = fib | caf
        out["tips_lineage"] = float(sum(int(lineage[tip]) for _, tip in groups))
        out["members_lineage"] = float(sum(int(lineage[g].sum()) for g, _ in groups))
        out["members"] = float(sum(len(g) for g, _ in groups))
    return out


@case("caf-led invasion strand tips are fibroblasts", MECHANISM, SOURCE_GAGGIOLI)
def strand_tips_fibroblast(quick: bool) -> Result:
    """Pooled over seeds: the share of invading groups whose deepest cell is a fibroblast/CAF.

    Expected (Gaggioli et al. 2007): the leading cell of a strand is a fibroblast, reported
    qualitatively as the rule, not as a measured share; we ask for a majority, share >= 0.5,
    pooled over the seeds' invading groups at 3 days. Check against chance: were the tip a
    random member of its group, its expected share would be the fibroblast-lineage fraction of
    the groups' members (carcinoma cells outnumber CAFs there); the tips must be enriched above
    it. Margin: with n groups the share's binomial sd is at most 0.5/sqrt(n) (stated in the
    detail); the bound 0.5 separates fibroblast-led (share near 1) from carcinoma-led
    invasion (share near the members' fraction, < 0.3 here).
    """
    runs = [measure("with", s) for s in seeds(quick)]
    n = sum(r["n_invading_strands"] for r in runs)
    led = sum(r["tips_lineage"] for r in runs)
    share = led / n if n else float("nan")
    members = sum(r["members"] for r in runs)
    chance = sum(r["members_lineage"] for r in runs) / members if members else float("nan")
    checks = Checks()
    checks.bound("invading groups pooled over the seeds", n, ">=", 1.0, "groups")
    checks.bound("tip share above the members' fibroblast-lineage fraction (chance)", share,
                 ">", chance)  # fmt: skip
    sd = 0.5 / np.sqrt(n) if n else float("nan")
    detail = (f"seeds {list(seeds(quick))}, t = 3 d: "
              f"{int(led)} of {int(n)} invading groups fibroblast/CAF-tipped; chance (members' "
              f"lineage fraction) {chance:.3f}; binomial sd <= {sd:.2f}")  # fmt: skip
    return checks.result(0.5, share, unit="", detail=detail, relation=">=")


@case("carcinoma alone vs with cafs in dense matrix", MECHANISM, SOURCE_LABERNADIE)
def alone_vs_with_cafs(quick: bool) -> Result:
    """Invasion depth at 3 days with CAFs against the same fibroblasts unable to activate.

    Expected: without CAFs the carcinoma does not invade (no protease, pores below its
    nuclear limit, an intact BM: depth 0); with them it does. Headline: the smallest paired
    difference over the seeds, which must exceed two cell diameters (20 µm) in every seed.
    """
    with_ = [measure("with", s)["invasion_depth_um"] for s in seeds(quick)]
    none = [measure("none", s)["invasion_depth_um"] for s in seeds(quick)]
    diffs = [a - b for a, b in zip(with_, none, strict=True)]
    checks = Checks()
    checks.bound("largest depth without CAFs", max(none), "<=", 1.0, "µm")
    detail = (f"seeds {list(seeds(quick))}, t = 3 d: "
              f"depth with CAFs {np.round(with_, 1).tolist()} µm, without "
              f"{np.round(none, 1).tolist()} µm; margin {DEPTH_MARGIN_UM:g} µm in every seed")
    return checks.result(DEPTH_MARGIN_UM, min(diffs), unit="µm", detail=detail, relation=">")


@case("more cafs faster invasion", MECHANISM, SOURCE_LABERNADIE)
def more_cafs_deeper(quick: bool) -> Result:
    """Activation at the full rate against a quarter of it: more CAFs, deeper invasion.

    Headline: the mean paired difference in invasion depth at 3 days (full minus quarter),
    which must exceed 20 µm (two cell diameters); checks: the full rate has more CAFs in
    every seed, and the depth is ordered in at least all but one seed (full form).
    """
    full = [measure("with", s) for s in seeds(quick)]
    low = [measure("quarter", s) for s in seeds(quick)]
    d_depth = [a["invasion_depth_um"] - b["invasion_depth_um"] for a, b in zip(full, low,
                                                                             strict=True)]
    d_caf = [a["caf_fraction"] - b["caf_fraction"] for a, b in zip(full, low, strict=True)]
    checks = Checks()
    checks.bound("fewest extra CAFs (caf_fraction, full - quarter)", min(d_caf), ">", 0.0)
    ordered = sum(d > 0 for d in d_depth)
    checks.bound("seeds with the deeper invasion at the full rate", ordered, ">=",
                 max(1, len(d_depth) - 1), "seeds")  # fmt: skip
    detail = (f"seeds {list(seeds(quick))}, t = 3 d: "
              f"depth full {[round(a['invasion_depth_um'], 1) for a in full]} µm, quarter "
              f"{[round(b['invasion_depth_um'], 1) for b in low]} µm; caf_fraction full "
              f"{[round(a['caf_fraction'], 2) for a in full]}, quarter "
              f"{[round(b['caf_fraction'], 2) for b in low]}")  # fmt: skip
    return checks.result(DEPTH_MARGIN_UM, float(np.mean(d_depth)), unit="µm", detail=detail,
                         relation=">")  # fmt: skip


@case("lox from cafs stiffens the matrix at the invasive front", MECHANISM, SOURCE_LEVENTAL)
def lox_stiffens_front(quick: bool) -> Result:
    """Stroma stiffness at the front with CAF lysyl oxidase against the same front without.

    Expected (Levental et al. 2009; Paszek et al. 2005): CAF LOX cross-links the stroma where
    CAFs gather, at the invasive front, and stiffens it; LOX inhibition softens it. Headline:
    the smallest paired ratio over the seeds of ``stiffness_front`` with LOX to
    ``stiffness_front`` without (the ``no-lox`` arm), which must exceed
    :data:`STIFFENING_MARGIN` (1.3) in every seed. Checks: the front is more cross-linked than
    the far stroma in every seed (LOX is made where CAFs gather), and nothing is cross-linked
    without LOX. Not asserted (reported in the detail): the front's mean stiffness against
    the far stroma's: the CAFs' MT1-MMP tracks leave the front band at about 40 % of the far
    stroma's density, and E ∝ ρ^2.2 makes it softer than the far stroma even when fully
    cross-linked (at most 1 + g = 2.5 fold). Runs are deterministic per seed; the margin
    (30 %) is well above the arm-to-arm change of the front band's stiffness without any
    cross-linking (a few %, from the different strands).
    """
    with_ = [measure("with", s) for s in seeds(quick)]
    none = [measure("no-lox", s) for s in seeds(quick)]
    ratios = [a["stiffness_front"] / b["stiffness_front"] for a, b in zip(with_, none,
                                                                         strict=True)]
    checks = Checks()
    checks.bound("smallest front - far cross-link fraction with LOX",
                 min(a["crosslink_front"] - a["crosslink_far"] for a in with_), ">", 0.0)
    checks.bound("largest cross-link fraction at the front without LOX",
                 max(b["crosslink_front"] for b in none), "<=", 0.0)
    detail = (f"seeds {list(seeds(quick))}, t = 3 d: stiffness at the front with LOX "
              f"{[round(a['stiffness_front'], 3) for a in with_]} kPa, without "
              f"{[round(b['stiffness_front'], 3) for b in none]} kPa, far stroma with LOX "
              f"{[round(a['stiffness_far'], 3) for a in with_]} kPa; cross-link fraction "
              f"front {[round(a['crosslink_front'], 2) for a in with_]}, far "
              f"{[round(a['crosslink_far'], 2) for a in with_]}; margin "
              f"x {STIFFENING_MARGIN:g} in every seed")  # fmt: skip
    return checks.result(STIFFENING_MARGIN, min(ratios), unit="", detail=detail, relation=">")
