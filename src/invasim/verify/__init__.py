"""Validation cases that a user runs on their own install: ``invasim verify``.

Contract:
    * A case is a function ``f(quick: bool) -> Result`` registered with :func:`case` under a
      stable, descriptive name (``"fisher-kpp front speed 2 sqrt(Dr)"``: lower case but for
      symbols, words separated by single spaces, no tabs or newlines; see
      :func:`name_problem`), the mechanism it checks, and its
      source (the paper or exact solution). ``quick=True`` is the form ``invasim verify``
      runs (seconds each); ``quick=False`` the full form the pytest validation runs. The
      pytest validation tests call the same functions (:func:`get` ``(name).run(quick)``), so
      the two can never drift.
    * :class:`Result` holds the expected value, the measured value, the tolerance (absolute,
      in the case's unit) and whether it passed. By default it passes when
      ``|measured - expected| <= tolerance``; ``relation=">"`` (or ``"<"``, ``">="``,
      ``"<="``) makes it a one-sided bound (``measured > expected``; the tolerance is then 0).
      A case may decide ``passed`` itself (a direction of effect, a set of seeds with a
      statistical margin) and say how in ``detail``. :class:`Checks` collects a case's
      further checks (each a line in :attr:`Result.checks`); the case passes only when every
      one of them does too.
    * A case that cannot run here (an extra not installed) raises :class:`Skip`; any other
      exception is a failed case (:func:`run` turns it into an :class:`Outcome`).
    * Case modules live in :mod:`invasim.verify.cases`; :data:`CASE_MODULES` lists them and
      :func:`load` imports them (the registry is filled on first use). Adding a module's name
      to :data:`CASE_MODULES` is all it takes to add its cases to ``invasim verify``. The
      environment variable ``INVASIM_VERIFY_MODULES`` names further modules (full import
      names, comma-separated) whose cases are loaded too: a lab's own cases, or a test's.
"""

from __future__ import annotations

import fnmatch
import importlib
import math
import os
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: modules under invasim.verify.cases that register cases (imported by :func:`load`)
CASE_MODULES: list[str] = [
    "fisher_kpp",
    "gatenby_gawlinski",
    "anderson_chaplain",
    "conservation",
    "diffusion",
    "internal_ode",
    "mechanics",
    "cycle",
    "cell_life",
    "volume",
    "interactions",
    "attachments",
    "transformation",
    "internalized",
    "spheroid",
    "sensitivity",
    # the invasion biology (issue 11)
    "proteolysis",
    "basement_membrane",
    "ecm",
    "rho_gtpase",
    "immune",
    "kuznetsov",
    "therapies",
    "kuznetsov_agents",
    "stroma",
    "crosslinking",
    "matrix_displacement",
    "inflammation",
    "evolution",
    "pathology",
    "tissue_supply",
    # the metastatic cascade (issue 13)
    "iwata",
    "intravasation",
    "body",
    "shedding",
    "cohort",
]
#: environment variable naming extra case modules (full import names, comma-separated)
EXTRA_MODULES_ENV = "INVASIM_VERIFY_MODULES"
#: what a case name must look like: words separated by single spaces, no tabs or newlines
#: (lower case, but for symbols: "fisher-kpp front speed 2 sqrt(Dr)"), at most 100 characters
NAME_PATTERN = re.compile(r"^[^\sA-Z][^\s]*( [^\s]+)*$")
NAME_MAX = 100
#: the relations a Result can state between measured and expected
RELATIONS = ("±", ">", "<", ">=", "<=")


class Skip(Exception):  # noqa: N818 (a signal, as pytest.skip's)
    """Raised by a case that cannot run here (an extra not installed); the message says why."""


@dataclass
class Result:
    """The outcome of one validation case.

    Attributes:
        expected: the value the source gives (exact solution, published figure), or the bound
            of a one-sided check.
        measured: the value invasim measured.
        tolerance: the largest accepted ``|measured - expected|``, in ``unit`` (0 for a
            one-sided check).
        unit: unit of the three numbers ("" when dimensionless).
        passed: None: decided by the tolerance (or the relation); or set by the case itself.
        detail: one line on how it was measured (seeds, margin, grid).
        relation: ``"±"`` (within the tolerance), or ``">"``, ``"<"``, ``">="``, ``"<="``:
            a one-sided bound, ``measured > expected``.
        checks: the case's further checks, one line each (``"ok ..."``, ``"FAIL ..."``).
    """

    expected: float
    measured: float
    tolerance: float
    unit: str = ""
    passed: bool | None = None
    detail: str = ""
    relation: str = "±"
    checks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"Result.relation {self.relation!r}; allowed: {RELATIONS}")
        if self.passed is None:
            self.passed = compare(self.measured, self.expected, self.tolerance, self.relation)
        self.passed = bool(self.passed)


def compare(measured: float, expected: float, tolerance: float = 0.0, relation: str = "±") -> bool:
    """Whether ``measured`` meets ``expected`` under ``relation`` (NaN never does)."""
    m, e = float(measured), float(expected)
    if math.isnan(m) or math.isnan(e):
        return False
    if relation == "±":
        err = abs(m - e)
        return bool(math.isfinite(err) and err <= tolerance)
    return bool({">": m > e, "<": m < e, ">=": m >= e, "<=": m <= e}[relation])


def _fmt(x: float) -> str:
    return f"{float(x):.6g}"


class Checks:
    """The further checks of one case, collected into its :class:`Result`.

    Each method records one line (``ok`` or ``FAIL``, what, the numbers) and returns whether
    it held; :meth:`result` builds the Result from the case's headline numbers, passed only
    when they and every check pass, with the failed checks named in ``detail``.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.failed: list[str] = []

    def _add(self, ok: bool, text: str) -> bool:
        self.lines.append(f"{'ok' if ok else 'FAIL'} {text}")
        if not ok:
            self.failed.append(text)
        return ok

    def near(self, what: str, measured: float, expected: float, tol: float, unit: str = "") -> bool:
        """``|measured - expected| <= tol``."""
        ok = compare(measured, expected, tol)
        u = f" {unit}" if unit else ""
        return self._add(ok, f"{what}: {_fmt(measured)} vs {_fmt(expected)} ± {_fmt(tol)}{u}")

    def rel(self, what: str, measured: float, expected: float, rel: float, unit: str = "") -> bool:
        """``|measured - expected| <= rel |expected|``."""
        return self.near(what, measured, expected, rel * abs(float(expected)), unit)

    def bound(
        self, what: str, measured: float, relation: str, limit: float, unit: str = ""
    ) -> bool:
        """A one-sided bound: ``measured <relation> limit``."""
        ok = compare(measured, limit, 0.0, relation)
        u = f" {unit}" if unit else ""
        return self._add(ok, f"{what}: {_fmt(measured)} {relation} {_fmt(limit)}{u}")

    def that(self, what: str, ok: bool, info: str = "") -> bool:
        """Any other condition, with a word on what was seen."""
        return self._add(bool(ok), f"{what}{f' ({info})' if info else ''}")

    @property
    def ok(self) -> bool:
        """Whether every check so far held."""
        return not self.failed

    def result(
        self,
        expected: float,
        measured: float,
        tolerance: float = 0.0,
        unit: str = "",
        detail: str = "",
        relation: str = "±",
    ) -> Result:
        """The case's Result: the headline comparison and every check must pass."""
        head = compare(measured, expected, tolerance, relation)
        failed = ([] if head else ["headline value"]) + self.failed
        note = f"; failed: {'; '.join(failed)}" if failed else ""
        return Result(
            expected=float(expected),
            measured=float(measured),
            tolerance=float(tolerance),
            unit=unit,
            passed=head and self.ok,
            detail=f"{detail}{note}",
            relation=relation,
            checks=list(self.lines),
        )


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


def name_problem(name: str) -> str | None:
    """What is wrong with a case name (None when it is well formed: see :data:`NAME_PATTERN`)."""
    if not name or len(name) > NAME_MAX:
        return f"{len(name)} characters; allowed 1 to {NAME_MAX}"
    if not name.isprintable() or not NAME_PATTERN.match(name):
        return "words separated by single spaces, starting lower case, no tabs or newlines"
    return None


def module_names() -> list[str]:
    """Full import names of the case modules: :data:`CASE_MODULES` and the environment's."""
    extra = [m.strip() for m in os.environ.get(EXTRA_MODULES_ENV, "").split(",") if m.strip()]
    return [f"invasim.verify.cases.{m}" for m in CASE_MODULES] + extra


def load() -> dict[str, Case]:
    """Import every case module; the registry by name, in registration order."""
    for mod in module_names():
        importlib.import_module(mod)
    return REGISTRY


def get(name: str) -> Case:
    """A case by name (loading the case modules first)."""
    cases = load()
    if name not in cases:
        raise KeyError(f"unknown verify case {name!r}; known: {', '.join(cases)}")
    return cases[name]


def all_cases(names: Iterable[str] | None = None) -> list[Case]:
    """The cases, all or those named, in registration order (also as ``cases(names)``)."""
    reg = load()
    return list(reg.values()) if names is None else [get(n) for n in names]


class _CasesPackage(types.ModuleType):
    """The package :mod:`invasim.verify.cases`, callable as :func:`all_cases`.

    Importing a case module binds the package to the name ``cases`` of this module (Python's
    import system sets a subpackage as an attribute of its parent), which would hide the
    function ``cases()``; so the package itself answers the call.
    """

    def __call__(self, names: Iterable[str] | None = None) -> list[Case]:
        return all_cases(names)


def select(patterns: Iterable[str] | None = None) -> list[Case]:
    """The cases whose name or mechanism matches any pattern (all when there is none).

    A pattern with ``*``, ``?`` or ``[`` is a shell pattern (:mod:`fnmatch`) on the whole
    name or mechanism; any other pattern matches as a substring. Case is ignored.
    """
    pats = [p.lower() for p in patterns or ()]
    if not pats:
        return all_cases()

    def hit(text: str, p: str) -> bool:
        text = text.lower()
        return fnmatch.fnmatchcase(text, p) if any(c in p for c in "*?[") else p in text

    return [c for c in all_cases() if any(hit(c.name, p) or hit(c.mechanism, p) for p in pats)]


@dataclass
class Outcome:
    """A case run by :func:`run`: its Result (None if it raised), status and wall time.

    ``status`` is ``"pass"``, ``"fail"``, ``"error"`` (the case raised; ``error`` says what)
    or ``"skip"`` (it raised :class:`Skip`; ``error`` says why).
    """

    case: Case
    result: Result | None
    status: str
    seconds: float
    quick: bool
    error: str = ""

    @property
    def passed(self) -> bool:
        """Passed or skipped: nothing wrong was found."""
        return self.status in ("pass", "skip")

    def to_dict(self) -> dict[str, Any]:
        """One JSON-ready object: name, mechanism, source, the numbers, passed, detail."""
        r = self.result

        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        return {
            "name": self.case.name,
            "mechanism": self.case.mechanism,
            "source": self.case.source,
            "expected": num(r.expected) if r else None,
            "measured": num(r.measured) if r else None,
            "tolerance": num(r.tolerance) if r else None,
            "relation": r.relation if r else None,
            "unit": r.unit if r else "",
            "passed": self.status == "pass",
            "status": self.status,
            "detail": (r.detail if r else self.error),
            "checks": list(r.checks) if r else [],
            "seconds": round(self.seconds, 3),
            "form": "quick" if self.quick else "full",
        }


def run(c: Case, quick: bool = True) -> Outcome:
    """Run one case, catching what it raises: a :class:`Skip` or an error is an Outcome too."""
    t0 = time.perf_counter()
    try:
        res = c.run(quick)
    except Skip as exc:
        return Outcome(c, None, "skip", time.perf_counter() - t0, quick, str(exc))
    except Exception as exc:  # noqa: BLE001 (a broken case is a failed check, not a crash)
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return Outcome(c, None, "error", time.perf_counter() - t0, quick, msg)
    if not isinstance(res, Result):
        msg = f"the case returned {type(res).__name__}, not a Result"
        return Outcome(c, None, "error", time.perf_counter() - t0, quick, msg)
    status = "pass" if res.passed else "fail"
    return Outcome(c, res, status, time.perf_counter() - t0, quick)


def run_all(selected: Iterable[Case], quick: bool = True) -> Iterator[Outcome]:
    """Run the cases one after the other, yielding each Outcome as it finishes."""
    for c in selected:
        yield run(c, quick)


@contextmanager
def numba_threads(n: int) -> Iterator[None]:
    """Run the body on ``n`` Numba threads (at most the configured number), then restore.

    Results never depend on the thread count (counter-based random numbers); small 1-D runs
    are faster on one thread, whose launches cost more than they save.
    """
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


# -- the table of `invasim verify` -----------------------------------------------------------
_STATUS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skip": "SKIP"}


def expected_text(r: Result) -> str:
    """``"2 ± 0.02"``, or ``"> 2000"`` for a one-sided bound."""
    if r.relation == "±":
        return f"{r.expected:.6g} ± {r.tolerance:.3g}"
    return f"{r.relation} {r.expected:.6g}"


def table_header(width: int) -> str:
    """The header of the table; ``width`` is the longest case name's length."""
    return (f"{'status':<6} {'case':<{width}}  {'measured':>12}  {'expected':<22} "
            f"{'unit':<12} {'time':>7}  source")  # fmt: skip


def table_row(o: Outcome, width: int) -> str:
    """One case's row (and, when it did not pass, an indented line saying why)."""
    r = o.result
    measured = f"{r.measured:.6g}" if r else "-"
    expected = expected_text(r) if r else "-"
    unit = r.unit if r else ""
    row = (f"{_STATUS[o.status]:<6} {o.case.name:<{width}}  {measured:>12}  {expected:<22} "
           f"{unit:<12} {o.seconds:>6.1f}s  {o.case.source}")  # fmt: skip
    why = o.error if r is None else (r.detail if o.status != "pass" else "")
    return f"{row}\n{'':<7}{o.status}: {why}" if why else row


def summary_line(outcomes: list[Outcome], seconds: float, quick: bool) -> str:
    """``"verify: 40 passed, 1 failed, 1 skipped in 83.2 s (quick forms)"``."""
    counts = {s: sum(o.status == s for o in outcomes) for s in ("pass", "fail", "error", "skip")}
    words = [f"{counts['pass']} passed"]
    words += [f"{counts[s]} {w}" for s, w in (("fail", "failed"), ("error", "errors"),
                                              ("skip", "skipped")) if counts[s]]  # fmt: skip
    form = "quick forms" if quick else "full forms"
    return f"verify: {', '.join(words)} in {seconds:.1f} s ({form})"


# `cases` is both the package of case modules and the function listing the cases (see
# _CasesPackage); bound last, when everything the case modules import from here exists
from invasim.verify import cases  # noqa: E402

cases.__class__ = _CasesPackage
