"""Key readouts of a run: a registry of functions ``(run) -> dict | None``.

Contract:
    * A readout is a function of an opened :class:`~invasim.io.run.Run` returning an ordered
      ``{label: Reading}`` (a value with its unit and a note saying where it comes from), or
      ``None`` where it does not apply to that run (no cells, no front...). It reads the run
      directory only (``run.meta``, ``run.metrics``, the snapshots), so it works on finished,
      running and killed runs alike.
    * :func:`register` adds one under a name and a section title; :func:`collect` evaluates all
      of them in ``order`` and keeps those that apply. The report and the notebook display show
      whatever is registered: a new readout (bud grade, pattern of invasion, breach time) is one
      decorated function in the module that computes it, not a change to either.
    * A readout that cannot read what it needs (a run killed before its first metrics row)
      returns ``None``; a :class:`~invasim.errors.RunDirError` it raises is treated the same.
    * This module presents; it does not measure. A value that is a function of one snapshot
      (a count, the tumour radius) is computed by the snapshot readouts of
      :mod:`invasim.analysis.readouts` (the functions behind ``metrics.csv``), and a metric's
      unit is the one registered there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from invasim.analysis.readouts import compute, description_of, find, unit_of
from invasim.analysis.snapshot import Snapshot
from invasim.errors import RunDirError
from invasim.io.run import Run


@dataclass(frozen=True)
class Reading:
    """One readout value.

    Attributes:
        value: a number or a short text.
        unit: its unit (``""``: none or a count).
        note: where it comes from (a metric name, a snapshot time).
    """

    value: Any
    unit: str = ""
    note: str = ""

    def text(self) -> str:
        """The value for display: integers with thousands separators, floats to 4 digits."""
        v = self.value
        if isinstance(v, (bool, np.bool_)):
            s = "yes" if v else "no"
        elif isinstance(v, (int, np.integer)):
            s = f"{int(v):,}"
        elif isinstance(v, (float, np.floating)):
            f = float(v)
            if math.isfinite(f) and f == round(f) and abs(f) < 1e15:
                s = f"{int(f):,}"
            else:
                s = f"{f:.4g}"
        else:
            s = str(v)
        return f"{s} {self.unit}" if self.unit else s


Readout = Callable[[Run], "dict[str, Reading] | None"]


@dataclass(frozen=True)
class Entry:
    """A registered readout.

    Attributes:
        name: its key in :data:`REGISTRY`.
        title: the section heading it is shown under.
        func: the readout function.
        order: where it is shown (smaller first).
    """

    name: str
    title: str
    func: Readout
    order: int


#: the registered readouts by name
REGISTRY: dict[str, Entry] = {}


def register(name: str, title: str, order: int = 100) -> Callable[[Readout], Readout]:
    """Decorator adding a readout to :data:`REGISTRY` (a later one of the same name replaces it).

    Args:
        name: a short key.
        title: the heading it is shown under.
        order: where it is shown (built-ins: 0 run, 10 invasion, 20 cells, 90 final metrics).
    """

    def add(func: Readout) -> Readout:
        REGISTRY[name] = Entry(name, title, func, order)
        return func

    return add


def collect(run: Run) -> list[tuple[Entry, dict[str, Reading]]]:
    """Every registered readout that applies to ``run``, in order, with its readings."""
    out = []
    for entry in sorted(REGISTRY.values(), key=lambda e: (e.order, e.name)):
        try:
            readings = entry.func(run)
        except RunDirError:
            readings = None
        if readings:
            out.append((entry, readings))
    return out


# -- helpers -----------------------------------------------------------------------------------
def metrics_or_none(run: Run) -> pd.DataFrame | None:
    """The run's metrics table, or ``None`` when it has no row yet or cannot be read."""
    try:
        m = run.metrics
    except RunDirError:
        return None
    return m if len(m) else None


def metric_unit(name: str) -> str:
    """A metric's unit: the registered one, else the one its name carries, else ``""``.

    Registered: a readout of :mod:`invasim.analysis.readouts` (``n_tumor``: cells); by name:
    ``*_um`` is µm.
    """
    unit = unit_of(name)
    if unit is not None:
        return unit
    return "µm" if name.endswith("_um") else ""


def time_text(t_min: float) -> str:
    """A time in min with hours or days beside it: ``720 min (12 h)``."""
    if t_min >= 2 * 1440.0:
        return f"{t_min:g} min ({t_min / 1440.0:.3g} days)"
    if t_min >= 120.0:
        return f"{t_min:g} min ({t_min / 60.0:.3g} h)"
    return f"{t_min:g} min"


# -- built-in readouts -------------------------------------------------------------------------
@register("run", "Run", order=0)
def run_readout(run: Run) -> dict[str, Reading]:
    """Status, time reached, snapshots, wall time."""
    meta = run.meta
    out = {"status": Reading(run.status)}
    if "time_min" in meta:
        out["time reached"] = Reading(time_text(float(meta["time_min"])),
                                      note=f"of {time_text(float(meta['end_min']))}"
                                      if "end_min" in meta else "")
    try:
        out["snapshots"] = Reading(len(run.times))
    except RunDirError:
        pass
    if meta.get("wall_s") is not None:
        out["wall time"] = Reading(float(meta["wall_s"]), "s")
    return out


@register("invasion", "Invasion", order=10)
def invasion_readout(run: Run) -> dict[str, Reading] | None:
    """Invasion depth (the model's ``front_um``) at the last row, and its largest value."""
    m = metrics_or_none(run)
    if m is None or "front_um" not in m:
        return None
    front = m["front_um"].to_numpy(float)
    t = float(m["time_min"].iloc[-1])
    out = {"invasion depth": Reading(float(front[-1]), "µm", f"front_um at t = {t:g} min")}
    if np.isfinite(front).any() and np.nanmax(front) > front[-1]:
        k = int(np.nanargmax(front))
        out["deepest invasion"] = Reading(float(front[k]), "µm",
                                          f"at t = {float(m['time_min'].iloc[k]):g} min")
    return out


@register("cells", "Cells", order=20)
def cells_readout(run: Run) -> dict[str, Reading] | None:
    """Counts at the last cell snapshot: live (by type), apoptotic, necrotic; tumour radius.

    The values are the snapshot readouts of :mod:`invasim.analysis.readouts` (the functions
    behind the agent model's metrics), recomputed from the stored snapshot.
    """
    from invasim.viz.cells import has_cells

    if not has_cells(run):
        return None
    n = len(sorted((run.path / "cells").glob("[0-9]*.parquet")))
    times = run.times
    if len(times) == 0:
        return None
    snap = Snapshot.from_run(run, float(times[min(n, len(times)) - 1]))
    v = compute(snap, _CELL_READOUTS)
    where = f"cell table at t = {snap.t_min:g} min"
    n_all = v["n_cells"] + v["n_apoptotic"] + v["n_necrotic"]
    out = {"cells": Reading(int(n_all), note=where), "live": Reading(int(v["n_cells"]))}
    per_type = find("n_<type>").names(snap)
    if len(per_type) > 1:
        for name, key in zip(snap.type_names, per_type, strict=True):
            out[f"live {name}"] = Reading(int(v[key]))
    out["apoptotic"] = Reading(int(v["n_apoptotic"]))
    out["necrotic"] = Reading(int(v["n_necrotic"]))
    out["necrotic fraction"] = Reading(v["necrotic_fraction"], note="necrotic / all cells")
    if v["n_cells"]:
        out["tumour radius"] = Reading(v["tumor_radius_um"], unit_of("tumor_radius_um"),
                                       "tumor_radius_um: " + description_of("tumor_radius_um"))
    return out


#: the snapshot readouts the Cells section shows
_CELL_READOUTS = ("n_cells", "n_apoptotic", "n_necrotic", "necrotic_fraction", "tumor_radius_um",
                  "n_<type>")


@register("metrics", "Final metrics", order=90)
def metrics_readout(run: Run) -> dict[str, Reading] | None:
    """Every metric of the last metrics row."""
    m = metrics_or_none(run)
    if m is None:
        return None
    last = m.iloc[-1]
    t = float(last["time_min"])
    out = {"time_min": Reading(t, "min")}
    for col in m.columns:
        if col != "time_min":
            out[col] = Reading(float(last[col]), metric_unit(col))
    return out


__all__ = ["REGISTRY", "Entry", "Reading", "collect", "metric_unit", "register"]
