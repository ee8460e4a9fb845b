"""Test-only verify cases (never shipped): one that passes, one that fails, one that errs,
one that skips. tests/e2e/test_verify_cli.py loads them through ``INVASIM_VERIFY_MODULES``.
"""

from __future__ import annotations

from invasim.verify import Checks, Result, Skip, case

MECHANISM = "test-only"


@case("test-only case that passes", MECHANISM, "arithmetic")
def passes(quick: bool) -> Result:
    return Result(expected=2.0, measured=1.0 + 1.0, tolerance=0.0, unit="", detail="1 + 1")


@case("test-only case that fails", MECHANISM, "arithmetic")
def fails(quick: bool) -> Result:
    chk = Checks()
    chk.bound("a check that holds", 1.0, "<", 2.0)
    chk.near("a check that does not", 3.0, 2.0, 0.5)
    return chk.result(2.0, 2.0, 0.1, "µm", "the headline passes, a check fails")


@case("test-only case that raises", MECHANISM, "none")
def raises(quick: bool) -> Result:
    raise RuntimeError("broken on purpose")


@case("test-only case that skips", MECHANISM, "none")
def skips(quick: bool) -> Result:
    raise Skip("needs nothing that is here")
