"""What the contact interactions (phagocytosis, attack, fusion) share: reach, neighbours, rows.

Contract:
    * A cell's interaction reach is its type's relative maximum adhesion distance (the
      mechanics sub-table's ``relative_max_adhesion_distance``; 1.25, PhysiCell's default,
      without mechanics): cells closer than ``s_i r_i + s_j r_j`` interact
      (:mod:`invasim.physics.interactions`).
    * :func:`rows_of_ids` maps cell ids to current rows (-1: gone), for interactions that
      remember a partner across steps (an attack's target).
    * :class:`InteractionProcess`: the base of those processes (their reference, the cell
      list's reach, and the check that every cell type their tables name exists).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from invasim.agents.process import Process, unknown_cell_types
from invasim.physics.interactions import interaction_lists

#: PhysiCell's default relative maximum adhesion distance
DEFAULT_REACH = 1.25


def type_reach(params: Any) -> np.ndarray:
    """``[T]`` each cell type's relative maximum adhesion distance."""
    out = []
    for ct in params.cell_types.values():
        m = getattr(ct, "mechanics", None)
        out.append(m.relative_max_adhesion_distance if m is not None else DEFAULT_REACH)
    return np.array(out, dtype=np.float64)


REACH = "relative maximum adhesion distance"


def neighbour_reach(params: Any) -> float:
    """The largest reach: the cell list must cover ``2 max(s) r_max``.

    A rule that raises a type's relative maximum adhesion distance counts at its saturation
    (the response lies between the base value and the saturations).
    """
    if not params.cell_types:
        return DEFAULT_REACH
    reach = float(type_reach(params).max())
    rs = getattr(params, "rule_set", None)
    for rule in rs.table if rs is not None else ():
        if rule.behaviour == REACH and rule.direction == "increases":
            reach = max(reach, float(rule.saturation))
    return reach


def cell_reach(state, reach_t: np.ndarray) -> np.ndarray:
    """``[n]`` each cell's relative maximum adhesion distance.

    Its behaviour where rules change it within a type, else its type's ``reach_t``.
    """
    beh = state.behaviours
    if beh is not None and beh.has(REACH) and beh.varies_within_type(REACH):
        return beh.column(REACH)
    return reach_t[state.cells.type]


def neighbours(state, reach_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, nbr)`` the interaction neighbours of every cell (cached per position)."""
    return interaction_lists(state, cell_reach(state, reach_t))


def rows_of_ids(cell_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``[k]`` the current row of each id in ``wanted`` (-1 where no such cell, or id < 0)."""
    order = np.argsort(cell_ids, kind="stable")
    sorted_ids = cell_ids[order]
    pos = np.searchsorted(sorted_ids, wanted)
    pos = np.minimum(pos, max(len(sorted_ids) - 1, 0))
    out = np.full(wanted.shape[0], -1, dtype=np.int64)
    if len(sorted_ids):
        hit = (sorted_ids[pos] == wanted) & (wanted >= 0)
        out[hit] = order[pos[hit]]
    return out


def type_matrix(beh, template: str, type_names: list[str]) -> np.ndarray:
    """``[T, n]`` the behaviour ``template`` (``{cell_type}``) of every cell, per target type."""
    return np.ascontiguousarray(
        np.stack([beh.column(template.format(cell_type=t)) for t in type_names])
    )


class InteractionProcess(Process):
    """Base of the contact-interaction processes (not registered itself).

    Subclasses list in :attr:`type_keyed` the keys of their cell-type table that are tables
    keyed by cell type name; :meth:`check` names every key that is not a cell type.
    """

    type_keyed: ClassVar[tuple[str, ...]] = ()
    references: ClassVar[tuple[str, ...]] = (
        "Johnson JAI, Bergman DR, Rocha HL, ... Macklin P (2025) Human interpretable grammar "
        "encodes multicellular systems biology models to democratize virtual cell laboratories. "
        "Cell 188:4711-4733 (PhysiCell 1.14 cell interactions)",
    )

    @classmethod
    def neighbour_reach(cls, params: Any) -> float:
        """Interaction reach over the radius (the cell list covers it)."""
        return neighbour_reach(params)

    @classmethod
    def check(cls, params: Any, mesh: Any, dt: float) -> list[str]:
        """Every cell type named in the :attr:`type_keyed` tables exists."""
        return [
            line
            for name, ct in params.cell_types.items()
            for key in cls.type_keyed
            for line in unknown_cell_types(params, name, f"{cls.name}.{key}",
                                           getattr(getattr(ct, cls.name), key))
        ]  # fmt: skip
