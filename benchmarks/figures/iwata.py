"""Draw the Iwata–Kawasaki–Shigesada 2000 size distribution of metastases: analytic vs solver.

    python benchmarks/figures/iwata.py [--out docs/img/iwata-size-distribution.png] [--dt 1]

Left: the cumulative number of metastases of size ≥ x against x (cells, log–log) at the
evaluation dates 1, 2, 3, 5 and 10 years (the verify cases' dates): the analytic solution
(Laplace transform on Talbot's contour; lines) and the deterministic characteristics solver
(step ``--dt`` days; markers), the imaging threshold (1e8 cells) dotted. Right: the number of
metastases (any size), of detectable ones and the primary over 10 years, the fitted α = 0.663
(solid) and the geometric 2/3 (dashed). Prints one JSON line with the numbers drawn, the
largest relative solver error and the 10-year solve's wall time.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from invasim.models import iwata as iw
from invasim.verify.cases.iwata import DATES_DAYS


def draw(out: str, dt: float) -> dict:
    """The two panels, saved to ``out``; returns the numbers printed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = iw.IwataParams()
    pg = iw.IwataParams(alpha=iw.ALPHA_GEOMETRIC)
    iw.solve(p, 10.0, dt)  # compile
    t0 = time.perf_counter()
    sol = iw.solve(p, DATES_DAYS[-1], dt)
    wall = time.perf_counter() - t0
    solg = iw.solve(pg, DATES_DAYS[-1], dt)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12.5, 5.0))
    xs_line = np.geomspace(1.0, 0.999 * p.b_cells, 200)
    xs_mark = 10.0 ** np.arange(0, 11)
    colours = ["#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7"]
    worst = 0.0
    table = {}
    for t, col in zip(DATES_DAYS, colours, strict=True):
        exact = iw.analytic_at_least(xs_line, t, p)
        ax.plot(xs_line, np.where(exact > 0, exact, np.nan), color=col, lw=1.6,
                label=f"{t / 365:g} y (analytic)")  # fmt: skip
        num = sol.n_at_least(xs_mark, t)
        ex_m = iw.analytic_at_least(xs_mark, t, p)
        ok = ex_m >= 1.0
        if ok.any():
            worst = max(worst, float(np.max(np.abs(num[ok] / ex_m[ok] - 1.0))))
        ax.plot(xs_mark, np.where(num > 0, num, np.nan), "o", mfc="none", mec=col, ms=6)
        table[f"{t:g}"] = {"size_cells": xs_mark.tolist(), "analytic": ex_m.tolist(),
                           "solver": np.asarray(num).tolist()}  # fmt: skip
    ax.plot([], [], "ko", mfc="none", label=f"characteristics, dt = {dt:g} d")
    ax.axvline(p.detect_cells, color="0.5", ls=":", lw=1.0, label="imaging threshold 1e8 cells")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-2, 1e14)
    ax.set_xlabel("colony size x [cells]")
    ax.set_ylabel("metastases of size ≥ x")
    ax.set_title("Iwata et al. 2000, HCC parameters (α = 0.663): cumulative size distribution",
                 fontsize=10)  # fmt: skip
    ax.legend(fontsize=8, loc="upper right", ncol=2)

    t = sol.t_days
    for s, ls, lab in ((sol, "-", "α = 0.663"), (solg, "--", "α = 2/3")):
        bx.plot(t / 365, s.counts, color="#0072B2", ls=ls, label=f"metastases, {lab}")
        bx.plot(t / 365, s.n_at_least(p.detect_cells, t), color="#D55E00", ls=ls,
                label=f"detectable (≥ 1e8 cells), {lab}")  # fmt: skip
    bx.plot(t / 365, iw.primary_size(t, p), color="k", lw=1.0, label="primary [cells]")
    td = np.array(DATES_DAYS)
    bx.plot(td / 365, iw.analytic_count(td, p), "s", mfc="none", mec="#0072B2",
            label="analytic N(t)")  # fmt: skip
    bx.set_yscale("log")
    bx.set_ylim(1e-3, 1e12)
    bx.set_xlabel("time since the first cancer cell [years]")
    bx.set_ylabel("count (primary: cells)")
    bx.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    return {
        "malthusian_rate_per_day": iw.malthusian_rate(p),
        "n_metastases_10y": float(sol.counts[-1]),
        "n_detectable": {f"{x:g}": sol.n_detectable(x) for x in DATES_DAYS},
        "n_detectable_alpha_2_3": {f"{x:g}": solg.n_detectable(x) for x in DATES_DAYS},
        "max_rel_error_where_ge_1": worst,
        "solve_10y_wall_s": wall,
        "cumulative": table,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img/iwata-size-distribution.png")
    ap.add_argument("--dt", type=float, default=1.0)
    args = ap.parse_args()
    print(json.dumps(draw(args.out, args.dt)))


if __name__ == "__main__":
    main()
