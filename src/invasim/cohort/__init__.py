"""Virtual cohorts of the body model: sampled patients, therapy arms, survival (issue 13).

Contract:
    * :mod:`~invasim.cohort.spec`: the cohort spec (TOML), its strict validation, the
      per-patient sampling (common random numbers across arms) and each patient's BodyParams.
    * :mod:`~invasim.cohort.patients`: one patient on the survival clock (time 0 =
      diagnosis) and the rows of a chunk (the Dask task).
    * :mod:`~invasim.cohort.survival`: Kaplan–Meier, Cox and log-rank through lifelines.
    * :mod:`~invasim.cohort.plot`: the Kaplan–Meier figure.
    * :mod:`~invasim.cohort.runner`: chunks on Dask (the study layer's clusters), the outputs.
    * :mod:`~invasim.cohort.cli`: ``invasim cohort SPEC``.
    * Sits just above :mod:`invasim.study` (uses its clusters) and below :mod:`invasim.verify`.
"""

from invasim.cohort.runner import run_cohort, simulate_cohort
from invasim.cohort.spec import CohortSpec, load_cohort_spec, sample_table

__all__ = ["CohortSpec", "load_cohort_spec", "run_cohort", "sample_table", "simulate_cohort"]
