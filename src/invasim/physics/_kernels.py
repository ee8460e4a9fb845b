"""Raw Numba kernels of the field solvers (diffusion sweeps, taxis, nonlinear diffusion).

Contract:
    * Every kernel works in place (or src -> dst) on float64 C-contiguous arrays. The sweeps
      allocate nothing (scratch rows are passed in, one per Numba thread); the reductions
      allocate one value per line.
    * Parallel loops (``prange``) run over independent lines or blocks of lines; no two work
      items write the same element and there is no parallel reduction into a shared
      accumulator, so results are bit-identical whatever the thread count.
    * ``fastmath`` is off: the rounding of every operation is fixed, which is what makes the
      conservation and determinism tests meaningful.

Tridiagonal systems come pre-factorised by :func:`thomas_factor`. For the symmetric constant
off-diagonal matrices of the Laplacian (``-a`` on both off-diagonals) the Thomas algorithm reduces
to two coefficients per row: ``m_i = 1 / (b_i + a * c'_{i-1})`` and ``g_i = a * m_i``, with

    forward:   y_i = m_i d_i + g_i y_{i-1}
    backward:  x_i = y_i + g_i x_{i+1}

Each line sweep computes the right-hand side ``d`` on the fly (backward Euler: ``d = u``;
Crank–Nicolson: ``d = e_i u_i + w (u_{i-1} + u_{i+1})``), scaled by a factor folded into ``m``
(the exact decay factor on the first swept axis) plus a per-row source ``q`` (Dirichlet faces).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

#: lines interleaved by the contiguous-axis (x) sweep to hide the recurrence latency
X_LINES = 8
#: width (in doubles) of the column strips processed by a strided-axis (y, z) sweep
STRIP = 128

_JIT = {"cache": True, "fastmath": False}


def thomas_factor(b: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Factorise the tridiagonal matrix with diagonal ``b`` and ``-a`` on both off-diagonals.

    Args:
        b: diagonal, shape ``[n]``; the matrix must be diagonally dominant (``b_i >= 2a`` inside).
        a: minus the off-diagonal value (>= 0).

    Returns:
        ``(m, g)``, each shape ``[n]``: ``m_i`` the reciprocal pivots, ``g_i = a * m_i``.
    """
    n = b.shape[0]
    m = np.empty(n)
    g = np.empty(n)
    cprev = 0.0  # c'_{i-1} = -a m_{i-1}; pivot = b_i - (-a) c'_{i-1} = b_i - a^2 m_{i-1}
    for i in range(n):
        m[i] = 1.0 / (b[i] - a * cprev)
        g[i] = a * m[i]
        cprev = g[i]
    return m, g


@njit(**_JIT)
def thomas_solve(m, g, d):
    """Solve one factorised system in place: ``d`` (shape ``[n]``) becomes the solution."""
    n = d.shape[0]
    d[0] = m[0] * d[0]
    for i in range(1, n):
        d[i] = m[i] * d[i] + g[i] * d[i - 1]
    for i in range(n - 2, -1, -1):
        d[i] = d[i] + g[i] * d[i + 1]


@njit(**_JIT)
def _first(r, m0, q0, e0, w, cn):
    # row 0 of the forward pass; returns (y_0, original u_0)
    t = r[0]
    d = e0 * t + w * r[1] if cn else t
    p = m0 * d + q0
    r[0] = p
    return p, t


@njit(**_JIT)
def _fwd(r, i, mi, gi, p):
    # interior forward row, backward Euler (d = u)
    p = mi * r[i] + gi * p
    r[i] = p
    return p


@njit(**_JIT)
def _fwd_cn(r, i, mi, gi, ei, w, p, o):
    # interior forward row, Crank–Nicolson: o is the original u_{i-1}
    t = r[i]
    p = mi * (ei * t + w * (o + r[i + 1])) + gi * p
    r[i] = p
    return p, t


@njit(**_JIT)
def _last(r, n, mn, gn, qn, en, w, cn, p, o):
    # row n-1 of the forward pass
    t = r[n - 1]
    d = en * t + w * o if cn else t
    p = (mn * d + qn) + gn * p
    r[n - 1] = p
    return p


@njit(**_JIT)
def _bwd(r, i, gi, x):
    x = r[i] + gi * x
    r[i] = x
    return x


@njit(**_JIT)
def _solve_line(r, m, g, q, e, w, cn):
    # one line on its own (the remainder of the 8-line blocks); same arithmetic as the blocks
    n = r.shape[0]
    p, o = _first(r, m[0], q[0], e[0], w, cn)
    if cn:
        for i in range(1, n - 1):
            p, o = _fwd_cn(r, i, m[i], g[i], e[i], w, p, o)
    else:
        for i in range(1, n - 1):
            p = _fwd(r, i, m[i], g[i], p)
    x = _last(r, n, m[n - 1], g[n - 1], q[n - 1], e[n - 1], w, cn, p, o)
    for i in range(n - 2, -1, -1):
        x = _bwd(r, i, g[i], x)


@njit(**_JIT)
def _lines8(u2, l0, m, g, q, e, w, cn):
    # lines l0 .. l0+7 of u2 advanced together, carried values in registers (see
    # sweep_contiguous); written out by hand because Numba has no register arrays
    n = u2.shape[1]
    r0, r1, r2, r3 = u2[l0], u2[l0 + 1], u2[l0 + 2], u2[l0 + 3]
    r4, r5, r6, r7 = u2[l0 + 4], u2[l0 + 5], u2[l0 + 6], u2[l0 + 7]
    m0, q0, e0 = m[0], q[0], e[0]
    p0, o0 = _first(r0, m0, q0, e0, w, cn)
    p1, o1 = _first(r1, m0, q0, e0, w, cn)
    p2, o2 = _first(r2, m0, q0, e0, w, cn)
    p3, o3 = _first(r3, m0, q0, e0, w, cn)
    p4, o4 = _first(r4, m0, q0, e0, w, cn)
    p5, o5 = _first(r5, m0, q0, e0, w, cn)
    p6, o6 = _first(r6, m0, q0, e0, w, cn)
    p7, o7 = _first(r7, m0, q0, e0, w, cn)
    if cn:
        for i in range(1, n - 1):
            mi, gi, ei = m[i], g[i], e[i]
            p0, o0 = _fwd_cn(r0, i, mi, gi, ei, w, p0, o0)
            p1, o1 = _fwd_cn(r1, i, mi, gi, ei, w, p1, o1)
            p2, o2 = _fwd_cn(r2, i, mi, gi, ei, w, p2, o2)
            p3, o3 = _fwd_cn(r3, i, mi, gi, ei, w, p3, o3)
            p4, o4 = _fwd_cn(r4, i, mi, gi, ei, w, p4, o4)
            p5, o5 = _fwd_cn(r5, i, mi, gi, ei, w, p5, o5)
            p6, o6 = _fwd_cn(r6, i, mi, gi, ei, w, p6, o6)
            p7, o7 = _fwd_cn(r7, i, mi, gi, ei, w, p7, o7)
    else:
        for i in range(1, n - 1):
            mi, gi = m[i], g[i]
            p0 = _fwd(r0, i, mi, gi, p0)
            p1 = _fwd(r1, i, mi, gi, p1)
            p2 = _fwd(r2, i, mi, gi, p2)
            p3 = _fwd(r3, i, mi, gi, p3)
            p4 = _fwd(r4, i, mi, gi, p4)
            p5 = _fwd(r5, i, mi, gi, p5)
            p6 = _fwd(r6, i, mi, gi, p6)
            p7 = _fwd(r7, i, mi, gi, p7)
    mn, gn, qn, en = m[n - 1], g[n - 1], q[n - 1], e[n - 1]
    p0 = _last(r0, n, mn, gn, qn, en, w, cn, p0, o0)
    p1 = _last(r1, n, mn, gn, qn, en, w, cn, p1, o1)
    p2 = _last(r2, n, mn, gn, qn, en, w, cn, p2, o2)
    p3 = _last(r3, n, mn, gn, qn, en, w, cn, p3, o3)
    p4 = _last(r4, n, mn, gn, qn, en, w, cn, p4, o4)
    p5 = _last(r5, n, mn, gn, qn, en, w, cn, p5, o5)
    p6 = _last(r6, n, mn, gn, qn, en, w, cn, p6, o6)
    p7 = _last(r7, n, mn, gn, qn, en, w, cn, p7, o7)
    for i in range(n - 2, -1, -1):
        gi = g[i]
        p0 = _bwd(r0, i, gi, p0)
        p1 = _bwd(r1, i, gi, p1)
        p2 = _bwd(r2, i, gi, p2)
        p3 = _bwd(r3, i, gi, p3)
        p4 = _bwd(r4, i, gi, p4)
        p5 = _bwd(r5, i, gi, p5)
        p6 = _bwd(r6, i, gi, p6)
        p7 = _bwd(r7, i, gi, p7)


@njit(**_JIT)
def _lines(u2, b, m, g, q, e, w, cn):
    # work item b of a contiguous sweep: an 8-line block, or one of the remainder lines
    nl = u2.shape[0]
    nb = nl // X_LINES
    if b < nb:
        _lines8(u2, b * X_LINES, m, g, q, e, w, cn)
    else:
        _solve_line(u2[nb * X_LINES + b - nb], m, g, q, e, w, cn)


@njit(parallel=True, **_JIT)
def sweep_contiguous(u2, m, g, q, e, w, cn):
    """Solve along the last (contiguous) axis of ``u2`` (shape ``[lines, n]``, n >= 2), in place.

    The recurrence runs along the contiguous axis, so a single line is latency-bound (each row
    waits for the previous multiply-add). Eight lines are advanced together with their carried
    values in scalar registers, which fills the pipeline; the explicit Crank–Nicolson half is
    fused into the forward pass (the original ``u_{i-1}`` is carried in a register too).

    Args:
        u2: field viewed as independent lines, ``[lines, n]``.
        m: reciprocal pivots (times the folded scale factor), ``[n]``.
        g: ``a * m_i`` of the unscaled factorisation, ``[n]``.
        q: Dirichlet source of the end rows, already multiplied by the pivot, ``[n]``; the
            interior entries are zero and not read.
        e: Crank–Nicolson explicit diagonal, ``[n]`` (unused for backward Euler).
        w: Crank–Nicolson explicit off-diagonal.
        cn: True for Crank–Nicolson, False for backward Euler.
    """
    nl = u2.shape[0]
    for b in prange(nl // X_LINES + nl % X_LINES):
        _lines(u2, b, m, g, q, e, w, cn)


@njit(**_JIT)
def _strip(u3, o, i0, i1, m, g, q, e, w, cn, prev):
    # lines along axis 1 of u3[o], columns i0:i1 (see sweep_strided); prev: [>= i1 - i0]
    n = u3.shape[1]
    wd = i1 - i0
    if cn:
        cur = u3[o, 0, i0:i1]
        nxt = u3[o, 1, i0:i1]
        m0, q0, e0 = m[0], q[0], e[0]
        for i in range(wd):
            t = cur[i]
            prev[i] = t
            cur[i] = m0 * (e0 * t + w * nxt[i]) + q0
        for j in range(1, n - 1):
            mj, gj, qj, ej = m[j], g[j], q[j], e[j]
            cur = u3[o, j, i0:i1]
            nxt = u3[o, j + 1, i0:i1]
            low = u3[o, j - 1, i0:i1]
            for i in range(wd):
                t = cur[i]
                d = ej * t + w * (prev[i] + nxt[i])
                prev[i] = t
                cur[i] = (mj * d + qj) + gj * low[i]
        mj, gj, qj, ej = m[n - 1], g[n - 1], q[n - 1], e[n - 1]
        cur = u3[o, n - 1, i0:i1]
        low = u3[o, n - 2, i0:i1]
        for i in range(wd):
            d = ej * cur[i] + w * prev[i]
            cur[i] = (mj * d + qj) + gj * low[i]
    else:
        m0, q0 = m[0], q[0]
        cur = u3[o, 0, i0:i1]
        for i in range(wd):
            cur[i] = m0 * cur[i] + q0
        for j in range(1, n):
            mj, gj, qj = m[j], g[j], q[j]
            cur = u3[o, j, i0:i1]
            low = u3[o, j - 1, i0:i1]
            for i in range(wd):
                cur[i] = (mj * cur[i] + qj) + gj * low[i]
    for j in range(n - 2, -1, -1):
        gj = g[j]
        cur = u3[o, j, i0:i1]
        up = u3[o, j + 1, i0:i1]
        for i in range(wd):
            cur[i] = cur[i] + gj * up[i]


@njit(parallel=True, **_JIT)
def sweep_strided(u3, m, g, q, e, w, cn, scratch):
    """Solve along the middle axis of ``u3`` (shape ``[outer, n, inner]``, n >= 2), in place.

    Lines run along axis 1; each work item takes one ``outer`` slab and a strip of ``STRIP``
    contiguous ``inner`` columns, so every recurrence step is a contiguous row operation
    (written on 1-D row views, which LLVM vectorises) and the strip stays in cache between the
    forward and the backward pass. ``scratch`` (``[threads, STRIP]``, one row per Numba thread)
    holds the original previous row for the Crank–Nicolson explicit half.
    Other arguments as in :func:`sweep_contiguous` (here ``q`` is read on every row).
    """
    no, n, ni = u3.shape
    nbi = (ni + STRIP - 1) // STRIP
    for it in prange(no * nbi):
        o = it // nbi
        i0 = (it % nbi) * STRIP
        i1 = min(i0 + STRIP, ni)
        _strip(u3, o, i0, i1, m, g, q, e, w, cn, scratch[numba.get_thread_id()])


@njit(parallel=True, **_JIT)
def sweep_xy_planes(u, mx, gx, qx, ex, wx, my, gy, qy, ey, wy, cn, scratch):
    """Sweep every z-plane of ``u`` (``[nz, ny, nx]``, nx, ny >= 2) along x then y, in place.

    Equivalent to :func:`sweep_contiguous` over all rows followed by :func:`sweep_strided` over
    all planes (same arithmetic, bit-identical results), but each plane is swept along x and
    then along y while it is still in cache: one pass over memory instead of two. Arguments
    per axis as in :func:`sweep_contiguous`.
    """
    nz, ny, nx = u.shape
    nbl = ny // X_LINES + ny % X_LINES
    for k in prange(nz):
        plane = u[k]
        for b in range(nbl):
            _lines(plane, b, mx, gx, qx, ex, wx, cn)
        prev = scratch[numba.get_thread_id()]
        for i0 in range(0, nx, STRIP):
            _strip(u, k, i0, min(i0 + STRIP, nx), my, gy, qy, ey, wy, cn, prev)


@njit(parallel=True, **_JIT)
def scale(u2, f):
    """Multiply every element of ``u2`` (shape ``[lines, n]``) by ``f``, in place."""
    nl, n = u2.shape
    for ln in prange(nl):
        for i in range(n):
            u2[ln, i] *= f


@njit(parallel=True, **_JIT)
def explicit_step(u, u0, r, f, dirichlet, gval, active):
    """Forward-Euler diffusion step ``u <- f * (u0 + r * lap_h u0)``, ``r = D dt / h^2``.

    Args:
        u: output field, ``[nz, ny, nx]``.
        u0: copy of the field at the start of the step, same shape.
        r: ``D dt / h^2``.
        f: exact decay factor ``exp(-decay dt)``.
        dirichlet: True for Dirichlet walls (ghost ``2 g - u``), False for no-flux (ghost ``u``).
        gval: Dirichlet value ``g``.
        active: per axis (x, y, z) whether the axis exists (``[3]`` bool).
    """
    nz, ny, nx = u.shape
    for kj in prange(nz * ny):
        k = kj // ny
        j = kj % ny
        for i in range(nx):
            c = u0[k, j, i]
            lap = 0.0
            for ax in range(3):
                if not active[ax]:
                    continue
                if ax == 0:
                    lo_ok = i > 0
                    hi_ok = i < nx - 1
                    lo = u0[k, j, i - 1] if lo_ok else c
                    hi = u0[k, j, i + 1] if hi_ok else c
                elif ax == 1:
                    lo_ok = j > 0
                    hi_ok = j < ny - 1
                    lo = u0[k, j - 1, i] if lo_ok else c
                    hi = u0[k, j + 1, i] if hi_ok else c
                else:
                    lo_ok = k > 0
                    hi_ok = k < nz - 1
                    lo = u0[k - 1, j, i] if lo_ok else c
                    hi = u0[k + 1, j, i] if hi_ok else c
                if dirichlet:
                    if not lo_ok:
                        lo = 2.0 * gval - c
                    if not hi_ok:
                        hi = 2.0 * gval - c
                lap += (lo - c) + (hi - c)
            u[k, j, i] = f * (c + r * lap)


@njit(**_JIT)
def _taxis_flux(a, s_lo, s_hi, u_lo, u_hi):
    # flux from the low-index voxel to the high-index one, upwind in the face velocity;
    # both voxels sharing a face call this with the same operands, so it is bit-identical
    v = a * (s_hi - s_lo)
    return v * u_lo if v > 0.0 else v * u_hi


@njit(parallel=True, **_JIT)
def taxis_substep(dst, src, s, a):
    """One upwind step ``dst = src - div(F)``, ``F = a * grad_h(s) * upwind(src)``, walls closed.

    ``a = chi * dt / h^2``; axes of length 1 have no faces.
    """
    nz, ny, nx = src.shape
    for kj in prange(nz * ny):
        k = kj // ny
        j = kj % ny
        for i in range(nx):
            c = src[k, j, i]
            sc = s[k, j, i]
            net = 0.0
            if i > 0:
                net += _taxis_flux(a, s[k, j, i - 1], sc, src[k, j, i - 1], c)
            if i < nx - 1:
                net -= _taxis_flux(a, sc, s[k, j, i + 1], c, src[k, j, i + 1])
            if j > 0:
                net += _taxis_flux(a, s[k, j - 1, i], sc, src[k, j - 1, i], c)
            if j < ny - 1:
                net -= _taxis_flux(a, sc, s[k, j + 1, i], c, src[k, j + 1, i])
            if k > 0:
                net += _taxis_flux(a, s[k - 1, j, i], sc, src[k - 1, j, i], c)
            if k < nz - 1:
                net -= _taxis_flux(a, sc, s[k + 1, j, i], c, src[k + 1, j, i])
            dst[k, j, i] = c + net


@njit(**_JIT)
def _nl_flux(a, c_lo, c_hi, u_lo, u_hi):
    # flux from the low-index voxel to the high-index one, face coefficient = arithmetic mean
    return a * (0.5 * (c_lo + c_hi)) * (u_lo - u_hi)


@njit(parallel=True, **_JIT)
def nonlinear_substep(dst, src, coef, a):
    """One explicit step ``dst = src + a * div_h(coef_face grad_h src)``, walls closed.

    ``a = dt / h^2``; the face coefficient is the mean of the two voxels' ``coef``.
    """
    nz, ny, nx = src.shape
    for kj in prange(nz * ny):
        k = kj // ny
        j = kj % ny
        for i in range(nx):
            c = src[k, j, i]
            cc = coef[k, j, i]
            net = 0.0
            if i > 0:
                net += _nl_flux(a, coef[k, j, i - 1], cc, src[k, j, i - 1], c)
            if i < nx - 1:
                net -= _nl_flux(a, cc, coef[k, j, i + 1], c, src[k, j, i + 1])
            if j > 0:
                net += _nl_flux(a, coef[k, j - 1, i], cc, src[k, j - 1, i], c)
            if j < ny - 1:
                net -= _nl_flux(a, cc, coef[k, j + 1, i], c, src[k, j + 1, i])
            if k > 0:
                net += _nl_flux(a, coef[k - 1, j, i], cc, src[k - 1, j, i], c)
            if k < nz - 1:
                net -= _nl_flux(a, cc, coef[k + 1, j, i], c, src[k + 1, j, i])
            dst[k, j, i] = c + net


@njit(parallel=True, **_JIT)
def max_abs_step(s):
    """Largest ``|s[p+1] - s[p]|`` between face neighbours along any axis of ``s`` (``[nz,ny,nx]``).

    Per-line maxima are written to a private array and combined serially (max is exact, but
    keeping reductions out of ``prange`` keeps the rule simple).
    """
    nz, ny, nx = s.shape
    line_max = np.zeros(nz * ny)
    for kj in prange(nz * ny):
        k = kj // ny
        j = kj % ny
        mx = 0.0
        for i in range(nx):
            c = s[k, j, i]
            if i < nx - 1:
                mx = max(mx, abs(s[k, j, i + 1] - c))
            if j < ny - 1:
                mx = max(mx, abs(s[k, j + 1, i] - c))
            if k < nz - 1:
                mx = max(mx, abs(s[k + 1, j, i] - c))
        line_max[kj] = mx
    out = 0.0
    for p in range(nz * ny):
        out = max(out, line_max[p])
    return out


@njit(parallel=True, **_JIT)
def value_range(c):
    """Smallest and largest element of ``c`` (``[nz, ny, nx]``), per-line then serially."""
    nz, ny, nx = c.shape
    lo = np.empty(nz * ny)
    hi = np.empty(nz * ny)
    for kj in prange(nz * ny):
        row = c[kj // ny, kj % ny]
        a = row[0]
        b = row[0]
        for i in range(1, nx):
            a = min(a, row[i])
            b = max(b, row[i])
        lo[kj] = a
        hi[kj] = b
    return lo.min(), hi.max()
