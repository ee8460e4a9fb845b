"""`invasim import physicell`: PhysiCell 1.14 XML, rules and cells CSVs → an agent scenario.

The fixtures in tests/data/physicell are small PhysiCell-format projects written for these
tests; every expected value below is read off those files by hand (with PhysiCell's reading
rules: core/PhysiCell_cell.cpp, modules/PhysiCell_settings.cpp), never from the converter.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

import invasim.processes  # noqa: F401  (registers the processes)
from invasim.agents.placement import initial_cells, random_cells
from invasim.agents.process import REGISTRY
from invasim.config import load_scenario
from invasim.core import initial as lattice
from invasim.errors import InvasimError
from invasim.io.physicell import find_settings, import_physicell, write_imported
from invasim.io.physicell.files import (
    _fingerprint,
    cpp_functions,
    identifier,
    name_map,
    translate_rules,
)
from invasim.io.physicell.xml import as_bool, as_double, as_int
from invasim.simulation import Simulation

DATA = Path(__file__).resolve().parents[1] / "data" / "physicell"
INTERACTIONS = ("phagocytosis", "attack", "fusion", "damage", "custom_data")
MISSING = [p for p in INTERACTIONS if p not in REGISTRY]
needs_interactions = pytest.mark.skipif(
    bool(MISSING), reason=f"the interaction processes {MISSING} are not registered yet"
)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """The two-type project imported and written."""
    imp = import_physicell(DATA / "two_types", "two")
    out = tmp_path_factory.mktemp("two") / "two.toml"
    write_imported(imp, out)
    return imp, out, tomllib.loads(out.read_text("utf-8"))


def _types(data):
    return data["params"]["cell_types"]


def _note(imp, *needles):
    hits = [n for n in imp.notes if all(x in n for x in needles)]
    assert hits, (needles, imp.notes)
    return hits[0]


# -- reading values as PhysiCell does -----------------------------------------------------------
def test_pugixml_conversions():
    assert as_double("1e-4") == 1e-4
    assert as_double("  .5 min") == 0.5  # strtod: the numeric prefix
    assert as_double("") == 0.0 and as_double("abc") == 0.0
    assert as_int("12") == 12 and as_int("5.7") == 5 and as_int("x") == 0
    assert as_bool("True") and as_bool("true") and as_bool("1") and as_bool("yes")
    assert not as_bool("false") and not as_bool("0") and not as_bool("")


def test_names_become_identifiers():
    assert identifier("M0 macrophage", "type") == "M0_macrophage"
    assert identifier("pro-inflammatory factor", "substrate") == "pro_inflammatory_factor"
    assert identifier("3T3", "type") == "type_3T3"
    assert name_map(["a b", "a-b", "c"], "type") == {"a b": "a_b", "a-b": "a_b_2", "c": "c"}


# -- the two-type project ------------------------------------------------------------------------
def test_mesh_time_and_seed(two):
    _, _, data = two
    assert data["model"] == "agents"
    assert data["seed"] == 7
    assert data["references"] == ["imported from PhysiCell_settings.xml (PhysiCell)"]
    assert data["mesh"] == {"dim": 2, "extent_um": [200.0, 200.0], "voxel_um": 20.0}
    assert data["time"] == {"end_min": 60.0, "dt_min": 6.0, "output_interval_min": 12.0,
                            "checkpoint_interval_min": 1440.0}  # fmt: skip


def test_fields_follow_biofvm(two):
    _, _, data = two
    f = data["params"]["fields"]
    assert list(f) == ["oxygen", "debris_factor"]
    # the per-face <Dirichlet_options> (30 on every 2-D face) override the main value 38
    assert f["oxygen"] == {"kind": "diffusing", "unit": "mmHg", "diffusion_um2_per_min": 1e5,
                           "decay_per_min": 0.1, "boundary": "dirichlet-voxels",
                           "boundary_value": 30.0, "initial": 38.0}  # fmt: skip
    assert f["debris_factor"] == {"kind": "diffusing", "unit": "dimensionless",
                                  "diffusion_um2_per_min": 1000.0, "decay_per_min": 0.5,
                                  "boundary": "no-flux", "initial": 0.0}  # fmt: skip


def test_time_steps_meet_invasims_limits(two):
    imp, _, data = two
    p = data["params"]
    # BioFVM's LOD backward Euler at PhysiCell's own step (stable at any step; invasim's
    # accuracy check off so that the imported model keeps PhysiCell's numerics)
    assert p["diffusion"] == {"scheme": "lod-be", "accuracy_check": False}
    assert p["dt_mechanics_min"] == 0.1
    assert p["dt_diffusion_min"] == 0.01


def test_processes_are_what_the_model_needs(two):
    _, _, data = two
    expected = ["secretion", "diffusion", "mechanics", "motility", "contacts", "volume", "death",
                "cycle", "division", "phagocytosis", "damage", "custom_data"]  # fmt: skip
    assert data["params"]["processes"] == [p for p in expected if p in REGISTRY]


def test_tumour_cell_tables(two):
    _, _, data = two
    t = _types(data)["tumor_cell"]
    assert {k: t["volume"][k] for k in ("volume_um3", "growth_rate_per_min")} == {
        "volume_um3": 2494.0, "growth_rate_per_min": 0.0045}  # the rest: test_volume_*
    c = t["cycle"]
    assert c["model"] == "flow_cytometry_separated"
    assert c["durations_min"] == [300.0, 480.0, 240.0, 60.0]
    assert c["fixed_durations"] == [False, True, True, True]  # PhysiCell's per-phase flags
    # no oxygen dependence in PhysiCell's template: invasim's constant rate
    assert c["oxygen_dependent"] is False and "proliferation_o2_threshold_mmHg" not in c
    assert t["death"] == {
        "apoptosis_rate_per_min": 1e-4, "apoptosis_duration_min": 516.0,
        "apoptosis_fixed_duration": True,
        "lysed_duration_min": 86400.0, "lysed_fixed_duration": True,  # fixed_duration="true"
        "necrosis_max_rate_per_min": 0.002, "necrosis_oxygen_dependent": False,
        "necrotic_swell_rate_per_min": 0.0111667, "relative_rupture_volume": 2.5,
    }  # fmt: skip
    assert t["mechanics"] == {"repulsion_um_per_min": 10.0, "adhesion_um_per_min": 0.4,
                              "relative_max_adhesion_distance": 1.25,
                              "wall_repulsion_um_per_min": 100.0,
                              "adhesive_affinity": {"macrophage": 0.5}}  # fmt: skip
    # <enabled> false: no motility; no chemotaxis: an explicit zero (empty means up the O2)
    assert t["motility"] == {"speed_um_per_min": 0.0, "persistence_time_min": 2.0,
                             "migration_bias": 0.3, "chemotactic_sensitivity": {"oxygen": 0.0}}
    assert t["secretion"] == {"uptake_per_min": {"oxygen": 10.0},
                              "secretion_per_min": {"debris_factor": 0.1},
                              "secretion_target": {"oxygen": 38.0, "debris_factor": 1.0}}


def test_implicit_copy_of_cell_defaults(two):
    """The macrophage (no parent_type) starts as a copy of ID 0, secretion and motility zeroed."""
    _, _, data = two
    m = _types(data)["macrophage"]
    assert {k: m["volume"][k] for k in ("volume_um3", "growth_rate_per_min", "nuclear_um3")} == {
        "volume_um3": 3000.0, "growth_rate_per_min": 0.0045, "nuclear_um3": 540.0}
    assert m["cycle"]["model"] == "live" and m["cycle"]["rate_per_min"] == 0.0
    assert m["mechanics"]["relative_max_adhesion_distance"] == 1.25
    assert m["mechanics"]["repulsion_um_per_min"] == 8.0
    assert m["mechanics"]["adhesion_um_per_min"] == 0.0
    assert m["secretion"] == {"uptake_per_min": {"oxygen": 1.0, "debris_factor": 0.2},
                              "secretion_per_min": {}, "secretion_target": {}}
    assert m["motility"] == {"speed_um_per_min": 1.0, "persistence_time_min": 5.0,
                             "migration_bias": 0.5,
                             "chemotactic_sensitivity": {"oxygen": -0.5, "debris_factor": 1.0}}
    d = m["death"]
    assert (d["apoptosis_rate_per_min"], d["necrosis_max_rate_per_min"]) == (5e-5, 0.0)
    # the death parameters are the copy's (the tumour cell's), not PhysiCell's built-in ones
    assert (d["necrotic_swell_rate_per_min"], d["relative_rupture_volume"]) == (0.0111667, 2.5)


@needs_interactions
def test_interaction_tables(two):
    _, _, data = two
    m, t = _types(data)["macrophage"], _types(data)["tumor_cell"]
    # <dead_phagocytosis_rate> 0.005 stands for the other-dead rate not given
    assert m["phagocytosis"] == {"apoptotic_rate_per_min": 0.01, "necrotic_rate_per_min": 0.02,
                                 "other_dead_rate_per_min": 0.005,
                                 "live_rates_per_min": {"tumor_cell": 0.001}}  # fmt: skip
    assert t["damage"] == {"rate_per_min": 0.0, "repair_rate_per_min": 0.01}
    assert m["damage"] == {"rate_per_min": 0.0, "repair_rate_per_min": 0.01}  # inherited
    assert t["custom_data"] == {"values": {"GFP": 1.0}}
    assert m["custom_data"] == {"values": {"GFP": 0.0}}
    assert data["params"]["custom_data"] == {"variables": {"GFP": "dimensionless"}}
    assert "attack" not in data["params"]["processes"]  # every attack rate is 0


def test_rules_are_translated_and_refusals_named(two):
    imp, out, data = two
    assert data["params"]["rules"] == "two_cell_rules.csv"
    lines = (out.parent / "two_cell_rules.csv").read_text("utf-8").splitlines()
    assert lines[:6] == [
        "// tumour cells",
        "tumor_cell,oxygen,decreases,necrosis,0,3.75,8,0",
        "tumor_cell,pressure,decreases,cycle entry,0,1,4,0",
        "tumor_cell,damage,increases,apoptosis,0.1,5,8,0",
        "// macrophages",
        "macrophage,debris_factor,increases,migration speed,2,0.5,4,0",
    ]
    assert lines[6] == "macrophage,contact with tumor_cell,decreases,migration speed,0.1,1,2,0"
    assert lines[7].startswith("// not imported (") and "intracellular oxygen" in lines[7]
    assert lines[8].startswith("// not imported (PhysiCell 1.14 skips it too: 7 fields")
    assert lines[9] == "macrophage,volume,decreases,phagocytose apoptotic cell,0,6000,4,0"
    _note(imp, "line 8", "intracellular oxygen")
    _note(imp, "line 9", "7 fields")


def test_rule_names_use_invasim_names_and_physicell_ids():
    text = ("M0 macrophage,contact with cell type 5,decreases,transform to M1 macrophage,0,1,1,0\n"
            "M0 macrophage,grad(pro-inflammatory factor),increases,"
            "pro-inflammatory factor secretion,1,1,1,0\n")  # fmt: skip
    types = {"M0 macrophage": "M0_macrophage", "M1 macrophage": "M1_macrophage"}
    subs = {"pro-inflammatory factor": "pro_inflammatory_factor"}
    rf = translate_rules(text, "r.csv", types, subs, {5: "M1_macrophage", 0: "M0_macrophage"})
    assert rf.lines == [
        "M0_macrophage,contact with M1_macrophage,decreases,transform to M1_macrophage,0,1,1,0",
        "M0_macrophage,grad(pro_inflammatory_factor),increases,"
        "pro_inflammatory_factor secretion,1,1,1,0",
    ]


def test_cells_csv_with_header(two):
    imp, out, data = two
    # the v2 columns volume and custom:GFP are per-cell initial values (blank: the type's)
    assert data["params"]["initial"] == {
        "geometry": "table", "path": "two_cells.csv", "origin": "center",
        "columns": {"volume": "volume", "custom:GFP": "cells_custom_GFP"},
    }  # fmt: skip
    trait = data["params"]["traits"]["cells_custom_GFP"]
    assert math.isnan(trait["initial"]) and trait["sets"] == ["custom:GFP"]
    assert (out.parent / "two_cells.csv").read_text("utf-8").splitlines() == [
        "x,y,z,type,volume,custom:GFP", "0.0,0.0,0.0,tumor_cell,2000.0,",
        "16.0,0.0,0.0,tumor_cell,,", "-40.0,40.0,0.0,macrophage,,1.0",
        "60.0,-60.0,0.0,macrophage,,",
    ]  # fmt: skip
    _note(imp, "fibroblast", "PhysiCell skips")
    assert not [n for n in imp.notes if "column" in n]


def test_the_cells_csv_columns_set_each_cells_values(two, monkeypatch, tmp_path):
    _, out, _ = two
    monkeypatch.chdir(tmp_path)
    sim = Simulation(load_scenario(out), seed=1)
    sim.model.behaviours.fill(sim.model.state, "motion", 0.0)
    c = sim.model.cells
    by_id = np.argsort(c.id)  # ids follow the table's rows
    # row 1 volume 2000; the others their type's (tumour 2494, macrophage 3000)
    np.testing.assert_array_equal(c.volume[by_id], [2000.0, 2494.0, 3000.0, 3000.0])
    gfp = sim.model.behaviours.column("custom:GFP")[by_id]
    np.testing.assert_array_equal(gfp, [1.0, 1.0, 1.0, 0.0])  # row 3 set to 1; types 1 and 0


def test_written_scenario_loads_and_places_the_cells(two, monkeypatch, tmp_path):
    _, out, _ = two
    monkeypatch.chdir(tmp_path)  # relative paths are taken from the scenario's folder
    sc = load_scenario(out)
    pos, types = initial_cells(sc.model_params, sc.build_mesh())
    np.testing.assert_array_equal(pos[:, :2], [[100, 100], [116, 100], [60, 140], [160, 40]])
    assert types.tolist() == [0, 0, 1, 1]


def test_notes_are_in_the_toml_header(two):
    imp, _, _ = two
    head = imp.text.split("\nname = ", 1)[0]
    for note in imp.notes:
        assert note in head
    _note(imp, "my_rate")
    assert "'macrophage' ->" not in head  # an identifier already: not renamed
    assert "'tumor cell' -> tumor_cell" in head and "'debris factor' -> debris_factor" in head


# -- the other fixtures --------------------------------------------------------------------------
def test_cells_csv_without_header_off_centre_domain():
    imp = import_physicell(DATA / "v1_cells", "v1")
    data = imp.data
    # x_min = -50: positions shift by +50 and the table is read from the corner
    assert data["params"]["initial"]["origin"] == "corner"
    assert imp.files["v1_cells.csv"].splitlines() == [
        "x,y,z,type", "50.0,50.0,0.0,tumor", "75.0,50.0,0.0,stroma"]
    _note(imp, "no cell definition has ID 7")
    assert data["seed"] == 0
    _note(imp, "random_seed", "system_clock")
    # lod-be at D = 100, h = 25: 0.15 · 625 / 100 = 0.9375 min, so PhysiCell's 0.05 stays
    assert data["params"]["dt_diffusion_min"] == 0.05
    t, s = _types(data)["tumor"], _types(data)["stroma"]
    assert t["cycle"] == {"model": "live", "rate_per_min": 0.001, "fixed_durations": False}
    assert s["cycle"] == t["cycle"]  # parent_type="tumor"
    assert s["volume"]["volume_um3"] == 2000.0 and t["volume"]["volume_um3"] == 2494.0
    # no <death>: PhysiCell's built-in cell (apoptosis 0.00319/h, necrosis 0.67/h swelling)
    assert t["death"]["apoptosis_rate_per_min"] == pytest.approx(0.00319 / 60, rel=1e-12)
    assert t["death"]["necrotic_swell_rate_per_min"] == pytest.approx(0.67 / 60, rel=1e-12)
    assert "motility" not in data["params"]["processes"]


def test_three_d_random_cells_of_the_template():
    imp = import_physicell(DATA / "three_d", "td")
    data = imp.data
    assert data["mesh"] == {"dim": 3, "extent_um": [120.0, 120.0, 100.0], "voxel_um": 20.0}
    _note(imp, "dx, dy, dz = 20, 20, 30")
    _note(imp, "z: 90 -> 100")
    ini = data["params"]["initial"]
    assert ini == {"geometry": "random", "n_per_type": {"a": 3, "b": 3},
                   "lo_um": [0.0, 0.0, 0.0], "hi_um": [120.0, 120.0, 90.0]}  # fmt: skip
    a, b = _types(data)["a"]["motility"], _types(data)["b"]["motility"]
    assert a["chemotactic_sensitivity"] == {"oxygen": -1.0}  # <chemotaxis> direction -1
    assert b == {**a, "speed_um_per_min": 2.0}
    _note(imp, "<use_2D> true in a 3-D domain")
    sc = load_scenario(data)
    pos, types = initial_cells(sc.model_params, sc.build_mesh(), seed=3)
    assert types.tolist() == [0, 0, 0, 1, 1, 1]
    assert np.all(pos >= 0) and np.all(pos <= [120.0, 120.0, 90.0])


def test_unimportable_elements_are_named():
    imp = import_physicell(DATA / "unimportable", "u")
    assert _types(imp.data)["tumor"]["secretion"]["net_export"] == {"oxygen": 5.0}
    # asymmetric division into its own type only: nothing to do (the remainder)
    assert _types(imp.data)["tumor"]["division"] == {"asymmetric": {}}
    for needles in (
        ("<intracellular type='maboss'>",), ("tumor_phenotype()",), ("extra.cpp",),
        ("create_cell_types() differs",), ("setup_tissue() differs",),
        ("normalize_each_gradient",),
        ("<molecular>", "not read"), ("<weights>", "vector"),
        ("virtual_wall_at_domain_edge> false",),
        ("missing_rules.csv", "not found"), ("number_of_cells = 2",),
    ):  # fmt: skip
        _note(imp, *needles)
    t = _types(imp.data)["tumor"]
    # spring attachments are imported (<attachment_rate> 0.1), no longer named
    assert t["attachments"]["attachment_rate_per_min"] == 0.1
    assert "attachments" in imp.data["params"]["processes"]
    # Ki67 advanced, imported as it is: durations 1/0.001, 1/0.00125, 1/0.005 min, PhysiCell's
    # default fixed flags (both Ki67+ phases)
    assert t["cycle"]["model"] == "advanced_Ki67"
    assert t["cycle"]["durations_min"] == pytest.approx([1000.0, 800.0, 200.0], rel=1e-12)
    assert t["cycle"]["fixed_durations"] == [False, True, True]
    # one face of four held (xmin at 38): BioFVM's per-face Dirichlet nodes, the rest closed
    oxygen = imp.data["params"]["fields"]["oxygen"]
    assert oxygen["boundary"] == "dirichlet-voxels"
    assert oxygen["boundary_faces"] == {"xmin": 38.0}
    assert imp.data["params"]["initial"] == {"geometry": "ball", "n_cells": 0}
    assert "rules" not in imp.data["params"]


def test_malformed_xml_names_line_and_element():
    with pytest.raises(InvasimError) as err:
        import_physicell(DATA / "malformed")
    assert str(err.value) == ("PhysiCell_settings.xml line 14: mismatched tag: </phenotype> "
                              "closes <cycle> (opened at line 10)")  # fmt: skip


def test_missing_project(tmp_path):
    with pytest.raises(InvasimError, match="holds no PhysiCell_settings.xml"):
        find_settings(tmp_path)
    with pytest.raises(InvasimError, match="does not exist"):
        find_settings(tmp_path / "nope")


def test_existing_files_are_not_overwritten(two, tmp_path):
    imp, _, _ = two
    out = tmp_path / "two.toml"
    write_imported(imp, out)
    before = out.read_text("utf-8")
    with pytest.raises(InvasimError, match="--overwrite"):
        write_imported(imp, out)
    assert out.read_text("utf-8") == before
    write_imported(imp, out, overwrite=True)


# -- PhysiCell's reading rules, on small inline projects -----------------------------------------
_HEAD = """<PhysiCell_settings>
<domain><x_min>-50</x_min><x_max>50</x_max><y_min>-50</y_min><y_max>50</y_max>
<z_min>-10</z_min><z_max>10</z_max><dx>20</dx><dy>20</dy><dz>20</dz><use_2D>true</use_2D></domain>
<overall><max_time>12</max_time><dt_diffusion>0.01</dt_diffusion><dt_mechanics>0.1</dt_mechanics>
<dt_phenotype>6</dt_phenotype></overall>
<options><virtual_wall_at_domain_edge>true</virtual_wall_at_domain_edge></options>
<microenvironment_setup><variable name="oxygen" units="mmHg"><physical_parameter_set>
<diffusion_coefficient>1000</diffusion_coefficient><decay_rate>0.1</decay_rate>
</physical_parameter_set><initial_condition>38</initial_condition>
<Dirichlet_boundary_condition enabled="true">38</Dirichlet_boundary_condition></variable>
</microenvironment_setup>
"""


def _project(tmp_path, defs: str, cpp: str | None = None) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "PhysiCell_settings.xml").write_text(
        f"{_HEAD}<cell_definitions>{defs}</cell_definitions></PhysiCell_settings>\n"
    )
    if cpp is not None:
        (tmp_path / "custom_modules").mkdir()
        (tmp_path / "custom_modules" / "custom.cpp").write_text(cpp)
    return tmp_path


def test_death_durations_are_shared_by_all_types(tmp_path):
    """PhysiCell's death models are shared objects: the last duration written holds for all."""
    apo = ('<death><model code="100"><death_rate>1e-4</death_rate><phase_durations>'
           '<duration index="0" fixed_duration="true">{}</duration></phase_durations>'
           '</model></death>')  # fmt: skip
    defs = (f'<cell_definition name="a" ID="0"><phenotype>{apo.format(516)}</phenotype>'
            f'</cell_definition><cell_definition name="b" ID="1"><phenotype>{apo.format(300)}'
            f'</phenotype></cell_definition>')  # fmt: skip
    imp = import_physicell(_project(tmp_path, defs))
    for t in ("a", "b"):
        assert _types(imp.data)[t]["death"]["apoptosis_duration_min"] == 300.0
    _note(imp, "death model 100 phase 0", "last one written")


def test_relative_equilibrium_distance_sets_adhesion(tmp_path):
    mech = ("<mechanics><cell_cell_repulsion_strength>10</cell_cell_repulsion_strength>"
            "<relative_maximum_adhesion_distance>1.25</relative_maximum_adhesion_distance>"
            '<options><set_relative_equilibrium_distance enabled="true">1.8'
            "</set_relative_equilibrium_distance></options></mechanics>")  # fmt: skip
    defs = f'<cell_definition name="a" ID="0"><phenotype>{mech}</phenotype></cell_definition>'
    imp = import_physicell(_project(tmp_path, defs))
    # PhysiCell: adhesion = repulsion ((1 - s/2) / (1 - s/(2 s_max)))², s = 1.8, s_max = 1.25
    m = _types(imp.data)["a"]["mechanics"]
    assert m["adhesion_um_per_min"] == pytest.approx(10 * (0.1 / 0.28) ** 2, rel=1e-12)
    assert m["adhesion_um_per_min"] == pytest.approx(1.2755102040816326, rel=1e-12)


def test_o2_based_phenotype_maps_to_invasims_oxygen_model(tmp_path):
    cpp = ("void create_cell_types( void )\n{\n  cell_defaults.functions.update_phenotype = "
           "update_cell_and_death_parameters_O2_based;\n}\n")  # fmt: skip
    defs = ('<cell_definition name="a" ID="0"><phenotype><death><model code="101">'
            "<death_rate>0.5</death_rate></model></death></phenotype></cell_definition>")
    imp = import_physicell(_project(tmp_path, defs, cpp))
    a = _types(imp.data)["a"]
    assert (a["cycle"]["proliferation_o2_threshold_mmHg"],
            a["cycle"]["proliferation_o2_saturation_mmHg"]) == (5.0, 160.0)  # fmt: skip
    d = a["death"]
    assert d["necrosis_max_rate_per_min"] == 1 / 360  # the function replaces <death_rate>
    assert (d["necrosis_threshold_mmHg"], d["necrosis_max_threshold_mmHg"]) == (5.0, 2.5)
    _note(imp, "update_cell_and_death_parameters_O2_based")


def test_a_name_that_clashes_with_the_dictionary_is_renamed(tmp_path):
    """A type 'BM' would make 'contact with BM' (PhysiCell: the basement membrane) ambiguous."""
    defs = ('<cell_definition name="cancer" ID="0"/>'
            '<cell_definition name="BM" ID="1"/>')  # fmt: skip
    imp = import_physicell(_project(tmp_path, defs))
    assert list(_types(imp.data)) == ["cancer", "BM_type"]
    _note(imp, "'contact with BM' ambiguous", "renamed")


def test_custom_code_scan():
    src = (DATA / "unimportable" / "custom_modules" / "custom.cpp").read_text()
    assert list(cpp_functions(src)) == ["create_cell_types", "setup_tissue", "tumor_phenotype"]
    a = "void f( void )\n{\n  int x = 1;  // a comment\n  std::cout << \"x; y\";\n  return;\n}\n"
    b = "void f(void) { int x=1; /* other } */ return; }"
    c = "void f(void) { int x=2; return; }"
    body = {k: _fingerprint(cpp_functions(v)["f"]) for k, v in (("a", a), ("b", b), ("c", c))}
    assert body["a"] == body["b"]  # layout, comments and printing aside
    assert body["a"] != body["c"]


# -- the random placement ----------------------------------------------------------------------
def test_random_placement_is_keyed_by_the_seed():
    lo, hi = np.zeros(2), np.array([100.0, 50.0])
    p1, t1 = random_cells([3, 2], lo, hi, 2, seed=5)
    p2, _ = random_cells([3, 2], lo, hi, 2, seed=5)
    p3, _ = random_cells([3, 2], lo, hi, 2, seed=6)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)
    assert t1.tolist() == [0, 0, 0, 1, 1]
    assert np.all(p1[:, :2] > 0) and np.all(p1[:, :2] < hi) and np.all(p1[:, 2] == 0)
    # the first cells do not depend on how many come after them
    np.testing.assert_array_equal(random_cells([1], lo, hi, 2, 5)[0][0], p1[0])
    # uniform: the mean of many draws is the box centre
    many, _ = random_cells([20000], lo, hi, 2, seed=1)
    np.testing.assert_allclose(many[:, :2].mean(axis=0), hi / 2, rtol=0.02)


def test_ball_geometry_is_unchanged():
    sc = load_scenario("spheroid-2d", ["params.initial.radius_um=50"])
    pos, _ = initial_cells(sc.model_params, sc.build_mesh(), seed=123)
    np.testing.assert_array_equal(pos, lattice.ball(2, 16.0, [500.0, 500.0], radius=50.0))


def test_random_geometry_checks_its_types():
    sc = load_scenario("spheroid-2d")
    data = sc.to_data()
    data["params"]["initial"] = {"geometry": "random", "n_per_type": {"tumour": 2}}
    with pytest.raises(Exception, match="n_per_type names"):
        load_scenario(data)
    assert math.isfinite(sc.time.dt_min)


# -- internalised substrates ---------------------------------------------------------------------
def _tracking_project(tmp_path, track: str, molecular: str = "<molecular />") -> Path:
    """One type taking up oxygen, a rule on its internalised oxygen, the track option."""
    head = _HEAD.replace(
        "</microenvironment_setup>",
        "<options><track_internalized_substrates_in_each_agent>"
        f"{track}</track_internalized_substrates_in_each_agent></options></microenvironment_setup>",
    )
    defs = ('<cell_definition name="a" ID="0"><phenotype><secretion><substrate name="oxygen">'
            "<uptake_rate>10</uptake_rate></substrate></secretion>"
            f"{molecular}</phenotype></cell_definition>")  # fmt: skip
    rules = ('<cell_rules><rulesets><ruleset protocol="CBHG" version="3.0" format="csv" '
             'enabled="true"><folder>./config</folder><filename>rules.csv</filename>'
             "</ruleset></rulesets></cell_rules>")  # fmt: skip
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "PhysiCell_settings.xml").write_text(
        f"{head}<cell_definitions>{defs}</cell_definitions>{rules}</PhysiCell_settings>\n"
    )
    (tmp_path / "config" / "rules.csv").write_text(
        "a,intracellular oxygen,increases,apoptosis,0.01,1e5,2,0\n"
    )
    return tmp_path


def test_tracked_internalized_substrates_are_imported_with_their_rule(tmp_path):
    imp = import_physicell(_tracking_project(tmp_path, "true"), "t")
    sec = imp.data["params"]["secretion"]
    assert sec["track_internalized"] is True
    assert "secretion" in imp.data["params"]["processes"]
    # PhysiCell's defaults (0 released, 1 transferred) are invasim's: nothing per type
    assert "fraction_released_at_death" not in _types(imp.data)["a"]["secretion"]
    assert not [n for n in imp.notes if "track_internalized" in n or "intracellular" in n]
    out = tmp_path / "t.toml"
    write_imported(imp, out)
    assert "track_internalized = true" in out.read_text("utf-8")
    rules = (tmp_path / "t_cell_rules.csv").read_text("utf-8").splitlines()
    assert rules[0] == "a,intracellular oxygen,increases,apoptosis,0.01,1e5,2,0"  # kept
    sc = load_scenario(out)
    assert sc.model_params.rule_set.table.rules[0].signal == "intracellular oxygen"


def test_untracked_internalized_rule_is_refused_with_the_reason(tmp_path):
    # PhysiCell without tracking: the amounts stay 0, so the rule never acts; invasim refuses
    # it (one reason, naming the switch) and the scenario has no tracking
    imp = import_physicell(_tracking_project(tmp_path, "false"), "t")
    assert "track_internalized" not in imp.data["params"].get("secretion", {})
    _note(imp, "intracellular oxygen", "track_internalized = true")


def test_molecular_children_are_named_not_imported(tmp_path):
    mol = "<molecular><fraction_released_at_death>0.5</fraction_released_at_death></molecular>"
    imp = import_physicell(_tracking_project(tmp_path, "true", mol), "t")
    _note(imp, "<molecular>", "not read by PhysiCell 1.14", "defaults apply")
    assert "fraction_released_at_death" not in _types(imp.data)["a"]["secretion"]


# -- PhysiCell's standard cycle models, imported as they are -------------------------------------
def test_every_standard_cycle_model_is_imported_exactly(tmp_path):
    """Ki67 advanced (durations), cycling-quiescent (rates) and Ki67 basic (PhysiCell defaults).

    Expected values read off the XML below and PhysiCell 1.14's create_ki67_models /
    create_cycling_quiescent_model by hand. A rule on a phase the model lacks is commented
    out with the reason (PhysiCell warns and ignores it); one on a phase it has is kept.
    """
    ki67 = ('<cycle code="0" name="Ki67 (advanced)"><phase_durations units="min">'
            '<duration index="0" fixed_duration="false">240</duration>'
            '<duration index="1" fixed_duration="true">720</duration>'
            '<duration index="2" fixed_duration="true">180</duration>'
            "</phase_durations></cycle>")  # fmt: skip
    cq = ('<cycle code="7" name="Cycling-Quiescent model"><phase_transition_rates units="1/min">'
          '<rate start_index="0" end_index="1" fixed_duration="false">0.002</rate>'
          '<rate start_index="1" end_index="0" fixed_duration="false">0.00125</rate>'
          "</phase_transition_rates></cycle>")  # fmt: skip
    defs = (f'<cell_definition name="ki" ID="0"><phenotype>{ki67}</phenotype></cell_definition>'
            f'<cell_definition name="cq" ID="1"><phenotype>{cq}</phenotype></cell_definition>'
            '<cell_definition name="basic" ID="2"><phenotype><cycle code="1"/></phenotype>'
            "</cell_definition>")  # fmt: skip
    rules_xml = ('<cell_rules><rulesets><ruleset protocol="CBHG" version="3.0" format="csv" '
                 'enabled="true"><folder>./config</folder><filename>rules.csv</filename>'
                 "</ruleset></rulesets></cell_rules>")  # fmt: skip
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "PhysiCell_settings.xml").write_text(
        f"{_HEAD}<cell_definitions>{defs}</cell_definitions>{rules_xml}</PhysiCell_settings>\n"
    )
    (tmp_path / "config" / "rules.csv").write_text(
        "ki,time,increases,exit from cycle phase 2,0.01,100,1,0\n"
        "cq,time,increases,exit from cycle phase 2,0.01,100,1,0\n"
    )
    imp = import_physicell(tmp_path, "c")
    types = _types(imp.data)
    assert types["ki"]["cycle"]["model"] == "advanced_Ki67"
    assert types["ki"]["cycle"]["durations_min"] == [240.0, 720.0, 180.0]
    assert types["ki"]["cycle"]["fixed_durations"] == [False, True, True]
    assert types["cq"]["cycle"]["model"] == "cycling_quiescent"
    assert types["cq"]["cycle"]["durations_min"] == [1 / 0.002, 1 / 0.00125]  # 500, 800 min
    assert types["cq"]["cycle"]["fixed_durations"] is False  # the XML's flags, not the default
    b = types["basic"]["cycle"]
    assert b["model"] == "basic_Ki67" and b["fixed_durations"] == [False, True]
    assert b["durations_min"] == pytest.approx([4.59 * 60, 15.5 * 60], rel=1e-14)
    assert not [n for n in imp.notes if "approximat" in n or "cycle model" in n.lower()
                and "exit from cycle phase" not in n]  # fmt: skip
    # the scenario runs these models: phases, rates and flags as PhysiCell's
    out = tmp_path / "c.toml"
    write_imported(imp, out)
    m = load_scenario(out).model_params.cell_types["ki"].cycle.cycle_model()
    assert m.phases == ("Ki67-", "Ki67+ (premitotic)", "Ki67+ (postmitotic)")
    assert m.division == (False, True, False) and m.fixed == (False, True, True)
    assert m.rates == (1 / 240, 1 / 720, 1 / 180)
    rules = imp.files["c_cell_rules.csv"].splitlines()
    assert "ki,time,increases,exit from cycle phase 2,0.01,100,1,0" in rules
    dropped = next(line for line in rules if line.startswith("// not imported"))
    assert "cq,time,increases,exit from cycle phase 2" in dropped
    _note(imp, "exit from cycle phase 2", "cycling_quiescent has phases 0 Quiescent, 1 Cycling")


def test_volume_model_and_death_volume_parameters(two):
    """``<volume>`` and the death models' ``<parameters>`` → the physicell volume model, each
    value with its XML line (two_types lines 89-116); absent elements are PhysiCell's defaults
    (for a death model read from XML, the Death_Parameters constructor's, apoptosis-like).
    """
    imp, out, data = two
    v = _types(data)["tumor_cell"]["volume"]
    assert v["model"] == "physicell"
    assert (v["volume_um3"], v["fluid_fraction"], v["nuclear_um3"]) == (2494.0, 0.75, 540.0)
    assert v["growth_rate_per_min"] == 0.0045  # <cytoplasmic_biomass_change_rate>
    assert v["fluid_change_rate_per_min"] == pytest.approx(3.0 / 60, rel=1e-15)
    assert v["nuclear_biomass_change_rate_per_min"] == pytest.approx(0.33 / 60, rel=1e-15)
    assert (v["calcified_fraction"], v["calcification_rate_per_min"]) == (0.0, 0.0)
    assert v["relative_rupture_volume"] == 2.0
    assert v["apoptotic_fluid_change_rate_per_min"] == 0.05  # line 94
    assert v["necrotic_lysed_fluid_change_rate_per_min"] == 8.33333e-4  # line 106
    assert v["necrotic_cytoplasmic_biomass_change_rate_per_min"] == pytest.approx(1 / 60)
    d = _types(data)["tumor_cell"]["death"]
    assert (d["necrotic_swell_rate_per_min"], d["relative_rupture_volume"]) == (0.0111667, 2.5)
    text = out.read_text("utf-8")
    for line in ("<volume><total>, line 112", "<volume><fluid_fraction>, line 113",
                 "<volume><nuclear>, line 114",
                 '<model code="100"><parameters><unlysed_fluid_change_rate>, line 94',
                 '<model code="101"><parameters><lysed_fluid_change_rate>, line 106'):
        assert line in text, line
    assert not [n for n in imp.notes if "<volume> fluid_fraction" in n]
    _note(imp, "apoptosis <parameters> lysed_fluid_change_rate", "no effect in PhysiCell")
    # the imported scenario builds the volume model's tables
    from invasim.processes.volume import physicell_volume_params

    p = physicell_volume_params(load_scenario(out).model_params)
    assert p.use.all() and p.relative_rupture[0] == 2.5
    assert p.rates[0, 2, 0] == 0.0111667  # necrotic swelling: the death table's unlysed rate
