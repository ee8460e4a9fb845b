"""Division: each cell the cycle marked becomes two daughters of half its volume.

Contract:
    * :func:`invasim.biology.division.divide`: daughters at ``x ± 0.75 r e`` along a random
      direction ``e`` (counter-based), half the volume each, the mother's type, clone, state
      and traits, ``generation + 1``; daughter A keeps the mother's row, daughter B is
      appended. The daughters carry the mother's last pressure.
    * Declared traits (``[params.traits]``, :mod:`invasim.biology.traits`): each daughter's
      value mutates with probability ``mutation_rate`` by a Gaussian step of sd
      ``mutation_step`` (counter-based, keyed by the daughter's id), reflected into the
      bounds; ``split`` traits are halved between the daughters. Bookkeeping (the motility
      direction) is copied, never mutated.
    * Clock: phenotype, after the cycle (which it requires).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from invasim.agents.process import ORDER, Process, register_process
from invasim.biology.division import divide
from invasim.biology.traits import division_arrays


@register_process
class DivisionProcess(Process):
    """Cell division."""

    name: ClassVar[str] = "division"
    title: ClassVar[str] = "dividing cells become two daughters"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["division"]
    requires: ClassVar[tuple[str, ...]] = ("cycle",)

    def setup(self, state) -> None:
        """The declared traits (``[params.traits]``)."""
        self.specs = self.params.trait_specs()

    def step(self, state, dt: float) -> None:
        """Divide the rows marked by the cycle."""
        rows = state.dividing
        if not rows.size:
            return
        if self.specs:  # declared traits: mutation, bounds, split inheritance
            arrays = division_arrays(self.specs, state.cells.trait_names)
            divide(state.cells, rows, state.seed, state.pheno_step, **arrays)
        else:
            divide(state.cells, rows, state.seed, state.pheno_step)
        if state.pressure.shape[0] + rows.size == state.cells.n:
            state.pressure = np.concatenate([state.pressure, state.pressure[rows]])
        state.dividing = np.zeros(0, dtype=np.int64)
