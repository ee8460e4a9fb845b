"""The invasive front as a band of the mesh, and the fields there (cytokines at the front).

Contract:
    * **Front band**: the voxels whose centre lies within :data:`FRONT_BAND_UM` (30 µm, about
      two cell diameters) of the main tumour mass's outline, inside or outside it. The main
      mass (:func:`invasim.analysis.pathology.clusters`, the largest connected group of live
      tumour cells) is painted on the mesh's voxels as discs/balls of ``LINK_FACTOR r`` about
      the cells' centres (holes filled); the distance of each voxel centre to the outline is
      the Euclidean distance transform of the mask (inside) or of its complement (outside),
      in voxels × the voxel side, less half a voxel (the outline lies between two voxels).
    * ``<field>_at_front``: the mean of each field over the front band (the field's unit); NaN
      without tumour cells. A family: one column per field of the snapshot (cytokines,
      chemokines, oxygen, matrix). It applies when the snapshot has cells and fields.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from invasim.analysis.pathology import LINK_FACTOR, clusters, paint_discs
from invasim.analysis.readouts import FIELD, has_cells, readout
from invasim.analysis.snapshot import Snapshot

#: half-width of the front band, µm
FRONT_BAND_UM = 30.0


def front_band(s: Snapshot, band_um: float = FRONT_BAND_UM) -> np.ndarray | None:
    """``mesh.array_shape`` bool: the voxels of the front band (None without tumour cells)."""
    cl = clusters(s)
    if cl.n == 0:
        return None
    mesh = s.mesh
    main = cl.label == 0
    pos = np.zeros((int(main.sum()), 3))
    pos[:, : mesh.dim] = cl.pos[main][:, : mesh.dim]
    n = list(mesh.n) + [1] * (3 - len(mesh.n))
    mask = np.zeros((n[2], n[1], n[0]), np.uint8)
    paint_discs(pos, LINK_FACTOR * cl.radius[main], np.zeros(3), float(mesh.h), mask)
    squeeze = mask[0] if mesh.dim == 2 else mask
    filled = ndimage.binary_fill_holes(squeeze)
    inside = ndimage.distance_transform_edt(filled)
    outside = ndimage.distance_transform_edt(~filled)
    dist = (np.where(filled, inside, outside) - 0.5) * mesh.h
    band = dist <= band_um
    return band.reshape(mesh.array_shape)  # (nz, ny, nx), as the fields


def _with_fields(s: Snapshot) -> bool:
    return has_cells(s) and bool(s.fields)


@readout(f"{FIELD}_at_front", "field unit", "mean of each field in the front band (voxels within "
         "30 µm of the main tumour mass's outline; NaN without tumour cells)",
         _with_fields)  # fmt: skip
def front_fields(s: Snapshot) -> dict[str, float]:
    """Each field's mean over the front band."""
    band = front_band(s)
    if band is None or not band.any():
        return {f"{f}_at_front": float("nan") for f in s.fields}
    return {f"{f}_at_front": float(np.asarray(u)[band].mean()) for f, u in s.fields.items()}

