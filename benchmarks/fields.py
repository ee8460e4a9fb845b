"""Field-solver benchmark: diffusion throughput, and accuracy at invasim's own time step.

Modes (one JSON object per line on stdout):

* ``rate`` (default): PhysiCell's setting (D = 1e5 µm²/min, decay 0.1/min, h = 20 µm,
  dt = 0.01 min, no-flux walls). For every case and thread count: wall time of ``--steps``
  steps of every substrate (best of ``--repeats`` runs, compilation excluded) and
  ``voxel_updates_per_s_per_substrate = voxels * steps * substrates / wall_s``.
* ``default``: invasim's default scheme (lod-cn) at its default time step
  ``accuracy_dt_limit`` (no-flux walls), with the same rate plus the measured error
  (relative L2 vs the exact solution) of a Gaussian of width 3 h diffusing until its variance
  doubles, next to the error of ``--scheme`` at ``--dt`` (PhysiCell's setting) on the same test.
* ``accuracy``: the scan behind ``ACCURACY_R_MAX``: for each scheme and ``r = D dt / h²``, the
  time error over the spatial error (Gaussian, as above) and the smallest value a unit
  one-voxel spike reaches in 20 steps.

Each case runs in its own subprocess so that ``peak_mem_mb`` (ru_maxrss) is that case's;
``base_mem_mb`` is the same process's peak before the fields are allocated (interpreter,
NumPy, Numba, the loaded kernels). ``other_procs_cores`` is the CPU other processes used
during the reported run (from /proc/stat): on a shared 2-core machine a 2-thread figure is only
meaningful when it is near 0.

Example: ``python benchmarks/fields.py --cases 512x512,1024x1024,128x128x128 --threads 1,2``
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

PHYSICELL = {"D": 1e5, "decay": 0.1, "h": 20.0, "dt": 0.01}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_busy_s() -> tuple[float, float]:
    """(CPU-seconds busy on the whole machine, CPU-seconds used by this process) so far."""
    with open("/proc/stat") as f:
        v = [float(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (sum(v) - v[3] - v[4]) / tick, ru.ru_utime + ru.ru_stime


def gaussian_error(dim: int, scheme: str, r: float, s0_h: float = 3.0) -> dict:
    """Errors of ``scheme`` at ``r = D dt / h²`` on a Gaussian of width ``s0_h`` voxels."""
    from invasim.core.mesh import Mesh
    from invasim.physics.diffusion import Diffusion

    D, decay, h = 1.0, 0.1, 1.0
    s0 = s0_h * h
    n = 2 * math.ceil(8.5 * s0 / h)
    mesh = Mesh(dim, (n,) * dim, h)
    x, y, z = mesh.grids()
    c = n * h / 2
    r2 = (x - c) ** 2 + ((y - c) ** 2 if dim > 1 else 0) + ((z - c) ** 2 if dim > 2 else 0)

    def exact(t):
        s2 = s0**2 + 2 * D * t
        return (s0**2 / s2) ** (dim / 2) * np.exp(-r2 / (2 * s2)) * math.exp(-decay * t)

    def run(sch, dt, steps):
        u = np.ascontiguousarray(exact(0.0) + mesh.zeros())
        d = Diffusion(mesh, D, decay, dt, scheme=sch)
        for _ in range(steps):
            d.step(u)
        return u

    dt = r * h * h / D
    steps = math.ceil(s0**2 / (2 * D) / dt - 1e-9)
    t_end = steps * dt
    fine = steps * math.ceil(r / 0.02)
    u = run(scheme, dt, steps)
    ref = run("lod-cn", t_end / fine, fine)
    ex = exact(t_end)
    norm = float(np.linalg.norm(ex))
    return {
        "rel_l2_error": float(np.linalg.norm(u - ex)) / norm,
        "rel_l2_error_dt_to_0": float(np.linalg.norm(ref - ex)) / norm,
        "time_over_space_error": float(np.linalg.norm(u - ref) / np.linalg.norm(ref - ex)),
        "gaussian_sigma_voxels": s0_h,
        "steps_to_variance_doubling": steps,
    }


def spike_min(dim: int, scheme: str, r: float, dirichlet: bool) -> float:
    """Smallest value over 20 steps from a unit one-voxel spike (at a wall if ``dirichlet``)."""
    from invasim.core.mesh import Mesh
    from invasim.physics.diffusion import Boundary, Diffusion

    mesh = Mesh(dim, (15,) * dim, 1.0)
    u = mesh.zeros()
    k = 0 if dirichlet else 7
    u[(0,) * (3 - dim) + (k,) * dim] = 1.0
    bc = Boundary("dirichlet", 0.0) if dirichlet else Boundary()
    d = Diffusion(mesh, 1.0, 0.0, r, bc, scheme)
    worst = 0.0
    for _ in range(20):
        d.step(u)
        worst = min(worst, float(u.min()))
    return worst


def one_case(args: argparse.Namespace) -> dict:
    """Time one case in this process (run by the parent as a subprocess)."""
    import numba

    from invasim.core.mesh import Mesh
    from invasim.physics.diffusion import Boundary, Diffusion, accuracy_dt_limit

    numba.set_num_threads(args.threads_one)
    n = tuple(int(v) for v in args.case.split("x"))
    mesh = Mesh(len(n), n, args.h)
    scheme, dt = args.scheme, args.dt
    if args.mode == "default":
        scheme = "lod-cn"
        dt = accuracy_dt_limit(mesh, args.D, scheme, Boundary())
    # load (or compile) the kernels on a tiny mesh first, so that base_mem_mb includes them
    tiny = Mesh(mesh.dim, (17,) * mesh.dim, args.h)
    Diffusion(tiny, args.D, args.decay, dt, scheme=scheme).step(tiny.zeros())
    base = _rss_mb()
    rng = np.random.default_rng(0)
    fields = []
    for _ in range(args.substrates):  # 38 (PhysiCell's initial oxygen) +-5 %, no temporaries
        u = mesh.zeros()
        rng.random(out=u)
        u *= 3.8
        u += 36.1
        fields.append(u)
    solvers = [Diffusion(mesh, args.D, args.decay, dt, scheme=scheme) for _ in fields]
    for s, u in zip(solvers, fields, strict=True):  # warm-up
        s.step(u)
    steps = args.steps or max(5, int(args.work / (mesh.n_voxels * args.substrates)))
    walls, others = [], []
    for _ in range(args.repeats):
        busy0, own0 = _cpu_busy_s()
        t0 = time.perf_counter()
        for _ in range(steps):
            for s, u in zip(solvers, fields, strict=True):
                s.step(u)
        walls.append(time.perf_counter() - t0)
        busy1, own1 = _cpu_busy_s()
        # CPU taken by other processes during the run, in cores (0 on a quiet machine)
        others.append(max(0.0, (busy1 - busy0) - (own1 - own0)) / walls[-1])
    best = int(np.argmin(walls))
    wall = walls[best]
    rate = mesh.n_voxels * steps * args.substrates / wall
    out = {
        "mode": args.mode,
        "case": args.case,
        "dim": mesh.dim,
        "voxels": mesh.n_voxels,
        "substrates": args.substrates,
        "threads": args.threads_one,
        "scheme": scheme,
        "dt_min": dt,
        "r": args.D * dt / args.h**2,
        "steps": steps,
        "wall_s": round(wall, 4),
        "wall_s_median": round(sorted(walls)[len(walls) // 2], 4),
        "voxel_updates_per_s_per_substrate": float(f"{rate:.4g}"),
        "simulated_min_per_wall_s": float(f"{steps * dt / wall:.4g}"),
        "peak_mem_mb": round(_rss_mb(), 1),
        "base_mem_mb": round(base, 1),
        "other_procs_cores": round(others[best], 2),
    }
    if args.mode == "default":
        err = gaussian_error(mesh.dim, scheme, out["r"])
        ref = gaussian_error(mesh.dim, args.scheme, args.D * args.dt / args.h**2)
        out.update({k: float(f"{v:.4g}") for k, v in err.items()})
        out[f"rel_l2_error_{args.scheme}_at_dt_{args.dt}"] = float(f"{ref['rel_l2_error']:.4g}")
    return out


def accuracy_scan() -> None:
    """Print the r-scan behind ACCURACY_R_MAX."""
    rs = {"lod-be": [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5], "lod-cn": [0.5, 2 / 3, 1.0, 1.5]}
    rs["lod-cn"] += [1.6, 2.0, 2.5, 3.0, 4.0]
    for dim in (1, 2, 3):
        for scheme, values in rs.items():
            for r in values:
                row = {"dim": dim, "scheme": scheme, "r": round(r, 4)}
                row.update(
                    {k: float(f"{v:.4g}") for k, v in gaussian_error(dim, scheme, r).items()}
                )
                if scheme == "lod-cn":
                    row["spike_min_no_flux"] = float(f"{spike_min(dim, scheme, r, False):.3g}")
                    row["spike_min_dirichlet_wall"] = float(
                        f"{spike_min(dim, scheme, r, True):.3g}"
                    )
                print(json.dumps(row), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=["rate", "default", "accuracy"], default="rate")
    p.add_argument("--cases", default="512x512,1024x1024,128x128x128")
    p.add_argument("--threads", default=None, help="comma list, default: Numba's thread count")
    p.add_argument("--substrates", type=int, default=1)
    p.add_argument("--scheme", choices=["lod-be", "lod-cn"], default="lod-be")
    p.add_argument("--dt", type=float, default=PHYSICELL["dt"], help="min")
    p.add_argument("--D", type=float, default=PHYSICELL["D"], help="µm²/min")
    p.add_argument("--decay", type=float, default=PHYSICELL["decay"], help="1/min")
    p.add_argument("--h", type=float, default=PHYSICELL["h"], help="voxel side, µm")
    p.add_argument("--steps", type=int, default=0, help="0: about --work voxel-updates")
    p.add_argument("--work", type=float, default=1.5e9, help="voxel-updates per timed run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--threads-one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.case:  # child: one case, one thread count
        print(json.dumps(one_case(args)), flush=True)
        return
    if args.mode == "accuracy":
        accuracy_scan()
        return
    import numba

    threads = args.threads or str(numba.config.NUMBA_NUM_THREADS)
    passthrough = _strip_values(sys.argv[1:], ("--cases", "--threads"))
    for case in args.cases.split(","):
        for t in threads.split(","):
            cmd = [sys.executable, __file__, *passthrough, "--case", case, "--threads-one", t]
            subprocess.run(cmd, check=True)


def _strip_values(argv: list[str], names: tuple[str, ...]) -> list[str]:
    """``argv`` without the options ``names`` (``--x v`` or ``--x=v``)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in names:
            skip = True
            continue
        if a.startswith(tuple(n + "=" for n in names)):
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    main()
