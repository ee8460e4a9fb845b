"""Cell division: two daughters of half the mother's volume, traits inherited or mutated.

Contract:
    * :func:`divide`: each dividing row becomes two daughters of half its volume, placed
      symmetrically at ``x ± (separation r / 2) e``, ``r`` the mother's radius and ``e`` a
      random unit vector (in the plane in 2-D) keyed ``(seed, step, mother id, STREAM_DIVISION,
      0 | 1)``. The default separation ``1.5 r`` is PhysiCell's (>= 1.10: the child at ``+r e``,
      the mother moved by ``-r e / 2``); here both move, so the centre of mass is kept. Daughters
      inherit type, clone id, state and traits, get ``generation + 1``, ``parent_id`` = the
      mother's id and two new ids (daughter A reuses the mother's row, daughter B is appended by
      :meth:`Cells.add`); their velocities are zeroed (Adams–Bashforth restarts). Optional hooks:
      traits flagged *conserved* are halved, and per-trait Gaussian noise (sd per trait) is
      added to each daughter, keyed ``(seed, step, daughter id, STREAM_MUTATION, trait column)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from invasim.core.cells import Cells, sphere_radius
from invasim.core.rng import normals, uniform

#: rng streams of division orientation and trait mutation
STREAM_DIVISION = 13
STREAM_MUTATION = 14
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


def divide(
    cells: Cells,
    rows: np.ndarray,
    seed: int,
    step: int,
    separation: float = DIVISION_SEPARATION,
    trait_sd: np.ndarray | None = None,
    conserved: np.ndarray | None = None,
) -> slice:
    """Divide the cells at ``rows``; returns the slice of the appended daughters (B).

    Daughter A of ``rows[k]`` stays in row ``rows[k]``; daughter B is row ``slice.start + k``.

    Args:
        cells: the cells.
        rows: ``[k]`` row indices of the mothers (e.g. from
            :func:`~invasim.biology.cycle.advance_cycle`).
        seed: run seed.
        step: phenotype step counter (rng key).
        separation: daughters' centre distance over the mother's radius.
        trait_sd: ``[n_traits]`` standard deviation of the Gaussian noise added to each
            daughter's traits (mutation); None or zeros for exact copies.
        conserved: ``[n_traits]`` bool, traits split in half between the daughters.
    """
    rows = np.asarray(rows, dtype=np.int64)
    k = rows.shape[0]
    if k == 0:
        return slice(cells.n, cells.n)
    if np.any(rows < 0) or np.any(rows >= cells.n) or np.unique(rows).shape[0] != k:
        raise ValueError("division rows must be distinct live rows")
    mother = cells.id[rows].copy()
    e = np.empty((k, 3))
    division_directions(mother, np.int64(seed), np.int64(step), cells.dim, e)
    off = (0.5 * separation * cells.radius[rows])[:, None] * e
    x = cells.position[rows].copy()
    half = 0.5 * cells.volume[rows]
    traits = cells.traits[rows].copy()
    if conserved is not None:
        traits[:, np.asarray(conserved, dtype=bool)] *= 0.5
    # daughter A: the mother's row, with a new id (taken from the same counter as add's)
    ids_a = cells.new_ids(k)
    copied = {
        f: getattr(cells, f)[rows].copy()
        for f in ("type", "phase", "time_in_phase", "dead", "clone_id", "generation")
    }
    s = cells.add(
        k,
        position=x + off,
        volume=half,
        parent_id=mother,
        **{**copied, "generation": copied["generation"] + 1},
        **{name: traits[:, c] for c, name in enumerate(cells.trait_names)},
    )
    # views taken after add: the arrays may have been reallocated
    cells.position[rows] = x - off
    cells.volume[rows] = half
    cells.radius[rows] = sphere_radius(half)
    cells.id[rows] = ids_a
    cells.parent_id[rows] = mother
    cells.generation[rows] += 1
    cells.traits[rows] = traits
    for f in ("velocity", "velocity_prev"):
        getattr(cells, f)[rows] = 0.0
    if trait_sd is not None and np.any(np.asarray(trait_sd) > 0):
        sd = np.asarray(trait_sd, dtype=np.float64)
        cols = np.flatnonzero(sd > 0)
        for r_d, ids in ((rows, ids_a), (np.arange(s.start, s.stop), cells.id[s])):
            z = normals(seed, step, ids[:, None], STREAM_MUTATION, cols[None, :])
            cells.traits[r_d[:, None], cols[None, :]] += z * sd[cols]
    return s
