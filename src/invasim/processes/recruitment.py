"""Recruitment: cells (immune cells) enter the tissue window from its edges.

Contract:
    * ``[[params.recruitment.sources]]``: each source adds cells of ``cell_type`` through the
      window's faces ``faces`` (``"x-"``, ``"x+"``, ``"y-"``, ``"y+"``, and in 3-D ``"z-"``,
      ``"z+"``; unset: every face of the window) at the rate

          R = rate_per_min · (1 + max_fold · s^h / (s^h + K^h))

      cells/min, ``s`` the mean of the field ``signal_field`` over the window (the
      chemokine a tumour releases into the blood and the vessels of the margin; without one
      ``R = rate_per_min``), ``K = half_max`` and ``h = hill``. T cells and NK cells home to
      tumours by CXCL9/10-CXCR3 (Mikucki et al., Nat Commun 2015); the constant part is the
      baseline influx of Kuznetsov et al. 1994 (their ``s``).
    * Each phenotype step ``dt`` a source adds a Poisson number of cells of mean ``R dt``
      (counter-based inverse-CDF draw keyed by seed, phenotype step, source index, stream
      :data:`STREAM_RECRUIT`; a normal approximation above a mean of 50), none beyond
      ``max_cells`` live cells of the type. Each new cell sits at a uniform point of the chosen
      faces (faces weighted by their length or area), one cell radius inside the window, with
      the type's volume and the declared traits' initial values; it starts at phase 0.
    * The new cells' behaviours are their type's values until the next fill (the processes
      after this one in the step read those).
    * Metric: ``recruited_total`` (cells added so far, checkpointed with the state).
    * Clock: phenotype, last of the cell-life processes (after transformation).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.core.rng import normal, uniform, uniforms

STREAM_RECRUIT = 42
RECRUITED = "recruited_total"
FACES = ("x-", "x+", "y-", "y+", "z-", "z+")
#: above this mean the Poisson count is drawn from its normal approximation
POISSON_NORMAL_ABOVE = 50.0

Face = Literal["x-", "x+", "y-", "y+", "z-", "z+"]


class Source(BaseModel):
    """One ``[[params.recruitment.sources]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    cell_type: str = Field(description="the cell type recruited")
    rate_per_min: float = Field(
        ge=0, description="baseline influx into the window [cells/min]"
    )
    faces: list[Face] | None = Field(
        None,
        description="faces the cells enter through (x-, x+, y-, y+, z-, z+); unset: every face "
        "of the window (the four edges in 2-D)",
    )
    signal_field: str | None = Field(
        None, description="field whose window mean raises the influx (a chemokine); none: "
        "constant influx",
    )  # fmt: skip
    half_max: float = Field(
        1.0, gt=0, description="window-mean value of signal_field at half the rise [its unit]"
    )
    hill: float = Field(1.0, gt=0, description="Hill exponent of the rise [1]")
    max_fold: float = Field(
        0.0, ge=0, description="fold rise of the influx at saturation of the signal [1]"
    )
    max_cells: int | None = Field(
        None, ge=0, description="no recruitment while this many live cells of the type exist"
    )
    source: str = Field("", description="where the numbers come from (free text)")


class RecruitmentParams(BaseModel):
    """``[params.recruitment]``: the influxes of cells into the window."""

    model_config = ConfigDict(extra="forbid")

    sources: list[Source] = Field(default_factory=list, description="the influxes")


def poisson(mean: float, u: float, z: float) -> int:
    """A Poisson count of ``mean`` by inverse CDF of the uniform ``u``.

    ``z``: a standard normal draw, used above a mean of :data:`POISSON_NORMAL_ABOVE`.
    """
    if not mean > 0:
        return 0
    if mean > POISSON_NORMAL_ABOVE:
        return max(0, int(round(mean + math.sqrt(mean) * z)))
    k, p = 0, math.exp(-mean)
    cdf = p
    while u > cdf and k < 10_000:
        k += 1
        p *= mean / k
        cdf += p
    return k


def face_points(faces: list[str], extent, inset: float, u: np.ndarray) -> np.ndarray:
    """``[m, 3]`` points on ``faces`` of the box ``[0, extent]``, ``inset`` inside it.

    ``u``: ``[m, 3]`` uniforms; ``u[:, 0]`` picks the face (weighted by its length or area),
    the others the place on it.
    """
    dim = len(extent)
    ext = np.asarray(extent, dtype=np.float64)
    size = []
    for f in faces:
        a = "xyz".index(f[0])
        size.append(float(np.prod([ext[b] for b in range(dim) if b != a])))
    w = np.cumsum(size) / np.sum(size)
    pick = np.minimum(np.searchsorted(w, u[:, 0], side="right"), len(faces) - 1)
    out = np.zeros((u.shape[0], 3))
    for m in range(u.shape[0]):
        f = faces[pick[m]]
        a = "xyz".index(f[0])
        others = [b for b in range(dim) if b != a]
        for q, b in enumerate(others):
            out[m, b] = inset + u[m, 1 + q] * max(ext[b] - 2 * inset, 0.0)
        out[m, a] = inset if f[1] == "-" else ext[a] - inset
    return out


def influx_rate(source: Any, state) -> float:
    """A source's influx now (cells/min): ``R₀ (1 + F s^h / (s^h + K^h))`` (module contract).

    ``source`` has ``rate_per_min``, ``signal_field``, ``max_fold``, ``hill``, ``half_max``
    (a recruitment source; the vessel recruitment's sources have the same keys).
    """
    r = source.rate_per_min
    if source.signal_field is not None and source.max_fold > 0:
        m = max(float(np.mean(state.fields[source.signal_field])), 0.0)
        h, half = source.hill, source.half_max
        r *= 1.0 + source.max_fold * m**h / (m**h + half**h)
    return r


def draw_recruits(source: Any, state, k: int, t: int, mean: float, stream: int):
    """The recruits of source ``k`` in this step (cell type index ``t``, Poisson ``mean``).

    The count is capped by the source's ``max_cells`` (live cells of the type). Returns the
    ``[m, 3]`` uniforms that place them (keyed by seed, step, ``k``, ``stream``), or None if
    there are none.
    """
    c = state.cells
    seed, step = np.int64(state.seed), np.int64(state.pheno_step)
    u = uniform(seed, step, np.int64(k), stream, 0)
    z = normal(seed, step, np.int64(k), stream, 1) if mean > POISSON_NORMAL_ABOVE else 0.0
    m = poisson(mean, u, z)
    if source.max_cells is not None:
        live = int(np.count_nonzero((c.type[: c.n] == t) & (c.dead[: c.n] == 0)))
        m = min(m, max(source.max_cells - live, 0))
    if m <= 0:
        return None
    return uniforms(int(seed), int(step), np.full(3 * m, k, dtype=np.int64), stream,
                    3 + np.arange(3 * m)).reshape(m, 3)  # fmt: skip


def add_recruits(state, pos: np.ndarray, t: int, volume: float, specs) -> None:
    """Add recruits of type ``t`` at ``pos``.

    Their behaviours are their type's until the next fill.
    """
    m = pos.shape[0]
    values = getattr(state.behaviours, "values", None)
    base = (np.repeat(state.behaviours.base[t][:, None], m, axis=1)
            if values is not None and values.ndim == 2 else None)  # fmt: skip
    state.add_cells(pos, t, volume, specs, base)


@register_process
class RecruitmentProcess(Process):
    """Influx of cells through the window's faces."""

    name: ClassVar[str] = "recruitment"
    title: ClassVar[str] = "cells (immune cells) enter the window through its faces"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["recruitment"]
    Params: ClassVar[type[BaseModel]] = RecruitmentParams
    metric_names: ClassVar[tuple[str, ...]] = (RECRUITED,)
    #: the engine runs the phenotype step of an empty window when this process is listed
    adds_cells: ClassVar[bool] = True
    references: ClassVar[tuple[str, ...]] = (
        "Kuznetsov VA, Makalkin IA, Taylor MA, Perelson AS (1994) Nonlinear dynamics of "
        "immunogenic tumors: parameter estimation and global bifurcation analysis. Bull Math "
        "Biol 56:295-321",
        "Mikucki ME, Fisher DT, Matsuzaki J, ... Evans SS (2015) Non-redundant requirement for "
        "CXCR3 signalling during tumoricidal T-cell trafficking across tumour vascular "
        "checkpoints. Nat Commun 6:7458",
    )

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """Every source names a cell type, existing fields, and faces of the window."""
        out = []
        table = params.recruitment
        fields = set(getattr(params, "fields", {}) or {})
        for k, s in enumerate(table.sources if table is not None else ()):
            key = f"params.recruitment.sources[{k}]"
            if s.cell_type not in params.cell_types:
                out.append(f"{key}.cell_type {s.cell_type!r} is not a cell type; cell types: "
                           f"{', '.join(params.cell_types)}")  # fmt: skip
            if s.signal_field is not None and s.signal_field not in fields:
                out.append(f"{key}.signal_field {s.signal_field!r} is not a field; fields: "
                           f"{', '.join(sorted(fields)) or 'none'}")  # fmt: skip
            if s.faces is None:
                continue
            bad = [f for f in s.faces if "xyz".index(f[0]) >= mesh.dim]
            if bad or not s.faces:
                out.append(f"{key}.faces {s.faces} must name faces of the {mesh.dim}-D window: "
                           f"{', '.join(FACES[: 2 * mesh.dim])}")  # fmt: skip
        return out

    def setup(self, state) -> None:
        """The sources' cell type rows and volumes; the declared traits."""
        p = self.params
        self.sources = list(self.table.sources) if self.table is not None else []
        self.types = [state.type_names.index(s.cell_type) for s in self.sources]
        self.volumes = [p.cell_types[s.cell_type].volume.volume_um3 for s in self.sources]
        self.specs = p.trait_specs()
        every = list(FACES[: 2 * state.mesh.dim])
        self.faces = [every if s.faces is None else list(s.faces) for s in self.sources]

    def rate(self, state, k: int) -> float:
        """Source ``k``'s influx now (cells/min)."""
        return influx_rate(self.sources[k], state)

    def step(self, state, dt: float) -> None:
        """Add this step's recruits of every source."""
        total = 0
        for k, s in enumerate(self.sources):
            t = self.types[k]
            draws = draw_recruits(s, state, k, t, self.rate(state, k) * dt, STREAM_RECRUIT)
            if draws is None:
                continue
            m = draws.shape[0]
            radius = (3.0 * self.volumes[k] / (4.0 * math.pi)) ** (1.0 / 3.0)
            pos = face_points(self.faces[k], state.extent, radius, draws)
            add_recruits(state, pos[:, : state.mesh.dim], t, self.volumes[k], self.specs)
            total += m
        if total:
            state.counters[RECRUITED] = state.counters.get(RECRUITED, 0.0) + total
            state.moved()

    def metrics(self, state) -> dict[str, float]:
        """Cells recruited so far."""
        return {RECRUITED: state.counters.get(RECRUITED, 0.0)}
