"""Neighbour-traversal kernels, one at a time: milliseconds per call on the agents.py packing.

The cells of ``benchmarks/agents.py`` (hexagonal disc / fcc ball at 15 µm, PhysiCell's default
cell, radius 8.41 µm), sorted by bin and jittered by ``--jitter`` µm so that the traversal does
not see a perfect lattice. Kernels (``--kernels``, each on the cell list the agent model uses):

* ``velocity``: :func:`~invasim.physics.mechanics.compute_velocities`, per-type strengths;
* ``velocity_cell``: the same with per-cell repulsion and adhesion arrays (the rules' path);
* ``contacts``: :func:`~invasim.physics.contacts.contact_kernel`, pressure and contact counts;
* ``pairs``: :func:`~invasim.physics.neighbors.neighbor_pairs` (serial, counts then writes,
  plus its own cell-list build and the final sort).

Each case (dimension × thread count) runs in its own subprocess; one warm-up call, then the
median and the best of ``--repeats`` timed calls, each of ``--calls`` calls. Prints one JSON
object per case; ``other_procs_cores`` as in agents.py (the CPU other processes used).

Example: ``python benchmarks/traversal.py --cells 100000 --dim 2,3 --threads 2``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import invasim  # noqa: F401 - first: sets GOMP_SPINCOUNT before Numba's threads start

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agents import DT, _cpu_busy_s, build  # noqa: E402

KERNELS = ("velocity", "velocity_cell", "contacts", "pairs")


def one_case(args: argparse.Namespace) -> dict:
    """Time the kernels for one dimension and thread count in this process."""
    import numba

    from invasim.physics.contacts import contact_kernel
    from invasim.physics.mechanics import Mechanics, compute_velocities
    from invasim.physics.neighbors import neighbor_pairs

    numba.set_num_threads(args.threads_one)
    cells, params, extent, _ = build(args.cells, args.dim_one)
    rng = np.random.default_rng(0)
    cells.position[:, : args.dim_one] += rng.uniform(-args.jitter, args.jitter,
                                                     (cells.n, args.dim_one))  # fmt: skip
    mech = Mechanics(params, extent)
    mech.sort(cells)
    mech.rebuild(cells)
    n = cells.n
    cl = mech.cell_list
    rep = np.full(n, 10.0) * rng.uniform(0.9, 1.1, n)
    adh = np.full(n, 0.4) * rng.uniform(0.9, 1.1, n)
    n_types = params.n_types
    pressure = np.zeros(n)
    contacts = np.zeros((n, n_types + 2))
    search = min(cl.cutoff, 2.0 * float(cells.radius.max()))

    def velocity() -> None:
        compute_velocities(cells, cl, params, extent, mech.scratch(n, 4))

    def velocity_cell() -> None:
        compute_velocities(cells, cl, params, extent, mech.scratch(n, 6), repulsion=rep,
                           adhesion=adh)  # fmt: skip

    def contacts_() -> None:
        contact_kernel(cells.position, cells.radius, cells.type, cells.dead, cl.order,
                       cl.bin_start, cl.nb, cl.w, cl.inv_w, cl.tol, search, True, pressure,
                       contacts)  # fmt: skip

    def pairs() -> None:
        neighbor_pairs(cells.position, extent, params.cutoff(float(cells.radius.max())))

    fns = {"velocity": velocity, "velocity_cell": velocity_cell, "contacts": contacts_,
           "pairs": pairs}  # fmt: skip
    out = {"cells": n, "dim": args.dim_one, "threads": args.threads_one, "dt_min": DT}
    for name in args.kernels.split(","):
        fn = fns[name]
        fn()  # warm-up (compilation or cache load)
        walls, others = [], []
        for _ in range(args.repeats):
            busy0, own0 = _cpu_busy_s()
            t0 = time.perf_counter()
            for _ in range(args.calls):
                fn()
            walls.append((time.perf_counter() - t0) / args.calls)
            busy1, own1 = _cpu_busy_s()
            others.append(max(0.0, (busy1 - busy0) - (own1 - own0)) / (walls[-1] * args.calls))
        out[f"{name}_ms"] = round(1e3 * float(np.median(walls)), 3)
        out[f"{name}_ms_best"] = round(1e3 * min(walls), 3)
        out[f"{name}_other_procs_cores"] = round(float(np.median(others)), 2)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", type=int, default=100000)
    p.add_argument("--dim", default="2,3", help="comma list of 2, 3")
    p.add_argument("--threads", default="2", help="comma list")
    p.add_argument("--kernels", default=",".join(KERNELS), help=f"comma list of {KERNELS}")
    p.add_argument("--calls", type=int, default=10, help="calls per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--jitter", type=float, default=1.0, help="µm, uniform per axis")
    p.add_argument("--dim-one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--threads-one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.dim_one:
        print(json.dumps(one_case(args)), flush=True)
        return
    rest = list(sys.argv[1:])
    for dim in args.dim.split(","):
        for t in args.threads.split(","):
            cmd = [sys.executable, __file__, *rest, "--dim-one", dim, "--threads-one", t]
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
