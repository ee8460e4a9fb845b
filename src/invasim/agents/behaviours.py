"""The behaviour matrix: every cell's behaviour values, filled in layers each phenotype step.

Contract:
    * One column per behaviour that some listed process reads (canonical rules-dictionary
      names: ``"cycle entry"``, ``"oxygen uptake"``, ``"migration speed"``, ...), one value
      per cell, in the behaviour's unit. Stored ``[n_columns, n]`` so each column is a
      contiguous array (:meth:`Behaviours.column`).
    * The matrix always exists; processes read their behaviours from it and nowhere else.
      It is filled in a fixed order of layers, each writing over the previous:

      1. **cell type**: the type's value (:meth:`~invasim.agents.process.Process.base_behaviours`
         of the process that reads it), then each process's environment-dependent defaults of
         the type (:meth:`~invasim.agents.process.Process.type_behaviours`: PhysiCell's
         standard oxygen dependence of cycle entry and necrosis);
      2. **traits**: heritable traits that scale a behaviour (per cell);
      3. **internal models**: per-cell state variables (a signalling network) that set one;
      4. **rules**: the scenario's behaviour rules replace the behaviours they govern, in the
         cell types they govern (PhysiCell's rules start from the cell type's value);
      5. **interventions**: drugs and other scheduled changes (scale or set).

    * A behaviour is filled right before the clock that reads it: the behaviours read on the
      diffusion and mechanics clocks (secretion, uptake, motility, adhesion, repulsion) and by
      the sensing phenotype processes at the start of a phenotype step, from the state then
      (phase ``"motion"``); those read by the acting phenotype processes (cycle entry, death
      rates) in the phenotype step, after the sensing processes (contacts), from the state at
      its end (phase ``"life"``). The layers that can write a column are known before the run
      (:attr:`Behaviours.varies`): a column only the cell type writes is constant per type, so
      kernels may use per-type tables for it (same values, fewer bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

if TYPE_CHECKING:  # pragma: no cover
    from invasim.agents.state import AgentState

#: the layers, in the order they write (see the module contract)
LAYERS = ("cell type", "traits", "internal models", "rules", "interventions")

#: a layer: writes columns ``cols`` (indices) of ``values`` for the cells of ``state``
Layer = Callable[["AgentState", "Behaviours", Sequence[int], float], None]


@njit(parallel=True, cache=True)
def _compact_rows(store, keep):  # pragma: no cover - compiled
    """``store[k, j] = store[k, keep[j]]`` in place (``keep`` increasing, so ``keep[j] >= j``)."""
    m = keep.shape[0]
    for k in prange(store.shape[0]):
        for j in range(m):
            store[k, j] = store[k, keep[j]]


@dataclass
class Behaviours:
    """The behaviour matrix (see the module contract).

    Attributes:
        names: canonical behaviour names, one per column.
        units: their units.
        base: ``[T, n_columns]`` the cell types' values (layer 1 before environment).
        phase: per column, ``"motion"`` (read on the diffusion/mechanics clocks) or
            ``"life"`` (read on the phenotype clock).
        varies: per column, True where a layer after the cell type can write it (then it
            varies within a type).
        layers: ``(name, function)`` pairs in :data:`LAYERS` order.
        values: ``[n_columns, n]`` the current values: the first ``n`` columns of a reused
            store with room for more cells (each row contiguous), so that appending
            daughters or removing cells does not reallocate (and page in) the whole matrix.
    """

    names: list[str]
    units: list[str]
    base: np.ndarray
    phase: list[str]
    varies: np.ndarray
    layers: list[tuple[str, Layer]] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        self.index = {name: k for k, name in enumerate(self.names)}
        self._store = self.values

    def _reserve(self, n: int, keep: int) -> None:
        """A store with room for ``n`` cells holding the first ``keep`` columns of ``values``."""
        m = len(self.names)
        own = self.values.base is self._store and self._store.shape[0] == m
        if own and self._store.shape[1] >= n:
            return
        store = np.zeros((m, max(n, n + n // 4 + 1024)))  # grows by a quarter, never shrinks
        if keep:
            store[:, :keep] = self.values[:, :keep]
        self._store = store
        self.values = store[:, :keep]

    def resize(self, n: int, zero: Sequence[int] | None = None) -> None:
        """``values`` as ``[n_columns, n]``; the columns ``zero`` (None: all) set to 0."""
        self._reserve(n, 0)
        self.values = self._store[:, :n]
        for k in range(len(self.names)) if zero is None else zero:
            self.values[k] = 0.0

    def append(self, new: np.ndarray) -> None:
        """Add ``new`` (``[n_columns, k]``) as the values of ``k`` new cells (rows ``n..n+k``)."""
        n, k = self.values.shape[1], new.shape[1]
        self._reserve(n + k, n)
        self._store[:, n : n + k] = new
        self.values = self._store[:, : n + k]

    def keep(self, mask: np.ndarray) -> None:
        """Keep the cells where ``mask`` (``[n]`` bool) holds, in order, compacted in place."""
        self._reserve(self.values.shape[1], self.values.shape[1])
        rows = np.flatnonzero(mask)
        _compact_rows(self._store, rows)
        self.values = self._store[:, : rows.size]

    def has(self, name: str) -> bool:
        """Whether ``name`` (canonical) is a column."""
        return name in self.index

    def column(self, name: str) -> np.ndarray:
        """``[n]`` contiguous view of the behaviour ``name`` (canonical name)."""
        return self.values[self.index[name]]

    def type_values(self, name: str) -> np.ndarray:
        """``[T]`` the cell types' values of ``name``."""
        return self.base[:, self.index[name]]

    def varies_within_type(self, name: str) -> bool:
        """Whether some layer after the cell type can change ``name``."""
        return bool(self.varies[self.index[name]])

    def columns(self, phase: str) -> list[int]:
        """The columns read in ``phase`` (``"motion"`` or ``"life"``)."""
        return [k for k, p in enumerate(self.phase) if p == phase]

    def fill(self, state: AgentState, phase: str, t_min: float) -> None:
        """Fill the columns of ``phase`` for every cell, layer by layer, at time ``t_min``."""
        n = state.cells.n
        cols = self.columns(phase)
        if self.values.shape != (len(self.names), n):
            # rows changed (births, deaths) without their values: every column is refilled
            # before it is read; this phase's now (the cell-type layer writes each), the
            # others 0 until their fill
            typed = bool(self.layers) and self.layers[0][0] == LAYERS[0]  # "cell type"
            self.resize(n, zero=[k for k, p in enumerate(self.phase)
                                 if p != phase or not typed])  # fmt: skip
        if not cols or not n:
            return
        for _, layer in self.layers:
            layer(state, self, cols, t_min)
