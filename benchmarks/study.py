"""Study throughput: short Fisher–KPP runs on a local Dask cluster vs one after another.

Prints one JSON object per line:

* ``serial``: ``--runs`` runs one after another in this process with ``Simulation.run``
  (after one warm-up run, so imports and JIT loading are not counted): ``s_per_run`` and
  ``runs_per_min``.
* ``startup``: for each worker count, the seconds to start and stop the local cluster with
  one warm-up run on each worker (imports, Numba cache loads), as the first
  run on each worker of a real study pays them.
* ``study``: for each worker count, ``run_study`` of the same runs end to end: ``wall_s``,
  ``runs_per_min`` (everything included), ``steady_runs_per_min`` (cluster start and stop
  taken out) and ``overhead_s_per_run``: the time per run beyond ``s_per_run × runs / workers``
  once start-up is taken out (scheduling, the run-directory bookkeeping, the table, and any
  parallel slowdown of the machine itself).
* ``roundtrip``: the latency of a no-op Dask task on a warm 1-worker cluster (Dask's own cost).

Every run writes its full run directory as a study run does (no summary figure);
``load_before``/``load_after`` are the 1-minute load averages: on a shared machine figures are
comparable only when the load is low.

Example: ``python benchmarks/study.py --runs 16 --workers 1,2``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def _spec(runs: int, end_min: float):
    from invasim.study import load_study_spec

    return load_study_spec(
        {
            "name": "bench",
            "scenario": "fisher-kpp",
            "seed": 1,
            "replicates": runs,
            "set": {"time.end_min": end_min, "time.checkpoint_interval_min": end_min},
        }
    )


def _serial(spec, root: Path) -> dict:
    import invasim
    from invasim.study import expand
    from invasim.study.spec import to_overrides

    cfg = invasim.load_scenario(spec.scenario, to_overrides(spec.set))
    design = expand(spec)
    invasim.Simulation(cfg, seed=0).run(out=root / "warmup", progress=False, summary=False)
    t0 = time.perf_counter()
    for rec in design.itertuples():
        invasim.Simulation(cfg, seed=int(rec.seed)).run(
            out=root / rec.run_id, progress=False, summary=False
        )
    wall = time.perf_counter() - t0
    n = len(design)
    return {"case": "serial", "runs": n, "wall_s": round(wall, 3),
            "s_per_run": round(wall / n, 4), "runs_per_min": round(60 * n / wall, 1)}


def _warm_worker(spec_data: dict, root: str) -> None:
    """One run on a worker: its imports, Numba cache loads and first figure."""
    import invasim
    from invasim.study.spec import to_overrides

    cfg = invasim.load_scenario(spec_data["scenario"], to_overrides(spec_data["set"]))
    invasim.Simulation(cfg, seed=0).run(
        out=Path(root) / f"warm-{os.getpid()}", progress=False, summary=False
    )


def _startup(spec, workers: int, runs: int, root: Path) -> float:
    """Start a local cluster, make each worker do one warm-up run, stop it: seconds."""
    from invasim.study.runner import open_client

    t0 = time.perf_counter()
    with open_client(workers=workers, n_tasks=runs) as (client, _):
        client.run(_warm_worker, spec.to_data(), str(root))
    return time.perf_counter() - t0


def _roundtrip(repeats: int = 50) -> float:
    from invasim.study.runner import open_client

    with open_client(workers=1) as (client, _):
        client.submit(abs, -1, pure=False).result()
        t0 = time.perf_counter()
        for k in range(repeats):
            client.submit(abs, -k, pure=False).result()
        return (time.perf_counter() - t0) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=16, help="runs per case (default 16)")
    ap.add_argument("--workers", default=None, help="worker counts, e.g. 1,2 (default 1,cores)")
    ap.add_argument("--end-min", type=float, default=40320.0,
                    help="simulated minutes per run (default 4 weeks, 420 steps)")
    args = ap.parse_args()
    from invasim.study import run_study
    from invasim.study.runner import usable_cores

    cores = usable_cores()
    counts = [int(w) for w in args.workers.split(",")] if args.workers else sorted({1, cores})
    spec = _spec(args.runs, args.end_min)
    with tempfile.TemporaryDirectory(prefix="invasim-bench-study-") as tmp:
        root = Path(tmp)
        load0 = os.getloadavg()[0]
        serial = _serial(spec, root / "serial")
        print(json.dumps({**serial, "cores": cores, "load_before": load0,
                          "load_after": os.getloadavg()[0]}), flush=True)
        for w in counts:
            startup = _startup(spec, w, args.runs, root / f"warm-{w}")
            print(json.dumps({"case": "startup", "workers": w, "s": round(startup, 3)}),
                  flush=True)
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            run_study(spec, root / f"study-{w}", workers=w, progress=False)
            wall = time.perf_counter() - t0
            steady = max(wall - startup, 1e-9)
            ideal = serial["s_per_run"] * args.runs / w
            print(json.dumps({
                "case": "study", "workers": w, "runs": args.runs, "wall_s": round(wall, 3),
                "runs_per_min": round(60 * args.runs / wall, 1),
                "steady_runs_per_min": round(60 * args.runs / steady, 1),
                "overhead_s_per_run": round((steady - ideal) * w / args.runs, 4),
                "load_before": load0, "load_after": os.getloadavg()[0],
            }), flush=True)
        rt = _roundtrip()
        print(json.dumps({"case": "roundtrip", "ms": round(1000 * rt, 2)}), flush=True)


if __name__ == "__main__":
    main()
