"""Draw the Kuznetsov et al. 1994 phase plane with the well-mixed stochastic runs overlaid.

    python benchmarks/figures/kuznetsov.py [--out docs/img/kuznetsov-phase-plane.png]
        [--omega 1000] [--seeds 4] [--fraction-seeds 32]

Left: the (E, T) plane on log axes: the nullclines (dE/dt = 0 orange, dT/dt = 0 blue), the
steady states (filled: stable; open: saddles), the separatrix (the saddle's stable manifold,
black dashed), ODE trajectories from E0 = s/d at 0.3, 0.9, 1.1 and 3 times the separatrix
initial tumour size (green: dormant, red: escape), and stochastic per-cell runs (Ω cells per
individual, binomial tau-leap, 60 min) from 0.9 and 1.1 times it (thin, faint). Right: the
fraction of stochastic runs that escape against T0 / separatrix, its logistic fit, and the ODE
(a step at 1). Prints one JSON line with the equilibria, the separatrix and the fractions.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from invasim.models import kuznetsov as kz
from invasim.models import kuznetsov_stochastic as kzs
from invasim.verify.cases.kuznetsov import DT_MIN, escape_fractions, logistic_midpoint

E_RANGE = (3e4, 1e7)
T_RANGE = (1e3, 1e9)


def manifold_branches(params):
    """Both branches of the saddle's stable manifold, integrated backwards out of the box."""
    q = kz.equilibrium(params, "saddle")
    lam, vec = np.linalg.eig(kz.jacobian(q.E, q.T, params))
    v = np.real(vec[:, int(np.argmin(lam.real))])
    v = v / np.linalg.norm(v)

    def leave(t, y):
        lo = min(y[0] / E_RANGE[0], y[1] / T_RANGE[0])
        hi = max(y[0] / E_RANGE[1], y[1] / T_RANGE[1])
        return min(lo - 1.0, 1.0 - hi)

    leave.terminal = True
    out = []
    size = 1e-6 * np.hypot(q.E, q.T)
    for sign in (1.0, -1.0):
        start = np.array([q.E, q.T]) + sign * size * v
        tr = kz.integrate(params, start[0], start[1], -3000.0, events=[leave], rtol=1e-9)
        out.append((tr.E, tr.T))
    return out


def draw(out: str, omega: float, seeds: int, fraction_seeds: int) -> dict:
    """The two panels, saved to ``out``; returns the numbers printed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    p = kz.KuznetsovParams()
    s, pp, g, m, d, a, b, n = p.values()
    qs = kz.equilibria(p)
    E0 = p.E_tumour_free
    Tsep = kz.separatrix_T0(p, E0)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12.5, 5.2), gridspec_kw={"width_ratios": [3, 2]})
    # nullclines
    T = np.geomspace(*T_RANGE, 600)
    denom = d + m * T - pp * T / (g + T)
    En = np.where(denom > 0, s / np.where(denom > 0, denom, 1.0), np.nan)
    ax.plot(En, T, color="#E69F00", lw=1.6, label="dE/dt = 0")
    Tt = T[T < 1.0 / b]
    ax.plot(a * (1.0 - b * Tt) / n, Tt, color="#0072B2", lw=1.6, label="dT/dt = 0 (T > 0)")
    # separatrix
    for k, (Em, Tm) in enumerate(manifold_branches(p)):
        ax.plot(Em, Tm, "k--", lw=1.2, label="separatrix (stable manifold)" if k == 0 else None)
    # ODE trajectories from E0 = s/d
    for f in (0.3, 0.9, 1.1, 3.0):
        tr = kz.integrate(p, E0, f * Tsep, 3000.0, t_eval=np.linspace(0, 3000.0, 6001))
        col = "#009E73" if kz.outcome(p, E0, f * Tsep) == "dormant" else "#D55E00"
        ax.plot(tr.E, tr.T, color=col, lw=1.8)
        ax.plot(E0, f * Tsep, "o", color=col, ms=4)
        ax.annotate(f"{f:g}×", (E0, f * Tsep), textcoords="offset points", xytext=(-24, -3),
                    fontsize=8, color=col)  # fmt: skip
    # stochastic runs
    saddle = kz.equilibrium(p, "saddle")
    for f in (0.9, 1.1):
        for k in range(seeds):
            run = kzs.simulate_well_mixed(p, E0, f * Tsep, 1500.0, omega=omega, dt_min=DT_MIN,
                                         seed=100 * k + int(10 * f), record_every_min=240.0)
            col = "#D55E00" if run.T[-1] > saddle.T else "#009E73"
            ax.plot(np.maximum(run.E, 1.0), np.maximum(run.T, 1.0), color=col, lw=0.6,
                    alpha=0.5)  # fmt: skip
    # steady states
    for q in qs:
        T_plot = max(q.T, T_RANGE[0] * 1.05)
        face = "k" if q.stable else "white"
        ax.plot(q.E, T_plot, "o", mfc=face, mec="k", ms=8, zorder=5)
        text = {"tumour-free": "tumour-free (T = 0): saddle", "saddle": "saddle",
                "dormant": "dormant: stable focus", "escape": "escape: stable node"}[q.role]
        offset = {"escape": (-40, 10), "saddle": (8, -14)}.get(q.role, (10, 6))
        ax.annotate(text, (q.E, T_plot), textcoords="offset points", xytext=offset, fontsize=8,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                          "alpha": 0.8}, zorder=6)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*E_RANGE)
    ax.set_ylim(*T_RANGE)
    ax.set_xlabel("effector cells E")
    ax.set_ylabel("tumour cells T")
    ax.set_title(f"Kuznetsov et al. 1994: separatrix T0 = {Tsep:.3g} at E0 = s/d; "
                 f"faint: stochastic runs, Ω = {omega:g}", fontsize=10)  # fmt: skip
    ax.legend(loc="lower left", fontsize=8)

    # escape fraction
    E0r = round(E0 / omega) * omega
    Tsep_r = kz.separatrix_T0(p, E0r, rtol=1e-5)
    factors = np.array([0.5, 0.7, 0.85, 1.0, 1.15, 1.3, 1.6, 2.0])
    esc_n = escape_fractions(p, E0r, factors * Tsep_r, fraction_seeds, omega=omega)
    mid = logistic_midpoint(factors * Tsep_r, esc_n, fraction_seeds)
    frac = esc_n / fraction_seeds
    se = np.sqrt(np.maximum(frac * (1 - frac), 0.25 / fraction_seeds) / fraction_seeds)
    bx.errorbar(factors, frac, yerr=se, fmt="o", color="#D55E00",
                label=f"stochastic, Ω = {omega:g}, {fraction_seeds} runs each")  # fmt: skip
    bx.step([0.4, 1.0, 2.2], [0, 1, 1], where="post", color="k", lw=1.2, label="ODE")
    xs = (0.4, 2.2)
    bx.axvline(mid / Tsep_r, color="#D55E00", ls=":", label=f"50 % point {mid / Tsep_r:.3f}×")
    bx.axhline(0.5, color="0.7", lw=0.8)
    bx.set_xscale("log")
    bx.set_xlim(xs[0], xs[-1])
    bx.set_xticks([0.5, 0.7, 1.0, 1.4, 2.0])
    bx.set_xticklabels(["0.5", "0.7", "1", "1.4", "2"])
    bx.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    bx.set_xlabel("initial tumour size / ODE separatrix (E0 = s/d)")
    bx.set_ylabel("fraction escaping")
    bx.set_ylim(-0.05, 1.05)
    bx.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    return {
        "equilibria": [{"role": q.role, "E": q.E, "T": q.T, "label": q.label} for q in qs],
        "separatrix_T0": Tsep,
        "omega": omega,
        "E0_rounded": E0r,
        "separatrix_T0_at_E0_rounded": Tsep_r,
        "factors": factors.tolist(),
        "escape_fraction": frac.tolist(),
        "midpoint_over_separatrix": mid / Tsep_r,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img/kuznetsov-phase-plane.png")
    ap.add_argument("--omega", type=float, default=1.0e3)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--fraction-seeds", type=int, default=32)
    args = ap.parse_args()
    print(json.dumps(draw(args.out, args.omega, args.seeds, args.fraction_seeds)))


if __name__ == "__main__":
    main()
