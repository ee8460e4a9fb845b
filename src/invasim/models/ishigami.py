"""The Ishigami function as a model: an analytic test case for sensitivity analysis.

Contract:
    * ``y = sin x1 + a sin² x2 + b x3⁴ sin x1`` (Ishigami & Homma 1990), with ``x1, x2, x3`` the
      inputs (nominally uniform on ``[−π, π]``) and ``a``, ``b`` the shape constants.
    * It is not a physical model: it exists so that a study (a Sobol or Morris design run
      through the very same scenario, Dask and results machinery as any other model) can be
      checked against indices known in closed form. For ``a = 7``, ``b = 0.1`` (Saltelli et al.
      2008): first-order indices S1 = 0.3139, 0.4424, 0 and total indices ST = 0.5576, 0.4424,
      0.2437 for x1, x2, x3 (:func:`analytic_indices` gives them for any ``a``, ``b``).
    * One field ``y`` on whatever mesh the scenario gives (the built-in scenario: one voxel),
      uniform and equal to the function's value from the start; a step recomputes it, so it
      never changes. Deterministic: the seed is not used.
    * Metric: ``y`` (dimensionless), the same at every recorded time.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.core.mesh import Mesh
from invasim.models.base import FieldSpec, Model, register

_PI = math.pi


def ishigami(x1, x2, x3, a: float = 7.0, b: float = 0.1):
    """The Ishigami function ``sin x1 + a sin² x2 + b x3⁴ sin x1`` (scalars or arrays)."""
    s1 = np.sin(x1)
    return s1 + a * np.sin(x2) ** 2 + b * np.asarray(x3) ** 4 * s1


def analytic_indices(a: float = 7.0, b: float = 0.1) -> dict[str, tuple[float, float, float]]:
    """Exact Sobol indices of the Ishigami function for inputs uniform on ``[−π, π]``.

    Returns:
        ``{"S1": (S1_x1, S1_x2, S1_x3), "ST": (ST_x1, ST_x2, ST_x3)}``, from the partial
        variances ``V1 = (1 + b π⁴/5)²/2``, ``V2 = a²/8``, ``V13 = 8 b² π⁸/225`` and
        ``V = V1 + V2 + V13`` (Sobol' & Levitan 1999; Saltelli et al. 2008, section 4.9).
    """
    pi4 = _PI**4
    v1 = 0.5 * (1.0 + b * pi4 / 5.0) ** 2
    v2 = a * a / 8.0
    v13 = 8.0 * b * b * pi4 * pi4 / 225.0
    v = v1 + v2 + v13
    return {"S1": (v1 / v, v2 / v, 0.0), "ST": ((v1 + v13) / v, v2 / v, v13 / v)}


class IshigamiParams(BaseModel):
    """Parameters of the Ishigami function (dimensionless)."""

    model_config = ConfigDict(extra="forbid")

    x1: float = Field(0.0, ge=-_PI, le=_PI, description="first input, in [−π, π] [1]")
    x2: float = Field(0.0, ge=-_PI, le=_PI, description="second input, in [−π, π] [1]")
    x3: float = Field(0.0, ge=-_PI, le=_PI, description="third input, in [−π, π] [1]")
    a: float = Field(
        7.0, description="weight of sin² x2 [1]; 7 as in Ishigami & Homma 1990 and Saltelli 2008"
    )
    b: float = Field(
        0.1, description="weight of x3⁴ sin x1 [1]; 0.1 as in Ishigami & Homma 1990"
    )


@register
class Ishigami(Model):
    """The Ishigami function, for validating sensitivity analysis end to end."""

    name: ClassVar[str] = "ishigami"
    title: ClassVar[str] = "Ishigami test function for sensitivity analysis (analytic, no physics)"
    Params: ClassVar[type[BaseModel]] = IshigamiParams
    metric_names: ClassVar[tuple[str, ...]] = ("y",)
    n_progress_metrics: ClassVar[int] = 1
    references: ClassVar[tuple[str, ...]] = (
        "Ishigami T, Homma T (1990) An importance quantification technique in uncertainty "
        "analysis for computer models. Proc ISUMA '90, 398-403",
        "Saltelli A, Ratto M, Andres T, et al. (2008) Global Sensitivity Analysis: The Primer. "
        "Wiley, Chichester",
    )

    def __init__(self, params: IshigamiParams, mesh: Mesh, dt: float) -> None:
        super().__init__(params, mesh, dt)
        p = params
        self._y = float(ishigami(p.x1, p.x2, p.x3, p.a, p.b))

    def field_specs(self) -> list[FieldSpec]:
        """The function's value ``y``."""
        return [FieldSpec("y", "1", "value of the Ishigami function")]

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``y`` everywhere (the function does not depend on space or time)."""
        return {"y": np.full(self.mesh.array_shape, self._y, dtype=np.float64)}

    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """Set ``y`` to the function's value (it is already; a step changes nothing)."""
        fields["y"][...] = self._y

    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """The function's value ``y``."""
        return {"y": float(fields["y"].flat[0])}
