"""Metric panels over time, shared by the summary figure and the publication figure.

Contract:
    * :func:`metric_groups` puts every ``*_um`` length on one panel (``front_um`` first) and
      every other metric on a panel of its own, in the table's order, at most ``max_panels``.
    * :func:`constant_metrics`: the metrics (lengths aside) that never changed, listed in a
      title rather than drawn.
    * :func:`metric_panel` draws one group against time in the given units; values too large or
      too small for plain tick labels are scaled, the power of ten in the axis label.
"""

from __future__ import annotations

import numpy as np

from invasim.viz.common import pretty


def metric_groups(metrics, max_panels: int) -> list[list[str]]:
    """Metric columns per panel, at most ``max_panels`` panels.

    Every ``*_um`` length shares the first panel (``front_um`` first); each other metric has its
    own, in the table's order.
    """
    cols = [c for c in metrics.columns if c != "time_min"] if len(metrics) else []
    lengths = [c for c in cols if c.endswith("_um")]
    if "front_um" in lengths:
        lengths.remove("front_um")
        lengths.insert(0, "front_um")
    others = [c for c in cols if c not in lengths]
    panels = ([lengths] if lengths else []) + [[c] for c in others]
    return panels[:max_panels]


def constant_metrics(metrics) -> dict[str, float]:
    """Metrics other than lengths that never changed over two or more rows: not worth a panel."""
    out = {}
    if len(metrics) < 2:
        return out
    for col in metrics.columns:
        if col == "time_min" or col.endswith("_um"):
            continue
        y = metrics[col].to_numpy(dtype=float)
        if np.isfinite(y).all() and np.ptp(y) <= 1e-9 * np.abs(y).max():
            out[col] = float(y[-1])
    return out


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _scale(y: np.ndarray) -> tuple[np.ndarray, str]:
    """Values and a label suffix such that the tick labels need no offset text."""
    finite = np.abs(y[np.isfinite(y)])
    top = float(finite.max()) if finite.size else 0.0
    if top == 0.0 or 1e-2 <= top < 1e4:
        return y, ""
    e = int(np.floor(np.log10(top)))
    return y / 10.0**e, f" (×10{str(e).translate(_SUPERSCRIPT)})"


def metric_panel(ax, metrics, group: list[str], tunit: tuple[str, float],
                 lunit: tuple[str, float], bands=()) -> None:
    """Draw the metrics of ``group`` against time into ``ax`` (times and lengths in units).

    ``bands``: ``(start_min, end_min, label)`` of interventions, drawn as grey bands (a window;
    ``end_min`` None: to the end) or dashed lines (an instant), labelled at the top.
    """
    tu, tper = tunit
    lu, lper = lunit
    t = metrics["time_min"].to_numpy(dtype=float) / tper
    t_end = float(t[-1]) if len(t) else 0.0
    for start, end, label in bands:
        a = start / tper
        if end is not None and end == start:
            ax.axvline(a, color="0.35", lw=1.0, ls="--", zorder=0)
        else:
            b = t_end if end is None else end / tper
            ax.axvspan(a, max(a, b), color="0.85", alpha=0.6, lw=0, zorder=0)
        if label:
            ax.annotate(label, (a, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                        textcoords="offset points", va="top", fontsize=6, color="0.3")
    is_length = group[0].endswith("_um")
    for k, col in enumerate(group):
        y = metrics[col].to_numpy(dtype=float)
        suffix = ""
        if is_length:
            y = y / lper
        else:
            y, suffix = _scale(y)
        ax.plot(t, y, color=f"C{k}", lw=1.8, marker="o" if len(t) <= 30 else None, ms=3,
                label=pretty(col))
    if is_length:
        what = "position / width" if len(group) > 1 else pretty(group[0])
        ax.set_ylabel(f"{what} [{lu}]")
        ax.set_title("invasion front" if "front_um" in group else "lengths", loc="left")
        if len(group) > 1:
            ax.legend(frameon=False)
    else:
        ax.set_ylabel(pretty(group[0]) + suffix)
        ax.set_title(pretty(group[0]), loc="left")
    ax.set_xlabel(f"time [{tu}]")
    ax.grid(alpha=0.25, lw=0.5)
    if len(t):
        ax.set_xlim(t[0], t[-1] if t[-1] > t[0] else t[0] + 1.0)


__all__ = ["constant_metrics", "metric_groups", "metric_panel"]
