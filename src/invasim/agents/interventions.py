"""Interventions: a schedule of drugs, resections, cell injections and substrate boluses.

Contract:
    * ``[[params.interventions]]`` is a list of tables, each with a ``kind``:

      - ``scale`` / ``set``: multiply a behaviour by ``value`` or set it to ``value`` (the
        behaviour's unit), in one cell type or in all (``cell_type`` unset), from ``from_min``
        until ``until_min`` (exclusive; unset: to the end). Layer 5 of the behaviour matrix
        (:mod:`invasim.agents.behaviours`): it acts on whatever the earlier layers set, so a
        drug that halves MMP secretion halves the rules' value too. It is on in the phenotype
        steps that start at ``t`` with ``from_min <= t < until_min`` (both of a step's fills).
      - ``field``: set (``mode = "set"``) or scale (``"scale"``) a diffusing field's
        ``diffusion_um2_per_min``, ``decay_per_min`` or ``boundary_value`` over a window
        (hypoxia at the far field, a drug that speeds a substrate's clearance); the diffusion
        process rebuilds that field's solver when the window opens and closes.
      - ``remove``: at ``at_min``, remove the cells (of ``cell_type``, or all) whose centre lies
        in ``region`` (a resection).
      - ``add_cells``: at ``at_min``, add cells of ``cell_type`` packed in ``region`` (a ball or
        a box, at ``spacing_um``), with the type's volume.
      - ``bolus``: at ``at_min``, add ``value`` to (``mode = "add"``) or set to ``value``
        (``"set"``) the field ``field`` in ``region`` (voxel centres inside; every voxel if
        unset).

    * One-off events (``remove``, ``add_cells``, ``bolus``) happen at the start of the phenotype
      step that starts at ``at_min``, which must be a whole number of steps; in list order.
      Everything is a function of time and the scenario, so a resumed or branched run applies
      the same schedule.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.biology.traits import seed_traits
from invasim.core import initial as placement
from invasim.core.mesh import Mesh


class Region(BaseModel):
    """A region of the domain: a ball (disc in 2-D) or an axis-aligned box, µm."""

    model_config = ConfigDict(extra="forbid")

    shape: Literal["ball", "box"] = Field(description="ball (disc in 2-D) or box")
    centre_um: list[float] | None = Field(None, description="ball: centre [µm]")
    radius_um: float | None = Field(None, gt=0, description="ball: radius [µm]")
    lo_um: list[float] | None = Field(None, description="box: lower corner [µm]")
    hi_um: list[float] | None = Field(None, description="box: upper corner [µm]")

    @model_validator(mode="after")
    def _complete(self) -> Region:
        if self.shape == "ball" and (self.centre_um is None or self.radius_um is None):
            raise ValueError("a ball region needs centre_um and radius_um")
        if self.shape == "box" and (self.lo_um is None or self.hi_um is None):
            raise ValueError("a box region needs lo_um and hi_um")
        return self

    def contains(self, x: np.ndarray, dim: int) -> np.ndarray:
        """``[n]`` bool: which points ``x`` (``[n, >= dim]``, µm) lie inside."""
        x = np.asarray(x, dtype=np.float64)[:, :dim]
        if self.shape == "ball":
            c = np.asarray(self.centre_um, dtype=np.float64)
            return np.sum((x - c) ** 2, axis=1) <= self.radius_um**2
        lo, hi = np.asarray(self.lo_um), np.asarray(self.hi_um)
        return np.all((x >= lo) & (x <= hi), axis=1)

    def dims(self) -> int | None:
        """How many coordinates the region gives."""
        return len(self.centre_um if self.shape == "ball" else self.lo_um)


class _Timed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field("", description="a name for plots and the report (e.g. 'MMP inhibitor')")


class ChangeBehaviour(_Timed):
    """Scale or set a behaviour over a time window (a drug)."""

    kind: Literal["scale", "set"] = Field(description="multiply by value, or set to value")
    behaviour: str = Field(description="a behaviour the listed processes read (rules name)")
    value: float = Field(description="the factor [1] or the value [the behaviour's unit]")
    cell_type: str | None = Field(None, description="the cell type; unset: every type")
    from_min: float = Field(0.0, ge=0, description="start [min]")
    until_min: float | None = Field(None, description="end [min] (exclusive); unset: never")

    @model_validator(mode="after")
    def _window(self) -> ChangeBehaviour:
        if self.until_min is not None and not self.until_min > self.from_min:
            raise ValueError("until_min must exceed from_min")
        if self.kind == "scale" and self.value < 0:
            raise ValueError("a scale factor must be >= 0")
        return self

    def window(self) -> tuple[float, float | None]:
        """``(start, end)`` of the intervention, min (end None: open)."""
        return self.from_min, self.until_min


class ChangeField(_Timed):
    """Set or scale a diffusing field's parameter over a time window."""

    kind: Literal["field"]
    field: str = Field(description="a diffusing field")
    parameter: Literal["diffusion_um2_per_min", "decay_per_min", "boundary_value"] = Field(
        description="which parameter [its unit: µm²/min, 1/min, the field's unit]"
    )
    mode: Literal["set", "scale"] = Field("set", description="set to value, or multiply by it")
    value: float = Field(ge=0, description="the value, or the factor")
    from_min: float = Field(0.0, ge=0, description="start [min]")
    until_min: float | None = Field(None, description="end [min] (exclusive); unset: never")

    @model_validator(mode="after")
    def _window(self) -> ChangeField:
        if self.until_min is not None and not self.until_min > self.from_min:
            raise ValueError("until_min must exceed from_min")
        return self

    def window(self) -> tuple[float, float | None]:
        """``(start, end)`` of the intervention, min (end None: open)."""
        return self.from_min, self.until_min

    def on(self, t_min: float) -> bool:
        """Whether it is on in the phenotype step that starts at ``t_min``."""
        return self.from_min <= t_min and (self.until_min is None or t_min < self.until_min)


def field_parameters(interventions: list, name: str, spec: Any, t_min: float) -> dict:
    """The diffusing field ``name``'s ``D``, decay and boundary value in the step at ``t_min``.

    ``spec``: its :class:`~invasim.agents.fields.DiffusingField`; the interventions of kind
    ``field`` that are on apply in list order.
    """
    out = {k: float(getattr(spec, k))
           for k in ("diffusion_um2_per_min", "decay_per_min", "boundary_value")}  # fmt: skip
    for iv in interventions:
        if isinstance(iv, ChangeField) and iv.field == name and iv.on(t_min):
            out[iv.parameter] = iv.value if iv.mode == "set" else out[iv.parameter] * iv.value
    return out


class _Event(_Timed):
    at_min: float = Field(ge=0, description="when [min]: the start of a phenotype step")

    def window(self) -> tuple[float, float | None]:
        """``(at, at)``: an instant."""
        return self.at_min, self.at_min


class RemoveCells(_Event):
    """Remove the cells in a region (a resection)."""

    kind: Literal["remove"]
    region: Region = Field(description="where")
    cell_type: str | None = Field(None, description="only this type; unset: every type")


class AddCells(_Event):
    """Add packed cells of one type in a region."""

    kind: Literal["add_cells"]
    region: Region = Field(description="where (ball or box)")
    cell_type: str = Field(description="their type")
    spacing_um: float = Field(16.0, gt=0, description="lattice spacing [µm]")


class Bolus(_Event):
    """Add to or set a field in a region."""

    kind: Literal["bolus"]
    field: str = Field(description="the field")
    value: float = Field(description="amount added, or the value set [the field's unit]")
    mode: Literal["add", "set"] = Field("add", description="add value, or set to value")
    region: Region | None = Field(None, description="where; unset: the whole domain")


Intervention = Annotated[
    ChangeBehaviour | ChangeField | RemoveCells | AddCells | Bolus, Field(discriminator="kind")
]


def check(interventions: list, params: Any, mesh: Mesh, dt: float, names: set[str]) -> list[str]:
    """Problems of a schedule: unknown types, fields or behaviours, off-step times, regions.

    ``names``: canonical names of the behaviours the listed processes read.
    """
    problems = []
    types = list(params.cell_types)
    for i, iv in enumerate(interventions):
        key = f"params.interventions[{i}]"
        ct = getattr(iv, "cell_type", None)
        if ct is not None and ct not in types:
            problems.append(f"{key}.cell_type = {ct!r} is not a cell type; known: {types}")
        if isinstance(iv, ChangeBehaviour) and iv.behaviour not in names:
            problems.append(
                f"{key}.behaviour = {iv.behaviour!r} is not read by the listed processes; "
                f"they read: {', '.join(sorted(names))}"
            )
        if isinstance(iv, ChangeField):
            spec = params.fields.get(iv.field)
            if spec is None or spec.kind != "diffusing":
                diffusing = [k for k, f in params.fields.items() if f.kind == "diffusing"]
                problems.append(
                    f"{key}.field = {iv.field!r} is not a diffusing field; diffusing fields: "
                    f"{', '.join(diffusing)}"
                )
        if isinstance(iv, Bolus) and iv.field not in params.fields:
            problems.append(
                f"{key}.field = {iv.field!r} is not a field; fields: {', '.join(params.fields)}"
            )
        if isinstance(iv, _Event):
            k = iv.at_min / dt
            if abs(k - round(k)) > 1e-9 * max(1.0, k):
                problems.append(
                    f"{key}.at_min = {iv.at_min:g} is not a whole number of phenotype steps "
                    f"(time.dt_min = {dt:g})"
                )
        region = getattr(iv, "region", None)
        if region is not None and region.dims() != mesh.dim:
            problems.append(f"{key}.region needs {mesh.dim} coordinates per point")
    return problems


def behaviour_layer(interventions: list, type_names: list[str]):
    """Layer 5 of the behaviour matrix: the scheduled ``scale``/``set`` changes."""
    changes = [iv for iv in interventions if isinstance(iv, ChangeBehaviour)]

    def layer(state, beh, columns, t_min: float) -> None:
        wanted = {beh.names[k] for k in columns}
        start = state.step_start  # the window is judged at the step's start, for both fills
        for iv in changes:
            if iv.behaviour not in wanted or start < iv.from_min:
                continue
            if iv.until_min is not None and start >= iv.until_min:
                continue
            col = beh.column(iv.behaviour)
            if iv.cell_type is None:
                sel = slice(None)
            else:
                sel = state.cells.type == type_names.index(iv.cell_type)
            if iv.kind == "scale":
                col[sel] *= iv.value
            else:
                col[sel] = iv.value

    return layer


def apply_events(interventions: list, state: Any, params: Any, t_min: float) -> bool:
    """Apply the one-off events due at ``t_min`` (a step start); True if cells changed."""
    changed = False
    dim = state.mesh.dim
    for iv in interventions:
        if not isinstance(iv, _Event) or abs(iv.at_min - t_min) > 1e-9 * max(1.0, t_min):
            continue
        c = state.cells
        if isinstance(iv, RemoveCells):
            mask = iv.region.contains(c.position, dim)
            if iv.cell_type is not None:
                mask &= c.type == state.type_names.index(iv.cell_type)
            if mask.any():
                state.remove(mask)
                changed = True
        elif isinstance(iv, AddCells):
            r = iv.region
            if r.shape == "ball":
                pos = placement.ball(dim, iv.spacing_um, r.centre_um, radius=r.radius_um)
            else:
                pos = placement.layer(dim, iv.spacing_um, r.lo_um, r.hi_um)
            inside = np.all((pos[:, :dim] >= 0) & (pos[:, :dim] <= state.extent), axis=1)
            pos = pos[inside]
            t = state.type_names.index(iv.cell_type)
            vol = params.cell_types[iv.cell_type].volume.volume_um3
            rows = c.add(pos.shape[0], position=pos,
                         type=np.full(pos.shape[0], t, dtype=np.int32),
                         volume=np.full(pos.shape[0], vol))  # fmt: skip
            specs = params.trait_specs()
            if specs:  # their traits from the declared initial values, keyed by their ids
                seed_traits(c, specs, state.seed, rows=np.arange(rows.start, rows.stop))
            state.pressure = np.concatenate([state.pressure, np.zeros(pos.shape[0])])
            changed = changed or pos.shape[0] > 0
        elif isinstance(iv, Bolus):
            u = state.fields[iv.field]
            if iv.region is None:
                where = np.ones(u.shape, dtype=bool)
            else:
                x, y, z = state.mesh.grids()
                pts = np.stack([np.broadcast_to(a, u.shape).ravel() for a in (x, y, z)], axis=1)
                where = iv.region.contains(pts, dim).reshape(u.shape)
            if iv.mode == "add":
                u[where] += iv.value
            else:
                u[where] = iv.value
    return changed
