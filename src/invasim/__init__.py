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

__version__ = "0.1.0"

from invasim.config import Scenario, load_scenario  # noqa: E402
from invasim.core.simulation import Simulation  # noqa: E402
from invasim.errors import ConfigError, InvasimError, RunDirError  # noqa: E402
from invasim.io.run import Run, load_run  # noqa: E402
from invasim.study.results import load_study  # noqa: E402

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
