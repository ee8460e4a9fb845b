"""The layers of the behaviour matrix, built for a scenario's processes and schedule.

Contract (see :mod:`invasim.agents.behaviours` for the order): :func:`build_behaviours` makes
the matrix's columns (the behaviours the listed processes read), each column's phase (read
before or after the phenotype fill), the per-type values, which columns can vary within a type
(written by a trait, an internal model, a rule or an intervention), and the layer functions:

1. cell type: the type's values, then the processes' environment-dependent defaults
   (:meth:`~invasim.agents.process.Process.type_behaviours`);
2. traits: ``[params.traits.<name>] scales = [...]`` multiply those behaviours by the trait,
   ``sets = [...]`` set them to it (in the cell types ``cell_types`` names; every type when
   empty), in the order the traits are declared;
3. internal models: :meth:`~invasim.agents.process.Process.internal_behaviours` of the
   processes that declare ``writes``;
4. rules (:func:`~invasim.agents.signals.rules_layer`);
5. interventions (:func:`~invasim.agents.interventions.behaviour_layer`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from invasim.agents import interventions as iv
from invasim.agents.behaviours import Behaviours
from invasim.agents.params import behaviour_table, dictionary
from invasim.agents.process import SENSE_BEFORE, Process
from invasim.agents.signals import rules_layer

#: cells per chunk of the parallel cell-type gather
_CHUNK = 4096


@njit(parallel=True, cache=True)
def _gather_type_values(values, base, ctype, cols):  # pragma: no cover - compiled
    """``values[k, i] = base[ctype[i], k]`` for the columns ``cols`` (a copy: same bits).

    Chunks of cells in parallel, each chunk column by column (contiguous writes); one
    parallel region instead of a fancy-indexed temporary per column.
    """
    n = ctype.shape[0]
    for ch in prange((n + _CHUNK - 1) // _CHUNK):
        lo = ch * _CHUNK
        hi = min(lo + _CHUNK, n)
        for kk in range(cols.shape[0]):
            k = cols[kk]
            for i in range(lo, hi):
                values[k, i] = base[ctype[i], k]


def build_behaviours(p: Any, processes: list[Process], type_names: list[str]) -> Behaviours:
    """The behaviour matrix of scenario params ``p`` run by ``processes``."""
    entries, base = behaviour_table(p, dictionary(p))
    phase_of = {}
    for q in processes:  # life: read after the phenotype fill; motion: before it
        acts = q.clock == "phenotype" and q.order >= SENSE_BEFORE
        for template in q.behaviours:
            phase_of[template] = "life" if acts else "motion"
    cols = [e.index for e in entries]
    rs = p.rule_set
    types = list(type_names)
    # (trait, behaviour, sets it (else scales), the type indices it acts in: [] every type)
    scaled = [(name, b, sets, [types.index(t) for t in tr.cell_types if t in types])
              for sets in (False, True) for name, tr in p.traits.items()
              for b in (tr.sets if sets else tr.scales)]  # fmt: skip
    internal = [q for q in processes if q.writes]
    written = {q.name: {e.name for e in entries if e.template in q.writes or e.name in q.writes}
               for q in internal}  # fmt: skip
    # a column varies within a type where a layer after the cell type can write it
    changed = iv.changed_behaviours(p.interventions, {e.name for e in entries})
    changed |= {x[1] for x in scaled} | {n for w in written.values() for n in w}
    varies = np.array([e.name in changed for e in entries], dtype=bool)
    if rs is not None:
        varies |= rs.governed[:, cols].any(axis=0)
    writers = {e.template: q for q in processes for e in entries
               if e.template in q.behaviours}  # fmt: skip
    beh = Behaviours(
        names=[e.name for e in entries],
        units=[e.unit for e in entries],
        base=np.ascontiguousarray(base[:, cols]),
        phase=[phase_of[e.template] for e in entries],
        varies=varies,
    )
    env = [q for q in processes if type(q).type_behaviours is not Process.type_behaviours]

    def cell_type_layer(state, b, columns, t_min):
        _gather_type_values(b.values, b.base, state.cells.type,
                            np.asarray(columns, dtype=np.int64))
        wanted = {b.names[k] for k in columns}
        for q in env:
            if any(e.name in wanted and writers.get(e.template) is q for e in entries):
                q.type_behaviours(state, b)

    beh.layers.append(("cell type", cell_type_layer))
    if scaled:

        def trait_layer(state, b, columns, t_min):
            wanted = {b.names[k] for k in columns}
            c = state.cells
            for name, behaviour, sets, only in scaled:
                if behaviour not in wanted:
                    continue
                col, value = b.column(behaviour), c.trait(name)
                if sets:  # NaN: no value for this cell (a blank in the cells table)
                    mask = np.isfinite(value)
                    if only:  # the trait acts in these types only
                        mask &= np.isin(c.type, only)
                    col[mask] = value[mask]
                elif only:
                    mask = np.isin(c.type, only)
                    col[mask] *= value[mask]
                else:
                    col[:] *= value

        beh.layers.append(("traits", trait_layer))
    if internal:

        def internal_layer(state, b, columns, t_min):
            wanted = {b.names[k] for k in columns}
            for q in internal:
                if written[q.name] & wanted:
                    q.internal_behaviours(state, b)

        beh.layers.append(("internal models", internal_layer))
    if rs is not None:
        blockade = (iv.signal_blockade(p.interventions, p.fields, type_names)
                    if iv.blocks_signals(p.interventions, p.fields) else None)  # fmt: skip
        beh.layers.append(("rules", rules_layer(rs, [e.index for e in entries], processes,
                                                blockade)))  # fmt: skip
    if iv.changes_behaviours(p.interventions):
        live = [k for k, ct in enumerate(p.cell_types.values())
                if getattr(getattr(ct, "cycle", None), "model", None) == "live"]  # fmt: skip
        beh.layers.append(("interventions", iv.behaviour_layer(p.interventions, type_names,
                                                                live)))  # fmt: skip
    return beh
