"""Scenario configuration: schema, loading, overrides and built-in scenarios."""

from invasim.config.loader import (
    apply_overrides,
    builtin_names,
    dump_toml,
    load_scenario,
    read_scenario_data,
    validate_scenario,
)
from invasim.config.schema import MeshConfig, Scenario, TimeConfig

__all__ = [
    "MeshConfig",
    "Scenario",
    "TimeConfig",
    "apply_overrides",
    "builtin_names",
    "dump_toml",
    "load_scenario",
    "read_scenario_data",
    "validate_scenario",
]
