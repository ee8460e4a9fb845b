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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
    """The unit a metric's name carries (``*_um``: µm), else ``""``."""
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
    """Counts at the last cell snapshot: live (by type), apoptotic, necrotic; tumour radius."""
    from invasim.viz.cells import has_cells, read_cells, type_label, type_names

    if not has_cells(run):
        return None
    n = len(sorted((run.path / "cells").glob("[0-9]*.parquet")))
    frame = read_cells(run, n - 1)
    if frame is None:
        return None
    try:
        t = float(run.times[n - 1])
    except (RunDirError, IndexError):
        t = float(frame["time_min"].iloc[0]) if "time_min" in frame and len(frame) else math.nan
    where = f"cell table at t = {t:g} min"
    dead = frame["dead"].to_numpy() if "dead" in frame else np.zeros(len(frame), np.int8)
    live = dead == 0
    out = {"cells": Reading(len(frame), note=where), "live": Reading(int(live.sum()))}
    if "type" in frame:
        names = type_names(run.meta)
        types = frame["type"].to_numpy()
        keys = sorted(set(np.unique(types).tolist()) | set(range(len(names or []))))
        if len(keys) > 1:
            for k in keys:
                out[f"live {type_label(k, names)}"] = Reading(int((live & (types == k)).sum()))
    out["apoptotic"] = Reading(int((dead == 1).sum()))
    out["necrotic"] = Reading(int((dead == 2).sum()))
    out["necrotic fraction"] = Reading(float((dead == 2).mean()) if len(frame) else 0.0,
                                       note="necrotic / all cells")
    m = metrics_or_none(run)
    if m is not None and "tumor_radius_um" in m:
        out["tumour radius"] = Reading(float(m["tumor_radius_um"].iloc[-1]), "µm",
                                       "tumor_radius_um, last metrics row")
    elif live.any() and {"x", "y"} <= set(frame):
        cols = [c for c in ("x", "y", "z") if c in frame and run.mesh.dim > "xyz".index(c)]
        pos = frame[cols].to_numpy(float)
        d = np.linalg.norm(pos[live] - pos.mean(axis=0), axis=1)
        out["tumour radius"] = Reading(float(np.percentile(d, 95)), "µm",
                                       "95th percentile of live cells' distance from the centre")
    return out


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
