"""Advective transport of a density: chemotaxis/haptotaxis and density-dependent diffusion.

Contract:
    * Fields are float64 C-contiguous arrays of shape ``mesh.array_shape``, updated in place.
    * Both operators are conservative cell-centred finite volumes with closed walls: every
      face flux is computed once per face (with the same operands from both sides) and leaves
      one voxel exactly as it enters the other, so ``sum(u) h^dim`` changes by round-off only.
    * Both are explicit and sub-step internally, deterministically (the number of sub-steps
      depends only on the inputs), so that each sub-step is stable and keeps ``u >= 0``;
      they return the number of sub-steps used.
    * Results are bit-identical whatever the Numba thread count.

Units: ``chi`` in µm²/(min · unit of s); ``coef`` in µm²/min; ``dt`` in min; ``h`` in µm.
"""

from __future__ import annotations

import math

import numpy as np

from invasim.core.mesh import Mesh
from invasim.physics import _kernels as K


def _check(name: str, a: np.ndarray, mesh: Mesh) -> None:
    if a.shape != mesh.array_shape or a.dtype != np.float64 or not a.flags.c_contiguous:
        raise ValueError(
            f"{name} must be float64 C-contiguous of shape {mesh.array_shape}, "
            f"got {a.dtype} {a.shape}"
        )


def _work(u: np.ndarray, work: np.ndarray | None) -> np.ndarray:
    if work is None:
        return np.empty_like(u)
    if work.shape != u.shape or work.dtype != np.float64 or not work.flags.c_contiguous:
        raise ValueError("work must be a float64 C-contiguous array shaped like u")
    return work


def _substeps(dt: float, dt_limit: float) -> int:
    if not dt > 0.0:
        raise ValueError(f"dt must be > 0, got {dt}")
    if math.isinf(dt_limit):
        return 1
    return max(1, math.ceil(dt / dt_limit))


def taxis_dt_limit(chi: float, s: np.ndarray, mesh: Mesh) -> float:
    """Largest ``dt`` (min) for which one upwind taxis step keeps ``u >= 0`` for this ``s``.

    The face velocity is ``v = chi (s_R - s_L) / h``; a voxel loses at most ``2 dim`` outflows of
    ``|v| dt / h`` times its content, so the step is positive when the CFL number
    ``max|v| dt / h <= 1 / (2 dim)``: ``dt <= h² / (2 dim |chi| max|s_R - s_L|)``.
    ``inf`` when ``chi == 0`` or ``s`` is uniform.
    """
    _check("s", s, mesh)
    ds = K.max_abs_step(s)
    if chi == 0.0 or ds == 0.0:
        return math.inf
    return mesh.h**2 / (2.0 * mesh.dim * abs(chi) * ds)


def taxis_step(
    u: np.ndarray,
    chi: float,
    s: np.ndarray,
    mesh: Mesh,
    dt: float,
    work: np.ndarray | None = None,
) -> int:
    """Advance ``du/dt = -div(chi u grad s)`` by ``dt``, in place.

    Conservative first-order upwind finite volumes (the face takes ``u`` from the voxel the
    velocity ``chi grad s`` leaves), zero flux through the walls. ``s`` is held fixed over the
    step. The step is cut into ``n = ceil(dt / taxis_dt_limit)`` equal sub-steps, so every
    sub-step has CFL number ``<= 1/(2 dim)`` and keeps ``u >= 0``.

    Args:
        u: density, ``[nz, ny, nx]`` float64, updated in place.
        chi: taxis coefficient, µm²/(min · unit of s); positive moves up the gradient of ``s``.
        s: attractant field, same shape as ``u``.
        mesh: the mesh.
        dt: time step, min.
        work: optional scratch array shaped like ``u`` (avoids one allocation per call).

    Returns:
        The number of sub-steps used.
    """
    _check("u", u, mesh)
    n = _substeps(dt, taxis_dt_limit(chi, s, mesh))
    if chi == 0.0:
        return n
    a = chi * (dt / n) / mesh.h**2
    return _ping_pong(K.taxis_substep, u, s, a, n, _work(u, work))


def nonlinear_diffusion_step(
    u: np.ndarray,
    coef: np.ndarray,
    mesh: Mesh,
    dt: float,
    work: np.ndarray | None = None,
) -> int:
    """Advance ``du/dt = div(coef grad u)`` by ``dt``, in place, explicitly.

    The face coefficient is the arithmetic mean of the two voxels' ``coef``; zero flux through
    the walls. The step is cut into ``n`` equal sub-steps with
    ``dt / n <= h² / (2 dim max(coef))``, which keeps it stable and ``u >= 0``.

    Args:
        u: density, ``[nz, ny, nx]`` float64, updated in place.
        coef: diffusion coefficient per voxel (>= 0), µm²/min, same shape; fixed over the step.
        mesh: the mesh.
        dt: time step, min.
        work: optional scratch array shaped like ``u``.

    Returns:
        The number of sub-steps used.
    """
    _check("u", u, mesh)
    _check("coef", coef, mesh)
    cmin, cmax = K.value_range(coef)
    if not cmin >= 0.0:
        raise ValueError(f"coef must be non-negative (and not NaN), min is {cmin}")
    limit = math.inf if cmax == 0.0 else mesh.h**2 / (2.0 * mesh.dim * cmax)
    n = _substeps(dt, limit)
    if cmax == 0.0:
        return n
    a = (dt / n) / mesh.h**2
    return _ping_pong(K.nonlinear_substep, u, coef, a, n, _work(u, work))


def _ping_pong(kernel, u: np.ndarray, aux: np.ndarray, a: float, n: int, work: np.ndarray) -> int:
    """Run ``n`` sub-steps alternating between ``u`` and ``work``; the result ends in ``u``."""
    src, dst = u, work
    for _ in range(n):
        kernel(dst, src, aux, a)
        src, dst = dst, src
    if src is not u:
        np.copyto(u, src)
    return n
