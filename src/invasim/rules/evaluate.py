"""Rules compiled to flat arrays, and the Numba kernel that applies them to every cell.

Contract:
    * :func:`compile_rules` turns a :class:`~invasim.rules.table.RuleTable` into
      :class:`CompiledRules`: per-rule arrays sorted by (cell type, behaviour, written order)
      and, per (cell type, behaviour) group, the two saturations and offsets into the rules.
    * :func:`apply_rules` (Numba, parallel over cells) implements PhysiCell's combination
      exactly (``Hypothesis_Rule::evaluate`` in ``core/PhysiCell_rules.cpp`` and
      ``multivariate_Hill_response_function`` in ``core/PhysiCell_basic_signaling.cpp``;
      Johnson et al., bioRxiv 2023 / Cell 2025). For one cell of type ``t`` and one behaviour
      ``b`` with base value ``b0 = base[t, b]``::

          U = S_up / (1 + S_up),      S_up   = sum over up rules   (s_j / h_j) ** n_j
          D = S_down / (1 + S_down),  S_down = sum over down rules (s_j / h_j) ** n_j
          b = b0 + (b_max - b0) * U
          b = b  + (b_min - b)  * D

      With one rule this is the Hill response ``H(s) = s^n / (h^n + s^n)``: the behaviour is
      halfway from ``b0`` to the saturation at ``s = h`` and tends to the saturation as ``s``
      grows. ``b_max`` is the up-rules' saturation and ``b_min`` the down-rules'; as in
      PhysiCell's v2/v3 parser, when a behaviour has rules in both directions,
      ``b_max = max(b_max, b0)`` and ``b_min = min(b_min, b0)``.
    * In a dead cell, a rule that does not apply to dead cells contributes 0 to its sum; if no
      rule of the group applies, the behaviour is left as it is in ``out`` (PhysiCell keeps the
      current value). Behaviours without rules are never written.
    * Differences from PhysiCell, only where PhysiCell returns NaN: a negative or NaN signal
      counts as 0 (PhysiCell: ``pow`` of a negative number), and ``S = inf`` gives a fraction
      of 1 (PhysiCell: ``inf / inf``).
    * Each cell is computed alone, in a fixed order: results are bit-identical whatever the
      number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from invasim.errors import ConfigError
from invasim.rules.table import Rule, RuleTable


def hill(s: np.ndarray | float, half_max: float, hill_power: float) -> np.ndarray:
    """Hill response ``s^n / (h^n + s^n)`` (0 at ``s <= 0``, 1/2 at ``s = h``, -> 1)."""
    with np.errstate(over="ignore", invalid="ignore"):
        x = (np.maximum(np.asarray(s, dtype=float), 0.0) / half_max) ** hill_power
        return np.where(np.isinf(x), 1.0, x / (1.0 + x))


@dataclass(frozen=True)
class CompiledRules:
    """Rules as flat arrays (``n_rules`` rules in ``n_groups`` (cell type, behaviour) groups).

    Attributes:
        n_types: number of cell types.
        n_signals: number of signal columns.
        n_behaviours: number of behaviour columns.
        rules: the rules in compiled order (sorted by cell type, behaviour, written order).
        rule_type: ``[n_rules] int64``, cell type index.
        rule_signal: ``[n_rules] int64``, signal column.
        rule_behaviour: ``[n_rules] int64``, behaviour column.
        rule_up: ``[n_rules] bool``, True for "increases".
        rule_saturation: ``[n_rules] float64``, behaviour's unit.
        rule_half_max: ``[n_rules] float64``, signal's unit.
        rule_hill_power: ``[n_rules] float64``.
        rule_applies_to_dead: ``[n_rules] bool``.
        group_behaviour: ``[n_groups] int64``, behaviour column of each group.
        group_has_up: ``[n_groups] bool``.
        group_has_down: ``[n_groups] bool``.
        group_sat_up: ``[n_groups] float64``, saturation of the up rules (NaN if none).
        group_sat_down: ``[n_groups] float64``, saturation of the down rules (NaN if none).
        group_ptr: ``[n_groups + 1] int64``, rules of group ``g`` are ``group_ptr[g]:[g+1]``.
        type_ptr: ``[n_types + 1] int64``, groups of type ``t`` are ``type_ptr[t]:[t+1]``.
        notes: remarks that are not errors (e.g. a saturation on the far side of the base).
    """

    n_types: int
    n_signals: int
    n_behaviours: int
    rules: tuple[Rule, ...]
    rule_type: np.ndarray
    rule_signal: np.ndarray
    rule_behaviour: np.ndarray
    rule_up: np.ndarray
    rule_saturation: np.ndarray
    rule_half_max: np.ndarray
    rule_hill_power: np.ndarray
    rule_applies_to_dead: np.ndarray
    group_behaviour: np.ndarray
    group_has_up: np.ndarray
    group_has_down: np.ndarray
    group_sat_up: np.ndarray
    group_sat_down: np.ndarray
    group_ptr: np.ndarray
    type_ptr: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def used_signals(self) -> np.ndarray:
        """Signal columns some rule reads (the others need not be computed)."""
        return np.unique(self.rule_signal)

    def kernel_args(self) -> tuple[np.ndarray, ...]:
        """The arrays :func:`apply_rules` takes after ``dead``, in order."""
        return (
            self.type_ptr,
            self.group_behaviour,
            self.group_has_up,
            self.group_has_down,
            self.group_sat_up,
            self.group_sat_down,
            self.group_ptr,
            self.rule_signal,
            self.rule_up,
            self.rule_half_max,
            self.rule_hill_power,
            self.rule_applies_to_dead,
        )


def _check_base(table: RuleTable, base: np.ndarray) -> list[str]:
    """Errors for base values PhysiCell would reject or silently override; notes otherwise."""
    d = table.dictionary
    notes: list[str] = []
    directions: dict[tuple[str, str], set[str]] = {}
    for rule in table.rules:
        directions.setdefault((rule.cell_type, rule.behaviour), set()).add(rule.direction)
    for rule in table.rules:
        b0 = float(base[d.cell_type(rule.cell_type), d.behaviour(rule.behaviour).index])
        if rule.base_value is not None and rule.base_value != b0:
            raise ConfigError(
                f"{rule.origin}: base value {rule.base_value:g} of {rule.behaviour!r} differs "
                f"from the cell type's {b0:g}; make them agree (PhysiCell stops here too)"
            )
        wrong = rule.saturation < b0 if rule.up else rule.saturation > b0
        if not wrong:
            continue
        if len(directions[(rule.cell_type, rule.behaviour)]) == 2:
            raise ConfigError(
                f"{rule.origin}: {rule.signal!r} {rule.direction} {rule.behaviour!r} of "
                f"{rule.cell_type!r} towards {rule.saturation:g}, the other side of its base "
                f"value {b0:g}; with rules in both directions PhysiCell silently clamps the "
                f"saturation to the base value and the rule does nothing"
            )
        notes.append(
            f"{rule.origin}: {rule.signal!r} {rule.direction} {rule.behaviour!r} towards "
            f"{rule.saturation:g}, the other side of the base value {b0:g}: the behaviour moves "
            f"{'down' if rule.up else 'up'} as the signal grows"
        )
    return notes


def compile_rules(table: RuleTable, base: np.ndarray | None = None) -> CompiledRules:
    """Flatten ``table`` for :func:`apply_rules`.

    Args:
        table: validated rules.
        base: ``[n_types, n_behaviours]`` base values, when known: then a v0/v1 base value
            that disagrees with it, or a saturation on the far side of it in a behaviour that
            has rules in both directions, is an error, and one-directional far-side
            saturations become notes.

    Raises:
        ConfigError: see ``base``.
    """
    d = table.dictionary
    n_types, n_beh = len(d.cell_types), d.n_behaviours
    notes = list(table.notes)
    if base is not None:
        base = np.asarray(base, dtype=float)
        if base.shape != (n_types, n_beh):
            raise ValueError(f"base has shape {base.shape}, expected {(n_types, n_beh)}")
        notes += _check_base(table, base)
    keyed = [
        (d.cell_type(r.cell_type), d.behaviour(r.behaviour).index, i, r)
        for i, r in enumerate(table.rules)
    ]
    keyed.sort(key=lambda k: k[:3])
    rules = tuple(k[3] for k in keyed)
    groups: list[tuple[int, int]] = []
    group_ptr = [0]
    for j, (t, b, _, _) in enumerate(keyed):
        if not groups or groups[-1] != (t, b):
            if groups:
                group_ptr.append(j)
            groups.append((t, b))
    if groups:
        group_ptr.append(len(keyed))
    n_groups = len(groups)
    has_up = np.zeros(n_groups, bool)
    has_down = np.zeros(n_groups, bool)
    sat_up = np.full(n_groups, np.nan)
    sat_down = np.full(n_groups, np.nan)
    for g in range(n_groups):
        for r in rules[group_ptr[g] : group_ptr[g + 1]]:
            if r.up:
                has_up[g], sat_up[g] = True, r.saturation
            else:
                has_down[g], sat_down[g] = True, r.saturation
    group_types = np.array([t for t, _ in groups], dtype=np.int64)
    type_ptr = np.searchsorted(group_types, np.arange(n_types + 1)).astype(np.int64)
    return CompiledRules(
        n_types=n_types,
        n_signals=d.n_signals,
        n_behaviours=n_beh,
        rules=rules,
        rule_type=np.array([k[0] for k in keyed], dtype=np.int64),
        rule_signal=np.array([d.signal(r.signal).index for r in rules], dtype=np.int64),
        rule_behaviour=np.array([k[1] for k in keyed], dtype=np.int64),
        rule_up=np.array([r.up for r in rules], dtype=bool),
        rule_saturation=np.array([r.saturation for r in rules], dtype=float),
        rule_half_max=np.array([r.half_max for r in rules], dtype=float),
        rule_hill_power=np.array([r.hill_power for r in rules], dtype=float),
        rule_applies_to_dead=np.array([r.applies_to_dead for r in rules], dtype=bool),
        group_behaviour=np.array([b for _, b in groups], dtype=np.int64),
        group_has_up=has_up,
        group_has_down=has_down,
        group_sat_up=sat_up,
        group_sat_down=sat_down,
        group_ptr=np.array(group_ptr, dtype=np.int64),
        type_ptr=type_ptr,
        notes=tuple(notes),
    )


@numba.njit(cache=True, inline="always")
def _fraction(total: float) -> float:
    """``S / (1 + S)``, 1 when ``S`` overflowed."""
    if total == np.inf:
        return 1.0
    return total / (1.0 + total)


@numba.njit(parallel=True, cache=True)
def apply_rules(
    signals,
    base,
    cell_type,
    dead,
    type_ptr,
    group_behaviour,
    group_has_up,
    group_has_down,
    group_sat_up,
    group_sat_down,
    group_ptr,
    rule_signal,
    rule_up,
    rule_half_max,
    rule_hill_power,
    rule_applies_to_dead,
    out,
):  # pragma: no cover - compiled
    """Write every rule-governed behaviour of every cell into ``out``, in place.

    Args:
        signals: ``[n_cells, n_signals] float64``, each signal in its dictionary unit.
        base: ``[n_types, n_behaviours] float64``, the cell types' base values.
        cell_type: ``[n_cells] int``, type index of each cell.
        dead: ``[n_cells] bool``.
        type_ptr: and the following arrays: see :meth:`CompiledRules.kernel_args`.
        group_behaviour: see :class:`CompiledRules`.
        group_has_up: see :class:`CompiledRules`.
        group_has_down: see :class:`CompiledRules`.
        group_sat_up: see :class:`CompiledRules`.
        group_sat_down: see :class:`CompiledRules`.
        group_ptr: see :class:`CompiledRules`.
        rule_signal: see :class:`CompiledRules`.
        rule_up: see :class:`CompiledRules`.
        rule_half_max: see :class:`CompiledRules`.
        rule_hill_power: see :class:`CompiledRules`.
        rule_applies_to_dead: see :class:`CompiledRules`.
        out: ``[n_cells, n_behaviours] float64``, current behaviours; governed entries are
            overwritten (see the module contract), the rest are left alone.
    """
    for i in numba.prange(cell_type.shape[0]):
        t = cell_type[i]
        is_dead = dead[i]
        for g in range(type_ptr[t], type_ptr[t + 1]):
            s_up = 0.0
            s_down = 0.0
            applies = False
            for r in range(group_ptr[g], group_ptr[g + 1]):
                if is_dead and not rule_applies_to_dead[r]:
                    continue
                applies = True
                s = signals[i, rule_signal[r]]
                if s > 0.0:
                    x = (s / rule_half_max[r]) ** rule_hill_power[r]
                    if rule_up[r]:
                        s_up += x
                    else:
                        s_down += x
            if not applies:
                continue
            b = group_behaviour[g]
            b0 = base[t, b]
            value = b0
            if group_has_up[g]:
                hi = group_sat_up[g]
                if group_has_down[g] and b0 > hi:
                    hi = b0
                value = b0 + (hi - b0) * _fraction(s_up)
            if group_has_down[g]:
                lo = group_sat_down[g]
                if group_has_up[g] and b0 < lo:
                    lo = b0
                value = value + (lo - value) * _fraction(s_down)
            out[i, b] = value


def evaluate_rules(
    compiled: CompiledRules,
    signals: np.ndarray,
    base: np.ndarray,
    cell_type: np.ndarray,
    dead: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Checked wrapper of :func:`apply_rules`; ``out`` defaults to ``base[cell_type]``.

    Returns:
        ``out``, ``[n_cells, n_behaviours] float64``.
    """
    n = len(cell_type)
    signals = np.ascontiguousarray(signals, dtype=np.float64)
    base = np.ascontiguousarray(base, dtype=np.float64)
    cell_type = np.ascontiguousarray(cell_type, dtype=np.int64)
    dead = np.ascontiguousarray(dead, dtype=bool)
    if signals.shape != (n, compiled.n_signals):
        raise ValueError(f"signals has shape {signals.shape}, expected {(n, compiled.n_signals)}")
    if base.shape != (compiled.n_types, compiled.n_behaviours):
        raise ValueError(
            f"base has shape {base.shape}, expected {(compiled.n_types, compiled.n_behaviours)}"
        )
    if dead.shape != (n,):
        raise ValueError(f"dead has shape {dead.shape}, expected {(n,)}")
    if n and (cell_type.min() < 0 or cell_type.max() >= compiled.n_types):
        raise ValueError(f"cell_type outside 0..{compiled.n_types - 1}")
    if out is None:
        out = base[cell_type].copy()
    elif out.shape != (n, compiled.n_behaviours) or out.dtype != np.float64:
        raise ValueError(f"out must be float64 of shape {(n, compiled.n_behaviours)}")
    apply_rules(signals, base, cell_type, dead, *compiled.kernel_args(), out)
    return out
