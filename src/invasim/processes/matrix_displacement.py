"""Matrix displacement: contractile cells push the matrix ahead of them aside (force, no MMP).

Leading fibroblasts open tracks in collagen by force as well as by proteolysis: they pull and
push the fibres out of their path with Rho/ROCK-driven actomyosin, and the carcinoma cells
follow (Gaggioli et al. 2007); migrating cells displace and compact the matrix at the walls of
their tracks (Wolf & Friedl; Ilina et al. 2020), and CAFs open the basement membrane by force,
MMP-independently (Glentis et al. 2017). This process moves matrix (plastically, conserving
it) from the voxel ahead of each pushing cell to the voxels beside its path.

Contract:
    * Each live cell with the behaviour ``matrix pushing`` ``k > 0`` (1/min) and a nonzero
      motility direction (columns ``motility_dx``, ``motility_dy``, ``motility_dz``, kept by
      the motility process) acts on the voxel ahead of it (the voxel of its front point
      ``x + r d``, where the ECM process reads the pores that stop it), weighted by
      ``V / h³`` (:mod:`invasim.physics.matrix_displacement`). Per voxel ``v``, over a
      phenotype step ``dt`` with the rates held, of each field ``m`` named in ``fields``
      (susceptibility ``s``) the amount ``m_v (1 − exp(−s K_v dt))``, ``K_v = Σ_i k_i V_i /
      h³`` over the cells pushing into ``v``, moves to the lateral neighbours of ``v`` (the
      face neighbours across the path axis, the axis of the direction's largest component):
      equal halves in 2-D, quarters in 3-D. A cell alone, pushing along +x into a uniform
      matrix: ``m_ahead(t) = m0 exp(−s k V t / h³)``, each lateral neighbour gains half of
      what it loses.
    * Caps and walls (the spill-back rule): a lateral neighbour takes at most ``upper − m``
      (the field's ``upper``; none: no cap), a neighbour outside the domain takes nothing;
      what is not placed stays in the voxel ahead. Each field's sum is conserved to round-off.
    * Deterministic and independent of the thread count: the weights are summed per voxel in
      the cells' row order by a serial kernel, and the touched voxels are updated in order of
      first touch.
    * Force is contractility: a ROCK inhibitor must reduce it. ``matrix pushing`` is an
      ordinary behaviour, so a drug reaches it by name (``[[params.interventions]] kind =
      "drug", drug = "rock_inhibitor", targets = ["matrix pushing"]``) and rules set it from
      any signal (``active rho`` of the rho_gtpase process, ``matrix confinement`` ...).
    * ``[params.matrix_displacement]``: ``fields`` (field name → susceptibility). Cell type
      sub-table ``[params.cell_types.<type>.matrix_displacement]``: ``rate_per_min`` (0 by
      default: a type does not push unless told).
    * Metrics: ``matrix_displaced_<field>``, running totals moved (field unit · µm³) since the
      start (checkpointed in the state's counters).
    * Clock: phenotype, order :data:`ORDER_PLACE` (after proteolysis, which acts at the
      cell's own voxel): the directions and behaviours of the step's end act over the step.
      Clearing a voxel takes tens of minutes or more (``k V / h³ ~ 0.01–0.03``/min), many
      phenotype steps, and a direction persists for tens of minutes, so the 6-min step
      resolves it (the update is exact for the rates held). Requires motility (the
      direction).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.physics import matrix_displacement as kern
from invasim.physics.motility import direction_view
from invasim.rules.dictionary import register_behaviour

PUSHING = "matrix pushing"
#: place on the phenotype clock (agents/process.py ORDER)
ORDER_PLACE = ORDER["phenotype"]["matrix_displacement"]

GAGGIOLI_2007 = (
    "Gaggioli C, Hooper S, Hidalgo-Carcedo C, Grosse R, Marshall JF, Harrington K, Sahai E "
    "(2007) Fibroblast-led collective invasion of carcinoma cells with differing roles for "
    "RhoGTPases in leading and following cells. Nat Cell Biol 9:1392-1400"
)
GLENTIS_2017 = (
    "Glentis A, Oertle P, Mariani P, ... Vignjevic DM (2017) Cancer-associated fibroblasts "
    "induce metalloprotease-independent cancer cell invasion of the basement membrane. "
    "Nat Commun 8:924"
)
ILINA_2020 = (
    "Ilina O, Gritsenko PG, Syga S, ... Friedl P (2020) Cell-cell adhesion and 3D matrix "
    "confinement determine jamming transitions in breast cancer invasion. Nat Cell Biol "
    "22:1103-1115"
)
WOLF_FRIEDL_2011 = (
    "Wolf K, Friedl P (2011) Extracellular matrix determinants of proteolytic and "
    "non-proteolytic cell migration. Trends Cell Biol 21:736-744"
)
SAHAI_2003 = (
    "Sahai E, Marshall CJ (2003) Differing modes of tumour cell motility and invasion require "
    "Rho/ROCK signalling. Nat Cell Biol 5:711-719"
)

register_behaviour(
    PUSHING, "1/min",
    "rate at which the cell's actomyosin force pushes the matrix ahead of it aside (per unit "
    "of its volume: a cell displaces k V m per minute); a ROCK inhibitor lowers it",
    ("matrix displacement", "force-mediated matrix remodelling"), lower=0.0,
)  # fmt: skip


class MatrixDisplacementParams(BaseModel):
    """``[params.matrix_displacement]``: which matrix fields the cells push aside."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, float] = Field(
        default_factory=lambda: {"ecm": 1.0},
        description="matrix fields the cells displace, with their relative susceptibility "
        "[1] (multiplies 'matrix pushing'; e.g. { ecm = 1.0, basement_membrane = 0.5 }: "
        "CAFs deform the BM by force, Glentis et al. 2017; the relative value is an "
        "assumption)",
    )

    @model_validator(mode="after")
    def _finite(self) -> MatrixDisplacementParams:
        bad = {k: v for k, v in self.fields.items() if not (v >= 0 and math.isfinite(v))}
        if bad:
            raise ValueError(f"fields: susceptibilities must be finite and >= 0, got {bad}")
        return self


class MatrixDisplacementCell(BaseModel):
    """``[params.cell_types.<type>.matrix_displacement]``: the type's base pushing rate."""

    model_config = ConfigDict(extra="forbid")

    rate_per_min: float = Field(
        0.0, ge=0, allow_inf_nan=False,
        description="matrix pushing rate k [1/min]: a cell alone pushing into a voxel of side "
        "h moves it aside at k V / h³ (it displaces k V m per minute); 0 by default (no "
        "force-mediated remodelling). No direct measurement: an estimate for CAFs is ~0.01 "
        "(Gaggioli et al. 2007's fibroblasts open tracks over hours; "
        "docs/matrix-displacement)",
    )  # fmt: skip


@register_process
class MatrixDisplacement(Process):
    """Cells push the matrix ahead of them to the sides of their path."""

    name: ClassVar[str] = "matrix_displacement"
    title: ClassVar[str] = "contractile cells push matrix aside (force-mediated tracks)"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["matrix_displacement"]
    Params: ClassVar[type[BaseModel]] = MatrixDisplacementParams
    CellParams: ClassVar[type[BaseModel]] = MatrixDisplacementCell
    behaviours: ClassVar[tuple[str, ...]] = (PUSHING,)
    requires: ClassVar[tuple[str, ...]] = ("motility",)
    references: ClassVar[tuple[str, ...]] = (GAGGIOLI_2007, GLENTIS_2017, ILINA_2020,
                                             WOLF_FRIEDL_2011, SAHAI_2003)  # fmt: skip

    def __init__(self, params: Any) -> None:
        """The displaced fields in table order and their metric names."""
        super().__init__(params)
        self.targets = [m for m, s in self.table.fields.items() if s > 0]
        self.metric_names = tuple(f"matrix_displaced_{m}" for m in self.table.fields)
        self._acc: np.ndarray | None = None

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """The mesh is 2-D or 3-D; every named field is a matrix field with lower = 0."""
        key = "params.matrix_displacement.fields"
        out = []
        if mesh.dim not in (2, 3):
            out.append(f"matrix_displacement needs a 2-D or 3-D mesh (lateral neighbours), "
                       f"got mesh.dim = {mesh.dim}")  # fmt: skip
        fields = params.fields
        for m in params.matrix_displacement.fields:
            if m not in fields:
                out.append(f"{key} names {m!r}, which is not a field; fields: "
                           f"{', '.join(fields) or 'none'}")  # fmt: skip
            elif fields[m].kind != "matrix":
                out.append(f"{key} names {m!r}, a {fields[m].kind} field; it must be a matrix "
                           "field (kind = 'matrix')")  # fmt: skip
            elif fields[m].lower != 0.0:
                out.append(f"{key} names {m!r}, whose lower = {fields[m].lower:g}; a displaced "
                           "matrix is a density, lower must be 0")  # fmt: skip
        return out

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's pushing rate."""
        return {PUSHING: cell.matrix_displacement.rate_per_min}

    def setup(self, state) -> None:
        """Decide once whether any cell can push; add the direction columns if so."""
        beh = state.behaviours
        self.active = bool(self.targets) and (
            bool(np.any(beh.type_values(PUSHING) > 0)) or beh.varies_within_type(PUSHING)
        )
        if self.active:
            direction_view(state.cells)  # a stationary cell keeps its direction too

    def step(self, state, dt: float) -> None:
        """Push the matrix ahead of the live cells aside over the phenotype step."""
        c = state.cells
        if not (self.active and c.n):
            return
        mesh = state.mesh
        if self._acc is None or self._acc.shape[1] != mesh.n_voxels:
            self._acc = kern.scratch(mesh.n_voxels)
        acc = self._acc
        k = np.ascontiguousarray(state.behaviours.column(PUSHING))
        touched = np.empty(c.n, dtype=np.int64)
        h = float(mesh.h)
        nt = kern.accumulate(c.position, c.radius, direction_view(c), c.dead == 0, c.volume, k,
                             1.0 / h**3, mesh.nx, mesh.ny, mesh.nz, h, mesh.dim, acc,
                             touched)  # fmt: skip
        if nt == 0:
            return
        counters = state.counters
        for name in self.targets:
            upper = self.params.fields[name].upper
            moved = kern.displace(
                state.fields[name].reshape(-1), acc, touched, nt,
                float(self.table.fields[name]), float(dt),
                math.inf if upper is None else float(upper),
                mesh.nx, mesh.ny, mesh.nz, mesh.dim,
            )  # fmt: skip
            key = f"matrix_displaced_{name}"
            counters[key] = counters.get(key, 0.0) + moved * h**3
        kern.reset(acc, touched, nt)

    def metrics(self, state) -> dict[str, float]:
        """Running totals displaced, field unit · µm³."""
        return {k: float(state.counters.get(k, 0.0)) for k in self.metric_names}
