"""Initial cells: a disc or ball, a box, a table (cells.csv), random, or typed groups (a tissue).

Contract:
    * ``[params.initial]`` (:class:`CellPlacement`): ``ball`` (a disc in 2-D, a sphere in 3-D,
      hexagonally / fcc packed at ``spacing_um``), ``layer`` (a packed box), ``table``
      (positions and types from a CSV or Parquet file, :func:`invasim.core.initial.read_table`;
      a relative ``path`` is taken from the scenario file's folder), ``random``, or
      ``groups``.
    * ``groups``: ``[[params.initial.groups]]``, each a ``ball`` or ``layer`` of one
      ``cell_type`` with its own ``spacing_um`` (:class:`CellGroup`), placed in order; a
      group's cells take the place of the earlier groups' cells closer than its
      ``replace_within_um`` (default its spacing) to one of them, so a tumour patch placed
      after an epithelium sits inside it without overlapping cells. Cells are listed group by
      group (the survivors of earlier groups first, in their order).
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


class CellGroup(BaseModel):
    """One group of ``[params.initial] geometry = "groups"``: a typed ball or layer."""

    model_config = ConfigDict(extra="forbid")

    geometry: Literal["ball", "layer"] = Field(
        description="ball: a disc (2-D) or sphere (3-D) packed hexagonally/fcc; layer: a "
        "packed box (e.g. an epithelium resting on a basement membrane)"
    )
    cell_type: str = Field(description="the cells' type")
    spacing_um: float = Field(
        16.0,
        gt=0,
        description="lattice spacing [µm]; 16.0 = the zero-force distance 0.952 (r_i + r_j) "
        "of the default potentials",
    )
    n_cells: int | None = Field(None, ge=0, description="ball: number of cells")
    radius_um: float | None = Field(None, ge=0, description="ball: radius instead of n [µm]")
    center_um: list[float] | None = Field(
        None, description="ball centre [µm]; default the domain centre"
    )
    lo_um: list[float] | None = Field(None, description="layer: lower corner [µm]")
    hi_um: list[float] | None = Field(None, description="layer: upper corner [µm]")
    replace_within_um: float | None = Field(
        None,
        ge=0,
        description="earlier groups' cells closer than this to one of this group's cells are "
        "removed [µm]; None: this group's spacing_um; 0: none removed",
    )

    @model_validator(mode="after")
    def _complete(self) -> CellGroup:
        if self.geometry == "ball" and (self.n_cells is None) == (self.radius_um is None):
            raise ValueError("a ball group needs exactly one of n_cells and radius_um")
        if self.geometry == "layer" and (self.lo_um is None or self.hi_um is None):
            raise ValueError("a layer group needs lo_um and hi_um")
        return self


class CellPlacement(BaseModel):
    """Initial cells (:mod:`invasim.core.initial`)."""

    model_config = ConfigDict(extra="forbid")

    geometry: Literal["ball", "layer", "table", "random", "groups"] = Field(
        "ball",
        description="ball: a disc (2-D) or sphere (3-D) packed hexagonally/fcc; "
        "layer: a packed box; table: positions and types from a CSV or Parquet file; "
        "random: n_per_type cells of each type uniform in a box (PhysiCell's template "
        "setup_tissue), keyed by the run seed; groups: several typed balls and layers "
        "(a tissue), later groups replacing the earlier cells they overlap",
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
    clones: Literal["per_cell", "one"] = Field(
        "per_cell",
        description="clone ids of the initial cells: per_cell (each founds its own clone, "
        "its id) or one (all belong to the first cell's clone: a tumour grown from one "
        "founding phenotype, as in Anderson et al. 2006)",
    )
    groups: list[CellGroup] = Field(
        default_factory=list,
        description="groups: the typed balls and layers, placed in order (later ones replace "
        "the earlier cells they overlap)",
    )

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> CellPlacement:
        if self.geometry == "groups" and not self.groups:
            raise ValueError("a groups placement needs [[params.initial.groups]] tables")
        if self.groups and self.geometry != "groups":
            raise ValueError("groups is for geometry = 'groups'")
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


def _lattice_cells(geometry: str, dim: int, spacing: float, extent: tuple, n_cells, radius,
                   center, lo, hi) -> np.ndarray:  # fmt: skip
    if geometry == "ball":
        center = center if center is not None else [e / 2 for e in extent]
        if len(center) != dim:
            raise ValueError(f"initial.center_um needs {dim} values, got {center}")
        return placement.ball(dim, spacing, center, n_cells, radius)
    return placement.layer(dim, spacing, lo, hi)


def group_cells(groups: list[CellGroup], names: list[str], extent: tuple, dim: int
                ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The cells of ``groups`` in order, later groups replacing the earlier cells they overlap.

    Returns ``([n, 3]`` positions µm, ``[n]`` int32 types``)``.
    """
    from scipy.spatial import cKDTree

    pos = np.zeros((0, 3))
    types = np.zeros(0, dtype=np.int32)
    for k, g in enumerate(groups):
        if g.cell_type not in names:
            raise ValueError(f"initial.groups[{k}].cell_type = {g.cell_type!r} is not a cell "
                             f"type; cell types: {', '.join(names)}")  # fmt: skip
        new = _lattice_cells(g.geometry, dim, g.spacing_um, extent, g.n_cells, g.radius_um,
                             g.center_um, g.lo_um, g.hi_um)  # fmt: skip
        reach = g.spacing_um if g.replace_within_um is None else g.replace_within_um
        if pos.shape[0] and new.shape[0] and reach > 0:
            d, _ = cKDTree(new).query(pos, k=1)
            keep = d >= reach * (1.0 - 1e-9)  # a lattice neighbour at exactly reach stays
            pos, types = pos[keep], types[keep]
        pos = np.concatenate([pos, new])
        types = np.concatenate([types, np.full(new.shape[0], names.index(g.cell_type),
                                               dtype=np.int32)])  # fmt: skip
    return np.ascontiguousarray(pos), types


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
    elif ini.geometry == "groups":
        pos, types = group_cells(ini.groups, names, extent, dim)
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
