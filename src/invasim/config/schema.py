"""The scenario schema: the one source of truth for what a scenario may contain.

A scenario is a TOML file with top-level keys ``name``, ``description``, ``model``,
``references`` and ``seed``, and the tables ``[mesh]``, ``[time]``, ``[params]`` and
``[sources]``. ``[params]`` is validated by the chosen model's own ``Params`` schema
(:mod:`invasim.models`); everything else here. Lengths are in µm, times in minutes.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from invasim.core.mesh import Mesh

#: the largest mesh a scenario may ask for (voxels); larger is almost always a typo
MAX_VOXELS = 512**3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)


class MeshConfig(_Strict):
    """The tissue window and its voxels."""

    dim: int = Field(description="number of spatial dimensions (1, 2 or 3)", ge=1, le=3)
    extent_um: list[float] = Field(description="domain size per axis, x[, y[, z]] [µm]")
    voxel_um: float = Field(description="voxel side [µm]", gt=0)

    @field_validator("extent_um")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(not (e > 0 and math.isfinite(e)) for e in v):
            raise ValueError("every extent must be a positive, finite length in µm")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> MeshConfig:
        if len(self.extent_um) != self.dim:
            raise ValueError(
                f"extent_um has {len(self.extent_um)} entries but dim = {self.dim}; "
                "give one extent per axis"
            )
        mesh = self.build()
        if mesh.n_voxels > MAX_VOXELS:
            raise ValueError(
                f"{mesh.n_voxels} voxels exceeds the limit {MAX_VOXELS}; enlarge voxel_um"
            )
        for e, n in zip(self.extent_um, mesh.n, strict=True):
            if abs(n * self.voxel_um - e) > 1e-6 * e:
                raise ValueError(
                    f"extent {e} µm is not a whole number of voxels of {self.voxel_um} µm"
                )
        return self

    def build(self) -> Mesh:
        """The :class:`~invasim.core.mesh.Mesh` this section describes."""
        return Mesh.from_extent(self.extent_um, self.voxel_um)


class TimeConfig(_Strict):
    """Simulated time, the time step and how often to record."""

    end_min: float = Field(description="simulated time at which the run ends [min]", gt=0)
    dt_min: float = Field(description="time step of the model [min]", gt=0)
    output_interval_min: float = Field(
        description="interval between metric rows and field snapshots [min]", gt=0
    )
    checkpoint_interval_min: float = Field(
        description="interval between checkpoints (resume and branch points) [min]", gt=0
    )

    @model_validator(mode="after")
    def _multiples(self) -> TimeConfig:
        for key in ("output_interval_min", "checkpoint_interval_min"):
            value = getattr(self, key)
            k = value / self.dt_min
            if k < 1 - 1e-9 or abs(k - round(k)) > 1e-6 * k:
                raise ValueError(
                    f"{key} = {value} must be a whole multiple of dt_min = {self.dt_min}"
                )
        if self.end_min / self.dt_min > 1e9:
            raise ValueError("end_min / dt_min exceeds 1e9 steps")
        return self

    def steps(self, minutes: float) -> int:
        """Number of whole steps covering ``minutes`` (rounded to the nearest step)."""
        return int(round(minutes / self.dt_min))


class Scenario(_Strict):
    """A fully validated scenario (``[params]`` resolved by the model's schema)."""

    name: str = Field(description="scenario name, used for run directory names", min_length=1)
    description: str = Field("", description="what the scenario shows, one line")
    model: str = Field(description="the model that runs it (see `invasim scenarios`)")
    references: list[str] = Field(default_factory=list, description="papers behind the model")
    seed: int | None = Field(None, description="default random seed (None: a fresh one per run)")
    mesh: MeshConfig
    time: TimeConfig
    params: dict[str, Any] = Field(default_factory=dict, description="the model's parameters")
    sources: dict[str, str] = Field(
        default_factory=dict, description="dotted parameter key -> source of its value"
    )

    _model_params: Any = PrivateAttr(None)

    @property
    def model_params(self) -> BaseModel:
        """The ``[params]`` table validated by the model's ``Params`` schema."""
        return self._model_params

    def build_mesh(self) -> Mesh:
        """The mesh of this scenario."""
        return self.mesh.build()

    def to_data(self) -> dict[str, Any]:
        """Plain data of the resolved scenario (params with every default filled in)."""
        data = self.model_dump(mode="json", exclude_none=True)
        if self._model_params is not None:
            data["params"] = self._model_params.model_dump(mode="json")
        return data
