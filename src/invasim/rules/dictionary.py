"""The closed dictionary of signals and behaviours that behaviour rules may name.

Contract:
    * :class:`RuleDictionary` is built for one scenario, from its substrate names (with units)
      and cell type names. Templates such as ``"{substrate} gradient"`` or
      ``"contact with {cell_type}"`` are expanded once per substrate or cell type; each entry
      has a canonical name, a unit, a description, the interval its values may take, synonyms
      (PhysiCell's spellings among them) and an index (its column in the signal or behaviour
      arrays of :mod:`invasim.rules.evaluate`). Indices follow registration order.
    * Look-ups (:meth:`RuleDictionary.signal`, :meth:`RuleDictionary.behaviour`,
      :meth:`RuleDictionary.cell_type`) ignore case and runs of white space, resolve synonyms to
      the canonical entry, and raise :class:`~invasim.errors.ConfigError` with one line naming
      the unknown name, the nearest known one and where the dictionary is listed.
    * Names follow PhysiCell's signal and behaviour dictionary
      (``core/PhysiCell_signal_behavior.cpp``, ``setup_signal_behavior_dictionaries``) wherever
      invasim models the same thing; what invasim does not model yet (internalised substrates,
      ...) is left out, so a rule naming it fails loudly instead of doing nothing. Processes
      add their entries with :func:`register_signal` and :func:`register_behaviour` when
      they are imported (damage, attack, phagocytosis, fusion, transformation, custom data,
      dead contacts ...; docs/rules.md lists them all beside PhysiCell's names).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from invasim.errors import ConfigError

#: where the dictionary is documented, quoted in every "unknown name" error
DOCS = "docs/rules.md"
#: what ``{unit}`` expands to when a substrate is given without a unit
DEFAULT_SUBSTRATE_UNIT = "substrate units"
_OVER = (None, "substrate", "cell_type", "custom")


def normalise(name: str) -> str:
    """The look-up key of a name: lower case, runs of white space collapsed to one space."""
    return " ".join(str(name).lower().split())


@dataclass(frozen=True)
class Template:
    """A registered signal or behaviour, possibly expanded per substrate or cell type.

    Attributes:
        name: canonical name; may contain ``{substrate}`` or ``{cell_type}``.
        unit: unit of its values; ``{unit}`` stands for the substrate's unit.
        description: one sentence, shown in docs and ``describe``.
        synonyms: other accepted spellings (templated like ``name``; ``{index}`` is the
            cell type's position, as in PhysiCell's ``"contact with cell type 0"``).
        over: ``None`` (one entry), ``"substrate"``, ``"cell_type"`` or ``"custom"`` (one per
            name; ``"custom"``: the scenario's custom data variables).
        lower: smallest value a saturation may take (behaviours), or the signal's floor.
        upper: largest such value.
    """

    name: str
    unit: str
    description: str
    synonyms: tuple[str, ...] = ()
    over: str | None = None
    lower: float = -math.inf
    upper: float = math.inf


@dataclass(frozen=True)
class Entry:
    """One signal or behaviour of a scenario's dictionary.

    Attributes:
        name: canonical name, e.g. ``"oxygen gradient"``.
        index: column in the signal (or behaviour) array.
        unit: unit of the values.
        description: one sentence.
        synonyms: the other accepted spellings, as written.
        lower: smallest allowed value (saturations of rules are checked against it).
        upper: largest allowed value.
        template: the template's name, e.g. ``"{substrate} gradient"``.
        target: the substrate or cell type the entry was expanded for, else ``None``.
    """

    name: str
    index: int
    unit: str
    description: str
    synonyms: tuple[str, ...]
    lower: float
    upper: float
    template: str
    target: str | None


_SIGNALS: list[Template] = []
_BEHAVIOURS: list[Template] = []


def _register(registry: list[Template], kind: str, template: Template) -> Template:
    if template.over not in _OVER:
        raise ValueError(f"{kind} {template.name!r}: over must be one of {_OVER}")
    if any(normalise(t.name) == normalise(template.name) for t in registry):
        raise ValueError(f"{kind} {template.name!r} is already registered")
    if not template.lower <= template.upper:
        raise ValueError(f"{kind} {template.name!r}: need lower <= upper")
    registry.append(template)
    return template


def register_signal(
    name: str,
    unit: str,
    description: str,
    synonyms: Sequence[str] = (),
    over: str | None = None,
    lower: float = -math.inf,
    upper: float = math.inf,
) -> Template:
    """Add a signal to every dictionary built from now on (see :class:`Template`).

    Raises:
        ValueError: the name is already registered, or ``over`` is not a known family.
    """
    return _register(
        _SIGNALS, "signal", Template(name, unit, description, tuple(synonyms), over, lower, upper)
    )


def register_behaviour(
    name: str,
    unit: str,
    description: str,
    synonyms: Sequence[str] = (),
    over: str | None = None,
    lower: float = -math.inf,
    upper: float = math.inf,
) -> Template:
    """Add a behaviour to every dictionary built from now on (see :class:`Template`).

    Raises:
        ValueError: the name is already registered, or ``over`` is not a known family.
    """
    return _register(
        _BEHAVIOURS,
        "behaviour",
        Template(name, unit, description, tuple(synonyms), over, lower, upper),
    )


def signal_templates() -> list[Template]:
    """The registered signals, in index order."""
    return list(_SIGNALS)


def behaviour_templates() -> list[Template]:
    """The registered behaviours, in index order."""
    return list(_BEHAVIOURS)


class _Table:
    """Entries of one kind, with the look-up from every spelling to its entry."""

    def __init__(self, kind: str, entries: list[Entry]) -> None:
        self.kind = kind
        self.entries = entries
        self.keys: dict[str, Entry] = {}
        for entry in entries:
            for spelling in (entry.name, *entry.synonyms):
                key = normalise(spelling)
                other = self.keys.get(key)
                if other is not None and other is not entry:
                    raise ConfigError(
                        f"{kind} name {spelling!r} means both {other.name!r} and "
                        f"{entry.name!r}: rename the substrate or cell type that clashes"
                    )
                self.keys[key] = entry

    def find(self, name: str, where: str) -> Entry:
        entry = self.keys.get(normalise(name))
        if entry is not None:
            return entry
        hint = difflib.get_close_matches(normalise(name), list(self.keys), n=1, cutoff=0.6)
        did = f"did you mean {self.keys[hint[0]].name!r}? " if hint else ""
        raise ConfigError(
            f"{where}unknown {self.kind} {name!r}: {did}the {self.kind}s are listed in {DOCS}"
        )


class RuleDictionary:
    """Signals, behaviours and cell types that a scenario's rules may name.

    Args:
        substrates: substrate names in field order, or a mapping name -> unit (e.g.
            ``{"oxygen": "mmHg"}``); the unit is quoted in descriptions and plots.
        cell_types: cell type names in type-index order.
        custom: custom data variable names (PhysiCell's ``custom_data``), or a mapping
            name -> unit.

    Raises:
        ConfigError: two names clash once expanded (a substrate called ``"pressure"``, or a
            duplicate cell type).
    """

    def __init__(
        self,
        substrates: Sequence[str] | Mapping[str, str] = (),
        cell_types: Sequence[str] = (),
        custom: Sequence[str] | Mapping[str, str] = (),
    ) -> None:
        if isinstance(substrates, Mapping):
            units = {str(k): str(v) for k, v in substrates.items()}
        else:
            units = {str(k): DEFAULT_SUBSTRATE_UNIT for k in substrates}
        self.substrate_units = units
        self.substrates: tuple[str, ...] = tuple(units)
        self.cell_types: tuple[str, ...] = tuple(str(c) for c in cell_types)
        if isinstance(custom, Mapping):
            self.custom_units = {str(k): str(v) for k, v in custom.items()}
        else:
            self.custom_units = {str(k): "dimensionless" for k in custom}
        self.custom: tuple[str, ...] = tuple(self.custom_units)
        for family, names in (("substrate", self.substrates), ("cell type", self.cell_types),
                              ("custom variable", self.custom)):  # fmt: skip
            seen: dict[str, str] = {}
            for nm in names:
                if not normalise(nm):
                    raise ConfigError(f"empty {family} name in the rules dictionary")
                if normalise(nm) in seen:
                    first = seen[normalise(nm)]
                    raise ConfigError(f"{family} {nm!r} is listed twice (as {first!r})")
                seen[normalise(nm)] = nm
        self._types = {normalise(c): i for i, c in enumerate(self.cell_types)}
        self._signals = _Table("signal", self._expand(_SIGNALS))
        self._behaviours = _Table("behaviour", self._expand(_BEHAVIOURS))

    def _expand(self, templates: Iterable[Template]) -> list[Entry]:
        entries: list[Entry] = []
        for t in templates:
            if t.over == "substrate":
                targets = [
                    (s, {"substrate": s, "unit": self.substrate_units[s]}) for s in self.substrates
                ]
            elif t.over == "cell_type":
                targets = [
                    (c, {"cell_type": c, "index": str(i)}) for i, c in enumerate(self.cell_types)
                ]
            elif t.over == "custom":
                targets = [
                    (v, {"custom": v, "index": str(i), "unit": self.custom_units[v]})
                    for i, v in enumerate(self.custom)
                ]
            else:
                targets = [(None, {})]
            for target, values in targets:
                fill = _Filler(values)
                entries.append(
                    Entry(
                        name=t.name.format_map(fill),
                        index=len(entries),
                        unit=t.unit.format_map(fill),
                        description=t.description.format_map(fill),
                        synonyms=tuple(s.format_map(fill) for s in t.synonyms),
                        lower=t.lower,
                        upper=t.upper,
                        template=t.name,
                        target=target,
                    )
                )
        return entries

    # -- look-ups ------------------------------------------------------------------------------
    def signal(self, name: str, where: str = "") -> Entry:
        """The signal named ``name`` (any accepted spelling); ``where`` prefixes errors."""
        return self._signals.find(name, where)

    def behaviour(self, name: str, where: str = "") -> Entry:
        """The behaviour named ``name`` (any accepted spelling); ``where`` prefixes errors."""
        return self._behaviours.find(name, where)

    def cell_type(self, name: str, where: str = "") -> int:
        """Index of the cell type ``name`` (case- and white-space-insensitive)."""
        index = self._types.get(normalise(name))
        if index is not None:
            return index
        hint = difflib.get_close_matches(normalise(name), list(self._types), n=1, cutoff=0.6)
        did = f"did you mean {self.cell_types[self._types[hint[0]]]!r}? " if hint else ""
        known = ", ".join(repr(c) for c in self.cell_types) or "none"
        raise ConfigError(f"{where}unknown cell type {name!r}: {did}cell types are {known}")

    @property
    def signals(self) -> list[Entry]:
        """Every signal, in index order."""
        return list(self._signals.entries)

    @property
    def behaviours(self) -> list[Entry]:
        """Every behaviour, in index order."""
        return list(self._behaviours.entries)

    @property
    def n_signals(self) -> int:
        """Number of signal columns."""
        return len(self._signals.entries)

    @property
    def n_behaviours(self) -> int:
        """Number of behaviour columns."""
        return len(self._behaviours.entries)

    def __repr__(self) -> str:
        return (
            f"RuleDictionary(substrates={list(self.substrates)}, cell_types="
            f"{list(self.cell_types)}, {self.n_signals} signals, {self.n_behaviours} behaviours)"
        )


class _Filler(dict):
    """``str.format_map`` helper that leaves unknown fields as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# -- the built-in dictionary -------------------------------------------------------------------
# Order matters only for indices; PhysiCell's spellings are listed as synonyms.
# fmt: off
_S = register_signal
_S("{substrate}", "{unit}", "value of the {substrate} field at the cell centre",
   ("{substrate} concentration",), over="substrate", lower=0.0)
_S("{substrate} gradient", "{unit}/µm", "norm of the {substrate} gradient at the cell centre",
   ("grad({substrate})", "gradient of {substrate}"), over="substrate", lower=0.0)
_S("pressure", "dimensionless",
   "simple pressure: sum of the normalised repulsive potentials from neighbouring cells "
   "(PhysiCell's simple_pressure)", ("simple pressure",), lower=0.0)
_S("volume", "µm³", "total cell volume", ("total volume", "cell volume"), lower=0.0)
_S("contact with {cell_type}", "cells", "number of {cell_type} cells in mechanical contact",
   ("contact with cell type {index}",), over="cell_type", lower=0.0)
_S("contact with live cell", "cells", "number of live cells in mechanical contact",
   ("contact with live cells",), lower=0.0)
_S("contact with dead cell", "cells", "number of dead cells in mechanical contact",
   ("contact with dead cells",), lower=0.0)
_S("dead", "0 or 1", "1 if the cell is dead (apoptotic or necrotic), else 0", ("is dead",),
   lower=0.0, upper=1.0)
_S("apoptotic", "0 or 1", "1 if the cell is apoptotic, else 0",
   ("is_apoptotic", "is apoptotic"), lower=0.0, upper=1.0)
_S("necrotic", "0 or 1", "1 if the cell is necrotic, else 0", ("is_necrotic", "is necrotic"),
   lower=0.0, upper=1.0)
_S("time", "min", "simulated time since the start of the run", ("current time", "global time"),
   lower=0.0)
_S("live {cell_type} count", "cells", "live {cell_type} cells in the whole window, the same for "
   "every cell (a systemic signal: the burden the body senses, e.g. the antigen load that "
   "primes T cells)", ("number of live {cell_type}",), over="cell_type", lower=0.0)
# PhysiCell's internalised substrates: the secretion process computes them when it tracks
# them ([params.secretion] track_internalized); a rule reading one without tracking is refused.
# No floor: an amount turns negative when a cell secretes more than it took up (as in BioFVM)
_S("intracellular {substrate}", "{unit}·µm³", "amount of {substrate} inside the cell "
   "(total; needs [params.secretion] track_internalized = true)",
   ("internalized {substrate}",), over="substrate")
del _S

_B = register_behaviour
_RATE = {"lower": 0.0}
_B("{substrate} secretion", "1/min", "secretion rate of {substrate}",
   ("{substrate} secretion rate",), over="substrate", **_RATE)
_B("{substrate} secretion target", "{unit}",
   "target (saturation) value of {substrate} secretion",
   ("{substrate} secretion saturation density",), over="substrate", lower=0.0)
_B("{substrate} uptake", "1/min", "uptake rate of {substrate}", ("{substrate} uptake rate",),
   over="substrate", **_RATE)
_B("{substrate} export", "{unit}·µm³/min",
   "net export rate of {substrate} (total substance per minute; negative imports)",
   ("{substrate} net export", "{substrate} net export rate"), over="substrate")
_B("cycle entry", "1/min", "rate of leaving the first cycle phase (entry into the cycle)",
   ("exit from cycle phase 0", "cycle entry rate"), **_RATE)
for _k in range(1, 6):
    _B(f"exit from cycle phase {_k}", "1/min", f"rate of leaving cycle phase {_k}", (), **_RATE)
_B("apoptosis", "1/min", "apoptotic death rate", ("apoptosis rate",), **_RATE)
_B("necrosis", "1/min", "necrotic death rate", ("necrosis rate",), **_RATE)
_B("migration speed", "µm/min", "speed of the persistent random walk",
   ("motility speed", "speed"), lower=0.0)
_B("migration bias", "dimensionless",
   "weight of the biased direction (chemotaxis) against the random one, 0 to 1",
   ("motility bias",), lower=0.0, upper=1.0)
_B("migration persistence time", "min", "mean time between turns of the random walk",
   ("persistence time",), lower=0.0)
_B("chemotactic response to {substrate}", "dimensionless",
   "weight of the {substrate} gradient in the bias direction (negative repels)",
   ("chemotactic sensitivity to {substrate}",), over="substrate")
_B("cell-cell adhesion", "µm/min", "cell-cell adhesion strength",
   ("cell-cell adhesion strength",), lower=0.0)
_B("cell-cell adhesion elastic constant", "1/min", "elastic constant of cell-cell attachments",
   (), lower=0.0)
_B("adhesive affinity to {cell_type}", "dimensionless",
   "relative adhesion to {cell_type} cells (multiplies the adhesion strength)",
   ("adhesive affinity to cell type {index}",), over="cell_type", lower=0.0)
_B("relative maximum adhesion distance", "dimensionless",
   "largest adhesion distance, as a multiple of the cell radius", (), lower=0.0)
_B("cell-cell repulsion", "µm/min", "cell-cell repulsion strength",
   ("cell-cell repulsion strength",), lower=0.0)
# the domain walls: PhysiCell calls them "BM" (cell_BM_repulsion_strength); invasim's basement
# membrane is a tissue layer of its own, so the walls are "wall" here, PhysiCell's names synonyms
_B("wall adhesion", "µm/min", "adhesion strength to the domain walls",
   ("cell-BM adhesion", "cell-membrane adhesion"), lower=0.0)
_B("wall repulsion", "µm/min", "repulsion strength from the domain walls",
   ("cell-BM repulsion", "cell-membrane repulsion", "cell-boundary repulsion"), lower=0.0)
_B("cell attachment rate", "1/min", "rate of forming attachments with touching cells", (),
   **_RATE)
_B("cell detachment rate", "1/min", "rate of breaking attachments", (), **_RATE)
_B("maximum number of cell attachments", "attachments", "largest number of attachments", (),
   lower=0.0)
_B("is movable", "0 or 1", "0 pins the cell in place (it still pushes and pulls others)",
   ("is_movable", "movable"), lower=0.0, upper=1.0)
_B("asymmetric division to {cell_type}", "dimensionless",
   "probability that a daughter becomes {cell_type} at division",
   (), over="cell_type", lower=0.0, upper=1.0)
del _B, _k
# fmt: on
