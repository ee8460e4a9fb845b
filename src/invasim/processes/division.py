"""Division: each cell the cycle marked becomes two daughters of half its volume.

Contract:
    * :func:`invasim.biology.division.divide`: daughters at ``x ± 0.75 r e`` along a random
      direction ``e`` (counter-based), half the volume each, the mother's type, clone, state
      and traits, ``generation + 1``; daughter A keeps the mother's row, daughter B is
      appended. The daughters carry the mother's last pressure and her behaviour values (the
      processes after division in the step read them; the next fill recomputes them).
    * Declared traits (``[params.traits]``, :mod:`invasim.biology.traits`): each daughter's
      value mutates with probability ``mutation_rate`` by a Gaussian step of sd
      ``mutation_step`` (counter-based, keyed by the daughter's id), reflected into the
      bounds; ``split`` traits are halved between the daughters. Bookkeeping (the motility
      direction) is copied, never mutated.
    * Asymmetric division (PhysiCell 1.14, ``standard_asymmetric_division_function``):
      daughter B becomes type ``X`` with probability ``asymmetric division to X`` (the
      mother's behaviour, dimensionless; the type's
      ``[params.cell_types.<type>.division] asymmetric = { X = p }``, 0 for types not named;
      the own type's entry is ignored: it is the remainder), one counter-based draw keyed by
      B's id. If the probabilities sum to more than 1 they are scaled to sum to 1 (PhysiCell
      stops with an error for the type's values; rules can push a sum above 1, so invasim
      scales instead). Daughter A keeps the mother's type. A daughter whose new type has
      another cycle model restarts at phase 0.
    * Division into free space (opt-in per type: ``[params.cell_types.<type>.division]
      free_space = { tries = 8, clearance = 0.9 }``; Anderson 2005/2006's lattice rule: a
      cell divides only if a neighbouring site is free, the daughter goes there, nobody is
      pushed): each marked mother of such a type tries up to ``tries`` random directions
      (:func:`~invasim.physics.free_space.free_space_directions`, its own rng stream) and
      divides into the first where daughter B, at ``x + 1.5 r e``, overlaps no other cell by
      more than ``1 - clearance`` of the sum of radii; daughter A stays at the mother's
      position. A mother with no free direction does not divide: the cycle's step is undone
      for her (she goes back to her division phase, e.g. M, whose exit she tries again at
      that phase's rate; a fixed-duration phase is left at the next step), so she is held at
      the end of her cycle until space opens. Types without the key divide as before (bit
      for bit).
    * Clones (``[params.division] new_clone_on_mutation = true``; default false: clone ids
      only at the start, as before): a daughter with at least one mutation event
      (:func:`~invasim.biology.division.mutation_events`: a trait with ``mutation_rate > 0``
      and ``mutation_step > 0`` drew a Gaussian step) founds a new clone: its ``clone_id``
      becomes its own cell id, and a row (parent clone: the mother's clone, ``born_min``, its
      post-mutation traits) is appended to the lineage table ``state.lineage``
      (:class:`~invasim.biology.clones.Lineage`; its roots: the initial cells' clones, and
      each phenotype step the clones of cells added since, e.g. by an intervention). Clone ids
      come from the cells' id counter, so they are independent of threads and a resumed run
      equals an uninterrupted one; the engine checkpoints the table and writes it as the
      ``clones`` snapshot table.
    * Clock: phenotype, after the cycle (which it requires).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process, unknown_cell_types
from invasim.biology.clones import Lineage
from invasim.biology.division import DIVISION_SEPARATION, divide, mutation_events
from invasim.biology.traits import division_arrays
from invasim.core.rng import uniform
from invasim.physics.free_space import free_space_directions
from invasim.processes import attachments
from invasim.processes.transformation import change_types, same_cycle_models

STREAM_ASYMMETRIC = 23


class DivisionParams(BaseModel):
    """``[params.division]``: clonal bookkeeping."""

    model_config = ConfigDict(extra="forbid")

    new_clone_on_mutation: bool = Field(
        False,
        description="a daughter whose heritable traits mutate at division founds a new clone "
        "(clone_id: its own id; parent clone: its mother's) and the lineage is kept (the "
        "clones table) [boolean] (Anderson et al. 2006, Cell 127:905: every mutation gives a "
        "new phenotype); false: clone ids only at the start",
    )


class FreeSpace(BaseModel):
    """``[params.cell_types.<type>.division] free_space``: divide only into free space."""

    model_config = ConfigDict(extra="forbid")

    tries: int = Field(
        8,
        ge=1,
        le=64,
        description="random directions tried per mother and phenotype step [1] (8: the "
        "Moore neighbourhood of Anderson 2005's 2-D lattice, whose daughter takes a free "
        "neighbouring site)",
    )
    clearance: float = Field(
        0.9,
        gt=0.0,
        le=1.0,
        description="a direction is free if daughter B's centre is at least clearance x "
        "(r_B + r_j) from every other cell j [1] (1: no overlap at all; 0.9 illustrative: "
        "PhysiCell packings overlap by ~10 %)",
    )
    dead_cells_block: bool = Field(
        False,
        description="dead cells (apoptotic, necrotic, not yet removed) also take space "
        "[boolean] (false: only live cells, as in Anderson et al. 2006 where dead cells "
        "leave their site to necrotic tissue that takes no further part)",
    )


class DivisionCell(BaseModel):
    """``[params.cell_types.<type>.division]``: asymmetric division, division into free space."""

    model_config = ConfigDict(extra="forbid")

    free_space: FreeSpace | None = Field(
        None,
        description="divide only where daughter B fits without pushing (Anderson 2005, Math "
        "Med Biol 22:163; Anderson et al. 2006, Cell 127:905: a cell divides only if a "
        "neighbouring lattice site is free); None: off, daughters placed symmetrically and "
        "the mechanics pushes (PhysiCell)",
    )

    asymmetric: dict[str, float] = Field(
        default_factory=dict,
        description="probability that daughter B becomes each named type [1] (PhysiCell "
        "asymmetric_division_probabilities); the rest keep the mother's type",
    )

    @model_validator(mode="after")
    def _probabilities(self) -> DivisionCell:
        if any(not (0 <= v <= 1 and math.isfinite(v)) for v in self.asymmetric.values()):
            raise ValueError("asymmetric division probabilities must lie in [0, 1]")
        return self


@njit(cache=True)
def asymmetric_kernel(ctype, cid, rows, probs, seed, step, out):  # pragma: no cover
    """``out[k]``: the new type of daughter row ``rows[k]`` (its own if it keeps it).

    ``probs``: ``[T, k]`` the mother's probability of each type for daughter ``k``.
    """
    n_types = probs.shape[0]
    for k in range(rows.shape[0]):
        i = rows[k]
        own = ctype[i]
        out[k] = own
        total = 0.0
        for t in range(n_types):
            if t != own:
                total += probs[t, k]
        if not total > 0.0:
            continue
        scale = 1.0 / total if total > 1.0 else 1.0
        r = uniform(seed, step, cid[i], STREAM_ASYMMETRIC, 0)
        for t in range(n_types):
            if t == own:
                continue
            p = probs[t, k] * scale
            if r < p:
                out[k] = t
                break
            r -= p


@register_process
class DivisionProcess(Process):
    """Cell division."""

    name: ClassVar[str] = "division"
    title: ClassVar[str] = "dividing cells become two daughters"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["division"]
    requires: ClassVar[tuple[str, ...]] = ("cycle",)
    Params: ClassVar[type[BaseModel]] = DivisionParams
    CellParams: ClassVar[type[BaseModel]] = DivisionCell
    behaviours: ClassVar[tuple[str, ...]] = ("asymmetric division to {cell_type}",)

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's asymmetric division probabilities (0 unless named)."""
        a = cell.division.asymmetric
        return {f"asymmetric division to {t}": a.get(t, 0.0) for t in params.cell_types}

    @classmethod
    def check(cls, params: Any, mesh: Any, dt: float) -> list[str]:
        """Every named type exists; a type's probabilities sum to at most 1."""
        out = []
        for name, ct in params.cell_types.items():
            a = ct.division.asymmetric
            out += unknown_cell_types(params, name, "division.asymmetric", a)
            if sum(v for t, v in a.items() if t != name) > 1 + 1e-12:
                out.append(f"params.cell_types.{name}.division.asymmetric: the probabilities "
                           f"sum to more than 1")
        return out  # fmt: skip

    def setup(self, state) -> None:
        """The declared traits (``[params.traits]``); which types share a cycle model.

        With ``new_clone_on_mutation``: the lineage table, its roots the present cells' clones
        (kept if the state already has one: a restored run's).
        """
        self.specs = self.params.trait_specs()
        self.new_clones = bool(self.table is not None and self.table.new_clone_on_mutation)
        if self.new_clones and getattr(state, "lineage", None) is None:
            state.lineage = Lineage(state.cells.trait_names)
            state.lineage.register_roots(state.cells, state.t)
        self.same_cycle = same_cycle_models(self.params)
        types = list(self.params.cell_types.values())
        fs = [ct.division.free_space for ct in types]
        self.free_space = any(f is not None for f in fs)
        if self.free_space:
            self.fs_tries = np.array([0 if f is None else f.tries for f in fs], dtype=np.int64)
            self.fs_clear = np.array([1.0 if f is None else f.clearance for f in fs])
            self.fs_dead = np.array([f is not None and f.dead_cells_block for f in fs])
            models = [ct.cycle.cycle_model() for ct in types]
            k_max = max(m.n_phases for m in models)
            self.n_phases = np.array([m.n_phases for m in models], dtype=np.int64)
            self.fixed = np.zeros((len(models), k_max), dtype=bool)
            self.duration = np.zeros((len(models), k_max))
            for t, m in enumerate(models):
                self.fixed[t, : m.n_phases] = m.fixed
                self.duration[t, : m.n_phases] = [1.0 / r if r > 0 else 0.0 for r in m.rates]
        beh = state.behaviours
        names = [f"asymmetric division to {t}" for t in state.type_names]
        self.asymmetric = bool(beh.base[:, [beh.index[x] for x in names]].any()) or any(
            beh.varies_within_type(x) for x in names
        )

    def step(self, state, dt: float) -> None:
        """Divide the rows marked by the cycle."""
        rows = state.dividing
        if self.new_clones:  # clones of cells added since (an intervention's): roots
            state.lineage.register_roots(state.cells, state.step_start)
        if not rows.size:
            return
        placement = {}
        if self.free_space:
            rows, placement = self._free_space(state, rows)
            if not rows.size:
                state.dividing = rows
                return
        if self.asymmetric:  # the mothers' probabilities, before the rows grow
            beh = state.behaviours
            probs = np.stack([beh.column(f"asymmetric division to {t}")[rows]
                              for t in state.type_names])  # fmt: skip
        if self.new_clones:
            mothers = state.cells.clone_id[rows].copy()
        if self.specs:  # declared traits: mutation, bounds, split inheritance
            arrays = division_arrays(self.specs, state.cells.trait_names)
            born = divide(state.cells, rows, state.seed, state.pheno_step, **arrays, **placement)
            if self.new_clones:
                self._found_clones(state, rows, born, mothers, arrays)
        else:
            born = divide(state.cells, rows, state.seed, state.pheno_step, **placement)
        attachments.release(state.cells, rows)  # PhysiCell's Cell::divide detaches springs
        if self.asymmetric:
            c = state.cells
            b_rows = np.arange(born.start, born.stop, dtype=np.int64)
            new = np.empty(b_rows.size, dtype=c.type.dtype)
            asymmetric_kernel(c.type, c.id, b_rows, np.ascontiguousarray(probs),
                              np.int64(state.seed), np.int64(state.pheno_step), new)  # fmt: skip
            change_types(c, b_rows, new, self.same_cycle)
        # daughters B start with their mother's pressure and behaviours (PhysiCell copies the
        # phenotype): the processes after division in this step (transformation ...) read them
        state.extend_rows(rows.size, copy_rows=rows)
        state.dividing = np.zeros(0, dtype=np.int64)

    def _free_space(self, state, rows: np.ndarray):
        """The mothers that divide now and where; the others go back to their division phase.

        Returns the dividing rows and :func:`divide`'s ``placed``/``directions`` keywords.
        """
        c = state.cells
        found, directions = free_space_directions(
            c, rows, state.seed, state.pheno_step, state.extent, self.fs_tries, self.fs_clear,
            self.fs_dead, DIVISION_SEPARATION,
        )  # fmt: skip
        t = c.type[rows]
        placed = found & (self.fs_tries[t] > 0)  # types without free_space: as before
        keep = found | (self.fs_tries[t] == 0)
        held = rows[~keep]
        if held.size:  # undo the cycle's exit: back to the division phase, at its end
            th = c.type[held]
            p = (c.phase[held] - 1) % self.n_phases[th]
            c.phase[held] = p
            c.time_in_phase[held] = np.where(self.fixed[th, p], self.duration[th, p], 0.0)
        return rows[keep], {"placed": placed[keep], "directions": directions[keep]}

    def _found_clones(self, state, rows, born: slice, mothers, arrays) -> None:
        """The daughters that mutated found clones (children of their mothers' clones)."""
        c = state.cells
        daughters = np.concatenate([rows, np.arange(born.start, born.stop, dtype=np.int64)])
        mutated = mutation_events(c.id[daughters], state.seed, state.pheno_step,
                                  arrays["trait_sd"], arrays["mutation_rate"]).any(axis=1)
        if mutated.any():
            parents = np.concatenate([mothers, mothers])
            state.lineage.found(c, daughters[mutated], parents[mutated], state.t)
