"""Volume: cells grow to their target volume, shrink when apoptotic, swell when necrotic.

Contract:
    * Per cell type, ``[params.cell_types.<type>.volume] model``:

      - ``"lumped"`` (default): one volume per cell (:mod:`invasim.biology.volume`),
        integrated exactly over the phenotype step: live cells relax to the type's
        ``volume_um3`` at ``growth_rate_per_min``; apoptotic cells shrink and necrotic cells
        swell then shrink at the rates of the death sub-table (PhysiCell keeps them in the
        death model's parameters). A cell that fused with others (column ``nuclei``, added by
        the fusion process) relaxes to its number of nuclei times the type's volume
        (PhysiCell adds the fused cell's target volumes).
      - ``"physicell"``: PhysiCell's fluid, nuclear solid and cytoplasmic solid volumes
        (per-cell columns :data:`~invasim.biology.volume.COLUMNS`, halved at division),
        integrated exactly; the solid targets double when a cell enters the phase after
        phase 0 of its type's cycle model (PhysiCell's entry functions) and fall to 0 at
        death; the rates and target fluid fraction of the dead are the volume sub-table's
        ``apoptotic_*`` and ``necrotic_*`` keys, with the death sub-table's
        ``necrotic_swell_rate_per_min`` (unlysed fluid rate) and ``relative_rupture_volume``:
        a necrotic cell lyses when its volume reaches that multiple of its volume at death.
        A volume another process changed (engulfing, fusion) scales the three compartments in
        proportion and keeps the targets (PhysiCell's ingest keeps them; its fusion adds the
        absorbed cell's targets, which needs the fusion process to move the target columns).

      Then the radius is that of the sphere of the volume.
    * Cell type sub-table ``[params.cell_types.<type>.volume]`` (every cell type has one: it
      also sizes the initial cells, with or without this process).
    * Clock: phenotype, first of the cell-life processes (volume, death, cycle, division).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from invasim.agents.params import VolumeCell  # noqa: F401  (the sub-table's schema)
from invasim.agents.process import ORDER, Process, register_process
from invasim.biology.cycle import STANDARD_MODELS
from invasim.biology.volume import (
    PhysiCellVolumeParams,
    VolumeParams,
    cycle_doubling,
    ensure_volume_columns,
    update_physicell_volumes,
    update_volumes,
)
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


def physicell_volume_params(params: Any) -> PhysiCellVolumeParams | None:
    """The :class:`~invasim.biology.volume.PhysiCellVolumeParams`; None if no type uses it."""
    types = list(params.cell_types.values())
    v = [ct.volume for ct in types]
    if not any(x.model == "physicell" for x in v):
        return None
    d = death_params(params)
    t = len(types)
    rates = np.zeros((t, 4, 3))
    fluid = np.zeros((t, 4))
    calc = np.zeros((t, 4))
    grow = np.full(t, -1, dtype=np.int64)
    k_max = max(len(s.phases) for s in STANDARD_MODELS.values())
    doubled = np.zeros((t, k_max), dtype=bool)
    for i, (ct, x) in enumerate(zip(types, v, strict=True)):
        necrotic = (x.necrotic_nuclear_biomass_change_rate_per_min,
                    x.necrotic_cytoplasmic_biomass_change_rate_per_min)  # fmt: skip
        rates[i] = [
            (x.fluid_change_rate_per_min, x.nuclear_biomass_change_rate_per_min,
             x.growth_rate_per_min),
            (x.apoptotic_fluid_change_rate_per_min,
             x.apoptotic_nuclear_biomass_change_rate_per_min,
             x.apoptotic_cytoplasmic_biomass_change_rate_per_min),
            (d.necrotic_swell_rate[i], *necrotic),
            (x.necrotic_lysed_fluid_change_rate_per_min, *necrotic),
        ]  # fmt: skip
        fluid[i] = (x.fluid_fraction, 0.0, 1.0, 0.0)
        calc[i] = (x.calcification_rate_per_min, x.apoptotic_calcification_rate_per_min,
                   x.necrotic_calcification_rate_per_min, x.necrotic_calcification_rate_per_min)
        cycle = getattr(ct, "cycle", None)
        if cycle is not None:
            s = STANDARD_MODELS[cycle.model]
            grow[i], flags = cycle_doubling(len(s.phases), s.division)
            doubled[i, : len(flags)] = flags
    return PhysiCellVolumeParams(
        use=np.array([x.model == "physicell" for x in v]),
        total=np.array([x.volume_um3 for x in v]),
        fluid_fraction=np.array([x.fluid_fraction for x in v]),
        nuclear=np.array([x.nuclear_um3 for x in v]),
        rates=rates, target_fluid=fluid, calcification=calc,
        calcified_fraction=np.array([x.calcified_fraction for x in v]),
        relative_rupture=d.relative_rupture_volume, grow=grow, doubled=doubled,
    )  # fmt: skip


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
        self.physicell = physicell_volume_params(self.params)
        if self.physicell is not None:  # from the start, so every checkpoint has them
            ensure_volume_columns(state.cells)

    def step(self, state, dt: float) -> None:
        """Update volumes and radii over the phenotype step."""
        c = state.cells
        if not c.n:
            return
        pc = self.physicell
        if pc is None or not pc.use.all():
            nuclei = c.state(NUCLEI) if c.role_of(NUCLEI) is not None else None
            update_volumes(c, self.volume_params, self.death_params, dt, nuclei,
                           None if pc is None else pc.use)  # fmt: skip
        if pc is not None:
            update_physicell_volumes(c, pc, dt)
