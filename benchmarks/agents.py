"""Agent-engine benchmark: PhysiCell's benchmark case (PERFORMANCE.md), mechanics only for now.

The case: N cells of one type (PhysiCell's default cell, 2494 µm³, radius 8.41 µm) packed at
15 µm spacing, hexagonal in 2-D and fcc in 3-D, in the disc/ball of the N lattice sites nearest
the centre; domain half-width = packing radius + 100 µm rounded up to 20 µm; adhesion
0.4 µm/min, repulsion 10 µm/min, relative maximum adhesion distance 1.25, wall repulsion
100 µm/min; mechanics dt 0.1 min, Adams–Bashforth 2 (PhysiCell's).

What is timed (``"includes": ["mechanics"]``): per mechanics step, the cell-list rebuild,
the velocities and the motion, plus a spatial sort of the cells every ``--sort-every`` steps.
Diffusion and phenotype join when they are integrated with the agents. One warm-up step first
(compilation or cache load excluded), then ``--steps`` steps (default: about ``--work``
agent-updates), best of ``--repeats``.

One JSON object per case and thread count, each in its own subprocess so that
``peak_mem_mb`` (ru_maxrss) is that case's; ``base_mem_mb`` is the same before the cells exist.
``agent_updates_per_s = live cells × steps ÷ wall_s``. ``bytes_per_cell`` counts the Cells
arrays (at their capacity) plus the cell list and the mechanics scratch. ``kernel`` is
``serial`` or ``parallel`` (``--kernel auto`` picks parallel from 5000 cells when threads > 1).
``other_procs_cores`` is the CPU other processes used during the reported run (/proc/stat):
on a 2-core machine a 2-thread figure means something only when it is near 0.

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

SPACING = 15.0  # µm
MARGIN = 100.0  # µm beyond the packing radius
ROUND = 20.0  # µm
DT = 0.1  # min


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
    """Time one case in this process (run by the parent as a subprocess)."""
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", default="1000,10000,100000", help="comma list")
    p.add_argument("--dim", default="2,3", help="comma list of 2, 3")
    p.add_argument("--threads", default=None, help="comma list, default: Numba's thread count")
    p.add_argument("--kernel", choices=["auto", "serial", "parallel"], default="auto")
    p.add_argument("--steps", type=int, default=0, help="0: about --work agent-updates")
    p.add_argument("--work", type=float, default=2e7, help="agent-updates per timed run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sort-every", type=int, default=20, help="steps between sorts, 0: never")
    p.add_argument("--cells-one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dim-one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--threads-one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.cells_one:  # child: one case
        print(json.dumps(one_case(args)), flush=True)
        return
    import numba

    threads = args.threads or str(numba.config.NUMBA_NUM_THREADS)
    passthrough = list(sys.argv[1:])
    for name in ("--cells", "--dim", "--threads"):
        passthrough = _strip_values(passthrough, name)
    for dim in args.dim.split(","):
        for n in args.cells.split(","):
            for t in threads.split(","):
                cmd = [sys.executable, __file__, *passthrough, "--cells-one", n, "--dim-one",
                       dim, "--threads-one", t]  # fmt: skip
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
