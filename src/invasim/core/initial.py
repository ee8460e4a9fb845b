"""Initial cell placements: a packed disc or ball, a rectangular layer, or a table of cells.

Contract:
    * Every function returns positions as ``[n, 3]`` float64 in µm (``z == 0`` in 2-D), in the
      domain's coordinates ``[0, L]`` per axis, in a deterministic order (no random numbers).
    * Lattices: hexagonal in 2-D (each cell has 6 neighbours at ``spacing``), face-centred
      cubic in 3-D (12 neighbours at ``spacing``). :func:`ball` takes the ``n`` lattice points
      nearest the centre (ties broken by a fixed order), or all points within ``radius``;
      :func:`layer` takes every lattice point in an axis-aligned box.
    * Tables (:func:`read_table`): CSV or Parquet, one row per cell with columns ``x, y[, z]``
      (µm) and ``type`` (a cell-type name, or an integer index into the model's types), as
      PhysiCell's ``cells.csv`` (with a header ``x,y,z,type[,...]``, or without a header: four
      numeric columns ``x, y, z, type``). Extra columns are ignored. ``origin="center"`` reads
      coordinates relative to the domain centre (PhysiCell's default domains are centred on 0).
    * :func:`write_table` writes positions and type names in the same format (round trip).
    * :func:`check_inside` raises if any cell lies outside the domain box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def hex_lattice(spacing: float, extent: float) -> np.ndarray:
    """Hexagonal lattice points ``[m, 3]`` (z = 0) centred on 0, covering ``|x|, |y| <= extent``."""
    dy = spacing * math.sqrt(3.0) / 2.0
    ny = int(math.ceil(extent / dy)) + 1
    nx = int(math.ceil(extent / spacing)) + 1
    j = np.arange(-ny, ny + 1)
    i = np.arange(-nx, nx + 1)
    jj, ii = np.meshgrid(j, i, indexing="ij")
    x = (ii + 0.5 * (jj % 2)) * spacing
    y = jj * dy
    pts = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1)
    return pts


def fcc_lattice(spacing: float, extent: float) -> np.ndarray:
    """Face-centred cubic lattice points ``[m, 3]`` centred on 0, nearest-neighbour ``spacing``."""
    a = spacing * math.sqrt(2.0)  # cubic cell side
    n = int(math.ceil(extent / a)) + 1
    k = np.arange(-n, n + 1)
    g = np.stack(np.meshgrid(k, k, k, indexing="ij"), axis=-1).reshape(-1, 3).astype(float)
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    pts = (g[:, None, :] + basis[None, :, :]).reshape(-1, 3) * a
    return pts


def _lattice(dim: int, spacing: float, extent: float) -> np.ndarray:
    if dim not in (2, 3):
        raise ValueError(f"cell placements need dim 2 or 3, got {dim}")
    if not spacing > 0:
        raise ValueError(f"spacing must be > 0 µm, got {spacing}")
    return hex_lattice(spacing, extent) if dim == 2 else fcc_lattice(spacing, extent)


def ball(
    dim: int,
    spacing: float,
    center: Sequence[float],
    n: int | None = None,
    radius: float | None = None,
) -> np.ndarray:
    """A disc (2-D) or ball (3-D) of lattice-packed cells; exactly one of ``n``, ``radius``.

    Args:
        dim: 2 or 3.
        spacing: centre-to-centre distance of neighbours, µm.
        center: centre of the ball, µm (``dim`` or 3 values).
        n: number of cells: the ``n`` lattice points nearest the centre.
        radius: µm; every lattice point at distance ``<= radius`` from the centre.

    Returns:
        ``[n, 3]`` positions, µm, nearest the centre first.
    """
    if (n is None) == (radius is None):
        raise ValueError("give exactly one of n and radius")
    if n is not None:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        # radius holding n cells at the lattice's density, with a margin
        per = spacing**2 * math.sqrt(3.0) / 2.0 if dim == 2 else spacing**3 / math.sqrt(2.0)
        unit = math.pi if dim == 2 else 4.0 / 3.0 * math.pi
        reach = (max(n, 1) * per / unit) ** (1.0 / dim) * 1.3 + 2.0 * spacing
    else:
        if not radius >= 0:
            raise ValueError(f"radius must be >= 0 µm, got {radius}")
        reach = radius + 2.0 * spacing
    pts = _lattice(dim, spacing, reach)
    d2 = np.einsum("ij,ij->i", pts, pts)
    # nearest first; ties by x, y, z so the order is fixed
    order = np.lexsort((pts[:, 2], pts[:, 1], pts[:, 0], np.round(d2, 6)))
    pts, d2 = pts[order], d2[order]
    if n is not None:
        if n > pts.shape[0]:  # pragma: no cover - the reach above always suffices
            raise ValueError(f"lattice too small for {n} cells")
        pts = pts[:n]
    else:
        pts = pts[d2 <= radius * radius * (1.0 + 1e-12)]
    c = np.zeros(3)
    c[: len(center)] = np.asarray(center, dtype=np.float64)[:3]
    if dim == 2:
        c[2] = 0.0
    return np.ascontiguousarray(pts + c)


def layer(dim: int, spacing: float, lo: Sequence[float], hi: Sequence[float]) -> np.ndarray:
    """Every lattice point in the box ``lo <= x <= hi`` (µm, ``dim`` values each).

    The lattice is anchored at ``lo``, so a cell sits at the box's lower corner.
    """
    lo_a = np.zeros(3)
    hi_a = np.zeros(3)
    lo_a[:dim] = np.asarray(lo, dtype=np.float64)[:dim]
    hi_a[:dim] = np.asarray(hi, dtype=np.float64)[:dim]
    if len(lo) != dim or len(hi) != dim or np.any(hi_a < lo_a):
        raise ValueError(f"layer needs {dim} values each with lo <= hi, got {lo}, {hi}")
    size = float(np.max(hi_a - lo_a))
    pts = _lattice(dim, spacing, size + 2.0 * spacing) + lo_a
    tol = 1e-9 * max(1.0, size)
    inside = np.all((pts >= lo_a - tol) & (pts <= hi_a + tol), axis=1)
    pts = pts[inside]
    order = np.lexsort((pts[:, 0], pts[:, 1], pts[:, 2]))
    return np.ascontiguousarray(pts[order])


def check_inside(position: np.ndarray, extent: Sequence[float]) -> None:
    """Raise ``ValueError`` naming the first cell outside the box ``[0, extent]``."""
    pos = np.asarray(position, dtype=np.float64)
    dim = len(extent)
    ext = np.asarray(extent, dtype=np.float64)
    bad = np.any((pos[:, :dim] < 0) | (pos[:, :dim] > ext), axis=1)
    if dim == 2:
        bad |= pos[:, 2] != 0
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{int(bad.sum())} initial cell(s) lie outside the domain [0, {list(extent)}] µm, "
            f"e.g. cell {i} at {pos[i].tolist()}"
        )


def _read_frame(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix not in (".csv", ".txt"):
        raise ValueError(f"cell table {path} must be .csv or .parquet")
    first = path.read_text("utf-8").lstrip().split("\n", 1)[0]
    try:
        [float(v) for v in first.split(",")[:3]]
        has_header = False
    except ValueError:
        has_header = True
    if has_header:
        frame = pd.read_csv(path, skipinitialspace=True, float_precision="round_trip")
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        return frame
    frame = pd.read_csv(path, header=None, skipinitialspace=True, float_precision="round_trip")
    if frame.shape[1] < 4:
        raise ValueError(f"cell table {path} without a header needs columns x, y, z, type")
    names = ["x", "y", "z", "type"] + [f"col{k}" for k in range(4, frame.shape[1])]
    frame.columns = names
    return frame


def read_table(
    path: str | Path,
    type_names: Sequence[str],
    dim: int,
    extent: Sequence[float] | None = None,
    origin: str = "corner",
) -> tuple[np.ndarray, np.ndarray]:
    """Cells from a CSV or Parquet table (PhysiCell's ``cells.csv`` included).

    Args:
        path: the table.
        type_names: the model's cell-type names; ``type`` values are names among them or
            integer indices ``0 .. len - 1``.
        dim: 2 or 3 (a 2-D table may omit ``z``; if given it must be 0).
        extent: domain size per axis (µm), needed for ``origin="center"``.
        origin: ``"corner"``: coordinates in the domain's ``[0, L]``; ``"center"``: relative
            to the domain centre (PhysiCell's convention).

    Returns:
        ``([n, 3]`` positions µm, ``[n]`` int32 type indices``)``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"cell table {path} does not exist")
    frame = _read_frame(path)
    missing = [c for c in ("x", "y", "type") if c not in frame.columns]
    if missing:
        raise ValueError(f"cell table {path} lacks column(s) {missing}; needs x, y[, z], type")
    n = len(frame)
    pos = np.zeros((n, 3))
    pos[:, 0] = frame["x"].to_numpy(dtype=np.float64)
    pos[:, 1] = frame["y"].to_numpy(dtype=np.float64)
    if "z" in frame.columns:
        pos[:, 2] = frame["z"].to_numpy(dtype=np.float64)
    if dim == 2 and np.any(pos[:, 2] != 0):
        raise ValueError(f"cell table {path}: a 2-D domain needs z == 0 for every cell")
    if origin == "center":
        if extent is None:
            raise ValueError("origin='center' needs the domain extent")
        pos[:, :dim] += 0.5 * np.asarray(extent, dtype=np.float64)[:dim]
    elif origin != "corner":
        raise ValueError(f"origin must be 'corner' or 'center', got {origin!r}")
    types = _type_indices(frame["type"], list(type_names), path)
    if not np.all(np.isfinite(pos)):
        raise ValueError(f"cell table {path} has non-finite coordinates")
    return np.ascontiguousarray(pos), types


def read_columns(path: str | Path, labels: Sequence[str]) -> dict[str, np.ndarray]:
    """More numeric columns of a cells table, one value per row (NaN where blank).

    Labels match case-insensitively (the reader lower-cases the header).

    Raises:
        ValueError: a missing column, or an entry that is not a number.
    """
    path = Path(path)
    frame = _read_frame(path)
    out = {}
    for label in labels:
        key = label.strip().lower()
        if key not in frame.columns:
            raise ValueError(f"cell table {path} has no column {label!r}; it has "
                             f"{', '.join(map(str, frame.columns))}")  # fmt: skip
        values = pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64)
        bad = frame[key].notna().to_numpy() & ~np.isfinite(values)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise ValueError(f"cell table {path}, row {r}: column {label!r} holds "
                             f"{frame[key].iloc[r]!r}, not a number")  # fmt: skip
        out[label] = values
    return out


def _type_indices(col: pd.Series, names: list[str], path: Path) -> np.ndarray:
    index = {name: i for i, name in enumerate(names)}
    out = np.empty(len(col), dtype=np.int32)
    for r, v in enumerate(col.tolist()):
        key = v.strip() if isinstance(v, str) else v
        if isinstance(key, str) and key in index:
            out[r] = index[key]
            continue
        try:
            f = float(key)
        except (TypeError, ValueError):
            raise ValueError(
                f"cell table {path}, row {r}: unknown cell type {v!r}; known: {names}"
            ) from None
        if f != int(f) or not 0 <= int(f) < len(names):
            raise ValueError(
                f"cell table {path}, row {r}: type index {v!r} is not in 0..{len(names) - 1} "
                f"({names})"
            )
        out[r] = int(f)
    return out


def write_table(
    path: str | Path, position: np.ndarray, types: np.ndarray, type_names: Sequence[str], dim: int
) -> Path:
    """Write cells as a table readable by :func:`read_table` (``.csv`` or ``.parquet``)."""
    path = Path(path)
    pos = np.asarray(position, dtype=np.float64)
    cols = {"x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2] if dim == 3 else np.zeros(len(pos))}
    cols["type"] = [type_names[int(t)] for t in np.asarray(types)]
    frame = pd.DataFrame(cols)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
