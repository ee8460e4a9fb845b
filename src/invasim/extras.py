"""Optional parts of invasim (pip "extras"), imported where they are used.

Contract:
    * The core install runs, shows, plots, reports and compares runs; heavier packages come with
      an extra named after what it enables (:data:`EXTRAS`): ``vtk`` (VTK export, pyvista),
      ``anndata`` (AnnData export), ``studies`` (studies on Dask, sampling designs, sensitivity
      analysis, calibration: dask[distributed], dask-jobqueue, SALib, pyabc) and ``movies``
      (H.264 MP4 movies: imageio-ffmpeg; without it a movie is an animated GIF). ``all`` is
      every one of them.
    * :func:`require` imports an optional module at the point of use, or raises
      :class:`MissingExtraError`: one line naming the feature, the extra and the command that
      installs it, which the command line prints with exit status 2 and no traceback.
    * Nothing here imports an optional package at import time.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from invasim.errors import InvasimError

#: each extra and the top-level modules it provides
EXTRAS: dict[str, tuple[str, ...]] = {
    "vtk": ("pyvista",),
    "anndata": ("anndata",),
    "studies": ("dask", "distributed", "dask_jobqueue", "SALib", "pyabc"),
    "movies": ("imageio_ffmpeg",),
}


class MissingExtraError(InvasimError):
    """An optional package is not installed; the message names the extra that brings it.

    Attributes:
        extra: the extra to install (``"vtk"``, ``"studies"``, ...).
        module: the module that could not be imported.
    """

    def __init__(self, what: str, extra: str, module: str, cause: str = "") -> None:
        self.extra = extra
        self.module = module
        why = f" ({cause})" if cause else ""
        super().__init__(f"{what} needs the '{extra}' extra{why}: {install_hint(extra)}")


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"python3 -m pip install 'invasim[{extra}]'"


def require(extra: str, module: str, what: str) -> ModuleType:
    """Import ``module`` of the optional ``extra``, or raise a one-line error naming the extra.

    Args:
        extra: a key of :data:`EXTRAS`.
        module: the module to import, e.g. ``"pyvista"`` or ``"SALib.sample.sobol"``.
        what: the feature that needs it, as the user asked for it, e.g.
            ``"invasim export --format vtk"``.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module (or a package it needs) cannot be imported.
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        missing = (exc.name or "").partition(".")[0]
        # the extra's own package is absent: say so plainly; a package it needs is absent or
        # broken: name that too, in the same line
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        cause = "" if missing == top else f"import {top}: {first}"
        raise MissingExtraError(what, extra, module, cause) from None


__all__ = ["EXTRAS", "MissingExtraError", "install_hint", "require"]
