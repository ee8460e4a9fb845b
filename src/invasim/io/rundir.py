"""The run directory: what a run writes, and how a killed run is resumed.

Layout of a run directory::

    run.json          resolved scenario, seed, version, platform, times, status
    metrics.csv       one row per output interval, first column time_min
    fields.zarr/      field snapshots (time × [z ×] [y ×] x), units and spacing as attributes
    checkpoints/      step_<step>.npz: full state at each checkpoint (resume and branch points)
    summary.png       the run at a glance

Every file is written whole (temporary file, then rename). A Zarr snapshot is a set of chunk
files; a run killed while writing one is repaired on resume, which truncates the store to the
records the last checkpoint knows about and writes the rest again.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import zarr

from invasim.core.mesh import AXIS_NAMES, Mesh
from invasim.errors import RunDirError
from invasim.io.atomic import os_error_line, write_atomic, write_text_atomic

RUN_JSON = "run.json"
METRICS_CSV = "metrics.csv"
FIELDS_ZARR = "fields.zarr"
CHECKPOINTS = "checkpoints"
SUMMARY_PNG = "summary.png"


def prepare_out_dir(path: Path, overwrite: bool) -> Path:
    """Create an empty run directory; refuse a non-empty one unless ``overwrite``."""
    path = Path(path)
    try:
        if path.exists() and not path.is_dir():
            raise RunDirError(f"--out {path} exists and is not a directory")
        if path.is_dir() and any(path.iterdir()):
            if not overwrite:
                raise RunDirError(
                    f"--out {path} is not empty; choose another directory or pass --overwrite"
                )
            for child in path.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".invasim-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(os_error_line(exc, path)) from None
    return path


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    cap = 2048 if len(shape) <= 2 else 128
    return (1, *(min(s, cap) for s in shape))


class RunWriter:
    """Writes one run directory as the simulation advances."""

    def __init__(self, path: Path, mesh: Mesh, field_meta: list[dict[str, Any]]) -> None:
        self.path = Path(path)
        self.mesh = mesh
        self.field_meta = field_meta
        self.rows: list[dict[str, float]] = []
        self._group: zarr.Group | None = None

    # -- metadata ----------------------------------------------------------------------------
    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write ``run.json`` whole."""
        write_text_atomic(self.path / RUN_JSON, json.dumps(meta, indent=2, default=str) + "\n")

    # -- records -----------------------------------------------------------------------------
    def _open_store(self, create: bool) -> zarr.Group:
        if self._group is not None:
            return self._group
        store = self.path / FIELDS_ZARR
        try:
            if create:
                g = zarr.open_group(store, mode="w")
                g.attrs.update(
                    {"voxel_um": self.mesh.h, "dims": list(self.mesh.dims), "time_unit": "min"}
                )
                t = g.create_array(
                    "time", shape=(0,), chunks=(4096,), dtype="f8", dimension_names=["time"]
                )
                t.attrs.update({"units": "min", "long_name": "simulated time"})
                for a, name in enumerate(AXIS_NAMES[: self.mesh.dim]):
                    c = g.create_array(
                        name, shape=(self.mesh.n[a],), dtype="f8", dimension_names=[name]
                    )
                    c[:] = self.mesh.centers(name)
                    c.attrs.update({"units": "µm", "long_name": f"voxel centre {name}"})
                for meta in self.field_meta:
                    arr = g.create_array(
                        meta["name"],
                        shape=(0, *self.mesh.shape),
                        chunks=_chunks(self.mesh.shape),
                        dtype="f8",
                        dimension_names=["time", *self.mesh.dims],
                    )
                    arr.attrs.update(
                        {
                            "units": meta["unit"],
                            "long_name": meta["description"],
                            "voxel_um": self.mesh.h,
                            "diffusion_um2_per_min": meta["diffusion_um2_per_min"],
                            "decay_per_min": meta["decay_per_min"],
                        }
                    )
            else:
                g = zarr.open_group(store, mode="r+")
        except OSError as exc:
            raise RunDirError(os_error_line(exc, store)) from None
        self._group = g
        return g

    def start(self) -> None:
        """Create the Zarr store and an empty metrics table."""
        self._open_store(create=True)
        self.rows = []

    def record(
        self,
        t_min: float,
        metrics: dict[str, float],
        fields: dict[str, np.ndarray],
        tables: dict[str, pd.DataFrame] | None = None,
    ) -> None:
        """Append one metrics row, one field snapshot and the snapshot tables (Parquet)."""
        g = self._open_store(create=False)
        k = len(self.rows)
        for name, frame in (tables or {}).items():
            folder = self.path / name
            try:
                folder.mkdir(exist_ok=True)
            except OSError as exc:
                raise RunDirError(os_error_line(exc, folder)) from None
            table = frame.assign(time_min=t_min)
            write_atomic(folder / f"{k:06d}.parquet", lambda f, t=table: t.to_parquet(f))
        try:
            for meta in self.field_meta:
                arr = g[meta["name"]]
                arr.resize((k + 1, *self.mesh.shape))
                arr[k] = self.mesh.view(fields[meta["name"]])
            times = g["time"]
            times.resize((k + 1,))
            times[k] = t_min
        except OSError as exc:
            raise RunDirError(os_error_line(exc, self.path / FIELDS_ZARR)) from None
        self.rows.append({"time_min": t_min, **metrics})
        self._write_metrics()

    def _write_metrics(self) -> None:
        frame = pd.DataFrame(self.rows)
        buf = io.StringIO()
        frame.to_csv(buf, index=False, float_format="%.10g")
        write_text_atomic(self.path / METRICS_CSV, buf.getvalue())

    def truncate(self, n_records: int) -> None:
        """Keep only the first ``n_records`` records (resume after a crash)."""
        try:
            frame = pd.read_csv(self.path / METRICS_CSV)
        except (OSError, ValueError) as exc:
            raise RunDirError(f"cannot read {self.path / METRICS_CSV}: {exc}") from None
        self.rows = frame.iloc[:n_records].to_dict("records")
        if len(self.rows) < n_records:
            raise RunDirError(
                f"{self.path / METRICS_CSV} has {len(self.rows)} rows, the checkpoint expects "
                f"{n_records}; the run directory was changed by hand"
            )
        for table in self.path.glob("*/[0-9]*.parquet"):
            if int(table.stem) >= n_records:
                table.unlink()
        g = self._open_store(create=False)
        for meta in self.field_meta:
            g[meta["name"]].resize((n_records, *self.mesh.shape))
        g["time"].resize((n_records,))
        self._write_metrics()

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoint(
        self,
        step: int,
        t_min: float,
        fields: dict[str, np.ndarray],
        state: dict[str, np.ndarray],
        extra: dict[str, Any],
    ) -> Path:
        """Write the full state at ``step`` as ``checkpoints/step_<step>.npz``."""
        folder = self.path / CHECKPOINTS
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise RunDirError(os_error_line(exc, folder)) from None
        meta = {"step": step, "time_min": t_min, **extra}
        arrays = {f"field__{k}": v for k, v in fields.items()}
        arrays.update({f"state__{k}": v for k, v in state.items()})
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = folder / f"step_{step:012d}.npz"
        write_atomic(path, lambda f: np.savez(f, **arrays))
        return path


# -- reading checkpoints -----------------------------------------------------------------------
def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint files of a run, oldest first."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step_*.npz") if not p.name.startswith("."))


def checkpoint_step(path: Path) -> int:
    """The step a checkpoint file holds, from its name ``step_<step>.npz``."""
    return int(Path(path).stem.split("_")[1])


def load_checkpoint(
    path: Path,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Fields, the model's extra state arrays and metadata stored in one checkpoint file."""
    try:
        with np.load(path) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            fields, state = {}, {}
            for k in data.files:
                if k.startswith("field__"):
                    fields[k[len("field__") :]] = np.ascontiguousarray(data[k])
                elif k.startswith("state__"):
                    state[k[len("state__") :]] = np.array(data[k])
    except (OSError, ValueError, KeyError) as exc:
        raise RunDirError(f"cannot read checkpoint {path}: {exc}") from None
    return fields, state, meta


def read_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Fields and metadata stored in one checkpoint file."""
    fields, _, meta = load_checkpoint(path)
    return fields, meta


def read_run_json(run_dir: Path) -> dict[str, Any]:
    """The metadata of a run directory."""
    path = Path(run_dir) / RUN_JSON
    if not Path(run_dir).is_dir():
        raise RunDirError(f"{run_dir} is not a run directory (no such directory)")
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{run_dir} is not a run directory (no {RUN_JSON})") from None
    except (OSError, ValueError) as exc:
        raise RunDirError(f"cannot read {path}: {exc}") from None


def remove_partial(path: Path) -> None:
    """Remove stray temporary files left in a run directory by a killed writer."""
    for tmp in Path(path).rglob(".*.tmp-*"):
        try:
            tmp.unlink()
        except OSError:
            pass


__all__ = [
    "RunWriter",
    "list_checkpoints",
    "prepare_out_dir",
    "checkpoint_step",
    "load_checkpoint",
    "read_checkpoint",
    "read_run_json",
    "remove_partial",
]
