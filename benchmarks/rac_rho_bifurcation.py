"""Draw the Rac/Rho bifurcation diagram (docs/img/rac-rho-bifurcation.png); print its folds.

    python benchmarks/rac_rho_bifurcation.py [--out docs/img/rac-rho-bifurcation.png]

Panels: (a) active Rac1 R against b_R at the model reference's §5 set (stable branches solid,
the saddle dashed, folds marked, the hysteresis window shaded), with the same curve under a
ROCK inhibitor (κ = 0.9); (b) the folds against the ROCK activity κ (the window closes at
κ ≈ 0.75); (c) the EMT switch: the steady EMT state against the induction s. One JSON line:
the folds (1/min) and the EMT folds (in units of the EMT decay rate d).
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img/rac-rho-bifurcation.png")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from invasim.biology.rho_gtpase import EMTSwitch, RacRho, diagram, folds

    p = RacRho()
    fig, ax = plt.subplots(1, 3, figsize=(13.5, 4.0), constrained_layout=True)

    # (a) R against b_R, κ = 1 and κ = 0.9
    for kappa, colour in ((1.0, "C0"), (0.9, "C1")):
        d = diagram(p.with_(rock=kappa), "b_rac", upper=5.0)
        for stable, style in ((True, "-"), (False, "--")):
            y = np.where(d.stable == stable, d.rac, np.nan)
            ax[0].plot(d.value, y, style, color=colour,
                       label=f"κ = {kappa:g}" if stable else None)  # fmt: skip
        for f in d.folds:
            ax[0].plot(f.value, f.rac, "o", color=colour, ms=5)
    lo, hi = (f.value for f in folds(p, "b_rac"))
    ax[0].axvspan(lo, hi, color="C0", alpha=0.1, lw=0)
    ax[0].set(xlabel="Rac1 activation b_R (1/min)", ylabel="active Rac1 R",
              xlim=(1.0, 5.0), ylim=(0.0, 3.0),
              title=f"(a) folds {lo:.4f}, {hi:.4f} (κ = 1)")  # fmt: skip
    ax[0].text(0.03, 0.9, "Rac-high: mesenchymal", transform=ax[0].transAxes, fontsize=8)
    ax[0].text(0.55, 0.08, "Rho-high: amoeboid", transform=ax[0].transAxes, fontsize=8)
    ax[0].legend(loc="center right", fontsize=8)

    # (b) the folds against κ
    kappas = np.linspace(0.7, 1.2, 101)
    low, up = [], []
    for k in kappas:
        f = folds(p.with_(rock=k), "b_rac")
        low.append(f[0].value if len(f) == 2 else np.nan)
        up.append(f[-1].value if len(f) == 2 else np.nan)
    ax[1].fill_between(kappas, low, up, color="C0", alpha=0.2, lw=0, label="bistable")
    ax[1].plot(kappas, low, color="C0")
    ax[1].plot(kappas, up, color="C3")
    ax[1].set(xlabel="ROCK activity κ", ylabel="b_R at the folds (1/min)",
              title="(b) a ROCK inhibitor moves the folds down")  # fmt: skip
    ax[1].legend(loc="upper left", fontsize=8)

    # (c) the EMT switch
    sw = EMTSwitch()
    e = np.linspace(1e-4, 1 - 1e-4, 4000)
    s, ds = sw.induction_curve(e)
    stable = ds > 0  # de/dt = (1 − e)(s − S(e)) near a branch: stable where S' > 0
    for st, style in ((True, "-"), (False, "--")):
        ax[2].plot(np.where(stable == st, s / sw.decay, np.nan), e, style, color="C2")
    emt_folds = sw.folds()
    for sf, ef in emt_folds:
        ax[2].plot(sf / sw.decay, ef, "o", color="C2", ms=5)
    ax[2].axhline(0.5, color="0.5", lw=0.8, ls=":")
    ax[2].set(xlabel="EMT induction s / d", ylabel="EMT state e", xlim=(0.0, 1.0),
              ylim=(0.0, 1.0), title="(c) EMT switch: mode epithelial below e = 1/2")
    fig.savefig(args.out, dpi=150)
    print(json.dumps({"b_rac_folds": [lo, hi], "b_rho_folds": [f.value for f in folds(p, "b_rho")],
                      "emt_folds_over_d": [sf / sw.decay for sf, _ in emt_folds],
                      "out": args.out}))  # fmt: skip


if __name__ == "__main__":
    main()
