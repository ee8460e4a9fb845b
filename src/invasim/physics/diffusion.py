"""Diffusion with linear decay of one field on a :class:`~invasim.core.mesh.Mesh`.

Contract:
    * :class:`Diffusion` advances ``du/dt = D lap u - decay u`` by one fixed step ``dt`` (min),
      in place, on a float64 C-contiguous array of shape ``mesh.array_shape``. ``D`` in µm²/min,
      ``decay`` in 1/min.
    * Cell-centred finite volumes with the 3/5/7-point Laplacian. Walls are either closed
      (no-flux: mirror ghost; ``sum(u) h^dim`` is conserved to round-off when ``decay == 0``) or
      Dirichlet (the value ``g`` held on the wall faces: ghost ``2 g - u_edge``).
    * Schemes (:data:`SCHEMES`):

      - ``"lod-be"``: locally one-dimensional backward Euler, one tridiagonal (Thomas) solve per
        axis line, as BioFVM/PhysiCell. Unconditionally stable and positivity preserving, first
        order in time.
      - ``"lod-cn"``: the same splitting with Crank–Nicolson per axis. On a box with constant
        ``D`` the axis operators commute, so the product stays second order in time.
        Unconditionally stable but positivity preserving only for ``D dt / h² <= 1``: beyond
        ~1.5, features one voxel wide (point sources) ring below zero before they decay.
      - ``"explicit"``: forward Euler, the reference; requires ``dt <= explicit_dt_limit``.

    * Decay is applied exactly (factor ``exp(-decay dt)``), folded into the first axis sweep,
      before the diffusion part of the step.
    * The factorisations are computed once in ``__init__``; :meth:`Diffusion.step` only streams
      and allocates nothing.
    * Results are bit-identical whatever the Numba thread count.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np

from invasim.core.mesh import Mesh
from invasim.physics import _kernels as K

SCHEMES = ("lod-be", "lod-cn", "explicit")
BOUNDARY_KINDS = ("no-flux", "dirichlet", "dirichlet-voxels")
#: below this many voxels a step runs on one thread: a parallel sweep of a small mesh costs more
#: in thread barriers than it saves, and when another process holds a core it is several times
#: slower (64 x 64, 2 threads: 4.1e8 voxel-updates/s on a quiet machine, 6.8e7 with one core busy;
#: 1 thread: 3.5e8 and 3.6e8)
SERIAL_MAX_VOXELS = 32768
#: fewest z-planes for which the x and y sweeps are fused plane by plane (parallel over planes)
FUSE_MIN_PLANES = 16

#: Largest ``r = D dt / h²`` accepted by :func:`accuracy_dt_limit`, per scheme.
#:
#: lod-be: the time-stepping error must not exceed the spatial error of the same mesh, for a
#: Gaussian of width ``sigma = 3 h`` diffusing (with decay) until its variance doubles
#: (``||u_dt - u_{dt->0}|| <= ||u_{dt->0} - exact||``, so the total error is at most twice the
#: mesh's own, ~0.5 % in 2-D). Backward Euler's ratio of the two is ``~6 r`` in theory, measured
#: ``5.8 r`` in 1-, 2- and 3-D (``benchmarks/fields.py --mode accuracy``): 0.87 at ``r = 0.15``.
#: At PhysiCell's dt (0.01 min, D = 1e5 µm²/min, h = 20 µm: ``r = 2.5``) it is ~13.
#:
#: lod-cn: positivity binds first. Every matrix of the step is non-negative, so ``u >= 0``
#: stays so for any data, when the explicit half's diagonal is: ``1 - r >= 0`` inside and at
#: no-flux walls, ``1 - 3r/2 >= 0`` in the voxels along a Dirichlet wall. Beyond that a
#: one-voxel spike (a cell secreting into its voxel) rings below zero; measured minimum over
#: 20 steps of a unit spike in 1-D (``--mode accuracy``): away from walls none up to
#: ``r = 1.5``, -0.024 at 1.6, -0.18 at 2.5; in a Dirichlet wall voxel none at 2/3, -0.155 at 1.
#: The smooth criterion above would allow ``r ~ 2`` (time/space error 0.25 at ``r = 1``), so
#: accuracy is not what binds.
ACCURACY_R_MAX = {"lod-be": 0.15, "lod-cn": 1.0}
#: lod-cn's bound when a Dirichlet wall (or an unknown wall condition) is involved.
CN_R_MAX_DIRICHLET = 2.0 / 3.0


@contextmanager
def single_thread_if_small(mesh: Mesh) -> Iterator[None]:
    """Run the enclosed kernels on one thread when ``mesh`` is below :data:`SERIAL_MAX_VOXELS`.

    :meth:`Diffusion.step` does this by itself (about 3 µs a step); a model that takes
    thousands of sub-steps wraps its whole loop once instead. Results do not depend on it.
    """
    if mesh.n_voxels >= SERIAL_MAX_VOXELS:
        yield
        return
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(threads)


#: the walls by name (BioFVM's Dirichlet options), in (axis, low side) order
FACES = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")


@dataclass(frozen=True)
class Boundary:
    """Wall condition of a field, the same on every wall (or per wall, ``faces``).

    Attributes:
        kind: ``"no-flux"`` (closed walls), ``"dirichlet"`` (value held on the wall faces) or
            ``"dirichlet-voxels"`` (BioFVM's: the outermost voxels hold the value; each LOD
            sweep solves with closed walls and then resets them, so at large ``D dt/h²`` less
            enters than through a wall held at the value; for reproducing PhysiCell).
        value: the Dirichlet value, in the field's units (ignored for no-flux).
        faces: ``dirichlet-voxels`` only: ``((face, value), ...)`` the walls (:data:`FACES`)
            whose outermost voxels hold their own value, the others closed (BioFVM's
            per-face Dirichlet options); None: every wall at ``value``.
    """

    kind: str = "no-flux"
    value: float = 0.0
    faces: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in BOUNDARY_KINDS:
            raise ValueError(f"boundary kind must be one of {BOUNDARY_KINDS}, got {self.kind!r}")
        if self.faces is not None:
            if self.kind != "dirichlet-voxels":
                raise ValueError("per-face values need the dirichlet-voxels boundary kind")
            bad = [f for f, _ in self.faces if f not in FACES]
            if bad:
                raise ValueError(f"unknown wall(s) {bad}; walls: {', '.join(FACES)}")


def explicit_dt_limit(mesh: Mesh, D: float) -> float:
    """Stability limit of forward Euler, ``h² / (2 dim D)`` in min (``inf`` if ``D == 0``).

    At this limit the step is stable; it also keeps ``u >= 0`` with no-flux walls, but voxels
    along a Dirichlet wall need ``dt`` up to 1/3 smaller for that (their ghost weighs double).
    """
    if D <= 0.0:
        return math.inf
    return mesh.h**2 / (2.0 * mesh.dim * D)


def accuracy_dt_limit(mesh: Mesh, D: float, scheme: str, boundary: Boundary | None = None) -> float:
    """Largest time step (min) whose time-stepping error is acceptable for ``scheme``.

    For the LOD schemes this is ``r_max h² / D`` with ``r_max`` from :data:`ACCURACY_R_MAX`
    (see there for the criteria and the measurements behind them); for ``"lod-cn"`` with a
    Dirichlet wall, or when ``boundary`` is not given, ``r_max = CN_R_MAX_DIRICHLET`` (2/3).
    For ``"explicit"`` it is the stability limit. ``inf`` if ``D == 0`` (decay alone is
    integrated exactly).
    """
    _check_scheme(scheme)
    if scheme == "explicit":
        return explicit_dt_limit(mesh, D)
    if D <= 0.0:
        return math.inf
    r_max = ACCURACY_R_MAX[scheme]
    if scheme == "lod-cn" and (boundary is None or boundary.kind != "no-flux"):
        r_max = CN_R_MAX_DIRICHLET
    return r_max * mesh.h**2 / D


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown diffusion scheme {scheme!r}; expected one of {SCHEMES}")


@dataclass
class _AxisPlan:
    """Pre-factorised line solve along one axis (arrays of length ``n``)."""

    axis: int  # 0 = x, 1 = y, 2 = z
    m: np.ndarray  # reciprocal pivots, times the folded scale factor
    g: np.ndarray  # a * m_i (unscaled)
    q: np.ndarray  # pivot-scaled Dirichlet source
    e: np.ndarray  # Crank–Nicolson explicit diagonal
    w: float  # Crank–Nicolson explicit off-diagonal


def _axis_plan(
    axis: int, n: int, r: float, theta: float, boundary: Boundary, factor: float
) -> _AxisPlan:
    """Build the factorised ``theta``-scheme line operator along one axis.

    Row ``i`` couples to ``c_i`` neighbours (ghosts included): 2 inside, 1 at a no-flux wall
    (the mirror ghost cancels), 3 at a Dirichlet wall (ghost ``2g - u`` adds one more ``u``
    and a source ``2 r g``).
    """
    dirichlet = boundary.kind == "dirichlet"
    idx = np.arange(n)
    walls = (idx == 0).astype(float) + (idx == n - 1)
    c = (idx > 0).astype(float) + (idx < n - 1) + (2.0 * walls if dirichlet else 0.0)
    m, g = K.thomas_factor(1.0 + theta * r * c, theta * r)
    src = 2.0 * r * boundary.value * walls if dirichlet else np.zeros(n)
    e = 1.0 - (1.0 - theta) * r * c
    return _AxisPlan(axis, m * factor, g, m * src, e, (1.0 - theta) * r)


class Diffusion:
    """Diffusion + linear decay of one field over one time step ``dt``, in place.

    Args:
        mesh: the mesh the field lives on.
        D: diffusion coefficient, µm²/min (>= 0).
        decay: linear decay rate, 1/min (>= 0).
        dt: time step, min (> 0).
        boundary: wall condition.
        scheme: one of :data:`SCHEMES`.

    Raises:
        ValueError: unknown scheme, negative coefficient, non-positive ``dt``, or ``dt`` above
            :func:`explicit_dt_limit` with the explicit scheme.
    """

    def __init__(
        self,
        mesh: Mesh,
        D: float,
        decay: float,
        dt: float,
        boundary: Boundary = Boundary(),  # noqa: B008 - frozen dataclass, safe as a default
        scheme: str = "lod-cn",
    ) -> None:
        _check_scheme(scheme)
        if not (D >= 0.0 and decay >= 0.0 and dt > 0.0):
            raise ValueError(f"need D >= 0, decay >= 0, dt > 0; got D={D}, decay={decay}, dt={dt}")
        if scheme == "explicit" and dt > explicit_dt_limit(mesh, D):
            raise ValueError(
                f"explicit diffusion is unstable: dt={dt} min > h^2/(2 dim D)="
                f"{explicit_dt_limit(mesh, D):.6g} min (D={D} µm²/min, h={mesh.h} µm)"
            )
        if boundary.faces is not None:
            deep = [f for f, _ in boundary.faces if FACES.index(f) // 2 >= mesh.dim]
            if deep:
                raise ValueError(f"wall(s) {deep} do not exist in {mesh.dim}-D")
        self.mesh = mesh
        self._small = mesh.n_voxels < SERIAL_MAX_VOXELS
        self._shape = mesh.array_shape
        self.D = float(D)
        self.decay = float(decay)
        self.dt = float(dt)
        self.boundary = boundary
        self.scheme = scheme
        self.factor = math.exp(-self.decay * self.dt)
        self.r = self.D * self.dt / mesh.h**2
        dirichlet = boundary.kind != "no-flux"
        # BioFVM's Dirichlet voxels: closed walls in the solve, the faces reset after each sweep
        self._reset_faces = boundary.kind == "dirichlet-voxels"
        solve_boundary = Boundary() if self._reset_faces else boundary
        # axes that do something: existing ones, unless a single closed voxel thick
        self._axes = [a for a in range(mesh.dim) if self.D > 0.0 and (mesh.n[a] > 1 or dirichlet)]
        self._plans: list[_AxisPlan] = []
        self._work = None
        if scheme == "explicit":
            self._work = np.empty(mesh.array_shape)
            self._active = np.array([a in self._axes for a in range(3)])
        else:
            theta = 1.0 if scheme == "lod-be" else 0.5
            for rank, a in enumerate(self._axes):
                f = self.factor if rank == 0 else 1.0
                self._plans.append(_axis_plan(a, mesh.n[a], self.r, theta, solve_boundary, f))
        self._cn = scheme == "lod-cn"
        # one Crank–Nicolson row buffer per Numba thread (any thread count up to the pool size)
        self._scratch = np.empty((numba.config.NUMBA_NUM_THREADS, K.STRIP))
        # in 3-D, sweep x and y plane by plane while the plane is in cache (one memory pass
        # instead of two); needs enough planes to share among the threads
        xy = [(p.axis, p.m.shape[0] > 1) for p in self._plans[:2]]
        self._fuse_xy = (xy == [(0, True), (1, True)] and mesh.nz >= FUSE_MIN_PLANES
                         and not self._reset_faces)  # fmt: skip

    def step(self, u: np.ndarray) -> None:
        """Advance ``u`` (float64, C-contiguous, ``mesh.array_shape``) by one step, in place."""
        if not self._small or numba.get_num_threads() == 1:
            self._step(u)
            return
        with single_thread_if_small(self.mesh):
            self._step(u)

    def _step(self, u: np.ndarray) -> None:
        nz, ny, nx = shape = self._shape
        if u.shape != shape or u.dtype != np.float64 or not u.flags.c_contiguous:
            raise ValueError(
                f"field must be float64 C-contiguous of shape {(nz, ny, nx)}, "
                f"got {u.dtype} {u.shape}"
            )
        if self.scheme == "explicit" and self._reset_faces:
            raise ValueError("dirichlet-voxels walls need an LOD scheme (BioFVM's)")
        if self.scheme == "explicit":
            if not self._axes:
                K.scale(u.reshape(nz * ny, nx), self.factor)
                return
            np.copyto(self._work, u)
            K.explicit_step(
                u,
                self._work,
                self.r,
                self.factor,
                self.boundary.kind == "dirichlet",
                self.boundary.value,
                self._active,
            )
            return
        if not self._plans:
            if self.factor != 1.0:
                K.scale(u.reshape(nz * ny, nx), self.factor)
            return
        plans = self._plans
        if self._fuse_xy:
            px, py = plans[0], plans[1]
            K.sweep_xy_planes(
                u, px.m, px.g, px.q, px.e, px.w, py.m, py.g, py.q, py.e, py.w, self._cn,
                self._scratch,
            )  # fmt: skip
            plans = plans[2:]
        for p in plans:
            if p.m.shape[0] == 1:
                # one Dirichlet voxel across: x = m (e u) + q, elementwise
                u *= p.m[0] * p.e[0]
                u += p.q[0]
            elif p.axis == 0:
                K.sweep_contiguous(u.reshape(nz * ny, nx), p.m, p.g, p.q, p.e, p.w, self._cn)
            elif p.axis == 1:
                K.sweep_strided(u, p.m, p.g, p.q, p.e, p.w, self._cn, self._scratch)
            else:
                u3 = u.reshape(1, nz, ny * nx)
                K.sweep_strided(u3, p.m, p.g, p.q, p.e, p.w, self._cn, self._scratch)
            if self._reset_faces:
                self._hold_faces(u)

    def _hold_faces(self, u: np.ndarray) -> None:
        """BioFVM's ``apply_dirichlet_conditions``: the outermost voxels take the value."""
        if self.boundary.faces is not None:  # per wall, in the order given
            for face, value in self.boundary.faces:
                axis, side = FACES.index(face) // 2, FACES.index(face) % 2
                index = [slice(None)] * 3
                index[2 - axis] = -1 if side else 0  # arrays are (z, y, x)
                u[tuple(index)] = value
            return
        v = self.boundary.value
        d = self.mesh.dim
        u[:, :, 0] = v
        u[:, :, -1] = v
        if d >= 2:
            u[:, 0, :] = v
            u[:, -1, :] = v
        if d >= 3:
            u[0] = v
            u[-1] = v
