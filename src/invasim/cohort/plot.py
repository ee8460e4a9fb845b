"""The Kaplan–Meier figure of a cohort: ``km.png``.

Contract:
    * :func:`plot_km` ``(patients, survival, arms, title) -> Figure`` (Agg canvas; pyplot is
      never used): one Kaplan–Meier curve per arm in years from diagnosis with its 95 %
      pointwise confidence band (lifelines, exponential Greenwood), censoring ticks, each
      arm's median marked (a dot on the 0.5 line and a dotted drop to the axis), the number
      at risk under the axis (lifelines ``add_at_risk_counts``), and a legend giving each
      arm's n, deaths, median (months) and hazard ratio vs the first arm with its 95 % CI and
      the log-rank p. Line styles cycle with the colours, so arms whose curves coincide stay
      visible.
    * :func:`write_km` writes it atomically as PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from invasim.cohort.survival import km_fitters
from invasim.io.atomic import write_atomic

#: days per year on the time axis: 365, so a 3650-day follow-up ends at exactly 10 years and
#: the patients censored there are counted at risk under the tick "10"
YEAR = 365.0
MONTH = 365.25 / 12.0
DPI = 130


def _label(r) -> str:
    med = "not reached" if not np.isfinite(r.median_days) else f"{r.median_days / MONTH:.1f} mo"
    text = f"{r.arm}: n={r.n}, {r.deaths} deaths, median {med}"
    if r.Index == 0:
        return text + " (reference)"
    if np.isfinite(r.hr):
        text += f"\n   HR {r.hr:.2f} ({r.hr_ci_low:.2f}–{r.hr_ci_high:.2f})"
        if np.isfinite(r.logrank_p):
            text += f", log-rank p={r.logrank_p:.2g}"
    return text


def plot_km(patients: pd.DataFrame, survival: pd.DataFrame, arms: list[str],
            title: str = "") -> Figure:  # fmt: skip
    """Kaplan–Meier curves per arm with bands, medians, numbers at risk and HRs."""
    from lifelines.plotting import add_at_risk_counts

    fig = Figure(figsize=(8.5, 6.0 + 0.25 * len(arms)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    fitters = km_fitters(patients, arms, scale=YEAR)
    colors = [f"C{i}" for i in range(len(arms))]
    styles = ["-", "--", "-.", ":"]  # curves that coincide stay visible
    rows = {r.arm: r for r in survival.itertuples()}
    fitted = []
    for i, (arm, color) in enumerate(zip(arms, colors, strict=True)):
        kmf = fitters[arm]
        if not hasattr(kmf, "survival_function_"):
            continue
        r = rows[arm]
        kmf.plot_survival_function(ax=ax, ci_show=True, show_censors=True, color=color,
                                   censor_styles={"ms": 4, "marker": "|"}, lw=1.6,
                                   ls=styles[i % len(styles)], label=_label(r))  # fmt: skip
        fitted.append(kmf)
        med = r.median_days / YEAR
        if np.isfinite(med):
            ax.plot([med], [0.5], "o", color=color, ms=5, zorder=5)
            ax.plot([med, med], [0.0, 0.5], ":", color=color, lw=1)
    ax.axhline(0.5, color="0.6", lw=0.7, ls="--")
    ax.set_ylim(0.0, 1.02)
    ax.set_xlim(left=0.0)
    ax.set_xlabel("years from diagnosis")
    ax.set_ylabel("overall survival (probability)")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    if fitted:
        add_at_risk_counts(*fitted, ax=ax, rows_to_show=["At risk"], fig=fig)
    fig.tight_layout()
    return fig


def write_km(path: Path, patients: pd.DataFrame, survival: pd.DataFrame, arms: list[str],
             title: str = "") -> None:  # fmt: skip
    """Write :func:`plot_km` as a PNG (atomically)."""
    fig = plot_km(patients, survival, arms, title)
    write_atomic(Path(path), lambda f: fig.savefig(f, format="png", dpi=DPI))
