"""Signals: what each cell senses, computed for the behaviour rules, and the rules layer.

Contract:
    * The engine computes the core signals (:data:`~invasim.agents.params.CORE_SIGNALS`): a
      field's value and gradient norm at the cell's voxel, the cell's volume, whether it is
      dead, apoptotic or necrotic, the time, and the window's count of live cells of each
      type (``live <type> count``, the same for every cell). A drug that blocks a field's
      sensing scales that field's value and gradient for the cells it acts on. Every other
      signal comes from the process that declares it
      (:attr:`~invasim.agents.process.Process.signals`,
      :meth:`~invasim.agents.process.Process.signal_values`), e.g. pressure and contacts.
    * Only the signals some rule reads are computed.
    * :func:`rules_layer` is layer 4 of the behaviour matrix (the rules kernel on compact
      matrices: the read signals and the governed behaviours): the rules' values replace the
      behaviours they govern, in the cell types they govern; a dead cell keeps the earlier
      layers' value where no rule of its group applies to dead cells (PhysiCell).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from invasim.core.cells import APOPTOTIC, NECROTIC
from invasim.rules.evaluate import apply_rules


def signal_matrix(state: Any, rule_set: Any, providers: dict[str, Any], t_min: float,
                  blockade=None):  # fmt: skip
    """``[n, n_used]`` the signals the rules read, per cell (``compiled.used_signals`` order).

    ``blockade(state, field)``: a ``[n]`` factor on a field's value and gradient (drugs that
    block its sensing), or None.
    """
    d = rule_set.dictionary
    c = state.cells
    used = rule_set.compiled.used_signals
    out = np.zeros((c.n, len(used)))
    for col, dict_col in enumerate(used):
        entry = d.signals[int(dict_col)]
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
    # the kernel on compact matrices: the read signals' columns and the governed behaviours'
    # (the dictionary has a column per behaviour and cell type: most are never governed)
    cr = rule_set.compiled
    gov = np.flatnonzero(governed)
    to_compact = np.full(governed.shape[0], -1, dtype=np.int64)
    to_compact[gov] = np.arange(gov.size)
    sig_compact = np.full(max(cr.n_signals, 1), -1, dtype=np.int64)
    sig_compact[np.asarray(cr.used_signals, dtype=np.int64)] = np.arange(len(cr.used_signals))
    args = list(cr.kernel_args())
    args[1] = to_compact[np.asarray(cr.group_behaviour, dtype=np.int64)]  # group -> behaviour
    args[7] = sig_compact[np.asarray(cr.rule_signal, dtype=np.int64)]  # rule -> signal
    base_c = np.ascontiguousarray(rule_set.base[:, gov], dtype=np.float64)
    row_of = {dict_columns[k]: k for k in range(len(dict_columns))}

    def layer(state, beh, columns, t_min: float) -> None:
        used = [k for k in columns if governed[dict_columns[k]]]
        if not used:
            return
        c = state.cells
        signals = signal_matrix(state, rule_set, providers, t_min, blockade)
        ctype = np.ascontiguousarray(c.type, dtype=np.int64)
        out = base_c[ctype]
        wanted = set(columns)
        for j, dcol in enumerate(gov):  # the earlier layers' values where no rule applies
            k = row_of.get(int(dcol))
            if k is not None and k in wanted:
                out[:, j] = beh.values[k]
        apply_rules(signals, base_c, ctype, np.ascontiguousarray(c.dead != 0), *args, out)
        for k in used:
            beh.values[k] = out[:, to_compact[dict_columns[k]]]

    return layer
