"""The matrix as a mechanical medium for crawling cells: pure kernels.

Contract:
    * The matrix is given per voxel by a density ``ρ`` (dimensionless, 1 = the scenario's
      reference matrix), optionally an anisotropy ``a ∈ [0, 1]`` and a fibre orientation
      ``f`` (an unsigned direction: ``f`` and ``-f`` are the same fibres; a zero vector is "no
      orientation yet"). A cell reads fibres, anisotropy and the density gradient at the
      voxel that holds its centre, and the density for its speed factor at its front, the
      voxel of ``x + r d`` (``r`` its radius, ``d`` its direction): a cell facing a wall of
      small pores stops at it and moves again once it turns away (read at the centre, a
      cell whose centre entered a blocked voxel would stay there for ever).
    * Speed factor ``φ = T(ρ) · S(ρ)`` (:func:`speed_factors`):

      - steric hindrance ``S``: the pore cross-section ``A_p = A_1 / ρ`` (``A_1`` the pore
        cross-section at density 1; a fibre network's mesh size scales as ``ρ^-1/2``, so its
        pore area as ``1/ρ``) against the cell's nuclear cross-section ``A_n``:
        ``S = clip((A_p − 0.1 A_n) / (0.9 A_n), 0, 1)``: full speed at ``A_p >= A_n``, falling
        linearly with ``A_p`` to 0 at 10 % of ``A_n`` (Wolf et al. 2013). ``A_n = 0``: no
        hindrance (``S = 1``).
      - traction ``T`` (too loose: nothing to pull on), per cell type, :data:`MODES`:
        ``none`` ``T = 1``; ``triangle`` (Metzcar et al. 2025) 0 at ``ρ <= ρ_lo``, rising
        linearly to 1 at ``ρ_opt``, falling linearly to 0 at ``ρ >= ρ_hi``; ``hill``
        ``T = ρ^n / (K^n + ρ^n)`` (adhesion sites saturate; with ``S`` the product is
        biphasic, Zaman et al. 2006).

    * Direction (:func:`ecm_velocity_kernel`), for a live cell with ``migration speed`` ``s >
      0`` and stored motility direction ``d`` (unit): fibre reading (Metzcar et al. 2025)
      ``d' = (1 − γ) d + γ (d·f̂) f̂`` with ``γ = clip(σ a, 0, 1)``, ``σ`` the cell's ``fibre
      following`` — the same as their ``(1 − γ)(d·d⊥) d⊥ + (d·f̂) f̂``; ``|d'| <= 1``, so a
      cell crossing aligned fibres slows (as their speed ``|d'|``). Haptotaxis adds the
      drift ``χ ∇ρ`` (``χ`` the ``haptotactic response``, µm²/min; Anderson–Chaplain's
      ``−∇·(χ n ∇f)``), ``∇ρ`` by central differences at the voxel (one-sided at walls).
      The motile velocity becomes ``v_m = φ (s d' + χ ∇ρ)``: the kernel adds
      ``v_m − s d`` to the velocity (motility added ``s d`` before), so passive velocities
      are untouched. It stores ``v_m`` and the voxel per cell for the remodelling pass.
    * Remodelling (:func:`remodel_kernel`), after every cell has read (each voxel's cells in
      row order, so results do not depend on the thread count: serially, or grouped by voxel
      with the voxels in parallel): per mechanics step a cell travels
      ``ℓ = |v_m| dt`` (µm) along ``u = v_m / |v_m|``; in its voxel, exactly for ``ℓ``:
      ``a ← 1 − (1 − a) e^{−r_a ℓ}`` (``da/dℓ = r_a (1 − a)``) and ``f`` turns toward ``u``
      (``f`` flipped to ``f·u >= 0`` first): ``f ← normalise(f + k (u − f))``,
      ``k = 1 − e^{−r_f (1 − a) ℓ}`` (``a`` before the update; Metzcar et al.: ``df/dt =
      r_f s (1 − a)(u − f)``, per µm); a zero ``f`` becomes ``u``. The density relaxes toward
      a per-type target at a per-type rate per minute present, ``ρ ← ρ* + (ρ − ρ*) e^{−r dt}``.
    * Fields are ``(nz, ny, nx)`` float64 C-contiguous arrays; missing ones are passed as
      ``(1, 1, 1)`` dummies with a flag. No allocation inside the kernels. The velocity pass
      is a parallel loop over independent cells (the same result on any number of threads);
      the remodelling pass groups the cells by voxel (a serial, stable counting sort) and
      runs the voxels in parallel, or runs serially (small cases), with the same bits.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_JIT = {"cache": True, "fastmath": False}
#: traction modes per cell type (index = code)
MODES = ("none", "triangle", "hill")


@njit(inline="always", **_JIT)
def _voxel(px, py, pz, nx, ny, nz, h):
    i = min(max(int(math.floor(px / h)), 0), nx - 1)
    j = min(max(int(math.floor(py / h)), 0), ny - 1)
    k = min(max(int(math.floor(pz / h)), 0), nz - 1)
    return i, j, k


@njit(inline="always", **_JIT)
def _traction(rho, mode, lo, opt, hi, half, power):
    if mode == 0:
        return 1.0
    if mode == 1:
        if rho <= lo or rho >= hi:
            return 0.0
        if rho <= opt:
            return (rho - lo) / (opt - lo)
        return (hi - rho) / (hi - opt)
    if rho <= 0.0:
        return 0.0
    x = (rho / half) ** power
    return x / (1.0 + x)


@njit(inline="always", **_JIT)
def _steric(rho, nuclear, pore_unit):
    if not nuclear > 0.0:
        return 1.0
    if not rho > 0.0:
        return 1.0
    pore = pore_unit / rho
    s = (pore - 0.1 * nuclear) / (0.9 * nuclear)
    return min(max(s, 0.0), 1.0)


@njit(**_JIT)
def _factors_kernel(rho, ctype, mode, lo, opt, hi, half, power, nuclear, pore_unit,
                    traction, steric):  # pragma: no cover - compiled  # fmt: skip
    for c in range(rho.shape[0]):
        t = ctype[c]
        traction[c] = _traction(rho[c], mode[t], lo[t], opt[t], hi[t], half[t], power[t])
        steric[c] = _steric(rho[c], nuclear[t], pore_unit)


def speed_factors(rho, ctype, table, pore_unit):
    """Traction ``T`` and steric ``S`` factors (module contract) of densities ``rho``.

    Args:
        rho: ``[n]`` densities (1).
        ctype: ``[n]`` int cell type of each entry.
        table: :class:`TypeTable` of the cell types.
        pore_unit: ``A_1``, the pore cross-section at density 1 (µm²).

    Returns:
        ``(T, S)``, two ``[n]`` float64 arrays in ``[0, 1]``.
    """
    rho = np.ascontiguousarray(rho, dtype=np.float64)
    ctype = np.ascontiguousarray(ctype, dtype=np.int64)
    t, s = np.empty(rho.shape[0]), np.empty(rho.shape[0])
    _factors_kernel(rho, ctype, table.mode, table.lo, table.opt, table.hi, table.half,
                    table.power, table.nuclear, float(pore_unit), t, s)  # fmt: skip
    return t, s


class TypeTable:
    """Per-type parameters of the kernels (``[T]`` arrays).

    Attributes:
        mode: int64 traction mode (index in :data:`MODES`).
        lo, opt, hi: triangle corners (1). half, power: Hill ``K`` (1) and ``n``.
        nuclear: nuclear cross-section ``A_n`` (µm²; 0: no steric hindrance).
        target, relax: density target (1) and relaxation rate (1/min; 0: none).
    """

    def __init__(self, mode, lo, opt, hi, half, power, nuclear, target=None, relax=None):
        f = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        self.mode = np.ascontiguousarray(mode, dtype=np.int64)
        self.lo, self.opt, self.hi = f(lo), f(opt), f(hi)
        self.half, self.power, self.nuclear = f(half), f(power), f(nuclear)
        n = self.mode.shape[0]
        self.target = f(np.zeros(n) if target is None else target)
        self.relax = f(np.zeros(n) if relax is None else relax)
        #: ``[T, 7]`` mode, lo, opt, hi, half, power, nuclear (one argument for the kernel)
        self.packed = np.ascontiguousarray(np.stack(
            [self.mode.astype(np.float64), self.lo, self.opt, self.hi, self.half, self.power,
             self.nuclear], axis=1))  # fmt: skip


@njit(parallel=True, **_JIT)
def _velocity(position, radius, velocity, direction, dead, ctype, speed, follow, hapto, rho,
              aniso, fx, fy, fz, has_fibres, has_hapto, tp, pore_unit, nx, ny, nz, h, dim, vm,
              vox):  # pragma: no cover - compiled  # fmt: skip
    # one loop body (no per-cell helper: inlining a helper of this many arguments made the
    # loop 6x slower); cells are independent, so prange gives the same result on any threads
    for c in prange(position.shape[0]):
        vm[c, 0] = 0.0
        vm[c, 1] = 0.0
        vm[c, 2] = 0.0
        i, j, k = _voxel(position[c, 0], position[c, 1], position[c, 2], nx, ny, nz, h)
        vox[c] = (k * ny + j) * nx + i
        s = speed[c]
        if dead[c] != 0 or not s > 0.0:
            continue
        t = ctype[c]
        dx = direction[c, 0]
        dy = direction[c, 1]
        dz = direction[c, 2] if dim == 3 else 0.0
        # the matrix the cell pushes into: at its front, one radius ahead along d
        rad = radius[c]
        fi, fj, fk = _voxel(position[c, 0] + rad * dx, position[c, 1] + rad * dy,
                            position[c, 2] + rad * dz, nx, ny, nz, h)  # fmt: skip
        r = rho[fk, fj, fi]
        phi = _traction(r, int(tp[t, 0]), tp[t, 1], tp[t, 2], tp[t, 3], tp[t, 4],
                        tp[t, 5]) * _steric(r, tp[t, 6], pore_unit)  # fmt: skip
        ex, ey, ez = dx, dy, dz
        if has_fibres:
            g = follow[c] * aniso[k, j, i]
            if g > 0.0:
                g = min(g, 1.0)
                ax = fx[k, j, i]
                ay = fy[k, j, i]
                az = fz[k, j, i] if dim == 3 else 0.0
                nf = math.sqrt(ax * ax + ay * ay + az * az)
                if nf > 0.0:
                    ax, ay, az = ax / nf, ay / nf, az / nf
                    c2 = g * (dx * ax + dy * ay + dz * az)
                    ex = (1.0 - g) * dx + c2 * ax
                    ey = (1.0 - g) * dy + c2 * ay
                    ez = (1.0 - g) * dz + c2 * az
        vx, vy, vz = s * ex, s * ey, s * ez
        if has_hapto:
            chi = hapto[c]
            if chi != 0.0:
                for a in range(dim):
                    n_a = nx if a == 0 else (ny if a == 1 else nz)
                    if n_a == 1:
                        continue
                    idx = i if a == 0 else (j if a == 1 else k)
                    lo_ = max(idx - 1, 0)
                    hi_ = min(idx + 1, n_a - 1)
                    if a == 0:
                        du = rho[k, j, hi_] - rho[k, j, lo_]
                    elif a == 1:
                        du = rho[k, hi_, i] - rho[k, lo_, i]
                    else:
                        du = rho[hi_, j, i] - rho[lo_, j, i]
                    gr = chi * du / ((hi_ - lo_) * h)
                    if a == 0:
                        vx += gr
                    elif a == 1:
                        vy += gr
                    else:
                        vz += gr
        vx *= phi
        vy *= phi
        vz *= phi
        vm[c, 0] = vx
        vm[c, 1] = vy
        vm[c, 2] = vz
        velocity[c, 0] += vx - s * dx
        velocity[c, 1] += vy - s * dy
        if dim == 3:
            velocity[c, 2] += vz - s * dz


def ecm_velocity_kernel(position, radius, velocity, direction, dead, ctype, speed, follow, hapto,
                        rho, aniso, fibres, table, pore_unit, mesh, vm, vox):  # fmt: skip
    """Reshape the motile velocities by the matrix (module contract), in place.

    Args:
        position: ``[n, 3]`` µm. radius: ``[n]`` µm (the front is one radius ahead).
        velocity: ``[n, 3]`` µm/min, changed in place.
        direction: ``[n, 3]`` the stored unit motility directions (may be a strided view).
        dead: ``[n]`` int8. ctype: ``[n]`` int cell types.
        speed: ``[n]`` migration speed (µm/min), the one motility used this step.
        follow: ``[n]`` fibre following (1) or None. hapto: ``[n]`` haptotactic response
            (µm²/min) or None.
        rho: ``(nz, ny, nx)`` density (1). aniso: anisotropy field or None (no fibres).
        fibres: tuple of 2 (2-D) or 3 orientation fields, or None.
        table: :class:`TypeTable`. pore_unit: ``A_1`` (µm²). mesh: the fields' mesh.
        vm: ``[>= n, 3]`` float64 scratch, receives the motile velocities ``v_m``.
        vox: ``[>= n]`` int64 scratch, receives each cell's flat voxel index.
    """
    n = position.shape[0]
    dummy = np.zeros((1, 1, 1))
    has_fibres = aniso is not None and fibres is not None
    fz = fibres[2] if has_fibres and len(fibres) > 2 else dummy
    has_hapto = hapto is not None
    zero = np.zeros(1)
    _velocity(position[:n], radius, velocity, direction, dead, ctype, speed,
           follow if follow is not None else zero, hapto if has_hapto else zero, rho,
           aniso if has_fibres else dummy, fibres[0] if has_fibres else dummy,
           fibres[1] if has_fibres else dummy, fz, has_fibres, has_hapto, table.packed,
           float(pore_unit), mesh.nx, mesh.ny, mesh.nz, float(mesh.h), int(mesh.dim),
           vm, vox)  # fmt: skip


@njit(**_JIT)
def _remodel(dead, ctype, vm, vox, r_f, r_a, has_fibres, rho, aniso, fx, fy, fz, target,
             relax, has_density, dt, dim):  # pragma: no cover - compiled  # fmt: skip
    rf = rho.reshape(-1)
    af = aniso.reshape(-1)
    xf = fx.reshape(-1)
    yf = fy.reshape(-1)
    zf = fz.reshape(-1)
    for c in range(dead.shape[0]):
        if dead[c] != 0:
            continue
        v = vox[c]
        if has_density:
            t = ctype[c]
            if relax[t] > 0.0:
                rf[v] = target[t] + (rf[v] - target[t]) * math.exp(-relax[t] * dt)
        if not has_fibres:
            continue
        ra = r_a[c]
        rr = r_f[c]
        if not (ra > 0.0 or rr > 0.0):
            continue
        ux = vm[c, 0]
        uy = vm[c, 1]
        uz = vm[c, 2] if dim == 3 else 0.0
        speed = math.sqrt(ux * ux + uy * uy + uz * uz)
        if not speed > 0.0:
            continue
        ux, uy, uz = ux / speed, uy / speed, uz / speed
        ell = speed * dt
        a = af[v]
        if rr > 0.0:
            ax = xf[v]
            ay = yf[v]
            az = zf[v] if dim == 3 else 0.0
            nf = math.sqrt(ax * ax + ay * ay + az * az)
            if nf > 0.0:
                ax, ay, az = ax / nf, ay / nf, az / nf
                if ax * ux + ay * uy + az * uz < 0.0:  # fibres are unsigned
                    ax, ay, az = -ax, -ay, -az
                k = -math.expm1(-rr * max(1.0 - a, 0.0) * ell)
                ax += k * (ux - ax)
                ay += k * (uy - ay)
                az += k * (uz - az)
                nf = math.sqrt(ax * ax + ay * ay + az * az)
                if nf > 0.0:
                    ax, ay, az = ax / nf, ay / nf, az / nf
                else:  # u exactly opposite f and k = 1/2 cannot happen after the flip
                    ax, ay, az = ux, uy, uz
            else:
                ax, ay, az = ux, uy, uz
            xf[v] = ax
            yf[v] = ay
            if dim == 3:
                zf[v] = az
        if ra > 0.0:
            af[v] = 1.0 - (1.0 - a) * math.exp(-ra * ell)


@njit(**_JIT)
def _group_by_voxel(dead, ctype, vox, r_f, r_a, has_fibres, relax, has_density, slot, occ,
                    off, order):  # pragma: no cover - compiled  # fmt: skip
    """Counting sort of the cells that can remodel by voxel, stable (row order per voxel).

    ``slot`` ``[n_voxels]`` is -1 on entry and on exit. Fills ``occ[:m]`` (the voxels with
    such cells, in order of first appearance), ``off[:m + 1]`` and ``order`` (the cells of
    voxel ``occ[g]`` are ``order[off[g]:off[g + 1]]``, in row order); returns ``m``.
    """
    m = 0
    for c in range(dead.shape[0]):
        if dead[c] != 0:
            continue
        if not ((has_density and relax[ctype[c]] > 0.0)
                or (has_fibres and (r_a[c] > 0.0 or r_f[c] > 0.0))):  # fmt: skip
            continue
        v = vox[c]
        g = slot[v]
        if g < 0:
            g = m
            slot[v] = g
            occ[g] = v
            off[g + 1] = 0
            m += 1
        off[g + 1] += 1
    off[0] = 0
    for g in range(m):
        off[g + 1] += off[g]
    for c in range(dead.shape[0]):  # scatter in row order: stable
        if dead[c] != 0:
            continue
        if not ((has_density and relax[ctype[c]] > 0.0)
                or (has_fibres and (r_a[c] > 0.0 or r_f[c] > 0.0))):  # fmt: skip
            continue
        g = slot[vox[c]]
        order[off[g]] = c
        off[g] += 1
    for g in range(m - 1, -1, -1):  # back to the starts
        off[g + 1] = off[g]
    off[0] = 0
    for g in range(m):
        slot[occ[g]] = -1
    return m


@njit(parallel=True, **_JIT)
def _remodel_grouped(occ, off, order, m, dead, ctype, vm, r_f, r_a, has_fibres, rho, aniso,
                     fx, fy, fz, target, relax, has_density, dt,
                     dim):  # pragma: no cover - compiled  # fmt: skip
    # the serial pass's per-cell body, run voxel by voxel: the cells of one voxel in row order
    # (the same sequence of updates as the serial pass, so the same bits), voxels in parallel;
    # the groups may hold cells that do not remodel (all the cells of shared bins): skipped
    rf = rho.reshape(-1)
    af = aniso.reshape(-1)
    xf = fx.reshape(-1)
    yf = fy.reshape(-1)
    zf = fz.reshape(-1)
    for g in prange(m):
        v = occ[g]
        for q in range(off[g], off[g + 1]):
            c = order[q]
            if dead[c] != 0:
                continue
            if has_density:
                t = ctype[c]
                if relax[t] > 0.0:
                    rf[v] = target[t] + (rf[v] - target[t]) * math.exp(-relax[t] * dt)
            if not has_fibres:
                continue
            ra = r_a[c]
            rr = r_f[c]
            if not (ra > 0.0 or rr > 0.0):
                continue
            ux = vm[c, 0]
            uy = vm[c, 1]
            uz = vm[c, 2] if dim == 3 else 0.0
            speed = math.sqrt(ux * ux + uy * uy + uz * uz)
            if not speed > 0.0:
                continue
            ux, uy, uz = ux / speed, uy / speed, uz / speed
            ell = speed * dt
            a = af[v]
            if rr > 0.0:
                ax = xf[v]
                ay = yf[v]
                az = zf[v] if dim == 3 else 0.0
                nf = math.sqrt(ax * ax + ay * ay + az * az)
                if nf > 0.0:
                    ax, ay, az = ax / nf, ay / nf, az / nf
                    if ax * ux + ay * uy + az * uz < 0.0:  # fibres are unsigned
                        ax, ay, az = -ax, -ay, -az
                    k = -math.expm1(-rr * max(1.0 - a, 0.0) * ell)
                    ax += k * (ux - ax)
                    ay += k * (uy - ay)
                    az += k * (uz - az)
                    nf = math.sqrt(ax * ax + ay * ay + az * az)
                    if nf > 0.0:
                        ax, ay, az = ax / nf, ay / nf, az / nf
                    else:  # u exactly opposite f and k = 1/2 cannot happen after the flip
                        ax, ay, az = ux, uy, uz
                else:
                    ax, ay, az = ux, uy, uz
                xf[v] = ax
                yf[v] = ay
                if dim == 3:
                    zf[v] = az
            if ra > 0.0:
                af[v] = 1.0 - (1.0 - a) * math.exp(-ra * ell)


class RemodelScratch:
    """Reused arrays of the parallel remodelling pass (grown geometrically, never per step)."""

    def __init__(self) -> None:
        self.slot = np.full(0, -1, dtype=np.int64)
        self.cells = np.zeros(0, dtype=np.int64)  # occ, off, order: [n], [n + 1], [n]

    def arrays(self, n: int, n_voxels: int):
        """``(slot [n_voxels] all -1, occ [n], off [n + 1], order [n])``."""
        if self.slot.shape[0] != n_voxels:
            self.slot = np.full(n_voxels, -1, dtype=np.int64)
        if self.cells.shape[0] < 3 * n + 1:
            self.cells = np.zeros(3 * max(1024, 2 * n) + 1, dtype=np.int64)
        m = (self.cells.shape[0] - 1) // 3
        return self.slot, self.cells[:m], self.cells[m : 2 * m + 1], self.cells[2 * m + 1 :]


def remodel_kernel(dead, ctype, vm, vox, realign, anisotropy_rate, rho, aniso, fibres,
                   table, dt, dim, parallel=False, scratch=None, bins=None):  # fmt: skip
    """Cells remodel the matrix of their voxel (module contract), in place.

    Args:
        dead: ``[n]`` int8. ctype: ``[n]`` int cell types.
        vm, vox: the motile velocities and voxels of :func:`ecm_velocity_kernel`.
        realign: ``[n]`` fibre realignment rate ``r_f`` (1/µm) or None.
        anisotropy_rate: ``[n]`` anisotropy rate ``r_a`` (1/µm) or None.
        rho: density field, changed where a type relaxes it. aniso, fibres: the anisotropy
            and orientation fields, changed, or None.
        table: :class:`TypeTable` (density target and relaxation rate per type).
        dt: mechanics step (min). dim: 2 or 3.
        parallel: the cells grouped by voxel (a stable counting sort), the voxels in
            parallel, each voxel's cells in row order: the serial pass's updates in the same
            order per voxel, so the same bits on any number of threads.
        scratch: :class:`RemodelScratch` reused between calls (parallel; None: a new one).
        bins: parallel: the cells already grouped by the voxel of their centre (an object with
            ``occupied``, ``start``, ``order`` as :class:`invasim.physics.exchange.VoxelBins`,
            of these ``n`` cells at the positions that gave ``vox``), used instead of grouping
            again (the same per-voxel row order, so the same bits).
    """
    n = dead.shape[0]
    dummy = np.zeros((1, 1, 1))
    has_fibres = aniso is not None and fibres is not None and (
        realign is not None or anisotropy_rate is not None
    )
    zero = np.zeros(n)
    fz = fibres[2] if has_fibres and len(fibres) > 2 else dummy
    r_f = realign if realign is not None else zero
    r_a = anisotropy_rate if anisotropy_rate is not None else zero
    has_density = bool(np.any(table.relax > 0.0))
    fa = aniso if has_fibres else dummy
    fx = fibres[0] if has_fibres else dummy
    fy = fibres[1] if has_fibres else dummy
    if not parallel:
        _remodel(dead, ctype, vm, vox, r_f, r_a, has_fibres, rho, fa, fx, fy, fz,
                 table.target, table.relax, has_density, float(dt), int(dim))  # fmt: skip
        return
    if bins is not None and bins.order.shape[0] == n:
        occ, off, order = bins.occupied, bins.start, bins.order
        m = occ.shape[0]
    else:
        scratch = scratch if scratch is not None else RemodelScratch()
        slot, occ, off, order = scratch.arrays(n, rho.size)
        m = _group_by_voxel(dead, ctype, vox, r_f, r_a, has_fibres, table.relax, has_density,
                            slot, occ, off, order)  # fmt: skip
    if m:
        _remodel_grouped(occ, off, order, m, dead, ctype, vm, r_f, r_a, has_fibres, rho, fa, fx,
                         fy, fz, table.target, table.relax, has_density, float(dt),
                         int(dim))  # fmt: skip


def random_orientations(shape, dim, seed, stream):
    """Uniformly random unit fibre orientations per voxel, keyed by ``(seed, voxel)``.

    Returns ``dim`` float64 arrays of ``shape`` (``(nz, ny, nx)``): in the plane in 2-D, on
    the sphere in 3-D. Uses :func:`invasim.core.rng.uniforms` with the flat voxel index as
    the id, so the same seed gives the same fibres on any machine.
    """
    from invasim.core.rng import uniforms

    v = np.arange(int(np.prod(shape)), dtype=np.int64)
    phi = 2.0 * np.pi * uniforms(seed, 0, v, stream, 0)
    if dim == 3:
        z = 2.0 * uniforms(seed, 0, v, stream, 1) - 1.0
        s = np.sqrt(np.maximum(0.0, 1.0 - z * z))
        out = (s * np.cos(phi), s * np.sin(phi), z)
    else:
        out = (np.cos(phi), np.sin(phi))
    return tuple(np.ascontiguousarray(a.reshape(shape)) for a in out)
