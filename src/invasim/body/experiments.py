"""In-silico experiments on the body model: the intravenous injection of Luzzi et al. 1998.

Contract:
    * :func:`injection` injects ``n_cells`` single tumour cells into the blood at one entry
      (default the mesenteric vein: the gut's outflow, so the liver is the first bed, as in
      Luzzi et al., Am J Pathol 1998; 153:865) and follows every cell exactly:
      the circulation (:func:`invasim.body.circulation.sample_fates`), then in the organ of
      arrest extravasation (``extravasation_prob``), then dormant (``dormant_prob``), colony
      (``start_prob``) or death, each with one keyed uniform; each colony grows from one cell
      by the hybrid birth–death / Gompertz law (:func:`invasim.body.colonies.birth_death`,
      the organ's soil factor) to ``t_days``. No re-seeding (the experiment's time is short),
      no wake-up of dormant cells (counted as dormant), and every injected cell is able to
      colonise (``competent_fraction`` does not apply: the cells are a cultured line).
    * Keys: circulation ``(seed, 0, cell, STREAM_CTC, k)``; fates ``(seed, 1, cell,
      STREAM_BODY, 0 | 1)``; colony growth by the cell's id (STREAM_COLONY).
    * Returns the fractions OF THE INJECTED cells that arrested, extravasated, are dormant, are
      in micrometastases (colonies of at least ``micro_cells``, default 16) and in
      macrometastases (at least ``macro_cells``, default 1e6 ≈ 1 mm³ at 1e9 cells/cm³) at
      ``t_days`` (:class:`Injection`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from invasim.body.circulation import sample_fates
from invasim.body.colonies import STREAM_BODY, birth_death
from invasim.body.organs import entry_vector, route_matrix
from invasim.body.patient import BodyParams
from invasim.core.rng import uniform


@dataclass(frozen=True)
class Injection:
    """Fractions of the injected cells [1] and the colonies' sizes at the readout."""

    n_cells: int
    t_days: float
    arrested: float
    extravasated: float
    dormant: float
    micro: float
    macro: float
    sizes: np.ndarray


@njit(cache=True)
def _fates(seed, organ, p_ext, p_dorm, p_start, a_org, lam0, lnb, switch, t_days,
           state, sizes):  # pragma: no cover - compiled  # fmt: skip
    """state: 0 dead/not arrested, 1 extravasated then died, 2 dormant, 3 colony."""
    for c in range(organ.shape[0]):
        k = organ[c]
        state[c] = 0
        sizes[c] = 0.0
        if k < 0:
            continue
        if uniform(seed, 1, c, STREAM_BODY, 0) >= p_ext[k]:
            continue
        u = uniform(seed, 1, c, STREAM_BODY, 1)
        if u < p_dorm[k]:
            state[c] = 2
        elif u < p_dorm[k] + p_start[k]:
            state[c] = 3
            x, _, _ = birth_death(1.0, 0.0, t_days, lam0, a_org[k], lnb, 0.0, switch, seed,
                                  c, 0)  # fmt: skip
            sizes[c] = x
        else:
            state[c] = 1


def injection(params: BodyParams, n_cells: int = 100_000, t_days: float = 60.0, seed: int = 0,
              into: str = "gut", micro_cells: float = 16.0,
              macro_cells: float = 1e6) -> Injection:  # fmt: skip
    """Inject ``n_cells`` into the outflow of organ ``into`` and read the fates at ``t_days``."""
    p = params
    organs = p.organs
    route = route_matrix(organs)
    organ, _ = sample_fates(seed, np.arange(n_cells), entry_vector(organs, into), route,
                            np.array([o.arrest_prob for o in organs]), p.transit_min,
                            p.ctc_half_life_min)  # fmt: skip
    state = np.zeros(n_cells, dtype=np.int64)
    sizes = np.zeros(n_cells)
    _fates(np.int64(seed), organ, np.array([o.extravasation_prob for o in organs]),
           np.array([o.dormant_prob for o in organs]), np.array([o.start_prob for o in organs]),
           np.array([p.a_per_day * o.soil_factor for o in organs]), p.division_rate_per_day,
           math.log(p.b_cells), p.switch_cells, float(t_days), state, sizes)  # fmt: skip
    n = float(n_cells)
    return Injection(
        n_cells=n_cells, t_days=float(t_days), arrested=np.count_nonzero(organ >= 0) / n,
        extravasated=np.count_nonzero(state >= 1) / n, dormant=np.count_nonzero(state == 2) / n,
        micro=np.count_nonzero(sizes >= micro_cells) / n,
        macro=np.count_nonzero(sizes >= macro_cells) / n, sizes=sizes[state == 3])  # fmt: skip
