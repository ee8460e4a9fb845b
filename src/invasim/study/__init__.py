"""Studies: many runs of one scenario (replicates, sweeps, sampling designs) on Dask.

The public API::

    from invasim.study import load_study_spec, expand, run_study, load_study
    spec = load_study_spec("fisher-sweep")          # built-in name or TOML file
    expand(spec)                                    # the runs: run_id, point, replicate, seed, ...
    table = run_study(spec, "studies/sweep", workers=2)
    table = load_study("studies/sweep")             # the same table, design in table.attrs
    arm_summary(table, spec.arm_names)              # a study with [arms.NAME]: per-arm stats

See :mod:`invasim.study.spec` for the file format (named arms included),
:mod:`invasim.study.results` for the study folder, its table and the per-arm summary,
:mod:`invasim.study.runner` for how runs are distributed.
"""

from __future__ import annotations

from invasim.study.design import expand, salib_problem
from invasim.study.results import arm_summary, load_study
from invasim.study.runner import run_study
from invasim.study.spec import StudySpec, load_study_spec

__all__ = [
    "StudySpec",
    "arm_summary",
    "expand",
    "load_study",
    "load_study_spec",
    "run_study",
    "salib_problem",
]
