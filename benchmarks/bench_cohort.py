"""Cohort throughput: a virtual cohort of the body model on a local Dask cluster.

Prints one JSON object per line:

* ``serial``: ``--serial`` patients of the first arm one after another in this process (after
  one warm-up patient, so compilation and cache loads are not counted): ``s_per_patient``.
* ``cohort``: ``run_cohort`` end to end (cluster start and stop, every patient of every arm,
  the tables, the Kaplan–Meier figure, the record): ``wall_s``, ``patients`` (all arms),
  ``patients_per_s``, and ``efficiency`` = ``s_per_patient × patients / (workers × wall_s)``
  (1: the workers are busy all the time with patients only).

``load_before``/``load_after`` are the 1-minute load averages: on a shared machine figures are
comparable only when the load is low.

The brief's case: 1000 patients × 4 arms on 2 workers (the ``resection-timing`` cohort with a
fourth arm, shedding × 3)::

    NUMBA_NUM_THREADS=1 python benchmarks/bench_cohort.py --patients 1000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def _spec(patients: int, name: str):
    from invasim.cohort.spec import load_cohort_spec, read_cohort_data

    data, _ = read_cohort_data(name)
    data["patients"] = patients
    data["arms"]["shed-x3"] = {"description": "shedding x3", "source": "benchmark",
                               "scale": {"shed_per_day": 3.0}}  # fmt: skip
    return load_cohort_spec(data)


def _serial(spec, n: int) -> dict:
    from invasim.cohort.patients import patient_row
    from invasim.cohort.spec import sample_table

    rows = sample_table(spec, n + 1).to_dict("records")
    arm = spec.arm_names[0]
    patient_row(spec, arm, rows[0])  # warm-up: compilation / cache load
    t0 = time.perf_counter()
    for r in rows[1:]:
        patient_row(spec, arm, r)
    s = (time.perf_counter() - t0) / n
    return {"case": "serial", "arm": arm, "patients": n, "s_per_patient": round(s, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1000, help="per arm (default 1000)")
    ap.add_argument("--workers", type=int, default=2, help="local workers (default 2)")
    ap.add_argument("--cohort", default="resection-timing", help="built-in cohort")
    ap.add_argument("--serial", type=int, default=20, help="patients timed serially")
    ap.add_argument("--chunk", type=int, default=25, help="patients per task")
    args = ap.parse_args()
    from invasim.cohort.runner import run_cohort

    spec = _spec(args.patients, args.cohort)
    serial = _serial(spec, args.serial)
    print(json.dumps(serial), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        out, patients, surv = run_cohort(spec, Path(tmp) / "c", workers=args.workers,
                                         progress=False, chunk=args.chunk)  # fmt: skip
        wall = time.perf_counter() - t0
        n = len(patients)
        print(json.dumps({
            "case": "cohort", "cohort": spec.name, "arms": len(spec.arm_names),
            "patients": n, "workers": args.workers, "chunk": args.chunk,
            "wall_s": round(wall, 2), "patients_per_s": round(n / wall, 2),
            "efficiency": round(serial["s_per_patient"] * n / (args.workers * wall), 3),
            "cores": os.cpu_count(), "load_before": load0, "load_after": os.getloadavg()[0],
            "hr": {r.arm: round(float(r.hr), 3) for r in surv.itertuples()},
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
