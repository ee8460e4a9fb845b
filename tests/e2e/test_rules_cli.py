"""`invasim rules`: the rules in words, response-curve PNGs, one-line errors (exit 2)."""

from __future__ import annotations

from conftest import assert_one_line_error, run_cli

OXYGEN_RULE = (
    '{cell_type="tumor", signal="oxygen", direction="decreases", behaviour="cycle entry", '
    "saturation=0, half_max=20, hill_power=4}"
)
PRESSURE_RULE = (
    '{cell_type="tumor", signal="pressure", direction="decreases", behaviour="cycle entry", '
    "saturation=0, half_max=1.0, hill_power=4}"
)


def test_rules_in_words_and_plots(tmp_path):
    rules = f"params.rules=[{OXYGEN_RULE}, {PRESSURE_RULE}]"
    out = tmp_path / "curves"
    proc = run_cli("rules", "spheroid-2d", "--set", rules, "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("In tumor cells, oxygen decreases cycle entry from 0.00333333")
    assert "half-max 20 mmHg" in lines[0]
    assert lines[1].startswith("In tumor cells, pressure decreases cycle entry")
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 2
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*"))  # no temporary files left


def test_no_rules():
    proc = run_cli("rules", "spheroid-2d")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "no rules"


def test_unknown_signal_is_one_line_exit_2():
    bad = OXYGEN_RULE.replace('signal="oxygen"', 'signal="oxgen"')
    for cmd in ("rules", "validate"):
        proc = run_cli(cmd, "spheroid-2d", "--set", f"params.rules=[{bad}]")
        assert_one_line_error(proc, "params.rules[0]", "unknown signal 'oxgen'", "'oxygen'")


def test_conflicting_rules_exit_2_naming_both():
    other = OXYGEN_RULE.replace('"decreases"', '"increases"').replace(
        "saturation=0", "saturation=1"
    )
    proc = run_cli("rules", "spheroid-2d", "--set", f"params.rules=[{OXYGEN_RULE}, {other}]")
    assert_one_line_error(proc, "params.rules[1]", "params.rules[0]", "conflicts")
