"""Initial placements: lattices, counts, spacing, the domain, tables (PhysiCell's cells.csv)."""

from __future__ import annotations

import numpy as np
import pytest

from invasim.core import initial
from invasim.physics.neighbors import neighbor_pairs


def _nearest(pos: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1)


@pytest.mark.parametrize("dim, contacts", [(2, 6), (3, 12)])
def test_ball_counts_spacing_and_contacts(dim, contacts):
    pos = initial.ball(dim, 16.0, [500.0] * dim, n=400)
    assert pos.shape == (400, 3)
    np.testing.assert_allclose(_nearest(pos), 16.0, rtol=1e-9)
    if dim == 2:
        assert np.all(pos[:, 2] == 0)
    # the innermost cell has the lattice's full coordination
    pairs = neighbor_pairs(pos, (1000.0,) * dim, 16.0 * 1.001)
    assert np.sum((pairs[:, 0] == 0) | (pairs[:, 1] == 0)) == contacts
    # compact: nearest first, and the radius matches the lattice density
    r = np.linalg.norm(pos - pos.mean(axis=0), axis=1)
    c = np.array([500.0] * dim + [0.0] * (3 - dim))
    assert np.all(np.diff(np.linalg.norm(pos - c, axis=1)) >= -1e-9)
    per = 16.0**2 * np.sqrt(3) / 2 if dim == 2 else 16.0**3 / np.sqrt(2)
    expect = (400 * per / (np.pi if dim == 2 else 4 / 3 * np.pi)) ** (1 / dim)
    assert abs(r.max() - expect) < 16.0


def test_ball_by_radius_and_determinism():
    a = initial.ball(2, 15.0, [100.0, 100.0], radius=60.0)
    b = initial.ball(2, 15.0, [100.0, 100.0], radius=60.0)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.linalg.norm(a[:, :2] - 100.0, axis=1) <= 60.0 + 1e-9)
    # a hexagonal disc of radius 4 spacings holds 61 points (1 + 6 + 12 + 18 + 24)
    assert len(initial.ball(2, 15.0, [100.0, 100.0], radius=60.0)) == len(a)
    assert len(initial.ball(2, 10.0, [0.0, 0.0], radius=10.0)) == 7
    assert len(initial.ball(3, 10.0, [0.0, 0.0, 0.0], radius=10.0)) == 13
    with pytest.raises(ValueError, match="exactly one"):
        initial.ball(2, 10.0, [0, 0], n=5, radius=3.0)


def test_layer_inside_box():
    pos = initial.layer(2, 16.0, [0.0, 100.0], [300.0, 200.0])
    assert np.all(pos[:, 0] >= 0) and np.all(pos[:, 0] <= 300)
    assert np.all(pos[:, 1] >= 100) and np.all(pos[:, 1] <= 200)
    np.testing.assert_allclose(_nearest(pos), 16.0, rtol=1e-9)
    # rows of 19 or 18 cells (300/16), 8 rows (100 / 13.86 + 1)
    assert 8 * 18 <= len(pos) <= 8 * 19
    pos3 = initial.layer(3, 16.0, [0.0, 0.0, 0.0], [100.0, 100.0, 50.0])
    assert np.all((pos3 >= -1e-9) & (pos3 <= [100 + 1e-9, 100 + 1e-9, 50 + 1e-9]))
    with pytest.raises(ValueError):
        initial.layer(2, 16.0, [0.0, 10.0], [5.0, 0.0])


def test_check_inside():
    initial.check_inside(np.array([[1.0, 2.0, 0.0]]), (10.0, 10.0))
    with pytest.raises(ValueError, match="outside the domain"):
        initial.check_inside(np.array([[1.0, 2.0, 0.0], [11.0, 2.0, 0.0]]), (10.0, 10.0))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_round_trip(tmp_path, suffix):
    names = ["tumor", "stroma"]
    pos = initial.ball(3, 16.0, [200.0, 200.0, 200.0], n=50)
    types = np.arange(50) % 2
    path = initial.write_table(tmp_path / f"cells{suffix}", pos, types, names, 3)
    p2, t2 = initial.read_table(path, names, 3)
    np.testing.assert_array_equal(p2, pos)
    np.testing.assert_array_equal(t2, types)


def test_physicell_cells_csv(tmp_path):
    names = ["default", "immune"]
    # PhysiCell >= 1.11: a header, types by name, extra columns, centred coordinates
    text = "x,y,z,type,volume\n-10,0,0,default,2494\n20, 5, 0, immune,2000\n"
    (tmp_path / "a.csv").write_text(text)
    pos, types = initial.read_table(tmp_path / "a.csv", names, 2, (100.0, 100.0), "center")
    np.testing.assert_allclose(pos, [[40, 50, 0], [70, 55, 0]])
    np.testing.assert_array_equal(types, [0, 1])
    # older PhysiCell: no header, x,y,z,type with the type an integer id
    (tmp_path / "b.csv").write_text("0,0,0,1\n8.5,0,0,0\n")
    pos, types = initial.read_table(tmp_path / "b.csv", names, 3, (100.0,) * 3, "center")
    np.testing.assert_allclose(pos[1], [58.5, 50, 50])
    np.testing.assert_array_equal(types, [1, 0])


def test_table_errors(tmp_path):
    (tmp_path / "c.csv").write_text("x,y,z,type\n1,1,0,ghost\n")
    with pytest.raises(ValueError, match="unknown cell type 'ghost'"):
        initial.read_table(tmp_path / "c.csv", ["tumor"], 2)
    (tmp_path / "d.csv").write_text("x,y,z,type\n1,1,0,3\n")
    with pytest.raises(ValueError, match="not in 0..0"):
        initial.read_table(tmp_path / "d.csv", ["tumor"], 2)
    (tmp_path / "e.csv").write_text("x,y,z,type\n1,1,5,0\n")
    with pytest.raises(ValueError, match="z == 0"):
        initial.read_table(tmp_path / "e.csv", ["tumor"], 2)
    with pytest.raises(ValueError, match="does not exist"):
        initial.read_table(tmp_path / "nope.csv", ["tumor"], 2)
