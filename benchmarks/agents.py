"""Agent-engine benchmark: PhysiCell's benchmark case (PERFORMANCE.md) in invasim.

The case: N cells of one type (PhysiCell's default cell, 2494 µm³, radius 8.41 µm) packed at
15 µm spacing, hexagonal in 2-D and fcc in 3-D, in the disc/ball of the N lattice sites nearest
the centre; domain half-width = packing radius + 100 µm rounded up to 20 µm; adhesion
0.4 µm/min, repulsion 10 µm/min, relative maximum adhesion distance 1.25, wall repulsion
100 µm/min; mechanics dt 0.1 min, Adams–Bashforth 2 (PhysiCell's).

Engines (``--engine``):

* ``full`` (default): the real agent model (``invasim.models.agents.AgentModel``), built
  directly from its params and a ``Mesh`` (no CLI, no output): voxels 20 µm, one
  substrate ``oxygen`` (D = 1e5 µm²/min, decay 0.1/min, initial 38, walls ``--boundary``),
  uptake 10/min by every cell, flow-cytometry cycle 300/480/240/60 min, apoptosis 5.3e-5/min;
  time steps diffusion ``--dt-diffusion`` (PhysiCell's 0.01 min; ``default``: invasim's
  accepted default, the largest step within the solver's accuracy limit that divides the
  mechanics step), mechanics 0.1 min, phenotype 6 min. PhysiCell's 0.01 min exceeds the
  accuracy limit that ``AgentModel.check`` enforces, so that case is built without the check
  and says ``"accuracy_check": "bypassed"``. Timing (PERFORMANCE.md's method): the model runs
  ``--phenotype-steps`` K1,K2 (default 1,3; small cases run more so the span holds about 2e6
  agent-updates); ``wall_s`` = wall(K2 steps) - wall(K1 steps), which drops setup,
  compilation and the first step; ``agent_updates_per_s`` = live
  cells (counted at the start of each timed phenotype step) × mechanics steps ÷ ``wall_s``.
  ``--profile`` adds ``breakdown_s``: the timed span split into bind (secretion/uptake
  binning), exchange (uptake per diffusion step), diffusion, mechanics and phenotype.
* ``mechanics``: the mechanics alone (``"includes": ["mechanics"]``): per step the cell-list
  rebuild, the velocities and the motion, plus a spatial sort every ``--sort-every`` steps.
  One warm-up step, then ``--steps`` steps (default: about ``--work`` agent-updates), best of
  ``--repeats``.

One JSON object per case and thread count, each in its own subprocess so that
``peak_mem_mb`` (ru_maxrss) is that case's; ``base_mem_mb`` is the same before the cells exist
(interpreter, NumPy, Numba, loaded kernels). ``bytes_per_cell`` counts the Cells arrays (at
their capacity), the cell list and the mechanics scratch, and (full) the fields;
``rss_per_cell_bytes`` is (peak - base) ÷ cells. ``other_procs_cores`` is the CPU other
processes used during the timed span (/proc/stat): on a 2-core machine a 2-thread figure
means something only when it is near 0.

Example: ``python benchmarks/agents.py --cells 1000,10000,100000 --dim 2,3 --threads 1,2``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

import invasim  # noqa: F401 - first: sets GOMP_SPINCOUNT before Numba's threads start

SPACING = 15.0  # µm
MARGIN = 100.0  # µm beyond the packing radius
ROUND = 20.0  # µm
DT = 0.1  # min
#: PhysiCell's default cell (2494 µm³, flow-cytometry cycle), the plain case's cell type
PLAIN_CELL = {
    "cycle": {"model": "flow_cytometry_separated", "durations_min": [300.0, 480.0, 240.0, 60.0]},
    "death": {"apoptosis_rate_per_min": 5.31667e-5},
    "volume": {"volume_um3": 2494.0},
    "mechanics": {"adhesion_um_per_min": 0.4, "repulsion_um_per_min": 10.0,
                  "relative_max_adhesion_distance": 1.25},
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_busy_s() -> tuple[float, float]:
    """(CPU-seconds busy on the whole machine, CPU-seconds used by this process) so far."""
    with open("/proc/stat") as f:
        v = [float(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (sum(v) - v[3] - v[4]) / tick, ru.ru_utime + ru.ru_stime


def packing(n: int, dim: int, spacing: float = SPACING) -> np.ndarray:
    """The ``n`` sites of a hexagonal (2-D) / fcc (3-D) lattice nearest the origin, ``[n, 3]``."""
    if dim == 2:
        k = math.ceil(math.sqrt(n / 2.5)) + 3
        i, j = np.meshgrid(np.arange(-2 * k, 2 * k + 1), np.arange(-k, k + 1), indexing="ij")
        x = (i + 0.5 * (j % 2)) * spacing
        y = j * spacing * math.sqrt(3.0) / 2.0
        pts = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1)
    else:
        a = spacing * math.sqrt(2.0)  # cubic cell of the fcc lattice
        k = math.ceil((n / 4) ** (1 / 3) / 1.6) + 2
        g = np.arange(-k, k + 1)
        base = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3).astype(float)
        basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
        pts = ((base[:, None, :] + basis[None]) * a).reshape(-1, 3)
    r2 = np.round((pts**2).sum(1), 6)
    idx = np.lexsort((pts[:, 2], pts[:, 1], pts[:, 0], r2))[:n]
    if len(idx) < n:
        raise RuntimeError("lattice too small")
    return pts[idx]


def build(n: int, dim: int):
    """Cells and mechanics of the benchmark case."""
    from invasim.core.cells import Cells
    from invasim.physics.mechanics import MechanicsParams

    pts = packing(n, dim)
    r_pack = float(np.sqrt((pts**2).sum(1)).max())
    half = math.ceil((r_pack + MARGIN) / ROUND) * ROUND
    pts[:, :dim] += half
    cells = Cells(dim, capacity=n)
    cells.add(n, position=pts)
    params = MechanicsParams.single_type(repulsion=10.0, adhesion=0.4, s_rel=1.25)
    return cells, params, (2 * half,) * dim, half


def one_case(args: argparse.Namespace) -> dict:
    """Time one mechanics-only case in this process (run by the parent as a subprocess)."""
    import numba

    from invasim.physics.mechanics import Mechanics, use_parallel

    numba.set_num_threads(args.threads_one)
    parallel = {"auto": None, "serial": False, "parallel": True}[args.kernel]
    # load (or compile) the kernels on a tiny case first, so that base_mem_mb includes them
    for par in (False, True):
        c, p, ext, _ = build(50, args.dim_one)
        m = Mechanics(p, ext, parallel=par)
        m.sort(c)
        m.step(c, DT)
    base = _rss_mb()
    cells, params, extent, half = build(args.cells_one, args.dim_one)
    mech = Mechanics(params, extent, parallel=parallel)
    n = cells.n
    mech.sort(cells)
    mech.step(cells, DT)  # warm-up, sizes the buffers
    steps = args.steps or max(10, int(args.work / n))
    walls, others = [], []
    for _ in range(args.repeats):
        busy0, own0 = _cpu_busy_s()
        t0 = time.perf_counter()
        for s in range(steps):
            if args.sort_every and s % args.sort_every == 0:
                mech.sort(cells)
            mech.step(cells, DT)
        walls.append(time.perf_counter() - t0)
        busy1, own1 = _cpu_busy_s()
        others.append(max(0.0, (busy1 - busy0) - (own1 - own0)) / walls[-1])
    best = int(np.argmin(walls))
    wall = walls[best]
    return {
        "cells": n,
        "dim": args.dim_one,
        "threads": args.threads_one,
        "kernel": "parallel" if use_parallel(n, parallel) else "serial",
        "engine": "mechanics",
        "includes": ["mechanics"],
        "steps": steps,
        "dt_min": DT,
        "wall_s": round(wall, 4),
        "wall_s_median": round(sorted(walls)[len(walls) // 2], 4),
        "agent_updates_per_s": float(f"{n * steps / wall:.4g}"),
        "peak_mem_mb": round(_rss_mb(), 1),
        "base_mem_mb": round(base, 1),
        "bytes_per_cell": round((cells.nbytes() + mech.nbytes()) / n, 1),
        "domain_um": [2 * half] * args.dim_one,
        "sort_every": args.sort_every,
        "other_procs_cores": round(others[best], 2),
    }


PHENOTYPE_DT = 6.0  # min
VOXEL = 20.0  # µm


def full_model(n: int, dim: int, dt_diffusion: float | str, boundary: str, scheme: str,
               case: str = "plain"):
    """The benchmark case as an ``AgentModel`` (built directly, no scenario check).

    ``case``: ``"plain"`` (PhysiCell's benchmark), ``"invasion"`` (:func:`invasion_params`) or
    ``"microenvironment"`` (:func:`microenvironment_params`).
    Returns ``(model, fields, info)``; ``info`` holds the time steps, the mesh and whether
    ``AgentModel.check`` accepts the parameters.
    """
    from invasim.agents.fields import DiffusingField
    from invasim.agents.params import DEFAULT_PROCESSES, params_schema
    from invasim.core import initial as placement
    from invasim.core.mesh import Mesh
    from invasim.models.agents import AgentModel
    from invasim.physics.diffusion import Boundary, accuracy_dt_limit

    sub = DiffusingField(diffusion_um2_per_min=1e5, decay_per_min=0.1, boundary=boundary,
                         boundary_value=38.0, initial=38.0)  # fmt: skip
    if case in ("invasion", "microenvironment"):
        build = invasion_params if case == "invasion" else microenvironment_params
        raw, _, mesh, half = build(n, dim, 0.0, boundary, scheme)
    else:
        pts = placement.ball(dim, SPACING, (0.0,) * dim, n=n)
        r_pack = float(np.sqrt((pts**2).sum(1)).max()) if n else 0.0
        half = math.ceil((r_pack + MARGIN) / ROUND) * ROUND
        mesh = Mesh(dim, (int(round(2 * half / VOXEL)),) * dim, VOXEL)
    limit = accuracy_dt_limit(mesh, sub.diffusion_um2_per_min, scheme,
                              Boundary(sub.boundary, sub.boundary_value))  # fmt: skip
    if dt_diffusion == "default":  # largest accurate step dividing the mechanics step
        dt_diffusion = DT / math.ceil(DT / limit - 1e-9)
    if case in ("invasion", "microenvironment"):
        raw["dt_diffusion_min"] = float(dt_diffusion)
        params = params_schema(tuple(raw["processes"])).model_validate(raw)
    else:
        ct = {**PLAIN_CELL, "secretion": {"uptake_per_min": {"oxygen": 10.0}}}
        params = params_schema(DEFAULT_PROCESSES).model_validate({
            "dt_diffusion_min": float(dt_diffusion), "dt_mechanics_min": DT,
            "diffusion": {"scheme": scheme}, "fields": {"oxygen": sub},
            "cell_types": {"default": ct},
            "initial": {"geometry": "ball", "n_cells": n, "spacing_um": SPACING},
        })  # fmt: skip
    problems = AgentModel.check(params, mesh, PHENOTYPE_DT)
    accuracy = [p for p in problems if "accuracy limit" in p]
    if len(problems) > len(accuracy):
        raise RuntimeError(f"benchmark case rejected: {problems}")
    model = AgentModel(params, mesh, PHENOTYPE_DT)
    fields = model.initial_fields(np.random.default_rng(0))
    info = {
        "dt_diffusion": float(f"{float(dt_diffusion):.6g}"),
        "dt_mechanics": DT,
        "dt_phenotype": PHENOTYPE_DT,
        "diffusion_scheme": scheme,
        "boundary": boundary,
        "accuracy_check": "bypassed" if accuracy else "passed",
        "accuracy_dt_limit": float(f"{limit:.6g}"),
        "voxels": mesh.n_voxels,
        "domain_um": [2 * half] * dim,
    }
    return model, fields, info


# -- the invasion case (issue 11): the same cells, physics and time steps, the biology on --------
#: µm: cells' centres kept this far from the side and top walls
WALL_GAP = 10.0
#: µm: the first cell row's centre above the basement membrane's top face
ABOVE_BM = 8.0
#: the pathology readouts recorded at every output (analysis.pathology)
PATHOLOGY = (
    "invasion_depth_um", "bm_breached_um", "bm_breached_um2", "n_buds", "bud_grade",
    "invasion_pattern", "front_fractal_dim", "n_clusters", "cluster_size_mean",
    "cluster_size_max", "frac_epithelial", "frac_mesenchymal", "frac_amoeboid",
)  # fmt: skip
#: min between outputs (metrics and pathology readouts) of the invasion case
OUTPUT_INTERVAL = 60.0


def invasion_layout(n: int, dim: int) -> dict:
    """Where the invasion case puts its tissue: the plain case's domain, cut by a BM.

    The domain is the plain case's (a square/cube of side ``2 half``, the same mesh). Cells
    fill a slab resting on the basement membrane (the last axis is its normal, epithelium on
    the high side), packed like the plain case (hexagonal/fcc, 15 µm), full width less
    ``WALL_GAP``, as many lattice planes as bring the count nearest ``n``; a carcinoma in situ
    (type ``tumor``) takes the slab's middle half (2-D) or its middle ~70 % per lateral axis
    (3-D), the rest is normal epithelium. Below the BM: the stroma.
    """
    from invasim.core import initial as placement

    pts = placement.ball(dim, SPACING, (0.0,) * dim, n=n)
    r_pack = float(np.sqrt((pts**2).sum(1)).max()) if n else 0.0
    half = math.ceil((r_pack + MARGIN) / ROUND) * ROUND
    side = 2.0 * half
    lat = SPACING if dim == 2 else SPACING * math.sqrt(2.0)  # lattice period along x (and y)
    lo = [WALL_GAP] * (dim - 1)
    hi = [side - WALL_GAP] * (dim - 1)
    per = SPACING**2 * math.sqrt(3.0) / 2.0 if dim == 2 else SPACING**3 / math.sqrt(2.0)
    reach = 1.3 * max(n, 1) * per / (side - 2 * WALL_GAP) ** (dim - 1) + 4 * SPACING
    tall = placement.layer(dim, SPACING, [*lo, 0.0], [*hi, reach])
    normal = np.round(tall[:, dim - 1], 6)
    planes = np.unique(normal)
    counts = np.searchsorted(np.sort(normal), planes, side="right")  # cells up to each plane
    k = int(np.argmin(np.abs(counts - n)))
    height = float(planes[k])
    bm_lo = math.floor((side - WALL_GAP - height - ABOVE_BM - VOXEL) / VOXEL) * VOXEL
    if bm_lo < 2 * VOXEL:
        raise RuntimeError(f"no room for a stroma under {n} cells")
    y0 = bm_lo + VOXEL + ABOVE_BM
    frac = 0.25 if dim == 2 else 0.15  # tumour: the middle 1 - 2 frac of each lateral axis
    t_lo = [WALL_GAP + round((side * frac - WALL_GAP) / lat) * lat] * (dim - 1)
    t_hi = [side - x for x in t_lo]
    return {
        "half": half, "side": side, "bm_lo": bm_lo, "bm_hi": bm_lo + VOXEL,
        "epithelium": ([*lo, y0], [*hi, y0 + height]), "tumor": ([*t_lo, y0], [*t_hi, y0 + height]),
    }  # fmt: skip


def invasion_params(n: int, dim: int, dt_diffusion: float | str, boundary: str, scheme: str):
    """The invasion scenario's ``[params]`` table (a dict) and its layout and mesh.

    Everything the plain case has (oxygen, uptake, cycle, apoptosis, mechanics, time steps),
    plus: a stroma ECM (Gaussian random field below the BM), a one-voxel basement membrane,
    fibre orientation and anisotropy matrices, a secreted diffusing MMP, deposited laminin-5
    and its diffusing γ2 fragment (both slow fields stepped on the mechanics clock, their own
    ``dt_min``, as a user would set them beside oxygen's 0.01 min); the processes motility,
    ecm, basement_membrane, contacts, rho_gtpase, matrix_degradation, proteolysis,
    basement_membrane_breach; rules on the Rac/Rho cues. Values as in the proteolysis and
    tissue examples (illustrative where they say so).
    """
    from invasim.core.mesh import Mesh

    lay = invasion_layout(n, dim)
    side, half = lay["side"], lay["half"]
    mesh = Mesh(dim, (int(round(side / VOXEL)),) * dim, VOXEL)
    axis = "xyz"[dim - 1]
    fibres = [f"fibre_{a}" for a in "xyz"[:dim]]
    fields = {
        "oxygen": {"kind": "diffusing", "diffusion_um2_per_min": 1e5, "decay_per_min": 0.1,
                   "boundary": boundary, "boundary_value": 38.0, "initial": 38.0},
        # the slow fields on the mechanics clock (dt_min): D dt / h^2 = 0.15 and 0.015
        "mmp": {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 600.0,
                "decay_per_min": 0.01, "boundary": "dirichlet", "boundary_value": 0.0,
                "initial": 0.0, "dt_min": DT},
        "ln5_fragment": {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 60.0,
                         "decay_per_min": 0.001, "boundary": "dirichlet", "boundary_value": 0.0,
                         "initial": 0.0, "dt_min": DT},
        "ecm": {"kind": "matrix", "upper": 1.0, "initial": {
            "kind": "gaussian_random_field", "mean": 0.5, "std": 0.15, "correlation_um": 40.0,
            "lower": 0.0, "upper": 1.0, "within_axis": axis, "within_hi_um": lay["bm_lo"],
            "outside": 0.0}},
        "basement_membrane": {"kind": "matrix", "upper": 1.0, "initial": {
            "kind": "layer", "axis": axis, "lo_um": lay["bm_lo"], "hi_um": lay["bm_hi"],
            "value": 1.0}},
        "laminin": {"kind": "matrix", "upper": 1.0, "initial": 0.0},
        "anisotropy": {"kind": "matrix", "upper": 1.0, "initial": 0.0},
        **{f: {"kind": "matrix", "lower": -1.0, "upper": 1.0, "initial": 0.0} for f in fibres},
    }  # fmt: skip
    tumor = {
        **PLAIN_CELL,
        "secretion": {"uptake_per_min": {"oxygen": 10.0}, "secretion_per_min": {"mmp": 0.0006},
                      "secretion_target": {"mmp": 1.0}},
        "motility": {"speed_um_per_min": 0.5, "persistence_time_min": 15.0},
        "ecm": {"haptotactic_response_um2_per_min": 30.0, "fibre_following": 0.5,
                "fibre_realignment_per_um": 1.0, "anisotropy_increase_per_um": 0.004},
        "proteolysis": {"rate_per_min": 0.01, "deposition_per_min": 0.001},
        "rho_gtpase": {},
    }  # fmt: skip
    epithelium = {
        **PLAIN_CELL,
        "secretion": {"uptake_per_min": {"oxygen": 10.0}},
        "rho_gtpase": {"modes": {"epithelial": {"migration speed": 0.0}}},
    }
    rules = [
        {"cell_type": "tumor", "signal": "matrix confinement", "direction": "increases",
         "behaviour": "rho activation", "saturation": 6.0, "half_max": 0.3, "hill_power": 2.0},
        {"cell_type": "tumor", "signal": "ln5_fragment", "direction": "increases",
         "behaviour": "emt induction", "saturation": 0.01, "half_max": 0.01, "hill_power": 2.0},
        {"cell_type": "epithelium", "signal": "pressure", "direction": "decreases",
         "behaviour": "cycle entry", "saturation": 0.0, "half_max": 0.5, "hill_power": 4.0},
    ]  # fmt: skip
    ep, tu = lay["epithelium"], lay["tumor"]
    params = {
        "processes": [
            "secretion", "diffusion", "mechanics", "motility", "ecm", "basement_membrane",
            "contacts", "rho_gtpase", "volume", "death", "cycle", "division",
            "matrix_degradation", "proteolysis", "basement_membrane_breach",
        ],
        "dt_diffusion_min": dt_diffusion, "dt_mechanics_min": DT,
        "diffusion": {"scheme": scheme}, "fields": fields,
        "cell_types": {"epithelium": epithelium, "tumor": tumor},
        "ecm": {"density_field": "ecm", "anisotropy_field": "anisotropy",
                "fibre_fields": fibres},
        "matrix_degradation": {"reactions": [
            {"matrix": "ecm", "enzyme": "mmp", "rate_per_unit_per_min": 0.06},
            {"matrix": "basement_membrane", "enzyme": "mmp", "rate_per_unit_per_min": 0.03},
            {"matrix": "laminin", "enzyme": "mmp", "rate_per_unit_per_min": 0.06,
             "product": "ln5_fragment"}]},
        "proteolysis": {"matrices": {"ecm": 1.0, "basement_membrane": 0.5, "laminin": 1.0},
                        "products": {"laminin": {"field": "ln5_fragment"}},
                        "deposit_field": "laminin"},
        "basement_membrane_breach": {"rupture_pressure": 5.0, "rupture_rate_per_min": 0.01},
        "rules": rules,
        "initial": {"geometry": "groups", "groups": [
            {"geometry": "layer", "cell_type": "epithelium", "spacing_um": SPACING,
             "lo_um": ep[0], "hi_um": ep[1]},
            {"geometry": "layer", "cell_type": "tumor", "spacing_um": SPACING,
             "lo_um": tu[0], "hi_um": tu[1], "replace_within_um": 1.0}]},
    }  # fmt: skip
    return params, lay, mesh, half



# -- the microenvironment case (issue 12): the invasion case with stroma and immune cells ---------
#: the stroma's and immune cells' spacings on their lattices, µm (fibroblasts, then immune)
STROMA_SPACING = {"fibroblast": 40.0, "cd8_t_cell": 80.0, "nk_cell": 160.0,
                  "macrophage_m1": 120.0}  # fmt: skip


def microenvironment_params(n: int, dim: int, dt_diffusion: float | str, boundary: str,
                            scheme: str):  # fmt: skip
    """The invasion case plus the microenvironment: every cell type of issue 12 at once.

    Below the BM the stroma holds resident fibroblasts (TGF-β turns them into CAFs), CD8 T
    cells, NK cells and M1 macrophages (CSF-1 turns them into M2), on coarse lattices
    (:data:`STROMA_SPACING`); more CD8 T cells enter through the stroma's faces. The
    carcinoma secretes TGF-β, CXCL10 and CSF-1 (slow fields on the mechanics clock); killers
    chemotax to CXCL10 and kill on contact (PD-1/PD-L1, exhaustion); macrophages chemotax to
    CSF-1. Processes added: cytotoxicity, transformation, recruitment. Values as in the
    microenvironment scenarios (illustrative where they say so).
    """
    params, lay, mesh, half = invasion_params(n, dim, dt_diffusion, boundary, scheme)
    slow = {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 1000.0,
            "decay_per_min": 0.01, "boundary": "dirichlet", "boundary_value": 0.0,
            "initial": 0.0, "dt_min": DT}  # fmt: skip
    for f in ("tgfb", "cxcl10", "csf1"):
        params["fields"][f] = dict(slow)
    ct = params["cell_types"]
    sec = ct["tumor"]["secretion"]
    sec["secretion_per_min"] = {**sec["secretion_per_min"], "tgfb": 0.01, "cxcl10": 0.01,
                                "csf1": 0.01}  # fmt: skip
    sec["secretion_target"] = {**sec["secretion_target"], "tgfb": 1.0, "cxcl10": 1.0,
                               "csf1": 1.0}  # fmt: skip
    ct["tumor"]["cytotoxicity"] = {"pdl1_expression": 0.4}
    plain = {**PLAIN_CELL, "secretion": {"uptake_per_min": {"oxygen": 10.0}}}
    killer = {"motility": {"speed_um_per_min": 5.0, "persistence_time_min": 5.0,
                           "migration_bias": 0.5, "chemotactic_sensitivity": {"cxcl10": 1.0}}}
    ct["fibroblast"] = {**plain, "motility": {"speed_um_per_min": 0.1}}
    ct["caf"] = {**plain, "motility": {"speed_um_per_min": 0.5, "persistence_time_min": 15.0},
                 "proteolysis": {"rate_per_min": 0.01}}  # fmt: skip
    ct["cd8_t_cell"] = {**plain, **killer, "cytotoxicity": {
        "kill_rates_per_min": {"tumor": 0.01}, "pd1_expression": 1.0,
        "exhaustion_per_kill": 0.2, "checkpoint_exhaustion_rate_per_min": 0.0005}}
    ct["nk_cell"] = {**plain, **killer, "cytotoxicity": {
        "kill_rates_per_min": {"tumor": 0.005}, "exhaustion_per_kill": 0.25}}
    mac = {**plain, "motility": {"speed_um_per_min": 2.0, "persistence_time_min": 10.0,
                                 "migration_bias": 0.5, "chemotactic_sensitivity": {"csf1": 1.0}}}
    ct["macrophage_m1"] = {**mac, "cytotoxicity": {"kill_rates_per_min": {"tumor": 0.002}}}
    ct["macrophage_m2"] = dict(mac)
    params["processes"] += ["cytotoxicity", "transformation", "recruitment"]
    axis = "xyz"[dim - 1]
    params["rules"] += [
        {"cell_type": "fibroblast", "signal": "tgfb", "direction": "increases",
         "behaviour": "transform to caf", "saturation": 0.001, "half_max": 0.1,
         "hill_power": 2.0},
        {"cell_type": "macrophage_m1", "signal": "csf1", "direction": "increases",
         "behaviour": "transform to macrophage_m2", "saturation": 0.005, "half_max": 0.1,
         "hill_power": 2.0},
        *({"cell_type": m, "signal": "csf1", "direction": "decreases", "behaviour": "apoptosis",
           "saturation": 0.0, "half_max": 0.05, "hill_power": 2.0}
          for m in ("macrophage_m1", "macrophage_m2")),
    ]  # fmt: skip
    faces = [f for f in ("x-", "x+", "y-", "y+", "z-", "z+")[: 2 * dim] if f != f"{axis}+"]
    params["recruitment"] = {"sources": [{"cell_type": "cd8_t_cell", "rate_per_min": 0.05,
                                          "faces": faces}]}  # fmt: skip
    side = lay["side"]
    lo = [WALL_GAP] * dim
    hi = [side - WALL_GAP] * (dim - 1) + [lay["bm_lo"] - WALL_GAP]
    for t, spacing in STROMA_SPACING.items():
        params["initial"]["groups"].append(
            {"geometry": "layer", "cell_type": t, "spacing_um": spacing, "lo_um": lo,
             "hi_um": hi, "replace_within_um": 1.0})  # fmt: skip
    return params, lay, mesh, half


class _Profile:
    """Accumulated wall seconds of the model's parts (wrapped methods).

    Keys: ``bind`` (secretion's binning, once per mechanics step), ``exchange`` (secretion's
    per-diffusion-step exchange), ``diffusion``, each mechanics-clock process by name, ``move``,
    ``fill_motion`` (the behaviour matrix's motion fill at the step's start), ``phenotype``
    (the whole phenotype step) and, inside it, ``phenotype.<process>`` and ``phenotype.fill``
    (the life fill, rules included), ``phenotype.sort`` (removal, re-binning, sort).
    The top-level keys add up to the timed span less ``other``.
    """

    def __init__(self, model) -> None:
        import invasim.models.agents as engine

        self.s: dict[str, float] = {}
        self.inside_phenotype = False
        procs = {q.name: q for q in model.processes}
        wraps = [("bind", procs["secretion"], "bind"), ("exchange", procs["secretion"], "step"),
                 ("diffusion", procs["diffusion"], "step"), ("phenotype", model, "_phenotype")]
        for q in model.mechanics_clock:
            wraps.append((q.name, q, "step"))
        for q in (*model.sensing, *model.acting):
            wraps.append((f"phenotype.{q.name}", q, "step"))
        for name, obj, attr in wraps:
            setattr(obj, attr, self._wrap(name, getattr(obj, attr)))
        fill = model.behaviours.fill
        prof = self

        def timed_fill(state, phase, t_min):
            key = "phenotype.fill" if phase == "life" else "fill_motion"
            t0 = time.perf_counter()
            try:
                return fill(state, phase, t_min)
            finally:
                prof.s[key] = prof.s.get(key, 0.0) + time.perf_counter() - t0

        model.behaviours.fill = timed_fill
        self._engine, self._move = engine, engine.move
        engine.move = self._wrap("move", engine.move)

    def _wrap(self, name, fn):
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.s[name] = self.s.get(name, 0.0) + time.perf_counter() - t0

        return timed

    def snapshot(self) -> dict[str, float]:
        return dict(self.s)

    def parts(self, start: dict[str, float], wall: float) -> dict[str, float]:
        """The span's seconds per part since ``start``, with ``other`` and the phenotype's
        remainder (``phenotype.sort``)."""
        end = self.snapshot()
        parts = {k: end[k] - start.get(k, 0.0) for k in end}
        inner = sum(v for k, v in parts.items() if k.startswith("phenotype."))
        if "phenotype" in parts:
            parts["phenotype.sort"] = parts["phenotype"] - inner
        parts["other"] = wall - sum(v for k, v in parts.items() if "." not in k)
        return parts


def _readouts(model, fields, t_min: float, case: str) -> dict[str, float]:
    """What an output records: the model's metrics, and (invasion) the pathology readouts."""
    out = model.metrics(fields, t_min)
    if case in ("invasion", "microenvironment"):
        import invasim.analysis.pathology  # noqa: F401  (registers the readouts)
        from invasim.analysis.readouts import compute

        snap = model.snapshot(fields, t_min)
        names = [n for n in PATHOLOGY if n != "bm_breached_um2" or model.mesh.dim == 3]
        out.update(compute(snap, names))
    return out


def one_full_case(args: argparse.Namespace) -> dict:
    """Time one case of the full agent model in this process (a subprocess of the parent)."""
    import numba

    numba.set_num_threads(args.threads_one)
    case = args.case_one
    dt_diff = args.dt_diffusion if args.dt_diffusion == "default" else float(args.dt_diffusion)
    # load (or compile) every kernel on a small case first, so that base_mem_mb includes them
    for small in (60, 6000):
        m, f, _ = full_model(small, args.dim_one, dt_diff, args.boundary, args.scheme, case)
        m.step(f, 0.0)
        _readouts(m, f, PHENOTYPE_DT, case)
    base = _rss_mb()
    model, fields, info = full_model(args.cells_one, args.dim_one, dt_diff, args.boundary,
                                     args.scheme, case)  # fmt: skip
    n0 = int(model.cells.n)
    prof = _Profile(model) if args.profile else None
    if args.phenotype_steps == "auto":  # 1 and 3 steps, more for small cases (>= ~2e6 updates)
        k1, k2 = 1, 1 + max(2, math.ceil(2e6 / (max(args.cells_one, 1) * model.n_mech)))
    else:
        k1, k2 = (int(v) for v in args.phenotype_steps.split(","))
    marks, live = {}, []
    busy = {}
    t0 = time.perf_counter()
    for k in range(k2):
        if k == k1:
            busy[k1] = _cpu_busy_s()
            marks[k1] = time.perf_counter()
            snap = prof.snapshot() if prof else {}
        if k >= k1:
            live.append(int((model.cells.dead == 0).sum()))
        model.step(fields, k * PHENOTYPE_DT)
    marks[k2] = time.perf_counter()
    busy[k2] = _cpu_busy_s()
    wall = marks[k2] - marks[k1]
    other = max(0.0, (busy[k2][0] - busy[k1][0]) - (busy[k2][1] - busy[k1][1])) / wall
    updates = sum(live) * model.n_mech
    # the outputs: readouts at every output_interval_min, costed per simulated minute (the
    # median of 3 calls on the state at the span's end), added to the span pro rata
    span_min = (k2 - k1) * PHENOTYPE_DT
    r_walls = []
    for _ in range(3):
        t_r = time.perf_counter()
        values = _readouts(model, fields, k2 * PHENOTYPE_DT, case)
        r_walls.append(time.perf_counter() - t_r)
    readout_s = sorted(r_walls)[1]
    interval = args.output_interval_min
    wall_out = wall + (readout_s * span_min / interval if interval > 0 else 0.0)
    n = args.cells_one
    c = model.cells
    field_bytes = sum(u.nbytes for u in fields.values())
    out = {
        "case": case,
        "cells": n,
        "cells_placed": n0,
        "dim": args.dim_one,
        "threads": args.threads_one,
        "engine": "full",
        "processes": list(model.params.processes),
        "fields": {k: model.params.fields[k].kind for k in model.params.fields},
        **{k: info[k] for k in ("dt_diffusion", "dt_mechanics", "dt_phenotype")},
        "accuracy_check": info["accuracy_check"],
        "accuracy_dt_limit": info["accuracy_dt_limit"],
        "diffusion_scheme": info["diffusion_scheme"],
        "boundary": info["boundary"],
        "phenotype_steps": [k1, k2],
        "mechanics_steps": (k2 - k1) * model.n_mech,
        "diffusion_steps": (k2 - k1) * model.n_mech * model.n_diff,
        "live_cells_timed": live,
        "live_cells_end": int((c.dead == 0).sum()),
        "wall_s": round(wall, 4),
        "wall_s_total": round(marks[k2] - t0, 4),
        "agent_updates_per_s_steps": float(f"{updates / wall:.4g}"),
        "output_interval_min": interval,
        "readouts_s": round(readout_s, 4),
        "agent_updates_per_s": float(f"{updates / wall_out:.4g}"),
        "voxels": info["voxels"],
        "voxel_updates_per_s": float(
            f"{info['voxels'] * (k2 - k1) * model.n_mech * model.n_diff / wall:.4g}"
        ),
        "peak_mem_mb": round(_rss_mb(), 1),
        "base_mem_mb": round(base, 1),
        "bytes_per_cell": round(
            (c.nbytes() + model.state.neighbours.nbytes() + model.behaviours.values.nbytes
             + field_bytes) / max(n, 1), 1
        ),
        "rss_per_cell_bytes": round((_rss_mb() - base) * 2**20 / max(n, 1), 1),
        "domain_um": info["domain_um"],
        "other_procs_cores": round(other, 2),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    if case in ("invasion", "microenvironment"):
        out["readouts"] = {k: (round(v, 4) if isinstance(v, float) else v)
                           for k, v in values.items()}  # fmt: skip
    if prof:
        out["breakdown_s"] = {k: round(v, 3) for k, v in prof.parts(snap, wall).items()}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--engine", choices=["full", "mechanics"], default="full")
    p.add_argument("--cells", default="1000,10000,100000", help="comma list")
    p.add_argument("--dim", default="2,3", help="comma list of 2, 3")
    p.add_argument("--threads", default=None, help="comma list, default: Numba's thread count")
    p.add_argument("--kernel", choices=["auto", "serial", "parallel"], default="auto")
    p.add_argument("--steps", type=int, default=0, help="0: about --work agent-updates")
    p.add_argument("--work", type=float, default=2e7, help="agent-updates per timed run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sort-every", type=int, default=20, help="steps between sorts, 0: never")
    p.add_argument("--dt-diffusion", default="0.01", help="min, or 'default' (full)")
    p.add_argument(
        "--scheme",
        choices=["lod-cn", "lod-be"],
        default="lod-be",
        help="diffusion scheme (full); lod-be is BioFVM's",
    )
    p.add_argument(
        "--boundary",
        choices=["dirichlet", "no-flux"],
        default="dirichlet",
        help="oxygen walls (full)",
    )
    p.add_argument(
        "--phenotype-steps",
        default="auto",
        help="full: 'K1,K2' times phenotype steps K1..K2 (wall(K2) - wall(K1)); "
        "auto: 1,3 (more below ~2e6 agent-updates)",
    )
    p.add_argument("--profile", action="store_true", help="full: split the time by part")
    p.add_argument(
        "--case",
        default="plain",
        help="full: comma list of plain (PhysiCell's benchmark), invasion (the biology on), "
        "microenvironment (invasion + fibroblasts/CAFs, T, NK cells, macrophages)",
    )
    p.add_argument("--rounds", type=int, default=1, help="full: runs of each case, interleaved")
    p.add_argument(
        "--output-interval-min",
        type=float,
        default=OUTPUT_INTERVAL,
        help="full: min between outputs; the readouts' cost is added pro rata (0: none)",
    )
    p.add_argument("--case-one", default="plain", help=argparse.SUPPRESS)
    p.add_argument("--cells-one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dim-one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--threads-one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.cells_one:  # child: one case
        run = one_full_case if args.engine == "full" else one_case
        print(json.dumps(run(args)), flush=True)
        return
    import numba

    threads = args.threads or str(numba.config.NUMBA_NUM_THREADS)
    passthrough = list(sys.argv[1:])
    for name in ("--cells", "--dim", "--threads", "--case", "--rounds"):
        passthrough = _strip_values(passthrough, name)
    for dim in args.dim.split(","):
        for n in args.cells.split(","):
            for t in threads.split(","):
                for _ in range(args.rounds):  # cases interleaved: A B A B ...
                    for case in args.case.split(","):
                        cmd = [sys.executable, __file__, *passthrough, "--cells-one", n,
                               "--dim-one", dim, "--threads-one", t, "--case-one", case]
                        subprocess.run(cmd, check=True)


def _strip_values(argv: list[str], name: str) -> list[str]:
    """``argv`` without the option ``name`` (``--x v`` or ``--x=v``)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == name:
            skip = True
            continue
        if a.startswith(name + "="):
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    main()
