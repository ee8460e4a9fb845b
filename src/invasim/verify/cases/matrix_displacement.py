"""Validation cases of force-driven matrix displacement (cells push the matrix aside).

* ``matrix displacement one pushing cell``: a stationary cell pushing along +x into a uniform
  matrix: the voxel ahead decays exactly as ``m0 exp(−k V t / h³)``, each lateral neighbour
  gains half of what it lost (a quarter in 3-D), every other voxel is untouched and the
  counter holds the amount moved (round-off tolerance: the update is exact).
* ``matrix displacement conserves mass``: many walking, pushing cells, two displaced fields
  (one capped, so the spill-back rule acts), cells at the walls: each field's sum is
  conserved to 1e-12 relative, in 2-D and 3-D.
* ``matrix displacement opens a track``: one CAF-like cell (nuclear cross-section 50 µm²,
  Wolf et al. 2013's fibroblast nucleus) in collagen whose pores (``5/1.2 = 4.2 µm²``) lie
  below its limit (5 µm²): without pushing it does not move; pushing, it advances and leaves
  a track of lower density behind it, walls denser; with a ROCK inhibitor (Y-27632, effect
  0.9 on ``matrix pushing``; Gaggioli et al. 2007) it stalls again. Several seeds (the seed
  draws the cell's direction, which persists for the whole run); the margins are stated in
  the case.
"""

from __future__ import annotations

import math

import numpy as np

import invasim.processes.ecm  # noqa: F401  (registers the process)
import invasim.processes.matrix_displacement  # noqa: F401  (registers the process)
import invasim.processes.motility  # noqa: F401  (registers the process)
from invasim.verify import Checks, Result, case

MECHANISM = "force-driven matrix displacement: cells push matrix aside (matrix_displacement)"
VOLUME = 2494.0  # µm³, PhysiCell's default cell volume
ROUND_OFF = 1e-12
K_PUSH = 0.01  # 1/min, the pushing rate of the cases (docs/matrix-displacement estimate)
NUCLEAR_FIBROBLAST = 50.0  # µm², Wolf et al. 2013 (fibroblast nucleus)
A_UNIT = 5.0  # µm², pore cross-section at density 1 (the ecm process default)
RHO_DENSE = 1.2  # pores 5/1.2 = 4.2 µm² < 0.1 × 50: the cell cannot pass


def _scenario(dim: int, fields: dict, cells: dict, processes: list[str], *, h: float,
              extent: float, initial: dict, hours: float = 1.0, **tables) -> dict:  # fmt: skip
    end = hours * 60.0
    return {
        "name": "matrix-displacement-case", "model": "agents",
        "mesh": {"dim": dim, "extent_um": [extent] * dim, "voxel_um": h},
        "time": {"end_min": end, "dt_min": 6.0, "output_interval_min": end,
                 "checkpoint_interval_min": end},
        "params": {"processes": processes, "dt_mechanics_min": 0.1, "fields": fields,
                   "cell_types": {"caf": cells}, "initial": initial, **tables},
    }  # fmt: skip


def _sim(data: dict, seed: int = 1):
    import invasim

    return invasim.Simulation(invasim.load_scenario(data), seed=seed)


def _advance(sim, steps: int) -> None:
    for _ in range(steps):
        sim.model.step(sim.fields, sim.time_min)
        sim.step_index += 1


# -- 1. one stationary cell pushing along +x ------------------------------------------------
def _one_cell(chk: Checks, dim: int, steps: int) -> tuple[float, float]:
    """``(expected, measured)`` density of the voxel ahead after ``steps`` steps."""
    from invasim.physics.motility import direction_view

    h, m0, n = 10.0, 0.6, 21
    centre = (n // 2 + 0.5) * h  # a voxel centre; the front (r = 8.4 µm) lies in the next one
    data = _scenario(
        dim, {"ecm": {"kind": "matrix", "initial": m0}},
        {"motility": {"speed_um_per_min": 0.0}, "volume": {"volume_um3": VOLUME},
         "matrix_displacement": {"rate_per_min": K_PUSH}},
        ["motility", "matrix_displacement"], h=h, extent=n * h,
        initial={"geometry": "ball", "n_cells": 1, "spacing_um": 1.0,
                 "center_um": [centre] * dim},
        matrix_displacement={"fields": {"ecm": 1.0}},
    )  # fmt: skip
    sim = _sim(data)
    d = direction_view(sim.model.cells)
    d[:] = 0.0
    d[:, 0] = 1.0
    _advance(sim, steps)
    e = sim.fields["ecm"]
    c = n // 2
    k = c if dim == 3 else 0
    t = steps * 6.0
    want = m0 * math.exp(-K_PUSH * VOLUME * t / h**3)
    got = float(e[k, c, c + 1])
    tag = f"{dim}-D"
    chk.rel(f"{tag}: the voxel ahead at t = {t:g} min vs m0 exp(-k V t / h³)", got, want,
            ROUND_OFF)  # fmt: skip
    lateral = [(k, c - 1, c + 1), (k, c + 1, c + 1)]
    if dim == 3:
        lateral += [(k - 1, c, c + 1), (k + 1, c, c + 1)]
    share = (m0 - want) / len(lateral)
    for idx in lateral:
        chk.rel(f"{tag}: lateral neighbour {idx} gains 1/{len(lateral)} of the loss",
                float(e[idx]) - m0, share, 1e-9)  # fmt: skip
    others = e.copy()
    others[k, c, c + 1] = m0
    for idx in lateral:
        others[idx] = m0
    chk.that(f"{tag}: every other voxel untouched", bool(np.all(others == m0)))
    moved = sim.model.metrics(sim.fields, sim.time_min)["matrix_displaced_ecm"]
    chk.rel(f"{tag}: the counter holds the amount moved, (m0 - m) h³", moved,
            (m0 - want) * h**3, 1e-9, "density · µm³")  # fmt: skip
    return want, got


@case("matrix displacement one pushing cell", MECHANISM,
      "exact solution of dm/dt = -k (V/h^3) m for the voxel ahead; mass balance to the sides")
def one_cell(quick: bool) -> Result:
    """A non-motile cell with its direction set to +x; 2-D (and 3-D) meshes of 10 µm voxels."""
    chk = Checks()
    steps = 10 if quick else 40
    want, got = _one_cell(chk, 3, steps)
    want, got = _one_cell(chk, 2, steps)
    return chk.result(want, got, ROUND_OFF * want, "ECM density",
                      f"h = 10 µm, {steps} steps of 6 min, k = {K_PUSH:g}/min, V = 2494 µm³; "
                      "round-off tolerance (the update is exact; a wrong rate, weight or voxel "
                      "is off by >= 1e-3); the lateral gains to 1e-9 relative (a difference "
                      "of two nearby numbers)")  # fmt: skip


# -- 2. mass conservation --------------------------------------------------------------------
def _conservation(chk: Checks, dim: int, steps: int) -> float:
    """Worst relative change of a displaced field's sum; checks the cap and the counters."""
    h, extent = 10.0, 120.0 if dim == 2 else 60.0
    fields = {
        "ecm": {"kind": "matrix", "upper": 1.0,
                "initial": {"kind": "gaussian_random_field", "mean": 0.85, "std": 0.1,
                            "correlation_um": 20.0, "lower": 0.5, "upper": 1.0}},
        "basement_membrane": {"kind": "matrix",
                              "initial": {"kind": "layer", "axis": "x", "lo_um": 40.0,
                                          "hi_um": 50.0, "value": 1.0}},
    }  # fmt: skip
    cells = {"motility": {"speed_um_per_min": 1.0, "persistence_time_min": 10.0},
             "matrix_displacement": {"rate_per_min": 0.05}}  # fmt: skip
    n = 20 if dim == 2 else 12
    data = _scenario(dim, fields, cells, ["motility", "matrix_displacement"], h=h,
                     extent=extent, initial={"geometry": "ball", "n_cells": n,
                                             "spacing_um": 12.0},
                     matrix_displacement={"fields": {"ecm": 1.0, "basement_membrane": 0.5}})
    sim = _sim(data, seed=2)
    before = {k: float(sim.fields[k].sum()) for k in ("ecm", "basement_membrane")}
    _advance(sim, steps)
    worst = 0.0
    metrics = sim.model.metrics(sim.fields, sim.time_min)
    for name, s0 in before.items():
        err = abs(float(sim.fields[name].sum()) - s0) / s0
        worst = max(worst, err)
        chk.bound(f"{dim}-D {name}: |Σ m - Σ m0| / Σ m0", err, "<=", ROUND_OFF)
        chk.bound(f"{dim}-D {name}: amount moved (the process acted)",
                  metrics[f"matrix_displaced_{name}"], ">", 0.0, "density · µm³")  # fmt: skip
    e = sim.fields["ecm"]
    chk.bound(f"{dim}-D ecm: largest value (capped at upper = 1)", float(e.max()), "<=", 1.0)
    chk.that(f"{dim}-D ecm: some voxels reached the cap (the spill-back rule acted)",
             bool(np.any(e == 1.0) and np.sum(e == 1.0) > 1))  # fmt: skip
    chk.bound(f"{dim}-D: smallest value of either field", float(min(e.min(),
              sim.fields["basement_membrane"].min())), ">=", 0.0)  # fmt: skip
    return worst


@case("matrix displacement conserves mass", MECHANISM,
      "mass balance: displacement moves matrix, it neither makes nor destroys it")
def conservation(quick: bool) -> Result:
    """Walking, pushing cells over a capped collagen and an uncapped BM layer, 2-D and 3-D."""
    chk = Checks()
    steps = 20 if quick else 80
    worst = max(_conservation(chk, 2, steps), _conservation(chk, 3, steps))
    return chk.result(0.0, worst, ROUND_OFF, "relative",
                      f"{steps} steps of 6 min; 20 (2-D) / 12 (3-D) cells at 1 µm/min, "
                      "persistence 10 min, k = 0.05/min; ecm capped at 1 (spill-back), BM "
                      "susceptibility 0.5; the worst relative change of a field's sum")


# -- 3. direction of effect: a CAF-like cell in collagen it cannot pass ----------------------
def walker(rate: float, seed: int, hours: float, rock_effect: float | None = None):
    """One CAF-like cell walking straight in dense collagen; ``(distance µm, sim, p0, p1)``."""
    cell = {"motility": {"speed_um_per_min": 0.5, "persistence_time_min": 1e9},
            "ecm": {"nuclear_cross_section_um2": NUCLEAR_FIBROBLAST},
            "matrix_displacement": {"rate_per_min": rate}}  # fmt: skip
    tables = {"ecm": {"pore_area_at_unit_density_um2": A_UNIT}}
    if rock_effect is not None:
        tables["interventions"] = [{"kind": "drug", "drug": "rock_inhibitor",
                                    "effect": rock_effect, "targets": ["matrix pushing"]}]
    data = _scenario(2, {"ecm": {"kind": "matrix", "initial": RHO_DENSE}}, cell,
                     ["motility", "ecm", "matrix_displacement"], h=10.0, extent=300.0,
                     initial={"geometry": "ball", "n_cells": 1, "spacing_um": 1.0,
                              "center_um": [150.0, 150.0]},
                     hours=hours, **tables)  # fmt: skip
    sim = _sim(data, seed)
    p0 = sim.model.cells.position[0, :2].copy()
    _advance(sim, int(round(hours * 10)))
    p1 = sim.model.cells.position[0, :2].copy()
    return float(np.linalg.norm(p1 - p0)), sim, p0, p1


def track_density(sim, p0: np.ndarray, p1: np.ndarray) -> tuple[float, float]:
    """``(track, walls)``: mean ECM on the path p0 → p1 and on voxels 2 voxels beside it."""
    e = sim.fields["ecm"][0]
    h = sim.model.mesh.h
    d = p1 - p0
    length = float(np.linalg.norm(d))
    u = d / length
    side = np.array([-u[1], u[0]])
    # path points from the start to one radius short of the end (behind the cell)
    s = np.arange(0.0, max(length - 1.0, 0.0), h / 4)
    pts = p0 + s[:, None] * u
    on = {(int(y // h), int(x // h)) for x, y in pts}
    walls = set()
    for x, y in pts:
        for sgn in (-1, 1):
            q = np.array([x, y]) + sgn * 1.0 * h * side
            walls.add((int(q[1] // h), int(q[0] // h)))
    walls -= on
    return (float(np.mean([e[v] for v in on])),
            float(np.mean([e[v] for v in walls])) if walls else math.nan)  # fmt: skip


@case("matrix displacement opens a track", MECHANISM,
      "Gaggioli C et al. (2007) Nat Cell Biol 9:1392 (fibroblasts open tracks by Rho/ROCK "
      "force; Y-27632 stops them); Wolf K et al. (2013) J Cell Biol 201:1069 (pore limit)")
def opens_track(quick: bool) -> Result:
    """No pushing: stalled; pushing: advances, track lighter behind, walls denser; ROCK-i: stalled.

    Margins (per seed, every seed must meet them): stalled means < 1 µm without pushing (the
    pores are below the limit: S = 0, so the exact answer is 0) and < 10 µm (one voxel) under
    the ROCK inhibitor over the run; advancing means > 15 µm (the seeds' smallest distance
    is ~25 µm at 6 h: a margin of ~40 %); the track's mean density < 0.7 × the initial 1.2
    (0.84; seeds reach 0.44-0.66) and the walls' > 1.2 (seeds: ~1.6).
    """
    seeds = (1, 2) if quick else (1, 2, 3, 4, 5, 6, 7, 8)
    hours = 6.0
    chk = Checks()
    still, push, rock = [], [], []
    for seed in seeds:
        still.append(walker(0.0, seed, hours)[0])
        dist, sim, p0, p1 = walker(K_PUSH, seed, hours)
        push.append(dist)
        track, walls = track_density(sim, p0, p1)
        chk.bound(f"seed {seed}: track density behind the cell", track, "<", 0.7 * RHO_DENSE)
        chk.bound(f"seed {seed}: wall density beside the track", walls, ">", RHO_DENSE)
        rock.append(walker(K_PUSH, seed, hours, rock_effect=0.9)[0])
    chk.bound("largest distance without pushing", max(still), "<", 1.0, "µm")
    chk.bound("largest distance under the ROCK inhibitor (effect 0.9)", max(rock), "<", 10.0,
              "µm")  # fmt: skip
    return chk.result(15.0, min(push), 0.0, "µm",
                      f"{len(seeds)} seeds, {hours:g} h, a straight walker at 0.5 µm/min, "
                      f"A_n = 50 µm², collagen 1.2 (pores 4.2 µm² < 5): distances without "
                      f"pushing {[round(x, 1) for x in still]}, pushing at k = {K_PUSH:g}/min "
                      f"{[round(x, 1) for x in push]}, ROCK inhibitor "
                      f"{[round(x, 1) for x in rock]} µm; headline: the smallest pushing "
                      "distance must exceed 15 µm", ">")  # fmt: skip
