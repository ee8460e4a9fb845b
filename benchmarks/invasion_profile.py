"""Per-process cost of the agent engine's cases, call by call (milliseconds per call).

Builds a case of ``agents.py`` (``--case plain`` or ``invasion``, the same builder), runs one
phenotype step (compilation, first-step setup), then times each process's hook on the live
state: every mechanics-clock process's ``step`` and the secretion ``bind`` (per mechanics
step), the secretion exchange and the diffusion ``step`` (per diffusion step), the behaviour
matrix's motion fill, ``rho_gtpase`` (per phenotype step) and the readouts of an output.
Each is the median of ``--calls`` calls after one unmeasured call. Calls repeat the same
work on the same state (the state drifts a little: velocities, fibres), so medians of many
short calls are less sensitive to a shared machine's bursts than one long run; the whole-run
figure remains ``agents.py``'s.

Example: ``python benchmarks/invasion_profile.py --cells 100000 --dim 2 --threads 1``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import agents  # noqa: E402  (imports invasim first: GOMP_SPINCOUNT)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", type=int, default=100000)
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--case", default="invasion", choices=["plain", "invasion", "microenvironment"])
    p.add_argument("--calls", type=int, default=20)
    args = p.parse_args()
    import numba

    numba.set_num_threads(args.threads)
    model, fields, _ = agents.full_model(args.cells, args.dim, 0.01, "dirichlet", "lod-be",
                                         args.case)  # fmt: skip
    model.step(fields, 0.0)
    s = model.state
    procs = {q.name: q for q in model.processes}
    out: dict[str, float] = {}

    def timed(name, fn, calls=args.calls):
        fn()
        walls = []
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            walls.append(time.perf_counter() - t0)
        out[name] = round(1e3 * sorted(walls)[len(walls) // 2], 3)

    for q in model.mechanics_clock:  # per mechanics step
        timed(q.name, lambda q=q: q.step(s, model.dt_mech))
    timed("bind", lambda: procs["secretion"].bind(s, False))
    timed("exchange", lambda: procs["secretion"].step(s, model.dt_diff))  # per diffusion step
    timed("diffusion", lambda: procs["diffusion"].step(s, model.dt_diff))
    few = max(3, args.calls // 5)
    timed("fill_motion", lambda: model.behaviours.fill(s, "motion", s.step_start), few)
    if "rho_gtpase" in procs:  # per phenotype step
        timed("rho_gtpase", lambda: procs["rho_gtpase"].step(s, model.dt), few)
    timed("readouts", lambda: agents._readouts(model, fields, s.t, args.case), 3)
    print(json.dumps({
        "case": args.case, "cells": int(s.cells.n), "dim": args.dim, "threads": args.threads,
        "n_diff": model.n_diff, "n_mech": model.n_mech, "ms_per_call": out,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
