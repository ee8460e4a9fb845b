"""Mechanics against what the potentials predict: equilibria, relaxation, walls, the time step.

PhysiCell's potentials (Ghaffarizadeh et al. 2018): two cells at distance ``d`` repel at
``c_rep (1 − d/R)²`` within ``R = r_i + r_j`` and attract at ``c_adh (1 − d/S)²`` within the
adhesion reach ``S``; a pair comes to rest where the two balance.

Contract:
    * Cases (quick and full forms are the same, under a second each, after compilation):
      ``mechanics two cells settle at the equilibrium distance``, ``mechanics per-cell
      strengths pair as sqrt(c_i c_j)``, ``mechanics relaxes a compressed cluster``,
      ``mechanics walls push cells one radius inside``, ``mechanics max stable dt is accurate
      and not vacuous``, ``mechanics per-cell adhesion reach``, ``mechanics per-cell
      affinities give the pair adhesion``, ``mechanics wall adhesion and repulsion``.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.core.cells import DEFAULT_RADIUS, Cells
from invasim.physics.mechanics import (
    Mechanics,
    MechanicsParams,
    compute_velocities,
    max_stable_dt,
    move,
)
from invasim.physics.neighbors import CellList
from invasim.verify import Checks, Result, case

MECHANISM = "mechanics"
SOURCE = "PhysiCell potentials (Ghaffarizadeh et al., PLoS Comput Biol 2018)"
PHYSICELL = MechanicsParams.single_type(repulsion=10.0, adhesion=0.4, s_rel=1.25)


def equilibrium_distance(c_rep: float, c_adh: float, big_r: float, s: float) -> float:
    """Root in (0, R) of c_rep (1 - d/R)² = c_adh (1 - d/S)² (square roots of both sides)."""
    a, b = math.sqrt(c_rep), math.sqrt(c_adh)
    return (a - b) / (a / big_r - b / s)


def _pair(dim: int, r1: float, r2: float, start: float):
    big_r, s = r1 + r2, 1.25 * (r1 + r2)
    # start * R, or halfway between R and S: adhesion alone closes that gap in
    # S / (2 c_adh) (1/u0 - 1/u_R) = 125 min (u = 1 - d/S), then the contact relaxes
    start = start * big_r if start < 1 else 0.5 * (big_r + s)
    axis = np.array([1.0, 1.0, 1.0 if dim == 3 else 0.0]) / math.sqrt(dim)  # oblique
    centre = np.array([100.0, 100.0, 100.0 if dim == 3 else 0.0])
    c = Cells(dim)
    c.add(2, position=[centre - 0.5 * start * axis, centre + 0.5 * start * axis],
          radius=[r1, r2])  # fmt: skip
    return c, centre, (200.0,) * dim


@case("mechanics two cells settle at the equilibrium distance", MECHANISM, SOURCE)
def pair_equilibrium(quick: bool) -> Result:
    """Pairs (2-D, 3-D; equal and unequal radii; overlapping or apart) rest at the root."""
    chk, worst = Checks(), (0.0, 1.0, 1.0, "")
    for dim in (2, 3):
        for r1, r2 in ((DEFAULT_RADIUS, DEFAULT_RADIUS), (6.0, 10.0)):
            for start in (0.55, 1.5):  # overlapping; apart, within adhesion reach
                want = equilibrium_distance(10.0, 0.4, r1 + r2, 1.25 * (r1 + r2))
                c, centre, extent = _pair(dim, r1, r2, start)
                m = Mechanics(PHYSICELL, extent)
                for _ in range(3000):  # 300 min
                    m.step(c, 0.1)
                d = float(np.linalg.norm(c.position[1] - c.position[0]))
                where = f"{dim}-D r {r1:g}/{r2:g} start {start:g}"
                # tolerance: the relaxation leaves < 1e-9 µm; 1e-6 relative is round-off
                chk.rel(f"distance, {where}", d, want, 1e-6, "µm")
                # equal and opposite forces
                chk.that(f"centre kept (allclose, atol 1e-9), {where}",
                         np.allclose(c.position.mean(0), centre, atol=1e-9))
                if dim == 2:
                    chk.that(f"z stays 0, {where}", bool(np.all(c.position[:, 2] == 0.0)))
                if abs(d / want - 1) >= abs(worst[0] / worst[1] - 1):
                    worst = (d, want, 1e-6 * want, where)
    d, want, tol, where = worst
    return chk.result(want, d, tol, "µm", f"after 300 min at dt 0.1; reported: {where} "
                                          "(furthest of 8)")  # fmt: skip


@case("mechanics per-cell strengths pair as sqrt(c_i c_j)", MECHANISM,
      "PhysiCell >= 1.10 pair strengths (Cell::add_potentials)")
def per_cell_strengths(quick: bool) -> Result:
    """Per-cell repulsion and adhesion pair as geometric means; the types' play no part."""
    # per-cell strengths pair as sqrt(c_1 c_2) and sqrt(a_1 a_2) (PhysiCell >= 1.10), so the
    # rest distance is the root of sqrt(c_1 c_2) (1 - d/R)² = sqrt(a_1 a_2) (1 - d/S)²; the
    # types' strengths (10, 0.4) must play no part
    rep, adh = np.array([25.0, 4.0]), np.array([0.1, 2.5])  # pair: 10 and 0.5 µm/min
    r1, r2 = 6.0, 10.0
    big_r, s = r1 + r2, 1.25 * (r1 + r2)
    want = equilibrium_distance(math.sqrt(rep[0] * rep[1]), math.sqrt(adh[0] * adh[1]), big_r, s)
    chk, worst = Checks(), (want, "")
    chk.bound("distinct from the types' answer",  # a distinct answer
              abs(want - equilibrium_distance(10.0, 0.4, big_r, s)), ">", 0.1, "µm")
    for dim in (2, 3):
        for start in (0.55, 1.5):
            c, centre, extent = _pair(dim, r1, r2, start)
            m = Mechanics(PHYSICELL, extent)
            for _ in range(3000):  # 300 min; dt 0.1 is stable for c_rep 25 (max_stable_dt 0.1)
                m.rebuild(c)
                compute_velocities(c, m.cell_list, PHYSICELL, extent, repulsion=rep, adhesion=adh)
                move(c, 0.1)
            d = float(np.linalg.norm(c.position[1] - c.position[0]))
            where = f"{dim}-D start {start:g}"
            chk.rel(f"distance, {where}", d, want, 1e-6, "µm")
            chk.that(f"centre kept (allclose, atol 1e-9), {where}",  # still equal and opposite
                     np.allclose(c.position.mean(0), centre, atol=1e-9))
            if abs(d - want) >= abs(worst[0] - want):
                worst = (d, where)
    return chk.result(want, worst[0], 1e-6 * want, "µm",
                      f"rep (25, 4), adh (0.1, 2.5), radii 6/10; reported: {worst[1]}")


def compressed_cluster(dim: int, spacing: float = 9.0, n_side: int = 7) -> tuple[Cells, tuple]:
    """A jittered square/cubic block of cells closer than their diameters, and its box."""
    g = np.arange(n_side) * spacing
    grids = np.meshgrid(*([g] * dim), indexing="ij")
    pts = np.zeros((n_side**dim, 3))
    for a in range(dim):
        pts[:, a] = grids[a].ravel()
    rng = np.random.default_rng(0)
    pts[:, :dim] += rng.normal(0, 0.5, (len(pts), dim)) + 150.0
    c = Cells(dim)
    c.add(len(pts), position=pts)
    return c, (300.0 + n_side * spacing,) * dim


def max_overlap(c: Cells) -> float:
    """Largest (1 - d/R) over touching pairs (0 when no two cells overlap)."""
    x = c.position
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    big_r = c.radius[:, None] + c.radius[None]
    return float(np.max(np.maximum(1.0 - d / big_r, 0.0)))


@case("mechanics relaxes a compressed cluster", MECHANISM, SOURCE)
def cluster_relaxes(quick: bool) -> Result:
    """A block compressed to 60 % overlap relaxes monotonically, keeping every cell."""
    chk, last = Checks(), []
    for dim in (2, 3):
        c, extent = compressed_cluster(dim, n_side=7 if dim == 2 else 5)
        n0, ids = c.n, c.id.copy()
        m = Mechanics(PHYSICELL, extent)
        history = [max_overlap(c)]
        chk.bound(f"initial overlap, {dim}-D", history[0], ">", 0.4)
        for _ in range(75):  # 150 min
            for _ in range(20):
                m.step(c, 0.1)
            history.append(max_overlap(c))
        chk.that(f"count and ids kept, {dim}-D", c.n == n0 and np.array_equal(np.sort(c.id), ids))
        chk.that(f"positions finite, {dim}-D", bool(np.all(np.isfinite(c.position))))
        # decreasing up to a small tolerance (adhesion pulls the packing back a little)
        chk.bound(f"largest rise of the overlap, {dim}-D", float(np.diff(history).max()), "<",
                  0.01)  # fmt: skip
        # a relaxed packing: a pair alone overlaps 1 - 16.02/16.83 = 0.048; a crowded cell is
        # pushed a little further by its other neighbours' adhesion (measured: 0.09 after
        # 150 min, from 0.6)
        chk.bound(f"final overlap, {dim}-D", history[-1], "<", 0.12)
        last.append(history[-1])
    return chk.result(0.12, max(last), unit="1 - d/R", relation="<",
                      detail="largest pair overlap after 150 min (2-D 49 cells, 3-D 125 cells)")


@case("mechanics walls push cells one radius inside", MECHANISM, SOURCE)
def walls(quick: bool) -> Result:
    """Cells at and beyond the walls end inside, about one radius from each wall."""
    chk, nearest = Checks(), []
    for dim in (2, 3):
        extent = (100.0, 80.0, 60.0)[:dim]
        c = Cells(dim)
        z = 30.0 if dim == 3 else 0.0
        pts = [[2.0, 40.0, z], [97.0, 40.0, z], [50.0, -3.0, z], [-1.0, 81.0, z],
               [50.0, 40.0, z]]  # fmt: skip
        if dim == 3:
            pts += [[50.0, 40.0, 59.0], [50.0, 40.0, -2.0]]
        c.add(len(pts), position=pts)
        m = Mechanics(PHYSICELL, extent)
        r = c.radius[0]
        for _ in range(200):
            m.step(c, 0.1)
        x = c.position[:, :dim]
        chk.that(f"all inside, {dim}-D", bool(np.all(x > 0.0) and np.all(x < np.array(extent))))
        # an isolated cell ends about one radius from every wall, where the push vanishes; it
        # gets there algebraically (u = 1 - w/r obeys du/dt = -c u²/r, so u ~ r/(c t) = 0.4 %
        # at 20 min)
        gap = float(min(x.min(), (np.array(extent) - x).min())) / r
        chk.bound(f"nearest wall distance / radius, {dim}-D", gap, ">=", 0.99)
        chk.that(f"the free cell did not move (allclose), {dim}-D",
                 np.allclose(c.position[4], [50.0, 40.0, z]))
        nearest.append(gap)
    return chk.result(0.99, min(nearest), unit="radii", relation=">=",
                      detail="nearest distance to a wall after 20 min, 2-D and 3-D")


@case("mechanics max stable dt is accurate and not vacuous", MECHANISM,
      "invasim's bound vs a 10x finer step")
def stable_dt(quick: bool) -> Result:
    """At the bound a cluster moves as with a 10× finer step; at 8× the bound it does not.

    The cluster is compressed to d/R ~ 0.5; the bound is conservative, but not by orders of
    magnitude.
    """
    dt0 = max_stable_dt(PHYSICELL, DEFAULT_RADIUS, 3)
    final = {}
    chk = Checks()
    for factor in (0.1, 1.0, 8.0):
        dt = factor * dt0
        c, extent = compressed_cluster(3, spacing=8.0, n_side=5)
        m = Mechanics(PHYSICELL, extent)
        for _ in range(round(10.0 / dt)):  # 10 min
            m.step(c, dt)
        chk.that(f"finite at {factor:g} x the bound", bool(np.all(np.isfinite(c.position))))
        final[factor] = c.position.copy()
    # measured 11.6 µm at 8x
    chk.bound("deviation at 8 x the bound", float(np.abs(final[8.0] - final[0.1]).max()), ">",
              1.0, "µm")  # fmt: skip
    # measured 0.06 µm
    return chk.result(0.1, float(np.abs(final[1.0] - final[0.1]).max()), unit="µm",
                      relation="<", detail=f"max position deviation at dt = {dt0:.3g} min vs "
                                           "dt/10 after 10 min, 125 cells")  # fmt: skip


def two_cells(d, r=8.0, types=(0, 0), dim=2):
    """Two cells ``d`` apart along x."""
    c = Cells(dim, capacity=4)
    pos = np.array([[100.0, 100.0, 0.0], [100.0 + d, 100.0, 0.0]])
    c.add(2, position=pos, type=np.array(types, dtype=np.int32), volume=np.full(2, 2000.0))
    c.radius[:] = r
    return c


def velocity(c, mp, extent=(400.0, 400.0), **kw):
    """The cells' velocities from the potentials."""
    cl = CellList(extent, 60.0)
    cl.rebuild(c.position)
    compute_velocities(c, cl, mp, extent, **kw)
    return c.velocity.copy()


@case("mechanics per-cell adhesion reach", MECHANISM, "PhysiCell potentials, closed form")
def per_cell_reach(quick: bool) -> Result:
    """A per-cell reach sets the adhesion range; below 1 it leaves the repulsion on."""
    mp = MechanicsParams.single_type(repulsion=10.0, adhesion=0.4, s_rel=1.25, wall_repulsion=0)
    chk = Checks()
    # 22 µm apart: beyond 1.25 × 16 = 20 µm, within 1.5 × 16 = 24 µm
    v = velocity(two_cells(22.0), mp, reach=np.array([1.5, 1.5]))
    qa = 1.0 - 22.0 / 24.0
    chk.near("no adhesion at 22 µm with the type's reach",
             float(velocity(two_cells(22.0), mp)[0, 0]), 0.0, 0.0, "µm/min")
    # a reach below 1 switches adhesion off but not the repulsion within r_i + r_j
    q = 1.0 - 12.0 / 16.0
    chk.rel("repulsion at 12 µm, reach 0.5",
            float(velocity(two_cells(12.0), mp, reach=np.array([0.5, 0.5]))[0, 0]),
            -10.0 * q * q, 1e-12, "µm/min")  # fmt: skip
    # the same reach as the type's: bit for bit the per-type numbers
    chk.that("reach 1.25 per cell equals the type's, bit for bit",
             np.array_equal(velocity(two_cells(18.0), mp, reach=np.array([1.25, 1.25])),
                            velocity(two_cells(18.0), mp)))  # fmt: skip
    want = 0.4 * qa * qa  # pulled toward +x
    return chk.result(want, float(v[0, 0]), 1e-12 * want, "µm/min",
                      "adhesion velocity at 22 µm with reach 1.5 (radii 8)")


@case("mechanics per-cell affinities give the pair adhesion", MECHANISM,
      "PhysiCell Cell::add_potentials: sqrt(a_i aff_i[t_j] a_j aff_j[t_i])")
def per_cell_affinity(quick: bool) -> Result:
    """Per-cell adhesion and affinities: the pair pulls at the geometric mean, both ways."""
    mp = MechanicsParams(np.zeros(2), np.full((2, 2), 0.4), 1.25, 0.0)
    c = two_cells(18.0, types=(0, 1))
    aff = np.array([[1.0, 0.5], [2.0, 1.0]])  # cell 0 → type 1: 0.5; cell 1 → type 0: 2.0
    a = np.array([0.4, 0.9])
    v = velocity(c, mp, adhesion=a, affinity=aff)
    qa = 1.0 - 18.0 / 20.0
    expected = math.sqrt(0.4 * 0.5 * 0.9 * 2.0) * qa * qa
    chk = Checks()
    chk.rel("cell 1 velocity", float(v[1, 0]), -expected, 1e-12, "µm/min")
    return chk.result(expected, float(v[0, 0]), 1e-12 * expected, "µm/min",
                      "cell 0 velocity at 18 µm (radii 8)")


@case("mechanics wall adhesion and repulsion", MECHANISM, "PhysiCell potentials, closed form")
def wall_forces(quick: bool) -> Result:
    """Wall adhesion pulls within the reach and repulsion pushes within the radius."""
    r, s, cw, ca = 8.0, 1.25, 100.0, 4.0
    mp = MechanicsParams.single_type(repulsion=0.0, adhesion=0.0, s_rel=s, wall_repulsion=cw,
                                     wall_adhesion=ca)  # fmt: skip
    mp0 = MechanicsParams.single_type(repulsion=0.0, adhesion=0.0, s_rel=s, wall_repulsion=0)
    chk, last = Checks(), None
    for w in (3.0, 9.0, 11.0):
        c = Cells(2, capacity=2)
        c.add(1, position=np.array([[w, 200.0, 0.0]]), type=np.zeros(1, dtype=np.int32),
              volume=np.full(1, 2000.0))  # fmt: skip
        c.radius[:] = r
        expected = ((cw * (1 - w / r) ** 2 if w < r else 0.0)
                    - ca * (1 - w / (s * r)) ** 2 * (w < s * r))  # fmt: skip
        tol = max(1e-12 * abs(expected), 1e-15)
        chk.near(f"per-type velocity at {w:g} µm", float(velocity(c, mp)[0, 0]), expected, tol)
        # per cell: the same numbers from the arrays
        v = velocity(c, mp0, wall_repulsion=np.array([cw]), wall_adhesion=np.array([ca]))
        chk.near(f"per-cell velocity at {w:g} µm", float(v[0, 0]), expected, tol)
        last = (expected, float(v[0, 0]), tol)
    return chk.result(*last, unit="µm/min", detail="velocity 11 µm from a wall (radius 8, "
                                                   "reach 10), and at 3 and 9 µm")  # fmt: skip
