"""The stochastic body model: organs, circulation of tumour cells, colonisation (issue 13).

Contract:
    * :mod:`~invasim.body.organs`: the organ table (ICRP 89 cardiac-output shares, vital
      organs and failure burdens, seed-soil factors) and the routing of CTCs between beds.
    * :mod:`~invasim.body.circulation`: CTC survival in blood (half-life) and where CTCs
      arrest: an exact per-CTC sampler and the absorbing-chain shares.
    * :mod:`~invasim.body.colonies`: the hybrid stochastic / deterministic Gompertz colonies
      (birth–death below a switch size, the exact Gompertz flow above) and Poisson draws.
    * :mod:`~invasim.body.patient`: :func:`simulate_patient`, one patient to death or an end
      time, and its outcomes; :mod:`~invasim.body.experiments`: the Luzzi injection
      experiment (metastatic inefficiency as an emergent figure).
    * Pure Python + Numba; no agent engine. Depends only on :mod:`invasim.core` and
      :mod:`invasim.errors` (its deterministic limit is :mod:`invasim.models.iwata`, which
      only the validation cases import).
"""

from invasim.body.organs import Organ, default_organs, one_organ
from invasim.body.patient import BodyParams, PatientResult, simulate_patient

__all__ = ["BodyParams", "Organ", "PatientResult", "default_organs", "one_organ",
           "simulate_patient"]
