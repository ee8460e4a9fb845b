"""One patient: a Gompertz primary shedding CTCs, circulation, colonies per organ, outcomes.

Contract:
    * :func:`simulate_patient` ``(params, seed, t_end_days) -> PatientResult``. Time in days
      (the step ``dt_days``, default 1 day), sizes in cells. Per step ``[t, t + Δ]``:

      1. the primary grows by the exact Gompertz flow (``a``, ``b``; from
         ``primary_cells_initial`` at ``t = 0``) and sheds CTCs at ``m x^α`` per day (the
         rate integrated over the step, Simpson); every colony sheds likewise into its
         organ's outflow, and grows (:mod:`invasim.body.colonies`, hybrid);
      2. the CTCs shed by the sources draining into each entry are thinned into Poisson
         numbers (exact in law, Poisson splitting; the per-CTC sampler
         :func:`invasim.body.circulation.sample_fates` gives the same shares, tested): a
         fraction ``cluster_fraction`` are clusters; a CTC arrests in organ ``k`` with the
         absorbing-chain share ``A_k`` of its entry (:func:`~invasim.body.circulation.
         absorbing_shares`, singles and clusters each with their half-life and arrest
         probability), is metastasis-competent with ``competent_fraction``, extravasates
         with ``extravasation_prob_k``, then starts a colony (``start_prob_k``; clusters
         ``× cluster_potential``, capped), becomes dormant (``dormant_prob_k``) or dies;
      3. a new colony starts at one cell at a uniform time in the step; a dormant cell wakes
         (then starts a colony) at rate ``wake_rate_per_day`` or dies at
         ``dormant_death_per_day``, whichever comes first (exponential clocks);
      4. outcomes at the step's end: the burden of each organ (its colonies, plus the primary
         in its site), organ failure when a vital organ's burden reaches its
         ``failure_cells``, death when the total burden reaches ``lethal_cells`` (1e12,
         Coumans et al. 2013); the run stops at death.

      5. therapy (:class:`Resection`, :class:`Treatment`): the primary's diagnosis (it
         reaches ``diagnosis_cells``) and a resection by size are at the exact crossing
         time of its flow, a resection by time at its day; a resection leaves
         ``residual_fraction`` of the primary (none below one cell). A treatment acts from
         the first step starting at or after its start (``Δ`` resolution) for its duration:
         a log-kill rate ``δ`` turns each tumour's law into ``dx/dt = g a x ln(b/x) − δ x``,
         still exactly solvable (the plateau ``ln b − δ/(g a)``; for the small colonies the
         death rate rises by ``δ``), and ``m``, ``a`` and the extravasation probabilities are
         scaled by its factors. A deterministic colony that shrinks below the switch size is
         rounded to whole cells and continues stochastic; a primary below one cell is gone.

      A colony created in a step is advanced (and sheds) from its start time in the next
      step, so its CTCs of the rest of its first step are counted one step late (a timing
      shift below ``Δ``; no loss).
    * Randomness: counter-based (:mod:`invasim.core.rng`); Poisson numbers keyed ``(seed,
      step, organ, STREAM_BODY, k)``, start times and dormancy clocks ``(seed, step, 1000 +
      organ, STREAM_BODY, k)``, each colony's birth–death events by its id. The same seed
      gives the same patient.
    * :class:`PatientResult`: ``died``, ``t_death_days``, ``cause`` (``"alive"``,
      ``"lethal burden"``, ``"<organ> failure"``), the ``burden`` table (rows every
      ``record_every_days``: ``t_days``, ``primary``, one column per organ, ``total``,
      ``n_metastases``), the final metastasis sizes and organs, ``detectable`` (colonies ≥
      ``detect_cells`` at each of ``detect_times_days`` reached), the number of CTCs shed
      (the integrated rate, an expectation) and the counts of colonies started, dormant cells
      and wakings.
      ``t_diagnosis_days`` and ``t_resection_days`` (nan: did not happen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from invasim.body.circulation import TRANSIT_MIN, absorbing_shares
from invasim.body.colonies import (
    STREAM_BODY,
    birth_death,
    gompertz_flow,
    poisson,
    seeding_integral,
)
from invasim.body.organs import (
    Organ,
    check_organs,
    default_organs,
    entry_vector,
    organ_index,
    route_matrix,
)
from invasim.core.rng import uniform
from invasim.errors import ConfigError

_IW = "Iwata, Kawasaki & Shigesada 2000 J Theor Biol 203:177 (model reference §8)"


class Resection(BaseModel):
    """Surgery of the primary: at a time, or when it reaches a size (whichever comes first)."""

    model_config = ConfigDict(extra="forbid")

    at_day: float | None = Field(None, ge=0, description="resect at this time since the "
                                 "primary's first cell [days]; None: not by time")  # fmt: skip
    at_primary_cells: float | None = Field(
        None, gt=1, description="resect when the primary first reaches this size [cells] (the "
        "exact crossing time of its Gompertz flow); None: not by size"
    )  # fmt: skip
    residual_fraction: float = Field(
        0.0, ge=0, lt=1, description="fraction of the primary's cells left behind [1]; 0: "
        "complete (R0) resection; a residue below one cell is none"
    )  # fmt: skip


class Treatment(BaseModel):
    """A drug (or schedule) acting on every tumour while it is given.

    It starts at its clock's event (``time``: t = 0, the primary's first cell; ``diagnosis``:
    the primary reaching ``diagnosis_cells``; ``resection``) plus ``delay_days`` and lasts
    ``duration_days``; a treatment whose event never happens is never given. While given:
    every growing tumour (primary and colonies) loses cells at ``kill_per_day`` on top of its
    Gompertz law (log-kill, Skipper 1964; Norton & Simon 1977 for Gompertzian tumours) with
    the rate ``a`` times ``growth_factor``; the shedding coefficient ``m`` is times
    ``shed_factor``; every organ's extravasation probability is times
    ``extravasation_factor``. Dormant cells are not touched (not cycling: Naumov et al. 2003).
    Factors of simultaneous treatments multiply, kill rates add.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field("treatment", description="a label for tables and figures")
    start: Literal["time", "diagnosis", "resection"] = Field(
        "time", description="the clock it starts from: 'time' (t = 0, the primary's first "
        "cell), 'diagnosis' or 'resection'"
    )  # fmt: skip
    delay_days: float = Field(0.0, ge=0, description="start = the event's time + delay [days]")
    duration_days: float = Field(math.inf, gt=0, description="how long it is given [days]")
    kill_per_day: float = Field(0.0, ge=0, description="log-kill rate δ on every tumour cell "
                                "while given [1/day]: dx/dt = a x ln(b/x) − δ x")  # fmt: skip
    shed_factor: float = Field(1.0, ge=0, description="multiplies the shedding coefficient m [1]")
    growth_factor: float = Field(1.0, gt=0, description="multiplies the Gompertz rate a of "
                                 "every tumour [1]")  # fmt: skip
    extravasation_factor: float = Field(1.0, ge=0, description="multiplies every organ's "
                                        "extravasation probability (capped at 1) [1]")  # fmt: skip


#: codes of Treatment.start in the kernel's treatment table
START_CODES = {"time": 0, "diagnosis": 1, "resection": 2}


class BodyParams(BaseModel):
    """The body model's parameters (days, cells, minutes for the blood)."""

    model_config = ConfigDict(extra="forbid")

    organs: list[Organ] = Field(default_factory=default_organs,
                                description="the organ table (invasim.body.organs)")
    primary_site: str = Field("breast", description="organ holding the primary (its outflow is "
                              "the CTCs' entry): 'breast' → venous → lungs first; 'gut' → "
                              "portal → liver first")  # fmt: skip
    lymph_fraction: float = Field(
        0.1, ge=0, le=1, description="fraction of the primary's CTCs that reach the regional "
        "lymph node first (then the venous blood) [1]; stated-illustrative"
    )  # fmt: skip
    primary_cells_initial: float = Field(1.0, ge=1, description="primary size at t = 0 [cells]")
    a_per_day: float = Field(0.00286, gt=0, description=f"Gompertz rate a [1/day]; {_IW}")
    b_cells: float = Field(7.3e10, gt=1, description=f"Gompertz plateau b [cells]; {_IW}")
    alpha: float = Field(0.663, gt=0, le=1, description=f"shedding exponent α in m x^α [1]; {_IW}")
    shed_per_day: float = Field(
        3.2, ge=0, description="m: CTC shedding coefficient in m x^α [CTC/(cell^α·day)]; Butler "
        "& Gullino 1975 Cancer Res 35:512: 3.2e6 cells per g of tumour per day, at 1e9 cells/g "
        "and x^(2/3) = 1e6"
    )  # fmt: skip
    competent_fraction: float = Field(
        2.3e-6, ge=0, le=1, description="fraction of CTCs able to found a colony (stem-like) "
        "[1]; CHOSEN so that the default chain gives ~1 metastasis per 5–6e7 shed cells (Coumans "
        "et al. 2013 BMC Cancer 13:283: 1 per 6e7; estimate 0.93 arrest × 0.83 extravasation × "
        "(0.029 start + 0.43 dormant × 0.09 waking) × 0.135 birth-death survival, +30 % from "
        "clusters), which also makes m × efficiency ≈ Iwata's m = 5.3e-8"
    )  # fmt: skip
    ctc_half_life_min: float = Field(
        90.0, gt=0, description="half-life of a single CTC in blood [min] (inf: none); Meng et "
        "al. 2004 Clin Cancer Res 10:8152: 1–2.4 h"
    )  # fmt: skip
    transit_min: float = Field(TRANSIT_MIN, gt=0, description="time of one pass through a "
                               "capillary bed [min]; half the ~1 min circulation time (Guyton)")
    cluster_fraction: float = Field(
        0.03, ge=0, le=1, description="fraction of shedding events that are clusters [1]; "
        "order of magnitude of Aceto et al. 2014 Cell 158:1110 (a few % of CTC events; confirm)"
    )  # fmt: skip
    cluster_half_life_min: float = Field(
        27.0, gt=0, description="half-life of a CTC cluster [min]; the single-CTC 90 min × "
        "Aceto et al. 2014's mouse ratio (6–10 vs 25–30 min, ≈ 0.3)"
    )  # fmt: skip
    cluster_arrest_prob: float = Field(
        1.0, ge=0, le=1, description="per-pass arrest probability of a cluster [1/pass]; 1: "
        "clusters occlude the first capillary bed (stated assumption; Au et al. 2016 PNAS show "
        "some traverse capillary-sized channels)"
    )  # fmt: skip
    cluster_potential: float = Field(
        23.0, ge=1, description="multiplier of a cluster's colony-start probability [1]; Aceto "
        "et al. 2014: clusters have 23–50× the metastatic potential (low end)"
    )  # fmt: skip
    division_rate_per_day: float = Field(
        0.5, gt=0, description="λ0: division rate of a cell of a small colony [1/day]; death "
        "rate λ − a ln(b/x); stated-illustrative (cell cycle ~1–2 days)"
    )  # fmt: skip
    switch_cells: float = Field(
        1e3, ge=1, description="hybrid switch size: colonies below it are stochastic birth–"
        "death, above it deterministic Gompertz [cells]; 1: all deterministic (Iwata)"
    )  # fmt: skip
    wake_rate_per_day: float = Field(1e-4, ge=0, description="rate at which a dormant cell "
                                     "wakes and starts a colony [1/day]; stated-illustrative")
    dormant_death_per_day: float = Field(1e-3, ge=0, description="death rate of a dormant cell "
                                         "[1/day]; stated-illustrative")  # fmt: skip
    lethal_cells: float = Field(1e12, gt=0, description="total burden at death [cells]; Coumans "
                                "et al. 2013 (~1 kg of tumour)")  # fmt: skip
    detect_cells: float = Field(1e8, gt=1, description="imaging threshold [cells]; 1 cm³ at "
                                "1e8 cells/cm³ (Del Monte 2009)")  # fmt: skip
    detect_times_days: list[float] = Field(
        default_factory=lambda: [365.0, 730.0, 1825.0, 3650.0],
        description="times at which detectable metastases are counted [days]")
    diagnosis_cells: float = Field(
        1e9, gt=1, description="the primary's size at diagnosis [cells]: the clinical "
        "detection limit of ~1 cm³ (1e9 cells; Del Monte 2009 Cell Cycle 8:505); the clock of "
        "treatments that start at 'diagnosis' and of the cohorts' survival"
    )  # fmt: skip
    resection: Resection | None = Field(None, description="surgery of the primary; None: none")
    treatments: list[Treatment] = Field(default_factory=list, description="drugs and schedules "
                                        "(Treatment); combinations are several")  # fmt: skip
    dt_days: float = Field(1.0, gt=0, le=5, description="time step [days]")
    record_every_days: float = Field(30.0, gt=0, description="rows of the burden table [days]")
    max_colonies: int = Field(1_000_000, gt=0, description="capacity of the colony arrays")


@dataclass
class PatientResult:
    """The outcome of one simulated patient (see the module docstring)."""

    died: bool
    t_death_days: float
    cause: str
    burden: pd.DataFrame
    sizes: np.ndarray
    organs: np.ndarray
    detectable: dict[float, int]
    ctc_shed: float
    n_started: int
    n_dormant: int
    n_woken: int
    truncated: bool = False
    organ_names: list[str] = field(default_factory=list)
    t_diagnosis_days: float = math.nan
    t_resection_days: float = math.nan

    def n_metastases(self, min_cells: float = 1.0) -> int:
        """Metastases alive at the end with at least ``min_cells`` cells."""
        return int(np.count_nonzero(self.sizes >= min_cells))

    def size_distribution(self) -> pd.DataFrame:
        """Metastases at the end with at least ``size_cells`` (1, 10, ..., 1e10), per organ.

        Columns ``size_cells``, ``all`` and one per organ (counts).
        """
        grid = 10.0 ** np.arange(0, 11)
        out = {"size_cells": grid,
               "all": [int(np.count_nonzero(self.sizes >= g)) for g in grid]}  # fmt: skip
        for k, name in enumerate(self.organ_names):
            x = self.sizes[self.organs == k]
            out[name] = [int(np.count_nonzero(x >= g)) for g in grid]
        return pd.DataFrame(out)


@dataclass(frozen=True)
class Compiled:
    """The arrays the kernel needs, derived once from the parameters."""

    a_org: np.ndarray
    p_ext: np.ndarray
    p_dorm: np.ndarray
    p_start: np.ndarray
    p_start_cl: np.ndarray
    failure: np.ndarray
    d_single: np.ndarray
    d_cluster: np.ndarray
    dp_single: np.ndarray
    dp_cluster: np.ndarray
    site: int


def compile_params(p: BodyParams) -> Compiled:
    """Per-organ constants and the arrest shares of every entry (absorbing chain)."""
    organs = p.organs
    check_organs(organs)
    names = [o.name for o in organs]
    if p.primary_site not in names:
        raise ConfigError(f"primary_site = {p.primary_site!r}; allowed one of {names}")
    site = organ_index(organs, p.primary_site)
    n = len(organs)
    if p.lymph_fraction > 0 and "lymph_node" not in [o.name for o in organs]:
        raise ConfigError(f"lymph_fraction = {p.lymph_fraction:g} needs an organ 'lymph_node'; "
                          "allowed 0 without one")  # fmt: skip
    r = route_matrix(organs)
    arrest = np.array([o.arrest_prob for o in organs])
    arrest_cl = np.full(n, p.cluster_arrest_prob)
    d_s = np.zeros((n, n))
    d_c = np.zeros((n, n))
    for j in range(n):
        d_s[j] = absorbing_shares(r[j], r, arrest, p.transit_min, p.ctc_half_life_min)[0]
        d_c[j] = absorbing_shares(r[j], r, arrest_cl, p.transit_min, p.cluster_half_life_min)[0]
    ent = entry_vector(organs, p.primary_site, p.lymph_fraction)
    dp_s = absorbing_shares(ent, r, arrest, p.transit_min, p.ctc_half_life_min)[0]
    dp_c = absorbing_shares(ent, r, arrest_cl, p.transit_min, p.cluster_half_life_min)[0]
    p_dorm = np.array([o.dormant_prob for o in organs])
    p_start = np.array([o.start_prob for o in organs])
    return Compiled(
        a_org=np.array([p.a_per_day * o.soil_factor for o in organs]),
        p_ext=np.array([o.extravasation_prob for o in organs]),
        p_dorm=p_dorm, p_start=p_start,
        p_start_cl=np.minimum(p_start * p.cluster_potential, 1.0 - p_dorm),
        failure=np.array([o.failure_cells if o.vital else math.inf for o in organs]),
        d_single=d_s, d_cluster=d_c, dp_single=dp_s, dp_cluster=dp_c, site=site)  # fmt: skip


@njit(cache=True)
def _crossing(x, target, a, lnb):  # pragma: no cover - compiled
    """Time for the Gompertz flow from ``x`` to reach ``target`` (> x, below the plateau)."""
    return -math.log((lnb - math.log(target)) / (lnb - math.log(x))) / a


@njit(cache=True)
def _factors(t, tr, ev):  # pragma: no cover - compiled
    """The shed, growth and extravasation factors and the kill rate given at ``t``.

    A treatment counts from the first step starting at or after its start time.
    """
    fs = 1.0
    fg = 1.0
    fe = 1.0
    kill = 0.0
    for i in range(tr.shape[0]):
        code = int(tr[i, 0])
        t0 = 0.0 if code == 0 else ev[code - 1]
        if math.isnan(t0):
            continue
        st = t0 + tr[i, 1]
        if st <= t + 1e-9 and t < st + tr[i, 2] - 1e-9:
            kill += tr[i, 3]
            fs *= tr[i, 4]
            fg *= tr[i, 5]
            fe *= tr[i, 6]
    return fs, fg, fe, kill


@njit(cache=True)
def _primary(x_p, t, dt, a_p, lnb_p, alpha, diag, res_day, res_cells, resid,
             ev):  # pragma: no cover - compiled
    """Advance the primary over ``[t, t + dt]`` with its diagnosis and resection events.

    Returns ``(x, ∫ x^α dt)``; ``ev[0]`` / ``ev[1]`` get the diagnosis / resection time at the
    exact crossing of the flow (resection by time at ``res_day``).
    """
    if x_p <= 0.0:
        return 0.0, 0.0
    s = math.inf
    if math.isnan(ev[1]):
        if res_day < t + dt:
            s = max(res_day - t, 0.0)
        if x_p >= res_cells:
            s = 0.0
        elif res_cells < math.inf:
            if gompertz_flow(x_p, a_p, lnb_p, dt) >= res_cells:
                s = min(s, _crossing(x_p, res_cells, a_p, lnb_p))
    s_d = min(s, dt)
    if math.isnan(ev[0]) and gompertz_flow(x_p, a_p, lnb_p, s_d) >= diag * (1.0 - 1e-12):
        ev[0] = t + min(_crossing(x_p, diag, a_p, lnb_p), s_d)
    if s == math.inf:
        return gompertz_flow(x_p, a_p, lnb_p, dt), seeding_integral(x_p, a_p, lnb_p, alpha, dt)
    integ = seeding_integral(x_p, a_p, lnb_p, alpha, s)
    ev[1] = t + s
    x = gompertz_flow(x_p, a_p, lnb_p, s) * resid
    if x < 1.0:
        return 0.0, integ
    integ += seeding_integral(x, a_p, lnb_p, alpha, dt - s)
    return gompertz_flow(x, a_p, lnb_p, dt - s), integ


@njit(cache=True)
def _run(seed, n_steps, dt, a, lnb, alpha, m, x_p, site, a_org, lam0, switch, cf, comp,
         p_ext, p_dorm, p_start, p_start_cl, d_s, d_c, dp_s, dp_c, wake, ddeath, failure,
         lethal, t_end, rec_every, det_steps, det_cells, diag, res_day, res_cells, resid, tr,
         ev, xs, org, t_last, ctr, rec, det_out,
         counts):  # pragma: no cover - compiled  # fmt: skip
    """The patient's time loop (see the module docstring); returns (status, death step)."""
    n_org = a_org.shape[0]
    n_col = 0
    lam_src = np.zeros(n_org)
    carry = np.zeros(n_org)
    burden = np.zeros(n_org)
    a_eff = np.empty(n_org)
    lnb_eff = np.empty(n_org)
    p_ext_eff = np.empty(n_org)
    n_rec = 0
    n_det = 0
    cap = xs.shape[0]
    if x_p >= diag:
        ev[0] = 0.0
    for step in range(n_steps):
        t = step * dt
        t1 = t + dt
        fs, fg, fe, kill = _factors(t, tr, ev)
        m_eff = m * fs
        for k in range(n_org):
            a_eff[k] = a_org[k] * fg
            lnb_eff[k] = lnb - kill / a_eff[k]
            p_ext_eff[k] = min(1.0, p_ext[k] * fe)
        a_p = a * fg
        x_p, integ_p = _primary(x_p, t, dt, a_p, lnb - kill / a_p, alpha, diag, res_day,
                                res_cells, resid, ev)  # fmt: skip
        if x_p < 1.0:
            x_p = 0.0
        lam_p = m_eff * integ_p
        for k in range(n_org):
            lam_src[k] = carry[k]
            carry[k] = 0.0
            burden[k] = 0.0
        for c in range(n_col):
            x = xs[c]
            if x <= 0.0 or t_last[c] >= t1:
                continue
            k = org[c]
            t0 = t_last[c]
            if x < switch and x != math.floor(x):
                x = math.floor(x + 0.5)  # a shrinking deterministic colony turns stochastic
                if x <= 0.0:
                    xs[c] = 0.0
                    continue
            if x < switch:
                x, integ, ctr[c] = birth_death(x, t0, t1, lam0, a_eff[k], lnb_eff[k], alpha,
                                               switch, seed, c, ctr[c])  # fmt: skip
            else:
                integ = seeding_integral(x, a_eff[k], lnb_eff[k], alpha, t1 - t0)
                x = gompertz_flow(x, a_eff[k], lnb_eff[k], t1 - t0)
            xs[c] = x
            t_last[c] = t1
            lam_src[k] += m_eff * integ
            burden[k] += x
        counts[0] += lam_p
        for k in range(n_org):
            counts[0] += lam_src[k]
        # arrests and fates: Poisson thinning of the shed CTCs, organ by organ
        kk = 0
        for k in range(n_org):
            rs = dp_s[k] * lam_p
            rc = dp_c[k] * lam_p
            for j in range(n_org):
                rs += d_s[j, k] * lam_src[j]
                rc += d_c[j, k] * lam_src[j]
            rs *= (1.0 - cf) * comp * p_ext_eff[k]
            rc *= cf * comp * p_ext_eff[k]
            n_start, kk = poisson(rs * p_start[k] + rc * p_start_cl[k], seed, step, k,
                                  STREAM_BODY, kk)  # fmt: skip
            n_dorm, kk = poisson((rs + rc) * p_dorm[k], seed, step, k, STREAM_BODY, kk)
            counts[1] += n_start
            counts[2] += n_dorm
            kt = 0
            for i in range(n_start + n_dorm):
                ts = t + dt * uniform(seed, step, 1000 + k, STREAM_BODY, kt)
                kt += 1
                if i >= n_start:  # dormant: wake before dying and before the end?
                    tw = math.inf
                    td = math.inf
                    if wake > 0.0:
                        tw = -math.log(uniform(seed, step, 1000 + k, STREAM_BODY, kt)) / wake
                    if ddeath > 0.0:
                        td = -math.log(uniform(seed, step, 1000 + k, STREAM_BODY, kt + 1)) / ddeath
                    kt += 2
                    if not (tw < td and ts + tw < t_end):
                        continue
                    ts += tw
                    counts[3] += 1
                if n_col >= cap:
                    return 2, step
                xs[n_col] = 1.0
                org[n_col] = k
                t_last[n_col] = ts
                ctr[n_col] = 0
                n_col += 1
        # outcomes at t1
        burden[site] += x_p
        total = 0.0
        dead = 0
        for k in range(n_org):
            total += burden[k]
            if burden[k] >= failure[k]:
                dead = 1
        if total >= lethal:
            dead = 1
        if (step + 1) % rec_every == 0 or dead == 1 or step == n_steps - 1:
            rec[n_rec, 0] = t1
            rec[n_rec, 1] = x_p
            for k in range(n_org):
                rec[n_rec, 2 + k] = burden[k]
            rec[n_rec, 2 + n_org] = total
            nm = 0
            for c in range(n_col):
                if xs[c] > 0.0 and t_last[c] <= t1:
                    nm += 1
            rec[n_rec, 3 + n_org] = nm
            n_rec += 1
        while n_det < det_steps.shape[0] and det_steps[n_det] == step + 1:
            nd = 0
            for c in range(n_col):
                if xs[c] >= det_cells and t_last[c] <= t1:
                    nd += 1
            det_out[n_det] = nd
            n_det += 1
        if dead == 1:
            counts[4] = n_col
            counts[5] = n_rec
            return 1, step
    counts[4] = n_col
    counts[5] = n_rec
    return 0, n_steps - 1


def simulate_patient(params: BodyParams, seed: int, t_end_days: float) -> PatientResult:
    """Simulate one patient from ``t = 0`` to death or ``t_end_days`` (see the module docstring).

    Raises:
        ConfigError: an inconsistent organ table or primary site.
    """
    p = params
    cp = compile_params(p)
    dt = p.dt_days
    n_steps = max(1, int(math.ceil(t_end_days / dt - 1e-9)))
    rec_every = max(1, int(round(p.record_every_days / dt)))
    n_org = len(p.organs)
    cap = p.max_colonies
    xs = np.zeros(cap)
    org = np.zeros(cap, dtype=np.int64)
    t_last = np.zeros(cap)
    ctr = np.zeros(cap, dtype=np.int64)
    rec = np.zeros((n_steps // rec_every + 2, 4 + n_org))
    det_t = sorted(t for t in p.detect_times_days if t <= n_steps * dt + 1e-9)
    det_steps = np.array([int(round(t / dt)) for t in det_t], dtype=np.int64)
    det_out = np.full(len(det_t), -1, dtype=np.int64)
    counts = np.zeros(6)
    tr = np.array([[START_CODES[q.start], q.delay_days, q.duration_days, q.kill_per_day,
                    q.shed_factor, q.growth_factor, q.extravasation_factor]
                   for q in p.treatments], dtype=np.float64).reshape(-1, 7)  # fmt: skip
    res = p.resection
    res_day = math.inf if res is None or res.at_day is None else res.at_day
    res_cells = math.inf if res is None or res.at_primary_cells is None else res.at_primary_cells
    ev = np.full(2, np.nan)
    status, last = _run(
        np.int64(seed), n_steps, float(dt), p.a_per_day, math.log(p.b_cells), p.alpha,
        p.shed_per_day, float(p.primary_cells_initial), cp.site, cp.a_org,
        p.division_rate_per_day, p.switch_cells, p.cluster_fraction, p.competent_fraction,
        cp.p_ext, cp.p_dorm, cp.p_start, cp.p_start_cl, cp.d_single, cp.d_cluster,
        cp.dp_single, cp.dp_cluster, p.wake_rate_per_day, p.dormant_death_per_day,
        cp.failure, p.lethal_cells, n_steps * dt, rec_every, det_steps, p.detect_cells,
        p.diagnosis_cells, res_day, res_cells, 0.0 if res is None else res.residual_fraction,
        tr, ev, xs, org, t_last, ctr, rec, det_out, counts)  # fmt: skip
    names = [o.name for o in p.organs]
    n_col, n_rec = int(counts[4]), int(counts[5])
    table = pd.DataFrame(rec[:n_rec], columns=["t_days", "primary", *names, "total",
                                               "n_metastases"])  # fmt: skip
    t_end = (last + 1) * dt
    live = (xs[:n_col] > 0.0) & (t_last[:n_col] <= t_end)
    cause = "alive"
    if status == 1:
        row = rec[n_rec - 1]
        over = [names[k] for k in range(n_org) if row[2 + k] >= cp.failure[k]]
        cause = f"{over[0]} failure" if over else "lethal burden"
        if row[2 + n_org] >= p.lethal_cells:
            cause = "lethal burden"
    return PatientResult(
        died=status == 1, t_death_days=t_end if status == 1 else math.nan, cause=cause,
        burden=table, sizes=xs[:n_col][live].copy(), organs=org[:n_col][live].copy(),
        detectable={t: int(v) for t, v in zip(det_t, det_out, strict=True) if v >= 0},
        ctc_shed=float(counts[0]), n_started=int(counts[1]), n_dormant=int(counts[2]),
        n_woken=int(counts[3]), truncated=status == 2, organ_names=names,
        t_diagnosis_days=float(ev[0]), t_resection_days=float(ev[1]))  # fmt: skip
