"""Initial cells: a packed disc or ball, a packed box, or a table (PhysiCell's cells.csv).

Contract:
    * ``[params.initial]`` (:class:`CellPlacement`): ``ball`` (a disc in 2-D, a sphere in 3-D,
      hexagonally / fcc packed at ``spacing_um``), ``layer`` (a packed box), or ``table``
      (positions and types from a CSV or Parquet file, :func:`invasim.core.initial.read_table`).
    * Placement is deterministic (no random numbers); every cell must lie inside the box.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.core import initial as placement
from invasim.core.mesh import Mesh


class CellPlacement(BaseModel):
    """Initial cells (:mod:`invasim.core.initial`)."""

    model_config = ConfigDict(extra="forbid")

    geometry: Literal["ball", "layer", "table"] = Field(
        "ball",
        description="ball: a disc (2-D) or sphere (3-D) packed hexagonally/fcc; "
        "layer: a packed box; table: positions and types from a CSV or Parquet file",
    )
    n_cells: int | None = Field(None, ge=0, description="ball: number of cells")
    radius_um: float | None = Field(None, ge=0, description="ball: radius instead of n [µm]")
    spacing_um: float = Field(
        16.0,
        gt=0,
        description="lattice spacing [µm]; 16.0 = the zero-force distance "
        "0.952 (r_i + r_j) of the default potentials",
    )
    center_um: list[float] | None = Field(
        None, description="ball centre [µm]; default the domain centre"
    )
    lo_um: list[float] | None = Field(None, description="layer: lower corner [µm]")
    hi_um: list[float] | None = Field(None, description="layer: upper corner [µm]")
    path: str | None = Field(None, description="table: the file (PhysiCell's cells.csv loads)")
    origin: Literal["corner", "center"] = Field(
        "corner",
        description="table coordinates: from the domain corner, or from its centre "
        "(PhysiCell's centred domains)",
    )
    cell_type: str | None = Field(
        None, description="ball/layer: the cells' type (default the first type)"
    )

    @model_validator(mode="after")
    def _complete(self) -> CellPlacement:
        if self.geometry == "ball" and (self.n_cells is None) == (self.radius_um is None):
            raise ValueError("a ball needs exactly one of n_cells and radius_um")
        if self.geometry == "layer" and (self.lo_um is None or self.hi_um is None):
            raise ValueError("a layer needs lo_um and hi_um")
        if self.geometry == "table" and not self.path:
            raise ValueError("a table placement needs path")
        return self


def initial_cells(params: Any, mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Initial positions ``[n, 3]`` (µm) and type indices ``[n]`` of a scenario."""
    ini = params.initial
    names = list(params.cell_types)
    extent = tuple(float(e) for e in mesh.extent)
    dim = mesh.dim
    if ini.geometry == "table":
        pos, types = placement.read_table(ini.path, names, dim, extent, ini.origin)
    else:
        if ini.geometry == "ball":
            center = ini.center_um if ini.center_um is not None else [e / 2 for e in extent]
            if len(center) != dim:
                raise ValueError(f"initial.center_um needs {dim} values, got {center}")
            pos = placement.ball(dim, ini.spacing_um, center, ini.n_cells, ini.radius_um)
        else:
            pos = placement.layer(dim, ini.spacing_um, ini.lo_um, ini.hi_um)
        t = names.index(ini.cell_type) if ini.cell_type is not None else 0
        types = np.full(pos.shape[0], t, dtype=np.int32)
    placement.check_inside(pos, extent)
    return pos, types
