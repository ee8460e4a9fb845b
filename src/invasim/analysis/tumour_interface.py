"""The tumour–stroma interface: the length (2-D) or area (3-D) of a tumour's invasive front.

Contract:
    * :func:`interface_size` ``(positions [n, dim] µm, radii [n] µm, dim, pixel_um,
      closing_um) -> float``: the boundary of the tumour mass formed by the given cells
      (their discs / balls), in µm (2-D: a length) or µm² (3-D: an area). The mass is the
      union of the cells, closed with a disc / ball of radius ``closing_um`` (default: one
      mean cell diameter): gaps between touching cells and the scallops of the outer cells are
      filled, enclosed holes (a necrotic core, a lumen) are filled, so what is measured is the
      outer interface with the stroma, of every fragment (detached cells and strands each
      add their own boundary). On a grid of ``pixel_um`` (default: a fifth of the mean
      radius, at most 2 µm) by Euclidean distance transforms (scipy.ndimage).
      2-D: the length of the level line of the signed distance (contourpy, marching
      squares; sub-pixel). 3-D: ``(2/3) × exposed voxel faces × pixel²`` (the Cauchy–Crofton
      correction of the face count for an isotropic surface; a few % for smooth shapes).
      A disc of radius ``R`` of cells packed in rings gives ``2πR`` within 3 % (tested; 1 %
      measured for R = 60-250 µm, 8.4-µm cells); a hexagonal lattice cut to a disc, whose
      edge is stepped, 5 %.
    * :func:`frame_interface` ``(cells DataFrame, type ids, dim, ...)``: the same for the live
      cells of the listed types in a cells table (``type``, ``dead``, ``x``, ``y[, z]``,
      ``radius`` columns, as the run directory stores them); 0 when there are none.
    * Pure: arrays in, a number out; no engine, no files.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

#: margin of the grid beyond the cells, in closing radii (plus the largest cell radius)
MARGIN = 3.0


def _grid(positions: np.ndarray, radii: np.ndarray, pad: float, h: float):
    lo = positions.min(axis=0) - radii.max() - pad
    hi = positions.max(axis=0) + radii.max() + pad
    shape = tuple(int(math.ceil((b - a) / h)) + 1 for a, b in zip(lo, hi, strict=True))
    return lo, shape


def _union(positions: np.ndarray, radii: np.ndarray, lo: np.ndarray, shape, h: float):
    """Boolean mask of the union of the cells (pixel centres inside some cell)."""
    dim = positions.shape[1]
    mask = np.zeros(shape, dtype=bool)
    for p, r in zip(positions, radii, strict=True):
        a = np.maximum(np.floor((p - r - lo) / h).astype(int), 0)
        b = np.minimum(np.ceil((p + r - lo) / h).astype(int) + 1, np.array(shape))
        axes = [lo[q] + h * np.arange(a[q], b[q]) - p[q] for q in range(dim)]
        d2 = sum(np.meshgrid(*[x * x for x in axes], indexing="ij"))
        mask[tuple(slice(a[q], b[q]) for q in range(dim))] |= d2 <= r * r
    return mask


def interface_size(positions: np.ndarray, radii: np.ndarray, dim: int,
                   pixel_um: float | None = None, closing_um: float | None = None) -> float:
    """Length (2-D, µm) or area (3-D, µm²) of the outer boundary of the closed cell union.

    Args:
        positions: ``[n, dim]`` cell centres, µm (extra columns are ignored).
        radii: ``[n]`` cell radii, µm.
        dim: 2 or 3.
        pixel_um: grid spacing (default ``min(2, mean radius / 5)``).
        closing_um: radius of the closing (default: one mean cell diameter).

    Returns:
        The interface size; 0 for no cells.

    Raises:
        ValueError: ``dim`` not 2 or 3, or a non-positive radius or spacing.
    """
    if dim not in (2, 3):
        raise ValueError(f"dim must be 2 or 3, not {dim}")
    pos = np.asarray(positions, dtype=float)[:, :dim]
    rad = np.asarray(radii, dtype=float)
    if pos.shape[0] == 0:
        return 0.0
    if not np.all(rad > 0):
        raise ValueError("cell radii must be > 0")
    rbar = float(rad.mean())
    h = float(pixel_um) if pixel_um is not None else min(2.0, rbar / 5.0)
    c = float(closing_um) if closing_um is not None else 2.0 * rbar
    if not (h > 0 and c >= 0):
        raise ValueError("pixel_um must be > 0 and closing_um >= 0")
    lo, shape = _grid(pos, rad, MARGIN * c + 2 * h, h)
    union = _union(pos, rad, lo, shape, h)
    # closing: dilate by c, fill the enclosed holes, erode by c
    dilated = ndimage.distance_transform_edt(~union) * h <= c
    filled = ndimage.binary_fill_holes(dilated)
    inside = ndimage.distance_transform_edt(filled) * h  # distance to the outside
    outside = ndimage.distance_transform_edt(~filled) * h
    if dim == 2:
        import contourpy

        # level c of the distance to the outside (pixel-centre distances: the boundary lies
        # half a pixel beyond the last inside centre): the eroded boundary, sub-pixel
        g = inside - outside
        gen = contourpy.contour_generator(z=g, line_type="Separate")
        total = 0.0
        for line in gen.lines(c + 0.5 * h):
            seg = np.diff(line, axis=0)
            total += float(np.sqrt((seg**2).sum(axis=1)).sum())
        return total * h
    closed = inside > c  # (the voxel faces lie half a voxel beyond the kept centres)
    faces = sum(int(np.count_nonzero(np.diff(closed.astype(np.int8), axis=q)))
                for q in range(3))  # fmt: skip
    return (2.0 / 3.0) * faces * h * h


def frame_interface(frame, type_ids, dim: int, pixel_um: float | None = None,
                    closing_um: float | None = None) -> float:
    """:func:`interface_size` of the live cells of ``type_ids`` in a cells table."""
    if len(frame) == 0:
        return 0.0
    keep = np.isin(frame["type"].to_numpy(), np.asarray(list(type_ids), dtype=np.int64))
    if "dead" in frame:
        keep &= frame["dead"].to_numpy() == 0
    if not keep.any():
        return 0.0
    pos = np.stack([frame[a].to_numpy(float)[keep] for a in "xyz"[:dim]], axis=1)
    return interface_size(pos, frame["radius"].to_numpy(float)[keep], dim, pixel_um, closing_um)


__all__ = ["frame_interface", "interface_size"]
