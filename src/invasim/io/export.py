"""Export a run to ParaView (VTK), scanpy (AnnData ``.h5ad``), plain CSV and PhysiCell (pcdl).

Contract:
    * The snapshots exported are the run's own (``Run.times``), all of them or the ``times``
      asked for; a time that is not a snapshot, or a field the run does not have, is an
      :class:`~invasim.errors.InvasimError` of one line that lists what the run has.
    * Every cell column is exported, so a new column (a trait, a clone label, a matrix value)
      reaches every format without a code path of its own. Its *role* decides where it goes:
      the coordinates :data:`COORDS` (µm) are VTK points, ``obsm["spatial"]`` and CSV columns;
      the bookkeeping columns :data:`OBS_COLUMNS` (identity, lineage, state, clocks) and any
      non-numeric or boolean column are AnnData ``obs``; every other numeric column is a
      measurement, an AnnData ``X`` column (``radius``, ``volume``, traits). Coded columns
      (:data:`LABELS`: ``type``, ``dead``) also carry their names: VTK field data
      ``<column>_names``, AnnData categoricals (``type``, ``state``), CSV label columns
      (``type_name``, ``state``). Units come from :data:`CELL_COLUMNS` and the run's fields.
    * VTK (through pyvista): per snapshot ``k``, ``fields_<k>.vti`` (an ``ImageData``: origin 0,
      spacing the voxel side in µm, one cell-data array per field, 1-D and 2-D fields as flat
      images) and, for agent runs, ``cells_<k>.vtp`` (a ``PolyData`` of one point per cell,
      every other column as point data); ``fields.pvd`` and ``cells.pvd`` index them by
      simulated time (min) for ParaView. VTK strings are ASCII, so units there read ``um``.
    * AnnData: one observation per cell per snapshot, named ``c<id>_s<k>``.
    * VTK needs the ``vtk`` extra (pyvista), AnnData the ``anndata`` extra; without it the
      export raises :class:`~invasim.extras.MissingExtraError` (one line naming the extra)
      before anything is read or written. CSV needs no extra.
    * CSV: ``metrics.csv`` (a copy), ``cells.csv`` (every snapshot, ``time_min`` first),
      ``fields.csv`` (one long table: ``time_min``, voxel centre ``x[, y[, z]]`` µm, one column
      per field) and ``columns.csv`` (table, column, unit, description).
    * Every file is written whole (:func:`~invasim.io.atomic.write_atomic`). A folder export is
      assembled in a hidden folder beside its files and moved in at the end, indexes last, so
      an error leaves the output folder as it was. An earlier export's files are refused unless
      ``overwrite``, which replaces them all (stale snapshots included).
    * PhysiCell: PhysiCell's ``output/`` folder (MultiCellDS XML + ``.mat``), for pcdl; the
      format is :mod:`invasim.io.export_physicell`, the selection and staging this module's.
"""

from __future__ import annotations

import io
import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from invasim.core.cells import ALIVE, APOPTOTIC, NECROTIC
from invasim.errors import InvasimError, RunDirError
from invasim.extras import require
from invasim.io.atomic import os_error_line, write_atomic, write_text_atomic
from invasim.io.export_physicell import PATTERNS as PHYSICELL_PATTERNS
from invasim.io.export_physicell import write_physicell
from invasim.io.run import Run

FORMATS = ("vtk", "anndata", "csv", "physicell")
#: the features of the optional formats, as an error about a missing extra names them
VTK_FEATURE = "invasim export --format vtk"
ANNDATA_FEATURE = "invasim export --format anndata"
#: position columns of a cell table, µm
COORDS = ("x", "y", "z")
#: identity, lineage, state and clock columns: AnnData ``obs``, never measurements
OBS_COLUMNS = frozenset(
    {"id", "parent_id", "clone_id", "generation", "type", "phase", "time_in_phase", "dead",
     "time_min"}
)  # fmt: skip
#: names of the ``dead`` codes
STATE_NAMES = {ALIVE: "alive", APOPTOTIC: "apoptotic", NECROTIC: "necrotic"}
#: unit ("" for none, "1" for a pure number) and meaning of the known cell-table columns; a
#: column not listed is exported all the same, with no unit recorded
CELL_COLUMNS = {
    "time_min": ("min", "simulated time of the snapshot"),
    "id": ("", "cell id: unique in the run, never reused"),
    "parent_id": ("", "id of the mother cell (-1 for founders)"),
    "clone_id": ("", "id of the founder of the cell's lineage"),
    "generation": ("", "divisions since the founder"),
    "type": ("", "cell-type index"),
    "type_name": ("", "cell-type name"),
    "phase": ("", "phase index in the cell type's cycle model"),
    "time_in_phase": ("min", "time spent in the current phase"),
    "dead": ("", "0 alive, 1 apoptotic, 2 necrotic"),
    "state": ("", "alive, apoptotic or necrotic"),
    "x": ("µm", "cell centre x"),
    "y": ("µm", "cell centre y"),
    "z": ("µm", "cell centre z"),
    "radius": ("µm", "radius of the cell's sphere"),
    "volume": ("µm³", "cell volume"),
    "motility_dx": ("1", "motility direction, x component (unit vector)"),
    "motility_dy": ("1", "motility direction, y component (unit vector)"),
    "motility_dz": ("1", "motility direction, z component (unit vector)"),
}
_ASCII = {"µ": "u", "²": "^2", "³": "^3", "–": "-", "—": "-", "·": "*", "×": "x"}


@dataclass(frozen=True)
class Label:
    """An integer-coded cell column and where its names go.

    Attributes:
        column: the coded column (its values index the names).
        obs_name: the AnnData categorical that replaces it in ``obs``.
        csv_name: the CSV column of names written beside it.
    """

    column: str
    obs_name: str
    csv_name: str


LABELS = (Label("type", "type", "type_name"), Label("dead", "state", "state"))


# -- what the run holds ------------------------------------------------------------------------
def has_cells(run: Run) -> bool:
    """Whether the run recorded cell snapshots (an agent run)."""
    folder = run.path / "cells"
    return folder.is_dir() and any(folder.glob("[0-9]*.parquet"))


def _fmt_times(times: np.ndarray) -> str:
    t = [f"{v:g}" for v in times]
    return ", ".join(t if len(t) <= 8 else [*t[:3], "...", *t[-2:]]) + f" min ({len(t)} snapshots)"


def select_times(run: Run, times: Iterable[float] | None = None) -> list[tuple[int, float]]:
    """``(snapshot index, time in min)`` of ``times`` (default: every snapshot), checked.

    A time names the snapshot within half a time step of it (as :meth:`Run.time_index`).
    """
    have = run.times
    if len(have) == 0:
        raise RunDirError(f"{run.path} has no snapshots yet")
    if times is None:
        return [(k, float(t)) for k, t in enumerate(have)]
    out: dict[int, float] = {}
    for t in map(float, times):
        k = int(np.argmin(np.abs(have - t))) if np.isfinite(t) else -1
        try:
            found = k >= 0 and run.time_index(t) == k
        except RunDirError:
            found = False
        if not found:
            near = f"; nearest {have[k]:g} min" if k >= 0 else ""
            raise InvasimError(
                f"no snapshot at t = {t:g} min in {run.path}{near}; snapshots: {_fmt_times(have)}"
            )
        out[k] = float(have[k])
    return sorted(out.items())


def select_fields(run: Run, fields: Iterable[str] | None = None) -> list[str]:
    """The names of ``fields`` (default: every recorded field), checked."""
    names = run.field_names
    if fields is None:
        return names
    for f in fields:
        if f not in names:
            raise InvasimError(f"unknown field {f!r}; {run.path} has {', '.join(names) or 'none'}")
    return list(dict.fromkeys(fields))


def _unit(column: str) -> str:
    """The unit of a cell column, "" if none is recorded."""
    return CELL_COLUMNS.get(column, ("", ""))[0]


def label_names(run: Run, frame: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Names of the codes of each :data:`LABELS` column (cell types from the scenario)."""
    params = (run.meta.get("scenario") or {}).get("params") or {}
    types = [str(t) for t in (params.get("cell_types") or {})]
    names = {"type": types, "dead": [STATE_NAMES[k] for k in sorted(STATE_NAMES)]}
    if frame is not None:  # codes beyond the names get a generic one, never an error
        for col, got in names.items():
            top = int(frame[col].max()) + 1 if col in frame and len(frame) else 0
            got += [f"{col} {i}" for i in range(len(got), top)]
    return names


def cell_frames(run: Run, selected: Sequence[tuple[int, float]]) -> list[pd.DataFrame]:
    """The cell table of each selected snapshot (``time_min`` column included)."""
    return [run.cells(t).assign(time_min=t) for _, t in selected]


def measurement_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that are measurements (AnnData ``X``): numeric, not coordinates or bookkeeping."""
    return [
        c for c in frame.columns
        if c not in COORDS and c not in OBS_COLUMNS and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]  # fmt: skip


# -- whole files -------------------------------------------------------------------------------
def _copy_into(src: Path) -> Callable:
    def write(f) -> None:
        with open(src, "rb") as g:
            shutil.copyfileobj(g, f, 1 << 20)

    return write


def _save_with(path: Path, save: Callable[[Path], None]) -> None:
    """Let a library that writes by file name create ``path`` whole (scratch file, then copy)."""
    scratch = path.with_name(f".{path.stem}.scratch-{os.getpid()}{path.suffix}")
    try:
        save(scratch)
        if not scratch.is_file():
            raise RunDirError(f"cannot write {path}")
        write_atomic(path, _copy_into(scratch))
    except OSError as exc:
        raise RunDirError(os_error_line(exc, path)) from None
    finally:
        scratch.unlink(missing_ok=True)


def _write_csv(path: Path, frames: Iterable[pd.DataFrame]) -> None:
    """Write ``frames`` one after the other as one CSV table (header from the first)."""

    def write(f) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        for i, frame in enumerate(frames):
            frame.to_csv(text, index=False, header=i == 0)
        text.flush()
        text.detach()

    write_atomic(path, write)


class _Staged:
    """A folder export assembled in a hidden folder of ``out_dir``, then moved in at once."""

    def __init__(self, out_dir: Path, patterns: Sequence[str], overwrite: bool) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise RunDirError(f"--out {self.out_dir} exists and is not a folder")
        old = {p for pat in patterns for p in self.out_dir.glob(pat)}
        if old and not overwrite:
            raise RunDirError(
                f"{self.out_dir} holds an earlier export ({len(old)} files, e.g. "
                f"{sorted(old)[0].name}); pass --overwrite to replace it"
            )
        self.stale = old
        self.made = [p for p in (self.out_dir, *self.out_dir.parents) if not p.exists()]
        self.stage = self.out_dir / f".export-{os.getpid()}"
        try:
            self.stage.mkdir(parents=True)
        except OSError as exc:
            self.abort()
            raise RunDirError(os_error_line(exc, self.out_dir)) from None

    def abort(self) -> None:
        """Remove the staging folder and the folders made for it."""
        shutil.rmtree(self.stage, ignore_errors=True)
        for p in self.made:  # innermost first
            try:
                p.rmdir()
            except OSError:
                break

    def commit(self, names: Sequence[str]) -> list[Path]:
        """Replace the earlier export by the staged files ``names``, moved in in that order."""
        try:
            for p in self.stale - {self.out_dir / n for n in names}:
                p.unlink(missing_ok=True)
            out = []
            for n in names:
                os.replace(self.stage / n, self.out_dir / n)
                out.append(self.out_dir / n)
            self.stage.rmdir()
        except OSError as exc:
            raise RunDirError(os_error_line(exc, self.out_dir)) from None
        return out


def _staged(
    out_dir: Path, patterns: Sequence[str], overwrite: bool, fill: Callable[[Path], list[str]]
) -> list[Path]:
    """Run ``fill(stage) -> names`` in a staging folder of ``out_dir``, then commit the names."""
    st = _Staged(out_dir, patterns, overwrite)
    try:
        names = fill(st.stage)
    except BaseException:
        st.abort()
        raise
    return st.commit(names)


# -- VTK ---------------------------------------------------------------------------------------
def _ascii(text: str) -> str:
    for k, v in _ASCII.items():
        text = text.replace(k, v)
    return text.encode("ascii", "replace").decode("ascii")


def _pvd(entries: Sequence[tuple[float, str]]) -> str:
    root = ET.Element("VTKFile", type="Collection", version="0.1", byte_order="LittleEndian")
    coll = ET.SubElement(root, "Collection")
    for t, name in entries:
        ET.SubElement(coll, "DataSet", timestep=repr(float(t)), group="", part="0", file=name)
    ET.indent(root)
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def field_image(run: Run, t: float, fields: Sequence[str]):
    """The snapshot at ``t`` min of ``fields`` as a :class:`pyvista.ImageData` (``vtk`` extra)."""
    pv = require("vtk", "pyvista", VTK_FEATURE)

    mesh = run.mesh
    dims = [n + 1 for n in mesh.n] + [1] * (3 - mesh.dim)
    img = pv.ImageData(dimensions=dims, spacing=(mesh.h,) * 3, origin=(0.0, 0.0, 0.0))
    info = run.field_info
    img.field_data["time_min"] = np.array([t])
    for name in fields:
        # user shape (z, y, x) in C order is x fastest: VTK's cell order
        img.cell_data[name] = np.ascontiguousarray(run.field(name, t), dtype=np.float64).ravel()
        img.field_data[f"{name}_unit"] = np.array([_ascii(str(info[name].get("unit", "")))])
        img.field_data[f"{name}_description"] = np.array(
            [_ascii(str(info[name].get("description", "")))]
        )
    return img


def cell_points(frame: pd.DataFrame, names: dict[str, list[str]], t: float):
    """One cell snapshot as a :class:`pyvista.PolyData`: a point per cell (``vtk`` extra)."""
    pv = require("vtk", "pyvista", VTK_FEATURE)

    pts = np.zeros((len(frame), 3))
    for a, c in enumerate(COORDS):
        if c in frame:
            pts[:, a] = frame[c].to_numpy(np.float64)
    poly = pv.PolyData(pts)
    poly.field_data["time_min"] = np.array([t])
    for col in frame.columns:
        if col in COORDS or col == "time_min":
            continue
        values = frame[col]
        if pd.api.types.is_bool_dtype(values):
            values = values.astype(np.uint8)
        elif not pd.api.types.is_numeric_dtype(values):  # text or categories: codes + names
            cat = values.astype("category")
            names = {**names, col: [str(c) for c in cat.cat.categories]}
            values = cat.cat.codes.astype(np.int32)
        poly.point_data[col] = np.ascontiguousarray(values.to_numpy())
        if col in names:
            poly.field_data[f"{col}_names"] = np.array([_ascii(n) for n in names[col]] or [""])
        if _unit(col):
            poly.field_data[f"{col}_unit"] = np.array([_ascii(_unit(col))])
    poly.field_data["position_unit"] = np.array(["um"])
    return poly


def export_vtk(
    run: Run,
    out_dir: str | Path,
    times: Iterable[float] | None = None,
    fields: Iterable[str] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the run's fields (``.vti``) and cells (``.vtp``) per snapshot, with ``.pvd`` indexes.

    Args:
        run: the run.
        out_dir: output folder (created).
        times: snapshot times to export, min (default: all).
        fields: fields to export (default: all).
        overwrite: replace an earlier export in ``out_dir``.

    Returns:
        the files written, indexes last.

    Raises:
        MissingExtraError: pyvista (the ``vtk`` extra) is not installed.
    """
    require("vtk", "pyvista", VTK_FEATURE)  # before anything is read or staged
    selected = select_times(run, times)
    names = select_fields(run, fields)
    cells = has_cells(run)

    def fill(stage: Path) -> list[str]:
        series: dict[str, list[tuple[float, str]]] = {"fields": []}
        if cells:
            series["cells"] = []
        for k, t in selected:
            name = f"fields_{k:06d}.vti"
            img = field_image(run, t, names)
            _save_with(stage / name, lambda p, img=img: img.save(p))
            series["fields"].append((t, name))
            if cells:
                frame = run.cells(t).assign(time_min=t)
                name = f"cells_{k:06d}.vtp"
                poly = cell_points(frame, label_names(run, frame), t)
                _save_with(stage / name, lambda p, poly=poly: poly.save(p))
                series["cells"].append((t, name))
        for s, entries in series.items():
            write_text_atomic(stage / f"{s}.pvd", _pvd(entries))
        data = [name for entries in series.values() for _, name in entries]
        return [*data, *(f"{s}.pvd" for s in series)]

    return _staged(Path(out_dir), ("fields_*.vti", "cells_*.vtp", "*.pvd"), overwrite, fill)


# -- AnnData -----------------------------------------------------------------------------------
def to_anndata(run: Run, times: Iterable[float] | None = None):
    """The cells of the selected snapshots as one :class:`anndata.AnnData`.

    ``X``: the measurement columns (:func:`measurement_columns`: radius, volume, traits),
    float64, units in ``var["unit"]``. ``obs``: the bookkeeping columns with their dtypes,
    ``type`` and ``state`` (from ``dead``) as categoricals whose codes are the integer values,
    and ``time_min``. ``obsm["spatial"]``: positions, µm. ``uns``: scenario, model, seed,
    invasim versions, units, snapshot times, type and state names.

    Raises:
        MissingExtraError: anndata (the ``anndata`` extra) is not installed.
    """
    ad = require("anndata", "anndata", ANNDATA_FEATURE)

    from invasim.version import __version__

    if not has_cells(run):
        raise InvasimError(f"{run.path} has no cells; anndata export needs an agent run")
    selected = select_times(run, times)
    frames = cell_frames(run, selected)
    frame = pd.concat(frames, ignore_index=True)
    snap = np.repeat([k for k, _ in selected], [len(f) for f in frames]).astype(np.int64)
    names = label_names(run, frame)
    coords = [c for c in COORDS if c in frame]
    meas = measurement_columns(frame)
    obs = frame[[c for c in frame.columns if c not in coords and c not in meas]].copy()
    for lab in LABELS:  # a categorical in the coded column's place
        if lab.column in obs:
            loc = obs.columns.get_loc(lab.column)
            codes = obs.pop(lab.column).to_numpy()
            cat = pd.Categorical.from_codes(codes, categories=names[lab.column])
            obs.insert(loc, lab.obs_name, cat)
    obs.index = pd.Index([f"c{i}_s{k}" for i, k in zip(frame["id"], snap, strict=True)], dtype=str)
    var = pd.DataFrame({"unit": [_unit(c) for c in meas]}, index=meas)
    uns = {
        "scenario": run.meta.get("scenario_name"),
        "model": run.meta.get("model"),
        "seed": run.meta.get("seed"),
        "invasim_version": run.meta.get("invasim_version"),
        "exported_with": f"invasim {__version__}",
        "units": {"spatial": "µm", **{c: _unit(c) for c in frame.columns if _unit(c)}},
        "times_min": np.array([t for _, t in selected], dtype=np.float64),
        "type_names": names["type"],
        "state_names": names["dead"],
    }
    return ad.AnnData(
        X=frame[meas].to_numpy(np.float64),
        obs=obs,
        var=var,
        obsm={"spatial": frame[coords].to_numpy(np.float64)},
        uns={k: v for k, v in uns.items() if v is not None},
    )


def export_anndata(
    run: Run, path: str | Path, times: Iterable[float] | None = None, overwrite: bool = False
) -> Path:
    """Write the cells of the selected snapshots as one ``.h5ad`` file (:func:`to_anndata`)."""
    require("anndata", "anndata", ANNDATA_FEATURE)  # before anything is read or checked
    path = Path(path)
    if path.is_dir():
        raise RunDirError(f"--out {path} is a folder; name the .h5ad file")
    if path.exists() and not overwrite:
        raise RunDirError(f"{path} exists; pass --overwrite to replace it")
    adata = to_anndata(run, times)
    made = [p for p in path.parents if not p.exists()]
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(os_error_line(exc, path.parent)) from None
        _save_with(path, adata.write_h5ad)
    except BaseException:
        for p in made:  # innermost first; only the folders made here, and only if empty
            try:
                p.rmdir()
            except OSError:
                break
        raise
    return path


# -- CSV ---------------------------------------------------------------------------------------
def field_rows(run: Run, t: float, fields: Sequence[str]) -> pd.DataFrame:
    """One snapshot as long rows: ``time_min``, voxel centre ``x[, y[, z]]`` µm, each field."""
    mesh = run.mesh
    grids = np.meshgrid(*(mesh.centers(a) for a in mesh.dims), indexing="ij")
    centres = {a: g.ravel() for a, g in zip(mesh.dims, grids, strict=True)}  # user shape, x fastest
    cols = {"time_min": np.full(mesh.n_voxels, t)}
    cols.update({a: centres[a] for a in COORDS[: mesh.dim]})
    for name in fields:
        cols[name] = np.asarray(run.field(name, t), dtype=np.float64).ravel()
    return pd.DataFrame(cols)


def cell_table(frame: pd.DataFrame, names: dict[str, list[str]]) -> pd.DataFrame:
    """A cell table for CSV: ``time_min`` first, a name column beside each coded column."""
    out = frame[["time_min", *(c for c in frame.columns if c != "time_min")]].copy()
    for lab in LABELS:
        if lab.column in out:
            labels = np.asarray(names[lab.column], dtype=object)[out[lab.column].to_numpy()]
            out.insert(out.columns.get_loc(lab.column) + 1, lab.csv_name, labels)
    return out


def export_csv(
    run: Run,
    out_dir: str | Path,
    times: Iterable[float] | None = None,
    fields: Iterable[str] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``metrics.csv``, ``cells.csv`` (agent runs), ``fields.csv`` and ``columns.csv``."""
    selected = select_times(run, times)
    names = select_fields(run, fields)
    info = run.field_info

    def fill(stage: Path) -> list[str]:
        src = run.path / "metrics.csv"
        try:
            metrics = src.read_bytes()
        except OSError as exc:
            raise RunDirError(f"cannot read {src}: {exc.strerror or exc}") from None
        write_atomic(stage / "metrics.csv", lambda f: f.write(metrics))
        out, dictionary = ["metrics.csv"], []
        if has_cells(run):
            frame = pd.concat(cell_frames(run, selected), ignore_index=True)
            table = cell_table(frame, label_names(run, frame))
            _write_csv(stage / "cells.csv", [table])
            out.append("cells.csv")
            dictionary += [("cells", c, *CELL_COLUMNS.get(c, ("", ""))) for c in table.columns]
        _write_csv(stage / "fields.csv", (field_rows(run, t, names) for _, t in selected))
        out.append("fields.csv")
        coords = ("time_min", *COORDS[: run.mesh.dim])
        dictionary.append(("fields", "time_min", *CELL_COLUMNS["time_min"]))
        dictionary += [("fields", c, "µm", f"voxel centre {c}") for c in coords[1:]]
        dictionary += [("fields", f, info[f].get("unit", ""), info[f].get("description", ""))
                       for f in names]  # fmt: skip
        cols = pd.DataFrame(dictionary, columns=["table", "column", "unit", "description"])
        _write_csv(stage / "columns.csv", [cols])
        return [*out, "columns.csv"]

    files = ("metrics.csv", "cells.csv", "fields.csv", "columns.csv")
    return _staged(Path(out_dir), files, overwrite, fill)


# -- PhysiCell ---------------------------------------------------------------------------------
def export_physicell(
    run: Run,
    out_dir: str | Path,
    times: Iterable[float] | None = None,
    fields: Iterable[str] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the run as PhysiCell's output folder, for pcdl (:mod:`invasim.io.export_physicell`)."""
    selected = select_times(run, times)
    names = select_fields(run, fields)
    units = {c: unit for c, (unit, _) in CELL_COLUMNS.items()}

    def fill(stage: Path) -> list[str]:
        types = label_names(run)["type"]
        return write_physicell(stage, run, selected, names, types, units, has_cells(run))

    return _staged(Path(out_dir), PHYSICELL_PATTERNS, overwrite, fill)


# -- one entry point for the command line ------------------------------------------------------
def export(
    run: Run,
    fmt: str,
    out: str | Path | None = None,
    times: Iterable[float] | None = None,
    fields: Iterable[str] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Export ``run`` as ``fmt`` (``vtk``, ``anndata``, ``csv`` or ``physicell``) to ``out``.

    ``out`` defaults to ``RUN_DIR/export/<fmt>/``; for ``anndata`` it is the ``.h5ad`` file, or
    a folder that receives ``cells.h5ad``. Returns the files written.
    """
    if fmt not in FORMATS:
        raise InvasimError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out) if out is not None else run.path / "export" / fmt
    if fmt == "vtk":
        return export_vtk(run, out, times, fields, overwrite)
    if fmt == "csv":
        return export_csv(run, out, times, fields, overwrite)
    if fmt == "physicell":
        return export_physicell(run, out, times, fields, overwrite)
    if fields is not None:
        raise InvasimError(
            "--field applies to the vtk and csv (and physicell) formats; anndata holds cells only"
        )
    if out.suffix != ".h5ad":
        out = out / "cells.h5ad"
    return [export_anndata(run, out, times, overwrite)]
