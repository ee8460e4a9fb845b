"""What every figure of a run shares: its look, its units and labels, and reading its fields.

Contract:
    * :data:`RC` (matplotlib rc settings, used inside ``mpl.rc_context``), :data:`DPI` (the
      resolution of screen figures), :data:`CMAPS` (one perceptually uniform, colour-blind-safe
      map per field row) and the image formats a figure may be written as.
    * Units: :func:`length_unit` (µm, or mm for domains longer than 5 mm), :func:`time_unit`
      (min, h, days or years by the length of a run), :func:`frame_time_unit` (h or days: the
      clock of movie frames); labels: :func:`value_label` (``name [unit]``), :func:`fmt_time`,
      :func:`pretty`.
    * Data: :func:`pick` (evenly spaced snapshots, first and last included), :func:`snapshots`
      (field slices read straight from the Zarr store), :func:`value_range` (finite limits of
      arrays, padded when flat).
    * Sections of 3-D runs (:data:`SECTIONS`): ``"xy"``, the plane through the middle of z
      (the default), or ``"xz"``, the plane through the middle of y, which holds the basement
      membrane's normal (z, the last mesh axis) as a histological section cut perpendicular to
      the mucosa does; :func:`section_geometry` gives a section's size and where it cuts.
    * Matrix fields: :func:`is_matrix` (a field of kind ``matrix``: ECM, basement membrane),
      :func:`bm_field` (the run's basement membrane, if any) and :func:`bm_reference` (its
      intact density: ``reference_density`` when the scenario sets it, else the field's
      maximum at the first snapshot, as the ``basement_membrane`` process takes it).
    * Every module of :mod:`invasim.viz` may import this one; it imports none of them.
"""

from __future__ import annotations

import textwrap

import numpy as np

from invasim.core.mesh import Mesh
from invasim.errors import RunDirError
from invasim.io.run import Run
from invasim.io.rundir import FIELDS_ZARR

#: resolution of figures drawn for the screen and the summary, dots per inch
DPI = 150
#: perceptually uniform, colour-blind-safe colour maps, one per field row
CMAPS = ("viridis", "magma", "cividis", "plasma")
#: the planes a 3-D run is cut by: through the middle of z (x–y) or of y (x–z)
SECTIONS = ("xy", "xz")
#: the field name of the basement membrane (:mod:`invasim.processes.basement_membrane`)
BM_FIELD = "basement_membrane"
#: image formats a figure is written as (those needing no LaTeX or raw buffers)
IMAGE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")
#: image formats whose files can carry a title
TITLED_FORMATS = ("png", "pdf", "svg", "svgz", "ps", "eps")
#: matplotlib rc settings of every figure
RC = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


# -- units and labels --------------------------------------------------------------------------
def length_unit(extent_um: float) -> tuple[str, float]:
    """Display unit for lengths and µm per unit: mm when the domain is longer than 5 mm."""
    return ("mm", 1000.0) if extent_um > 5000.0 else ("µm", 1.0)


def time_unit(span_min: float) -> tuple[str, float]:
    """Display unit for times and minutes per unit, by the length of the run."""
    if span_min <= 180.0:
        return "min", 1.0
    if span_min <= 4 * 24 * 60.0:
        return "h", 60.0
    if span_min <= 3 * 365 * 1440.0:
        return "days", 1440.0
    return "years", 365.25 * 1440.0


def frame_time_unit(span_min: float) -> tuple[str, float]:
    """The clock of movie frames and snapshot figures: hours up to 4 days, then days."""
    return ("h", 60.0) if span_min <= 4 * 1440.0 else ("days", 1440.0)


def fmt_time(t_min: float, unit: str, per: float) -> str:
    """``t = 1.5 h`` for ``t_min`` minutes in ``unit`` (``per`` minutes each)."""
    return f"t = {t_min / per:.3g} {unit}"


def value_label(name: str, unit: str, width: int | None = None) -> str:
    """``name [unit]``; a dimensionless ``1 (what)`` unit reads ``name (what)``.

    ``width``: wrap onto lines of about that many characters (colour bars are short).
    """
    unit = (unit or "").strip()
    if unit in ("", "1"):
        label = f"{name} (dimensionless)"
    elif unit.startswith("1 (") and unit.endswith(")"):
        label = f"{name} {unit[2:]}"
    else:
        label = f"{name} [{unit}]"
    return textwrap.fill(label, width) if width else label


def intervention_bands(run: Run) -> list[tuple[float, float | None, str]]:
    """``(start_min, end_min, label)`` of a run's scheduled interventions (end None: open).

    A one-off event (resection, added cells, bolus) has ``start == end``.
    """
    params = (run.meta.get("scenario") or {}).get("params") or {}
    out = []
    for iv in params.get("interventions") or []:
        kind = iv.get("kind", "")
        label = iv.get("label") or (
            f"{kind} {iv.get('behaviour', '')}".strip() if kind in ("scale", "set")
            else f"{iv.get('field', '')} {iv.get('parameter', '')}" if kind == "field" else kind
        )
        if "at_min" in iv:
            out.append((float(iv["at_min"]), float(iv["at_min"]), label))
        else:
            end = iv.get("until_min")
            out.append((float(iv.get("from_min", 0.0)), None if end is None else float(end),
                        label))  # fmt: skip
    return out


def pretty(metric: str) -> str:
    """A metric's name as words: ``front_um`` reads ``front``, ``n_cells`` ``n cells``."""
    return metric.removesuffix("_um").replace("_", " ")


# -- data --------------------------------------------------------------------------------------
def pick(n: int, k: int) -> list[int]:
    """Up to ``k`` evenly spaced indices of ``range(n)``, first and last included."""
    if n <= k:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, k)})


def snapshots(run: Run, names: list[str], picks: list[int],
              section: str = "xy") -> dict[str, list[np.ndarray]]:
    """Snapshots ``picks`` of each field as 1-D or 2-D arrays (3-D: the central ``section``).

    Read straight from the Zarr store, slice by slice: a 3-D volume is never loaded whole, and a
    run killed while appending a record (a field one snapshot longer than ``time``) still reads.
    3-D: ``"xy"`` gives ``[ny, nx]`` arrays at the middle z, ``"xz"`` ``[nz, nx]`` arrays at
    the middle y (rows: z upwards, as ``imshow(origin="lower")`` draws them).
    """
    import zarr

    store = run.path / FIELDS_ZARR
    mesh = run.mesh
    if mesh.dim < 3 or section == "xy":
        cut = (mesh.nz // 2,) if mesh.dim == 3 else ()
    else:
        cut = (slice(None), mesh.ny // 2)
    try:
        group = zarr.open_group(store, mode="r")
        out = {}
        for name in names:
            arr = group[name]
            out[name] = [np.asarray(arr[(k, *cut)], dtype=float) for k in picks]
    except Exception as exc:  # zarr raises several types for a missing or broken store
        raise RunDirError(f"cannot read {store}: {exc}") from None
    return out


def section_geometry(mesh: Mesh, section: str = "xy") -> tuple[float, float, str | None, float]:
    """``(width_um, height_um, cut_axis, cut_um)`` of the map of a run on ``mesh``.

    2-D: the whole x–y domain, no cut (``cut_axis`` ``None``). 3-D: ``"xy"`` cuts z at its
    middle voxel centre (the map is x across, y up), ``"xz"`` cuts y there (x across, z up).
    """
    ext = mesh.extent
    if mesh.dim < 3:
        return float(ext[0]), float(ext[1]), None, 0.0
    if section == "xz":
        return float(ext[0]), float(ext[2]), "y", float(mesh.centers("y")[mesh.ny // 2])
    return float(ext[0]), float(ext[1]), "z", float(mesh.centers("z")[mesh.nz // 2])


def is_matrix(run: Run, name: str) -> bool:
    """Whether field ``name`` is a matrix (kind ``matrix`` in the scenario: ECM, BM...)."""
    spec = (((run.meta.get("scenario") or {}).get("params") or {}).get("fields") or {}).get(name)
    if isinstance(spec, dict) and "kind" in spec:
        return spec["kind"] == "matrix"
    info = run.field_info.get(name, {})
    return str(info.get("description", "")).startswith("matrix field")


def bm_field(run: Run) -> str | None:
    """The run's basement-membrane field: the one its BM processes name, else ``basement_membrane``.

    ``None`` when the run recorded no such field.
    """
    params = (run.meta.get("scenario") or {}).get("params") or {}
    for key in ("basement_membrane", "basement_membrane_breach"):
        table = params.get(key)
        if isinstance(table, dict) and table.get("field") in run.field_names:
            return str(table["field"])
    return BM_FIELD if BM_FIELD in run.field_names else None


def bm_reference(run: Run, name: str) -> float:
    """The intact density of the BM field ``name`` (0 when the field is empty).

    ``reference_density`` where the scenario's BM processes set it, else the field's maximum
    over its first snapshot (the whole volume), as the ``basement_membrane`` process takes it.
    """
    import zarr

    params = (run.meta.get("scenario") or {}).get("params") or {}
    for key in ("basement_membrane", "basement_membrane_breach"):
        ref = (params.get(key) or {}).get("reference_density")
        if isinstance(ref, (int, float)) and ref > 0:
            return float(ref)
    store = run.path / FIELDS_ZARR
    try:
        first = np.asarray(zarr.open_group(store, mode="r")[name][0], dtype=float)
    except Exception as exc:  # zarr raises several types for a missing or broken store
        raise RunDirError(f"cannot read {store}: {exc}") from None
    first = first[np.isfinite(first)]
    return float(first.max()) if first.size else 0.0


def value_range(arrays: list[np.ndarray]) -> tuple[float, float]:
    """The finite minimum and maximum over ``arrays``; padded when flat, (0, 1) when empty."""
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return 0.0, 1.0
    lo = float(min(a.min() for a in finite))
    hi = float(max(a.max() for a in finite))
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        pad = 0.5 * max(abs(hi), 1.0)
        return lo - pad, hi + pad
    return lo, hi


__all__ = [
    "BM_FIELD",
    "CMAPS",
    "DPI",
    "IMAGE_FORMATS",
    "RC",
    "SECTIONS",
    "TITLED_FORMATS",
    "bm_field",
    "bm_reference",
    "fmt_time",
    "frame_time_unit",
    "is_matrix",
    "length_unit",
    "pick",
    "pretty",
    "section_geometry",
    "snapshots",
    "time_unit",
    "value_label",
    "value_range",
]
