"""A movie of a run: one frame per snapshot, H.264 MP4, or an animated GIF when it must.

Contract:
    * :func:`write_movie` draws every snapshot of a run (:mod:`invasim.viz.frames`: the same
      axes, colour limits and legend in every frame) into PNG files in a temporary folder beside
      the output, in parallel worker processes (``spawn``, so it is safe whatever threads the
      caller runs; in this process for short movies or where no worker can start), then
      encodes them: H.264 in an MP4 (yuv420p, even frame sizes, through the ``ffmpeg`` binary
      that ships inside the ``imageio-ffmpeg`` wheel, the ``movies`` extra), or an animated GIF
      (Pillow) when asked for, or when the H.264 encoder is missing (no ``movies`` extra) or
      fails; then it issues one :class:`MovieFallbackWarning` line saying so (and, without the
      extra, how to install it).
    * The output is written whole or not at all (a temporary file beside it, then a rename);
      the frame folder is removed whatever happens.
    * A progress bar over frames (rendering, then encoding) on standard error, only when asked
      for and standard error is a terminal.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from invasim.core.progress import CountProgress
from invasim.errors import ConfigError, InvasimError, RunDirError
from invasim.extras import MissingExtraError, require
from invasim.io.atomic import os_error_line
from invasim.io.run import Run, load_run
from invasim.viz.frames import FramePlan, plan_frames, render_to_file

#: the output formats and their file suffixes
FORMATS = ("mp4", "gif")
#: frames per second accepted
FPS_RANGE = (1, 120)
#: the most worker processes the default picks
MAX_WORKERS = 8
#: frames per worker below which the default draws in this process (a worker takes seconds to
#: start: it imports invasim afresh; a frame takes a fraction of a second)
FRAMES_PER_WORKER = 8
#: H.264 settings: constant quality (18-23 is visually lossless to good), fast start on the web
_X264 = ["-crf", "20", "-preset", "medium", "-movflags", "+faststart", "-f", "mp4"]


class MovieFallbackWarning(UserWarning):
    """The MP4 could not be made (no H.264 encoder, or it failed); a GIF was written instead."""


# -- arguments ---------------------------------------------------------------------------------
def _out_and_format(run: Run, out: str | Path | None, fmt: str) -> tuple[Path, str]:
    if fmt not in ("auto", *FORMATS):
        raise ConfigError(f"unknown movie format {fmt!r}; choose from mp4, gif")
    if out is None:
        fmt = "mp4" if fmt == "auto" else fmt
        return run.path / f"movie.{fmt}", fmt
    out = Path(out)
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ConfigError(f"the movie file must end in .mp4 or .gif, got {out}")
    if fmt not in ("auto", suffix):
        raise ConfigError(f"--format {fmt} does not match the file {out}")
    return out, suffix


def _n_workers(workers: int | None, n_frames: int) -> int:
    if workers is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return max(1, min(cpus or 1, n_frames // FRAMES_PER_WORKER, MAX_WORKERS))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a whole number >= 1, got {workers!r}")
    return min(workers, max(n_frames, 1))


# -- rendering ---------------------------------------------------------------------------------
def _init_worker() -> None:
    import matplotlib

    matplotlib.use("Agg")  # never a GUI backend in a worker


def _render_all(plan: FramePlan, folder: Path, workers: int, advance) -> list[Path]:
    paths = [folder / f"frame{k:06d}.png" for k in range(plan.n_frames)]
    if workers == 1:
        for k, p in enumerate(paths):
            render_to_file(plan, k, str(p))
            advance()
        return paths
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    done: set[int] = set()
    try:
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)
    except (OSError, ValueError):  # no process pool here (no semaphores, a sandbox)
        pool = None
    if pool is not None:
        try:
            futures = {pool.submit(render_to_file, plan, k, str(p)): k
                       for k, p in enumerate(paths)}
            for f in as_completed(futures):
                f.result()
                done.add(futures[f])
                advance()
        except BrokenProcessPool:
            pass  # workers that cannot start (a __main__ read from stdin) or died: draw here
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for k, p in enumerate(paths):
        if k not in done:
            render_to_file(plan, k, str(p))
            advance()
    return paths


def _frames(paths: Sequence[Path], advance) -> Iterator[np.ndarray]:
    from PIL import Image

    for p in paths:
        with Image.open(p) as im:
            yield np.ascontiguousarray(np.asarray(im.convert("RGB")))
        advance()


# -- encoding ----------------------------------------------------------------------------------
@contextmanager
def _atomic_path(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out`` (same suffix) renamed to ``out`` when all went well."""
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix}")
    try:
        yield tmp
        try:
            os.replace(tmp, out)
        except OSError as exc:
            raise RunDirError(os_error_line(exc, out)) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def _encode_mp4(paths: Sequence[Path], out: Path, plan: FramePlan, fps: float, advance) -> None:
    """H.264 MP4; raises on any failure of the encoder (the caller falls back to GIF)."""
    imageio_ffmpeg = require("movies", "imageio_ffmpeg", "H.264 encoding")
    imageio_ffmpeg.get_ffmpeg_exe()  # RuntimeError when no binary is found
    with _atomic_path(out) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), plan.size_px, fps=fps, codec="libx264", pix_fmt_out="yuv420p",
            quality=None, macro_block_size=2, ffmpeg_log_level="error", output_params=_X264,
        )
        writer.send(None)
        try:
            for frame in _frames(paths, advance):
                writer.send(frame)
        finally:
            writer.close()
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise RuntimeError("ffmpeg wrote nothing")


def _encode_gif(paths: Sequence[Path], out: Path, fps: float, advance) -> None:
    from PIL import Image

    frames = _frames(paths, advance)
    first = Image.fromarray(next(frames))
    rest = (Image.fromarray(f) for f in frames)
    with _atomic_path(out) as tmp:
        try:
            first.save(tmp, format="GIF", save_all=True, append_images=rest,
                       duration=int(round(1000.0 / fps)), loop=0, optimize=False)
        except OSError as exc:
            raise RunDirError(os_error_line(exc, out)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."


# -- the movie ---------------------------------------------------------------------------------
def write_movie(run: Run | str | Path, out: str | Path | None = None, field: str | None = None,
                color_by: str | None = "type", fps: float = 8, fmt: str = "auto",
                workers: int | None = None, progress: bool = True, dpi: int = 100, *,
                bm: bool = True, section: str = "auto") -> Path:
    """Write a movie of a run, one frame per snapshot; returns the file written.

    Args:
        run: an opened run (:func:`invasim.load_run`) or a run directory.
        out: the file, ``.mp4`` or ``.gif`` (default ``RUN_DIR/movie.mp4``, or ``movie.gif``
            with ``fmt="gif"``).
        field: the field drawn (default: the run's first field).
        color_by: agent runs: ``type``, ``state`` (live cells by type, apoptotic and necrotic
            apart), ``phase``, ``clone``, ``mode`` (migration mode: epithelial, mesenchymal,
            amoeboid) or a numeric column of the cell table (a trait, ``generation``,
            ``volume``...). Continuum runs take only the default. A run's basement membrane
            is drawn over the cells in every frame (:mod:`invasim.viz.frames`).
        fps: frames per second, 1 to 120.
        fmt: ``"auto"`` (from the suffix of ``out``, else mp4), ``"mp4"`` or ``"gif"``.
        workers: processes drawing frames (default: one per core and per
            :data:`FRAMES_PER_WORKER` frames, at most :data:`MAX_WORKERS`; 1 draws in this
            process).
        progress: a progress bar on standard error when it is a terminal.
        dpi: frame resolution (100: maps of 800 × 600 pixels).
        bm, section: agent runs: draw the basement membrane; the plane of 3-D runs (as
            :func:`invasim.viz.frames.plan_frames`).

    Returns:
        The path written: ``out``, or ``out`` with suffix ``.gif`` when the MP4 could not be
        encoded (a :class:`MovieFallbackWarning` says why).

    Raises:
        ConfigError: an unknown field, colouring, format, or a bad ``fps`` or ``workers``.
        RunDirError: the run cannot be read or the movie cannot be written.
    """
    run = run if isinstance(run, Run) else load_run(run)
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not (
        FPS_RANGE[0] <= fps <= FPS_RANGE[1]
    ):
        raise ConfigError(f"fps must be between {FPS_RANGE[0]} and {FPS_RANGE[1]}, got {fps!r}")
    out, fmt = _out_and_format(run, out, fmt)
    plan = plan_frames(run, field, color_by, dpi, bm=bm, section=section)
    n_workers = _n_workers(workers, plan.n_frames)
    if not out.parent.is_dir():
        raise RunDirError(f"cannot write {out}: folder {out.parent} does not exist")
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{out.stem}.frames-", dir=out.parent))
    except OSError as exc:
        raise RunDirError(os_error_line(exc, out)) from None
    try:
        with CountProgress("frames", progress) as bar:
            paths = _render_all(
                plan, folder, n_workers, bar.task("drawing ", plan.n_frames).advance
            )
            advance = bar.task("encoding", plan.n_frames).advance
            if fmt == "mp4":
                try:
                    _encode_mp4(paths, out, plan, fps, advance)
                    return out
                except MissingExtraError as exc:  # a lean install: a GIF, and how to get MP4s
                    reason = str(exc)
                except InvasimError:
                    raise
                except Exception as exc:  # no encoder, or ffmpeg failed: whatever it raised
                    reason = _first_line(exc)
                out = out.with_suffix(".gif")
                advance = bar.task("GIF     ", plan.n_frames).advance
                _encode_gif(paths, out, fps, advance)
                warnings.warn(MovieFallbackWarning(
                    f"no H.264 MP4 ({reason}); wrote an animated GIF instead: {out}"
                ), stacklevel=2)
                return out
            _encode_gif(paths, out, fps, advance)
            return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["FORMATS", "MovieFallbackWarning", "write_movie"]
