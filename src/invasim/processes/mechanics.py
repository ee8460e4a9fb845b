"""Mechanics: cell–cell repulsion and adhesion and wall repulsion give each cell a velocity.

Contract:
    * PhysiCell's potentials (:mod:`invasim.physics.mechanics`): repulsion
      ``c_rep (1 − d/R)²`` within ``R = r_i + r_j`` and adhesion ``c_adh (1 − d/S)²`` within
      ``S`` (the relative maximum adhesion distance times the radii), summed over the
      neighbours found in the state's cell list; domain walls repel within a radius. Between
      types, adhesion is the geometric mean of the two types' strengths.
    * Behaviours (per cell, from the behaviour matrix): ``cell-cell adhesion`` and
      ``cell-cell repulsion`` (µm/min). Where no layer after the cell type can change them,
      the per-type kernel runs (same values, fewer bytes); otherwise the per-cell one.
      Cell type sub-table ``[params.cell_types.<type>.mechanics]``.
    * Clock: mechanics, first: it overwrites ``cells.velocity``; motility adds to it; the
      engine then moves the cells (``params.mechanics_scheme``, Adams–Bashforth 2).
    * :meth:`MechanicsProcess.check`: the mechanics step against the stability limit of the
      stiffest each type can get (a rule raising repulsion counts at its saturation).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.agents.process import ORDER, Process, register_process, unknown_cell_types
from invasim.core.cells import sphere_radius
from invasim.core.mesh import Mesh
from invasim.physics.mechanics import MechanicsParams, compute_velocities, max_stable_dt
from invasim.processes import _interact

AFFINITY = "adhesive affinity to {cell_type}"
#: behaviours passed per cell when some cell's value differs from its type's
_PER_CELL = ("cell-cell repulsion", "cell-cell adhesion", _interact.REACH, "wall repulsion",
             "wall adhesion")


class MechanicsCell(BaseModel):
    """``[params.cell_types.<type>.mechanics]``: PhysiCell's mechanics of a cell type."""

    model_config = ConfigDict(extra="forbid")

    repulsion_um_per_min: float = Field(
        10.0, ge=0, description="cell–cell repulsion strength [µm/min] (PhysiCell)"
    )
    adhesion_um_per_min: float = Field(
        0.4,
        ge=0,
        description="cell–cell adhesion strength [µm/min] (PhysiCell); between "
        "types the geometric mean",
    )
    relative_max_adhesion_distance: float = Field(
        1.25,
        ge=0,
        description="adhesion reach over the radius [1] (PhysiCell); below 1 the adhesion "
        "reaches less far than the repulsion, which still acts within r_i + r_j",
    )
    adhesive_affinity: dict[str, float] = Field(
        default_factory=dict,
        description="relative adhesion to each named cell type [1] (PhysiCell "
        "cell_adhesion_affinities; 1 where not named): the pair strength is "
        "sqrt(a_i aff_i[j] a_j aff_j[i])",
    )
    wall_repulsion_um_per_min: float = Field(
        100.0,
        ge=0,
        description="repulsion from the domain walls [µm/min] (PhysiCell's "
        "cell_BM_repulsion_strength, which acts on the domain edges)",
    )
    wall_adhesion_um_per_min: float = Field(
        0.0,
        ge=0,
        description="adhesion to the domain walls within the adhesion reach [µm/min] "
        "(PhysiCell's cell_BM_adhesion_strength acts only on a user-coded membrane; its "
        "domain edges do not adhere, hence 0)",
    )


def pin_immovable(state) -> None:
    """Zero the velocity of the cells whose ``is movable`` behaviour is below 1/2.

    PhysiCell's ``is_movable = false``: the cell stays where it is; its neighbours still
    feel it. Cheap when no cell is pinned (one comparison per type).
    """
    beh = state.behaviours
    if not beh.has("is movable"):
        return
    c = state.cells
    if beh.varies_within_type("is movable"):
        pinned = beh.column("is movable") < 0.5
    else:
        low = beh.type_values("is movable") < 0.5
        if not low.any():
            return
        pinned = low[c.type]
    if pinned.any():
        c.velocity[pinned] = 0.0


def mechanics_params(params: Any) -> MechanicsParams:
    """The per-type :class:`~invasim.physics.mechanics.MechanicsParams` of a scenario."""
    cells = [ct.mechanics for ct in params.cell_types.values()]
    col = lambda f: np.array([getattr(m, f) for m in cells], dtype=np.float64)  # noqa: E731
    adh = col("adhesion_um_per_min")
    names = list(params.cell_types)
    aff = np.array([[m.adhesive_affinity.get(u, 1.0) for u in names] for m in cells])
    # PhysiCell (Cell::add_potentials): sqrt(a_i aff_i[type j] · a_j aff_j[type i]); with
    # all affinities 1 this is the geometric mean of the strengths, bit for bit
    pair = np.outer(adh, adh) * (aff * aff.T) if aff.size and (aff != 1).any() else None
    # the per-type kernel needs a reach >= 1 (its cell list covers the repulsion); a type
    # below 1 runs the per-cell kernel with its true reach (MechanicsProcess.step)
    return MechanicsParams(
        col("repulsion_um_per_min"),
        np.sqrt(pair) if pair is not None else np.sqrt(np.outer(adh, adh)),
        np.maximum(col("relative_max_adhesion_distance"), 1.0), col("wall_repulsion_um_per_min"),
        col("wall_adhesion_um_per_min"),
    )  # fmt: skip


@register_process
class MechanicsProcess(Process):
    """Velocities from the cell–cell and cell–wall potentials."""

    name: ClassVar[str] = "mechanics"
    title: ClassVar[str] = "cell–cell repulsion and adhesion, wall repulsion"
    clock: ClassVar[str] = "mechanics"
    order: ClassVar[float] = ORDER["mechanics"]["mechanics"]
    CellParams: ClassVar[type[BaseModel]] = MechanicsCell
    behaviours: ClassVar[tuple[str, ...]] = (
        "cell-cell adhesion", "cell-cell repulsion", "is movable",
        "adhesive affinity to {cell_type}", "relative maximum adhesion distance",
        "wall adhesion", "wall repulsion",
    )  # fmt: skip
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A, Heiland R, Friedman SH, Mumenthaler SM, Macklin P (2018) PhysiCell: "
        "an open source physics-based cell simulator for 3-D multicellular systems. PLoS Comput "
        "Biol 14:e1005991",
    )

    @classmethod
    def neighbour_reach(cls, params: Any) -> float:
        """Largest interaction reach over the radius sum: the cell list's factor.

        A rule that raises it counts at its saturation.
        """
        return _interact.neighbour_reach(params)

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """Strengths, affinities (1 unless named), reach and wall strengths of the type."""
        m = cell.mechanics
        out = {"cell-cell adhesion": m.adhesion_um_per_min,
               "cell-cell repulsion": m.repulsion_um_per_min, "is movable": 1.0,
               "relative maximum adhesion distance": m.relative_max_adhesion_distance,
               "wall adhesion": m.wall_adhesion_um_per_min,
               "wall repulsion": m.wall_repulsion_um_per_min}  # fmt: skip
        out |= {f"adhesive affinity to {t}": m.adhesive_affinity.get(t, 1.0)
                for t in params.cell_types}  # fmt: skip
        return out

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """Named affinity types exist; the mechanics step against each type's stability."""
        problems = [
            line
            for name, ct in params.cell_types.items()
            for line in unknown_cell_types(params, name, "mechanics.adhesive_affinity",
                                           ct.mechanics.adhesive_affinity)
        ]  # fmt: skip
        problems += [
            f"params.cell_types.{name}.mechanics.adhesive_affinity: values must be finite "
            f"and >= 0"
            for name, ct in params.cell_types.items()
            if any(not (v >= 0 and np.isfinite(v)) for v in ct.mechanics.adhesive_affinity.values())
        ]  # fmt: skip
        scheme = params.mechanics_scheme
        rules = params.rule_set.table if params.rule_set is not None else ()
        for name, ct in params.cell_types.items():
            m = ct.mechanics
            # the stiffest the type can get: rules that increase its repulsion saturate at
            # their saturation value (the response lies between base and saturations)
            rep, by = m.repulsion_um_per_min, ""
            for rule in rules:
                if (rule.cell_type == name and rule.behaviour == "cell-cell repulsion"
                        and rule.direction == "increases" and rule.saturation > rep):
                    rep, by = rule.saturation, f" by the rule {rule.origin}"
            mp = MechanicsParams.single_type(
                rep, m.adhesion_um_per_min,
                max(m.relative_max_adhesion_distance, 1.0), m.wall_repulsion_um_per_min,
            )  # fmt: skip
            r = float(sphere_radius(ct.volume.volume_um3))
            limit = max_stable_dt(mp, r, mesh.dim, scheme)
            if params.dt_mechanics_min > limit:
                problems.append(
                    f"params.dt_mechanics_min = {params.dt_mechanics_min:g} exceeds the "
                    f"mechanics stability limit {limit:.4g} min of cell type {name!r} "
                    f"(repulsion {'up to ' if by else ''}{rep:g} µm/min{by}, radius "
                    f"{r:.3g} µm, {scheme})"
                )
        return problems

    def setup(self, state) -> None:
        """The per-type tables."""
        self.mech_params = mechanics_params(self.params)
        self.short_reach = any(ct.mechanics.relative_max_adhesion_distance < 1.0
                               for ct in self.params.cell_types.values())  # fmt: skip

    def step(self, state, dt: float) -> None:
        """Overwrite the cells' velocities with the potentials' (cell list rebuilt first)."""
        c = state.cells
        if not c.n:
            return
        grid = state.neighbours
        grid.rebuild(c)
        beh = state.behaviours
        per = {name: beh.column(name) if beh.varies_within_type(name) else None
               for name in _PER_CELL}  # fmt: skip
        aff = None
        names = [f"adhesive affinity to {t}" for t in state.type_names]
        if any(beh.varies_within_type(x) for x in names):
            aff = np.ascontiguousarray(_interact.type_matrix(beh, AFFINITY, state.type_names).T)
            if per["cell-cell adhesion"] is None:
                per["cell-cell adhesion"] = beh.column("cell-cell adhesion")
        reach = per[_interact.REACH]
        if reach is None and self.short_reach:  # a type's reach below 1: the per-cell kernel
            reach = beh.column(_interact.REACH)
        if reach is not None and c.n:  # the cell list must cover the widest reach present
            search = 2.0 * max(float(reach.max()), 1.0) * float(c.radius.max())
            if search > grid.cell_list.cutoff:
                grid.cell_list.fit_cutoff(search)
                grid.cell_list.rebuild(c.position)
        rep, adh = per["cell-cell repulsion"], per["cell-cell adhesion"]
        # sorted scratch: x, y, z, r (+ per-cell repulsion, adhesion, reach)
        cols = 7 if reach is not None else 4 if rep is None and adh is None else 6
        compute_velocities(
            c, grid.cell_list, self.mech_params, state.extent, grid.scratch(c.n, cols),
            repulsion=rep, adhesion=adh, reach=reach, affinity=aff,
            wall_repulsion=per["wall repulsion"], wall_adhesion=per["wall adhesion"],
        )  # fmt: skip
        pin_immovable(state)
