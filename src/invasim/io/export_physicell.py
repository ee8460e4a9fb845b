"""Write a run in PhysiCell's output format (MultiCellDS 2, PhysiCell 1.14), for pcdl.

Contract:
    * :func:`write_physicell` writes the selected snapshots into a folder, as PhysiCell writes
      its ``output/`` folder: per snapshot ``k`` (the run's snapshot index) ``output%08d.xml``
      (the index: metadata, mesh, substrates, cell types, cell labels), ``…_cells.mat``,
      ``…_microenvironment0.mat`` and the three ``…_graph.txt`` files, plus one
      ``initial_mesh0.mat``. pcdl reads it (``pcdl.TimeSeries(folder)``, ``pcdl.TimeStep``)
      with its defaults; ``PhysiCell_settings.xml`` and ``initial.xml`` are not written (pcdl
      takes the cell-type names from the ``<cell_types>`` of each snapshot).
      :func:`invasim.io.export.export_physicell` selects the snapshots and fields, checks
      them and stages the files; this module holds the format.
    * Coordinates: invasim's box is ``[0, L]`` per axis and stays so (no re-centring):
      positions are written as they are, voxel centres at ``(i + 0.5) h``, the bounding box
      from 0 to ``L``. An axis the run does not have (z in 2-D) is PhysiCell's 2-D plane:
      one coordinate, 0, and a bounding box of ``±h/2``; voxels are cubes of side ``h``
      (volume ``h³``, as PhysiCell's 2-D default of ``dz = dx``). Units are PhysiCell's
      ASCII spellings (``micron``, ``cubic microns``, ``min``).
    * Microenvironment: ``multiscale_microenvironment``, rows x, y, z, voxel volume, then one
      row per field in the order asked for, one column per voxel, x fastest. Each field is a
      ``<variable>`` with its unit, diffusion coefficient (µm²/min) and decay rate (1/min).
    * Cells: ``cells``, one row per label element, one column per cell (a run without cells
      writes none). Mapped columns, under PhysiCell's names and units: ``id`` → ``ID``,
      ``x, y, z`` → ``position`` (z = 0 in 2-D), ``volume`` → ``total_volume``, ``type`` →
      ``cell_type``, ``time_in_phase`` → ``elapsed_time_in_phase``, ``pressure`` (if
      recorded), ``radius``; ``phase`` and ``dead`` become ``cycle_model``,
      ``current_phase``, ``dead`` and ``current_death_model`` (:func:`state_codes`).
      ``chemotaxis_index`` is 0 (pcdl needs the label; invasim has no such per-cell index).
      Every other numeric or boolean column (lineage, traits, motility direction) follows
      as custom data under its own name, ``invasim_<name>`` where that name is PhysiCell's or
      pcdl's; text columns are left out (a ``.mat`` holds numbers only).
    * Graphs: ``cell_neighbor_graph`` lists, per cell, the cells closer than
      ``s_i r_i + s_j r_j`` (``s`` the type's ``relative_max_adhesion_distance``), PhysiCell's
      rule for ``state.neighbors``, recomputed from the snapshot; ``spring_attached_cells_graph``
      lists each cell's spring attachments (the attachments process's ``spring_*`` columns;
      none without it); ``attached_cells_graph`` lists no partner (PhysiCell's rigid
      attachments come from custom C++ only).
    * ``current_runtime`` is 0: a snapshot records no wall time.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
from scipy.spatial import cKDTree

from invasim.biology.cycle import STANDARD_MODELS
from invasim.core.cells import APOPTOTIC, NECROTIC
from invasim.io.atomic import write_atomic, write_text_atomic
from invasim.io.run import Run
from invasim.processes.cycle import CycleCell
from invasim.processes.mechanics import MechanicsCell
from invasim.version import __version__

#: the files of an export (an earlier export is recognised, and replaced, by these)
PATTERNS = ("output*.xml", "output*.mat", "output*_graph.txt", "initial_mesh0.mat")
MESH_FILE = "initial_mesh0.mat"
GRAPHS = ("cell_neighbor_graph", "attached_cells_graph", "spring_attached_cells_graph")
#: PhysiCell's cycle-model code and, per invasim phase, its phase code (PhysiCell_constants)
CYCLE_CODES = {name: (m.code, m.phase_codes) for name, m in STANDARD_MODELS.items()}
#: PhysiCell's code of a model or phase it does not know
CUSTOM_CODE = 9999
#: death models: cycle-model code, phase codes (apoptotic; necrotic swelling, lysed) and the
#: ``current_death_model`` index (the death model's place in PhysiCell's default cell)
DEATH_CODES = {APOPTOTIC: (100, (100,), 0), NECROTIC: (101, (101, 102), 1)}
#: the cell labels mapped from invasim columns: (label, size, PhysiCell unit)
LABELS = (
    ("ID", 1, "none"), ("position", 3, "microns"), ("total_volume", 1, "cubic microns"),
    ("cell_type", 1, "none"), ("cycle_model", 1, "none"), ("current_phase", 1, "none"),
    ("elapsed_time_in_phase", 1, "min"), ("pressure", 1, "none"), ("dead", 1, "none"),
    ("current_death_model", 1, "none"), ("radius", 1, "microns"),
    ("chemotaxis_index", 1, "none"),
)  # fmt: skip
#: invasim columns the labels hold (the rest is custom data; ``time_min`` is the snapshot's)
MAPPED = frozenset(
    {"id", "x", "y", "z", "volume", "type", "phase", "time_in_phase", "pressure", "dead",
     "radius", "time_min"}
)  # fmt: skip
#: names a custom label may not take: PhysiCell 1.14's labels and pcdl's own columns
TAKEN = frozenset(
    {"ID", "position", "total_volume", "cell_type", "cycle_model", "current_phase",
     "elapsed_time_in_phase", "nuclear_volume", "cytoplasmic_volume", "fluid_fraction",
     "calcified_fraction", "orientation", "polarity", "velocity", "pressure",
     "number_of_nuclei", "total_attack_time", "contact_with_basement_membrane",
     "current_cycle_phase_exit_rate", "dead", "current_death_model", "death_rates",
     "cytoplasmic_biomass_change_rate", "nuclear_biomass_change_rate", "fluid_change_rate",
     "calcification_rate", "target_solid_cytoplasmic", "target_solid_nuclear",
     "target_fluid_fraction", "radius", "nuclear_radius", "surface_area",
     "cell_cell_adhesion_strength", "cell_BM_adhesion_strength",
     "cell_cell_repulsion_strength", "cell_BM_repulsion_strength", "cell_adhesion_affinities",
     "relative_maximum_adhesion_distance", "maximum_number_of_attachments",
     "attachment_elastic_constant", "attachment_rate", "detachment_rate", "is_motile",
     "persistence_time", "migration_speed", "migration_bias_direction",
     "motility_bias_direction", "migration_bias", "motility_vector", "chemotaxis_index",
     "chemotaxis_direction", "chemotactic_sensitivities", "secretion_rates", "uptake_rates",
     "saturation_densities", "net_export_rates", "internalized_total_substrates",
     "fraction_released_at_death", "fraction_transferred_when_ingested",
     "apoptotic_phagocytosis_rate", "necrotic_phagocytosis_rate",
     "other_dead_phagocytosis_rate", "live_phagocytosis_rates", "attack_rates",
     "immunogenicities", "attack_target", "attack_damage_rate", "attack_duration",
     "attack_total_damage_delivered", "fusion_rates", "transformation_rates",
     "asymmetric_division_probabilities", "damage", "damage_rate", "damage_repair_rate",
     "time", "runtime", "xmlfile", "voxel_i", "voxel_j", "voxel_k", "mesh_center_m",
     "mesh_center_n", "mesh_center_p", "cell_count_voxel", "position_x", "position_y",
     "position_z"}
)  # fmt: skip
#: invasim units in PhysiCell's spelling
UNITS = {
    "": "none", "1": "dimensionless", "µm": "microns", "µm²": "square microns",
    "µm³": "cubic microns", "µm/min": "micron/min", "1/min": "1/min", "min": "min",
}  # fmt: skip
_ASCII = {"µm": "micron", "µ": "u", "²": "^2", "³": "^3", "–": "-", "—": "-", "·": "*"}


def ascii_unit(unit: str) -> str:
    """A unit in PhysiCell's ASCII spelling (``µm²/min`` → ``micron^2/min``)."""
    if unit in UNITS:
        return UNITS[unit]
    for k, v in _ASCII.items():
        unit = unit.replace(k, v)
    return unit.encode("ascii", "replace").decode("ascii")


def _cell_types(run: Run) -> dict[str, dict]:
    params = (run.meta.get("scenario") or {}).get("params") or {}
    return {str(k): v or {} for k, v in (params.get("cell_types") or {}).items()}


def state_codes(
    types: np.ndarray, phase: np.ndarray, dead: np.ndarray, models: Sequence[str]
) -> dict[str, np.ndarray]:
    """PhysiCell's ``cycle_model``, ``current_phase``, ``dead``, ``current_death_model``.

    A live cell has its type's cycle model (``models[type]``, :data:`CYCLE_CODES`) and the
    code of its phase in it; a dead one the death model's codes (:data:`DEATH_CODES`). A
    model, phase or type invasim knows and PhysiCell does not gets :data:`CUSTOM_CODE`.
    """
    n = len(types)
    model = np.full(n, float(CUSTOM_CODE))
    current = np.full(n, float(CUSTOM_CODE))
    for t, name in enumerate(models):
        code, phases = CYCLE_CODES.get(name, (CUSTOM_CODE, ()))
        mine = types == t
        model[mine] = code
        for p, pc in enumerate(phases):
            current[mine & (phase == p)] = pc
    death_model = np.zeros(n)
    for state, (code, phases, index) in DEATH_CODES.items():
        mine = dead == state
        model[mine], death_model[mine] = code, index
        current[mine] = CUSTOM_CODE
        for p, pc in enumerate(phases):
            current[mine & (phase == p)] = pc
    return {"cycle_model": model, "current_phase": current,
            "dead": (dead != 0).astype(np.float64), "current_death_model": death_model}  # fmt: skip


def cell_matrix(
    frame: pd.DataFrame, models: Sequence[str], units: Mapping[str, str], taken: frozenset[str]
) -> tuple[list[tuple[str, int, str]], np.ndarray]:
    """The labels ``(name, size, unit)`` of one cell table and its ``[rows, n_cells]`` matrix.

    Args:
        frame: the cell table.
        models: the cycle-model name of each cell type.
        units: invasim unit of the cell columns (custom data); unknown columns have none.
        taken: names a custom label may not take (besides :data:`TAKEN`).
    """
    n = len(frame)

    def col(c: str, default: float = 0.0) -> np.ndarray:
        return frame[c].to_numpy(np.float64) if c in frame else np.full(n, default)

    codes = state_codes(col("type").astype(np.int64), col("phase").astype(np.int64),
                        col("dead").astype(np.int64), models)  # fmt: skip
    values = {
        "ID": col("id"), "position": np.stack([col(c) for c in ("x", "y", "z")]),
        "total_volume": col("volume"), "cell_type": col("type"),
        "elapsed_time_in_phase": col("time_in_phase"), "pressure": col("pressure"),
        "radius": col("radius"), "chemotaxis_index": np.zeros(n), **codes,
    }  # fmt: skip
    labels = [lab for lab in LABELS if lab[0] != "pressure" or "pressure" in frame]
    rows = [np.atleast_2d(values[name]) for name, _, _ in labels]
    for c in frame.columns:
        v = frame[c]
        if c in MAPPED or not (pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v)):
            continue
        name = f"invasim_{c}" if c in TAKEN or c in taken else str(c)
        labels.append((name, 1, ascii_unit(units.get(c, ""))))
        rows.append(v.to_numpy(np.float64)[None, :])
    return labels, np.concatenate(rows, axis=0) if rows else np.zeros((0, n))


def neighbour_lists(frame: pd.DataFrame, reach: np.ndarray) -> list[np.ndarray]:
    """Per cell (table order), the rows closer than ``s_i r_i + s_j r_j`` (PhysiCell's rule).

    ``reach``: ``[T]`` each type's relative maximum adhesion distance ``s``.
    """
    n = len(frame)
    if n == 0:
        return []
    pos = np.stack([frame[c].to_numpy(np.float64) if c in frame else np.zeros(n)
                    for c in ("x", "y", "z")], axis=1)  # fmt: skip
    s = reach[frame["type"].to_numpy(np.int64)] * frame["radius"].to_numpy(np.float64)
    pairs = cKDTree(pos).query_pairs(2.0 * float(s.max()), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    keep = np.linalg.norm(pos[i] - pos[j], axis=1) < s[i] + s[j]
    i, j = np.concatenate([i[keep], j[keep]]), np.concatenate([j[keep], i[keep]])
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    return np.split(j, np.searchsorted(i, np.arange(1, n)))


def spring_partners(frame: pd.DataFrame) -> list[np.ndarray] | None:
    """Each cell's spring-attached partners as rows of ``frame`` (None: no such columns)."""
    cols = [c for c in frame.columns if str(c).startswith("spring_")]
    if not cols:
        return None
    ids = frame["id"].to_numpy()
    row_of = {int(i): r for r, i in enumerate(ids)}
    held = frame[cols].to_numpy()
    return [np.array([row_of[int(p)] for p in row if p >= 0 and int(p) in row_of], dtype=np.int64)
            for row in held]  # fmt: skip


def graph_text(ids: np.ndarray, partners: Sequence[np.ndarray] | None) -> str:
    """PhysiCell's graph file: ``ID: id,id,...`` per cell (``partners``: rows; None: none)."""
    lines = []
    for k, i in enumerate(ids):
        other = "" if partners is None else ",".join(str(int(ids[r])) for r in partners[k])
        lines.append(f"{int(i)}: {other}")
    return "".join(line + "\n" for line in lines)


def _save_mat(path: Path, name: str, matrix: np.ndarray) -> None:
    data = {name: np.ascontiguousarray(matrix, dtype=np.float64)}
    write_atomic(path, lambda f: scipy.io.savemat(f, data, format="4"))


def _num(v: float) -> str:
    return repr(float(v))  # exact: pcdl matches the XML voxel centres with those of the .mat


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def mesh_axes(run: Run) -> tuple[list[np.ndarray], list[tuple[float, float]]]:
    """Voxel centres per axis (x, y, z; µm) and the bounding range of each axis."""
    mesh = run.mesh
    axes, box = [], []
    for a, name in enumerate("xyz"):
        if a < mesh.dim:
            axes.append(mesh.centers(name))
            box.append((0.0, mesh.n[a] * mesh.h))
        else:
            axes.append(np.zeros(1))
            box.append((-0.5 * mesh.h, 0.5 * mesh.h))
    return axes, box


def mesh_matrix(run: Run) -> np.ndarray:
    """``[4, n_voxels]``: voxel centres x, y, z (x fastest) and voxel volumes, µm and µm³."""
    axes, _ = mesh_axes(run)
    z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    vol = np.full(x.size, run.mesh.h**3)
    return np.stack([x.ravel(), y.ravel(), z.ravel(), vol])


def snapshot_xml(
    run: Run, k: int, t: float, fields: Sequence[str], type_names: Sequence[str],
    labels: Sequence[tuple[str, int, str]],
) -> str:  # fmt: skip
    """The ``output%08d.xml`` of snapshot ``k`` at ``t`` min."""
    root = ET.Element("MultiCellDS", version="2", type="snapshot/simulation")
    meta = _sub(root, "metadata")
    sw = _sub(meta, "software")
    _sub(sw, "name", "invasim")
    _sub(sw, "version", __version__)
    _sub(meta, "current_time", f"{t:f}", units="min")
    _sub(meta, "current_runtime", "0.000000", units="sec")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _sub(meta, "created", now)
    _sub(meta, "last_modified", now)
    domain = _sub(_sub(root, "microenvironment"), "domain", name="microenvironment")
    mesh = _sub(domain, "mesh", type="Cartesian", uniform="true", regular="true", units="micron")
    axes, box = mesh_axes(run)
    bbox = [lo for lo, _ in box] + [hi for _, hi in box]
    _sub(mesh, "bounding_box", " ".join(map(_num, bbox)), type="axis-aligned", units="micron")
    for name, centres in zip("xyz", axes, strict=True):
        _sub(mesh, f"{name}_coordinates", " ".join(map(_num, centres)), delimiter=" ")
    _sub(_sub(mesh, "voxels", type="matlab"), "filename", MESH_FILE)
    variables = _sub(domain, "variables")
    info = run.field_info
    for i, f in enumerate(fields):
        var = _sub(variables, "variable", name=f, units=ascii_unit(str(info[f].get("unit", ""))),
                   ID=str(i))  # fmt: skip
        pps = _sub(var, "physical_parameter_set")
        _sub(pps, "conditions")
        d = info[f].get("diffusion_um2_per_min", float("nan"))
        _sub(pps, "diffusion_coefficient", f"{d:f}", units="micron^2/min")
        _sub(pps, "decay_rate", f"{info[f].get('decay_per_min', float('nan')):f}", units="1/min")
    _sub(_sub(domain, "data", type="matlab"), "filename", f"output{k:08d}_microenvironment0.mat")
    custom = _sub(_sub(_sub(_sub(root, "cellular_information"), "cell_populations"),
                       "cell_population", type="individual"), "custom")  # fmt: skip
    simple = _sub(custom, "simplified_data", type="matlab", source="PhysiCell", data_version="2")
    types = _sub(simple, "cell_types")
    for i, name in enumerate(type_names):
        _sub(types, "type", name, ID=str(i), type=str(i))
    labs = _sub(simple, "labels")
    index = 0
    for name, size, unit in labels:
        _sub(labs, "label", name, index=str(index), size=str(size), units=unit)
        index += size
    _sub(simple, "filename", f"output{k:08d}_cells.mat")
    for g in GRAPHS:
        el = _sub(custom, g.replace("cell_neighbor", "neighbor"), type="text", source="PhysiCell",
                  data_version="2")  # fmt: skip
        _sub(el, "filename", f"output{k:08d}_{g}.txt")
    ET.indent(root, space="\t")
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_physicell(
    stage: Path, run: Run, selected: Sequence[tuple[int, float]], fields: Sequence[str],
    type_names: Sequence[str], units: Mapping[str, str], with_cells: bool,
) -> list[str]:  # fmt: skip
    """Write the snapshots ``selected`` (``(index, time min)``) into ``stage``.

    Args:
        stage: the folder to write in.
        run: the run.
        selected: the snapshots, checked.
        fields: the fields to write, checked.
        type_names: the cell-type names, one per type index.
        units: invasim unit of the cell columns (for custom data).
        with_cells: the run recorded cells (else every snapshot has none).

    Returns:
        the names written, the ``.xml`` indexes last.
    """
    ctypes = _cell_types(run)
    models = [(ct.get("cycle") or {}).get("model", CycleCell.model_fields["model"].default)
              for ct in ctypes.values()]  # fmt: skip
    reach_default = MechanicsCell.model_fields["relative_max_adhesion_distance"].default
    reach = [(ct.get("mechanics") or {}).get("relative_max_adhesion_distance", reach_default)
             for ct in ctypes.values()]  # fmt: skip
    taken = frozenset(fields) | {f"{f}_{p}" for f in fields
                                 for p in ("decay_rate", "diffusion_coefficient")}  # fmt: skip
    mesh = mesh_matrix(run)
    _save_mat(stage / MESH_FILE, "mesh", mesh)
    data, index = [MESH_FILE], []
    empty = pd.DataFrame({"id": np.zeros(0, np.int64), "type": np.zeros(0, np.int64)})
    for k, t in selected:
        frame = run.cells(t) if with_cells else empty
        top = int(frame["type"].max()) + 1 if len(frame) else 0
        names = [*type_names, *(f"type {i}" for i in range(len(type_names), top))]
        labels, matrix = cell_matrix(frame, models + ["?"] * (top - len(models)), units, taken)
        env = [np.asarray(run.field(f, t), dtype=np.float64).ravel() for f in fields]
        base = f"output{k:08d}"
        _save_mat(stage / f"{base}_cells.mat", "cells", matrix)
        _save_mat(stage / f"{base}_microenvironment0.mat", "multiscale_microenvironment",
                  np.concatenate([mesh, *(e[None, :] for e in env)], axis=0))  # fmt: skip
        ids = frame["id"].to_numpy()
        s = np.array(reach + [reach_default] * (top - len(reach)), dtype=np.float64)
        for g in GRAPHS:
            partners = (neighbour_lists(frame, s) if g == "cell_neighbor_graph" else
                        spring_partners(frame) if g == "spring_attached_cells_graph" else None)
            write_text_atomic(stage / f"{base}_{g}.txt", graph_text(ids, partners))
        write_text_atomic(stage / f"{base}.xml", snapshot_xml(run, k, t, fields, names, labels))
        data += [f"{base}_cells.mat", f"{base}_microenvironment0.mat",
                 *(f"{base}_{g}.txt" for g in GRAPHS)]  # fmt: skip
        index.append(f"{base}.xml")
    return [*data, *index]
