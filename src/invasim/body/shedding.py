"""Shedding calibrated from a tissue window: intravasation events per unit of invasive front.

Contract:
    * :func:`calibrate_shedding` ``(events, front_times_min, fronts, dim, cell_volume_um3,
      ...) -> ShedCalibration``. Input: an intravasation events table (one row per event:
      ``event_time_min``, ``size``; the ``intravasation_events`` table of a run), the times
      at which the tumour–stroma interface was measured and its size then (2-D: a length in
      µm; 3-D: an area in µm²; :mod:`invasim.analysis.tumour_interface`). Only events in the
      observed time ``[t0, t1]`` (the first and last front times) count.
    * The rate per unit of front: ``r = N / E`` events per µm² per day, ``N`` the events,
      ``E = ∫ A(t) dt`` the front's exposure (trapezoid over the front times, µm²·day).
      2-D: the window is a slice of thickness ``d`` (``slice_um``; default one cell
      diameter, ``d = 2 (3 v / 4π)^{1/3}``: the 2-D simulation is one layer of cells), so
      ``A = L d``. The exact (Garwood) 95 % interval of a Poisson mean on ``N`` gives that of
      ``r`` (``E`` is taken as known).
    * Scaling to the body: a primary of ``x`` cells is a sphere of volume ``x v``; its
      surface ``S(x) = (36π)^{1/3} v^{2/3} x^{2/3}``, so it sheds ``r S(x) = m x^{2/3}`` per
      day: ``shed_per_day`` ``m = r (36π)^{1/3} v^{2/3}``, ``alpha = 2/3``. The body model
      counts shedding events (a cluster is one event), as the table does; ``cluster_fraction``
      is the share of events of two or more cells (0 with no events).
    * Assumptions (stated in docs/metastasis/shedding.md): the whole surface of the primary is
      invasive front like the window's, with the window's vessel density and cell behaviour;
      the rate per unit of front is constant in time (the window's average).
    * :class:`ShedCalibration` holds the estimate, its interval and its provenance (run,
      window, front, events); :meth:`ShedCalibration.body_overrides` gives the
      :class:`~invasim.body.BodyParams` fields (``shed_per_day``, ``alpha``,
      ``cluster_fraction``).
    * Bad input (no front times, a non-positive exposure, a volume <= 0, a table without the
      columns) raises :class:`~invasim.errors.ConfigError` with one line. Pure: no files, no
      engine.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import chi2

from invasim.errors import ConfigError

MIN_PER_DAY = 1440.0
#: S(x) / (v x)^{2/3} of a sphere: (36π)^{1/3}
SPHERE = (36.0 * math.pi) ** (1.0 / 3.0)
#: the shedding exponent of a surface-shedding sphere
ALPHA_SURFACE = 2.0 / 3.0
#: Butler & Gullino 1975 Cancer Res 35:512 (3.2e6 cells per g per day), as m at alpha = 2/3
BUTLER_GULLINO_M = 3.2


def poisson_interval(n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval of a Poisson mean from one count ``n``."""
    a = 1.0 - level
    lo = 0.0 if n == 0 else float(chi2.ppf(a / 2, 2 * n) / 2)
    hi = float(chi2.ppf(1 - a / 2, 2 * n + 2) / 2)
    return lo, hi


def cell_diameter(volume_um3: float) -> float:
    """Diameter of a sphere of ``volume_um3`` µm³."""
    return 2.0 * (3.0 * volume_um3 / (4.0 * math.pi)) ** (1.0 / 3.0)


@dataclass(frozen=True)
class ShedCalibration:
    """The body model's shedding from a tissue window (see the module contract).

    Rates: ``rate_*`` events per µm² of front per day; ``shed_per_day*`` m (events per day
    per cell^{2/3}); ``front_mean`` µm (2-D) or µm² (3-D), ``front_area_mean_um2`` µm².
    """

    n_events: int
    n_cells: int
    n_clusters: int
    t0_min: float
    t1_min: float
    dim: int
    slice_um: float
    cell_volume_um3: float
    front_mean: float
    front_area_mean_um2: float
    exposure_um2_day: float
    rate: float
    rate_lo: float
    rate_hi: float
    shed_per_day: float
    shed_per_day_lo: float
    shed_per_day_hi: float
    cluster_fraction: float
    alpha: float = ALPHA_SURFACE
    run: str = ""

    @property
    def observed_min(self) -> float:
        """Tissue time observed, min."""
        return self.t1_min - self.t0_min

    def body_overrides(self) -> dict[str, float]:
        """The :class:`~invasim.body.BodyParams` fields this calibration sets."""
        return {"shed_per_day": self.shed_per_day, "alpha": self.alpha,
                "cluster_fraction": self.cluster_fraction}  # fmt: skip

    def as_dict(self) -> dict:
        """Every field (plain numbers and strings)."""
        return asdict(self)

    def describe(self) -> str:
        """A few lines for people: m with its interval, what it rests on, vs Butler & Gullino."""
        front = (f"{self.front_mean:.0f} µm of front × {self.slice_um:.1f} µm slice"
                 if self.dim == 2 else f"{self.front_mean:.0f} µm² of front")  # fmt: skip
        return "\n".join([
            f"shed_per_day m = {self.shed_per_day:.3g} (95% {self.shed_per_day_lo:.3g}-"
            f"{self.shed_per_day_hi:.3g}) CTC events/day/cell^(2/3), alpha = 2/3, "
            f"cluster_fraction = {self.cluster_fraction:.3g}",
            f"from {self.n_events} events ({self.n_cells} cells, {self.n_clusters} clusters) in "
            f"{self.observed_min / 60:.3g} h of tissue, {front} (time mean)",
            f"rate per front: {self.rate:.3g} (95% {self.rate_lo:.3g}-{self.rate_hi:.3g}) "
            "events/µm²/day; Butler & Gullino 1975 correspond to m = "
            f"{BUTLER_GULLINO_M} (ratio {self.shed_per_day / BUTLER_GULLINO_M:.3g})",
        ])  # fmt: skip


def front_exposure(times_min, fronts, dim: int, slice_um: float) -> tuple[float, float]:
    """``(∫ A dt in µm²·day, time-mean A in µm²)`` by the trapezoid rule over the samples."""
    t = np.asarray(times_min, dtype=float)
    a = np.asarray(fronts, dtype=float) * (slice_um if dim == 2 else 1.0)
    if t.size == 1:
        return 0.0, float(a[0])
    e = float(np.sum(0.5 * (a[1:] + a[:-1]) * np.diff(t))) / MIN_PER_DAY
    return e, e * MIN_PER_DAY / float(t[-1] - t[0])


def calibrate_shedding(events, front_times_min, fronts, dim: int, cell_volume_um3: float,
                       slice_um: float | None = None, run: str = "",
                       level: float = 0.95) -> ShedCalibration:
    """The shedding parameters from an events table and the front over time.

    Args:
        events: a table (pandas DataFrame or anything with ``event_time_min`` and ``size``
            columns) of intravasation events.
        front_times_min: ``[k]`` increasing times of the front measurements, min (k >= 2).
        fronts: ``[k]`` the interface then: µm (2-D) or µm² (3-D).
        dim: 2 or 3.
        cell_volume_um3: v, the volume of a tumour cell (the primary's cells).
        slice_um: 2-D slice thickness d (default: one cell diameter of volume v).
        run: where the events come from (provenance).
        level: the interval's level.

    Returns:
        A :class:`ShedCalibration`.

    Raises:
        ConfigError: fewer than two front times, times not increasing, a front exposure
            <= 0, ``cell_volume_um3`` or ``slice_um`` <= 0, ``dim`` not 2 or 3, or a table
            without ``event_time_min`` and ``size``.
    """
    if dim not in (2, 3):
        raise ConfigError(f"shedding calibration: dim must be 2 or 3, not {dim}")
    if not (cell_volume_um3 > 0 and math.isfinite(cell_volume_um3)):
        raise ConfigError(f"shedding calibration: cell volume must be > 0 µm³, not "
                          f"{cell_volume_um3}")  # fmt: skip
    d = cell_diameter(cell_volume_um3) if slice_um is None else float(slice_um)
    if not (d > 0 and math.isfinite(d)):
        raise ConfigError(f"shedding calibration: slice thickness must be > 0 µm, not {d}")
    t = np.asarray(front_times_min, dtype=float)
    f = np.asarray(fronts, dtype=float)
    if t.ndim != 1 or t.size < 2 or f.shape != t.shape:
        raise ConfigError("shedding calibration needs the front at two or more times (one value "
                          f"per time); got {t.size} times and {f.size} values")  # fmt: skip
    if np.any(np.diff(t) <= 0) or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ConfigError("shedding calibration: front times must increase and fronts be "
                          "finite and >= 0")  # fmt: skip
    exposure, mean_area = front_exposure(t, f, dim, d)
    if not exposure > 0:
        raise ConfigError("shedding calibration: the tumour front is 0 over the observed time "
                          "(no tumour cells of an intravasating type?)")  # fmt: skip
    cols = getattr(events, "columns", ())
    if "event_time_min" not in cols or "size" not in cols:
        raise ConfigError("shedding calibration needs an intravasation events table with "
                          "columns event_time_min and size (the run's intravasation_events)")
    et = np.asarray(events["event_time_min"], dtype=float)
    size = np.asarray(events["size"], dtype=np.int64)
    keep = (et > t[0]) & (et <= t[-1])
    n = int(keep.sum())
    lo, hi = poisson_interval(n, level)
    coef = SPHERE * cell_volume_um3 ** (2.0 / 3.0)  # µm² of primary surface per cell^(2/3)
    rate = n / exposure
    return ShedCalibration(
        n_events=n, n_cells=int(size[keep].sum()), n_clusters=int((size[keep] >= 2).sum()),
        t0_min=float(t[0]), t1_min=float(t[-1]), dim=dim, slice_um=d if dim == 2 else math.nan,
        cell_volume_um3=float(cell_volume_um3),
        front_mean=mean_area / (d if dim == 2 else 1.0), front_area_mean_um2=mean_area,
        exposure_um2_day=exposure, rate=rate, rate_lo=lo / exposure, rate_hi=hi / exposure,
        shed_per_day=rate * coef, shed_per_day_lo=lo / exposure * coef,
        shed_per_day_hi=hi / exposure * coef,
        cluster_fraction=float((size[keep] >= 2).mean()) if n else 0.0, run=run,
    )  # fmt: skip


__all__ = ["ALPHA_SURFACE", "BUTLER_GULLINO_M", "SPHERE", "ShedCalibration", "calibrate_shedding",
           "cell_diameter", "front_exposure", "poisson_interval"]
