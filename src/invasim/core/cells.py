"""The agents: one struct of equal-length NumPy arrays, with a capacity and a live count.

Contract:
    * Every per-cell array has ``capacity`` rows; rows ``[0, n)`` are the live cells, in a
      fixed order, and the properties (``cells.position``, ...) are live *views* of those rows:
      writing into them writes the state. Rows beyond ``n`` are garbage.
    * Dimension is a shape, never a class: positions and velocities are always ``(·, 3)``
      float64, with ``z == 0`` in 2-D.
    * Capacity grows geometrically (×2), so :meth:`Cells.add` is amortised O(1) per cell;
      :meth:`Cells.remove` compacts the survivors in their existing order (stable, O(n) per
      batch), and :meth:`Cells.permute` reorders them (e.g. spatially, for cache locality).
      Array indices are therefore not stable over time; ``id`` is: unique, assigned from the
      ``next_id`` counter at birth, never reused.
    * Array order is part of the state (sums over neighbours run in it), so everything that
      changes the order is a deterministic function of the state; a checkpoint
      (:meth:`Cells.to_dict`) stores the arrays in order and :meth:`Cells.from_dict` restores
      them bit for bit.
    * ``traits`` are extra float columns (gene expression, signalling state, ...) addressed by
      name through ``trait_index`` / :meth:`Cells.trait`; :meth:`Cells.add_trait` adds one.

Units: µm, minutes. Volumes are those of spheres, ``4/3 π r³`` µm³, also in 2-D (cells are
spheres whose centres lie in a plane, as in PhysiCell).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

ALIVE, APOPTOTIC, NECROTIC = 0, 1, 2
#: PhysiCell's default cell volume (µm³) and the radius of a sphere of that volume (µm)
DEFAULT_VOLUME = 2494.0
DEFAULT_RADIUS = (3.0 * DEFAULT_VOLUME / (4.0 * math.pi)) ** (1.0 / 3.0)

#: name -> (trailing shape, dtype); ``traits`` is handled apart (its width varies)
FIELDS: dict[str, tuple[tuple[int, ...], type]] = {
    "position": ((3,), np.float64),
    "velocity": ((3,), np.float64),
    "velocity_prev": ((3,), np.float64),
    "radius": ((), np.float64),
    "volume": ((), np.float64),
    "type": ((), np.int32),
    "phase": ((), np.int32),
    "time_in_phase": ((), np.float64),
    "dead": ((), np.int8),
    "id": ((), np.int64),
    "parent_id": ((), np.int64),
    "clone_id": ((), np.int64),
    "generation": ((), np.int32),
}

#: names a trait may not take (fields and the coordinate columns of :meth:`Cells.to_frame`)
RESERVED = frozenset(FIELDS) | {"x", "y", "z", "traits"}


def sphere_volume(radius: np.ndarray | float) -> np.ndarray | float:
    """Volume (µm³) of a sphere of ``radius`` (µm)."""
    return 4.0 / 3.0 * math.pi * np.asarray(radius) ** 3


def sphere_radius(volume: np.ndarray | float) -> np.ndarray | float:
    """Radius (µm) of a sphere of ``volume`` (µm³)."""
    return np.cbrt(3.0 * np.asarray(volume) / (4.0 * math.pi))


class Cells:
    """Struct of arrays of the cells of one tissue.

    Live views (first ``n`` rows; units in brackets):

    * ``position``: ``[n, 3]`` float64, µm; ``z == 0`` in 2-D.
    * ``velocity``: ``[n, 3]`` float64, µm/min, from the last mechanics step.
    * ``velocity_prev``: ``[n, 3]`` float64, µm/min, the one before (Adams–Bashforth 2).
    * ``radius``: ``[n]`` float64, µm. ``volume``: ``[n]`` float64, µm³.
    * ``type``: ``[n]`` int32, index of the cell type. ``phase``: ``[n]`` int32, cycle phase.
    * ``time_in_phase``: ``[n]`` float64, min.
    * ``dead``: ``[n]`` int8, :data:`ALIVE` 0, :data:`APOPTOTIC` 1, :data:`NECROTIC` 2.
    * ``id``, ``parent_id`` (-1 for founders), ``clone_id`` (a founder's own id, inherited):
      ``[n]`` int64. ``generation``: ``[n]`` int32 (0 for founders).
    * ``traits``: ``[n, n_traits]`` float64, columns named by ``trait_names``.

    Args:
        dim: 2 or 3.
        capacity: initial number of rows (grows ×2 when needed).
        n_traits: number of unnamed trait columns (named ``trait_0`` ...), default 0 each.
        traits: named trait columns, a sequence of names (default 0.0) or a mapping
            name -> default value; added after the unnamed ones.
    """

    def __init__(
        self,
        dim: int,
        capacity: int = 1024,
        n_traits: int = 0,
        traits: Sequence[str] | Mapping[str, float] = (),
    ) -> None:
        if dim not in (2, 3):
            raise ValueError(f"cells need dim 2 or 3, got {dim}")
        self.dim = int(dim)
        self.n = 0
        self.next_id = 0
        cap = max(1, int(capacity))
        self._a = {k: np.zeros((cap, *s), dtype=t) for k, (s, t) in FIELDS.items()}
        self._traits = np.zeros((cap, 0))
        self.trait_names: list[str] = []
        self.trait_defaults: list[float] = []
        for i in range(n_traits):
            self.add_trait(f"trait_{i}")
        items = traits.items() if isinstance(traits, Mapping) else ((t, 0.0) for t in traits)
        for name, default in items:
            self.add_trait(name, default)

    # ------------------------------------------------------------------ sizes and views
    def __len__(self) -> int:
        return self.n

    @property
    def capacity(self) -> int:
        """Rows allocated per array."""
        return self._a["id"].shape[0]

    @property
    def n_traits(self) -> int:
        """Number of trait columns."""
        return len(self.trait_names)

    @property
    def trait_index(self) -> dict[str, int]:
        """Trait name -> column of ``traits``."""
        return {t: i for i, t in enumerate(self.trait_names)}

    def full(self, name: str) -> np.ndarray:
        """The whole allocated array ``name`` (``capacity`` rows), for kernels."""
        return self._traits if name == "traits" else self._a[name]

    def trait(self, name: str) -> np.ndarray:
        """Live view ``[n]`` of the trait column ``name``."""
        try:
            col = self.trait_names.index(name)
        except ValueError:
            raise KeyError(f"no trait {name!r}; traits are {self.trait_names}") from None
        return self._traits[: self.n, col]

    @property
    def traits(self) -> np.ndarray:
        """``[n, n_traits]`` float64, trait values."""
        return self._traits[: self.n]

    def add_trait(self, name: str, default: float = 0.0) -> int:
        """Add a trait column, ``default`` for live and future cells; returns its column."""
        if not name or name in self.trait_names or name in RESERVED:
            raise ValueError(f"trait name {name!r} is empty, already used or reserved")
        new = np.empty((self.capacity, self.n_traits + 1))
        new[:, :-1] = self._traits
        new[:, -1] = default
        self._traits = new
        self.trait_names.append(name)
        self.trait_defaults.append(float(default))
        return self.n_traits - 1

    def _reserve(self, needed: int) -> None:
        cap = self.capacity
        if needed <= cap:
            return
        while cap < needed:
            cap *= 2
        n = self.n
        for k, a in self._a.items():
            b = np.zeros((cap, *a.shape[1:]), dtype=a.dtype)
            b[:n] = a[:n]
            self._a[k] = b
        t = np.zeros((cap, self.n_traits))
        t[:n] = self._traits[:n]
        self._traits = t

    # ------------------------------------------------------------------ birth and removal
    def add(self, k: int, **arrays) -> slice:
        """Append ``k`` cells; returns the slice of their rows.

        Keyword arrays (one row per new cell, or anything broadcastable to it) set any field
        of :data:`FIELDS` except ``id`` (assigned ``next_id, next_id + 1, ...``) or a trait
        by name. Defaults: zeros, except ``parent_id`` -1, ``clone_id`` the cell's own id,
        the traits' defaults, and radius/volume: given one, the other is the sphere's; given
        neither, PhysiCell's default cell (2494 µm³). ``position`` may have ``dim`` columns.

        Raises:
            ValueError: an unknown keyword, ``id`` given, or a 2-D cell with ``z != 0``.
        """
        k = int(k)
        if k < 0:
            raise ValueError(f"cannot add {k} cells")
        unknown = set(arrays) - set(FIELDS) - set(self.trait_names)
        if unknown or "id" in arrays:
            raise ValueError(
                f"unknown or read-only cell field(s) {sorted(unknown | ({'id'} & set(arrays)))}; "
                f"allowed: {sorted(set(FIELDS) - {'id'})} and traits {self.trait_names}"
            )
        self._reserve(self.n + k)
        s = slice(self.n, self.n + k)
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        for a in self._a.values():
            a[s] = 0
        for name, v in arrays.items():
            if name in self.trait_names:
                continue
            v = np.asarray(v)
            if name in ("position", "velocity", "velocity_prev") and v.ndim == 2:
                if v.shape[1] == 2:
                    v = np.concatenate([v, np.zeros((v.shape[0], 1), v.dtype)], axis=1)
                if self.dim == 2 and np.any(v[:, 2] != 0):
                    raise ValueError(f"2-D cells need {name} z == 0")
            self._a[name][s] = v
        self._a["id"][s] = ids
        if "parent_id" not in arrays:
            self._a["parent_id"][s] = -1
        if "clone_id" not in arrays:
            self._a["clone_id"][s] = ids
        if "radius" in arrays and "volume" not in arrays:
            self._a["volume"][s] = sphere_volume(self._a["radius"][s])
        elif "volume" in arrays and "radius" not in arrays:
            self._a["radius"][s] = sphere_radius(self._a["volume"][s])
        elif "volume" not in arrays:
            self._a["volume"][s] = DEFAULT_VOLUME
            self._a["radius"][s] = DEFAULT_RADIUS
        pairs = zip(self.trait_names, self.trait_defaults, strict=True)
        for col, (name, default) in enumerate(pairs):
            self._traits[s, col] = arrays.get(name, default)
        self.n += k
        self.next_id += k
        return s

    def new_ids(self, k: int) -> np.ndarray:
        """Take ``k`` fresh ids from the ``next_id`` counter (which advances by ``k``).

        For cells whose row is reused under a new identity (a dividing mother becomes a
        daughter); :meth:`add` numbers the cells it appends itself.

        Returns:
            ``[k]`` int64, the consecutive ids ``next_id, ..., next_id + k - 1``.

        Raises:
            ValueError: ``k`` is negative.
        """
        k = int(k)
        if k < 0:
            raise ValueError(f"cannot take {k} ids")
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        self.next_id += k
        return ids

    def _keep_mask(self, which) -> np.ndarray:
        which = np.asarray(which)
        if which.dtype == bool:
            if which.shape != (self.n,):
                raise ValueError(f"removal mask must have shape ({self.n},), got {which.shape}")
            return ~which
        keep = np.ones(self.n, dtype=bool)
        keep[which.astype(np.intp, copy=False)] = False
        return keep

    def remove(self, which) -> int:
        """Remove cells given by a boolean mask ``[n]`` or by row indices; returns the count.

        Survivors keep their relative order (stable compaction, O(n)).
        """
        keep = self._keep_mask(which)
        m = int(keep.sum())
        removed = self.n - m
        if removed == 0:
            return 0
        for a in self._a.values():
            a[:m] = a[: self.n][keep]
        self._traits[:m] = self._traits[: self.n][keep]
        self.n = m
        return removed

    def permute(self, order: np.ndarray) -> None:
        """Reorder the live cells: new row ``i`` is old row ``order[i]`` (a permutation of n)."""
        order = np.asarray(order)
        if order.shape != (self.n,):
            raise ValueError(f"order must have shape ({self.n},), got {order.shape}")
        for a in self._a.values():
            a[: self.n] = a[: self.n][order]
        self._traits[: self.n] = self._traits[: self.n][order]

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """Plain-data copy of the live state (arrays and counters), for checkpoints."""
        d = {k: a[: self.n].copy() for k, a in self._a.items()}
        d["traits"] = self._traits[: self.n].copy()
        d.update(
            dim=self.dim,
            n=self.n,
            next_id=self.next_id,
            capacity=self.capacity,
            trait_names=list(self.trait_names),
            trait_defaults=list(self.trait_defaults),
        )
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> Cells:
        """Rebuild from :meth:`to_dict` output; the live arrays are restored bit for bit."""
        n = int(d["n"])
        cells = cls(int(d["dim"]), capacity=max(int(d.get("capacity", n)), n, 1))
        for name, default in zip(d["trait_names"], d["trait_defaults"], strict=True):
            cells.add_trait(str(name), float(default))
        for k, a in cells._a.items():
            a[:n] = np.asarray(d[k]).reshape((n, *a.shape[1:]))
        cells._traits[:n] = np.asarray(d["traits"]).reshape(n, cells.n_traits)
        cells.n = n
        cells.next_id = int(d["next_id"])
        return cells

    def to_frame(self):
        """One row per live cell: ids, lineage, state, coordinates (µm), size, traits.

        Returns:
            a ``pandas.DataFrame`` with columns ``id, parent_id, clone_id, generation, type,
            phase, time_in_phase, dead, x, y[, z], radius, volume`` and one per trait.
        """
        import pandas as pd

        n = self.n
        cols = {k: self._a[k][:n].copy() for k in ("id", "parent_id", "clone_id", "generation")}
        cols.update({k: self._a[k][:n].copy() for k in ("type", "phase", "time_in_phase", "dead")})
        for a, name in enumerate("xyz"[: self.dim]):
            cols[name] = self._a["position"][:n, a].copy()
        cols["radius"] = self._a["radius"][:n].copy()
        cols["volume"] = self._a["volume"][:n].copy()
        for col, name in enumerate(self.trait_names):
            cols[name] = self._traits[:n, col].copy()
        return pd.DataFrame(cols)

    def nbytes(self) -> int:
        """Bytes allocated by all the arrays (``capacity`` rows each)."""
        return sum(a.nbytes for a in self._a.values()) + self._traits.nbytes


def _make_view(name: str, doc: str) -> property:
    def get(self: Cells) -> np.ndarray:
        return self._a[name][: self.n]

    return property(get, doc=doc)


_DOCS = {
    "position": "``[n, 3]`` float64, µm; z == 0 in 2-D.",
    "velocity": "``[n, 3]`` float64, µm/min, of the last mechanics step.",
    "velocity_prev": "``[n, 3]`` float64, µm/min, of the step before (Adams–Bashforth 2).",
    "radius": "``[n]`` float64, µm.",
    "volume": "``[n]`` float64, µm³.",
    "type": "``[n]`` int32, cell-type index.",
    "phase": "``[n]`` int32, cycle phase index.",
    "time_in_phase": "``[n]`` float64, min.",
    "dead": "``[n]`` int8: 0 alive, 1 apoptotic, 2 necrotic.",
    "id": "``[n]`` int64, unique, never reused.",
    "parent_id": "``[n]`` int64, id of the mother (-1 for founders).",
    "clone_id": "``[n]`` int64, id of the founder of the lineage.",
    "generation": "``[n]`` int32, divisions since the founder.",
}
for _name in FIELDS:
    setattr(Cells, _name, _make_view(_name, _DOCS[_name]))
