"""Cell life: the cycle, death and volume of the agents (PhysiCell's vocabulary).

One phenotype step of ``dt`` min, in this order (rows shift only at the end)::

    update_volumes(cells, volume_params, death_params, dt)
    remove = advance_death(cells, death_params, dt, seed, step, o2=o2_at_cells)
    rows = advance_cycle(cells, cycle_params, dt, seed, step, multiplier, pressure)
    divide(cells, rows, seed, step)     # appends daughters; existing rows unchanged
    cells.remove(remove)
"""

from invasim.biology.cycle import (
    CycleModel,
    CycleParams,
    advance_cycle,
    flow_cytometry_separated,
    growth_rate,
    live,
    o2_proliferation_factor,
)
from invasim.biology.death import DeathParams, advance_death, necrosis_rate_o2
from invasim.biology.division import divide
from invasim.biology.volume import VolumeParams, update_volumes

__all__ = [
    "CycleModel",
    "CycleParams",
    "DeathParams",
    "VolumeParams",
    "advance_cycle",
    "advance_death",
    "divide",
    "flow_cytometry_separated",
    "growth_rate",
    "live",
    "necrosis_rate_o2",
    "o2_proliferation_factor",
    "update_volumes",
]
