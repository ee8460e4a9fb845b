"""Clonal lineage: which clone each clone came from, when, and with which heritable traits.

Contract:
    * A clone is named by its founder cell's id: ``clone_id == founder_id``, the convention
      :class:`~invasim.core.cells.Cells` already keeps for the initial cells (each founds its
      own clone). Clone ids are therefore taken from the cells' id counter (``next_id``, part
      of every checkpoint) in the order :func:`~invasim.biology.division.divide` numbers the
      daughters (a pure function of the state): the same on any thread count, and a resumed
      run numbers its clones as an uninterrupted one. No second counter can drift from it.
    * :class:`Lineage` is the append-only clone table, one row per clone ever founded (extinct
      ones included): ``clone_id``, ``parent_clone_id`` (-1 for a root), ``born_min`` (when it
      was founded, min; a root registered late: when it was first seen), ``founder_id``,
      ``founder_generation`` and the founder's value of each trait (``founder_<trait>``, in the
      trait's unit) right after its founding division (mutation included). Rows are in founding
      order; a clone's parent always comes before it and was born no later.
    * :meth:`Lineage.register_roots` adds the clones of cells it has not seen as roots (the
      initial cells; cells added later by an intervention); :meth:`Lineage.found` adds the
      clones founded by the daughters that mutated at division.
    * Storage: :meth:`Lineage.to_arrays` / :meth:`Lineage.from_arrays` (checkpoints, keys
      ``clones__*``, bit for bit), :meth:`Lineage.to_frame` / :meth:`Lineage.from_frame` (the
      ``clones`` snapshot table of a run directory). :func:`load_clones` reads it from a run.
    * :func:`lineage_problems` checks a clone table: unique ids, every parent present and
      born no later than its child, no cycles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from invasim.errors import RunDirError

#: key prefix of the lineage arrays in a checkpoint
PREFIX = "clones__"
#: the name of the clone table among a run's snapshot tables
TABLE = "clones"
#: the fixed columns of the clone table (then ``founder_<trait>`` per trait)
COLUMNS = ("clone_id", "parent_clone_id", "born_min", "founder_id", "founder_generation")
_INT = ("clone_id", "parent_clone_id", "founder_id", "founder_generation")


class Lineage:
    """The clone table of one tissue (append-only; see the module contract).

    Args:
        trait_names: the cells' trait columns whose founder values are kept.
    """

    def __init__(self, trait_names: Sequence[str] = ()) -> None:
        self.trait_names = [str(t) for t in trait_names]
        self._cols = {c: np.zeros(0, np.float64 if c == "born_min" else np.int64)
                      for c in COLUMNS}  # fmt: skip
        self._traits = np.zeros((0, len(self.trait_names)))

    def __len__(self) -> int:
        return int(self._cols["clone_id"].shape[0])

    def column(self, name: str) -> np.ndarray:
        """A copy of the fixed column ``name`` (:data:`COLUMNS`) over all clones."""
        return self._cols[name].copy()

    @property
    def clone_ids(self) -> np.ndarray:
        """``[k]`` int64, the clones' ids in founding order."""
        return self._cols["clone_id"].copy()

    @property
    def founder_traits(self) -> np.ndarray:
        """``[k, n_traits]`` float64, the founders' trait values (``trait_names`` order)."""
        return self._traits.copy()

    def knows(self, clone_ids) -> np.ndarray:
        """``[k]`` bool: which of ``clone_ids`` are in the table."""
        return np.isin(np.asarray(clone_ids, dtype=np.int64).ravel(), self._cols["clone_id"])

    # -- growing -------------------------------------------------------------------------------
    def _append(self, clone_id, parent, born, founder, generation, traits) -> None:
        k = np.asarray(clone_id, dtype=np.int64).shape[0]
        if k == 0:
            return
        new = {"clone_id": clone_id, "parent_clone_id": parent, "born_min": born,
               "founder_id": founder, "founder_generation": generation}  # fmt: skip
        for c, v in new.items():
            v = np.broadcast_to(np.asarray(v, dtype=self._cols[c].dtype), (k,))
            self._cols[c] = np.concatenate([self._cols[c], v])
        traits = np.asarray(traits, dtype=np.float64).reshape(k, len(self.trait_names))
        self._traits = np.concatenate([self._traits, traits])

    def _trait_block(self, cells, rows: np.ndarray) -> np.ndarray:
        out = np.full((rows.shape[0], len(self.trait_names)), np.nan)
        have = cells.trait_names
        for j, t in enumerate(self.trait_names):
            if t in have:
                out[:, j] = cells.trait(t)[rows]
        return out

    def register_roots(self, cells, t_min: float, rows=None) -> int:
        """Add the clones of ``rows`` (default: every cell) not in the table yet, as roots.

        A root's founder values are those of its first row among ``rows`` (in id order: the
        founder itself for the initial cells); ``born_min`` is ``t_min``.

        Returns:
            the number of clones added.
        """
        rows = np.arange(cells.n) if rows is None else np.asarray(rows, dtype=np.int64)
        if not rows.size:
            return 0
        cid = cells.clone_id[rows]
        unknown = ~self.knows(cid)
        if not unknown.any():
            return 0
        rows = rows[unknown]
        rows = rows[np.argsort(cells.id[rows], kind="stable")]
        _, first = np.unique(cells.clone_id[rows], return_index=True)
        rows = rows[np.sort(first)]  # one row per clone, in the founders' id order
        self._append(cells.clone_id[rows], -1, float(t_min), cells.clone_id[rows],
                     cells.generation[rows], self._trait_block(cells, rows))  # fmt: skip
        return int(rows.size)

    def found(self, cells, rows: np.ndarray, parent_clones: np.ndarray, t_min: float) -> None:
        """Make each cell at ``rows`` the founder of a new clone, child of ``parent_clones``.

        Sets ``cells.clone_id[rows]`` to the cells' own ids and appends one table row per
        cell, in id order, with the cells' current traits and generation.

        Args:
            cells: the cells.
            rows: ``[k]`` rows of the founders (distinct).
            parent_clones: ``[k]`` int64, the clone each founder came from (already in the
                table: call :meth:`register_roots` on the mothers first).
            t_min: the time of the founding division, min.
        """
        rows = np.asarray(rows, dtype=np.int64)
        parent_clones = np.asarray(parent_clones, dtype=np.int64)
        if not rows.size:
            return
        if not self.knows(parent_clones).all():
            raise ValueError("a founder's parent clone is not in the lineage table")
        order = np.argsort(cells.id[rows], kind="stable")
        rows, parent_clones = rows[order], parent_clones[order]
        ids = cells.id[rows].copy()
        cells.clone_id[rows] = ids
        self._append(ids, parent_clones, float(t_min), ids, cells.generation[rows],
                     self._trait_block(cells, rows))  # fmt: skip

    # -- storage -------------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The table as checkpoint arrays.

        Keys: ``clones__<column>`` per fixed column, ``clones__traits`` and
        ``clones__trait_labels``.
        """
        out = {f"{PREFIX}{c}": v.copy() for c, v in self._cols.items()}
        out[f"{PREFIX}traits"] = self._traits.copy()
        labels = np.array(self.trait_names, dtype=str) if self.trait_names else np.zeros(0, "<U1")
        out[f"{PREFIX}trait_labels"] = labels
        return out

    @classmethod
    def from_arrays(cls, arrays) -> Lineage:
        """Rebuild from :meth:`to_arrays` (other keys are ignored); bit for bit."""
        names = [str(t) for t in np.atleast_1d(arrays.get(f"{PREFIX}trait_labels", []))]
        lin = cls(names)
        k = np.asarray(arrays[f"{PREFIX}clone_id"]).shape[0]
        cols = {c: np.asarray(arrays[f"{PREFIX}{c}"]) for c in COLUMNS}
        traits = np.asarray(arrays.get(f"{PREFIX}traits", np.zeros((k, 0))))
        lin._append(cols["clone_id"], cols["parent_clone_id"], cols["born_min"],
                    cols["founder_id"], cols["founder_generation"], traits)  # fmt: skip
        return lin

    def to_frame(self) -> pd.DataFrame:
        """One row per clone: :data:`COLUMNS`, then ``founder_<trait>`` per trait."""
        data = {c: self._cols[c].copy() for c in COLUMNS}
        for j, t in enumerate(self.trait_names):
            data[f"founder_{t}"] = self._traits[:, j].copy()
        return pd.DataFrame(data)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Lineage:
        """Rebuild from :meth:`to_frame` (extra columns such as ``time_min`` are ignored)."""
        names = [c[len("founder_"):] for c in frame.columns
                 if c.startswith("founder_") and c not in COLUMNS]  # fmt: skip
        lin = cls(names)
        traits = frame[[f"founder_{t}" for t in names]].to_numpy(dtype=np.float64)
        lin._append(*(frame[c].to_numpy() for c in COLUMNS), traits)
        return lin


def lineage_problems(frame: pd.DataFrame) -> list[str]:
    """One line per inconsistency of a clone table (:meth:`Lineage.to_frame`); [] if none.

    Checks: unique clone ids; every ``parent_clone_id`` (other than -1) is a clone of the
    table, listed before its child and born no later; following parents always ends at a root.
    """
    out = []
    ids = frame["clone_id"].to_numpy(np.int64)
    parents = frame["parent_clone_id"].to_numpy(np.int64)
    born = frame["born_min"].to_numpy(np.float64)
    if np.unique(ids).size != ids.size:
        out.append("clone ids are not unique")
    pos = {int(c): i for i, c in enumerate(ids)}
    for i, (c, p) in enumerate(zip(ids, parents, strict=True)):
        if p == -1:
            continue
        j = pos.get(int(p))
        if j is None:
            out.append(f"clone {c}: parent clone {p} is not in the table")
        elif j >= i:
            out.append(f"clone {c}: parent clone {p} is listed after it")
        elif born[j] > born[i]:
            out.append(f"clone {c} (born {born[i]:g} min) is older than its parent {p} "
                       f"(born {born[j]:g} min)")  # fmt: skip
    return out


def load_clones(run, time_min: float | None = None) -> pd.DataFrame:
    """The clone table of a run directory (``run``: an opened :class:`~invasim.io.run.Run`).

    Read from its ``clones`` snapshot table at ``time_min`` (default: the last, which holds
    every clone founded up to the end). Runs without one (``[params.division]
    new_clone_on_mutation`` off) get a table of roots, one per clone id in the cell snapshots
    up to ``time_min``, born when first seen, without founder traits.

    Returns:
        a DataFrame with the columns of :meth:`Lineage.to_frame`.
    """
    try:
        frame = run.table(TABLE, time_min)
    except RunDirError:
        frame = None
    if frame is not None:
        return frame.drop(columns=["time_min"], errors="ignore").reset_index(drop=True)
    times = np.asarray(run.times, dtype=float)
    if time_min is not None:
        times = times[: run.time_index(time_min) + 1]
    first: dict[int, float] = {}
    for t in times:
        try:
            cells = run.table("cells", float(t))
        except RunDirError:
            continue
        for c in np.unique(cells["clone_id"].to_numpy(np.int64)):
            first.setdefault(int(c), float(t))
    ids = np.array(sorted(first, key=lambda c: (first[c], c)), dtype=np.int64)
    return pd.DataFrame({
        "clone_id": ids, "parent_clone_id": np.full(ids.size, -1, np.int64),
        "born_min": np.array([first[int(c)] for c in ids], dtype=float),
        "founder_id": ids, "founder_generation": np.zeros(ids.size, np.int64),
    })  # fmt: skip


__all__ = ["COLUMNS", "PREFIX", "TABLE", "Lineage", "lineage_problems", "load_clones"]
