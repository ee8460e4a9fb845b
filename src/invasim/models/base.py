"""The model interface: what the simulation loop needs from a model.

A model is one module that defines

* a pydantic ``Params`` class (every field with a description giving its unit and, for values
  from a paper, the citation; ``model_config = ConfigDict(extra="forbid")``),
* a :class:`Model` subclass that, given validated params, the mesh and the time step, creates
  the initial fields, advances them by one step, and computes its metrics,

and registers the subclass with :func:`register`. The simulation loop, the run directory and the
CLI know nothing else about a model.

Field arrays are ``float64`` of the mesh's internal shape ``(nz, ny, nx)`` (see
:mod:`invasim.core.mesh`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from invasim.core.mesh import Mesh


@dataclass(frozen=True)
class FieldSpec:
    """Metadata of one field (a substrate or a density) a model evolves.

    Attributes:
        name: short identifier used in files and the API (e.g. ``"n"``, ``"oxygen"``).
        unit: unit of the field's values (e.g. ``"mmHg"``, ``"1 (relative to K)"``).
        description: one line for people.
        diffusion_um2_per_min: diffusion coefficient in µm²/min (0 for non-diffusing fields).
        decay_per_min: linear decay rate, 1/min.
    """

    name: str
    unit: str
    description: str
    diffusion_um2_per_min: float = 0.0
    decay_per_min: float = 0.0


class Model:
    """Base class of a model; subclasses set the class variables and implement the methods."""

    #: registry name, as written in scenarios (``model = "fisher-kpp"``)
    name: ClassVar[str]
    #: one line for ``invasim scenarios`` and the report
    title: ClassVar[str]
    #: the pydantic schema of the scenario's ``[params]`` table
    Params: ClassVar[type[BaseModel]]
    #: metric names this model reports, in order; the first ones are shown in the progress bar
    metric_names: ClassVar[tuple[str, ...]]
    #: how many of ``metric_names`` the progress bar shows
    n_progress_metrics: ClassVar[int] = 2
    #: papers behind the model's equations (full citations)
    references: ClassVar[tuple[str, ...]] = ()

    #: the run's seed, for counter-based random numbers keyed by (seed, step, cell, stream);
    #: set by the simulation before :meth:`initial_fields` is called
    seed: int = 0

    def __init__(self, params: BaseModel, mesh: Mesh, dt: float) -> None:
        self.params = params
        self.mesh = mesh
        self.dt = dt

    @classmethod
    def params_schema(cls, raw: dict) -> type[BaseModel]:
        """The schema of the scenario's ``[params]`` (``raw``, before validation).

        ``Params`` unless the schema depends on the params themselves (the agent model's does:
        on the processes it lists). Raises ``ConfigError`` for what makes no schema.
        """
        return cls.Params

    # -- static checks -------------------------------------------------------------------------
    @classmethod
    def check(cls, params: BaseModel, mesh: Mesh, dt: float) -> list[str]:
        """Return problems that make this time step or mesh unusable (stability, accuracy).

        Each string is one line naming the offending setting, its value and the allowed range,
        e.g. ``"time.dt_min = 5 exceeds the taxis stability limit 0.8 min for this mesh"``.
        """
        return []

    # -- dynamics ------------------------------------------------------------------------------
    def field_specs(self) -> list[FieldSpec]:
        """The fields this model evolves, in a fixed order."""
        raise NotImplementedError

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial values of every field, keyed by ``FieldSpec.name``."""
        raise NotImplementedError

    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """Advance ``fields`` in place from time ``t_min`` to ``t_min + self.dt``.

        Must be deterministic: the same input gives bit-identical output.
        """
        raise NotImplementedError

    # -- state beyond the fields (agent models) ------------------------------------------------
    def extra_state(self) -> dict[str, np.ndarray]:
        """Arrays besides the fields that a checkpoint must hold to resume exactly (e.g. cells).

        The default model keeps no state between steps other than its fields.
        """
        return {}

    def restore_extra_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`extra_state` returned (from a checkpoint)."""

    def snapshot_tables(self) -> dict[str, pd.DataFrame]:
        """Tables recorded with every snapshot, keyed by name (e.g. ``{"cells": frame}``).

        Each is written as ``<name>/<record index>.parquet`` in the run directory.
        """
        return {}

    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """Scalar readouts at time ``t_min``, keyed by the names in ``metric_names``.

        Lengths in µm (suffix ``_um``), masses in field-unit × µm^dim.
        """
        raise NotImplementedError


REGISTRY: dict[str, type[Model]] = {}


def register(cls: type[Model]) -> type[Model]:
    """Class decorator adding a model to :data:`REGISTRY` under ``cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


def get_model(name: str) -> type[Model]:
    """Look a model up by name; raises ``KeyError`` listing the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
