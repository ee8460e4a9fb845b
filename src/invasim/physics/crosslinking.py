"""Kernels of matrix cross-linking (lysyl oxidase) and of the stiffness it gives the matrix.

Contract:
    * Cells raise the cross-link fraction ``c`` (0..1) of the voxel of their centre, weighted
      by ``V_i / h³`` as the proteolysis kernels do (:mod:`invasim.physics.proteolysis`:
      :func:`~invasim.physics.proteolysis.accumulate` sums ``K_v = Σ_{i in v} k_i V_i / h³``
      per voxel, serially in row order, and records the voxels touched).
    * :func:`crosslink` integrates, per touched voxel and over one step ``dt`` with ``K``
      held, ``dc/dt = K (1 − c)`` exactly: ``c ← 1 − (1 − c) e^{−K dt}``, computed as
      ``c + (1 − c)(1 − e^{−K dt})`` with ``expm1`` (no cancellation for small ``K dt``),
      kept at or below ``upper`` (1 for a fraction). Returns the sum of the increments.
    * :func:`crosslink_by_field`: the same law driven by a secreted enzyme field ``e`` (LOX is
      a secreted amine oxidase): ``dc/dt = k e (1 − c)`` in every voxel, exact with ``e``
      held over the step; it composes exactly with the cells' part.
    * :func:`stiffness` writes, per voxel, ``E = E_ref (ρ / ρ_ref)^n (1 + g c)`` (the density
      clipped at 0 below), with ``c`` clipped to [0, 1]. Pure: arrays in, ``out`` written.
    * Kernels are pure and serial (thread-count independent).
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def crosslink(c, acc_k, touched, nt, dt, upper):  # pragma: no cover
    """Raise the cross-link fraction at the touched voxels over ``dt``, in place.

    Args:
        c: ``[n_voxels]`` float64 cross-link fraction (flat); changed in place.
        acc_k: ``[n_voxels]`` float64 ``K`` per voxel, 1/min (from ``accumulate``).
        touched, nt: the touched voxels of ``accumulate``.
        dt: the step, min.
        upper: the largest value ``c`` may take (1 for a fraction).

    Returns:
        The sum over the voxels of the increments of ``c`` (× ``h³`` for µm³ of matrix made
        fully cross-linked).
    """
    added = 0.0
    for j in range(nt):
        v = touched[j]
        K = acc_k[v]
        if not K > 0.0:
            continue
        c0 = c[v]
        c1 = c0 + (1.0 - c0) * -math.expm1(-K * dt)
        if c1 > upper:
            c1 = upper
        if c1 < c0:  # an initial value above the cap stays where it is
            c1 = c0
        c[v] = c1
        added += c1 - c0
    return added


@njit(cache=True)
def stiffness(rho, c, e_ref, inv_rho_ref, exponent, gain, out):  # pragma: no cover
    """``out = E_ref (ρ/ρ_ref)^n (1 + g c)`` per voxel (flat arrays of one length).

    Args:
        rho: ``[n_voxels]`` float64 matrix density (its unit); values < 0 count as 0.
        c: ``[n_voxels]`` float64 cross-link fraction, clipped to [0, 1].
        e_ref: ``E_ref``, the stiffness at the reference density without cross-links, kPa.
        inv_rho_ref: ``1 / ρ_ref``.
        exponent: ``n``.
        gain: ``g``, the relative stiffening of a fully cross-linked matrix.
        out: ``[n_voxels]`` float64, written (kPa).
    """
    for v in range(rho.shape[0]):
        r = rho[v] * inv_rho_ref
        if not r > 0.0:
            out[v] = 0.0
            continue
        x = c[v]
        if x < 0.0:
            x = 0.0
        elif x > 1.0:
            x = 1.0
        out[v] = e_ref * r**exponent * (1.0 + gain * x)


@njit(cache=True)
def crosslink_by_field(c, e, k_dt, upper):  # pragma: no cover
    """Raise ``c`` everywhere by a secreted enzyme field: ``dc/dt = k e (1 − c)``, in place.

    Exact per voxel over the step with ``e`` held: ``c ← c + (1 − c)(1 − e^{−k e dt})``;
    negative ``e`` (round-off of a diffused field) counts as 0. The cells' part
    (:func:`crosslink`) composes with it exactly (both multiply ``1 − c`` by an exponential).

    Args:
        c: ``[n_voxels]`` float64 cross-link fraction (flat); changed in place.
        e: ``[n_voxels]`` float64 the enzyme field (flat), its unit.
        k_dt: ``k dt``, the rate per enzyme unit times the step, 1/(enzyme unit).
        upper: the largest value ``c`` may take.

    Returns:
        The sum over the voxels of the increments of ``c``.
    """
    added = 0.0
    for v in range(c.shape[0]):
        x = k_dt * e[v]
        if not x > 0.0:
            continue
        c0 = c[v]
        c1 = c0 + (1.0 - c0) * -math.expm1(-x)
        if c1 > upper:
            c1 = upper
        if c1 < c0:
            c1 = c0
        c[v] = c1
        added += c1 - c0
    return added
