"""Cells ↔ fields: secretion and uptake as voxel sources and sinks; sampling at the cells.

Contract:
    * A cell belongs to the voxel containing its centre (clipped into the mesh):
      :func:`voxel_of` gives the flat index ``(k ny + j) nx + i`` into a field of shape
      ``(nz, ny, nx)``. Missing axes have one voxel, so 1-, 2- and 3-D share every line.
    * Secretion/uptake (BioFVM/PhysiCell's per-cell law): a cell of volume ``V_c`` in a voxel of
      volume ``V_v`` with secretion rate ``s`` towards target ``T``, uptake rate ``q`` (1/min) and
      net export ``e`` (amount/min) changes its voxel's value ``u`` by
      ``du/dt = (V_c/V_v) [s (T - u) - q u] + e/V_v``. The cells of one voxel are summed into
      ``du/dt = A + E - B u`` (per voxel: ``A = Σ s T V_c/V_v``, ``B = Σ (s + q) V_c/V_v``,
      ``E = Σ e/V_v``) and the step is taken for the voxel as a whole, either implicitly,
      ``u ← (u + dt (A + E)) / (1 + dt B)`` (PhysiCell's update for one cell; PhysiCell applies it
      cell after cell, which differs at ``O(dt²)`` and depends on the order), or exactly,
      ``u ← u∞ + (u - u∞) exp(-B dt)``. So the result does not depend on thread count or on the
      order of the cells within a voxel beyond round-off of the sums, which run in row order.
    * ``V_v = h³`` in every dimension: in 1-D/2-D a voxel is a slab one voxel deep, as in
      BioFVM's 2-D meshes, so cell volumes (µm³) compare with voxel volumes. Amounts are
      ``u × µm³``; mass balance: ``Σ_v Δu_v V_v = Σ_c exchanged_c`` to round-off, where
      ``exchanged`` (amount added to the field by each cell in the step, negative for uptake)
      is returned by :meth:`SecretionUptake.step` on request.
    * Per-cell bookkeeping over several steps (the amounts inside the cells):
      :meth:`SecretionUptake.step_accumulate` takes the same step and adds each occupied voxel's
      value before the step to a per-voxel sum (``∫u dt = m1 u0 + m0`` is affine in it, with
      the step's factors); :meth:`SecretionUptake.take_exchanged` then subtracts from each
      cell's amount what it added since the last take, ``(V_c s T + e) Σdt − V_c (s + q)
      Σ∫u dt`` (one pass over the cells, in row order, for any number of steps). The field is
      updated bit for bit as by :meth:`~SecretionUptake.step`.
    * The cells are binned by voxel (a stable counting sort, O(n + voxels)) when they move
      (:meth:`SecretionUptake.bind`; split into :meth:`~SecretionUptake.bind_rates` when
      volumes or rates change and the cheap :meth:`~SecretionUptake.bind_positions` when only
      positions do, e.g. every mechanics step of a phenotype step; other fields of the same
      cells share one binning, ``like=``, or :func:`bind_positions_shared`: one binning and
      one pass over the bins for several fields, from per-cell products, optionally over the
      rows of the cells that exchange them, the same bits as binding each field over all the
      cells, whose others add exact zeros; a caller holding :class:`VoxelBins` of all the
      cells, e.g. the agent state's per-mechanics-step bins, passes them to be adopted or
      filtered to the rows instead of sorting again: the same layout, the same bits); each
      diffusion step
      then costs O(occupied voxels) (the per-voxel affine map ``u ← c1 u + c0`` is computed once
      per bind and ``dt``), parallel over voxels, each touching only its own cells.
    * Sampling: :func:`sample_values` (the value of the cell's voxel) and
      :func:`sample_gradients` (``[n, 3]``: central differences at the voxel, one-sided at the
      walls, 0 along axes one voxel long), per unit µm.
"""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np
from numba import njit, prange

from invasim.core.mesh import Mesh

SCHEMES = ("implicit", "exact")
#: occupied voxels from which the per-step update runs in parallel
PARALLEL_MIN_VOXELS = 4096
_JIT = {"cache": True, "fastmath": False}
#: bind_rates stamps (unique): bind_positions_shared's stacked products are valid for one set
_RATES_VERSIONS = itertools.count(1)


@njit(inline="always", **_JIT)
def _voxel_index(position, c, nx, ny, nz, h):
    """Flat voxel index of row ``c`` of ``position`` (µm), clipped into the mesh."""
    i = min(max(int(math.floor(position[c, 0] / h)), 0), nx - 1)
    j = min(max(int(math.floor(position[c, 1] / h)), 0), ny - 1)
    k = min(max(int(math.floor(position[c, 2] / h)), 0), nz - 1)
    return (k * ny + j) * nx + i


@njit(**_JIT)
def voxel_kernel(position, nx, ny, nz, h, out):
    """Flat voxel index ``out[n]`` of each ``position[n, 3]`` (µm), clipped into the mesh."""
    for c in range(position.shape[0]):
        out[c] = _voxel_index(position, c, nx, ny, nz, h)


@njit(inline="always", **_JIT)
def _voxel_index_dims(position, c, nx, ny, nz, h):
    """:func:`_voxel_index` of a ``[n, 1..3]`` position array (missing axes: voxel 0)."""
    d = position.shape[1]
    i = min(max(int(math.floor(position[c, 0] / h)), 0), nx - 1)
    j = min(max(int(math.floor(position[c, 1] / h)), 0), ny - 1) if d > 1 else 0
    k = min(max(int(math.floor(position[c, 2] / h)), 0), nz - 1) if d > 2 else 0
    return (k * ny + j) * nx + i


@njit(parallel=True, **_JIT)
def _voxel_par(position, nx, ny, nz, h, out):  # pragma: no cover - compiled
    for c in prange(position.shape[0]):
        out[c] = _voxel_index_dims(position, c, nx, ny, nz, h)


@njit(**_JIT)
def _voxel_ser(position, nx, ny, nz, h, out):  # pragma: no cover - compiled
    for c in range(position.shape[0]):
        out[c] = _voxel_index_dims(position, c, nx, ny, nz, h)


#: cells from which :func:`voxel_of` runs in parallel
PARALLEL_MIN_CELLS = 20000


def voxel_of(position: np.ndarray, mesh: Mesh) -> np.ndarray:
    """``[n]`` int64 flat voxel index of each ``position`` (``[n, 3]`` or ``[n, dim]``, µm)."""
    pos = np.asarray(position, dtype=np.float64)
    if pos.ndim != 2 or not 1 <= pos.shape[1] <= 3:
        raise ValueError(f"positions must be [n, 3], got shape {pos.shape}")
    out = np.empty(pos.shape[0], dtype=np.int64)
    par = pos.shape[0] >= PARALLEL_MIN_CELLS and numba.get_num_threads() > 1
    (_voxel_par if par else _voxel_ser)(pos, mesh.nx, mesh.ny, mesh.nz, float(mesh.h), out)
    return out


class VoxelBins:
    """Cells binned by voxel (a stable counting sort): the layout of :func:`bin_kernel`.

    Attributes: ``voxel [n]`` each cell's flat voxel, ``order [n]`` the cells grouped by
    voxel (row order within a voxel), ``occupied [m]`` the occupied voxels (ascending),
    ``start [m + 1]`` (bin ``b`` is ``order[start[b]:start[b + 1]]``), ``n_voxels``.
    Built once per position set and shared by the processes that bin the same cells (the
    agent state caches one per mechanics step: :meth:`invasim.agents.state.AgentState.voxel_bins`).
    """

    def __init__(self, voxel: np.ndarray, n_voxels: int) -> None:
        self.voxel = voxel
        self.n_voxels = int(n_voxels)
        self.order, self.occupied, self.start = bin_kernel(voxel, self.n_voxels)

    @property
    def n(self) -> int:
        """Number of binned cells."""
        return self.voxel.shape[0]


@njit(**_JIT)
def _filter_bins(order, occupied, start, rank, out_voxel, out_order, out_occupied,
                 out_start):  # pragma: no cover - compiled  # fmt: skip
    """The bins of the cells with ``rank >= 0`` (renumbered ``rank``), from the full bins.

    Ascending ranks of ascending rows keep each voxel's row order: the same layout as a
    counting sort of the subset. Returns ``m``.
    """
    m = 0
    p2 = 0
    for b in range(occupied.shape[0]):
        first = True
        for p in range(start[b], start[b + 1]):
            r = rank[order[p]]
            if r < 0:
                continue
            if first:
                out_occupied[m] = occupied[b]
                out_start[m] = p2
                m += 1
                first = False
            out_order[p2] = r
            out_voxel[r] = occupied[b]
            p2 += 1
    out_start[m] = p2
    return m


@njit(**_JIT)
def _sort_by_voxel(voxel, n, count, order, occupied, start):
    """Stable counting sort of rows ``0..n-1`` by ``voxel`` into caller buffers; returns ``m``.

    ``count`` (``[n_voxels + 1]``) must be all zero on entry and is left all zero; ``order``,
    ``occupied`` and ``start`` need ``n``, ``n`` and ``n + 1`` slots (see :func:`bin_kernel`).
    """
    for c in range(n):
        count[voxel[c] + 1] += 1
    # occupied voxels in ascending order, then each one's first slot in ``order``
    m = 0
    for v in range(count.shape[0] - 1):
        if count[v + 1] > 0:
            occupied[m] = v
            m += 1
    pos = 0
    for b in range(m):
        v = occupied[b]
        start[b] = pos
        cnt = count[v + 1]
        count[v + 1] = pos  # next free slot of voxel v
        pos += cnt
    start[m] = n
    for c in range(n):
        v = voxel[c]
        order[count[v + 1]] = c
        count[v + 1] += 1
    for b in range(m):
        count[occupied[b] + 1] = 0
    return m


@njit(**_JIT)
def bin_kernel(voxel, n_voxels):
    """Stable counting sort of cells by voxel.

    Returns:
        ``order[n]`` (cells grouped by voxel, in row order within a voxel), ``occupied[m]``
        (the occupied voxels, ascending) and ``start[m + 1]`` (bin ``b`` is
        ``order[start[b]:start[b + 1]]``).
    """
    n = voxel.shape[0]
    order = np.empty(n, dtype=np.int64)
    occupied = np.empty(n, dtype=np.int64)
    start = np.empty(n + 1, dtype=np.int64)
    m = _sort_by_voxel(voxel, n, np.zeros(n_voxels + 1, dtype=np.int64), order, occupied, start)
    return order, occupied[:m].copy(), start[: m + 1].copy()


@njit(**_JIT)
def _rebin_kernel(position, rows, use_rows, n, nx, ny, nz, h, count, voxel, order, occupied,
                  start):  # fmt: skip
    """:func:`voxel_kernel` then :func:`bin_kernel` into caller buffers; returns ``m``.

    Cell ``c`` is row ``rows[c]`` of ``position`` if ``use_rows``, else row ``c``.
    ``count`` (``[n_voxels + 1]``) must be all zero on entry and is left all zero.
    """
    for c in range(n):
        voxel[c] = _voxel_index(position, rows[c] if use_rows else c, nx, ny, nz, h)
    return _sort_by_voxel(voxel, n, count, order, occupied, start)


@njit(inline="always", **_JIT)
def _coef_one(b, order, start, ratio, secretion, target, uptake, export, inv_vv, A, B, E):
    a_ = 0.0
    b_ = 0.0
    e_ = 0.0
    for p in range(start[b], start[b + 1]):
        c = order[p]
        a_ += secretion[c] * target[c] * ratio[c]
        b_ += (secretion[c] + uptake[c]) * ratio[c]
        e_ += export[c] * inv_vv
    A[b] = a_
    B[b] = b_
    E[b] = e_


@njit(parallel=True, **_JIT)
def _coef_par(order, start, ratio, secretion, target, uptake, export, inv_vv, A, B, E):
    for b in prange(A.shape[0]):
        _coef_one(b, order, start, ratio, secretion, target, uptake, export, inv_vv, A, B, E)


@njit(**_JIT)
def _coef_ser(order, start, ratio, secretion, target, uptake, export, inv_vv, A, B, E):
    for b in range(A.shape[0]):
        _coef_one(b, order, start, ratio, secretion, target, uptake, export, inv_vv, A, B, E)


@njit(inline="always", **_JIT)
def _coef_many_one(b, order, start, P, A, B, E):
    for f in range(P.shape[1]):
        a_ = 0.0
        b_ = 0.0
        e_ = 0.0
        for p in range(start[b], start[b + 1]):
            c = order[p]
            a_ += P[c, f, 0]
            b_ += P[c, f, 1]
            e_ += P[c, f, 2]
        A[f, b] = a_
        B[f, b] = b_
        E[f, b] = e_


@njit(parallel=True, **_JIT)
def _coef_many_par(order, start, P, A, B, E):
    for b in prange(A.shape[1]):
        _coef_many_one(b, order, start, P, A, B, E)


@njit(**_JIT)
def _coef_many_ser(order, start, P, A, B, E):
    for b in range(A.shape[1]):
        _coef_many_one(b, order, start, P, A, B, E)


@njit(**_JIT)
def _implicit_factors(A, B, E, dt, c1, c0, m1, m0):
    """:func:`step_factors` of the implicit scheme in one pass (the same arithmetic)."""
    for b in range(A.shape[0]):
        q = 1.0 / (1.0 + B[b] * dt)
        c1[b] = q
        c0[b] = dt * (A[b] + E[b]) * q
        m1[b] = dt * q
        m0[b] = dt * c0[b]


@njit(inline="always", **_JIT)
def _apply_one(b, u, occupied, c1, c0, m1, m0, dt, want, order, start, volume, secretion,
               target, uptake, export, exchanged):  # fmt: skip
    v = occupied[b]
    u0 = u[v]
    u[v] = c1[b] * u0 + c0[b]
    if want:
        mean_u = m1[b] * u0 + m0[b]  # time integral of u over the step
        for p in range(start[b], start[b + 1]):
            c = order[p]
            exchanged[c] = (
                volume[c] * (secretion[c] * target[c] * dt - (secretion[c] + uptake[c]) * mean_u)
                + export[c] * dt
            )


@njit(parallel=True, **_JIT)
def _apply_par(u, occupied, c1, c0, m1, m0, dt, want, order, start, volume, secretion, target,
               uptake, export, exchanged):  # fmt: skip
    for b in prange(occupied.shape[0]):
        _apply_one(b, u, occupied, c1, c0, m1, m0, dt, want, order, start, volume, secretion,
                   target, uptake, export, exchanged)  # fmt: skip


@njit(**_JIT)
def _apply_ser(u, occupied, c1, c0, m1, m0, dt, want, order, start, volume, secretion, target,
               uptake, export, exchanged):  # fmt: skip
    for b in range(occupied.shape[0]):
        _apply_one(b, u, occupied, c1, c0, m1, m0, dt, want, order, start, volume, secretion,
                   target, uptake, export, exchanged)  # fmt: skip


@njit(inline="always", **_JIT)
def _accumulate_one(b, u, occupied, c1, c0, acc):
    v = occupied[b]
    u0 = u[v]
    u[v] = c1[b] * u0 + c0[b]
    acc[b] += u0  # the step's ∫u dt is m1 u0 + m0: summed at the take


@njit(parallel=True, **_JIT)
def _accumulate_par(u, occupied, c1, c0, acc):
    for b in prange(occupied.shape[0]):
        _accumulate_one(b, u, occupied, c1, c0, acc)


@njit(**_JIT)
def _accumulate_ser(u, occupied, c1, c0, acc):
    for b in range(occupied.shape[0]):
        _accumulate_one(b, u, occupied, c1, c0, acc)


@njit(**_JIT)
def _bins_of_cells(order, start, out):
    """``out[c]``: the bin (index into ``occupied``) of each cell ``c``."""
    for b in range(start.shape[0] - 1):
        for p in range(start[b], start[b + 1]):
            out[order[p]] = b


@njit(**_JIT)
def _fold_kernel(integral, acc, m1, m0, k):
    """``integral += m1 acc + k m0`` per bin (the ∫u dt of ``k`` steps), then ``acc = 0``."""
    for b in range(acc.shape[0]):
        integral[b] += m1[b] * acc[b] + k * m0[b]
        acc[b] = 0.0


@njit(**_JIT)
def _take_kernel(amounts, cell_bin, gain, loss, acc, elapsed):
    """``amounts[c] -= gain[c] elapsed − loss[c] acc[bin of c]`` for every cell, in row order."""
    for c in range(cell_bin.shape[0]):
        amounts[c] -= gain[c] * elapsed - loss[c] * acc[cell_bin[c]]


def step_factors(
    A: np.ndarray, B: np.ndarray, E: np.ndarray, dt: float, exact: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-voxel affine maps of one step: ``u1 = c1 u0 + c0`` and ``∫u dt = m1 u0 + m0``."""
    if exact:
        src = A + E
        pos = B > 0.0
        Bs = np.where(pos, B, 1.0)
        x = B * dt
        c1 = np.exp(-x)
        m1 = np.where(pos, -np.expm1(-x) / Bs, dt)
        c0 = np.where(pos, src * m1, dt * src)
        # (dt - m1) / B = dt² (x + expm1(-x)) / x², by its series for small x
        xs = np.where(x > 1e-3, x, 1.0)
        g = np.where(x > 1e-3, (xs + np.expm1(-xs)) / (xs * xs), 0.5 - x / 6.0 + x * x / 24.0)
        m0 = src * dt * dt * g
        return c1, c0, m1, m0
    m = A.shape[0]
    c1, c0, m1, m0 = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    _implicit_factors(A, B, E, float(dt), c1, c0, m1, m0)
    return c1, c0, m1, m0


class SecretionUptake:
    """Secretion, uptake and net export of the cells into one field.

    Args:
        mesh: the field's mesh.
        scheme: ``"implicit"`` (PhysiCell's, default) or ``"exact"``.
        parallel: kernel choice; ``None`` picks parallel from :data:`PARALLEL_MIN_VOXELS`
            occupied voxels with more than one thread.

    Usage: :meth:`bind` the cells' positions, volumes and rates whenever they change (they are
    copied); :meth:`step` the field once per diffusion step.
    """

    def __init__(self, mesh: Mesh, scheme: str = "implicit", parallel: bool | None = None) -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"unknown secretion scheme {scheme!r}; expected one of {SCHEMES}")
        self.mesh = mesh
        self.scheme = scheme
        self.parallel = parallel
        self.voxel_volume = float(mesh.h) ** 3
        self.n = 0
        self._count = np.zeros(mesh.n_voxels + 1, dtype=np.int64)
        self._voxel = np.empty(0, dtype=np.int64)
        self._order = np.empty(0, dtype=np.int64)
        self._occupied = np.empty(0, dtype=np.int64)
        self._start = np.zeros(1, dtype=np.int64)
        self.bind(np.zeros((0, 3)), np.zeros(0), 0.0, 0.0, 0.0)

    def bind(
        self,
        position: np.ndarray,
        volume: np.ndarray,
        secretion: np.ndarray | float,
        target: np.ndarray | float,
        uptake: np.ndarray | float,
        export: np.ndarray | float = 0.0,
        like: SecretionUptake | None = None,
    ) -> None:
        """Bind the cells' volumes and rates (:meth:`bind_rates`) and positions.

        Args:
            position: ``[n, 3]`` cell centres, µm.
            volume: ``[n]`` cell volumes, µm³.
            secretion: ``[n]`` (or scalar) secretion rates, 1/min.
            target: ``[n]`` (or scalar) secretion targets (saturation densities), field units.
            uptake: ``[n]`` (or scalar) uptake rates, 1/min.
            export: ``[n]`` (or scalar) net export rates, field units × µm³ / min.
            like: as in :meth:`bind_positions`.
        """
        self.bind_rates(volume, secretion, target, uptake, export)
        self.bind_positions(position, like)

    def bind_rates(
        self,
        volume: np.ndarray,
        secretion: np.ndarray | float,
        target: np.ndarray | float,
        uptake: np.ndarray | float,
        export: np.ndarray | float = 0.0,
    ) -> None:
        """Copy and check the cells' volumes and rates; call :meth:`bind_positions` next.

        Args: as :meth:`bind` (without the positions).
        """
        self._check_nothing_pending()
        n = np.asarray(volume).shape[0]

        def cell_array(a, name):
            a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=np.float64), (n,)))
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name} must be finite")
            return a

        self.n = n
        self.volume = cell_array(volume, "volume")
        self.secretion = cell_array(secretion, "secretion")
        self.target = cell_array(target, "target")
        self.uptake = cell_array(uptake, "uptake")
        self.export = cell_array(export, "export")
        if np.any(self.secretion < 0) or np.any(self.uptake < 0) or np.any(self.volume < 0):
            raise ValueError("secretion rates, uptake rates and volumes must be >= 0")
        self._ratio = self.volume / self.voxel_volume
        self._positions_bound = False
        self._gain = self._loss = None  # per-cell coefficients of take_exchanged, when asked
        self._products = None  # per-cell terms of A, B, E (bind_positions_shared), when asked
        self._rates_version = next(_RATES_VERSIONS)  # unique over all exchangers

    def products(self) -> np.ndarray:
        """``[n, 3]``: each cell's terms of the voxel sums ``A``, ``B``, ``E`` (module doc).

        ``s T V_c/V_v``, ``(s + q) V_c/V_v`` and ``e/V_v``, the same products the per-field
        kernel forms, so sums of them are bit for bit the same. Made once per bind_rates.
        """
        if self._products is None:
            self._products = np.stack([
                self.secretion * self.target * self._ratio,
                (self.secretion + self.uptake) * self._ratio,
                self.export * (1.0 / self.voxel_volume),
            ], axis=1)  # fmt: skip
        return self._products

    def bind_positions(self, position: np.ndarray, like: SecretionUptake | None = None) -> None:
        """Bin the cells (rates as last bound) by voxel and precompute the voxel coefficients.

        The cheap half of :meth:`bind`, for cells that moved while their volumes and rates
        stayed: one pass of compiled code over reused buffers, no per-cell checks.

        Args:
            position: ``[n, 3]`` float64 cell centres (µm), the rows of the last
                :meth:`bind_rates`.
            like: an exchanger on the same mesh just bound to these same positions (another
                field of the same cells): its binning is shared, not sorted again. It stays
                valid until ``like`` is bound again, so bind ``like`` first, then this one.
        """
        self._check_nothing_pending()
        if like is not None:
            if like.mesh != self.mesh or like.n != self.n or not like._positions_bound:
                raise ValueError("like must be bound to the same cells on the same mesh")
            self._adopt(like)
            m = self.occupied.shape[0]
        else:
            m = self._rebin(position)
        self.A, self.B, self.E = np.empty(m), np.empty(m), np.empty(m)
        kernel = _coef_par if self._parallel(m) else _coef_ser
        kernel(self.order, self.start, self._ratio, self.secretion, self.target, self.uptake,
               self.export, 1.0 / self.voxel_volume, self.A, self.B, self.E)  # fmt: skip
        self._positions_done()

    def _positions_done(self) -> None:
        """Reset what depends on the binning (the coefficients ``A``, ``B``, ``E`` are set)."""
        self._factors_dt = None
        self._positions_bound = True
        # take_exchanged's state, made when asked: per bin the sum of u before each of the
        # last ``_acc_k`` steps (all of ``_acc_dt``), and of ∫u dt folded from earlier steps
        self._acc = self._integral = None
        self._acc_k, self._acc_dt = 0, 0.0
        self._cell_bin = None  # each cell's bin
        self._elapsed = 0.0

    def _adopt(self, lead: SecretionUptake) -> None:
        """Share ``lead``'s binning (same mesh, same cells, bound first)."""
        self.voxel, self.order = lead.voxel, lead.order
        self.occupied, self.start = lead.occupied, lead.start

    def _rebin(self, position: np.ndarray, rows: np.ndarray | None = None,
               bins: VoxelBins | None = None) -> int:  # fmt: skip
        """Bin the cells at ``position`` (its ``rows``) into this exchanger's buffers.

        ``bins``: the :class:`VoxelBins` of all cells at ``position`` on this mesh, if the
        caller has them: adopted (all cells) or filtered (ascending ``rows``) instead of
        sorting again; the same layout, so the same bits.

        Returns ``m``, the number of occupied voxels.
        """
        n = self.n
        if bins is not None and bins.n_voxels == self.mesh.n_voxels and bins.n == (
                position.shape[0]):  # fmt: skip
            if rows is None and bins.n == n:
                self.voxel, self.order = bins.voxel, bins.order
                self.occupied, self.start = bins.occupied, bins.start
                return self.occupied.shape[0]
            if rows is not None and rows.shape == (n,) and rows.dtype == np.int64:
                return self._rebin_filtered(rows, bins)
        position = np.asarray(position, dtype=np.float64)
        expect = n if rows is None else position.shape[0]
        if rows is not None and (rows.shape != (n,) or rows.dtype != np.int64):
            raise ValueError(f"rows must be int64 [{n}] (as bound), got {rows.shape} {rows.dtype}")
        if position.ndim != 2 or position.shape[0] != expect or not 1 <= position.shape[1] <= 3:
            raise ValueError(f"positions must be [{expect}, 3], got {position.shape}")
        if position.shape[1] < 3:
            position = np.concatenate([position, np.zeros((expect, 3 - position.shape[1]))], axis=1)
        mesh = self.mesh
        self._grow(n)
        use_rows = rows is not None
        m = _rebin_kernel(
            np.ascontiguousarray(position), rows if use_rows else self._order[:0], use_rows,
            n, mesh.nx, mesh.ny, mesh.nz,
            float(mesh.h), self._count, self._voxel, self._order, self._occupied, self._start,
        )  # fmt: skip
        self.voxel = self._voxel[:n]
        self.order = self._order[:n]
        self.occupied = self._occupied[:m]
        self.start = self._start[: m + 1]
        return m

    def _grow(self, n: int) -> None:
        """Binning buffers for at least ``n`` cells (grown geometrically, never per step)."""
        if self._voxel.shape[0] < n:
            cap = max(n, 2 * self._voxel.shape[0])
            self._voxel = np.empty(cap, dtype=np.int64)
            self._order = np.empty(cap, dtype=np.int64)
            self._occupied = np.empty(cap, dtype=np.int64)
            self._start = np.empty(cap + 1, dtype=np.int64)

    def _rebin_filtered(self, rows: np.ndarray, bins: VoxelBins) -> int:
        """:meth:`_rebin` of ``rows`` (ascending, checked once per rows array) from ``bins``."""
        held = getattr(self, "_rank_of", None)
        if held is None or held[0] is not rows or held[1].shape[0] != bins.n:
            if rows.shape[0] > 1 and not bool(np.all(rows[1:] > rows[:-1])):
                raise ValueError("rows must be ascending to be filtered from shared bins")
            rank = np.full(bins.n, -1, dtype=np.int64)
            rank[rows] = np.arange(rows.shape[0], dtype=np.int64)
            self._rank_of = held = (rows, rank)
        n = rows.shape[0]
        self._grow(n)
        m = _filter_bins(bins.order, bins.occupied, bins.start, held[1], self._voxel,
                         self._order, self._occupied, self._start)  # fmt: skip
        self.voxel = self._voxel[:n]
        self.order = self._order[:n]
        self.occupied = self._occupied[:m]
        self.start = self._start[: m + 1]
        return m

    def _parallel(self, m: int) -> bool:
        if self.parallel is None:
            return m >= PARALLEL_MIN_VOXELS and numba.get_num_threads() > 1
        return bool(self.parallel)

    def step(self, u: np.ndarray, dt: float, exchanged: np.ndarray | None = None) -> None:
        """Apply the bound sources and sinks to ``u`` over ``dt`` min, in place.

        Args:
            u: the field, float64 C-contiguous of shape ``mesh.array_shape``.
            dt: time step, min.
            exchanged: optional ``[n]`` output: the amount (field units × µm³) each cell added
                to the field in this step (negative: taken up).
        """
        if u.shape != self.mesh.array_shape or u.dtype != np.float64 or not u.flags.c_contiguous:
            raise ValueError(f"field must be float64 C-contiguous of shape {self.mesh.array_shape}")
        if not self._positions_bound:
            raise RuntimeError("bind_rates was called without bind_positions after it")
        want = exchanged is not None
        if want and exchanged.shape != (self.n,):
            raise ValueError(f"exchanged must have shape ({self.n},), got {exchanged.shape}")
        out = exchanged if want else np.empty(0)
        dt = float(dt)
        if self._factors_dt != dt:  # once per bind and time step
            self._factors = step_factors(self.A, self.B, self.E, dt, self.scheme == "exact")
            self._factors_dt = dt
        kernel = _apply_par if self._parallel(self.occupied.shape[0]) else _apply_ser
        kernel(u.reshape(-1), self.occupied, *self._factors, dt, want, self.order, self.start,
               self.volume, self.secretion, self.target, self.uptake, self.export, out)  # fmt: skip

    def step_accumulate(self, u: np.ndarray, dt: float) -> None:
        """:meth:`step` (the same update of ``u``), keeping what the cells exchange.

        Each occupied voxel's time integral of ``u`` is added up until
        :meth:`take_exchanged`, which must come before the next bind (checked there).
        """
        if u.shape != self.mesh.array_shape or u.dtype != np.float64 or not u.flags.c_contiguous:
            raise ValueError(f"field must be float64 C-contiguous of shape {self.mesh.array_shape}")
        if not self._positions_bound:
            raise RuntimeError("bind_rates was called without bind_positions after it")
        dt = float(dt)
        if self._acc is None:
            self._acc = np.zeros(self.occupied.shape[0])
            self._integral = np.zeros(self.occupied.shape[0])
        if self._acc_k and dt != self._acc_dt:
            self._fold()  # the sums so far belong to other factors
        if self._factors_dt != dt:
            self._factors = step_factors(self.A, self.B, self.E, dt, self.scheme == "exact")
            self._factors_dt = dt
        kernel = _accumulate_par if self._parallel(self.occupied.shape[0]) else _accumulate_ser
        kernel(u.reshape(-1), self.occupied, self._factors[0], self._factors[1], self._acc)
        self._acc_k += 1
        self._acc_dt = dt
        self._elapsed += dt

    def _fold(self) -> None:
        """``Σ ∫u dt = m1 Σu0 + k m0`` of the steps summed in ``_acc`` (their factors)."""
        if self._acc_k:
            _, _, m1, m0 = self._factors  # the factors of _acc_dt: set by its last step
            _fold_kernel(self._integral, self._acc, m1, m0, float(self._acc_k))
            self._acc_k = 0

    def take_exchanged(self, amounts: np.ndarray) -> None:
        """Subtract from ``amounts`` what each cell added to the field since the last take.

        Args:
            amounts: ``[n]`` float64 (a view may be strided), field units × µm³, in the rows
                of the last bind; changed in place.
        """
        if self._acc is None or self._elapsed == 0.0:
            return
        if amounts.shape != (self.n,):
            raise ValueError(f"amounts must have shape ({self.n},), got {amounts.shape}")
        self._fold()
        if self._gain is None:  # once per bind_rates: (V s T + e) and V (s + q) per cell
            self._gain = self.volume * self.secretion * self.target + self.export
            self._loss = self.volume * (self.secretion + self.uptake)
        if self._cell_bin is None:  # once per bind_positions
            self._cell_bin = np.empty(self.n, dtype=np.int64)
            _bins_of_cells(self.order, self.start, self._cell_bin)
        _take_kernel(amounts, self._cell_bin, self._gain, self._loss, self._integral,
                     self._elapsed)  # fmt: skip
        self._integral[:] = 0.0
        self._elapsed = 0.0

    def _check_nothing_pending(self) -> None:
        if getattr(self, "_elapsed", 0.0) != 0.0:
            raise RuntimeError("step_accumulate was not followed by take_exchanged before a bind")


def bind_positions_shared(exchangers: list[SecretionUptake], position: np.ndarray,
                          rows: np.ndarray | None = None,
                          bins: VoxelBins | None = None) -> None:  # fmt: skip
    """:meth:`SecretionUptake.bind_positions` of several fields of the same cells at once.

    The exchangers (same mesh, each bound by :meth:`~SecretionUptake.bind_rates` to the same
    ``n`` cells, e.g. the rows of the cells that exchange these fields) share one binning, and
    one pass over the bins sums every field's ``A``, ``B``, ``E`` from the cells' products
    (:meth:`~SecretionUptake.products`, stacked once per bind_rates of any of them). The
    results are bit for bit those of binding each one (the same products summed in the same
    order), for a fraction of the memory traffic when there are several fields.

    Args:
        exchangers: one or more :class:`SecretionUptake`.
        position: ``[n, 3]`` cell centres, µm (the rows of the last bind_rates), or, with
            ``rows``, the centres of all cells of which ``rows`` (int64 ``[n]``) were bound.
        bins: the :class:`VoxelBins` of all the cells at ``position``, if the caller has them
            (adopted, or filtered to ``rows``, instead of sorting again).
    """
    lead = exchangers[0]
    for e in exchangers:
        e._check_nothing_pending()
        if e.mesh != lead.mesh or e.n != lead.n:
            raise ValueError("shared binding needs the same cells on the same mesh")
    m = lead._rebin(position, rows, bins)
    for e in exchangers[1:]:
        e._adopt(lead)
    key = tuple(e._rates_version for e in exchangers)
    if getattr(lead, "_shared_key", None) != key:
        lead._shared_key = key
        lead._shared_products = np.ascontiguousarray(
            np.stack([e.products() for e in exchangers], axis=1))  # [n, K, 3]
    k = len(exchangers)
    A, B, E = np.empty((k, m)), np.empty((k, m)), np.empty((k, m))
    kernel = _coef_many_par if lead._parallel(m) else _coef_many_ser
    kernel(lead.order, lead.start, lead._shared_products, A, B, E)
    for f, e in enumerate(exchangers):
        e.A, e.B, e.E = A[f], B[f], E[f]
        e._positions_done()


@njit(**_JIT)
def _gradient_kernel(u, voxel, h, out):
    nz, ny, nx = u.shape
    for c in range(voxel.shape[0]):
        v = voxel[c]
        i = v % nx
        j = (v // nx) % ny
        k = v // (nx * ny)
        for a in range(3):
            n_a = nx if a == 0 else (ny if a == 1 else nz)
            if n_a == 1:
                out[c, a] = 0.0
                continue
            idx = i if a == 0 else (j if a == 1 else k)
            lo = max(idx - 1, 0)
            hi = min(idx + 1, n_a - 1)
            if a == 0:
                du = u[k, j, hi] - u[k, j, lo]
            elif a == 1:
                du = u[k, hi, i] - u[k, lo, i]
            else:
                du = u[hi, j, i] - u[lo, j, i]
            out[c, a] = du / ((hi - lo) * h)


def sample_values(u: np.ndarray, voxel: np.ndarray) -> np.ndarray:
    """``[n]`` value of the field ``u`` (shape ``(nz, ny, nx)``) at each cell's voxel."""
    return u.reshape(-1)[voxel]


def sample_gradients(u: np.ndarray, mesh: Mesh, voxel: np.ndarray) -> np.ndarray:
    """``[n, 3]`` gradient of ``u`` (field units / µm) at each cell's voxel.

    Central differences ``(u[i+1] - u[i-1]) / 2h``, one-sided ``(u[1] - u[0]) / h`` at the walls,
    0 along axes one voxel long (missing axes included), as BioFVM's gradients.
    """
    if u.shape != mesh.array_shape:
        raise ValueError(f"field must have shape {mesh.array_shape}, got {u.shape}")
    out = np.empty((np.asarray(voxel).shape[0], 3))
    _gradient_kernel(u, np.asarray(voxel, dtype=np.int64), float(mesh.h), out)
    return out
