"""`invasim import physicell` in a subprocess: import, validate, run; malformed XML, no project."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
from conftest import assert_one_line_error, run_cli

DATA = Path(__file__).resolve().parents[1] / "data" / "physicell"


def test_import_validate_and_run(tmp_path):
    out = tmp_path / "tmp" / "x.toml"
    out.parent.mkdir()
    proc = run_cli("import", "physicell", str(DATA / "two_types"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "x.toml", "x_cell_rules.csv", "x_cells.csv"]
    assert f"wrote {out}" in proc.stdout
    # one message on stderr: a first line, then one item per line
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("invasim: not imported from ") and lines[0].endswith(":")
    assert all(ln.startswith("  - ") for ln in lines[1:]) and len(lines) > 5
    assert any("intracellular oxygen" in ln for ln in lines)
    assert "Traceback" not in proc.stderr
    text = out.read_text("utf-8")
    assert text.startswith("# Imported from PhysiCell by `invasim import physicell`")
    assert tomllib.loads(text)["params"]["initial"]["path"] == "x_cells.csv"

    elsewhere = tmp_path / "elsewhere"  # relative files are found from the scenario's folder
    elsewhere.mkdir()
    ok = run_cli("validate", str(out), cwd=elsewhere)
    assert ok.returncode == 0, ok.stderr
    assert "valid (agents, 2D, 100 voxels" in ok.stdout
    run = tmp_path / "run"
    proc = run_cli("run", str(out), "--until", "12", "--out", str(run), "--quiet", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["time_min"].tolist() == [0, 12]
    assert metrics["n_tumor_cell"].iloc[0] == 2 and metrics["n_macrophage"].iloc[0] == 2


def test_default_out_is_the_project_name(tmp_path):
    proc = run_cli("import", "physicell", str(DATA / "three_d"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "three_d.toml").is_file()
    again = run_cli("import", "physicell", str(DATA / "three_d"), cwd=tmp_path)
    assert_one_line_error(again, "three_d.toml", "--overwrite")
    ok = run_cli("import", "physicell", str(DATA / "three_d"), "--overwrite", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


def test_malformed_xml_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "bad.toml"
    xml = DATA / "malformed" / "PhysiCell_settings.xml"
    proc = run_cli("import", "physicell", str(xml), "--out", str(out))
    assert_one_line_error(proc, "PhysiCell_settings.xml line 14: mismatched tag", "</phenotype>",
                          "<cycle> (opened at line 10)")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_folder_without_settings_is_one_line(tmp_path):
    proc = run_cli("import", "physicell", str(tmp_path), "--out", str(tmp_path / "x.toml"))
    assert_one_line_error(proc, "holds no PhysiCell_settings.xml")
    proc = run_cli("import", "physicell", str(tmp_path / "nope"))
    assert_one_line_error(proc, "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_help_lists_the_command():
    top = run_cli("--help")
    assert "import" in top.stdout
    sub = run_cli("import", "physicell", "--help")
    assert sub.returncode == 0 and "CONFIG_DIR_OR_XML" in sub.stdout and "--out" in sub.stdout
