"""Cells: struct of arrays, growth, removal, traits, checkpoints, frames."""

from __future__ import annotations

import numpy as np
import pytest

from invasim.core.cells import DEFAULT_RADIUS, DEFAULT_VOLUME, NECROTIC, Cells, sphere_volume


def _filled(dim=3, n=10, **kw) -> Cells:
    c = Cells(dim, capacity=4, **kw)
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 100, (n, 3))
    if dim == 2:
        pos[:, 2] = 0.0
    c.add(n, position=pos, radius=rng.uniform(5, 10, n), type=np.arange(n) % 2)
    return c


@pytest.mark.parametrize("dim", [2, 3])
def test_add_assigns_ids_defaults_and_grows_geometrically(dim):
    c = Cells(dim, capacity=2)
    s = c.add(3)
    assert s == slice(0, 3) and c.n == 3 and len(c) == 3
    assert c.capacity == 4
    assert np.array_equal(c.id, [0, 1, 2]) and c.next_id == 3
    assert np.array_equal(c.parent_id, [-1] * 3) and np.array_equal(c.clone_id, c.id)
    assert np.allclose(c.radius, DEFAULT_RADIUS) and np.allclose(c.volume, DEFAULT_VOLUME)
    assert c.position.shape == (3, 3) and c.velocity.shape == (3, 3)
    caps = set()
    for _ in range(1000):
        c.add(1)
        caps.add(c.capacity)
    assert c.n == 1003 and c.capacity == 1024
    assert caps == {2**k for k in range(2, 11)}  # only doublings
    assert np.array_equal(c.id, np.arange(1003))


def test_views_are_live_and_dtypes():
    c = _filled()
    c.position[0, 0] = -1.0
    c.dead[1] = NECROTIC
    assert c.full("position")[0, 0] == -1.0 and c.full("dead")[1] == NECROTIC
    assert c.position.dtype == np.float64 and c.type.dtype == np.int32
    assert c.dead.dtype == np.int8 and c.id.dtype == np.int64 and c.generation.dtype == np.int32


def test_radius_volume_consistency_and_2d_positions():
    c = Cells(2)
    c.add(2, position=[[1.0, 2.0], [3.0, 4.0]], radius=[5.0, 6.0])
    assert np.array_equal(c.position[:, 2], [0.0, 0.0])
    assert np.allclose(c.volume, sphere_volume(np.array([5.0, 6.0])))
    c.add(1, volume=sphere_volume(7.0))
    assert np.isclose(c.radius[-1], 7.0)
    with pytest.raises(ValueError, match="z == 0"):
        c.add(1, position=[[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="unknown"):
        c.add(1, colour=[1])
    with pytest.raises(ValueError):
        c.add(1, id=[5])


def test_remove_is_stable_and_ids_are_never_reused():
    c = _filled(n=10)
    before = c.to_dict()
    assert c.remove(np.array([1, 4, 9])) == 3
    keep = np.setdiff1d(np.arange(10), [1, 4, 9])
    assert np.array_equal(c.id, keep)
    assert np.array_equal(c.position, before["position"][keep])
    assert np.array_equal(c.radius, before["radius"][keep])
    mask = c.id % 2 == 0
    assert c.remove(mask) == int(mask.sum())
    assert np.array_equal(c.id, keep[~(keep % 2 == 0)])
    assert c.remove(np.zeros(c.n, bool)) == 0
    s = c.add(2)
    assert np.array_equal(c.id[s], [10, 11])
    with pytest.raises(ValueError):
        c.remove(np.zeros(c.n + 1, bool))


def test_permute():
    c = _filled(n=6)
    ids = c.id.copy()
    order = np.array([5, 3, 1, 0, 2, 4])
    pos = c.position[order].copy()
    c.permute(order)
    assert np.array_equal(c.id, ids[order]) and np.array_equal(c.position, pos)


def test_traits_named_unnamed_defaults_and_growth():
    c = Cells(3, capacity=2, n_traits=1, traits={"egfr": 2.5})
    assert c.trait_names == ["trait_0", "egfr"] and c.trait_index["egfr"] == 1
    c.add(3, egfr=[1.0, 2.0, 3.0])
    assert np.array_equal(c.trait("egfr"), [1.0, 2.0, 3.0])
    assert np.array_equal(c.trait("trait_0"), [0.0, 0.0, 0.0])
    col = c.add_trait("rac", 0.5)
    assert col == 2 and np.array_equal(c.trait("rac"), [0.5] * 3)
    c.add(2)  # triggers growth with three trait columns
    assert c.traits.shape == (5, 3)
    assert np.array_equal(c.trait("egfr"), [1.0, 2.0, 3.0, 2.5, 2.5])
    assert np.array_equal(c.trait("rac"), [0.5] * 5)
    c.traits[:, 0] = 7.0
    assert np.all(c.trait("trait_0") == 7.0)
    with pytest.raises(KeyError, match="egfr"):
        c.trait("egrf")
    with pytest.raises(ValueError):
        c.add_trait("rac")


@pytest.mark.parametrize("dim", [2, 3])
def test_dict_round_trip_is_exact(dim):
    c = _filled(dim, n=7, traits=["a", "b"])
    c.traits[:] = np.random.default_rng(1).normal(size=c.traits.shape)
    c.velocity_prev[:, :dim] = 0.1 / 3.0
    c.remove([2])
    d = c.to_dict()
    r = Cells.from_dict(d)
    assert r.n == c.n and r.next_id == c.next_id and r.dim == dim
    assert r.trait_names == c.trait_names and r.capacity == c.capacity
    for k, v in c.to_dict().items():
        w = r.to_dict()[k]
        if isinstance(v, np.ndarray):
            assert v.dtype == w.dtype and np.array_equal(v, w), k
        else:
            assert v == w, k
    # arrays in the dict are copies, not views
    d["position"][0, 0] = 1e9
    assert c.position[0, 0] != 1e9


@pytest.mark.parametrize("dim", [2, 3])
def test_to_frame(dim):
    c = _filled(dim, n=5, traits=["x_expr"])
    c.remove([0])
    f = c.to_frame()
    assert len(f) == 4
    head = ["id", "parent_id", "clone_id", "generation", "type", "phase", "time_in_phase", "dead"]
    xyz = ["x", "y", "z"][:dim]
    assert list(f.columns) == head + xyz + ["radius", "volume", "x_expr"]
    assert np.array_equal(f["id"].to_numpy(), c.id)
    assert np.array_equal(f["y"].to_numpy(), c.position[:, 1])


def test_new_ids_are_fresh_consecutive_and_shared_with_add():
    c = Cells(2)
    c.add(3)
    ids = c.new_ids(4)
    assert ids.dtype == np.int64 and np.array_equal(ids, [3, 4, 5, 6]) and c.next_id == 7
    assert c.n == 3  # taking ids adds no cells
    assert c.new_ids(0).shape == (0,) and c.next_id == 7
    c.add(2)  # add continues from the same counter: no id is handed out twice
    assert np.array_equal(c.id, [0, 1, 2, 7, 8])
    with pytest.raises(ValueError, match="-1"):
        c.new_ids(-1)
    assert c.next_id == 9
    # the counter survives a checkpoint round trip
    assert np.array_equal(Cells.from_dict(c.to_dict()).new_ids(2), [9, 10])


def test_column_roles_travel_with_the_cells_and_names_are_unique():
    c = _filled(n=6, traits=["g"])
    assert c.add_state("last_contact_min", -1.0) == 0
    assert c.add_internal("rac", 0.5, division="split") == 0
    assert c.state_names == ["last_contact_min"] and c.internal_names == ["rac"]
    assert c.role_of("g") == "traits" and c.role_of("rac") == "internal" and c.role_of("q") is None
    assert np.all(c.state("last_contact_min") == -1.0) and np.all(c.internal("rac") == 0.5)
    assert c.division_modes("internal") == ["split"] and c.defaults("state") == [-1.0]
    c.state("last_contact_min")[:] = np.arange(6.0)
    c.internal("rac")[:] = 10.0 + np.arange(6.0)
    s = c.add(5, rac=[1, 2, 3, 4, 5])  # grows from capacity 8 to 16
    assert np.array_equal(c.internal("rac")[s], [1, 2, 3, 4, 5])
    assert np.all(c.state("last_contact_min")[s] == -1.0) and c.columns("state").shape == (11, 1)
    c.remove([0, 7])
    assert np.array_equal(c.state("last_contact_min")[:5], [1, 2, 3, 4, 5])
    assert np.array_equal(c.internal("rac")[:5], 11.0 + np.arange(5))
    ids, rac = c.id.copy(), c.internal("rac").copy()
    order = np.arange(c.n)[::-1]
    c.permute(order)
    assert np.array_equal(c.id, ids[order]) and np.array_equal(c.internal("rac"), rac[order])
    f = c.to_frame()
    assert list(f.columns[-3:]) == ["g", "last_contact_min", "rac"]
    for bad in ("g", "rac", "position", "x", "state", ""):
        with pytest.raises(ValueError):
            c.add_state(bad)
    with pytest.raises(ValueError, match="reset"):
        c.add_internal("p53", division="reset")
    with pytest.raises(ValueError, match="role"):
        c.add_column("genes", "p53")
    with pytest.raises(KeyError, match="state"):
        c.state("rac")


def test_roles_round_trip_through_dict_and_npz(tmp_path):
    c = _filled(3, n=5, traits=["g"])
    c.add_state("dx", 0.0, division="reset")
    c.add_internal("rac", 0.25, division="split")
    c.columns("state")[:] = np.random.default_rng(2).normal(size=(5, 1))
    r = Cells.from_dict(c.to_dict())
    for role in ("traits", "state", "internal"):
        assert r.names(role) == c.names(role) and r.division_modes(role) == c.division_modes(role)
        assert np.array_equal(r.columns(role), c.columns(role))
    # as a checkpoint stores them: every value an array (lists of names become str arrays)
    np.savez(tmp_path / "c.npz", **{k: np.asarray(v) for k, v in c.to_dict().items()})
    with np.load(tmp_path / "c.npz") as z:
        back = Cells.from_dict({k: z[k] for k in z.files})
    assert back.state_names == ["dx"] and back.division_modes("state") == ["reset"]
    assert np.array_equal(back.columns("state"), c.columns("state"))
    assert back.defaults("internal") == [0.25]


def test_old_checkpoints_without_roles_load_and_motility_columns_move_to_state():
    from invasim.physics.motility import DIRECTION_COLUMNS, direction_view

    c = Cells(2, traits=["g", *DIRECTION_COLUMNS])
    c.add(4)
    c.traits[:, 1:] = [1.0, 0.0, 0.0]
    old = c.to_dict()
    for k in [k for k in old if k.startswith(("state", "internal", "trait_division"))]:
        del old[k]
    r = Cells.from_dict(old)
    assert r.trait_names == ["g", *DIRECTION_COLUMNS] and r.division_modes("traits") == ["copy"] * 4
    d = direction_view(r)
    assert r.trait_names == ["g"] and r.state_names == list(DIRECTION_COLUMNS)
    assert np.array_equal(d, np.tile([1.0, 0.0, 0.0], (4, 1)))
    assert list(r.to_frame().columns) == list(c.to_frame().columns)
    with pytest.raises(KeyError):
        r.move_column("nope", "state")
