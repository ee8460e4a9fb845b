"""Behaviour rules as a table: parsing, validation, conflicts, and the rules in words.

Contract:
    * One rule per line, in PhysiCell's grammar (Johnson et al., "Digitize your biology",
      bioRxiv 2023, doi:10.1101/2023.09.17.557982; Cell 2025, doi:10.1016/j.cell.2025.06.048)::

          cell type, signal, increases|decreases, behaviour, saturation, half-max,
          Hill power, applies to dead cells

      From the scenario TOML (``[[rules]]`` tables with keys ``cell_type, signal, direction,
      behaviour, saturation, half_max, hill_power, applies_to_dead``; the last is optional,
      default false) or from a CSV file in PhysiCell's format: 8 fields (v2/v3), 9 (v1: a base
      value before the saturation) or 10 (v0: ``cell type, behaviour, min, base, max, signal,
      direction, half-max, Hill power, dead``); comma- or tab-separated; lines starting with
      ``//`` and blank lines are skipped.
    * Names resolve through a :class:`~invasim.rules.dictionary.RuleDictionary` at parse time;
      every rule keeps canonical names. Every problem raises
      :class:`~invasim.errors.ConfigError` with one line naming the rule's origin (file and
      line, or ``rules[i]``), the value and what is allowed; unlike PhysiCell, no line is ever
      skipped silently.
    * Conflicts are errors (PhysiCell exits on the first and silently resolves the others):
      two rules with the same cell type, signal and behaviour (in either direction); two rules
      with the same cell type, behaviour and direction but different saturations (PhysiCell
      keeps the largest up- and the smallest down-saturation without a word).
    * Checks that need the cell types' base values live in
      :func:`invasim.rules.evaluate.compile_rules`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invasim.errors import ConfigError
from invasim.rules.dictionary import RuleDictionary, normalise

UP_WORDS = ("increases", "increase", "promotes", "up")
DOWN_WORDS = ("decreases", "decrease", "inhibits", "down")
_TRUE = ("1", "true", "t", "yes", "1.0")
_FALSE = ("0", "false", "f", "no", "0.0")
RULE_KEYS = (
    "cell_type",
    "signal",
    "direction",
    "behaviour",
    "saturation",
    "half_max",
    "hill_power",
    "applies_to_dead",
)
_OPTIONAL_KEYS = ("applies_to_dead", "base_value")
_UNITLESS = ("dimensionless", "0 or 1")


@dataclass(frozen=True)
class Rule:
    """One validated rule, with canonical names.

    Attributes:
        cell_type: canonical cell type name.
        signal: canonical signal name.
        direction: ``"increases"`` or ``"decreases"``.
        behaviour: canonical behaviour name.
        saturation: value the behaviour tends to as the signal grows (behaviour's unit).
        half_max: signal value of half the effect (signal's unit), > 0.
        hill_power: Hill exponent, > 0.
        applies_to_dead: whether the rule also acts in dead cells.
        origin: where it was written, e.g. ``"cell_rules.csv line 4"`` or ``"rules[2]"``.
        base_value: the base value written in a v0/v1 CSV line (checked against the cell
            type at compile time), else ``None``.
    """

    cell_type: str
    signal: str
    direction: str
    behaviour: str
    saturation: float
    half_max: float
    hill_power: float
    applies_to_dead: bool = False
    origin: str = ""
    base_value: float | None = None

    @property
    def up(self) -> bool:
        """True if the signal increases the behaviour."""
        return self.direction == "increases"


@dataclass(frozen=True)
class RuleTable:
    """Validated, conflict-free rules over one dictionary.

    Attributes:
        rules: the rules, in the order written.
        dictionary: the dictionary their names come from.
        notes: remarks that are not errors (e.g. a rule that can never fire).
    """

    rules: tuple[Rule, ...]
    dictionary: RuleDictionary
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self):
        return iter(self.rules)


# -- building rules ----------------------------------------------------------------------------
def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}{key} = {value!r}: expected a number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}{key} = {value!r}: expected a number") from None
    if not math.isfinite(out):
        raise ConfigError(f"{where}{key} = {value!r}: expected a finite number")
    return out


def _direction(value: Any, where: str) -> str:
    word = normalise(str(value))
    if word in UP_WORDS:
        return "increases"
    if word in DOWN_WORDS:
        return "decreases"
    raise ConfigError(f"{where}direction = {value!r}: expected 'increases' or 'decreases'")


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    word = normalise(str(value))
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfigError(f"{where}applies_to_dead = {value!r}: expected 0/1 or true/false")


def make_rule(
    dictionary: RuleDictionary,
    cell_type: str,
    signal: str,
    direction: str,
    behaviour: str,
    saturation: Any,
    half_max: Any,
    hill_power: Any,
    applies_to_dead: Any = False,
    origin: str = "",
    base_value: Any = None,
) -> Rule:
    """Validate one rule's fields and resolve its names (see :class:`Rule`).

    Raises:
        ConfigError: unknown name (with the nearest known one), a non-number, half-max or Hill
            power <= 0, or a saturation outside the behaviour's allowed interval.
    """
    where = f"{origin}: " if origin else ""
    type_index = dictionary.cell_type(str(cell_type), where)
    sig = dictionary.signal(str(signal), where)
    beh = dictionary.behaviour(str(behaviour), where)
    sat = _number(saturation, "saturation", where)
    hm = _number(half_max, "half_max", where)
    hp = _number(hill_power, "hill_power", where)
    if hm <= 0.0:
        raise ConfigError(f"{where}half_max = {half_max!r}: must be > 0 ({sig.unit})")
    if hp <= 0.0:
        raise ConfigError(f"{where}hill_power = {hill_power!r}: must be > 0")
    if not beh.lower <= sat <= beh.upper:
        raise ConfigError(
            f"{where}saturation = {saturation!r}: {beh.name} must lie in "
            f"[{beh.lower:g}, {beh.upper:g}] {beh.unit}"
        )
    base = None if base_value is None else _number(base_value, "base value", where)
    return Rule(
        cell_type=dictionary.cell_types[type_index],
        signal=sig.name,
        direction=_direction(direction, where),
        behaviour=beh.name,
        saturation=sat,
        half_max=hm,
        hill_power=hp,
        applies_to_dead=_flag(applies_to_dead, where),
        origin=origin,
        base_value=base,
    )


def check_conflicts(rules: Sequence[Rule]) -> None:
    """Raise :class:`ConfigError` naming both rules of the first conflict (see module doc)."""
    by_signal: dict[tuple[str, str, str], Rule] = {}
    by_direction: dict[tuple[str, str, str], Rule] = {}
    for rule in rules:
        key = (rule.cell_type, rule.signal, rule.behaviour)
        first = by_signal.get(key)
        if first is not None:
            how = "again" if first.direction == rule.direction else "in the other direction"
            raise ConfigError(
                f"{rule.origin}: conflicts with {first.origin}: {rule.signal!r} "
                f"{rule.direction} {rule.behaviour!r} of {rule.cell_type!r} {how}; "
                f"keep one rule per cell type, signal and behaviour"
            )
        by_signal[key] = rule
        key = (rule.cell_type, rule.behaviour, rule.direction)
        first = by_direction.get(key)
        if first is not None and first.saturation != rule.saturation:
            raise ConfigError(
                f"{rule.origin}: conflicts with {first.origin}: both {rule.direction[:-1]} "
                f"{rule.behaviour!r} of {rule.cell_type!r} but saturate at "
                f"{rule.saturation:g} and {first.saturation:g}; rules that push one behaviour "
                f"the same way share one saturation (PhysiCell would silently keep the "
                f"{'largest' if rule.up else 'smallest'})"
            )
        by_direction.setdefault(key, rule)


def _notes(rules: Sequence[Rule]) -> tuple[str, ...]:
    notes = []
    for rule in rules:
        if rule.signal in ("dead", "apoptotic", "necrotic") and not rule.applies_to_dead:
            notes.append(
                f"{rule.origin}: signal {rule.signal!r} is 0 in every live cell and the rule "
                f"does not apply to dead cells, so it never changes {rule.behaviour!r}"
            )
    return tuple(notes)


def make_table(rules: Sequence[Rule], dictionary: RuleDictionary) -> RuleTable:
    """Check ``rules`` for conflicts and wrap them in a :class:`RuleTable`."""
    check_conflicts(rules)
    return RuleTable(tuple(rules), dictionary, _notes(rules))


def parse_rules(
    entries: Sequence[Mapping[str, Any]], dictionary: RuleDictionary, origin: str = "rules"
) -> RuleTable:
    """Rules from the scenario's ``[[rules]]`` tables (keys: :data:`RULE_KEYS`).

    Raises:
        ConfigError: an unknown or missing key, or any problem :func:`make_rule` and
            :func:`check_conflicts` report.
    """
    rules = []
    for i, entry in enumerate(entries):
        where = f"{origin}[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a table with keys {', '.join(RULE_KEYS)}")
        for key in entry:
            if key not in RULE_KEYS and key != "base_value":
                hint = difflib.get_close_matches(str(key), RULE_KEYS, n=1)
                did = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ConfigError(
                    f"{where}: unknown key {key!r}{did}; allowed: {', '.join(RULE_KEYS)}"
                )
        for key in RULE_KEYS:
            if key not in entry and key not in _OPTIONAL_KEYS:
                raise ConfigError(f"{where}: missing required key {key!r}")
        rules.append(make_rule(dictionary, **{**entry, "origin": where}))
    return make_table(rules, dictionary)


def _csv_fields(fields: list[str], dictionary: RuleDictionary, where: str) -> Rule:
    n = len(fields)
    if n == 8:  # v2/v3
        ct, sig, dirn, beh, sat, hm, hp, dead = fields
        return make_rule(dictionary, ct, sig, dirn, beh, sat, hm, hp, dead, where)
    if n == 9:  # v1: base value before the saturation
        ct, sig, dirn, beh, base, sat, hm, hp, dead = fields
        return make_rule(dictionary, ct, sig, dirn, beh, sat, hm, hp, dead, where, base)
    if n == 10:  # v0: min, base, max; the saturation is max (increases) or min (decreases)
        ct, beh, lo, base, hi, sig, dirn, hm, hp, dead = fields
        sat = hi if _direction(dirn, f"{where}: ") == "increases" else lo
        return make_rule(dictionary, ct, sig, dirn, beh, sat, hm, hp, dead, where, base)
    raise ConfigError(
        f"{where}: {n} fields; a rule has 8 (cell type, signal, direction, behaviour, "
        f"saturation, half-max, Hill power, applies to dead), or 9/10 in PhysiCell's v1/v0 form"
    )


def parse_rules_csv(text: str, dictionary: RuleDictionary, origin: str = "rules CSV") -> RuleTable:
    """Rules from the text of a PhysiCell-style ``cell_rules.csv`` (see module doc)."""
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        fields = [f.strip() for f in stripped.split(",")]
        if len(fields) not in (8, 9, 10) and "\t" in stripped:
            fields = [f.strip() for f in stripped.split("\t")]
        if not rules and normalise(fields[0]) in ("cell type", "cell_type", "celltype"):
            continue  # a header row
        where = f"{origin} line {number}"
        if any(not f for f in fields):
            raise ConfigError(f"{where}: empty field in {stripped!r}")
        rules.append(_csv_fields(fields, dictionary, where))
    return make_table(rules, dictionary)


def load_rules_csv(path: str | Path, dictionary: RuleDictionary) -> RuleTable:
    """Rules from a PhysiCell-style ``cell_rules.csv`` file (see module doc)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise ConfigError(f"cannot read rules file {str(path)!r}: {reason}") from None
    return parse_rules_csv(text, dictionary, origin=path.name)


def load_rules(
    source: Sequence[Mapping[str, Any]] | str | Path,
    dictionary: RuleDictionary,
    base_dir: str | Path | None = None,
) -> RuleTable:
    """Rules from the scenario: a list of ``[[rules]]`` tables, or a CSV path.

    A relative CSV path is taken relative to ``base_dir`` (the scenario file's folder).
    """
    if isinstance(source, str | Path):
        path = Path(source)
        if base_dir is not None and not path.is_absolute():
            path = Path(base_dir) / path
        return load_rules_csv(path, dictionary)
    return parse_rules(source, dictionary)


# -- in words and pictures ---------------------------------------------------------------------
def _base_of(base: Any, rule: Rule, dictionary: RuleDictionary) -> float | None:
    if base is None:
        return rule.base_value
    if isinstance(base, Mapping):
        value = base.get(rule.cell_type, {})
        return value.get(rule.behaviour) if isinstance(value, Mapping) else None
    arr = np.asarray(base, dtype=float)
    t = dictionary.cell_type(rule.cell_type)
    return float(arr[t, dictionary.behaviour(rule.behaviour).index])


def describe(table: RuleTable, base: Any = None) -> list[str]:
    """Each rule in words, PhysiCell's way, with units.

    Args:
        table: the rules.
        base: base values, ``[n_types, n_behaviours]`` or ``{cell type: {behaviour: value}}``;
            without them a rule reads "from its base value" (or the v0/v1 value written).

    Returns:
        One sentence per rule, e.g. "In tumour cells, oxygen decreases necrosis from 0.001
        towards 0 1/min with half-max 3.75 mmHg and Hill power 8."
    """
    d = table.dictionary
    lines = []
    for rule in table.rules:
        b_unit = d.behaviour(rule.behaviour).unit
        s_unit = d.signal(rule.signal).unit
        b0 = _base_of(base, rule, d)
        start = "from its base value" if b0 is None else f"from {b0:g}"
        unit = "" if b_unit in _UNITLESS else f" {b_unit}"
        s_text = "" if s_unit in _UNITLESS else f" {s_unit}"
        text = (
            f"In {rule.cell_type} cells, {rule.signal} {rule.direction} {rule.behaviour} "
            f"{start} towards {rule.saturation:g}{unit} with half-max {rule.half_max:g}{s_text} "
            f"and Hill power {rule.hill_power:g}."
        )
        if rule.applies_to_dead:
            text += " Applies to dead cells too."
        lines.append(text)
    return lines
