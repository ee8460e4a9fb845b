"""Behaviour rules: simple signal -> behaviour hypotheses over a closed dictionary of names.

A rule reads as PhysiCell's grammar (Johnson et al., Cell 2025): "in tumour cells, oxygen
decreases necrosis towards 0 with half-max 3.75 mmHg and Hill power 8". See ``docs/rules.md``.

* :mod:`~invasim.rules.dictionary`: the signals and behaviours rules may name.
* :mod:`~invasim.rules.table`: parsing (TOML tables, PhysiCell's ``cell_rules.csv``),
  validation, conflicts, :func:`describe`.
* :mod:`~invasim.rules.response`: :func:`plot_response`, one rule's response curve.
* :mod:`~invasim.rules.evaluate`: compiled arrays and the Numba kernel :func:`apply_rules`.
* :mod:`~invasim.rules.distributions`: per-cell parameters drawn from distributions.
"""

from __future__ import annotations

from invasim.rules.dictionary import (
    Entry,
    RuleDictionary,
    register_behaviour,
    register_signal,
)
from invasim.rules.evaluate import (
    CompiledRules,
    apply_rules,
    compile_rules,
    evaluate_rules,
    hill,
)
from invasim.rules.response import plot_response
from invasim.rules.table import (
    Rule,
    RuleTable,
    describe,
    load_rules,
    load_rules_csv,
    make_rule,
    parse_rules,
    parse_rules_csv,
)

__all__ = [
    "CompiledRules",
    "Entry",
    "Rule",
    "RuleDictionary",
    "RuleTable",
    "apply_rules",
    "compile_rules",
    "describe",
    "evaluate_rules",
    "hill",
    "load_rules",
    "load_rules_csv",
    "make_rule",
    "parse_rules",
    "parse_rules_csv",
    "plot_response",
    "register_behaviour",
    "register_signal",
]
