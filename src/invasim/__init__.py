"""invasim: a simulator of malignant tumour invasion and metastasis.

The public API, the same engine the command line uses::

    import invasim
    cfg = invasim.load_scenario("anderson-chaplain", overrides=["params.gamma=0.01"])
    run = invasim.Simulation(cfg, seed=1).run(until=2000, out="runs/ac")
    run.metrics            # pandas DataFrame, one row per output interval
    run.field("n", 2000)   # NumPy array of the tumour density at t = 2000 min
    invasim.load_run("runs/ac").fields()   # xarray Dataset of every snapshot
"""

from __future__ import annotations

import os as _os

#: spin iterations of an idle OpenMP thread before it sleeps (libgomp, Numba's ``omp`` layer),
#: unless the user set it. libgomp's default (300000) has a waiting thread spin for about a
#: millisecond; when another process holds a core, the spinning thread takes the core from the
#: thread with the work, and the thousands of short parallel regions of an agent step collapse
#: (2 threads, 1e5 cells in 3-D, one busy neighbour: 1.2 M agent-updates/s by default, 2.7 M/s
#: at 2000; quiet: medians 5.2 and 5.4 M/s over 4 alternating runs each, benchmarks/README.md).
#: It must be set before libgomp starts, i.e. before the first parallel kernel runs.
GOMP_SPINCOUNT = "2000"
_os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)

from invasim.config import Scenario, load_scenario  # noqa: E402
from invasim.errors import ConfigError, InvasimError, RunDirError  # noqa: E402
from invasim.io.run import Run, load_run, set_notebook_html  # noqa: E402
from invasim.simulation import Simulation  # noqa: E402
from invasim.study.results import load_study  # noqa: E402
from invasim.version import __version__  # noqa: E402


def _notebook_html(run: Run) -> str:
    """A run's HTML view in Jupyter; the figure code is imported at the first display only."""
    from invasim.viz.report import notebook_html

    return notebook_html(run)


# io (below viz) cannot import the report; this package, the top of the stack, wires them
set_notebook_html(_notebook_html)

__all__ = [
    "ConfigError",
    "InvasimError",
    "Run",
    "RunDirError",
    "Scenario",
    "Simulation",
    "__version__",
    "load_run",
    "load_scenario",
    "load_study",
]
