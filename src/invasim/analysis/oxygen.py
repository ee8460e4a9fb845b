"""Steady oxygen of an oxygen-limited spheroid: a consuming rim around a necrotic core.

The radial reaction–diffusion balance behind the viable rim of a tumour spheroid (Thomlinson &
Gray 1955; Greenspan 1972), for a disc (``dim = 2``, a monolayer) or a ball (``dim = 3``) of
radius ``R`` in a far field held at ``u_wall`` on a circle / sphere of radius ``R_w``.

Contract:
    * Equation, in µm and min (oxygen in any unit, mmHg in the agent model)::

          D (u'' + (dim - 1) u' / r) = λ(r) u,     0 < r < R_w,

          λ = k_core            r < R_n         necrotic core: decay only (k), or 0
          λ = λ_eff + k         R_n < r < R     viable rim: the cells' uptake plus decay
          λ = k                 R < r < R_w     outside: decay only

      with ``u`` regular at 0, ``u(R_w) = u_wall``, and ``u`` and the flux ``D u'`` continuous
      at ``R_n`` and ``R``. In each layer ``u = a f(r/L) + b g(r/L)`` with ``L = sqrt(D/λ)``:
      ``f = I0, g = K0`` in 2-D; ``f = sinh(x)/x, g = exp(-x)/x`` in 3-D (the modified
      spherical Bessel functions); a layer with ``λ = 0`` has ``f = 1`` and ``g = ln r``
      (2-D) or ``1/r`` (3-D). The innermost layer keeps ``f`` only. The coefficients solve a
      small linear system (two continuity rows per interface, one wall row), built from
      exponentially scaled functions so that ``R / L`` of hundreds stays exact
      (:class:`RadialOxygen`).
    * Uptake of packed cells (:func:`packing_uptake`): a cell of volume ``V_c`` taking up at
      ``q`` (1/min) removes ``q V_c u`` per min (:mod:`invasim.physics.exchange`); spread over
      the area (2-D) or volume (3-D) each cell occupies, ``λ_eff = q V_c / (A_c h)`` in 2-D with
      ``A_c = (√3/2) s²`` (hexagonal packing at spacing ``s``) and ``h`` the depth of the slab
      voxels (BioFVM's 2-D convention: a 2-D voxel is ``h³``), ``λ_eff = q V_c / V_s`` in 3-D
      with ``V_s = s³/√2`` (face-centred cubic).
    * Far field (:func:`box_wall_radius`): a rectangular box with Dirichlet walls is replaced by
      the circle / sphere with the same Laplace resistance seen from the spheroid's centre:
      ``R_w = exp(Φ(x0))`` in 2-D (the conformal radius) with ``Φ`` the harmonic function equal
      to ``ln|x - x0|`` on the walls, ``R_w = 1 / Ψ(x0)`` in 3-D with ``Ψ`` harmonic and equal
      to ``1/|x - x0|`` on the walls. Exact for a point sink and pure diffusion; seen from the
      centre it is ``0.5394 a`` for a square of side ``a``, ``0.5722 a`` for a cube, ``2b/π``
      for a long strip of width ``b``. It neglects the decay outside (its length
      ``sqrt(D/k)``, 1000 µm for oxygen, exceeds the usual box) and the walls' non-circular
      shape as seen by a spheroid of finite size: for a consuming 2-D disc of 450 µm in a
      1600 µm square (400 µm in 1000 µm) the radial solution is within 0.2 % (0.8 %) of a
      finite-difference solve on the square.
    * Necrotic radius (:func:`necrotic_radius`): the ``R_n`` at which the solution with that
      core has ``u(R_n) = u_star``, by bracketed root finding (``u(R_n)`` rises with ``R_n``:
      a larger core takes up less and sits further out); 0 if even the fully consuming
      spheroid keeps ``u(0) >= u_star``, ``R`` if even a fully necrotic one has
      ``u(R) <= u_star``.
    * :func:`median_death_oxygen`: the oxygen at which half of the cells held there for ``T``
      min have died of PhysiCell's necrosis (:func:`invasim.biology.death.necrosis_rate_o2`):
      ``rate(u_star) T = ln 2``, i.e. ``u_star = thr - (thr - thr_max) ln 2 / (rate_max T)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.special import i0e, i1e, k0e, k1e


# -- the radial basis --------------------------------------------------------------------------
def _basis(dim: int, lam: float, D: float, r: np.ndarray, ref: float, kind: str):
    """Value and d/dr of a layer's basis function at ``r`` (µm), normalised at ``ref``.

    ``kind`` ``"f"`` is the growing (regular) solution divided by its value at ``ref`` (the
    layer's outer edge); ``"g"`` the decaying one divided by its value at ``ref`` (the inner
    edge). Both stay within [0, 1]-ish inside the layer, so no overflow for ``R / L`` large.
    """
    r = np.asarray(r, dtype=np.float64)
    if lam == 0.0:
        if kind == "f":
            return np.ones_like(r), np.zeros_like(r)
        if dim == 2:
            return np.log(r / ref), 1.0 / r
        return ref / r, -ref / (r * r)
    L = math.sqrt(D / lam)
    x, x0 = r / L, ref / L
    if dim == 2:
        if kind == "f":
            s = np.exp(x - x0) / i0e(x0)
            return i0e(x) * s, i1e(x) * s / L
        s = np.exp(x0 - x) / k0e(x0)
        return k0e(x) * s, -k1e(x) * s / L
    if kind == "f":
        # sinh(x)/x = e^x a(x), a = -expm1(-2x) / (2x); d/dx = e^x b(x),
        # b = ((1 + e^{-2x}) x - (1 - e^{-2x})) / (2 x²), series x/3 - x²/3 + x³/5 near 0
        def a(y):
            y = np.asarray(y, dtype=np.float64)
            ys = np.where(y > 1e-8, y, 1.0)
            return np.where(y > 1e-8, -np.expm1(-2.0 * ys) / (2.0 * ys), 1.0 - y)

        def b(y):
            y = np.asarray(y, dtype=np.float64)
            ys = np.where(y > 1e-3, y, 1.0)
            e = np.exp(-2.0 * ys)
            big = ((1.0 + e) * ys + np.expm1(-2.0 * ys)) / (2.0 * ys * ys)
            return np.where(y > 1e-3, big, y / 3.0 - y * y / 3.0 + y**3 / 5.0)

        s = np.exp(x - x0) / a(x0)
        return a(x) * s, b(x) * s / L
    # exp(-x)/x normalised at x0: (x0/x) e^{x0-x}; d/dr = -(1/L)(1 + 1/x)(x0/x) e^{x0-x}
    v = (x0 / x) * np.exp(x0 - x)
    return v, -(1.0 + 1.0 / x) * v / L


@dataclass(frozen=True)
class RadialOxygen:
    """The steady oxygen of the module's radial problem, solved exactly.

    Attributes:
        dim: 2 (disc, slab-voxel monolayer) or 3 (ball).
        radius_um: the spheroid's radius ``R``, µm.
        necrotic_radius_um: the core's radius ``R_n`` (0 <= R_n <= R), µm.
        diffusion_um2_per_min: ``D``, µm²/min.
        uptake_per_min: ``λ_eff``, the cells' uptake rate per unit of oxygen in the viable rim
            (:func:`packing_uptake`), 1/min.
        decay_per_min: ``k``, the decay everywhere, 1/min.
        wall_value: ``u_wall``, the far-field value.
        wall_radius_um: ``R_w > R`` (:func:`box_wall_radius`), µm.
        core_decay: whether the necrotic core keeps the decay ``k`` (True) or neither takes up
            nor decays (False).
    """

    dim: int
    radius_um: float
    necrotic_radius_um: float
    diffusion_um2_per_min: float
    uptake_per_min: float
    decay_per_min: float
    wall_value: float
    wall_radius_um: float
    core_decay: bool = True
    _layers: tuple = field(init=False, repr=False, compare=False)
    _coef: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        R, Rn, Rw = self.radius_um, self.necrotic_radius_um, self.wall_radius_um
        if self.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {self.dim}")
        if not (0.0 <= Rn <= R < Rw) or not R > 0:
            raise ValueError(f"need 0 <= R_n <= R < R_w and R > 0, got {Rn}, {R}, {Rw}")
        D, q, k = self.diffusion_um2_per_min, self.uptake_per_min, self.decay_per_min
        if not (D > 0 and q >= 0 and k >= 0):
            raise ValueError(f"need D > 0, uptake >= 0, decay >= 0, got {D}, {q}, {k}")
        edges = [0.0, Rn, R, Rw]
        rates = [k if self.core_decay else 0.0, q + k, k]
        layers = [
            (lo, hi, lam)
            for lo, hi, lam in zip(edges[:-1], edges[1:], rates, strict=True)
            if hi > lo
        ]
        n = 2 * len(layers) - 1
        M = np.zeros((n, n))
        rhs = np.zeros(n)
        for i in range(len(layers) - 1):  # continuity of u and u' at layers[i]'s outer edge
            r = np.array(layers[i][1])
            for side, (lo, hi, lam) in ((0, layers[i]), (1, layers[i + 1])):
                sign = 1.0 if side == 0 else -1.0
                for kind, col in self._columns(i + side, lo, hi):
                    v, d = _basis(self.dim, lam, D, r, hi if kind == "f" else lo, kind)
                    M[2 * i, col] += sign * v
                    M[2 * i + 1, col] += sign * d
        lo, hi, lam = layers[-1]
        for kind, col in self._columns(len(layers) - 1, lo, hi):
            M[n - 1, col] = _basis(self.dim, lam, D, np.array(hi), hi if kind == "f" else lo,
                                   kind)[0]  # fmt: skip
        rhs[n - 1] = self.wall_value
        object.__setattr__(self, "_layers", tuple(layers))
        object.__setattr__(self, "_coef", np.linalg.solve(M, rhs))

    @staticmethod
    def _columns(j: int, lo: float, hi: float) -> list[tuple[str, int]]:
        """The unknowns of layer ``j``: ``f`` then ``g`` (the innermost has ``f`` only)."""
        return [("f", 0)] if j == 0 else [("f", 2 * j - 1), ("g", 2 * j)]

    def _eval(self, r: np.ndarray | float, which: int) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)
        if np.any(r < 0) or np.any(r > self.wall_radius_um * (1 + 1e-12)):
            raise ValueError(f"r must lie in [0, {self.wall_radius_um}] µm")
        out = np.zeros(r.shape)
        D = self.diffusion_um2_per_min
        for j, (lo, hi, lam) in enumerate(self._layers):
            last = j == len(self._layers) - 1
            sel = (r >= lo) & ((r < hi) | (last & (r <= hi * (1 + 1e-12))))
            if not np.any(sel):
                continue
            rr = r[sel]
            acc = np.zeros(rr.shape)
            for kind, col in self._columns(j, lo, hi):
                acc += self._coef[col] * _basis(self.dim, lam, D, rr,
                                                hi if kind == "f" else lo, kind)[which]  # fmt: skip
            out[sel] = acc
        return out

    def __call__(self, r: np.ndarray | float) -> np.ndarray:
        """``u(r)``, ``r`` in µm (0 <= r <= R_w)."""
        return self._eval(r, 0)

    def gradient(self, r: np.ndarray | float) -> np.ndarray:
        """``du/dr`` (units per µm) at ``r`` (µm)."""
        return self._eval(r, 1)


# -- helpers -----------------------------------------------------------------------------------
def packing_uptake(
    uptake_per_min: float,
    cell_volume_um3: float,
    spacing_um: float,
    dim: int,
    voxel_um: float | None = None,
) -> float:
    """``λ_eff`` (1/min) of cells packed hexagonally (2-D) or fcc (3-D) at a spacing.

    Args:
        uptake_per_min: a cell's uptake rate ``q``, 1/min.
        cell_volume_um3: the cell's volume ``V_c``, µm³.
        spacing_um: nearest-neighbour distance ``s``, µm.
        dim: 2 or 3.
        voxel_um: 2-D only: the voxel side ``h`` (the slab depth), µm.

    Returns:
        ``q V_c / ((√3/2) s² h)`` in 2-D, ``q V_c / (s³/√2)`` in 3-D.
    """
    if dim == 2:
        if voxel_um is None or not voxel_um > 0:
            raise ValueError("2-D uptake needs the voxel (slab) depth voxel_um > 0")
        return uptake_per_min * cell_volume_um3 / (math.sqrt(3.0) / 2.0 * spacing_um**2 * voxel_um)
    if dim == 3:
        return uptake_per_min * cell_volume_um3 / (spacing_um**3 / math.sqrt(2.0))
    raise ValueError(f"dim must be 2 or 3, got {dim}")


def box_wall_radius(
    extent_um: Sequence[float],
    center_um: Sequence[float] | None = None,
    modes: int | None = None,
) -> float:
    """Radius (µm) of the circle / sphere equivalent to a box's Dirichlet walls (module docs).

    The harmonic extension of ``ln|x - x0|`` (2-D) or ``1/|x - x0|`` (3-D) from the walls is a
    sum over the walls of sine series (``sinh`` in the normal direction), evaluated at ``x0``;
    the series converge like ``exp(-π n d / a)``, ``d`` the distance from ``x0`` to the walls.

    Args:
        extent_um: the box ``[0, a] × [0, b] (× [0, c])``, 2 or 3 sides, µm.
        center_um: the spheroid's centre ``x0`` (default the box's centre), µm.
        modes: sine modes per direction (default: per axis, enough for round-off).

    Returns:
        ``R_w``: ``exp(Φ(x0))`` in 2-D, ``1 / Ψ(x0)`` in 3-D.
    """
    a = np.asarray(extent_um, dtype=np.float64)
    dim = a.size
    if dim not in (2, 3) or np.any(a <= 0):
        raise ValueError(f"extent needs 2 or 3 positive sides, got {extent_um}")
    x0 = a / 2 if center_um is None else np.asarray(center_um, dtype=np.float64)
    d_min = float(np.min(np.minimum(x0, a - x0)))
    if x0.shape != a.shape or not d_min > 0:
        raise ValueError(f"centre {center_um} must lie strictly inside the box {extent_um}")
    # per axis: modes until exp(-π n d_min / a_j) is round-off; composite Gauss nodes (16 per
    # panel) resolving both the highest mode and the wall data's peak (width ~ d_min)
    n_ax = [modes or int(math.ceil(40.0 * a[j] / (math.pi * d_min))) + 2 for j in range(dim)]
    t, w = np.polynomial.legendre.leggauss(16)
    nodes, weights = [], []
    for j in range(dim):
        panels = max(4, int(math.ceil((4 * n_ax[j] + 8 * a[j] / d_min) / 16)))
        edges = np.linspace(0.0, a[j], panels + 1)
        half = 0.5 * np.diff(edges)[:, None]
        nodes.append((edges[:-1, None] + half * (t + 1.0)).ravel())
        weights.append((half * w).ravel())
    total = 0.0
    for ax in range(dim):
        others = [j for j in range(dim) if j != ax]
        n = [np.arange(1, n_ax[j] + 1) for j in others]
        # sine coefficients (2/a_j) ∫ sin(n π y / a_j) data dy
        proj = [np.sin(np.pi * np.outer(n[i], nodes[j]) / a[j]) * weights[j] * (2.0 / a[j])
                for i, j in enumerate(others)]  # fmt: skip
        at_x0 = [np.sin(np.pi * n[i] * x0[j] / a[j]) for i, j in enumerate(others)]
        grids = np.meshgrid(*[nodes[j] for j in others], indexing="ij")
        wave = np.meshgrid(*[n[i] / a[j] for i, j in enumerate(others)], indexing="ij")
        kappa = np.pi * np.sqrt(sum(k * k for k in wave))
        for wall in (0.0, a[ax]):
            d2 = (wall - x0[ax]) ** 2 + sum((grids[i] - x0[j]) ** 2 for i, j in enumerate(others))
            data = 0.5 * np.log(d2) if dim == 2 else 1.0 / np.sqrt(d2)
            c = proj[0] @ data if dim == 2 else proj[0] @ data @ proj[1].T
            # the mode's sinh(κ (a - dist)) / sinh(κ a), dist from this wall to x0; no overflow
            dist = abs(wall - x0[ax])
            ratio = np.exp(-kappa * dist) * np.expm1(-2 * kappa * (a[ax] - dist)) / np.expm1(
                -2 * kappa * a[ax]
            )
            value = at_x0[0] if dim == 2 else np.outer(at_x0[0], at_x0[1])
            total += float(np.sum(c * ratio * value))
    return math.exp(total) if dim == 2 else 1.0 / total


def median_death_oxygen(
    time_min: float,
    max_rate_per_min: float = 1.0 / 360.0,
    threshold: float = 5.0,
    max_threshold: float = 2.5,
) -> float:
    """Oxygen at which half of the cells held there for ``time_min`` died of necrosis.

    PhysiCell's rate ``max_rate clip((thr - u) / (thr - thr_max), 0, 1)`` held for ``T`` kills
    ``1 - exp(-rate T)``; half at ``rate T = ln 2``.

    Args:
        time_min: ``T``, min.
        max_rate_per_min: the necrosis rate at and below ``max_threshold``, 1/min.
        threshold: oxygen below which necrosis starts.
        max_threshold: oxygen at which the rate is maximal.

    Returns:
        ``u_star = thr - (thr - thr_max) ln 2 / (max_rate T)``.

    Raises:
        ValueError: if even the maximal rate kills fewer than half in ``T``.
    """
    frac = math.log(2.0) / (max_rate_per_min * time_min) if max_rate_per_min * time_min else 2.0
    if frac > 1.0:
        raise ValueError(
            f"necrosis at up to {max_rate_per_min:g}/min kills fewer than half in {time_min:g} min"
        )
    return threshold - (threshold - max_threshold) * frac


def necrotic_radius(
    u_star: float,
    dim: int,
    radius_um: float,
    diffusion_um2_per_min: float,
    uptake_per_min: float,
    decay_per_min: float,
    wall_value: float,
    wall_radius_um: float,
    core_decay: bool = True,
) -> float:
    """The core radius ``R_n`` (µm) whose steady solution has ``u(R_n) = u_star``.

    Args:
        u_star: the oxygen at the edge of the necrotic core (:func:`median_death_oxygen`).
        dim, radius_um, diffusion_um2_per_min, uptake_per_min, decay_per_min, wall_value,
            wall_radius_um, core_decay: as :class:`RadialOxygen`.

    Returns:
        ``R_n`` in [0, R]; the viable rim is ``R - R_n`` thick.
    """
    kw = dict(
        dim=dim, radius_um=radius_um, diffusion_um2_per_min=diffusion_um2_per_min,
        uptake_per_min=uptake_per_min, decay_per_min=decay_per_min, wall_value=wall_value,
        wall_radius_um=wall_radius_um, core_decay=core_decay,
    )  # fmt: skip

    def excess(rn: float) -> float:
        return float(RadialOxygen(necrotic_radius_um=rn, **kw)(rn)) - u_star

    if excess(0.0) >= 0.0:
        return 0.0
    if excess(radius_um) <= 0.0:
        return float(radius_um)
    return float(brentq(excess, 0.0, radius_um, xtol=1e-9 * radius_um, rtol=1e-12))
