"""Scenario schema, loading, overrides and the TOML dump."""

from __future__ import annotations

import tomllib

import pytest

from invasim.config import builtin_names, dump_toml, load_scenario, read_scenario_data
from invasim.config.loader import apply_overrides, parse_override, validate_scenario
from invasim.errors import ConfigError

BUILTIN = builtin_names()


def test_builtins_are_listed():
    assert {
        "anderson-chaplain",
        "fisher-kpp",
        "gatenby-gawlinski",
        "spheroid-2d",
        "spheroid-3d",
    } <= set(BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_validates_and_round_trips_through_toml(name):
    sc = load_scenario(name)
    text = dump_toml(sc)
    again = validate_scenario(tomllib.loads(text), "dump")
    assert again.to_data() == sc.to_data()


@pytest.mark.parametrize("name", BUILTIN)
def test_every_param_has_a_unit_or_description(name):
    sc = load_scenario(name)
    schema = type(sc.model_params)
    for key, field in schema.model_fields.items():
        assert field.description, f"{name}: params.{key} has no description"


@pytest.mark.parametrize("name", BUILTIN)
def test_every_paper_value_has_a_source(name):
    data, _ = read_scenario_data(name)
    assert data.get("references"), name
    assert data.get("sources"), f"{name} gives no [sources]"


def test_override_is_typed_like_the_file():
    assert parse_override("time.end_min=100") == (["time", "end_min"], 100)
    assert parse_override("a.b=1.5e3") == (["a", "b"], 1500.0)
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    assert parse_override("a.b=true") == (["a", "b"], True)
    assert parse_override("a.b=radial") == (["a", "b"], "radial")
    sc = load_scenario("fisher-kpp", ["time.end_min=5000"])
    assert sc.time.end_min == 5000.0


@pytest.mark.parametrize(
    ("override", "needles"),
    [
        ("time.end_min=abc", ["time.end_min", "abc"]),
        ("time.end_min=-5", ["time.end_min", "greater than 0"]),
        ("time.nope=1", ["unknown key 'time.nope'", "allowed: checkpoint_interval_min"]),
        ("params.nope=1", ["unknown key 'params.nope'", "allowed:"]),
        ("mesh.dim=4", ["mesh.dim"]),
        ("model=fisher-kp", ["did you mean 'fisher-kpp'"]),
        ("time.output_interval_min=0.0001", ["whole multiple of dt_min"]),
        ("time.end_min.x=1", ["time.end_min is a value"]),
        ("sources.params.nope=x", ["sources"]),
    ],
)
def test_bad_overrides_name_key_and_allowed(override, needles):
    with pytest.raises(ConfigError) as info:
        load_scenario("fisher-kpp", [override])
    msg = str(info.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, msg


def test_mesh_extent_must_match_dim():
    data, _ = read_scenario_data("fisher-kpp")
    data = apply_overrides(data, ["mesh.dim=2"])
    with pytest.raises(ConfigError, match="extent_um has 1 entries but dim = 2"):
        validate_scenario(data)


def test_unknown_scenario_suggests_nearest():
    with pytest.raises(ConfigError, match="did you mean 'fisher-kpp'"):
        load_scenario("fisher_kpp")


def test_malformed_and_unreadable_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(binary)
    with pytest.raises(ConfigError, match="does not exist"):
        load_scenario(tmp_path / "missing.toml")


def test_dump_comments_carry_units_and_sources():
    text = dump_toml(load_scenario("anderson-chaplain"))
    assert "[params]" in text
    assert "source:" in text
    assert "[µm]" in text or "µm" in text


def test_union_value_error_names_every_allowed_form():
    with pytest.raises(ConfigError) as info:
        load_scenario("anderson-chaplain", ['params.initial.oxygen="eq"'])
    msg = str(info.value)
    assert 'params.initial.oxygen = "eq"' in msg
    assert "valid number" in msg and "'equilibrium'" in msg
    assert "more problems" not in msg
