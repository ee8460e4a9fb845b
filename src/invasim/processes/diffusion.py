"""Diffusion: the diffusing fields diffuse and decay, one LOD solve per diffusion step.

Contract:
    * Every field of kind ``diffusing`` (``[params.fields.<name>]``) obeys
      ``∂u/∂t = D ∇²u − λ u`` (plus the sources and sinks of the secretion process, which
      runs before it on the diffusion clock), with Dirichlet (far-field value) or no-flux walls,
      solved by :class:`~invasim.physics.diffusion.Diffusion` (LOD Crank–Nicolson by default;
      BioFVM's LOD backward Euler on request).
    * Clock: diffusion, after secretion. Small meshes run their sweeps on one thread
      (:func:`~invasim.physics.diffusion.single_thread_if_small`).
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
from invasim.agents.process import ORDER, Process, register_process
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
        if not params.diffusion.accuracy_check:
            return problems
        for name, f in diffusing_fields(params).items():
            bc = f.wall()
            D = max([f.diffusion_um2_per_min] + [
                iv.value if iv.mode == "set" else iv.value * f.diffusion_um2_per_min
                for iv in params.interventions
                if getattr(iv, "kind", "") == "field" and iv.field == name
                and iv.parameter == "diffusion_um2_per_min"
            ])  # fmt: skip
            limit = accuracy_dt_limit(mesh, D, scheme, bc)
            if params.dt_diffusion_min > limit * (1 + 1e-12):
                h_min = math.sqrt(params.dt_diffusion_min * D / (limit * D / mesh.h**2))
                problems.append(
                    f"params.dt_diffusion_min = {params.dt_diffusion_min:g} exceeds the "
                    f"{scheme} accuracy limit {limit:.4g} min for {name} "
                    f"(D = {D:.4g} µm²/min, h = {mesh.h:g} µm, {f.boundary} walls); use "
                    f"dt_diffusion_min <= {limit:.4g} or mesh.voxel_um >= {h_min:.4g}"
                )
        return problems

    def setup(self, state) -> None:
        """One solver per diffusing field."""
        self.fields = diffusing_fields(self.params)
        self.changes = [iv for iv in self.params.interventions if iv.kind == "field"]
        self.current: dict[str, dict] = {}
        self.solvers: dict[str, Diffusion] = {}
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
                    state.dt_diff, f.wall(now["boundary_value"]),
                    self.table.scheme,
                )  # fmt: skip
        self.seen_step = state.step_start

    def step(self, state, dt: float) -> None:
        """One diffusion step of every diffusing field."""
        if self.changes and state.step_start != self.seen_step:
            self._update(state)
        for name, solver in self.solvers.items():
            solver.step(state.fields[name])
