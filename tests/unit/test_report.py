"""The HTML report, the readout registry and the notebook display, from hand-made runs."""

from __future__ import annotations

import base64
import io
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_plot import TIMES, make_run

from invasim.cli import main
from invasim.config import load_scenario
from invasim.config.schema import MeshConfig
from invasim.errors import ConfigError, RunDirError
from invasim.io.run import load_run
from invasim.viz import readouts as ro
from invasim.viz import report as rp
from invasim.viz.common import pick

SECTIONS = ("scenario", "readouts", "metrics", "snapshots", "movie", "provenance")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def scenario_data() -> dict:
    """spheroid-2d resolved, small, with a second cell type."""
    data = load_scenario("spheroid-2d").to_data()
    data["params"]["cell_types"]["stroma"] = dict(data["params"]["cell_types"]["tumor"])
    data["mesh"]["extent_um"] = [300.0, 300.0]
    data["params"]["initial"]["radius_um"] = 60.0
    return data


def report_run(path: Path) -> Path:
    data = scenario_data()
    extra = {"scenario": data, "scenario_name": "two-types", "model": "agents",
             "cell_types": ["tumor", "stroma"], "references": data["references"],
             "wall_s": 12.5, "started_at": "2025-01-01T00:00:00+00:00",
             "ended_at": "2025-01-01T00:00:12+00:00", "command": ["invasim", "run", "x y.toml"],
             "platform": {"python": "3.11.7", "machine": "x86_64"}}
    return make_run(path, meta_extra=extra)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return load_run(report_run(tmp_path_factory.mktemp("report") / "run"))


class Page(HTMLParser):
    """Tags, attributes, text by section, and a check that elements nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.section_ids: list[str] = []
        self.text: dict[str, list[str]] = {}
        self.where: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "section" and "id" in a:
            self.section_ids.append(a["id"])
        if tag not in VOID:
            self.stack.append(tag)
            self.where.append(a.get("id", "") if tag == "section" else "")

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        self.where.pop()

    def handle_data(self, data):
        sec = next((w for w in reversed(self.where) if w), "")
        self.text.setdefault(sec, []).append(data)

    def section_text(self, name: str) -> str:
        return " ".join(self.text.get(name, []))

    def all(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag]


def parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    p.close()
    return p


def decode(uri: str) -> tuple[str, bytes]:
    head, data = uri.split(",", 1)
    assert head.startswith("data:") and head.endswith(";base64")
    return head[5:-7], base64.b64decode(data, validate=True)


def offline(page: Page, text: str) -> None:
    """Nothing in the page can reach the network."""
    for _, attrs in page.tags:
        for key, value in attrs.items():
            v = value.strip().lower()
            assert not v.startswith(("http:", "https:", "//", "ftp:")), (key, value[:80])
    assert not page.all("script") and not page.all("link") and not page.all("iframe")
    assert "url(" not in text and "@import" not in text


# -- the parameter table -----------------------------------------------------------------------
def test_parameter_rows_follow_the_scenario_and_its_schema(run):
    rows = {r["key"]: r for r in rp.parameter_rows(run)}
    data = scenario_data()

    def lookup(dotted):
        v = data
        for part in dotted.split("."):
            v = v[part]
        return v

    for key, r in rows.items():  # every value reads back as the scenario's
        value = lookup(key)
        shown = r["value"] if isinstance(value, str) else tomllib.loads(f"v = {r['value']}")["v"]
        assert shown == value, key

    def leaves(d, path=""):
        for k, v in d.items():
            dotted = f"{path}.{k}" if path else k
            if isinstance(v, dict) and v:
                yield from leaves(v, dotted)
            elif v is not None:
                yield dotted

    skipped = ("description", "references", "sources")
    for leaf in leaves(data):  # and every value of the scenario is in a row
        if leaf.split(".")[0] in skipped:
            continue
        assert any(leaf == k or leaf.startswith(k + ".") for k in rows), leaf
    assert rows["mesh.voxel_um"]["unit"] == "µm"
    assert rows["mesh.voxel_um"]["description"] == "voxel side"
    assert MeshConfig.model_fields["voxel_um"].description == "voxel side [µm]"
    assert rows["mesh.extent_um"]["unit"] == "µm"
    assert rows["time.dt_min"]["source"] == data["sources"]["time.dt_min"]
    assert rows["params.fields.oxygen.initial"]["unit"] == "mmHg"  # the substrate's unit
    # a cell type added by the user is described by the cell-type schema
    assert "volume" in rows["params.cell_types.stroma.volume.volume_um3"]["description"]
    assert rows["params.cell_types.stroma.secretion.uptake_per_min"]["value"] == "{ oxygen = 10.0 }"


def test_parameter_rows_of_a_run_without_scenario(tmp_path):
    assert rp.parameter_rows(load_run(make_run(tmp_path / "bare"))) == []


# -- the report --------------------------------------------------------------------------------
def test_report_is_one_offline_html5_file_with_every_section(run):
    out = rp.write_report(run)
    assert out == run.path / "report.html"
    text = out.read_text("utf-8")
    page = parse(text)
    assert page.doctype.lower() == "doctype html" and page.problems == [] and page.stack == []
    assert page.all("html")[0]["lang"] == "en"
    assert any(m.get("charset", "").lower() == "utf-8" for m in page.all("meta"))
    assert page.section_ids == list(SECTIONS)
    offline(page, text)
    # every image is an embedded PNG that decodes to a picture
    imgs = page.all("img")
    for a in imgs:
        mime, data = decode(a["src"])
        assert mime == "image/png" and a["alt"]
        with Image.open(io.BytesIO(data)) as im:
            rgb = np.asarray(im.convert("RGB"))
        assert (int(a["width"]), int(a["height"])) == (rgb.shape[1], rgb.shape[0])
        assert (rgb.min(axis=-1) < 245).mean() > 0.05
    # the snapshots: four evenly spaced by default (here all three), captioned with their time
    shown = [a for a in imgs if a["alt"].startswith("snapshot at")]
    want = [TIMES[k] for k in pick(len(TIMES), rp.N_SNAPSHOTS)]
    assert [a["alt"] for a in shown] == [f"snapshot at t = {t:g} min" for t in want]
    # the movie: made in the run directory, embedded byte for byte
    (source,) = page.all("source")
    mime, data = decode(source["src"])
    assert mime == "video/mp4" == source["type"]
    assert data == (run.path / "movie.mp4").read_bytes() and data[4:8] == b"ftyp"
    assert "controls" in page.all("video")[0]
    # the scenario in words and as a table
    words = page.section_text("scenario")
    assert "agent-based" in words and "300 × 300 µm" in words and "seed 7" in words
    assert "Ghaffarizadeh" in words
    n_rows = len([t for t, _ in page.tags if t == "tr"])
    assert n_rows >= len(rp.parameter_rows(run))
    # provenance
    prov = page.section_text("provenance")
    for needle in ("0.1.0", "12.5 s", "2025-01-01T00:00:00+00:00", "x86_64",
                   "invasim run 'x y.toml'"):
        assert needle in prov, needle


def test_readouts_agree_with_the_tables(run):
    readings = {e.name: r for e, r in ro.collect(run)}
    cells = run.cells()  # the last snapshot, counted here with pandas
    c = readings["cells"]
    assert c["cells"].value == len(cells)
    assert c["live"].value == int((cells["dead"] == 0).sum())
    assert c["necrotic"].value == int((cells["dead"] == 2).sum()) > 0
    assert c["apoptotic"].value == int((cells["dead"] == 1).sum()) > 0
    assert c["live tumor"].value == int(((cells["dead"] == 0) & (cells["type"] == 0)).sum())
    assert c["live stroma"].value == int(((cells["dead"] == 0) & (cells["type"] == 1)).sum())
    assert c["necrotic fraction"].value == pytest.approx((cells["dead"] == 2).mean())
    m = pd.read_csv(run.path / "metrics.csv")
    assert readings["invasion"]["invasion depth"].value == m["front_um"].iloc[-1]
    assert readings["invasion"]["invasion depth"].unit == "µm"
    assert readings["metrics"]["n_cells"].value == m["n_cells"].iloc[-1]
    assert readings["run"]["status"].value == "completed"
    # the radius without a tumor_radius_um metric: 95th percentile of live distances
    live = cells[cells["dead"] == 0]
    com = cells[["x", "y"]].to_numpy().mean(axis=0)
    d = np.hypot(live["x"] - com[0], live["y"] - com[1])
    assert c["tumour radius"].value == pytest.approx(np.percentile(d, 95))
    text = parse(rp.report_html(run, movie=False)).section_text("readouts")
    assert f"{int((cells['dead'] == 0).sum()):,}" in text and "invasion depth" in text


def test_a_registered_readout_reaches_the_report(run):
    @ro.register("test-buds", "Budding", order=30)
    def buds(r):
        return {"bud grade": ro.Reading(2, note="test readout")}

    @ro.register("test-none", "Never", order=31)
    def never(r):
        return None

    try:
        titles = [e.title for e, _ in ro.collect(run)]
        assert titles.index("Budding") == titles.index("Cells") + 1 and "Never" not in titles
        text = parse(rp.report_html(run, movie=False)).section_text("readouts")
        assert "Budding" in text and "bud grade" in text and "Never" not in text
    finally:
        ro.REGISTRY.pop("test-buds")
        ro.REGISTRY.pop("test-none")


def test_report_times_and_errors(tmp_path, run):
    page = parse(rp.report_html(run, [1200.0, 0.0], movie=False))
    alts = [a["alt"] for a in page.all("img") if a["alt"].startswith("snapshot")]
    assert alts == ["snapshot at t = 1200 min", "snapshot at t = 0 min"]
    assert "Left out" in page.section_text("movie") and not page.all("video")
    with pytest.raises(RunDirError, match="no snapshot at t = 5 min; snapshots from 0 to 1200"):
        rp.write_report(run, tmp_path / "r.html", [5.0], movie=False)
    with pytest.raises(ConfigError, match="must end in .html"):
        rp.write_report(run, tmp_path / "r.pdf", movie=False)
    with pytest.raises(RunDirError, match="does not exist"):
        rp.write_report(run, tmp_path / "no" / "r.html", movie=False)
    assert rp.parse_times("0, 600,1200") == [0.0, 600.0, 1200.0]
    for bad in ("", "a,1", ",,"):
        with pytest.raises(ConfigError, match="--times takes"):
            rp.parse_times(bad)
    assert not list(tmp_path.iterdir())


def test_a_large_movie_is_linked_not_embedded(tmp_path, monkeypatch):
    run = load_run(make_run(tmp_path / "run"))
    movie = run.path / "movie.gif"
    Image.new("RGB", (40, 30), "orange").save(movie)  # an existing movie is used as it is
    monkeypatch.setattr(rp, "MAX_EMBED_BYTES", 10)
    (tmp_path / "reports").mkdir()
    out = rp.write_report(run, tmp_path / "reports" / "r.html", [0.0])
    page = parse(out.read_text("utf-8"))
    (link,) = [a["href"] for a in page.all("a") if a["href"].endswith("movie.gif")]
    assert (out.parent / link).resolve() == movie.resolve()
    assert "too large to embed" in page.section_text("movie")
    assert not page.all("video") and not any("gif" in a["src"][:20] for a in page.all("img"))
    monkeypatch.setattr(rp, "MAX_EMBED_BYTES", 10**9)
    page = parse(rp.report_html(run, [0.0]))
    (gif,) = [a for a in page.all("img") if a["src"].startswith("data:image/gif")]
    assert decode(gif["src"])[1] == movie.read_bytes()


# -- the notebook ------------------------------------------------------------------------------
def test_repr_html_shows_the_run_and_its_summary(tmp_path):
    run = load_run(report_run(tmp_path / "run"))
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 114, 178)).save(png, format="PNG")
    (run.path / "summary.png").write_bytes(png.getvalue())
    text = run._repr_html_()
    page = parse(text)
    assert page.problems == [] and page.stack == []
    body = " ".join(" ".join(v) for v in page.text.values())
    m = pd.read_csv(run.path / "metrics.csv").iloc[-1]
    for needle in ("two-types", "completed", "7", "1200 min", "n_cells",
                   f"{int(m['n_cells']):,}", f"{m['front_um']:.4g} µm"):
        assert needle in body, needle
    (img,) = page.all("img")
    assert decode(img["src"]) == ("image/png", png.getvalue())
    (run.path / "summary.png").unlink()  # no summary: a snapshot drawn on the spot
    (img,) = parse(run._repr_html_()).all("img")
    with Image.open(io.BytesIO(decode(img["src"])[1])) as im:
        assert (np.asarray(im.convert("RGB")).min(axis=-1) < 245).mean() > 0.2


def test_repr_html_of_running_and_killed_runs(tmp_path):
    path = make_run(tmp_path / "run", meta_extra={"status": "running"})
    (path / "metrics.csv").unlink()  # killed before a metrics row
    text = load_run(path)._repr_html_()
    assert "running" in text and "none recorded yet" in text and "<img" in text
    import shutil

    shutil.rmtree(path / "fields.zarr")  # nothing recorded at all
    text = load_run(path)._repr_html_()
    assert "no figure" in text and "none recorded yet" in text


# -- the command -------------------------------------------------------------------------------
def test_cli_report(tmp_path, capsys):
    path = report_run(tmp_path / "run")
    out = tmp_path / "r.html"
    assert main(["report", str(path), "--out", str(out), "--times", "0,1200", "--no-movie"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert parse(out.read_text("utf-8")).section_ids == list(SECTIONS)


@pytest.mark.parametrize(
    ("extra", "needles"),
    [(["--times", "5"], ["no snapshot at t = 5 min", "from 0 to 1200 min"]),
     (["--times", "x"], ["--times takes"]),
     (["--out", "r.txt"], ["must end in .html"])],
)
def test_cli_report_errors_are_one_line(tmp_path, capsys, extra, needles):
    path = make_run(tmp_path / "run")
    assert main(["report", str(path), "--no-movie", *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
