"""The registry of verify cases: every listed module imports, names are unique and well formed;
Result, Checks, the runner and the selection behave as documented."""

from __future__ import annotations

import importlib
import json
import math

import pytest

from invasim import verify
from invasim.verify import Case, Checks, Outcome, Result, Skip


@pytest.mark.parametrize("module", verify.CASE_MODULES)
def test_every_case_module_imports_and_registers_cases(module):
    mod = importlib.import_module(f"invasim.verify.cases.{module}")
    mine = [c for c in verify.load().values() if c.func.__module__ == mod.__name__]
    assert mine, f"invasim.verify.cases.{module} registers no case"


def test_case_names_are_unique_and_well_formed():
    cases = verify.cases()
    names = [c.name for c in cases]
    assert len(names) == len(set(names))
    assert len({n.lower() for n in names}) == len(names)  # -k ignores case
    for c in cases:
        assert verify.name_problem(c.name) is None, (c.name, verify.name_problem(c.name))
        assert c.mechanism and c.mechanism == c.mechanism.strip() and "\n" not in c.mechanism
        assert c.source and "\n" not in c.source, c.name
        assert callable(c.func)


def test_registering_a_name_twice_fails():
    name = next(iter(verify.load()))
    with pytest.raises(ValueError, match="registered twice"):
        verify.case(name, "x", "y")(lambda quick: Result(0, 0, 0))


@pytest.mark.parametrize("bad", ["", " leading", "trailing ", "two  spaces", "tab\there",
                                 "new\nline", "Capital first", "x" * 101])
def test_malformed_names_are_named(bad):
    assert verify.name_problem(bad) is not None
    assert verify.name_problem("fisher-kpp front speed 2 sqrt(Dr)") is None


def test_result_relations():
    assert Result(1.0, 1.05, 0.1).passed
    assert not Result(1.0, 1.2, 0.1).passed
    assert not Result(1.0, math.nan, 0.1).passed
    assert Result(2000.0, 3184.0, 0.0, relation=">").passed
    assert not Result(2000.0, 2000.0, 0.0, relation=">").passed
    assert Result(2000.0, 2000.0, 0.0, relation=">=").passed
    assert not Result(0.0, math.nan, 0.0, relation="<").passed
    assert not Result(1.0, 1.0, 1.0, passed=False).passed  # the case decides
    with pytest.raises(ValueError, match="relation"):
        Result(1.0, 1.0, 0.0, relation="~")


def test_checks_fail_the_result_and_say_which():
    chk = Checks()
    assert chk.rel("speed", 2.01, 2.0, 0.01, "µm/min")
    assert not chk.bound("gap", 10.0, ">", 20.0, "µm")
    assert chk.that("monotone", True)
    res = chk.result(2.0, 2.0, 0.1, "µm/min", "how")
    assert not res.passed
    assert res.detail == "how; failed: gap: 10 > 20 µm"
    assert res.checks == ["ok speed: 2.01 vs 2 ± 0.02 µm/min", "FAIL gap: 10 > 20 µm",
                          "ok monotone"]  # fmt: skip
    res = Checks().result(2.0, 3.0, 0.1)
    assert not res.passed and "headline value" in res.detail


def _case(func) -> Case:
    return Case("unit test case", "unit", "none", func)


def test_run_turns_skips_and_errors_into_outcomes():
    ok = verify.run(_case(lambda quick: Result(1.0, 1.0, 0.0, unit="µm", detail="d")))
    assert ok.status == "pass" and ok.passed
    d = ok.to_dict()
    assert {"name", "mechanism", "source", "expected", "measured", "tolerance", "unit",
            "passed", "detail", "seconds"} <= set(d)  # fmt: skip
    assert d["passed"] is True and d["unit"] == "µm" and d["form"] == "quick"
    json.dumps(d)

    def boom(quick):
        raise RuntimeError("no\nsecond line")

    def skip(quick):
        raise Skip("not here")

    err = verify.run(_case(boom))
    assert err.status == "error" and not err.passed and err.error == "RuntimeError: no"
    assert verify.run(_case(skip)).status == "skip" and verify.run(_case(skip)).passed
    assert verify.run(_case(lambda quick: 1.0)).status == "error"  # not a Result
    nan = Outcome(_case(None), Result(1.0, math.nan, 0.1), "fail", 0.1, True).to_dict()
    assert nan["measured"] is None  # JSON has no NaN
    json.dumps(nan, allow_nan=False)


def test_select_by_substring_pattern_and_mechanism():
    assert verify.select(None) == verify.cases()
    by_mech = verify.select(["fisher-kpp"])
    assert by_mech and all("fisher-kpp" in (c.name + c.mechanism) for c in by_mech)
    assert [c.name for c in verify.select(["FISHER-KPP FRONT*"])] == [
        "fisher-kpp front speed 2 sqrt(Dr)"]
    both = verify.select(["fisher-kpp front speed", "bramson"])
    assert len(both) == 2
    assert verify.select(["no such case"]) == []


def test_quick_flag_reaches_the_case():
    seen = []
    c = _case(lambda quick: seen.append(quick) or Result(0.0, 0.0, 0.0))
    verify.run(c)
    verify.run(c, quick=False)
    assert seen == [True, False]
