"""`invasim import physicell`: `<initial_parameter_distributions>` become per-type traits.

The fixture is tests/data/physicell/two_types with distributions added to its macrophage
(written here; expected values read off them by hand with PhysiCell's rules,
modules/PhysiCell_geometry.cpp `set_distributed_parameter`): each initial macrophage draws
its migration speed and volume once; daughters copy them; tumour cells keep their type's.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import invasim
from invasim.errors import InvasimError
from invasim.io.physicell import import_physicell, write_imported

DATA = Path(__file__).resolve().parents[1] / "data" / "physicell"
END = "        </cell_definition>\n"
DISTS = """            <initial_parameter_distributions enabled="true">
                <distribution enabled="true" type="LogUniform" check_base="true">
                    <behavior>migration speed</behavior>
                    <min>0.5</min>
                    <max>2.0</max>
                </distribution>
                <distribution enabled="true" type="Normal" check_base="false">
                    <behavior>Volume</behavior>
                    <mu>2000</mu>
                    <sigma>200</sigma>
                    <lower_bound>1500</lower_bound>
                </distribution>
                <distribution enabled="true" type="Log10Normal" check_base="false">
                    <behavior>debris factor uptake</behavior>
                    <mu>-1</mu>
                    <sigma>0.1</sigma>
                </distribution>
                <distribution enabled="false" type="Uniform">
                    <behavior>apoptosis</behavior>
                    <min>0</min>
                    <max>1</max>
                </distribution>
            </initial_parameter_distributions>
"""


def _project(tmp_path, dists=DISTS):
    root = tmp_path / "proj"
    shutil.copytree(DATA / "two_types", root)
    xml = root / "config" / "PhysiCell_settings.xml"
    text = xml.read_text()
    first = text.index(END)
    second = text.index(END, first + 1)  # the macrophage's definition
    xml.write_text(text[:second] + dists + text[second:])
    return root


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = _project(tmp_path_factory.mktemp("dists"))
    imp = import_physicell(root, "dists")
    out = root / "dists.toml"
    write_imported(imp, out)
    return imp, out


def test_each_enabled_distribution_becomes_a_trait_of_its_type(imported):
    imp, _ = imported
    traits = imp.data["params"]["traits"]
    # (the fixture's cells.csv column custom:GFP is a trait of its own)
    assert set(traits) - {"cells_custom_GFP"} == {"macrophage_migration_speed",
                                                  "macrophage_debris_factor_uptake"}
    speed = traits["macrophage_migration_speed"]
    assert speed["initial"] == {"distribution": "loguniform", "lower": 0.5, "upper": 2.0}
    assert speed["sets"] == ["migration speed"] and speed["cell_types"] == ["macrophage"]
    # Log10Normal: log10 x ~ N(-1, 0.1) is ln x ~ N(-ln 10, 0.1 ln 10)
    up = traits["macrophage_debris_factor_uptake"]["initial"]
    assert up["distribution"] == "lognormal"
    assert up["mu"] == pytest.approx(-math.log(10)) and up["sigma"] == pytest.approx(
        0.1 * math.log(10))
    vol = imp.data["params"]["cell_types"]["macrophage"]["volume"]["initial_um3"]
    assert vol == {"distribution": "normal", "mu": 2000.0, "sigma": 200.0, "lower": 1500.0}


def test_the_imported_distributions_act_on_the_initial_cells_of_their_type(imported):
    _, out = imported
    sc = invasim.load_scenario(out)
    sim = invasim.Simulation(sc, seed=2)
    sim.model.behaviours.fill(sim.model.state, "motion", 0.0)
    c = sim.model.cells
    mac = c.type == list(sc.model_params.cell_types).index("macrophage")
    assert mac.sum() >= 2 and (~mac).sum() >= 2
    speed = sim.model.behaviours.column("migration speed")
    assert np.all((speed[mac] >= 0.5) & (speed[mac] <= 2.0))
    tumour_speed = sc.model_params.cell_types["tumor_cell"].motility.speed_um_per_min
    assert np.all(speed[~mac] == tumour_speed)  # the type's value, untouched
    assert np.all(c.volume[mac] >= 1500.0)
    # tumour cells: their cells.csv volume (2000 on the first row), else the type's
    np.testing.assert_array_equal(np.sort(c.volume[~mac]), [2000.0, 2494.0])


def test_a_base_value_outside_a_checked_distribution_stops_the_import(tmp_path):
    # the macrophage's <total> volume is 3000, above a checked upper bound of 2500
    bad = DISTS.replace('type="Normal" check_base="false"', 'type="Normal" check_base="true"')
    bad = bad.replace("<lower_bound>1500</lower_bound>",
                      "<lower_bound>1500</lower_bound><upper_bound>2500</upper_bound>")
    with pytest.raises(InvasimError) as info:
        import_physicell(_project(tmp_path, bad), "bad")
    msg = str(info.value)
    assert "\n" not in msg and "check_base" in msg and "3000" in msg
