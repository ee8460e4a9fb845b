"""Signals: what each cell senses, computed for the behaviour rules, and the rules layer.

Contract:
    * The engine computes the core signals (:data:`~invasim.agents.params.CORE_SIGNALS`): a
      field's value and gradient norm at the cell's voxel, the cell's volume, whether it is
      dead, apoptotic or necrotic, the time, and the window's count of live cells of each
      type (``live <type> count``, the same for every cell) (a drug that blocks a field's sensing scales
      that field's value and gradient for the cells it acts on). Every other signal comes from
      the process that declares it (:attr:`~invasim.agents.process.Process.signals`,
      :meth:`~invasim.agents.process.Process.signal_values`), e.g. pressure and contacts.
    * Only the signals some rule reads are computed.
    * :func:`rules_layer` is layer 4 of the behaviour matrix: the rules' values replace the
      behaviours they govern, in the cell types they govern; a dead cell keeps the earlier
      layers' value where no rule of its group applies to dead cells (PhysiCell).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from invasim.core.cells import APOPTOTIC, NECROTIC
from invasim.rules import evaluate_rules


def signal_matrix(state: Any, rule_set: Any, providers: dict[str, Any], t_min: float,
                  blockade=None):  # fmt: skip
    """``[n, n_signals]`` the signals the rules read, per cell (other columns 0).

    ``blockade(state, field)``: a ``[n]`` factor on a field's value and gradient (drugs that
    block its sensing), or None.
    """
    d = rule_set.dictionary
    c = state.cells
    out = np.zeros((c.n, d.n_signals))
    for col in rule_set.compiled.used_signals:
        entry = d.signals[int(col)]
        kind = entry.template
        if kind == "{substrate}":
            out[:, col] = state.field_at_cells(entry.target)
        elif kind == "{substrate} gradient":
            g = state.gradient_at_cells(entry.target)
            out[:, col] = np.sqrt(np.einsum("ij,ij->i", g, g))
        elif kind == "volume":
            out[:, col] = c.volume
        elif kind == "dead":
            out[:, col] = c.dead != 0
        elif kind == "apoptotic":
            out[:, col] = c.dead == APOPTOTIC
        elif kind == "necrotic":
            out[:, col] = c.dead == NECROTIC
        elif kind == "time":
            out[:, col] = t_min
        elif kind == "live {cell_type} count":
            t = state.type_names.index(entry.target)
            out[:, col] = np.count_nonzero((c.type == t) & (c.dead == 0))
        else:
            out[:, col] = providers[kind].signal_values(state, kind, entry.target)
        if blockade is not None and kind in ("{substrate}", "{substrate} gradient"):
            factor = blockade(state, entry.target)
            if factor is not None:
                out[:, col] *= factor
    return out


def rules_layer(rule_set: Any, dict_columns: list[int], processes: list[Any], blockade=None):
    """The rules layer of a behaviour matrix.

    Column ``k`` of the matrix is dictionary column ``dict_columns[k]``; ``processes`` provide
    the non-core signals; ``blockade``: see :func:`signal_matrix` (drugs blocking a field's
    sensing).
    """
    providers = {s: q for q in processes for s in q.signals}
    governed = rule_set.governed.any(axis=0)

    def layer(state, beh, columns, t_min: float) -> None:
        used = [k for k in columns if governed[dict_columns[k]]]
        if not used:
            return
        c = state.cells
        signals = signal_matrix(state, rule_set, providers, t_min, blockade)
        out = rule_set.base[c.type]
        for k in columns:
            out[:, dict_columns[k]] = beh.values[k]
        out = evaluate_rules(rule_set.compiled, signals, rule_set.base, c.type, c.dead != 0,
                             out=out)  # fmt: skip
        for k in used:
            beh.values[k] = out[:, dict_columns[k]]

    return layer
