"""Fisher–KPP: the front speed tends to c = 2 sqrt(D r), with Bramson's logarithmic lag.

From compactly supported initial data the front (n = K/2) moves as
``x(t) = c t − (3/2) sqrt(D/r) ln(r t) + x0 + O(t^{-1/2})`` (Bramson 1983). We record the front
over ``r t ∈ [20, 60]``, add back the log term and fit a line: its slope is the measured speed.

Contract:
    * Cases (quick and full forms are the same: three 1-D runs, under a second together):
      ``fisher-kpp front speed 2 sqrt(Dr)`` and ``fisher-kpp bramson lag 3/2 sqrt(D/r)``, over
      the parameter sets of :data:`SETS`; each Result reports the set furthest from theory.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from invasim.core.mesh import Mesh
from invasim.models import get_model
from invasim.verify import Checks, Result, case, numba_threads

MECHANISM = "fisher-kpp"
SOURCE = "Fisher 1937; KPP 1937; Bramson 1983; Ebert & van Saarloos 2000"
#: (D µm²/min, r 1/min, voxels per front width): a fast tissue-culture-like front, a slower
#: one on a coarser mesh, and the glioma values of the built-in scenario (Swanson et al. 2000)
SETS = ((100.0, 0.01, 10.0), (400.0, 0.0025, 8.0), (90.28, 8.333e-6, 5.0))


@lru_cache(maxsize=8)
def front_history(D: float, r: float, voxels_per_width: float, r_diff: float = 0.9):
    """Run a planar front to r t = 60; return (t, x_front) for r t >= 20, and the width."""
    cls = get_model("fisher-kpp")
    width = math.sqrt(D / r)
    h = width / voxels_per_width
    mesh = Mesh.from_extent([140.0 * width], h)  # the front reaches ~125 widths
    dt = r_diff * h * h / D  # D dt / h² = r_diff, inside the lod-cn limit 1
    params = cls.Params.model_validate(
        {"D_um2_per_min": D, "r_per_min": r, "initial": {"size_um": 2.0 * width}}
    )
    problems = cls.check(params, mesh, dt)
    if problems:
        raise ValueError("; ".join(problems))
    model = cls(params, mesh, dt)
    fields = model.initial_fields(np.random.default_rng(0))
    steps = int(round(60.0 / (r * dt)))
    ts, xs = [], []
    with numba_threads(1):  # 1-D: thread launches cost more than they save
        for k in range(steps):
            model.step(fields, k * dt)
            t = (k + 1) * dt
            if r * t >= 20.0 and (k % 10 == 0 or k == steps - 1):
                ts.append(t)
                xs.append(model.metrics(fields, t)["front_um"])
    return np.array(ts), np.array(xs), width


def _label(D: float, r: float, pw: float) -> str:
    return f"D={D:g} r={r:g} ({pw:g} voxels/width)"


@case("fisher-kpp front speed 2 sqrt(Dr)", MECHANISM, SOURCE)
def front_speed(quick: bool) -> Result:
    """Slope of the log-corrected front position against c = 2 sqrt(D r), within 1 %."""
    chk = Checks()
    worst = None
    for D, r, pw in SETS:
        ts, xs, width = front_history(D, r, pw)
        c = 2.0 * math.sqrt(D * r)
        speed = float(np.polyfit(ts, xs + 1.5 * width * np.log(r * ts), 1)[0])
        # Tolerance 1 %: the next transient term, 3 sqrt(pi) w r^-1 (r t)^-3/2 in the velocity
        # (Ebert & van Saarloos 2000), biases a fit over r t in [20, 60] by at most +0.6 %; the
        # spatial error at >= 5 voxels per width is <= 0.2 % (measured 0.05 %, 0.07 %, 0.17 %).
        # A wrong D or r (or a units slip) moves the speed by a square root: tens of percent.
        chk.rel(f"speed, {_label(D, r, pw)}", speed, c, 0.01, "µm/min")
        # The lag is real: without the log correction the slope is ~1.9 % low
        raw = float(np.polyfit(ts, xs, 1)[0])
        chk.bound(f"uncorrected slope, {_label(D, r, pw)}", raw, "<", 0.99 * c, "µm/min")
        if worst is None or abs(speed / c - 1) > abs(worst[0] / worst[1] - 1):
            worst = (speed, c, (D, r, pw))
    speed, c, s = worst
    return chk.result(c, speed, 0.01 * c, "µm/min",
                      f"log-corrected front slope over r t in [20, 60]; reported: the set "
                      f"furthest from theory, {_label(*s)}; {len(SETS)} sets")  # fmt: skip


@case("fisher-kpp bramson lag 3/2 sqrt(D/r)", MECHANISM, SOURCE)
def bramson_lag(quick: bool) -> Result:
    """Coefficient of ln(r t) in x - c t against (3/2) sqrt(D/r), within 15 %."""
    chk = Checks()
    worst = None
    for D, r, pw in SETS:
        ts, xs, width = front_history(D, r, pw)
        c = 2.0 * math.sqrt(D * r)
        lag = float(-np.polyfit(np.log(r * ts), xs - c * ts, 1)[0])
        # fitting x - c t against ln(r t) gives the coefficient (3/2) w within 15 % (measured
        # 1.47, 1.45, 1.38 w; the coarse mesh and the O(t^-1/2) term account for the rest)
        chk.rel(f"lag coefficient, {_label(D, r, pw)}", lag / width, 1.5, 0.15, "widths")
        if worst is None or abs(lag / width - 1.5) > abs(worst[0] - 1.5):
            worst = (lag / width, (D, r, pw))
    lag_w, s = worst
    return chk.result(1.5, lag_w, 0.15 * 1.5, "sqrt(D/r)",
                      f"fit of x - c t against ln(r t), r t in [20, 60]; reported: the set "
                      f"furthest from theory, {_label(*s)}; {len(SETS)} sets")  # fmt: skip
