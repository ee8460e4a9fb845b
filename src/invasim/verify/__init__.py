"""Validation cases that a user runs on their own install: ``invasim verify``.

Contract:
    * A case is a function ``f(quick: bool) -> Result`` registered with :func:`case` under a
      stable, descriptive name (``"fisher-kpp front speed"``), the mechanism it checks, and its
      source (the paper or exact solution). ``quick=True`` is the form ``invasim verify`` runs
      (seconds each); ``quick=False`` the full form the slow pytest validation runs. The pytest
      validation tests call the same functions (:func:`get` ``(name).run(quick)``), so the
      two can never drift.
    * :class:`Result` holds the expected value, the measured value, the tolerance (absolute,
      in the case's unit) and whether it passed. By default it passes when
      ``|measured - expected| <= tolerance``; a case may decide ``passed`` itself (a direction
      of effect, a set of seeds with a statistical margin) and say how in ``detail``.
    * Case modules live in :mod:`invasim.verify.cases`; :data:`CASE_MODULES` lists them and
      :func:`load` imports them (the registry is filled on first use).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

#: modules under invasim.verify.cases that register cases (imported by :func:`load`)
CASE_MODULES: list[str] = []


@dataclass
class Result:
    """The outcome of one validation case.

    Attributes:
        expected: the value the source gives (exact solution, published figure).
        measured: the value invasim measured.
        tolerance: the largest accepted ``|measured - expected|``, in ``unit``.
        unit: unit of the three numbers ("" when dimensionless).
        passed: None: decided by the tolerance; or set by the case itself.
        detail: one line on how it was measured (seeds, margin, grid).
    """

    expected: float
    measured: float
    tolerance: float
    unit: str = ""
    passed: bool | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.passed is None:
            err = abs(self.measured - self.expected)
            self.passed = bool(math.isfinite(err) and err <= self.tolerance)


@dataclass(frozen=True)
class Case:
    """A registered validation case."""

    name: str
    mechanism: str
    source: str
    func: Callable[[bool], Result] = field(repr=False)

    def run(self, quick: bool = True) -> Result:
        """Run the case (its quick form by default)."""
        return self.func(quick)


REGISTRY: dict[str, Case] = {}


def case(name: str, mechanism: str, source: str) -> Callable[[Callable[[bool], Result]], Case]:
    """Decorator registering ``f(quick) -> Result`` as a case; returns the :class:`Case`."""

    def wrap(func: Callable[[bool], Result]) -> Case:
        if name in REGISTRY:
            raise ValueError(f"verify case {name!r} registered twice")
        c = Case(name, mechanism, source, func)
        REGISTRY[name] = c
        return c

    return wrap


def load() -> dict[str, Case]:
    """Import every case module; the registry by name, in registration order."""
    for mod in CASE_MODULES:
        importlib.import_module(f"invasim.verify.cases.{mod}")
    return REGISTRY


def get(name: str) -> Case:
    """A case by name (loading the case modules first)."""
    cases = load()
    if name not in cases:
        raise KeyError(f"unknown verify case {name!r}; known: {', '.join(cases)}")
    return cases[name]


def cases(names: Iterable[str] | None = None) -> list[Case]:
    """The cases, all or those named, in registration order."""
    reg = load()
    return list(reg.values()) if names is None else [get(n) for n in names]
