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
    * Named float columns come in three *roles* (:data:`ROLES`), one ``[capacity, k]`` array
      each, addressed by name (names are unique over all roles):

      - ``traits``: heritable properties (gene expression, drug resistance, ...): division
        may mutate them and may split them (``division="split"``);
      - ``state``: bookkeeping (e.g. the motility direction): division copies it to both
        daughters or resets it to its default (``division="reset"``), never mutates or splits;
      - ``internal``: variables a process integrates per cell (ODE state,
        :mod:`invasim.biology.internal`): copied, or split (``division="split"``).

      All three travel with the cell through add/remove/permute/to_dict/from_dict/to_frame
      alike; a column's role and division mode are part of the checkpoint.

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

#: name -> (trailing shape, dtype); the named float columns are handled apart (width varies)
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
#: roles of the named float columns -> what division may do to a column (first: default)
DIVISION_MODES: dict[str, tuple[str, ...]] = {
    "traits": ("copy", "split"),
    "state": ("copy", "reset"),
    "internal": ("copy", "split"),
}
ROLES = tuple(DIVISION_MODES)

#: names a column may not take (fields, roles and the coordinate columns of ``to_frame``)
RESERVED = frozenset(FIELDS) | {"x", "y", "z"} | frozenset(ROLES)


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
    * ``traits``: ``[n, n_traits]`` float64, columns named by ``trait_names``; likewise
      ``columns("state")`` and ``columns("internal")`` (units: each column's own).

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
        self._cols = {r: np.zeros((cap, 0)) for r in ROLES}
        self._names: dict[str, list[str]] = {r: [] for r in ROLES}
        self._defaults: dict[str, list[float]] = {r: [] for r in ROLES}
        self._division: dict[str, list[str]] = {r: [] for r in ROLES}
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

    def names(self, role: str) -> list[str]:
        """Copy of the column names of ``role`` (one of :data:`ROLES`)."""
        return list(self._names[_role(role)])

    def defaults(self, role: str) -> list[float]:
        """Copy of the default values of the columns of ``role``."""
        return list(self._defaults[_role(role)])

    def division_modes(self, role: str) -> list[str]:
        """What division does to each column of ``role`` (:data:`DIVISION_MODES`)."""
        return list(self._division[_role(role)])

    def role_of(self, name: str) -> str | None:
        """The role of the named column ``name``, or None if there is none."""
        return next((r for r in ROLES if name in self._names[r]), None)

    def full(self, name: str) -> np.ndarray:
        """The whole allocated array ``name`` or role (``capacity`` rows), for kernels."""
        return self._cols[name] if name in self._cols else self._a[name]

    def columns(self, role: str) -> np.ndarray:
        """Live view ``[n, k]`` float64 of the columns of ``role``."""
        return self._cols[_role(role)][: self.n]

    @property
    def traits(self) -> np.ndarray:
        """``[n, n_traits]`` float64, trait values."""
        return self._cols["traits"][: self.n]

    def column(self, name: str, role: str | None = None) -> np.ndarray:
        """Live view ``[n]`` of the named column ``name`` (of ``role``, if given)."""
        found = self.role_of(name)
        if found is None or (role is not None and found != role):
            what = "column" if role is None else role
            known = {r: self._names[r] for r in ROLES if role in (None, r)}
            raise KeyError(f"no {what} {name!r}; named columns are {known}")
        return self._cols[found][: self.n, self._names[found].index(name)]

    def trait(self, name: str) -> np.ndarray:
        """Live view ``[n]`` of the trait column ``name``."""
        return self.column(name, "traits")

    def state(self, name: str) -> np.ndarray:
        """Live view ``[n]`` of the bookkeeping (``state``) column ``name``."""
        return self.column(name, "state")

    def internal(self, name: str) -> np.ndarray:
        """Live view ``[n]`` of the ``internal`` column ``name``."""
        return self.column(name, "internal")

    def add_column(
        self, role: str, name: str, default: float = 0.0, division: str | None = None
    ) -> int:
        """Add a named column of ``role``, ``default`` for live and future cells.

        Args:
            role: one of :data:`ROLES`.
            name: unique over all roles, not in :data:`RESERVED`.
            default: value of the live cells and of cells added without one (column's unit).
            division: what :func:`~invasim.biology.division.divide` does to it, one of
                ``DIVISION_MODES[role]`` (default: the first, ``"copy"``).

        Returns:
            the column's index within its role.
        """
        modes = DIVISION_MODES[_role(role)]
        division = modes[0] if division is None else division
        if division not in modes:
            raise ValueError(f"division of a {role} column: one of {modes}, not {division!r}")
        if not name or self.role_of(name) is not None or name in RESERVED:
            raise ValueError(f"column name {name!r} is empty, already used or reserved")
        old = self._cols[role]
        self._cols[role] = np.concatenate([old, np.full((self.capacity, 1), float(default))], 1)
        self._names[role].append(name)
        self._defaults[role].append(float(default))
        self._division[role].append(division)
        return old.shape[1]

    def add_trait(self, name: str, default: float = 0.0, division: str = "copy") -> int:
        """Add a trait column (``division``: ``"copy"`` or ``"split"``); returns its column."""
        return self.add_column("traits", name, default, division)

    def add_state(self, name: str, default: float = 0.0, division: str = "copy") -> int:
        """Add a bookkeeping column (``division``: ``"copy"`` or ``"reset"``)."""
        return self.add_column("state", name, default, division)

    def add_internal(self, name: str, default: float = 0.0, division: str = "copy") -> int:
        """Add an internal (integrated) column (``division``: ``"copy"`` or ``"split"``)."""
        return self.add_column("internal", name, default, division)

    def move_column(self, name: str, role: str, division: str | None = None) -> int:
        """Give the column ``name`` another role, keeping its values and default.

        E.g. for checkpoints written when a bookkeeping column was still a trait. The column
        becomes the last of ``role``; the columns after it in its old role shift left.

        Returns:
            its index within ``role``.
        """
        old = self.role_of(name)
        if old is None:
            raise KeyError(f"no column {name!r}")
        if old == _role(role):
            return self._names[old].index(name)
        j = self._names[old].index(name)
        values, default = self._cols[old][:, j].copy(), self._defaults[old][j]
        self._cols[old] = np.delete(self._cols[old], j, axis=1)
        for meta in (self._names, self._defaults, self._division):
            del meta[old][j]
        col = self.add_column(role, name, default, division)
        self._cols[role][:, col] = values
        return col

    def _reserve(self, needed: int) -> None:
        cap = self.capacity
        if needed <= cap:
            return
        while cap < needed:
            cap *= 2
        n = self.n
        for store in (self._a, self._cols):
            for k, a in store.items():
                b = np.zeros((cap, *a.shape[1:]), dtype=a.dtype)
                b[:n] = a[:n]
                store[k] = b

    # ------------------------------------------------------------------ birth and removal
    def add(self, k: int, **arrays) -> slice:
        """Append ``k`` cells; returns the slice of their rows.

        Keyword arrays (one row per new cell, or anything broadcastable to it) set any field
        of :data:`FIELDS` except ``id`` (assigned ``next_id, next_id + 1, ...``) or a named
        column (trait, state or internal) by name. Defaults: zeros, except ``parent_id`` -1,
        ``clone_id`` the cell's own id, the named columns' defaults, and radius/volume: given
        one, the other is the sphere's; given neither, PhysiCell's default cell (2494 µm³).
        ``position`` may have ``dim`` columns.

        Raises:
            ValueError: an unknown keyword, ``id`` given, or a 2-D cell with ``z != 0``.
        """
        k = int(k)
        if k < 0:
            raise ValueError(f"cannot add {k} cells")
        named = {name for r in ROLES for name in self._names[r]}
        unknown = set(arrays) - set(FIELDS) - named
        if unknown or "id" in arrays:
            raise ValueError(
                f"unknown or read-only cell field(s) {sorted(unknown | ({'id'} & set(arrays)))}; "
                f"allowed: {sorted(set(FIELDS) - {'id'})} and columns {sorted(named)}"
            )
        self._reserve(self.n + k)
        s = slice(self.n, self.n + k)
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        for a in self._a.values():
            a[s] = 0
        for name, v in arrays.items():
            if name in named:
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
        for r in ROLES:
            pairs = zip(self._names[r], self._defaults[r], strict=True)
            for col, (name, default) in enumerate(pairs):
                self._cols[r][s, col] = arrays.get(name, default)
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

    def _arrays(self):
        yield from self._a.values()
        yield from self._cols.values()

    def remove(self, which) -> int:
        """Remove cells given by a boolean mask ``[n]`` or by row indices; returns the count.

        Survivors keep their relative order (stable compaction, O(n)).
        """
        keep = self._keep_mask(which)
        m = int(keep.sum())
        removed = self.n - m
        if removed == 0:
            return 0
        for a in self._arrays():
            a[:m] = a[: self.n][keep]
        self.n = m
        return removed

    def permute(self, order: np.ndarray) -> None:
        """Reorder the live cells: new row ``i`` is old row ``order[i]`` (a permutation of n)."""
        order = np.asarray(order)
        if order.shape != (self.n,):
            raise ValueError(f"order must have shape ({self.n},), got {order.shape}")
        for a in self._arrays():
            a[: self.n] = a[: self.n][order]

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """Plain-data copy of the live state (arrays and counters), for checkpoints.

        Per role ``r`` (``traits``, ``state``, ``internal``): ``r`` ``[n, k]`` float64 and the
        lists ``<p>_names``, ``<p>_defaults``, ``<p>_division`` (``p``: ``trait`` for traits,
        else the role).
        """
        d = {k: a[: self.n].copy() for k, a in self._a.items()}
        for r in ROLES:
            p = _prefix(r)
            d[r] = self._cols[r][: self.n].copy()
            d[f"{p}_names"] = list(self._names[r])
            d[f"{p}_defaults"] = list(self._defaults[r])
            d[f"{p}_division"] = list(self._division[r])
        d.update(dim=self.dim, n=self.n, next_id=self.next_id, capacity=self.capacity)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> Cells:
        """Rebuild from :meth:`to_dict` output; the live arrays are restored bit for bit.

        Lists may also come as arrays (as stored in ``.npz`` checkpoints); checkpoints
        written before the ``state``/``internal`` roles existed (no such keys, no
        ``trait_division``) load with every trait copied at division.
        """
        n = int(d["n"])
        cells = cls(int(d["dim"]), capacity=max(int(d.get("capacity", n)), n, 1))
        for r in ROLES:
            p = _prefix(r)
            names = [str(t) for t in np.atleast_1d(d.get(f"{p}_names", []))]
            defaults = [float(t) for t in np.atleast_1d(d.get(f"{p}_defaults", []))]
            division = [str(t) for t in np.atleast_1d(d.get(f"{p}_division", []))]
            division = division or [DIVISION_MODES[r][0]] * len(names)
            for name, default, mode in zip(names, defaults, division, strict=True):
                cells.add_column(r, name, default, mode)
            if names:
                cells._cols[r][:n] = np.asarray(d[r]).reshape(n, len(names))
        for k, a in cells._a.items():
            a[:n] = np.asarray(d[k]).reshape((n, *a.shape[1:]))
        cells.n = n
        cells.next_id = int(d["next_id"])
        return cells

    def to_frame(self):
        """One row per live cell: ids, lineage, state, coordinates (µm), size, named columns.

        Returns:
            a ``pandas.DataFrame`` with columns ``id, parent_id, clone_id, generation, type,
            phase, time_in_phase, dead, x, y[, z], radius, volume``, then one per trait, per
            state column and per internal column, in that order.
        """
        import pandas as pd

        n = self.n
        # views: the frame copies them once, into one block per dtype (copy=True)
        cols = {k: self._a[k][:n] for k in ("id", "parent_id", "clone_id", "generation")}
        cols.update({k: self._a[k][:n] for k in ("type", "phase", "time_in_phase", "dead")})
        for a, name in enumerate("xyz"[: self.dim]):
            cols[name] = self._a["position"][:n, a]
        cols["radius"] = self._a["radius"][:n]
        cols["volume"] = self._a["volume"][:n]
        for r in ROLES:
            for col, name in enumerate(self._names[r]):
                cols[name] = self._cols[r][:n, col]
        return pd.DataFrame(cols, copy=True)

    def nbytes(self) -> int:
        """Bytes allocated by all the arrays (``capacity`` rows each)."""
        return sum(a.nbytes for a in self._arrays())


def _role(role: str) -> str:
    if role not in DIVISION_MODES:
        raise ValueError(f"unknown column role {role!r}; roles are {ROLES}")
    return role


def _prefix(role: str) -> str:
    """Key prefix of a role's metadata in :meth:`Cells.to_dict` (``trait_names`` kept)."""
    return "trait" if role == "traits" else role


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


def _make_meta(store: str, role: str, doc: str) -> property:
    return property(lambda self: getattr(self, store)[role], doc=f"{doc} (do not modify).")


Cells.trait_names = _make_meta("_names", "traits", "Names of the trait columns, in order")
Cells.trait_defaults = _make_meta("_defaults", "traits", "Defaults of the trait columns")
Cells.state_names = _make_meta("_names", "state", "Names of the ``state`` columns, in order")
Cells.internal_names = _make_meta("_names", "internal", "Names of the ``internal`` columns")
