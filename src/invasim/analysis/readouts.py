"""Readouts: registered functions of a :class:`~invasim.analysis.snapshot.Snapshot`.

Contract:
    * A readout is a function ``f(snapshot) -> float`` registered with :func:`readout` under a
      name, a unit and a one-line description; that is the one place they are written, and
      ``metrics.csv``, the report, ``invasim readouts --list`` and the docs read them from
      :data:`REGISTRY`. A *family* has ``<type>`` in its name (``n_<type>``): its function
      returns ``{concrete name: value}``, one per cell type of the snapshot (``n_tumor``); or
      ``<field>`` (``<field>_at_front``): one per field of the snapshot (``tgfb_at_front``).
    * ``applies(snapshot)`` says whether it is defined for a snapshot (``pressure_max`` needs a
      ``pressure`` cell column, the cell readouts need cells); :func:`compute` skips those that
      do not apply, and refuses by name those that were asked for.
    * The same function runs on the live engine's snapshot and on a stored one
      (:meth:`Snapshot.from_run`), and gives the same bits: the agent readouts below use the
      arithmetic of the agent model's metrics (positions as an ``[n, 3]`` float64 array with
      ``z == 0`` in 2-D, the same NumPy calls in the same order).
    * :func:`compute` returns plain floats in registration order (families in type order);
      a later value of the same name replaces an earlier one in place, as the model's metrics
      dict did (a cell type called ``cells`` gives the ``n_cells`` column its count).
    * Names the registry does not know raise :class:`~invasim.errors.ConfigError` naming the
      allowed ones and the nearest (``difflib``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from invasim.analysis.snapshot import Snapshot
from invasim.errors import ConfigError

if TYPE_CHECKING:
    from invasim.io.run import Run

#: the placeholder of a per-type family's name
TYPE = "<type>"
#: the placeholder of a per-field family's name (one member per field of the snapshot)
FIELD = "<field>"


def placeholder(name: str) -> str | None:
    """The family placeholder in ``name`` (:data:`TYPE` or :data:`FIELD`), or None."""
    return TYPE if TYPE in name else FIELD if FIELD in name else None
#: cell states in the ``dead`` column
ALIVE, APOPTOTIC, NECROTIC = 0, 1, 2

ReadoutFunc = Callable[[Snapshot], "float | dict[str, float]"]
Applies = Callable[[Snapshot], bool]


@dataclass(frozen=True)
class Readout:
    """A registered readout.

    Attributes:
        name: its name, a metric column (``n_<type>`` for a family).
        unit: its unit (``"µm"``, ``"cells"``; ``""`` when dimensionless).
        description: one line saying what it measures.
        func: ``f(snapshot)``: a float, or ``{concrete name: float}`` for a family.
        applies: whether it is defined for a snapshot.
    """

    name: str
    unit: str
    description: str
    func: ReadoutFunc
    applies: Applies

    @property
    def family(self) -> bool:
        """Whether it is a family: per type (``<type>`` in its name) or per field (``<field>``)."""
        return placeholder(self.name) is not None

    def names(self, snapshot: Snapshot) -> list[str]:
        """Its concrete names for ``snapshot`` (one per cell type, or per field, for a family)."""
        ph = placeholder(self.name)
        if ph is None:
            return [self.name]
        values = snapshot.type_names if ph == TYPE else list(snapshot.fields)
        return [self.name.replace(ph, t) for t in values]

    def matches(self, name: str) -> bool:
        """Whether ``name`` is this readout or one of its family's members (any type name)."""
        if not self.family:
            return name == self.name
        head, tail = self.name.split(placeholder(self.name), 1)
        return len(name) > len(head) + len(tail) and name.startswith(head) and name.endswith(tail)


#: the registered readouts by name, in registration order (the order of ``metrics.csv``)
REGISTRY: dict[str, Readout] = {}


def readout(
    name: str, unit: str, description: str, applies: Applies | None = None
) -> Callable[[ReadoutFunc], ReadoutFunc]:
    """Decorator registering ``f(snapshot)`` as readout ``name`` (a later one replaces it).

    Args:
        name: the metric name; put ``<type>`` in it for a per-type family (``n_<type>``).
        unit: its unit (``""``: dimensionless).
        description: one line.
        applies: ``applies(snapshot) -> bool`` (default: always).
    """

    def add(func: ReadoutFunc) -> ReadoutFunc:
        REGISTRY[name] = Readout(name, unit, description, func, applies or (lambda s: True))
        return func

    return add


# -- lookup ------------------------------------------------------------------------------------
def find(name: str) -> Readout | None:
    """The readout ``name`` is (or belongs to, for a family member such as ``n_tumor``)."""
    if name in REGISTRY:
        return REGISTRY[name]
    return next((r for r in REGISTRY.values() if r.family and r.matches(name)), None)


def unit_of(name: str) -> str | None:
    """The registered unit of metric ``name`` (``None``: not a registered readout)."""
    r = find(name)
    return None if r is None else r.unit


def description_of(name: str) -> str | None:
    """The registered description of metric ``name`` (``None``: not a registered readout)."""
    r = find(name)
    return None if r is None else r.description


def available(snapshot: Snapshot) -> list[str]:
    """The concrete names of the readouts that apply to ``snapshot``, in order."""
    out: dict[str, None] = {}
    for r in REGISTRY.values():
        if r.applies(snapshot):
            out.update(dict.fromkeys(r.names(snapshot)))
    return list(out)


def unknown_name_error(name: str, allowed: Sequence[str], what: str = "readout") -> ConfigError:
    """A one-line error for an unknown ``name``: the allowed ones and the nearest."""
    hint = difflib.get_close_matches(name, list(allowed), n=1)
    did = f" (did you mean {hint[0]!r}?)" if hint else ""
    return ConfigError(f"unknown {what} {name!r}{did}; allowed: {', '.join(allowed)}")


def check_names(names: Iterable[str], snapshot: Snapshot | None = None) -> list[str]:
    """``names`` if each is registered (a family member must name a type of ``snapshot``)."""
    names = list(names)
    allowed = list(REGISTRY) if snapshot is None else [*available(snapshot), *REGISTRY]
    allowed = list(dict.fromkeys(allowed))
    for name in names:
        r = find(name)
        ok = r is not None and (
            snapshot is None or not r.family or name == r.name or name in r.names(snapshot)
        )
        if not ok:
            raise unknown_name_error(name, allowed)
    return names


# -- evaluation --------------------------------------------------------------------------------
def _evaluate(r: Readout, snapshot: Snapshot) -> dict[str, float]:
    value = r.func(snapshot)
    if r.family:
        return {k: float(v) for k, v in value.items()}
    return {r.name: float(value)}


def compute(snapshot: Snapshot, names: Sequence[str] | None = None) -> dict[str, float]:
    """The readouts of ``snapshot`` as ``{name: float}``.

    Args:
        snapshot: live or stored (:meth:`Snapshot.from_run`).
        names: readout names (concrete, ``n_tumor``, or a family, ``n_<type>``), in the order
            wanted; default: every readout that applies, in registration order.

    Raises:
        ConfigError: an unknown name (the message names the allowed ones and the nearest), or
            one that does not apply to ``snapshot`` (``pressure_max`` of a cell table
            without a ``pressure`` column).
    """
    if names is None:
        out: dict[str, float] = {}
        for r in REGISTRY.values():
            if r.applies(snapshot):
                out.update(_evaluate(r, snapshot))
        return out
    check_names(names, snapshot)
    out = {}
    done: dict[str, dict[str, float]] = {}
    for name in names:
        r = find(name)
        if not r.applies(snapshot):
            raise ConfigError(f"readout {name!r} does not apply to {snapshot.source}; readouts "
                              f"there: {', '.join(available(snapshot)) or 'none'}")
        if r.name not in done:
            done[r.name] = _evaluate(r, snapshot)
        values = done[r.name]
        out.update(values if name == r.name else {name: values[name]})
    return out


def table(run: Run, names: Sequence[str] | None = None,
          times: Sequence[float] | None = None) -> pd.DataFrame:
    """The readouts recomputed for every stored snapshot of ``run`` (or those at ``times``).

    Returns:
        one row per snapshot time: ``time_min`` then one column per readout (as
        :func:`compute`; the columns of the first snapshot, ``NaN`` where a later one lacks
        a value).
    """
    if names is not None:
        check_names(names)
    ts = [float(t) for t in run.times] if times is None else [float(t) for t in times]
    rows = []
    for t in ts:
        snap = Snapshot.from_run(run, t)
        rows.append({"time_min": snap.t_min, **compute(snap, names)})
    if not rows:
        return pd.DataFrame({"time_min": np.zeros(0)})
    return pd.DataFrame(rows)


def describe(snapshot: Snapshot | None = None) -> list[str]:
    """One line per readout: name, unit, description (those that apply to ``snapshot``)."""
    rows = []
    for r in REGISTRY.values():
        if snapshot is None:
            rows.append((r.name, r.unit, r.description))
        elif r.applies(snapshot):
            rows += [(n, r.unit, r.description) for n in r.names(snapshot)]
    width = max((len(n) for n, _, _ in rows), default=0)
    uwidth = max((len(u) for _, u, _ in rows), default=0)
    return [f"{n:<{width}}  {u or '-':<{uwidth}}  {d}" for n, u, d in rows]


#: the file types :func:`table_bytes` writes
TABLE_SUFFIXES = (".csv", ".parquet")


def check_table_path(out: Path | str) -> Path:
    """``out`` as a path if it ends in a suffix :func:`table_bytes` writes, else ConfigError."""
    out = Path(out)
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(f"--out {out} must end in {' or '.join(TABLE_SUFFIXES)}")
    return out


def table_bytes(frame: pd.DataFrame, out: Path | str) -> bytes:
    """``frame`` serialised for file ``out``: CSV (full precision) or Parquet, by its suffix.

    Raises:
        ConfigError: another suffix.
    """
    if check_table_path(out).suffix.lower() == ".csv":
        return frame.to_csv(index=False).encode("utf-8")
    return frame.to_parquet(index=False)


# -- applicability -----------------------------------------------------------------------------
def has_cells(s: Snapshot) -> bool:
    """The snapshot holds a cell table (an agent model)."""
    return s.cells is not None


def has_column(column: str) -> Applies:
    """``applies``: the snapshot's cell table has ``column``."""
    return lambda s: s.cells is not None and column in s.cells


def _dead(s: Snapshot) -> np.ndarray:
    return s.cells["dead"].to_numpy()


# -- the agent readouts (the arithmetic of the agent model's metrics, bit for bit) -------------
OXYGEN = "oxygen"


@readout("n_cells", "cells", "live cells", has_cells)
def n_cells(s: Snapshot) -> float:
    """Live cells (``dead == 0``)."""
    return float(int((_dead(s) == ALIVE).sum()))


@readout("tumor_radius_um", "µm", "95th percentile of the live cells' distances from the "
         "centre of mass of all cells", has_cells)  # fmt: skip
def tumor_radius_um(s: Snapshot) -> float:
    """95th percentile of the live cells' distances from the centre of mass of all cells."""
    alive = _dead(s) == ALIVE
    if not int(alive.sum()):
        return 0.0
    pos = s.positions()
    com = pos.mean(axis=0)
    d = np.linalg.norm(pos[alive] - com, axis=1)
    return float(np.percentile(d, 95))


@readout("n_apoptotic", "cells", "dead cells not necrotic (apoptotic)", has_cells)
def n_apoptotic(s: Snapshot) -> float:
    """All cells less the live and the necrotic ones."""
    dead = _dead(s)
    n_live = int((dead == ALIVE).sum())
    return float(len(dead) - n_live - int((dead == NECROTIC).sum()))


@readout("n_necrotic", "cells", "necrotic cells", has_cells)
def n_necrotic(s: Snapshot) -> float:
    """Cells with ``dead == 2``."""
    return float(int((_dead(s) == NECROTIC).sum()))


@readout("necrotic_fraction", "", "necrotic cells / all cells (0 without cells)", has_cells)
def necrotic_fraction(s: Snapshot) -> float:
    """Necrotic / all cells, 0 when there is none."""
    dead = _dead(s)
    n_all = len(dead)
    return int((dead == NECROTIC).sum()) / n_all if n_all else 0.0


@readout("oxygen_min", "mmHg", "minimum of the oxygen field (NaN without one)",
         lambda s: s.cells is not None or OXYGEN in s.fields)  # fmt: skip
def oxygen_min(s: Snapshot) -> float:
    """The oxygen field's minimum; NaN when the snapshot has no oxygen field."""
    return float(s.fields[OXYGEN].min()) if OXYGEN in s.fields else math.nan


@readout("pressure_max", "", "largest simple pressure of a cell (dimensionless; 0 without cells)",
         has_column("pressure"))  # fmt: skip
def pressure_max(s: Snapshot) -> float:
    """The largest value of the ``pressure`` cell column, 0 when there is no cell."""
    p = s.cells["pressure"].to_numpy(np.float64)
    return float(p.max()) if p.size else 0.0


@readout(f"n_{TYPE}", "cells", "live cells of each type", has_cells)
def n_per_type(s: Snapshot) -> dict[str, float]:
    """Live cells of each type, ``{"n_<type>": count}`` in type order."""
    alive = _dead(s) == ALIVE
    types = s.cells["type"].to_numpy()
    counts = np.bincount(types[alive], minlength=len(s.type_names))
    return {f"n_{t}": float(counts[i]) for i, t in enumerate(s.type_names)}


__all__ = [
    "REGISTRY",
    "Readout",
    "Snapshot",
    "available",
    "check_names",
    "check_table_path",
    "compute",
    "describe",
    "description_of",
    "find",
    "readout",
    "table",
    "table_bytes",
    "unit_of",
]
