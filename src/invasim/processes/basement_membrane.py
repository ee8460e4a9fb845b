"""The basement membrane: a matrix layer cells cannot cross until it is degraded or torn.

Two processes share this module (:mod:`invasim.physics.basement_membrane` holds the kernels):

``basement_membrane`` (mechanics clock, after motility)
    No cell centre enters a voxel of intact BM, neither crawling nor pushed: each mechanics
    step the displacement the engine is about to make (Adams–Bashforth 2 or Euler) is swept
    through the voxel faces it crosses and the part that would carry the centre into BM is
    removed (fully above ``impassable_above`` of the intact density, not at all below
    ``passable_below``, linearly between). Where MMPs (``matrix_degradation``), membrane MMPs
    (``proteolysis``) or force have degraded the BM, cells pass.

``basement_membrane_breach`` (phenotype clock, after division and the matrix reactions)
    * keeps the daughters of a division on their mother's side of an intact BM (with the
      barrier listed);
    * force rupture (``rupture_pressure`` set): a BM voxel loaded by cells whose mean simple
      pressure exceeds its strength loses density at ``rupture_rate_per_min`` times the
      relative excess (see :func:`invasim.physics.basement_membrane.rupture`);
    * metrics: ``bm_first_breach_min`` (the end of the first phenotype step at which some
      column's BM amount, through its whole thickness, was below ``breach_fraction`` of the
      largest initial column amount; NaN before; a checkpointed counter),
      ``bm_integrity_min`` (the weakest column's amount over that reference),
      ``bm_cells_below`` and ``bm_<type>_below`` (live cells whose centre lies below the
      lowest initial BM voxel of its column: the stromal side). :meth:`metrics` also returns
      ``bm_breached_um`` (2-D: breached length; 3-D: the sum of the breaches' equivalent
      diameters) and ``bm_breached_um2`` (3-D: breached area; NaN in 2-D); in metrics.csv
      those names are the snapshot readouts of :mod:`invasim.analysis.pathology`.

Contract:
    * Geometry convention: the BM normal is the last mesh axis (y in 2-D, z in 3-D), the
      epithelium on the high side, the stroma below (the readouts use it; the barrier works
      for any BM shape on the voxel grid).
    * The intact density ``ρ_ref`` is ``reference_density`` or the field's initial maximum
      (made again from its generator and the run seed, so a resumed run uses the same value).
    * A BM one voxel thick stands for a real one of 0.1–0.3 µm: the barrier acts on cell
      centres at the voxel's faces, so cells sit with their centres at the BM voxel's face
      and their bodies overlapping it (as cells overlap each other by ~5 % at rest).
    * ``[params.basement_membrane]``: ``field``, ``passable_below``, ``impassable_above``,
      ``reference_density``. ``[params.basement_membrane_breach]``: ``field``,
      ``reference_density``, ``breach_fraction``, ``rupture_pressure``,
      ``rupture_rate_per_min``, ``strength_scales_with_integrity``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.physics import basement_membrane as bmk
from invasim.physics.mechanics import PARALLEL_MIN_CELLS

FIELD = "basement_membrane"
BREACH_COUNTER = "bm_first_breach_min"
#: counter: the first cell id not yet seen by the breach process (newer ids: new daughters)
MARK_COUNTER = "bm_id_mark"
REFERENCES = (
    "Kalluri R (2003) Basement membranes: structure, assembly and role in tumour angiogenesis. "
    "Nat Rev Cancer 3:422-433",
    "Rowe RG, Weiss SJ (2008) Breaching the basement membrane: who, when and how? Trends Cell "
    "Biol 18:560-574",
    "Glentis A et al. (2017) Cancer-associated fibroblasts induce metalloprotease-independent "
    "cancer cell invasion of the basement membrane. Nat Commun 8:924",
)


class BarrierParams(BaseModel):
    """``[params.basement_membrane]``: the BM as a barrier to cell centres."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(FIELD, description="the matrix field holding the BM density [field unit]")
    passable_below: float = Field(
        0.25,
        ge=0,
        le=1,
        description="integrity (density over the intact density) at or below which cells "
        "pass freely [1]; illustrative (pores open as the network is cleaved: Wolf et al. 2013 "
        "J Cell Biol 201:1069 find migration speed linear in pore size)",
    )
    impassable_above: float = Field(
        0.5,
        ge=0,
        le=1,
        description="integrity at or above which no cell centre enters the voxel [1]; "
        "illustrative, equal to the default breach threshold so the BM counts as breached "
        "where it starts to let cells through",
    )
    reference_density: float | None = Field(
        None, gt=0, description="density of intact BM [field unit]; None: the field's initial "
        "maximum",
    )  # fmt: skip

    @model_validator(mode="after")
    def _order(self) -> BarrierParams:
        if self.passable_below > self.impassable_above:
            raise ValueError(
                f"passable_below = {self.passable_below:g} must not exceed impassable_above = "
                f"{self.impassable_above:g}"
            )
        return self


class BreachParams(BaseModel):
    """``[params.basement_membrane_breach]``: force rupture and the breach readouts."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(FIELD, description="the matrix field holding the BM density [field unit]")
    reference_density: float | None = Field(
        None, gt=0, description="density of intact BM [field unit]; None: the field's initial "
        "maximum",
    )  # fmt: skip
    breach_fraction: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a column is breached where the BM is below this fraction of its initial "
        "peak throughout its thickness [1]; scenario choice (half the matrix gone)",
    )
    rupture_pressure: float | None = Field(
        None,
        gt=0,
        description="strength of intact BM in the simple-pressure signal's units [1]: the "
        "mean pressure of the cells loading a voxel above which it tears; None: no force "
        "rupture. Per scenario (illustrative; BM stiffness and strength vary by tissue: "
        "Glentis et al. 2017 Nat Commun 8:924 show fibroblast forces alone can open it)",
    )
    rupture_rate_per_min: float = Field(
        0.01,
        ge=0,
        description="rate of tearing per unit relative excess of the load over the strength "
        "[1/min]; illustrative",
    )
    strength_scales_with_integrity: bool = Field(
        True,
        description="the strength of a partly degraded voxel is rupture_pressure times its "
        "integrity (a thinner membrane tears at a lower load); false: constant",
    )


def intact_density(params: Any, mesh: Mesh, seed: int, field: str, override: float | None):
    """``ρ_ref`` and the field's initial array (remade from its generator and the seed)."""
    initial = params.fields[field].initial.generate(mesh, seed, field)
    ref = float(override) if override is not None else float(initial.max()) if initial.size else 0
    return ref, initial


def _field_problems(params: Any, key: str, field: str, override: float | None) -> list[str]:
    if field not in params.fields:
        return [f"params.{key}.field = {field!r} is not a field; fields: "
                f"{', '.join(params.fields) or 'none'}"]  # fmt: skip
    spec = params.fields[field]
    if spec.kind != "matrix":
        return [f"params.{key}.field = {field!r} is a {spec.kind} field; the basement membrane "
                "must be a matrix field (kind = 'matrix')"]  # fmt: skip
    hi = spec.initial.bounds()[1]
    if override is None and hi is not None and not hi > 0:
        return [f"params.{key}.field = {field!r} starts at most {hi:g} everywhere: no BM to "
                "measure integrity against; give it a layer or set reference_density"]  # fmt: skip
    return []


@register_process
class BasementMembrane(Process):
    """No cell centre enters intact basement membrane."""

    name: ClassVar[str] = "basement_membrane"
    title: ClassVar[str] = "the basement membrane stops cells until degraded or torn"
    clock: ClassVar[str] = "mechanics"
    order: ClassVar[float] = ORDER["mechanics"]["basement_membrane"]
    Params: ClassVar[type[BaseModel]] = BarrierParams
    references: ClassVar[tuple[str, ...]] = REFERENCES

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """The field exists and is a matrix; divisions need the breach process beside it."""
        t = params.basement_membrane
        out = _field_problems(params, "basement_membrane", t.field, t.reference_density)
        if "division" in params.processes and "basement_membrane_breach" not in params.processes:
            out.append("params.processes lists basement_membrane and division but not "
                       "basement_membrane_breach, which keeps daughters on their mother's side "
                       "of the BM; add it")  # fmt: skip
        return out

    def setup(self, state) -> None:
        """The intact density."""
        t = self.table
        self.ref, _ = intact_density(self.params, state.mesh, state.seed, t.field,
                                     t.reference_density)  # fmt: skip
        self.ab2 = self.params.mechanics_scheme == "ab2"

    def step(self, state, dt: float) -> None:
        """Clip the velocities so no centre enters intact BM in the coming move."""
        c = state.cells
        if not c.n or not self.ref > 0:
            return
        t = self.table
        # the prange kernel from PARALLEL_MIN_CELLS cells on, also on one thread: it runs ~5x
        # faster than the serial loop there (same bits: every cell writes only its own row)
        bmk.barrier_velocities(
            c.position, c.velocity, c.velocity_prev, dt, self.ab2, c.dim,
            state.fields[t.field], float(state.mesh.h), self.ref, t.passable_below,
            t.impassable_above, parallel=c.n >= PARALLEL_MIN_CELLS,
        )  # fmt: skip


@register_process
class BasementMembraneBreach(Process):
    """Force rupture of the BM, daughters kept on their side, breach readouts."""

    name: ClassVar[str] = "basement_membrane_breach"
    title: ClassVar[str] = "basement membrane: rupture under load, breach time and length"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["basement_membrane_breach"]
    Params: ClassVar[type[BaseModel]] = BreachParams
    #: ``bm_breached_um`` / ``bm_breached_um2`` are snapshot readouts (analysis.pathology, the
    #: same definition: :func:`invasim.physics.basement_membrane.breached_extent`); a readout
    #: of a name wins over a process metric, so they are not declared here (:meth:`metrics`
    #: still returns them, with the initial reference amount, for callers of the API)
    metric_names: ClassVar[tuple[str, ...]] = (
        "bm_first_breach_min", "bm_integrity_min", "bm_cells_below",
    )  # fmt: skip
    references: ClassVar[tuple[str, ...]] = REFERENCES

    def __init__(self, params: Any) -> None:
        """Add a ``bm_<type>_below`` metric per cell type."""
        super().__init__(params)
        self.metric_names = (*type(self).metric_names,
                             *(f"bm_{t}_below" for t in params.cell_types))  # fmt: skip

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """The field; contacts for force rupture; the same field as the barrier."""
        t = params.basement_membrane_breach
        out = _field_problems(params, "basement_membrane_breach", t.field, t.reference_density)
        if mesh.dim not in (2, 3):
            out.append(f"mesh.dim = {mesh.dim}: the basement membrane needs a 2-D or 3-D mesh")
        if t.rupture_pressure is not None and "contacts" not in params.processes:
            out.append("params.basement_membrane_breach.rupture_pressure needs the contacts "
                       "process (the simple pressure); add 'contacts' to params.processes")
        if "basement_membrane" in params.processes:
            other = params.basement_membrane.field
            if other != t.field:
                out.append(f"params.basement_membrane_breach.field = {t.field!r} differs from "
                           f"params.basement_membrane.field = {other!r}; use one BM field")
        return out

    def setup(self, state) -> None:
        """Intact density, initial field, the columns' lowest BM voxel; mark the ids."""
        t = self.table
        self.ref, self.initial = intact_density(self.params, state.mesh, state.seed, t.field,
                                                t.reference_density)  # fmt: skip
        self.barrier = (self.params.basement_membrane
                        if "basement_membrane" in self.params.processes else None)  # fmt: skip
        self.bottom = bmk.lowest_bm_voxel(self.initial, state.mesh, t.breach_fraction * self.ref)
        # the amount of an intact column (field unit × µm): the largest initial one
        amounts = bmk.column_amounts(self.initial, state.mesh)
        self.ref_amount = float(amounts.max()) if amounts.size else 0.0
        state.counters.setdefault(BREACH_COUNTER, math.nan)
        # cells with an id from here on are born after this point; a counter, so a checkpoint
        # keeps it and a resumed run pairs the same daughters
        state.counters.setdefault(MARK_COUNTER, float(state.cells.next_id))

    def step(self, state, dt: float) -> None:
        """Daughters back to their side, rupture under load, first breach time."""
        t = self.table
        bm = state.fields[t.field]
        if self.barrier is not None and self.ref > 0:
            self._keep_daughters(state, bm)
        if t.rupture_pressure is not None and state.cells.n and self.ref > 0:
            c = state.cells
            p = state.pressure if state.pressure.shape[0] == c.n else np.zeros(c.n)
            sum_p, count = np.zeros(bm.size), np.zeros(bm.size)
            bmk.bm_load(c.position, c.radius, p, c.dim, bm, float(state.mesh.h), sum_p, count)
            bmk.rupture(bm, sum_p, count, self.ref, float(t.rupture_pressure),
                        float(t.rupture_rate_per_min), float(dt),
                        bool(t.strength_scales_with_integrity))  # fmt: skip
        if math.isnan(state.counters.get(BREACH_COUNTER, math.nan)) and self.ref_amount > 0:
            if bmk.breached_columns(bm, self.ref_amount, state.mesh, t.breach_fraction,
                                    self.initial).any():  # fmt: skip
                state.counters[BREACH_COUNTER] = float(state.t)
        state.counters[MARK_COUNTER] = float(state.cells.next_id)

    def _keep_daughters(self, state, bm: np.ndarray) -> None:
        c = state.cells
        mark = int(state.counters.get(MARK_COUNTER, c.next_id))
        new = np.flatnonzero((c.id >= mark) & (c.parent_id >= 0))
        if new.size < 2:
            return
        order = new[np.argsort(c.parent_id[new], kind="stable")]
        par = c.parent_id[order]
        first = np.flatnonzero(par[:-1] == par[1:])
        if not first.size:
            return
        pairs = np.stack([order[first], order[first + 1]], axis=1).astype(np.int64)
        b = self.barrier
        bmk.keep_daughters(c.position, pairs, c.dim, bm, float(state.mesh.h), 1.0 / self.ref,
                           b.passable_below, b.impassable_above)  # fmt: skip
        state.moved()

    def metrics(self, state) -> dict[str, float]:
        """Breach time, length, area, weakest column, cells below the BM."""
        t = self.table
        mesh = state.mesh
        bm = state.fields[t.field]
        out = {"bm_first_breach_min": state.counters.get(BREACH_COUNTER, math.nan)}
        if not self.ref_amount > 0:
            return out
        args = (bm, self.ref_amount, mesh, t.breach_fraction, self.initial)
        out["bm_breached_um"] = bmk.breached_length(*args)
        out["bm_breached_um2"] = bmk.breached_extent(*args) if mesh.dim == 3 else math.nan
        had = bmk.column_amounts(self.initial, mesh) >= t.breach_fraction * self.ref_amount
        left = bmk.column_amounts(bm, mesh)[had]
        out["bm_integrity_min"] = float(left.min() / self.ref_amount) if left.size else math.nan
        below = self.below(state)
        out["bm_cells_below"] = float(below.sum())
        for k, name in enumerate(state.type_names):
            out[f"bm_{name}_below"] = float((below & (state.cells.type == k)).sum())
        return out

    def below(self, state) -> np.ndarray:
        """``[n]`` live cells whose centre lies under the lowest initial BM voxel of its column."""
        c = state.cells
        mesh = state.mesh
        h = float(mesh.h)
        idx = [np.clip(np.floor(c.position[:, a] / h).astype(np.int64), 0, n - 1)
               for a, n in enumerate((mesh.nx, mesh.ny, mesh.nz)[: mesh.dim])]  # fmt: skip
        normal = np.floor(c.position[:, mesh.dim - 1] / h).astype(np.int64)
        bottom = self.bottom[idx[0]] if mesh.dim == 2 else self.bottom[idx[1], idx[0]]
        return (c.dead == 0) & (bottom >= 0) & (normal < bottom)
