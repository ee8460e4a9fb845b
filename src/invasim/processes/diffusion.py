"""Diffusion: the diffusing fields diffuse and decay, one LOD solve per diffusion step.

Contract:
    * Every field of kind ``diffusing`` (``[params.fields.<name>]``) obeys
      ``∂u/∂t = D ∇²u − λ u`` (plus the sources and sinks of the secretion process, which
      runs before it on the diffusion clock), with Dirichlet (far-field value) or no-flux walls,
      solved by :class:`~invasim.physics.diffusion.Diffusion` (LOD Crank–Nicolson by default;
      BioFVM's LOD backward Euler on request).
    * Clock: diffusion, after secretion. Small meshes run their sweeps on one thread
      (:func:`~invasim.physics.diffusion.single_thread_if_small`).
    * A field with its own ``dt_min`` (:func:`field_substeps` = ``k`` diffusion steps) is
      solved over ``k dt_diffusion`` at the last of each ``k`` diffusion steps
      (``state.diff_step``), so it is up to date at the end of every mechanics step; secretion
      steps its sources and sinks on the same clock. ``k`` must divide the diffusion steps of
      a mechanics step (checked).
    * Interventions of kind ``field`` change a field's ``D``, decay or far-field value over a
      window; the solver of that field is rebuilt when its parameters change (checked once per
      phenotype step).
    * :meth:`DiffusionProcess.check`: the diffusion step must meet the scheme's accuracy limit
      for every field, with the largest ``D`` an intervention can give it (one line naming the
      field, the limit and the remedy), unless ``accuracy_check = false`` (a PhysiCell
      project run at PhysiCell's own step, to compare like with like).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from invasim.agents.interventions import field_parameters
from invasim.agents.process import ORDER, Process, register_process, whole_steps
from invasim.core.mesh import Mesh
from invasim.physics.diffusion import Diffusion, accuracy_dt_limit


class DiffusionParams(BaseModel):
    """``[params.diffusion]``: the solver of the diffusing fields."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["lod-cn", "lod-be"] = Field(
        "lod-cn", description="diffusion scheme (invasim.physics.diffusion)"
    )
    accuracy_check: bool = Field(
        True,
        description="refuse a diffusion step beyond the scheme's accuracy limit; false runs "
        "it anyway (both LOD schemes are stable at any step): e.g. an imported PhysiCell "
        "project at its own dt_diffusion with BioFVM's scheme lod-be, to reproduce its "
        "numbers rather than the exact solution",
    )


def diffusing_fields(params: Any) -> dict[str, Any]:
    """The fields of kind ``diffusing``, by name, in scenario order."""
    return {k: f for k, f in params.fields.items() if f.kind == "diffusing"}


def field_substeps(field: Any, dt_diffusion: float) -> int:
    """Diffusion steps per step of a diffusing field: ``dt_min / dt_diffusion`` (1 if unset).

    :meth:`DiffusionProcess.check` refuses a ``dt_min`` that is not a whole multiple of the
    diffusion step.
    """
    if field.dt_min is None:
        return 1
    return whole_steps(field.dt_min, dt_diffusion) or 1


def due(k: int, diff_step: int) -> bool:
    """Whether a field stepped every ``k`` diffusion steps is due at step ``diff_step``.

    ``diff_step`` counts from 0 within the mechanics step; the field steps at the last of each
    group of ``k``.
    """
    return k == 1 or (diff_step + 1) % k == 0


@register_process
class DiffusionProcess(Process):
    """Diffusion and decay of the diffusing fields."""

    name: ClassVar[str] = "diffusion"
    title: ClassVar[str] = "diffusing fields diffuse and decay"
    clock: ClassVar[str] = "diffusion"
    order: ClassVar[float] = ORDER["diffusion"]["diffusion"]
    Params: ClassVar[type[BaseModel]] = DiffusionParams
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A, Friedman SH, Macklin P (2016) BioFVM: an efficient, parallelized "
        "diffusive transport solver for 3-D biological simulations. Bioinformatics 32:1256-1258",
    )

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """The diffusion step against the scheme's accuracy limit, per field."""
        problems = []
        scheme = params.diffusion.scheme
        for name, f in diffusing_fields(params).items():
            if f.dt_min is None:
                continue
            if whole_steps(f.dt_min, params.dt_diffusion_min) is None:
                problems.append(
                    f"params.fields.{name}.dt_min = {f.dt_min:g} must be a whole multiple of "
                    f"params.dt_diffusion_min = {params.dt_diffusion_min:g}"
                )
            elif whole_steps(params.dt_mechanics_min, f.dt_min) is None:
                problems.append(
                    f"params.fields.{name}.dt_min = {f.dt_min:g} must divide "
                    f"params.dt_mechanics_min = {params.dt_mechanics_min:g}"
                )
        if not params.diffusion.accuracy_check:
            return problems
        for name, f in diffusing_fields(params).items():
            dt_f = params.dt_diffusion_min if f.dt_min is None else f.dt_min
            bc = f.wall()
            D = max([f.diffusion_um2_per_min] + [
                iv.value if iv.mode == "set" else iv.value * f.diffusion_um2_per_min
                for iv in params.interventions
                if getattr(iv, "kind", "") == "field" and iv.field == name
                and iv.parameter == "diffusion_um2_per_min"
            ])  # fmt: skip
            limit = accuracy_dt_limit(mesh, D, scheme, bc)
            if dt_f > limit * (1 + 1e-12):
                h_min = math.sqrt(dt_f * D / (limit * D / mesh.h**2))
                key = "dt_diffusion_min" if f.dt_min is None else f"fields.{name}.dt_min"
                problems.append(
                    f"params.{key} = {dt_f:g} exceeds the "
                    f"{scheme} accuracy limit {limit:.4g} min for {name} "
                    f"(D = {D:.4g} µm²/min, h = {mesh.h:g} µm, {f.boundary} walls); use "
                    f"{key.split('.')[-1]} <= {limit:.4g} or mesh.voxel_um >= {h_min:.4g}"
                )
        return problems

    def setup(self, state) -> None:
        """One solver per diffusing field."""
        self.fields = diffusing_fields(self.params)
        self.changes = [iv for iv in self.params.interventions if iv.kind == "field"]
        self.current: dict[str, dict] = {}
        self.solvers: dict[str, Diffusion] = {}
        self.every = {name: field_substeps(f, state.dt_diff) for name, f in self.fields.items()}
        self.seen_step = None
        self._update(state)

    def _update(self, state) -> None:
        """Build the solvers whose field's parameters (after interventions) changed."""
        for name, f in self.fields.items():
            now = field_parameters(self.changes, name, f, state.step_start)
            if self.current.get(name) != now:
                self.current[name] = now
                self.solvers[name] = Diffusion(
                    state.mesh, now["diffusion_um2_per_min"], now["decay_per_min"],
                    state.dt_diff * self.every[name], f.wall(now["boundary_value"]),
                    self.table.scheme,
                )  # fmt: skip
        self.seen_step = state.step_start

    def step(self, state, dt: float) -> None:
        """One diffusion step of every diffusing field (a field on its own clock when due)."""
        if self.changes and state.step_start != self.seen_step:
            self._update(state)
        for name, solver in self.solvers.items():
            if due(self.every[name], state.diff_step):
                solver.step(state.fields[name])
