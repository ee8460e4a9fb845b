"""`invasim report` opened in headless Chromium: it renders, its media load, no console errors.

Chromium comes from PATH, or is installed by the test set-up (tests/browser.py: Debian's
``chromium`` package through apt-get when running as root); the tests are skipped, with the
reason, only where neither is possible.
"""

from __future__ import annotations

import tomllib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from browser import chromium, load_page, skip_reason
from conftest import run_cli
from matplotlib.colors import to_rgb
from PIL import Image

from invasim.config import scenarios
from invasim.core.initial import ball
from invasim.viz.cells import TYPE_COLOURS

WINDOW = (1280, 2400)


@pytest.fixture(scope="module")
def browser() -> str:
    binary = chromium()
    if binary is None:
        pytest.skip(f"no headless Chromium: {skip_reason()}")
    return binary


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """`invasim run` of a small two-type spheroid, then `invasim report` of it, as a user would."""
    root = tmp_path_factory.mktemp("report_browser")
    spec = tomllib.loads((Path(scenarios.__file__).parent / "spheroid-2d.toml").read_text())
    spec.pop("sources", None)
    spec["name"] = "two-types"
    spec["mesh"]["extent_um"] = [240.0, 240.0]
    spec["time"]["output_interval_min"] = 12.0
    spec["params"]["cell_types"]["stroma"] = dict(spec["params"]["cell_types"]["tumor"])
    pos = ball(2, 16.0, [120.0, 120.0], radius=70.0)
    kind = np.where(pos[:, 0] < 119.0, "tumor", "stroma")
    pd.DataFrame({"x": pos[:, 0], "y": pos[:, 1], "type": kind}).to_csv(root / "cells.csv",
                                                                          index=False)
    spec["params"]["initial"] = {"geometry": "table", "path": str(root / "cells.csv")}
    (root / "two.toml").write_text(tomli_w.dumps(spec))
    out = root / "run"
    proc = run_cli("run", str(root / "two.toml"), "--until", "24", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("report", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out / "report.html")
    return out / "report.html"


class _Media(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs = 0
        self.videos = 0

    def handle_starttag(self, tag, attrs):
        self.imgs += tag == "img"
        self.videos += tag == "video"


@pytest.mark.slow
def test_report_renders_in_chromium(browser, report, tmp_path):
    media = _Media()
    media.feed(report.read_text("utf-8"))
    assert media.imgs >= 4 and media.videos == 1  # metrics, three snapshots; the movie
    page = load_page(browser, report, tmp_path, window=WINDOW)
    assert page.check is not None, f"the page never finished loading:\n{page.log[-2000:]}"
    assert page.check["loaded"]
    assert page.check["errors"] == [] and page.check["warnings"] == []
    assert page.console == []  # the report has no scripts: nothing may reach the console
    images = page.check["images"]
    assert len(images) == media.imgs
    for im in images:
        assert im["complete"] and im["width"] > 0 and im["height"] > 0, im
    (video,) = page.check["videos"]
    assert video["error"] is None and video["readyState"] >= 1, video
    assert video["duration"] > 0 and video["width"] > 0 and video["height"] > 0, video
    # the screenshot: saved in this test's folder, the window's size, a rendered page
    assert page.screenshot == tmp_path / "screenshot.png"
    with Image.open(page.screenshot) as shot:
        assert shot.size == WINDOW
        rgb = np.asarray(shot.convert("RGB"))
    ink = rgb.min(axis=-1) < 200
    assert 0.01 < ink.mean() < 0.6  # text and tables, not a blank or a black page
    assert ink[: WINDOW[1] // 8].any(axis=1).sum() > 20  # the heading at the top
    assert len(np.unique(rgb.reshape(-1, 3)[::5], axis=0)) > 50  # anti-aliased text, figures


@pytest.mark.slow
def test_the_check_sees_broken_pages(browser, tmp_path):
    """The harness is not blind: a missing image, a console error and an exception show up."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>x</title>'
                   '</head><body><img src="missing.png" alt="x"><script>console.error("boom");'
                   "undefinedCall();</script></body></html>", "utf-8")
    page = load_page(browser, bad, tmp_path / "b", screenshot=False)
    errors = " | ".join(page.check["errors"])
    assert "console.error: boom" in errors and "undefinedCall" in errors
    assert "failed to load <img>" in errors
    assert page.check["images"][0]["width"] == 0
    assert any("boom" in line for line in page.console)


def test_type_colours_reach_the_report_snapshots(report):
    """The snapshot images embedded in the report draw both cell types in their colours."""
    import base64
    import io
    import re

    text = report.read_text("utf-8")
    srcs = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="snapshot at', text)
    assert srcs
    with Image.open(io.BytesIO(base64.b64decode(srcs[-1]))) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    for colour in TYPE_COLOURS[:2]:
        target = np.round(np.array(to_rgb(colour)) * 255).astype(int)
        assert (np.abs(rgb - target) <= 6).all(axis=-1).sum() > 100, colour
