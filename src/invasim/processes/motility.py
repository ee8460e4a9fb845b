"""Motility: a persistent random walk, biased up chemical gradients, adds a motile velocity.

Contract:
    * PhysiCell's motility (:mod:`invasim.physics.motility`): each live cell keeps a direction
      that it renews with probability ``dt / persistence`` per mechanics step, to
      ``normalise(b d_bias + (1 − b) d_random)``; its velocity gains ``speed × direction``.
      The bias direction is ``Σ_s χ_s ∇s`` at the cell's voxel (PhysiCell's advanced
      chemotaxis); a type with no sensitivities follows the oxygen gradient (χ_oxygen = +1).
      ``[params.motility] bias_normalisation``: ``"unit"`` (default) biases fully along any
      nonzero ``Σ_s χ_s ∇s``; ``"physicell"`` normalises it as PhysiCell's ``normalize``
      (divide by ``sqrt(1e-32 + |g|²)``, zero at or below 1e-16), so gradients far below
      1e-16 unit/µm bias almost nothing (the import of a PhysiCell project sets it).
    * Behaviours (per cell, from the behaviour matrix): ``migration speed`` (µm/min),
      ``migration persistence time`` (min), ``migration bias`` (0..1) and
      ``chemotactic response to <s>`` (1) for every diffusing ``s``. Cell type sub-table
      ``[params.cell_types.<type>.motility]``.
    * The direction is bookkeeping kept with the cell (``motility_dx``, ``motility_dy``,
      ``motility_dz``); it is added when some cell can move (a positive speed of some type, or
      a layer that can set one).
    * Clock: mechanics, after the potentials (it adds to ``cells.velocity``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.physics.exchange import sample_gradients
from invasim.physics.motility import Motility, MotilityParams, direction_view
from invasim.processes.diffusion import diffusing_fields
from invasim.processes.mechanics import pin_immovable

OXYGEN = "oxygen"


class MotilityScenario(BaseModel):
    """``[params.motility]``: how the bias direction is normalised."""

    model_config = ConfigDict(extra="forbid")

    bias_normalisation: Literal["unit", "physicell"] = Field(
        "unit",
        description="unit: any nonzero bias direction counts fully; physicell: divided by "
        "sqrt(1e-32 + |g|^2) and zero at or below 1e-16 (PhysiCell's normalize), so a "
        "gradient far below 1e-16 unit/um gives almost no bias",
    )


class MotilityCell(BaseModel):
    """``[params.cell_types.<type>.motility]``: PhysiCell's motility of a cell type."""

    model_config = ConfigDict(extra="forbid")

    speed_um_per_min: float = Field(0.0, ge=0, description="motility speed [µm/min]")
    persistence_time_min: float = Field(1.0, ge=0, description="motility persistence [min]")
    migration_bias: float = Field(
        0.0,
        ge=0,
        le=1,
        description="bias of motility along the chemotactic direction (default up the oxygen "
        "gradient) [0..1]",
    )
    chemotactic_sensitivity: dict[str, float] = Field(
        default_factory=dict,
        description="chemotactic sensitivity per field [1]: the bias direction is "
        "sum_s chi_s grad(s), normalised (PhysiCell's advanced chemotaxis; negative repels); "
        "empty: +1 towards oxygen, 0 for the other fields",
    )

    @model_validator(mode="after")
    def _finite(self) -> MotilityCell:
        if any(not math.isfinite(v) for v in self.chemotactic_sensitivity.values()):
            raise ValueError("chemotactic sensitivities must be finite")
        return self


def chemotaxis_table(params: Any) -> np.ndarray:
    """``[n_types, n_fields]`` chemotactic sensitivities over the diffusing fields.

    A type with an empty ``chemotactic_sensitivity`` has +1 for oxygen and 0 elsewhere.
    """
    subs = list(diffusing_fields(params))
    out = np.zeros((len(params.cell_types), len(subs)))
    for t, ct in enumerate(params.cell_types.values()):
        table = ct.motility.chemotactic_sensitivity or ({OXYGEN: 1.0} if OXYGEN in subs else {})
        for k, s in enumerate(subs):
            out[t, k] = table.get(s, 0.0)
    return out


@register_process
class MotilityProcess(Process):
    """Persistent biased random walk."""

    name: ClassVar[str] = "motility"
    title: ClassVar[str] = "persistent random walk biased up chemical gradients"
    clock: ClassVar[str] = "mechanics"
    order: ClassVar[float] = ORDER["mechanics"]["motility"]
    Params: ClassVar[type[BaseModel]] = MotilityScenario
    CellParams: ClassVar[type[BaseModel]] = MotilityCell
    field_keyed: ClassVar[tuple[str, ...]] = ("chemotactic_sensitivity",)
    behaviours: ClassVar[tuple[str, ...]] = (
        "migration speed", "migration bias", "migration persistence time",
        "chemotactic response to {substrate}",
    )  # fmt: skip
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A et al. (2018) PhysiCell. PLoS Comput Biol 14:e1005991",
    )

    @classmethod
    def field_names(cls, params: Any) -> list[str]:
        """The fields a sensitivity may name: the diffusing ones."""
        return list(diffusing_fields(params))

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """Speed, bias, persistence and the sensitivities of the type."""
        m = cell.motility
        out = {"migration speed": m.speed_um_per_min, "migration bias": m.migration_bias,
               "migration persistence time": m.persistence_time_min}  # fmt: skip
        subs = list(diffusing_fields(params))
        table = m.chemotactic_sensitivity or ({OXYGEN: 1.0} if OXYGEN in subs else {})
        for s in subs:
            out[f"chemotactic response to {s}"] = table.get(s, 0.0)
        return out

    def setup(self, state) -> None:
        """Decide once whether cells can move and be biased; add the direction columns."""
        beh = state.behaviours
        self.subs = list(diffusing_fields(self.params))
        chi_names = [f"chemotactic response to {s}" for s in self.subs]
        self.active = bool(np.any(beh.type_values("migration speed") > 0)) or (
            beh.varies_within_type("migration speed")
        )
        chemo_varies = any(beh.varies_within_type(n) for n in chi_names)
        chi = np.array([beh.type_values(n) for n in chi_names]).T.reshape(state.n_types, -1)
        self.biased = (
            bool(np.any(beh.type_values("migration bias") > 0))
            or beh.varies_within_type("migration bias")
        ) and (chemo_varies or bool(np.any(chi != 0.0)))
        unit_o2 = np.array([float(s == OXYGEN) for s in self.subs])
        # the default (oxygen alone, +1): the oxygen gradient itself, bit for bit
        self.oxygen_only = OXYGEN in self.subs and not chemo_varies and bool(
            np.all(chi == unit_o2)
        )
        pc_norm = self.table is not None and self.table.bias_normalisation == "physicell"
        self.motility = Motility(MotilityParams(0.0, 1.0, 0.0, n_types=state.n_types),
                                 physicell_normalise=pc_norm)  # fmt: skip
        self._g, self._g_rows = np.zeros((0, 3)), None  # _bias_directions' buffer
        if self.active:
            direction_view(state.cells)  # adds the direction columns (bookkeeping, not traits)

    def step(self, state, dt: float) -> None:
        """Add the motile velocities."""
        c = state.cells
        if not (self.active and c.n):
            return
        beh = state.behaviours
        bias_dir = self._bias_directions(state) if self.biased else None
        self.motility.step(
            c, dt, state.seed, state.mech_step, bias_dir,
            speed=beh.column("migration speed"),
            persistence_time=beh.column("migration persistence time"),
            bias=beh.column("migration bias"),
        )  # fmt: skip
        pin_immovable(state)  # a pinned cell does not crawl either

    def _bias_directions(self, state) -> np.ndarray:
        """``[n, 3]`` ``Σ_s χ_s ∇s`` at the cells' voxels (unnormalised).

        Only where it is read: the cells with a bias (0 elsewhere, which an unbiased cell's
        walk multiplies by its zero bias); each field's gradient only where its sensitivity
        is not 0.
        """
        if self.oxygen_only:
            return state.gradient_at_cells(OXYGEN)
        beh = state.behaviours
        n = state.cells.n
        # one buffer, kept zero but for the rows written last time (few: the biased cells)
        if self._g.shape[0] < n:
            self._g, self._g_rows = np.zeros((max(1024, 2 * n), 3)), None
        if self._g_rows is not None:
            self._g[self._g_rows] = 0.0
        g = self._g[:n]
        rows = np.flatnonzero(beh.column("migration bias") != 0.0)
        self._g_rows = rows
        if not rows.size:
            return g
        voxels = state.voxels()[rows]
        for s in self.subs:
            chi = beh.column(f"chemotactic response to {s}")[rows]
            on = chi != 0.0
            if np.any(on):
                grad = sample_gradients(state.fields[s], state.mesh, voxels[on])
                g[rows[on]] += chi[on, None] * grad
        return g
