"""Shedding calibration (invasim.body.shedding), the interface measurement
(invasim.analysis.tumour_interface), the run-directory side (invasim.io.shedding) and the body
process (invasim.processes.body).

Tolerances: the front of a disc of cells is within 3 % of 2πR (the closing fills the scallops
between outer cells; measured 1 % for rings of cells, R = 60-250 µm); a lone disc or ball
within 2 % / 5 % (marching squares on a 2-µm grid; the voxel-face count with the Crofton factor
2/3). Poisson intervals against tabulated Garwood values to 1e-3. The coverage of the exact 95 %
interval over 400 synthetic windows: at least 0.93 (Garwood's interval is conservative, >= 0.95;
the binomial sd of the coverage over 400 draws is 0.011, so 0.93 is 2 sd below 0.95).
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from invasim.analysis.tumour_interface import frame_interface, interface_size
from invasim.body import BodyParams
from invasim.body.shedding import (
    SPHERE,
    calibrate_shedding,
    cell_diameter,
    poisson_interval,
)
from invasim.errors import ConfigError

R_CELL = 8.4
V_CELL = 4.0 / 3.0 * math.pi * R_CELL**3


def ring_disc(radius: float, r: float = R_CELL) -> np.ndarray:
    """Cells packed in concentric rings filling a disc of radius ``radius`` (outer edge)."""
    pts = [(0.0, 0.0)]
    k = 1
    while 2 * r * k <= radius - r + 1e-9:
        rho = 2 * r * k
        n = int(2 * math.pi * rho / (2 * r))
        pts += [(rho * math.cos(2 * math.pi * i / n + k), rho * math.sin(2 * math.pi * i / n + k))
                for i in range(n)]  # fmt: skip
        k += 1
    return np.array(pts)


def events_table(times, sizes=None) -> pd.DataFrame:
    times = np.asarray(times, dtype=float)
    sizes = np.ones(times.size, dtype=int) if sizes is None else np.asarray(sizes)
    return pd.DataFrame({"event_time_min": times, "size": sizes})


# -- the interface -------------------------------------------------------------------------------
@pytest.mark.parametrize("radius", [60.0, 150.0, 250.0])
def test_front_of_disc_of_cells_is_its_circumference(radius):
    pts = ring_disc(radius)
    outer = np.hypot(pts[:, 0], pts[:, 1]).max() + R_CELL
    got = interface_size(pts, np.full(len(pts), R_CELL), 2)
    assert got == pytest.approx(2 * math.pi * outer, rel=0.03)


def test_front_of_lone_disc_and_ball():
    assert interface_size(np.zeros((1, 2)), np.array([50.0]), 2, 2.0, 8.0) == pytest.approx(
        2 * math.pi * 50.0, rel=0.02)
    assert interface_size(np.zeros((1, 3)), np.array([40.0]), 3, 2.0, 8.0) == pytest.approx(
        4 * math.pi * 40.0**2, rel=0.05)


def test_front_separate_fragments_add_and_holes_do_not_count():
    one = interface_size(np.zeros((1, 2)), np.array([20.0]), 2)
    two = interface_size(np.array([[0.0, 0.0], [300.0, 0.0]]), np.array([20.0, 20.0]), 2)
    assert two == pytest.approx(2 * one, rel=1e-3)
    ring = ring_disc(150.0)
    hollow = ring[np.hypot(ring[:, 0], ring[:, 1]) > 80.0]  # an empty core: still one outline
    full = interface_size(ring, np.full(len(ring), R_CELL), 2)
    assert interface_size(hollow, np.full(len(hollow), R_CELL), 2) == pytest.approx(full, rel=0.01)


def test_frame_interface_picks_live_cells_of_the_types():
    pts = ring_disc(60.0)
    n = len(pts)
    frame = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "radius": R_CELL,
                          "type": 0, "dead": 0})  # fmt: skip
    stroma = frame.assign(x=frame["x"] + 400.0, type=1)
    dead = frame.assign(x=frame["x"] - 400.0, dead=1)
    both = pd.concat([frame, stroma, dead], ignore_index=True)
    assert frame_interface(both, [0], 2) == pytest.approx(
        interface_size(pts, np.full(n, R_CELL), 2), rel=1e-9)
    assert frame_interface(both, [2], 2) == 0.0
    with pytest.raises(ValueError, match="dim"):
        interface_size(pts, np.full(n, R_CELL), 4)


# -- the calibration -----------------------------------------------------------------------------
def test_poisson_interval_matches_tables():
    assert poisson_interval(0) == pytest.approx((0.0, 3.6889), abs=1e-3)
    assert poisson_interval(10) == pytest.approx((4.7954, 18.3904), abs=1e-3)


def test_calibration_arithmetic_by_hand():
    # 10 events in one day over a constant 100-µm front in a 10-µm slice: 0.01 per µm² per day
    ev = events_table(np.linspace(100.0, 1400.0, 10), [1] * 7 + [3] * 3)
    cal = calibrate_shedding(ev, [0.0, 720.0, 1440.0], [100.0, 100.0, 100.0], 2, V_CELL, 10.0,
                             run="synthetic")  # fmt: skip
    assert cal.n_events == 10 and cal.n_cells == 16 and cal.n_clusters == 3
    assert cal.rate == pytest.approx(0.01)
    assert cal.shed_per_day == pytest.approx(0.01 * SPHERE * V_CELL ** (2 / 3))
    assert (cal.rate_lo, cal.rate_hi) == pytest.approx((4.7954e-3, 18.3904e-3), abs=1e-6)
    assert cal.cluster_fraction == pytest.approx(0.3)
    over = cal.body_overrides()
    assert set(over) == {"shed_per_day", "alpha", "cluster_fraction"}
    assert over["alpha"] == pytest.approx(2 / 3)
    BodyParams(**over)  # valid BodyParams fields
    assert "Butler" in cal.describe() and cal.run == "synthetic"


def test_calibration_counts_only_the_observed_window():
    ev = events_table([50.0, 150.0, 250.0])
    cal = calibrate_shedding(ev, [100.0, 200.0], [10.0, 10.0], 3, V_CELL)
    assert cal.n_events == 1
    assert cal.exposure_um2_day == pytest.approx(10.0 * 100.0 / 1440.0)
    assert math.isnan(cal.slice_um)


def test_default_slice_is_one_cell_diameter():
    cal = calibrate_shedding(events_table([10.0]), [0.0, 60.0], [100.0, 100.0], 2, V_CELL)
    assert cal.slice_um == pytest.approx(2 * R_CELL) == cell_diameter(V_CELL)


def test_calibration_recovers_a_known_rate():
    """Synthetic windows: Poisson events at a known rate per front; the 95 % interval covers it."""
    rng = np.random.default_rng(7)
    rate = 2e-3  # events per µm² per day
    t = np.linspace(0.0, 720.0, 13)
    front = 600.0 + 200.0 * np.sin(t / 200.0)  # µm; a front that changes over the window
    d = 16.0
    area = front * d
    expo = float(np.sum(0.5 * (area[1:] + area[:-1]) * np.diff(t))) / 1440.0
    m_true = rate * SPHERE * V_CELL ** (2 / 3)
    held = 0
    est = []
    for _ in range(400):
        n = rng.poisson(rate * expo)
        ev = events_table(np.sort(rng.uniform(0.0, 720.0, n)))
        cal = calibrate_shedding(ev, t, front, 2, V_CELL, d)
        held += cal.shed_per_day_lo <= m_true <= cal.shed_per_day_hi
        est.append(cal.shed_per_day)
    assert held / 400 >= 0.93
    assert np.mean(est) == pytest.approx(m_true, rel=0.03)  # unbiased: sd of the mean ~1 %


@pytest.mark.parametrize("kwargs, match", [
    ({"front_times_min": [0.0]}, "two or more times"),
    ({"fronts": [0.0, 0.0]}, "front is 0"),
    ({"cell_volume_um3": -1.0}, "cell volume"),
    ({"dim": 1}, "dim"),
    ({"events": pd.DataFrame({"t": [1.0]})}, "event_time_min and size"),
    ({"front_times_min": [10.0, 0.0]}, "increase"),
])  # fmt: skip
def test_bad_input_raises_one_line(kwargs, match):
    args = {"events": events_table([5.0]), "front_times_min": [0.0, 10.0],
            "fronts": [10.0, 10.0], "dim": 2, "cell_volume_um3": V_CELL, **kwargs}
    if len(args["fronts"]) != len(args["front_times_min"]):
        args["fronts"] = [10.0] * len(args["front_times_min"])
    with pytest.raises(ConfigError, match=match) as exc:
        calibrate_shedding(**args)
    assert "\n" not in str(exc.value)


# -- shedding.toml and the body process ----------------------------------------------------------
def test_shedding_toml_is_a_body_table():
    from invasim.io.shedding import shedding_toml

    ev = events_table([100.0, 200.0, 300.0], [1, 2, 1])
    cal = calibrate_shedding(ev, [0.0, 720.0], [500.0, 500.0], 2, V_CELL, run="runs/x")
    doc = tomllib.loads(shedding_toml(cal))
    assert doc["body"]["shed_per_day"] == pytest.approx(cal.shed_per_day)
    assert doc["body"]["cluster_fraction"] == pytest.approx(1 / 3)
    assert "runs/x" in doc["sources"]["body.shed_per_day"]
    assert doc["calibration"]["n_events"] == 3
    BodyParams(**doc["body"])


def test_body_process_needs_a_tumour_type():
    import invasim
    from invasim.errors import ConfigError as CE

    data = {
        "name": "t", "model": "agents",
        "mesh": {"dim": 2, "extent_um": [200.0, 200.0], "voxel_um": 20.0},
        "time": {"end_min": 12.0, "dt_min": 6.0, "output_interval_min": 12.0,
                 "checkpoint_interval_min": 12.0},
        "params": {"processes": ["vessels", "intravasation", "body"], "dt_mechanics_min": 0.1,
                   "fields": {"vessels": {"kind": "matrix", "initial": 0.0}},
                   "cell_types": {"tumor": {}}, "initial": {"geometry": "ball", "n_cells": 1}},
    }  # fmt: skip
    with pytest.raises(CE, match="intravasation.rate_per_min > 0"):
        invasim.Simulation(invasim.load_scenario(data))
