"""`invasim import physicell`: spring attachments and the per-cell mechanics behaviours.

The fixture is tests/data/physicell/two_types with its macrophage given spring attachments
(values written here, read back by hand); rules naming the mechanics behaviours PhysiCell's
dictionary has (attachment rates, affinities, adhesion distance, BM adhesion) load and act.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

import invasim
from invasim.io.physicell import import_physicell, write_imported

DATA = Path(__file__).resolve().parents[1] / "data" / "physicell"
_TAG = "                    <{0} units=\"{1}\">{2}</{0}>\n"
SPRINGS = (
    _TAG.format("cell_cell_repulsion_strength", "micron/min", "8.0")
    + _TAG.format("attachment_elastic_constant", "1/min", "0.05")
    + _TAG.format("attachment_rate", "1/min", "0.2")
    + _TAG.format("detachment_rate", "1/min", "0.01")
    + "                    <maximum_number_of_attachments>3</maximum_number_of_attachments>\n"
)


@pytest.fixture(scope="module")
def springs(tmp_path_factory):
    root = tmp_path_factory.mktemp("springs") / "proj"
    shutil.copytree(DATA / "two_types", root)
    xml = root / "config" / "PhysiCell_settings.xml"
    text = xml.read_text()
    old = '                    <cell_cell_repulsion_strength units="micron/min">8.0'
    old += "</cell_cell_repulsion_strength>\n"
    assert text.count(old) == 1
    xml.write_text(text.replace(old, SPRINGS))
    imp = import_physicell(root, "springs")
    out = root / "springs.toml"
    write_imported(imp, out)
    return imp, out, tomllib.loads(out.read_text("utf-8"))


def test_spring_attachments_are_imported_with_their_values(springs):
    _, _, data = springs
    assert "attachments" in data["params"]["processes"]
    types = data["params"]["cell_types"]
    mac = types["macrophage"]["attachments"]
    assert mac == {"attachment_rate_per_min": 0.2, "detachment_rate_per_min": 0.01,
                   "max_attachments": 3, "elastic_constant_per_min": 0.05}  # fmt: skip
    # the tumour cell keeps PhysiCell's defaults as its XML writes them
    tum = types["tumor_cell"]["attachments"]
    assert tum == {"attachment_rate_per_min": 0.0, "detachment_rate_per_min": 0.0,
                   "max_attachments": 12, "elastic_constant_per_min": 0.01}  # fmt: skip
    assert not any("spring" in n for n in springs[0].notes)


def test_the_imported_springs_run(springs):
    _, out, _ = springs
    sc = invasim.load_scenario(out)
    sim = invasim.Simulation(sc, seed=3)
    sim.model.step(sim.fields, sim.time_min)
    assert "attachments_mean" in sim.model.metrics(sim.fields, sim.time_min)


def _rules_scenario(tmp_path, rules):
    csv = tmp_path / "r.csv"
    csv.write_text("\n".join(rules) + "\n")
    return {
        "name": "mech-rules", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [400.0, 400.0], "voxel_um": 20.0},
        "time": {"end_min": 12.0, "dt_min": 6.0, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 12.0},
        "params": {
            "processes": ["mechanics", "attachments", "contacts"],
            "cell_types": {"a": {}, "b": {}},
            "initial": {"geometry": "random", "n_per_type": {"a": 60, "b": 60},
                        "lo_um": [100.0, 100.0], "hi_um": [300.0, 300.0]},
            "rules": str(csv),
        },
    }  # fmt: skip


@pytest.mark.parametrize("behaviour", [
    "cell attachment rate", "cell detachment rate", "maximum number of cell attachments",
    "cell-cell adhesion elastic constant", "adhesive affinity to b",
    "relative maximum adhesion distance", "cell-BM adhesion",
    "cell-BM repulsion",
])  # fmt: skip
def test_rules_on_physicells_mechanics_behaviours_load(tmp_path, behaviour):
    data = _rules_scenario(tmp_path, [f"a,contact with b,increases,{behaviour},2,1,4,0"])
    sc = invasim.load_scenario(data)
    assert sc.model_params.rule_set.governs(
        sc.model_params.rule_set.dictionary.behaviour(behaviour).name
    )


def test_a_rule_on_the_adhesion_distance_acts_per_cell(tmp_path):
    # a cells touching b reach further: their behaviour differs from the type's base
    data = _rules_scenario(tmp_path, ["a,contact with b,increases,relative maximum adhesion "
                                      "distance,2,0.5,4,0"])  # fmt: skip
    sim = invasim.Simulation(invasim.load_scenario(data), seed=1)
    sim.model.step(sim.fields, sim.time_min)
    beh = sim.model.state.behaviours
    beh.fill(sim.model.state, "motion", 6.0)  # rows were re-sorted after the step's fill
    reach = beh.column("relative maximum adhesion distance")
    kinds = sim.model.cells.type
    assert np.all(reach[kinds == 1] == 1.25)
    assert reach[kinds == 0].max() > 1.25


def test_the_import_normalises_the_bias_direction_as_physicell(springs):
    # PhysiCell's normalize(): a gradient far below 1e-16 /µm biases almost nothing
    _, out, data = springs
    assert data["params"]["motility"] == {"bias_normalisation": "physicell"}
    sc = invasim.load_scenario(out)
    assert sc.model_params.motility.bias_normalisation == "physicell"
