"""The front band and the fields there, on synthetic tumours whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import invasim.analysis  # noqa: F401  (registers the readouts)
from invasim.analysis.front_band import FRONT_BAND_UM, front_band
from invasim.analysis.readouts import compute
from invasim.analysis.snapshot import Snapshot
from invasim.core.mesh import Mesh

H, N, C = 10.0, 60, 300.0


def _disc(radius_um: float, fields: dict, dead: int = 0) -> Snapshot:
    g = np.arange(-radius_um, radius_um + 1e-9, 14.0)
    pts = np.array([(C + x, C + y) for x in g for y in g if x * x + y * y <= radius_um**2])
    cells = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "type": 0, "dead": dead,
                          "radius": 7.0, "volume": 4 / 3 * math.pi * 343.0})
    return Snapshot(0.0, Mesh(dim=2, n=(N, N), h=H), fields, cells, ["tumor"])


def _distance_field() -> np.ndarray:
    xs = (np.arange(N) + 0.5) * H
    x, y = np.meshgrid(xs, xs)  # (ny, nx), as the mesh's arrays
    return np.hypot(x - C, y - C).reshape(1, N, N)


def test_front_of_a_disc_is_a_ring_about_its_outline():
    r = 120.0
    dist = _distance_field()
    snap = _disc(r, {"dist": dist, "flat": np.full((1, N, N), 2.5)})
    band = front_band(snap)
    outline = r + 1.25 * 7.0  # the painted discs reach LINK_FACTOR r beyond the centres
    inside = dist[band]
    # every band voxel within the band of the outline, give or take the rasterisation: the
    # painted outline lies up to a voxel diagonal (0.71 h) inside the discs' envelope, and the
    # distance is taken between voxel centres less half a voxel (measured: 44 µm at most)
    assert np.all(np.abs(inside - outline) <= FRONT_BAND_UM + 1.5 * H)
    # the voxels at the outline are all in it; the centre and the far field are not
    ring = np.abs(dist - outline) <= 0.5 * FRONT_BAND_UM
    assert band[ring].all()
    assert not band[dist < outline - FRONT_BAND_UM - 2 * H].any()
    assert not band[dist > outline + FRONT_BAND_UM + 2 * H].any()
    out = compute(snap, ["<field>_at_front"])
    assert out["flat_at_front"] == 2.5
    assert out["dist_at_front"] == pytest.approx(outline, abs=H)


def test_front_is_nan_without_live_tumour_cells():
    snap = _disc(60.0, {"flat": np.ones((1, N, N))}, dead=1)
    assert math.isnan(compute(snap, ["flat_at_front"])["flat_at_front"])


def test_a_scenario_may_list_a_field_family_member():
    from invasim.config import load_scenario
    from invasim.errors import ConfigError

    sc = load_scenario("immune-surveillance", ["params.readouts=['cxcl10_at_front']"])
    assert list(sc.model_params.readouts) == ["cxcl10_at_front"]
    with pytest.raises(ConfigError, match="il6_at_front"):
        load_scenario("immune-surveillance", ["params.readouts=['il6_at_front']"])
