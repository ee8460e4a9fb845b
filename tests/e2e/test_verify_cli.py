"""`invasim verify` driven in a subprocess, as a user would: the table, --json, exit status."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run_cli

HERE = Path(__file__).resolve().parent
#: two fast real cases (well under a second each, after compilation)
FAST = ["-k", "fisher-kpp front speed", "-k", "diffusion conserves mass*"]
KEYS = {"name", "mechanism", "source", "expected", "measured", "tolerance", "unit", "passed",
        "detail", "seconds"}  # fmt: skip


@pytest.fixture
def test_cases(monkeypatch):
    """Load the test-only case module (tests/e2e/verify_cases_for_tests.py) in the subprocess."""
    monkeypatch.setenv("INVASIM_VERIFY_MODULES", "verify_cases_for_tests")
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(HERE), path) if p))


def test_list_names_every_case_without_running():
    proc = run_cli("verify", "--list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    names = [ln.split("  ")[0] for ln in lines]
    assert "fisher-kpp front speed 2 sqrt(Dr)" in names
    assert not any(n.startswith("test-only") for n in names)  # never shipped
    assert len(lines) >= 40
    listed = [json.loads(ln) for ln in run_cli("verify", "--list", "--json").stdout.splitlines()]
    assert [d["name"] for d in listed] == names
    assert all(set(d) == {"name", "mechanism", "source"} and d["source"] for d in listed)


def test_a_selection_passes_with_a_table_and_exit_0():
    proc = run_cli("verify", *FAST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["status", "case", "measured", "expected"]
    rows = lines[1:-1]
    assert [r.split()[0] for r in rows] == ["PASS", "PASS"]
    assert "fisher-kpp front speed 2 sqrt(Dr)" in rows[0] and "Bramson 1983" in rows[0]
    assert "µm/min" in rows[0] and "±" in rows[0]
    assert "diffusion conserves mass at no-flux walls" in rows[1]
    assert lines[-1].startswith("verify: 2 passed in ") and lines[-1].endswith("(quick forms)")


def test_json_is_one_object_per_case():
    proc = run_cli("verify", "--json", *FAST)
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(ln) for ln in proc.stdout.strip().splitlines()]
    assert [o["name"] for o in objs] == ["fisher-kpp front speed 2 sqrt(Dr)",
                                         "diffusion conserves mass at no-flux walls"]
    for o in objs:
        assert KEYS <= set(o), set(o)
        assert o["passed"] is True and o["status"] == "pass"
        assert abs(o["measured"] - o["expected"]) <= o["tolerance"]
        assert o["seconds"] >= 0 and o["form"] == "quick"
    assert objs[0]["unit"] == "µm/min" and objs[0]["mechanism"] == "fisher-kpp"
    assert "verify: 2 passed" in proc.stderr  # the summary stays off the JSON


def test_a_failing_case_exits_1_and_says_why(test_cases):
    proc = run_cli("verify", "-k", "test-only case that [pf]*")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "PASS   test-only case that passes" in out
    assert "FAIL   test-only case that fails" in out
    assert "failed: a check that does not: 3 vs 2 ± 0.5" in out
    assert out.strip().splitlines()[-1].startswith("verify: 1 passed, 1 failed in ")
    objs = [json.loads(ln) for ln in run_cli("verify", "--json", "-k", "*that fails").stdout
            .splitlines()]  # fmt: skip
    assert len(objs) == 1 and objs[0]["passed"] is False and objs[0]["status"] == "fail"
    assert objs[0]["checks"] == ["ok a check that holds: 1 < 2",
                                 "FAIL a check that does not: 3 vs 2 ± 0.5"]


def test_an_error_fails_and_a_skip_does_not(test_cases):
    proc = run_cli("verify", "-k", "*raises")
    assert proc.returncode == 1
    assert "ERROR  test-only case that raises" in proc.stdout
    assert "error: RuntimeError: broken on purpose" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    proc = run_cli("verify", "-k", "*skips", "-k", "*passes")
    assert proc.returncode == 0, proc.stdout
    assert "SKIP   test-only case that skips" in proc.stdout
    assert "skip: needs nothing that is here" in proc.stdout
    assert "verify: 1 passed, 1 skipped" in proc.stdout


def test_a_selection_of_nothing_is_one_line_and_exit_2():
    assert_one_line_error(run_cli("verify", "-k", "no such case"),
                          "verify -k 'no such case' selects no case", "invasim verify --list")
