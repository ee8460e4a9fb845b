"""The response curve of one rule, as a figure: the behaviour against its signal.

Contract:
    * :func:`plot_response` draws ``base + (saturation - base) * H(s)`` with ``H`` the Hill
      response :func:`invasim.rules.evaluate.hill` of the rule acting alone, its base value,
      saturation and half-max marked, on the Agg canvas (no pyplot state). matplotlib is
      imported when a figure is drawn, not with the rules.
"""

from __future__ import annotations

import numpy as np

from invasim.rules.dictionary import RuleDictionary
from invasim.rules.evaluate import hill
from invasim.rules.table import Rule


def plot_response(rule: Rule, base_value: float, dictionary: RuleDictionary | None = None):
    """The behaviour against the signal for one rule acting alone.

    Args:
        rule: the rule.
        base_value: the cell type's base value of the behaviour.
        dictionary: for units in the axis labels (optional).

    Returns:
        A matplotlib ``Figure`` (Agg canvas attached; no pyplot state).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, n = rule.half_max, rule.hill_power
    s_max = h * min(20.0, max(4.0, 2.0 * 9.0 ** (1.0 / n)))  # reaches 90 % of the effect
    s = np.linspace(0.0, s_max, 400)
    b = base_value + (rule.saturation - base_value) * hill(s, h, n)
    s_unit = b_unit = ""
    if dictionary is not None:
        s_unit = f" ({dictionary.signal(rule.signal).unit})"
        b_unit = f" ({dictionary.behaviour(rule.behaviour).unit})"
    fig = Figure(figsize=(5.0, 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(s, b, color="C0", lw=2)
    ax.axhline(base_value, color="0.5", ls=":", lw=1, label=f"base {base_value:g}")
    ax.axhline(rule.saturation, color="C3", ls="--", lw=1, label=f"saturation {rule.saturation:g}")
    ax.axvline(h, color="0.5", ls="-.", lw=1, label=f"half-max {h:g}")
    ax.plot([h], [0.5 * (base_value + rule.saturation)], "o", color="C0")
    ax.set_xlabel(f"{rule.signal}{s_unit}")
    ax.set_ylabel(f"{rule.behaviour}{b_unit}")
    ax.set_title(f"{rule.cell_type}: {rule.signal} {rule.direction} {rule.behaviour}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


__all__ = ["plot_response"]
