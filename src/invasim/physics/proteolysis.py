"""Kernels of pericellular proteolysis and matrix deposition: cells acting on their own voxel.

Contract:
    * Each cell ``i`` acts on the voxel of its centre (the voxel the secretion process binds it
      to). Its weight is its rate times ``V_i / h³`` (its volume over the voxel's: BioFVM's
      convention, ``h³`` in 2-D too, where the mesh is one voxel thick), so a cell changes the
      *amount* of matrix (``field unit · µm³``) at a rate that does not depend on the voxel
      size: a cell degrading at ``k`` removes ``k V m`` per minute from matrix of density
      ``m``; a cell depositing at ``r`` adds ``r V`` per minute.
    * :func:`accumulate` sums the weights per voxel, in row order, serially (the result does
      not depend on the thread count): ``K_v = Σ_{i in v} k_i V_i / h³`` (1/min) and
      ``D_v = Σ_{i in v} r_i V_i / h³`` (field unit/min); it records the voxels touched, so
      the reaction and the reset cost ``O(cells)``, not ``O(voxels)``.
    * :func:`react` integrates, per touched voxel and over one step ``dt`` with ``K`` and
      ``D`` held, ``dm/dt = D − s K m`` exactly (``s`` the matrix's susceptibility), kept at
      or below ``upper`` (deposition stops at the cap; degradation goes on): the time the
      voxel reaches the cap is solved for, then ``m`` stays there with the deposition just
      balancing the degradation. The amount degraded (``∫ s K m dt``, field unit) goes to a
      product at ``stoichiometry`` (``matrix + product`` conserved to round-off with
      stoichiometry 1, as :func:`invasim.agents.fields.cleave`). With ``D = 0`` the update
      is ``m ← m exp(−s K dt)`` computed as :func:`~invasim.agents.fields.cleave` does.
    * :func:`react_resisted`: the same with a per-voxel resistance (cross-linked collagen
      resists MMPs): ``s → s (1 − r c_v)``, ``c_v`` a field in [0, 1] (the cross-link
      fraction), ``r`` its strength; :func:`react` is it without one (the same bits).
    * Kernels are pure (arrays in, arrays changed in place, sums returned).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def accumulate(voxel, live, volume, k, r, inv_vv, acc_k, acc_d, touched):  # pragma: no cover
    """Sum each live cell's weights into its voxel; returns how many voxels were touched.

    Args:
        voxel: ``[n]`` int64 flat voxel index of each cell.
        live: ``[n]`` bool, which cells act.
        volume: ``[n]`` float64 cell volume, µm³.
        k: ``[n]`` float64 degradation rate of each cell, 1/min (or an empty array: none).
        r: ``[n]`` float64 deposition rate of each cell, field unit/min (or empty: none).
        inv_vv: ``1 / h³``, 1/µm³.
        acc_k, acc_d: ``[n_voxels]`` float64 accumulators, all 0 on entry; filled.
        touched: ``[n]`` int64 scratch; its first (returned) entries are the voxels touched,
            in order of first touch.
    """
    nt = 0
    has_k = k.shape[0] > 0
    has_r = r.shape[0] > 0
    for i in range(voxel.shape[0]):
        if not live[i]:
            continue
        wk = k[i] * volume[i] * inv_vv if has_k else 0.0
        wd = r[i] * volume[i] * inv_vv if has_r else 0.0
        if not (wk > 0.0 or wd > 0.0):
            continue
        v = voxel[i]
        if acc_k[v] == 0.0 and acc_d[v] == 0.0:
            touched[nt] = v
            nt += 1
        if wk > 0.0:
            acc_k[v] += wk
        if wd > 0.0:
            acc_d[v] += wd
    return nt


@njit(cache=True)
def reset(acc_k, acc_d, touched, nt):  # pragma: no cover
    """Zero the accumulators at the touched voxels (ready for the next step)."""
    for j in range(nt):
        acc_k[touched[j]] = 0.0
        acc_d[touched[j]] = 0.0


@njit(cache=True)
def _one(m0, K, D, dt, upper):  # pragma: no cover
    """``(m_new, degraded, deposited)`` of ``dm/dt = D − K m``, ``m <= upper``, over ``dt``."""
    if K <= 0.0:
        m1 = min(m0 + D * dt, upper) if D > 0.0 else m0
        return m1, 0.0, max(m1 - m0, 0.0)
    if D <= 0.0:  # plain decay, computed as fields.cleave does (matrix + product conserved)
        lost = m0 * -math.expm1(-K * dt)
        return m0 - lost, lost, 0.0
    eq = D / K
    if eq > upper:  # heading above the cap: reaches it at t* (or has)
        if m0 >= upper:
            return upper, K * upper * dt, K * upper * dt
        t_cap = math.log((eq - m0) / (eq - upper)) / K
        if t_cap < dt:
            deposited = D * t_cap + K * upper * (dt - t_cap)
            return upper, deposited - (upper - m0), deposited
    m1 = m0 + (eq - m0) * -math.expm1(-K * dt)
    return m1, D * dt - (m1 - m0), D * dt


@njit(cache=True)
def react(m, product, acc_k, acc_d, touched, nt, susceptibility, deposit, dt, upper,
          stoichiometry):  # pragma: no cover  # fmt: skip
    """Degrade (and deposit into) ``m`` at the touched voxels over ``dt``, in place.

    :func:`react_resisted` without a resistance (the same arithmetic, bit for bit).
    """
    return react_resisted(m, product, acc_k, acc_d, touched, nt, susceptibility, deposit, dt,
                          upper, stoichiometry, np.zeros(0), 0.0)  # fmt: skip


@njit(cache=True)
def react_resisted(m, product, acc_k, acc_d, touched, nt, susceptibility, deposit, dt, upper,
                   stoichiometry, resist, strength):  # pragma: no cover  # fmt: skip
    """Degrade (and deposit into) ``m`` at the touched voxels over ``dt``, in place.

    Args:
        m: ``[n_voxels]`` float64 the matrix (flat), its unit; changed in place.
        product: ``[n_voxels]`` float64 receiving ``stoichiometry`` × the amount degraded
            (flat; changed in place), or an empty array: no product.
        acc_k, acc_d: the accumulators of :func:`accumulate`.
        touched, nt: the touched voxels of :func:`accumulate`.
        susceptibility: ``s``, the matrix's factor on ``K`` (1); 0: not degraded.
        deposit: whether the cells deposit into this matrix (``D`` applies).
        dt: the step, min.
        upper: the deposition cap, field unit (``inf``: none).
        stoichiometry: product per unit of matrix degraded.
        resist: ``[n_voxels]`` float64 the resisting field ``c`` (flat; e.g. the cross-link
            fraction), or an empty array: no resistance. With one, the susceptibility at
            voxel ``v`` is ``s (1 − r c_v)``, ``c_v`` clipped to [0, 1].
        strength: ``r`` in [0, 1].

    Returns:
        ``(degraded, deposited)``: sums over the voxels, field unit (× ``h³`` for amounts).
    """
    has_p = product.shape[0] > 0
    has_r = resist.shape[0] > 0
    degraded = 0.0
    deposited = 0.0
    for j in range(nt):
        v = touched[j]
        K = susceptibility * acc_k[v]
        if has_r:
            K *= 1.0 - strength * min(max(resist[v], 0.0), 1.0)
        D = acc_d[v] if deposit else 0.0
        if not (K > 0.0 or D > 0.0):
            continue
        m1, lost, added = _one(m[v], K, D, dt, upper)
        m[v] = m1
        if has_p:
            product[v] += stoichiometry * lost
        degraded += lost
        deposited += added
    return degraded, deposited


def empty() -> np.ndarray:
    """An empty float64 array (the kernels' "none")."""
    return np.zeros(0, dtype=np.float64)
