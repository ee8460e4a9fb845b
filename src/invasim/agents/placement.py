"""Initial cells: a packed disc or ball, a packed box, a table (PhysiCell's cells.csv), random.

Contract:
    * ``[params.initial]`` (:class:`CellPlacement`): ``ball`` (a disc in 2-D, a sphere in 3-D,
      hexagonally / fcc packed at ``spacing_um``), ``layer`` (a packed box), ``table``
      (positions and types from a CSV or Parquet file, :func:`invasim.core.initial.read_table`;
      a relative ``path`` is taken from the scenario file's folder), or ``random``.
    * ``random``: ``n_per_type = {type = n}`` cells of each named type, uniform in the box
      ``lo_um``–``hi_um`` (default the domain), type by type in the order of
      ``[params.cell_types]``, as PhysiCell's template ``setup_tissue`` places them. Cell ``k``
      (its future id) gets coordinate ``a`` from the counter-based draw
      ``uniform(seed, 0, k, STREAM_PLACEMENT, a)`` (:mod:`invasim.core.rng`), so the run seed
      fixes the placement. In 2-D, ``z = 0``.
    * The other geometries are deterministic (no random numbers); every cell must lie inside
      the box.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from invasim.core import initial as placement
from invasim.core.mesh import Mesh
from invasim.core.rng import uniforms

#: rng stream of the random initial placement
STREAM_PLACEMENT = 19


class CellPlacement(BaseModel):
    """Initial cells (:mod:`invasim.core.initial`)."""

    model_config = ConfigDict(extra="forbid")

    geometry: Literal["ball", "layer", "table", "random"] = Field(
        "ball",
        description="ball: a disc (2-D) or sphere (3-D) packed hexagonally/fcc; "
        "layer: a packed box; table: positions and types from a CSV or Parquet file; "
        "random: n_per_type cells of each type uniform in a box (PhysiCell's template "
        "setup_tissue), keyed by the run seed",
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
    lo_um: list[float] | None = Field(
        None, description="layer, random: lower corner [µm] (random: default the domain's)"
    )
    hi_um: list[float] | None = Field(
        None, description="layer, random: upper corner [µm] (random: default the domain's)"
    )
    n_per_type: dict[str, int] | None = Field(
        None, description="random: number of cells of each named cell type"
    )
    path: str | None = Field(
        None,
        description="table: the file (PhysiCell's cells.csv loads); relative to the scenario "
        "file's folder",
    )
    origin: Literal["corner", "center"] = Field(
        "corner",
        description="table coordinates: from the domain corner, or from its centre "
        "(PhysiCell's centred domains)",
    )
    cell_type: str | None = Field(
        None, description="ball/layer: the cells' type (default the first type)"
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="table: per-cell initial values from more columns of the table, "
        "{column = target} with target 'volume' (µm³) or the name of a trait "
        "([params.traits]); a blank entry keeps the cell's default (PhysiCell's cells.csv v2 "
        "columns)",
    )

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> CellPlacement:
        if self.geometry == "ball" and (self.n_cells is None) == (self.radius_um is None):
            raise ValueError("a ball needs exactly one of n_cells and radius_um")
        if self.geometry == "layer" and (self.lo_um is None or self.hi_um is None):
            raise ValueError("a layer needs lo_um and hi_um")
        if self.geometry == "table" and not self.path:
            raise ValueError("a table placement needs path")
        if self.geometry == "random":
            if self.n_per_type is None:
                raise ValueError("a random placement needs n_per_type = {type = n}")
            if any(n < 0 for n in self.n_per_type.values()):
                raise ValueError("n_per_type needs counts >= 0")
        elif self.n_per_type is not None:
            raise ValueError("n_per_type is for geometry = 'random'")
        if self.columns and self.geometry != "table":
            raise ValueError("columns is for geometry = 'table'")
        if self.path and info is not None:  # relative to the scenario's folder, stored resolved
            base_dir = (info.context or {}).get("base_dir")
            path = Path(self.path).expanduser()
            if base_dir is not None and not path.is_absolute():
                self.path = str((Path(base_dir) / path).absolute())
        return self


def random_cells(
    counts: list[int], lo: np.ndarray, hi: np.ndarray, dim: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[t]`` cells of type ``t``, uniform in ``[lo, hi]`` (``dim`` axes; z = 0 in 2-D).

    Returns ``([n, 3]`` positions µm, ``[n]`` int32 types``)``, type 0's cells first; cell
    ``k``'s axis ``a`` is ``lo + (hi - lo) uniform(seed, 0, k, STREAM_PLACEMENT, a)``.
    """
    types = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    k = np.arange(types.size, dtype=np.int64)
    pos = np.zeros((types.size, 3))
    for a in range(dim):
        u = uniforms(seed, 0, k, STREAM_PLACEMENT, a)
        pos[:, a] = lo[a] + (hi[a] - lo[a]) * u
    return pos, types


def _random(ini: CellPlacement, names: list[str], extent: tuple, dim: int, seed: int):
    unknown = [t for t in ini.n_per_type if t not in names]
    if unknown:
        raise ValueError(f"initial.n_per_type names {unknown}, not cell types; known: {names}")
    lo = np.zeros(dim) if ini.lo_um is None else np.asarray(ini.lo_um, dtype=np.float64)
    hi = np.asarray(extent if ini.hi_um is None else ini.hi_um, dtype=np.float64)
    if lo.shape != (dim,) or hi.shape != (dim,) or np.any(hi < lo):
        raise ValueError(f"a random placement needs {dim} values each in lo_um <= hi_um, got "
                         f"{ini.lo_um}, {ini.hi_um}")  # fmt: skip
    return random_cells([ini.n_per_type.get(t, 0) for t in names], lo, hi, dim, seed)


def initial_cells(params: Any, mesh: Mesh, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Initial positions ``[n, 3]`` (µm) and type indices ``[n]`` of a scenario.

    ``seed``: the run's seed, which keys the ``random`` geometry (the others ignore it).
    """
    ini = params.initial
    names = list(params.cell_types)
    extent = tuple(float(e) for e in mesh.extent)
    dim = mesh.dim
    if ini.geometry == "table":
        pos, types = placement.read_table(ini.path, names, dim, extent, ini.origin)
    elif ini.geometry == "random":
        pos, types = _random(ini, names, extent, dim, seed)
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
