"""Validation case of the shedding calibration (``invasim shedding``, the ``body`` process).

Contract:
    * ``shedding calibration recovers a known rate``: a real tissue run (processes
      ``vessels``, ``intravasation``; no motion, no growth) of isolated tumour cells (radius
      ``R``, volume ``v``) each touching one of two blood vessels, spaced so that the
      interface measurement keeps them apart (8 R centre to centre: gaps of 6 R, beyond the
      closing's 4 R). Each cell enters its vessel at rate ``b`` (no factors), so events come
      at ``b`` per cell while each cell carries ``2πR`` of front: the rate per unit of front
      is exactly ``r = b / (2πR d)`` whatever the number of cells left (``d`` the slice, one
      cell diameter), and the body's coefficient ``m = r (36π)^{1/3} v^{2/3}`` (per day).
      :func:`invasim.io.shedding.calibrate_run` on the run directories (fronts from the
      stored snapshots every 30 min) must give ``m`` within its exact 95 % Poisson interval,
      pooled over the seeds (events and exposures summed); and per seed, the interval must
      hold ``m`` in all but at most one seed (each holds it with probability ~0.95).
      Measured: the pooled estimate over the true ``m``; accepted within the pooled
      interval. Biases below the interval: the front of a lone disc is measured within 1 %
      (unit test), the trapezoid over 30-min snapshots of a count that drops at 6-min steps
      shifts the exposure by about ``b dt / 2`` < 1 %.
    * ``cluster_fraction``: 0 here (single cells, ``max_cluster_cells = 1``), checked.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

from invasim.body.shedding import SPHERE, cell_diameter, poisson_interval
from invasim.verify import Checks, Result, case
from invasim.verify.cases.intravasation import R_VESSEL, simulation

SOURCE = "mechanism definition (docs/metastasis/shedding.md): exact expected rate per front"
B = 0.003
YS = (100.0, 300.0)


def _scenario(end_min: float) -> dict:
    """Two blood vessels along x in a 2000 × 400 µm window; tumour cells at rate ``B``."""
    segs = [{"from": [0.0, y], "to": [2000.0, y], "radius_um": R_VESSEL, "kind": "blood"}
            for y in YS]  # fmt: skip
    return {
        "name": "shedding-case", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [2000.0, 400.0], "voxel_um": 10.0},
        "time": {"end_min": end_min, "dt_min": 6.0, "output_interval_min": 30.0,
                 "checkpoint_interval_min": end_min},
        "params": {
            "processes": ["vessels", "intravasation"], "dt_mechanics_min": 0.1,
            "fields": {"vessels": {"kind": "matrix", "initial": 0.0}},
            "vessels": {"segments": segs}, "intravasation": {"max_cluster_cells": 1},
            "cell_types": {"tumor": {"intravasation": {"rate_per_min": B}}},
            "initial": {"geometry": "ball", "n_cells": 1},
        },
    }  # fmt: skip


def _place(radius: float) -> np.ndarray:
    x = 40.0 + 8.0 * radius * np.arange(int((2000.0 - 80.0) // (8.0 * radius)) + 1)
    rows = [np.stack([x, np.full(x.size, y + R_VESSEL + radius - 0.5)], axis=1) for y in YS]
    return np.concatenate(rows)


@case("shedding calibration recovers a known rate",
      "shedding: events per unit of invasive front from a run, scaled to the body's m",
      SOURCE)  # fmt: skip
def known_rate(quick: bool) -> Result:
    """Calibrated m of runs with a known per-cell rate vs the exact m, in its interval."""
    from invasim.io.shedding import calibrate_run

    seeds = (1, 2) if quick else (1, 2, 3, 4, 5, 6)
    end = 480.0
    data = _scenario(end)
    chk = Checks()
    n_tot, e_tot, held = 0, 0.0, 0
    m_true = math.nan
    coef = math.nan
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            sim = simulation(data, seed, _place)
            v = float(sim.model.state.cells.volume[0])
            radius = float(sim.model.state.cells.radius[0])
            d = cell_diameter(v)
            coef = SPHERE * v ** (2.0 / 3.0)
            m_true = B * 1440.0 / (2.0 * math.pi * radius * d) * coef
            run = sim.run(out=Path(tmp) / f"s{seed}", progress=False, summary=False)
            cal = calibrate_run(run)
            n_tot += cal.n_events
            e_tot += cal.exposure_um2_day
            ok = cal.shed_per_day_lo <= m_true <= cal.shed_per_day_hi
            held += ok
            chk.that(f"seed {seed}: m = {cal.shed_per_day:.4g} (95% {cal.shed_per_day_lo:.4g}-"
                     f"{cal.shed_per_day_hi:.4g}) from {cal.n_events} events", True)
            chk.that(f"seed {seed}: no clusters", cal.cluster_fraction == 0.0,
                     f"{cal.cluster_fraction:g}")  # fmt: skip
    chk.bound("seeds whose interval holds the true m", held, ">=", len(seeds) - 1)
    lo, hi = poisson_interval(n_tot)
    m_hat = n_tot / e_tot * coef
    m_lo, m_hi = lo / e_tot * coef, hi / e_tot * coef
    chk.that("pooled interval holds the true m", m_lo <= m_true <= m_hi,
             f"{m_lo:.4g}-{m_hi:.4g} vs {m_true:.4g}")  # fmt: skip
    tol = max(m_true - m_lo, m_hi - m_true)
    return chk.result(m_true, m_hat, tol, "CTC events/day/cell^(2/3)",
                      f"{n_tot} events over {len(seeds)} seeds, b = {B}/min, {end:g} min, "
                      f"pooled 95% interval {m_lo:.4g}-{m_hi:.4g}")  # fmt: skip
