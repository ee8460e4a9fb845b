"""Vessels: straight blood and lymph vessel segments in the window; blood vessels supply oxygen.

Contract:
    * ``[params.vessels]``: ``segments``, a list of tables ``{from, to, radius_um, kind}``
      (end points in µm, ``[x, y]`` in 2-D, ``[x, y, z]`` in 3-D; ``kind`` ``"blood"`` or
      ``"lymph"``), and ``random``, a list of tables ``{density_per_mm2 | density_per_mm3,
      length_um, radius_um, kind}`` that add straight segments at that density: each centre
      uniform in the window, each direction uniform (a uniform angle in 2-D, uniform on the
      sphere in 3-D), from counter-based uniforms keyed by (seed, group index, segment index,
      :data:`STREAM_VESSELS`): the same seed gives the same vessels, whatever else changes.
      The number of segments of a group is ``round(density × window area (2-D, mm²) or
      volume (3-D, mm³))``.
    * Geometry as a field: ``field`` names a matrix field (``kind = "matrix"``, no relaxation,
      ``upper`` unset or >= 2) into which :meth:`Vessels.setup` paints the code of each voxel
      (0 none, 1 blood, 2 lymph; :func:`invasim.physics.intravasation.paint_vessels`: a voxel
      whose centre lies within the radius of a segment, and the voxels its axis crosses).
      Painting is idempotent, so a restored run repaints the same voxels. The segments
      themselves (:func:`segments`) are what the intravasation process tests contact against.
    * Oxygen (or any diffusing field): ``supply``, a list of tables ``{field, kind, value,
      rate_per_min}``. In every voxel of a vessel of that kind, per step of the field,

          dc/dt = ν (c_v − c),  exactly:  c ← c_v + (c − c_v) exp(−ν dt)

      (the tissue_supply mechanism with the vessel indicator as its matrix; Anderson 2005's
      production ``ν f`` placed in the vessels). A large ``ν`` (default 100 /min: the voxel is
      within ``e^-5`` of ``c_v`` after a 0.05-min step) makes it a Dirichlet-like source:
      the vessel voxels hold the vessel's oxygen tension, and diffusion and the cells'
      uptake set the profile around them.
    * Clock: diffusion, order 14 (``ORDER["diffusion"]["vessels"]``): after the cells'
      secretion and uptake (10), before the tissue supply (15) and the diffusion solve (20);
      a field on its own ``dt_min`` gets its supply at the last of each group of steps.
    * :meth:`Vessels.check`: the fields exist with the right kinds, the segments lie in 2 or
      3 coordinates as the mesh, the radii and densities are positive.
    * A second process, ``vessel_recruitment`` (phenotype clock, order 161, after
      ``recruitment``): cells (immune cells) enter the window from the vessels.
      ``[[params.vessel_recruitment.sources]]`` ``{cell_type, kind, rate_per_min, signal_field,
      half_max, hill, max_fold, max_cells}``: the influx ``R`` and its Poisson draw are the
      recruitment process' (:mod:`invasim.processes.recruitment`: window mean of the signal,
      Hill rise, ``max_cells``); each new cell sits at a uniform point along the vessels of
      ``kind`` (segments weighted by length), just outside the wall (its centre at the vessel
      radius plus its own from the axis, on a uniform side: a uniform angle around the axis
      in 3-D), clipped one cell radius inside the window. Draws keyed by (seed, phenotype
      step, source, :data:`STREAM_VESSEL_RECRUIT`). Metric ``vessel_recruited_total``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.core.rng import uniforms
from invasim.physics.intravasation import KIND_CODES, paint_vessels
from invasim.processes.diffusion import due, field_substeps
from invasim.processes.recruitment import add_recruits, draw_recruits, influx_rate
from invasim.processes.tissue_supply import supply

#: rng stream of the random vessel segments
STREAM_VESSELS = 57
#: rng stream of the cells recruited through the vessels
STREAM_VESSEL_RECRUIT = 59
VESSEL_RECRUITED = "vessel_recruited_total"
Kind = Literal["blood", "lymph"]


class Segment(BaseModel):
    """One straight vessel segment."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: list[float] = Field(alias="from", description="first end point [µm], [x, y] or "
                               "[x, y, z]")  # fmt: skip
    end: list[float] = Field(alias="to", description="second end point [µm]")
    radius_um: float = Field(
        5.0, gt=0, allow_inf_nan=False,
        description="vessel radius [µm]; 5 µm: a capillary (lumen 5-10 µm across, Jain 1988 "
        "Cancer Res 48:2641)",
    )  # fmt: skip
    kind: Kind = Field("blood", description="blood or lymph")

    @model_serializer(mode="wrap")
    def _as_written(self, handler):
        """Dump with the scenario's keys ``from`` and ``to`` (a resolved scenario reloads)."""
        d = handler(self)
        return {"from": d.pop("start"), "to": d.pop("end"), **d}


class RandomVessels(BaseModel):
    """Straight segments added at a density (counter-based, seed-stable)."""

    model_config = ConfigDict(extra="forbid")

    density_per_mm2: float | None = Field(
        None, ge=0, description="2-D: segments per mm² of window [1/mm²]"
    )
    density_per_mm3: float | None = Field(
        None, ge=0, description="3-D: segments per mm³ of window [1/mm³]"
    )
    length_um: float = Field(
        100.0, gt=0, allow_inf_nan=False,
        description="segment length [µm]; ~100 µm between branch points of a tumour capillary "
        "network (illustrative; Baish & Jain 2000 Cancer Res 60:3683 for the network scale)",
    )  # fmt: skip
    radius_um: float = Field(5.0, gt=0, allow_inf_nan=False, description="radius [µm]")
    kind: Kind = Field("blood", description="blood or lymph")

    @model_validator(mode="after")
    def _one_density(self) -> RandomVessels:
        if (self.density_per_mm2 is None) == (self.density_per_mm3 is None):
            raise ValueError("give exactly one of density_per_mm2 (2-D), density_per_mm3 (3-D)")
        return self


class VesselSupply(BaseModel):
    """A kind of vessel holds a diffusing field near a value (oxygen from the blood)."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="the supplied diffusing field (e.g. oxygen)")
    kind: Kind = Field("blood", description="the vessels that supply it")
    value: float = Field(
        ge=0, allow_inf_nan=False,
        description="c_v: the value in the vessel [the field's unit]; no default (oxygen: "
        "~40 mmHg in tumour microvessels, Vaupel et al. 1989 Cancer Res 49:6449; PhysiCell's "
        "38 mmHg)",
    )  # fmt: skip
    rate_per_min: float = Field(
        100.0, ge=0, allow_inf_nan=False,
        description="ν: relaxation rate towards c_v in the vessel voxels [1/min]; 100: "
        "Dirichlet-like (numerical choice, not a measured rate)",
    )  # fmt: skip


class VesselsParams(BaseModel):
    """``[params.vessels]``."""

    model_config = ConfigDict(extra="forbid")

    field: str | None = Field(
        "vessels", description="matrix field the vessel codes are painted into (0 none, 1 "
        "blood, 2 lymph); None: no field"
    )  # fmt: skip
    segments: list[Segment] = Field(default_factory=list, description="explicit segments")
    random: list[RandomVessels] = Field(
        default_factory=list, description="segments generated at a density"
    )
    supply: list[VesselSupply] = Field(
        default_factory=list, description="diffusing fields the vessels hold near a value"
    )


def segments(table: VesselsParams, extent: tuple[float, ...], seed: int) -> np.ndarray:
    """``[m, 8]`` rows ``(ax, ay, az, bx, by, bz, radius, kind code)``: explicit, then random.

    2-D: z = 0. Random groups in order; segment ``k`` of group ``g`` uses the uniforms keyed by
    ``(seed, g, k, STREAM_VESSELS)``.
    """
    dim = len(extent)
    rows = []
    for s in table.segments:
        a = list(s.start) + [0.0] * (3 - len(s.start))
        b = list(s.end) + [0.0] * (3 - len(s.end))
        rows.append([*a, *b, s.radius_um, KIND_CODES[s.kind]])
    ext = np.asarray(extent, dtype=np.float64)
    for g, r in enumerate(table.random):
        size_mm = float(np.prod(ext)) * 1e-3**dim
        density = r.density_per_mm2 if dim == 2 else r.density_per_mm3
        m = int(round((density or 0.0) * size_mm))
        if m == 0:
            continue
        k = np.arange(m, dtype=np.int64)
        u = [uniforms(int(seed), g, k, STREAM_VESSELS, q) for q in range(dim + 2)]
        centre = np.zeros((m, 3))
        centre[:, :dim] = np.stack([u[q] * ext[q] for q in range(dim)], axis=1)
        d = np.zeros((m, 3))
        if dim == 2:
            phi = 2.0 * math.pi * u[dim]
            d[:, 0], d[:, 1] = np.cos(phi), np.sin(phi)
        else:
            cz = 2.0 * u[dim] - 1.0
            phi = 2.0 * math.pi * u[dim + 1]
            sz = np.sqrt(np.maximum(1.0 - cz * cz, 0.0))
            d[:, 0], d[:, 1], d[:, 2] = sz * np.cos(phi), sz * np.sin(phi), cz
        half = 0.5 * r.length_um * d
        for j in range(m):
            rows.append([*(centre[j] - half[j]), *(centre[j] + half[j]), r.radius_um,
                         KIND_CODES[r.kind]])  # fmt: skip
    return np.array(rows, dtype=np.float64).reshape(-1, 8)


def paint(field: np.ndarray, segs: np.ndarray, mesh: Mesh) -> int:
    """Paint the segments' codes into ``field`` (``mesh.array_shape``); voxels written."""
    return int(paint_vessels(field, np.ascontiguousarray(segs), float(mesh.h), int(mesh.dim)))


@register_process
class Vessels(Process):
    """Blood and lymph vessel segments; blood vessels hold oxygen at the vessel value."""

    name: ClassVar[str] = "vessels"
    title: ClassVar[str] = "blood and lymph vessels in the window; vessels supply oxygen"
    clock: ClassVar[str] = "diffusion"
    order: ClassVar[float] = ORDER["diffusion"]["vessels"]
    Params: ClassVar[type[BaseModel]] = VesselsParams
    metric_names: ClassVar[tuple[str, ...]] = ("vessel_segments",)
    references: ClassVar[tuple[str, ...]] = (
        "Anderson ARA (2005) A hybrid mathematical model of solid tumour invasion: the "
        "importance of cell adhesion. Math Med Biol 22:163-186",
        "Vaupel P, Kallinowski F, Okunieff P (1989) Blood flow, oxygen and nutrient supply, "
        "and metabolic microenvironment of human tumors: a review. Cancer Res 49:6449-6465",
    )

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """Fields of the right kinds; end points with as many coordinates as the mesh."""
        t = params.vessels
        fields = params.fields
        out = []
        if t.field is not None:
            f = fields.get(t.field)
            if f is None or f.kind != "matrix":
                what = "is not a field" if f is None else f"is a {f.kind} field"
                out.append(f"params.vessels.field = {t.field!r} {what}; it must be a matrix field "
                           "(kind = 'matrix', upper >= 2 or unset)")  # fmt: skip
            elif (f.upper is not None and f.upper < 2) or f.relaxation_per_min != 0:
                out.append(f"params.vessels.field = {t.field!r}: the matrix field needs "
                           "upper >= 2 (or unset) and relaxation_per_min = 0 to hold the "
                           "vessel codes")  # fmt: skip
        for i, s in enumerate(t.segments):
            for key, p in (("from", s.start), ("to", s.end)):
                if len(p) != mesh.dim:
                    out.append(f"params.vessels.segments[{i}].{key} = {p} needs {mesh.dim} "
                               f"coordinates (µm) for the {mesh.dim}-D window")  # fmt: skip
        for i, r in enumerate(t.random):
            want = "density_per_mm2" if mesh.dim == 2 else "density_per_mm3"
            if getattr(r, want) is None:
                out.append(f"params.vessels.random[{i}]: a {mesh.dim}-D window needs {want}")
        for i, s in enumerate(t.supply):
            f = fields.get(s.field)
            if f is None or f.kind != "diffusing":
                allowed = [n for n, x in fields.items() if x.kind == "diffusing"]
                out.append(f"params.vessels.supply[{i}].field = {s.field!r} is not a diffusing "
                           f"field; diffusing fields: {', '.join(allowed) or 'none'}")  # fmt: skip
        return out

    def setup(self, state) -> None:
        """Build the segments, paint the field, the indicator of each supplying kind."""
        self.segs = segments(self.table, tuple(state.extent), state.seed)
        mesh = state.mesh
        if self.table.field is not None:
            paint(state.fields[self.table.field], self.segs, mesh)
        self.indicator = {}
        for s in self.table.supply:
            code = KIND_CODES[s.kind]
            if code not in self.indicator:
                codes = np.zeros(mesh.array_shape)
                paint(codes, self.segs[self.segs[:, 7] == code], mesh)
                self.indicator[code] = (codes > 0).astype(np.float64)
        self.every = [field_substeps(self.params.fields[s.field], state.dt_diff)
                      for s in self.table.supply]  # fmt: skip

    def step(self, state, dt: float) -> None:
        """Each supply over its field's step (exact relaxation in the vessel voxels)."""
        f = state.fields
        for s, k in zip(self.table.supply, self.every, strict=True):
            if due(k, state.diff_step):
                supply(f[s.field], self.indicator[KIND_CODES[s.kind]], s.rate_per_min, s.value,
                       dt * k)  # fmt: skip

    def metrics(self, state) -> dict[str, float]:
        """The number of vessel segments."""
        return {"vessel_segments": float(self.segs.shape[0])}


class VesselSource(BaseModel):
    """One ``[[params.vessel_recruitment.sources]]`` entry: cells that leave the vessels."""

    model_config = ConfigDict(extra="forbid")

    cell_type: str = Field(description="the cell type recruited")
    kind: Kind = Field("blood", description="the vessels the cells come out of")
    rate_per_min: float = Field(
        ge=0, allow_inf_nan=False,
        description="baseline influx through all vessels of the kind [cells/min]; no default "
        "(the baseline influx of Kuznetsov et al. 1994 Bull Math Biol 56:295, per window)",
    )  # fmt: skip
    signal_field: str | None = Field(
        None, description="field whose window mean raises the influx (a chemokine); none: "
        "constant influx",
    )  # fmt: skip
    half_max: float = Field(
        1.0, gt=0, description="window-mean value of signal_field at half the rise [its unit]"
    )
    hill: float = Field(1.0, gt=0, description="Hill exponent of the rise [1]")
    max_fold: float = Field(
        0.0, ge=0, description="fold rise of the influx at saturation of the signal [1] "
        "(CXCL9/10-CXCR3 homing: Mikucki et al. 2015 Nat Commun 6:7458)"
    )  # fmt: skip
    max_cells: int | None = Field(
        None, ge=0, description="no recruitment while this many live cells of the type exist"
    )


class VesselRecruitmentParams(BaseModel):
    """``[params.vessel_recruitment]``."""

    model_config = ConfigDict(extra="forbid")

    sources: list[VesselSource] = Field(default_factory=list, description="the influxes")


def points_on_vessels(segs: np.ndarray, dim: int, offset: float, u: np.ndarray) -> np.ndarray:
    """``[m, 3]`` points just outside the vessels ``segs``: ``offset`` µm beyond each wall.

    ``u``: ``[m, 3]`` uniforms: the segment (by length), the place along it, the side (2-D) or
    the angle around the axis (3-D).
    """
    a, b = segs[:, 0:3], segs[:, 3:6]
    length = np.linalg.norm(b - a, axis=1)
    w = np.cumsum(length) / max(float(length.sum()), 1e-300)
    pick = np.minimum(np.searchsorted(w, u[:, 0], side="right"), segs.shape[0] - 1)
    out = np.zeros((u.shape[0], 3))
    for m in range(u.shape[0]):
        s = pick[m]
        d = b[s] - a[s]
        L = float(np.linalg.norm(d))
        d = d / L if L > 0 else np.array([1.0, 0.0, 0.0])
        if dim == 2:
            n = np.array([-d[1], d[0], 0.0]) * (1.0 if u[m, 2] < 0.5 else -1.0)
        else:
            e1 = np.cross(d, [1.0, 0.0, 0.0] if abs(d[0]) < 0.9 else [0.0, 1.0, 0.0])
            e1 /= np.linalg.norm(e1)
            e2 = np.cross(d, e1)
            phi = 2.0 * math.pi * u[m, 2]
            n = math.cos(phi) * e1 + math.sin(phi) * e2
        out[m] = a[s] + u[m, 1] * (b[s] - a[s]) + (segs[s, 6] + offset) * n
    return out


@register_process
class VesselRecruitment(Process):
    """Cells (immune cells) enter the window out of the vessels."""

    name: ClassVar[str] = "vessel_recruitment"
    title: ClassVar[str] = "cells (immune cells) enter the window from the vessels"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["vessel_recruitment"]
    Params: ClassVar[type[BaseModel]] = VesselRecruitmentParams
    requires: ClassVar[tuple[str, ...]] = ("vessels",)
    metric_names: ClassVar[tuple[str, ...]] = (VESSEL_RECRUITED,)
    adds_cells: ClassVar[bool] = True

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """Every source names a cell type and an existing field."""
        out = []
        fields = set(params.fields)
        for i, s in enumerate(params.vessel_recruitment.sources):
            key = f"params.vessel_recruitment.sources[{i}]"
            if s.cell_type not in params.cell_types:
                out.append(f"{key}.cell_type {s.cell_type!r} is not a cell type; cell types: "
                           f"{', '.join(params.cell_types)}")  # fmt: skip
            if s.signal_field is not None and s.signal_field not in fields:
                out.append(f"{key}.signal_field {s.signal_field!r} is not a field; fields: "
                           f"{', '.join(sorted(fields)) or 'none'}")  # fmt: skip
        return out

    def setup(self, state) -> None:
        """The segments; each source's type row, volume and vessels."""
        p = self.params
        segs = segments(p.vessels, tuple(state.extent), state.seed)
        self.sources = list(self.table.sources)
        self.types = [state.type_names.index(s.cell_type) for s in self.sources]
        self.volumes = [p.cell_types[s.cell_type].volume.volume_um3 for s in self.sources]
        self.segs = [segs[segs[:, 7] == KIND_CODES[s.kind]] for s in self.sources]
        self.specs = p.trait_specs()

    def rate(self, state, k: int) -> float:
        """Source ``k``'s influx now (cells/min), as the recruitment process computes it."""
        return influx_rate(self.sources[k], state)

    def step(self, state, dt: float) -> None:
        """Add this step's recruits of every source next to its vessels."""
        total = 0
        dim = state.mesh.dim
        ext = np.asarray(state.extent, dtype=np.float64)
        for k, s in enumerate(self.sources):
            if not self.segs[k].shape[0]:
                continue
            t = self.types[k]
            draws = draw_recruits(s, state, k, t, self.rate(state, k) * dt,
                                  STREAM_VESSEL_RECRUIT)  # fmt: skip
            if draws is None:
                continue
            m = draws.shape[0]
            radius = (3.0 * self.volumes[k] / (4.0 * math.pi)) ** (1.0 / 3.0)
            pos = points_on_vessels(self.segs[k], dim, radius, draws)[:, :dim]
            pos = np.clip(pos, radius, np.maximum(ext - radius, radius))
            add_recruits(state, pos, t, self.volumes[k], self.specs)
            total += m
        if total:
            state.counters[VESSEL_RECRUITED] = state.counters.get(VESSEL_RECRUITED, 0.0) + total
            state.moved()

    def metrics(self, state) -> dict[str, float]:
        """Cells recruited through the vessels so far."""
        return {VESSEL_RECRUITED: state.counters.get(VESSEL_RECRUITED, 0.0)}
