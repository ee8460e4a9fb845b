"""One virtual patient on the survival clock: simulate, then time from diagnosis to death.

Contract:
    * The clock: time 0 is diagnosis, the primary reaching ``diagnosis_cells`` (the body
      model's ``t_diagnosis_days``, the exact crossing of the Gompertz flow). A patient is
      simulated from the primary's first cell to ``t_diagnosis + follow_up_days`` (or death);
      the horizon is first set from the untreated Gompertz law (:func:`diagnosis_time`), and a
      patient diagnosed later than that (a therapy from ``time`` 0 slowed the primary) is run
      again to the right horizon (same seed).
    * ``survival_days = min(t_death, t_diagnosis + follow_up) − t_diagnosis``; ``died`` is the
      event flag (death within follow-up), else censored alive at the end of follow-up.
    * ``status``: ``"diagnosed"`` (in the survival analysis), ``"died before diagnosis"``
      (metastases killed before the primary reached the diagnosis size: never a clinical
      patient; counted and left out, ``survival_days`` NaN) or ``"not diagnosed"`` (the primary
      never reached the size within the horizon, e.g. a plateau ``b_cells`` below it, or a
      resection before it: left out likewise).
    * :func:`patient_row` returns one row (a dict) of ``patients.csv``; :func:`run_chunk`
      the rows of a block of (arm, patient) pairs (the Dask task, pure: the same inputs give
      the same rows on any worker).
"""

from __future__ import annotations

import math
from typing import Any

from invasim.body.patient import BodyParams, simulate_patient
from invasim.cohort.spec import CohortSpec, patient_params

#: patient status values (``patients.csv`` column ``status``)
DIAGNOSED = "diagnosed"
DIED_BEFORE = "died before diagnosis"
NOT_DIAGNOSED = "not diagnosed"
#: the columns of patients.csv before the sampled parameters
COLUMNS = ["arm", "patient", "seed", "status", "survival_days", "died", "cause",
           "t_diagnosis_days", "t_resection_days", "t_death_days", "n_metastases",
           "n_detectable_1y", "ctc_shed"]  # fmt: skip


def diagnosis_time(p: BodyParams) -> float:
    """Days for the untreated primary to grow from ``primary_cells_initial`` to diagnosis.

    The Gompertz law ``x(t) = b exp(ln(x0/b) e^{−at})`` solved for ``x = diagnosis_cells``:
    ``t = −ln(ln(D/b) / ln(x0/b)) / a``; 0 when the primary starts at or above the size; inf
    when the plateau ``b`` is at or below it (never diagnosed).
    """
    x0, d, b, a = p.primary_cells_initial, p.diagnosis_cells, p.b_cells, p.a_per_day
    if x0 >= d:
        return 0.0
    if d >= b:
        return math.inf
    return -math.log(math.log(d / b) / math.log(x0 / b)) / a


def _simulate(p: BodyParams, seed: int, t_diag: float, follow_up: float):
    data = p.model_dump()
    data["detect_times_days"] = [t_diag + 365.0]
    return simulate_patient(BodyParams.model_validate(data), seed, t_diag + follow_up)


def patient_row(spec: CohortSpec, arm: str, sample: dict[str, Any]) -> dict[str, Any]:
    """Simulate one patient of ``arm`` (``sample``: ``patient``, ``seed``, sampled fields)."""
    values = {k: v for k, v in sample.items() if k not in ("patient", "seed")}
    p = patient_params(spec, arm, values)
    seed = int(sample["seed"])
    fu = spec.follow_up_days
    row: dict[str, Any] = {"arm": arm, "patient": int(sample["patient"]), "seed": seed}
    t0 = diagnosis_time(p)
    horizon = t0 if math.isfinite(t0) else 0.0
    r = _simulate(p, seed, horizon, fu)
    td = float(getattr(r, "t_diagnosis_days", t0))
    if not r.died and math.isfinite(td) and td > horizon + 1e-9:  # diagnosed late: rerun
        horizon = td
        r = _simulate(p, seed, horizon, fu)
        td = float(getattr(r, "t_diagnosis_days", td))
    t_death = r.t_death_days if r.died else math.nan
    if not math.isfinite(td):
        status = DIED_BEFORE if r.died else NOT_DIAGNOSED
    elif r.died and t_death < td:
        status = DIED_BEFORE
    else:
        status = DIAGNOSED
    died = status == DIAGNOSED and r.died and t_death <= td + fu + 1e-9
    surv = math.nan
    if status == DIAGNOSED:
        surv = t_death - td if died else fu  # exactly fu: no rounding of td + fu − td
    det = r.detectable.get(horizon + 365.0, -1)
    row.update(
        status=status, survival_days=surv, died=bool(died),
        cause=r.cause if (died or status == DIED_BEFORE) else "alive",
        t_diagnosis_days=td, t_resection_days=float(getattr(r, "t_resection_days", math.nan)),
        t_death_days=t_death, n_metastases=r.n_metastases(),
        n_detectable_1y=float(det) if det >= 0 else math.nan, ctc_shed=r.ctc_shed,
    )  # fmt: skip
    row.update(values)
    return row


def run_chunk(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one block: ``task = {"spec": CohortSpec, "pairs": [(arm, sample), ...]}``."""
    spec = task["spec"]
    return [patient_row(spec, arm, sample) for arm, sample in task["pairs"]]
