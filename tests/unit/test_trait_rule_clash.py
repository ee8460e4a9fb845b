"""A heritable trait on a behaviour that a rule also sets, in the same cell type, is refused.

A rule starts from the cell type's value (PhysiCell's semantics), so the trait would be
silently discarded there (found in the harsh-vs-mild work: a contact-inhibition rule on
``cycle entry`` switched off the proliferation trait).
"""

from __future__ import annotations

import pytest

import invasim
from invasim.errors import ConfigError


def _data(rule_type: str | None, trait_types: list[str] | None = None):
    p = {
        "dt_diffusion_min": 0.01,
        "dt_mechanics_min": 0.1,
        "cell_types": {
            "tumor": {"cycle": {"model": "live", "rate_per_min": 0.01},
                      "secretion": {"uptake_per_min": {"oxygen": 10.0}}},
            "stroma": {"cycle": {"model": "live", "rate_per_min": 0.001}},
        },
        "traits": {"proliferation": {"initial": 1.0, "scales": ["cycle entry"],
                                     "cell_types": trait_types or []}},
        "initial": {"geometry": "ball", "n_cells": 10},
    }  # fmt: skip
    if rule_type is not None:
        p["rules"] = [{"cell_type": rule_type, "signal": "pressure", "direction": "decreases",
                       "behaviour": "cycle entry", "saturation": 0.0, "half_max": 1.0,
                       "hill_power": 4.0}]  # fmt: skip
    return {
        "name": "clash", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [200.0, 200.0], "voxel_um": 40.0},
        "time": {"end_min": 6.0, "dt_min": 6.0, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 6.0},
        "params": p,
    }  # fmt: skip


def test_trait_and_rule_on_the_same_behaviour_refused():
    with pytest.raises(ConfigError, match=r"params.traits.proliferation.scales names 'cycle "
                                          r"entry', which params.rules also set in cell type "
                                          r"'tumor'"):  # fmt: skip
        invasim.load_scenario(_data("tumor"))


def test_mutating_trait_that_sets_it_refused_a_fixed_one_allowed():
    data = _data("tumor")
    trait = data["params"]["traits"]["proliferation"]
    trait.update(scales=[], sets=["cycle entry"], initial=0.01)
    invasim.load_scenario(data)  # a fixed per-cell value (a PhysiCell distribution) is allowed
    trait.update(mutation_rate=0.1, mutation_step=0.001)
    with pytest.raises(ConfigError, match=r"params.traits.proliferation.sets names 'cycle entry'"):
        invasim.load_scenario(data)


def test_rule_in_another_cell_type_or_no_rule_is_fine():
    invasim.load_scenario(_data(None))
    invasim.load_scenario(_data("stroma", trait_types=["tumor"]))
    with pytest.raises(ConfigError, match="cell type 'stroma'"):  # the trait acts in all types
        invasim.load_scenario(_data("stroma"))
