"""Volume: cells grow to their target volume, shrink when apoptotic, swell when necrotic.

Contract:
    * One lumped volume per cell (:mod:`invasim.biology.volume`), integrated exactly over the
      phenotype step: live cells relax to the type's ``volume_um3`` at ``growth_rate_per_min``;
      apoptotic cells shrink and necrotic cells swell then shrink at the rates of the death
      sub-table (PhysiCell keeps them in the death model's parameters); then the radius is
      that of the sphere of that volume. A cell that fused with others (column ``nuclei``,
      added by the fusion process) relaxes to its number of nuclei times the type's volume
      (PhysiCell adds the fused cell's target volumes).
    * Cell type sub-table ``[params.cell_types.<type>.volume]`` (every cell type has one: it
      also sizes the initial cells, with or without this process).
    * Clock: phenotype, first of the cell-life processes (volume, death, cycle, division).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from invasim.agents.params import VolumeCell  # noqa: F401  (the sub-table's schema)
from invasim.agents.process import ORDER, Process, register_process
from invasim.biology.volume import VolumeParams, update_volumes
from invasim.processes.death import death_params

#: per-cell number of nuclei (fusion): the live target volume is the type's times this
NUCLEI = "nuclei"


def volume_params(params: Any) -> VolumeParams:
    """The per-type :class:`~invasim.biology.volume.VolumeParams` of a scenario."""
    v = [ct.volume for ct in params.cell_types.values()]
    return VolumeParams(
        np.array([x.volume_um3 for x in v], dtype=np.float64),
        np.array([x.growth_rate_per_min for x in v], dtype=np.float64),
        n_types=len(v),
    )


@register_process
class VolumeProcess(Process):
    """Cell volume dynamics."""

    name: ClassVar[str] = "volume"
    title: ClassVar[str] = "cell volumes grow, shrink (apoptosis) and swell (necrosis)"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["volume"]
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A et al. (2018) PhysiCell. PLoS Comput Biol 14:e1005991",
    )

    def setup(self, state) -> None:
        """The per-type tables (death rates for the dead cells' volumes)."""
        self.volume_params = volume_params(self.params)
        self.death_params = death_params(self.params)

    def step(self, state, dt: float) -> None:
        """Update volumes and radii over the phenotype step."""
        c = state.cells
        if c.n:
            nuclei = c.state(NUCLEI) if c.role_of(NUCLEI) is not None else None
            update_volumes(c, self.volume_params, self.death_params, dt, nuclei)
