"""Centre-based cell mechanics of the PhysiCell class (MODEL_REFERENCE §10).

Reference: Ghaffarizadeh et al., PhysiCell, PLoS Comput Biol 14:e1005991 (2018).

Contract:
    * Overdamped motion: each mechanics step sets every cell's velocity (µm/min) from the
      potentials below, then moves it. A cell's velocity is the sum over its neighbours ``j``
      (``d = |x_i - x_j|``, unit vector ``e`` from ``j`` to ``i``) of

      - repulsion ``c_rep,ij (1 - d/R)² e`` for ``d < R = r_i + r_j``, with
        ``c_rep,ij = sqrt(c_rep[t_i] c_rep[t_j])`` (the geometric mean, as PhysiCell >= 1.10);
      - adhesion ``-c_adh[t_i, t_j] (1 - d/S)² e`` for ``d < S = s_i r_i + s_j r_j``, ``s`` the
        per-type relative maximum adhesion distance (``S = s (r_i + r_j)`` for one type). The
        adhesion matrix (µm/min) must be symmetric, so that the pair forces are equal and
        opposite;

      plus, for every wall of the box ``[0, L]`` per existing axis within the cell's radius
      (distance ``w < r_i``), a push ``c_wall[t_i] (1 - w/r_i)²`` along the inward normal
      (PhysiCell's domain-edge avoidance, ``cell_BM_repulsion_strength`` = 100 µm/min by
      default; PhysiCell applies only the nearest wall, here every wall in range adds, which
      differs only in corners). A centre outside the box feels the full push. Distances are
      floored at 1e-5 µm as in PhysiCell (coincident centres exert no force).
    * Per-cell strengths (behaviour rules, :func:`compute_velocities` ``repulsion=``,
      ``adhesion=``: ``[n]`` µm/min) replace the types' in the pair rules of PhysiCell >= 1.10
      (``Cell::add_potentials``): ``c_rep,ij = sqrt(c_i c_j)`` and
      ``c_adh,ij = sqrt(a_i a_j) f[t_i, t_j]``, ``f`` the type-pair factor
      ``c_adh[t, u] / sqrt(c_adh[t, t] c_adh[u, u])`` (PhysiCell's adhesive affinities; 1 where
      a diagonal entry is 0). The agent model's matrix is the geometric mean of the types'
      strengths, so ``f = 1`` and the pair adhesion is PhysiCell's ``sqrt(a_i a_j)``; it is
      exact, not rescaled (``c_adh[t_i, t_j] m_i m_j`` with ``m = sqrt(a / a_type)`` would
      divide by a type strength of 0, so a rule could not raise the adhesion of a non-adhesive
      type). A cell whose strength equals its type's gives bit for bit the per-type numbers
      (``sqrt(a a) == a`` and ``sqrt(c_t c_u)`` is the matrix entry, both correctly rounded);
      a missing array is ``c_i = c_rep[t_i]`` (repulsion) or ``a_i = 1`` with ``f = c_adh``
      (adhesion). One kernel serves both: without per-cell arrays it reads the type tables;
      with them it gathers ``c_i``, ``a_i`` into the sorted scratch beside ``x, y, z, r``
      (``[n, 6]``) and takes two square roots per interacting pair.
    * Time stepping (:data:`SCHEMES`): ``"ab2"`` (default, PhysiCell's) Adams–Bashforth 2,
      ``x += dt (3/2 v - 1/2 v_prev)`` with ``v_prev = 0`` for a new cell; or ``"euler"``,
      ``x += dt v``. Both shift ``v`` into ``velocity_prev``. :func:`max_stable_dt` gives the
      step bound the config layer enforces.
    * The velocity kernel loops over cells in cell-list order, each cell summing only its own
      neighbours (the candidate walk of :mod:`invasim.physics.traversal`, no shared
      accumulators), so results are bit-identical whatever the number of Numba threads;
      they depend only on the state, including the cells' row order.
      Dead/absent cells are not treated apart yet.
    * :meth:`Mechanics.step` = cell-list rebuild + :func:`compute_velocities` + :func:`move`.
      :meth:`Mechanics.sort` reorders the cells' rows by bin (cache locality; the caller
      decides when, e.g. every 20 steps); row indices change, ids do not.
    * Small problems run a serial twin of each kernel (``parallel=None`` picks: parallel from
      :data:`PARALLEL_MIN_CELLS` cells with more than one thread; the velocity kernel from
      that many cells whatever the thread count, its prange loop being 2.3× faster than the
      serial one on one thread too): a ``parallel=True`` loop over a few thousand cells spends
      more in OpenMP barriers than in arithmetic, 10-100× more when another process holds a
      core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from invasim.core.cells import Cells
from invasim.physics.neighbors import CellList
from invasim.physics.traversal import candidate_bins, row_slots

SCHEMES = ("ab2", "euler")
#: cells from which the kernels run in parallel when ``parallel=None``
PARALLEL_MIN_CELLS = 5000
#: PhysiCell's floor on centre distances, µm
MIN_DISTANCE = 1e-5
#: largest ``dt λ_max`` of each scheme on the negative real axis (linear stability)
_STABLE_HLAMBDA = {"ab2": 1.0, "euler": 2.0}

_JIT = {"cache": True, "fastmath": False}


@dataclass(frozen=True)
class MechanicsParams:
    """Per-type mechanical parameters (``T`` cell types).

    Attributes:
        repulsion: ``[T]`` cell–cell repulsion strength, µm/min.
        adhesion: ``[T, T]`` symmetric cell–cell adhesion strength, µm/min.
        s_rel: ``[T]`` relative maximum adhesion distance (interaction reach / radius).
        wall_repulsion: ``[T]`` repulsion from the domain walls, µm/min.
        wall_adhesion: ``[T]`` adhesion to the domain walls, µm/min (default 0: none).
    """

    repulsion: np.ndarray
    adhesion: np.ndarray
    s_rel: np.ndarray
    wall_repulsion: np.ndarray
    wall_adhesion: np.ndarray | float = 0.0

    def __post_init__(self) -> None:
        rep = np.atleast_1d(np.asarray(self.repulsion, dtype=np.float64))
        t = rep.shape[0]
        adh = np.asarray(self.adhesion, dtype=np.float64).reshape(t, t)
        s_rel = np.broadcast_to(np.asarray(self.s_rel, dtype=np.float64), (t,)).copy()
        wall = np.broadcast_to(np.asarray(self.wall_repulsion, dtype=np.float64), (t,)).copy()
        wadh = np.broadcast_to(np.asarray(self.wall_adhesion, dtype=np.float64), (t,)).copy()
        for name, a in (("repulsion", rep), ("adhesion", adh), ("wall_repulsion", wall),
                        ("wall_adhesion", wadh)):
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"mechanics {name} must be finite and >= 0 µm/min, got {a}")
        if not np.all(s_rel >= 1.0) or not np.all(np.isfinite(s_rel)):
            raise ValueError(f"relative maximum adhesion distance must be >= 1, got {s_rel}")
        if not np.array_equal(adh, adh.T):
            raise ValueError(f"adhesion matrix must be symmetric, got {adh}")
        object.__setattr__(self, "repulsion", rep)
        object.__setattr__(self, "adhesion", np.ascontiguousarray(adh))
        object.__setattr__(self, "s_rel", s_rel)
        object.__setattr__(self, "wall_repulsion", wall)
        object.__setattr__(self, "wall_adhesion", wadh)

    @classmethod
    def single_type(
        cls,
        repulsion: float = 10.0,
        adhesion: float = 0.4,
        s_rel: float = 1.25,
        wall_repulsion: float = 100.0,
        wall_adhesion: float = 0.0,
    ) -> MechanicsParams:
        """One cell type; defaults are PhysiCell's default cell (MODEL_REFERENCE §10)."""
        return cls(
            np.array([repulsion]), np.array([[adhesion]]), s_rel, wall_repulsion, wall_adhesion
        )

    @property
    def n_types(self) -> int:
        """Number of cell types ``T``."""
        return self.repulsion.shape[0]

    @property
    def repulsion_matrix(self) -> np.ndarray:
        """``[T, T]`` pair repulsion ``sqrt(c_i c_j)``, µm/min."""
        return np.sqrt(np.outer(self.repulsion, self.repulsion))

    def cutoff(self, r_max: float) -> float:
        """Largest interaction distance (µm) among cells of radius at most ``r_max`` µm."""
        return 2.0 * float(self.s_rel.max()) * float(r_max)


def max_stable_dt(params: MechanicsParams, r_min: float, dim: int, scheme: str = "ab2") -> float:
    """Largest mechanics time step (min) for which the motion is linearly stable.

    Linearising the velocity about a configuration, a pair at distance ``d`` acts as a spring
    of stiffness ``k = -dv/dd = 2 c_rep (1 - d/R)/R - 2 c_adh (1 - d/S)/S`` (1/min) along its
    axis; adhesion only softens it, and ``k`` is largest when centres coincide:
    ``k_max = 2 c_rep / (2 r_min)``. For a regular packing with ``z`` contacts per cell
    (hexagonal, ``z = 6`` in 2-D; fcc, ``z = 12`` in 3-D), the largest eigenvalue of the
    motion's Jacobian is at most ``2 k_max z / dim`` (``Σ_j (e_j·u)² = z/dim`` for any unit
    ``u``, times ``1 - cos ≤ 2``). A cell pushed into a wall with a speed ``c_rep`` sits
    where ``c_wall (1 - w/r)² = c_rep``, a spring of stiffness ``2 sqrt(c_wall c_rep)/r``.
    The step must keep ``dt λ`` within the scheme's stability interval on the negative real
    axis: 1 for Adams–Bashforth 2, 2 for forward Euler.

    This is a bound for the stiffest plausible state, not a proof for every configuration
    (a disordered cluster can have more contacts); PhysiCell's defaults (c_rep 10 µm/min,
    wall 100 µm/min, r 8.41 µm, AB2) give 0.105 min in 3-D and 0.133 min in 2-D, above
    PhysiCell's 0.1 min.

    Args:
        params: mechanical parameters.
        r_min: smallest cell radius, µm (> 0).
        dim: 2 or 3.
        scheme: one of :data:`SCHEMES`.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown mechanics scheme {scheme!r}; expected one of {SCHEMES}")
    if not r_min > 0.0:
        raise ValueError(f"r_min must be > 0 µm, got {r_min}")
    c_rep = float(params.repulsion.max())
    c_wall = float(params.wall_repulsion.max())
    z = 6 if dim == 2 else 12
    lam = max(2.0 * c_rep / (2.0 * r_min) * 2.0 * z / dim, 2.0 * math.sqrt(c_wall * c_rep) / r_min)
    return math.inf if lam == 0.0 else _STABLE_HLAMBDA[scheme] / lam


# ---------------------------------------------------------------------------- kernels
# One velocity kernel for every strength rule, compiled once per rule: the per-type call
# passes crep = cadh = None and rep = the pair table, the per-cell call crep, cadh and
# rep = None; the per-cell reach (scell), affinities (aff) and wall strengths (wrep, wadh)
# are None unless some cell's value differs from its type's. ``x is None`` on a None-typed
# argument is decided at compile time, so each compilation keeps only its own branches (no
# per-pair test and fewer live arrays: about 5 % faster on the per-cell path than one
# compilation with a run-time flag, measured).
@njit(inline="always", **_JIT)
def _gather(k, position, radius, ctype, crep, cadh, scell, order, sorted_xyzr, sorted_type):
    """Copy the ``k``-th cell in cell-list order into the sorted scratch.

    Columns x, y, z, r and, with per-cell strengths (``crep``, ``cadh`` not None), the
    repulsion and adhesion strengths (4, 5), and with a per-cell reach (``scell``) column 6.
    """
    i = order[k]
    sorted_xyzr[k, 0] = position[i, 0]
    sorted_xyzr[k, 1] = position[i, 1]
    sorted_xyzr[k, 2] = position[i, 2]
    sorted_xyzr[k, 3] = radius[i]
    if crep is not None:
        sorted_xyzr[k, 4] = crep[i]
        sorted_xyzr[k, 5] = cadh[i]
    if scell is not None:
        sorted_xyzr[k, 6] = scell[i]
    sorted_type[k] = ctype[i]


@njit(inline="always", **_JIT)
def _wall_push(x, extent_a, ri, cw, ca, reach):
    """Velocity along one axis from its two walls.

    Repulsion within ``ri``, adhesion within ``reach``; a centre outside the box is at
    distance 0.
    """
    push = 0.0
    w = x if x > 0.0 else 0.0
    if w < ri:
        q = 1.0 - w / ri
        push += cw * q * q
    if ca > 0.0 and w < reach:
        q = 1.0 - w / reach
        push -= ca * q * q
    w = extent_a - x
    w = w if w > 0.0 else 0.0
    if w < ri:
        q = 1.0 - w / ri
        push -= cw * q * q
    if ca > 0.0 and w < reach:
        q = 1.0 - w / reach
        push += ca * q * q
    return push


@njit(inline="always", **_JIT)
def _cell_velocity(
    k, xyzr, typ, order, bin_start, nb, w, inv_w, tol, cutoff, extent, dim, rep, adh, s_rel,
    wall, wall_adh, scell, aff, wrep, wadh, velocity,
):  # fmt: skip
    """Velocity of the ``k``-th cell in cell-list order, written to its row of ``velocity``.

    Pair strengths (module contract): per type (``rep`` the ``[T, T]`` pair repulsion),
    ``rep[t_i, t_j]`` and ``adh[t_i, t_j]``; per cell (``rep`` None), ``sqrt(c_i c_j)`` and
    ``sqrt(a_i a_j) adh[t_i, t_j]``, ``adh`` the type-pair factor and ``c``, ``a`` the
    scratch's columns 4 and 5; with per-cell affinities ``aff`` (``[n, T]``, by row) the
    factor is ``sqrt(aff_i[t_j] aff_j[t_i])``. The reach is ``s[t]`` or, with ``scell``, the
    scratch's column 6; the wall strengths ``wall[t]``, ``wall_adh[t]`` or ``wrep``, ``wadh``
    (by row).
    """
    xi = xyzr[k, 0]
    yi = xyzr[k, 1]
    zi = xyzr[k, 2]
    ri = xyzr[k, 3]
    ti = typ[k]
    i = order[k]
    ci = ai = 0.0
    if rep is None:
        ci = xyzr[k, 4]
        ai = xyzr[k, 5]
    if scell is None:
        si = s_rel[ti]
    else:
        si = xyzr[k, 6]
    reach_i = si * ri
    cut2 = cutoff * cutoff
    xlo, xhi, ylo, yhi, zlo, zhi = candidate_bins(xi, yi, zi, cutoff, nb, inv_w)
    vx = 0.0
    vy = 0.0
    vz = 0.0
    for jz in range(zlo, zhi + 1):
        for jy in range(ylo, yhi + 1):
            lo, hi = row_slots(jy, jz, xlo, xhi, yi, zi, cutoff, bin_start, nb, w, tol)
            for m in range(lo, hi):  # the scratch is sorted: slot m is its row
                dx = xi - xyzr[m, 0]
                dy = yi - xyzr[m, 1]
                dz = zi - xyzr[m, 2]
                d2 = dx * dx + dy * dy + dz * dz
                if d2 >= cut2 or m == k:
                    continue
                rj = xyzr[m, 3]
                tj = typ[m]
                if scell is None:
                    s = reach_i + s_rel[tj] * rj
                    if d2 >= s * s:
                        continue
                    big_r = ri + rj
                else:  # a per-cell reach may be below 1: repulsion still reaches r_i + r_j
                    s = reach_i + xyzr[m, 6] * rj
                    big_r = ri + rj
                    lim = s if s > big_r else big_r
                    if d2 >= lim * lim:
                        continue
                d = math.sqrt(d2)
                if d < MIN_DISTANCE:
                    d = MIN_DISTANCE
                f = 0.0
                if d < big_r:
                    q = 1.0 - d / big_r
                    if rep is None:
                        f = math.sqrt(ci * xyzr[m, 4]) * q * q
                    else:
                        f = rep[ti, tj] * q * q
                qa = 1.0 - d / s
                if scell is not None and d >= s:
                    qa = 0.0
                if rep is None:
                    if aff is None:
                        f -= math.sqrt(ai * xyzr[m, 5]) * adh[ti, tj] * qa * qa
                    else:
                        pair = math.sqrt(aff[i, tj] * aff[order[m], ti])
                        f -= math.sqrt(ai * xyzr[m, 5]) * pair * qa * qa
                else:
                    f -= adh[ti, tj] * qa * qa
                f /= d
                vx += f * dx
                vy += f * dy
                vz += f * dz
    if wrep is None:
        cw = wall[ti]
    else:
        cw = wrep[i]
    if wadh is None:
        ca = wall_adh[ti]
    else:
        ca = wadh[i]
    if cw > 0.0 or ca > 0.0:
        # walls at 0 and L of each existing axis
        vx += _wall_push(xyzr[k, 0], extent[0], ri, cw, ca, reach_i)
        if dim > 1:
            vy += _wall_push(xyzr[k, 1], extent[1], ri, cw, ca, reach_i)
        if dim > 2:
            vz += _wall_push(xyzr[k, 2], extent[2], ri, cw, ca, reach_i)
    velocity[i, 0] = vx
    velocity[i, 1] = vy
    velocity[i, 2] = vz


@njit(parallel=True, **_JIT)
def _velocities_par(
    position, radius, ctype, crep, cadh, order, bin_start, nb, w, inv_w, tol, cutoff, extent,
    dim, rep, adh, s_rel, wall, wall_adh, scell, aff, wrep, wadh, xyzr, typ, velocity,
):  # fmt: skip
    n = order.shape[0]
    for k in prange(n):
        _gather(k, position, radius, ctype, crep, cadh, scell, order, xyzr, typ)
    for k in prange(n):
        _cell_velocity(
            k, xyzr, typ, order, bin_start, nb, w, inv_w, tol, cutoff, extent, dim, rep, adh,
            s_rel, wall, wall_adh, scell, aff, wrep, wadh, velocity,
        )  # fmt: skip


@njit(**_JIT)
def _velocities_ser(
    position, radius, ctype, crep, cadh, order, bin_start, nb, w, inv_w, tol, cutoff, extent,
    dim, rep, adh, s_rel, wall, wall_adh, scell, aff, wrep, wadh, xyzr, typ, velocity,
):  # fmt: skip
    n = order.shape[0]
    for k in range(n):
        _gather(k, position, radius, ctype, crep, cadh, scell, order, xyzr, typ)
    for k in range(n):
        _cell_velocity(
            k, xyzr, typ, order, bin_start, nb, w, inv_w, tol, cutoff, extent, dim, rep, adh,
            s_rel, wall, wall_adh, scell, aff, wrep, wadh, velocity,
        )  # fmt: skip


@njit(inline="always", **_JIT)
def _move_one(i, position, velocity, velocity_prev, dt, ab2, dim):
    for a in range(dim):
        v = velocity[i, a]
        if ab2:
            position[i, a] += dt * (1.5 * v - 0.5 * velocity_prev[i, a])
        else:
            position[i, a] += dt * v
        velocity_prev[i, a] = v


@njit(parallel=True, **_JIT)
def _move_par(position, velocity, velocity_prev, dt, ab2, dim):
    for i in prange(position.shape[0]):
        _move_one(i, position, velocity, velocity_prev, dt, ab2, dim)


@njit(**_JIT)
def _move_ser(position, velocity, velocity_prev, dt, ab2, dim):
    for i in range(position.shape[0]):
        _move_one(i, position, velocity, velocity_prev, dt, ab2, dim)


def use_parallel(n: int, parallel: bool | None) -> bool:
    """Resolve a ``parallel`` flag: ``None`` means from :data:`PARALLEL_MIN_CELLS` cells on."""
    if parallel is None:
        return n >= PARALLEL_MIN_CELLS and numba.get_num_threads() > 1
    return bool(parallel)


def adhesion_factor(adhesion: np.ndarray) -> np.ndarray:
    """``[T, T]`` type-pair factor of the per-cell adhesion rule (module contract).

    ``c_adh[t, u] / sqrt(c_adh[t, t] c_adh[u, u])``, 1 where a diagonal entry is 0; exactly 1
    for a geometric-mean matrix.
    """
    adh = np.asarray(adhesion, dtype=np.float64)
    diag = np.diag(adh)
    den = np.sqrt(np.outer(diag, diag))
    return np.divide(adh, den, out=np.ones_like(adh), where=den > 0.0)


def _per_cell(a: np.ndarray | None, n: int, name: str, shape: tuple = ()) -> np.ndarray | None:
    if a is None:
        return None
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.shape != (n, *shape):
        raise ValueError(f"per-cell {name} must have shape {(n, *shape)}, got {a.shape}")
    if n and not (np.all(np.isfinite(a)) and a.min() >= 0.0):
        raise ValueError(f"per-cell {name} must be finite and >= 0")
    return a


def compute_velocities(
    cells: Cells,
    cell_list: CellList,
    params: MechanicsParams,
    extent: tuple[float, ...],
    scratch: tuple[np.ndarray, np.ndarray] | None = None,
    parallel: bool | None = None,
    repulsion: np.ndarray | None = None,
    adhesion: np.ndarray | None = None,
    reach: np.ndarray | None = None,
    affinity: np.ndarray | None = None,
    wall_repulsion: np.ndarray | None = None,
    wall_adhesion: np.ndarray | None = None,
) -> None:
    """Overwrite ``cells.velocity`` with the potentials' velocities (µm/min).

    Args:
        cells: the cells; their types must be ``< params.n_types``.
        cell_list: rebuilt from ``cells.position`` (same rows), its cutoff at least
            ``params.cutoff(max radius)`` (and ``2 max(reach) max(radius)``).
        params: mechanical parameters.
        extent: the box ``[0, L]`` per axis (µm), for the walls.
        scratch: ``([>= n, 4] float64, [>= n] int32)`` buffers for the sorted copies of the
            positions/radii and types; allocated when ``None``. With per-cell strengths the
            first needs 6 columns, 7 with a per-cell reach (a narrower one is replaced by a
            fresh buffer).
        parallel: kernel choice (None: the prange kernel from :data:`PARALLEL_MIN_CELLS`
            cells on, whatever the thread count).
        repulsion: ``[n]`` per-cell repulsion strengths (µm/min) instead of the types'.
        adhesion: ``[n]`` per-cell adhesion strengths (µm/min) instead of the types' (pair
            rule in the module contract).
        reach: ``[n]`` per-cell relative maximum adhesion distances (>= 0) instead of
            ``params.s_rel[type]``.
        affinity: ``[n, T]`` per-cell adhesive affinities to each type (dimensionless): the
            adhesion pair factor becomes ``sqrt(aff_i[t_j] aff_j[t_i])``.
        wall_repulsion, wall_adhesion: ``[n]`` per-cell wall strengths (µm/min) instead of the
            types'.

    Raises:
        ValueError: a stale cell list, or a per-cell array of the wrong shape, not finite or
            negative.
    """
    n = cells.n
    if cell_list.n != n:
        raise ValueError(f"cell list holds {cell_list.n} cells, the state {n}: rebuild it")
    repulsion = _per_cell(repulsion, n, "repulsion")
    adhesion = _per_cell(adhesion, n, "adhesion")
    reach = _per_cell(reach, n, "relative maximum adhesion distance")
    affinity = _per_cell(affinity, n, "adhesive affinity", (params.n_types,))
    wall_repulsion = _per_cell(wall_repulsion, n, "wall repulsion")
    wall_adhesion = _per_cell(wall_adhesion, n, "wall adhesion")
    if affinity is not None and adhesion is None:
        raise ValueError("per-cell adhesive affinities need the per-cell adhesion strengths")
    per_cell = repulsion is not None or adhesion is not None
    cols = 7 if reach is not None else 6 if per_cell else 4
    if scratch is None or scratch[0].shape[1] < cols:
        scratch = (np.empty((n, cols)), np.empty(n, dtype=np.int32))
    # search only as far as the largest cells present can interact: the grid may be coarser
    # (sized for cells that could swell); pairs beyond it contribute exactly nothing, so the
    # sums are bit-identical, only fewer empty candidates are visited
    r_max = float(cells.radius.max()) if n else 0.0
    search = params.cutoff(r_max)
    if reach is not None and n:
        search = 2.0 * max(float(reach.max()), 1.0) * r_max
        if search > cell_list.cutoff * (1 + 1e-12):
            raise ValueError(
                f"a cell's relative maximum adhesion distance {float(reach.max()):g} reaches "
                f"{search:g} µm, beyond the cell list's cutoff {cell_list.cutoff:g} µm"
            )
    search = min(cell_list.cutoff, search)
    # the prange kernel from PARALLEL_MIN_CELLS cells on, also on one thread: there it runs
    # ~2.3x faster than the serial loop (8.8 vs 20.5 ms, 10^5 cells in 2-D; same bits: each
    # cell writes only its own row)
    par = n >= PARALLEL_MIN_CELLS if parallel is None else bool(parallel)
    ext = np.asarray(extent, dtype=np.float64)
    rep = params.repulsion_matrix  # per type; None: per cell (the kernels' header)
    adh = params.adhesion
    if per_cell:
        rep = None
        if repulsion is None:
            repulsion = np.ascontiguousarray(params.repulsion[cells.type])
        if adhesion is None:  # a_i = 1, f = the matrix: c_adh[t_i, t_j] exactly
            adhesion = np.ones(n)
        else:
            adh = adhesion_factor(params.adhesion)
    kernel = _velocities_par if par else _velocities_ser
    kernel(
        cells.position, cells.radius, cells.type, repulsion, adhesion, cell_list.order,
        cell_list.bin_start, cell_list.nb, cell_list.w, cell_list.inv_w, cell_list.tol, search,
        ext, cells.dim, rep, adh, params.s_rel, params.wall_repulsion, params.wall_adhesion,
        reach, affinity, wall_repulsion, wall_adhesion, scratch[0], scratch[1], cells.velocity,
    )  # fmt: skip


def move(cells: Cells, dt: float, scheme: str = "ab2", parallel: bool | None = None) -> None:
    """Advance positions by ``dt`` (min) with ``cells.velocity``; shift it to ``velocity_prev``."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown mechanics scheme {scheme!r}; expected one of {SCHEMES}")
    kernel = _move_par if use_parallel(cells.n, parallel) else _move_ser
    kernel(cells.position, cells.velocity, cells.velocity_prev, float(dt), scheme == "ab2",
           cells.dim)  # fmt: skip


class Mechanics:
    """The mechanics process: cell list, velocities, motion, for one domain.

    Args:
        params: mechanical parameters.
        extent: the box ``[0, L]`` per axis (x, y[, z]) in µm; its length is the dimension.
        scheme: one of :data:`SCHEMES`.
        parallel: kernel choice (``None``: by size, see :func:`use_parallel`).
    """

    def __init__(
        self,
        params: MechanicsParams,
        extent: tuple[float, ...],
        scheme: str = "ab2",
        parallel: bool | None = None,
    ) -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"unknown mechanics scheme {scheme!r}; expected one of {SCHEMES}")
        self.params = params
        self.extent = tuple(float(e) for e in extent)
        self.scheme = scheme
        self.parallel = parallel
        self.cell_list = CellList(self.extent, params.cutoff(1.0))
        self._xyzr = np.empty((0, 4))
        self._typ = np.empty(0, dtype=np.int32)

    def scratch(self, n: int, cols: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Reused ``([>= n, cols] float64, [>= n] int32)`` buffers for :func:`compute_velocities`.

        ``cols`` is 4 (x, y, z, r), 6 (with per-cell repulsion and adhesion) or 7 (and a
        per-cell reach); capacity grows
        geometrically.
        """
        if self._xyzr.shape[0] < n or self._xyzr.shape[1] != cols:
            cap = max(n, 2 * self._xyzr.shape[0])
            self._xyzr = np.empty((cap, cols))
            self._typ = np.empty(cap, dtype=np.int32)
        return self._xyzr, self._typ

    def rebuild(self, cells: Cells) -> None:
        """Fit the grid to the largest cell present, then rebuild the cell list.

        The grid follows the current largest radius (:meth:`CellList.fit_cutoff`, a
        function of the state), so the neighbour sums run in the same order after a resume.
        """
        if cells.dim != len(self.extent):
            raise ValueError(f"{cells.dim}-D cells in a {len(self.extent)}-D mechanics domain")
        if cells.n and int(cells.type.max()) >= self.params.n_types:
            raise ValueError(f"cell type {cells.type.max()} >= {self.params.n_types} types")
        r_max = float(cells.radius.max()) if cells.n else 1.0
        self.cell_list.fit_cutoff(self.params.cutoff(r_max))
        self.cell_list.rebuild(cells.position, use_parallel(cells.n, self.parallel))

    def sort(self, cells: Cells) -> None:
        """Reorder the cells by bin (cache locality); the order is a function of the state."""
        self.rebuild(cells)
        cells.permute(self.cell_list.order.copy())

    def step(self, cells: Cells, dt: float) -> None:
        """One mechanics step of ``dt`` minutes: rebuild, velocities, move."""
        self.rebuild(cells)
        compute_velocities(
            cells, self.cell_list, self.params, self.extent, self.scratch(cells.n), self.parallel
        )
        move(cells, dt, self.scheme, self.parallel)

    def nbytes(self) -> int:
        """Bytes held by the cell list and the scratch buffers."""
        return self.cell_list.nbytes() + self._xyzr.nbytes + self._typ.nbytes
