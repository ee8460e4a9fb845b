"""A run directory's shedding calibration, and the ``invasim shedding RUN_DIR`` command.

Contract:
    * :func:`run_front` ``(run) -> (times, fronts, dim, cell volume)``: the tumour–stroma
      interface (:func:`invasim.analysis.tumour_interface.frame_interface`) of every stored
      cells snapshot, over the live cells of the tumour types (the cell types whose
      ``intravasation.rate_per_min`` is > 0 in the run's scenario), and the mean volume of
      those cells over the snapshots (v of the scaling).
    * :func:`calibrate_run` ``(run, slice_um=None) -> ShedCalibration``: the events of the
      last ``intravasation_events`` table (cumulative) over the run's snapshot times,
      :func:`invasim.body.shedding.calibrate_shedding`. A run whose scenario lacks the
      intravasation process, has no intravasating cell type, or has no events raises
      :class:`~invasim.errors.RunDirError` (one line saying what is needed).
    * :func:`shedding_toml` / :func:`write_shedding`: ``shedding.toml``, a ``[body]`` table
      (``shed_per_day``, ``alpha``, ``cluster_fraction``: the overrides of
      :class:`~invasim.body.BodyParams`, usable in a scenario's ``[params.body]`` or a cohort
      spec), ``[sources]`` naming the run and the figures behind each value, and
      ``[calibration]`` with the interval and the provenance; written whole or not at all.
    * :func:`add_parser` / :func:`cmd`: the ``invasim shedding`` subcommand (prints
      :meth:`~invasim.body.shedding.ShedCalibration.describe`, writes ``RUN_DIR/shedding.toml``
      or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from invasim.analysis.tumour_interface import frame_interface
from invasim.body.shedding import BUTLER_GULLINO_M, ShedCalibration, calibrate_shedding
from invasim.errors import RunDirError
from invasim.io.atomic import write_text_atomic
from invasim.io.run import Run, load_run

SHEDDING_TOML = "shedding.toml"
EVENTS_TABLE = "intravasation_events"


def tumour_types(params: dict) -> list[int]:
    """Indices of the cell types that intravasate (rate_per_min > 0) in a params dict."""
    out = []
    for k, (_, ct) in enumerate((params.get("cell_types") or {}).items()):
        rate = ((ct or {}).get("intravasation") or {}).get("rate_per_min", 0.0)
        if float(rate) > 0:
            out.append(k)
    return out


def _params(run: Run) -> dict:
    cfg = run.config
    p = cfg.params
    return p if isinstance(p, dict) else p.model_dump()


def run_front(run: Run) -> tuple[np.ndarray, np.ndarray, int, float]:
    """``(times [k] min, fronts [k] µm or µm², dim, mean tumour-cell volume µm³)``."""
    params = _params(run)
    if "intravasation" not in (params.get("processes") or []):
        raise RunDirError(f"{run.path}: the run has no intravasation process; shedding is "
                          "calibrated from a run whose scenario lists 'intravasation' (and "
                          "'vessels')")  # fmt: skip
    types = tumour_types(params)
    if not types:
        raise RunDirError(f"{run.path}: no cell type intravasates (every "
                          "cell_types.<type>.intravasation.rate_per_min is 0)")  # fmt: skip
    dim = int(run.mesh.dim)
    times = np.asarray(run.times, dtype=float)
    fronts, vols = [], []
    for t in times:
        frame = run.cells(float(t))
        fronts.append(frame_interface(frame, types, dim))
        live = np.isin(frame["type"].to_numpy(), types) & (frame["dead"].to_numpy() == 0)
        vols.append(frame["volume"].to_numpy(float)[live])
    v = np.concatenate(vols) if vols else np.zeros(0)
    return times, np.asarray(fronts), dim, float(v.mean()) if v.size else math.nan


def calibrate_run(run: Run | str | Path, slice_um: float | None = None) -> ShedCalibration:
    """:func:`~invasim.body.shedding.calibrate_shedding` of a run directory (see contract)."""
    run = run if isinstance(run, Run) else load_run(run)
    times, fronts, dim, vol = run_front(run)
    try:
        events = run.table(EVENTS_TABLE)
    except RunDirError:
        events = None
    if events is None or len(events) == 0:
        raise RunDirError(f"{run.path}: no intravasation events in the run; shedding needs at "
                          "least one (run longer, or with more vessel contact or a higher "
                          "intravasation rate)")  # fmt: skip
    if not math.isfinite(vol):
        raise RunDirError(f"{run.path}: no live tumour cells in the stored snapshots")
    return calibrate_shedding(events, times, fronts, dim, vol, slice_um, run=str(run.path))


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def shedding_toml(cal: ShedCalibration) -> str:
    """``shedding.toml``'s text: ``[body]``, ``[sources]``, ``[calibration]``."""
    src = (f"calibrated by invasim shedding from {cal.n_events} intravasation events of run "
           f"{cal.run} over {cal.observed_min:g} min of tissue, front "
           f"{cal.front_area_mean_um2:.4g} µm² (time mean)")  # fmt: skip
    cf = f"share of events of >= 2 cells ({cal.n_clusters} of {cal.n_events}) in run {cal.run}"
    lines = [
        "# Shedding of the body model (invasim.body.BodyParams), calibrated from a tissue run",
        f"# m = {cal.shed_per_day:.4g} (95% {cal.shed_per_day_lo:.4g}-{cal.shed_per_day_hi:.4g});"
        f" Butler & Gullino 1975 correspond to m = {BUTLER_GULLINO_M}",
        "[body]",
        f"shed_per_day = {cal.shed_per_day!r}",
        f"alpha = {cal.alpha!r}",
        f"cluster_fraction = {cal.cluster_fraction!r}",
        "",
        "[sources]",
        f"\"body.shed_per_day\" = {_q(src + '; × sphere surface (36π)^(1/3) v^(2/3)')}",
        f"\"body.alpha\" = {_q('2/3: shedding from the surface of a spherical primary')}",
        f"\"body.cluster_fraction\" = {_q(cf)}",
        "",
        "[calibration]",
    ]
    for k, v in cal.as_dict().items():
        if isinstance(v, str):
            lines.append(f"{k} = {_q(v)}")
        elif isinstance(v, float) and not math.isfinite(v):
            lines.append(f"{k} = nan")
        else:
            lines.append(f"{k} = {v!r}")
    return "\n".join(lines) + "\n"


def write_shedding(cal: ShedCalibration, path: Path | str) -> Path:
    """Write :func:`shedding_toml` to ``path`` whole (a folder: ``path/shedding.toml``)."""
    path = Path(path)
    if path.is_dir():
        path = path / SHEDDING_TOML
    write_text_atomic(path, shedding_toml(cal))
    return path


def add_parser(sub) -> None:
    """Add ``invasim shedding RUN_DIR`` to the top-level subparsers."""
    p = sub.add_parser(
        "shedding", help="calibrate the body model's CTC shedding from a run's intravasation "
        "events; writes shedding.toml",
    )  # fmt: skip
    p.add_argument("run_dir", type=Path, help="run directory of a run with intravasation")
    p.add_argument("--out", type=Path, help="file or folder to write (default RUN_DIR)")
    p.add_argument("--slice-um", type=float, default=None, dest="slice_um",
                   help="2-D: slice thickness in µm (default one tumour-cell diameter)")


def cmd(args: argparse.Namespace) -> int:
    """Run ``invasim shedding``: print the calibration, write ``shedding.toml``."""
    cal = calibrate_run(args.run_dir, args.slice_um)
    path = write_shedding(cal, args.out if args.out is not None else args.run_dir)
    print(cal.describe())
    print(f"wrote {path}")
    return 0


__all__ = ["SHEDDING_TOML", "add_parser", "calibrate_run", "cmd", "run_front", "shedding_toml",
           "tumour_types", "write_shedding"]
