"""A uniform, cell-centred Cartesian mesh in 1, 2 or 3 dimensions.

Contract:
    * Lengths are in micrometres (µm). The domain is
      ``[0, extent_x] × [0, extent_y] × [0, extent_z]`` (only the first ``dim`` axes exist);
      voxels are cubes of side ``voxel_um``.
    * Field arrays are always stored as 3-D, C-contiguous ``float64`` arrays of shape
      ``(nz, ny, nx)`` (``array_shape``); axes that do not exist have length 1. One kernel thus
      serves 1-D, 2-D and 3-D: dimension is a shape, never a class.
    * Voxel ``[k, j, i]`` has its centre at ``((i + 0.5) h, (j + 0.5) h, (k + 0.5) h)``.
    * ``shape`` is the user-facing array shape with the missing axes dropped: ``(nx,)`` in 1-D,
      ``(ny, nx)`` in 2-D and ``(nz, ny, nx)`` in 3-D; ``dims`` names those axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AXIS_NAMES = ("x", "y", "z")


@dataclass(frozen=True)
class Mesh:
    """A uniform cell-centred mesh.

    Attributes:
        dim: number of spatial dimensions, 1, 2 or 3.
        n: voxels per axis in x, y, z order, length ``dim``.
        h: voxel side, µm.
    """

    dim: int
    n: tuple[int, ...]
    h: float

    def __post_init__(self) -> None:
        if self.dim not in (1, 2, 3) or len(self.n) != self.dim:
            raise ValueError(f"mesh needs dim in 1..3 and one voxel count per axis, got {self}")

    @classmethod
    def from_extent(cls, extent_um: tuple[float, ...] | list[float], voxel_um: float) -> Mesh:
        """Build a mesh covering ``extent_um`` (x, y, z order) with voxels of ``voxel_um``."""
        n = tuple(max(1, int(round(e / voxel_um))) for e in extent_um)
        return cls(dim=len(n), n=n, h=float(voxel_um))

    @property
    def nx(self) -> int:
        """Voxels along x."""
        return self.n[0]

    @property
    def ny(self) -> int:
        """Voxels along y (1 in 1-D)."""
        return self.n[1] if self.dim >= 2 else 1

    @property
    def nz(self) -> int:
        """Voxels along z (1 in 1-D and 2-D)."""
        return self.n[2] if self.dim >= 3 else 1

    @property
    def array_shape(self) -> tuple[int, int, int]:
        """Internal storage shape ``(nz, ny, nx)``."""
        return (self.nz, self.ny, self.nx)

    @property
    def shape(self) -> tuple[int, ...]:
        """User-facing shape, missing axes dropped, slowest axis first."""
        return tuple(reversed(self.n))

    @property
    def dims(self) -> tuple[str, ...]:
        """Names of the user-facing axes, matching ``shape`` (e.g. ``("y", "x")``)."""
        return tuple(reversed(AXIS_NAMES[: self.dim]))

    @property
    def extent(self) -> tuple[float, ...]:
        """Domain size per axis (x, y, z order), µm."""
        return tuple(k * self.h for k in self.n)

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in µm^dim."""
        return self.h**self.dim

    @property
    def n_voxels(self) -> int:
        """Total number of voxels."""
        return int(np.prod(self.n))

    def centers(self, axis: str) -> np.ndarray:
        """Voxel-centre coordinates along ``axis`` ('x', 'y' or 'z'), µm."""
        a = AXIS_NAMES.index(axis)
        if a >= self.dim:
            return np.array([0.5 * self.h])
        return (np.arange(self.n[a]) + 0.5) * self.h

    def grids(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Broadcastable coordinate arrays ``(x, y, z)`` of voxel centres, each 3-D, µm."""
        z, y, x = np.meshgrid(
            self.centers("z"), self.centers("y"), self.centers("x"), indexing="ij", sparse=True
        )
        return x, y, z

    def zeros(self) -> np.ndarray:
        """A new zero field of the internal shape."""
        return np.zeros(self.array_shape, dtype=np.float64)

    def view(self, field: np.ndarray) -> np.ndarray:
        """The user-facing view (missing axes dropped) of an internal 3-D field."""
        return field.reshape(self.shape)

    def to_dict(self) -> dict:
        """Plain-data description (for run metadata)."""
        return {
            "dim": self.dim,
            "n": list(self.n),
            "voxel_um": self.h,
            "extent_um": list(self.extent),
        }
