"""Cell division: two daughters of half the mother's volume, traits inherited or mutated.

Contract:
    * :func:`divide`: each dividing row becomes two daughters of half its volume, placed
      symmetrically at ``x ± (separation r / 2) e``, ``r`` the mother's radius and ``e`` a
      random unit vector (in the plane in 2-D) keyed ``(seed, step, mother id, STREAM_DIVISION,
      0 | 1)``. The default separation ``1.5 r`` is PhysiCell's (>= 1.10: the child at ``+r e``,
      the mother moved by ``-r e / 2``); here both move, so the centre of mass is kept. Daughters
      inherit type, clone id, state and every named column, get ``generation + 1``,
      ``parent_id`` = the mother's id and two new ids (daughter A reuses the mother's row,
      daughter B is appended by :meth:`Cells.add`); their velocities are zeroed
      (Adams–Bashforth restarts).
    * Named columns (:data:`~invasim.core.cells.ROLES`) follow their division mode: ``copy``
      (both daughters get the mother's value), ``split`` (traits and internal columns: half
      each, so the total is conserved) or ``reset`` (bookkeeping ``state`` columns: both get
      the column's default). Only traits mutate; ``state`` and ``internal`` columns never do.
    * Mutation, in this order: traits flagged ``conserved`` (or of mode ``split``) are halved;
      then each daughter's trait column ``c`` with ``trait_sd[c] > 0`` mutates with probability
      ``mutation_rate[c]`` (always, when ``mutation_rate`` is None: the behaviour before rates
      existed), the event drawn as ``uniform(seed, step, daughter id, STREAM_MUTATION_EVENT,
      c) < mutation_rate[c]``, the step as ``trait_sd[c] * normal(seed, step, daughter id,
      STREAM_MUTATION, c)`` (absolute, in the trait's unit); finally values outside
      ``[lower[c], upper[c]]`` are *reflected* back in (:func:`reflect_into`: mirror images at
      the bounds, folded for steps wider than the interval), which keeps a Gaussian step
      symmetric near a bound instead of piling mass on it as clipping would. Everything is a
      pure function of the state and the key, so independent of thread count and cell order.
    * Division into free space (opt-in; :func:`invasim.physics.free_space.free_space_directions`,
      Anderson 2005/2006's
      lattice rule "a cell divides only if a neighbouring site is free"): a mother tries up to
      ``tries`` random unit vectors ``e_t`` keyed ``(seed, step, mother id,
      STREAM_FREE_SPACE, t)`` and takes the first for which daughter B, centred at ``x +
      separation r e_t`` with the daughter radius ``r_d = r / 2^(1/3)``, lies inside the
      domain and comes no closer to any other cell ``j`` (live; dead too if its type says so)
      than ``clearance (r_d + r_j)``, nor to a daughter B placed earlier in the same call.
      Mothers are taken in increasing id order (so the result depends on neither the thread
      count nor the row order). :func:`divide` with ``placed`` then keeps daughter A at the
      mother's position (the mother stays, the daughter goes into the free site) and puts B at
      ``x + separation r e``; a mother with no free direction is not divided (the caller
      defers her).
    * :func:`mutation_events` recomputes, from the same keys, which traits of which daughters
      mutated (for clone bookkeeping: a daughter with an event founds a clone); a Gaussian step
      of sd > 0 changes the value with probability 1, so an event is a change.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from invasim.core.cells import ROLES, Cells, sphere_radius
from invasim.core.rng import normals, uniform, uniforms

#: rng streams of division orientation, mutation steps and mutation events
STREAM_DIVISION = 13
STREAM_MUTATION = 14
STREAM_MUTATION_EVENT = 16
#: daughters' centre distance over the mother's radius (PhysiCell >= 1.10)
DIVISION_SEPARATION = 1.5
_JIT = {"cache": True, "fastmath": False}


@njit(**_JIT)
def division_directions(ids, seed, step, dim, out):
    """Random unit vectors ``out[k, 3]`` (z = 0 in 2-D), keyed by the mothers' ``ids``."""
    for k in range(ids.shape[0]):
        phi = 2.0 * math.pi * uniform(seed, step, ids[k], STREAM_DIVISION, 0)
        if dim == 3:
            z = 2.0 * uniform(seed, step, ids[k], STREAM_DIVISION, 1) - 1.0
            s = math.sqrt(max(0.0, 1.0 - z * z))
            out[k, 0] = s * math.cos(phi)
            out[k, 1] = s * math.sin(phi)
            out[k, 2] = z
        else:
            out[k, 0] = math.cos(phi)
            out[k, 1] = math.sin(phi)
            out[k, 2] = 0.0


def reflect_into(x: np.ndarray, lower, upper) -> np.ndarray:
    """Fold ``x`` into ``[lower, upper]`` by mirror reflection at the bounds.

    Values inside stay bit for bit; ``x < lower`` becomes ``2 lower - x`` (and likewise at
    ``upper``), repeated for values more than one interval width away (period ``2 (upper -
    lower)``). Bounds may be infinite; a zero-width interval maps everything onto it.

    Args:
        x: values, any shape.
        lower, upper: bounds broadcast against ``x`` (``lower <= upper``).

    Returns:
        a new float64 array of ``x``'s shape.
    """
    x = np.array(x, dtype=np.float64)
    lo, hi = (np.broadcast_to(np.asarray(b, dtype=np.float64), x.shape) for b in (lower, upper))
    out = (x < lo) | (x > hi)
    if not out.any():
        return x
    v, lo, hi = x[out], lo[out], hi[out]
    y = np.where(np.isinf(hi), 2.0 * lo - v, 2.0 * hi - v)
    both = np.isfinite(lo) & np.isfinite(hi)
    if both.any():
        w = hi[both] - lo[both]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.mod(v[both] - lo[both], 2.0 * w)
        t = np.where(w > 0.0, np.where(t > w, 2.0 * w - t, t), 0.0)
        y[both] = lo[both] + t
    x[out] = np.clip(y, lo, hi)  # a last guard against rounding at the bounds
    return x


def _inherited(cells: Cells, rows: np.ndarray, conserved) -> dict[str, np.ndarray]:
    """Per role, the daughters' ``[k, n_columns]`` values before mutation."""
    out = {}
    for role in ROLES:
        vals = cells.columns(role)[rows].copy()
        modes, defaults = cells.division_modes(role), cells.defaults(role)
        split = np.array([m == "split" for m in modes], dtype=bool)
        if role == "traits" and conserved is not None:
            split |= np.asarray(conserved, dtype=bool)
        if split.any():
            vals[:, split] *= 0.5
        for c, m in enumerate(modes):
            if m == "reset":
                vals[:, c] = defaults[c]
        out[role] = vals
    return out


def mutating_columns(sd: np.ndarray, rate: np.ndarray | None) -> np.ndarray:
    """The trait columns that can mutate: ``sd > 0`` (and ``rate > 0`` when rates are given)."""
    sd = np.asarray(sd, dtype=np.float64)
    return np.flatnonzero((sd > 0) if rate is None else (sd > 0) & (np.asarray(rate) > 0))


def mutation_events(
    ids: np.ndarray, seed: int, step: int, sd: np.ndarray, rate: np.ndarray | None
) -> np.ndarray:
    """``[k, n_traits]`` bool: which traits of the daughters ``ids`` mutate at this division.

    The very events :func:`divide` applies (same keys: ``uniform(seed, step, daughter id,
    STREAM_MUTATION_EVENT, c) < rate[c]`` for the columns of :func:`mutating_columns`; every
    such column when ``rate`` is None), so a caller can tell after :func:`divide` which
    daughters carry a new mutation (e.g. to found a clone) without a second source of
    randomness. A pure function of its arguments: independent of thread count and row order.

    Args:
        ids: ``[k]`` int64 ids of the daughters (after division).
        seed, step: the rng key words :func:`divide` was called with.
        sd: ``[n_traits]`` mutation step sd; ``rate``: ``[n_traits]`` probability, or None.
    """
    ids = np.asarray(ids, dtype=np.int64)
    sd = np.asarray(sd, dtype=np.float64)
    out = np.zeros((ids.shape[0], sd.shape[0]), dtype=bool)
    cols = mutating_columns(sd, rate)
    if cols.size == 0 or ids.size == 0:
        return out
    if rate is None:
        out[:, cols] = True
        return out
    rate = np.asarray(rate, dtype=np.float64)
    u = uniforms(seed, step, ids[:, None], STREAM_MUTATION_EVENT, cols[None, :])
    out[:, cols] = u < rate[cols]
    return out


def _mutate(cells, r_d, ids, seed, step, sd, rate) -> None:
    cols = mutating_columns(sd, rate)
    if cols.size == 0 or r_d.size == 0:
        return
    z = normals(seed, step, ids[:, None], STREAM_MUTATION, cols[None, :])
    if rate is None:  # every daughter mutates: the original expression, bit for bit
        cells.traits[r_d[:, None], cols[None, :]] += z * sd[cols]
        return
    hit = mutation_events(ids, seed, step, sd, rate)[:, cols]
    old = cells.traits[r_d[:, None], cols[None, :]]
    cells.traits[r_d[:, None], cols[None, :]] = np.where(hit, old + z * sd[cols], old)


def divide(
    cells: Cells,
    rows: np.ndarray,
    seed: int,
    step: int,
    separation: float = DIVISION_SEPARATION,
    trait_sd: np.ndarray | None = None,
    conserved: np.ndarray | None = None,
    mutation_rate: np.ndarray | None = None,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    placed: np.ndarray | None = None,
    directions: np.ndarray | None = None,
) -> slice:
    """Divide the cells at ``rows``; returns the slice of the appended daughters (B).

    Daughter A of ``rows[k]`` stays in row ``rows[k]``; daughter B is row ``slice.start + k``.
    Called with only the first four arguments it gives the same bits as before mutation
    rates and bounds existed (columns of mode ``copy``).

    Args:
        cells: the cells.
        rows: ``[k]`` row indices of the mothers (e.g. from
            :func:`~invasim.biology.cycle.advance_cycle`).
        seed: run seed.
        step: phenotype step counter (rng key).
        separation: daughters' centre distance over the mother's radius.
        trait_sd: ``[n_traits]`` standard deviation of the Gaussian mutation step of each
            trait, in the trait's unit; None or zeros for exact copies.
        conserved: ``[n_traits]`` bool, traits split in half between the daughters (in
            addition to the trait columns of division mode ``split``).
        mutation_rate: ``[n_traits]`` probability in [0, 1] that a daughter's trait mutates;
            None: every daughter mutates (rate 1).
        lower, upper: ``[n_traits]`` bounds of the traits (±inf for none); daughters' values
            outside are reflected in (:func:`reflect_into`). None: unbounded.
        placed: ``[k]`` bool, mothers divided into free space: daughter A stays at the
            mother's position and B goes to ``x + separation r directions[k]``; None: none.
        directions: ``[k, 3]`` unit vectors (:func:`free_space_directions`), read where
            ``placed``.

    Raises:
        ValueError: rows that are not distinct live rows, a rate outside [0, 1], or
            ``lower > upper``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    k = rows.shape[0]
    if k == 0:
        return slice(cells.n, cells.n)
    if np.any(rows < 0) or np.any(rows >= cells.n) or np.unique(rows).shape[0] != k:
        raise ValueError("division rows must be distinct live rows")
    rate = None if mutation_rate is None else np.asarray(mutation_rate, dtype=np.float64)
    if rate is not None and not np.all((rate >= 0.0) & (rate <= 1.0)):
        raise ValueError(f"mutation rates must lie in [0, 1], got {rate}")
    nt = cells.n_traits
    lo = np.full(nt, -np.inf) if lower is None else np.asarray(lower, dtype=np.float64)
    hi = np.full(nt, np.inf) if upper is None else np.asarray(upper, dtype=np.float64)
    if np.any(lo > hi):
        raise ValueError(f"trait bounds need lower <= upper, got {lo} and {hi}")
    mother = cells.id[rows].copy()
    e = np.empty((k, 3))
    division_directions(mother, np.int64(seed), np.int64(step), cells.dim, e)
    off = (0.5 * separation * cells.radius[rows])[:, None] * e
    x = cells.position[rows].copy()
    x_a = x - off
    x_b = x + off
    if placed is not None and np.any(placed):
        p = np.asarray(placed, dtype=bool)
        d = np.asarray(directions, dtype=np.float64)[p]
        x_a[p] = x[p]
        x_b[p] = x[p] + (separation * cells.radius[rows[p]])[:, None] * d
    half = 0.5 * cells.volume[rows]
    named = _inherited(cells, rows, conserved)
    # daughter A: the mother's row, with a new id (taken from the same counter as add's)
    ids_a = cells.new_ids(k)
    copied = {
        f: getattr(cells, f)[rows].copy()
        for f in ("type", "phase", "time_in_phase", "dead", "clone_id", "generation")
    }
    s = cells.add(
        k,
        position=x_b,
        volume=half,
        parent_id=mother,
        **{**copied, "generation": copied["generation"] + 1},
        **{n: named[r][:, c] for r in ROLES for c, n in enumerate(cells.names(r))},
    )
    # views taken after add: the arrays may have been reallocated
    cells.position[rows] = x_a
    cells.volume[rows] = half
    cells.radius[rows] = sphere_radius(half)
    cells.id[rows] = ids_a
    cells.parent_id[rows] = mother
    cells.generation[rows] += 1
    for r in ROLES:
        cells.columns(r)[rows] = named[r]
    for f in ("velocity", "velocity_prev"):
        getattr(cells, f)[rows] = 0.0
    b_rows = np.arange(s.start, s.stop)
    if trait_sd is not None and np.any(np.asarray(trait_sd) > 0):
        sd = np.asarray(trait_sd, dtype=np.float64)
        for r_d, ids in ((rows, ids_a), (b_rows, cells.id[s])):
            _mutate(cells, r_d, ids, seed, step, sd, rate)
    bounded = np.flatnonzero(np.isfinite(lo) | np.isfinite(hi))
    if bounded.size:
        both = np.concatenate([rows, b_rows])[:, None]
        block = cells.traits[both, bounded[None, :]]
        cells.traits[both, bounded[None, :]] = reflect_into(block, lo[bounded], hi[bounded])
    return s
